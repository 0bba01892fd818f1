"""Paper-form figures (Figs. 2-4), the mode picture and the cost table (issue 10): the quantities
drawn are checked against independent computations; the figures must draw from tables alone."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from glassvib.costs import cost_table, extrapolate, format_cost_table
from glassvib.paper_figures import cumulative_dos, plot_fig2, plot_fig3, plot_fig4, plot_mode, select_mode
from glassvib.tables import write_table

KEY = {"d": 3, "N": 64, "T_p": 0.4, "taper": 2.0, "potential": "tipl"}


def _tables(rng, n_samples=3, k=20, top_cut=None):
    """Synthetic samples/modes tables: k modes per sample (3 zero modes), random frequencies."""
    samples, modes = [], []
    for s in range(n_samples):
        samples.append({**KEY, "sample": s, "seed": s, "e_is": 1.0, "pressure": 1.0, "shear_modulus": 4.0,
                        "omega0": 1.0, "max_force": 1e-12, "converged": s != 1 or n_samples < 3,
                        "n_zero_modes": 3, "n_negative": 0, "equilibrated": True, "acc_move": 0.3,
                        "acc_swap": 0.1})
        w = np.sort(rng.uniform(0.1, 3.0 if top_cut is None else top_cut[s], k - 3))
        om = np.concatenate([np.zeros(3), w])
        modes.append(pd.DataFrame({**{c: [v] * k for c, v in KEY.items()}, "sample": s, "rank": np.arange(k),
                                   "omega2": om ** 2, "omega": om, "participation": rng.uniform(0, 1, k)}))
    return pd.DataFrame(samples), pd.concat(modes, ignore_index=True)


def test_cumulative_dos_counts_modes_of_converged_samples_up_to_the_common_top():
    rng = np.random.default_rng(1)
    samples, modes = _tables(rng, n_samples=3, top_cut=[3.0, 3.0, 2.0])
    w, F, w0 = cumulative_dos(samples, modes, KEY)
    conv = samples[samples["converged"]]["sample"]
    md = modes[modes["sample"].isin(conv) & (modes["omega"] > 0)]
    top = md.groupby("sample")["omega"].max().min()
    # independent count: F(x) = #{omega <= x} / (d N n_conv)
    for x in (0.5, 1.0, top):
        expect = np.sum(md["omega"] <= x) / (3 * 64 * len(conv))
        j = np.searchsorted(w, x, side="right")
        assert F[j - 1] == pytest.approx(expect)
    assert w.max() <= top
    assert w0 == pytest.approx(2 * math.pi * math.sqrt(4.0) / 64 ** (1 / 3))


def test_select_mode_is_the_lowest_nonzero_below_w0():
    lam = np.array([0.0, 0.0, 0.0, 0.25, 0.81, 1.44])
    assert select_mode(lam, 1.0, 3, 3) == 3
    assert select_mode(lam, 0.4, 3, 3) is None
    assert select_mode(np.array([0, 0, 0, -0.1, 0.04]), 1.0, 3, 3) == 4  # a negative mode is skipped


def test_paper_figures_draw_from_tables():
    rng = np.random.default_rng(2)
    samples, modes = _tables(rng)
    ex = pd.DataFrame([{**KEY, "n_samples": 2, "n_modes_fit": 10, "omega_c": 1.0, "s_hat": 3.0, "s_lo": 2.0,
                        "s_hi": 4.0, "s_ghet": 4.0, "alpha_hat": -0.5, "alpha_lo": -0.6, "alpha_hi": -0.4,
                        "alpha_ghet": -0.5}])
    fig = plot_fig4(samples, modes, ex)
    assert "ŝ = 3.00" in " ".join(t.get_text() for ax in fig.axes for t in ax.get_legend().get_texts())
    edges = np.linspace(0, 1, 21)
    hist = pd.DataFrame([{**KEY, "window": w, "bin_lo": edges[i], "bin_hi": edges[i + 1], "density": 1.0}
                         for w in ("lowest", "middle", "highest") for i in range(20)])
    lr = pd.DataFrame([{**KEY, "window": w, "n": 100, "r_mean": 0.5, "ks_goe": 0.05, "ks_poisson": 0.2}
                       for w in ("lowest", "middle", "highest")])
    fig2 = plot_fig2(hist, lr)
    assert len(fig2.axes) == 3
    lo = 10.0 ** np.arange(-12, 0)
    st = pd.DataFrame([{**KEY, "component": c, "bin_lo": a, "bin_hi": 10 * a, "count": 5}
                       for c in ("sigma", "xy", "xz", "yz") for a in lo])
    fig3 = plot_fig3(st)
    assert len(fig3.axes) == 2


def test_plot_mode_two_and_three_dimensions():
    rng = np.random.default_rng(3)
    for d in (2, 3):
        n = 64
        pos = rng.uniform(0, 4.0, (n, d))
        vec = rng.standard_normal(n * d)
        fig = plot_mode(pos, 4.0, vec / np.linalg.norm(vec), 0.5, 1.0, 0.2)
        assert fig.axes


def test_cost_table_medians_per_sample(tmp_path):
    res = tmp_path / "results"
    point = "d3/N64/Tp0.4/m2/tipl"
    walls = {"sample": [10.0, 30.0, 20.0], "quench": [4.0, 6.0, 5.0], "analyze": [2.0, 2.0, 8.0]}
    sizes = [2, 2, 4]
    for b, n in enumerate(sizes):
        bdir = res / point / f"batch{b:03d}"
        bdir.mkdir(parents=True)
        write_table(pd.DataFrame([{**KEY, "sample": i, "seed": b, "e_is": 1.0, "pressure": 1.0,
                                   "shear_modulus": 1.0, "omega0": 1.0, "max_force": 0.0, "converged": True,
                                   "n_zero_modes": 3, "n_negative": 0, "equilibrated": True, "acc_move": 0.1,
                                   "acc_swap": 0.1} for i in range(n)]), bdir / "samples.parquet", "samples")
        for stage, vals in walls.items():
            f = res / "benchmarks" / stage / point / f"batch{b:03d}.tsv"
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text("s\th:m:s\tcpu_time\n" f"{vals[b]}\t0:00:01\t{vals[b] / 2}\n")
    # a batch still running (no samples.parquet) is ignored
    f = res / "benchmarks" / "sample" / point / "batch009.tsv"
    f.write_text("s\th:m:s\tcpu_time\n1000\t0\t1000\n")
    tab = cost_table(res)
    row = tab.iloc[0]
    for stage, vals in walls.items():
        assert row[stage] == pytest.approx(np.median([v / n for v, n in zip(vals, sizes)]))
    assert row["total"] == pytest.approx(sum(row[s] for s in walls))
    assert row["batches"] == 3
    cpu = cost_table(res, column="cpu_time").iloc[0]
    assert cpu["sample"] == pytest.approx(row["sample"] / 2)
    ex = extrapolate(tab, {point: 360})
    assert ex.iloc[0]["core_hours"] == pytest.approx(row["total"] * 360 / 3600)
    assert point in format_cost_table(ex)
