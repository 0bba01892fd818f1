"""Core performance figures (issue 2): energy+forces and sparse Hessian assembly, d = 3.

Prints, for N = 1e3, 1e4, 1.3e5: the median time of energy + forces; the time and peak extra memory
(resident set, measured in a fresh subprocess) of the sparse Hessian assembly; and, at N = 1000, the
speed ratio of our energy + forces to a plain numpy all-pairs reference measured in the same run.

    python bench/bench_core.py            # full run (about a minute)
    python bench/bench_core.py --quick    # N <= 1e4 only
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

import glassvib as gv


def median_time(fn, repeat, number=1, best=False):
    """Median (or best) over ``repeat`` runs of the mean time of ``number`` calls."""
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        ts.append((time.perf_counter() - t0) / number)
    return float(np.min(ts) if best else np.median(ts))


def numpy_all_pairs(conf, pot):
    """Reference: O(N^2) minimum-image energy and forces in plain numpy, same potential."""
    x, a, L = conf.positions, conf.diameters, conf.box
    dr = x[None, :, :] - x[:, None, :]
    dr -= L * np.rint(dr / L)
    r = np.sqrt((dr ** 2).sum(-1))
    np.fill_diagonal(r, np.inf)
    aij = 0.5 * (a[:, None] + a[None, :])
    mask = r < pot.r_cut
    phi = np.zeros_like(r)
    dphi = np.zeros_like(r)
    phi[mask] = pot.phi(r[mask], aij[mask])
    dphi[mask] = pot.dphi(r[mask], aij[mask])
    e = 0.5 * phi.sum()
    f = ((dphi / np.where(mask, r, 1.0))[:, :, None] * dr).sum(axis=1)
    return e, f


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(field)


def hessian_child(n: int) -> None:
    """Run in a subprocess: time one Hessian assembly and report the peak RSS it added.

    The kernel's high-water mark is reset first (Linux: write 5 to /proc/self/clear_refs), so
    VmHWM afterwards minus VmRSS before is the peak extra memory of the call itself.
    """
    pot = gv.TaperedIPL(taper=2)
    gv.hessian(gv.random_configuration(3, 1000, 0), pot)  # compile / load caches
    conf = gv.random_configuration(3, n, 1)
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    rss0 = _status_kib("VmRSS")
    t0 = time.perf_counter()
    H = gv.hessian(conf, pot)
    dt = time.perf_counter() - t0
    rss1 = _status_kib("VmHWM")
    print(json.dumps({"N": n, "time_s": dt, "peak_extra_MiB": (rss1 - rss0) / 1024, "nnz": int(H.nnz),
                      "matrix_MiB": (H.data.nbytes + H.indices.nbytes + H.indptr.nbytes) / 2 ** 20}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--hessian-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.hessian_child:
        hessian_child(args.hessian_child)
        return
    sizes = [1000, 10000] if args.quick else [1000, 10000, 131072]
    pot = gv.TaperedIPL(taper=2)
    gv.energy_and_forces(gv.random_configuration(3, 100, 0), pot)  # warm-up (numba cache)
    print("# energy + forces, d = 3, taper m = 2, density 1 (median of repeats)")
    print(f"{'N':>8} {'median':>12} {'best':>12} {'per particle':>14} {'pairs/particle':>15}")
    base = None
    for n in sizes:
        conf = gv.random_configuration(3, n, 1)
        number = max(1, 200_000 // n)
        t = median_time(lambda: gv.energy_and_forces(conf, pot), repeat=9, number=number)
        tb = median_time(lambda: gv.energy_and_forces(conf, pot), repeat=9, number=number, best=True)
        npairs = gv.pair_terms(conf, pot).r.size
        base = base or t / n
        print(f"{n:>8} {t * 1e3:>9.3f} ms {tb * 1e3:>9.3f} ms {t / n * 1e9:>11.1f} ns {2 * npairs / n:>15.1f}"
              f"   (per-particle cost x{t / n / base:.2f} of N = {sizes[0]})")
    conf = gv.random_configuration(3, 1000, 1)
    e1, f1 = gv.energy_and_forces(conf, pot)
    e0, f0 = numpy_all_pairs(conf, pot)
    assert np.isclose(e0, e1, rtol=1e-10) and np.allclose(f0, f1, rtol=1e-8, atol=1e-8 * np.abs(f0).max())
    t_ours = median_time(lambda: gv.energy_and_forces(conf, pot), repeat=7, number=200)
    t_ref = median_time(lambda: numpy_all_pairs(conf, pot), repeat=5)
    print(f"\n# N = 1000: ours {t_ours * 1e3:.3f} ms, numpy all-pairs {t_ref * 1e3:.1f} ms, "
          f"speed-up x{t_ref / t_ours:.0f} (target >= 20)")
    print("\n# sparse Hessian assembly, d = 3 (fresh subprocess per N; peak = extra max RSS during the call)")
    print(f"{'N':>8} {'time':>10} {'peak extra':>12} {'CSR size':>10} {'nnz':>12}")
    for n in [1000, 10000, 32768] + ([] if args.quick else [131072]):
        out = subprocess.run([sys.executable, __file__, "--hessian-child", str(n)], check=True,
                             capture_output=True, text=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{r['N']:>8} {r['time_s']:>8.3f} s {r['peak_extra_MiB']:>8.0f} MiB {r['matrix_MiB']:>6.0f} MiB"
              f" {r['nnz']:>12}")
    print("# targets: N = 131072 in < 5 s and < 2 GiB")


if __name__ == "__main__":
    main()
