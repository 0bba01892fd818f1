"""Pair stresses and their histograms on fixed logarithmic bins (SPEC §4; paper Eq. 86-90, Fig. 3).

For every pair with r < r_c: psi = r phi'(r), sigma = |psi|, and the traceless tensor
(e^a e^b - delta_ab / d) psi whose off-diagonal components are e^a e^b psi. Small stresses come
from pairs near r_c where phi' ~ (r_c - r)^m (m = inf: ~ exp(-1/(2(1 - x)))), so sigma may
underflow double precision: :func:`log_pair_stress` evaluates ln sigma analytically (SPEC §2
formulas) without ever forming sigma. Histograms use one fixed set of log10 bin edges for all
samples, so counts are additive across samples.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from .configuration import Configuration
from .potentials import PairPotential
from .system import pair_terms

__all__ = [
    "log_abs_dphi", "log_pair_stress", "stress_bin_edges", "STRESS_LOG10_EDGES",
    "stress_components", "component_names", "StressHistogram", "stress_histograms",
    "log_stress_components",
]


def stress_bin_edges(log10_min=-40.0, log10_max=4.0, per_decade=10):
    """Fixed log10 bin edges for stress histograms (ascending, (n_bins + 1,))."""
    n = int(round((log10_max - log10_min) * per_decade))
    if n < 1:
        raise ValueError(f"log10_max = {log10_max} must exceed log10_min = {log10_min}")
    return np.linspace(log10_min, log10_max, n + 1)


#: default edges: 1e-40 ... 1e4, ten bins per decade (440 bins); values below go to ``below``.
STRESS_LOG10_EDGES = stress_bin_edges()


def log_abs_dphi(r, coef, pot: PairPotential):
    """ln |phi'(r)| of pairs with pair coefficients ``coef`` (for the tapered IPL: the mean diameter
    a_ij), finite even where phi' underflows (the model's :meth:`log_abs_dphi`; SPEC §2). -inf
    beyond a pair's cutoff and where phi' vanishes."""
    return pot.log_abs_dphi(np.asarray(r, dtype=np.float64), coef)


def log_pair_stress(r, coef, pot: PairPotential):
    """ln sigma = ln |r phi'(r)| for pairs within the cutoff, exact where sigma underflows (SPEC §4)."""
    r = np.asarray(r, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.log(r) + log_abs_dphi(r, coef, pot)


def component_names(d):
    """Names of the histogrammed components: 'sigma' = |r phi'| then the off-diagonal 'xy', 'xz', ..."""
    axes = "xyzw"[:d]
    return ["sigma"] + [axes[a] + axes[b] for a, b in itertools.combinations(range(d), 2)]


def log_stress_components(unit, log_sigma):
    """ln of |each histogrammed component|: ln sigma and ln |e^a e^b| + ln sigma for a < b.

    Args:
        unit: (P, d) unit vectors of the pairs.
        log_sigma: (P,) ln sigma.

    Returns:
        dict name -> (P,) ln |component| (-inf where a component vanishes exactly).
    """
    unit = np.asarray(unit, dtype=np.float64)
    d = unit.shape[1]
    names = component_names(d)
    out = {names[0]: np.asarray(log_sigma, dtype=np.float64)}
    with np.errstate(divide="ignore"):
        for name, (a, b) in zip(names[1:], itertools.combinations(range(d), 2)):
            out[name] = np.log(np.abs(unit[:, a] * unit[:, b])) + log_sigma
    return out


def stress_components(conf: Configuration, pot: PairPotential, terms=None):
    """Per-pair ln|component| of one configuration: dict name -> (P,) (see :func:`log_stress_components`).
    Pairs within the neighbour range but beyond their own cutoff (pair-dependent cutoffs) interact
    not at all and are left out.

    ``terms``: optional precomputed :func:`glassvib.system.pair_terms` of ``conf``."""
    t = pair_terms(conf, pot) if terms is None else terms
    coef = t.coef
    if coef is None:
        coef = pot.pair_coefficients(conf.diameters[t.i], conf.diameters[t.j], conf.species[t.i], conf.species[t.j])
    log_sigma = log_pair_stress(t.r, coef, pot)
    keep = (t.phi != 0.0) | (t.dphi != 0.0) | np.isfinite(log_sigma)
    return log_stress_components(t.unit[keep], log_sigma[keep])


@dataclass(frozen=True)
class StressHistogram:
    """Counts of |stress component| on fixed log10 bins for one configuration (additive).

    Attributes:
        log10_edges: (n_bins + 1,) bin edges.
        counts: dict component -> (n_bins,) int64 counts.
        below: dict component -> count below the lowest edge (including exact zeros).
        above: dict component -> count at or above the highest edge.
        n_pairs: number of interacting pairs.
    """

    log10_edges: np.ndarray
    counts: dict
    below: dict
    above: dict
    n_pairs: int

    def __add__(self, other: "StressHistogram") -> "StressHistogram":
        if not np.array_equal(self.log10_edges, other.log10_edges) or set(self.counts) != set(other.counts):
            raise ValueError("histograms with different bins or components cannot be added")
        return StressHistogram(self.log10_edges, {k: self.counts[k] + other.counts[k] for k in self.counts},
                               {k: self.below[k] + other.below[k] for k in self.below},
                               {k: self.above[k] + other.above[k] for k in self.above},
                               self.n_pairs + other.n_pairs)


def histogram_log_values(log_values, log10_edges):
    """(counts (n_bins,), below, above) of values given as natural logs on log10 bin edges."""
    lv = np.asarray(log_values, dtype=np.float64) / math.log(10.0)
    edges = np.asarray(log10_edges, dtype=np.float64)
    if np.isnan(lv).any():
        raise ValueError("log stress values contain NaN")
    below = int(np.sum(lv < edges[0]))
    above = int(np.sum(lv >= edges[-1]))
    inside = lv[(lv >= edges[0]) & (lv < edges[-1])]
    idx = np.searchsorted(edges, inside, side="right") - 1
    counts = np.bincount(idx, minlength=edges.size - 1).astype(np.int64)
    return counts, below, above


def stress_histograms(conf: Configuration, pot: PairPotential, log10_edges=None, terms=None) -> StressHistogram:
    """Histograms of sigma = |r phi'| and of |off-diagonal traceless stress| (SPEC §4, paper Fig. 3).

    Args:
        conf: an inherent structure.
        pot: the potential.
        log10_edges: fixed log10 bin edges (default :data:`STRESS_LOG10_EDGES`); use the same edges
            for every sample so that counts add.
        terms: optional precomputed :func:`glassvib.system.pair_terms` of ``conf``.
    """
    edges = STRESS_LOG10_EDGES if log10_edges is None else np.asarray(log10_edges, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise ValueError(f"log10_edges has shape {edges.shape}; expected an ascending 1-D array of >= 2 edges")
    comps = stress_components(conf, pot, terms=terms)
    counts, below, above = {}, {}, {}
    for name, lv in comps.items():
        counts[name], below[name], above[name] = histogram_log_values(lv, edges)
    n_pairs = len(next(iter(comps.values())))
    return StressHistogram(edges.copy(), counts, below, above, n_pairs)
