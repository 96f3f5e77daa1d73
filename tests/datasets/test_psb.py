from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from dataset_helpers import primitive, write_mesh, zip_folder

from geolearn.datasets import LabeledPSB, Points, collate_shapes, open_dataset, preprocess
from geolearn.datasets.psb import parse_psb_labels, psb_default_split
from geolearn.errors import DatasetError

PSB_CATEGORIES = [
    "Airplane",
    "Ant",
    "Armadillo",
    "Bearing",
    "Bird",
    "Bust",
    "Chair",
    "Cup",
    "Fish",
    "FourLeg",
    "Glasses",
    "Hand",
    "Human",
    "Mech",
    "Octopus",
    "Plier",
    "Table",
    "Teddy",
    "Vase",
]

BODY_FIRST = b"body\n1 2 3 4 5 6\nhandle\n7 8 9 10 11 12\n"
HANDLE_FIRST = b"handle\n7 8 9 10 11 12\nbody\n1 2 3 4 5 6\n"


def _tiny_psb(root: Path, label_files: dict[str, dict[str, bytes]]) -> Path:
    """``root/LabeledDB/<cat>/<id>.off`` (a 12-face box) + ``<id>_labels.txt``."""
    for cat, files in label_files.items():
        for sid, text in files.items():
            write_mesh(root / "LabeledDB" / cat / f"{sid}.off", primitive("box", int(sid)))
            (root / "LabeledDB" / cat / f"{sid}_labels.txt").write_bytes(text)
    return root / "LabeledDB"


def test_label_names_in_a_different_order_map_to_the_same_ids(tmp_path: Path) -> None:
    root = _tiny_psb(tmp_path, {"Cup": {"1": BODY_FIRST, "2": HANDLE_FIRST}})
    ds = LabeledPSB(root, "all", category="Cup", val_fraction=0.0, cache=False)
    assert ds.label_names == ("body", "handle")
    a, b = ds.load_mesh(0), ds.load_mesh(1)
    expected = np.array([0] * 6 + [1] * 6)
    assert np.array_equal(a.face_labels, expected)
    assert np.array_equal(b.face_labels, expected)
    assert a.label_names == b.label_names == ("body", "handle")


def test_several_categories_use_a_namespaced_union(tmp_path: Path) -> None:
    chair = b"leg\n1 2 3 4\nseat\n5 6 7 8 9 10 11 12\n"
    root = _tiny_psb(tmp_path, {"Cup": {"1": BODY_FIRST, "2": HANDLE_FIRST}, "Chair": {"3": chair}})
    ds = LabeledPSB(root, "all", val_fraction=0.0, cache=False)
    assert ds.class_names == ("Chair", "Cup")
    assert ds.label_names == ("Chair/leg", "Chair/seat", "Cup/body", "Cup/handle")
    assert ds.category_labels == {"Chair": ("leg", "seat"), "Cup": ("body", "handle")}
    meshes = {Path(ds.sources[i]).stem: ds.load_mesh(i) for i in range(len(ds))}
    assert meshes["3"].face_labels.tolist() == [0] * 4 + [1] * 8
    assert meshes["2"].face_labels.tolist() == [2] * 6 + [3] * 6


def test_segmentation_samples(tmp_path: Path) -> None:
    root = _tiny_psb(tmp_path, {"Cup": {"1": BODY_FIRST, "2": HANDLE_FIRST}})
    ds = LabeledPSB(zip_folder(root, tmp_path / "LabeledDB.zip"), "all", [Points(32)], val_fraction=0.0)
    s = ds[1]
    assert s["face_labels"].shape == (12,)
    assert s["face_areas"].dtype == torch.float32
    assert s["face_centroids"].shape == (12, 3)
    assert torch.equal(s["point_labels"], s["face_labels"][s["point_face"]])
    assert s["face_areas"].sum().item() > 0
    assert s["label"].item() == 0
    batch = collate_shapes([ds[0], ds[1]])
    assert batch["face_ptr"].tolist() == [0, 12, 24]
    assert batch["face_labels"].shape == (24,)
    cls = LabeledPSB(root, "all", [Points(8)], task="classify", val_fraction=0.0, cache=False)
    assert cls.label_names is None
    assert "face_labels" not in cls[0]
    assert cls.num_classes == 1


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (b"body\n1 2 3 4 5 6\nhandle\n7 8 9 10 11\n", r"labels cover 11 faces but the mesh has 12.*face 12"),
        (b"body\n1 2 3 4 5 6 7\nhandle\n7 8 9 10 11 12\n", r"labelled more than once \(first: face 7"),
        (b"body\n1 2 3 4 5 6\nhandle\n7 8 9 10 11 13\n", r"face index 13 is outside 1\.\.12"),
        (b"body\n0 1 2 3 4 5 6\nhandle\n7 8 9 10 11 12\n", r"face index 0 is outside"),
        (b"body\n1 2 x 4\nhandle\n7 8\n", r"'x' is not a face index"),
        (b"body\n1 2 3 4 5 6 7 8 9 10 11 12\nhandle\n", r"has no line of face indices"),
        (b"1 2 3\nbody\n", r"should be one label name"),
        (b"\n\n", r"empty label file"),
    ],
)
def test_bad_label_files_raise_naming_the_file(text: bytes, match: str) -> None:
    with pytest.raises(DatasetError, match=match) as info:
        parse_psb_labels(text, 12, "LabeledDB/Cup/7_labels.txt")
    assert str(info.value).startswith("LabeledDB/Cup/7_labels.txt:")


def test_bad_label_file_in_a_dataset_is_excluded_by_preprocess(tmp_path: Path) -> None:
    bad = b"body\n1 2 3\nhandle\n7 8 9 10 11 12\n"
    root = _tiny_psb(tmp_path, {"Cup": {"1": BODY_FIRST, "2": bad, "3": HANDLE_FIRST}})
    ds = LabeledPSB(root, "all", [Points(8)], val_fraction=0.0, cache_dir=tmp_path / "c")
    with pytest.raises(DatasetError, match=r"2_labels\.txt"):
        ds.load_mesh(1)
    report = preprocess(ds, workers=0, progress=False)
    assert len(ds) == 2
    assert [Path(f.source).name for f in ds.failures] == ["2.off"]
    assert "faces carry no label" in report.failures[0].reason


def test_layout_errors(tmp_path: Path) -> None:
    root = _tiny_psb(tmp_path, {"Cup": {"1": BODY_FIRST}})
    write_mesh(root / "Cup" / "9.off", primitive("box"))
    with pytest.raises(DatasetError, match=r"9\.off: mesh without its label file"):
        LabeledPSB(root, cache=False)
    (root / "Cup" / "9.off").unlink()
    with pytest.raises(DatasetError, match="unknown category 'Mug'"):
        LabeledPSB(root, category="Mug", cache=False)


def test_split_file_and_default_protocol(tmp_path: Path) -> None:
    root = _tiny_psb(tmp_path, {"Cup": {str(i): BODY_FIRST for i in range(1, 11)}})
    test = LabeledPSB(root, "test", cache=False)
    assert test.split_file is None
    assert [Path(s).stem for s in test.sources] == ["5", "10"]
    split = tmp_path / "split.json"
    split.write_text(json.dumps({"train": {"Cup": ["1", "2", "3"]}, "test": {"Cup": ["4"]}}))
    assert [Path(s).stem for s in LabeledPSB(root, "test", split_file=split, cache=False).sources] == ["4"]
    assert len(LabeledPSB(root, "train", split_file=split, val_fraction=0.0, cache=False)) == 3
    split.write_text(json.dumps({"train": {"Cup": ["1", "99"]}, "test": {"Cup": ["4"]}}))
    with pytest.raises(DatasetError, match="99"):
        LabeledPSB(root, split_file=split, cache=False)
    split.write_text(json.dumps({"train": {"Cup": ["1", "4"]}, "test": {"Cup": ["4"]}}))
    with pytest.raises(DatasetError, match="both train and test"):
        LabeledPSB(root, split_file=split, cache=False)


# -- the real benchmark ------------------------------------------------------------------------------


def test_real_psb_listing(labeleddb_zip: Path, labeleddb_split: Path) -> None:
    parts = {s: LabeledPSB(labeleddb_zip, s, task="classify", cache=False) for s in ("train", "val", "test")}
    train = parts["train"]
    assert train.split_file == labeleddb_split  # found beside the archive
    assert list(train.class_names) == PSB_CATEGORIES
    assert sum(len(d) for d in parts.values()) == 380
    for cat in PSB_CATEGORIES:
        assert parts["train"].class_counts()[cat] + parts["val"].class_counts()[cat] == 16
        assert parts["val"].class_counts()[cat] == 2
        assert parts["test"].class_counts()[cat] == 4
    assert train.category_labels["Cup"] == ("body", "handle")
    human = ("foot", "hand", "head", "lowerarm", "lowerleg", "torso", "upperarm", "upperleg")
    assert train.category_labels["Human"] == human
    assert len(LabeledPSB(labeleddb_zip, "all", task="classify", cache=False)) == 380


def test_real_split_file_follows_the_documented_protocol(labeleddb_split: Path) -> None:
    data = json.loads(labeleddb_split.read_text())
    for cat in PSB_CATEGORIES:
        train, test = psb_default_split(data["train"][cat] + data["test"][cat])
        assert sorted(train) == sorted(data["train"][cat])
        assert sorted(test) == sorted(data["test"][cat])


def test_real_psb_cup_loads(labeleddb_zip: Path, tmp_path: Path) -> None:
    ds = LabeledPSB(labeleddb_zip, "test", [Points(256)], category="Cup", cache_dir=tmp_path)
    assert len(ds) == 4
    assert ds.label_names == ("body", "handle")
    s = ds[1]  # Cup/30 (Cup/25 and Cup/40 have no handle)
    assert Path(s["source"]).name == "30.off"
    counts = torch.bincount(s["face_labels"], minlength=2)
    assert counts.tolist() == [22132, 7876]  # body, handle: as many faces as the label file lists
    assert torch.equal(s["point_labels"], s["face_labels"][s["point_face"]])
    assert isinstance(open_dataset(labeleddb_zip, split="test", category="Cup", cache=False), LabeledPSB)
