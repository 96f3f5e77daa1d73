"""Preprocessing ModelNet10 with geolearn, side by side with trimesh.

Measures, on the meshes of ModelNet10 (train + test, or the first ``--limit`` of them taken
round-robin over classes):

1. per representation, in one process, on meshes already loaded and normalised to the unit sphere:
   - points: ``geolearn Points(1024)`` (points + normals + face index) vs
     ``trimesh.sample.sample_surface(mesh, 1024)`` (+ the face normals it returns faces for);
   - voxels: ``geolearn Voxels(32, "solid")`` vs ``mesh.voxelized(pitch=2/32).fill()``, with the
     agreement of the two grids (IoU, trimesh's filled voxel centres mapped into geolearn's grid);
   - views: ``geolearn Views(12, 64)`` (12 depth + shading images with per-pixel face ids; trimesh
     has no equivalent);
2. the whole pipeline — read from the zip, hash, normalise, the three representations, write the
   cache — with :func:`geolearn.datasets.preprocess` over ``--workers`` processes, on a cold cache,
   then again on the warm cache (every entry read back and verified).

Writes a markdown table to ``benchmarks/results/preprocess_modelnet.md`` (or ``--out``) with the
command, the machine and the date.

    python benchmarks/preprocess_modelnet.py                # everything (the lead's full run)
    python benchmarks/preprocess_modelnet.py --limit 200    # a quick subset
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ZIP = ROOT.parent / "shared" / "data" / "ModelNet10.zip"


def _timed(fn, items):
    """(total seconds, results or exceptions) of fn over items."""
    out = []
    t0 = time.perf_counter()
    for it in items:
        try:
            out.append(fn(it))
        except Exception as exc:  # a library failing on one mesh is a result, not a crash
            out.append(exc)
    return time.perf_counter() - t0, out


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--zip", type=Path, default=DEFAULT_ZIP, help="ModelNet10.zip (default ../shared/data)"
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="only the first N meshes (round-robin over classes)"
    )
    parser.add_argument(
        "--workers", type=int, default=None, help="processes for the pipeline (default: all CPUs)"
    )
    parser.add_argument(
        "--cache-dir", type=Path, default=None, help="where the cold cache is built (default: a temp dir)"
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "benchmarks" / "results" / "preprocess_modelnet.md"
    )
    args = parser.parse_args(argv)

    import torch
    import trimesh

    import geolearn
    from geolearn.datasets import ModelNet, Points, Views, Voxels, preprocess
    from geolearn.datasets.preprocess import default_workers
    from geolearn.jobs.report import cpu_name
    from geolearn.mesh import normalize

    if not args.zip.is_file():
        parser.error(f"{args.zip} not found")
    workers = default_workers() if args.workers is None else args.workers
    load0 = os.getloadavg()
    reps = [Points(1024), Voxels(32, "solid"), Views(12, 64)]

    # -- 1. per representation, one process, meshes in memory -------------------------------------
    listing = ModelNet(args.zip, "all", [], cache=False, max_shapes=args.limit)
    n = len(listing)
    print(f"{n} meshes from {args.zip}", file=sys.stderr)
    t_load, meshes = _timed(lambda i: normalize(listing.load_mesh(i), "unit_sphere"), range(n))
    ok = [m for m in meshes if not isinstance(m, Exception)]
    tm = [m.to_trimesh() for m in ok]
    faces = np.array([m.num_faces for m in ok])
    print(f"loaded {len(ok)} meshes in {t_load:.1f} s", file=sys.stderr)

    rows = []
    rng = np.random.default_rng(0)
    for rep in reps:  # warm-up: imports (open3d), Embree and allocator start-up are not per-shape costs
        rep(ok[0])
    tm[0].voxelized(2.0 / 32).fill()

    t_gp, _ = _timed(reps[0], ok)

    def trimesh_points(m):
        points, face = trimesh.sample.sample_surface(m, 1024, seed=rng)
        return points, m.face_normals[face]  # the same three arrays as geolearn's Points

    t_tp, _ = _timed(trimesh_points, tm)
    rows.append(("points: 1024 + normals + face index", t_gp, t_tp, "`trimesh.sample.sample_surface`", ""))

    t_gv, gv = _timed(reps[1], ok)
    pitch = 2.0 / 32

    def trimesh_vox(m):
        return m.voxelized(pitch).fill()

    t_tv, tv = _timed(trimesh_vox, tm)
    ious = []
    for g, t in zip(gv, tv, strict=True):
        if isinstance(g, Exception) or isinstance(t, Exception):
            continue
        occ = np.zeros((32, 32, 32), dtype=bool)
        idx = np.floor((np.asarray(t.points) + 1.0) / pitch).astype(int)
        idx = idx[((idx >= 0) & (idx < 32)).all(1)]
        occ[idx[:, 0], idx[:, 1], idx[:, 2]] = True
        ious.append(_iou(g["voxels"][0] > 0, occ))
    t_fail = sum(isinstance(t, Exception) for t in tv)
    note = f"IoU with geolearn: mean {np.mean(ious):.3f}, median {np.median(ious):.3f}"
    if t_fail:
        note += f"; trimesh failed on {t_fail}"
    note += " (trimesh's grid is aligned to the mesh, geolearn's to [-1, 1]³: up to a voxel apart; fill() only fills closed cavities)"
    rows.append(("voxels: 32³ solid", t_gv, t_tv, "`mesh.voxelized(2/32).fill()`", note))

    t_gw, _ = _timed(reps[2], ok)
    rows.append(("views: 12 × 64² depth + shading + face ids", t_gw, None, "—", "no trimesh equivalent"))

    # -- 2. the pipeline, cold then warm cache ---------------------------------------------------------
    cache_root = args.cache_dir or Path(tempfile.mkdtemp(prefix="geolearn-bench-"))
    if args.cache_dir is not None and any(args.cache_dir.glob("*")):
        parser.error(f"--cache-dir {args.cache_dir} is not empty: the cold run needs an empty cache")
    try:
        ds = ModelNet(args.zip, "all", reps, cache_dir=cache_root, max_shapes=args.limit)
        cold = preprocess(ds, workers=workers, progress=True)
        warm = preprocess(ds, workers=workers, progress=True)
        size = sum(p.stat().st_size for p in cache_root.rglob("*.npz"))
    finally:
        if args.cache_dir is None:
            shutil.rmtree(cache_root, ignore_errors=True)

    # -- report ----------------------------------------------------------------------------------------
    cmd = "python benchmarks/preprocess_modelnet.py" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Preprocessing ModelNet10: geolearn vs trimesh",
        "",
        f"- command: `{cmd}`",
        f"- date: {date}",
        f"- machine: {cpu_name()}, {os.cpu_count()} CPUs ({workers} used by the pipeline), {platform.system()} "
        f"{platform.release()}; load average {load0[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end "
        "(other processes sharing the CPUs slow every number down)",
        f"- versions: geolearn {geolearn.__version__}, Python {platform.python_version()}, numpy {np.__version__}, "
        f"torch {torch.__version__}, trimesh {trimesh.__version__}",
        f"- data: {n} meshes of {args.zip.name} ({'all' if args.limit is None else f'first {args.limit}, round-robin over classes'}); "
        f"{len(ok)} loaded; faces per mesh median {int(np.median(faces))}, max {int(faces.max())}",
        "",
        "## One representation at a time (one process, meshes already loaded and normalised)",
        "",
        f"Loading (read from the zip, parse, normalise) took {1000 * t_load / n:.1f} ms per mesh.",
        "",
        "| representation | geolearn ms/shape | geolearn shapes/s | trimesh | trimesh ms/shape | trimesh shapes/s | notes |",
        "|---|---:|---:|---|---:|---:|---|",
    ]
    for name, g, t, tname, note in rows:
        tcols = f"{1000 * t / len(ok):.1f} | {len(ok) / t:.1f}" if t is not None else "— | —"
        lines.append(
            f"| {name} | {1000 * g / len(ok):.1f} | {len(ok) / g:.1f} | {tname} | {tcols} | {note} |"
        )
    lines += [
        "",
        f"## The whole pipeline: `geolearn.datasets.preprocess`, {workers} worker processes",
        "",
        "Read from the zip, hash, parse, normalise, points + voxels + views, write (cold) or read back and "
        "verify (warm) one compressed `.npz` cache entry per mesh. Times include starting the worker "
        "processes (a few seconds: each imports torch), which dominates on small subsets.",
        "",
        "| cache | shapes | built | from cache | failed | seconds | shapes/s |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in (("cold", cold), ("warm", warm)):
        lines.append(
            f"| {name} | {r.num_shapes} | {r.num_built} | {r.num_cached} | {len(r.failures)} | "
            f"{r.seconds:.1f} | {r.shapes_per_second:.1f} |"
        )
    lines += [
        "",
        f"Cache size: {size / 2**20:.1f} MiB ({size / max(1, cold.num_built) / 1024:.0f} KiB per shape).",
    ]
    if cold.failures:
        lines += ["", "Failed meshes:", ""] + [f"- `{f.source}`: {f.reason}" for f in cold.failures]
    text = "\n".join(lines) + "\n"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
