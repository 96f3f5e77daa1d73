"""Comparing descriptors: the L1 distance between histograms (Osada et al. compare shape
distributions by the L1 norm of the difference of their PDFs), pairwise and nearest neighbours.

Every function takes numpy arrays or torch tensors and returns the same kind (torch results stay on
the input's device). For histograms that each sum to 1 the distance is in ``[0, 2]``.
"""

from __future__ import annotations

from typing import NamedTuple, TypeVar

import numpy as np
import torch

from geolearn.errors import OptionError

__all__ = ["Neighbours", "l1_distance", "nearest_neighbours", "pairwise_l1"]

ArrayT = TypeVar("ArrayT", np.ndarray, torch.Tensor)


class Neighbours(NamedTuple):
    """k nearest database entries of each query.

    Attributes:
        index: ``(N, k)`` int64 database rows, nearest first (ties: lower index first).
        distance: ``(N, k)`` their L1 distances.
    """

    index: np.ndarray | torch.Tensor
    distance: np.ndarray | torch.Tensor


def _as_tensor(x: np.ndarray | torch.Tensor, name: str) -> torch.Tensor:
    t = x if isinstance(x, torch.Tensor) else torch.from_numpy(np.asarray(x))
    if not t.is_floating_point():
        t = t.double()
    if t.ndim != 2:
        raise OptionError(f"{name} must have shape (N, D), got {tuple(t.shape)}")
    return t


def l1_distance(a: ArrayT, b: ArrayT) -> ArrayT:
    """L1 distance along the last axis: ``(..., D), (..., D) -> (...)`` (broadcasting)."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (torch.as_tensor(a) - torch.as_tensor(b)).abs().sum(dim=-1)
    return np.abs(np.asarray(a) - np.asarray(b)).sum(axis=-1)


def pairwise_l1(queries: ArrayT, database: ArrayT) -> ArrayT:
    """``(N, D), (M, D) -> (N, M)`` L1 distances between every query and every database row."""
    q, d = _as_tensor(queries, "queries"), _as_tensor(database, "database")
    if q.shape[1] != d.shape[1]:
        raise OptionError(f"queries have {q.shape[1]} bins but the database has {d.shape[1]}")
    dtype = torch.promote_types(q.dtype, d.dtype)
    out = torch.cdist(q.to(dtype)[None], d.to(dtype)[None], p=1.0)[0]
    return out if isinstance(queries, torch.Tensor) else out.numpy()


def nearest_neighbours(
    queries: ArrayT, database: ArrayT, k: int = 1, *, exclude_self: bool = False
) -> Neighbours:
    """The ``k`` database rows nearest (L1) to each query.

    Args:
        queries: ``(N, D)``.
        database: ``(M, D)``.
        k: neighbours per query (``<= M``, ``<= M - 1`` with ``exclude_self``).
        exclude_self: ``queries`` *is* ``database`` (same rows, same order): skip row i for query i
            (leave-one-out retrieval).

    Returns:
        :class:`Neighbours` with ``(N, k)`` index and distance, numpy or torch like ``queries``.
    """
    dist = pairwise_l1(queries, database)
    t = dist if isinstance(dist, torch.Tensor) else torch.from_numpy(dist)
    m = t.shape[1]
    if exclude_self:
        if t.shape[0] != m:
            raise OptionError("exclude_self needs queries and database to be the same rows")
        t = t.clone()
        t.fill_diagonal_(float("inf"))
        m -= 1
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= m:
        raise OptionError(f"k must be an integer in [1, {m}], got {k!r}")
    # stable sort: ties keep the lower index first
    order = torch.sort(t, dim=1, stable=True).indices[:, :k]
    d = torch.gather(t, 1, order)
    if isinstance(queries, torch.Tensor):
        return Neighbours(order, d)
    return Neighbours(order.numpy(), d.numpy())
