"""One training loop for every model and task.

::

    from geolearn.train import Trainer, TrainConfig
    trainer = Trainer(model, TrainConfig(epochs=50), task="classify", run_dir="runs/pointnet")
    result = trainer.fit(train_set, val_set)       # best.pt chosen on validation
    test_metrics = trainer.evaluate(test_set)      # with the best weights

Modules: :mod:`~geolearn.train.config` (typed options), :mod:`~geolearn.train.trainer` (the loop),
:mod:`~geolearn.train.tasks` (targets and metrics per task), :mod:`~geolearn.train.metrics`,
:mod:`~geolearn.train.optim` (optimisers, schedules), :mod:`~geolearn.train.checkpoint`,
:mod:`~geolearn.train.callbacks`, :mod:`~geolearn.train.rundir`, :mod:`~geolearn.train.device`,
:mod:`~geolearn.train.distributed` (torchrun / DDP).
"""

from __future__ import annotations

from geolearn.train.callbacks import Callback
from geolearn.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from geolearn.train.config import ExperimentConfig, TrainConfig, load_experiment_config, parse_overrides
from geolearn.train.device import choose_device, seed_everything
from geolearn.train.trainer import FitResult, Predictions, Trainer

__all__ = [
    "Callback",
    "CheckpointError",
    "ExperimentConfig",
    "FitResult",
    "Predictions",
    "TrainConfig",
    "Trainer",
    "choose_device",
    "load_checkpoint",
    "load_experiment_config",
    "parse_overrides",
    "save_checkpoint",
    "seed_everything",
]
