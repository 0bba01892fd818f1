"""Trim an aggregated modes table to the rows a published campaign needs (issue 10).

    python workflow/scripts/trim_modes.py results/paper-lite/tables [--factor 2]

Keeps the modes with omega <= factor * w_0 of their point (w_0 = 2 pi sqrt(<G>/rho) / L from the
mean shear modulus of the converged samples without negative modes, as in the aggregate step) and
every zero or negative mode; the provenance metadata is kept and a `trimmed` key added. The level
statistics of the full spectra are already in level_ratios / level_ratio_hist.parquet. Run after
the figures (the figures use the full table); rerun `snakemake` to regenerate the full table.
"""
import argparse
import math
from pathlib import Path

import pandas as pd

from glassvib.tables import POINT_COLUMNS, read_provenance, read_table, write_table

KEY_COLUMNS = list(POINT_COLUMNS)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tables", help="folder with samples.parquet and modes.parquet")
    ap.add_argument("--factor", type=float, default=2.0)
    args = ap.parse_args()
    t = Path(args.tables)
    samples, modes = read_table(t / "samples.parquet"), read_table(t / "modes.parquet")
    keep = []
    for key, smp in samples.groupby(KEY_COLUMNS, sort=True):
        stable = smp[smp["converged"].astype(bool) & (smp["n_negative"] == 0)]
        g = float(stable["shear_modulus"].mean())
        w0 = 2 * math.pi * math.sqrt(g) / float(key[1]) ** (1.0 / float(key[0])) if g > 0 else math.inf
        sel = modes.merge(pd.DataFrame([dict(zip(KEY_COLUMNS, key))]), on=KEY_COLUMNS)
        keep.append(sel[~(sel["omega"] > args.factor * w0)])  # NaN (negative) and 0 (zero modes) kept
    out = pd.concat(keep, ignore_index=True)
    meta = read_provenance(t / "modes.parquet")
    meta["trimmed"] = f"rows with omega > {args.factor:g} w_0 of their point removed ({len(modes)} -> {len(out)} rows)"
    write_table(out, t / "modes.parquet", "modes", meta)
    print(meta["trimmed"])


if __name__ == "__main__":
    main()
