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


def _run_all():
    import importlib.util

    script = CONFIGS[0].parents[1] / "run_all.py"
    spec = importlib.util.spec_from_file_location("run_all", script)
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    return run_all


ENSEMBLES = sorted((Path(__file__).resolve().parents[2] / "experiments" / "ensembles").glob("*.yaml"))


@pytest.mark.parametrize("path", ENSEMBLES, ids=[p.stem for p in ENSEMBLES])
def test_ensemble_files_name_experiments_of_one_task(path: Path) -> None:
    spec = _run_all()._ensemble(path)
    tasks = {load_experiment_config(CONFIGS[0].parent / f"{m}.yaml").task for m in spec["members"]}
    assert len(tasks) == 1


def test_run_all_scores_an_ensemble_of_finished_runs(quick_demo, tmp_path: Path, monkeypatch) -> None:
    """An ensemble file of two finished runs: run_all scores it with ``geolearn eval RUN RUN`` (plain
    and smoothed for segmentation), records the commands, and writes its own table; a bad file or a
    member without a finished run is reported, not scored."""
    import json
    import shutil

    run_all = _run_all()
    configs, ensembles, results = tmp_path / "configs", tmp_path / "ensembles", tmp_path / "results"
    for d in (configs, ensembles, results):
        d.mkdir()
    for method in ("pointnet", "face_features"):
        run = quick_demo.run_dir("segment", method)
        shutil.copy(run / "config.yaml", configs / f"seg-{method}.yaml")
        (results / f"seg-{method}").symlink_to(run, target_is_directory=True)
    monkeypatch.setattr(run_all, "CONFIGS", configs)
    monkeypatch.setattr(run_all, "ENSEMBLES", ensembles)
    good = ensembles / "seg-both.yaml"
    good.write_text("members: [seg-pointnet, seg-face_features]\nkind: learned\n")
    entry = run_all._score_ensemble(good, results, "cpu", "abc")
    assert "error" not in entry, entry
    assert set(entry) >= {"plain", "smooth"} and "tta" not in entry  # neither member augments by symmetry
    members = [str((results / f"seg-{m}").resolve()) for m in ("pointnet", "face_features")]
    assert entry["command"].startswith(f"python -m geolearn eval {members[0]} {members[1]} --json")
    assert entry["smooth"]["command"].startswith(
        f"python -m geolearn eval {members[0]} {members[1]} --smooth"
    )
    scored = json.loads((results / "seg-both" / "eval-test-ensemble-smooth.json").read_text())
    assert scored["members"] == members
    assert entry["smooth"]["test"]["accuracy"] == scored["metrics"]["accuracy"]
    run_all._write_results(results, {"seg-both": entry}, smoke=False)
    text = (results / "results.md").read_text()
    assert "## ensembles" in text and "| seg-both | learned | seg-pointnet, seg-face_features |" in text
    missing = ensembles / "seg-missing.yaml"
    (configs / "seg-other.yaml").write_text("task: segment\n")
    missing.write_text("members: [seg-pointnet, seg-other]\nkind: learned\n")
    assert "no finished run of seg-other" in run_all._score_ensemble(missing, results, "cpu", "abc")["error"]
    for text, message in (
        ("members: [seg-pointnet]\nkind: learned\n", "two or more experiments"),
        ("members: [seg-pointnet, seg-nonesuch]\nkind: learned\n", "two or more experiments"),
        ("members: [seg-pointnet, seg-face_features]\nkind: magic\n", "kind must be one of"),
        ("members: [seg-pointnet, seg-face_features]\n", "expected the keys members and kind"),
    ):
        good.write_text(text)
        with pytest.raises(SystemExit, match=message):
            run_all._ensemble(good)
