"""Per-block run-control overrides end to end: each point's jobs run with the settings in force for
its own block, and editing one block's override reruns that block's jobs only (finished points of
other blocks are never redone).

Two blocks of config/tiny.yaml's physics (d = 2, N = 36, T_p = inf so no MC, one batch of two
samples per point): block A (taper 2) on the global sections, block B (taper inf) with its own
``modes`` override. One run up to the per-batch analysis (the aggregate and figures jobs, which
read every point, are left out to keep the test short), then dry runs for the same targets after
editing block B's (or A's) mc, quench or modes.
"""
from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from glassvib.potential import TaperedIPL
from glassvib.system import hessian
from glassvib.configuration import Configuration
from glassvib.tables import read_provenance, read_table
from workflow_checks import job_counts as _job_counts

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
pytestmark = [pytest.mark.workflow]

POINT_A = "d2/N36/Tpinf/m2/tipl"
POINT_B = "d2/N36/Tpinf/minf/tipl"
BATCH_RULES = ("sample", "quench", "analyze")
#: the analyze outputs of both points: the run and the dry runs stop there
TARGETS = [f"results/{p}/batch000/{f}" for p in (POINT_A, POINT_B)
           for f in ("samples.parquet", "modes.parquet", "stress_hist.parquet")]


def _config(override_b, override_a=None):
    tiny = yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())
    cfg = {k: copy.deepcopy(v) for k, v in tiny.items() if k != "sweeps"}
    base = {"d": [2], "N": [36], "T_p": ["inf"], "potential": ["tipl"], "n_samples": 2,
            "samples_per_batch": 2}
    a = {"name": "A", **copy.deepcopy(base), "taper": [2], **copy.deepcopy(override_a or {})}
    b = {"name": "B", **copy.deepcopy(base), "taper": ["inf"], **copy.deepcopy(override_b)}
    cfg["sweeps"] = [a, b]
    cfg["modes"] = {"k": "all", "delta": 0.0, "level_window": 10}
    return cfg


B_MODES = {"modes": {"delta": 0.25}}


def _snakemake(args, workdir, timeout=300):
    return subprocess.run(SNAKEMAKE + ["--directory", str(workdir)] + args, capture_output=True, text=True,
                          timeout=timeout)


def _write(work, name, cfg):
    path = work / name
    path.write_text(yaml.safe_dump(cfg))
    return path


def _dry_run(work, cfg, name):
    # targets first: --configfile takes every following word
    out = _snakemake(TARGETS + ["-n", "--cores", "2", "--configfile", str(_write(work, name, cfg))], work)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text[-4000:]
    return text


def _scheduled(text):
    """rule -> set of (point, batch) of the per-batch jobs a dry run schedules."""
    jobs = {r: set() for r in BATCH_RULES}
    # one job block per "rule <name>:" header, its wildcards line names the point and batch
    for block in re.split(r"\n(?=(?:local)?rule \w+:)", text):
        m = re.match(r"(?:local)?rule (\w+):", block.strip())
        if not m or m.group(1) not in jobs:
            continue
        w = re.search(r"wildcards: point=([^,\s]+), batch=(\d+)", block)
        assert w, block
        jobs[m.group(1)].add((w.group(1), w.group(2)))
    return jobs




@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    work = tmp_path_factory.mktemp("overrides")
    cfg = _config(B_MODES)
    run = _snakemake(TARGETS + ["--cores", "2", "--configfile", str(_write(work, "run.yaml", cfg))], work)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    outputs = sorted((work / "results").glob("d2/N36/Tpinf/m*/tipl/batch*/*.*"))
    assert outputs
    return {"work": work, "cfg": cfg, "mtimes": {p: p.stat().st_mtime_ns for p in outputs}}


def _spectrum_check(work, point, taper, delta):
    """The batch's eigenvalues are those of H(delta) of its inherent structures (dense LAPACK)."""
    batch = work / "results" / point / "batch000"
    with np.load(batch / "inherent.npz") as data:
        pos, dia, box = data["positions"], data["diameters"], float(data["box"])
        sample = data["sample"]
    modes = read_table(batch / "modes.parquet")
    pot = TaperedIPL(n=12, r_cut=1.955, taper=taper)
    for i, sid in enumerate(sample):
        conf = Configuration(pos[i], dia[i], box)
        ref = np.linalg.eigvalsh(hessian(conf, pot, delta=delta).toarray())
        got = modes[modes["sample"] == sid].sort_values("rank")["omega2"].to_numpy()
        assert got.size == ref.size
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-9 * np.max(np.abs(ref)))
        # and not those of another delta (the override must reach the job)
        other = np.linalg.eigvalsh(hessian(conf, pot, delta=0.5 if delta == 0 else 0.0).toarray())
        assert np.max(np.abs(got - other)) > 1e-6 * np.max(np.abs(ref))
    assert json.loads(read_provenance(batch / "modes.parquet")["delta"]) == delta


def test_each_block_runs_with_its_settings(finished):
    work = finished["work"]
    _spectrum_check(work, POINT_A, 2, 0.0)
    _spectrum_check(work, POINT_B, float("inf"), 0.25)
    ha = read_provenance(work / "results" / POINT_A / "batch000" / "modes.parquet")["config_hash"]
    hb = read_provenance(work / "results" / POINT_B / "batch000" / "modes.parquet")["config_hash"]
    assert ha != hb


def test_unchanged_config_nothing_to_do(finished):
    text = _dry_run(finished["work"], finished["cfg"], "same.yaml")
    assert "Nothing to be done" in text, text[-3000:]
    # an override of block A that repeats the global values changes nothing either
    text = _dry_run(finished["work"], _config(B_MODES, {"modes": {"delta": 0.0}, "quench": {"tol": 1e-10}}),
                    "a_same.yaml")
    assert "Nothing to be done" in text, text[-3000:]


# edit of block B -> the per-batch rules that must rerun for B's point
EDITS = {
    "modes": ({"modes": {"delta": 0.5}}, {"analyze"}),
    "quench": ({"modes": {"delta": 0.25}, "quench": {"tol": 1e-9}}, {"quench", "analyze"}),
    "mc": ({"modes": {"delta": 0.25}, "mc": {"p_swap": 0.4}}, {"sample", "quench", "analyze"}),
    "drop override": ({}, {"analyze"}),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_edit_of_block_b_reruns_block_b_only(finished, edit):
    override, rules = EDITS[edit]
    text = _dry_run(finished["work"], _config(override), f"edit_{edit.replace(' ', '_')}.yaml")
    jobs = _scheduled(text)
    counts = _job_counts(text)
    for rule in BATCH_RULES:
        expected = {(POINT_B, "000")} if rule in rules else set()
        assert jobs[rule] == expected, (edit, rule, jobs, text[-3000:])
        assert counts.get(rule, 0) == len(expected), (edit, counts)
    assert all(POINT_A not in p for p, _ in set().union(*jobs.values()))
    assert set(counts) <= set(BATCH_RULES), counts


def test_edit_of_block_a_reruns_block_a_only(finished):
    text = _dry_run(finished["work"], _config(B_MODES, {"modes": {"delta": 0.5}}), "edit_a.yaml")
    jobs = _scheduled(text)
    assert jobs["analyze"] == {(POINT_A, "000")} and not jobs["sample"] and not jobs["quench"], jobs


def test_global_level_window_does_not_rerun_analyze(finished):
    """The k = all / eigenvalues = lowest routes do not read level_window, so a change of it must not
    rerun their analyze jobs (only the aggregate step, which pools the windows)."""
    cfg = _config(B_MODES)
    cfg["modes"]["level_window"] = 11
    text = _dry_run(finished["work"], cfg, "level_window.yaml")
    jobs = _scheduled(text)
    assert not jobs["analyze"], jobs


def test_dry_runs_left_finished_outputs_alone(finished):
    for path, mtime in finished["mtimes"].items():
        assert path.stat().st_mtime_ns == mtime, f"{path} changed"
