"""Meshes and slow reference implementations shared by the descriptor tests and the benchmark."""

from __future__ import annotations

import itertools
import math
import random
import statistics
from pathlib import Path

import numpy as np
import trimesh

import geolearn
from geolearn.geometry.raycast import RayCaster
from geolearn.mesh import Mesh

SPHERE_RADIUS = 1.7


def sphere(subdivisions: int = 4, radius: float = SPHERE_RADIUS) -> Mesh:
    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return Mesh(s.vertices, s.faces, source=f"icosphere({subdivisions}, r={radius})")


def plate(size: float = 1.0, thickness: float = 0.05, subdivisions: int = 3) -> Mesh:
    b = trimesh.creation.box((size, size, thickness))
    for _ in range(subdivisions):
        b = b.subdivide()
    return Mesh(b.vertices, b.faces, source=f"plate({size}x{size}x{thickness})")


def random_rigid(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A random rotation matrix (3, 3) and translation (3,)."""
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] *= -1
    return q, rng.normal(size=3) * 5.0


def labeleddb(labeleddb_zip: Path, name: str) -> Mesh:
    return geolearn.load_mesh(labeleddb_zip / f"LabeledDB/{name}.off")


# -- slow, obvious references --------------------------------------------------------------------------
def slow_shape_samples(mesh: Mesh, kind: str, n: int, seed: int) -> np.ndarray:
    """``n`` values of the shape function ``kind`` from independent random points, one at a time."""
    rnd = random.Random(seed)
    tri = mesh.triangles.tolist()
    areas = mesh.face_areas.tolist()
    cum = list(itertools.accumulate(areas))
    total = sum(areas)
    centroid = [
        sum(a * sum(t[v][i] for v in range(3)) / 3 for a, t in zip(areas, tri, strict=True)) / total
        for i in range(3)
    ]
    k = {"d1": 1, "d2": 2, "a3": 3, "d3": 3, "d4": 4}[kind]

    def point() -> list[float]:
        t = rnd.choices(tri, cum_weights=cum)[0]  # a face, with probability ∝ area
        r1, r2 = math.sqrt(rnd.random()), rnd.random()
        return [(1 - r1) * t[0][i] + r1 * (1 - r2) * t[1][i] + r1 * r2 * t[2][i] for i in range(3)]

    def sub(a: list[float], b: list[float]) -> list[float]:
        return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]

    def cross(a: list[float], b: list[float]) -> list[float]:
        return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]

    def norm(a: list[float]) -> float:
        return math.sqrt(a[0] ** 2 + a[1] ** 2 + a[2] ** 2)

    out = []
    for _ in range(n):
        p = [point() for _ in range(k)]
        if kind == "d1":
            out.append(norm(sub(p[0], centroid)))
        elif kind == "d2":
            out.append(norm(sub(p[0], p[1])))
        elif kind == "a3":  # angle at the middle point
            u, v = sub(p[0], p[1]), sub(p[2], p[1])
            cos = sum(x * y for x, y in zip(u, v, strict=True)) / (norm(u) * norm(v))
            out.append(math.acos(max(-1.0, min(1.0, cos))))
        elif kind == "d3":
            out.append(math.sqrt(0.5 * norm(cross(sub(p[1], p[0]), sub(p[2], p[0])))))
        else:
            c = cross(sub(p[1], p[0]), sub(p[2], p[0]))
            volume = abs(sum(x * y for x, y in zip(c, sub(p[3], p[0]), strict=True))) / 6.0
            out.append(volume ** (1.0 / 3.0))
    return np.asarray(out)


def robust_mean_reference(lengths: list[float], thetas: list[float]) -> float:
    """The paper's average, written plainly: lengths within one std of the median (relative slack
    10⁻⁵, as in geolearn: float32 lengths make n = 2 an equality up to rounding), weights 1/θ."""
    med = statistics.median(lengths)
    sd = statistics.pstdev(lengths)
    slack = 1e-5
    kept = [
        (x, 1.0 / t)
        for x, t in zip(lengths, thetas, strict=True)
        if abs(x - med) <= sd * (1 + slack) + slack * abs(med)
    ]
    return sum(x * w for x, w in kept) / sum(w for _, w in kept)


def grid_cone(rings: int, azimuths: int, cone_angle: float) -> tuple[np.ndarray, np.ndarray]:
    """A regular grid over the cap (axis +z): ``rings`` bands of equal solid angle (ray at each band's
    middle), ``azimuths`` rays per band, alternate bands offset by half a step. Returns
    ``(directions (R, 3), theta (R,))``."""
    cos_half = math.cos(math.radians(cone_angle) / 2)
    dirs, thetas = [], []
    for i in range(rings):
        c = 1 - (i + 0.5) / rings * (1 - cos_half)
        s = math.sqrt(1 - c * c)
        for j in range(azimuths):
            phi = 2 * math.pi * (j + 0.5 * (i % 2)) / azimuths
            dirs.append((s * math.cos(phi), s * math.sin(phi), c))
            thetas.append(math.acos(c))
    return np.asarray(dirs), np.asarray(thetas)


def slow_sdf(
    mesh: Mesh, faces: np.ndarray, rings: int = 16, azimuths: int = 16, cone_angle: float = 120.0
) -> np.ndarray:
    """SDF of the given faces, one face at a time, with ``rings × azimuths`` rays on a regular grid."""
    caster = RayCaster(mesh)
    normals, centroids = mesh.face_normals, mesh.face_centroids
    diag = float(np.linalg.norm(mesh.vertices.max(0) - mesh.vertices.min(0)))
    local, theta = grid_cone(rings, azimuths, cone_angle)
    out = []
    for f in faces:
        axis = -normals[f]
        helper = np.array([0.0, 0.0, 1.0]) if abs(axis[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
        t1 = np.cross(axis, helper)
        t1 /= np.linalg.norm(t1)
        t2 = np.cross(axis, t1)
        dirs = local[:, :1] * t1 + local[:, 1:2] * t2 + local[:, 2:] * axis
        eps = 1e-5 * diag
        hits = caster.cast(np.repeat((centroids[f] + eps * axis)[None], len(dirs), axis=0), dirs)
        lengths, thetas = [], []
        for i in range(len(dirs)):
            if hits.face[i] >= 0 and float(hits.normal[i] @ dirs[i]) > 0:  # the inside of a surface
                lengths.append(float(hits.t[i]) + eps / math.cos(theta[i]))
                thetas.append(float(theta[i]))
        out.append(robust_mean_reference(lengths, thetas) if lengths else math.nan)
    return np.asarray(out)
