"""Numba kernels of the swap Monte Carlo (see :mod:`glassvib.swap_mc` for the contract).

The neighbour list is kept in padded per-particle rows (the tuple ``lists`` below):

* ``nbr[i, :cnt[i]]`` the particles listed with i, ``mirror[i, q]`` the slot of the same pair in
  row ``nbr[i, q]``, and per entry the squared distance ``pr2``, the pair coefficient ``pco`` of
  the potential contract (:mod:`glassvib.potentials.base`: a function of the two particles'
  diameters and species) and the two factors of the pair energy phi = A u: the amplitude
  ``pa`` = A(pco) and the radial factor ``pu`` = u(pr2, pco) (0 beyond the pair's cutoff; models
  that do not separate have A = 1, u = phi). A move changes u in one row (de = A (u_new - u)), a
  swap the coefficients in two rows (de = A_new u_new - A u, where a separable model, the tapered
  IPL, keeps the cached u: no radial evaluation);
* each row is partitioned: its first ``nnear[i]`` entries ("near") hold every listed pair closer
  than r_n = r_c + (largest displacement), the rest are farther. A move of i cannot bring a far
  pair inside r_c, and a pair inside r_c is near, so both scans visit the near part only: their
  cost does not grow with the skin, which only sets how often rows are rebuilt;
* ``uref[i]`` the (unwrapped) reference position of particle i.

Invariant (what makes the energies exact), with r_l = r_c + skin:

1. a pair (i, k) that is not listed has minimum-image |uref_i - uref_k| >= r_l;
2. every particle is within skin / 2 of its reference, |u_i - uref_i| <= skin / 2;
3. a listed pair closer than r_n is in the near part of both rows.

Hence an unlisted pair is at least r_l - skin = r_c apart: phi = 0 (r_c is the potential's
largest range r_max). A displacement whose proposal
would leave the skin / 2 ball first rebuilds the row of that particle alone around its current
position (:func:`_rebuild_row`: an O(N) search against the other particles' *references*, and
only the pairs that enter or leave the list are written), after
which the proposal is within max|displacement| <= skin / 2 of the new reference. A row that would
exceed its capacity stops the kernel (status ``_OVERFLOW``): the caller rebuilds all rows with a
larger capacity and continues at the same trial. The order of the entries depends on the history,
so the arrays are part of the run state. No I/O, no hidden state, no randomness inside: all random
numbers come pre-drawn in ``rand`` (one row per trial: kind, particle i, particle j, acceptance,
direction). The scans evaluate every near pair (f = 0 beyond r_c by selection, not by a branch:
many near pairs are beyond r_c, in no predictable order). Accepted moves (rare at low T) and row
rebuilds re-sort the affected entries between the parts.
"""
from __future__ import annotations

import math

import numba
import numpy as np

from .potentials.dispatch import pair_amp, pair_coef, pair_radial, with_model

_OVERFLOW = 1


def trials_per_row(d: int) -> int:
    """Uniform doubles per trial: kind, particle i, particle j, acceptance, direction (2 per pair of dims)."""
    return 4 + 2 * ((d + 1) // 2)


@numba.njit(cache=True, inline="always")
def _min_image_r2(pos, k, x, box):
    """Squared minimum-image distance between row k of ``pos`` and the point x, both inside [0, box)
    (branch-free)."""
    r2 = 0.0
    for a in range(x.shape[0]):
        dx = abs(pos[k, a] - x[a])
        dx = min(dx, box - dx)
        r2 += dx * dx
    return r2


@numba.njit(cache=True, inline="always")
def _draw_displacement(u, step, cube, disp):
    """Displacement from the uniforms u[4:]: uniform in the cube [-step, step]^d, or length ``step``
    in a uniformly random direction (Box-Muller normals, normalised)."""
    d = disp.shape[0]
    if cube:
        for a in range(d):
            disp[a] = step * (2.0 * u[4 + a] - 1.0)
        return
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


@numba.njit(cache=True, inline="always")
def _set_pair(lists, i, qi, k, qk, r2, c, a, u):
    """Write the pair (i, k) with squared distance r2, coefficient c, amplitude a and radial factor
    u into slot qi of row i and slot qk of row k."""
    nbr, cnt, nnear, mirror, pr2, pco, pa, pu = lists
    nbr[i, qi] = k
    nbr[k, qk] = i
    mirror[i, qi] = qk
    mirror[k, qk] = qi
    pr2[i, qi] = r2
    pr2[k, qk] = r2
    pco[i, qi] = c
    pco[k, qk] = c
    pa[i, qi] = a
    pa[k, qk] = a
    pu[i, qi] = u
    pu[k, qk] = u


@numba.njit(cache=True, inline="always")
def _move_entry(lists, k, src, dst):
    """Copy entry src of row k to slot dst (overwriting it) and point the partner's mirror there."""
    nbr, cnt, nnear, mirror, pr2, pco, pa, pu = lists
    _set_pair(lists, k, dst, nbr[k, src], mirror[k, src], pr2[k, src], pco[k, src], pa[k, src], pu[k, src])


@numba.njit(cache=True, inline="always")
def _swap_entries(lists, k, q1, q2):
    """Exchange entries q1 and q2 of row k (mirrors of both partners follow)."""
    nbr, cnt, nnear, mirror, pr2, pco, pa, pu = lists
    if q1 != q2:
        p, m, r2, c, a, u = nbr[k, q1], mirror[k, q1], pr2[k, q1], pco[k, q1], pa[k, q1], pu[k, q1]
        _move_entry(lists, k, q2, q1)
        _set_pair(lists, k, q2, p, m, r2, c, a, u)


@numba.njit(cache=True, inline="always")
def _set_side(lists, k, q, near):
    """Put entry q of row k in the near (``near``) or the far part of the row; returns its new slot."""
    nnear = lists[2]
    b = nnear[k]
    if near and q >= b:
        _swap_entries(lists, k, q, b)
        nnear[k] = b + 1
        return b
    if not near and q < b:
        _swap_entries(lists, k, q, b - 1)
        nnear[k] = b - 1
        return b - 1
    return q


@numba.njit(cache=True, inline="always")
def _remove_entry(lists, k, m):
    """Delete entry m of row k: the last near entry fills a near hole, the last entry the far one."""
    cnt, nnear = lists[1], lists[2]
    b = nnear[k] - 1
    if m <= b:
        if m != b:
            _move_entry(lists, k, b, m)
        m = b
        nnear[k] = b
    last = cnt[k] - 1
    if m != last:
        _move_entry(lists, k, last, m)
    cnt[k] = last


@numba.njit(cache=True, inline="always")
def _add_pair(lists, i, k, r2, rn2, dia, spc, pot):
    """Append the pair (i, k) at distance^2 r2 to both rows, near if r2 < rn2; False if a row is full."""
    nbr, cnt = lists[0], lists[1]
    kind, prm, rc, sep = pot
    qi = cnt[i]
    qk = cnt[k]
    if qi == nbr.shape[1] or qk == nbr.shape[1]:
        return False
    c = pair_coef(kind, prm, dia[i], dia[k], spc[i], spc[k])
    _set_pair(lists, i, qi, k, qk, r2, c, pair_amp(kind, prm, c), pair_radial(kind, prm, r2, c))
    cnt[i] = qi + 1
    cnt[k] = qk + 1
    if r2 < rn2:
        _set_side(lists, k, qk, True)
        _set_side(lists, i, qi, True)
    return True


@numba.njit(cache=True, inline="always")
def _wrap_ref(uref, i, box, refw):
    """refw[:, i] = reference of i wrapped into [0, box) (the one formula for both places)."""
    for a in range(uref.shape[1]):
        refw[a, i] = uref[i, a] - box * math.floor(uref[i, a] / box)


@numba.njit(cache=True)
def _wrapped_refs(uref, box):
    """(d, N) wrapped references: contiguous per axis, so :func:`_rebuild_row` scans them in SIMD."""
    refw = np.empty((uref.shape[1], uref.shape[0]))
    for i in range(uref.shape[0]):
        _wrap_ref(uref, i, box, refw)
    return refw


@numba.njit(cache=True)
def _rebuild_row(i, pos, upos, uref, refw, r2buf, dia, spc, box, r_list, r_near, lists, pot):
    """Re-reference particle i at its current position and list every k with |uref_i - uref_k| < r_list.

    Only the difference is applied (the reference moved by <= skin / 2, so most pairs stay): pairs
    whose references are now r_list or more apart are removed from both rows, new ones appended to
    both rows (near if closer than ``r_near``) with their current distance, coefficient and energy;
    the entries kept are unchanged (the particles did not move). ``refw`` (wrapped references, see
    :func:`_wrapped_refs`) is kept in step; ``r2buf`` is scratch (N,). Returns False (lists left
    inconsistent: rebuild all) if a row would exceed its capacity.
    """
    nbr, cnt, mirror = lists[0], lists[1], lists[3]
    npart, d = pos.shape
    for a in range(d):
        uref[i, a] = upos[i, a]
    _wrap_ref(uref, i, box, refw)
    # squared reference distances to all particles: a branch-free loop over contiguous axes
    r2buf[:] = 0.0
    for a in range(d):
        ra = refw[a]
        c = ra[i]
        for k in range(npart):
            dx = abs(ra[k] - c)
            dx = min(dx, box - dx)  # as in _min_image_r2
            r2buf[k] += dx * dx
    rl2 = r_list * r_list
    # backwards, so that the entries a removal moves into slot q were visited already
    for q in range(cnt[i] - 1, -1, -1):
        k = nbr[i, q]
        if r2buf[k] >= rl2:
            _remove_entry(lists, k, mirror[i, q])
            _remove_entry(lists, i, q)
        else:
            r2buf[k] = np.inf  # listed already
    rn2 = r_near * r_near
    x = pos[i]
    for k in range(npart):
        if k != i and r2buf[k] < rl2:
            if not _add_pair(lists, i, k, _min_image_r2(pos, k, x, box), rn2, dia, spc, pot):
                return False
    return True


@numba.njit(cache=True)
def _swap_row_delta(coef, amp, radial, lists, i, j, a_new, s_new, dia, spc, pot, bufa, bufu):
    """Energy change of the near pairs of i when i takes the parameters (a_new, s_new) ((i, j)
    keeps its coefficient); new amplitudes -> bufa, new radial factors -> bufu (only for a model that
    does not separate: a separable one keeps its cached radial factors)."""
    nbr, nnear, pr2, pa, pu = lists[0], lists[2], lists[4], lists[6], lists[7]
    kind, prm, rc, sep = pot
    de = 0.0
    if sep:
        for q in range(nnear[i]):
            k = nbr[i, q]
            a = amp(prm, coef(prm, a_new, dia[k], s_new, spc[k]))
            if k == j:
                a = pa[i, q]
            de += (a - pa[i, q]) * pu[i, q]
            bufa[q] = a
        return de
    for q in range(nnear[i]):
        k = nbr[i, q]
        c = coef(prm, a_new, dia[k], s_new, spc[k])
        a = amp(prm, c)
        u = radial(prm, pr2[i, q], c)
        if k == j:
            a = pa[i, q]
            u = pu[i, q]
        de += a * u - pa[i, q] * pu[i, q]
        bufa[q] = a
        bufu[q] = u
    return de


@numba.njit(cache=True)
def _swap_row_commit(coef, amp, radial, lists, i, j, a_new, s_new, dia, spc, pot, bufa, bufu):
    """Store the new coefficients and energy factors of all pairs of i (near: from the buffers;
    far: computed) in both rows (the particles' parameters are already exchanged)."""
    nbr, cnt, nnear, mirror, pr2, pco, pa, pu = lists
    kind, prm, rc, sep = pot
    for q in range(cnt[i]):
        k = nbr[i, q]
        if k != j:
            c = coef(prm, a_new, dia[k], s_new, spc[k])
            if q < nnear[i]:
                a = bufa[q]
                u = pu[i, q] if sep else bufu[q]
            else:
                a = amp(prm, c)
                u = pu[i, q] if sep else radial(prm, pr2[i, q], c)
            m = mirror[i, q]
            pco[i, q] = c
            pco[k, m] = c
            pa[i, q] = a
            pa[k, m] = a
            pu[i, q] = u
            pu[k, m] = u


@numba.njit(cache=True)
def _move_commit(coef, amp, radial, lists, i, x, pos, box, rn2, pot, flag):
    """Particle i moved to x: store the new distance and radial factor of every pair of i in both
    rows and re-sort the entries between near and far (in the partners' rows, then in row i;
    ``flag`` is scratch)."""
    nbr, cnt, nnear, mirror, pr2, pco, pa, pu = lists
    kind, prm, rc, sep = pot
    for q in range(cnt[i]):
        k = nbr[i, q]
        r2 = _min_image_r2(pos, k, x, box)
        u = radial(prm, r2, pco[i, q])
        m = mirror[i, q]
        pr2[i, q] = r2
        pr2[k, m] = r2
        pu[i, q] = u
        pu[k, m] = u
        flag[q] = r2 < rn2
        _set_side(lists, k, m, flag[q])
    b = 0
    for q in range(cnt[i]):
        if flag[q]:
            _swap_entries(lists, i, q, b)
            flag[q] = flag[b]
            b += 1
    nnear[i] = b


@numba.njit(cache=True)
def near_radius(rc, step, cube, d):
    """r_n = r_c + the largest displacement (step, or step sqrt(d) for cube moves)."""
    return rc + step * (math.sqrt(d) if cube else 1.0)


@numba.njit(cache=True)
def _mc_kernel(pos, upos, dia, spc, box, lists, uref, verlet, skin, rand, t0, beta, p_swap, step, cube, pot,
               counters, row_rebuilds, en):
    """See :func:`_mc_body`: the kernel compiled with the model's own functions (dispatch.with_model),
    so that the tight loops of a trial carry no switch on the kind."""
    return with_model(pot[0], _mc_body, (pos, upos, dia, spc, box, lists, uref, verlet, skin, rand, t0, beta, p_swap,
                                         step, cube, pot, counters, row_rebuilds, en))


@numba.njit(cache=True, inline="always")
def _mc_body(coef, amp, radial, args):
    """Run trials ``t0 ... len(rand)-1``; return (next trial, status). status ``_OVERFLOW``: a row
    is full, rebuild all rows (larger capacity) and call again from the returned trial.

    The energy change is a sum over the near entries of (new pair energy - cached pair energy): a
    displacement costs one pass over the near part of its row (new radial factors), a swap one pass
    over the near parts of the rows of i and j (new coefficients at the cached distances). A swap
    exchanges all per-particle parameters (diameter and species) of i and j. With ``verlet`` False
    every row lists all other particles and nothing is ever rebuilt.
    ``lists`` = (nbr, cnt, nnear, mirror, pr2, pco, pa, pu), see the module docstring;
    ``pot`` = (kind, prm, r_max, separable) of the potential contract.
    counters: int64[4] = (move trials, accepted moves, swap trials, accepted swaps);
    row_rebuilds: int64[1], rows rebuilt so far.
    en: float64[3] = (total energy, max |energy| seen since the last resynchronisation, unused).
    """
    (pos, upos, dia, spc, box, lists, uref, verlet, skin, rand, t0, beta, p_swap, step, cube, pot, counters,
     row_rebuilds, en) = args
    nbr, nnear, pco, pa, pu = lists[0], lists[2], lists[5], lists[6], lists[7]
    kind, prm, rc, sep = pot
    npart, d = pos.shape
    r_list = rc + skin
    r_near = near_radius(rc, step, cube, d)
    rn2 = r_near * r_near
    half_skin2 = 0.25 * skin * skin
    cap = nbr.shape[1]
    bufa = np.empty(cap)   # new amplitudes and radial factors of the pairs of i (swap)
    bufu = np.empty(cap)
    bufa2 = np.empty(cap)  # ... of j
    bufu2 = np.empty(cap)
    flag = np.empty(cap, np.bool_)  # scratch of _move_commit
    refw = _wrapped_refs(uref, box)
    r2buf = np.empty(npart)
    x = np.empty(d)
    disp = np.empty(d)
    e = en[0]
    emax = en[1]
    for t in range(t0, rand.shape[0]):
        u = rand[t]
        if u[0] < p_swap:
            i = int(u[1] * npart)
            j = int(u[2] * npart)
            counters[2] += 1
            ai = dia[i]
            aj = dia[j]
            si = spc[i]
            sj = spc[j]
            if i == j or (ai == aj and si == sj):
                counters[3] += 1
                continue
            de = _swap_row_delta(coef, amp, radial, lists, i, j, aj, sj, dia, spc, pot, bufa, bufu)
            de += _swap_row_delta(coef, amp, radial, lists, j, i, ai, si, dia, spc, pot, bufa2, bufu2)
            if de <= 0.0 or u[3] < math.exp(-beta * de):
                dia[i] = aj
                dia[j] = ai
                spc[i] = sj
                spc[j] = si
                _swap_row_commit(coef, amp, radial, lists, i, j, aj, sj, dia, spc, pot, bufa, bufu)
                _swap_row_commit(coef, amp, radial, lists, j, i, ai, si, dia, spc, pot, bufa2, bufu2)
                e += de
                counters[3] += 1
        else:
            i = int(u[1] * npart)
            _draw_displacement(u, step, cube, disp)
            if verlet:
                s2 = 0.0
                for a in range(d):
                    dx = upos[i, a] + disp[a] - uref[i, a]
                    s2 += dx * dx
                if s2 > half_skin2:  # the proposal would leave the skin / 2 ball: new reference
                    if not _rebuild_row(i, pos, upos, uref, refw, r2buf, dia, spc, box, r_list, r_near, lists, pot):
                        en[0] = e
                        en[1] = emax
                        return t, _OVERFLOW
                    row_rebuilds[0] += 1
            counters[0] += 1
            for a in range(d):
                xa = pos[i, a] + disp[a]
                xa -= box * math.floor(xa / box)
                if xa >= box:
                    xa = 0.0
                x[a] = xa
            de = 0.0
            for q in range(nnear[i]):
                de += pa[i, q] * (radial(prm, _min_image_r2(pos, nbr[i, q], x, box), pco[i, q]) - pu[i, q])
            if de <= 0.0 or u[3] < math.exp(-beta * de):
                _move_commit(coef, amp, radial, lists, i, x, pos, box, rn2, pot, flag)
                for a in range(d):
                    pos[i, a] = x[a]
                    upos[i, a] += disp[a]
                e += de
                counters[1] += 1
        ae = abs(e)
        if ae > emax:
            emax = ae
    en[0] = e
    en[1] = emax
    return rand.shape[0], 0


@numba.njit(cache=True)
def _build_rows(ii, jj, pos, dia, spc, box, cap, r_near, pot):
    """Padded partitioned rows (nbr, cnt, nnear, mirror, pr2, pco, pa, pu) of capacity ``cap`` from
    the half pairs (ii < jj)."""
    npart = pos.shape[0]
    nbr = np.full((npart, cap), -1, np.int32)
    mirror = np.full((npart, cap), -1, np.int32)
    pr2 = np.zeros((npart, cap))
    pco = np.zeros((npart, cap))
    pa = np.zeros((npart, cap))
    pu = np.zeros((npart, cap))
    cnt = np.zeros(npart, np.int64)
    nnear = np.zeros(npart, np.int64)
    lists = (nbr, cnt, nnear, mirror, pr2, pco, pa, pu)
    for p in range(ii.shape[0]):
        i = ii[p]
        k = jj[p]
        _add_pair(lists, i, k, _min_image_r2(pos, k, pos[i], box), r_near * r_near, dia, spc, pot)
    return lists
