"""``geolearn train`` end to end on the embedded dataset (tiny: a few shapes, 64 points, 1-2 epochs),
in this process, and once under ``torchrun`` with two CPU processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from geolearn.cli import main
from geolearn.train.config import load_experiment_config

TINY = [
    "--max-shapes",
    "8",
    "--batch-size",
    "4",
    "--set",
    "representation_kwargs={num_points: 64}",
    "--quiet",
]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def _cache(cache_dir, monkeypatch):
    monkeypatch.setenv("GEOLEARN_CACHE", str(cache_dir))


def train(capsys, *argv: str) -> dict:
    code = main(["train", *argv, "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


def test_help_names_the_registered_encoders(capsys):
    from geolearn.nn import list_encoders

    with pytest.raises(SystemExit) as exc:
        main(["train", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "--max-shapes" in text
    for name in list_encoders():
        assert f"  {name} " in text


def test_classify_end_to_end_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    report = train(
        capsys, "--task", "classify", "--encoder", "pointnet", "--epochs", "1", "--out", str(out), *TINY
    )
    assert report["shapes"] == {"train": 8, "val": 8, "test": 8}
    assert report["epochs"] == 1
    assert report["best_epoch"] == 0
    assert 0 <= report["test"]["accuracy"] <= 1
    assert len(report["test"]["confusion"]) == len(report["classes"]) == 8
    assert json.loads((out / "test_metrics.json").read_text()) == report
    config = load_experiment_config(out / "config.yaml")
    assert config.encoder == "pointnet"
    assert config.max_shapes == 8
    assert config.representation_kwargs == {"num_points": 64}
    for name in ("run.json", "metrics.csv", "metrics.json", "last.pt", "best.pt"):
        assert (out / name).is_file()

    # continue the same run for one more epoch: options come from its config.yaml
    report = train(capsys, "--out", str(out), "--resume", "--epochs", "2", "--quiet")
    assert report["epochs"] == 2
    assert len(json.loads((out / "metrics.json").read_text())) == 2

    code = main(["train", "--out", str(out), "--resume", "--lr", "0.5", "--quiet"])
    assert code == 2
    assert "cannot resume with different options: lr" in capsys.readouterr().err
    code = main(["train", "--out", str(out), "--resume", "--encoder", "dgcnn", "--quiet"])
    assert code == 2
    assert "--resume: cannot change encoder (run 'pointnet', now 'dgcnn')" in capsys.readouterr().err


def test_segment_end_to_end(tmp_path, capsys):
    report = train(
        capsys,
        "--task",
        "segment",
        "--encoder",
        "pointnet",
        "--epochs",
        "1",
        "--out",
        str(tmp_path / "seg"),
        *TINY,
    )
    test = report["test"]
    assert {"accuracy", "miou", "per_part_iou", "point_accuracy"} <= set(test)
    assert len(test["per_part_iou"]) == len(report["classes"])  # part labels of the embedded classes


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--encoder", "pointnet", "--set", "bogus=1"], "unknown option 'bogus'"),
        (["--encoder", "pointnet", "--set", "epochs=two"], "option epochs: expected int"),
        (["--encoder", "nonesuch"], "encoder 'nonesuch' is unknown; registered: "),
        ([], "--encoder is required; registered: "),
        (["--encoder", "voxnet", "--task", "segment"], "voxnet cannot segment"),
        (["--encoder", "pointnet", "--resume"], "holds no run to resume"),
        (["--encoder", "pointnet", "--device", "tpu"], "--device 'tpu': not a device"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path, capsys, argv, message):
    code = main(["train", "--out", str(tmp_path / "run"), *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err
    assert err.startswith("geolearn train: error: ")
    assert err.count("\n") == 1


def test_config_file_and_flags(tmp_path, capsys):
    path = tmp_path / "exp.yaml"
    path.write_text("task: classify\nencoder: pointnet\nepochs: 3\nlr: 1.0e-2\nfast_dev_run: 1\n")
    report = train(capsys, "--config", str(path), "--epochs", "1", "--out", str(tmp_path / "run"), *TINY)
    assert report["epochs"] == 1  # fast_dev_run: one epoch
    config = load_experiment_config(tmp_path / "run" / "config.yaml")
    assert config.train.lr == 0.01
    assert config.train.epochs == 1  # the flag wins over the file


def test_torchrun_two_processes(tmp_path, cache_dir):
    """DDP on two CPU processes (gloo): the all-reduced test metrics equal a single-process
    evaluation of the saved best weights on the whole test split. ``--standalone``: a free port."""
    out = tmp_path / "ddp"
    env = {**os.environ, "GEOLEARN_CACHE": str(cache_dir), "OMP_NUM_THREADS": "1"}
    argv = [
        "--task",
        "classify",
        "--encoder",
        "pointnet",
        "--epochs",
        "1",
        "--out",
        str(out),
        *TINY,
        "--json",
    ]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        "-m",
        "geolearn",
        "train",
        *argv,
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout)
    assert report["world_size"] == 2
    assert json.loads((out / "test_metrics.json").read_text()) == report

    from geolearn.datasets import open_dataset
    from geolearn.nn import create_model
    from geolearn.nn.registry import get_encoder_info
    from geolearn.train import Trainer, load_experiment_config

    config = load_experiment_config(out / "config.yaml")
    reps = get_encoder_info("pointnet").default_representations("classify", num_points=64)
    test = open_dataset(None, task="classify", split="test", representations=reps, max_shapes=8)
    model = create_model("pointnet", "classify", num_classes=test.num_classes)
    model.load_state_dict(torch.load(out / "best.pt", weights_only=True)["model"])
    trainer = Trainer(
        model, config.train, task="classify", run_dir=tmp_path / "eval", device="cpu", progress=False
    )
    single = trainer.evaluate(test)
    assert single["confusion"] == report["test"]["confusion"]
    assert single["loss"] == pytest.approx(report["test"]["loss"], rel=1e-5)


def test_augmentation_reaches_the_training_split_only(tmp_path, capsys):
    from geolearn.jobs.training import experiment_representations, open_splits

    config = load_experiment_config(
        overrides={"task": "segment", "encoder": "voxunet", "max_shapes": 4, "augment": {"symmetry": {}}}
    )
    reps = experiment_representations(config)
    splits = open_splits(config, reps, workers=0, augment_train=True).datasets
    assert repr(splits["train"].transform) == "Compose([RandomSymmetry(permute=True, flip='xyz')])"
    assert splits["val"].transform is None and splits["test"].transform is None
    plain = open_splits(config, reps, names=("train",), workers=0).datasets["train"]
    assert plain.transform is None  # features, evaluation and prediction read the shapes as they are
    moved = [not torch.equal(splits["train"][i]["voxels"], plain[i]["voxels"]) for i in range(len(plain))]
    assert any(moved)
    report = train(
        capsys,
        *("--task", "segment", "--encoder", "voxunet", "--epochs", "1", "--out", str(tmp_path / "vox")),
        *(
            "--set",
            "augment={symmetry: {}}",
            "--set",
            "representation_kwargs={resolution: 8, num_points: 64}",
        ),
        *TINY[:4],
        "--quiet",
    )
    assert report["test"]["accuracy"] >= 0
    assert load_experiment_config(tmp_path / "vox" / "config.yaml").augment == {"symmetry": {}}


def test_augmentation_that_cannot_apply_is_a_one_line_error(tmp_path, capsys):
    code = main(
        [
            "train",
            "--encoder",
            "mvcnn",
            "--set",
            "augment={symmetry: {}}",
            "--epochs",
            "1",
            "--set",
            "representation_kwargs={num_views: 2, size: 16}",
            *TINY[:4],
            "--quiet",
            "--out",
            str(tmp_path / "run"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("geolearn train: error: ") and "cannot transform views" in err
    assert err.count("\n") == 1


def test_without_validation_the_last_epoch_is_the_run(tmp_path, capsys):
    """val_fraction=0: no validation split is opened, best.pt holds the last epoch's weights, and
    eval scores exactly what training scored on the test split."""
    out = tmp_path / "noval"
    report = train(
        capsys,
        *("--encoder", "pointnet", "--epochs", "2", "--out", str(out), "--set", "val_fraction=0"),
        *TINY,
    )
    assert "val" not in report["shapes"] and report["val"] == {}
    assert report["best_epoch"] == 1 and report["epochs"] == 2
    best = torch.load(out / "best.pt", weights_only=False)
    last = torch.load(out / "last.pt", weights_only=False)
    assert all(torch.equal(best["model"][k], last["model"][k]) for k in last["model"])
    code = main(["eval", str(out), "--json", "--quiet"])
    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["metrics"]["accuracy"] == report["test"]["accuracy"]
    assert all("val/accuracy" not in row for row in json.loads((out / "metrics.json").read_text()))
