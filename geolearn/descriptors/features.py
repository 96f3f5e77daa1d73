"""Hand-crafted per-face features for mesh segmentation, in the spirit of Kalogerakis, Hertzmann and
Singh, "Learning 3D Mesh Segmentation and Labeling" (SIGGRAPH 2010).

That paper feeds a classifier with curvature, PCA, shape diameter, average geodesic distance, shape
context and spin images per face. We keep the four families the issue names, which are cheap to
vectorise and were among the most informative there:

1. **Shape diameter** at several cone angles (default 60°, 90°, 120°, 150°): the SDF divided by
   the shape's scale ``s`` and the paper's log-normalised SDF (α = 4). Thickness separates limbs
   from torsos, handles from bodies. All cones come from one cast (:func:`sdf_multi_cone`): the
   widest cone gets ``rays`` rays and a narrower cone the rays of the same spiral inside it.
2. **Curvature** at several scales: a quadric height field ``h = a x² + b xy + c y² + d x + e y + f``
   is fitted by least squares to the ``k`` nearest surface samples of the face centroid, in the
   face's frame (tangents ``t1, t2``; height along the inward normal, so convex is positive),
   ignoring samples whose normal faces away from the face's (the other side of a thin part). From
   the shape operator of the fit: principal curvatures ``κ1 ≥ κ2``, mean ``H`` and Gaussian ``K``,
   made scale-free by the neighbourhood radius ``r`` (distance to the farthest of the k samples):
   ``κ1 r, κ2 r, H r, K r²``.
3. **Local PCA shape** at the same scales: eigenvalues ``λ1 ≥ λ2 ≥ λ3`` of the covariance of the k
   nearest samples: ``λi / Σλ`` and linearity ``(λ1 − λ2)/λ1``, planarity ``(λ2 − λ3)/λ1``,
   scattering ``λ3/λ1`` — whether the patch is a line (a thin limb), a sheet or a blob.
4. **Position** in a canonical frame: the surface's area-weighted centroid and principal axes
   (exact second moments of the triangles), each axis signed so the surface's third moment along it
   is positive, lengths divided by ``s``, the RMS distance of the surface from its centroid. The
   three coordinates (the first is the "height" along the longest axis) and the distance from the
   centroid. The frame is rotation, translation and scale invariant; a symmetric shape can still
   flip an axis (the third moment is ~0), which is why the distance is included too.

Scales: a scale is a fraction ``p`` of the surface area (defaults 0.25%, 1%, 4%). For each, the
surface is sampled with ``N = k/p`` area-uniform points and a face's patch is the ``k = 32`` samples
nearest its centroid, so every patch covers about ``p`` of the surface whatever the triangulation,
and every scale costs the same (a k-nearest query of 32, not of ``p·N_dense`` points).
Neighbourhoods are Euclidean, not geodesic: cheap and vectorised, but a patch can bridge two
close parts.

Everything but the SDF is invariant to scale; the SDF columns are scale-free too (divided by ``s``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.spatial

from geolearn.descriptors.sdf import DEFAULT_ALPHA, face_frames, normalize_sdf, sdf_multi_cone
from geolearn.errors import OptionError
from geolearn.geometry.raycast import RayCaster
from geolearn.geometry.sampling import sample_surface
from geolearn.mesh import Mesh, check_usable
from geolearn.random import Seed, as_numpy_rng

__all__ = [
    "DEFAULT_CONE_ANGLES",
    "DEFAULT_NEIGHBOURS",
    "DEFAULT_SCALES",
    "CanonicalFrame",
    "FaceFeatureResult",
    "canonical_frame",
    "face_feature_names",
    "face_features",
]

DEFAULT_CONE_ANGLES: tuple[float, ...] = (60.0, 90.0, 120.0, 150.0)
DEFAULT_SCALES: tuple[float, ...] = (0.0025, 0.01, 0.04)  # fractions of the surface area
DEFAULT_NEIGHBOURS = 32  # samples per patch: 5x the 6 quadric coefficients
DEFAULT_FEATURE_RAYS = 96  # widest cone; the 60° cone then gets 17 rays, the 120° one 65
_RIDGE = 1e-3
_CHUNK = 8192  # faces per chunk of the batched fits (bounds memory to ~50 MB)


@dataclass(frozen=True)
class CanonicalFrame:
    """Area-weighted centroid, principal axes and scale of a surface.

    Attributes:
        centroid: ``(3,)`` float64.
        axes: ``(3, 3)`` float64, rows are unit axes by decreasing variance (right-handed).
        scale: RMS distance of the surface from ``centroid``.
    """

    centroid: np.ndarray
    axes: np.ndarray
    scale: float


def canonical_frame(mesh: Mesh) -> CanonicalFrame:
    """The canonical frame of the surface (module docstring), from exact triangle moments."""
    tri = mesh.triangles  # (F, 3, 3)
    area = mesh.face_areas
    total = float(area.sum())
    centre = (area[:, None] * tri.mean(axis=1)).sum(0) / total
    t = tri - centre
    s = t.sum(axis=1)  # (F, 3)
    # ∫ x xᵀ dA over a triangle = A/12 (Σ v vᵀ + s sᵀ), s = Σ v (exact second moment)
    second = np.einsum("f,fvi,fvj->ij", area, t, t) + np.einsum("f,fi,fj->ij", area, s, s)
    cov = second / (12.0 * total)
    evals, evecs = np.linalg.eigh(cov)
    axes = evecs[:, ::-1].T.copy()  # rows, decreasing variance
    proj = (t.mean(axis=1)) @ axes.T  # (F, 3) centroid coordinates
    third = (area[:, None] * proj**3).sum(0)
    axes[third < 0] *= -1.0
    if np.linalg.det(axes) < 0:  # keep the frame right-handed: the least-determined axis gives way
        axes[2] *= -1.0
    return CanonicalFrame(centre, axes, float(np.sqrt(max(evals.sum(), 1e-300))))


def face_feature_names(
    cone_angles: Sequence[float] = DEFAULT_CONE_ANGLES, scales: Sequence[float] = DEFAULT_SCALES
) -> tuple[str, ...]:
    """Column names of :func:`face_features`, in order."""
    names: list[str] = []
    for a in cone_angles:
        names += [f"sdf{a:g}", f"sdf{a:g}_normalized"]
    tags = [f"{100 * p:g}%" for p in scales]
    for t in tags:
        names += [f"k1_r@{t}", f"k2_r@{t}", f"mean_curv_r@{t}", f"gauss_curv_r2@{t}"]
    for t in tags:
        names += [
            f"pca_l1@{t}",
            f"pca_l2@{t}",
            f"pca_l3@{t}",
            f"linearity@{t}",
            f"planarity@{t}",
            f"scattering@{t}",
        ]
    names += ["pos_axis1", "pos_axis2", "pos_axis3", "pos_radius"]
    return tuple(names)


@dataclass(frozen=True)
class FaceFeatureResult:
    """Per-face features.

    Attributes:
        features: ``(F, C)`` float32, columns named by ``names``.
        names: ``(C,)`` column names (:func:`face_feature_names`).
        faces_without_hit: ``(A,)`` int64 faces whose SDF at each cone angle had no valid ray
            (their value came from neighbours, see :mod:`geolearn.descriptors.sdf`).
    """

    features: np.ndarray
    names: tuple[str, ...]
    faces_without_hit: np.ndarray


def _curvature_and_pca(
    offsets: np.ndarray, sample_normals: np.ndarray, frames: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Features of one scale for a chunk of faces.

    Args:
        offsets: ``(F, k, 3)`` neighbour positions minus the face centroid.
        sample_normals: ``(F, k, 3)`` normals of the neighbours.
        frames: ``(F, 3, 3)`` face frames ``(t1, t2, inward normal)``.

    Returns:
        ``(F, 4)`` curvature features and ``(F, 6)`` PCA features.
    """
    radius = np.linalg.norm(offsets, axis=2).max(axis=1)  # (F,)
    radius = np.where(radius > 0, radius, 1.0)
    local = np.matmul(offsets, frames.transpose(0, 2, 1)) / radius[:, None, None]  # (F, k, 3) scale-free
    x, y, h = local[..., 0], local[..., 1], local[..., 2]
    # neighbours on the same side of the surface as the face: their normal agrees with the face normal
    w = (np.einsum("fkd,fd->fk", sample_normals, -frames[:, 2]) > 0).astype(np.float64)
    phi = np.stack([x * x, x * y, y * y, x, y, np.ones_like(x)], axis=2)  # (F, k, 6)
    wphi = phi * w[..., None]
    # ridge: 10⁻³ of the sample count (coordinates are in [-1, 1]) bounds the coefficients a patch
    # does not determine (samples along a line: a thin part) at a bias of ~1% on well-posed patches.
    # Penalising a² + b²/2 + c² (the Hessian's Frobenius norm) keeps the fit independent of how t1, t2
    # are turned in the tangent plane.
    ridge = _RIDGE * np.maximum(w.sum(axis=1), 1.0)[:, None, None] * np.diag([1.0, 0.5, 1.0, 1.0, 1.0, 1.0])
    normal_matrix = np.matmul(wphi.transpose(0, 2, 1), phi) + ridge  # (F, 6, 6)
    rhs = np.einsum("fki,fk->fi", wphi, h)
    a, b, c, d, e, _ = np.linalg.solve(normal_matrix, rhs[..., None])[..., 0].T
    # shape operator of the height field at the origin: I⁻¹ II
    g = np.sqrt(1.0 + d * d + e * e)
    big_e, big_f, big_g = 1.0 + d * d, d * e, 1.0 + e * e
    big_l, big_m, big_n = 2.0 * a / g, b / g, 2.0 * c / g
    det_i = big_e * big_g - big_f * big_f
    gauss = (big_l * big_n - big_m * big_m) / det_i
    mean = (big_l * big_g - 2.0 * big_m * big_f + big_n * big_e) / (2.0 * det_i)
    disc = np.sqrt(np.maximum(mean * mean - gauss, 0.0))
    curv = np.stack([mean + disc, mean - disc, mean, gauss], axis=1)  # already × r (× r² for K)
    centred = offsets - offsets.mean(axis=1, keepdims=True)
    cov = np.matmul(centred.transpose(0, 2, 1), centred) / offsets.shape[1]  # (F, 3, 3)
    lam = np.maximum(np.linalg.eigvalsh(cov)[:, ::-1], 0.0)  # (F, 3) decreasing
    total = np.maximum(lam.sum(axis=1), 1e-300)
    l1 = np.maximum(lam[:, 0], 1e-300)
    pca = np.stack(
        [
            lam[:, 0] / total,
            lam[:, 1] / total,
            lam[:, 2] / total,
            (lam[:, 0] - lam[:, 1]) / l1,
            (lam[:, 1] - lam[:, 2]) / l1,
            lam[:, 2] / l1,
        ],
        axis=1,
    )
    return curv, pca


def face_features(
    mesh: Mesh,
    *,
    cone_angles: Sequence[float] = DEFAULT_CONE_ANGLES,
    rays: int = DEFAULT_FEATURE_RAYS,
    scales: Sequence[float] = DEFAULT_SCALES,
    neighbours: int = DEFAULT_NEIGHBOURS,
    alpha: float = DEFAULT_ALPHA,
    seed: Seed = 0,
    caster: RayCaster | None = None,
) -> FaceFeatureResult:
    """Per-face feature vectors for segmentation (module docstring for each column).

    Args:
        mesh: a mesh wound with outward normals (the SDF needs it).
        cone_angles: full SDF cone angles in degrees.
        rays: rays in the widest cone (narrower cones use the subset inside them).
        scales: patch sizes for curvature and PCA, as fractions of the surface area, in (0, 1).
        neighbours: k, surface samples per patch (>= 6).
        alpha: α of the normalised SDF.
        seed: seeds the surface samples.
        caster: a :class:`RayCaster` already built for ``mesh``.

    Returns:
        :class:`FaceFeatureResult` with ``features (F, C)`` float32,
        ``C = 2·len(cone_angles) + 10·len(scales) + 4``.

    Raises:
        MeshError: unusable mesh, or no face has a valid SDF ray.
    """
    check_usable(mesh)
    fractions = [float(p) for p in scales]
    if not fractions or not all(0.0 < p < 1.0 for p in fractions):
        raise OptionError(f"scales must be fractions of the surface area in (0, 1), got {scales!r}")
    if isinstance(neighbours, bool) or not isinstance(neighbours, (int, np.integer)) or neighbours < 6:
        raise OptionError(
            f"neighbours must be an integer >= 6 (a quadric has 6 coefficients), got {neighbours!r}"
        )
    k = int(neighbours)
    rng = as_numpy_rng(seed)
    frame = canonical_frame(mesh)
    s = frame.scale
    tri = mesh.triangles
    centroids = tri.mean(axis=1)  # (F, 3)
    nf = mesh.num_faces

    sdf = sdf_multi_cone(mesh, cone_angles, rays, caster=caster)
    sdf_cols = []
    for j in range(len(sdf.cone_angles)):
        sdf_cols += [sdf.values[:, j] / s, normalize_sdf(sdf.values[:, j], alpha)]

    frames = face_frames(mesh.face_normals)  # (F, 3, 3) (t1, t2, inward normal)
    curv = np.empty((nf, 4 * len(fractions)))
    pca = np.empty((nf, 6 * len(fractions)))
    for j, p in enumerate(fractions):
        sample = sample_surface(mesh, max(k + 1, round(k / p)), rng)
        points = sample.points.astype(np.float64)
        _, nbr = scipy.spatial.cKDTree(points).query(centroids, k=k, workers=-1)  # (F, k)
        for start in range(0, nf, _CHUNK):
            sl = slice(start, min(nf, start + _CHUNK))
            offsets = points[nbr[sl]] - centroids[sl, None, :]  # (f, k, 3)
            c, q = _curvature_and_pca(offsets, sample.normals[nbr[sl]], frames[sl])
            curv[sl, 4 * j : 4 * j + 4] = c
            pca[sl, 6 * j : 6 * j + 6] = q

    pos = (centroids - frame.centroid) @ frame.axes.T / s  # (F, 3)
    radial = np.linalg.norm(pos, axis=1, keepdims=True)
    features = np.concatenate([np.stack(sdf_cols, axis=1), curv, pca, pos, radial], axis=1)
    names = face_feature_names(sdf.cone_angles.tolist(), fractions)
    return FaceFeatureResult(features.astype(np.float32), names, sdf.faces_without_hit)
