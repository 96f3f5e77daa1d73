"""``geolearn compare``: method resolution, the 1-NN baseline against a brute-force reference, and
the command end to end on a tiny embedded subset with two encoders."""

from __future__ import annotations

import json

import numpy as np
import pytest
from jobs_helpers import assert_one_line_error, assert_png, run_cli

from geolearn.errors import OptionError
from geolearn.jobs.compare import Budget, nearest_neighbour_baseline, resolve_methods
from geolearn.jobs.report import markdown_table, text_table
from geolearn.train.config import ExperimentConfig

TINY_DATA = {"num_per_class": {"train": 2, "val": 1, "test": 2}, "target_faces": 300}


@pytest.mark.parametrize(
    ("name", "task", "encoder", "kwargs"),
    [
        ("pointnet", "classify", "pointnet", {"num_points": 100}),
        ("pointnet", "segment", "pointnet", {"num_points": 100}),
        ("voxnet", "classify", "voxnet", {"resolution": 12}),
        ("voxunet", "segment", "voxunet", {"resolution": 12, "num_points": 100}),
        ("mvcnn", "classify", "mvcnn", {"num_views": 3, "size": 20}),
        ("mvcnn", "segment", "mvcnn", {"num_views": 3, "size": 20, "num_points": 100}),
        ("d2", "classify", "descriptor", {"kind": "d2", "samples": 999, "bins": 16}),
        ("d2+a3", "classify", "descriptor", {"kind": "d2+a3", "samples": 999, "bins": 16}),
        ("sdf", "classify", "descriptor", {"kind": "sdf"}),
        ("face_features", "segment", "face_features", {"num_points": 100}),
        # the spectral basis is read at the points: they are its input, to classify too
        ("diffusionnet", "classify", "diffusionnet", {"num_points": 100}),
        ("diffusionnet", "segment", "diffusionnet", {"num_points": 100}),
    ],
)
def test_methods_get_the_shared_budget(name, task, encoder, kwargs):
    budget = Budget(
        num_points=100, resolution=12, num_views=3, image_size=20, descriptor_samples=999, descriptor_bins=16
    )
    (spec,) = resolve_methods([name], task, budget)
    assert spec.encoder == encoder
    assert spec.representation_kwargs == kwargs


@pytest.mark.parametrize(
    ("names", "task", "message"),
    [
        (["nonesuch"], "classify", "unknown encoder or descriptor 'nonesuch'"),
        (["d2"], "segment", "a global descriptor cannot segment faces"),
        (["voxnet"], "segment", "--encoders voxnet: cannot segment"),
        (["pointnet", "pointnet"], "classify", "pointnet given twice"),
        (["d2+d2"], "classify", "unknown encoder or descriptor"),
        ([], "classify", "name at least one"),
    ],
)
def test_bad_methods_are_named(names, task, message):
    with pytest.raises(OptionError, match=message.replace("+", r"\+")):
        resolve_methods(names, task, Budget())


def test_nearest_neighbour_baseline_matches_brute_force():
    base = ExperimentConfig(task="classify", dataset_kwargs=dict(TINY_DATA))
    budget = Budget(descriptor_samples=2048, descriptor_bins=16)
    got = nearest_neighbour_baseline(base, budget, workers=0, timing_shapes=1)
    db, q = got.train_descriptors.astype(np.float64), got.test_descriptors.astype(np.float64)
    expected = []
    for query in q:  # the slow obvious reference: every L1 distance, first minimum wins
        dists = [sum(abs(a - b) for a, b in zip(query, row, strict=True)) for row in db]
        expected.append(got.train_labels[int(np.argmin(dists))])
    np.testing.assert_array_equal(got.predicted, expected)
    accuracy = float(np.mean(np.asarray(expected) == got.test_labels))
    assert got.result.metrics["accuracy"] == pytest.approx(accuracy)
    assert got.result.parameters == 0 and got.result.kind == "retrieval"
    assert np.asarray(got.result.metrics["confusion"]).sum() == len(q)
    np.testing.assert_allclose(db.sum(axis=1), 1.0, atol=1e-5)  # histograms


def test_compare_two_encoders_end_to_end(capsys, tmp_path):
    out = tmp_path / "cmp"
    code, stdout, err = run_cli(
        capsys,
        "compare",
        "--task", "classify",
        "--encoders", "voxnet,sdf",
        "--epochs", "1",
        "--batch-size", "8",
        "--resolution", "12",
        "--d2-samples", "2048",
        "--set", "dataset_kwargs={num_per_class: {train: 2, val: 1, test: 2}, target_faces: 300}",
        "--workers", "0",
        "--quiet",
        "--json",
        "--out", out,
    )  # fmt: skip
    assert code == 0, err
    result = json.loads(stdout)
    assert [r["method"] for r in result["results"]] == ["voxnet", "sdf", "osada-d2"]
    assert result["shapes"] == {"train": 16, "val": 8, "test": 16}
    for r in result["results"]:
        assert 0 <= r["metrics"]["accuracy"] <= 1
    voxnet = result["results"][0]
    assert "Voxels(resolution=12" in voxnet["representation"]
    assert json.loads((out / "voxnet" / "test_metrics.json").read_text())["test"] == voxnet["metrics"]
    assert json.loads((out / "compare.json").read_text())["results"][1]["method"] == "sdf"
    md = (out / "compare.md").read_text()
    assert "| voxnet | learned |" in md and "| osada-d2 | retrieval |" in md and "Produced by:" in md
    for f in result["figures"]:
        assert_png(f)
    assert {p.name for p in (out / "figures").iterdir()} == {
        "confusion-voxnet.png",
        "confusion-sdf.png",
        "confusion-osada-d2.png",
        "curves.png",
    }


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--encoders", "nonesuch"], "unknown encoder or descriptor 'nonesuch'"),
        (["--task", "segment", "--encoders", "sdf"], "a global descriptor cannot segment faces"),
        (["--set", "encoder=pointnet"], "--set encoder: compare sets it per method"),
        (["--points", "0"], "budget num_points: must be a positive integer"),
        (["--data", "/nonexistent/data.zip"], "/nonexistent/data.zip"),
    ],
)
def test_compare_bad_options_are_one_line_errors(capsys, tmp_path, argv, message):
    code, _, err = run_cli(capsys, "compare", "--out", tmp_path / "x", *argv)
    assert_one_line_error(code, err, "compare", message)


def test_tables():
    rows = [["a|b", "1"], ["c", "22"]]
    md = markdown_table(["name", "n"], rows, [False, True])
    assert md.splitlines() == ["| name | n |", "|:---|---:|", "| a\\|b | 1 |", "| c | 22 |"]
    text = text_table(["name", "n"], rows, [False, True])
    assert text.splitlines() == ["name   n", "----  --", "a|b    1", "c     22"]
