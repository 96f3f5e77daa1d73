from __future__ import annotations

import pytest
from descriptor_helpers import sphere

from geolearn.descriptors import (
    FaceFeatureResult,
    SDFResult,
    ShapeHistogram,
    compute_descriptor,
    get_descriptor,
    list_descriptors,
    register_descriptor,
)
from geolearn.errors import OptionError


def test_builtin_descriptors_are_registered() -> None:
    assert list_descriptors()[:7] == ["d1", "d2", "a3", "d3", "d4", "sdf", "face_features"]
    assert get_descriptor("sdf").per_face
    assert not get_descriptor("d2").per_face


@pytest.mark.parametrize(
    ("name", "kwargs", "result_type"),
    [
        ("d2", {"samples": 1000}, ShapeHistogram),
        ("a3", {"samples": 1000}, ShapeHistogram),
        ("sdf", {}, SDFResult),
    ],
)
def test_compute_returns_the_declared_type(name: str, kwargs: dict, result_type: type) -> None:
    result = compute_descriptor(name, sphere(2), **kwargs)
    assert isinstance(result, result_type)
    assert get_descriptor(name).result_type is result_type


def test_face_features_through_the_registry() -> None:
    r = compute_descriptor("face_features", sphere(2), rays=16, scales=(0.05,))
    assert isinstance(r, FaceFeatureResult)


def test_duplicates_and_unknown_names_are_errors() -> None:
    with pytest.raises(OptionError, match="already registered"):
        register_descriptor("d2", lambda mesh: None, ShapeHistogram)
    with pytest.raises(OptionError, match=r"unknown descriptor 'd7'.*d1, d2"):
        get_descriptor("d7")
