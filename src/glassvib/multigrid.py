"""Smoothed-aggregation multigrid preconditioner for Hessians, applied to blocks of vectors.

Used by the large-matrix eigen-solver route of :mod:`glassvib.modes` (SPEC §3 step 5): a sparse
Cholesky factor of a d = 3 glass Hessian grows like (dN)^(4/3) in memory and (dN)^2 in time, which
rules it out at N = 131072 on a 24 GiB machine, while one multigrid V-cycle costs a few sparse
matrix products.

The hierarchy (aggregates, smoothed prolongators P, Galerkin coarse operators P^T A P) comes from
pyamg's smoothed aggregation with the d rigid translations as the near-null space; this module adds
the cycle itself, written for blocks of right-hand sides so that every level does sparse-matrix x
dense-block products instead of one vector at a time:

- smoother: Chebyshev polynomial (degree ``degree``) in D^-1 A, D = the d x d diagonal blocks,
  targeting the upper part [rho / 30, 1.1 rho] of the spectrum of D^-1 A (rho estimated by
  power iteration); the same polynomial before and after the coarse correction, so the V-cycle
  is a symmetric operator;
- coarsest level: dense Cholesky;
- arithmetic in float32 on every level but the coarsest (a preconditioner needs no more; it halves
  the memory traffic of the sparse products).

Requires pyamg (optional dependency, ``pip install glassvib[fast]``).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.csgraph
import scipy.sparse.linalg

import numba

try:  # optional
    import pyamg as _pyamg
    from pyamg.util.linalg import approximate_spectral_radius as _spectral_radius
except ImportError:  # pragma: no cover - depends on the machine
    _pyamg = None

__all__ = ["available", "AMGPreconditioner", "NotPositiveDefinite", "csr_matmat", "locality_permutation"]

#: lower end of the Chebyshev smoothing interval, as a fraction of its upper end
CHEBYSHEV_RATIO = 30.0


@numba.njit(parallel=True, cache=True)
def _csr_matmat_kernel(indptr, indices, data, X, out, alpha, beta):
    """out = beta * out + alpha * A @ X (beta = 0: out is not read), rows in parallel."""
    for i in numba.prange(indptr.size - 1):
        acc = out[i]
        if beta == 0:
            acc[:] = 0
        elif beta != 1:
            acc[:] *= beta
        for p in range(indptr[i], indptr[i + 1]):
            v = alpha * data[p]
            xj = X[indices[p]]
            for c in range(X.shape[1]):
                acc[c] += v * xj[c]


def csr_matmat(A, X, out=None, alpha=1.0, beta=0.0):
    """out = beta * out + alpha * A @ X for a CSR matrix A and a dense block X (n, b), rows in
    parallel (numba threads); ``out`` (C-contiguous, A's dtype) is allocated when None. scipy's
    product runs on one thread, and would allocate."""
    X = np.ascontiguousarray(X, dtype=A.dtype)
    if out is None:
        out = np.empty((A.shape[0], X.shape[1]), dtype=A.dtype)
        beta = 0.0
    _csr_matmat_kernel(A.indptr, A.indices, A.data, X, out, A.dtype.type(alpha), A.dtype.type(beta))
    return out


def locality_permutation(H, dim):
    """Permutation ``perm`` of the rows of H (reverse Cuthill-McKee of the particle graph, the d
    components of a particle kept together) such that H[perm][:, perm] couples nearby rows.

    Sparse x dense-block products then read the block's rows almost in order instead of at
    random (particles of a random configuration are numbered at random): 3x faster at N = 131072.
    An eigenvector y of the permuted matrix is x with x[perm] = y.
    """
    particles = scipy.sparse.csr_matrix(H)[::dim, ::dim].tocsr()  # the xx couplings: the particle graph
    order = scipy.sparse.csgraph.reverse_cuthill_mckee(particles, symmetric_mode=True).astype(np.int64)
    return (order[:, None] * dim + np.arange(dim)).ravel()


class NotPositiveDefinite(Exception):
    """The coarsest operator (hence H + shift I) is not positive definite."""


def available() -> bool:
    """True when pyamg is installed."""
    return _pyamg is not None


class _Level:
    __slots__ = ("A", "P", "R", "dinv", "rho", "bs")

    def apply_dinv(self, X, out=None):
        bs = self.bs
        out = np.empty_like(X) if out is None else out
        np.matmul(self.dinv, X.reshape(-1, bs, X.shape[1]), out=out.reshape(-1, bs, X.shape[1]))
        return out


def _diagonal_block_inverses(A, bs):
    """(n / bs, bs, bs) inverses of the diagonal bs x bs blocks of the sparse matrix A."""
    B = scipy.sparse.bsr_matrix(A, blocksize=(bs, bs))
    B.sort_indices()
    nb = A.shape[0] // bs
    rows = np.repeat(np.arange(nb), np.diff(B.indptr))
    diag = B.indices == rows
    D = np.zeros((nb, bs, bs))
    D[rows[diag]] = B.data[diag]
    return np.linalg.inv(D)


class AMGPreconditioner:
    """Approximate inverse of H + shift I by one symmetric multigrid V-cycle (block right-hand sides).

    Args:
        H: symmetric sparse (dN, dN) matrix with row index i*dim + alpha.
        dim: number of components per particle (d); the near-null space is the d translations.
        shift: added to the diagonal (> 0 makes a positive semi-definite Hessian definite).
        degree: Chebyshev smoother degree (pre and post).
        ratio: the smoother targets [rho / ratio, 1.1 rho] of the spectrum of D^-1 A.
        max_coarse: pyamg's largest coarsest-level size.
        strength_theta: pyamg's symmetric strength threshold (0: every stored coupling is strong).

    Raises:
        NotPositiveDefinite: the coarsest operator is not positive definite (shift too small
            for a matrix with negative eigenvalues).
    Calling the object on an (dN,) or (dN, b) array returns float64 of the same shape.
    """

    def __init__(self, H, dim, shift, *, degree=3, ratio=CHEBYSHEV_RATIO, max_coarse=2000, strength_theta=0.0):
        if _pyamg is None:  # pragma: no cover - depends on the machine
            raise ImportError("the multigrid preconditioner needs pyamg: pip install 'pyamg>=5'")
        n = H.shape[0]
        if n % dim:
            raise ValueError(f"H has {n} rows, expected a multiple of dim = {dim}")
        A = (scipy.sparse.csr_matrix(H, dtype=np.float64) + shift * scipy.sparse.identity(n, format="csr")).tocsr()
        B = np.zeros((n, dim))
        for a in range(dim):
            B[a::dim, a] = 1.0
        ml = _pyamg.smoothed_aggregation_solver(
            A, B=B, symmetry="symmetric", strength=("symmetric", {"theta": strength_theta}),
            max_coarse=max_coarse, keep=False, presmoother=None, postsmoother=None)
        self.degree = int(degree)
        self.ratio = float(ratio)
        self.shift = float(shift)
        self.levels = []
        # coarse unknowns come in groups of dim (one per near-null vector and aggregate): the same
        # block size on every level
        for lv_amg in ml.levels[:-1]:
            lv = _Level()
            Af = lv_amg.A.tocsr()
            lv.bs = dim
            dinv = _diagonal_block_inverses(Af, dim)
            lv.dinv = dinv.astype(np.float32)
            lv.A = Af.astype(np.float32)
            lv.P = lv_amg.P.tocsr().astype(np.float32)
            lv.R = lv_amg.P.T.tocsr().astype(np.float32)
            op = scipy.sparse.linalg.LinearOperator(  # D^-1 A, for the Chebyshev interval
                Af.shape, dtype=np.float64,
                matvec=lambda x, Af=Af, dinv=dinv: np.matmul(dinv, (Af @ x).reshape(dinv.shape[0], -1, 1)).ravel())
            lv.rho = float(_spectral_radius(op, maxiter=20))
            self.levels.append(lv)
        Ac = ml.levels[-1].A.toarray()
        try:
            self._coarse = scipy.linalg.cho_factor(Ac, lower=True, check_finite=False)
        except np.linalg.LinAlgError as exc:
            raise NotPositiveDefinite(f"coarsest operator ({Ac.shape[0]} rows) of H + {shift:g} I is not "
                                      "positive definite") from exc
        self.sizes = tuple(int(m.A.shape[0]) for m in ml.levels)
        self.nnz = tuple(int(m.A.nnz) for m in ml.levels)

    def _chebyshev(self, lv, b, x):
        """``degree`` Chebyshev steps for A x = b preconditioned by D^-1, from x (None: 0), in place
        where possible (the blocks are large: fresh arrays cost page faults)."""
        hi = 1.1 * lv.rho
        lo = hi / self.ratio
        theta, delta = 0.5 * (hi + lo), 0.5 * (hi - lo)
        sigma = theta / delta
        rho_old = 1.0 / sigma
        if x is None:
            r = b.copy()
        else:
            r = csr_matmat(lv.A, x, out=b.copy(), alpha=-1.0, beta=1.0)  # b - A x
        step = lv.apply_dinv(r)
        step *= np.float32(1.0 / theta)
        if x is None:
            x = step.copy()
        else:
            x += step
        z = np.empty_like(b)
        for _ in range(1, self.degree):
            csr_matmat(lv.A, step, out=r, alpha=-1.0, beta=1.0)  # r -= A step
            rho_new = 1.0 / (2.0 * sigma - rho_old)
            lv.apply_dinv(r, out=z)
            step *= np.float32(rho_new * rho_old)
            z *= np.float32(2.0 * rho_new / delta)
            step += z
            x += step
            rho_old = rho_new
        return x

    def _cycle(self, level, b):
        if level == len(self.levels):
            x = scipy.linalg.cho_solve(self._coarse, b.astype(np.float64), check_finite=False)
            return x.astype(np.float32)
        lv = self.levels[level]
        x = self._chebyshev(lv, b, None)
        r = csr_matmat(lv.A, x, out=b.copy(), alpha=-1.0, beta=1.0)  # b - A x
        csr_matmat(lv.P, self._cycle(level + 1, csr_matmat(lv.R, r)), out=x, beta=1.0)
        return self._chebyshev(lv, b, x)

    def __call__(self, X):
        X = np.asarray(X)
        one = X.ndim == 1
        B = np.ascontiguousarray(X.reshape(X.shape[0], -1), dtype=np.float32)
        Y = self._cycle(0, B).astype(np.float64)
        return Y.ravel() if one else Y
