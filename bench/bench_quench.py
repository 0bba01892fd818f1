"""Benchmark of the quench from random positions (issue 14): glassvib.quench with its automatic
route beside plain FIRE (the route before issue 14), same starts, same process.

    python bench/bench_quench.py                                # d = 3, N = 1000, 8000; 2 starts each
    python bench/bench_quench.py --sizes 3:1000 3:8000 3:32768 --repeats 1
    python bench/bench_quench.py --sizes 4:10000 --repeats 1 --methods auto
    python bench/bench_quench.py --baseline /path/to/old/src     # + the FIRE quench of another source tree
    python bench/bench_quench.py --sizes 3:131072 --methods auto --repeats 1 --seed 1 --save /tmp/glassvib_bench

Prints per (d, N) and method the median CPU and wall seconds, FIRE iterations, Newton steps, final
max|F| and E/N; the largest position difference between the two routes' minima from the same start
(translation removed; 1e-8 or less: the same minimum); for N <= --check-max-n the zero and negative
modes of the automatic route's minimum (lowest_modes, zero tolerance of glassvib.modes); and the
scaling exponent a of time ~ N^a fitted (least squares in log-log) over the sizes of each d and
method. ``--baseline SRC`` also runs ``quench(method="fire")`` of the glassvib package under SRC
(e.g. a checkout of the code before issue 14) in a subprocess from the same starts, up to
--baseline-max-n particles, and prints the time ratio baseline / auto. ``--save DIR`` keeps the
auto route's minima as ``DIR/glass_d{d}_N{N}_s{seed}.npz``, the cache of bench_modes.py. Run with
OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=1 for one thread. Nothing is asserted here;
tests check correctness.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

import glassvib as gv
from glassvib.minimize import quench
from glassvib.modes import lowest_modes, zero_tolerance


def run(conf, pot, method):
    w0, c0 = time.perf_counter(), time.process_time()
    r = quench(conf, pot, method=method)
    return r, time.perf_counter() - w0, time.process_time() - c0


def mode_check(conf, pot, d):
    H = gv.hessian(conf, pot)
    lam = lowest_modes(H, 12, dim=d)[0]
    tol = zero_tolerance(H)
    return int(np.sum(np.abs(lam) <= tol)), int(np.sum(lam < -tol))


BASELINE = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
import glassvib as gv
from glassvib.minimize import quench
d, n, seed = (int(v) for v in sys.argv[2:5])
pot = gv.TaperedIPL(taper=2)
quench(gv.random_configuration(d, {2: 300, 3: 500, 4: 800}[d], 0), pot, method="fire")  # compile (list path)
conf = gv.random_configuration(d, n, seed)
w0, c0 = time.perf_counter(), time.process_time()
r = quench(conf, pot, method="fire")
print(json.dumps(dict(cpu=time.process_time() - c0, wall=time.perf_counter() - w0, n_iter=int(r.n_iter),
                      energy=float(r.energy), success=bool(r.success))))
"""


def run_baseline(src, d, n, seed):
    import json
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", BASELINE, src, str(d), str(n), str(seed)], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def save_minimum(conf, res, d, n, seed, workdir):
    c = res.configuration
    os.makedirs(workdir, exist_ok=True)
    path = os.path.join(workdir, f"glass_d{d}_N{n}_s{seed}.npz")
    tmp = path + ".tmp.npz"
    np.savez(tmp, pos=c.positions, dia=c.diameters, box=c.box, max_force=res.max_force)
    os.replace(tmp, path)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", nargs="+", default=["3:1000", "3:8000"], help="d:N pairs")
    p.add_argument("--repeats", type=int, default=2, help="random starts per size")
    p.add_argument("--methods", nargs="+", default=["auto", "fire"], choices=["auto", "newton", "fire"])
    p.add_argument("--check-max-n", type=int, default=8000, help="mode check up to this N")
    p.add_argument("--seed", type=int, default=100)
    p.add_argument("--baseline", help="source tree (the folder holding glassvib/) whose FIRE quench to time")
    p.add_argument("--baseline-max-n", type=int, default=8000)
    p.add_argument("--save", help="folder for the auto route's minima (bench_modes.py's cache format)")
    args = p.parse_args(argv)
    pot = gv.TaperedIPL(taper=2)
    for d0, n0 in ((3, 500), (4, 800)):  # compile outside the timings (Verlet-list paths)
        quench(gv.random_configuration(d0, n0, 0), pot, method="newton")
        quench(gv.random_configuration(d0, n0, 0), pot, method="fire")
    print(f"# bench_quench: quench(random_configuration(d, N, seed), TaperedIPL(taper=2), tol=1e-10); "
          f"OMP_NUM_THREADS = {os.environ.get('OMP_NUM_THREADS', 'unset')}, NUMBA_NUM_THREADS = "
          f"{os.environ.get('NUMBA_NUM_THREADS', 'unset')}, load average {os.getloadavg()[0]:.1f}")
    print(f"{'d':>2} {'N':>7} {'method':>7} {'route':>7} {'cpu s':>8} {'wall s':>8} {'fire it':>8} {'newton':>6} "
          f"{'max|F|':>8} {'E/N':>14} {'conv':>5} {'|dx| vs fire':>12} {'zero/neg':>8}")
    times = {}
    for spec in args.sizes:
        d, n = (int(v) for v in spec.split(":"))
        rows = {m: [] for m in args.methods}
        for s in range(args.repeats):
            conf = gv.random_configuration(d, n, args.seed + s)
            for m in args.methods:  # interleaved: same start, same load
                rows[m].append((conf,) + run(conf, pot, m))
                if m == "auto" and args.save:
                    save_minimum(conf, rows[m][-1][1], d, n, args.seed + s, args.save)
            if args.baseline and n <= args.baseline_max_n:
                rows.setdefault("baseline", []).append(run_baseline(args.baseline, d, n, args.seed + s))
        if "baseline" in rows:
            b = rows["baseline"]
            cpu = statistics.median(r["cpu"] for r in b)
            print(f"{d:>2} {n:>7} {'base':>7} {'fire':>7} {cpu:>8.2f} {statistics.median(r['wall'] for r in b):>8.2f} "
                  f"{statistics.median(r['n_iter'] for r in b):>8.0f} {'-':>6} {'-':>8} {b[0]['energy'] / n:>14.10f} "
                  f"{sum(r['success'] for r in b):>2}/{len(b):<2}")
            for m in args.methods:
                mine = statistics.median(c for _, _, _, c in rows[m])
                print(f"   d = {d}, N = {n}: cpu time of the baseline's fire / {m} = {cpu / mine:.2f}")
        for m in args.methods:
            rs = rows[m]
            cpu = statistics.median(c for _, _, _, c in rs)
            wall = statistics.median(w for _, _, w, _ in rs)
            times.setdefault((d, m), []).append((n, cpu))
            r0 = rs[0][1]
            dx = "-"
            if m != "fire" and "fire" in rows:
                a = rows["fire"][0][1].configuration.positions
                b = r0.configuration.positions
                diff = b - a
                diff -= rs[0][0].box * np.round(diff / rs[0][0].box)
                dx = f"{np.max(np.abs(diff - diff.mean(axis=0))):.1e}"
            zn = "-"
            if n <= args.check_max_n and m != "fire":
                nz, nn = mode_check(r0.configuration, pot, d)
                zn = f"{nz}/{nn}"
            print(f"{d:>2} {n:>7} {m:>7} {r0.method:>7} {cpu:>8.2f} {wall:>8.2f} "
                  f"{statistics.median(r.n_iter for _, r, _, _ in rs):>8.0f} "
                  f"{statistics.median(r.n_newton for _, r, _, _ in rs):>6.0f} {max(r.max_force for _, r, _, _ in rs):>8.1e} "
                  f"{r0.energy / n:>14.10f} {sum(r.success for _, r, _, _ in rs):>2}/{len(rs):<2} {dx:>12} {zn:>8}",
                  flush=True)
        if len(args.methods) > 1 and "fire" in rows:
            for m in args.methods:
                if m != "fire":
                    ratio = statistics.median(c for _, _, _, c in rows["fire"]) / statistics.median(c for _, _, _, c in rows[m])
                    print(f"   d = {d}, N = {n}: cpu time of fire / {m} = {ratio:.2f}")
    for (d, m), pts in sorted(times.items()):
        if len(pts) >= 2:
            ln = np.log([q for q, _ in pts])
            lt = np.log([t for _, t in pts])
            a = np.polyfit(ln, lt, 1)[0]
            print(f"# scaling, d = {d}, {m}: cpu time ~ N^{a:.2f} over N = {[q for q, _ in pts]}")


if __name__ == "__main__":
    main()
