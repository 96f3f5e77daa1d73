"""``geolearn render`` through the command-line entry point."""

from __future__ import annotations

import json

import matplotlib.image
import pytest
from geometry_meshes import box, write_off

from geolearn.cli import main


@pytest.fixture
def mesh_file(tmp_path):
    return write_off(box(3.0, center=(10.0, 0.0, 0.0)), tmp_path / "cube.off")  # far from unit size


def test_render_json(mesh_file, tmp_path, capsys):
    out = tmp_path / "views.png"
    code = main(["render", str(mesh_file), "-o", str(out), "--size", "32", "--json"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["views"] == 12
    assert summary["size"] == 32
    assert summary["cameras"] == "ring"
    assert summary["output"] == str(out)
    assert summary["faces"] == 12
    # the cube is normalised to the unit sphere first: it fills a good part of each view
    assert 0.2 < summary["coverage"] < 0.8
    image = matplotlib.image.imread(out)
    assert image.shape[:2] == (3 * (128 + 2) + 2, 4 * (128 + 2) + 2)  # 4x3 tiles of 32 px x4


def test_render_dodecahedron_face_colors(mesh_file, tmp_path, capsys):
    out = tmp_path / "d.png"
    assert main(["render", str(mesh_file), "-o", str(out), "--cameras", "dodecahedron", "--size", "16",
                 "--face-colors", "--columns", "10"]) == 0  # fmt: skip
    assert "20 dodecahedron views" in capsys.readouterr().out
    assert matplotlib.image.imread(out).shape[:2] == (2 * (2 * 128 + 2) + 2, 10 * (128 + 2) + 2)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--cameras", "cube"], "unknown layout 'cube'"),
        (["--cameras", "dodecahedron", "--views", "12"], "exactly 20 views"),
        (["--views", "0"], "--views"),
        (["--size", "0"], "--size"),
        (["--distance", "0.5"], "--distance"),
        (["--elevation", "120"], "--elevation"),
        (["--columns", "0"], "--columns"),
    ],
)
def test_bad_options(mesh_file, tmp_path, capsys, extra, message):
    assert main(["render", str(mesh_file), "-o", str(tmp_path / "v.png"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("geolearn render: error:")
    assert message in err
    assert not (tmp_path / "v.png").exists()


def test_bad_output_and_missing_mesh(mesh_file, tmp_path, capsys):
    assert main(["render", str(mesh_file), "-o", str(tmp_path / "v.jpg")]) == 2
    assert ".png" in capsys.readouterr().err
    assert main(["render", str(tmp_path / "nope.off"), "-o", str(tmp_path / "v.png")]) == 2
    assert "nope.off" in capsys.readouterr().err
