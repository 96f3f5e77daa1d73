"""``geolearn render MESH -o views.png``: render a mesh from several cameras into a contact sheet."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

from geolearn.errors import OptionError

__all__ = ["register", "run"]

DEFAULT_VIEWS = {"ring": 12, "dodecahedron": 20, "sphere": 12}


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "render",
        help="render a mesh from several cameras into a PNG contact sheet",
        description=(
            "Normalise MESH to the unit sphere, render it by ray casting from V cameras looking at "
            "its centre (+z up) and write a PNG contact sheet of the shaded views."
        ),
    )
    p.add_argument("mesh", help="mesh file (.off .obj .ply .stl .glb/.gltf), or a path inside a .zip")
    p.add_argument("-o", "--output", required=True, help="PNG file to write")
    p.add_argument(
        "--cameras",
        default="ring",
        metavar="LAYOUT",
        help="camera layout: ring (MVCNN, around +z), dodecahedron (20 views) or sphere (default: ring)",
    )
    p.add_argument(
        "--views", type=int, default=None, help="number of views (default: 12; 20 for dodecahedron)"
    )
    p.add_argument("--size", type=int, default=128, help="image height = width in pixels (default: 128)")
    p.add_argument(
        "--distance", type=float, default=2.5, help="camera distance, unit-sphere radii (default: 2.5)"
    )
    p.add_argument(
        "--elevation", type=float, default=30.0, help="elevation of the ring cameras, degrees (default: 30)"
    )
    p.add_argument(
        "--face-colors", action="store_true", help="add a tile per view coloured by the face each pixel sees"
    )
    p.add_argument("--columns", type=int, default=None, help="views per row of the sheet")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from geolearn import load_mesh
    from geolearn.cli import emit_json
    from geolearn.geometry.cameras import CAMERA_KINDS
    from geolearn.geometry.render import render_views
    from geolearn.mesh import normalize
    from geolearn.viz.images import contact_sheet

    if args.cameras not in CAMERA_KINDS:
        raise OptionError(f"--cameras: unknown layout {args.cameras!r}; use one of {', '.join(CAMERA_KINDS)}")
    views = DEFAULT_VIEWS[args.cameras] if args.views is None else args.views
    if views < 1:
        raise OptionError(f"--views must be at least 1, got {views}")
    if args.cameras == "dodecahedron" and views != 20:
        raise OptionError(f"--views: the dodecahedron layout has exactly 20 views, got {views}")
    if not 1 <= args.size <= 4096:
        raise OptionError(f"--size must be between 1 and 4096 pixels, got {args.size}")
    if not args.distance > 1.0:
        raise OptionError(f"--distance must exceed 1 (the unit sphere's radius), got {args.distance}")
    if not -90.0 <= args.elevation <= 90.0:
        raise OptionError(f"--elevation must be in [-90, 90] degrees, got {args.elevation}")
    if args.columns is not None and args.columns < 1:
        raise OptionError(f"--columns must be at least 1, got {args.columns}")
    out = Path(args.output)
    if out.suffix.lower() != ".png":
        raise OptionError(f"--output {out}: the contact sheet is a PNG; use a .png file name")

    mesh = normalize(load_mesh(args.mesh), "unit_sphere")
    rendered = render_views(
        mesh,
        cameras=args.cameras,
        num_views=views,
        size=args.size,
        distance=args.distance,
        elevation_deg=args.elevation,
    )
    written = contact_sheet(rendered, out, columns=args.columns, face_colors=args.face_colors)
    coverage = float(rendered.mask.mean())
    if args.json:
        emit_json(
            {
                "mesh": str(args.mesh),
                "faces": mesh.num_faces,
                "cameras": args.cameras,
                "views": views,
                "size": args.size,
                "distance": args.distance,
                "output": str(written),
                "coverage": coverage,
                "faces_seen": int(np.unique(rendered.face_id[rendered.mask]).size),
            }
        )
    else:
        sys.stdout.write(
            f"wrote {written} ({views} {args.cameras} views, {args.size}x{args.size} px, "
            f"{100 * coverage:.1f}% of pixels cover the mesh)\n"
        )
    return 0
