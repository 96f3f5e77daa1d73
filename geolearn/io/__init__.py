"""Reading meshes from files and from inside ``.zip`` archives.

A path may point *into* an archive, as if the archive were a folder::

    load_mesh("ModelNet10.zip/ModelNet10/chair/train/chair_0001.off")

which is how the official dataset archives are read without extracting them.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

from geolearn.errors import MeshFileNotFoundError, MeshParseError, OptionError, UnsupportedFormatError
from geolearn.io.readers import SUPPORTED_FORMATS, parse_mesh
from geolearn.mesh import Mesh
from geolearn.mesh import normalize as _normalize
from geolearn.mesh import repair as _repair

__all__ = ["SUPPORTED_FORMATS", "load_mesh", "parse_mesh", "read_bytes", "split_archive_path"]


def split_archive_path(path: str | os.PathLike[str]) -> tuple[Path, str | None]:
    """Split ``a/b.zip/c/d.off`` into ``(Path("a/b.zip"), "c/d.off")``.

    A path that does not go through a ``.zip`` file returns ``(path, None)``.
    """
    p = Path(path)
    if p.exists():
        return p, None
    parts = p.parts
    for i in range(1, len(parts)):
        head = Path(*parts[:i])
        if head.suffix.lower() == ".zip" and head.is_file():
            return head, "/".join(parts[i:])
    return p, None


def read_bytes(path: str | os.PathLike[str]) -> bytes:
    """The bytes of a file, or of a member of a zip archive (``archive.zip/member``)."""
    archive, member = split_archive_path(path)
    if member is None:
        if not archive.exists():
            raise MeshFileNotFoundError(str(path), "no such file")
        if archive.is_dir():
            raise MeshFileNotFoundError(str(path), "is a directory, not a mesh file")
        if archive.suffix.lower() == ".zip":
            raise UnsupportedFormatError(
                str(path), "is a zip archive: name a mesh inside it, e.g. archive.zip/folder/mesh.off"
            )
        return archive.read_bytes()
    try:
        with zipfile.ZipFile(archive) as zf:
            try:
                return zf.read(member)
            except KeyError:
                raise MeshFileNotFoundError(str(path), f"no member {member!r} in {archive}") from None
    except zipfile.BadZipFile as exc:
        raise MeshParseError(str(archive), f"not a readable zip archive ({exc})") from None


def load_mesh(
    path: str | os.PathLike[str],
    *,
    repair: bool | dict[str, Any] = False,
    normalize: str | None = None,
    max_faces: int | None = 20_000_000,
) -> Mesh:
    """Read a triangle mesh from a file (OFF, OBJ, PLY, STL, glTF/GLB), or from inside a ``.zip``.

    Nothing is repaired or normalised unless asked; the validation report (``mesh.report``) says what
    is wrong with the mesh as stored.

    Args:
        path: the file, or ``archive.zip/member/path.off`` for a member of a zip archive.
        repair: ``True`` to apply :func:`geolearn.mesh.repair` with its defaults (merge vertices,
            drop degenerate and duplicate faces, drop unreferenced vertices, fix winding), or a dict
            of its keyword arguments.
        normalize: ``None`` (keep coordinates), ``"unit_sphere"``, ``"unit_cube"`` or ``"pca"``
            (see :func:`geolearn.mesh.normalize`); applied after the repair.
        max_faces: refuse larger meshes with a clear error (``None``: no limit).

    Returns:
        :class:`~geolearn.mesh.Mesh` with ``vertices (V,3) float64`` and ``faces (F,3) int64``;
        ``source`` is ``str(path)``. Polygons are fan-triangulated.

    Raises:
        geolearn.errors.MeshError (a subclass naming the file and the problem) for a missing file,
        unknown format, truncated or garbled content, empty mesh, NaN/inf coordinates, face indices
        out of range, or faces that cannot be triangulated.
    """
    source = str(path)
    suffix = Path(source).suffix.lower().lstrip(".")
    if suffix not in SUPPORTED_FORMATS:
        if suffix == "zip":
            read_bytes(path)  # raises the "name a member" error
        raise UnsupportedFormatError(
            source,
            f"unknown mesh format {suffix or '(no extension)'!r}; geolearn reads "
            + ", ".join(f".{f}" for f in SUPPORTED_FORMATS),
        )
    mesh = parse_mesh(read_bytes(path), suffix, source, max_faces=max_faces)
    if repair:
        kwargs = repair if isinstance(repair, dict) else {}
        try:
            mesh = _repair(mesh, **kwargs)
        except TypeError as exc:
            raise OptionError(f"repair: {exc}") from None
    if normalize is not None:
        mesh = _normalize(mesh, normalize)
    return mesh
