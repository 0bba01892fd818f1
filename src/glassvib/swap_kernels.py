"""Numba kernels of the swap Monte Carlo (see :mod:`glassvib.swap_mc` for the contract).

``_mc_kernel`` runs a block of trials from pre-drawn uniform random numbers (one row per trial:
kind, particle i, particle j, acceptance, direction) on a CSR Verlet list whose entries cache r^2
and phi of each pair, and returns when the block is done or the list must be rebuilt first.
``_build_cache`` builds that list from half pairs. No I/O, no hidden state, no randomness inside.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .potential import M_INF, pair_phi

_REBUILD = 1



def trials_per_row(d: int) -> int:
    """Uniform doubles per trial: kind, particle i, particle j, acceptance, direction (2 per pair of dims)."""
    return 4 + 2 * ((d + 1) // 2)


@numba.njit(cache=True, inline="always")
def _phi_r2(r2, aij, n, half_n, rc, rc2, m_code):
    """phi from r^2; exact integer powers (no sqrt, no pow) for even n and a polynomial taper."""
    if r2 >= rc2:
        return 0.0
    if half_n > 0 and m_code != M_INF:
        x2 = r2 / rc2
        s = aij * aij / rc2
        inv = 1.0 / x2
        w = 1.0 - x2
        sp = 1.0
        ip = 1.0
        for _ in range(half_n):
            sp *= s
            ip *= inv
        t = 1.0
        for _ in range(m_code):
            t *= w
        return sp * (ip - 1.0) * t
    return pair_phi(math.sqrt(r2), aij, n, rc, m_code)


@numba.njit(cache=True, inline="always")
def _min_image_r2(pos, k, x, box, half):
    """Squared minimum-image distance between particle k and the point x (both inside the box)."""
    r2 = 0.0
    for a in range(x.shape[0]):
        dx = pos[k, a] - x[a]
        if dx > half:
            dx -= box
        elif dx < -half:
            dx += box
        r2 += dx * dx
    return r2


@numba.njit(cache=True)
def _mc_kernel(pos, upos, dia, box, start, idx, mirror, pr2, pe, uref, verlet, skin, rand, t0, beta, p_swap,
               step, cube, n, half_n, rc, m_code, counters, en):
    """Run trials ``t0 ... len(rand)-1``; return (next trial, status). status 1: rebuild the list first.

    The list is CSR (``start``, ``idx``); entry q of particle i caches r^2 (``pr2``) and phi
    (``pe``) of the pair (i, idx[q]); ``mirror[q]`` is the entry of the same pair in idx[q]'s list.
    The old energy of a particle is the sum of its cached pair energies, so a displacement costs one
    pass over the neighbours and a swap none over distances.
    counters: int64[4] = (move trials, accepted moves, swap trials, accepted swaps).
    en: float64[3] = (total energy, max |energy| seen since the last resynchronisation,
        max displacement of an accepted position from its list reference since the last rebuild).
    """
    npart, d = pos.shape
    rc2 = rc * rc
    half = 0.5 * box
    maxdeg = 0
    for k in range(npart):
        if start[k + 1] - start[k] > maxdeg:
            maxdeg = start[k + 1] - start[k]
    bufe = np.empty(maxdeg)
    bufe2 = np.empty(maxdeg)
    x = np.empty(d)
    disp = np.empty(d)
    e = en[0]
    emax = en[1]
    dmax = en[2]
    for t in range(t0, rand.shape[0]):
        u = rand[t]
        if u[0] < p_swap:
            i = int(u[1] * npart)
            j = int(u[2] * npart)
            counters[2] += 1
            ai = dia[i]
            aj = dia[j]
            if i == j or ai == aj:
                counters[3] += 1
                continue
            # pair (i, j) keeps a_ij under the exchange; all other pairs of i and j change
            de = 0.0
            s0 = start[i]
            for q in range(s0, start[i + 1]):
                k = idx[q]
                v = 0.0
                if k != j and pr2[q] < rc2:
                    v = _phi_r2(pr2[q], 0.5 * (aj + dia[k]), n, half_n, rc, rc2, m_code)
                    de += v - pe[q]
                elif k != j:
                    de -= pe[q]
                bufe[q - s0] = v
            s1 = start[j]
            for q in range(s1, start[j + 1]):
                k = idx[q]
                v = 0.0
                if k != i and pr2[q] < rc2:
                    v = _phi_r2(pr2[q], 0.5 * (ai + dia[k]), n, half_n, rc, rc2, m_code)
                    de += v - pe[q]
                elif k != i:
                    de -= pe[q]
                bufe2[q - s1] = v
            if de <= 0.0 or u[3] < math.exp(-beta * de):
                dia[i] = aj
                dia[j] = ai
                for q in range(s0, start[i + 1]):
                    if idx[q] != j:
                        pe[q] = bufe[q - s0]
                        pe[mirror[q]] = bufe[q - s0]
                for q in range(s1, start[j + 1]):
                    if idx[q] != i:
                        pe[q] = bufe2[q - s1]
                        pe[mirror[q]] = bufe2[q - s1]
                e += de
                counters[3] += 1
        else:
            i = int(u[1] * npart)
            if cube:
                for a in range(d):
                    disp[a] = step * (2.0 * u[4 + a] - 1.0)
            else:
                norm2 = 0.0
                for p in range((d + 1) // 2):
                    rad = math.sqrt(-2.0 * math.log(1.0 - u[4 + 2 * p]))
                    ang = 2.0 * math.pi * u[5 + 2 * p]
                    disp[2 * p] = rad * math.cos(ang)
                    norm2 += disp[2 * p] ** 2
                    if 2 * p + 1 < d:
                        disp[2 * p + 1] = rad * math.sin(ang)
                        norm2 += disp[2 * p + 1] ** 2
                f = step / math.sqrt(norm2)
                for a in range(d):
                    disp[a] *= f
            snew = 0.0
            if verlet:
                s2 = 0.0
                for a in range(d):
                    dx = upos[i, a] + disp[a] - uref[i, a]
                    s2 += dx * dx
                snew = math.sqrt(s2)
                # |x'_i - x_k| >= (r_c + skin) - |x'_i - ref_i| - max_k |x_k - ref_k| for unlisted k
                if snew + dmax > skin:
                    en[0] = e
                    en[1] = emax
                    en[2] = dmax
                    return t, _REBUILD
            counters[0] += 1
            for a in range(d):
                xa = pos[i, a] + disp[a]
                xa -= box * math.floor(xa / box)
                if xa >= box:
                    xa = 0.0
                x[a] = xa
            ai = dia[i]
            de = 0.0
            s0 = start[i]
            # pr2 is always the current r^2 of every listed pair, and a pair farther than
            # r_c + |disp| stays beyond r_c (phi = 0 before and after): skip it in the energy change
            dl2 = 0.0
            for a in range(d):
                dl2 += disp[a] * disp[a]
            reach = rc + math.sqrt(dl2)
            reach2 = reach * reach
            for q in range(s0, start[i + 1]):
                if pr2[q] >= reach2:
                    continue
                k = idx[q]
                r2 = _min_image_r2(pos, k, x, box, half)
                if r2 < rc2:
                    de += _phi_r2(r2, 0.5 * (ai + dia[k]), n, half_n, rc, rc2, m_code) - pe[q]
                else:
                    de -= pe[q]
            if de <= 0.0 or u[3] < math.exp(-beta * de):
                # accepted (rarely, at low T): refresh r^2 and phi of every listed pair
                for q in range(s0, start[i + 1]):
                    k = idx[q]
                    r2 = _min_image_r2(pos, k, x, box, half)
                    v = 0.0
                    if r2 < rc2:
                        v = _phi_r2(r2, 0.5 * (ai + dia[k]), n, half_n, rc, rc2, m_code)
                    m = mirror[q]
                    pe[q] = v
                    pe[m] = v
                    pr2[q] = r2
                    pr2[m] = r2
                for a in range(d):
                    pos[i, a] = x[a]
                    upos[i, a] += disp[a]
                e += de
                counters[1] += 1
                if snew > dmax:
                    dmax = snew
        ae = abs(e)
        if ae > emax:
            emax = ae
    en[0] = e
    en[1] = emax
    en[2] = dmax
    return rand.shape[0], 0


@numba.njit(cache=True)
def _build_cache(ii, jj, pos, dia, box, npart, n, half_n, rc, m_code):
    """CSR lists (start (N+1,), idx, mirror) from half pairs i < j, with cached r^2 and phi per entry."""
    d = pos.shape[1]
    rc2 = rc * rc
    half = 0.5 * box
    start = np.zeros(npart + 1, np.int64)
    for p in range(ii.shape[0]):
        start[ii[p] + 1] += 1
        start[jj[p] + 1] += 1
    for k in range(npart):
        start[k + 1] += start[k]
    fill = start[:-1].copy()
    nent = start[npart]
    idx = np.empty(nent, np.int64)
    mirror = np.empty(nent, np.int64)
    pr2 = np.empty(nent)
    pe = np.empty(nent)
    for p in range(ii.shape[0]):
        i = ii[p]
        j = jj[p]
        qi = fill[i]
        qj = fill[j]
        fill[i] += 1
        fill[j] += 1
        idx[qi] = j
        idx[qj] = i
        mirror[qi] = qj
        mirror[qj] = qi
        r2 = 0.0
        for a in range(d):
            dx = pos[j, a] - pos[i, a]
            if dx > half:
                dx -= box
            elif dx < -half:
                dx += box
            r2 += dx * dx
        v = 0.0
        if r2 < rc2:
            v = _phi_r2(r2, 0.5 * (dia[i] + dia[j]), n, half_n, rc, rc2, m_code)
        pr2[qi] = r2
        pr2[qj] = r2
        pe[qi] = v
        pe[qj] = v
    return start, idx, mirror, pr2, pe
