"""Ensemble estimators and the exponents-table row (SPEC §4, §7): the one place for the ensemble's
w_0, the bootstrap fits of s and alpha, the level-ratio rows, and the row builder that attaches the
predictions of the model's potential. Used by :func:`glassvib.tables.aggregate` (the workflow) and
:func:`glassvib.analysis.ensemble_exponents` (in-memory analyses); no I/O.

Bootstrap units are whatever the caller passes as one array per unit (MC chains in the workflow,
single samples in memory): modes of one unit are correlated, units are independent.
"""
from __future__ import annotations

import math

import numpy as np

from .elasticity import omega0
from .exponents import ExponentFit, fit_exponent, fit_stress_exponent_hist

__all__ = ["ensemble_omega0", "fit_s", "fit_alpha", "exponent_row", "level_ratio_rows", "PREDICTION_COLUMNS"]

#: columns of the exponents table that carry predictions (never inputs of an estimator)
PREDICTION_COLUMNS = ("s_ghet", "alpha_ghet")


def ensemble_omega0(shear_moduli, density: float, box: float) -> float:
    """w_0 = 2 pi sqrt(<G> / rho) / L of an ensemble from the mean athermal shear modulus of its
    samples (single small samples may have G < 0, where their own w_0 is undefined); nan if
    <G> <= 0 or no finite G."""
    g = np.asarray(shear_moduli, dtype=np.float64)
    g = g[np.isfinite(g)]
    return omega0(float(g.mean()), density, box) if g.size else math.nan


def fit_s(unit_omegas, omega_c: float, seed: int, n_boot: int) -> ExponentFit:
    """Bias-corrected ML exponent s of g(w) ~ w^s below ``omega_c``, bootstrap over units (one array
    of non-zero frequencies per unit)."""
    return fit_exponent(list(unit_omegas), omega_c, seed=seed, n_boot=n_boot)


def fit_alpha(counts, log10_edges, sigma_c: float, below, seed: int, n_boot: int) -> ExponentFit:
    """Exact binned ML exponent alpha of P(sigma) ~ sigma^alpha below ``sigma_c`` from per-unit
    counts (units x bins) on fixed log10 bins, with the counts below the lowest edge."""
    return fit_stress_exponent_hist(np.asarray(counts, dtype=float), log10_edges, sigma_c, below=below,
                                    seed=seed, n_boot=n_boot)


def exponent_row(point: dict, pot, n_samples: int, omega_c: float, s: ExponentFit | None = None,
                 alpha: ExponentFit | None = None) -> dict:
    """One row of exponents.parquet: the point's keys, the estimates (nan where not fitted) and the
    predictions of its potential (``pot.s_ghet``, ``pot.alpha_ghet``: GHET's s = 5 + 2 alpha with
    alpha from the potential's cutoff order and minimum), attached after the fits."""
    row = {**point, "n_samples": int(n_samples), "omega_c": float(omega_c)}
    if s is not None:
        row.update(n_modes_fit=int(s.n_modes), s_hat=s.s_hat, s_lo=s.s_lo, s_hi=s.s_hi)
    else:
        row.update(n_modes_fit=0, s_hat=math.nan, s_lo=math.nan, s_hi=math.nan)
    if alpha is not None:
        row.update(alpha_hat=alpha.s_hat, alpha_lo=alpha.s_lo, alpha_hi=alpha.s_hi)
    else:
        row.update(alpha_hat=math.nan, alpha_lo=math.nan, alpha_hi=math.nan)
    row.update(s_ghet=float(pot.s_ghet), alpha_ghet=float(pot.alpha_ghet))
    return row


def level_ratio_rows(windows: dict, only=None) -> list:
    """Rows (window, n, r_mean, ks_goe, ks_poisson) of level_ratios.parquet from the pooled
    :class:`glassvib.observables.LevelRatioWindow` of each window (``only``: the windows to keep)."""
    return [{"window": name, "n": int(w.n), "r_mean": w.r_mean, "ks_goe": w.ks_goe, "ks_poisson": w.ks_poisson}
            for name, w in windows.items() if only is None or name in only]
