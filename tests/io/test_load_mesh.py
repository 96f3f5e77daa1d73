"""Reading meshes: every format, zip members, and every kind of bad input the issue lists."""

from __future__ import annotations

import json
import struct
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import trimesh

import geolearn
from geolearn.cli import main
from geolearn.errors import (
    EmptyMeshError,
    FaceIndexError,
    GeolearnError,
    MeshFileNotFoundError,
    MeshParseError,
    NonFiniteError,
    TriangulationError,
    UnsupportedFormatError,
)

TETRA_OFF = b"""OFF
# a tetrahedron
4 4 0
0 0 0
1 0 0
0 1 0
0 0 1
3 0 2 1
3 0 1 3
3 0 3 2
3 1 2 3
"""


def _write(tmp_path: Path, name: str, data: bytes | str) -> Path:
    p = tmp_path / name
    p.write_bytes(data.encode() if isinstance(data, str) else data)
    return p


def test_off_tetrahedron(tmp_path: Path) -> None:
    mesh = geolearn.load_mesh(_write(tmp_path, "t.off", TETRA_OFF))
    assert mesh.vertices.shape == (4, 3) and mesh.vertices.dtype == np.float64
    assert mesh.faces.shape == (4, 3) and mesh.faces.dtype == np.int64
    r = mesh.report
    assert r.is_watertight and r.is_winding_consistent and r.num_components == 1
    assert r.problems() == []
    assert r.surface_area == pytest.approx(1.5 + np.sqrt(3) / 2)


def test_modelnet_header_quirk(tmp_path: Path) -> None:
    quirky = TETRA_OFF.replace(b"OFF\n# a tetrahedron\n4 4 0\n", b"OFF4 4 0\n")
    mesh = geolearn.load_mesh(_write(tmp_path, "q.off", quirky))
    assert mesh.num_vertices == 4 and mesh.num_faces == 4


def test_off_polygons_are_fan_triangulated(tmp_path: Path) -> None:
    quad = b"OFF\n4 1 0\n0 0 0\n1 0 0\n1 1 0\n0 1 0\n4 0 1 2 3\n"
    mesh = geolearn.load_mesh(_write(tmp_path, "quad.off", quad))
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [0, 2, 3]])
    assert mesh.report.surface_area == pytest.approx(1.0)


def test_off_with_colours(tmp_path: Path) -> None:
    coloured = b"COFF\n3 1 0\n0 0 0 255 0 0 255\n1 0 0 0 255 0 255\n0 1 0 0 0 255 255\n3 0 1 2 10 20 30\n"
    mesh = geolearn.load_mesh(_write(tmp_path, "c.off", coloured))
    np.testing.assert_array_equal(mesh.vertices, [[0, 0, 0], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2]])


@pytest.mark.parametrize("fmt", ["obj", "ply", "stl", "glb"])
def test_formats_roundtrip_through_trimesh(tmp_path: Path, fmt: str) -> None:
    box = trimesh.creation.box(extents=(1, 2, 3))
    path = tmp_path / f"box.{fmt}"
    box.export(path)
    mesh = geolearn.load_mesh(path)
    assert mesh.num_faces == 12
    assert mesh.report.surface_area == pytest.approx(box.area)
    repaired = geolearn.repair(mesh)  # STL stores triangle soup: repair welds it closed
    assert repaired.report.is_watertight and repaired.report.is_winding_consistent


def test_zip_member(tmp_path: Path) -> None:
    archive = tmp_path / "shapes.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("shapes/chair/t.off", TETRA_OFF)
    mesh = geolearn.load_mesh(archive / "shapes/chair/t.off")
    assert mesh.num_faces == 4
    assert mesh.source.endswith("shapes.zip/shapes/chair/t.off")
    with pytest.raises(MeshFileNotFoundError, match="no member"):
        geolearn.load_mesh(archive / "shapes/nope.off")
    with pytest.raises(UnsupportedFormatError, match="zip archive"):
        geolearn.load_mesh(archive)


def test_real_modelnet_mesh_from_zip(modelnet_zip: Path) -> None:
    mesh = geolearn.load_mesh(modelnet_zip / "ModelNet10/chair/train/chair_0001.off")
    assert mesh.num_faces == 2000 and mesh.num_vertices == 758
    assert not mesh.report.is_watertight  # as the data README says: mostly not watertight


# --------------------------------------------------------------------------- bad input, each named
BAD_FILES = {
    "missing": (None, MeshFileNotFoundError, "no such file"),
    "unknown.xyz": (b"1 2 3\n", UnsupportedFormatError, "unknown mesh format"),
    "empty.off": (b"", EmptyMeshError, "empty"),
    "zero.off": (b"OFF\n0 0 0\n", EmptyMeshError, "empty mesh"),
    "notoff.off": (b"PLY\n3 1 0\n", MeshParseError, "not an OFF file"),
    "badcounts.off": (b"OFF\nthree one zero\n", MeshParseError, "bad OFF counts"),
    "truncated.off": (TETRA_OFF[: TETRA_OFF.index(b"3 0 1 3")], MeshParseError, "truncated"),
    "garbled_vertex.off": (TETRA_OFF.replace(b"1 0 0\n", b"1 zero 0\n"), MeshParseError, "garbled vertex 1"),
    "garbled_face.off": (TETRA_OFF.replace(b"3 0 1 3", b"3 0 x 3"), MeshParseError, "garbled face 1"),
    "nan.off": (TETRA_OFF.replace(b"0 1 0\n", b"0 nan 0\n"), NonFiniteError, "NaN/inf"),
    "inf.off": (TETRA_OFF.replace(b"0 1 0\n", b"0 inf 0\n"), NonFiniteError, "NaN/inf"),
    "outofrange.off": (TETRA_OFF.replace(b"3 1 2 3", b"3 1 2 7"), FaceIndexError, "vertex 7"),
    "negative.off": (TETRA_OFF.replace(b"3 1 2 3", b"3 1 -2 3"), FaceIndexError, "face 3"),
    "line_face.off": (TETRA_OFF.replace(b"3 1 2 3", b"2 1 2"), TriangulationError, "at least 3"),
    "huge_header.off": (b"OFF\n1000000000000 2000000000000 0\n0 0 0\n", MeshParseError, "more than"),
    "huge_quirk.off": (b"OFF1000000000000 1 0\n0 0 0\n3 0 0 0\n", MeshParseError, "more than"),
    "huge_header.ply": (
        b"ply\nformat binary_little_endian 1.0\nelement vertex 1000000000000\nproperty float x\n"
        b"property float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\n"
        b"end_header\n" + b"\0" * 64,
        MeshParseError,
        "more than",
    ),
    "truncated.stl": (
        b"\0" * 80 + struct.pack("<I", 10**12 % 2**32) + b"\0" * 50,
        MeshParseError,
        "binary STL",
    ),
    "garbage.ply": (b"ply\nthis is not a header\n", MeshParseError, "not a PLY"),
    "garbage.obj": (b"v 0 0 0\nv 1 0 0\nf 1 2\n", EmptyMeshError, "not a triangle mesh|0 faces"),
    "garbage.glb": (b"glTF\x02\x00\x00\x00garbage", MeshParseError, "cannot parse GLB"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_input_names_file_and_problem(tmp_path: Path, name: str) -> None:
    data, error, message = BAD_FILES[name]
    path = tmp_path / "missing.off" if data is None else _write(tmp_path, name, data)
    start = time.perf_counter()
    with pytest.raises(error, match=message) as info:
        geolearn.load_mesh(path)
    assert time.perf_counter() - start < 1.0  # fails fast, never tries to allocate a huge header
    assert str(path) in str(info.value)


@pytest.mark.parametrize("name", ["truncated.off", "huge_header.off", "nan.off", "unknown.xyz"])
def test_cli_turns_errors_into_one_line(
    tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    data, _, _ = BAD_FILES[name]
    path = _write(tmp_path, name, data)
    assert main(["info", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert str(path) in err and err.startswith("geolearn info: error:")


def test_cli_info_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, "t.off", TETRA_OFF)
    assert main(["info", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["num_faces"] == 4 and report["is_watertight"] is True and report["problems"] == []


def test_max_faces_guard(tmp_path: Path) -> None:
    path = _write(tmp_path, "t.off", TETRA_OFF)
    with pytest.raises(MeshParseError, match="max_faces"):
        geolearn.load_mesh(path, max_faces=3)


def test_errors_share_a_base_class() -> None:
    assert issubclass(MeshParseError, GeolearnError)
    assert issubclass(MeshFileNotFoundError, FileNotFoundError)
