from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from dataset_helpers import make_class_folder, zip_folder

from geolearn.datasets import (
    Compose,
    MeshFolder,
    Points,
    RandomJitter,
    RandomRotation,
    Voxels,
    collate_shapes,
    create_transform,
)
from geolearn.errors import OptionError


def _sample() -> dict:
    g = torch.Generator().manual_seed(0)
    pts = torch.nn.functional.normalize(torch.randn(50, 3, generator=g), dim=1)
    return {
        "points": pts,
        "normals": pts.clone(),
        "face_centroids": torch.rand(7, 3, generator=g),
        "source": "x",
    }


def test_rotation_is_a_rotation_about_the_axis_and_does_not_mutate() -> None:
    s = _sample()
    before = {k: v.clone() for k, v in s.items() if isinstance(v, torch.Tensor)}
    out = RandomRotation("z")(s, torch.Generator().manual_seed(1))
    for k, v in before.items():
        assert torch.equal(s[k], v)  # input untouched
    assert torch.allclose(out["points"][:, 2], s["points"][:, 2])  # z kept
    assert torch.allclose(out["points"].norm(dim=1), s["points"].norm(dim=1), atol=1e-6)
    assert torch.allclose(out["normals"], out["points"], atol=1e-6)  # same rotation for normals
    # one angle for all points: the xy angle shift is the same for every point
    ang = torch.atan2(out["points"][:, 1], out["points"][:, 0]) - torch.atan2(
        s["points"][:, 1], s["points"][:, 0]
    )
    ang = torch.remainder(ang, 2 * math.pi)
    assert torch.allclose(ang, ang[0].expand_as(ang), atol=1e-4)
    assert not torch.allclose(out["points"], s["points"])


def test_jitter_is_clipped_and_seeded() -> None:
    s = _sample()
    t = RandomJitter(sigma=1.0, clip=0.01)
    a, b = t(s, torch.Generator().manual_seed(3)), t(s, torch.Generator().manual_seed(3))
    assert torch.equal(a["points"], b["points"])
    assert (a["points"] - s["points"]).abs().max() <= 0.01 + 1e-7
    assert torch.equal(a["normals"], s["normals"])


def test_rotation_refuses_voxels() -> None:
    with pytest.raises(OptionError, match="cannot rotate voxels"):
        RandomRotation()({"points": torch.zeros(3, 3), "voxels": torch.zeros(1, 2, 2, 2)}, torch.Generator())


def test_registry() -> None:
    assert repr(create_transform("rotate", axis="y")) == f"RandomRotation(axis='y', max_angle={math.pi})"
    with pytest.raises(OptionError, match="unknown transform"):
        create_transform("shear")


def test_dataset_augmentation_depends_on_epoch_and_index_only(tmp_path: Path) -> None:
    root = make_class_folder(tmp_path / "s", per_class=2)
    aug = Compose([RandomRotation("z"), RandomJitter(0.01, 0.02)])
    ds = MeshFolder(root, "all", [Points(32)], transform=aug, cache_dir=tmp_path / "c")
    plain = MeshFolder(root, "all", [Points(32)], cache_dir=tmp_path / "c")
    e0 = ds[2]["points"]
    assert torch.equal(ds[2]["points"], e0)  # same epoch, same index: same sample
    assert not torch.equal(ds[2]["points"], plain[2]["points"])
    ds.set_epoch(1)
    assert not torch.equal(ds[2]["points"], e0)
    ds.set_epoch(0)
    assert torch.equal(ds[2]["points"], e0)
    assert torch.equal(plain[2]["points"], MeshFolder(root, "all", [Points(32)], cache=False)[2]["points"])


def test_dataloader_workers_on_a_zip_give_the_same_batches(tmp_path: Path) -> None:
    """The archive is opened lazily per process, so forked DataLoader workers read it; augmentation
    is seeded per (epoch, index), so the number of workers does not change the samples."""
    root = zip_folder(make_class_folder(tmp_path / "s", per_class=2), tmp_path / "s.zip")
    ds = MeshFolder(root, "all", [Points(16)], transform=RandomRotation(), cache_dir=tmp_path / "c")
    ds[0]  # open the archive in the parent before forking
    batches = []
    for workers in (0, 2):
        loader = torch.utils.data.DataLoader(ds, batch_size=3, num_workers=workers, collate_fn=collate_shapes)
        batches.append([b["points"] for b in loader])
    assert all(torch.equal(a, b) for a, b in zip(*batches, strict=True))


def test_voxels_dataset_with_rotation_fails_loudly(tmp_path: Path) -> None:
    root = make_class_folder(tmp_path / "s", classes=("box",), per_class=1)
    ds = MeshFolder(root, "all", [Points(8), Voxels(4, "surface")], transform=RandomRotation(), cache=False)
    with pytest.raises(OptionError, match="cannot rotate"):
        ds[0]
