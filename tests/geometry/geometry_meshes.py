"""Test meshes and data helpers shared by the geometry tests."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import trimesh

import geolearn
from geolearn.mesh import Mesh, normalize


def sphere(radius: float = 0.7, subdivisions: int = 4) -> Mesh:
    """Closed, outward-wound icosphere (vertices on the sphere, faces slightly inside)."""
    s = trimesh.creation.icosphere(subdivisions=subdivisions, radius=radius)
    return Mesh(s.vertices, s.faces, source=f"icosphere(r={radius})")


def box(half: float = 0.53, center: tuple[float, float, float] = (0.0, 0.0, 0.0)) -> Mesh:
    """Closed, outward-wound axis-aligned cube of half-side ``half`` (12 triangles)."""
    b = trimesh.creation.box(extents=(2 * half,) * 3)
    return Mesh(np.asarray(b.vertices) + np.asarray(center), b.faces, source=f"box({half})")


def modelnet_mesh(zip_path: Path, member: str) -> Mesh:
    """A ModelNet10 mesh read from the official zip, normalised to the unit sphere."""
    with zipfile.ZipFile(zip_path) as zf:
        data = zf.read(member)
    return normalize(geolearn.parse_mesh(data, "off", f"{zip_path}/{member}"), "unit_sphere")


def write_off(mesh: Mesh, path: Path) -> Path:
    """Write ``mesh`` as an ASCII OFF file."""
    lines = ["OFF", f"{mesh.num_vertices} {mesh.num_faces} 0"]
    lines += [f"{x!r} {y!r} {z!r}" for x, y, z in mesh.vertices.tolist()]
    lines += [f"3 {a} {b} {c}" for a, b, c in mesh.faces.tolist()]
    path.write_text("\n".join(lines) + "\n")
    return path
