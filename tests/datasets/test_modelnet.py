from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from dataset_helpers import make_modelnet_folder, zip_folder

from geolearn.datasets import ModelNet, Points, collate_shapes, open_dataset
from geolearn.errors import DatasetError

MODELNET10 = (
    "bathtub",
    "bed",
    "chair",
    "desk",
    "dresser",
    "monitor",
    "night_stand",
    "sofa",
    "table",
    "toilet",
)


def test_real_modelnet10_listing(modelnet_zip: Path) -> None:
    train = ModelNet(modelnet_zip, "train", cache=False)
    val = ModelNet(modelnet_zip, "val", cache=False)
    test = ModelNet(modelnet_zip, "test", cache=False)
    assert train.class_names == MODELNET10
    assert train.name == "ModelNet10"
    assert len(train) + len(val) == 3928
    assert len(test) == 899
    assert len(ModelNet(modelnet_zip, "all", cache=False)) == 3928 + 899
    assert not set(train.sources) & set(val.sources)
    assert all("/train/" in s for s in train.sources + val.sources)
    assert all("/test/" in s for s in test.sources)
    # every class is in val, about 10% of its training meshes
    counts = val.class_counts()
    full = {c: counts[c] + n for c, n in train.class_counts().items()}
    assert all(abs(counts[c] - round(0.1 * full[c])) <= 1 and counts[c] >= 1 for c in MODELNET10)
    # sources are paths load_mesh accepts, labels match the class folder
    for i in (0, len(test) - 1):
        assert test.sources[i].startswith(str(modelnet_zip) + "/ModelNet10/")
        assert f"/{test.class_names[test.labels[i]]}/test/" in test.sources[i]


def test_real_modelnet10_loads_a_few(modelnet_zip: Path, tmp_path: Path) -> None:
    ds = ModelNet(modelnet_zip, "test", [Points(64)], max_shapes=10, cache_dir=tmp_path)
    assert len(ds) == 10
    assert sorted(ds.labels.tolist()) == list(range(10))
    batch = collate_shapes([ds[i] for i in range(3)])
    assert batch["points"].shape == (3, 64, 3)
    assert batch["label"].tolist() == ds.labels[:3].tolist()
    assert torch.all(batch["points"].norm(dim=-1) <= 1 + 1e-5)  # unit sphere
    assert isinstance(open_dataset(modelnet_zip, split="test", cache=False), ModelNet)


@pytest.mark.parametrize("as_zip", [False, True])
def test_layout_from_folder_and_zip(tmp_path: Path, as_zip: bool) -> None:
    folder = make_modelnet_folder(tmp_path / "src", name="ModelNet3")
    root = zip_folder(folder, tmp_path / "ModelNet3.zip") if as_zip else folder
    parent_ok = ModelNet(tmp_path / "src", "test", cache=False) if not as_zip else None
    ds = ModelNet(root, "train", [Points(16)], val_fraction=0.2, cache_dir=tmp_path / "c")
    val = ModelNet(root, "val", val_fraction=0.2, cache=False)
    test = ModelNet(root, "test", cache=False)
    assert ds.class_names == ("box", "cylinder", "sphere")
    assert ds.name == "ModelNet3"
    assert len(ds) == 3 * 5
    assert len(val) == 3
    assert len(test) == 6
    assert ds[0]["points"].shape == (16, 3)
    if parent_ok is not None:  # a folder that contains ModelNet3/ works too
        assert len(parent_ok) == 6
    # picklable (DataLoader workers, process pools) after the archive was opened
    clone = pickle.loads(pickle.dumps(ds))
    assert np.array_equal(clone[1]["points"], ds[1]["points"])


def test_val_depends_on_seed_but_not_on_max_shapes(tmp_path: Path) -> None:
    folder = make_modelnet_folder(tmp_path, train=10, test=1)
    v0 = ModelNet(folder, "val", val_fraction=0.3, seed=0, cache=False).sources
    v1 = ModelNet(folder, "val", val_fraction=0.3, seed=1, cache=False).sources
    assert v0 != v1
    assert len(v0) == len(v1) == 9
    assert ModelNet(folder, "val", val_fraction=0.3, seed=0, cache=False).sources == v0


def test_not_modelnet_and_segment_raise(tmp_path: Path) -> None:
    (tmp_path / "x.txt").write_text("hello")
    with pytest.raises(DatasetError, match="not a ModelNet dataset"):
        ModelNet(tmp_path, cache=False)
    with pytest.raises(DatasetError, match="no such file"):
        ModelNet(tmp_path / "missing.zip", cache=False)
    folder = make_modelnet_folder(tmp_path / "m", train=1, test=1)
    with pytest.raises(DatasetError, match="no per-face labels"):
        ModelNet(folder, task="segment", cache=False)
