import sys, time, numpy as np, scipy.sparse as sp
sys.path.insert(0, __import__("os").path.dirname(__import__("os").path.abspath(__file__)))
import glassvib as gv, pyamg, pc
from glassvib.minimize import PairList
from glassvib.multigrid import csr_matmat
d, n = 3, int(sys.argv[1])
pot = gv.TaperedIPL(taper=2)
conf = gv.random_configuration(d, n, 1)
x = conf.positions.copy()
pairs = PairList(x, conf.box, pot, 0.3, diameters=conf.diameters, species=conf.species)
f = np.empty_like(x)
t0 = time.perf_counter(); [pc.forces(x, pairs, f) for _ in range(20)]; tf = (time.perf_counter() - t0) / 20
ii, jj, w = pc.weights(x, pairs, "exp", 3.0)
L, deg = pc.laplacian(n, ii, jj, w)
P = (L + 1e-2 * deg.mean() * sp.identity(n)).tocsr()
t0 = time.perf_counter(); ml = pyamg.smoothed_aggregation_solver(P, max_coarse=500); ts = time.perf_counter() - t0
M = ml.aspreconditioner(cycle="V")
b = np.random.default_rng(0).standard_normal((n, d))
t0 = time.perf_counter(); [M @ b[:, a] for _ in range(5) for a in range(d)]; tv = (time.perf_counter() - t0) / 5
t0 = time.perf_counter(); [csr_matmat(P, b) for _ in range(20)]; tm = (time.perf_counter() - t0) / 20
print(f"N={n}: force eval {tf*1e3:.2f} ms; P nnz/row {P.nnz/n:.1f}; pyamg SA setup {ts:.3f} s; V-cycle x{d} rhs {tv*1e3:.2f} ms; P@X (d rhs, numba) {tm*1e3:.2f} ms; levels {len(ml.levels)} op.complexity {ml.operator_complexity():.2f}")
