"""Batching samples: :func:`collate_shapes` (a ``DataLoader`` ``collate_fn``) and :func:`move_batch`.

Layout of a batch of B samples (see ``CONTRACT.md``):

- fixed-size tensors are stacked on a new dim 0: ``label (B,)``, ``index (B,)``,
  ``points (B, N, 3)``, ``normals (B, N, 3)``, ``point_face (B, N)``, ``point_labels (B, N)``,
  ``voxels (B, 1, R, R, R)``, ``views (B, V, C, H, W)``, ``view_face (B, V, H, W)``,
  ``descriptor (B, D)``;
- per-face tensors (every key starting with ``face_``: ``face_labels``, ``face_areas``,
  ``face_centroids``, ``face_features``, ...) have a length F that differs between shapes and are
  *packed*: concatenated along dim 0 (``(ΣF, ...)``), with ``face_ptr (B+1,) int64`` such that shape
  b's faces are rows ``face_ptr[b]:face_ptr[b+1]``. ``point_face``/``view_face`` keep *local* face
  indices (``0..F_b-1``, -1 for background): add ``face_ptr[b]`` to address packed arrays;
- strings (``source``) become a list of B strings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from geolearn.errors import DatasetError, OptionError

__all__ = ["collate_shapes", "is_packed_key", "move_batch"]


def is_packed_key(key: str) -> bool:
    """Whether ``key`` holds per-face data (packed in a batch): keys starting with ``face_``."""
    return key.startswith("face_") and key != "face_ptr"


def _where(sample: Mapping[str, Any]) -> str:
    return str(sample.get("source", "<unknown source>"))


def collate_shapes(samples: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Collate dataset samples into a batch (layout in the module docstring).

    Args:
        samples: B >= 1 samples with the same keys.

    Returns:
        dict of stacked tensors, packed per-face tensors plus ``face_ptr (B+1,) int64`` (only when
        per-face keys are present), and lists for strings.

    Raises:
        DatasetError: samples with different keys, or fixed-size tensors whose shapes differ
            (the message names the key, the shapes and the sources).
    """
    if len(samples) == 0:
        raise OptionError("collate_shapes: no samples to collate")
    keys = list(samples[0].keys())
    for s in samples[1:]:
        if set(s.keys()) != set(keys):
            diff = sorted(set(s.keys()) ^ set(keys))
            raise DatasetError(f"collate_shapes: {_where(s)} and {_where(samples[0])} differ in keys {diff}")
    batch: dict[str, Any] = {}
    packed = [k for k in keys if is_packed_key(k)]
    if packed:
        counts = []
        for s in samples:
            lengths = {k: int(s[k].shape[0]) for k in packed}
            if len(set(lengths.values())) != 1:
                raise DatasetError(
                    f"collate_shapes: {_where(s)}: per-face tensors disagree on the face count {lengths}"
                )
            counts.append(next(iter(lengths.values())))
        ptr = torch.zeros(len(samples) + 1, dtype=torch.int64)
        ptr[1:] = torch.cumsum(torch.tensor(counts, dtype=torch.int64), 0)
        batch["face_ptr"] = ptr  # (B+1,)
        for k in packed:
            batch[k] = torch.cat([s[k] for s in samples], dim=0)  # (ΣF, ...)
    for k in keys:
        if k in batch:
            continue
        values = [s[k] for s in samples]
        first = values[0]
        if isinstance(first, torch.Tensor):
            shapes = {tuple(v.shape) for v in values}
            if len(shapes) != 1:
                detail = ", ".join(f"{_where(s)}: {tuple(s[k].shape)}" for s in samples[:4])
                raise DatasetError(f"collate_shapes: {k!r} has different shapes in one batch ({detail})")
            batch[k] = torch.stack(values, dim=0)
        elif isinstance(first, (bool, int, float)):
            batch[k] = torch.tensor(values)
        else:
            batch[k] = list(values)
    return batch


def move_batch(batch: Mapping[str, Any], device: torch.device | str) -> dict[str, Any]:
    """A copy of ``batch`` with every tensor moved to ``device`` (``non_blocking``: asynchronous
    from pinned memory to CUDA, an ordinary copy otherwise); other values are kept as they are."""
    device = torch.device(device)
    return {
        k: v.to(device, non_blocking=True) if isinstance(v, torch.Tensor) else v for k, v in batch.items()
    }
