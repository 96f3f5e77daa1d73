"""Scoring a trained run on a split: the metrics and confusion matrix ``geolearn eval`` prints.

The split is rebuilt from the run's ``config.yaml`` exactly as training built it (same data, task,
representations, ``split_seed``, ``max_shapes``), the weights of ``best.pt`` (or ``last.pt``) are
loaded, and the trainer's own :meth:`~geolearn.train.Trainer.evaluate` scores it — so evaluating
the test split reproduces ``test_metrics.json``. ``data`` scores the run on another copy of the
data, or on another dataset with the same label names.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geolearn.errors import OptionError
from geolearn.jobs.runs import load_model, read_run
from geolearn.jobs.training import check_names, experiment_representations, open_splits

if TYPE_CHECKING:
    import torch

__all__ = ["EVAL_SPLITS", "EvalResult", "evaluate_run", "smoothed_metrics", "symmetry_average"]

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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (paths as strings)."""
        out = dataclasses.asdict(self)
        out["run_dir"], out["checkpoint"] = str(self.run_dir), str(self.checkpoint)
        return out


def evaluate_run(
    run_dir: str | Path,
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
        run_dir: a run directory.
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
            orientation-free descriptors; ``smooth`` with a classification run. DatasetError: ``data`` cannot be read or
        has other label names.
    """
    from geolearn.datasets import collate_shapes, detect_kind
    from geolearn.train import Trainer

    t0 = time.perf_counter()
    if split not in EVAL_SPLITS:
        raise OptionError(f"--split must be one of {', '.join(EVAL_SPLITS)}, got {split!r}")
    run = read_run(run_dir, checkpoint)
    config = run.config
    if smooth and config.task != "segment":
        raise OptionError(f"--smooth: {run.path} is a {config.task} run; smoothing is for per-face labels")
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
    if tta:
        model = symmetry_average(model, config, sample, config.train.restrict_to_category)
    trainer = Trainer(
        model, train_config, task=config.task, run_dir=run.path, device=device, progress=progress
    )
    metrics = smoothed_metrics(trainer, ds) if smooth else trainer.evaluate(ds)
    return EvalResult(
        run_dir=run.path,
        checkpoint=run.checkpoint,
        task=config.task,
        encoder=config.encoder,
        data=config.data,
        split=split,
        names=list(run.names),
        shapes=len(ds),
        failed_shapes=opened.failures,
        metrics=metrics,
        seconds=time.perf_counter() - t0,
        tta=tta,
        poses=len(model.symmetries) if tta else 1,
        smooth=smooth,
    )


def symmetry_average(model: torch.nn.Module, config: Any, sample: dict[str, Any], restrict: bool) -> Any:
    """``model`` wrapped in :class:`~geolearn.nn.tta.SymmetryAverage` over the poses of the run's
    ``symmetry`` augmentation (all 48 without one), each pose's logits restricted to the shape's
    category (the batch's ``part_mask``) when ``restrict``.

    Raises:
        OptionError: the run reads rendered views (no symmetry of the points moves them) or
            orientation-free descriptors (every pose gives the same prediction).
    """
    from geolearn.nn.tta import SymmetryAverage
    from geolearn.train.tasks import get_task

    if "views" in sample:
        raise OptionError(
            f"--tta: {config.encoder} reads rendered views, which no symmetry of the shape can move"
        )
    if "descriptor" in sample or "face_features" in sample:
        raise OptionError(
            f"--tta: {config.encoder} reads orientation-free descriptors: every pose gives the same prediction"
        )
    trained_poses = config.augment.get("symmetry") or {}  # the run's symmetry augmentation, else all 48
    mask = get_task(config.task).restrict if restrict else None
    return SymmetryAverage(model, restrict=mask, **trained_poses)


def smoothed_metrics(trainer: Any, ds: Any) -> dict[str, Any]:
    """The segmentation metrics of ``trainer``'s model on ``ds`` with every mesh's per-face
    probabilities smoothed over its faces first (the trainer's face pooling and category mask)."""
    import numpy as np
    import torch

    from geolearn.geometry.propagation import face_graph, smooth_face_probabilities
    from geolearn.train import metrics as m

    preds = trainer.predict(ds)
    k = preds.logits.shape[1]
    ptr = preds.ptr.tolist()
    labels, truth, areas = [], [], []
    for row, index in enumerate(preds.index.tolist()):
        mesh = ds.load_mesh(index)
        sample = ds[index]
        f = int(sample["face_labels"].numel())
        if mesh.num_faces != f or ptr[row + 1] - ptr[row] != f:
            raise OptionError(f"{sample['source']}: {mesh.num_faces} faces read, {f} labelled")
        p = torch.softmax(preds.logits[ptr[row] : ptr[row + 1]].double(), dim=1).numpy()
        try:
            q = smooth_face_probabilities(p, face_graph(mesh))
        except OptionError as e:  # e.g. non-finite outputs: say which mesh
            raise OptionError(f"{sample['source']}: {e}") from e
        labels.append(torch.from_numpy(np.argmax(q, axis=1)))
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
    return trainer.task.summarize(stats)
