"""Farthest point sampling against a slow pure-Python reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geolearn.errors import OptionError
from geolearn.geometry.fps import farthest_point_sampling


def reference_fps(points: list[list[float]], k: int, start: int) -> list[int]:
    """The obvious O(k·N) loop: keep each point's distance to the chosen set, take the first max."""
    chosen = [start]
    nearest = [float("inf")] * len(points)
    for _ in range(k - 1):
        last = points[chosen[-1]]
        for i, p in enumerate(points):
            d = sum((a - b) ** 2 for a, b in zip(p, last, strict=True))
            nearest[i] = min(nearest[i], d)
        best = 0
        for i in range(len(points)):
            if nearest[i] > nearest[best]:
                best = i
        chosen.append(best)
    return chosen


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(("batch", "n", "k"), [(1, 40, 40), (3, 200, 32), (2, 500, 100)])
def test_matches_reference(device, dtype, batch, n, k):
    g = torch.Generator().manual_seed(n + k)
    pts = torch.rand(batch, n, 3, generator=g, dtype=torch.float64)
    idx = farthest_point_sampling(pts.to(device=device, dtype=dtype), k, seed=7)
    assert idx.shape == (batch, k)
    assert idx.dtype == torch.int64
    assert idx.device.type == device.type
    # the reference works in float64 Python floats on the same (rounded) coordinates
    as_list = pts.to(dtype).double().tolist()
    for b in range(batch):
        expected = reference_fps(as_list[b], k, int(idx[b, 0]))
        assert idx[b].tolist() == expected


def test_exact_ties_take_lowest_index(device):
    # an integer grid has many exactly tied distances; both must break them by the lowest index
    grid = torch.stack(torch.meshgrid(*[torch.arange(4.0)] * 3, indexing="ij"), -1).reshape(-1, 3)
    idx = farthest_point_sampling(grid.double().to(device), 20, seed=0, start=torch.tensor([5]))
    assert idx.tolist() == reference_fps(grid.tolist(), 20, 5)


def test_unbatched_and_given_start(device):
    pts = torch.rand(100, 3, generator=torch.Generator().manual_seed(1)).to(device)
    idx = farthest_point_sampling(pts, 10, seed=0, start=torch.tensor(42))
    assert idx.shape == (10,)
    assert idx[0].item() == 42
    assert idx.tolist() == reference_fps(pts.double().tolist(), 10, 42)


def test_seed_determinism_and_devices_agree(device):
    pts = torch.rand(4, 300, 3, generator=torch.Generator().manual_seed(2))
    a = farthest_point_sampling(pts.to(device), 16, seed=123)
    b = farthest_point_sampling(pts.to(device), 16, seed=123)
    c = farthest_point_sampling(pts.to(device), 16, seed=124)
    assert torch.equal(a, b)
    assert not torch.equal(a[:, 0], c[:, 0])
    # an int seed draws the start on the CPU, so every device starts from the same points
    cpu = farthest_point_sampling(pts, 16, seed=123)
    assert torch.equal(a.cpu()[:, 0], cpu[:, 0])
    gen = torch.Generator().manual_seed(5)
    assert farthest_point_sampling(pts.to(device), 16, seed=gen).shape == (4, 16)


def test_all_points_is_a_permutation_and_spread():
    pts = torch.rand(64, 3, generator=torch.Generator().manual_seed(3))
    idx = farthest_point_sampling(pts, 64, seed=0)
    assert sorted(idx.tolist()) == list(range(64))
    # greedy FPS is a 2-approximation of the k-centre problem: the chosen points are at least
    # as far apart as the covering radius they leave
    k = 16
    sel = farthest_point_sampling(pts, k, seed=0)
    chosen = pts[sel]
    pair = torch.cdist(chosen, chosen) + torch.eye(k) * 1e9
    cover = torch.cdist(pts, chosen).min(dim=1).values.max()
    assert pair.min() >= cover - 1e-6


def test_duplicate_points_repeat_only_when_exhausted():
    pts = torch.tensor([[0.0, 0, 0], [1.0, 0, 0], [1.0, 0, 0], [0.0, 0, 0]])
    idx = farthest_point_sampling(pts, 4, seed=0, start=torch.tensor(0))
    assert idx.tolist()[:2] == [0, 1]
    assert set(idx.tolist()[2:]) <= {0}


@pytest.mark.parametrize(
    ("shape", "k", "match"),
    [
        ((10, 3), 11, "num_samples"),
        ((10, 3), 0, "num_samples"),
        ((2, 5, 3), 6, "num_samples"),
        ((3,), 1, "shape"),
        ((1, 2, 3, 3), 1, "shape"),
    ],
)
def test_errors(shape, k, match):
    with pytest.raises(OptionError, match=match):
        farthest_point_sampling(torch.zeros(shape), k, seed=0)


def test_more_errors():
    with pytest.raises(OptionError, match="NaN"):
        farthest_point_sampling(torch.tensor([[0.0, 0, 0], [np.nan, 0, 0]]), 1, seed=0)
    with pytest.raises(OptionError, match="floating"):
        farthest_point_sampling(torch.zeros(5, 3, dtype=torch.int64), 2, seed=0)
    with pytest.raises(OptionError, match=r"torch\.Tensor"):
        farthest_point_sampling(np.zeros((5, 3)), 2, seed=0)
    with pytest.raises(OptionError, match="start"):
        farthest_point_sampling(torch.zeros(5, 3), 2, seed=0, start=torch.tensor([5]))
    with pytest.raises(OptionError, match="int"):
        farthest_point_sampling(torch.zeros(5, 3), True, seed=0)
