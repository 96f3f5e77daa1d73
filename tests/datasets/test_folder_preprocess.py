from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dataset_helpers import make_class_folder, make_modelnet_folder, primitive, write_mesh, zip_folder

from geolearn.datasets import (
    MeshFolder,
    ModelNet,
    Points,
    check_meshes,
    create_dataset,
    open_dataset,
    preprocess,
    register_dataset,
)
from geolearn.datasets.base import Failure
from geolearn.errors import DatasetError, OptionError

GARBAGE = {
    "truncated.off": b"OFF\n3 1 0\n0 0 0\n1 1\n",
    "nan.off": b"OFF\n3 1 0\nnan 0 0\n1 0 0\n0 1 0\n3 0 1 2\n",
    "empty.off": b"",
    "coincident.off": b"OFF\n3 1 0\n1 1 1\n1 1 1\n1 1 1\n3 0 1 2\n",
}


def _folder_with_garbage(root: Path) -> Path:
    make_class_folder(root, per_class=3)
    for name, data in GARBAGE.items():
        (root / "box" / name).write_bytes(data)
    return root


def test_class_folder_layout_and_seeded_split(tmp_path: Path) -> None:
    root = make_class_folder(tmp_path / "shapes", per_class=10)
    parts = {s: MeshFolder(root, s, cache=False) for s in ("train", "val", "test")}
    assert parts["train"].class_names == ("box", "cylinder", "sphere")
    assert parts["train"].layout == "class"
    assert {s: len(d) for s, d in parts.items()} == {"train": 21, "val": 3, "test": 6}
    srcs = [set(d.sources) for d in parts.values()]
    assert not (srcs[0] & srcs[1])
    assert not (srcs[0] & srcs[2])
    assert not (srcs[1] & srcs[2])
    assert len(MeshFolder(root, "all", cache=False)) == 30
    assert MeshFolder(root, "test", seed=0, cache=False).sources == parts["test"].sources
    assert MeshFolder(root, "test", seed=5, cache=False).sources != parts["test"].sources


def test_train_test_subfolders_and_flat_and_zip(tmp_path: Path) -> None:
    mn = make_modelnet_folder(tmp_path / "a", name="things", train=4, test=2)
    f = MeshFolder(mn, "test", cache=False)
    assert f.layout == "class/train|test"
    assert len(f) == 6
    flat = tmp_path / "flat"
    for k in range(5):
        write_mesh(flat / f"m{k}.off", primitive("box", k))
    ds = MeshFolder(flat, "all", cache=False)
    assert ds.layout == "flat"
    assert ds.class_names == ("flat",)
    assert len(ds) == 5
    z = zip_folder(make_class_folder(tmp_path / "zipped", per_class=2), tmp_path / "zipped.zip")
    zs = MeshFolder(z, "all", [Points(8)], cache_dir=tmp_path / "c")
    assert zs.class_names == ("box", "cylinder", "sphere")
    assert zs[0]["points"].shape == (8, 3)
    with pytest.raises(DatasetError, match="no mesh files"):
        MeshFolder(_empty(tmp_path), cache=False)


def _empty(tmp_path: Path) -> Path:
    p = tmp_path / "empty"
    p.mkdir()
    (p / "readme.txt").write_text("no meshes")
    return p


def test_open_dataset_detects_kinds(tmp_path: Path) -> None:
    mn = make_modelnet_folder(tmp_path / "m", train=2, test=1)
    assert isinstance(open_dataset(mn, cache=False), ModelNet)
    assert isinstance(open_dataset(zip_folder(mn, tmp_path / "ModelNetTiny.zip"), cache=False), ModelNet)
    assert type(open_dataset(make_class_folder(tmp_path / "f", per_class=2), cache=False)) is MeshFolder
    with pytest.raises(DatasetError, match="no such file"):
        open_dataset(tmp_path / "missing")


def test_preprocess_excludes_garbage_in_process(tmp_path: Path) -> None:
    root = _folder_with_garbage(tmp_path / "shapes")
    ds = MeshFolder(root, "all", [Points(16)], cache_dir=tmp_path / "c")
    assert len(ds) == 9 + len(GARBAGE)
    report = preprocess(ds, workers=0, progress=False)
    assert report.num_shapes == 13
    assert report.num_built == 9
    assert report.num_cached == 0
    assert len(ds) == 9
    assert sorted(Path(f.source).name for f in ds.failures) == sorted(GARBAGE)
    reasons = {Path(f.source).name: f.reason for f in report.failures}
    assert "NaN" in reasons["nan.off"]
    assert "empty" in reasons["empty.off"]
    assert "truncated" in reasons["truncated.off"]
    assert "coincide" in reasons["coincident.off"]
    assert all(not r.startswith(str(root)) for r in reasons.values())  # reason without the path
    for i in range(len(ds)):  # everything left loads
        assert ds[i]["points"].shape == (16, 3)
    again = preprocess(ds, workers=0, progress=False)
    assert again.num_cached == 9
    assert again.num_built == 0
    assert not again.failures


def test_preprocess_in_worker_processes_matches_in_process(tmp_path: Path) -> None:
    root = _folder_with_garbage(tmp_path / "shapes")
    # a lambda transform does not pickle: preprocess must not ship it to the workers
    par = MeshFolder(root, "all", [Points(16)], cache_dir=tmp_path / "c1", transform=lambda s, g: s)
    report = preprocess(par, workers=2, progress=False)
    assert report.workers == 2
    assert report.num_built == 9
    assert len(report.failures) == len(GARBAGE)
    seq = MeshFolder(root, "all", [Points(16)], cache_dir=tmp_path / "c2")
    preprocess(seq, workers=0, progress=False)
    assert par.sources == seq.sources
    for i in range(len(par)):
        assert np.array_equal(par[i]["points"], seq[i]["points"])
    assert sorted((tmp_path / "c1").rglob("*.npz")) != []
    assert len(list((tmp_path / "c1").rglob("*.npz"))) == 9


def test_check_meshes_reports_problems(tmp_path: Path) -> None:
    root = _folder_with_garbage(tmp_path / "shapes")
    write_mesh(root / "box" / "open.off", primitive("box").replace(faces=primitive("box").faces[:-1]))
    ds = MeshFolder(root, "all", cache=False)
    checks = {Path(c.source).name: c for c in check_meshes(ds, workers=0, progress=False)}
    assert checks["box_00.off"].error is None
    assert checks["box_00.off"].problems == ()
    assert checks["open.off"].error is None
    assert any("watertight" in p for p in checks["open.off"].problems)
    assert all(checks[n].error for n in GARBAGE)
    assert len(ds) == 9 + len(GARBAGE) + 1  # check excludes nothing


def test_exclude_is_idempotent(tmp_path: Path) -> None:
    ds = MeshFolder(make_class_folder(tmp_path / "s", per_class=2), "all", cache=False)
    f = Failure(ds.sources[0], "bad")
    ds.exclude([f])
    ds.exclude([f])
    assert len(ds) == 5
    assert ds.failures == [f]


def test_sharded_preprocess_then_full_pass(tmp_path: Path) -> None:
    root = _folder_with_garbage(tmp_path / "shapes")
    ranks = [MeshFolder(root, "all", [Points(8)], cache_dir=tmp_path / "c") for _ in range(2)]
    reports = [preprocess(ds, workers=0, progress=False, shard=(r, 2)) for r, ds in enumerate(ranks)]
    assert [r.num_shapes for r in reports] == [7, 6]
    assert sum(r.num_built for r in reports) == 9
    assert all(len(ds) == 13 for ds in ranks)  # a shard excludes nothing
    finals = [preprocess(ds, workers=0, progress=False) for ds in ranks]
    assert all(f.num_built == 0 and f.num_cached == 9 and len(f.failures) == 4 for f in finals)
    assert ranks[0].sources == ranks[1].sources
    assert len(ranks[0]) == 9
    with pytest.raises(OptionError, match="shard"):
        preprocess(ranks[0], workers=0, progress=False, shard=(2, 2))


def test_registry_factory_and_duplicates(tmp_path: Path) -> None:
    root = make_class_folder(tmp_path / "s", per_class=2)
    ds = create_dataset("folder", root=root, split="all", cache=False)
    assert type(ds) is MeshFolder
    assert len(ds) == 6
    with pytest.raises(OptionError, match="already registered"):
        register_dataset("folder")(MeshFolder)
    with pytest.raises(OptionError, match="unknown dataset 'shapenet'"):
        create_dataset("shapenet")
