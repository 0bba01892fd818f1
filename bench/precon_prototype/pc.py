"""Prototype preconditioners (N x N scalar Laplacians) for glassvib quenches."""
import numpy as np, scipy.sparse as sp, math, time
from glassvib.minimize import PairList, _energy_forces
from glassvib.potentials.dispatch import derivs_loop

def pair_geometry(x, pairs):
    dr = x[pairs.jj] - x[pairs.ii]
    if pairs.image.shape[0] == len(pairs.ii):
        dr -= pairs.box * pairs.image
    else:
        dr -= pairs.box * np.floor(dr / pairs.box + 0.5)
    return np.sqrt((dr * dr).sum(1))

def laplacian(n, ii, jj, w):
    W = sp.coo_matrix((np.concatenate([w, w]), (np.concatenate([ii, jj]), np.concatenate([jj, ii]))), shape=(n, n)).tocsr()
    deg = np.asarray(W.sum(1)).ravel()
    return (sp.diags(deg) - W).tocsr(), deg

def weights(x, pairs, kind="exp", A=3.0, rcut_rel=None):
    """Edge weights on the pairs within r_c."""
    pot = pairs.pot
    r = pair_geometry(x, pairs)
    inside = r < pot.r_max
    ii, jj, r, c = pairs.ii[inside], pairs.jj[inside], r[inside], pairs.coef[inside]
    d = x.shape[1]
    if kind == "exp":
        # c is a_ij (mean diameter) for the tapered IPL: r_nn per pair
        w = np.exp(-A * (r / c - 1.0))
        if rcut_rel is not None:
            keep = r / c < rcut_rel
            ii, jj, w = ii[keep], jj[keep], w[keep]
    elif kind == "stiff":
        phi = np.empty_like(r); d1 = np.empty_like(r); d2 = np.empty_like(r)
        derivs_loop(pot.kind, pot.kernel_params, r, c, phi, d1, d2)
        w = (d2 + (d - 1) * d1 / r) / d
        w = np.maximum(w, 1e-3 * np.median(w[w > 0]) if np.any(w > 0) else 1e-12)
    elif kind == "stiff_l":  # longitudinal stiffness only
        phi = np.empty_like(r); d1 = np.empty_like(r); d2 = np.empty_like(r)
        derivs_loop(pot.kind, pot.kernel_params, r, c, phi, d1, d2)
        w = np.maximum(d2, 1e-12)
    return ii, jj, w

def forces(x, pairs, f=None):
    pot = pairs.pot
    if f is None:
        f = np.empty_like(x)
    e = _energy_forces(x, pairs.box, pairs.ii, pairs.jj, pairs.image, pairs.coef, pot.kind, pot.kernel_params, pot.r_max, f)
    return e, f

def estimate_mu(x, pairs, L, eps=1e-4):
    """mu = <v, H v> / <v, L v> with longitudinal sine waves v (H v by a force difference)."""
    n, d = x.shape
    box = pairs.box
    v = np.zeros_like(x)
    for a in range(d):
        v[:, a] = np.sin(2 * np.pi * np.mod(x[:, a], box) / box)
    e0, f0 = forces(x, pairs)
    e1, f1 = forces(x + eps * v, pairs)
    Hv = -(f1 - f0) / eps
    num = float((v * Hv).sum())
    den = float((v * (L @ v)).sum())
    return num / den
