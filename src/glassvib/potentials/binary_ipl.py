"""Binary inverse-power-law mixture with polynomial smoothing (thesis 002, Ch. 2-3, its Ref. 159):
the IPL glass of the other camp (Kapteijns, Bouchbinder, Lerner; s = 4 in 2D, 3D and 4D).

A 50:50 mixture of small (species 0) and large (species 1) particles with

    phi_ij(r) = eps [ (lam_ij / r)^10 + sum_{l=0..3} c_2l (r / lam_ij)^(2l) ]   for r < x_c lam_ij,

lam_00 = 1, lam_01 = 1.18, lam_11 = 1.4, x_c = 1.48; the c_2l make phi and its first three
derivatives vanish at x_c lam_ij (:mod:`glassvib.potentials.smoothed`), so phi ~ (r_c - r)^4:
cutoff order m = 3. Number densities 0.86 (2D), 0.82 (3D), 0.80 (4D): thesis 002 §2.2 ("We choose
the densities rho = mN/L^d to be 0.86, 0.82, and 0.80 in 2D, 3D and 4D") and its Table 3.2 (unit
masses). The 50:50 composition and the r^-10 repulsion are stated in thesis §2.2, §3.2 and §6.2.1;
lam_ij, x_c and q = 3 are those of the issue (the thesis defers them to its Ref. 159, E. Lerner,
J. Non-Cryst. Solids 522, 119570 (2019), of which no copy could be read here; see README).
The pair coefficient of the contract is lam_ij (chosen by the species); the diameters are the
nominal sizes lam_00 and lam_11 of each species (used only for overlap cutoffs and pictures).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np

from .base import PairPotential, check_number
from .smoothed import HEAD, sm_derivs, sm_phi_fr, sm_phi_r2, smoothing_coefficients

__all__ = ["BinaryIPL", "KIND", "DENSITIES"]

KIND = 1
_Q = 3  # smoothing order: phi and its first _Q derivatives vanish at x_c
#: thesis 002 §2.2 / Table 3.2
DENSITIES = {2: 0.86, 3: 0.82, 4: 0.80}


@numba.njit(cache=True, inline="always")
def coef(prm, ai, aj, si, sj):
    """lam_ij from the species (0 small, 1 large): lam_00, lam_01, lam_11 at prm[HEAD + q + 1 + (s_i + s_j)]."""
    return prm[HEAD + _Q + 1 + si + sj]


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
class BinaryIPL(PairPotential):
    """50:50 binary r^-10 mixture with quartic-order smoothing at x_c lam_ij (see module docstring).

    Args:
        eps: energy unit.
        n: inverse-power exponent (10).
        x_c: dimensionless cutoff (1.48).
        lam_01, lam_11: length scales of the small-large and large-large pairs (lam_00 = 1).
        fraction_small: share of species 0 (0.5).
        density: number density; None (default) means the thesis' value for the dimension.
    """

    KIND: ClassVar[int] = KIND
    SEPARABLE: ClassVar[bool] = False
    SPECIES: ClassVar[tuple] = ("small", "large")
    MODEL: ClassVar[str] = "binary_ipl"

    eps: float = 1.0
    n: float = 10.0
    x_c: float = 1.48
    lam_01: float = 1.18
    lam_11: float = 1.4
    fraction_small: float = 0.5
    density: float | None = None

    def __post_init__(self):
        for name in ("eps", "n", "x_c", "lam_01", "lam_11"):
            object.__setattr__(self, name, check_number(name, getattr(self, name)))
        f = check_number("fraction_small", self.fraction_small)
        if not f < 1:
            raise ValueError(f"fraction_small must be a number in (0, 1), got {self.fraction_small!r}")
        object.__setattr__(self, "fraction_small", f)
        if self.density is not None:
            object.__setattr__(self, "density", check_number("density", self.density))
        c = smoothing_coefficients(self.n, self.x_c, _Q)
        self._freeze_params(np.concatenate([[self.eps, self.n, self.x_c, float(_Q)], c, [1.0, self.lam_01, self.lam_11]]))

    #: kernel_params: (eps, n, x_c, q, c_0, c_2, c_4, c_6, lam_00, lam_01, lam_11).

    @property
    def coefficients(self) -> np.ndarray:
        """(c_0, c_2, c_4, c_6) of the smoothing polynomial."""
        return self._prm[HEAD:HEAD + _Q + 1].copy()

    @property
    def r_max(self) -> float:
        return self.x_c * max(1.0, self.lam_01, self.lam_11)

    @property
    def cutoff_order(self) -> float:
        return float(_Q)

    @property
    def has_minimum(self) -> bool:
        return False

    def default_density(self, d: int) -> float:
        if self.density is not None:
            return self.density
        if d not in DENSITIES:
            raise ValueError(f"d = {d!r}, expected one of {sorted(DENSITIES)}")
        return DENSITIES[d]

    def draw_particles(self, N: int, rng: np.random.Generator):
        """The first round(fraction_small N) particles small (species 0, diameter 1), the rest large
        (species 1, diameter lam_11); no random numbers are used (positions are random)."""
        n_small = int(round(self.fraction_small * N))
        species = np.ones(N, np.int64)
        species[:n_small] = 0
        return np.where(species == 0, 1.0, self.lam_11), species

    def spec(self) -> dict:
        return {"model": self.MODEL, "eps": self.eps, "n": self.n, "x_c": self.x_c, "lam_01": self.lam_01,
                "lam_11": self.lam_11, "fraction_small": self.fraction_small, "density": self.density}
