"""Spectral geometry of a surface: the Laplace–Beltrami eigenbasis, the heat kernel signature, and
the gradients of the eigenfunctions — what a DiffusionNet-style encoder (Sharp et al. 2022) reads.

Everything here is intrinsic: it does not change when the mesh is rotated, translated or (because
the surface is first scaled to unit area) uniformly scaled, so a model built on it has no frame to
get wrong.

- :func:`laplacian`: the cotangent Laplacian and lumped mass matrix, from the ``robust_laplacian``
  library (Sharp & Crane 2020: intrinsic Delaunay on a "tufted cover", so non-manifold and badly
  shaped triangles still give a positive semi-definite operator with a sensible spectrum).
- :func:`eigenbasis`: the ``k`` lowest eigenpairs ``L φ = λ M φ`` on the surface scaled to area 1,
  ``φ`` orthonormal under ``M``. Duplicated vertices (meshes split along seams) are merged first so
  the operator sees one connected surface where the geometry is connected.
- :func:`heat_kernel_signature`: Sun, Ovsjanikov & Guibas 2009, divided by the heat trace so that its
  mean over the surface is 1 at every time.
- :func:`face_gradients`: the gradient of each (piecewise linear) eigenfunction on each face, in a
  2-D frame of that face's plane.
- :func:`barycentric`: coordinates of points in their triangles (to interpolate vertex values).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import scipy.linalg
import scipy.sparse
import scipy.sparse.linalg

from geolearn.errors import EmptyMeshError, MeshError
from geolearn.mesh import Mesh

__all__ = [
    "Eigenbasis",
    "barycentric",
    "eigenbasis",
    "face_gradients",
    "heat_kernel_signature",
    "hks_times",
    "laplacian",
]

# above this many (merged) vertices the sparse shift-invert eigensolver is used; below, a dense one
_DENSE_MAX = 600
# a hard limit: the factorisation of a larger operator takes minutes and gigabytes
MAX_VERTICES = 300_000


class Eigenbasis(NamedTuple):
    """The ``k`` lowest Laplace–Beltrami eigenpairs of a mesh scaled to unit area.

    Attributes:
        evals: ``(k,) float64`` ascending, >= 0. When the mesh has fewer than ``k`` vertices the
            missing pairs are padded: eigenvalue = the largest one found, eigenvector = 0 (they add
            nothing to a projection).
        evecs: ``(V', k) float64`` on the merged vertices, ``evecs.T @ M @ evecs = I``.
        vertices: ``(V', 3) float64`` merged vertices, scaled by ``1/sqrt(area)`` (area 1).
        faces: ``(F, 3) int64`` the mesh's faces, in merged vertex indices (same order as the mesh).
        scale: the factor applied to the mesh's coordinates (``1/sqrt(area)``).
        count: how many pairs are real (``k`` unless the mesh has fewer vertices; the rest is padding).
    """

    evals: np.ndarray
    evecs: np.ndarray
    vertices: np.ndarray
    faces: np.ndarray
    scale: float
    count: int


def laplacian(
    vertices: np.ndarray, faces: np.ndarray, source: str = "<mesh>"
) -> tuple[scipy.sparse.csr_matrix, scipy.sparse.csr_matrix]:
    """The (positive semi-definite) cotangent Laplacian ``L`` and diagonal lumped mass ``M``.

    Args:
        vertices: ``(V, 3)`` float; faces: ``(F, 3)`` int, every vertex used by some face.
        source: names the mesh in errors.
    """
    import robust_laplacian

    v = np.ascontiguousarray(vertices, dtype=np.float64)
    f = np.ascontiguousarray(faces, dtype=np.int64)
    try:
        lap, mass = robust_laplacian.mesh_laplacian(v, f)
    except Exception as exc:  # the C++ extension raises RuntimeError with its own message
        raise MeshError(source, f"cannot build the Laplace-Beltrami operator ({exc})") from None
    return scipy.sparse.csr_matrix(lap), scipy.sparse.csr_matrix(mass)


def _merge_vertices(mesh: Mesh) -> tuple[np.ndarray, np.ndarray]:
    """Vertices used by a face, duplicates (same coordinates) merged: ``(V', 3)``, faces ``(F, 3)``."""
    used = np.unique(mesh.faces.reshape(-1))
    coords = mesh.vertices[used].astype(np.float64)
    unique, inverse = np.unique(coords, axis=0, return_inverse=True)
    remap = np.full(mesh.num_vertices, -1, dtype=np.int64)
    remap[used] = inverse.reshape(-1)
    return unique, remap[mesh.faces]


def eigenbasis(mesh: Mesh, k: int = 128) -> Eigenbasis:
    """The ``k`` lowest eigenpairs of the Laplace–Beltrami operator of ``mesh`` scaled to unit area.

    Raises:
        EmptyMeshError: the surface has zero area.
        MeshError: more than :data:`MAX_VERTICES` vertices, or the eigensolver failed (naming the mesh).
    """
    if k < 1:
        raise MeshError(mesh.source, f"the number of eigenpairs must be positive, got {k}")
    area = float(mesh.face_areas.sum())
    if not np.isfinite(area) or area <= 0:
        raise EmptyMeshError(mesh.source, "surface area is zero: it has no spectrum")
    vertices, faces = _merge_vertices(mesh)
    if len(vertices) > MAX_VERTICES:
        raise MeshError(
            mesh.source,
            f"{len(vertices):,} vertices: the spectral basis is limited to {MAX_VERTICES:,} "
            "(simplify the mesh first, e.g. with trimesh's simplify_quadric_decimation)",
        )
    scale = 1.0 / np.sqrt(area)
    vertices = vertices * scale
    lap, mass = laplacian(vertices, faces, mesh.source)
    n = lap.shape[0]
    if n <= _DENSE_MAX or k >= n - 1:
        evals, evecs = scipy.linalg.eigh(lap.toarray(), mass.toarray())
        evals, evecs = evals[:k], evecs[:, :k]
    else:
        # shift-invert about 0: fast for the low end of the spectrum; the tiny shift keeps the
        # factorisation non-singular (L has a null space: the constants of each component)
        eps = 1e-8
        try:
            evals, evecs = scipy.sparse.linalg.eigsh(lap + eps * mass, k=k, M=mass, sigma=0.0)
        except (scipy.sparse.linalg.ArpackError, RuntimeError) as exc:
            raise MeshError(mesh.source, f"the Laplacian eigensolver failed ({exc})") from None
        evals = evals - eps
    order = np.argsort(evals)
    evals, evecs = np.clip(evals[order], 0.0, None), evecs[:, order]
    if not (np.isfinite(evals).all() and np.isfinite(evecs).all()):
        raise MeshError(mesh.source, "the Laplacian eigenbasis is not finite (degenerate triangles?)")
    count = int(evals.shape[0])
    if count < k:  # a small mesh: pad with pairs that add nothing to a projection
        pad = k - count
        evals = np.concatenate([evals, np.full(pad, evals[-1])])
        evecs = np.concatenate([evecs, np.zeros((n, pad))], axis=1)
    return Eigenbasis(evals, evecs, vertices, faces, float(scale), count)


def hks_times(evals: np.ndarray, count: int = 16) -> np.ndarray:
    """``count`` log-spaced times from ``4 ln 10 / λ_max`` to ``4 ln 10 / λ_min`` (Sun et al. 2009),
    ``λ_min`` the smallest eigenvalue above 1e-6 (the zeros are the constants of each component)."""
    positive = evals[evals > 1e-6]
    if positive.size == 0:
        return np.logspace(-2, 0, count)
    lo, hi = 4 * np.log(10) / positive.max(), 4 * np.log(10) / positive.min()
    return np.geomspace(lo, max(hi, lo * 1.0001), count)


def heat_kernel_signature(evals: np.ndarray, evecs: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``hks[i, j] = Σ_k exp(-λ_k t_j) φ_k(i)² / Σ_k exp(-λ_k t_j)``: ``(V, T)`` float64.

    ``evecs`` ``(V, k)`` (any rows: vertices, or values interpolated at points); ``evals`` ``(k,)``.
    """
    decay = np.exp(-np.outer(evals, times))  # (k, T)
    return (evecs**2) @ decay / decay.sum(axis=0, keepdims=True)


def face_gradients(vertices: np.ndarray, faces: np.ndarray, values: np.ndarray) -> np.ndarray:
    """The gradient of piecewise-linear vertex functions on each face, in the face's own frame.

    Args:
        vertices: ``(V, 3)``; faces: ``(F, 3)``; values: ``(V, K)`` K functions.

    Returns:
        ``(F, K, 2)``: components along ``e1 = (b - a)/|b - a|`` and ``e2 = n × e1`` (``n`` the unit
        normal of face ``(a, b, c)``). Degenerate faces get 0.
    """
    a, b, c = (vertices[faces[:, i]] for i in range(3))
    cross = np.cross(b - a, c - a)  # (F, 3), |cross| = 2 area
    double_area = np.linalg.norm(cross, axis=1)
    ok = double_area > 1e-14 * max(1.0, float(np.abs(vertices).max()) ** 2)
    safe = np.where(ok, double_area, 1.0)
    n = cross / safe[:, None]
    # gradient of the barycentric hat of each corner: n × (opposite edge) / (2 area)
    grads = [np.cross(n, c - b), np.cross(n, a - c), np.cross(n, b - a)]  # each (F, 3)
    e1 = (b - a) / np.maximum(np.linalg.norm(b - a, axis=1), 1e-300)[:, None]
    e2 = np.cross(n, e1)
    out = np.zeros((faces.shape[0], values.shape[1], 2))
    for corner, g in enumerate(grads):
        gi = np.stack([(g * e1).sum(1), (g * e2).sum(1)], axis=1) / safe[:, None]  # (F, 2)
        out += values[faces[:, corner]][:, :, None] * gi[:, None, :]
    out[~ok] = 0.0
    return out


def barycentric(triangles: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Barycentric coordinates ``(N, 3)`` of ``points (N, 3)`` in ``triangles (N, 3, 3)`` (the point's
    projection on the triangle's plane; clipped to the triangle and renormalised; a degenerate triangle
    gives (1/3, 1/3, 1/3))."""
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    v0, v1, v2 = b - a, c - a, points - a
    d00, d01, d11 = (v0 * v0).sum(1), (v0 * v1).sum(1), (v1 * v1).sum(1)
    d20, d21 = (v2 * v0).sum(1), (v2 * v1).sum(1)
    den = d00 * d11 - d01 * d01
    ok = den > 1e-14 * np.maximum(d00 * d11, 1e-300)
    den = np.where(ok, den, 1.0)
    w1 = (d11 * d20 - d01 * d21) / den
    w2 = (d00 * d21 - d01 * d20) / den
    w = np.clip(np.stack([1.0 - w1 - w2, w1, w2], axis=1), 0.0, None)
    w = w / np.maximum(w.sum(1, keepdims=True), 1e-300)
    w[~ok] = 1.0 / 3.0
    return w
