"""The embedded default dataset: part-labelled shapes generated in code (no download).

Wraps :mod:`geolearn.datasets.synthetic`. Shape ``i`` of class ``c`` in split ``s`` is
``make_shape(c, shape_seed(seed, s, c, i))``, where :func:`shape_seed` packs its arguments into
disjoint bit fields, so train, val and test never share a shape and every shape is reproducible
from its ``source`` (``embedded:<class>/<shape seed>``).

For segmentation the part labels of one class are its sorted part names; with several classes the
label space is their union namespaced ``"<class>/<part>"`` (classes in sorted order, each class's
parts contiguous), as for the labeled PSB.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from geolearn.datasets import synthetic
from geolearn.datasets.base import ShapeDataset, ShapeItem, Transform
from geolearn.datasets.cache import content_digest
from geolearn.datasets.registry import register_dataset
from geolearn.datasets.representations import Representation
from geolearn.errors import OptionError
from geolearn.mesh import Mesh

__all__ = ["DEFAULT_NUM_PER_CLASS", "EmbeddedShapes", "shape_seed"]

#: Shapes per class and split when ``num_per_class`` is not given: 8 classes × (40 + 10 + 20) = 560
#: shapes, enough for every encoder to learn the classes in a few CPU minutes.
DEFAULT_NUM_PER_CLASS = {"train": 40, "val": 10, "test": 20}
_SPLIT_CODE = {"train": 0, "val": 1, "test": 2}
_INDEX_BITS = 24  # up to 16.7 M shapes per class and split
_CLASS_BITS = 8  # up to 256 classes


def shape_seed(seed: int, split: str, class_name: str, index: int) -> int:
    """The generator seed of shape ``index`` of ``class_name`` in ``split`` of dataset ``seed``.

    ``((seed * 3 + split code) << 32) | (class index << 24) | index`` with split codes train 0,
    val 1, test 2 and the class's index in :data:`~geolearn.datasets.synthetic.SYNTHETIC_CLASSES`:
    distinct for every distinct argument tuple (so splits are disjoint by construction).
    """
    if split not in _SPLIT_CODE:
        raise OptionError(f"split must be train, val or test, got {split!r}")
    if not 0 <= index < 1 << _INDEX_BITS:
        raise OptionError(f"shape index must be in [0, {1 << _INDEX_BITS}), got {index}")
    cls = synthetic.SYNTHETIC_CLASSES.index(class_name)
    return ((int(seed) * 3 + _SPLIT_CODE[split]) << 32) | (cls << _INDEX_BITS) | int(index)


def _code_digest() -> str:
    """sha256 of the generator's source code: a changed generator never reuses cached shapes."""
    import trimesh

    path = Path(synthetic.__file__)
    return hashlib.sha256(path.read_bytes() + f"|trimesh={trimesh.__version__}".encode()).hexdigest()


@register_dataset("embedded")
class EmbeddedShapes(ShapeDataset):
    """The embedded default dataset (see the module docstring).

    Args:
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"`` (the three together).
        representations: see :mod:`geolearn.datasets.representations`.
        num_per_class: shapes per class in each split: an int, a ``{split: int}`` dict, or ``None``
            for :data:`DEFAULT_NUM_PER_CLASS`.
        task: ``"classify"`` (``label`` = class) or ``"segment"`` (per-face part labels).
        classes: a subset of :data:`~geolearn.datasets.synthetic.SYNTHETIC_CLASSES` (default all).
        seed: the dataset seed (which shapes are generated) and the augmentation seed.
        target_faces: face budget per shape passed to the generator (``None``: its default,
            :data:`~geolearn.datasets.synthetic.DEFAULT_TARGET_FACES`).
        max_shapes: keep the first N shapes, round-robin over classes.
        cache_dir, cache, normalization, transform: see :class:`~geolearn.datasets.base.ShapeDataset`.
    """

    kind = "embedded"

    def __init__(
        self,
        split: str = "train",
        representations: Iterable[Representation] = (),
        *,
        num_per_class: int | dict[str, int] | None = None,
        task: str = "classify",
        classes: Sequence[str] | None = None,
        seed: int = 0,
        target_faces: int | None = None,
        max_shapes: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        cache: bool = True,
        normalization: str = "unit_sphere",
        transform: Transform | None = None,
    ) -> None:
        super().__init__(
            split=split,
            task=task,
            representations=representations,
            cache_dir=cache_dir,
            cache=cache,
            normalization=normalization,
            transform=transform,
            seed=seed,
        )
        if target_faces is not None and (
            isinstance(target_faces, bool) or not isinstance(target_faces, (int, np.integer))
        ):
            raise OptionError(f"target_faces must be an int or None, got {target_faces!r}")
        self.target_faces = None if target_faces is None else int(target_faces)
        self.name = "embedded"
        if classes is None:
            classes = synthetic.SYNTHETIC_CLASSES
        elif isinstance(classes, str):
            classes = [classes]
        unknown = [c for c in classes if c not in synthetic.SYNTHETIC_CLASSES]
        if unknown or not classes:
            raise OptionError(
                f"unknown embedded class {', '.join(map(repr, unknown)) or '(none given)'}; "
                f"classes: {', '.join(synthetic.SYNTHETIC_CLASSES)}"
            )
        self.class_names = tuple(sorted(set(classes)))
        self.num_per_class = self._counts(num_per_class)
        splits = ("train", "val", "test") if split == "all" else (split,)
        items = []
        for s in splits:
            for ci, cls in enumerate(self.class_names):
                for i in range(self.num_per_class[s]):
                    sd = shape_seed(self.seed, s, cls, i)
                    items.append(ShapeItem(f"embedded:{cls}/{sd}", ci, (cls, sd)))
        items = self._first(items, max_shapes)
        self._label_offset: dict[str, int] = {}
        if task == "segment":
            names: list[str] = []
            for cls in self.class_names:
                self._label_offset[cls] = len(names)
                parts = synthetic.part_names(cls)
                names.extend(parts if len(self.class_names) == 1 else (f"{cls}/{p}" for p in parts))
            self.label_names = tuple(names)
        self._code = _code_digest()
        self._set_items(items)

    @staticmethod
    def _counts(num_per_class: int | dict[str, int] | None) -> dict[str, int]:
        counts = dict(DEFAULT_NUM_PER_CLASS)
        if isinstance(num_per_class, dict):
            bad = set(num_per_class) - set(counts)
            if bad:
                raise OptionError(f"num_per_class keys must be train/val/test, got {sorted(bad)}")
            counts.update(num_per_class)
        elif num_per_class is not None:
            counts = dict.fromkeys(counts, num_per_class)
        for k, v in counts.items():
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
                raise OptionError(f"num_per_class[{k!r}] must be a non-negative int, got {v!r}")
        return {k: int(v) for k, v in counts.items()}

    def _read_raw(self, item: ShapeItem) -> tuple[str, int]:
        return item.ref  # (class, shape seed): the shape is generated in _to_mesh

    def _digest(self, item: ShapeItem, raw: Any) -> str:
        cls, sd = raw
        return content_digest(f"embedded|{cls}|{sd}|{self.target_faces}|{self._code}".encode())

    def _to_mesh(self, item: ShapeItem, raw: Any) -> Mesh:
        cls, sd = raw
        kwargs = {} if self.target_faces is None else {"target_faces": self.target_faces}
        mesh = synthetic.make_shape(cls, sd, **kwargs)
        if self.task != "segment":
            return mesh.replace(face_labels=None, label_names=None)
        assert mesh.face_labels is not None
        return mesh.replace(
            face_labels=mesh.face_labels + self._label_offset[cls], label_names=self.label_names
        )
