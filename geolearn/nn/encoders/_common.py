"""Helpers shared by the built-in encoders: representation lists and batch-shape inference."""

from __future__ import annotations

from typing import Any

__all__ = ["points_if_segment"]


def points_if_segment(task: str, num_points: int, seed: int) -> list[Any]:
    """``[Points(num_points, seed)]`` for segmentation (every segmentation batch carries the query
    points and their faces, CONTRACT.md), ``[]`` for classification."""
    if task != "segment":
        return []
    from geolearn.datasets.representations import Points

    return [Points(num_points=num_points, seed=seed)]
