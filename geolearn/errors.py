"""The exceptions geolearn raises at its public boundary.

Every error that comes from bad input names the file (or option) at fault and the problem, so the
command line can print it as one line. Catch :class:`GeolearnError` to handle all of them.
"""

from __future__ import annotations

__all__ = [
    "CacheError",
    "DatasetError",
    "EmptyMeshError",
    "FaceIndexError",
    "GeolearnError",
    "MeshError",
    "MeshFileNotFoundError",
    "MeshParseError",
    "NonFiniteError",
    "OptionError",
    "TriangulationError",
    "UnsupportedFormatError",
]


class GeolearnError(Exception):
    """Base class of every error geolearn raises for bad input or options."""


class OptionError(GeolearnError, ValueError):
    """An argument or command-line option has a value geolearn cannot use."""


class MeshError(GeolearnError):
    """A mesh could not be read or is not usable; ``source`` names the file."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = str(source)
        self.problem = problem
        super().__init__(f"{self.source}: {problem}")


class MeshFileNotFoundError(MeshError, FileNotFoundError):
    """The mesh file (or the archive member) does not exist."""


class UnsupportedFormatError(MeshError):
    """The file extension is not a mesh format geolearn reads."""


class MeshParseError(MeshError):
    """The file is truncated, garbled, or its header contradicts its content."""


class EmptyMeshError(MeshError):
    """The mesh has no vertices or no faces."""


class NonFiniteError(MeshError):
    """Vertex coordinates contain NaN or infinity."""


class FaceIndexError(MeshError):
    """A face refers to a vertex index that does not exist."""


class TriangulationError(MeshError):
    """A face has fewer than three vertices, so it cannot be made into triangles."""


class DatasetError(GeolearnError):
    """A dataset path, layout, split or label file is not what geolearn expects."""


class CacheError(GeolearnError):
    """A cache directory cannot be used (not writable, or not a geolearn cache)."""
