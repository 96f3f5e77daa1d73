"""Batched, area-weighted surface sampling in torch for many meshes at once.

:func:`geolearn.geometry.sampling.sample_surface` samples one mesh in numpy; the shape distributions
need millions of points for each of many meshes, so this module packs the triangles of several
meshes into one tensor (on any device) and samples all of them with a handful of batched kernels.

Common random numbers: every mesh of a batch is sampled from the *same* uniform variates (mapped
through its own area CDF and its own triangles). A mesh's points therefore do not depend on the
batch it is in or its position there, and two meshes are compared with less Monte Carlo noise.

Shapes:
    packed triangles ``(ΣF, 3, 3)`` with offsets ``face_ptr (M+1,)``; points ``(M, N, 3)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from geolearn.errors import EmptyMeshError, OptionError
from geolearn.mesh import Mesh, check_usable

__all__ = ["PackedTriangles", "pack_meshes", "sample_packed", "sample_packed_coords"]


@dataclass(frozen=True)
class PackedTriangles:
    """The triangles of M meshes concatenated on one device.

    Attributes:
        corner_table: ``(9, ΣF)`` float32, column f = corner 0 (xyz), edge corner 1 − corner 0 (xyz),
            edge corner 2 − corner 0 (xyz) of face f, in the mesh's frame centred on its area
            centroid. Mesh b owns columns ``face_ptr[b]:face_ptr[b+1]``.
        face_ptr: ``(M+1,)`` int64 offsets (on the same device).
        cdf: ``(M, F_max)`` float32 per-mesh cumulative area fractions, padded with 2.0 (never drawn).
        num_faces: ``(M,)`` int64 faces per mesh.
        radius: ``(M,)`` float32 largest distance from the area centroid (the origin of the packed
            frame) to a face corner: every surface point lies in the ball of this radius (rotation
            and translation invariant).
    """

    corner_table: torch.Tensor
    face_ptr: torch.Tensor
    cdf: torch.Tensor
    num_faces: torch.Tensor
    radius: torch.Tensor

    @property
    def num_meshes(self) -> int:
        return int(self.num_faces.shape[0])

    @property
    def device(self) -> torch.device:
        return self.corner_table.device


def pack_meshes(meshes: Sequence[Mesh], device: torch.device | str = "cpu") -> PackedTriangles:
    """Pack ``meshes`` for :func:`sample_packed`.

    Coordinates are centred on each mesh's area centroid in float64 before the cast to float32, so
    meshes far from the origin keep their precision (every shape distribution is translation invariant
    and D1 measures from that centroid).

    Raises:
        EmptyMeshError: a mesh has no faces or zero surface area.
    """
    if len(meshes) == 0:
        raise OptionError("pack_meshes: need at least one mesh")
    device = torch.device(device)
    corners, areas, radii = [], [], []
    for mesh in meshes:
        check_usable(mesh)
        tri = mesh.triangles  # (F, 3, 3) float64
        area = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        total = float(area.sum())
        if not np.isfinite(total) or total <= 0:
            raise EmptyMeshError(mesh.source, "surface area is zero: cannot sample points on it")
        centroid = (area[:, None] * tri.mean(axis=1)).sum(0) / total  # (3,)
        tri = tri - centroid
        radii.append(float(np.linalg.norm(tri, axis=2).max()))
        tri[:, 1:] -= tri[:, :1]  # (F, 3, 3): corner 0, edge 1, edge 2
        corners.append(tri.astype(np.float32))
        areas.append(area)
    num_faces = np.array([len(a) for a in areas], dtype=np.int64)
    fmax = int(num_faces.max())
    cdf = np.full((len(meshes), fmax), 2.0, dtype=np.float64)
    for b, area in enumerate(areas):
        c = np.cumsum(area)
        cdf[b, : len(area)] = c / c[-1]
    face_ptr = np.concatenate([[0], np.cumsum(num_faces)])
    return PackedTriangles(
        corner_table=torch.from_numpy(np.ascontiguousarray(np.concatenate(corners).reshape(-1, 9).T)).to(
            device
        ),
        face_ptr=torch.from_numpy(face_ptr).to(device),
        cdf=torch.from_numpy(cdf.astype(np.float32)).to(device),
        num_faces=torch.from_numpy(num_faces).to(device),
        radius=torch.tensor(radii, dtype=torch.float32, device=device),
    )


def sample_packed(packed: PackedTriangles, uniforms: torch.Tensor) -> torch.Tensor:
    """Map uniform variates to area-uniform surface points of every packed mesh.

    Args:
        packed: meshes from :func:`pack_meshes`.
        uniforms: ``(N, 3)`` float32 in ``[0, 1)`` on ``packed.device``: column 0 picks the face
            (inverse area CDF), columns 1–2 the point inside it (square-root barycentric warping,
            uniform on the triangle). The same variates are used for every mesh.

    Returns:
        ``(M, N, 3)`` float32 points, in each mesh's frame centred on its area centroid.
    """
    return sample_packed_coords(packed, uniforms).permute(1, 2, 0)


def sample_packed_coords(packed: PackedTriangles, uniforms: torch.Tensor) -> torch.Tensor:
    """:func:`sample_packed` in coordinate-major layout: ``(3, M, N)`` float32, contiguous.

    The layout the shape functions use: every coordinate is one contiguous vector, so the
    per-sample arithmetic runs as plain elementwise kernels.
    """
    if uniforms.ndim != 2 or uniforms.shape[1] != 3:
        raise OptionError(f"uniforms must have shape (N, 3), got {tuple(uniforms.shape)}")
    m = packed.num_meshes
    n = uniforms.shape[0]
    u_face = uniforms[:, 0].expand(m, n).contiguous()  # (M, N)
    local = torch.searchsorted(packed.cdf, u_face, right=True)  # (M, N) first cdf > u
    local = torch.minimum(local, (packed.num_faces - 1)[:, None])  # rounding at cdf ≈ 1
    face = (local + packed.face_ptr[:-1, None]).reshape(-1)  # (M*N,)
    g = packed.corner_table.index_select(1, face).view(3, 3, m, n)  # (corner0/edge1/edge2, xyz, M, N)
    u = uniforms[:, 1:].t().contiguous()  # (2, N)
    r1 = u[0].sqrt()  # (N,)
    w2 = r1 * u[1]  # weight of edge 2
    w1 = r1 - w2  # weight of edge 1
    return torch.addcmul(torch.addcmul(g[0], w1, g[1]), w2, g[2])  # (3, M, N)
