"""Energy, forces, virial pressure, pair stresses and the sparse Hessian of a configuration (SPEC §2-§4).

Everything is a pure function of (configuration, potential): the neighbour pairs within the
potential's largest range r_max are found, each pair is evaluated through the one dispatch of
:mod:`glassvib.potentials.dispatch` (kind code, parameter array, pair coefficient from the two
particles' diameters and species), and the results are summed in numba loops. One
:class:`PairTerms` per configuration feeds the Hessian, the pressure, the shear modulus and the
stresses. The Hessian is assembled directly in CSR form with row (and column) index i*d + alpha.
"""
from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
import scipy.sparse as sp

from .configuration import Configuration
from .neighbours import (cell_coords, cell_grid, cell_list, check_box, neighbour_cell, neighbour_pairs,
                         stencil_offsets)
from .potentials import PairPotential, check_potential
from .potentials.dispatch import pair_coef, pair_derivs, pair_phi_fr

__all__ = ["energy", "forces", "energy_and_forces", "energy_forces_arrays", "pressure", "hessian",
           "hessian_arrays", "hessian_from_terms", "pair_stresses", "pair_terms", "PairTerms"]


def _check(conf, pot):
    if not isinstance(conf, Configuration):
        raise ValueError(f"conf must be a glassvib.Configuration, got {type(conf).__name__}")
    check_potential(pot)
    pot.check_particles(conf.diameters, conf.species)


def _species(species, n):
    return np.zeros(n, np.int64) if species is None else np.ascontiguousarray(species, dtype=np.int64)


@numba.njit(cache=True)
def _energy_forces_kernel(ii, jj, dr, dia, spc, kind, prm, npart):
    d = dr.shape[1]
    f = np.zeros((npart, d))
    e = 0.0
    for p in range(ii.shape[0]):
        i = ii[p]
        j = jj[p]
        r2 = 0.0
        for a in range(d):
            r2 += dr[p, a] * dr[p, a]
        r = np.sqrt(r2)
        phi, dphi, _ = pair_derivs(kind, prm, r, pair_coef(kind, prm, dia[i], dia[j], spc[i], spc[j]))
        e += phi
        c = dphi / r
        for a in range(d):
            fa = c * dr[p, a]
            f[i, a] += fa
            f[j, a] -= fa
    return e, f


@numba.njit(cache=True)
def _cell_energy_forces(pos, dia, spc, box, nc, reach, kind, prm, rc):
    """Energy and forces straight from a cell list (no pair arrays); see neighbours.cell_grid.

    Particles are gathered in cell order first so that the inner loop reads contiguous memory.
    """
    npart, d = pos.shape
    start, order = cell_list(pos, box, nc)
    offs = stencil_offsets(reach, d)
    wrap = np.empty(d, np.int64)
    coord = np.empty(d, np.int64)
    sp = np.empty((npart, d))
    sd = np.empty(npart)
    ss = np.empty(npart, np.int64)
    for k in range(npart):
        sd[k] = dia[order[k]]
        ss[k] = spc[order[k]]
        for a in range(d):
            sp[k, a] = pos[order[k], a]
    f = np.zeros((npart, d))
    dx = np.empty(d)
    sh = np.empty(d)
    rc2 = rc * rc
    e = 0.0
    for c in range(nc ** d):
        if start[c] == start[c + 1]:
            continue
        cell_coords(c, nc, coord)
        for s in range(offs.shape[0]):
            cn = neighbour_cell(coord, offs[s], nc, wrap)
            if cn < c or start[cn] == start[cn + 1]:
                continue
            for a in range(d):
                sh[a] = wrap[a] * box
            for p in range(start[c], start[c + 1]):
                q0 = p + 1 if cn == c else start[cn]
                for q in range(q0, start[cn + 1]):
                    r2 = 0.0
                    for a in range(d):
                        t = sp[q, a] + sh[a] - sp[p, a]
                        dx[a] = t
                        r2 += t * t
                    if r2 < rc2:
                        phi, cf = pair_phi_fr(kind, prm, r2, pair_coef(kind, prm, sd[p], sd[q], ss[p], ss[q]))
                        e += phi
                        for a in range(d):
                            f[p, a] += cf * dx[a]
                            f[q, a] -= cf * dx[a]
    out = np.empty((npart, d))
    for k in range(npart):
        for a in range(d):
            out[order[k], a] = f[k, a]
    return e, out


@numba.njit(cache=True)
def _pair_kernel(ii, jj, dr, dia, spc, kind, prm):
    npair, d = dr.shape
    r = np.empty(npair)
    c = np.empty(npair)
    phi = np.empty(npair)
    dphi = np.empty(npair)
    d2phi = np.empty(npair)
    for p in range(npair):
        r2 = 0.0
        for a in range(d):
            r2 += dr[p, a] * dr[p, a]
        r[p] = np.sqrt(r2)
        c[p] = pair_coef(kind, prm, dia[ii[p]], dia[jj[p]], spc[ii[p]], spc[jj[p]])
        phi[p], dphi[p], d2phi[p] = pair_derivs(kind, prm, r[p], c[p])
    return r, c, phi, dphi, d2phi


def energy_forces_arrays(positions, diameters, box, pot: PairPotential, species=None):
    """Total energy and forces (N, d) from raw arrays (positions wrapped into [0, box))."""
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    diameters = np.ascontiguousarray(diameters, dtype=np.float64)
    species = _species(species, positions.shape[0])
    rc = pot.r_max
    check_box(box, rc)
    nc, reach = cell_grid(box, rc, positions.shape[0], positions.shape[1])
    if nc:
        return _cell_energy_forces(positions, diameters, species, float(box), nc, reach, pot.kind,
                                   pot.kernel_params, rc)
    ii, jj, dr = neighbour_pairs(positions, box, rc)
    return _energy_forces_kernel(ii, jj, dr, diameters, species, pot.kind, pot.kernel_params, positions.shape[0])


def energy_and_forces(conf: Configuration, pot: PairPotential):
    """Total potential energy (SPEC §2, paper Eq. 13) and forces F = -dE/dx, shape (N, d)."""
    _check(conf, pot)
    return energy_forces_arrays(conf.positions, conf.diameters, conf.box, pot, conf.species)


def energy(conf: Configuration, pot: PairPotential) -> float:
    """Total potential energy V = sum over pairs of phi(r_ij)."""
    return float(energy_and_forces(conf, pot)[0])


def forces(conf: Configuration, pot: PairPotential) -> np.ndarray:
    """Forces F = -dV/dx, shape (N, d)."""
    return energy_and_forces(conf, pot)[1]


@dataclass(frozen=True)
class PairTerms:
    """Per-pair quantities for every pair closer than the potential's largest range r_max (P pairs;
    pairs beyond their own cutoff have phi = phi' = phi'' = 0).

    Attributes:
        i, j: (P,) int64 particle indices, i < j.
        r: (P,) distances. unit: (P, d) unit vectors e = (x_j - x_i) / r (minimum image).
        phi, dphi, d2phi: (P,) pair energy and its first two radial derivatives.
        coef: (P,) pair coefficients of the contract (what the stress code needs beside r).
    """

    i: np.ndarray
    j: np.ndarray
    r: np.ndarray
    unit: np.ndarray
    phi: np.ndarray
    dphi: np.ndarray
    d2phi: np.ndarray
    coef: np.ndarray | None = None

    @property
    def psi(self) -> np.ndarray:
        """Pair stress psi = r phi'(r) (paper Eq. 6)."""
        return self.r * self.dphi


def pair_terms(conf: Configuration, pot: PairPotential) -> PairTerms:
    """Distances, unit vectors, pair coefficients and phi, phi', phi'' of every pair within r_max."""
    _check(conf, pot)
    return _pair_terms_arrays(conf.positions, conf.diameters, conf.box, pot, conf.species)


def _pair_terms_arrays(positions, diameters, box, pot: PairPotential, species=None) -> PairTerms:
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    diameters = np.ascontiguousarray(diameters, dtype=np.float64)
    species = _species(species, positions.shape[0])
    ii, jj, dr = neighbour_pairs(positions, box, pot.r_max)
    r, c, phi, dphi, d2phi = _pair_kernel(ii, jj, dr, diameters, species, pot.kind, pot.kernel_params)
    return PairTerms(ii, jj, r, dr / r[:, None], phi, dphi, d2phi, c)


def pair_stresses(conf: Configuration, pot: PairPotential) -> np.ndarray:
    """psi = r phi'(r) for every pair within r_max (SPEC §4; sigma = |psi|; 0 beyond a pair's own
    cutoff). Shape (P,)."""
    return pair_terms(conf, pot).psi


def pressure(conf: Configuration, pot: PairPotential, terms: PairTerms | None = None) -> float:
    """Athermal virial pressure P = -(1 / (d V)) sum over pairs of r phi'(r) (= -dE/dV under affine dilation).

    ``terms``: optional precomputed :func:`pair_terms` of ``conf`` (saves a neighbour search)."""
    t = pair_terms(conf, pot) if terms is None else terms
    return float(-np.sum(t.psi) / (conf.d * conf.volume))


@numba.njit(cache=True)
def _hessian_csr(ii, jj, unit, c1, c2, npart):
    """CSR of H with blocks K_p = c1 e e^T + c2 I per pair; H_ij = -K, H_ii = sum K."""
    npair, d = unit.shape
    deg = np.zeros(npart, np.int64)
    for p in range(npair):
        deg[ii[p]] += 1
        deg[jj[p]] += 1
    # per-particle sorted list of (column particle, pair id or -1 for self)
    lstart = np.zeros(npart + 1, np.int64)
    for i in range(npart):
        lstart[i + 1] = lstart[i] + deg[i] + 1
    lcol = np.empty(lstart[npart], np.int64)
    lpair = np.empty(lstart[npart], np.int64)
    fill = lstart[:-1].copy()
    for i in range(npart):
        lcol[fill[i]] = i
        lpair[fill[i]] = -1
        fill[i] += 1
    for p in range(npair):
        i = ii[p]
        j = jj[p]
        lcol[fill[i]] = j
        lpair[fill[i]] = p
        fill[i] += 1
        lcol[fill[j]] = i
        lpair[fill[j]] = p
        fill[j] += 1
    for i in range(npart):  # insertion sort of each short list by column
        for k in range(lstart[i] + 1, lstart[i + 1]):
            c = lcol[k]
            pp = lpair[k]
            q = k - 1
            while q >= lstart[i] and lcol[q] > c:
                lcol[q + 1] = lcol[q]
                lpair[q + 1] = lpair[q]
                q -= 1
            lcol[q + 1] = c
            lpair[q + 1] = pp
    # diagonal blocks
    diag = np.zeros((npart, d, d))
    for p in range(npair):
        for a in range(d):
            for b in range(d):
                v = c1[p] * (unit[p, a] * unit[p, b])
                if a == b:
                    v += c2[p]
                diag[ii[p], a, b] += v
                diag[jj[p], a, b] += v
    nrow = npart * d
    indptr = np.zeros(nrow + 1, np.int64)
    for i in range(npart):
        w = d * (deg[i] + 1)
        for a in range(d):
            indptr[i * d + a + 1] = indptr[i * d + a] + w
    nnz = indptr[nrow]
    indices = np.empty(nnz, np.int32)
    data = np.empty(nnz)
    for i in range(npart):
        nk = deg[i] + 1
        for a in range(d):
            base = indptr[i * d + a]
            for k in range(nk):
                col = lcol[lstart[i] + k]
                p = lpair[lstart[i] + k]
                for b in range(d):
                    pos = base + k * d + b
                    indices[pos] = col * d + b
                    if p < 0:
                        data[pos] = diag[i, a, b]
                    else:
                        v = c1[p] * (unit[p, a] * unit[p, b])
                        if a == b:
                            v += c2[p]
                        data[pos] = -v
    return indptr, indices, data


def hessian_arrays(positions, diameters, box, pot: PairPotential, delta: float = 0.0, species=None) -> sp.csr_matrix:
    """Sparse Hessian from raw arrays; see :func:`hessian`."""
    positions = np.ascontiguousarray(positions, dtype=np.float64)
    if not (0.0 <= delta <= 1.0):  # before the neighbour search
        raise ValueError(f"delta = {delta!r}, expected a number in [0, 1]")
    return hessian_from_terms(_pair_terms_arrays(positions, diameters, box, pot, species), positions.shape[0], delta)


def hessian_from_terms(terms: PairTerms, n_particles: int, delta: float = 0.0) -> sp.csr_matrix:
    """Sparse Hessian (see :func:`hessian`) from precomputed :class:`PairTerms`, so that one
    neighbour search and one evaluation of phi', phi'' serve the Hessian, pressure, shear modulus
    and stresses of an inherent structure."""
    if not (0.0 <= delta <= 1.0):
        raise ValueError(f"delta = {delta!r}, expected a number in [0, 1]")
    npart, d = int(n_particles), terms.unit.shape[1]
    ii, jj, r = terms.i, terms.j, terms.r
    if ii.size:
        lo, hi = min(int(ii.min()), int(jj.min())), max(int(ii.max()), int(jj.max()))
        if lo < 0 or hi >= npart:
            raise ValueError(f"n_particles = {npart} does not cover the pair indices of terms "
                             f"(0 <= i, j <= {hi} expected below n_particles)")
    unit = np.ascontiguousarray(terms.unit)
    c2 = (1.0 - delta) * terms.dphi / r
    c1 = terms.d2phi - c2
    indptr, indices, data = _hessian_csr(ii, jj, unit, c1, c2, npart)
    if indptr[-1] < np.iinfo(np.int32).max:
        indptr = indptr.astype(np.int32)
    else:  # pragma: no cover - beyond 2^31 stored entries
        indices = indices.astype(np.int64)
    h = sp.csr_matrix((data, indices, indptr), shape=(npart * d, npart * d))
    h.has_sorted_indices = True
    return h


def hessian(conf: Configuration, pot: PairPotential, delta: float = 0.0) -> sp.csr_matrix:
    """Sparse Hessian (unit masses) as CSR, shape (dN, dN), row index i*d + alpha (SPEC §3.4).

    Pair block K^ab = phi'' e^a e^b + (1 - delta) (phi'/r) (delta_ab - e^a e^b); H_ij = -K_ij for
    i != j and H_ii = sum_l K_il. delta = 0 is the true Hessian; delta = 1 removes the internal-stress
    term M' (paper 002 Ch. 5: H(delta) = M'' + (1 - delta) M').

    Args:
        conf: the configuration.
        pot: the pair potential.
        delta: in [0, 1].
    """
    _check(conf, pot)
    return hessian_arrays(conf.positions, conf.diameters, conf.box, pot, delta, conf.species)
