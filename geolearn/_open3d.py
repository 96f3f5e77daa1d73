"""Import open3d reliably.

open3d 0.20 links against ``libusb-1.0.so.0``, which a fresh Linux machine often lacks; the
``libusb-package`` wheel ships that library, and loading it first lets ``import open3d`` succeed
without a system package. Imported lazily: only ray casting needs open3d.
"""

from __future__ import annotations

import ctypes
import functools
from types import ModuleType

from geolearn.errors import GeolearnError


@functools.cache
def open3d() -> ModuleType:
    """The ``open3d`` module, with ``libusb`` preloaded from ``libusb-package`` when available."""
    try:
        import libusb_package

        path = libusb_package.get_library_path()
        if path is not None:
            ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    except (ImportError, OSError):  # a system libusb may still be there
        pass
    try:
        import open3d as o3d
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise GeolearnError(
            f"open3d is needed for ray casting but cannot be imported ({exc}); "
            "install it with `pip install open3d-cpu libusb-package` (or open3d)"
        ) from exc
    return o3d
