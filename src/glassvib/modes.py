"""Lowest eigenpairs of a (sparse, symmetric) Hessian: SPEC §3 step 5 and §6 ``lowest_modes``.

Contract: ``lowest_modes(H, k)`` returns the k algebraically lowest eigenpairs of the symmetric
matrix H in ascending order; zero modes are included and negative eigenvalues are returned as
they are (they are never clipped or reordered by magnitude).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

__all__ = ["lowest_modes"]

#: below this number of rows the dense LAPACK route is used by ``method="auto"``
DENSE_MAX_DOF = 1500


def _check_matrix(H):
    if not (scipy.sparse.issparse(H) or isinstance(H, np.ndarray)):
        raise ValueError(f"H must be a scipy.sparse matrix or numpy array, got {type(H).__name__}")
    if H.ndim != 2 or H.shape[0] != H.shape[1]:
        raise ValueError(f"H has shape {H.shape}, expected a square (dN, dN) matrix")
    return H.shape[0]


def _dense_lowest(H, k):
    A = H.toarray() if scipy.sparse.issparse(H) else np.asarray(H, dtype=np.float64)
    vals, vecs = scipy.linalg.eigh(A, subset_by_index=[0, k - 1], driver="evr")
    return vals, vecs


def _sparse_lowest(H, k, tol=0.0):
    H = scipy.sparse.csc_matrix(H, dtype=np.float64)
    n = H.shape[0]
    diag = H.diagonal()
    scale = float(np.max(np.abs(diag))) if n else 1.0
    sigma = -1e-3 * scale
    for _ in range(60):
        A = (H - sigma * scipy.sparse.identity(n, format="csc")).tocsc()
        lu = scipy.sparse.linalg.splu(A, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                      options={"SymmetricMode": True})
        d = lu.U.diagonal()
        if np.array_equal(lu.perm_r, lu.perm_c) and np.all(d > 0):
            break
        sigma *= 4.0
    else:  # pragma: no cover - would need a matrix with unbounded spectrum
        raise RuntimeError("could not find a shift below the lowest eigenvalue")
    op = scipy.sparse.linalg.LinearOperator((n, n), matvec=lu.solve, dtype=np.float64)
    vals, vecs = scipy.sparse.linalg.eigsh(H, k=k, sigma=sigma, which="LM", OPinv=op, tol=tol)
    order = np.argsort(vals)
    return vals[order], vecs[:, order]


def lowest_modes(H, k, *, method="auto"):
    """k algebraically lowest eigenpairs of a symmetric matrix (SPEC §3.5, §6).

    Args:
        H: symmetric matrix, scipy.sparse (dN, dN) or dense ndarray; for a Hessian with unit
            masses the eigenvalues are omega^2 (energy / length^2).
        k: number of eigenpairs, 1 <= k <= dN.
        method: "auto" (dense LAPACK for small dN, sparse shift-invert otherwise), "dense"
            or "sparse".

    Returns:
        (eigenvalues (k,) ascending, eigenvectors (dN, k) orthonormal columns). Zero modes are
        included, negative eigenvalues are returned as they are.
    """
    n = _check_matrix(H)
    k = int(k)
    if not 1 <= k <= n:
        raise ValueError(f"k = {k}, expected 1 <= k <= dN = {n}")
    if method not in ("auto", "dense", "sparse"):
        raise ValueError(f"method = {method!r}, expected 'auto', 'dense' or 'sparse'")
    if method == "auto":
        method = "dense" if (n <= DENSE_MAX_DOF or k >= n // 3) else "sparse"
    if method == "sparse" and k >= n - 1:
        method = "dense"
    if method == "dense":
        return _dense_lowest(H, k)
    return _sparse_lowest(H, k)
