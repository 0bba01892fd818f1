"""Participation ratio, level-spacing ratios (GOE / Poisson statistics), g2(r), vorticity (SPEC §4)."""
import math

import numpy as np
import pytest
import scipy.integrate

from glassvib.observables import (R_TILDE_POISSON, goe_ratio_cdf, goe_tilde_cdf, level_ratio_windows,
                                  level_ratios, mode_vorticity, nonzero_eigenvalues, pair_distribution,
                                  participation_ratio, poisson_ratio_cdf, poisson_tilde_cdf, tilde_ratios)


# ---------------------------------------------------------------- participation ratio
def test_participation_ratio_limits():
    N, d = 50, 3
    ext = np.ones((N * d, 1)) / math.sqrt(N * d)  # every particle moves equally: e = 1
    loc = np.zeros((N * d, 1))
    loc[7, 0] = 1.0  # one particle (component 1 of particle 2): e = 1/N
    two = np.zeros((N * d, 1))
    two[[0, 5], 0] = 1 / math.sqrt(2)  # two particles equally: e = 2/N
    e = participation_ratio(np.hstack([ext, loc, two]), d)
    np.testing.assert_allclose(e, [1.0, 1.0 / N, 2.0 / N], rtol=1e-14)


def test_participation_ratio_independent_of_normalisation_and_matches_loop():
    rng = np.random.default_rng(0)
    N, d, k = 20, 2, 4
    v = rng.standard_normal((N * d, k))
    ref = []
    for q in range(k):
        w = np.array([np.sum(v[i * d:(i + 1) * d, q] ** 2) for i in range(N)])
        ref.append(w.sum() ** 2 / (N * np.sum(w ** 2)))
    np.testing.assert_allclose(participation_ratio(v, d), ref, rtol=1e-13)
    np.testing.assert_allclose(participation_ratio(3.7 * v, d), ref, rtol=1e-13)
    np.testing.assert_allclose(participation_ratio(v[:, 0], d), ref[:1], rtol=1e-13)
    with pytest.raises(ValueError, match="multiple of d"):
        participation_ratio(v[:-1], d)


# ---------------------------------------------------------------- level ratios
def test_level_ratios_definition_and_order():
    lam = np.array([0.0, 1.0, 3.0, 4.0, 8.0])
    np.testing.assert_allclose(level_ratios(lam), [1 / 2, 2 / 1, 1 / 4])
    # the given order is used (no sorting): reversing the levels inverts the ratios
    np.testing.assert_allclose(level_ratios(lam[::-1]), [4.0, 0.5, 2.0])
    np.testing.assert_allclose(tilde_ratios([0.5, 2.0, 0.25]), [0.5, 0.5, 0.25])
    assert level_ratios(np.array([1.0, 2.0])).size == 0


def test_surmise_cdfs_are_the_integrals_of_the_densities():
    p_goe = lambda r: 27 / 8 * (r + r * r) / (1 + r + r * r) ** 2.5
    p_poi = lambda r: 1 / (1 + r) ** 2
    for x in [0.1, 0.5, 1.0, 3.0, 20.0]:
        assert goe_ratio_cdf(x) == pytest.approx(scipy.integrate.quad(p_goe, 0, x)[0], abs=1e-12)
        assert poisson_ratio_cdf(x) == pytest.approx(scipy.integrate.quad(p_poi, 0, x)[0], abs=1e-12)
    assert goe_tilde_cdf(1.0) == pytest.approx(1.0) and poisson_tilde_cdf(1.0) == pytest.approx(1.0)
    # <r~> of the surmise is 4 - 2 sqrt(3); of Poisson 2 ln 2 - 1
    mean_goe = scipy.integrate.quad(lambda x: 1 - goe_tilde_cdf(x), 0, 1)[0]
    assert mean_goe == pytest.approx(4 - 2 * math.sqrt(3), abs=1e-10)
    assert scipy.integrate.quad(lambda x: 1 - poisson_tilde_cdf(x), 0, 1)[0] == pytest.approx(R_TILDE_POISSON)


def goe_spectra(n_matrices, size, seed):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_matrices):
        a = rng.standard_normal((size, size))
        out.append(np.linalg.eigvalsh(a + a.T))
    return out


def test_goe_level_ratios():
    """Sampled GOE matrices: <r~> = 0.5307 (Atas et al., large N) within 0.005, and the KS distance
    to the GOE surmise is much smaller than to Poisson."""
    spectra = goe_spectra(150, 200, seed=1)
    w = level_ratio_windows(spectra, width=100)["middle"]  # the bulk, 98 ratios per matrix
    assert w.n == 150 * 98
    assert abs(w.r_mean - 0.5307) < 0.005
    assert w.ks_goe < 0.02 < 0.1 < w.ks_poisson


def test_poisson_level_ratios():
    rng = np.random.default_rng(2)
    spectra = [np.sort(rng.random(400)) for _ in range(100)]
    w = level_ratio_windows(spectra, width=400)["middle"]
    assert abs(w.r_mean - 0.386) < 0.005
    assert w.ks_poisson < 0.02 < 0.1 < w.ks_goe


def test_windows_remove_zero_modes():
    lam = np.concatenate([[1e-14, -1e-14, 2e-14], np.arange(1.0, 201.0) ** 1.5])
    w = level_ratio_windows([lam], width=50, n_zero=3)
    assert set(w) == {"lowest", "middle", "highest"}
    assert all(v.n == 48 for v in w.values())
    np.testing.assert_array_equal(nonzero_eigenvalues(lam, 3), np.arange(1.0, 201.0) ** 1.5)
    # with the zero modes kept, the lowest window is different
    assert level_ratio_windows([lam], width=50)["lowest"].r_mean != w["lowest"].r_mean


# ---------------------------------------------------------------- g2
@pytest.mark.parametrize("d", [2, 3])
def test_pair_distribution_ideal_gas_is_one(d):
    rng = np.random.default_rng(d)
    N, box = 4000, 20.0 if d == 2 else 12.0
    counts = 0
    for _ in range(5):
        edges, c, _ = pair_distribution(rng.random((N, d)) * box, box, r_max=4.0, n_bins=20)
        counts = counts + c
    rho = N / box ** d
    shell = np.diff(math.pi ** (d / 2) / math.gamma(d / 2 + 1) * edges ** d)
    g = counts / (5 * 0.5 * N * rho * shell)
    sel = edges[1:] > 1.0  # enough pairs per bin for a 3% check
    np.testing.assert_allclose(g[sel], 1.0, atol=0.03)


def test_pair_distribution_counts_all_pairs_brute_force():
    rng = np.random.default_rng(5)
    N, box, d = 60, 5.0, 3
    pos = rng.random((N, d)) * box
    edges, c, _ = pair_distribution(pos, box, r_max=2.5, n_bins=10)
    dr = pos[None] - pos[:, None]
    dr -= box * np.round(dr / box)
    r = np.linalg.norm(dr, axis=-1)[np.triu_indices(N, 1)]
    np.testing.assert_array_equal(c, np.histogram(r[r < 2.5], bins=edges)[0])
    with pytest.raises(ValueError, match="r_max"):
        pair_distribution(pos, box, r_max=3.0)


# ---------------------------------------------------------------- vorticity
def test_vorticity_of_rotation_2d():
    """u = (-y, x) exp(-r^2 / 2v) about the box centre has curl (2 - r^2/v) exp(-r^2 / 2v); after
    Gaussian smoothing (std s) its value at the centre is exactly 2 I0 - I2 / v with
    I0 = 1/(2 s^2 a), I2 = I0 / a, a = 1/(2 s^2) + 1/(2 v). An irrotational field has no curl."""
    box, v, s = 40.0, 25.0, 1.5
    g = np.arange(0.0, box, 0.25) + 0.125  # dense regular sampling: no shot noise
    pos = np.stack(np.meshgrid(g, g, indexing="ij"), axis=-1).reshape(-1, 2)
    rho = pos.shape[0] / box ** 2
    c = pos - box / 2
    env = np.exp(-np.sum(c ** 2, axis=1) / (2 * v))[:, None]
    rot = np.stack([-c[:, 1], c[:, 0]], axis=1) * env
    grid, curl = mode_vorticity(pos, box, rot, n_grid=40, width=s)
    assert grid[20] == pytest.approx(box / 2)
    a = 1 / (2 * s * s) + 1 / (2 * v)
    i0 = 1 / (2 * s * s * a)
    expected = 2 * i0 - i0 / a / v
    # 2%: the cloud-in-cell deposit adds a little smoothing on top of the Gaussian
    assert curl[20, 20] / rho == pytest.approx(expected, rel=0.02)
    _, curl2 = mode_vorticity(pos, box, c * env, n_grid=40, width=s)  # gradient field: irrotational
    assert np.abs(curl2).max() < 1e-3 * np.abs(curl).max()


def test_vorticity_3d_shape_and_axis():
    rng = np.random.default_rng(4)
    N, box = 30000, 20.0
    pos = rng.random((N, 3)) * box
    c = pos - box / 2
    env = np.exp(-np.sum(c ** 2, axis=1) / 20.0)[:, None]
    u = np.stack([-c[:, 1], c[:, 0], np.zeros(N)], axis=1) * env  # rotation about z
    _, curl = mode_vorticity(pos, box, u, n_grid=20, width=1.5)
    assert curl.shape == (3, 20, 20, 20)
    centre = curl[:, 9:11, 9:11, 9:11].mean(axis=(1, 2, 3))
    assert centre[2] > 0 and abs(centre[0]) < 0.1 * centre[2] and abs(centre[1]) < 0.1 * centre[2]
    with pytest.raises(ValueError, match="2D/3D"):
        mode_vorticity(rng.random((10, 4)), 5.0, np.zeros(40))
