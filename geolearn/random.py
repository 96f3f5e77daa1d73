"""Explicit randomness: every random function in geolearn takes a ``seed``.

A seed may be an ``int``, a ``numpy.random.Generator`` or a ``torch.Generator``. Nothing in geolearn
draws from a global random state.
"""

from __future__ import annotations

from typing import Union

import numpy as np
import torch

from geolearn.errors import OptionError

Seed = Union[int, np.random.Generator, torch.Generator]

__all__ = ["Seed", "as_numpy_rng", "as_torch_generator"]


def as_numpy_rng(seed: Seed) -> np.random.Generator:
    """A numpy ``Generator`` from ``seed``. A given generator is used (and advanced) as it is;
    a ``torch.Generator`` seeds a new numpy generator from one draw of it."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, torch.Generator):
        return np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=seed).item()))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise OptionError(f"seed must be an int, numpy Generator or torch Generator, got {type(seed).__name__}")


def as_torch_generator(seed: Seed, device: torch.device | str | None = None) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` from ``seed`` (a given torch generator is used as it is)."""
    if isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(0, 2**62))
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        g = torch.Generator(device=device if device is not None else "cpu")
        g.manual_seed(int(seed))
        return g
    raise OptionError(f"seed must be an int, numpy Generator or torch Generator, got {type(seed).__name__}")
