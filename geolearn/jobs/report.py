"""Tables and provenance for results: markdown and aligned text tables, and the record of what
produced a result (command, commit, seed, versions, machine load, wall time)."""

from __future__ import annotations

import math
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "command_line",
    "cpu_name",
    "cpu_seconds",
    "fmt_number",
    "git_commit",
    "markdown_table",
    "provenance",
    "text_table",
]

_REPO = Path(__file__).resolve().parents[2]


def command_line(argv: Sequence[str] | None = None) -> str:
    """The command that is running, as a user would type it: ``geolearn demo --quick`` for the
    console script or ``python -m geolearn``, otherwise ``python <script> <args>``."""
    argv = list(sys.argv if argv is None else argv)
    if not argv:
        return ""
    head = Path(argv[0])
    if head.name == "geolearn" or (head.name == "__main__.py" and head.parent.name == "geolearn"):
        return shlex.join(["geolearn", *argv[1:]])
    return shlex.join(["python", *argv])


def git_commit(repo: str | Path | None = None) -> str:
    """``<sha>`` of the checkout geolearn runs from, ``<sha>+dirty`` when files under ``geolearn/`` or
    ``experiments/`` differ from it (untracked files included, except the experiments' own outputs
    under ``experiments/results*``), ``"unknown"`` outside a git checkout."""
    where = Path(repo) if repo is not None else _REPO
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=where, capture_output=True, text=True, timeout=10, check=True
        ).stdout.strip()
        status = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--",
                "geolearn",
                "experiments",
                ":(exclude)experiments/results*",
            ],
            cwd=where,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{sha}+dirty" if status else sha or "unknown"


def provenance(
    *, seed: int | None = None, started: float | None = None, command: str | None = None
) -> dict[str, Any]:
    """What produced a result: ``command``, ``commit``, ``seed``, ``date``, ``wall_seconds`` (since
    ``started``, a ``time.perf_counter()`` value), ``cpu_seconds`` (:func:`cpu_seconds`: the whole
    process so far), ``cpus`` and ``load_average`` (1, 5, 15 min) at the end, and library
    ``versions``."""
    from geolearn.train.rundir import library_versions

    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:  # not available on this platform
        load = None
    return {
        "cpu_seconds": round(cpu_seconds(), 1),
        "command": command if command is not None else command_line(),
        "commit": git_commit(),
        "seed": seed,
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "wall_seconds": None if started is None else round(time.perf_counter() - started, 1),
        "cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average": load,
        "versions": library_versions(),
    }


def cpu_name() -> str:
    """The processor's model name (``/proc/cpuinfo`` on Linux), else what :mod:`platform` knows."""
    import platform

    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass  # no /proc (macOS, Windows): fall back below
    return platform.processor() or platform.machine()


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (preprocessing workers)."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return math.nan
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def fmt_number(value: Any, digits: int = 3, percent: bool = False) -> str:
    """``value`` for a table: ``—`` for None/NaN, percentages with one decimal, ints with thousands
    separators, floats with ``digits`` significant digits."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if percent:
        return f"{100.0 * float(value):.1f}"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value == 0.0:
            return "0"
        if abs(value) >= 10 ** (digits - 1):
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    return str(value)


def markdown_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[bool] | None = None
) -> str:
    """A GitHub markdown table; ``numeric`` columns are right-aligned. Cells are ``str``-ed and ``|`` escaped."""
    numeric = list(numeric) if numeric is not None else [False] * len(headers)

    def cell(x: Any) -> str:
        return str(x).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(h) for h in headers) + " |"]
    lines.append("|" + "|".join("---:" if n else ":---" for n in numeric) + "|")
    lines += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def text_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], numeric: Sequence[bool] | None = None
) -> str:
    """The same table as aligned plain text for a terminal."""
    numeric = list(numeric) if numeric is not None else [False] * len(headers)
    cells = [[str(h) for h in headers]] + [[str(x) for x in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def line(r: list[str]) -> str:
        return "  ".join(
            x.rjust(w) if n else x.ljust(w) for x, w, n in zip(r, widths, numeric, strict=True)
        ).rstrip()

    out = [line(cells[0]), "  ".join("-" * w for w in widths)]
    out += [line(r) for r in cells[1:]]
    return "\n".join(out) + "\n"
