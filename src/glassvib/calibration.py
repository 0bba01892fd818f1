"""Calibration of the parent-temperature scale (issue 3): e_IS(T_p), tau with and without swaps, T_on, T_d.

Contract: :func:`calibration_scan` runs, for each taper and each T_p, swap Monte Carlo from a random
configuration (equilibration, then production with samples spaced evenly), quenches every sample
and a set of ideal-gas configurations (T_p = inf), and continues the equilibrated liquid *without*
swaps to measure the plain-MC decorrelation time. It returns one pandas row per (taper, T_p).
:func:`summarize` locates the onset temperature (highest T_p whose e_IS lies significantly below the
ideal-gas plateau) and fits T_d from tau without swaps, tau = A (T - T_d)^-gamma (least squares in
log tau). :func:`run_calibration` is what ``glassvib calibrate`` calls: it writes
``<results>/tables/calibration.parquet`` and ``<results>/figures/calibration.{png,pdf}``.
The estimators never see a prediction; the recommended T_p values are derived from the fits only.
"""
from __future__ import annotations

import json
import math
import os
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.optimize

from .configuration import random_configuration
from .decorrelation import block_error, equilibration_verdict
from .minimize import quench
from .potentials import TaperedIPL
from .swap_mc import SwapMonteCarlo
from .system import pressure

__all__ = ["calibration_point", "calibration_scan", "fit_arrest_temperature", "onset_temperature", "summarize",
           "plot_calibration", "run_calibration", "DEFAULT_TEMPERATURES"]

DEFAULT_TEMPERATURES = (2.0, 1.4, 1.0, 0.8, 0.65, 0.55, 0.47, 0.4, 0.35, 0.3)


def _quench_stats(confs, pot, tol):
    e, p, ok, fmax = [], [], 0, []
    for c in confs:
        q = quench(c, pot, tol=tol)
        e.append(q.energy / c.N)
        p.append(pressure(q.configuration, pot))
        fmax.append(q.max_force)
        ok += int(q.success)
    e = np.array(e)
    p = np.array(p)
    n = len(e)
    return {"n_samples": n, "n_converged": ok, "e_is_mean": float(e.mean()),
            "e_is_err": float(e.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
            "e_is_std": float(e.std(ddof=1)) if n > 1 else float("nan"),
            "pressure_mean": float(p.mean()),
            "pressure_err": float(p.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan"),
            "max_force_max": float(np.max(fmax))}


def calibration_point(d: int, N: int, taper: float, temperature: float, seed: int, *, pot=None, potential="tipl",
                      diameters_seed=0,
                      equilibration_sweeps: int = 30000, production_sweeps: int = 16000, n_samples: int = 8,
                      noswap_sweeps: int = 20000, record_every: int = 5, tol: float = 1e-10,
                      min_sweeps: int = 1000, min_spacing: int = 100, n_tau_eq: float = 20.0,
                      n_tau_noswap: float = 5.0, chunk: int = 500) -> dict:
    """One row of the calibration table (see module docstring). T_p = inf: quenches of random states only.

    All points of a scan share one diameter set (that of ``random_configuration(d, N, diameters_seed)``):
    at N = 1000 the sample-to-sample spread of e_IS caused by drawing new diameters (~0.1 per
    particle) would otherwise swamp its T_p dependence. Positions and MC streams come from ``seed``.

    Durations adapt to the measured tau (decisions every ``chunk`` sweeps, so the result is
    deterministic): equilibration until it lasts ``n_tau_eq`` running taus (at least ``min_sweeps``,
    at most ``equilibration_sweeps``); samples spaced by max(``min_spacing``, 2 tau), at most
    ``production_sweeps`` in all; the no-swap run until ``n_tau_noswap`` of its own taus (at most
    ``noswap_sweeps``). Budgets that run out show up as ``equilibrated = False`` / nan tau.

    ``pot``: the potential (default the tapered IPL with ``taper``); ``potential``: its id for the
    row (the row's ``taper`` is then the potential's cutoff order).
    """
    pot = TaperedIPL(taper=taper) if pot is None else pot
    taper = pot.cutoff_order
    ss = np.random.SeedSequence(seed)
    conf_seed, mc_seed, noswap_seed = ss.spawn(3)
    t0 = time.perf_counter()
    row = {"d": d, "N": N, "taper": float(taper), "T_p": float(temperature), "seed": int(seed),
           "diameters_seed": int(diameters_seed), "potential": str(potential)}
    base = random_configuration(d, N, diameters_seed, model=pot)

    def random_positions(s):
        rng = np.random.Generator(np.random.PCG64(s))
        return base.replace(positions=rng.random((N, d)) * base.box)

    if math.isinf(temperature):
        confs = [random_positions(s) for s in conf_seed.spawn(n_samples)]
        row.update(_quench_stats(confs, pot, tol))
        row["wall_s"] = time.perf_counter() - t0
        return row
    # equilibration: at least min_sweeps, then until it lasts n_tau_eq running taus (cap: the budget)
    mc = SwapMonteCarlo(random_positions(conf_seed), pot, temperature, mc_seed, record_every=record_every)
    _run_until_decorrelated(mc, min_sweeps, equilibration_sweeps, n_tau_eq, chunk)
    eq_sweeps = mc.state.sweeps_done
    n_eq_records = len(mc.state.energies)
    q_init_min = float(np.min(mc.state.q_initial))
    tau_eq = mc.tau_sweeps()
    mc.state.overlap.reset()
    mc.state.overlap.update(mc.state.unwrapped)
    # production: samples spaced by 2 tau (at least min_spacing; the budget caps the spacing)
    want = max(min_spacing, int(math.ceil(2.0 * tau_eq))) if math.isfinite(tau_eq) else production_sweeps
    spacing = max(1, min(want, production_sweeps // n_samples))
    samples = []
    for _ in range(n_samples):
        mc.run(spacing)
        samples.append(mc.configuration)
    res = mc.result()
    e_prod = np.array(mc.state.energies[n_eq_records:]) / N
    verdict = equilibration_verdict(res.tau_sweeps, eq_sweeps, e_prod, q_init_min)
    e_liq, e_liq_err = block_error(e_prod)
    row.update({"acc_move": res.acceptance_move, "acc_swap": res.acceptance_swap, "tau_swap_sweeps": res.tau_sweeps,
                "tau_swap_eq_sweeps": tau_eq, "equilibrated": bool(verdict["equilibrated"]),
                "drift_z": verdict["drift_z"], "verdict": "; ".join(verdict["reasons"]), "e_liquid_mean": e_liq,
                "e_liquid_err": e_liq_err, "spacing_sweeps": spacing, "decorrelated": bool(spacing >= res.tau_sweeps),
                "equilibration_sweeps": eq_sweeps, "production_sweeps": spacing * n_samples})
    # plain MC (no swaps) from the equilibrated liquid: the physical decorrelation time
    tau_ns, acc_ns, ns_done = float("nan"), float("nan"), 0
    if noswap_sweeps > 0:
        plain = SwapMonteCarlo(mc.configuration, pot, temperature, noswap_seed, p_swap=0.0, record_every=record_every)
        _run_until_decorrelated(plain, min_sweeps, noswap_sweeps, n_tau_noswap, chunk)
        tau_ns, acc_ns, ns_done = plain.tau_sweeps(), plain.acceptance()[0], plain.state.sweeps_done
    row.update({"tau_noswap_sweeps": tau_ns, "acc_move_noswap": acc_ns, "noswap_sweeps": ns_done})
    row.update(_quench_stats(samples, pot, tol))
    row["wall_s"] = time.perf_counter() - t0
    return row


def _run_until_decorrelated(mc, min_sweeps, max_sweeps, n_tau, chunk):
    """Run ``mc`` in chunks until sweeps >= max(min_sweeps, n_tau * tau) (tau finite), or max_sweeps."""
    while mc.state.sweeps_done < max_sweeps:
        s = mc.state.sweeps_done
        if s >= min_sweeps:
            tau = mc.tau_sweeps()
            if math.isfinite(tau) and s >= n_tau * tau:
                return
        mc.run(min(chunk, max_sweeps - s))


def calibration_scan(d=3, N=1000, tapers=(2, math.inf), temperatures=DEFAULT_TEMPERATURES, seed=2024,
                     include_ideal_gas=True, on_row=None, potentials=None, **kwargs) -> pd.DataFrame:
    """All rows, temperatures from high to low, potentials interleaved; ``on_row(df)`` after each row.

    ``potentials``: list of (id, potential) to scan; default the tapered IPL with each of ``tapers``."""
    temps = sorted((float(t) for t in temperatures), reverse=True)
    if include_ideal_gas:
        temps = [math.inf] + [t for t in temps if not math.isinf(t)]
    entries = [("tipl", TaperedIPL(taper=m)) for m in tapers] if potentials is None else list(potentials)
    rows = []
    for k, t in enumerate(temps):
        for j, (pid, pot) in enumerate(entries):
            point_seed = int(seed) * 1000 + 10 * k + j  # recorded in the row
            rows.append(calibration_point(d, N, pot.cutoff_order, t, point_seed, pot=pot, potential=pid, **kwargs))
            if on_row is not None:
                on_row(pd.DataFrame(rows))
    return pd.DataFrame(rows)


def fit_arrest_temperature(T, tau, min_points: int = 3) -> dict:
    """Fit tau = A (T - T_d)^-gamma to finite tau values (least squares on log tau).

    Returns:
        dict with T_d, gamma, A, n_points, rms (of log tau residuals), method; nan entries if
        fewer than ``min_points`` finite points or the fit fails.
    """
    T = np.asarray(T, dtype=float)
    tau = np.asarray(tau, dtype=float)
    ok = np.isfinite(T) & np.isfinite(tau) & (tau > 0)
    T, tau = T[ok], tau[ok]
    out = {"T_d": float("nan"), "gamma": float("nan"), "A": float("nan"), "n_points": int(T.size),
           "rms": float("nan"), "method": "power law tau = A (T - T_d)^-gamma, least squares in log tau"}
    if T.size < min_points:
        return out
    y = np.log(tau)
    tmin = T.min()

    def resid(p):
        log_a, gamma, td = p
        return log_a - gamma * np.log(T - td) - y

    best = None
    for td0 in tmin * np.array([0.2, 0.5, 0.8, 0.95]):
        try:
            r = scipy.optimize.least_squares(resid, [y.max(), 2.0, td0],
                                             bounds=([-np.inf, 0.0, 0.0], [np.inf, 20.0, tmin * (1 - 1e-6)]))
        except ValueError:
            continue
        if best is None or r.cost < best.cost:
            best = r
    if best is None or not best.success:
        return out
    log_a, gamma, td = best.x
    out.update(T_d=float(td), gamma=float(gamma), A=float(math.exp(log_a)),
               rms=float(np.sqrt(np.mean(best.fun ** 2))))
    return out


def onset_temperature(T, e_is, e_err, e_plateau, e_plateau_err, z: float = 3.0) -> float:
    """Onset of the e_IS drop: the highest finite T_p such that it and every lower T_p lie more than
    ``z`` combined standard errors below the high-temperature plateau (a sustained drop, so one
    fluctuating point does not set the onset). Returns nan when even the lowest T_p is not below.
    """
    T = np.asarray(T, dtype=float)
    e_is = np.asarray(e_is, dtype=float)
    e_err = np.asarray(e_err, dtype=float)
    onset = float("nan")
    for k in np.argsort(T):
        if not np.isfinite(T[k]):
            break
        if e_is[k] < e_plateau - z * math.hypot(e_err[k], e_plateau_err):
            onset = float(T[k])
        else:
            break
    return onset


def summarize(df: pd.DataFrame) -> dict:
    """Per potential and taper: onset temperature, T_d fit, lowest equilibrated T_p, recommended high /
    low T_p. Keys: the taper m for the tapered IPL (as before), "<id> m=<m>" for other potentials."""
    out = {}
    if "potential" not in df:
        df = df.assign(potential="tipl")
    for (pid, m), g in df.groupby(["potential", "taper"]):
        g = g.sort_values("T_p", ascending=False)
        gas = g[~np.isfinite(g["T_p"])]
        fin = g[np.isfinite(g["T_p"])]
        e_pl = float(gas["e_is_mean"].iloc[0]) if len(gas) else float(fin["e_is_mean"].iloc[0])
        e_pl_err = float(gas["e_is_err"].iloc[0]) if len(gas) else float(fin["e_is_err"].iloc[0])
        t_on = onset_temperature(fin["T_p"], fin["e_is_mean"], fin["e_is_err"], e_pl, e_pl_err)
        tau_ns = fin["tau_noswap_sweeps"] if "tau_noswap_sweeps" in fin else pd.Series(np.nan, index=fin.index)
        fit_all = fit_arrest_temperature(fin["T_p"], tau_ns)
        # the power law is an asymptotic (MCT-like) form: fit the supercooled range T_p <= T_onset when
        # it holds >= 4 resolved points, else the 5 lowest resolved temperatures
        resolved = fin[np.isfinite(tau_ns.to_numpy(dtype=float))]
        low_range = resolved[resolved["T_p"] <= t_on] if math.isfinite(t_on) else resolved.iloc[0:0]
        if len(low_range) < 4:
            low_range = resolved.sort_values("T_p").head(5)
        fit = fit_arrest_temperature(low_range["T_p"], low_range["tau_noswap_sweeps"]) if len(low_range) else fit_all
        fit["T_range"] = [float(low_range["T_p"].min()), float(low_range["T_p"].max())] if len(low_range) else []
        eq = fin[fin["equilibrated"].astype(bool)] if "equilibrated" in fin else fin.iloc[0:0]
        t_low_eq = float(eq["T_p"].min()) if len(eq) else float("nan")
        # low: the lowest T_p that swap MC still equilibrates, not below the fitted T_d
        low = t_low_eq
        if math.isfinite(fit["T_d"]) and math.isfinite(low) and low < fit["T_d"]:
            above = eq[eq["T_p"] >= fit["T_d"]]
            low = float(above["T_p"].min()) if len(above) else float("nan")
        high = 2.0 * t_on if math.isfinite(t_on) else float(fin["T_p"].max())
        out[_label(pid, m)] = {"potential": str(pid), "taper": float(m), "e_is_plateau": e_pl, "T_onset": t_on, "T_d": fit["T_d"],
                       "gamma": fit["gamma"], "tau_fit_points": fit["n_points"], "tau_fit_rms": fit["rms"],
                       "T_d_range": fit["T_range"],
                       "T_d_method": fit["method"] + f" over T_p in {fit['T_range']}",
                       "T_d_all_points": fit_all["T_d"], "gamma_all_points": fit_all["gamma"],
                       "lowest_equilibrated_T_p": t_low_eq,
                       "recommended_low_T_p": low, "recommended_high_T_p": high}
    return out


def _fmt_m(m) -> str:
    return "inf" if math.isinf(m) else str(int(m))


def _label(pid, m) -> str:
    """Summary key: the taper alone for the tapered IPL (as before issue 12), else "<id> m=<m>"."""
    return str(float(m)) if pid == "tipl" else f"{pid} m={_fmt_m(m)}"


def plot_calibration(df: pd.DataFrame, summary: dict, path_stem) -> list:
    """e_IS(T_p), tau(T_p) with / without swaps, acceptance; writes ``path_stem``.png and .pdf."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 3, figsize=(13, 4))
    if "potential" not in df:
        df = df.assign(potential="tipl")
    for (pid, m), g in df.groupby(["potential", "taper"]):
        lab = ("m = inf" if math.isinf(m) else f"m = {int(m)}") if pid == "tipl" else f"{pid} (m = {_fmt_m(m)})"
        fin = g[np.isfinite(g["T_p"])].sort_values("T_p")
        ax[0].errorbar(fin["T_p"], fin["e_is_mean"], yerr=fin["e_is_err"], marker="o", label=lab, capsize=2)
        gas = g[~np.isfinite(g["T_p"])]
        if len(gas):
            ax[0].axhline(float(gas["e_is_mean"].iloc[0]), ls=":", color=ax[0].lines[-1].get_color(),
                          label=f"{lab}, T_p = inf")
        s = summary.get(_label(pid, m), {})
        if math.isfinite(s.get("T_onset", float("nan"))):
            ax[0].axvline(s["T_onset"], ls="--", color=ax[0].lines[-1].get_color(), alpha=0.5)
        if "tau_swap_sweeps" in fin:
            ax[1].plot(fin["T_p"], fin["tau_swap_sweeps"], "o-", label=f"{lab}, swap")
            ax[1].plot(fin["T_p"], fin["tau_noswap_sweeps"], "s--", label=f"{lab}, no swap")
            if math.isfinite(s.get("T_d", float("nan"))):
                lo_hi = s.get("T_d_range") or [fin["T_p"].min(), fin["T_p"].max()]
                sel = fin[(fin["T_p"] >= lo_hi[0]) & (fin["T_p"] <= lo_hi[1])]
                fit = fit_arrest_temperature(sel["T_p"], sel["tau_noswap_sweeps"])
                if math.isfinite(fit["T_d"]):
                    tt = np.linspace(lo_hi[0], lo_hi[1], 100)
                    ax[1].plot(tt, fit["A"] * (tt - fit["T_d"]) ** -fit["gamma"], "-", color="gray", lw=3,
                               alpha=0.4, label=f"{lab}: fit, T_d = {fit['T_d']:.3g}")
                ax[1].axvline(s["T_d"], ls=":", color=ax[1].lines[-1].get_color())
            ax[2].plot(fin["T_p"], fin["acc_move"], "o-", label=f"{lab}, move")
            ax[2].plot(fin["T_p"], fin["acc_swap"], "s--", label=f"{lab}, swap")
    ax[0].set(xlabel="T_p", ylabel="e_IS (per particle)", xscale="log")
    ax[1].set(xlabel="T_p", ylabel="tau (sweeps, Q = 1/e)", xscale="log")
    taus = df.reindex(columns=["tau_swap_sweeps", "tau_noswap_sweeps"]).to_numpy(dtype=float).ravel()
    if np.any(np.isfinite(taus) & (taus > 0)):
        ax[1].set_yscale("log")
    ax[2].set(xlabel="T_p", ylabel="acceptance", xscale="log")
    from matplotlib.ticker import NullFormatter, ScalarFormatter
    for a in ax:
        a.xaxis.set_major_formatter(ScalarFormatter())
        a.xaxis.set_minor_formatter(NullFormatter())
        a.set_xticks([0.25, 0.5, 1, 2, 5])
        a.legend(fontsize=7)
    fig.tight_layout()
    stem = Path(path_stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    paths = [stem.with_suffix(".png"), stem.with_suffix(".pdf")]
    for p in paths:
        fig.savefig(p, dpi=130)
    plt.close(fig)
    return [str(p) for p in paths]


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              cwd=Path(__file__).parent, timeout=10).stdout.strip() or "unknown"
    except Exception:  # pragma: no cover
        return "unknown"


def _write_parquet(df: pd.DataFrame, path: Path, metadata: dict) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    meta = dict(table.schema.metadata or {})
    meta.update({f"glassvib.{k}".encode(): json.dumps(v, default=str).encode() for k, v in metadata.items()})
    table = table.replace_schema_metadata(meta)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def run_calibration(results: str = "results", d: int = 3, N: int = 1000, tapers=(2, math.inf),
                    temperatures=DEFAULT_TEMPERATURES, seed: int = 2024, equilibration_sweeps: int = 30000,
                    production_sweeps: int = 16000, n_samples: int = 8, noswap_sweeps: int = 20000,
                    record_every: int = 5, tol: float = 1e-10, progress: bool = False, potentials=None):
    """Run the scan and write ``<results>/tables/calibration.parquet`` (rewritten after every row, so a
    partial scan is usable) and ``<results>/figures/calibration.{png,pdf}``.

    Returns:
        (DataFrame, summary dict). The summary is also stored as JSON in the Parquet metadata and in
        ``<results>/tables/calibration_summary.json``.
    """
    from . import __version__

    results = Path(results)
    table_path = results / "tables" / "calibration.parquet"
    params = dict(d=d, N=N, tapers=[float(m) for m in tapers], temperatures=[float(t) for t in temperatures],
                  seed=seed, equilibration_sweeps=equilibration_sweeps, production_sweeps=production_sweeps,
                  n_samples=n_samples, noswap_sweeps=noswap_sweeps, record_every=record_every, tol=tol)
    if potentials is not None:
        params["potentials"] = {pid: pot.spec() for pid, pot in potentials}
    meta = {"version": __version__, "git_commit": _git_commit(), "params": params}

    def on_row(df):
        _write_parquet(df, table_path, {**meta, "complete": False})
        if progress:
            r = df.iloc[-1]
            print(f"[calibration] {r['potential']} m={r['taper']} T_p={r['T_p']} e_IS={r['e_is_mean']:.5f}+-{r['e_is_err']:.5f} "
                  f"tau_swap={r.get('tau_swap_sweeps', float('nan')):.4g} "
                  f"tau_noswap={r.get('tau_noswap_sweeps', float('nan')):.4g} wall={r['wall_s']:.0f}s", flush=True)

    df = calibration_scan(d, N, tapers, temperatures, seed, on_row=on_row, potentials=potentials,
                          equilibration_sweeps=equilibration_sweeps, production_sweeps=production_sweeps,
                          n_samples=n_samples, noswap_sweeps=noswap_sweeps, record_every=record_every, tol=tol)
    summary = summarize(df)
    _write_parquet(df, table_path, {**meta, "complete": True, "summary": summary})
    (results / "tables" / "calibration_summary.json").write_text(json.dumps(summary, indent=2, default=str))
    plot_calibration(df, summary, results / "figures" / "calibration")
    return df, summary
