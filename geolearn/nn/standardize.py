"""Feature standardisation with statistics fitted once on training data.

Hand-crafted descriptors (histograms, per-face features) have wildly different scales per entry; an
MLP trains poorly on them raw. :class:`Standardizer` holds a per-feature mean and standard deviation
as buffers (so they travel with checkpoints) and is fitted explicitly with :meth:`Standardizer.fit`.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from geolearn.errors import OptionError

__all__ = ["Standardizer"]


class Standardizer(nn.Module):
    """``(x - mean) / std`` per feature, with ``mean``/``std`` fitted on training data.

    A feature that is constant in the training data (std 0) gets ``std = 1`` so it maps to a constant
    instead of blowing up. Using it before :meth:`fit` raises :class:`OptionError`.

    Shapes: ``(*, D) → (*, D)``.
    """

    mean: torch.Tensor
    std: torch.Tensor
    fitted: torch.Tensor

    def __init__(self, num_features: int, who: str = "standardizer") -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("std", torch.ones(num_features))
        self.register_buffer("fitted", torch.tensor(False))
        self.who = who

    def fit(self, chunks: Iterable[torch.Tensor]) -> None:
        """Fit the statistics on the rows of every ``(M_i, D)`` chunk (accumulated in float64)."""
        d = self.mean.numel()
        total = 0
        s1 = torch.zeros(d, dtype=torch.float64)
        s2 = torch.zeros(d, dtype=torch.float64)
        for x in chunks:
            if x.dim() != 2 or x.shape[1] != d:
                raise OptionError(f"{self.who}: fit expects (M, {d}) rows, got {tuple(x.shape)}")
            x64 = x.detach().to("cpu", torch.float64)
            if not bool(torch.isfinite(x64).all()):
                raise OptionError(f"{self.who}: the training features contain NaN or infinity")
            total += x64.shape[0]
            s1 += x64.sum(0)
            s2 += (x64 * x64).sum(0)
        if total == 0:
            raise OptionError(f"{self.who}: fit got no rows")
        mean = s1 / total
        var = (s2 / total - mean * mean).clamp(min=0.0)
        std = var.sqrt()
        std = torch.where(std > 1e-8 * (1.0 + mean.abs()), std, torch.ones_like(std))
        self.mean.copy_(mean.to(self.mean))
        self.std.copy_(std.to(self.std))
        self.fitted.fill_(True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not bool(self.fitted):
            raise OptionError(
                f"{self.who}: the feature statistics were never fitted; call "
                "model.fit_normalizer(training_batches) before training (or pass standardize=False)"
            )
        return (x - self.mean) / self.std
