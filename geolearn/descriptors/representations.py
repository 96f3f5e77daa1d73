"""Descriptors as dataset representations (see ``CONTRACT.md``): deterministic, cached on disk.

Each class has ``keys``, is called on a :class:`~geolearn.mesh.Mesh` (the datasets call it on meshes
normalised to the unit sphere) and returns ``dict[str, numpy.ndarray]``; its ``repr`` lists every
parameter that changes the output, since the repr is part of the cache key.

- :class:`ShapeDistribution` → ``descriptor (D,) float32``: one or several shape distributions
  (``kind="d2"`` or ``"d2+a3+d1"``), concatenated, ``D = bins × number of kinds``.
- :class:`SDFHistogram` → ``descriptor (bins,) float32``: area-weighted histogram of the paper's
  normalised SDF.
- :class:`FaceFeatures` → ``face_features (F, C) float32``: per-face features for segmentation.

Units: the SDF scales with the mesh. On unit-sphere-normalised meshes a raw SDF is in units of the
bounding-sphere radius; the histogram here is of the *normalised* SDF (scale free) and the SDF
columns of the face features are divided by the shape's RMS radius, so neither depends on units.

Orientation: the SDF needs faces wound outward. ModelNet meshes often are not (and carry duplicate
faces, which block a winding repair), so by default :class:`SDFHistogram` first applies
:func:`geolearn.mesh.repair` (weld vertices, drop degenerate and duplicate faces, wind every closed
component outward; a global histogram does not need the original faces), and :class:`FaceFeatures`
applies :func:`orient_faces` (the same winding repair, mapped back onto the original faces: same
faces, same order, so the features stay aligned with the face labels). How many faces then lack a
valid ray on ModelNet10: ``python benchmarks/bench_descriptors.py --only orient``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import numpy as np

from geolearn.descriptors.distributions import (
    DEFAULT_BINS,
    DEFAULT_SAMPLES,
    KINDS,
    SCALES,
    shape_distributions,
)
from geolearn.descriptors.features import (
    DEFAULT_CONE_ANGLES,
    DEFAULT_FEATURE_RAYS,
    DEFAULT_NEIGHBOURS,
    DEFAULT_SCALES,
    face_features,
)
from geolearn.descriptors.sdf import (
    DEFAULT_ALPHA,
    DEFAULT_CONE_ANGLE,
    DEFAULT_RAYS,
    DEFAULT_SDF_BINS,
    shape_diameter_function,
)
from geolearn.errors import OptionError
from geolearn.mesh import Mesh
from geolearn.mesh import repair as repair_mesh

__all__ = ["FaceFeatures", "SDFHistogram", "ShapeDistribution", "orient_faces"]


def _parity(faces: np.ndarray) -> np.ndarray:
    """``(F,)`` 0/1: parity of the permutation sorting each face's vertex ids (its winding, given the set)."""
    a, b, c = faces[:, 0], faces[:, 1], faces[:, 2]
    return ((a > b).astype(np.int64) + (a > c) + (b > c)) % 2


def orient_faces(mesh: Mesh) -> Mesh:
    """``mesh`` with its faces wound like :func:`geolearn.mesh.repair` winds them; same faces, same order.

    ``repair`` welds vertices, drops degenerate and duplicate faces (which would block the winding
    repair at their non-manifold edges) and winds every connected component consistently, closed
    ones outward. Each original face is then flipped if its repaired counterpart (the face on the
    same welded vertices) is wound the other way; degenerate faces are left as they are. Face ``i`` of
    the result is face ``i`` of the input, possibly flipped (labels stay aligned).
    """
    welded = repair_mesh(
        mesh,
        merge_vertices=True,
        drop_degenerate=False,
        drop_duplicates=False,
        drop_unreferenced=False,
        fix_winding=False,
    )  # same faces, same order, on welded vertices
    clean = repair_mesh(mesh)
    # a common vertex numbering: clean's vertices are a subset of welded's (same coordinates)
    _, inverse = np.unique(np.concatenate([welded.vertices, clean.vertices]), axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    ids_w = inverse[: welded.num_vertices][welded.faces]  # (F, 3)
    ids_c = inverse[welded.num_vertices :][clean.faces]  # (F_clean, 3)
    nv = np.int64(inverse.max() + 1)

    def key(ids: np.ndarray) -> np.ndarray:
        s = np.sort(ids, axis=1)
        return (s[:, 0] * nv + s[:, 1]) * nv + s[:, 2]

    key_c = key(ids_c)
    order = np.argsort(key_c)
    key_w = key(ids_w)
    pos = np.minimum(np.searchsorted(key_c[order], key_w), len(order) - 1)
    found = key_c[order][pos] == key_w  # degenerate faces have no counterpart
    flip = found & (_parity(ids_w) != _parity(ids_c[order][pos]))
    faces = mesh.faces.copy()
    faces[flip] = faces[flip][:, ::-1]
    return mesh.replace(faces=faces)


def _int(owner: str, name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise OptionError(f"{owner}: {name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _float(owner: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise OptionError(f"{owner}: {name} must be a number, got {value!r}")
    return float(value)


class ShapeDistribution:
    """Shape distribution histogram(s) (:mod:`geolearn.descriptors.distributions`).

    Args:
        kind: ``"d1"``, ``"d2"``, ``"a3"``, ``"d3"``, ``"d4"``, or several joined by ``+``
            (``"d2+a3"``), or a sequence of them; several are concatenated in the order given.
        bins, samples, scale: as in :func:`~geolearn.descriptors.distributions.shape_distribution`.
        seed: non-negative int (part of the cache key).

    Returns:
        ``descriptor (bins × number of kinds,) float32``; each block sums to 1.
    """

    keys: ClassVar[tuple[str, ...]] = ("descriptor",)

    def __init__(
        self,
        kind: str | Sequence[str] = "d2",
        bins: int = DEFAULT_BINS,
        samples: int = DEFAULT_SAMPLES,
        scale: str = "mean",
        seed: int = 0,
    ) -> None:
        kinds = tuple(kind.split("+")) if isinstance(kind, str) else tuple(kind)
        if not kinds or any(k not in KINDS for k in kinds):
            raise OptionError(
                f"ShapeDistribution: kind must be among {', '.join(KINDS)} (joined by '+'), got {kind!r}"
            )
        if len(set(kinds)) != len(kinds):
            raise OptionError(f"ShapeDistribution: kind {kind!r} repeats a distribution")
        if scale not in SCALES:
            raise OptionError(f"ShapeDistribution: scale must be one of {', '.join(SCALES)}, got {scale!r}")
        self.kinds = kinds
        self.bins = _int("ShapeDistribution", "bins", bins, 1)
        self.samples = _int("ShapeDistribution", "samples", samples, 1)
        self.scale = scale
        self.seed = _int("ShapeDistribution", "seed", seed, 0)

    @property
    def kind(self) -> str:
        return "+".join(self.kinds)

    def __repr__(self) -> str:
        return (
            f"ShapeDistribution(kind={self.kind!r}, bins={self.bins}, samples={self.samples}, "
            f"scale={self.scale!r}, seed={self.seed})"
        )

    def __call__(self, mesh: Mesh) -> dict[str, np.ndarray]:
        parts = [
            shape_distributions(
                [mesh], k, bins=self.bins, samples=self.samples, scale=self.scale, seed=self.seed
            ).histograms[0]
            for k in self.kinds
        ]
        return {"descriptor": np.concatenate([p.numpy() for p in parts]).astype(np.float32)}


class SDFHistogram:
    """Area-weighted histogram of the normalised shape diameter function (:mod:`geolearn.descriptors.sdf`).

    Args:
        bins: histogram bins on ``[0, 1]``.
        rays, cone_angle, smoothing_iterations, alpha: as in
            :func:`~geolearn.descriptors.sdf.shape_diameter_function`.
        repair: apply :func:`geolearn.mesh.repair` first (module docstring).

    Returns:
        ``descriptor (bins,) float32`` summing to 1.
    """

    keys: ClassVar[tuple[str, ...]] = ("descriptor",)

    def __init__(
        self,
        bins: int = DEFAULT_SDF_BINS,
        rays: int = DEFAULT_RAYS,
        cone_angle: float = DEFAULT_CONE_ANGLE,
        smoothing_iterations: int = 0,
        alpha: float = DEFAULT_ALPHA,
        repair: bool = True,
    ) -> None:
        self.bins = _int("SDFHistogram", "bins", bins, 1)
        self.rays = _int("SDFHistogram", "rays", rays, 1)
        self.cone_angle = _float("SDFHistogram", "cone_angle", cone_angle)
        if not 0.0 < self.cone_angle <= 180.0:
            raise OptionError(f"SDFHistogram: cone_angle must be in (0, 180] degrees, got {cone_angle!r}")
        self.smoothing_iterations = _int("SDFHistogram", "smoothing_iterations", smoothing_iterations, 0)
        self.alpha = _float("SDFHistogram", "alpha", alpha)
        if not self.alpha > 0:
            raise OptionError(f"SDFHistogram: alpha must be positive, got {alpha!r}")
        self.repair = bool(repair)

    def __repr__(self) -> str:
        return (
            f"SDFHistogram(bins={self.bins}, rays={self.rays}, cone_angle={self.cone_angle!r}, "
            f"smoothing_iterations={self.smoothing_iterations}, alpha={self.alpha!r}, repair={self.repair})"
        )

    def __call__(self, mesh: Mesh) -> dict[str, np.ndarray]:
        if self.repair:
            mesh = repair_mesh(mesh)
        r = shape_diameter_function(
            mesh,
            rays=self.rays,
            cone_angle=self.cone_angle,
            smoothing_iterations=self.smoothing_iterations,
            bins=self.bins,
            alpha=self.alpha,
        )
        return {"descriptor": r.histogram.astype(np.float32)}


class FaceFeatures:
    """Per-face hand-crafted features for segmentation (:mod:`geolearn.descriptors.features`).

    Args:
        cone_angles, rays, scales, neighbours, alpha, seed: as in
            :func:`~geolearn.descriptors.features.face_features` (``seed`` a non-negative int).
        orient: re-orient faces outward first, keeping face order (:func:`orient_faces`).

    Returns:
        ``face_features (F, C) float32`` aligned with the mesh's faces,
        ``C = 2·len(cone_angles) + 10·len(scales) + 4`` (42 with the defaults).
    """

    keys: ClassVar[tuple[str, ...]] = ("face_features",)

    def __init__(
        self,
        cone_angles: Sequence[float] = DEFAULT_CONE_ANGLES,
        rays: int = DEFAULT_FEATURE_RAYS,
        scales: Sequence[float] = DEFAULT_SCALES,
        neighbours: int = DEFAULT_NEIGHBOURS,
        alpha: float = DEFAULT_ALPHA,
        seed: int = 0,
        orient: bool = True,
    ) -> None:
        self.cone_angles = tuple(_float("FaceFeatures", "cone_angles", a) for a in cone_angles)
        if not self.cone_angles or not all(0.0 < a <= 180.0 for a in self.cone_angles):
            raise OptionError(f"FaceFeatures: cone_angles must be in (0, 180] degrees, got {cone_angles!r}")
        self.rays = _int("FaceFeatures", "rays", rays, 1)
        self.scales = tuple(_float("FaceFeatures", "scales", p) for p in scales)
        if not self.scales or not all(0.0 < p < 1.0 for p in self.scales):
            raise OptionError(f"FaceFeatures: scales must be fractions in (0, 1), got {scales!r}")
        self.neighbours = _int("FaceFeatures", "neighbours", neighbours, 6)
        self.alpha = _float("FaceFeatures", "alpha", alpha)
        self.seed = _int("FaceFeatures", "seed", seed, 0)
        self.orient = bool(orient)

    def __repr__(self) -> str:
        return (
            f"FaceFeatures(cone_angles={self.cone_angles!r}, rays={self.rays}, scales={self.scales!r}, "
            f"neighbours={self.neighbours}, alpha={self.alpha!r}, seed={self.seed}, orient={self.orient})"
        )

    @property
    def num_channels(self) -> int:
        """C, the number of feature columns."""
        return 2 * len(self.cone_angles) + 10 * len(self.scales) + 4

    def __call__(self, mesh: Mesh) -> dict[str, np.ndarray]:
        if self.orient:
            mesh = orient_faces(mesh)
        r = face_features(
            mesh,
            cone_angles=self.cone_angles,
            rays=self.rays,
            scales=self.scales,
            neighbours=self.neighbours,
            alpha=self.alpha,
            seed=self.seed,
        )
        return {"face_features": r.features}
