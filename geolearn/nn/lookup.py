"""Reading features at the surface points: trilinear lookup in a voxel grid and gathering per-face
features at the points' faces.

Voxel layout (CONTRACT.md ``Voxels``): ``grid[b, c, i, j, k]`` is the cell at x-index i, y-index j,
z-index k of a grid that spans ``[-1, 1]^3``; cell centres sit at ``-1 + (i + 0.5) * 2 / R``.
"""

from __future__ import annotations

import torch
from torch.nn import functional as F

from geolearn.errors import OptionError
from geolearn.nn.pooling import packed_face_index

__all__ = ["gather_face_features", "trilinear_lookup"]


def trilinear_lookup(grid: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Trilinearly interpolate ``grid`` at ``points``.

    ``grid_sample`` reads its last coordinate axis as (x → W, y → H, z → D); our grids index
    (x → D, y → H, z → W), so the point coordinates are passed reversed as (z, y, x). Cell centres
    follow ``align_corners=False``; points beyond the outermost cell centres take the border value.

    Shapes: ``grid (B, C, R_x, R_y, R_z)`` float; ``points (B, N, 3)`` float in ``[-1, 1]`` →
    ``(B, C, N)`` float.
    """
    if grid.dim() != 5 or points.dim() != 3 or points.shape[-1] != 3 or points.shape[0] != grid.shape[0]:
        raise OptionError(
            f"trilinear_lookup: grid must be (B,C,D,H,W) and points (B,N,3); got {tuple(grid.shape)} "
            f"and {tuple(points.shape)}"
        )
    b, n = points.shape[:2]
    coords = points.flip(-1).to(grid.dtype).view(b, n, 1, 1, 3)  # (B, N, 1, 1, 3) as (z, y, x)
    out = F.grid_sample(grid, coords, mode="bilinear", padding_mode="border", align_corners=False)
    return out.reshape(b, grid.shape[1], n)  # (B, C, N)


def gather_face_features(
    face_values: torch.Tensor, point_face: torch.Tensor, face_ptr: torch.Tensor
) -> torch.Tensor:
    """The row of each point's face in a packed per-face tensor.

    Shapes: ``face_values (ΣF, C)`` float; ``point_face (B, N)`` int64 local ids in ``[0, F_b)``;
    ``face_ptr (B+1,)`` int64 → ``(B, C, N)`` float.
    """
    if face_values.dim() != 2 or point_face.dim() != 2:
        raise OptionError(
            f"gather_face_features: face_values must be (ΣF,C) and point_face (B,N); got "
            f"{tuple(face_values.shape)} and {tuple(point_face.shape)}"
        )
    if int(face_ptr[-1]) != face_values.shape[0]:
        raise OptionError(
            f"gather_face_features: face_ptr[-1]={int(face_ptr[-1])} but face_values has {face_values.shape[0]} rows"
        )
    rows = packed_face_index(point_face, face_ptr, who="gather_face_features")  # (B, N)
    if bool((rows < 0).any()):
        raise OptionError("gather_face_features: point_face has -1 entries; every point must lie on a face")
    return face_values[rows].transpose(1, 2)  # (B, C, N)
