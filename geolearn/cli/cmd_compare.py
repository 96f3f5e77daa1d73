"""``geolearn compare --data PATH --task classify|segment [--encoders ...]``: one table, every method.

::

    geolearn compare --task classify --encoders pointnet voxnet d2 --epochs 20 --out runs/cmp
    geolearn compare --data ModelNet10.zip --task classify --max-shapes 200 --epochs 10
    geolearn compare --data LabeledDB.zip --task segment --encoders pointnet face_features \\
        --set 'dataset_kwargs={category: Chair}'

Trains and scores every chosen encoder and hand-crafted descriptor with the same head type,
training loop, split, seed and budget, then prints (and writes to ``OUT/compare.md`` and
``OUT/compare.json``) a table of accuracy and mean class accuracy (or face accuracy and mean IoU),
parameters, training time, inference time per shape and feature extraction time per shape.
Classification also scores Osada's 1-nearest-neighbour baseline on D2 shape distributions.
Methods: registered encoders (``geolearn encoders``), shape distributions ``d1 d2 d3 d4 a3`` (or
several joined by ``+``) and ``sdf`` for classification, ``face_features``. Each method's run is
an ordinary run directory ``OUT/<method>`` (``geolearn eval`` / ``predict`` read it).
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from geolearn.cli import emit_json
from geolearn.errors import OptionError

__all__ = ["register", "run"]

# dedicated flag → ExperimentConfig key
_FLAGS = {
    "epochs": "epochs",
    "batch_size": "batch_size",
    "lr": "lr",
    "seed": "seed",
    "max_shapes": "max_shapes",
}
# dedicated flag → Budget field
_BUDGET = {
    "points": "num_points",
    "resolution": "resolution",
    "views": "num_views",
    "image_size": "image_size",
    "d2_samples": "descriptor_samples",
    "bins": "descriptor_bins",
}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="train every chosen encoder and descriptor under one budget and tabulate the results",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--data", default=None, help="dataset archive or folder (default: the embedded dataset)")
    p.add_argument("--task", choices=("classify", "segment"), default=None, help="default: the dataset's")
    p.add_argument(
        "--encoders",
        nargs="+",
        default=None,
        metavar="NAME",
        help="methods, space- or comma-separated (default: pointnet voxnet mvcnn d2 sdf to classify, "
        "pointnet voxunet mvcnn face_features to segment)",
    )
    p.add_argument("--no-baseline", action="store_true", help="classify: leave out the 1-NN D2 baseline")
    p.add_argument("--out", type=Path, default=None, help="output folder (default runs/compare-<task>)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs of every method (default 20)")
    p.add_argument("--batch-size", type=int, default=None, help="shapes per batch (default 32)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-3)")
    p.add_argument("--seed", type=int, default=None, help="training seed (default 0)")
    p.add_argument("--max-shapes", type=int, default=None, help="keep the first N shapes of each split")
    p.add_argument("--points", type=int, default=None, help="surface points (default 1024)")
    p.add_argument("--resolution", type=int, default=None, help="voxel grid side (default 32)")
    p.add_argument("--views", type=int, default=None, help="rendered views (default 12)")
    p.add_argument("--image-size", type=int, default=None, help="view size in pixels (default 64)")
    p.add_argument(
        "--d2-samples", type=int, default=None, help="samples per shape distribution (default 1048576)"
    )
    p.add_argument("--bins", type=int, default=None, help="bins per shape distribution (default 64)")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any shared option of geolearn train, e.g. --set schedule=step (repeatable)",
    )
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda[:N], mps")
    p.add_argument("--workers", type=int, default=None, help="preprocessing processes (default: all CPUs)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import time

    from geolearn.datasets import default_task, detect_kind
    from geolearn.jobs.compare import Budget, compare, resolve_methods
    from geolearn.train.config import ExperimentConfig, load_experiment_config, parse_overrides
    from geolearn.train.rundir import to_json

    started = time.perf_counter()
    logging.basicConfig(
        level=logging.WARNING if args.quiet else logging.INFO, format="%(message)s", stream=sys.stderr
    )
    task = args.task or default_task(detect_kind(args.data))
    overrides: dict[str, Any] = {"task": task, "data": args.data, "epochs": 20}
    overrides.update(
        {key: getattr(args, flag) for flag, key in _FLAGS.items() if getattr(args, flag) is not None}
    )
    extra = parse_overrides(args.set)
    for key in ("encoder", "representation_kwargs", "task", "data"):
        if key in extra:
            raise OptionError(f"--set {key}: compare sets it per method; use --encoders, --task or --data")
    overrides.update(extra)
    base: ExperimentConfig = load_experiment_config(None, overrides)
    budget = Budget(
        **{field: getattr(args, flag) for flag, field in _BUDGET.items() if getattr(args, flag) is not None}
    )
    methods = None
    if args.encoders is not None:
        methods = [m for item in args.encoders for m in item.split(",") if m]
    resolve_methods(
        methods if methods is not None else _defaults(task), task, budget
    )  # fail fast on a bad name
    out = args.out if args.out is not None else Path("runs") / f"compare-{task}"
    result = compare(
        base,
        methods,
        out,
        budget=budget,
        baseline=not args.no_baseline,
        device=args.device,
        quiet=args.quiet,
        workers=args.workers,
        started=started,
    )
    if args.json:
        emit_json(to_json(result.to_dict()))
    else:
        sys.stdout.write(result.to_text())
        sys.stdout.write(
            f"wrote {out / 'compare.md'}, {out / 'compare.json'} and {len(result.figures)} figures\n"
        )
    return 0


def _defaults(task: str) -> list[str]:
    from geolearn.jobs.compare import DEFAULT_METHODS

    return list(DEFAULT_METHODS[task])
