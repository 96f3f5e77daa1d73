"""compare → eval → predict on a few real ModelNet10 meshes, through a folder of meshes built from
the official zip (skips without the data)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

from jobs_helpers import run_cli

CLASSES = ("chair", "monitor")


def _small_folder(zip_path: Path, root: Path, per_split: dict[str, int]) -> dict[str, list[str]]:
    """``root/<class>/<split>/*.off``: the smallest meshes of each class and split, byte for byte.
    Returns the zip members used, per split."""
    used: dict[str, list[str]] = {s: [] for s in per_split}
    with zipfile.ZipFile(zip_path) as zf:
        infos = zf.infolist()
        for cls in CLASSES:
            for split, n in per_split.items():
                prefix = f"ModelNet10/{cls}/{split}/"
                members = sorted(
                    (i for i in infos if i.filename.startswith(prefix) and i.filename.endswith(".off")),
                    key=lambda i: (i.file_size, i.filename),
                )[:n]
                for info in members:
                    target = root / cls / split / Path(info.filename).name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(zf.read(info))
                    used[split].append(info.filename)
    return used


def test_compare_eval_predict_on_real_modelnet(modelnet_zip, capsys, tmp_path):
    data = tmp_path / "mn"
    used = _small_folder(modelnet_zip, data, {"train": 5, "test": 2})
    out = tmp_path / "cmp"
    code, stdout, err = run_cli(
        capsys, "compare", "--data", data, "--encoders", "pointnet", "d2", "--epochs", "1", "--batch-size", "4",
        "--points", "128", "--d2-samples", "4096", "--workers", "0", "--quiet", "--json", "--out", out,
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(stdout)
    assert result["task"] == "classify"  # a folder of meshes classifies by default
    assert result["names"] == sorted(CLASSES)
    assert result["shapes"]["test"] == 4
    assert sum(result["shapes"].values()) == 14  # val carved from train
    assert [r["method"] for r in result["results"]] == ["pointnet", "d2", "osada-d2"]

    run = out / "pointnet"
    code, stdout, err = run_cli(capsys, "eval", run, "--json", "--quiet")
    assert code == 0, err
    recorded = json.loads((run / "test_metrics.json").read_text())["test"]
    assert json.loads(stdout)["metrics"]["confusion"] == recorded["confusion"]

    member = used["test"][0]
    code, stdout, err = run_cli(capsys, "predict", run, modelnet_zip / member, "--json")
    assert code == 0, err
    pred = json.loads(stdout)["predictions"][0]
    assert pred["source"] == str(modelnet_zip / member)
    assert pred["name"] in CLASSES and 0.5 <= pred["probability"] <= 1.0
