"""TaperedIPL: analytic derivatives vs finite differences, behaviour at r_c, paper formulas."""
import math

import numpy as np
import pytest

from glassvib.potential import TaperedIPL, taper_value

TAPERS = [1, 2, 3, math.inf]
RC = 1.955


def paper_phi(r, a, m, n=12.0, rc=RC):
    """Paper Eq. 14, 16, 17 written out independently of the package."""
    x = r / rc
    if m == math.inf:
        t = np.exp(x / (2.0 * (x - 1.0)))
    else:
        t = (1.0 - x * x) ** m
    return np.where(r < rc, (a / rc) ** n * (x ** (-n) - 1.0) * t, 0.0)


@pytest.mark.parametrize("m", TAPERS)
def test_phi_equals_paper_formula(m):
    pot = TaperedIPL(n=12, r_cut=RC, taper=m)
    r = np.linspace(0.6, 2.2, 501)
    x = r / RC
    # x^-n - 1 cancels near r_c: a rounding difference eps in x^-n becomes eps / (n (1 - x)) relative
    rtol = 1e-14 * (1 + 1 / np.abs(x ** -12.0 - 1 + 1e-300))
    for a in (0.73, 1.0, 1.62):
        got, ref = pot.phi(r, a), paper_phi(r, a, m)
        assert np.all(np.abs(got - ref) <= rtol * np.abs(ref) + 1e-300)


@pytest.mark.parametrize("m", TAPERS)
def test_taper_equals_paper(m):
    x = np.linspace(0.0, 0.999, 300)
    expected = np.exp(x / (2 * (x - 1))) if m == math.inf else (1 - x * x) ** m
    got = np.array([taper_value(v, -1 if m == math.inf else m) for v in x])
    np.testing.assert_allclose(got, expected, rtol=1e-14, atol=0)


@pytest.mark.parametrize("m", TAPERS)
@pytest.mark.parametrize("a", [0.8, 1.0, 1.5])
def test_derivatives_match_finite_differences(m, a):
    pot = TaperedIPL(taper=m)
    r = np.linspace(0.7, RC - 0.05, 40)
    h = 1e-5
    fd1 = (pot.phi(r + h, a) - pot.phi(r - h, a)) / (2 * h)
    fd2 = (pot.dphi(r + h, a) - pot.dphi(r - h, a)) / (2 * h)
    # central differences: error ~ h^2 phi''' ~ 1e-10 relative to the local scale
    scale1 = np.abs(pot.dphi(r, a)) + 1e-3 * np.abs(pot.dphi(r[0], a))
    scale2 = np.abs(pot.d2phi(r, a)) + 1e-3 * np.abs(pot.d2phi(r[0], a))
    assert np.all(np.abs(fd1 - pot.dphi(r, a)) < 1e-7 * scale1)
    assert np.all(np.abs(fd2 - pot.d2phi(r, a)) < 1e-7 * scale2)


@pytest.mark.parametrize("m", [1, 2, 3, 4])
def test_integer_taper_vanishes_as_power_m_plus_1(m):
    """phi ~ (r_c - r)^(m+1): the k-th derivative scales as h^(m+1-k), so it vanishes for k <= m."""
    pot = TaperedIPL(taper=m)
    h = np.array([1e-3, 5e-4])
    for k, f in enumerate((pot.phi, pot.dphi, pot.d2phi)):
        v = np.abs(f(RC - h, 1.0))
        slope = np.log(v[0] / v[1]) / np.log(2.0)
        assert abs(slope - (m + 1 - k)) < 1e-2, (k, slope)
        if k <= m:
            assert np.abs(f(RC - 1e-9, 1.0)) < 1e-6 * np.abs(f(1.0, 1.0))
    assert pot.phi(RC, 1.0) == 0.0 and pot.dphi(RC, 1.0) == 0.0 and pot.d2phi(RC + 1e-3, 1.0) == 0.0


def test_infinite_taper_vanishes_faster_than_any_power():
    pot = TaperedIPL(taper=math.inf)
    for f in (pot.phi, pot.dphi, pot.d2phi):
        for h in (1e-2, 3e-3):
            assert abs(f(RC - h, 1.0)) < h ** 8
    # deep in the tail the exponential underflows: values are exactly 0, never NaN
    r = RC - np.logspace(-300, -3, 50)
    for f in (pot.phi, pot.dphi, pot.d2phi):
        v = f(r, 1.0)
        assert np.all(np.isfinite(v))


@pytest.mark.parametrize("bad", [0, -1, 2.5, "two", None, True, -math.inf, math.nan])
def test_bad_taper_is_rejected_with_message(bad):
    with pytest.raises(ValueError, match="taper"):
        TaperedIPL(taper=bad)


def test_bad_n_and_cutoff():
    with pytest.raises(ValueError, match="n must"):
        TaperedIPL(n=-12)
    with pytest.raises(ValueError, match="r_cut"):
        TaperedIPL(r_cut=0.0)


def test_potential_is_frozen_and_hashable():
    p = TaperedIPL(taper=2.0)
    assert p.taper == 2 and isinstance(p.taper, int) and p.m_code == 2
    assert TaperedIPL(taper=float("inf")).m_code == -1
    with pytest.raises(Exception):
        p.taper = 3
    assert hash(p) == hash(TaperedIPL(taper=2))
    assert not TaperedIPL(taper=1).hessian_continuous


@pytest.mark.parametrize("m", TAPERS)
@pytest.mark.parametrize("n", [12, 9.5])
def test_r2_kernel_equals_radial_kernel(m, n):
    """pair_phi_fr_r2 (single-division fast path for even n) equals phi and phi'/r of pair_derivs."""
    from glassvib.potential import pair_derivs, pair_phi_fr_r2
    pot = TaperedIPL(n=n, taper=m)
    for r in np.linspace(0.7, RC + 0.1, 300):
        for a in (0.73, 1.2, 1.62):
            phi, fr = pair_phi_fr_r2(r * r, a, *pot.params)
            p0, d0, _ = pair_derivs(r, a, *pot.params)
            x = r / RC
            # both routes cancel (x^-n - 1) near r_c: tolerance eps / (n (1 - x)) relative
            tol = 1e-14 * (1 + 1 / max(abs(x ** -n - 1), 1e-300))
            assert abs(phi - p0) <= tol * abs(p0) + 1e-300
            assert abs(fr - d0 / r) <= 1e3 * tol * abs(d0 / r) + 1e-300
