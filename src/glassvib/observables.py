"""Per-mode and per-sample observables of SPEC §4: participation ratio, level-spacing ratios,
pair distribution g2(r) and the vorticity (curl) field of a mode.

All functions are pure (arrays in, arrays out). Level statistics follow paper Eq. 18 (Atas et al.):
r_p = (l_{p+1} - l_p) / (l_{p+2} - l_{p+1}) over the ordered eigenvalues of one sample.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.stats
from scipy.spatial import cKDTree

__all__ = [
    "participation_ratio", "level_ratios", "tilde_ratios", "goe_ratio_cdf", "poisson_ratio_cdf",
    "goe_tilde_cdf", "poisson_tilde_cdf", "nonzero_eigenvalues", "level_ratio_windows",
    "LevelRatioWindow", "pair_distribution", "mode_vorticity", "R_TILDE_GOE", "R_TILDE_POISSON",
    "LEVEL_WINDOWS",
]

#: <r~> of large GOE matrices (Atas et al. 2013, numerically 0.5307(1)); the surmise gives 4 - 2 sqrt 3.
R_TILDE_GOE = 0.5307
#: <r~> of Poisson levels, 2 ln 2 - 1.
R_TILDE_POISSON = 2.0 * math.log(2.0) - 1.0
#: window names used by :func:`level_ratio_windows` (SPEC §4, paper Fig. 2).
LEVEL_WINDOWS = ("lowest", "middle", "highest")


def participation_ratio(eigenvectors, d):
    """Participation ratio e = (sum_i |psi_i|^2)^2 / (N sum_i |psi_i|^4) of each mode (SPEC §4).

    Args:
        eigenvectors: (dN, k) modes as columns (row index i*d + alpha), or one mode (dN,).
        d: spatial dimension.

    Returns:
        (k,) float64 in (0, 1]: 1 for a plane-wave-like extended mode, ~1/N for one particle.
        For a 1-D input, an array of shape (1,).
    """
    v = np.asarray(eigenvectors, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    if v.ndim != 2:
        raise ValueError(f"eigenvectors has shape {v.shape}, expected (dN, k)")
    d = int(d)
    if d < 1 or v.shape[0] % d:
        raise ValueError(f"eigenvectors has {v.shape[0]} rows, expected a multiple of d = {d}")
    n = v.shape[0] // d
    w = np.einsum("iak,iak->ik", v.reshape(n, d, -1), v.reshape(n, d, -1))  # |psi_i|^2, (N, k)
    num = w.sum(axis=0) ** 2
    den = n * np.einsum("ik,ik->k", w, w)
    with np.errstate(invalid="ignore", divide="ignore"):
        return num / den


def level_ratios(eigenvalues):
    """Consecutive level-spacing ratios r_p = (l_{p+1} - l_p) / (l_{p+2} - l_{p+1}) (paper Eq. 18).

    Args:
        eigenvalues: (n,) levels in the order given (sort them first; no sorting is done here).

    Returns:
        (n - 2,) float64; a zero spacing in the denominator gives inf (and 0/0 gives nan).
    """
    lam = np.asarray(eigenvalues, dtype=np.float64)
    if lam.ndim != 1:
        raise ValueError(f"eigenvalues has shape {lam.shape}, expected (n,)")
    if lam.size < 3:
        return np.empty(0)
    s = np.diff(lam)
    with np.errstate(divide="ignore", invalid="ignore"):
        return s[:-1] / s[1:]


def tilde_ratios(ratios):
    """r~ = min(r, 1/r) in [0, 1] (Atas et al.); inf maps to 0, nan stays nan."""
    r = np.asarray(ratios, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.minimum(r, 1.0 / r)


def goe_ratio_cdf(r):
    """Cumulative distribution of the GOE surmise P(r) = (27/8)(r + r^2)/(1 + r + r^2)^(5/2).

    Closed form: F(r) = 1/2 + (2r^3 + 3r^2 - 3r - 2) / (4 (1 + r + r^2)^(3/2)), F(0) = 0, F(inf) = 1.
    """
    r = np.asarray(r, dtype=np.float64)
    q = 1.0 + r + r * r
    return 0.5 + (2.0 * r ** 3 + 3.0 * r ** 2 - 3.0 * r - 2.0) / (4.0 * q ** 1.5)


def poisson_ratio_cdf(r):
    """Cumulative distribution of P(r) = 1/(1 + r)^2 (Poisson levels): F(r) = r / (1 + r)."""
    r = np.asarray(r, dtype=np.float64)
    return r / (1.0 + r)


def goe_tilde_cdf(x):
    """Cumulative distribution of r~ = min(r, 1/r) under the GOE surmise: 2 F(x) - ... on [0, 1].

    Because P(r) = P(1/r)/r^2, P(r~ <= x) = P(r <= x) + P(r >= 1/x) = 2 F(x).
    """
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return 2.0 * goe_ratio_cdf(x)


def poisson_tilde_cdf(x):
    """Cumulative distribution of r~ for Poisson levels: 2x / (1 + x) on [0, 1]."""
    x = np.clip(np.asarray(x, dtype=np.float64), 0.0, 1.0)
    return 2.0 * poisson_ratio_cdf(x)


def nonzero_eigenvalues(eigenvalues, n_zero):
    """Sorted eigenvalues with the ``n_zero`` eigenvalues closest to zero removed.

    Args:
        eigenvalues: (n,) eigenvalues of one sample.
        n_zero: how many zero modes to set aside (the d translations, plus counted extra zero modes).
    """
    lam = np.sort(np.asarray(eigenvalues, dtype=np.float64))
    n_zero = int(n_zero)
    if n_zero <= 0:
        return lam
    drop = np.argsort(np.abs(lam), kind="stable")[:n_zero]
    return np.delete(lam, drop)


@dataclass(frozen=True)
class LevelRatioWindow:
    """Pooled level ratios of one window (a row of SPEC §7 level_ratios.parquet).

    Attributes: window ("lowest", "middle", "highest"), n (number of ratios), r_mean (<r~>),
    ks_goe and ks_poisson (Kolmogorov-Smirnov distance of the r~ sample to the GOE surmise and
    to Poisson), ratios (the pooled r~ values).
    """

    window: str
    n: int
    r_mean: float
    ks_goe: float
    ks_poisson: float
    ratios: np.ndarray


def _window_slices(n_levels, width):
    width = min(width, n_levels)
    mid0 = max(0, (n_levels - width) // 2)
    return {"lowest": slice(0, width), "middle": slice(mid0, mid0 + width),
            "highest": slice(n_levels - width, n_levels)}


def level_ratio_windows(spectra, width=50, n_zero=0):
    """<r~> and KS distances in the lowest, middle and highest windows, pooled over samples (SPEC §4).

    Args:
        spectra: list of (n,) arrays, the full spectrum of each sample (eigenvalues lambda = omega^2).
        width: number of levels per window (paper: 50); each window of ``width`` levels gives
            ``width - 2`` ratios per sample.
        n_zero: int or list of ints, zero modes set aside per sample (see :func:`nonzero_eigenvalues`).

    Returns:
        dict window name -> :class:`LevelRatioWindow`.
    """
    if isinstance(spectra, np.ndarray) and spectra.ndim == 1:
        spectra = [spectra]
    spectra = list(spectra)
    zeros = [n_zero] * len(spectra) if np.ndim(n_zero) == 0 else list(n_zero)
    if len(zeros) != len(spectra):
        raise ValueError(f"n_zero has {len(zeros)} entries, expected {len(spectra)} (one per sample)")
    if int(width) < 3:
        raise ValueError(f"width = {width}, expected >= 3 levels per window")
    pooled = {w: [] for w in LEVEL_WINDOWS}
    for lam, nz in zip(spectra, zeros):
        lam = nonzero_eigenvalues(lam, nz)
        for name, sl in _window_slices(lam.size, int(width)).items():
            pooled[name].append(tilde_ratios(level_ratios(lam[sl])))
    return {name: pooled_ratio_window(name, pooled[name]) for name in LEVEL_WINDOWS}


def pooled_ratio_window(name: str, parts) -> "LevelRatioWindow":
    """The :class:`LevelRatioWindow` of the r~ values ``parts`` (a list of arrays, one per sample)
    pooled: <r~> and the Kolmogorov-Smirnov distances to the GOE surmise and to Poisson (nan if
    empty). The one pooling rule of the level statistics."""
    rt = np.concatenate(list(parts)) if len(parts) else np.empty(0)
    rt = rt[np.isfinite(rt)]
    if rt.size:
        ks_goe = scipy.stats.kstest(rt, goe_tilde_cdf).statistic
        ks_poi = scipy.stats.kstest(rt, poisson_tilde_cdf).statistic
        mean = float(rt.mean())
    else:
        ks_goe = ks_poi = mean = float("nan")
    return LevelRatioWindow(name, int(rt.size), mean, float(ks_goe), float(ks_poi), rt)


def _ball_volume(d, r):
    return math.pi ** (d / 2.0) / math.gamma(d / 2.0 + 1.0) * r ** d


def pair_distribution(positions, box, r_max, n_bins=200):
    """Radial pair distribution g2(r) of one periodic configuration (SPEC §4).

    Args:
        positions: (N, d) float64 in a periodic hypercube of side ``box``.
        box: side L.
        r_max: largest distance, at most L/2 (minimum image).
        n_bins: number of equal-width bins on [0, r_max].

    Returns:
        (edges (n_bins + 1,), counts (n_bins,) int64 pair counts, g (n_bins,)), with
        g = counts / (N/2 * rho * shell volume): 1 for an ideal gas. Counts are additive across
        samples of equal N and L (g of the pooled counts = pooled counts / (n_samples * norm)).
    """
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim != 2:
        raise ValueError(f"positions has shape {pos.shape}, expected (N, d)")
    n, d = pos.shape
    box = float(box)
    if not 0 < r_max <= box / 2:
        raise ValueError(f"r_max = {r_max}, expected 0 < r_max <= L/2 = {box / 2}")
    tree = cKDTree(np.mod(pos, box), boxsize=box)
    pairs = tree.query_pairs(r_max, output_type="ndarray")
    dr = pos[pairs[:, 1]] - pos[pairs[:, 0]]
    dr -= box * np.round(dr / box)
    r = np.linalg.norm(dr, axis=1)
    edges = np.linspace(0.0, r_max, int(n_bins) + 1)
    counts = np.histogram(r, bins=edges)[0].astype(np.int64)
    rho = n / box ** d
    shell = _ball_volume(d, edges[1:]) - _ball_volume(d, edges[:-1])
    g = counts / (0.5 * n * rho * shell)
    return edges, counts, g


def mode_vorticity(positions, box, mode, n_grid=32, width=None):
    """Vorticity (curl) of a mode's displacement field, coarse-grained on a periodic grid (SPEC §4).

    The field u(x) = sum_i psi_i G(x - x_i) (Gaussian G of standard deviation ``width``, default
    the mean interparticle distance (L^d/N)^(1/d)) is built by depositing psi_i on the grid
    (cloud in cell) and smoothing in Fourier space; the curl is the spectral derivative i k x u.

    Args:
        positions: (N, d) with d = 2 or 3.
        box: side L.
        mode: (dN,) or (N, d) displacement field (an eigenvector).
        n_grid: grid points per side.
        width: Gaussian smoothing length (length units).

    Returns:
        (grid_coordinates (n_grid,), curl): in 2D curl has shape (n_grid, n_grid), the scalar
        du_y/dx - du_x/dy; in 3D (3, n_grid, n_grid, n_grid). Index order [ix, iy(, iz)].
    """
    pos = np.asarray(positions, dtype=np.float64)
    if pos.ndim != 2 or pos.shape[1] not in (2, 3):
        raise ValueError(f"positions has shape {pos.shape}, expected (N, 2) or (N, 3): curl is defined in 2D/3D")
    n, d = pos.shape
    u = np.asarray(mode, dtype=np.float64).reshape(-1)
    if u.size != n * d:
        raise ValueError(f"mode has {u.size} entries, expected dN = {n * d}")
    u = u.reshape(n, d)
    box = float(box)
    n_grid = int(n_grid)
    h = box / n_grid
    if width is None:
        width = (box ** d / n) ** (1.0 / d)
    # cloud-in-cell deposit
    field = np.zeros((d,) + (n_grid,) * d)
    x = np.mod(pos, box) / h
    i0 = np.floor(x).astype(np.int64)
    f = x - i0
    for corner in np.ndindex(*(2,) * d):
        c = np.array(corner)
        w = np.prod(np.where(c, f, 1.0 - f), axis=1)
        idx = tuple(((i0[:, a] + c[a]) % n_grid) for a in range(d))
        for a in range(d):
            np.add.at(field[a], idx, w * u[:, a])
    field /= h ** d
    k1 = 2.0 * np.pi * np.fft.fftfreq(n_grid, d=h)
    ks = np.meshgrid(*([k1] * d), indexing="ij")
    k2 = sum(kk * kk for kk in ks)
    smooth = np.exp(-0.5 * k2 * width ** 2)
    uh = np.stack([np.fft.fftn(field[a]) * smooth for a in range(d)])

    def deriv(comp, axis):
        return np.real(np.fft.ifftn(1j * ks[axis] * uh[comp]))

    if d == 2:
        curl = deriv(1, 0) - deriv(0, 1)
    else:
        curl = np.stack([deriv(2, 1) - deriv(1, 2), deriv(0, 2) - deriv(2, 0), deriv(1, 0) - deriv(0, 1)])
    coords = (np.arange(n_grid) + 0.0) * h
    return coords, curl
