"""Pooling: spatial pooling layers (max/average, adaptive, global) and the pooling of per-point or
per-pixel values onto the faces of packed meshes.

Packed faces follow CONTRACT.md: shape b's faces are rows ``face_ptr[b]:face_ptr[b+1]`` of a
``(ΣF, ...)`` tensor; ``point_face`` / ``view_face`` hold LOCAL face indices (``-1`` = background).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from geolearn.errors import OptionError

__all__ = [
    "FacePooling",
    "GlobalPool",
    "create_adaptive_pool",
    "create_pool",
    "packed_face_index",
    "pixels_to_faces",
    "points_to_faces",
]

_POOL = {
    ("max", 1): nn.MaxPool1d, ("max", 2): nn.MaxPool2d, ("max", 3): nn.MaxPool3d,
    ("avg", 1): nn.AvgPool1d, ("avg", 2): nn.AvgPool2d, ("avg", 3): nn.AvgPool3d,
}  # fmt: skip
_ADAPTIVE = {
    ("max", 1): nn.AdaptiveMaxPool1d, ("max", 2): nn.AdaptiveMaxPool2d, ("max", 3): nn.AdaptiveMaxPool3d,
    ("avg", 1): nn.AdaptiveAvgPool1d, ("avg", 2): nn.AdaptiveAvgPool2d, ("avg", 3): nn.AdaptiveAvgPool3d,
}  # fmt: skip


def _pool_key(kind: str, dim: int) -> tuple[str, int]:
    if (kind, dim) not in _POOL:
        raise OptionError(f"pooling needs kind max|avg and dim 1|2|3, got kind={kind!r} dim={dim}")
    return kind, dim


def create_pool(kind: str, dim: int, kernel_size: int = 2, stride: int | None = None) -> nn.Module:
    """``nn.{Max,Avg}Pool{dim}d(kernel_size, stride)`` by name (``kind`` = ``max`` | ``avg``)."""
    return _POOL[_pool_key(kind, dim)](kernel_size, stride=stride)


def create_adaptive_pool(kind: str, dim: int, output_size: int | tuple[int, ...]) -> nn.Module:
    """``nn.Adaptive{Max,Avg}Pool{dim}d(output_size)`` by name: any input size → ``output_size``."""
    return _ADAPTIVE[_pool_key(kind, dim)](output_size)


class GlobalPool(nn.Module):
    """Pool every spatial position (or point) away: ``(B, C, *S) → (B, C)``, or ``(B, 2C)`` for ``maxavg``
    (max and mean concatenated, as DGCNN does)."""

    def __init__(self, mode: str = "max") -> None:
        super().__init__()
        if mode not in ("max", "avg", "maxavg"):
            raise OptionError(f"global pooling mode must be max, avg or maxavg, got {mode!r}")
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.flatten(2)  # (B, C, prod(S))
        if self.mode == "max":
            return flat.amax(2)
        if self.mode == "avg":
            return flat.mean(2)
        return torch.cat([flat.amax(2), flat.mean(2)], dim=1)

    def channels(self, in_channels: int) -> int:
        """Output width for ``in_channels`` input channels."""
        return 2 * in_channels if self.mode == "maxavg" else in_channels


def _check_ptr(face_ptr: torch.Tensor, batch_size: int, who: str) -> torch.Tensor:
    if face_ptr.dim() != 1 or face_ptr.numel() != batch_size + 1:
        raise OptionError(
            f"{who}: face_ptr must be (B+1,) = ({batch_size + 1},), got {tuple(face_ptr.shape)}"
        )
    counts = face_ptr[1:] - face_ptr[:-1]  # (B,) faces per shape
    if bool((counts < 0).any()) or int(face_ptr[0]) != 0:
        raise OptionError(f"{who}: face_ptr must start at 0 and never decrease")
    return counts


def packed_face_index(
    local_face: torch.Tensor, face_ptr: torch.Tensor, *, who: str = "faces"
) -> torch.Tensor:
    """Turn local face ids into rows of the packed face arrays, keeping ``-1`` for background.

    Shapes: ``local_face (B, *)`` int64 with values in ``[-1, F_b)``; ``face_ptr (B+1,)`` int64 →
    ``(B, *)`` int64 with values in ``[-1, ΣF)``. Raises :class:`OptionError` on out-of-range ids.
    """
    b = local_face.shape[0]
    counts = _check_ptr(face_ptr, b, who)  # (B,)
    view = (b,) + (1,) * (local_face.dim() - 1)
    if local_face.numel() and (
        bool((local_face < -1).any()) or bool((local_face >= counts.view(view)).any())
    ):
        raise OptionError(f"{who}: a face id is outside [-1, F_b) for its shape (check face_ptr)")
    offset = face_ptr[:-1].view(view)
    return torch.where(local_face >= 0, local_face + offset, local_face)


class FacePooling(NamedTuple):
    """Values averaged onto packed faces.

    Shapes: ``features (ΣF, C)`` float (zeros where ``counts == 0``); ``counts (ΣF,)`` int64, how many
    pixels/points contributed to each face.
    """

    features: torch.Tensor
    counts: torch.Tensor


def _scatter_mean(values: torch.Tensor, index: torch.Tensor, size: int) -> FacePooling:
    """Mean of the rows of ``values (M, C)`` grouped by ``index (M,)`` into ``size`` rows."""
    sums = values.new_zeros(size, values.shape[1]).index_add_(0, index, values)  # (size, C)
    counts = torch.bincount(index, minlength=size)  # (size,)
    mean = sums / counts.clamp(min=1).unsqueeze(1).to(values.dtype)
    return FacePooling(mean, counts)


def pixels_to_faces(
    pixel_features: torch.Tensor, view_face: torch.Tensor, face_ptr: torch.Tensor
) -> FacePooling:
    """Average the features of every pixel, over all views, that shows a face (scatter-mean).

    Pixels showing face f in any of the V views each count once, so a face seen in more (or larger)
    patches weighs those views more. Faces seen by no pixel get zeros and ``counts == 0``.

    Shapes: ``pixel_features (B, V, C, H, W)`` float; ``view_face (B, V, H, W)`` int64 local face ids
    (``-1`` background); ``face_ptr (B+1,)`` int64 → :class:`FacePooling` with ``(ΣF, C)`` / ``(ΣF,)``.
    """
    if pixel_features.dim() != 5 or view_face.shape != pixel_features.shape[:2] + pixel_features.shape[3:]:
        raise OptionError(
            f"pixels_to_faces: pixel_features (B,V,C,H,W) {tuple(pixel_features.shape)} does not match "
            f"view_face (B,V,H,W) {tuple(view_face.shape)}"
        )
    total = int(face_ptr[-1])
    rows = packed_face_index(view_face, face_ptr, who="pixels_to_faces").reshape(-1)  # (B·V·H·W,)
    c = pixel_features.shape[2]
    values = pixel_features.permute(0, 1, 3, 4, 2).reshape(-1, c)  # (B·V·H·W, C)
    seen = rows >= 0
    return _scatter_mean(values[seen], rows[seen], total)


def points_to_faces(
    point_logits: torch.Tensor,
    point_face: torch.Tensor,
    face_ptr: torch.Tensor,
    points: torch.Tensor | None = None,
    face_centroids: torch.Tensor | None = None,
    *,
    chunk: int = 4096,
) -> torch.Tensor:
    """Per-point predictions pooled back to the faces of each mesh.

    Each face gets the mean of the logits of the points sampled on it. A face that got no point takes
    the logits of the point of the same shape nearest to its centroid; that needs ``points`` and
    ``face_centroids`` (both in a segmentation batch), and raises :class:`OptionError` without them.

    Shapes:
        point_logits: ``(B, K, N)`` float.
        point_face: ``(B, N)`` int64 local face ids in ``[0, F_b)``.
        face_ptr: ``(B+1,)`` int64.
        points: ``(B, N, 3)`` float, same frame as ``face_centroids``.
        face_centroids: ``(ΣF, 3)`` float, packed.
        chunk: faces per distance block (bounds memory to ``chunk × N`` floats).

    Returns:
        ``(ΣF, K)`` float logits per packed face.
    """
    if point_logits.dim() != 3 or point_face.shape != (point_logits.shape[0], point_logits.shape[2]):
        raise OptionError(
            f"points_to_faces: point_logits must be (B,K,N) and point_face (B,N); got "
            f"{tuple(point_logits.shape)} and {tuple(point_face.shape)}"
        )
    b, k, n = point_logits.shape
    rows = packed_face_index(point_face, face_ptr, who="points_to_faces")  # (B, N)
    if bool((rows < 0).any()):
        raise OptionError("points_to_faces: point_face has -1 entries; every point must lie on a face")
    total = int(face_ptr[-1])
    pooled = _scatter_mean(point_logits.transpose(1, 2).reshape(-1, k), rows.reshape(-1), total)
    out = pooled.features  # (ΣF, K)
    empty = pooled.counts == 0  # (ΣF,)
    if not bool(empty.any()):
        return out
    if points is None or face_centroids is None:
        raise OptionError(
            f"points_to_faces: {int(empty.sum())} faces got no point; pass points (B,N,3) and "
            "face_centroids (ΣF,3) so they can take the nearest point's logits"
        )
    if points.shape != (b, n, 3) or face_centroids.shape != (total, 3):
        raise OptionError(
            f"points_to_faces: points must be ({b},{n},3) and face_centroids ({total},3); got "
            f"{tuple(points.shape)} and {tuple(face_centroids.shape)}"
        )
    out = out.clone()
    for i in range(b):
        lo, hi = int(face_ptr[i]), int(face_ptr[i + 1])
        missing = torch.nonzero(empty[lo:hi]).squeeze(1) + lo  # (M,) packed rows
        pts = points[i].to(face_centroids.dtype)  # (N, 3)
        for s in range(0, missing.numel(), chunk):
            sel = missing[s : s + chunk]
            nearest = torch.cdist(face_centroids[sel], pts).argmin(dim=1)  # (m,)
            out[sel] = point_logits[i, :, nearest].T
    return out
