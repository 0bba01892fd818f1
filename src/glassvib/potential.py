"""Tapered inverse-power-law pair potential (SPEC §2; paper Eq. 14-17).

A potential is a small frozen object with ``phi``, ``dphi`` and ``d2phi``; the same formulas are
available as numba scalar kernels (:func:`pair_phi`, :func:`pair_derivs`) that every other kernel
(forces, Hessian, swap Monte Carlo) calls with the plain parameters ``(n, r_cut, m_code)``.

    phi(r) = (a_ij / r_c)^n (x^-n - 1) T_m(x),   x = r / r_c,   phi = 0 for r >= r_c

    T_m(x)   = (1 - x^2)^m                (integer m >= 1, paper Eq. 16 for m = 2)
    T_inf(x) = exp(x / (2 (x - 1)))        (m = infinity, paper Eq. 17)

so that phi ~ (r_c - r)^(m+1) and its first m derivatives vanish at r_c (paper Eq. 15).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numba
import numpy as np

__all__ = ["TaperedIPL", "pair_phi", "pair_phi_dphi", "pair_phi_fr_r2", "pair_derivs", "taper_value", "M_INF"]

#: ``m_code`` used by the numba kernels for the C-infinity taper.
M_INF = -1


@numba.njit(cache=True, inline="always")
def taper_derivs(x, m_code):
    """Taper T(x) and its first two derivatives dT/dx, d2T/dx2 for 0 < x < 1.

    ``m_code`` is the integer taper order m >= 1, or ``M_INF`` (-1) for T_inf (paper Eq. 16-17).
    """
    if m_code == M_INF:
        xm1 = x - 1.0
        u = x / (2.0 * xm1)
        t = math.exp(u)
        if t == 0.0:
            # exp underflowed; every derivative is smaller still (they are t * polynomial(1/(1-x))).
            return 0.0, 0.0, 0.0
        du = -0.5 / (xm1 * xm1)
        d2u = 1.0 / (xm1 * xm1 * xm1)
        return t, t * du, t * (du * du + d2u)
    m = m_code
    w = 1.0 - x * x
    if m == 1:
        return w, -2.0 * x, -2.0
    wm2 = w ** (m - 2)
    wm1 = wm2 * w
    t = wm1 * w
    dt = -2.0 * m * x * wm1
    d2t = -2.0 * m * wm1 + 4.0 * m * (m - 1) * x * x * wm2
    return t, dt, d2t


@numba.njit(cache=True)
def taper_value(x, m_code):
    """T_m(x) for 0 <= x < 1 (0 for x >= 1)."""
    if x >= 1.0:
        return 0.0
    return taper_derivs(x, m_code)[0]


@numba.njit(cache=True, inline="always")
def _power(x, n):
    """x**n, by repeated squaring when n is a (small) integer: several times faster than pow()."""
    k = int(n)
    if k == n and 0 < k <= 64:
        out = 1.0
        b = x
        while k > 0:
            if k & 1:
                out *= b
            b *= b
            k >>= 1
        return out
    return x ** n


@numba.njit(cache=True, inline="always")
def pair_phi(r, aij, n, rc, m_code):
    """phi(r) of one pair with mean diameter ``aij`` (0 for r >= rc)."""
    if r >= rc:
        return 0.0
    x = r / rc
    t = taper_value(x, m_code)
    return _power(aij / rc, n) * (_power(1.0 / x, n) - 1.0) * t


@numba.njit(cache=True, inline="always")
def pair_phi_dphi(r, aij, n, rc, m_code):
    """(phi, dphi/dr) of one pair (zeros for r >= rc); cheaper than :func:`pair_derivs`."""
    if r >= rc:
        return 0.0, 0.0
    x = r / rc
    amp = _power(aij / rc, n)
    xn = _power(1.0 / x, n)
    f = xn - 1.0
    df = -n * xn / x
    t, dt, _ = taper_derivs(x, m_code)
    return amp * f * t, amp * (df * t + f * dt) / rc


@numba.njit(cache=True, inline="always")
def pair_phi_fr_r2(r2, aij, n, rc, m_code):
    """(phi, phi'(r) / r) of one pair from r^2 (zeros for r >= rc): the force kernels' hot path.

    For even integer n and a polynomial taper it needs a single division and no sqrt or pow:
    phi = ((a/r)^n - (a/r_c)^n) w^m with w = 1 - r^2/r_c^2, and phi'/r = 2 dphi/d(r^2).
    Otherwise it falls back to :func:`pair_phi_dphi`.
    """
    rc2 = rc * rc
    if r2 >= rc2:
        return 0.0, 0.0
    k = int(n)
    if m_code != M_INF and k == n and k % 2 == 0 and 0 < k <= 64:
        h = k // 2
        inv_rc2 = 1.0 / rc2
        inv_r2 = 1.0 / r2
        a2 = aij * aij
        rp = _power(a2 * inv_r2, h)
        sp = _power(a2 * inv_rc2, h)
        w = 1.0 - r2 * inv_rc2
        wm1 = 1.0 if m_code == 1 else _power(w, m_code - 1)
        t = wm1 * w
        f = rp - sp
        dphi_dr2 = -h * rp * inv_r2 * t - f * m_code * wm1 * inv_rc2
        return f * t, 2.0 * dphi_dr2
    r = math.sqrt(r2)
    phi, dphi = pair_phi_dphi(r, aij, n, rc, m_code)
    return phi, dphi / r


@numba.njit(cache=True, inline="always")
def pair_derivs(r, aij, n, rc, m_code):
    """(phi, dphi/dr, d2phi/dr2) of one pair with mean diameter ``aij`` (zeros for r >= rc)."""
    if r >= rc:
        return 0.0, 0.0, 0.0
    x = r / rc
    amp = _power(aij / rc, n)
    xn = _power(1.0 / x, n)
    f = xn - 1.0
    df = -n * xn / x
    d2f = n * (n + 1.0) * xn / (x * x)
    t, dt, d2t = taper_derivs(x, m_code)
    phi = amp * f * t
    dphi = amp * (df * t + f * dt) / rc
    d2phi = amp * (d2f * t + 2.0 * df * dt + f * d2t) / (rc * rc)
    return phi, dphi, d2phi


@numba.vectorize(["float64(float64, float64, float64, float64, int64)"], cache=True)
def _phi_ufunc(r, aij, n, rc, m_code):
    return pair_derivs(r, aij, n, rc, m_code)[0]


@numba.vectorize(["float64(float64, float64, float64, float64, int64)"], cache=True)
def _dphi_ufunc(r, aij, n, rc, m_code):
    return pair_derivs(r, aij, n, rc, m_code)[1]


@numba.vectorize(["float64(float64, float64, float64, float64, int64)"], cache=True)
def _d2phi_ufunc(r, aij, n, rc, m_code):
    return pair_derivs(r, aij, n, rc, m_code)[2]


@dataclass(frozen=True)
class TaperedIPL:
    """Inverse-power-law repulsion with a taper of order m at the cutoff (SPEC §2, paper Eq. 14-17).

    Args:
        n: inverse-power exponent (paper: 12).
        r_cut: global cutoff r_c (paper: 1.955, larger than the largest diameter 1.62).
        taper: taper order m, an integer >= 1, or ``float('inf')`` for the C-infinity taper
            T_inf(x) = exp(x / (2 (x - 1))). m < 2 makes the Hessian discontinuous at r_c
            (allowed; see :attr:`hessian_continuous`).
    """

    n: float = 12.0
    r_cut: float = 1.955
    taper: float = 2

    def __post_init__(self):
        n, r_cut, taper = self.n, self.r_cut, self.taper
        if isinstance(n, bool) or not isinstance(n, (int, float, np.integer, np.floating)) or not n > 0:
            raise ValueError(f"n must be a positive number, got {n!r}")
        if isinstance(r_cut, bool) or not isinstance(r_cut, (int, float, np.integer, np.floating)) \
                or not (r_cut > 0 and math.isfinite(r_cut)):
            raise ValueError(f"r_cut must be a positive finite number, got {r_cut!r}")
        if isinstance(taper, bool) or not isinstance(taper, (int, float, np.integer, np.floating)):
            raise ValueError(f"taper must be an integer >= 1 or inf, got {taper!r}")
        if math.isinf(taper) and taper > 0:
            taper = math.inf
        elif float(taper).is_integer() and taper >= 1:
            taper = int(taper)
        else:
            raise ValueError(f"taper must be an integer >= 1 or inf, got {taper!r}")
        object.__setattr__(self, "n", float(n))
        object.__setattr__(self, "r_cut", float(r_cut))
        object.__setattr__(self, "taper", taper)

    @property
    def m_code(self) -> int:
        """Integer code of the taper for the numba kernels: m, or ``M_INF`` (-1) for infinity."""
        return M_INF if math.isinf(self.taper) else int(self.taper)

    @property
    def hessian_continuous(self) -> bool:
        """True when phi'' is continuous at r_c (m >= 2)."""
        return self.taper >= 2

    @property
    def params(self) -> tuple[float, float, int]:
        """``(n, r_cut, m_code)``, the arguments the numba kernels take."""
        return self.n, self.r_cut, self.m_code

    def _call(self, ufunc, r, a_ij):
        r = np.asarray(r, dtype=np.float64)
        a_ij = np.asarray(a_ij, dtype=np.float64)
        return ufunc(r, a_ij, self.n, self.r_cut, self.m_code)

    def phi(self, r, a_ij=1.0):
        """Pair energy phi(r) for mean diameter ``a_ij`` (arrays broadcast)."""
        return self._call(_phi_ufunc, r, a_ij)

    def dphi(self, r, a_ij=1.0):
        """dphi/dr."""
        return self._call(_dphi_ufunc, r, a_ij)

    def d2phi(self, r, a_ij=1.0):
        """d2phi/dr2."""
        return self._call(_d2phi_ufunc, r, a_ij)
