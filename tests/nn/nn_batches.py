"""Synthetic shape batches in the CONTRACT.md layout, for the encoder tests and benchmarks.

Each shape is an ellipsoid whose axes depend on its class, covered by F "faces" (surface patches
given by their centroid, normal and area), with N surface points that each know their face.
Segmentation parts are the upper and lower halves (``z > 0``). Every representation is derived from
this geometry, so labels are learnable from any of them:

- ``voxels``: solid occupancy of the ellipsoid on an R³ grid over [-1, 1]³ (index ↔ x, y, z);
- ``views``: V orthographic ring cameras around z (image row ↔ z, top row = +z), a z-buffered splat of
  the points and face centroids: depth and shading channels, ``view_face`` = local face id or -1;
- ``descriptor``: a D2-like histogram of point distances (a few entries scaled ×100 so
  that standardisation matters);
- ``face_features``: centroid, normal, log-area per face (same ×100 scaling of one column);
- ``spectral`` (``spectral_*`` keys, for diffusionnet): a basis of low-degree polynomials of the points,
  orthogonalised so that ``basis.T @ basis = N I`` (as the area-weighted eigenbasis read at area-uniform
  points), sphere-like eigenvalues, seeded random gradients, and a positive "signature" that depends on
  the point's position (on a real surface it is intrinsic; here it must make the halves learnable).

Samples are collated with the project's :func:`geolearn.datasets.collate.collate_shapes`, so the
per-face tensors are packed with ``face_ptr``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from geolearn.datasets.collate import collate_shapes

AXES = np.array([[1.0, 0.45, 0.6], [0.45, 1.0, 0.6], [0.5, 0.5, 0.95], [0.8, 0.8, 0.4]])


def _shape(rng: np.random.Generator, label: int, faces: int, points: int) -> dict[str, np.ndarray]:
    axes = AXES[label % len(AXES)] * rng.uniform(0.9, 1.0, 3)
    d = rng.normal(size=(faces, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    centroids = d * axes  # (F, 3) on the ellipsoid
    normals = d / axes
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    # every face gets at least one point when N >= F, the rest at random
    point_face = np.concatenate(
        [rng.permutation(faces)[: min(points, faces)], rng.integers(0, faces, max(0, points - faces))]
    )
    point_face = rng.permutation(point_face)
    pts = centroids[point_face] + 0.02 * rng.normal(size=(points, 3))
    return {
        "centroids": centroids.astype(np.float32),
        "normals_f": normals.astype(np.float32),
        "areas": rng.uniform(0.5, 1.5, faces).astype(np.float32) / faces,
        "point_face": point_face.astype(np.int64),
        "points": pts.astype(np.float32),
        "normals": normals[point_face].astype(np.float32),
        "axes": axes,
    }


def _voxels(axes: np.ndarray, r: int) -> np.ndarray:
    c = (np.arange(r) + 0.5) * (2.0 / r) - 1.0
    x, y, z = np.meshgrid(c, c, c, indexing="ij")
    inside = (x / axes[0]) ** 2 + (y / axes[1]) ** 2 + (z / axes[2]) ** 2 <= 1.0
    return inside[None].astype(np.float32)  # (1, R, R, R)


def _views(s: dict[str, np.ndarray], num_views: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Orthographic ring views: z-buffered splats of points and face centroids."""
    xyz = np.concatenate([s["points"], s["centroids"]])  # (N+F, 3)
    fid = np.concatenate([s["point_face"], np.arange(len(s["centroids"]))])
    nrm = np.concatenate([s["normals"], s["normals_f"]])
    views = np.zeros((num_views, 2, size, size), np.float32)
    view_face = np.full((num_views, size, size), -1, np.int64)
    for v in range(num_views):
        a = 2 * np.pi * v / num_views
        toward = np.array([np.cos(a), np.sin(a), 0.0])  # direction to the camera
        u = np.array([-np.sin(a), np.cos(a), 0.0])
        col = np.clip(((xyz @ u + 1) / 2 * size).astype(int), 0, size - 1)
        row = np.clip(((1 - xyz[:, 2]) / 2 * size).astype(int), 0, size - 1)
        depth = xyz @ toward  # larger = nearer the camera
        for i in np.argsort(depth):  # far to near: nearer splats overwrite
            views[v, 0, row[i], col[i]] = (depth[i] + 1) / 2
            views[v, 1, row[i], col[i]] = abs(nrm[i] @ toward)
            view_face[v, row[i], col[i]] = fid[i]
    return views, view_face


def _spectral(rng: np.random.Generator, points: np.ndarray, k: int = 8) -> dict[str, torch.Tensor]:
    x, y, z = points.T.astype(np.float64)
    poly = np.stack([np.ones_like(x), x, y, z, x * y, y * z, z * x, x * x - y * y], axis=1)[:, :k]
    q, _ = np.linalg.qr(poly)  # (N, k) orthonormal columns
    basis = q * np.sqrt(len(points))
    evals = 4 * np.pi * np.array([0, 2, 2, 2, 6, 6, 6, 6], dtype=np.float64)[:k]
    directions = np.array([[0.0, 0.0, 3.0], [0.0, 0.0, -3.0], [2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    hks = np.exp(points @ directions.T)  # (N, 4) positive
    grad = rng.normal(size=(len(points), k, 2))
    as_tensor = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))  # noqa: E731
    return {
        "spectral_evals": as_tensor(evals),
        "spectral_basis": as_tensor(basis),
        "spectral_grad": as_tensor(grad),
        "spectral_hks": as_tensor(hks),
    }


def synthetic_samples(
    batch_size: int = 2,
    *,
    num_classes: int = 2,
    num_points: int = 64,
    faces: tuple[int, int] = (24, 40),
    resolution: int = 16,
    num_views: int = 2,
    image_size: int = 16,
    descriptor_bins: int = 16,
    seed: int = 0,
    keys: tuple[str, ...] = ("points", "voxels", "views", "descriptor", "face_features", "spectral"),
) -> list[dict[str, Any]]:
    """``batch_size`` samples (``dict[str, Tensor | str]`` as ``Dataset.__getitem__`` returns them)."""
    rng = np.random.default_rng(seed)
    samples = []
    for b in range(batch_size):
        label = b % num_classes
        f = int(rng.integers(faces[0], faces[1] + 1))
        s = _shape(rng, label, f, num_points)
        face_labels = (s["centroids"][:, 2] > 0).astype(np.int64)
        sample: dict[str, Any] = {
            "index": torch.tensor(b),
            "source": f"embedded:ellipsoid/{b}",
            "label": torch.tensor(label),
            "face_labels": torch.from_numpy(face_labels),
            "face_areas": torch.from_numpy(s["areas"]),
            "face_centroids": torch.from_numpy(s["centroids"]),
        }
        if "points" in keys:
            sample.update(
                points=torch.from_numpy(s["points"]),
                normals=torch.from_numpy(s["normals"]),
                point_face=torch.from_numpy(s["point_face"]),
                point_labels=torch.from_numpy(face_labels[s["point_face"]]),
            )
        if "voxels" in keys:
            sample["voxels"] = torch.from_numpy(_voxels(s["axes"], resolution))
        if "views" in keys:
            views, view_face = _views(s, num_views, image_size)
            sample.update(views=torch.from_numpy(views), view_face=torch.from_numpy(view_face))
        if "descriptor" in keys:
            dist = np.linalg.norm(s["points"][:, None] - s["points"][None], axis=-1).ravel()
            hist = np.histogram(dist, bins=descriptor_bins, range=(0.0, 2.0))[0].astype(np.float32)
            hist /= hist.sum()
            hist[::4] *= 100.0  # scales differ between entries, as in concatenated descriptors
            sample["descriptor"] = torch.from_numpy(hist)
        if "face_features" in keys:
            ff = np.concatenate([s["centroids"], s["normals_f"], np.log(s["areas"])[:, None]], axis=1)
            ff[:, 6] *= 100.0
            sample["face_features"] = torch.from_numpy(ff.astype(np.float32))  # (F, 7)
        if "spectral" in keys:
            sample.update(_spectral(rng, s["points"]))
        samples.append(sample)
    return samples


def synthetic_batch(batch_size: int = 2, **kwargs: Any) -> dict[str, Any]:
    """A collated batch (CONTRACT.md layout) of :func:`synthetic_samples`."""
    return collate_shapes(synthetic_samples(batch_size, **kwargs))


# Small encoder options that keep the contract tests fast (sizes above match them).
TINY_KWARGS: dict[str, dict[str, Any]] = {
    "dgcnn": {"k": 8},
    "voxnet": {"resolution": 16},
}
