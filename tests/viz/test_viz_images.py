"""Contact sheets and PNG writing."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

from geolearn.errors import OptionError
from geolearn.geometry.render import Views
from geolearn.viz import compose_sheet, contact_sheet, face_palette, save_image


def fake_views(v: int = 5, h: int = 4, w: int = 6) -> Views:
    rng = np.random.default_rng(0)
    face = rng.integers(-1, 50, size=(v, h, w))
    shading = np.where(face >= 0, rng.random((v, h, w)), 0.0).astype(np.float32)
    depth = np.where(face >= 0, 2.0, 0.0).astype(np.float32)
    return Views(depth, shading, face, np.zeros((v, 3)))


def test_layout_and_tiles():
    views = fake_views()
    sheet = compose_sheet(views, columns=2, scale=3)
    # 5 views in 2 columns -> 3 rows of 12x18 tiles with 2-pixel separators
    assert sheet.shape == (3 * (12 + 2) + 2, 2 * (18 + 2) + 2, 3)
    assert sheet.min() >= 0
    assert sheet.max() <= 1
    # view 3 is row 1, column 1; its pixel (1, 2) is enlarged to a 3x3 block
    y0, x0 = 2 + 1 * 14, 2 + 1 * 20
    block = sheet[y0 + 3 : y0 + 6, x0 + 6 : x0 + 9]
    f, s = views.face_id[3, 1, 2], views.shading[3, 1, 2]
    expected = 1.0 if f < 0 else 0.08 + 0.72 * s
    np.testing.assert_allclose(block, expected)
    # the empty sixth cell and the separators are grey
    assert np.allclose(sheet[0], 0.6)
    assert np.allclose(sheet[y0 + 14 + 2 :, x0:], 0.6)


def test_face_colour_pane_and_default_layout():
    views = fake_views(v=4, h=8, w=8)
    sheet = compose_sheet(views, face_colors=True)  # 2 columns, scale 16 -> 128-pixel tiles
    assert sheet.shape == (2 * (2 * 128 + 2) + 2, 2 * (128 + 2) + 2, 3)
    pane = sheet[2 + 128 : 2 + 256 : 16, 2 : 2 + 128 : 16]  # view 0's face pane, one sample per pixel
    np.testing.assert_allclose(pane, face_palette(views.face_id[0]))


def test_palette_is_fixed_and_distinct():
    ids = np.arange(1000)
    a, b = face_palette(ids), face_palette(ids)
    np.testing.assert_array_equal(a, b)
    assert len(np.unique(a.round(6), axis=0)) == 1000
    np.testing.assert_array_equal(face_palette(np.array([-1])), [[1.0, 1.0, 1.0]])
    assert a.min() >= 0.15
    assert a.max() <= 0.95 + 1e-12


def test_contact_sheet_writes_png(tmp_path):
    views = fake_views()
    path = contact_sheet(views, tmp_path / "sub" / "views.png", columns=3, scale=2)
    back = matplotlib.image.imread(path)
    expected = compose_sheet(views, columns=3, scale=2)
    assert back.shape[:2] == expected.shape[:2]
    np.testing.assert_allclose(back[..., :3], expected, atol=1 / 255 + 1e-6)


@pytest.mark.parametrize(
    "image",
    [np.zeros((4, 5)), np.ones((4, 5, 3)), np.full((4, 5, 4), 0.5), np.full((3, 3), 200, dtype=np.uint8)],
)
def test_save_image_round_trip(tmp_path, image):
    path = save_image(image, tmp_path / "a.png")
    back = matplotlib.image.imread(path)
    want = image.astype(float) / (255.0 if image.dtype == np.uint8 else 1.0)
    if want.ndim == 2:
        want = np.repeat(want[..., None], 3, axis=-1)
    np.testing.assert_allclose(back[..., : want.shape[-1]], want, atol=1 / 255 + 1e-6)


@pytest.mark.parametrize(
    ("image", "name", "match"),
    [
        (np.zeros((4, 5)), "a.jpg", "PNG"),
        (np.zeros((4, 5, 2)), "a.png", "shape"),
        (np.full((4, 5), 2.0), "a.png", r"\[0, 1\]"),
        (np.zeros((4, 5), dtype=np.int32), "a.png", "dtype"),
    ],
)
def test_save_image_errors(tmp_path, image, name, match):
    with pytest.raises(OptionError, match=match):
        save_image(image, tmp_path / name)


def test_sheet_errors():
    with pytest.raises(OptionError, match="columns"):
        compose_sheet(fake_views(), columns=0)
    with pytest.raises(OptionError, match="scale"):
        compose_sheet(fake_views(), scale=0)
    bad = fake_views()._replace(face_id=np.zeros((2, 2), dtype=np.int64))
    with pytest.raises(OptionError, match="views"):
        compose_sheet(bad)
