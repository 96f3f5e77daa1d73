"""Princeton ModelNet (ModelNet10, ModelNet40): classification of CAD meshes.

Reads the official layout ``ModelNet10/<class>/{train,test}/<class>_<id>.off`` straight from the
official ``.zip`` (nothing extracted) or from an extracted folder; ModelNet40 has the same layout.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from geolearn.datasets.base import FileShapeDataset, ShapeItem, Transform
from geolearn.datasets.files import FileTree, open_tree
from geolearn.datasets.registry import register_dataset
from geolearn.datasets.representations import Representation
from geolearn.datasets.splits import carve_validation
from geolearn.errors import DatasetError

__all__ = ["ModelNet", "find_modelnet_layout"]

_MEMBER = re.compile(
    r"^(?P<prefix>(?:[^/]+/)*?)(?P<cls>[^/]+)/(?P<split>train|test)/(?P<file>[^/]+\.off)$", re.I
)


def find_modelnet_layout(tree: FileTree) -> tuple[str, dict[str, list[tuple[str, str]]]] | None:
    """Find ``<prefix><class>/{train,test}/*.off`` in ``tree``.

    Returns:
        ``(prefix, {"train": [(class, member)], "test": [...]})`` with members sorted, or ``None``
        when no member matches. When several prefixes match, the one with most files wins.
    """
    by_prefix: dict[str, dict[str, list[tuple[str, str]]]] = {}
    for name in tree.names():
        m = _MEMBER.match(name)
        if m is None:
            continue
        splits = by_prefix.setdefault(m["prefix"], {"train": [], "test": []})
        splits[m["split"].lower()].append((m["cls"], name))
    if not by_prefix:
        return None
    prefix = max(by_prefix, key=lambda p: sum(len(v) for v in by_prefix[p].values()))
    return prefix, {k: sorted(v) for k, v in by_prefix[prefix].items()}


@register_dataset("modelnet")
class ModelNet(FileShapeDataset):
    """ModelNet10 / ModelNet40 for classification.

    Classes are the sorted class folder names (from both splits). ``train``/``test`` are the
    official splits; ``val`` is a seeded, class-stratified ``val_fraction`` of the official train
    split, and ``train`` is the rest (disjoint). ``"all"`` is train + val + test.

    Args:
        root: the ``ModelNet10.zip`` / ``ModelNet40.zip`` archive, the extracted ``ModelNet10``
            folder, or a folder containing it.
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        representations: see :mod:`geolearn.datasets.representations`.
        val_fraction: share of each class of the official train split used for validation.
        seed: seeds the validation split and the augmentation.
        max_shapes: keep only the first N shapes of the split, taken round-robin over classes
            (every class's first shape, then every class's second, ...) so quick trials see
            every class.
        cache_dir, cache, normalization, transform: see :class:`~geolearn.datasets.base.ShapeDataset`.

    Samples carry ``label`` (class index) plus the representation arrays.
    """

    kind = "modelnet"

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        representations: Iterable[Representation] = (),
        *,
        val_fraction: float = 0.1,
        seed: int = 0,
        max_shapes: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        cache: bool = True,
        normalization: str = "unit_sphere",
        transform: Transform | None = None,
        task: str = "classify",
    ) -> None:
        if task != "classify":
            raise DatasetError(f"{root}: ModelNet has no per-face labels; only task='classify' is possible")
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
        self.tree = open_tree(root)
        layout = find_modelnet_layout(self.tree)
        if layout is None:
            raise DatasetError(
                f"{root}: not a ModelNet dataset (no files like <class>/train/<name>.off or <class>/test/<name>.off)"
            )
        prefix, members = layout
        self.name = prefix.rstrip("/").split("/")[-1] if prefix else Path(root).stem
        self.val_fraction = float(val_fraction)
        self.class_names = tuple(sorted({c for v in members.values() for c, _ in v}))
        index = {c: i for i, c in enumerate(self.class_names)}

        def items(split_name: str) -> list[ShapeItem]:
            return [ShapeItem(self.tree.display(m), index[c], (m, None)) for c, m in members[split_name]]

        train, test = items("train"), items("test")
        carved = carve_validation([it.class_index for it in train], self.val_fraction, self.seed)
        chosen = {
            "train": [train[i] for i in carved.train],
            "val": [train[i] for i in carved.val],
            "test": test,
            "all": train + test,
        }[split]
        self._set_items(self._first(chosen, max_shapes))
