"""Multi-view rendering of a mesh by ray casting: depth, shading and the face seen by every pixel.

Every pixel of every view is one ray; all ``V·H·W`` rays go to Embree in a single batched call.
Pinhole cameras look at the origin with +z up (see :mod:`geolearn.geometry.cameras`).

Shapes:
    depth ``(V, H, W)`` float32, shading ``(V, H, W)`` float32, face_id ``(V, H, W)`` int64,
    eye ``(V, 3)`` float64.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from geolearn.errors import OptionError
from geolearn.geometry.cameras import camera_positions, look_at
from geolearn.geometry.raycast import RayCaster
from geolearn.mesh import Mesh, check_usable

__all__ = ["Views", "fit_fov", "render_views", "view_rays"]

# Default field of view leaves this much room around the unit sphere's silhouette (5 %).
FIT_MARGIN = 1.05


class Views(NamedTuple):
    """``V`` rendered views of one mesh.

    Attributes:
        depth: ``(V, H, W)`` float32 distance from the camera to the surface along each pixel's
            ray (not the z-buffer depth); **0 on background** pixels (a hit is always > 0).
        shading: ``(V, H, W)`` float32 in ``[0, 1]``: Lambertian shading with the light at the camera,
            two-sided (``|n · d|``, since ModelNet windings are inconsistent); 0 on background.
        face_id: ``(V, H, W)`` int64 index of the face seen by each pixel; -1 on background.
        eye: ``(V, 3)`` float64 camera positions (each looks at the origin, +z up).
    """

    depth: np.ndarray
    shading: np.ndarray
    face_id: np.ndarray
    eye: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        """``(V, H, W)`` bool: pixels that see the mesh."""
        return self.face_id >= 0


def fit_fov(distance: float, radius: float = 1.0, margin: float = FIT_MARGIN) -> float:
    """Field of view (degrees) in which a sphere of ``radius`` at the origin, seen from ``distance``,
    fills the image up to ``margin`` (its silhouette's half-width is ``1/margin`` of the image's)."""
    if not distance > radius:
        raise OptionError(
            f"camera distance {distance} must exceed the sphere radius {radius} to fit it in view"
        )
    half = math.asin(radius / distance)  # half-angle of the silhouette cone
    return math.degrees(2.0 * math.atan(margin * math.tan(half)))


def view_rays(eye: np.ndarray, size: int, fov_deg: float) -> np.ndarray:
    """``(V, H, W, 3)`` float64 unit ray directions of pinhole cameras at ``eye`` ``(V, 3)``
    looking at the origin, ``H = W = size`` pixels, vertical and horizontal field of view
    ``fov_deg``. Pixel ``[r, c]`` looks through its centre; row 0 is the top of the image."""
    eye = np.asarray(eye, dtype=np.float64).reshape(-1, 3)
    half = math.tan(math.radians(fov_deg) / 2.0)
    s = (2.0 * (np.arange(size) + 0.5) / size - 1.0) * half  # (S,) from -half to half
    x = s[None, :]  # (1, W): camera right
    y = -s[:, None]  # (H, 1): camera up, row 0 on top
    frames = np.stack([look_at(e) for e in eye])  # (V, 3, 3): rows right, up, forward
    d = (
        x[None, :, :, None] * frames[:, None, None, 0]
        + y[None, :, :, None] * frames[:, None, None, 1]
        + frames[:, None, None, 2]
    )  # (V, H, W, 3)
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def render_views(
    mesh: Mesh,
    cameras: str | np.ndarray = "ring",
    num_views: int = 12,
    size: int = 64,
    distance: float = 2.5,
    fov_deg: float | None = None,
    elevation_deg: float = 30.0,
) -> Views:
    """Render ``mesh`` from several cameras by casting one ray per pixel.

    Meant for meshes normalised to the unit sphere (``geolearn.mesh.normalize``): with the default
    field of view the whole unit sphere is visible in every view.

    Args:
        mesh: the mesh (any winding; both sides of a face are rendered).
        cameras: a layout of :func:`~geolearn.geometry.cameras.camera_positions` (``"ring"``,
            ``"dodecahedron"``, ``"sphere"``), or a ``(V, 3)`` array of camera positions (then
            ``num_views``, ``distance`` and ``elevation_deg`` are not used).
        num_views: V, for a named layout (20 for ``"dodecahedron"``).
        size: image height = width in pixels.
        distance: camera distance from the origin, for a named layout.
        fov_deg: full field of view in degrees (vertical = horizontal); ``None`` fits the unit sphere
            seen from the nearest camera with a 5 % margin (49.2° at distance 2.5).
        elevation_deg: camera elevation of the ``"ring"`` layout (MVCNN: 30°).

    Returns:
        :class:`Views` with ``depth``/``shading``/``face_id`` of shape ``(V, size, size)`` and
        ``eye (V, 3)``.
    """
    check_usable(mesh)
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 1:
        raise OptionError(f"image size must be a positive int, got {size!r}")
    if isinstance(cameras, str):
        eye = camera_positions(cameras, num_views, distance=distance, elevation_deg=elevation_deg)
    else:
        eye = np.asarray(cameras, dtype=np.float64)
        if eye.ndim != 2 or eye.shape[1] != 3 or len(eye) == 0 or not np.isfinite(eye).all():
            raise OptionError(
                f"cameras must be a layout name or a finite (V, 3) array, got shape {eye.shape}"
            )
    if fov_deg is None:
        fov_deg = fit_fov(float(np.linalg.norm(eye, axis=1).min()))
    elif not 0.0 < fov_deg < 180.0:
        raise OptionError(f"fov_deg must be in (0, 180), got {fov_deg!r}")
    v, s = len(eye), int(size)
    dirs = view_rays(eye, s, fov_deg).reshape(-1, 3)  # (V*H*W, 3)
    origins = np.repeat(eye, s * s, axis=0)  # (V*H*W, 3)
    hits = RayCaster(mesh).cast(origins, dirs)
    hit = hits.face >= 0
    depth = np.where(hit, hits.t, 0.0).astype(np.float32)
    shading = np.abs(np.einsum("rc,rc->r", hits.normal.astype(np.float64), dirs))
    shading = np.clip(np.where(hit, shading, 0.0), 0.0, 1.0).astype(np.float32)
    shape = (v, s, s)
    return Views(depth.reshape(shape), shading.reshape(shape), hits.face.reshape(shape), eye)
