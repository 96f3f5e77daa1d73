from __future__ import annotations

import json
from pathlib import Path

import pytest
from dataset_helpers import make_class_folder

from geolearn.cli import main


def _json(capsys: pytest.CaptureFixture[str], argv: list[str]) -> dict:
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_folder_summary_and_check(tmp_path: Path, capsys) -> None:
    root = make_class_folder(tmp_path / "shapes", per_class=5)
    (root / "box" / "broken.off").write_bytes(b"OFF\n3 1 0\n0 0 0\n")
    d = _json(capsys, ["data", str(root), "--json"])
    assert d["kind"] == "folder"
    assert d["classes"] == ["box", "cylinder", "sphere"]
    assert d["num_shapes"] == 16
    assert d["checked"] is False
    assert d["failures"] == []
    assert sum(d["class_counts"]["test"].values()) == d["split_sizes"]["test"]
    d = _json(capsys, ["data", str(root), "--check", "--workers", "0", "--json"])
    assert d["checked"]
    assert d["num_checked"] == 16
    assert [Path(f["source"]).name for f in d["failures"]] == ["broken.off"]
    assert main(["data", str(root), "--check", "--workers", "0"]) == 0
    text = capsys.readouterr().out
    assert "FAILED" in text
    assert "broken.off" in text
    assert "1 unusable" in text


def test_embedded_default(capsys) -> None:
    d = _json(capsys, ["data", "--json"])
    assert d["kind"] == "embedded"
    assert d["root"] is None
    assert d["num_classes"] == 8
    assert set(d["label_names"]) == set(d["classes"])
    assert main(["data"]) == 0
    assert "embedded" in capsys.readouterr().out


def test_errors_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["data", str(tmp_path / "nope")]) == 2
    assert "no such file" in capsys.readouterr().err
    root = make_class_folder(tmp_path / "s", per_class=2)
    assert main(["data", str(root), "--split-file", "x.json"]) == 2
    assert "--split-file only applies" in capsys.readouterr().err


def test_real_modelnet(modelnet_zip: Path, capsys) -> None:
    d = _json(capsys, ["data", str(modelnet_zip), "--json"])
    assert d["kind"] == "modelnet"
    assert d["name"] == "ModelNet10"
    assert d["num_classes"] == 10
    assert d["split_sizes"]["train"] + d["split_sizes"]["val"] == 3928
    assert d["split_sizes"]["test"] == 899


def test_real_psb(labeleddb_zip: Path, capsys) -> None:
    d = _json(capsys, ["data", str(labeleddb_zip), "--json"])
    assert d["kind"] == "psb"
    assert d["task"] == "segment"
    assert d["num_shapes"] == 380
    assert d["label_names"]["Cup"] == ["body", "handle"]
    assert len(d["label_names"]) == 19
    assert d["details"]["split_file"].endswith("LabeledDB-split.json")
    assert main(["data", str(labeleddb_zip)]) == 0
    out = capsys.readouterr().out
    assert "Human" in out
    assert "lowerarm" in out
