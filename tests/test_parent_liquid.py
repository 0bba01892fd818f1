"""Parent-liquid sampling: protocol bookkeeping, T_p = inf, checkpoint / resume (also after SIGKILL)."""
import math
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import glassvib as gv
import glassvib.swap_mc
from glassvib.parent_liquid import draw_parent_samples, load_checkpoint

POT = gv.TaperedIPL(taper=2)
KW = dict(equilibration_sweeps=300, min_spacing_sweeps=50, max_sweeps=20_000, record_every=5)


def _same(a, b):
    assert len(a) == len(b)
    for (ca, ma), (cb, mb) in zip(a, b):
        assert np.array_equal(ca.positions, cb.positions)
        assert np.array_equal(ca.diameters, cb.diameters)
        assert ma.keys() == mb.keys()
        for k in ma:
            assert ma[k] == mb[k] or (isinstance(ma[k], float) and math.isnan(ma[k]) and math.isnan(mb[k])), k


def test_ideal_gas_samples_are_independent_random_configurations():
    conf0 = gv.random_configuration(3, 125, seed=0)
    out = draw_parent_samples(conf0, POT, math.inf, 3, seed=7)
    assert len(out) == 3
    ss = np.random.SeedSequence(7).spawn(3)
    for k, (conf, meta) in enumerate(out):
        ref = gv.random_configuration(3, 125, ss[k])
        assert np.array_equal(conf.positions, ref.positions)
        assert meta["seed"] == 7 and meta["spawn_key"] == [k] and meta["sweeps_done"] == 0
    assert not np.array_equal(out[0][0].positions, out[1][0].positions)


def test_samples_are_spaced_by_the_measured_tau():
    conf0 = gv.random_configuration(2, 64, seed=1)
    out = draw_parent_samples(conf0, POT, 1.5, 4, seed=2, **KW)
    assert len(out) == 4
    sweeps = [m["sweeps_done"] for _, m in out]
    assert all(b - a == m["spacing_sweeps"] for a, b, (_, m) in zip(sweeps, sweeps[1:], out[1:]))
    for conf, m in out:
        assert m["spacing_sweeps"] >= max(KW["min_spacing_sweeps"], m["tau_sweeps"])
        assert m["decorrelated"] and math.isfinite(m["tau_sweeps"])
        assert 0 < m["acc_move"] < 1 and 0 < m["acc_swap"] < 1
        assert m["equilibration_sweeps"] >= KW["equilibration_sweeps"]
        assert m["energy"] == pytest.approx(gv.energy(conf, POT), rel=1e-9)
    assert out[0][1]["equilibrated"], out[0][1]["verdict"]
    # deterministic
    _same(out, draw_parent_samples(conf0, POT, 1.5, 4, seed=2, **KW))


def test_budget_exhaustion_is_flagged():
    conf0 = gv.random_configuration(2, 64, seed=1)
    out = draw_parent_samples(conf0, POT, 0.05, 2, seed=2, equilibration_sweeps=100, min_spacing_sweeps=20,
                              max_sweeps=200, record_every=5)
    assert len(out) == 2
    assert not out[-1][1]["equilibrated"] and out[-1][1]["verdict"] != "ok"
    assert not out[-1][1]["decorrelated"]


def test_interrupted_run_resumes_bit_identically(tmp_path, monkeypatch):
    conf0 = gv.random_configuration(2, 64, seed=3)
    ref = draw_parent_samples(conf0, POT, 1.5, 3, seed=4, **KW)
    ckpt = tmp_path / "run.ckpt"
    real_run = glassvib.swap_mc.SwapMonteCarlo.run
    calls = {"n": 0}

    def flaky_run(self, sweeps, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 40:
            raise KeyboardInterrupt("simulated kill")
        return real_run(self, sweeps, *args, **kwargs)

    monkeypatch.setattr(glassvib.swap_mc.SwapMonteCarlo, "run", flaky_run)
    with pytest.raises(KeyboardInterrupt):
        draw_parent_samples(conf0, POT, 1.5, 3, seed=4, checkpoint=ckpt, checkpoint_every_s=0, **KW)
    monkeypatch.setattr(glassvib.swap_mc.SwapMonteCarlo, "run", real_run)
    saved = load_checkpoint(ckpt)
    assert saved["phase"] != "done" and saved["sampler"].sweeps_done > 0
    resumed = draw_parent_samples(conf0, POT, 1.5, 3, seed=4, checkpoint=ckpt, checkpoint_every_s=0, **KW)
    _same(ref, resumed)
    # a finished checkpoint returns the same samples again; other parameters are refused
    _same(ref, draw_parent_samples(conf0, POT, 1.5, 3, seed=4, checkpoint=ckpt, **KW))
    with pytest.raises(ValueError, match="different run"):
        draw_parent_samples(conf0, POT, 1.5, 3, seed=5, checkpoint=ckpt, **KW)


SCRIPT = textwrap.dedent("""
    import sys, pickle
    import glassvib as gv
    from glassvib.parent_liquid import draw_parent_samples
    conf0 = gv.random_configuration(2, 100, seed=8)
    out = draw_parent_samples(conf0, gv.TaperedIPL(taper=2), 1.2, 6, seed=9, equilibration_sweeps=2000,
                              min_spacing_sweeps=400, max_sweeps=100_000, record_every=5,
                              checkpoint=sys.argv[1], checkpoint_every_s=0)
    pickle.dump(out, open(sys.argv[2], "wb"))
""")


@pytest.mark.slow
def test_killed_subprocess_resumes_bit_identically(tmp_path):
    ckpt = tmp_path / "kill.ckpt"
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    # reference: uninterrupted, in a subprocess too (same code path)
    subprocess.run([sys.executable, str(script), str(tmp_path / "ref.ckpt"), str(tmp_path / "ref.pkl")],
                   check=True, timeout=600)
    ref = pickle.load(open(tmp_path / "ref.pkl", "rb"))
    proc = subprocess.Popen([sys.executable, str(script), str(ckpt), str(tmp_path / "out.pkl")])
    killed_at = None
    t0 = time.monotonic()
    while time.monotonic() - t0 < 600 and proc.poll() is None:
        time.sleep(0.05)
        try:
            state = load_checkpoint(ckpt)
        except Exception:  # pragma: no cover - file replaced while reading
            continue
        if state is not None and state["phase"] == "produce" and len(state["samples"]) >= 1:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            killed_at = state["sampler"].sweeps_done
            break
    assert killed_at is not None, "the run finished before it could be killed; make it longer"
    assert not (tmp_path / "out.pkl").exists()
    subprocess.run([sys.executable, str(script), str(ckpt), str(tmp_path / "out.pkl")], check=True, timeout=600)
    _same(ref, pickle.load(open(tmp_path / "out.pkl", "rb")))


def test_bad_arguments():
    conf0 = gv.random_configuration(2, 64, seed=1)
    with pytest.raises(ValueError, match="n_samples"):
        draw_parent_samples(conf0, POT, 1.0, 0, seed=1)
    with pytest.raises(ValueError, match="max_sweeps"):
        draw_parent_samples(conf0, POT, 1.0, 1, seed=1, max_sweeps=-5)
    with pytest.raises(ValueError, match="temperature"):
        draw_parent_samples(conf0, POT, -1.0, 1, seed=1)


# ---- calibration of the T_p scale (estimators on synthetic data, and a tiny end-to-end scan) ----

def test_arrest_temperature_fit_recovers_a_power_law():
    from glassvib.calibration import fit_arrest_temperature
    rng = np.random.default_rng(0)
    T = np.array([2.0, 1.4, 1.0, 0.8, 0.7, 0.6, 0.55])
    tau = 30.0 * (T - 0.42) ** -2.3 * np.exp(0.02 * rng.standard_normal(T.size))
    fit = fit_arrest_temperature(np.append(T, 0.5), np.append(tau, np.nan))  # nan = unresolved, ignored
    assert fit["n_points"] == T.size
    assert fit["T_d"] == pytest.approx(0.42, abs=0.03)
    assert fit["gamma"] == pytest.approx(2.3, abs=0.3)
    assert math.isnan(fit_arrest_temperature([1.0, 2.0], [5.0, 3.0])["T_d"])


def test_onset_temperature_is_the_first_significant_drop():
    from glassvib.calibration import onset_temperature
    T = np.array([3.0, 2.0, 1.0, 0.7, 0.5])
    e = np.array([1.500, 1.499, 1.497, 1.48, 1.45])
    err = np.full(T.size, 0.002)
    assert onset_temperature(T, e, err, 1.5, 0.001) == 0.7
    assert math.isnan(onset_temperature(T, np.full(T.size, 1.5), err, 1.5, 0.001))
    spike = e.copy()
    spike[0] = 1.48  # one low point at high T is a fluctuation, not the onset
    assert onset_temperature(T, spike, err, 1.5, 0.001) == 0.7


def test_calibration_scan_writes_table_and_figure(tmp_path):
    import pyarrow.parquet as pq

    from glassvib.calibration import run_calibration
    df, summary = run_calibration(str(tmp_path), d=2, N=64, tapers=(2,), temperatures=(1.5,), seed=1,
                                  equilibration_sweeps=300, production_sweeps=200, n_samples=2, noswap_sweeps=200)
    table = tmp_path / "tables" / "calibration.parquet"
    assert table.exists() and (tmp_path / "figures" / "calibration.png").exists()
    assert (tmp_path / "figures" / "calibration.pdf").exists()
    back = pq.read_table(table)
    assert b"glassvib.git_commit" in back.schema.metadata and b"glassvib.summary" in back.schema.metadata
    back = back.to_pandas()
    assert len(back) == 2 and set(back["T_p"]) == {1.5, math.inf}
    assert {"e_is_mean", "e_is_err", "pressure_mean", "acc_move", "acc_swap", "tau_swap_sweeps",
            "tau_noswap_sweeps", "equilibrated", "n_converged"} <= set(back.columns)
    assert (back["n_converged"] == back["n_samples"]).all()
    row = back[back["T_p"] == 1.5].iloc[0]
    assert 0 < row["acc_move"] < 1 and row["e_is_mean"] < row["e_liquid_mean"]
    assert "2.0" in summary


def test_calibration_of_other_models(tmp_path):
    """A calibration scan of the swap-optimised POLY model beside the tapered IPL: rows keyed by
    potential id and its cutoff order, the model's particles and density, one summary per model."""
    import glassvib as gv
    from glassvib.calibration import run_calibration

    entries = [("tipl", gv.TaperedIPL(taper=2)), ("poly", gv.PolySwap())]
    df, summary = run_calibration(str(tmp_path), d=2, N=64, tapers=(2,), temperatures=(0.5,), seed=1,
                                  equilibration_sweeps=200, production_sweeps=100, n_samples=2, noswap_sweeps=100,
                                  potentials=entries)
    assert set(zip(df["potential"], df["taper"], df["T_p"])) == {("tipl", 2.0, 0.5), ("tipl", 2.0, math.inf),
                                                                 ("poly", 2.0, 0.5), ("poly", 2.0, math.inf)}
    assert (df["n_converged"] == df["n_samples"]).all()
    assert set(summary) == {"2.0", "poly m=2"} and summary["poly m=2"]["potential"] == "poly"
