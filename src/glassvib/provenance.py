"""Provenance of every output file and atomic writes (STYLE: "every Parquet file carries provenance").

Contract: :func:`provenance` returns a flat dict of strings (package version, git commit, config
hash, seeds, inputs, command, time) that :mod:`glassvib.tables` stores as Parquet key-value metadata;
:func:`atomic_path` yields a temporary name next to the target and renames it into place only when
the block finished without error, so an interrupted job never leaves a half-written output.
"""
from __future__ import annotations

import contextlib
import datetime as _dt
import json
import os
import subprocess
import sys
from pathlib import Path

__all__ = ["package_version", "git_commit", "provenance", "atomic_path"]


def package_version() -> str:
    """Installed glassvib version (``unknown`` if not installed)."""
    try:
        from importlib.metadata import version

        return version("glassvib")
    except Exception:  # not installed (running from a source tree)
        return "unknown"


#: tracked paths whose changes do not make a run's code dirty: the study's outputs (Snakemake deletes
#: a published table before it rewrites it) and the prose
NOT_CODE = ("results", "docs")


def git_commit() -> str:
    """Commit of the source tree glassvib is imported from, ``+dirty`` if a tracked file outside
    :data:`NOT_CODE` is modified; ``unknown`` if none."""
    src = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "-C", str(src), "rev-parse", "HEAD", "--show-toplevel"], capture_output=True,
                             text=True, timeout=10)
        if out.returncode != 0:
            return "unknown"
        commit, top = out.stdout.split("\n")[:2]
        exclude = [f":(exclude){p}/" for p in NOT_CODE]
        dirty = subprocess.run(["git", "-C", top, "status", "--porcelain", "--untracked-files=no", "--", ".",
                                *exclude], capture_output=True, text=True, timeout=10)
        return commit + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def provenance(config_hash: str = "", seeds=None, inputs=None, **extra) -> dict:
    """Flat str -> str provenance record (stored as Parquet/npz metadata).

    Args:
        config_hash: hash of the config sections that produced the file (see ``study.section_hash``).
        seeds: seed or list of seeds used.
        inputs: input paths.
        **extra: further key-value pairs (JSON-encoded unless str).
    """
    rec = {
        "glassvib_version": package_version(),
        "git_commit": git_commit(),
        "config_hash": str(config_hash),
        "seeds": json.dumps(seeds if seeds is not None else []),
        "inputs": json.dumps([str(p) for p in (inputs or [])]),
        "command": " ".join(sys.argv),
        "created_utc": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    for key, val in extra.items():
        rec[key] = val if isinstance(val, str) else json.dumps(val, default=str)
    return rec


@contextlib.contextmanager
def atomic_path(path):
    """Context manager yielding a temporary path in the target folder; renamed to ``path`` on success.

    The temporary name keeps the suffix (``x.parquet`` -> ``.x.<pid>.tmp.parquet``), so writers that
    append a suffix (``numpy.savez``) behave. On an exception the temporary file is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
