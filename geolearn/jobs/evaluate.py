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

__all__ = ["EVAL_SPLITS", "EvalResult", "evaluate_run"]

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

    Raises:
        OptionError: bad run directory, split or batch size; ``tta`` with a run on rendered views or on
            orientation-free descriptors. DatasetError: ``data`` cannot be read or
        has other label names.
    """
    from geolearn.datasets import collate_shapes, detect_kind
    from geolearn.train import Trainer

    t0 = time.perf_counter()
    if split not in EVAL_SPLITS:
        raise OptionError(f"--split must be one of {', '.join(EVAL_SPLITS)}, got {split!r}")
    run = read_run(run_dir, checkpoint)
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
    if tta:
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
        restrict = get_task(config.task).restrict if config.train.restrict_to_category else None
        trained_poses = config.augment.get("symmetry") or {}  # the run's symmetry augmentation, else all 48
        model = SymmetryAverage(model, restrict=restrict, **trained_poses)
    trainer = Trainer(
        model, train_config, task=config.task, run_dir=run.path, device=device, progress=progress
    )
    metrics = trainer.evaluate(ds)
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
    )
