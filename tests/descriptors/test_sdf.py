from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse
import trimesh
from descriptor_helpers import SPHERE_RADIUS, labeleddb, plate, robust_mean_reference, slow_sdf, sphere
from scipy.stats import spearmanr

from geolearn.descriptors.sdf import (
    cone_sampling,
    face_edge_adjacency,
    face_frames,
    fill_missing,
    normalize_sdf,
    robust_average,
    sdf_multi_cone,
    shape_diameter_function,
    smooth_face_values,
)
from geolearn.errors import MeshError, OptionError
from geolearn.mesh import Mesh, face_adjacency


# -- the cone ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("rays", "angle"), [(30, 120.0), (7, 60.0), (96, 150.0), (1, 180.0)])
def test_cone_sampling_is_uniform_in_solid_angle(rays: int, angle: float) -> None:
    s = cone_sampling(rays, angle)
    half = math.radians(angle) / 2
    assert s.directions.shape == (rays, 3)
    np.testing.assert_allclose(np.linalg.norm(s.directions, axis=1), 1.0)
    np.testing.assert_allclose(np.arccos(s.directions[:, 2]), s.theta, atol=1e-7)
    assert np.all(s.theta > 0)
    assert np.all(s.theta < half)
    assert np.all(np.diff(s.theta) > 0)
    # one ray per ring of equal solid angle: cos θ at the middle of each ring
    cap = 1 - math.cos(half)
    np.testing.assert_allclose(1 - np.cos(s.theta), (np.arange(rays) + 0.5) / rays * cap)
    np.testing.assert_allclose(s.weights, 1 / s.theta)


# -- the robust average ----------------------------------------------------------------------------------
def test_robust_average_matches_a_plain_reference() -> None:
    rng = np.random.default_rng(0)
    lengths = rng.gamma(3.0, 1.0, size=(200, 9))
    lengths[rng.random(lengths.shape) < 0.3] = np.nan
    lengths[0] = np.nan  # no valid ray
    lengths[1, 0], lengths[1, 1:] = 1.3, np.nan  # one
    lengths[2, :2], lengths[2, 2:] = (1.0, 2.0), np.nan  # two: both exactly one std from their median
    lengths[3] = 2.5  # all equal
    theta = np.linspace(0.1, 1.0, 9)
    got = robust_average(lengths, 1 / theta)
    for f in range(len(lengths)):
        ok = np.isfinite(lengths[f])
        assert got.rays_valid[f] == ok.sum()
        if not ok.any():
            assert np.isnan(got.values[f])
            assert got.rays_used[f] == 0
            continue
        want = robust_mean_reference(lengths[f][ok].tolist(), theta[ok].tolist())
        assert got.values[f] == pytest.approx(want, rel=1e-12)
    assert got.rays_used[1] == 1
    assert got.rays_used[2] == 2
    assert got.values[3] == pytest.approx(2.5)


# -- analytic cases ----------------------------------------------------------------------------------------
def test_sphere_sdf_is_constant_and_analytic(sphere_mesh: Mesh) -> None:
    r = shape_diameter_function(sphere_mesh)
    assert r.values.std() / r.values.mean() < 0.02
    assert r.faces_without_hit == 0
    assert r.values.shape == (sphere_mesh.num_faces,)
    # the chord at angle θ to the inward normal is 2R cos θ: the same robust average of those
    s = cone_sampling()
    want = robust_mean_reference((2 * SPHERE_RADIUS * np.cos(s.theta)).tolist(), s.theta.tolist())
    assert r.values.mean() == pytest.approx(want, rel=0.01)  # the facets sit inside the sphere a little


def test_plate_sdf_is_thickness_over_cosine() -> None:
    t = 0.05
    mesh = plate(thickness=t)
    r = shape_diameter_function(mesh)
    c, n = mesh.face_centroids, mesh.face_normals
    # faces of the large sides whose cone (lateral reach t·tan 60°) stays inside the plate
    inner = (np.abs(n[:, 2]) > 0.99) & (np.abs(c[:, :2]).max(axis=1) < 0.5 - 2 * t)
    assert inner.sum() > 50
    s = cone_sampling()
    want = robust_mean_reference((t / np.cos(s.theta)).tolist(), s.theta.tolist())
    np.testing.assert_allclose(r.values[inner], want, rtol=1e-4)


def test_open_mesh_gives_finite_values_and_counts_faces_without_hit() -> None:
    s = sphere(3)
    keep = s.face_centroids[:, 2] < -0.6 * SPHERE_RADIUS  # a shallow dish: rays from its bottom escape
    dish = Mesh(s.vertices, s.faces[keep])
    r = shape_diameter_function(dish)
    assert np.isfinite(r.values).all()
    assert np.isfinite(r.normalized).all()
    assert r.faces_without_hit > 0
    assert r.faces_without_hit == int((r.rays_used == 0).sum())
    valued = r.rays_used > 0
    lo, hi = r.values[valued].min(), r.values[valued].max()
    assert np.all((r.values[~valued] >= lo) & (r.values[~valued] <= hi))  # never a silent zero
    assert r.faces_filled_from_mesh == 0  # one connected dish: every hole borders a valued face


def test_no_valid_hit_anywhere_raises() -> None:
    square = Mesh(
        np.array([[0, 0, 0], [1, 0, 0], [1, 1, 0], [0, 1, 0]], float), np.array([[0, 1, 2], [0, 2, 3]])
    )
    with pytest.raises(MeshError, match="no ray"):
        shape_diameter_function(square)


def test_inward_winding_is_detected(sphere_mesh: Mesh) -> None:
    flipped = sphere_mesh.replace(faces=sphere_mesh.faces[:, ::-1])
    with pytest.raises(MeshError, match="wound inward"):
        shape_diameter_function(flipped)


# -- filling, smoothing, normalising ---------------------------------------------------------------------------
def test_fill_missing_uses_neighbours_then_the_mesh_median() -> None:
    # faces 0-1-2-3 in a chain, 4-5 a separate component without any value
    rows, cols = [0, 1, 2, 4], [1, 2, 3, 5]
    adj = scipy.sparse.coo_matrix((np.ones(4), (rows, cols)), shape=(6, 6))
    adj = (adj + adj.T).tocsr()
    values = np.array([1.0, np.nan, np.nan, 5.0, np.nan, np.nan])
    out = fill_missing(values, adj, np.ones(6))
    np.testing.assert_allclose(out.values[:4], [1.0, 1.0, 5.0, 5.0])
    assert out.from_neighbours == 2
    assert out.from_mesh == 2
    assert out.values[4] == out.values[5]
    assert out.values[4] in (1.0, 5.0)


def test_edge_adjacency_matches_the_mesh_module(sphere_mesh: Mesh) -> None:
    a = face_edge_adjacency(sphere_mesh.faces, sphere_mesh.num_vertices)
    b = face_adjacency(sphere_mesh.faces, sphere_mesh.num_vertices)
    assert (a != (b != 0).astype(float)).nnz == 0


def test_smoothing_keeps_constants_and_reduces_noise(sphere_mesh: Mesh) -> None:
    adj = face_edge_adjacency(sphere_mesh.faces, sphere_mesh.num_vertices)
    areas = sphere_mesh.face_areas
    const = np.full(sphere_mesh.num_faces, 3.0)
    np.testing.assert_allclose(smooth_face_values(const, adj, areas, 5), const)
    noisy = np.random.default_rng(0).normal(size=sphere_mesh.num_faces)
    assert smooth_face_values(noisy, adj, areas, 3).std() < 0.5 * noisy.std()
    r = shape_diameter_function(sphere_mesh, smoothing_iterations=2)
    assert r.values.std() < shape_diameter_function(sphere_mesh).values.std()


def test_normalized_sdf_formula() -> None:
    v = np.array([1.0, 2.0, 3.0, 5.0])
    want = np.log((v - 1.0) / 4.0 * 4.0 + 1.0) / np.log(5.0)
    np.testing.assert_allclose(normalize_sdf(v, 4.0), want)
    np.testing.assert_array_equal(normalize_sdf(np.full(3, 2.0)), np.zeros(3))


def test_histogram_is_area_weighted(sphere_mesh: Mesh) -> None:
    r = shape_diameter_function(sphere_mesh, bins=8)
    assert r.histogram.shape == (8,)
    assert r.bin_edges.shape == (9,)
    assert r.histogram.sum() == pytest.approx(1.0)
    areas = sphere_mesh.face_areas
    want, _ = np.histogram(r.normalized, bins=8, range=(0, 1), weights=areas / areas.sum())
    np.testing.assert_allclose(r.histogram, want)


def test_multi_cone_shares_one_cast_and_matches_single_cones() -> None:
    mesh = plate(thickness=0.1, subdivisions=2)
    multi = sdf_multi_cone(mesh, [60.0, 120.0], rays=64)
    assert multi.values.shape == (mesh.num_faces, 2)
    # the 60° cone uses the rays of the 120° spiral with θ ≤ 30°
    s = cone_sampling(64, 120.0)
    assert multi.rays[1] == 64
    m = multi.rays[0]
    assert np.all(s.theta[:m] <= math.radians(30))
    assert s.theta[m] > math.radians(30)
    single = shape_diameter_function(mesh, rays=64, cone_angle=120.0)
    np.testing.assert_allclose(multi.values[:, 1], single.values)
    # a narrower cone sees shorter slanted chords on the plate
    c, n = mesh.face_centroids, mesh.face_normals
    inner = (np.abs(n[:, 2]) > 0.99) & (np.abs(c[:, :2]).max(axis=1) < 0.5 - 0.2)
    assert np.all(multi.values[inner, 0] < multi.values[inner, 1])


@pytest.mark.parametrize(
    ("kwargs", "match"), [({"rays": 0}, "rays"), ({"cone_angle": 200.0}, "cone_angle"), ({"bins": 0}, "bins")]
)
def test_invalid_options(sphere_mesh: Mesh, kwargs: dict, match: str) -> None:
    with pytest.raises(OptionError, match=match):
        shape_diameter_function(sphere_mesh, **kwargs)


# -- real meshes ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["Cup/37", "Human/9", "Chair/114", "Bust/309"])
def test_matches_a_slow_reference_on_labeleddb(labeleddb_zip: Path, name: str) -> None:
    mesh = labeleddb(labeleddb_zip, name)
    ours = shape_diameter_function(mesh)
    assert ours.values.std() / ours.values.mean() > 0.15  # meshes whose SDF varies
    faces = np.random.default_rng(0).choice(mesh.num_faces, 250, replace=False)
    ref = slow_sdf(mesh, faces, rings=16, azimuths=16)  # 256 rays on a regular grid
    ok = np.isfinite(ref)
    assert ok.mean() > 0.95
    assert spearmanr(ours.values[faces][ok], ref[ok]).statistic >= 0.95


def test_libigl_agrees_on_a_sphere_and_correlates_on_a_body(labeleddb_zip: Path) -> None:
    igl_embree = pytest.importorskip("igl.embree")
    s = sphere(3)
    # libigl averages every hit over the whole hemisphere: mean of 2R cos θ = R
    ours = igl_embree.shape_diameter_function(s.vertices, s.faces, s.face_centroids, s.face_normals, 64)
    assert np.mean(ours) == pytest.approx(SPHERE_RADIUS, rel=0.03)
    mesh = labeleddb(labeleddb_zip, "Human/9")
    theirs = igl_embree.shape_diameter_function(
        mesh.vertices, mesh.faces, mesh.face_centroids, mesh.face_normals, 30
    )
    rho = spearmanr(shape_diameter_function(mesh).values, theirs).statistic
    # different estimators of the same thickness (benchmarks/results/descriptors.md discusses them)
    assert rho > 0.7


def test_cylinder_sdf_follows_the_analytic_chords() -> None:
    # an anisotropic case: a ray from a point P on a cylinder of axis z along d crosses the cross-section
    # circle at t = −2 (P_xy · d_xy) / |d_xy|² with |d_xy|² = 1 − d_z² (a chord stretched along the axis)
    r = 0.25
    c = trimesh.creation.cylinder(radius=r, height=4.0, sections=128)
    for _ in range(3):
        c = c.subdivide()
    mesh = Mesh(c.vertices, c.faces)
    got = shape_diameter_function(mesh)
    cent, n = mesh.face_centroids, mesh.face_normals
    side = (np.abs(n[:, 2]) < 1e-6) & (np.abs(cent[:, 2]) < 1.0)  # far from the caps (reach < 0.9)
    assert side.sum() > 1000
    s = cone_sampling()
    frames = face_frames(n[side])  # the documented per-face frame (t1, t2, inward normal)
    dirs = np.einsum("kc,fcd->fkd", s.directions, frames)  # (f, K, 3)
    p_xy = cent[side, None, :2]  # the centroids, on the circle through them (facets: 128-gon)
    chords = -2 * (p_xy * dirs[..., :2]).sum(-1) / (1 - dirs[..., 2] ** 2)
    want = [robust_mean_reference(row.tolist(), s.theta.tolist()) for row in chords]
    np.testing.assert_allclose(got.values[side], want, rtol=2e-3)
    spread = np.ptp(got.values[side]) / got.values[side].mean()
    assert spread > 0.005  # the twist of each face's frame matters, and was reproduced to 0.2%
