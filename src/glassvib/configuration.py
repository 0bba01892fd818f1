"""Particle configurations in a periodic hypercubic box (SPEC §2).

A configuration is positions (N, d) float64 wrapped into [0, L), the per-particle parameters
diameters (N,) and species (N,) int64 (all 0 unless a model has several species), and the box side
L; it is an immutable value. :func:`random_configuration` makes the ideal-gas initial state of the
protocol (SPEC §3 step 1) with the per-particle parameters a model draws (default: the tapered
IPL's polydisperse diameters P(a) ~ a^-3 on [0.73, 1.62] at number density 1).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Configuration", "random_configuration", "sample_diameters", "A_MIN", "A_MAX",
           "SUPPORTED_DIMENSIONS"]

from .potentials.base import power_law_diameters
from .potentials.tapered_ipl import A_MAX, A_MIN

SUPPORTED_DIMENSIONS = (2, 3, 4)


@dataclass(frozen=True, eq=False)
class Configuration:
    """Positions, diameters and box of N particles in a periodic hypercube of side ``box``.

    Args:
        positions: (N, d) float64, any real values; stored wrapped into [0, box).
        diameters: (N,) float64, positive.
        box: side length L > 0.
        species: (N,) integers >= 0 (default: all 0).
    """

    positions: np.ndarray
    diameters: np.ndarray
    box: float
    species: np.ndarray | None = None

    def __post_init__(self):
        pos = np.array(self.positions, dtype=np.float64, copy=True)
        if pos.ndim != 2 or pos.shape[0] < 1:
            raise ValueError(f"positions has shape {pos.shape}, expected (N, d) with N >= 1")
        n, d = pos.shape
        if d not in SUPPORTED_DIMENSIONS:
            raise ValueError(f"positions has shape {pos.shape}: d = {d}, expected d in {SUPPORTED_DIMENSIONS}")
        dia = np.array(self.diameters, dtype=np.float64, copy=True)
        if dia.shape != (n,):
            raise ValueError(f"diameters has shape {dia.shape}, expected ({n},) for N = {n}")
        if not np.all(np.isfinite(pos)):
            raise ValueError("positions contain NaN or infinity")
        if not np.all(np.isfinite(dia)) or not np.all(dia > 0):
            raise ValueError("diameters must be finite and > 0")
        spc = np.zeros(n, np.int64) if self.species is None else np.array(self.species, copy=True)
        if spc.shape != (n,):
            raise ValueError(f"species has shape {spc.shape}, expected ({n},) for N = {n}")
        if spc.size and not (np.issubdtype(spc.dtype, np.integer) or np.all(spc == np.round(spc))):
            raise ValueError("species must be integers")
        spc = spc.astype(np.int64)
        if spc.size and spc.min() < 0:
            raise ValueError("species must be integers >= 0")
        box = float(self.box)
        if not (np.isfinite(box) and box > 0):
            raise ValueError(f"box must be a positive finite number, got {self.box!r}")
        pos = np.mod(pos, box)
        pos[pos >= box] = 0.0  # np.mod can round up to box for tiny negative inputs
        pos.setflags(write=False)
        dia.setflags(write=False)
        spc.setflags(write=False)
        object.__setattr__(self, "positions", pos)
        object.__setattr__(self, "diameters", dia)
        object.__setattr__(self, "species", spc)
        object.__setattr__(self, "box", box)

    @property
    def N(self) -> int:
        """Number of particles."""
        return self.positions.shape[0]

    @property
    def d(self) -> int:
        """Spatial dimension."""
        return self.positions.shape[1]

    @property
    def volume(self) -> float:
        """Box volume L^d."""
        return self.box ** self.d

    @property
    def density(self) -> float:
        """Number density N / L^d."""
        return self.N / self.volume

    def replace(self, positions=None, diameters=None, box=None, species=None) -> "Configuration":
        """A new configuration with some fields replaced."""
        return Configuration(self.positions if positions is None else positions,
                             self.diameters if diameters is None else diameters,
                             self.box if box is None else box,
                             self.species if species is None else species)

    def __repr__(self):
        return f"Configuration(N={self.N}, d={self.d}, box={self.box:.6g})"


def sample_diameters(N: int, rng: np.random.Generator, a_min: float = A_MIN, a_max: float = A_MAX) -> np.ndarray:
    """N diameters drawn from P(a) ~ a^-3 on [a_min, a_max] by inverting the cumulative distribution.

    CDF(a) = (a_min^-2 - a^-2) / (a_min^-2 - a_max^-2), hence a = (a_min^-2 - u (a_min^-2 - a_max^-2))^-1/2.
    """
    return power_law_diameters(N, rng, a_min, a_max)


def random_configuration(d: int, N: int, seed, density: float | None = None, model=None) -> Configuration:
    """Uniformly random positions (the ideal gas) and the per-particle parameters of ``model``.

    Args:
        d: dimension, 2, 3 or 4.
        N: number of particles (>= 2).
        seed: anything ``numpy.random.SeedSequence`` accepts (int, sequence of ints, or a SeedSequence).
        density: number density rho = N / L^d; None means the model's default density.
        model: the pair potential whose per-particle parameters (diameters, species) are drawn
            (:meth:`glassvib.potentials.PairPotential.draw_particles`, from the same stream before
            the positions); default the tapered IPL (P(a) ~ a^-3 diameters, density 1).
    """
    from .potentials import TaperedIPL, check_potential

    model = TaperedIPL() if model is None else check_potential(model, "model")
    if isinstance(d, bool) or d not in SUPPORTED_DIMENSIONS:
        raise ValueError(f"d = {d!r}, expected one of {SUPPORTED_DIMENSIONS}")
    if isinstance(N, bool) or not isinstance(N, (int, np.integer)) or N < 2:
        raise ValueError(f"N = {N!r}, expected an integer >= 2")
    if density is None:
        density = model.default_density(d)
    if not (density > 0 and np.isfinite(density)):
        raise ValueError(f"density = {density!r}, expected a positive finite number")
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    rng = np.random.Generator(np.random.PCG64(ss))
    box = (N / density) ** (1.0 / d)
    diameters, species = model.draw_particles(N, rng)
    positions = rng.random((N, d)) * box
    return Configuration(positions, diameters, box, species)
