"""``geolearn demo``: compare learned encoders and hand-crafted descriptors on the embedded shapes.

::

    geolearn demo                       # a few minutes on 2 CPU cores, writes runs/demo
    geolearn demo --quick --out /tmp/d  # the tiny budget the tests use

No download, no argument. Classification (PointNet, VoxNet, MVCNN, the D2 shape distribution
through the same head, and Osada's 1-nearest-neighbour D2 baseline) and segmentation (PointNet and
hand-crafted per-face features) on the embedded dataset; prints both tables and the time it took,
and writes the runs, ``demo.md``, ``demo.json`` and the pictures (confusion matrices, training
curves, D2 histograms per class, a feature embedding, a rendered segmentation next to the ground
truth) to ``--out``. The budget is small on purpose: the numbers are indicative only.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from geolearn.cli import emit_json

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo",
        help="the comparison on the embedded dataset, with pictures (a few CPU minutes, no download)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, default=Path("runs/demo"), help="output folder (default runs/demo)")
    p.add_argument("--quick", action="store_true", help="a much smaller budget (under a minute; for tests)")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda[:N], mps")
    p.add_argument("--workers", type=int, default=None, help="preprocessing processes (default: all CPUs)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads for training (default 1: the demo's batches are small, and one thread is "
        "several times faster than two as soon as anything else runs on a 2-core machine)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    from geolearn.errors import OptionError

    if args.threads < 1:
        raise OptionError(f"--threads must be at least 1, got {args.threads}")
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return _run(args)
    finally:
        torch.set_num_threads(threads)  # main() may be called in a longer-lived process (tests)


def _run(args: argparse.Namespace) -> int:
    from geolearn.jobs.demo import run_demo
    from geolearn.train.rundir import to_json

    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s", stream=sys.stderr
    )
    result = run_demo(args.out, quick=args.quick, device=args.device, quiet=args.quiet, workers=args.workers)
    if args.json:
        emit_json(to_json(result.to_dict()))
    else:
        sys.stdout.write(result.to_text())
    return 0
