"""The run directory: everything needed to understand and re-create a training run.

::

    RUN_DIR/
      config.yaml      the resolved configuration (flat; ``geolearn train --config`` reads it back)
      run.json         seed, library versions, device, world size, command line, start time
      metrics.csv      one row per epoch, scalar metrics (train/*, val/*, lr, time)
      metrics.json     the same rows with per-class lists and confusion matrices
      tensorboard/     TensorBoard event files (scalars per epoch)
      last.pt          checkpoint after the latest epoch (resume from it)
      best.pt          checkpoint of the epoch with the best validation metric
      test_metrics.json  written by ``geolearn train`` after the fit (best weights, test split)

Only rank 0 of a distributed run writes (``enabled=False`` elsewhere).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

__all__ = ["RunDir", "library_versions", "to_json"]


def library_versions() -> dict[str, str]:
    """Versions of geolearn, torch (and its CUDA), numpy and Python, and the platform string."""
    import geolearn

    return {
        "geolearn": geolearn.__version__,
        "torch": torch.__version__,
        "cuda": str(torch.version.cuda),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def to_json(obj: Any) -> Any:
    """``obj`` with NaN/inf floats replaced by ``None`` and tensors/numpy values made plain, so
    ``json.dumps(..., allow_nan=False)`` accepts it."""
    if isinstance(obj, Mapping):
        return {str(k): to_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_json(v) for v in obj]
    if isinstance(obj, (torch.Tensor, np.ndarray, np.generic)):
        return to_json(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, Path):
        return str(obj)
    return obj


class RunDir:
    """Writes the files of one run directory (see the module docstring)."""

    def __init__(self, path: str | os.PathLike[str], *, enabled: bool = True) -> None:
        self.path = Path(path)
        self.enabled = enabled
        self._writer: Any = None
        if enabled:
            self.path.mkdir(parents=True, exist_ok=True)

    @property
    def last(self) -> Path:
        return self.path / "last.pt"

    @property
    def best(self) -> Path:
        return self.path / "best.pt"

    def start(self, config: Mapping[str, Any], info: Mapping[str, Any], *, first_epoch: int) -> None:
        """Write ``config.yaml`` and ``run.json`` and open the TensorBoard writer; events of epochs
        ``>= first_epoch`` left by an interrupted run are dropped (purged) when resuming."""
        if not self.enabled:
            return
        self.write_text("config.yaml", yaml.safe_dump(to_json(dict(config)), sort_keys=False))
        run = {
            **info,
            "versions": library_versions(),
            "argv": list(sys.argv),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "first_epoch": first_epoch,
        }
        self.write_json("run.json", run)
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(str(self.path / "tensorboard"), purge_step=first_epoch or None)

    def log_epochs(self, history: Sequence[Mapping[str, Any]]) -> None:
        """Rewrite ``metrics.csv``/``metrics.json`` from the whole ``history`` and add the last row's
        scalars to TensorBoard (step = epoch)."""
        if not self.enabled or not history:
            return
        self.write_json("metrics.json", list(history))
        columns: list[str] = []
        for row in history:
            columns += [k for k, v in row.items() if _scalar(v) and k not in columns]
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in history:
            writer.writerow({k: ("" if v is None else v) for k, v in to_json(dict(row)).items()})
        self.write_text("metrics.csv", buf.getvalue())
        if self._writer is not None:
            last = history[-1]
            for key, value in last.items():
                if key != "epoch" and isinstance(value, (int, float)) and math.isfinite(value):
                    self._writer.add_scalar(key, value, global_step=int(last["epoch"]))
            self._writer.flush()

    def write_json(self, name: str, obj: Any) -> Path:
        """Write ``obj`` as JSON (NaN → null) to ``RUN_DIR/name``, atomically."""
        return self.write_text(name, json.dumps(to_json(obj), indent=2, allow_nan=False) + "\n")

    def write_text(self, name: str, text: str) -> Path:
        """Write ``text`` to ``RUN_DIR/name`` via a temporary file and a rename."""
        path = self.path / name
        if self.enabled:
            tmp = path.with_name(f".{name}.{os.getpid()}.tmp")
            tmp.write_text(text)
            os.replace(tmp, path)
        return path

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def _scalar(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float, str)) and not isinstance(value, bool))
