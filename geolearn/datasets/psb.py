"""The labeled Princeton Segmentation Benchmark (Kalogerakis et al., SIGGRAPH 2010).

Layout: ``LabeledDB/<Category>/<id>.off`` with ``<id>_labels.txt``, read from ``LabeledDB.zip``
without extraction or from the extracted folder.

**Label files** alternate between a line with a label name and a line of the 1-based indices of
the faces carrying it. Every face must be labelled exactly once; :func:`parse_psb_labels` checks that
and raises a :class:`~geolearn.errors.DatasetError` naming the file otherwise.

**Label ids.** The order of the names differs between files of one category, so labels are mapped
*by name*: each category has a vocabulary, the sorted set of the names in all its label files, and a
label's id is its position there. When a dataset holds one category, ``label_names`` is that
vocabulary (``("body", "handle")`` for Cup). When it holds several, the label space is the union of
the vocabularies, namespaced ``"<Category>/<label>"``, categories in sorted order and each
category's labels contiguous (``Airplane/body, ..., Airplane/wing, Ant/antenna, ...``); two categories
never share a label id even if they share a name.

**Split.** ``LabeledDB-split.json`` (``{"train": {category: [ids]}, "test": {...}}``) found beside
the archive, inside the folder, or given as ``split_file``. Without one, the protocol written in it
is applied: per category, ids sorted numerically, positions 5, 10, 15, 20 (every 5th) are test.
Validation is a seeded ``val_fraction`` of each category's train ids.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from geolearn.datasets.base import FileShapeDataset, ShapeItem, Transform
from geolearn.datasets.files import FileTree, open_tree
from geolearn.datasets.registry import register_dataset
from geolearn.datasets.representations import Representation
from geolearn.datasets.splits import carve_validation
from geolearn.errors import DatasetError
from geolearn.mesh import Mesh

__all__ = ["LabeledPSB", "find_psb_layout", "parse_psb_labels", "psb_default_split", "read_label_names"]

logger = logging.getLogger(__name__)

SPLIT_FILE_NAME = "LabeledDB-split.json"
_MEMBER = re.compile(r"^(?P<prefix>(?:[^/]+/)*?)(?P<cat>[^/]+)/(?P<id>[^/]+)_labels\.txt$")


def parse_psb_labels(data: bytes, num_faces: int, source: str) -> dict[str, np.ndarray]:
    """Parse a PSB label file and check that every face is labelled exactly once.

    Args:
        data: the file's bytes.
        num_faces: F, the number of faces of the mesh.
        source: the file's name, for error messages.

    Returns:
        ``{label name: (n,) int64 0-based face indices}`` in file order (a name that appears twice
        has its faces merged).

    Raises:
        DatasetError: naming ``source`` and the problem: a name without its line of indices, a
        token that is not an integer, an index outside ``1..F``, a face labelled twice, faces that
        carry no label (the label count differs from the face count).
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{source}: not a text file ({exc})") from None
    lines = text.splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise DatasetError(f"{source}: empty label file")
    if len(lines) % 2:
        raise DatasetError(
            f"{source}: label {lines[-1].strip()!r} on line {len(lines)} has no line of face indices "
            "(the file must alternate label names and lines of face indices)"
        )
    groups: dict[str, list[np.ndarray]] = {}
    for k in range(0, len(lines), 2):
        name = lines[k].strip()
        if not name or len(name.split()) != 1:
            raise DatasetError(f"{source}: line {k + 1} should be one label name, got {lines[k][:60]!r}")
        try:
            idx = np.array(lines[k + 1].split(), dtype=np.int64)
        except ValueError:
            bad = next(t for t in lines[k + 1].split() if not t.lstrip("+-").isdigit())
            raise DatasetError(f"{source}: line {k + 2}: {bad[:40]!r} is not a face index") from None
        out_of_range = (idx < 1) | (idx > num_faces)
        if out_of_range.any():
            raise DatasetError(
                f"{source}: line {k + 2} (label {name!r}): face index {int(idx[out_of_range][0])} is "
                f"outside 1..{num_faces} (the mesh has {num_faces} faces)"
            )
        groups.setdefault(name, []).append(idx - 1)
    labels = {name: np.concatenate(parts) for name, parts in groups.items()}
    owner = np.full(num_faces, -1, dtype=np.int64)
    names = list(labels)
    counts = np.zeros(num_faces, dtype=np.int64)
    for i, name in enumerate(names):
        np.add.at(counts, labels[name], 1)
        owner[labels[name]] = i
    if (counts > 1).any():
        face = int(np.flatnonzero(counts > 1)[0])
        holders = [n for n in names if np.any(labels[n] == face)]
        raise DatasetError(
            f"{source}: {int((counts > 1).sum())} faces are labelled more than once "
            f"(first: face {face + 1}, as {' and '.join(map(repr, holders)) or repr(names[owner[face]])})"
        )
    if (counts == 0).any():
        missing = np.flatnonzero(counts == 0)
        raise DatasetError(
            f"{source}: labels cover {num_faces - len(missing)} faces but the mesh has {num_faces}: "
            f"{len(missing)} faces carry no label (first: face {int(missing[0]) + 1})"
        )
    return labels


def read_label_names(data: bytes) -> list[str]:
    """The label names of a PSB label file (every other non-empty line), without validation."""
    lines = data.decode("utf-8", errors="replace").splitlines()
    while lines and not lines[-1].strip():
        lines.pop()
    return [lines[k].strip() for k in range(0, len(lines), 2)]


def find_psb_layout(tree: FileTree) -> tuple[str, dict[str, dict[str, tuple[str, str]]]] | None:
    """Find ``<prefix><Category>/<id>.off`` + ``<id>_labels.txt`` in ``tree``.

    Returns:
        ``(prefix, {category: {id: (mesh member, label member)}})`` or ``None`` if no label file
        matches.

    Raises:
        DatasetError: a label file without its mesh, or a mesh without its label file.
    """
    names = tree.names()
    present = set(names)
    found: dict[str, dict[str, dict[str, tuple[str, str]]]] = {}
    for name in names:
        m = _MEMBER.match(name)
        if m is None:
            continue
        mesh = name[: -len("_labels.txt")] + ".off"
        if mesh not in present:
            raise DatasetError(f"{tree.display(name)}: label file without its mesh {Path(mesh).name}")
        found.setdefault(m["prefix"], {}).setdefault(m["cat"], {})[m["id"]] = (mesh, name)
    if not found:
        return None
    prefix = max(found, key=lambda p: sum(len(v) for v in found[p].values()))
    layout = found[prefix]
    for name in names:
        if name.startswith(prefix) and name.lower().endswith(".off"):
            parts = name[len(prefix) :].split("/")
            if len(parts) == 2 and parts[1][:-4] not in layout.get(parts[0], {}):
                raise DatasetError(
                    f"{tree.display(name)}: mesh without its label file {parts[1][:-4]}_labels.txt"
                )
    return prefix, layout


def _id_key(x: str) -> tuple[int, int | str]:
    return (0, int(x)) if x.isdigit() else (1, x)


def psb_default_split(ids: Sequence[str]) -> tuple[list[str], list[str]]:
    """The benchmark's protocol for one category: ids sorted numerically, every 5th (positions 5, 10,
    15, 20, 1-based) is test, the rest train. Returns ``(train ids, test ids)``."""
    ordered = sorted(ids, key=_id_key)
    test = [x for k, x in enumerate(ordered, start=1) if k % 5 == 0]
    return [x for x in ordered if x not in set(test)], test


def _load_split_file(path: Path) -> dict[str, dict[str, list[str]]]:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: cannot read the split file ({exc})") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("train"), dict)
        or not isinstance(data.get("test"), dict)
    ):
        raise DatasetError(f"{path}: expected {{'train': {{category: [ids]}}, 'test': {{...}}}}")
    out: dict[str, dict[str, list[str]]] = {}
    for part in ("train", "test"):
        out[part] = {}
        for cat, ids in data[part].items():
            if not isinstance(ids, list):
                raise DatasetError(f"{path}: {part}[{cat!r}] must be a list of ids")
            out[part][cat] = [str(i) for i in ids]
    return out


@register_dataset("psb")
class LabeledPSB(FileShapeDataset):
    """The labeled PSB for per-face segmentation (``task="segment"``, the default) or for
    classification of the category (``task="classify"``; ``label`` = category index).

    Args:
        root: ``LabeledDB.zip``, the extracted ``LabeledDB`` folder, or a folder containing it.
        split: ``"train"``, ``"val"`` (carved from train), ``"test"`` or ``"all"``.
        representations: see :mod:`geolearn.datasets.representations`.
        split_file: ``LabeledDB-split.json``; ``None`` → look beside the archive / in the folder,
            else apply the documented every-5th protocol.
        category: ``None`` (all 19), one category name, or a list of them.
        task: ``"segment"`` or ``"classify"``.
        val_fraction: share of each category's train meshes used for validation (0.1 of 16 → 2).
        seed: seeds the validation split and the augmentation.
        max_shapes: keep the first N shapes of the split, round-robin over categories.
        cache_dir, cache, normalization, transform: see :class:`~geolearn.datasets.base.ShapeDataset`.

    Attributes:
        class_names: the selected categories, sorted.
        label_names: the part label space (see the module docstring), or ``None`` for classification.
        category_labels: ``{category: its vocabulary}`` (sorted names) for the selected categories.
    """

    kind = "psb"

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str = "train",
        representations: Iterable[Representation] = (),
        *,
        split_file: str | os.PathLike[str] | None = None,
        category: str | Sequence[str] | None = None,
        task: str = "segment",
        val_fraction: float = 0.1,
        seed: int = 0,
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
        self.tree = open_tree(root)
        layout = find_psb_layout(self.tree)
        if layout is None:
            raise DatasetError(f"{root}: not a labeled PSB dataset (no <Category>/<id>_labels.txt files)")
        prefix, members = layout
        self.name = prefix.rstrip("/").split("/")[-1] if prefix else Path(root).stem
        self.all_categories = tuple(sorted(members))
        if category is None:
            cats = list(self.all_categories)
        else:
            cats = [category] if isinstance(category, str) else list(category)
            unknown = [c for c in cats if c not in members]
            if unknown or not cats:
                raise DatasetError(
                    f"{root}: unknown category {', '.join(map(repr, unknown)) or '(none given)'}; "
                    f"categories: {', '.join(self.all_categories)}"
                )
        self.class_names = tuple(sorted(set(cats)))
        self.split_file = self._find_split_file(Path(root), prefix, split_file)
        split_ids = self._split_ids(members)
        self.val_fraction = float(val_fraction)

        train: list[ShapeItem] = []
        test: list[ShapeItem] = []
        with_labels = task == "segment"
        for ci, cat in enumerate(self.class_names):
            for part, out in (("train", train), ("test", test)):
                for sid in sorted(split_ids[part][cat], key=_id_key):
                    mesh, lab = members[cat][sid]
                    out.append(
                        ShapeItem(self.tree.display(mesh), ci, (mesh, lab if with_labels else None, cat))
                    )
        carved = carve_validation(
            [self.class_names[it.class_index] for it in train], self.val_fraction, self.seed
        )
        chosen = {
            "train": [train[i] for i in carved.train],
            "val": [train[i] for i in carved.val],
            "test": test,
            "all": train + test,
        }[split]
        chosen = self._first(chosen, max_shapes)
        self._members = members
        self._category_labels: dict[str, tuple[str, ...]] | None = None
        self._label_index: dict[tuple[str, str], int] = {}
        if task == "segment":
            self._build_label_space()
        self._set_items(chosen)

    # -- label space ------------------------------------------------------------------------------
    @property
    def category_labels(self) -> dict[str, tuple[str, ...]]:
        """``{category: sorted label names found in all its label files}`` (read once, lazily)."""
        if self._category_labels is None:
            vocab: dict[str, tuple[str, ...]] = {}
            for cat in self.class_names:
                names: set[str] = set()
                for _mesh, lab in self._members[cat].values():
                    names.update(read_label_names(self.tree.read(lab)))
                vocab[cat] = tuple(sorted(names))
            self._category_labels = vocab
        return self._category_labels

    def _build_label_space(self) -> None:
        vocab = self.category_labels
        if len(self.class_names) == 1:
            cat = self.class_names[0]
            names = list(vocab[cat])
            self._label_index = {(cat, n): i for i, n in enumerate(names)}
        else:
            names = []
            for cat in self.class_names:
                for n in vocab[cat]:
                    self._label_index[(cat, n)] = len(names)
                    names.append(f"{cat}/{n}")
        self.label_names = tuple(names)

    # -- split --------------------------------------------------------------------------------------
    def _find_split_file(self, root: Path, prefix: str, given: str | os.PathLike[str] | None) -> Path | None:
        if given is not None:
            path = Path(given).expanduser()
            if not path.is_file():
                raise DatasetError(f"{path}: split file not found")
            return path
        candidates = [root.parent / SPLIT_FILE_NAME]
        if root.is_dir():
            candidates = [root / prefix / SPLIT_FILE_NAME, root / SPLIT_FILE_NAME, *candidates]
        return next((c for c in candidates if c.is_file()), None)

    def _split_ids(self, members: dict[str, dict[str, tuple[str, str]]]) -> dict[str, dict[str, list[str]]]:
        if self.split_file is None:
            logger.info(
                "%s: no %s found; using the every-5th-is-test protocol", self.tree.root, SPLIT_FILE_NAME
            )
            out: dict[str, dict[str, list[str]]] = {"train": {}, "test": {}}
            for cat in self.class_names:
                out["train"][cat], out["test"][cat] = psb_default_split(list(members[cat]))
            return out
        data = _load_split_file(self.split_file)
        for cat in self.class_names:
            for part in ("train", "test"):
                if cat not in data[part]:
                    raise DatasetError(f"{self.split_file}: no {part} ids for category {cat!r}")
                missing = [i for i in data[part][cat] if i not in members[cat]]
                if missing:
                    raise DatasetError(
                        f"{self.split_file}: {part} ids {', '.join(missing[:5])} of {cat!r} are not in {self.tree.root}"
                    )
            both = set(data["train"][cat]) & set(data["test"][cat])
            if both:
                raise DatasetError(
                    f"{self.split_file}: ids {sorted(both)[:5]} of {cat!r} are both train and test"
                )
        return data

    # -- loading ------------------------------------------------------------------------------------
    def _read_raw(self, item: ShapeItem) -> tuple[bytes, bytes | None]:
        mesh_name, label_name, _cat = item.ref
        data = self.tree.read(mesh_name)
        labels = self.tree.read(label_name) if label_name is not None else None
        return data, labels

    def _to_mesh(self, item: ShapeItem, raw: Any) -> Mesh:
        from geolearn.io import parse_mesh

        _mesh_name, label_name, cat = item.ref
        mesh = parse_mesh(raw[0], "off", item.source)
        if label_name is None or raw[1] is None:
            return mesh
        groups = parse_psb_labels(raw[1], mesh.num_faces, self.tree.display(label_name))
        face_labels = np.empty(mesh.num_faces, dtype=np.int64)
        for name, faces in groups.items():
            if (cat, name) not in self._label_index:  # a file changed since the vocabulary was read
                raise DatasetError(
                    f"{self.tree.display(label_name)}: label {name!r} is not in the vocabulary of {cat}"
                )
            face_labels[faces] = self._label_index[(cat, name)]
        return mesh.replace(face_labels=face_labels, label_names=self.label_names)
