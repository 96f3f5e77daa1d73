"""Random augmentation of samples, applied by a dataset on every access.

A transform is called as ``transform(sample, generator) -> sample``: it draws every random number from
the ``torch.Generator`` it is given (the dataset seeds one per ``(seed, epoch, index)``), returns a
new dict with new tensors and never modifies the sample it receives (so cached arrays are never
changed). Its ``repr`` lists its parameters.

Transforms are registered by name (:func:`create_transform`); a duplicate name raises.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import torch

from geolearn.errors import OptionError

__all__ = [
    "TRANSFORMS",
    "Compose",
    "RandomJitter",
    "RandomRotation",
    "RandomScale",
    "RandomSymmetry",
    "apply_linear",
    "apply_scale",
    "apply_symmetry",
    "build_augmentation",
    "create_transform",
    "cube_symmetries",
    "register_transform",
]

T = TypeVar("T")
TRANSFORMS: dict[str, Any] = {}

# Keys holding 3D positions or directions in the normalised frame; a rotation applies to all of them.
_VECTOR_KEYS = ("points", "normals", "face_centroids")
# Images rendered from fixed cameras: no symmetry of the points can be applied to them.
_IMAGE_KEYS = ("views", "view_face")


def register_transform(name: str) -> Callable[[T], T]:
    """Class decorator registering a transform under ``name``; a duplicate name raises."""

    def wrap(cls: T) -> T:
        if name in TRANSFORMS:
            raise OptionError(f"transform name {name!r} is already registered")
        TRANSFORMS[name] = cls
        return cls

    return wrap


def create_transform(name: str, **kwargs: Any) -> Any:
    """The transform registered as ``name`` built with ``kwargs``."""
    if name not in TRANSFORMS:
        raise OptionError(f"unknown transform {name!r}; known: {', '.join(sorted(TRANSFORMS))}")
    return TRANSFORMS[name](**kwargs)


def build_augmentation(spec: Any) -> Compose | None:
    """The transforms of an ``augment`` option: a mapping ``{name: {kwarg: value} or None}``
    applied in the order written (``{"symmetry": None, "jitter": {"sigma": 0.01}}``); ``None`` or an
    empty mapping gives ``None`` (no augmentation).

    Raises:
        OptionError: a mapping of another shape, an unknown name or an argument the transform does
            not take, each naming the option.
    """
    if not spec:
        return None
    if not isinstance(spec, dict):
        raise OptionError(
            f"option augment: must be a mapping name -> arguments (e.g. {{symmetry: {{}}, jitter: {{sigma: 0.01}}}}), "
            f"got {spec!r}"
        )
    out = []
    for name, kwargs in spec.items():
        if kwargs is None:
            kwargs = {}
        if not isinstance(kwargs, dict):
            raise OptionError(f"option augment: the arguments of {name!r} must be a mapping, got {kwargs!r}")
        if name not in TRANSFORMS:
            raise OptionError(
                f"option augment: unknown transform {name!r}; known: {', '.join(sorted(TRANSFORMS))}"
            )
        try:
            out.append(TRANSFORMS[name](**kwargs))
        except TypeError as exc:  # an argument the transform does not take
            raise OptionError(f"option augment: {name}: {exc}") from exc
    return Compose(out)


class Compose:
    """Apply several transforms in order, all drawing from the same generator."""

    def __init__(
        self, transforms: Sequence[Callable[[dict[str, Any], torch.Generator], dict[str, Any]]]
    ) -> None:
        self.transforms = list(transforms)

    def __repr__(self) -> str:
        return f"Compose([{', '.join(repr(t) for t in self.transforms)}])"

    def __call__(self, sample: dict[str, Any], generator: torch.Generator) -> dict[str, Any]:
        for t in self.transforms:
            sample = t(sample, generator)
        return sample


def _rotation_matrix(axis: str, angle: torch.Tensor) -> torch.Tensor:
    """``(3, 3)`` float32 rotation by ``angle`` (0-d tensor, radians) about coordinate ``axis``."""
    c, s = torch.cos(angle), torch.sin(angle)
    one, zero = torch.ones(()), torch.zeros(())
    if axis == "x":
        rows = [[one, zero, zero], [zero, c, -s], [zero, s, c]]
    elif axis == "y":
        rows = [[c, zero, s], [zero, one, zero], [-s, zero, c]]
    else:
        rows = [[c, -s, zero], [s, c, zero], [zero, zero, one]]
    return torch.stack([torch.stack(r) for r in rows]).to(torch.float32)


def _axis_angle_matrix(direction: torch.Tensor, angle: float) -> torch.Tensor:
    """``(3, 3)`` float64 rotation by ``angle`` radians about ``direction`` (Rodrigues' formula)."""
    k = direction / direction.norm().clamp(min=1e-12)
    cross = torch.tensor([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]], dtype=torch.float64)
    return torch.eye(3, dtype=torch.float64) + math.sin(angle) * cross + (1 - math.cos(angle)) * cross @ cross


@register_transform("rotate")
class RandomRotation:
    """Rotate ``points``, ``normals``, ``face_centroids`` and ``voxels`` by one random angle about ``axis``.

    Voxels are resampled (:func:`apply_linear`: each cell centre reads the old grid trilinearly at
    its preimage, a 0/1 grid thresholded at 1/2), so they stay aligned with the rotated points; a
    shape inside the unit ball stays inside the grid.

    Args:
        axis: ``"x"``, ``"y"`` or ``"z"`` (ModelNet and the embedded shapes are ``z``-up), or
            ``"any"``: a random axis, uniform on the sphere (small angles then jitter a pose in every
            direction, e.g. shapes in an estimated principal frame).
        max_angle: angles are uniform in ``[-max_angle, max_angle]`` radians (default: a full turn).

    Raises:
        OptionError: when called on a sample with rendered views (images of fixed cameras).
    """

    def __init__(self, axis: str = "z", max_angle: float = math.pi) -> None:
        if axis not in ("x", "y", "z", "any"):
            raise OptionError(f"RandomRotation: axis must be 'x', 'y', 'z' or 'any', got {axis!r}")
        if not (0 <= float(max_angle) <= math.pi):
            raise OptionError(f"RandomRotation: max_angle must be in [0, pi], got {max_angle}")
        self.axis = axis
        self.max_angle = float(max_angle)

    def __repr__(self) -> str:
        return f"RandomRotation(axis={self.axis!r}, max_angle={self.max_angle})"

    def __call__(self, sample: dict[str, Any], generator: torch.Generator) -> dict[str, Any]:
        images = [k for k in _IMAGE_KEYS if k in sample]
        if images:
            raise OptionError(f"RandomRotation cannot rotate {', '.join(images)} (rendered images)")
        angle = (torch.rand((), generator=generator) * 2 - 1) * self.max_angle
        if self.axis == "any":
            direction = torch.randn(3, generator=generator, dtype=torch.float64)
            return apply_linear(sample, _axis_angle_matrix(direction, float(angle)))
        return apply_linear(sample, _rotation_matrix(self.axis, angle))


@register_transform("jitter")
class RandomJitter:
    """Add Gaussian noise of std ``sigma``, clipped to ``[-clip, clip]``, to every point of ``points``
    (normals, face data and ``point_face`` are kept)."""

    def __init__(self, sigma: float = 0.01, clip: float = 0.05) -> None:
        if not (sigma >= 0 and clip >= 0):
            raise OptionError(f"RandomJitter: sigma and clip must be >= 0, got {sigma}, {clip}")
        self.sigma = float(sigma)
        self.clip = float(clip)

    def __repr__(self) -> str:
        return f"RandomJitter(sigma={self.sigma}, clip={self.clip})"

    def __call__(self, sample: dict[str, Any], generator: torch.Generator) -> dict[str, Any]:
        if "points" not in sample:
            return dict(sample)
        p = sample["points"]
        noise = torch.randn(p.shape, generator=generator, dtype=p.dtype) * self.sigma
        out = dict(sample)
        out["points"] = p + noise.clamp_(-self.clip, self.clip)  # (N, 3), a new tensor
        return out


@register_transform("scale")
class RandomScale:
    """Stretch the shape by a random factor per axis (one factor for all axes with
    ``anisotropic=False``), the scaling augmentation of PointNet++ and DGCNN's part segmentation.

    ``points`` and ``face_centroids`` are multiplied by the factors, ``normals`` divided by them and
    renormalised (normals transform by the inverse transpose), and ``voxels`` resampled: each new cell
    centre reads the old grid trilinearly at its preimage, and a 0/1 grid is thresholded at 1/2 so it
    stays 0/1 (what a voxelisation of the stretched mesh would give, to within a cell). A factor is
    lowered where it would carry the shape out of ``[-1, 1]`` (the extent of the points, face centroids
    and occupied cells), so nothing leaves the grid.

    Args:
        low, high: each factor is uniform in ``[low, high]`` (0 < low <= high).
        anisotropic: one factor per axis (else one for all three).

    Raises:
        OptionError: bad arguments, or a sample with rendered ``views`` (images of fixed cameras).
    """

    def __init__(self, low: float = 0.8, high: float = 1.25, anisotropic: bool = True) -> None:
        if isinstance(low, bool) or isinstance(high, bool) or not (0 < float(low) <= float(high)):
            raise OptionError(f"RandomScale: need 0 < low <= high, got low={low!r}, high={high!r}")
        if not isinstance(anisotropic, bool):
            raise OptionError(f"RandomScale: anisotropic must be true or false, got {anisotropic!r}")
        self.low, self.high, self.anisotropic = float(low), float(high), anisotropic

    def __repr__(self) -> str:
        return f"RandomScale(low={self.low}, high={self.high}, anisotropic={self.anisotropic})"

    def draw(self, generator: torch.Generator) -> torch.Tensor:
        """The ``(3,)`` factors of one call before capping (the same draws ``__call__`` makes)."""
        u = torch.rand(3 if self.anisotropic else 1, generator=generator, dtype=torch.float64)
        return (self.low + (self.high - self.low) * u).expand(3).clone()

    def __call__(self, sample: dict[str, Any], generator: torch.Generator) -> dict[str, Any]:
        images = [k for k in _IMAGE_KEYS if k in sample]
        if images:
            raise OptionError(f"RandomScale cannot transform {', '.join(images)} (rendered images)")
        factors = self.draw(generator)
        extent = _extent(sample)  # (3,) largest |coordinate| per axis
        factors = torch.minimum(factors, 1.0 / extent.clamp(min=1e-12))
        return apply_scale(sample, factors)


def _extent(sample: dict[str, Any]) -> torch.Tensor:
    """``(3,)`` float64: the largest ``|coordinate|`` per axis over the sample's positions and occupied
    voxel cells (cells count with their outer face)."""
    ext = torch.zeros(3, dtype=torch.float64)
    for k in ("points", "face_centroids"):
        if k in sample and sample[k].numel():
            ext = torch.maximum(ext, sample[k].abs().reshape(-1, 3).amax(0).to(torch.float64))
    if "voxels" in sample:
        g = sample["voxels"]
        r = g.shape[-1]
        occupied = (g != 0).reshape(-1, r, r, r).any(0)  # (R, R, R)
        for j in range(3):
            other = tuple(d for d in range(3) if d != j)
            idx = occupied.any(dim=other).nonzero().flatten()
            if len(idx):
                edge = torch.maximum(r - idx.min().double(), idx.max().double() + 1) * (2.0 / r) - 1.0
                ext[j] = max(float(ext[j]), float(edge))
    return ext


def apply_scale(data: dict[str, Any], factors: Sequence[float] | torch.Tensor) -> dict[str, Any]:
    """``data`` stretched by ``factors`` along x, y, z (see :class:`RandomScale`); one sample
    (``voxels (C, R, R, R)``) or a collated batch (``(B, C, R, R, R)``). Returns a new dict."""
    f = torch.as_tensor(factors, dtype=torch.float64).reshape(3)
    return apply_linear(data, torch.diag(f))


def apply_linear(data: dict[str, Any], matrix: Sequence[Sequence[float]] | torch.Tensor) -> dict[str, Any]:
    """``data`` moved by the invertible linear map ``matrix`` (``(3, 3)``, acting on column vectors):
    ``points`` and ``face_centroids`` mapped, ``normals`` by the inverse transpose and renormalised,
    ``voxels`` resampled — each cell centre reads the old grid trilinearly at its preimage (zero
    outside), and a 0/1 grid is thresholded at 1/2 so it stays 0/1. One sample (``voxels (C, R, R, R)``)
    or a collated batch (``(B, C, R, R, R)``). Returns a new dict; other keys are kept.

    Raises:
        OptionError: a matrix that is not ``(3, 3)``, not finite or not invertible.
    """
    from torch.nn import functional as F

    a = torch.as_tensor(matrix, dtype=torch.float64)
    if a.shape != (3, 3) or not bool(torch.isfinite(a).all()):
        raise OptionError(f"apply_linear: need a finite (3, 3) matrix, got shape {tuple(a.shape)}")
    if abs(float(torch.linalg.det(a))) < 1e-12:
        raise OptionError("apply_linear: the matrix is not invertible")
    inv = torch.linalg.inv(a)
    out = dict(data)
    for k in ("points", "face_centroids"):
        if k in out:
            out[k] = out[k] @ a.T.to(out[k].dtype)  # a new tensor
    if "normals" in out:
        n = out["normals"] @ inv.to(out["normals"].dtype)  # rows: (A^-T n)^T = n^T A^-1
        out["normals"] = n / n.norm(dim=-1, keepdim=True).clamp(min=1e-12)
    if "voxels" in out:
        g = out["voxels"]
        r = g.shape[-1]
        grid5 = g.reshape(-1, *g.shape[-4:])  # (B, C, R, R, R), B = 1 for one sample
        c = (torch.arange(r, dtype=torch.float64) + 0.5) * (2.0 / r) - 1.0
        xyz = torch.stack(torch.meshgrid(c, c, c, indexing="ij"), dim=-1) @ inv.T  # preimages (R, R, R, 3)
        # grid_sample reads (x -> W, y -> H, z -> D); our grids index (x -> D, y -> H, z -> W)
        where = xyz.flip(-1).to(g.dtype).unsqueeze(0).expand(grid5.shape[0], -1, -1, -1, -1)
        new = F.grid_sample(grid5, where, mode="bilinear", padding_mode="zeros", align_corners=False)
        if bool(((g == 0) | (g == 1)).all()):
            new = (new >= 0.5).to(g.dtype)
        out["voxels"] = new.reshape(g.shape)
    return out


@register_transform("symmetry")
class RandomSymmetry:
    """Apply one random symmetry of the cube ``[-1, 1]^3``: a permutation of the axes and a sign per axis.

    The symmetries of the cube map the voxel grid onto itself exactly (no resampling), so this is the
    augmentation voxel encoders can have: ``voxels`` are permuted and flipped, and ``points``,
    ``normals`` and ``face_centroids`` follow (``new[:, j] = sign[j] * old[:, perm[j]]``). It suits
    data without a consistent orientation (the labeled PSB); ``permute=False, flip="xz"`` keeps a
    ``y`` up axis (mirror images only).

    Args:
        permute: draw a random permutation of the axes (else keep them).
        flip: the axes that may be mirrored, each with probability 1/2 (``""``: none).

    Raises:
        OptionError: bad arguments, or a sample with rendered ``views`` (images of fixed cameras).
    """

    def __init__(self, permute: bool = True, flip: str = "xyz") -> None:
        if not isinstance(permute, bool):
            raise OptionError(f"RandomSymmetry: permute must be true or false, got {permute!r}")
        if not isinstance(flip, str) or set(flip) - set("xyz") or len(set(flip)) != len(flip):
            raise OptionError(f"RandomSymmetry: flip must name distinct axes among 'xyz', got {flip!r}")
        self.permute = permute
        self.flip = flip

    def __repr__(self) -> str:
        return f"RandomSymmetry(permute={self.permute}, flip={self.flip!r})"

    def draw(self, generator: torch.Generator) -> tuple[list[int], list[float]]:
        """The permutation and the signs of one call (the same draws ``__call__`` makes)."""
        perm = torch.randperm(3, generator=generator).tolist() if self.permute else [0, 1, 2]
        coins = torch.rand(3, generator=generator).tolist()
        signs = [-1.0 if ("xyz"[j] in self.flip and coins[j] < 0.5) else 1.0 for j in range(3)]
        return perm, signs

    def __call__(self, sample: dict[str, Any], generator: torch.Generator) -> dict[str, Any]:
        return apply_symmetry(sample, *self.draw(generator))


def cube_symmetries(permute: bool = True, flip: str = "xyz") -> list[tuple[list[int], list[float]]]:
    """Every ``(perm, signs)`` :class:`RandomSymmetry` with these arguments can draw, identity first
    (48 for the defaults: 6 permutations × 8 sign patterns)."""
    import itertools

    perms = [list(p) for p in itertools.permutations(range(3))] if permute else [[0, 1, 2]]
    options = [(1.0, -1.0) if "xyz"[j] in flip else (1.0,) for j in range(3)]
    return [(p, list(signs)) for p in perms for signs in itertools.product(*options)]


def apply_symmetry(data: dict[str, Any], perm: Sequence[int], signs: Sequence[float]) -> dict[str, Any]:
    """``data`` moved by the symmetry of the cube ``new[..., j] = signs[j] * old[..., perm[j]]``.

    Works on one sample and on a collated batch alike: ``points``, ``normals`` and
    ``face_centroids`` have their coordinates in the last dimension, ``voxels`` their x, y, z in the
    last three. Returns a new dict; the tensors of ``data`` are not modified.

    Raises:
        OptionError: ``data`` holds rendered ``views`` (images of fixed cameras).
    """
    images = [k for k in _IMAGE_KEYS if k in data]
    if images:
        raise OptionError(f"RandomSymmetry cannot transform {', '.join(images)} (rendered images)")
    perm = [int(p) for p in perm]
    out = dict(data)
    for k in _VECTOR_KEYS:
        if k in out:
            v = out[k]  # (..., 3)
            out[k] = v[..., perm] * torch.tensor(signs, dtype=v.dtype, device=v.device)  # a new tensor
    if "voxels" in out:
        g = out["voxels"]  # (..., R, R, R); index [..., i, j, k] <-> x, y, z
        lead = list(range(g.dim() - 3))
        g = g.permute(*lead, *(len(lead) + p for p in perm))
        dims = [len(lead) + j for j in range(3) if signs[j] < 0]
        out["voxels"] = (g.flip(dims) if dims else g).contiguous()  # a new tensor
    return out
