"""Scan table and figures (issue 11): predictions are attached after the fit, exclusion flags follow
the intervals, the sample-count extrapolation follows half-width ~ units^(-1/2), figures are written."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from glassvib.scan_figures import (OTHER_CAMP_S, format_scan_table, make_scan_figures, scan_table,
                                   SCAN_FIGURES)

INF = math.inf


def _exponents(rows):
    cols = ["d", "N", "T_p", "taper", "s_hat", "s_lo", "s_hi"]
    df = pd.DataFrame(rows, columns=cols)
    df["potential"] = "tipl"
    df["n_samples"] = 20
    df["n_modes_fit"] = 100
    df["omega_c"] = 0.8
    df["s_ghet"] = 3.0 + 2.0 / df["taper"].astype(float)
    df["alpha_hat"], df["alpha_lo"], df["alpha_hi"] = -0.5, -0.51, -0.49
    df["alpha_ghet"] = 1.0 / df["taper"].astype(float) - 1.0
    return df


def _samples(exps, units, bad_seed=None):
    rows = []
    for _, e in exps.iterrows():
        for i in range(int(e["n_samples"])):
            seed = 1000 + i % units
            rows.append({"d": e["d"], "N": e["N"], "T_p": e["T_p"], "taper": e["taper"], "potential": "tipl",
                         "sample": i, "seed": seed, "converged": True, "equilibrated": seed != bad_seed})
    return pd.DataFrame(rows)


def test_predictions_and_exclusions():
    exps = _exponents([(3, 1000, INF, 2.0, 2.6, 2.3, 2.9),     # excludes 2 (GHET high T_p) and 4
                       (3, 1000, 0.33, INF, 3.2, 2.8, 3.6),    # holds GHET's 3, excludes 4
                       (3, 1000, 0.2, 3.0, 3.9, 3.5, 4.3),     # holds 3 + 2/3 and 4
                       (3, 1000, 0.33, 2.0, 2.5, 2.4, 2.6)])   # GHET = 4 = other camp, both excluded
    tab = scan_table(exps, _samples(exps, units=4)).set_index(["T_p", "taper"])
    assert tab.loc[(INF, 2.0), "s_pred_ghet"] == 2.0
    assert tab.loc[(0.33, INF), "s_pred_ghet"] == 3.0
    assert tab.loc[(0.2, 3.0), "s_pred_ghet"] == pytest.approx(3.0 + 2.0 / 3.0)
    assert (tab["s_pred_other"] == OTHER_CAMP_S).all()
    assert tab.loc[(INF, 2.0), ["excludes_ghet", "excludes_other"]].tolist() == [True, True]
    assert tab.loc[(0.33, INF), ["excludes_ghet", "excludes_other"]].tolist() == [False, True]
    assert tab.loc[(0.2, 3.0), ["excludes_ghet", "excludes_other"]].tolist() == [False, False]
    assert (tab["n_units"] == 4).all()
    # the measured columns are the exponents table's, untouched
    for col in ("s_hat", "s_lo", "s_hi", "alpha_hat"):
        np.testing.assert_array_equal(tab.sort_index()[col].to_numpy(),
                                      exps.set_index(["T_p", "taper"]).sort_index()[col].to_numpy())
    # units to decide: half-width h, gap g -> units * (h / (g / 2))^2; none where the predictions agree
    h, g = 0.4, 4.0 - (3.0 + 2.0 / 3.0)
    assert tab.loc[(0.2, 3.0), "units_to_decide"] == math.ceil(4 * (h / (g / 2)) ** 2)
    assert math.isnan(tab.loc[(0.33, 2.0), "units_to_decide"])
    text = format_scan_table(scan_table(exps, _samples(exps, units=4)))
    assert text.count("\n") == 2 + len(exps)
    assert "| GHET, 4 | decided |" in text and "| both (agree) | — |" in text
    assert f"| {math.ceil(4 * (h / (g / 2)) ** 2)} |" in text


def test_not_equilibrated_chains_are_counted():
    exps = _exponents([(3, 1000, 0.33, 2.0, 2.5, 2.4, 2.6)])
    tab = scan_table(exps, _samples(exps, units=5, bad_seed=1002))
    assert int(tab["n_not_equilibrated"].iloc[0]) == 1
    assert "1 not eq." in format_scan_table(tab)


def test_figures_and_table_written(tmp_path):
    rows = []
    for m in (1.0, 2.0, 3.0, 4.0, 8.0, INF):
        for t in (INF, 0.3):
            rows.append((3, 1000, t, m, 3.0, 2.7, 3.3))
    for n in (500, 2000):
        for m in (2.0, INF):
            rows.append((3, n, 0.33, m, 3.0, 2.6, 3.4))
    for d, n in ((2, 1024), (4, 1296)):
        for m in (2.0, INF):
            for t in (INF, 0.2):
                rows.append((d, n, t, m, 3.0, 2.6, 3.4))
    exps = _exponents(rows)
    scan = []
    for _, e in exps.iterrows():
        for q in ("s", "alpha"):
            for f in (0.4, 0.6, 1.0):
                scan.append({**{k: e[k] for k in ("d", "N", "T_p", "taper", "potential")}, "quantity": q,
                             "fraction": f, "edge": f, "n_fit": 10, "hat": 3.0, "lo": 2.5, "hi": 3.5})
    tables = tmp_path / "tables"
    tables.mkdir()
    exps.to_parquet(tables / "exponents.parquet")
    _samples(exps, units=5).to_parquet(tables / "samples.parquet")
    pd.DataFrame(scan).to_parquet(tables / "exponent_scan.parquet")
    paths = make_scan_figures(tables, tmp_path / "figures")
    for name in SCAN_FIGURES:
        for ext in ("png", "pdf"):
            assert (tmp_path / "figures" / f"{name}.{ext}").stat().st_size > 1000
    md = (tmp_path / "figures" / "scan_table.md").read_text()
    assert md.count("\n") == 2 + len(exps)
    assert len(paths) == 2 * len(SCAN_FIGURES) + 1
    assert not list((tmp_path / "figures").glob(".*tmp*"))


def test_one_unit_has_no_interval_and_excludes_nothing():
    """A point with one bootstrap unit (one MC chain) has no interval: the table says so instead of
    reporting both predictions excluded."""
    exps = _exponents([(3, 1000, 0.8, 3.0, 3.4, math.nan, math.nan)])
    md = format_scan_table(scan_table(exps, _samples(exps, units=1)))
    row = md.strip().splitlines()[-1]
    assert "no interval (one unit)" in row and "GHET" not in row and row.rstrip().endswith("| — |")
