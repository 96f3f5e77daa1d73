"""Multi-view rendering against the analytic sphere and visibility facts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from geometry_meshes import box, modelnet_mesh, sphere

from geolearn.errors import OptionError
from geolearn.geometry.cameras import camera_positions
from geolearn.geometry.render import Views, fit_fov, render_views, view_rays
from geolearn.mesh import Mesh

RADIUS = 0.8


@pytest.fixture(scope="module")
def ball() -> Mesh:
    return sphere(RADIUS, subdivisions=5)  # 20480 faces, outward normals


def analytic_sphere(eye: np.ndarray, dirs: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance along each ray to a sphere of radius r at the origin (inf on a miss), and |n·d|."""
    b = np.einsum("...c,c->...", dirs, eye)  # e·d
    disc = b * b - (eye @ eye - r * r)
    t = np.where(disc > 0, -b - np.sqrt(np.maximum(disc, 0)), np.inf)
    p = eye + np.where(np.isfinite(t), t, 0)[..., None] * dirs
    shade = np.where(np.isfinite(t), np.abs(np.einsum("...c,...c->...", p / r, dirs)), 0.0)
    return t, shade


@pytest.mark.parametrize(("cameras", "v"), [("ring", 12), ("dodecahedron", 20), ("sphere", 5)])
def test_sphere_matches_analytic(ball, cameras, v):
    size, distance = 65, 2.5
    views = render_views(ball, cameras=cameras, num_views=v, size=size, distance=distance)
    assert isinstance(views, Views)
    assert views.depth.shape == views.shading.shape == views.face_id.shape == (v, size, size)
    assert views.depth.dtype == views.shading.dtype == np.float32
    assert views.face_id.dtype == np.int64
    assert views.eye.shape == (v, 3)
    fov = fit_fov(distance)
    # silhouette: a disc of radius tan(asin(r / D)) in the image plane at focal length 1
    rho = math.tan(math.asin(RADIUS / distance)) / math.tan(math.radians(fov) / 2) * size / 2
    counts = views.mask.sum(axis=(1, 2))
    assert np.all(np.abs(counts - math.pi * rho**2) < 0.02 * math.pi * rho**2)
    # the centre pixel looks straight at the centre of the sphere
    np.testing.assert_allclose(views.depth[:, size // 2, size // 2], distance - RADIUS, atol=1e-3)
    # per pixel: depth and shading follow the analytic sphere wherever the ray is not grazing
    dirs = view_rays(views.eye, size, fov)
    for i in range(v):
        t, shade = analytic_sphere(views.eye[i], dirs[i], RADIUS)
        frontal = shade > 0.3
        assert views.mask[i][frontal].all()
        np.testing.assert_allclose(views.depth[i][frontal], t[frontal], atol=2e-3)
        np.testing.assert_allclose(views.shading[i][frontal], shade[frontal], atol=0.03)
    # background: face -1, depth 0, shading 0
    bg = ~views.mask
    assert bg.any()
    assert (views.depth[bg] == 0).all()
    assert (views.shading[bg] == 0).all()
    assert (views.depth[views.mask] > 0).all()
    assert ((views.shading >= 0) & (views.shading <= 1)).all()


def test_hit_faces_face_the_camera(ball):
    views = render_views(ball, cameras="sphere", num_views=6, size=48)
    normals, centroids = ball.face_normals, ball.face_centroids
    for i in range(6):
        f = views.face_id[i][views.mask[i]]
        assert (f >= 0).all()
        assert (f < ball.num_faces).all()
        facing = np.einsum("fc,fc->f", normals[f], views.eye[i] - centroids[f])
        assert (facing > 0).all()


@pytest.mark.parametrize("cameras", ["ring", "dodecahedron", "sphere"])
def test_unit_sphere_fits_every_view(cameras):
    unit = sphere(1.0, subdivisions=3)
    v = 20 if cameras == "dodecahedron" else 8
    views = render_views(unit, cameras=cameras, num_views=v, size=40)
    border = np.concatenate(
        [views.face_id[:, 0], views.face_id[:, -1], views.face_id[:, :, 0], views.face_id[:, :, -1]], axis=1
    )
    assert (border == -1).all()
    assert views.mask.mean() > 0.5


def asymmetric_mesh() -> Mesh:
    a, b = box(0.5), box(0.12, center=(0.3, 0.2, 0.45))
    v = np.concatenate([a.vertices * [0.9, 0.5, 0.3], b.vertices])
    f = np.concatenate([a.faces, b.faces + a.num_vertices])
    return Mesh(v, f)


def test_dodecahedron_views_are_distinct():
    views = render_views(asymmetric_mesh(), cameras="dodecahedron", num_views=20, size=32)
    flat = views.face_id.reshape(20, -1)
    differing = (flat[:, None, :] != flat[None, :, :]).sum(-1) + np.eye(20, dtype=int) * 10**6
    assert differing.min() > 10
    assert len(np.unique(views.eye.round(9), axis=0)) == 20


def test_explicit_cameras_and_image_orientation():
    # the small box sits at +z: seen from the side with +z up, it appears in the top half
    eye = np.array([[3.0, 0.0, 0.0], [0.0, -3.0, 0.0]])
    views = render_views(asymmetric_mesh(), cameras=eye, size=32, fov_deg=60.0)
    np.testing.assert_array_equal(views.eye, eye)
    small = np.arange(12, 24)  # faces of the small box
    for i in range(2):
        rows = np.nonzero(np.isin(views.face_id[i], small))[0]
        assert len(rows)
        assert rows.max() < 16


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": 0}, "size"),
        ({"cameras": "cube"}, "layout"),
        ({"cameras": np.zeros((3, 2))}, "cameras"),
        ({"fov_deg": 190.0}, "fov"),
        ({"distance": 0.9}, "exceed"),
        ({"cameras": "dodecahedron", "num_views": 12}, "20"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(OptionError, match=match):
        render_views(box(0.5), **kwargs)


def test_modelnet_chair_renders(modelnet_zip):
    chair = modelnet_mesh(modelnet_zip, "ModelNet10/chair/train/chair_0001.off")
    views = render_views(chair, size=48)
    coverage = views.mask.mean(axis=(1, 2))
    assert ((coverage > 0.03) & (coverage < 0.6)).all()
    assert (views.face_id.max(axis=(1, 2)) < chair.num_faces).all()
    assert all(len(np.unique(f[f >= 0])) >= 30 for f in views.face_id)
    cams = camera_positions("ring", 12)
    np.testing.assert_allclose(views.eye, cams)
