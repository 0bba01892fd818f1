"""End to end: the tiny config through snakemake with the real physics (issue 5).

One run is interrupted after its first finished batch and restarted; finished batches must not be
redone, the tables and figures are opened and checked (tests/workflow_checks.py), adding a T_p
must schedule only the new points, the HTML report must build, and `snakemake --lint` is clean.
"""
from __future__ import annotations

import base64
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from workflow_checks import check_results, job_counts as _job_counts

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile")]
pytestmark = [pytest.mark.workflow, pytest.mark.slow]


def _snakemake(args, workdir, timeout=600):
    return subprocess.run(SNAKEMAKE + ["--directory", str(workdir)] + args, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("tiny")
    cfg = yaml.safe_load((REPO / "config" / "tiny.yaml").read_text())
    cfgfile = work / "config.yaml"
    cfgfile.write_text(yaml.safe_dump(cfg))
    args = ["--cores", "2", "--configfile", str(cfgfile)]
    # 1) start, interrupt after the first batch has been analysed
    proc = subprocess.Popen(SNAKEMAKE + ["--directory", str(work)] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    results = work / "results"
    deadline = time.time() + 300
    first = []
    while time.time() < deadline and proc.poll() is None:
        # interrupt once the first batch is fully analysed (its last output written)
        first = sorted(results.glob("d*/N*/Tp*/m*/*/batch*/stress_hist.parquet"))
        if first:
            break
        time.sleep(0.2)
    interrupted = proc.poll() is None
    if interrupted:
        os.killpg(proc.pid, signal.SIGINT)
    out1 = proc.communicate(timeout=120)[0]
    assert first, f"no batch finished in the first run:\n{out1[-3000:]}"
    # outputs of jobs killed by the interrupt are marked incomplete by snakemake (and rerun);
    # every other output that exists belongs to a finished job and must survive the restart
    inc = work / ".snakemake" / "incomplete"
    incomplete = {(work / base64.urlsafe_b64decode(f.name).decode()).resolve()
                  for f in inc.iterdir()} if inc.exists() else set()
    outputs = list(results.glob("d*/N*/Tp*/m*/*/batch*/*.parquet")) + \
        list(results.glob("d*/N*/Tp*/m*/*/batch*/*.npz"))
    done = {p: p.stat().st_mtime_ns for p in outputs if p.resolve() not in incomplete
            and not p.name.startswith((".", "mc_checkpoint"))}
    # 2) restart and finish
    t0 = time.time()
    run2 = _snakemake(args, work)
    wall = time.time() - t0
    assert run2.returncode == 0, run2.stdout[-4000:] + run2.stderr[-4000:]
    return {"work": work, "cfg": cfg, "cfgfile": cfgfile, "done": done, "interrupted": interrupted,
            "log": run2.stderr, "wall": wall}


def _n_points(cfg) -> int:
    from glassvib.study import load_study

    return len(load_study(cfg).points)


def test_two_models_in_one_study(tiny_run):
    """The tiny config runs the tapered IPL and the binary IPL side by side: the binary IPL's point
    folder holds its definition, its samples have two species at the thesis' density, and the two
    models' predictions differ (3 + 2/m with m = 3 for the binary IPL)."""
    import json

    import numpy as np

    from glassvib.tables import read_table

    res = tiny_run["work"] / "results"
    spec = json.loads((res / "d2/N36/Tp1/m3/bipl/potential.json").read_text())
    assert spec["model"] == "binary_ipl"
    with np.load(res / "d2/N36/Tp1/m3/bipl/batch000/inherent.npz") as z:
        assert set(np.unique(z["species"])) == {0, 1} and float(z["box"]) == pytest.approx((36 / 0.86) ** 0.5)
    assert not (res / "d2/N36/Tp0.5/m2/tipl/potential.json").exists()  # tipl: defined by its path
    ex = read_table(res / "tables" / "exponents.parquet")
    assert set(ex["potential"]) == {"tipl", "bipl"}
    assert np.allclose(ex.loc[ex["potential"] == "bipl", "s_ghet"], 3 + 2 / 3)


def test_restart_keeps_finished_batches(tiny_run):
    assert tiny_run["interrupted"], "the first run finished before it could be interrupted"
    assert tiny_run["done"], "nothing was finished before the interrupt"
    for path, mtime in tiny_run["done"].items():
        assert path.exists() and path.stat().st_mtime_ns == mtime, f"{path} was redone after the restart"


def test_tables_and_figures(tiny_run):
    summary = check_results(tiny_run["work"] / "results", tiny_run["cfg"])
    print(summary["exponents"].to_string())


def test_nothing_to_redo_and_new_points_only(tiny_run):
    work, cfg = tiny_run["work"], tiny_run["cfg"]
    dry = _snakemake(["-n", "--cores", "2", "--configfile", str(tiny_run["cfgfile"])], work)
    assert dry.returncode == 0
    assert "Nothing to be done" in dry.stdout + dry.stderr, dry.stdout + dry.stderr
    more = yaml.safe_load(yaml.safe_dump(cfg))
    more["sweeps"][0]["T_p"] = list(cfg["sweeps"][0]["T_p"]) + [0.8]
    cfg2 = work / "config_more.yaml"
    cfg2.write_text(yaml.safe_dump(more))
    dry = _snakemake(["-n", "--cores", "2", "--configfile", str(cfg2)], work)
    assert dry.returncode == 0, dry.stderr[-3000:]
    counts = _job_counts(dry.stdout + dry.stderr)
    block = cfg["sweeps"][0]
    new_batches = len(block["taper"]) * -(-block["n_samples"] // block["samples_per_batch"])
    assert counts.get("sample") == new_batches, counts
    assert counts.get("quench") == new_batches and counts.get("analyze") == new_batches, counts
    assert counts.get("aggregate") == 1 and counts.get("figures") == 1, counts


def test_report_builds(tiny_run):
    work = tiny_run["work"]
    rep = _snakemake(["--report", "report.html", "--configfile", str(tiny_run["cfgfile"])], work)
    assert rep.returncode == 0, rep.stderr[-3000:]
    html = (work / "report.html").read_bytes()
    assert len(html) > 10_000
    for fig in ("exponents.png", "level_ratios.png", "stress_distribution.png"):
        assert fig.encode() in html, f"{fig} missing from the report"


def test_lint_clean(tmp_path):
    shutil.copy(REPO / "config.yaml", tmp_path / "config.yaml")
    lint = _snakemake(["--lint", "--configfile", str(tmp_path / "config.yaml")], tmp_path)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert "Congratulations" in lint.stdout + lint.stderr


def test_paper_target(tiny_run):
    """`snakemake paper`: Figs. 2-4 in the paper's form, the mode picture and the cost table, with
    one cost row per point whose stage medians are positive."""
    work = tiny_run["work"]
    run = _snakemake(["paper", "--cores", "2", "--configfile", str(tiny_run["cfgfile"])], work)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    figs = work / "results" / "figures"
    for name in ("paper_fig2", "paper_fig3", "paper_fig4", "mode"):
        for ext in ("png", "pdf"):
            assert (figs / f"{name}.{ext}").stat().st_size > 1000, f"{name}.{ext} missing or empty"
    text = (work / "results" / "cost_table.md").read_text()
    from glassvib.costs import cost_table

    from glassvib.study import load_study

    tab = cost_table(work / "results")
    n_khgps = len(load_study(tiny_run["cfg"]).khgps_points)
    assert len(tab) == _n_points(tiny_run["cfg"]) + n_khgps  # the KHGPS points have their one stage
    particles = ~tab["point"].str.startswith("khgps/")
    assert (tab.loc[particles, ["quench", "analyze"]] > 0).all().all()
    assert (tab.loc[~particles, "khgps"] > 0).all() and particles.sum() == _n_points(tiny_run["cfg"])
    for point in tab["point"]:
        assert point in text


def test_scan_target(tiny_run):
    """`snakemake scan`: the scan figures and scan_table.md (one row per point) from the tables."""
    work = tiny_run["work"]
    run = _snakemake(["scan", "--cores", "2", "--configfile", str(tiny_run["cfgfile"])], work)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    figs = work / "results" / "figures"
    from glassvib.scan_figures import SCAN_FIGURES

    for name in SCAN_FIGURES:
        for ext in ("png", "pdf"):
            assert (figs / f"{name}.{ext}").stat().st_size > 1000, f"{name}.{ext} missing or empty"
    rows = [line for line in (figs / "scan_table.md").read_text().splitlines()[2:] if line.startswith("|")]
    assert len(rows) == _n_points(tiny_run["cfg"])


def test_khgps_beside_particles(tiny_run):
    """The tiny config's KHGPS block ran in the same DAG: its tables follow their contract (every
    sample converged to max |dH/dx| <= 1e-10 with a positive definite Hessian, the full spectrum
    per sample), one exponents row per point with s, A_g and <x*^2>, and the figures exist."""
    import numpy as np

    from glassvib.study import load_study
    from glassvib.tables import KHGPS_COLUMNS, read_table

    res = tiny_run["work"] / "results"
    study = load_study(tiny_run["cfg"])
    tabs = {}
    for name, cols in KHGPS_COLUMNS.items():
        tabs[name] = read_table(res / "tables" / f"{name}.parquet")
        assert list(tabs[name].columns) == list(cols), name
    smp, mds, ex = tabs["khgps_samples"], tabs["khgps_modes"], tabs["khgps_exponents"]
    assert len(smp) == sum(n for _, n, _ in study.khgps_points.values())
    assert smp["converged"].all() and (smp["max_grad"] <= 1e-10).all() and (smp["n_negative"] == 0).all()
    assert (mds.groupby(["J", "sample"]).size() == 64).all()
    assert (mds["omega2"] > 0).all() and np.allclose(mds["omega"] ** 2, mds["omega2"])
    assert len(ex) == len(study.khgps_points) and (ex["s_other"] == 4.0).all()
    assert (ex["msd_mean"] > 0).all() and (ex["A_g_hat"] > 0).all() and ex["complete"].all()
    for f in ("khgps_dos", "khgps_prefactor"):
        assert (res / "figures" / f"{f}.png").stat().st_size > 1000
    assert "| 64 | 0.01 | 0.1 |" in (res / "figures" / "khgps_table.md").read_text()


def test_aggregate_finished_matches_the_workflow(tiny_run, tmp_path):
    """workflow/scripts/aggregate_finished.py on a finished run writes the tables of the aggregate
    rules (same fit, seed, windows: identical exponents and KHGPS exponents) and lists the batches;
    with a batch missing it aggregates the rest and counts only their samples."""
    import pandas as pd

    from glassvib.tables import read_table

    copy = tmp_path / "results"
    shutil.copytree(tiny_run["work"] / "results", copy)
    cfg = yaml.safe_load(yaml.safe_dump(tiny_run["cfg"]))
    cfg["results"] = str(copy)
    cfgfile = tmp_path / "config.yaml"
    cfgfile.write_text(yaml.safe_dump(cfg))
    script = [sys.executable, str(REPO / "workflow" / "scripts" / "aggregate_finished.py"), str(cfgfile)]
    run = subprocess.run(script, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    orig = tiny_run["work"] / "results" / "tables"
    for name in ("exponents", "khgps_exponents", "samples"):
        pd.testing.assert_frame_equal(read_table(copy / "tables" / f"{name}.parquet"), read_table(orig / f"{name}.parquet"))
    listed = (copy / "aggregated_batches.txt").read_text().split()
    assert any("/khgps/" in b for b in listed) and any("/tipl/" in b for b in listed)
    # one batch unfinished: the rest is aggregated, its point counts only its finished samples
    victim = sorted(copy.glob("d*/N*/Tp*/m*/tipl/batch001/samples.parquet"))[0]
    n_victim = len(read_table(victim))
    victim.unlink()
    run = subprocess.run(script, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert str(victim.parent) not in (copy / "aggregated_batches.txt").read_text().split()
    smp = read_table(copy / "tables" / "samples.parquet")
    assert len(smp) == len(read_table(orig / "samples.parquet")) - n_victim
