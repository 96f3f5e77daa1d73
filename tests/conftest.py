"""Shared test fixtures.

Real benchmark data lives in ``../shared/data`` beside the project (never inside it). Tests that need
it use the ``modelnet_zip`` / ``labeleddb_zip`` / ``labeleddb_split`` fixtures, which skip with a
reason when the data is absent. Set ``GEOLEARN_SHARED_DATA`` to point elsewhere.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("GEOLEARN_SHARED_DATA", ROOT.parent / "shared" / "data"))


def _shared(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"real data {name} not found at {path} (needs ../shared/data beside the project)")
    return path


@pytest.fixture(scope="session")
def modelnet_zip() -> Path:
    return _shared("ModelNet10.zip")


@pytest.fixture(scope="session")
def labeleddb_zip() -> Path:
    return _shared("LabeledDB.zip")


@pytest.fixture(scope="session")
def labeleddb_split() -> Path:
    return _shared("LabeledDB-split.json")


DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> torch.device:
    """Parametrises a test over cpu and cuda (cuda skips itself when there is no GPU)."""
    return torch.device(request.param)


@pytest.fixture(autouse=True)
def _no_rng_leak():
    """Tests must not depend on (or change) global RNG state: restore it after each test."""
    torch_state = torch.random.get_rng_state()
    np_state = np.random.get_state()
    yield
    torch.random.set_rng_state(torch_state)
    np.random.set_state(np_state)
