"""Configurations: validation, wrapping, the P(a) ~ a^-3 diameter distribution, seeding."""
import numpy as np
import pytest
import scipy.stats

import glassvib as gv
from glassvib.configuration import A_MAX, A_MIN, sample_diameters


def test_diameters_follow_inverse_cube_law():
    a = sample_diameters(200_000, np.random.default_rng(0))
    assert a.min() >= A_MIN and a.max() <= A_MAX
    lo, hi = A_MIN ** -2, A_MAX ** -2
    cdf = lambda x: (lo - np.clip(x, A_MIN, A_MAX) ** -2) / (lo - hi)  # noqa: E731
    assert scipy.stats.kstest(a, cdf).pvalue > 1e-3
    # mean of P(a) ~ a^-3 on [0.73, 1.62] is 2 (1/a_min - 1/a_max) / (a_min^-2 - a_max^-2)
    mean = 2 * (1 / A_MIN - 1 / A_MAX) / (lo - hi)
    assert a.mean() == pytest.approx(mean, abs=5 * a.std() / np.sqrt(a.size))


@pytest.mark.parametrize("d", [2, 3, 4])
def test_random_configuration_density_and_seed(d):
    c1 = gv.random_configuration(d, 300, seed=5)
    c2 = gv.random_configuration(d, 300, seed=5)
    c3 = gv.random_configuration(d, 300, seed=6)
    assert c1.N == 300 and c1.d == d and c1.density == pytest.approx(1.0)
    np.testing.assert_array_equal(c1.positions, c2.positions)
    assert not np.array_equal(c1.positions, c3.positions)
    assert np.all((c1.positions >= 0) & (c1.positions < c1.box))


def test_positions_are_wrapped_and_immutable():
    c = gv.Configuration([[-0.5, 3.5], [1.0, 2.0]], [1.0, 1.0], 3.0)
    np.testing.assert_allclose(c.positions, [[2.5, 0.5], [1.0, 2.0]])
    with pytest.raises(ValueError):
        c.positions[0, 0] = 1.0


@pytest.mark.parametrize("kwargs,match", [
    (dict(positions=np.zeros((4, 5)), diameters=np.ones(4), box=3.0), "d = 5"),
    (dict(positions=np.zeros((4, 3)), diameters=np.ones(3), box=3.0), r"diameters has shape \(3,\)"),
    (dict(positions=np.zeros((4, 3)), diameters=np.ones(4), box=-1.0), "box"),
    (dict(positions=np.full((4, 3), np.nan), diameters=np.ones(4), box=3.0), "NaN"),
    (dict(positions=np.zeros((4, 3)), diameters=-np.ones(4), box=3.0), "diameters"),
])
def test_invalid_configurations_name_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gv.Configuration(**kwargs)


def test_random_configuration_rejects_bad_arguments():
    with pytest.raises(ValueError, match="d = 5"):
        gv.random_configuration(5, 100, 0)
    with pytest.raises(ValueError, match="N"):
        gv.random_configuration(3, 1, 0)
