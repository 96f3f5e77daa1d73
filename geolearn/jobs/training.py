"""Training one experiment end to end: open the splits, build the model, fit, score the test split.

:func:`train_experiment` is what ``geolearn train`` runs, and what ``geolearn compare`` runs once per
encoder, so every run of either is an ordinary run directory (``config.yaml``, checkpoints, metrics,
``labels.json``, ``test_metrics.json``) that ``geolearn eval`` and ``geolearn predict`` read back.
:func:`open_splits` builds (and preprocesses into the cache) the datasets an
:class:`~geolearn.train.config.ExperimentConfig` names; ``eval`` uses it to rebuild exactly the
split a run was scored on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geolearn.errors import DatasetError, OptionError

if TYPE_CHECKING:
    import torch

    from geolearn.datasets import ShapeDataset
    from geolearn.nn import ShapeModel
    from geolearn.train import Trainer
    from geolearn.train.config import ExperimentConfig

__all__ = [
    "LABELS_FILE",
    "OpenedSplits",
    "TrainOutcome",
    "check_names",
    "dataset_names",
    "experiment_representations",
    "open_splits",
    "split_dataset",
    "train_experiment",
]

logger = logging.getLogger(__name__)

#: The label names of a run (class names to classify, part names to segment), written at its start.
LABELS_FILE = "labels.json"
# dataset options that have their own ExperimentConfig key (so dataset_kwargs may not set them)
_OWN_KEYS = ("task", "representations", "seed", "max_shapes", "val_fraction", "split")


@dataclass
class OpenedSplits:
    """The datasets of some splits, each preprocessed into the cache (unusable shapes dropped).

    Attributes:
        datasets: split name → dataset, in the order asked for.
        failures: ``{"source", "reason"}`` of every shape that was dropped.
        seconds: wall time of opening and preprocessing.
    """

    datasets: dict[str, ShapeDataset]
    failures: list[dict[str, str]]
    seconds: float


@dataclass
class TrainOutcome:
    """What :func:`train_experiment` produced.

    Attributes:
        report: the dict written to ``RUN_DIR/test_metrics.json`` (see :func:`train_experiment`).
        trainer: the trainer, its model holding the best-on-validation weights.
        model: the same model (unwrapped).
        splits: the train/val/test datasets.
    """

    report: dict[str, Any]
    trainer: Trainer
    model: ShapeModel
    splits: OpenedSplits


def experiment_representations(config: ExperimentConfig) -> list[Any]:
    """The representation objects the encoder of ``config`` reads for its task.

    Raises:
        OptionError: no or an unknown encoder, a task the encoder cannot do, or a
            ``representation_kwargs`` key its representations do not take.
    """
    from geolearn.nn.registry import get_encoder_info, list_encoders

    if not config.encoder:
        raise OptionError(f"--encoder is required; registered: {', '.join(list_encoders())}")
    info = get_encoder_info(config.encoder)
    if config.task not in info.tasks:
        raise OptionError(
            f"--encoder {config.encoder} cannot {config.task} (it supports {', '.join(sorted(info.tasks))})"
        )
    try:
        return info.default_representations(config.task, **config.representation_kwargs)
    except TypeError as exc:  # an argument the representations do not take
        raise OptionError(f"option representation_kwargs: {exc}") from exc


def _dataset_kwargs(config: ExperimentConfig, representations: Sequence[Any]) -> dict[str, Any]:
    from geolearn.datasets import detect_kind

    clash = sorted(set(config.dataset_kwargs) & set(_OWN_KEYS))
    if clash:
        raise OptionError(f"option dataset_kwargs: {', '.join(clash)} has its own option; set that instead")
    kwargs: dict[str, Any] = {
        "task": config.task,
        "representations": list(representations),
        "seed": config.split_seed,
        "max_shapes": config.max_shapes,
        **config.dataset_kwargs,
    }
    if detect_kind(config.data) != "embedded":  # the embedded dataset generates its own val shapes
        kwargs["val_fraction"] = config.val_fraction
    return kwargs


def split_dataset(
    config: ExperimentConfig, split: str, representations: Sequence[Any] = (), *, augment: bool = False
) -> ShapeDataset:
    """The dataset of ``split`` of ``config``'s data, listed but not preprocessed; with ``augment``,
    it applies ``config.augment`` to every sample it gives.

    Raises:
        OptionError: bad ``dataset_kwargs``. DatasetError: the data path cannot be read.
    """
    from geolearn.datasets import open_dataset
    from geolearn.datasets.transforms import build_augmentation

    kwargs = _dataset_kwargs(config, representations)
    if augment:
        kwargs["transform"] = build_augmentation(config.augment)
    try:
        return open_dataset(config.data, split=split, **kwargs)
    except TypeError as exc:  # a dataset_kwargs key the dataset class does not take
        raise OptionError(f"option dataset_kwargs: {exc}") from exc


def dataset_names(config: ExperimentConfig) -> tuple[str, ...]:
    """The label names of the dataset ``config`` names, without preprocessing anything: class
    names to classify, part label names to segment."""
    ds = split_dataset(config, "train")
    return tuple(ds.label_names or ()) if config.task == "segment" else tuple(ds.class_names)


def open_splits(
    config: ExperimentConfig,
    representations: Sequence[Any],
    *,
    names: Sequence[str] = ("train", "val", "test"),
    progress: bool = False,
    workers: int | None = None,
    augment_train: bool = False,
) -> OpenedSplits:
    """The datasets of the splits ``names`` of ``config``'s data, each preprocessed into the cache.

    Validation is carved (seeded by ``split_seed``) from the training split, so the same config
    always gives the same splits. Under ``torchrun`` rank 0 fills the cache first; the other ranks
    then find every entry there.

    Args:
        config: data path, task, ``max_shapes``, ``split_seed``, ``val_fraction``, ``dataset_kwargs``.
        representations: what each sample carries (:func:`experiment_representations`).
        names: the splits to open.
        progress: show preprocessing progress bars.
        workers: preprocessing processes (``None``: every CPU; 0: this process).
        augment_train: the ``"train"`` split applies ``config.augment`` (for training only: features,
            evaluation and prediction read the shapes as they are).

    Raises:
        OptionError: a split without any usable shape, or bad ``dataset_kwargs``.
        DatasetError: the data path cannot be read as a dataset.
    """
    from geolearn.datasets import preprocess
    from geolearn.train.distributed import barrier, dist_info

    t0 = time.perf_counter()
    splits = {
        name: split_dataset(config, name, representations, augment=augment_train and name == "train")
        for name in names
    }
    failures: list[dict[str, str]] = []
    main = dist_info().is_main
    for turn in (True, False):  # rank 0 first, then the others
        if main == turn:
            for ds in splits.values():
                if len(ds):
                    report = preprocess(ds, workers=workers, progress=progress and main)
                    failures += [{"source": f.source, "reason": f.reason} for f in report.failures]
        barrier()
    where = config.data or "the embedded dataset"
    for name, ds in splits.items():
        if len(ds) == 0:
            raise OptionError(f"the {name} split of {where} has no usable shape")
    for f in failures:
        logger.warning("skipped %s: %s", f["source"], f["reason"])
    return OpenedSplits(splits, failures, time.perf_counter() - t0)


def train_experiment(
    config: ExperimentConfig,
    run_dir: str | Path,
    *,
    device: str | torch.device = "auto",
    quiet: bool = False,
    resume: bool = False,
    workers: int | None = None,
) -> TrainOutcome:
    """Train ``config``'s encoder on its data in ``run_dir``, then score the best weights on the test split.

    The model with the best validation metric is evaluated on the official test split; the report
    (also written to ``RUN_DIR/test_metrics.json`` by rank 0) holds ``run_dir``, ``task``,
    ``encoder``, ``data``, ``classes`` (label names), ``shapes`` per split, ``failed_shapes``,
    ``epochs``, ``stopped_early``, ``best_epoch``, ``monitor``, ``val`` (metrics of the best epoch),
    ``test``, ``world_size``, ``device``, ``parameters`` and ``seconds`` (wall time of
    ``preprocess``, ``fit`` and ``test``).

    Args:
        config: the experiment.
        run_dir: the run directory (created).
        device: ``"auto"``, ``"cpu"``, ``"cuda[:N]"``, ``"mps"`` or a device.
        quiet: no progress bars (they are also off when stderr is not a terminal).
        resume: continue from ``RUN_DIR/last.pt``.
        workers: preprocessing processes (``None``: every CPU).
    """
    import sys

    from geolearn.datasets import collate_shapes
    from geolearn.nn import create_model
    from geolearn.train import Trainer, choose_device, seed_everything
    from geolearn.train.distributed import dist_info, init_distributed, rank_device

    run_dir = Path(run_dir)
    representations = experiment_representations(config)
    device = rank_device(choose_device(device))
    dist = init_distributed(device)
    quiet = quiet or not dist.is_main
    validate = config.val_fraction > 0  # 0: the whole training split, no validation
    splits = open_splits(
        config,
        representations,
        names=("train", "val", "test") if validate else ("train", "test"),
        progress=not quiet and sys.stderr.isatty(),
        workers=workers,
        augment_train=True,
    )
    train = splits.datasets["train"]
    names = tuple(train.label_names or ()) if config.task == "segment" else tuple(train.class_names)

    seed_everything(config.train.seed)  # the model's initial weights
    example = collate_shapes([train[0]])
    model = create_model(
        config.encoder,
        config.task,
        num_classes=train.num_classes,
        example_batch=example,
        **config.model_kwargs,
    )
    trainer = Trainer(
        model,
        config.train,
        task=config.task,
        run_dir=run_dir,
        device=device,
        progress=not quiet,
        record_config=config.to_flat_dict(),
    )
    trainer.run.write_json(LABELS_FILE, {"task": config.task, "names": list(names)})
    t0 = time.perf_counter()
    result = trainer.fit(
        train, splits.datasets["val"] if validate else None, resume=run_dir / "last.pt" if resume else None
    )
    best_epoch = result.best_epoch
    if not validate:  # nothing to choose on: the last epoch's weights are the run's weights
        from geolearn.train.checkpoint import copy_atomic

        if dist_info().is_main:
            copy_atomic(trainer.run.last, trainer.run.best)
        best_epoch = result.epochs - 1
    t1 = time.perf_counter()
    # the best-on-validation weights (fit loaded them), or the last epoch's without validation
    test = trainer.evaluate(splits.datasets["test"])
    t2 = time.perf_counter()
    best_val = result.history[result.best_epoch] if result.best_epoch is not None else {}
    report = {
        "run_dir": str(run_dir),
        "task": config.task,
        "encoder": config.encoder,
        "data": config.data,
        "classes": list(names),
        "shapes": {name: len(ds) for name, ds in splits.datasets.items()},
        "failed_shapes": splits.failures,
        "epochs": result.epochs,
        "stopped_early": result.stopped_early,
        "best_epoch": best_epoch,
        "monitor": config.train.monitor,
        "val": {k[4:]: v for k, v in best_val.items() if k.startswith("val/")},
        "test": test,
        "world_size": dist_info().world_size,
        "device": str(trainer.device),
        "parameters": sum(p.numel() for p in model.parameters()),
        "seconds": {"preprocess": splits.seconds, "fit": t1 - t0, "test": t2 - t1},
    }
    trainer.run.write_json("test_metrics.json", report)  # rank 0 only
    return TrainOutcome(report, trainer, model, splits)


def check_names(where: str, have: Sequence[str], want: Sequence[str], task: str) -> None:
    """Raise :class:`DatasetError` when the label names of a dataset differ from a run's."""
    if tuple(have) != tuple(want):
        what = "part labels" if task == "segment" else "classes"
        raise DatasetError(
            f"{where}: its {what} ({', '.join(have[:6])}{', ...' if len(have) > 6 else ''}) differ from "
            f"the run's ({', '.join(want[:6])}{', ...' if len(want) > 6 else ''})"
        )
