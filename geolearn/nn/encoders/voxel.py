"""Voxel encoders: VoxNet, a residual 3D CNN, and a 3D U-Net whose features reach the surface points
by trilinear lookup.

Input: ``batch["voxels"] (B, C, R, R, R)`` float occupancy (C = 1 for ``Voxels``), grid spanning
``[-1, 1]^3`` indexed (x, y, z).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from geolearn.errors import OptionError
from geolearn.nn.contract import Batch, Encoder, Features, require_tensor
from geolearn.nn.conv import ConvNormAct, UpConvNormAct
from geolearn.nn.encoders._common import points_if_segment, read_points
from geolearn.nn.lookup import trilinear_lookup
from geolearn.nn.mlp import MLP
from geolearn.nn.pooling import GlobalPool, create_pool
from geolearn.nn.registry import register_encoder
from geolearn.nn.residual import BasicBlock

__all__ = ["VoxNetEncoder", "VoxResNetEncoder", "VoxUNetEncoder", "voxel_coordinates"]


def _voxel_representations(
    task: str = "classify", resolution: int = 32, num_points: int = 1024, seed: int = 0
) -> list[Any]:
    from geolearn.datasets.representations import Voxels

    return [Voxels(resolution=resolution), *points_if_segment(task, num_points, seed)]


def _voxel_kwargs(batch: Batch) -> dict[str, Any]:
    v = batch["voxels"]
    return {"in_channels": int(v.shape[1]), "resolution": int(v.shape[-1])}


def _read_voxels(batch: Batch, who: str, in_channels: int) -> torch.Tensor:
    v = require_tensor(batch, "voxels", 5, who, dims={1: in_channels})
    if not (v.shape[2] == v.shape[3] == v.shape[4]):
        raise OptionError(f"{who}: voxels must be a cubic grid (B,C,R,R,R), got {tuple(v.shape)}")
    return v


def _memory_format(v: torch.Tensor, channels_last: bool) -> torch.Tensor:
    """``v`` in NDHWC memory (oneDNN's preferred 3D layout) when ``channels_last``."""
    return v.contiguous(memory_format=torch.channels_last_3d) if channels_last else v


def voxel_coordinates(resolution: int, like: torch.Tensor) -> torch.Tensor:
    """The cell-centre coordinates of an R³ grid spanning ``[-1, 1]^3``.

    Shapes: → ``(3, R, R, R)`` with channel 0 = x (varies along dim 1), 1 = y, 2 = z; dtype/device of ``like``.
    """
    c = (torch.arange(resolution, dtype=like.dtype, device=like.device) + 0.5) * (2.0 / resolution) - 1.0
    return torch.stack(torch.meshgrid(c, c, c, indexing="ij"))  # (3, R, R, R)


@register_encoder(
    "voxnet",
    input_keys=("voxels",),
    tasks=("classify",),
    representation="voxels",
    representations=_voxel_representations,
    description="VoxNet 3D CNN (Maturana & Scherer 2015): 2 conv layers, max pool, FC-128",
    infer_kwargs=_voxel_kwargs,
)
class VoxNetEncoder(Encoder):
    """VoxNet: conv 32×5³/2 → conv 32×3³ → max pool 2 → FC 128 (unpadded convolutions, as published).

    The paper's 0.1 leaky ReLU and dropouts (0.2, 0.3) are kept; batch norm after each convolution is
    added (``norm="none"`` gives the original), since it lets VoxNet train at the shared trainer's
    learning rate. The FC size depends on ``resolution`` (32 → 32·6³ = 6912 inputs).

    Shapes: ``voxels (B, C, R, R, R)`` → global ``(B, 128)``.
    """

    def __init__(
        self,
        local: bool = False,
        in_channels: int = 1,
        resolution: int = 32,
        width: int = 32,  # the paper's 32 filters per layer
        features: int = 128,  # the paper's FC-128
        norm: str = "batch",
        dropout: Sequence[float] = (0.2, 0.3, 0.4),  # the paper's dropout after conv1, pool, fc
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        if local:
            raise OptionError("voxnet has no local features (use voxunet to segment)")
        side = ((resolution - 5) // 2 + 1 - 2) // 2  # conv5/2, conv3, pool2, all unpadded
        if side < 1:
            raise OptionError(f"voxnet needs resolution >= 14, got {resolution}")
        self.resolution, self.in_channels, self.channels_last = resolution, in_channels, channels_last
        self.features = nn.Sequential(
            ConvNormAct(
                3, in_channels, width, 5, stride=2, padding=0, norm=norm, act=nn.LeakyReLU(0.1, inplace=True)
            ),
            nn.Dropout(dropout[0]),
            ConvNormAct(3, width, width, 3, padding=0, norm=norm, act=nn.LeakyReLU(0.1, inplace=True)),
            create_pool("max", 3, 2),
            nn.Dropout(dropout[1]),
            nn.Flatten(),
        )
        self.fc = nn.Sequential(
            nn.Linear(width * side**3, features), nn.ReLU(inplace=True), nn.Dropout(dropout[2])
        )
        self.out_channels, self.local_channels = features, 0

    def forward(self, batch: Batch) -> Features:
        v = _read_voxels(batch, "voxnet", self.in_channels)
        if v.shape[-1] != self.resolution:
            raise OptionError(
                f"voxnet was built for resolution {self.resolution}, got voxels {tuple(v.shape)}"
            )
        return Features(self.fc(self.features(_memory_format(v, self.channels_last))), None)


@register_encoder(
    "voxresnet",
    input_keys=("voxels",),
    tasks=("classify",),
    representation="voxels",
    representations=_voxel_representations,
    description="residual 3D CNN: strided stem and 4 stages of basic residual blocks, global max pool",
    infer_kwargs=lambda batch: {"in_channels": int(batch["voxels"].shape[1])},
)
class VoxResNetEncoder(Encoder):
    """A ResNet-style 3D CNN: a 5³ stride-2 stem (VoxNet's first layer, which keeps 32³ affordable on a
    CPU), then one basic residual block per stage, each later stage halving the grid.

    Works at any resolution ≥ 2^len(widths) (global max pooling at the end).

    Shapes: ``voxels (B, C, R, R, R)`` → global ``(B, widths[-1])``.
    """

    def __init__(
        self,
        local: bool = False,
        in_channels: int = 1,
        widths: Sequence[int] = (32, 64, 128, 256),  # ResNet's doubling per stage, from VoxNet's 32
        norm: str = "batch",
        act: str = "relu",
        channels_last: bool = False,
    ) -> None:
        super().__init__()
        if local:
            raise OptionError("voxresnet has no local features (use voxunet to segment)")
        self.in_channels, self.channels_last = in_channels, channels_last
        layers: list[nn.Module] = [ConvNormAct(3, in_channels, widths[0], 5, stride=2, norm=norm, act=act)]
        for i, w in enumerate(widths):
            layers.append(
                BasicBlock(3, widths[max(i - 1, 0)], w, stride=1 if i == 0 else 2, norm=norm, act=act)
            )
        self.body = nn.Sequential(*layers)
        self.pool = GlobalPool("max")
        self.out_channels, self.local_channels = widths[-1], 0

    def forward(self, batch: Batch) -> Features:
        v = _read_voxels(batch, "voxresnet", self.in_channels)
        return Features(self.pool(self.body(_memory_format(v, self.channels_last))), None)


@register_encoder(
    "voxunet",
    input_keys=("voxels",),
    tasks=("classify", "segment"),
    representation="voxels",
    representations=_voxel_representations,
    description="3D U-Net encoder-decoder with skips; decoder features reach points by trilinear lookup",
    infer_kwargs=lambda batch: {"in_channels": int(batch["voxels"].shape[1])},
)
class VoxUNetEncoder(Encoder):
    """3D encoder–decoder with skip connections (Çiçek et al. 2016, slimmed for CPU).

    Encoder: a full-resolution 3³ conv, then per level a stride-2 conv and a 3³ conv, halving the grid
    ``len(widths) - 1`` times. The global feature is the max over the coarsest grid followed by
    an FC. With ``local=True`` the decoder climbs back to half resolution (transposed conv, concatenate
    the skip, 3³ conv); the decoder maps at half and quarter resolution are read at each point by
    trilinear lookup and concatenated (``widths[1] + widths[2]`` local channels; ``widths[1]`` with 3 widths). Stopping at half
    resolution keeps 32³ training affordable on a CPU; lookup interpolates between cells anyway.

    ``coords=True`` appends the x, y, z of each cell centre as input channels (CoordConv, Liu et al.
    2018), which tells the convolutions where they are — part labels depend on position.

    Two options give the points what the half-resolution grid cannot: ``lookup_stem=True`` also reads
    the full-resolution stem features (``widths[0]`` more channels) at each point — the multi-scale
    reading of IF-Nets (Chibane et al. 2020), at the cost of one more lookup; ``use_normals=True``
    appends each point's unit surface normal (``batch["normals"]``, 3 more channels), the exact
    orientation of the surface, which a voxel cell only approximates.

    Shapes: ``voxels (B, C, R, R, R)``, ``points (B, N, 3)`` (and ``normals (B, N, 3)``) → global
    ``(B, features)``, local ``(B, widths[1] + widths[2] [+ widths[0]] [+ 3], N)``.
    """

    def __init__(
        self,
        local: bool = False,
        in_channels: int = 1,
        widths: Sequence[int] = (16, 32, 64, 128),  # half VoxResNet's widths: the decoder doubles the cost
        features: int = 256,
        coords: bool = True,
        norm: str = "batch",
        act: str = "relu",
        channels_last: bool = False,
        lookup_stem: bool = False,
        use_normals: bool = False,
    ) -> None:
        super().__init__()
        self.channels_last = channels_last
        if len(widths) < 3:
            raise OptionError(f"voxunet needs at least 3 widths, got {tuple(widths)}")
        if (lookup_stem or use_normals) and not local:
            raise OptionError(
                "voxunet: lookup_stem and use_normals are options of segmentation (local features)"
            )
        self.in_channels, self.coords, self.local = in_channels, coords, local
        self.lookup_stem, self.use_normals = lookup_stem, use_normals
        self.stem = ConvNormAct(3, in_channels, widths[0], 3, norm=norm, act=act)
        # the coordinate channels are the same for every shape, so their share of the stem convolution
        # is computed once per batch on a (1, 3, R, R, R) grid and broadcast: conv over concat(v, xyz)
        # = conv_v(v) + conv_xyz(xyz), without the batch-sized 4-channel input (whose weight gradient was
        # the most expensive operation of a training step)
        self.coord_conv = nn.Conv3d(3, widths[0], 3, padding=1, bias=False) if coords else None
        self.down = nn.ModuleList(
            nn.Sequential(
                ConvNormAct(3, widths[i], widths[i + 1], 3, stride=2, norm=norm, act=act),
                ConvNormAct(3, widths[i + 1], widths[i + 1], 3, norm=norm, act=act),
            )
            for i in range(len(widths) - 1)
        )
        self.pool = GlobalPool("max")
        self.fc = MLP(widths[-1], (features,), norm=norm, act=act)
        self.out_channels = features
        self.local_channels = (
            sum(widths[1 : 1 + min(2, len(widths) - 2)]) + widths[0] * lookup_stem + 3 * use_normals
            if local
            else 0
        )
        if local:
            # up[j] brings level j+2 to level j+1 (levels 1 .. L-1; level 0 is full resolution)
            self.up = nn.ModuleList(
                UpConvNormAct(3, widths[j + 2], widths[j + 1], 2, norm=norm, act=act)
                for j in range(len(widths) - 2)
            )
            self.fuse = nn.ModuleList(
                ConvNormAct(3, 2 * widths[j + 1], widths[j + 1], 3, norm=norm, act=act)
                for j in range(len(widths) - 2)
            )

    def forward(self, batch: Batch) -> Features:
        v = _read_voxels(batch, "voxunet", self.in_channels)
        if v.shape[-1] % 2 ** (len(self.down)):
            raise OptionError(
                f"voxunet needs a resolution divisible by {2 ** len(self.down)}, got {v.shape[-1]}"
            )
        # the points (and normals) are checked before any convolution runs
        points = read_points(batch, "voxunet", self.use_normals) if self.local else None  # (B, N, 3|6)
        conv, norm, act = self.stem
        x = conv(_memory_format(v, self.channels_last))  # (B, w0, R, R, R)
        if self.coord_conv is not None:
            x = x + self.coord_conv(voxel_coordinates(v.shape[-1], v).unsqueeze(0))  # + (1, w0, R, R, R)
        levels = [act(norm(x))]
        for down in self.down:
            levels.append(down(levels[-1]))  # level i at R / 2^i
        global_ = self.fc(self.pool(levels[-1]))
        if points is None:
            return Features(global_, None)
        x = levels[-1]
        decoded = []
        for j in reversed(range(len(self.up))):
            x = self.fuse[j](torch.cat([self.up[j](x), levels[j + 1]], dim=1))  # level j+1
            decoded.append(x)
        grids = decoded[-2:] + ([levels[0]] if self.lookup_stem else [])
        xyz = points[..., :3].contiguous()
        parts = [trilinear_lookup(g, xyz) for g in grids]  # each (B, C_g, N)
        if self.use_normals:
            parts.append(points[..., 3:].transpose(1, 2))  # (B, 3, N)
        return Features(global_, torch.cat(parts, dim=1))  # (B, C_l, N)
