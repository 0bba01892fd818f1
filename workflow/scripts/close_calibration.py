"""Close a calibration scan that was stopped after some of its temperatures (a ladder cut short).

    python workflow/scripts/close_calibration.py <results-dir-of-the-scan>

`glassvib calibrate` rewrites ``<dir>/tables/calibration.parquet`` after every row with
``glassvib.complete = false``; the rows are final as written (each row's seed depends only on the
base seed and the row's rank in the ladder, so the rows of a shorter ladder with the same first
temperatures are the same rows). This script summarises the rows present, draws the figure, and
rewrites the table with ``complete = true`` and ``closed_early = true`` plus the temperatures that
were run, so that the config can list exactly those rungs. It refuses a table that is complete.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pyarrow.parquet as pq

from glassvib.calibration import _write_parquet, plot_calibration, summarize


def main(results_dir: str) -> int:
    res = Path(results_dir)
    path = res / "tables" / "calibration.parquet"
    table = pq.read_table(path)
    meta = {k.decode()[len("glassvib."):]: json.loads(v) for k, v in (table.schema.metadata or {}).items()
            if k.startswith(b"glassvib.")}
    if meta.get("complete"):
        print(f"{path} is complete already; nothing to close", file=sys.stderr)
        return 1
    df = table.to_pandas()
    finite = sorted({float(t) for t in df["T_p"] if not math.isinf(float(t))}, reverse=True)
    tapers = sorted({float(m) for m in df["taper"]})
    last = df["T_p"].iloc[-1]
    done = df[df["T_p"] == last]["taper"].nunique() == len(tapers)
    if not done:  # the last temperature is incomplete: keep whole rungs only
        df = df[df["T_p"] != last]
        finite = [t for t in finite if t != float(last)]
    summary = summarize(df)
    meta["params"] = {**meta.get("params", {}), "temperatures": finite}
    _write_parquet(df, path, {**meta, "complete": True, "closed_early": True, "summary": summary})
    (res / "tables" / "calibration_summary.json").write_text(json.dumps(summary, indent=2, default=str))
    plot_calibration(df, summary, res / "figures" / "calibration")
    print(f"closed {path}: temperatures {finite}, tapers {tapers}; summary {json.dumps(summary, default=str)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
