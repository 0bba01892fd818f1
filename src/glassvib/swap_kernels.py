"""Numba kernels of the swap Monte Carlo (see :mod:`glassvib.swap_mc` for the contract).

The neighbour list is kept in padded per-particle rows (the tuple ``lists`` below):

* ``nbr[i, :cnt[i]]`` the particles listed with i, ``mirror[i, q]`` the slot of the same pair in
  row ``nbr[i, q]``, and per entry the two factors of the pair energy phi = A(a_ij) f(r) (the
  potential factorises, see :mod:`glassvib.potential`): the radial factor ``rad`` = f(r) =
  (x^-n - 1) T_m(x) at the current distance (0 beyond r_c) and the amplitude ``amp`` =
  A(a_ij) = (a_ij / r_c)^n. A move changes only f, a swap only A: each scan needs one factor;
* each row is partitioned: its first ``nnear[i]`` entries ("near") hold every listed pair closer
  than r_n = r_c + (largest displacement), the rest are farther. A move of i cannot bring a far
  pair inside r_c, and a pair inside r_c is near, so both scans visit the near part only: their
  cost does not grow with the skin, which only sets how often rows are rebuilt;
* ``uref[i]`` the (unwrapped) reference position of particle i.

Invariant (what makes the energies exact), with r_l = r_c + skin:

1. a pair (i, k) that is not listed has minimum-image |uref_i - uref_k| >= r_l;
2. every particle is within skin / 2 of its reference, |u_i - uref_i| <= skin / 2;
3. a listed pair closer than r_n is in the near part of both rows.

Hence an unlisted pair is at least r_l - skin = r_c apart: phi = 0. A displacement whose proposal
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

from .potential import M_INF, _power, pair_phi

_OVERFLOW = 1


def trials_per_row(d: int) -> int:
    """Uniform doubles per trial: kind, particle i, particle j, acceptance, direction (2 per pair of dims)."""
    return 4 + 2 * ((d + 1) // 2)


@numba.njit(cache=True, inline="always")
def _radial(r2, pot):
    """f(r) = (x^-n - 1) T_m(x), x = r / r_c, 0 for r >= r_c, from r^2 (``pot`` = (n, n / 2 or 0,
    r_c, m_code)). For even n and a polynomial taper: integer powers, one division, no sqrt and no
    data-dependent branch (computed for any r^2 > 0, then selected)."""
    n, half_n, rc, m_code = pot
    x2 = r2 / (rc * rc)
    if half_n > 0 and m_code != M_INF:
        v = (_power(1.0 / x2, half_n) - 1.0) * _power(1.0 - x2, m_code)
        return v if x2 < 1.0 else 0.0
    if x2 >= 1.0:
        return 0.0
    return pair_phi(math.sqrt(r2), rc, n, rc, m_code)  # the amplitude (r_c / r_c)^n is 1


@numba.njit(cache=True, inline="always")
def _amplitude(ai, ak, pot):
    """A(a_ij) = (a_ij / r_c)^n with a_ij = (a_i + a_k) / 2; phi = A f (see :func:`_radial`)."""
    n, half_n, rc, m_code = pot
    s = 0.5 * (ai + ak) / rc
    if half_n > 0:
        return _power(s * s, half_n)
    return _power(s, n)


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
def _set_pair(lists, i, qi, k, qk, f, a):
    """Write the pair (i, k) with radial factor f and amplitude a into slot qi of row i and slot
    qk of row k."""
    nbr, cnt, nnear, mirror, rad, amp = lists
    nbr[i, qi] = k
    nbr[k, qk] = i
    mirror[i, qi] = qk
    mirror[k, qk] = qi
    rad[i, qi] = f
    rad[k, qk] = f
    amp[i, qi] = a
    amp[k, qk] = a


@numba.njit(cache=True, inline="always")
def _move_entry(lists, k, src, dst):
    """Copy entry src of row k to slot dst (overwriting it) and point the partner's mirror there."""
    nbr, cnt, nnear, mirror, rad, amp = lists
    _set_pair(lists, k, dst, nbr[k, src], mirror[k, src], rad[k, src], amp[k, src])


@numba.njit(cache=True, inline="always")
def _swap_entries(lists, k, q1, q2):
    """Exchange entries q1 and q2 of row k (mirrors of both partners follow)."""
    nbr, cnt, nnear, mirror, rad, amp = lists
    if q1 != q2:
        p, m, f, a = nbr[k, q1], mirror[k, q1], rad[k, q1], amp[k, q1]
        _move_entry(lists, k, q2, q1)
        _set_pair(lists, k, q2, p, m, f, a)


@numba.njit(cache=True, inline="always")
def _set_side(lists, k, q, near):
    """Put entry q of row k in the near (``near``) or the far part of the row; returns its new slot."""
    nbr, cnt, nnear, mirror, rad, amp = lists
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
    nbr, cnt, nnear, mirror, rad, amp = lists
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
def _add_pair(lists, i, k, r2, rn2, dia, pot):
    """Append the pair (i, k) at distance^2 r2 to both rows, near if r2 < rn2; False if a row is full."""
    nbr, cnt, nnear, mirror, rad, amp = lists
    qi = cnt[i]
    qk = cnt[k]
    if qi == nbr.shape[1] or qk == nbr.shape[1]:
        return False
    _set_pair(lists, i, qi, k, qk, _radial(r2, pot), _amplitude(dia[i], dia[k], pot))
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
def _rebuild_row(i, pos, upos, uref, refw, r2buf, dia, box, r_list, r_near, lists, pot):
    """Re-reference particle i at its current position and list every k with |uref_i - uref_k| < r_list.

    Only the difference is applied (the reference moved by <= skin / 2, so most pairs stay): pairs
    whose references are now r_list or more apart are removed from both rows, new ones appended to
    both rows (near if closer than ``r_near``) with their current radial factor and amplitude; the
    entries kept are unchanged (the particles did not move). ``refw`` (wrapped references, see
    :func:`_wrapped_refs`) is kept in step; ``r2buf`` is scratch (N,). Returns False (lists left
    inconsistent: rebuild all) if a row would exceed its capacity.
    """
    nbr, cnt, nnear, mirror, rad, amp = lists
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
            if not _add_pair(lists, i, k, _min_image_r2(pos, k, x, box), rn2, dia, pot):
                return False
    return True


@numba.njit(cache=True, inline="always")
def _swap_row_delta(lists, i, j, a_new, dia, pot, buf):
    """Energy change of the near pairs of i when i takes diameter a_new ((i, j) keeps a_ij); new
    amplitudes -> buf."""
    nbr, cnt, nnear, mirror, rad, amp = lists
    de = 0.0
    for q in range(nnear[i]):
        k = nbr[i, q]
        a = _amplitude(a_new, dia[k], pot)
        if k == j:
            a = amp[i, q]
        de += (a - amp[i, q]) * rad[i, q]
        buf[q] = a
    return de


@numba.njit(cache=True, inline="always")
def _swap_row_commit(lists, i, j, a_new, dia, pot, buf):
    """Store the new amplitudes of all pairs of i (near: from ``buf``; far: computed) in both rows."""
    nbr, cnt, nnear, mirror, rad, amp = lists
    for q in range(cnt[i]):
        k = nbr[i, q]
        if k != j:
            a = buf[q] if q < nnear[i] else _amplitude(a_new, dia[k], pot)
            amp[i, q] = a
            amp[k, mirror[i, q]] = a


@numba.njit(cache=True)
def _move_commit(lists, i, x, pos, box, rn2, pot, flag):
    """Particle i moved to x: store the new radial factor of every pair of i in both rows and re-sort
    the entries between near and far (in the partners' rows, then in row i; ``flag`` is scratch)."""
    nbr, cnt, nnear, mirror, rad, amp = lists
    for q in range(cnt[i]):
        k = nbr[i, q]
        r2 = _min_image_r2(pos, k, x, box)
        f = _radial(r2, pot)
        rad[i, q] = f
        rad[k, mirror[i, q]] = f
        flag[q] = r2 < rn2
        _set_side(lists, k, mirror[i, q], flag[q])
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
def _mc_kernel(pos, upos, dia, box, lists, uref, verlet, skin, rand, t0, beta, p_swap, step, cube, pot,
               counters, row_rebuilds, en):
    """Run trials ``t0 ... len(rand)-1``; return (next trial, status). status ``_OVERFLOW``: a row
    is full, rebuild all rows (larger capacity) and call again from the returned trial.

    The energy change is a sum over the cached factors, amp x (new f - cached f) for a move and
    (new amp - cached amp) x f for a swap, so a displacement costs one pass over the near part of
    its row and a swap one pass over the near parts of the rows of i and j without distances. With
    ``verlet`` False every row lists all other particles and nothing is ever rebuilt.
    ``lists`` = (nbr, cnt, nnear, mirror, rad, amp), see the module docstring.
    counters: int64[4] = (move trials, accepted moves, swap trials, accepted swaps);
    row_rebuilds: int64[1], rows rebuilt so far.
    en: float64[3] = (total energy, max |energy| seen since the last resynchronisation, unused).
    """
    nbr, cnt, nnear, mirror, rad, amp = lists
    npart, d = pos.shape
    r_list = pot[2] + skin
    r_near = near_radius(pot[2], step, cube, d)
    rn2 = r_near * r_near
    half_skin2 = 0.25 * skin * skin
    cap = nbr.shape[1]
    bufa = np.empty(cap)   # new amplitudes of the pairs of i (swap)
    bufa2 = np.empty(cap)  # new amplitudes of the pairs of j (swap)
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
            if i == j or ai == aj:
                counters[3] += 1
                continue
            de = _swap_row_delta(lists, i, j, aj, dia, pot, bufa)
            de += _swap_row_delta(lists, j, i, ai, dia, pot, bufa2)
            if de <= 0.0 or u[3] < math.exp(-beta * de):
                dia[i] = aj
                dia[j] = ai
                _swap_row_commit(lists, i, j, aj, dia, pot, bufa)
                _swap_row_commit(lists, j, i, ai, dia, pot, bufa2)
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
                    if not _rebuild_row(i, pos, upos, uref, refw, r2buf, dia, box, r_list, r_near, lists, pot):
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
                de += amp[i, q] * (_radial(_min_image_r2(pos, nbr[i, q], x, box), pot) - rad[i, q])
            if de <= 0.0 or u[3] < math.exp(-beta * de):
                _move_commit(lists, i, x, pos, box, rn2, pot, flag)
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
def _build_rows(ii, jj, pos, dia, box, cap, r_near, pot):
    """Padded partitioned rows (nbr, cnt, nnear, mirror, rad, amp) of capacity ``cap`` from the half
    pairs (ii < jj)."""
    npart = pos.shape[0]
    nbr = np.full((npart, cap), -1, np.int32)
    mirror = np.full((npart, cap), -1, np.int32)
    rad = np.zeros((npart, cap))
    amp = np.zeros((npart, cap))
    cnt = np.zeros(npart, np.int64)
    nnear = np.zeros(npart, np.int64)
    lists = (nbr, cnt, nnear, mirror, rad, amp)
    for p in range(ii.shape[0]):
        i = ii[p]
        k = jj[p]
        _add_pair(lists, i, k, _min_image_r2(pos, k, pos[i], box), r_near * r_near, dia, pot)
    return lists
