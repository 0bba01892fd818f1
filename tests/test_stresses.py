"""Pair stresses: analytic ln sigma (also where sigma underflows), histograms on fixed log bins
(additive across samples), off-diagonal traceless components (SPEC §4, paper Eq. 86-90)."""
import math

import mpmath
import numpy as np
import pytest

from glassvib.configuration import random_configuration
from glassvib.potential import TaperedIPL
from glassvib.stresses import (STRESS_LOG10_EDGES, component_names, histogram_log_values, log_abs_dphi,
                               log_pair_stress, stress_components, stress_histograms)
from glassvib.system import pair_stresses, pair_terms

TAPERS = [1, 2, 3, 4, math.inf]


@pytest.mark.parametrize("m", TAPERS)
def test_log_stress_matches_direct_where_representable(m):
    pot = TaperedIPL(taper=m)
    rng = np.random.default_rng(0)
    r = rng.uniform(0.6, pot.r_cut * (1 - 1e-6), 5000)
    a = rng.uniform(0.73, 1.62, r.size)
    direct = np.abs(r * pot.dphi(r, a))
    ok = direct > 1e-300
    assert ok.sum() > 4000
    np.testing.assert_allclose(log_pair_stress(r[ok], a[ok], pot), np.log(direct[ok]), rtol=0, atol=1e-9)
    assert np.all(np.isneginf(log_pair_stress(np.array([pot.r_cut, 2.5]), 1.0, pot)))


def mp_log_sigma(r, a, n, rc, m):
    """ln |r phi'(r)| in 60-digit arithmetic straight from the SPEC §2 formula (numerical derivative)."""
    mpmath.mp.dps = 60
    r, a, rc = mpmath.mpf(r), mpmath.mpf(a), mpmath.mpf(rc)

    def phi(rr):
        x = rr / rc
        t = mpmath.exp(x / (2 * (x - 1))) if m == math.inf else (1 - x * x) ** m
        return (a / rc) ** n * (x ** (-n) - 1) * t

    return float(mpmath.log(abs(r * mpmath.diff(phi, r))))


@pytest.mark.parametrize("m", [2, 4, math.inf])
def test_log_stress_against_high_precision_near_cutoff(m):
    """Close to r_c (where sigma is far below 1e-300 for m = inf) ln sigma still matches a
    60-digit evaluation; the relative accuracy is limited by r_c - r in double precision."""
    pot = TaperedIPL(taper=m)
    rc = pot.r_cut
    for gap in [1e-2, 1e-3, 3e-4, 1e-4]:
        r = rc - gap
        ref = mp_log_sigma(r, 1.1, 12, rc, m)
        got = float(log_pair_stress(np.array([r]), 1.1, pot)[0])
        assert got == pytest.approx(ref, rel=1e-9, abs=1e-9)
    if m == math.inf:
        assert log_pair_stress(np.array([rc - 1e-4]), 1.1, pot)[0] < -5000  # sigma ~ e^-5000


def test_log_abs_dphi_monotone_near_cutoff():
    pot = TaperedIPL(taper=math.inf)
    r = pot.r_cut - np.logspace(-1, -6, 50)
    v = log_abs_dphi(r, 1.0, pot)
    assert np.all(np.isfinite(v)) and np.all(np.diff(v) < 0)


def test_component_names():
    assert component_names(2) == ["sigma", "xy"]
    assert component_names(3) == ["sigma", "xy", "xz", "yz"]
    assert len(component_names(4)) == 1 + 6


@pytest.mark.parametrize("d,N", [(2, 64), (3, 125)])
def test_components_match_direct_tensor(d, N):
    conf = random_configuration(d, N, seed=3)
    pot = TaperedIPL()
    comps = stress_components(conf, pot)
    t = pair_terms(conf, pot)
    psi = pair_stresses(conf, pot)
    np.testing.assert_allclose(comps["sigma"], np.log(np.abs(psi)), atol=1e-9)
    # traceless tensor (e e - 1/d) psi: its off-diagonal part is e_a e_b psi (paper Eq. 89)
    tensor = (np.einsum("pa,pb->pab", t.unit, t.unit) - np.eye(d) / d) * psi[:, None, None]
    for name in component_names(d)[1:]:
        a, b = "xyzw".index(name[0]), "xyzw".index(name[1])
        direct = np.log(np.abs(tensor[:, a, b]))
        np.testing.assert_allclose(comps[name], direct, atol=1e-9)


def test_histograms_are_additive_and_complete():
    pot = TaperedIPL(taper=math.inf)
    c1, c2 = random_configuration(3, 125, seed=1), random_configuration(3, 125, seed=2)
    h1, h2 = stress_histograms(c1, pot), stress_histograms(c2, pot)
    for h in (h1, h2):
        for name in component_names(3):
            assert h.counts[name].sum() + h.below[name] + h.above[name] == h.n_pairs
    both = h1 + h2
    pooled = {k: np.concatenate([stress_components(c1, pot)[k], stress_components(c2, pot)[k]])
              for k in component_names(3)}
    for name, lv in pooled.items():
        counts, below, above = histogram_log_values(lv, STRESS_LOG10_EDGES)
        np.testing.assert_array_equal(both.counts[name], counts)
        assert (both.below[name], both.above[name]) == (below, above)
    with pytest.raises(ValueError, match="bins"):
        h1 + stress_histograms(c2, pot, log10_edges=np.linspace(-10, 0, 11))


def test_histogram_bins_by_log10():
    edges = np.array([-3.0, -2.0, -1.0, 0.0])
    counts, below, above = histogram_log_values(np.log([1e-4, 2e-3, 1e-2, 0.5, 0.99, 1.0, 7.0]), edges)
    assert list(counts) == [1, 1, 2] and below == 1 and above == 2
    with pytest.raises(ValueError, match="NaN"):
        histogram_log_values(np.array([np.nan]), edges)
