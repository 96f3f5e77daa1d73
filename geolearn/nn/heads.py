"""The heads every encoder shares, so that learned and hand-crafted features are compared through
the same classifier."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from geolearn.errors import OptionError
from geolearn.nn.mlp import MLP
from geolearn.nn.norm_act import create_act, create_norm

__all__ = ["ClassificationHead", "SegmentationHead"]


class ClassificationHead(nn.Module):
    """MLP on the global feature → class logits.

    Defaults: hidden (512, 256) with batch norm and dropout 0.5, the classifier of PointNet and DGCNN.

    Shapes: ``(B, C) → (B, K)``.
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        hidden: Sequence[int] = (512, 256),
        dropout: float = 0.5,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise OptionError(f"a classifier needs num_classes >= 2, got {num_classes}")
        self.mlp = MLP(in_channels, hidden, num_classes, norm=norm, act=act, dropout=dropout)

    def forward(self, global_features: torch.Tensor) -> torch.Tensor:
        return self.mlp(global_features)


class SegmentationHead(nn.Module):
    """Per-point logits from local features and the shape's global feature.

    Computes a shared (1×1) MLP on ``concat(local_n, global)`` at every point n. The first layer is
    split as ``W [l; g] = W_l l + W_g g``: the global part is computed once per shape and broadcast,
    which is the same function without materialising the ``(B, C_l + C, N)`` concatenation.
    Defaults: hidden (256, 128), the last two layers of PointNet's segmentation network.

    Shapes: ``local (B, C_l, N)``, ``global (B, C)`` → ``(B, K, N)``.
    """

    def __init__(
        self,
        local_channels: int,
        global_channels: int,
        num_classes: int,
        hidden: Sequence[int] = (256, 128),
        dropout: float = 0.0,
        norm: str = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        if num_classes < 2:
            raise OptionError(f"a segmentation head needs num_classes >= 2, got {num_classes}")
        if not hidden:
            raise OptionError("the segmentation head needs at least one hidden layer")
        bias = norm in (None, "none")
        self.local_proj = nn.Linear(local_channels, hidden[0], bias=False)
        self.global_proj = nn.Linear(global_channels, hidden[0], bias=bias)
        self.norm = create_norm(norm, hidden[0], 0)
        self.act = create_act(act)
        self.drop = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.rest = MLP(hidden[0], hidden[1:], num_classes, norm=norm, act=act, dropout=dropout)
        self.local_channels, self.global_channels = local_channels, global_channels

    def forward(self, local_features: torch.Tensor, global_features: torch.Tensor) -> torch.Tensor:
        b, c_l, n = local_features.shape
        if c_l != self.local_channels or global_features.shape != (b, self.global_channels):
            raise OptionError(
                f"segmentation head expects local (B,{self.local_channels},N) and global (B,{self.global_channels}); "
                f"got {tuple(local_features.shape)} and {tuple(global_features.shape)}"
            )
        h = self.local_proj(local_features.transpose(1, 2)) + self.global_proj(global_features).unsqueeze(1)
        h = self.drop(self.act(self.norm(h.reshape(b * n, -1))))  # (B·N, H0)
        return self.rest(h).view(b, n, -1).transpose(1, 2)  # (B, K, N)
