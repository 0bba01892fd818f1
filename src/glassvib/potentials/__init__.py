"""Pair potentials: one contract (:mod:`.base`), one numba dispatch (:mod:`.dispatch`), one module
per model. :data:`MODELS` maps the config's ``model:`` names to the classes; :func:`make_potential`
builds a potential from a config entry (``{"model": name, parameter: value, ...}``).

| model (config name) | class | paper |
|---|---|---|
| tapered_ipl | :class:`TaperedIPL` | paper 001 (SPEC §2) |
| binary_ipl | :class:`BinaryIPL` | thesis 002 Ch. 2-3 |
| poly_swap | :class:`PolySwap` | Ninarello et al. 2017 (thesis 002 Ch. 3) |
| lennard_jones | :class:`LennardJones` | Kob-Andersen 1995, tapered as SPEC §2 |
"""
from __future__ import annotations

import math

from .base import PairPotential
from .binary_ipl import BinaryIPL
from .lennard_jones import LennardJones
from .poly_swap import PolySwap
from .tapered_ipl import TaperedIPL

__all__ = ["PairPotential", "TaperedIPL", "BinaryIPL", "PolySwap", "LennardJones", "MODELS", "make_potential",
           "check_potential"]

#: config name -> class
MODELS = {cls.MODEL: cls for cls in (TaperedIPL, BinaryIPL, PolySwap, LennardJones)}


def _value(v):
    if isinstance(v, str) and v.lower() in ("inf", "infinity", "+inf"):
        return math.inf
    if isinstance(v, list):
        return tuple(_value(x) for x in v)
    return v


def make_potential(spec: dict, where: str = "potential") -> PairPotential:
    """The potential of a config entry ``{"model": name, parameter: value, ...}`` ("inf" strings
    allowed). ValueError naming the key ``where`` and the allowed models or parameters."""
    if isinstance(spec, PairPotential):
        return spec
    if not isinstance(spec, dict) or "model" not in spec:
        raise ValueError(f"{where} must be a mapping with a key 'model' (one of {', '.join(MODELS)}), got {spec!r}")
    name = spec["model"]
    if name not in MODELS:
        raise ValueError(f"{where}.model = {name!r} is not allowed; allowed: {', '.join(MODELS)}")
    cls = MODELS[name]
    fields = [f for f in cls.__dataclass_fields__ if not f.startswith("_")]
    extra = sorted(set(spec) - {"model"} - set(fields))
    if extra:
        raise ValueError(f"{where}: unknown parameter(s) {', '.join(map(repr, extra))} for model {name}; "
                         f"allowed: {', '.join(fields)}")
    kwargs = {k: _value(v) for k, v in spec.items() if k != "model" and v is not None}
    try:
        return cls(**kwargs)
    except ValueError as err:
        raise ValueError(f"{where} ({name}): {err}") from None


def check_potential(pot, what: str = "pot") -> PairPotential:
    """``pot`` if it is a :class:`PairPotential`, else ValueError."""
    if not isinstance(pot, PairPotential):
        raise ValueError(f"{what} must be a glassvib pair potential ({', '.join(c.__name__ for c in MODELS.values())}), "
                         f"got {type(pot).__name__}")
    return pot
