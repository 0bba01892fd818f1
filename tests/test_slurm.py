"""The SLURM profile, proven on a real one-node SLURM cluster (issue 6).

``tests/slurm_cluster.py`` stands up munged, slurmctld and slurmd on this machine (installing
Debian's slurm-wlm and munge if absent); the tiny study (``config/tiny.yaml``) then runs through
``snakemake --profile profiles/slurm-test`` in a temporary directory. The test checks that every
job really went through SLURM (the job ids snakemake reports are the jobs squeue knows, all
COMPLETED, with the expected grouping, and their SLURM logs show the rules that ran in them), then
opens the tables as the local end-to-end test does (``workflow_checks.check_results``). The cluster
is stopped by PID afterwards and the machine left as found (checked here too).

Select with ``pytest -m slurm``; deselect with ``-m "not slurm"``. Without root or apt-get the
cluster tests are skipped with the reason; ``GLASSVIB_REQUIRE_SLURM=1`` (CI) makes that a failure.
"""
from __future__ import annotations

import math
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from slurm_cluster import (CONF_MARKER, SYSTEM_CONF, SlurmCluster, _unavailable, daemon_pids,
                           die_with_parent, slurm_cluster)  # noqa: F401
from workflow_checks import check_results

REPO = Path(__file__).resolve().parents[1]
PROFILE = REPO / "profiles" / "slurm"
TEST_PROFILE = REPO / "profiles" / "slurm-test"
RULES = ("sample", "quench", "analyze", "aggregate", "figures")
#: The only settings profiles/slurm-test may add to profiles/slurm (issue 6).
TEST_ONLY = {"slurm-status-command": "squeue", "slurm-no-account": True}
TEST_PARTITION = "main"


def _load(profile: Path) -> dict:
    return yaml.safe_load((profile / "config.yaml").read_text())


def _conf_state():
    """Contents of /etc/slurm/slurm.conf (None if absent; a stale one of ours counts as absent)."""
    if not SYSTEM_CONF.exists():
        return None
    data = SYSTEM_CONF.read_bytes()
    return None if data.startswith(CONF_MARKER.encode()) else data


# -- profiles (no cluster needed) --------------------------------------------------------------
def test_test_profile_adds_only_accounting_settings():
    real, test = _load(PROFILE), _load(TEST_PROFILE)
    assert real["executor"] == "slurm"
    for key in TEST_ONLY:
        assert key not in real, f"profiles/slurm must not force {key} (real clusters have accounting)"
    assert "slurm_partition" not in real["default-resources"], "the real profile names no partition"
    expected = {**real, **TEST_ONLY}
    expected["default-resources"] = {**real["default-resources"], "slurm_partition": TEST_PARTITION}
    assert test == expected, (
        "profiles/slurm-test must equal profiles/slurm plus slurm-status-command, slurm-no-account "
        f"and slurm_partition only; differing keys: "
        f"{sorted(k for k in set(test) | set(expected) if test.get(k) != expected.get(k))}")


def test_profile_covers_every_rule_and_groups_the_batch_chain():
    real = _load(PROFILE)
    assert real["retries"] >= 1 and real["jobs"] >= 1
    for key in ("runtime", "mem_mb"):
        assert key in real["default-resources"], f"default-resources lacks {key}"
    assert set(real["set-resources"]) == set(RULES), sorted(real["set-resources"])
    for rule in RULES:
        assert "mem_mb" in real["set-resources"][rule], f"no mem_mb for rule {rule}"
    groups = real["groups"]
    assert groups["sample"] == groups["quench"] == groups["analyze"], groups
    assert real["group-components"][groups["sample"]] >= 1


def test_resource_expressions_scale_with_size_and_attempt():
    """Evaluate the profile's expressions the way snakemake does (eval with wildcards, attempt)."""
    real = _load(PROFILE)

    class WC:
        def __init__(self, point):
            self.point = point

    def value(rule, key, d, n, attempt=1):
        expr = str(real["set-resources"][rule][key])
        return eval(expr, {"wildcards": WC(f"d{d}/N{n}/Tp0.3/m2/tipl"), "attempt": attempt})

    for rule in ("sample", "quench", "analyze"):
        for key in ("mem_mb", "runtime"):
            for d in (2, 3, 4):
                small, big = value(rule, key, d, 100, 1), value(rule, key, d, 20000, 1)
                assert isinstance(small, int) and 0 < small < big, f"{rule}.{key} not growing with N"
                assert value(rule, key, d, 20000, attempt=2) == 2 * big, f"{rule}.{key} vs attempt"
            grows_with_d = key == "runtime" or rule == "analyze"  # MC/quench memory ~ N only
            lo, hi = value(rule, key, 2, 1000), value(rule, key, 3, 1000)
            assert lo < hi if grows_with_d else lo <= hi, f"{rule}.{key} vs d: {lo}, {hi}"
    # dense eigensolver: at least a few copies of the (dN)^2 float64 Hessian
    assert value("analyze", "mem_mb", 3, 1600) * 1e6 >= 3 * 8 * (3 * 1600) ** 2
    # the paper's batch job (d = 3, N = 1600: ~8 min MC, ~7 min eigh) fits with a margin
    chain = sum(value(r, "runtime", 3, 1600) for r in ("sample", "quench", "analyze"))
    assert chain >= 2 * (8 + 7), chain


# -- the one-node cluster ----------------------------------------------------------------------
@pytest.mark.slurm
def test_cluster_starts_runs_a_job_and_leaves_the_machine_as_found():
    conf_before = _conf_state()
    with SlurmCluster() as cluster:
        root = cluster.root
        assert set(cluster.pids) == {"munged", "slurmctld", "slurmd"}
        assert all(pid in daemon_pids() for pid in cluster.pids.values())
        out = cluster.run("sbatch", "--parsable", "--wrap", "echo ran on $(hostname)",
                          f"--output={root}/hello.out")
        assert out.returncode == 0, out.stderr
        job_id = out.stdout.strip().split(";")[0]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            state = {j["id"]: j["state"] for j in cluster.jobs()}.get(job_id)
            if state == "COMPLETED":
                break
            time.sleep(0.5)
        assert state == "COMPLETED", f"job {job_id} state {state}\n{cluster.logs()}"
        assert (root / "hello.out").read_text().strip() == f"ran on {cluster.host}"
    assert not root.exists(), "temporary cluster directory left behind"
    assert _conf_state() == conf_before, f"{SYSTEM_CONF} not restored"
    ours = set(cluster.pids.values())
    assert not ours & set(daemon_pids()), f"daemons {cluster.pids} still running: {daemon_pids()}"


@pytest.fixture(scope="module")
def slurm_run(slurm_cluster, tmp_path_factory):  # noqa: F811
    """The tiny study through profiles/slurm-test on the one-node cluster."""
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        _unavailable("snakemake-executor-plugin-slurm is not installed (pip install -e '.[test]')")
    work = tmp_path_factory.mktemp("slurm_tiny")
    cfg = yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())
    cfgfile = work / "config.yaml"
    cfgfile.write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work),
           "--configfile", str(cfgfile), "--profile", str(TEST_PROFILE),
           # test-only speed and evidence knobs (not profile settings): poll squeue after 1 s
           # instead of 40 s, and keep the SLURM log of every job, not just the failed ones.
           "--slurm-init-seconds-before-status-checks", "1", "--slurm-keep-successful-logs",
           "--verbose"]  # --verbose: the log names the status command of every poll
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, env=slurm_cluster.env, cwd=work, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            preexec_fn=die_with_parent)
    try:
        log, _ = proc.communicate(timeout=1200)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGTERM)
        log, _ = proc.communicate(timeout=60)
        pytest.fail(f"snakemake on SLURM did not finish in 1200 s:\n{log[-4000:]}\n{slurm_cluster.logs()}")
    wall = time.monotonic() - t0
    assert proc.returncode == 0, f"snakemake failed:\n{log[-6000:]}\n{slurm_cluster.logs()}"
    return {"work": work, "cfg": cfg, "log": log, "wall": wall, "jobs": slurm_cluster.jobs(),
            "cmd": cmd}


@pytest.mark.slurm
def test_jobs_went_through_slurm(slurm_run, capsys):
    log, jobs = slurm_run["log"], slurm_run["jobs"]
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", log)
    assert submitted, f"no 'submitted with SLURM jobid' line in the snakemake log:\n{log[-3000:]}"
    known = {j["id"]: j for j in jobs}
    assert set(submitted) == set(known), f"snakemake submitted {submitted}, squeue knows {sorted(known)}"
    bad = {i: j["state"] for i, j in known.items() if j["state"] != "COMPLETED"}
    assert not bad, f"SLURM jobs not COMPLETED: {bad}"
    assert len({j["name"] for j in jobs}) == 1, "all jobs of one run carry the run's uuid as name"
    # job states came from squeue (no accounting on this cluster): every poll says which command
    polls = re.findall(r"Status query timing \(cycle\): command=(\w+)", log)
    assert polls and set(polls) == {"squeue"}, f"status queries used {sorted(set(polls))}"

    # grouping: ceil(batches / group-components) batch jobs + one summary job
    real = _load(PROFILE)
    from glassvib.study import load_study

    study = load_study(slurm_run["cfg"])
    n_batches = len(study.batch_dirs())
    per_job = real["group-components"][real["groups"]["sample"]]
    comments = sorted(j["comment"] for j in jobs)
    n_batch_jobs = sum(c.startswith(f"rule_{real['groups']['sample']}_") for c in comments)
    assert n_batch_jobs == math.ceil(n_batches / per_job), (n_batches, per_job, comments)
    # the KHGPS block of the tiny config: one job per KHGPS batch, one for its two summary rules
    n_khgps = len(study.khgps_batch_dirs())
    n_khgps_jobs = sum(c.startswith("rule_khgps_batch") for c in comments)
    assert n_khgps_jobs == n_khgps, (n_khgps, comments)
    assert len(jobs) == n_batch_jobs + 1 + n_khgps + (1 if n_khgps else 0), comments

    # every rule ran inside a SLURM job: its SLURM log (kept) names the rule
    slurm_logs = sorted((slurm_run["work"] / ".snakemake" / "slurm_logs").rglob("*.log"))
    assert {p.stem for p in slurm_logs} >= set(submitted), f"SLURM logs: {slurm_logs}"
    ran = set()
    for p in slurm_logs:
        ran |= set(re.findall(r"^rule (\w+):", p.read_text(errors="replace"), flags=re.M))
    assert ran >= set(RULES), f"rules seen in SLURM job logs: {sorted(ran)}"
    # Shown even under `pytest -q` (the closing note wants the wall time and the job ids).
    line = (f"SLURM test: snakemake wall time {slurm_run['wall']:.1f} s, {len(jobs)} SLURM jobs "
            f"(ids {', '.join(sorted(known, key=int))}) for {n_batches} batches, all COMPLETED")
    with capsys.disabled():
        print(f"\n{line}")


@pytest.mark.slurm
def test_tables_and_figures_from_slurm(slurm_run):
    summary = check_results(slurm_run["work"] / slurm_run["cfg"].get("results", "results"),
                            slurm_run["cfg"])
    print(summary["rows"])
