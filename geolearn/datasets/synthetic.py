"""The embedded default dataset: labelled part-based shapes generated in code, no download.

Eight classes of everyday objects, each assembled from closed primitives — boxes (meshed here as
grids), cylinders, frusta, cones and capsules (``trimesh.creation.revolve``), tori and spheres
(``trimesh.creation.torus``/``icosphere``) — whose faces carry the name of the part they belong to. The same shapes serve classification (the class) and per-face segmentation (the part).

Every shape is a deterministic function of ``(class_name, seed)``. The seed draws the part dimensions
(about ±30 %), the number of legs and fins, optional parts (a chair's arms, a stool's rung, an
airplane's engines, a rocket's nozzle), style switches (round or rectangular tops, box or cylinder
legs, straight or bent lamp poles), small tilts of parts (splayed legs, a reclined back, wing
dihedral and sweep), an overall scale (0.75-1.25; objects are about one unit across) and a rotation
about the vertical axis. ``z`` is up, as in ModelNet; objects stand on ``z = 0`` (up to the small
part tilts), the airplane floats a little above it.

Faces are of similar size, as on a remeshed real model: every primitive is meshed with edges of at
most about one length ``edge`` — boxes as grids of near-square cells, surfaces of revolution
(cylinders, frusta, cones, capsules) by revolving a profile cut into pieces of that length with
enough sections for rim edges of that length, tori and spheres likewise. ``edge`` is chosen per
shape by bisection so that the face count, which each primitive predicts exactly, is closest to a
budget (``target_faces``). Thin parts keep at least 8 sections, so their faces are narrower. Parts
may interpenetrate, as in real CAD meshes; the result is the concatenation of the primitives, i.e.
several closed, consistently outward-wound components, one or more per part.

Shapes:
    ``make_shape(...)`` returns a :class:`~geolearn.mesh.Mesh` with ``vertices (V, 3) float64``,
    ``faces (F, 3) int64`` and ``face_labels (F,) int64`` indexing ``label_names = part_names(class)``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import trimesh.creation

from geolearn.errors import OptionError
from geolearn.mesh import Mesh

__all__ = [
    "DEFAULT_TARGET_FACES",
    "MAX_TARGET_FACES",
    "MIN_TARGET_FACES",
    "SYNTHETIC_CLASSES",
    "all_part_names",
    "make_shape",
    "part_names",
]

DEFAULT_TARGET_FACES = 1500
MIN_TARGET_FACES = 200
MAX_TARGET_FACES = 100_000
# Primitives stay recognisably round however coarse the meshing: at least this many sections.
_MIN_SECTIONS = 8
_MAX_SECTIONS = 256


# -- small geometry helpers --------------------------------------------------------------------------


def _rotation(axis: str, angle: float) -> np.ndarray:
    """``(3, 3)`` rotation by ``angle`` radians about the coordinate ``axis`` ("x", "y" or "z")."""
    c, s = np.cos(angle), np.sin(angle)
    if axis == "x":
        return np.array([[1.0, 0.0, 0.0], [0.0, c, -s], [0.0, s, c]])
    if axis == "y":
        return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
    return np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])


def _align_z(direction: np.ndarray) -> np.ndarray:
    """``(3, 3)`` rotation taking ``+z`` to the unit vector ``direction`` (Rodrigues)."""
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    z = np.array([0.0, 0.0, 1.0])
    v = np.cross(z, d)
    c = float(z @ d)
    if np.linalg.norm(v) < 1e-12:
        return np.eye(3) if c > 0 else np.diag([1.0, -1.0, -1.0])
    k = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    return np.eye(3) + k + k @ k / (1.0 + c)


def _sections(radius: float, edge: float, lo: int = _MIN_SECTIONS) -> int:
    """Number of sections so that a circle of ``radius`` has rim edges of at most about ``edge``."""
    return min(max(math.ceil(2.0 * math.pi * radius / edge), lo), _MAX_SECTIONS)


def _pieces(length: float, edge: float) -> int:
    """Number of pieces to cut a segment of ``length`` into so that each is at most ``edge`` long."""
    return max(1, math.ceil(length / edge - 1e-9))


def _grid_box(extents: np.ndarray, edge: float) -> tuple[np.ndarray, np.ndarray]:
    """Closed box of ``extents`` (3,) centred at the origin, each side a grid of cells no longer than
    ``edge``, cut into two triangles each. Returns ``vertices (V, 3)``, outward-wound ``faces (F, 3)``
    with ``F == _grid_box_faces(extents, edge)``."""
    ticks = [np.linspace(-0.5 * e, 0.5 * e, _pieces(e, edge) + 1) for e in extents]
    verts, faces, base = [], [], 0
    for k in range(3):  # the two sides normal to axis k
        a, b = (k + 1) % 3, (k + 2) % 3  # e_a x e_b = e_k
        u, v = np.meshgrid(ticks[a], ticks[b], indexing="ij")  # (n_a + 1, n_b + 1)
        idx = np.arange(u.size).reshape(u.shape)
        c00, c10 = idx[:-1, :-1].ravel(), idx[1:, :-1].ravel()
        c11, c01 = idx[1:, 1:].ravel(), idx[:-1, 1:].ravel()
        quad = np.concatenate([np.stack([c00, c10, c11], 1), np.stack([c00, c11, c01], 1)])  # (2 n_a n_b, 3)
        for sign in (-1.0, 1.0):
            p = np.empty((u.size, 3))
            p[:, a], p[:, b], p[:, k] = u.ravel(), v.ravel(), sign * 0.5 * extents[k]
            verts.append(p)
            faces.append(base + (quad if sign > 0 else quad[:, ::-1]))
            base += u.size
    # weld the copies of the vertices on the box's edges (identical coordinates by construction)
    v, inverse = np.unique(np.concatenate(verts), axis=0, return_inverse=True)
    return v, inverse.reshape(-1)[np.concatenate(faces)]


def _grid_box_faces(extents: np.ndarray, edge: float) -> int:
    n = [_pieces(float(e), edge) for e in extents]
    return 4 * (n[0] * n[1] + n[1] * n[2] + n[2] * n[0])


def _resample(profile: np.ndarray, edge: float) -> np.ndarray:
    """``(K', 2)`` the polyline ``profile`` ``(K, 2)`` with every segment cut into pieces <= ``edge``."""
    pts = [profile[:1]]
    for p, q in itertools.pairwise(profile):
        n = _pieces(float(np.linalg.norm(q - p)), edge)
        pts.append(p + (np.arange(1, n + 1)[:, None] / n) * (q - p))
    return np.concatenate(pts)


def _revolve(profile: np.ndarray, edge: float) -> tuple[np.ndarray, np.ndarray]:
    """Closed surface of revolution about ``z`` of the polyline ``profile`` ``(K, 2)`` of
    ``(radius, z)`` points, which starts and ends on the axis and runs counter-clockwise (so normals
    point outward). Faces have edges of at most about ``edge``; :func:`_revolve_faces` predicts ``F``."""
    m = trimesh.creation.revolve(
        _resample(profile, edge), sections=_sections(float(profile[:, 0].max()), edge)
    )
    return np.array(m.vertices, dtype=np.float64), np.array(m.faces, dtype=np.int64)


def _revolve_faces(seg_lengths: list[float], r_max: float, edge: float) -> int:
    """Face count of :func:`_revolve` for a profile of segment lengths ``(K - 1,)`` and largest radius
    ``r_max``: every slice has two triangles per piece, except one at each end on the axis."""
    pieces = sum(max(1, math.ceil(s / edge - 1e-9)) for s in seg_lengths)
    return _sections(r_max, edge) * (2 * pieces - 2)


def _icosphere_level(radius: float, edge: float) -> int:
    # icosphere level 0 has edges of about 1.05 * radius; each level halves them
    return int(np.clip(np.ceil(np.log2(1.05 * radius / edge)), 1, 6))


class _Primitive(NamedTuple):
    """A closed primitive waiting to be meshed.

    ``make(edge) -> (vertices (V, 3), faces (F, 3))`` meshes it in its local frame with edges of at
    most about ``edge`` and ``count(edge) == F`` predicts the face count without meshing; the mesh is
    then moved by ``rotation`` (3, 3) and ``translation`` (3,). ``area`` is the exact surface area.
    """

    label: str
    make: Callable[[float], tuple[np.ndarray, np.ndarray]]
    count: Callable[[float], int]
    rotation: np.ndarray
    translation: np.ndarray
    area: float


class _Builder:
    """Records the primitives of one shape, each tagged with a part name; :meth:`mesh` meshes them.

    Every primitive is described in a local frame and moved by ``rotation`` (3, 3) and
    ``translation`` (3,) — rigid motions only, so the outward winding is kept. Nothing is meshed until
    :meth:`mesh`, so that the edge length can be chosen afterwards to meet a face budget.
    """

    def __init__(self) -> None:
        self.primitives: list[_Primitive] = []

    def _add(self, label: str, make, count, rotation, translation, area: float) -> None:
        r = np.eye(3) if rotation is None else np.asarray(rotation, dtype=np.float64)
        t = np.zeros(3) if translation is None else np.asarray(translation, dtype=np.float64)
        self.primitives.append(_Primitive(label, make, count, r, t, float(area)))

    @property
    def area(self) -> float:
        """Total surface area of the recorded primitives (exact, before meshing)."""
        return sum(p.area for p in self.primitives)

    def num_faces(self, edge: float) -> int:
        """Number of faces :meth:`mesh` would produce with this ``edge``."""
        return sum(p.count(edge) for p in self.primitives)

    def edge_for(self, target_faces: int) -> float:
        """The edge length whose meshing has the face count closest to ``target_faces``.

        The count is a non-increasing step function of the edge; bisection on ``log(edge)`` starting
        from the estimate "faces are right triangles with legs ``edge``".
        """
        guess = np.sqrt(2.0 * self.area / target_faces)
        # normally num_faces(e^lo) >= target >= num_faces(e^hi); if the minimum sections keep the count
        # above the target even at e^hi, the bisection ends there, at the coarsest meshing tried
        lo, hi = np.log(guess / 8.0), np.log(guess * 8.0)
        for _ in range(24):  # brackets the edge to a relative 64**(2**-24) - 1 < 3e-7
            mid = 0.5 * (lo + hi)
            if self.num_faces(float(np.exp(mid))) >= target_faces:
                lo = mid
            else:
                hi = mid
        e_lo, e_hi = float(np.exp(lo)), float(np.exp(hi))
        if abs(self.num_faces(e_hi) - target_faces) < abs(self.num_faces(e_lo) - target_faces):
            return e_hi
        return e_lo

    def mesh(self, edge: float) -> list[tuple[np.ndarray, np.ndarray]]:
        """``[(vertices (V_i, 3), faces (F_i, 3))]``, one per primitive, in the object's frame."""
        out = []
        for p in self.primitives:
            v, f = p.make(edge)
            out.append((v @ p.rotation.T + p.translation, f))
        return out

    def box(self, label: str, extents, rotation=None, translation=None) -> None:
        """Box of ``extents`` (3,) centred at the local origin."""
        ext = np.asarray(extents, dtype=np.float64)
        area = 2.0 * (ext[0] * ext[1] + ext[1] * ext[2] + ext[2] * ext[0])
        self._add(
            label, lambda e: _grid_box(ext, e), lambda e: _grid_box_faces(ext, e), rotation, translation, area
        )

    def revolved(self, label: str, profile, rotation=None, translation=None) -> None:
        """Surface of revolution about local ``z`` of ``profile`` ``(K, 2)`` ``(radius, z)`` points,
        from the axis, counter-clockwise, back to the axis."""
        prof = np.asarray(profile, dtype=np.float64)
        keep = np.concatenate([[True], np.linalg.norm(np.diff(prof, axis=0), axis=1) > 0])
        prof = prof[keep]  # no zero-length segment (it would revolve into zero-area faces)
        # Pappus: each segment sweeps a frustum of lateral area pi (r0 + r1) * length
        seg = np.linalg.norm(np.diff(prof, axis=0), axis=1)
        area = float(np.sum(np.pi * (prof[:-1, 0] + prof[1:, 0]) * seg))
        seg_lengths = seg.tolist()
        r_max = float(prof[:, 0].max())
        self._add(
            label,
            lambda e: _revolve(prof, e),
            lambda e: _revolve_faces(seg_lengths, r_max, e),
            rotation,
            translation,
            area,
        )

    def cylinder(
        self,
        label: str,
        radius: float,
        height: float,
        rotation=None,
        translation=None,
        top_radius: float | None = None,
    ) -> None:
        """Cylinder (or frustum when ``top_radius`` is given) along local ``z``, centred at the origin."""
        top = radius if top_radius is None else top_radius
        h2 = 0.5 * height
        self.revolved(label, [(0, -h2), (radius, -h2), (top, h2), (0, h2)], rotation, translation)

    def segment(self, label: str, radius: float, start, end) -> None:
        """Cylinder of ``radius`` from point ``start`` to point ``end``."""
        a, b = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
        d = b - a
        self.cylinder(label, radius, float(np.linalg.norm(d)), _align_z(d), 0.5 * (a + b))

    def cone(self, label: str, radius: float, height: float, rotation=None, translation=None) -> None:
        """Cone along local ``z``: base disc at ``z = 0``, apex at ``z = height``."""
        self.revolved(label, [(0, 0), (radius, 0), (0, height)], rotation, translation)

    def capsule(self, label: str, radius: float, length: float, rotation=None, translation=None) -> None:
        """Capsule along local ``z``, total length ``length`` (caps included), centred at the origin."""
        h2 = max(0.5 * length - radius, 0.0)
        a = np.linspace(-0.5 * np.pi, 0.0, 7)  # quarter circle, refined further by _revolve
        lower = np.stack([radius * np.cos(a), -h2 + radius * np.sin(a)], 1)
        upper = np.stack([radius * np.cos(a[::-1]), h2 - radius * np.sin(a[::-1])], 1)
        self.revolved(label, np.concatenate([lower, upper]), rotation, translation)

    def ellipsoid(self, label: str, radii, rotation=None, translation=None) -> None:
        """Ellipsoid with semi-axes ``radii`` (3,), centred at the local origin."""
        r = np.asarray(radii, dtype=np.float64)

        def make(edge: float) -> tuple[np.ndarray, np.ndarray]:
            m = trimesh.creation.icosphere(subdivisions=_icosphere_level(float(r.max()), edge))
            return np.array(m.vertices) * r, np.array(m.faces, dtype=np.int64)

        # Knud Thomsen's approximation of the area (within about 1 %)
        p = 1.6075
        a, b, c = r**p
        area = 4.0 * np.pi * ((a * b + a * c + b * c) / 3.0) ** (1.0 / p)
        count = lambda e: 20 * 4 ** _icosphere_level(float(r.max()), e)  # noqa: E731
        self._add(label, make, count, rotation, translation, area)

    def torus(
        self, label: str, major: float, minor: float, rotation=None, translation=None, stretch: float = 1.0
    ) -> None:
        """Torus in the local ``xy`` plane around the origin; ``stretch`` > 1 makes the ring an oval
        elongated along local ``y``."""

        def sections(edge: float) -> tuple[int, int]:
            return _sections(major * stretch, edge, 12), _sections(minor, edge, 6)

        def make(edge: float) -> tuple[np.ndarray, np.ndarray]:
            n_major, n_minor = sections(edge)
            m = trimesh.creation.torus(major, minor, major_sections=n_major, minor_sections=n_minor)
            v = np.array(m.vertices)
            v[:, 1] *= stretch
            return v, np.array(m.faces, dtype=np.int64)

        # a tube around an ellipse of semi-axes (major, major * stretch); Ramanujan's perimeter
        a, b = major, major * stretch
        perimeter = np.pi * (3.0 * (a + b) - np.sqrt((3.0 * a + b) * (a + 3.0 * b)))
        count = lambda e: 2 * int(np.prod(sections(e)))  # noqa: E731
        self._add(label, make, count, rotation, translation, 2.0 * np.pi * minor * perimeter)


# -- the classes -------------------------------------------------------------------------------------
# Each builder draws its parameters from ``rng`` and adds parts to ``b``. Lengths are nominal sizes
# times a jitter factor ``_j(rng)`` in [0.7, 1.3].


def _j(rng: np.random.Generator, spread: float = 0.3) -> float:
    return float(rng.uniform(1.0 - spread, 1.0 + spread))


def _tilt(rng: np.random.Generator, max_degrees: float) -> np.ndarray:
    """Small random rotation: about x then y, each angle uniform in ±max_degrees."""
    a, c = np.deg2rad(rng.uniform(-max_degrees, max_degrees, size=2))
    return _rotation("y", c) @ _rotation("x", a)


def _legs(
    b: _Builder,
    feet: np.ndarray,
    height: float,
    thickness: float,
    splay_degrees: float,
    square: bool,
) -> None:
    """Legs standing on z=0, tops at ``height``, leaning outward by ``splay_degrees`` (feet spread out).

    ``feet`` is ``(L, 2)`` xy positions of the leg tops.
    """
    for x, y in feet:
        out = np.array([x, y]) / (np.hypot(x, y) + 1e-12)
        lean = np.tan(np.deg2rad(splay_degrees)) * height
        top = np.array([x, y, height])
        bottom = np.array([x + lean * out[0], y + lean * out[1], 0.0])
        if square:
            d = top - bottom
            rot = _align_z(d) @ _rotation("z", float(np.arctan2(y, x)))
            b.box("leg", (thickness, thickness, float(np.linalg.norm(d))), rot, 0.5 * (top + bottom))
        else:
            b.segment("leg", 0.5 * thickness, bottom, top)


def _ring(n: int, radius: float, rng: np.random.Generator) -> np.ndarray:
    """``(n, 2)`` points evenly spaced on a circle with a random phase."""
    phase = rng.uniform(0, 2 * np.pi)
    a = phase + 2 * np.pi * np.arange(n) / n
    return radius * np.stack([np.cos(a), np.sin(a)], axis=1)


def _table(b: _Builder, rng: np.random.Generator) -> None:
    height = 0.7 * _j(rng)
    thick = 0.05 * _j(rng)
    leg = 0.06 * _j(rng)
    splay = rng.uniform(0.0, 6.0)
    if rng.random() < 0.7:  # rectangular top, four legs at the corners
        w = 1.1 * _j(rng, 0.2)
        d = w * rng.uniform(0.45, 0.9)
        b.box("top", (w, d, thick), _tilt(rng, 1.0), (0, 0, height + 0.5 * thick))
        inset = rng.uniform(0.05, 0.15)
        feet = np.array(
            [[sx * (0.5 * w - inset * w), sy * (0.5 * d - inset * d)] for sx in (-1, 1) for sy in (-1, 1)]
        )
        _legs(b, feet, height, leg, splay, square=rng.random() < 0.6)
    else:  # round top, three or four legs
        r = 0.5 * _j(rng, 0.2)
        b.cylinder("top", r, thick, _tilt(rng, 1.0), (0, 0, height + 0.5 * thick))
        feet = _ring(int(rng.integers(3, 5)), r * rng.uniform(0.55, 0.8), rng)
        _legs(b, feet, height, leg, splay, square=rng.random() < 0.3)


def _stool(b: _Builder, rng: np.random.Generator) -> None:
    height = 0.75 * _j(rng)
    thick = 0.06 * _j(rng)
    r = 0.2 * _j(rng)
    leg = 0.045 * _j(rng)
    splay = rng.uniform(4.0, 12.0)
    n_legs = int(rng.integers(3, 5))
    if rng.random() < 0.75:
        b.cylinder("seat", r, thick, _tilt(rng, 2.0), (0, 0, height + 0.5 * thick))
    else:
        b.box(
            "seat",
            (2 * r, 2 * r, thick),
            _tilt(rng, 2.0) @ _rotation("z", rng.uniform(0, np.pi)),
            (0, 0, height + 0.5 * thick),
        )
    foot_r = 0.75 * r
    _legs(b, _ring(n_legs, foot_r, rng), height, leg, splay, square=rng.random() < 0.25)
    if rng.random() < 0.5:  # a foot ring through the legs
        z = height * rng.uniform(0.25, 0.45)
        ring_r = foot_r + np.tan(np.deg2rad(splay)) * (height - z)
        b.torus("rung", ring_r, 0.4 * leg, None, (0, 0, z))


def _chair(b: _Builder, rng: np.random.Generator) -> None:
    w = 0.5 * _j(rng, 0.2)
    d = w * rng.uniform(0.85, 1.15)
    seat_h = 0.45 * _j(rng, 0.2)
    thick = 0.06 * _j(rng)
    leg = 0.05 * _j(rng)
    b.box("seat", (w, d, thick), _tilt(rng, 1.5), (0, 0, seat_h + 0.5 * thick))
    inset = 0.5 * leg + 0.01
    feet = np.array([[sx * (0.5 * w - inset), sy * (0.5 * d - inset)] for sx in (-1, 1) for sy in (-1, 1)])
    _legs(b, feet, seat_h, leg, rng.uniform(0.0, 5.0), square=rng.random() < 0.6)
    back_h = 0.5 * _j(rng)
    back_t = 0.05 * _j(rng)
    recline = np.deg2rad(rng.uniform(0.0, 18.0))
    # the back rises from the rear edge of the seat (y = -d/2), its top tilted further back (-y)
    rot = _rotation("x", recline)
    centre = np.array([0.0, -0.5 * d + 0.5 * back_t, seat_h + thick]) + rot @ np.array([0, 0, 0.5 * back_h])
    b.box("back", (w * rng.uniform(0.85, 1.0), back_t, back_h), rot, centre)
    if rng.random() < 0.4:  # armrests: a post and a rail on each side
        arm_h = 0.22 * _j(rng, 0.2)
        for sx in (-1, 1):
            x = sx * (0.5 * w - 0.02)
            b.box("arm", (0.04, 0.04, arm_h), None, (x, 0.3 * d, seat_h + thick + 0.5 * arm_h))
            b.box("arm", (0.06, d * 0.9, 0.04), None, (x, 0.0, seat_h + thick + arm_h))


def _lamp(b: _Builder, rng: np.random.Generator) -> None:
    base_t = 0.04 * _j(rng)
    base_r = 0.17 * _j(rng)
    if rng.random() < 0.7:
        b.cylinder(
            "base", base_r, base_t, None, (0, 0, 0.5 * base_t), top_radius=base_r * rng.uniform(0.6, 1.0)
        )
    else:
        b.box("base", (2 * base_r, 1.6 * base_r, base_t), None, (0, 0, 0.5 * base_t))
    pole_r = 0.018 * _j(rng)
    pole_h = 0.75 * _j(rng)
    top = np.array([0.0, 0.0, base_t + pole_h])
    b.segment("pole", pole_r, (0, 0, 0), top)
    shade_tilt = np.deg2rad(rng.uniform(-8.0, 8.0))
    if rng.random() < 0.4:  # desk lamp: a second arm leaning out, a joint, the shade hanging forward
        arm = 0.4 * _j(rng)
        ang = np.deg2rad(rng.uniform(20.0, 60.0))
        end = top + arm * np.array([np.sin(ang), 0.0, np.cos(ang)])
        b.ellipsoid("pole", (2 * pole_r,) * 3, None, top)
        b.segment("pole", pole_r, top, end)
        top = end
        shade_tilt = -np.deg2rad(rng.uniform(35.0, 75.0))  # wide opening facing down and forward (+x)
    shade_h = 0.25 * _j(rng)
    r_low = 0.18 * _j(rng)
    r_high = r_low * rng.uniform(0.45, 0.8)
    rot = _rotation("y", shade_tilt)
    # the shade hangs around the top of the pole: its axis passes through `top`, 60 % of it below
    centre = top + rot @ np.array([0.0, 0.0, -0.1 * shade_h])
    b.cylinder("shade", r_low, shade_h, rot, centre, top_radius=r_high)


def _mug(b: _Builder, rng: np.random.Generator) -> None:
    r = 0.3 * _j(rng)
    h = 0.7 * _j(rng)
    taper = rng.uniform(0.9, 1.2)
    b.cylinder("body", r, h, _tilt(rng, 1.0), (0, 0, 0.5 * h), top_radius=r * taper)
    major = 0.25 * h * _j(rng, 0.2)
    minor = 0.045 * _j(rng, 0.2)
    stretch = rng.uniform(1.0, 1.4)
    # ring in the xz plane (local y turned to z), its inner half sunk into the wall
    x = 0.5 * (r + r * taper) + 0.3 * major
    b.torus(
        "handle",
        major,
        minor,
        _rotation("x", np.pi / 2),
        (x, 0.0, h * rng.uniform(0.45, 0.55)),
        stretch=stretch,
    )


def _bottle(b: _Builder, rng: np.random.Generator) -> None:
    r = 0.16 * _j(rng)
    body_h = 0.6 * _j(rng)
    if rng.random() < 0.7:
        b.cylinder("body", r, body_h, None, (0, 0, 0.5 * body_h))
    else:  # rounded flask body
        b.capsule("body", r, body_h, None, (0, 0, 0.5 * body_h))
    neck_r = r * rng.uniform(0.25, 0.45)
    shoulder_h = 0.15 * _j(rng)
    z = body_h - 0.02
    b.cylinder("neck", r * 0.97, shoulder_h, None, (0, 0, z + 0.5 * shoulder_h), top_radius=neck_r)
    z += shoulder_h
    neck_h = 0.14 * _j(rng)
    b.cylinder("neck", neck_r, neck_h, None, (0, 0, z + 0.5 * neck_h))
    z += neck_h
    cap_h = 0.06 * _j(rng)
    b.cylinder("cap", neck_r * rng.uniform(1.15, 1.4), cap_h, _tilt(rng, 2.0), (0, 0, z + 0.4 * cap_h))


def _rocket(b: _Builder, rng: np.random.Generator) -> None:
    r = 0.09 * _j(rng)
    h = 0.75 * _j(rng)
    z0 = 0.08 * _j(rng)
    b.cylinder("body", r, h, None, (0, 0, z0 + 0.5 * h))
    b.cone("nose", r, 0.25 * _j(rng), _tilt(rng, 1.0), (0, 0, z0 + h - 0.005))
    n_fins = int(rng.integers(3, 5))
    span = 0.13 * _j(rng)
    chord = 0.22 * _j(rng)
    fin_t = 0.02 * _j(rng)
    sweep = np.deg2rad(rng.uniform(0.0, 25.0))
    phase = rng.uniform(0, 2 * np.pi)
    for k in range(n_fins):
        a = phase + 2 * np.pi * k / n_fins
        # fin plate in the local xz plane, leaning back by `sweep`, then turned to face outwards
        rot = _rotation("z", a) @ _rotation("y", -sweep)
        centre = np.array([(r + 0.5 * span) * np.cos(a), (r + 0.5 * span) * np.sin(a), 0.5 * chord])
        b.box("fin", (span, fin_t, chord), rot, centre)
    if rng.random() < 0.5:
        b.cylinder("nozzle", 0.55 * r, z0 + 0.02, None, (0, 0, 0.5 * (z0 + 0.02)), top_radius=0.35 * r)


def _airplane(b: _Builder, rng: np.random.Generator) -> None:
    length = 1.0 * _j(rng, 0.2)
    r = 0.06 * _j(rng)
    z = 0.25
    b.capsule("fuselage", r, length, _rotation("y", np.pi / 2), (0, 0, z))
    span = length * rng.uniform(0.8, 1.3)
    chord = 0.16 * _j(rng)
    wing_t = 0.025 * _j(rng)
    sweep = np.deg2rad(rng.uniform(0.0, 30.0))
    dihedral = np.deg2rad(rng.uniform(0.0, 7.0))
    wing_x = length * rng.uniform(-0.1, 0.1)
    for side in (-1, 1):
        # each half wing: a flat box along y, swept back (about z) and raised (about x)
        rot = _rotation("z", side * sweep) @ _rotation("x", side * dihedral)
        centre = np.array([wing_x, 0.0, z - 0.3 * r]) + rot @ np.array([0.0, side * 0.25 * span, 0.0])
        b.box("wing", (chord, 0.5 * span, wing_t), rot, centre)
    tail_x = -0.5 * length + 0.1 * length
    fin_h = 0.16 * _j(rng)
    fin_c = 0.12 * _j(rng)
    rot = _rotation("y", -rng.uniform(0.2, 0.5))  # vertical fin, its top swept back (-x)
    b.box("tail", (fin_c, 0.02, fin_h), rot, (tail_x, 0.0, z + 0.5 * fin_h + 0.5 * r))
    stab = 0.35 * span * _j(rng, 0.2)
    for side in (-1, 1):
        rot = _rotation("z", side * sweep)
        centre = np.array([tail_x, 0.0, z + 0.3 * r]) + rot @ np.array([0.0, side * 0.25 * stab, 0.0])
        b.box("tail", (0.7 * fin_c, 0.5 * stab, 0.02), rot, centre)
    if rng.random() < 0.6:  # engines hanging under the wings
        per_side = int(rng.integers(1, 3))
        er = 0.4 * r * _j(rng, 0.2)
        el = 0.18 * _j(rng)
        for side in (-1, 1):
            for k in range(per_side):
                y = side * 0.5 * span * (0.3 + 0.3 * k)
                x = wing_x - np.tan(sweep) * abs(y) + 0.3 * chord
                b.cylinder("engine", er, el, _rotation("y", np.pi / 2), (x, y, z - 0.3 * r - er))


class _ClassSpec(NamedTuple):
    parts: tuple[str, ...]  # sorted
    build: Callable[[_Builder, np.random.Generator], None]


_SPECS: dict[str, _ClassSpec] = {
    "airplane": _ClassSpec(("engine", "fuselage", "tail", "wing"), _airplane),
    "bottle": _ClassSpec(("body", "cap", "neck"), _bottle),
    "chair": _ClassSpec(("arm", "back", "leg", "seat"), _chair),
    "lamp": _ClassSpec(("base", "pole", "shade"), _lamp),
    "mug": _ClassSpec(("body", "handle"), _mug),
    "rocket": _ClassSpec(("body", "fin", "nose", "nozzle"), _rocket),
    "stool": _ClassSpec(("leg", "rung", "seat"), _stool),
    "table": _ClassSpec(("leg", "top"), _table),
}

SYNTHETIC_CLASSES: tuple[str, ...] = tuple(sorted(_SPECS))
"""The class names of the embedded dataset, sorted; a class's index in this tuple is its label."""


def _spec(class_name: str) -> _ClassSpec:
    spec = _SPECS.get(class_name) if isinstance(class_name, str) else None
    if spec is None:
        raise OptionError(
            f"unknown embedded shape class {class_name!r}; valid classes: {', '.join(SYNTHETIC_CLASSES)}"
        )
    return spec


def part_names(class_name: str) -> tuple[str, ...]:
    """The part names of ``class_name``, sorted; ``face_labels`` of its shapes index this tuple.

    Optional parts (e.g. a chair's ``arm``) are listed even though some shapes lack them.
    Raises :class:`~geolearn.errors.OptionError` for an unknown class.
    """
    return _spec(class_name).parts


def all_part_names() -> tuple[str, ...]:
    """Sorted union of the part names of every class (a part shared by name, like ``leg``, once)."""
    return tuple(sorted({p for spec in _SPECS.values() for p in spec.parts}))


def make_shape(class_name: str, seed: int, *, target_faces: int = DEFAULT_TARGET_FACES) -> Mesh:
    """Generate the shape ``seed`` of class ``class_name`` with a part label on every face.

    Deterministic: the same ``(class_name, seed, target_faces)`` gives identical arrays. The
    geometry does not depend on ``target_faces``, only its meshing does.

    Args:
        class_name: one of :data:`SYNTHETIC_CLASSES`.
        seed: non-negative int; seeds ``numpy.random.default_rng``, the only randomness used.
        target_faces: face budget in ``[MIN_TARGET_FACES, MAX_TARGET_FACES]``; the edge length is
            chosen so that the face count is as close to it as the meshing allows. Measured over
            20 seeds of every class: within -15 %/+10 % of the budget from 500 faces up (1500 gives
            1278-1652 faces); below 500 the minimum of 8 sections on thin parts can exceed it (a
            budget of 200 gives up to 396).

    Returns:
        A :class:`~geolearn.mesh.Mesh` with ``vertices (V, 3) float64``, ``faces (F, 3) int64``,
        ``face_labels (F,) int64`` indexing ``label_names == part_names(class_name)`` and
        ``source == f"embedded:{class_name}/{seed}"``. Each part is one or more closed,
        outward-wound primitives; primitives are not welded together and may interpenetrate.

    Raises:
        OptionError: unknown class, negative or non-integer seed, or ``target_faces`` out of range.
    """
    spec = _spec(class_name)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise OptionError(f"make_shape: seed must be a non-negative int, got {seed!r}")
    if (
        isinstance(target_faces, bool)
        or not isinstance(target_faces, (int, np.integer))
        or not MIN_TARGET_FACES <= target_faces <= MAX_TARGET_FACES
    ):
        raise OptionError(
            f"make_shape: target_faces must be an int in [{MIN_TARGET_FACES}, {MAX_TARGET_FACES}], "
            f"got {target_faces!r}"
        )
    rng = np.random.default_rng(int(seed))
    builder = _Builder()
    spec.build(builder, rng)
    # overall pose and size, drawn after the parts so that they do not shift the part parameters
    scale = float(rng.uniform(0.75, 1.25))
    rot = _rotation("z", float(rng.uniform(0.0, 2.0 * np.pi)))

    edge = builder.edge_for(int(target_faces))
    parts = builder.mesh(edge)

    index = {name: i for i, name in enumerate(spec.parts)}
    offsets = np.cumsum([0] + [len(v) for v, _ in parts[:-1]])
    vertices = np.concatenate([v for v, _ in parts]) @ (scale * rot).T  # (V, 3)
    faces = np.concatenate([f + o for (_, f), o in zip(parts, offsets, strict=True)])  # (F, 3)
    labels = np.concatenate(
        [
            np.full(len(f), index[p.label], dtype=np.int64)
            for (_, f), p in zip(parts, builder.primitives, strict=True)
        ]
    )  # (F,)
    return Mesh(
        vertices,
        faces,
        face_labels=labels,
        label_names=spec.parts,
        source=f"embedded:{class_name}/{int(seed)}",
    )
