import sys, time, json, math, numpy as np
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
import glassvib as gv
from pfire import pfire, plbfgs, Precon
d, n, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
spec = sys.argv[4]  # e.g. "fire" or "pfire:kind=stiff,switch=1,dt_max=1"
pot = gv.TaperedIPL(taper=2)
conf = gv.random_configuration(d, n, seed)
name, _, args = spec.partition(":")
kw = {}
for a in filter(None, args.split(",")):
    k, v = a.split("="); kw[k] = v if k in ("kind", "solver") else float(v)
pk = {k: kw.pop(k) for k in list(kw) if k in ("kind", "A", "crel", "solver", "every")}
if "every" in pk: pk["every"] = int(pk["every"])
if name == "quench":
    t0 = time.process_time(); r = gv.quench(conf, pot, method="fire"); cpu = time.process_time() - t0
    out = dict(it=r.n_iter, e=r.energy, fmax=r.max_force, cpu=cpu, n_setup=0, t_force=float("nan"), t_setup=0, t_solve=0)
else:
    pre = Precon(**pk) if name != "fire" else None
    t0 = time.process_time()
    if name == "plbfgs":
        out = plbfgs(conf, pot, pre, **kw)
    else:
        out = pfire(conf, pot, pre, **kw)
    out["cpu"] = time.process_time() - t0
    out.pop("x")
print(f"RESULT d={d} N={n} seed={seed} {spec:50s} it={out['it']:6d} setups={out['n_setup']:4d} cpu={out['cpu']:7.2f}s "
      f"force={out['t_force']:6.2f}s setup={out['t_setup']:6.2f}s solve={out['t_solve']:6.2f}s fmax={out['fmax']:.2e} E/N={out['e']/n:.8f}"
      + (f" switch_it={out.get('it_switch')}" if out.get('it_switch') is not None else "") + (f" thr(evals)={out['thr']}" if 'thr' in out else "") + (f" nev={out['nev']}" if 'nev' in out else ""), flush=True)
