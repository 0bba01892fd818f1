"""Parent-liquid samples (SPEC §3 steps 1-2): equilibrate with swap MC, draw decorrelated samples, checkpoint.

Contract: :func:`draw_parent_samples` returns ``n_samples`` configurations of the liquid at T_p,
each with a metadata dict saying how it was obtained (equilibration verdict, measured tau, the
spacing actually used, acceptance rates, seeds, sweeps). T_p = inf means no Monte Carlo: the samples
are independent ideal-gas configurations (:func:`glassvib.random_configuration`) from recorded child
seeds. Every decision (end of equilibration, spacing of the samples) is taken at fixed sweep
multiples from the measured traces only, and the run can be checkpointed to a file (written
atomically: temporary file + ``os.replace``) and resumed with bit-identical results.
"""
from __future__ import annotations

import logging
import math
import os
import pickle
import time
from pathlib import Path

import numpy as np

from .configuration import Configuration, random_configuration
from .decorrelation import equilibration_verdict
from .potentials import PairPotential
from .swap_mc import SwapMonteCarlo, pot_key

__all__ = ["draw_parent_samples", "load_checkpoint", "save_checkpoint", "CHECKPOINT_VERSION"]

log = logging.getLogger(__name__)

CHECKPOINT_VERSION = 1


def save_checkpoint(path, payload: dict) -> None:
    """Pickle ``payload`` to ``path`` atomically (write ``path.tmp``, fsync, ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(payload, fh, protocol=pickle.HIGHEST_PROTOCOL)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_checkpoint(path):
    """The payload saved by :func:`save_checkpoint`, or None if ``path`` does not exist."""
    path = Path(path)
    if not path.exists():
        return None
    with open(path, "rb") as fh:
        payload = pickle.load(fh)
    if payload.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"checkpoint {path} has version {payload.get('version')}, expected {CHECKPOINT_VERSION}")
    return payload


def _seed_entropy(seed):
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    return ss


def _ideal_gas_samples(conf0, pot, n_samples, seed):
    ss = _seed_entropy(seed)
    out = []
    density = float(f"{conf0.N / conf0.box ** conf0.d:.12g}")  # undo the round-off of L = (N / rho)^(1/d)
    for k, child in enumerate(ss.spawn(n_samples)):
        conf = random_configuration(conf0.d, conf0.N, child, density=density, model=pot)
        out.append((conf, {"sample": k, "T_p": math.inf, "equilibrated": True, "tau_sweeps": 0.0,
                           "spacing_sweeps": 0, "acc_move": math.nan, "acc_swap": math.nan,
                           "seed": int(ss.entropy), "spawn_key": list(child.spawn_key), "sweeps_done": 0,
                           "equilibration_sweeps": 0, "decorrelated": True, "verdict": "ideal gas (no MC)"}))
    return out


def draw_parent_samples(conf0: Configuration, pot: PairPotential, temperature: float, n_samples: int, seed, *,
                        equilibration_sweeps: int = 2000, min_spacing_sweeps: int = 500,
                        max_sweeps: int = 1_000_000, checkpoint=None, checkpoint_every_s: float = 120.0,
                        progress: bool = False, p_swap: float = 0.2, step: float = 0.2, record_every: int = 10,
                        decide_every: int | None = None, n_tau: float = 10.0):
    """Equilibrate at T_p with swap MC and draw ``n_samples`` samples spaced by at least the measured tau.

    Protocol: run at least ``equilibration_sweeps`` sweeps, and continue until the equilibration
    lasts 1.25 ``n_tau`` times the running tau estimate (capped so that the samples still fit into
    ``max_sweeps``). Then reset the overlap statistics and, for each sample, run until the sweeps
    since the previous sample reach max(``min_spacing_sweeps``, tau) with tau measured on the
    production run so far. If the budget ``max_sweeps`` is exhausted, the remaining samples are
    taken every ``min_spacing_sweeps`` and flagged ``decorrelated = False``. The equilibration
    verdict (:func:`glassvib.decorrelation.equilibration_verdict`) uses the production tau and
    energies and is the same for all samples of the run.

    Args:
        conf0: initial configuration (T_p = inf: only its d, N and density are used).
        pot: pair potential.
        temperature: T_p > 0, or ``math.inf`` for ideal-gas samples.
        n_samples: number of samples (>= 1).
        seed: seed of the run (``SeedSequence`` entropy); T_p = inf: its children seed the samples.
        equilibration_sweeps, min_spacing_sweeps, max_sweeps: budget (sweeps of N trials).
        checkpoint: file to save the run state in (and resume from, if it exists and matches).
        checkpoint_every_s: wall seconds between checkpoint writes.
        progress: show a tqdm bar; otherwise a log line (logger ``glassvib.parent_liquid``) per save.
        p_swap, step, record_every: swap MC settings (see :func:`glassvib.swap_monte_carlo`).
        decide_every: sweeps between decisions (default 10 record intervals); a multiple of record_every.
        n_tau: equilibration length in units of tau.

    Returns:
        list of (Configuration, metadata dict) with keys sample, T_p, equilibrated, verdict,
        tau_sweeps, spacing_sweeps, decorrelated, acc_move, acc_swap, seed, sweeps_done,
        equilibration_sweeps, energy.
    """
    if not isinstance(conf0, Configuration):
        raise ValueError(f"conf0 must be a glassvib.Configuration, got {type(conf0).__name__}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples = {n_samples!r}, expected an integer >= 1")
    if not (temperature > 0):
        raise ValueError(f"temperature = {temperature!r}, expected > 0 (or inf)")
    for name, v in (("equilibration_sweeps", equilibration_sweeps), ("min_spacing_sweeps", min_spacing_sweeps),
                    ("max_sweeps", max_sweeps)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
            raise ValueError(f"{name} = {v!r}, expected an integer >= 0")
    if math.isinf(temperature):
        return _ideal_gas_samples(conf0, pot, n_samples, seed)
    decide_every = int(decide_every or 10 * record_every)
    if decide_every % record_every:
        raise ValueError(f"decide_every = {decide_every} must be a multiple of record_every = {record_every}")
    params = {"T_p": float(temperature), "n_samples": int(n_samples), "seed": repr(seed),
              "equilibration_sweeps": int(equilibration_sweeps), "min_spacing_sweeps": int(min_spacing_sweeps),
              "max_sweeps": int(max_sweeps), "p_swap": float(p_swap), "step": float(step),
              "record_every": int(record_every), "decide_every": decide_every, "n_tau": float(n_tau),
              "pot": pot_key(pot), "N": conf0.N, "d": conf0.d}
    run = load_checkpoint(checkpoint) if checkpoint is not None else None
    if run is not None:
        if run["params"] != params:
            raise ValueError(f"checkpoint {checkpoint} belongs to a different run: {run['params']} != {params}")
        sampler = SwapMonteCarlo(pot=pot, state=run["sampler"])
        log.info("resumed %s at sweep %d (phase %s)", checkpoint, sampler.state.sweeps_done, run["phase"])
    else:
        sampler = SwapMonteCarlo(conf0, pot, temperature, seed, p_swap, step, record_every=record_every)
        run = {"version": CHECKPOINT_VERSION, "params": params, "phase": "equilibrate", "samples": [],
               "eq_sweeps": None, "eq_records": None, "q_initial_min": None, "last_sample_sweep": None}
    budget_eq = max(int(equilibration_sweeps), int(max_sweeps) - n_samples * int(min_spacing_sweeps))

    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=int(max_sweeps), unit="sweep", desc=f"T_p={temperature:g}", initial=sampler.state.sweeps_done)
    last_save = [time.monotonic()]

    def advance(sweeps):
        before = sampler.state.sweeps_done
        sampler.run(sweeps)
        if bar is not None:
            bar.update(sampler.state.sweeps_done - before)
        if checkpoint is not None and time.monotonic() - last_save[0] >= checkpoint_every_s:
            _save(checkpoint, run, sampler)
            last_save[0] = time.monotonic()
            if bar is None:
                log.info("T_p=%g sweep %d phase %s samples %d/%d acc %.3f/%.3f tau %.4g", temperature,
                         sampler.state.sweeps_done, run["phase"], len(run["samples"]), n_samples,
                         *sampler.acceptance(), sampler.tau_sweeps())

    def next_stop(limit):
        s = sampler.state.sweeps_done
        return min(decide_every - s % decide_every, limit - s)

    # ---- equilibration -------------------------------------------------------------------------
    while run["phase"] == "equilibrate":
        s = sampler.state.sweeps_done
        tau = sampler.tau_sweeps() if s >= equilibration_sweeps else math.nan
        # 25% margin over the verdict's n_tau: the running tau estimate still grows a little
        done = s >= equilibration_sweeps and math.isfinite(tau) and s >= 1.25 * n_tau * tau
        if done or s >= budget_eq:
            run.update(phase="produce", eq_sweeps=s, eq_records=len(sampler.state.energies),
                       q_initial_min=float(np.min(sampler.state.q_initial)), last_sample_sweep=s)
            sampler.state.overlap.reset()
            sampler.state.overlap.update(sampler.state.unwrapped)
            break
        limit = equilibration_sweeps if s < equilibration_sweeps else budget_eq
        advance(next_stop(limit))

    # ---- production ------------------------------------------------------------------------------
    while run["phase"] == "produce":
        s = sampler.state.sweeps_done
        since = s - run["last_sample_sweep"]
        tau = sampler.tau_sweeps()
        need = max(int(min_spacing_sweeps), int(math.ceil(tau)) if math.isfinite(tau) else 0)
        decorrelated = math.isfinite(tau) and since >= tau
        over_budget = s >= max_sweeps
        if (since >= need and (math.isfinite(tau) or over_budget)) or (over_budget and since >= min_spacing_sweeps):
            acc_move, acc_swap = sampler.acceptance()
            run["samples"].append((sampler.configuration, {
                "sample": len(run["samples"]), "T_p": float(temperature), "tau_sweeps": float(tau),
                "spacing_sweeps": int(since), "decorrelated": bool(decorrelated),
                "acc_move": acc_move, "acc_swap": acc_swap, "sweeps_done": int(s),
                "equilibration_sweeps": int(run["eq_sweeps"]), "energy": float(sampler.energy),
                "seed": repr(seed)}))
            run["last_sample_sweep"] = s
            if len(run["samples"]) == n_samples:
                run["phase"] = "done"
                break
            continue
        limit = s + decide_every if over_budget else max_sweeps
        advance(next_stop(limit) if not over_budget else decide_every - s % decide_every)

    if bar is not None:
        bar.close()
    # ---- verdict (same for every sample of the run) -------------------------------------------
    res = sampler.result()
    prod_e = np.asarray(sampler.state.energies[run["eq_records"]:]) / conf0.N
    verdict = equilibration_verdict(res.tau_sweeps, run["eq_sweeps"], prod_e, run["q_initial_min"], n_tau=n_tau)
    out = []
    for conf, meta in run["samples"]:
        m = dict(meta)
        m.update(equilibrated=bool(verdict["equilibrated"]), verdict="; ".join(verdict["reasons"]) or "ok",
                 drift_z=verdict["drift_z"], tau_final_sweeps=res.tau_sweeps, sweeps_total=res.sweeps,
                 n_rebuilds=res.n_rebuilds)
        out.append((conf, m))
    if checkpoint is not None:
        _save(checkpoint, run, sampler)
    return out


def _save(path, run, sampler):
    payload = dict(run)
    payload["sampler"] = sampler.state
    save_checkpoint(path, payload)
