"""``experiments/report.py`` on the quick demo's runs: every run gets its row with the numbers it was
trained to, the 1-NN baseline and the figures are written, and a results.json that disagrees with
its run directory is refused."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from jobs_helpers import assert_png

ROOT = Path(__file__).resolve().parents[2]


def _report_module():
    spec = importlib.util.spec_from_file_location("experiments_report", ROOT / "experiments" / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _results(quick_demo, where: Path) -> dict:
    where.mkdir()
    entries = {}
    for task, methods in (("classify", ("pointnet", "d2")), ("segment", ("pointnet", "face_features"))):
        for method in methods:
            run = quick_demo.run_dir(task, method)
            name = f"{task}-{method}"
            (where / name).symlink_to(run, target_is_directory=True)
            report = json.loads((run / "test_metrics.json").read_text())
            entries[name] = {"report": report, "commit": "abc", "command": "x"}
    (where / "results.json").write_text(json.dumps(entries))
    return entries


def test_report_on_the_quick_demo_runs(quick_demo, tmp_path):
    results = tmp_path / "results"
    entries = _results(quick_demo, results)
    assert _report_module().main(["--results", str(results)]) == 0
    text = (results / "report.md").read_text()
    for name, e in entries.items():
        row = next(line for line in text.splitlines() if line.startswith(f"| {name} |"))
        assert f"| {100 * e['report']['test']['accuracy']:.1f} |" in row
    assert "| osada-d2 (1-NN, L1" in text
    assert "*published:* VoxNet" in text
    for png in ("report-classify-embeddings", "report-d2-per-class", "report-segment-curves"):
        assert_png(results / "figures" / f"{png}.png")
    assert list((results / "figures").glob("report-segment-*.png"))  # rendered segmentations


def test_report_refuses_results_that_disagree_with_the_runs(quick_demo, tmp_path):
    results = tmp_path / "results"
    entries = _results(quick_demo, results)
    entries["segment-pointnet"]["report"]["test"]["accuracy"] += 0.25
    (results / "results.json").write_text(json.dumps(entries))
    with pytest.raises(SystemExit, match="disagree"):
        _report_module().main(["--results", str(results), "--only", "segment"])


def test_report_has_the_ensembles_per_category(quick_demo, tmp_path):
    """An ensemble entry (as run_all.py writes it): its row, its per-category table beside its
    members, and a recorded score the runs do not reproduce is refused."""
    from geolearn.jobs.evaluate import evaluate_run

    results = tmp_path / "results"
    entries = _results(quick_demo, results)
    members = ["segment-pointnet", "segment-face_features"]
    m = evaluate_run([results / n for n in members], device="cpu", workers=0).metrics
    entries["segment-both"] = {
        "ensemble": {"members": members, "kind": "hybrid"},
        "task": "segment",
        "plain": {"command": "x", "test": {"accuracy": m["accuracy"], "miou": m["miou"]}},
        "commit": "abc",
    }
    (results / "results.json").write_text(json.dumps(entries))
    assert _report_module().main(["--results", str(results), "--only", "segment"]) == 0
    text = (results / "report.md").read_text()
    assert "### Ensembles" in text
    row = next(line for line in text.splitlines() if line.startswith("| segment-both | hybrid |"))
    assert f"| {100 * m['accuracy']:.1f} / {100 * m['miou']:.1f} |" in row
    import re

    lo, hi = map(float, re.search(r"\| (\d+\.\d)–(\d+\.\d) \|", row).groups())  # the bootstrap interval
    assert lo <= 100 * m["accuracy"] + 0.05 and hi >= 100 * m["accuracy"] - 0.05
    header = next(line for line in text.splitlines() if line.startswith("| category | segment-both |"))
    assert header == "| category | segment-both | segment-pointnet | segment-face_features |"
    entries["segment-both"]["plain"]["test"]["accuracy"] += 0.1
    (results / "results.json").write_text(json.dumps(entries))
    with pytest.raises(SystemExit, match="ensemble segment-both: test accuracy"):
        _report_module().main(["--results", str(results), "--only", "segment"])
