"""A dataset's files, the same way whether they sit in a ``.zip`` archive or in a folder.

A :class:`FileTree` lists member names (``/``-separated paths relative to the root) and reads their
bytes. :class:`ZipTree` reads members straight from the archive without extracting it. It keeps one
``zipfile.ZipFile`` per process, opened lazily on first read and reopened after a ``fork`` (the
process id is checked), and it pickles without the open handle, so datasets built on it work in
``DataLoader`` workers and process pools.
"""

from __future__ import annotations

import os
import threading
import zipfile
from pathlib import Path
from typing import Any

from geolearn.errors import DatasetError

__all__ = ["DirTree", "FileTree", "ZipTree", "open_tree"]


def _hidden(name: str) -> bool:
    """Junk an archiver or OS adds: ``__MACOSX/``, dot-files, ``Thumbs.db``."""
    parts = name.split("/")
    return any(p.startswith(".") or p == "__MACOSX" for p in parts) or parts[-1] == "Thumbs.db"


class FileTree:
    """The files of a dataset. Subclasses: :class:`ZipTree`, :class:`DirTree`.

    Attributes:
        root: the archive or folder.
    """

    root: Path

    def names(self) -> list[str]:
        """Sorted ``/``-separated relative paths of every regular file (junk skipped)."""
        raise NotImplementedError

    def read(self, name: str) -> bytes:
        """The bytes of member ``name``."""
        raise NotImplementedError

    def display(self, name: str) -> str:
        """A path naming member ``name`` that :func:`geolearn.load_mesh` accepts
        (``archive.zip/member`` or ``folder/member``)."""
        return f"{self.root}/{name}"


class ZipTree(FileTree):
    """Members of a zip archive, read without extraction (one lazily opened handle per process)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._zf: zipfile.ZipFile | None = None
        self._pid = -1
        self._lock = threading.Lock()
        self._names: list[str] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_zf"] = None
        state["_pid"] = -1
        state["_lock"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _handle(self) -> zipfile.ZipFile:
        pid = os.getpid()
        if self._zf is None or self._pid != pid:
            with self._lock:
                if self._zf is None or self._pid != pid:
                    try:
                        self._zf = zipfile.ZipFile(self.root)
                    except (OSError, zipfile.BadZipFile) as exc:
                        raise DatasetError(f"{self.root}: cannot open as a zip archive ({exc})") from exc
                    self._pid = pid
        return self._zf

    def names(self) -> list[str]:
        if self._names is None:
            zf = self._handle()
            self._names = sorted(
                i.filename for i in zf.infolist() if not i.is_dir() and not _hidden(i.filename)
            )
        return list(self._names)

    def read(self, name: str) -> bytes:
        try:
            return self._handle().read(name)
        except KeyError:
            raise DatasetError(f"{self.root}: no member {name!r}") from None
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise DatasetError(f"{self.root}/{name}: cannot read from the archive ({exc})") from exc


class DirTree(FileTree):
    """Files under a folder."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._names: list[str] | None = None

    def names(self) -> list[str]:
        if self._names is None:
            out = []
            for dirpath, dirnames, filenames in os.walk(self.root, followlinks=True):
                dirnames[:] = [d for d in dirnames if not d.startswith(".") and d != "__MACOSX"]
                rel = Path(dirpath).relative_to(self.root).as_posix()
                for f in filenames:
                    name = f if rel == "." else f"{rel}/{f}"
                    if not _hidden(name):
                        out.append(name)
            self._names = sorted(out)
        return list(self._names)

    def read(self, name: str) -> bytes:
        path = self.root / name
        try:
            return path.read_bytes()
        except OSError as exc:
            raise DatasetError(f"{path}: cannot read ({exc.strerror or exc})") from exc


def open_tree(root: str | os.PathLike[str]) -> FileTree:
    """A :class:`ZipTree` for a ``.zip`` file, a :class:`DirTree` for a folder.

    Raises:
        DatasetError: ``root`` does not exist or is neither a folder nor a zip archive.
    """
    path = Path(root).expanduser()
    if path.is_dir():
        return DirTree(path)
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise DatasetError(f"{path}: not a folder or a zip archive")
        return ZipTree(path)
    raise DatasetError(f"{path}: no such file or folder")
