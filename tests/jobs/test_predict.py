"""``geolearn predict`` on mesh files the test writes: classification JSON, segmentation PLY + PNG."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from jobs_helpers import DemoRun, assert_one_line_error, assert_png, run_cli, write_off

from geolearn.datasets import collate_shapes
from geolearn.jobs.runs import load_model, read_run
from geolearn.jobs.training import experiment_representations, open_splits
from geolearn.viz.plots import part_palette


def _test_split(run_dir):
    run = read_run(run_dir)
    reps = experiment_representations(run.config)
    return run, open_splits(run.config, reps, names=("test",), workers=0).datasets["test"]


@pytest.mark.parametrize("normalization", ["unit_sphere", "pca"])
def test_classify_prediction_matches_the_model_on_the_dataset(
    quick_demo: DemoRun, capsys, tmp_path, normalization
):
    """A test shape written to an OFF file gets the class and probability the model gives the
    dataset's own sample of it (same normalisation, same representation) — also for a run whose
    data were turned into their principal frame (the same weights, read as such a run)."""
    run_dir = quick_demo.run_dir("classify", "pointnet")
    if normalization != "unit_sphere":
        import shutil

        import yaml

        run_dir = Path(shutil.copytree(run_dir, tmp_path / "run"))
        config = yaml.safe_load((run_dir / "config.yaml").read_text())
        config["dataset_kwargs"] = {**config.get("dataset_kwargs", {}), "normalization": normalization}
        (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    run, test = _test_split(run_dir)
    files = []
    for i in (0, 1):
        mesh = test.load_mesh(i)
        files.append(write_off(tmp_path / f"shape{i}.off", mesh.vertices, mesh.faces))
    code, out, err = run_cli(capsys, "predict", run_dir, *files, "--json", "-o", tmp_path / "pred")
    assert code == 0, err
    result = json.loads(out)
    assert result["task"] == "classify" and result["names"] == list(run.names)
    model = load_model(run, collate_shapes([test[0]]), "cpu")
    with torch.no_grad():
        probs = torch.softmax(model(collate_shapes([test[0], test[1]])), dim=1)
    for i, p in enumerate(result["predictions"]):
        assert p["source"] == str(files[i])
        assert p["label"] == int(probs[i].argmax())
        assert p["name"] == run.names[p["label"]]
        assert p["probability"] == pytest.approx(float(probs[i].max()), abs=1e-5)
        top = [t["probability"] for t in p["top"]]
        assert len(top) == 3 and top == sorted(top, reverse=True) and top[0] == p["probability"]
    assert (
        json.loads((tmp_path / "pred" / "predictions.json").read_text())["predictions"]
        == result["predictions"]
    )

    code, out, _ = run_cli(capsys, "predict", run_dir, files[0], "--top", "2")
    assert code == 0
    assert out.startswith(f"{files[0]}: {result['predictions'][0]['name']} (")


def _read_binary_ply_faces(path, num_faces):
    """Face records (count, 3 indices, r, g, b, label) of a PLY written by write_ply."""
    data = path.read_bytes()
    head, body = data.split(b"end_header\n", 1)
    num_vertices = int(
        next(line for line in head.decode().splitlines() if line.startswith("element vertex")).split()[-1]
    )
    dtype = np.dtype([("n", "u1"), ("idx", "<i4", (3,)), ("rgb", "u1", (3,)), ("label", "<i4")])
    faces = np.frombuffer(body[num_vertices * 12 :], dtype=dtype)
    assert len(faces) == num_faces
    return head.decode(), faces


def test_segment_prediction_writes_a_part_coloured_ply_and_png(quick_demo: DemoRun, capsys, tmp_path):
    import trimesh

    run_dir = quick_demo.run_dir("segment", "face_features")
    run, test = _test_split(run_dir)
    mesh = test.load_mesh(0)
    path = write_off(tmp_path / "part.off", mesh.vertices, mesh.faces)
    out_dir = tmp_path / "seg"
    cat = test.class_names[int(test.labels[0])]
    code, out, err = run_cli(
        capsys,
        "predict",
        run_dir,
        path,
        "-o",
        out_dir,
        "--json",
        "--views",
        "3",
        "--image-size",
        "96",
        "--category",
        cat,
    )
    assert code == 0, err
    pred = json.loads(out)["predictions"][0]
    labels = np.asarray(pred["face_labels"])
    assert pred["faces"] == len(mesh.faces) == len(labels)
    assert labels.min() >= 0 and labels.max() < len(run.names)
    assert sum(pred["part_area"].values()) == pytest.approx(1.0)

    # the same labels as the trainer's prediction on the dataset's sample of that shape
    from geolearn.train import Trainer

    model = load_model(run, collate_shapes([test[0]]), "cpu")
    trainer = Trainer(model, run.config.train, task="segment", run_dir=run.path, device="cpu", progress=False)
    expected = trainer.predict(torch.utils.data.Subset(test, [0])).labels.numpy()
    np.testing.assert_array_equal(labels, expected)

    # one colour (and the label) per face, the palette colour of the predicted part
    ply = out_dir / "part.ply"
    header, faces = _read_binary_ply_faces(ply, len(mesh.faces))
    assert f"comment label 0 {run.names[0]}" in header
    np.testing.assert_array_equal(faces["label"], labels)
    np.testing.assert_array_equal(faces["idx"], mesh.faces)
    palette = np.round(part_palette(len(run.names)) * 255).astype(np.uint8)
    np.testing.assert_array_equal(faces["rgb"], palette[labels])
    loaded = trimesh.load(ply, process=False)
    assert len(loaded.faces) == len(mesh.faces)
    np.testing.assert_array_equal(loaded.visual.face_colors[:, :3], palette[labels])
    assert_png(out_dir / "part.png")
    assert pred["ply"] == str(ply) and pred["image"] == str(out_dir / "part.png")


def test_segment_prediction_defaults_to_the_run_directory(quick_demo: DemoRun, capsys, tmp_path):
    run_dir = quick_demo.run_dir("segment", "pointnet")
    _, test = _test_split(run_dir)
    mesh = test.load_mesh(0)
    path = write_off(tmp_path / "x.off", mesh.vertices, mesh.faces)
    cat = test.class_names[int(test.labels[0])]
    code, out, err = run_cli(capsys, "predict", run_dir, path, path, "--category", cat)
    assert code == 0, err
    assert (run_dir / "predictions" / "x.ply").is_file() and (run_dir / "predictions" / "x-2.png").is_file()
    assert "faces —" in out


def _first_test_mesh(run_dir, tmp_path):
    """The run, its test split, the category and mesh of its first test shape, that mesh as x.off."""
    run, test = _test_split(run_dir)
    mesh = test.load_mesh(0)
    path = write_off(tmp_path / "x.off", mesh.vertices, mesh.faces)
    return run, test, test.class_names[int(test.labels[0])], mesh, path


def test_segment_prediction_with_the_category_given(quick_demo: DemoRun, capsys, tmp_path):
    run_dir = quick_demo.run_dir("segment", "pointnet")
    run, _, cat, _, path = _first_test_mesh(run_dir, tmp_path)
    code, out, err = run_cli(
        capsys, "predict", run_dir, path, "--category", cat, "--json", "-o", tmp_path / "o"
    )
    assert code == 0, err
    labels = np.asarray(json.loads(out)["predictions"][0]["face_labels"])
    assert all(run.names[i].startswith(f"{cat}/") for i in np.unique(labels))  # only that category's parts
    code, _, err = run_cli(capsys, "predict", run_dir, path, "--category", "Spaceship")
    assert_one_line_error(code, err, "predict", "--category 'Spaceship'", cat)
    # the demo's segmentation runs were trained with the category given: they refuse to guess it
    assert run.config.train.restrict_to_category
    code, _, err = run_cli(capsys, "predict", run_dir, path)
    assert_one_line_error(code, err, "predict", "pass --category")


def test_missing_mesh_and_run_are_one_line_errors(quick_demo: DemoRun, capsys, tmp_path):
    run_dir = quick_demo.run_dir("classify", "pointnet")
    missing = tmp_path / "nonesuch.off"
    code, _, err = run_cli(capsys, "predict", run_dir, missing)
    assert_one_line_error(code, err, "predict", str(missing), "no such file")
    code, _, err = run_cli(capsys, "predict", tmp_path / "norun", missing)
    assert_one_line_error(code, err, "predict", "no such run directory")
    bad = tmp_path / "bad.off"
    bad.write_text("OFF\n3 1 0\n0 0 0\n1 0 0\n")
    code, _, err = run_cli(capsys, "predict", run_dir, bad)
    assert_one_line_error(code, err, "predict", str(bad))


def test_segment_prediction_with_tta_and_smoothing(quick_demo: DemoRun, capsys, tmp_path):
    """--tta --smooth: the labels of the pose-averaged, category-restricted probabilities smoothed
    over the mesh's faces — the same as the model on the dataset's sample, wrapped and smoothed by hand."""
    from geolearn.geometry.propagation import face_graph, smooth_face_probabilities
    from geolearn.jobs.evaluate import symmetry_average
    from geolearn.train import Trainer

    run_dir = quick_demo.run_dir("segment", "pointnet")
    run, test, cat, mesh, path = _first_test_mesh(run_dir, tmp_path)
    code, out, err = run_cli(
        capsys,
        "predict",
        run_dir,
        path,
        "--category",
        cat,
        "--tta",
        "--smooth",
        "--json",
        "-o",
        tmp_path / "o",
    )
    assert code == 0, err
    labels = np.asarray(json.loads(out)["predictions"][0]["face_labels"])
    model = symmetry_average(
        load_model(run, collate_shapes([test[0]]), "cpu"), run.config, test[0], restrict=True
    )
    trainer = Trainer(model, run.config.train, task="segment", run_dir=run.path, device="cpu", progress=False)
    logits = trainer.predict(torch.utils.data.Subset(test, [0])).logits
    p = torch.softmax(logits.double(), dim=1).numpy()
    expected = smooth_face_probabilities(p, face_graph(mesh)).argmax(axis=1)
    np.testing.assert_array_equal(labels, expected)
    assert not np.array_equal(expected, logits.argmax(dim=1).numpy())  # both options changed something
    code, _, err = run_cli(capsys, "predict", quick_demo.run_dir("classify", "pointnet"), path, "--smooth")
    assert_one_line_error(code, err, "predict", "--smooth", "classify run")


def test_a_smoothing_error_in_predict_names_the_mesh(quick_demo: DemoRun, capsys, tmp_path, monkeypatch):
    from geolearn.errors import OptionError
    from geolearn.geometry import propagation

    def refuse(p, graph, **kw):
        raise OptionError("smoothing: probabilities must be finite and non-negative")

    monkeypatch.setattr(propagation, "smooth_face_probabilities", refuse)
    run_dir = quick_demo.run_dir("segment", "pointnet")
    _, _, cat, _, path = _first_test_mesh(run_dir, tmp_path)
    code, _, err = run_cli(
        capsys, "predict", run_dir, path, "--category", cat, "--smooth", "-o", tmp_path / "o"
    )
    assert_one_line_error(code, err, "predict", "x.off", "must be finite")


def test_voxunet_with_normals_category_and_stretch_trains_evaluates_and_predicts(capsys, tmp_path):
    """The options of the LabeledDB VoxUNet runs (point normals, stem lookup, the category given to
    the head, stretch augmentation) through train -> eval --tta --smooth -> predict --tta."""
    run_dir = tmp_path / "run"
    code, out, err = run_cli(
        capsys,
        *("train", "--task", "segment", "--encoder", "voxunet", "--epochs", "1", "--out", run_dir),
        *("--max-shapes", "8", "--batch-size", "4", "--quiet", "--json"),
        *("--set", "representation_kwargs={resolution: 8, num_points: 64}"),
        *("--set", "model_kwargs={use_normals: true, lookup_stem: true, category_input: true}"),
        *("--set", "augment={symmetry: {permute: false}, scale: {}}"),
        *("--set", "restrict_to_category=true"),
    )
    assert code == 0, err
    run, test = _test_split(run_dir)
    model = load_model(run, collate_shapes([test[0]]), "cpu")
    assert model.category_input and model.encoder.use_normals and model.encoder.lookup_stem
    code, out, err = run_cli(capsys, "eval", run_dir, "--tta", "--smooth", "--json")
    assert code == 0, err
    assert 0 <= json.loads(out)["metrics"]["accuracy"] <= 1
    _, _, cat, _, path = _first_test_mesh(run_dir, tmp_path)
    code, out, err = run_cli(capsys, "predict", run_dir, path, "--category", cat, "--tta", "--json")
    assert code == 0, err
    labels = np.asarray(json.loads(out)["predictions"][0]["face_labels"])
    assert all(run.names[i].startswith(f"{cat}/") for i in np.unique(labels))
    # the head reads the category: a run with it refuses to run without one
    code, _, err = run_cli(capsys, "predict", run_dir, path)
    assert_one_line_error(code, err, "predict", "pass --category")


def _dataset_probabilities(run_dir, index: int, restrict: bool) -> np.ndarray:
    """Softmax of ``run_dir``'s model on its own test sample ``index`` (rows: the shape or its faces)."""
    from geolearn.train import Trainer

    run, test = _test_split(run_dir)
    model = load_model(run, collate_shapes([test[index]]), "cpu")
    config = run.config.train
    trainer = Trainer(model, config, task=run.config.task, run_dir=run.path, device="cpu", progress=False)
    assert config.restrict_to_category == restrict
    logits = trainer.predict(torch.utils.data.Subset(test, [index])).logits
    return torch.softmax(logits.double(), dim=1).numpy()


@pytest.mark.parametrize(
    ("task", "methods"), [("classify", ("pointnet", "d2")), ("segment", ("pointnet", "face_features"))]
)
def test_prediction_of_an_ensemble_averages_the_runs_probabilities(
    quick_demo: DemoRun, capsys, tmp_path, task, methods
):
    """--ensemble: a point network and a descriptor run (different representations) on a test mesh
    written to a file: the class / face labels of the mean of the two runs' probabilities on the
    dataset's own sample of it."""
    first, other = (quick_demo.run_dir(task, m) for m in methods)
    _, test, cat, _, path = _first_test_mesh(first, tmp_path)
    assert _test_split(other)[1][0]["source"] == test[0]["source"]  # the same test shape
    extra = ["--category", cat] if task == "segment" else []
    code, out, err = run_cli(
        capsys, "predict", first, path, *extra, "--ensemble", other, "--json", "-o", tmp_path / "o"
    )
    assert code == 0, err
    result = json.loads(out)
    pa, pb = (_dataset_probabilities(r, 0, restrict=task == "segment") for r in (first, other))
    mean = (pa + pb) / 2
    assert result["encoder"].count("+") == 1 and result["members"] == [str(first), str(other)]
    pred = result["predictions"][0]
    if task == "classify":
        assert pred["label"] == int(mean[0].argmax())
        assert pred["probability"] == pytest.approx(float(mean[0].max()), abs=1e-5)
    else:
        labels = np.asarray(pred["face_labels"])
        np.testing.assert_array_equal(labels, mean.argmax(axis=1))
        # the average is not either run alone on this mesh
        assert not np.array_equal(labels, pa.argmax(axis=1)) or not np.array_equal(labels, pb.argmax(axis=1))


def test_prediction_ensemble_of_another_task_is_a_one_line_error(quick_demo: DemoRun, capsys, tmp_path):
    seg, cls = quick_demo.run_dir("segment", "pointnet"), quick_demo.run_dir("classify", "pointnet")
    _, _, _, _, path = _first_test_mesh(cls, tmp_path)
    code, _, err = run_cli(capsys, "predict", cls, path, "--ensemble", seg)
    assert_one_line_error(
        code, err, "predict", f"--ensemble {seg}: a segment run, but {cls} is a classify run"
    )
    code, _, err = run_cli(capsys, "predict", cls, path, "--ensemble", tmp_path / "norun")
    assert_one_line_error(code, err, "predict", "no such run directory")
