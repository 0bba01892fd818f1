"""Benchmark of sampling and quenching (issue 3): swap MC trial rate and quench time, with same-run baselines.

Prints, for each (d, N):
  * swap MC at a low parent temperature (after a short relaxation at that T): trials per second,
    the pair evaluations per second this implies (list entries visited per trial), the mean number
    of neighbours inside r_c, within r_c + step (the "near" entries a trial visits) and in the
    Verlet list (mean row length, radius r_c + skin), acceptances, the list
    maintenance (rebuilds of one row and of all rows per sweep, the cost of each measured on a copy
    of the final state, and the share of the run time they imply); the baseline is the same kernel
    with an all-pairs list (O(N) per trial), measured in the same run;
  * quench of random configurations (T_p = inf) to max|F| < 1e-10 with ``glassvib.quench`` (FIRE),
    median wall time, against scipy L-BFGS-B driven by our own forces (same pair list), which
    usually stalls above the tolerance: its time and final max|F| are printed.

and (issue 12) the swap MC of every model (glassvib.potentials.MODELS) at d = 3, N = 1000 at a low
temperature of its own, interleaved with the tapered IPL in the same process: trials per second, the
near entries a trial visits, and the ratios to the tapered IPL per trial and per visited entry (a
Lennard-Jones glass at density 1.2 with r_c = 2.5 visits 2.3 times the entries).

Usage: python bench/bench_sampling.py [--quick] [--temperature 0.3] [--only 3:1000] [--mc-only]
       python bench/bench_sampling.py --models-only [--baseline /tmp/base/src]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numba
import numpy as np
import scipy.optimize

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # bench_core (baseline loader)

import glassvib as gv  # noqa: E402
from glassvib.minimize import PairList, energy_forces_pairs, quench
from glassvib.swap_kernels import _rebuild_row, _wrapped_refs, near_radius
from glassvib.swap_mc import SwapMonteCarlo

SYSTEMS = [(3, 1000), (2, 100), (2, 1000), (4, 10000)]


def neighbours_within_cutoff(conf, pot):
    from glassvib.neighbours import neighbour_pairs
    return 2 * len(neighbour_pairs(conf.positions, conf.box, pot.r_cut)[0]) / conf.N


@numba.njit
def _rebuild_rows(order, pos, upos, uref, dia, spc, box, r_list, r_near, lists, pot):
    refw = _wrapped_refs(uref, box)
    r2buf = np.empty(pos.shape[0])
    ok = True
    for i in order:
        ok &= _rebuild_row(i, pos, upos, uref, refw, r2buf, dia, spc, box, r_list, r_near, lists, pot)
    return ok


def rebuild_costs(mc, n_rows=2000, repeats=3):
    """Seconds per rebuild of one row and of all rows, on copies of the sampler's state."""
    pot, s = mc.pot, mc.state
    row, full = [], []
    order = np.random.default_rng(0).integers(0, s.positions.shape[0], n_rows)
    for _ in range(repeats + 1):  # the first round compiles
        c = SwapMonteCarlo(pot=pot, state=s)
        cs = c.state
        t = time.perf_counter()
        _rebuild_rows(order, cs.positions, cs.unwrapped, cs.uref, cs.diameters, cs.species, cs.box,
                      pot.r_max + cs.skin, near_radius(pot.r_max, cs.step, cs.cube, cs.positions.shape[1]),
                      c._lists_tuple(), c._pot())
        row.append((time.perf_counter() - t) / n_rows)
        t = time.perf_counter()
        c._rebuild()
        full.append(time.perf_counter() - t)
    return min(row[1:]), min(full[1:])


def bench_mc(d, n, temperature, relax_sweeps, timed_trials, seed=0):
    pot = gv.TaperedIPL(taper=2)
    conf = quench(gv.random_configuration(d, n, seed), pot, tol=1e-3).configuration
    mc = SwapMonteCarlo(conf, pot, temperature, seed, record_every=10 ** 9)
    mc.run(relax_sweeps)
    sweeps = max(1, timed_trials // n)
    c0 = mc.state.counters.copy()
    r0 = mc.state.n_rebuilds
    rr0 = int(mc.state.row_rebuilds[0])
    t = time.perf_counter()
    mc.run(sweeps)
    dt = time.perf_counter() - t
    c = mc.state.counters - c0
    trials = int(c[0] + c[2])
    rate = trials / dt
    skin = mc.state.skin if mc.state.verlet else 0.0
    n_c = neighbours_within_cutoff(mc.configuration, pot)
    n_l = float(np.mean(mc.state.nbr_count))
    n_near = float(np.mean(mc.state.nbr_near))
    # entries visited: a move scans the near part of the row of i, a swap those of i and j
    visits = (c[0] * n_near + c[2] * 2 * n_near) / trials
    row_per_sweep = (int(mc.state.row_rebuilds[0]) - rr0) / sweeps
    full_per_sweep = (mc.state.n_rebuilds - r0) / sweeps
    row_cost, full_cost = rebuild_costs(mc) if mc.state.verlet else (0.0, 0.0)
    out = {"rate": rate, "pairs_per_s": rate * visits, "n_c": n_c, "n_list": n_l, "n_near": n_near, "skin": skin,
           "acc_move": c[1] / c[0], "acc_swap": c[3] / c[2], "row_per_sweep": row_per_sweep,
           "full_per_sweep": full_per_sweep, "row_cost": row_cost, "full_cost": full_cost,
           "rebuild_share": (row_per_sweep * row_cost + full_per_sweep * full_cost) * sweeps / dt,
           "e": mc.energy / n}
    # baseline: identical kernel with the all-pairs list (never rebuilt, O(N) per trial)
    base = SwapMonteCarlo(mc.configuration, pot, temperature, seed + 1, record_every=10 ** 9,
                          all_pairs_below=10 ** 9)
    bsweeps = max(1, min(sweeps, (timed_trials // 20) // n))
    base.run(1)
    t = time.perf_counter()
    base.run(bsweeps)
    out["baseline_rate"] = bsweeps * n / (time.perf_counter() - t)
    return out


#: a low (supercooled) temperature of each model for the rate of its swap MC
MODEL_TEMPERATURES = {"tapered_ipl": 0.3, "binary_ipl": 0.5, "poly_swap": 0.1, "lennard_jones": 0.5}


def bench_models(baseline=None, rounds=3, sweeps=100, relax=100):
    """Swap MC trials per second of every model (d = 3, N = 1000), interleaved rounds, best of each."""
    from glassvib.potentials import MODELS

    samplers = {}
    for name, cls in MODELS.items():
        pot = cls()
        conf = quench(gv.random_configuration(3, 1000, 0, model=pot), pot, tol=1e-3).configuration
        mc = SwapMonteCarlo(conf, pot, MODEL_TEMPERATURES[name], 0, record_every=10 ** 9)
        mc.run(relax)
        samplers[name] = mc
    if baseline is not None:
        from bench_core import load_baseline

        gb = load_baseline(baseline)
        from glassvib_baseline.swap_mc import SwapMonteCarlo as BaseMC
        bpot = gb.TaperedIPL(taper=2)
        bconf = gb.quench(gb.random_configuration(3, 1000, 0), bpot, tol=1e-3).configuration
        samplers["baseline tipl"] = BaseMC(bconf, bpot, MODEL_TEMPERATURES["tapered_ipl"], 0, record_every=10 ** 9)
        samplers["baseline tipl"].run(relax)
    rates = {name: [] for name in samplers}
    for _ in range(rounds):
        for name, mc in samplers.items():
            c0 = mc.state.counters.copy()
            t = time.perf_counter()
            mc.run(sweeps)
            dt = time.perf_counter() - t
            c = mc.state.counters - c0
            rates[name].append((c[0] + c[2]) / dt)
    ref = max(rates["tapered_ipl"])
    near_ref = float(np.mean(samplers["tapered_ipl"].state.nbr_near))
    print("\n# swap MC of every model, d = 3, N = 1000, p_swap = 0.2, step 0.2, at a low T of each model;")
    print("# ratios to the tapered IPL in this process (> 1: faster); near: entries within r_max + step per row")
    print(f"{'model':>14} {'T':>5} {'trials/s':>10} {'near':>6} {'acc_move':>8} {'acc_swap':>8} {'ratio':>6} "
          f"{'per-entry ratio':>16}")
    for name, mc in samplers.items():
        r = max(rates[name])
        near = float(np.mean(mc.state.nbr_near))
        acc = mc.acceptance()
        print(f"{name:>14} {mc.state.temperature:>5.2f} {r:>10.3g} {near:>6.1f} {acc[0]:>8.3f} {acc[1]:>8.3f} "
              f"{r / ref:>6.2f} {r * near / (ref * near_ref):>16.2f}", flush=True)


def scipy_lbfgs(conf, pot, tol, max_iter):
    x0 = np.array(conf.positions)
    pairs = PairList(x0, conf.box, pot, 0.3)

    def fun(z):
        e, f = energy_forces_pairs(z.reshape(x0.shape), conf.diameters, pairs)
        return e, -f.ravel()

    t = time.perf_counter()
    res = scipy.optimize.minimize(fun, x0.ravel(), jac=True, method="L-BFGS-B",
                                  options={"maxiter": max_iter, "maxfun": 2 * max_iter, "gtol": tol, "ftol": 0.0})
    dt = time.perf_counter() - t
    _, f = energy_forces_pairs(res.x.reshape(x0.shape), conf.diameters, pairs)
    return dt, float(np.abs(f).max()), int(res.nit)


def bench_quench(d, n, repeats, lbfgs_repeats, max_iter):
    pot = gv.TaperedIPL(taper=2)
    times, iters, ok, fmax = [], [], 0, []
    for s in range(repeats):
        r = quench(gv.random_configuration(d, n, 100 + s), pot)
        times.append(r.wall_time)
        iters.append(r.n_iter)
        ok += int(r.success)
        fmax.append(r.max_force)
    lb = [scipy_lbfgs(gv.random_configuration(d, n, 100 + s), pot, 1e-10, max_iter) for s in range(lbfgs_repeats)]
    return {"median_s": statistics.median(times), "iters": statistics.median(iters), "converged": f"{ok}/{repeats}",
            "max_force": max(fmax), "lbfgs_median_s": statistics.median(t for t, _, _ in lb),
            "lbfgs_max_force": max(f for _, f, _ in lb), "lbfgs_iters": statistics.median(i for _, _, i in lb)}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--temperature", type=float, default=0.3, help="low parent temperature for the MC rate")
    ap.add_argument("--quick", action="store_true", help="fewer repeats (smoke run)")
    ap.add_argument("--only", default=None, help="comma list of d:N, e.g. 3:1000")
    ap.add_argument("--mc-only", action="store_true", help="swap MC figures only (no quench benchmark)")
    ap.add_argument("--models-only", action="store_true", help="only the swap MC of every model at d = 3, N = 1000")
    ap.add_argument("--baseline", default=None, help="source tree (with glassvib/) of the reference tapered IPL")
    args = ap.parse_args(argv)
    if args.models_only:
        bench_models(args.baseline)
        return
    systems = SYSTEMS if args.only is None else [tuple(int(v) for v in s.split(":")) for s in args.only.split(",")]
    # compile outside the timings
    bench_mc(2, 100, 1.0, 2, 1000)
    quench(gv.random_configuration(2, 64, 0), gv.TaperedIPL(taper=2))
    print(f"# swap MC at T_p = {args.temperature} (taper m = 2, p_swap = 0.2, step = 0.2), after relaxation;")
    print("# rows/sw, full/sw: rebuilds of one row / of all rows per sweep; us/row, ms/full: their cost;")
    print("# rebuild%: share of the run time they imply; n(near): entries within r_c + step (visited by a trial)")
    print(f"{'d':>2} {'N':>6} {'trials/s':>10} {'pair-evals/s':>13} {'n(r<rc)':>8} {'n(near)':>8} {'n(list)':>8} "
          f"{'skin':>5} {'acc_move':>8} {'acc_swap':>8} {'rows/sw':>8} {'us/row':>7} {'full/sw':>8} {'ms/full':>8} "
          f"{'rebuild%':>8} {'all-pairs trials/s':>18} {'ratio':>6}")
    for d, n in systems:
        big = n * d > 20000
        relax = 50 if (args.quick or big) else max(200, 2_000_000 // n)
        m = bench_mc(d, n, args.temperature, relax, 200_000 if (args.quick or big) else 2_000_000)
        print(f"{d:>2} {n:>6} {m['rate']:>10.3g} {m['pairs_per_s']:>13.3g} {m['n_c']:>8.1f} {m['n_near']:>8.1f} "
              f"{m['n_list']:>8.1f} {m['skin']:>5.2f} {m['acc_move']:>8.3f} {m['acc_swap']:>8.3f} {m['row_per_sweep']:>8.2f} "
              f"{m['row_cost'] * 1e6:>7.2f} {m['full_per_sweep']:>8.4f} {m['full_cost'] * 1e3:>8.2f} "
              f"{100 * m['rebuild_share']:>8.1f} {m['baseline_rate']:>18.3g} "
              f"{m['rate'] / m['baseline_rate']:>6.1f}", flush=True)
    bench_models(args.baseline)
    if args.mc_only:
        return
    print("\n# quench of random configurations (T_p = inf) to max|F| < 1e-10; scipy L-BFGS-B on our forces, same list")
    print(f"{'d':>2} {'N':>6} {'quench median s':>15} {'iters':>7} {'conv':>6} {'max|F|':>9} "
          f"{'L-BFGS s':>9} {'L-BFGS max|F|':>13} {'L-BFGS it':>9} {'speed-up':>8}")
    for d, n in systems:
        big = n * d > 20000
        reps = 1 if (args.quick or big) else 5
        lreps = 1 if (args.quick or big) else 3
        q = bench_quench(d, n, reps, lreps, 20000 if big else 100000)
        print(f"{d:>2} {n:>6} {q['median_s']:>15.3g} {q['iters']:>7.0f} {q['converged']:>6} {q['max_force']:>9.2g} "
              f"{q['lbfgs_median_s']:>9.3g} {q['lbfgs_max_force']:>13.2g} {q['lbfgs_iters']:>9.0f} "
              f"{q['lbfgs_median_s'] / q['median_s']:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
