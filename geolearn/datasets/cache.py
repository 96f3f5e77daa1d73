"""The on-disk cache of preprocessed representations.

One entry per (mesh, representation set): ``<root>/v<FORMAT>/<key[:2]>/<key>.npz``, where ``key`` is
the sha256 of

- the sha256 of the mesh file's bytes (plus the label file's bytes for labelled meshes; for a
  generated shape, of its arrays) — so an edited file never reuses stale data, and
- the *recipe*: ``geolearn.__version__``, the cache format version, the normalisation, and the full
  ``repr`` of every representation (which lists every parameter that changes the output).

Changing any of these gives a different key, so a changed parameter always rebuilds.

An entry is an ``.npz`` (read with ``allow_pickle=False``) holding the arrays plus a ``__meta__``
record with the key, every array's dtype and shape, and a sha256 of the stored bytes. Loading
checks all of it; a truncated or corrupted entry is logged as a warning, deleted and reported as a
miss, so it is rebuilt, never used. Integer arrays, and float arrays that only hold 0/1, are stored
in the smallest integer type that holds them exactly and cast back on load (lossless).

Writes go to a unique temporary file in the entry's directory, are fsync'ed, and are moved into place
with ``os.replace`` (atomic on POSIX and Windows): two processes writing the same entry both write
complete files and the last rename wins; a reader sees the old file, the new one, or none.

The cache root is ``$GEOLEARN_CACHE`` when set, else ``~/.cache/geolearn``.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from geolearn.errors import CacheError

__all__ = [
    "CACHE_FORMAT",
    "ShapeCache",
    "content_digest",
    "default_cache_dir",
    "make_recipe",
]

logger = logging.getLogger(__name__)

#: Bump when the layout of an entry changes; old entries are then simply never looked up.
CACHE_FORMAT = 1
_META = "__meta__"


def default_cache_dir() -> Path:
    """``$GEOLEARN_CACHE`` if set (``~`` expanded), else ``~/.cache/geolearn``."""
    env = os.environ.get("GEOLEARN_CACHE")
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "geolearn"


def content_digest(*parts: bytes | None) -> str:
    """sha256 (hex) of several byte strings, each length-prefixed so that ``(ab, c) != (a, bc)``;
    ``None`` parts (e.g. no label file) hash differently from empty ones."""
    h = hashlib.sha256()
    for part in parts:
        if part is None:
            h.update(b"N")
            continue
        h.update(b"B" + len(part).to_bytes(8, "little"))
        h.update(part)
    return h.hexdigest()


def make_recipe(representations: Iterable[object], normalization: str) -> str:
    """The parameter part of a cache key: library version, cache format, normalisation and the
    reprs of the representations (sorted, so their order does not matter)."""
    from geolearn import __version__

    reps = sorted(repr(r) for r in representations)
    return (
        f"geolearn={__version__};cache_format={CACHE_FORMAT};normalize={normalization};"
        f"representations=[{', '.join(reps)}]"
    )


def _narrow(a: np.ndarray) -> np.ndarray:
    """The smallest exact integer encoding of ``a`` (or ``a`` itself)."""
    if a.size == 0:
        return a
    if a.dtype.kind in "iu":
        lo, hi = int(a.min()), int(a.max())
        for t in (np.uint8, np.int8, np.int16, np.int32):
            info = np.iinfo(t)
            if info.min <= lo and hi <= info.max:
                return a.astype(t) if np.dtype(t).itemsize < a.dtype.itemsize else a
        return a
    if a.dtype.kind == "f" and bool(np.all((a == 0) | (a == 1))):
        return a.astype(np.uint8)
    return a


def _digest_arrays(arrays: Mapping[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}|{a.dtype.str}|{a.shape}|".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class ShapeCache:
    """Preprocessed arrays on disk, keyed by content + recipe (see the module docstring).

    Args:
        root: cache directory; ``None`` → :func:`default_cache_dir`. Created if missing.

    Raises:
        CacheError: ``root`` cannot be created or written (the message names the path).
    """

    def __init__(self, root: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()
        self.dir = self.root / f"v{CACHE_FORMAT}"
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            fd, probe = tempfile.mkstemp(dir=self.dir, prefix=".probe-")
            os.close(fd)
            os.remove(probe)
        except OSError as exc:
            raise CacheError(
                f"cache directory {self.root} is not writable ({exc.strerror or exc}); "
                "pass another cache_dir or set GEOLEARN_CACHE"
            ) from exc

    def __repr__(self) -> str:
        return f"ShapeCache({str(self.root)!r})"

    @staticmethod
    def key(digest: str, recipe: str) -> str:
        """The entry key (sha256 hex) of content ``digest`` under ``recipe``."""
        return hashlib.sha256(f"{digest}\n{recipe}".encode()).hexdigest()

    def path(self, key: str) -> Path:
        """Where entry ``key`` lives."""
        return self.dir / key[:2] / f"{key}.npz"

    def load(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays of entry ``key``, or ``None`` when it is missing or fails verification
        (then it is deleted and a warning is logged, so the caller rebuilds it)."""
        path = self.path(key)
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise CacheError(f"cannot read cache entry {path}: {exc.strerror or exc}") from exc
        try:
            return _decode(data, key)
        except Exception as exc:  # any decoding failure means a damaged entry
            logger.warning("cache entry %s is corrupted (%s); rebuilding it", path, exc)
            with contextlib.suppress(OSError):
                os.remove(path)
            return None

    def store(self, key: str, arrays: Mapping[str, np.ndarray]) -> Path:
        """Write entry ``key`` atomically (temp file in the same directory, fsync, ``os.replace``).

        Raises:
            CacheError: the entry cannot be written (disk full, permissions); names the path.
        """
        for name in arrays:
            if name == _META or not name.isidentifier():
                raise CacheError(f"invalid cache array name {name!r}")
        stored = {name: _narrow(np.asarray(a)) for name, a in arrays.items()}
        meta = {
            "format": CACHE_FORMAT,
            "key": key,
            "arrays": {
                name: {"dtype": np.asarray(arrays[name]).dtype.str, "shape": list(np.shape(arrays[name]))}
                for name in arrays
            },
            "sha256": _digest_arrays(stored),
        }
        payload = dict(stored)
        payload[_META] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        path = self.path(key)
        tmp = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key[:16]}-", suffix=".tmp")
            with os.fdopen(fd, "wb") as f:
                np.savez_compressed(f, **payload)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            raise CacheError(f"cannot write cache entry {path}: {exc.strerror or exc}") from exc
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.remove(tmp)
        return path


def _decode(data: bytes, key: str) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        loaded = {name: npz[name] for name in npz.files}  # reads every member: zip CRCs checked
    if _META not in loaded:
        raise ValueError("no metadata record")
    meta = json.loads(loaded.pop(_META).tobytes().decode())
    if meta.get("format") != CACHE_FORMAT:
        raise ValueError(f"format {meta.get('format')} != {CACHE_FORMAT}")
    if meta.get("key") != key:
        raise ValueError("entry belongs to another key")
    spec = meta["arrays"]
    if set(spec) != set(loaded):
        raise ValueError(f"arrays {sorted(loaded)} != recorded {sorted(spec)}")
    if _digest_arrays(loaded) != meta["sha256"]:
        raise ValueError("checksum mismatch")
    out = {}
    for name, a in loaded.items():
        want = np.dtype(spec[name]["dtype"])
        if list(a.shape) != list(spec[name]["shape"]):
            raise ValueError(f"{name}: shape {a.shape} != recorded {spec[name]['shape']}")
        out[name] = a.astype(want) if a.dtype != want else a
    return out
