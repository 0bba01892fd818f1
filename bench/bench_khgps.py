"""Benchmark of one KHGPS sample (issue 13): couplings, minimisation to max |dH/dx| <= 1e-10, and the
lowest k modes (shift-invert on the dense Cholesky factor) or every eigenvalue, beside numpy eigh of
the same Hessian, all in one process on one thread.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python bench/bench_khgps.py              # N = 4000, k = 100
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 python bench/bench_khgps.py --sizes 2000 4000 8000

Prints, per N: seconds per stage (median over --repeats seeds), the total, numpy eigh of the same
Hessian and the ratio eigh / (our modes stage), the route and iteration counts of the minimiser, the
peak resident memory and the memory the dense N x N arrays need (J, the Hessian, the Cholesky factor:
3 N^2 doubles), from which the largest N that fits in a given memory is printed. Nothing is asserted.
"""
from __future__ import annotations

import argparse
import resource
import statistics
import time

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[4000])
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--h", type=float, default=0.01)
    ap.add_argument("--J", type=float, default=0.1)
    ap.add_argument("--kappa0", type=float, default=1.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--memory-gib", type=float, default=24.0)
    args = ap.parse_args()
    from glassvib import khgps as K

    model = K.KHGPS(h=args.h, J=args.J, kappa_0=args.kappa0)
    print(f"KHGPS h = {args.h}, J = {args.J}, kappa_0 = {args.kappa0}; k = {args.k}; one thread")
    print(f"{'N':>6} {'couplings':>9} {'minimise':>9} {'modes':>7} {'total':>7} {'all-eig':>8} {'np.eigh':>8} "
          f"{'eigh/modes':>10} {'route':>14} {'iters':>6} {'newton':>6} {'max|g|':>8} {'peak MB':>8}")
    for N in args.sizes:
        rows, eig, alle = [], [], []
        for rep in range(args.repeats):
            s = K.sample(model, N, seed=1000 + rep, k=args.k)
            rows.append(s)
            kappa, J = K.draw_instance(model, N, 1000 + rep)
            M = K.hessian(s.x, kappa, J, model)
            del J
            t = time.perf_counter()
            K.sample(model, N, seed=1000 + rep, k="all")  # the full-spectrum route end to end
            alle.append(time.perf_counter() - t)
            t = time.perf_counter()
            np.linalg.eigh(M)
            eig.append(time.perf_counter() - t)
            del M
        med = {st: statistics.median(r.wall[st] for r in rows) for st in ("couplings", "minimize", "modes")}
        tot = sum(med.values())
        r0 = rows[0].result
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
        print(f"{N:6d} {med['couplings']:9.2f} {med['minimize']:9.2f} {med['modes']:7.2f} {tot:7.2f} "
              f"{statistics.median(alle):8.2f} {statistics.median(eig):8.2f} "
              f"{statistics.median(eig) / med['modes']:10.1f} {r0.method:>14} {r0.n_iter:6d} {r0.n_newton:6d} "
              f"{max(r.result.max_grad for r in rows):8.1e} {peak:8.0f}")
    n_max = int(np.sqrt(args.memory_gib * 2 ** 30 / (3 * 8)))
    print(f"dense arrays: 3 N^2 doubles (J, Hessian, Cholesky factor) -> N <= {n_max} on {args.memory_gib:g} GiB "
          f"(N = 16000 of paper 003: {3 * 8 * 16000 ** 2 / 2 ** 30:.1f} GiB)")


if __name__ == "__main__":
    main()
