"""Optimisers and learning-rate schedules.

Weight decay applies only to weight matrices and kernels (parameters with 2 or more dimensions);
biases and normalisation scales/shifts (1-d) are never decayed. Schedules step once per epoch.
Step, cosine and constant schedules (with optional linear warm-up) are one ``LambdaLR`` over
:func:`lr_factor`, so their state is just the epoch counter; "plateau" is ``ReduceLROnPlateau``.
"""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR, LRScheduler, ReduceLROnPlateau

from geolearn.errors import OptionError

__all__ = ["build_optimizer", "build_scheduler", "lr_factor", "parameter_groups"]


def parameter_groups(model: torch.nn.Module, weight_decay: float) -> list[dict]:
    """Two parameter groups: ``>= 2``-d trainable parameters with ``weight_decay``, the rest without.

    Empty groups are left out.
    """
    decay, no_decay = [], []
    for p in model.parameters():
        if p.requires_grad:
            (decay if p.dim() >= 2 else no_decay).append(p)
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]


def build_optimizer(
    model: torch.nn.Module, name: str, *, lr: float, weight_decay: float, momentum: float
) -> torch.optim.Optimizer:
    """``"sgd"`` (momentum, L2 decay), ``"adam"`` (L2 decay in the gradient) or ``"adamw"`` (decoupled)."""
    groups = parameter_groups(model, weight_decay)
    if not groups:
        raise OptionError("the model has no trainable parameters")
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum)
    if name == "adam":
        return torch.optim.Adam(groups, lr=lr)
    if name == "adamw":
        return torch.optim.AdamW(groups, lr=lr)
    raise OptionError(f"option optimizer: unknown {name!r} (sgd, adam, adamw)")


def lr_factor(
    epoch: int, *, schedule: str, epochs: int, step_size: int, gamma: float, warmup_epochs: int
) -> float:
    """Multiplier of the base learning rate during epoch ``epoch`` (0-based).

    Warm-up: ``(epoch + 1) / (warmup_epochs + 1)`` for the first ``warmup_epochs`` epochs.
    ``"step"``: ``gamma ** (epoch // step_size)``. ``"cosine"``: ``(1 + cos(pi * t)) / 2`` with
    ``t = (epoch - warmup_epochs) / (epochs - warmup_epochs)`` (so the last epoch still learns).
    ``"none"``: 1.
    """
    warm = min(1.0, (epoch + 1) / (warmup_epochs + 1))
    if schedule == "step":
        return warm * gamma ** (epoch // step_size)
    if schedule == "cosine":
        t = min(max(epoch - warmup_epochs, 0) / max(epochs - warmup_epochs, 1), 1.0)
        return warm * 0.5 * (1.0 + math.cos(math.pi * t))
    if schedule == "none":
        return warm
    raise OptionError(f"option schedule: {schedule!r} has no per-epoch factor (step, cosine, none)")


def build_scheduler(
    optimizer: torch.optim.Optimizer,
    name: str,
    *,
    epochs: int,
    step_size: int,
    gamma: float,
    warmup_epochs: int,
    plateau_patience: int,
    mode: str,
) -> LRScheduler | ReduceLROnPlateau:
    """The per-epoch scheduler. ``mode`` ("min"/"max") is the direction of the monitored metric
    (plateau only); call ``step(metric)`` for plateau, ``step()`` otherwise."""
    if name == "plateau":
        return ReduceLROnPlateau(optimizer, mode=mode, factor=gamma, patience=plateau_patience)
    if name not in ("step", "cosine", "none"):
        raise OptionError(f"option schedule: unknown {name!r} (none, step, cosine, plateau)")

    def factor(epoch: int) -> float:  # a plain function: LambdaLR's state_dict stays weights-only
        return lr_factor(
            epoch, schedule=name, epochs=epochs, step_size=step_size, gamma=gamma, warmup_epochs=warmup_epochs
        )

    return LambdaLR(optimizer, factor)
