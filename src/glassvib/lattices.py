"""Perfect crystals in a periodic hypercube, for reference calculations (lattice dynamics, Born terms).

Each builder returns a :class:`~glassvib.configuration.Configuration` of a Bravais lattice at number
density ``density`` with all diameters equal to ``diameter``, and the lattice is commensurate with the
cubic box. Square/simple-cubic/hypercubic lattices of a purely repulsive potential are mechanically
unstable (negative Hessian eigenvalues); FCC (3D) and D4 (4D, the "checkerboard" lattice) are stable.
A triangular lattice does not fit a square periodic box, so there is no stable 2D Bravais builder here.
"""
from __future__ import annotations

import itertools

import numpy as np

from .configuration import Configuration

__all__ = ["hypercubic_lattice", "fcc_lattice", "d4_lattice", "lattice"]

# basis of the conventional cubic cell, in units of the cell side
_BASES = {
    "hypercubic": None,
    "fcc": np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]]),
    "d4": np.array([v for v in itertools.product((0, 0.5), repeat=4) if (2 * sum(v)) % 2 == 0]),
}


def _build(basis: np.ndarray, n_cells: int, density: float, diameter: float) -> Configuration:
    if n_cells < 1:
        raise ValueError(f"n_cells = {n_cells}, expected >= 1")
    d = basis.shape[1]
    cells = np.array(list(itertools.product(range(n_cells), repeat=d)), dtype=np.float64)
    sites = (cells[:, None, :] + basis[None, :, :]).reshape(-1, d)
    n = sites.shape[0]
    box = (n / density) ** (1.0 / d)
    pos = sites * (box / n_cells)
    return Configuration(pos, np.full(n, float(diameter)), box)


def hypercubic_lattice(d: int, n_cells: int, density: float = 1.0, diameter: float = 1.0) -> Configuration:
    """Square (2D), simple cubic (3D) or hypercubic (4D) lattice with n_cells^d sites."""
    return _build(np.zeros((1, d)), n_cells, density, diameter)


def fcc_lattice(n_cells: int, density: float = 1.0, diameter: float = 1.0) -> Configuration:
    """Face-centred cubic lattice, 4 n_cells^3 sites."""
    return _build(_BASES["fcc"], n_cells, density, diameter)


def d4_lattice(n_cells: int, density: float = 1.0, diameter: float = 1.0) -> Configuration:
    """D4 lattice (4D points with even coordinate sum), 8 n_cells^4 sites."""
    return _build(_BASES["d4"], n_cells, density, diameter)


def lattice(name: str, d: int, n_cells: int, density: float = 1.0, diameter: float = 1.0) -> Configuration:
    """Build a lattice by name: 'hypercubic' (any d), 'fcc' (d = 3) or 'd4' (d = 4)."""
    if name == "hypercubic":
        return hypercubic_lattice(d, n_cells, density, diameter)
    if name not in _BASES:
        raise ValueError(f"lattice name {name!r}, expected one of {sorted(_BASES)}")
    basis = _BASES[name]
    if basis.shape[1] != d:
        raise ValueError(f"lattice {name!r} exists for d = {basis.shape[1]}, got d = {d}")
    return _build(basis, n_cells, density, diameter)
