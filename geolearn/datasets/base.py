"""The common base of geolearn's datasets: items, cached representations, samples.

A :class:`ShapeDataset` is a plain ``torch.utils.data.Dataset`` of shapes. Item ``i`` is read, its
content hashed, and the arrays of the dataset's representations are taken from the on-disk cache
(:mod:`geolearn.datasets.cache`) or computed from the mesh normalised to the unit sphere and
stored. ``__getitem__`` returns a *sample* (``dict[str, torch.Tensor | str]``, see
``CONTRACT.md``):

- always ``index`` (0-d int64, the position in this dataset), ``source`` (str) and ``label``
  (0-d int64 class index; for segmentation datasets the category of the shape);
- segmentation datasets (``task="segment"``): ``face_labels (F,) int64``, ``face_areas (F,) float32``,
  ``face_centroids (F, 3) float32`` and, when ``points`` are present, ``point_labels (N,) int64``
  (``= face_labels[point_face]``);
- every array of the representations, as tensors (e.g. ``points (N, 3) float32``).

Augmentation: ``transform(sample, generator) -> sample`` runs on every access with a
``torch.Generator`` seeded from ``(seed, epoch, index)``; call :meth:`ShapeDataset.set_epoch` at the
start of each epoch to draw new augmentations (the same epoch and index always give the same
sample, whatever the number of ``DataLoader`` workers). Transforms must not modify their input
(see :mod:`geolearn.datasets.transforms`).

Subclasses fill ``self._items`` (one :class:`ShapeItem` per shape), ``class_names`` and, for
segmentation, ``label_names``, and implement :meth:`ShapeDataset._read_raw`,
:meth:`ShapeDataset._digest` and :meth:`ShapeDataset._to_mesh`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from geolearn.datasets.cache import ShapeCache, content_digest, make_recipe
from geolearn.datasets.files import FileTree
from geolearn.datasets.representations import FaceLabels, Representation, check_representations
from geolearn.errors import EmptyMeshError, MeshError, OptionError
from geolearn.mesh import Mesh, normalize

__all__ = [
    "SPLITS",
    "TASKS",
    "Failure",
    "FileShapeDataset",
    "ShapeDataset",
    "ShapeItem",
    "Transform",
    "category_part_mask",
    "interleaved_first",
]

TASKS = ("classify", "segment")
SPLITS = ("train", "val", "test", "all")
NORMALIZATIONS = ("unit_sphere", "unit_cube", "pca", "none")

#: ``transform(sample, generator) -> new sample``; draws all randomness from ``generator``.
Transform = Callable[[dict[str, Any], torch.Generator], dict[str, Any]]


@dataclass(frozen=True)
class ShapeItem:
    """One shape of a dataset.

    Attributes:
        source: where it comes from (``archive.zip/member``, a file path, ``embedded:<class>/<seed>``).
        class_index: index into the dataset's ``class_names``.
        ref: how the subclass finds the shape (member names, a generator seed, ...); picklable.
    """

    source: str
    class_index: int
    ref: tuple[Any, ...]


@dataclass(frozen=True)
class Failure:
    """A shape that could not be used, and why (a one-line reason)."""

    source: str
    reason: str


def interleaved_first(labels: Sequence[int], n: int) -> np.ndarray:
    """The first ``n`` items taken round-robin over classes: every class's first item (in class
    order), then every class's second item, and so on — so a small subset still holds every class.

    Returns:
        ``(min(n, N),)`` int64 indices into ``labels``, sorted ascending.
    """
    labels = np.asarray(labels, dtype=np.int64)
    if len(labels) == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.searchsorted(sorted_labels, sorted_labels, side="left")
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels)) - starts  # position of each item within its class
    pick = np.lexsort((labels, rank))[:n]  # by rank, then class
    return np.sort(pick).astype(np.int64)


def category_part_mask(label_names: Sequence[str], categories: Sequence[str]) -> np.ndarray:
    """``(len(categories), len(label_names))`` bool: which labels belong to which category.

    Labels of a segmentation dataset over several categories are namespaced ``"<Category>/<part>"``
    (the labeled PSB, the embedded shapes); with a single category every label is its own.

    Raises:
        OptionError: a category has no label namespaced with its name.
    """
    mask = np.zeros((len(categories), len(label_names)), dtype=bool)
    if len(categories) == 1:
        mask[0] = True
        return mask
    for c, cat in enumerate(categories):
        mask[c] = [str(name).startswith(f"{cat}/") for name in label_names]
    empty = [categories[c] for c in np.flatnonzero(~mask.any(axis=1))]
    if empty:
        raise OptionError(
            f"no label is namespaced for categories {empty}; labels look like {list(label_names[:3])}"
        )
    return mask


class ShapeDataset(torch.utils.data.Dataset):
    """Base class of geolearn's shape datasets (see the module docstring).

    Args:
        split: ``"train"``, ``"val"`` (carved from train), ``"test"`` or ``"all"``.
        task: ``"classify"`` or ``"segment"``; ``"segment"`` adds :class:`FaceLabels`.
        representations: representation objects whose arrays each sample carries.
        cache_dir: cache root; ``None`` → ``$GEOLEARN_CACHE`` or ``~/.cache/geolearn``.
        cache: ``False`` to compute the representations on every access (nothing written).
        normalization: applied before the representations (``"unit_sphere"``, the contract's
            choice, ``"unit_cube"``, ``"pca"`` (principal axes onto x, y, z, then ``"unit_sphere"``) or
            ``"none"``); part of the cache key.
        transform: random augmentation ``transform(sample, generator) -> sample``, or ``None``.
        seed: seeds the validation split and the augmentation generators.
    """

    kind: ClassVar[str] = "shapes"

    def __init__(
        self,
        *,
        split: str = "train",
        task: str = "classify",
        representations: Iterable[Representation] = (),
        cache_dir: str | os.PathLike[str] | None = None,
        cache: bool = True,
        normalization: str = "unit_sphere",
        transform: Transform | None = None,
        seed: int = 0,
    ) -> None:
        if split not in SPLITS:
            raise OptionError(f"split must be one of {', '.join(SPLITS)}, got {split!r}")
        if task not in TASKS:
            raise OptionError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        if normalization not in NORMALIZATIONS:
            raise OptionError(
                f"normalization must be one of {', '.join(NORMALIZATIONS)}, got {normalization!r}"
            )
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise OptionError(f"seed must be a non-negative int, got {seed!r}")
        if transform is not None and not callable(transform):
            raise OptionError(f"transform must be callable(sample, generator), got {transform!r}")
        reps = check_representations(representations)
        if task == "segment" and not any(isinstance(r, FaceLabels) for r in reps):
            reps.append(FaceLabels())
        self.split = split
        self.task = task
        self.representations: tuple[Representation, ...] = tuple(reps)
        self.normalization = normalization
        self.transform = transform
        self.seed = int(seed)
        self.cache: ShapeCache | None = ShapeCache(cache_dir) if cache else None
        self._epoch = 0
        self._items: list[ShapeItem] = []
        self._digests: dict[str, str] = {}
        self.failures: list[Failure] = []
        self.class_names: tuple[str, ...] = ()
        self.label_names: tuple[str, ...] | None = None

    @property
    def _recipe(self) -> str:
        """The parameter part of every cache key of this dataset.

        For segmentation the stored ``face_labels`` are ids into this dataset's label vocabulary, which
        depends on the classes or categories chosen (namespaced unions), so the vocabulary is part of
        the key: a dataset over other classes never reuses label ids numbered for another vocabulary.
        """
        recipe = make_recipe(self.representations, self.normalization)
        if self.task == "segment":
            recipe += f";label_names={list(self.label_names or ())}"
        return recipe

    # -- what subclasses implement ----------------------------------------------------------------
    def _read_raw(self, item: ShapeItem) -> Any:
        """Whatever :meth:`_digest` and :meth:`_to_mesh` need (e.g. the file's bytes)."""
        raise NotImplementedError

    def _digest(self, item: ShapeItem, raw: Any) -> str:
        """sha256 hex of the content of ``item`` (changes whenever its mesh or labels change)."""
        raise NotImplementedError

    def _to_mesh(self, item: ShapeItem, raw: Any) -> Mesh:
        """The mesh as stored (not normalised); with ``face_labels`` indexing ``label_names`` when
        ``task == "segment"``. Raises a :class:`~geolearn.errors.GeolearnError` naming the file."""
        raise NotImplementedError

    # -- public API ---------------------------------------------------------------------------------
    @property
    def num_classes(self) -> int:
        """Size of the label space of the task: ``len(class_names)`` for classification,
        ``len(label_names)`` (part labels) for segmentation."""
        if self.task == "segment":
            return len(self.label_names or ())
        return len(self.class_names)

    @property
    def part_mask(self) -> np.ndarray | None:
        """``(len(class_names), num_classes)`` bool: which part labels each category can carry, for a
        segmentation dataset over several categories whose labels are namespaced ``"<Category>/<part>"``
        (the labeled PSB, the embedded shapes); ``None`` otherwise. Every sample of such a dataset
        carries its row as ``part_mask (K,)`` — what ``restrict_to_category`` training uses."""
        if self.task != "segment" or len(self.class_names) < 2 or not self.label_names:
            return None
        if getattr(self, "_part_mask_names", None) != (self.class_names, self.label_names):
            try:
                self._part_mask_cache: np.ndarray | None = category_part_mask(
                    self.label_names, self.class_names
                )
            except OptionError:  # labels not namespaced by category: nothing to restrict to
                self._part_mask_cache = None
            self._part_mask_names = (self.class_names, self.label_names)
        return self._part_mask_cache

    @property
    def sources(self) -> list[str]:
        """The ``source`` of every shape, in dataset order."""
        return [it.source for it in self._items]

    @property
    def labels(self) -> np.ndarray:
        """``(N,)`` int64 class index of every shape."""
        return np.asarray([it.class_index for it in self._items], dtype=np.int64)

    def class_counts(self) -> dict[str, int]:
        """Number of shapes per class name (classes with none included)."""
        counts = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(c) for name, c in zip(self.class_names, counts, strict=True)}

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        reps = ", ".join(repr(r) for r in self.representations)
        return (
            f"{type(self).__name__}(split={self.split!r}, task={self.task!r}, {len(self)} shapes, "
            f"{len(self.class_names)} classes, representations=[{reps}])"
        )

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation of epoch ``epoch`` (see the module docstring)."""
        self._epoch = int(epoch)

    def load_mesh(self, index: int) -> Mesh:
        """Shape ``index`` as a :class:`~geolearn.mesh.Mesh`, as stored (not normalised), with
        ``face_labels``/``label_names`` for segmentation datasets."""
        item = self._items[self._check_index(index)]
        return self._to_mesh(item, self._read_raw(item))

    def exclude(self, failures: Iterable[Failure]) -> None:
        """Drop the shapes named by ``failures`` (by ``source``) and record them in ``self.failures``.
        Indices of the remaining shapes shift down."""
        failures = list(failures)
        bad = {f.source for f in failures}
        self._items = [it for it in self._items if it.source not in bad]
        known = {f.source for f in self.failures}
        self.failures.extend(f for f in failures if f.source not in known)

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = self._check_index(index)
        item = self._items[index]
        arrays = self._arrays(item)
        sample: dict[str, Any] = {
            "index": torch.tensor(index, dtype=torch.int64),
            "source": item.source,
            "label": torch.tensor(item.class_index, dtype=torch.int64),
        }
        for key, a in arrays.items():
            sample[key] = torch.from_numpy(a)
        if "face_labels" in sample and "point_face" in sample:
            sample["point_labels"] = sample["face_labels"][sample["point_face"]]  # (N,)
        mask = self.part_mask
        if mask is not None:
            sample["part_mask"] = torch.from_numpy(mask[item.class_index])  # (K,) bool
        if self.transform is not None:
            sample = self.transform(sample, self._generator(index))
        return sample

    # -- internals ------------------------------------------------------------------------------------
    def _check_index(self, index: int) -> int:
        n = len(self._items)
        if isinstance(index, torch.Tensor):
            index = int(index.item())
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"dataset index must be an int, got {type(index).__name__}")
        if not -n <= index < n:
            raise IndexError(f"index {index} out of range for a dataset of {n} shapes")
        return int(index) % n

    def _generator(self, index: int) -> torch.Generator:
        state = np.random.SeedSequence([self.seed, self._epoch, index, 0xA06]).generate_state(2, np.uint32)
        g = torch.Generator()
        g.manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)  # < 2**63
        return g

    def _set_items(self, items: Sequence[ShapeItem]) -> None:
        self._items = list(items)

    @staticmethod
    def _first(items: Sequence[ShapeItem], max_shapes: int | None) -> list[ShapeItem]:
        """``items`` limited to ``max_shapes`` by :func:`interleaved_first` (``None``: all)."""
        if max_shapes is None:
            return list(items)
        if isinstance(max_shapes, bool) or not isinstance(max_shapes, (int, np.integer)) or max_shapes < 0:
            raise OptionError(f"max_shapes must be a non-negative int or None, got {max_shapes!r}")
        keep = interleaved_first([it.class_index for it in items], int(max_shapes))
        return [items[i] for i in keep]

    def _compute(self, item: ShapeItem, raw: Any) -> dict[str, np.ndarray]:
        mesh = normalize(self._to_mesh(item, raw), self.normalization)
        out: dict[str, np.ndarray] = {}
        for rep in self.representations:
            arrays = rep(mesh)
            if set(arrays) != set(rep.keys):
                raise OptionError(f"{rep!r} returned {sorted(arrays)} but declares keys {list(rep.keys)}")
            for key, a in arrays.items():
                a = np.asarray(a)
                if a.dtype.kind == "f" and not np.isfinite(a).all():
                    raise MeshError(item.source, f"{rep!r} produced NaN/inf values in {key!r}")
                out[key] = a
        return out

    def _arrays(self, item: ShapeItem) -> dict[str, np.ndarray]:
        if self.cache is None:
            return self._compute(item, self._read_raw(item))
        raw = None
        digest = self._digests.get(item.source)
        if digest is None:
            raw = self._read_raw(item)
            digest = self._digests[item.source] = self._digest(item, raw)
        key = self.cache.key(digest, self._recipe)
        arrays = self.cache.load(key)
        if arrays is None:
            if raw is None:
                raw = self._read_raw(item)
            arrays = self._compute(item, raw)
            self.cache.store(key, arrays)
        return arrays

    def _prepare(self, index: int) -> tuple[str, str]:
        """Make sure shape ``index`` is in the cache: ``(content digest, "cached" | "built")``.
        Raises whatever loading or the representations raise."""
        item = self._items[index]
        raw = self._read_raw(item)
        digest = self._digest(item, raw)
        if self.cache is None:
            self._compute(item, raw)
            return digest, "built"
        key = self.cache.key(digest, self._recipe)
        if self.cache.load(key) is not None:
            return digest, "cached"
        self.cache.store(key, self._compute(item, raw))
        return digest, "built"

    def _check(self, index: int) -> list[str]:
        """Load shape ``index`` (labels included) and return its validation problems; raises a
        :class:`~geolearn.errors.GeolearnError` when it cannot be used at all."""
        item = self._items[index]
        mesh = self._to_mesh(item, self._read_raw(item))
        normalize(mesh, "unit_sphere")  # raises for a mesh whose vertices all coincide
        if not float(mesh.face_areas.sum()) > 0:
            raise EmptyMeshError(item.source, "surface area is zero (every face is degenerate)")
        return mesh.report.problems()


class FileShapeDataset(ShapeDataset):
    """A dataset of mesh files in a :class:`~geolearn.datasets.files.FileTree` (a zip or a folder).

    Item refs are ``(mesh member name, label member name or None)``; the content digest covers the
    bytes of both.
    """

    tree: FileTree

    @property
    def root(self) -> Path:
        return self.tree.root

    def _read_raw(self, item: ShapeItem) -> tuple[bytes, bytes | None]:
        mesh_name, label_name = item.ref
        data = self.tree.read(mesh_name)
        labels = self.tree.read(label_name) if label_name is not None else None
        return data, labels

    def _digest(self, item: ShapeItem, raw: tuple[bytes, bytes | None]) -> str:
        return content_digest(*raw)

    def _to_mesh(self, item: ShapeItem, raw: tuple[bytes, bytes | None]) -> Mesh:
        from geolearn.io import parse_mesh

        fmt = Path(item.ref[0]).suffix.lower().lstrip(".")
        return parse_mesh(raw[0], fmt, item.source)
