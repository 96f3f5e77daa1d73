"""The ``geolearn`` command.

Each sub-command lives in its own module of this package, named ``cmd_<name>.py``, with a function
``register(subparsers)`` that adds its parser and sets ``func`` (a callable taking the parsed
``argparse.Namespace`` and returning an exit code). Modules are found automatically.

Errors from bad input (:class:`geolearn.errors.GeolearnError`) become a one-line message on stderr
and exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
from collections.abc import Sequence
from typing import Any

from geolearn import __version__
from geolearn.errors import GeolearnError

__all__ = ["build_parser", "emit_json", "main"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="geolearn",
        description="Learning on 3D shapes: mesh I/O, descriptors, encoders, training.",
    )
    parser.add_argument("--version", action="version", version=f"geolearn {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("cmd_"):
            module = importlib.import_module(f"{__name__}.{info.name}")
            module.register(sub)
    return parser


def emit_json(obj: Any) -> None:
    """Write ``obj`` as one JSON document on stdout."""
    sys.stdout.write(json.dumps(obj, indent=2, default=_json_default) + "\n")


def _json_default(o: Any) -> Any:
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except GeolearnError as exc:
        sys.stderr.write(f"geolearn {args.command}: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"geolearn {args.command}: interrupted\n")
        return 130
    except MemoryError:
        sys.stderr.write(f"geolearn {args.command}: error: out of memory\n")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
