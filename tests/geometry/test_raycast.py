"""Batched ray casting (geolearn.geometry.raycast) against a slow Möller–Trumbore reference."""

from __future__ import annotations

import numpy as np
import pytest
from geometry_meshes import box, sphere

from geolearn.geometry.raycast import RayCaster, RayHits
from geolearn.mesh import Mesh


def reference_hits(
    mesh: Mesh, origins: np.ndarray, dirs: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Möller–Trumbore of every ray (a loop) against every triangle: nearest t, its face, number of hits."""
    a, b, c = (mesh.triangles[:, i] for i in range(3))  # (F, 3) each
    e1, e2 = b - a, c - a
    t_best = np.full(len(origins), np.inf)
    face_best = np.full(len(origins), -1)
    count = np.zeros(len(origins), dtype=int)
    for r, (o, d) in enumerate(zip(origins, dirs, strict=True)):
        d = d / np.linalg.norm(d)
        p = np.cross(d, e2)
        det = (e1 * p).sum(1)
        s = o - a
        u = (s * p).sum(1) / det
        q = np.cross(s, e1)
        v = (q @ d) / det
        t = (e2 * q).sum(1) / det
        ok = (np.abs(det) > 1e-12) & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        count[r] = ok.sum()
        if ok.any():
            face_best[r] = np.flatnonzero(ok)[np.argmin(t[ok])]
            t_best[r] = t[face_best[r]]
    return t_best, face_best, count


@pytest.fixture(scope="module")
def rays() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    origins = rng.normal(size=(300, 3))
    origins = 2.5 * origins / np.linalg.norm(origins, axis=1, keepdims=True)
    origins[:60] *= 0.1  # some rays start inside the sphere
    targets = rng.uniform(-0.8, 0.8, size=(300, 3))  # many hit, some miss
    return origins, targets - origins


def test_cast_matches_reference(rays):
    mesh = sphere(0.7, subdivisions=1)
    origins, dirs = rays
    hits = RayCaster(mesh).cast(origins, dirs)
    assert isinstance(hits, RayHits)
    assert hits.t.shape == (300,)
    assert hits.t.dtype == np.float32
    assert hits.face.dtype == np.int64
    assert hits.normal.shape == (300, 3)
    t, face, _ = reference_hits(mesh, origins, dirs)
    assert 50 < np.isfinite(t).sum() < 300
    np.testing.assert_array_equal(hits.face, face)
    np.testing.assert_array_equal(hits.hit, face >= 0)
    np.testing.assert_allclose(hits.t[face >= 0], t[face >= 0], rtol=1e-5)
    assert np.isinf(hits.t[face < 0]).all()
    assert (hits.normal[face < 0] == 0).all()
    # geometric normal by the winding's right-hand rule
    np.testing.assert_allclose(hits.normal[face >= 0], mesh.face_normals[face[face >= 0]], atol=1e-5)


def test_cast_unit_rays_matches_reference(rays):
    mesh = sphere(0.7, subdivisions=1)
    origins, dirs = rays
    unit = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    buf = np.concatenate([origins, unit], axis=1).astype(np.float32)
    t, normal = RayCaster(mesh).cast_unit_rays(buf)
    t_ref, face, _ = reference_hits(mesh, origins, dirs)
    assert t.dtype == np.float32 and t.shape == (300,) and normal.shape == (300, 3)
    np.testing.assert_allclose(t[face >= 0], t_ref[face >= 0], rtol=1e-5)
    assert np.isinf(t[face < 0]).all()
    np.testing.assert_allclose(normal[face >= 0], mesh.face_normals[face[face >= 0]], atol=1e-5)
    from geolearn.errors import OptionError

    with pytest.raises(OptionError, match="C-contiguous float32"):
        RayCaster(mesh).cast_unit_rays(buf.astype(np.float64))
    with pytest.raises(OptionError, match="C-contiguous float32"):
        RayCaster(mesh).cast_unit_rays(np.asfortranarray(buf))


def test_count_matches_reference(rays):
    mesh = sphere(0.7, subdivisions=1)
    origins, dirs = rays
    count = RayCaster(mesh).count_intersections(origins, dirs)
    _, _, expected = reference_hits(mesh, origins, dirs)
    np.testing.assert_array_equal(count, expected)
    assert (count[:60] == 1).all()  # from inside a closed surface: exactly one crossing


def test_analytic_box():
    caster = RayCaster(box(0.5))
    origins = np.array([[0.1, 0.2, 5.0], [0.1, 0.2, 5.0], [3.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    dirs = np.array([[0.0, 0.0, -7.0], [0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # unnormalised
    hits = caster.cast(origins, dirs)
    np.testing.assert_allclose(hits.t, [4.5, np.inf, 2.5, 0.5], rtol=1e-6)
    np.testing.assert_array_equal(hits.face[1], -1)
    np.testing.assert_allclose(np.abs(hits.normal[[0, 2, 3]]), [[0, 0, 1], [1, 0, 0], [0, 1, 0]], atol=1e-6)
    np.testing.assert_array_equal(caster.count_intersections(origins, dirs), [2, 0, 2, 1])
