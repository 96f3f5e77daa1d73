"""Validation, repair and normalisation of meshes, on hand-built cases with known answers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import trimesh

from geolearn.errors import EmptyMeshError, FaceIndexError, NonFiniteError, OptionError
from geolearn.mesh import Mesh, check_usable, face_adjacency, normalize, principal_frame, repair


def _box(**kw) -> Mesh:
    b = trimesh.creation.box(extents=(2, 2, 2))
    return Mesh(b.vertices, b.faces, **kw)


def test_clean_box_report() -> None:
    r = _box().report
    assert (r.num_vertices, r.num_faces, r.num_components) == (8, 12, 1)
    assert r.is_watertight and r.is_winding_consistent and r.problems() == []
    assert r.surface_area == pytest.approx(24.0)
    assert r.bounds == ((-1, -1, -1), (1, 1, 1))


def test_report_counts_every_problem() -> None:
    b = _box()
    v = np.vstack([b.vertices, [[5, 5, 5]], b.vertices[:3] + 10])  # 1 unreferenced + a separate triangle
    f = np.vstack(
        [
            b.faces[:-1],  # one face missing -> 3 boundary edges
            b.faces[0][::-1][None],  # duplicate of face 0 with flipped winding
            [[0, 0, 1]],  # degenerate (repeated vertex)
            [[9, 10, 11]],  # second component
        ]
    )
    r = Mesh(v, f).report
    assert r.num_unreferenced_vertices == 1
    assert r.num_duplicate_faces == 1
    assert r.num_degenerate_faces == 1
    assert r.num_components == 2
    assert not r.is_watertight and r.num_boundary_edges > 0
    assert r.num_nonmanifold_edges == 3  # face 0's edges are now used by three faces
    assert len(r.problems()) == 4


def test_flipped_face_breaks_winding_and_repair_fixes_it() -> None:
    b = _box()
    f = b.faces.copy()
    f[3] = f[3][::-1]
    bad = Mesh(b.vertices, f)
    assert bad.report.is_watertight and not bad.report.is_winding_consistent
    fixed = repair(bad)
    assert fixed.report.is_winding_consistent
    # closed components end up outward: positive signed volume
    t = fixed.triangles
    assert np.einsum("ij,ij->i", t[:, 0], np.cross(t[:, 1], t[:, 2])).sum() / 6 == pytest.approx(8.0)
    assert bad.faces[3].tolist() == f[3].tolist()  # the input is never modified


def test_inside_out_mesh_is_turned_outward() -> None:
    b = _box()
    fixed = repair(Mesh(b.vertices, b.faces[:, ::-1]))
    np.testing.assert_allclose(np.sign((fixed.face_normals * fixed.face_centroids).sum(1)), 1)


def test_repair_merges_soup_and_labels_follow_faces() -> None:
    b = _box()
    soup_v = b.vertices[b.faces].reshape(-1, 3)  # 36 vertices, nothing shared
    soup_f = np.arange(36).reshape(12, 3)
    labels = np.arange(12)
    soup = Mesh(
        np.vstack([soup_v, soup_v[:3]]),
        np.vstack([soup_f, [[36, 37, 38]], [[0, 0, 1]]]),  # duplicate after merging + degenerate
        face_labels=np.append(labels, [99, 98]),
        label_names=tuple(str(i) for i in range(100)),
    )
    assert not soup.report.is_watertight
    fixed = repair(soup)
    assert fixed.num_vertices == 8 and fixed.num_faces == 12
    assert fixed.report.is_watertight and fixed.report.problems() == []
    np.testing.assert_array_equal(fixed.face_labels, labels)


@pytest.mark.parametrize("method", ["unit_sphere", "unit_cube"])
def test_normalize(method: str) -> None:
    s = trimesh.creation.icosphere(2)
    m = Mesh(s.vertices * 7.5 + [3, -2, 100], s.faces)
    n = normalize(m, method)
    centre = 0.5 * (n.vertices.min(0) + n.vertices.max(0))
    np.testing.assert_allclose(centre, 0, atol=1e-12)
    if method == "unit_sphere":
        assert np.linalg.norm(n.vertices, axis=1).max() == pytest.approx(1.0)
    else:
        assert (n.vertices.max(0) - n.vertices.min(0)).max() == pytest.approx(1.0)
    assert m.vertices[0, 2] > 50  # input unchanged
    with pytest.raises(OptionError, match="unknown method"):
        normalize(m, "unit_donut")


def _lopsided() -> Mesh:
    """A large box and a small one off to one side: distinct principal variances, non-zero skew."""
    a = trimesh.creation.box(extents=(2.0, 1.0, 0.6))
    b = trimesh.creation.box(extents=(0.3, 0.5, 0.2))
    b.apply_translation((1.2, 0.4, 0.25))
    m = trimesh.util.concatenate([a, b])
    return Mesh(np.asarray(m.vertices), np.asarray(m.faces), source="lopsided")


def _random_pose(seed: int, mirror: bool) -> np.ndarray:
    q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    if (np.linalg.det(q) < 0) != mirror:
        q[:, 0] *= -1
    return q


def test_principal_frame_matches_a_sampled_reference() -> None:
    """The exact triangle moments against 400k points sampled uniformly on the surface."""
    m = _lopsided()
    centre, axes = principal_frame(m)
    pts, _ = trimesh.sample.sample_surface(
        trimesh.Trimesh(m.vertices, m.faces, process=False), 400_000, seed=0
    )
    np.testing.assert_allclose(centre, pts.mean(0), atol=5e-3)
    cov = np.cov((pts - centre).T, bias=True)
    variances = np.einsum("ai,ij,aj->a", axes, cov, axes)
    assert variances[0] > variances[1] > variances[2]
    np.testing.assert_allclose(axes @ cov @ axes.T, np.diag(variances), atol=3e-3)  # diagonalises it
    third = (((pts - centre) @ axes.T) ** 3).mean(0)
    assert np.all(third > 0)
    np.testing.assert_allclose(axes @ axes.T, np.eye(3), atol=1e-12)


@pytest.mark.parametrize("mirror", [False, True])
def test_pca_normalisation_gives_one_pose_whatever_the_input_pose(mirror: bool) -> None:
    m = _lopsided()
    want = normalize(m, "pca")
    for seed in range(3):
        q = _random_pose(seed, mirror)
        faces = m.faces[:, ::-1] if mirror else m.faces  # a mirror image, still outward
        moved = m.replace(
            vertices=(m.vertices @ q.T) * 3.7 + [5.0, -2.0, 9.0], faces=np.ascontiguousarray(faces)
        )
        got = normalize(moved, "pca")
        np.testing.assert_allclose(got.vertices, want.vertices, atol=1e-9)
        # outward normals stay outward: a mirror reverses the winding (positive signed volume)
        tri = got.vertices[got.faces]
        assert np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum() > 0
        np.testing.assert_allclose(got.face_areas, want.face_areas, rtol=1e-9)
    extent = want.vertices.max(0) - want.vertices.min(0)
    assert extent[0] > extent[1] > extent[2]  # the long side on x
    assert np.linalg.norm(want.vertices, axis=1).max() == pytest.approx(1.0)
    with pytest.raises(EmptyMeshError, match="zero area"):
        principal_frame(Mesh([[0, 0, 0], [1, 0, 0], [2, 0, 0]], [[0, 1, 2]]))


def test_check_usable_errors() -> None:
    with pytest.raises(EmptyMeshError):
        check_usable(Mesh(np.zeros((0, 3)), np.zeros((0, 3))))
    with pytest.raises(NonFiniteError, match="vertex 1"):
        check_usable(Mesh([[0, 0, 0], [np.nan, 0, 0], [0, 1, 0]], [[0, 1, 2]]))
    with pytest.raises(FaceIndexError):
        check_usable(Mesh([[0, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 3]]))
    with pytest.raises(OptionError, match="shape"):
        Mesh(np.zeros((3, 2)), [[0, 1, 2]])
    with pytest.raises(OptionError, match="face_labels"):
        Mesh(np.zeros((3, 3)), [[0, 1, 2]], face_labels=[0, 1])


def test_face_adjacency_of_box() -> None:
    adj = face_adjacency(_box().faces, 8)
    assert adj.shape == (12, 12)
    np.testing.assert_array_equal(np.asarray(adj.sum(1)).ravel(), 3)  # every triangle has 3 edge-neighbours


def test_report_against_trimesh_on_real_meshes(modelnet_zip) -> None:
    """Our watertight / winding / component counts agree with trimesh's on real ModelNet meshes."""
    import geolearn

    for member in ["ModelNet10/chair/train/chair_0001.off", "ModelNet10/toilet/test/toilet_0345.off"]:
        m = geolearn.load_mesh(modelnet_zip / member)
        t = m.to_trimesh()
        r = m.report
        assert r.is_watertight == t.is_watertight
        if t.is_watertight:
            assert r.is_winding_consistent == t.is_winding_consistent
        assert r.surface_area == pytest.approx(t.area)


def _pairs_by_hand(faces: np.ndarray) -> set:
    """The slow reference: list the faces of every undirected edge in face order, pair neighbours."""
    around: dict = {}
    for i, f in enumerate(faces):
        for k in range(3):
            e = tuple(sorted((int(f[k]), int(f[(k + 1) % 3]))))
            around.setdefault(e, []).append(i)
    out = set()
    for e, fs in around.items():
        for x, y in itertools.pairwise(fs):
            if x != y:
                out.add((x, y, e, len(fs)))
    return out


def test_edge_face_pairs_against_a_slow_reference() -> None:
    import trimesh

    from geolearn.mesh import edge_face_pairs

    ball = trimesh.creation.icosphere(2)
    faces = np.asarray(ball.faces)
    # a fin on the first face's first edge makes it non-manifold (3 faces), a degenerate face lists
    # edge (5, 5) twice, and a dangling triangle adds border edges
    n = len(ball.vertices)
    u, w = sorted(int(i) for i in faces[0, :2])
    extra = np.array([[u, w, n], [5, 5, 6], [n, n + 1, n + 2]])
    faces = np.vstack([faces, extra])
    a, b, ends, count = edge_face_pairs(faces)
    got = {
        (int(x), int(y), (int(e[0]), int(e[1])), int(c)) for x, y, e, c in zip(a, b, ends, count, strict=True)
    }
    assert got == _pairs_by_hand(faces)
    assert len(got) == len(a)  # no pair twice
    assert (a < b).all()
    fin = [(x, y, c) for x, y, e, c in got if e == (u, w)]
    assert len(fin) == 2 and all(c == 3 for _, _, c in fin)  # a chain of 2 pairs around 3 faces
    assert all(len(faces) - 1 not in (x, y) for x, y, _, _ in got)  # the dangling face meets nothing
    empty = edge_face_pairs(np.zeros((0, 3), dtype=np.int64))
    assert all(len(x) == 0 for x in empty)
