"""The tapered inverse-power-law potential (kept importable as ``glassvib.potential``); the model
lives in :mod:`glassvib.potentials.tapered_ipl`, the contract in :mod:`glassvib.potentials.base`."""
from .potentials.tapered_ipl import (A_MAX, A_MIN, M_INF, TaperedIPL, _power, pair_derivs, pair_phi,
                                     pair_phi_dphi, pair_phi_fr_r2, taper_derivs, taper_value)

__all__ = ["TaperedIPL", "pair_phi", "pair_phi_dphi", "pair_phi_fr_r2", "pair_derivs", "taper_value", "taper_derivs",
           "M_INF", "A_MIN", "A_MAX", "_power"]
