"""``geolearn.jobs.analysis``: features and per-face predictions of trained runs (the quick demo's
runs), and per-category segmentation scores against hand-computed values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from geolearn.datasets.base import category_part_mask
from geolearn.errors import OptionError
from geolearn.jobs import analysis


def test_category_part_mask():
    names = ("Cup/body", "Cup/handle", "Vase/body", "Vase/neck", "Vase/base")
    mask = category_part_mask(names, ("Cup", "Vase"))
    np.testing.assert_array_equal(mask, [[1, 1, 0, 0, 0], [0, 0, 1, 1, 1]])
    assert category_part_mask(("body", "handle"), ("Cup",)).all()
    with pytest.raises(OptionError, match="Glass"):
        category_part_mask(names, ("Cup", "Glass"))


def test_category_scores_by_hand():
    # two Cup shapes and one Vase shape over 4 labels (Cup: 0, 1; Vase: 2, 3)
    truth = [np.array([0, 0, 1]), np.array([0, 1]), np.array([2, 3, 3])]
    pred = [np.array([0, 1, 1]), np.array([0, 1]), np.array([2, 2, 3])]
    area = [np.array([1.0, 1.0, 2.0]), np.array([1.0, 3.0]), np.array([1.0, 1.0, 1.0])]
    out = analysis.category_scores(pred, truth, area, np.array([0, 0, 1]), ("Cup", "Vase"), 4)
    # accuracy: shape 0: (1 + 2) / 4; shape 1: 1; shape 2: 2 / 3
    assert out["Cup"]["accuracy"] == pytest.approx((0.75 + 1.0) / 2)
    assert out["Vase"]["accuracy"] == pytest.approx(2 / 3)
    assert out["all"]["accuracy"] == pytest.approx((0.75 + 1.0 + 2 / 3) / 3)
    assert out["category_mean"]["accuracy"] == pytest.approx(((0.75 + 1.0) / 2 + 2 / 3) / 2)
    # Cup IoU, pooled: label 0: inter 2 (areas 1 + 1), union 3; label 1: inter 5, union 6
    assert out["Cup"]["miou"] == pytest.approx((2 / 3 + 5 / 6) / 2)
    # Vase: label 2: inter 1, union 2; label 3: inter 1, union 2
    assert out["Vase"]["miou"] == pytest.approx(0.5)
    assert out["all"]["shapes"] == 3 and out["Cup"]["shapes"] == 2
    with pytest.raises(OptionError, match="one entry per shape"):
        analysis.category_scores(pred[:2], truth, area, np.array([0, 0, 1]), ("Cup", "Vase"), 4)


def test_split_features_of_a_trained_classifier(quick_demo):
    feats = analysis.split_features(quick_demo.run_dir("classify", "pointnet"))
    n = len(feats.labels)
    assert n == len(feats.sources) > 0
    assert feats.features.shape[0] == n and feats.features.ndim == 2
    assert np.isfinite(feats.features).all()
    assert len(set(feats.sources)) == n  # every test shape once
    again = analysis.split_features(quick_demo.run_dir("classify", "pointnet"), batch_size=1)
    np.testing.assert_allclose(again.features, feats.features, rtol=1e-4, atol=1e-5)


def test_face_predictions_agree_with_the_trainer(quick_demo):
    run_dir = quick_demo.run_dir("segment", "face_features")
    preds = analysis.face_predictions(run_dir)
    names = preds.run.names
    mask = category_part_mask(tuple(names), tuple(preds.data.class_names))
    for p, r, t, a, c in zip(
        preds.predicted, preds.predicted_in_category, preds.truth, preds.areas, preds.categories, strict=True
    ):
        assert p.shape == r.shape == t.shape == a.shape
        assert mask[c][r].all()  # restricted predictions stay within the category's parts
        agree = mask[c][p]
        np.testing.assert_array_equal(r[agree], p[agree])  # and change only faces predicted outside it
    scores = analysis.category_scores(
        preds.predicted, preds.truth, preds.areas, preds.categories, preds.data.class_names, len(names)
    )
    # the same numbers as the trainer's test evaluation of that run
    test = json.loads((run_dir / "test_metrics.json").read_text())["test"]
    assert scores["all"]["accuracy"] == pytest.approx(test["accuracy"], abs=1e-6)
    assert scores["all"]["miou"] == pytest.approx(test["miou"], abs=1e-6)
    with pytest.raises(OptionError, match="no per-face predictions"):
        analysis.face_predictions(quick_demo.run_dir("classify", "pointnet"))


def test_face_predictions_of_an_ensemble_score_as_geolearn_eval(quick_demo):
    """Two runs' averaged probabilities: the report's per-category numbers come from the same
    predictions geolearn eval RUN RUN scores; a run with itself is that run."""
    from geolearn.jobs.evaluate import evaluate_run

    runs = [quick_demo.run_dir("segment", m) for m in ("pointnet", "face_features")]
    preds = analysis.face_predictions(runs)
    k = len(preds.run.names)
    scores = analysis.category_scores(
        preds.predicted, preds.truth, preds.areas, preds.categories, preds.data.class_names, k
    )
    scored = evaluate_run(runs, device="cpu", workers=0).metrics
    assert scores["all"]["accuracy"] == pytest.approx(scored["accuracy"], abs=1e-9)
    assert scores["all"]["miou"] == pytest.approx(scored["miou"], abs=1e-9)
    single = analysis.face_predictions(runs[0])
    twice = analysis.face_predictions([runs[0], runs[0]])
    for a, b in zip(single.predicted_in_category, twice.predicted_in_category, strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(
        not np.array_equal(a, b) for a, b in zip(single.predicted, preds.predicted, strict=True)
    )  # the ensemble is not its first member


def test_bootstrap_interval_against_a_slow_reference():
    """The vectorised resampling equals a loop drawing the same indices; analytic edge cases."""
    rng = np.random.default_rng(3)
    values = rng.uniform(0.5, 1.0, size=12)
    groups = np.repeat([0, 1, 2], 4)
    lo, hi = analysis.bootstrap_interval(values, groups, resamples=500, seed=7)
    # slow reference: the same generator calls, one resample at a time
    ref_rng = np.random.default_rng(7)
    draws = {c: ref_rng.integers(0, 4, size=(500, 4)) for c in (0, 1, 2)}
    means = []
    for r in range(500):
        picked = [values[groups == c][draws[c][r]] for c in (0, 1, 2)]
        means.append(np.mean(np.concatenate(picked)))
    assert (lo, hi) == pytest.approx(tuple(np.percentile(means, [2.5, 97.5])), abs=1e-12)
    assert lo < values.mean() < hi
    # constant values: no spread; one value per group: nothing to resample
    assert analysis.bootstrap_interval(np.full(8, 0.9)) == pytest.approx((0.9, 0.9))
    assert analysis.bootstrap_interval(values[:3], np.arange(3)) == pytest.approx((values[:3].mean(),) * 2)
    # more shapes of the same spread: a narrower interval
    wide = np.subtract(*analysis.bootstrap_interval(values[:4])[::-1])
    narrow = np.subtract(*analysis.bootstrap_interval(np.tile(values[:4], 25))[::-1])
    assert narrow < wide / 3
    for bad, kwargs, message in (
        ([], {}, "non-empty"),
        ([0.5, np.nan], {}, "finite"),
        ([0.5, 0.6], {"groups": [0]}, "1 group labels for 2 values"),
        ([0.5], {"level": 1.0}, "level"),
        ([0.5], {"resamples": 10}, "resamples"),
    ):
        with pytest.raises(OptionError, match=message):
            analysis.bootstrap_interval(np.asarray(bad, dtype=float), **kwargs)
