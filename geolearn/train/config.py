"""Typed configuration of a training run, and the one place where files and ``key=value`` strings become it.

:class:`TrainConfig` holds what the :class:`~geolearn.train.Trainer` needs; :class:`ExperimentConfig`
adds what the command line needs to build the data and the model (task, encoder, data path). Both are
written and read as ONE flat mapping (``lr: 0.01``, ``encoder: pointnet``), so a YAML file, a
``--set lr=0.01`` override and the ``config.yaml`` a run writes all use the same keys. Values are
checked against the dataclass field types; an unknown key or a value of the wrong type raises
:class:`~geolearn.errors.OptionError` naming the key.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import math
import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

import yaml

from geolearn.errors import OptionError

__all__ = [
    "OPTIMIZERS",
    "SCHEDULES",
    "TASKS",
    "ExperimentConfig",
    "TrainConfig",
    "load_experiment_config",
    "parse_overrides",
]

OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULES = ("none", "step", "cosine", "plateau")
TASKS = ("classify", "segment")


@dataclass
class TrainConfig:
    """How to train: optimiser, schedule, loss, stopping, seed and the smoke-test knobs.

    Every default carries the reason it was chosen. Validation runs in ``__post_init__``, so an
    impossible value fails when the config is made, with the field named.
    """

    # 100 epochs reach the plateau of every encoder on ModelNet10 at these learning rates;
    # early stopping (below) ends a run sooner when validation stops improving.
    epochs: int = 100
    # 32 is what PointNet / VoxNet / MVCNN were trained with and fits 1024 points or 32³ voxels in
    # far less than a GB.
    batch_size: int = 32
    # AdamW works for every encoder here at one learning rate, without per-model tuning; "sgd" (with
    # momentum) and "adam" (L2 penalty inside the gradient) are there to reproduce papers.
    optimizer: str = "adamw"
    # The Adam learning rate PointNet, DGCNN and most of the field use.
    lr: float = 1e-3
    # Mild decoupled decay; never applied to biases and normalisation weights (1-d parameters).
    weight_decay: float = 1e-4
    # SGD only: the standard heavy-ball value.
    momentum: float = 0.9
    # "none" | "step" | "cosine" | "plateau". Cosine to zero over `epochs` needs no tuning.
    schedule: str = "cosine"
    # step: multiply the lr by `gamma` every `step_size` epochs (PointNet halves it every 20).
    step_size: int = 20
    # step and plateau: the factor the lr is multiplied by at each decay.
    gamma: float = 0.5
    # plateau: epochs without validation improvement before the lr decays.
    plateau_patience: int = 5
    # Linear warm-up from lr/(warmup_epochs+1); 0 (off) because Adam at 1e-3 needs none.
    warmup_epochs: int = 0
    # 0 is plain cross-entropy; 0.1-0.2 helps small data sets (DGCNN uses 0.2). Off to match papers.
    label_smoothing: float = 0.0
    # One weight per class for the loss (unbalanced data); None weighs every class 1.
    class_weights: Union[list[float], None] = None
    # Largest global gradient norm; 0 disables clipping (models with normalisation rarely need it).
    grad_clip: float = 0.0
    # Mixed precision on CUDA (ignored on CPU and MPS): about twice as fast at the same accuracy.
    amp: bool = True
    # Stop after this many epochs without improvement of `monitor`; 0 never stops early.
    early_stopping_patience: int = 0
    # Validation metric that chooses best.pt and drives early stopping and the plateau schedule;
    # "loss" is minimised, any other metric maximised. Never a test metric.
    monitor: str = "accuracy"
    # Fixed, so two runs of one config give the same numbers.
    seed: int = 0
    # torch.use_deterministic_algorithms: bitwise-repeatable on CUDA too, somewhat slower. CPU runs
    # are repeatable without it.
    deterministic: bool = False
    # 0 loads batches in the main process: cached representations are cheap to read, and workers
    # cost a process start each epoch on 2-core machines.
    num_workers: int = 0
    # Lightning's smoke knobs. limit_*: an int is a number of batches, a float a fraction of the epoch.
    limit_train_batches: Union[int, float] = 1.0
    limit_val_batches: Union[int, float] = 1.0
    # >0: train on the first N training batches, unshuffled, and validate on the first N validation
    # batches — a model that cannot overfit them has a bug.
    overfit_batches: int = 0
    # >0: one epoch of N training and N validation batches, to smoke-test the whole pipeline.
    fast_dev_run: int = 0
    # segmentation over several categories: score only the parts of each shape's own category
    # (batch["part_mask"], which multi-category datasets provide) in the loss, in evaluation and in
    # prediction — "the category is given", as for per-category models. Shapes without a part_mask
    # (e.g. meshes given to `geolearn predict`) are predicted over every part.
    restrict_to_category: bool = False

    def __post_init__(self) -> None:
        _check_types(self)
        _choice("optimizer", self.optimizer, OPTIMIZERS)
        _choice("schedule", self.schedule, SCHEDULES)
        for name in ("epochs", "batch_size", "step_size"):
            if getattr(self, name) < 1:
                raise OptionError(f"option {name}: must be at least 1, got {getattr(self, name)}")
        for name in ("warmup_epochs", "plateau_patience", "early_stopping_patience", "num_workers"):
            if getattr(self, name) < 0:
                raise OptionError(f"option {name}: must be >= 0, got {getattr(self, name)}")
        for name in ("overfit_batches", "fast_dev_run"):
            if getattr(self, name) < 0:
                raise OptionError(f"option {name}: must be >= 0, got {getattr(self, name)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise OptionError(f"option lr: must be a positive number, got {self.lr}")
        for name in ("weight_decay", "momentum", "grad_clip"):
            if not getattr(self, name) >= 0:
                raise OptionError(f"option {name}: must be >= 0, got {getattr(self, name)}")
        if not 0 < self.gamma <= 1:
            raise OptionError(f"option gamma: must be in (0, 1], got {self.gamma}")
        if not 0 <= self.label_smoothing < 1:
            raise OptionError(f"option label_smoothing: must be in [0, 1), got {self.label_smoothing}")
        if self.class_weights is not None and (
            not self.class_weights or any(not (w >= 0 and math.isfinite(w)) for w in self.class_weights)
        ):
            raise OptionError(f"option class_weights: must be non-negative numbers, got {self.class_weights}")
        if self.schedule == "plateau" and self.warmup_epochs:
            raise OptionError("option warmup_epochs: not supported with schedule 'plateau'")
        for name in ("limit_train_batches", "limit_val_batches"):
            value = getattr(self, name)
            if isinstance(value, float) and not 0 < value <= 1:
                raise OptionError(f"option {name}: a float is a fraction in (0, 1], got {value}")
            if isinstance(value, int) and value < 1:
                raise OptionError(f"option {name}: an int is a number of batches >= 1, got {value}")


@dataclass
class ExperimentConfig:
    """A whole ``geolearn train`` run: the data and model to build, and the :class:`TrainConfig`.

    Flat keys (see :meth:`to_flat_dict`): the fields below and every :class:`TrainConfig` field.
    """

    # "classify" (one label per shape) or "segment" (one label per face).
    task: str = "classify"
    # A registered encoder name (geolearn.nn); required, so empty until given.
    encoder: str = ""
    # Dataset path (archive, folder); None is the embedded default data set.
    data: Union[str, None] = None
    # Keep the first N shapes of each split (quick runs); None keeps all.
    max_shapes: Union[int, None] = None
    # Fraction of the training split carved out (seeded, stratified) for validation: model selection
    # and early stopping never look at the test split. 0.2 keeps >= 3 shapes per LabeledDB category.
    # (The embedded dataset generates its own validation shapes instead.) 0: no validation — train on
    # the whole training split for the configured epochs (chosen beforehand on a validation run) and
    # keep the last epoch's weights as best.pt.
    val_fraction: float = 0.2
    # Seeds the validation split (and which shapes the embedded dataset generates). Separate from
    # the training seed, so runs with different seeds are compared on the same data.
    split_seed: int = 0
    # Other arguments of the dataset class (e.g. {category: Chair} for the labeled PSB,
    # {num_per_class: {train: 12, val: 4, test: 10}} for the embedded dataset); empty keeps its defaults.
    dataset_kwargs: dict[str, Any] = field(default_factory=dict)
    # Arguments of the encoder's representations (e.g. num_points, resolution, num_views).
    representation_kwargs: dict[str, Any] = field(default_factory=dict)
    # Arguments of create_model: the encoder's options (e.g. k, use_normals) and head_hidden/head_dropout.
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    # Random augmentation of the training split, {transform: {argument: value}} applied in order
    # (geolearn.datasets.transforms: symmetry, rotate, jitter); e.g. {symmetry: {}} for voxels of
    # meshes without a common orientation. Empty: none (the papers' ModelNet baselines use none).
    augment: dict[str, Any] = field(default_factory=dict)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        _check_types(self)
        _choice("task", self.task, TASKS)
        if not 0 <= self.val_fraction < 1:
            raise OptionError(f"option val_fraction: must be in [0, 1), got {self.val_fraction}")
        if self.split_seed < 0:
            raise OptionError(f"option split_seed: must be >= 0, got {self.split_seed}")
        if self.max_shapes is not None and self.max_shapes < 1:
            raise OptionError(f"option max_shapes: must be at least 1, got {self.max_shapes}")
        if self.model_kwargs.get("category_input") and not self.train.restrict_to_category:
            raise OptionError(
                "option model_kwargs.category_input: the head reads the category, so it must be given: "
                "set restrict_to_category: true"
            )
        from geolearn.datasets.transforms import build_augmentation

        build_augmentation(self.augment)  # an unknown transform or argument fails here, named

    def to_flat_dict(self) -> dict[str, Any]:
        """One flat mapping of plain Python values (what ``config.yaml`` holds)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "train"}
        out.update(dataclasses.asdict(self.train))
        return _plain(out)

    @classmethod
    def from_flat_dict(
        cls, values: Mapping[str, Any], base: ExperimentConfig | None = None
    ) -> ExperimentConfig:
        """``base`` (default: the defaults) with ``values`` applied; keys and types are checked.

        Raises:
            OptionError: a key that is no field (the message suggests the closest), or a value that
                does not fit the field's type or range.
        """
        base = base if base is not None else cls()
        top = {f.name for f in dataclasses.fields(cls) if f.name != "train"}
        train_names = {f.name for f in dataclasses.fields(TrainConfig)}
        top_hints, train_hints = get_type_hints(cls), get_type_hints(TrainConfig)
        top_changes: dict[str, Any] = {}
        train_changes: dict[str, Any] = {}
        for key, value in values.items():
            if key in top:
                top_changes[key] = _coerce(key, value, top_hints[key])
            elif key in train_names:
                train_changes[key] = _coerce(key, value, train_hints[key])
            else:
                close = difflib.get_close_matches(str(key), sorted(top | train_names), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise OptionError(f"unknown option {key!r}{hint}")
        train = dataclasses.replace(base.train, **train_changes)
        return dataclasses.replace(base, train=train, **top_changes)


def parse_overrides(items: Iterable[str]) -> dict[str, Any]:
    """``["lr=0.01", "schedule=step"]`` → ``{"lr": 0.01, "schedule": "step"}``.

    Values are read as YAML scalars/lists (``0.01``, ``true``, ``null``, ``[1, 2.5]``); the field
    type decides the final value (a ``str`` field keeps the text as written).
    """
    out: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise OptionError(f"--set {item!r}: expected key=value")
        out[key] = _RawText(raw.strip())
    return out


def load_experiment_config(
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    base: ExperimentConfig | None = None,
) -> ExperimentConfig:
    """``base`` (or the defaults), then the flat YAML/JSON file at ``path``, then ``overrides``.

    Raises:
        OptionError: the file is missing, is not a mapping, or holds an unknown key or a bad value.
    """
    config = base if base is not None else ExperimentConfig()
    if path is not None:
        path = Path(path)
        try:
            values = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise OptionError(f"--config {path}: cannot read ({exc.strerror or exc})") from exc
        except yaml.YAMLError as exc:
            raise OptionError(f"--config {path}: not valid YAML ({exc})") from exc
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise OptionError(f"--config {path}: expected a mapping of option: value")
        try:
            config = ExperimentConfig.from_flat_dict(values, base=config)
        except OptionError as exc:
            raise OptionError(f"--config {path}: {exc}") from exc
    if overrides:
        config = ExperimentConfig.from_flat_dict(overrides, base=config)
    return config


class _RawText(str):
    """A value typed on the command line: parsed against the field type, not before."""


def _choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise OptionError(f"option {name}: must be one of {', '.join(choices)}; got {value!r}")


def _check_types(obj: Any) -> None:
    hints = get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        if f.name != "train":
            object.__setattr__(obj, f.name, _coerce(f.name, getattr(obj, f.name), hints[f.name]))


def _coerce(key: str, value: Any, tp: Any) -> Any:
    """``value`` as an instance of the annotation ``tp``, or OptionError naming ``key``."""
    origin, args = get_origin(tp), get_args(tp)
    if isinstance(value, _RawText) and not _accepts_str(tp):
        text = str(value)
        try:
            value = yaml.safe_load(text) if text else None
        except yaml.YAMLError:
            value = text
    elif isinstance(value, _RawText):  # a str field: the text as typed, except an explicit null
        if value.lower() in ("null", "none", "~") and type(None) in args:
            return None
        return str(value)
    if tp is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        for member in args:
            if member is not type(None):
                try:
                    return _coerce(key, value, member)
                except OptionError:
                    continue
        raise _type_error(key, value, tp)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _type_error(key, value, tp)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                return int(value)
        raise _type_error(key, value, tp)
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-3" as text
            with contextlib.suppress(ValueError):
                return float(value)
        raise _type_error(key, value, tp)
    if tp is str:
        if isinstance(value, str):
            return value
        raise _type_error(key, value, tp)
    if origin is list:
        if isinstance(value, (list, tuple)):
            return [_coerce(key, v, args[0]) for v in value]
        raise _type_error(key, value, tp)
    if origin is dict:
        if isinstance(value, Mapping):
            return dict(value)
        raise _type_error(key, value, tp)
    raise TypeError(f"unsupported config annotation {tp!r} for {key}")  # a bug in this file


def _accepts_str(tp: Any) -> bool:
    return tp is str or (get_origin(tp) in (Union, types.UnionType) and str in get_args(tp))


def _type_error(key: str, value: Any, tp: Any) -> OptionError:
    name = getattr(tp, "__name__", None) or str(tp).replace("typing.", "")
    if get_origin(tp) in (Union, types.UnionType):
        name = " or ".join(getattr(a, "__name__", str(a)).replace("NoneType", "null") for a in get_args(tp))
    return OptionError(f"option {key}: expected {name}, got {value!r}")


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj
