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
