"""``git_commit``: the sha of a checkout, ``+dirty`` for changed or new code, not for experiment outputs."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from geolearn.jobs.report import git_commit


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_git_commit_dirty_only_for_code(tmp_path):
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    (tmp_path / "geolearn").mkdir()
    (tmp_path / "geolearn" / "a.py").write_text("x = 1\n")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    sha = git("rev-parse", "HEAD").strip()
    assert git_commit(tmp_path) == sha
    (tmp_path / "experiments" / "results" / "run").mkdir(parents=True)
    (tmp_path / "experiments" / "results" / "results.json").write_text("{}")
    assert git_commit(tmp_path) == sha  # the experiments' outputs are not code
    (tmp_path / "experiments" / "new.py").write_text("y = 2\n")
    assert git_commit(tmp_path) == f"{sha}+dirty"  # an untracked script is
    (tmp_path / "experiments" / "new.py").unlink()
    (tmp_path / "geolearn" / "a.py").write_text("x = 2\n")
    assert git_commit(tmp_path) == f"{sha}+dirty"
    assert git_commit(tmp_path / "nowhere") == "unknown"
