"""Minimization: FIRE on a quadratic bowl, forces on the Verlet pair list, quenched glasses are true minima."""
import math

import numpy as np
import pytest

import glassvib as gv
from glassvib.minimize import FireParams, PairList, energy_forces_pairs, fire, quench
from conftest import jittered_configuration


def _bowl(seed, n=60):
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    k = np.geomspace(1e-2, 1e2, n)          # condition number 1e4
    a = q @ np.diag(k) @ q.T
    x_min = rng.standard_normal(n)

    def fun(x):
        y = x - x_min
        return 0.5 * y @ a @ y, a @ y

    return fun, x_min


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fire_energy_never_increases_on_a_quadratic_bowl(seed):
    fun, x_min = _bowl(seed)
    res = fire(fun, np.zeros_like(x_min), tol=1e-10, max_iter=50_000)
    assert res.success, res.message
    e = res.energies
    # round-off allowance of the downhill check: 1e-12 |E|
    assert np.all(np.diff(e) <= 1e-12 * np.abs(e[:-1])), np.max(np.diff(e))
    assert e[-1] < 1e-16 * e[0]
    np.testing.assert_allclose(res.x, x_min, atol=1e-7)


def test_fire_without_downhill_check_still_converges():
    fun, x_min = _bowl(3)
    res = fire(fun, np.zeros_like(x_min), tol=1e-10, max_iter=50_000, params=FireParams(downhill=False))
    assert res.success
    np.testing.assert_allclose(res.x, x_min, atol=1e-7)


@pytest.mark.parametrize("m", [1, 2, 3, math.inf])
def test_pair_list_forces_equal_system_forces(dim, m):
    """Two routes: Verlet-list kernel (integer powers, unwrapped x) vs glassvib.system."""
    pot = gv.TaperedIPL(taper=m)
    conf = jittered_configuration(dim, {2: 10, 3: 6, 4: 4}[dim], seed=7, jitter=0.3)  # d < 4: Verlet list
    rng = np.random.default_rng(0)
    x = conf.positions + conf.box * rng.integers(-2, 3, size=conf.positions.shape)  # unwrapped images
    pairs = PairList(x, conf.box, pot, skin=0.3)
    e, f = energy_forces_pairs(x, conf.diameters, pairs)
    e_ref, f_ref = gv.energy_and_forces(conf, pot)
    assert e == pytest.approx(e_ref, rel=1e-12)
    np.testing.assert_allclose(f, f_ref, rtol=0, atol=1e-12 * np.abs(f_ref).max())
    # moving every particle by less than skin / 2 keeps the list valid without a rebuild
    builds = pairs.n_builds
    dx = 0.14 * rng.uniform(-1, 1, size=x.shape) / math.sqrt(dim)
    e2, f2 = energy_forces_pairs(x + dx, conf.diameters, pairs)
    e2_ref, f2_ref = gv.energy_and_forces(conf.replace(positions=conf.positions + dx), pot)
    assert e2 == pytest.approx(e2_ref, rel=1e-12)
    np.testing.assert_allclose(f2, f2_ref, rtol=0, atol=1e-12 * np.abs(f2_ref).max())
    assert pairs.n_builds == builds
    assert pairs.all_pairs == (dim == 4)


@pytest.mark.parametrize("model", ["tipl", "tipl_m3", "kalj"])
def test_recorded_images_are_bit_identical_to_images_found_at_each_evaluation(dim, model):
    """The list's build-time images give exactly the energy and forces of the minimum image found at
    every evaluation, also after moves of up to skin / 2 that carry particles across the box
    (unwrapped positions), and the kernel compiled for the potential's closed form those of the
    general dispatch (the closed form is branchless: evaluated beyond r_c too and multiplied by 0,
    which must add nothing, also with an odd taper that is negative there); the list's pair
    coefficients are the dispatch's pair_coef; a list built without the particles (or for other
    particles) takes them on at the first evaluation."""
    from glassvib.minimize import _energy_forces, _pair_images
    from glassvib.potentials.dispatch import pair_coef
    from glassvib.system import _species

    pot = {"tipl": gv.TaperedIPL(taper=2), "tipl_m3": gv.TaperedIPL(taper=3), "kalj": gv.LennardJones()}[model]
    n = {2: 400, 3: 600, 4: 2000 if model == "kalj" else 700}[dim]  # boxes >= 2 (r_c + skin)
    conf = gv.random_configuration(dim, n, 3, model=pot)
    rng = np.random.default_rng(1)
    x = conf.positions + conf.box * rng.integers(-1, 2, size=conf.positions.shape)
    spc = _species(conf.species, n)
    pairs = PairList(x, conf.box, pot, skin=0.3, diameters=conf.diameters, species=conf.species)
    assert not pairs.all_pairs and pairs.serves(conf.diameters, spc)
    assert pairs.image.shape == (len(pairs.ii), dim)
    for p in rng.integers(0, len(pairs.ii), size=50):
        i, j = pairs.ii[p], pairs.jj[p]
        assert pairs.coef[p] == pair_coef(pot.kind, pot.kernel_params, conf.diameters[i], conf.diameters[j],
                                          spc[i], spc[j])
    found = np.empty_like(pairs.image)
    general = ((0,) * dim, (), ())  # the general dispatch, not the tapered IPL's closed form
    for step in range(3):
        y = x + 0.149 * rng.uniform(-1, 1, size=x.shape) / math.sqrt(dim)
        _pair_images(y, pairs.box, pairs.ii, pairs.jj, found)
        f1, f2, f4 = np.empty_like(y), np.empty_like(y), np.empty_like(y)
        e1 = _energy_forces(y, pairs.box, pairs.ii, pairs.jj, pairs.image, pairs.coef, pot.kind, pot.kernel_params,
                            pot.r_max, pairs.form, f1)
        e2 = _energy_forces(y, pairs.box, pairs.ii, pairs.jj, found, pairs.coef, pot.kind, pot.kernel_params,
                            pot.r_max, pairs.form, f2)
        e4 = _energy_forces(y, pairs.box, pairs.ii, pairs.jj, found, pairs.coef, pot.kind, pot.kernel_params,
                            pot.r_max, general, f4)
        assert e1 == e2 and np.array_equal(f1, f2)
        assert e4 == e2 and np.array_equal(f4, f2)
        e3, f3 = energy_forces_pairs(y, conf.diameters, PairList(x, conf.box, pot, skin=0.3), conf.species)
        assert e3 == e2 and np.array_equal(f3, f2)
    # another particle set (swapped diameters) is not served by the list's coefficients until set
    other = conf.diameters[::-1].copy()
    assert not pairs.serves(other, spc)
    energy_forces_pairs(x, other, pairs, conf.species)
    assert pairs.serves(other, spc)


def test_fire_quench_with_recorded_and_found_images_reach_the_same_minimum_bit_for_bit():
    """FIRE with the list's recorded images follows the trajectory with images found at each step."""
    from glassvib import minimize as mz

    pot = gv.TaperedIPL(taper=2)
    conf = gv.random_configuration(3, 300, 5)
    x, dia, spc = conf.positions.copy(), conf.diameters, np.zeros(300, np.int64)
    xa, ea, fa, ita, _, oka = mz._fire_quench(x.copy(), dia, spc, conf.box, pot, 1e-10, 100_000, 0.3, FireParams())

    class _FoundImages(PairList):
        finds_images = True
    orig = mz.PairList
    mz.PairList = _FoundImages
    try:
        xb, eb, fb, itb, _, okb = mz._fire_quench(x.copy(), dia, spc, conf.box, pot, 1e-10, 100_000, 0.3,
                                                  FireParams())
    finally:
        mz.PairList = orig
    assert oka and okb and ita == itb and ea == eb and np.array_equal(xa, xb)


@pytest.mark.parametrize("d,n", [(2, 500), (3, 400), (4, 1200)])
def test_fire_forces_from_the_sub_list_follow_the_whole_list_bit_for_bit(d, n, monkeypatch):
    """FIRE's sub-list (the listed pairs within r_c + SUB_SKIN, refiltered after moves of SUB_SKIN / 2)
    holds the list's pairs in the list's order, fewer of them, and leaves the trajectory unchanged:
    the same minimum bit for bit with sub-lists of several widths and without one (SUB_SKIN = 0, or a
    list longer than SUB_LIST_MAX_PAIRS)."""
    from glassvib import minimize as mz

    pot = gv.TaperedIPL(taper=2)
    conf = gv.random_configuration(d, n, 11)
    x, dia, spc = conf.positions.copy(), conf.diameters, np.zeros(n, np.int64)
    pairs = PairList(x, conf.box, pot, 0.3, diameters=dia, species=spc)
    assert not pairs.all_pairs
    si, sj, sim, sco, _ = pairs.sub_buffers()
    m = mz._sub_list(x, conf.box, pairs.ii, pairs.jj, pairs.image, pairs.coef, pot.r_max + 0.1, si, sj, sim, sco,
                     pairs.form[0])
    dr = x[pairs.jj] - x[pairs.ii] - conf.box * pairs.image
    keep = np.nonzero(np.sum(dr * dr, axis=1) < (pot.r_max + 0.1) ** 2)[0]
    assert 0 < m == len(keep) < len(pairs.ii)
    assert np.array_equal(si[:m], pairs.ii[keep]) and np.array_equal(sj[:m], pairs.jj[keep])
    assert np.array_equal(sim[:m], pairs.image[keep]) and np.array_equal(sco[:m], pairs.coef[keep])
    runs = []
    for width, max_pairs in ((0.0, None), (0.1, None), (0.04, None), (0.25, None), (0.1, 10)):  # 10: list too long
        monkeypatch.setattr(mz, "SUB_SKIN", width)
        monkeypatch.setattr(mz, "SUB_LIST_MAX_PAIRS", max_pairs or 2_000_000)
        runs.append(mz._fire_quench(x.copy(), dia, spc, conf.box, pot, 1e-10, 100_000, 0.3, FireParams()))
    for xb, eb, fb, itb, _, okb in runs:
        assert okb and itb == runs[0][3] and eb == runs[0][1] and np.array_equal(xb, runs[0][0])
        assert np.array_equal(fb, runs[0][2])


def _check_minimum(conf, pot, res, d):
    assert res.success, res.message
    f = gv.forces(res.configuration, pot)
    assert np.abs(f).max() < 1e-10
    assert res.max_force == pytest.approx(np.abs(f).max(), abs=1e-12)
    assert res.energy == pytest.approx(gv.energy(res.configuration, pot), rel=1e-12)
    assert res.energy < gv.energy(conf, pot)
    lam = np.linalg.eigvalsh(gv.hessian(res.configuration, pot).toarray())
    noise = 1e-9 * lam[-1]
    assert lam[0] > -noise, f"negative eigenvalue {lam[0]:.3g} at a minimum"
    n_zero = int(np.sum(np.abs(lam) < noise))
    assert n_zero == d, f"{n_zero} zero modes, expected d = {d} translations"
    assert lam[d] > 1e3 * noise  # the zero modes are well separated from the first vibration


@pytest.mark.parametrize("method", ["fire", "lbfgs"])
@pytest.mark.parametrize("m", [2, math.inf])
@pytest.mark.parametrize("d", [2, 3])
def test_quench_from_random_positions_reaches_a_true_minimum(d, m, method):
    pot = gv.TaperedIPL(taper=m)
    n = {2: 100, 3: 125}[d]
    conf = gv.random_configuration(d, n, seed=10 + d)
    res = quench(conf, pot, method=method)
    _check_minimum(conf, pot, res, d)
    if method == "lbfgs":
        assert "lbfgs" in res.message


def test_quench_of_a_quenched_glass_is_a_fixed_point():
    pot = gv.TaperedIPL(taper=2)
    first = quench(gv.random_configuration(2, 100, seed=1), pot)
    again = quench(first.configuration, pot)
    assert again.n_iter == 0 and again.success
    np.testing.assert_array_equal(again.configuration.positions, first.configuration.positions)


def test_newton_polish_from_a_loose_fire_quench():
    """L-BFGS-like stall emulated by a loose FIRE tolerance: the Newton stage must finish the job."""
    pot = gv.TaperedIPL(taper=2)
    conf = jittered_configuration(3, 5, seed=3, jitter=0.3)
    loose = quench(conf, pot, tol=1e-4)
    from glassvib.minimize import _newton_polish
    x, e, f, steps = _newton_polish(np.array(loose.configuration.positions), loose.configuration.diameters,
                                    conf.box, pot, 1e-10, 8, 0.3)
    assert np.abs(f).max() < 1e-10 and 1 <= steps <= 4  # quadratic convergence: a few steps
    assert e <= loose.energy


def test_unconverged_quench_is_flagged_not_dropped():
    pot = gv.TaperedIPL(taper=2)
    conf = gv.random_configuration(3, 125, seed=2)
    res = quench(conf, pot, max_iter=20)
    assert not res.success and "not converged" in res.message
    assert res.max_force >= 1e-10 and res.configuration.N == 125


def test_quench_rejects_bad_input():
    pot = gv.TaperedIPL()
    conf = jittered_configuration(2, 8, seed=1)
    with pytest.raises(ValueError, match="tol"):
        quench(conf, pot, tol=-1.0)
    with pytest.raises(ValueError, match="method"):
        quench(conf, pot, method="cg")
    with pytest.raises(ValueError, match="conf"):
        quench(conf.positions, pot)
