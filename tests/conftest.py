"""Shared test helpers: small, moderately compressed configurations in d = 2, 3, 4."""
import itertools

import numpy as np
import pytest

from glassvib.configuration import Configuration, sample_diameters

# smallest N per d with L = N^(1/d) >= 2 r_c = 3.91 on a simple grid
SMALL_N = {2: 16, 3: 64, 4: 256}


def jittered_configuration(d, n_side, seed, jitter=0.15, density=1.0):
    """Grid of n_side^d particles, randomly displaced by up to ``jitter`` spacings, polydisperse.

    Unlike uniform random positions (huge overlaps, E ~ 1e12) this gives pair distances ~ 1, so
    finite differences and eigenvalues are well conditioned.
    """
    rng = np.random.default_rng(seed)
    n = n_side ** d
    box = (n / density) ** (1.0 / d)
    grid = np.array(list(itertools.product(range(n_side), repeat=d)), dtype=float)
    pos = (grid + 0.5 + jitter * (2 * rng.random((n, d)) - 1)) * box / n_side
    return Configuration(pos, sample_diameters(n, rng), box)


def small_configuration(d, seed, jitter=0.15):
    return jittered_configuration(d, round(SMALL_N[d] ** (1 / d)), seed, jitter)


@pytest.fixture(params=[2, 3, 4], ids=lambda d: f"d{d}")
def dim(request):
    return request.param
