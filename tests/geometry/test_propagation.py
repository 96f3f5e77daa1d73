"""Label propagation of per-face probabilities (:mod:`geolearn.geometry.propagation`): the face graph
against hand-computed folds and a cube, the smoothing against a slow dense reference and its fixed
point, and on a real labelled mesh."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from geometry_meshes import box, sphere

from geolearn.errors import OptionError
from geolearn.geometry.propagation import FaceGraph, face_graph, smooth_face_probabilities
from geolearn.mesh import Mesh


def _fold(height: float) -> Mesh:
    """Two triangles sharing the edge (0,0,0)–(1,0,0): the first flat in z = 0 (normal +z), the
    second rising to z = ``height`` (a concave valley for height > 0, a convex ridge below 0)."""
    v = np.array([[0, 0, 0], [1, 0, 0], [0.5, 1, 0], [0.5, -1, height]], dtype=np.float64)
    return Mesh(v, np.array([[0, 1, 2], [1, 0, 3]]), source="fold")


@pytest.mark.parametrize("height", [1.0, -1.0, 0.25])
def test_face_graph_of_a_fold(height):
    g = face_graph(_fold(height))
    assert g.num_faces == 2 and g.pairs.tolist() == [[0, 1]]
    assert g.edge_length[0] == pytest.approx(1.0)
    # normals (0,0,1) and (0, h, 1)/|.|: the angle between them is atan(|h|)
    assert g.angle[0] == pytest.approx(math.atan(abs(height)))
    assert bool(g.concave[0]) == (height > 0)


def test_face_graph_of_a_cube_and_its_inside_out_copy():
    cube = box(0.5)
    g = face_graph(cube)
    assert g.num_faces == 12 and len(g.pairs) == 18  # every edge of a closed mesh, once
    flat = np.isclose(g.angle, 0.0, atol=1e-9)
    assert flat.sum() == 6  # the diagonal of each square side
    np.testing.assert_allclose(g.angle[~flat], math.pi / 2)
    np.testing.assert_allclose(np.sort(g.edge_length), [1.0] * 12 + [math.sqrt(2)] * 6)
    assert not g.concave[~flat].any()  # a cube is convex
    inside_out = face_graph(Mesh(cube.vertices, cube.faces[:, ::-1]))
    assert inside_out.concave[~np.isclose(inside_out.angle, 0.0, atol=1e-9)].all()


def _dense_step(graph: FaceGraph, concave_scale: float | None) -> np.ndarray:
    """The row-normalised weight matrix built face pair by face pair (the slow, obvious way)."""
    n = graph.num_faces
    w = np.zeros((n, n))
    for (a, b), length, angle, concave in zip(
        graph.pairs.tolist(), graph.edge_length, graph.angle, graph.concave, strict=True
    ):
        weight = length * (math.exp(-angle / concave_scale) if concave and concave_scale else 1.0)
        w[a, b] += weight
        w[b, a] += weight
    for i in range(n):
        w[i] = w[i] / w[i].sum() if w[i].sum() > 0 else np.eye(n)[i]
    return w


def _random_probabilities(rng: np.random.Generator, f: int, k: int) -> np.ndarray:
    p = rng.random((f, k)) ** 3
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("concave_scale", [None, 0.2])
def test_smoothing_matches_a_dense_reference_and_its_fixed_point(concave_scale):
    rng = np.random.default_rng(0)
    # a mesh with concave and convex creases: a sphere with an inward bump (its faces' winding kept)
    s = sphere(1.0, subdivisions=2)
    v = s.vertices.copy()
    v[np.argmax(v[:, 2])] *= 0.6  # the top vertex pushed in: a concave dimple
    mesh = Mesh(v, s.faces)
    g = face_graph(mesh)
    assert g.concave.any() and not g.concave.all()
    p = _random_probabilities(rng, mesh.num_faces, 4)
    step = _dense_step(g, concave_scale)
    q = p.copy()
    for _ in range(7):
        q = 0.05 * p + 0.95 * step @ q
    got = smooth_face_probabilities(p, g, strength=0.95, concave_scale=concave_scale, iterations=7)
    np.testing.assert_allclose(got, q, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.sum(axis=1), 1.0)
    fixed = 0.2 * np.linalg.solve(np.eye(mesh.num_faces) - 0.8 * step, p)
    far = smooth_face_probabilities(p, g, strength=0.8, concave_scale=concave_scale, iterations=200)
    np.testing.assert_allclose(far, fixed, atol=1e-12)


def test_smoothing_keeps_absent_labels_at_zero_and_strength_zero_changes_nothing():
    rng = np.random.default_rng(1)
    g = face_graph(sphere(1.0, subdivisions=2))
    p = _random_probabilities(rng, g.num_faces, 5)
    p[:, 3] = 0.0  # a part of another category
    p /= p.sum(axis=1, keepdims=True)
    q = smooth_face_probabilities(p, g)
    assert (q[:, 3] == 0).all()
    np.testing.assert_array_equal(smooth_face_probabilities(p, g, strength=0.0), p)


def test_smoothing_corrects_a_lone_wrong_face_and_stops_at_concave_creases():
    g = face_graph(sphere(1.0, subdivisions=3))
    p = np.tile([0.8, 0.2], (g.num_faces, 1))
    p[17] = [0.3, 0.7]  # one face confidently wrong among agreeing neighbours
    assert smooth_face_probabilities(p, g).argmax(axis=1).tolist() == [0] * g.num_faces
    # one sure face among undecided ones: its label spreads less across concave creases
    cube = box(0.5)
    inside_out = Mesh(cube.vertices, cube.faces[:, ::-1])
    p = np.full((12, 2), 0.5)
    p[0] = [1.0, 0.0]
    convex = smooth_face_probabilities(p, face_graph(cube), concave_scale=0.2)
    concave = smooth_face_probabilities(p, face_graph(inside_out), concave_scale=0.2)
    plain = smooth_face_probabilities(p, face_graph(inside_out), concave_scale=None)
    np.testing.assert_allclose(plain, convex)  # without damping, only edge lengths count
    g = face_graph(cube)
    flat = np.isclose(g.angle, 0.0, atol=1e-9)
    partner = {int(b) for a, b in g.pairs[flat] if a == 0} | {int(a) for a, b in g.pairs[flat] if b == 0}
    other_sides = [i for i in range(12) if i != 0 and i not in partner]
    assert len(partner) == 1 and len(other_sides) == 10
    assert (concave[other_sides, 0] < convex[other_sides, 0] - 1e-3).all()


def test_faces_without_neighbours_keep_their_probabilities():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 0, 0], [6, 0, 0], [5, 1, 0]], dtype=float)
    g = face_graph(Mesh(v, np.array([[0, 1, 2], [3, 4, 5]])))
    assert len(g.pairs) == 0
    p = np.array([[0.9, 0.1], [0.2, 0.8]])
    np.testing.assert_array_equal(smooth_face_probabilities(p, g), p)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"probabilities": np.ones((5, 2)) / 2}, "F = 20 faces"),
        ({"probabilities": np.full((20, 2), np.nan)}, "finite and non-negative"),
        ({"probabilities": np.full((20, 2), -0.5)}, "finite and non-negative"),
        ({"strength": 1.0}, "strength must be in [0, 1)"),
        ({"strength": True}, "strength must be in [0, 1)"),
        ({"concave_scale": 0.0}, "concave_scale must be positive"),
        ({"concave_scale": "wide"}, "concave_scale must be positive"),
        ({"strength": "0.5"}, "strength must be in [0, 1)"),
        ({"iterations": 0}, "iterations must be a positive integer"),
        ({"iterations": 2.5}, "iterations must be a positive integer"),
    ],
)
def test_smoothing_rejects_bad_input(kwargs, message):
    g = face_graph(sphere(1.0, subdivisions=0))  # 20 faces
    args = {"probabilities": np.ones((20, 2)) / 2, **kwargs}
    with pytest.raises(OptionError, match=message.replace("[", r"\[").replace(")", r"\)")):
        smooth_face_probabilities(args.pop("probabilities"), g, **args)


def test_smoothing_on_a_real_labelled_mesh(labeleddb_zip: Path, tmp_path: Path):
    """A labeled PSB Human: the true labels survive smoothing (it does not erode parts), and noisy
    per-face probabilities around them are mostly put right."""
    from geolearn.datasets import LabeledPSB

    ds = LabeledPSB(labeleddb_zip, "test", [], category="Human", cache_dir=tmp_path)
    mesh, sample = ds.load_mesh(0), ds[0]
    truth, area = sample["face_labels"].numpy(), sample["face_areas"].numpy().astype(np.float64)
    k = int(truth.max()) + 1
    g = face_graph(mesh)
    assert len(g.pairs) == 3 * mesh.num_faces // 2  # closed and manifold: every edge links two faces

    def accuracy(q: np.ndarray) -> float:
        return float((area * (q.argmax(axis=1) == truth)).sum() / area.sum())

    onehot = np.eye(k)[truth]
    assert accuracy(smooth_face_probabilities(onehot, g)) > 0.99
    rng = np.random.default_rng(0)
    noisy = 0.2 * onehot + 0.8 * _random_probabilities(rng, mesh.num_faces, k)
    before = accuracy(noisy)
    assert 0.3 < before < 0.6  # independent noise on every face: 44 % of the area right
    assert accuracy(smooth_face_probabilities(noisy, g)) > 0.95  # 99.6 % when measured


def test_a_degenerate_face_links_by_edge_length_only():
    v = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [2, 0, 0]], dtype=float)  # face 1 is a segment
    g = face_graph(Mesh(v, np.array([[0, 1, 2], [1, 0, 3]])))
    assert g.pairs.tolist() == [[0, 1]] and g.angle[0] == pytest.approx(math.pi / 2)
    assert not g.concave[0]
    p = np.array([[0.9, 0.1], [0.5, 0.5]])
    q = smooth_face_probabilities(p, g, concave_scale=0.2)
    np.testing.assert_allclose(q, smooth_face_probabilities(p, g, concave_scale=None))
