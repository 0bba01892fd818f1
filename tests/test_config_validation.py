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

from glassvib.study import ConfigError, Point, batch_seed, format_value, load_study

REPO = Path(__file__).resolve().parents[1]
TINY_ALL = yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())
# the tapered-IPL block of tiny.yaml (the override tests split and repeat it); the two-model config
# is tested below with TINY_ALL
TINY = {**TINY_ALL, "sweeps": TINY_ALL["sweeps"][:1]}


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
    "potential unknown": (_set(["sweeps", 0, "potential"], ["lj"]), ["sweeps[0].potential[0] = 'lj'", "tipl or an id",
                                                                       "'bipl'"]),
    "potential bad id": (_set(["sweeps", 0, "potential"], ["l-j"]), ["sweeps[0].potential[0]", "tipl or an id"]),
    "model unknown": (_set(["potentials", "lj"], {"model": "lj"}), ["potentials.lj.model", "lennard_jones"]),
    "model parameter unknown": (_set(["potentials", "bipl"], {"model": "binary_ipl", "lam": 1.2}),
                                ["'lam'", "potentials.bipl", "lam_01"]),
    "model parameter value": (_set(["potentials", "lj"], {"model": "lennard_jones", "taper": 0}),
                              ["potentials.lj.taper", "an integer >= 1, or inf"]),
    "potential id tipl redefined": (_set(["potentials", "tipl"], {"model": "tapered_ipl"}),
                                    ["key potentials", "'tipl'", "other than the built-in tipl"]),
    "taper missing for tipl": (lambda c: c["sweeps"][0].pop("taper"), ["missing required key 'taper'", "sweeps[0]"]),
    "taper for another model": (lambda c: (c["sweeps"][0].update(potential=["bipl"])),
                                ["sweeps[0].taper", "applies to the built-in tipl only", "potentials.<id>.taper"]),
    "N below box rule of a model": (lambda c: (c["potentials"].update(lj={"model": "lennard_jones"}),
                                               c["sweeps"][0].pop("taper"), c["sweeps"][0].update(potential=["lj"], N=[25])),
                                    ["sweeps[0].N = 25", "potential lj", "N >= 30 for d = 2"]),
    "delta above one": (_set(["modes", "delta"], 1.5), ["modes.delta", "[0, 1]"]),
    "quench method": (_set(["quench", "method"], "bfgs"), ["quench.method = 'bfgs'", "auto", "fire", "lbfgs"]),
    "k too large": (_set(["modes", "k"], 10_000), ["modes.k = 10000", "or all"]),
    "mc budget": (_set(["mc", "max_sweeps"], 10), ["mc.max_sweeps", "samples_per_batch"]),
    "calibration d five": (_set(["calibration", "d"], 5), ["calibration.d = 5", "one of 2, 3, 4"]),
    "calibration list d five": (_set(["calibration"], [{"name": "a", "d": 5}]),
                                ["calibration[0].d = 5", "one of 2, 3, 4"]),
    "calibration list without name": (_set(["calibration"], [{"d": 2, "N": 64}]),
                                      ["missing required key 'name'", "calibration[0]"]),
    "calibration bad name": (_set(["calibration"], [{"name": "a/b"}]), ["calibration[0].name", "letters, digits"]),
    "calibration duplicate names": (_set(["calibration"], [{"name": "a"}, {"name": "a", "d": 2, "N": 64}]),
                                    ["key calibration", "'a'", "distinct names"]),
    "calibration list N small": (_set(["calibration"], [{"name": "a", "d": 3, "N": 27}]),
                                 ["calibration[0].N = 27", "N >= 60"]),
}


def _assert_message(case, base, edit, fragments):
    cfg = copy.deepcopy(base)
    edit(cfg)
    with pytest.raises(ConfigError) as info:
        load_study(cfg)
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, f"{case}: {frag!r} not in message {msg!r}"


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_message(case):
    _assert_message(case, TINY, *BAD[case])


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


def test_two_models_in_one_study():
    """tiny.yaml: the tapered IPL's paths are those of every earlier study; the binary IPL's carry
    its id and its own cutoff order (m = 3), and the study knows each point's potential."""
    study = load_study(copy.deepcopy(TINY_ALL))
    assert {"d2/N36/Tpinf/m2/tipl", "d2/N36/Tp0.5/minf/tipl", "d2/N36/Tpinf/m3/bipl", "d2/N36/Tp1/m3/bipl"} \
        <= set(study.points)
    for path, (pt, _, _) in study.points.items():
        assert Point.from_path(path) == pt
        pot = study.point_potential(path)
        assert pot.cutoff_order == pt.taper
        if pt.potential == "tipl":
            assert study.potential_spec(path) is None and pot.r_max == 1.955
        else:
            assert study.potential_spec(path) == pot.spec() and pot.MODEL == "binary_ipl"


def test_published_tapered_ipl_paths_are_unchanged():
    """The published campaigns' configs expand to tipl paths d<d>/N<N>/Tp<T>/m<m>/tipl as before."""
    for name in ("paper-lite.yaml", "taper-scan.yaml", "paper.yaml"):
        study = load_study(yaml.safe_load((REPO / "config" / name).read_text()))
        for path, (pt, _, _) in study.points.items():
            assert pt.potential == "tipl" and path == (f"d{pt.d}/N{pt.N}/Tp{format_value(pt.T_p)}/"
                                                       f"m{format_value(pt.taper)}/tipl")
    assert "d3/N1000/Tp0.33/m2/tipl" in load_study(yaml.safe_load((REPO / "config" / "paper-lite.yaml").read_text())).points


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
    _assert_stops_cleanly(cfg, tmp_path, fragments, case)


def _assert_stops_cleanly(cfg, tmp_path, fragments, case):
    """A snakemake dry run on ``cfg`` stops with the message, no traceback and no job."""
    out = _snakemake_dry_run(cfg, tmp_path)
    assert out.returncode != 0
    text = out.stdout + out.stderr
    assert "Traceback" not in text and "File \"" not in text, text
    assert "invalid configuration" in text
    for frag in fragments:
        assert frag in text, f"{case}: {frag!r} not in snakemake output {text!r}"
    assert not (tmp_path / "results").exists(), "no job may run on an invalid config"


# ---------------------------------------------------------------- per-block run-control overrides
def _two_blocks(override_b=None, override_a=None):
    """tiny.yaml with its block split in two: block A = taper 2, block B = taper inf (same d, N, T_p)."""
    cfg = copy.deepcopy(TINY)
    a = cfg["sweeps"][0]
    a["name"], a["taper"] = "A", [2]
    b = copy.deepcopy(a)
    b["name"], b["taper"] = "B", ["inf"]
    if override_a:
        a.update(copy.deepcopy(override_a))
    if override_b:
        b.update(copy.deepcopy(override_b))
    cfg["sweeps"].append(b)
    return cfg


def _points(study, taper):
    return [p for p, (pt, _, _) in study.points.items() if pt.taper == taper]


OVERRIDE_B = {"mc": {"spacing_sweeps": 70, "p_swap": 0.5},
              "quench": {"tol": 1e-8},
              "modes": {"delta": 0.5}}


def test_override_in_force_for_its_block_only():
    study = load_study(_two_blocks(OVERRIDE_B))
    glob = {s: TINY[s] for s in ("mc", "quench", "modes")}
    pa, pb = _points(study, 2.0), _points(study, math.inf)
    assert len(pa) == len(pb) == len(TINY["sweeps"][0]["T_p"]) and set(pa).isdisjoint(pb)
    for p in pa:  # block A: the global sections exactly (every key given in tiny.yaml)
        for s in ("mc", "quench", "modes"):
            eff = study.point_settings(p, s)
            for key, val in glob[s].items():
                assert eff[key] == val, (p, s, key)
    for p in pb:  # block B: its override keys, every other key from the global section
        for s in ("mc", "quench", "modes"):
            eff = study.point_settings(p, s)
            for key, val in glob[s].items():
                assert eff[key] == OVERRIDE_B[s].get(key, val), (p, s, key)
            # keys that tiny.yaml leaves out come from the defaults, as for block A
            assert set(eff) == set(study.point_settings(pa[0], s))
    # the global sections of the study are untouched by the override
    assert study.config["modes"]["delta"] == TINY["modes"]["delta"]
    assert study.config["mc"]["p_swap"] == TINY["mc"]["p_swap"]
    assert study.config["quench"]["tol"] == TINY["quench"]["tol"]
    with pytest.raises(ValueError, match="section"):
        study.point_settings(pa[0], "fit")


def test_partial_override_merges_key_by_key():
    """An override naming one key leaves the others at the global values, not at the defaults."""
    cfg = _two_blocks({"modes": {"complete_to": 0.5}})
    cfg["modes"]["delta"] = 0.25  # global, differs from DEFAULTS
    study = load_study(cfg)
    pb = _points(study, math.inf)[0]
    eff = study.point_settings(pb, "modes")
    assert eff["complete_to"] == 0.5 and eff["delta"] == 0.25 and eff["k"] == TINY["modes"]["k"]
    assert study.point_settings(_points(study, 2.0)[0], "modes")["complete_to"] == 1.0


def test_empty_override_is_the_global_section():
    study = load_study(_two_blocks({"mc": {}, "quench": {}, "modes": {}}))
    pa, pb = _points(study, 2.0)[0], _points(study, math.inf)[0]
    for s in ("mc", "quench", "modes"):
        assert study.point_settings(pb, s) == study.point_settings(pa, s)
    assert study.point_hash(pb, "seed", "mc") == study.point_hash(pa, "seed", "mc")


# (override of block B, fragments of the message): schema and semantic errors of an override name
# the overriding block's key path
BAD_OVERRIDES = {
    "unknown mc key": ({"mc": {"colour": "blue"}}, ["'colour'", "sweeps[1].mc", "max_sweeps"]),
    "unknown quench key": ({"quench": {"tolerance": 1e-6}}, ["'tolerance'", "sweeps[1].quench", "tol"]),
    "unknown modes key": ({"modes": {"kk": 3}}, ["'kk'", "sweeps[1].modes", "delta"]),
    "delta two": ({"modes": {"delta": 2}}, ["sweeps[1].modes.delta = 2", "[0, 1]"]),
    "delta string": ({"modes": {"delta": "half"}}, ["sweeps[1].modes.delta", "[0, 1]"]),
    "eigenvalues some": ({"modes": {"eigenvalues": "some"}}, ["sweeps[1].modes.eigenvalues = 'some'", "lowest"]),
    "eigenvalues all with k all": ({"modes": {"eigenvalues": "all"}},
                                   ["sweeps[1].modes.eigenvalues = 'all'", "integer", "k"]),
    "level_window per block": ({"modes": {"level_window": 12}}, ["sweeps[1].modes.level_window", "globally"]),
    "k too large": ({"modes": {"k": 100}}, ["sweeps[1].modes.k = 100", "or all"]),
    "k zero": ({"modes": {"k": 0}}, ["sweeps[1].modes.k"]),
    "quench tol negative": ({"quench": {"tol": -1.0}}, ["sweeps[1].quench.tol", "> 0"]),
    "quench max_iter zero": ({"quench": {"max_iter": 0}}, ["sweeps[1].quench.max_iter", "integer >= 1"]),
    "p_swap above one": ({"mc": {"p_swap": 1.5}}, ["sweeps[1].mc.p_swap", "[0, 1]"]),
    "mc budget": ({"mc": {"max_sweeps": 10}}, ["sweeps[1].mc.max_sweeps = 10", "samples_per_batch"]),
    "mc budget from spacing": ({"mc": {"spacing_sweeps": 5000}}, ["max_sweeps", "samples_per_batch", "5200"]),
    "override not a mapping": ({"mc": [1, 2]}, ["sweeps[1].mc"]),
}


@pytest.mark.parametrize("case", sorted(BAD_OVERRIDES))
def test_bad_override_message(case):
    override, fragments = BAD_OVERRIDES[case]
    cfg = _two_blocks(override)
    with pytest.raises(ConfigError) as info:
        load_study(cfg)
    msg = str(info.value)
    for frag in fragments:
        assert frag in msg, f"{case}: {frag!r} not in message {msg!r}"
    # the same settings globally (where the schema allows them there) are not blamed on block B
    assert "sweeps[0]" not in msg, msg


def test_eigenvalues_all_with_integer_k_override_is_accepted():
    study = load_study(_two_blocks({"modes": {"k": 10, "eigenvalues": "all"}}))
    pb = _points(study, math.inf)[0]
    assert study.point_settings(pb, "modes")["eigenvalues"] == "all"
    assert study.point_settings(_points(study, 2.0)[0], "modes")["eigenvalues"] == "lowest"


def test_mc_budget_override_rescues_and_condemns():
    """The MC budget rule uses the settings in force for each block: a global budget too small
    for the block's samples_per_batch is fine where the block raises max_sweeps, and a block's own
    override can break a global budget that is fine; T_p = inf blocks need no MC budget."""
    cfg = _two_blocks({"mc": {"max_sweeps": 100_000}})
    cfg["mc"]["max_sweeps"] = 10
    with pytest.raises(ConfigError, match=r"key mc\.max_sweeps = 10 is too small for sweeps\[0\]"):
        load_study(cfg)  # block A (global budget) is too small; block B's override is fine
    cfg["sweeps"][0]["mc"] = {"max_sweeps": 100_000}
    study = load_study(cfg)
    assert all(study.point_settings(p, "mc")["max_sweeps"] == 100_000 for p in study.points)
    # a T_p = inf only block never runs MC, so its budget is not checked
    cfg = _two_blocks({"mc": {"max_sweeps": 10}, "T_p": ["inf"]})
    study = load_study(cfg)
    assert study.point_settings(_points(study, math.inf)[0], "mc")["max_sweeps"] == 10


def test_point_in_two_blocks_needs_the_same_settings():
    cfg = _two_blocks()
    c = copy.deepcopy(cfg["sweeps"][0])  # block C repeats block A's points with another delta
    c["name"], c["modes"] = "C", {"delta": 0.5}
    cfg["sweeps"].append(c)
    with pytest.raises(ConfigError) as info:
        load_study(cfg)
    msg = str(info.value)
    assert "sweeps[2]" in msg and "modes" in msg and "d2/N36/Tp" in msg and "m2/tipl" in msg, msg
    assert "other modes settings" in msg, msg  # only the section that differs is named
    # an override of quench only is named as quench
    c["modes"] = {}
    c["quench"] = {"max_iter": 5}
    with pytest.raises(ConfigError, match=r"sweeps\[2\].*other quench settings"):
        load_study(cfg)
    # the same effective settings (an override equal to the global value) are fine
    c.pop("quench")
    c["modes"] = {"delta": TINY["modes"]["delta"]}
    study = load_study(cfg)
    assert len(study.points) == 4
    # and so is a repeat of block B with B's own override
    cfg = _two_blocks(OVERRIDE_B)
    cfg["sweeps"].append(copy.deepcopy(cfg["sweeps"][1]))
    assert len(load_study(cfg).points) == 4
    # but not a repeat of block B without it
    cfg["sweeps"][2] = {k: v for k, v in cfg["sweeps"][2].items() if k not in ("mc", "quench", "modes")}
    with pytest.raises(ConfigError, match=r"sweeps\[2\].*mc, quench, modes"):
        load_study(cfg)


SECTIONS_OF_RULE = {"sample": ("seed", "mc"), "quench": ("quench",), "modes": ("modes",)}


@pytest.mark.parametrize("section", ["mc", "quench", "modes"])
def test_point_hash_depends_on_own_block_only(section):
    """Changing block B's override leaves block A's point hashes alone and changes B's."""
    change = {"mc": {"p_swap": 0.4}, "quench": {"tol": 1e-9}, "modes": {"delta": 0.5}}[section]
    change2 = {"mc": {"p_swap": 0.6}, "quench": {"tol": 1e-7}, "modes": {"delta": 0.75}}[section]
    rules = list(SECTIONS_OF_RULE)

    def hashes(study):
        return {(p, r): study.point_hash(p, *SECTIONS_OF_RULE[r]) for p in study.points for r in rules}

    study = load_study(_two_blocks())
    base = hashes(study)
    with_b = hashes(load_study(_two_blocks({section: change})))
    with_b2 = hashes(load_study(_two_blocks({section: change2})))
    with_a = hashes(load_study(_two_blocks({section: change2}, override_a={section: change})))
    pa, pb = _points(study, 2.0), _points(study, math.inf)
    rule = {"mc": "sample", "quench": "quench", "modes": "modes"}[section]
    for p in pa:
        for r in rules:
            # block B's override (added or edited) never touches block A
            assert with_b[(p, r)] == base[(p, r)] == with_b2[(p, r)], (p, r)
        # block A's own override does
        assert with_a[(p, rule)] != base[(p, rule)]
    for p in pb:
        assert with_b[(p, rule)] != base[(p, rule)] and with_b2[(p, rule)] != with_b[(p, rule)]
        assert with_a[(p, rule)] == with_b2[(p, rule)]  # A's override does not touch B
        for r in rules:
            if r != rule:  # the other sections' hashes of B stay
                assert with_b[(p, r)] == base[(p, r)], (p, r)
    # an override equal to the global value is no change at all
    same = hashes(load_study(_two_blocks({section: {k: TINY[section][k] for k in change}})))
    assert same == base


def test_point_hash_of_global_change_moves_every_block_without_override():
    cfg = _two_blocks({"modes": {"delta": 0.5}})
    s1 = load_study(cfg)
    cfg2 = copy.deepcopy(cfg)
    cfg2["modes"]["delta"] = 0.25
    s2 = load_study(cfg2)
    for p in _points(s1, 2.0):  # A follows the global section
        assert s1.point_hash(p, "modes") != s2.point_hash(p, "modes")
    for p in _points(s1, math.inf):  # B overrides delta: a global delta change does not reach B
        assert s1.point_hash(p, "modes") == s2.point_hash(p, "modes")
    cfg2["modes"]["complete_to"] = 0.5  # a key B does not override reaches B too
    s3 = load_study(cfg2)
    for p in _points(s1, math.inf):
        assert s3.point_hash(p, "modes") != s1.point_hash(p, "modes")


@pytest.mark.parametrize("case", ["unknown mc key", "level_window per block", "mc budget"])
def test_snakemake_stops_cleanly_on_bad_override(case, tmp_path):
    override, fragments = BAD_OVERRIDES[case]
    _assert_stops_cleanly(_two_blocks(override), tmp_path, fragments, case)


# ---------------------------------------------------------------- named calibration scans (issue 11)
def test_calibration_list_expands_to_named_directories():
    cfg = copy.deepcopy(TINY)
    cfg["calibration"] = [{"name": "d2-low", "d": 2, "N": 64, "tapers": [2], "temperatures": [0.5]},
                          {"name": "d4", "d": 4, "N": 256, "tapers": ["inf"]}]
    study = load_study(cfg)
    cals = study.calibrations()
    res = study.config["results"]
    assert list(cals) == [f"{res}/calibration/d2-low", f"{res}/calibration/d4"]
    a, b = cals.values()
    assert "name" not in a and a["d"] == 2 and a["tapers"] == [2.0] and a["temperatures"] == [0.5]
    assert b["tapers"] == [math.inf]
    # each scan is merged over the defaults on its own: unset keys take the default values
    from glassvib.study import DEFAULTS

    assert b["temperatures"] == DEFAULTS["calibration"]["temperatures"]
    assert b["n_samples"] == DEFAULTS["calibration"]["n_samples"]


def test_single_calibration_keeps_the_results_directory():
    study = load_study(copy.deepcopy(TINY))
    (path, settings), = study.calibrations().items()
    assert path == study.config["results"] and "name" not in settings


def test_calibration_target_runs_every_named_scan(tmp_path):
    from workflow_checks import job_counts

    cfg = copy.deepcopy(TINY)
    cfg["calibration"] = [{"name": "a", "d": 2, "N": 64, "tapers": [2], "temperatures": [0.5]},
                          {"name": "b", "d": 3, "N": 64, "tapers": [2], "temperatures": [0.5]}]
    cfgfile = tmp_path / "cfg.yaml"
    cfgfile.write_text(yaml.safe_dump(cfg))
    out = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "calibration", "-s", str(REPO / "Snakefile"), "--configfile",
         str(cfgfile), "--directory", str(tmp_path), "--cores", "1"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert job_counts(out.stdout) == {"calibration_scan": 2, "calibration": 1}
    res = cfg["results"]
    for name in ("a", "b"):
        assert f"{res}/calibration/{name}/tables/calibration.parquet" in out.stdout


def _khgps(edit):
    """Edit the KHGPS block of tiny.yaml (the last sweep block)."""
    def apply(cfg):
        edit(cfg["sweeps"][-1])
    return apply


BAD_KHGPS = {
    "J negative": (_khgps(lambda b: b.update(J=[0.1, -1])), ["sweeps[2].J[1]", "a number >= 0"]),
    "kappa_0 zero": (_khgps(lambda b: b.update(kappa_0=[0])), ["sweeps[2].kappa_0[0]", "a number > 0"]),
    "N one": (_khgps(lambda b: b.update(N=[1])), ["sweeps[2].N[0]", "integer >= 2"]),
    "particle key in a KHGPS block": (_khgps(lambda b: b.update(T_p=[0.3])), ["'T_p'", "sweeps[2]", "kappa_0"]),
    "k above N": (_khgps(lambda b: b.update(modes={"k": 100})), ["sweeps[2].modes.k = 100", "1 <= k <= N"]),
    "k word": (_khgps(lambda b: b.update(modes={"k": "some"})), ["sweeps[2].modes.k", "or all"]),
    "mode fraction one": (_khgps(lambda b: b.update(fit={"mode_fraction": 1.0})),
                          ["sweeps[2].fit.mode_fraction", "a number in (0, 1)"]),
    "model misspelt": (_khgps(lambda b: b.update(model="khgp")), ["sweeps[2].model = 'khgp'", "model: khgps"]),
    "tol zero": (_khgps(lambda b: b.update(minimize={"tol": 0})), ["sweeps[2].minimize.tol", "a number > 0"]),
}


@pytest.mark.parametrize("case", sorted(BAD_KHGPS))
def test_bad_khgps_block_message(case):
    _assert_message(case, TINY_ALL, *BAD_KHGPS[case])


def test_khgps_block_expands_beside_the_particles():
    """The KHGPS block of tiny.yaml: its points (paths carry N, h, J, kappa_0), batches and seeds
    beside the particle points, which it leaves unchanged; the block's settings over the defaults."""
    study = load_study(copy.deepcopy(TINY_ALL))
    without = load_study({**copy.deepcopy(TINY_ALL), "sweeps": copy.deepcopy(TINY_ALL["sweeps"][:-1])})
    assert study.points == without.points
    assert sorted(study.khgps_points) == ["khgps/N64/h0.01/J0.1/kappa1", "khgps/N64/h0.01/J0.3/kappa1"]
    assert study.khgps_batch_dirs()[:2] == ["khgps/N64/h0.01/J0.1/kappa1/batch000",
                                            "khgps/N64/h0.01/J0.1/kappa1/batch001"]
    st = study.khgps_settings["khgps/N64/h0.01/J0.1/kappa1"]
    assert st["fit"]["mode_fraction"] == 0.05 and st["fit"]["n_bootstrap"] == 2000 and st["modes"]["k"] == "all"
    assert study.seed("khgps/N64/h0.01/J0.1/kappa1", 1) == batch_seed(TINY_ALL["seed"], "khgps/N64/h0.01/J0.1/kappa1", 1)


def test_schema_quench_methods_are_the_quench_methods():
    """The schema's quench.method enum lists exactly glassvib.quench's methods (the CLI takes those)."""
    from glassvib.minimize import METHODS
    from glassvib.study import SCHEMA_PATH

    schema = yaml.safe_load(SCHEMA_PATH.read_text())
    assert schema["$defs"]["quench"]["properties"]["method"]["enum"] == list(METHODS)
