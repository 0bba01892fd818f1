"""Result tables of SPEC §7: column contracts, per-batch Parquet with provenance, aggregation.

Contract: every table has exactly the columns and dtypes of :data:`COLUMNS` (``taper`` and ``T_p``
float64 with +inf for infinity). Per-batch files (``<point>/batchNNN/{samples,modes,stress_hist}
.parquet``) have the same columns as the aggregated tables, except that the per-batch stress
histogram also carries ``sample`` (so the alpha estimator can bootstrap). Bootstrap intervals
resample independent units: MC chains (the samples of one chain share its diameter set) and, for
T_p = inf, single samples; both are identified by the ``seed`` column.
:func:`aggregate` concatenates/sums the batches and computes the ensemble tables (exponents,
level_ratios) plus two extra tables for the figures (exponent_scan, level_ratio_hist).
Every file is written atomically with provenance key-value metadata (:mod:`glassvib.provenance`).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .provenance import atomic_path, provenance
from .study import BUILTIN_POTENTIAL, Point, batch_seed, builtin_potential

__all__ = ["COLUMNS", "EXTRA_COLUMNS", "KHGPS_COLUMNS", "POINT_COLUMNS", "write_table", "read_table", "read_provenance",
           "conform", "aggregate", "write_tables"]

POINT_COLUMNS = {"d": "int64", "N": "int64", "T_p": "float64", "taper": "float64", "potential": "string"}

#: SPEC §7 tables: column -> pyarrow type name, in order.
COLUMNS = {
    "samples": {**POINT_COLUMNS, "sample": "int64", "seed": "int64", "e_is": "float64",
                "pressure": "float64", "shear_modulus": "float64", "omega0": "float64",
                "max_force": "float64", "converged": "bool", "n_zero_modes": "int64",
                "n_negative": "int64", "equilibrated": "bool", "acc_move": "float64",
                "acc_swap": "float64"},
    "modes": {**POINT_COLUMNS, "sample": "int64", "rank": "int64", "omega2": "float64",
              "omega": "float64", "participation": "float64"},
    "stress_hist": {**POINT_COLUMNS, "component": "string", "bin_lo": "float64", "bin_hi": "float64",
                    "count": "int64"},
    "exponents": {**POINT_COLUMNS, "n_samples": "int64", "n_modes_fit": "int64", "omega_c": "float64",
                  "s_hat": "float64", "s_lo": "float64", "s_hi": "float64", "s_ghet": "float64",
                  "alpha_hat": "float64", "alpha_lo": "float64", "alpha_hi": "float64",
                  "alpha_ghet": "float64"},
    "level_ratios": {**POINT_COLUMNS, "window": "string", "n": "int64", "r_mean": "float64",
                     "ks_goe": "float64", "ks_poisson": "float64"},
}

#: Extra tables (not in SPEC §7) used by the figures, and the per-batch stress histogram.
EXTRA_COLUMNS = {
    "exponent_scan": {**POINT_COLUMNS, "quantity": "string", "fraction": "float64", "edge": "float64",
                      "n_fit": "int64", "hat": "float64", "lo": "float64", "hi": "float64"},
    "level_ratio_hist": {**POINT_COLUMNS, "window": "string", "bin_lo": "float64", "bin_hi": "float64",
                         "density": "float64"},
    "batch_stress_hist": {**POINT_COLUMNS, "sample": "int64", "component": "string", "bin_lo": "float64",
                          "bin_hi": "float64", "count": "int64"},
}

#: KHGPS tables (issue 13): the model of paper 003 has no positions, so its own key columns
#: (:data:`glassvib.khgps_study.KHGPS_POINT_COLUMNS`) and no stresses, G, w_0 or level ratios.
_KP = {"N": "int64", "h": "float64", "J": "float64", "kappa_0": "float64"}
_KWIN = {"mode_fraction": "float64", "omega_c": "float64", "n_modes_fit": "int64", "complete": "bool",
         "s_hat": "float64", "s_lo": "float64", "s_hi": "float64", "A_g_hat": "float64", "A_g_lo": "float64",
         "A_g_hi": "float64"}
KHGPS_COLUMNS = {
    "khgps_samples": {**_KP, "sample": "int64", "seed": "int64", "energy": "float64", "msd": "float64",
                      "max_grad": "float64", "converged": "bool", "n_iter": "int64", "n_newton": "int64",
                      "route": "string", "n_negative": "int64", "n_modes": "int64", "wall_s": "float64"},
    "khgps_modes": {**_KP, "sample": "int64", "rank": "int64", "omega2": "float64", "omega": "float64",
                    "participation": "float64"},
    "khgps_exponents": {**_KP, "n_samples": "int64", **_KWIN, "msd_mean": "float64", "msd_lo": "float64",
                        "msd_hi": "float64", "n_negative": "int64", "n_not_converged": "int64", "s_other": "float64"},
    "khgps_exponent_scan": {**_KP, **_KWIN},
}
EXTRA_COLUMNS.update(KHGPS_COLUMNS)

_PA = {"int64": pa.int64(), "float64": pa.float64(), "bool": pa.bool_(), "string": pa.string()}
_PD = {"int64": "int64", "float64": "float64", "bool": "bool", "string": "object"}
_KEY = list(POINT_COLUMNS)


def _schema(kind: str) -> pa.Schema:
    cols = COLUMNS.get(kind) or EXTRA_COLUMNS[kind]
    return pa.schema([(c, _PA[t]) for c, t in cols.items()])


def conform(df: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Select and cast the columns of table ``kind`` (ValueError naming missing columns)."""
    cols = COLUMNS.get(kind) or EXTRA_COLUMNS.get(kind)
    if cols is None:
        raise ValueError(f"unknown table kind {kind!r}; expected one of {sorted(COLUMNS) + sorted(EXTRA_COLUMNS)}")
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise ValueError(f"table {kind}: missing columns {missing}; expected {list(cols)}")
    out = df.loc[:, list(cols)].copy()
    for c, t in cols.items():
        out[c] = out[c].astype(_PD[t])
    return out.reset_index(drop=True)


def write_table(df: pd.DataFrame, path, kind: str, meta: dict | None = None) -> None:
    """Write ``df`` as table ``kind`` to ``path`` atomically, with provenance key-value metadata."""
    df = conform(df, kind)
    schema = _schema(kind)
    table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
    meta = dict(meta or provenance())
    meta["glassvib_table"] = kind
    merged = {**(table.schema.metadata or {}), **{k.encode(): str(v).encode() for k, v in meta.items()}}
    table = table.replace_schema_metadata(merged)
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp)


def read_table(path) -> pd.DataFrame:
    """Read one table (any kind) into pandas; strings come back as Python str objects."""
    return pq.read_table(path).to_pandas()


def read_provenance(path) -> dict:
    """The provenance key-value metadata of a Parquet file (without pandas' own entry)."""
    md = pq.read_schema(path).metadata or {}
    return {k.decode(): v.decode() for k, v in md.items() if k != b"pandas"}


# --------------------------------------------------------------------------------------------
# aggregation


def _concat(batch_dirs, name) -> pd.DataFrame:
    frames = [read_table(Path(b) / f"{name}.parquet") for b in batch_dirs]
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=list((COLUMNS.get(name) or EXTRA_COLUMNS["batch_stress_hist"])))
    return pd.concat(frames, ignore_index=True)


def _stress_fit(piv, sigma_c, seed, n_boot):
    """alpha from per-unit log-binned counts (pivot: units x (bin_lo, bin_hi)) by the exact binned
    estimator of :func:`glassvib.ensemble.fit_alpha`; the underflow bin [0, lowest edge) is passed
    as ``below``."""
    from .ensemble import fit_alpha

    lo = np.array([c[0] for c in piv.columns], dtype=float)
    hi = np.array([c[1] for c in piv.columns], dtype=float)
    counts = piv.to_numpy(dtype=float)
    under = lo <= 0
    keep = (lo > 0) & np.isfinite(hi)
    below = counts[:, under].sum(axis=1) if under.any() else None
    lo, hi, counts = lo[keep], hi[keep], counts[:, keep]
    if lo.size < 2 or not np.allclose(lo[1:], hi[:-1], rtol=1e-9):
        raise ValueError("stress histogram bins are not contiguous; cannot fit alpha")
    edges = np.log10(np.append(lo, hi[-1]))
    return fit_alpha(counts, edges, sigma_c, below, seed=seed, n_boot=n_boot)


def batch_potentials(batch_dirs) -> dict:
    """(potential id, taper) -> pair potential of the batches, from the definition each batch's
    samples.parquet records in its provenance (key ``potential``); batches written before issue 12
    hold the built-in tipl, defined by its id and taper. ValueError if one id has two definitions."""
    from .potentials import make_potential

    out = {}
    for b in batch_dirs:
        path = Path(b) / "samples.parquet"
        spec = read_provenance(path).get("potential")
        df = read_table(path)
        for pid, m in set(zip(df["potential"], df["taper"])):
            if spec is None or pid == BUILTIN_POTENTIAL:
                pot = builtin_potential(float(m))
            else:
                pot = make_potential(json.loads(spec), where=f"{path}: potential {pid}")
            old = out.setdefault((str(pid), float(m)), pot)
            if old != pot:
                raise ValueError(f"potential {pid!r} has two definitions among the batches ({old.spec()} and "
                                 f"{pot.spec()} in {b}); give each definition its own id")
    return out


def aggregate(batch_dirs, fit: dict, seed: int = 0, level_window: int = 50) -> dict:
    """Combine per-batch Parquet files into the SPEC §7 tables and the two figure tables.

    Args:
        batch_dirs: folders that each hold samples.parquet, modes.parquet, stress_hist.parquet.
        fit: ``omega_c_fraction``, ``scan_fractions``, ``sigma_c``, ``n_bootstrap`` (config ``fit``).
        seed: base seed of the bootstrap streams (one stream per point, derived by SeedSequence).
        level_window: levels per window for the level-spacing ratios (config ``modes.level_window``).

    Returns:
        dict table name -> DataFrame (names of :data:`COLUMNS` and :data:`EXTRA_COLUMNS`, without
        ``batch_stress_hist``).

    Raises:
        ValueError: when a partial spectrum (``modes.k``) does not reach the fit window in some sample.
    """
    from .ensemble import ensemble_omega0, exponent_row, fit_s, level_ratio_rows
    from .observables import level_ratio_windows

    pots = batch_potentials(batch_dirs)
    samples = _concat(batch_dirs, "samples")
    modes = _concat(batch_dirs, "modes")
    bstress = _concat(batch_dirs, "stress_hist")
    out = {"samples": samples, "modes": modes}
    out["stress_hist"] = (bstress.groupby(_KEY + ["component", "bin_lo", "bin_hi"], sort=True,
                                          dropna=False)["count"].sum().reset_index())
    exps, scans, levels, lhists = [], [], [], []
    frac = float(fit["omega_c_fraction"])
    nboot = int(fit["n_bootstrap"])
    for key, smp in samples.groupby(_KEY, sort=True, dropna=False):
        point = dict(zip(_KEY, key))
        # bootstrap stream of this point: from the base seed and the point's path, so adding other
        # points to the study leaves this point's intervals unchanged
        ppath = Point(int(point["d"]), int(point["N"]), float(point["T_p"]), float(point["taper"]),
                      str(point["potential"])).path
        rng_seed = batch_seed(int(seed), "bootstrap/" + ppath, 0)
        conv = smp[smp["converged"].astype(bool)]
        # protocol rule (independent of the measured values): saddles (negative modes) are left out
        stable = conv[conv["n_negative"] == 0]
        pmodes = modes.merge(pd.DataFrame([point]), on=_KEY)
        nz = dict(zip(conv["sample"], conv["n_zero_modes"]))
        # bootstrap unit = independent stream: one MC chain (its samples share the chain's diameter
        # set, so they are not independent), or one sample for T_p = inf; both identified by `seed`
        unit = dict(zip(conv["sample"], conv["seed"]))
        units: dict = {}
        omegas, spectra, zeros, full = [], [], [], True
        dof = int(point["d"]) * int(point["N"])
        for s, grp in pmodes[pmodes["sample"].isin(conv["sample"])].groupby("sample", sort=True):
            grp = grp.sort_values("rank")
            spectra.append(grp["omega2"].to_numpy())
            zeros.append(int(nz[s]))
            full &= len(grp) == dof
            if s in set(stable["sample"]):
                w = grp["omega"].to_numpy()
                omegas.append(w[w > 0])  # zero modes have omega = 0, negative ones nan
                units.setdefault(unit[s], []).append(omegas[-1])
        # ensemble w_0 = 2 pi sqrt(<G> / rho) / L from the mean modulus of the stable samples at the
        # potential's density
        pot = pots[(str(point["potential"]), float(point["taper"]))]
        rho = pot.default_density(int(point["d"]))
        box = (float(point["N"]) / rho) ** (1.0 / float(point["d"]))
        omega0 = ensemble_omega0(stable["shear_modulus"], rho, box) if len(stable) else float("nan")
        omega_c = frac * omega0
        reach = min((float(np.max(w)) for w in omegas if w.size), default=float("nan"))
        if not full and omegas and not reach > omega_c:
            raise ValueError(
                f"modes.k too small for point {point}: in some sample the highest computed mode "
                f"({reach:.4g}) lies below the fit edge omega_c = {omega_c:.4g}; raise modes.complete_to "
                f"or modes.k, or use k: all")
        pooled = [np.concatenate(v) for _, v in sorted(units.items())]
        s_fit = a_fit = None
        if omegas and np.isfinite(omega_c):
            s_fit = fit_s(pooled, omega_c, int(rng_seed), nboot)
            for f in fit["scan_fractions"]:
                if not full and not reach > float(f) * omega0:
                    continue  # partial spectra: the scan stops where completeness ends
                rs = fit_s(pooled, float(f) * omega0, int(rng_seed), nboot)
                scans.append({**point, "quantity": "s", "fraction": float(f), "edge": float(f) * omega0,
                              "n_fit": int(rs.n_modes), "hat": rs.s_hat, "lo": rs.s_lo, "hi": rs.s_hi})
        # alpha from the per-sample histograms of sigma = |r phi'(r)|
        st = bstress.merge(pd.DataFrame([point]), on=_KEY)
        st = st[(st["component"] == "sigma") & st["sample"].isin(conv["sample"])]
        if len(st):
            st = st.assign(unit=st["sample"].map(unit))  # same bootstrap units as for s
            piv = st.pivot_table(index="unit", columns=["bin_lo", "bin_hi"], values="count",
                                 aggfunc="sum", fill_value=0).sort_index(axis=1)
            sigma_c = float(fit["sigma_c"])
            a_fit = _stress_fit(piv, sigma_c, int(rng_seed), nboot)
            for f in (0.01, 0.1, 1.0, 10.0, 100.0):
                try:
                    r2 = _stress_fit(piv, sigma_c * f, int(rng_seed), max(nboot // 5, 10))
                except ValueError:  # edge outside the binned range
                    continue
                scans.append({**point, "quantity": "alpha", "fraction": f, "edge": r2.omega_c,
                              "n_fit": int(r2.n_modes), "hat": r2.s_hat, "lo": r2.s_lo, "hi": r2.s_hi})
        # the row, with the predictions of the point's potential attached after the fits
        exps.append(exponent_row(point, pot, len(omegas), omega_c, s_fit, a_fit))
        # level-spacing ratios (full spectra: three windows; partial: the lowest window only)
        if spectra:
            wins = level_ratio_windows(spectra, width=level_window, n_zero=zeros)
            edges = np.linspace(0.0, 1.0, 21)
            keep = None if full else ("lowest",)
            levels += [{**point, **r} for r in level_ratio_rows(wins, only=keep)]
            for name, wr in wins.items():
                if not full and name != "lowest":
                    continue
                if wr.n:
                    dens, _ = np.histogram(wr.ratios, bins=edges, density=True)
                    for j in range(len(dens)):
                        lhists.append({**point, "window": name, "bin_lo": edges[j], "bin_hi": edges[j + 1],
                                       "density": dens[j]})
    out["exponents"] = pd.DataFrame(exps, columns=list(COLUMNS["exponents"]))
    out["level_ratios"] = pd.DataFrame(levels, columns=list(COLUMNS["level_ratios"]))
    out["exponent_scan"] = pd.DataFrame(scans, columns=list(EXTRA_COLUMNS["exponent_scan"]))
    out["level_ratio_hist"] = pd.DataFrame(lhists, columns=list(EXTRA_COLUMNS["level_ratio_hist"]))
    return {k: conform(v, k) for k, v in out.items()}


def write_tables(tables: dict, outdir, meta: dict) -> list:
    """Write each table of :func:`aggregate` to ``outdir/<name>.parquet``; returns the paths."""
    paths = []
    for name, df in tables.items():
        path = Path(outdir) / f"{name}.parquet"
        write_table(df, path, name, meta)
        paths.append(path)
    return paths
