"""glassvib: vibrational spectra of small model glasses (see SPEC §6 for the public API)."""
from importlib.metadata import PackageNotFoundError, version as _version

from .configuration import Configuration, random_configuration, sample_diameters
from .potentials import BinaryIPL, LennardJones, PairPotential, PolySwap, TaperedIPL, make_potential
from .system import (energy, energy_and_forces, forces, hessian, pair_stresses, pair_terms,
                     pressure)
from .xyz import read_configuration, write_configuration
from .minimize import quench
from .swap_mc import swap_monte_carlo
from .parent_liquid import draw_parent_samples
from .modes import lowest_modes
from .observables import level_ratios, participation_ratio
from .elasticity import shear_modulus
from .exponents import fit_exponent

try:
    __version__ = _version("glassvib")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = [
    "Configuration", "random_configuration", "sample_diameters", "TaperedIPL", "BinaryIPL", "PolySwap",
    "LennardJones", "PairPotential", "make_potential",
    "energy", "energy_and_forces", "forces", "hessian", "pair_stresses", "pair_terms", "pressure",
    "read_configuration", "write_configuration", "quench", "swap_monte_carlo", "draw_parent_samples", "lowest_modes",
    "level_ratios", "participation_ratio", "shear_modulus", "fit_exponent", "__version__",
]
