"""TrainConfig / ExperimentConfig: defaults, typed overrides, YAML files, clear errors."""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from geolearn.errors import OptionError
from geolearn.train.config import ExperimentConfig, TrainConfig, load_experiment_config, parse_overrides


def test_defaults_are_valid_and_flat_keys_are_unique():
    config = ExperimentConfig()
    flat = config.to_flat_dict()
    top = {f.name for f in dataclasses.fields(ExperimentConfig)} - {"train"}
    assert not top & {f.name for f in dataclasses.fields(TrainConfig)}
    assert len(flat) == len(top) + len(dataclasses.fields(TrainConfig))
    assert ExperimentConfig.from_flat_dict(flat) == config


@pytest.mark.parametrize(
    ("item", "key", "value"),
    [
        ("lr=1e-3", "lr", 0.001),  # YAML 1.1 reads this as text; the float field converts it
        ("lr=2", "lr", 2.0),
        ("epochs=7", "epochs", 7),
        ("amp=false", "amp", False),
        ("class_weights=[1, 2.5]", "class_weights", [1.0, 2.5]),
        ("class_weights=null", "class_weights", None),
        ("limit_train_batches=5", "limit_train_batches", 5),
        ("limit_train_batches=0.25", "limit_train_batches", 0.25),
        ("encoder=pointnet", "encoder", "pointnet"),
        ("data=123", "data", "123"),  # a str field keeps the text
        ("data=null", "data", None),
        ("max_shapes=40", "max_shapes", 40),
        ("representation_kwargs={num_points: 256}", "representation_kwargs", {"num_points": 256}),
        ("model_kwargs={k: 10, head_dropout: 0.1}", "model_kwargs", {"k": 10, "head_dropout": 0.1}),
        (
            "augment={symmetry: {flip: xz}, jitter: null}",
            "augment",
            {"symmetry": {"flip": "xz"}, "jitter": None},
        ),
    ],
)
def test_overrides_are_typed_by_the_fields(item, key, value):
    config = load_experiment_config(overrides=parse_overrides([item]))
    got = config.to_flat_dict()[key]
    assert got == value
    assert type(got) is type(value)


@pytest.mark.parametrize(
    ("item", "message"),
    [
        ("lrr=0.1", r"unknown option 'lrr' \(did you mean 'lr'\?\)"),
        ("bogus=1", "unknown option 'bogus'"),
        ("epochs=many", "option epochs: expected int, got 'many'"),
        ("epochs=2.5", "option epochs: expected int"),
        ("amp=maybe", "option amp: expected bool"),
        ("limit_val_batches=x", "option limit_val_batches: expected int or float"),
        ("optimizer=rmsprop", "option optimizer: must be one of sgd, adam, adamw"),
        ("schedule=linear", "option schedule: must be one of"),
        ("task=detect", "option task: must be one of classify, segment"),
        ("gamma=0", r"option gamma: must be in \(0, 1\]"),
        ("lr=-1", "option lr: must be a positive number"),
        ("limit_train_batches=1.5", "a float is a fraction"),
        ("limit_train_batches=0", "an int is a number of batches"),
        ("class_weights=[1, -2]", "class_weights: must be non-negative"),
        ("label_smoothing=1", r"label_smoothing: must be in \[0, 1\)"),
        ("val_fraction=1", "val_fraction: must be in"),
        ("val_fraction=-0.1", "val_fraction: must be in"),
        ("model_kwargs=[1]", "option model_kwargs: expected dict"),
        ("augment={shear: {}}", "option augment: unknown transform 'shear'"),
        ("augment={symmetry: {flip: w}}", "RandomSymmetry: flip must name"),
        ("augment={jitter: {sigm: 1}}", "option augment: jitter: .*sigm"),
        ("novalue", "expected key=value"),
    ],
)
def test_bad_options_name_the_key(item, message):
    with pytest.raises(OptionError, match=message):
        load_experiment_config(overrides=parse_overrides([item]))


def test_warmup_with_plateau_is_refused():
    with pytest.raises(OptionError, match="warmup_epochs"):
        TrainConfig(schedule="plateau", warmup_epochs=2)


def test_yaml_file_then_overrides(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("encoder: voxnet\nepochs: 3\nlr: 1.0e-2\nschedule: step\n")
    config = load_experiment_config(path, parse_overrides(["epochs=5"]))
    assert config.encoder == "voxnet"
    assert config.train.epochs == 5
    assert config.train.lr == 0.01
    assert config.train.schedule == "step"


def test_written_config_reads_back(tmp_path):
    config = load_experiment_config(
        overrides=parse_overrides(["encoder=pointnet", "class_weights=[1, 2]", "limit_val_batches=3"])
    )
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config.to_flat_dict()))
    assert load_experiment_config(path) == config


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "expected a mapping"),
        ("epochs: [\n", "not valid YAML"),
        ("epoch: 3\n", "unknown option 'epoch'"),
    ],
)
def test_bad_files_name_the_file(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(OptionError, match=f"--config {path}.*{message}"):
        load_experiment_config(path)


def test_missing_file():
    with pytest.raises(OptionError, match="cannot read"):
        load_experiment_config("/nonexistent/exp.yaml")
