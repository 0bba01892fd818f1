"""Sparse Cholesky factor by Intel MKL PARDISO, loaded from the ``mkl`` wheel (ctypes, no build).

Used by :mod:`glassvib.modes` (the "pardiso" backend of the block shift-invert route, SPEC §3
step 5) and :mod:`glassvib.elasticity`. PARDISO's supernodal Cholesky with METIS nested
dissection runs on MKL's BLAS-3 kernels: on the d = 3 glass Hessians it factors and solves at
least as fast as CHOLMOD on OpenBLAS, and it installs from PyPI wheels alone (``pip install mkl``,
a core dependency on x86-64 Linux and Windows), where CHOLMOD needs a system library and a
source build.

Only the real symmetric positive definite matrix type (mtype 2) is used: a factorization of a
matrix that is not positive definite fails (PARDISO error -4, a non-positive pivot), which is how
the shift-invert route finds a shift below the lowest eigenvalue. Threads: MKL's own
(``MKL_NUM_THREADS`` / ``OMP_NUM_THREADS``, or threadpoolctl, which recognizes libmkl_rt).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import site
import sys
import weakref

import numpy as np
import scipy.sparse

__all__ = ["available", "Factor", "NotPositiveDefinite", "PardisoError"]

_LIB = None  # None: not looked for yet; False: not found; else the pardiso function

#: PARDISO's error codes (MKL reference, "pardiso")
_ERRORS = {-1: "input inconsistent", -2: "not enough memory", -3: "reordering problem",
           -4: "zero pivot, numerical factorization or iterative refinement problem",
           -5: "unclassified (internal) error", -6: "reordering failed", -7: "diagonal matrix is singular",
           -8: "32-bit integer overflow problem", -9: "not enough memory for OOC",
           -10: "error opening OOC files", -11: "read/write error with OOC files",
           -12: "pardiso_64 called from 32-bit library", -13: "interrupted by the mkl_progress function"}


class PardisoError(RuntimeError):
    """PARDISO returned an error other than a non-positive pivot."""


class NotPositiveDefinite(Exception):
    """The matrix is not positive definite (PARDISO found a non-positive pivot)."""


def _candidates():
    """Paths of libmkl_rt to try: the dynamic loader's search path, then the lib folders of this
    Python's prefixes (where the ``mkl`` wheel puts it), then the user site."""
    name = ctypes.util.find_library("mkl_rt")
    if name:
        yield name
    prefixes = [sys.prefix, sys.base_prefix, getattr(site, "USER_BASE", None) or ""]
    for prefix in dict.fromkeys(p for p in prefixes if p):
        for pattern in ("lib/libmkl_rt.so*", "lib64/libmkl_rt.so*", "Library/bin/mkl_rt*.dll", "lib/libmkl_rt*.dylib"):
            yield from sorted(glob.glob(os.path.join(prefix, pattern)), key=len)


def _load():
    global _LIB
    if _LIB is None:
        _LIB = False
        if os.environ.get("GLASSVIB_NO_PARDISO"):
            return None
        for path in _candidates():
            try:
                fn = ctypes.CDLL(path).pardiso
            except (OSError, AttributeError):
                continue
            c_int_p = ctypes.POINTER(ctypes.c_int32)
            fn.argtypes = [ctypes.c_void_p, c_int_p, c_int_p, c_int_p, c_int_p, c_int_p, ctypes.c_void_p,
                           ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, c_int_p, ctypes.c_void_p, c_int_p,
                           ctypes.c_void_p, ctypes.c_void_p, c_int_p]
            fn.restype = None
            _LIB = fn
            break
    return _LIB or None


def available() -> bool:
    """True when MKL's libmkl_rt (with PARDISO) can be loaded; ``GLASSVIB_NO_PARDISO=1`` hides it."""
    return _load() is not None


def _call(fn, pt, mtype, phase, n, a, ia, ja, nrhs, iparm, b, x):
    err = ctypes.c_int32(0)
    one = ctypes.c_int32(1)
    fn(pt.ctypes.data, ctypes.byref(one), ctypes.byref(one), ctypes.byref(ctypes.c_int32(mtype)),
       ctypes.byref(ctypes.c_int32(phase)), ctypes.byref(ctypes.c_int32(n)), a.ctypes.data, ia.ctypes.data,
       ja.ctypes.data, None, ctypes.byref(ctypes.c_int32(nrhs)), iparm.ctypes.data, ctypes.byref(ctypes.c_int32(0)),
       None if b is None else b.ctypes.data, None if x is None else x.ctypes.data, ctypes.byref(err))
    return err.value


def _release(fn, pt, iparm, n):
    """Phase -1: free PARDISO's internal memory of one factorization."""
    dummy = np.zeros(1)
    idx = np.zeros(1, dtype=np.int32)
    _call(fn, pt, 2, -1, n, dummy, idx, idx, 1, iparm, None, None)


def _upper_triangle(A):
    """The upper triangle of A (diagonal included) as a float64 CSR matrix with sorted indices and
    no duplicates: a copy, selected row by row from A's canonical CSR form (scipy.sparse.triu
    goes through COO, 5x slower for a Hessian)."""
    A = scipy.sparse.csr_matrix(A, dtype=np.float64, copy=True)
    A.sum_duplicates()  # also sorts the indices
    n = A.shape[0]
    rows = np.repeat(np.arange(n), np.diff(A.indptr))
    keep = A.indices >= rows
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=indptr[1:])
    U = scipy.sparse.csr_matrix((A.data[keep], A.indices[keep], indptr), shape=A.shape)
    U.has_sorted_indices = True
    return U


class Factor:
    """Cholesky factor of a symmetric positive definite sparse matrix A by PARDISO.

    ``Factor(A)(B)`` solves A X = B for B of shape (n,) or (n, b) (any layout; returned in the
    layout PARDISO writes, column-major for 2-d). Only the upper triangle of A is read.
    ``Factor(A, shift=s)`` factors A - s I (the shift added to the upper triangle's diagonal
    instead of forming the difference first).

    Raises:
        NotPositiveDefinite: A is not positive definite.
        PardisoError: any other PARDISO failure (memory, ...).
        ImportError: libmkl_rt not found.
    """

    def __init__(self, A, shift=0.0):
        fn = _load()
        if fn is None:
            raise ImportError("PARDISO needs MKL: pip install mkl")
        U = _upper_triangle(A)
        n = U.shape[0]
        if U.nnz >= 2 ** 31 - 1 or n >= 2 ** 31 - 1:
            raise PardisoError(f"matrix too large for 32-bit PARDISO indices (n = {n}, nnz = {U.nnz})")
        # PARDISO needs every diagonal entry stored, even a zero one
        nonempty = np.diff(U.indptr) > 0
        first = np.full(n, -1, dtype=np.int64)
        first[nonempty] = U.indices[U.indptr[:-1][nonempty]]
        missing = np.flatnonzero(first != np.arange(n))
        if missing.size:
            C = U.tocoo()
            U = scipy.sparse.csr_matrix((np.concatenate([C.data, np.zeros(missing.size)]),
                                         (np.concatenate([C.row, missing]), np.concatenate([C.col, missing]))),
                                        shape=U.shape)
            U.sort_indices()
        if shift != 0.0:  # every row starts with its diagonal entry now
            U.data[U.indptr[:-1]] -= shift
        self.n = n
        self._a = np.ascontiguousarray(U.data, dtype=np.float64)
        self._ia = np.ascontiguousarray(U.indptr, dtype=np.int32)
        self._ja = np.ascontiguousarray(U.indices, dtype=np.int32)
        self._pt = np.zeros(64, dtype=np.int64)
        iparm = np.zeros(64, dtype=np.int32)
        iparm[0] = 1    # no solver defaults: the settings below
        iparm[1] = 2    # fill-in reducing ordering: METIS nested dissection
        iparm[7] = 0    # iterative refinement: none unless pivots were perturbed (never for SPD)
        iparm[9] = 8    # pivot perturbation 1e-8 (indefinite types only)
        iparm[17] = -1  # report the number of non-zeros of the factor in iparm[17]
        iparm[34] = 1   # zero-based indices
        self._iparm = iparm
        self._fn = fn
        err = _call(fn, self._pt, 2, 12, n, self._a, self._ia, self._ja, 1, iparm, None, None)
        # free PARDISO's memory with this object (also after a failed factorization)
        self._finalizer = weakref.finalize(self, _release, fn, self._pt, iparm.copy(), n)
        if err == -4:
            self._finalizer()
            raise NotPositiveDefinite("PARDISO: non-positive pivot (matrix not positive definite)")
        if err != 0:
            self._finalizer()
            raise PardisoError(f"PARDISO factorization failed: error {err} ({_ERRORS.get(err, 'unknown')})")
        self.nnz_factor = int(iparm[17])

    def __call__(self, B):
        B = np.asarray(B, dtype=np.float64)
        if B.shape[0] != self.n:
            raise ValueError(f"right-hand side has {B.shape[0]} rows, expected {self.n}")
        one = B.ndim == 1
        Bf = np.asfortranarray(B.reshape(self.n, -1))
        X = np.empty_like(Bf, order="F")
        if Bf.shape[1] == 0:
            return X.ravel() if one else X
        err = _call(self._fn, self._pt, 2, 33, self.n, self._a, self._ia, self._ja, Bf.shape[1], self._iparm, Bf, X)
        if err != 0:
            raise PardisoError(f"PARDISO solve failed: error {err} ({_ERRORS.get(err, 'unknown')})")
        return X.ravel() if one else X
