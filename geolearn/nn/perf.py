"""CPU performance settings.

glibc's malloc returns freed memory to the kernel eagerly: blocks above ``M_MMAP_THRESHOLD``
(dynamic, 128 KiB to 32 MiB) are mmap'ed and unmapped on every free, and the top of the heap is
trimmed past ``M_TRIM_THRESHOLD``. A CPU training step allocates and frees the same large activations
every iteration (PointNet at batch 32 × 1024 points: 128 MiB per 1024-wide layer), so each step pays
a page fault per 4 KiB page and the kernel's zeroing of it. Serving large blocks from the heap and
never trimming it keeps that memory in the process: after the first steps, no page faults. The
process then holds on to its peak working set until it exits (it needs it every step anyway).
Measured effect: ``benchmarks/results/encoders.md``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import platform
from typing import NamedTuple

__all__ = ["AllocatorTuning", "tune_cpu_allocator"]

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
# the documented ceiling of M_MMAP_THRESHOLD on 64-bit (some glibc versions refuse more; 2.36 accepts up to INT_MAX)
_DOCUMENTED_MAX_MMAP = 32 * 1024 * 1024


class AllocatorTuning(NamedTuple):
    """What :func:`tune_cpu_allocator` did.

    ``applied`` is False off glibc (nothing changed); ``mmap_threshold`` is the threshold in force
    (bytes); ``trim_threshold`` is ``-1`` when trimming is off.
    """

    applied: bool
    mmap_threshold: int
    trim_threshold: int


def _glibc() -> ctypes.CDLL | None:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        libc.mallopt.restype = ctypes.c_int
    except (OSError, AttributeError):  # pragma: no cover - glibc always has mallopt
        return None
    return libc


def tune_cpu_allocator(mmap_threshold: int = 1 << 30, trim_threshold: int = -1) -> AllocatorTuning:
    """Keep freed memory in the process: ``mallopt(M_MMAP_THRESHOLD)`` and ``mallopt(M_TRIM_THRESHOLD)``.

    Call once at the start of CPU training (the trainer does). Idempotent. A no-op returning
    ``applied=False`` where the C library is not glibc (macOS, Windows, musl).

    Args:
        mmap_threshold: bytes; smaller blocks come from the heap. 1 GiB by default, so every
            activation of a batch-32 step is reused; glibc versions that cap the value get 32 MiB.
        trim_threshold: bytes of free heap kept before memory goes back to the kernel; ``-1``
            (default) never trims, as ``mallopt(3)`` documents.
    """
    libc = _glibc()
    if libc is None:
        return AllocatorTuning(False, int(mmap_threshold), int(trim_threshold))
    value = min(int(mmap_threshold), 2**31 - 1)  # mallopt takes an int
    if libc.mallopt(_M_MMAP_THRESHOLD, value) != 1:  # pragma: no cover - older glibc caps at 32 MiB
        value = min(value, _DOCUMENTED_MAX_MMAP)
        if libc.mallopt(_M_MMAP_THRESHOLD, value) != 1:
            log.warning("mallopt refused M_MMAP_THRESHOLD=%d", value)
            return AllocatorTuning(False, value, int(trim_threshold))
    trim = -1 if trim_threshold < 0 else min(int(trim_threshold), 2**31 - 1)
    if libc.mallopt(_M_TRIM_THRESHOLD, trim) != 1:  # pragma: no cover - always accepted
        log.warning("mallopt refused M_TRIM_THRESHOLD=%d", trim)
        return AllocatorTuning(False, value, trim)
    return AllocatorTuning(True, value, trim)
