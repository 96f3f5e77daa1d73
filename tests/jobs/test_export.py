"""``geolearn.io.export``: PLY files with a colour and a label per face, read back by trimesh and by
geolearn's own loader; bad inputs raise OptionError."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from geolearn.errors import OptionError
from geolearn.io import load_mesh
from geolearn.io.export import write_ply, write_segmentation_ply
from geolearn.mesh import Mesh
from geolearn.viz.plots import part_palette


@pytest.fixture
def mesh() -> Mesh:
    t = trimesh.creation.icosphere(1)
    return Mesh(np.asarray(t.vertices) * 3.0 + 1.0, np.asarray(t.faces), source="ico")


@pytest.mark.parametrize("ascii", [False, True])
def test_round_trip_with_colours_and_labels(mesh, tmp_path, ascii):
    f = len(mesh.faces)
    labels = np.arange(f) % 3
    colors = np.stack([labels * 100, 255 - labels * 50, np.full(f, 7)], axis=1).astype(np.uint8)
    path = write_ply(
        mesh, tmp_path / "m.ply", face_colors=colors, face_labels=labels, comments=["hello"], ascii=ascii
    )
    back = load_mesh(path)
    np.testing.assert_array_equal(back.faces, mesh.faces)
    np.testing.assert_allclose(back.vertices, mesh.vertices, rtol=1e-6)  # float32 on disk
    t = trimesh.load(path, process=False)
    np.testing.assert_array_equal(t.visual.face_colors[:, :3], colors)
    header = path.read_bytes().split(b"end_header")[0].decode()
    assert "comment hello" in header and "property int label" in header
    assert ("format ascii 1.0" in header) == ascii


def test_plain_mesh_has_no_face_properties(mesh, tmp_path):
    path = write_ply(mesh, tmp_path / "plain.ply")
    header = path.read_bytes().split(b"end_header")[0].decode()
    assert "red" not in header and "label" not in header
    assert path.stat().st_size == len(header) + len("end_header\n") + 12 * len(mesh.vertices) + 13 * len(
        mesh.faces
    )
    np.testing.assert_array_equal(load_mesh(path).faces, mesh.faces)


def test_segmentation_ply_uses_the_part_palette(mesh, tmp_path):
    labels = (mesh.face_centroids[:, 2] > 1.0).astype(np.int64)
    path = write_segmentation_ply(mesh, labels, ["bottom", "top part"], tmp_path / "seg.ply")
    t = trimesh.load(path, process=False)
    expected = np.round(part_palette(2) * 255).astype(np.uint8)[labels]
    np.testing.assert_array_equal(t.visual.face_colors[:, :3], expected)
    header = path.read_bytes().split(b"end_header")[0].decode()
    assert "comment label 0 bottom" in header and "comment label 1 top part" in header


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"face_colors": np.zeros((2, 3))}, "face_colors must have shape"),
        ({"face_colors": "FACES"}, "face_colors must have shape"),
        ({"face_labels": np.zeros(3)}, "face_labels must be"),
        ({"comments": ["two\nlines"]}, "single lines"),
    ],
)
def test_bad_inputs(mesh, tmp_path, kwargs, message):
    with pytest.raises(OptionError, match=message):
        write_ply(mesh, tmp_path / "x.ply", **kwargs)


def test_bad_names_and_suffix(mesh, tmp_path):
    with pytest.raises(OptionError, match=r"\.ply"):
        write_ply(mesh, tmp_path / "x.obj")
    with pytest.raises(OptionError, match=r"in \[0, 1\)"):
        write_segmentation_ply(mesh, np.ones(len(mesh.faces), dtype=np.int64), ["only"], tmp_path / "x.ply")
    with pytest.raises(OptionError, match="float face_colors"):
        write_ply(mesh, tmp_path / "x.ply", face_colors=np.full((len(mesh.faces), 3), 2.0))
