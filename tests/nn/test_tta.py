"""Test-time augmentation over the symmetries of the cube: against a slow reference that moves the
points by a 3×3 matrix and the voxels cell centre by cell centre, and the group property (the
average does not change when the input is turned)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from geolearn.datasets.transforms import apply_symmetry, cube_symmetries
from geolearn.errors import OptionError
from geolearn.nn.tta import SymmetryAverage

R = 4


class Toy(nn.Module):
    """Per-point logits (B, K, N) that depend on the orientation of points and voxels alike."""

    def __init__(self, k: int = 3) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(0)
        self.w = torch.randn(k, 3, generator=g)
        self.grid = torch.randn(k, R, R, R, generator=g)

    def forward(self, batch: dict) -> torch.Tensor:
        from_points = torch.einsum("kc,bnc->bkn", self.w, batch["points"])  # (B, K, N)
        from_voxels = torch.einsum("krst,brst->bk", self.grid, batch["voxels"][:, 0])  # (B, K)
        return from_points + from_voxels[:, :, None]


def _batch(seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {
        "points": torch.rand(2, 5, 3, generator=g) * 2 - 1,
        "voxels": (torch.rand(2, 1, R, R, R, generator=g) > 0.5).float(),
    }


def _matrix(perm: list[int], signs: list[float]) -> torch.Tensor:
    m = torch.zeros(3, 3)
    for j in range(3):
        m[j, perm[j]] = signs[j]
    return m


def _reference_move(batch: dict, m: torch.Tensor) -> dict:
    """Points times the matrix; every voxel carried to the cell whose centre is the moved centre."""
    centres = (torch.arange(R) + 0.5) / R * 2 - 1
    grid = torch.stack(torch.meshgrid(centres, centres, centres, indexing="ij"), dim=-1).reshape(-1, 3)
    index = torch.stack(torch.meshgrid(*[torch.arange(R)] * 3, indexing="ij"), dim=-1).reshape(-1, 3)
    moved_index = (((grid @ m.T) + 1) / 2 * R - 0.5).round().long()  # (R³, 3)
    vox = torch.zeros_like(batch["voxels"])
    for (i, j, k), (a, b, c) in zip(index.tolist(), moved_index.tolist(), strict=True):
        vox[..., a, b, c] = batch["voxels"][..., i, j, k]
    return {"points": batch["points"] @ m.T, "voxels": vox}


def test_the_48_symmetries_are_distinct_orthogonal_matrices_identity_first() -> None:
    syms = cube_symmetries()
    assert len(syms) == 48 and syms[0] == ([0, 1, 2], [1.0, 1.0, 1.0])
    mats = [_matrix(p, s) for p, s in syms]
    assert len({tuple(m.flatten().tolist()) for m in mats}) == 48
    for m in mats:
        assert torch.equal(m @ m.T, torch.eye(3))
    assert len(cube_symmetries(permute=False, flip="xz")) == 4


def test_batch_symmetry_matches_the_slow_reference() -> None:
    batch = _batch()
    for perm, signs in cube_symmetries():
        got = apply_symmetry(batch, perm, signs)
        want = _reference_move(batch, _matrix(perm, signs))
        assert torch.allclose(got["points"], want["points"]), (perm, signs)
        assert torch.equal(got["voxels"], want["voxels"]), (perm, signs)


def test_average_is_the_mean_probability_and_is_invariant() -> None:
    model, batch = Toy(), _batch(1)
    tta = SymmetryAverage(model)
    out = tta(batch)
    want = torch.stack(
        [torch.softmax(model(_reference_move(batch, _matrix(p, s))), dim=1) for p, s in cube_symmetries()]
    ).mean(0)
    assert torch.allclose(out.exp(), want, atol=1e-6)
    assert torch.allclose(out.exp().sum(1), torch.ones(2, 5), atol=1e-6)
    for perm, signs in cube_symmetries()[1:10]:  # the group average does not see how the input was turned
        assert torch.allclose(tta(apply_symmetry(batch, perm, signs)), out, atol=1e-5)
    assert not torch.allclose(model(apply_symmetry(batch, *cube_symmetries()[5])), model(batch))
    assert repr(tta) == "SymmetryAverage(Toy, 48 symmetries)"


def test_restrict_is_applied_to_every_pose() -> None:
    from geolearn.train.tasks import MASKED_LOGIT, Segmentation

    mask = torch.tensor([[True, False, True], [False, True, True]])
    batch = {**_batch(2), "part_mask": mask}
    out = SymmetryAverage(Toy(), restrict=Segmentation().restrict)(batch)
    assert torch.all(out.isfinite())
    assert torch.all(out[0, 1] <= MASKED_LOGIT + 1) and torch.all(out[1, 0] <= MASKED_LOGIT + 1)
    assert torch.allclose(out.exp().sum(1), torch.ones(2, 5), atol=1e-6)


def test_views_are_refused() -> None:
    with pytest.raises(OptionError, match="cannot transform views"):
        SymmetryAverage(Toy())({"views": torch.zeros(1, 2, 1, 4, 4)})
