"""Looking inside trained runs: encoder features of a split, per-face predictions, scores per category.

What the experiment report (``experiments/report.py``) and the demo's figures are made of:

- :func:`split_features` — every shape's global feature vector from a run's encoder (what the shared
  head sees), for 2D embeddings of learned features beside hand-crafted ones;
- :func:`face_predictions` — every face's predicted part for a segmentation run, both as trained
  (argmax over the whole label space) and with the shape's category given (argmax over that
  category's parts only — the protocol of per-category models such as Kalogerakis et al. 2010),
  also of an ensemble of runs (their per-face probabilities averaged, as ``geolearn eval RUN RUN``);
- :func:`category_scores` — area-weighted per-face accuracy and mean IoU per category and overall,
  with the same definitions as the trainer's (:mod:`geolearn.train.metrics`);
- :func:`bootstrap_interval` — how far the mean accuracy of a small test split could move with
  other test shapes of the same categories (a percentile bootstrap over shapes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from geolearn.datasets.base import ShapeDataset, category_part_mask
from geolearn.errors import OptionError
from geolearn.jobs.runs import RunInfo

__all__ = [
    "FacePredictions",
    "SplitFeatures",
    "bootstrap_interval",
    "category_scores",
    "face_predictions",
    "open_split",
    "split_features",
]


def open_split(
    run_dir: str | Path, split: str = "test", workers: int | None = 0
) -> tuple[RunInfo, ShapeDataset]:
    """The run (best checkpoint) and its ``split`` (``train``, ``val`` or ``test``) with the run's representations."""
    from geolearn.jobs.runs import read_run
    from geolearn.jobs.training import experiment_representations, open_splits

    run = read_run(run_dir)
    reps = experiment_representations(run.config)
    return run, open_splits(run.config, reps, names=(split,), workers=workers).datasets[split]


@dataclass
class SplitFeatures:
    """Global features of every shape of a split.

    Attributes:
        features: ``(S, C)`` float32 — the encoder's global features (the shared head's input).
        labels: ``(S,)`` int64 class of every shape (the category, for segmentation data).
        sources: the shapes' sources, in order.
        class_names: names of the classes.
    """

    features: np.ndarray
    labels: np.ndarray
    sources: list[str]
    class_names: tuple[str, ...]


def split_features(
    run_dir: str | Path, device: str | torch.device = "cpu", split: str = "test", batch_size: int = 32
) -> SplitFeatures:
    """The global features of ``run_dir``'s encoder (best weights) on every shape of ``split``."""
    from geolearn.datasets import collate_shapes, move_batch
    from geolearn.jobs.runs import load_model

    run, data = open_split(run_dir, split)
    model = load_model(run, collate_shapes([data[0]]), device)
    dev = next(model.parameters()).device
    feats, sources = [], []
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, collate_fn=collate_shapes)
    with torch.no_grad():
        for batch in loader:
            feats.append(model.encoder(move_batch(batch, dev)).global_features.float().cpu())
            sources += list(batch["source"])
    return SplitFeatures(torch.cat(feats).numpy(), np.asarray(data.labels), sources, tuple(data.class_names))


@dataclass
class FacePredictions:
    """Per-face predictions of a segmentation run on every shape of a split.

    Attributes:
        run: the run.
        data: the split.
        predicted: per shape, ``(F,)`` int64 argmax over the whole label space (as the trainer scores).
        predicted_in_category: per shape, ``(F,)`` argmax over the parts of the shape's category only.
        truth: per shape, ``(F,)`` int64 true labels; areas: per shape ``(F,)`` float64 face areas.
        categories: per shape, its category index into ``data.class_names``.
        indices: per shape, its index in ``data`` (the lists above are in this order).
    """

    run: RunInfo
    data: ShapeDataset
    predicted: list[np.ndarray]
    predicted_in_category: list[np.ndarray]
    truth: list[np.ndarray]
    areas: list[np.ndarray]
    categories: np.ndarray
    indices: np.ndarray


def face_predictions(
    run_dir: str | Path | Sequence[str | Path], device: str | torch.device = "cpu", split: str = "test"
) -> FacePredictions:
    """Predict every face of every shape of ``split`` with ``run_dir``'s best weights — or, given
    several run directories, with their ensemble: the softmax of each run's face logits averaged
    (:func:`geolearn.jobs.evaluate.average_probabilities`; ``run`` and ``data`` are then the first
    run's)."""
    from geolearn.jobs.evaluate import average_probabilities
    from geolearn.jobs.runs import read_run

    dirs = [run_dir] if isinstance(run_dir, (str, Path)) else list(run_dir)
    if not dirs:
        raise OptionError("face_predictions: give at least one run directory")
    runs = [read_run(d) for d in dirs]
    for d, run in zip(dirs, runs, strict=True):
        if run.task != "segment":
            raise OptionError(f"{d}: a {run.task} run has no per-face predictions")
    averaged = average_probabilities(
        runs, data=None, split=split, device=device, batch_size=None, progress=False, workers=0, tta=False
    )
    run, data = runs[0], averaged.dataset
    mask = torch.from_numpy(category_part_mask(tuple(run.names), tuple(data.class_names)))
    predicted, restricted, truth, areas = [], [], [], []
    categories = np.asarray(data.labels)
    for index, p in averaged.rows:  # p: (F, K) probabilities
        sample = data[index]
        if int(sample["face_labels"].numel()) != p.shape[0]:
            raise OptionError(
                f"{sample['source']}: {p.shape[0]} predicted faces, {sample['face_labels'].numel()} labelled"
            )
        predicted.append(p.argmax(dim=1).numpy())
        allowed = mask[int(categories[index])]
        restricted.append(p.masked_fill(~allowed, -1.0).argmax(dim=1).numpy())
        truth.append(sample["face_labels"].numpy())
        areas.append(sample["face_areas"].numpy().astype(np.float64))
    order = np.asarray([index for index, _ in averaged.rows], dtype=np.int64)
    return FacePredictions(run, data, predicted, restricted, truth, areas, categories[order], order)


def category_scores(
    predicted: list[np.ndarray],
    truth: list[np.ndarray],
    areas: list[np.ndarray],
    categories: np.ndarray,
    category_names: tuple[str, ...],
    num_labels: int,
) -> dict[str, dict[str, Any]]:
    """Area-weighted per-face accuracy (mean over shapes) and mean IoU per category, and ``"all"``.

    A category's mean IoU averages the IoU of the parts present in its ground truth, from the
    area-weighted confusion matrix pooled over its shapes (:func:`geolearn.train.metrics.mean_iou`);
    ``"all"`` pools every shape (the trainer's ``miou``) and averages accuracy over all shapes, and
    ``"category_mean"`` averages the categories' scores (each category counts once).
    """
    from geolearn.train import metrics

    if not (len(predicted) == len(truth) == len(areas) == len(categories)):
        raise OptionError("predicted, truth, areas and categories must have one entry per shape")
    conf = {c: torch.zeros(num_labels, num_labels, dtype=torch.float64) for c in ["all", *category_names]}
    acc: dict[str, list[float]] = {c: [] for c in conf}
    for pred, true, area, cat in zip(predicted, truth, areas, categories, strict=True):
        p, t, w = torch.from_numpy(pred), torch.from_numpy(true), torch.from_numpy(area)
        c = metrics.confusion_matrix(p, t, num_labels, weight=w).to(torch.float64)
        total = float(w.sum())
        a = float((w * (p == t)).sum()) / total if total > 0 else float("nan")
        for key in ("all", category_names[int(cat)]):
            conf[key] += c
            acc[key].append(a)
    out: dict[str, dict[str, Any]] = {}
    for key in conf:
        if not acc[key]:
            continue
        out[key] = {
            "shapes": len(acc[key]),
            "accuracy": float(np.nanmean(acc[key])),
            "miou": metrics.mean_iou(conf[key]),
        }
    cats = [out[c] for c in category_names if c in out]
    if cats:
        out["category_mean"] = {
            "shapes": sum(c["shapes"] for c in cats),
            "accuracy": float(np.mean([c["accuracy"] for c in cats])),
            "miou": float(np.nanmean([c["miou"] for c in cats])),
        }
    return out


def bootstrap_interval(
    values: np.ndarray,
    groups: np.ndarray | None = None,
    *,
    level: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values`` (e.g. per-shape accuracies).

    Each resample draws, within every group (e.g. category) separately, as many values as the group
    has, with replacement — the split's composition stays fixed, as a benchmark's does — and takes
    the mean of all drawn values. The interval spans the central ``level`` of those means.

    Args:
        values: ``(N,)`` finite numbers.
        groups: ``(N,)`` group labels, or None for one group.
        level: in ``(0, 1)``.
        resamples: number of bootstrap resamples (≥ 100).
        seed: the random generator's seed (the interval is reproducible).

    Raises:
        OptionError: empty or non-finite values, groups of another length, bad level or resamples.
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0 or not np.isfinite(v).all():
        raise OptionError("bootstrap_interval: values must be a non-empty array of finite numbers")
    g = np.zeros(v.size, dtype=np.int64) if groups is None else np.asarray(groups).reshape(-1)
    if g.size != v.size:
        raise OptionError(f"bootstrap_interval: {g.size} group labels for {v.size} values")
    if not (0.0 < float(level) < 1.0):
        raise OptionError(f"bootstrap_interval: level must be in (0, 1), got {level!r}")
    if isinstance(resamples, bool) or not isinstance(resamples, (int, np.integer)) or resamples < 100:
        raise OptionError(f"bootstrap_interval: resamples must be an integer >= 100, got {resamples!r}")
    rng = np.random.default_rng(seed)
    total = np.zeros(int(resamples))
    for label in np.unique(g):
        members = v[g == label]
        draws = rng.integers(0, members.size, size=(int(resamples), members.size))
        total += members[draws].sum(axis=1)
    means = total / v.size
    tail = 100.0 * (1.0 - float(level)) / 2.0
    lo, hi = np.percentile(means, [tail, 100.0 - tail])
    return float(lo), float(hi)
