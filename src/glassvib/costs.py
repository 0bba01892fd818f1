"""Cost table of a run (issue 10): median seconds per sample for each stage and point, read from the
Snakemake benchmark files of the run itself, and a total extrapolated to another sample count.

Contract: :func:`cost_table` takes a results folder and returns a DataFrame with one row per point
(columns: the point's path, samples per batch, batches measured, and per stage the median over
batches of wall seconds / samples in the batch, plus their sum). Nothing here times anything: the
figures are those Snakemake measured for each job (``benchmark:`` directive; ``s`` = wall clock,
``cpu_time`` = CPU seconds of the job's processes).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["STAGES", "cost_table", "extrapolate", "format_cost_table"]

STAGES = ("sample", "quench", "analyze", "khgps")
#: the stage whose batches define a point's batch count: analyze for particle points, the one KHGPS
#: job (couplings, minimisation, modes) for KHGPS points (benchmarks/khgps/<N.../h.../J.../kappa...>)
_LAST = ("analyze", "khgps")


def _batch_size(results: Path, point: str, batch: str) -> int | None:
    name = "khgps_samples.parquet" if point.startswith("khgps/") else "samples.parquet"
    path = results / point / batch / name
    if not path.exists():
        return None
    import pyarrow.parquet as pq

    return pq.read_metadata(path).num_rows


def cost_table(results_dir, column: str = "s") -> pd.DataFrame:
    """Median per-sample cost (seconds) per stage and point from ``<results>/benchmarks``.

    Args:
        results_dir: the study's results folder (config key ``results``).
        column: benchmark column: "s" (wall clock) or "cpu_time".

    Returns:
        DataFrame with columns point, batches, samples_per_batch, <stage> for each of :data:`STAGES`,
        total (sum of the stage medians), sorted by point. Only batches whose samples.parquet exists
        (finished) are counted.
    """
    results = Path(results_dir)
    bench = results / "benchmarks"
    if not bench.is_dir():
        raise FileNotFoundError(f"results_dir {results}: no benchmarks/ folder (run the workflow first)")
    rows, sizes = [], {}
    for stage in STAGES:
        for f in sorted((bench / stage).rglob("batch*.tsv")):
            point = str(f.parent.relative_to(bench / stage))
            if stage == "khgps":  # the KHGPS benchmark folders carry the point path itself
                point = f"khgps/{point}"
            batch = f.stem
            if (point, batch) not in sizes:  # one metadata read per batch, not one per stage
                sizes[point, batch] = _batch_size(results, point, batch)
            n = sizes[point, batch]
            if not n:
                continue
            df = pd.read_csv(f, sep="\t")
            if column not in df.columns or not len(df):
                continue
            rows.append({"point": point, "batch": batch, "stage": stage, "n": n,
                         "per_sample": float(df[column].iloc[-1]) / n})
    if not rows:
        return pd.DataFrame(columns=["point", "batches", "samples_per_batch", *STAGES, "total"])
    long = pd.DataFrame(rows)
    med = long.pivot_table(index="point", columns="stage", values="per_sample", aggfunc="median")
    for stage in STAGES:
        if stage not in med.columns:
            med[stage] = np.nan
    med = med[list(STAGES)]
    med["total"] = med.sum(axis=1, min_count=1)
    info = long[long["stage"].isin(_LAST)].groupby("point").agg(batches=("batch", "nunique"),
                                                                 samples_per_batch=("n", "max"))
    out = info.join(med, how="outer").reset_index()
    return out.sort_values("point").reset_index(drop=True)


def extrapolate(table: pd.DataFrame, n_samples: dict) -> pd.DataFrame:
    """Add ``n_samples`` (point -> count) and ``core_hours`` = total x n_samples / 3600 (one core per
    job): an extrapolation from the measured per-sample medians, not a measurement."""
    out = table.copy()
    out["n_samples"] = out["point"].map(n_samples)
    out["core_hours"] = out["total"] * out["n_samples"] / 3600.0
    return out


def format_cost_table(table: pd.DataFrame) -> str:
    """Markdown table (seconds with 2 decimals)."""
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in table.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if isinstance(v, (float, np.floating)):
                cells.append("–" if not np.isfinite(v) else f"{v:.2f}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
