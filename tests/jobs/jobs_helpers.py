"""Helpers of the job tests (imported by the test modules; tests/jobs is put on sys.path by conftest)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from geolearn.cli import main

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class DemoRun:
    """The output of one ``geolearn demo --quick --json`` (see the ``quick_demo`` fixture)."""

    def __init__(self, out: Path, report: dict[str, Any], seconds: float) -> None:
        self.out, self.report, self.seconds = out, report, seconds

    def run_dir(self, task: str, method: str) -> Path:
        return self.out / task / method


def run_cli(capsys: pytest.CaptureFixture[str], *argv: Any) -> tuple[int, str, str]:
    """``geolearn ARGV`` in this process: ``(exit code, stdout, stderr)``."""
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def write_off(path: Path, vertices: np.ndarray, faces: np.ndarray) -> Path:
    """An ASCII OFF file with every coordinate written exactly (``repr`` of the float64)."""
    lines = ["OFF", f"{len(vertices)} {len(faces)} 0"]
    lines += [" ".join(repr(float(x)) for x in v) for v in vertices]
    lines += ["3 " + " ".join(str(int(i)) for i in f) for f in faces]
    path.write_text("\n".join(lines) + "\n")
    return path


def assert_png(path: Path | str, min_bytes: int = 2000) -> None:
    """``path`` is a PNG file of at least ``min_bytes`` (an empty figure is ~1-2 kB)."""
    data = Path(path).read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path} is not a PNG"
    assert len(data) >= min_bytes, f"{path} is only {len(data)} bytes"


def assert_one_line_error(code: int, err: str, command: str, *fragments: str) -> None:
    """Exit code 2 and exactly one line ``geolearn COMMAND: error: ...`` holding every fragment."""
    assert code == 2, err
    assert err.startswith(f"geolearn {command}: error: "), err
    assert err.count("\n") == 1, err
    for f in fragments:
        assert f in err, err
