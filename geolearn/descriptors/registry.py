"""The registry of descriptors: one name → one function returning one fixed result type.

``register_descriptor`` adds an entry (a duplicate name is an error); ``get_descriptor`` looks one
up (an unknown name is an error listing the known ones); ``compute_descriptor(name, mesh, **kw)``
calls it. Built in:

=================  ============================================  ==========================================
name               function                                      returns
=================  ============================================  ==========================================
``d1`` … ``d4``,   :func:`~geolearn.descriptors.d1` …            :class:`~geolearn.descriptors.ShapeHistogram`
``a3``             (shape distributions)
``sdf``            :func:`~geolearn.descriptors.shape_diameter_function`  :class:`~geolearn.descriptors.SDFResult`
``face_features``  :func:`~geolearn.descriptors.features`   :class:`~geolearn.descriptors.FaceFeatureResult`
=================  ============================================  ==========================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geolearn.errors import OptionError
from geolearn.mesh import Mesh

__all__ = [
    "DescriptorSpec",
    "compute_descriptor",
    "get_descriptor",
    "list_descriptors",
    "register_descriptor",
]


@dataclass(frozen=True)
class DescriptorSpec:
    """A registered descriptor.

    Attributes:
        name: registry name.
        function: ``function(mesh, **kwargs) -> result``.
        result_type: the class every call returns.
        per_face: True when the result is per face (else one global histogram per mesh).
        summary: one line for help texts.
    """

    name: str
    function: Callable[..., Any]
    result_type: type
    per_face: bool
    summary: str


_REGISTRY: dict[str, DescriptorSpec] = {}


def register_descriptor(
    name: str, function: Callable[..., Any], result_type: type, *, per_face: bool = False, summary: str = ""
) -> DescriptorSpec:
    """Register ``function`` under ``name``.

    Raises:
        OptionError: ``name`` is already registered.
    """
    if not isinstance(name, str) or not name:
        raise OptionError(f"descriptor name must be a non-empty string, got {name!r}")
    if name in _REGISTRY:
        raise OptionError(f"descriptor {name!r} is already registered")
    spec = DescriptorSpec(name, function, result_type, per_face, summary)
    _REGISTRY[name] = spec
    return spec


def get_descriptor(name: str) -> DescriptorSpec:
    """The descriptor registered as ``name``.

    Raises:
        OptionError: unknown name (the message lists the registered ones).
    """
    try:
        return _REGISTRY[name]
    except KeyError:
        raise OptionError(
            f"unknown descriptor {name!r}; choose one of {', '.join(list_descriptors())}"
        ) from None


def list_descriptors() -> list[str]:
    """Registered names, in registration order."""
    return list(_REGISTRY)


def compute_descriptor(name: str, mesh: Mesh, **kwargs: Any) -> Any:
    """``get_descriptor(name).function(mesh, **kwargs)``; the result is of the spec's ``result_type``."""
    return get_descriptor(name).function(mesh, **kwargs)
