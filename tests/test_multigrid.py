"""The multigrid preconditioner of the large-matrix eigen-solver route: a symmetric positive
definite approximate inverse of H + c I, exact on a single level, that speeds up CG."""

import numpy as np
import pytest
import scipy.sparse
import scipy.sparse.linalg

from conftest import quenched_glass
from glassvib import multigrid
from glassvib.potential import TaperedIPL
from glassvib.system import hessian

pytestmark = pytest.mark.skipif(not multigrid.available(), reason="pyamg not installed")
POT = TaperedIPL(n=12, r_cut=1.955, taper=2)


@pytest.fixture(scope="module")
def glass3():
    return hessian(quenched_glass(3, 343, 5), POT)


def test_several_levels_symmetric_positive_definite(glass3):
    H = glass3
    M = multigrid.AMGPreconditioner(H, 3, 1e-3, max_coarse=60)
    assert len(M.sizes) >= 2 and M.sizes[0] == H.shape[0]
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((H.shape[0], 6)), rng.standard_normal((H.shape[0], 6))
    MX, MY = M(X), M(Y)
    # symmetric to float32 precision: <x, M y> = <M x, y>
    np.testing.assert_allclose(X.T @ MY, MX.T @ Y, rtol=1e-4, atol=1e-4 * np.abs(X.T @ MY).max())
    assert np.all(np.einsum("ij,ij->j", X, MX) > 0)
    # a block is the same as its columns one at a time
    np.testing.assert_allclose(np.column_stack([M(X[:, j]) for j in range(6)]), MX, rtol=1e-5,
                               atol=1e-5 * np.abs(MX).max())


def test_single_level_is_exact_inverse(glass3):
    H = glass3
    shift = 0.5
    M = multigrid.AMGPreconditioner(H, 3, shift, max_coarse=10 ** 6)
    assert len(M.sizes) == 1
    b = np.random.default_rng(1).standard_normal(H.shape[0])
    x = M(b)
    r = (H + shift * scipy.sparse.identity(H.shape[0])) @ x - b
    assert np.linalg.norm(r) < 1e-6 * np.linalg.norm(b)  # input rounded to float32


def test_preconditioned_cg_needs_far_fewer_steps(glass3):
    H = glass3
    shift = 1e-3 * np.abs(H.diagonal()).max()
    A = (H + shift * scipy.sparse.identity(H.shape[0])).tocsr()
    M = multigrid.AMGPreconditioner(H, 3, shift, max_coarse=60)
    b = np.random.default_rng(2).standard_normal(H.shape[0])
    counts = {}
    for name, prec in [("plain", None), ("amg", scipy.sparse.linalg.LinearOperator(A.shape, matvec=M))]:
        n = [0]
        x, info = scipy.sparse.linalg.cg(A, b, M=prec, rtol=1e-8, maxiter=5000,
                                         callback=lambda xk: n.__setitem__(0, n[0] + 1))
        assert info == 0 and np.linalg.norm(A @ x - b) < 1e-7 * np.linalg.norm(b)
        counts[name] = n[0]
    assert counts["amg"] * 4 < counts["plain"], counts


def test_bad_input():
    with pytest.raises(ValueError, match="multiple of dim"):
        multigrid.AMGPreconditioner(scipy.sparse.identity(10, format="csr"), 3, 0.0)
    with pytest.raises(multigrid.NotPositiveDefinite):
        multigrid.AMGPreconditioner(-scipy.sparse.identity(12, format="csr"), 3, 0.0)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_csr_matmat_equals_scipy(dtype):
    rng = np.random.default_rng(4)
    A = scipy.sparse.random(300, 200, density=0.05, random_state=rng, format="csr").astype(dtype)
    X = rng.standard_normal((200, 7)).astype(dtype)
    got = multigrid.csr_matmat(A, X)
    assert got.dtype == dtype and got.shape == (300, 7)
    np.testing.assert_allclose(got, A @ X, rtol=1e-5 if dtype == np.float32 else 1e-13, atol=1e-5)


def test_locality_permutation_keeps_particles_and_spectrum(glass3):
    H = glass3
    perm = multigrid.locality_permutation(H, 3)
    assert np.array_equal(np.sort(perm), np.arange(H.shape[0]))
    np.testing.assert_array_equal(perm.reshape(-1, 3) % 3, np.tile(np.arange(3), (H.shape[0] // 3, 1)))
    Hp = H[perm][:, perm]
    np.testing.assert_allclose(np.linalg.eigvalsh(Hp.toarray()), np.linalg.eigvalsh(H.toarray()),
                               atol=1e-10 * abs(H).max())
    # narrower than the (random) original numbering
    bw = lambda A: np.max(np.abs(A.tocoo().row - A.tocoo().col))
    assert bw(Hp) < bw(H)


def test_longer_wider_smoother_is_a_better_inverse(glass3):
    """The LOBPCG smoother (degree 12 on [rho / 1000, 1.1 rho], glassvib.modes) makes the V-cycle
    a closer inverse than the default (degree 3 on [rho / 30, 1.1 rho]): the preconditioned
    operator M A has a smaller condition number (dense, on a small glass), still symmetric
    positive definite."""
    from glassvib import modes

    H = glass3
    shift = 1e-5 * np.abs(H.diagonal()).max()
    A = (H + shift * scipy.sparse.identity(H.shape[0])).toarray()
    cond = {}
    for name, kw in [("default", {}), ("lobpcg", {"degree": modes.LOBPCG_SMOOTHER_DEGREE,
                                                  "ratio": modes.LOBPCG_SMOOTHER_RATIO})]:
        M = multigrid.AMGPreconditioner(H, 3, shift, max_coarse=60, **kw)
        Mm = M(np.eye(H.shape[0]))
        Mm = 0.5 * (Mm + Mm.T)  # symmetric up to float32 round-off
        L = np.linalg.cholesky(Mm)  # positive definite
        ev = np.linalg.eigvalsh(L.T @ A @ L)  # the spectrum of M A
        assert ev[0] > 0
        cond[name] = ev[-1] / ev[0]
    assert cond["lobpcg"] < 0.5 * cond["default"], cond
