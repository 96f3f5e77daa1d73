"""The model factory: a registered encoder plus a shared head."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import nn

from geolearn.errors import OptionError
from geolearn.nn.contract import Batch, Encoder
from geolearn.nn.heads import ClassificationHead, SegmentationHead
from geolearn.nn.registry import TASKS, create_encoder, get_encoder_info

__all__ = ["ShapeModel", "create_model"]


class ShapeModel(nn.Module):
    """``encoder`` followed by a classification or segmentation head.

    ``forward(batch)`` returns logits: ``(B, K)`` for ``classify``, ``(B, K, N)`` per point for ``segment``.
    """

    def __init__(
        self,
        encoder: Encoder,
        head: nn.Module,
        task: str,
        encoder_name: str,
        num_classes: int,
        category_input: bool = False,
    ) -> None:
        super().__init__()
        self.encoder, self.head = encoder, head
        self.task, self.encoder_name, self.num_classes = task, encoder_name, num_classes
        self.category_input = category_input

    @property
    def needs_fit(self) -> bool:
        """True when the encoder has statistics to fit with :meth:`fit_normalizer` before training."""
        return hasattr(self.encoder, "fit_normalizer")

    def fit_normalizer(self, batches: Iterable[Batch]) -> None:
        """Fit the encoder's input standardisation on training batches (a no-op for encoders without one).

        Call once before training with the training split only (never validation or test).
        """
        fit = getattr(self.encoder, "fit_normalizer", None)
        if fit is not None:
            fit(batches)

    def auxiliary_loss(self) -> torch.Tensor | None:
        """The encoder's regularisation term of the last forward pass (see :meth:`Encoder.auxiliary_loss`)."""
        return self.encoder.auxiliary_loss()

    def forward(self, batch: Batch) -> torch.Tensor:
        feats = self.encoder(batch)
        if self.task == "classify":
            return self.head(feats.global_features)
        if feats.local_features is None:  # pragma: no cover - create_model builds local encoders
            raise OptionError(f"encoder {self.encoder_name!r} returned no local features")
        global_ = feats.global_features
        if self.category_input:
            global_ = torch.cat([global_, self._category_code(batch, global_)], dim=1)
        return self.head(feats.local_features, global_)

    def _category_code(self, batch: Batch, like: torch.Tensor) -> torch.Tensor:
        """``(B, K)`` float: each shape's ``part_mask`` row, which names its category."""
        mask = batch.get("part_mask")
        if mask is None:
            raise OptionError(
                "this model reads each shape's category (category_input): the batch has no part_mask "
                "(give the category, e.g. `geolearn predict --category`)"
            )
        if mask.shape != (like.shape[0], self.num_classes):
            raise OptionError(
                f"part_mask {tuple(mask.shape)} does not match the model's {self.num_classes} labels "
                f"for {like.shape[0]} shapes"
            )
        return mask.to(like.dtype)


def create_model(
    encoder: str,
    task: str = "classify",
    *,
    num_classes: int,
    head_hidden: Sequence[int] | None = None,
    head_dropout: float | None = None,
    category_input: bool = False,
    example_batch: Batch | None = None,
    **encoder_kwargs: Any,
) -> ShapeModel:
    """Build ``encoder`` (a registered name) with the shared head for ``task``.

    Args:
        encoder: a name from :func:`~geolearn.nn.registry.list_encoders`.
        task: ``classify`` or ``segment``.
        num_classes: K.
        head_hidden, head_dropout: override the head defaults (see :class:`ClassificationHead` /
            :class:`SegmentationHead`).
        category_input: segmentation over several categories: the segmentation head also reads each
            shape's category, as its ``part_mask`` row (K more global inputs), as PointNet's part
            segmentation reads a one-hot category; every batch must then carry ``part_mask``.
        example_batch: a batch of the training data; sizes the encoder reads off it (input channels,
            descriptor length, voxel resolution) fill the encoder kwargs not given explicitly.
        **encoder_kwargs: passed to the encoder.

    Returns:
        a :class:`ShapeModel` whose ``forward(batch)`` gives ``(B, K)`` or ``(B, K, N)`` logits.
    """
    if task not in TASKS:
        raise OptionError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
    info = get_encoder_info(encoder)
    if task not in info.tasks:
        raise OptionError(f"encoder {encoder!r} supports {', '.join(sorted(info.tasks))}, not {task!r}")
    if example_batch is not None:
        for key in info.input_keys:
            if key not in example_batch:
                raise OptionError(f"example_batch lacks {key!r}, which encoder {encoder!r} reads")
        encoder_kwargs = {**info.infer_kwargs(example_batch), **encoder_kwargs}
    enc = create_encoder(encoder, local=task == "segment", **encoder_kwargs)
    head_kw: dict[str, Any] = {}
    if head_hidden is not None:
        head_kw["hidden"] = tuple(head_hidden)
    if head_dropout is not None:
        head_kw["dropout"] = head_dropout
    if category_input and task != "segment":
        raise OptionError("category_input is an option of segmentation (the category is the label here)")
    if task == "classify":
        head: nn.Module = ClassificationHead(enc.out_channels, num_classes, **head_kw)
    else:
        global_channels = enc.out_channels + (num_classes if category_input else 0)
        head = SegmentationHead(enc.local_channels, global_channels, num_classes, **head_kw)
    return ShapeModel(enc, head, task, encoder, num_classes, category_input=category_input)
