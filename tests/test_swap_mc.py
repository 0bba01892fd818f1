"""Swap Monte Carlo: exact Boltzmann statistics, incremental energies, list correctness, exact resume."""
import itertools
import math
import pickle

import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.stats

import glassvib as gv
from glassvib.decorrelation import OverlapAccumulator, estimate_tau, self_overlap
from glassvib.minimize import quench
from glassvib.neighbours import neighbour_pairs
from glassvib.swap_kernels import near_radius
from glassvib.swap_mc import SwapMCState, SwapMonteCarlo, swap_monte_carlo
from conftest import jittered_configuration

# fixed seeds: the statistical tests are deterministic; p-value thresholds of 1e-3 make a false
# alarm unlikely when the seeds are changed, while a wrong acceptance rule gives p ~ 0.
P_MIN = 1e-3


def _pair_distance(pos, box):
    dr = pos[1] - pos[0]
    dr -= box * np.round(dr / box)
    return float(np.sqrt(dr @ dr))


@pytest.mark.parametrize("d", [2, 3])
def test_two_particles_boltzmann_distance_and_swap_joint(d):
    """P(r, who holds a_1) = C r^(d-1) exp(-phi(r)/T) * 1/2 for r < L/2 (a_ij is swap-invariant)."""
    pot = gv.TaperedIPL(taper=2)
    box = 4.0
    a = np.array([0.8, 1.6])          # a_ij = 1.2
    T = 1.0
    conf = gv.Configuration(np.array([[0.3] * d, [1.6] + [0.3] * (d - 1)]), a, box)
    sampler = SwapMonteCarlo(conf, pot, T, seed=11, p_swap=0.5, step=1.0, record_every=10 ** 9)
    assert not sampler.state.verlet
    n_samples = 24000
    r = np.empty(n_samples)
    holder = np.empty(n_samples, dtype=int)
    for k in range(n_samples):
        sampler.run(20)  # 40 trials between samples
        r[k] = _pair_distance(sampler.state.positions, box)
        holder[k] = int(sampler.state.diameters[0] == a[0])
    assert r.min() > 0.4
    inside = r < box / 2
    r, holder = r[inside], holder[inside]
    edges = np.concatenate([[0.4], np.linspace(0.85, box / 2, 16)])
    dens = lambda x: x ** (d - 1) * math.exp(-float(pot.phi(x, 1.2)) / T)
    w = np.array([scipy.integrate.quad(dens, lo, hi, limit=200)[0] for lo, hi in zip(edges[:-1], edges[1:])])
    p = w / w.sum()
    counts = np.array([np.histogram(r[holder == h], edges)[0] for h in (0, 1)])
    expected = np.outer([0.5, 0.5], p) * r.size
    ok = expected.ravel() > 5  # the first bin (r < 0.85) is essentially empty
    chi2 = float(np.sum((counts.ravel()[ok] - expected.ravel()[ok]) ** 2 / expected.ravel()[ok]))
    pval = scipy.stats.chi2.sf(chi2, ok.sum() - 1)
    assert pval > P_MIN, f"chi2 = {chi2:.1f} for {ok.sum() - 1} dof"
    # marginal distance distribution by KS against the exact CDF
    grid = np.linspace(0.4, box / 2, 4001)  # exp(-phi(0.4)/T) ~ exp(-1e4): no mass below
    cdf = scipy.integrate.cumulative_trapezoid([dens(x) for x in grid], grid, initial=0.0)
    cdf /= cdf[-1]
    assert scipy.stats.kstest(r, lambda x: np.interp(x, grid, cdf)).pvalue > P_MIN
    res = sampler.result()
    assert 0.05 < res.acceptance_move < 0.95 and res.acceptance_swap == 1.0


def test_swap_moves_sample_the_permutation_boltzmann_distribution():
    """Positions fixed (p_swap = 1): the diameters' permutation has P ~ exp(-E(perm)/T), enumerated exactly."""
    pot = gv.TaperedIPL(taper=2)
    box = 4.0
    pos = np.array([[0.5, 0.5], [1.45, 0.7], [0.9, 1.5], [1.9, 1.6]])
    a = np.array([0.8, 1.0, 1.25, 1.55])
    T = 0.6
    perms = list(itertools.permutations(range(4)))
    energies = np.array([gv.energy(gv.Configuration(pos, a[list(p)], box), pot) for p in perms])
    prob = np.exp(-(energies - energies.min()) / T)
    prob /= prob.sum()
    assert prob.max() / prob.min() > 20  # the test distinguishes the permutations
    sampler = SwapMonteCarlo(gv.Configuration(pos, a, box), pot, T, seed=5, p_swap=1.0, record_every=10 ** 9)
    index = {p: k for k, p in enumerate(perms)}
    n_samples = 20000
    counts = np.zeros(len(perms))
    for _ in range(n_samples):
        sampler.run(3)  # 12 swap trials between samples
        perm = tuple(int(np.nonzero(a == x)[0][0]) for x in sampler.state.diameters)
        counts[index[perm]] += 1
    expected = prob * n_samples
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert scipy.stats.chi2.sf(chi2, len(perms) - 1) > P_MIN, f"chi2 = {chi2:.1f}"
    assert np.array_equal(sampler.state.positions, pos)


@pytest.mark.parametrize("d,n", [(2, 200), (3, 200), (4, 300)])
def test_incremental_energy_matches_full_recomputation(d, n):
    """After >= 1e5 trials the bookkept energy equals a from-scratch sum to 1e-9 relative."""
    pot = gv.TaperedIPL(taper=2)
    start = quench(gv.random_configuration(d, n, seed=d), pot, tol=1e-3).configuration
    sweeps = -(-100_000 // n)
    sampler = SwapMonteCarlo(start, pot, 0.5, seed=1, record_every=sweeps)
    sampler.run(sweeps)
    res = sampler.result()
    assert res.n_trials >= 100_000 and sampler.state.n_resyncs == 0
    assert res.acceptance_move > 0.05 and res.acceptance_swap > 0.02
    e_full = gv.energy(res.configuration, pot)
    assert abs(res.energies[-1] - e_full) <= 1e-9 * abs(e_full)
    if d < 4:
        assert sampler.state.verlet and res.n_row_rebuilds > 0


@pytest.mark.parametrize("cube", [False, True])
def test_verlet_list_gives_the_all_pairs_trajectory(cube):
    """The Verlet list (with rebuilds) must reproduce the trajectory of the always-valid all-pairs list."""
    pot = gv.TaperedIPL(taper=math.inf)
    conf = jittered_configuration(2, 10, seed=4)
    kw = dict(p_swap=0.2, step=0.2, cube=cube, skin=0.6 if cube else 0.45, record_every=50)
    a = SwapMonteCarlo(conf, pot, 0.8, 9, all_pairs_below=0, **kw)
    b = SwapMonteCarlo(conf, pot, 0.8, 9, all_pairs_below=10 ** 9, **kw)
    assert a.state.verlet and not b.state.verlet
    a.run(300)
    b.run(300)
    assert a.state.row_rebuilds[0] > 5
    assert np.array_equal(a.state.diameters, b.state.diameters)
    np.testing.assert_allclose(a.state.positions, b.state.positions, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(a.state.counters, b.state.counters)
    np.testing.assert_allclose(a.result().energies, b.result().energies, rtol=1e-11)


def _audit_lists(sampler):
    """Check the neighbour rows against a from-scratch search: every pair closer than r_c is listed
    (both ways, mirrors consistent) and in the near part, cached factors equal recomputed ones, and
    the invariant holds."""
    s, pot = sampler.state, sampler.pot
    npart = s.positions.shape[0]
    slot = np.full((npart, npart), -1)  # slot[i, k]: entry of k in the row of i
    for i in range(npart):
        row = s.nbr_idx[i, :s.nbr_count[i]]
        slot[i, row] = np.arange(row.size)
        assert np.unique(row).size == row.size and i not in row
    i, k = np.nonzero(slot >= 0)
    q = slot[i, k]
    assert np.array_equal(slot[k, i], s.nbr_mirror[i, q]), "rows not symmetric / mirrors wrong"
    ii, jj, dr = neighbour_pairs(s.positions, s.box, pot.r_max)
    missing = slot[ii, jj] < 0
    assert not missing.any(), f"pairs within r_c missing from the list: {list(zip(ii[missing], jj[missing]))[:5]}"
    # cached entries: distance, pair coefficient, amplitude x radial factor = phi of every listed pair
    dx = s.positions[k] - s.positions[i]
    dx -= s.box * np.round(dx / s.box)
    r2 = np.sum(dx * dx, axis=1)
    phi = pot.phi(np.sqrt(r2), s.diameters[i], s.diameters[k], s.species[i], s.species[k])
    np.testing.assert_allclose(s.nbr_r2[i, q], r2, rtol=1e-12)
    np.testing.assert_array_equal(s.nbr_coef[i, q], pot.pair_coefficients(s.diameters[i], s.diameters[k],
                                                                          s.species[i], s.species[k]))
    # the two routes round the cancelling brackets near r_c differently: ~1e-16 of the pair-energy scale
    np.testing.assert_allclose(s.nbr_amp[i, q] * s.nbr_rad[i, q], phi, rtol=1e-12,
                               atol=1e-13 * max(float(np.max(np.abs(phi), initial=0.0)), 1e-300))
    # every listed pair that one move could bring inside r_c is in the near part of the row (both rows)
    r_near = near_radius(pot.r_max, s.step, s.cube, s.positions.shape[1])
    close = np.sum(dx * dx, axis=1) < r_near ** 2
    assert np.all(q[close] < s.nbr_near[i[close]]), "a pair within r_c + step is outside the near part"
    assert np.all(s.nbr_near <= s.nbr_count)
    if s.verlet:
        assert np.all(np.sum((s.unwrapped - s.uref) ** 2, axis=1) <= (0.5 * s.skin) ** 2 * (1 + 1e-12))
        wrapped_ref = s.uref - s.box * np.floor(s.uref / s.box)
        ri, rj, _ = neighbour_pairs(wrapped_ref, s.box, pot.r_max + s.skin * (1 - 1e-9))
        assert np.all(slot[ri, rj] >= 0), "a pair with references closer than r_c + skin is not listed"


@pytest.mark.parametrize("d,n_side,temperature,cube,skin", [(2, 14, 3.0, False, 0.4), (2, 14, 3.0, False, 1.0),
                                                            (3, 6, 2.0, True, 1.0), (3, 6, 0.4, False, 1.0),
                                                            (4, 5, 2.0, False, 1.0)])
def test_neighbour_rows_never_miss_a_pair(d, n_side, temperature, cube, skin):
    """Audit the incrementally maintained rows after every chunk of a long run (at high T particles
    travel many skins), with rows cut to their current length so that they overflow (full rebuilds);
    the bookkept energy must equal the recomputed one after every chunk."""
    pot = gv.TaperedIPL(taper=2)
    conf = jittered_configuration(d, n_side, seed=d)
    sampler = SwapMonteCarlo(conf, pot, temperature, seed=5, step=0.2, cube=cube, skin=skin, record_every=10 ** 9)
    s = sampler.state
    assert s.verlet
    tight = int(s.nbr_count.max())
    for name in ("nbr_idx", "nbr_mirror", "nbr_r2", "nbr_coef", "nbr_rad", "nbr_amp"):
        setattr(s, name, getattr(s, name)[:, :tight].copy())
    for _ in range(12):
        sampler.run(20)
        _audit_lists(sampler)
        e_full = sampler.full_energy()
        assert sampler.energy == pytest.approx(e_full, rel=1e-9, abs=1e-9)
    assert s.row_rebuilds[0] > 0
    if temperature > 1:  # rows rebuilt many times over, overflows, particles gone farther than a skin
        assert s.row_rebuilds[0] > 2 * conf.N and s.n_rebuilds >= 1
        assert np.max(np.linalg.norm(s.unwrapped - s.initial_unwrapped, axis=1)) > s.skin


def _states_equal(s, t):
    for name in ("positions", "unwrapped", "diameters", "species", "energy_buf", "counters", "uref", "nbr_idx",
                 "nbr_count", "nbr_near", "nbr_mirror", "nbr_r2", "nbr_coef", "nbr_rad", "nbr_amp", "row_rebuilds"):
        assert np.array_equal(getattr(s, name), getattr(t, name)), name
    assert s.sweeps_done == t.sweeps_done and s.rng_state == t.rng_state
    assert s.energies == t.energies and s.q_initial == t.q_initial
    np.testing.assert_array_equal(s.overlap.sum_q, t.overlap.sum_q)


def test_resume_in_two_halves_is_bit_identical():
    pot = gv.TaperedIPL(taper=2)
    conf = jittered_configuration(3, 5, seed=2)  # N = 125, L = 5: Verlet list
    whole = swap_monte_carlo(conf, pot, 0.7, 60, seed=3, record_every=4)
    half = swap_monte_carlo(conf, pot, 0.7, 26, seed=3, record_every=4)
    state = pickle.loads(pickle.dumps(half.state))
    assert isinstance(state, SwapMCState)
    rest = swap_monte_carlo(None, pot, None, 34, None, state=state)
    _states_equal(whole.state, rest.state)
    assert np.array_equal(whole.energies, rest.energies)
    # the chunk size of the random draws does not matter either
    s = SwapMonteCarlo(conf, pot, 0.7, 3, record_every=4)
    s.run(60, max_chunk_trials=1000)
    _states_equal(whole.state, s.state)


def test_energies_trace_ends_with_the_final_energy():
    pot = gv.TaperedIPL(taper=2)
    conf = jittered_configuration(2, 8, seed=1)
    res = swap_monte_carlo(conf, pot, 0.5, 25, seed=0, record_every=10)
    assert list(res.record_sweeps) == [0, 10, 20, 25]
    assert res.energies[-1] == pytest.approx(gv.energy(res.configuration, pot), rel=1e-10)
    assert res.energies[0] == pytest.approx(gv.energy(conf, pot), rel=1e-12)


def test_invalid_arguments_raise_value_error():
    pot = gv.TaperedIPL()
    conf = jittered_configuration(2, 8, seed=1)
    for kwargs, word in [(dict(temperature=math.inf), "temperature"), (dict(temperature=-1.0), "temperature"),
                         (dict(p_swap=1.5), "p_swap"), (dict(step=0.5, skin=0.45), "skin"),
                         (dict(sweeps=-1), "sweeps")]:
        args = dict(conf=conf, pot=pot, temperature=0.5, sweeps=1, seed=0)
        args.update(kwargs)
        with pytest.raises(ValueError, match=word):
            swap_monte_carlo(**args)


def test_self_overlap_and_msd_of_a_known_displacement():
    rng = np.random.default_rng(0)
    u0 = rng.random((1000, 3)) * 10
    shift = np.zeros((1000, 3))
    shift[:400, 0] = 0.5      # 400 particles beyond the cutoff, the rest inside
    shift[400:, 1] = 0.1
    u1 = u0 + shift + 7.0     # a rigid translation is not a decorrelation
    q, msd = self_overlap(u0, u1, 0.3)
    com = shift.mean(axis=0)
    assert q == pytest.approx(0.6)
    assert msd == pytest.approx(np.mean(np.sum((shift - com) ** 2, axis=1)))


def test_overlap_accumulator_on_a_random_walk_and_tau():
    """Gaussian random walk, sigma per record and dimension: MSD(lag) = d sigma^2 lag (1 - 1/N)."""
    rng = np.random.default_rng(1)
    n, d, sigma = 400, 3, 0.05
    acc = OverlapAccumulator(cutoff=0.3, n_levels=12)
    u = rng.random((n, d))
    for _ in range(600):
        acc.update(u)
        u = u + sigma * rng.standard_normal((n, d))
    lag, q, msd = acc.curves()
    np.testing.assert_allclose(msd / (d * sigma ** 2 * lag * (1 - 1 / n)), 1.0, atol=0.1)
    # exact Q(lag): chi distribution with d dof and scale sigma sqrt(lag)
    q_exact = scipy.stats.chi.cdf(0.3 / (sigma * np.sqrt(lag * (1 - 1 / n))), d)
    np.testing.assert_allclose(q, q_exact, atol=0.03)
    tau_exact = float(scipy.optimize.brentq(
        lambda t: scipy.stats.chi.cdf(0.3 / (sigma * math.sqrt(t)), d) - math.exp(-1), 1, 500))
    assert estimate_tau(lag, q) == pytest.approx(tau_exact, rel=0.1)
    assert math.isnan(estimate_tau(lag, np.ones_like(q)))
