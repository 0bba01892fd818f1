"""Figures of the study (issue 5), drawn from the aggregated tables only (PNG + PDF).

Contract: each ``plot_*`` function takes DataFrames of the SPEC §7 tables and returns a matplotlib
Figure with labelled axes and a legend; :func:`make_all_figures` reads ``results/tables`` and writes
every figure. Predictions are drawn beside the measurements and never fitted to them: GHET's s and
alpha of each ensemble come from its potential (the ``s_ghet``, ``alpha_ghet`` columns of the
exponents table, computed from the model by the aggregate step), never from a taper lookup here;
s = 4, s = 2, GOE and Poisson are constants of the other theories. Guide lines for slopes are
anchored at one data point.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = ["plot_cumulative_dos", "plot_stress_distribution", "plot_level_ratios", "plot_exponents",
           "plot_participation", "make_all_figures", "FIGURES"]

KEY = ["d", "N", "T_p", "taper", "potential"]
#: smallest sigma drawn in the stress figure (SPEC §4: histograms down to ~1e-12)
SIGMA_MIN_SHOWN = 1e-14
FIGURES = ["cumulative_dos_s3", "cumulative_dos_s4", "stress_distribution", "level_ratios", "exponents",
           "participation"]


def _fmt(x) -> str:
    x = float(x)
    if math.isinf(x):
        return "∞"
    return f"{x:g}"


def _label(key: dict, skip=()) -> str:
    parts = []
    for c, name in (("d", "d"), ("N", "N"), ("T_p", "T_p"), ("taper", "m"), ("potential", "")):
        if c in skip or c not in key:
            continue
        parts.append(f"{name}={_fmt(key[c])}" if name else str(key[c]))
    return ", ".join(parts)


def _panels(keys, ncols_max=3, width=4.6, height=3.8):
    n = max(1, len(keys))
    ncols = min(ncols_max, n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _ensemble_colors(df):
    """Stable colour per (T_p, taper, potential) ensemble."""
    ens = sorted({(float(t), float(m), p) for t, m, p in zip(df["T_p"], df["taper"], df["potential"])})
    cmap = plt.get_cmap("tab10")
    return {e: cmap(i % 10) for i, e in enumerate(ens)}


def _nonzero_omegas(samples, modes):
    """Per ensemble: list of per-sample arrays of non-zero mode frequencies (converged samples)."""
    conv = samples[samples["converged"].astype(bool)]
    nz = modes.merge(conv[KEY + ["sample"]], on=KEY + ["sample"])
    nz = nz[nz["omega"] > 0]  # zero modes have omega = 0, negative eigenvalues nan
    return nz, conv


# ------------------------------------------------------------------------------------------------


def plot_cumulative_dos(samples, modes, s: float):
    """F(w) / w^(s+1) against w per ensemble, one panel per (d, N); w_0 marked (paper Fig. 4).

    F(w) is the ensemble-averaged fraction of the d N modes with omega <= w (zero modes set aside).
    A plateau means F ~ w^(s+1), i.e. g(w) ~ w^s.
    """
    nz, conv = _nonzero_omegas(samples, modes)
    groups = sorted(conv.groupby(["d", "N"]).groups)
    fig, axes = _panels(groups)
    colors = _ensemble_colors(conv)
    for ax, (d, n) in zip(axes, groups):
        sub = nz[(nz["d"] == d) & (nz["N"] == n)]
        for key, grp in sub.groupby(KEY, sort=True):
            kd = dict(zip(KEY, key))
            nsamp = conv.merge(pd.DataFrame([kd]), on=KEY).shape[0]
            w = np.sort(grp["omega"].to_numpy())
            F = np.arange(1, w.size + 1) / (d * n * nsamp)
            col = colors[(float(kd["T_p"]), float(kd["taper"]), kd["potential"])]
            ax.loglog(w, F / w ** (s + 1), drawstyle="steps-post", color=col,
                      label=_label(kd, skip=("d", "N")) + f" ({nsamp} samples)")
            om0 = _ensemble_omega0(conv.merge(pd.DataFrame([kd]), on=KEY))
            if np.isfinite(om0):
                ax.axvline(om0, color=col, ls=":", lw=1)
        ax.set_xlabel(r"$\omega$")
        ax.set_ylabel(rf"$F(\omega)/\omega^{{{s + 1:g}}}$")
        ax.set_title(f"d = {d}, N = {n}; dotted: $\\omega_0$ (lowest transverse phonon)", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(f"F(ω)/ω^{s + 1:g}: flat where g(ω) ~ ω^{s:g}", fontsize=11)
    fig.tight_layout()
    return fig


def _ensemble_omega0(samples) -> float:
    """The ensemble's w_0 = 2 pi sqrt(<G> / rho) / L from a samples table of one point: the factor
    2 pi / (sqrt(rho) L) is the ratio omega0 / sqrt(G) of any sample (density and box are those of
    the point), so that the rule of :func:`glassvib.ensemble.ensemble_omega0` applies without them."""
    g = samples["shear_modulus"].to_numpy(float)
    w = samples["omega0"].to_numpy(float)
    ok = np.isfinite(g) & np.isfinite(w) & (g > 0)
    gm = float(np.nanmean(g)) if np.isfinite(g).any() else float("nan")
    if not ok.any() or not gm > 0:
        return float("nan")
    return float(np.median(w[ok] / np.sqrt(g[ok]))) * math.sqrt(gm)


def _predictions(exponents, column):
    """(T_p, taper, potential) -> the prediction ``column`` of the exponents table (empty without one)."""
    if exponents is None or column not in exponents:
        return {}
    return {(float(t), float(m), p, int(d), int(n)): float(v) for t, m, p, d, n, v in
            zip(exponents["T_p"], exponents["taper"], exponents["potential"], exponents["d"], exponents["N"],
                exponents[column])}


def plot_stress_distribution(stress_hist, component: str = "sigma", exponents=None):
    """P(sigma) on log-log axes per ensemble, one panel per (d, N) (paper Fig. 3), with the GHET slope
    alpha of each ensemble's potential (``alpha_ghet`` of ``exponents``; no line without it)."""
    alpha = _predictions(exponents, "alpha_ghet")
    st = stress_hist[stress_hist["component"] == component]
    if not len(st):
        st = stress_hist
    groups = sorted(st.groupby(["d", "N"]).groups)
    fig, axes = _panels(groups)
    colors = _ensemble_colors(st)
    for ax, (d, n) in zip(axes, groups):
        sub = st[(st["d"] == d) & (st["N"] == n)]
        drawn = set()
        for key, grp in sub.groupby(KEY, sort=True):
            kd = dict(zip(KEY, key))
            grp = grp.sort_values("bin_lo")
            total = grp["count"].to_numpy(float).sum()  # normalised over all pairs, incl. under/overflow
            grp = grp[(grp["bin_lo"] >= SIGMA_MIN_SHOWN) & np.isfinite(grp["bin_hi"])]
            lo, hi, c = grp["bin_lo"].to_numpy(), grp["bin_hi"].to_numpy(), grp["count"].to_numpy(float)
            if total <= 0 or not len(grp):
                continue
            x = np.sqrt(lo * hi)
            p = c / (total * (hi - lo))
            col = colors[(float(kd["T_p"]), float(kd["taper"]), kd["potential"])]
            ok = p > 0
            ax.loglog(x[ok], p[ok], "o-", ms=2.5, lw=1, color=col, label=_label(kd, skip=("d", "N")))
            slope = alpha.get((float(kd["T_p"]), float(kd["taper"]), kd["potential"], int(d), int(n)))
            model = (float(kd["taper"]), kd["potential"])
            if slope is not None and model not in drawn and ok.sum() >= 2:
                # guide line with the predicted slope, anchored at the smallest-sigma populated bin x 3
                j = np.flatnonzero(ok)[min(2, ok.sum() - 1)]
                xs = np.array([x[ok][0], x[j] * 1e3])
                ax.loglog(xs, 3 * p[j] * (xs / x[j]) ** slope, "--", color=col, lw=1.2,
                          label=f"GHET slope α = {slope:.2f} ({kd['potential']}, m = {_fmt(kd['taper'])})")
                drawn.add(model)
        ax.set_xlabel(r"pair stress $\sigma = |r\,\phi'(r)|$" if component == "sigma" else component)
        ax.set_ylabel(r"$P(\sigma)$")
        ax.set_title(f"d = {d}, N = {n}", fontsize=9)
        ax.legend(fontsize=6)
    fig.suptitle("P(σ) of pair stresses; dashed: GHET slopes (not fitted)", fontsize=11)
    fig.tight_layout()
    return fig


def plot_level_ratios(level_ratio_hist):
    """P(r~) of level-spacing ratios, r~ = min(r, 1/r), in three windows against GOE and Poisson (paper Fig. 2)."""
    windows = ["lowest", "middle", "highest"]
    fig, axes = plt.subplots(1, 3, figsize=(13.5, 3.9), squeeze=False)
    axes = axes[0]
    colors = _ensemble_colors(level_ratio_hist) if len(level_ratio_hist) else {}
    r = np.linspace(0, 1, 201)
    goe = 2 * (27 / 8) * (r + r ** 2) / (1 + r + r ** 2) ** 2.5
    poi = 2 / (1 + r) ** 2
    styles = ["-", "--", ":", "-."]
    dn = sorted(level_ratio_hist.groupby(["d", "N"]).groups) if len(level_ratio_hist) else []
    for ax, win in zip(axes, windows):
        sub = level_ratio_hist[level_ratio_hist["window"] == win]
        for key, grp in sub.groupby(KEY, sort=True):
            kd = dict(zip(KEY, key))
            grp = grp.sort_values("bin_lo")
            edges = np.append(grp["bin_lo"].to_numpy(), grp["bin_hi"].to_numpy()[-1])
            col = colors[(float(kd["T_p"]), float(kd["taper"]), kd["potential"])]
            ls = styles[dn.index((kd["d"], kd["N"])) % len(styles)]
            ax.stairs(grp["density"].to_numpy(), edges, color=col, ls=ls, label=_label(kd))
        ax.plot(r, goe, "k-", lw=2, alpha=0.6, label="GOE surmise (Atas)")
        ax.plot(r, poi, color="grey", lw=2, alpha=0.6, ls="--", label="Poisson")
        ax.set_xlabel(r"$\tilde r = \min(r, 1/r)$")
        ax.set_ylabel(r"$P(\tilde r)$")
        ax.set_title({"lowest": "lowest levels", "middle": "middle of the spectrum",
                      "highest": "highest levels"}[win], fontsize=10)
        ax.set_xlim(0, 1)
    if len(axes):
        axes[0].legend(fontsize=6)
    fig.suptitle("Level-spacing ratios r = (λ_{p+1} - λ_p)/(λ_{p+2} - λ_{p+1})", fontsize=11)
    fig.tight_layout()
    return fig


def _errorbar(ax, x, y, lo, hi, **kw):
    y, lo, hi = np.asarray(y, float), np.asarray(lo, float), np.asarray(hi, float)
    yerr = np.vstack([np.where(np.isfinite(lo), y - lo, 0), np.where(np.isfinite(hi), hi - y, 0)])
    ax.errorbar(x, y, yerr=np.maximum(yerr, 0), fmt="o", capsize=3, ms=5, **kw)


def plot_exponents(exponents):
    """Exponent summary: s_hat (95% bootstrap interval) against m, T_p, N and d; alpha_hat against m.

    Drawn beside the data: GHET's s and alpha of each ensemble's potential (the table's ``s_ghet``,
    ``alpha_ghet``: black diamonds), s = 4 (Lerner-Bouchbinder), s = 2 (HET at marginal stability).
    """
    ex = exponents.copy()
    fig, grid = plt.subplots(2, 3, figsize=(15, 8.5))
    axes = list(grid.flat[:5])
    grid.flat[5].set_visible(False)
    varying = [c for c in KEY if ex[c].nunique() > 1] if len(ex) else []

    def series(xcol):
        others = [c for c in varying if c != xcol]
        if not others:
            return [({}, ex)]
        return [(dict(zip(others, k if isinstance(k, tuple) else (k,))), g)
                for k, g in ex.groupby(others, sort=True)]

    cmap = plt.get_cmap("tab10")

    def positions(values):
        vals = sorted(set(float(v) for v in values))
        return {v: i for i, v in enumerate(vals)}, vals

    panels = [("taper", "m (plotted at 1/m)", "s"), ("T_p", "T_p", "s"), ("N", "N", "s"), ("d", "d", "s"),
              ("taper", "m (plotted at 1/m)", "alpha")]
    for ax, (xcol, xlabel, q) in zip(axes, panels):
        ser = series(xcol)
        pos, vals = positions(ex[xcol]) if len(ex) else ({}, [])
        for i, (lab, g) in enumerate(ser):
            if xcol == "taper":
                x = 1.0 / g[xcol].to_numpy(float)
            else:
                x = np.array([pos[float(v)] for v in g[xcol]], float)
            x = x + (i - (len(ser) - 1) / 2) * (0.015 if xcol == "taper" else 0.06)
            y = g["s_hat" if q == "s" else "alpha_hat"]
            lo = g["s_lo" if q == "s" else "alpha_lo"]
            hi = g["s_hi" if q == "s" else "alpha_hi"]
            _errorbar(ax, x, y, lo, hi, color=cmap(i % 10), label=_label(lab) or "measured")
            pred = g["s_ghet" if q == "s" else "alpha_ghet"] if ("s_ghet" if q == "s" else "alpha_ghet") in g else None
            if pred is not None and (q == "alpha" or xcol == "taper"):
                ax.plot(x, pred, "kd", mfc="none", ms=6, label="GHET (the potential's)" if i == 0 else None)
        if xcol == "taper":
            ms = sorted(set(float(v) for v in ex["taper"])) if len(ex) else []
            ax.set_xticks([1 / m for m in ms], [_fmt(m) for m in ms])
        else:
            ax.set_xticks(list(pos.values()), [_fmt(v) for v in vals])
            ax.set_xlim(-0.6, len(vals) - 0.4)
        if q == "s":
            ax.axhline(4, color="tab:red", ls="--", lw=1, label="s = 4 (Lerner-Bouchbinder)")
            ax.axhline(2, color="tab:blue", ls=":", lw=1, label="s = 2 (HET, marginal)")
            ax.set_ylabel(r"$\hat s$ (g(ω) ~ ω^s), 95% bootstrap interval")
        else:
            ax.set_ylabel(r"$\hat\alpha$ (P(σ) ~ σ^α, small σ)")
        ax.set_xlabel(xlabel)
        ax.legend(fontsize=6)
    fig.suptitle("Measured exponents with predictions drawn beside them (never fitted)", fontsize=11)
    fig.tight_layout()
    return fig


def plot_participation(samples, modes):
    """N e (participation ratio times N) against w, one panel per (d, N)."""
    nz, conv = _nonzero_omegas(samples, modes)
    groups = sorted(conv.groupby(["d", "N"]).groups)
    fig, axes = _panels(groups)
    colors = _ensemble_colors(conv)
    for ax, (d, n) in zip(axes, groups):
        sub = nz[(nz["d"] == d) & (nz["N"] == n)]
        for key, grp in sub.groupby(KEY, sort=True):
            kd = dict(zip(KEY, key))
            col = colors[(float(kd["T_p"]), float(kd["taper"]), kd["potential"])]
            ax.scatter(grp["omega"], n * grp["participation"], s=2, alpha=0.4, color=col,
                       label=_label(kd, skip=("d", "N")), rasterized=True)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(r"$\omega$")
        ax.set_ylabel(r"$N e$ (participating particles)")
        ax.set_title(f"d = {d}, N = {n}", fontsize=9)
        ax.legend(fontsize=6, markerscale=4)
    fig.suptitle("Participation of the modes", fontsize=11)
    fig.tight_layout()
    return fig


def _save(fig, outdir: Path, name: str) -> list:
    outdir.mkdir(parents=True, exist_ok=True)
    paths = []
    for ext in ("png", "pdf"):
        path = outdir / f"{name}.{ext}"
        tmp = outdir / f".{name}.tmp.{ext}"
        fig.savefig(tmp, dpi=130)
        tmp.replace(path)
        paths.append(path)
    plt.close(fig)
    return paths


def make_all_figures(tables_dir, output_dir) -> list:
    """Read the aggregated tables and write every figure of :data:`FIGURES` as PNG and PDF."""
    from .tables import read_table

    t = Path(tables_dir)
    out = Path(output_dir)
    samples = read_table(t / "samples.parquet")
    modes = read_table(t / "modes.parquet")
    paths = []
    paths += _save(plot_cumulative_dos(samples, modes, 3.0), out, "cumulative_dos_s3")
    paths += _save(plot_cumulative_dos(samples, modes, 4.0), out, "cumulative_dos_s4")
    exponents = read_table(t / "exponents.parquet")
    paths += _save(plot_stress_distribution(read_table(t / "stress_hist.parquet"), exponents=exponents), out,
                   "stress_distribution")
    paths += _save(plot_level_ratios(read_table(t / "level_ratio_hist.parquet")), out, "level_ratios")
    paths += _save(plot_exponents(exponents), out, "exponents")
    paths += _save(plot_participation(samples, modes), out, "participation")
    return paths
