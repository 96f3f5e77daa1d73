"""Moving features between voxels, pixels, faces and points, against slow obvious references."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geolearn.errors import OptionError
from geolearn.nn.encoders.voxel import voxel_coordinates
from geolearn.nn.lookup import gather_face_features, trilinear_lookup
from geolearn.nn.pooling import packed_face_index, pixels_to_faces, points_to_faces


def _slow_trilinear(grid: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Trilinear interpolation of grid (C, R, R, R) indexed (x, y, z) at p (3,), cell centres at
    -1 + (i + 0.5) 2/R, clamped to the outer centres."""
    r = grid.shape[1]
    f = np.clip((p + 1) * r / 2 - 0.5, 0, r - 1)  # continuous index per axis
    i0 = np.minimum(np.floor(f).astype(int), r - 2)
    t = f - i0
    out = np.zeros(grid.shape[0])
    for dx in (0, 1):
        for dy in (0, 1):
            for dz in (0, 1):
                w = (t[0] if dx else 1 - t[0]) * (t[1] if dy else 1 - t[1]) * (t[2] if dz else 1 - t[2])
                out += w * grid[:, i0[0] + dx, i0[1] + dy, i0[2] + dz]
    return out


def test_trilinear_lookup_matches_slow_reference(device: torch.device):
    g = torch.Generator().manual_seed(0)
    grid = torch.randn(2, 3, 5, 5, 5, generator=g, dtype=torch.float64)
    pts = torch.rand(2, 40, 3, generator=g, dtype=torch.float64) * 2.2 - 1.1  # also beyond the border
    pts[0, 0] = torch.tensor([-1.0, 1.0, 0.0], dtype=torch.float64)
    out = trilinear_lookup(grid.to(device), pts.to(device)).cpu()  # (B, C, N)
    ref = np.stack(
        [
            np.stack([_slow_trilinear(grid[b].numpy(), pts[b, n].numpy()) for n in range(40)], 1)
            for b in range(2)
        ]
    )
    np.testing.assert_allclose(out.numpy(), ref, atol=1e-10)


def test_trilinear_lookup_axis_order():
    """A grid holding each cell's own (x, y, z) returns the query point's coordinates: the (x,y,z) ↔
    (D,H,W) swap of grid_sample is handled, and a linear field is reproduced exactly inside."""
    r = 8
    coords = voxel_coordinates(r, torch.zeros(0, dtype=torch.float64))[None]  # (1, 3, R, R, R)
    assert coords[0, 0, 5, 0, 0] == coords[0, 0, 5, 7, 3]  # x varies along dim 2 only
    pts = torch.rand(1, 100, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * 1.7 - 0.85
    out = trilinear_lookup(coords, pts)  # (1, 3, 100)
    torch.testing.assert_close(out[0].T, pts[0])


def test_gather_face_features():
    ptr = torch.tensor([0, 3, 5])
    values = torch.arange(10.0).view(5, 2)  # (ΣF=5, C=2)
    point_face = torch.tensor([[2, 0, 1], [1, 0, 0]])
    out = gather_face_features(values, point_face, ptr)  # (B, C, N)
    expected = torch.stack([values[[2, 0, 1]].T, values[[4, 3, 3]].T])
    assert torch.equal(out, expected)
    with pytest.raises(OptionError, match="outside"):
        gather_face_features(values, torch.tensor([[3, 0, 0], [0, 0, 0]]), ptr)
    with pytest.raises(OptionError, match="face_ptr"):
        gather_face_features(values, point_face, torch.tensor([0, 3, 6]))


def test_packed_face_index():
    ptr = torch.tensor([0, 4, 6])
    local = torch.tensor([[[0, -1], [3, 1]], [[-1, 1], [0, 0]]])
    out = packed_face_index(local, ptr)
    assert torch.equal(out, torch.tensor([[[0, -1], [3, 1]], [[-1, 5], [4, 4]]]))
    with pytest.raises(OptionError, match="face_ptr"):
        packed_face_index(local, torch.tensor([0, 4]))
    with pytest.raises(OptionError, match="never decrease"):
        packed_face_index(local, torch.tensor([0, 4, 3]))
    with pytest.raises(OptionError, match="outside"):
        packed_face_index(torch.tensor([[-2], [0]]), ptr)


def _random_case(seed: int, with_empty: bool):
    g = torch.Generator().manual_seed(seed)
    b, k, n = 3, 4, 20
    counts = [7, 12, 5]
    ptr = torch.tensor([0, *np.cumsum(counts).tolist()])
    if with_empty:
        point_face = torch.stack([torch.randint(0, c, (n,), generator=g) for c in counts])
    else:  # every face gets at least one point
        point_face = torch.stack(
            [torch.cat([torch.arange(c), torch.randint(0, c, (n - c,), generator=g)]) for c in counts]
        )
    logits = torch.randn(b, k, n, generator=g, dtype=torch.float64)
    points = torch.randn(b, n, 3, generator=g, dtype=torch.float64)
    centroids = torch.randn(int(ptr[-1]), 3, generator=g, dtype=torch.float64)
    return logits, point_face, ptr, points, centroids


def _slow_points_to_faces(logits, point_face, ptr, points, centroids):
    out = []
    for b in range(logits.shape[0]):
        for f in range(int(ptr[b + 1] - ptr[b])):
            on = (point_face[b] == f).nonzero().flatten()
            if len(on):
                out.append(logits[b][:, on].mean(1))
            else:
                d = ((points[b] - centroids[ptr[b] + f]) ** 2).sum(1)
                out.append(logits[b][:, int(d.argmin())])
    return torch.stack(out)


@pytest.mark.parametrize("with_empty", [False, True])
def test_points_to_faces_matches_slow_reference(with_empty: bool, device: torch.device):
    case = _random_case(0, with_empty)
    out = points_to_faces(*[t.to(device) for t in case], chunk=3).cpu()
    torch.testing.assert_close(out, _slow_points_to_faces(*case))


def test_points_to_faces_needs_geometry_for_empty_faces():
    logits, point_face, ptr, _, _ = _random_case(0, True)
    with pytest.raises(OptionError, match="got no point"):
        points_to_faces(logits, point_face, ptr)
    full = _random_case(0, False)
    assert points_to_faces(*full[:3]).shape == (24, 4)
    with pytest.raises(OptionError, match=r"\(B,K,N\)"):
        points_to_faces(logits[0], point_face, ptr)


def test_points_to_faces_backpropagates():
    logits, point_face, ptr, points, centroids = _random_case(1, True)
    logits.requires_grad_(True)
    points_to_faces(logits, point_face, ptr, points, centroids).sum().backward()
    assert logits.grad is not None
    assert logits.grad.abs().sum() > 0


def test_pixels_to_faces_matches_slow_reference(device: torch.device):
    g = torch.Generator().manual_seed(2)
    b, v, c, h, w = 2, 3, 4, 5, 6
    counts = [9, 4]
    ptr = torch.tensor([0, 9, 13])
    feats = torch.randn(b, v, c, h, w, generator=g, dtype=torch.float64)
    view_face = torch.stack([torch.randint(-1, n, (v, h, w), generator=g) for n in counts])
    view_face[1][view_face[1] == 2] = -1  # face 2 of shape 1 is seen nowhere
    pooled = pixels_to_faces(feats.to(device), view_face.to(device), ptr.to(device))
    ref, ref_counts = torch.zeros(13, c, dtype=torch.float64), torch.zeros(13, dtype=torch.int64)
    for bi in range(b):
        for f in range(counts[bi]):
            sel = feats[bi].permute(0, 2, 3, 1)[view_face[bi] == f]  # (pixels, C) over all views
            ref_counts[ptr[bi] + f] = len(sel)
            if len(sel):
                ref[ptr[bi] + f] = sel.mean(0)
    torch.testing.assert_close(pooled.features.cpu(), ref)
    assert torch.equal(pooled.counts.cpu(), ref_counts)
    assert ref_counts[9 + 2] == 0
    assert torch.all(pooled.features[9 + 2] == 0)
