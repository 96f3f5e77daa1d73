"""Normalisation and activation layers picked by name (tiny factories, as timm's ``create_act``).

``dim`` says what the layer normalises: ``0`` for feature vectors ``(B, C)`` (or channels-last
``(..., C)`` for ``layer``), ``1``/``2``/``3`` for channels-first maps ``(B, C, *spatial)``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F

from geolearn.errors import OptionError

__all__ = ["ACTIVATIONS", "NORMS", "ChannelLayerNorm", "create_act", "create_norm", "relu_slope"]

LEAKY_SLOPE = 0.2

_ACTS: dict[str, Callable[[], nn.Module]] = {
    "relu": lambda: nn.ReLU(inplace=True),
    # slope 0.2 as in DGCNN; VoxNet used 0.1 (its encoder passes that explicitly)
    "leaky_relu": lambda: nn.LeakyReLU(LEAKY_SLOPE, inplace=True),
    "elu": lambda: nn.ELU(inplace=True),
    "gelu": nn.GELU,
    "silu": lambda: nn.SiLU(inplace=True),
    "mish": lambda: nn.Mish(inplace=True),
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "none": nn.Identity,
}
ACTIVATIONS: tuple[str, ...] = tuple(_ACTS)
NORMS: tuple[str, ...] = ("batch", "group", "instance", "layer", "none")


def create_act(name: str | None) -> nn.Module:
    """An activation module by name (one of :data:`ACTIVATIONS`; ``None`` means ``"none"``)."""
    key = "none" if name is None else str(name).lower()
    if key not in _ACTS:
        raise OptionError(f"activation {name!r} is unknown; choose one of {', '.join(ACTIVATIONS)}")
    return _ACTS[key]()


def relu_slope(name: str | None) -> float | None:
    """The negative slope of ``relu`` (0) or ``leaky_relu`` (0.2); ``None`` for other activations."""
    return {"relu": 0.0, "leaky_relu": LEAKY_SLOPE}.get("none" if name is None else str(name).lower())


class ChannelLayerNorm(nn.Module):
    """Layer norm over the channel dim of a channels-first map ``(B, C, *spatial)``.

    Each position is normalised over its C channels (the ConvNeXt / timm ``LayerNorm2d`` meaning),
    not over the whole map.
    """

    def __init__(self, num_channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(num_channels))
        self.bias = nn.Parameter(torch.zeros(num_channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.movedim(1, -1), self.weight.shape, self.weight, self.bias, self.eps)
        return y.movedim(-1, 1)


def _groups(num_channels: int, max_groups: int = 32) -> int:
    """The largest divisor of ``num_channels`` that is at most ``max_groups`` (32 as in Wu & He 2018)."""
    for g in range(min(max_groups, num_channels), 0, -1):
        if num_channels % g == 0:
            return g
    return 1


def create_norm(name: str | None, num_channels: int, dim: int) -> nn.Module:
    """A normalisation module by name (one of :data:`NORMS`; ``None`` means ``"none"``).

    Args:
        name: ``batch``, ``group`` (up to 32 groups), ``instance`` (affine), ``layer`` (over channels
            per position) or ``none``.
        num_channels: C.
        dim: 0 for ``(B, C)`` vectors, 1/2/3 for ``(B, C, *spatial)`` maps.
    """
    key = "none" if name is None else str(name).lower()
    if dim not in (0, 1, 2, 3):
        raise OptionError(f"norm dim must be 0, 1, 2 or 3, got {dim}")
    if key == "none":
        return nn.Identity()
    if key == "batch":
        return (nn.BatchNorm1d, nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)[dim](num_channels)
    if key == "group":
        return nn.GroupNorm(_groups(num_channels), num_channels)
    if key == "instance":
        if dim == 0:
            raise OptionError("instance norm needs spatial dims; it is undefined for (B, C) vectors")
        return (None, nn.InstanceNorm1d, nn.InstanceNorm2d, nn.InstanceNorm3d)[dim](num_channels, affine=True)
    if key == "layer":
        return nn.LayerNorm(num_channels) if dim == 0 else ChannelLayerNorm(num_channels)
    raise OptionError(f"normalisation {name!r} is unknown; choose one of {', '.join(NORMS)}")
