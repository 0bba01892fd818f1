"""KHGPS mean-field model (issue 13): gradient and Hessian against finite differences, the J = 0 case
against the analytic single-oscillator minimum, reproducible couplings, minimisation to 1e-10 with a
positive definite Hessian, the modes against dense eigh, and bad parameters rejected by key."""
from __future__ import annotations

import math

import numpy as np
import pytest

from glassvib import khgps as K


@pytest.fixture
def model():
    return K.KHGPS(h=0.05, J=0.3, kappa_0=1.0)


def test_couplings_reproducible_and_shaped(model):
    k1, J1 = K.draw_instance(model, 200, seed=11)
    k2, J2 = K.draw_instance(model, 200, seed=11)
    k3, J3 = K.draw_instance(model, 200, seed=12)
    np.testing.assert_array_equal(k1, k2)
    np.testing.assert_array_equal(J1, J2)
    assert not np.array_equal(J1, J3) and not np.array_equal(k1, k3)
    np.testing.assert_array_equal(J1, J1.T)
    assert np.all(np.diag(J1) == 0.0)
    assert k1.min() >= 0.0 and k1.max() <= model.kappa_0
    # off-diagonal variance J^2 / N (200*199/2 independent entries: 5 sigma band)
    off = J1[np.triu_indices(200, 1)]
    var = model.J ** 2 / 200
    assert abs(off.var() / var - 1.0) < 5 * math.sqrt(2.0 / off.size)
    assert abs(off.mean()) < 5 * math.sqrt(var / off.size)


def test_gradient_and_hessian_against_finite_differences(model):
    kappa, J = K.draw_instance(model, 30, seed=3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=30)
    g = K.gradient(x, kappa, J, model)
    M = K.hessian(x, kappa, J, model)
    h = 1e-5
    for i in range(30):
        e = np.zeros(30)
        e[i] = h
        fd = (K.energy(x + e, kappa, J, model) - K.energy(x - e, kappa, J, model)) / (2 * h)
        assert fd == pytest.approx(g[i], rel=1e-7, abs=1e-8)
        fd2 = (K.gradient(x + e, kappa, J, model) - K.gradient(x - e, kappa, J, model)) / (2 * h)
        np.testing.assert_allclose(fd2, M[:, i], rtol=1e-7, atol=1e-8)
    # the energy written out pair by pair (i < j), independently of the matrix form
    pairs = sum(J[i, j] * x[i] * x[j] for i in range(30) for j in range(i + 1, 30))
    direct = np.sum(0.5 * kappa * x ** 2 + x ** 4 / 24 - model.h * x) + pairs
    assert K.energy(x, kappa, J, model) == pytest.approx(direct, rel=1e-12)


@pytest.mark.parametrize("h,kappa_0", [(0.01, 1.0), (0.3, 0.5), (-0.2, 2.0)])
def test_uncoupled_minimum_is_the_cubic_root(h, kappa_0):
    m = K.KHGPS(h=h, J=0.0, kappa_0=kappa_0)
    kappa, J = K.draw_instance(m, 50, seed=5)
    res = K.minimize(kappa, J, m)
    assert res.success and res.max_grad <= 1e-10
    expect = np.array([K.single_oscillator_minimum(k, h) for k in kappa])
    np.testing.assert_allclose(res.x, expect, rtol=1e-9, atol=1e-12)
    # the root solves A/6 x^3 + kappa x - h = 0 and is the global minimum of the single oscillator
    for k, xs in zip(kappa[:5], expect[:5]):
        assert xs ** 3 / 6 + k * xs - h == pytest.approx(0.0, abs=1e-12)
        grid = np.linspace(xs - 3, xs + 3, 2001)
        assert np.all(0.5 * k * grid ** 2 + grid ** 4 / 24 - h * grid >= 0.5 * k * xs ** 2 + xs ** 4 / 24 - h * xs - 1e-15)


def test_minimum_is_a_minimum(model):
    kappa, J = K.draw_instance(model, 300, seed=7)
    res = K.minimize(kappa, J, model)
    assert res.success, res.message
    assert res.max_grad <= 1e-10
    lam = np.linalg.eigvalsh(K.hessian(res.x, kappa, J, model))
    assert lam[0] > 0
    # a small random displacement raises the energy (second-order)
    rng = np.random.default_rng(1)
    for _ in range(5):
        dx = 1e-4 * rng.normal(size=300)
        assert K.energy(res.x + dx, kappa, J, model) > res.energy


def test_sample_modes_match_dense_eigh(model):
    s = K.sample(model, 300, seed=9, k=40)
    kappa, J = K.draw_instance(model, 300, seed=9)
    lam = np.linalg.eigvalsh(K.hessian(s.x, kappa, J, model))
    np.testing.assert_allclose(s.eigenvalues, lam[:40], rtol=1e-8, atol=1e-10 * lam[-1])
    assert s.n_negative == 0
    assert np.all((s.participation > 0) & (s.participation <= 1))
    s_all = K.sample(model, 300, seed=9, k="all")
    np.testing.assert_allclose(s_all.eigenvalues, lam, rtol=1e-8, atol=1e-10 * lam[-1])
    assert np.all(np.isnan(s_all.participation))
    assert s.msd == pytest.approx(np.mean(s.x ** 2)) and s_all.energy == pytest.approx(s.energy)


@pytest.mark.parametrize("kw,key", [(dict(h=0.0, J=0.1, kappa_0=0.0), "kappa_0"),
                                    (dict(h=0.0, J=0.1, kappa_0=-1.0), "kappa_0"),
                                    (dict(h=0.0, J=-0.1, kappa_0=1.0), "J"),
                                    (dict(h=float("nan"), J=0.1, kappa_0=1.0), "h"),
                                    (dict(h=0.0, J="big", kappa_0=1.0), "J")])
def test_bad_parameters_name_the_key(kw, key):
    with pytest.raises(ValueError, match=f"key {key} = "):
        K.KHGPS(**kw)


@pytest.mark.parametrize("N", [1, 0, 2.5, True])
def test_bad_N_names_the_key(N):
    with pytest.raises(ValueError, match="key N = "):
        K.draw_instance(K.KHGPS(h=0.0, J=0.1, kappa_0=1.0), N, seed=1)
