import sys, time, numpy as np
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
import glassvib as gv
from glassvib.modes import lowest_modes, zero_tolerance
from pfire import pfire, Precon
d, n, s0, s1 = map(int, sys.argv[1:5])
pot = gv.TaperedIPL(taper=2)
out = []
for seed in range(s0, s1):
    conf = gv.random_configuration(d, n, seed)
    r = gv.quench(conf, pot, method="fire")
    p = pfire(conf, pot, Precon(kind="exp", A=3.0, every=5), switch=1.0, dt_max=1.0)
    row = [seed, r.energy / n, r.n_iter, r.max_force, p["e"] / n, p["it"], p["fmax"]]
    if seed < s0 + 2:
        cm = gv.Configuration(p["x"], conf.diameters, conf.box, conf.species)
        H = gv.hessian(cm, pot)
        lam = lowest_modes(H, 12, dim=d)[0]
        tol0 = zero_tolerance(H)
        print(f"# seed {seed} pfire minimum: lowest 12 {np.array2string(lam, precision=3)} zero_tol {tol0:.2e} "
              f"n_zero {int(np.sum(np.abs(lam) < tol0))} n_neg {int(np.sum(lam < -tol0))}", flush=True)
    print(" ".join(f"{v:.10g}" for v in row), flush=True)
