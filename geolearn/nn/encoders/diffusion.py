"""DiffusionNet (Sharp, Attaiki, Crane & Ovsjanikov, ACM TOG 2022) on points sampled on a surface.

Each block diffuses its features with the heat equation for a learned time per channel (spectrally:
``x ↦ Φ diag(exp(-λ t)) Φᵀ M x``), takes the gradients of the diffused features, forms
rotation-invariant products of those gradients with a learned complex-linear map of them (the
"spatial gradient features"), and mixes ``[x, diffused x, gradient features]`` with a per-point MLP
(shared blocks, :class:`geolearn.nn.mlp.MLP`) added back to ``x`` (residual).

Differences from the paper, each forced by our data layout (fixed-size batches of N surface points,
CONTRACT.md) and each keeping its invariances:

- the operators are read at the N query points (:class:`~geolearn.datasets.representations.SpectralPoints`):
  the eigenfunctions interpolated in each point's triangle, ``Φᵀ M x`` estimated as ``Φᵀ x / N``
  (each area-uniform point stands for 1/N of the unit area), so a batch is a stack of tensors;
- gradients are those of the piecewise-linear eigenfunctions on each point's triangle, in a frame of
  that triangle (the paper uses a per-vertex tangent frame); only frame-independent products of
  them reach the features.

The input is the heat kernel signature (log, standardised on the training data): the encoder never
sees coordinates, so rotating, moving or scaling a shape changes nothing it computes.

Shapes: ``spectral_hks (B, N, T)``, ``spectral_basis (B, N, k)``, ``spectral_grad (B, N, k, 2)``,
``spectral_evals (B, k)`` → global ``(B, 2·width)`` (mean and max over the points), local
``(B, width, N)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from geolearn.errors import OptionError
from geolearn.nn.contract import Batch, Encoder, Features, require_tensor
from geolearn.nn.mlp import MLP
from geolearn.nn.registry import register_encoder
from geolearn.nn.standardize import Standardizer

__all__ = ["SPECTRAL_KEYS", "DiffusionBlock", "DiffusionNetEncoder"]

SPECTRAL_KEYS = ("spectral_evals", "spectral_basis", "spectral_grad", "spectral_hks")


def _spectral_representations(
    task: str = "segment", num_points: int = 1024, seed: int = 0, k: int = 128, hks: int = 16
) -> list[Any]:
    from geolearn.datasets.representations import SpectralPoints

    return [SpectralPoints(num_points=num_points, seed=seed, k=k, hks=hks)]


class DiffusionBlock(nn.Module):
    """One DiffusionNet block on ``C`` channels (see the module docstring).

    ``time`` (C,) is the learned diffusion time of each channel (used clamped at >= 0; starts at 0,
    i.e. no diffusion). Shapes: ``x (B, N, C)``, ``basis (B, N, k)``, ``grad (B, N, k, 2)``,
    ``evals (B, k)`` → ``(B, N, C)``.
    """

    def __init__(self, channels: int, dropout: float = 0.5, gradients: bool = True) -> None:
        super().__init__()
        self.time = nn.Parameter(torch.zeros(channels))
        self.gradients = gradients
        if gradients:
            self.rotate_re = nn.Linear(channels, channels, bias=False)
            self.rotate_im = nn.Linear(channels, channels, bias=False)
        self.mlp = MLP((3 if gradients else 2) * channels, [channels], channels, norm=None, dropout=dropout)

    def diffuse(self, x: torch.Tensor, basis: torch.Tensor, evals: torch.Tensor) -> torch.Tensor:
        """Spectral coefficients ``(B, k, C)`` of ``x`` after heat diffusion for ``time``."""
        coef = torch.einsum("bnk,bnc->bkc", basis, x) / basis.shape[1]
        return coef * torch.exp(-evals.unsqueeze(2) * self.time.clamp(min=0.0))

    def forward(
        self, x: torch.Tensor, basis: torch.Tensor, grad: torch.Tensor, evals: torch.Tensor
    ) -> torch.Tensor:
        coef = self.diffuse(x, basis, evals)  # (B, k, C)
        parts = [x, torch.einsum("bnk,bkc->bnc", basis, coef)]
        if self.gradients:
            g = torch.einsum("bnkd,bkc->bndc", grad, coef)  # (B, N, 2, C)
            re, im = g[:, :, 0], g[:, :, 1]
            # <g, A g> for a complex-linear A: unchanged when every gradient turns in its plane
            a_re = self.rotate_re(re) - self.rotate_im(im)
            a_im = self.rotate_re(im) + self.rotate_im(re)
            parts.append(torch.tanh(re * a_re + im * a_im))
        return x + self.mlp(torch.cat(parts, dim=-1))


@register_encoder(
    "diffusionnet",
    input_keys=SPECTRAL_KEYS,
    tasks=("classify", "segment"),
    representation="spectral",
    representations=_spectral_representations,
    description="DiffusionNet (Sharp et al. 2022): learned heat diffusion + gradient features, from the heat kernel signature (intrinsic)",
    infer_kwargs=lambda batch: {"in_features": int(batch["spectral_hks"].shape[-1])},
)
class DiffusionNetEncoder(Encoder):
    """DiffusionNet on the heat kernel signature of surface points (module docstring).

    Args:
        local: also return per-point features (segmentation).
        in_features: T, the number of heat kernel signature times (read off a batch by ``create_model``).
        width: channels of every block; blocks: how many blocks; dropout: inside each block's MLP.
        gradients: use the spatial gradient features (``False``: diffusion only, an ablation).
        standardize: standardise ``log(hks)`` with statistics fitted on the training data.
    """

    def __init__(
        self,
        local: bool = False,
        in_features: int | None = None,
        width: int = 128,
        blocks: int = 4,
        dropout: float = 0.5,
        gradients: bool = True,
        standardize: bool = True,
    ) -> None:
        super().__init__()
        if in_features is None or in_features < 1:
            raise OptionError(
                "diffusionnet needs in_features (the number of heat kernel signature times, "
                "batch['spectral_hks'].shape[-1]); pass in_features=... or create_model(..., example_batch=batch)"
            )
        if width < 1 or blocks < 1:
            raise OptionError(f"diffusionnet: width and blocks must be positive, got {width}, {blocks}")
        self.local = local
        self.in_features = int(in_features)
        self.norm = Standardizer(self.in_features, "diffusionnet encoder") if standardize else None
        self.first = nn.Linear(self.in_features, width)
        self.blocks = nn.ModuleList(DiffusionBlock(width, dropout, gradients) for _ in range(blocks))
        self.out_channels = 2 * width
        self.local_channels = width if local else 0

    @staticmethod
    def _signature(batch: Batch, t: int | None = None) -> torch.Tensor:
        hks = require_tensor(batch, "spectral_hks", 3, "diffusionnet", dims={-1: t} if t else None)
        return torch.log(hks.clamp(min=1e-8))

    def fit_normalizer(self, batches: Iterable[Batch]) -> None:
        """Fit the standardisation of ``log(spectral_hks)`` on every training batch (no-op without it)."""
        if self.norm is not None:
            self.norm.fit(self._signature(b, self.in_features).reshape(-1, self.in_features) for b in batches)

    def forward(self, batch: Batch) -> Features:
        x = self._signature(batch, self.in_features)  # (B, N, T)
        b, n = x.shape[:2]
        basis = require_tensor(batch, "spectral_basis", 3, "diffusionnet", dims={0: b, 1: n})
        k = basis.shape[2]
        grad = require_tensor(batch, "spectral_grad", 4, "diffusionnet", dims={0: b, 1: n, 2: k, 3: 2})
        evals = require_tensor(batch, "spectral_evals", 2, "diffusionnet", dims={0: b, 1: k})
        if self.norm is not None:
            x = self.norm(x)
        x = self.first(x)  # (B, N, C)
        for block in self.blocks:
            x = block(x, basis, grad, evals)
        global_ = torch.cat([x.mean(dim=1), x.amax(dim=1)], dim=1)  # (B, 2C)
        return Features(global_, x.transpose(1, 2).contiguous() if self.local else None)
