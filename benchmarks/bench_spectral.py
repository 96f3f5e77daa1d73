"""Speed and agreement of the spectral basis the diffusionnet encoder reads, side by side with libigl.

On LabeledDB meshes (every 38th of the 380, plus the largest, 27 824 vertices), one thread:

- ``operator``: building the Laplacian and mass matrix — geolearn (``robust_laplacian``: intrinsic
  Delaunay on the tufted cover, Sharp & Crane 2020) vs libigl (``igl.cotmatrix`` + ``igl.massmatrix``
  Voronoi, the cotangent Laplacian a libigl user writes).
- ``eigen``: the 128 lowest eigenpairs (``scipy.sparse.linalg.eigsh``, shift-invert at 0) of each
  operator — the solver is the same, so this is where the operators' conditioning shows — and how far
  the two spectra are apart (median relative difference of eigenvalues 2..128).
- ``representation``: :class:`geolearn.datasets.representations.SpectralPoints` end to end (2048 points,
  k = 128, 16 HKS times): what preprocessing costs per mesh, once (it is cached on disk).
- ``train``: one DiffusionNet training step (batch 8, 2048 points, k = 128, width 128, 4 blocks, AdamW),
  one torch thread: samples/s.

    python benchmarks/bench_spectral.py            # writes benchmarks/results/spectral.md
    python benchmarks/bench_spectral.py --quick    # 3 meshes
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("GEOLEARN_SHARED_DATA", ROOT.parent / "shared" / "data"))
LABELEDDB = DATA / "LabeledDB.zip"
K = 128


def _vertex_count(zf: zipfile.ZipFile, name: str) -> int:
    """The vertex count in an OFF header ("OFF" then "V F E", on one line or two), reading two lines."""
    with zf.open(name) as f:
        tokens = (f.readline() + b" " + f.readline()).split()
    return int(tokens[1] if tokens[0] == b"OFF" else tokens[0].removeprefix(b"OFF"))


def _meshes(quick: bool) -> list:
    import geolearn

    with zipfile.ZipFile(LABELEDDB) as zf:
        names = sorted(n for n in zf.namelist() if n.endswith(".off"))
        picked = names[::38][: 3 if quick else None]
        largest = max(names, key=lambda n: _vertex_count(zf, n))
        if largest not in picked:
            picked.append(largest)
        return [geolearn.parse_mesh(zf.read(n), "off", f"{LABELEDDB.name}/{n}") for n in picked]


def _timed(fn, repeat: int = 1):
    times, value = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - t)
    return min(times), value


def bench_meshes(meshes: list) -> list[dict]:
    import igl
    import scipy.sparse.linalg as sla

    from geolearn.datasets.representations import SpectralPoints
    from geolearn.geometry.spectral import _merge_vertices, laplacian

    rows = []
    for mesh in meshes:
        v, f = _merge_vertices(mesh)
        v = v / np.sqrt(mesh.face_areas.sum())
        t_ours, (lap, mass) = _timed(lambda v=v, f=f: laplacian(v, f), 3)
        t_igl, (lap_i, mass_i) = _timed(
            lambda v=v, f=f: (-igl.cotmatrix(v, f), igl.massmatrix(v, f, igl.MASSMATRIX_TYPE_VORONOI)), 3
        )

        def solve(lap, mass):
            try:
                ev = sla.eigsh(lap + 1e-8 * mass, k=K, M=mass, sigma=0.0)[0]
            except Exception as exc:  # libigl's operator can be indefinite on bad triangles
                return type(exc).__name__
            return np.sort(ev)

        t_eig, ev = _timed(lambda lap=lap, mass=mass: solve(lap, mass))
        t_eig_i, ev_i = _timed(lambda lap=lap_i, mass=mass_i: solve(lap, mass))
        if isinstance(ev_i, str):
            agree = ev_i
        else:
            agree = f"{100 * float(np.median(np.abs(ev[1:] - ev_i[1:]) / np.maximum(ev[1:], 1e-9))):.2f} %"
        negative = "-" if isinstance(ev_i, str) else int((ev_i < -1e-6).sum())
        t_rep, _ = _timed(lambda mesh=mesh: SpectralPoints(2048, 0, K, 16)(mesh))
        rows.append(
            {
                "mesh": mesh.source.split("/", 1)[1],
                "vertices": len(v),
                "ours_op": t_ours,
                "igl_op": t_igl,
                "ours_eig": t_eig,
                "igl_eig": t_eig_i,
                "agree": agree,
                "igl_negative": negative,
                "representation": t_rep,
            }
        )
        print(rows[-1], flush=True)
    return rows


def bench_train(steps: int = 5) -> float:
    import torch

    from geolearn.nn.encoders.diffusion import DiffusionNetEncoder

    torch.manual_seed(0)
    b, n, t = 8, 2048, 16
    batch = {
        "spectral_hks": torch.rand(b, n, t) + 0.5,
        "spectral_basis": torch.randn(b, n, K),
        "spectral_grad": torch.randn(b, n, K, 2),
        "spectral_evals": torch.rand(b, K) * 1000,
    }
    enc = DiffusionNetEncoder(local=True, in_features=t, standardize=False)
    head = torch.nn.Linear(128, 8)
    opt = torch.optim.AdamW([*enc.parameters(), *head.parameters()], lr=1e-3)
    times = []
    for i in range(steps + 2):
        start = time.perf_counter()
        logits = head(enc(batch).local_features.transpose(1, 2))
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, 8), torch.zeros(b * n, dtype=torch.long))
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i >= 2:
            times.append(time.perf_counter() - start)
    return b / statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "spectral.md")
    args = parser.parse_args()
    if not LABELEDDB.exists():
        print(f"needs {LABELEDDB}", file=sys.stderr)
        return 2
    import torch

    from geolearn.nn.perf import tune_cpu_allocator

    tune_cpu_allocator()
    torch.set_num_threads(1)
    os.environ["OMP_NUM_THREADS"] = "1"
    started, load = time.time(), os.getloadavg()[0]
    rows = bench_meshes(_meshes(args.quick))
    sps = bench_train()
    lines = [
        "# Spectral basis (diffusionnet encoder): speed and agreement",
        "",
        f"`python benchmarks/bench_spectral.py{' --quick' if args.quick else ''}` on "
        f"{datetime.date.today()}, {platform.processor() or platform.machine()}, one thread "
        f"(torch {torch.__version__}); {time.time() - started:.0f} s; load average {load:.1f} at the start "
        "(other jobs on the 2 cores slow every column alike). Times in seconds (best of 3 for the "
        "operators, one solve for the eigenpairs).",
        "",
        "| mesh | vertices | operator: geolearn (robust_laplacian) | operator: libigl cotan | "
        f"{K} eigenpairs: geolearn | {K} eigenpairs: libigl operator | eigenvalues apart (median) | "
        "libigl negative eigenvalues | SpectralPoints (2048 points) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['mesh']} | {r['vertices']:,} | {r['ours_op']:.3f} | {r['igl_op']:.3f} | {r['ours_eig']:.2f} | "
            f"{r['igl_eig']:.2f} | {r['agree']} | {r['igl_negative']} | {r['representation']:.2f} |"
        )
    total = sum(r["representation"] for r in rows)
    lines += [
        "",
        f"SpectralPoints over these {len(rows)} meshes: {total:.1f} s ({total / len(rows):.2f} s per mesh). "
        f"DiffusionNet training step (batch 8, 2048 points, k {K}, width 128, 4 blocks): {sps:.1f} samples/s.",
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
