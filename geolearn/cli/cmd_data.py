"""``geolearn data [PATH] [--check] [--json]``: summarise a dataset.

Prints the kind of dataset, its classes (or categories), the number of shapes per split and class,
the part label names (per category for the PSB) and, with ``--check``, the meshes that cannot be used
and why, plus how many meshes have each kind of validation problem. PATH omitted → the embedded
default dataset.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from geolearn.cli import emit_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="summarise a dataset (classes, splits, labels; --check validates every mesh)",
        description="Summarise a dataset: a ModelNet zip/folder, LabeledDB.zip or its folder, any folder "
        "of meshes with one sub-folder per class, or (no PATH) the embedded default. Without --check only "
        "the list of files is read.",
    )
    p.add_argument(
        "path", nargs="?", default=None, help="dataset archive or folder (default: embedded dataset)"
    )
    p.add_argument(
        "--check", action="store_true", help="load and validate every mesh (in parallel; slow on big sets)"
    )
    p.add_argument("--workers", type=int, default=None, help="processes for --check (default: all CPUs)")
    p.add_argument(
        "--split-file", default=None, help="PSB only: LabeledDB-split.json (default: found beside the data)"
    )
    p.add_argument(
        "--val-fraction", type=float, default=0.1, help="share of train used for validation (default 0.1)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of the validation split (default 0)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from geolearn.datasets import detect_kind
    from geolearn.datasets.summary import summarize

    kwargs: dict[str, Any] = {"seed": args.seed}
    kind = detect_kind(args.path)
    if kind != "embedded":
        kwargs["val_fraction"] = args.val_fraction
    if args.split_file is not None:
        if kind != "psb":
            from geolearn.errors import OptionError

            raise OptionError(f"--split-file only applies to the labeled PSB, not to a {kind} dataset")
        kwargs["split_file"] = args.split_file
    summary = summarize(
        args.path, check=args.check, workers=args.workers, progress=args.check and not args.json, **kwargs
    )
    if args.json:
        emit_json(summary.to_dict())
        return 0
    _write_text(summary.to_dict(), sys.stdout)
    return 0


def _write_text(d: dict[str, Any], out: Any) -> None:
    where = d["root"] or "generated in code (no download)"
    out.write(f"{d['name']} ({d['kind']} dataset): {where}\n")
    sizes = d["split_sizes"]
    out.write(
        f"task: {d['task']}; {d['num_classes']} classes; {d['num_shapes']} shapes: "
        + ", ".join(f"{s} {n}" for s, n in sizes.items())
        + "\n"
    )
    details = ", ".join(f"{k}={v}" for k, v in d["details"].items())
    if details:
        out.write(f"  ({details})\n")
    width = max([len(c) for c in d["classes"]] + [5])
    out.write(f"  {'class':{width}s} " + " ".join(f"{s:>6s}" for s in sizes) + "\n")
    for c in d["classes"]:
        out.write(f"  {c:{width}s} " + " ".join(f"{d['class_counts'][s][c]:6d}" for s in sizes) + "\n")
    if d["label_names"]:
        out.write("part labels:\n")
        for c, names in d["label_names"].items():
            out.write(f"  {c:{width}s} {', '.join(names)}\n")
    if d["checked"]:
        out.write(f"checked {d['num_checked']} meshes: {len(d['failures'])} unusable\n")
        for f in d["failures"]:
            out.write(f"  FAILED {f['source']}: {f['reason']}\n")
        if d["problems"]:
            out.write("  meshes with validation problems (usable, reported only):\n")
            for kind, n in d["problems"].items():
                out.write(f"    {kind}: {n}\n")
    else:
        out.write("(files listed only; run with --check to load and validate every mesh)\n")
