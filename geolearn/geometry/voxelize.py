"""Voxelisation of triangle meshes: the surface shell (exact) and the solid (robust to holes).

Conventions:
    ``occupancy[i, j, k]`` is the voxel whose x index is ``i``, y index ``j`` and z index ``k``; it
    covers the closed box ``origin + voxel_size * ([i, i+1] × [j, j+1] × [k, k+1])``, so its centre
    is ``origin + voxel_size * (i + 0.5, j + 0.5, k + 0.5)``.

Shapes:
    occupancy ``(R, R, R)`` bool, origin ``(3,)`` float64, voxel_size float.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from geolearn.errors import EmptyMeshError, OptionError
from geolearn.geometry.raycast import RayCaster
from geolearn.mesh import Mesh, check_usable, repair

__all__ = ["SOLID_DIRECTIONS", "VoxelGrid", "voxel_centers", "voxelize"]

# Boxes are grown by this fraction of a voxel in the overlap test, so a triangle that only touches a
# voxel (or lies exactly on a grid plane) marks it: the surface grid is conservative, never leaky.
TOUCH_TOL = 1e-6
# Upper bound on (triangle, voxel) candidate pairs tested at once (~150 bytes of temporaries per pair).
PAIR_CHUNK = 1 << 18
# Upper bound on voxels whose inside rays are cast in one Embree call (26 rays each, ~1.7M rays).
VOXEL_CHUNK = 1 << 16


def _solid_directions() -> np.ndarray:
    # The 26 directions from a cube's centre to its 6 face centres, 12 edge midpoints and 8 corners
    # (13 antipodal pairs, evenly spread), rotated by a fixed generic rotation so that no ray runs
    # along a grid line or an axis-aligned mesh edge.
    steps = np.array([[x, y, z] for x in (-1, 0, 1) for y in (-1, 0, 1) for z in (-1, 0, 1)], dtype=float)
    steps = steps[np.abs(steps).sum(1) > 0]  # (26, 3), antipodally symmetric
    dirs = steps / np.linalg.norm(steps, axis=1, keepdims=True)
    a, b, c = 0.3217, 0.4731, 0.1189  # radians, arbitrary but fixed
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rz = np.array([[np.cos(c), -np.sin(c), 0], [np.sin(c), np.cos(c), 0], [0, 0, 1]])
    return dirs @ (rz @ ry @ rx).T


#: ``(26, 3)`` float64 unit directions of the inside votes of ``mode="solid"`` (antipodally symmetric).
SOLID_DIRECTIONS: np.ndarray = _solid_directions()


class VoxelGrid(NamedTuple):
    """A cubic occupancy grid.

    Attributes:
        occupancy: ``(R, R, R)`` bool; ``occupancy[i, j, k]`` ↔ voxel ``i`` along x, ``j`` along y,
            ``k`` along z.
        origin: ``(3,)`` float64 position of the outer corner of voxel ``[0, 0, 0]`` (the minimum
            corner of the grid).
        voxel_size: edge length of one voxel, in mesh units.
    """

    occupancy: np.ndarray
    origin: np.ndarray
    voxel_size: float

    @property
    def resolution(self) -> int:
        return int(self.occupancy.shape[0])


def voxel_centers(resolution: int, origin: np.ndarray, voxel_size: float) -> np.ndarray:
    """``(R, R, R, 3)`` float64 centres of the voxels of a grid (``[i, j, k]`` ↔ x, y, z)."""
    idx = np.indices((resolution,) * 3, dtype=np.float64)  # (3, R, R, R)
    return np.asarray(origin, dtype=np.float64) + voxel_size * (np.moveaxis(idx, 0, -1) + 0.5)


def voxelize(
    mesh: Mesh,
    resolution: int = 32,
    mode: str = "surface",
    bounds: tuple[ArrayLike, ArrayLike] | None = None,
) -> VoxelGrid:
    """Voxelise ``mesh`` into an ``R × R × R`` occupancy grid.

    **Bounds.** ``bounds=None`` uses the cube ``[-1, 1]^3`` when the mesh lies inside it (the case
    for meshes normalised to the unit sphere, so every such mesh gets the same grid), else the
    mesh's bounding cube: centred on its bounding box, side = the longest box side. Pass
    ``bounds=(lo, hi)`` for any other cube, with ``lo``/``hi`` scalars (the cube ``[lo, hi]^3``) or
    3-vectors of a box whose three sides are equal. Geometry outside the bounds is clipped.

    **mode="surface"** marks every voxel the surface meets: exactly the voxels whose closed box
    intersects a triangle (grown by ``TOUCH_TOL`` = 1e-6 voxel, so touching counts and a triangle
    on a grid plane marks both sides). Each triangle is tested against the candidate voxels of its
    bounding box with the separating-axis theorem (Akenine-Möller's 13 axes: the 3 box normals,
    implied by the candidate range, the triangle normal and the 9 edge × axis cross products),
    vectorised over all (triangle, voxel) pairs. Exact rather than sampled: a sampling density
    that provably hits every voxel a thin sliver grazes does not exist, while the exact test takes
    ~20-40 ms for a 2k-face mesh at R = 32. The shell of a connected surface is face-connected and
    has no gaps a line of voxels could slip through.

    **mode="solid"** is the surface plus the voxels whose centre is inside. "Inside" is voted by
    26 rays from the voxel centre (:data:`SOLID_DIRECTIONS`: 13 antipodal pairs towards a cube's
    faces, edges and corners, generically rotated), all cast in one batched Embree call
    (``RayCaster.count_intersections``). A direction votes "inside" when its ray crosses the surface
    an odd number of times; the voxel is inside when a strict majority (14 of 26) does — ray
    stabbing with parity votes, as in Nooruddin & Turk (2003) for repairing polygon soups. Plain
    parity along one ray, or a flood fill from outside, is wrong as soon as one hole exists. Only
    centres inside the surface's bounding box are cast from: outside it, one ray of every pair
    escapes, so no voxel there can win the vote. Before counting, vertices are welded and
    duplicate or degenerate faces dropped (a wall modelled twice would double every crossing).

    Behaviour on imperfect meshes (ModelNet's are mostly not watertight):
        - closed meshes: every ray agrees; the fill is the exact parity interior.
        - a hole flips only the lines through it. Seen along a line, both rays agree (both odd:
          inside, both even: outside) unless the line passes through a hole; such lines count as
          one vote each way, so the vote is the majority of the lines that miss every hole.
        - a large opening (a box missing a face, a cup's mouth) therefore keeps the interior except
          within about a voxel of the opening, where nearly every line passes through it. By the
          same rule an open concave shell (a bowl, a shell seat) is filled up to its rim.
        - a cabinet built from closed thin panels stays hollow: its cavity is outside every panel,
          and every line through it crosses each panel twice.
        - an open sheet (a plane, a single wall) never fills anything beside its surface: a plane is
          crossed by at most one ray of each antipodal pair, so at most 13 of 26 votes are odd.
        - where two closed parts overlap (a leg pushed into a seat), the overlap is crossed twice and
          reads as outside (it is usually thin and covered by the surface voxels of both parts); a
          closed part nested inside another one leaves its own interior hollow.

    Args:
        mesh: the mesh (any winding, open or closed).
        resolution: R, voxels per side (>= 1).
        mode: ``"surface"`` or ``"solid"``.
        bounds: ``None`` (see above) or ``(lo, hi)``.

    Returns:
        :class:`VoxelGrid` with ``occupancy (R, R, R)`` bool, ``origin (3,)`` float64 (the minimum
        corner), ``voxel_size`` float (side / R).
    """
    if isinstance(resolution, bool) or not isinstance(resolution, (int, np.integer)) or resolution < 1:
        raise OptionError(f"voxelize: resolution must be a positive int, got {resolution!r}")
    if mode not in ("surface", "solid"):
        raise OptionError(f"voxelize: unknown mode {mode!r}; use 'surface' or 'solid'")
    check_usable(mesh)
    r = int(resolution)
    origin, side = _grid_bounds(mesh, bounds)
    h = side / r
    occ = _surface(mesh.triangles, origin, h, r)
    if mode == "solid":
        occ |= _interior(mesh, origin, h, r, occ)
    return VoxelGrid(occ, origin, float(h))


def _grid_bounds(mesh: Mesh, bounds: tuple[ArrayLike, ArrayLike] | None) -> tuple[np.ndarray, float]:
    """Minimum corner ``(3,)`` and side length of the cubic grid."""
    if bounds is None:
        used = mesh.vertices[np.unique(mesh.faces)]
        lo, hi = used.min(0), used.max(0)
        if lo.min() >= -1.0 - 1e-9 and hi.max() <= 1.0 + 1e-9:
            return np.full(3, -1.0), 2.0
        side = float((hi - lo).max())
        if side <= 0:
            side = 1.0  # every used vertex coincides: any cube around the point will do
        return 0.5 * (lo + hi) - 0.5 * side, side
    try:
        lo_b, hi_b = bounds
        lo = np.broadcast_to(np.asarray(lo_b, dtype=np.float64), (3,)).copy()
        hi = np.broadcast_to(np.asarray(hi_b, dtype=np.float64), (3,)).copy()
    except (TypeError, ValueError) as exc:
        raise OptionError(
            f"voxelize: bounds must be (lo, hi) with scalars or 3-vectors, got {bounds!r}"
        ) from exc
    sides = hi - lo
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()) or sides.min() <= 0:
        raise OptionError(f"voxelize: bounds need finite lo < hi, got lo={lo.tolist()}, hi={hi.tolist()}")
    if sides.max() - sides.min() > 1e-9 * sides.max():
        raise OptionError(f"voxelize: bounds must be a cube (equal sides), got sides {sides.tolist()}")
    return lo, float(sides.max())


def _surface(tri: np.ndarray, origin: np.ndarray, h: float, r: int) -> np.ndarray:
    """``(R, R, R)`` bool: voxels whose (slightly grown) box intersects one of ``tri`` ``(F, 3, 3)``."""
    occ = np.zeros(r * r * r, dtype=bool)
    t = (tri - origin) / h  # (F, 3, 3) in voxel units: voxel (i, j, k) is the box [i, i+1] x ...
    tmin, tmax = t.min(axis=1), t.max(axis=1)  # (F, 3)
    lo = np.floor(tmin - TOUCH_TOL).astype(np.int64)
    hi = np.floor(tmax + TOUCH_TOL).astype(np.int64)
    inside = (hi >= 0).all(1) & (lo <= r - 1).all(1)
    t, lo, hi = t[inside], np.clip(lo[inside], 0, r - 1), np.clip(hi[inside], 0, r - 1)
    if len(t) == 0:
        return occ.reshape(r, r, r)

    # Separating axes other than the box normals: 9 edge x axis cross products + the triangle normal.
    edges = np.stack([t[:, 1] - t[:, 0], t[:, 2] - t[:, 1], t[:, 0] - t[:, 2]], axis=1)  # (F, 3, 3)
    unit = np.eye(3)
    cross = np.cross(edges[:, :, None, :], unit[None, None, :, :])  # (F, 3 edges, 3 axes, 3)
    normal = np.cross(edges[:, 0], edges[:, 1])  # (F, 3)
    axes = np.concatenate([cross.reshape(-1, 9, 3), normal[:, None, :]], axis=1)  # (F, 10, 3)
    proj = np.einsum("fac,fvc->fav", axes, t)  # (F, 10, 3 vertices)
    pmin, pmax = proj.min(axis=2), proj.max(axis=2)  # (F, 10)
    radius = (0.5 + TOUCH_TOL) * np.abs(axes).sum(axis=2)  # (F, 10) box half-extent on each axis

    counts = np.prod(hi - lo + 1, axis=1)  # (F,) candidate voxels per triangle
    ends = np.cumsum(counts)
    start = 0
    while start < len(t):
        # triangles [start, stop) hold at most PAIR_CHUNK candidates (at least one triangle)
        base = ends[start - 1] if start else 0
        stop = max(start + 1, int(np.searchsorted(ends, base + PAIR_CHUNK, side="right")))
        f = np.repeat(np.arange(start, stop), counts[start:stop])  # (P,) triangle of each pair
        q = np.arange(len(f)) - np.repeat(ends[start:stop] - counts[start:stop] - base, counts[start:stop])
        ext = hi[f] - lo[f] + 1  # (P, 3)
        i = lo[f, 0] + q // (ext[:, 1] * ext[:, 2])
        j = lo[f, 1] + (q // ext[:, 2]) % ext[:, 1]
        k = lo[f, 2] + q % ext[:, 2]
        ci, cj, ck = i + 0.5, j + 0.5, k + 0.5  # voxel centres, (P,)
        hit = np.ones(len(f), dtype=bool)
        for a in range(10):
            s = axes[f, a, 0] * ci + axes[f, a, 1] * cj + axes[f, a, 2] * ck  # centre on axis a
            hit &= (pmin[f, a] - s <= radius[f, a]) & (pmax[f, a] - s >= -radius[f, a])
        occ[((i * r + j) * r + k)[hit]] = True
        start = stop
    return occ.reshape(r, r, r)


def _interior(mesh: Mesh, origin: np.ndarray, h: float, r: int, known: np.ndarray) -> np.ndarray:
    """``(R, R, R)`` bool: voxel centres voted inside by the rays of :data:`SOLID_DIRECTIONS`
    (voxels already ``known`` to be occupied are not cast from)."""
    occ = np.zeros((r, r, r), dtype=bool)
    try:
        clean = repair(mesh, fix_winding=False, drop_unreferenced=False)
    except EmptyMeshError:  # every face is degenerate: there is no volume to fill
        return occ
    # Outside the bounding box of the surface at least one ray of every antipodal pair escapes, so
    # no voxel there can win the vote: cast only from centres inside the box.
    v = clean.vertices[np.unique(clean.faces)]
    lo = np.clip(np.ceil((v.min(0) - origin) / h - 0.5).astype(np.int64), 0, r)
    hi = np.clip(np.floor((v.max(0) - origin) / h - 0.5).astype(np.int64) + 1, 0, r)
    if (hi <= lo).any():
        return occ
    idx = np.stack(
        np.meshgrid(*[np.arange(a, b) for a, b in zip(lo, hi, strict=True)], indexing="ij"), axis=-1
    ).reshape(-1, 3)
    idx = idx[~known[idx[:, 0], idx[:, 1], idx[:, 2]]]  # (M, 3) candidate voxels
    if len(idx) == 0:
        return occ
    caster = RayCaster(clean)
    d = SOLID_DIRECTIONS.astype(np.float32)  # (K, 3)
    for start in range(0, len(idx), VOXEL_CHUNK):  # one call up to R = 40; chunks bound the memory
        part = idx[start : start + VOXEL_CHUNK]
        centres = (origin + h * (part + 0.5)).astype(np.float32)  # (M, 3)
        origins = np.repeat(centres, len(d), axis=0)  # (M*K, 3)
        dirs = np.tile(d, (len(centres), 1))  # (M*K, 3)
        crossings = caster.count_intersections(origins, dirs).reshape(len(centres), len(d))
        inside = 2 * (crossings % 2).sum(axis=1) > len(d)  # (M,) strict majority of odd directions
        sel = part[inside]
        occ[sel[:, 0], sel[:, 1], sel[:, 2]] = True
    return occ
