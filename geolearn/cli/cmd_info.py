"""``geolearn info MESH [--json]``: the validation report of a mesh."""

from __future__ import annotations

import argparse
import sys

from geolearn.cli import emit_json
from geolearn.io import load_mesh


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "info",
        help="validate a mesh and print its report",
        description="Read a mesh (or a mesh inside a .zip: archive.zip/member.off) and report counts, "
        "watertightness, winding, degenerate/duplicate faces, unreferenced vertices, components.",
    )
    p.add_argument("mesh", help="mesh file (.off .obj .ply .stl .glb .gltf) or archive.zip/member")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    mesh = load_mesh(args.mesh)
    report = mesh.report.to_dict()
    if args.json:
        emit_json({"source": mesh.source, **report})
        return 0
    out = sys.stdout
    out.write(f"{mesh.source}\n")
    for key, value in report.items():
        if key == "problems":
            continue
        out.write(f"  {key:26s} {value}\n")
    problems = report["problems"]
    out.write("  problems: " + ("; ".join(problems) if problems else "none") + "\n")
    return 0
