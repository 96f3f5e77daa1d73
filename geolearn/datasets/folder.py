"""Any folder (or zip archive) of meshes, one sub-folder per class.

Layouts, in the order they are recognised:

1. ``<class>/train/<file>`` and ``<class>/test/<file>`` (like ModelNet): the given train/test split;
   validation is carved from train.
2. ``<class>/<...>/<file>``: every mesh under ``<class>/`` (at any depth) is of that class; a seeded,
   class-stratified split gives ``test_fraction`` to test and ``val_fraction`` of the rest to val.
3. Mesh files directly in the folder and no class sub-folders: one class named after the folder.

A zip archive whose members all sit in one top-level folder is read as that folder. Mesh files are
the formats :func:`geolearn.load_mesh` reads (``.off .obj .ply .stl .glb .gltf``); other files are
ignored.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from pathlib import Path

from geolearn.datasets.base import FileShapeDataset, ShapeItem, Transform
from geolearn.datasets.files import FileTree, ZipTree, open_tree
from geolearn.datasets.registry import register_dataset
from geolearn.datasets.representations import Representation
from geolearn.datasets.splits import carve_validation, split_by_fractions
from geolearn.errors import DatasetError

__all__ = ["MESH_EXTENSIONS", "MeshFolder", "mesh_members"]

logger = logging.getLogger(__name__)

MESH_EXTENSIONS = (".off", ".obj", ".ply", ".stl", ".glb", ".gltf")


def mesh_members(tree: FileTree) -> tuple[str, list[str]]:
    """``(prefix, names)``: the mesh files of ``tree`` relative to ``prefix`` (the single top-level
    folder of a zip archive, else ``""``)."""
    names = [n for n in tree.names() if n.lower().endswith(MESH_EXTENSIONS)]
    prefix = ""
    if isinstance(tree, ZipTree) and names:
        tops = {n.split("/", 1)[0] for n in names}
        if len(tops) == 1 and all("/" in n for n in names):
            prefix = next(iter(tops)) + "/"
    return prefix, [n[len(prefix) :] for n in names]


@register_dataset("folder")
class MeshFolder(FileShapeDataset):
    """A classification dataset from a folder (or zip) of mesh files; see the module docstring.

    Args:
        root: the folder or ``.zip``.
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        representations: see :mod:`geolearn.datasets.representations`.
        val_fraction: share of each class's training meshes used for validation.
        test_fraction: share of each class used for test when the folder has no ``train/``/``test/``.
        seed: seeds the splits and the augmentation.
        max_shapes: keep the first N shapes of the split, round-robin over classes.
        cache_dir, cache, normalization, transform: see :class:`~geolearn.datasets.base.ShapeDataset`.
    """

    kind = "folder"

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        representations: Iterable[Representation] = (),
        *,
        val_fraction: float = 0.1,
        test_fraction: float = 0.2,
        seed: int = 0,
        max_shapes: int | None = None,
        cache_dir: str | os.PathLike[str] | None = None,
        cache: bool = True,
        normalization: str = "unit_sphere",
        transform: Transform | None = None,
        task: str = "classify",
    ) -> None:
        if task != "classify":
            raise DatasetError(
                f"{root}: a folder of meshes has no per-face labels; only task='classify' is possible"
            )
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
        prefix, names = mesh_members(self.tree)
        self.name = Path(root).stem
        if not names:
            raise DatasetError(f"{root}: no mesh files ({' '.join(MESH_EXTENSIONS)}) found")
        self.val_fraction = float(val_fraction)
        self.test_fraction = float(test_fraction)
        nested = [n for n in names if "/" in n]
        top = [n for n in names if "/" not in n]
        official = [n for n in nested if len(p := n.split("/")) == 3 and p[1].lower() in ("train", "test")]
        if nested and top:
            logger.warning(
                "%s: ignoring %d mesh files outside the class folders (e.g. %s)", root, len(top), top[0]
            )
        if official:
            self.layout = "class/train|test"
            if len(official) != len(nested):
                logger.warning(
                    "%s: ignoring %d mesh files not in <class>/train or <class>/test",
                    root,
                    len(nested) - len(official),
                )
            classes = sorted({n.split("/")[0] for n in official})
        elif nested:
            self.layout = "class"
            classes = sorted({n.split("/")[0] for n in nested})
        else:
            self.layout = "flat"
            classes = [Path(root).stem or "shapes"]
        self.class_names = tuple(classes)
        index = {c: i for i, c in enumerate(classes)}

        def item(name: str, cls: str) -> ShapeItem:
            return ShapeItem(self.tree.display(prefix + name), index[cls], (prefix + name, None))

        if official:
            train = [item(n, n.split("/")[0]) for n in official if n.split("/")[1].lower() == "train"]
            test = [item(n, n.split("/")[0]) for n in official if n.split("/")[1].lower() == "test"]
            carved = carve_validation([it.class_index for it in train], self.val_fraction, self.seed)
            parts = {
                "train": [train[i] for i in carved.train],
                "val": [train[i] for i in carved.val],
                "test": test,
            }
            parts["all"] = train + test
        else:
            everything = (
                [item(n, n.split("/")[0]) for n in nested] if nested else [item(n, classes[0]) for n in top]
            )
            s = split_by_fractions(
                [it.class_index for it in everything], self.val_fraction, self.test_fraction, self.seed
            )
            parts = {k: [everything[i] for i in getattr(s, k)] for k in ("train", "val", "test")}
            parts["all"] = everything
        self._set_items(self._first(parts[split], max_shapes))
