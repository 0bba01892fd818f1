"""Athermal shear modulus of an inherent structure and the lowest transverse phonon frequency
w_0 (SPEC §4).

For a simple shear x_a -> x_a + gamma x_b of the periodic box (a != b), the relaxed modulus is

    G_ab = (1/V) [ B_ab - Xi_ab . H^+ . Xi_ab ]

with the affine (Born) term B_ab = d2U/dgamma2 = sum_pairs K^aa r_b^2, the affine force field
Xi_ab = d2U/(dx dgamma), Xi_j = K^(.a) r_b = -Xi_i for each pair (i, j), and the pair block
K = [phi'' - phi'/r] e e^T + (phi'/r) 1 of the Hessian (SPEC §3.4). G is the average of G_ab
over the d (d - 1) ordered shear planes; w_0 = 2 pi sqrt(G / rho) / L.

H is singular (d translations); Xi is orthogonal to them, so Xi . H^+ . Xi is computed exactly by
pinning one particle (removing its d rows and columns) and solving the reduced sparse system.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from . import modes as _modes
from . import multigrid as _multigrid
from . import pardiso as _pardiso
from .configuration import Configuration
from .modes import translation_vectors
from .potentials import PairPotential
from .system import hessian, pair_terms

__all__ = ["ShearModulusResult", "shear_modulus", "shear_moduli", "affine_force_field",
           "born_term", "nonaffine_term", "omega0"]


@dataclass(frozen=True)
class ShearModulusResult:
    """Shear moduli of one configuration.

    Attributes:
        G: average over shear planes (energy / length^d).
        planes: list of (a, b) ordered pairs (shear x_a += gamma x_b).
        G_planes: (n_planes,) relaxed moduli per plane.
        born: (n_planes,) affine (Born) terms B_ab / V.
        nonaffine: (n_planes,) Xi . H^+ . Xi / V.
        method: "sparse" or "dense".
    """

    G: float
    planes: list
    G_planes: np.ndarray
    born: np.ndarray
    nonaffine: np.ndarray
    method: str


def _pair_blocks(terms):
    r = terms.r
    c1 = terms.d2phi - terms.dphi / r
    c2 = terms.dphi / r
    return c1, c2


def born_term(terms, a, b):
    """B_ab = d2U/dgamma2 (affine) = sum_pairs K^aa r_b^2 for the shear x_a += gamma x_b."""
    c1, c2 = _pair_blocks(terms)
    e = terms.unit
    kaa = c1 * e[:, a] ** 2 + c2
    return float(np.sum(kaa * (terms.r * e[:, b]) ** 2))


def affine_force_field(terms, n_particles, a, b):
    """Xi_ab = d2U/(dx dgamma), shape (dN,), row index i*d + alpha (SPEC §3.4 ordering)."""
    c1, c2 = _pair_blocks(terms)
    e = terms.unit
    d = e.shape[1]
    rb = terms.r * e[:, b]
    # column a of K for each pair: K[:, c, a] = c1 e_c e_a + c2 delta_ca
    col = (c1 * e[:, a])[:, None] * e
    col[:, a] += c2
    f = col * rb[:, None]  # (P, d)
    xi = np.zeros((n_particles, d))
    np.add.at(xi, terms.j, f)
    np.subtract.at(xi, terms.i, f)
    return xi.reshape(-1)


def nonaffine_term(H, Xi, d, method="sparse", rtol=1e-10):
    """Xi^T H^+ Xi for columns Xi (dN, q) orthogonal to the d translations of a periodic system.

    Args:
        H: (dN, dN) Hessian, sparse or dense.
        Xi: (dN,) or (dN, q) affine force fields.
        d: spatial dimension (number of translational zero modes).
        method: "sparse": pin particle 0 and solve the reduced system (exact when H's null space
            is the translations; MINRES on the full system otherwise) with a sparse LU factor, or,
            from glassvib.modes.LOBPCG_MIN_DOF rows on (where the factor would not fit in memory),
            with "cg"; "cg": conjugate gradients preconditioned by the multigrid V-cycle of
            glassvib.multigrid, projected on the complement of the translations, to a relative
            residual rtol; "dense": pseudo-inverse from a dense eigen-decomposition with
            eigenvalues |lambda| < rtol * max dropped.

    Returns:
        (q,) values.
    """
    Xi = np.asarray(Xi, dtype=np.float64)
    if Xi.ndim == 1:
        Xi = Xi[:, None]
    if Xi.shape[0] != H.shape[0]:
        raise ValueError(f"Xi has {Xi.shape[0]} rows, expected dN = {H.shape[0]}")
    if method == "sparse" and H.shape[0] >= _modes.LOBPCG_MIN_DOF and _multigrid.available():
        method = "cg"
    if method == "sparse":
        return _sparse_nonaffine(H, Xi, int(d))
    if method == "cg":
        return _cg_nonaffine(H, Xi, int(d), rtol)
    if method != "dense":
        raise ValueError(f"method = {method!r}, expected 'sparse', 'cg' or 'dense'")
    A = H.toarray() if scipy.sparse.issparse(H) else np.asarray(H)
    lam, V = scipy.linalg.eigh(A)
    keep = np.abs(lam) > rtol * np.max(np.abs(lam))
    proj = V[:, keep].T @ Xi
    return np.sum(proj ** 2 / lam[keep, None], axis=0)


def _cg_nonaffine(H, Xi, d, rtol, max_iter=10000):
    """Xi^T H^+ Xi by block conjugate gradients (each column its own CG, vectorized) on the
    complement of the translations, preconditioned by a multigrid V-cycle for H + 1e-6 max|H_ii| I
    whose output is projected on that complement."""
    H = scipy.sparse.csr_matrix(H, dtype=np.float64)
    n = H.shape[0]
    perm = _multigrid.locality_permutation(H, d)  # x^T H^+ x is invariant under the relabelling
    H = H[perm][:, perm].tocsr()
    Xi = Xi[perm]
    T = translation_vectors(n // d, d)  # permutes into itself (particle blocks stay together)

    def project(V):
        return V - T @ (T.T @ V)

    M = _multigrid.AMGPreconditioner(H, d, 1e-6 * float(np.max(np.abs(H.diagonal()))),
                                     max_coarse=_modes.AMG_MAX_COARSE)
    B = project(Xi)
    bnorm = np.maximum(np.linalg.norm(B, axis=0), 1e-300)
    U = np.zeros_like(B)
    R = B.copy()
    Z = project(M(R))
    P = Z.copy()
    rz = np.einsum("ij,ij->j", R, Z)
    for _ in range(max_iter):
        if np.all(np.linalg.norm(R, axis=0) <= rtol * bnorm):
            return np.einsum("ij,ij->j", B, U)
        HP = _multigrid.csr_matmat(H, P)
        alpha = rz / np.einsum("ij,ij->j", P, HP)
        U += P * alpha
        R -= HP * alpha
        Z = project(M(R))
        rz_new = np.einsum("ij,ij->j", R, Z)
        P = Z + P * (rz_new / rz)
        rz = rz_new
    raise RuntimeError(f"CG for the non-affine term did not reach rtol = {rtol} in {max_iter} steps")


def _sparse_nonaffine(H, Xi, d):
    """Xi^T H^+ Xi by pinning particle 0: solve H_red u = Xi_red (exact when the null space of H
    is the d translations and Xi is orthogonal to them); falls back to MINRES on the full system
    when the reduced matrix is singular (extra zero modes, rattlers)."""
    n = H.shape[0]
    H = scipy.sparse.csc_matrix(H)
    Hr = H[d:, d:].tocsc()
    Xr = Xi[d:]
    chol = getattr(_modes, "_cholmod_cholesky", None)  # CHOLMOD where installed, else PARDISO (MKL):
    if chol is None and _pardiso.available():  # a supernodal Cholesky of the pinned (SPD) matrix
        chol = lambda A, ordering_method=None: _pardiso.Factor(A)  # noqa: E731
    if chol is not None:
        try:
            U = chol(Hr, ordering_method="nesdis")(Xr)
            resid = np.linalg.norm(Hr @ U - Xr, axis=0) / np.maximum(np.linalg.norm(Xr, axis=0), 1e-300)
            if np.all(np.isfinite(U)) and np.all(resid < 1e-8):
                return np.einsum("ij,ij->j", Xr, U)
        except Exception:  # not positive definite (extra zero modes): the LU / MINRES routes below
            pass
    try:
        lu = scipy.sparse.linalg.splu(Hr, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0,
                                      options={"SymmetricMode": True})
        U = lu.solve(Xr)
        resid = np.linalg.norm(Hr @ U - Xr, axis=0) / np.maximum(np.linalg.norm(Xr, axis=0), 1e-300)
        if np.all(np.isfinite(U)) and np.all(resid < 1e-8):
            return np.einsum("ij,ij->j", Xr, U)
    except RuntimeError:  # exactly singular factor
        pass
    out = np.empty(Xi.shape[1])
    for q in range(Xi.shape[1]):  # consistent singular system: MINRES gives the pseudo-inverse solution
        u, _ = scipy.sparse.linalg.minres(H, Xi[:, q], rtol=1e-12, maxiter=20 * n)
        out[q] = Xi[:, q] @ u
    return out


def shear_moduli(conf: Configuration, pot: PairPotential, method="sparse", H=None, terms=None) -> ShearModulusResult:
    """Athermal shear moduli of an inherent structure for every ordered shear plane (SPEC §4).

    Args:
        conf: configuration (an energy minimum; at a non-minimum the formula is still evaluated).
        pot: the potential.
        method: "sparse" (pinned sparse LU solve; multigrid CG for very large H), "cg" (multigrid
            CG) or "dense" (pseudo-inverse from a dense eigh); see :func:`nonaffine_term`.
        H: optional precomputed Hessian (delta = 0) to avoid recomputing it.
        terms: optional precomputed :func:`glassvib.system.pair_terms` of ``conf``.

    Returns:
        :class:`ShearModulusResult`.
    """
    if method not in ("sparse", "cg", "dense"):
        raise ValueError(f"method = {method!r}, expected 'sparse', 'cg' or 'dense'")
    d, N = conf.d, conf.N
    if terms is None:
        terms = pair_terms(conf, pot)
    if H is None:
        H = hessian(conf, pot)
    planes = [(a, b) for a, b in itertools.permutations(range(d), 2)]
    Xi = np.stack([affine_force_field(terms, N, a, b) for a, b in planes], axis=1)
    born = np.array([born_term(terms, a, b) for a, b in planes])
    na = nonaffine_term(H, Xi, d, method=method)
    V = conf.volume
    Gp = (born - na) / V
    return ShearModulusResult(float(Gp.mean()), planes, Gp, born / V, na / V, method)


def shear_modulus(conf: Configuration, pot: PairPotential, method="sparse") -> float:
    """Athermal shear modulus G of an inherent structure, averaged over shear planes (SPEC §4, §6)."""
    return shear_moduli(conf, pot, method=method).G


def omega0(G, density, box):
    """Lowest transverse phonon frequency w_0 = 2 pi sqrt(G / rho) / L (unit masses; SPEC §4).

    Returns nan for G <= 0 (mechanically unstable).
    """
    if not (density > 0 and box > 0):
        raise ValueError(f"density = {density}, box = {box}: both must be > 0")
    if not G > 0:
        return math.nan
    return 2.0 * math.pi * math.sqrt(G / density) / box
