"""Batch norm → monotone activation → max pooling, fused into one autograd function.

PointNet ends each shared MLP with ``max_n act(BN(h_n))`` over the N points, DGCNN's EdgeConv with
``max_j act(BN(e_ij))`` over the k neighbours. Per channel, ``act(BN(h)) = act(s · h + t)`` with
``s = γ / σ`` is monotone in h (increasing when ``s ≥ 0``, decreasing otherwise) and so is a leaky
ReLU, so the max over the pooled dim only needs the max (or min) of ``h`` itself:

    max_n act(s · h_n + t) = act(s · max_n h_n + t)   (s ≥ 0;  min_n h_n when s < 0)

:func:`bn_act_max` computes the batch statistics of ``h``, selects one element per (group, channel)
and normalises only those; the backward pass writes the gradient of the selected elements plus the
batch-statistics terms. It never materialises the normalised, activated ``(G, S, C)`` tensors that
the plain ``BatchNorm → LeakyReLU → amax`` chain stores and traverses again in backward, which is
most of a CPU training step of PointNet (see ``benchmarks/results/encoders.md``). The result equals
the plain chain (tested against it, values and gradients); with ties in ``h`` the gradient goes to
the first of the tied elements (as ``torch.max(dim)`` does) instead of being split (as ``amax``).
The batch variance is ``E[h²] − E[h]²`` in the input precision, accurate while ``|mean| / std`` stays
far below ``1 / sqrt(eps_float)`` (~4000 in float32), as it does for pre-activations.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["BatchNormActMax", "bn_act_max"]


class _BNActMax(torch.autograd.Function):
    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, h: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, eps: float, slope: float
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        g, s, c = h.shape
        m = g * s
        flat = h.reshape(m, c)
        # column sums are several times faster than var_mean / max-with-indices on CPU (measured)
        mean = flat.sum(0) / m  # (C,)
        var = ((flat * flat).sum(0) / m - mean * mean).clamp(min=0.0)  # biased, as batch norm uses
        inv = torch.rsqrt(var + eps)
        scale = weight * inv  # (C,)
        up = scale >= 0
        hi = h.amax(dim=1)  # (G, C)
        sel = hi if bool(up.all()) else torch.where(up, hi, h.amin(dim=1))
        z = (sel - mean) * scale + bias  # (G, C)
        out = F.leaky_relu(z, slope) if slope != 0 else torch.relu(z)
        ctx.save_for_backward(h, mean, inv, weight, sel, z)
        ctx.slope = slope
        ctx.mark_non_differentiable(mean, var)
        return out, mean, var

    @staticmethod
    def backward(ctx: Any, grad_out: torch.Tensor, _gm: Any, _gv: Any) -> tuple[Any, ...]:  # type: ignore[override]
        h, mean, inv, weight, sel, z = ctx.saved_tensors
        m = h.shape[0] * h.shape[1]
        gz = torch.where(z > 0, grad_out, grad_out * ctx.slope)  # (G, C) through the activation
        centred_sel = sel - mean
        grad_bias = gz.sum(0)
        grad_weight = (gz * centred_sel).sum(0) * inv
        g_sel = gz * (weight * inv)  # dL/dh at the selected elements
        d_mean = -g_sel.sum(0)  # through z's explicit dependence on the mean
        d_var = (gz * centred_sel).sum(0) * weight * (-0.5) * inv**3
        # dL/dh = d_mean / M + d_var · 2 (h - mean) / M  (+ g_sel at the selected element)
        coef = d_var * (2.0 / m)  # (C,)
        grad_h = torch.addcmul(d_mean / m - mean * coef, h, coef)  # (G, S, C)
        # the selected element: the first one equal to the max (min), as torch.max(dim) picks one
        idx = (h == sel.unsqueeze(1)).view(torch.uint8).argmax(dim=1, keepdim=True)  # (G, 1, C)
        grad_h.scatter_add_(1, idx, g_sel.unsqueeze(1))
        return grad_h, grad_weight, grad_bias, None, None


def bn_act_max(
    h: torch.Tensor,
    norm: nn.BatchNorm1d,
    slope: float = 0.0,
) -> torch.Tensor:
    """``max over dim 1 of leaky_relu(norm(h), slope)`` (``slope = 0``: ReLU), computed fused.

    In training mode ``norm``'s batch statistics are taken over all G·S rows and its running
    statistics are updated exactly as ``nn.BatchNorm1d`` does; in eval mode its running statistics
    are used.

    Shapes: ``h (G, S, C)`` float → ``(G, C)``.
    """
    if not norm.affine:  # pragma: no cover - geolearn's norms are affine
        raise ValueError("bn_act_max needs an affine BatchNorm1d")
    if norm.training or not norm.track_running_stats:
        out, mean, var = _BNActMax.apply(h, norm.weight, norm.bias, norm.eps, slope)
        if norm.training and norm.track_running_stats:
            with torch.no_grad():
                m = h.shape[0] * h.shape[1]
                norm.num_batches_tracked.add_(1)
                momentum = (
                    norm.momentum if norm.momentum is not None else 1.0 / float(norm.num_batches_tracked)
                )
                norm.running_mean.lerp_(mean, momentum)
                norm.running_var.lerp_(var * (m / max(m - 1, 1)), momentum)
        return out
    scale = norm.weight * torch.rsqrt(norm.running_var + norm.eps)  # (C,)
    sel = torch.where(scale >= 0, h.amax(dim=1), h.amin(dim=1))
    z = (sel - norm.running_mean) * scale + norm.bias
    return F.leaky_relu(z, slope)


class BatchNormActMax(nn.Module):
    """Module form of :func:`bn_act_max` holding the ``BatchNorm1d`` (``norm``).

    Shapes: ``(G, S, C) → (G, C)``.
    """

    def __init__(self, num_channels: int, slope: float = 0.0) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(num_channels)
        self.slope = slope

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return bn_act_max(h, self.norm, self.slope)
