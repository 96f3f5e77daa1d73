"""``geolearn encoders [--task TASK] [--json]``: list the registered encoders.

One line per encoder: its name, the representation it consumes, the tasks it supports and what it
is. ``--json`` prints a list of objects with ``name``, ``representation``, ``tasks``, ``input_keys``
and ``description``.
"""

from __future__ import annotations

import argparse
import sys

from geolearn.cli import emit_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "encoders",
        help="list the registered encoders (representation, tasks)",
        description="List every registered encoder with the representation it reads and the tasks it supports.",
    )
    p.add_argument(
        "--task", choices=("classify", "segment"), default=None, help="only encoders for this task"
    )
    p.add_argument("--json", action="store_true", help="print a JSON list")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from geolearn.nn.registry import encoder_table

    rows = [r for r in encoder_table() if args.task is None or args.task in r["tasks"]]
    if args.json:
        emit_json(rows)
        return 0
    header = ("name", "representation", "tasks", "description")
    table = [header] + [
        (r["name"], r["representation"], ",".join(r["tasks"]), r["description"]) for r in rows
    ]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        sys.stdout.write(
            "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths, strict=True)) + "  " + row[3] + "\n"
        )
    return 0
