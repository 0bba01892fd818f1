"""The pair-potential contract (issue 12): what every model provides, and what the package derives.

A potential is a small frozen dataclass. The pair energy of particles i and j depends on the
distance r and on the two particles' parameters (diameter a, integer species s) only through one
number, the *pair coefficient* c_ij = coef(a_i, a_j, s_i, s_j) (a mean diameter, a length scale
lambda_ij or sigma_ij, or a pair-type index). A model module provides four numba scalar functions
of its float64 parameter array ``prm`` (see :mod:`glassvib.potentials.dispatch`):

    coef(prm, a_i, a_j, s_i, s_j) -> c
    phi_fr(prm, r2, c)  -> (phi, phi'(r) / r)      from r^2, zeros beyond the pair's cutoff
    derivs(prm, r, c)   -> (phi, phi', phi'')      zeros beyond the pair's cutoff
    amp(prm, c), radial(prm, r2, c)                phi = amp x radial (the swap MC's cache); a
                                                   model that does not separate returns amp = 1

and a class deriving from :class:`PairPotential` with its kind code, its parameter array, its
largest interaction range ``r_max``, its default density, how it draws the per-particle
parameters, the order m of its cutoff (phi ~ (r_c - r)^(m+1)) and whether phi has a minimum (the
sources of small pair stresses, hence the GHET prediction), and ``log_abs_dphi`` for the stress
histograms. Everything else (energy, forces, Hessian, quench, swap MC, pressure, shear modulus,
stresses, the workflow) goes through the one dispatch on (kind, prm).
"""
from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

__all__ = ["PairPotential", "pair_arrays", "coef_arrays", "check_number"]


def check_number(name, value, *, positive=True, finite=True, integer=False, minimum=None):
    """Validated float (or int) parameter; ValueError naming the parameter and what is allowed."""
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.integer, np.floating))
    if ok:
        v = float(value)
        ok = not math.isnan(v) and (not finite or math.isfinite(v)) and (not positive or v > 0)
        ok = ok and (minimum is None or v >= minimum) and (not integer or v.is_integer())
    if not ok:
        what = "an integer" if integer else "a number"
        what += " > 0" if positive else ""
        what += f" >= {minimum}" if minimum is not None else ""
        what += "" if finite else " (inf allowed)"
        raise ValueError(f"{name} must be {what}, got {value!r}")
    return int(value) if integer else float(value)


def taper_order(value, name="taper"):
    """A taper order m: an integer >= 1 (returned as int) or +inf (returned as math.inf)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be an integer >= 1 or inf, got {value!r}")
    if math.isinf(value) and value > 0:
        return math.inf
    if float(value).is_integer() and value >= 1:
        return int(value)
    raise ValueError(f"{name} must be an integer >= 1 or inf, got {value!r}")


def coef_arrays(pot, a_i, a_j, s_i, s_j) -> np.ndarray:
    """Pair coefficients c_ij of the pairs given by broadcastable per-particle parameter arrays."""
    from .dispatch import coef_loop

    a_i, a_j, s_i, s_j = np.broadcast_arrays(np.asarray(a_i, dtype=np.float64), np.asarray(a_j, dtype=np.float64),
                                             np.asarray(s_i, dtype=np.int64), np.asarray(s_j, dtype=np.int64))
    out = np.empty(a_i.size)
    coef_loop(pot.kind, pot.kernel_params, np.ascontiguousarray(a_i).ravel(), np.ascontiguousarray(a_j).ravel(),
               np.ascontiguousarray(s_i).ravel(), np.ascontiguousarray(s_j).ravel(), out)
    return out.reshape(a_i.shape)


def pair_arrays(pot, r, c):
    """(phi, phi', phi'') at distances r for pair coefficients c (broadcast), as arrays."""
    from .dispatch import derivs_loop

    r, c = np.broadcast_arrays(np.asarray(r, dtype=np.float64), np.asarray(c, dtype=np.float64))
    shape = r.shape
    r = np.ascontiguousarray(r).ravel()
    c = np.ascontiguousarray(c).ravel()
    phi, d1, d2 = np.empty(r.size), np.empty(r.size), np.empty(r.size)
    derivs_loop(pot.kind, pot.kernel_params, r, c, phi, d1, d2)
    return phi.reshape(shape), d1.reshape(shape), d2.reshape(shape)


class PairPotential:
    """Base of every pair potential (the contract; see the module docstring).

    Subclasses are frozen dataclasses that validate their parameters in ``__post_init__`` and set:

    * ``KIND`` (class constant): the dispatch code of :mod:`glassvib.potentials.dispatch`;
      ``MODEL``: the name used by the config (``potentials: {id: {model: MODEL, ...}}``);
    * :attr:`kernel_params` (float64 array) and :attr:`r_max` (largest interaction range);
    * :meth:`default_density`, :meth:`draw_particles`, :attr:`cutoff_order`, :attr:`has_minimum`;
    * :meth:`spec` (the model name and parameters, the inverse of :func:`glassvib.potentials.make_potential`).

    Models whose phi' underflows near the cutoff (C-infinity tapers) override :meth:`log_abs_dphi`.
    """

    KIND: ClassVar[int] = -1
    MODEL: ClassVar[str] = ""
    #: phi = amp(c) x radial(r^2) with a radial factor independent of the pair coefficient c: the
    #: swap MC then reuses the cached radial factor in a swap (only the amplitude changes)
    SEPARABLE: ClassVar[bool] = False

    # -- to be provided by each model -----------------------------------------------------------
    def _freeze_params(self, values) -> None:
        """Store the model's float64 parameter array (read-only) for :attr:`kernel_params`."""
        prm = np.array(values, dtype=np.float64)
        prm.setflags(write=False)
        object.__setattr__(self, "_prm", prm)

    @property
    def kernel_params(self) -> np.ndarray:
        """The float64 parameter array ``prm`` of the model's numba functions (layout: the model's
        docstring)."""
        return self._prm

    @property
    def r_max(self) -> float:  # pragma: no cover - abstract
        """Largest interaction range over all pairs: phi = 0 for r >= r_max."""
        raise NotImplementedError

    @property
    def cutoff_order(self) -> float:  # pragma: no cover - abstract
        """m such that phi ~ (r_c - r)^(m+1) at the cutoff (its first m derivatives vanish); inf for
        a C-infinity taper. The ``taper`` column of the tables and the ``m`` of the paths."""
        raise NotImplementedError

    @property
    def has_minimum(self) -> bool:  # pragma: no cover - abstract
        """True when phi' crosses zero at a minimum (a second source of small pair stresses)."""
        raise NotImplementedError

    def default_density(self, d: int) -> float:
        """Number density N / L^d of the model in dimension d (default: its ``density`` field)."""
        return self.density

    def draw_particles(self, N: int, rng: np.random.Generator):  # pragma: no cover - abstract
        """(diameters (N,), species (N,) int64) of a new system, drawn with ``rng``."""
        raise NotImplementedError

    def spec(self) -> dict:  # pragma: no cover - abstract
        """{"model": MODEL, parameter: value, ...}; ``make_potential(pot.spec()) == pot``."""
        raise NotImplementedError

    #: names of the species a model knows (None: any species code; the kernels ignore it)
    SPECIES: ClassVar[tuple | None] = None

    def check_particles(self, diameters: np.ndarray, species: np.ndarray) -> None:
        """Raise ValueError if per-particle parameters are outside what the model's kernels accept:
        a species code beyond :attr:`SPECIES` (models may check more, e.g. a diameter range)."""
        names = self.SPECIES
        if names is not None and species.size and (species.min() < 0 or species.max() >= len(names)):
            allowed = ", ".join(f"{k} ({n})" for k, n in enumerate(names))
            raise ValueError(f"species must be one of {allowed} for {self.MODEL}, "
                             f"got values in [{species.min()}, {species.max()}]")

    # -- derived -----------------------------------------------------------------------------------
    @property
    def kind(self) -> int:
        return int(self.KIND)

    @property
    def key(self) -> tuple:
        """Hashable identity of the potential (model name and kernel parameters)."""
        return (self.MODEL,) + tuple(float(v) for v in self.kernel_params)

    @property
    def hessian_continuous(self) -> bool:
        """True when phi'' is continuous at the cutoff (m >= 2)."""
        return self.cutoff_order >= 2

    def stress_sources(self) -> dict:
        """Small-sigma exponents alpha of P(sigma) ~ sigma^alpha implied by the potential (GHET,
        paper 001 Eq. 103-104): 1/m - 1 from the cutoff, 0 from a minimum."""
        out = {"cutoff": 1.0 / self.cutoff_order - 1.0}
        if self.has_minimum:
            out["minimum"] = 0.0
        return out

    @property
    def alpha_ghet(self) -> float:
        """The GHET small-stress exponent: the most negative source of :meth:`stress_sources`."""
        return float(min(self.stress_sources().values()))

    @property
    def s_ghet(self) -> float:
        """GHET's density-of-states exponent s = 5 + 2 alpha (= 3 + 2/m for a tapered repulsion)."""
        return 5.0 + 2.0 * self.alpha_ghet

    def pair_coefficients(self, a_i, a_j, s_i=0, s_j=0) -> np.ndarray:
        """Pair coefficients c_ij from the two particles' diameters and species (arrays broadcast)."""
        return coef_arrays(self, a_i, a_j, s_i, s_j)

    def derivs(self, r, a_i=1.0, a_j=None, s_i=0, s_j=None):
        """(phi, phi', phi'') of pairs at distance r with particle parameters (a_i, s_i), (a_j, s_j)
        (a_j, s_j default to a_i, s_i; arrays broadcast)."""
        a_j = a_i if a_j is None else a_j
        s_j = s_i if s_j is None else s_j
        return pair_arrays(self, r, self.pair_coefficients(a_i, a_j, s_i, s_j))

    def phi(self, r, a_i=1.0, a_j=None, s_i=0, s_j=None):
        """Pair energy phi(r) (see :meth:`derivs` for the arguments)."""
        return self.derivs(r, a_i, a_j, s_i, s_j)[0]

    def dphi(self, r, a_i=1.0, a_j=None, s_i=0, s_j=None):
        """dphi/dr."""
        return self.derivs(r, a_i, a_j, s_i, s_j)[1]

    def d2phi(self, r, a_i=1.0, a_j=None, s_i=0, s_j=None):
        """d2phi/dr2."""
        return self.derivs(r, a_i, a_j, s_i, s_j)[2]

    def log_abs_dphi(self, r, coef) -> np.ndarray:
        """ln |phi'(r)| of pairs with coefficients ``coef`` (-inf where phi' = 0, e.g. beyond the
        cutoff). Default: from :meth:`derivs`; models whose phi' underflows override it."""
        _, d1, _ = pair_arrays(self, r, coef)
        with np.errstate(divide="ignore"):
            return np.log(np.abs(d1))


def power_law_diameters(N: int, rng: np.random.Generator, a_min: float, a_max: float) -> np.ndarray:
    """N diameters drawn from P(a) ~ a^-3 on [a_min, a_max] by inverting the cumulative distribution
    (one uniform per particle): CDF(a) = (a_min^-2 - a^-2) / (a_min^-2 - a_max^-2), hence
    a = (a_min^-2 - u (a_min^-2 - a_max^-2))^-1/2."""
    u = rng.random(N)
    lo, hi = a_min ** -2.0, a_max ** -2.0
    return (lo - u * (lo - hi)) ** -0.5
