"""Tiny meshes written as OFF files and tiny dataset layouts, for the dataset tests."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import trimesh

from geolearn.mesh import Mesh


def off_bytes(vertices: np.ndarray, faces: np.ndarray) -> bytes:
    lines = ["OFF", f"{len(vertices)} {len(faces)} 0"]
    lines += [" ".join(f"{x:.9g}" for x in v) for v in vertices]
    lines += ["3 " + " ".join(str(int(i)) for i in f) for f in faces]
    return ("\n".join(lines) + "\n").encode()


def primitive(kind: str, k: int = 0) -> Mesh:
    """A small closed mesh: ``box`` (12 faces), ``sphere`` (80 faces), ``cylinder`` (2*8*... faces);
    ``k`` varies its proportions so files of one class differ."""
    s = 1.0 + 0.1 * k
    if kind == "box":
        m = trimesh.creation.box(extents=(1.0, s, 0.5 * s))
    elif kind == "sphere":
        m = trimesh.creation.icosphere(subdivisions=1, radius=s)
    elif kind == "cylinder":
        m = trimesh.creation.cylinder(radius=0.5, height=s, sections=8)
    else:
        raise ValueError(kind)
    return Mesh(np.asarray(m.vertices), np.asarray(m.faces), source=f"{kind}{k}")


def write_mesh(path: Path, mesh: Mesh) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(off_bytes(mesh.vertices, mesh.faces))
    return path


def make_class_folder(root: Path, classes=("box", "sphere", "cylinder"), per_class: int = 5) -> Path:
    """``root/<class>/<class>_<k>.off``."""
    for c in classes:
        for k in range(per_class):
            write_mesh(root / c / f"{c}_{k:02d}.off", primitive(c, k))
    return root


def make_modelnet_folder(root: Path, name: str = "ModelNetTiny", train: int = 6, test: int = 2) -> Path:
    """``root/<name>/<class>/{train,test}/<class>_<id>.off`` for 3 classes."""
    for c in ("box", "cylinder", "sphere"):
        for k in range(train + test):
            part = "train" if k < train else "test"
            write_mesh(root / name / c / part / f"{c}_{k + 1:04d}.off", primitive(c, k))
    return root / name


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, p.relative_to(folder.parent).as_posix())
    return archive
