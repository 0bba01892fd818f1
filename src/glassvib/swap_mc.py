"""Swap Monte Carlo of the polydisperse soft-sphere liquid at a parent temperature (SPEC §3 step 2).

Contract: a trial is, with probability ``p_swap``, an exchange of the per-particle parameters
(diameter and species, whichever the model uses) of two random particles, otherwise a displacement of one random particle by ``step`` in a random direction (or
uniformly in a cube of half-side ``step``); Metropolis acceptance at temperature T (k_B = 1). One
sweep is N trials. Each trial costs O(1): energies are computed incrementally from a Verlet list
(radius r_c + skin, r_c the potential's largest range, one padded row per particle) whose entries
cache the distance, the pair coefficient and the energy of each pair; a trial visits only the
entries within r_c + step (the "near" part of a row). Any potential of the contract
(:mod:`glassvib.potentials`) works through the one dispatch. The list is
maintained per particle: each particle has its own reference position, and a proposal farther
than skin / 2 from it first rebuilds that particle's row alone (an unlisted pair then always has
its references >= r_c + skin apart, so the particles are >= r_c apart); all rows are rebuilt only
when one overflows its capacity. The total energy is updated by the accepted
differences (and recomputed from scratch only after huge transients, e.g. overlaps of a random
start). The numba kernels and the exact invariant are in :mod:`glassvib.swap_kernels`.

All randomness is drawn in Python from a numpy ``Generator`` (PCG64) as a plain stream of doubles,
consumed sweep by sweep, so that the run state (:class:`SwapMCState`: arrays, counters, traces and
``bit_generator.state``) determines the continuation exactly: ``run(a); run(b)`` is bit-identical to
``run(a + b)``, also across a save / load of the state. The numba kernel does no I/O and keeps no
hidden state; checkpoint files are written by :mod:`glassvib.parent_liquid`.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field

import numpy as np

from .configuration import Configuration
from .decorrelation import OverlapAccumulator, estimate_tau, self_overlap
from .neighbours import check_box, neighbour_pairs
from .potentials import PairPotential, TaperedIPL, check_potential
from .swap_kernels import _build_rows, _mc_kernel, near_radius, trials_per_row
from .system import energy_forces_arrays

__all__ = ["SwapMonteCarlo", "SwapMCResult", "SwapMCState", "swap_monte_carlo", "trials_per_row"]

def pot_key(pot) -> tuple:
    """Identity of a potential stored in the state (the tapered IPL keeps its former (n, r_c,
    m_code), so that checkpoints written before issue 12 stay resumable)."""
    return tuple(pot.params) if isinstance(pot, TaperedIPL) else tuple(pot.key)


def _all_pairs(npart: int):
    ii, jj = np.triu_indices(npart, k=1)
    return ii.astype(np.int64), jj.astype(np.int64)


# --------------------------------------------------------------------------------------------------
# state and result
# --------------------------------------------------------------------------------------------------

@dataclass
class SwapMCState:
    """Everything that determines the continuation of a run (picklable; see module docstring).

    Arrays: positions (N, d) wrapped, unwrapped (N, d), diameters (N,), species (N,), per-particle
    list references ``uref`` (N, d) and the padded neighbour rows (``nbr_idx`` (N, capacity),
    ``nbr_count`` (N,), ``nbr_near`` (N,), ``nbr_mirror``) with the cached squared distance
    ``nbr_r2``, pair coefficient ``nbr_coef`` and the factors ``nbr_amp`` x ``nbr_rad`` of the pair
    energy of each entry (see
    :mod:`glassvib.swap_kernels`); the entry order
    depends on the history, so the rows are state. Scalars: energy (incremental total),
    counters, ``row_rebuilds`` (rows rebuilt one at a time), ``n_rebuilds`` (rebuilds of all rows),
    sweeps done, ``rng_state`` (numpy ``bit_generator.state``). Traces: ``energies`` and
    ``record_sweeps`` (one entry per record), ``q_initial``/``msd_initial`` (overlap with the initial
    configuration) and the :class:`OverlapAccumulator`.
    """

    positions: np.ndarray
    unwrapped: np.ndarray
    diameters: np.ndarray
    box: float
    temperature: float
    p_swap: float
    step: float
    cube: bool
    skin: float
    verlet: bool
    record_every: int
    pot_params: tuple
    seed: object
    rng_state: dict
    uref: np.ndarray
    nbr_count: np.ndarray
    nbr_near: np.ndarray
    nbr_idx: np.ndarray
    nbr_mirror: np.ndarray
    nbr_r2: np.ndarray
    nbr_coef: np.ndarray
    nbr_amp: np.ndarray
    nbr_rad: np.ndarray
    initial_unwrapped: np.ndarray
    species: np.ndarray | None = None
    energy_buf: np.ndarray = field(default_factory=lambda: np.zeros(3))
    counters: np.ndarray = field(default_factory=lambda: np.zeros(4, np.int64))
    row_rebuilds: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    sweeps_done: int = 0
    n_rebuilds: int = 0
    n_resyncs: int = 0
    energies: list = field(default_factory=list)
    record_sweeps: list = field(default_factory=list)
    q_initial: list = field(default_factory=list)
    msd_initial: list = field(default_factory=list)
    overlap: OverlapAccumulator | None = None

    def copy(self) -> "SwapMCState":
        """Deep copy (so a saved state is independent of the running sampler)."""
        return copy.deepcopy(self)


@dataclass
class SwapMCResult:
    """Outcome of :func:`swap_monte_carlo` (scipy-style result object).

    Attributes:
        configuration: final configuration (positions wrapped, diameters and species permuted by the swaps).
        acceptance_move, acceptance_swap: accepted / attempted for each kind (nan if none attempted).
        energies: total energy after each recorded sweep (last entry = final energy).
        record_sweeps: sweep index of each entry of ``energies``.
        n_trials, n_move, n_swap: trial counts. sweeps: sweeps done in total.
        q_initial, msd_initial: self-overlap / MSD with the initial configuration per record.
        lag_sweeps, overlap, msd: origin-averaged Q(t) and MSD(t) (t in sweeps).
        tau_sweeps: decorrelation time (Q = 1/e), nan if not resolved.
        n_rebuilds: rebuilds of the whole Verlet list (a row overflowed its capacity).
        state: :class:`SwapMCState` to resume from.
        success, message: always True / "ok" unless the kernel reported a problem.
        n_row_rebuilds: rebuilds of a single particle's row.
    """

    configuration: Configuration
    acceptance_move: float
    acceptance_swap: float
    energies: np.ndarray
    record_sweeps: np.ndarray
    n_trials: int
    n_move: int
    n_swap: int
    sweeps: int
    q_initial: np.ndarray
    msd_initial: np.ndarray
    lag_sweeps: np.ndarray
    overlap: np.ndarray
    msd: np.ndarray
    tau_sweeps: float
    n_rebuilds: int
    state: SwapMCState
    success: bool = True
    message: str = "ok"
    n_row_rebuilds: int = 0


# --------------------------------------------------------------------------------------------------
# sampler
# --------------------------------------------------------------------------------------------------

def _check_args(conf, pot, temperature, p_swap, step, skin, record_every):
    if not isinstance(conf, Configuration):
        raise ValueError(f"conf must be a glassvib.Configuration, got {type(conf).__name__}")
    check_potential(pot)
    pot.check_particles(conf.diameters, conf.species)
    if not (isinstance(temperature, (int, float, np.floating, np.integer)) and 0 < temperature < math.inf):
        raise ValueError(f"temperature = {temperature!r}, expected a finite number > 0 "
                         "(T_p = inf means no Monte Carlo: see glassvib.parent_liquid)")
    if not 0.0 <= p_swap <= 1.0:
        raise ValueError(f"p_swap = {p_swap!r}, expected a probability in [0, 1]")
    if not (0 < step < math.inf):
        raise ValueError(f"step = {step!r}, expected a finite number > 0")
    if not (0 < skin < math.inf):
        raise ValueError(f"skin = {skin!r}, expected a finite number > 0")
    if isinstance(record_every, bool) or not isinstance(record_every, (int, np.integer)) or record_every < 1:
        raise ValueError(f"record_every = {record_every!r}, expected an integer >= 1")
    check_box(conf.box, pot.r_max)


class SwapMonteCarlo:
    """Stateful swap MC sampler; :meth:`run` advances it, :attr:`state` is the resumable state.

    Args:
        conf: initial configuration.
        pot: the pair potential.
        temperature: T_p > 0, finite.
        seed: seed of the random stream (anything ``numpy.random.SeedSequence`` accepts).
        p_swap: probability of a swap trial.
        step: displacement length (``cube=False``: random direction, fixed length, as in the
            paper) or half-side of the uniform cube (``cube=True``).
        skin: Verlet skin, at least twice the largest displacement (step, or step sqrt(d) for
            cube). A particle's row is rebuilt before a trial whose proposal is farther than
            skin / 2 from the particle's reference, which guarantees that every pair closer than
            r_c is listed. The scans visit only the pairs within r_c + step, so a wide skin costs
            little besides memory and makes the rebuilds rare (d = 3, N = 1000, T = 0.33: 2.6
            rebuilt rows per sweep at skin 1, 25 at skin 0.6, with the same speed within 3 %
            from skin 0.9 to 1.5; see bench/bench_sampling.py). The skin is
            reduced to L / 2 - r_c where the box is small; if that leaves less than twice the
            largest displacement, or N <= ``all_pairs_below``, every particle lists all others
            (never rebuilt; any step allowed).
        record_every: sweeps between records (energy trace and decorrelation).
        overlap_cutoff: self-overlap cutoff b; default 0.3 times the mean diameter.
        state: resume from this :class:`SwapMCState` instead (other arguments except ``pot`` ignored).
    """

    def __init__(self, conf=None, pot=None, temperature=None, seed=None, p_swap=0.2, step=0.2, *, cube=False,
                 skin=1.0, record_every=1, overlap_cutoff=None, all_pairs_below=32, state=None):
        check_potential(pot)
        self.pot = pot
        if state is not None:
            if tuple(state.pot_params) != pot_key(pot):
                raise ValueError(f"state was made with potential parameters {state.pot_params}, got {pot_key(pot)}")
            self.state = state.copy()
            self.rng = np.random.Generator(np.random.PCG64())
            self.rng.bit_generator.state = self.state.rng_state
            if getattr(self.state, "species", None) is None:  # written before issue 12: one species
                self.state.species = np.zeros(self.state.positions.shape[0], np.int64)
            if not hasattr(self.state, "nbr_near") or not hasattr(self.state, "nbr_coef"):
                # a checkpoint of a former list layout (CSR, or cached amplitude x radial factor): rebuild
                for name in ("nbr_start", "nbr_r2", "nbr_phi", "nbr_rad", "nbr_amp"):
                    self.state.__dict__.pop(name, None)
                if not hasattr(self.state, "nbr_near"):
                    self.state.row_rebuilds = np.zeros(1, np.int64)
                self._rebuild(grow=hasattr(self.state, "nbr_near"))
            return
        _check_args(conf, pot, temperature, p_swap, step, skin, record_every)
        npart, d = conf.N, conf.d
        box = conf.box
        max_disp = step * (math.sqrt(d) if cube else 1.0)
        if npart > all_pairs_below and not 2.0 * max_disp <= skin:
            raise ValueError(f"step = {step!r} with skin = {skin!r}: the Verlet list needs skin >= 2 step "
                             f"(>= 2 step sqrt(d) for cube moves)")
        # the list radius r_c + skin must stay below L / 2 (one image); shrink the skin if needed
        skin = min(float(skin), 0.5 * box - pot.r_max - 1e-9 * box)
        verlet = npart > all_pairs_below and skin >= 2.0 * max_disp
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        self.rng = np.random.Generator(np.random.PCG64(ss))
        pos = np.array(conf.positions, dtype=np.float64)
        cutoff = 0.3 * float(np.mean(conf.diameters)) if overlap_cutoff is None else float(overlap_cutoff)
        dia = np.array(conf.diameters, dtype=np.float64)
        spc = np.array(conf.species, dtype=np.int64)
        lists = self._lists(pos, dia, spc, box, verlet, skin, near_radius(pot.r_max, float(step), bool(cube), d))
        e0 = float(energy_forces_arrays(pos, conf.diameters, box, pot, spc)[0])
        self.state = SwapMCState(
            positions=pos, unwrapped=pos.copy(), diameters=dia, species=spc, box=box,
            temperature=float(temperature), p_swap=float(p_swap), step=float(step), cube=bool(cube),
            skin=float(skin), verlet=bool(verlet), record_every=int(record_every), pot_params=pot_key(pot),
            seed=ss.entropy if not isinstance(seed, np.random.SeedSequence) else (ss.entropy, ss.spawn_key),
            rng_state=self.rng.bit_generator.state, uref=pos.copy(), **lists,
            initial_unwrapped=pos.copy(), energy_buf=np.array([e0, abs(e0), 0.0]),
            overlap=OverlapAccumulator(cutoff))
        self._record()

    # -- bookkeeping ---------------------------------------------------------------------------
    def _pot(self):
        """(kind, parameter array, r_max): the potential as the kernels take it."""
        return int(self.pot.kind), self.pot.kernel_params, float(self.pot.r_max), bool(self.pot.SEPARABLE)

    def _lists(self, pos, dia, spc, box, verlet, skin, r_near, min_capacity=0):
        """All rows from scratch (references = current positions); capacity 1.25 x the longest row + 8."""
        npart = pos.shape[0]
        if verlet:
            ii, jj, _ = neighbour_pairs(pos, box, self.pot.r_max + skin)
            longest = int(np.bincount(np.concatenate([ii, jj]), minlength=npart).max())
            cap = min(npart - 1, max(min_capacity, int(1.25 * longest) + 8))
        else:
            ii, jj = _all_pairs(npart)
            cap = npart - 1
        idx, count, near, mirror, r2, coef, amp, rad = _build_rows(ii, jj, pos, dia, spc, float(box), cap, r_near,
                                                                   self._pot())
        return dict(nbr_idx=idx, nbr_count=count, nbr_near=near, nbr_mirror=mirror, nbr_r2=r2, nbr_coef=coef,
                    nbr_amp=amp, nbr_rad=rad)

    def _lists_tuple(self):
        s = self.state
        return s.nbr_idx, s.nbr_count, s.nbr_near, s.nbr_mirror, s.nbr_r2, s.nbr_coef, s.nbr_amp, s.nbr_rad

    def _rebuild(self, grow=True):
        """Rebuild all rows (a row overflowed): references = current positions, larger capacity."""
        s = self.state
        grow = s.nbr_idx.shape[1] + 8 if (grow and hasattr(s, "nbr_idx")) else 0
        r_near = near_radius(self.pot.r_max, s.step, s.cube, s.positions.shape[1])
        for name, value in self._lists(s.positions, s.diameters, s.species, s.box, s.verlet, s.skin, r_near,
                                       grow).items():
            setattr(s, name, value)
        s.uref = s.unwrapped.copy()
        s.n_rebuilds += 1

    def full_energy(self) -> float:
        """Total energy recomputed from scratch (independent route to the incremental value)."""
        s = self.state
        return float(energy_forces_arrays(s.positions, s.diameters, s.box, self.pot, s.species)[0])

    def _record(self):
        s = self.state
        # Resynchronise when huge transient energies (overlaps of a random start) could have eaten
        # the precision of the incremental sum; deterministic, so resumes stay bit-identical.
        if s.energy_buf[1] > 1e6 * max(abs(s.energy_buf[0]), 1.0):
            e = self.full_energy()
            s.energy_buf[0] = e
            s.energy_buf[1] = abs(e)
            s.n_resyncs += 1
        s.energies.append(float(s.energy_buf[0]))
        s.record_sweeps.append(int(s.sweeps_done))
        s.overlap.update(s.unwrapped)
        q0, m0 = self_overlap(s.initial_unwrapped, s.unwrapped, s.overlap.cutoff)
        s.q_initial.append(q0)
        s.msd_initial.append(m0)

    def tau_sweeps(self) -> float:
        """Current decorrelation time estimate (sweeps; nan if Q has not fallen below 1/e)."""
        lag, q, _ = self.state.overlap.curves()
        return estimate_tau(lag * self.state.record_every, q)

    def acceptance(self):
        """(move, swap) acceptance rates so far (nan where no trial of that kind was made)."""
        c = self.state.counters
        return (float(c[1] / c[0]) if c[0] else float("nan"), float(c[3] / c[2]) if c[2] else float("nan"))

    @property
    def energy(self) -> float:
        """Current total energy (incremental bookkeeping)."""
        return float(self.state.energy_buf[0])

    @property
    def configuration(self) -> Configuration:
        """Current configuration."""
        s = self.state
        return Configuration(s.positions, s.diameters, s.box, s.species)

    # -- the work ------------------------------------------------------------------------------
    def run(self, sweeps: int, callback=None, max_chunk_trials: int = 1 << 19) -> "SwapMonteCarlo":
        """Advance by ``sweeps`` sweeps (N trials each). ``callback(sampler)`` is called after each record."""
        if isinstance(sweeps, bool) or not isinstance(sweeps, (int, np.integer)) or sweeps < 0:
            raise ValueError(f"sweeps = {sweeps!r}, expected an integer >= 0")
        s = self.state
        npart, d = s.positions.shape
        k = trials_per_row(d)
        pot = self._pot()
        beta = 1.0 / s.temperature
        max_chunk_sweeps = max(1, max_chunk_trials // npart)
        done = 0
        while done < sweeps:
            to_record = s.record_every - (s.sweeps_done % s.record_every)
            nb = min(to_record, sweeps - done, max_chunk_sweeps)
            rand = self.rng.random((nb * npart, k))
            t = 0
            while True:
                t, status = _mc_kernel(s.positions, s.unwrapped, s.diameters, s.species, s.box, self._lists_tuple(), s.uref,
                                       s.verlet, s.skin, rand, t, beta, s.p_swap, s.step, s.cube, pot,
                                       s.counters, s.row_rebuilds, s.energy_buf)
                if status == 0:
                    break
                self._rebuild()
            s.sweeps_done += nb
            done += nb
            s.rng_state = self.rng.bit_generator.state
            if s.sweeps_done % s.record_every == 0:
                self._record()
                if callback is not None:
                    callback(self)
        s.rng_state = self.rng.bit_generator.state
        return self

    def result(self) -> SwapMCResult:
        """A :class:`SwapMCResult` snapshot of the run so far."""
        s = self.state
        c = s.counters
        lag, q, msd = s.overlap.curves()
        lag_sweeps = lag * s.record_every
        energies, rec = list(s.energies), list(s.record_sweeps)
        if rec[-1] != s.sweeps_done:  # the last entry is always the final energy
            energies.append(float(s.energy_buf[0]))
            rec.append(int(s.sweeps_done))
        return SwapMCResult(
            configuration=self.configuration,
            acceptance_move=float(c[1] / c[0]) if c[0] else float("nan"),
            acceptance_swap=float(c[3] / c[2]) if c[2] else float("nan"),
            energies=np.array(energies), record_sweeps=np.array(rec, dtype=np.int64),
            n_trials=int(c[0] + c[2]), n_move=int(c[0]), n_swap=int(c[2]), sweeps=int(s.sweeps_done),
            q_initial=np.array(s.q_initial), msd_initial=np.array(s.msd_initial),
            lag_sweeps=lag_sweeps, overlap=q, msd=msd, tau_sweeps=estimate_tau(lag_sweeps, q),
            n_rebuilds=int(s.n_rebuilds), state=s.copy(), n_row_rebuilds=int(s.row_rebuilds[0]))


def swap_monte_carlo(conf: Configuration, pot: PairPotential, temperature: float, sweeps: int, seed,
                     p_swap: float = 0.2, step: float = 0.2, *, cube: bool = False, skin: float = 1.0,
                     record_every: int = 1, overlap_cutoff=None, state: SwapMCState | None = None,
                     callback=None) -> SwapMCResult:
    """Swap Monte Carlo at temperature T for ``sweeps`` sweeps (SPEC §3 step 2, §6).

    Args:
        conf: initial configuration (ignored when ``state`` is given).
        pot: pair potential.
        temperature: parent temperature T_p (finite, > 0).
        sweeps: number of sweeps (N trials each) to run (in addition to those in ``state``).
        seed: seed of the PCG64 stream (ignored when ``state`` is given).
        p_swap: probability of a swap trial (exchange of two particles' diameters and species; paper: 0.2).
        step: displacement length (paper: 0.2, random direction).
        cube: displace uniformly in [-step, step]^d instead.
        skin: Verlet-list skin (>= 2 step, >= 2 step sqrt(d) for cube moves).
        record_every: sweeps between records of the energy / overlap traces.
        overlap_cutoff: self-overlap cutoff (default 0.3 x mean diameter).
        state: resume from a :class:`SwapMCState` (e.g. ``previous_result.state``).
        callback: called with the sampler after every record (progress bars, checkpoints).

    Returns:
        :class:`SwapMCResult` with .configuration, .acceptance_move, .acceptance_swap, .energies, ...
    """
    if state is not None:
        sampler = SwapMonteCarlo(pot=pot, state=state)
    else:
        sampler = SwapMonteCarlo(conf, pot, temperature, seed, p_swap, step, cube=cube, skin=skin,
                                 record_every=record_every, overlap_cutoff=overlap_cutoff)
    sampler.run(sweeps, callback=callback)
    return sampler.result()
