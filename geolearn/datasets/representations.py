"""Representations: deterministic functions from a (normalised) mesh to the arrays a model reads.

A representation has ``keys`` (the names of the arrays it produces), is called on a
:class:`~geolearn.mesh.Mesh` and returns ``dict[str, numpy.ndarray]`` with exactly those keys, never
mutates the mesh, and has a ``repr`` listing every parameter that changes its output (the repr is
part of the cache key, see :mod:`geolearn.datasets.cache`). Any randomness comes from a ``seed``
parameter. Datasets normalise meshes to the unit sphere before calling representations.

Shapes (see also ``/work/notes/CONTRACT.md``):
    - :class:`Points`: ``points (N, 3) float32``, ``normals (N, 3) float32``, ``point_face (N,) int64``.
    - :class:`Voxels`: ``voxels (1, R, R, R) float32`` 0/1 occupancy of the cube ``[-1, 1]^3``.
    - :class:`Views`: ``views (V, 2, H, W) float32`` (channel 0 normalised depth, channel 1 shading),
      ``view_face (V, H, W) int64`` (-1 on the background).
    - :class:`FaceLabels`: ``face_labels (F,) int64``, ``face_areas (F,) float32``,
      ``face_centroids (F, 3) float32`` — the per-face targets of segmentation.
    - :class:`SpectralPoints`: the keys of :class:`Points` plus the Laplace–Beltrami eigenbasis read
      at those points (``spectral_*``), for the DiffusionNet encoder.
"""

from __future__ import annotations

from typing import ClassVar, Protocol, runtime_checkable

import numpy as np

from geolearn.errors import DatasetError, OptionError
from geolearn.geometry.sampling import sample_surface
from geolearn.mesh import Mesh

__all__ = [
    "FaceLabels",
    "Points",
    "Representation",
    "SpectralPoints",
    "Views",
    "Voxels",
    "check_representations",
]


@runtime_checkable
class Representation(Protocol):
    """What a dataset needs from a representation (see the module docstring)."""

    keys: ClassVar[tuple[str, ...]]

    def __call__(self, mesh: Mesh) -> dict[str, np.ndarray]: ...


def _positive_int(owner: str, name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise OptionError(f"{owner}: {name} must be a positive int, got {value!r}")
    return int(value)


def check_representations(representations: object) -> list[Representation]:
    """Validate a list of representations: each has ``keys`` and is callable; no key is produced twice.

    Raises:
        OptionError: naming the offending representation or key.
    """
    if isinstance(representations, Representation):
        representations = [representations]
    try:
        reps = list(representations)  # type: ignore[call-overload]
    except TypeError:
        raise OptionError(f"representations must be a list, got {type(representations).__name__}") from None
    seen: dict[str, str] = {}
    for rep in reps:
        keys = getattr(rep, "keys", None)
        if not callable(rep) or not isinstance(keys, tuple) or not keys:
            raise OptionError(f"{rep!r} is not a representation (needs a `keys` tuple and __call__(mesh))")
        for k in keys:
            if k in seen:
                raise OptionError(f"representations {seen[k]} and {rep!r} both produce {k!r}")
            seen[k] = repr(rep)
    return reps


class Points:
    """``num_points`` points sampled uniformly by area on the surface (:func:`sample_surface`).

    Returns:
        ``points (N, 3) float32``, ``normals (N, 3) float32`` (unit face normals),
        ``point_face (N,) int64`` (index of the face each point lies on).
    """

    keys: ClassVar[tuple[str, ...]] = ("points", "normals", "point_face")

    def __init__(self, num_points: int = 1024, seed: int = 0) -> None:
        self.num_points = _positive_int("Points", "num_points", num_points)
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise OptionError(
                f"Points: seed must be a non-negative int (it is part of the cache key), got {seed!r}"
            )
        self.seed = int(seed)

    def __repr__(self) -> str:
        return f"Points(num_points={self.num_points}, seed={self.seed})"

    def __call__(self, mesh: Mesh) -> dict[str, np.ndarray]:
        s = sample_surface(mesh, self.num_points, self.seed)
        return {"points": s.points, "normals": s.normals, "point_face": s.face}


class Voxels:
    """Occupancy of an ``R³`` grid over the cube ``[-1, 1]^3`` (the unit sphere's bounding cube),
    from :func:`geolearn.geometry.voxelize.voxelize` (``mode`` ``"solid"`` or ``"surface"``).

    Returns:
        ``voxels (1, R, R, R) float32`` holding 0/1; index ``[0, i, j, k]`` ↔ x, y, z.
    """

    keys: ClassVar[tuple[str, ...]] = ("voxels",)

    def __init__(self, resolution: int = 32, mode: str = "solid") -> None:
        self.resolution = _positive_int("Voxels", "resolution", resolution)
        if mode not in ("solid", "surface"):
            raise OptionError(f"Voxels: mode must be 'solid' or 'surface', got {mode!r}")
        self.mode = mode

    def __repr__(self) -> str:
        return f"Voxels(resolution={self.resolution}, mode={self.mode!r})"

    def __call__(self, mesh: Mesh) -> dict[str, np.ndarray]:
        from geolearn.geometry.voxelize import voxelize

        grid = voxelize(mesh, self.resolution, self.mode, bounds=(-1.0, 1.0))
        return {"voxels": grid.occupancy[None].astype(np.float32)}  # (1, R, R, R)


class Views:
    """Depth and shading images of the mesh from ``num_views`` cameras, with the face seen at each
    pixel, from :func:`geolearn.geometry.render.render_views`.

    Cameras are a layout of :func:`~geolearn.geometry.cameras.camera_positions` (``"ring"``:
    MVCNN's ring 30° above the horizon; ``"dodecahedron"``: 20 views; ``"sphere"``) at the
    renderer's default distance 2.5 from the origin, with a field of view that fits the unit sphere.

    Returns:
        ``views (V, 2, H, W) float32`` in ``[0, 1]``: channel 0 is the normalised depth
        ``(d + 1 - t) / 2`` where ``t`` is the distance from the camera to the surface along the
        pixel's ray and ``d`` the camera's distance from the origin — 1 at the nearest point the
        unit sphere allows, 0 at the farthest, and 0 on the background, so near surfaces are bright;
        channel 1 is two-sided Lambertian shading with the light at the camera (0 on background).
        ``view_face (V, H, W) int64``: the face seen by each pixel, -1 on the background.
        ``H == W == size``.
    """

    keys: ClassVar[tuple[str, ...]] = ("views", "view_face")

    def __init__(self, num_views: int = 12, size: int = 64, cameras: str = "ring") -> None:
        self.num_views = _positive_int("Views", "num_views", num_views)
        self.size = _positive_int("Views", "size", size)
        if not isinstance(cameras, str):
            raise OptionError(f"Views: cameras must be a camera layout name, got {cameras!r}")
        self.cameras = cameras

    def __repr__(self) -> str:
        return f"Views(num_views={self.num_views}, size={self.size}, cameras={self.cameras!r})"

    def __call__(self, mesh: Mesh) -> dict[str, np.ndarray]:
        from geolearn.geometry.render import render_views

        v = render_views(mesh, cameras=self.cameras, num_views=self.num_views, size=self.size)
        d = np.linalg.norm(v.eye, axis=1)[:, None, None]  # (V, 1, 1) camera distances
        near = np.where(v.face_id >= 0, np.clip((d + 1.0 - v.depth) / 2.0, 0.0, 1.0), 0.0)  # (V, H, W)
        views = np.stack([near, v.shading], axis=1).astype(np.float32)  # (V, 2, H, W)
        return {"views": views, "view_face": np.asarray(v.face_id, dtype=np.int64)}


class FaceLabels:
    """The per-face targets of segmentation, in the normalised frame.

    Returns:
        ``face_labels (F,) int64`` (from ``mesh.face_labels``), ``face_areas (F,) float32``,
        ``face_centroids (F, 3) float32``.

    Raises:
        DatasetError: the mesh has no face labels.
    """

    keys: ClassVar[tuple[str, ...]] = ("face_labels", "face_areas", "face_centroids")

    def __repr__(self) -> str:
        return "FaceLabels()"

    def __call__(self, mesh: Mesh) -> dict[str, np.ndarray]:
        if mesh.face_labels is None:
            raise DatasetError(f"{mesh.source}: has no per-face labels, cannot be used for segmentation")
        return {
            "face_labels": mesh.face_labels.astype(np.int64),
            "face_areas": mesh.face_areas.astype(np.float32),
            "face_centroids": mesh.face_centroids.astype(np.float32),
        }


class SpectralPoints:
    """:class:`Points` (the same ``num_points`` and ``seed`` give the same points) plus the intrinsic
    spectral geometry of the surface read at each point (:mod:`geolearn.geometry.spectral`), on the
    surface scaled to unit area: what a DiffusionNet-style encoder reads.

    The ``k`` lowest Laplace–Beltrami eigenfunctions are interpolated linearly inside each point's
    triangle; their gradients are constant on a triangle and given in a 2-D frame of its plane (an
    arbitrary frame per triangle: an encoder must only use frame-independent quantities of them,
    such as dot products of two gradients). Each point stands for ``1/N`` of the (unit) area, so
    ``spectral_basis.T @ x / N`` estimates the projection of a function ``x`` on the basis.

    Returns:
        the keys of :class:`Points`, and ``spectral_evals (k,) float32``, ``spectral_basis (N, k)
        float32``, ``spectral_grad (N, k, 2) float32``, ``spectral_hks (N, T) float32`` (the heat
        kernel signature at ``hks`` log-spaced times, divided by the heat trace: mean 1 over the surface).
    """

    keys: ClassVar[tuple[str, ...]] = (
        "points",
        "normals",
        "point_face",
        "spectral_evals",
        "spectral_basis",
        "spectral_grad",
        "spectral_hks",
    )

    def __init__(self, num_points: int = 1024, seed: int = 0, k: int = 128, hks: int = 16) -> None:
        self.points = Points(num_points, seed)
        self.k = _positive_int("SpectralPoints", "k", k)
        self.hks = _positive_int("SpectralPoints", "hks", hks)

    def __repr__(self) -> str:
        p = self.points
        return f"SpectralPoints(num_points={p.num_points}, seed={p.seed}, k={self.k}, hks={self.hks})"

    def __call__(self, mesh: Mesh) -> dict[str, np.ndarray]:
        from geolearn.geometry.spectral import (
            barycentric,
            eigenbasis,
            face_gradients,
            heat_kernel_signature,
            hks_times,
        )

        out = self.points(mesh)
        basis = eigenbasis(mesh, self.k)
        face = out["point_face"]
        corners = basis.faces[face]  # (N, 3) merged vertex indices
        weights = barycentric(mesh.triangles[face].astype(np.float64), out["points"].astype(np.float64))
        at_points = np.einsum("nc,nck->nk", weights, basis.evecs[corners])  # (N, k)
        drawn, grad_of = np.unique(face, return_inverse=True)  # gradients of the drawn faces only
        grads = face_gradients(basis.vertices, basis.faces[drawn], basis.evecs)
        real = basis.evals[: basis.count]  # the padding of a small mesh would dilute the heat trace
        hks = heat_kernel_signature(real, at_points[:, : basis.count], hks_times(real, self.hks))
        out.update(
            spectral_evals=basis.evals.astype(np.float32),
            spectral_basis=at_points.astype(np.float32),
            spectral_grad=grads[grad_of].astype(np.float32),
            spectral_hks=hks.astype(np.float32),
        )
        return out
