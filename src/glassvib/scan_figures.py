"""Figures and the verdict table of a scan over taper order, system size and dimension (issue 11),
drawn from the aggregated tables only.

Contract: :func:`scan_table` joins the ``exponents`` and ``samples`` tables into one row per point
(d, N, T_p, m, samples, bootstrap units, modes in the fit, s_hat [95 %], alpha_hat [95 %]) and adds,
*after* the fit, the predictions and whether the interval excludes them: GHET (paper 001) s = 2 at
T_p = inf and s = 3 + 2/m at a finite (low) T_p (the ``s_ghet`` column of the exponents table), and
s = 4 (papers 002-004) everywhere. ``units_to_decide`` is the number of bootstrap units at which the
95 % half-width would fall to half the distance between the two predictions (an interval narrower
than that gap cannot hold both), extrapolated as half-width ~ units^(-1/2) from the measured
interval: an estimate, not a measurement; NaN where the predictions coincide (m = 2 at low T_p). The plots (s_hat against 1/m, N, d; the window scan; alpha_hat
against 1/m) draw the predictions as lines beside the points; nothing here feeds back into a fit.
:func:`make_scan_figures` reads a tables folder and writes the figures (PNG + PDF) and
``scan_table.md`` (the table as Markdown) into the output folder.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .figures import KEY, _fmt, _save  # noqa: E402

__all__ = ["scan_table", "format_scan_table", "plot_s_vs_taper", "plot_s_vs_size", "plot_s_vs_dimension",
           "plot_window_scan", "plot_alpha_vs_taper", "plot_s_by_model", "make_scan_figures", "SCAN_FIGURES",
           "OTHER_CAMP_S"]

SCAN_FIGURES = ["scan_s_vs_taper", "scan_s_vs_size", "scan_s_vs_dimension", "scan_window", "scan_alpha_vs_taper",
                "scan_s_by_model"]
#: the other camp's exponent (papers 002-004): s = 4 for every m, T_p and d
OTHER_CAMP_S = 4.0
#: GHET's exponent at T_p = inf (paper 001: high parent temperature)
GHET_HIGH_TP_S = 2.0
_M_COLORS = {1.0: "tab:purple", 2.0: "black", 3.0: "tab:blue", 4.0: "tab:green", 8.0: "tab:orange",
             math.inf: "tab:red"}


def _inv_m(m) -> float:
    return 0.0 if math.isinf(float(m)) else 1.0 / float(m)


def _prediction(exponents, row):
    """GHET's s (the exponents table's ``s_ghet``) of the point of ``row`` (a window-scan row)."""
    if exponents is None:
        return None
    hit = exponents
    for k in ("d", "N", "T_p", "taper", "potential"):
        hit = hit[hit[k] == row[k]]
    return float(hit["s_ghet"].iloc[0]) if len(hit) else None


def _ghet(row) -> float:
    return GHET_HIGH_TP_S if math.isinf(float(row["T_p"])) else float(row["s_ghet"])


def scan_table(exponents: pd.DataFrame, samples: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per point: the measured exponents, then the predictions and which the interval excludes."""
    df = exponents.copy()
    if samples is not None and len(samples):
        g = samples.groupby(KEY, dropna=False)
        extra = pd.DataFrame({"n_units": g["seed"].nunique(),
                              "n_not_equilibrated": g.apply(_not_equilibrated_units, include_groups=False),
                              "n_not_converged": g["converged"].apply(lambda c: int((~c.astype(bool)).sum()))})
        df = df.merge(extra.reset_index(), on=KEY, how="left")
    else:
        df["n_units"] = df["n_samples"]
        df["n_not_equilibrated"] = 0
        df["n_not_converged"] = 0
    df["half_width"] = (df["s_hi"] - df["s_lo"]) / 2.0
    df["s_pred_ghet"] = df.apply(_ghet, axis=1)
    df["s_pred_other"] = OTHER_CAMP_S
    inside = lambda p: (df["s_lo"] <= p) & (p <= df["s_hi"])  # noqa: E731
    df["excludes_ghet"] = ~inside(df["s_pred_ghet"])
    df["excludes_other"] = ~inside(df["s_pred_other"])
    gap = (df["s_pred_ghet"] - df["s_pred_other"]).abs()
    need = df["n_units"] * (df["half_width"] / (gap / 2.0)) ** 2
    df["units_to_decide"] = np.where(gap > 0, np.ceil(need), np.nan)
    return df.sort_values(["d", "N", "T_p", "taper", "potential"],
                          ascending=[True, True, False, True, True]).reset_index(drop=True)


def _not_equilibrated_units(grp) -> int:
    """Chains (distinct seeds) with at least one sample flagged not equilibrated (finite T_p only)."""
    bad = grp.loc[~grp["equilibrated"].astype(bool), "seed"]
    return int(bad.nunique())


def format_scan_table(df: pd.DataFrame) -> str:
    """The scan table as Markdown (docs/results.md)."""
    head = ("| d | N | T_p | m | potential | samples (units) | modes in fit | s_hat [95 %] | half-width | "
            "alpha_hat [95 %] | GHET s | excludes | units to decide |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    rows = []
    for _, r in df.iterrows():
        ex = [name for name, flag in (("GHET", r["excludes_ghet"]), ("4", r["excludes_other"])) if flag]
        if r["s_pred_ghet"] == r["s_pred_other"]:
            ex = ["both (agree)"] if ex else []
        if not (np.isfinite(r["s_lo"]) and np.isfinite(r["s_hi"])):
            ex = ["no interval (one unit)"]
        ne = f", {int(r['n_not_equilibrated'])} not eq." if r.get("n_not_equilibrated", 0) else ""
        if not np.isfinite(r["units_to_decide"]) or ex == ["no interval (one unit)"]:
            decide = "—"
        elif r["excludes_ghet"] or r["excludes_other"]:
            decide = "decided"
        else:
            decide = f"{int(r['units_to_decide'])}"
        rows.append(
            f"| {int(r['d'])} | {int(r['N'])} | {_fmt(r['T_p'])} | {_fmt(r['taper'])} | {r['potential']} | "
            f"{int(r['n_samples'])} ({int(r['n_units'])}{ne}) | {int(r['n_modes_fit'])} | "
            f"{r['s_hat']:.2f} [{r['s_lo']:.2f}, {r['s_hi']:.2f}] | {r['half_width']:.2f} | "
            f"{r['alpha_hat']:.3f} [{r['alpha_lo']:.3f}, {r['alpha_hi']:.3f}] | {r['s_pred_ghet']:.3g} | "
            f"{', '.join(ex) if ex else 'neither'} | {decide} |")
    return head + "\n".join(rows) + "\n"


# ------------------------------------------------------------------------------------------------
def _errorbar(ax, x, df, **kw):
    y = df["s_hat"].to_numpy()
    err = np.vstack([y - df["s_lo"].to_numpy(), df["s_hi"].to_numpy() - y])
    return ax.errorbar(x, y, yerr=err, capsize=3, ls="none", **kw)


def plot_s_vs_taper(table: pd.DataFrame, d: int = 3, N: int = 1000):
    """s_hat [95 %] against 1/m at T_p = inf and at the low T_p of each m, with GHET's s of each
    point's potential (the table's s_ghet), 4 and 2."""
    sel = table[(table["d"] == d) & (table["N"] == N)]
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    low = sel[~np.isinf(sel["T_p"].astype(float))].sort_values("taper")
    if len(low):
        ax.plot(low["taper"].map(_inv_m), low["s_ghet"], "kd-", mfc="none", lw=0.8,
                label="GHET, low T_p: the potential's s (3 + 2/m)")
    ax.axhline(OTHER_CAMP_S, color="tab:gray", ls="--", lw=1, label="s = 4 (papers 002-004)")
    ax.axhline(GHET_HIGH_TP_S, color="tab:blue", ls=":", lw=1, label="GHET, high T_p: s = 2")
    hi = sel[np.isinf(sel["T_p"].astype(float))]
    lo = sel[~np.isinf(sel["T_p"].astype(float))]
    if len(hi):
        _errorbar(ax, hi["taper"].map(_inv_m) - 0.01, hi, marker="o", mfc="white", color="tab:blue",
                  label="T_p = ∞")
    if len(lo):
        _errorbar(ax, lo["taper"].map(_inv_m) + 0.01, lo, marker="s", color="tab:red", label="low T_p (per m)")
        for _, r in lo.iterrows():
            ax.annotate(f"{_fmt(r['T_p'])}", (_inv_m(r["taper"]) + 0.015, r["s_hat"]), fontsize=7, color="tab:red")
    ax.set_xlabel("1/m (m = taper order; 0 = C∞ taper)")
    ax.set_ylabel(r"$\hat s$ (95 % interval)")
    ax.set_title(f"d = {d}, N = {N}: exponent against the taper order")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def plot_s_vs_size(table: pd.DataFrame, d: int = 3):
    """s_hat [95 %] against N at finite T_p, one series per (m, T_p), with the predictions."""
    sel = table[(table["d"] == d) & ~np.isinf(table["T_p"].astype(float))]
    sizes = sel.groupby(["taper", "T_p"])["N"].nunique()
    keep = sizes[sizes > 1].index
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    for j, (m, t) in enumerate(keep):
        grp = sel[(sel["taper"] == m) & (sel["T_p"] == t)].sort_values("N")
        c = _M_COLORS.get(float(m), f"C{j}")
        _errorbar(ax, grp["N"] * (1.0 + 0.03 * (j - 0.5)), grp, marker="o", color=c,
                  label=f"m = {_fmt(m)}, T_p = {_fmt(t)}")
        ax.axhline(float(grp["s_ghet"].iloc[0]), color=c, ls="-", lw=0.8, alpha=0.6)
    ax.axhline(OTHER_CAMP_S, color="tab:gray", ls="--", lw=1, label="s = 4")
    ax.set_xscale("log")
    ax.set_xlabel("N")
    ax.set_ylabel(r"$\hat s$ (95 % interval)")
    ax.set_title(f"d = {d}: exponent against system size (thin lines: GHET's s of the potential)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_s_vs_dimension(table: pd.DataFrame):
    """s_hat [95 %] against d for m = 2 and inf, T_p = inf (open) and the low T_p (filled)."""
    dims = sorted(table["d"].unique())
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    shown = table.groupby(["d", "taper", "T_p"])["N"].min().reset_index()  # one N per d: the smallest scanned
    sel = table.merge(shown, on=["d", "taper", "T_p", "N"])
    sel = sel[sel["taper"].isin([2.0, math.inf])]
    for k, ((m, high), grp) in enumerate(sel.groupby([sel["taper"], np.isinf(sel["T_p"].astype(float))])):
        c = _M_COLORS.get(float(m), f"C{k}")
        _errorbar(ax, grp["d"] + 0.06 * (k - 1.5), grp, marker="o" if high else "s", mfc="white" if high else c,
                  color=c, label=f"m = {_fmt(m)}, " + ("T_p = ∞" if high else "low T_p"))
    ax.axhline(OTHER_CAMP_S, color="tab:gray", ls="--", lw=1, label="s = 4")
    for k, (m, grp) in enumerate(sel[~np.isinf(sel["T_p"].astype(float))].groupby("taper")):
        ax.axhline(float(grp["s_ghet"].iloc[0]), color=_M_COLORS.get(float(m), f"C{k}"), ls="-", lw=0.8, alpha=0.5,
                   label=f"GHET low T_p, m = {_fmt(m)}: {float(grp['s_ghet'].iloc[0]):.3g}")
    ax.axhline(GHET_HIGH_TP_S, color="tab:blue", ls=":", lw=1, label="GHET high T_p: 2")
    ax.set_xticks(dims)
    ax.set_xlabel("d")
    ax.set_ylabel(r"$\hat s$ (95 % interval)")
    ns = ", ".join(f"d={int(d)}: N={int(n)}" for d, n in shown.groupby("d")["N"].min().items())
    ax.set_title(f"exponent against dimension ({ns})", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_window_scan(exponent_scan: pd.DataFrame, exponents: pd.DataFrame | None = None):
    """s_hat [95 %] against the fit edge (fraction of w_0): one panel per (d, N, T_p = inf or finite),
    one series per (m, T_p)."""
    sc = exponent_scan[exponent_scan["quantity"] == "s"].copy()
    sc["high"] = np.isinf(sc["T_p"].astype(float))
    panels = sorted(sc.groupby(["d", "N", "high"]).groups, key=lambda k: (k[0], k[1], not k[2]))
    ncol = min(4, len(panels)) or 1
    nrow = max(1, math.ceil(len(panels) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.9 * ncol, 3.3 * nrow), squeeze=False, sharey=True)
    for ax, (d, N, high) in zip(axes.flat, panels):
        sub = sc[(sc["d"] == d) & (sc["N"] == N) & (sc["high"] == high)]
        for j, ((m, t), grp) in enumerate(sub.groupby(["taper", "T_p"])):
            grp = grp.sort_values("fraction")
            c = _M_COLORS.get(float(m), f"C{j}")
            y = grp["hat"].to_numpy()
            ax.errorbar(grp["fraction"] + 0.008 * j, y, yerr=np.vstack([y - grp["lo"], grp["hi"] - y]), capsize=2,
                        marker="o" if high else "s", mfc="white" if high else c, color=c, lw=0.8, ms=4,
                        label=f"m={_fmt(m)}, T_p={_fmt(t)}")
            pred = _prediction(exponents, grp.iloc[0])
            if not high and pred is not None:
                ax.axhline(pred, color=c, lw=0.6, alpha=0.5)
        ax.axhline(OTHER_CAMP_S, color="tab:gray", ls="--", lw=1)
        if high:
            ax.axhline(GHET_HIGH_TP_S, color="tab:blue", ls=":", lw=1)
        ax.set_title(f"d = {int(d)}, N = {int(N)}, " + ("T_p = ∞" if high else "low T_p"), fontsize=9)
        ax.set_xlabel(r"fit edge $\omega_c/\omega_0$")
        ax.set_ylim(0, 7)
        ax.legend(fontsize=5.5, ncol=2)
    for ax in axes[:, 0]:
        ax.set_ylabel(r"$\hat s$ (95 % interval)")
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def plot_alpha_vs_taper(table: pd.DataFrame, d: int = 3, N: int = 1000):
    """alpha_hat [95 %] (small-sigma exponent of P(sigma)) against 1/m beside GHET's alpha of each
    point's potential (the table's alpha_ghet: 1/m - 1 for a tapered repulsion)."""
    sel = table[(table["d"] == d) & (table["N"] == N)]
    fig, ax = plt.subplots(figsize=(5.6, 4.2))
    pr = sel.drop_duplicates(["taper", "potential"]).sort_values("taper")
    if len(pr):
        ax.plot(pr["taper"].map(_inv_m), pr["alpha_ghet"], "kd-", mfc="none", lw=0.8,
                label=r"GHET $\alpha$ of the potential (paper 001, Eq. 11)")
    for j, (high, grp) in enumerate(sel.groupby(np.isinf(sel["T_p"].astype(float)))):
        y = grp["alpha_hat"].to_numpy()
        ax.errorbar(grp["taper"].map(_inv_m) + (0.01 if high else -0.01), y,
                    yerr=np.vstack([y - grp["alpha_lo"], grp["alpha_hi"] - y]), capsize=3, ls="none",
                    marker="o" if high else "s", mfc="white" if high else "tab:red",
                    color="tab:blue" if high else "tab:red", label="T_p = ∞" if high else "low T_p (per m)")
    ax.set_xlabel("1/m")
    ax.set_ylabel(r"$\hat\alpha$ (95 % interval)")
    ax.set_title(f"d = {d}, N = {N}: P(σ) ~ σ^α at small σ")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_s_by_model(table: pd.DataFrame, d: int = 3, N: int = 1000):
    """s_hat [95 %] of each model (potential id and cutoff order m) at T_p = inf and at its low T_p,
    each beside its own GHET prediction (2 at T_p = inf, the potential's s_ghet at low T_p) and 4."""
    sel = table[(table["d"] == d) & (table["N"] == N)]
    models = sorted({(str(p), float(m)) for p, m in zip(sel["potential"], sel["taper"])},
                    key=lambda pm: (pm[0] != "tipl", pm[0], pm[1]))
    fig, ax = plt.subplots(figsize=(max(5.6, 1.3 * len(models) + 2), 4.2))
    ax.axhline(OTHER_CAMP_S, color="tab:gray", ls="--", lw=1, label="s = 4 (papers 002-004)")
    for i, (pid, m) in enumerate(models):
        grp = sel[(sel["potential"] == pid) & (sel["taper"] == m)]
        hi = grp[np.isinf(grp["T_p"].astype(float))]
        lo = grp[~np.isinf(grp["T_p"].astype(float))]
        first = i == 0
        if len(hi):
            _errorbar(ax, np.full(len(hi), i - 0.12), hi, marker="o", mfc="white", color="tab:blue",
                      label="T_p = ∞" if first else None)
            ax.plot([i - 0.25, i + 0.01], [GHET_HIGH_TP_S] * 2, color="tab:blue", ls=":", lw=1.5,
                    label="GHET, T_p = ∞: s = 2" if first else None)
        if len(lo):
            _errorbar(ax, np.full(len(lo), i + 0.12), lo, marker="s", color="tab:red",
                      label="low T_p (per model)" if first else None)
            ax.plot([i - 0.01, i + 0.25], [float(lo["s_ghet"].iloc[0])] * 2, color="k", lw=1.5,
                    label="GHET, low T_p: 5 + 2 alpha of the potential" if first else None)
            for _, r in lo.iterrows():
                ax.annotate(_fmt(r["T_p"]), (i + 0.16, r["s_hat"]), fontsize=7, color="tab:red")
    ax.set_xticks(range(len(models)))
    ax.set_xticklabels([f"{p}\nm = {_fmt(m)}" for p, m in models])
    ax.set_ylabel(r"$\hat s$ (95 % interval)")
    ax.set_title(f"d = {d}, N = {N}: exponent of each model")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    return fig


def make_scan_figures(tables_dir, output_dir) -> list:
    """Write the scan figures (PNG + PDF) and ``scan_table.md`` from a tables folder; returns the paths."""
    tables_dir, output_dir = Path(tables_dir), Path(output_dir)
    exponents = pd.read_parquet(tables_dir / "exponents.parquet")
    samples = pd.read_parquet(tables_dir / "samples.parquet")
    scan = pd.read_parquet(tables_dir / "exponent_scan.parquet")
    table = scan_table(exponents, samples)
    paths = []
    for name, fig in (("scan_s_vs_taper", plot_s_vs_taper(table)), ("scan_s_vs_size", plot_s_vs_size(table)),
                      ("scan_s_vs_dimension", plot_s_vs_dimension(table)),
                      ("scan_window", plot_window_scan(scan, exponents)),
                      ("scan_alpha_vs_taper", plot_alpha_vs_taper(table)),
                      ("scan_s_by_model", plot_s_by_model(table))):
        paths += _save(fig, output_dir, name)
        plt.close(fig)
    md = output_dir / "scan_table.md"
    tmp = output_dir / ".scan_table.md.tmp"
    tmp.write_text(format_scan_table(table))
    os.replace(tmp, md)
    return paths + [md]
