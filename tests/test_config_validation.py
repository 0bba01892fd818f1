"""Config validation (issue 5): wrong keys, types and values stop the run before any job, with a
message that names the key and the allowed values, and without a traceback."""
from __future__ import annotations

import copy
import math
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from glassvib.study import ConfigError, Point, batch_seed, load_study

REPO = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())


def _set(path, value):
    def edit(cfg):
        node = cfg
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return edit


# (edit, text that must appear in the message: the key, then a fragment of the allowed values)
BAD = {
    "unknown top-level key": (_set(["colour"], "blue"), ["'colour'", "allowed keys:", "sweeps"]),
    "unknown sweep key": (_set(["sweeps", 0, "temperature"], [0.3]), ["'temperature'", "sweeps[0]", "T_p"]),
    "T_p zero": (_set(["sweeps", 0, "T_p"], [0.0]), ["sweeps[0].T_p[0]", "a number > 0, or inf"]),
    "T_p negative": (_set(["sweeps", 0, "T_p"], [0.3, -1]), ["sweeps[0].T_p[1]", "a number > 0, or inf"]),
    "taper zero": (_set(["sweeps", 0, "taper"], [0]), ["sweeps[0].taper[0]", "an integer >= 1, or inf"]),
    "taper two": (_set(["sweeps", 0, "taper"], ["two"]), ["sweeps[0].taper[0]", "'two'", "an integer >= 1, or inf"]),
    "taper float": (_set(["sweeps", 0, "taper"], [2.5]), ["sweeps[0].taper[0]", "an integer >= 1, or inf"]),
    "d five": (_set(["sweeps", 0, "d"], [5]), ["sweeps[0].d[0]", "one of 2, 3, 4"]),
    "N below box rule": (_set(["sweeps", 0, "N"], [12]), ["sweeps[0].N = 12", "2 r_c", "N >= 16 for d = 2"]),
    "negative sample count": (_set(["sweeps", 0, "n_samples"], -4), ["sweeps[0].n_samples", "integer >= 1"]),
    "string sample count": (_set(["sweeps", 0, "n_samples"], "ten"), ["sweeps[0].n_samples", "integer >= 1"]),
    "potential unknown": (_set(["sweeps", 0, "potential"], ["lj"]), ["sweeps[0].potential[0]", "tipl"]),
    "delta above one": (_set(["modes", "delta"], 1.5), ["modes.delta", "[0, 1]"]),
    "k too large": (_set(["modes", "k"], 10_000), ["modes.k = 10000", "or all"]),
    "mc budget": (_set(["mc", "max_sweeps"], 10), ["mc.max_sweeps", "samples_per_batch"]),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_message(case):
    edit, fragments = BAD[case]
    cfg = copy.deepcopy(TINY)
    edit(cfg)
    with pytest.raises(ConfigError) as info:
        load_study(cfg)
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, f"{case}: {frag!r} not in message {msg!r}"


def test_missing_required_key():
    cfg = copy.deepcopy(TINY)
    del cfg["seed"]
    with pytest.raises(ConfigError, match="missing required key 'seed'"):
        load_study(cfg)


def test_good_configs_expand():
    for name in ("tiny.yaml", "paper.yaml"):
        study = load_study(yaml.safe_load((REPO / "config" / name).read_text()))
        assert study.points
    study = load_study(yaml.safe_load((REPO / "config.yaml").read_text()))
    # every batch path parses back to its point; batch sizes add up to n_samples
    for path, (pt, n, per) in study.points.items():
        assert Point.from_path(path) == pt
        assert sum(study.batch_size(path, b) for b in study.batches(path)) == n
    tps = {p.T_p for p, _, _ in study.points.values()}
    assert any(math.isinf(t) for t in tps), "default study quenches from T_p = inf"


def test_inf_spellings_and_seeds():
    cfg = copy.deepcopy(TINY)
    cfg["sweeps"][0]["T_p"] = ["inf", float("inf"), 0.5]
    cfg["sweeps"][0]["taper"] = ["inf", 2]
    study = load_study(cfg)
    paths = sorted(study.points)
    assert "d2/N36/Tpinf/minf/tipl" in paths and "d2/N36/Tp0.5/m2/tipl" in paths
    # seeds: deterministic, distinct across points and batches
    seeds = {batch_seed(7, p, b) for p in paths for b in range(3)}
    assert len(seeds) == 3 * len(paths)
    assert batch_seed(7, paths[0], 1) == batch_seed(7, paths[0], 1)


def _snakemake_dry_run(cfg, tmp_path):
    cfgfile = tmp_path / "cfg.yaml"
    cfgfile.write_text(yaml.safe_dump(cfg))
    return subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "-s", str(REPO / "Snakefile"), "--configfile", str(cfgfile),
         "--directory", str(tmp_path), "--cores", "1"], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("case", ["unknown top-level key", "taper two", "T_p negative", "d five",
                                  "N below box rule", "negative sample count"])
def test_snakemake_stops_cleanly(case, tmp_path):
    """The run stops before any job with the message on stderr and no Python traceback."""
    edit, fragments = BAD[case]
    cfg = copy.deepcopy(TINY)
    edit(cfg)
    out = _snakemake_dry_run(cfg, tmp_path)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "Traceback" not in text and "File \"" not in text, text
    assert "invalid configuration" in text
    for frag in fragments:
        assert frag in text, f"{case}: {frag!r} not in snakemake output {text!r}"
    assert not (tmp_path / "results").exists(), "no job may run on an invalid config"
