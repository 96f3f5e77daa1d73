"""Reading a run directory back: its configuration, its label names and its trained model.

A run directory (see :mod:`geolearn.train.rundir`) holds ``config.yaml`` (the resolved
:class:`~geolearn.train.config.ExperimentConfig`), ``best.pt`` / ``last.pt`` and ``labels.json``
(the class or part names, in label order). :func:`read_run` checks all of it and names what is
missing; :func:`load_model` rebuilds the model the config describes and loads the weights.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from geolearn.errors import OptionError
from geolearn.jobs.training import LABELS_FILE, dataset_names

if TYPE_CHECKING:
    import torch

    from geolearn.nn import ShapeModel
    from geolearn.train.config import ExperimentConfig

__all__ = ["CHECKPOINTS", "RunInfo", "load_model", "read_run"]

#: ``--checkpoint`` choices: the best-on-validation weights (falling back to the last ones when the
#: run had no validation data) or the weights after the latest epoch.
CHECKPOINTS = ("best", "last")


@dataclass(frozen=True)
class RunInfo:
    """What a run directory says about its run.

    Attributes:
        path: the run directory.
        config: its resolved experiment configuration.
        checkpoint: the checkpoint file to load.
        names: label names in label order (classes to classify, parts to segment).
    """

    path: Path
    config: ExperimentConfig
    checkpoint: Path
    names: tuple[str, ...]

    @property
    def task(self) -> str:
        return self.config.task

    @property
    def num_classes(self) -> int:
        return len(self.names)


def read_run(run_dir: str | Path, checkpoint: str = "best") -> RunInfo:
    """Check and read the run directory ``run_dir``.

    Args:
        run_dir: a directory written by ``geolearn train`` (or ``compare``/``demo``).
        checkpoint: ``"best"`` (``best.pt``, else ``last.pt``) or ``"last"``.

    Raises:
        OptionError: the directory does not exist, is no run directory (no ``config.yaml``), its
            config cannot be read, or it holds no checkpoint; each names the path at fault.
    """
    from geolearn.train.config import ExperimentConfig

    path = Path(run_dir)
    if checkpoint not in CHECKPOINTS:
        raise OptionError(f"--checkpoint must be one of {', '.join(CHECKPOINTS)}, got {checkpoint!r}")
    if not path.exists():
        raise OptionError(f"{path}: no such run directory")
    if not path.is_dir():
        raise OptionError(f"{path}: not a run directory (it is a file)")
    config_file = path / "config.yaml"
    if not config_file.is_file():
        raise OptionError(f"{path}: not a run directory (no config.yaml)")
    try:
        values = yaml.safe_load(config_file.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise OptionError(f"{config_file}: cannot read ({exc})") from exc
    if not isinstance(values, Mapping):
        raise OptionError(f"{config_file}: expected a mapping of option: value")
    try:
        config = ExperimentConfig.from_flat_dict(values)
    except OptionError as exc:
        raise OptionError(f"{config_file}: {exc}") from exc
    candidates = ["best.pt", "last.pt"] if checkpoint == "best" else ["last.pt"]
    found = [path / name for name in candidates if (path / name).is_file()]
    if not found:
        raise OptionError(
            f"{path}: no checkpoint ({' or '.join(candidates)}); the run has not finished an epoch"
        )
    return RunInfo(path, config, found[0], _read_names(path, config))


def _read_names(path: Path, config: ExperimentConfig) -> tuple[str, ...]:
    """``labels.json``; for runs written before it existed, ``test_metrics.json``'s ``classes``;
    else the names of the run's dataset (opened, not preprocessed)."""
    for name, key in ((LABELS_FILE, "names"), ("test_metrics.json", "classes")):
        file = path / name
        if file.is_file():
            try:
                names = json.loads(file.read_text())[key]
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise OptionError(f"{file}: cannot read the label names ({exc})") from exc
            return tuple(str(n) for n in names)
    try:
        return dataset_names(config)
    except OptionError as exc:
        raise OptionError(f"{path}: records no label names ({LABELS_FILE}) and {exc}") from exc


def load_model(
    run: RunInfo, example_batch: Mapping[str, Any], device: str | torch.device = "cpu"
) -> ShapeModel:
    """The model of ``run`` with the weights of ``run.checkpoint``, in eval mode on ``device``.

    Args:
        run: from :func:`read_run`.
        example_batch: a batch of the data the model will see; sizes the encoder reads off it
            (descriptor length, voxel resolution, input channels) must match the training data.

    Raises:
        OptionError: the checkpoint is of another task or does not fit the configured model.
    """
    from geolearn.nn import create_model
    from geolearn.train import choose_device
    from geolearn.train.checkpoint import load_checkpoint

    config = run.config
    state = load_checkpoint(run.checkpoint, map_location="cpu")
    if state.get("task") not in (None, config.task):
        raise OptionError(
            f"{run.checkpoint}: a {state.get('task')} checkpoint, but config.yaml says {config.task}"
        )
    model = create_model(
        config.encoder,
        config.task,
        num_classes=run.num_classes,
        example_batch=example_batch,
        **config.model_kwargs,
    )
    if "model" not in state:
        raise OptionError(f"{run.checkpoint}: holds no model weights")
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = (lines[1] if len(lines) > 1 else lines[0])[:200]
        raise OptionError(
            f"{run.checkpoint}: the weights do not fit the model config.yaml describes "
            f"({detail}); were the data or representations changed?"
        ) from exc
    return model.to(choose_device(device)).eval()
