"""Metrics against hand-computed values and against a slow, obvious reference."""

from __future__ import annotations

import math

import pytest
import torch

from geolearn.errors import OptionError
from geolearn.train import metrics
from geolearn.train.tasks import Segmentation, get_task

# 6 items of 3 classes: true 0 0 0 1 1 2, predicted 0 1 0 1 2 2
TRUE = torch.tensor([0, 0, 0, 1, 1, 2])
PRED = torch.tensor([0, 1, 0, 1, 2, 2])
HAND = torch.tensor([[2, 1, 0], [0, 1, 1], [0, 0, 1]])


def test_confusion_matrix_by_hand(device):
    c = metrics.confusion_matrix(PRED.to(device), TRUE.to(device), 3)
    assert c.dtype == torch.int64
    assert torch.equal(c.cpu(), HAND)


def test_weighted_confusion_matrix_by_hand():
    w = torch.tensor([1.0, 2.0, 3.0, 0.5, 0.25, 4.0])
    c = metrics.confusion_matrix(PRED, TRUE, 3, weight=w)
    assert c.dtype == torch.float64
    assert c.tolist() == [[4.0, 2.0, 0.0], [0.0, 0.5, 0.25], [0.0, 0.0, 4.0]]


def test_accuracies_by_hand():
    assert metrics.accuracy(HAND) == pytest.approx(4 / 6)
    assert metrics.per_class_accuracy(HAND).tolist() == pytest.approx([2 / 3, 1 / 2, 1.0])
    assert metrics.mean_class_accuracy(HAND) == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)


def test_iou_by_hand():
    # class 0: inter 2, union 3+2-2 = 3; class 1: inter 1, union 2+2-1 = 3; class 2: inter 1, union 1+2-1 = 2
    assert metrics.per_class_iou(HAND).tolist() == pytest.approx([2 / 3, 1 / 3, 1 / 2])
    assert metrics.mean_iou(HAND) == pytest.approx((2 / 3 + 1 / 3 + 1 / 2) / 3)


def test_absent_classes():
    # class 3 never occurs; class 2 is only predicted (a false positive): IoU 0 but not "present"
    c = metrics.confusion_matrix(torch.tensor([0, 2, 1]), torch.tensor([0, 0, 1]), 4)
    acc = metrics.per_class_accuracy(c)
    assert acc[:2].tolist() == [0.5, 1.0]
    assert math.isnan(acc[2])
    assert math.isnan(acc[3])
    iou = metrics.per_class_iou(c)
    assert iou[:3].tolist() == [0.5, 1.0, 0.0]
    assert math.isnan(iou[3])
    assert metrics.mean_class_accuracy(c) == pytest.approx(0.75)
    assert metrics.mean_iou(c) == pytest.approx(0.75)  # over parts present in the ground truth: 0, 1


def test_empty_inputs_give_nan():
    c = metrics.confusion_matrix(torch.zeros(0, dtype=torch.long), torch.zeros(0, dtype=torch.long), 2)
    assert math.isnan(metrics.accuracy(c))
    assert math.isnan(metrics.mean_class_accuracy(c))
    assert math.isnan(metrics.mean_iou(c))


def reference_confusion(pred, true, k, weight):
    c = [[0.0] * k for _ in range(k)]
    for p, t, w in zip(pred.tolist(), true.tolist(), weight.tolist(), strict=True):
        c[t][p] += w
    return torch.tensor(c, dtype=torch.float64)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_against_slow_reference(seed):
    g = torch.Generator().manual_seed(seed)
    k, m = 5, 300
    pred, true = torch.randint(0, k, (m,), generator=g), torch.randint(0, k, (m,), generator=g)
    w = torch.rand(m, generator=g, dtype=torch.float64)
    c = metrics.confusion_matrix(pred, true, k, weight=w)
    torch.testing.assert_close(c, reference_confusion(pred, true, k, w))
    for i in range(k):
        inter = float(w[(pred == i) & (true == i)].sum())
        union = float(w[(pred == i) | (true == i)].sum())
        assert float(metrics.per_class_iou(c)[i]) == pytest.approx(inter / union)
        assert float(metrics.per_class_accuracy(c)[i]) == pytest.approx(inter / float(w[true == i].sum()))


def test_per_shape_accuracy_by_hand():
    # shape 0: faces of area 1, 3 (second wrong) → 1/4; shape 1: no faces → NaN; shape 2: area 2, 2, right → 1
    pred = torch.tensor([0, 1, 2, 2])
    true = torch.tensor([0, 0, 2, 2])
    area = torch.tensor([1.0, 3.0, 2.0, 2.0])
    ptr = torch.tensor([0, 2, 2, 4])
    acc = metrics.per_shape_accuracy(pred, true, area, ptr)
    assert acc[0] == pytest.approx(0.25)
    assert math.isnan(acc[1])
    assert acc[2] == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            lambda: metrics.confusion_matrix(torch.tensor([0, 3]), torch.tensor([0, 1]), 3),
            r"\[0, 3\), found 3",
        ),
        (lambda: metrics.confusion_matrix(torch.tensor([0, -1]), torch.tensor([0, 1]), 3), "found -1"),
        (lambda: metrics.confusion_matrix(torch.tensor([0]), torch.tensor([0, 1]), 3), "equal length"),
        (lambda: metrics.per_shape_accuracy(PRED, TRUE, torch.ones(6), torch.tensor([0, 5])), "ptr must run"),
    ],
)
def test_bad_inputs_raise(call, message):
    with pytest.raises(OptionError, match=message):
        call()


def test_segmentation_summary_by_hand():
    """Two shapes, two parts; the point logits are one-hot so face predictions are known."""
    task = get_task("segment")
    assert isinstance(task, Segmentation)
    # shape 0: 3 faces (areas 1, 1, 2; labels 0, 0, 1), shape 1: 2 faces (areas 1, 3; labels 1, 0)
    # one point per face, predicting 0, 1, 1 | 1, 1 → shape 0 wrong on face 1; shape 1 wrong on face 1
    point_pred = torch.tensor([[0, 1, 1], [1, 1, 0]])  # shape 1's third point duplicates face 0
    point_face = torch.tensor([[0, 1, 2], [0, 1, 0]])
    logits = torch.nn.functional.one_hot(point_pred, 2).permute(0, 2, 1).float() * 5  # (B, K, N)
    logits[1, :, 2] = logits[1, :, 0]  # both points on face 0 of shape 1 agree
    batch = {
        "point_face": point_face,
        "point_labels": torch.tensor([[0, 0, 1], [1, 0, 1]]),
        "points": torch.zeros(2, 3, 3),
        "face_ptr": torch.tensor([0, 3, 5]),
        "face_labels": torch.tensor([0, 0, 1, 1, 0]),
        "face_areas": torch.tensor([1.0, 1.0, 2.0, 1.0, 3.0]),
        "face_centroids": torch.zeros(5, 3),
    }
    out = task.summarize(task.eval_stats(logits, batch))
    # per-shape labelled area: shape 0 (1 + 2) / 4, shape 1 1 / 4 → mean 0.5
    assert out["accuracy"] == pytest.approx((3 / 4 + 1 / 4) / 2)
    # area confusion: true 0 → pred 0: 1, pred 1: 1 + 3; true 1 → pred 1: 2 + 1
    assert out["confusion"] == [[1.0, 4.0], [0.0, 3.0]]
    assert out["per_part_iou"] == pytest.approx([1 / 5, 3 / 7])
    assert out["miou"] == pytest.approx((1 / 5 + 3 / 7) / 2)
    assert out["point_accuracy"] == 4 / 6  # points: 0 1 1 | 1 1 1 vs 0 0 1 | 1 0 1


def test_classification_summary_by_hand():
    task = get_task("classify")
    logits = torch.nn.functional.one_hot(PRED, 3).float()
    out = task.summarize(task.eval_stats(logits, {"label": TRUE}))
    assert out["accuracy"] == pytest.approx(4 / 6)
    assert out["confusion"] == HAND.tolist()
    assert out["per_class_accuracy"] == pytest.approx([2 / 3, 1 / 2, 1.0])
