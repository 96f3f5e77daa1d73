from __future__ import annotations

import numpy as np
import pytest
from descriptor_helpers import sphere

from geolearn.datasets.representations import check_representations
from geolearn.descriptors import shape_distribution
from geolearn.descriptors.representations import FaceFeatures, SDFHistogram, ShapeDistribution, orient_faces
from geolearn.errors import MeshError, OptionError
from geolearn.mesh import Mesh, normalize


@pytest.fixture(scope="module")
def unit_sphere() -> Mesh:
    return normalize(sphere(3), "unit_sphere")


def test_shape_distribution_concatenates_kinds(unit_sphere: Mesh) -> None:
    rep = ShapeDistribution(kind="d2+a3", bins=16, samples=2**14, scale="max", seed=3)
    assert rep.keys == ("descriptor",)
    assert repr(rep) == "ShapeDistribution(kind='d2+a3', bins=16, samples=16384, scale='max', seed=3)"
    before = unit_sphere.vertices.copy()
    out = rep(unit_sphere)
    np.testing.assert_array_equal(unit_sphere.vertices, before)  # never mutates the mesh
    d = out["descriptor"]
    assert set(out) == set(rep.keys)
    assert d.dtype == np.float32
    assert d.shape == (32,)
    np.testing.assert_allclose([d[:16].sum(), d[16:].sum()], 1.0, rtol=1e-6)
    want = shape_distribution(unit_sphere, "d2", bins=16, samples=2**14, scale="max", seed=3).histogram
    np.testing.assert_allclose(d[:16], want, atol=1e-7)
    assert ShapeDistribution(kind=("d1", "d4")).kind == "d1+d4"


def test_sdf_histogram(unit_sphere: Mesh) -> None:
    rep = SDFHistogram(bins=8)
    assert repr(rep) == (
        "SDFHistogram(bins=8, rays=30, cone_angle=120.0, smoothing_iterations=0, alpha=4.0, repair=True)"
    )
    d = rep(unit_sphere)["descriptor"]
    assert d.shape == (8,)
    assert d.dtype == np.float32
    assert d.sum() == pytest.approx(1.0)


def test_orientation_is_repaired_without_touching_face_order(unit_sphere: Mesh) -> None:
    flipped = unit_sphere.replace(faces=unit_sphere.faces[:, ::-1])
    with pytest.raises(MeshError):
        SDFHistogram(repair=False)(flipped)
    fixed = orient_faces(flipped)
    np.testing.assert_allclose(fixed.face_centroids, unit_sphere.face_centroids)  # same faces, same order
    np.testing.assert_allclose(fixed.face_normals, unit_sphere.face_normals, atol=1e-12)  # outward again
    np.testing.assert_allclose(
        SDFHistogram()(flipped)["descriptor"],
        SDFHistogram(repair=False)(unit_sphere)["descriptor"],
        atol=1e-6,
    )


def test_orient_faces_handles_duplicates_and_mixed_winding(unit_sphere: Mesh) -> None:
    # every face twice, the copy reversed, then a random half of all faces flipped: as in ModelNet
    rng = np.random.default_rng(0)
    f = np.concatenate([unit_sphere.faces, unit_sphere.faces[:, ::-1]])
    flip = rng.random(len(f)) < 0.5
    f[flip] = f[flip][:, ::-1]
    messy = Mesh(unit_sphere.vertices, f)
    fixed = orient_faces(messy)
    np.testing.assert_allclose(fixed.face_centroids, messy.face_centroids)  # same faces, same order
    outward = np.einsum("ij,ij->i", fixed.face_normals, fixed.face_centroids)
    assert np.all(outward > 0)


def test_face_features(unit_sphere: Mesh) -> None:
    rep = FaceFeatures(cone_angles=(90.0, 120.0), rays=32, scales=(0.01,), seed=2)
    assert rep.keys == ("face_features",)
    assert repr(rep) == (
        "FaceFeatures(cone_angles=(90.0, 120.0), rays=32, scales=(0.01,), neighbours=32, alpha=4.0, seed=2, orient=True)"
    )
    f = rep(unit_sphere)["face_features"]
    assert f.shape == (unit_sphere.num_faces, rep.num_channels) == (unit_sphere.num_faces, 18)
    assert f.dtype == np.float32
    assert np.isfinite(f).all()
    assert FaceFeatures().num_channels == 42


def test_the_datasets_accept_them() -> None:
    reps = check_representations([ShapeDistribution(), FaceFeatures()])
    assert len(reps) == 2
    with pytest.raises(OptionError):  # both produce "descriptor": one descriptor per dataset
        check_representations([ShapeDistribution(), SDFHistogram()])


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ShapeDistribution(kind="d2+d9"), "kind"),
        (lambda: ShapeDistribution(kind="d2+d2"), "repeats"),
        (lambda: ShapeDistribution(seed=-1), "seed"),
        (lambda: ShapeDistribution(scale="median"), "scale"),
        (lambda: SDFHistogram(cone_angle=0), "cone_angle"),
        (lambda: SDFHistogram(bins=0), "bins"),
        (lambda: FaceFeatures(scales=(1.5,)), "scales"),
        (lambda: FaceFeatures(neighbours=3), "neighbours"),
    ],
)
def test_invalid_parameters(make, match: str) -> None:
    with pytest.raises(OptionError, match=match):
        make()


def test_descriptors_go_through_the_dataset_cache(tmp_path) -> None:
    from geolearn.datasets import EmbeddedShapes, preprocess

    reps = [ShapeDistribution(kind="d2+d1", bins=16, samples=4096), FaceFeatures(rays=8, scales=(0.05,))]
    ds = EmbeddedShapes("train", reps, task="segment", max_shapes=2, cache_dir=tmp_path)
    report = preprocess(ds, workers=0, progress=False)
    assert report.num_built == 2 and not report.failures
    again = EmbeddedShapes("train", reps, task="segment", max_shapes=2, cache_dir=tmp_path)
    assert (
        preprocess(again, workers=0, progress=False).num_cached == 2
    )  # computed once per mesh and parameters
    sample = again[0]
    assert sample["descriptor"].shape == (32,)
    assert sample["face_features"].shape == (sample["face_labels"].shape[0], reps[1].num_channels)
    changed = [ShapeDistribution(kind="d2+d1", bins=16, samples=4096, seed=1), reps[1]]
    other = EmbeddedShapes("train", changed, task="segment", max_shapes=2, cache_dir=tmp_path)
    assert preprocess(other, workers=0, progress=False).num_built == 2  # a new seed is a new cache entry
