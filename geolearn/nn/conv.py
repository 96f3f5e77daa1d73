"""Convolution + normalisation + activation for 1d/2d/3d from one implementation, and the
upsampling blocks decoders use (transposed convolution, or interpolation followed by a convolution).

Shapes: every block maps ``(B, C_in, *S)`` to ``(B, C_out, *S')`` with ``len(S) == dim``.
"""

from __future__ import annotations

from torch import nn

from geolearn.errors import OptionError
from geolearn.nn.norm_act import create_act, create_norm

__all__ = ["ConvNormAct", "UpConvNormAct", "conv_class", "conv_transpose_class"]

_CONV = {1: nn.Conv1d, 2: nn.Conv2d, 3: nn.Conv3d}
_CONV_T = {1: nn.ConvTranspose1d, 2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}
_LINEAR_MODE = {1: "linear", 2: "bilinear", 3: "trilinear"}


def _check_dim(dim: int) -> int:
    if dim not in _CONV:
        raise OptionError(f"convolution dim must be 1, 2 or 3, got {dim}")
    return dim


def conv_class(dim: int) -> type[nn.Module]:
    """``nn.Conv1d`` / ``nn.Conv2d`` / ``nn.Conv3d`` for ``dim``."""
    return _CONV[_check_dim(dim)]


def conv_transpose_class(dim: int) -> type[nn.Module]:
    """``nn.ConvTranspose{1,2,3}d`` for ``dim``."""
    return _CONV_T[_check_dim(dim)]


class ConvNormAct(nn.Sequential):
    """``conv → norm → act`` in ``dim`` spatial dimensions.

    Args:
        dim: 1, 2 or 3.
        in_channels, out_channels: C_in, C_out.
        kernel_size, stride, dilation, groups: as in ``nn.Conv{dim}d``.
        padding: ``None`` pads so that stride 1 keeps the size (``dilation * (k - 1) // 2``).
        norm: a name for :func:`create_norm` (``"batch"``, ``"group"``, … ``"none"``).
        act: a name for :func:`create_act`, or a module (e.g. ``nn.LeakyReLU(0.1)``).
        bias: ``None`` uses a bias only when there is no normalisation (a norm's shift makes it redundant).
    """

    def __init__(
        self,
        dim: int,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        stride: int = 1,
        padding: int | None = None,
        dilation: int = 1,
        groups: int = 1,
        norm: str | None = "batch",
        act: str | nn.Module | None = "relu",
        bias: bool | None = None,
    ) -> None:
        if padding is None:
            padding = dilation * (kernel_size - 1) // 2
        if bias is None:
            bias = norm in (None, "none")
        conv = conv_class(dim)(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
            groups=groups, bias=bias,
        )  # fmt: skip
        activation = act if isinstance(act, nn.Module) else create_act(act)
        super().__init__(conv, create_norm(norm, out_channels, dim), activation)
        self.in_channels, self.out_channels = in_channels, out_channels


class UpConvNormAct(nn.Sequential):
    """Upsample by ``scale`` then ``norm → act``: a decoder step.

    ``mode="transpose"`` is a transposed convolution with kernel = stride = ``scale``; ``"nearest"`` or
    ``"linear"`` (bi-/trilinear by ``dim``) interpolate and then apply a 3-wide :class:`ConvNormAct`.

    Shapes: ``(B, C_in, *S) → (B, C_out, *(scale * S))``.
    """

    def __init__(
        self,
        dim: int,
        in_channels: int,
        out_channels: int,
        scale: int = 2,
        mode: str = "transpose",
        norm: str | None = "batch",
        act: str | nn.Module | None = "relu",
    ) -> None:
        _check_dim(dim)
        activation = act if isinstance(act, nn.Module) else create_act(act)
        if mode == "transpose":
            bias = norm in (None, "none")
            layers: list[nn.Module] = [
                conv_transpose_class(dim)(in_channels, out_channels, scale, stride=scale, bias=bias),
                create_norm(norm, out_channels, dim),
                activation,
            ]
        elif mode in ("nearest", "linear"):
            interp = "nearest" if mode == "nearest" else _LINEAR_MODE[dim]
            extra = {} if interp == "nearest" else {"align_corners": False}
            layers = [
                nn.Upsample(scale_factor=scale, mode=interp, **extra),
                ConvNormAct(dim, in_channels, out_channels, 3, norm=norm, act=activation),
            ]
        else:
            raise OptionError(f"upsampling mode {mode!r} is unknown; choose transpose, nearest or linear")
        super().__init__(*layers)
        self.in_channels, self.out_channels = in_channels, out_channels
