"""``geolearn eval``: rebuilding a split from a run directory reproduces the metrics training recorded;
bad run directories are one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from jobs_helpers import DemoRun, assert_one_line_error, assert_png, run_cli

from geolearn.jobs.evaluate import evaluate_run


@pytest.mark.parametrize(
    ("task", "method"), [("classify", "pointnet"), ("segment", "pointnet"), ("segment", "face_features")]
)
def test_eval_reproduces_the_recorded_test_metrics(quick_demo: DemoRun, capsys, task, method):
    run = quick_demo.run_dir(task, method)
    recorded = json.loads((run / "test_metrics.json").read_text())
    code, out, err = run_cli(capsys, "eval", run, "--json", "--quiet")
    assert code == 0, err
    result = json.loads(out)
    assert result["shapes"] == recorded["shapes"]["test"]
    assert result["names"] == recorded["classes"]
    got, want = result["metrics"], recorded["test"]
    np.testing.assert_allclose(got["confusion"], want["confusion"], rtol=1e-9, atol=1e-12)
    keys = (
        ("accuracy", "mean_class_accuracy") if task == "classify" else ("accuracy", "miou", "point_accuracy")
    )
    for key in keys:
        assert got[key] == pytest.approx(want[key], rel=1e-9), key
    assert got["loss"] == pytest.approx(want["loss"], rel=1e-5)


def test_eval_val_split_reproduces_the_best_epoch(quick_demo: DemoRun):
    run = quick_demo.run_dir("classify", "pointnet")
    recorded = json.loads((run / "test_metrics.json").read_text())
    result = evaluate_run(run, split="val", device="cpu")
    assert result.metrics["accuracy"] == pytest.approx(recorded["val"]["accuracy"])
    assert result.metrics["confusion"] == recorded["val"]["confusion"]
    assert result.checkpoint.name == "best.pt"


def test_eval_text_report_and_files(quick_demo: DemoRun, capsys, tmp_path):
    run = quick_demo.run_dir("classify", "pointnet")
    code, out, err = run_cli(capsys, "eval", run, "--quiet", "--out", tmp_path)
    assert code == 0, err
    assert "test split" in out and "confusion matrix (rows true, columns predicted, counts)" in out
    names = json.loads((run / "labels.json").read_text())["names"]
    for name in names:
        assert name in out
    saved = json.loads((tmp_path / "eval-test.json").read_text())
    assert saved["split"] == "test" and len(saved["metrics"]["confusion"]) == len(names)
    assert_png(tmp_path / "confusion-test.png")


def _broken_runs(quick_demo: DemoRun, tmp_path: Path) -> dict[str, Path]:
    good = quick_demo.run_dir("classify", "pointnet")
    no_ckpt = tmp_path / "no-checkpoint"
    no_ckpt.mkdir()
    shutil.copy(good / "config.yaml", no_ckpt / "config.yaml")
    no_config = tmp_path / "no-config"
    no_config.mkdir()
    shutil.copy(good / "best.pt", no_config / "best.pt")
    bad_config = tmp_path / "bad-config"
    bad_config.mkdir()
    (bad_config / "config.yaml").write_text("encoder: pointnet\nbogus_option: 3\n")
    shutil.copy(good / "best.pt", bad_config / "best.pt")
    return {
        "missing": tmp_path / "nonesuch",
        "no-checkpoint": no_ckpt,
        "no-config": no_config,
        "bad-config": bad_config,
    }


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("missing", "no such run directory"),
        ("no-checkpoint", "no checkpoint (best.pt or last.pt)"),
        ("no-config", "not a run directory (no config.yaml)"),
        ("bad-config", "unknown option 'bogus_option'"),
    ],
)
def test_bad_run_directories_are_one_line_errors(quick_demo: DemoRun, capsys, tmp_path, which, message):
    path = _broken_runs(quick_demo, tmp_path)[which]
    code, _, err = run_cli(capsys, "eval", path)
    assert_one_line_error(code, err, "eval", message, str(path))


def test_eval_on_data_with_other_classes_is_an_error(quick_demo: DemoRun, capsys, tmp_path):
    import trimesh

    from geolearn.io.export import write_ply
    from geolearn.mesh import Mesh

    for cls in ("cube", "ball"):
        for split in ("train", "test"):
            folder = tmp_path / "data" / cls / split
            folder.mkdir(parents=True)
            shape = trimesh.creation.box() if cls == "cube" else trimesh.creation.icosphere(1)
            write_ply(Mesh(shape.vertices, shape.faces), folder / f"{cls}_1.ply")
    run = quick_demo.run_dir("classify", "pointnet")
    code, _, err = run_cli(capsys, "eval", run, "--data", tmp_path / "data", "--quiet")
    assert_one_line_error(code, err, "eval", "its classes (ball, cube) differ from the run's (airplane")


def test_eval_with_test_time_augmentation(quick_demo: DemoRun, capsys, tmp_path):
    """--tta scores the 48 poses of every test shape: a valid report (restricted to each shape's
    category, as the run was trained), marked as such, with files of its own."""
    run = quick_demo.run_dir("segment", "pointnet")
    plain = evaluate_run(run, device="cpu")
    code, out, err = run_cli(capsys, "eval", run, "--tta", "--json", "--quiet", "--out", tmp_path)
    assert code == 0, err
    result = json.loads(out)
    assert result["tta"] is True and plain.tta is False
    assert result["poses"] == 48 and plain.poses == 1
    m = result["metrics"]
    assert 0 <= m["accuracy"] <= 1 and 0 <= m["miou"] <= 1
    assert m["confusion"] != plain.metrics["confusion"]  # a different prediction, not the plain one again
    # parts outside a shape's category get no area: the category mask reached every pose
    names = result["names"]
    category = [n.split("/")[0] for n in names]
    assert len(set(category)) > 1
    for i, row in enumerate(m["confusion"]):
        for j, area in enumerate(row):
            if category[i] != category[j]:
                assert area == 0, (names[i], names[j])
    assert (tmp_path / "eval-test-tta.json").exists() and (tmp_path / "confusion-test-tta.png").exists()
    code, text, err = run_cli(capsys, "eval", run, "--tta", "--quiet")
    assert code == 0 and "averaged over 48 symmetries of the cube" in text  # the run had no augmentation


@pytest.mark.parametrize(("task", "method"), [("classify", "d2"), ("segment", "face_features")])
def test_eval_tta_of_a_descriptor_run_is_a_one_line_error(quick_demo: DemoRun, capsys, task, method):
    code, _, err = run_cli(capsys, "eval", quick_demo.run_dir(task, method), "--tta", "--quiet")
    assert_one_line_error(code, err, "eval", "--tta", "orientation-free inputs")


def test_eval_tta_averages_over_the_poses_the_run_was_trained_on(quick_demo: DemoRun, tmp_path):
    import yaml

    run = tmp_path / "run"
    shutil.copytree(quick_demo.run_dir("segment", "pointnet"), run)
    config = yaml.safe_load((run / "config.yaml").read_text())
    config["augment"] = {"symmetry": {"permute": False, "flip": "xz"}}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    result = evaluate_run(run, device="cpu", tta=True, workers=0)
    assert result.poses == 4 and 0 <= result.metrics["accuracy"] <= 1


def test_eval_smooth_scores_the_smoothed_face_labels(quick_demo: DemoRun, capsys, tmp_path, monkeypatch):
    """--smooth: the trainer's per-face probabilities, smoothed per mesh, scored with the trainer's
    definitions. With the smoothing turned into the identity it reproduces the plain metrics exactly
    (the plumbing: face pooling, category mask, per-shape accuracy, area-weighted confusion)."""
    import geolearn.geometry.propagation as propagation

    run = quick_demo.run_dir("segment", "pointnet")
    plain = evaluate_run(run, device="cpu", workers=0)
    code, out, err = run_cli(capsys, "eval", run, "--smooth", "--json", "--quiet", "--out", tmp_path)
    assert code == 0, err
    result = json.loads(out)
    assert result["smooth"] is True and plain.smooth is False
    m = result["metrics"]
    assert 0 <= m["accuracy"] <= 1 and 0 <= m["miou"] <= 1
    assert "loss" not in m and "point_accuracy" not in m  # those are about the sampled points
    assert np.sum(m["confusion"]) == pytest.approx(np.sum(plain.metrics["confusion"]), rel=1e-9)
    assert (tmp_path / "eval-test-smooth.json").exists() and (tmp_path / "confusion-test-smooth.png").exists()
    calls = []

    def identity(p, graph, **kwargs):
        calls.append(graph.num_faces)
        return p

    monkeypatch.setattr(propagation, "smooth_face_probabilities", identity)
    same = evaluate_run(run, device="cpu", workers=0, smooth=True)
    assert len(calls) == same.shapes == plain.shapes
    np.testing.assert_allclose(same.metrics["confusion"], plain.metrics["confusion"], rtol=1e-9, atol=1e-12)
    assert same.metrics["accuracy"] == pytest.approx(plain.metrics["accuracy"], rel=1e-9)
    assert same.metrics["miou"] == pytest.approx(plain.metrics["miou"], rel=1e-9)
    code, text, err = run_cli(capsys, "eval", run, "--smooth", "--tta", "--quiet")
    assert code == 0 and "smoothed over each mesh's faces" in text and "48 symmetries" in text


def test_eval_smooth_of_a_classification_run_is_a_one_line_error(quick_demo: DemoRun, capsys):
    code, _, err = run_cli(capsys, "eval", quick_demo.run_dir("classify", "pointnet"), "--smooth", "--quiet")
    assert_one_line_error(code, err, "eval", "--smooth", "classify run")


def _reference_probabilities(run: Path) -> dict[str, np.ndarray]:
    """The slow, obvious way: rebuild the run's test split, predict it with its weights, softmax
    every row (shape or face) — per source file."""
    import torch

    from geolearn.datasets import collate_shapes
    from geolearn.jobs.analysis import open_split
    from geolearn.jobs.runs import load_model
    from geolearn.train import Trainer

    info, data = open_split(run, "test")
    model = load_model(info, collate_shapes([data[0]]), "cpu")
    trainer = Trainer(
        model, info.config.train, task=info.task, run_dir=info.path, device="cpu", progress=False
    )
    preds = trainer.predict(data)
    ptr = preds.ptr.tolist()
    out = {}
    for i, source in enumerate(preds.source):
        out[source] = torch.softmax(preds.logits[ptr[i] : ptr[i + 1]].double(), dim=1).numpy()
    return out


@pytest.mark.parametrize(
    ("task", "methods"), [("classify", ("pointnet", "d2")), ("segment", ("pointnet", "face_features"))]
)
def test_eval_ensemble_scores_the_average_of_the_members_probabilities(
    quick_demo: DemoRun, capsys, tmp_path, task, methods
):
    """Two runs of different encoders (points and descriptors): the ensemble's metrics are those of
    the mean of their softmax outputs, computed here the slow way from each run's own predictions."""
    from geolearn.jobs.analysis import open_split

    runs = [quick_demo.run_dir(task, m) for m in methods]
    code, out, err = run_cli(capsys, "eval", *runs, "--json", "--quiet", "--out", tmp_path)
    assert code == 0, err
    result = json.loads(out)
    import yaml

    encoders = [yaml.safe_load((r / "config.yaml").read_text())["encoder"] for r in runs]
    assert result["members"] == [str(r) for r in runs] and result["encoder"] == "+".join(encoders)
    m = result["metrics"]
    assert "loss" not in m and "point_accuracy" not in m
    a, b = (_reference_probabilities(r) for r in runs)
    assert set(a) == set(b) and len(a) == result["shapes"]
    _, data = open_split(runs[0], "test")
    index = {
        data.items[i].source if hasattr(data, "items") else data[i]["source"]: i for i in range(len(data))
    }
    hits, k = [], len(result["names"])
    confusion = np.zeros((k, k))
    for source, pa in a.items():
        mean = (pa + b[source]) / 2
        sample = data[index[source]]
        if task == "classify":
            hits.append(float(mean[0].argmax() == int(sample["label"])))
            confusion[int(sample["label"]), int(mean[0].argmax())] += 1
        else:
            w = sample["face_areas"].numpy().astype(np.float64)
            true, pred = sample["face_labels"].numpy(), mean.argmax(axis=1)
            hits.append(float((w * (pred == true)).sum() / w.sum()))
            np.add.at(confusion, (true, pred), w)
    assert m["accuracy"] == pytest.approx(np.mean(hits), rel=1e-9)
    np.testing.assert_allclose(m["confusion"], confusion, rtol=1e-6, atol=1e-9)
    # and not merely one member's score: the members differ from each other on these shapes
    single = [json.loads(run_cli(capsys, "eval", r, "--json", "--quiet")[1])["metrics"] for r in runs]
    assert single[0]["confusion"] != single[1]["confusion"]
    assert (tmp_path / "eval-test-ensemble.json").exists() and (
        tmp_path / "confusion-test-ensemble.png"
    ).exists()
    code, text, err = run_cli(capsys, "eval", *runs, "--quiet")
    assert code == 0 and text.startswith(f"ensemble of 2 runs ({'+'.join(encoders)}) {task}")


def test_eval_ensemble_of_a_run_with_itself_is_the_run(quick_demo: DemoRun):
    """The plumbing: averaging a run with itself changes no prediction (faces, masks, per-shape
    accuracy, areas), also with test-time augmentation and smoothing."""
    run = quick_demo.run_dir("segment", "pointnet")
    for options in ({}, {"tta": True, "smooth": True}):
        plain = evaluate_run(run, device="cpu", workers=0, **options)
        twice = evaluate_run([run, run], device="cpu", workers=0, **options)
        assert twice.members == [str(run), str(run)] and plain.members == []
        np.testing.assert_allclose(
            twice.metrics["confusion"], plain.metrics["confusion"], rtol=1e-9, atol=1e-12
        )
        assert twice.metrics["accuracy"] == pytest.approx(plain.metrics["accuracy"], rel=1e-12)
        assert twice.metrics["miou"] == pytest.approx(plain.metrics["miou"], rel=1e-12)
        assert twice.poses == plain.poses


def test_eval_ensemble_tta_poses_only_the_members_a_symmetry_moves(quick_demo: DemoRun, capsys):
    """--tta on an ensemble with a descriptor member: the point run is averaged over its poses, the
    descriptor run (whose prediction no pose changes; alone, --tta refuses it) predicts once."""
    points, faces = quick_demo.run_dir("segment", "pointnet"), quick_demo.run_dir("segment", "face_features")
    alone = evaluate_run(faces, device="cpu", workers=0)
    twice = evaluate_run([faces, faces], device="cpu", workers=0, tta=True)
    assert twice.poses == 1
    np.testing.assert_allclose(twice.metrics["confusion"], alone.metrics["confusion"], rtol=1e-9, atol=1e-12)
    mixed = evaluate_run([points, faces], device="cpu", workers=0, tta=True)
    plain = evaluate_run([points, faces], device="cpu", workers=0)
    assert mixed.poses == 48 and mixed.tta and mixed.metrics["confusion"] != plain.metrics["confusion"]
    code, _, err = run_cli(capsys, "eval", faces, "--tta", "--quiet")
    assert_one_line_error(code, err, "eval", "--tta", "orientation-free inputs")


def test_eval_ensemble_of_runs_that_do_not_match_is_a_one_line_error(quick_demo: DemoRun, capsys, tmp_path):
    import yaml

    seg, cls = quick_demo.run_dir("segment", "pointnet"), quick_demo.run_dir("classify", "pointnet")
    code, _, err = run_cli(capsys, "eval", seg, cls, "--quiet")
    assert_one_line_error(code, err, "eval", f"{cls}: a classify run, but {seg} is a segment run")
    other = tmp_path / "other-split"
    shutil.copytree(seg, other)
    config = yaml.safe_load((other / "config.yaml").read_text())
    config["split_seed"] = int(config.get("split_seed", 0)) + 1
    (other / "config.yaml").write_text(yaml.safe_dump(config))
    code, _, err = run_cli(capsys, "eval", seg, other, "--quiet", "--split", "val")
    assert_one_line_error(code, err, "eval", f"{other}: its val split holds other shapes than that of {seg}")
    names = tmp_path / "other-names"
    shutil.copytree(seg, names)
    labels = json.loads((names / "labels.json").read_text())
    labels["names"] = [n + "-x" for n in labels["names"]]
    (names / "labels.json").write_text(json.dumps(labels))
    code, _, err = run_cli(capsys, "eval", seg, names, "--quiet")
    assert code != 0 and f"{names}" in err
