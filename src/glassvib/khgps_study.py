"""The KHGPS model (paper 003) as points of the study: paths, per-sample seeds, batch rows and the
ensemble estimators (s, A_g, <x*^2>) of its tables. Pure functions on arrays and DataFrames, no I/O
(the CLI writes the tables, :mod:`glassvib.khgps_figures` draws them).

A point is (N, h, J, kappa_0) with the path ``khgps/N4000/h0.01/J0.1/kappa1``; one batch is
``samples_per_batch`` independent samples, sample ``i`` of a batch drawing its couplings from
``SeedSequence([batch_seed, i])`` (recorded in the samples table), so a batch's rows do not depend
on how the samples are split into batches' jobs and every sample is its own bootstrap unit.

What is computed per sample: the minimum (energy H/N, <x*^2>, max |dH/dx|, the route), the number
of negative Hessian eigenvalues, and the lowest k modes (omega^2, omega, participation ratio) or
every eigenvalue (k = all; no vectors, participation NaN). No positions, hence no stresses, shear
modulus, w_0 or level-ratio windows (the spectrum has no phonons to separate).

Estimators (SPEC §4 style, blind to any prediction): the window [0, omega_c) of a point holds on
average ``mode_fraction * N`` modes per sample (omega_c = the next pooled frequency), the same rule
at every J, so the edge follows each point's own spectrum; s_hat is the bias-corrected ML exponent
of :func:`glassvib.exponents.fit_exponent`; A_g_hat = 5 K / (S N omega_c^5) is the ML prefactor of
D(w) = A_g w^4 (D normalised to one per oscillator) from the K modes of the S samples in the
window, i.e. the definition of A_g in paper 003, which assumes the w^4 form; both with 95 %
percentile-bootstrap intervals over samples. A window is ``complete`` when every sample's computed
spectrum reaches omega_c (always with k = all); an incomplete one is reported and flagged, never
dropped. The other camp's s = 4 is attached as a column after the fits.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .exponents import fit_exponent
from .khgps import KHGPS, sample
from .study import format_value, parse_value

__all__ = ["KHGPSPoint", "sample_seed", "batch_rows", "point_estimates", "window_edge", "fit_prefactor",
           "spectrum_reach", "KHGPS_POINT_COLUMNS", "S_OTHER_CAMP"]

#: the key columns of every KHGPS table
KHGPS_POINT_COLUMNS = {"N": "int64", "h": "float64", "J": "float64", "kappa_0": "float64"}
#: D(w) ~ w^4 (papers 002-004): drawn and tabulated beside the measurement, never an input
S_OTHER_CAMP = 4.0
PREFIX = "khgps"


@dataclass(frozen=True)
class KHGPSPoint:
    """One KHGPS parameter point (paper 003: N oscillators, field h, coupling J, stiffness edge kappa_0)."""

    N: int
    h: float
    J: float
    kappa_0: float

    def __post_init__(self):
        self.model  # validates h, J, kappa_0 with the key named
        if isinstance(self.N, bool) or not isinstance(self.N, (int, np.integer)) or self.N < 2:
            raise ValueError(f"key N = {self.N!r} is not allowed; allowed: an integer >= 2")

    @property
    def model(self) -> KHGPS:
        return KHGPS(h=self.h, J=self.J, kappa_0=self.kappa_0)

    @property
    def path(self) -> str:
        """Relative folder, e.g. ``khgps/N4000/h0.01/J0.1/kappa1``."""
        return (f"{PREFIX}/N{self.N}/h{format_value(self.h)}/J{format_value(self.J)}/"
                f"kappa{format_value(self.kappa_0)}")

    @classmethod
    def from_path(cls, path: str) -> "KHGPSPoint":
        parts = path.strip("/").split("/")
        try:
            if len(parts) != 5 or parts[0] != PREFIX:
                raise ValueError("expected khgps/N<N>/h<h>/J<J>/kappa<kappa_0>")
            n, h, j, k = parts[1:]
            if not (n.startswith("N") and h.startswith("h") and j.startswith("J") and k.startswith("kappa")):
                raise ValueError("expected khgps/N<N>/h<h>/J<J>/kappa<kappa_0>")
            return cls(int(n[1:]), parse_value(h[1:]), parse_value(j[1:]), parse_value(k[5:]))
        except ValueError as err:
            raise ValueError(f"KHGPS point path {path!r} is malformed: {err}") from None

    def as_dict(self) -> dict:
        return {"N": int(self.N), "h": float(self.h), "J": float(self.J), "kappa_0": float(self.kappa_0)}


def sample_seed(batch_seed: int, index: int) -> int:
    """Seed of sample ``index`` of a batch: SeedSequence([batch_seed, index]), 63 bits."""
    ss = np.random.SeedSequence([int(batch_seed), int(index)])
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def batch_rows(point: KHGPSPoint, batch_seed: int, first_sample: int, n_samples: int, k="all",
               tol: float = 1e-10, progress=None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run samples ``first_sample .. first_sample + n_samples - 1`` of a batch (sample index i within
    the batch draws from :func:`sample_seed` (batch_seed, i - first_sample)); returns the rows of
    the samples and modes tables."""
    key = point.as_dict()
    srows, mframes = [], []
    for i in range(int(n_samples)):
        seed = sample_seed(batch_seed, i)
        smp = sample(point.model, point.N, seed, k=k, tol=tol)
        res = smp.result
        srows.append({**key, "sample": first_sample + i, "seed": seed, "energy": smp.energy, "msd": smp.msd,
                      "max_grad": res.max_grad, "converged": bool(res.success), "n_iter": int(res.n_iter),
                      "n_newton": int(res.n_newton), "route": res.method, "n_negative": smp.n_negative,
                      "n_modes": int(smp.eigenvalues.size), "wall_s": float(sum(smp.wall.values()))})
        lam = smp.eigenvalues
        m = pd.DataFrame({"sample": first_sample + i, "rank": np.arange(lam.size), "omega2": lam,
                          "omega": np.sign(lam) * np.sqrt(np.abs(lam)), "participation": smp.participation})
        for c, v in key.items():
            m[c] = v
        mframes.append(m)
        if progress is not None:
            progress(i, smp)
    return pd.DataFrame(srows), pd.concat(mframes, ignore_index=True)


def window_edge(unit_omegas, n_dof: int, mode_fraction: float) -> tuple[float, int]:
    """(omega_c, K): the window [0, omega_c) holding K = round(mode_fraction * n_dof * S) of the S
    samples' pooled positive frequencies on average mode_fraction * n_dof per sample; omega_c is the
    (K+1)-th smallest pooled frequency (nan, 0 when fewer than K + 1 frequencies exist)."""
    if not 0 < mode_fraction < 1:
        raise ValueError(f"mode_fraction = {mode_fraction!r}, expected a number in (0, 1)")
    pooled = np.sort(np.concatenate([np.asarray(w, float) for w in unit_omegas])) if len(unit_omegas) else np.empty(0)
    pooled = pooled[pooled > 0]
    K = int(round(mode_fraction * n_dof * len(unit_omegas)))
    if K < 2 or pooled.size <= K:
        return math.nan, 0
    edge = float(pooled[K])
    return edge, int(np.sum(pooled < edge))


def fit_prefactor(unit_omegas, omega_c: float, n_dof: int, s: float = S_OTHER_CAMP, seed: int = 0,
                  n_boot: int = 2000, confidence: float = 0.95) -> tuple[float, float, float, int]:
    """ML prefactor A of D(w) = A w^s on [0, omega_c) per degree of freedom: A = (s + 1) K /
    (S n_dof omega_c^(s+1)) from the K modes below omega_c in S units (the Poisson ML estimate of
    the intensity), with a percentile-bootstrap interval over units. Returns (A, lo, hi, K)."""
    counts = np.array([int(np.sum((np.asarray(w) > 0) & (np.asarray(w) < omega_c))) for w in unit_omegas])
    if counts.size == 0 or not math.isfinite(omega_c) or omega_c <= 0:
        return math.nan, math.nan, math.nan, 0
    norm = (s + 1.0) / (n_dof * omega_c ** (s + 1.0))
    mean, lo, hi = _bootstrap_mean(counts, seed, 4, n_boot, confidence)
    return norm * mean, norm * lo, norm * hi, int(counts.sum())


def _bootstrap_mean(values, seed, stream, n_boot, confidence=0.95):
    """(mean, lo, hi) of the finite ``values`` with a percentile-bootstrap interval over them (stream
    ``SeedSequence([seed, stream])``); no interval from fewer than two values."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return math.nan, math.nan, math.nan
    if v.size < 2:
        return float(v.mean()), math.nan, math.nan
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed), int(stream)])))
    boot = v[rng.integers(0, v.size, size=(int(n_boot), v.size))].mean(axis=1)
    a = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(boot, [a, 1.0 - a])
    return float(v.mean()), float(lo), float(hi)


def spectrum_reach(omegas, n_dof: int) -> float:
    """The largest frequency up to which one sample's computed spectrum is complete: inf for the full
    spectrum (n_dof values), else its largest computed frequency (0 for none)."""
    w = np.asarray(omegas, float)
    if w.size >= n_dof:
        return math.inf
    return float(w.max()) if w.size else 0.0


def _window(units, reach, n, fraction, seed, n_boot):
    edge, K = window_edge(units, n, fraction)
    row = {"mode_fraction": float(fraction), "omega_c": edge, "n_modes_fit": K,
           "complete": bool(math.isfinite(edge) and all(r >= edge for r in reach))}
    if K >= 2:
        fit = fit_exponent(units, edge, seed=seed, n_boot=n_boot)
        row.update(s_hat=fit.s_hat, s_lo=fit.s_lo, s_hi=fit.s_hi)
        row["A_g_hat"], row["A_g_lo"], row["A_g_hi"], _ = fit_prefactor(units, edge, n, seed=seed, n_boot=n_boot)
    else:
        row.update(s_hat=math.nan, s_lo=math.nan, s_hi=math.nan, A_g_hat=math.nan, A_g_lo=math.nan,
                   A_g_hi=math.nan)
    return row


def point_estimates(samples: pd.DataFrame, modes: pd.DataFrame, mode_fraction: float, scan_fractions=(),
                    seed: int = 0, n_boot: int = 2000) -> tuple[dict, list]:
    """Estimates of one point from its samples and modes rows: (exponents row, window-scan rows).

    Units are the samples (independent couplings); a sample's modes are its positive frequencies;
    ``reach`` (the largest computed frequency of each sample, inf with the full spectrum) decides
    whether a window is complete."""
    key = {c: samples[c].iloc[0] for c in KHGPS_POINT_COLUMNS}
    n = int(key["N"])
    units, reach = [], []
    for smp in sorted(samples["sample"]):
        w = modes.loc[modes["sample"] == smp, "omega"].to_numpy(float)
        units.append(w[w > 0])
        reach.append(spectrum_reach(w, n))
    row = {**key, "n_samples": int(len(units)), **_window(units, reach, n, mode_fraction, seed, n_boot)}
    row["msd_mean"], row["msd_lo"], row["msd_hi"] = _bootstrap_mean(samples["msd"], seed, 5, n_boot)
    row["n_negative"] = int(samples["n_negative"].sum())
    row["n_not_converged"] = int((~samples["converged"].astype(bool)).sum())
    row["s_other"] = S_OTHER_CAMP  # attached after the fits
    scan = [{**key, **_window(units, reach, n, f, seed, max(200, n_boot // 4))} for f in scan_fractions]
    return row, scan


def aggregate(samples: pd.DataFrame, modes: pd.DataFrame, fits: dict, seed: int = 0) -> dict:
    """The KHGPS tables of a study from the concatenated batch rows: ``khgps_samples``,
    ``khgps_modes`` (as given, sorted), ``khgps_exponents`` (one row per point) and
    ``khgps_exponent_scan``. ``fits`` maps each point path to its fit settings
    (``mode_fraction``, ``scan_mode_fractions``, ``n_bootstrap``); every point of ``samples`` needs one."""
    keys = list(KHGPS_POINT_COLUMNS)
    samples = samples.sort_values(keys + ["sample"]).reset_index(drop=True)
    modes = modes.sort_values(keys + ["sample", "rank"]).reset_index(drop=True)
    rows, scan = [], []
    for key, smp in samples.groupby(keys, sort=True):
        pt = KHGPSPoint(int(key[0]), float(key[1]), float(key[2]), float(key[3]))
        if pt.path not in fits:
            raise ValueError(f"no fit settings for KHGPS point {pt.path}; expected one of {sorted(fits)}")
        fit = fits[pt.path]
        sel = np.ones(len(modes), bool)
        for c, v in zip(keys, key):
            sel &= modes[c].to_numpy() == v
        row, sc = point_estimates(smp, modes[sel], fit["mode_fraction"], fit.get("scan_mode_fractions", ()),
                                  seed=seed, n_boot=fit.get("n_bootstrap", 2000))
        rows.append(row)
        scan += sc
    return {"khgps_samples": samples, "khgps_modes": modes, "khgps_exponents": pd.DataFrame(rows),
            "khgps_exponent_scan": pd.DataFrame(scan)}
