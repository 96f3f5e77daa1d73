"""Camera layouts and the look-at frame."""

from __future__ import annotations

import numpy as np
import pytest

from geolearn.errors import OptionError
from geolearn.geometry.cameras import camera_positions, fibonacci_sphere, look_at


@pytest.mark.parametrize(("kind", "v"), [("ring", 12), ("ring", 5), ("dodecahedron", 20), ("sphere", 7)])
def test_positions_lie_at_distance(kind, v):
    eye = camera_positions(kind, v, distance=3.0)
    assert eye.shape == (v, 3)
    assert eye.dtype == np.float64
    np.testing.assert_allclose(np.linalg.norm(eye, axis=1), 3.0)
    assert len(np.unique(eye.round(9), axis=0)) == v


def test_ring_is_mvcnn_like():
    eye = camera_positions("ring", 12, distance=2.0, elevation_deg=30.0)
    np.testing.assert_allclose(eye[:, 2], 2.0 * np.sin(np.deg2rad(30.0)))  # +z is up
    az = np.arctan2(eye[:, 1], eye[:, 0])
    np.testing.assert_allclose(np.diff(np.unwrap(az)), 2 * np.pi / 12)
    np.testing.assert_allclose(eye[0], [2.0 * np.cos(np.deg2rad(30.0)), 0.0, 1.0], atol=1e-12)


def test_dodecahedron_is_regular():
    eye = camera_positions("dodecahedron", 20, distance=1.0)
    d = np.linalg.norm(eye[:, None] - eye[None], axis=-1) + np.eye(20) * 9
    edge = d.min()
    # regular dodecahedron of circumradius 1: edge = 4 / (sqrt(3) (1 + sqrt(5)))
    assert edge == pytest.approx(4 / (np.sqrt(3) * (1 + np.sqrt(5))))
    assert (np.isclose(d, edge).sum(axis=1) == 3).all()  # every vertex has 3 neighbours
    np.testing.assert_allclose(eye.sum(axis=0), 0.0, atol=1e-12)


def test_fibonacci_is_nearly_uniform():
    p = fibonacci_sphere(200)
    np.testing.assert_allclose(np.linalg.norm(p, axis=1), 1.0)
    assert np.abs(p.mean(axis=0)).max() < 0.01
    d = np.linalg.norm(p[:, None] - p[None], axis=-1) + np.eye(200) * 9
    # the nearest neighbour distance of N uniform points is about sqrt(4 pi / N) / 1.1 or more
    assert d.min(axis=1).min() > 0.7 * np.sqrt(4 * np.pi / 200)
    assert np.abs(p[:, 2]).max() < 1.0  # never exactly a pole


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (("cube", 6), "unknown camera layout"),
        (("dodecahedron", 12), "exactly 20"),
        (("ring", 0), "num_views"),
        (("sphere", 2.0), "num_views"),
    ],
)
def test_errors(args, match):
    with pytest.raises(OptionError, match=match):
        camera_positions(*args)


def test_bad_distance_and_elevation():
    with pytest.raises(OptionError, match="distance"):
        camera_positions("ring", 4, distance=0.0)
    with pytest.raises(OptionError, match="elevation"):
        camera_positions("ring", 4, elevation_deg=100.0)


@pytest.mark.parametrize(
    "eye", [(2.0, 0.0, 1.0), (-1.0, 3.0, 0.5), (0.3, -0.2, -2.0), (0.0, 0.0, 2.0), (0.0, 0.0, -2.0)]
)
def test_look_at_frame(eye):
    eye = np.asarray(eye)
    frame = look_at(eye)
    assert frame.shape == (3, 3)
    np.testing.assert_allclose(frame @ frame.T, np.eye(3), atol=1e-12)
    right, up, forward = frame
    np.testing.assert_allclose(forward, -eye / np.linalg.norm(eye))
    # the origin is straight ahead in camera coordinates
    np.testing.assert_allclose(frame @ (np.zeros(3) - eye), [0, 0, np.linalg.norm(eye)], atol=1e-12)
    if abs(forward[2]) < 0.99:  # not looking straight up or down: upright image, level horizon
        assert right[2] == pytest.approx(0.0, abs=1e-12)
        assert up[2] > 0


def test_look_at_target_and_errors():
    frame = look_at([1.0, 1.0, 1.0], target=[1.0, 1.0, 0.0], up=[0.0, 1.0, 0.0])
    np.testing.assert_allclose(frame[2], [0.0, 0.0, -1.0])
    with pytest.raises(OptionError, match="coincides"):
        look_at([1.0, 2.0, 3.0], target=[1.0, 2.0, 3.0])
