"""Aggregate the finished batches of a study whose run was stopped before every batch was done.

    python workflow/scripts/aggregate_finished.py config/models.yaml [--figures]

For a campaign cut short by the session's time: the tables are written exactly as the workflow's
aggregate rules would write them (same fit settings, seed, level window and config hash, the same
``glassvib aggregate`` / ``glassvib khgps-aggregate`` code), but from the batches that are finished
(their last output written: ``samples.parquet`` for particle points, ``khgps_samples.parquet`` for
KHGPS points), and ``<results>/aggregated_batches.txt`` lists them. Each point's table rows then count
the samples actually aggregated (``n_samples``), never the config's target. With ``--figures`` the
figures, scan figures and scan table are drawn too. To resume the missing batches and re-aggregate
everything: ``snakemake --cores N --forcerun aggregate khgps_aggregate --configfile <config>`` (a plain
rerun sees the aggregated tables present and, like for any intermediate file, does not rebuild the
missing batches).
"""
from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import yaml

from glassvib.study import load_study, section_hash


def _run(argv):
    print("+", " ".join(shlex.quote(a) for a in argv), flush=True)
    subprocess.run(argv, check=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("config", help="the study's config file (merged over config.yaml as snakemake does)")
    ap.add_argument("--figures", action="store_true", help="also draw the figures and scan figures")
    args = ap.parse_args()
    base = yaml.safe_load(Path("config.yaml").read_text()) if Path("config.yaml").exists() else {}
    user = yaml.safe_load(Path(args.config).read_text())
    from snakemake.utils import update_config

    raw = base or {}
    update_config(raw, user)  # as snakemake merges --configfile over the Snakefile's configfile
    study = load_study(raw)
    cfg, res = study.config, Path(study.results)
    glassvib = [sys.executable, "-m", "glassvib.cli"]
    done = [b for b in study.batch_dirs() if (res / b / "samples.parquet").exists()]
    kdone = [b for b in study.khgps_batch_dirs() if (res / b / "khgps_samples.parquet").exists()]
    total = len(study.batch_dirs()) + len(study.khgps_batch_dirs())
    print(f"{len(done) + len(kdone)} of {total} batches finished", flush=True)
    if done:
        _run(glassvib + ["aggregate", "--batch-dirs", *[str(res / b) for b in done],
                         "--fit", json.dumps(cfg["fit"], sort_keys=True),
                         "--level-window", str(cfg["modes"]["level_window"]), "--seed", str(cfg["seed"]),
                         "--config-hash", section_hash(cfg, "fit", "seed", "modes"),
                         "--output-dir", str(res / "tables")])
        if args.figures:
            _run(glassvib + ["figures", "--tables", str(res / "tables"), "--output-dir", str(res / "figures")])
            _run(glassvib + ["scan-figures", "--tables", str(res / "tables"), "--output-dir", str(res / "figures")])
    if kdone:
        fits = {p: s["fit"] for p, s in study.khgps_settings.items()}
        _run(glassvib + ["khgps-aggregate", "--batch-dirs", *[str(res / b) for b in kdone],
                         "--fits", json.dumps(fits, sort_keys=True), "--seed", str(cfg["seed"]),
                         "--output-dir", str(res / "tables")])
        if args.figures:
            _run(glassvib + ["khgps-figures", "--tables", str(res / "tables"), "--output-dir", str(res / "figures")])
    listing = res / "aggregated_batches.txt"
    tmp = listing.with_suffix(".tmp")
    tmp.write_text("".join(f"{res / b}\n" for b in done + kdone))
    tmp.replace(listing)
    print(f"wrote {listing}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
