"""lowest_modes against dense LAPACK on glasses and crystals (stable and unstable), completeness
loop, zero/negative mode counting (SPEC §3.5, §6)."""

import ctypes
import functools

import numpy as np
import pytest

from conftest import quenched_glass
import scipy.optimize
import scipy.sparse

from glassvib.lattices import fcc_lattice, hypercubic_lattice
from glassvib.modes import (available_backends, count_modes, full_spectrum, lowest_modes, modes_below,
                            translation_vectors, zero_tolerance)
from glassvib import modes as modes_mod
from glassvib import multigrid
from glassvib.potential import TaperedIPL
from glassvib.system import hessian

POT = TaperedIPL(n=12, r_cut=1.955, taper=2)




def dense_reference(H, k):
    lam, vec = np.linalg.eigh(H.toarray())
    return lam[:k], vec[:, :k], lam


# every route of lowest_modes: dense LAPACK, block shift-invert on each factorization backend
# available here (CHOLMOD only where scikit-sparse is installed), and the ARPACK reference route
# and multigrid-preconditioned LOBPCG (with a small coarsest level, so that the V-cycle has levels)
ROUTES = ([("dense", None)] + [("shift-invert", b) for b in available_backends()] + [("arpack", None)]
          + [("lobpcg", None)] * multigrid.available())
ROUTE_IDS = [m if b is None else f"{m}-{b}" for m, b in ROUTES]


@pytest.fixture(autouse=True)
def small_coarsest_level(monkeypatch):
    monkeypatch.setattr(modes_mod, "AMG_MAX_COARSE", 60)


def check_against_dense(H, k, route, dim=None):
    method, backend = route if isinstance(route, tuple) else (route, None)
    lam, vec = lowest_modes(H, k, method=method, backend=backend, dim=dim)
    ref, _, all_lam = dense_reference(H, k)
    scale = np.max(np.abs(all_lam))
    assert lam.shape == (k,) and vec.shape == (H.shape[0], k)
    assert np.all(np.diff(lam) >= 0), "eigenvalues must be ascending"
    # tolerance: 1e-8 of the largest eigenvalue (issue 4)
    np.testing.assert_allclose(lam, ref, rtol=0, atol=1e-8 * scale)
    # eigenpair residuals and orthonormality (vectors in degenerate subspaces are not unique)
    R = H @ vec - vec * lam
    assert np.max(np.linalg.norm(R, axis=0)) < 1e-6 * scale
    np.testing.assert_allclose(vec.T @ vec, np.eye(k), atol=1e-8)
    return lam


@pytest.mark.parametrize("route", ROUTES + [("auto", None)], ids=ROUTE_IDS + ["auto"])
@pytest.mark.parametrize("d,N", [(2, 144), (3, 125)])
def test_lowest_modes_glass(d, N, route):
    H = hessian(quenched_glass(d, N, 7), POT)
    lam = check_against_dense(H, 30, route, dim=d)
    assert np.sum(np.abs(lam) < zero_tolerance(H)) == d  # the d translations, nothing else


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
def test_lowest_modes_stable_crystal(route):
    conf = fcc_lattice(4)  # 256 particles, highly degenerate spectrum
    H = hessian(conf, POT)
    lam = check_against_dense(H, 40, route, dim=3)
    assert lam[3] > 0


@pytest.mark.parametrize("route", ROUTES, ids=ROUTE_IDS)
@pytest.mark.parametrize("d,cells", [(2, 12), (3, 6)])
def test_lowest_modes_unstable_crystal(d, cells, route):
    """Square / simple cubic lattices of a repulsive potential have negative eigenvalues: they
    must come first, as they are, not ordered by magnitude."""
    H = hessian(hypercubic_lattice(d, cells), POT)
    lam = check_against_dense(H, 25, route, dim=d)
    assert lam[0] < -1e-3, "these crystals are unstable"


@pytest.mark.parametrize("route", ROUTES[1:], ids=ROUTE_IDS[1:])
def test_sparse_route_large_negative_shift(route):
    """A matrix whose lowest eigenvalue is far below the first trial shift (needs shift lowering)."""
    rng = np.random.default_rng(3)
    n = 600
    A = scipy.sparse.random(n, n, density=0.01, random_state=rng)
    A = (A + A.T) * 10.0 + scipy.sparse.diags(rng.uniform(0.0, 1.0, n))
    A = A.tocsr()
    check_against_dense(A, 12, route)


def test_auto_routes(monkeypatch):
    """'auto': dense eigh for small matrices, shift-invert with a sparse backend above the thresholds."""
    H = hessian(quenched_glass(2, 144, 7), POT)
    calls = []
    orig_dense, orig_si = modes_mod._dense_lowest, modes_mod._shift_invert_lowest
    monkeypatch.setattr(modes_mod, "_dense_lowest", lambda *a, **k: calls.append("dense") or orig_dense(*a, **k))
    monkeypatch.setattr(modes_mod, "_shift_invert_lowest",
                        lambda H, k, backend, **kw: calls.append(backend) or orig_si(H, k, backend, **kw))
    check_against_dense(H, 10, "auto")  # 288 rows: dense eigh
    monkeypatch.setattr(modes_mod, "DENSE_MAX_DOF", 100)
    check_against_dense(H, 10, "auto")  # shift-invert: PARDISO where MKL loads, else CHOLMOD, else a dense factor
    check_against_dense(H, 100, "auto")  # k >= dN / 6: dense eigh again
    monkeypatch.setattr(modes_mod, "DENSE_FACTOR_MAX_DOF", 100)
    monkeypatch.setattr(multigrid, "available", lambda: False)  # (else LOBPCG above the dense factor)
    check_against_dense(H, 10, "auto")  # too big for a dense factor: PARDISO, CHOLMOD, else SuperLU
    if "pardiso" in available_backends():
        assert calls == ["dense", "pardiso", "dense", "pardiso"]
    elif "cholmod" in available_backends():
        assert calls == ["dense", "cholmod", "dense", "cholmod"]
    else:
        assert calls == ["dense", "dense", "dense", "superlu"]


@pytest.mark.skipif("cholmod" not in available_backends(), reason="scikit-sparse not installed")
def test_auto_uses_cholmod_where_pardiso_does_not_load(monkeypatch):
    """CHOLMOD is the automatic factorization where MKL's PARDISO does not load."""
    H = hessian(quenched_glass(3, 125, 7), POT)
    monkeypatch.setattr(modes_mod._pardiso, "available", lambda: False)
    assert modes_mod._default_backend(H.shape[0]) == "cholmod"
    monkeypatch.setattr(modes_mod, "DENSE_MAX_DOF", 100)
    check_against_dense(H, 20, "auto")


@pytest.mark.skipif(not multigrid.available(), reason="pyamg not installed")
def test_auto_without_sparse_cholesky_uses_lobpcg(monkeypatch):
    """Where neither PARDISO nor CHOLMOD loads, 'auto' takes multigrid LOBPCG above the dense
    factor's size instead of SuperLU (whose fill made N = 32768 run for hours, issue 14)."""
    H = hessian(quenched_glass(3, 125, 7), POT)
    calls = []
    orig = modes_mod._lobpcg_lowest
    monkeypatch.setattr(modes_mod, "_lobpcg_lowest", lambda *a, **k: calls.append("lobpcg") or orig(*a, **k))
    monkeypatch.setattr(modes_mod._pardiso, "available", lambda: False)
    monkeypatch.setattr(modes_mod, "_cholmod_cholesky", None)
    monkeypatch.setattr(modes_mod, "DENSE_MAX_DOF", 100)
    monkeypatch.setattr(modes_mod, "DENSE_FACTOR_MAX_DOF", 300)
    assert modes_mod._default_backend(H.shape[0]) == "superlu"
    check_against_dense(H, 20, "auto")
    assert calls == ["lobpcg"]
    assert "pardiso" not in available_backends()


@pytest.mark.skipif("pardiso" not in available_backends(), reason="MKL (libmkl_rt) not found")
def test_pardiso_factor():
    """PARDISO's Cholesky solves SPD systems (one and many right-hand sides, any layout, missing
    diagonal entries) and reports an indefinite matrix as not positive definite."""
    from glassvib import pardiso

    rng = np.random.default_rng(11)
    n = 300
    B = scipy.sparse.random(n, n, density=0.02, random_state=rng)
    A = (B @ B.T + scipy.sparse.diags(rng.uniform(0.5, 1.0, n))).tocsr()  # positive definite
    Ad = A.toarray()
    F = pardiso.Factor(A)
    for rhs in (rng.standard_normal(n), rng.standard_normal((n, 7)), np.asfortranarray(rng.standard_normal((n, 3))),
                rng.standard_normal((3, n)).T):
        X = F(rhs)
        assert X.shape == rhs.shape
        np.testing.assert_allclose(Ad @ X, rhs, atol=1e-9 * np.abs(rhs).max() * np.linalg.cond(Ad))
    lam_min = np.linalg.eigvalsh(Ad)[0]
    with pytest.raises(pardiso.NotPositiveDefinite):
        pardiso.Factor(A - (lam_min + 0.1) * scipy.sparse.identity(n))
    # a row without a stored diagonal entry (PARDISO needs it stored): indefinite, reported as such
    C = scipy.sparse.csr_matrix(np.array([[2.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 3.0]]))
    C.eliminate_zeros()
    assert C[1, 1] == 0 and C.nnz == 6
    with pytest.raises(pardiso.NotPositiveDefinite):
        pardiso.Factor(C)
    # a shift is the factor of A - shift I, also where a diagonal entry is not stored
    s = -0.3
    rhs = rng.standard_normal((n, 2))
    np.testing.assert_allclose(pardiso.Factor(A, shift=s)(rhs), pardiso.Factor(A - s * scipy.sparse.identity(n))(rhs),
                               rtol=1e-10, atol=1e-12)
    Cs = pardiso.Factor(C, shift=-1.0)(np.ones(3))
    np.testing.assert_allclose((C.toarray() + np.eye(3)) @ Cs, np.ones(3), atol=1e-12)


def test_pardiso_upper_triangle_of_any_csr():
    """The factor reads the upper triangle of A whatever its storage: duplicates summed,
    unsorted indices, COO input; the same matrix as scipy.sparse.triu."""
    from glassvib.pardiso import _upper_triangle

    rng = np.random.default_rng(5)
    n = 40
    rows, cols = rng.integers(0, n, 300), rng.integers(0, n, 300)  # with duplicates
    vals = rng.standard_normal(300)
    for A in (scipy.sparse.coo_matrix((vals, (rows, cols)), shape=(n, n)),
              scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(n, n))):
        U = _upper_triangle(A)
        assert U.has_canonical_format and U.dtype == np.float64
        np.testing.assert_array_equal(U.toarray(), np.triu(A.toarray()))
    A = scipy.sparse.csr_matrix((vals, (rows, cols)), shape=(n, n))
    perm = rng.permutation(A.indptr[1] - A.indptr[0])  # unsort the first row's indices
    A.indices[:perm.size] = A.indices[:perm.size][perm]
    A.data[:perm.size] = A.data[:perm.size][perm]
    A.has_sorted_indices = False
    np.testing.assert_array_equal(_upper_triangle(A).toarray(), np.triu(A.toarray()))


@pytest.mark.skipif(not multigrid.available(), reason="pyamg not installed")
def test_auto_picks_lobpcg_for_large_matrices(monkeypatch):
    """Above LOBPCG_MIN_DOF rows 'auto' uses multigrid LOBPCG, but only when dim is known."""
    H = hessian(quenched_glass(3, 125, 7), POT)
    calls = []
    orig = modes_mod._lobpcg_lowest
    monkeypatch.setattr(modes_mod, "_lobpcg_lowest", lambda *a, **k: calls.append("lobpcg") or orig(*a, **k))
    monkeypatch.setattr(modes_mod, "DENSE_MAX_DOF", 100)
    monkeypatch.setattr(modes_mod, "LOBPCG_MIN_DOF", 300)
    check_against_dense(H, 20, "auto", dim=3)
    assert calls == ["lobpcg"]
    check_against_dense(H, 20, "auto")  # d found from the translations H annihilates
    assert calls == ["lobpcg", "lobpcg"]
    rng = np.random.default_rng(5)
    A = scipy.sparse.random(600, 600, density=0.01, random_state=rng)
    A = (A + A.T + scipy.sparse.identity(600)).tocsr()
    check_against_dense(A, 10, "auto")  # no translation symmetry: shift-invert
    assert calls == ["lobpcg", "lobpcg"]


@pytest.mark.parametrize("d,N", [(2, 144), (3, 125), (4, 256)])
def test_translation_dim_is_found(d, N):
    conf = quenched_glass(d, N, 7) if d < 4 else hypercubic_lattice(4, 4)  # N = 256
    assert modes_mod._translation_dim(hessian(conf, POT)) == d
    assert modes_mod._translation_dim(scipy.sparse.identity(12, format="csr")) is None


@pytest.mark.skipif(not multigrid.available(), reason="pyamg not installed")
def test_lobpcg_not_converged_falls_back(monkeypatch):
    H = hessian(quenched_glass(2, 144, 7), POT)
    monkeypatch.setattr(modes_mod, "LOBPCG_MAX_ITER", 2)
    with pytest.warns(RuntimeWarning, match="LOBPCG did not converge"):
        check_against_dense(H, 20, "lobpcg", dim=2)


@pytest.mark.skipif(not multigrid.available(), reason="pyamg not installed")
def test_lobpcg_residuals_meet_tolerance():
    """The convergence test uses the true residuals |H x - lambda x| (not the updated ones)."""
    H = hessian(quenched_glass(3, 216, 3), POT)
    vals, vecs, ok, steps = modes_mod._lobpcg_lowest(H, 40, 3, rtol=1e-10)
    assert ok and steps > 0
    tol = 1e-10 * np.max(np.abs(H.diagonal()))
    res = np.linalg.norm(H @ vecs - vecs * vals, axis=0)
    assert res.max() <= tol
    # orthonormal to 1e-9: the Gram matrix's rounding depends on the BLAS thread count (1.8e-10
    # measured with 2 threads under load, below 1e-10 with one thread)
    np.testing.assert_allclose(vecs.T @ vecs, np.eye(40), atol=1e-9)
    # each Ritz value lies within its residual norm of an eigenvalue (here: the right one)
    ref = np.linalg.eigvalsh(H.toarray())[:40]
    np.testing.assert_allclose(vals, ref, rtol=0, atol=tol)


def test_modes_below_grows_k():
    H = hessian(quenched_glass(2, 144, 7), POT)
    _, _, all_lam = dense_reference(H, 1)
    upper = all_lam[40] + 0.5 * (all_lam[41] - all_lam[40])  # 41 eigenvalues below the edge
    res = modes_below(H, upper, k=5)
    assert res.complete and res.n_solves > 1
    assert res.eigenvalues[-1] > upper
    np.testing.assert_allclose(res.eigenvalues[:41], all_lam[:41], atol=1e-8 * abs(all_lam).max())
    capped = modes_below(H, upper, k=5, k_max=20)
    assert not capped.complete and capped.k == 20


def test_count_modes_glass_and_crystal():
    H = hessian(quenched_glass(3, 125, 7), POT)
    lam, vec = lowest_modes(H, 10)
    c = count_modes(lam, 3, zero_tolerance(H), vec)
    assert (c.n_zero_modes, c.n_extra_zero, c.n_negative) == (3, 0, 0)
    np.testing.assert_allclose(c.translational_overlap, 1.0, atol=1e-8)
    Hc = hessian(hypercubic_lattice(2, 12), POT)
    lam, vec = lowest_modes(Hc, 30)
    ref = np.linalg.eigvalsh(Hc.toarray())
    c = count_modes(lam, 2, zero_tolerance(Hc), vec)
    tol = zero_tolerance(Hc)
    assert c.n_negative == int(np.sum(ref < -tol)) > 0
    assert c.n_zero_modes == int(np.sum(np.abs(ref) <= tol)) >= 2


def test_extra_zero_mode_is_counted():
    """A particle with no neighbours (a rattler) adds d extra zero modes."""
    H = scipy.sparse.block_diag([hessian(quenched_glass(2, 144, 7), POT), np.zeros((2, 2))], format="csr")
    lam, vec = lowest_modes(H, 8, method="dense")
    c = count_modes(lam, 2, zero_tolerance(H), vec)
    assert c.n_zero_modes == 4 and c.n_extra_zero == 2
    np.testing.assert_allclose(c.translational_overlap, 1.0, atol=1e-8)


def test_translations_are_orthonormal():
    T = translation_vectors(5, 3)
    np.testing.assert_allclose(T.T @ T, np.eye(3), atol=1e-14)


def test_full_spectrum_matches_numpy():
    H = hessian(quenched_glass(2, 144, 7), POT)
    np.testing.assert_allclose(full_spectrum(H), np.linalg.eigvalsh(H.toarray()), atol=1e-10)


def test_lowest_modes_input_validation():
    H = scipy.sparse.identity(10, format="csr")
    with pytest.raises(ValueError, match="k = 0"):
        lowest_modes(H, 0)
    with pytest.raises(ValueError, match="k = 11"):
        lowest_modes(H, 11)
    with pytest.raises(ValueError, match="square"):
        lowest_modes(scipy.sparse.random(4, 5, format="csr"), 2)
    with pytest.raises(ValueError, match="method"):
        lowest_modes(H, 2, method="magic")
    with pytest.raises(ValueError, match="backend"):
        lowest_modes(H, 2, method="shift-invert", backend="magic")
    with pytest.raises(ValueError, match="integer"):
        lowest_modes(H, 2.5)
    with pytest.raises(ValueError, match="dim"):
        lowest_modes(H, 2, dim=4)


# ---------------------------------------------------------------- per-sample analysis (analysis.py)
def test_analyze_inherent_structure_consistency():
    """The per-sample entry point: modes complete up to the edge, counts, omega = sqrt(lambda),
    participation, G and omega_0 from elasticity, stress histogram totals, level-ratio windows;
    the ensemble helpers produce the SPEC §7 columns with the predictions as separate columns."""
    from glassvib.analysis import analyze_inherent_structure, ensemble_exponents, ensemble_level_ratios
    from glassvib.elasticity import omega0, shear_modulus

    conf = quenched_glass(2, 144, 7)
    a = analyze_inherent_structure(conf, POT, k=10, full_spectrum=True)
    ref = np.linalg.eigvalsh(hessian(conf, POT).toarray())
    assert a.complete and a.eigenvalues[-1] > a.lambda_upper >= (a.omega_c * 1.3) ** 2 * (1 - 1e-12)
    np.testing.assert_allclose(a.eigenvalues, ref[:a.eigenvalues.size], atol=1e-8 * ref[-1])
    assert (a.n_zero_modes, a.n_extra_zero, a.n_negative) == (2, 0, 0)
    assert np.all(a.omegas[a.is_zero] == 0) and np.allclose(a.omegas[~a.is_zero] ** 2, a.eigenvalues[~a.is_zero])
    assert a.shear_modulus == pytest.approx(shear_modulus(conf, POT), rel=1e-12)
    assert a.omega0 == pytest.approx(omega0(a.shear_modulus, conf.density, conf.box))
    assert a.omega_c == pytest.approx(0.75 * a.omega0)
    assert np.all((a.participation > 0) & (a.participation <= 1 + 1e-12))
    assert a.stress.counts["sigma"].sum() + a.stress.below["sigma"] + a.stress.above["sigma"] == a.stress.n_pairs
    np.testing.assert_allclose(a.spectrum, ref, atol=1e-10)
    from glassvib.system import pair_terms
    r = pair_terms(conf, POT).r
    assert a.g2_edges[-1] == pytest.approx(POT.r_cut + 0.5)
    assert a.g2_counts.sum() >= r.size and np.sum(a.g2_counts[a.g2_edges[1:] <= 1.95]) <= r.size
    assert {k: v.size for k, v in a.level_windows.items()} == {"lowest": 48, "middle": 48, "highest": 48}
    b = analyze_inherent_structure(quenched_glass(2, 144, 8), POT, k=10, full_spectrum=True)
    row = ensemble_exponents([a, b], taper=2.0, n_boot=50)
    assert row["n_samples"] == 2 and row["n_excluded"] == 0
    assert row["s_ghet"] == 4.0 and row["alpha_ghet"] == -0.5
    assert row["n_modes_fit"] == sum(np.sum(s.vibrational_omegas < row["omega_c"]) for s in (a, b))
    rows = ensemble_level_ratios([a, b])
    assert [r["window"] for r in rows] == ["lowest", "middle", "highest"] and rows[0]["n"] == 96
    # delta = 1 removes the internal-stress term from the modes but not from G
    c = analyze_inherent_structure(conf, POT, k=10, delta=1.0)
    assert c.shear_modulus == a.shear_modulus and not np.allclose(c.eigenvalues[3:6], a.eigenvalues[3:6])


# ---------------------------------------------------------------- all_eigenvalues / highest_modes
def _random_symmetric(n, seed, sparse=False):
    rng = np.random.default_rng(seed)
    if sparse:
        A = scipy.sparse.random(n, n, density=0.02, random_state=rng, format="csr")
        return (A + A.T).tocsr() + scipy.sparse.diags(rng.standard_normal(n))
    A = rng.standard_normal((n, n))
    return A + A.T


@functools.lru_cache(maxsize=None)
def _eig_matrix(name):
    """Glass Hessians beyond DENSE_MAX_DOF (sparse, and one as a dense array), random symmetric ones."""
    builders = {"glass-sparse": lambda: hessian(quenched_glass(2, 400, 5), POT),
                "glass-dense": lambda: _eig_matrix("glass-sparse").toarray(),
                "glass-3d": lambda: hessian(quenched_glass(3, 250, 5), POT),
                "random-dense": lambda: _random_symmetric(701, 1),
                "random-sparse": lambda: _random_symmetric(703, 2, sparse=True)}
    H = builders[name]()
    assert H.shape[0] > modes_mod.DENSE_MAX_DOF
    return H


@functools.lru_cache(maxsize=None)
def _eig_reference(name):
    H = _eig_matrix(name)
    return np.linalg.eigvalsh(H.toarray() if scipy.sparse.issparse(H) else H)


# sparse and dense (ndarray) inputs; glass Hessians and random symmetric matrices
EIG_NAMES = ["glass-sparse", "glass-3d", "random-dense", "random-sparse"]


@pytest.mark.parametrize("method", ["auto", "two-stage", "scipy"])
@pytest.mark.parametrize("name", EIG_NAMES)
def test_all_eigenvalues_match_numpy(name, method):
    H = _eig_matrix(name)
    if method == "two-stage" and modes_mod._lapacke_two_stage() is None:
        pytest.skip("no LAPACKE_dsyevd_2stage in this scipy build")
    dense = H.toarray() if scipy.sparse.issparse(H) else H
    before = dense.copy()
    ref = _eig_reference(name)
    lam = modes_mod.all_eigenvalues(H, method=method)
    assert lam.shape == (H.shape[0],) and lam.dtype == np.float64
    assert np.all(np.diff(lam) >= 0), "ascending"
    np.testing.assert_allclose(lam, ref, rtol=0, atol=1e-10 * np.max(np.abs(ref)))
    # the input is left alone (the LAPACK routes overwrite their work copy)
    after = H.toarray() if scipy.sparse.issparse(H) else H
    assert np.array_equal(after, before)


def test_all_eigenvalues_of_known_spectra():
    """Permuted diagonal and a rotated one: exact spectra, both routes, tiny sizes included."""
    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 50):
        w = np.sort(rng.standard_normal(n))
        Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
        A = (Q * w) @ Q.T
        A = 0.5 * (A + A.T)
        for method in ("auto", "scipy"):
            np.testing.assert_allclose(modes_mod.all_eigenvalues(A, method=method), w, rtol=0, atol=1e-12)
        perm = rng.permutation(n)
        D = scipy.sparse.diags(w[perm]).tocsr()
        np.testing.assert_array_equal(modes_mod.all_eigenvalues(D), w)


def test_all_eigenvalues_two_stage_missing(monkeypatch):
    """_TWO_STAGE is the cache: None = not looked up, False = missing, else the function."""
    H = _eig_matrix("random-dense")
    ref = _eig_reference("random-dense")
    monkeypatch.setattr(modes_mod, "_TWO_STAGE", False)
    with pytest.raises(ValueError, match="two-stage"):
        modes_mod.all_eigenvalues(H, method="two-stage")
    # auto falls back to scipy
    np.testing.assert_allclose(modes_mod.all_eigenvalues(H), ref, rtol=0, atol=1e-10 * np.max(np.abs(ref)))
    assert modes_mod._TWO_STAGE is False, "a known-missing symbol is not looked up again"
    # None: looked up (once) and cached as the function or False
    monkeypatch.setattr(modes_mod, "_TWO_STAGE", None)
    fn = modes_mod._lapacke_two_stage()
    assert modes_mod._TWO_STAGE is not None
    assert (fn is None) == (modes_mod._TWO_STAGE is False)
    assert modes_mod._lapacke_two_stage() is fn


def test_all_eigenvalues_routes_and_errors(monkeypatch):
    H = _random_symmetric(40, 4)
    ref = np.linalg.eigvalsh(H)
    with pytest.raises(ValueError, match="method"):
        modes_mod.all_eigenvalues(H, method="lapack")
    with pytest.raises(ValueError, match="square"):
        modes_mod.all_eigenvalues(np.zeros((3, 4)))
    # auto calls the two-stage routine where it is found, scipy never does
    calls = []

    def fake(layout, jobz, uplo, n, a, lda, w):
        calls.append((layout, jobz, uplo, n, lda))
        A = np.ctypeslib.as_array(ctypes.cast(a, ctypes.POINTER(ctypes.c_double)), shape=(n, n))
        np.ctypeslib.as_array(ctypes.cast(w, ctypes.POINTER(ctypes.c_double)), shape=(n,))[:] = \
            np.linalg.eigvalsh(A)
        return 0

    monkeypatch.setattr(modes_mod, "_TWO_STAGE", fake)
    np.testing.assert_allclose(modes_mod.all_eigenvalues(H), ref, atol=1e-12)
    assert len(calls) == 1 and calls[0][1] in (b"N", "N") and calls[0][3] == 40
    np.testing.assert_allclose(modes_mod.all_eigenvalues(H, method="scipy"), ref, atol=1e-12)
    assert len(calls) == 1
    # a LAPACK failure is an error, not a silent wrong answer
    monkeypatch.setattr(modes_mod, "_TWO_STAGE", lambda *args: 3)
    with pytest.raises(np.linalg.LinAlgError, match="info = 3"):
        modes_mod.all_eigenvalues(H)


@functools.lru_cache(maxsize=None)
def _eigh_reference(name):
    H = _eig_matrix(name)
    return np.linalg.eigh(H.toarray() if scipy.sparse.issparse(H) else H)


def _check_highest(H, k, reference=None):
    dense = H.toarray() if scipy.sparse.issparse(H) else H
    ref_val, ref_vec = np.linalg.eigh(dense) if reference is None else reference
    scale = np.max(np.abs(ref_val))
    val, vec = modes_mod.highest_modes(H, k)
    n = dense.shape[0]
    assert val.shape == (k,) and vec.shape == (n, k) and np.all(np.diff(val) >= 0)
    np.testing.assert_allclose(val, ref_val[n - k:], rtol=1e-9, atol=0)
    R = dense @ vec - vec * val
    assert np.max(np.linalg.norm(R, axis=0)) < 1e-8 * scale
    np.testing.assert_allclose(vec.T @ vec, np.eye(k), atol=1e-9)
    # non-degenerate modes: the same vectors up to sign
    g = np.diff(ref_val)
    gaps = np.minimum(np.concatenate([[np.inf], g]), np.concatenate([g, [np.inf]]))[n - k:]
    nd = gaps > 1e-6 * scale
    overlap = np.abs(np.sum(vec * ref_vec[:, n - k:], axis=0))
    assert nd.sum() >= k - 2
    np.testing.assert_allclose(overlap[nd], 1.0, atol=1e-8)


@pytest.mark.parametrize("name,k", [("glass-sparse", 20), ("glass-3d", 15), ("glass-sparse", 1),
                                    ("random-sparse", 10), ("glass-dense", 12)])
def test_highest_modes_lanczos(name, k):
    """dN > DENSE_MAX_DOF and k < dN / 4: the ARPACK route; against dense eigh."""
    ref = _eigh_reference("glass-sparse" if name == "glass-dense" else name)
    _check_highest(_eig_matrix(name), k, ref)


def test_highest_modes_dense_route():
    """Small matrices, or k >= dN / 4: dense LAPACK with subset_by_index."""
    _check_highest(hessian(quenched_glass(2, 144, 5), POT), 10)
    H = _eig_matrix("glass-sparse")
    _check_highest(H, H.shape[0] // 4, _eigh_reference("glass-sparse"))


def test_highest_modes_input_validation():
    H = scipy.sparse.identity(10, format="csr")
    for bad in (0, 11, 2.5, True, "3"):
        with pytest.raises(ValueError, match="k = "):
            modes_mod.highest_modes(H, bad)
    with pytest.raises(ValueError, match="square"):
        modes_mod.highest_modes(scipy.sparse.random(4, 5, format="csr"), 2)
