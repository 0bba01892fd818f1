"""Benchmark of the lowest eigenpairs of glass Hessians (issue 4): glassvib.lowest_modes against
numpy.linalg.eigh (dense, all pairs) and scipy's default eigsh shift-invert (SuperLU + ARPACK), all
measured in one run on the same matrices.

    python bench/bench_modes.py                       # d = 3, N = 1000, k = 50, 3 repeats
    python bench/bench_modes.py --sizes 8000 32768 --repeats 1
    python bench/bench_modes.py --sizes 131072 --methods ours --repeats 1 --timeout 1800
    python bench/bench_modes.py --methods ours numpy-eigh --repeats 3 --rounds 4   # alternating

Each (size, method) runs in a fresh subprocess, so that "peak MB" is that solver's own peak
resident memory (Hessian included); the Hessian's own footprint is printed as "H MB". Times are
medians over repeats: wall-clock and CPU (all threads). Ratios are baseline / ours in the same run.
With ``--rounds R`` the methods run R times in turn (each time in a fresh subprocess with --repeats
repeats), so that a drift of the machine's speed over minutes reaches every method alike; times
are then medians over all rounds, and the ratio of each round is printed beside their median.
Configurations: T_p = inf glasses (random positions quenched with glassvib.minimize.quench, FIRE;
cached under --workdir), to max |F| < 1e-10 up to --max-quench-n particles and < 1e-8 (FIRE only)
above. "ours" is lowest_modes(H, k, dim=d) with its automatic route (block shift-invert on a
PARDISO factor, else CHOLMOD, below LOBPCG_MIN_DOF rows, multigrid LOBPCG above); "max res" is the largest residual
|H x - lambda x| over the k pairs, relative to max |H_ii|. Nothing here is asserted; tests check
correctness.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np

METHODS = ("ours", "scipy-eigsh", "numpy-eigh", "ours-lobpcg", "ours-shift-invert", "ours-superlu",
           "ours-dense-factor")


def rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def make_configuration(d, N, seed, workdir, max_quench_n, max_iter):
    from glassvib.configuration import Configuration, random_configuration
    from glassvib.minimize import quench
    from glassvib.potential import TaperedIPL

    path = os.path.join(workdir, f"glass_d{d}_N{N}_s{seed}.npz")
    if os.path.exists(path):
        z = np.load(path)
        return Configuration(z["pos"], z["dia"], float(z["box"])), float(z["max_force"])
    pot = TaperedIPL()
    conf = random_configuration(d, N, seed)  # T_p = inf glass, as in the workflow
    if N <= max_quench_n:
        res = quench(conf, pot, tol=1e-10)
    else:  # FIRE only (the Newton polish would need a sparse factorization of this size)
        res = quench(conf, pot, tol=1e-8, max_iter=max_iter, max_newton=0)
    c = res.configuration
    os.makedirs(workdir, exist_ok=True)
    tmp = path + ".tmp.npz"
    np.savez(tmp, pos=c.positions, dia=c.diameters, box=c.box, max_force=res.max_force)
    os.replace(tmp, path)
    return c, float(res.max_force)


def worker(args):
    """Run one method on one configuration; print one JSON line."""
    import scipy.sparse.linalg

    from glassvib.configuration import Configuration
    from glassvib.modes import lowest_modes
    from glassvib.potential import TaperedIPL
    from glassvib.system import hessian

    z = np.load(args.worker_conf)
    conf = Configuration(z["pos"], z["dia"], float(z["box"]))
    H = hessian(conf, TaperedIPL())
    h_mb = rss_mb()
    sigma = -1e-3 * float(np.max(np.abs(H.diagonal())))  # the same first shift as lowest_modes
    k = args.k
    walls, cpus, vals = [], [], None
    for _ in range(args.repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        vecs = None
        if args.worker == "ours":
            vals, vecs = lowest_modes(H, k, dim=args.d)
        elif args.worker == "ours-lobpcg":
            vals, vecs = lowest_modes(H, k, method="lobpcg", dim=args.d)
        elif args.worker == "ours-shift-invert":
            vals, vecs = lowest_modes(H, k, method="shift-invert")
        elif args.worker == "ours-superlu":
            vals = lowest_modes(H, k, method="shift-invert", backend="superlu")[0]
        elif args.worker == "ours-dense-factor":
            vals = lowest_modes(H, k, method="shift-invert", backend="dense")[0]
        elif args.worker == "scipy-eigsh":
            vals = np.sort(scipy.sparse.linalg.eigsh(H, k=k, sigma=sigma)[0])
        elif args.worker == "numpy-eigh":
            vals = np.linalg.eigh(H.toarray())[0][:k]
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    # accuracy without a reference: the largest residual |H x - lambda x| relative to max |H_ii|
    res = float("nan")
    if vecs is not None:
        res = float(np.max(np.linalg.norm(H @ vecs - vecs * vals, axis=0)) / np.max(np.abs(H.diagonal())))
    print(json.dumps({"method": args.worker, "wall": float(np.median(walls)), "cpu": float(np.median(cpus)),
                      "walls": walls, "cpus": cpus, "peak_mb": rss_mb(), "h_mb": h_mb, "nnz": int(H.nnz), "res": res,
                      "vals": [float(v) for v in vals]}))


def run_one(method, conf_path, k, repeats, timeout):
    cmd = [sys.executable, __file__, "--worker", method, "--worker-conf", conf_path, "--k", str(k),
           "--repeats", str(repeats)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"method": method, "error": f"timeout after {timeout} s"}
    if out.returncode != 0:
        tail = (out.stderr or "").strip().splitlines()[-1:] or [f"exit {out.returncode}"]
        return {"method": method, "error": f"exit {out.returncode}: {tail[0][:120]}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def _merged(runs):
    """One method's runs (rounds) as one result: times are medians over every repeat of every
    round, peak memory the largest; the first failed run if any failed."""
    failed = [r for r in runs if "error" in r]
    if failed:
        return failed[0]
    walls = [w for r in runs for w in r["walls"]]
    cpus = [c for r in runs for c in r["cpus"]]
    return dict(runs[0], walls=walls, cpus=cpus, wall=float(np.median(walls)), cpu=float(np.median(cpus)),
                peak_mb=max(r["peak_mb"] for r in runs))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[1000])
    p.add_argument("--d", type=int, default=3)
    p.add_argument("--k", type=int, default=50)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--methods", nargs="+", default=None, choices=METHODS)
    p.add_argument("--workdir", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "glassvib_bench"))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--max-quench-n", type=int, default=10000)
    p.add_argument("--max-iter", type=int, default=200000, help="FIRE steps for N > --max-quench-n")
    p.add_argument("--timeout", type=float, default=900.0, help="seconds per (size, method)")
    p.add_argument("--rounds", type=int, default=1, help="run the methods this many times in turn")
    p.add_argument("--worker", choices=METHODS, help=argparse.SUPPRESS)
    p.add_argument("--worker-conf", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        return worker(args)

    from glassvib import modes
    print(f"# bench_modes: d = {args.d}, k = {args.k}, repeats = {args.repeats}, backends available: "
          f"{modes.available_backends()}, OPENBLAS_NUM_THREADS = {os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}, "
          f"cpus = {os.cpu_count()}, load average = {os.getloadavg()[0]:.1f}")
    for N in args.sizes:
        t0 = time.perf_counter()
        conf, fmax = make_configuration(args.d, N, args.seed, args.workdir, args.max_quench_n, args.max_iter)
        conf_path = os.path.join(args.workdir, f"glass_d{args.d}_N{N}_s{args.seed}.npz")
        methods = args.methods or (["ours", "scipy-eigsh", "numpy-eigh"] if N <= 2000 else ["ours", "scipy-eigsh"])
        print(f"\n## N = {N} (dN = {args.d * N}), max |F| = {fmax:.1e}, configuration ready in "
              f"{time.perf_counter() - t0:.1f} s")
        print(f"{'method':<18} {'wall s':>9} {'cpu s':>9} {'peak MB':>9} {'H MB':>7}  max|dlam|/|lam_k|  "
              f"max res/max|H_ii|  notes")
        per_round = [{m: run_one(m, conf_path, args.k, args.repeats, args.timeout) for m in methods}
                     for _ in range(max(1, args.rounds))]
        results = {m: _merged([t[m] for t in per_round]) for m in methods}
        for m, r in results.items():
            if "error" in r:
                print(f"{m:<18} {'-':>9} {'-':>9} {'-':>9} {'-':>7}  {'-':>17}  {r['error']}")
                continue
            ref = results.get("ours")
            dl = "-"
            if ref is not None and "vals" in ref and m != "ours":
                a, b = np.array(ref["vals"]), np.array(r["vals"])
                dl = f"{np.max(np.abs(a - b)) / max(np.max(np.abs(a)), 1e-300):.1e}"
            print(f"{m:<18} {r['wall']:9.3f} {r['cpu']:9.3f} {r['peak_mb']:9.0f} {r['h_mb']:7.0f}  {dl:>17}  "
                  f"{r['res']:17.1e}  walls {['%.3f' % w for w in r['walls']]}")
        ours = results.get("ours", {})
        if "wall" in ours:
            for m, r in results.items():
                if m != "ours" and "wall" in r:
                    rounds = [t[m]["wall"] / t["ours"]["wall"] for t in per_round
                              if "wall" in t.get(m, {}) and "wall" in t.get("ours", {})]
                    note = (f"; per round x{', x'.join('%.1f' % q for q in rounds)} (median x{np.median(rounds):.1f})"
                            if len(rounds) > 1 else "")
                    print(f"   speed-up vs {m}: wall x{r['wall'] / ours['wall']:.1f}, cpu x{r['cpu'] / ours['cpu']:.1f}{note}")


if __name__ == "__main__":
    main()
