"""Multi-view encoder: a shared residual 2D CNN over the V rendered views.

Classification (MVCNN, Su et al. 2015): per-view features max-pooled across views. Segmentation: a
2D encoder–decoder per view whose pixel features are averaged onto the faces they show (through the
per-pixel face ids ``view_face``) across all views, then read at each point's face.

Input: ``batch["views"] (B, V, C, H, W)``; for segmentation also ``view_face (B, V, H, W)`` (local ids,
-1 background), ``face_ptr (B+1,)`` and ``point_face (B, N)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from geolearn.errors import OptionError
from geolearn.nn.contract import Batch, Encoder, Features, require_tensor
from geolearn.nn.conv import ConvNormAct, UpConvNormAct
from geolearn.nn.encoders._common import points_if_segment
from geolearn.nn.lookup import gather_face_features
from geolearn.nn.pooling import GlobalPool, pixels_to_faces
from geolearn.nn.registry import register_encoder
from geolearn.nn.residual import BasicBlock

__all__ = ["MultiViewEncoder", "fill_from_nearest"]


def _view_representations(
    task: str = "classify",
    num_views: int = 12,
    size: int = 64,
    cameras: str = "ring",
    num_points: int = 1024,
    seed: int = 0,
) -> list[Any]:
    from geolearn.datasets.representations import Views

    return [
        Views(num_views=num_views, size=size, cameras=cameras),
        *points_if_segment(task, num_points, seed),
    ]


@register_encoder(
    "mvcnn",
    input_keys=("views",),
    tasks=("classify", "segment"),
    representation="views",
    representations=_view_representations,
    description="multi-view residual 2D CNN with view pooling (MVCNN); U-Net pixels pooled onto faces to segment",
    segment_keys=("points", "point_face", "view_face", "face_ptr"),
    infer_kwargs=lambda batch: {"in_channels": int(batch["views"].shape[2])},
)
class MultiViewEncoder(Encoder):
    """Shared 2D ResNet over views (views folded into the batch), max-pooled across views.

    Backbone: a 5×5 stride-2 stem and one basic residual block per stage, every later stage halving
    the image (``widths`` channels); per-view global average pooling, then max over views (MVCNN's
    view pooling). With ``local=True`` a decoder climbs back to the first stage's resolution
    (transposed conv, concatenate the skip, 3×3 conv), is upsampled bilinearly to H×W, and its pixel
    features are averaged onto faces over all views (:func:`~geolearn.nn.pooling.pixels_to_faces`)
    and gathered at the points' faces. ``last_coverage`` holds the fraction of faces seen in the
    last forward pass.

    Faces that no pixel of any view shows get zero local features (``unseen="zeros"``), or, with
    ``unseen="nearest"``, the features of the nearest point (in 3D, same shape) whose face is seen.
    How many that is depends on the mesh, not only on occlusion: with 12 ring views of 64² (49k
    pixels) a face smaller than a pixel is often hit by no pixel ray. On LabeledDB meshes (9k–30k
    faces) only 27–39 % of the faces, and 28–49 % of 1024 area-sampled points, lie on a seen face
    (``tests/nn/test_nn_real_data.py`` measures it); larger images or ``unseen="nearest"`` help.

    ``channels_last`` runs the 2D convolutions in NHWC memory format (faster with oneDNN on CPU).

    Shapes: ``views (B, V, C, H, W)`` → global ``(B, widths[-1])``, local ``(B, widths[0], N)``.
    """

    def __init__(
        self,
        local: bool = False,
        in_channels: int = 2,  # Views: depth and shading
        widths: Sequence[int] = (32, 64, 128, 256),  # ResNet's doubling per stage, scaled for 64² views
        norm: str = "batch",
        act: str = "relu",
        channels_last: bool = True,
        unseen: str = "zeros",
    ) -> None:
        super().__init__()
        if unseen not in ("zeros", "nearest"):
            raise OptionError(f"mvcnn: unseen must be 'zeros' or 'nearest', got {unseen!r}")
        self.in_channels, self.local, self.channels_last, self.unseen = (
            in_channels,
            local,
            channels_last,
            unseen,
        )
        self.stem = ConvNormAct(2, in_channels, widths[0], 5, stride=2, norm=norm, act=act)
        self.stages = nn.ModuleList(
            BasicBlock(2, widths[max(i - 1, 0)], w, stride=1 if i == 0 else 2, norm=norm, act=act)
            for i, w in enumerate(widths)
        )
        self.pool = GlobalPool("avg")
        self.out_channels = widths[-1]
        self.local_channels = widths[0] if local else 0
        self.last_coverage: float | None = None
        if local:
            # up[i] brings stage i+1 to stage i's resolution, fuse[i] merges it with stage i's skip
            self.up = nn.ModuleList(
                UpConvNormAct(2, widths[i + 1], widths[i], 2, norm=norm, act=act)
                for i in range(len(widths) - 1)
            )
            self.fuse = nn.ModuleList(
                ConvNormAct(2, 2 * widths[i], widths[i], 3, norm=norm, act=act)
                for i in range(len(widths) - 1)
            )

    def forward(self, batch: Batch) -> Features:
        views = require_tensor(batch, "views", 5, "mvcnn", dims={2: self.in_channels})
        b, v, c, h, w = views.shape
        x = views.reshape(b * v, c, h, w)  # views folded into the batch
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        skips = []
        x = self.stem(x)
        for stage in self.stages:
            x = stage(x)
            skips.append(x)
        per_view = self.pool(x).view(b, v, -1)  # (B, V, C)
        global_ = per_view.amax(dim=1)  # view pooling → (B, C)
        if not self.local:
            return Features(global_, None)
        view_face = require_tensor(batch, "view_face", 4, "mvcnn")
        if view_face.shape != (b, v, h, w):
            raise OptionError(f"mvcnn: view_face must be {(b, v, h, w)}, got {tuple(view_face.shape)}")
        face_ptr = require_tensor(batch, "face_ptr", 1, "mvcnn")
        point_face = require_tensor(batch, "point_face", 2, "mvcnn")
        for i in reversed(range(len(self.up))):
            x = self.fuse[i](torch.cat([self.up[i](x), skips[i]], dim=1))  # at stage i's resolution
        pix = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False)  # (B·V, C_l, H, W)
        pooled = pixels_to_faces(pix.view(b, v, -1, h, w), view_face, face_ptr)  # (ΣF, C_l)
        self.last_coverage = float((pooled.counts > 0).float().mean()) if pooled.counts.numel() else 1.0
        local = gather_face_features(pooled.features, point_face, face_ptr)  # (B, C_l, N)
        if self.unseen == "nearest":
            seen = gather_face_features((pooled.counts > 0).unsqueeze(1), point_face, face_ptr)[
                :, 0
            ]  # (B, N)
            points = require_tensor(batch, "points", 3, "mvcnn", dims={-1: 3})
            local = fill_from_nearest(local, seen, points)
        return Features(global_, local)


def fill_from_nearest(features: torch.Tensor, valid: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Replace the features of invalid points by those of the nearest valid point of the same shape.

    Shapes with no valid point are left as they are.

    Shapes: ``features (B, C, N)``, ``valid (B, N)`` bool, ``points (B, N, 3)`` → ``(B, C, N)``.
    """
    with torch.no_grad():
        d = torch.cdist(points, points)  # (B, N, N)
        d.masked_fill_(~valid.unsqueeze(1), float("inf"))  # only valid points are sources
        nearest = d.argmin(dim=2)  # (B, N)
    filled = torch.gather(features, 2, nearest.unsqueeze(1).expand_as(features))  # (B, C, N)
    keep = valid | ~valid.any(dim=1, keepdim=True)  # (B, N)
    return torch.where(keep.unsqueeze(1), features, filled)
