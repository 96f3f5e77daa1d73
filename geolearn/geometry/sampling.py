"""Sampling points on a mesh surface.

Shapes:
    points ``(N, 3)`` float32, normals ``(N, 3)`` float32, face index ``(N,)`` int64.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from geolearn.errors import EmptyMeshError, OptionError
from geolearn.mesh import Mesh
from geolearn.random import Seed, as_numpy_rng

__all__ = ["SurfaceSample", "sample_surface"]


class SurfaceSample(NamedTuple):
    """Points sampled on a surface.

    Attributes:
        points: ``(N, 3)`` float32 positions.
        normals: ``(N, 3)`` float32 unit normals of the faces the points lie on.
        face: ``(N,)`` int64 index of the face each point lies on.
    """

    points: np.ndarray
    normals: np.ndarray
    face: np.ndarray


def sample_surface(mesh: Mesh, num_points: int, seed: Seed) -> SurfaceSample:
    """Sample ``num_points`` points uniformly by area on the surface of ``mesh``.

    A face is drawn with probability proportional to its area, then a point uniformly inside it
    (square-root barycentric warping). Degenerate faces have zero area and are never drawn.

    Args:
        mesh: the mesh.
        num_points: N, the number of points (> 0).
        seed: int, numpy Generator or torch Generator.

    Returns:
        :class:`SurfaceSample` of N points, their face normals and face indices.
    """
    if num_points <= 0:
        raise OptionError(f"num_points must be positive, got {num_points}")
    rng = as_numpy_rng(seed)
    areas = mesh.face_areas
    total = float(areas.sum())
    if not np.isfinite(total) or total <= 0:
        raise EmptyMeshError(mesh.source, "surface area is zero: cannot sample points on it")
    cdf = np.cumsum(areas)
    face = np.searchsorted(cdf, rng.random(num_points) * cdf[-1], side="right")
    face = np.minimum(face, len(areas) - 1).astype(np.int64)  # (N,)
    r1 = np.sqrt(rng.random(num_points))  # (N,)
    r2 = rng.random(num_points)
    tri = mesh.triangles[face]  # (N, 3, 3)
    points = (
        (1 - r1)[:, None] * tri[:, 0] + (r1 * (1 - r2))[:, None] * tri[:, 1] + (r1 * r2)[:, None] * tri[:, 2]
    )
    normals = mesh.face_normals[face]
    return SurfaceSample(points.astype(np.float32), normals.astype(np.float32), face)
