"""Configurations as extended XYZ files that ASE and OVITO open.

Layout of one frame::

    N
    Lattice="L 0 0 0 L 0 0 0 L" Properties=species:S:1:pos:R:3:diameter:R:1:type:I:1 pbc="T T T" dimension=3 box=L key=value ...
    X  x  y  z  a  s
    ...

ASE and OVITO only know three-dimensional positions: in 2D the third coordinate is written as 0
(pbc="T T F"); in 4D the fourth coordinate is an extra column ``w`` after the diameter. The integer
species of the models with several particle types is the column ``type`` (last; files without it,
written before issue 12, read as species 0); the element symbol stays ``X``. The box side
``box`` and ``dimension`` in the comment line are authoritative for our reader. Numbers are written
with 17 significant digits so that a round trip is exact. Extra metadata (taper, seed, T_p, ...)
are simple key=value pairs in the comment line.
"""
from __future__ import annotations

import math
import os
import shlex
import tempfile

import numpy as np

from .configuration import Configuration

__all__ = ["read_configuration", "write_configuration", "read_metadata"]


def _format_value(v) -> str:
    if isinstance(v, (bool, np.bool_)):
        return "T" if v else "F"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    s = str(v)
    if any(c in s for c in "\"\n="):
        raise ValueError(f"metadata value {s!r} contains a quote, newline or '=', not allowed")
    return f'"{s}"'


def _parse_value(s: str):
    if s in ("T", "True"):
        return True
    if s in ("F", "False"):
        return False
    try:
        return int(s)
    except ValueError:
        pass
    try:
        return float(s)
    except ValueError:
        return s


def write_configuration(path, conf: Configuration, metadata: dict | None = None) -> None:
    """Write ``conf`` (and simple scalar ``metadata``) as one extended-XYZ frame, atomically.

    The file is written under a temporary name in the same folder and renamed into place.
    """
    metadata = dict(metadata or {})
    reserved = {"Lattice", "Properties", "pbc", "dimension", "box"}
    clash = reserved.intersection(metadata)
    if clash:
        raise ValueError(f"metadata keys {sorted(clash)} are reserved")
    for k in metadata:
        if not k.isidentifier():
            raise ValueError(f"metadata key {k!r} must be an identifier")
    n, d = conf.N, conf.d
    L = conf.box
    lz = L if d >= 3 else 1.0
    lattice = f"{L!r} 0 0 0 {L!r} 0 0 0 {lz!r}"
    props = "species:S:1:pos:R:3:diameter:R:1" + (":w:R:1" if d == 4 else "") + ":type:I:1"
    pbc = "T T T" if d >= 3 else "T T F"
    head = [f'Lattice="{lattice}"', f"Properties={props}", f'pbc="{pbc}"', f"dimension={d}", f"box={L!r}"]
    head += [f"{k}={_format_value(v)}" for k, v in metadata.items()]
    cols = np.zeros((n, 4 + (1 if d == 4 else 0)))
    cols[:, : min(d, 3)] = conf.positions[:, : min(d, 3)]
    cols[:, 3] = conf.diameters
    if d == 4:
        cols[:, 4] = conf.positions[:, 3]
    lines = [str(n), " ".join(head)]
    lines += ["X " + " ".join(repr(float(x)) for x in row) + f" {int(s)}" for row, s in zip(cols, conf.species)]
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp_", suffix=".xyz", dir=folder)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _parse_header(line: str) -> dict:
    out = {}
    for tok in shlex.split(line):
        if "=" not in tok:
            continue
        k, v = tok.split("=", 1)
        out[k] = v
    return out


def read_metadata(path) -> dict:
    """The key=value pairs of the comment line (our reserved keys removed), values parsed."""
    with open(path) as fh:
        fh.readline()
        head = _parse_header(fh.readline())
    return {k: _parse_value(v) for k, v in head.items()
            if k not in {"Lattice", "Properties", "pbc", "dimension", "box"}}


def read_configuration(path) -> Configuration:
    """Read a configuration written by :func:`write_configuration` (first frame)."""
    with open(path) as fh:
        first = fh.readline()
        try:
            n = int(first.strip())
        except ValueError:
            raise ValueError(f"{path}: first line {first.strip()!r} is not a particle count") from None
        head = _parse_header(fh.readline())
        if "dimension" not in head or "box" not in head:
            raise ValueError(f"{path}: comment line lacks dimension= and box= (not a glassvib file)")
        d = int(head["dimension"])
        box = float(head["box"])
        rows = [fh.readline().split() for _ in range(n)]
    if any(len(r) < 5 for r in rows):
        raise ValueError(f"{path}: expected {n} particle lines with at least 5 columns")
    has_type = ":type:I:1" in head.get("Properties", "")
    data = np.array([[float(x) for x in (r[1:-1] if has_type else r[1:])] for r in rows])
    species = np.array([int(r[-1]) for r in rows], np.int64) if has_type else None
    pos = np.empty((n, d))
    pos[:, : min(d, 3)] = data[:, : min(d, 3)]
    if d == 4:
        pos[:, 3] = data[:, 4]
    if not math.isfinite(box):
        raise ValueError(f"{path}: box = {box}")
    return Configuration(pos, data[:, 3], box, species)
