"""Shape distributions (Osada, Funkhouser, Chazelle and Dobkin, "Shape Distributions", ACM TOG 2002).

A shape distribution is the histogram of a geometric function of random surface points:

========  ==========================================================  =====================
kind      value of one sample                                         points per sample (k)
========  ==========================================================  =====================
``d1``    distance from the surface's area centroid to a point        1
``d2``    distance between two points                                 2
``a3``    angle at the middle point of three points (radians)         3
``d3``    square root of the area of the triangle of three points     3
``d4``    cube root of the volume of the tetrahedron of four points   4
========  ==========================================================  =====================

**Sampling.** Points are area-uniform on the surface (:mod:`geolearn.descriptors.sampling`). To make
the ``samples`` tuples cheaply, a pool of ``n = ceil(samples / R)`` independent points is drawn and
tuple ``(j, r)`` takes pool points ``j, j + r, …, j + (k-1)·r`` (indices mod ``n``) for
``r = 1..R``: every tuple is a sample of independent area-uniform points (so every histogram is
unbiased), tuples are distinct, and each pool point serves ``k·R`` tuples. ``R = 16`` (``1`` for D1,
whose tuples are single points), lowered for tiny ``samples``. Reusing points makes the histogram a
little noisier than fully independent tuples, at a fraction of the cost (both measured by
``python benchmarks/bench_descriptors.py --only seeds``).

**Defaults.** ``samples = 1024²`` tuples, as in the paper (N = 1024² samples), and ``bins = 64``
(the paper represents each distribution by a piecewise-linear function of 64 vertices). With B bins
and N independent samples the expected L1 distance between two seeds is about ``sqrt(4B/(πN))``
≈ 0.009, under half the 0.02 the tests require; point reuse adds a little (see above).

**Scale** (``scale=``): ``"mean"`` divides every value by the mean of the mesh's samples (the paper's
preferred alignment) and bins ``[0, c]`` with a per-kind ``c`` chosen so ModelNet10 meshes lose
almost nothing (see ``MEAN_SCALED_RANGE``); ``"max"`` divides by the largest sample and bins
``[0, 1]``; ``"none"`` keeps mesh units and bins ``[0, b·ρ]`` where ``ρ`` is the radius of the ball
around the area centroid that holds the surface and ``b`` the largest value the kind can take in
that ball (2 for D2; so nothing is ever clipped and the edges are rotation/translation invariant).
``a3`` is an angle: it is scale invariant, the option does not apply and its edges are ``[0, π]``.
Values outside the edges (possible only with ``"mean"`` or an explicit ``value_range``) are counted
in the first/last bin and their fraction is reported as ``clipped``.

Shapes: a histogram is ``(B,)`` and sums to 1; its edges are ``(B+1,)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from geolearn.descriptors.sampling import PackedTriangles, pack_meshes, sample_packed_coords
from geolearn.errors import OptionError
from geolearn.mesh import Mesh
from geolearn.random import Seed, as_torch_generator

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_SAMPLES",
    "KINDS",
    "MEAN_SCALED_RANGE",
    "SCALES",
    "ShapeHistogram",
    "ShapeHistogramBatch",
    "a3",
    "d1",
    "d2",
    "d3",
    "d4",
    "points_per_sample",
    "shape_distribution",
    "shape_distributions",
    "shape_function",
]

KINDS: tuple[str, ...] = ("d1", "d2", "a3", "d3", "d4")
SCALES: tuple[str, ...] = ("mean", "none", "max")
DEFAULT_BINS = 64  # the paper's piecewise-linear PDFs have 64 vertices
DEFAULT_SAMPLES = 1024**2  # the paper's N; seed-to-seed L1 ≈ 0.01 at 64 bins (module docstring)

_POINTS_PER_SAMPLE = {"d1": 1, "d2": 2, "a3": 3, "d3": 3, "d4": 4}
_POOL_ROUNDS = 16  # R: tuples per pool point and step (module docstring)

# Largest value of each kind for points in a ball of radius 1 (``scale="none"`` edges are [0, b·ρ]):
# D1 ≤ ρ; D2 ≤ 2ρ; the largest triangle in a ball is the equilateral one in a great circle, area
# (3√3/4)ρ²; the largest tetrahedron is the regular inscribed one, volume (8√3/27)ρ³.
_BALL_BOUND = {
    "d1": 1.0,
    "d2": 2.0,
    "d3": math.sqrt(3.0 * math.sqrt(3.0) / 4.0),
    "d4": (8.0 * math.sqrt(3.0) / 27.0) ** (1.0 / 3.0),
}

# Upper edge for ``scale="mean"`` (values divided by their mean), from ModelNet10: over 500 training
# meshes (50 per class, seeded draw; ``python benchmarks/bench_descriptors.py --ranges``) the fraction
# of mean-scaled samples beyond these edges is 0 for D1/D3 and ≤ 0.005% for D2/D4 at the 99th
# percentile of meshes (worst mesh: D2 0.07%, D4 2.7%). One edge lower loses up to 0.4–1%.
MEAN_SCALED_RANGE: dict[str, float] = {"d1": 3.0, "d2": 3.0, "d3": 3.0, "d4": 4.0}


@dataclass(frozen=True)
class ShapeHistogram:
    """One mesh's shape distribution.

    Attributes:
        kind: ``"d1"``, ``"d2"``, ``"a3"``, ``"d3"`` or ``"d4"``.
        histogram: ``(B,)`` float64 fraction of the samples in each bin; sums to 1.
        bin_edges: ``(B+1,)`` float64 edges, in the units of the scaled values: mesh units for
            ``scale="none"``, unitless for ``"mean"``/``"max"``, radians for ``a3``.
        scale: the scale option used (``"none"`` for ``a3``, whatever was asked).
        scale_factor: the raw values (mesh units) were divided by this (1.0 for ``"none"``/``a3``).
        clipped: fraction of samples outside the edges, counted in the first/last bin.
        samples: number of samples (tuples) in the histogram.
    """

    kind: str
    histogram: np.ndarray
    bin_edges: np.ndarray
    scale: str
    scale_factor: float
    clipped: float
    samples: int


@dataclass(frozen=True)
class ShapeHistogramBatch:
    """Shape distributions of M meshes, as tensors on the device they were computed on.

    Attributes:
        kind, scale, samples: as in :class:`ShapeHistogram`.
        histograms: ``(M, B)`` float32; each row sums to 1.
        bin_edges: ``(M, B+1)`` float32 (rows differ only with ``scale="none"``).
        scale_factor: ``(M,)`` float32.
        clipped: ``(M,)`` float32.
    """

    kind: str
    scale: str
    samples: int
    histograms: torch.Tensor
    bin_edges: torch.Tensor
    scale_factor: torch.Tensor
    clipped: torch.Tensor

    def __len__(self) -> int:
        return int(self.histograms.shape[0])

    def item(self, b: int) -> ShapeHistogram:
        """Mesh ``b`` as a numpy :class:`ShapeHistogram`."""
        return ShapeHistogram(
            kind=self.kind,
            histogram=self.histograms[b].double().cpu().numpy(),
            bin_edges=self.bin_edges[b].double().cpu().numpy(),
            scale=self.scale,
            scale_factor=float(self.scale_factor[b]),
            clipped=float(self.clipped[b]),
            samples=self.samples,
        )


def points_per_sample(kind: str) -> int:
    """How many surface points one sample of ``kind`` uses (1 for D1 … 4 for D4)."""
    _check_kind(kind)
    return _POINTS_PER_SAMPLE[kind]


def shape_function(kind: str, points: torch.Tensor) -> torch.Tensor:
    """Value of the shape function on explicit point tuples.

    Args:
        kind: one of :data:`KINDS`.
        points: ``(..., k, 3)`` float tensor, ``k`` = :func:`points_per_sample`; for ``d1`` the single
            point is measured from the origin (put the centroid there).

    Returns:
        ``(...)`` tensor of values (distances/roots in the units of ``points``; radians for ``a3``).
    """
    k = points_per_sample(kind)
    if points.ndim < 2 or points.shape[-2:] != (k, 3):
        raise OptionError(f"{kind}: points must have shape (..., {k}, 3), got {tuple(points.shape)}")
    return _values(kind, [points[..., c, :].unbind(-1) for c in range(k)])


Coords = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def _sub(a: Coords, b: Coords) -> Coords:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _cross(a: Coords, b: Coords) -> Coords:
    return (
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    )


def _dot(a: Coords, b: Coords) -> torch.Tensor:
    return torch.addcmul(torch.addcmul(a[0] * b[0], a[1], b[1]), a[2], b[2])


def _values(kind: str, p: list[Coords]) -> torch.Tensor:
    """Shape function of tuples given as k points, each a triple of coordinate tensors (same shape).

    Coordinates are separate tensors so that every operation is a plain elementwise kernel.
    """
    if kind == "d1":
        return _dot(p[0], p[0]).sqrt_()
    if kind == "d2":
        d = _sub(p[1], p[0])
        return _dot(d, d).sqrt_()
    if kind == "a3":  # angle at p[1] between p[0] - p[1] and p[2] - p[1]
        a, b = _sub(p[0], p[1]), _sub(p[2], p[1])
        c = _cross(a, b)
        return torch.atan2(_dot(c, c).sqrt_(), _dot(a, b))
    n = _cross(_sub(p[1], p[0]), _sub(p[2], p[0]))
    if kind == "d3":  # sqrt(area) = sqrt(|n| / 2)
        return _dot(n, n).sqrt_().mul_(0.5).sqrt_()
    volume = _dot(n, _sub(p[3], p[0])).abs_().div_(6.0)  # d4
    return volume.pow_(1.0 / 3.0)


def _check_kind(kind: str) -> None:
    if kind not in _POINTS_PER_SAMPLE:
        raise OptionError(f"unknown shape distribution {kind!r}; choose one of {', '.join(KINDS)}")


def _check_options(kind: str, bins: int, samples: int, scale: str, value_range: tuple | None) -> None:
    _check_kind(kind)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise OptionError(f"bins must be a positive integer, got {bins!r}")
    if isinstance(samples, bool) or not isinstance(samples, (int, np.integer)) or samples < 1:
        raise OptionError(f"samples must be a positive integer, got {samples!r}")
    if scale not in SCALES:
        raise OptionError(f"scale must be one of {', '.join(SCALES)}, got {scale!r}")
    if value_range is not None:
        lo, hi = (float(x) for x in value_range)
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise OptionError(f"value_range must be (low, high) with low < high, got {value_range!r}")


def _pool_design(kind: str, samples: int) -> tuple[int, int]:
    """(pool size n, rounds R) for ``samples`` tuples of ``kind`` (see the module docstring)."""
    k = _POINTS_PER_SAMPLE[kind]
    if k == 1:
        return samples, 1
    rounds = _POOL_ROUNDS
    while rounds > 1 and math.ceil(samples / rounds) <= 2 * (k - 1) * rounds:
        rounds //= 2
    n = math.ceil(samples / rounds)
    if n <= 2 * (k - 1) * rounds:  # rounds == 1: tuples (j, j+1, ..) need n > k - 1 distinct points
        n = max(n, 2 * k)
    return n, rounds


def _sample_values(kind: str, pool: torch.Tensor, rounds: int, samples: int) -> torch.Tensor:
    """``(M, samples)`` shape-function values from a ``(3, M, n)`` pool of iid points.

    One round at a time: every temporary is ``(M, n)`` (n ≈ 65k for the defaults, a few hundred KB),
    which stays in cache; doing all rounds in one ``(M, R, n)`` kernel was 2–4× slower (memory bound).
    """
    k = _POINTS_PER_SAMPLE[kind]
    base: Coords = tuple(pool.unbind(0))  # type: ignore[assignment]
    if k == 1:
        return _values(kind, [base])[:, :samples]
    n = pool.shape[2]
    # the pool followed by its first (k-1)·R points again: "j + c·r mod n" becomes a plain slice (a view)
    ext = torch.cat([pool, pool[:, :, : (k - 1) * rounds]], dim=2)
    out = []
    for r in range(1, rounds + 1):
        # tuple (j, r) = pool points j, j + r, ..., j + (k-1) r  (mod n)
        shifted = [tuple(ext[:, :, c * r : c * r + n].unbind(0)) for c in range(1, k)]
        out.append(_values(kind, [base, *shifted]))  # (M, n)
    return torch.cat(out, dim=1)[:, :samples]


def _histogram_rows(
    values: torch.Tensor, factor: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bins: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row histograms of ``values / factor`` on ``[lo, hi]``; all but ``values (M, S)`` are ``(M,)``.

    Returns ``(hist (M, B) fractions, clipped (M,) fraction outside the edges)``. Values outside the
    edges go to the end bins; a value on the upper edge is in the last bin (as numpy.histogram).
    The edges are scaled instead of the values (one pass less over the samples).
    """
    m, s = values.shape
    lo_raw = (lo * factor).tolist()
    hi_raw = (hi * factor).tolist()
    hists, clipped = [], []
    for b in range(m):
        row = values[b]
        h = torch.histc(row, bins=bins, min=lo_raw[b], max=hi_raw[b])  # ignores values outside
        # shape functions are >= 0, so nothing is below a lower edge <= 0 (the default ranges)
        below = (row < lo_raw[b]).sum().to(h.dtype) if lo_raw[b] > 0 else h.new_zeros(())
        above = s - h.sum() - below
        h[0] += below
        h[-1] += above
        hists.append(h)
        clipped.append(below + above)
    return torch.stack(hists) / s, torch.stack(clipped) / s


def _histograms(
    kind: str,
    packed: PackedTriangles,
    uniforms: torch.Tensor,
    rounds: int,
    samples: int,
    bins: int,
    scale: str,
    value_range: tuple[float, float] | None,
) -> tuple[torch.Tensor, ...]:
    values = _sample_values(kind, sample_packed_coords(packed, uniforms), rounds, samples)  # (M, S)
    m = values.shape[0]
    dev = values.device
    ones = torch.ones(m, device=dev)
    if kind == "a3" or scale == "none":
        factor = ones
    elif scale == "mean":
        factor = values.mean(dim=1)
    else:
        factor = values.amax(dim=1)
    factor = torch.where(factor > 0, factor, ones)  # all samples zero: only for a degenerate mesh
    if value_range is not None:
        lo, hi = float(value_range[0]) * ones, float(value_range[1]) * ones
    elif kind == "a3":
        lo, hi = 0.0 * ones, math.pi * ones
    elif scale == "mean":
        lo, hi = 0.0 * ones, MEAN_SCALED_RANGE[kind] * ones
    elif scale == "max":
        lo, hi = 0.0 * ones, ones
    else:
        lo, hi = 0.0 * ones, _BALL_BOUND[kind] * packed.radius
    hist, clipped = _histogram_rows(values, factor, lo, hi, bins)
    steps = torch.linspace(0.0, 1.0, bins + 1, device=dev)
    edges = lo[:, None] + (hi - lo)[:, None] * steps[None, :]  # (M, B+1)
    return hist, edges, factor, clipped


def shape_distributions(
    meshes: Sequence[Mesh],
    kind: str = "d2",
    *,
    bins: int = DEFAULT_BINS,
    samples: int = DEFAULT_SAMPLES,
    scale: str = "mean",
    seed: Seed = 0,
    value_range: tuple[float, float] | None = None,
    device: torch.device | str = "cpu",
    max_values_per_chunk: int = 2**24,
) -> ShapeHistogramBatch:
    """Shape distributions of many meshes at once, on ``device`` (CPU or CUDA, same code).

    The meshes are packed onto the device and processed in chunks of meshes whose sample count
    stays under ``max_values_per_chunk`` (bounds memory to a few hundred MB). Every mesh sees the
    same random variates, so a mesh's histogram does not depend on the batch it is computed in:
    ``shape_distributions([a, b]).item(1)`` equals ``shape_distribution(b)`` for the same seed.

    Args:
        meshes: M meshes (any units, any position).
        kind: ``"d1"``, ``"d2"``, ``"a3"``, ``"d3"`` or ``"d4"``.
        bins: B, number of histogram bins.
        samples: S, number of tuples per mesh.
        scale: ``"mean"``, ``"max"`` or ``"none"`` (module docstring).
        seed: int, numpy Generator or torch Generator (a torch Generator must live on ``device``).
        value_range: explicit ``(low, high)`` bin range in scaled units (e.g. mesh units with
            ``scale="none"``, to compare meshes on common edges); default per the module docstring.
        device: where to compute.

    Returns:
        :class:`ShapeHistogramBatch` with ``histograms (M, B)`` etc. on ``device``.
    """
    _check_options(kind, bins, samples, scale, value_range)
    device = torch.device(device)
    n, rounds = _pool_design(kind, samples)
    gen = as_torch_generator(seed, device)
    uniforms = torch.rand(n, 3, generator=gen, device=device)  # shared by every mesh
    per_chunk = max(1, max_values_per_chunk // max(samples, n))
    parts = []
    for start in range(0, len(meshes), per_chunk):
        packed = pack_meshes(meshes[start : start + per_chunk], device)
        parts.append(_histograms(kind, packed, uniforms, rounds, samples, bins, scale, value_range))
    hist, edges, factor, clipped = (torch.cat(x) for x in zip(*parts, strict=True))
    return ShapeHistogramBatch(
        kind=kind,
        scale="none" if kind == "a3" else scale,
        samples=int(samples),
        histograms=hist,
        bin_edges=edges,
        scale_factor=factor,
        clipped=clipped,
    )


def shape_distribution(
    mesh: Mesh,
    kind: str = "d2",
    *,
    bins: int = DEFAULT_BINS,
    samples: int = DEFAULT_SAMPLES,
    scale: str = "mean",
    seed: Seed = 0,
    value_range: tuple[float, float] | None = None,
    device: torch.device | str = "cpu",
) -> ShapeHistogram:
    """The shape distribution ``kind`` of one mesh (see :func:`shape_distributions` for the arguments).

    Returns:
        :class:`ShapeHistogram` (numpy arrays): ``histogram (B,)`` summing to 1, ``bin_edges (B+1,)``.
    """
    return shape_distributions(
        [mesh],
        kind,
        bins=bins,
        samples=samples,
        scale=scale,
        seed=seed,
        value_range=value_range,
        device=device,
    ).item(0)


def d1(mesh: Mesh, **kwargs) -> ShapeHistogram:
    """D1: distance from the area centroid to a random surface point. See :func:`shape_distribution`."""
    return shape_distribution(mesh, "d1", **kwargs)


def d2(mesh: Mesh, **kwargs) -> ShapeHistogram:
    """D2: distance between two random surface points. See :func:`shape_distribution`."""
    return shape_distribution(mesh, "d2", **kwargs)


def a3(mesh: Mesh, **kwargs) -> ShapeHistogram:
    """A3: angle between three random surface points (radians). See :func:`shape_distribution`."""
    return shape_distribution(mesh, "a3", **kwargs)


def d3(mesh: Mesh, **kwargs) -> ShapeHistogram:
    """D3: square root of the area of the triangle of three random points. See :func:`shape_distribution`."""
    return shape_distribution(mesh, "d3", **kwargs)


def d4(mesh: Mesh, **kwargs) -> ShapeHistogram:
    """D4: cube root of the volume of the tetrahedron of four random points. See :func:`shape_distribution`."""
    return shape_distribution(mesh, "d4", **kwargs)
