"""Energy, forces, Hessian, pressure and pair stresses: finite differences, invariants, lattice dynamics."""
import itertools
import math

import numpy as np
import pytest
import scipy.optimize

import glassvib as gv
from glassvib.lattices import d4_lattice, fcc_lattice, hypercubic_lattice
from conftest import small_configuration

TAPERS = [1, 2, 3, math.inf]


def energy_at(conf, pot, flat):
    return gv.energy(conf.replace(positions=flat.reshape(conf.positions.shape)), pot)


@pytest.mark.parametrize("m", TAPERS)
def test_forces_are_minus_gradient(dim, m):
    conf = small_configuration(dim, seed=3)
    pot = gv.TaperedIPL(taper=m)
    f = gv.forces(conf, pot)
    x0 = conf.positions.ravel()
    h = 1e-6
    idx = np.random.default_rng(0).choice(x0.size, size=min(x0.size, 60), replace=False)
    fd = np.empty(idx.size)
    for k, c in enumerate(idx):
        xp, xm = x0.copy(), x0.copy()
        xp[c] += h
        xm[c] -= h
        fd[k] = -(energy_at(conf, pot, xp) - energy_at(conf, pot, xm)) / (2 * h)
    # error budget: central difference O(h^2 phi''') plus round-off E * eps / h ~ 1e-9
    np.testing.assert_allclose(f.ravel()[idx], fd, rtol=0, atol=1e-6 * np.abs(f).max())
    assert np.abs(f.sum(axis=0)).max() < 1e-10 * np.abs(f).max() * conf.N  # Newton's third law


@pytest.mark.parametrize("m", TAPERS)
def test_hessian_is_the_force_jacobian(dim, m):
    conf = small_configuration(dim, seed=5)
    pot = gv.TaperedIPL(taper=m)
    H = gv.hessian(conf, pot)
    dn = conf.N * dim
    assert H.shape == (dn, dn)
    Hd = H.toarray()
    np.testing.assert_array_equal(Hd, Hd.T)  # symmetric by construction, bit for bit
    x0 = conf.positions.ravel()
    h = 1e-6
    jac = np.empty((dn, dn))
    for c in range(dn):
        xp, xm = x0.copy(), x0.copy()
        xp[c] += h
        xm[c] -= h
        fp = gv.forces(conf.replace(positions=xp.reshape(-1, dim)), pot).ravel()
        fm = gv.forces(conf.replace(positions=xm.reshape(-1, dim)), pot).ravel()
        jac[:, c] = -(fp - fm) / (2 * h)
    rel = np.abs(jac - Hd).max() / np.abs(Hd).max()
    assert rel < 1e-6, rel
    # each row block sums to zero (translation invariance)
    blocks = Hd.reshape(conf.N, dim, conf.N, dim).sum(axis=2)
    assert np.abs(blocks).max() < 1e-10 * np.abs(Hd).max()


@pytest.mark.parametrize("delta", [0.0, 0.3, 1.0])
def test_hessian_delta_splits_stress_term(delta):
    """H(delta) = M'' + (1 - delta) M' with M'' from phi'' e e and M' from (phi'/r)(1 - e e)."""
    conf = small_configuration(2, seed=7)
    pot = gv.TaperedIPL(taper=2)
    t = gv.pair_terms(conf, pot)
    n, d = conf.N, conf.d
    m2 = np.zeros((n * d, n * d))
    m1 = np.zeros((n * d, n * d))
    for i, j, e, dp, d2p, r in zip(t.i, t.j, t.unit, t.dphi, t.d2phi, t.r):
        ee = np.outer(e, e)
        for mat, k in ((m2, d2p * ee), (m1, dp / r * (np.eye(d) - ee))):
            si, sj = slice(i * d, i * d + d), slice(j * d, j * d + d)
            mat[si, si] += k
            mat[sj, sj] += k
            mat[si, sj] -= k
            mat[sj, si] -= k
    np.testing.assert_allclose(gv.hessian(conf, pot, delta=delta).toarray(), m2 + (1 - delta) * m1,
                               atol=1e-12 * np.abs(m2).max())
    with pytest.raises(ValueError, match="delta"):
        gv.hessian(conf, pot, delta=1.5)


def test_energy_invariant_under_relabelling_translation_and_images(dim):
    conf = small_configuration(dim, seed=11)
    pot = gv.TaperedIPL(taper=2)
    e0 = gv.energy(conf, pot)
    perm = np.random.default_rng(1).permutation(conf.N)
    c1 = gv.Configuration(conf.positions[perm], conf.diameters[perm], conf.box)
    assert gv.energy(c1, pot) == pytest.approx(e0, rel=1e-12)
    np.testing.assert_allclose(gv.forces(c1, pot), gv.forces(conf, pot)[perm], atol=1e-12)
    shift = np.random.default_rng(2).normal(size=dim) * 3.0
    images = np.random.default_rng(3).integers(-3, 4, size=conf.positions.shape) * conf.box
    c2 = gv.Configuration(conf.positions + shift + images, conf.diameters, conf.box)
    assert gv.energy(c2, pot) == pytest.approx(e0, rel=1e-12)
    H0 = gv.hessian(conf, pot)
    H1 = gv.hessian(c1, pot).toarray()
    p = (perm[:, None] * dim + np.arange(dim)).ravel()
    np.testing.assert_allclose(H1, H0.toarray()[np.ix_(p, p)], atol=1e-12 * abs(H0).max())


@pytest.mark.parametrize("m", [2, math.inf])
def test_virial_pressure_is_minus_dE_dV(dim, m):
    conf = small_configuration(dim, seed=13)
    pot = gv.TaperedIPL(taper=m)
    h = 1e-6

    def e_scaled(lam):
        return gv.energy(gv.Configuration(conf.positions * lam, conf.diameters, conf.box * lam), pot)

    v0 = conf.volume
    dv = v0 * ((1 + h) ** dim - (1 - h) ** dim)
    p_fd = -(e_scaled(1 + h) - e_scaled(1 - h)) / dv
    assert gv.pressure(conf, pot) == pytest.approx(p_fd, rel=1e-7)


def test_pair_stresses_are_r_dphi_for_every_pair():
    conf = small_configuration(3, seed=17)
    pot = gv.TaperedIPL(taper=3)
    psi = gv.pair_stresses(conf, pot)
    t = gv.pair_terms(conf, pot)
    a = 0.5 * (conf.diameters[t.i] + conf.diameters[t.j])
    np.testing.assert_allclose(psi, t.r * pot.dphi(t.r, a), rtol=1e-14)
    assert np.all(t.r < pot.r_cut) and np.all(psi < 0)  # purely repulsive
    np.testing.assert_allclose(np.linalg.norm(t.unit, axis=1), 1.0, rtol=1e-14)
    assert gv.energy(conf, pot) == pytest.approx(t.phi.sum(), rel=1e-13)


def relax(conf, pot, gtol=1e-11):
    """Independent minimizer for the tests: scipy L-BFGS then Newton steps with a pseudo-inverse."""
    shape = conf.positions.shape

    def fun(x):
        e, f = gv.energy_and_forces(conf.replace(positions=x.reshape(shape)), pot)
        return e, -f.ravel()

    res = scipy.optimize.minimize(fun, conf.positions.ravel(), jac=True, method="L-BFGS-B",
                                  options={"maxiter": 20000, "gtol": 1e-7, "ftol": 0})
    x = res.x
    for _ in range(8):
        c = conf.replace(positions=x.reshape(shape))
        f = gv.forces(c, pot).ravel()
        if np.abs(f).max() < gtol:
            break
        w, v = np.linalg.eigh(gv.hessian(c, pot).toarray())
        keep = np.abs(w) > 1e-10 * w[-1]  # drop the d translational zero modes
        x = x + v[:, keep] @ ((v[:, keep].T @ f) / w[keep])
    return conf.replace(positions=x.reshape(shape))


@pytest.mark.parametrize("m", [2, math.inf])
def test_minimum_has_exactly_d_zero_modes(dim, m):
    conf = small_configuration(dim, seed=19, jitter=0.3)
    pot = gv.TaperedIPL(taper=m)
    conf = relax(conf, pot)
    assert np.abs(gv.forces(conf, pot)).max() < 1e-9
    ev = np.linalg.eigvalsh(gv.hessian(conf, pot).toarray())
    scale = ev[-1]
    zero = np.abs(ev) < 1e-9 * scale
    assert zero.sum() == dim, ev[: dim + 2]
    assert np.all(ev[~zero] > 0)


def lattice_dynamics_eigenvalues(conf, pot, k_cells):
    """Eigenvalues of a Bravais lattice from its dynamical matrix D(k) = sum_R K(R) (1 - cos k.R).

    Independent of the package's Hessian: neighbour vectors R of site 0 from all periodic images,
    K(R) = (phi'' - phi'/r) e e + (phi'/r) I. The allowed wave vectors are k = 2 pi m / L,
    m in {0..k_cells-1}^d; when this grid covers each allowed k (mod the reciprocal lattice) q times,
    every eigenvalue appears q times and is returned once.
    """
    d, L, n = conf.d, conf.box, conf.N
    x0 = conf.positions[0]
    shifts = np.array(list(itertools.product((-1, 0, 1), repeat=d)), dtype=float) * L
    R = (conf.positions[1:, None, :] - x0 + shifts[None]).reshape(-1, d)
    r = np.linalg.norm(R, axis=1)
    R, r = R[r < pot.r_cut], r[r < pot.r_cut]
    a = conf.diameters[0]
    e = R / r[:, None]
    d1, d2 = pot.dphi(r, a), pot.d2phi(r, a)
    K = (d2 - d1 / r)[:, None, None] * e[:, :, None] * e[:, None, :] + (d1 / r)[:, None, None] * np.eye(d)
    ms = np.array(list(itertools.product(range(k_cells), repeat=d)), dtype=float)
    ks = 2 * np.pi * ms / L
    q = len(ks) // n
    assert q * n == len(ks)
    w = 1.0 - np.cos(ks @ R.T)  # (nk, nR)
    D = np.einsum("kr,rab->kab", w, K)
    ev = np.sort(np.linalg.eigvalsh(D).ravel())
    return ev[::q], q


@pytest.mark.parametrize("name,builder,k_cells,stable", [
    ("square", lambda: hypercubic_lattice(2, 8), 8, False),
    ("simple cubic", lambda: hypercubic_lattice(3, 5), 5, False),
    ("fcc", lambda: fcc_lattice(3), 6, True),
    ("hypercubic 4d", lambda: hypercubic_lattice(4, 4), 4, False),
    ("d4", lambda: d4_lattice(3), 6, True),
])
@pytest.mark.parametrize("m", [2, math.inf])
def test_crystal_eigenvalues_equal_lattice_dynamics(name, builder, k_cells, stable, m):
    conf = builder()
    pot = gv.TaperedIPL(taper=m)
    assert np.abs(gv.forces(conf, pot)).max() < 1e-10  # a Bravais lattice is an equilibrium
    ev = np.linalg.eigvalsh(gv.hessian(conf, pot).toarray())
    ref, q = lattice_dynamics_eigenvalues(conf, pot, k_cells)
    assert q in (1, 2)
    np.testing.assert_allclose(ev, ref, rtol=0, atol=1e-9 * np.abs(ev).max())
    zero = np.abs(ev) < 1e-9 * ev[-1]
    if stable:
        assert zero.sum() == conf.d and np.all(ev[~zero] > 0)
    else:
        # a repulsive potential cannot stabilise a (hyper)cubic lattice: honest negative modes
        assert ev[0] < -1e-6 * ev[-1]


@pytest.mark.parametrize("d,n_side", [(2, 20), (3, 8), (4, 6)])
@pytest.mark.parametrize("m", [1, 2, math.inf])
def test_cell_list_kernel_equals_pair_route(d, n_side, m):
    """Boxes with L >= 3 r_c use the fused cell-list kernel; it must agree with the pair-list route
    (neighbour_pairs + pair kernel) and with finite differences of the energy."""
    from conftest import jittered_configuration
    from glassvib.neighbours import cell_grid, neighbour_pairs
    from glassvib.system import _energy_forces_kernel

    conf = jittered_configuration(d, n_side, seed=23, jitter=0.3)
    pot = gv.TaperedIPL(taper=m)
    assert cell_grid(conf.box, pot.r_cut)[0] >= 3  # really the cell-list path
    e, f = gv.energy_and_forces(conf, pot)
    ii, jj, dr = neighbour_pairs(conf.positions, conf.box, pot.r_cut)
    e_ref, f_ref = _energy_forces_kernel(ii, jj, dr, conf.diameters, conf.species, pot.kind, pot.kernel_params,
                                         conf.N)
    assert e == pytest.approx(e_ref, rel=1e-12)
    np.testing.assert_allclose(f, f_ref, rtol=0, atol=1e-11 * np.abs(f_ref).max())
    x0 = conf.positions.ravel()
    h = 1e-6
    for c in np.random.default_rng(0).choice(x0.size, size=12, replace=False):
        xp, xm = x0.copy(), x0.copy()
        xp[c] += h
        xm[c] -= h
        fd = -(energy_at(conf, pot, xp) - energy_at(conf, pot, xm)) / (2 * h)
        assert abs(fd - f.ravel()[c]) < 1e-6 * np.abs(f).max()


@pytest.mark.parametrize("d,n", [(3, 1000), (4, 10000)])
def test_half_cell_kernel_equals_pair_route(d, n):
    """Dense half-r_c cells (reach 2, a 5^d stencil: the Lennard-Jones glass at density 1.2) give the
    energy and forces of the pair route."""
    from glassvib.neighbours import cell_grid, neighbour_pairs
    from glassvib.system import _energy_forces_kernel

    pot = gv.LennardJones()
    conf = gv.random_configuration(d, n, seed=4, model=pot)
    assert cell_grid(conf.box, pot.r_max, conf.N, conf.d)[1] == 2  # really the half-cell path
    e, f = gv.energy_and_forces(conf, pot)
    ii, jj, dr = neighbour_pairs(conf.positions, conf.box, pot.r_max)
    e_ref, f_ref = _energy_forces_kernel(ii, jj, dr, conf.diameters, conf.species, pot.kind, pot.kernel_params, conf.N)
    assert e == pytest.approx(e_ref, rel=1e-12)
    np.testing.assert_allclose(f, f_ref, rtol=0, atol=1e-11 * np.abs(f_ref).max())
