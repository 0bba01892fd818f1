import sys, numpy as np, scipy.linalg as sla, scipy.sparse as sp, time
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
import glassvib as gv
from glassvib.minimize import PairList
import pc
d, n, seed = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
pot = gv.TaperedIPL(taper=2)
conf = gv.random_configuration(d, n, seed)
res = gv.quench(conf, pot, method="fire")
cm = res.configuration
x = cm.positions.copy()
pairs = PairList(x, cm.box, pot, 0.3, diameters=cm.diameters, species=cm.species)
H = gv.hessian(cm, pot).toarray()
ev = np.linalg.eigvalsh(H)
print(f"plain: lam_min(nz) {ev[d]:.4g} lam_max {ev[-1]:.4g} kappa {ev[-1]/ev[d]:.4g}  (E/N {res.energy/n:.6f}, it {res.n_iter})")
trace_diag = np.array([np.trace(H[i*d:(i+1)*d, i*d:(i+1)*d]) for i in range(n)]) / d
# block-Jacobi
B = np.zeros_like(H)
for i in range(n):
    B[i*d:(i+1)*d, i*d:(i+1)*d] = H[i*d:(i+1)*d, i*d:(i+1)*d]
w = sla.eigh(H, B, eigvals_only=True)
print(f"blockjacobi: lam_min(nz) {w[d]:.4g} lam_max {w[-1]:.4g} kappa {w[-1]/w[d]:.4g}")
for kind, A in [("exp", 1.0), ("exp", 3.0), ("exp", 5.0), ("stiff", 0), ("stiff_l", 0)]:
    ii, jj, wt = pc.weights(x, pairs, kind, A)
    L, deg = pc.laplacian(n, ii, jj, wt)
    mu_diag = trace_diag.sum() / deg.sum()
    mu_sin = pc.estimate_mu(x, pairs, L)
    for crel in [1e-3, 1e-2, 1e-1]:
        P = mu_sin * (L + crel * deg.mean() * sp.identity(n))
        Pd = sp.kron(P, sp.identity(d)).toarray()
        w = sla.eigh(H, Pd, eigvals_only=True)
        print(f"{kind:8s} A={A:.0f} c={crel:.0e} mu_sin={mu_sin:.4g} mu_diag={mu_diag:.4g}: lam_min(nz) {w[d]:.4g} lam_max {w[-1]:.4g} kappa {w[-1]/w[d]:.4g}  frac<0.05 {np.mean(w[d:]<0.05):.3f}")
