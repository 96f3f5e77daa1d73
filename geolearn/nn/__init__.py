"""Neural building blocks, encoders, heads and the model factory.

Modules:
    contract     ``Features`` (what encoders return), ``Encoder`` base, batch checks
    norm_act     normalisation / activation layers by name
    conv         conv + norm + act (1d/2d/3d), upsampling blocks
    residual     basic and bottleneck residual blocks
    mlp          MLP / shared per-point MLP, and one followed by max pooling over points
    fused        batch norm → (leaky) ReLU → max pooling as one autograd function
    pooling      pooling layers; points/pixels → packed faces
    lookup       trilinear lookup in voxel grids; per-face values at points
    standardize  feature standardisation fitted on training data
    registry     ``register_encoder`` / ``list_encoders`` / ``create_encoder``
    encoders     the built-in encoders (voxel, point, multi-view, descriptor)
    heads        ``ClassificationHead``, ``SegmentationHead``
    model        ``create_model``
    perf         ``tune_cpu_allocator``
"""

from __future__ import annotations

from geolearn.nn.contract import Encoder, Features
from geolearn.nn.heads import ClassificationHead, SegmentationHead
from geolearn.nn.model import ShapeModel, create_model
from geolearn.nn.perf import tune_cpu_allocator
from geolearn.nn.pooling import points_to_faces
from geolearn.nn.registry import (
    EncoderInfo,
    create_encoder,
    get_encoder_info,
    list_encoders,
    register_encoder,
)

__all__ = [
    "ClassificationHead",
    "Encoder",
    "EncoderInfo",
    "Features",
    "SegmentationHead",
    "ShapeModel",
    "create_encoder",
    "create_model",
    "get_encoder_info",
    "list_encoders",
    "points_to_faces",
    "register_encoder",
    "tune_cpu_allocator",
]
