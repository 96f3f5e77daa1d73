"""Batched ray casting against a mesh through Embree (open3d's ``RaycastingScene``).

All rays of a call go to Embree in one batch, which uses every core. Used by the shape diameter
function, multi-view rendering and inside/outside tests.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from geolearn._open3d import open3d
from geolearn.errors import OptionError
from geolearn.mesh import Mesh

__all__ = ["RayCaster", "RayHits"]


class RayHits(NamedTuple):
    """Result of casting R rays.

    Attributes:
        t: ``(R,)`` float32 distance along the (unit) ray to the first hit; ``inf`` for a miss.
        face: ``(R,)`` int64 index of the face hit; -1 for a miss.
        normal: ``(R, 3)`` float32 unit geometric normal of the face hit (right-hand rule of the
            mesh's winding); zero for a miss.
    """

    t: np.ndarray
    face: np.ndarray
    normal: np.ndarray

    @property
    def hit(self) -> np.ndarray:
        """``(R,)`` bool: which rays hit something."""
        return self.face >= 0


class RayCaster:
    """An Embree scene built once for a mesh; cast as many ray batches against it as you like.

    Args:
        mesh: the mesh to cast against (coordinates are converted to float32 for Embree).

    Example:
        >>> caster = RayCaster(mesh)
        >>> hits = caster.cast(origins, directions)   # (R, 3), (R, 3)
    """

    def __init__(self, mesh: Mesh) -> None:
        o3d = open3d()
        self.mesh = mesh
        self._scene = o3d.t.geometry.RaycastingScene()
        self._scene.add_triangles(
            o3d.core.Tensor(mesh.vertices.astype(np.float32)),
            o3d.core.Tensor(mesh.faces.astype(np.uint32)),
        )

    def cast(self, origins: np.ndarray, directions: np.ndarray) -> RayHits:
        """Cast rays from ``origins`` (``(R, 3)``) along ``directions`` (``(R, 3)``, normalised here).

        Returns:
            :class:`RayHits` with distances in mesh units.
        """
        o3d = open3d()
        rays = _ray_buffer(origins, directions)  # (R, 6) float32, one copy
        d = rays[:, 3:]
        d /= np.maximum(np.sqrt(np.einsum("ij,ij->i", d, d)), 1e-30)[:, None]
        rays = o3d.core.Tensor.from_numpy(rays)  # shares memory, no copy
        ans = self._scene.cast_rays(rays)
        t = ans["t_hit"].numpy()
        face = ans["primitive_ids"].numpy().astype(np.int64)
        miss = ~np.isfinite(t)
        face[miss] = -1
        normal = ans["primitive_normals"].numpy()
        normal[miss] = 0.0
        return RayHits(t, face, normal)

    def cast_unit_rays(self, rays: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The lean path for large batches (the SDF's): no copy, no normalisation, no face ids.

        Args:
            rays: ``(R, 6)`` float32 C-contiguous ``[origin, direction]`` rows whose directions are
                already unit length (not checked: distances are in units of the direction's length).

        Returns:
            ``t`` ``(R,)`` float32 hit distances, ``inf`` for a miss, and ``normal`` ``(R, 3)`` float32
            unit normals of the faces hit (meaningless where ``t`` is ``inf``).
        """
        o3d = open3d()
        if rays.dtype != np.float32 or rays.ndim != 2 or rays.shape[1] != 6 or not rays.flags.c_contiguous:
            raise OptionError(f"rays must be (R, 6) C-contiguous float32, got {rays.shape} {rays.dtype}")
        ans = self._scene.cast_rays(o3d.core.Tensor.from_numpy(rays))
        return ans["t_hit"].numpy(), ans["primitive_normals"].numpy()

    def count_intersections(self, origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
        """``(R,)`` int: how many times each ray crosses the surface (for parity inside tests)."""
        o3d = open3d()
        rays = o3d.core.Tensor.from_numpy(_ray_buffer(origins, directions))
        return self._scene.count_intersections(rays).numpy().astype(np.int64)


def _ray_buffer(origins: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """``(R, 6)`` float32 C-contiguous ``[origin, direction]`` rows, filled in one pass."""
    o = np.asarray(origins).reshape(-1, 3)
    d = np.asarray(directions).reshape(-1, 3)
    if len(o) != len(d):
        raise OptionError(f"origins and directions differ in length: {len(o)} vs {len(d)}")
    rays = np.empty((len(o), 6), dtype=np.float32)
    rays[:, :3] = o
    rays[:, 3:] = d
    return rays
