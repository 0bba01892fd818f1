"""Shared test helpers: small, moderately compressed configurations in d = 2, 3, 4."""
import functools
import itertools

import numpy as np
import pytest
import scipy.optimize

from glassvib.configuration import Configuration, random_configuration, sample_diameters
from glassvib.potential import TaperedIPL
from glassvib.system import energy_forces_arrays

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


@functools.lru_cache(maxsize=None)
def quenched_glass(d, N, seed, taper=2, gtol=1e-9):
    """Energy minimum from random positions by scipy L-BFGS (max force ~ gtol; enough for spectra).

    Independent of glassvib.minimize, so tests of modes and elasticity do not depend on it.
    """
    pot = TaperedIPL(taper=taper)
    conf = random_configuration(d, N, seed)
    dia, box = conf.diameters, conf.box

    def fun(x):
        e, f = energy_forces_arrays(np.mod(x.reshape(N, d), box), dia, box, pot)
        return e, -f.reshape(-1)

    res = scipy.optimize.minimize(fun, conf.positions.reshape(-1), jac=True, method="L-BFGS-B",
                                  options={"maxiter": 50000, "gtol": gtol, "ftol": 0.0, "maxcor": 20})
    return Configuration(res.x.reshape(N, d), dia, box)
