from __future__ import annotations

import numpy as np
import pytest
import trimesh
from dataset_helpers import primitive

from geolearn.datasets.representations import FaceLabels, Points, Views, Voxels, check_representations
from geolearn.errors import DatasetError, OptionError
from geolearn.mesh import Mesh, normalize


def _box(extents=(2.0, 0.5, 0.5)) -> Mesh:
    m = trimesh.creation.box(extents=extents)
    return Mesh(np.asarray(m.vertices), np.asarray(m.faces), source="box")


def test_points_lie_on_their_faces_with_their_normals() -> None:
    mesh = normalize(_box(), "unit_sphere")
    out = Points(500, seed=0)(mesh)
    assert set(out) == set(Points.keys)
    p, n, f = out["points"], out["normals"], out["point_face"]
    assert p.shape == (500, 3)
    assert p.dtype == np.float32
    assert n.dtype == np.float32
    assert f.dtype == np.int64
    assert f.min() >= 0
    assert f.max() < mesh.num_faces
    # slow reference: distance of each point to the plane of its face is 0, normal = face normal
    tri = mesh.triangles[f]
    fn = mesh.face_normals[f]
    assert np.allclose(np.einsum("ij,ij->i", p - tri[:, 0], fn), 0, atol=1e-6)
    assert np.allclose(n, fn, atol=1e-6)
    # inside the triangle: barycentric coordinates all >= 0
    for i in range(0, 500, 50):
        a, b, c = tri[i]
        area = np.linalg.norm(np.cross(b - a, c - a))
        parts = [np.linalg.norm(np.cross(q - p[i], r - p[i])) for q, r in ((b, c), (c, a), (a, b))]
        assert abs(sum(parts) - area) < 1e-5


def test_points_are_area_weighted() -> None:
    # a box 2 x 0.5 x 0.5: the four long sides hold 4*1.0 of total area 4.5
    mesh = normalize(_box(), "unit_sphere")
    p = Points(20000, seed=1)(mesh)["points"]
    x_extent = np.abs(p[:, 0]).max()
    on_ends = np.isclose(np.abs(p[:, 0]), x_extent, atol=1e-5).mean()
    assert on_ends == pytest.approx(0.5 / 4.5, abs=0.01)


def test_points_deterministic_and_seeded() -> None:
    mesh = normalize(primitive("sphere"), "unit_sphere")
    a, b, c = Points(64, seed=0)(mesh), Points(64, seed=0)(mesh), Points(64, seed=1)(mesh)
    assert np.array_equal(a["points"], b["points"])
    assert not np.array_equal(a["points"], c["points"])
    assert repr(Points(64, seed=1)) == "Points(num_points=64, seed=1)"


def test_voxels_of_a_ball_against_the_analytic_inside() -> None:
    ball = trimesh.creation.icosphere(subdivisions=3, radius=1.0)
    mesh = normalize(Mesh(np.asarray(ball.vertices), np.asarray(ball.faces)), "unit_sphere")
    r = 16
    vox = Voxels(r, "solid")(mesh)["voxels"]
    assert vox.shape == (1, r, r, r)
    assert vox.dtype == np.float32
    assert set(np.unique(vox)) <= {0.0, 1.0}
    h = 2.0 / r
    centres = -1 + h * (np.indices((r, r, r)).transpose(1, 2, 3, 0) + 0.5)  # grid over [-1, 1]^3
    rad = np.linalg.norm(centres, axis=-1)
    assert vox[0][rad < 0.98].all()  # centres inside the ball (the icosphere is within 0.5 %)
    assert not vox[0][rad > 1 + h * np.sqrt(3) / 2].any()  # voxels entirely outside are empty


def test_voxels_axes_follow_xyz() -> None:
    mesh = normalize(_box((2.0, 0.5, 0.25)), "unit_sphere")
    occ = Voxels(16, "surface")(mesh)["voxels"][0]
    extent = [int(np.any(occ, axis=tuple(a for a in range(3) if a != ax)).sum()) for ax in range(3)]
    assert extent[0] > extent[1] > extent[2]
    assert repr(Voxels(8, "surface")) == "Voxels(resolution=8, mode='surface')"


def test_face_labels_arrays() -> None:
    mesh = normalize(primitive("box"), "unit_sphere")
    labelled = mesh.replace(face_labels=np.arange(mesh.num_faces) % 2, label_names=("a", "b"))
    out = FaceLabels()(labelled)
    assert out["face_labels"].dtype == np.int64
    assert out["face_areas"].dtype == np.float32
    assert out["face_centroids"].shape == (mesh.num_faces, 3)
    assert out["face_areas"].sum() == pytest.approx(mesh.face_areas.sum(), rel=1e-6)
    with pytest.raises(DatasetError, match="no per-face labels"):
        FaceLabels()(mesh)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Points(0), "num_points"),
        (lambda: Points(8, seed=-1), "seed"),
        (lambda: Voxels(0), "resolution"),
        (lambda: Voxels(8, "hollow"), "mode"),
    ],
)
def test_bad_parameters(build, match: str) -> None:
    with pytest.raises(OptionError, match=match):
        build()


def test_check_representations_rejects_duplicates_and_non_representations() -> None:
    with pytest.raises(OptionError, match="both produce 'points'"):
        check_representations([Points(8), Points(16)])
    with pytest.raises(OptionError, match="not a representation"):
        check_representations([object()])
    assert len(check_representations([Points(8), Voxels(4)])) == 2


def test_views_of_the_unit_sphere() -> None:
    ball = trimesh.creation.icosphere(subdivisions=3, radius=1.0)
    mesh = normalize(Mesh(np.asarray(ball.vertices), np.asarray(ball.faces)), "unit_sphere")
    out = Views(num_views=4, size=32)(mesh)
    views, face = out["views"], out["view_face"]
    assert views.shape == (4, 2, 32, 32)
    assert views.dtype == np.float32
    assert face.shape == (4, 32, 32)
    assert face.dtype == np.int64
    assert views.min() >= 0.0
    assert views.max() <= 1.0
    bg = face < 0
    assert (views[:, 0][bg] == 0).all()
    assert (views[:, 1][bg] == 0).all()
    assert bg[:, 0, 0].all()
    assert not bg[:, 16, 16].any()
    # the pixels next to the image centre see the point nearest the camera: normalised depth ~1,
    # shading ~1 (surface facing the camera)
    centre = views[:, :, 15:17, 15:17]
    assert np.allclose(centre, 1.0, atol=0.01)
    # the silhouette of the unit sphere fills a disc of radius 1/1.05 of the half image
    assert (~bg).mean() == pytest.approx(np.pi / 4 / 1.05**2, abs=0.03)
    assert repr(Views(4, 32)) == "Views(num_views=4, size=32, cameras='ring')"
