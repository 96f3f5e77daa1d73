"""Every experiment config of ``experiments/configs`` is a valid ``geolearn train --config`` file."""

from __future__ import annotations

from pathlib import Path

import pytest

from geolearn.datasets.transforms import build_augmentation
from geolearn.jobs.training import experiment_representations
from geolearn.train.config import load_experiment_config

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "experiments" / "configs").glob("*.yaml"))


def test_there_are_configs() -> None:
    assert len(CONFIGS) >= 10


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_config_loads_and_builds_its_inputs(path: Path) -> None:
    config = load_experiment_config(path)
    assert config.encoder and config.data in ("../shared/data/ModelNet10.zip", "../shared/data/LabeledDB.zip")
    assert experiment_representations(config)  # the encoder takes its representation_kwargs
    build_augmentation(config.augment)
    prefix = {"classify": "modelnet10-", "segment": "labeleddb-"}[config.task]
    assert path.stem.startswith(prefix)


def test_run_all_scores_the_extra_variants_each_config_calls_for(tmp_path: Path) -> None:
    """run_all.py's extra test scores: TTA with symmetry augmentation, smoothing for segmentation,
    both when both apply — and the results table gets one column per score that some run has."""
    import importlib.util
    import json

    script = CONFIGS[0].parents[1] / "run_all.py"
    spec = importlib.util.spec_from_file_location("run_all", script)
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    sym, plain = tmp_path / "sym.yaml", tmp_path / "plain.yaml"
    sym.write_text("augment: {symmetry: {permute: false}}\n")
    plain.write_text("epochs: 1\n")
    assert run_all._extra_scores(sym, "segment") == ["tta", "smooth", "tta_smooth"]
    assert run_all._extra_scores(sym, "classify") == ["tta"]
    assert run_all._extra_scores(plain, "segment") == ["smooth"]
    assert run_all._extra_scores(plain, "classify") == []
    report = {
        "task": "segment",
        "encoder": "voxunet",
        "test": {"accuracy": 0.5, "miou": 0.25},
        "parameters": 10,
        "epochs": 2,
    }
    report |= {"best_epoch": 1, "seconds": {"fit": 60.0}}
    entry = {"report": report, "figures": [], "command": "c", "seed": 0, "commit": "x", "date": "d"}
    entry |= {"wall_seconds": 60.0, "load_average": [0, 0, 0]}
    scored = {"command": "e", "poses": 8, "test": {"accuracy": 0.625, "miou": 0.375}}
    entries = {"a": dict(entry, tta_smooth=scored), "b": dict(entry)}
    run_all._write_results(tmp_path, entries, smoke=False)
    text = (tmp_path / "results.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| experiment"))
    assert header.endswith("| wall min | TTA + smoothed |")  # only the score some run has
    rows = [line for line in text.splitlines() if line.startswith(("| a ", "| b "))]
    assert rows[0].endswith("| 62.5 / 37.5 (8 poses) |") and rows[1].endswith("| — |")
    assert json.loads((tmp_path / "results.json").read_text()) == entries
