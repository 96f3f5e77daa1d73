"""The encoder contract: what every encoder returns, and the checks on the batches it reads.

A *batch* is the dict that :func:`geolearn.datasets.collate.collate_shapes` builds (see
``CONTRACT.md``): fixed-size tensors stacked on dim 0 (``points (B,N,3)``, ``voxels (B,1,R,R,R)``,
``views (B,V,C,H,W)`` …) and per-face tensors packed with offsets ``face_ptr (B+1,)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import torch
from torch import nn

from geolearn.errors import OptionError

__all__ = ["Batch", "Encoder", "Features", "require_keys", "require_tensor"]

Batch = Mapping[str, Any]
"""A collated batch: ``dict[str, torch.Tensor | list[str]]`` in the CONTRACT.md layout."""


class Features(NamedTuple):
    """What an encoder returns.

    Shapes:
        global_features: ``(B, C)`` float, one vector per shape.
        local_features: ``(B, C_l, N)`` float aligned with the N points of ``batch["points"]`` /
        ``batch["point_face"]``, or ``None`` when the encoder was built without local features.
    """

    global_features: torch.Tensor
    local_features: torch.Tensor | None


class Encoder(nn.Module):
    """Base class of every registered encoder.

    Subclasses set ``out_channels`` (C of the global features), ``local_channels`` (C_l, 0 when the
    encoder was built with ``local=False``) and implement ``forward(batch) -> Features``.
    """

    out_channels: int
    local_channels: int

    def forward(self, batch: Batch) -> Features:  # pragma: no cover - abstract
        raise NotImplementedError

    def auxiliary_loss(self) -> torch.Tensor | None:
        """A regularisation term of the last training forward pass, added to the task loss by the
        trainer (e.g. PointNet's feature-transform orthogonality); ``None`` (the default): nothing."""
        return None


def require_keys(batch: Batch, keys: Sequence[str], who: str) -> None:
    """Raise :class:`OptionError` naming ``who`` and the keys that ``batch`` lacks."""
    missing = [k for k in keys if k not in batch]
    if missing:
        have = ", ".join(sorted(str(k) for k in batch))
        raise OptionError(f"{who}: batch lacks {', '.join(missing)} (it has: {have})")


def require_tensor(
    batch: Batch, key: str, ndim: int, who: str, *, dims: Mapping[int, int] | None = None
) -> torch.Tensor:
    """``batch[key]`` after checking that it is a tensor with ``ndim`` dims (and sizes ``dims``).

    ``dims`` maps a dimension index to its required size, e.g. ``{-1: 3}`` for points.
    """
    require_keys(batch, [key], who)
    t = batch[key]
    if not isinstance(t, torch.Tensor) or t.dim() != ndim:
        shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
        raise OptionError(f"{who}: batch[{key!r}] must be a {ndim}-d tensor, got {shape}")
    for d, size in (dims or {}).items():
        if t.shape[d] != size:
            raise OptionError(f"{who}: batch[{key!r}] must have size {size} in dim {d}, got {tuple(t.shape)}")
    return t
