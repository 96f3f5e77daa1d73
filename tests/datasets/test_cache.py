from __future__ import annotations

import io
import json
import logging
import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest
from dataset_helpers import make_class_folder, primitive, write_mesh

import geolearn
from geolearn.datasets import MeshFolder, Points, ShapeCache, default_cache_dir
from geolearn.datasets.cache import CACHE_FORMAT, content_digest, make_recipe
from geolearn.errors import CacheError

ARRAYS = {
    "points": np.linspace(-1, 1, 3000, dtype=np.float32).reshape(1000, 3),
    "point_face": np.arange(1000, dtype=np.int64) % 7,
    "voxels": (np.arange(512) % 3 == 0).astype(np.float32).reshape(1, 8, 8, 8),
    "view_face": np.full((2, 4, 4), -1, dtype=np.int64),
}


def _equal(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return set(a) == set(b) and all(a[k].dtype == b[k].dtype and np.array_equal(a[k], b[k]) for k in a)


def test_round_trip_restores_dtypes(tmp_path: Path) -> None:
    cache = ShapeCache(tmp_path)
    key = cache.key("d" * 64, "recipe")
    assert cache.load(key) is None
    path = cache.store(key, ARRAYS)
    assert path == tmp_path / f"v{CACHE_FORMAT}" / key[:2] / f"{key}.npz"
    loaded = cache.load(key)
    assert loaded is not None
    assert _equal(loaded, ARRAYS)
    # narrowed on disk (int64 -> int8/uint8, 0/1 float -> uint8), restored on load
    with np.load(path, allow_pickle=False) as npz:
        assert npz["point_face"].dtype == np.uint8
        assert npz["voxels"].dtype == np.uint8
        assert npz["view_face"].dtype == np.int8
        assert npz["points"].dtype == np.float32


def test_keys_depend_on_content_and_every_recipe_part() -> None:
    base = make_recipe([Points(64, seed=0)], "unit_sphere")
    variants = [
        make_recipe([Points(64, seed=1)], "unit_sphere"),
        make_recipe([Points(65, seed=0)], "unit_sphere"),
        make_recipe([Points(64, seed=0)], "unit_cube"),
        make_recipe([], "unit_sphere"),
    ]
    assert len({base, *variants}) == 5
    assert f"geolearn={geolearn.__version__}" in base
    assert f"cache_format={CACHE_FORMAT}" in base
    assert content_digest(b"ab", b"c") != content_digest(b"a", b"bc")
    assert content_digest(b"a", None) != content_digest(b"a", b"")


def test_version_is_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    before = make_recipe([Points(8)], "unit_sphere")
    monkeypatch.setattr(geolearn, "__version__", "999.0")
    assert make_recipe([Points(8)], "unit_sphere") != before


@pytest.mark.parametrize("damage", ["truncate", "flip_byte", "empty", "garbage"])
def test_damaged_entry_is_detected_removed_and_warned(
    tmp_path: Path, damage: str, caplog: pytest.LogCaptureFixture
) -> None:
    cache = ShapeCache(tmp_path)
    key = cache.key("a" * 64, "r")
    path = cache.store(key, ARRAYS)
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        data = data[: len(data) // 2]
    elif damage == "flip_byte":
        data[len(data) // 3] ^= 0xFF
    elif damage == "empty":
        data = bytearray()
    else:
        data = bytearray(b"not a zip at all" * 10)
    path.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="geolearn.datasets.cache"):
        assert cache.load(key) is None
    assert "corrupted" in caplog.text
    assert str(path) in caplog.text
    assert not path.exists()


def test_checksum_catches_a_valid_zip_with_changed_arrays(tmp_path: Path, caplog) -> None:
    """The zip's own CRCs cannot catch this: the entry is rewritten consistently but one array
    differs from what the stored sha256 describes."""
    cache = ShapeCache(tmp_path)
    key = cache.key("b" * 64, "r")
    path = cache.store(key, ARRAYS)
    with np.load(path, allow_pickle=False) as npz:
        members = {k: npz[k] for k in npz.files}
    members["points"] = members["points"] + 1
    buf = io.BytesIO()
    np.savez_compressed(buf, **members)
    path.write_bytes(buf.getvalue())
    with caplog.at_level(logging.WARNING):
        assert cache.load(key) is None
    assert "checksum mismatch" in caplog.text


def test_entry_of_another_key_is_rejected(tmp_path: Path, caplog) -> None:
    cache = ShapeCache(tmp_path)
    k1, k2 = cache.key("1" * 64, "r"), cache.key("2" * 64, "r")
    p1 = cache.store(k1, ARRAYS)
    p2 = cache.path(k2)
    p2.parent.mkdir(parents=True, exist_ok=True)
    p2.write_bytes(p1.read_bytes())
    with caplog.at_level(logging.WARNING):
        assert cache.load(k2) is None
    assert "another key" in caplog.text


def _writer(root: str, key: str, rounds: int, barrier) -> None:
    cache = ShapeCache(root)
    barrier.wait()
    for _ in range(rounds):
        cache.store(key, ARRAYS)


def test_two_processes_writing_the_same_entry_never_corrupt_it(tmp_path: Path, caplog) -> None:
    cache = ShapeCache(tmp_path)
    key = cache.key("c" * 64, "race")
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(3)
    procs = [ctx.Process(target=_writer, args=(str(tmp_path), key, 40, barrier)) for _ in range(2)]
    for p in procs:
        p.start()
    barrier.wait()
    seen = 0
    with caplog.at_level(logging.WARNING):
        while any(p.is_alive() for p in procs):
            got = cache.load(key)  # while both writers replace the file over and over
            if got is not None:
                assert _equal(got, ARRAYS)
                seen += 1
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert "corrupted" not in caplog.text
    final = cache.load(key)
    assert final is not None
    assert _equal(final, ARRAYS)
    leftovers = [p.name for p in cache.path(key).parent.iterdir() if p.name != f"{key}.npz"]
    assert leftovers == []
    assert seen > 0


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("GEOLEARN_CACHE", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"
    assert ShapeCache().root == tmp_path / "mine"
    monkeypatch.delenv("GEOLEARN_CACHE")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "geolearn"


def test_unusable_cache_dir_raises_with_the_path(tmp_path: Path) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(CacheError, match=str(blocker / "cache")):
        ShapeCache(blocker / "cache")


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root can write read-only dirs")
def test_read_only_cache_dir_raises(tmp_path: Path) -> None:
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(CacheError, match="not writable"):
            ShapeCache(ro)
    finally:
        ro.chmod(0o700)


# -- through a dataset -------------------------------------------------------------------------------


def _entries(root: Path) -> list[Path]:
    return sorted(root.rglob("*.npz"))


def test_dataset_parameter_change_rebuilds_and_same_parameters_reuse(tmp_path: Path) -> None:
    folder = make_class_folder(tmp_path / "shapes", per_class=2)
    cache = tmp_path / "c"
    a = MeshFolder(folder, "all", [Points(32, seed=0)], cache_dir=cache)
    pa = a[0]["points"]
    assert len(_entries(cache)) == 1
    a2 = MeshFolder(folder, "all", [Points(32, seed=0)], cache_dir=cache)
    assert np.array_equal(a2[0]["points"], pa)
    assert len(_entries(cache)) == 1
    b = MeshFolder(folder, "all", [Points(32, seed=1)], cache_dir=cache)
    assert not np.array_equal(b[0]["points"], pa)
    assert len(_entries(cache)) == 2
    c = MeshFolder(folder, "all", [Points(48, seed=0)], cache_dir=cache)
    assert c[0]["points"].shape == (48, 3)
    assert len(_entries(cache)) == 3
    # the points are those of a fresh computation (nothing stale)
    fresh = MeshFolder(folder, "all", [Points(32, seed=1)], cache=False)
    assert np.array_equal(fresh[0]["points"], b[0]["points"])


def test_dataset_changed_file_rebuilds(tmp_path: Path) -> None:
    folder = make_class_folder(tmp_path / "shapes", classes=("box",), per_class=1)
    cache = tmp_path / "c"
    before = MeshFolder(folder, "all", [Points(16)], cache_dir=cache)[0]["points"]
    write_mesh(folder / "box" / "box_00.off", primitive("sphere"))
    after = MeshFolder(folder, "all", [Points(16)], cache_dir=cache)[0]["points"]
    assert len(_entries(cache)) == 2
    assert np.allclose(np.linalg.norm(after.numpy(), axis=1), 1.0, atol=0.1)  # now a sphere
    assert not np.allclose(np.linalg.norm(before.numpy(), axis=1), 1.0, atol=0.1)


def test_dataset_rebuilds_a_corrupted_entry(tmp_path: Path, caplog) -> None:
    folder = make_class_folder(tmp_path / "shapes", classes=("box",), per_class=1)
    ds = MeshFolder(folder, "all", [Points(16)], cache_dir=tmp_path / "c")
    good = ds[0]["points"].clone()
    (entry,) = _entries(tmp_path / "c")
    entry.write_bytes(entry.read_bytes()[:100])
    with caplog.at_level(logging.WARNING):
        again = ds[0]["points"]
    assert "corrupted" in caplog.text
    assert np.array_equal(again, good)
    assert _entries(tmp_path / "c") == [entry]  # rewritten in place


def test_meta_records_every_array(tmp_path: Path) -> None:
    cache = ShapeCache(tmp_path)
    key = cache.key("e" * 64, "r")
    with np.load(cache.store(key, ARRAYS), allow_pickle=False) as npz:
        meta = json.loads(npz["__meta__"].tobytes())
    assert meta["key"] == key
    assert set(meta["arrays"]) == set(ARRAYS)
    assert meta["arrays"]["point_face"] == {"dtype": "<i8", "shape": [1000]}
