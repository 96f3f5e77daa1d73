"""``geolearn eval RUN_DIR [--data PATH] [--split test] [--json]``: score a trained run.

::

    geolearn eval runs/pointnet                          # its test split, best weights
    geolearn eval runs/pointnet --split val --json
    geolearn eval runs/pointnet --data /elsewhere/ModelNet10.zip --out runs/pointnet/eval
    geolearn eval runs/voxunet --tta                     # averaged over symmetries of the cube
    geolearn eval runs/voxunet --tta --smooth            # and smoothed over each mesh's faces
    geolearn eval runs/voxunet runs/voxunet-seed1 runs/dgcnn   # their ensemble (averaged probabilities)

Rebuilds the split from the run's ``config.yaml`` exactly as training did and prints the metrics,
per-class accuracy (or per-part IoU) and the confusion matrix (rows true, columns predicted;
segmentation weighs faces by area). ``--json`` prints one object (:class:`geolearn.jobs.evaluate.EvalResult`);
``--out DIR`` also writes ``eval-<split>.json`` and ``confusion-<split>.png`` there. Several run
directories score their ensemble: each run predicts with its own representation and weights, the
probabilities are averaged, and the average is scored (same task, labels and split shapes; with
``--tta`` a member that no pose changes — descriptors, rendered views, the spectral basis —
predicts once).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from pathlib import Path
from typing import Any

from geolearn.cli import emit_json

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="score a trained run on a split: metrics and confusion matrix",
        description=__doc__.split("::")[0].strip(),
    )
    p.add_argument(
        "run_dir",
        type=Path,
        nargs="+",
        metavar="RUN_DIR",
        help="a run directory (geolearn train / compare); several: score their ensemble (averaged probabilities)",
    )
    p.add_argument("--data", default=None, help="another copy of the data (default: the run's own)")
    p.add_argument("--split", default="test", choices=("train", "val", "test", "all"), help="default test")
    p.add_argument("--checkpoint", default="best", choices=("best", "last"), help="weights (default best)")
    p.add_argument("--batch-size", type=int, default=None, help="shapes per batch (default: the run's)")
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda[:N], mps")
    p.add_argument("--workers", type=int, default=None, help="preprocessing processes (default: all CPUs)")
    p.add_argument(
        "--out", type=Path, default=None, help="also write eval-<split>.json and confusion-<split>.png here"
    )
    p.add_argument(
        "--tta",
        action="store_true",
        help="test-time augmentation: average the predictions over the symmetries of the cube of the "
        "run's symmetry augmentation (all 48 without one; that many times the time)",
    )
    p.add_argument(
        "--smooth",
        action="store_true",
        help="segmentation: smooth each mesh's per-face probabilities over its faces (label propagation "
        "that stops at concave creases) before taking the most probable part",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from geolearn.jobs.evaluate import evaluate_run
    from geolearn.train.rundir import to_json

    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    result = evaluate_run(
        args.run_dir,
        data=args.data,
        split=args.split,
        checkpoint=args.checkpoint,
        device=args.device,
        batch_size=args.batch_size,
        progress=not args.quiet and sys.stderr.isatty(),
        workers=args.workers,
        tta=args.tta,
        smooth=args.smooth,
    )
    out = to_json(result.to_dict())
    if args.out is not None:
        import json

        from geolearn.viz.plots import plot_confusion

        args.out.mkdir(parents=True, exist_ok=True)
        stem = (
            args.split
            + ("-ensemble" if len(args.run_dir) > 1 else "")
            + ("-tta" if args.tta else "")
            + ("-smooth" if args.smooth else "")
        )
        (args.out / f"eval-{stem}.json").write_text(json.dumps(out, indent=2) + "\n")
        plot_confusion(
            result.metrics["confusion"],
            result.names,
            args.out / f"confusion-{stem}.png",
            title=(f"ensemble of {len(result.members)} runs" if result.members else result.encoder)
            + f", {args.split} split"
            + (f", {result.poses} poses" if args.tta else "")
            + (", smoothed" if args.smooth else ""),
        )
    if args.json:
        emit_json(out)
    else:
        sys.stdout.write(format_result(out))
    return 0


def _pct(v: Any) -> str:
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{100 * v:.1f}"


def format_result(r: dict[str, Any]) -> str:
    """The text report of an :class:`~geolearn.jobs.evaluate.EvalResult` (as a dict)."""
    m, names = r["metrics"], r["names"]
    who = f"ensemble of {len(r['members'])} runs ({r['encoder']})" if r.get("members") else r["encoder"]
    lines = [
        f"{who} {r['task']} on {r['data'] or 'the embedded dataset'}, {r['split']} split "
        f"({r['shapes']} shapes), weights {r['checkpoint']}"
        + (f", averaged over {r['poses']} symmetries of the cube" if r.get("tta") else "")
        + (", smoothed over each mesh's faces" if r.get("smooth") else "")
    ]
    if r["failed_shapes"]:
        lines.append(f"skipped {len(r['failed_shapes'])} unreadable shapes (see --json)")
    keys = ("loss", "accuracy", "mean_class_accuracy", "miou", "point_accuracy")
    lines.append("  ".join(f"{k} {m[k]:.4f}" for k in keys if isinstance(m.get(k), float)))
    per = m.get("per_class_accuracy") if r["task"] == "classify" else m.get("per_part_iou")
    conf = m["confusion"]
    support = [sum(row) for row in conf]
    width = max(len(n) for n in names)
    lines.append("")
    classify = r["task"] == "classify"
    head = ("class", "acc %", "shapes") if classify else ("part", "IoU %", "area (unit-sphere units²)")
    lines.append(f"{head[0]:{width}s}  {head[1]:>6s}  {head[2]}")
    for i, name in enumerate(names):
        s = f"{int(support[i])}" if classify else f"{support[i]:.3g}"
        lines.append(f"{name:{width}s}  {_pct(per[i] if per else None):>6s}  {s}")
    lines.append("")
    k = len(names)
    if classify:
        lines.append("confusion matrix (rows true, columns predicted, counts):")
        cells = [[str(int(v)) for v in row] for row in conf]
    else:
        lines.append("confusion matrix (rows true, columns predicted, % of the true part's area):")
        cells = [[_pct(v / t) if t > 0 else "—" for v in row] for row, t in zip(conf, support, strict=True)]
    cw = max(3, max(len(c) for row in cells for c in row), len(str(k - 1)))
    lines.append(" " * (width + 6) + " ".join(f"{j:>{cw}d}" for j in range(k)))
    for i, row in enumerate(cells):
        lines.append(f"{names[i]:{width}s} {i:>4d} " + " ".join(f"{c:>{cw}s}" for c in row))
    return "\n".join(lines) + "\n"
