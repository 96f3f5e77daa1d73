"""Test-time augmentation: a model's prediction averaged over the symmetries of the cube.

A model trained with the ``symmetry`` augmentation (:class:`geolearn.datasets.RandomSymmetry`) has
learned to label a shape whichever way it is turned; at test time :class:`SymmetryAverage` shows it
the shape in every such pose and averages the class probabilities. Per-point outputs keep the order
of the points (a symmetry moves the points, not their order), so they average point by point.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from geolearn.datasets.transforms import apply_symmetry, cube_symmetries
from geolearn.errors import OptionError

__all__ = ["SymmetryAverage"]


class SymmetryAverage(nn.Module):
    """Wrap ``model``: ``forward(batch)`` is ``log(mean_s softmax(model(s(batch))))`` over the
    symmetries ``s`` of the cube, as logits (their softmax is the mean probability).

    Args:
        model: the trained model (``forward(batch) -> logits`` with classes in dimension 1).
        permute, flip: which symmetries, as in :class:`~geolearn.datasets.RandomSymmetry` (default: all
            48); ``permute=False, flip="xz"`` averages the 4 mirror images of a ``y``-up shape.
        restrict: ``restrict(logits, batch) -> logits`` applied to each pose's logits before the
            softmax (the segmentation task's category mask, so that every pose's probabilities are
            over the shape's own parts, as the trainer scores them); ``None``: none.

    Raises:
        OptionError: (on forward) a batch of rendered views, which no symmetry of the points can move.
    """

    def __init__(
        self,
        model: nn.Module,
        permute: bool = True,
        flip: str = "xyz",
        restrict: Callable[[torch.Tensor, dict[str, Any]], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.symmetries = cube_symmetries(permute, flip)
        self.restrict = restrict

    def __repr__(self) -> str:
        return f"SymmetryAverage({type(self.model).__name__}, {len(self.symmetries)} symmetries)"

    def forward(self, batch: dict[str, Any]) -> torch.Tensor:
        total: torch.Tensor | None = None
        for perm, signs in self.symmetries:
            logits = self.model(apply_symmetry(batch, perm, signs)).float()
            if self.restrict is not None:
                logits = self.restrict(logits, batch)
            p = torch.softmax(logits, dim=1)
            total = p if total is None else total + p
        if total is None:  # cube_symmetries always gives the identity at least
            raise OptionError("SymmetryAverage: no symmetry to average over")
        return torch.log(total / len(self.symmetries)).clamp_min(-1e4)  # finite where a class got 0
