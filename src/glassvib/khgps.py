"""The KHGPS mean-field model of quasilocalized excitations (paper 003: Rainone, Urbani, Zamponi,
Lerner, Bouchbinder), as a model of the study: sample -> minimise -> Hessian -> modes.

    H(x) = 1/2 sum_i kappa_i x_i^2 + A/4! sum_i x_i^4 + sum_{i<j} J_ij x_i x_j - h sum_i x_i

with kappa_i uniform on [0, kappa_0], J_ij Gaussian of variance J^2/N (symmetric, zero diagonal),
units A = 1 (A is kept as a parameter for the tests). Gradient g = kappa x + A x^3/6 + J x - h,
Hessian M = J + diag(kappa + A x^2/2).

Contract: :class:`KHGPS` is the frozen parameter object (validated on construction);
:func:`draw_instance` draws (kappa, J) from a seed (numpy PCG64 SeedSequence: one child stream for
kappa, one for J; reproducible); :func:`energy`, :func:`gradient`, :func:`hessian` are pure functions
on arrays; :func:`minimize` goes from x = 0 to a local minimum with max |dH/dx| <= tol and returns a
:class:`MinimizeResult` (route, iterations, whether the Hessian at the end is positive definite);
:func:`sample` runs one sample end to end (couplings, minimisation, Hessian, the lowest k modes or
every eigenvalue) and returns arrays and scalars, no I/O. The lowest modes come from the block
shift-invert Krylov of :mod:`glassvib.modes` on the Cholesky factor of the Hessian at the minimum
(the factor that certifies it positive definite; :func:`glassvib.modes.lowest_modes` where there is
none), every eigenvalue from :func:`glassvib.modes.all_eigenvalues`.

Minimisation route (documented in ``MinimizeResult.method``): scipy L-BFGS from x = 0 with the exact
gradient to max|g| <= ``newton_switch``, then Newton steps with the dense Hessian (Cholesky solves)
to max|g| <= tol; a Newton step that does not lower H or meets a Hessian that is not positive
definite falls back to more L-BFGS. Paper 003 uses nonlinear conjugate gradients from x = 0; both are
descent methods from the same start and reach a local minimum, not necessarily the same one (a
different minimiser samples a different but equally legitimate ensemble of minima; the statistics,
not the individual minima, are compared with the paper).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize
from scipy.linalg.blas import dsymv as _DSYMV

__all__ = ["KHGPS", "draw_instance", "energy", "gradient", "hessian", "minimize", "MinimizeResult", "sample",
           "single_oscillator_minimum", "KHGPSSample"]


@dataclass(frozen=True)
class KHGPS:
    """Parameters of the KHGPS Hamiltonian (paper 003, Eq. 1), in units A x_0^4 (energy), x_0 (length).

    Attributes:
        h: constant force on every oscillator (finite).
        J: coupling strength, J_ij ~ Normal(0, J^2/N) (J >= 0).
        kappa_0: upper edge of the uniform stiffness distribution on [0, kappa_0] (> 0).
        A: quartic coefficient (> 0; the paper's unit, 1).
    """

    h: float
    J: float
    kappa_0: float
    A: float = 1.0

    def __post_init__(self):
        for key, val, ok, allowed in (("h", self.h, lambda v: math.isfinite(v), "a finite number"),
                                      ("J", self.J, lambda v: math.isfinite(v) and v >= 0, "a number >= 0"),
                                      ("kappa_0", self.kappa_0, lambda v: math.isfinite(v) and v > 0, "a number > 0"),
                                      ("A", self.A, lambda v: math.isfinite(v) and v > 0, "a number > 0")):
            if isinstance(val, bool) or not isinstance(val, (int, float, np.integer, np.floating)) or not ok(float(val)):
                raise ValueError(f"key {key} = {val!r} is not allowed; allowed: {allowed}")
            object.__setattr__(self, key, float(val))


def _check_n(N) -> int:
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 2:
        raise ValueError(f"key N = {N!r} is not allowed; allowed: an integer >= 2")
    return int(N)


def draw_instance(model: KHGPS, N: int, seed: int):
    """(kappa (N,), J (N, N) symmetric with zero diagonal) from ``seed`` (SeedSequence, two streams).

    J is drawn row by row as the strict upper triangle (row i: N - 1 - i independent Normal(0, J^2/N)
    numbers, in order), then mirrored; the lower triangle and the diagonal carry no randomness of
    their own.
    """
    N = _check_n(N)
    s_kappa, s_j = np.random.SeedSequence(int(seed)).spawn(2)
    kappa = np.random.Generator(np.random.PCG64(s_kappa)).uniform(0.0, model.kappa_0, N)
    rng = np.random.Generator(np.random.PCG64(s_j))
    scale = model.J / math.sqrt(N)
    J = np.zeros((N, N))
    for i in range(N - 1):
        J[i, i + 1:] = rng.standard_normal(N - 1 - i)
    J += J.T
    J *= scale
    return kappa, J


def energy(x, kappa, J, model: KHGPS) -> float:
    """H(x) of Eq. (1); the pair sum counts each pair once (x J x / 2 with a symmetric J)."""
    x = np.asarray(x, dtype=np.float64)
    return float(0.5 * kappa @ (x * x) + model.A / 24.0 * np.sum(x ** 4) + 0.5 * x @ (J @ x) - model.h * x.sum())


def gradient(x, kappa, J, model: KHGPS) -> np.ndarray:
    """dH/dx_i = kappa_i x_i + A x_i^3 / 6 + sum_j J_ij x_j - h."""
    x = np.asarray(x, dtype=np.float64)
    return kappa * x + model.A / 6.0 * x ** 3 + J @ x - model.h


def hessian(x, kappa, J, model: KHGPS) -> np.ndarray:
    """M = J + diag(kappa + A x^2 / 2) (dense, a new array)."""
    x = np.asarray(x, dtype=np.float64)
    M = J.copy()
    M[np.diag_indices_from(M)] += kappa + 0.5 * model.A * x * x
    return M


def single_oscillator_minimum(kappa: float, h: float, A: float = 1.0) -> float:
    """The global minimum of 1/2 kappa x^2 + A/24 x^4 - h x (J = 0): the real root of the cubic
    A/6 x^3 + kappa x - h = 0 (one real root for kappa >= 0), by Cardano's formula."""
    p, q = 6.0 * kappa / A, -6.0 * h / A  # x^3 + p x + q = 0
    disc = (q / 2.0) ** 2 + (p / 3.0) ** 3
    if disc < 0:
        raise ValueError(f"kappa = {kappa} < 0 gives three real roots; expected kappa >= 0")
    r = math.sqrt(disc)
    return math.copysign(abs(-q / 2.0 + r) ** (1 / 3), -q / 2.0 + r) + math.copysign(abs(-q / 2.0 - r) ** (1 / 3),
                                                                                       -q / 2.0 - r)


@dataclass
class MinimizeResult:
    """Outcome of :func:`minimize` (scipy style).

    Attributes:
        x: coordinates at the end. energy: H(x). max_grad: max |dH/dx|. success: max_grad <= tol and
        the Hessian positive definite (Cholesky succeeded). n_iter: L-BFGS iterations. n_newton: Newton
        steps. method: the route taken. message: what happened. wall_time: seconds.
        cholesky: the lower Cholesky factor of the final Hessian (or None where it is not positive definite).
    """

    x: np.ndarray
    energy: float
    max_grad: float
    success: bool
    n_iter: int
    n_newton: int
    method: str
    message: str
    wall_time: float
    cholesky: object = None


def _symmetric_matvec(J):
    """v -> J v for the symmetric coupling matrix by BLAS dsymv, which reads one triangle (half the
    memory traffic of ``J @ v``: 2.5x faster at N = 4000, where the product is memory-bound and the
    minimiser's cost). J is C-contiguous, so J.T is a Fortran-ordered view of the same (symmetric)
    matrix, no copy. Falls back to ``J @ v`` for any other layout or dtype."""
    if J.dtype == np.float64 and J.ndim == 2 and J.flags.c_contiguous:
        JF = J.T
        return lambda v: _DSYMV(1.0, JF, v)
    return lambda v: J @ v


def _cholesky(M):
    try:
        return scipy.linalg.cho_factor(M, lower=True, check_finite=False)
    except np.linalg.LinAlgError:
        return None


def minimize(kappa, J, model: KHGPS, *, x0=None, tol: float = 1e-10, newton_switch: float = 1e-8,
             max_iter: int = 100_000, max_newton: int = 20) -> MinimizeResult:
    """Local minimum of H from ``x0`` (default x = 0) to max |dH/dx| <= ``tol`` (see module docstring)."""
    t0 = time.perf_counter()
    N = len(kappa)
    x = np.zeros(N) if x0 is None else np.array(x0, dtype=np.float64)

    matvec = _symmetric_matvec(J)

    def fg(v):
        Jv = matvec(v)
        e = 0.5 * kappa @ (v * v) + model.A / 24.0 * np.sum(v ** 4) + 0.5 * v @ Jv - model.h * v.sum()
        return e, kappa * v + model.A / 6.0 * v ** 3 + Jv - model.h

    n_iter, n_newton, route, chol = 0, 0, [], None
    for _ in range(10):  # alternate L-BFGS and Newton until converged (a couple of rounds at most)
        g = fg(x)[1]
        if np.max(np.abs(g)) > newton_switch:
            # scipy's stopping rule is on max |projected gradient| (pgtol); ftol off
            res = scipy.optimize.minimize(fg, x, jac=True, method="L-BFGS-B",
                                          options={"maxiter": max_iter - n_iter, "maxcor": 20, "gtol": newton_switch,
                                                   "ftol": 0.0, "maxls": 50})
            x, n_iter = res.x, n_iter + int(res.nit)
            route.append("lbfgs")
        e, g = fg(x)
        stalled = False
        while np.max(np.abs(g)) > tol and n_newton < max_newton:
            chol = _cholesky(hessian(x, kappa, J, model))
            if chol is None:
                stalled = True
                break
            x_new = x - scipy.linalg.cho_solve(chol, g, check_finite=False)
            e_new, g_new = fg(x_new)
            n_newton += 1
            if not (e_new <= e + 1e-12 * max(1.0, abs(e))):
                stalled = True
                break
            x, e, g = x_new, e_new, g_new
        if "newton" not in route[-1:]:
            route.append("newton")
        if np.max(np.abs(g)) <= tol or n_iter >= max_iter or n_newton >= max_newton or not stalled:
            break
        newton_switch = max(tol, newton_switch * 1e-2)  # go deeper with L-BFGS before the next Newton round
    e, g = fg(x)
    max_grad = float(np.max(np.abs(g)))
    chol = _cholesky(hessian(x, kappa, J, model))
    ok = max_grad <= tol and chol is not None
    msg = "converged" if ok else ("Hessian not positive definite" if chol is None
                                   else f"max |dH/dx| = {max_grad:.3g} > tol = {tol:g}")
    return MinimizeResult(x=x, energy=float(e), max_grad=max_grad, success=ok, n_iter=n_iter, n_newton=n_newton,
                          method="+".join(route), message=msg, wall_time=time.perf_counter() - t0, cholesky=chol)


def _lowest_with_factor(M, chol, k):
    """k lowest eigenpairs of a positive definite M by block shift-invert Krylov (sigma = 0) on the
    Cholesky factor the minimiser already holds (:func:`glassvib.modes.lowest_modes` would factor M
    again); eigenvalues are the Rayleigh quotients with M. (None, None) if the Krylov run fails."""
    from .modes import _block_shift_invert

    n = M.shape[0]
    block = max(16, min(48, (k + 2) // 3))
    _, Y, ok, _ = _block_shift_invert(lambda B: scipy.linalg.cho_solve(chol, B, check_finite=False), k, n, block,
                                      1e-6, max(12 * k, 40 * block, 600), 0)
    if not ok:
        return None, None
    lam = np.einsum("ij,ij->j", Y, M @ Y)
    order = np.argsort(lam, kind="stable")
    return lam[order], np.ascontiguousarray(Y[:, order])


@dataclass
class KHGPSSample:
    """One sample: the minimum and its spectrum (arrays and scalars, no I/O).

    Attributes:
        x: coordinates at the minimum. energy: H / N. msd: <x*^2> over the oscillators.
        eigenvalues: omega^2 ascending (the lowest k, or all). participation: participation ratio of
        each returned mode (NaN without vectors). n_negative: eigenvalues below -zero_tol.
        result: the :class:`MinimizeResult`. wall: seconds per stage (couplings, minimise, modes).
    """

    x: np.ndarray
    energy: float
    msd: float
    eigenvalues: np.ndarray
    participation: np.ndarray
    n_negative: int
    result: MinimizeResult
    wall: dict


def sample(model: KHGPS, N: int, seed: int, *, k="all", tol: float = 1e-10) -> KHGPSSample:
    """Couplings from ``seed``, minimisation from x = 0, Hessian, the lowest ``k`` modes (with vectors,
    shift-invert on the dense Cholesky factor) or ``k = "all"`` (every eigenvalue, no vectors)."""
    from .modes import all_eigenvalues, lowest_modes
    from .observables import participation_ratio

    N = _check_n(N)
    t0 = time.perf_counter()
    kappa, J = draw_instance(model, N, seed)
    t1 = time.perf_counter()
    res = minimize(kappa, J, model, tol=tol)
    t2 = time.perf_counter()
    M = hessian(res.x, kappa, J, model)
    del J
    if k == "all":
        lam = all_eigenvalues(M)
        part = np.full(lam.shape, np.nan)
    else:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= N:
            raise ValueError(f"key k = {k!r} is not allowed; allowed: an integer in [1, N = {N}] or 'all'")
        lam, vec = _lowest_with_factor(M, res.cholesky, int(k)) if res.cholesky is not None else (None, None)
        if lam is None:  # not positive definite (or the Krylov run did not converge): the general route
            lam, vec = lowest_modes(M, int(k), method="shift-invert", backend="dense")
        part = participation_ratio(vec, 1)
    t3 = time.perf_counter()
    scale = float(np.max(np.abs(np.diag(M))))
    n_neg = int(np.sum(lam < -1e-9 * scale))
    return KHGPSSample(x=res.x, energy=res.energy / N, msd=float(np.mean(res.x ** 2)), eigenvalues=lam,
                       participation=part, n_negative=n_neg, result=res,
                       wall={"couplings": t1 - t0, "minimize": t2 - t1, "modes": t3 - t2})
