from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from descriptor_helpers import SPHERE_RADIUS, random_rigid, slow_shape_samples, sphere

from geolearn.descriptors import (
    KINDS,
    l1_distance,
    nearest_neighbours,
    pairwise_l1,
    shape_distribution,
    shape_distributions,
)
from geolearn.descriptors.distributions import DEFAULT_BINS, shape_function
from geolearn.errors import OptionError
from geolearn.mesh import Mesh

R = SPHERE_RADIUS


def test_d2_on_a_sphere_matches_the_analytic_density(sphere_mesh: Mesh, device: torch.device) -> None:
    # p(d) = d / (2R²) on [0, 2R]  →  P(bin [a, b)) = (b² − a²) / (4R²)
    r = shape_distribution(sphere_mesh, "d2", scale="none", device=device)
    assert r.bin_edges[0] == 0.0
    assert r.bin_edges[-1] == pytest.approx(2 * R, rel=1e-6)  # the ball radius of a sphere is R
    a, b = r.bin_edges[:-1], r.bin_edges[1:]
    expected = (b**2 - a**2) / (4 * R**2)
    assert np.abs(r.histogram - expected).sum() < 0.02
    assert r.clipped == 0.0


def test_d2_mean_scaled_on_a_sphere(sphere_mesh: Mesh) -> None:
    # mean chord 4R/3: d / mean has density on [0, 1.5]; edges are [0, 3] (unitless)
    r = shape_distribution(sphere_mesh, "d2", scale="mean")
    assert r.scale_factor == pytest.approx(4 * R / 3, rel=2e-3)
    a, b = np.minimum(r.bin_edges[:-1], 1.5), np.minimum(r.bin_edges[1:], 1.5)
    expected = ((b * 4 * R / 3) ** 2 - (a * 4 * R / 3) ** 2) / (4 * R**2)
    assert np.abs(r.histogram - expected).sum() < 0.02


def test_d1_on_a_sphere_is_a_spike_at_the_radius(sphere_mesh: Mesh) -> None:
    # 63 bins on [0, 2R]: R lies in the middle of bin 31
    r = shape_distribution(sphere_mesh, "d1", scale="none", bins=63, value_range=(0.0, 2 * R))
    assert r.histogram[31] > 0.999
    r = shape_distribution(sphere_mesh, "d1", scale="mean")
    assert r.scale_factor == pytest.approx(R, rel=2e-3)
    assert r.histogram[int(1.0 / 3.0 * DEFAULT_BINS)] > 0.999  # D1 / mean = 1


@pytest.mark.parametrize("kind", KINDS)
def test_histogram_matches_a_slow_obvious_reference(kind: str) -> None:
    # a small, irregular mesh: a box with one corner pulled out (12 faces)
    import trimesh

    box = trimesh.creation.box((1.0, 0.6, 0.3))
    v = box.vertices.copy()
    v[0] += (0.4, -0.2, 0.1)
    mesh = Mesh(v, box.faces)
    bins, n_ref = 24, 80_000
    ours = shape_distribution(mesh, kind, bins=bins, scale="none", seed=3)
    ref_values = slow_shape_samples(mesh, kind, n_ref, seed=11)
    ref, _ = np.histogram(np.clip(ref_values, ours.bin_edges[0], ours.bin_edges[-1]), bins=ours.bin_edges)
    # Monte Carlo noise: E|L1| ≈ sqrt(4B/(πN)) ≈ 0.020 for the reference; a wrong constant
    # (e.g. no 1/2 in D3's area, the wrong root in D4) moves the histogram by far more
    assert np.abs(ours.histogram - ref / n_ref).sum() < 0.045


@pytest.mark.parametrize("kind", KINDS)
def test_shape_function_on_explicit_tuples(kind: str) -> None:
    k = {"d1": 1, "d2": 2, "a3": 3, "d3": 3, "d4": 4}[kind]
    pts = torch.randn(50, k, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    got = shape_function(kind, pts).numpy()
    p = pts.numpy()
    if kind == "d1":
        want = np.linalg.norm(p[:, 0], axis=1)
    elif kind == "d2":
        want = np.linalg.norm(p[:, 1] - p[:, 0], axis=1)
    elif kind == "a3":
        u, w = p[:, 0] - p[:, 1], p[:, 2] - p[:, 1]
        want = np.arccos((u * w).sum(1) / np.linalg.norm(u, axis=1) / np.linalg.norm(w, axis=1))
    elif kind == "d3":
        want = np.sqrt(0.5 * np.linalg.norm(np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]), axis=1))
    else:
        want = np.cbrt(np.abs(np.linalg.det(p[:, 1:] - p[:, :1])) / 6.0)
    np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("kind", KINDS)
def test_two_seeds_agree_at_the_defaults_on_modelnet(modelnet_chair: Mesh, kind: str) -> None:
    h0 = shape_distribution(modelnet_chair, kind, seed=0).histogram
    h1 = shape_distribution(modelnet_chair, kind, seed=1).histogram
    assert 0.0 < np.abs(h0 - h1).sum() < 0.02


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("scale", ["none", "mean", "max"])
def test_rotation_translation_invariance(modelnet_chair: Mesh, kind: str, scale: str) -> None:
    rot, shift = random_rigid(np.random.default_rng(7))
    moved = modelnet_chair.replace(vertices=modelnet_chair.vertices @ rot.T + shift)
    a = shape_distribution(modelnet_chair, kind, scale=scale, samples=2**16, seed=5)
    b = shape_distribution(moved, kind, scale=scale, samples=2**16, seed=5)
    np.testing.assert_allclose(a.bin_edges, b.bin_edges, rtol=1e-5, atol=1e-9)
    # the same variates give the same surface points, moved: only float rounding at bin edges differs
    assert np.abs(a.histogram - b.histogram).sum() < 2e-3


@pytest.mark.parametrize("kind", ["d1", "d2", "d3", "d4"])
def test_scale_options(modelnet_chair: Mesh, kind: str) -> None:
    big = modelnet_chair.replace(vertices=modelnet_chair.vertices * 3.7)
    for scale in ("mean", "max"):  # scale invariant, unitless edges
        a = shape_distribution(modelnet_chair, kind, scale=scale, samples=2**16)
        b = shape_distribution(big, kind, scale=scale, samples=2**16)
        np.testing.assert_allclose(a.bin_edges, b.bin_edges)
        assert np.abs(a.histogram - b.histogram).sum() < 2e-3
        assert b.scale_factor == pytest.approx(3.7 * a.scale_factor, rel=1e-5)
    a = shape_distribution(modelnet_chair, kind, scale="none", samples=2**16)
    b = shape_distribution(big, kind, scale="none", samples=2**16)
    np.testing.assert_allclose(b.bin_edges, 3.7 * a.bin_edges, rtol=1e-5)  # mesh units
    assert np.abs(a.histogram - b.histogram).sum() < 2e-3
    m = shape_distribution(modelnet_chair, kind, scale="max", samples=2**16)
    assert m.bin_edges[-1] == 1.0
    assert m.histogram[-1] > 0


def test_a3_ignores_scale_and_uses_radians(modelnet_chair: Mesh) -> None:
    r = shape_distribution(modelnet_chair, "a3", scale="mean", samples=2**16)
    assert r.scale == "none"
    assert r.scale_factor == 1.0
    assert r.bin_edges[-1] == pytest.approx(math.pi)


def test_histograms_are_normalised_and_report_clipping(sphere_mesh: Mesh) -> None:
    r = shape_distribution(sphere_mesh, "d2", scale="none", bins=10, samples=10_000, value_range=(1.0, 2.0))
    assert r.histogram.shape == (10,)
    assert r.bin_edges.shape == (11,)
    assert r.histogram.sum() == pytest.approx(1.0)
    # on a sphere P(d < a) = a² / (4R²): P(d < 1) + P(d > 2) of the samples fall outside
    below, above = 1 / (4 * R**2), 1 - 4 / (4 * R**2)
    assert r.clipped == pytest.approx(below + above, abs=0.02)
    assert r.histogram[0] >= below - 0.02
    assert r.histogram[-1] >= above - 0.02


def test_batch_equals_single_and_runs_on_the_device(modelnet_chair: Mesh, device: torch.device) -> None:
    meshes = [sphere(2), modelnet_chair, sphere(3, radius=0.3)]
    batch = shape_distributions(
        meshes, "d2", samples=2**15, seed=4, device=device, max_values_per_chunk=2**16
    )
    assert batch.histograms.shape == (3, DEFAULT_BINS)
    assert batch.histograms.device.type == device.type
    for i, m in enumerate(meshes):
        single = shape_distribution(m, "d2", samples=2**15, seed=4, device=device)
        np.testing.assert_allclose(batch.item(i).histogram, single.histogram, atol=1e-7)


def test_seeded_and_reproducible(modelnet_chair: Mesh) -> None:
    a = shape_distribution(modelnet_chair, "d3", samples=2**14, seed=9).histogram
    b = shape_distribution(modelnet_chair, "d3", samples=2**14, seed=9).histogram
    c = shape_distribution(modelnet_chair, "d3", samples=2**14, seed=10).histogram
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_tiny_sample_counts_still_make_distinct_tuples(sphere_mesh: Mesh) -> None:
    for kind in KINDS:
        r = shape_distribution(sphere_mesh, kind, samples=5, bins=4)
        assert r.histogram.sum() == pytest.approx(1.0)
    r = shape_distribution(sphere_mesh, "d2", samples=7, bins=4, scale="none")
    assert r.histogram[0] < 1.0  # no tuple paired a point with itself (distance 0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"kind": "d5"}, "unknown shape distribution"),
        ({"bins": 0}, "bins"),
        ({"samples": -1}, "samples"),
        ({"scale": "median"}, "scale"),
        ({"value_range": (2.0, 1.0)}, "value_range"),
    ],
)
def test_invalid_options(sphere_mesh: Mesh, kwargs: dict, match: str) -> None:
    with pytest.raises(OptionError, match=match):
        shape_distribution(sphere_mesh, **kwargs)


# -- comparing distributions ---------------------------------------------------------------------------
def test_l1_distances_match_numpy() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.random((4, 8)), rng.random((6, 8))
    want = np.abs(a[:, None] - b[None]).sum(-1)
    np.testing.assert_allclose(pairwise_l1(a, b), want, rtol=1e-12)
    np.testing.assert_allclose(
        pairwise_l1(torch.from_numpy(a), torch.from_numpy(b)).numpy(), want, rtol=1e-12
    )
    np.testing.assert_allclose(l1_distance(a[0], b[0]), want[0, 0])
    nn = nearest_neighbours(a, b, k=2)
    np.testing.assert_array_equal(nn.index, np.argsort(want, axis=1, kind="stable")[:, :2])
    with pytest.raises(OptionError):
        nearest_neighbours(a, b, k=7)


def test_retrieval_finds_the_same_shape_under_a_new_seed_and_pose(modelnet_chair: Mesh) -> None:
    import trimesh

    shapes = [
        modelnet_chair,
        sphere(3),
        Mesh(*(lambda m: (m.vertices, m.faces))(trimesh.creation.box((1.0, 0.2, 0.2)))),
        Mesh(*(lambda m: (m.vertices, m.faces))(trimesh.creation.cylinder(0.5, 0.1, sections=32))),
        Mesh(*(lambda m: (m.vertices, m.faces))(trimesh.creation.torus(1.0, 0.3))),
    ]
    rot, shift = random_rigid(np.random.default_rng(3))
    queries = [m.replace(vertices=m.vertices @ rot.T + shift) for m in shapes]
    db = shape_distributions(shapes, "d2", samples=2**17, seed=0).histograms
    q = shape_distributions(queries, "d2", samples=2**17, seed=1).histograms
    nn = nearest_neighbours(q, db, k=1)
    assert nn.index[:, 0].tolist() == list(range(len(shapes)))
