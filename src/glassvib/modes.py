"""Lowest eigenpairs of a (sparse, symmetric) Hessian: SPEC §3 step 5 and §6 ``lowest_modes``.

Contract: ``lowest_modes(H, k)`` returns the k algebraically lowest eigenpairs of the symmetric
matrix H in ascending order; zero modes are included and negative eigenvalues are returned as
they are (they are never clipped or reordered by magnitude).

Method (the fast default for large matrices): factor H - sigma I with sigma just below the lowest
eigenvalue (a Cholesky factorization succeeds only then, so no inertia count is needed), and run a
block Krylov method with full reorthogonalization on (H - sigma I)^-1, whose largest eigenvalues
1/(lambda - sigma) are the wanted ones. Blocks of 16-48 right-hand sides turn the triangular
solves into BLAS-3 work (CHOLMOD supernodal or dense LAPACK), which single-vector ARPACK cannot
use. Eigenvalues are the Rayleigh quotients y^T H y of the converged Ritz vectors.

Factorization backends (``available_backends``): PARDISO of Intel MKL (:mod:`glassvib.pardiso`,
the default install's and the first choice: the ``mkl`` wheel is a core dependency on x86-64 Linux
and Windows), CHOLMOD (optional, used where PARDISO does not load: scikit-sparse < 0.5 built against Debian's libsuitesparse-dev, with
libopenblas0-pthread, otherwise Debian's CHOLMOD runs on the reference BLAS), a dense Cholesky
factor, and SuperLU in symmetric mode. Where neither PARDISO nor CHOLMOD loads, "auto" uses the
dense factor up to DENSE_FACTOR_MAX_DOF rows and multigrid LOBPCG above (SuperLU's fill on a 3D
Hessian makes it hours at dN ~ 1e5).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from . import multigrid
from . import pardiso as _pardiso

__all__ = ["lowest_modes", "available_backends", "modes_below", "ModesResult", "ModeCounts", "count_modes",
           "zero_tolerance", "full_spectrum", "translation_vectors", "all_eigenvalues", "highest_modes"]

#: at or below this number of rows ``method="auto"`` uses dense LAPACK eigh (all pairs, then sliced)
DENSE_MAX_DOF = 600
#: ``method="auto"`` also uses dense eigh when k is at least this fraction of dN
DENSE_MIN_K_FRACTION = 1.0 / 6.0
#: shift-invert factorization: dense Cholesky up to this many rows, sparse above
DENSE_FACTOR_MAX_DOF = 7000
#: block shift-invert Krylov: block size up to SMALL_BLOCK_MAX_DOF rows (where a block solve
#: costs little more per column at 8 right-hand sides than at 16-48, and a smaller block needs
#: fewer vectors: 232 against 306 for k = 50 at dN = 3000), and the basis growth between two
#: Rayleigh-Ritz steps
SMALL_BLOCK = 8
SMALL_BLOCK_MAX_DOF = 12_000
RR_GROWTH = 1.15
#: ``method="auto"`` uses multigrid-preconditioned LOBPCG from this many rows on (when pyamg is
#: installed and ``dim`` is given): a sparse Cholesky factor grows like dN^(4/3) in memory
LOBPCG_MIN_DOF = 150_000
#: LOBPCG: converged when |H x - lambda x| <= LOBPCG_RTOL * max|H_ii|; step limit; buffer vectors
LOBPCG_RTOL = 1e-8
LOBPCG_MAX_ITER = 1000
LOBPCG_MIN_BUFFER = 8
#: LOBPCG's V-cycle smoother: Chebyshev degree and interval [rho / ratio, 1.1 rho]. A long, wide
#: smoother makes up for the aggressive coarsening of smoothed aggregation (d = 3, N = 131072:
#: 393216 -> 7788 -> 57 rows): measured at d = 3, N = 32768, k = 50, one thread: degree 3 and
#: ratio 30 (the V-cycle of the Newton steps) 72 LOBPCG steps / 132 s; degree 5 / 30: 50 / 107 s;
#: 8 / 300: 30 / 85 s; 10 / 1000: 25 / 79 s; 12 / 1000: 22 / 74 s; 12 / 400: 23 / 82 s; 16 / 1000: 20 / 91 s
LOBPCG_SMOOTHER_DEGREE = 12
LOBPCG_SMOOTHER_RATIO = 1000.0
#: largest coarsest-level size of the multigrid hierarchy (dense Cholesky there)
AMG_MAX_COARSE = 2000

try:  # optional: CHOLMOD through scikit-sparse (< 0.5 builds against Debian's libsuitesparse-dev)
    from sksparse.cholmod import CholmodNotPositiveDefiniteError as _CholmodNotPD
    from sksparse.cholmod import cholesky as _cholmod_cholesky
except ImportError:  # pragma: no cover - depends on the machine
    _cholmod_cholesky = None
    _CholmodNotPD = None

#: factorization backends, in order of preference for large sparse matrices
BACKENDS = ("dense", "pardiso", "cholmod", "superlu")


def _translation_dim(H, candidates=(4, 3, 2)):
    """The d for which the d uniform translations (row index i*d + alpha) are null vectors of H
    (a periodic Hessian), to 1e-9 of max|H_ii|; None if there is none. Larger d first: the
    translations of d = 4 contain those of d = 2, not the other way round."""
    n = H.shape[0]
    scale = float(np.max(np.abs(H.diagonal()))) or 1.0
    for d in candidates:
        if n % d == 0 and np.max(np.abs(H @ translation_vectors(n // d, d))) * math.sqrt(n // d) <= 1e-9 * scale:
            return d
    return None


def available_backends():
    """Shift-invert factorization backends usable on this machine."""
    return tuple(b for b in BACKENDS if (b != "cholmod" or _cholmod_cholesky is not None)
                 and (b != "pardiso" or _pardiso.available()))


def _default_backend(n):
    """The factorization ``lowest_modes`` uses when none is named: PARDISO where MKL loads (the
    default install: the mkl wheel is a core dependency on x86-64), else CHOLMOD where scikit-sparse
    is installed (e.g. on CPUs without MKL wheels), else a dense Cholesky factor for
    n <= DENSE_FACTOR_MAX_DOF and SuperLU above. PARDISO first because it is measured faster on the
    same Hessians (d = 3, k = 50, one thread: N = 1000 0.28-0.31 s against CHOLMOD's 0.50-0.54 s,
    N = 8000 8.2-8.7 s against 17.9-18.1 s); ``backend="cholmod"`` still selects CHOLMOD."""
    if _pardiso.available():
        return "pardiso"
    if _cholmod_cholesky is not None:
        return "cholmod"
    return "dense" if n <= DENSE_FACTOR_MAX_DOF else "superlu"


def _check_matrix(H):
    if not (scipy.sparse.issparse(H) or isinstance(H, np.ndarray)):
        raise ValueError(f"H must be a scipy.sparse matrix or numpy array, got {type(H).__name__}")
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"H has shape {H.shape}, expected a square (dN, dN) matrix")
    return H.shape[0]


def _dense_lowest(H, k):
    A = H.toarray() if scipy.sparse.issparse(H) else np.asarray(H, dtype=np.float64)
    vals, vecs = scipy.linalg.eigh(A, check_finite=False)
    return vals[:k], np.ascontiguousarray(vecs[:, :k])


class _NotPositiveDefinite(Exception):
    pass


def _factorize(H, sigma, backend):
    """solve(X) = (H - sigma I)^-1 X for (n,) or (n, b) X; raises _NotPositiveDefinite if
    H - sigma I is not positive definite (then sigma is not below the lowest eigenvalue)."""
    n = H.shape[0]
    if backend == "dense":
        A = H.toarray() if scipy.sparse.issparse(H) else np.array(H, dtype=np.float64)
        A[np.diag_indices(n)] -= sigma
        try:
            L = scipy.linalg.cholesky(A, lower=True, overwrite_a=True, check_finite=False)
        except np.linalg.LinAlgError as exc:
            raise _NotPositiveDefinite from exc
        return lambda X: scipy.linalg.cho_solve((L, True), X, check_finite=False)
    if backend == "pardiso":
        try:
            return _pardiso.Factor(H, shift=sigma)
        except _pardiso.NotPositiveDefinite as exc:
            raise _NotPositiveDefinite from exc
    A = (scipy.sparse.csc_matrix(H, dtype=np.float64) - sigma * scipy.sparse.identity(n, format="csc")).tocsc()
    if backend == "cholmod":
        try:
            F = _cholmod_cholesky(A, ordering_method="nesdis")
        except _CholmodNotPD as exc:
            raise _NotPositiveDefinite from exc
        return F
    if backend == "superlu":
        # symmetric ordering without pivoting: U's diagonal is D of A = L D L^T (Sylvester inertia)
        try:
            lu = scipy.sparse.linalg.splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                          options={"SymmetricMode": True})
        except RuntimeError as exc:  # exactly singular
            raise _NotPositiveDefinite from exc
        if not (np.array_equal(lu.perm_r, lu.perm_c) and np.all(lu.U.diagonal() > 0)):
            raise _NotPositiveDefinite
        return lu.solve
    raise ValueError(f"backend = {backend!r}, expected one of {available_backends()}")


def _shifted_factor(H, backend, sigma=None):
    """Factor H - sigma I with sigma below the lowest eigenvalue, lowering sigma until positive definite.

    The first trial shift is -1e-3 max|H_ii| (close below the zero modes of a stable Hessian);
    each failure multiplies it by 8 (a negative eigenvalue lies below it). Returns
    (solve, sigma, n_factorizations).
    """
    scale = float(np.max(np.abs(H.diagonal()))) if H.shape[0] else 1.0
    scale = scale if scale > 0 else 1.0
    sigma = -1e-3 * scale if sigma is None else float(sigma)
    bound = None
    for attempt in range(1, 60):
        try:
            return _factorize(H, sigma, backend), sigma, attempt
        except _NotPositiveDefinite:
            bound = _gershgorin_bound(H) if bound is None else bound
            if sigma < -2.0 * bound:  # pragma: no cover - cannot happen for a symmetric matrix
                break
            sigma = 8.0 * sigma if sigma < 0 else -1e-3 * scale
    raise RuntimeError("could not find a shift below the lowest eigenvalue")  # pragma: no cover


def _gershgorin_bound(H):
    if scipy.sparse.issparse(H):
        return float(abs(H).sum(axis=1).max())
    return float(np.abs(H).sum(axis=1).max())


#: block Krylov Rayleigh-Ritz: every eigenpair of the projected matrix (LAPACK divide and conquer)
#: up to this size, the k largest by MRRR above. One thread, k = 50: m = 104 1.4 vs 3.3 ms,
#: 232 6.2 vs 8.2 ms, 300 11.6 vs 12.0 ms, 400 22.5 vs 18.4 ms.
RR_FULL_MAX = 320


def _block_shift_invert(solve, k, n, block, tol, max_vectors, seed, rr_growth=1.0):
    """Block Krylov (full reorthogonalization, Rayleigh-Ritz) for the k largest eigenvalues theta
    of the symmetric positive definite operator OP = solve.

    With V orthonormal and W = OP V, each new block W_b is orthogonalized against V by classical
    Gram-Schmidt (twice); its coefficients are the new columns of the projected matrix T = V^T W,
    and the QR factors of the remainder, W_b - V T[:, b] = Q R, give the next block Q and the
    block Krylov relation OP V = V T + Q R E_b^T. The residual of a Ritz pair (theta, V s) is
    then |R s_b| (s_b: the entries of s on the last block), so a convergence test costs O(b^2 k);
    it is confirmed with explicit residuals |W s - theta V s| <= tol theta before returning.
    Rayleigh-Ritz (a dense eigensolve of T) runs once the basis holds 2k vectors and then
    whenever it has grown by the factor ``rr_growth`` since the last one (1: after every block).

    Returns (theta (k,) descending, Y (n, k), converged, number of OP applications).
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    max_vectors = min(n, max_vectors)
    V = np.empty((max_vectors, n))  # rows are basis vectors: contiguous blocks
    W = np.empty((max_vectors, n))
    T = np.empty((max_vectors, max_vectors))
    Q = np.linalg.qr(rng.standard_normal((n, min(block, max_vectors))))[0].T
    m = 0
    next_rr = min(2 * k, max_vectors)
    while True:
        b = Q.shape[0]
        m0, m = m, m + b
        V[m0:m] = Q
        W[m0:m] = np.asarray(solve(V[m0:m].T)).T  # (n, b) column-major view of the block
        Z = W[m0:m]
        C = Z @ V[:m].T  # classical Gram-Schmidt, twice; C = T[:m, m0:m]^T
        Z = Z - C @ V[:m]
        C2 = Z @ V[:m].T
        Z = Z - C2 @ V[:m]
        Tb = (C + C2).T
        T[:m, m0:m] = Tb
        T[m0:m, :m0] = Tb[:m0].T
        Qt, Rq = np.linalg.qr(Z.T)
        done = m + 1 > max_vectors
        if m >= next_rr or done:  # Rayleigh-Ritz once the basis can hold the answer
            next_rr = max(m + 1, int(rr_growth * m))
            theta, S = _largest_ritz_pairs(T[:m, :m], min(k, m))
            est = np.sum((Rq @ S[m0:m]) ** 2, axis=0)  # |OP y - theta y|^2 by the Krylov relation
            gate = max(tol, 1e-6)  # the estimate need not go below 1e-6; the explicit check applies tol
            if m >= k and (np.all(est <= (gate * theta) ** 2) or done):
                Y = S.T @ V[:m]  # (k, n)
                res = np.linalg.norm(S.T @ W[:m] - theta[:, None] * Y, axis=1)
                ok = bool(np.all(res <= tol * theta))
                if ok or done:
                    return theta, np.ascontiguousarray(Y.T), ok, m
        dr = np.abs(np.diag(Rq))
        Q = Qt[:, dr > 1e-10 * max(dr.max(), 1e-300)].T[:max_vectors - m]
        if Q.shape[0] == 0:  # invariant subspace exhausted: return what there is
            theta, S = _largest_ritz_pairs(T[:m, :m], min(k, m))
            return theta, np.ascontiguousarray((S.T @ V[:m]).T), m >= k, m


def _largest_ritz_pairs(T, kk):
    """The kk largest eigenpairs of the symmetrized projected matrix T (m, m), descending: every
    pair by divide and conquer up to RR_FULL_MAX rows, the kk largest by MRRR above."""
    m = T.shape[0]
    Ts = 0.5 * (T + T.T)
    if m <= RR_FULL_MAX:
        theta, S = scipy.linalg.eigh(Ts, driver="evd", overwrite_a=True, check_finite=False)
        theta, S = theta[m - kk:], S[:, m - kk:]
    else:
        theta, S = scipy.linalg.eigh(Ts, subset_by_index=[m - kk, m - 1], driver="evr", overwrite_a=True,
                                     check_finite=False)
    return theta[::-1], np.ascontiguousarray(S[:, ::-1])


def _max_multiplicity(theta, rtol=1e-7):
    """Largest number of values in ``theta`` equal to within rtol * max|theta| (a degenerate
    eigenvalue)."""
    t = np.sort(np.asarray(theta, dtype=np.float64))
    if t.size < 2:
        return int(t.size)
    same = np.diff(t) <= rtol * float(np.max(np.abs(t)))
    best = run = 1
    for s in same:
        run = run + 1 if s else 1
        best = max(best, run)
    return best


def _shift_invert_lowest(H, k, backend, *, block=None, tol=1e-6, seed=0):
    """k lowest eigenpairs by block shift-invert Krylov on (H - sigma)^-1, sigma < lambda_min."""
    n = H.shape[0]
    solve, sigma, _ = _shifted_factor(H, backend)
    if block is None:  # small factors: solves cost little per column, fewer vectors win
        block = SMALL_BLOCK if n <= SMALL_BLOCK_MAX_DOF else max(16, min(48, (k + 2) // 3))
    block = int(block)
    while True:
        theta, Y, ok, _ = _block_shift_invert(solve, k, n, block, tol, max(12 * k, 40 * block, 600), seed,
                                              rr_growth=RR_GROWTH)
        # a block Krylov space holds at most `block` vectors of one eigenspace: an eigenvalue found
        # `block` times or more (lattices) may have further copies, so repeat with a larger block
        mult = _max_multiplicity(theta)
        if mult < block or block >= k:
            break
        block = min(k, 2 * mult)
    if not ok:  # pragma: no cover - fall back to ARPACK with the same factorization
        op = scipy.sparse.linalg.LinearOperator((n, n), matvec=solve, dtype=np.float64)
        vals, Y = scipy.sparse.linalg.eigsh(H, k=k, sigma=sigma, which="LM", OPinv=op)
    HY = H @ Y
    vals = np.einsum("ij,ij->j", Y, HY)  # Rayleigh quotients with H itself
    order = np.argsort(vals, kind="stable")
    return vals[order], np.ascontiguousarray(Y[:, order])


def _orthonormalize(W, drop=1e-10):
    """Orthonormal basis of span(W) by two rounds of eigenvalue-based Gram orthonormalization
    (SVQB); directions with Gram eigenvalue below ``drop`` of the largest are dropped."""
    for _ in range(2):
        if W.shape[1] == 0:
            return W
        G = W.T @ W
        ev, V = np.linalg.eigh(0.5 * (G + G.T))
        keep = ev > drop * max(float(ev[-1]), 1e-300)
        W = W @ (V[:, keep] / np.sqrt(ev[keep]))
    return W


def _lobpcg(matmat, precond, X, k, tol, max_iter, refresh=20, callback=None):
    """Locally optimal block preconditioned conjugate gradient (Knyazev 2001) for the k lowest
    eigenpairs of a symmetric operator.

    The block X (n, m), m > k, carries m - k buffer vectors that speed up the convergence of the
    k-th pair and are never required to converge. Each step preconditions the residuals of the
    unconverged columns (W), and does Rayleigh-Ritz on span[X, W, P] with P the previous search
    direction; W and P are kept orthonormal and orthogonal to X, so the projected problem is a
    standard symmetric one. H X is updated linearly and recomputed every ``refresh`` steps and
    before convergence is declared; converged means |H x_i - theta_i x_i| <= tol for i < k.
    ``callback(step, residual norms (m,))`` is called once per step if given.

    Returns (theta (m,) ascending, X (n, m), converged, number of steps).
    """
    X = _orthonormalize(X)
    m = X.shape[1]
    AX = matmat(X)
    G = X.T @ AX
    theta, C = np.linalg.eigh(0.5 * (G + G.T))
    X, AX = X @ C, AX @ C
    P = AP = None
    for it in range(max_iter + 1):
        R = X * theta
        np.subtract(AX, R, out=R)
        rnorm = np.linalg.norm(R, axis=0)
        conv = rnorm <= tol
        if callback is not None:
            callback(it, rnorm)
        if conv[:k].all() or it % refresh == refresh - 1:
            AX = matmat(X)  # remove the drift of the linear updates, then test again
            R = AX - X * theta
            rnorm = np.linalg.norm(R, axis=0)
            conv = rnorm <= tol
            if conv[:k].all():
                return theta, X, True, it
        if it == max_iter:
            break
        active = ~conv
        W = precond(np.ascontiguousarray(R[:, active]))
        for _ in range(2):  # classical Gram-Schmidt against X and P, twice
            W -= X @ (X.T @ W)
            if P is not None:
                W -= P @ (P.T @ W)
        W = _orthonormalize(W)
        AW = matmat(W)
        basis, images = [X, W], [AX, AW]
        if P is not None:
            basis.append(P)
            images.append(AP)
        edges = np.cumsum([0] + [b.shape[1] for b in basis])
        Gm = np.empty((edges[-1], edges[-1]))
        for a in range(len(basis)):
            for b in range(a, len(basis)):
                g = basis[a].T @ images[b]
                Gm[edges[a]:edges[a + 1], edges[b]:edges[b + 1]] = g
                Gm[edges[b]:edges[b + 1], edges[a]:edges[a + 1]] = g.T
        theta, Y = scipy.linalg.eigh(0.5 * (Gm + Gm.T), subset_by_index=[0, m - 1], driver="evr",
                                     check_finite=False)
        Pn, APn = W @ Y[edges[1]:edges[2]], AW @ Y[edges[1]:edges[2]]
        if P is not None:
            Pn += P @ Y[edges[2]:]
            APn += AP @ Y[edges[2]:]
        X = X @ Y[:m]
        X += Pn
        AX = AX @ Y[:m]
        AX += APn
        # next search directions: those of the active columns, orthonormal and orthogonal to X
        Pn, APn = Pn[:, active], APn[:, active]
        c = X.T @ Pn
        Pn -= X @ c
        APn -= AX @ c
        Gp = Pn.T @ Pn
        ev, V = np.linalg.eigh(0.5 * (Gp + Gp.T))
        keep = ev > 1e-12 * max(float(ev[-1]), 1e-300) if ev.size else ev > 0
        T = V[:, keep] / np.sqrt(ev[keep])
        P, AP = Pn @ T, APn @ T
    return theta, X, False, max_iter


def _lobpcg_lowest(H, k, dim, *, rtol=None, max_iter=None, seed=0, callback=None):
    """k lowest eigenpairs by LOBPCG preconditioned with a multigrid V-cycle for H + c I.

    c starts at 1e-5 max|H_ii| (a positive semi-definite Hessian becomes definite) and grows
    tenfold while the multigrid coarsest operator is not positive definite. The solve runs on H
    with its rows in reverse Cuthill-McKee order (:func:`glassvib.multigrid.locality_permutation`).
    Converged pairs have residual norms <= rtol * max|H_ii| (default LOBPCG_RTOL), so each
    eigenvalue is within that of an exact one. Returns (vals, vecs, converged, steps).
    """
    H = scipy.sparse.csr_matrix(H, dtype=np.float64)
    n = H.shape[0]
    perm = multigrid.locality_permutation(H, dim)
    H = H[perm][:, perm].tocsr()
    rtol = LOBPCG_RTOL if rtol is None else float(rtol)
    scale = float(np.max(np.abs(H.diagonal()))) or 1.0
    shift = 1e-5 * scale
    bound = _gershgorin_bound(H)
    while True:
        try:
            precond = multigrid.AMGPreconditioner(H, dim, shift, max_coarse=AMG_MAX_COARSE,
                                                  degree=LOBPCG_SMOOTHER_DEGREE, ratio=LOBPCG_SMOOTHER_RATIO)
            break
        except multigrid.NotPositiveDefinite:
            if shift > 2.0 * bound:  # pragma: no cover - cannot happen for a symmetric matrix
                raise
            shift *= 10.0
    m = min(n, k + max(LOBPCG_MIN_BUFFER, k // 4))
    rng = np.random.Generator(np.random.PCG64(seed))
    X0 = rng.standard_normal((n, m))
    max_iter = LOBPCG_MAX_ITER if max_iter is None else int(max_iter)
    theta, X, ok, steps = _lobpcg(lambda V: multigrid.csr_matmat(H, V), precond, X0, k, rtol * scale, max_iter,
                                  callback=callback)
    vecs = np.empty((n, k))
    vecs[perm] = X[:, :k]
    return theta[:k], vecs, ok, steps


def _sparse_lowest(H, k, tol=0.0):
    """Reference route: scipy ARPACK shift-invert with a SuperLU (symmetric mode) factorization."""
    n = H.shape[0]
    solve, sigma, _ = _shifted_factor(scipy.sparse.csc_matrix(H), "superlu")
    op = scipy.sparse.linalg.LinearOperator((n, n), matvec=solve, dtype=np.float64)
    vals, vecs = scipy.sparse.linalg.eigsh(H, k=k, sigma=sigma, which="LM", OPinv=op, tol=tol)
    order = np.argsort(vals)
    return vals[order], vecs[:, order]


def lowest_modes(H, k, *, method="auto", backend=None, dim=None):
    """k algebraically lowest eigenpairs of a symmetric matrix (SPEC §3.5, §6).

    Routes: "dense" is LAPACK eigh of the whole matrix (chosen by "auto" for dN <= DENSE_MAX_DOF
    or k >= dN/6); "shift-invert" (the default otherwise) factors H - sigma I with sigma below the
    lowest eigenvalue (-1e-3 max|H_ii|, lowered until the Cholesky factorization succeeds, so the
    nearest eigenvalues to sigma are the algebraically lowest) and runs a block Krylov method on
    (H - sigma I)^-1 with Rayleigh-Ritz; the factorization backend is CHOLMOD (scikit-sparse)
    where installed, else PARDISO (MKL) where it loads, otherwise dense Cholesky for
    dN <= DENSE_FACTOR_MAX_DOF and SuperLU in symmetric mode above. "lobpcg" (chosen by "auto"
    from LOBPCG_MIN_DOF rows on, where a sparse factor no longer fits in memory, or from
    DENSE_FACTOR_MAX_DOF rows on where neither PARDISO nor CHOLMOD is available; only when d is
    known or found) is LOBPCG with k/4
    buffer vectors, preconditioned by a smoothed-aggregation multigrid V-cycle for H + c I
    (:mod:`glassvib.multigrid`); converged when every residual |H x - lambda x| <= LOBPCG_RTOL
    max|H_ii|, otherwise the shift-invert route is used instead (with a warning). "arpack" is
    scipy's eigsh shift-invert with the SuperLU factor (reference).

    Args:
        H: symmetric matrix, scipy.sparse (dN, dN) or dense ndarray; for a Hessian with unit
            masses the eigenvalues are omega^2 (energy / length^2).
        k: number of eigenpairs, 1 <= k <= dN.
        method: "auto", "dense", "shift-invert" (alias "sparse"), "lobpcg" or "arpack".
        backend: factorization backend for "shift-invert": "dense", "pardiso", "cholmod", "superlu"
            or None (auto).
        dim: components per particle (d) of a Hessian with row index i*d + alpha; the multigrid
            of "lobpcg" uses the d translations as its near-null space. None: "auto" looks for
            the d whose translations H annihilates (and keeps to shift-invert if there is none);
            an explicit "lobpcg" uses a single constant vector (a weaker preconditioner).

    Returns:
        (eigenvalues (k,) ascending, eigenvectors (dN, k) orthonormal columns). Zero modes are
        included, negative eigenvalues are returned as they are.
    """
    n = _check_matrix(H)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise ValueError(f"k = {k!r}, expected an integer")
    k = int(k)
    if not 1 <= k <= n:
        raise ValueError(f"k = {k}, expected 1 <= k <= dN = {n}")
    if method == "sparse":
        method = "shift-invert"
    if method not in ("auto", "dense", "shift-invert", "lobpcg", "arpack"):
        raise ValueError(f"method = {method!r}, expected 'auto', 'dense', 'shift-invert', 'lobpcg' or 'arpack'")
    if backend is not None and backend not in available_backends():
        raise ValueError(f"backend = {backend!r}, expected one of {available_backends()}")
    if dim is not None and (isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1
                            or n % dim):
        raise ValueError(f"dim = {dim!r}, expected a positive integer that divides dN = {n}")
    if method == "lobpcg" and not multigrid.available():
        raise ValueError("method = 'lobpcg' needs pyamg (pip install 'pyamg>=5'); "
                         "available without it: 'auto', 'dense', 'shift-invert', 'arpack'")
    if method == "auto":
        if n <= DENSE_MAX_DOF or k >= DENSE_MIN_K_FRACTION * n:
            method = "dense"
        elif backend is None and multigrid.available() and n >= (
                LOBPCG_MIN_DOF if _default_backend(n) in ("pardiso", "cholmod") else DENSE_FACTOR_MAX_DOF):
            # no fast sparse Cholesky here: SuperLU's factor of a 3D Hessian grows much faster
            # than a nested-dissection Cholesky, so multigrid LOBPCG takes over above the dense factor
            dim = _translation_dim(H) if dim is None else dim
            method = "shift-invert" if dim is None else "lobpcg"
        else:
            method = "shift-invert"
    if method != "dense" and k >= n - 1:
        method = "dense"
    if method == "dense":
        return _dense_lowest(H, k)
    if method == "arpack":
        return _sparse_lowest(H, k)
    if method == "lobpcg":
        vals, vecs, ok, steps = _lobpcg_lowest(H, k, 1 if dim is None else int(dim))  # converts to CSR
        if ok:
            return vals, vecs
        warnings.warn(f"LOBPCG did not converge in {steps} steps (k = {k}, dN = {n}); "
                      "falling back to shift-invert", RuntimeWarning, stacklevel=2)
        method = "shift-invert"
    if backend is None:
        backend = _default_backend(n)
    if backend != "dense":
        H = scipy.sparse.csr_matrix(H, dtype=np.float64)
    return _shift_invert_lowest(H, k, backend)


@dataclass(frozen=True)
class ModesResult:
    """Lowest eigenpairs that contain every mode below an upper edge (SPEC §3.5 completeness).

    Attributes:
        eigenvalues: (k,) ascending. eigenvectors: (dN, k).
        upper: the edge (an eigenvalue, omega^2) that had to be exceeded.
        complete: True when the k-th eigenvalue lies above ``upper`` (or k = dN).
        k: number of eigenpairs computed in the last solve. n_solves: number of solves.
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    upper: float
    complete: bool
    k: int
    n_solves: int


def modes_below(H, upper, k=50, *, k_max=None, growth=2.0, method="auto", dim=None):
    """Lowest eigenpairs, with k increased until the k-th eigenvalue exceeds ``upper`` (SPEC §3.5).

    Args:
        H: symmetric (dN, dN) matrix.
        upper: eigenvalue edge (omega_c^2); every eigenvalue <= upper must be returned.
        k: initial number of eigenpairs.
        k_max: largest k tried (default dN); ``complete`` is False if it is reached first.
        growth: factor by which k grows per retry.
        method, dim: passed to :func:`lowest_modes`.

    Returns:
        :class:`ModesResult` (all computed pairs, ascending; the caller selects those <= upper).
    """
    n = _check_matrix(H)
    k_max = n if k_max is None else min(int(k_max), n)
    k = min(max(int(k), 1), k_max)
    if not growth > 1:
        raise ValueError(f"growth = {growth}, expected > 1")
    n_solves = 0
    while True:
        vals, vecs = lowest_modes(H, k, method=method, dim=dim)
        n_solves += 1
        complete = bool(vals[-1] > upper or k == n)
        if complete or k >= k_max:
            return ModesResult(vals, vecs, float(upper), complete, k, n_solves)
        k = min(k_max, int(math.ceil(k * growth)))


def zero_tolerance(H, rtol=1e-9):
    """Absolute tolerance below which |lambda| counts as a zero mode: rtol * max row sum of |H|
    (the Gershgorin bound of the largest eigenvalue)."""
    if scipy.sparse.issparse(H):
        bound = float(abs(H).sum(axis=1).max())
    else:
        bound = float(np.abs(H).sum(axis=1).max())
    return rtol * bound


@dataclass(frozen=True)
class ModeCounts:
    """Zero and negative modes of one sample (SPEC §3.5).

    Attributes:
        n_zero_modes: eigenvalues with |lambda| <= tol (the d translations plus any extra ones).
        n_translational: d (periodic box), as expected.
        n_extra_zero: n_zero_modes - d (rattlers, ...), may be negative if a translation is missing.
        n_negative: eigenvalues < -tol (an unstable configuration).
        tol: the tolerance used.
        translational_overlap: squared norm of the projection of the d translations on the zero-mode
            space, per translation (1 when they are exact zero modes); nan if vectors not given.
    """

    n_zero_modes: int
    n_translational: int
    n_extra_zero: int
    n_negative: int
    tol: float
    translational_overlap: np.ndarray


def translation_vectors(n_particles, d):
    """(dN, d) orthonormal rigid translations (row index i*d + alpha)."""
    T = np.zeros((n_particles * d, d))
    for a in range(d):
        T[a::d, a] = 1.0 / math.sqrt(n_particles)
    return T


def count_modes(eigenvalues, d, tol, eigenvectors=None):
    """Count zero, extra zero and negative modes among computed eigenvalues (SPEC §3.5).

    Args:
        eigenvalues: (k,) eigenvalues (must include the lowest ones).
        d: dimension (number of translational zero modes under periodic boundaries).
        tol: zero tolerance (see :func:`zero_tolerance`).
        eigenvectors: optional (dN, k); if given, the overlap of each translation with the
            zero-mode space is reported.
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    zero = np.abs(lam) <= tol
    n_zero = int(zero.sum())
    overlap = np.full(d, np.nan)
    if eigenvectors is not None:
        V = np.asarray(eigenvectors)[:, zero]
        T = translation_vectors(V.shape[0] // d, d)
        overlap = np.sum((V.T @ T) ** 2, axis=0)
    return ModeCounts(n_zero, int(d), n_zero - int(d), int(np.sum(lam < -tol)), float(tol), overlap)


def full_spectrum(H, eigenvectors=False):
    """All eigenvalues (ascending) of H by dense LAPACK, and optionally all eigenvectors (SPEC §3.5).

    Returns:
        (dN,) eigenvalues, or (eigenvalues, (dN, dN) eigenvectors).
    """
    _check_matrix(H)
    if not eigenvectors:
        return all_eigenvalues(H)
    A = H.toarray() if scipy.sparse.issparse(H) else np.asarray(H, dtype=np.float64)
    return scipy.linalg.eigh(A)


def _lapacke_two_stage():
    """``LAPACKE_dsyevd_2stage`` of the OpenBLAS that scipy's wheels bundle, or None.

    scipy does not wrap LAPACK's two-stage symmetric eigensolvers (dsytrd_sy2sb + dsb2st: the first
    stage is BLAS-3, so eigenvalues only are 1.5-2x faster than dsyevd at dN = 3000-5000 on one
    core); its bundled OpenBLAS exports them through LAPACKE with a ``scipy_`` prefix. Anything
    unexpected (another scipy build, no such symbol) returns None and the caller uses scipy."""
    global _TWO_STAGE
    if _TWO_STAGE is not None:
        return _TWO_STAGE or None
    import ctypes
    import glob
    import os

    import scipy as _scipy

    fn = False
    libdir = os.path.join(os.path.dirname(os.path.dirname(_scipy.__file__)), "scipy.libs")
    for path in sorted(glob.glob(os.path.join(libdir, "libscipy_openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)
            f = lib.scipy_LAPACKE_dsyevd_2stage
        except (OSError, AttributeError):
            continue
        f.restype = ctypes.c_int
        f.argtypes = [ctypes.c_int, ctypes.c_char, ctypes.c_char, ctypes.c_int, ctypes.c_void_p,
                      ctypes.c_int, ctypes.c_void_p]
        fn = f
        break
    _TWO_STAGE = fn
    return fn or None


_TWO_STAGE = None


def all_eigenvalues(H, method="auto"):
    """All eigenvalues of a symmetric matrix, ascending, without eigenvectors (dense LAPACK).

    Args:
        H: (n, n) symmetric matrix, sparse or dense.
        method: "two-stage" (LAPACK dsyevd_2stage through the OpenBLAS bundled with scipy's
            wheels), "scipy" (scipy.linalg.eigvalsh, dsyevd) or "auto" (two-stage where found,
            else scipy).

    Returns:
        (n,) eigenvalues, ascending.
    """
    n = _check_matrix(H)
    if method not in ("auto", "two-stage", "scipy"):
        raise ValueError(f"method = {method!r}, expected 'auto', 'two-stage' or 'scipy'")
    fn = _lapacke_two_stage() if method != "scipy" else None
    if method == "two-stage" and fn is None:
        raise ValueError("method = 'two-stage': LAPACKE_dsyevd_2stage not found in scipy's bundled "
                         "OpenBLAS; allowed here: 'auto', 'scipy'")
    A = H.toarray() if scipy.sparse.issparse(H) else np.array(H, dtype=np.float64)
    A = np.ascontiguousarray(A, dtype=np.float64)
    if fn is None:
        return scipy.linalg.eigvalsh(A, overwrite_a=True, check_finite=False, driver="evd")
    w = np.empty(n, dtype=np.float64)
    info = fn(101, b"N", b"L", n, A.ctypes.data, n, w.ctypes.data)  # row-major, lower = upper (symmetric)
    if info != 0:
        raise np.linalg.LinAlgError(f"dsyevd_2stage failed with info = {info}")
    return w


def highest_modes(H, k):
    """The k algebraically highest eigenpairs of a symmetric sparse matrix, ascending.

    Implicitly restarted Lanczos (scipy ARPACK, which = "LA") on H itself: the top of a glass
    Hessian's spectrum is sparse (localised modes, wide spacings), so no factorization is needed.
    Dense LAPACK (eigh with ``subset_by_index``) for small matrices or large k.
    """
    n = _check_matrix(H)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= n:
        raise ValueError(f"k = {k!r}, expected an integer 1 <= k <= {n}")
    if n <= DENSE_MAX_DOF or k >= n // 4:
        A = H.toarray() if scipy.sparse.issparse(H) else np.asarray(H, dtype=np.float64)
        return scipy.linalg.eigh(A, subset_by_index=[n - k, n - 1])
    rng = np.random.default_rng(0)
    vals, vecs = scipy.sparse.linalg.eigsh(scipy.sparse.csr_matrix(H, dtype=np.float64), k=k, which="LA",
                                           tol=0.0, v0=rng.standard_normal(n), ncv=min(n, max(2 * k + 1, k + 40)))
    order = np.argsort(vals)
    return vals[order], np.ascontiguousarray(vecs[:, order])
