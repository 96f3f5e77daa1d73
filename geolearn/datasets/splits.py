"""Seeded, stratified splits of a list of labelled items.

Every split here is a pure function of the labels, the fractions and the seed. The items of one
class are shuffled by a generator seeded from ``(seed, crc32(class key))``, so the split of a class
does not depend on which other classes are present (the validation meshes of PSB's ``Cup`` are the
same whether you load ``Cup`` alone or all 19 categories).

Shapes:
    ``labels`` is a sequence of N hashable class keys (ints or strings); every returned index array
    is ``(M,)`` int64, sorted ascending, and indexes ``labels``.
"""

from __future__ import annotations

import zlib
from collections.abc import Hashable, Sequence
from typing import NamedTuple

import numpy as np

from geolearn.errors import OptionError

__all__ = ["Split", "TrainVal", "carve_validation", "class_rng", "split_by_fractions"]


class TrainVal(NamedTuple):
    """Indices of a training set after a validation part was carved out of it.

    Attributes:
        train: ``(N_train,)`` int64 indices kept for training.
        val: ``(N_val,)`` int64 indices moved to validation (disjoint from ``train``).
    """

    train: np.ndarray
    val: np.ndarray


class Split(NamedTuple):
    """A train/val/test partition of N items.

    Attributes:
        train, val, test: ``(N_s,)`` int64 indices; pairwise disjoint, together ``0..N-1``.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def class_rng(seed: int, key: Hashable) -> np.random.Generator:
    """A numpy generator for class ``key``, seeded from ``seed`` and a stable hash of ``str(key)``.

    ``crc32`` rather than ``hash`` because ``hash(str)`` changes between processes.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise OptionError(f"split seed must be a non-negative int, got {seed!r}")
    return np.random.default_rng([int(seed), zlib.crc32(str(key).encode("utf-8"))])


def _count(fraction: float, n: int) -> int:
    """How many of n items a fraction takes: rounded, but at least one when fraction > 0 and at
    least one item stays behind (so a small class still gets a validation item)."""
    if fraction <= 0 or n < 2:
        return 0
    return int(min(max(round(fraction * n), 1), n - 1))


def _check_fraction(name: str, value: float) -> None:
    if not (0.0 <= float(value) < 1.0):
        raise OptionError(f"{name} must be in [0, 1), got {value}")


def _groups(labels: Sequence[Hashable]) -> dict[Hashable, np.ndarray]:
    groups: dict[Hashable, list[int]] = {}
    for i, lab in enumerate(labels):
        groups.setdefault(lab, []).append(i)
    return {k: np.asarray(v, dtype=np.int64) for k, v in groups.items()}


def carve_validation(labels: Sequence[Hashable], fraction: float, seed: int) -> TrainVal:
    """Move a seeded, class-stratified ``fraction`` of a training set to validation.

    Per class with n items, ``round(fraction * n)`` items (at least 1 when ``fraction > 0`` and
    ``n >= 2``; never all of them) go to validation.

    Args:
        labels: N class keys, one per training item.
        fraction: share of each class to move to validation, in [0, 1).
        seed: non-negative int.

    Returns:
        :class:`TrainVal` of sorted int64 index arrays; disjoint and covering ``0..N-1``.
    """
    _check_fraction("val_fraction", fraction)
    train: list[np.ndarray] = []
    val: list[np.ndarray] = []
    for key, idx in _groups(labels).items():
        perm = class_rng(seed, key).permutation(len(idx))
        k = _count(fraction, len(idx))
        val.append(idx[perm[:k]])
        train.append(idx[perm[k:]])
    return TrainVal(_sorted_cat(train), _sorted_cat(val))


def split_by_fractions(
    labels: Sequence[Hashable], val_fraction: float, test_fraction: float, seed: int
) -> Split:
    """A seeded, class-stratified train/val/test split of N items (for data without an official one).

    Per class: ``test`` takes ``round(test_fraction * n)`` items (at least one when possible),
    ``val`` takes ``round(val_fraction * n)`` of the rest, the remainder is ``train``.

    Returns:
        :class:`Split` of sorted int64 index arrays; pairwise disjoint, covering ``0..N-1``.
    """
    _check_fraction("val_fraction", val_fraction)
    _check_fraction("test_fraction", test_fraction)
    parts: dict[str, list[np.ndarray]] = {"train": [], "val": [], "test": []}
    for key, idx in _groups(labels).items():
        perm = idx[class_rng(seed, key).permutation(len(idx))]
        n_test = _count(test_fraction, len(perm))
        rest = perm[n_test:]
        n_val = _count(val_fraction, len(rest))
        parts["test"].append(perm[:n_test])
        parts["val"].append(rest[:n_val])
        parts["train"].append(rest[n_val:])
    return Split(*(_sorted_cat(parts[k]) for k in ("train", "val", "test")))


def _sorted_cat(chunks: list[np.ndarray]) -> np.ndarray:
    if not chunks:
        return np.zeros(0, dtype=np.int64)
    return np.sort(np.concatenate(chunks)).astype(np.int64)
