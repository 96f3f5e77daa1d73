"""One training loop for every model and task: :class:`Trainer` (fit / evaluate / predict).

The model is any ``torch.nn.Module`` whose ``forward(batch)`` returns logits — ``(B, K)`` for
``task="classify"``, ``(B, K, N)`` per point for ``task="segment"`` (see CONTRACT.md) — and the data
are ``torch.utils.data.Dataset`` s of samples that ``collate_fn`` (default:
:func:`geolearn.datasets.collate.collate_shapes`) turns into batches.

Per epoch: train on (a limit of) the shuffled training set, evaluate on the validation set, step
the schedule, keep ``best.pt`` when the monitored VALIDATION metric improved, write ``last.pt`` and
the metrics; stop after ``epochs`` or when early stopping's patience runs out. The test set is never
seen during :meth:`Trainer.fit`; evaluate it afterwards with :meth:`Trainer.evaluate` (the model
then holds the best-on-validation weights).

Resuming (``fit(..., resume=RUN_DIR/"last.pt")``) restores parameters, optimiser, schedule, AMP
scaler, the RNG states of every rank, the history and the best epoch; the data order and the
augmentation of epoch ``e`` are functions of ``(seed, e)``, so a resumed run is bitwise the run
that was not interrupted.

Under ``torchrun`` (a process group initialised, see :mod:`geolearn.train.distributed`) the model
is wrapped in DistributedDataParallel, each rank trains on its shard (``DistributedSampler``) and
evaluates its part of the data, metric statistics are summed over ranks, and only rank 0 writes the
run directory and shows a progress bar. The run directory must then be on a file system all ranks
see (it is, on one machine).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.optim.lr_scheduler import ReduceLROnPlateau
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from tqdm import tqdm

from geolearn.errors import GeolearnError, OptionError
from geolearn.train.callbacks import Callback
from geolearn.train.checkpoint import (
    copy_atomic,
    get_rng_state,
    load_checkpoint,
    save_checkpoint,
    set_rng_state,
)
from geolearn.train.config import TrainConfig
from geolearn.train.device import choose_device, deterministic_mode, seed_everything
from geolearn.train.distributed import (
    ShardSampler,
    all_gather_objects,
    all_reduce_sum,
    barrier,
    dist_info,
    rank_device,
)
from geolearn.train.optim import build_optimizer, build_scheduler
from geolearn.train.rundir import RunDir
from geolearn.train.tasks import get_task

__all__ = ["FitResult", "Predictions", "Trainer"]

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = 1
#: Options that may differ between a checkpoint and the run resuming it (they do not change what
#: the finished epochs computed). Anything else must match, or the resume is refused.
RESUMABLE_CHANGES = frozenset({"epochs", "early_stopping_patience", "num_workers"})


@dataclass
class FitResult:
    """What :meth:`Trainer.fit` did.

    Attributes:
        epochs: epochs completed (including those before a resume).
        best_epoch: 0-based epoch of ``best.pt``; None without validation data.
        best_metric: its value of the monitored validation metric.
        stopped_early: True when early stopping (or a callback) ended the fit before ``epochs``.
        history: one dict per epoch (the rows of ``metrics.json``): ``epoch`` (0-based), ``lr``,
            ``train/<metric>``, ``val/<metric>``, ``time`` (seconds).
        run_dir: the run directory.
    """

    epochs: int
    best_epoch: int | None
    best_metric: float | None
    stopped_early: bool
    history: list[dict[str, Any]]
    run_dir: Path


@dataclass
class Predictions:
    """Model outputs for every shape of a dataset, in dataset order.

    Shapes:
        index: ``(S,)`` int64 — the samples' ``index``; source: ``S`` strings.
        logits: ``(R, K)`` float32 — one row per shape (classify) or per face (segment, packed).
        labels: ``(R,)`` int64 — argmax of ``logits``.
        ptr: ``(S+1,)`` int64 — shape ``s`` owns rows ``ptr[s]:ptr[s+1]`` (``arange(S+1)`` for classify).
    """

    index: torch.Tensor
    source: list[str]
    logits: torch.Tensor
    labels: torch.Tensor
    ptr: torch.Tensor


class Trainer:
    """Fits, evaluates and runs any geolearn model; see the module docstring.

    Args:
        model: ``forward(batch) -> logits`` (``(B,K)`` classify, ``(B,K,N)`` segment).
        config: the training options (see :class:`~geolearn.train.config.TrainConfig`).
        task: ``"classify"`` or ``"segment"``.
        run_dir: where the run's files go (created).
        device: ``"auto"`` (CUDA, then MPS, then CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.
        callbacks: :class:`~geolearn.train.callbacks.Callback` instances.
        collate_fn: list of samples → batch; default ``geolearn.datasets.collate.collate_shapes``.
        progress: show a progress bar (rank 0, and only when stderr is a terminal).
        record_config: the resolved configuration written to ``config.yaml`` (default: ``config``);
            the command line passes the whole experiment (data, encoder, and ``config``).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        config: TrainConfig,
        *,
        task: str,
        run_dir: str | Path,
        device: str | torch.device = "auto",
        callbacks: Iterable[Callback] = (),
        collate_fn: Callable[[list[Any]], dict[str, Any]] | None = None,
        progress: bool = True,
        record_config: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(config, TrainConfig):
            raise OptionError(f"config must be a TrainConfig, got {type(config).__name__}")
        self.config = config
        self.task = get_task(task)
        self.dist = dist_info()
        self.device = rank_device(choose_device(device))
        self.module = model.to(self.device)
        self.model: torch.nn.Module = self.module
        if self.dist.world_size > 1:
            ids = [self.device] if self.device.type == "cuda" else None
            self.model = torch.nn.parallel.DistributedDataParallel(self.module, device_ids=ids)
        self.optimizer = build_optimizer(
            self.module,
            config.optimizer,
            lr=config.lr,
            weight_decay=config.weight_decay,
            momentum=config.momentum,
        )
        self.mode = "min" if config.monitor == "loss" else "max"
        self.scheduler = build_scheduler(
            self.optimizer,
            config.schedule,
            epochs=config.epochs,
            step_size=config.step_size,
            gamma=config.gamma,
            warmup_epochs=config.warmup_epochs,
            plateau_patience=config.plateau_patience,
            mode=self.mode,
        )
        self.amp = config.amp and self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp)
        weights = config.class_weights
        self.loss_weight = (
            None if weights is None else torch.tensor(weights, dtype=torch.float32, device=self.device)
        )
        self.callbacks = list(callbacks)
        self.collate_fn = collate_fn if collate_fn is not None else _default_collate()
        self.progress = progress
        self.run = RunDir(run_dir, enabled=self.dist.is_main)
        self.record_config = dict(record_config) if record_config is not None else dataclasses.asdict(config)
        # progress of the fit; everything else (early stopping, data order) is derived from these
        self.epoch = 0  # epochs completed = index of the epoch being trained
        self.history: list[dict[str, Any]] = []
        self.best_epoch: int | None = None
        self.best_metric: float | None = None
        self.should_stop = False  # a callback may set it

    # -- public API --------------------------------------------------------------------------------
    def fit(
        self, train_data: Dataset, val_data: Dataset | None = None, *, resume: str | Path | None = None
    ) -> FitResult:
        """Train; keep ``best.pt`` on validation; load the best weights into the model at the end.

        Args:
            train_data: training samples. val_data: validation samples (carved from the training
                split — never the test split); without it there is no ``best.pt``, early stopping or
                plateau schedule, and the model keeps its last weights.
            resume: a checkpoint (``RUN_DIR/last.pt``) to continue from.

        A model with ``needs_fit`` (e.g. descriptor standardisation, see
        :class:`geolearn.nn.ShapeModel`) gets ``fit_normalizer`` on the training batches first.
        """
        cfg = self.config
        if val_data is None and (cfg.schedule == "plateau" or cfg.early_stopping_patience):
            raise OptionError("schedule 'plateau' and early stopping need validation data")
        if resume is not None:
            self._restore(load_checkpoint(resume, map_location=self.device))
        else:
            seed_everything(cfg.seed + self.dist.rank)
            if getattr(self.module, "needs_fit", False):  # e.g. descriptor standardisation
                self._fit_normalizer(train_data)
        epochs = 1 if cfg.fast_dev_run else cfg.epochs
        train_loader = self._loader(train_data, train=True)
        val_loader = self._loader(val_data, train=False) if val_data is not None else None
        info = {
            "seed": cfg.seed,
            "task": self.task.name,
            "device": str(self.device),
            "world_size": self.dist.world_size,
            "model": type(self.module).__name__,
            "parameters": sum(p.numel() for p in self.module.parameters()),
            "train_samples": len(train_data),
            "val_samples": len(val_data) if val_data is not None else 0,
            "resumed_from": str(resume) if resume is not None else None,
        }
        self.run.start(self.record_config, info, first_epoch=self.epoch)
        if self.device.type == "cpu":
            _tune_cpu_allocator()
        try:
            with deterministic_mode(cfg.deterministic):
                self._call("on_fit_start")
                while self.epoch < epochs and not (self.should_stop or self._patience_exhausted()):
                    self._run_epoch(train_loader, val_loader, epochs)
                self._call("on_fit_end")
        finally:
            self.run.close()
        barrier()  # rank 0 has written best.pt
        if val_data is not None and self.best_epoch is not None:
            self.load_weights(self.run.best)
        return FitResult(
            epochs=self.epoch,
            best_epoch=self.best_epoch,
            best_metric=self.best_metric,
            stopped_early=self.epoch < epochs,
            history=list(self.history),
            run_dir=self.run.path,
        )

    def evaluate(self, data: Dataset) -> dict[str, Any]:
        """Metrics of the current model on ``data`` (all of it; summed over ranks when distributed).

        Returns ``loss`` and the task's metrics (see :mod:`geolearn.train.tasks`).
        """
        loader = self._loader(data, train=False)
        with deterministic_mode(self.config.deterministic):
            return self._evaluate(loader, len(loader), desc="evaluate")

    @torch.no_grad()
    def predict(self, data: Dataset) -> Predictions:
        """Logits and predicted labels for every shape of ``data`` (this process, all of ``data``)."""
        loader = DataLoader(
            data,
            batch_size=self.config.batch_size,
            shuffle=False,
            num_workers=self.config.num_workers,
            collate_fn=self.collate_fn,
        )
        self.module.eval()
        index, source, logits, counts = [], [], [], []
        for batch in self._progress(loader, len(loader), "predict"):
            moved = self._move(batch)
            rows = self.task.rows(self._forward(self.module, moved), moved)
            logits.append(rows.logits.float().cpu())
            counts.append(rows.counts.cpu())
            index.append(batch["index"].reshape(-1))
            source += list(batch["source"])
        all_logits = torch.cat(logits) if logits else torch.zeros(0, 0)
        ptr = (
            torch.cat([torch.zeros(1, dtype=torch.int64), torch.cat(counts).cumsum(0)])
            if counts
            else torch.zeros(1, dtype=torch.int64)
        )
        return Predictions(
            index=torch.cat(index) if index else torch.zeros(0, dtype=torch.int64),
            source=source,
            logits=all_logits,
            labels=all_logits.argmax(dim=1) if all_logits.numel() else torch.zeros(0, dtype=torch.int64),
            ptr=ptr,
        )

    def load_weights(self, path: str | Path) -> None:
        """Load the model parameters of the checkpoint at ``path`` (e.g. ``RUN_DIR/best.pt``)."""
        self.module.load_state_dict(load_checkpoint(path, map_location=self.device)["model"])

    # -- one epoch -----------------------------------------------------------------------------------
    def _run_epoch(self, train_loader: DataLoader, val_loader: DataLoader | None, epochs: int) -> None:
        cfg, epoch, start = self.config, self.epoch, time.perf_counter()
        lr = self.optimizer.param_groups[0]["lr"]
        self._call("on_train_epoch_start")
        train = self._train_epoch(
            train_loader, self._limit(len(train_loader), cfg.limit_train_batches), epochs
        )
        self._call("on_train_epoch_end", train)
        val: dict[str, Any] = {}
        if val_loader is not None:
            val = self._evaluate(
                val_loader, self._limit(len(val_loader), cfg.limit_val_batches), desc="validate"
            )
            self._call("on_validation_epoch_end", val)
        improved = self._update_best(val)
        if isinstance(self.scheduler, ReduceLROnPlateau):
            if _finite(val.get(cfg.monitor)):
                self.scheduler.step(val[cfg.monitor])
        else:
            self.scheduler.step()
        self.epoch = epoch + 1
        row = {"epoch": epoch, "lr": lr}
        row.update({f"train/{k}": v for k, v in train.items()})
        row.update({f"val/{k}": v for k, v in val.items()})
        row["time"] = time.perf_counter() - start
        self.history.append(row)
        self._save_checkpoints(improved)
        self.run.log_epochs(self.history)
        logger.info("epoch %d/%d %s", epoch + 1, epochs, _summary(row))

    def _train_epoch(self, loader: DataLoader, num_batches: int, epochs: int) -> dict[str, Any]:
        cfg = self.config
        self.model.train()
        self._set_epoch(loader, self.epoch)
        stats: dict[str, torch.Tensor] = {}
        desc = f"epoch {self.epoch + 1}/{epochs}"
        for i, batch in enumerate(self._progress(loader, num_batches, desc)):
            batch = self._move(batch)
            target = self.task.target(batch)
            logits = self._forward(self.model, batch)
            loss, loss_stats = self._loss(logits, target)
            aux = _auxiliary_loss(self.module)  # e.g. PointNet's feature-transform regulariser
            if aux is not None:
                loss = loss + aux  # optimised; the logged loss stays the task's
            if not torch.isfinite(loss):
                raise GeolearnError(
                    f"training diverged: loss is {loss.item()} at epoch {self.epoch}, batch {i} "
                    "(lower lr, or set grad_clip)"
                )
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if cfg.grad_clip > 0:
                self.scaler.unscale_(self.optimizer)
                torch.nn.utils.clip_grad_norm_(self.module.parameters(), cfg.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            loss = loss.detach()
            _add(stats, loss_stats)
            _add(stats, self.task.train_stats(logits, target))
            self._call("on_train_batch_end", batch, i, loss)
        return self.task.summarize(all_reduce_sum(stats, self.device))

    @torch.no_grad()
    def _evaluate(self, loader: DataLoader, num_batches: int, desc: str) -> dict[str, Any]:
        self.module.eval()  # the unwrapped module: ranks may see different numbers of batches
        stats: dict[str, torch.Tensor] = {}
        for batch in self._progress(loader, num_batches, desc):
            batch = self._move(batch)
            target = self.task.target(batch)
            logits = self._forward(self.module, batch)
            _add(stats, self._loss(logits, target).stats)
            _add(stats, self.task.eval_stats(logits, batch))
        return self.task.summarize(all_reduce_sum(stats, self.device))

    def _forward(self, model: torch.nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        with torch.autocast(self.device.type, enabled=self.amp):
            logits = model(batch)
        logits = logits.float()
        if self.config.restrict_to_category:
            logits = self.task.restrict(logits, batch)
        return logits

    def _loss(self, logits: torch.Tensor, target: torch.Tensor) -> _Loss:
        """Cross-entropy (class weights, label smoothing): the batch mean and its summable parts.

        Shapes: logits ``(B, K)`` / ``(B, K, N)``, target ``(B,)`` / ``(B, N)``. The mean is over
        items (shapes or points), weighted by the class weight of each item's target, as in
        ``F.cross_entropy``; the epoch loss ``loss_sum / loss_weight`` is then the same mean over
        the whole epoch, whatever the batch size or the number of ranks.
        """
        if self.loss_weight is not None and self.loss_weight.numel() != logits.shape[1]:
            raise OptionError(
                f"option class_weights: {self.loss_weight.numel()} weights, but the model predicts "
                f"{logits.shape[1]} classes"
            )
        per_item = F.cross_entropy(
            logits,
            target,
            weight=self.loss_weight,
            label_smoothing=self.config.label_smoothing,
            reduction="none",
        )
        if self.loss_weight is not None:
            total = self.loss_weight[target].sum()
        else:
            total = torch.tensor(float(target.numel()), device=per_item.device)
        stats = {
            "loss_sum": per_item.detach().sum().double().cpu(),
            "loss_weight": total.detach().double().cpu(),
        }
        return _Loss(per_item.sum() / total, stats)

    # -- best model, checkpoints, resume -------------------------------------------------------------
    def _update_best(self, val: Mapping[str, Any]) -> bool:
        if not val:
            return False
        key = self.config.monitor
        if key not in val or not (val[key] is None or isinstance(val[key], (int, float))):
            scalars = sorted(k for k, v in val.items() if isinstance(v, (int, float)))
            raise OptionError(
                f"option monitor: {key!r} is not a validation metric (have: {', '.join(scalars)})"
            )
        value = val[key]
        if not _finite(value):
            return False
        better = self.best_metric is None or (
            value < self.best_metric if self.mode == "min" else value > self.best_metric
        )
        if better:
            self.best_epoch, self.best_metric = self.epoch, float(value)
        return better

    def _patience_exhausted(self) -> bool:
        patience = self.config.early_stopping_patience
        return (
            bool(patience) and self.best_epoch is not None and (self.epoch - 1) - self.best_epoch >= patience
        )

    def _state(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "task": self.task.name,
            "epoch": self.epoch,
            "model": self.module.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(),
            "rng": all_gather_objects(get_rng_state()),  # one state per rank
            "config": dataclasses.asdict(self.config),
            "history": self.history,
            "best_epoch": self.best_epoch,
            "best_metric": self.best_metric,
        }

    def _save_checkpoints(self, improved: bool) -> None:
        state = self._state()  # every rank (it gathers the RNG states)
        if self.dist.is_main:
            if improved:  # best first: a crash in between leaves last.pt one epoch behind, never ahead
                save_checkpoint(self.run.best, state)
                copy_atomic(self.run.best, self.run.last)
            else:
                save_checkpoint(self.run.last, state)

    def _restore(self, state: dict[str, Any]) -> None:
        if state.get("format") != CHECKPOINT_FORMAT or state.get("task") != self.task.name:
            raise OptionError(
                f"cannot resume: checkpoint is format {state.get('format')} for task {state.get('task')!r}, "
                f"expected format {CHECKPOINT_FORMAT} for task {self.task.name!r}"
            )
        saved, now = state["config"], dataclasses.asdict(self.config)
        changed = [k for k in now if k not in RESUMABLE_CHANGES and saved.get(k) != now[k]]
        if changed:
            detail = ", ".join(f"{k} (checkpoint {saved.get(k)!r}, now {now[k]!r})" for k in changed)
            raise OptionError(f"cannot resume with different options: {detail}")
        if len(state["rng"]) != self.dist.world_size:
            raise OptionError(
                f"cannot resume: the checkpoint was written by {len(state['rng'])} process(es), "
                f"this run has {self.dist.world_size}"
            )
        self.module.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        self.epoch = int(state["epoch"])
        self.history = list(state["history"])
        self.best_epoch, self.best_metric = state["best_epoch"], state["best_metric"]
        set_rng_state(state["rng"][self.dist.rank])

    # -- data ----------------------------------------------------------------------------------------
    def _loader(self, data: Dataset, *, train: bool) -> DataLoader:
        cfg, d = self.config, self.dist
        if len(data) == 0:
            raise OptionError(f"the {'training' if train else 'evaluation'} data set is empty")
        if train:
            shuffle = not cfg.overfit_batches
            sampler: Any = DistributedSampler(
                data, num_replicas=d.world_size, rank=d.rank, shuffle=shuffle, seed=cfg.seed
            )
            # drop a ragged last batch (a batch of 1 breaks batch norm) unless that is all there is
            drop_last = len(sampler) >= cfg.batch_size
        else:
            sampler, drop_last = ShardSampler(len(data), d.rank, d.world_size), False
        return DataLoader(
            data,
            batch_size=cfg.batch_size,
            sampler=sampler,
            num_workers=cfg.num_workers,
            collate_fn=self.collate_fn,
            pin_memory=self.device.type == "cuda",
            drop_last=drop_last,
            generator=torch.Generator(),  # seeds the workers; re-seeded every epoch
        )

    def _fit_normalizer(self, data: Dataset) -> None:
        """``model.fit_normalizer(batches)`` over all training data, in order (the statistics are
        buffers: they are saved in checkpoints and identical on every rank)."""
        loader = DataLoader(
            data,
            batch_size=self.config.batch_size,
            num_workers=self.config.num_workers,
            collate_fn=self.collate_fn,
        )
        self.module.fit_normalizer(self._progress(loader, len(loader), "fit normalizer"))

    def _set_epoch(self, loader: DataLoader, epoch: int) -> None:
        """Data order, augmentation and worker seeds of ``epoch``: functions of (seed, epoch, rank)."""
        loader.sampler.set_epoch(epoch)
        if hasattr(loader.dataset, "set_epoch"):
            loader.dataset.set_epoch(epoch)
        seed = np.random.SeedSequence([self.config.seed, epoch, self.dist.rank]).generate_state(1)[0]
        loader.generator.manual_seed(int(seed))

    def _limit(self, num_batches: int, limit: int | float) -> int:
        cfg = self.config
        if cfg.fast_dev_run:
            return min(num_batches, cfg.fast_dev_run)
        if cfg.overfit_batches:
            return min(num_batches, cfg.overfit_batches)
        if isinstance(limit, float):
            return max(1, int(num_batches * limit)) if num_batches else 0
        return min(num_batches, limit)

    def _progress(self, loader: DataLoader, num_batches: int, desc: str) -> Iterator[Any]:
        show = self.progress and self.dist.is_main and sys.stderr.isatty()
        batches = itertools.islice(loader, num_batches)
        return iter(
            tqdm(batches, total=num_batches, desc=desc, file=sys.stderr, leave=False, disable=not show)
        )

    def _move(self, batch: dict[str, Any]) -> dict[str, Any]:
        from geolearn.datasets.collate import move_batch

        return move_batch(batch, self.device)

    def _call(self, hook: str, *args: Any) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(self, *args)


class _Loss(NamedTuple):
    mean: torch.Tensor  # 0-d, differentiable
    stats: dict[str, torch.Tensor]  # loss_sum, loss_weight: 0-d float64 on the CPU


def _default_collate() -> Callable[[list[Any]], dict[str, Any]]:
    from geolearn.datasets.collate import collate_shapes

    return collate_shapes


def _auxiliary_loss(module: torch.nn.Module) -> torch.Tensor | None:
    """``module.auxiliary_loss()`` when the model has one (:class:`geolearn.nn.ShapeModel` does)."""
    fn = getattr(module, "auxiliary_loss", None)
    return fn() if callable(fn) else None


def _tune_cpu_allocator() -> None:
    """geolearn.nn.perf.tune_cpu_allocator() when geolearn.nn provides it (glibc malloc tuning)."""
    try:
        from geolearn.nn.perf import tune_cpu_allocator
    except ImportError:
        return
    tune_cpu_allocator()


def _add(total: dict[str, torch.Tensor], stats: Mapping[str, torch.Tensor]) -> None:
    for key, value in stats.items():
        total[key] = total[key] + value if key in total else value.clone()


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


def _summary(row: Mapping[str, Any]) -> str:
    keys: Sequence[str] = (
        "train/loss",
        "train/accuracy",
        "train/point_accuracy",
        "val/loss",
        "val/accuracy",
        "val/miou",
    )
    parts = [f"{k} {row[k]:.4f}" for k in keys if _finite(row.get(k))]
    return "  ".join([*parts, f"lr {row['lr']:.3g}", f"{row['time']:.1f}s"])
