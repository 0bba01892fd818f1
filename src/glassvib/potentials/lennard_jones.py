"""Kob-Andersen binary Lennard-Jones mixture with the taper family of SPEC §2: a glass whose pair
potential has a minimum (GHET's s = 5 case, paper 001 Eq. 104, 107).

80:20 mixture of A (species 0) and B (species 1) particles (Kob and Andersen, PRE 51, 4626 (1995);
thesis 002 §6.2.1, its Ref. 137), number density 1.2:

    phi_ab(r) = 4 eps_ab [ (sigma_ab / r)^12 - (sigma_ab / r)^6 - (sigma_ab / r_c)^12 + (sigma_ab / r_c)^6 ] T_m(r / r_c)

for r < r_c = 2.5 sigma_ab, with (eps_AA, eps_AB, eps_BB) = (1, 1.5, 0.5), (sigma_AA, sigma_AB,
sigma_BB) = (1, 0.8, 0.88) and the taper T_m(x) = (1 - x^2)^m or T_inf(x) = exp(x / (2 (x - 1)))
of :mod:`glassvib.potentials.tapered_ipl` (the shifted bracket vanishes linearly at r_c, so
phi ~ (r_c - r)^(m+1): cutoff order m). phi' crosses zero at the minimum near 2^(1/6) sigma_ab.
The pair coefficient of the contract is the pair type s_i + s_j (0 AA, 1 AB, 2 BB); diameters are
the nominal sigma_AA and sigma_BB. The same composition and density are used in 2D and 4D (the
80:20 mixture is known to crystallise in 2D; no source is claimed there).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numba
import numpy as np

from .base import PairPotential, check_number, taper_order
from .tapered_ipl import M_INF, _power, taper_derivs

__all__ = ["LennardJones", "KIND"]

KIND = 3
# prm = (m_code, eps_AA, eps_AB, eps_BB, sigma_AA, sigma_AB, sigma_BB, rc_AA, rc_AB, rc_BB, shift_AA, ..)
_EPS, _SIG, _RC, _SHIFT = 1, 4, 7, 10


@numba.njit(cache=True, inline="always")
def coef(prm, ai, aj, si, sj):
    """Pair type s_i + s_j (0 AA, 1 AB, 2 BB) as a float."""
    return float(si + sj)


@numba.njit(cache=True, inline="always")
def _pair(prm, c):
    t = int(c)
    return prm[_EPS + t], prm[_SIG + t], prm[_RC + t], prm[_SHIFT + t]


@numba.njit(cache=True, inline="always")
def amp(prm, c):
    """Not separable: phi = 1 x radial."""
    return 1.0


@numba.njit(cache=True, inline="always")
def radial(prm, r2, c):
    """phi from r^2 (0 beyond r_c); polynomial tapers: computed, then selected (no branch)."""
    eps, sig, rc, shift = _pair(prm, c)
    rc2 = rc * rc
    m_code = int(prm[0])
    s6 = _power(sig * sig / r2, 3)
    g = 4.0 * eps * (s6 * s6 - s6 - shift)
    if m_code == M_INF:
        if r2 >= rc2:
            return 0.0
        return g * taper_derivs(math.sqrt(r2) / rc, M_INF)[0]
    inside = 1.0 if r2 < rc2 else 0.0
    return inside * g * _power(1.0 - r2 / rc2, m_code)


@numba.njit(cache=True, inline="always")
def phi_fr(prm, r2, c):
    """(phi, phi'/r) from r^2; polynomial tapers: computed, then selected (no branch)."""
    eps, sig, rc, shift = _pair(prm, c)
    rc2 = rc * rc
    m_code = int(prm[0])
    inv_r2 = 1.0 / r2
    s6 = _power(sig * sig * inv_r2, 3)
    s12 = s6 * s6
    g = 4.0 * eps * (s12 - s6 - shift)
    gr = 4.0 * eps * (6.0 * s6 - 12.0 * s12) * inv_r2          # g'(r) / r
    if m_code == M_INF:
        if r2 >= rc2:
            return 0.0, 0.0
        r = math.sqrt(r2)
        t, dt, _ = taper_derivs(r / rc, M_INF)
        return g * t, gr * t + g * dt / (rc * r)
    inside = 1.0 if r2 < rc2 else 0.0
    inv_rc2 = 1.0 / rc2
    w = 1.0 - r2 * inv_rc2
    wm1 = inside * (1.0 if m_code == 1 else _power(w, m_code - 1))
    return g * wm1 * w, gr * wm1 * w - g * 2.0 * m_code * wm1 * inv_rc2


@numba.njit(cache=True, inline="always")
def derivs(prm, r, c):
    """(phi, phi', phi'') at distance r."""
    eps, sig, rc, shift = _pair(prm, c)
    if r >= rc:
        return 0.0, 0.0, 0.0
    m_code = int(prm[0])
    s6 = _power(sig / r, 6)
    s12 = s6 * s6
    g = 4.0 * eps * (s12 - s6 - shift)
    g1 = 4.0 * eps * (6.0 * s6 - 12.0 * s12) / r
    g2 = 4.0 * eps * (156.0 * s12 - 42.0 * s6) / (r * r)
    t, dt, d2t = taper_derivs(r / rc, m_code)
    dt /= rc
    d2t /= rc * rc
    return g * t, g1 * t + g * dt, g2 * t + 2.0 * g1 * dt + g * d2t


def _triple(name, value):
    try:
        vals = tuple(float(v) for v in value)
    except TypeError:
        vals = ()
    if len(vals) != 3 or not all(math.isfinite(v) and v > 0 for v in vals):
        raise ValueError(f"{name} must be three positive numbers (AA, AB, BB), got {value!r}")
    return vals


@dataclass(frozen=True)
class LennardJones(PairPotential):
    """Kob-Andersen 80:20 Lennard-Jones mixture, tapered at r_c = rc_factor sigma_ab (module docstring).

    Args:
        taper: taper order m, an integer >= 1 or inf.
        eps: (eps_AA, eps_AB, eps_BB).
        sigma: (sigma_AA, sigma_AB, sigma_BB).
        rc_factor: r_c / sigma_ab (2.5).
        fraction_a: share of species A (0.8).
        density: number density (1.2).
    """

    KIND: ClassVar[int] = KIND
    SEPARABLE: ClassVar[bool] = False
    SPECIES: ClassVar[tuple] = ("A", "B")
    MODEL: ClassVar[str] = "lennard_jones"

    taper: float = 2
    eps: tuple = (1.0, 1.5, 0.5)
    sigma: tuple = (1.0, 0.8, 0.88)
    rc_factor: float = 2.5
    fraction_a: float = 0.8
    density: float = 1.2

    def __post_init__(self):
        object.__setattr__(self, "taper", taper_order(self.taper))
        object.__setattr__(self, "eps", _triple("eps", self.eps))
        object.__setattr__(self, "sigma", _triple("sigma", self.sigma))
        rcf = check_number("rc_factor", self.rc_factor)
        if not rcf > 2.0 ** (1.0 / 6.0):
            raise ValueError(f"rc_factor must exceed 2^(1/6) (the minimum lies inside r_c), got {rcf!r}")
        object.__setattr__(self, "rc_factor", rcf)
        f = check_number("fraction_a", self.fraction_a)
        if not f < 1:
            raise ValueError(f"fraction_a must be a number in (0, 1), got {self.fraction_a!r}")
        object.__setattr__(self, "fraction_a", f)
        object.__setattr__(self, "density", check_number("density", self.density))
        rc = tuple(rcf * s for s in self.sigma)
        shift = tuple((1.0 / rcf) ** 12 - (1.0 / rcf) ** 6 for _ in self.sigma)
        m_code = M_INF if math.isinf(self.taper) else int(self.taper)
        self._freeze_params((float(m_code),) + self.eps + self.sigma + rc + shift)

    #: kernel_params: (m_code, eps x 3, sigma x 3, r_c x 3, shift x 3), pair types in the order AA, AB, BB.

    @property
    def r_max(self) -> float:
        return self.rc_factor * max(self.sigma)

    @property
    def cutoff_order(self) -> float:
        return self.taper

    @property
    def has_minimum(self) -> bool:
        return True

    def draw_particles(self, N: int, rng: np.random.Generator):
        """The first round(fraction_a N) particles A (species 0, diameter sigma_AA), the rest B
        (species 1, diameter sigma_BB); no random numbers are used (positions are random)."""
        n_a = int(round(self.fraction_a * N))
        species = np.ones(N, np.int64)
        species[:n_a] = 0
        return np.where(species == 0, self.sigma[0], self.sigma[2]), species

    def spec(self) -> dict:
        return {"model": self.MODEL, "taper": "inf" if math.isinf(self.taper) else int(self.taper),
                "eps": list(self.eps), "sigma": list(self.sigma), "rc_factor": self.rc_factor,
                "fraction_a": self.fraction_a, "density": self.density}

    def log_abs_dphi(self, r, coef) -> np.ndarray:
        """ln |phi'| analytic for the C-infinity taper (where phi' underflows):
        phi' = e^u (g' + g u' / r_c), u = x / (2 (x - 1)), u' = -1 / (2 (x - 1)^2); otherwise the
        default route (no underflow for polynomial tapers in double precision)."""
        if not math.isinf(self.taper):
            return super().log_abs_dphi(r, coef)
        r = np.asarray(r, dtype=np.float64)
        t = np.broadcast_to(np.asarray(coef, dtype=np.float64), r.shape).astype(np.int64)
        eps = np.asarray(self.eps)[t]
        sig = np.asarray(self.sigma)[t]
        rc = self.rc_factor * sig
        out = np.full(r.shape, -np.inf)
        ok = (r < rc) & (r > 0)
        rr, e, s, c = r[ok], eps[ok], sig[ok], rc[ok]
        s6 = (s / rr) ** 6
        shift = (1.0 / self.rc_factor) ** 12 - (1.0 / self.rc_factor) ** 6
        g = 4.0 * e * (s6 * s6 - s6 - shift)
        g1 = 4.0 * e * (6.0 * s6 - 12.0 * s6 * s6) / rr
        one_m_x = (c - rr) / c
        u = -(rr / c) / (2.0 * one_m_x)
        du = -0.5 / one_m_x ** 2
        with np.errstate(divide="ignore"):
            out[ok] = u + np.log(np.abs(g1 + g * du / c))
        return out
