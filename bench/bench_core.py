"""Core performance figures (issues 2, 12): energy+forces and sparse Hessian assembly, d = 3.

Prints, for N = 1e3, 1e4, 1.3e5: the median time of energy + forces; the time and peak extra memory
(resident set, measured in a fresh subprocess) of the sparse Hessian assembly; at N = 1000, the
speed ratio of our energy + forces to a plain numpy all-pairs reference measured in the same run;
and energy + forces of every model (glassvib.potentials.MODELS) at d = 3, N = 1000, each at its own
density, against the tapered IPL measured in the same process: the rate ratio and the ratio per pair
within the model's range r_max (a Lennard-Jones glass at density 1.2 with r_c = 2.5 has 2.5 times
the pairs of the tapered IPL).

    python bench/bench_core.py            # full run (about a minute)
    python bench/bench_core.py --quick    # N <= 1e4 only
    python bench/bench_core.py --models-only [--baseline /tmp/base/src]
        # the model table only; --baseline adds the tapered IPL of another source tree (e.g. the
        # commit before issue 12: git archive <commit> src | tar -x -C /tmp/base), imported as
        # glassvib_baseline in the same process
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


def load_baseline(src):
    """The glassvib package of another source tree ``src`` (containing glassvib/), as a separate
    module ``glassvib_baseline``."""
    import importlib.util
    from pathlib import Path

    pkg = Path(src) / "glassvib"
    spec = importlib.util.spec_from_file_location("glassvib_baseline", pkg / "__init__.py",
                                                  submodule_search_locations=[str(pkg)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["glassvib_baseline"] = mod
    spec.loader.exec_module(mod)
    return mod


def relaxed(gvmod, pot, d=3, n=1000, seed=1):
    """A configuration of the model near a minimum (random start, quench to max|F| < 1e-3)."""
    try:
        conf = gvmod.random_configuration(d, n, seed, model=pot)
    except TypeError:  # a baseline tree before issue 12
        conf = gvmod.random_configuration(d, n, seed)
    return gvmod.quench(conf, pot, tol=1e-3).configuration


def bench_models(baseline=None, rounds=3):
    """Energy + forces of every model at d = 3, N = 1000, interleaved with the tapered IPL (best of
    ``rounds`` x 7 repeats each), rate and per-pair ratios to the tapered IPL."""
    from glassvib.neighbours import neighbour_pairs
    from glassvib.potentials import MODELS

    cases = [(name, cls()) for name, cls in MODELS.items()]
    ref_pot = gv.TaperedIPL(taper=2)
    confs = {name: relaxed(gv, pot) for name, pot in cases}
    ref_conf = confs["tapered_ipl"]
    base = None
    if baseline is not None:
        gb = load_baseline(baseline)
        bpot = gb.TaperedIPL(taper=2)
        bconf = relaxed(gb, bpot)
        base = (gb, bpot, bconf)
    for name, pot in cases:
        gv.energy_and_forces(confs[name], pot)
    times = {name: [] for name, _ in cases}
    times["baseline"] = []
    for _ in range(rounds):
        for name, pot in cases:
            c = confs[name]
            times[name].append(median_time(lambda: gv.energy_and_forces(c, pot), repeat=7, number=50, best=True))
        if base is not None:
            gb, bpot, bconf = base
            times["baseline"].append(median_time(lambda: gb.energy_and_forces(bconf, bpot), repeat=7, number=50,
                                                 best=True))
    t_ref = min(times["tapered_ipl"])
    p_ref = len(neighbour_pairs(ref_conf.positions, ref_conf.box, ref_pot.r_max)[0])
    print("\n# energy + forces of every model, d = 3, N = 1000 (relaxed start, each at its density); ratios to")
    print("# the tapered IPL measured in this process (rate ratio > 1: faster); pairs: within r_max")
    print(f"{'model':>14} {'rho':>5} {'r_max':>6} {'pairs':>7} {'time':>10} {'rate ratio':>11} {'per-pair ratio':>15}")
    for name, pot in cases:
        c = confs[name]
        t = min(times[name])
        pairs = len(neighbour_pairs(c.positions, c.box, pot.r_max)[0])
        print(f"{name:>14} {c.density:>5.2f} {pot.r_max:>6.3f} {pairs:>7d} {t * 1e3:>7.3f} ms {t_ref / t:>11.2f} "
              f"{(t_ref / p_ref) / (t / pairs):>15.2f}")
    if base is not None:
        t = min(times["baseline"])
        print(f"{'baseline tipl':>14} {'1.00':>5} {1.955:>6.3f} {'':>7} {t * 1e3:>7.3f} ms  (tapered_ipl of this tree "
              f"/ baseline: rate ratio {t / t_ref:.2f})")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--models-only", action="store_true", help="only the table of all models at N = 1000")
    ap.add_argument("--baseline", default=None, help="source tree (with glassvib/) of the reference tapered IPL")
    ap.add_argument("--hessian-child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.hessian_child:
        hessian_child(args.hessian_child)
        return
    if args.models_only:
        bench_models(args.baseline)
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
    bench_models(args.baseline)
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
