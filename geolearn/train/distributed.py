"""Data-parallel training under ``torchrun`` (DistributedDataParallel; gloo on CPU, NCCL on GPU).

``torchrun --nproc-per-node N -m geolearn train ...`` starts N processes with ``RANK``,
``WORLD_SIZE`` and ``LOCAL_RANK`` in their environment; :func:`init_distributed` joins them into
one process group. Everything else reads the group through :func:`dist_info`, so a single process
(no ``torchrun``) is simply world size 1.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch.utils.data import Sampler

__all__ = [
    "DistInfo",
    "ShardSampler",
    "all_gather_objects",
    "all_reduce_sum",
    "barrier",
    "dist_info",
    "init_distributed",
    "rank_device",
]


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the process group (rank 0 of world size 1 when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that logs and writes files."""
        return self.rank == 0


def dist_info() -> DistInfo:
    """The current process group's rank and size."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", 0)))
    return DistInfo()


def rank_device(device: torch.device) -> torch.device:
    """The device of this rank: under ``torchrun``, CUDA rank ``r`` uses ``cuda:LOCAL_RANK``."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if device.type == "cuda" and world > 1:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
    return device


def init_distributed(device: torch.device) -> DistInfo:
    """Join the process group ``torchrun`` set up (NCCL for CUDA, gloo otherwise); no-op when
    ``WORLD_SIZE`` is 1 or unset, or when a group exists already."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(rank_device(device))
        # generous timeout: rank 0 may preprocess a whole dataset while the others wait at a barrier
        dist.init_process_group(
            backend="nccl" if device.type == "cuda" else "gloo", timeout=timedelta(hours=3)
        )
    return dist_info()


def barrier() -> None:
    """Wait for every rank (no-op in a single process)."""
    if dist_info().world_size > 1:
        dist.barrier()


def all_reduce_sum(tensors: Mapping[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    """Sum each tensor over all ranks; results come back on the CPU (or the tensors' devices).

    A key some rank lacks (it saw no batch) counts as zeros there. ``device`` is where the
    collective runs (the training device: NCCL needs CUDA tensors).
    """
    if dist_info().world_size == 1:
        return dict(tensors)
    specs: dict[str, tuple[tuple[int, ...], str]] = {}
    for rank_specs in all_gather_objects({k: (tuple(t.shape), str(t.dtype)) for k, t in tensors.items()}):
        specs.update(rank_specs)
    out = {}
    for key in sorted(specs):  # the same order on every rank
        shape, dtype = specs[key]
        t = tensors[key] if key in tensors else torch.zeros(shape, dtype=getattr(torch, dtype.split(".")[-1]))
        buf = t.to(device, copy=True)
        dist.all_reduce(buf, op=dist.ReduceOp.SUM)
        out[key] = buf.to(t.device)
    return out


def all_gather_objects(obj: object) -> list:
    """``[obj of rank 0, obj of rank 1, ...]`` (``[obj]`` in a single process)."""
    world = dist_info().world_size
    if world == 1:
        return [obj]
    out: list = [None] * world
    dist.all_gather_object(out, obj)
    return out


class ShardSampler(Sampler[int]):
    """Indices ``rank, rank + world, ...`` of ``range(length)``, in order and without padding, so
    evaluating every shard and summing the metrics counts each item exactly once."""

    def __init__(self, length: int, rank: int = 0, world_size: int = 1) -> None:
        self.length, self.rank, self.world_size = int(length), int(rank), int(world_size)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.length, self.world_size))

    def __len__(self) -> int:
        return len(range(self.rank, self.length, self.world_size))
