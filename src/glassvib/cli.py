"""Command-line interface ``glassvib``: one subcommand per workflow stage (issue 5).

Contract: each subcommand parses its arguments, calls the package, and writes its outputs
atomically (temporary name + rename), so an interrupted job leaves either a complete file or none.
No physics lives here. Bad input exits with status 2 and a one-line message naming the argument.

    glassvib sample    --point d3/N125/Tp0.3/m2/tipl --n-samples 10 --seed 1 --output parents.npz
    glassvib potential --spec '{"model": "lennard_jones", "taper": 2}' --output <point folder>/potential.json
    glassvib quench    --input parents.npz --output inherent.npz
    glassvib analyze   --input inherent.npz --output-dir <batch folder>
    glassvib aggregate --batch-dirs <batch folders...> --output-dir results/tables
    glassvib figures   --tables results/tables --output-dir results/figures
    glassvib paper-figures --tables results/tables --output-dir results/figures
    glassvib scan-figures --tables results/tables --output-dir results/figures
    glassvib mode-figure --input <batch>/inherent.npz --output-dir results/figures
    glassvib calibrate --settings '{"d": 3, "N": 125}' --results-dir results
"""
from __future__ import annotations

import argparse
import inspect
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from .minimize import METHODS as QUENCH_METHODS
from .provenance import atomic_path, provenance
from .study import BUILTIN_POTENTIAL, DEFAULTS, Point, builtin_potential, parse_value

__all__ = ["main", "build_parser"]


# --------------------------------------------------------------------------------------------
# helpers


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _potential(point: Point, spec=None):
    """The pair potential of a point: the built-in tipl from the path, or the definition ``spec``
    ({"model": ..., parameters}) of the point's potential id, whose cutoff order must be the
    path's m."""
    from .potentials import make_potential

    if spec is None:
        if point.potential != BUILTIN_POTENTIAL:
            raise ValueError(f"potential {point.potential!r} of {point.path} needs its definition: --potential-spec "
                             f"or a potential.json in the point's folder (glassvib potential)")
        return builtin_potential(point.taper)
    if point.potential == BUILTIN_POTENTIAL:
        raise ValueError(f"{point.path}: the built-in {BUILTIN_POTENTIAL} is defined by its path; give no definition")
    pot = make_potential(spec, where=f"potential {point.potential}")
    if float(pot.cutoff_order) != float(point.taper):
        raise ValueError(f"{point.path}: the definition of {point.potential} has cutoff order m = "
                         f"{pot.cutoff_order}, the path says m = {point.taper}")
    return pot


def _stored_potential(point: Point, meta: dict):
    """The potential recorded in an .npz's metadata (files written before issue 12 hold tipl only)."""
    return _potential(point, meta.get("potential"))


def _conf_of(arrays, i):
    """Configuration i of a parents/inherent .npz (species all 0 in files written before issue 12)."""
    from .configuration import Configuration

    species = arrays["species"][i] if "species" in arrays else None
    return Configuration(arrays["positions"][i], arrays["diameters"][i], float(arrays["box"]), species)


def _point_from_args(args) -> Point:
    if args.point:
        try:
            return Point.from_path(args.point)
        except ValueError as err:
            raise ValueError(f"--point: {err}") from None
    missing = [o for o, v in (("--d", args.d), ("--N", args.N), ("--T-p", args.T_p), ("--taper", args.taper))
               if v is None]
    if missing:
        raise ValueError(f"give --point or all of --d --N --T-p --taper (missing {' '.join(missing)})")
    return Point(int(args.d), int(args.N), parse_value(args.T_p), parse_value(args.taper), args.potential)


def _limit_threads(n: int):
    """Limit BLAS (threadpoolctl) and numba threads to ``n``; returns the threadpoolctl context."""
    from threadpoolctl import threadpool_limits

    try:
        import numba

        numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))
    except Exception:  # numba without threading layer: nothing to limit
        pass
    return threadpool_limits(limits=int(n))


def _save_npz(path, arrays: dict, meta: dict) -> None:
    with atomic_path(path) as tmp:
        np.savez_compressed(tmp, meta=np.array(json.dumps(meta, default=str)), **arrays)


def _load_npz(path):
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"--input {path} does not exist")
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files if k != "meta"}
        meta = json.loads(str(data["meta"])) if "meta" in data.files else {}
    return arrays, meta


def _call_with_supported(func, *args, **kwargs):
    """Call ``func`` passing only the keyword arguments its signature accepts."""
    params = inspect.signature(func).parameters
    if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        kwargs = {k: v for k, v in kwargs.items() if k in params}
    return func(*args, **kwargs)


def _seed_ints(seed: int, n: int) -> list:
    """n independent 63-bit integer seeds derived from ``seed`` by SeedSequence."""
    return [int(x >> np.uint64(1)) for x in np.random.SeedSequence(int(seed)).generate_state(n, np.uint64)]


# --------------------------------------------------------------------------------------------
# sample


def _spec_of_sample(args, point):
    """--potential-spec, else <point folder>/potential.json (two levels above --output) for a
    potential other than the built-in tipl, else None."""
    if args.potential_spec:
        return json.loads(args.potential_spec)
    if point.potential == BUILTIN_POTENTIAL:
        return None
    path = Path(args.output).resolve().parent.parent / "potential.json"
    if not path.exists():
        raise FileNotFoundError(f"potential {point.potential!r} of {point.path} is not the built-in tipl: give its "
                                f"definition with --potential-spec or in {path} (glassvib potential)")
    return json.loads(path.read_text())


def cmd_sample(args) -> int:
    from .configuration import random_configuration

    point = _point_from_args(args)
    pot = _potential(point, _spec_of_sample(args, point))
    n = int(args.n_samples)
    if n < 1:
        raise ValueError(f"--n-samples = {n}, expected >= 1")
    mc = {**DEFAULTS["mc"], **(json.loads(args.mc) if args.mc else {})}
    first = int(args.first_sample)
    positions, diameters, species, sample_seeds, equilibrated, acc_move, acc_swap, per_meta = [], [], [], [], [], [], [], []
    _log(f"sample {point.path}: {n} sample(s), seed {args.seed}")
    if math.isinf(point.T_p):
        # SPEC §3.1: T_p = inf means a quench straight from the ideal-gas state; one seed per sample.
        for i, s in enumerate(_seed_ints(args.seed, n)):
            conf = random_configuration(point.d, point.N, seed=s, model=pot)
            positions.append(conf.positions)
            diameters.append(conf.diameters)
            species.append(conf.species)
            sample_seeds.append(s)
            equilibrated.append(True)
            acc_move.append(float("nan"))
            acc_swap.append(float("nan"))
            per_meta.append({"protocol": "random positions"})
    else:
        from .parent_liquid import draw_parent_samples

        init_seed, mc_seed = _seed_ints(args.seed, 2)
        conf0 = random_configuration(point.d, point.N, seed=init_seed, model=pot)
        draws = _call_with_supported(
            draw_parent_samples, conf0, pot, point.T_p, n, mc_seed,
            equilibration_sweeps=mc["equilibration_sweeps"], min_spacing_sweeps=mc["spacing_sweeps"],
            max_sweeps=mc["max_sweeps"], p_swap=mc["p_swap"], step=mc["step"],
            record_every=mc["record_every"], checkpoint_every_s=mc["checkpoint_every_s"],
            n_tau=mc["n_tau"], checkpoint=args.checkpoint)
        if len(draws) != n:
            raise RuntimeError(f"draw_parent_samples returned {len(draws)} samples, expected {n}")
        for conf, meta in draws:
            positions.append(conf.positions)
            diameters.append(conf.diameters)
            species.append(conf.species)
            sample_seeds.append(int(args.seed))
            equilibrated.append(bool(meta.get("equilibrated", False)))
            acc_move.append(float(meta.get("acc_move", meta.get("acceptance_move", float("nan")))))
            acc_swap.append(float(meta.get("acc_swap", meta.get("acceptance_swap", float("nan")))))
            per_meta.append({k: v for k, v in meta.items() if np.ndim(v) == 0 or isinstance(v, str)})
    box = (point.N / pot.default_density(point.d)) ** (1.0 / point.d)
    meta = {"point": point.as_dict(), "point_path": point.path, "batch_seed": int(args.seed),
            "samples": per_meta, "mc": mc,
            "provenance": provenance(args.config_hash, seeds=[int(args.seed)])}
    if point.potential != BUILTIN_POTENTIAL:
        meta["potential"] = pot.spec()
    arrays = {
        "positions": np.asarray(positions, dtype=np.float64),
        "diameters": np.asarray(diameters, dtype=np.float64),
        "box": np.float64(box),
        "sample": np.arange(first, first + n, dtype=np.int64),
        "seed": np.asarray(sample_seeds, dtype=np.int64),
        "equilibrated": np.asarray(equilibrated, dtype=bool),
        "acc_move": np.asarray(acc_move, dtype=np.float64),
        "acc_swap": np.asarray(acc_swap, dtype=np.float64),
    }
    if point.potential != BUILTIN_POTENTIAL:  # (tipl files keep their former layout: one species)
        arrays["species"] = np.asarray(species, dtype=np.int64)
    _save_npz(args.output, arrays, meta)
    if args.checkpoint and Path(args.checkpoint).exists():
        Path(args.checkpoint).unlink()  # the batch is complete; its MC checkpoint is no longer needed
    _log(f"wrote {args.output}")
    return 0


# --------------------------------------------------------------------------------------------
# potential


def cmd_potential(args) -> int:
    from .potentials import make_potential

    try:
        spec = json.loads(args.spec)
    except json.JSONDecodeError as err:
        raise ValueError(f"--spec is not JSON: {err}") from None
    pot = make_potential(spec, where="--spec")
    with atomic_path(args.output) as tmp:
        Path(tmp).write_text(json.dumps(pot.spec(), sort_keys=True, indent=1) + "\n")
    _log(f"wrote {args.output}: {pot.spec()}")
    return 0


# --------------------------------------------------------------------------------------------
# quench


def cmd_quench(args) -> int:
    arrays, meta = _load_npz(args.input)
    from .minimize import quench

    point = Point(**meta["point"])
    pot = _stored_potential(point, meta)
    n = arrays["positions"].shape[0]
    out = {k: arrays[k] for k in ("diameters", "box", "sample", "seed", "equilibrated", "acc_move", "acc_swap",
                                  "species") if k in arrays}
    pos, success, n_iter, energy, max_force, messages = [], [], [], [], [], []
    for i in range(n):
        conf = _conf_of(arrays, i)
        res = _call_with_supported(quench, conf, pot, tol=args.tol, max_iter=args.max_iter, method=args.method)
        pos.append(res.configuration.positions)
        success.append(bool(res.success))
        n_iter.append(int(res.n_iter))
        energy.append(float(res.energy))
        max_force.append(float(res.max_force))
        messages.append(str(getattr(res, "message", "")))
        _log(f"sample {int(arrays['sample'][i])}: success={res.success} n_iter={res.n_iter} "
             f"e={res.energy / point.N:.6f} max|F|={res.max_force:.2e}")
    out.update(positions=np.asarray(pos), converged=np.asarray(success, dtype=bool),
               n_iter=np.asarray(n_iter, dtype=np.int64), energy=np.asarray(energy),
               max_force=np.asarray(max_force))
    meta = {**meta, "quench": {"tol": args.tol, "max_iter": args.max_iter, "method": args.method,
                               "messages": messages},
            "provenance_quench": provenance(args.config_hash, seeds=meta.get("batch_seed"),
                                            inputs=[args.input])}
    _save_npz(args.output, out, meta)
    _log(f"wrote {args.output}: {sum(success)}/{n} converged")
    return 0


# --------------------------------------------------------------------------------------------
# analyze


def cmd_analyze(args) -> int:
    arrays, meta = _load_npz(args.input)
    import pandas as pd

    from .analysis import analyze_inherent_structure
    from .tables import write_table

    point = Point(**meta["point"])
    pot = _stored_potential(point, meta)
    k = args.k
    full = str(k) == "all"
    kval = point.d * point.N if full else int(k)
    samples, modes, stresses = [], [], []
    key = point.as_dict()
    for i in range(arrays["positions"].shape[0]):
        sid = int(arrays["sample"][i])
        conf = _conf_of(arrays, i)
        row = {**key, "sample": sid, "seed": int(arrays["seed"][i]), "max_force": float(arrays["max_force"][i]),
               "converged": bool(arrays["converged"][i]), "equilibrated": bool(arrays["equilibrated"][i]),
               "acc_move": float(arrays["acc_move"][i]), "acc_swap": float(arrays["acc_swap"][i]),
               "e_is": float(arrays["energy"][i]) / point.N}
        if not row["converged"]:
            # SPEC §3.3: flagged, counted, kept out of spectra.
            row.update(pressure=np.nan, shear_modulus=np.nan, omega0=np.nan, n_zero_modes=-1, n_negative=-1)
            samples.append(row)
            _log(f"sample {sid}: not converged, kept out of spectra")
            continue
        if full:
            # every eigenpair by dense LAPACK; level ratios are pooled later from the modes table
            res = analyze_inherent_structure(conf, pot, k=kval, delta=args.delta, full_spectrum=False,
                                             method="dense")
        else:
            # shift-invert Lanczos, k grown until every mode below complete_to * omega_0 is found
            # (eigenvalues = all: plus every eigenvalue without vectors, and the highest window's vectors)
            res = analyze_inherent_structure(conf, pot, k=kval, delta=args.delta, full_spectrum=False,
                                             omega_c_fraction=args.complete_to, completeness_margin=1.0,
                                             eigenvalues=args.eigenvalues, level_window=args.level_window)
        row.update(pressure=float(res.pressure), shear_modulus=float(res.shear_modulus),
                   omega0=float(res.omega0), n_zero_modes=int(res.n_zero_modes),
                   n_negative=int(res.n_negative), e_is=float(res.e_is))
        samples.append(row)
        lam = np.asarray(res.eigenvalues, dtype=np.float64)
        modes.append(pd.DataFrame({**{c: [v] * lam.size for c, v in key.items()}, "sample": sid,
                                   "rank": np.arange(lam.size), "omega2": lam,
                                   "omega": np.asarray(res.omegas, dtype=np.float64),
                                   "participation": np.asarray(res.participation, dtype=np.float64)}))
        stresses.append(_stress_rows(res.stress, key, sid))
        _log(f"sample {sid}: G={res.shear_modulus:.4g} omega0={res.omega0:.4g} zero={res.n_zero_modes} "
             f"negative={res.n_negative}")
    prov = provenance(args.config_hash, seeds=meta.get("batch_seed"), inputs=[args.input],
                      point=point.path, k=str(k), delta=args.delta, complete_to=args.complete_to,
                      eigenvalues=args.eigenvalues, potential=json.dumps(pot.spec(), sort_keys=True))
    outdir = Path(args.output_dir)
    write_table(pd.DataFrame(samples), outdir / "samples.parquet", "samples", prov)
    write_table(_concat_or_empty(modes, "modes"), outdir / "modes.parquet", "modes", prov)
    write_table(_concat_or_empty(stresses, "batch_stress_hist"), outdir / "stress_hist.parquet",
                "batch_stress_hist", prov)
    _log(f"wrote {outdir}/{{samples,modes,stress_hist}}.parquet")
    return 0


def _stress_rows(hist, key: dict, sample: int):
    """Per-sample rows of a :class:`glassvib.stresses.StressHistogram`, with the underflow bin
    [0, lowest edge) and the overflow bin [highest edge, inf) so that counts cover every pair."""
    import pandas as pd

    edges = 10.0 ** np.asarray(hist.log10_edges, dtype=np.float64)
    frames = []
    for comp, counts in hist.counts.items():
        lo = np.concatenate([[0.0], edges[:-1], [edges[-1]]])
        hi = np.concatenate([[edges[0]], edges[1:], [np.inf]])
        cnt = np.concatenate([[hist.below[comp]], np.asarray(counts), [hist.above[comp]]]).astype(np.int64)
        frames.append(pd.DataFrame({**{c: [v] * lo.size for c, v in key.items()}, "sample": sample,
                                    "component": comp, "bin_lo": lo, "bin_hi": hi, "count": cnt}))
    return pd.concat(frames, ignore_index=True)


def _concat_or_empty(frames, kind):
    import pandas as pd

    from .tables import COLUMNS, EXTRA_COLUMNS

    if frames:
        return pd.concat(frames, ignore_index=True)
    return pd.DataFrame(columns=list((COLUMNS.get(kind) or EXTRA_COLUMNS[kind])))


# --------------------------------------------------------------------------------------------
# aggregate, figures, calibrate


def cmd_aggregate(args) -> int:
    from .tables import aggregate, write_tables

    fit = {**DEFAULTS["fit"], **(json.loads(args.fit) if args.fit else {})}
    missing = [b for b in args.batch_dirs if not (Path(b) / "samples.parquet").exists()]
    if missing:
        raise FileNotFoundError(f"--batch-dirs: no samples.parquet in {missing[:3]}"
                                f"{' ...' if len(missing) > 3 else ''}")
    tables = aggregate(args.batch_dirs, fit, seed=args.seed, level_window=args.level_window)
    prov = provenance(args.config_hash, seeds=[args.seed], inputs=args.batch_dirs, fit=fit)
    for path in write_tables(tables, args.output_dir, prov):
        _log(f"wrote {path}")
    ex = tables["exponents"]
    _print_table(ex)
    return 0


def _print_table(df) -> None:
    import pandas as pd

    with pd.option_context("display.width", 200, "display.max_columns", 30, "display.precision", 3):
        print(df.to_string(index=False), flush=True)


def cmd_figures(args) -> int:
    from .figures import make_all_figures

    paths = make_all_figures(args.tables, args.output_dir)
    for p in paths:
        _log(f"wrote {p}")
    return 0


def cmd_paper_figures(args) -> int:
    from .paper_figures import make_paper_figures

    for p in make_paper_figures(args.tables, args.output_dir):
        _log(f"wrote {p}")
    return 0


def cmd_scan_figures(args) -> int:
    from .scan_figures import make_scan_figures

    for p in make_scan_figures(args.tables, args.output_dir):
        _log(f"wrote {p}")
    return 0


def cmd_mode_figure(args) -> int:
    """The lowest non-zero mode below the sample's own w_0, in the first sample (in file order) of
    ``--input`` that has one; drawn by :func:`glassvib.paper_figures.plot_mode`."""
    arrays, meta = _load_npz(args.input)
    from .elasticity import omega0, shear_moduli
    from .figures import _save
    from .modes import count_modes, modes_below, zero_tolerance
    from .observables import participation_ratio
    from .paper_figures import plot_mode, select_mode
    from .system import hessian

    point = Point(**meta["point"])
    if point.d not in (2, 3):
        raise ValueError(f"--input: d = {point.d}; the mode picture needs d = 2 or 3")
    pot = _stored_potential(point, meta)
    for i in range(arrays["positions"].shape[0]):
        if not bool(arrays["converged"][i]):
            continue
        conf = _conf_of(arrays, i)
        H = hessian(conf, pot)
        w0 = omega0(shear_moduli(conf, pot, H=H).G, conf.density, conf.box)
        # every mode below w_0 (SPEC §3 completeness), with its eigenvector
        res = modes_below(H, w0 ** 2 if np.isfinite(w0) else 0.0, k=32, dim=point.d)
        counts = count_modes(res.eigenvalues, point.d, zero_tolerance(H))
        j = select_mode(res.eigenvalues, w0, counts.n_zero_modes, point.d)
        if j is None or counts.n_negative:
            _log(f"sample {int(arrays['sample'][i])}: no non-zero mode below w_0 = {w0:.4g}")
            continue
        vec = res.eigenvectors[:, j]
        fig = plot_mode(conf.positions, conf.box, vec, math.sqrt(res.eigenvalues[j]), w0,
                        float(participation_ratio(vec[:, None], point.d)[0]))
        fig.suptitle(f"{point.path}, sample {int(arrays['sample'][i])}: lowest non-zero mode below ω_0",
                     fontsize=9)
        for p in _save(fig, Path(args.output_dir), args.name):
            _log(f"wrote {p}")
        return 0
    raise ValueError(f"--input {args.input}: no converged sample has a non-zero mode below w_0")


def cmd_cost_table(args) -> int:
    """Median seconds per sample (stage x point) from the run's benchmark files; optionally the total
    for another config's sample counts (an extrapolation, labelled as such)."""
    from .costs import cost_table, extrapolate, format_cost_table

    counts = None
    if args.extrapolate:
        import yaml

        from .study import load_study

        with open(args.extrapolate) as fh:
            study = load_study(yaml.safe_load(fh))
        counts = {p: n for p, (_, n, _) in study.points.items()}
    parts = []
    for column, title in (("s", "wall-clock s per sample"), ("cpu_time", "CPU s per sample")):
        tab = cost_table(args.results, column=column)
        if counts is not None:
            tab = extrapolate(tab, counts)
            total = float(np.nansum(tab["core_hours"]))
            title += f"; core_hours: extrapolated to the sample counts of {args.extrapolate} (total {total:.1f})"
        parts.append(f"### {title}\n\n{format_cost_table(tab)}\n")
    text = "\n".join(parts)
    print(text, flush=True)
    if args.output:
        with atomic_path(args.output) as tmp:
            Path(tmp).write_text(text)
        _log(f"wrote {args.output}")
    return 0


def cmd_calibrate(args) -> int:
    from .calibration import run_calibration

    from .potentials import make_potential

    cal = {**DEFAULTS["calibration"], **(json.loads(args.settings) if args.settings else {})}
    tapers = [parse_value(m) for m in cal["tapers"]]
    Point(int(cal["d"]), int(cal["N"]), float("inf"), tapers[0], "tipl")  # validates d, N, taper
    potentials = None
    if "potentials" in cal:  # (id, potential) entries; the built-in tipl with each taper
        specs = cal.get("potential_specs", {})
        potentials = []
        for pid in cal["potentials"]:
            if pid == BUILTIN_POTENTIAL:
                potentials += [(pid, builtin_potential(m)) for m in tapers]
            elif pid in specs:
                potentials.append((pid, make_potential(specs[pid], where=f"potential {pid}")))
            else:
                raise ValueError(f"--settings: potential {pid!r} has no definition in potential_specs")
    df, summary = run_calibration(
        results=args.results_dir, d=int(cal["d"]), N=int(cal["N"]), tapers=tapers, potentials=potentials,
        temperatures=[float(t) for t in cal["temperatures"]], seed=int(args.seed),
        equilibration_sweeps=int(cal["equilibration_sweeps"]), production_sweeps=int(cal["production_sweeps"]),
        n_samples=int(cal["n_samples"]), noswap_sweeps=int(cal["noswap_sweeps"]), progress=True)
    _log(f"calibration summary: {json.dumps(summary, default=str)}")
    return 0


# --------------------------------------------------------------------------------------------
# parser


def _add_point_args(p):
    p.add_argument("--point", help="parameter point as a path, e.g. d3/N125/Tp0.3/m2/tipl")
    p.add_argument("--d", type=int, help="space dimension (2, 3, 4)")
    p.add_argument("--N", type=int, help="number of particles")
    p.add_argument("--T-p", dest="T_p", help="parent temperature (> 0 or inf)")
    p.add_argument("--taper", help="taper order m (integer >= 1 or inf; for another potential its cutoff order)")
    p.add_argument("--potential", default="tipl", help="potential id (tipl, or an id defined by --potential-spec)")
    p.add_argument("--potential-spec", default=None,
                   help="JSON definition {\"model\": ..., parameters} of a potential other than tipl (default: "
                        "potential.json in the point's folder)")


# --------------------------------------------------------------------------------------------
# the KHGPS model (paper 003)


def cmd_khgps_batch(args) -> int:
    from .khgps_study import KHGPSPoint, batch_rows
    from .tables import write_table

    k = args.k if args.k == "all" else int(args.k)
    pt = KHGPSPoint(int(args.N), float(args.h), float(args.J), float(args.kappa_0))
    if k != "all" and not 1 <= k <= pt.N:
        raise ValueError(f"--k = {k}: expected an integer in [1, N = {pt.N}] or 'all'")
    if args.n_samples < 1:
        raise ValueError(f"--n-samples = {args.n_samples}: expected an integer >= 1")

    def progress(i, smp):
        res = smp.result
        _log(f"{pt.path} sample {args.first_sample + i}: {res.method}, {res.n_iter} L-BFGS + {res.n_newton} Newton, "
             f"max|g| {res.max_grad:.1e}, <x*^2> {smp.msd:.4g}, negative {smp.n_negative}, "
             f"{sum(smp.wall.values()):.2f} s")

    samples, modes = batch_rows(pt, args.seed, args.first_sample, args.n_samples, k=k, tol=args.tol,
                                progress=progress)
    out = Path(args.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    prov = provenance(args.config_hash, seeds=[args.seed], point=pt.path, k=str(k), tol=args.tol)
    write_table(modes, out / "khgps_modes.parquet", "khgps_modes", prov)
    write_table(samples, out / "khgps_samples.parquet", "khgps_samples", prov)  # last: marks the batch done
    bad = samples[~samples["converged"] | (samples["n_negative"] > 0)]
    if len(bad):
        _log(f"{len(bad)} sample(s) not converged or with negative eigenvalues (kept, counted in the tables)")
    return 0


def cmd_khgps_aggregate(args) -> int:
    import pandas as pd

    from .khgps_study import aggregate
    from .tables import read_table, write_table

    fits = json.loads(args.fits)
    missing = [b for b in args.batch_dirs if not (Path(b) / "khgps_samples.parquet").exists()]
    if missing:
        raise FileNotFoundError(f"--batch-dirs: no khgps_samples.parquet in {missing[:3]}"
                                f"{' ...' if len(missing) > 3 else ''}")
    samples = pd.concat([read_table(Path(b) / "khgps_samples.parquet") for b in args.batch_dirs], ignore_index=True)
    modes = pd.concat([read_table(Path(b) / "khgps_modes.parquet") for b in args.batch_dirs], ignore_index=True)
    tables = aggregate(samples, modes, fits, seed=args.seed)
    prov = provenance(args.config_hash, seeds=[args.seed], inputs=args.batch_dirs, fits=fits)
    out = Path(args.output_dir)
    for name, df in tables.items():
        write_table(df, out / f"{name}.parquet", name, prov)
        _log(f"wrote {out / (name + '.parquet')}")
    _print_table(tables["khgps_exponents"])
    return 0


def cmd_khgps_figures(args) -> int:
    from .khgps_figures import format_khgps_table, make_khgps_figures
    from .provenance import atomic_path
    from .tables import read_table

    t = Path(args.tables)
    tables = {n: read_table(t / f"{n}.parquet") for n in ("khgps_samples", "khgps_modes", "khgps_exponents",
                                                          "khgps_exponent_scan")}
    for p in make_khgps_figures(tables, args.output_dir):
        _log(f"wrote {p}")
    path = Path(args.output_dir) / "khgps_table.md"
    with atomic_path(path) as tmp:
        Path(tmp).write_text(format_khgps_table(tables))
    _log(f"wrote {path}")
    return 0


def _common(p):
    p.add_argument("--threads", type=int, default=1, help="BLAS/numba threads (default 1)")
    p.add_argument("--config-hash", default="", help="hash of the config sections used (provenance)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="glassvib", description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="version", version=_version_string())
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("sample", help="parent liquids by swap MC (or random positions for T_p = inf)")
    _add_point_args(p)
    p.add_argument("--n-samples", type=int, required=True)
    p.add_argument("--first-sample", type=int, default=0, help="index of the first sample of this batch")
    p.add_argument("--seed", type=int, required=True, help="batch seed (integer >= 0)")
    p.add_argument("--mc", default="", help="JSON object of MC settings (config key mc)")
    p.add_argument("--checkpoint", default=None, help="MC checkpoint file (resumed if present)")
    p.add_argument("--output", required=True, help="parents .npz")
    _common(p)
    p.set_defaults(func=cmd_sample)

    p = sub.add_parser("potential", help="validate a potential definition and write it (the point folder's potential.json)")
    p.add_argument("--spec", required=True, help="JSON object {\"model\": ..., parameters}")
    p.add_argument("--output", required=True, help="JSON file")
    p.set_defaults(func=cmd_potential)

    p = sub.add_parser("quench", help="minimise every parent to its inherent structure")
    p.add_argument("--input", required=True, help="parents .npz from `glassvib sample`")
    p.add_argument("--tol", type=float, default=DEFAULTS["quench"]["tol"], help="max |force| tolerance")
    p.add_argument("--max-iter", type=int, default=DEFAULTS["quench"]["max_iter"])
    p.add_argument("--method", default="auto", choices=QUENCH_METHODS,
                   help="glassvib.quench method (auto: FIRE with a Newton finish where it pays; fire: the "
                        "quench of the runs published before issue 14, bit for bit)")
    p.add_argument("--output", required=True, help="inherent structures .npz")
    _common(p)
    p.set_defaults(func=cmd_quench)

    p = sub.add_parser("analyze", help="modes, stresses, level ratios, G and w_0 of each inherent structure")
    p.add_argument("--input", required=True, help="inherent structures .npz from `glassvib quench`")
    p.add_argument("--k", default="all", help="lowest k modes, or 'all' (dense full spectrum)")
    p.add_argument("--delta", type=float, default=0.0, help="Hessian delta in [0, 1] (SPEC §3.4)")
    p.add_argument("--complete-to", type=float, default=DEFAULTS["modes"]["complete_to"],
                   help="with an integer --k: find every mode below this fraction of omega_0")
    p.add_argument("--eigenvalues", choices=("lowest", "all"), default=DEFAULTS["modes"]["eigenvalues"],
                   help="with an integer --k: 'all' adds every eigenvalue (no eigenvectors) for the level statistics")
    p.add_argument("--level-window", type=int, default=DEFAULTS["modes"]["level_window"],
                   help="with --eigenvalues all: eigenvectors (participation) of this many highest modes")
    p.add_argument("--output-dir", required=True, help="batch folder for samples/modes/stress_hist.parquet")
    _common(p)
    p.set_defaults(func=cmd_analyze)

    p = sub.add_parser("aggregate", help="combine batches into the SPEC §7 tables")
    p.add_argument("--batch-dirs", nargs="+", required=True)
    p.add_argument("--fit", default="", help="JSON object of fit settings (config key fit)")
    p.add_argument("--level-window", type=int, default=DEFAULTS["modes"]["level_window"])
    p.add_argument("--seed", type=int, default=0, help="base seed of the bootstrap")
    p.add_argument("--output-dir", required=True)
    _common(p)
    p.set_defaults(func=cmd_aggregate)

    p = sub.add_parser("figures", help="figures (PNG + PDF) from the aggregated tables")
    p.add_argument("--tables", required=True, help="folder with the aggregated tables")
    p.add_argument("--output-dir", required=True)
    p.set_defaults(func=cmd_figures)

    p = sub.add_parser("paper-figures", help="Figs. 2-4 of Schirmacher et al. (2024) from the aggregated tables")
    p.add_argument("--tables", required=True, help="folder with the aggregated tables")
    p.add_argument("--output-dir", required=True)
    p.set_defaults(func=cmd_paper_figures)

    p = sub.add_parser("scan-figures", help="s against 1/m, N and d, window scan, alpha against 1/m, and the "
                       "verdict table (scan_table.md) from the aggregated tables")
    p.add_argument("--tables", required=True, help="folder with the aggregated tables")
    p.add_argument("--output-dir", required=True)
    p.set_defaults(func=cmd_scan_figures)

    p = sub.add_parser("mode-figure", help="picture of the lowest non-phononic mode of one batch's samples")
    p.add_argument("--input", required=True, help="inherent structures .npz from `glassvib quench`")
    p.add_argument("--name", default="mode", help="figure file name without extension")
    p.add_argument("--output-dir", required=True)
    _common(p)
    p.set_defaults(func=cmd_mode_figure)

    p = sub.add_parser("cost-table", help="median s per sample, stage x point, from the run's benchmark files")
    p.add_argument("--results", required=True, help="the study's results folder (with benchmarks/)")
    p.add_argument("--extrapolate", default=None, help="config whose sample counts the total is extrapolated to")
    p.add_argument("--output", default=None, help="also write the tables (Markdown) here")
    p.set_defaults(func=cmd_cost_table)

    p = sub.add_parser("calibrate", help="swap-MC calibration scan: e_IS(T_p), tau, T_onset, T_d")
    p.add_argument("--settings", default="", help="JSON object of calibration settings (config key calibration)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--results-dir", required=True, help="writes tables/calibration.parquet, figures/calibration.*")
    _common(p)
    p.set_defaults(func=cmd_calibrate)

    p = sub.add_parser("khgps-batch", help="KHGPS samples (paper 003): couplings, minimum, lowest modes")
    p.add_argument("--N", type=int, required=True, help="number of oscillators (integer >= 2)")
    p.add_argument("--h", type=float, required=True, help="constant field h")
    p.add_argument("--J", type=float, required=True, help="coupling strength J >= 0")
    p.add_argument("--kappa-0", type=float, required=True, help="stiffness edge kappa_0 > 0")
    p.add_argument("--n-samples", type=int, required=True)
    p.add_argument("--first-sample", type=int, default=0, help="index of the first sample of this batch")
    p.add_argument("--seed", type=int, required=True, help="batch seed (integer >= 0)")
    p.add_argument("--k", default="all", help="lowest modes per sample (integer) or all (every eigenvalue)")
    p.add_argument("--tol", type=float, default=1e-10, help="max |dH/dx| at the minimum")
    p.add_argument("--output-dir", required=True, help="batch folder for khgps_samples/khgps_modes.parquet")
    _common(p)
    p.set_defaults(func=cmd_khgps_batch)

    p = sub.add_parser("khgps-aggregate", help="KHGPS tables: samples, modes, exponents (s, A_g, <x*^2>), window scan")
    p.add_argument("--batch-dirs", nargs="+", required=True)
    p.add_argument("--fits", required=True, help="JSON object: point path -> {mode_fraction, scan_mode_fractions, n_bootstrap}")
    p.add_argument("--seed", type=int, default=0, help="base seed of the bootstrap")
    p.add_argument("--output-dir", required=True)
    _common(p)
    p.set_defaults(func=cmd_khgps_aggregate)

    p = sub.add_parser("khgps-figures", help="KHGPS figures (D(w), A_g against J) and khgps_table.md")
    p.add_argument("--tables", required=True, help="folder with the KHGPS tables")
    p.add_argument("--output-dir", required=True)
    p.set_defaults(func=cmd_khgps_figures)
    return parser


def _version_string() -> str:
    from .provenance import package_version

    return f"glassvib {package_version()}"


def main(argv=None) -> int:
    """Entry point of the ``glassvib`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in ("analyze",) and str(args.k) != "all":
        try:
            if int(args.k) < 1:
                raise ValueError
        except ValueError:
            parser.error(f"--k = {args.k!r}: expected an integer >= 1 or 'all'")
    try:
        threads = getattr(args, "threads", 1)
        if threads < 1:
            parser.error(f"--threads = {threads}: expected an integer >= 1")
        with _limit_threads(threads):
            return int(args.func(args) or 0)
    except (ValueError, FileNotFoundError) as err:
        print(f"glassvib {args.command}: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
