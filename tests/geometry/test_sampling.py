"""Surface sampling (geolearn.geometry.sampling): placement, area weighting, uniformity, seeding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from geometry_meshes import sphere

from geolearn.errors import EmptyMeshError, OptionError
from geolearn.geometry.sampling import SurfaceSample, sample_surface
from geolearn.mesh import Mesh


def barycentric(points: np.ndarray, tri: np.ndarray) -> np.ndarray:
    """``(N, 3)`` barycentric coordinates of points in their triangles ``(N, 3, 3)``."""
    a, b, c = tri[:, 0], tri[:, 1], tri[:, 2]
    v0, v1, v2 = b - a, c - a, points - a
    d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
    d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
    den = d00 * d11 - d01 * d01
    v = (d11 * d20 - d01 * d21) / den
    w = (d00 * d21 - d01 * d20) / den
    return np.stack([1 - v - w, v, w], axis=1)


def test_points_lie_on_their_faces():
    mesh = sphere(0.7, subdivisions=2)
    s = sample_surface(mesh, 5000, seed=0)
    assert isinstance(s, SurfaceSample)
    assert s.points.shape == (5000, 3)
    assert s.points.dtype == np.float32
    assert s.normals.dtype == np.float32
    assert s.face.dtype == np.int64
    tri = mesh.triangles[s.face]
    bary = barycentric(s.points.astype(np.float64), tri)
    assert bary.min() > -1e-5
    np.testing.assert_allclose(bary.sum(1), 1.0)
    # in the face's plane
    off = np.einsum("nc,nc->n", s.points - tri[:, 0], mesh.face_normals[s.face])
    assert np.abs(off).max() < 1e-6
    np.testing.assert_allclose(s.normals, mesh.face_normals[s.face].astype(np.float32))


def reference_sample(mesh: Mesh, n: int, seed: int) -> np.ndarray:
    """Slow reference with the documented draw order: n face uniforms, n r1, n r2."""
    rng = np.random.default_rng(seed)
    u, r1, r2 = rng.random(n), rng.random(n), rng.random(n)
    areas = mesh.face_areas.tolist()
    total = sum(areas)
    out = []
    for k in range(n):
        target, acc, face = u[k] * total, 0.0, len(areas) - 1
        for f, a in enumerate(areas):
            acc += a
            if target < acc:
                face = f
                break
        a, b, c = mesh.triangles[face]
        s = np.sqrt(r1[k])
        out.append((1 - s) * a + s * (1 - r2[k]) * b + s * r2[k] * c)
    return np.asarray(out)


def test_matches_reference():
    mesh = sphere(0.5, subdivisions=1)
    s = sample_surface(mesh, 300, seed=11)
    np.testing.assert_allclose(s.points, reference_sample(mesh, 300, 11), atol=1e-6)


def test_faces_drawn_by_area():
    # two separate triangles with areas 0.5 and 1.5, plus a degenerate one that is never drawn
    v = [[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 0, 0], [8, 0, 0], [5, 1, 0], [9, 9, 9], [9, 9, 9]]
    mesh = Mesh(np.asarray(v, float), [[0, 1, 2], [3, 4, 5], [6, 7, 7]])
    n = 40000
    s = sample_surface(mesh, n, seed=1)
    assert not (s.face == 2).any()
    frac = (s.face == 1).mean()
    assert abs(frac - 0.75) < 5 * np.sqrt(0.75 * 0.25 / n)


def test_uniform_inside_a_triangle():
    mesh = Mesh(np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]), [[0, 1, 2]])
    n = 40000
    p = sample_surface(mesh, n, seed=2).points[:, :2].astype(np.float64)
    # the 4 triangles cut by the edge midpoints have equal areas
    x, y = p[:, 0], p[:, 1]
    part = np.select([x > 0.5, y > 0.5, x + y < 0.5], [0, 1, 2], default=3)
    frac = np.bincount(part, minlength=4) / n
    assert np.abs(frac - 0.25).max() < 5 * np.sqrt(0.25 * 0.75 / n)
    # mean at the centroid; the variance of x over the triangle is 1/18
    np.testing.assert_allclose(p.mean(0), [1 / 3, 1 / 3], atol=5 * np.sqrt(1 / 18 / n))


def test_seeding():
    mesh = sphere(0.5, subdivisions=1)
    a = sample_surface(mesh, 100, seed=3)
    b = sample_surface(mesh, 100, seed=3)
    c = sample_surface(mesh, 100, seed=4)
    np.testing.assert_array_equal(a.points, b.points)
    assert not np.array_equal(a.points, c.points)
    np.testing.assert_array_equal(sample_surface(mesh, 100, np.random.default_rng(3)).points, a.points)
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    np.testing.assert_array_equal(sample_surface(mesh, 50, g1).points, sample_surface(mesh, 50, g2).points)


def test_errors():
    mesh = sphere(0.5, subdivisions=1)
    with pytest.raises(OptionError, match="num_points"):
        sample_surface(mesh, 0, seed=0)
    flat = Mesh(np.array([[0.0, 0, 0], [1, 1, 1], [2, 2, 2]]), [[0, 1, 2]])  # collinear: zero area
    with pytest.raises(EmptyMeshError, match="area"):
        sample_surface(flat, 10, seed=0)
    with pytest.raises(OptionError, match="seed"):
        sample_surface(mesh, 10, seed=1.5)
