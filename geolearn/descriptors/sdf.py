"""The shape diameter function (Shapira, Shamir and Cohen-Or, "Consistent mesh partitioning and
skeletonisation using the shape diameter function", The Visual Computer 2008).

For every face the SDF is a robust average of the lengths of rays cast from the face centroid into
the object, inside a cone around the inward normal. Exactly what this implementation does:

**Cone sampling** (:func:`cone_sampling`). K rays in a cone of full opening angle ``2α`` (default
120°, α = 60°) around the inward normal, on a spherical Fibonacci spiral over the cap: ray k has
``cos θ_k = 1 − (k + ½)(1 − cos α)/K`` and azimuth ``φ_k = k·π(3 − √5)`` (the golden angle),
``k = 0..K−1``. The cap is cut into K rings of equal solid angle with one ray each, so the rays are
uniform in solid angle and no ray lies on the axis (``θ_0 > 0``). The pattern is turned into each
face's frame ``(t1, t2, −n)`` with ``t1 = normalise(−n × e)``, ``e`` the x axis (the y axis when
``|n_x| > 0.9``), ``t2 = −n × t1``. It is deterministic: the SDF needs no seed. A narrower cone is
the first rays of a wider one's spiral (uniform on the narrower cap too), which is how
:func:`sdf_multi_cone` casts once for several cone angles.

**Ray casting**: all ``F·K`` rays of a mesh in one batched, multithreaded Embree call
(:class:`geolearn.geometry.raycast.RayCaster`). Rays start ``ε = 10⁻⁵ × (bounding-box diagonal)``
inside the surface (``centroid − ε n``) so they cannot hit their own face, and ``ε / cos θ`` is added
back to the hit distance (exact where the surface is locally flat).

**Valid hits**: a ray counts only if it hits a face whose normal points along the ray
(``n_hit · d > 0``), i.e. it reaches the *inside* of the opposite surface. Misses and hits on the
outside of a surface (a concave neighbour, a flipped face) are dropped. The mesh must be wound
with outward normals (``geolearn.repair`` fixes closed meshes).

**Robust average** (:func:`robust_average`), per face, over its valid lengths: keep those within one
(population) standard deviation of their median (for an even count, the mean of the two middle
values; a relative slack of 10⁻⁵ keeps float32 rounding from deciding the equality case of two
rays), then average them with weights ``1/θ_k``, the inverse of the ray's angle to the cone axis.

**Faces without a valid hit** (every ray missed or hit an outside) never get NaN or a silent zero:
they take the mean of their edge-adjacent neighbours that have a value, repeated outwards until
no face that touches a valued face is left (:func:`fill_missing`); a connected component with no
valid hit at all takes the area-weighted median of the mesh's valued faces. Degenerate (zero-area)
faces cast no rays and are filled the same way. How many faces were filled, and how, is reported.
If no face of the mesh has a valid hit, the SDF is undefined and :class:`~geolearn.errors.MeshError`
is raised.

**Outputs** (:class:`SDFResult`): the SDF per face in mesh units (it scales with the mesh: on a
mesh normalised to the unit sphere it is in units of the bounding-sphere radius); optionally
smoothed (:func:`smooth_face_values`); the paper's normalised SDF
``log((sdf − min)/(max − min)·α + 1) / log(α + 1)`` with α = 4 (:func:`normalize_sdf`); and an
area-weighted histogram of the normalised SDF on ``[0, 1]`` as a global descriptor.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from geolearn.errors import MeshError, OptionError
from geolearn.geometry.raycast import RayCaster
from geolearn.mesh import Mesh, check_usable, edge_face_pairs

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_CONE_ANGLE",
    "DEFAULT_RAYS",
    "DEFAULT_SDF_BINS",
    "ConeSampling",
    "FillReport",
    "MultiConeSDF",
    "RobustAverage",
    "SDFResult",
    "area_histogram",
    "cast_cone_rays",
    "cone_sampling",
    "face_edge_adjacency",
    "face_frames",
    "fill_missing",
    "normalize_sdf",
    "robust_average",
    "sdf_multi_cone",
    "shape_diameter_function",
    "smooth_face_values",
]

DEFAULT_RAYS = 30  # the paper's ray count
DEFAULT_CONE_ANGLE = 120.0  # degrees, full opening of the cone (the paper's value)
DEFAULT_ALPHA = 4.0  # the paper's normalisation constant
DEFAULT_SDF_BINS = 32  # ~18k faces per LabeledDB mesh: ~560 faces per bin on average
_OFFSET_RTOL = 1e-5  # ray origin offset, × bounding-box diagonal
_KEEP_RTOL = 1e-5  # tolerance of the "within one standard deviation" test (n = 2 is an equality)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cross product of ``(N, 3)`` arrays (column arithmetic: faster than ``np.cross``)."""
    out = np.empty_like(a)
    out[:, 0] = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    out[:, 1] = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    out[:, 2] = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return out


def _row_dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise dot product of ``(N, 3)`` arrays."""
    out = a[:, 0] * b[:, 0]
    out += a[:, 1] * b[:, 1]
    out += a[:, 2] * b[:, 2]
    return out


# -- cone sampling ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ConeSampling:
    """The ray pattern of a cone, in a frame whose axis is +z (the inward normal).

    Attributes:
        directions: ``(K, 3)`` float64 unit directions.
        theta: ``(K,)`` float64 angle of each ray to the axis, radians, increasing, all > 0.
        weights: ``(K,)`` float64 ``1/θ``, the weights of the robust average.
        cone_angle: full opening angle, degrees.
    """

    directions: np.ndarray
    theta: np.ndarray
    weights: np.ndarray
    cone_angle: float


def _check_cone(rays: int, cone_angle: float) -> None:
    if isinstance(rays, bool) or not isinstance(rays, (int, np.integer)) or rays < 1:
        raise OptionError(f"rays must be a positive integer, got {rays!r}")
    if not (isinstance(cone_angle, (int, float, np.floating)) and 0.0 < float(cone_angle) <= 180.0):
        raise OptionError(f"cone_angle must be in (0, 180] degrees, got {cone_angle!r}")


def cone_sampling(rays: int = DEFAULT_RAYS, cone_angle: float = DEFAULT_CONE_ANGLE) -> ConeSampling:
    """K = ``rays`` directions on a spherical Fibonacci spiral over the cap of half-angle
    ``cone_angle / 2`` (module docstring): uniform in solid angle, deterministic."""
    _check_cone(rays, cone_angle)
    half = math.radians(float(cone_angle)) / 2.0
    k = np.arange(rays, dtype=np.float64)
    cos_t = 1.0 - (k + 0.5) * (1.0 - math.cos(half)) / rays  # (K,) equal solid angle rings
    sin_t = np.sqrt(np.maximum(0.0, 1.0 - cos_t**2))
    phi = k * math.pi * (3.0 - math.sqrt(5.0))
    directions = np.stack([sin_t * np.cos(phi), sin_t * np.sin(phi), cos_t], axis=1)  # (K, 3)
    theta = np.arccos(np.clip(cos_t, -1.0, 1.0))
    return ConeSampling(directions, theta, 1.0 / theta, float(cone_angle))


def face_frames(normals: np.ndarray) -> np.ndarray:
    """``(F, 3, 3)`` orthonormal frames ``(t1, t2, axis)`` with ``axis = −normal`` (module docstring).

    Args:
        normals: ``(F, 3)`` unit face normals (rows of zeros for degenerate faces give zero frames).
    """
    axis = -np.asarray(normals, dtype=np.float64)
    e = np.zeros_like(axis)
    use_y = np.abs(axis[:, 0]) > 0.9
    e[~use_y, 0] = 1.0
    e[use_y, 1] = 1.0
    t1 = _cross(axis, e)
    norm = np.sqrt(_row_dot(t1, t1))[:, None]
    t1 = np.divide(t1, norm, out=np.zeros_like(t1), where=norm > 0)
    t2 = _cross(axis, t1)
    return np.stack([t1, t2, axis], axis=1)


# -- casting ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _FaceGeometry:
    centroids: np.ndarray  # (F, 3) float64
    normals: np.ndarray  # (F, 3) float64 unit, zero on degenerate faces
    areas: np.ndarray  # (F,) float64
    diagonal: float  # bounding-box diagonal


def _face_geometry(mesh: Mesh) -> _FaceGeometry:
    v, f = mesh.vertices, mesh.faces
    p0, p1, p2 = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]  # (F, 3) each
    n = _cross(p1 - p0, p2 - p0)
    norm = np.sqrt(_row_dot(n, n))  # (F,) = 2 × area
    n = np.divide(n, norm[:, None], out=np.zeros_like(n), where=norm[:, None] > 0)
    diagonal = float(np.linalg.norm(v.max(0) - v.min(0)))
    return _FaceGeometry((p0 + p1 + p2) / 3.0, n, 0.5 * norm, diagonal)


def cast_cone_rays(mesh: Mesh, sampling: ConeSampling, caster: RayCaster | None = None) -> np.ndarray:
    """Cast the cone of ``sampling`` from every face centroid, all rays in one batched call.

    Args:
        mesh: the mesh (outward winding).
        sampling: from :func:`cone_sampling`.
        caster: a :class:`RayCaster` already built for ``mesh`` (built here if ``None``).

    Returns:
        ``(F, K)`` float32 ray lengths in mesh units; NaN where the ray has no valid hit (a miss,
        a hit on the outside of a surface) and on degenerate faces.
    """
    return _cast(mesh, _face_geometry(mesh), sampling, caster)


def _cast(mesh: Mesh, geom: _FaceGeometry, sampling: ConeSampling, caster: RayCaster | None) -> np.ndarray:
    caster = RayCaster(mesh) if caster is None else caster
    nf, k = mesh.num_faces, len(sampling.theta)
    eps = _OFFSET_RTOL * geom.diagonal
    # the F·K rays written straight into the one buffer Embree reads: origin, then the cone turned
    # into the face's frame (unit length: the frames are orthonormal)
    rays = np.empty((nf, k, 6), dtype=np.float32)
    rays[:, :, :3] = (geom.centroids - eps * geom.normals).astype(np.float32)[:, None, :]
    frames = face_frames(geom.normals).astype(np.float32)  # (F, 3, 3)
    np.matmul(sampling.directions.astype(np.float32)[None], frames, out=rays[:, :, 3:])
    t, normal = caster.cast_unit_rays(rays.reshape(-1, 6))
    # a valid hit is on the inside of a surface: n_hit · d > 0; a miss has t = inf
    lengths = t.reshape(nf, k)  # (F, K) float32, a view
    invalid = np.einsum("ij,ij->i", normal, rays.reshape(-1, 6)[:, 3:]).reshape(nf, k) <= 0
    invalid |= ~np.isfinite(lengths)
    invalid |= (geom.areas <= 0)[:, None]  # degenerate faces cast nothing
    lengths += (eps / np.cos(sampling.theta)).astype(np.float32)[None, :]
    lengths[invalid] = np.nan
    return lengths


def face_edge_adjacency(faces: np.ndarray, num_vertices: int) -> scipy.sparse.csr_matrix:
    """``(F, F)`` sparse 0/1 matrix linking faces that share an edge (:func:`geolearn.mesh.edge_face_pairs`).

    Around a non-manifold edge the faces are linked in a chain (enough for filling and smoothing).
    ``num_vertices`` is not needed (kept for callers that pass it).
    """
    f = np.asarray(faces, dtype=np.int64)
    a, b, _, _ = edge_face_pairs(f)
    n = len(f)
    adj = scipy.sparse.coo_matrix(
        (np.ones(2 * len(a)), (np.concatenate([a, b]), np.concatenate([b, a]))), shape=(n, n)
    ).tocsr()
    adj.data[:] = 1.0  # duplicate pairs sum; keep 0/1
    return adj


# -- robust average -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class RobustAverage:
    """Per-face robust average of ray lengths.

    Attributes:
        values: ``(F,)`` float64; NaN where the face had no valid ray.
        rays_used: ``(F,)`` int64 rays kept (within one standard deviation of the median).
        rays_valid: ``(F,)`` int64 rays with a valid hit.
    """

    values: np.ndarray
    rays_used: np.ndarray
    rays_valid: np.ndarray


def robust_average(lengths: np.ndarray, weights: np.ndarray) -> RobustAverage:
    """The paper's robust average of each row of ``lengths`` (module docstring), vectorised.

    Args:
        lengths: ``(F, K)`` ray lengths, NaN for rays without a valid hit.
        weights: ``(K,)`` positive weight of each ray (``1/θ``).
    """
    lengths = np.asarray(lengths)
    if lengths.dtype not in (np.float32, np.float64):
        lengths = lengths.astype(np.float64)
    dt = lengths.dtype  # everything in the input's precision (float32 from the ray caster: 2x faster)
    valid = ~np.isnan(lengths)  # (F, K)
    n = np.count_nonzero(valid, axis=1)  # (F,)
    count = np.maximum(n, 1).astype(dt)
    x = np.where(valid, lengths, dt.type(0))  # (F, K) invalid → 0
    mean = x.sum(axis=1) / count
    var = np.maximum(np.einsum("ij,ij->i", x, x) / count - mean * mean, 0)
    std = np.sqrt(var)  # population standard deviation of the valid lengths
    ordered = np.sort(np.where(valid, lengths, dt.type(np.inf)), axis=1)  # valid values first, ascending
    rows = np.arange(len(lengths))
    # median: the mean of the two middle valid values (equal for odd n); rows with n = 0 get inf
    median = dt.type(0.5) * (ordered[rows, np.maximum(n - 1, 0) // 2] + ordered[rows, n // 2])
    median[n == 0] = 0
    # "within one standard deviation", with a relative tolerance: for n = 2 it is an equality
    tol = std * dt.type(1 + _KEEP_RTOL) + dt.type(_KEEP_RTOL) * np.abs(median)
    keep = np.abs(x - median[:, None]) <= tol[:, None]
    keep &= valid
    w = np.where(keep, np.asarray(weights, dtype=dt)[None, :], dt.type(0))  # (F, K)
    with np.errstate(invalid="ignore", divide="ignore"):
        values = (np.einsum("ij,ij->i", w, x) / w.sum(axis=1)).astype(np.float64)
    values[n == 0] = np.nan
    return RobustAverage(values, np.count_nonzero(keep, axis=1).astype(np.int64), n.astype(np.int64))


# -- filling, smoothing, normalising --------------------------------------------------------------------
@dataclass(frozen=True)
class FillReport:
    """Per-face values with the holes filled.

    Attributes:
        values: ``(F,)`` float64, all finite.
        from_neighbours: faces that took the mean of valued edge-neighbours.
        from_mesh: faces in a component without any valid value (took the mesh's area-weighted median).
    """

    values: np.ndarray
    from_neighbours: int
    from_mesh: int


def _area_weighted_median(values: np.ndarray, areas: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(areas[order])
    if cum[-1] <= 0:
        return float(np.median(values))
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1])])


def fill_missing(values: np.ndarray, adjacency: scipy.sparse.spmatrix, areas: np.ndarray) -> FillReport:
    """Give every NaN face a value from its neighbours (module docstring).

    Args:
        values: ``(F,)`` with NaN where missing; at least one finite.
        adjacency: ``(F, F)`` sparse, nonzero where two faces share an edge.
        areas: ``(F,)`` face areas (for the per-component fallback).
    """
    values = np.asarray(values, dtype=np.float64).copy()
    known = np.isfinite(values)
    if not known.any():
        raise OptionError("fill_missing: no face has a value")
    missing0 = int((~known).sum())
    adj = scipy.sparse.csr_matrix(adjacency, dtype=np.float64)
    adj.data[:] = 1.0
    while True:
        k = known.astype(np.float64)
        count = adj @ k
        new = ~known & (count > 0)
        if not new.any():
            break
        total = adj @ np.where(known, values, 0.0)
        values[new] = total[new] / count[new]
        known |= new
    from_mesh = int((~known).sum())
    if from_mesh:
        ok = np.isfinite(values)
        values[~known] = _area_weighted_median(values[ok], np.asarray(areas, dtype=np.float64)[ok])
    return FillReport(values, missing0 - from_mesh, from_mesh)


def smooth_face_values(
    values: np.ndarray, adjacency: scipy.sparse.spmatrix, areas: np.ndarray, iterations: int
) -> np.ndarray:
    """``iterations`` rounds of area-weighted averaging of each face with its edge-neighbours.

    One round: ``v_f ← (a_f v_f + Σ_{g ~ f} a_g v_g) / (a_f + Σ_{g ~ f} a_g)``.

    Returns:
        ``(F,)`` float64 smoothed values.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 0:
        raise OptionError(f"smoothing iterations must be a non-negative integer, got {iterations!r}")
    v = np.asarray(values, dtype=np.float64)
    if iterations == 0:
        return v.copy()
    a = np.asarray(areas, dtype=np.float64)
    adj = scipy.sparse.csr_matrix(adjacency, dtype=np.float64)
    adj.data[:] = 1.0
    op = (adj @ scipy.sparse.diags(a) + scipy.sparse.diags(a)).tocsr()  # row f: a_f v_f + Σ a_g v_g
    denom = op @ np.ones_like(a)
    denom[denom <= 0] = 1.0  # isolated zero-area face: keeps its value via the next line
    for _ in range(int(iterations)):
        v = np.where(op.getnnz(axis=1) > 0, (op @ v) / denom, v)
    return v


def normalize_sdf(values: np.ndarray, alpha: float = DEFAULT_ALPHA) -> np.ndarray:
    """The paper's normalised SDF, ``log((v − min)/(max − min)·α + 1) / log(α + 1)`` in ``[0, 1]``.

    A constant SDF (max = min) normalises to all zeros.

    Args:
        values: ``(F,)`` finite SDF values.
        alpha: the normalisation constant α > 0 (the paper: 4).
    """
    if not (alpha > 0 and math.isfinite(alpha)):
        raise OptionError(f"alpha must be positive, got {alpha!r}")
    v = np.asarray(values, dtype=np.float64)
    lo, hi = float(v.min()), float(v.max())
    if hi - lo <= 1e-12 * max(abs(hi), abs(lo), 1e-300):
        return np.zeros_like(v)
    return np.log1p((v - lo) / (hi - lo) * alpha) / math.log1p(alpha)


def area_histogram(values: np.ndarray, areas: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Area-weighted histogram of per-face ``values`` in ``[0, 1]``: ``(hist (B,) summing to 1, edges (B+1,))``."""
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise OptionError(f"bins must be a positive integer, got {bins!r}")
    a = np.asarray(areas, dtype=np.float64)
    hist, edges = np.histogram(np.clip(values, 0.0, 1.0), bins=int(bins), range=(0.0, 1.0), weights=a)
    total = hist.sum()
    return (hist / total if total > 0 else np.full(int(bins), 1.0 / bins)), edges


# -- the descriptor -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MultiConeSDF:
    """SDF of every face for several cone angles from one cast (:func:`sdf_multi_cone`).

    Attributes:
        cone_angles: ``(A,)`` float64 full opening angles, degrees, as given.
        values: ``(F, A)`` float64 SDF in mesh units, holes filled (never NaN).
        rays: ``(A,)`` int64 rays in each cone.
        rays_used: ``(F, A)`` int64 rays kept by the robust average (0: no valid hit).
        faces_without_hit: ``(A,)`` int64 faces with no valid ray (filled).
        faces_filled_from_mesh: ``(A,)`` int64 of those, faces whose component had no valid ray.
    """

    cone_angles: np.ndarray
    values: np.ndarray
    rays: np.ndarray
    rays_used: np.ndarray
    faces_without_hit: np.ndarray
    faces_filled_from_mesh: np.ndarray


def sdf_multi_cone(
    mesh: Mesh,
    cone_angles: Sequence[float],
    rays: int,
    *,
    caster: RayCaster | None = None,
    adjacency: scipy.sparse.spmatrix | None = None,
) -> MultiConeSDF:
    """SDF per face for several cone angles, casting once.

    The spiral of the widest cone holds ``rays`` rays; a narrower cone of half-angle β uses the rays
    of that spiral with ``θ ≤ β`` (uniform on its cap, module docstring) — about
    ``rays·(1 − cos β)/(1 − cos β_max)`` of them.

    Args:
        mesh: the mesh (outward winding).
        cone_angles: full opening angles in degrees, each in (0, 180].
        rays: rays in the widest cone.
        caster, adjacency: reuse a :class:`RayCaster` / :func:`face_edge_adjacency` already built
            for ``mesh`` (the adjacency is built only when a face needs filling).

    Raises:
        MeshError: no face of the mesh has a valid hit for some cone (SDF undefined).
    """
    check_usable(mesh)
    return _sdf_multi_cone(mesh, _face_geometry(mesh), cone_angles, rays, caster, adjacency)


def _sdf_multi_cone(
    mesh: Mesh,
    geom: _FaceGeometry,
    cone_angles: Sequence[float],
    rays: int,
    caster: RayCaster | None,
    adjacency: scipy.sparse.spmatrix | None,
) -> MultiConeSDF:
    angles = np.asarray([float(a) for a in cone_angles], dtype=np.float64)
    if angles.size == 0:
        raise OptionError("cone_angles must not be empty")
    for a in angles:
        _check_cone(rays, a)
    sampling = cone_sampling(rays, float(angles.max()))
    lengths = _cast(mesh, geom, sampling, caster)  # (F, K)
    areas = geom.areas
    nf = mesh.num_faces
    out = np.empty((nf, len(angles)))
    used = np.empty((nf, len(angles)), dtype=np.int64)
    counts, missing, from_mesh = [], [], []
    for j, a in enumerate(angles):
        m = int(np.searchsorted(sampling.theta, math.radians(a) / 2.0 * (1 + 1e-12), side="right"))
        if m == 0:
            raise OptionError(
                f"the {a:g}° cone holds none of the {rays} rays of the {angles.max():g}° spiral; raise rays"
            )
        avg = robust_average(lengths[:, :m], sampling.weights[:m])
        if not np.isfinite(avg.values).any():
            raise MeshError(
                mesh.source,
                f"shape diameter function undefined: no ray of the {a:g}° cone from any face reached the "
                "inside of the opposite surface (open surface, or faces wound inward? "
                "geolearn.repair(mesh) orients closed meshes outward)",
            )
        if np.isfinite(avg.values).all():
            out[:, j], fill_from_mesh = avg.values, 0
        else:
            if adjacency is None:
                adjacency = face_edge_adjacency(mesh.faces, mesh.num_vertices)
            filled = fill_missing(avg.values, adjacency, areas)
            out[:, j], fill_from_mesh = filled.values, filled.from_mesh
        used[:, j] = avg.rays_used
        counts.append(m)
        missing.append(int((avg.rays_used == 0).sum()))
        from_mesh.append(fill_from_mesh)
    return MultiConeSDF(
        angles,
        out,
        np.asarray(counts, np.int64),
        used,
        np.asarray(missing, np.int64),
        np.asarray(from_mesh, np.int64),
    )


@dataclass(frozen=True)
class SDFResult:
    """The shape diameter function of one mesh.

    Attributes:
        values: ``(F,)`` float64 SDF per face in mesh units (holes filled; smoothed if asked).
        normalized: ``(F,)`` float64 the paper's normalised SDF in ``[0, 1]`` (from ``values``).
        histogram: ``(B,)`` float64 area-weighted histogram of ``normalized``; sums to 1.
        bin_edges: ``(B+1,)`` float64 edges on ``[0, 1]``.
        rays_used: ``(F,)`` int64 rays kept per face by the robust average (0: no valid hit).
        faces_without_hit: faces with no valid ray (their value came from neighbours or the mesh).
        faces_filled_from_mesh: of those, faces in a component without any valid ray.
        rays: rays cast per face.
        cone_angle: full cone opening angle, degrees.
    """

    values: np.ndarray
    normalized: np.ndarray
    histogram: np.ndarray
    bin_edges: np.ndarray
    rays_used: np.ndarray
    faces_without_hit: int
    faces_filled_from_mesh: int
    rays: int
    cone_angle: float


def shape_diameter_function(
    mesh: Mesh,
    *,
    rays: int = DEFAULT_RAYS,
    cone_angle: float = DEFAULT_CONE_ANGLE,
    smoothing_iterations: int = 0,
    bins: int = DEFAULT_SDF_BINS,
    alpha: float = DEFAULT_ALPHA,
    caster: RayCaster | None = None,
) -> SDFResult:
    """The shape diameter function of ``mesh`` (module docstring for every step).

    Args:
        mesh: a mesh wound with outward normals.
        rays: K rays per face (the paper: 30).
        cone_angle: full cone opening in degrees (the paper: 120).
        smoothing_iterations: rounds of :func:`smooth_face_values` over face adjacency (0: none).
        bins: bins of the area-weighted histogram of the normalised SDF.
        alpha: α of :func:`normalize_sdf` (the paper: 4).
        caster: a :class:`RayCaster` already built for ``mesh``.

    Returns:
        :class:`SDFResult`; ``values`` in mesh units.

    Raises:
        MeshError: the mesh is unusable, or no face has a valid hit.
    """
    _check_cone(rays, cone_angle)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise OptionError(f"bins must be a positive integer, got {bins!r}")
    check_usable(mesh)
    adj = face_edge_adjacency(mesh.faces, mesh.num_vertices) if smoothing_iterations else None
    geom = _face_geometry(mesh)
    multi = _sdf_multi_cone(mesh, geom, [cone_angle], rays, caster, adj)
    areas = geom.areas
    if adj is not None:
        values = smooth_face_values(multi.values[:, 0], adj, areas, smoothing_iterations)
    else:
        values = multi.values[:, 0].copy()
    normalized = normalize_sdf(values, alpha)
    hist, edges = area_histogram(normalized, areas, bins)
    return SDFResult(
        values=values,
        normalized=normalized,
        histogram=hist,
        bin_edges=edges,
        rays_used=multi.rays_used[:, 0],
        faces_without_hit=int(multi.faces_without_hit[0]),
        faces_filled_from_mesh=int(multi.faces_filled_from_mesh[0]),
        rays=int(rays),
        cone_angle=float(cone_angle),
    )
