"""Inverse power law with polynomial smoothing at a cutoff, the form shared by the binary IPL and
the swap-optimised POLY models (thesis 002 Ch. 3; Ninarello et al., PRX 7, 021039 (2017)):

    phi(r) = eps [ (lam / r)^n + sum_{l=0..q} c_2l (r / lam)^(2l) ]   for r < x_c lam,   0 beyond,

where lam is the pair's length scale (the pair coefficient of the contract) and the q + 1
coefficients c_2l make phi and its first q derivatives vanish at r = x_c lam, so that
phi ~ (x_c lam - r)^(q+1) (cutoff order m = q). In X = (r / lam)^2 the bracket is
X^(-n/2) + sum_l c_2l X^l, evaluated by Horner's rule; even n use integer powers.

Parameter layout shared by the models that use these kernels: ``prm[0:4] = (eps, n, x_c, q)``,
``prm[4:5 + q] = (c_0, c_2, ..., c_2q)``; the models append their own entries after that.
"""
from __future__ import annotations


import numba
import numpy as np

from .tapered_ipl import _power

__all__ = ["smoothing_coefficients", "sm_phi_fr", "sm_derivs", "sm_phi_r2", "HEAD"]

#: number of leading entries (eps, n, x_c, q) before the coefficients
HEAD = 4


def smoothing_coefficients(n: float, x_c: float, q: int) -> np.ndarray:
    """(c_0, c_2, ..., c_2q) such that f(x) = x^-n + sum_l c_2l x^(2l) and its first q derivatives
    vanish at x = x_c: the (q+1) x (q+1) linear system d^k f / dx^k (x_c) = 0, k = 0..q."""
    q = int(q)
    a = np.empty((q + 1, q + 1))
    b = np.empty(q + 1)
    for k in range(q + 1):
        # k-th derivative of x^p at x_c: p (p-1) ... (p-k+1) x_c^(p-k)
        for j in range(q + 1):
            p = 2.0 * j
            a[k, j] = np.prod([p - i for i in range(k)]) * x_c ** (p - k)
        p = -float(n)
        b[k] = -np.prod([p - i for i in range(k)]) * x_c ** (p - k)
    return np.linalg.solve(a, b)


@numba.njit(cache=True, inline="always")
def _inv_power(x2inv, n):
    """(1 / X)^(n / 2) with X = (r / lam)^2, from x2inv = 1 / X."""
    k = int(n)
    if k == n and k % 2 == 0 and 0 < k <= 64:
        return _power(x2inv, k // 2)
    return x2inv ** (0.5 * n)


@numba.njit(cache=True, inline="always")
def _horner(prm, X, q):
    """(p, dp/dX) of p(X) = sum_{l=0..q} c_2l X^l."""
    p = prm[HEAD + q]
    dp = 0.0
    for l in range(q - 1, -1, -1):
        dp = dp * X + p
        p = p * X + prm[HEAD + l]
    return p, dp


@numba.njit(cache=True, inline="always")
def sm_phi_r2(prm, r2, lam, q):
    """phi from r^2 (0 beyond x_c lam); computed for any r^2 > 0, then selected (no data-dependent
    branch). ``q`` is the model's constant smoothing order (loops unroll)."""
    eps, n, xc = prm[0], prm[1], prm[2]
    l2 = lam * lam
    X = r2 / l2
    p, _ = _horner(prm, X, q)
    inside = 1.0 if X < xc * xc else 0.0
    return inside * eps * (_inv_power(l2 / r2, n) + p)


@numba.njit(cache=True, inline="always")
def sm_phi_fr(prm, r2, lam, q):
    """(phi, phi'/r) from r^2; phi'/r = (2 / lam^2) dphi/dX; computed, then selected."""
    eps, n, xc = prm[0], prm[1], prm[2]
    l2 = lam * lam
    inv_r2 = 1.0 / r2
    X = r2 / l2
    xinv = l2 * inv_r2
    ip = _inv_power(xinv, n)
    p, dp = _horner(prm, X, q)
    inside = 1.0 if X < xc * xc else 0.0  # a select, not a branch: pairs beyond their own cutoff are common
    phi = inside * eps * (ip + p)
    fr = inside * 2.0 * X * inv_r2 * eps * (dp - 0.5 * n * ip * xinv)
    return phi, fr


@numba.njit(cache=True, inline="always")
def sm_derivs(prm, r, lam, q):
    """(phi, phi', phi'') at distance r: with x = r / lam and X = x^2, the bracket is
    x^-n + p(X), so d/dx = -n x^(-n-1) + 2 x p'(X) and d2/dx2 = n (n+1) x^(-n-2) + 2 p'(X) + 4 X p''(X)."""
    eps, n = prm[0], prm[1]
    xc = prm[2]
    x = r / lam
    if x >= xc:
        return 0.0, 0.0, 0.0
    X = x * x
    xinv = 1.0 / x
    xn = _inv_power(xinv * xinv, n)  # x^-n
    # p, p', p'' by Horner
    p = prm[HEAD + q]
    dp = 0.0
    d2p = 0.0
    for l in range(q - 1, -1, -1):
        d2p = d2p * X + 2.0 * dp
        dp = dp * X + p
        p = p * X + prm[HEAD + l]
    f = xn + p
    df = -n * xn * xinv + 2.0 * x * dp
    d2f = n * (n + 1.0) * xn * xinv * xinv + 2.0 * dp + 4.0 * X * d2p
    return eps * f, eps * df / lam, eps * d2f / (lam * lam)
