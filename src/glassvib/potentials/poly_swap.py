"""The swap-optimised polydisperse soft spheres (POLY) of Ninarello, Berthier and Coslovich,
PRX 7, 021039 (2017), used by thesis 002 Ch. 3 (its Ref. 160):

    phi_ij(r) = eps [ (sigma_ij / r)^12 + c_0 + c_2 (r / sigma_ij)^2 + c_4 (r / sigma_ij)^4 ]   for r < 1.25 sigma_ij,

c_0 = -28 / 1.25^12, c_2 = 48 / 1.25^14, c_4 = -21 / 1.25^16 (phi, phi' and phi'' vanish at the
cutoff, so phi ~ (r_c - r)^3: cutoff order m = 2), non-additive sizes
sigma_ij = (sigma_i + sigma_j) / 2 (1 - 0.2 |sigma_i - sigma_j|), and P(sigma) ~ sigma^-3 on
[0.73, 1.62] (sigma_min / sigma_max = 0.45, mean 1). Number density 1 (Ninarello et al.'s value for
the 3D model; our choice in 2D and 4D, where the source gives none for this model); thesis 002
Table 3.2 quotes 0.65 for Lerner's modified version in other units, which is not this model.
The pair coefficient of the contract is sigma_ij.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np

from .base import PairPotential, check_number, power_law_diameters
from .smoothed import HEAD, sm_derivs, sm_phi_fr, sm_phi_r2, smoothing_coefficients

__all__ = ["PolySwap", "KIND"]

KIND = 2
_Q = 2  # smoothing order: phi and its first _Q derivatives vanish at x_c


@numba.njit(cache=True, inline="always")
def coef(prm, ai, aj, si, sj):
    """Non-additive sigma_ij = (sigma_i + sigma_j) / 2 (1 - eps_na |sigma_i - sigma_j|), eps_na = prm[HEAD + q + 1]."""
    return 0.5 * (ai + aj) * (1.0 - prm[HEAD + _Q + 1] * abs(ai - aj))


@numba.njit(cache=True, inline="always")
def phi_fr(prm, r2, c):
    return sm_phi_fr(prm, r2, c, _Q)


@numba.njit(cache=True, inline="always")
def derivs(prm, r, c):
    return sm_derivs(prm, r, c, _Q)


@numba.njit(cache=True, inline="always")
def amp(prm, c):
    """Not separable: phi = 1 x radial."""
    return 1.0


@numba.njit(cache=True, inline="always")
def radial(prm, r2, c):
    return sm_phi_r2(prm, r2, c, _Q)


@dataclass(frozen=True)
class PolySwap(PairPotential):
    """Polydisperse, non-additive r^-12 soft spheres smoothed at 1.25 sigma_ij (see module docstring).

    Args:
        eps: energy unit.
        x_c: dimensionless cutoff (1.25).
        nonadditivity: eps_na of sigma_ij (0.2).
        a_min, a_max: range of P(sigma) ~ sigma^-3 (0.73, 1.62).
        density: number density (1).
    """

    KIND: ClassVar[int] = KIND
    SEPARABLE: ClassVar[bool] = False
    MODEL: ClassVar[str] = "poly_swap"

    eps: float = 1.0
    x_c: float = 1.25
    nonadditivity: float = 0.2
    a_min: float = 0.73
    a_max: float = 1.62
    density: float = 1.0

    def __post_init__(self):
        for name in ("eps", "x_c", "a_min", "a_max", "density"):
            object.__setattr__(self, name, check_number(name, getattr(self, name)))
        na = check_number("nonadditivity", self.nonadditivity, positive=False, minimum=0.0)
        if not self.a_max > self.a_min:
            raise ValueError(f"a_max = {self.a_max} must exceed a_min = {self.a_min}")
        if not na * (self.a_max - self.a_min) < 1.0:
            raise ValueError(f"nonadditivity = {na} too large: 1 - nonadditivity (a_max - a_min) must stay > 0")
        object.__setattr__(self, "nonadditivity", na)
        c = smoothing_coefficients(12.0, self.x_c, _Q)
        self._freeze_params(np.concatenate([[self.eps, 12.0, self.x_c, float(_Q)], c, [na]]))

    #: kernel_params: (eps, n = 12, x_c, q = 2, c_0, c_2, c_4, nonadditivity).

    @property
    def coefficients(self) -> np.ndarray:
        """(c_0, c_2, c_4)."""
        return self._prm[HEAD:HEAD + _Q + 1].copy()

    @property
    def r_max(self) -> float:
        """x_c times the largest sigma_ij, that of two particles of size a_max."""
        return self.x_c * self.a_max

    @property
    def cutoff_order(self) -> float:
        return float(_Q)

    @property
    def has_minimum(self) -> bool:
        return False

    def draw_particles(self, N: int, rng: np.random.Generator):
        """sigma from P(sigma) ~ sigma^-3 on [a_min, a_max] (one uniform per particle), one species."""
        return power_law_diameters(N, rng, self.a_min, self.a_max), np.zeros(N, np.int64)

    def check_particles(self, diameters, species) -> None:
        if diameters.size and diameters.max() > self.a_max * (1 + 1e-12):
            raise ValueError(f"diameters up to {diameters.max():.6g} exceed a_max = {self.a_max} of {self.MODEL} "
                             "(the interaction range x_c a_max would miss pairs)")

    def spec(self) -> dict:
        return {"model": self.MODEL, "eps": self.eps, "x_c": self.x_c, "nonadditivity": self.nonadditivity,
                "a_min": self.a_min, "a_max": self.a_max, "density": self.density}
