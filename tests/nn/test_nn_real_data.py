"""Encoders on the project's real representations (not the synthetic test batches): a labelled
icosphere through Points / Voxels / Views / FaceLabels / ShapeDistribution and collate_shapes, and the
multi-view face coverage on real LabeledDB meshes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import trimesh

from geolearn.datasets.collate import collate_shapes
from geolearn.datasets.representations import FaceLabels, Points, SpectralPoints, Views, Voxels
from geolearn.mesh import Mesh, normalize
from geolearn.nn import create_encoder, create_model, get_encoder_info, list_encoders, points_to_faces
from geolearn.nn.pooling import packed_face_index


def _sample(mesh: Mesh, reps: list, index: int) -> dict:
    out: dict = {"index": torch.tensor(index), "source": f"test:{index}", "label": torch.tensor(index % 2)}
    for rep in reps:
        out.update({k: torch.from_numpy(np.asarray(v)) for k, v in rep(mesh).items()})
    return out


def _labelled_sphere(subdivisions: int, squash: float) -> Mesh:
    tm = trimesh.creation.icosphere(subdivisions=subdivisions)
    v = np.asarray(tm.vertices) * [1.0, 1.0, squash]
    f = np.asarray(tm.faces, dtype=np.int64)
    labels = (v[f].mean(1)[:, 2] > 0).astype(np.int64)
    return normalize(Mesh(v, f, face_labels=labels, label_names=("bottom", "top")), "unit_sphere")


@pytest.fixture(scope="module")
def real_batch() -> dict:
    from geolearn.descriptors.representations import ShapeDistribution

    reps = [Points(128, 0), Voxels(16), Views(3, 16), FaceLabels(), ShapeDistribution(bins=16, samples=2000)]
    reps.append(SpectralPoints(128, 0, k=16, hks=8))  # the same points as Points(128, 0), and their basis
    meshes = [_labelled_sphere(2, 0.6), _labelled_sphere(3, 1.0)]  # 320 and 1280 faces
    batch = collate_shapes([_sample(m, reps, i) for i, m in enumerate(meshes)])
    batch["point_labels"] = batch["face_labels"][packed_face_index(batch["point_face"], batch["face_ptr"])]
    return batch


@pytest.mark.parametrize(
    ("name", "task"),
    [(n, t) for n in list_encoders() if n != "face_features" for t in sorted(get_encoder_info(n).tasks)],
)
def test_encoders_run_on_real_representations(real_batch: dict, name: str, task: str):
    kw = {"k": 8} if name == "dgcnn" else {"resolution": 16} if name == "voxnet" else {}
    model = create_model(name, task, num_classes=2, example_batch=real_batch, **kw)
    model.fit_normalizer([real_batch])
    logits = model(real_batch)
    if task == "classify":
        assert logits.shape == (2, 2)
    else:
        assert logits.shape == (2, 2, 128)
        faces = points_to_faces(
            logits,
            real_batch["point_face"],
            real_batch["face_ptr"],
            real_batch["points"],
            real_batch["face_centroids"],
        )
        assert faces.shape == (int(real_batch["face_ptr"][-1]), 2)
    assert torch.isfinite(logits).all()


def test_multiview_coverage_on_labeleddb(labeleddb_zip):
    """Fraction of faces (and of sampled points) that some pixel of 12 ring views of 64² shows, on
    real meshes; unseen points get zero features, or their nearest seen point's with unseen="nearest".
    Measured: 27–39 % of faces on 8 categories (see MultiViewEncoder's docstring)."""
    import geolearn

    meshes = [
        normalize(geolearn.load_mesh(f"{labeleddb_zip}/LabeledDB/{name}.off"), "unit_sphere")
        for name in ("Cup/21", "Human/1")
    ]
    samples = [_sample(m, [Points(1024, 0), Views(12, 64)], i) for i, m in enumerate(meshes)]
    for s, m in zip(samples, meshes, strict=True):  # a per-face array, so that collate writes face_ptr
        s["face_areas"] = torch.from_numpy(m.face_areas.astype(np.float32))
    batch = collate_shapes(samples)
    rows = packed_face_index(batch["view_face"], batch["face_ptr"])
    total = int(batch["face_ptr"][-1])
    coverage = rows[rows >= 0].unique().numel() / total
    seen_point = torch.zeros(total, dtype=torch.bool)
    seen_point[rows[rows >= 0]] = True
    seen_point = seen_point[packed_face_index(batch["point_face"], batch["face_ptr"])]  # (B, N)
    enc = create_encoder("mvcnn", local=True).eval()
    with torch.no_grad():
        local = enc(batch).local_features.transpose(1, 2)  # (B, N, C)
    assert enc.last_coverage == pytest.approx(coverage)
    assert 0.2 < coverage < 0.5, f"coverage {coverage:.3f} moved: update MultiViewEncoder's docstring"
    assert torch.all(local[~seen_point] == 0)
    assert 0.25 < seen_point.float().mean() < 0.6
    near = create_encoder("mvcnn", local=True, unseen="nearest")
    near.load_state_dict(enc.state_dict())
    with torch.no_grad():
        filled = near.eval()(batch).local_features.transpose(1, 2)
    assert torch.equal(filled[seen_point], local[seen_point])
    assert bool((filled[~seen_point].abs().sum(-1) > 0).all())
