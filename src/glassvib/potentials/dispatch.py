"""The one numba dispatch of the pair-potential contract: every kernel of the package (energy and
forces, Hessian and pair terms, quench, swap Monte Carlo) evaluates a pair through these functions
of the model's kind code and float64 parameter array (see :mod:`glassvib.potentials.base`).

Registering a model = importing its module here and adding one line per function below (the
kind codes are the modules' ``KIND``), :func:`with_model` included. An unknown kind returns NaN, which the callers' checks turn
into an error (never a silently zero energy).

Note for developers: numba's on-disk cache does not notice changes in functions called from other
files; after editing a model's kernels, delete ``src/glassvib/**/__pycache__/*.nb[ic]``.
"""
from __future__ import annotations

import math

import numba

from . import binary_ipl as _bipl
from . import lennard_jones as _lj
from . import poly_swap as _poly
from . import tapered_ipl as _tipl

__all__ = ["pair_coef", "pair_phi_fr", "pair_derivs", "pair_amp", "pair_radial", "with_model", "coef_loop",
           "derivs_loop", "coef_pairs", "kernel_form", "form_constants", "pair_phi_fr_form"]

_NAN = math.nan


@numba.njit(cache=True, inline="always")
def pair_coef(kind, prm, ai, aj, si, sj):
    """Pair coefficient c_ij from the two particles' diameters a and species s."""
    if kind == _tipl.KIND:
        return _tipl.coef(prm, ai, aj, si, sj)
    if kind == _bipl.KIND:
        return _bipl.coef(prm, ai, aj, si, sj)
    if kind == _poly.KIND:
        return _poly.coef(prm, ai, aj, si, sj)
    if kind == _lj.KIND:
        return _lj.coef(prm, ai, aj, si, sj)
    return _NAN


@numba.njit(cache=True, inline="always")
def pair_phi_fr(kind, prm, r2, c):
    """(phi, phi'(r) / r) from r^2 (zeros beyond the pair's cutoff): the force kernels' hot path."""
    if kind == _tipl.KIND:
        return _tipl.phi_fr(prm, r2, c)
    if kind == _bipl.KIND:
        return _bipl.phi_fr(prm, r2, c)
    if kind == _poly.KIND:
        return _poly.phi_fr(prm, r2, c)
    if kind == _lj.KIND:
        return _lj.phi_fr(prm, r2, c)
    return _NAN, _NAN


def kernel_form(pot, d: int):
    """What a force kernel may fix when numba compiles it, as tuples whose lengths carry it: the
    dimension, ``(0,) * d``, and for the tapered IPL with even n and an integer taper the orders of its
    closed form (:func:`glassvib.potentials.tapered_ipl.phi_fr_closed`), ``(0,) * (n / 2)`` and
    ``(0,) * m``, else two empty tuples (the general dispatch). numba compiles (and caches on disk) one
    kernel per form; the values are those of the general route bit for bit."""
    h = m = 0
    if pot.KIND == _tipl.KIND:
        orders = _tipl.closed_form_orders(pot.kernel_params)
        if orders is not None:
            h, m = orders
    return (0,) * int(d), (0,) * h, (0,) * m


@numba.njit(cache=True, inline="always")
def form_constants(kind, prm, form):
    """The per-kernel-call constants of :func:`pair_phi_fr_form` (r_c^2 and 1 / r_c^2 of the closed form)."""
    if len(form[1]) > 0:
        rc = prm[1]
        rc2 = rc * rc
        return rc2, 1.0 / rc2
    return 0.0, 0.0


@numba.njit(cache=True, inline="always")
def pair_phi_fr_form(kind, prm, r2, c, form, cst):
    """:func:`pair_phi_fr` through the closed form that ``form`` (:func:`kernel_form`) names, if any;
    ``cst`` = :func:`form_constants`."""
    if len(form[1]) > 0:
        return _tipl.phi_fr_closed(r2, c, cst[0], cst[1], form[1], form[2])
    return pair_phi_fr(kind, prm, r2, c)


@numba.njit(cache=True, inline="always")
def pair_derivs(kind, prm, r, c):
    """(phi, phi', phi'') at distance r (zeros beyond the pair's cutoff)."""
    if kind == _tipl.KIND:
        return _tipl.derivs(prm, r, c)
    if kind == _bipl.KIND:
        return _bipl.derivs(prm, r, c)
    if kind == _poly.KIND:
        return _poly.derivs(prm, r, c)
    if kind == _lj.KIND:
        return _lj.derivs(prm, r, c)
    return _NAN, _NAN, _NAN


@numba.njit(cache=True, inline="always")
def pair_amp(kind, prm, c):
    """Amplitude A(c) of the split phi = A(c) u(r^2, c) that the swap Monte Carlo caches (1 for
    models that do not separate)."""
    if kind == _tipl.KIND:
        return _tipl.amp(prm, c)
    if kind == _bipl.KIND:
        return _bipl.amp(prm, c)
    if kind == _poly.KIND:
        return _poly.amp(prm, c)
    if kind == _lj.KIND:
        return _lj.amp(prm, c)
    return _NAN


@numba.njit(cache=True, inline="always")
def pair_radial(kind, prm, r2, c):
    """Radial factor u(r^2, c) of phi = A(c) u (0 beyond the pair's cutoff; for a separable model
    independent of c): the swap Monte Carlo's hot path."""
    if kind == _tipl.KIND:
        return _tipl.radial(prm, r2, c)
    if kind == _bipl.KIND:
        return _bipl.radial(prm, r2, c)
    if kind == _poly.KIND:
        return _poly.radial(prm, r2, c)
    if kind == _lj.KIND:
        return _lj.radial(prm, r2, c)
    return _NAN


@numba.njit(cache=True, inline="always")
def with_model(kind, body, args):
    """body(coef, amp, radial, args) with the model's own numba functions: a kernel whose tight loops
    would otherwise switch on the kind at every pair (the swap Monte Carlo: swaps 1.7x faster) is
    compiled once per model (a function argument specialises it). Inlined, so that the
    caller stays cacheable (a function passed to a compiled, non-inlined function is a dynamic global).
    Call it once per kernel call, not per pair."""
    if kind == _tipl.KIND:
        return body(_tipl.coef, _tipl.amp, _tipl.radial, args)
    if kind == _bipl.KIND:
        return body(_bipl.coef, _bipl.amp, _bipl.radial, args)
    if kind == _poly.KIND:
        return body(_poly.coef, _poly.amp, _poly.radial, args)
    return body(_lj.coef, _lj.amp, _lj.radial, args)


@numba.njit(cache=True)
def coef_loop(kind, prm, ai, aj, si, sj, out):
    """out[k] = pair_coef(a_i[k], a_j[k], s_i[k], s_j[k])."""
    for k in range(out.shape[0]):
        out[k] = pair_coef(kind, prm, ai[k], aj[k], si[k], sj[k])


@numba.njit(cache=True)
def coef_pairs(kind, prm, a, s, ii, jj, out):
    """out[k] = pair_coef(a[ii[k]], a[jj[k]], s[ii[k]], s[jj[k]]): :func:`coef_loop` on a pair list."""
    for k in range(out.shape[0]):
        i = ii[k]
        j = jj[k]
        out[k] = pair_coef(kind, prm, a[i], a[j], s[i], s[j])


@numba.njit(cache=True)
def derivs_loop(kind, prm, r, c, phi, d1, d2):
    """(phi, d1, d2)[k] = pair_derivs(r[k], c[k])."""
    for k in range(r.shape[0]):
        phi[k], d1[k], d2[k] = pair_derivs(kind, prm, r[k], c[k])
