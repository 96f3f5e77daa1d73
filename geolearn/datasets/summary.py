"""A summary of a dataset: kind, classes, split sizes, label names, and (optionally) a check of
every mesh. This is what ``geolearn data PATH`` prints."""

from __future__ import annotations

import os
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from geolearn.datasets.base import ShapeDataset
from geolearn.datasets.preprocess import check_meshes

__all__ = ["DatasetSummary", "summarize"]

_SPLITS = ("train", "val", "test")


@dataclass
class DatasetSummary:
    """What :func:`summarize` found.

    Attributes:
        kind: registry name of the dataset class (``modelnet``, ``psb``, ``folder``, ``embedded``).
        root: the archive or folder (``None`` for the embedded dataset).
        name: a display name (``ModelNet10``, ``LabeledDB``, the folder name, ``embedded``).
        task: the default task (``classify`` or ``segment``).
        classes: class (or category) names, sorted; their index is the ``label``.
        split_sizes: ``{"train": n, "val": n, "test": n}`` (val carved from train).
        class_counts: ``{split: {class: n}}``.
        label_names: per-face part labels per class/category (``None`` when there are none).
        details: dataset-specific facts (split file, layout, val fraction, seed).
        checked: whether every mesh was loaded and validated.
        num_checked: meshes loaded by the check.
        failures: ``[{"source", "reason"}]`` of meshes that cannot be used (check only).
        problems: ``{problem kind: number of meshes}`` from the validation reports (check only).
    """

    kind: str
    root: str | None
    name: str
    task: str
    classes: list[str]
    split_sizes: dict[str, int]
    class_counts: dict[str, dict[str, int]]
    label_names: dict[str, list[str]] | None
    details: dict[str, Any] = field(default_factory=dict)
    checked: bool = False
    num_checked: int = 0
    failures: list[dict[str, str]] = field(default_factory=list)
    problems: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "root": self.root,
            "name": self.name,
            "task": self.task,
            "num_classes": len(self.classes),
            "classes": self.classes,
            "split_sizes": self.split_sizes,
            "num_shapes": sum(self.split_sizes.values()),
            "class_counts": self.class_counts,
            "label_names": self.label_names,
            "details": self.details,
            "checked": self.checked,
            "num_checked": self.num_checked,
            "failures": self.failures,
            "problems": self.problems,
        }


def _problem_kind(problem: str) -> str:
    """``"12 degenerate faces"`` → ``"degenerate faces"``; ``"not watertight (3 boundary ...)"`` →
    ``"not watertight"``."""
    return re.sub(r"\s*\(.*\)$", "", re.sub(r"^\d+\s+", "", problem)).strip()


def summarize(
    path: str | os.PathLike[str] | None = None,
    *,
    check: bool = False,
    workers: int | None = None,
    progress: bool = False,
    **kwargs: Any,
) -> DatasetSummary:
    """Summarise the dataset at ``path`` (``None``: the embedded default).

    Args:
        path: anything :func:`geolearn.datasets.open_dataset` accepts.
        check: also load and validate every mesh (in ``workers`` processes).
        workers, progress: see :func:`geolearn.datasets.preprocess.preprocess`.
        kwargs: passed to the dataset class (``split_file``, ``val_fraction``, ``seed``, ...).

    Returns:
        :class:`DatasetSummary`. Without ``check`` nothing but the listing of files (and, for the
        PSB, the label names in the label files) is read.
    """
    from geolearn.datasets import detect_kind, open_dataset

    kind = detect_kind(path)
    parts: dict[str, ShapeDataset] = {
        s: open_dataset(path, task="classify", split=s, cache=False, **kwargs) for s in _SPLITS
    }
    first = parts["train"]
    default_task = "segment" if kind == "psb" else "classify"
    label_names: dict[str, list[str]] | None = None
    details: dict[str, Any] = {}
    if hasattr(first, "val_fraction"):
        details["val_fraction"] = first.val_fraction
    details["seed"] = first.seed
    if kind == "psb":
        label_names = {c: list(v) for c, v in first.category_labels.items()}  # type: ignore[attr-defined]
        split_file = first.split_file  # type: ignore[attr-defined]
        details["split_file"] = str(split_file) if split_file else None
        details["split_protocol"] = "split file" if split_file else "every 5th id (sorted) is test"
    elif kind == "embedded":
        from geolearn.datasets import synthetic

        label_names = {c: list(synthetic.part_names(c)) for c in first.class_names}
        details["num_per_class"] = first.num_per_class  # type: ignore[attr-defined]
        details["target_faces"] = first.target_faces  # type: ignore[attr-defined]
    elif kind == "folder":
        details["layout"] = first.layout  # type: ignore[attr-defined]
        details["test_fraction"] = first.test_fraction  # type: ignore[attr-defined]
    summary = DatasetSummary(
        kind=kind,
        root=str(first.root) if hasattr(first, "root") else None,
        name=str(getattr(first, "name", kind)),
        task=default_task,
        classes=list(first.class_names),
        split_sizes={s: len(d) for s, d in parts.items()},
        class_counts={s: d.class_counts() for s, d in parts.items()},
        label_names=label_names,
        details=details,
    )
    if check:
        everything = open_dataset(path, task=default_task, split="all", cache=False, **kwargs)
        results = check_meshes(everything, workers=workers, progress=progress)
        summary.checked = True
        summary.num_checked = len(results)
        summary.failures = [{"source": r.source, "reason": r.error} for r in results if r.error is not None]
        counter: Counter[str] = Counter()
        for r in results:
            counter.update({_problem_kind(p) for p in r.problems})
        summary.problems = dict(counter.most_common())
    return summary
