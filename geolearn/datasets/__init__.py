"""Datasets of shapes, their representations, the on-disk cache and batching.

Datasets (plain ``torch.utils.data.Dataset`` s, registered by name, see :func:`create_dataset`):

- :class:`ModelNet` (``"modelnet"``): ModelNet10/40 from the official zip or folder;
- :class:`LabeledPSB` (``"psb"``): the labeled Princeton Segmentation Benchmark;
- :class:`MeshFolder` (``"folder"``): any folder (or zip) of meshes, one sub-folder per class;
- :class:`EmbeddedShapes` (``"embedded"``): the default, shapes generated in code.

:func:`open_dataset` picks the class from a path. Samples, batches and representations follow
``CONTRACT.md``; see :mod:`geolearn.datasets.base` and :mod:`geolearn.datasets.collate`.

Example::

    from geolearn.datasets import open_dataset, Points, preprocess, collate_shapes
    ds = open_dataset("ModelNet10.zip", split="train", representations=[Points(1024)])
    preprocess(ds, workers=4)           # fill the cache, drop unusable meshes
    loader = torch.utils.data.DataLoader(ds, batch_size=32, collate_fn=collate_shapes)
"""

from __future__ import annotations

import os
from typing import Any

from geolearn.datasets.base import SPLITS, TASKS, Failure, ShapeDataset, ShapeItem
from geolearn.datasets.cache import ShapeCache, default_cache_dir
from geolearn.datasets.collate import collate_shapes, move_batch
from geolearn.datasets.embedded import EmbeddedShapes
from geolearn.datasets.files import open_tree
from geolearn.datasets.folder import MeshFolder
from geolearn.datasets.modelnet import ModelNet, find_modelnet_layout
from geolearn.datasets.preprocess import MeshCheck, PreprocessReport, check_meshes, preprocess
from geolearn.datasets.psb import LabeledPSB
from geolearn.datasets.registry import DATASETS, create_dataset, register_dataset
from geolearn.datasets.representations import FaceLabels, Points, Representation, Views, Voxels
from geolearn.datasets.splits import carve_validation, split_by_fractions
from geolearn.datasets.transforms import (
    Compose,
    RandomJitter,
    RandomRotation,
    RandomScale,
    RandomSymmetry,
    build_augmentation,
    create_transform,
)

__all__ = [
    "DATASETS",
    "SPLITS",
    "TASKS",
    "Compose",
    "EmbeddedShapes",
    "FaceLabels",
    "Failure",
    "LabeledPSB",
    "MeshCheck",
    "MeshFolder",
    "ModelNet",
    "Points",
    "PreprocessReport",
    "RandomJitter",
    "RandomRotation",
    "RandomScale",
    "RandomSymmetry",
    "Representation",
    "ShapeCache",
    "ShapeDataset",
    "ShapeItem",
    "Views",
    "Voxels",
    "build_augmentation",
    "carve_validation",
    "check_meshes",
    "collate_shapes",
    "create_dataset",
    "create_transform",
    "default_cache_dir",
    "default_task",
    "detect_kind",
    "move_batch",
    "open_dataset",
    "preprocess",
    "register_dataset",
    "split_by_fractions",
]


def detect_kind(path: str | os.PathLike[str] | None) -> str:
    """The registry name of the dataset at ``path``.

    - ``None`` → ``"embedded"``;
    - an archive or folder with PSB label files (``<Category>/<id>_labels.txt``) → ``"psb"``;
    - one with the ModelNet layout (``<class>/train|test/*.off``) → ``"modelnet"``;
    - any other folder or zip of meshes → ``"folder"``.

    Raises:
        DatasetError: ``path`` does not exist or is neither a folder nor a zip archive.
    """
    if path is None:
        return "embedded"
    tree = open_tree(path)
    names = tree.names()
    if any(n.endswith("_labels.txt") for n in names):
        return "psb"
    if find_modelnet_layout(tree) is not None:
        return "modelnet"
    return "folder"


def default_task(kind: str) -> str:
    """``"segment"`` for datasets with per-face labels by default (the PSB), else ``"classify"``."""
    return "segment" if kind == "psb" else "classify"


def open_dataset(
    path: str | os.PathLike[str] | None = None,
    *,
    task: str | None = None,
    split: str = "train",
    **kwargs: Any,
) -> ShapeDataset:
    """Open the dataset at ``path`` with the class :func:`detect_kind` picks.

    Args:
        path: a ``ModelNet*.zip`` or ModelNet folder, ``LabeledDB.zip`` or its folder, any other
            folder (or zip) of meshes, or ``None`` for the embedded default.
        task: ``"classify"``, ``"segment"``, or ``None`` for the dataset's default
            (:func:`default_task`).
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        kwargs: the dataset class's other arguments (``representations``, ``cache_dir``,
            ``max_shapes``, ``seed``, ``transform``, ...).

    Raises:
        DatasetError: unknown path, or a task the dataset cannot do (segmentation without labels).
    """
    kind = detect_kind(path)
    task = default_task(kind) if task is None else task
    cls = DATASETS[kind]
    if kind == "embedded":
        return cls(split=split, task=task, **kwargs)
    return cls(path, split=split, task=task, **kwargs)
