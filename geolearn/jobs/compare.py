"""Comparing encoders and hand-crafted descriptors on equal terms: one table.

:func:`compare` trains every chosen method with the same head type, training loop, split, seed and
budget (epochs, batch size, learning rate and the sizes of the representations in :class:`Budget`)
and scores each on the test split. A *method* is

- a registered encoder (``pointnet``, ``voxnet``, ``mvcnn``, ``dgcnn``, ``voxunet``, ...), or
  ``face_features`` (hand-crafted per-face features);
- a global descriptor for classification — a shape distribution (``d1 d2 d3 d4 a3``, or several
  joined by ``+``) or ``sdf`` (the SDF histogram) — fed to the same classification head through the
  ``descriptor`` encoder (standardised, no learned feature extractor);
- for classification, always (unless ``baseline=False``), Osada et al.'s retrieval-style
  baseline ``osada-d2``: each test shape takes the class of its nearest training shape under the
  L1 distance between D2 shape distributions (no training).

Every learned method's run is an ordinary run directory ``OUT/<method>/`` (reproduce it with
``geolearn train --config OUT/<method>/config.yaml --out ...``; inspect it with ``geolearn eval``).
The comparison writes ``OUT/compare.json`` (every number), ``OUT/compare.md`` (the table, the
budget and how it was produced) and ``OUT/figures/`` (a confusion matrix per method and the
training curves).

Columns: accuracy and mean class accuracy (classify) or area-weighted face accuracy and mean IoU
over parts (segment); parameters (all trainable weights, head included); training time (wall
time of the fit, per-epoch validation included); inference time per test shape (evaluation of the
test split from cached representations, divided by its size); feature extraction time per shape
(computing the method's representations of one normalised mesh, mean over ``timing_shapes`` test
meshes, in this process).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from geolearn.errors import OptionError
from geolearn.jobs.report import fmt_number, markdown_table, provenance, text_table

if TYPE_CHECKING:
    import torch

    from geolearn.datasets import ShapeDataset
    from geolearn.train.config import ExperimentConfig

__all__ = [
    "BASELINE",
    "DEFAULT_METHODS",
    "Budget",
    "Comparison",
    "MethodResult",
    "MethodSpec",
    "compare",
    "describe_methods",
    "nearest_neighbour_baseline",
    "resolve_methods",
    "time_features",
]

logger = logging.getLogger(__name__)

#: The retrieval-style baseline of Osada et al. (2002): 1-NN, L1 distance, D2 shape distributions.
BASELINE = "osada-d2"
#: What ``geolearn compare`` runs when no ``--encoders`` are given.
DEFAULT_METHODS: dict[str, tuple[str, ...]] = {
    "classify": ("pointnet", "voxnet", "mvcnn", "d2", "sdf"),
    "segment": ("pointnet", "voxunet", "mvcnn", "face_features"),
}
_DISTRIBUTIONS = ("d1", "d2", "d3", "d4", "a3")


@dataclass(frozen=True)
class Budget:
    """The representation sizes every method of a comparison shares.

    Attributes:
        num_points: surface points (point encoders; the query points of every segmentation).
        resolution: voxel grid side R (R³ voxels).
        num_views: rendered views; image_size: their side in pixels.
        descriptor_samples: point tuples drawn per shape distribution (Osada: 1024²).
        descriptor_bins: bins of each shape distribution.
    """

    num_points: int = 1024
    resolution: int = 32
    num_views: int = 12
    image_size: int = 64
    descriptor_samples: int = 1024**2
    descriptor_bins: int = 64

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise OptionError(f"budget {f.name}: must be a positive integer, got {v!r}")


@dataclass(frozen=True)
class MethodSpec:
    """One row of a comparison.

    Attributes:
        name: the row's name (``pointnet``, ``d2``, ``osada-d2``, ...).
        encoder: the registered encoder trained, or None for the nearest-neighbour baseline.
        representation_kwargs: arguments of the encoder's representations.
        kind: ``"learned"`` (a network), ``"descriptor"`` (hand-crafted features + the shared head)
            or ``"retrieval"`` (1-NN, nothing trained).
    """

    name: str
    encoder: str | None
    representation_kwargs: dict[str, Any]
    kind: str


def describe_methods(task: str) -> list[str]:
    """The method names :func:`resolve_methods` accepts for ``task``."""
    from geolearn.nn.registry import list_encoders

    names = [n for n in list_encoders(task) if n != "descriptor"]
    if task == "classify":
        names += [*_DISTRIBUTIONS, "sdf"]
    return names


def _is_distribution(name: str) -> bool:
    parts = name.split("+")
    return all(p in _DISTRIBUTIONS for p in parts) and len(set(parts)) == len(parts)


def resolve_methods(names: Sequence[str], task: str, budget: Budget) -> list[MethodSpec]:
    """The :class:`MethodSpec` of each method name (see the module docstring) under ``budget``.

    Raises:
        OptionError: an unknown name, a duplicate, or a method that cannot do ``task``.
    """
    import inspect

    from geolearn.nn.registry import get_encoder_info, list_encoders

    if task not in ("classify", "segment"):
        raise OptionError(f"--task must be classify or segment, got {task!r}")
    if not names:
        raise OptionError("--encoders: name at least one encoder or descriptor")
    dup = sorted({n for n in names if list(names).count(n) > 1})
    if dup:
        raise OptionError(f"--encoders: {', '.join(dup)} given twice")
    registered = list_encoders()
    specs = []
    for name in names:
        if name == BASELINE:
            raise OptionError(
                f"--encoders: {BASELINE} is added by itself to classification (--no-baseline drops it)"
            )
        if _is_distribution(name) or name == "sdf":
            if task != "classify":
                raise OptionError(
                    f"--encoders {name}: a global descriptor cannot segment faces; use face_features"
                )
            kw: dict[str, Any] = (
                {"kind": "sdf"}
                if name == "sdf"
                else {"kind": name, "samples": budget.descriptor_samples, "bins": budget.descriptor_bins}
            )
            specs.append(MethodSpec(name, "descriptor", kw, "descriptor"))
            continue
        if name not in registered:
            raise OptionError(
                f"--encoders: unknown encoder or descriptor {name!r}; choose from {', '.join(describe_methods(task))}"
            )
        info = get_encoder_info(name)
        if task not in info.tasks:
            raise OptionError(
                f"--encoders {name}: cannot {task} (it supports {', '.join(sorted(info.tasks))})"
            )
        if info.representation == "descriptor":
            kw = {"kind": "d2", "samples": budget.descriptor_samples, "bins": budget.descriptor_bins}
        else:
            sizes = {
                "num_points": budget.num_points,
                "resolution": budget.resolution,
                "num_views": budget.num_views,
                "size": budget.image_size,
            }
            # the sizes the encoder's representation function names (its **kwargs, e.g. the face
            # features' options, keep their defaults)
            params = inspect.signature(info.representations).parameters
            kw = {k: v for k, v in sizes.items() if k in params}
            if task == "classify" and info.representation not in ("points", "spectral"):
                kw.pop("num_points", None)  # query points only matter to segmentation
        kind = "descriptor" if info.representation in ("descriptor", "face_features") else "learned"
        specs.append(MethodSpec(name, name, kw, kind))
    return specs


@dataclass
class MethodResult:
    """The scores and costs of one method.

    Attributes:
        method, encoder, kind: see :class:`MethodSpec`. representation: the representations' reprs.
        metrics: the test metrics (``accuracy``, ``mean_class_accuracy`` or ``miou``, per-class
            lists, ``confusion``).
        parameters: trainable weights (0 for the baseline).
        train_seconds: wall time of the fit (0 for the baseline).
        inference_ms: per test shape. features_ms: representation extraction per shape.
        preprocess_seconds: opening and preprocessing the splits (0 when everything was cached).
        epochs, best_epoch: of the fit (None for the baseline).
        run_dir: the method's run directory (None for the baseline).
    """

    method: str
    encoder: str | None
    kind: str
    representation: str
    metrics: dict[str, Any]
    parameters: int
    train_seconds: float
    inference_ms: float
    features_ms: float
    preprocess_seconds: float
    epochs: int | None
    best_epoch: int | None
    run_dir: Path | None

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["run_dir"] = None if self.run_dir is None else str(self.run_dir)
        return out


@dataclass
class Comparison:
    """A finished comparison (see the module docstring).

    Attributes:
        task, data: what was compared on what (``data`` None: the embedded dataset).
        names: class names (classify) or part names (segment).
        shapes: shapes per split.
        results: one :class:`MethodResult` per method, in the order run.
        budget: the :class:`Budget`; train: the shared training options.
        note: a line printed above the table (e.g. "small demo budget").
        out_dir: where everything was written; figures: the PNGs written.
        provenance: command, commit, seed, date, wall time, machine load (:func:`provenance`).
    """

    task: str
    data: str | None
    names: list[str]
    shapes: dict[str, int]
    results: list[MethodResult]
    budget: Budget
    train: dict[str, Any]
    note: str | None = None
    out_dir: Path | None = None
    figures: list[Path] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    @property
    def score_keys(self) -> tuple[str, str]:
        return ("accuracy", "mean_class_accuracy") if self.task == "classify" else ("accuracy", "miou")

    def table(self) -> tuple[list[str], list[list[str]], list[bool]]:
        """``(headers, rows, numeric)`` of the result table (strings, formatted)."""
        first, second = (
            ("accuracy %", "mean class acc. %")
            if self.task == "classify"
            else (
                "face accuracy %",
                "mean IoU %",
            )
        )
        headers = [
            "method",
            "kind",
            first,
            second,
            "parameters",
            "train s",
            "infer ms/shape",
            "features ms/shape",
        ]
        rows = []
        a, b = self.score_keys
        for r in self.results:
            rows.append(
                [
                    r.method,
                    r.kind,
                    fmt_number(r.metrics.get(a), percent=True),
                    fmt_number(r.metrics.get(b), percent=True),
                    fmt_number(int(r.parameters)),
                    fmt_number(round(r.train_seconds, 1)) if r.encoder else "—",
                    fmt_number(r.inference_ms),
                    fmt_number(r.features_ms),
                ]
            )
        return headers, rows, [False, False, True, True, True, True, True, True]

    def summary_lines(self) -> list[str]:
        """The lines above and below the table: data, budget, legend, provenance."""
        b, t = self.budget, self.train
        where = self.data or "the embedded dataset"
        shapes = ", ".join(f"{k} {v}" for k, v in self.shapes.items())
        lines = [
            f"{self.task} on {where}: {len(self.names)} {'classes' if self.task == 'classify' else 'part labels'}; shapes {shapes}"
        ]
        if self.note:
            lines.append(self.note)
        lines.append(
            f"budget: {t['epochs']} epochs, batch {t['batch_size']}, {t['optimizer']} lr {t['lr']:g}, seed {t['seed']} "
            f"(split seed {t['split_seed']}); {b.num_points} points, {b.resolution}³ voxels, "
            f"{b.num_views} views of {b.image_size}², shape distributions of {b.descriptor_samples:,} samples in "
            f"{b.descriptor_bins} bins"
        )
        return lines

    def legend(self) -> list[str]:
        lines = [
            "train s: wall time of the fit (per-epoch validation included); infer: test-split evaluation from "
            "cached inputs per shape; features: computing the method's representations of one mesh.",
        ]
        if any(r.kind == "retrieval" for r in self.results):
            lines.append(
                f"{BASELINE}: Osada et al. 2002 — each test shape takes the class of its nearest training shape "
                "(L1 distance between D2 shape distributions); nothing is trained."
            )
        if self.task == "segment":
            lines.append(
                "face accuracy: labelled surface-area fraction per shape, averaged; mean IoU: area-weighted "
                "per-part IoU over the test split, averaged over parts present."
            )
        return lines

    def to_text(self) -> str:
        headers, rows, numeric = self.table()
        p = self.provenance
        tail = [
            f"wall time {p.get('wall_seconds')} s, commit {p.get('commit')}, load average {p.get('load_average')}"
        ]
        return (
            "\n".join([*self.summary_lines(), "", text_table(headers, rows, numeric), *self.legend(), *tail])
            + "\n"
        )

    def to_markdown(self, relative_to: Path | None = None) -> str:
        """The markdown report; figure links are relative to ``relative_to`` (default ``out_dir``)."""
        headers, rows, numeric = self.table()
        base = relative_to if relative_to is not None else self.out_dir
        p = self.provenance
        title = f"# Comparison: {self.task} on {self.data or 'the embedded dataset'}\n"
        lines = [title, *[f"{x}  " for x in self.summary_lines()], "", markdown_table(headers, rows, numeric)]
        lines += [*self.legend(), ""]
        if self.figures and base is not None:
            links = ", ".join(f"[{f.name}]({os.path.relpath(f, base)})" for f in self.figures)
            lines.append(f"Figures: {links}")
            lines.append("")
        lines += [
            "Produced by:",
            "",
            f"    {p.get('command')}",
            "",
            f"commit `{p.get('commit')}`, seed {p.get('seed')}, {p.get('date')}, wall time {p.get('wall_seconds')} s "
            f"on {p.get('cpus')} CPUs (load average {p.get('load_average')}).",
            "Each learned method's run directory reproduces it alone: "
            "`geolearn train --config <run>/config.yaml --out <new dir>`.",
        ]
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "data": self.data,
            "names": self.names,
            "shapes": self.shapes,
            "note": self.note,
            "budget": dataclasses.asdict(self.budget),
            "train": self.train,
            "results": [r.to_dict() for r in self.results],
            "out_dir": None if self.out_dir is None else str(self.out_dir),
            "figures": [str(f) for f in self.figures],
            "provenance": self.provenance,
        }


def time_features(dataset: ShapeDataset, representations: Sequence[Any], num_shapes: int = 8) -> float:
    """Mean seconds to compute ``representations`` of one mesh (normalised as the datasets do),
    over the first ``num_shapes`` shapes of ``dataset``, after one untimed warm-up call (first-call
    costs: imports, thread pools); segmentation targets (:class:`~geolearn.datasets.FaceLabels`)
    are not counted."""
    from geolearn.datasets import FaceLabels
    from geolearn.mesh import normalize

    reps = [r for r in representations if not isinstance(r, FaceLabels)]
    n = min(num_shapes, len(dataset))
    if n == 0 or not reps:
        return 0.0
    meshes = [normalize(dataset.load_mesh(i), dataset.normalization) for i in range(n)]
    for rep in reps:
        rep(meshes[0])
    total = 0.0
    for mesh in meshes:
        t0 = time.perf_counter()
        for rep in reps:
            rep(mesh)
        total += time.perf_counter() - t0
    return total / n


@dataclass
class BaselineResult:
    """:func:`nearest_neighbour_baseline`'s row and the descriptors it compared.

    Shapes: ``train_descriptors (S_train, D)``, ``test_descriptors (S_test, D)`` float32;
    ``train_labels``, ``test_labels``, ``predicted`` int64.
    """

    result: MethodResult
    train_descriptors: np.ndarray
    train_labels: np.ndarray
    test_descriptors: np.ndarray
    test_labels: np.ndarray
    predicted: np.ndarray


def nearest_neighbour_baseline(
    base: ExperimentConfig,
    budget: Budget,
    *,
    kind: str = "d2",
    progress: bool = False,
    workers: int | None = None,
    timing_shapes: int = 8,
) -> BaselineResult:
    """Osada et al.'s classifier: the label of the training shape whose shape distribution is
    nearest (L1, :func:`geolearn.descriptors.nearest_neighbours`) to the test shape's."""
    import torch

    from geolearn.descriptors import nearest_neighbours
    from geolearn.descriptors.representations import ShapeDistribution
    from geolearn.jobs.training import open_splits
    from geolearn.train import metrics

    rep = ShapeDistribution(kind=kind, samples=budget.descriptor_samples, bins=budget.descriptor_bins)
    opened = open_splits(base, [rep], names=("train", "test"), progress=progress, workers=workers)
    train, test = opened.datasets["train"], opened.datasets["test"]

    def stack(ds: ShapeDataset) -> np.ndarray:
        return np.stack([ds[i]["descriptor"].numpy() for i in range(len(ds))])  # (S, D)

    db, queries = stack(train), stack(test)
    t0 = time.perf_counter()
    nn = nearest_neighbours(queries, db, k=1)
    predicted = train.labels[np.asarray(nn.index)[:, 0]]  # (S_test,)
    seconds = time.perf_counter() - t0
    k = len(train.class_names)
    conf = metrics.confusion_matrix(torch.from_numpy(predicted), torch.from_numpy(test.labels), k)
    scores = {
        "accuracy": metrics.accuracy(conf),
        "mean_class_accuracy": metrics.mean_class_accuracy(conf),
        "per_class_accuracy": [None if np.isnan(v) else v for v in metrics.per_class_accuracy(conf).tolist()],
        "confusion": conf.tolist(),
    }
    row = MethodResult(
        method=f"osada-{kind}",
        encoder=None,
        kind="retrieval",
        representation=repr(rep),
        metrics=scores,
        parameters=0,
        train_seconds=0.0,
        inference_ms=1000.0 * seconds / len(test),
        features_ms=1000.0 * time_features(test, [rep], timing_shapes),
        preprocess_seconds=opened.seconds,
        epochs=None,
        best_epoch=None,
        run_dir=None,
    )
    return BaselineResult(row, db, train.labels, queries, test.labels, predicted)


def compare(
    base: ExperimentConfig,
    methods: Sequence[str] | None,
    out_dir: str | Path,
    *,
    budget: Budget | None = None,
    baseline: bool = True,
    device: str | torch.device = "auto",
    quiet: bool = False,
    workers: int | None = None,
    timing_shapes: int = 8,
    note: str | None = None,
    started: float | None = None,
) -> Comparison:
    """Train and score every method of ``methods`` under the same conditions (module docstring).

    Args:
        base: the shared experiment: ``task``, ``data``, ``max_shapes``, ``split_seed``,
            ``val_fraction``, ``dataset_kwargs`` and the training options (epochs, batch size, lr,
            seed, ...). Its ``encoder``/``representation_kwargs`` are replaced per method.
        methods: method names (:func:`describe_methods`); ``None``: :data:`DEFAULT_METHODS`.
        out_dir: where the runs, tables and figures go (created).
        budget: representation sizes (default :class:`Budget`).
        baseline: add :data:`BASELINE` to classification.
        device: where the models train.
        quiet: no progress bars and no per-method log lines.
        workers: preprocessing processes (``None``: every CPU).
        timing_shapes: meshes the feature extraction time is measured on.
        note: printed above the table.
        started: ``time.perf_counter()`` when the job started (default: now), for the wall time.

    Returns:
        the :class:`Comparison` (also written as ``compare.json`` and ``compare.md``).
    """
    import sys

    from geolearn.jobs.training import experiment_representations, train_experiment
    from geolearn.train.rundir import to_json

    started = time.perf_counter() if started is None else started
    budget = budget if budget is not None else Budget()
    task = base.task
    specs = resolve_methods(list(methods) if methods is not None else DEFAULT_METHODS[task], task, budget)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    progress = not quiet and sys.stderr.isatty()
    results: list[MethodResult] = []
    histories: dict[str, list[dict[str, Any]]] = {}
    names: list[str] = []
    shapes: dict[str, int] = {}
    total = len(specs) + (1 if baseline and task == "classify" else 0)
    for i, spec in enumerate(specs, 1):
        config = dataclasses.replace(
            base, encoder=spec.encoder or "", representation_kwargs=spec.representation_kwargs
        )
        reps = experiment_representations(config)
        _log(
            quiet,
            f"[{i}/{total}] {spec.name}: {', '.join(repr(r) for r in reps)}; {base.train.epochs} epochs",
        )
        outcome = train_experiment(config, out / spec.name, device=device, quiet=quiet, workers=workers)
        rep = outcome.report
        names, shapes = rep["classes"], rep["shapes"]
        test = outcome.splits.datasets["test"]
        row = MethodResult(
            method=spec.name,
            encoder=spec.encoder,
            kind=spec.kind,
            representation=", ".join(repr(r) for r in reps),
            metrics=rep["test"],
            parameters=int(rep["parameters"]),
            train_seconds=float(rep["seconds"]["fit"]),
            inference_ms=1000.0 * float(rep["seconds"]["test"]) / len(test),
            features_ms=1000.0 * time_features(test, reps, timing_shapes),
            preprocess_seconds=float(rep["seconds"]["preprocess"]),
            epochs=int(rep["epochs"]),
            best_epoch=rep["best_epoch"],
            run_dir=out / spec.name,
        )
        results.append(row)
        histories[spec.name] = list(outcome.trainer.history)
        a, b = ("accuracy", "mean_class_accuracy") if task == "classify" else ("accuracy", "miou")
        _log(
            quiet,
            f"[{i}/{total}] {spec.name}: test {a} {fmt_number(row.metrics.get(a), percent=True)}%, "
            f"{b} {fmt_number(row.metrics.get(b), percent=True)}% (fit {row.train_seconds:.1f} s)",
        )
    if baseline and task == "classify":
        _log(quiet, f"[{total}/{total}] {BASELINE}: 1-nearest neighbour, L1 on D2 shape distributions")
        base_result = nearest_neighbour_baseline(
            base, budget, progress=progress, workers=workers, timing_shapes=timing_shapes
        )
        results.append(base_result.result)
        if not names:
            names = list(_names(base))
    comparison = Comparison(
        task=task,
        data=base.data,
        names=list(names),
        shapes=dict(shapes),
        results=results,
        budget=budget,
        train={
            **dataclasses.asdict(base.train),
            "split_seed": base.split_seed,
            "max_shapes": base.max_shapes,
        },
        note=note,
        out_dir=out,
    )
    comparison.figures = _figures(comparison, histories, out / "figures")
    comparison.provenance = provenance(seed=base.train.seed, started=started)
    (out / "compare.json").write_text(
        json.dumps(to_json(comparison.to_dict()), indent=2, allow_nan=False) + "\n"
    )
    (out / "compare.md").write_text(comparison.to_markdown())
    return comparison


def _names(base: ExperimentConfig) -> tuple[str, ...]:
    from geolearn.jobs.training import dataset_names

    return dataset_names(base)


def _log(quiet: bool, message: str) -> None:
    if not quiet:
        logger.info(message)


def _figures(comparison: Comparison, histories: dict[str, list[dict[str, Any]]], where: Path) -> list[Path]:
    from geolearn.viz.plots import plot_confusion, plot_training_curves

    figures = []
    for r in comparison.results:
        if "confusion" in r.metrics:
            figures.append(
                plot_confusion(
                    r.metrics["confusion"],
                    comparison.names,
                    where / f"confusion-{r.method}.png",
                    title=f"{r.method}, test split"
                    + (" (face area)" if comparison.task == "segment" else ""),
                )
            )
    if histories:
        figures.append(
            plot_training_curves(histories, where / "curves.png", title=f"{comparison.task}: training curves")
        )
    return figures
