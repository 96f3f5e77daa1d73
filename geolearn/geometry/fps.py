"""Farthest point sampling (FPS) on point sets, batched, on any torch device.

Shapes:
    points ``(N, D)`` or ``(B, N, D)`` (usually ``D = 3``) → indices ``(k,)`` or ``(B, k)`` int64.
"""

from __future__ import annotations

import torch

from geolearn.errors import OptionError
from geolearn.random import Seed, as_torch_generator

__all__ = ["farthest_point_sampling"]


def farthest_point_sampling(
    points: torch.Tensor,
    num_samples: int,
    seed: Seed,
    *,
    start: torch.Tensor | None = None,
) -> torch.Tensor:
    """Indices of ``num_samples`` points chosen greedily, each the farthest from those chosen so far.

    The first point of every batch element is drawn uniformly at random from ``seed`` (or given by
    ``start``); each next point maximises the Euclidean distance to the nearest point already chosen.
    Ties are broken by the lowest index. The loop runs over the ``k`` samples only; each step is one
    vectorised distance update over the whole batch, on the device of ``points``.

    The start index is drawn on the CPU from an int / numpy seed, so the same seed picks the same
    start on every device (a ``torch.Generator`` is used as given, on its own device).
    If a point set has fewer than ``k`` distinct points, the remaining picks repeat an already chosen
    point (every distance is then 0); otherwise the ``k`` indices are distinct.

    Args:
        points: ``(N, D)`` or ``(B, N, D)`` floating tensor, finite, on any device.
        num_samples: k, how many points to pick, ``1 <= k <= N``.
        seed: int, numpy Generator or torch Generator for the start points.
        start: optional ``(B,)`` (or 0-d / ``(1,)`` for unbatched input) int64 start indices in
            ``[0, N)``; when given, ``seed`` is not used.

    Returns:
        int64 indices into the point axis, ``(k,)`` for ``(N, D)`` input, ``(B, k)`` for
        ``(B, N, D)`` input, on the device of ``points``. Column 0 holds the start points.

    Example:
        >>> idx = farthest_point_sampling(torch.rand(8, 2048, 3), 512, seed=0)   # (8, 512)
        >>> centres = torch.gather(pts, 1, idx[..., None].expand(-1, -1, 3))     # (8, 512, 3)
    """
    if not isinstance(points, torch.Tensor):
        raise OptionError(f"points must be a torch.Tensor, got {type(points).__name__}")
    if points.ndim not in (2, 3) or points.shape[-1] < 1:
        raise OptionError(f"points must have shape (N, D) or (B, N, D), got {tuple(points.shape)}")
    if not points.is_floating_point():
        raise OptionError(f"points must be a floating tensor, got dtype {points.dtype}")
    unbatched = points.ndim == 2
    pts = points.unsqueeze(0) if unbatched else points  # (B, N, D)
    b, n = pts.shape[0], pts.shape[1]
    if isinstance(num_samples, bool) or not isinstance(num_samples, int):
        raise OptionError(f"num_samples must be an int, got {type(num_samples).__name__}")
    if not 1 <= num_samples <= n:
        raise OptionError(f"num_samples must be in [1, N={n}], got {num_samples}")
    if not bool(torch.isfinite(pts).all()):
        raise OptionError("points contain NaN or infinite coordinates")
    device = pts.device
    if start is None:
        first = _draw_start(b, n, seed).to(device)  # (B,)
    else:
        first = torch.as_tensor(start, dtype=torch.int64).reshape(-1).to(device)
        if first.shape != (b,):
            raise OptionError(f"start must hold one index per batch element ({b}), got {tuple(first.shape)}")
        if bool(((first < 0) | (first >= n)).any()):
            raise OptionError(f"start indices must be in [0, {n})")

    batch = torch.arange(b, device=device)
    coords = pts.transpose(1, 2).contiguous()  # (B, D, N): reductions over D run on contiguous rows
    out = torch.empty(b, num_samples, dtype=torch.int64, device=device)  # (B, k)
    nearest = torch.full((b, n), float("inf"), dtype=pts.dtype, device=device)  # (B, N)
    current = first  # (B,)
    for i in range(num_samples):
        out[:, i] = current
        diff = coords - pts[batch, current][:, :, None]  # (B, D, N)
        nearest = torch.minimum(nearest, (diff * diff).sum(dim=1))  # (B, N) squared distances
        current = torch.argmax(nearest, dim=1)  # first index among ties
    return out[0] if unbatched else out


def _draw_start(b: int, n: int, seed: Seed) -> torch.Tensor:
    """``(B,)`` int64 start indices drawn from ``seed`` (on the generator's device)."""
    if isinstance(seed, torch.Generator):
        return torch.randint(0, n, (b,), generator=seed, device=seed.device)
    gen = as_torch_generator(seed, "cpu")
    return torch.randint(0, n, (b,), generator=gen)
