"""Callback hooks, with Lightning's names.

Subclass :class:`Callback` and override the hooks you need; pass instances to
``Trainer(callbacks=[...])``. Hooks run on every rank, in the order the callbacks were given.
Inside a hook, ``trainer.epoch`` is the 0-based index of the current epoch and
``trainer.should_stop = True`` ends the fit after the current epoch. Best-model tracking, early
stopping and checkpoints are plain code in the trainer, not callbacks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from geolearn.train.trainer import Trainer

__all__ = ["Callback"]


class Callback:
    """Base class: every hook does nothing."""

    def on_fit_start(self, trainer: Trainer) -> None:
        """Before the first epoch (after a resumed checkpoint has been loaded)."""

    def on_fit_end(self, trainer: Trainer) -> None:
        """After the last epoch, before the best weights are loaded back into the model."""

    def on_train_epoch_start(self, trainer: Trainer) -> None:
        """Before the first training batch of an epoch."""

    def on_train_batch_end(
        self, trainer: Trainer, batch: dict[str, Any], batch_idx: int, loss: torch.Tensor
    ) -> None:
        """After the optimiser step of one batch; ``loss`` is the detached batch loss (0-d)."""

    def on_train_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """After the last training batch of an epoch; ``metrics`` are the epoch's training metrics."""

    def on_validation_epoch_end(self, trainer: Trainer, metrics: dict[str, Any]) -> None:
        """After validation; ``metrics`` are the validation metrics (summed over all ranks)."""
