"""Parsing mesh files into :class:`~geolearn.mesh.Mesh`.

OFF is parsed here (it is the format of ModelNet and the Princeton benchmark, with quirks trimesh does
not handle); PLY, STL, OBJ and glTF/GLB go through trimesh with ``process=False`` so nothing is merged
or repaired behind your back. Before any parsing, headers that declare more elements than the file
could possibly hold are rejected, so a corrupt header claiming 10^12 vertices fails at once instead of
trying to allocate terabytes.
"""

from __future__ import annotations

import io
import re
import struct

import numpy as np

from geolearn.errors import EmptyMeshError, MeshParseError, TriangulationError, UnsupportedFormatError
from geolearn.mesh import Mesh, check_usable

__all__ = ["SUPPORTED_FORMATS", "parse_mesh"]

#: File extensions geolearn reads (lower case, without the dot).
SUPPORTED_FORMATS = ("off", "obj", "ply", "stl", "glb", "gltf")

# Smallest possible size in bytes of one element in a text file: "0 0 0\n" and "3 0 1 2\n".
_MIN_TEXT_VERTEX_BYTES = 6
_MIN_TEXT_FACE_BYTES = 8


def parse_mesh(data: bytes, fmt: str, source: str, *, max_faces: int | None = 20_000_000) -> Mesh:
    """Parse the bytes of a mesh file.

    Args:
        data: the whole file content.
        fmt: format name, the file extension without the dot (``"off"``, ``"ply"``, ...).
        source: name used in error messages and stored in ``Mesh.source``.
        max_faces: refuse meshes with more faces than this (a clear error instead of exhausting
            memory); ``None`` for no limit.

    Returns:
        A usable :class:`Mesh`: non-empty, finite coordinates, face indices in range. Other problems
        (holes, bad winding, degenerate faces) are only reported in ``mesh.report``.

    Raises:
        UnsupportedFormatError, MeshParseError, EmptyMeshError, NonFiniteError, FaceIndexError,
        TriangulationError: each names ``source`` and the problem.
    """
    fmt = fmt.lower().lstrip(".")
    if fmt not in SUPPORTED_FORMATS:
        raise UnsupportedFormatError(
            source, f"unknown mesh format {fmt!r}; geolearn reads {', '.join(SUPPORTED_FORMATS)}"
        )
    if len(data) == 0:
        raise EmptyMeshError(source, "file is empty (0 bytes)")
    if fmt == "off":
        vertices, faces = _parse_off(data, source, max_faces)
    else:
        if fmt == "ply":
            _check_ply_header(data, source, max_faces)
        elif fmt == "stl":
            _check_stl(data, source, max_faces)
        vertices, faces = _parse_with_trimesh(data, fmt, source)
    if max_faces is not None and len(faces) > max_faces:
        raise MeshParseError(source, f"{len(faces)} faces exceed max_faces={max_faces}")
    mesh = Mesh(vertices, faces, source=source)
    check_usable(mesh)
    return mesh


# ---------------------------------------------------------------------------------------------- OFF
_OFF_MAGIC = re.compile(rb"^\s*(ST)?(C)?(N)?(4)?OFF")


def _off_lines(data: bytes) -> list[bytes]:
    """Non-empty lines with comments removed."""
    out = []
    for line in data.split(b"\n"):
        hash_at = line.find(b"#")
        if hash_at >= 0:
            line = line[:hash_at]
        line = line.strip()
        if line:
            out.append(line)
    return out


def _parse_off(data: bytes, source: str, max_faces: int | None) -> tuple[np.ndarray, np.ndarray]:
    # Only split the header first, so a lying header fails before the body is touched.
    head = data[:4096]
    m = _OFF_MAGIC.match(head)
    if m is None:
        first = head.split(b"\n", 1)[0][:40].decode("latin-1", "replace")
        raise MeshParseError(source, f"not an OFF file: first line is {first!r}, expected 'OFF'")
    if m.group(4):
        raise MeshParseError(source, "4OFF (4D vertices) is not supported")
    lines = _off_lines(data)
    # The ModelNet quirk: "OFF9278 6940 0" — counts glued to the magic on the first line.
    rest = lines[0][m.end() - m.start() :].strip() if lines else b""
    body_start = 1
    if rest:
        counts_line = rest
    else:
        if len(lines) < 2:
            raise MeshParseError(source, "truncated: no vertex/face counts after the OFF header")
        counts_line = lines[1]
        body_start = 2
    try:
        counts = [int(tok) for tok in counts_line.split()[:3]]
        nv, nf = counts[0], counts[1]
    except (ValueError, IndexError):
        raise MeshParseError(
            source, f"bad OFF counts line {counts_line[:60].decode('latin-1', 'replace')!r}"
        ) from None
    if nv < 0 or nf < 0:
        raise MeshParseError(source, f"negative counts in OFF header ({nv} vertices, {nf} faces)")
    if nv == 0 or nf == 0:
        raise EmptyMeshError(source, f"empty mesh ({nv} vertices, {nf} faces in the OFF header)")
    if nv * _MIN_TEXT_VERTEX_BYTES + nf * _MIN_TEXT_FACE_BYTES > len(data):
        raise MeshParseError(
            source,
            f"header declares {nv} vertices and {nf} faces, more than a {len(data)}-byte file can hold "
            "(truncated file or corrupt header)",
        )
    if max_faces is not None and nf > max_faces:
        raise MeshParseError(source, f"header declares {nf} faces, more than max_faces={max_faces}")
    body = lines[body_start:]
    if len(body) < nv + nf:
        raise MeshParseError(
            source,
            f"truncated: header declares {nv} vertices and {nf} faces but the file has only "
            f"{len(body)} data lines",
        )
    vertices = _parse_off_vertices(body[:nv], source, body_start)
    faces = _parse_off_faces(body[nv : nv + nf], source, body_start + nv)
    return vertices, faces


def _parse_off_vertices(lines: list[bytes], source: str, line0: int) -> np.ndarray:
    nv = len(lines)
    try:
        flat = np.array(b" ".join(lines).split(), dtype=np.float64)
    except ValueError:
        flat = None
    if flat is not None and flat.size == 3 * nv:
        return flat.reshape(nv, 3)
    # slow path: extra columns (colours, normals) or a garbled line somewhere
    out = np.empty((nv, 3), dtype=np.float64)
    for i, line in enumerate(lines):
        toks = line.split()
        try:
            if len(toks) < 3:
                raise ValueError
            out[i] = [float(t) for t in toks[:3]]
        except ValueError:
            raise MeshParseError(
                source,
                f"garbled vertex {i} (data line {line0 + i + 1}): {line[:60].decode('latin-1', 'replace')!r}",
            ) from None
    return out


def _parse_off_faces(lines: list[bytes], source: str, line0: int) -> np.ndarray:
    nf = len(lines)
    try:
        flat = np.array(b" ".join(lines).split(), dtype=np.int64)
    except ValueError:
        flat = None
    if flat is not None and flat.size == 4 * nf:
        table = flat.reshape(nf, 4)
        if np.all(table[:, 0] == 3):
            return table[:, 1:].copy()
    # slow path: polygons (fan-triangulated), colours after the indices, or garbage
    tris: list[list[int]] = []
    for i, line in enumerate(lines):
        toks = line.split()
        try:
            n = int(toks[0])
            idx = [int(t) for t in toks[1 : 1 + n]]
        except (ValueError, IndexError):
            raise MeshParseError(
                source,
                f"garbled face {i} (data line {line0 + i + 1}): {line[:60].decode('latin-1', 'replace')!r}",
            ) from None
        if len(idx) != n:
            raise MeshParseError(source, f"face {i} declares {n} vertices but lists {len(idx)}")
        if n < 3:
            raise TriangulationError(
                source, f"face {i} has {n} vertices; a face needs at least 3 to be triangulated"
            )
        # fan triangulation: exact for convex polygons, which is what OFF polygons are in practice
        tris.extend([idx[0], idx[k], idx[k + 1]] for k in range(1, n - 1))
    return np.asarray(tris, dtype=np.int64).reshape(-1, 3)


# ---------------------------------------------------------------------- header checks (fail fast)
_PLY_SIZES = {
    "char": 1, "uchar": 1, "int8": 1, "uint8": 1, "short": 2, "ushort": 2, "int16": 2, "uint16": 2,
    "int": 4, "uint": 4, "int32": 4, "uint32": 4, "float": 4, "float32": 4, "double": 8, "float64": 8,
}  # fmt: skip


def _check_ply_header(data: bytes, source: str, max_faces: int | None) -> None:
    end = data.find(b"end_header")
    if not data.startswith(b"ply") or end < 0:
        raise MeshParseError(source, "not a PLY file (missing 'ply' magic or 'end_header')")
    header = data[:end].decode("latin-1", "replace").splitlines()
    binary = any(line.startswith("format binary") for line in header)
    total_min = 0
    current: tuple[str, int] | None = None
    stride = 0
    elements: dict[str, int] = {}

    def close() -> None:
        nonlocal total_min
        if current is not None:
            name, count = current
            per = stride if binary else (_MIN_TEXT_VERTEX_BYTES if name == "vertex" else 2)
            total_min += count * max(per, 1)

    for line in header:
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "element" and len(parts) >= 3:
            close()
            try:
                count = int(parts[2])
            except ValueError:
                raise MeshParseError(source, f"bad PLY element line {line!r}") from None
            if count < 0:
                raise MeshParseError(source, f"negative element count in PLY header: {line!r}")
            current, stride = (parts[1], count), 0
            elements[parts[1]] = count
        elif parts[0] == "property" and current is not None:
            if parts[1] == "list" and len(parts) >= 4:
                stride += _PLY_SIZES.get(parts[2], 1) + 3 * _PLY_SIZES.get(parts[3], 4)
            else:
                stride += _PLY_SIZES.get(parts[1], 1)
    close()
    if total_min > len(data):
        counts = ", ".join(f"{n} {k}" for k, n in elements.items())
        raise MeshParseError(
            source,
            f"header declares {counts}, more than a {len(data)}-byte file can hold "
            "(truncated file or corrupt header)",
        )
    if max_faces is not None and elements.get("face", 0) > max_faces:
        raise MeshParseError(
            source, f"header declares {elements['face']} faces, more than max_faces={max_faces}"
        )


def _check_stl(data: bytes, source: str, max_faces: int | None) -> None:
    if len(data) >= 84:
        (n,) = struct.unpack("<I", data[80:84])
        is_ascii = data[:5].lower() == b"solid" and b"facet" in data[:1024]
        if not is_ascii:
            expected = 84 + 50 * n
            if expected != len(data):
                raise MeshParseError(
                    source,
                    f"binary STL header declares {n} triangles ({expected} bytes) but the file has "
                    f"{len(data)} bytes (truncated file or corrupt header)",
                )
            if max_faces is not None and n > max_faces:
                raise MeshParseError(
                    source, f"header declares {n} triangles, more than max_faces={max_faces}"
                )
    elif data[:5].lower() != b"solid":
        raise MeshParseError(source, f"truncated STL: {len(data)} bytes, a binary STL needs at least 84")


# ----------------------------------------------------------------------------------- via trimesh
def _parse_with_trimesh(data: bytes, fmt: str, source: str) -> tuple[np.ndarray, np.ndarray]:
    import trimesh

    try:
        loaded = trimesh.load(io.BytesIO(data), file_type=fmt, process=False, force=None)
    except Exception as exc:  # trimesh raises many types for garbled files; all mean "cannot parse"
        raise MeshParseError(
            source, f"cannot parse {fmt.upper()} file: {type(exc).__name__}: {exc}"
        ) from None
    if isinstance(loaded, trimesh.Scene):
        geoms = [g for g in loaded.dump() if isinstance(g, trimesh.Trimesh)]
        if not geoms:
            raise EmptyMeshError(source, "the scene contains no triangle mesh")
        loaded = trimesh.util.concatenate(geoms) if len(geoms) > 1 else geoms[0]
    if not isinstance(loaded, trimesh.Trimesh):
        raise EmptyMeshError(source, f"file holds a {type(loaded).__name__}, not a triangle mesh (no faces)")
    faces = np.asarray(loaded.faces)
    if faces.size == 0:
        raise EmptyMeshError(source, f"empty mesh ({len(loaded.vertices)} vertices, 0 faces)")
    return np.asarray(loaded.vertices, dtype=np.float64), faces.astype(np.int64)
