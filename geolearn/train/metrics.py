"""Classification and segmentation metrics, computed from a confusion matrix.

Everything is derived from a confusion matrix ``C`` whose rows are the TRUE class and columns the
PREDICTED class: ``C[i, j]`` counts (or, with weights, sums the weight of) items of class ``i``
predicted as ``j``. Confusion matrices of several batches (or of several processes) simply add up,
which is how the trainer accumulates metrics over an epoch and all-reduces them across ranks.

Segmentation on meshes is scored per face, with each face weighted by its AREA (the LabeledDB
protocol of Kalogerakis et al. 2010: "per-face accuracy weighted by face area, and per-part IoU"):

- :func:`per_shape_accuracy` — the fraction of each shape's surface area that is labelled
  correctly; the data set's accuracy is its mean over shapes (each shape counts once).
- :func:`per_class_iou` on an area-weighted confusion matrix — per-part IoU
  ``area(pred = p and true = p) / area(pred = p or true = p)`` pooled over all faces of the split;
  :func:`mean_iou` averages it over the parts present in the ground truth.

All functions take torch tensors (CPU or CUDA) and return tensors or Python floats; NaN marks a
class for which a value is undefined (no ground truth for it).
"""

from __future__ import annotations

import torch

from geolearn.errors import OptionError

__all__ = [
    "accuracy",
    "confusion_matrix",
    "mean_class_accuracy",
    "mean_iou",
    "per_class_accuracy",
    "per_class_iou",
    "per_shape_accuracy",
]


def confusion_matrix(
    pred: torch.Tensor, target: torch.Tensor, num_classes: int, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Confusion matrix of predicted vs true class indices.

    Shapes:
        pred, target: ``(M,)`` int64 class indices in ``[0, num_classes)``.
        weight: ``(M,)`` float, optional (e.g. face areas).
        returns: ``(K, K)`` — int64 counts without ``weight``, float64 sums of weight with it;
        rows are true classes, columns predicted classes.
    """
    if pred.shape != target.shape or pred.dim() != 1:
        raise OptionError(
            f"pred and target must be 1-d of equal length, got {tuple(pred.shape)}, {tuple(target.shape)}"
        )
    if weight is not None and weight.shape != pred.shape:
        raise OptionError(f"weight must have shape {tuple(pred.shape)}, got {tuple(weight.shape)}")
    k = int(num_classes)
    if k < 1:
        raise OptionError(f"num_classes must be at least 1, got {num_classes}")
    if pred.numel():
        lo = int(torch.minimum(pred.min(), target.min()))
        hi = int(torch.maximum(pred.max(), target.max()))
        if lo < 0 or hi >= k:
            raise OptionError(f"class indices must be in [0, {k}), found {lo if lo < 0 else hi}")
    flat = target.long() * k + pred.long()  # (M,) cell index
    w = None if weight is None else weight.to(torch.float64)
    return torch.bincount(flat, weights=w, minlength=k * k).reshape(k, k)


def accuracy(confusion: torch.Tensor) -> float:
    """Overall accuracy: the (weighted) fraction of items on the diagonal. NaN when empty."""
    c = confusion.to(torch.float64)
    total = c.sum()
    return float(c.diagonal().sum() / total) if total > 0 else float("nan")


def per_class_accuracy(confusion: torch.Tensor) -> torch.Tensor:
    """Recall of each class: ``C[i, i] / sum_j C[i, j]``.

    Shapes: ``(K, K)`` → ``(K,)`` float64, NaN for a class with no ground-truth item.
    """
    c = confusion.to(torch.float64)
    support = c.sum(dim=1)
    return torch.where(support > 0, c.diagonal() / support.clamp_min(1e-300), torch.nan)


def mean_class_accuracy(confusion: torch.Tensor) -> float:
    """Mean of :func:`per_class_accuracy` over the classes present in the ground truth."""
    return _nanmean(per_class_accuracy(confusion))


def per_class_iou(confusion: torch.Tensor) -> torch.Tensor:
    """Intersection over union of each class: ``C[i,i] / (sum_j C[i,j] + sum_j C[j,i] - C[i,i])``.

    Shapes: ``(K, K)`` → ``(K,)`` float64. NaN for a class absent from both truth and prediction;
    a class that is only predicted has IoU 0.
    """
    c = confusion.to(torch.float64)
    inter = c.diagonal()
    union = c.sum(dim=0) + c.sum(dim=1) - inter
    return torch.where(union > 0, inter / union.clamp_min(1e-300), torch.nan)


def mean_iou(confusion: torch.Tensor) -> float:
    """Mean of :func:`per_class_iou` over the classes (parts) present in the ground truth."""
    present = confusion.sum(dim=1) > 0
    if not bool(present.any()):
        return float("nan")
    return float(per_class_iou(confusion)[present].mean())


def per_shape_accuracy(
    pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor, ptr: torch.Tensor
) -> torch.Tensor:
    """Weighted accuracy of each shape of a packed batch (weight = face area: labelled area fraction).

    Shapes:
        pred, target: ``(ΣF,)`` int64 per-face classes, packed; weight: ``(ΣF,)`` float.
        ptr: ``(B+1,)`` int64 offsets: shape ``b`` owns items ``ptr[b]:ptr[b+1]``.
        returns: ``(B,)`` float64, NaN for a shape with zero total weight.
    """
    if not (pred.shape == target.shape == weight.shape) or pred.dim() != 1:
        raise OptionError("pred, target and weight must be 1-d of equal length")
    if ptr.dim() != 1 or ptr.numel() < 1 or int(ptr[0]) != 0 or int(ptr[-1]) != pred.numel():
        raise OptionError(f"ptr must run from 0 to {pred.numel()}, got {ptr.tolist()}")
    counts = ptr.diff()
    if bool((counts < 0).any()):
        raise OptionError("ptr must be non-decreasing")
    num_shapes = counts.numel()
    shape_of = torch.repeat_interleave(torch.arange(num_shapes, device=ptr.device), counts)  # (ΣF,)
    w = weight.to(torch.float64)
    correct = torch.zeros(num_shapes, dtype=torch.float64, device=w.device)
    total = torch.zeros(num_shapes, dtype=torch.float64, device=w.device)
    correct.index_add_(0, shape_of, w * (pred == target))
    total.index_add_(0, shape_of, w)
    return torch.where(total > 0, correct / total.clamp_min(1e-300), torch.nan)


def _nanmean(x: torch.Tensor) -> float:
    keep = ~torch.isnan(x)
    return float(x[keep].mean()) if bool(keep.any()) else float("nan")
