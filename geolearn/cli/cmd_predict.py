"""``geolearn predict RUN_DIR MESH... [--json] [-o OUT]``: run a trained model on mesh files.

::

    geolearn predict runs/pointnet chair.off table.obj            # class and probability per mesh
    geolearn predict runs/psb-pointnet ModelNet10.zip/ModelNet10/chair/test/chair_0890.off -o seg/
    geolearn predict runs/psb-voxunet LabeledDB.zip/LabeledDB/Human/1.off --category Human --tta --smooth
    geolearn predict runs/voxunet chair.off --ensemble runs/voxunet-seed1 --ensemble runs/dgcnn

Classification prints the predicted class, its probability and the next most probable classes.
Segmentation labels every face and writes, per mesh, ``OUT/<name>.ply`` (the mesh coloured by
part, with a per-face ``label`` property) and ``OUT/<name>.png`` (rendered views coloured by part);
``OUT`` defaults to ``RUN_DIR/predictions``. With ``-o OUT`` the result is also written to
``OUT/predictions.json``. ``--json`` prints it (per-face labels included). ``--tta`` averages over the
symmetries of the cube the run was trained with; ``--smooth`` smooths each mesh's per-face
probabilities over its faces before labelling (as ``geolearn eval`` does). ``--ensemble RUN_DIR``
(repeatable) averages the probabilities of more runs of the same task and labels with RUN_DIR's.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from geolearn.cli import emit_json

__all__ = ["register", "run"]


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="classify meshes, or label their faces by part, with a trained run",
        description=__doc__.split("::")[0].strip(),
    )
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run directory (geolearn train / compare)")
    p.add_argument(
        "meshes",
        nargs="+",
        metavar="MESH",
        help="mesh files (.off .obj .ply .stl .glb), or archive.zip/member",
    )
    p.add_argument(
        "-o",
        "--out",
        type=Path,
        default=None,
        help="output folder (segmentation default: RUN_DIR/predictions)",
    )
    p.add_argument("--checkpoint", default="best", choices=("best", "last"), help="weights (default best)")
    p.add_argument("--top", type=int, default=3, help="classes listed per mesh (default 3)")
    p.add_argument("--views", type=int, default=4, help="segmentation: rendered views per PNG (default 4)")
    p.add_argument(
        "--image-size", type=int, default=160, help="segmentation: view size in pixels (default 160)"
    )
    p.add_argument(
        "--category",
        default=None,
        help="segmentation over several categories: the meshes' category (only its parts are predicted; "
        "required when the run was trained with restrict_to_category)",
    )
    p.add_argument(
        "--tta",
        action="store_true",
        help="average over the symmetries of the cube the run was trained with (all 48 without any)",
    )
    p.add_argument(
        "--smooth",
        action="store_true",
        help="segmentation: smooth each mesh's per-face probabilities over its faces before labelling",
    )
    p.add_argument(
        "--ensemble",
        type=Path,
        action="append",
        default=[],
        metavar="RUN_DIR",
        help="another run (same task and labels) whose probabilities are averaged with RUN_DIR's; repeatable",
    )
    p.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda[:N], mps")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from geolearn.jobs.predict import predict_meshes
    from geolearn.train.rundir import to_json

    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
    result = predict_meshes(
        args.run_dir,
        args.meshes,
        out_dir=args.out,
        checkpoint=args.checkpoint,
        device=args.device,
        top=args.top,
        num_views=args.views,
        image_size=args.image_size,
        progress=sys.stderr.isatty(),
        category=args.category,
        tta=args.tta,
        smooth=args.smooth,
        ensemble=args.ensemble,
    )
    if args.json:
        emit_json(to_json(result.to_dict()))
    else:
        sys.stdout.write(format_result(to_json(result.to_dict(face_labels=False))))
    return 0


def format_result(r: dict[str, Any]) -> str:
    """The text report of a :class:`~geolearn.jobs.predict.PredictResult` (as a dict)."""
    lines = []
    for p in r["predictions"]:
        if r["task"] == "classify":
            rest = ", ".join(f"{t['name']} {t['probability']:.2f}" for t in p["top"][1:])
            lines.append(
                f"{p['source']}: {p['name']} ({p['probability']:.2f})" + (f"; then {rest}" if rest else "")
            )
        else:
            parts = sorted(p["part_area"].items(), key=lambda kv: -kv[1])
            share = ", ".join(f"{name} {100 * a:.0f}%" for name, a in parts[:6])
            more = f" (+{len(parts) - 6} more)" if len(parts) > 6 else ""
            lines.append(f"{p['source']}: {p['faces']} faces — {share}{more}")
            lines.append(f"  wrote {p['ply']} and {p['image']}")
    if r["out_dir"] is not None and r["task"] == "classify":
        lines.append(f"wrote {Path(r['out_dir']) / 'predictions.json'}")
    return "\n".join(lines) + "\n"
