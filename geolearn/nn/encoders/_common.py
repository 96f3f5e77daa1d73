"""Helpers shared by the built-in encoders: representation lists and batch-shape inference."""

from __future__ import annotations

from typing import Any

import torch

from geolearn.errors import OptionError
from geolearn.nn.contract import Batch, require_tensor

__all__ = ["points_if_segment", "read_points"]


def points_if_segment(task: str, num_points: int, seed: int) -> list[Any]:
    """``[Points(num_points, seed)]`` for segmentation (every segmentation batch carries the query
    points and their faces, CONTRACT.md), ``[]`` for classification."""
    if task != "segment":
        return []
    from geolearn.datasets.representations import Points

    return [Points(num_points=num_points, seed=seed)]


def read_points(batch: Batch, who: str, use_normals: bool) -> torch.Tensor:
    """``(B, N, 3)`` points, or ``(B, N, 6)`` points and normals."""
    pts = require_tensor(batch, "points", 3, who, dims={-1: 3})
    if not use_normals:
        return pts
    nrm = require_tensor(batch, "normals", 3, who, dims={-1: 3})
    if nrm.shape != pts.shape:
        raise OptionError(f"{who}: normals {tuple(nrm.shape)} do not match points {tuple(pts.shape)}")
    return torch.cat([pts, nrm], dim=-1)
