"""Filling the cache in parallel, and checking every mesh of a dataset.

:func:`preprocess` computes the representations of every shape of a dataset over a pool of
processes (``concurrent.futures.ProcessPoolExecutor``, shapes sent in chunks) and stores them in the
cache. A shape that cannot be used — unreadable or truncated file, empty mesh, NaN coordinates,
inconsistent label file, zero surface area — is reported with its file and the reason and removed
from the dataset (``dataset.failures`` lists it); it never stops the run. :func:`check_meshes`
loads and validates every mesh the same way and returns the validation problems of each.

Worker processes are started with ``forkserver`` where available (``spawn`` elsewhere) rather than
``fork``: a process that has used Embree (voxelising, rendering) or torch threads cannot be forked
safely. As with any ``spawn``-family start method, a script calling these functions at top level
must guard its entry point with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import copy
import logging
import math
import multiprocessing
import os
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm import tqdm

from geolearn.datasets.base import Failure, ShapeDataset
from geolearn.errors import CacheError, GeolearnError, MeshError, OptionError

__all__ = ["MeshCheck", "PreprocessReport", "check_meshes", "default_workers", "preprocess"]

logger = logging.getLogger(__name__)

# Errors that mean "this shape is unusable" (reported, shape excluded). Anything else is a bug and
# propagates. CacheError is a problem of the cache, not of the shape, so it propagates too.
_SHAPE_ERRORS = (GeolearnError, ValueError, ArithmeticError, LookupError, MemoryError, OSError, EOFError)


def default_workers() -> int:
    """The number of CPUs this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@dataclass
class PreprocessReport:
    """What :func:`preprocess` did.

    Attributes:
        num_shapes: shapes attempted.
        num_built: entries computed and written.
        num_cached: entries already in the cache (verified).
        failures: shapes that could not be used (excluded from the dataset).
        seconds: wall-clock time.
        workers: processes used (0: in this process).
    """

    num_shapes: int
    num_built: int
    num_cached: int
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 0

    @property
    def shapes_per_second(self) -> float:
        return self.num_shapes / self.seconds if self.seconds > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        return {
            "num_shapes": self.num_shapes,
            "num_built": self.num_built,
            "num_cached": self.num_cached,
            "num_failed": len(self.failures),
            "failures": [{"source": f.source, "reason": f.reason} for f in self.failures],
            "seconds": round(self.seconds, 3),
            "workers": self.workers,
            "shapes_per_second": round(self.shapes_per_second, 2) if self.seconds > 0 else None,
        }


@dataclass(frozen=True)
class MeshCheck:
    """Validation of one mesh by :func:`check_meshes`.

    Attributes:
        source: the mesh.
        error: why it cannot be used, or ``None`` when it loads.
        problems: what its validation report lists (holes, winding, degenerate faces, ...).
    """

    source: str
    error: str | None
    problems: tuple[str, ...] = ()


# -- the worker side ---------------------------------------------------------------------------------
_WORKER_DATASET: ShapeDataset | None = None


def _init_worker(dataset: ShapeDataset) -> None:
    global _WORKER_DATASET
    _WORKER_DATASET = dataset
    logging.basicConfig(level=logging.WARNING)
    # the pool already runs one process per core: more torch threads per worker only oversubscribe them
    torch.set_num_threads(1)


def _reason(exc: BaseException, source: str) -> str:
    """One line saying why; without a leading ``<source>: `` (the failure names the source)."""
    if isinstance(exc, MeshError) and exc.source == source:
        text = exc.problem
    else:
        text = str(exc).strip()
        if text.startswith(source + ": "):
            text = text[len(source) + 2 :]
    text = text.splitlines()[0] if text else ""
    return text if isinstance(exc, GeolearnError) else f"{type(exc).__name__}: {text}"


def _run_one(dataset: ShapeDataset, method: str, index: int) -> tuple[int, str, Any, str | None]:
    """``(index, status, value, reason)``: status ``ok`` with the method's value, or ``failed``."""
    try:
        return index, "ok", getattr(dataset, method)(index), None
    except CacheError:
        raise
    except _SHAPE_ERRORS as exc:
        return index, "failed", None, _reason(exc, dataset._items[index].source)


def _run_chunk(method: str, indices: Sequence[int]) -> list[tuple[int, str, Any, str | None]]:
    assert _WORKER_DATASET is not None, "worker not initialised"
    return [_run_one(_WORKER_DATASET, method, i) for i in indices]


def _map(
    dataset: ShapeDataset,
    method: str,
    indices: Sequence[int],
    workers: int | None,
    progress: bool,
    desc: str,
    start_method: str | None,
) -> tuple[list[tuple[int, str, Any, str | None]], int]:
    """Run ``dataset.<method>(i)`` for every index of ``indices``, in a pool; results sorted by index."""
    indices = list(indices)
    n = len(indices)
    workers = default_workers() if workers is None else int(workers)
    if workers < 0:
        raise OptionError(f"workers must be >= 0, got {workers}")
    workers = min(workers, n)
    bar = tqdm(total=n, desc=desc, unit="shape", disable=not progress, dynamic_ncols=True)
    results: list[tuple[int, str, Any, str | None]] = []
    try:
        if workers <= 1:
            workers = 0
            for i in indices:
                results.append(_run_one(dataset, method, i))
                bar.update(1)
        else:
            # ~8 chunks per worker balances load; small chunks keep the progress bar moving.
            size = max(1, min(32, math.ceil(n / (workers * 8))))
            chunks = [indices[s : s + size] for s in range(0, n, size)]
            ctx = _context(start_method)
            shipped = copy.copy(dataset)  # workers need no augmentation (it may not pickle: a lambda)
            shipped.transform = None
            with ProcessPoolExecutor(
                workers, mp_context=ctx, initializer=_init_worker, initargs=(shipped,)
            ) as pool:
                futures = [pool.submit(_run_chunk, method, c) for c in chunks]
                for fut in as_completed(futures):
                    part = fut.result()
                    results.extend(part)
                    bar.update(len(part))
    finally:
        bar.close()
    results.sort(key=lambda r: r[0])
    return results, workers


def _context(start_method: str | None) -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    if start_method is None:
        start_method = "forkserver" if "forkserver" in methods else "spawn"
    if start_method not in methods:
        raise OptionError(f"start_method must be one of {', '.join(methods)}, got {start_method!r}")
    ctx = multiprocessing.get_context(start_method)
    if start_method == "forkserver":
        # Import geolearn (and torch) once in the fork server rather than in every worker; this
        # only takes effect when the server starts (the first pool of the process).
        ctx.set_forkserver_preload(["geolearn.datasets.preprocess"])
    return ctx


def preprocess(
    dataset: ShapeDataset,
    workers: int | None = None,
    progress: bool = True,
    *,
    shard: tuple[int, int] | None = None,
    start_method: str | None = None,
) -> PreprocessReport:
    """Compute and cache the representations of every shape of ``dataset``; exclude failures.

    Args:
        dataset: any :class:`~geolearn.datasets.base.ShapeDataset`.
        workers: processes; ``None`` → the CPUs available; 0 or 1 → in this process.
        progress: show a tqdm progress bar (on stderr).
        shard: ``(rank, world_size)``: only shapes ``rank, rank + world_size, ...`` and exclude
            nothing (the other ranks' failures are unknown). Under ``torchrun`` every rank calls
            ``preprocess(ds, shard=(rank, world))``, waits at a barrier, then calls
            ``preprocess(ds)``: every entry is then in the (shared) cache, so the second call only
            verifies them and every rank excludes the same failures.
        start_method: multiprocessing start method (default ``forkserver``, else ``spawn``).

    Returns:
        :class:`PreprocessReport`. Without ``shard``, failed shapes are also removed from ``dataset``
        and appended to ``dataset.failures``, so afterwards every index of ``dataset`` loads.

    Raises:
        CacheError: the cache cannot be written (a problem of the cache, not of one shape).
    """
    t0 = time.perf_counter()
    sources = dataset.sources
    indices = range(len(sources))
    if shard is not None:
        rank, world = (int(x) for x in shard)
        if not 0 <= rank < world:
            raise OptionError(f"shard must be (rank, world_size) with 0 <= rank < world_size, got {shard}")
        indices = range(rank, len(sources), world)
    results, used = _map(dataset, "_prepare", indices, workers, progress, "preprocess", start_method)
    built = cached = 0
    failures: list[Failure] = []
    for index, status, value, reason in results:
        if status == "failed":
            failures.append(Failure(sources[index], reason or "unknown error"))
            logger.warning("excluding %s: %s", sources[index], reason)
            continue
        digest, how = value
        dataset._digests[sources[index]] = digest
        built += how == "built"
        cached += how == "cached"
    if shard is None:
        dataset.exclude(failures)
    return PreprocessReport(len(results), built, cached, failures, time.perf_counter() - t0, used)


def check_meshes(
    dataset: ShapeDataset,
    workers: int | None = None,
    progress: bool = True,
    *,
    start_method: str | None = None,
) -> list[MeshCheck]:
    """Load and validate every mesh of ``dataset`` (labels included) in parallel.

    Returns:
        One :class:`MeshCheck` per shape, in dataset order. Nothing is cached or excluded.
    """
    sources = dataset.sources
    results, _ = _map(dataset, "_check", range(len(sources)), workers, progress, "check", start_method)
    return [
        MeshCheck(sources[i], reason, tuple(value) if value is not None else ())
        for i, _status, value, reason in results
    ]
