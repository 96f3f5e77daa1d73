"""Scoring a trained run on a split: the metrics and confusion matrix ``geolearn eval`` prints.

The split is rebuilt from the run's ``config.yaml`` exactly as training built it (same data, task,
representations, ``split_seed``, ``max_shapes``), the weights of ``best.pt`` (or ``last.pt``) are
loaded, and the trainer's own :meth:`~geolearn.train.Trainer.evaluate` scores it — so evaluating
the test split reproduces ``test_metrics.json``. ``data`` scores the run on another copy of the
data, or on another dataset with the same label names.

Several run directories score their **ensemble**: every run predicts the split on its own (its own
representation, weights and, with ``tta``, poses), the class or per-face probabilities (softmax,
each run's category mask applied) are averaged with equal weights, and the average is scored — so
runs of different encoders or seeds combine, as long as they share the task, the label names and
the split's shapes.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geolearn.errors import OptionError
from geolearn.jobs.runs import load_model, read_run
from geolearn.jobs.training import check_names, experiment_representations, open_splits

if TYPE_CHECKING:
    import torch

__all__ = [
    "EVAL_SPLITS",
    "AveragedProbabilities",
    "EvalResult",
    "average_probabilities",
    "evaluate_run",
    "posable",
    "probability_metrics",
    "smoothed_metrics",
    "symmetry_average",
]

EVAL_SPLITS = ("train", "val", "test", "all")


@dataclass
class EvalResult:
    """Metrics of one run on one split.

    Attributes:
        run_dir, checkpoint: the run and the weights scored.
        task, encoder, data, split: what was scored on what (``data`` None: the embedded dataset).
        names: label names, in the order of the confusion matrix rows/columns.
        shapes: shapes scored; failed_shapes: ``{"source", "reason"}`` of shapes that could not be read.
        metrics: ``loss`` and the task's metrics (:mod:`geolearn.train.tasks`): ``accuracy``,
            ``mean_class_accuracy``, ``per_class_accuracy`` (classify) or ``miou``,
            ``per_part_iou``, ``point_accuracy`` (segment), and ``confusion`` ``(K, K)`` (rows true,
            columns predicted; face areas for segmentation).
        seconds: wall time (preprocessing included).
        tta: the predictions were averaged over the symmetries of the cube (``poses`` of them).
        smooth: the per-face probabilities were smoothed over each mesh's faces before scoring
            (:func:`geolearn.geometry.propagation.smooth_face_probabilities`, default options); the
            metrics then have no ``loss`` and no ``point_accuracy`` (they are about points).
        members: for an ensemble, every run directory whose probabilities were averaged (``run_dir``
            and ``checkpoint`` are then the first's, ``poses`` the most of any member's: with
            ``tta``, members that no pose changes — descriptors, rendered views, the spectral basis —
            predict once); the metrics then have no ``loss`` and no ``point_accuracy`` (no run's loss
            is the ensemble's). Empty for one run.
    """

    run_dir: Path
    checkpoint: Path
    task: str
    encoder: str
    data: str | None
    split: str
    names: list[str]
    shapes: int
    failed_shapes: list[dict[str, str]]
    metrics: dict[str, Any]
    seconds: float
    tta: bool = False
    poses: int = 1
    smooth: bool = False
    members: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (paths as strings)."""
        out = dataclasses.asdict(self)
        out["run_dir"], out["checkpoint"] = str(self.run_dir), str(self.checkpoint)
        return out


def evaluate_run(
    run_dir: str | Path | Sequence[str | Path],
    *,
    data: str | Path | None = None,
    split: str = "test",
    checkpoint: str = "best",
    device: str | torch.device = "auto",
    batch_size: int | None = None,
    progress: bool = False,
    workers: int | None = None,
    tta: bool = False,
    smooth: bool = False,
) -> EvalResult:
    """Score the run in ``run_dir`` on ``split`` of its data (or of ``data``).

    Args:
        run_dir: a run directory, or several: their ensemble (see the module docstring) is scored.
        data: another dataset path (archive or folder) with the same label names; ``None`` uses the
            run's own data.
        split: ``"train"``, ``"val"``, ``"test"`` or ``"all"``.
        checkpoint: ``"best"`` or ``"last"``.
        device: where the model runs.
        batch_size: shapes per batch (default: the run's).
        progress: show progress bars on stderr.
        workers: preprocessing processes (``None``: every CPU).
        tta: average the predictions over symmetries of the cube (:class:`~geolearn.nn.tta.SymmetryAverage`):
            those of the run's ``symmetry`` augmentation (e.g. the 8 mirror images for
            ``{symmetry: {permute: false}}``), else all 48.
        smooth: segmentation only: smooth each mesh's per-face probabilities over its faces
            (label propagation, :func:`geolearn.geometry.propagation.smooth_face_probabilities`)
            before taking the argmax; combines with ``tta`` (which averages first).

    Raises:
        OptionError: bad run directory, split or batch size; ``tta`` with a run on rendered views or on
            orientation-free inputs (descriptors, the spectral basis); ``smooth`` with a classification
            run; ensemble members of other tasks, other label names or other shapes in the split.
            DatasetError: ``data`` cannot be read or has other label names.
    """
    t0 = time.perf_counter()
    if split not in EVAL_SPLITS:
        raise OptionError(f"--split must be one of {', '.join(EVAL_SPLITS)}, got {split!r}")
    dirs = [run_dir] if isinstance(run_dir, (str, Path)) else list(run_dir)
    if not dirs:
        raise OptionError("give at least one run directory")
    runs = [read_run(d, checkpoint) for d in dirs]
    for run in runs:
        if smooth and run.config.task != "segment":
            raise OptionError(
                f"--smooth: {run.path} is a {run.config.task} run; smoothing is for per-face labels"
            )
    options = dict(
        data=data,
        split=split,
        device=device,
        batch_size=batch_size,
        progress=progress,
        workers=workers,
        tta=tta,
    )
    if len(runs) > 1:
        return _evaluate_ensemble(runs, smooth=smooth, t0=t0, **options)
    run = runs[0]
    member = _open_member(run, **options)
    trainer, ds = member.trainer, member.dataset
    metrics = smoothed_metrics(trainer, ds) if smooth else trainer.evaluate(ds)
    return EvalResult(
        run_dir=run.path,
        checkpoint=run.checkpoint,
        task=member.config.task,
        encoder=member.config.encoder,
        data=member.config.data,
        split=split,
        names=list(run.names),
        shapes=len(ds),
        failed_shapes=member.failures,
        metrics=metrics,
        seconds=time.perf_counter() - t0,
        tta=tta,
        poses=member.poses,
        smooth=smooth,
    )


@dataclass
class _Member:
    """One run ready to score a split: its config (``data`` replaced), split, trainer and poses."""

    config: Any
    dataset: Any
    trainer: Any
    failures: list[dict[str, str]]
    poses: int


def _open_member(
    run: Any,
    *,
    data: str | Path | None,
    split: str,
    device: str | torch.device,
    batch_size: int | None,
    progress: bool,
    workers: int | None,
    tta: bool,
    posable_only: bool = False,
) -> _Member:
    """The split of ``run``'s data (or of ``data``) rebuilt as training built it, and a trainer
    holding its weights (wrapped in the symmetry average with ``tta``; with ``posable_only``, only
    when the run reads something a symmetry moves: an ensemble member on descriptors or rendered
    views then predicts once instead of refusing)."""
    from geolearn.datasets import collate_shapes, detect_kind
    from geolearn.train import Trainer

    config = run.config
    if data is not None:
        data = str(data)
        same_kind = detect_kind(data) == detect_kind(config.data)
        # dataset options (e.g. a PSB category) carry over to another copy of the same kind of data
        config = dataclasses.replace(
            config, data=data, dataset_kwargs=config.dataset_kwargs if same_kind else {}
        )
    train_config = config.train
    if batch_size is not None:
        train_config = dataclasses.replace(train_config, batch_size=batch_size)  # validated there
    representations = experiment_representations(config)
    opened = open_splits(config, representations, names=(split,), progress=progress, workers=workers)
    ds = opened.datasets[split]
    have = tuple(ds.label_names or ()) if config.task == "segment" else tuple(ds.class_names)
    check_names(config.data or "the embedded dataset", have, run.names, config.task)
    sample = ds[0]
    model = load_model(run, collate_shapes([sample]), device)
    poses = 1
    if tta and (posable(sample) or not posable_only):
        model = symmetry_average(model, config, sample, config.train.restrict_to_category)
        poses = len(model.symmetries)
    trainer = Trainer(
        model, train_config, task=config.task, run_dir=run.path, device=device, progress=progress
    )
    return _Member(config, ds, trainer, opened.failures, poses)


# what encoders read that no symmetry of the cube moves: rendered views, orientation-free descriptors,
# the intrinsic spectral geometry of the surface
_VIEW_KEYS = ("views",)
_ORIENTATION_FREE_KEYS = ("descriptor", "face_features", "spectral_hks")


def posable(sample: dict[str, Any]) -> bool:
    """A symmetry of the cube moves what the sample gives the encoder (not views, not descriptors,
    not the spectral basis)."""
    return not any(key in sample for key in (*_VIEW_KEYS, *_ORIENTATION_FREE_KEYS))


@dataclass
class AveragedProbabilities:
    """Several runs' probabilities on one split, averaged (:func:`average_probabilities`).

    Attributes:
        dataset: the split as the first run reads it (``rows`` index it).
        rows: per shape, in the first run's order: its index in ``dataset`` and its averaged
            probabilities, ``(1, K)`` (classify) or ``(F, K)`` per face (segment), float64.
        encoders: each run's encoder; poses: the most poses any run averaged over (``tta``);
        failures: shapes of the split that could not be read (as the first run read them).
    """

    dataset: Any
    rows: list[tuple[int, torch.Tensor]]
    encoders: list[str]
    poses: int
    failures: list[dict[str, str]]


def average_probabilities(runs: Sequence[Any], **options: Any) -> AveragedProbabilities:
    """Every run predicts ``split`` on its own (representation, weights and, with ``tta``, poses;
    a run that no pose changes — descriptors, rendered views, the spectral basis — then predicts
    once); their softmax outputs (each run's category mask applied) are averaged with equal weights,
    shape by shape.

    Args:
        runs: :class:`~geolearn.jobs.runs.RunInfo` of one task and the same label names.
        **options: ``data``, ``split``, ``device``, ``batch_size``, ``progress``, ``workers``, ``tta``
            (as :func:`evaluate_run`).

    Raises:
        OptionError: runs of other tasks or labels, or whose split holds other shapes, naming the run.
    """
    import torch

    first = runs[0]
    task = first.config.task
    for run in runs[1:]:
        if run.config.task != task:
            raise OptionError(
                f"{run.path}: a {run.config.task} run, but {first.path} is a {task} run; "
                "an ensemble averages runs of one task"
            )
        if tuple(run.names) != tuple(first.names):
            raise OptionError(
                f"{run.path}: its labels differ from those of {first.path} "
                f"({len(run.names)} vs {len(first.names)} names); an ensemble averages runs over the same labels"
            )
    lead, order, total, encoders, poses = None, [], {}, [], 1
    for run in runs:
        member = _open_member(run, posable_only=True, **options)
        preds = member.trainer.predict(member.dataset)
        probs = torch.softmax(preds.logits.double(), dim=1)
        ptr = preds.ptr.tolist()
        by_source = {src: probs[ptr[i] : ptr[i + 1]] for i, src in enumerate(preds.source)}
        if lead is None:
            lead, total = member, by_source
            order = list(zip(preds.source, preds.index.tolist(), strict=True))
        else:
            if set(by_source) != set(total):
                raise OptionError(
                    f"{run.path}: its {options['split']} split holds other shapes than that of {first.path} "
                    f"({len(by_source)} vs {len(total)}); ensemble members must share the data, "
                    "val_fraction, split_seed and max_shapes"
                )
            for src, rows in by_source.items():
                if rows.shape != total[src].shape:
                    raise OptionError(
                        f"{run.path}: {src}: {rows.shape[0]} predicted rows, {total[src].shape[0]} "
                        f"from {first.path}"
                    )
                total[src] = total[src] + rows
        encoders.append(member.config.encoder)
        poses = max(poses, member.poses)
        del member, preds  # only the first run's split is kept
    rows = [(int(index), total[src] / len(runs)) for src, index in order]
    return AveragedProbabilities(lead.dataset, rows, encoders, poses, lead.failures)


def _evaluate_ensemble(runs: list[Any], *, smooth: bool, t0: float, **options: Any) -> EvalResult:
    """The metrics of the average of ``runs``' probabilities on the split (see :func:`evaluate_run`)."""
    from geolearn.train.tasks import get_task

    first = runs[0]
    averaged = average_probabilities(runs, **options)
    task = get_task(first.config.task)
    metrics = probability_metrics(task, averaged.dataset, averaged.rows, smooth=smooth)
    return EvalResult(
        run_dir=first.path,
        checkpoint=first.checkpoint,
        task=first.config.task,
        encoder="+".join(averaged.encoders),
        data=str(options["data"]) if options["data"] is not None else first.config.data,
        split=options["split"],
        names=list(first.names),
        shapes=len(averaged.dataset),
        failed_shapes=averaged.failures,
        metrics=metrics,
        seconds=time.perf_counter() - t0,
        tta=options["tta"],
        poses=averaged.poses,
        smooth=smooth,
        members=[str(run.path) for run in runs],
    )


def symmetry_average(model: torch.nn.Module, config: Any, sample: dict[str, Any], restrict: bool) -> Any:
    """``model`` wrapped in :class:`~geolearn.nn.tta.SymmetryAverage` over the poses of the run's
    ``symmetry`` augmentation (all 48 without one), each pose's logits restricted to the shape's
    category (the batch's ``part_mask``) when ``restrict``.

    Raises:
        OptionError: the run reads rendered views (no symmetry of the points moves them) or
            orientation-free inputs: descriptors, the spectral basis (every pose gives the same prediction).
    """
    from geolearn.nn.tta import SymmetryAverage
    from geolearn.train.tasks import get_task

    if any(key in sample for key in _VIEW_KEYS):
        raise OptionError(
            f"--tta: {config.encoder} reads rendered views, which no symmetry of the shape can move"
        )
    if any(key in sample for key in _ORIENTATION_FREE_KEYS):
        raise OptionError(
            f"--tta: {config.encoder} reads orientation-free inputs (descriptors, or the surface's intrinsic "
            "geometry): every pose gives the same prediction"
        )
    trained_poses = config.augment.get("symmetry") or {}  # the run's symmetry augmentation, else all 48
    mask = get_task(config.task).restrict if restrict else None
    return SymmetryAverage(model, restrict=mask, **trained_poses)


def smoothed_metrics(trainer: Any, ds: Any) -> dict[str, Any]:
    """The segmentation metrics of ``trainer``'s model on ``ds`` with every mesh's per-face
    probabilities smoothed over its faces first (the trainer's face pooling and category mask)."""
    import torch

    preds = trainer.predict(ds)
    ptr = preds.ptr.tolist()
    rows = [
        (index, torch.softmax(preds.logits[ptr[row] : ptr[row + 1]].double(), dim=1))
        for row, index in enumerate(preds.index.tolist())
    ]
    return probability_metrics(trainer.task, ds, rows, smooth=True)


def probability_metrics(
    task: Any, ds: Any, rows: Sequence[tuple[int, torch.Tensor]], *, smooth: bool = False
) -> dict[str, Any]:
    """The task's metrics of predicted probabilities, scored as the trainer scores its argmax.

    Args:
        task: the :class:`~geolearn.train.tasks.Task`.
        ds: the dataset the probabilities are about.
        rows: per shape, its index in ``ds`` and its probabilities: ``(1, K)`` (classify) or
            ``(F, K)`` per face (segment).
        smooth: segmentation: smooth every mesh's face probabilities over its faces first
            (:func:`geolearn.geometry.propagation.smooth_face_probabilities`).

    Returns:
        classify: ``accuracy``, ``mean_class_accuracy``, ``per_class_accuracy``, ``confusion``;
        segment: ``accuracy`` (area-weighted, mean over shapes), ``miou``, ``per_part_iou``,
        ``confusion`` (face areas). No ``loss``: there are no logits to take it from.

    Raises:
        OptionError: a mesh whose face count differs from its rows; smoothing that fails (names the mesh).
    """
    import numpy as np
    import torch

    from geolearn.geometry.propagation import face_graph, smooth_face_probabilities
    from geolearn.train import metrics as m

    if not rows:
        raise OptionError("no shape to score")
    k = int(rows[0][1].shape[1])
    if task.name == "classify":
        pred = torch.tensor([int(p.reshape(-1, k).argmax(dim=1)[0]) for _, p in rows])
        true = torch.tensor([int(ds[index]["label"]) for index, _ in rows])
        return task.summarize({"confusion": m.confusion_matrix(pred, true, k)})
    labels, truth, areas = [], [], []
    for index, p in rows:
        sample = ds[index]
        f = int(sample["face_labels"].numel())
        if p.shape[0] != f:
            raise OptionError(f"{sample['source']}: {p.shape[0]} predicted faces, {f} labelled")
        if smooth:
            mesh = ds.load_mesh(index)
            if mesh.num_faces != f:
                raise OptionError(f"{sample['source']}: {mesh.num_faces} faces read, {f} labelled")
            try:
                q = smooth_face_probabilities(p.double().numpy(), face_graph(mesh))
            except OptionError as e:  # e.g. non-finite outputs: say which mesh
                raise OptionError(f"{sample['source']}: {e}") from e
            labels.append(torch.from_numpy(np.argmax(q, axis=1)))
        else:
            labels.append(p.argmax(dim=1))
        truth.append(sample["face_labels"])
        areas.append(sample["face_areas"])
    face_pred, face_true, area = torch.cat(labels), torch.cat(truth), torch.cat(areas)
    face_ptr = torch.tensor([0] + [len(t) for t in truth]).cumsum(0)
    shape_acc = m.per_shape_accuracy(face_pred, face_true, area, face_ptr)
    stats = {
        "face_confusion": m.confusion_matrix(face_pred, face_true, k, weight=area),
        "shape_accuracy_sum": shape_acc.nan_to_num(0.0).sum(),
        "shapes": (~shape_acc.isnan()).sum(),
    }
    return task.summarize(stats)
