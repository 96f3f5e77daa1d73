"""``geolearn describe MESH --descriptor {d2,a3,d1,d3,d4,sdf} [...]``: compute one descriptor of a mesh.

Shape distributions print their histogram; ``sdf`` prints the shape diameter function per face and
the area-weighted histogram of its normalised values. ``--json`` prints one JSON object with
``descriptor``, ``bin_edges`` (B+1), ``histogram`` (B, sums to 1) and, for ``sdf``, ``values`` (raw
SDF per face, mesh units), ``normalized`` (per face) and ``faces_without_hit``. ``--plot out.png``
draws the histogram, or for ``sdf`` the mesh coloured by its SDF.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import numpy as np

from geolearn.cli import emit_json

DISTRIBUTIONS = ("d2", "a3", "d1", "d3", "d4")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "describe",
        help="compute a hand-crafted descriptor of a mesh (shape distributions, shape diameter function)",
        description="Compute a shape distribution (D2, A3, D1, D3, D4; Osada et al. 2002) or the shape "
        "diameter function (sdf; Shapira et al. 2008) of one mesh. MESH may point into a zip archive "
        "(archive.zip/folder/mesh.off).",
    )
    p.add_argument("mesh", help="mesh file (.off .obj .ply .stl .glb/.gltf), or archive.zip/member")
    p.add_argument("--descriptor", required=True, choices=[*DISTRIBUTIONS, "sdf"], help="which descriptor")
    p.add_argument("--bins", type=int, default=None, help="histogram bins (default 64; 32 for sdf)")
    p.add_argument("--samples", type=int, default=None, help="distributions: samples (default 1048576)")
    p.add_argument(
        "--scale",
        choices=["none", "mean", "max"],
        default=None,
        help="distributions: scale normalisation (default mean)",
    )
    p.add_argument("--seed", type=int, default=None, help="distributions: random seed (default 0)")
    p.add_argument("--device", default="cpu", help="distributions: torch device (default cpu)")
    p.add_argument("--rays", type=int, default=None, help="sdf: rays per face (default 30)")
    p.add_argument(
        "--cone-angle", type=float, default=None, help="sdf: full cone angle in degrees (default 120)"
    )
    p.add_argument(
        "--smoothing",
        type=int,
        default=None,
        help="sdf: smoothing iterations over face adjacency (default 0)",
    )
    p.add_argument(
        "--orient",
        action="store_true",
        help="sdf: wind faces consistently, closed parts outward, first (same faces, same order)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument(
        "--plot", default=None, metavar="OUT.png", help="write a picture (histogram; mesh coloured by SDF)"
    )
    p.set_defaults(func=run)


def _reject(args: argparse.Namespace, names: tuple[str, ...], why: str) -> None:
    from geolearn.errors import OptionError

    given = [n for n in names if getattr(args, n.replace("-", "_")) not in (None, False)]
    if given:
        raise OptionError(f"--{given[0]} does not apply to --descriptor {args.descriptor} ({why})")


def run(args: argparse.Namespace) -> int:
    from geolearn import load_mesh

    mesh = load_mesh(args.mesh)
    if args.descriptor == "sdf":
        _reject(args, ("samples", "scale", "seed"), "the SDF is deterministic and per face")
        out = _run_sdf(args, mesh)
    else:
        _reject(args, ("rays", "cone-angle", "smoothing", "orient"), "those are sdf options")
        out = _run_distribution(args, mesh)
    if args.plot is not None:
        _plot(args, mesh, out)
    if args.json:
        emit_json(out)
    else:
        _write_text(out, sys.stdout)
    return 0


def _run_distribution(args: argparse.Namespace, mesh: Any) -> dict[str, Any]:
    from geolearn.descriptors.distributions import DEFAULT_BINS, DEFAULT_SAMPLES, shape_distribution

    r = shape_distribution(
        mesh,
        args.descriptor,
        bins=DEFAULT_BINS if args.bins is None else args.bins,
        samples=DEFAULT_SAMPLES if args.samples is None else args.samples,
        scale="mean" if args.scale is None else args.scale,
        seed=0 if args.seed is None else args.seed,
        device=args.device,
    )
    units = (
        "radians"
        if r.kind == "a3"
        else ("mesh units" if r.scale == "none" else f"{r.scale}-scaled (unitless)")
    )
    return {
        "descriptor": r.kind,
        "mesh": mesh.source,
        "bin_edges": r.bin_edges,
        "histogram": r.histogram,
        "units": units,
        "scale": r.scale,
        "scale_factor": r.scale_factor,
        "clipped": r.clipped,
        "samples": r.samples,
        "seed": 0 if args.seed is None else args.seed,
    }


def _run_sdf(args: argparse.Namespace, mesh: Any) -> dict[str, Any]:
    from geolearn.descriptors.representations import orient_faces
    from geolearn.descriptors.sdf import (
        DEFAULT_CONE_ANGLE,
        DEFAULT_RAYS,
        DEFAULT_SDF_BINS,
        shape_diameter_function,
    )

    if args.orient:
        mesh = orient_faces(mesh)
    r = shape_diameter_function(
        mesh,
        rays=DEFAULT_RAYS if args.rays is None else args.rays,
        cone_angle=DEFAULT_CONE_ANGLE if args.cone_angle is None else args.cone_angle,
        smoothing_iterations=0 if args.smoothing is None else args.smoothing,
        bins=DEFAULT_SDF_BINS if args.bins is None else args.bins,
    )
    return {
        "descriptor": "sdf",
        "mesh": mesh.source,
        "bin_edges": r.bin_edges,
        "histogram": r.histogram,
        "units": "normalised SDF (histogram); values in mesh units",
        "values": r.values,
        "normalized": r.normalized,
        "faces_without_hit": r.faces_without_hit,
        "faces_filled_from_mesh": r.faces_filled_from_mesh,
        "rays": r.rays,
        "cone_angle": r.cone_angle,
        "smoothing_iterations": 0 if args.smoothing is None else args.smoothing,
        "oriented": bool(args.orient),
    }


def _write_text(d: dict[str, Any], out: Any) -> None:
    out.write(f"{d['descriptor']} of {d['mesh']}\n")
    if d["descriptor"] == "sdf":
        v = np.asarray(d["values"])
        out.write(
            f"  {len(v)} faces, {d['rays']} rays in a {d['cone_angle']:g}° cone; SDF (mesh units): "
            f"min {v.min():.6g}, median {np.median(v):.6g}, max {v.max():.6g}\n"
        )
        out.write(
            f"  faces without a valid hit: {d['faces_without_hit']} (filled from neighbours; "
            f"{d['faces_filled_from_mesh']} from the mesh median)\n"
        )
    else:
        out.write(
            f"  {d['samples']} samples, scale {d['scale']} (divided by {d['scale_factor']:.6g}), "
            f"{100 * d['clipped']:.3f}% outside the edges\n"
        )
    edges, hist = np.asarray(d["bin_edges"]), np.asarray(d["histogram"])
    out.write(f"  histogram, {len(hist)} bins on [{edges[0]:.6g}, {edges[-1]:.6g}] ({d['units']}):\n")
    peak = max(float(hist.max()), 1e-300)
    for lo, hi, h in zip(edges[:-1], edges[1:], hist, strict=True):
        out.write(f"  [{lo:10.5g}, {hi:10.5g})  {h:8.5f}  {'#' * round(40 * h / peak)}\n")


def _plot(args: argparse.Namespace, mesh: Any, d: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from geolearn.errors import OptionError

    edges, hist = np.asarray(d["bin_edges"]), np.asarray(d["histogram"])
    if d["descriptor"] == "sdf":
        fig = _sdf_figure(plt, mesh, d)
    else:
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.stairs(hist / np.diff(edges), edges, fill=True, alpha=0.6)
        ax.set_xlabel(f"{d['descriptor'].upper()} value ({d['units']})")
        ax.set_ylabel("density")
        ax.set_title(f"{d['descriptor'].upper()} of {d['mesh'].split('/')[-1]}")
        fig.tight_layout()
    try:
        fig.savefig(args.plot, dpi=120)
    except OSError as exc:
        raise OptionError(f"--plot {args.plot}: cannot write the picture ({exc.strerror or exc})") from None
    finally:
        plt.close(fig)


def _sdf_figure(plt: Any, mesh: Any, d: dict[str, Any]) -> Any:
    from geolearn.geometry.render import render_views
    from geolearn.mesh import normalize

    views = render_views(normalize(mesh, "unit_sphere"), cameras="ring", num_views=4, size=256)
    values = np.asarray(d["values"])
    norm = plt.Normalize(vmin=float(values.min()), vmax=float(values.max()))
    cmap = plt.get_cmap("viridis")
    fig, axes = plt.subplots(1, 4, figsize=(12, 3.4))
    for ax, face, shade in zip(axes, views.face_id, views.shading, strict=True):
        rgb = cmap(norm(values[np.maximum(face, 0)]))[..., :3] * (0.35 + 0.65 * shade[..., None])
        rgb[face < 0] = 1.0
        ax.imshow(rgb)
        ax.set_axis_off()
    fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=axes, shrink=0.8, label="SDF (mesh units)")
    fig.suptitle(f"shape diameter function of {d['mesh'].split('/')[-1]}")
    return fig
