"""Checks of a finished study's outputs, shared by the local and the SLURM end-to-end tests.

``check_results(results_dir, config_dict)`` opens every table of SPEC §7, checks columns and
dtypes, row counts against the config, values in physical ranges, provenance metadata and the
expected figures, and raises AssertionError with a specific message on the first failure.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from glassvib.study import load_study
from glassvib.tables import COLUMNS, EXTRA_COLUMNS

FIGURES = ["cumulative_dos_s3", "cumulative_dos_s4", "stress_distribution", "level_ratios", "exponents",
           "participation"]
_ARROW = {"int64": "int64", "float64": "double", "bool": "bool", "string": "string"}
PROVENANCE_KEYS = ("glassvib_version", "git_commit", "config_hash", "seeds", "inputs")


def _check_schema(path: Path, columns: dict) -> None:
    schema = pq.read_schema(path)
    names = list(schema.names)
    assert names == list(columns), f"{path.name}: columns {names}, expected exactly {list(columns)}"
    for name, kind in columns.items():
        got = str(schema.field(name).type)
        assert got == _ARROW[kind], f"{path.name}: column {name} has type {got}, expected {_ARROW[kind]}"
    meta = {k.decode(): v.decode() for k, v in (schema.metadata or {}).items()}
    for key in PROVENANCE_KEYS:
        assert key in meta, f"{path.name}: provenance key {key!r} missing from Parquet metadata"
    assert meta["glassvib_version"] not in ("", None), f"{path.name}: empty glassvib_version"


def _point_set(df) -> set:
    return {(int(d), int(n), float(t), float(m), str(p))
            for d, n, t, m, p in zip(df["d"], df["N"], df["T_p"], df["taper"], df["potential"])}


def check_results(results_dir, config_dict) -> dict:
    """Check the outputs of a finished run of ``config_dict`` under ``results_dir``.

    Args:
        results_dir: the study's results folder (the config's ``results`` key, resolved).
        config_dict: the raw config (as loaded from YAML) that produced it.

    Returns:
        Summary dict (row counts per table, number of converged samples, exponents rows).

    Raises:
        AssertionError: naming the table, column and offending value.
    """
    res = Path(results_dir)
    study = load_study(config_dict)
    cfg = study.config
    tables = {}
    for name, cols in {**COLUMNS, **{k: EXTRA_COLUMNS[k] for k in ("exponent_scan", "level_ratio_hist")}}.items():
        path = res / "tables" / f"{name}.parquet"
        assert path.exists(), f"missing table {path}"
        _check_schema(path, cols)
        tables[name] = pq.read_table(path).to_pandas()
    expected_points = {(p.d, p.N, p.T_p, p.taper, p.potential) for p, _, _ in study.points.values()}
    n_expected = sum(n for _, n, _ in study.points.values())

    # samples ---------------------------------------------------------------------------------
    s = tables["samples"]
    assert len(s) == n_expected, f"samples.parquet has {len(s)} rows, expected {n_expected}"
    assert _point_set(s) == expected_points, f"samples: points {_point_set(s)} != {expected_points}"
    for key, grp in s.groupby(["d", "N", "T_p", "taper", "potential"]):
        n_pt = study.points[_path(key)][1]
        assert sorted(grp["sample"]) == list(range(n_pt)), f"samples of {key}: ids {sorted(grp['sample'])}"
        assert grp["seed"].nunique() >= 1
    conv = s[s["converged"]]
    assert len(conv) >= 0.75 * len(s), f"only {len(conv)}/{len(s)} samples converged"
    tol = float(cfg["quench"]["tol"])
    assert (conv["max_force"] < tol).all(), f"converged samples with max_force >= tol {tol}: {conv['max_force'].max()}"
    assert np.isfinite(conv["e_is"]).all() and (conv["e_is"] >= 0).all(), "e_is must be finite and >= 0 (repulsive)"
    assert (conv["e_is"] < 5).all(), f"e_is per particle implausibly large: {conv['e_is'].max()}"
    assert (conv["pressure"] > 0).all(), f"pressure must be > 0 for a purely repulsive glass: {conv['pressure'].min()}"
    # small glasses can have G < 0 in single samples (then omega0 is nan); the ensemble mean is > 0
    assert np.isfinite(conv["shear_modulus"]).all(), "shear modulus not finite"
    for key, grp in conv.groupby(["d", "N", "T_p", "taper", "potential"]):
        assert grp["shear_modulus"].mean() > 0, f"ensemble mean shear modulus <= 0 for {key}"
    L = conv["N"].to_numpy(float) ** (1.0 / conv["d"].to_numpy(float))
    G = conv["shear_modulus"].to_numpy()
    with np.errstate(invalid="ignore"):
        w0 = np.where(G > 0, 2 * math.pi * np.sqrt(G) / L, np.nan)
    assert np.allclose(conv["omega0"], w0, rtol=1e-6, equal_nan=True), "omega0 != 2 pi sqrt(G / rho) / L"
    assert (conv["n_zero_modes"] >= conv["d"]).all(), "fewer zero modes than the d translations"
    assert (conv["n_negative"] >= 0).all()
    fin = s[np.isfinite(s["T_p"])]
    for col in ("acc_move", "acc_swap"):
        v = fin[col].to_numpy()
        assert ((v > 0) & (v < 1)).all(), f"{col} outside (0, 1) at finite T_p: {v}"
    inf = s[~np.isfinite(s["T_p"])]
    assert inf["equilibrated"].all(), "T_p = inf samples are random positions (trivially equilibrated)"

    # modes -----------------------------------------------------------------------------------
    mo = tables["modes"]
    k = cfg["modes"]["k"]
    per = mo.groupby(["d", "N", "T_p", "taper", "potential", "sample"]).size()
    for key, count in per.items():
        want = key[0] * key[1] if k == "all" else int(k)
        assert count == want, f"modes of sample {key}: {count} rows, expected {want}"
    assert len(per) == len(conv), f"modes for {len(per)} samples, expected the {len(conv)} converged ones"
    assert (mo["participation"] > 0).all() and (mo["participation"] <= 1 + 1e-9).all(), "participation not in (0, 1]"
    pos = mo["omega2"] > 0
    assert np.allclose(mo.loc[pos, "omega"] ** 2, mo.loc[pos, "omega2"], rtol=1e-10), "omega != sqrt(omega2)"
    scale = mo["omega2"].abs().max()
    neg = mo[mo["omega2"] < -1e-8 * scale]
    n_neg_reported = int(conv["n_negative"].sum())
    assert len(neg) <= n_neg_reported, f"{len(neg)} clearly negative eigenvalues but only {n_neg_reported} flagged"

    # stress histograms -----------------------------------------------------------------------
    st = tables["stress_hist"]
    assert _point_set(st) == expected_points, "stress_hist does not cover every point"
    assert (st["count"] >= 0).all() and (st["bin_lo"] < st["bin_hi"]).all() and (st["bin_lo"] >= 0).all()
    for key, grp in st.groupby(["d", "N", "T_p", "taper", "potential", "component"]):
        assert grp["count"].sum() > 0, f"empty stress histogram for {key}"

    # exponents -------------------------------------------------------------------------------
    ex = tables["exponents"]
    assert len(ex) == len(expected_points), f"exponents has {len(ex)} rows, expected {len(expected_points)}"
    assert _point_set(ex) == expected_points
    pots = {(p.d, p.N, p.T_p, p.taper, p.potential): study.point_potential(path)
            for path, (p, _, _) in study.points.items()}
    for _, row in ex.iterrows():
        m = float(row["taper"])
        pot = pots[(int(row["d"]), int(row["N"]), float(row["T_p"]), m, row["potential"])]
        # the predictions come from the point's potential: 3 + 2/m and 1/m - 1 for the repulsive models
        assert row["s_ghet"] == pot.s_ghet and row["alpha_ghet"] == pot.alpha_ghet, f"GHET columns of {row['potential']}"
        if not pot.has_minimum:
            assert row["s_ghet"] == 3 + 2 / m and row["alpha_ghet"] == 1 / m - 1, f"GHET columns wrong for m = {m}"
        assert row["omega_c"] > 0 and row["n_samples"] >= 1
        grp = conv.merge(pd.DataFrame([{c: row[c] for c in ("d", "N", "T_p", "taper", "potential")}]))
        grp = grp[grp["n_negative"] == 0]
        rho = pot.default_density(int(row["d"]))
        w0 = 2 * math.pi * math.sqrt(grp["shear_modulus"].mean() / rho) / ((row["N"] / rho) ** (1 / row["d"]))
        frac = float(cfg["fit"]["omega_c_fraction"])
        assert math.isclose(row["omega_c"], frac * w0, rel_tol=1e-9), "omega_c != fraction * 2 pi sqrt(<G>/rho) / L"
        if row["n_modes_fit"] >= 2:
            assert np.isfinite(row["s_hat"]), f"s_hat not finite with {row['n_modes_fit']} modes"
            if np.isfinite(row["s_lo"]):
                assert row["s_lo"] <= row["s_hat"] <= row["s_hi"], f"s_hat outside its interval: {dict(row)}"
        if np.isfinite(row["alpha_hat"]):
            assert -3 <= row["alpha_hat"] <= 5, f"alpha_hat out of range {row['alpha_hat']}"
    assert np.isinf(ex["taper"]).any() == any(math.isinf(p.taper) for p, _, _ in study.points.values())
    assert np.isinf(ex["T_p"]).any() == any(math.isinf(p.T_p) for p, _, _ in study.points.values())

    # level ratios ----------------------------------------------------------------------------
    lr = tables["level_ratios"]
    windows = ["highest", "lowest", "middle"] if k == "all" else ["lowest"]
    assert len(lr) == len(expected_points) * len(windows), f"level_ratios has {len(lr)} rows"
    for key, grp in lr.groupby(["d", "N", "T_p", "taper", "potential"]):
        assert sorted(grp["window"]) == windows, f"windows of {key}: {sorted(grp['window'])}"
    assert (lr["n"] > 0).all()
    assert ((lr["r_mean"] > 0) & (lr["r_mean"] < 1)).all(), "r_mean of r~ must lie in (0, 1)"
    for c in ("ks_goe", "ks_poisson"):
        assert ((lr[c] >= 0) & (lr[c] <= 1)).all(), f"{c} outside [0, 1]"

    # figures and per-batch provenance ---------------------------------------------------------
    for f in FIGURES:
        for ext in ("png", "pdf"):
            p = res / "figures" / f"{f}.{ext}"
            assert p.exists() and p.stat().st_size > 1000, f"figure {p} missing or empty"
    for b in study.batch_dirs():
        for name in ("samples", "modes", "stress_hist"):
            meta = pq.read_schema(res / b / f"{name}.parquet").metadata or {}
            assert b"config_hash" in meta and b"seeds" in meta, f"{b}/{name}.parquet lacks provenance"
    return {"rows": {k: len(v) for k, v in tables.items()}, "converged": int(len(conv)),
            "exponents": ex}


def _path(key) -> str:
    from glassvib.study import Point

    return Point(int(key[0]), int(key[1]), float(key[2]), float(key[3]), str(key[4])).path


def job_counts(dry_run_output: str) -> dict:
    """rule -> job count from the 'Job stats' table of a snakemake dry run."""
    import re

    counts = {}
    for line in dry_run_output.split("Job stats:")[-1].splitlines():
        m = re.match(r"^(\w+)\s+(\d+)\s*$", line.strip())
        if m and m.group(1) != "total":
            counts[m.group(1)] = int(m.group(2))
    return counts
