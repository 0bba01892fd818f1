"""Extended XYZ round trip, and ASE reads our files with the same numbers."""
import math

import numpy as np
import pytest

import glassvib as gv
from glassvib.xyz import read_metadata

ase_io = pytest.importorskip("ase.io", reason="ase is a test dependency: pip install -e '.[test]'")


@pytest.mark.parametrize("d,N", [(2, 20), (3, 70), (4, 300)])
def test_round_trip_is_exact(tmp_path, d, N):
    conf = gv.random_configuration(d, N, seed=42)
    path = tmp_path / "c.xyz"
    meta = {"taper": math.inf, "seed": 42, "T_p": 0.5, "potential": "tipl", "converged": True}
    gv.write_configuration(path, conf, metadata=meta)
    back = gv.read_configuration(path)
    np.testing.assert_array_equal(back.positions, conf.positions)
    np.testing.assert_array_equal(back.diameters, conf.diameters)
    assert back.box == conf.box and back.d == d
    got = read_metadata(path)
    assert got["taper"] == math.inf and got["seed"] == 42 and got["T_p"] == 0.5
    assert got["potential"] == "tipl" and got["converged"] is True
    assert not list(tmp_path.glob(".tmp_*")), "temporary file left behind"


@pytest.mark.parametrize("d,N", [(2, 20), (3, 70), (4, 300)])
def test_ase_reads_the_same_numbers(tmp_path, d, N):
    conf = gv.random_configuration(d, N, seed=7)
    path = tmp_path / "c.xyz"
    gv.write_configuration(path, conf, metadata={"taper": 2})
    atoms = ase_io.read(str(path), format="extxyz")
    assert len(atoms) == N
    k = min(d, 3)
    np.testing.assert_array_equal(atoms.positions[:, :k], conf.positions[:, :k])
    np.testing.assert_array_equal(atoms.arrays["diameter"], conf.diameters)
    np.testing.assert_array_equal(np.diag(atoms.cell.array)[:2], [conf.box, conf.box])
    assert list(atoms.pbc[:2]) == [True, True]
    if d == 4:
        np.testing.assert_array_equal(atoms.arrays["w"], conf.positions[:, 3])
    if d == 2:
        assert not atoms.pbc[2] and np.all(atoms.positions[:, 2] == 0)


def test_bad_files_and_metadata(tmp_path):
    conf = gv.random_configuration(2, 20, seed=1)
    with pytest.raises(ValueError, match="reserved"):
        gv.write_configuration(tmp_path / "a.xyz", conf, metadata={"box": 3})
    bad = tmp_path / "b.xyz"
    bad.write_text("3\nnot a glassvib header\nX 0 0 0 1\n")
    with pytest.raises(ValueError, match="dimension"):
        gv.read_configuration(bad)


@pytest.mark.parametrize("d", [2, 3, 4])
def test_species_round_trip_and_files_without_them(tmp_path, d):
    """Models with several particle types: the species survive a round trip (column ``type``);
    files written before issue 12 (no such column) read as species 0."""
    conf = gv.random_configuration(d, 300, seed=d, model=gv.LennardJones())
    path = tmp_path / "lj.xyz"
    gv.write_configuration(path, conf)
    back = gv.read_configuration(path)
    assert np.array_equal(back.species, conf.species) and set(back.species) == {0, 1}
    assert np.array_equal(back.positions, conf.positions) and np.array_equal(back.diameters, conf.diameters)
    lines = path.read_text().splitlines()
    old = [lines[0], lines[1].replace(":type:I:1", "")] + [" ".join(line.split()[:-1]) for line in lines[2:]]
    (tmp_path / "old.xyz").write_text("\n".join(old) + "\n")
    legacy = gv.read_configuration(tmp_path / "old.xyz")
    assert np.all(legacy.species == 0) and np.array_equal(legacy.positions, conf.positions)
