"""Hand-crafted shape descriptors.

- Shape distributions D1, D2, A3, D3, D4 (Osada et al. 2002): :func:`d1` … :func:`d4`,
  :func:`shape_distribution` (one mesh, numpy out), :func:`shape_distributions` (many meshes, torch,
  CPU or CUDA); compared with the L1 distance (:func:`l1_distance`, :func:`nearest_neighbours`).
- The shape diameter function (Shapira et al. 2008): :func:`shape_diameter_function`,
  :func:`sdf_multi_cone`.
- Per-face features for segmentation (after Kalogerakis et al. 2010): :func:`face_features`.
- A registry (:func:`get_descriptor`, :func:`compute_descriptor`, :func:`list_descriptors`) and the
  dataset representations in :mod:`geolearn.descriptors.representations`.
"""

from __future__ import annotations

from geolearn.descriptors.distance import Neighbours, l1_distance, nearest_neighbours, pairwise_l1
from geolearn.descriptors.distributions import (
    KINDS,
    ShapeHistogram,
    ShapeHistogramBatch,
    a3,
    d1,
    d2,
    d3,
    d4,
    shape_distribution,
    shape_distributions,
)
from geolearn.descriptors.features import (
    FaceFeatureResult,
    canonical_frame,
    face_feature_names,
    face_features,
)
from geolearn.descriptors.registry import (
    DescriptorSpec,
    compute_descriptor,
    get_descriptor,
    list_descriptors,
    register_descriptor,
)
from geolearn.descriptors.sdf import MultiConeSDF, SDFResult, sdf_multi_cone, shape_diameter_function

__all__ = [
    "KINDS",
    "DescriptorSpec",
    "FaceFeatureResult",
    "MultiConeSDF",
    "Neighbours",
    "SDFResult",
    "ShapeHistogram",
    "ShapeHistogramBatch",
    "a3",
    "canonical_frame",
    "compute_descriptor",
    "d1",
    "d2",
    "d3",
    "d4",
    "face_feature_names",
    "face_features",
    "get_descriptor",
    "l1_distance",
    "list_descriptors",
    "nearest_neighbours",
    "pairwise_l1",
    "register_descriptor",
    "sdf_multi_cone",
    "shape_diameter_function",
    "shape_distribution",
    "shape_distributions",
]

for _name, _fn, _doc in (
    ("d1", d1, "distance from the centroid to a random surface point"),
    ("d2", d2, "distance between two random surface points"),
    ("a3", a3, "angle between three random surface points"),
    ("d3", d3, "square root of the area of the triangle of three random points"),
    ("d4", d4, "cube root of the volume of the tetrahedron of four random points"),
):
    register_descriptor(_name, _fn, ShapeHistogram, summary=f"shape distribution {_name.upper()}: {_doc}")
register_descriptor(
    "sdf",
    shape_diameter_function,
    SDFResult,
    per_face=True,
    summary="shape diameter function per face, with an area-weighted histogram of its normalised values",
)
register_descriptor(
    "face_features",
    face_features,
    FaceFeatureResult,
    per_face=True,
    summary="per-face features for segmentation: SDF at several cones, curvature, local PCA, position",
)
del _name, _fn, _doc
