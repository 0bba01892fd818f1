"""Decorrelation of a Monte Carlo run: self-overlap Q(t), mean-square displacement, tau, equilibration verdict.

Contract (SPEC §3 step 2): the decorrelation of the particle positions is *measured*. Q(t) is the
fraction of particles whose centre-of-mass-corrected displacement over a lag t is below a cutoff
b (default 0.3 times the mean diameter); the MSD uses the same displacements. tau is the first lag
at which the time-origin-averaged Q(t) falls below 1/e (linear interpolation in log t). Lags are
accumulated over many time origins with a multiple-tau scheme: origin slot k is refreshed every
2^k records, so a run of R records resolves lags 1 ... R with O(log R) stored snapshots.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numba
import numpy as np

__all__ = ["OverlapAccumulator", "self_overlap", "estimate_tau", "block_error", "equilibration_verdict",
           "Q_THRESHOLD"]

#: tau is where the normalised self-overlap crosses 1/e.
Q_THRESHOLD = math.exp(-1.0)

_BINS_PER_OCTAVE = 4
_N_BINS = _BINS_PER_OCTAVE * 48


@numba.njit(cache=True)
def _overlap_msd(u0, u1, cutoff):
    """Self-overlap and MSD of displacements u1 - u0 with the mean (centre-of-mass) displacement removed."""
    n, d = u0.shape
    com = np.zeros(d)
    for i in range(n):
        for a in range(d):
            com[a] += u1[i, a] - u0[i, a]
    for a in range(d):
        com[a] /= n
    c2 = cutoff * cutoff
    q = 0
    msd = 0.0
    for i in range(n):
        r2 = 0.0
        for a in range(d):
            dx = u1[i, a] - u0[i, a] - com[a]
            r2 += dx * dx
        msd += r2
        if r2 < c2:
            q += 1
    return q / n, msd / n


def self_overlap(unwrapped0: np.ndarray, unwrapped1: np.ndarray, cutoff: float):
    """(Q, MSD) between two snapshots of unwrapped positions (N, d), centre-of-mass drift removed.

    Q = (1/N) sum_i Theta(cutoff - |dr_i|), MSD = (1/N) sum_i |dr_i|^2, dr_i = u1_i - u0_i - mean(u1 - u0).
    """
    u0 = np.ascontiguousarray(unwrapped0, dtype=np.float64)
    u1 = np.ascontiguousarray(unwrapped1, dtype=np.float64)
    if u0.shape != u1.shape or u0.ndim != 2:
        raise ValueError(f"snapshots have shapes {u0.shape} and {u1.shape}, expected two equal (N, d)")
    return _overlap_msd(u0, u1, float(cutoff))


def _lag_bin(lag: int) -> int:
    return min(int(math.floor(_BINS_PER_OCTAVE * math.log2(lag) + 1e-9)), _N_BINS - 1)


@dataclass
class OverlapAccumulator:
    """Multiple-tau accumulator of Q(lag) and MSD(lag) over time origins; all state is plain arrays.

    Attributes:
        cutoff: overlap cutoff b (length units).
        n_levels: number of origin slots; slot k is refreshed every 2^k records, so lags up to
            2^(n_levels-1) records are resolved.
        record: number of records seen so far.
    """

    cutoff: float
    n_levels: int = 24
    record: int = 0
    slots: np.ndarray | None = None          # (n_levels, N, d) snapshots
    slot_record: np.ndarray | None = None    # (n_levels,) record index of each snapshot
    sum_lag: np.ndarray = field(default_factory=lambda: np.zeros(_N_BINS))
    sum_q: np.ndarray = field(default_factory=lambda: np.zeros(_N_BINS))
    sum_msd: np.ndarray = field(default_factory=lambda: np.zeros(_N_BINS))
    count: np.ndarray = field(default_factory=lambda: np.zeros(_N_BINS, np.int64))

    def update(self, unwrapped: np.ndarray) -> None:
        """Add one record (unwrapped positions (N, d)); accumulate all lags to the stored origins."""
        u = np.asarray(unwrapped, dtype=np.float64)
        if self.slots is None:
            self.slots = np.repeat(u[None], self.n_levels, axis=0)
            self.slot_record = np.zeros(self.n_levels, np.int64)
            self.record = 0
            return
        self.record += 1
        seen = set()
        for k in range(self.n_levels):
            lag = int(self.record - self.slot_record[k])
            if lag > 0 and int(self.slot_record[k]) not in seen:
                seen.add(int(self.slot_record[k]))  # slots holding the same origin count once
                q, msd = _overlap_msd(self.slots[k], u, self.cutoff)
                b = _lag_bin(lag)
                self.sum_lag[b] += lag
                self.sum_q[b] += q
                self.sum_msd[b] += msd
                self.count[b] += 1
        for k in range(self.n_levels):
            if self.record % (1 << k) == 0:
                self.slots[k] = u
                self.slot_record[k] = self.record

    def reset(self) -> None:
        """Forget all origins and sums (e.g. after equilibration); the next update is a new origin."""
        self.slots = None
        self.slot_record = None
        self.record = 0
        self.sum_lag[:] = 0.0
        self.sum_q[:] = 0.0
        self.sum_msd[:] = 0.0
        self.count[:] = 0

    def curves(self):
        """(lag, Q, MSD) averaged over origins, lag in records, only bins with data, ascending lag."""
        ok = self.count > 0
        c = self.count[ok]
        return self.sum_lag[ok] / c, self.sum_q[ok] / c, self.sum_msd[ok] / c


def estimate_tau(lags, q, threshold: float = Q_THRESHOLD):
    """First lag where Q(lag) drops below ``threshold`` (log-linear interpolation; Q(0) = 1).

    Returns:
        tau in the units of ``lags``, or ``nan`` when Q never drops below the threshold.
    """
    lags = np.asarray(lags, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    below = np.nonzero(q < threshold)[0]
    if below.size == 0:
        return float("nan")
    k = int(below[0])
    if k == 0:
        l0, q0 = 0.0, 1.0
        l1, q1 = lags[0], q[0]
        return float(l0 + (l1 - l0) * (q0 - threshold) / (q0 - q1))
    l0, q0, l1, q1 = lags[k - 1], q[k - 1], lags[k], q[k]
    x0, x1 = math.log(l0), math.log(l1)
    return float(math.exp(x0 + (x1 - x0) * (q0 - threshold) / (q0 - q1)))


def block_error(x, n_blocks: int = 10):
    """(mean, standard error) of a correlated series from ``n_blocks`` block means."""
    x = np.asarray(x, dtype=np.float64)
    if x.size < 2 * n_blocks:
        return float(np.mean(x)) if x.size else float("nan"), float("nan")
    m = x.size // n_blocks
    blocks = x[: m * n_blocks].reshape(n_blocks, m).mean(axis=1)
    return float(blocks.mean()), float(blocks.std(ddof=1) / math.sqrt(n_blocks))


def equilibration_verdict(tau_sweeps: float, equilibration_sweeps: float, production_energies,
                          q_initial_min: float, n_tau: float = 10.0, z_max: float = 4.0) -> dict:
    """Whether a run counts as equilibrated, with the reasons (all criteria must hold).

    Criteria: (1) tau is finite (Q decayed below 1/e within the run); (2) the equilibration lasted at
    least ``n_tau`` tau; (3) the overlap with the initial configuration fell below 1/e; (4) the
    energies after equilibration show no drift: the means of the first and second half agree within
    ``z_max`` block-error standard deviations.

    Returns:
        dict with ``equilibrated`` (bool), ``drift_z`` (float) and ``reasons`` (list of failed criteria).
    """
    reasons = []
    if not math.isfinite(tau_sweeps):
        reasons.append("tau not resolved (self-overlap never fell below 1/e)")
    elif equilibration_sweeps < n_tau * tau_sweeps:
        reasons.append(f"equilibration {equilibration_sweeps:g} sweeps < {n_tau:g} tau = {n_tau * tau_sweeps:g}")
    if not q_initial_min < Q_THRESHOLD:
        reasons.append(f"overlap with the initial configuration stayed at {q_initial_min:.3f} >= 1/e")
    e = np.asarray(production_energies, dtype=np.float64)
    drift_z = float("nan")
    if e.size >= 40:
        h = e.size // 2
        m1, s1 = block_error(e[:h])
        m2, s2 = block_error(e[h:2 * h])
        den = math.hypot(s1, s2)
        drift_z = abs(m2 - m1) / den if den > 0 else (0.0 if m1 == m2 else float("inf"))
        if not drift_z <= z_max:
            reasons.append(f"energy drift: halves differ by {drift_z:.1f} sigma")
    return {"equilibrated": not reasons, "drift_z": drift_z, "reasons": reasons}
