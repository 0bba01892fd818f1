"""The KHGPS model as points of the study (issue 13): paths, reproducible batches, the window rule,
the A_g and s estimators on spectra with a known law, and the tables."""
import math

import numpy as np
import pandas as pd
import pytest

from glassvib import khgps_study as ks
from glassvib.tables import KHGPS_COLUMNS, conform


def test_point_path_round_trip_and_errors():
    pt = ks.KHGPSPoint(4000, 0.01, 0.15, 1.0)
    assert pt.path == "khgps/N4000/h0.01/J0.15/kappa1"
    assert ks.KHGPSPoint.from_path(pt.path) == pt
    with pytest.raises(ValueError, match="malformed"):
        ks.KHGPSPoint.from_path("khgps/N4000/h0.01/J0.15")
    with pytest.raises(ValueError, match="key J"):
        ks.KHGPSPoint(100, 0.01, -0.1, 1.0)
    with pytest.raises(ValueError, match="key kappa_0"):
        ks.KHGPSPoint(100, 0.01, 0.1, 0.0)
    with pytest.raises(ValueError, match="key N"):
        ks.KHGPSPoint(1, 0.01, 0.1, 1.0)


def _power_law_units(A, s, n_dof, top, n_units, seed):
    """Spectra of n_units samples whose modes below ``top`` form a Poisson process of intensity
    n_dof A w^s (D(w) = A w^s per degree of freedom), plus one mode above ``top`` each."""
    rng = np.random.default_rng(seed)
    mean = n_dof * A * top ** (s + 1) / (s + 1)
    units = []
    for _ in range(n_units):
        k = rng.poisson(mean)
        w = top * rng.random(k) ** (1.0 / (s + 1))
        units.append(np.sort(np.append(w, 2 * top)))
    return units


@pytest.mark.parametrize("s_true", [4.0, 3.0])
def test_estimators_recover_a_known_law(s_true):
    """Modes drawn from D(w) = A w^s: the window rule puts mode_fraction * N modes per sample in the
    window, s_hat's interval holds the true s, and with s = 4 the prefactor's interval holds A."""
    A, n, S = 50.0, 1000, 300
    units = _power_law_units(A, s_true, n, 0.3, S, seed=11)
    edge, K = ks.window_edge(units, n, 0.01)
    assert K == round(0.01 * n * S) and edge < 0.3
    samples = pd.DataFrame({"N": n, "h": 0.01, "J": 0.1, "kappa_0": 1.0, "sample": range(S), "msd": 1.0,
                            "n_negative": 0, "converged": True})
    modes = pd.concat([pd.DataFrame({"sample": i, "omega": w}) for i, w in enumerate(units)])
    row, scan = ks.point_estimates(samples, modes, 0.01, [0.005, 0.02], seed=3, n_boot=400)
    assert row["s_lo"] <= s_true <= row["s_hi"]
    assert row["s_hi"] - row["s_lo"] < 1.0
    assert row["n_modes_fit"] == K and row["complete"]
    if s_true == 4.0:
        assert row["A_g_lo"] <= A <= row["A_g_hi"]
    assert [r["mode_fraction"] for r in scan] == [0.005, 0.02]
    assert scan[0]["omega_c"] < row["omega_c"] < scan[1]["omega_c"]


def test_prefactor_is_the_poisson_ml_estimate():
    units = [np.array([0.1, 0.2, 0.5]), np.array([0.05, 0.6]), np.array([0.7])]
    a, lo, hi, k = ks.fit_prefactor(units, 0.4, n_dof=10, s=4.0, n_boot=200)
    assert k == 3
    assert a == pytest.approx(5 * 3 / (3 * 10 * 0.4 ** 5))
    assert lo <= a <= hi


def test_incomplete_window_is_flagged_not_dropped():
    """With the lowest k modes only, a window beyond the largest computed frequency of some sample
    is reported and flagged incomplete."""
    units = [np.linspace(0.1, 0.5, 5), np.linspace(0.1, 0.2, 5)]
    samples = pd.DataFrame({"N": 10, "h": 0.0, "J": 0.1, "kappa_0": 1.0, "sample": [0, 1], "msd": [1.0, 2.0],
                            "n_negative": 0, "converged": True})
    modes = pd.concat([pd.DataFrame({"sample": i, "omega": w}) for i, w in enumerate(units)])
    row, _ = ks.point_estimates(samples, modes, 0.4, seed=0, n_boot=50)
    assert not row["complete"] and row["n_modes_fit"] == 8


@pytest.fixture(scope="module")
def small_batch():
    pt = ks.KHGPSPoint(120, 0.01, 0.2, 1.0)
    return pt, ks.batch_rows(pt, 2024, 0, 3, k="all")


def test_batch_is_reproducible_and_independent_of_its_length(small_batch):
    pt, (s3, m3) = small_batch
    s2, m2 = ks.batch_rows(pt, 2024, 0, 2, k="all")
    pd.testing.assert_frame_equal(s3.iloc[:2].drop(columns="wall_s"), s2.drop(columns="wall_s"))
    pd.testing.assert_frame_equal(m3[m3["sample"] < 2].reset_index(drop=True), m2)
    assert s3["seed"].nunique() == 3
    assert (s3["seed"] == [ks.sample_seed(2024, i) for i in range(3)]).all()
    assert s3["converged"].all() and (s3["max_grad"] <= 1e-10).all() and (s3["n_negative"] == 0).all()


def test_lowest_modes_are_the_bottom_of_the_full_spectrum(small_batch):
    pt, (s_all, m_all) = small_batch
    s_k, m_k = ks.batch_rows(pt, 2024, 0, 1, k=10)
    full = m_all[m_all["sample"] == 0]["omega2"].to_numpy()
    np.testing.assert_allclose(m_k["omega2"].to_numpy(), full[:10], rtol=1e-9, atol=1e-12)
    pr = m_k["participation"].to_numpy()
    assert np.all((pr > 0) & (pr <= 1)) and m_all["participation"].isna().all()


def test_tables_follow_their_contract(small_batch):
    pt, (smp, mds) = small_batch
    tabs = ks.aggregate(smp, mds, {pt.path: {"mode_fraction": 0.05, "scan_mode_fractions": [0.03]}}, seed=1)
    for name, df in tabs.items():
        assert list(conform(df, name).columns) == list(KHGPS_COLUMNS[name])
    ex = tabs["khgps_exponents"].iloc[0]
    assert ex["n_samples"] == 3 and ex["s_other"] == 4.0 and ex["complete"]
    assert math.isclose(ex["msd_mean"], smp["msd"].mean())
    with pytest.raises(ValueError, match="no fit settings"):
        ks.aggregate(smp, mds, {}, seed=1)


def test_binned_density_follows_a_known_law():
    """The figure's D(w): equal-count bins of modes drawn from D = A w^4 give D / (A w^4) = 1
    within the counting noise, only below the frequency every sample reaches."""
    from glassvib.khgps_figures import dos_curve

    A, n, S = 50.0, 1000, 200
    units = _power_law_units(A, 4.0, n, 0.3, S, seed=5)
    modes = pd.concat([pd.DataFrame({"sample": i, "omega": w}) for i, w in enumerate(units)])
    x, y, counts = dos_curve(modes, pd.DataFrame({"N": [n] * S}))
    ratio = y / (A * x ** 4)
    assert len(x) >= 20 and x.max() < 0.3 and counts.min() >= 10
    assert abs(np.median(ratio) - 1) < 0.1 and np.all(np.abs(ratio - 1) < 5 / np.sqrt(counts))
