from __future__ import annotations

import numpy as np
import pytest

from geolearn.datasets.base import interleaved_first
from geolearn.datasets.splits import carve_validation, split_by_fractions
from geolearn.errors import OptionError

LABELS = ["a"] * 20 + ["b"] * 7 + ["c"] * 1 + ["d"] * 2


def test_carve_validation_is_stratified_disjoint_and_seeded() -> None:
    tv = carve_validation(LABELS, 0.1, seed=3)
    assert np.intersect1d(tv.train, tv.val).size == 0
    assert np.array_equal(np.sort(np.concatenate([tv.train, tv.val])), np.arange(len(LABELS)))
    val_labels = [LABELS[i] for i in tv.val]
    # round(0.1 * n) per class, at least one when n >= 2, none for a singleton class
    assert val_labels.count("a") == 2
    assert val_labels.count("b") == 1
    assert val_labels.count("c") == 0
    assert val_labels.count("d") == 1
    again = carve_validation(LABELS, 0.1, seed=3)
    assert np.array_equal(again.val, tv.val)
    other = [carve_validation(LABELS, 0.1, seed=s).val.tolist() for s in range(5)]
    assert len({tuple(v) for v in other}) > 1


def test_class_split_does_not_depend_on_other_classes() -> None:
    only_a = carve_validation(["a"] * 20, 0.25, seed=1)
    mixed = carve_validation(["b"] * 5 + ["a"] * 20, 0.25, seed=1)
    assert np.array_equal(only_a.val + 5, mixed.val[mixed.val >= 5])


def test_split_by_fractions_partitions() -> None:
    s = split_by_fractions(LABELS, 0.1, 0.2, seed=0)
    allidx = np.concatenate([s.train, s.val, s.test])
    assert np.array_equal(np.sort(allidx), np.arange(len(LABELS)))
    test_labels = [LABELS[i] for i in s.test]
    assert test_labels.count("a") == 4
    assert test_labels.count("c") == 0


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_bad_fraction_raises(fraction: float) -> None:
    with pytest.raises(OptionError, match="val_fraction"):
        carve_validation(LABELS, fraction, seed=0)


def test_interleaved_first_takes_every_class_first() -> None:
    labels = [0] * 5 + [1] * 3 + [2] * 4
    pick = interleaved_first(labels, 5)
    assert sorted(labels[i] for i in pick) == [0, 0, 1, 1, 2]
    assert pick.tolist() == [0, 1, 5, 6, 8]
    assert interleaved_first(labels, 100).tolist() == list(range(12))
