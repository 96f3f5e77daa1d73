from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import trimesh

from geolearn.cli import main


@pytest.fixture(scope="module")
def sphere_off(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("meshes") / "sphere.off"
    trimesh.creation.icosphere(subdivisions=3, radius=2.0).export(path)
    return path


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict:
    assert main(list(argv)) == 0
    return json.loads(capsys.readouterr().out)


def test_distribution_json_in_mesh_units(sphere_off: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = run_json(
        capsys,
        "describe",
        str(sphere_off),
        "--descriptor",
        "d2",
        "--bins",
        "20",
        "--samples",
        "20000",
        "--scale",
        "none",
        "--seed",
        "4",
        "--json",
    )
    assert d["descriptor"] == "d2"
    assert len(d["bin_edges"]) == 21
    assert len(d["histogram"]) == 20
    assert sum(d["histogram"]) == pytest.approx(1.0)
    assert d["bin_edges"][-1] == pytest.approx(4.0, rel=1e-5)  # 2 × radius, mesh units
    again = run_json(
        capsys,
        "describe",
        str(sphere_off),
        "--descriptor",
        "d2",
        "--bins",
        "20",
        "--samples",
        "20000",
        "--scale",
        "none",
        "--seed",
        "4",
        "--json",
    )
    assert again["histogram"] == d["histogram"]


def test_sdf_json(sphere_off: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = run_json(capsys, "describe", str(sphere_off), "--descriptor", "sdf", "--bins", "10", "--json")
    assert d["descriptor"] == "sdf"
    assert len(d["bin_edges"]) == 11
    assert len(d["histogram"]) == 10
    assert len(d["values"]) == len(d["normalized"]) == 1280
    assert d["faces_without_hit"] == 0
    # mesh units: the robust mean of the chords 2R cos θ of the default cone is 1.5346 R (see test_sdf)
    assert np.mean(d["values"]) == pytest.approx(1.5346 * 2.0, rel=0.01)


@pytest.mark.parametrize("descriptor", ["a3", "sdf"])
def test_plot_and_text(
    sphere_off: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], descriptor: str
) -> None:
    out = tmp_path / f"{descriptor}.png"
    extra = ["--samples", "5000"] if descriptor != "sdf" else []
    assert main(["describe", str(sphere_off), "--descriptor", descriptor, *extra, "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    text = capsys.readouterr().out
    assert text.startswith(f"{descriptor} of ")
    assert "histogram" in text


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--descriptor", "sdf", "--seed", "1"], "--seed does not apply"),
        (["--descriptor", "d2", "--rays", "10"], "--rays does not apply"),
        (["--descriptor", "d2", "--bins", "0"], "bins"),
    ],
)
def test_errors_are_one_line(
    sphere_off: Path, capsys: pytest.CaptureFixture[str], argv: list, message: str
) -> None:
    assert main(["describe", str(sphere_off), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1
