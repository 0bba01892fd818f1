"""Minimization to the inherent structure (SPEC §3 step 3): FIRE (numba) with a Newton-Krylov finish, L-BFGS (scipy).

Contract: :func:`quench` takes a configuration to a local energy minimum with max |force| < ``tol``
(default 1e-10) and returns a scipy-style :class:`QuenchResult`; a run that does not reach ``tol``
has ``success = False`` and is returned, never dropped. Forces come from a Verlet pair list
(r_c + skin) that is rebuilt when any particle has moved more than skin / 2 since the last build.
FIRE (default) converges linearly all the way to ~1e-13 on these glasses; scipy's L-BFGS-B stalls
around 1e-6 to 1e-9, so ``method="lbfgs"`` is finished by Newton steps on the sparse Hessian
(:func:`glassvib.system.hessian`, sparse LU) and, if needed, FIRE.

FIRE follows Bitzek et al., PRL 97, 170201 (2006) with the semi-implicit Euler update of
Guenole et al., Comput. Mater. Sci. 175, 109584 (2020) and a trust cap (at most ``max_move``,
halved whenever a step is undone) on the largest displacement component per step (random starts
have forces ~1e16); with ``downhill=True`` a step
that raises the energy by more than 1e-12 |E| (round-off) is undone and treated like an uphill
power (velocities zeroed, dt halved), so the energy sequence never increases beyond round-off.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numba
import numpy as np
import scipy.optimize
import scipy.sparse.linalg as spla

from .configuration import Configuration
from .neighbours import check_box, neighbour_indices
from .potentials import PairPotential, check_potential
from .potentials.dispatch import coef_pairs, form_constants, kernel_form, pair_phi_fr_form
from .system import _species, hessian_arrays

__all__ = ["QuenchResult", "quench", "fire", "FireParams", "energy_forces_pairs", "PairList"]


# --------------------------------------------------------------------------------------------------
# energy and forces on a Verlet pair list
# --------------------------------------------------------------------------------------------------

@numba.njit(cache=True, inline="always")
def _pair_vector(x, box, i, j, image, p, dr, dims):
    """dr = x_j - x_i - L image[p] (listed pair p's vector); returns |dr|^2. ``dims`` = (0,) * d fixes
    the dimension when numba compiles."""
    r2 = 0.0
    for a in range(len(dims)):
        dx = x[j, a] - x[i, a]
        dx -= box * image[p, a]
        dr[a] = dx
        r2 += dx * dx
    return r2


@numba.njit(cache=True)
def _energy_forces(x, box, ii, jj, image, coef, kind, prm, rc, form, f):
    """Total energy; forces written into f (N, d). x may be unwrapped. ``coef`` holds each listed
    pair's coefficient, ``image`` each pair's periodic image (integer multiples of the box: recorded
    at the list's build, see :class:`PairList`, or found at x by :func:`_pair_images`; both give the
    same energy and forces bit for bit wherever the recorded image is valid). ``form``
    (:func:`glassvib.potentials.dispatch.kernel_form`) fixes the dimension and the potential's closed
    form when numba compiles: one kernel per form, each giving the values of the general one."""
    npart = x.shape[0]
    d = len(form[0])
    rc2 = rc * rc
    cst = form_constants(kind, prm, form)
    for k in range(npart):
        for a in range(d):
            f[k, a] = 0.0
    e = 0.0
    dr = np.empty(d)
    for p in range(ii.shape[0]):
        i = ii[p]
        j = jj[p]
        r2 = _pair_vector(x, box, i, j, image, p, dr, form[0])
        if len(form[1]) > 0 or r2 < rc2:  # a closed form is branchless (phi_fr_closed)
            phi, c = pair_phi_fr_form(kind, prm, r2, coef[p], form, cst)
            e += phi
            for a in range(d):
                fa = c * dr[a]
                f[i, a] += fa
                f[j, a] -= fa
    return e


@numba.njit(cache=True)
def _pair_images(x, box, ii, jj, image):
    """image[p, a] = the integer (as float) that the minimum image subtracts for pair p at x:
    floor((x_j - x_i) / L + 1/2)."""
    inv_box = 1.0 / box
    for p in range(ii.shape[0]):
        for a in range(x.shape[1]):
            image[p, a] = math.floor((x[jj[p], a] - x[ii[p], a]) * inv_box + 0.5)


@numba.njit(cache=True)
def _max_disp2(x, xref):
    m = 0.0
    for k in range(x.shape[0]):
        s = 0.0
        for a in range(x.shape[1]):
            dx = x[k, a] - xref[k, a]
            s += dx * dx
        if s > m:
            m = s
    return m


class PairList:
    """Verlet pair list of radius r_c + skin around reference positions; refreshed on demand.

    In a box smaller than 2 (r_c + skin) the list holds all N (N - 1) / 2 pairs (the minimum image
    is exact for L >= 2 r_c) and never needs a rebuild; images are then found at every evaluation
    (:meth:`images_at`). Otherwise each build also records every pair's periodic image at the
    reference positions, which the force kernel reuses until the next build. The recorded image is
    the minimum image whenever the pair is within r_c: between builds no particle moves more than
    skin / 2, so a listed pair is within r_c + 2 skin of its build-time image, and the other images
    are at least L - (r_c + 2 skin) >= r_c away (L >= 2 (r_c + skin)). Given the particles
    (:meth:`set_particles`), each build also computes the pairs' coefficients (``coef``).
    """

    def __init__(self, x, box, pot: PairPotential, skin: float = 0.3, diameters=None, species=None):
        self.box = float(box)
        self.pot = pot
        self.skin = float(skin)
        self.radius = pot.r_max + self.skin
        self.all_pairs = self.box < 2.0 * self.radius
        self.n_builds = 0
        self.form = kernel_form(pot, np.shape(x)[1])
        self.coef = None
        self._particles = None
        self._buffers = {}
        if diameters is not None:
            self.set_particles(diameters, species, n=len(x))
        self.build(x)

    def set_particles(self, diameters, species=None, n=None):
        """Diameters and species of the particles (fixed until set again): pair coefficients are
        then computed once per build."""
        dia = np.ascontiguousarray(diameters, dtype=np.float64)
        self._particles = (dia, _species(species, len(dia) if n is None else n))
        if self.n_builds:
            self._coefficients()

    def _coefficients(self):
        if self._particles is None:
            self.coef = None
            return
        dia, spc = self._particles
        self.coef = self._buffer("coef", (len(self.ii),))
        coef_pairs(self.pot.kind, self.pot.kernel_params, dia, spc, self.ii, self.jj, self.coef)

    def _buffer(self, name, shape, dtype=np.float64):
        """A view of the list's reusable array ``name`` with this shape (grown when too short): the
        arrays of a build are valid until the next build."""
        buf = self._buffers.get(name)
        if buf is None or buf.shape[0] < shape[0] or buf.shape[1:] != shape[1:]:
            buf = np.empty((shape[0] + shape[0] // 8,) + shape[1:], dtype=dtype)
            self._buffers[name] = buf
        return buf[:shape[0]]

    def sub_buffers(self, used=True):
        """Buffers for a sub-list of this list (:func:`_fire_pairs`): pair indices, images and
        coefficients as long as the list (empty unless ``used``), and one (N, d) array of positions."""
        n, d = (len(self.ii) if used else 0), self.xref.shape[1]
        return (self._buffer("sub_i", (n,), np.int64), self._buffer("sub_j", (n,), np.int64),
                self._buffer("sub_image", (n, d)), self._buffer("sub_coef", (n,)),
                self._buffer("sub_x", self.xref.shape))

    def build(self, x):
        """Rebuild the list around x (the arrays of the previous build are reused, not kept)."""
        if self.all_pairs:
            self.ii, self.jj = (a.astype(np.int64) for a in np.triu_indices(len(x), k=1))
        else:
            xw = np.mod(x, self.box)
            xw[xw >= self.box] = 0.0
            self.ii, self.jj, self._buffers["index"] = neighbour_indices(xw, self.box, self.radius,
                                                                         self._buffers.get("index"))
        self.xref = np.array(x, dtype=np.float64, copy=True)
        self.image = self._buffer("image", (len(self.ii), x.shape[1]))
        _pair_images(self.xref, self.box, self.ii, self.jj, self.image)
        self.n_builds += 1
        self._coefficients()

    @property
    def finds_images(self):
        """True when the images must be found at every evaluation (an all-pairs list)."""
        return self.all_pairs

    def update(self, x):
        """Rebuild if some particle moved more than skin / 2 since the last build (an all-pairs list:
        find the images at x)."""
        if not self.all_pairs and _max_disp2(x, self.xref) > 0.25 * self.skin * self.skin:
            self.build(x)
        if self.finds_images:
            self.images_at(x)

    def images_at(self, x):
        """Set ``image`` to the pairs' minimum images at x (what an all-pairs list needs at every
        evaluation; the recorded images are these wherever a pair is within r_c)."""
        _pair_images(x, self.box, self.ii, self.jj, self.image)

    def serves(self, diameters, species):
        """True when the list's coefficients belong to these particles."""
        if self.coef is None:
            return False
        dia, spc = self._particles
        return (dia is diameters or np.array_equal(dia, diameters)) and (
            spc is species or np.array_equal(spc, species))


def energy_forces_pairs(x, diameters, pairs: PairList, species=None):
    """(E, F (N, d)) at positions x (possibly unwrapped) using (and refreshing) a :class:`PairList`."""
    x = np.ascontiguousarray(x, dtype=np.float64)
    pairs.update(x)
    dia = np.ascontiguousarray(diameters, dtype=np.float64)
    spc = _species(species, x.shape[0])
    if not pairs.serves(dia, spc):
        pairs.set_particles(dia, spc)
    f = np.empty_like(x)
    pot = pairs.pot
    e = _energy_forces(x, pairs.box, pairs.ii, pairs.jj, pairs.image, pairs.coef, pot.kind, pot.kernel_params,
                       pot.r_max, pairs.form, f)
    return e, f


# --------------------------------------------------------------------------------------------------
# FIRE
# --------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FireParams:
    """FIRE parameters (Bitzek 2006 defaults; dt in units of sqrt(m a^2 / epsilon))."""

    dt: float = 0.005
    dt_max: float = 0.05
    dt_min: float = 1e-6
    n_min: int = 5
    f_inc: float = 1.1
    f_dec: float = 0.5
    alpha0: float = 0.1
    f_alpha: float = 0.99
    max_move: float = 0.1
    downhill: bool = True

    def array(self):
        return np.array([self.dt, self.dt_max, self.dt_min, self.n_min, self.f_inc, self.f_dec, self.alpha0,
                         self.f_alpha, self.max_move, 1.0 if self.downhill else 0.0])


@numba.njit(cache=True)
def _fire_step(x, v, f, e, x_old, e_old, st, prm):
    """One FIRE update given the energy e and forces f at x (all arrays modified in place).

    st = [dt, alpha, n_positive, e_old_valid, trust]; prm = FireParams.array(). ``trust`` caps the
    largest displacement component of a step (<= max_move); it is halved whenever a step is undone
    and grows by f_inc per accepted step. Returns True when the step was undone (energy rose with
    ``downhill``): the caller must re-evaluate forces at x.
    """
    _, power, fn2 = _force_scan(f, v)
    none = np.empty((0, 1))
    return _fire_move(x, v, f, e, x_old, e_old, st, prm, power, fn2, none, none)[0]


@numba.njit(cache=True)
def _force_scan(f, v):
    """(max |f| (NaN if some f is NaN), f . v, f . f) in one pass, each sum in index order."""
    ff = f.reshape(f.size)
    vf = v.reshape(v.size)
    fmax = 0.0
    power = 0.0
    fn2 = 0.0
    nan = False
    for k in range(ff.size):
        fk = ff[k]
        if fk != fk:
            nan = True
        a = abs(fk)
        if a > fmax:
            fmax = a
        power += fk * vf[k]
        fn2 += fk * fk
    return (math.nan if nan else fmax), power, fn2


@numba.njit(cache=True)
def _fire_move(x, v, f, e, x_old, e_old, st, prm, power, fn2, xref, xsub):
    """:func:`_fire_step` given power = f . v and fn2 = f . f (:func:`_force_scan`). Returns (undone,
    the largest squared displacement of a particle from xref (N, d) after the step, the same from
    xsub (N, d)); the displacements are 0 where xref has no rows, as for :func:`fire`, whose x may
    have any shape."""
    xf = x.reshape(x.size)
    vf = v.reshape(v.size)
    ff = f.reshape(f.size)
    xo = x_old.reshape(x_old.size)
    dt, alpha, npos = st[0], st[1], st[2]
    dt_max, dt_min, n_min, f_inc, f_dec, alpha0, f_alpha, max_move, downhill = (
        prm[1], prm[2], prm[3], prm[4], prm[5], prm[6], prm[7], prm[8], prm[9])
    if downhill > 0.0 and st[3] > 0.0 and e > e_old[0] + 1e-12 * abs(e_old[0]):
        # undo the last step: back to the lower energy, stop, shrink dt
        for k in range(xf.size):
            xf[k] = xo[k]
            vf[k] = 0.0
        st[0] = max(dt * f_dec, dt_min)
        st[1] = alpha0
        st[2] = 0.0
        st[3] = 0.0
        st[4] *= 0.5
        if xref.shape[0] == 0:
            return True, 0.0, 0.0
        return True, _max_disp2(xf.reshape(xref.shape), xref), _max_disp2(xf.reshape(xsub.shape), xsub)
    if power > 0.0:
        npos += 1.0
        if npos > n_min:
            dt = min(dt * f_inc, dt_max)
            alpha *= f_alpha
    else:
        npos = 0.0
        dt = max(dt * f_dec, dt_min)
        alpha = alpha0
        for k in range(vf.size):
            vf[k] = 0.0
    # semi-implicit Euler with velocity mixing
    vn2 = 0.0
    for k in range(vf.size):
        vf[k] += dt * ff[k]
        vn2 += vf[k] * vf[k]
    mix = alpha * math.sqrt(vn2 / fn2) if fn2 > 0.0 else 0.0
    vmax = 0.0
    for k in range(vf.size):
        vf[k] = (1.0 - alpha) * vf[k] + mix * ff[k]
        if abs(vf[k]) > vmax:
            vmax = abs(vf[k])
    trust = min(st[4] * f_inc, max_move)
    scale = 1.0
    if vmax * dt > trust:
        scale = trust / (vmax * dt)
    e_old[0] = e
    step = scale * dt
    disp2 = 0.0
    sub2 = 0.0
    track = xref.shape[0] > 0
    d = xref.shape[1] if track else 1
    for i in range(xf.size // d):
        s2 = 0.0
        t2 = 0.0
        for a in range(d):
            k = i * d + a
            xo[k] = xf[k]
            xf[k] += step * vf[k]
            if track:
                dx = xf[k] - xref[i, a]
                s2 += dx * dx
                dx = xf[k] - xsub[i, a]
                t2 += dx * dx
        if s2 > disp2:
            disp2 = s2
        if t2 > sub2:
            sub2 = t2
    st[0], st[1], st[2], st[3], st[4] = dt, alpha, npos, 1.0, trust
    return False, disp2, sub2


@numba.njit(cache=True)
def _sub_list(x, box, ii, jj, image, coef, radius, si, sj, simage, scoef, dims):
    """Copy into (si, sj, simage, scoef), in list order, the listed pairs closer than ``radius`` at x;
    returns their number. ``dims`` = (0,) * d."""
    d = len(dims)
    r2max = radius * radius
    dr = np.empty(d)
    n = 0
    for p in range(ii.shape[0]):
        i = ii[p]
        j = jj[p]
        r2 = _pair_vector(x, box, i, j, image, p, dr, dims)
        # branchless: write every pair at n, keep it by advancing n (a branch here is mispredicted)
        si[n] = i
        sj[n] = j
        for a in range(d):
            simage[n, a] = image[p, a]
        scoef[n] = coef[p]
        n += 1 if r2 < r2max else 0
    return n


@numba.njit(cache=True)
def _fire_pairs(x, v, x_old, e_old, st, prm, box, ii, jj, image, coef, xref, half_skin2, find_images, kind, pot_prm,
                rc, form, tol, max_iter, it0, f, sub, sub_skin):
    """FIRE on the pair potential until max|F| < tol, max_iter, or a list rebuild is needed
    (``image``, ``coef``, ``form``: those of the :class:`PairList`, see :func:`_energy_forces`; with
    ``find_images`` the images are found at every evaluation, as an all-pairs list needs).

    Forces come from a sub-list (``sub`` = buffers (i, j, image, coef, x at the filter) at least as
    long as the list): the listed pairs closer than r_c + ``sub_skin`` (plus 1e-9 L for round-off),
    refiltered whenever a particle has moved more than sub_skin / 2 since the last filter, so that
    every pair left out stays beyond r_c. It keeps the list's order, and a pair beyond r_c adds
    nothing to the sums, so the energy and forces are those of the whole list bit for bit, from
    fewer pairs (a list with skin 0.3 holds 24 pairs per particle at d = 3, its sub-list with 0.1
    about 18). No sub-list where sub_skin <= 0 or the images are found at every evaluation.

    Returns (iterations done so far, status, energy): status 0 converged, 1 rebuild, 2 max_iter,
    3 non-finite energy.
    f holds the forces at x on return.
    """
    si, sj, simage, scoef, xsub = sub
    filtering = sub_skin > 0.0 and not find_images
    half_sub2 = 0.25 * sub_skin * sub_skin
    radius = rc + sub_skin + 1e-9 * box
    n_sub = 0
    if filtering:
        n_sub = _sub_list(x, box, ii, jj, image, coef, radius, si, sj, simage, scoef, form[0])
        xsub[:, :] = x
    else:
        xsub[:, :] = np.inf  # its displacements are never used
    it = it0
    while True:
        if find_images:
            _pair_images(x, box, ii, jj, image)
        if filtering:
            e = _energy_forces(x, box, si[:n_sub], sj[:n_sub], simage[:n_sub], scoef[:n_sub], kind, pot_prm, rc, form,
                               f)
        else:
            e = _energy_forces(x, box, ii, jj, image, coef, kind, pot_prm, rc, form, f)
        if not math.isfinite(e):
            return it, 3, e
        fmax, power, fn2 = _force_scan(f, v)
        if fmax < tol:
            return it, 0, e
        if it >= max_iter:
            return it, 2, e
        _, disp2, sub2 = _fire_move(x, v, f, e, x_old, e_old, st, prm, power, fn2, xref, xsub)
        it += 1
        if disp2 > half_skin2:
            return it, 1, e
        if filtering and sub2 > half_sub2:
            n_sub = _sub_list(x, box, ii, jj, image, coef, radius, si, sj, simage, scoef, form[0])
            xsub[:, :] = x


def fire(fun, x0, tol=1e-10, max_iter=100_000, params: FireParams = FireParams(), callback=None):
    """Generic FIRE minimizer driven by ``fun(x) -> (energy, gradient)`` (same numba update as :func:`quench`).

    Returns:
        ``scipy.optimize.OptimizeResult`` with x, fun, nit, success, message, max_force,
        ``energies`` (energy of every iterate, in order; trial points undone by the downhill check
        are not iterates) and ``n_undone``.
    """
    x = np.array(x0, dtype=np.float64, copy=True)
    v = np.zeros_like(x)
    x_old = x.copy()
    e_old = np.zeros(1)
    st = np.array([params.dt, params.alpha0, 0.0, 0.0, params.max_move])
    prm = params.array()
    energies = []
    it = 0
    n_undone = 0
    undone = False
    while True:
        e, g = fun(x)
        f = -np.asarray(g, dtype=np.float64).reshape(x.shape)
        if undone:  # back at the previous iterate: its energy must be the one recorded
            n_undone += 1
        else:
            energies.append(float(e))
        if callback is not None:
            callback(x, e)
        fmax = float(np.max(np.abs(f)))
        if fmax < tol or it >= max_iter:
            break
        undone = _fire_step(x, v, f, float(e), x_old, e_old, st, prm)
        if undone:
            energies.pop()  # the rejected trial point is not an iterate
        it += 1
    return scipy.optimize.OptimizeResult(x=x, fun=float(e), nit=it, success=fmax < tol, max_force=fmax,
                                         message="converged" if fmax < tol else "max_iter reached",
                                         energies=np.array(energies), n_undone=n_undone)


# --------------------------------------------------------------------------------------------------
# quench
# --------------------------------------------------------------------------------------------------

@dataclass
class QuenchResult:
    """Outcome of :func:`quench` (scipy style).

    Attributes:
        configuration: the inherent structure (positions wrapped).
        success: max_force < tol.  message: what happened.
        n_iter: first-order iterations (FIRE steps or L-BFGS iterations). n_newton: Newton steps.
        n_eval: force evaluations. energy: final total energy. max_force: final max |F_i^alpha|.
        method: the method used. wall_time: seconds.
    """

    configuration: Configuration
    success: bool
    message: str
    n_iter: int
    n_newton: int
    n_eval: int
    energy: float
    max_force: float
    method: str
    wall_time: float


#: FIRE's forces come from the pairs of the Verlet list within r_c + SUB_SKIN, refiltered whenever a
#: particle has moved SUB_SKIN / 2 (:func:`_fire_pairs`): the same forces bit for bit from fewer
#: pairs, for lists of at most SUB_LIST_MAX_PAIRS pairs. Measured (one thread, same runs): quench
#: d = 3, N = 4000 1.09x, N = 32768 1.12x, d = 4, N = 3000 1.15x faster; at N = 131072 (3.2 million
#: pairs, 150 MB of list) the filter streams the list from memory (25 ms, every ~5 steps) and saves
#: 3 ms per step: slower, so no sub-list there.
SUB_SKIN = 0.1
SUB_LIST_MAX_PAIRS = 2_000_000


def _fire_quench(x, dia, spc, box, pot, tol, max_iter, skin, params):
    pairs = PairList(x, box, pot, skin, diameters=dia, species=spc)
    v = np.zeros_like(x)
    x_old = x.copy()
    e_old = np.zeros(1)
    st = np.array([params.dt, params.alpha0, 0.0, 0.0, params.max_move])
    prm = params.array()
    f = np.empty_like(x)
    it = 0
    half_skin2 = math.inf if pairs.all_pairs else 0.25 * pairs.skin ** 2
    while True:
        sub = len(pairs.ii) <= SUB_LIST_MAX_PAIRS
        it, status, e = _fire_pairs(x, v, x_old, e_old, st, prm, box, pairs.ii, pairs.jj, pairs.image, pairs.coef,
                                    pairs.xref, half_skin2, pairs.finds_images, pot.kind, pot.kernel_params, pot.r_max,
                                    pairs.form, tol, max_iter, it, f, pairs.sub_buffers(sub),
                                    SUB_SKIN if sub else 0.0)
        if status != 1:
            break
        pairs.build(x)
    return x, e, f, it, it + pairs.n_builds, status == 0


def _lbfgs_quench(x, dia, spc, box, pot, tol, max_iter, skin):
    pairs = PairList(x, box, pot, skin, diameters=dia, species=spc)
    shape = x.shape
    neval = [0]

    def fun(z):
        neval[0] += 1
        e, f = energy_forces_pairs(z.reshape(shape), dia, pairs, spc)
        return e, -f.ravel()

    res = scipy.optimize.minimize(fun, x.ravel(), jac=True, method="L-BFGS-B",
                                  options={"maxiter": max_iter, "maxfun": 2 * max_iter, "gtol": tol,
                                           "ftol": 0.0, "maxcor": 20})
    x = res.x.reshape(shape)
    e, f = energy_forces_pairs(x, dia, pairs, spc)
    return x, e, f, int(res.nit), neval[0] + 1, bool(np.max(np.abs(f)) < tol)


def _line_search(x, step, e, f, fmax, dia, pairs, spc):
    """The first of x + step, x + step/2, /4, /8 that lowers max|F| without raising the energy beyond
    round-off: (True, (x, e, f, max|F|)) there, else (False, the inputs)."""
    for lam in (1.0, 0.5, 0.25, 0.125):
        xn = x + lam * step
        en, fn = energy_forces_pairs(xn, dia, pairs, spc)
        fmn = float(np.max(np.abs(fn)))
        if fmn < fmax and en <= e + 1e-12 * abs(e) + 1e-300:
            return True, (xn, en, fn, fmn)
    return False, (x, e, f, fmax)


def _newton_polish(x, dia, box, pot, tol, max_steps, skin, spc=None):
    """Newton steps dx = H^+ F on the sparse Hessian (particle 0 pinned to remove translations)."""
    pairs = PairList(x, box, pot, skin, diameters=dia, species=spc)
    e, f = energy_forces_pairs(x, dia, pairs, spc)
    fmax = float(np.max(np.abs(f)))
    npart, d = x.shape
    steps = 0
    while fmax >= tol and steps < max_steps:
        xw = np.mod(x, box)
        h = hessian_arrays(xw, dia, box, pot, species=spc)
        hr = h[d:, d:].tocsc()
        rhs = f.ravel()[d:]
        try:
            dx = spla.splu(hr, permc_spec="MMD_AT_PLUS_A").solve(rhs)
            if not np.all(np.isfinite(dx)):
                raise RuntimeError("singular")
        except Exception:  # singular reduced Hessian (rattlers): minimum-residual solution
            dx = spla.minres(h, f.ravel(), rtol=1e-14, maxiter=20 * npart * d)[0][d:]
        step = np.concatenate([np.zeros(d), dx]).reshape(npart, d)
        accepted, (x, e, f, fmax) = _line_search(x, step, e, f, fmax, dia, pairs, spc)
        steps += 1
        if not accepted:
            break
    return x, e, f, steps


# --------------------------------------------------------------------------------------------------
# Newton-Krylov finish
# --------------------------------------------------------------------------------------------------

#: quench(method="newton" / "auto"): FIRE hands over to Newton steps once max|F| < NEWTON_SWITCH_FORCE
NEWTON_SWITCH_FORCE = 1e-3
#: Newton steps solve H dx = F by a sparse Cholesky factor of the pinned Hessian (PARDISO) up to
#: this many rows, by conjugate gradients preconditioned with a multigrid V-cycle above
NEWTON_DIRECT_MAX_DOF = 12_000
#: CG step cap per Newton step, and the rounds of (Newton, then more FIRE) before FIRE finishes alone
NEWTON_CG_MAX_ITER = 400
NEWTON_ROUNDS = 3


#: quench(method="auto") relabels the particles in cell order from this many particles on (and
#: back at the end): the pair list then reads positions and writes forces nearly in memory order.
#: Measured (d = 3, N = 64000, one core): 1.6x faster force evaluations than with random labels;
#: below ~16000 particles the positions fit in the CPU's cache and the order hardly matters.
LOCALITY_MIN_PARTICLES = 16_384


def spatial_order(x, box, cell):
    """Permutation of the particles that lists them cell by cell (cells of side >= ``cell``, flat
    index sum_a k_a nc^a) and by the first coordinate within a cell: a function of the positions
    alone, so a relabelled start gives the same order of particles (and the same run)."""
    xw = np.mod(np.asarray(x, dtype=np.float64), box)
    xw[xw >= box] = 0.0
    nc = max(1, int(math.floor(box / cell)))
    k = np.minimum((xw * (nc / box)).astype(np.int64), nc - 1)
    flat = (k * nc ** np.arange(xw.shape[1])).sum(axis=1)
    return np.lexsort((xw[:, 0], flat))


#: quench(method="auto") takes the Newton finish up to this many degrees of freedom (where PARDISO loads)
AUTO_NEWTON_MAX_DOF = 2_000


def _newton_pays(n_dof):
    """quench(method="auto"): the Newton finish where its linear solves cost less than the FIRE
    tail they replace (at most AUTO_NEWTON_MAX_DOF rows, PARDISO); plain FIRE elsewhere. Measured
    (one thread, the two routes alternately from the same start, after the FIRE steps of issue 14
    became 2x cheaper): d = 2, N = 1000 Newton 0.16 s, FIRE 0.19 s; d = 3, N = 300 and 500 equal;
    d = 3, N = 1000 Newton 0.85 s, FIRE 0.69 s; d = 4, N = 1200 6.6 s vs 5.7 s; at N = 8000 the
    factorizations cost more than the tail, and multigrid CG (about 50 CG steps per Newton step)
    more still."""
    from . import pardiso

    return n_dof <= AUTO_NEWTON_MAX_DOF and pardiso.available()


class _Indefinite(Exception):
    """The Hessian has a direction of negative curvature (not yet in the basin's convex part)."""


class _NewtonSolver:
    """Solves H dx = g for Newton steps on successive Hessians of one quench.

    Direct (PARDISO Cholesky of H with particle 0 pinned, which removes the translations) for
    dN <= NEWTON_DIRECT_MAX_DOF where MKL loads, the factor reused for later steps (chord steps,
    each a pair of triangular solves) until a step contracts max|F| by less than 4x; otherwise
    flexible conjugate gradients on the
    complement of the d translations, preconditioned by a smoothed-aggregation V-cycle of
    H + 1e-6 max|H_ii| I (:class:`glassvib.multigrid.AMGPreconditioner`), built on the first
    Hessian and kept while it works (the configuration moves little during the Newton steps).
    Raises :class:`_Indefinite` on negative curvature (a failed Cholesky, or p^T H p <= 0 in CG).
    """

    def __init__(self, npart, d):
        from . import multigrid, pardiso
        from .modes import translation_vectors

        self.d = d
        self.n = npart * d
        self.direct = self.n <= NEWTON_DIRECT_MAX_DOF and pardiso.available()
        self.iterative = not self.direct and multigrid.available()
        self.precond = None
        self.factor = None
        self.n_cg = 0
        self.n_factor = 0
        self.factor_age = 0
        self.T = translation_vectors(npart, d) if not self.direct else None

    def needs_hessian(self):
        """False while the direct solver reuses its factor (chord steps: no new Hessian needed)."""
        return not (self.direct and self.factor is not None)

    def refresh(self):
        """Drop a reused factor: the next solve factors the Hessian at the current point. Returns
        False when there was nothing to drop (the last step already used a fresh factor)."""
        stale = self.factor is not None and self.factor_age > 0
        self.factor = None
        return stale

    def solve(self, H, g, rtol):
        from . import multigrid, pardiso

        d = self.d
        if self.direct:
            if self.factor is None:
                try:
                    self.factor = pardiso.Factor(H[d:, d:])
                except pardiso.NotPositiveDefinite as exc:
                    raise _Indefinite from exc
                self.n_factor += 1
                self.factor_age = 0
            else:
                self.factor_age += 1
            return np.concatenate([np.zeros(d), self.factor(g[d:])])
        if not self.iterative:  # no MKL and no pyamg: sparse LU of the pinned Hessian
            dx = spla.splu(H[d:, d:].tocsc(), permc_spec="MMD_AT_PLUS_A").solve(g[d:])
            return np.concatenate([np.zeros(d), dx])
        T = self.T
        scale = float(np.max(np.abs(H.diagonal()))) or 1.0
        if self.precond is None:
            try:
                self.precond = multigrid.AMGPreconditioner(H, d, 1e-6 * scale)
            except multigrid.NotPositiveDefinite as exc:
                raise _Indefinite from exc
        M = self.precond
        b = g - T @ (T.T @ g)
        bnorm = float(np.linalg.norm(b))
        x = np.zeros_like(b)
        if bnorm == 0.0:
            return x
        r = b.copy()
        z = M(r)
        z -= T @ (T.T @ z)
        p = z.copy()
        rz = float(r @ z)
        target = rtol * bnorm
        for it in range(1, NEWTON_CG_MAX_ITER + 1):
            Hp = H @ p
            pHp = float(p @ Hp)
            if not pHp > 0.0:
                raise _Indefinite
            alpha = rz / pHp
            x += alpha * p
            r -= alpha * Hp
            self.n_cg += 1
            if np.linalg.norm(r) <= target:
                return x
            z_new = M(r)
            z_new -= T @ (T.T @ z_new)
            rz_new = float(r @ z_new)
            beta = (rz_new - float(r @ z)) / rz  # flexible (Polak-Ribiere): the V-cycle runs in float32
            z = z_new
            p = z + max(beta, 0.0) * p
            rz = rz_new
        self.precond = None  # the preconditioner went stale: rebuild it for the next step
        return x


def _newton_stage(x, dia, spc, box, pot, tol, skin, max_steps, solver):
    """Newton steps from x until max|F| < tol; each step solves H dx = F (inexact, to a relative
    residual min(1e-2, max|F|)) and is accepted at the first of the lengths 1, 1/2, 1/4, 1/8 that
    lowers max|F| without raising the energy beyond round-off.

    Returns (x, e, f, steps, status) with status "converged", "indefinite" (negative curvature:
    the caller runs more FIRE), "stalled" (no step length accepted) or "max_steps".
    """
    pairs = PairList(x, box, pot, skin, diameters=dia, species=spc)
    e, f = energy_forces_pairs(x, dia, pairs, spc)
    fmax = float(np.max(np.abs(f)))
    steps = 0
    while fmax >= tol:
        if steps >= max_steps:
            return x, e, f, steps, "max_steps"
        H = hessian_arrays(np.mod(x, box), dia, box, pot, species=spc) if solver.needs_hessian() else None
        g = f.ravel()
        rtol = min(1e-2, fmax)
        try:
            step = solver.solve(H, g, rtol).reshape(x.shape)
        except _Indefinite:
            return x, e, f, steps, "indefinite"
        steps += 1
        before = fmax
        accepted = bool(np.all(np.isfinite(step)))
        if accepted:
            accepted, (x, e, f, fmax) = _line_search(x, step, e, f, fmax, dia, pairs, spc)
        if not accepted:
            if solver.refresh():  # a reused factor: try again with the Hessian here
                continue
            return x, e, f, steps, "stalled"
        if fmax > 0.25 * before:
            solver.refresh()
    return x, e, f, steps, "converged"


def _newton_quench(x, dia, spc, box, pot, tol, max_iter, skin, params, max_newton):
    """FIRE to NEWTON_SWITCH_FORCE, then Newton stages alternating with FIRE (see :func:`quench`).
    Returns (x, e, f, n_iter, n_eval, n_newton, stages)."""
    switch = max(tol, NEWTON_SWITCH_FORCE)
    x, e, f, n_iter, n_eval, _ = _fire_quench(x, dia, spc, box, pot, switch, max_iter, skin, params)
    stages = ["fire"]
    fmax = float(np.max(np.abs(f)))
    n_newton = 0
    solver = None
    for rnd in range(NEWTON_ROUNDS + 1):
        if not (math.isfinite(e + fmax) and fmax >= tol) or n_iter >= max_iter:
            break
        if rnd < NEWTON_ROUNDS:
            solver = solver or _NewtonSolver(x.shape[0], x.shape[1])
            x, e, f, k, status = _newton_stage(x, dia, spc, box, pot, tol, skin, 3 * max(max_newton, 1), solver)
            n_newton += k
            n_eval += k + 1
            stages.append("newton")
            fmax = float(np.max(np.abs(f)))
            if fmax < tol or not math.isfinite(e + fmax):
                break
        # negative curvature or no progress: relax further with FIRE, then try Newton again
        switch = max(tol, 1e-2 * min(switch, fmax)) if rnd < NEWTON_ROUNDS - 1 else tol
        x, e, f, it, ne, _ = _fire_quench(x, dia, spc, box, pot, switch, max_iter - n_iter, skin, params)
        n_iter += it
        n_eval += ne
        stages.append("fire")
        fmax = float(np.max(np.abs(f)))
    return x, e, f, n_iter, n_eval, n_newton, stages


#: the methods of :func:`quench`
METHODS = ("auto", "newton", "fire", "lbfgs")


def quench(conf: Configuration, pot: PairPotential, tol: float = 1e-10, method: str = "auto", *,
           max_iter: int = 200_000, max_newton: int = 8, skin: float = 0.3,
           fire_params: FireParams = FireParams()) -> QuenchResult:
    """Minimize the energy to the inherent structure, max |F| < tol (SPEC §3 step 3).

    ``method="auto"`` (default): "newton" up to AUTO_NEWTON_MAX_DOF degrees of freedom where
    PARDISO (MKL) loads, "fire" above; from LOCALITY_MIN_PARTICLES particles on, the particles are
    relabelled in cell order for the run (:func:`spatial_order`) and the minimum is returned in the
    caller's labels (the different summation order changes round-off, so a long descent may end in
    another minimum than ``method="fire"`` from the same start; the ensemble is the same). ``method="newton"``: FIRE until max|F| < NEWTON_SWITCH_FORCE
    (1e-3), then Newton steps dx = H^-1 F on the sparse Hessian with a line search (a PARDISO
    Cholesky factor of the pinned Hessian up to NEWTON_DIRECT_MAX_DOF rows, conjugate gradients
    preconditioned by a multigrid V-cycle above): the linear tail of FIRE, whose length grows with
    N (the softest phonon sets its rate), becomes a few Newton steps (a factor reused for chord
    steps while they contract max|F| by 4x or more). Where a
    step finds negative curvature or cannot lower max|F|, FIRE runs on to a 100x smaller force and
    Newton is tried again (NEWTON_ROUNDS times), then FIRE finishes alone; the criterion
    max|F| < tol is the same for every method.
    ``method="fire"``: numba FIRE straight to ``tol`` (it keeps converging linearly down
    to round-off, ~1e-13 here); Newton steps on the sparse Hessian only as a rescue if FIRE hits
    ``max_iter``. ``method="lbfgs"``: scipy L-BFGS-B on the same forces, which typically stalls
    around 1e-6 to 1e-9, then Newton steps (sparse LU of the Hessian with particle 0 pinned to remove
    the translations), then FIRE if Newton stalls as well.

    Args:
        conf: starting configuration (e.g. a random one for T_p = inf, or a swap MC sample).
        pot: pair potential.
        tol: convergence threshold on max_i,alpha |F_i^alpha| (default 1e-10).
        method: "auto", "newton", "fire" or "lbfgs".
        max_iter: cap on first-order iterations (each method).
        max_newton: cap on Newton steps (per Newton stage).
        skin: Verlet skin of the pair list.
        fire_params: FIRE parameters.

    Returns:
        :class:`QuenchResult`; ``success`` is False (and ``message`` says why) when tol was not reached.
    """
    if not isinstance(conf, Configuration):
        raise ValueError(f"conf must be a glassvib.Configuration, got {type(conf).__name__}")
    check_potential(pot)
    pot.check_particles(conf.diameters, conf.species)
    if not (isinstance(tol, (int, float, np.floating)) and tol > 0 and math.isfinite(tol)):
        raise ValueError(f"tol = {tol!r}, expected a positive finite number")
    if method not in METHODS:
        raise ValueError(f"method = {method!r}, expected one of {', '.join(map(repr, METHODS))}")
    check_box(conf.box, pot.r_max)
    t0 = time.perf_counter()
    x = np.array(conf.positions, dtype=np.float64)
    dia = np.ascontiguousarray(conf.diameters, dtype=np.float64)
    spc = np.ascontiguousarray(conf.species, dtype=np.int64)
    box = conf.box
    order = None
    if method == "auto":
        method = "newton" if _newton_pays(conf.N * conf.d) else "fire"
        if conf.N >= LOCALITY_MIN_PARTICLES:
            order = spatial_order(x, box, pot.r_max + skin)
            x, dia, spc = x[order], dia[order], spc[order]
    stages = []
    n_newton = 0
    if method == "newton":
        x, e, f, n_iter, n_eval, n_newton, stages = _newton_quench(x, dia, spc, box, pot, tol, max_iter, skin,
                                                                   fire_params, max_newton)
    elif method == "fire":
        x, e, f, n_iter, n_eval, _ = _fire_quench(x, dia, spc, box, pot, tol, max_iter, skin, fire_params)
        stages.append("fire")
    else:
        x, e, f, n_iter, n_eval, _ = _lbfgs_quench(x, dia, spc, box, pot, tol, max_iter, skin)
        stages.append("lbfgs")
    fmax = float(np.max(np.abs(f)))
    if method != "newton" and math.isfinite(e + fmax) and not fmax < tol and fmax < 1e-2:
        x, e, f, k = _newton_polish(x, dia, box, pot, tol, max_newton, skin, spc)
        n_newton += k
        n_eval += k
        fmax = float(np.max(np.abs(f)))
        stages.append("newton")
    if math.isfinite(e + fmax) and not fmax < tol and method == "lbfgs":
        x, e, f, it, ne, _ = _fire_quench(x, dia, spc, box, pot, tol, max_iter, skin, fire_params)
        n_iter += it
        n_eval += ne
        fmax = float(np.max(np.abs(f)))
        stages.append("fire")
    success = fmax < tol and math.isfinite(e)
    if order is not None:  # back to the caller's labels
        x[order] = x.copy()
        dia, spc = conf.diameters, conf.species
        stages.insert(0, "sorted")
    path = "+".join(stages)
    if not math.isfinite(e + fmax):
        msg = f"failed ({path}): non-finite energy or force (E = {e}, max|F| = {fmax})"
    elif success:
        msg = f"converged ({path}): max|F| = {fmax:.3g} < {tol:.3g}"
    else:
        msg = f"not converged ({path}): max|F| = {fmax:.3g} >= tol {tol:.3g} after {n_iter} iterations"
    return QuenchResult(configuration=Configuration(x, dia, box, spc), success=bool(success), message=msg,
                        n_iter=int(n_iter), n_newton=int(n_newton), n_eval=int(n_eval), energy=float(e),
                        max_force=fmax, method=method, wall_time=time.perf_counter() - t0)
