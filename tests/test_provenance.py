"""Provenance: the commit recorded in every table, dirty only when code changed."""
import importlib.util
import shutil
import subprocess
from pathlib import Path

import pytest

import glassvib.provenance as prov


def _git(cwd, *args):
    subprocess.run(["git", "-C", str(cwd), *args], check=True, capture_output=True)


@pytest.fixture
def repo_copy(tmp_path):
    """A git repository holding a copy of provenance.py under src/glassvib, a tracked results table
    and a tracked source file; returns (root, the copied module)."""
    if shutil.which("git") is None:
        pytest.fail("git is needed for provenance (it is part of the README's setup)")
    pkg = tmp_path / "src" / "glassvib"
    pkg.mkdir(parents=True)
    shutil.copy(prov.__file__, pkg / "provenance.py")
    (pkg / "other.py").write_text("x = 1\n")
    (tmp_path / "results" / "camp").mkdir(parents=True)
    (tmp_path / "results" / "camp" / "table.txt").write_text("a\n")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "results.md").write_text("a\n")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    spec = importlib.util.spec_from_file_location("prov_copy", pkg / "provenance.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return tmp_path, mod


def test_outputs_and_docs_do_not_make_the_code_dirty(repo_copy):
    root, mod = repo_copy
    clean = mod.git_commit()
    assert len(clean) == 40 and not clean.endswith("+dirty")
    (root / "results" / "camp" / "table.txt").unlink()  # Snakemake removes an output before a rerun
    (root / "docs" / "results.md").write_text("b\n")
    assert mod.git_commit() == clean
    (root / "src" / "glassvib" / "other.py").write_text("x = 2\n")
    assert mod.git_commit() == clean + "+dirty"


def test_outside_a_repository_is_unknown(tmp_path):
    shutil.copy(prov.__file__, tmp_path / "provenance.py")
    spec = importlib.util.spec_from_file_location("prov_alone", tmp_path / "provenance.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.git_commit() == "unknown"
