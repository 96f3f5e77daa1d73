"""Multi-layer perceptron over the last dim, usable as a shared (per-point) MLP.

Leading dims are flattened into rows, so an ``(B, N, C)`` channels-last point cloud goes through one
matrix multiply per layer and batch norm sees all B·N points of a channel, exactly what PointNet's
"shared MLP" (a 1-wide Conv1d stack on ``(B, C, N)``) computes, but as plain GEMMs.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from geolearn.errors import OptionError
from geolearn.nn.fused import BatchNormActMax
from geolearn.nn.norm_act import create_act, create_norm, relu_slope

__all__ = ["MLP", "MaxPooledMLP"]


class MLP(nn.Module):
    """``[Linear → norm → act → dropout] × len(hidden)`` then an optional plain ``Linear``.

    Args:
        in_features: C_in.
        hidden: widths of the hidden layers (each followed by norm, act and dropout).
        out_features: width of a final plain ``Linear`` (no norm/act); ``None`` ends on the last hidden layer.
        norm: ``batch``, ``layer`` or ``none`` (normalises each channel over all rows).
        act: activation name.
        dropout: dropout probability after each hidden layer.

    Shapes: ``(*, C_in) → (*, C_out)`` with ``C_out = out_features or hidden[-1]``.
    """

    def __init__(
        self,
        in_features: int,
        hidden: Sequence[int],
        out_features: int | None = None,
        norm: str | None = "batch",
        act: str = "relu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if not hidden and out_features is None:
            raise OptionError("MLP needs at least one hidden width or out_features")
        if not 0.0 <= dropout < 1.0:
            raise OptionError(f"dropout must be in [0, 1), got {dropout}")
        layers: list[nn.Module] = []
        width = in_features
        for h in hidden:
            layers += [
                nn.Linear(width, h, bias=norm in (None, "none")),
                create_norm(norm, h, 0),
                create_act(act),
            ]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        if out_features is not None:
            layers.append(nn.Linear(width, out_features))
            width = out_features
        self.layers = nn.Sequential(*layers)
        self.in_features, self.out_features = in_features, width

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        lead = x.shape[:-1]
        y = self.layers(x.reshape(-1, x.shape[-1]))  # (rows, C_out)
        return y.reshape(*lead, self.out_features)


class MaxPooledMLP(nn.Module):
    """A shared MLP over points followed by max pooling over them: PointNet's symmetric function.

    With batch norm and a (leaky) ReLU the last layer's ``BatchNorm → act → max`` runs fused
    (:mod:`geolearn.nn.fused`, same values and gradients, without the ``(B, N, C)`` intermediates);
    other norms/activations take the plain path.

    Shapes: ``(B, N, C_in) → (B, widths[-1])``.
    """

    def __init__(
        self, in_features: int, widths: Sequence[int], norm: str | None = "batch", act: str = "relu"
    ) -> None:
        super().__init__()
        if not widths:
            raise OptionError("MaxPooledMLP needs at least one width")
        slope = relu_slope(act)
        self.fused = norm == "batch" and slope is not None
        if self.fused:
            self.hidden = (
                MLP(in_features, widths[:-1], norm=norm, act=act) if len(widths) > 1 else nn.Identity()
            )
            self.last = nn.Linear(widths[-2] if len(widths) > 1 else in_features, widths[-1], bias=False)
            self.pool = BatchNormActMax(widths[-1], slope or 0.0)
        else:
            self.hidden = MLP(in_features, widths, norm=norm, act=act)
        self.out_features = widths[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.fused:
            return self.hidden(x).amax(dim=1)
        return self.pool(self.last(self.hidden(x)))  # (B, N, C) → (B, C)
