"""The dataset registry: every dataset class under a short name, created by one factory.

``create_dataset("modelnet", root=..., split="test")`` builds a registered class by name;
:func:`geolearn.datasets.open_dataset` picks the name from a path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from geolearn.errors import OptionError

__all__ = ["DATASETS", "create_dataset", "register_dataset"]

T = TypeVar("T")

#: name → dataset class. Filled by :func:`register_dataset` when the dataset modules are imported.
DATASETS: dict[str, Any] = {}


def register_dataset(name: str) -> Callable[[T], T]:
    """Class decorator registering a dataset class under ``name``; a duplicate name raises."""

    def wrap(cls: T) -> T:
        if name in DATASETS:
            raise OptionError(f"dataset name {name!r} is already registered to {DATASETS[name].__name__}")
        DATASETS[name] = cls
        return cls

    return wrap


def create_dataset(name: str, **kwargs: Any) -> Any:
    """Build the dataset registered as ``name`` with ``kwargs`` (its constructor's arguments).

    Raises:
        OptionError: unknown name (the message lists the registered ones).
    """
    import geolearn.datasets  # noqa: F401  (registers the built-in datasets)

    if name not in DATASETS:
        raise OptionError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    return DATASETS[name](**kwargs)
