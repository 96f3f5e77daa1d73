"""Camera placements for multi-view rendering, and the look-at frame of a pinhole camera.

World convention: **+z is up** (ModelNet's OFF files are z-up). Cameras look at the origin, where
meshes normalised to the unit sphere are centred.

Shapes:
    camera positions ``(V, 3)`` float64; a camera frame ``(3, 3)`` float64.
"""

from __future__ import annotations

import numpy as np

from geolearn.errors import OptionError

__all__ = ["CAMERA_KINDS", "camera_positions", "fibonacci_sphere", "look_at"]

CAMERA_KINDS = ("ring", "dodecahedron", "sphere")
_GOLDEN = (1.0 + np.sqrt(5.0)) / 2.0


def camera_positions(
    kind: str,
    num_views: int,
    distance: float = 2.5,
    elevation_deg: float = 30.0,
) -> np.ndarray:
    """Positions of ``num_views`` cameras at ``distance`` from the origin.

    Kinds:
        - ``"ring"``: ``num_views`` cameras evenly spaced in azimuth around the vertical (+z) axis,
          all ``elevation_deg`` above the horizontal plane, the first on the +x side
          (azimuth 0); MVCNN's setting is 12 views at 30°.
        - ``"dodecahedron"``: the 20 vertices of a regular dodecahedron (``num_views`` must be 20);
          every direction of the sphere is within 37.4° of a camera.
        - ``"sphere"``: ``num_views`` Fibonacci (golden-spiral) points, nearly uniform on the
          sphere, from near the top (z > 0) to near the bottom; none exactly on the z axis.

    ``elevation_deg`` is used by ``"ring"`` only.

    Returns:
        ``(V, 3)`` float64 camera positions, each at norm ``distance``.
    """
    if kind not in CAMERA_KINDS:
        raise OptionError(f"unknown camera layout {kind!r}; use one of {', '.join(CAMERA_KINDS)}")
    if isinstance(num_views, bool) or not isinstance(num_views, (int, np.integer)) or num_views < 1:
        raise OptionError(f"num_views must be a positive int, got {num_views!r}")
    if not np.isfinite(distance) or distance <= 0:
        raise OptionError(f"camera distance must be positive, got {distance!r}")
    if kind == "ring":
        if not np.isfinite(elevation_deg) or abs(elevation_deg) > 90:
            raise OptionError(f"elevation_deg must be in [-90, 90], got {elevation_deg!r}")
        az = 2.0 * np.pi * np.arange(num_views) / num_views  # (V,)
        el = np.deg2rad(elevation_deg)
        dirs = np.stack(
            [np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.full(num_views, np.sin(el))], axis=1
        )
    elif kind == "dodecahedron":
        if num_views != 20:
            raise OptionError(
                f"the dodecahedron layout has exactly 20 cameras, got num_views={num_views}; "
                "use 'sphere' for another number of roughly uniform views"
            )
        dirs = _dodecahedron_vertices()
    else:
        dirs = fibonacci_sphere(num_views)
    dirs = dirs / np.linalg.norm(dirs, axis=1, keepdims=True)
    return (float(distance) * dirs).astype(np.float64)


def _dodecahedron_vertices() -> np.ndarray:
    """``(20, 3)`` vertices of a regular dodecahedron (not normalised)."""
    g, ig = _GOLDEN, 1.0 / _GOLDEN
    cube = [[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]
    rest = []
    for a in (-1, 1):
        for b in (-1, 1):
            rest += [[0, a * ig, b * g], [a * ig, b * g, 0], [a * g, 0, b * ig]]
    return np.asarray(cube + rest, dtype=np.float64)


def fibonacci_sphere(n: int) -> np.ndarray:
    """``(n, 3)`` float64 unit vectors on a golden spiral: ``z_i = 1 - (2i + 1)/n``."""
    i = np.arange(n, dtype=np.float64)
    z = 1.0 - (2.0 * i + 1.0) / n
    rho = np.sqrt(np.maximum(0.0, 1.0 - z * z))
    phi = 2.0 * np.pi * i / _GOLDEN**2  # golden angle steps
    return np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)


def look_at(
    eye: np.ndarray,
    target: np.ndarray | None = None,
    up: np.ndarray | None = None,
) -> np.ndarray:
    """The orientation of a camera at ``eye`` looking at ``target``.

    Args:
        eye: ``(3,)`` camera position.
        target: ``(3,)`` point looked at (default: the origin).
        up: ``(3,)`` world up (default ``+z``). When the viewing direction is (nearly) parallel to
            ``up``, the world axis least aligned with the view is used instead, so the frame stays
            defined (straight-down views get a fixed, if arbitrary, roll).

    Returns:
        ``(3, 3)`` float64 orthonormal matrix whose rows are the camera's **right**, **up** and
        **forward** (viewing direction) unit vectors in world coordinates: ``R @ (p - eye)`` gives
        camera coordinates x (right), y (up), z (depth along the view). Image row 0 is the top of
        the picture (largest camera y).
    """
    eye = np.asarray(eye, dtype=np.float64).reshape(3)
    target = np.zeros(3) if target is None else np.asarray(target, dtype=np.float64).reshape(3)
    up = np.array([0.0, 0.0, 1.0]) if up is None else np.asarray(up, dtype=np.float64).reshape(3)
    if not (np.isfinite(eye).all() and np.isfinite(target).all() and np.isfinite(up).all()):
        raise OptionError("look_at: eye, target and up must be finite")
    forward = target - eye
    norm = np.linalg.norm(forward)
    if norm <= 0:
        raise OptionError(f"look_at: eye {eye.tolist()} coincides with the target")
    forward /= norm
    right = np.cross(forward, up)
    if np.linalg.norm(right) < 1e-9 * max(np.linalg.norm(up), 1e-300):
        right = np.cross(forward, np.eye(3)[int(np.argmin(np.abs(forward)))])
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, forward)
    return np.stack([right, cam_up, forward])
