"""Pictures of rendered views: contact sheets of shaded images and face-id maps, saved as PNG.

Images are composed as arrays and written with ``matplotlib.image.imsave`` (no display, no pyplot).

Shapes:
    a sheet is ``(H, W, 3)`` float64 RGB in ``[0, 1]``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from geolearn.errors import OptionError

if TYPE_CHECKING:
    from geolearn.geometry.render import Views

__all__ = ["compose_sheet", "contact_sheet", "face_palette", "save_image"]

BACKGROUND = 1.0  # white background
SEPARATOR = 0.6  # grey lines between tiles
MIN_TILE = 128  # auto scale enlarges tiles (nearest neighbour) to at least this many pixels


def face_palette(face_id: np.ndarray) -> np.ndarray:
    """``(..., 3)`` float64 RGB colours in ``[0.15, 0.95]`` for integer face ids ``(...)``.

    A fixed integer hash of the id (the same colour for the same id in every picture, whatever
    the mesh size); ids < 0 (background) are white.
    """
    f = np.asarray(face_id, dtype=np.int64)
    x = (f.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)) & np.uint64(0xFFFFFFFFFFFFFFFF)
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
    rgb = np.stack([(x >> np.uint64(s)) & np.uint64(0xFF) for s in (0, 8, 16)], axis=-1)
    out = 0.15 + 0.8 * rgb.astype(np.float64) / 255.0
    out[f < 0] = BACKGROUND
    return out


def compose_sheet(
    views: Views,
    columns: int | None = None,
    face_colors: bool = False,
    scale: int | None = None,
) -> np.ndarray:
    """The contact sheet of :func:`contact_sheet` as an array.

    Each view is a tile: the shaded image (grey ``0.08 + 0.72·shading`` on white: even surfaces
    facing the camera stay distinguishable from the background), and with ``face_colors`` a second tile below it
    colouring each pixel by its face id (:func:`face_palette`). Tiles are laid out row by row,
    ``columns`` per row (default ``ceil(sqrt(V))``), separated by 2-pixel grey lines.

    Args:
        views: rendered :class:`~geolearn.geometry.render.Views` (``(V, H, W)`` arrays).
        columns: views per row of the sheet.
        face_colors: add the face-id tile under each shaded tile.
        scale: integer enlargement of every pixel; ``None`` picks the smallest that makes tiles at
            least 128 pixels tall.

    Returns:
        ``(rows·(k·H·scale + 2) + 2, columns·(W·scale + 2) + 2, 3)`` float64 RGB in ``[0, 1]``, with
        ``k`` = 2 with ``face_colors`` else 1.
    """
    shading = np.asarray(views.shading)
    face = np.asarray(views.face_id)
    if shading.ndim != 3 or face.shape != shading.shape or shading.shape[0] == 0:
        raise OptionError(
            f"views must hold (V, H, W) shading and face_id arrays, got {shading.shape} and {face.shape}"
        )
    v, h, _ = shading.shape
    if columns is None:
        columns = math.ceil(math.sqrt(v))
    if isinstance(columns, bool) or not isinstance(columns, (int, np.integer)) or columns < 1:
        raise OptionError(f"columns must be a positive int, got {columns!r}")
    columns = min(int(columns), v)
    if scale is None:
        scale = max(1, math.ceil(MIN_TILE / h))
    if isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise OptionError(f"scale must be a positive int, got {scale!r}")

    hit = face >= 0
    grey = np.where(hit, 0.08 + 0.72 * np.clip(shading, 0.0, 1.0), BACKGROUND)  # (V, H, W)
    tiles = np.repeat(grey[..., None], 3, axis=-1)  # (V, H, W, 3)
    if face_colors:
        tiles = np.concatenate([tiles, face_palette(face)], axis=1)  # (V, 2H, W, 3)
    tiles = tiles.repeat(scale, axis=1).repeat(scale, axis=2)  # (V, th, tw, 3)
    th, tw = tiles.shape[1], tiles.shape[2]
    rows = math.ceil(v / columns)
    pad = 2
    sheet = np.full((rows * (th + pad) + pad, columns * (tw + pad) + pad, 3), SEPARATOR)
    for i in range(v):
        r, c = divmod(i, columns)
        y0, x0 = pad + r * (th + pad), pad + c * (tw + pad)
        sheet[y0 : y0 + th, x0 : x0 + tw] = tiles[i]
    return sheet


def contact_sheet(
    views: Views,
    path: str | Path,
    columns: int | None = None,
    face_colors: bool = False,
    scale: int | None = None,
) -> Path:
    """Write a PNG showing every rendered view (see :func:`compose_sheet` for the layout).

    Returns:
        the path written.
    """
    return save_image(compose_sheet(views, columns=columns, face_colors=face_colors, scale=scale), path)


def save_image(image: np.ndarray, path: str | Path) -> Path:
    """Write ``image`` as a PNG (parent directories are created).

    Args:
        image: ``(H, W)`` grey, ``(H, W, 3)`` RGB or ``(H, W, 4)`` RGBA; float in ``[0, 1]`` or
            uint8 in ``[0, 255]``.
        path: file to write; must end in ``.png``.

    Returns:
        the path written.
    """
    import matplotlib.image

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise OptionError(f"{path}: images are written as PNG; use a .png file name")
    img = np.asarray(image)
    if not (img.ndim == 2 or (img.ndim == 3 and img.shape[2] in (3, 4))) or img.size == 0:
        raise OptionError(f"image must be (H, W), (H, W, 3) or (H, W, 4), got shape {img.shape}")
    if img.dtype == np.uint8:
        img = img.astype(np.float64) / 255.0
    elif np.issubdtype(img.dtype, np.floating) or img.dtype == np.bool_:
        img = img.astype(np.float64)
        if not np.isfinite(img).all() or img.min() < 0.0 or img.max() > 1.0:
            raise OptionError("float images must be finite and in [0, 1]")
    else:
        raise OptionError(f"image dtype must be float in [0, 1] or uint8, got {img.dtype}")
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=-1)
    path.parent.mkdir(parents=True, exist_ok=True)
    matplotlib.image.imsave(path, img)
    return path
