"""Per-sample analysis of an inherent structure (SPEC §3 steps 5-6) and the ensemble reductions
that give one row of SPEC §7 exponents.parquet and the rows of level_ratios.parquet.

``analyze_inherent_structure`` is the single entry point the workflow calls per sample; it returns
a :class:`SampleAnalysis` of arrays and numbers (no I/O). ``ensemble_exponents`` and
``ensemble_level_ratios`` pool a list of them. The GHET predictions are attached as separate
columns and never enter an estimator.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .configuration import Configuration
from .elasticity import omega0 as omega0_of, shear_moduli
from .modes import all_eigenvalues, count_modes, highest_modes, modes_below, zero_tolerance
from .observables import level_ratio_windows, pair_distribution, participation_ratio
from .potentials import PairPotential
from .stresses import STRESS_LOG10_EDGES, StressHistogram, stress_histograms
from .system import hessian_from_terms, pair_terms, pressure

__all__ = ["SampleAnalysis", "analyze_inherent_structure", "ensemble_exponents",
           "ensemble_level_ratios", "OMEGA_C_FRACTION", "COMPLETENESS_MARGIN", "SIGMA_C"]

#: default fit edge omega_c = OMEGA_C_FRACTION * omega_0 (below the lowest transverse phonon).
OMEGA_C_FRACTION = 0.75
#: modes are computed up to COMPLETENESS_MARGIN * omega_c so that ensemble edges and window scans
#: slightly above a sample's own omega_c are still complete.
COMPLETENESS_MARGIN = 1.3
#: default upper edge of the small-stress window (0, SIGMA_C] for alpha.
SIGMA_C = 1e-8
#: bin width of the pair-distance histogram behind g2(r)
G2_BIN_WIDTH = 0.01


@dataclass(frozen=True)
class SampleAnalysis:
    """Everything SPEC §7 needs from one inherent structure.

    Attributes:
        N, d, box: system. e_is: energy per particle. pressure: virial pressure.
        eigenvalues: (k,) lowest eigenvalues lambda = omega^2 of H(delta), ascending, zero modes
            included (rank = index). omegas: (k,) sqrt(lambda), 0 for zero modes, nan for negative.
        participation: (k,) participation ratios. is_zero: (k,) bool zero-mode flags.
        n_zero_modes, n_extra_zero, n_negative: mode counts (SPEC §3.5).
        complete: every mode below ``lambda_upper`` was found. lambda_upper: that edge.
        shear_modulus: athermal G (true Hessian, delta = 0). omega0: 2 pi sqrt(G/rho)/L.
        omega_c: fit edge used for completeness (OMEGA_C_FRACTION * omega0 unless given).
        stress: :class:`StressHistogram` on fixed log10 bins.
        g2_edges, g2_counts: pair-distance histogram (bin width G2_BIN_WIDTH up to min(r_c + 0.5, L/2));
            g2(r) = counts / (N/2 rho shell volume), counts additive over samples of equal N and L.
        level_windows: dict window -> r~ values of this sample (only with full_spectrum).
        spectrum: (dN,) all eigenvalues (only with full_spectrum), else None.
        delta: the Hessian parameter used for the modes.
    """

    N: int
    d: int
    box: float
    e_is: float
    pressure: float
    eigenvalues: np.ndarray
    omegas: np.ndarray
    participation: np.ndarray
    is_zero: np.ndarray
    n_zero_modes: int
    n_extra_zero: int
    n_negative: int
    complete: bool
    lambda_upper: float
    shear_modulus: float
    omega0: float
    omega_c: float
    stress: StressHistogram
    delta: float = 0.0
    g2_edges: np.ndarray | None = None
    g2_counts: np.ndarray | None = None
    level_windows: dict = field(default_factory=dict)
    spectrum: np.ndarray | None = None

    @property
    def vibrational_omegas(self) -> np.ndarray:
        """Frequencies of the non-zero, non-negative modes (input to :func:`fit_exponent`)."""
        keep = (~self.is_zero) & (self.eigenvalues > 0)
        return self.omegas[keep]


def _omegas(lam, is_zero):
    with np.errstate(invalid="ignore"):
        w = np.sqrt(lam)
    w = np.where(is_zero, 0.0, w)
    return np.where(lam < 0, np.where(is_zero, 0.0, np.nan), w)


def analyze_inherent_structure(conf: Configuration, pot: PairPotential, k=50, omega_c=None, delta=0.0,
                               full_spectrum=False, stress_bins=None, omega_c_fraction=OMEGA_C_FRACTION,
                               completeness_margin=COMPLETENESS_MARGIN, level_window=50,
                               zero_rtol=1e-9, method="auto", eigenvalues="lowest") -> SampleAnalysis:
    """Modes, counts, shear modulus, omega_0, pressure and stress histograms of one inherent structure.

    Args:
        conf: the inherent structure (quenched configuration).
        pot: the potential.
        k: initial number of lowest eigenpairs; grown until complete (SPEC §3.5).
        omega_c: fit edge; None means ``omega_c_fraction * omega0`` of this sample.
        delta: Hessian parameter of SPEC §3.4 used for the modes (G always uses delta = 0).
        full_spectrum: also compute all eigenvalues (dense) and the level-ratio windows.
        stress_bins: log10 bin edges (default :data:`glassvib.stresses.STRESS_LOG10_EDGES`).
        omega_c_fraction: see ``omega_c``.
        completeness_margin: modes are found up to ``completeness_margin * omega_c``.
        level_window: levels per level-ratio window.
        zero_rtol: relative zero-mode tolerance (see :func:`glassvib.modes.zero_tolerance`).
        method: eigen-solver route for :func:`glassvib.modes.lowest_modes`.
        eigenvalues: "lowest" (the k lowest pairs, grown until complete) or "all": also every
            eigenvalue without eigenvectors (:func:`glassvib.modes.all_eigenvalues`); then
            ``eigenvalues``/``omegas``/``participation`` cover the whole spectrum, with
            participation NaN except for the lowest modes and the highest ``level_window`` ones.

    Returns:
        :class:`SampleAnalysis`.
    """
    if not 0.0 <= float(delta) <= 1.0:
        raise ValueError(f"delta = {delta}, expected 0 <= delta <= 1")
    if eigenvalues not in ("lowest", "all"):
        raise ValueError(f"eigenvalues = {eigenvalues!r}, expected 'lowest' or 'all'")
    # one neighbour search and one evaluation of phi, phi', phi'' feed everything below
    terms = pair_terms(conf, pot)
    H0 = hessian_from_terms(terms, conf.N)
    H = H0 if float(delta) == 0.0 else hessian_from_terms(terms, conf.N, delta=float(delta))
    sm = shear_moduli(conf, pot, H=H0, terms=terms)
    w0 = omega0_of(sm.G, conf.density, conf.box)
    if omega_c is None:
        omega_c = omega_c_fraction * w0 if np.isfinite(w0) else math.nan
    upper = (completeness_margin * omega_c) ** 2 if np.isfinite(omega_c) else 0.0
    res = modes_below(H, upper, k=k, method=method, dim=conf.d)
    tol = zero_tolerance(H, zero_rtol)
    lam = res.eigenvalues
    part = participation_ratio(res.eigenvectors, conf.d)
    level = {}
    spectrum = None
    if full_spectrum or eigenvalues == "all":
        spectrum = all_eigenvalues(H)
    if eigenvalues == "all":
        # every eigenvalue (two-stage dense LAPACK, no vectors); participation where vectors exist:
        # the lowest modes (shift-invert, complete to `upper`) and the highest level_window modes
        k_low = lam.size
        mismatch = float(np.max(np.abs(spectrum[:k_low] - lam))) if k_low else 0.0
        if mismatch > 1e-8 * max(float(np.max(np.abs(spectrum))), 1e-300):
            raise RuntimeError(f"lowest modes and the dense spectrum disagree by {mismatch:.3g} "
                               "(a missed or spurious eigenvalue)")
        w_top = min(int(level_window), spectrum.size - k_low)
        p_all = np.full(spectrum.size, np.nan)
        p_all[:k_low] = part
        if w_top > 0:
            _, top_vecs = highest_modes(H, w_top)
            p_all[spectrum.size - w_top:] = participation_ratio(top_vecs, conf.d)
        lam, part = spectrum, p_all
    counts = count_modes(lam, conf.d, tol)
    is_zero = np.abs(lam) <= tol
    if full_spectrum:
        n_zero = int(np.sum(np.abs(spectrum) <= tol))
        level = {name: w.ratios for name, w in
                 level_ratio_windows([spectrum], width=level_window, n_zero=n_zero).items()}
    r_max = min(pot.r_max + 0.5, conf.box / 2)
    g2_edges, g2_counts, _ = pair_distribution(conf.positions, conf.box, r_max,
                                               n_bins=max(1, int(round(r_max / G2_BIN_WIDTH))))
    return SampleAnalysis(
        N=conf.N, d=conf.d, box=conf.box, e_is=float(np.sum(terms.phi)) / conf.N,
        pressure=pressure(conf, pot, terms=terms),
        eigenvalues=lam, omegas=_omegas(lam, is_zero), participation=part,
        is_zero=is_zero, n_zero_modes=counts.n_zero_modes, n_extra_zero=counts.n_extra_zero,
        n_negative=counts.n_negative, complete=res.complete, lambda_upper=upper,
        shear_modulus=sm.G, omega0=w0, omega_c=float(omega_c),
        stress=stress_histograms(conf, pot, STRESS_LOG10_EDGES if stress_bins is None else stress_bins,
                                 terms=terms),
        delta=float(delta), g2_edges=g2_edges, g2_counts=g2_counts, level_windows=level, spectrum=spectrum)


def ensemble_exponents(samples, taper=None, omega_c=None, omega_c_fraction=OMEGA_C_FRACTION, sigma_c=SIGMA_C,
                       component="sigma", seed=0, n_boot=2000, pot=None):
    """One row of SPEC §7 exponents.parquet from the analyses of an ensemble's samples (each sample
    its own bootstrap unit), through the estimators and row builder of :mod:`glassvib.ensemble`.

    Samples with negative eigenvalues or incomplete modes are left out of the s fit and counted in
    ``n_excluded`` (a protocol rule, independent of the measured values). The default omega_c is
    ``omega_c_fraction`` times the ensemble's w_0 (:func:`glassvib.ensemble.ensemble_omega0`). alpha
    is the binned maximum-likelihood fit of P(sigma) ~ sigma^alpha on (0, sigma_c] (counts below the
    lowest bin included).

    Args:
        samples: list of :class:`SampleAnalysis`.
        taper: taper order m of the tapered IPL, for the prediction columns only (or give ``pot``).
        omega_c: fit edge (None: see above).
        sigma_c: upper edge of the stress window.
        component: stress component name for alpha ("sigma" or an off-diagonal one such as "xy").
        seed, n_boot: bootstrap stream and size.
        pot: the samples' pair potential (its predictions s_ghet, alpha_ghet); default TaperedIPL(taper).

    Returns:
        dict with n_samples, n_excluded, n_modes_fit, omega_c, s_hat, s_lo, s_hi, s_ghet, alpha_hat,
        alpha_lo, alpha_hi, alpha_ghet, sigma_c, n_stress_fit, complete_at_omega_c.
    """
    from .ensemble import ensemble_omega0, exponent_row, fit_alpha, fit_s
    from .potentials import TaperedIPL

    samples = list(samples)
    if not samples:
        raise ValueError("samples is empty")
    if pot is None:
        if taper is None:
            raise ValueError("give the taper order m or the potential pot (for the prediction columns)")
        pot = TaperedIPL(taper=taper)
    good = [s for s in samples if s.complete and s.n_negative == 0]
    if omega_c is None:
        s0 = samples[0]
        omega_c = omega_c_fraction * ensemble_omega0([s.shear_modulus for s in good], s0.N / s0.box ** s0.d,
                                                     s0.box) if good else math.nan
    s_fit = None
    complete = False
    if good and np.isfinite(omega_c):
        complete = all(s.eigenvalues[-1] > omega_c ** 2 or s.eigenvalues.size == s.N * s.d for s in good)
        s_fit = fit_s([s.vibrational_omegas for s in good], omega_c, seed=seed, n_boot=n_boot)
    counts = np.stack([s.stress.counts[component] for s in samples])
    below = np.array([s.stress.below[component] for s in samples])
    a_fit = fit_alpha(counts, samples[0].stress.log10_edges, sigma_c, below, seed=seed, n_boot=min(n_boot, 500))
    row = exponent_row({}, pot, len(samples), omega_c, s_fit, a_fit)
    row.update(n_excluded=len(samples) - len(good), complete_at_omega_c=bool(complete), sigma_c=a_fit.omega_c,
               n_stress_fit=a_fit.n_modes)
    return row


def ensemble_level_ratios(samples):
    """Rows of SPEC §7 level_ratios.parquet (window, n, r_mean, ks_goe, ks_poisson) pooled over
    samples analysed with ``full_spectrum=True`` (the pooling rule of
    :func:`glassvib.observables.pooled_ratio_window`)."""
    from .ensemble import level_ratio_rows
    from .observables import LEVEL_WINDOWS, pooled_ratio_window

    windows = {name: pooled_ratio_window(name, [s.level_windows[name] for s in samples if name in s.level_windows])
               for name in LEVEL_WINDOWS}
    return level_ratio_rows(windows)
