"""Prototype preconditioned FIRE / L-BFGS; python loops, numba forces; timings split."""
import sys, time, math, numpy as np, scipy.sparse as sp
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
import glassvib as gv
from glassvib.minimize import PairList
from glassvib import pardiso
import pc

class Precon:
    def __init__(self, kind="stiff", A=3.0, crel=1e-2, mu="auto", solver="chol", every=1):
        self.kind, self.A, self.crel, self.mu, self.solver, self.every = kind, A, crel, mu, solver, every
        self.n_setup = 0; self.t_setup = 0.0; self.t_solve = 0.0; self.n_solve = 0; self.t_mu = 0.0
        self.P = None; self.builds_seen = -1
    def setup(self, x, pairs):
        t0 = time.perf_counter()
        n = x.shape[0]
        ii, jj, w = pc.weights(x, pairs, self.kind, self.A)
        L, deg = pc.laplacian(n, ii, jj, w)
        if self.mu == "auto":
            if self.kind.startswith("stiff"):
                mu = 1.0
            else:
                t1 = time.perf_counter(); mu = pc.estimate_mu(x, pairs, L); self.t_mu += time.perf_counter() - t1
                if not mu > 0: mu = 1.0
        else:
            mu = self.mu
        P = (mu * (L + self.crel * deg.mean() * sp.identity(n))).tocsr()
        self.P = P
        if self.solver == "chol":
            self.fac = pardiso.Factor(P)
            self.apply = lambda f: np.ascontiguousarray(self.fac(f))
        elif self.solver == "amg":
            import pyamg
            ml = pyamg.smoothed_aggregation_solver(P, max_coarse=200)
            M = ml.aspreconditioner(cycle="V")
            self.apply = lambda f: np.column_stack([M @ f[:, a] for a in range(f.shape[1])])
        self.n_setup += 1
        self.t_setup += time.perf_counter() - t0
    def __call__(self, x, f, pairs, force_setup=False):
        if force_setup or self.P is None or (pairs.n_builds != self.builds_seen and (pairs.n_builds - self.builds_seen) >= self.every):
            self.builds_seen = pairs.n_builds
            self.setup(x, pairs)
        t0 = time.perf_counter()
        z = self.apply(f)
        self.t_solve += time.perf_counter() - t0
        self.n_solve += 1
        return z

def pfire(conf, pot, pre=None, tol=1e-10, switch=math.inf, dt_max=1.0, dt0=None, max_move=0.1, nmin=5, finc=1.1,
          fdec=0.5, alpha0=0.1, falpha=0.99, max_iter=200000, pnorm_mix=False, plain_dt_max=0.05, verbose=False):
    """FIRE with forces; once max|F| < switch use z = P^-1 F (dt_max in preconditioned units)."""
    x = np.array(conf.positions, dtype=np.float64)
    n, d = x.shape
    pairs = PairList(x, conf.box, pot, 0.3, diameters=conf.diameters, species=conf.species)
    v = np.zeros_like(x); x_old = x.copy(); e_old = None
    dt = 0.005; alpha = alpha0; npos = 0; trust = max_move
    t_force = 0.0; it = 0; n_undone = 0; n_reset = 0; f = np.empty_like(x)
    use_p = False; it_switch = None; fms = []
    cur_dtmax = plain_dt_max
    t_start = time.perf_counter()
    while True:
        pairs.update(x)
        t0 = time.perf_counter(); e, f = pc.forces(x, pairs, f); t_force += time.perf_counter() - t0
        fm = float(np.max(np.abs(f)))
        if not math.isfinite(e): break
        fms.append(fm)
        if fm < tol or it >= max_iter: break
        if e_old is not None and e > e_old + 1e-12 * abs(e_old):
            x[:] = x_old; v[:] = 0; dt = dt * fdec; alpha = alpha0; npos = 0; trust *= 0.5; e_old = None; n_undone += 1
            continue
        if pre is not None and not use_p and fm < switch:
            use_p = True; it_switch = it; v[:] = 0; cur_dtmax = dt_max; dt = dt0 if dt0 else 0.1 * dt_max; npos = 0; alpha = alpha0
        z = pre(x, f, pairs) if use_p else f
        power = float((f * v).sum())
        if power > 0:
            npos += 1
            if npos > nmin:
                dt = min(dt * finc, cur_dtmax); alpha *= falpha
        else:
            npos = 0; dt = dt * fdec; alpha = alpha0; v[:] = 0; n_reset += 1
        v += dt * z
        if pnorm_mix and use_p:
            vn = math.sqrt(max(float((v * (pre.P @ v)).sum()), 0.0)); zn = math.sqrt(max(float((z * f).sum()), 1e-300))
        else:
            vn = math.sqrt(float((v * v).sum())); zn = math.sqrt(float((z * z).sum()))
        v = (1 - alpha) * v + (alpha * vn / zn if zn > 0 else 0.0) * z
        trust = min(trust * finc, max_move)
        vmax = float(np.max(np.abs(v)))
        scale = trust / (vmax * dt) if vmax * dt > trust else 1.0
        x_old[:] = x; e_old = e
        x += scale * dt * v
        it += 1
        if verbose and it % 500 == 0:
            print(it, e / n, fm, dt, alpha, pairs.n_builds, flush=True)
    wall = time.perf_counter() - t_start
    fa = np.array(fms)
    thr = {t: int(np.argmax(fa < t)) if np.any(fa < t) else -1 for t in (1.0, 1e-2, 1e-4, 1e-7)}
    return dict(thr=thr, x=x, e=e, fmax=fm, it=it, undone=n_undone, resets=n_reset, t_force=t_force, wall=wall,
                builds=pairs.n_builds, it_switch=it_switch,
                n_setup=pre.n_setup if pre else 0, t_setup=pre.t_setup if pre else 0.0, t_solve=pre.t_solve if pre else 0.0,
                n_solve=pre.n_solve if pre else 0)

def plbfgs(conf, pot, pre, tol=1e-10, m=20, switch=10.0, max_iter=200000, max_move=0.1, c1=1e-4, verbose=False,
           fire_kw=None):
    """Plain FIRE until max|F| < switch, then L-BFGS with H0 = P^-1 and a backtracking Armijo search
    (step capped at max_move per component); restarts memory on failure."""
    x = np.array(conf.positions, dtype=np.float64)
    n, d = x.shape
    t_start = time.perf_counter()
    it0 = 0; tf0 = 0.0
    if switch < math.inf:
        r0 = pfire(conf, pot, None, tol=max(tol, switch))
        x = r0["x"]; it0 = r0["it"]; tf0 = r0["t_force"]
    pairs = PairList(x, conf.box, pot, 0.3, diameters=conf.diameters, species=conf.species)
    t_force = tf0; nev = 0
    def ef(xx):
        nonlocal t_force, nev
        pairs.update(xx); t0 = time.perf_counter(); e, f = pc.forces(xx, pairs); t_force += time.perf_counter() - t0; nev += 1
        return e, f
    e, f = ef(x)
    S, Y = [], []
    it = 0; nls = 0; nrestart = 0
    while True:
        fm = float(np.max(np.abs(f)))
        if fm < tol or it >= max_iter or not math.isfinite(e): break
        g = -f.ravel()
        q = g.copy(); al = []
        for s, y in reversed(list(zip(S, Y))):
            rho = 1.0 / (y @ s); a = rho * (s @ q); q -= a * y; al.append((a, rho, s, y))
        r = pre(x, q.reshape(n, d), pairs).ravel()
        for a, rho, s, y in reversed(al):
            b = rho * (y @ r); r += s * (a - b)
        p = -r
        slope = float(g @ p)
        if not slope < 0:
            S, Y = [], []; nrestart += 1
            p = pre(x, f, pairs).ravel(); slope = float(g @ p)
        pm = float(np.max(np.abs(p)))
        step = min(1.0, max_move / pm) if pm > 0 else 1.0
        ok = False
        for k in range(30):
            xn = x + step * p.reshape(n, d)
            en, fn = ef(xn); nls += 1
            if en <= e + c1 * step * slope + 1e-12 * abs(e):
                ok = True; break
            step *= 0.5
        if not ok:
            if not S: break
            S, Y = [], []; nrestart += 1; continue
        s = (xn - x).ravel(); y = (f - fn).ravel()
        if y @ s > 1e-16 * math.sqrt((y @ y) * (s @ s)):
            S.append(s); Y.append(y)
            if len(S) > m: S.pop(0); Y.pop(0)
        x, e, f = xn, en, fn
        it += 1
        if verbose and it % 100 == 0: print(it, e / n, fm, step, flush=True)
    wall = time.perf_counter() - t_start
    return dict(x=x, e=e, fmax=float(np.max(np.abs(f))), it=it0 + it, it_lbfgs=it, nev=nev, restarts=nrestart, t_force=t_force,
                wall=wall, builds=pairs.n_builds, n_setup=pre.n_setup, t_setup=pre.t_setup, t_solve=pre.t_solve, n_solve=pre.n_solve,
                it_switch=it0)
