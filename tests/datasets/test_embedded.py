from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from geolearn.datasets import EmbeddedShapes, Points, open_dataset
from geolearn.datasets.embedded import DEFAULT_NUM_PER_CLASS, shape_seed
from geolearn.datasets.synthetic import SYNTHETIC_CLASSES, part_names
from geolearn.errors import OptionError


def test_default_sizes_and_classes() -> None:
    ds = EmbeddedShapes("train", cache=False)
    assert ds.class_names == SYNTHETIC_CLASSES
    assert len(ds) == DEFAULT_NUM_PER_CLASS["train"] * len(SYNTHETIC_CLASSES)
    assert set(ds.class_counts().values()) == {DEFAULT_NUM_PER_CLASS["train"]}
    assert isinstance(open_dataset(None, cache=False), EmbeddedShapes)
    total = sum(len(EmbeddedShapes(s, cache=False)) for s in ("train", "val", "test"))
    assert len(EmbeddedShapes("all", cache=False)) == total


def test_splits_are_disjoint_and_deterministic() -> None:
    parts = {s: EmbeddedShapes(s, num_per_class=6, cache=False).sources for s in ("train", "val", "test")}
    assert all(len(set(v)) == len(v) for v in parts.values())
    assert not (set(parts["train"]) & set(parts["val"]))
    assert not (set(parts["train"]) & set(parts["test"]))
    assert not set(parts["val"]) & set(parts["test"])
    assert EmbeddedShapes("train", num_per_class=6, cache=False).sources == parts["train"]
    assert EmbeddedShapes("train", num_per_class=6, seed=1, cache=False).sources != parts["train"]


def test_shape_seeds_are_distinct_across_all_arguments() -> None:
    seeds = {
        shape_seed(s, sp, c, i)
        for s in (0, 1, 2)
        for sp in ("train", "val", "test")
        for c in SYNTHETIC_CLASSES
        for i in (0, 1, 1000)
    }
    assert len(seeds) == 3 * 3 * len(SYNTHETIC_CLASSES) * 3


def test_samples_are_reproducible(tmp_path: Path) -> None:
    a = EmbeddedShapes("val", [Points(32)], num_per_class=1, cache_dir=tmp_path / "a")
    b = EmbeddedShapes("val", [Points(32)], num_per_class=1, cache=False)
    for i in (0, 3):
        sa, sb = a[i], b[i]
        assert sa["source"] == sb["source"]
        assert torch.equal(sa["points"], sb["points"])
        assert sa["label"].item() == i


def test_segmentation_labels_single_and_multi_class() -> None:
    one = EmbeddedShapes("test", [Points(64)], task="segment", classes=["mug"], num_per_class=2, cache=False)
    assert one.label_names == part_names("mug")
    assert one.num_classes == len(part_names("mug"))
    s = one[0]
    assert torch.equal(s["point_labels"], s["face_labels"][s["point_face"]])
    many = EmbeddedShapes("test", task="segment", classes=["table", "mug"], num_per_class=1, cache=False)
    assert many.class_names == ("mug", "table")
    assert many.label_names == tuple(f"mug/{p}" for p in part_names("mug")) + tuple(
        f"table/{p}" for p in part_names("table")
    )
    table = many.load_mesh(1)
    names = {many.label_names[i] for i in np.unique(table.face_labels)}
    assert names
    assert all(n.startswith("table/") for n in names)
    # the parts each category can carry: every sample's true labels lie inside its row
    assert "part_mask" not in s and one.part_mask is None
    mask = many.part_mask
    nm = len(part_names("mug"))
    assert mask.shape == (2, len(many.label_names))
    assert mask[0, :nm].all() and not mask[0, nm:].any() and mask[1, nm:].all() and not mask[1, :nm].any()
    for i in range(len(many)):
        sample = many[i]
        assert sample["part_mask"].dtype == torch.bool
        assert sample["part_mask"][sample["face_labels"]].all()
    assert EmbeddedShapes("test", classes=["table", "mug"], num_per_class=1, cache=False).part_mask is None


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"classes": ["spaceship"]}, "unknown embedded class"),
        ({"num_per_class": -1}, "num_per_class"),
        ({"num_per_class": {"training": 3}}, "train/val/test"),
        ({"split": "holdout"}, "split"),
        ({"task": "detect"}, "task"),
    ],
)
def test_bad_options(kwargs: dict, match: str) -> None:
    with pytest.raises(OptionError, match=match):
        EmbeddedShapes(cache=False, **kwargs)


def test_cached_face_labels_follow_the_label_vocabulary(tmp_path: Path) -> None:
    """The same shape segmented within different class subsets gets different label ids; a shared
    cache must not hand one subset's ids to the other (regression: it used to)."""
    common = dict(split="train", representations=[Points(32, seed=0)], task="segment", num_per_class=1)
    one = EmbeddedShapes(classes=["mug"], cache_dir=tmp_path, **common)
    two = EmbeddedShapes(classes=["chair", "mug"], cache_dir=tmp_path, **common)
    mug_one = one[0]
    mug_two = next(two[i] for i in range(len(two)) if "mug" in two[i]["source"])
    assert mug_one["source"] == mug_two["source"]
    names_one = [one.label_names[i].split("/")[-1] for i in mug_one["face_labels"].tolist()]
    names_two = [two.label_names[i].split("/")[-1] for i in mug_two["face_labels"].tolist()]
    assert names_one == names_two  # same parts by name ...
    assert not torch.equal(mug_one["face_labels"], mug_two["face_labels"])  # ... under different ids
