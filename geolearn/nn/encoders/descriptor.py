"""Hand-crafted descriptors as encoders: parameter-free, so the same heads, trainer and splits
compare them fairly with learned features.

- ``descriptor``: a global descriptor ``(B, D)`` (shape distribution, SDF histogram, …) is the global
  feature, standardised with statistics fitted on the training data.
- ``face_features``: per-face features ``(ΣF, C)`` (packed) are standardised and read at each point's
  face (local features); the global feature is their mean and max over each shape's faces.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch

from geolearn.errors import OptionError
from geolearn.nn.contract import Batch, Encoder, Features, require_tensor
from geolearn.nn.encoders._common import points_if_segment
from geolearn.nn.lookup import gather_face_features
from geolearn.nn.registry import register_encoder
from geolearn.nn.standardize import Standardizer

__all__ = ["DescriptorEncoder", "FaceFeatureEncoder"]


def _descriptor_representations(task: str = "classify", kind: str = "d2", **kwargs: Any) -> list[Any]:
    """``ShapeDistribution(kind=..., **kwargs)``, or ``SDFHistogram(**kwargs)`` for ``kind="sdf"``."""
    from geolearn.descriptors.representations import SDFHistogram, ShapeDistribution

    return [SDFHistogram(**kwargs) if kind == "sdf" else ShapeDistribution(kind=kind, **kwargs)]


def _face_representations(
    task: str = "segment", num_points: int = 1024, seed: int = 0, **kwargs: Any
) -> list[Any]:
    from geolearn.descriptors.representations import FaceFeatures

    return [FaceFeatures(**kwargs), *points_if_segment(task, num_points, seed)]


def _need_size(who: str, key: str, value: int | None) -> int:
    if value is None or value < 1:
        raise OptionError(
            f"{who} needs in_features (the length of batch[{key!r}] rows); pass in_features=... "
            "or create_model(..., example_batch=batch)"
        )
    return int(value)


@register_encoder(
    "descriptor",
    input_keys=("descriptor",),
    tasks=("classify",),
    representation="descriptor",
    representations=_descriptor_representations,
    description="a hand-crafted global descriptor (B,D), standardised, as the global feature",
    infer_kwargs=lambda batch: {"in_features": int(batch["descriptor"].shape[1])},
)
class DescriptorEncoder(Encoder):
    """The descriptor itself is the global feature, standardised per entry (``standardize=True``).

    Call :meth:`fit_normalizer` on training batches before use. No learnable parameters.

    Shapes: ``descriptor (B, D)`` → global ``(B, D)``.
    """

    def __init__(self, local: bool = False, in_features: int | None = None, standardize: bool = True) -> None:
        super().__init__()
        if local:
            raise OptionError("descriptor is a global feature only (use face_features to segment)")
        self.in_features = _need_size("descriptor", "descriptor", in_features)
        self.norm = Standardizer(self.in_features, "descriptor encoder") if standardize else None
        self.out_channels, self.local_channels = self.in_features, 0

    def fit_normalizer(self, batches: Iterable[Batch]) -> None:
        """Fit the standardisation on ``batch["descriptor"]`` of every training batch (no-op without it)."""
        if self.norm is not None:
            self.norm.fit(require_tensor(b, "descriptor", 2, "descriptor") for b in batches)

    def forward(self, batch: Batch) -> Features:
        x = require_tensor(batch, "descriptor", 2, "descriptor", dims={1: self.in_features})
        return Features(self.norm(x) if self.norm is not None else x, None)


@register_encoder(
    "face_features",
    input_keys=("face_features", "face_ptr"),
    tasks=("classify", "segment"),
    representation="face_features",
    representations=_face_representations,
    description="hand-crafted per-face features (ΣF,C), standardised, read at each point's face",
    infer_kwargs=lambda batch: {"in_features": int(batch["face_features"].shape[1])},
)
class FaceFeatureEncoder(Encoder):
    """Per-face features as local features, their per-shape mean and max as the global feature.

    Call :meth:`fit_normalizer` on training batches before use (statistics over all training faces).
    No learnable parameters.

    Shapes: ``face_features (ΣF, C)``, ``face_ptr (B+1,)``, ``point_face (B, N)`` → global ``(B, 2C)``,
    local ``(B, C, N)``.
    """

    def __init__(self, local: bool = False, in_features: int | None = None, standardize: bool = True) -> None:
        super().__init__()
        self.local = local
        self.in_features = _need_size("face_features", "face_features", in_features)
        self.norm = Standardizer(self.in_features, "face_features encoder") if standardize else None
        self.out_channels = 2 * self.in_features
        self.local_channels = self.in_features if local else 0

    def fit_normalizer(self, batches: Iterable[Batch]) -> None:
        """Fit the standardisation on ``batch["face_features"]`` of every training batch."""
        if self.norm is not None:
            self.norm.fit(require_tensor(b, "face_features", 2, "face_features") for b in batches)

    def forward(self, batch: Batch) -> Features:
        f = require_tensor(batch, "face_features", 2, "face_features", dims={1: self.in_features})
        face_ptr = require_tensor(batch, "face_ptr", 1, "face_features")
        if int(face_ptr[-1]) != f.shape[0]:
            raise OptionError(
                f"face_features: face_ptr[-1]={int(face_ptr[-1])} but there are {f.shape[0]} face rows"
            )
        if self.norm is not None:
            f = self.norm(f)
        b = face_ptr.numel() - 1
        counts = face_ptr[1:] - face_ptr[:-1]  # (B,)
        if bool((counts <= 0).any()):
            raise OptionError("face_features: every shape needs at least one face")
        shape_of = torch.repeat_interleave(torch.arange(b, device=f.device), counts)  # (ΣF,)
        index = shape_of.unsqueeze(1).expand_as(f)
        mean = f.new_zeros(b, f.shape[1]).index_add_(0, shape_of, f) / counts.unsqueeze(1).to(f.dtype)
        amax = f.new_zeros(b, f.shape[1]).scatter_reduce_(0, index, f, "amax", include_self=False)
        global_ = torch.cat([mean, amax], dim=1)  # (B, 2C)
        if not self.local:
            return Features(global_, None)
        point_face = require_tensor(batch, "point_face", 2, "face_features")
        return Features(global_, gather_face_features(f, point_face, face_ptr))
