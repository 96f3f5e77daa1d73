"""geolearn: learning on 3D shapes.

The entry points most users need::

    import geolearn
    mesh = geolearn.load_mesh("chair.off")          # Mesh with a validation report
    mesh.report.problems()
"""

from __future__ import annotations

__version__ = "0.1.0"

from geolearn.errors import GeolearnError
from geolearn.io import load_mesh, parse_mesh
from geolearn.mesh import Mesh, ValidationReport, normalize, repair, validate

__all__ = [
    "GeolearnError",
    "Mesh",
    "ValidationReport",
    "__version__",
    "load_mesh",
    "normalize",
    "parse_mesh",
    "repair",
    "validate",
]
