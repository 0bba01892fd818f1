"""Blind power-law exponent estimators with bootstrap error bars (SPEC §4) and, separately, the
GHET predictions of SPEC §5 (which the estimators never use).

Density-of-states exponent s: for modes below an upper edge w_c, F(w) ~ w^(s+1), and the
bias-corrected maximum-likelihood estimate from K pooled modes is

    s_hat = (K - 1) / sum_i ln(w_c / w_i) - 1

(the plain K/sum form is biased upward by (s+1)/(K-1)). The 95% interval is a percentile
bootstrap over samples (modes of one sample are correlated; samples are independent). The same
estimator gives the small-stress exponent alpha of P(sigma) ~ sigma^alpha (CDF ~ sigma^(alpha+1)),
from raw ln(sigma) values or, exactly, from counts on fixed logarithmic bins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.optimize

__all__ = [
    "ExponentFit", "fit_exponent", "exponent_window_scan", "fit_log_power_law",
    "fit_stress_exponent", "fit_stress_exponent_hist", "stress_window_scan", "s_ghet",
    "alpha_ghet", "F_exponent_ghet", "S_HET_MARGINAL", "S_LERNER_BOUCHBINDER",
]

#: HET prediction at marginal stability (high parent temperature), SPEC §5.
S_HET_MARGINAL = 2.0
#: Lerner-Bouchbinder / Kapteijns universal value, SPEC §5.
S_LERNER_BOUCHBINDER = 4.0


# ---------------------------------------------------------------- predictions (SPEC §5, never fitted)
def s_ghet(m):
    """GHET density-of-states exponent s = 3 + 2/m for taper order m (m = inf -> 3; m = 1, i.e. a
    potential with a minimum -> 5). Paper Table 1, Eq. 11-12. A prediction only."""
    m = float(m)
    if not m >= 1:
        raise ValueError(f"taper order m = {m}, expected m >= 1 or inf")
    return 3.0 + 2.0 / m


def alpha_ghet(m):
    """GHET small-stress exponent alpha = 1/m - 1 of P(sigma) ~ sigma^alpha (paper Eq. 11, 103)."""
    m = float(m)
    if not m >= 1:
        raise ValueError(f"taper order m = {m}, expected m >= 1 or inf")
    return 1.0 / m - 1.0


def F_exponent_ghet(m):
    """Exponent of the cumulative density of states F(w) ~ w^(4 + 2/m) predicted by GHET."""
    return s_ghet(m) + 1.0


# ---------------------------------------------------------------- estimator core
@dataclass(frozen=True)
class ExponentFit:
    """Result of a power-law exponent fit (SPEC §4).

    Attributes:
        s_hat: bias-corrected maximum-likelihood exponent (nan if fewer than 2 values in the window).
        s_lo, s_hi: bounds of the bootstrap interval (percentiles over samples).
        n_modes: number of pooled values inside the window (K).
        n_samples: number of samples.
        omega_c: upper edge of the window (same units as the data; for stresses sigma_c).
        confidence: coverage of the interval (0.95).
        n_boot: bootstrap replicates.
        seed: seed of the bootstrap stream.
    """

    s_hat: float
    s_lo: float
    s_hi: float
    n_modes: int
    n_samples: int
    omega_c: float
    confidence: float
    n_boot: int
    seed: int

    @property
    def stderr(self) -> float:
        """Half-width of the interval divided by 1.96 (a rough standard error)."""
        return (self.s_hi - self.s_lo) / (2.0 * 1.959963984540054)


def _bootstrap_rng(seed):
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))


def _mle_from_sums(k, s):
    """(K - 1)/S - 1 on arrays; nan where K < 2 or S <= 0."""
    k = np.asarray(k, dtype=np.float64)
    s = np.asarray(s, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (k - 1.0) / s - 1.0
    return np.where((k >= 2) & (s > 0), out, np.nan)


def _bootstrap_interval(k_per, s_per, estimator, n_boot, confidence, seed):
    """BCa bootstrap interval over samples (Efron 1987) of an estimator of per-sample sums.

    Samples are resampled with replacement; the percentile levels are corrected for the median
    bias (z0, from the bootstrap distribution) and for the skewness (acceleration a, from the
    leave-one-sample-out jackknife). At K ~ 50 modes the plain percentile interval undercovers
    (about 92% for a nominal 95%); BCa restores the nominal coverage.
    """
    n = len(k_per)
    if n < 2 or n_boot < 1:
        return math.nan, math.nan
    theta = float(estimator(k_per.sum(), s_per.sum()))
    if not np.isfinite(theta):
        return math.nan, math.nan
    rng = _bootstrap_rng(seed)
    est = np.empty(n_boot)
    chunk = max(1, int(2_000_000 // max(n, 1)))
    for b0 in range(0, n_boot, chunk):
        b1 = min(n_boot, b0 + chunk)
        idx = rng.integers(0, n, size=(b1 - b0, n))
        est[b0:b1] = estimator(k_per[idx].sum(axis=1), s_per[idx].sum(axis=1))
    est = est[np.isfinite(est)]
    if est.size < 0.5 * n_boot:
        return math.nan, math.nan
    jack = estimator(k_per.sum() - k_per, s_per.sum() - s_per)
    return _bca(est, theta, jack[np.isfinite(jack)], confidence)


def _bca(boot, theta, jack, confidence):
    """BCa percentile interval from bootstrap replicates and jackknife values."""
    from scipy.special import ndtr, ndtri

    frac = (np.sum(boot < theta) + 0.5 * np.sum(boot == theta)) / boot.size
    frac = min(max(frac, 1.0 / (boot.size + 1)), boot.size / (boot.size + 1.0))
    z0 = float(ndtri(frac))
    a = 0.0
    if jack.size >= 3:
        dj = jack.mean() - jack
        den = 6.0 * np.sum(dj ** 2) ** 1.5
        a = float(np.sum(dj ** 3) / den) if den > 0 else 0.0
    out = []
    for q in (0.5 * (1.0 - confidence), 0.5 * (1.0 + confidence)):
        zq = ndtri(q)
        adj = float(ndtr(z0 + (z0 + zq) / (1.0 - a * (z0 + zq))))
        out.append(float(np.quantile(boot, min(max(adj, 0.0), 1.0))))
    return out[0], out[1]


def _check_samples(values, name):
    if isinstance(values, np.ndarray) and values.ndim == 1:
        values = [values]
    out = []
    for i, v in enumerate(values):
        a = np.asarray(v, dtype=np.float64).reshape(-1)
        if np.isnan(a).any():
            raise ValueError(f"{name}[{i}] contains NaN")
        out.append(a)
    if not out:
        raise ValueError(f"{name} is empty, expected one array per sample")
    return out


def _truncated_mle(delta):
    """Estimator (K, S) -> a_hat for p(x) ~ x^a on [x_lo, x_c] with ln(x_c/x_lo) = delta.

    With y = ln(x_c / x) the MLE of b = a + 1 solves S/K = 1/b - delta/(exp(b delta) - 1), whose
    right side decreases from delta (b -> -inf) through delta/2 (b = 0) to 0 (b -> +inf).
    No small-K bias correction is applied in this doubly truncated case.
    """
    def mean_y(b):
        if abs(b * delta) < 1e-8:
            return 0.5 * delta - b * delta * delta / 12.0
        return 1.0 / b - delta / math.expm1(b * delta)

    def est(k, s):
        k = np.atleast_1d(np.asarray(k, dtype=np.float64))
        s = np.atleast_1d(np.asarray(s, dtype=np.float64))
        out = np.full(k.shape, np.nan)
        for i in range(k.size):
            if k[i] < 2:
                continue
            target = s[i] / k[i]
            if not 0.0 < target < delta:
                continue
            hi = 1.0
            while mean_y(hi) > target:
                hi *= 2.0
            lo = -1.0
            while mean_y(lo) < target:
                lo *= 2.0
            out[i] = scipy.optimize.brentq(lambda b: mean_y(b) - target, lo, hi, xtol=1e-12) - 1.0
        return out if out.size > 1 else out[0]

    return est


def fit_log_power_law(log_values, log_upper, seed=0, n_boot=2000, confidence=0.95, log_lower=None):
    """Bias-corrected MLE of a power law p(x) ~ x^a on (0, x_c], from ln x values, per sample.

    Works with logarithms throughout so that values far below the double-precision range
    (ln sigma for an m = inf taper) are handled exactly. With ``log_lower`` the window is
    [x_lo, x_c] (doubly truncated power law, a local slope; MLE without bias correction).

    Args:
        log_values: list (one entry per sample) of 1-D arrays of ln x; -inf is allowed (x = 0 is
            in the window and drives the estimate to -1).
        log_upper: ln x_c, the upper edge of the window.
        seed: bootstrap seed (SeedSequence entropy).
        n_boot: bootstrap replicates.
        confidence: interval coverage.
        log_lower: optional ln x_lo < ln x_c.

    Returns:
        :class:`ExponentFit` with s_hat = a_hat, omega_c = exp(log_upper).
    """
    samples = _check_samples(log_values, "log_values")
    log_upper = float(log_upper)
    estimator = _mle_from_sums
    lower = -np.inf
    if log_lower is not None:
        lower = float(log_lower)
        if not lower < log_upper:
            raise ValueError(f"log_lower = {lower} must be below log_upper = {log_upper}")
        estimator = _truncated_mle(log_upper - lower)
    k_per = np.empty(len(samples))
    s_per = np.empty(len(samples))
    for i, lv in enumerate(samples):
        inside = lv[(lv < log_upper) & (lv >= lower)]
        k_per[i] = inside.size
        s_per[i] = np.sum(log_upper - inside)
    s_hat = float(estimator(k_per.sum(), s_per.sum()))
    lo, hi = _bootstrap_interval(k_per, s_per, estimator, int(n_boot), confidence, seed)
    return ExponentFit(s_hat, lo, hi, int(k_per.sum()), len(samples), math.exp(log_upper),
                       float(confidence), int(n_boot), int(seed) if np.ndim(seed) == 0 else 0)


def fit_exponent(omegas, omega_c, seed=0, n_boot=2000, confidence=0.95):
    """Density-of-states exponent s of g(w) ~ w^s from pooled modes below omega_c (SPEC §4, §6).

    s_hat = (K - 1) / sum_i ln(omega_c / omega_i) - 1 over the K pooled modes with
    omega_i < omega_c, with a 95% percentile-bootstrap interval over samples.

    Args:
        omegas: list with one array of mode frequencies (omega = sqrt(lambda) > 0) per sample;
            zero modes must be removed by the caller (values <= 0 raise ValueError).
        omega_c: upper edge of the fit window (> 0), e.g. a fixed fraction of omega_0.
        seed: bootstrap seed.
        n_boot: bootstrap replicates.
        confidence: interval coverage.

    Returns:
        :class:`ExponentFit` (.s_hat, .s_lo, .s_hi, .n_modes, ...).
    """
    samples = _check_samples(omegas, "omegas")
    if not (np.isfinite(omega_c) and omega_c > 0):
        raise ValueError(f"omega_c = {omega_c!r}, expected a positive finite frequency")
    logs = []
    for i, w in enumerate(samples):
        bad = int(np.sum(~(w > 0)))
        if bad:
            raise ValueError(f"omegas[{i}] contains {bad} values <= 0 or non-finite; remove zero "
                             "modes and unstable (negative-eigenvalue) modes first")
        logs.append(np.log(w))
    return fit_log_power_law(logs, math.log(omega_c), seed=seed, n_boot=n_boot, confidence=confidence)


def exponent_window_scan(omegas, omega_cs, seed=0, n_boot=1000, confidence=0.95):
    """s_hat(omega_c) for a sequence of upper edges (SPEC §4 window scan).

    Returns:
        dict of arrays, each of len(omega_cs): omega_c, s_hat, s_lo, s_hi, n_modes.
    """
    fits = [fit_exponent(omegas, wc, seed=seed, n_boot=n_boot, confidence=confidence)
            for wc in np.asarray(omega_cs, dtype=np.float64).reshape(-1)]
    return _scan_table(fits)


def _scan_table(fits):
    return {
        "omega_c": np.array([f.omega_c for f in fits]),
        "s_hat": np.array([f.s_hat for f in fits]),
        "s_lo": np.array([f.s_lo for f in fits]),
        "s_hi": np.array([f.s_hi for f in fits]),
        "n_modes": np.array([f.n_modes for f in fits], dtype=np.int64),
    }


# ---------------------------------------------------------------- stresses
def fit_stress_exponent(log_sigmas, sigma_c, seed=0, n_boot=2000, confidence=0.95, sigma_lo=None):
    """Small-stress exponent alpha of P(sigma) ~ sigma^alpha on (0, sigma_c] from raw ln sigma.

    Args:
        log_sigmas: list (one per sample) of ln sigma arrays (see :func:`glassvib.stresses.log_pair_stress`).
        sigma_c: upper edge of the window (> 0).
        sigma_lo: optional lower edge (a local slope on [sigma_lo, sigma_c]).

    Returns:
        :class:`ExponentFit` whose s_hat is alpha_hat.
    """
    if not (sigma_c > 0):
        raise ValueError(f"sigma_c = {sigma_c!r}, expected > 0")
    if sigma_lo is not None and not (0 < sigma_lo < sigma_c):
        raise ValueError(f"sigma_lo = {sigma_lo!r}, expected 0 < sigma_lo < sigma_c = {sigma_c}")
    return fit_log_power_law(log_sigmas, math.log(sigma_c), seed=seed, n_boot=n_boot,
                             confidence=confidence,
                             log_lower=None if sigma_lo is None else math.log(sigma_lo))


def stress_window_scan(log_sigmas, sigma_cs, seed=0, n_boot=500, confidence=0.95, decades=None):
    """alpha_hat(sigma_c) for a sequence of upper edges; dict of arrays like :func:`exponent_window_scan`.

    With ``decades`` each window is [sigma_c 10^-decades, sigma_c] (a local slope) instead of (0, sigma_c].
    """
    fits = [fit_stress_exponent(log_sigmas, sc, seed=seed, n_boot=n_boot, confidence=confidence,
                                sigma_lo=None if decades is None else sc * 10.0 ** (-decades))
            for sc in np.asarray(sigma_cs, dtype=np.float64).reshape(-1)]
    return _scan_table(fits)


def _binned_mle(counts, log_lo, log_hi, include_below, below):
    """Exact multinomial MLE of b = a + 1 for p(x) ~ x^a on (0, x_c] with counts in log bins.

    P(bin) = exp(b (ln hi - L)) - exp(b (ln lo - L)) with L = ln x_c = log_hi[-1]; the optional
    'below' bin (0, lo_0] has probability exp(b (ln lo_0 - L)).
    """
    L = log_hi[-1]
    u_hi = log_hi - L  # <= 0
    u_lo = log_lo - L
    counts = np.asarray(counts, dtype=np.float64)
    k = counts.sum() + (below if include_below else 0.0)
    if k < 2:
        return math.nan

    def nll(logb):
        b = math.exp(logb)
        p = np.exp(b * u_hi) - np.exp(b * u_lo)
        with np.errstate(divide="ignore"):
            ll = np.sum(np.where(counts > 0, counts * np.log(np.maximum(p, 1e-300)), 0.0))
        if include_below and below > 0:
            ll += below * (b * u_lo[0])
        else:
            ll -= counts.sum() * math.log(max(1.0 - math.exp(b * u_lo[0]), 1e-300))
        return -ll

    res = scipy.optimize.minimize_scalar(nll, bounds=(math.log(1e-4), math.log(1e3)), method="bounded",
                                         options={"xatol": 1e-10})
    b = math.exp(res.x)
    return b * (k - 1.0) / k - 1.0  # same (K-1)/K bias correction as the continuous estimator


def fit_stress_exponent_hist(counts, log10_edges, sigma_c, below=None, seed=0, n_boot=500,
                             confidence=0.95):
    """alpha of P(sigma) ~ sigma^alpha from per-sample counts on fixed logarithmic bins.

    The window is (0, sigma_c] with sigma_c snapped to the nearest bin edge; counts below the
    lowest edge (``below``, one number per sample) are included as the bin (0, lo_0] when given,
    otherwise the fit is truncated at lo_0.

    Args:
        counts: (n_samples, n_bins) counts (or (n_bins,) for one sample).
        log10_edges: (n_bins + 1,) ascending log10 bin edges.
        sigma_c: upper edge.
        below: (n_samples,) underflow counts, or None.

    Returns:
        :class:`ExponentFit` (.s_hat is alpha_hat; .omega_c the snapped sigma_c).
    """
    c = np.atleast_2d(np.asarray(counts, dtype=np.float64))
    edges = np.asarray(log10_edges, dtype=np.float64)
    if c.shape[1] != edges.size - 1:
        raise ValueError(f"counts has {c.shape[1]} bins, expected len(log10_edges) - 1 = {edges.size - 1}")
    j = int(np.argmin(np.abs(edges - math.log10(sigma_c))))
    if j < 1:
        raise ValueError(f"sigma_c = {sigma_c} is at or below the lowest bin edge")
    ln10 = math.log(10.0)
    log_lo = edges[:j] * ln10
    log_hi = edges[1:j + 1] * ln10
    cw = c[:, :j]
    b = np.zeros(c.shape[0]) if below is None else np.asarray(below, dtype=np.float64).reshape(-1)
    if b.size != c.shape[0]:
        raise ValueError(f"below has {b.size} entries, expected {c.shape[0]} (one per sample)")
    inc = below is not None
    a_hat = _binned_mle(cw.sum(axis=0), log_lo, log_hi, inc, b.sum())
    lo = hi = math.nan
    n = c.shape[0]
    if n >= 2 and n_boot >= 1:
        rng = _bootstrap_rng(seed)
        est = np.empty(n_boot)
        for r in range(n_boot):
            idx = rng.integers(0, n, size=n)
            est[r] = _binned_mle(cw[idx].sum(axis=0), log_lo, log_hi, inc, b[idx].sum())
        est = est[np.isfinite(est)]
        if est.size >= 0.5 * n_boot:
            lo, hi = (float(np.quantile(est, 0.5 * (1 - confidence))),
                      float(np.quantile(est, 0.5 * (1 + confidence))))
    k = int(cw.sum() + (b.sum() if inc else 0))
    return ExponentFit(float(a_hat), lo, hi, k, n, float(10.0 ** edges[j]), float(confidence),
                       int(n_boot), int(seed) if np.ndim(seed) == 0 else 0)
