"""The pair-potential contract, one suite for every model (issue 12): phi, phi', phi'' against finite
differences and against the formula written out here from the papers; behaviour at the cutoff to the
stated order; forces and Hessian against finite differences in d = 2, 3, 4; exact Boltzmann
statistics with swaps; bookkept swap-MC energies against a full recomputation; the GHET
prediction each model implies. Adding a model = adding it to POTENTIALS and to ``reference_phi``.
"""
import itertools
import math

import numpy as np
import pytest
import scipy.integrate
import scipy.stats

import glassvib as gv
from glassvib.minimize import quench
from glassvib.potentials import make_potential
from glassvib.swap_mc import SwapMonteCarlo

P_MIN = 1e-3  # p-value threshold of the statistical tests (fixed seeds: deterministic)

POTENTIALS = {
    "tipl-m1": gv.TaperedIPL(taper=1),
    "tipl-m2": gv.TaperedIPL(taper=2),
    "tipl-minf": gv.TaperedIPL(taper=math.inf),
    "bipl": gv.BinaryIPL(),
    "poly": gv.PolySwap(),
    "kalj-m2": gv.LennardJones(taper=2),
    "kalj-m3": gv.LennardJones(taper=3),
    "kalj-minf": gv.LennardJones(taper=math.inf),
}
IDS = list(POTENTIALS)
#: one per model class, for the costlier system-level tests
MAIN = ["tipl-m2", "bipl", "poly", "kalj-m2"]


# ------------------------------------------------------------------ the models written out again
def _taper(x, m):
    if math.isinf(m):
        with np.errstate(divide="ignore", over="ignore"):
            return np.exp(x / (2.0 * (x - 1.0)))
    return (1.0 - x * x) ** m


def smoothing_coefficients_ref(n, x_c, q):
    """Coefficients of sum_l c_2l x^(2l) matching -x^-n and its first q derivatives at x_c, by
    numpy's polynomial derivatives (a different route from the package's falling factorials)."""
    from numpy.polynomial import polynomial as P
    a = np.zeros((q + 1, q + 1))
    for j in range(q + 1):
        c = np.zeros(2 * j + 1)
        c[2 * j] = 1.0
        for k in range(q + 1):
            a[k, j] = P.polyval(x_c, P.polyder(c, k)) if k <= 2 * j else 0.0
    b = np.array([-math.prod(-n - i for i in range(k)) * x_c ** (-n - k) for k in range(q + 1)])
    return np.linalg.solve(a, b)


def pair_cutoff(pot, ai, aj, si, sj):
    """The pair's own cutoff, from the papers' definitions."""
    if isinstance(pot, gv.TaperedIPL):
        return pot.r_cut
    if isinstance(pot, gv.BinaryIPL):
        return pot.x_c * (1.0, pot.lam_01, pot.lam_11)[si + sj]
    if isinstance(pot, gv.PolySwap):
        return pot.x_c * 0.5 * (ai + aj) * (1.0 - pot.nonadditivity * abs(ai - aj))
    if isinstance(pot, gv.LennardJones):
        return pot.rc_factor * pot.sigma[si + sj]
    raise AssertionError(type(pot))


def reference_phi(pot, r, ai, aj, si, sj):
    """phi of one pair type on an array of r, written from the papers (never from the package)."""
    r = np.asarray(r, dtype=float)
    rc = pair_cutoff(pot, ai, aj, si, sj)
    inside = r < rc
    if isinstance(pot, gv.TaperedIPL):       # paper 001 Eq. 14-17
        a, x = 0.5 * (ai + aj), r / rc
        v = (a / rc) ** pot.n * (x ** -pot.n - 1.0) * _taper(x, pot.taper)
    elif isinstance(pot, gv.BinaryIPL):      # thesis 002 Ch. 3 (its Ref. 159)
        lam = (1.0, pot.lam_01, pot.lam_11)[si + sj]
        c = smoothing_coefficients_ref(pot.n, pot.x_c, 3)
        v = pot.eps * ((lam / r) ** pot.n + sum(c[l] * (r / lam) ** (2 * l) for l in range(4)))
    elif isinstance(pot, gv.PolySwap):       # Ninarello et al. 2017, coefficients as printed there
        s = 0.5 * (ai + aj) * (1.0 - 0.2 * abs(ai - aj))
        c0, c2, c4 = -28.0 / 1.25 ** 12, 48.0 / 1.25 ** 14, -21.0 / 1.25 ** 16
        v = (s / r) ** 12 + c0 + c2 * (r / s) ** 2 + c4 * (r / s) ** 4
    elif isinstance(pot, gv.LennardJones):   # Kob-Andersen, tapered as SPEC §2
        eps, sig = (1.0, 1.5, 0.5)[si + sj], (1.0, 0.8, 0.88)[si + sj]
        v = 4 * eps * ((sig / r) ** 12 - (sig / r) ** 6 - (sig / rc) ** 12 + (sig / rc) ** 6) * _taper(r / rc, pot.taper)
    else:
        raise AssertionError(type(pot))
    return np.where(inside, v, 0.0)


def pair_types(pot):
    """(a_i, a_j, s_i, s_j) of representative pairs of the model."""
    if isinstance(pot, (gv.BinaryIPL, gv.LennardJones)):
        return [(1.0, 1.0, 0, 0), (1.0, 1.0, 0, 1), (1.0, 1.0, 1, 1)]
    return [(0.73, 0.73, 0, 0), (0.73, 1.62, 0, 0), (1.0, 1.3, 0, 0), (1.62, 1.62, 0, 0)]


def two_types(pot):
    """Per-particle parameters (diameters, species) of two particles of different kinds."""
    if isinstance(pot, (gv.BinaryIPL, gv.LennardJones)):
        dia, spc = pot.draw_particles(10, np.random.default_rng(0))
        return np.array([dia[0], dia[-1]]), np.array([0, 1])
    return np.array([0.8, 1.6]), np.array([0, 0])


# ------------------------------------------------------------------ one pair
def test_poly_coefficients_are_the_published_ones():
    """The package's and this file's solvers reproduce Ninarello et al.'s closed forms."""
    expected = [-28 / 1.25 ** 12, 48 / 1.25 ** 14, -21 / 1.25 ** 16]
    np.testing.assert_allclose(gv.PolySwap().coefficients, expected, rtol=1e-12)
    np.testing.assert_allclose(smoothing_coefficients_ref(12, 1.25, 2), expected, rtol=1e-12)
    np.testing.assert_allclose(gv.BinaryIPL().coefficients, smoothing_coefficients_ref(10, 1.48, 3), rtol=1e-12)


@pytest.mark.parametrize("name", IDS)
def test_phi_equals_the_formula_of_the_papers(name):
    pot = POTENTIALS[name]
    for ai, aj, si, sj in pair_types(pot):
        rc = pair_cutoff(pot, ai, aj, si, sj)
        r = np.linspace(0.7 * rc / 2, rc * 1.05, 400)
        got = pot.phi(r, ai, aj, si, sj)
        ref = reference_phi(pot, r, ai, aj, si, sj)
        # the brackets cancel near r_c (terms of order phi(r_c / 2) sum to ~0): an absolute floor of
        # 1e-13 of that scale on top of 1e-10 relative
        floor = 1e-13 * abs(float(reference_phi(pot, np.array([0.5 * rc]), ai, aj, si, sj)[0]))
        assert np.all(np.abs(got - ref) <= 1e-10 * np.abs(ref) + floor), (name, ai, aj, si, sj)
        assert np.all(got[r >= rc] == 0.0)


@pytest.mark.parametrize("name", IDS)
def test_derivatives_match_finite_differences(name):
    pot = POTENTIALS[name]
    h = 1e-5
    for ai, aj, si, sj in pair_types(pot):
        rc = pair_cutoff(pot, ai, aj, si, sj)
        r = np.linspace(0.75 * rc / 2, rc - 0.05, 60)
        phi, d1, d2 = pot.derivs(r, ai, aj, si, sj)
        fd1 = (pot.phi(r + h, ai, aj, si, sj) - pot.phi(r - h, ai, aj, si, sj)) / (2 * h)
        fd2 = (pot.dphi(r + h, ai, aj, si, sj) - pot.dphi(r - h, ai, aj, si, sj)) / (2 * h)
        # central differences: error ~ h^2 phi''' / 6, relative 1e-9 of the local scale; a floor
        # of 1e-6 of the largest value where a derivative crosses zero (the LJ minimum)
        for fd, exact in ((fd1, d1), (fd2, d2)):
            scale = np.abs(exact) + 1e-6 * np.max(np.abs(exact))
            assert np.all(np.abs(fd - exact) < 1e-6 * scale), (name, ai, aj, si, sj)
        np.testing.assert_allclose(phi, pot.phi(r, ai, aj, si, sj), rtol=0, atol=0)


@pytest.mark.parametrize("name", IDS)
def test_cutoff_order(name):
    """phi ~ (r_c - r)^(m+1): the k-th derivative scales as h^(m+1-k) (k <= 2), and vanishes at r_c
    for k <= m; for m = inf faster than any power; exactly 0 beyond r_c."""
    pot = POTENTIALS[name]
    m = pot.cutoff_order
    for ai, aj, si, sj in pair_types(pot):
        rc = pair_cutoff(pot, ai, aj, si, sj)
        derivs = [lambda r, k=k: pot.derivs(r, ai, aj, si, sj)[k] for k in range(3)]
        for k, f in enumerate(derivs):
            if math.isinf(m):
                for h in (1e-2, 3e-3):
                    assert abs(float(f(rc - h))) < h ** 8
                assert np.all(np.isfinite(f(rc - np.logspace(-300, -3, 40))))
            else:
                h = np.array([1e-3, 5e-4])
                v = np.abs(f(rc - h))
                slope = np.log(v[0] / v[1]) / np.log(2.0)
                assert abs(slope - (m + 1 - k)) < 2e-2, (name, k, slope)
            assert float(f(rc)) == 0.0 and float(f(rc * (1 + 1e-9))) == 0.0
        if not math.isinf(m) and m >= 3:  # the third derivative vanishes too: ~ h^(m - 2)
            def d3(h):
                return float(derivs[2](rc - h + 1e-7) - derivs[2](rc - h - 1e-7)) / 2e-7
            slope = math.log(abs(d3(2e-3) / d3(1e-3))) / math.log(2.0)
            assert abs(slope - (m - 2)) < 5e-2, (name, "third derivative", slope)


@pytest.mark.parametrize("name", IDS)
def test_minimum_and_the_ghet_prediction(name):
    """phi' crosses zero inside the cutoff exactly for the models that declare a minimum; the GHET
    alpha is the most negative of 1/m - 1 (cutoff) and 0 (minimum), s = 5 + 2 alpha."""
    pot = POTENTIALS[name]
    for ai, aj, si, sj in pair_types(pot):
        rc = pair_cutoff(pot, ai, aj, si, sj)
        d1 = pot.dphi(np.linspace(0.4 * rc, rc * (1 - 1e-6), 2000), ai, aj, si, sj)
        assert bool(np.any(d1 > 0)) == pot.has_minimum, (name, ai, aj, si, sj)
    m = pot.cutoff_order
    sources = [1.0 / m - 1.0] + ([0.0] if pot.has_minimum else [])
    assert pot.alpha_ghet == min(sources)
    assert pot.s_ghet == pytest.approx(5.0 + 2.0 * min(sources))
    if not pot.has_minimum:
        assert pot.s_ghet == pytest.approx(3.0 + 2.0 / m)


@pytest.mark.parametrize("name", IDS)
def test_log_abs_dphi_is_the_log_of_dphi_and_finite_where_it_underflows(name):
    pot = POTENTIALS[name]
    for ai, aj, si, sj in pair_types(pot):
        rc = pair_cutoff(pot, ai, aj, si, sj)
        r = np.concatenate([np.linspace(0.8 * rc / 2, rc * (1 - 1e-3), 300), rc - np.logspace(-14, -4, 30)])
        c = pot.pair_coefficients(ai, aj, si, sj) * np.ones_like(r)
        got = pot.log_abs_dphi(r, c)
        d1 = pot.dphi(r, ai, aj, si, sj)
        # phi' from the brackets loses ~1e-16 / (1 - r / r_c) relative to the cancellation near r_c:
        # compare where that is below 1e-10
        ok = (np.abs(d1) > 1e-280) & (r < rc * (1 - 1e-6))
        with np.errstate(divide="ignore"):
            np.testing.assert_allclose(got[ok], np.log(np.abs(d1[ok])), rtol=1e-9, atol=1e-9)
        if math.isinf(pot.cutoff_order):
            assert np.all(np.isfinite(got[r < rc]))
        assert np.all(pot.log_abs_dphi(np.array([rc, rc + 0.1]), c[:2]) == -np.inf)


@pytest.mark.parametrize("name", IDS)
def test_spec_round_trip_and_errors(name):
    pot = POTENTIALS[name]
    assert make_potential(pot.spec()) == pot
    assert hash(make_potential(pot.spec())) == hash(pot)
    with pytest.raises(ValueError, match="unknown parameter"):
        make_potential({**pot.spec(), "bogus": 1})
    with pytest.raises(ValueError, match="allowed: tapered_ipl"):
        make_potential({"model": "nonsense"})


# ------------------------------------------------------------------ per-particle parameters
@pytest.mark.parametrize("name", MAIN)
@pytest.mark.parametrize("d", [2, 3, 4])
def test_random_configuration_draws_the_model(name, d):
    pot = POTENTIALS[name]
    conf = gv.random_configuration(d, 200, seed=3, model=pot)
    assert conf.density == pytest.approx(pot.default_density(d), rel=1e-12)
    pot.check_particles(conf.diameters, conf.species)
    if isinstance(pot, gv.BinaryIPL):
        assert np.sum(conf.species == 0) == 100 and set(conf.species) == {0, 1}
        assert pot.default_density(d) == {2: 0.86, 3: 0.82, 4: 0.80}[d]
    elif isinstance(pot, gv.LennardJones):
        assert np.sum(conf.species == 0) == 160 and conf.density == pytest.approx(1.2)
    else:
        assert np.all(conf.species == 0) and 0.73 <= conf.diameters.min() and conf.diameters.max() <= 1.62


def test_tapered_ipl_stream_is_unchanged():
    """random_configuration without a model: the former draw (diameters, then positions, one PCG64
    stream from the SeedSequence) at density 1."""
    from glassvib.configuration import sample_diameters
    for d, n, seed in ((2, 50, 1), (3, 64, 7), (4, 300, [1, 2])):
        conf = gv.random_configuration(d, n, seed)
        rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
        dia = sample_diameters(n, rng)
        box = n ** (1.0 / d)
        pos = rng.random((n, d)) * box
        assert np.array_equal(conf.diameters, dia) and np.array_equal(conf.positions, np.mod(pos, box))
        assert conf.box == box and np.all(conf.species == 0)
        same = gv.random_configuration(d, n, seed, model=gv.TaperedIPL(taper=math.inf))
        assert np.array_equal(same.positions, conf.positions)


def _grid_configuration(pot, d, seed, jitter=0.3):
    """Jittered grid of the model's particles at its density, just large enough for L >= 2 r_max."""
    rho = pot.default_density(d)
    n_side = math.ceil(2 * pot.r_max * rho ** (1 / d) + 1e-9)
    n = n_side ** d
    rng = np.random.default_rng(seed)
    dia, spc = pot.draw_particles(n, rng)
    order = rng.permutation(n)
    box = (n / rho) ** (1 / d)
    grid = np.array(list(itertools.product(range(n_side), repeat=d)), dtype=float)
    pos = (grid + 0.5 + jitter * (2 * rng.random((n, d)) - 1)) * box / n_side
    return gv.Configuration(pos, dia[order], box, spc[order])


@pytest.mark.parametrize("name", MAIN)
@pytest.mark.parametrize("d", [2, 3, 4])
def test_forces_and_hessian_match_finite_differences(name, d):
    pot = POTENTIALS[name]
    conf = _grid_configuration(pot, d, seed=d)
    e, f = gv.energy_and_forces(conf, pot)
    x0 = conf.positions.ravel()
    rng = np.random.default_rng(1)
    h = 1e-6
    ftol = 1e-6 * np.abs(f).max()  # central differences: h^2 |phi'''| << this
    for c in rng.choice(x0.size, size=8, replace=False):
        xp, xm = x0.copy(), x0.copy()
        xp[c] += h
        xm[c] -= h
        ep = gv.energy(conf.replace(positions=xp.reshape(conf.positions.shape)), pot)
        em = gv.energy(conf.replace(positions=xm.reshape(conf.positions.shape)), pot)
        assert abs(-(ep - em) / (2 * h) - f.ravel()[c]) < ftol, (name, d, c)
    H = gv.hessian(conf, pot)
    assert abs(H - H.T).max() <= 1e-12 * abs(H).max()
    Hd = H.toarray() if H.shape[0] <= 3000 else None
    for c in rng.choice(x0.size, size=5, replace=False):
        xp, xm = x0.copy(), x0.copy()
        xp[c] += h
        xm[c] -= h
        fp = gv.forces(conf.replace(positions=xp.reshape(conf.positions.shape)), pot).ravel()
        fm = gv.forces(conf.replace(positions=xm.reshape(conf.positions.shape)), pot).ravel()
        col = -(fp - fm) / (2 * h)
        exact = Hd[:, c] if Hd is not None else H[:, [c]].toarray().ravel()
        assert np.max(np.abs(col - exact)) < 1e-5 * abs(H).max(), (name, d, c)
    # d translations are zero modes of the Hessian
    t = np.zeros((conf.N, d))
    t[:, 0] = 1.0
    assert np.abs(H @ t.ravel()).max() < 1e-10 * abs(H).max()
    # pressure by the virial equals -dE/dV under an affine dilation
    eps = 1e-6
    vol = conf.volume
    ep = gv.energy(gv.Configuration(conf.positions * (1 + eps), conf.diameters, conf.box * (1 + eps), conf.species), pot)
    em = gv.energy(gv.Configuration(conf.positions * (1 - eps), conf.diameters, conf.box * (1 - eps), conf.species), pot)
    dv = vol * ((1 + eps) ** d - (1 - eps) ** d)
    assert gv.pressure(conf, pot) == pytest.approx(-(ep - em) / dv, rel=1e-6, abs=1e-9 * abs(e) / vol)


# ------------------------------------------------------------------ swap Monte Carlo
def _pair_distance(pos, box):
    dr = pos[1] - pos[0]
    dr -= box * np.round(dr / box)
    return float(np.sqrt(dr @ dr))


@pytest.mark.parametrize("name", MAIN)
@pytest.mark.parametrize("d", [2, 3, 4])
def test_two_particles_boltzmann_with_swaps(name, d):
    """P(r) = C r^(d-1) exp(-phi(r)/T) for r < L/2, with swaps of the two particles' parameters
    (which leave phi unchanged: accepted every time)."""
    pot = POTENTIALS[name]
    dia, spc = two_types(pot)
    box = 2.0 * pot.r_max + 0.2
    T = 1.0
    pos = np.full((2, d), 0.3)
    pos[1, 0] += 1.2
    conf = gv.Configuration(pos, dia, box, spc)
    sampler = SwapMonteCarlo(conf, pot, T, seed=11 + d, p_swap=0.5, step=1.0, record_every=10 ** 9)
    n_samples = 8000
    r = np.empty(n_samples)
    holder = np.empty(n_samples, dtype=int)
    for k in range(n_samples):
        sampler.run(15)
        r[k] = _pair_distance(sampler.state.positions, box)
        holder[k] = int(sampler.state.diameters[0] == dia[0] and sampler.state.species[0] == spc[0])
    r, holder = r[r < box / 2], holder[r < box / 2]
    c = pot.pair_coefficients(dia[0], dia[1], spc[0], spc[1])
    lo = 0.5 * pot.r_max / 2.5 if isinstance(pot, gv.LennardJones) else 0.4
    grid = np.linspace(lo, box / 2, 6001)
    phi = gv.potentials.base.pair_arrays(pot, grid, c)[0]
    dens = grid ** (d - 1) * np.exp(-(phi - phi.min()) / T)
    cdf = scipy.integrate.cumulative_trapezoid(dens, grid, initial=0.0)
    cdf /= cdf[-1]
    assert r.min() > lo
    assert scipy.stats.kstest(r, lambda x: np.interp(x, grid, cdf)).pvalue > P_MIN
    # who holds which parameters is independent of r and 50:50
    assert abs(holder.mean() - 0.5) < 4 * 0.5 / math.sqrt(holder.size / 20)
    res = sampler.result()
    assert res.acceptance_swap == 1.0 and 0.02 < res.acceptance_move < 1.0  # some moves rejected: interacting


@pytest.mark.parametrize("name", MAIN)
@pytest.mark.parametrize("d", [2, 3, 4])
def test_swaps_sample_the_permutation_boltzmann_distribution(name, d):
    """Positions fixed (p_swap = 1): the assignment of the per-particle parameters to the particles
    has P ~ exp(-E/T), enumerated exactly over the distinct assignments."""
    pot = POTENTIALS[name]
    base = np.array([[0.5, 0.5], [1.45, 0.7], [0.9, 1.5], [1.9, 1.6]])
    pos = np.zeros((4, d))
    pos[:, :2] = base * (1.3 if isinstance(pot, (gv.BinaryIPL, gv.LennardJones)) else 1.0)
    box = 2.0 * pot.r_max + 0.2
    if isinstance(pot, (gv.BinaryIPL, gv.LennardJones)):
        d_all, s_all = pot.draw_particles(10, np.random.default_rng(0))
        params = [(d_all[0], 0), (d_all[0], 0), (d_all[-1], 1), (d_all[-1], 1)]
        # T where the assignments' Boltzmann weights differ by factors of ~5 to ~1e3
        T = 0.15 if isinstance(pot, gv.LennardJones) else 1.0
    else:
        params = [(a, 0) for a in (0.8, 1.0, 1.25, 1.55)]
        T = 0.6
    assignments = sorted(set(itertools.permutations(params)))
    energies = np.array([gv.energy(gv.Configuration(pos, [p[0] for p in a], box, [p[1] for p in a]), pot)
                         for a in assignments])
    prob = np.exp(-(energies - energies.min()) / T)
    prob /= prob.sum()
    assert prob.max() / prob.min() > 5  # the test distinguishes the assignments
    start = assignments[int(np.argmax(prob))]
    sampler = SwapMonteCarlo(gv.Configuration(pos, [p[0] for p in start], box, [p[1] for p in start]), pot, T,
                             seed=5 + d, p_swap=1.0, record_every=10 ** 9)
    index = {a: k for k, a in enumerate(assignments)}
    n_samples = 6000
    counts = np.zeros(len(assignments))
    for _ in range(n_samples):
        sampler.run(3)
        s = sampler.state
        counts[index[tuple((float(a), int(b)) for a, b in zip(s.diameters, s.species))]] += 1
    expected = prob * n_samples
    # assignments expected fewer than 5 times (overlapping pairs) are pooled into one bin
    rare = expected < 5
    obs = np.append(counts[~rare], counts[rare].sum())
    exp_ = np.append(expected[~rare], expected[rare].sum())
    keep = exp_ > 0
    chi2 = float(np.sum((obs[keep] - exp_[keep]) ** 2 / exp_[keep]))
    assert keep.sum() >= 3 and scipy.stats.chi2.sf(chi2, keep.sum() - 1) > P_MIN, f"chi2 = {chi2:.1f}"
    assert np.array_equal(sampler.state.positions, np.mod(pos, box))


@pytest.mark.parametrize("name", MAIN)
@pytest.mark.parametrize("d", [2, 3, 4])
def test_bookkept_mc_energy_equals_full_recomputation(name, d):
    """After many trials (moves, swaps, row rebuilds) the incremental energy equals a from-scratch
    sum, and every cached list entry equals its pair (distance, coefficient, energy)."""
    from test_swap_mc import _audit_lists

    pot = POTENTIALS[name]
    T = {"tipl-m2": 0.5, "bipl": 2.0, "poly": 0.3, "kalj-m2": 2.0}[name]  # liquids: moves are accepted
    n = max(200, math.ceil((2 * pot.r_max + 1.5) ** d * pot.default_density(d))) if d < 4 else \
        math.ceil((2 * pot.r_max + 0.3) ** d * pot.default_density(d))
    start = quench(gv.random_configuration(d, n, seed=d, model=pot), pot, tol=1e-2).configuration
    sweeps = max(2, -(-30_000 // n))
    sampler = SwapMonteCarlo(start, pot, T, seed=1, record_every=sweeps)
    sampler.run(sweeps)
    res = sampler.result()
    assert res.n_trials >= 30_000 and sampler.state.n_resyncs == 0
    assert res.acceptance_move > 0.01 and res.acceptance_swap > 0.01
    e_full = gv.energy(res.configuration, pot)
    assert abs(res.energies[-1] - e_full) <= 1e-9 * max(abs(e_full), 1.0)
    _audit_lists(sampler)
    # the swaps permuted the per-particle parameters, nothing else
    assert sorted(zip(res.configuration.diameters, res.configuration.species)) == \
        sorted(zip(start.diameters, start.species))
