"""One PairTerms per inherent structure (commit 1be1126): the Hessian, pressure, shear modulus and
stress histograms computed from shared pair terms equal the separate routes, and the terms passed in
are the ones used; analyze_inherent_structure with eigenvalues = "all" gives the whole spectrum and
participation exactly where eigenvectors were computed."""
from __future__ import annotations

import numpy as np
import pytest

from conftest import quenched_glass
from glassvib.analysis import analyze_inherent_structure
from glassvib.configuration import Configuration
from glassvib.elasticity import shear_moduli
from glassvib.observables import participation_ratio
from glassvib.potential import TaperedIPL
from glassvib.stresses import stress_histograms
from glassvib.system import energy, hessian, hessian_from_terms, pair_terms, pressure

POT = TaperedIPL(n=12, r_cut=1.955, taper=2)
GLASSES = [(2, 144), (3, 125)]


def _perturbed(conf, scale, seed):
    """The same particles (diameters, box) slightly displaced: other pair terms, same labels."""
    rng = np.random.default_rng(seed)
    return Configuration(np.mod(conf.positions + scale * rng.standard_normal(conf.positions.shape), conf.box),
                         conf.diameters, conf.box)


def _same_histograms(a, b):
    assert np.array_equal(a.log10_edges, b.log10_edges) and a.n_pairs == b.n_pairs
    assert set(a.counts) == set(b.counts)
    for name in a.counts:
        assert np.array_equal(a.counts[name], b.counts[name]), name
        assert a.below[name] == b.below[name] and a.above[name] == b.above[name], name


# ---------------------------------------------------------------- pair-terms reuse
@pytest.mark.parametrize("delta", [0.0, 0.5])
@pytest.mark.parametrize("d,N", GLASSES)
def test_hessian_from_terms_equals_hessian(d, N, delta):
    conf = quenched_glass(d, N, 11)
    H = hessian(conf, POT, delta=delta)
    Ht = hessian_from_terms(pair_terms(conf, POT), conf.N, delta)
    assert Ht.shape == H.shape == (d * N, d * N) and Ht.format == "csr"
    # same sparsity pattern and the same numbers, bit for bit
    assert np.array_equal(Ht.indptr, H.indptr) and np.array_equal(Ht.indices, H.indices)
    assert np.array_equal(Ht.data, H.data)
    # and it is a Hessian: symmetric, annihilates the d uniform translations
    assert abs(Ht - Ht.T).max() <= 1e-12 * abs(Ht).max()
    for a in range(d):
        t = np.zeros(d * N)
        t[a::d] = 1.0
        assert np.max(np.abs(Ht @ t)) <= 1e-10 * abs(Ht).max()


def test_hessian_from_terms_is_linear_in_delta():
    """H(delta) = M'' + (1 - delta) M': the delta = 0.5 matrix is the mean of delta = 0 and 1."""
    conf = quenched_glass(2, 144, 11)
    t = pair_terms(conf, POT)
    H0, H1, Hh = (hessian_from_terms(t, conf.N, dl) for dl in (0.0, 1.0, 0.5))
    assert abs(Hh - 0.5 * (H0 + H1)).max() <= 1e-12 * abs(H0).max()
    assert abs(H0 - H1).max() > 1e-3 * abs(H0).max()  # the stress term is not negligible
    with pytest.raises(ValueError, match="delta"):
        hessian_from_terms(t, conf.N, 1.5)


@pytest.mark.parametrize("d,N", GLASSES)
def test_pressure_and_stresses_from_terms(d, N):
    conf = quenched_glass(d, N, 11)
    t = pair_terms(conf, POT)
    assert pressure(conf, POT, terms=t) == pressure(conf, POT)
    _same_histograms(stress_histograms(conf, POT, terms=t), stress_histograms(conf, POT))
    # the terms passed in are the ones used: terms of displaced particles give their results
    other = _perturbed(conf, 0.02, 1)
    t2 = pair_terms(other, POT)
    p2 = pressure(conf, POT, terms=t2)
    assert p2 == pressure(other, POT) and p2 != pressure(conf, POT)
    h2 = stress_histograms(conf, POT, terms=t2)
    _same_histograms(h2, stress_histograms(other, POT))
    assert not np.array_equal(h2.counts["sigma"], stress_histograms(conf, POT).counts["sigma"])


@pytest.mark.parametrize("d,N", GLASSES)
def test_shear_moduli_from_terms(d, N):
    conf = quenched_glass(d, N, 11)
    t = pair_terms(conf, POT)
    ref = shear_moduli(conf, POT)
    for kwargs in ({"terms": t}, {"terms": t, "H": hessian_from_terms(t, conf.N)}):
        got = shear_moduli(conf, POT, **kwargs)
        assert got.planes == ref.planes
        np.testing.assert_allclose(got.born, ref.born, rtol=1e-13, atol=0)
        np.testing.assert_allclose(got.nonaffine, ref.nonaffine, rtol=1e-10, atol=0)
        assert got.G == pytest.approx(ref.G, rel=1e-10)
        assert got.G > 0
    # the terms passed in are used: those of a slightly displaced glass give that glass's Born term
    other = _perturbed(conf, 1e-3, 2)
    t2 = pair_terms(other, POT)
    got2 = shear_moduli(conf, POT, terms=t2, H=hessian_from_terms(t2, conf.N))
    ref2 = shear_moduli(other, POT)
    np.testing.assert_allclose(got2.born, ref2.born, rtol=1e-13, atol=0)
    assert got2.G == pytest.approx(ref2.G, rel=1e-10)
    assert not np.allclose(got2.born, ref.born, rtol=1e-9, atol=0)


@pytest.mark.parametrize("d,N", GLASSES)
def test_analyze_scalars_equal_separate_routes(d, N):
    conf = quenched_glass(d, N, 11)
    a = analyze_inherent_structure(conf, POT, k=10)
    assert a.e_is == pytest.approx(energy(conf, POT) / conf.N, rel=1e-12, abs=0)
    assert a.pressure == pytest.approx(pressure(conf, POT), rel=1e-12, abs=0)
    assert a.shear_modulus == pytest.approx(shear_moduli(conf, POT).G, rel=1e-10)
    _same_histograms(a.stress, stress_histograms(conf, POT))
    # delta changes the modes only: G, pressure, e_is and stresses come from the true Hessian / terms
    b = analyze_inherent_structure(conf, POT, k=10, delta=0.5)
    assert (b.e_is, b.pressure) == (a.e_is, a.pressure)
    assert b.shear_modulus == pytest.approx(a.shear_modulus, rel=1e-12)
    _same_histograms(b.stress, a.stress)
    ref = np.linalg.eigvalsh(hessian(conf, POT, delta=0.5).toarray())
    np.testing.assert_allclose(b.eigenvalues, ref[:b.eigenvalues.size], rtol=0, atol=1e-8 * ref[-1])
    with pytest.raises(ValueError, match="eigenvalues"):
        analyze_inherent_structure(conf, POT, k=10, eigenvalues="some")


# ---------------------------------------------------------------- eigenvalues = "all"
def _nondegenerate(lam, scale, gap=1e-6):
    g = np.diff(lam)
    left = np.concatenate([[np.inf], g])
    right = np.concatenate([g, [np.inf]])
    return np.minimum(left, right) > gap * scale


@pytest.mark.parametrize("d,N,delta", [(2, 400, 0.0), (3, 250, 0.5)])
def test_analyze_all_eigenvalues(d, N, delta):
    """Whole spectrum; participation finite exactly for the lowest (completed) modes and the highest
    level_window modes, equal there to that of the dense eigenvectors; d zero modes."""
    conf = quenched_glass(d, N, 5)
    w = 15
    a = analyze_inherent_structure(conf, POT, k=10, eigenvalues="all", level_window=w, delta=delta)
    low = analyze_inherent_structure(conf, POT, k=10, eigenvalues="lowest", level_window=w, delta=delta)
    H = hessian(conf, POT, delta=delta).toarray()
    lam, vec = np.linalg.eigh(H)
    scale = np.max(np.abs(lam))
    n = d * N
    assert a.eigenvalues.shape == (n,)
    np.testing.assert_allclose(a.eigenvalues, lam, rtol=0, atol=1e-10 * scale)
    assert a.spectrum is not None and np.array_equal(a.spectrum, a.eigenvalues)
    # the lowest modes are the eigenvalues = "lowest" ones (completed past lambda_upper)
    k_low = low.eigenvalues.size
    assert a.complete and low.complete and k_low < n - w
    assert lam[k_low] > a.lambda_upper == low.lambda_upper
    np.testing.assert_allclose(a.eigenvalues[:k_low], low.eigenvalues, rtol=0, atol=1e-10 * scale)
    finite = np.isfinite(a.participation)
    expect = np.zeros(n, bool)
    expect[:k_low] = True
    expect[n - w:] = True
    assert np.array_equal(finite, expect), (np.flatnonzero(finite), k_low)
    np.testing.assert_allclose(a.participation[:k_low], low.participation, rtol=1e-8)
    # participation of the dense eigenvectors where the modes are non-degenerate
    ref_part = participation_ratio(vec, d)
    nd = _nondegenerate(lam, scale) & expect
    assert nd[n - w:].sum() >= w - 2 and nd[d:k_low].sum() >= k_low - d - 2
    np.testing.assert_allclose(a.participation[nd], ref_part[nd], rtol=1e-6, atol=0)
    # zero modes: the d translations, whatever basis of them, have participation 1
    assert (a.n_zero_modes, a.n_extra_zero, a.n_negative) == (d, 0, 0)
    assert int(a.is_zero.sum()) == d and np.all(a.is_zero[:d])
    np.testing.assert_allclose(a.participation[:d], 1.0, rtol=1e-6)
    # omegas over the whole spectrum; the other results are those of the "lowest" route
    np.testing.assert_allclose(a.omegas[d:] ** 2, a.eigenvalues[d:], rtol=1e-12)
    assert np.all(a.omegas[:d] == 0)
    assert (a.e_is, a.pressure) == (low.e_is, low.pressure)
    assert a.shear_modulus == pytest.approx(low.shear_modulus, rel=1e-12)
    assert a.omega0 == pytest.approx(low.omega0, rel=1e-12)
    _same_histograms(a.stress, low.stress)


def test_analyze_all_eigenvalues_window_covers_the_rest():
    """level_window larger than what lies above the lowest modes: every mode has a participation."""
    conf = quenched_glass(2, 36, 3)
    a = analyze_inherent_structure(conf, POT, k=4, eigenvalues="all", level_window=72)
    lam, vec = np.linalg.eigh(hessian(conf, POT).toarray())
    assert np.all(np.isfinite(a.participation)) and a.participation.size == 72
    nd = _nondegenerate(lam, np.max(np.abs(lam)))
    np.testing.assert_allclose(a.participation[nd], participation_ratio(vec, 2)[nd], rtol=1e-6)


def test_analyze_all_with_full_spectrum_level_windows():
    """full_spectrum and eigenvalues = "all" share one spectrum; the level windows come from it."""
    conf = quenched_glass(2, 144, 7)
    a = analyze_inherent_structure(conf, POT, k=10, eigenvalues="all", level_window=20, full_spectrum=True)
    b = analyze_inherent_structure(conf, POT, k=10, full_spectrum=True, level_window=20)
    np.testing.assert_allclose(a.spectrum, b.spectrum, rtol=0, atol=1e-10 * b.spectrum[-1])
    assert set(a.level_windows) == set(b.level_windows)
    for name in a.level_windows:
        np.testing.assert_allclose(a.level_windows[name], b.level_windows[name], rtol=1e-8)


def test_hessian_from_terms_rejects_too_few_particles():
    """n_particles must cover every pair index (the numba kernel has no bounds checks)."""
    conf = quenched_glass(2, 64, 3)
    t = pair_terms(conf, POT)
    with pytest.raises(ValueError, match="n_particles = 10"):
        hessian_from_terms(t, 10)
    with pytest.raises(ValueError, match="delta"):
        hessian_from_terms(t, conf.N, delta=1.5)
