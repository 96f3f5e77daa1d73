"""Residual blocks (He et al. 2016) for 1d/2d/3d maps, with a projection shortcut when the shape changes.

Shapes: ``(B, C_in, *S) → (B, C_out, *ceil(S / stride))``.
"""

from __future__ import annotations

import torch
from torch import nn

from geolearn.errors import OptionError
from geolearn.nn.conv import ConvNormAct
from geolearn.nn.norm_act import create_act

__all__ = ["BasicBlock", "Bottleneck", "create_residual_block"]


def _shortcut(dim: int, in_channels: int, out_channels: int, stride: int, norm: str | None) -> nn.Module:
    """Identity when the shape is kept, else a strided 1-wide projection (ResNet's option B)."""
    if stride == 1 and in_channels == out_channels:
        return nn.Identity()
    return ConvNormAct(dim, in_channels, out_channels, 1, stride=stride, padding=0, norm=norm, act="none")


class BasicBlock(nn.Module):
    """Two 3-wide convolutions with a residual connection: ``act(x' + shortcut(x))``."""

    def __init__(
        self,
        dim: int,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        norm: str | None = "batch",
        act: str = "relu",
    ) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvNormAct(dim, in_channels, out_channels, 3, stride=stride, norm=norm, act=act),
            ConvNormAct(dim, out_channels, out_channels, 3, norm=norm, act="none"),
        )
        self.shortcut = _shortcut(dim, in_channels, out_channels, stride, norm)
        self.act = create_act(act)
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


class Bottleneck(nn.Module):
    """1-wide reduce → 3-wide (strided) → 1-wide expand, plus a residual connection.

    The middle width is ``out_channels // expansion`` (4 as in ResNet-50).
    """

    def __init__(
        self,
        dim: int,
        in_channels: int,
        out_channels: int,
        stride: int = 1,
        norm: str | None = "batch",
        act: str = "relu",
        expansion: int = 4,
    ) -> None:
        super().__init__()
        if out_channels % expansion:
            raise OptionError(
                f"bottleneck out_channels={out_channels} is not a multiple of expansion={expansion}"
            )
        mid = out_channels // expansion
        self.body = nn.Sequential(
            ConvNormAct(dim, in_channels, mid, 1, norm=norm, act=act),
            ConvNormAct(dim, mid, mid, 3, stride=stride, norm=norm, act=act),
            ConvNormAct(dim, mid, out_channels, 1, norm=norm, act="none"),
        )
        self.shortcut = _shortcut(dim, in_channels, out_channels, stride, norm)
        self.act = create_act(act)
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))


def create_residual_block(
    kind: str,
    dim: int,
    in_channels: int,
    out_channels: int,
    stride: int = 1,
    norm: str | None = "batch",
    act: str = "relu",
) -> nn.Module:
    """A :class:`BasicBlock` (``kind="basic"``) or :class:`Bottleneck` (``kind="bottleneck"``)."""
    if kind == "basic":
        return BasicBlock(dim, in_channels, out_channels, stride, norm, act)
    if kind == "bottleneck":
        return Bottleneck(dim, in_channels, out_channels, stride, norm, act)
    raise OptionError(f"residual block kind {kind!r} is unknown; choose basic or bottleneck")
