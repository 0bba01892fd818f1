"""A study: the validated configuration of a parameter sweep and the paths and seeds it implies.

Contract: :func:`load_study` turns a raw config dict (``config.yaml``) into a :class:`Study` or raises
:class:`ConfigError` whose message names the offending key and its allowed values. Physics
parameters (d, N, T_p, taper, potential, batch) live in the output paths
(``d3/N125/Tp0.3/m2/tipl/batch000``): the last folder is the potential id, either the built-in
``tipl`` (the tapered IPL of SPEC §2, whose taper m is a sweep axis) or an id of the config's
``potentials`` section (a model with its parameters, :func:`glassvib.potentials.make_potential`),
and the ``m`` folder is then the potential's own cutoff order (its ``taper`` column in the tables),
so that the paths of the tapered IPL are those of every earlier study. Run-control settings stay in
the config, and each rule hashes
only the settings section it reads, so editing one section or adding a sweep point never invalidates
finished batches of other points. A sweep block may override the ``mc``, ``quench`` and ``modes``
sections for its own points (:data:`OVERRIDABLE`); the paths stay the same and each point's jobs
hash the settings in force for that point only (:meth:`Study.point_hash`).
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ConfigError", "Point", "Study", "load_study", "validate_config", "DEFAULTS", "OVERRIDABLE",
           "format_value", "parse_value", "batch_seed", "section_hash", "R_CUT", "SCHEMA_PATH", "BUILTIN_POTENTIAL",
           "builtin_potential", "POTENTIAL_ID"]

#: the built-in potential id: the tapered IPL of SPEC §2 (n = 12, r_c = 1.955, density 1), taper from the sweep
BUILTIN_POTENTIAL = "tipl"
#: allowed potential ids (also the last folder of a point's path)
POTENTIAL_ID = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

#: Global cutoff of the tapered IPL potential (SPEC §2); the box must be at least twice as large.
R_CUT = 1.955

#: Run-control sections that a sweep block may override for its own points (merged over the
#: global section key by key; the paths do not change, only the per-point settings and hashes).
OVERRIDABLE = ("mc", "quench", "modes")

#: Where the JSON schema lives (repository layout of issue 5).
SCHEMA_PATH = Path(__file__).resolve().parents[2] / "workflow" / "schemas" / "config.schema.yaml"

#: Run-control defaults, merged under the user's config before the semantic checks.
DEFAULTS = {
    "results": "results",
    "threads": {"sample": 1, "quench": 1, "analyze": 1},
    "mc": {"equilibration_sweeps": 2000, "spacing_sweeps": 500, "max_sweeps": 1_000_000,
           "p_swap": 0.2, "step": 0.2, "record_every": 10, "checkpoint_every_s": 120.0, "n_tau": 10.0},
    # quench.method is absent here: absent means "auto", so that configs written before the key
    # existed keep their settings hash
    "quench": {"tol": 1e-10, "max_iter": 200_000},
    "modes": {"k": "all", "delta": 0.0, "level_window": 50, "complete_to": 1.0, "eigenvalues": "lowest"},
    "fit": {"omega_c_fraction": 0.5, "scan_fractions": [0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0],
            "sigma_c": 1e-4, "n_bootstrap": 1000},
    # KHGPS blocks (model: khgps): settings in force unless the block sets them
    "khgps": {"modes": {"k": "all"}, "minimize": {"tol": 1e-10},
              "fit": {"mode_fraction": 0.002, "scan_mode_fractions": [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016],
                      "n_bootstrap": 2000}},
    "calibration": {"d": 3, "N": 125, "tapers": [2, "inf"],
                    "temperatures": [2.0, 1.4, 1.0, 0.8, 0.65, 0.55, 0.47, 0.4, 0.35, 0.3],
                    "equilibration_sweeps": 2000, "production_sweeps": 4000, "n_samples": 8,
                    "noswap_sweeps": 2000},
}


class ConfigError(ValueError):
    """Invalid study configuration; the message names the key, the value and what is allowed."""


def builtin_potential(taper):
    """The built-in ``tipl`` potential with taper order m (SPEC §2)."""
    from .potentials import TaperedIPL

    return TaperedIPL(n=12, r_cut=R_CUT, taper=taper)


def format_value(x: float) -> str:
    """Path form of T_p or taper: ``inf`` for infinity, integers without a decimal point."""
    x = float(x)
    if math.isinf(x):
        return "inf"
    if x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return format(x, "g")


def parse_value(s) -> float:
    """Inverse of :func:`format_value` for numbers and the strings ``inf``/``Inf``/``infinity``."""
    if isinstance(s, str):
        return float("inf") if s.lower() in ("inf", "infinity") else float(s)
    return float(s)


@dataclass(frozen=True)
class Point:
    """One parameter point of the sweep (an ensemble of glass samples)."""

    d: int
    N: int
    T_p: float
    taper: float
    potential: str

    def __post_init__(self):
        if self.d not in (2, 3, 4):
            raise ValueError(f"d = {self.d}, expected one of 2, 3, 4")
        if not (isinstance(self.N, (int, np.integer)) and self.N >= 2):
            raise ValueError(f"N = {self.N!r}, expected an integer >= 2")
        if not self.T_p > 0:
            raise ValueError(f"T_p = {self.T_p}, expected a number > 0 or inf")
        if not (math.isinf(self.taper) or (self.taper >= 1 and self.taper == int(self.taper))):
            raise ValueError(f"taper = {self.taper}, expected an integer >= 1 or inf")
        if not (isinstance(self.potential, str) and POTENTIAL_ID.match(self.potential)):
            raise ValueError(f"potential = {self.potential!r}, expected tipl or an id of letters, digits and _ "
                             "starting with a letter")
        if self.potential == BUILTIN_POTENTIAL and self.box < 2 * R_CUT:
            raise ValueError(f"N = {self.N} is too small for d = {self.d}: box side N^(1/d) = {self.box:.3f} "
                             f"< 2 r_c = {2 * R_CUT:.3f}")

    @property
    def path(self) -> str:
        """Relative folder, e.g. ``d3/N125/Tp0.3/m2/tipl``."""
        return (f"d{self.d}/N{self.N}/Tp{format_value(self.T_p)}/m{format_value(self.taper)}/"
                f"{self.potential}")

    @property
    def box(self) -> float:
        """Box side L = N^(1/d) at number density 1 (the built-in tipl; other potentials: see
        :meth:`Study.point_potential` and its density)."""
        return float(self.N) ** (1.0 / self.d)

    @classmethod
    def from_path(cls, path: str) -> "Point":
        """Parse :attr:`path` back (inverse of :attr:`path`)."""
        parts = str(path).strip("/").split("/")
        if len(parts) != 5:
            raise ValueError(f"point path {path!r} has {len(parts)} parts, expected d*/N*/Tp*/m*/potential")
        d, n, tp, m, pot = parts
        try:
            return cls(int(d[1:]), int(n[1:]), parse_value(tp[2:]), parse_value(m[1:]), pot)
        except (TypeError, IndexError) as err:
            raise ValueError(f"point path {path!r} is malformed: {err}") from None

    def as_dict(self) -> dict:
        return {"d": self.d, "N": self.N, "T_p": self.T_p, "taper": self.taper, "potential": self.potential}


@dataclass(frozen=True)
class Study:
    """Validated configuration plus the expanded sweep.

    Attributes:
        config: config dict with defaults filled in and ``inf`` strings turned into floats.
        points: dict point-path -> (Point, n_samples, samples_per_batch).
        settings: dict point-path -> {"mc": ..., "quench": ..., "modes": ...}, the run-control
            sections in force for that point (global section with its block's overrides merged in).
    """

    config: dict
    points: dict
    settings: dict = None
    potentials: dict = None
    khgps_points: dict = None
    khgps_settings: dict = None

    def point_potential(self, point_path: str):
        """The pair potential of one point: the built-in tipl with the point's taper, or the
        config's ``potentials`` entry of its id."""
        pt = self.points[point_path][0]
        if pt.potential == BUILTIN_POTENTIAL:
            return builtin_potential(pt.taper)
        from .potentials import make_potential

        return make_potential(self.potentials[pt.potential], where=f"potentials.{pt.potential}")

    def potential_spec(self, point_path: str):
        """The normalised definition ({"model": ..., parameters}) of a point's potential; None for
        the built-in tipl (its path defines it)."""
        pt = self.points[point_path][0]
        if pt.potential == BUILTIN_POTENTIAL:
            return None
        return self.point_potential(point_path).spec()

    def point_settings(self, point_path: str, section: str) -> dict:
        """The ``section`` (one of :data:`OVERRIDABLE`) in force for one point."""
        if section not in OVERRIDABLE:
            raise ValueError(f"section = {section!r}, expected one of {', '.join(OVERRIDABLE)}")
        if self.settings and point_path in self.settings:
            return self.settings[point_path][section]
        return self.config[section]

    def point_hash(self, point_path: str, *sections: str) -> str:
        """:func:`section_hash` of the settings in force for one point (plus global sections such as
        ``seed``), so that a change in another block's override never touches this point."""
        payload = {s: (self.point_settings(point_path, s) if s in OVERRIDABLE else self.config.get(s))
                   for s in sections}
        return section_hash(payload, *sections)

    def calibrations(self) -> dict:
        """Output directory -> settings of each calibration scan: ``<results>`` for a single scan (a
        mapping in the config), ``<results>/calibration/<name>`` for each scan of a list."""
        cal = self.config["calibration"]
        res = self.config["results"]
        def settings(c):
            out = {k: v for k, v in c.items() if k != "name"}
            if "potentials" in c:  # the definitions of the potentials named (only then: older scans keep their params)
                out["potential_specs"] = {p: self.potentials[p] for p in c["potentials"] if p != BUILTIN_POTENTIAL}
            return out

        if isinstance(cal, dict):
            return {res: settings(cal)}
        return {f"{res}/calibration/{c['name']}": settings(c) for c in cal}

    @property
    def results(self) -> str:
        return self.config["results"]

    def _entry(self, point_path: str):
        if point_path in self.points:
            return self.points[point_path]
        if self.khgps_points and point_path in self.khgps_points:
            return self.khgps_points[point_path]
        raise KeyError(f"point {point_path!r} is not in the study")

    def batches(self, point_path: str) -> list[int]:
        _, n, per = self._entry(point_path)
        return list(range(math.ceil(n / per)))

    def batch_size(self, point_path: str, batch: int) -> int:
        _, n, per = self._entry(point_path)
        return min(per, n - batch * per)

    def batch_dirs(self) -> list[str]:
        """All batch folders ``<point>/batch<bbb>`` of the particle points, relative to the results folder."""
        return [f"{p}/batch{b:03d}" for p in self.points for b in self.batches(p)]

    def khgps_batch_dirs(self) -> list[str]:
        """All batch folders of the KHGPS points (``khgps/N.../batch<bbb>``), relative to the results folder."""
        return [f"{p}/batch{b:03d}" for p in (self.khgps_points or {}) for b in self.batches(p)]

    def seed(self, point_path: str, batch: int) -> int:
        return batch_seed(self.config["seed"], point_path, batch)


def batch_seed(base_seed: int, point_path: str, batch: int) -> int:
    """Seed of one batch, derived by SeedSequence from the base seed, the point's path and the batch.

    Deterministic across runs and machines; independent streams for different points/batches.
    """
    key = zlib.crc32(point_path.encode())
    ss = np.random.SeedSequence([int(base_seed), key, int(batch)])
    return int(ss.generate_state(1, np.uint64)[0] >> np.uint64(1))


def section_hash(config: dict, *sections: str) -> str:
    """Short sha256 of the named config sections (canonical JSON), for provenance and rerun triggers."""
    payload = {s: config.get(s) for s in sections}
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _load_schema() -> dict:
    import yaml

    with open(SCHEMA_PATH) as fh:
        return yaml.safe_load(fh)


def _key_name(path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "<top level>"


def _describe(error) -> str:
    """One line per schema error: key, offending value, allowed values."""
    key = _key_name(error.absolute_path)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        where = _key_name(error.absolute_path)
        return (f"unknown key(s) {', '.join(map(repr, extra))} in {where}; allowed keys: "
                f"{', '.join(allowed)}")
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        allowed = error.schema.get("properties", {}).get(missing, {}).get("description", "")
        return f"missing required key {missing!r} in {key}" + (f"; expected: {allowed}" if allowed else "")
    allowed = error.schema.get("description")
    if allowed is None and error.parent is not None:
        allowed = error.parent.schema.get("description")
    value = error.instance
    text = f"key {key} = {value!r} is not allowed"
    if allowed:
        text += f"; allowed: {allowed}"
    else:
        text += f" ({error.message})"
    return text


def _specific(error):
    """For an ``anyOf`` over a mapping or a list (``calibration``), the error of the branch whose type
    matches the value (it names the offending key), else the error itself."""
    if error.validator != "anyOf" or not error.context:
        return error
    kind = "object" if isinstance(error.instance, dict) else "array" if isinstance(error.instance, list) else None
    branch = [e for e in error.context if e.relative_schema_path and kind is not None
              and _branch_type(error.schema["anyOf"][e.relative_schema_path[0]]) == kind]
    if not branch:
        return error
    import jsonschema

    return _specific(jsonschema.exceptions.best_match(branch))


def _branch_type(schema: dict):
    if "$ref" in schema:
        return "object"  # the only referenced anyOf branch is the calibration mapping
    return schema.get("type")


def validate_config(config: dict) -> None:
    """Schema validation (``workflow/schemas/config.schema.yaml``); raises :class:`ConfigError`."""
    import jsonschema

    if not isinstance(config, dict):
        raise ConfigError(f"configuration must be a mapping, got {type(config).__name__}")
    schema = _load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted((_specific(e) for e in validator.iter_errors(config)),
                    key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        lines = [_describe(e) for e in errors]
        raise ConfigError("\n".join(dict.fromkeys(lines)))


def _merge(defaults: dict, user: dict) -> dict:
    out = copy.deepcopy(defaults)
    for key, val in user.items():
        if isinstance(val, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], val)
        else:
            out[key] = copy.deepcopy(val)
    return out


def load_study(config: dict) -> Study:
    """Validate a raw config (schema + semantic rules) and expand its sweeps.

    Semantic rules beyond the schema: box side L = N^(1/d) >= 2 r_c (minimum image, SPEC §2);
    ``modes.k`` below d N; room for three level-ratio windows; MC sweep budget large enough for
    ``samples_per_batch`` spaced samples; a point listed twice must have the same settings.
    A sweep block may override the run-control sections ``mc``, ``quench`` and ``modes`` (key by
    key, except ``modes.level_window``) for its own points; the checks use the settings in force
    for each block, and :attr:`Study.settings` records them per point.

    Raises:
        ConfigError: naming the key, the value and the allowed values.
    """
    validate_config(config)
    from .potentials import make_potential

    cfg = _merge(DEFAULTS, config)
    cfg.pop("sweeps")
    cfg["sweeps"] = copy.deepcopy(config["sweeps"])
    # the potentials section: id -> normalised definition (each validated by its model)
    specs, pots = {}, {}
    for pid, spec in (cfg.get("potentials") or {}).items():
        try:
            pots[pid] = make_potential(spec, where=f"potentials.{pid}")
        except ValueError as err:
            raise ConfigError(f"key {err}") from None
        specs[pid] = pots[pid].spec()
    cfg["potentials"] = specs
    points: dict = {}
    settings: dict = {}
    khgps_points: dict = {}
    khgps_settings: dict = {}
    for ib, block in enumerate(cfg["sweeps"]):
        if block.get("model") == "khgps":
            _khgps_block(ib, block, cfg, khgps_points, khgps_settings)
            continue
        block.pop("model", None)
        block["T_p"] = [parse_value(t) for t in block["T_p"]]
        block.setdefault("potential", [BUILTIN_POTENTIAL])
        for ip, pid in enumerate(block["potential"]):
            if pid != BUILTIN_POTENTIAL and pid not in pots:
                raise ConfigError(
                    f"key sweeps[{ib}].potential[{ip}] = {pid!r} is not defined; allowed: {BUILTIN_POTENTIAL} or an "
                    f"id of the potentials section ({', '.join(map(repr, pots)) or 'none defined'})")
        if BUILTIN_POTENTIAL in block["potential"]:
            if "taper" not in block:
                raise ConfigError(f"missing required key 'taper' in sweeps[{ib}] (the taper orders of the built-in "
                                  f"{BUILTIN_POTENTIAL}); expected: a list of integers >= 1 or inf")
            block["taper"] = [parse_value(m) for m in block["taper"]]
        elif "taper" in block:
            raise ConfigError(
                f"key sweeps[{ib}].taper applies to the built-in {BUILTIN_POTENTIAL} only, which the block does not "
                f"list; allowed: set the taper of a potentials entry in that entry (e.g. potentials.<id>.taper)")
        # (id, potential) of every point of the block; tipl in the order of its tapers
        block_pots = []
        for pid in block["potential"]:
            if pid == BUILTIN_POTENTIAL:
                block_pots += [(pid, builtin_potential(m)) for m in block["taper"]]
            else:
                block_pots.append((pid, pots[pid]))
        # run-control sections in force for this block: the global ones with the block's overrides
        eff = {s: _merge(cfg[s], block.get(s, {})) for s in OVERRIDABLE}
        where = {s: (f"sweeps[{ib}].{s}" if s in block and block[s] else s) for s in OVERRIDABLE}
        mc, modes = eff["mc"], eff["modes"]
        per = block["samples_per_batch"]
        need = mc["equilibration_sweeps"] + (per - 1) * mc["spacing_sweeps"]
        if any(math.isfinite(t) for t in block["T_p"]) and need > mc["max_sweeps"]:
            raise ConfigError(
                f"key {where['mc']}.max_sweeps = {mc['max_sweeps']} is too small for sweeps[{ib}].samples_per_batch = "
                f"{per}: need at least {where['mc']}.equilibration_sweeps + (samples_per_batch - 1) * "
                f"{where['mc']}.spacing_sweeps = {need} (settings in force for this block)")
        if "level_window" in block.get("modes", {}):
            raise ConfigError(
                f"key sweeps[{ib}].modes.level_window cannot be set per block (the level-ratio windows are "
                f"pooled by the aggregate step for the whole study); allowed: set modes.level_window globally")
        k = modes["k"]
        if k == "all" and modes["eigenvalues"] != "lowest":
            raise ConfigError(
                f"key {where['modes']}.eigenvalues = {modes['eigenvalues']!r} needs an integer {where['modes']}.k "
                f"(k = all already gives every eigenpair); allowed: eigenvalues: lowest with k: all, or an integer k")
        for d in block["d"]:
            for n in block["N"]:
                for pid, pot in block_pots:
                    rho = pot.default_density(d)
                    box = (float(n) / rho) ** (1.0 / d)
                    if box < 2 * pot.r_max:
                        nmin = math.ceil((2 * pot.r_max) ** d * rho - 1e-9)
                        raise ConfigError(
                            f"key sweeps[{ib}].N = {n} is too small for d = {d} with potential {pid}: box side "
                            f"L = (N / rho)^(1/d) = {box:.3f} < 2 r_c = {2 * pot.r_max:.3f}; allowed: N >= {nmin} "
                            f"for d = {d}")
                if k != "all" and k >= d * n - 1:
                    raise ConfigError(
                        f"key {where['modes']}.k = {k} is too large for d = {d}, N = {n} (d N = {d * n}); allowed: "
                        f"an integer 1 <= k < d N - 1 = {d * n - 1}, or all")
                w = modes["level_window"]
                if (k == "all" or modes["eigenvalues"] == "all") and 3 * w + d + 2 > d * n:
                    raise ConfigError(
                        f"key {where['modes']}.level_window = {w} is too large for d = {d}, N = {n}: three windows "
                        f"need 3 * level_window + d + 2 <= d N = {d * n}")
                for t in block["T_p"]:
                    for pid, pot in block_pots:
                        pt = Point(int(d), int(n), float(t), float(pot.cutoff_order), str(pid))
                        entry = (pt, block["n_samples"], per)
                        old = points.get(pt.path)
                        if old is not None and old != entry:
                            raise ConfigError(
                                f"key sweeps[{ib}]: point {pt.path} also appears in an earlier block "
                                f"with n_samples = {old[1]}, samples_per_batch = {old[2]}; allowed: "
                                f"the same values in both blocks")
                        if old is not None and settings[pt.path] != eff:
                            diff = [s for s in OVERRIDABLE if settings[pt.path][s] != eff[s]]
                            raise ConfigError(
                                f"key sweeps[{ib}]: point {pt.path} also appears in an earlier block "
                                f"with other {', '.join(diff)} settings; allowed: the same settings in both blocks")
                        points[pt.path] = entry
                        settings[pt.path] = copy.deepcopy(eff)  # one dict per point
    cal = cfg["calibration"]
    if isinstance(cal, list):  # named scans: each merged over the defaults on its own
        cal = cfg["calibration"] = [_merge(DEFAULTS["calibration"], c) for c in cal]
        names = [c["name"] for c in cal]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ConfigError(f"key calibration: names {', '.join(map(repr, dup))} appear more than once; "
                              f"allowed: distinct names")
        keyed = [(f"calibration[{i}]", c) for i, c in enumerate(cal)]
    else:
        keyed = [("calibration", cal)]
    for key, c in keyed:
        c["tapers"] = [parse_value(m) for m in c["tapers"]]
        cal_pots = []
        for ip, pid in enumerate(c.get("potentials", [BUILTIN_POTENTIAL])):
            if pid == BUILTIN_POTENTIAL:
                cal_pots += [(pid, builtin_potential(m)) for m in c["tapers"]]
            elif pid in pots:
                cal_pots.append((pid, pots[pid]))
            else:
                raise ConfigError(
                    f"key {key}.potentials[{ip}] = {pid!r} is not defined; allowed: {BUILTIN_POTENTIAL} or an id of "
                    f"the potentials section ({', '.join(map(repr, pots)) or 'none defined'})")
        for pid, pot in cal_pots:
            rho = pot.default_density(c["d"])
            if (float(c["N"]) / rho) ** (1.0 / c["d"]) < 2 * pot.r_max:
                raise ConfigError(
                    f"key {key}.N = {c['N']} is too small for {key}.d = {c['d']} with potential {pid}; allowed: "
                    f"N >= {math.ceil((2 * pot.r_max) ** c['d'] * rho - 1e-9)}")
    return Study(config=cfg, points=points, settings=settings, potentials=specs, khgps_points=khgps_points,
                 khgps_settings=khgps_settings)


def _khgps_block(ib: int, block: dict, cfg: dict, points: dict, settings: dict) -> None:
    """Expand one KHGPS block (issue 13) into ``points`` (path -> (KHGPSPoint, n_samples,
    samples_per_batch)) and ``settings`` (path -> {"modes", "minimize", "fit"})."""
    from .khgps_study import KHGPSPoint

    eff = {s: _merge(cfg["khgps"][s], block.get(s, {})) for s in ("modes", "minimize", "fit")}
    k = eff["modes"]["k"]
    for n in block["N"]:
        if k != "all" and k > n:
            raise ConfigError(f"key sweeps[{ib}].modes.k = {k} is too large for N = {n}; allowed: an integer "
                              f"1 <= k <= N, or all")
        for h in block["h"]:
            for j in block["J"]:
                for k0 in block["kappa_0"]:
                    try:
                        pt = KHGPSPoint(int(n), float(h), float(j), float(k0))
                    except ValueError as err:
                        raise ConfigError(f"key sweeps[{ib}]: {err}") from None
                    entry = (pt, block["n_samples"], block["samples_per_batch"])
                    old = points.get(pt.path)
                    if old is not None and (old != entry or settings[pt.path] != eff):
                        raise ConfigError(f"key sweeps[{ib}]: KHGPS point {pt.path} also appears in an earlier "
                                          f"block with other n_samples, samples_per_batch or settings; allowed: "
                                          f"the same values in both blocks")
                    points[pt.path] = entry
                    settings[pt.path] = copy.deepcopy(eff)
