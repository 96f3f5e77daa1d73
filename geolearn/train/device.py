"""Choosing the device once, seeding, and deterministic mode."""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator

import numpy as np
import torch

from geolearn.errors import OptionError

__all__ = ["choose_device", "deterministic_mode", "seed_everything"]


def choose_device(name: str | torch.device = "auto") -> torch.device:
    """The device to train on: ``"auto"`` takes CUDA, then Apple MPS, then the CPU.

    ``"cpu"``, ``"cuda"``, ``"cuda:N"`` and ``"mps"`` ask for one; asking for one that is not
    available raises :class:`~geolearn.errors.OptionError` instead of silently using another.
    """
    if isinstance(name, torch.device):
        name = str(name)
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise OptionError(f"--device {name!r}: not a device (auto, cpu, cuda, cuda:N, mps)") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise OptionError(f"--device {name}: CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise OptionError(f"--device {name}: only {torch.cuda.device_count()} CUDA device(s)")
    elif device.type == "mps":
        if not _mps_available():
            raise OptionError(f"--device {name}: Apple MPS is not available on this machine")
    elif device.type != "cpu":
        raise OptionError(f"--device {name!r}: not a device (auto, cpu, cuda, cuda:N, mps)")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python's, numpy's and torch's global generators (all devices).

    geolearn's own code never draws from them; this makes third-party randomness that does — weight
    initialisation in ``torch.nn``, dropout, DataLoader worker seeds — repeat from run to run.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002 (third-party code draws from it)
    torch.manual_seed(seed)  # also seeds every CUDA / MPS device


@contextlib.contextmanager
def deterministic_mode(enabled: bool) -> Iterator[None]:
    """Within the block, use only deterministic kernels (``torch.use_deterministic_algorithms``)
    when ``enabled``; the previous setting is restored on exit."""
    if not enabled:
        yield
        return
    previous = torch.are_deterministic_algorithms_enabled()
    previous_benchmark = torch.backends.cudnn.benchmark
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS needs it to be deterministic
    torch.use_deterministic_algorithms(True)
    torch.backends.cudnn.benchmark = False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(previous)
        torch.backends.cudnn.benchmark = previous_benchmark


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
