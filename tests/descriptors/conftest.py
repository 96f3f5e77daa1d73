"""Fixtures of the descriptor tests. The helpers module ``descriptor_helpers`` (test meshes, slow
reference implementations) is made importable here: pytest runs with ``--import-mode=importlib``,
which does not put test folders on ``sys.path``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from descriptor_helpers import sphere  # noqa: E402

import geolearn  # noqa: E402
from geolearn.mesh import Mesh  # noqa: E402


@pytest.fixture(scope="session")
def sphere_mesh() -> Mesh:
    return sphere()


@pytest.fixture(scope="session")
def modelnet_chair(modelnet_zip: Path) -> Mesh:
    """A ModelNet10 mesh as stored (not normalised; 2000 faces, not watertight)."""
    return geolearn.load_mesh(modelnet_zip / "ModelNet10/chair/train/chair_0001.off")
