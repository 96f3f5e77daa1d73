"""The built-in encoders; importing this package registers them (see :mod:`geolearn.nn.registry`)."""

from __future__ import annotations

from geolearn.nn.encoders.descriptor import DescriptorEncoder, FaceFeatureEncoder
from geolearn.nn.encoders.diffusion import DiffusionNetEncoder
from geolearn.nn.encoders.multiview import MultiViewEncoder
from geolearn.nn.encoders.point import DGCNNEncoder, PointNetEncoder
from geolearn.nn.encoders.voxel import VoxNetEncoder, VoxResNetEncoder, VoxUNetEncoder

__all__ = [
    "DGCNNEncoder",
    "DescriptorEncoder",
    "DiffusionNetEncoder",
    "FaceFeatureEncoder",
    "MultiViewEncoder",
    "PointNetEncoder",
    "VoxNetEncoder",
    "VoxResNetEncoder",
    "VoxUNetEncoder",
]
