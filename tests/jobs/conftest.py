"""Fixtures of the job tests: one private cache for the session (never ~/.cache), and one run of
``geolearn demo --quick`` whose run directories the eval / predict tests reuse (training is the
expensive part; the demo trains its classifiers and segmenters with the very function
``geolearn train`` runs). Also puts ``jobs_helpers`` on ``sys.path`` (pytest runs with
``--import-mode=importlib``)."""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from jobs_helpers import DemoRun  # noqa: E402

from geolearn.cli import main  # noqa: E402


@pytest.fixture(scope="session")
def jobs_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("jobs-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GEOLEARN_CACHE", str(path))
        yield path


@pytest.fixture(autouse=True)
def _cache(jobs_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GEOLEARN_CACHE", str(jobs_cache))


@pytest.fixture(scope="session")
def quick_demo(tmp_path_factory: pytest.TempPathFactory, jobs_cache: Path) -> DemoRun:
    """``geolearn demo --quick --json`` once per session (about 20-40 s on 2 cores)."""
    out = tmp_path_factory.mktemp("demo") / "out"
    buf = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        code = main(["demo", "--quick", "--out", str(out), "--json", "--quiet", "--workers", "0"])
    seconds = time.perf_counter() - t0
    assert code == 0
    return DemoRun(out, json.loads(buf.getvalue()), seconds)
