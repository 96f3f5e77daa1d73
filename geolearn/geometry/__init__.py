"""Geometry on meshes: surface sampling, farthest point sampling, voxelisation, ray casting, rendering,
and per-face label probabilities smoothed over a mesh."""

from geolearn.geometry.cameras import camera_positions, look_at
from geolearn.geometry.fps import farthest_point_sampling
from geolearn.geometry.propagation import FaceGraph, face_graph, smooth_face_probabilities
from geolearn.geometry.render import Views, render_views
from geolearn.geometry.sampling import SurfaceSample, sample_surface
from geolearn.geometry.voxelize import VoxelGrid, voxel_centers, voxelize

__all__ = [
    "FaceGraph",
    "SurfaceSample",
    "Views",
    "VoxelGrid",
    "camera_positions",
    "face_graph",
    "farthest_point_sampling",
    "look_at",
    "render_views",
    "sample_surface",
    "smooth_face_probabilities",
    "voxel_centers",
    "voxelize",
]
