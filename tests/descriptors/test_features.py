from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import trimesh
from descriptor_helpers import SPHERE_RADIUS, labeleddb, random_rigid, robust_mean_reference

from geolearn.descriptors import canonical_frame, face_feature_names, face_features
from geolearn.descriptors.features import DEFAULT_CONE_ANGLES, DEFAULT_SCALES
from geolearn.descriptors.sdf import cone_sampling
from geolearn.errors import OptionError
from geolearn.mesh import Mesh


def column(result, name: str) -> np.ndarray:
    return result.features[:, result.names.index(name)].astype(np.float64)


def test_shape_and_names(sphere_mesh: Mesh) -> None:
    r = face_features(sphere_mesh)
    c = 2 * len(DEFAULT_CONE_ANGLES) + 10 * len(DEFAULT_SCALES) + 4
    assert r.features.shape == (sphere_mesh.num_faces, c)
    assert r.features.dtype == np.float32
    assert r.names == face_feature_names()
    assert len(set(r.names)) == c
    assert np.isfinite(r.features).all()
    assert r.faces_without_hit.tolist() == [0] * len(DEFAULT_CONE_ANGLES)


def test_sphere_values_are_analytic(sphere_mesh: Mesh) -> None:
    r = face_features(sphere_mesh)
    # a patch holding a fraction p of a sphere's area has chord radius 2R√p: κ·r = 2√p, K·r² = 4p
    for p in DEFAULT_SCALES:
        tag = f"{100 * p:g}%"
        for name in ("k1_r", "k2_r", "mean_curv_r"):
            assert np.median(column(r, f"{name}@{tag}")) == pytest.approx(2 * math.sqrt(p), rel=0.1)
        assert np.median(column(r, f"gauss_curv_r2@{tag}")) == pytest.approx(4 * p, rel=0.2)
        assert np.median(column(r, f"pca_l3@{tag}")) < 0.02  # a patch of a sphere is nearly flat
    # the RMS radius of a sphere is R; faces sit at distance ~R from the centre
    np.testing.assert_allclose(column(r, "pos_radius"), 1.0, atol=5e-3)
    s = cone_sampling(96, 150.0)
    for a in DEFAULT_CONE_ANGLES:  # the cone's rays are the spiral's first ones inside it
        m = int(np.sum(s.theta <= math.radians(a) / 2))
        want = robust_mean_reference((2 * np.cos(s.theta[:m])).tolist(), s.theta[:m].tolist())
        assert np.median(column(r, f"sdf{a:g}")) == pytest.approx(want, rel=0.01)  # SDF / R


def test_cylinder_curvature_is_anisotropic() -> None:
    c = trimesh.creation.cylinder(radius=1.0, height=6.0, sections=96)
    for _ in range(3):
        c = c.subdivide()
    mesh = Mesh(c.vertices, c.faces)
    r = face_features(mesh, scales=(0.005,))
    cent, n = mesh.face_centroids, mesh.face_normals
    side = (np.abs(n[:, 2]) < 1e-6) & (np.abs(cent[:, 2]) < 2.0)
    k1, k2 = column(r, "k1_r@0.5%")[side], column(r, "k2_r@0.5%")[side]
    gauss = column(r, "gauss_curv_r2@0.5%")[side]
    assert np.median(k1) > 0.1  # curved around the axis (convex: positive)
    assert np.median(np.abs(k2)) < 0.1 * np.median(k1)  # straight along it
    assert np.median(np.abs(gauss)) < 0.1 * np.median(k1) ** 2


def test_canonical_frame_is_invariant_and_exact(sphere_mesh: Mesh) -> None:
    box = trimesh.creation.box((3.0, 2.0, 1.0))
    f = canonical_frame(Mesh(box.vertices, box.faces))
    np.testing.assert_allclose(np.abs(f.axes), np.eye(3), atol=1e-12)  # axes by decreasing extent
    # RMS distance of the surface of a 3x2x1 box from its centre, from exact moments
    areas = {0: 2 * 1, 1: 3 * 1, 2: 3 * 2}  # face pairs normal to x, y, z
    half = (1.5, 1.0, 0.5)
    second = 0.0
    for axis, area in areas.items():  # Σ over the two faces of ∫ |x|² dA
        others = [i for i in range(3) if i != axis]
        second += 2 * area * (half[axis] ** 2 + sum((2 * half[i]) ** 2 / 12 for i in others))
    assert f.scale == pytest.approx(math.sqrt(second / sum(2 * a for a in areas.values())))
    assert np.linalg.det(f.axes) == pytest.approx(1.0)


def test_features_are_invariant_to_pose_and_scale(labeleddb_zip: Path) -> None:
    mesh = labeleddb(labeleddb_zip, "Human/9")
    rot, shift = random_rigid(np.random.default_rng(2))
    moved = mesh.replace(vertices=3.0 * mesh.vertices @ rot.T + shift)
    a, b = face_features(mesh, seed=1), face_features(moved, seed=1)
    sdf = [i for i, n in enumerate(a.names) if n.startswith("sdf")]
    rest = [i for i in range(len(a.names)) if i not in sdf]
    # same samples, moved: curvature, PCA and position agree to float precision
    np.testing.assert_allclose(a.features[:, rest], b.features[:, rest], atol=2e-3)
    # the SDF rays turn with each face's frame, not with the shape: close, not identical
    for i in sdf:
        x, y = a.features[:, i], b.features[:, i]
        assert np.corrcoef(x, y)[0, 1] > 0.97, a.names[i]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"scales": (0.0,)}, "scales"), ({"neighbours": 5}, "neighbours"), ({"cone_angles": ()}, "cone_angles")],
)
def test_invalid_options(sphere_mesh: Mesh, kwargs: dict, match: str) -> None:
    with pytest.raises(OptionError, match=match):
        face_features(sphere_mesh, **kwargs)


def test_radius_of_test_sphere_is_what_the_helpers_say(sphere_mesh: Mesh) -> None:
    assert np.linalg.norm(sphere_mesh.vertices, axis=1).max() == pytest.approx(SPHERE_RADIUS)
