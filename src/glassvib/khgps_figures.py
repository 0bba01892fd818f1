"""Figures of the KHGPS points (paper 003, Figs. 2 and 6 at reduced size), drawn from the tables only.

* ``khgps_dos``: D(w) per oscillator, binned on logarithmic bins from the pooled spectra of each
  point (only bins below the frequency every sample's computed spectrum reaches), log-log, with
  A_g_hat w^4 drawn over each point's window [0, omega_c) and a w^4 slope guide: paper 003 Fig. 2.
* ``khgps_prefactor``: A_g_hat [95 %] against J at fixed (N, h, kappa_0) (paper 003 Fig. 6), beside
  <x*^2> against J (Fig. 5b) and s_hat [95 %] against J with the other camp's 4 drawn as a line.

Predictions are drawn beside the estimates, never fitted or used to choose a window.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .figures import _save  # noqa: E402
from .khgps_study import S_OTHER_CAMP, spectrum_reach  # noqa: E402

__all__ = ["dos_curve", "plot_dos", "plot_prefactor", "format_khgps_table", "make_khgps_figures", "KHGPS_FIGURES"]

KHGPS_FIGURES = ["khgps_dos", "khgps_prefactor"]
_GROUP = ["N", "h", "kappa_0"]


def dos_curve(modes: pd.DataFrame, samples: pd.DataFrame, n_bins: int = 30, min_count: int = 10):
    """(bin centres, D(w) per oscillator, counts) of one point from its modes and samples rows:
    D = counts / (S N dw) on bins of equal counts (at least ``min_count`` modes each, about
    ``n_bins`` bins; sparse logarithmic bins would show single modes as a floor; bins wider than a
    factor 2 in w, where the bin average of a steep D sits far from the bin centre, are not drawn), from the lowest
    positive frequency to the largest frequency that every sample's computed spectrum reaches (the
    full spectrum: its largest frequency)."""
    n = int(samples["N"].iloc[0])
    S = len(samples)
    reach = [spectrum_reach(grp["omega"], n) for _, grp in modes.groupby("sample")]
    w = np.sort(modes["omega"].to_numpy(float))
    w = w[(w > 0) & (w < min(reach))] if reach else w[:0]
    if w.size < 2 * min_count or S == 0:
        return np.empty(0), np.empty(0), np.empty(0)
    per = max(min_count, w.size // n_bins)
    idx = np.arange(0, w.size - per + 1, per)
    edges = np.concatenate([[w[0]], 0.5 * (w[idx[1:] - 1] + w[idx[1:]]), [w[idx[-1] + per - 1]]])
    counts = np.diff(np.searchsorted(w, edges, side="right"))
    counts[0] += 1  # the lowest mode sits on the first edge (searchsorted side="right" counts it below)
    width = np.diff(edges)
    ok = (width > 0) & (edges[1:] <= 2.0 * edges[:-1])  # a bin wider than a factor 2 in w misplaces a steep D

    centres = np.sqrt(edges[1:] * edges[:-1])
    return centres[ok], counts[ok] / (S * n * width[ok]), counts[ok]


def _points(tables: dict):
    ex = tables["khgps_exponents"].sort_values(_GROUP + ["J"])
    for _, row in ex.iterrows():
        sel_s = np.ones(len(tables["khgps_samples"]), bool)
        sel_m = np.ones(len(tables["khgps_modes"]), bool)
        for c in ("N", "h", "J", "kappa_0"):
            sel_s &= tables["khgps_samples"][c].to_numpy() == row[c]
            sel_m &= tables["khgps_modes"][c].to_numpy() == row[c]
        yield row, tables["khgps_samples"][sel_s], tables["khgps_modes"][sel_m]


def _label(row) -> str:
    return f"J = {row['J']:g}"


def plot_dos(tables: dict):
    groups = tables["khgps_exponents"].groupby(_GROUP, sort=True)
    fig, axes = plt.subplots(1, max(1, groups.ngroups), figsize=(5.5 * max(1, groups.ngroups), 4.4), squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, (gkey, gex) in zip(axes[0], groups):
        js = sorted(gex["J"].unique())
        for row, smp, mds in _points(tables):
            if tuple(row[c] for c in _GROUP) != tuple(gkey):
                continue
            color = cmap(js.index(row["J"]) / max(1, len(js) - 1))
            x, y, cnt = dos_curve(mds, smp)
            ok = cnt > 0
            ax.loglog(x[ok], y[ok], "o-", ms=3, lw=0.8, color=color, label=_label(row))
            if math.isfinite(row["A_g_hat"]) and math.isfinite(row["omega_c"]):
                ww = np.geomspace(x[ok].min() if ok.any() else row["omega_c"] / 10, row["omega_c"], 20)
                ax.loglog(ww, row["A_g_hat"] * ww ** 4, "--", color=color, lw=1.2)
        xs = ax.get_xlim()
        yl = ax.get_ylim()
        g = np.geomspace(xs[0], xs[1], 10)
        anchor = math.sqrt(yl[0] * yl[1])
        ax.loglog(g, anchor * (g / math.sqrt(xs[0] * xs[1])) ** S_OTHER_CAMP, ":", color="grey", lw=1,
                  label="∝ ω⁴ (guide)")
        ax.set_xlim(xs)
        ax.set_ylim(yl)
        ax.set_xlabel("ω")
        ax.set_ylabel("D(ω) per oscillator")
        ax.set_title(f"KHGPS N = {gkey[0]}, h = {gkey[1]:g}, κ₀ = {gkey[2]:g}\n(dashed: Â_g ω⁴ over each fit window)",
                     fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_prefactor(tables: dict):
    ex = tables["khgps_exponents"]
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.4))
    for gkey, g in ex.groupby(_GROUP, sort=True):
        g = g.sort_values("J")
        lab = f"N = {gkey[0]}, h = {gkey[1]:g}, κ₀ = {gkey[2]:g}"
        J = g["J"].to_numpy(float)
        for ax, (hat, lo, hi) in zip(axes, (("A_g_hat", "A_g_lo", "A_g_hi"), ("msd_mean", "msd_lo", "msd_hi"),
                                            ("s_hat", "s_lo", "s_hi"))):
            y = g[hat].to_numpy(float)
            err = np.vstack([y - g[lo].to_numpy(float), g[hi].to_numpy(float) - y])
            err = np.where(np.isfinite(err), err, 0.0)
            ax.errorbar(J, y, yerr=err, fmt="o-", capsize=3, label=lab)
    axes[0].set_xscale("log")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("J")
    axes[0].set_ylabel("Â_g  [95 %]")
    axes[0].set_title("prefactor of D(ω) = A_g ω⁴ (paper 003 Fig. 6)", fontsize=9)
    axes[1].set_xscale("log")
    axes[1].set_yscale("log")
    axes[1].set_xlabel("J")
    axes[1].set_ylabel("⟨x*²⟩  [95 %]")
    axes[1].set_title("mean square displacement at the minima (Fig. 5b)", fontsize=9)
    axes[2].set_xscale("log")
    axes[2].axhline(S_OTHER_CAMP, color="grey", ls="--", label="s = 4 (papers 002-004)")
    axes[2].set_xlabel("J")
    axes[2].set_ylabel("ŝ  [95 %]")
    axes[2].set_title("exponent in the window (same mode fraction at every J)", fontsize=9)
    Js = np.unique(ex["J"].to_numpy(float))
    for ax in axes:
        ax.legend(fontsize=7)
        # the measured J as the ticks (log-axis minor labels collide at a few x 10^-1)
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks(Js, [f"{v:g}" for v in Js], fontsize=8)
    fig.tight_layout()
    return fig


def make_khgps_figures(tables: dict, outdir) -> list:
    """Write every KHGPS figure (PNG + PDF) into ``outdir``; returns the paths."""
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, fn in (("khgps_dos", plot_dos), ("khgps_prefactor", plot_prefactor)):
        fig = fn(tables)
        paths += _save(fig, out, name)
        plt.close(fig)
    return paths


def _iv(hat, lo, hi, fmt="{:.3g}") -> str:
    if not math.isfinite(hat):
        return "–"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        return fmt.format(hat) + " (no interval)"
    return f"{fmt.format(hat)} [{fmt.format(lo)}, {fmt.format(hi)}]"


def format_khgps_table(tables: dict) -> str:
    """One Markdown row per point: samples, window, modes in it, s_hat, A_g_hat, <x*^2> with 95 %
    intervals, whether the interval of s holds 4, and the samples not converged or with negative
    eigenvalues."""
    ex = tables["khgps_exponents"].sort_values(_GROUP + ["J"])
    lines = ["| N | h | J | κ₀ | samples | ω_c (mode fraction) | complete | modes | ŝ [95 %] | holds 4 | "
             "Â_g [95 %] | ⟨x*²⟩ [95 %] | not converged / negative |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for _, r in ex.iterrows():
        holds = "–" if not (math.isfinite(r["s_lo"]) and math.isfinite(r["s_hi"])) else (
            "yes" if r["s_lo"] <= r["s_other"] <= r["s_hi"] else "no")
        lines.append(
            f"| {int(r['N'])} | {r['h']:g} | {r['J']:g} | {r['kappa_0']:g} | {int(r['n_samples'])} | "
            f"{r['omega_c']:.4g} ({r['mode_fraction']:g}) | {'yes' if r['complete'] else 'NO'} | "
            f"{int(r['n_modes_fit'])} | {_iv(r['s_hat'], r['s_lo'], r['s_hi'], '{:.2f}')} | {holds} | "
            f"{_iv(r['A_g_hat'], r['A_g_lo'], r['A_g_hi'])} | {_iv(r['msd_mean'], r['msd_lo'], r['msd_hi'])} | "
            f"{int(r['n_not_converged'])} / {int(r['n_negative'])} |")
    return "\n".join(lines) + "\n"
