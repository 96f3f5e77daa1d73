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
    RandomScale,
    RandomSymmetry,
    Voxels,
    build_augmentation,
    collate_shapes,
    create_transform,
    transforms,
)
from geolearn.datasets.transforms import apply_linear, apply_scale
from geolearn.errors import OptionError
from geolearn.geometry.voxelize import voxelize
from geolearn.mesh import Mesh


def _solid(m: Mesh) -> torch.Tensor:
    """``(1, 32, 32, 32)`` solid voxels of ``m`` in ``[-1, 1]³``: the slow reference of a moved grid."""
    import numpy as np

    return torch.from_numpy(voxelize(m, 32, "solid", bounds=(-1.0, 1.0)).occupancy[None].astype(np.float32))


def _iou(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a * b) > 0).sum() / ((a + b) > 0).sum())


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


def test_rotation_refuses_views() -> None:
    with pytest.raises(OptionError, match="cannot rotate views"):
        RandomRotation()({"points": torch.zeros(3, 3), "views": torch.zeros(2, 1, 4, 4)}, torch.Generator())


def test_rotated_voxels_are_the_voxelisation_of_the_rotated_mesh() -> None:
    """The reference: rotate the mesh and voxelise it again. A quarter turn moves cell centres onto
    cell centres (exactly the grid turned by index arithmetic); other angles agree but for cells along
    the boundary, and far better than the opposite angle (a sign or axis mix-up)."""

    mesh = _asymmetric_mesh()

    grid = _solid(mesh)
    quarter = apply_linear({"voxels": grid}, [[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])["voxels"]
    r = grid.shape[-1]
    i, j, k = torch.meshgrid(torch.arange(r), torch.arange(r), torch.arange(r), indexing="ij")
    # (x, y) -> (-y, x): the new cell (i, j) reads the old cell at (x, y) = (y', -x'), i.e. (j, R-1-i)
    assert torch.equal(quarter[0], grid[0][j, r - 1 - i, k])
    for axis, angle in (("z", 0.5), ("x", -0.35), ("y", 0.8)):
        rot = transforms._rotation_matrix(axis, torch.tensor(angle)).double().numpy()
        want = _solid(Mesh(mesh.vertices @ rot.T, mesh.faces, source="rotated"))
        got = apply_linear({"voxels": grid}, rot)["voxels"]
        assert set(got.unique().tolist()) <= {0.0, 1.0}
        assert _iou(got, want) > 0.8, (axis, _iou(got, want))  # thin boxes: 0.82-0.90 measured
        wrong = apply_linear({"voxels": grid}, rot.T)["voxels"]  # the opposite turn
        assert _iou(wrong, want) < _iou(got, want) - 0.1


def test_random_rotation_moves_points_normals_and_voxels_together() -> None:
    """One draw rotates every key alike: normals stay unit and orthogonal to what they were
    orthogonal to, voxels are the grid moved by the same rotation, and the input is untouched."""
    import numpy as np

    mesh = _asymmetric_mesh()
    grid = torch.from_numpy(
        voxelize(mesh, 16, "solid", bounds=(-1.0, 1.0)).occupancy[None].astype(np.float32)
    )
    s = _sample() | {"voxels": grid}
    before = {k: v.clone() for k, v in s.items() if isinstance(v, torch.Tensor)}
    t = RandomRotation("y", max_angle=0.6)
    out = t(s, torch.Generator().manual_seed(5))
    angle = (torch.rand((), generator=torch.Generator().manual_seed(5)) * 2 - 1) * 0.6
    rot = transforms._rotation_matrix("y", angle)
    torch.testing.assert_close(out["points"], before["points"] @ rot.T.to(before["points"].dtype))
    torch.testing.assert_close(out["normals"], before["normals"] @ rot.T.to(before["normals"].dtype))
    assert torch.equal(out["voxels"], apply_linear({"voxels": grid}, rot)["voxels"])
    assert not torch.equal(out["voxels"], grid)
    for k, v in before.items():
        assert torch.equal(s[k], v)
    with pytest.raises(OptionError, match="not invertible"):
        apply_linear(s, torch.zeros(3, 3))
    with pytest.raises(OptionError, match=r"\(3, 3\) matrix"):
        apply_linear(s, torch.eye(2))


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


def test_voxels_dataset_with_rotation_rotates_the_voxels(tmp_path: Path) -> None:
    root = make_class_folder(tmp_path / "s", classes=("box",), per_class=1)
    plain = MeshFolder(root, "all", [Points(8), Voxels(16, "solid")], cache=False)
    ds = MeshFolder(root, "all", [Points(8), Voxels(16, "solid")], transform=RandomRotation(), cache=False)
    assert ds[0]["voxels"].shape == plain[0]["voxels"].shape
    assert not torch.equal(ds[0]["voxels"], plain[0]["voxels"])
    assert torch.equal(ds[0]["voxels"], ds[0]["voxels"])  # seeded by (epoch, index)


def _asymmetric_mesh() -> Mesh:
    """Two boxes of different sizes off the centre: no symmetry of the cube maps it onto itself."""
    import numpy as np
    import trimesh

    a = trimesh.creation.box(extents=(0.9, 0.5, 0.3))
    a.apply_translation((-0.3, 0.1, 0.2))
    b = trimesh.creation.box(extents=(0.2, 0.7, 0.4))
    b.apply_translation((0.5, -0.3, -0.4))
    m = trimesh.util.concatenate([a, b])
    return Mesh(np.asarray(m.vertices), np.asarray(m.faces), source="two boxes")


@pytest.mark.parametrize("mode", ["surface", "solid"])
def test_symmetry_of_the_voxels_is_the_voxelisation_of_the_transformed_mesh(mode: str) -> None:
    """The reference: move the mesh by the drawn symmetry and voxelise it again."""
    import numpy as np

    mesh = _asymmetric_mesh()
    grid = torch.from_numpy(voxelize(mesh, 12, mode, bounds=(-1.0, 1.0)).occupancy[None].astype(np.float32))
    t = RandomSymmetry()
    seen = set()
    for seed in range(40):
        perm, signs = t.draw(torch.Generator().manual_seed(seed))
        seen.add((tuple(perm), tuple(signs)))
        moved = Mesh(mesh.vertices[:, perm] * np.asarray(signs), mesh.faces, source="moved")
        want = voxelize(moved, 12, mode, bounds=(-1.0, 1.0)).occupancy[None].astype(np.float32)
        got = t({"voxels": grid}, torch.Generator().manual_seed(seed))["voxels"]
        assert torch.equal(got, torch.from_numpy(want)), (perm, signs)
    assert len(seen) > 20  # many of the 48 symmetries were drawn, not one


def test_symmetry_moves_points_normals_and_centroids_alike_and_does_not_mutate() -> None:
    s = _sample()
    before = {k: v.clone() for k, v in s.items() if isinstance(v, torch.Tensor)}
    t = RandomSymmetry()
    perm, signs = t.draw(torch.Generator().manual_seed(3))
    out = t(s, torch.Generator().manual_seed(3))
    for k in ("points", "normals", "face_centroids"):
        want = torch.stack([signs[j] * before[k][:, perm[j]] for j in range(3)], dim=1)
        assert torch.equal(out[k], want)
        assert torch.equal(s[k], before[k])  # the input is untouched
    assert out["source"] == "x"

    # distances are kept (an isometry)
    def dist(p: torch.Tensor) -> torch.Tensor:
        return (p[:, None] - p[None]).norm(dim=-1)  # (N, N), exact (cdist's matmul path is not)

    assert torch.allclose(dist(out["points"]), dist(s["points"]), atol=1e-6)


def test_symmetry_options() -> None:
    g = torch.Generator().manual_seed(0)
    fixed = RandomSymmetry(permute=False, flip="")
    for _ in range(5):
        assert fixed.draw(g) == ([0, 1, 2], [1.0, 1.0, 1.0])
    keep_y = RandomSymmetry(permute=False, flip="xz")
    draws = [keep_y.draw(g) for _ in range(50)]
    assert all(p == [0, 1, 2] and s[1] == 1.0 for p, s in draws)
    assert {s[0] for _, s in draws} == {1.0, -1.0} and {s[2] for _, s in draws} == {1.0, -1.0}
    for bad in ({"flip": "xw"}, {"flip": "xx"}, {"permute": "yes"}):
        with pytest.raises(OptionError, match="RandomSymmetry"):
            RandomSymmetry(**bad)
    with pytest.raises(OptionError, match="cannot transform views"):
        RandomSymmetry()({"views": torch.zeros(2, 1, 4, 4)}, g)


def test_scaled_voxels_are_the_voxelisation_of_the_scaled_mesh() -> None:
    """The reference: stretch the mesh and voxelise it again. The resampled grid agrees but for cells
    along the boundary (IoU > 0.94 on an off-centre solid ball at 32³), and far better than the same
    factors given to the wrong axes (which would be an axis mix-up of the grid)."""
    import itertools

    import numpy as np
    import trimesh

    ball = trimesh.creation.icosphere(4, radius=0.75)
    ball.apply_translation((0.1, -0.05, 0.0))
    mesh = Mesh(np.asarray(ball.vertices), np.asarray(ball.faces), source="ball")

    grid = _solid(mesh)
    assert torch.equal(apply_scale({"voxels": grid}, [1.0, 1.0, 1.0])["voxels"], grid)  # exact at 1
    for f in ([1.2, 0.8, 1.0], [0.7, 1.1, 0.9]):
        want = _solid(Mesh(mesh.vertices * np.asarray(f), mesh.faces, source="stretched"))
        got = apply_scale({"voxels": grid}, f)["voxels"]
        assert got.shape == grid.shape and set(got.unique().tolist()) <= {0.0, 1.0}
        assert _iou(got, want) > 0.94, (f, _iou(got, want))
        for other in set(itertools.permutations(f)) - {tuple(f)}:
            assert _iou(apply_scale({"voxels": grid}, list(other))["voxels"], want) < _iou(got, want) - 0.1
    # a collated batch (B, C, R, R, R) gives each sample what it gives alone
    batch = torch.stack([grid, grid.flip(1)])
    moved = apply_scale({"voxels": batch}, [0.9, 1.1, 1.0])["voxels"]
    for b in range(2):
        assert torch.equal(moved[b], apply_scale({"voxels": batch[b]}, [0.9, 1.1, 1.0])["voxels"])


def test_scale_moves_points_and_normals_as_a_stretch_does() -> None:
    """On the unit sphere stretched to the ellipsoid x²/a² + y²/b² + z²/c² = 1, the moved normals are
    the ellipsoid's analytic normals at the moved points."""
    s = _sample()  # points on the unit sphere, normals = points
    before = {k: v.clone() for k, v in s.items() if isinstance(v, torch.Tensor)}
    f = torch.tensor([0.9, 0.6, 0.8])
    out = apply_scale(s, f)
    p = out["points"]
    torch.testing.assert_close(p, before["points"] * f)
    torch.testing.assert_close(((p / f) ** 2).sum(1), torch.ones(len(p)))  # on the ellipsoid
    analytic = torch.nn.functional.normalize(p / f**2, dim=1)
    torch.testing.assert_close(out["normals"], analytic)
    torch.testing.assert_close(out["face_centroids"], before["face_centroids"] * f)
    for k, v in before.items():
        assert torch.equal(s[k], v)  # the input is untouched


def test_random_scale_draws_are_seeded_bounded_and_keep_the_shape_in_the_grid() -> None:
    t = RandomScale(0.8, 1.25)
    small = {"points": torch.tensor([[0.5, -0.4, 0.3], [-0.2, 0.1, -0.6]])}
    a = t(small, torch.Generator().manual_seed(1))["points"]
    b = t(small, torch.Generator().manual_seed(1))["points"]
    assert torch.equal(a, b)
    factors = torch.stack([t.draw(torch.Generator().manual_seed(i)) for i in range(200)])
    assert factors.min() >= 0.8 and factors.max() <= 1.25 and len(set(factors[:, 0].tolist())) > 100
    assert not torch.allclose(factors[:, 0], factors[:, 1])  # one factor per axis
    same = torch.stack(
        [RandomScale(0.8, 1.25, anisotropic=False).draw(torch.Generator().manual_seed(i)) for i in range(20)]
    )
    assert torch.equal(same[:, 0], same[:, 1]) and torch.equal(same[:, 0], same[:, 2])
    # a shape reaching x = 0.95 is never stretched past the grid along x
    wide = {"points": torch.tensor([[0.95, 0.1, 0.0], [-0.5, -0.2, 0.3]])}
    for i in range(50):
        out = t(wide, torch.Generator().manual_seed(i))["points"]
        assert out[:, 0].abs().max() <= 1.0 + 1e-6
    # occupied voxel cells count too: a full grid is only ever shrunk
    full = {"voxels": torch.ones(1, 8, 8, 8)}
    for i in range(10):
        out = t(full, torch.Generator().manual_seed(i))["voxels"]
        assert out.sum() <= 8**3
    for bad in ({"low": 0.0}, {"low": 1.3, "high": 1.2}, {"anisotropic": "yes"}, {"low": True}):
        with pytest.raises(OptionError, match="RandomScale"):
            RandomScale(**bad)
    with pytest.raises(OptionError, match="cannot transform views"):
        t({"views": torch.zeros(2, 1, 4, 4)}, torch.Generator())
    assert repr(build_augmentation({"scale": {"low": 0.9}})) == (
        "Compose([RandomScale(low=0.9, high=1.25, anisotropic=True)])"
    )


def test_build_augmentation_from_an_option() -> None:
    assert build_augmentation({}) is None and build_augmentation(None) is None
    aug = build_augmentation({"symmetry": None, "jitter": {"sigma": 0.02}})
    assert (
        repr(aug)
        == "Compose([RandomSymmetry(permute=True, flip='xyz'), RandomJitter(sigma=0.02, clip=0.05)])"
    )
    with pytest.raises(OptionError, match="unknown transform 'shear'"):
        build_augmentation({"shear": {}})
    with pytest.raises(OptionError, match=r"option augment: jitter: .*'sgima'"):
        build_augmentation({"jitter": {"sgima": 0.1}})
    with pytest.raises(OptionError, match="must be a mapping"):
        build_augmentation(["symmetry"])
    with pytest.raises(OptionError, match="arguments of 'jitter' must be a mapping"):
        build_augmentation({"jitter": 0.1})


def test_rotation_about_any_axis_is_a_rotation_by_at_most_the_angle() -> None:
    """axis="any": a proper rotation (orthogonal, det 1) whose angle, read back from its trace, is
    within max_angle; the axes drawn cover the sphere (not one fixed axis); against the coordinate
    axes' matrices for a direction along z."""
    s = _sample()
    t = RandomRotation("any", max_angle=0.3)
    axes = []
    for seed in range(20):
        out = t(s, torch.Generator().manual_seed(seed))
        # the rotation, recovered from points on the sphere (least squares)
        rot = torch.linalg.lstsq(s["points"].double(), out["points"].double()).solution.T
        torch.testing.assert_close(rot @ rot.T, torch.eye(3, dtype=torch.float64), atol=1e-5, rtol=0)
        assert float(torch.linalg.det(rot)) == pytest.approx(1.0, abs=1e-5)
        angle = math.acos(max(-1.0, min(1.0, (float(torch.trace(rot)) - 1) / 2)))
        assert angle <= 0.3 + 1e-5
        w, v = torch.linalg.eig(rot)
        axes.append(v[:, (w - 1).abs().argmin()].real)
        torch.testing.assert_close(out["normals"], out["points"], atol=1e-5, rtol=0)  # unit sphere normals
    spread = torch.stack([a * torch.sign(a[a.abs().argmax()]) for a in axes]).std(0)
    assert float(spread.min()) > 0.1  # many directions
    angle = torch.tensor(0.25)
    torch.testing.assert_close(
        transforms._axis_angle_matrix(torch.tensor([0.0, 0.0, 2.0], dtype=torch.float64), 0.25),
        transforms._rotation_matrix("z", angle).double(),
    )
    with pytest.raises(OptionError, match="'any'"):
        RandomRotation("w")
