"""The encoder registry (timm-like): encoders are registered by name and built by one factory.

Usage::

    @register_encoder(
        "pointnet", input_keys=("points",), tasks=("classify", "segment"), representation="points",
        representations=_point_representations, description="PointNet (Qi et al. 2017)",
    )
    class PointNetEncoder(Encoder): ...

    encoder = create_encoder("pointnet", local=True)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from geolearn.errors import OptionError
from geolearn.nn.contract import Batch, Encoder

__all__ = [
    "TASKS",
    "EncoderInfo",
    "create_encoder",
    "encoder_table",
    "get_encoder_info",
    "list_encoders",
    "register_encoder",
]

TASKS: tuple[str, ...] = ("classify", "segment")
# what a segmentation encoder reads on top of its own input: points and their faces (CONTRACT.md)
SEGMENT_KEYS: tuple[str, ...] = ("points", "point_face")


@dataclass(frozen=True)
class EncoderInfo:
    """Metadata of a registered encoder.

    Attributes:
        name: registry name.
        builder: the class (or function) called with the encoder kwargs; accepts ``local: bool``.
        input_keys: batch keys read for classification (global features).
        segment_keys: extra batch keys read when built with ``local=True``.
        tasks: the tasks it supports (subset of :data:`TASKS`).
        representation: short name of the representation it consumes (e.g. ``"voxels"``).
        representations: ``(task="classify", **kw) -> list`` of representation objects a dataset needs
            (for ``segment`` always including ``Points``).
        description: one line.
        infer_kwargs: ``batch -> dict`` of constructor arguments read off a batch's shapes
            (e.g. the descriptor length), used by ``create_model(example_batch=...)``.
    """

    name: str
    builder: Callable[..., Encoder]
    input_keys: tuple[str, ...]
    tasks: frozenset[str]
    representation: str
    representations: Callable[..., list[Any]]
    description: str
    segment_keys: tuple[str, ...] = SEGMENT_KEYS
    infer_kwargs: Callable[[Batch], dict[str, Any]] = field(default=lambda batch: {})

    def keys_for(self, task: str) -> tuple[str, ...]:
        """Every batch key the encoder reads for ``task``."""
        _check_task(task)
        extra = tuple(k for k in self.segment_keys if k not in self.input_keys) if task == "segment" else ()
        return self.input_keys + extra

    def default_representations(self, task: str = "classify", **kwargs: Any) -> list[Any]:
        """The representation objects a dataset for ``task`` needs (CONTRACT.md)."""
        _check_task(task)
        if task not in self.tasks:
            raise OptionError(
                f"encoder {self.name!r} does not support task {task!r} (only {sorted(self.tasks)})"
            )
        return self.representations(task=task, **kwargs)


_REGISTRY: dict[str, EncoderInfo] = {}


def _check_task(task: str) -> None:
    if task not in TASKS:
        raise OptionError(f"task must be one of {', '.join(TASKS)}, got {task!r}")


def register_encoder(
    name: str,
    *,
    input_keys: tuple[str, ...],
    tasks: tuple[str, ...],
    representation: str,
    representations: Callable[..., list[Any]],
    description: str,
    segment_keys: tuple[str, ...] = SEGMENT_KEYS,
    infer_kwargs: Callable[[Batch], dict[str, Any]] | None = None,
) -> Callable[[Callable[..., Encoder]], Callable[..., Encoder]]:
    """Class decorator adding an encoder to the registry; a name registered twice raises ``OptionError``."""
    for task in tasks:
        _check_task(task)

    def decorator(builder: Callable[..., Encoder]) -> Callable[..., Encoder]:
        if name in _REGISTRY:
            raise OptionError(f"encoder {name!r} is already registered (by {_REGISTRY[name].builder!r})")
        _REGISTRY[name] = EncoderInfo(
            name=name,
            builder=builder,
            input_keys=tuple(input_keys),
            tasks=frozenset(tasks),
            representation=representation,
            representations=representations,
            description=description,
            segment_keys=tuple(segment_keys),
            infer_kwargs=infer_kwargs or (lambda batch: {}),
        )
        return builder

    return decorator


def _ensure_builtin() -> None:
    import geolearn.nn.encoders  # noqa: F401  (registers the built-in encoders on import)


def list_encoders(task: str | None = None) -> list[str]:
    """Sorted names of the registered encoders (those supporting ``task`` when given)."""
    _ensure_builtin()
    if task is not None:
        _check_task(task)
    return sorted(n for n, info in _REGISTRY.items() if task is None or task in info.tasks)


def get_encoder_info(name: str) -> EncoderInfo:
    """The :class:`EncoderInfo` of ``name``; ``OptionError`` listing the known names otherwise."""
    _ensure_builtin()
    if name not in _REGISTRY:
        raise OptionError(f"encoder {name!r} is unknown; registered: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name]


def create_encoder(name: str, *, local: bool = False, **kwargs: Any) -> Encoder:
    """Build the encoder ``name``; ``local=True`` asks for per-point local features (segmentation)."""
    info = get_encoder_info(name)
    if local and "segment" not in info.tasks:
        raise OptionError(f"encoder {name!r} has no local features, so it cannot segment")
    accepted = inspect.signature(info.builder).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(kwargs) - set(accepted))
        if unknown:
            options = ", ".join(k for k in accepted if k != "local")
            raise OptionError(f"encoder {name!r} has no option {', '.join(unknown)}; it takes: {options}")
    return info.builder(local=local, **kwargs)


def encoder_table() -> list[Mapping[str, Any]]:
    """One row per encoder: name, representation, tasks, input keys, description (for the CLI)."""
    return [
        {
            "name": info.name,
            "representation": info.representation,
            "tasks": sorted(info.tasks),
            "input_keys": list(info.input_keys),
            "description": info.description,
        }
        for info in (get_encoder_info(n) for n in list_encoders())
    ]
