"""Athermal shear modulus (SPEC §4): Born term of Bravais crystals, sparse vs dense pseudo-inverse,
and an independent route (energy of relaxed sheared glasses) for the full modulus."""
import math

import numpy as np
import pytest

from conftest import quenched_glass as _quenched_glass
import scipy.optimize

from glassvib import elasticity, modes, multigrid
from glassvib.elasticity import (affine_force_field, born_term, nonaffine_term, omega0, shear_moduli,
                                 shear_modulus)
from glassvib.lattices import d4_lattice, fcc_lattice, hypercubic_lattice
from glassvib.potential import TaperedIPL
from glassvib.system import hessian, pair_terms

POT = TaperedIPL(n=12, r_cut=1.955, taper=2)


def quenched_glass(d, N, seed):
    """Glass minimized tightly (gtol 1e-11): the non-affine term needs an accurate minimum."""
    return _quenched_glass(d, N, seed, gtol=1e-11)


def sheared_energy(dr0, a_ij, i, j, n_part, d, a, b, gamma):
    """U(gamma) = min_u sum_pairs phi(|F dr0 + u_j - u_i|), F = 1 + gamma e_a e_b^T, for a fixed
    pair list: the relaxed energy of a simple shear, by L-BFGS (independent of H and Xi)."""
    F = np.eye(d)
    F[a, b] += gamma
    base = dr0 @ F.T

    def fun(u):
        u = u.reshape(n_part, d)
        dr = base + u[j] - u[i]
        r = np.linalg.norm(dr, axis=1)
        dp = POT.dphi(r, a_ij)
        g = (dp / r)[:, None] * dr
        grad = np.zeros((n_part, d))
        np.add.at(grad, j, g)
        np.subtract.at(grad, i, g)
        return float(np.sum(POT.phi(r, a_ij))), grad.reshape(-1)

    res = scipy.optimize.minimize(fun, np.zeros(n_part * d), jac=True, method="L-BFGS-B",
                                  options={"maxiter": 20000, "gtol": 1e-12, "ftol": 0.0, "maxcor": 30})
    return res.fun


def affine_energy(dr0, a_ij, d, a, b, gamma):
    F = np.eye(d)
    F[a, b] += gamma
    return float(np.sum(POT.phi(np.linalg.norm(dr0 @ F.T, axis=1), a_ij)))


@pytest.mark.parametrize("conf", [fcc_lattice(3), d4_lattice(3), hypercubic_lattice(2, 8)],
                         ids=["fcc", "d4", "square"])
def test_bravais_crystal_is_born_only(conf):
    """Every site of a Bravais lattice is a centre of inversion: Xi = 0, no non-affine relaxation,
    G = Born term / V; the Born term equals the finite-difference curvature of the affine energy."""
    res = shear_moduli(conf, POT)
    t = pair_terms(conf, POT)
    for p, (a, b) in enumerate(res.planes):
        assert born_term(t, a, b) / conf.volume == pytest.approx(res.born[p], rel=1e-14)
        xi = affine_force_field(t, conf.N, a, b)
        assert np.max(np.abs(xi)) < 1e-10 * max(1.0, abs(res.born[p]))
        h = 1e-4
        dr0 = t.unit * t.r[:, None]
        a_ij = np.full(t.r.size, 1.0)
        fd = (affine_energy(dr0, a_ij, conf.d, a, b, h) - 2 * affine_energy(dr0, a_ij, conf.d, a, b, 0.0)
              + affine_energy(dr0, a_ij, conf.d, a, b, -h)) / h ** 2
        # FD error ~ h^2 U'''' and cancellation ~ 1e-16 U / h^2: 1e-6 relative is safe
        assert fd / conf.volume == pytest.approx(res.born[p], rel=1e-6)
    np.testing.assert_allclose(res.nonaffine, 0.0, atol=1e-12 * np.abs(res.born).max())
    assert res.G == pytest.approx(res.born.mean(), rel=1e-12)


@pytest.mark.parametrize("d,N", [(2, 100), (3, 125)])
def test_sparse_equals_dense_pseudo_inverse(d, N):
    conf = quenched_glass(d, N, 11)
    sparse, dense = shear_moduli(conf, POT, method="sparse"), shear_moduli(conf, POT, method="dense")
    assert np.all(sparse.nonaffine > 0)  # a glass relaxes non-affinely
    np.testing.assert_allclose(sparse.nonaffine, dense.nonaffine, rtol=1e-8)
    np.testing.assert_allclose(sparse.G_planes, dense.G_planes, rtol=1e-8)
    assert shear_modulus(conf, POT) == pytest.approx(sparse.G, rel=1e-14)


@pytest.mark.skipif(not multigrid.available(), reason="pyamg not installed")
@pytest.mark.parametrize("d,N", [(2, 144), (3, 216)])
def test_multigrid_cg_equals_dense_pseudo_inverse(d, N, monkeypatch):
    """The large-system route (multigrid-preconditioned CG, several levels) against the dense
    pseudo-inverse, and 'sparse' switching to it above LOBPCG_MIN_DOF rows."""
    monkeypatch.setattr(modes, "AMG_MAX_COARSE", 60)
    conf = quenched_glass(d, N, 11)
    cg, dense = shear_moduli(conf, POT, method="cg"), shear_moduli(conf, POT, method="dense")
    np.testing.assert_allclose(cg.nonaffine, dense.nonaffine, rtol=1e-8)
    calls = []
    orig = elasticity._cg_nonaffine
    monkeypatch.setattr(elasticity, "_cg_nonaffine", lambda *a: calls.append(1) or orig(*a))
    monkeypatch.setattr(modes, "LOBPCG_MIN_DOF", 10)
    auto = shear_moduli(conf, POT)
    assert calls == [1]
    np.testing.assert_allclose(auto.G_planes, dense.G_planes, rtol=1e-8)


def test_nonaffine_term_with_a_rattler():
    """An extra zero mode (a free particle) makes the pinned system singular: the MINRES fallback
    still returns Xi . H^+ . Xi."""
    import scipy.sparse
    conf = quenched_glass(2, 100, 11)
    H = scipy.sparse.block_diag([hessian(conf, POT), np.zeros((2, 2))], format="csr")
    t = pair_terms(conf, POT)
    xi = np.concatenate([affine_force_field(t, conf.N, 0, 1), [0.0, 0.0]])
    got = nonaffine_term(H, xi, 2, method="sparse")
    ref = nonaffine_term(H, xi, 2, method="dense")
    np.testing.assert_allclose(got, ref, rtol=1e-7)


def test_relaxed_shear_energy_gives_G():
    """Independent route: the curvature of the relaxed energy under simple shear (fixed pair
    list, L-BFGS relaxation at each strain) equals V G_ab = B_ab - Xi H^+ Xi."""
    conf = quenched_glass(2, 100, 11)
    res = shear_moduli(conf, POT)
    t = pair_terms(conf, POT)
    dr0 = t.unit * t.r[:, None]
    a_ij = 0.5 * (conf.diameters[t.i] + conf.diameters[t.j])
    h = 2e-3
    for p, (a, b) in enumerate(res.planes):
        e = [sheared_energy(dr0, a_ij, t.i, t.j, conf.N, 2, a, b, g) for g in (-h, 0.0, h)]
        G_fd = (e[0] - 2 * e[1] + e[2]) / h ** 2 / conf.volume
        # 1e-3: O(h^2) terms and the pairs that cross r_c under strain are left out of both routes
        assert G_fd == pytest.approx(res.G_planes[p], rel=1e-3)
        assert G_fd < res.born[p] * 0.98  # the relaxation matters


def test_omega0():
    assert omega0(4.0, 1.0, 10.0) == pytest.approx(2 * math.pi * 2.0 / 10.0)
    assert math.isnan(omega0(-1.0, 1.0, 10.0))
    with pytest.raises(ValueError, match="density"):
        omega0(1.0, 0.0, 10.0)
    with pytest.raises(ValueError, match="method"):
        shear_moduli(fcc_lattice(3), POT, method="magic")
