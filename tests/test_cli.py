"""The `glassvib` CLI: argument validation, deterministic seeds, atomic writes, provenance, and a
real sample -> quench -> analyze -> aggregate -> figures chain on a tiny T_p = inf ensemble."""
from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pyarrow.parquet as pq
import pytest

import glassvib as gv
from glassvib.cli import main
from glassvib.provenance import atomic_path
from glassvib.tables import COLUMNS, EXTRA_COLUMNS, read_provenance

POINT = "d2/N25/Tpinf/m2/tipl"


def test_console_script_help():
    out = subprocess.run([sys.executable, "-m", "glassvib.cli", "--help"], capture_output=True, text=True)
    assert out.returncode == 0
    for cmd in ("sample", "quench", "analyze", "aggregate", "figures", "calibrate"):
        assert cmd in out.stdout


@pytest.mark.parametrize("argv, fragment", [
    (["sample", "--point", "d5/N25/Tpinf/m2/tipl", "--n-samples", "1", "--seed", "1", "--output", "x.npz"], "d ="),
    (["sample", "--point", "d2/N25", "--n-samples", "1", "--seed", "1", "--output", "x.npz"], "--point"),
    (["sample", "--d", "2", "--N", "25", "--n-samples", "1", "--seed", "1", "--output", "x.npz"], "--T-p"),
    (["sample", "--point", POINT, "--n-samples", "0", "--seed", "1", "--output", "x.npz"], "--n-samples"),
    (["quench", "--input", "does_not_exist.npz", "--output", "y.npz"], "does not exist"),
    (["sample", "--point", "d2/N25/Tpinf/m2/lj", "--n-samples", "1", "--seed", "1", "--output", "x.npz"],
     "tipl"),
])
def test_bad_arguments_exit_2(argv, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err
    assert not (tmp_path / "x.npz").exists()


def test_bad_k_is_a_usage_error(tmp_path):
    with pytest.raises(SystemExit) as info:
        main(["analyze", "--input", "x.npz", "--k", "zero", "--output-dir", str(tmp_path)])
    assert info.value.code == 2


def test_atomic_path_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.parquet"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    with atomic_path(target) as tmp:
        tmp.write_text("whole")
    assert target.read_text() == "whole" and len(list(tmp_path.iterdir())) == 1


def test_sample_inf_is_deterministic(tmp_path):
    a, b, c = tmp_path / "a.npz", tmp_path / "b.npz", tmp_path / "c.npz"
    base = ["sample", "--point", POINT, "--n-samples", "3", "--first-sample", "6"]
    assert main(base + ["--seed", "11", "--output", str(a)]) == 0
    assert main(base + ["--seed", "11", "--output", str(b)]) == 0
    assert main(base + ["--seed", "12", "--output", str(c)]) == 0
    A, B, C = np.load(a), np.load(b), np.load(c)
    assert A["positions"].shape == (3, 25, 2) and A["diameters"].shape == (3, 25)
    assert list(A["sample"]) == [6, 7, 8]
    assert np.array_equal(A["positions"], B["positions"]) and np.array_equal(A["seed"], B["seed"])
    assert not np.allclose(A["positions"], C["positions"])
    assert len(set(A["seed"].tolist())) == 3, "each T_p = inf sample has its own recorded seed"
    assert math.isclose(float(A["box"]), 5.0)
    meta = json.loads(str(A["meta"]))
    assert meta["point_path"] == POINT and meta["provenance"]["seeds"] == "[11]"


def test_model_chain_reads_the_definition_from_the_point_folder(tmp_path):
    """A potential other than tipl: `glassvib potential` writes the point folder's definition,
    sample draws the model's particles (species, density) from it, quench and analyze take the
    potential from the file's metadata and analyze records it in the provenance."""
    point = "d2/N36/Tpinf/m3/bipl"
    batch = tmp_path / point / "batch000"
    batch.mkdir(parents=True)
    assert main(["potential", "--spec", '{"model": "binary_ipl"}', "--output",
                 str(tmp_path / point / "potential.json")]) == 0
    assert json.loads((tmp_path / point / "potential.json").read_text())["model"] == "binary_ipl"
    assert main(["sample", "--point", point, "--n-samples", "2", "--seed", "3",
                 "--output", str(batch / "parents.npz")]) == 0
    p = np.load(batch / "parents.npz")
    assert p["species"].shape == (2, 36) and set(np.unique(p["species"])) == {0, 1}
    assert math.isclose(float(p["box"]), (36 / 0.86) ** 0.5)
    assert json.loads(str(p["meta"]))["potential"]["model"] == "binary_ipl"
    assert main(["quench", "--input", str(batch / "parents.npz"), "--output", str(batch / "inherent.npz")]) == 0
    q = np.load(batch / "inherent.npz")
    assert q["converged"].all() and np.array_equal(q["species"], p["species"])
    assert main(["analyze", "--input", str(batch / "inherent.npz"), "--k", "all", "--output-dir", str(batch)]) == 0
    prov = read_provenance(batch / "samples.parquet")
    assert json.loads(prov["potential"])["model"] == "binary_ipl"


@pytest.mark.parametrize("argv, fragment", [
    (["potential", "--spec", '{"model": "lj"}', "--output", "p.json"], "allowed: tapered_ipl"),
    (["potential", "--spec", "not json", "--output", "p.json"], "--spec"),
    (["sample", "--point", "d2/N36/Tpinf/m2/bipl", "--potential-spec", '{"model": "binary_ipl"}', "--n-samples", "1",
      "--seed", "1", "--output", "x.npz"], "cutoff order m = 3.0, the path says m = 2"),
    (["sample", "--point", "d2/N36/Tpinf/m2/tipl", "--potential-spec", '{"model": "tapered_ipl"}', "--n-samples",
      "1", "--seed", "1", "--output", "x.npz"], "defined by its path"),
])
def test_bad_model_arguments_exit_2(argv, fragment, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err
    assert not (tmp_path / "x.npz").exists() and not (tmp_path / "p.json").exists()


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """sample -> quench -> analyze for one tiny batch (real physics)."""
    root = tmp_path_factory.mktemp("cli")
    batch = root / POINT / "batch000"
    batch.mkdir(parents=True)
    assert main(["sample", "--point", POINT, "--n-samples", "3", "--seed", "5",
                 "--output", str(batch / "parents.npz")]) == 0
    assert main(["quench", "--input", str(batch / "parents.npz"), "--config-hash", "abc",
                 "--output", str(batch / "inherent.npz")]) == 0
    assert main(["analyze", "--input", str(batch / "inherent.npz"), "--k", "all", "--config-hash", "def",
                 "--output-dir", str(batch)]) == 0
    return root, batch


def test_quench_converges(chain):
    _, batch = chain
    q = np.load(batch / "inherent.npz")
    assert q["converged"].all() and (q["max_force"] < 1e-10).all()
    p = np.load(batch / "parents.npz")
    assert np.array_equal(q["diameters"], p["diameters"]) and np.array_equal(q["sample"], p["sample"])


def test_quench_method_is_passed_and_recorded(chain, tmp_path):
    """--method reaches glassvib.quench (FIRE from the same parents gives its minima bit for bit) and
    is recorded in the output's metadata."""
    from glassvib.cli import _conf_of, _load_npz

    _, batch = chain
    out = tmp_path / "inherent_fire.npz"
    assert main(["quench", "--input", str(batch / "parents.npz"), "--method", "fire", "--output", str(out)]) == 0
    arrays, meta = _load_npz(str(out))
    assert meta["quench"]["method"] == "fire"
    parents, pmeta = _load_npz(str(batch / "parents.npz"))
    pot = gv.TaperedIPL(taper=2)
    for i in range(len(parents["positions"])):
        ref = gv.quench(_conf_of(parents, i), pot, method="fire")
        assert np.array_equal(arrays["positions"][i], ref.configuration.positions)
    assert _load_npz(str(batch / "inherent.npz"))[1]["quench"]["method"] == "auto"


def test_analyze_tables_and_provenance(chain):
    _, batch = chain
    for name, kind in (("samples", "samples"), ("modes", "modes"), ("stress_hist", "batch_stress_hist")):
        path = batch / f"{name}.parquet"
        cols = COLUMNS.get(kind) or EXTRA_COLUMNS[kind]
        assert pq.read_schema(path).names == list(cols)
        prov = read_provenance(path)
        assert prov["config_hash"] == "def" and prov["glassvib_table"] == kind
        assert json.loads(prov["seeds"]) == 5
        assert prov["glassvib_version"] and prov["git_commit"]
    modes = pq.read_table(batch / "modes.parquet").to_pandas()
    assert len(modes) == 3 * 2 * 25
    samples = pq.read_table(batch / "samples.parquet").to_pandas()
    assert (samples["n_zero_modes"] >= 2).all()
    # the d translational modes are the lowest and (numerically) zero
    for _, grp in modes.groupby("sample"):
        lam = np.sort(grp["omega2"].to_numpy())
        assert np.all(np.abs(lam[:2]) < 1e-8 * lam[-1])


def test_aggregate_and_figures(chain, tmp_path):
    root, batch = chain
    tables = tmp_path / "tables"
    fit = json.dumps({"omega_c_fraction": 1.5, "scan_fractions": [1.0, 1.5], "sigma_c": 1e-3, "n_bootstrap": 20})
    assert main(["aggregate", "--batch-dirs", str(batch), "--fit", fit, "--level-window", "8",
                 "--seed", "3", "--output-dir", str(tables)]) == 0
    for name, cols in COLUMNS.items():
        schema = pq.read_schema(tables / f"{name}.parquet")
        assert schema.names == list(cols), name
        assert str(schema.field("taper").type) == "double" and str(schema.field("T_p").type) == "double"
    ex = pq.read_table(tables / "exponents.parquet").to_pandas()
    assert len(ex) == 1 and math.isinf(ex["T_p"][0]) and ex["taper"][0] == 2.0
    assert ex["s_ghet"][0] == 4.0 and ex["alpha_ghet"][0] == -0.5
    assert ex["n_samples"][0] == 3
    lr = pq.read_table(tables / "level_ratios.parquet").to_pandas()
    assert sorted(lr["window"]) == ["highest", "lowest", "middle"]
    figs = tmp_path / "figures"
    assert main(["figures", "--tables", str(tables), "--output-dir", str(figs)]) == 0
    names = sorted(p.name for p in figs.iterdir())
    assert len(names) == 12 and "exponents.png" in names and "level_ratios.pdf" in names


def test_stress_histogram_counts_every_pair(chain, tmp_path):
    """Two routes: the histogram total (with under/overflow bins) equals the number of interacting
    pairs from glassvib.system.pair_stresses, for every component and sample."""
    from glassvib.configuration import Configuration
    from glassvib.potential import TaperedIPL
    from glassvib.system import pair_stresses

    _, batch = chain
    q = np.load(batch / "inherent.npz")
    st = pq.read_table(batch / "stress_hist.parquet").to_pandas()
    pot = TaperedIPL(n=12, r_cut=1.955, taper=2)
    for i, sid in enumerate(q["sample"]):
        conf = Configuration(q["positions"][i], q["diameters"][i], float(q["box"]))
        n_pairs = len(pair_stresses(conf, pot))
        per = st[st["sample"] == sid].groupby("component")["count"].sum()
        assert set(per.index) == {"sigma", "xy"}
        assert (per == n_pairs).all(), (per.to_dict(), n_pairs)
    # bins are contiguous and cover [0, inf)
    one = st[(st["sample"] == q["sample"][0]) & (st["component"] == "sigma")].sort_values("bin_lo")
    assert one["bin_lo"].iloc[0] == 0.0 and np.isinf(one["bin_hi"].iloc[-1])
    assert np.allclose(one["bin_lo"].to_numpy()[1:], one["bin_hi"].to_numpy()[:-1])


def test_aggregation_is_additive(chain, tmp_path):
    """Aggregating a batch together with a relabelled copy doubles every histogram count."""
    import shutil

    from glassvib.tables import aggregate, read_table, write_table

    _, batch = chain
    twin = tmp_path / "twin"
    shutil.copytree(batch, twin)
    for name, kind in (("samples", "samples"), ("modes", "modes"), ("stress_hist", "batch_stress_hist")):
        df = read_table(twin / f"{name}.parquet")
        df["sample"] += 100  # a second batch of the same point with other sample ids
        write_table(df, twin / f"{name}.parquet", kind)
    fit = {"omega_c_fraction": 1.5, "scan_fractions": [1.5], "sigma_c": 1e-3, "n_bootstrap": 10}
    one = aggregate([batch], fit, seed=1, level_window=8)
    two = aggregate([batch, twin], fit, seed=1, level_window=8)
    assert len(two["samples"]) == 2 * len(one["samples"])
    assert len(two["modes"]) == 2 * len(one["modes"])
    merged = one["stress_hist"].merge(two["stress_hist"], on=["component", "bin_lo", "bin_hi"])
    assert len(merged) == len(one["stress_hist"])
    assert (merged["count_y"] == 2 * merged["count_x"]).all()
