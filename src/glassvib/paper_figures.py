"""Figures in the form of Schirmacher et al., Nat. Comm. 15, 3107 (2024) (issue 10), drawn from the
aggregated tables only, plus the picture of one low-frequency mode (paper 000, Fig. 2).

Contract: ``plot_fig2``, ``plot_fig3`` and ``plot_fig4`` take DataFrames of the SPEC §7 tables (and
the figure tables of :mod:`glassvib.tables`) and return a matplotlib Figure; :func:`make_paper_figures`
reads a tables folder and writes ``paper_fig2``, ``paper_fig3``, ``paper_fig4`` as PNG and PDF.
:func:`plot_mode` draws one eigenvector of one inherent structure (arrays in, Figure out).
Predictions (GOE surmise, Poisson, slopes 1/m - 1, guide lines w^3, w^4, w^5) are drawn beside the
data, anchored at one data point, never fitted.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .figures import KEY, _fmt, _save  # noqa: E402

__all__ = ["plot_fig2", "plot_fig3", "plot_fig4", "plot_mode", "cumulative_dos", "make_paper_figures",
           "PAPER_FIGURES", "select_mode"]

PAPER_FIGURES = ["paper_fig2", "paper_fig3", "paper_fig4"]
#: colours of the paper: high T_p blue, low T_p red (Fig. 2); m = 2 black, m = inf red (Fig. 3)
_TP_COLORS = ["tab:blue", "tab:green", "tab:red", "tab:purple", "tab:orange"]


def _tp_colors(values):
    """High T_p first (inf, then descending): blue ... red, as in the paper's Fig. 2."""
    vals = sorted({float(v) for v in values}, key=lambda t: -t)
    if len(vals) == 2:
        return {vals[0]: "tab:blue", vals[1]: "tab:red"}
    return {v: _TP_COLORS[i % len(_TP_COLORS)] for i, v in enumerate(vals)}


def _tp_label(t) -> str:
    return "T_p = ∞ (random positions)" if math.isinf(float(t)) else f"T_p = {_fmt(t)}"


# ------------------------------------------------------------------------------------------------
# Fig. 2: level-spacing ratios


def plot_fig2(level_ratio_hist, level_ratios):
    """P(r~) in the lowest 50, middle and highest 50 levels for every ensemble with a full spectrum
    (the middle window exists only there), high T_p blue and low T_p red; GOE surmise and Poisson.

    The legend carries <r~> and the Kolmogorov-Smirnov distances to GOE and Poisson of each window
    (from level_ratios.parquet)."""
    full = level_ratios[level_ratios["window"] == "middle"][KEY].drop_duplicates()
    hist = level_ratio_hist.merge(full, on=KEY) if len(full) else level_ratio_hist.iloc[0:0]
    stats = level_ratios.merge(full, on=KEY) if len(full) else level_ratios.iloc[0:0]
    fig, axes = plt.subplots(1, 3, figsize=(15, 5.6))
    r = np.linspace(0, 1, 201)
    goe = 2 * (27 / 8) * (r + r ** 2) / (1 + r + r ** 2) ** 2.5  # surmise folded onto r~ = min(r, 1/r)
    poi = 2 / (1 + r) ** 2
    colors = _tp_colors(hist["T_p"]) if len(hist) else {}
    titles = {"lowest": "A: lowest levels", "middle": "B: middle of the spectrum", "highest": "C: highest levels"}
    for ax, win in zip(axes, ("lowest", "middle", "highest")):
        for key, grp in hist[hist["window"] == win].groupby(KEY, sort=True):
            kd = dict(zip(KEY, key))
            grp = grp.sort_values("bin_lo")
            x = 0.5 * (grp["bin_lo"].to_numpy() + grp["bin_hi"].to_numpy())
            st = stats[(stats["window"] == win) & (stats[KEY] == pd.Series(kd)).all(axis=1)]
            extra = ""
            if len(st):
                s0 = st.iloc[0]
                extra = (f": <r~> = {s0['r_mean']:.3f}, KS GOE {s0['ks_goe']:.3f} / Poisson "
                         f"{s0['ks_poisson']:.3f} (n = {int(s0['n'])})")
            ax.plot(x, grp["density"], "o", ms=4, color=colors[float(kd["T_p"])],
                    label=f"{_tp_label(kd['T_p'])}, m = {_fmt(kd['taper'])}, N = {int(kd['N'])}{extra}")
        ax.plot(r, goe, "k-", lw=1.5, label="GOE surmise (Atas et al.), <r~> = 0.531")
        ax.plot(r, poi, color="grey", ls="--", lw=1.5, label="Poisson, <r~> = 0.386")
        ax.set_xlim(0, 1)
        ax.set_ylim(bottom=0)
        ax.set_xlabel(r"$\tilde r = \min(r, 1/r)$")
        ax.set_ylabel(r"$P(\tilde r)$")
        ax.set_title(titles[win], fontsize=10)
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
    fig.suptitle("Fig. 2 (paper): level-spacing ratios r = (λ_{p+1} - λ_p)/(λ_{p+2} - λ_{p+1}), pooled over samples",
                 fontsize=11)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------
# Fig. 3: stress distributions


def _stress_density(grp):
    """(sigma at bin centres, P(sigma)) of one histogram, normalised over all its counts."""
    grp = grp.sort_values("bin_lo")
    total = grp["count"].to_numpy(float).sum()
    grp = grp[(grp["bin_lo"] > 0) & np.isfinite(grp["bin_hi"])]
    lo, hi, c = grp["bin_lo"].to_numpy(), grp["bin_hi"].to_numpy(), grp["count"].to_numpy(float)
    x = np.sqrt(lo * hi)
    p = c / (max(total, 1.0) * (hi - lo))
    return x[p > 0], p[p > 0]


def plot_fig3(stress_hist, sigma_min=1e-14, exponents=None):
    """P(sigma) log-log of the off-diagonal traceless stress components (pooled: xy, xz, yz), as in
    the paper's Fig. 3, and of sigma = |r phi'(r)|; one row per T_p, m = 2 black and m = inf red,
    dashed: GHET's slope alpha of the potential (``alpha_ghet`` of ``exponents``; 1/m - 1 for the
    tapered IPL) anchored at the smallest populated bin (no line without the exponents table)."""
    alpha = {} if exponents is None else {
        (int(d), int(n), float(t), float(m)): float(a) for d, n, t, m, a in
        zip(exponents["d"], exponents["N"], exponents["T_p"], exponents["taper"], exponents["alpha_ghet"])}
    st = stress_hist.copy()
    st["kind"] = np.where(st["component"] == "sigma", "sigma", "offdiag")
    st = st.groupby(KEY + ["kind", "bin_lo", "bin_hi"], sort=True)["count"].sum().reset_index()
    tps = sorted({float(t) for t in st["T_p"]}, key=lambda t: -t)
    dn = sorted({(int(d), int(n)) for d, n in zip(st["d"], st["N"])})
    rows = [(d, n, t) for (d, n) in dn for t in tps if len(st[(st["d"] == d) & (st["N"] == n) & (st["T_p"] == t)])]
    fig, axes = plt.subplots(max(1, len(rows)), 2, figsize=(11, 3.6 * max(1, len(rows))), squeeze=False)
    mcol = {2.0: "black", math.inf: "tab:red"}
    others = ["tab:blue", "tab:green", "tab:purple", "tab:orange"]
    for (d, n, t), axrow in zip(rows, axes):
        for ax, kind in zip(axrow, ("offdiag", "sigma")):
            sub = st[(st["d"] == d) & (st["N"] == n) & (st["T_p"] == t) & (st["kind"] == kind)]
            for i, (m, grp) in enumerate(sub.groupby("taper", sort=True)):
                x, p = _stress_density(grp)
                keep = x >= sigma_min
                x, p = x[keep], p[keep]
                if not x.size:
                    continue
                col = mcol.get(float(m), others[i % len(others)])
                filled = float(m) == 2.0
                ax.loglog(x, p, "o", ms=3, color=col, mfc=col if filled else "none", label=f"m = {_fmt(m)}")
                slope = alpha.get((d, n, float(t), float(m)))
                if slope is not None:
                    j = min(2, x.size - 1)
                    xs = np.array([x[0], min(x[-1], x[j] * 1e6)])
                    ax.loglog(xs, 3 * p[j] * (xs / x[j]) ** slope, "--", color=col, lw=1,
                              label=f"slope α = {slope:.2f} (GHET)")
            ax.set_xlabel(r"$|\sigma_{ab}|$, off-diagonal (xy, xz, yz pooled)" if kind == "offdiag"
                          else r"$\sigma = |r\,\phi'(r)|$")
            ax.set_ylabel("P")
            ax.set_title(f"d = {d}, N = {n}, {_tp_label(t)}", fontsize=9)
            ax.legend(fontsize=7)
    fig.suptitle("Fig. 3 (paper): stress distributions; dashed: GHET slopes (drawn, not fitted)", fontsize=11)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------
# Fig. 4: integrated DOS


def cumulative_dos(samples, modes, key: dict):
    """(omega, F(omega)) of one ensemble: F = (number of non-zero modes with omega' <= omega) / (d N
    n_samples) over its converged samples without negative modes, cut where the computed spectra end
    (the lowest top-of-spectrum over the samples, so that F is complete wherever it is drawn).
    Also returns w_0 from the ensemble-mean shear modulus."""
    sel = (samples[KEY] == pd.Series(key)).all(axis=1)
    conv = samples[sel & samples["converged"].astype(bool) & (samples["n_negative"] == 0)]
    md = modes.merge(conv[KEY + ["sample"]], on=KEY + ["sample"])
    if not len(conv) or not len(md):
        return np.empty(0), np.empty(0), math.nan
    top = md.groupby("sample")["omega"].max().min()
    w = np.sort(md["omega"].to_numpy())
    w = w[(w > 0) & (w <= top)]
    d, n = int(key["d"]), int(key["N"])
    F = np.arange(1, w.size + 1) / (d * n * len(conv))
    g = float(conv["shear_modulus"].mean())
    w0 = 2 * math.pi * math.sqrt(g) / n ** (1 / d) if g > 0 else math.nan
    return w, F, w0


def plot_fig4(samples, modes, exponents=None):
    """F(omega) log-log, one panel per T_p (high to low), m = 2 filled and m = inf open symbols, w_0
    dotted, guide lines w^3, w^4, w^5 (s = 2, 3, 4) anchored at F of the first ensemble at w_0 / 2.
    With ``exponents``, the legend carries s_hat [95 %] of each ensemble."""
    pts = samples[KEY].drop_duplicates()
    tps = sorted({float(t) for t in pts["T_p"]}, key=lambda t: -t)
    dn = sorted({(int(d), int(n)) for d, n in zip(pts["d"], pts["N"])})
    panels = [(d, n, t) for (d, n) in dn for t in tps if len(pts[(pts["d"] == d) & (pts["N"] == n) & (pts["T_p"] == t)])]
    ncols = min(3, max(1, len(panels)))
    nrows = math.ceil(max(1, len(panels)) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(5.6 * ncols, 4.8 * nrows), squeeze=False)
    for ax in axes.flat[len(panels):]:
        ax.set_visible(False)
    axes = list(axes.flat)
    mcol = {2.0: "black", math.inf: "tab:red"}
    others = ["tab:blue", "tab:green", "tab:purple", "tab:orange"]
    letters = "ABCDEFGH"
    for p_i, ((d, n, t), ax) in enumerate(zip(panels, axes)):
        sub = pts[(pts["d"] == d) & (pts["N"] == n) & (pts["T_p"] == t)].sort_values("taper")
        anchor = None
        w0s = []
        for i, (_, row) in enumerate(sub.iterrows()):
            kd = {c: row[c] for c in KEY}
            w, F, w0 = cumulative_dos(samples, modes, kd)
            if not w.size:
                continue
            m = float(kd["taper"])
            col = mcol.get(m, others[i % len(others)])
            label = f"m = {_fmt(m)}"
            if exponents is not None and len(exponents):
                ex = exponents[(exponents[KEY] == pd.Series(kd)).all(axis=1)]
                if len(ex) and np.isfinite(ex.iloc[0]["s_hat"]):
                    e = ex.iloc[0]
                    label += f": ŝ = {e['s_hat']:.2f} [{e['s_lo']:.2f}, {e['s_hi']:.2f}] ({int(e['n_samples'])} samples)"
            step = max(1, w.size // 400)  # thin the symbols at high w, keep every low mode
            idx = np.unique(np.concatenate([np.arange(min(w.size, 60)), np.arange(0, w.size, step)]))
            ax.loglog(w[idx], F[idx], "o", ms=3, color=col, mfc=col if m == 2.0 else "none", mew=0.8, label=label)
            if np.isfinite(w0):
                ax.axvline(w0, color=col, ls=":", lw=1)
                w0s.append(w0)
                if anchor is None:
                    j = np.searchsorted(w, 0.5 * w0)
                    if 0 < j < w.size:
                        anchor = (w[j], F[j])
        if anchor is not None:
            xs = np.array([anchor[0] / 3, anchor[0] * 2.5])
            for expo, ls, s in ((3, "-.", 2), (4, "--", 3), (5, "-", 4)):
                ax.loglog(xs, anchor[1] * (xs / anchor[0]) ** expo, ls, color="grey", lw=1,
                          label=f"ω^{expo} (s = {s})")
        ax.set_xlabel(r"$\omega$")
        ax.set_ylabel(r"$\mathcal{F}(\omega)$")
        ax.set_title(f"{letters[p_i % len(letters)]}: d = {d}, N = {n}, {_tp_label(t)}; dotted: ω_0", fontsize=9)
        ax.legend(fontsize=6, loc="lower right")
    fig.suptitle("Fig. 4 (paper): integrated DOS; filled m = 2, open m = ∞; guide lines drawn, not fitted",
                 fontsize=11)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------------------------------------
# one mode


def select_mode(eigenvalues, omega0, n_zero, d):
    """Index of the lowest non-zero mode below w_0 (a mode below the lowest transverse phonon is not
    a phonon), or None when there is none. The rule uses only the sample's own w_0."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    w = np.sqrt(np.clip(lam, 0, None))
    for i in range(int(n_zero), lam.size):
        if lam[i] > 0 and w[i] < omega0:
            return i
    return None


def plot_mode(positions, box, mode, omega, omega0, participation, slab_width=None, n_grid=48):
    """Displacement arrows of one mode in a slab through its most displaced particle, over the
    out-of-slab component of the curl of the coarse-grained displacement field
    (:func:`glassvib.observables.mode_vorticity`) in the mid-plane of the slab (paper 000, Fig. 2).

    Args:
        positions: (N, d) with d = 2 or 3; box: side L; mode: (dN,) eigenvector.
        omega, omega0, participation: for the title.
        slab_width: slab thickness (default 1.5 mean interparticle distances; 3D only).
    """
    from .observables import mode_vorticity

    pos = np.mod(np.asarray(positions, dtype=np.float64), box)
    n, d = pos.shape
    u = np.asarray(mode, dtype=np.float64).reshape(n, d)
    amp = np.linalg.norm(u, axis=1)
    centre = pos[int(np.argmax(amp))]
    a = (box ** d / n) ** (1.0 / d)
    # shift so that the most displaced particle sits in the middle of the picture
    shifted = np.mod(pos - centre + box / 2, box)
    coords, curl = mode_vorticity(shifted, box, u, n_grid=n_grid)
    fig, ax = plt.subplots(figsize=(6.6, 5.8))
    if d == 3:
        w = 1.5 * a if slab_width is None else float(slab_width)
        in_slab = np.abs(shifted[:, 2] - box / 2) <= w / 2
        iz = int(round((box / 2) / (box / n_grid))) % n_grid
        field = curl[2][:, :, iz]
        title_extra = f"slab |z - z_0| <= {w / 2:.2f}"
    else:
        in_slab = np.ones(n, bool)
        field = curl
        title_extra = "whole box"
    vmax = float(np.max(np.abs(field))) or 1.0
    im = ax.imshow(field.T, origin="lower", extent=(0, box, 0, box), cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                   interpolation="bilinear")
    fig.colorbar(im, ax=ax, label="(curl u)_z, coarse-grained" if d == 3 else "curl u, coarse-grained")
    scale = 0.15 * box / max(float(amp[in_slab].max()) if in_slab.any() else 1.0, 1e-300)
    ax.quiver(shifted[in_slab, 0], shifted[in_slab, 1], u[in_slab, 0] * scale, u[in_slab, 1] * scale,
              angles="xy", scale_units="xy", scale=1.0, width=0.003, color="k")
    ax.set_xlim(0, box)
    ax.set_ylim(0, box)
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(f"mode at ω = {omega:.3f} (ω_0 = {omega0:.3f}), N e = {n * participation:.1f}; {title_extra}",
                 fontsize=9)
    fig.tight_layout()
    return fig


def make_paper_figures(tables_dir, output_dir) -> list:
    """Write :data:`PAPER_FIGURES` (PNG + PDF) from the tables in ``tables_dir``."""
    from .tables import read_table

    t = Path(tables_dir)
    out = Path(output_dir)
    samples = read_table(t / "samples.parquet")
    modes = read_table(t / "modes.parquet")
    exponents = read_table(t / "exponents.parquet")
    paths = []
    paths += _save(plot_fig2(read_table(t / "level_ratio_hist.parquet"), read_table(t / "level_ratios.parquet")),
                   out, "paper_fig2")
    paths += _save(plot_fig3(read_table(t / "stress_hist.parquet"), exponents=exponents), out, "paper_fig3")
    paths += _save(plot_fig4(samples, modes, exponents), out, "paper_fig4")
    return paths


def comparison_rows(tables_dir) -> dict:
    """The measured numbers behind docs/paper.md, as Markdown tables (no verdicts: those are
    written by a person after reading the numbers).

    Returns:
        dict with "exponents" (per point: samples, bootstrap units, modes in the fit, omega_c,
        s_hat [95 %], alpha_hat [95 %]), "scan" (s_hat [95 %] against the fit edge / w_0) and
        "levels" (per point and window: n, <r~>, KS distances to GOE and Poisson).
    """
    from .tables import read_table

    t = Path(tables_dir)
    ex = read_table(t / "exponents.parquet")
    smp = read_table(t / "samples.parquet")
    scan = read_table(t / "exponent_scan.parquet")
    lev = read_table(t / "level_ratios.parquet")
    out = {}
    lines = ["| N | T_p | m | samples | chains | modes in fit | ω_c | ŝ [95 %] | α̂ [95 %] |", "|" + "---|" * 9]
    for _, r in ex.sort_values(["N", "T_p", "taper"], ascending=[True, False, True]).iterrows():
        sel = (smp[KEY] == pd.Series({c: r[c] for c in KEY})).all(axis=1)
        units = smp[sel & smp["converged"].astype(bool)]["seed"].nunique()
        lines.append(f"| {int(r['N'])} | {_fmt(r['T_p'])} | {_fmt(r['taper'])} | {int(r['n_samples'])} | {units} | "
                     f"{int(r['n_modes_fit'])} | {r['omega_c']:.3f} | {r['s_hat']:.2f} [{r['s_lo']:.2f}, {r['s_hi']:.2f}] | "
                     f"{r['alpha_hat']:.3f} [{r['alpha_lo']:.3f}, {r['alpha_hi']:.3f}] |")
    out["exponents"] = "\n".join(lines)
    s = scan[scan["quantity"] == "s"]
    fr = sorted({float(f) for f in s["fraction"]})
    lines = ["| N | T_p | m | " + " | ".join(f"{f:g} ω_0" for f in fr) + " |", "|" + "---|" * (3 + len(fr))]
    for key, g in s.groupby(["N", "T_p", "taper"], sort=True):
        cells = []
        for f in fr:
            row = g[g["fraction"] == f]
            cells.append("–" if not len(row) else
                         f"{row.iloc[0]['hat']:.2f} [{row.iloc[0]['lo']:.2f}, {row.iloc[0]['hi']:.2f}] ({int(row.iloc[0]['n_fit'])})")
        lines.append(f"| {int(key[0])} | {_fmt(key[1])} | {_fmt(key[2])} | " + " | ".join(cells) + " |")
    out["scan"] = "\n".join(lines)
    lines = ["| N | T_p | m | window | ratios | <r~> | KS to GOE | KS to Poisson |", "|" + "---|" * 8]
    order = {"lowest": 0, "middle": 1, "highest": 2}
    lev = lev.assign(_o=lev["window"].map(order)).sort_values(["N", "T_p", "taper", "_o"], ascending=[True, False, True, True])
    for _, r in lev.iterrows():
        lines.append(f"| {int(r['N'])} | {_fmt(r['T_p'])} | {_fmt(r['taper'])} | {r['window']} | {int(r['n'])} | "
                     f"{r['r_mean']:.3f} | {r['ks_goe']:.3f} | {r['ks_poisson']:.3f} |")
    out["levels"] = "\n".join(lines)
    return out
