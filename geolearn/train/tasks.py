"""What differs between classification and segmentation in the training loop: the target, the
metrics, and what one prediction row is.

Metric *statistics* of a batch are sums (confusion matrices, totals) on the CPU, so the statistics
of an epoch are the sum over its batches and over the ranks of a distributed run; the metrics are
computed from the summed statistics once per epoch (:meth:`Task.summarize`).

- ``classify``: model output ``(B, K)``, target ``batch["label"] (B,)``. Metrics: ``accuracy``
  (overall), ``mean_class_accuracy``, ``per_class_accuracy``, ``confusion`` (counts).
- ``segment``: model output ``(B, K, N)`` per point, target ``batch["point_labels"] (B, N)`` for the
  loss. Evaluation pools point logits to faces (:func:`geolearn.nn.pooling.points_to_faces`) and
  scores faces weighted by area: ``accuracy`` (labelled-area fraction per shape, mean over shapes),
  ``miou`` / ``per_part_iou`` (area-weighted IoU pooled over the split, mean over parts present in
  the ground truth), ``confusion`` (area-weighted), and ``point_accuracy`` (per sampled point, the
  quantity the loss sees).
"""

from __future__ import annotations

import abc
import math
from typing import Any, ClassVar, NamedTuple

import torch

from geolearn.errors import OptionError
from geolearn.train import metrics

__all__ = ["Classification", "Rows", "Segmentation", "Task", "get_task"]


class Rows(NamedTuple):
    """Prediction rows of one batch.

    Shapes:
        logits: ``(R, K)`` float — one row per shape (classify) or per face, packed (segment).
        counts: ``(B,)`` int64 — rows per shape (all 1 for classify; faces per shape for segment).
    """

    logits: torch.Tensor
    counts: torch.Tensor


class Task(abc.ABC):
    """Base class; see the module docstring."""

    name: ClassVar[str]
    target_key: ClassVar[str]
    train_metric: ClassVar[str]  # accuracy of what the loss sees, reported during training

    def restrict(self, logits: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        """``logits`` limited to the labels a shape can carry (segmentation with ``part_mask``);
        unchanged for classification and for batches without a mask."""
        return logits

    def target(self, batch: dict[str, Any]) -> torch.Tensor:
        """The loss target: ``(B,)`` (classify) or ``(B, N)`` (segment) int64 class indices."""
        if self.target_key not in batch:
            raise OptionError(
                f"task {self.name}: the batch has no {self.target_key!r} (keys: {sorted(batch)})"
            )
        return batch[self.target_key]

    def train_stats(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, torch.Tensor]:
        """Confusion counts of the argmax of ``logits`` against ``target`` (per shape or point)."""
        k = logits.shape[1]
        pred = logits.detach().argmax(dim=1).reshape(-1).cpu()
        return {"item_confusion": metrics.confusion_matrix(pred, target.reshape(-1).cpu(), k)}

    def eval_stats(self, logits: torch.Tensor, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        """Summable statistics of one evaluated batch (CPU tensors)."""
        return self.train_stats(logits, self.target(batch))

    def summarize(self, stats: dict[str, torch.Tensor]) -> dict[str, Any]:
        """Metrics from summed statistics: ``loss`` and :attr:`train_metric` from training stats,
        plus the task's evaluation metrics when their statistics are present."""
        out: dict[str, Any] = {}
        if "loss_sum" in stats:
            weight = float(stats["loss_weight"])
            out["loss"] = float(stats["loss_sum"]) / weight if weight else math.nan
        if "item_confusion" in stats:
            out[self.train_metric] = metrics.accuracy(stats["item_confusion"])
        return out

    @abc.abstractmethod
    def rows(self, logits: torch.Tensor, batch: dict[str, Any]) -> Rows:
        """The prediction rows of a batch and how many belong to each shape."""


class Classification(Task):
    name = "classify"
    target_key = "label"
    train_metric = "accuracy"

    def summarize(self, stats: dict[str, torch.Tensor]) -> dict[str, Any]:
        out = super().summarize(stats)
        if "confusion" in stats:
            c = stats["confusion"]
            out["accuracy"] = metrics.accuracy(c)
            out["mean_class_accuracy"] = metrics.mean_class_accuracy(c)
            out["per_class_accuracy"] = _list(metrics.per_class_accuracy(c))
            out["confusion"] = c.tolist()
        return out

    def eval_stats(self, logits: torch.Tensor, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        return {"confusion": super().eval_stats(logits, batch)["item_confusion"]}

    def rows(self, logits: torch.Tensor, batch: dict[str, Any]) -> Rows:
        return Rows(logits, torch.ones(logits.shape[0], dtype=torch.int64))


# the logit given to labels outside a shape's category: exp(-1e4 - max) underflows to exactly 0 in
# float32 softmax, while staying finite keeps cross-entropy (also with label smoothing) finite
MASKED_LOGIT = -1.0e4


class Segmentation(Task):
    name = "segment"
    target_key = "point_labels"
    train_metric = "point_accuracy"

    def restrict(self, logits: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        mask = batch.get("part_mask")
        if mask is None:
            return logits
        if mask.shape != (logits.shape[0], logits.shape[1]):
            raise OptionError(
                f"part_mask {tuple(mask.shape)} does not match the model's {logits.shape[1]} labels "
                f"for {logits.shape[0]} shapes"
            )
        return logits.masked_fill(~mask.to(torch.bool).unsqueeze(2), MASKED_LOGIT)

    def face_logits(self, logits: torch.Tensor, batch: dict[str, Any]) -> torch.Tensor:
        """Per-point logits ``(B, K, N)`` pooled to the packed faces: ``(ΣF, K)``."""
        from geolearn.nn.pooling import points_to_faces

        return points_to_faces(
            logits,
            batch["point_face"],
            batch["face_ptr"],
            face_centroids=batch["face_centroids"],
            points=batch["points"],
        )

    def eval_stats(self, logits: torch.Tensor, batch: dict[str, Any]) -> dict[str, torch.Tensor]:
        k = logits.shape[1]
        stats = super().eval_stats(logits, batch)  # point confusion
        face_pred = self.face_logits(logits, batch).argmax(dim=1).cpu()  # (ΣF,)
        face_true = batch["face_labels"].cpu()
        area = batch["face_areas"].cpu()
        ptr = batch["face_ptr"].cpu()
        shape_acc = metrics.per_shape_accuracy(face_pred, face_true, area, ptr)  # (B,)
        stats["face_confusion"] = metrics.confusion_matrix(face_pred, face_true, k, weight=area)
        stats["shape_accuracy_sum"] = shape_acc.nan_to_num(0.0).sum()
        stats["shapes"] = (~shape_acc.isnan()).sum()
        return stats

    def summarize(self, stats: dict[str, torch.Tensor]) -> dict[str, Any]:
        out = super().summarize(stats)
        if "face_confusion" in stats:
            c = stats["face_confusion"]
            shapes = int(stats["shapes"])
            out["accuracy"] = float(stats["shape_accuracy_sum"]) / shapes if shapes else math.nan
            out["miou"] = metrics.mean_iou(c)
            out["per_part_iou"] = _list(metrics.per_class_iou(c))
            out["confusion"] = c.tolist()
        return out

    def rows(self, logits: torch.Tensor, batch: dict[str, Any]) -> Rows:
        return Rows(self.face_logits(logits, batch), batch["face_ptr"].diff().cpu())


TASKS: dict[str, type[Task]] = {"classify": Classification, "segment": Segmentation}


def get_task(name: str) -> Task:
    """The :class:`Task` named ``"classify"`` or ``"segment"``."""
    if name not in TASKS:
        raise OptionError(f"task must be one of {', '.join(TASKS)}, got {name!r}")
    return TASKS[name]()


def _list(x: torch.Tensor) -> list[float | None]:
    """A float tensor as a JSON-friendly list (NaN → None)."""
    return [None if math.isnan(v) else v for v in x.tolist()]
