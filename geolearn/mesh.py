"""The :class:`Mesh` every part of geolearn works on, its validation report, repair and normalisation.

A mesh is a plain triangle soup with optional per-face labels. Nothing here modifies a mesh in place
and nothing is repaired unless you ask: :func:`repair` and :func:`normalize` return new meshes.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse
import scipy.sparse.csgraph

from geolearn.errors import EmptyMeshError, FaceIndexError, NonFiniteError, OptionError

__all__ = [
    "Mesh",
    "ValidationReport",
    "edge_face_pairs",
    "edge_topology",
    "normalize",
    "principal_frame",
    "repair",
    "validate",
]

# Faces whose area is below this fraction of the squared bounding-box diagonal are "degenerate".
# Relative, so the test means the same thing in millimetres and in metres.
DEGENERATE_AREA_RTOL = 1e-12


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate` found in a mesh. Counts only; it never changes the mesh.

    Attributes:
        num_vertices, num_faces: sizes of the arrays.
        num_nonfinite_vertices: vertices with a NaN or infinite coordinate.
        num_degenerate_faces: faces with a repeated vertex index or (near-)zero area.
        num_duplicate_faces: faces whose vertex set repeats an earlier face (any order or winding).
        num_unreferenced_vertices: vertices used by no face.
        num_components: connected components of the face graph (faces sharing a vertex).
        num_boundary_edges: edges used by exactly one face (holes); 0 for a closed mesh.
        num_nonmanifold_edges: edges used by more than two faces.
        is_watertight: every edge is shared by exactly two faces.
        is_winding_consistent: every edge shared by two faces is traversed in opposite directions.
        surface_area: total area of the faces.
        bounds: ((xmin, ymin, zmin), (xmax, ymax, zmax)) over finite vertices.
    """

    num_vertices: int
    num_faces: int
    num_nonfinite_vertices: int
    num_degenerate_faces: int
    num_duplicate_faces: int
    num_unreferenced_vertices: int
    num_components: int
    num_boundary_edges: int
    num_nonmanifold_edges: int
    is_watertight: bool
    is_winding_consistent: bool
    surface_area: float
    bounds: tuple[tuple[float, float, float], tuple[float, float, float]]

    def problems(self) -> list[str]:
        """Human-readable list of everything that is not a clean, closed, consistently wound mesh."""
        out = []
        if self.num_nonfinite_vertices:
            out.append(f"{self.num_nonfinite_vertices} vertices with NaN/inf coordinates")
        if self.num_degenerate_faces:
            out.append(f"{self.num_degenerate_faces} degenerate faces")
        if self.num_duplicate_faces:
            out.append(f"{self.num_duplicate_faces} duplicate faces")
        if self.num_unreferenced_vertices:
            out.append(f"{self.num_unreferenced_vertices} unreferenced vertices")
        if not self.is_watertight:
            out.append(
                f"not watertight ({self.num_boundary_edges} boundary edges, "
                f"{self.num_nonmanifold_edges} non-manifold edges)"
            )
        if not self.is_winding_consistent:
            out.append("inconsistent winding")
        return out

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["bounds"] = [list(b) for b in self.bounds]
        d["problems"] = self.problems()
        return d


@dataclass(frozen=True, eq=False)
class Mesh:
    """A triangle mesh with optional per-face part labels.

    Attributes:
        vertices: ``(V, 3)`` float64 coordinates.
        faces: ``(F, 3)`` int64 vertex indices, each in ``[0, V)``.
        face_labels: ``(F,)`` int64 part label per face, or ``None``. Indexes ``label_names``.
        label_names: names of the labels, or ``None``.
        source: where the mesh came from (a path, ``archive.zip/member``, or a description).
    """

    vertices: np.ndarray
    faces: np.ndarray
    face_labels: np.ndarray | None = None
    label_names: tuple[str, ...] | None = None
    source: str = "<memory>"
    _report: list[ValidationReport] = field(default_factory=list, repr=False, compare=False)

    def __post_init__(self) -> None:
        v = np.ascontiguousarray(self.vertices, dtype=np.float64)
        f = np.ascontiguousarray(self.faces, dtype=np.int64)
        if v.ndim != 2 or v.shape[1] != 3:
            raise OptionError(f"{self.source}: vertices must have shape (V, 3), got {v.shape}")
        if f.ndim != 2 or f.shape[1] != 3:
            raise OptionError(f"{self.source}: faces must have shape (F, 3), got {f.shape}")
        object.__setattr__(self, "vertices", v)
        object.__setattr__(self, "faces", f)
        if self.face_labels is not None:
            lab = np.ascontiguousarray(self.face_labels, dtype=np.int64)
            if lab.shape != (f.shape[0],):
                raise OptionError(
                    f"{self.source}: face_labels must have shape ({f.shape[0]},), got {lab.shape}"
                )
            object.__setattr__(self, "face_labels", lab)
        if self.label_names is not None:
            object.__setattr__(self, "label_names", tuple(self.label_names))

    # -- derived quantities -------------------------------------------------------------------
    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def num_faces(self) -> int:
        return int(self.faces.shape[0])

    @property
    def triangles(self) -> np.ndarray:
        """``(F, 3, 3)`` float64: the corner coordinates of every face."""
        return self.vertices[self.faces]

    @property
    def face_areas(self) -> np.ndarray:
        """``(F,)`` float64 face areas."""
        t = self.triangles
        return 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)

    @property
    def face_normals(self) -> np.ndarray:
        """``(F, 3)`` float64 unit normals by the right-hand rule; zero for degenerate faces."""
        t = self.triangles
        n = np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0])
        norm = np.linalg.norm(n, axis=1, keepdims=True)
        return np.divide(n, norm, out=np.zeros_like(n), where=norm > 0)

    @property
    def face_centroids(self) -> np.ndarray:
        """``(F, 3)`` float64 face centroids."""
        return self.triangles.mean(axis=1)

    @property
    def report(self) -> ValidationReport:
        """The validation report, computed once on first access."""
        if not self._report:
            self._report.append(validate(self))
        return self._report[0]

    def replace(self, **changes: Any) -> Mesh:
        """A copy with some fields replaced (the report is recomputed when needed)."""
        changes.setdefault("_report", [])
        return dataclasses.replace(self, **changes)

    def to_trimesh(self) -> Any:
        """A ``trimesh.Trimesh`` view of this mesh (no processing, nothing merged)."""
        import trimesh

        return trimesh.Trimesh(self.vertices, self.faces, process=False, validate=False)

    def __repr__(self) -> str:
        lab = "" if self.label_names is None else f", {len(self.label_names)} labels"
        return f"Mesh({self.num_vertices} vertices, {self.num_faces} faces{lab}, source={self.source!r})"


def check_usable(mesh: Mesh) -> None:
    """Raise a :class:`~geolearn.errors.MeshError` if the mesh cannot be used at all.

    Usable means: at least one vertex and one face, finite coordinates, face indices in range.
    Everything else (holes, bad winding, degenerate faces) is reported, not raised.
    """
    if mesh.num_vertices == 0 or mesh.num_faces == 0:
        raise EmptyMeshError(
            mesh.source, f"empty mesh ({mesh.num_vertices} vertices, {mesh.num_faces} faces)"
        )
    bad = ~np.isfinite(mesh.vertices).all(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise NonFiniteError(
            mesh.source, f"{int(bad.sum())} vertices have NaN/inf coordinates (first: vertex {first})"
        )
    lo, hi = int(mesh.faces.min()), int(mesh.faces.max())
    if lo < 0 or hi >= mesh.num_vertices:
        bad_face = int(np.flatnonzero((mesh.faces < 0).any(1) | (mesh.faces >= mesh.num_vertices).any(1))[0])
        raise FaceIndexError(
            mesh.source,
            f"face {bad_face} refers to vertex {int(mesh.faces[bad_face].max() if hi >= mesh.num_vertices else lo)}"
            f" but vertex indices must be in [0, {mesh.num_vertices})",
        )


@dataclass(frozen=True)
class EdgeTopology:
    """Undirected edges of a triangle mesh and how faces use them.

    Attributes:
        edges: ``(E, 2)`` int64 sorted vertex pairs, unique.
        face_edges: ``(F, 3)`` int64 index into ``edges`` of edge (v0,v1), (v1,v2), (v2,v0) of each face.
        edge_face_count: ``(E,)`` number of faces using each edge.
        edge_direction_sum: ``(E,)`` sum over faces of +1 if the face traverses the edge low→high,
            -1 otherwise. 0 on an interior edge of a consistently wound manifold.
    """

    edges: np.ndarray
    face_edges: np.ndarray
    edge_face_count: np.ndarray
    edge_direction_sum: np.ndarray


def _row_keys(rows: np.ndarray) -> np.ndarray:
    """One int64 (or a byte string) per row of a small non-negative int array, equal iff rows are."""
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    base = int(rows.max()) + 1 if rows.size else 1
    if base ** rows.shape[1] < 2**62:
        key = np.zeros(len(rows), dtype=np.int64)
        for col in range(rows.shape[1]):
            key = key * base + rows[:, col]
        return key
    return rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()


def unique_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``np.unique(rows, axis=0, return_index=True, return_inverse=True)``, several times faster.

    Returns:
        unique ``(U, k)`` rows, index ``(U,)`` of each one's first occurrence, inverse ``(n,)``.
    """
    _, first, inverse = np.unique(_row_keys(rows), return_index=True, return_inverse=True)
    return rows[first], first, inverse.reshape(-1)


def edge_topology(faces: np.ndarray) -> EdgeTopology:
    """Edge structure of ``faces`` (``(F, 3)`` int), vectorised; O(F log F)."""
    f = np.asarray(faces, dtype=np.int64)
    directed = np.stack([f, np.roll(f, -1, axis=1)], axis=2).reshape(-1, 2)  # (3F, 2)
    forward = directed[:, 0] < directed[:, 1]
    und = np.sort(directed, axis=1)
    edges, _, inverse = unique_rows(und)
    count = np.bincount(inverse, minlength=len(edges))
    direction = np.bincount(inverse, weights=np.where(forward, 1.0, -1.0), minlength=len(edges))
    return EdgeTopology(edges, inverse.reshape(-1, 3), count, direction.astype(np.int64))


def edge_face_pairs(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The faces met across each edge, as pairs: around an edge used by ``c`` faces, the ``c - 1``
    pairs of faces consecutive in face order (one pair for a manifold edge, a chain around a
    non-manifold one); a face that lists an edge twice (degenerate) is never paired with itself.
    One stable sort of the 3F corner edges by a 1-D key; O(F log F).

    Returns ``(a, b, ends, count)``: face ``a[i]`` meets face ``b[i]`` (``a[i] < b[i]``, ``(P,)`` int64)
    across the edge with vertices ``ends[i]`` (``(P, 2)`` int64, sorted), used by ``count[i]`` faces.
    """
    f = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    ends = np.sort(f[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)  # (3F, 2) edge of each corner
    key = ends[:, 0] * (int(f.max(initial=-1)) + 1) + ends[:, 1]
    order = np.argsort(key, kind="stable")  # corners grouped by edge, in face order within one
    key = key[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])  # first corner of each edge
    sizes = np.diff(np.r_[first, len(key)])
    same = key[1:] == key[:-1]
    a, b = order[:-1][same] // 3, order[1:][same] // 3
    pair_ends, count = ends[order[1:][same]], np.repeat(sizes, sizes)[1:][same]
    keep = a != b
    return a[keep], b[keep], pair_ends[keep], count[keep]


def face_adjacency(faces: np.ndarray, num_vertices: int) -> scipy.sparse.csr_matrix:
    """``(F, F)`` sparse matrix linking faces that share an edge."""
    topo = edge_topology(faces)
    f_idx = np.repeat(np.arange(len(faces)), 3)
    e_idx = topo.face_edges.reshape(-1)
    inc = scipy.sparse.csr_matrix((np.ones(len(f_idx)), (f_idx, e_idx)), shape=(len(faces), len(topo.edges)))
    adj = (inc @ inc.T).tocsr()
    adj.setdiag(0)
    adj.eliminate_zeros()
    return adj


def validate(mesh: Mesh) -> ValidationReport:
    """Count what is wrong with ``mesh`` without changing it. See :class:`ValidationReport`."""
    v, f = mesh.vertices, mesh.faces
    finite = np.isfinite(v).all(axis=1)
    nv, nf = len(v), len(f)
    if nv and finite.any():
        fv = v[finite]
        bounds = (tuple(map(float, fv.min(0))), tuple(map(float, fv.max(0))))
    else:
        bounds = ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0))
    in_range = nf > 0 and nv > 0 and f.min() >= 0 and f.max() < nv
    if not in_range:
        return ValidationReport(
            nv,
            nf,
            int((~finite).sum()),
            0,
            0,
            nv,
            0,
            0,
            0,
            False,
            False,
            0.0,
            bounds,  # type: ignore[arg-type]
        )
    areas = np.nan_to_num(mesh.face_areas)
    diag2 = float(np.sum((np.asarray(bounds[1]) - np.asarray(bounds[0])) ** 2))
    repeated = (f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 2] == f[:, 0])
    degenerate = repeated | (areas <= DEGENERATE_AREA_RTOL * max(diag2, 1e-300))
    _, first, _ = unique_rows(np.sort(f, axis=1))
    duplicates = nf - len(first)
    referenced = np.zeros(nv, dtype=bool)
    referenced[f.reshape(-1)] = True
    # connected components over vertices referenced by faces
    rows = np.concatenate([f[:, 0], f[:, 1]])
    cols = np.concatenate([f[:, 1], f[:, 2]])
    graph = scipy.sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(nv, nv))
    _, comp = scipy.sparse.csgraph.connected_components(graph, directed=False)
    num_components = len(np.unique(comp[referenced]))
    topo = edge_topology(f[~repeated])
    boundary = int((topo.edge_face_count == 1).sum())
    nonmanifold = int((topo.edge_face_count > 2).sum())
    two = topo.edge_face_count == 2
    winding_ok = bool(np.all(topo.edge_direction_sum[two] == 0))
    return ValidationReport(
        num_vertices=nv,
        num_faces=nf,
        num_nonfinite_vertices=int((~finite).sum()),
        num_degenerate_faces=int(degenerate.sum()),
        num_duplicate_faces=int(duplicates),
        num_unreferenced_vertices=int((~referenced).sum()),
        num_components=int(num_components),
        num_boundary_edges=boundary,
        num_nonmanifold_edges=nonmanifold,
        is_watertight=boundary == 0 and nonmanifold == 0 and not repeated.any(),
        is_winding_consistent=winding_ok,
        surface_area=float(areas.sum()),
        bounds=bounds,  # type: ignore[arg-type]
    )


def repair(
    mesh: Mesh,
    *,
    merge_vertices: bool = True,
    drop_degenerate: bool = True,
    drop_duplicates: bool = True,
    drop_unreferenced: bool = True,
    fix_winding: bool = True,
    merge_tolerance: float = 1e-8,
) -> Mesh:
    """Return a repaired copy of ``mesh``; the input is not changed. Face labels follow their faces.

    Args:
        merge_vertices: weld vertices closer than ``merge_tolerance`` × bounding-box diagonal.
        drop_degenerate: remove faces with a repeated vertex or (near-)zero area.
        drop_duplicates: remove faces whose vertex set repeats an earlier face (the first is kept).
        drop_unreferenced: remove vertices no face uses.
        fix_winding: flip faces so that every connected component is consistently wound
            (breadth-first over edge-adjacent faces, keeping the orientation of each component's
            first face; then, for closed components, flip the whole component if its signed volume
            is negative so normals point outward).
    """
    check_usable(mesh)
    v, f = mesh.vertices, mesh.faces
    labels = mesh.face_labels
    keep = np.ones(len(f), dtype=bool)
    if merge_vertices:
        diag = float(np.linalg.norm(v.max(0) - v.min(0))) or 1.0
        q = np.round(v / (merge_tolerance * diag)).astype(np.int64)
        _, first, inverse = unique_rows(q - q.min(0))
        v = v[first]
        f = inverse[f]
    if drop_degenerate:
        tmp = Mesh(v, f, source=mesh.source)
        area = tmp.face_areas
        diag2 = float(np.sum((v.max(0) - v.min(0)) ** 2))
        rep = (f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 2] == f[:, 0])
        keep &= ~(rep | (area <= DEGENERATE_AREA_RTOL * max(diag2, 1e-300)))
    if drop_duplicates:
        idx = np.flatnonzero(keep)
        _, first, _ = unique_rows(np.sort(f[idx], axis=1))
        dup_keep = np.zeros(len(f), dtype=bool)
        dup_keep[idx[first]] = True
        keep &= dup_keep
    f = f[keep]
    if labels is not None:
        labels = labels[keep]
    if len(f) == 0:
        raise EmptyMeshError(mesh.source, "no faces left after dropping degenerate/duplicate faces")
    if drop_unreferenced:
        used = np.zeros(len(v), dtype=bool)
        used[f.reshape(-1)] = True
        remap = np.cumsum(used) - 1
        v = v[used]
        f = remap[f]
    if fix_winding:
        f = _fix_winding(v, f)
    return mesh.replace(vertices=v, faces=f, face_labels=labels)


def _fix_winding(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    f = f.copy()
    topo = edge_topology(f)
    nf = len(f)
    # pairs of faces across manifold edges
    e_of = topo.face_edges.reshape(-1)
    owner = np.repeat(np.arange(nf), 3)
    order = np.argsort(e_of, kind="stable")
    e_sorted, o_sorted = e_of[order], owner[order]
    same = e_sorted[1:] == e_sorted[:-1]
    manifold = topo.edge_face_count[e_sorted[1:]] == 2
    sel = same & manifold
    a, b, e = o_sorted[:-1][sel], o_sorted[1:][sel], e_sorted[1:][sel]
    neighbours: list[list[tuple[int, int]]] = [[] for _ in range(nf)]
    for ai, bi, ei in zip(a.tolist(), b.tolist(), e.tolist(), strict=True):
        neighbours[ai].append((bi, ei))
        neighbours[bi].append((ai, ei))
    edges = topo.edges

    def forward(face: np.ndarray, edge: np.ndarray) -> bool:
        return any(face[k] == edge[0] and face[(k + 1) % 3] == edge[1] for k in range(3))

    visited = np.zeros(nf, dtype=bool)
    for seed in range(nf):
        if visited[seed]:
            continue
        visited[seed] = True
        stack = [seed]
        component = [seed]
        while stack:
            cur = stack.pop()
            for nb, ei in neighbours[cur]:
                if visited[nb]:
                    continue
                # consistent iff the two faces traverse the shared edge in opposite directions
                if forward(f[cur], edges[ei]) == forward(f[nb], edges[ei]):
                    f[nb] = f[nb][::-1]
                visited[nb] = True
                stack.append(nb)
                component.append(nb)
        comp = np.asarray(component)
        t = v[f[comp]]
        signed_volume = np.einsum("ij,ij->i", t[:, 0], np.cross(t[:, 1], t[:, 2])).sum() / 6.0
        if signed_volume < 0 and _closed(topo, comp):
            f[comp] = f[comp][:, ::-1]
    return f


def _closed(topo: EdgeTopology, comp: np.ndarray) -> bool:
    return bool(np.all(topo.edge_face_count[topo.face_edges[comp].reshape(-1)] == 2))


def principal_frame(mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    """The centroid and principal axes of the surface of ``mesh`` (area-weighted, exact per triangle).

    The axes are the eigenvectors of the surface's second-moment matrix about its centroid, by
    decreasing variance; each is signed so that the surface's third moment along it is >= 0 (its
    heavier tail on the positive side), which makes the frame a function of the shape alone — the
    same frame, up to floating point, however the mesh was rotated or mirrored (ties between equal
    variances or zero third moments, e.g. of a sphere or a symmetric box, are decided arbitrarily).

    Returns:
        ``centre (3,)`` and ``axes (3, 3)`` float64, one axis per row (orthonormal; the determinant
        may be -1: the frame may mirror).

    Raises:
        EmptyMeshError: the surface has zero area.
    """
    t = mesh.vertices[mesh.faces]  # (F, 3 corners, 3)
    area = 0.5 * np.linalg.norm(np.cross(t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]), axis=1)  # (F,)
    total = float(area.sum())
    if not total > 0:
        raise EmptyMeshError(mesh.source, "the surface has zero area: it has no principal axes")
    centroid_f = t.mean(axis=1)  # (F, 3)
    centre = (area[:, None] * centroid_f).sum(0) / total
    d = t - centre  # (F, 3, 3)
    s = d.sum(axis=1)  # (F, 3)
    # ∫ x xᵀ dA over a triangle = A/12 (Σ vᵢvᵢᵀ + (Σ vᵢ)(Σ vᵢ)ᵀ), exact for linear triangles
    second = np.einsum("f,fki,fkj->ij", area, d, d) + np.einsum("f,fi,fj->ij", area, s, s)
    _, evecs = np.linalg.eigh(second / (12.0 * total))  # eigenvalues ascending
    axes = evecs[:, ::-1].T.copy()  # (3, 3), rows by decreasing variance
    # sign by the third moment, ∫ (x·e)³ dA: exact for a triangle from its corner projections p
    p = np.einsum("fki,ai->fak", d, axes)  # (F, 3 axes, 3 corners)
    cubic = p[..., 0] ** 3 + p[..., 1] ** 3 + p[..., 2] ** 3
    cubic += p[..., 0] ** 2 * (p[..., 1] + p[..., 2]) + p[..., 1] ** 2 * (p[..., 0] + p[..., 2])
    cubic += p[..., 2] ** 2 * (p[..., 0] + p[..., 1]) + p[..., 0] * p[..., 1] * p[..., 2]
    third = (area[:, None] * cubic).sum(0)  # (3,) up to the positive factor 1/10
    axes[third < 0] *= -1
    return centre, axes


def normalize(mesh: Mesh, method: str = "unit_sphere") -> Mesh:
    """Return a copy of ``mesh`` translated and scaled (and, for ``"pca"``, turned).

    Args:
        method: ``"unit_sphere"`` — centre the bounding box at the origin and scale so the farthest
            vertex lies at distance 1; ``"unit_cube"`` — centre the bounding box and scale its longest
            side to 1 (fits in ``[-0.5, 0.5]^3``); ``"pca"`` — turn the surface's principal axes
            (:func:`principal_frame`) onto x, y, z (x of the largest variance), then ``"unit_sphere"``:
            one pose for meshes stored in any orientation (e.g. the labeled PSB); when that frame
            mirrors the mesh, the winding of every face is reversed too, so face normals stay on the
            side they were (outward stays outward); ``"none"`` — unchanged copy.
    """
    check_usable(mesh)
    v = mesh.vertices
    if method == "none":
        return mesh.replace(vertices=v.copy())
    if method == "pca":
        centre, axes = principal_frame(mesh)
        v = (v - centre) @ axes.T  # (V, 3) in the principal frame
        faces = mesh.faces
        if np.linalg.det(axes) < 0:  # a mirror: reverse the winding, so that normals keep their side
            faces = np.ascontiguousarray(faces[:, ::-1])
        mesh = mesh.replace(vertices=v, faces=faces)
        method = "unit_sphere"
    used = v[np.unique(mesh.faces)]
    centre = 0.5 * (used.min(0) + used.max(0))
    if method == "unit_sphere":
        scale = float(np.linalg.norm(used - centre, axis=1).max())
    elif method == "unit_cube":
        scale = float((used.max(0) - used.min(0)).max())
    else:
        raise OptionError(f"normalize: unknown method {method!r}; use unit_sphere, unit_cube or none")
    if scale <= 0:
        raise EmptyMeshError(mesh.source, "all vertices coincide: cannot normalise a zero-size mesh")
    return mesh.replace(vertices=(v - centre) / scale)
