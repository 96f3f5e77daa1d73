"""Dataset test setup: a private cache directory for every test (never ~/.cache), and the helpers
module ``dataset_helpers`` (tiny meshes and dataset layouts) made importable — pytest runs with
``--import-mode=importlib``, which does not put test folders on ``sys.path``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "geolearn-cache"
    monkeypatch.setenv("GEOLEARN_CACHE", str(path))
    return path
