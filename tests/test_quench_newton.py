"""quench(method="newton", used by "auto" for small systems), issue 14: FIRE to max|F| < 1e-3, then Newton steps on the sparse
Hessian (a PARDISO Cholesky factor of the pinned Hessian for small systems, multigrid-preconditioned
conjugate gradients above): the same minimum as the plain FIRE quench from the same start, a true
minimum (exactly d zero modes, no negative eigenvalue), the same convergence criterion, and a
FIRE fallback where the Hessian is not positive definite."""
import numpy as np
import pytest

import glassvib as gv
from glassvib import minimize, multigrid
from glassvib.lattices import hypercubic_lattice
from glassvib.minimize import quench
from glassvib.modes import lowest_modes, zero_tolerance

# the two linear solvers of the Newton steps: direct (PARDISO, where MKL loads; SuperLU otherwise)
# and multigrid CG (forced here by a direct-solver limit of 0 rows)
SOLVERS = ["direct"] + ["multigrid-cg"] * multigrid.available()


@pytest.fixture(params=SOLVERS)
def solver(request, monkeypatch):
    if request.param == "multigrid-cg":
        monkeypatch.setattr(minimize, "NEWTON_DIRECT_MAX_DOF", 0)
    return request.param


def _unwrapped_difference(a, b, box):
    dx = b - a
    dx -= box * np.round(dx / box)
    return dx - dx.mean(axis=0)  # the minimum is defined up to a translation


def _check_true_minimum(res, pot, d):
    assert res.success and res.max_force < 1e-10, res.message
    H = gv.hessian(res.configuration, pot)
    lam = np.linalg.eigvalsh(H.toarray())
    tol = zero_tolerance(H)
    assert lam[0] > -tol, f"negative eigenvalue {lam[0]:.3g}"
    assert int(np.sum(np.abs(lam) <= tol)) == d, "exactly the d translations are zero modes"


@pytest.mark.parametrize("d,N,m", [(2, 100, 2), (3, 125, 2), (3, 125, np.inf), (4, 256, 2)])
def test_newton_quench_reaches_the_fire_minimum(d, N, m, solver):
    """From the same random start, FIRE alone and FIRE + Newton end in the same minimum (1e-8 in
    positions, translation removed), which is a true minimum."""
    pot = gv.TaperedIPL(taper=m)
    conf = gv.random_configuration(d, N, seed=20 + d)
    fire = quench(conf, pot, method="fire")
    newton = quench(conf, pot, method="newton")
    assert "newton" in newton.message and newton.n_newton >= 1
    assert newton.method == "newton"
    dx = _unwrapped_difference(fire.configuration.positions, newton.configuration.positions, conf.box)
    assert np.max(np.abs(dx)) < 1e-8
    assert abs(newton.energy - fire.energy) <= 1e-12 * abs(fire.energy)
    _check_true_minimum(newton, pot, d)


def test_newton_quench_of_a_larger_glass_is_a_true_minimum(solver):
    """d = 3, N = 1000 (dN = 3000): lowest modes of the Newton minimum — 3 zero modes, no negative one."""
    pot = gv.TaperedIPL(taper=2)
    res = quench(gv.random_configuration(3, 1000, seed=4), pot, method="newton")
    assert res.success and res.max_force < 1e-10 and res.n_newton >= 1, res.message
    H = gv.hessian(res.configuration, pot)
    lam = lowest_modes(H, 8, dim=3)[0]
    tol = zero_tolerance(H)
    assert lam[0] > -tol and int(np.sum(np.abs(lam) <= tol)) == 3 and lam[3] > 1e3 * tol


def test_newton_steps_fall_back_to_fire_on_negative_curvature(solver):
    """A slightly disturbed simple cubic crystal of a repulsive potential sits near a saddle (its
    Hessian has negative eigenvalues): the Newton steps must not converge onto the saddle; FIRE
    takes over and the quench still ends in a true minimum."""
    pot = gv.TaperedIPL(taper=2)
    conf = hypercubic_lattice(3, 5)
    rng = np.random.default_rng(1)
    start = gv.Configuration(conf.positions + 1e-6 * rng.standard_normal(conf.positions.shape),
                             conf.diameters, conf.box)
    assert np.linalg.eigvalsh(gv.hessian(start, pot).toarray())[0] < -1e-3
    res = quench(start, pot, method="newton")
    assert res.message.count("fire") >= 2, res.message  # Newton refused, FIRE went on
    _check_true_minimum(res, pot, 3)


def test_newton_quench_keeps_the_tolerance_and_flags_failure():
    pot = gv.TaperedIPL(taper=2)
    conf = gv.random_configuration(3, 125, seed=5)
    loose = quench(conf, pot, tol=1e-6)
    assert loose.success and loose.max_force < 1e-6
    res = quench(conf, pot, max_iter=20, method="newton")
    assert not res.success and "not converged" in res.message and res.n_newton == 0


def test_auto_uses_newton_where_the_direct_solve_is_cheap(monkeypatch):
    """'auto' (the default, used by the workflow): Newton finish up to AUTO_NEWTON_MAX_DOF rows
    where PARDISO loads, FIRE alone above."""
    from glassvib import pardiso

    pot = gv.TaperedIPL(taper=2)
    conf = gv.random_configuration(2, 100, seed=3)
    res = quench(conf, pot)
    assert res.method == ("newton" if pardiso.available() else "fire")
    monkeypatch.setattr(minimize, "AUTO_NEWTON_MAX_DOF", 100)
    res2 = quench(conf, pot)
    assert res2.method == "fire" and res2.success


@pytest.mark.parametrize("d", [2, 3])
def test_auto_relabels_large_systems_and_returns_the_callers_labels(d, monkeypatch):
    """From LOCALITY_MIN_PARTICLES on, "auto" runs in cell order (forced here for a small system):
    the minimum comes back in the caller's labels (its own diameters at its own indices), is a true
    minimum, and relabelling the start relabels the result of the sorted run consistently."""
    monkeypatch.setattr(minimize, "LOCALITY_MIN_PARTICLES", 10)
    pot = gv.TaperedIPL(taper=2)
    conf = gv.random_configuration(d, 150, 11)
    res = quench(conf, pot, method="auto")
    assert res.message.split("(")[1].startswith("sorted"), res.message
    assert np.array_equal(res.configuration.diameters, conf.diameters)
    _check_true_minimum(res, pot, d)
    assert gv.energy(res.configuration, pot) == pytest.approx(res.energy, rel=1e-12)
    # the sorted run depends on positions only, not on the labels: a relabelled start gives the
    # relabelled minimum (the cell order is the same, so the runs are the same bit for bit)
    perm = np.random.default_rng(0).permutation(conf.N)
    res_p = quench(conf.replace(positions=conf.positions[perm], diameters=conf.diameters[perm]), pot, method="auto")
    assert np.array_equal(res_p.configuration.positions, res.configuration.positions[perm])
