"""Point-cloud encoders: PointNet and DGCNN (EdgeConv).

Input: ``batch["points"] (B, N, 3)`` (and ``batch["normals"] (B, N, 3)`` with ``use_normals=True``).
Both work channels-last internally: a shared MLP over ``(B, N, C)`` is one matrix multiply per layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from geolearn.errors import OptionError
from geolearn.nn.contract import Batch, Encoder, Features
from geolearn.nn.encoders._common import read_points
from geolearn.nn.fused import bn_act_max
from geolearn.nn.mlp import MLP, MaxPooledMLP
from geolearn.nn.norm_act import create_act, create_norm, relu_slope
from geolearn.nn.registry import register_encoder

__all__ = ["DGCNNEncoder", "EdgeConv", "PointNetEncoder", "TNet", "knn"]


def _point_representations(task: str = "classify", num_points: int = 1024, seed: int = 0) -> list[Any]:
    from geolearn.datasets.representations import Points

    return [Points(num_points=num_points, seed=seed)]


class TNet(nn.Module):
    """PointNet's alignment network: predicts a ``k × k`` matrix per cloud, near the identity at first.

    Shapes: ``(B, N, k) → (B, k, k)``.
    """

    def __init__(self, k: int = 3, norm: str = "batch") -> None:
        super().__init__()
        self.k = k
        self.point_mlp = MaxPooledMLP(k, (64, 128, 1024), norm=norm)  # the paper's T-Net widths
        self.head = MLP(1024, (512, 256), k * k, norm=norm)
        self.register_buffer("identity", torch.eye(k).flatten(), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.point_mlp(x)  # (B, 1024)
        # identity + a learned correction (as the reference code; a zero-initialised last layer
        # would start at exactly the identity but give the rest of the T-Net no gradient)
        return (self.head(g) + self.identity).view(-1, self.k, self.k)


@register_encoder(
    "pointnet",
    input_keys=("points",),
    tasks=("classify", "segment"),
    representation="points",
    representations=_point_representations,
    description="PointNet (Qi et al. 2017): input T-Net, shared MLP, symmetric max pooling, optional feature T-Net",
)
class PointNetEncoder(Encoder):
    """PointNet: [input T-Net] → shared MLP (64, 64) → [feature T-Net] → shared MLP (64, 128, 1024)
    → max over points.

    Widths are the paper's. The local features for segmentation are the 64-d point features after the
    first MLP (after the feature transform when there is one; the paper's segmentation network
    concatenates exactly these with the global feature).

    ``feature_transform=True`` adds the paper's feature T-Net (a 64 × 64 matrix per cloud) and, while
    training, its regulariser ``feature_transform_weight · mean_b ||I − A_b A_bᵀ||²_F`` (the paper:
    weight 0.001), which the trainer adds to the loss through :meth:`auxiliary_loss`. Off by
    default: it adds ~1.9 M parameters and a second T-Net's compute for a gain of about a point of
    accuracy in the paper's ablation (not measured here).

    Shapes: ``points (B, N, 3)`` → global ``(B, 1024)``, local ``(B, 64, N)``.
    """

    def __init__(
        self,
        local: bool = False,
        use_normals: bool = False,
        input_transform: bool = True,
        point_widths: Sequence[int] = (64, 64),
        global_widths: Sequence[int] = (64, 128, 1024),
        norm: str = "batch",
        act: str = "relu",
        feature_transform: bool = False,
        feature_transform_weight: float = 0.001,
    ) -> None:
        super().__init__()
        if not feature_transform_weight >= 0:
            raise OptionError(
                f"pointnet: feature_transform_weight must be >= 0, got {feature_transform_weight}"
            )
        self.local, self.use_normals = local, use_normals
        self.tnet = TNet(3, norm) if input_transform else None
        self.feature_tnet = TNet(point_widths[-1], norm) if feature_transform else None
        self.feature_transform_weight = float(feature_transform_weight)
        self._aux: torch.Tensor | None = None
        self.mlp1 = MLP(6 if use_normals else 3, point_widths, norm=norm, act=act)
        self.mlp2 = MaxPooledMLP(point_widths[-1], global_widths, norm=norm, act=act)
        self.out_channels = global_widths[-1]
        self.local_channels = point_widths[-1] if local else 0

    def forward(self, batch: Batch) -> Features:
        x = read_points(batch, "pointnet", self.use_normals)  # (B, N, 3|6)
        if self.tnet is not None:
            t = self.tnet(x[..., :3])  # (B, 3, 3)
            parts = [torch.bmm(x[..., :3], t)] + ([torch.bmm(x[..., 3:], t)] if self.use_normals else [])
            x = torch.cat(parts, dim=-1) if len(parts) > 1 else parts[0]
        point = self.mlp1(x)  # (B, N, 64)
        self._aux = None
        if self.feature_tnet is not None:
            a = self.feature_tnet(point)  # (B, 64, 64)
            point = torch.bmm(point, a)
            if self.training:
                eye = torch.eye(a.shape[1], device=a.device, dtype=a.dtype)
                dev = eye - torch.bmm(a, a.transpose(1, 2))
                self._aux = self.feature_transform_weight * dev.square().sum(dim=(1, 2)).mean()
        global_ = self.mlp2(point)  # (B, 1024), max over points
        return Features(global_, point.transpose(1, 2) if self.local else None)

    def auxiliary_loss(self) -> torch.Tensor | None:
        """The feature-transform regulariser of the last training forward pass (``None`` without one)."""
        return self._aux


def knn(x: torch.Tensor, k: int) -> torch.Tensor:
    """Indices of the ``k`` nearest neighbours of each point (itself included, at distance 0).

    Shapes: ``x (B, N, C)`` → ``(B, N, k)`` int64.
    """
    sq = (x * x).sum(-1)  # (B, N)
    d = sq.unsqueeze(2) - 2 * torch.bmm(x, x.transpose(1, 2)) + sq.unsqueeze(1)  # (B, N, N)
    return d.topk(k, dim=-1, largest=False).indices


class EdgeConv(nn.Module):
    """DGCNN's edge convolution: ``max_j act(norm(W · [x_j − x_i, x_i]))`` over the k nearest neighbours j.

    ``W [x_j − x_i; x_i] = W_a x_j + (W_b − W_a) x_i``, so the linear map runs once per point
    (``(B·N) × C``) and is gathered per edge, instead of once per edge (``(B·N·k) × 2C``): the same
    function at a k-th of the multiply cost. With batch norm and a (leaky) ReLU, norm → act → max
    over neighbours runs fused (:func:`~geolearn.nn.fused.bn_act_max`).

    Shapes: ``x (B, N, C)``, ``idx (B, N, k)`` → ``(B, N, out_channels)``.
    """

    def __init__(
        self, in_channels: int, out_channels: int, norm: str = "batch", act: str = "leaky_relu"
    ) -> None:
        super().__init__()
        self.linear = nn.Linear(2 * in_channels, out_channels, bias=norm in (None, "none"))
        self.norm = create_norm(norm, out_channels, 0)
        self.act = create_act(act)
        slope = relu_slope(act)
        self.fused_slope = slope if norm == "batch" else None
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        k = idx.shape[-1]
        w_a, w_b = self.linear.weight[:, :c], self.linear.weight[:, c:]
        neigh = x @ w_a.T  # (B, N, O): W_a x_j for every point j
        centre = x @ (w_b - w_a).T  # (B, N, O)
        if self.linear.bias is not None:
            centre = centre + self.linear.bias
        flat = idx.reshape(b, n * k, 1).expand(-1, -1, self.out_channels)  # (B, N·k, O)
        edges = torch.gather(neigh, 1, flat).view(b, n, k, -1) + centre.unsqueeze(2)  # (B, N, k, O)
        if self.fused_slope is not None:
            assert isinstance(self.norm, nn.BatchNorm1d)
            return bn_act_max(edges.view(b * n, k, -1), self.norm, self.fused_slope).view(b, n, -1)
        edges = self.act(self.norm(edges.view(-1, self.out_channels)))  # (B·N·k, O)
        return edges.view(b, n, k, -1).amax(dim=2)  # (B, N, O)


@register_encoder(
    "dgcnn",
    input_keys=("points",),
    tasks=("classify", "segment"),
    representation="points",
    representations=_point_representations,
    description="DGCNN (Wang et al. 2019): EdgeConv on k-NN graphs recomputed in feature space",
)
class DGCNNEncoder(Encoder):
    """DGCNN: EdgeConv (64, 64, 128, 256) with k = 20 on graphs rebuilt from each layer's features,
    concatenated (512) → shared MLP 1024 → max and mean pooling (2048), as in the paper's
    classification network. Local features are the concatenated EdgeConv outputs.

    Shapes: ``points (B, N, 3)`` → global ``(B, 2 · embed)``, local ``(B, sum(widths), N)``.
    """

    def __init__(
        self,
        local: bool = False,
        use_normals: bool = False,
        k: int = 20,  # the paper's neighbourhood size
        widths: Sequence[int] = (64, 64, 128, 256),
        embed: int = 1024,
        norm: str = "batch",
        act: str = "leaky_relu",
    ) -> None:
        super().__init__()
        if k < 1:
            raise OptionError(f"dgcnn needs k >= 1, got {k}")
        self.local, self.use_normals, self.k = local, use_normals, k
        chans = [6 if use_normals else 3, *widths]
        self.edge_convs = nn.ModuleList(
            EdgeConv(chans[i], chans[i + 1], norm, act) for i in range(len(widths))
        )
        self.embed = MLP(sum(widths), (embed,), norm=norm, act=act)
        self.out_channels = 2 * embed
        self.local_channels = sum(widths) if local else 0

    def forward(self, batch: Batch) -> Features:
        x = read_points(batch, "dgcnn", self.use_normals)  # (B, N, C)
        if x.shape[1] < self.k:
            raise OptionError(f"dgcnn: k={self.k} neighbours need at least k points, got N={x.shape[1]}")
        outs = []
        for conv in self.edge_convs:
            with torch.no_grad():
                idx = knn(x, self.k)  # (B, N, k) graph in the current feature space
            x = conv(x, idx)
            outs.append(x)
        cat = torch.cat(outs, dim=-1)  # (B, N, sum(widths))
        e = self.embed(cat)  # (B, N, embed)
        global_ = torch.cat([e.amax(dim=1), e.mean(dim=1)], dim=1)  # (B, 2·embed)
        return Features(global_, cat.transpose(1, 2) if self.local else None)
