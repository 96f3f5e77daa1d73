"""Writing results: meshes as PLY files with a colour (and a label) per face.

:func:`write_ply` writes a triangle mesh as PLY (binary little-endian by default, ASCII on request)
with optional per-face ``red green blue`` (uchar) and ``label`` (int) properties, which MeshLab,
Blender, trimesh and open3d show as a part-coloured mesh. :func:`write_segmentation_ply` colours
each face by its part label with :func:`geolearn.viz.plots.part_palette` and lists the label
names in the header comments (``comment label <i> <name>``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from geolearn.errors import OptionError
from geolearn.mesh import Mesh

__all__ = ["write_ply", "write_segmentation_ply"]


def _colors_u8(face_colors: Any, num_faces: int) -> np.ndarray:
    c = np.asarray(face_colors)
    if c.shape != (num_faces, 3):
        raise OptionError(f"face_colors must have shape ({num_faces}, 3), got {c.shape}")
    if c.dtype == np.uint8:
        return c
    if np.issubdtype(c.dtype, np.floating):
        if not np.isfinite(c).all() or c.min() < 0.0 or c.max() > 1.0:
            raise OptionError("float face_colors must be finite and in [0, 1]")
        return np.round(c * 255.0).astype(np.uint8)
    raise OptionError(f"face_colors must be float in [0, 1] or uint8, got {c.dtype}")


def write_ply(
    mesh: Mesh,
    path: str | os.PathLike[str],
    *,
    face_colors: Any = None,
    face_labels: Any = None,
    comments: Sequence[str] = (),
    ascii: bool = False,
) -> Path:
    """Write ``mesh`` as a PLY file.

    Args:
        mesh: the mesh; vertices are written as 32-bit floats, faces as 3 int32 indices.
        path: the file to write (``.ply``); parent directories are created; written atomically.
        face_colors: ``(F, 3)`` RGB per face, float in ``[0, 1]`` or uint8 (optional).
        face_labels: ``(F,)`` integer label per face, written as the face property ``label`` (optional).
        comments: header comment lines (no newlines).
        ascii: write ``format ascii 1.0`` instead of binary little-endian.

    Returns:
        the path written.
    """
    path = Path(path)
    if path.suffix.lower() != ".ply":
        raise OptionError(f"{path}: write_ply writes .ply files")
    v = np.asarray(mesh.vertices, dtype=np.float32)  # (V, 3)
    f = np.asarray(mesh.faces)
    if f.size and (f.min() < 0 or f.max() >= len(v) or f.max() >= 2**31):
        raise OptionError(f"{mesh.source}: face indices out of range for {len(v)} vertices")
    nf = len(f)
    colors = None if face_colors is None else _colors_u8(face_colors, nf)
    labels = None
    if face_labels is not None:
        labels = np.asarray(face_labels)
        if labels.shape != (nf,) or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
            raise OptionError(f"face_labels must be ({nf},) integers, got {labels.shape} {labels.dtype}")
        if labels.size and (labels.min() < -(2**31) or labels.max() >= 2**31):
            raise OptionError("face_labels do not fit in 32-bit ints")
    for c in comments:
        if "\n" in c or "\r" in c:
            raise OptionError("PLY comments must be single lines")

    header = ["ply", "format ascii 1.0" if ascii else "format binary_little_endian 1.0"]
    header += [f"comment {c}" for c in comments]
    header += [f"element vertex {len(v)}", "property float x", "property float y", "property float z"]
    header += [f"element face {nf}", "property list uchar int vertex_indices"]
    face_fields: list[tuple[str, Any]] = [("n", "u1"), ("idx", "<i4", (3,))]
    if colors is not None:
        header += ["property uchar red", "property uchar green", "property uchar blue"]
        face_fields += [("rgb", "u1", (3,))]
    if labels is not None:
        header += ["property int label"]
        face_fields += [("label", "<i4")]
    header.append("end_header")
    faces = np.zeros(nf, dtype=face_fields)
    faces["n"] = 3
    faces["idx"] = f
    if colors is not None:
        faces["rgb"] = colors
    if labels is not None:
        faces["label"] = labels

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as out:
            out.write(("\n".join(header) + "\n").encode("ascii", errors="replace"))
            if ascii:
                np.savetxt(out, v, fmt="%.9g")
                columns = [np.full((nf, 1), 3), f]
                if colors is not None:
                    columns.append(colors.astype(np.int64))
                if labels is not None:
                    columns.append(labels.astype(np.int64)[:, None])
                if nf:
                    np.savetxt(out, np.concatenate(columns, axis=1), fmt="%d")
            else:
                out.write(v.astype("<f4").tobytes())
                out.write(faces.tobytes())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_segmentation_ply(
    mesh: Mesh,
    face_labels: Any,
    names: Sequence[str],
    path: str | os.PathLike[str],
    *,
    ascii: bool = False,
) -> Path:
    """Write ``mesh`` coloured by part: face ``i`` gets ``part_palette(len(names))[face_labels[i]]``
    and the property ``label``; the header lists ``comment label <i> <name>`` for every name.

    Shapes: ``face_labels (F,)`` integers in ``[0, len(names))``.
    """
    from geolearn.viz.plots import part_palette

    labels = np.asarray(face_labels)
    if labels.shape != (len(mesh.faces),) or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
        raise OptionError(f"face_labels must be ({len(mesh.faces)},) integers, got {labels.shape}")
    if not names:
        raise OptionError("write_segmentation_ply: no label names")
    if labels.size and (labels.min() < 0 or labels.max() >= len(names)):
        raise OptionError(f"face_labels must be in [0, {len(names)})")
    palette = part_palette(len(names))
    comments = ["written by geolearn: faces coloured by part label"]
    comments += [f"label {i} {' '.join(str(n).split())}" for i, n in enumerate(names)]
    return write_ply(
        mesh, path, face_colors=palette[labels], face_labels=labels, comments=comments, ascii=ascii
    )
