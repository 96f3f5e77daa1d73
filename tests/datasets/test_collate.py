from __future__ import annotations

import pytest
import torch

from geolearn.datasets import collate_shapes, move_batch
from geolearn.errors import DatasetError


def _sample(i: int, num_faces: int, n: int = 5) -> dict:
    g = torch.Generator().manual_seed(i)
    return {
        "index": torch.tensor(i),
        "source": f"s{i}",
        "label": torch.tensor(i % 2),
        "points": torch.rand(n, 3, generator=g),
        "point_face": torch.randint(0, num_faces, (n,), generator=g),
        "face_labels": torch.arange(num_faces) % 3,
        "face_areas": torch.rand(num_faces, generator=g),
        "face_centroids": torch.rand(num_faces, 3, generator=g),
    }


def test_packs_per_face_and_stacks_the_rest() -> None:
    samples = [_sample(0, 4), _sample(1, 7), _sample(2, 1)]
    b = collate_shapes(samples)
    assert b["face_ptr"].tolist() == [0, 4, 11, 12]
    assert b["face_ptr"].dtype == torch.int64
    assert b["face_labels"].shape == (12,)
    assert b["face_centroids"].shape == (12, 3)
    assert b["points"].shape == (3, 5, 3)
    assert b["label"].tolist() == [0, 1, 0]
    assert b["index"].tolist() == [0, 1, 2]
    assert b["source"] == ["s0", "s1", "s2"]
    # point_face stays local; face_ptr addresses the packed arrays (slow reference per shape)
    for k, s in enumerate(samples):
        lo, hi = b["face_ptr"][k], b["face_ptr"][k + 1]
        assert torch.equal(b["face_areas"][lo:hi], s["face_areas"])
        assert torch.equal(b["point_face"][k], s["point_face"])
        assert torch.equal(b["face_labels"][b["point_face"][k] + lo], s["face_labels"][s["point_face"]])


def test_no_face_ptr_without_per_face_keys() -> None:
    b = collate_shapes([{"points": torch.zeros(4, 3), "source": "a"}] * 2)
    assert "face_ptr" not in b
    assert b["points"].shape == (2, 4, 3)


def test_errors_name_key_and_sources() -> None:
    with pytest.raises(DatasetError, match=r"'points' has different shapes.*s0: \(5, 3\).*s1: \(6, 3\)"):
        collate_shapes([_sample(0, 3), _sample(1, 3, n=6)])
    bad = _sample(1, 3)
    del bad["face_areas"]
    with pytest.raises(DatasetError, match="differ in keys"):
        collate_shapes([_sample(0, 3), bad])
    bad = _sample(1, 3)
    bad["face_areas"] = torch.rand(4)
    with pytest.raises(DatasetError, match="face count"):
        collate_shapes([_sample(0, 3), bad])


def test_move_batch(device: torch.device) -> None:
    b = move_batch(collate_shapes([_sample(0, 3), _sample(1, 2)]), device)
    assert all(v.device.type == device.type for v in b.values() if isinstance(v, torch.Tensor))
    assert b["source"] == ["s0", "s1"]
