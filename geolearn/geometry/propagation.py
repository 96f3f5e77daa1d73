"""Per-face label probabilities smoothed over the surface: label propagation on the face graph.

A network labels each face from features read at a few thousand surface points, so its per-face
probabilities are noisy near part boundaries and on small islands. Mesh segmentation methods clean
them up on the mesh itself — Shapira et al. 2008 with a graph cut over the SDF's mixture labels,
Kalogerakis et al. 2010 with a conditional random field whose pairwise term follows the dihedral
angle. :func:`smooth_face_probabilities` is the simplest member of that family, label propagation
(Zhou et al., "Learning with local and global consistency", NIPS 2004) on the graph of faces that
share an edge::

    q ← (1 − α) p + α · D⁻¹ W q        (``iterations`` times, starting from q = p)

``p`` are the network's probabilities (``(F, K)``, rows summing to 1), ``α`` the ``strength``. ``W``
weights each shared edge by its length (a long border between two faces counts more than a corner)
times ``exp(−θ / concave_scale)`` when the edge is concave, where ``θ`` is the angle between the two
face normals: parts of a shape meet at concave creases (the minima rule of Hoffman and Richards
1984), so labels spread along the surface and stop at creases. Convex edges are not damped. The
iteration converges to ``(1 − α)(I − α D⁻¹W)⁻¹ p``; every ``q`` is a convex mix of rows of ``p``, so its
rows sum to 1 and a label that ``p`` gives probability 0 everywhere (a part of another category)
stays at 0.

Concave and convex are read from the face normals, which need a consistent winding (a closed,
outward-oriented mesh; :func:`geolearn.mesh.repair` fixes the winding of others). On a mesh whose
winding is not consistent, ``concave_scale=None`` weighs edges by length only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse

from geolearn.errors import OptionError
from geolearn.mesh import Mesh, edge_face_pairs

__all__ = ["FaceGraph", "face_graph", "smooth_face_probabilities"]


@dataclass(frozen=True)
class FaceGraph:
    """The faces of a triangle mesh linked across the edges that exactly two faces share.

    Attributes:
        num_faces: F.
        pairs: ``(P, 2)`` int64 — the two faces of each shared edge.
        edge_length: ``(P,)`` float64 — the length of the shared edge.
        angle: ``(P,)`` float64 — the angle between the two face normals, in ``[0, π]`` (0: flat).
        concave: ``(P,)`` bool — the crease is concave (the second face's centroid lies on the outer
            side of the first face's plane, for outward normals).
    """

    num_faces: int
    pairs: np.ndarray
    edge_length: np.ndarray
    angle: np.ndarray
    concave: np.ndarray


def face_graph(mesh: Mesh) -> FaceGraph:
    """The :class:`FaceGraph` of ``mesh``. Edges used by one face (borders) or by more than two
    (non-manifold) link nothing; a degenerate face (zero area, no normal) meets its neighbours at
    angle π/2 and never concavely, so its edges weigh their length only."""
    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.faces, dtype=np.int64)
    a, b, ends, count = edge_face_pairs(f)
    two = count == 2  # borders pair nothing; non-manifold edges are left out
    a, b, ends = a[two], b[two], ends[two]
    tri = v[f]  # (F, 3, 3)
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    length = np.linalg.norm(normal, axis=1, keepdims=True)
    normal = np.divide(normal, length, out=np.zeros_like(normal), where=length > 0)
    centroid = tri.mean(axis=1)
    cos = np.clip(np.einsum("ij,ij->i", normal[a], normal[b]), -1.0, 1.0)
    concave = np.einsum("ij,ij->i", centroid[b] - centroid[a], normal[a]) > 0
    return FaceGraph(
        num_faces=len(f),
        pairs=np.stack([a, b], axis=1),
        edge_length=np.linalg.norm(v[ends[:, 0]] - v[ends[:, 1]], axis=1),
        angle=np.arccos(cos),
        concave=concave,
    )


def smooth_face_probabilities(
    probabilities: np.ndarray,
    graph: FaceGraph,
    *,
    strength: float = 0.95,
    concave_scale: float | None = 0.2,
    iterations: int = 30,
) -> np.ndarray:
    """Label propagation of per-face probabilities over ``graph`` (see the module docstring).

    Args:
        probabilities: ``(F, K)`` non-negative, rows summing to 1 (softmax outputs).
        graph: the mesh's :func:`face_graph`.
        strength: α in ``[0, 1)``: 0 returns ``probabilities``; near 1, neighbours outweigh the face's
            own prediction. The defaults (0.95, 0.2 rad, 30 iterations) were chosen on the validation
            carve of the labeled PSB's training split (``experiments/README.md``).
        concave_scale: θ₀ in radians of the ``exp(−θ/θ₀)`` damping across concave edges; ``None``:
            every edge weighs its length only.
        iterations: rounds of the update (≥ 1). Each round lets labels travel one more face; the
            influence of a face ``r`` rounds away is damped by ``αʳ`` (``0.95³⁰ ≈ 0.2``), so the
            smoothing stays local, as meant for errors a few faces wide.

    Returns:
        ``(F, K)`` float64; rows sum to 1 when those of ``probabilities`` do.

    Raises:
        OptionError: shapes that do not match, probabilities that are negative or not finite, or
            options out of range.
    """
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or p.shape[0] != graph.num_faces:
        raise OptionError(
            f"smoothing: probabilities must be (F, K) with F = {graph.num_faces} faces, got {p.shape}"
        )
    if not np.isfinite(p).all() or (p < 0).any():
        raise OptionError("smoothing: probabilities must be finite and non-negative")
    if not _is_real(strength) or not (0.0 <= float(strength) < 1.0):
        raise OptionError(f"smoothing strength must be in [0, 1), got {strength!r}")
    if concave_scale is not None and not (
        _is_real(concave_scale) and float(concave_scale) > 0 and math.isfinite(concave_scale)
    ):
        raise OptionError(
            f"smoothing concave_scale must be positive (radians) or None, got {concave_scale!r}"
        )
    if isinstance(iterations, bool) or not isinstance(iterations, (int, np.integer)) or iterations < 1:
        raise OptionError(f"smoothing iterations must be a positive integer, got {iterations!r}")
    if strength == 0 or len(graph.pairs) == 0:
        return p.copy()
    w = graph.edge_length.copy()
    if concave_scale is not None:
        w = np.where(graph.concave, w * np.exp(-graph.angle / float(concave_scale)), w)
    a, b = graph.pairs[:, 0], graph.pairs[:, 1]
    n = graph.num_faces
    adj = scipy.sparse.csr_matrix((np.r_[w, w], (np.r_[a, b], np.r_[b, a])), shape=(n, n))
    degree = np.asarray(adj.sum(axis=1)).ravel()
    alone = degree <= 0  # no neighbour (or only zero-length edges): the face keeps its own prediction
    step = scipy.sparse.diags(np.where(alone, 0.0, 1.0 / np.where(alone, 1.0, degree))) @ adj
    step = (step + scipy.sparse.diags(alone.astype(np.float64))).tocsr()  # row-stochastic
    alpha = float(strength)
    q = p.copy()
    for _ in range(int(iterations)):
        q = (1.0 - alpha) * p + alpha * (step @ q)
    return q


def _is_real(value: object) -> bool:
    """A real number (not a bool, not a string)."""
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
