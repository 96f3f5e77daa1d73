"""Geometry on meshes: surface sampling, farthest point sampling, voxelisation, ray casting, rendering."""

from geolearn.geometry.cameras import camera_positions, look_at
from geolearn.geometry.fps import farthest_point_sampling
from geolearn.geometry.render import Views, render_views
from geolearn.geometry.sampling import SurfaceSample, sample_surface
from geolearn.geometry.voxelize import VoxelGrid, voxel_centers, voxelize

__all__ = [
    "SurfaceSample",
    "Views",
    "VoxelGrid",
    "camera_positions",
    "farthest_point_sampling",
    "look_at",
    "render_views",
    "sample_surface",
    "voxel_centers",
    "voxelize",
]
