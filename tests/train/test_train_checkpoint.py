"""Atomic checkpoints, weights-only loading, RNG state round trip, device choice."""

from __future__ import annotations

import argparse
import random

import numpy as np
import pytest
import torch

from geolearn.errors import OptionError
from geolearn.train import checkpoint as ckpt
from geolearn.train.checkpoint import (
    CheckpointError,
    get_rng_state,
    load_checkpoint,
    save_checkpoint,
    set_rng_state,
)
from geolearn.train.device import choose_device


def test_save_and_load_weights_only(tmp_path):
    state = {"epoch": 3, "model": {"w": torch.arange(4.0)}, "history": [{"loss": float("nan")}], "best": None}
    save_checkpoint(tmp_path / "last.pt", state)
    back = torch.load(tmp_path / "last.pt", weights_only=True)
    assert back["epoch"] == 3
    assert torch.equal(back["model"]["w"], torch.arange(4.0))
    assert np.isnan(back["history"][0]["loss"])
    assert load_checkpoint(tmp_path / "last.pt")["best"] is None


def test_crash_mid_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "last.pt"
    save_checkpoint(path, {"epoch": 1})

    def torn_save(obj, f):
        f.write(b"PK\x03\x04 half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(ckpt.torch, "save", torn_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["last.pt"]  # no temporary file left behind


def test_copy_atomic(tmp_path):
    save_checkpoint(tmp_path / "best.pt", {"epoch": 5})
    ckpt.copy_atomic(tmp_path / "best.pt", tmp_path / "last.pt")
    assert load_checkpoint(tmp_path / "last.pt")["epoch"] == 5


def test_unreadable_checkpoints(tmp_path):
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "garbage.pt")

    torch.save({"obj": argparse.Namespace(a=1)}, tmp_path / "pickled.pt")  # needs unpickling a class: refused
    with pytest.raises(CheckpointError, match="not a readable checkpoint"):
        load_checkpoint(tmp_path / "pickled.pt")


def test_rng_state_round_trip(tmp_path):
    random.gauss(0, 1)  # leaves a cached gaussian in Python's state
    np.random.normal()  # noqa: NPY002 (the global state is what is saved)
    state = get_rng_state()
    save_checkpoint(tmp_path / "rng.pt", {"rng": state})
    first = (random.random(), random.gauss(0, 1), np.random.rand(3).tolist(), torch.rand(3).tolist())  # noqa: NPY002
    set_rng_state(load_checkpoint(tmp_path / "rng.pt")["rng"])
    again = (random.random(), random.gauss(0, 1), np.random.rand(3).tolist(), torch.rand(3).tolist())  # noqa: NPY002
    assert first == again


def test_choose_device():
    assert choose_device("cpu") == torch.device("cpu")
    assert choose_device("auto").type in {"cuda", "mps", "cpu"}
    if torch.cuda.is_available():
        assert choose_device("auto").type == "cuda"
    else:
        with pytest.raises(OptionError, match="CUDA is not available"):
            choose_device("cuda")
    with pytest.raises(OptionError, match="not a device"):
        choose_device("tpu7")
