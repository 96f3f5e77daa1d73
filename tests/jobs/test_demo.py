"""``geolearn demo --quick``: both comparisons, their tables and every picture, end to end."""

from __future__ import annotations

import re
from pathlib import Path

from jobs_helpers import DemoRun, assert_one_line_error, assert_png, run_cli

from geolearn.jobs.demo import PLANS


def test_quick_demo_reports_every_method(quick_demo: DemoRun):
    report = quick_demo.report
    assert report["plan"] == "quick"
    plan = PLANS["quick"]
    classify, segment = report["classify"], report["segment"]
    assert [r["method"] for r in classify["results"]] == [*plan.classify_methods, "osada-d2"]
    assert [r["method"] for r in segment["results"]] == list(plan.segment_methods)
    per_class = plan.classify_shapes
    assert classify["shapes"] == {k: 8 * v for k, v in per_class.items()}  # 8 embedded classes
    for comp, second in ((classify, "mean_class_accuracy"), (segment, "miou")):
        for r in comp["results"]:
            m = r["metrics"]
            assert 0.0 <= m["accuracy"] <= 1.0
            assert 0.0 <= m[second] <= 1.0
            assert r["inference_ms"] > 0 and r["features_ms"] > 0
            if r["kind"] == "retrieval":
                assert r["parameters"] == 0 and r["run_dir"] is None
            else:
                assert r["parameters"] > 0 and r["train_seconds"] > 0
                assert r["epochs"] == plan.epochs
                run = Path(r["run_dir"])
                assert (run / "best.pt").is_file() and (run / "test_metrics.json").is_file()
    # segmentation is scored with each shape's class given, as in the LabeledDB experiments
    from geolearn.jobs.runs import read_run

    for r in segment["results"]:
        assert read_run(r["run_dir"]).config.train.restrict_to_category
    for r in classify["results"]:
        if r["run_dir"] is not None:
            assert not read_run(r["run_dir"]).config.train.restrict_to_category
    # the demo's shapes are its budget, nothing more
    assert report["budget"]["classify_shapes"] == per_class
    assert report["provenance"]["commit"]
    assert report["seconds"] > 0


def test_quick_demo_writes_tables_and_pictures(quick_demo: DemoRun):
    out = quick_demo.out
    figures = [Path(f) for f in quick_demo.report["figures"]]
    names = {f.name for f in figures}
    assert {"d2-per-class.png", "curves.png", "confusion-osada-d2.png"} <= names
    assert any(n.startswith("embedding-") for n in names)
    assert any(n.startswith("segmentation-") for n in names)
    for f in figures:
        assert_png(f)
    md = (out / "demo.md").read_text()
    assert "small quick demo budget" in md
    # every table row of the markdown and every link in it resolves
    for method in ("pointnet", "d2", "osada-d2", "face_features"):
        assert re.search(rf"^\| {re.escape(method)} \|", md, re.M), method
    links = re.findall(r"\]\(([^)]+)\)", md)
    assert len(links) >= len(figures)
    for link in links:
        assert (out / link).is_file(), link
    for task in ("classify", "segment"):
        assert (out / task / "compare.md").is_file()
        assert (out / task / "compare.json").is_file()


def test_quick_demo_is_quick(quick_demo: DemoRun):
    # the budget the tests rely on; generous for a loaded 2-core machine
    assert quick_demo.seconds < 90, quick_demo.seconds


def test_bad_demo_options_are_one_line_errors(capsys, tmp_path):
    code, _, err = run_cli(capsys, "demo", "--quick", "--threads", "0", "--out", tmp_path / "d")
    assert_one_line_error(code, err, "demo", "--threads must be at least 1")
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli(capsys, "demo", "--quick", "--out", tmp_path / "file")
    assert_one_line_error(code, err, "demo", "exists and is not a directory")
