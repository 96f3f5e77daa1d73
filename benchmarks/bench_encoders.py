"""Training throughput and peak memory of every geolearn encoder on this CPU, side by side with a
plain implementation of the same architecture written the way public reference code writes it.

Classification at ModelNet-like sizes (PointNet/DGCNN 1024 points, voxels 32³, 12 views of 64²,
a 64-bin descriptor), batch 32, Adam. One measurement = one fresh process (so peak RSS is that
configuration's), run twice: with glibc's default malloc and after ``tune_cpu_allocator()``.

    python benchmarks/bench_encoders.py                      # everything, writes benchmarks/results/encoders.md
    python benchmarks/bench_encoders.py --only pointnet mvcnn --compile

Samples/s = batch size / median step time (forward + backward + optimizer step) over the timed steps
after 2 warm-up steps. The reference models below are written here (not imported): Conv1d/BatchNorm
stacks with a per-sample T-Net for PointNet, a conv2d-over-edge-features DGCNN, nn.Sequential VoxNet,
torchvision-style basic blocks for the ResNets, views folded into the batch for MVCNN.
"""

from __future__ import annotations

import argparse
import ast
import itertools
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "nn"))  # the synthetic batches of the encoder tests

BATCH = 32
NUM_CLASSES = 10
SIZES = {"num_points": 1024, "resolution": 32, "num_views": 12, "image_size": 64, "descriptor_bins": 64}
KEYS = {
    "pointnet": ("points",), "dgcnn": ("points",), "voxnet": ("voxels",), "voxresnet": ("voxels",),
    "voxunet": ("voxels",), "mvcnn": ("views",), "descriptor": ("descriptor",), "face_features": ("face_features",),
}  # fmt: skip


# ----------------------------------------------------------------------------------------------
# Plain reference implementations (the way common public PyTorch ports write them)
# ----------------------------------------------------------------------------------------------


class RefClassifier(nn.Module):
    """fc-bn-relu-dropout ×2 then fc, as in the PointNet/DGCNN ports (same widths as geolearn's head)."""

    def __init__(self, c: int, k: int) -> None:
        super().__init__()
        self.fc1, self.bn1 = nn.Linear(c, 512), nn.BatchNorm1d(512)
        self.fc2, self.bn2 = nn.Linear(512, 256), nn.BatchNorm1d(256)
        self.fc3 = nn.Linear(256, k)
        self.dp = nn.Dropout(0.5)

    def forward(self, x):
        x = self.dp(F.relu(self.bn1(self.fc1(x))))
        x = self.dp(F.relu(self.bn2(self.fc2(x))))
        return self.fc3(x)


class RefSTN3d(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2, self.conv3 = (
            nn.Conv1d(3, 64, 1),
            nn.Conv1d(64, 128, 1),
            nn.Conv1d(128, 1024, 1),
        )
        self.fc1, self.fc2, self.fc3 = nn.Linear(1024, 512), nn.Linear(512, 256), nn.Linear(256, 9)
        self.bn1, self.bn2, self.bn3 = nn.BatchNorm1d(64), nn.BatchNorm1d(128), nn.BatchNorm1d(1024)
        self.bn4, self.bn5 = nn.BatchNorm1d(512), nn.BatchNorm1d(256)

    def forward(self, x):
        b = x.size(0)
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        x = torch.max(x, 2, keepdim=True)[0].view(-1, 1024)
        x = F.relu(self.bn4(self.fc1(x)))
        x = F.relu(self.bn5(self.fc2(x)))
        x = self.fc3(x)
        iden = torch.eye(3, dtype=x.dtype, device=x.device).view(1, 9).repeat(b, 1)
        return (x + iden).view(-1, 3, 3)


class RefPointNet(nn.Module):
    """PointNet classification as in the common ports: STN3d, Conv1d(k=1)+BN stacks, max pool."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.stn = RefSTN3d()
        self.conv1, self.bn1 = nn.Conv1d(3, 64, 1), nn.BatchNorm1d(64)
        self.conv2, self.bn2 = nn.Conv1d(64, 64, 1), nn.BatchNorm1d(64)
        self.conv3, self.bn3 = nn.Conv1d(64, 64, 1), nn.BatchNorm1d(64)
        self.conv4, self.bn4 = nn.Conv1d(64, 128, 1), nn.BatchNorm1d(128)
        self.conv5, self.bn5 = nn.Conv1d(128, 1024, 1), nn.BatchNorm1d(1024)
        self.head = RefClassifier(1024, k)

    def forward(self, batch):
        x = batch["points"].transpose(2, 1)  # (B, 3, N)
        trans = self.stn(x)
        x = torch.bmm(x.transpose(2, 1), trans).transpose(2, 1)
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        x = F.relu(self.bn3(self.conv3(x)))
        x = F.relu(self.bn4(self.conv4(x)))
        x = self.bn5(self.conv5(x))
        x = F.relu(x)
        x = torch.max(x, 2, keepdim=True)[0].view(-1, 1024)
        return self.head(x)


def ref_knn(x, k):
    inner = -2 * torch.matmul(x.transpose(2, 1), x)
    xx = torch.sum(x**2, dim=1, keepdim=True)
    pairwise_distance = -xx - inner - xx.transpose(2, 1)
    return pairwise_distance.topk(k=k, dim=-1)[1]


def ref_graph_feature(x, k):
    batch_size, num_dims, num_points = x.size()
    idx = ref_knn(x, k)
    idx_base = torch.arange(0, batch_size, device=x.device).view(-1, 1, 1) * num_points
    idx = (idx + idx_base).view(-1)
    x = x.transpose(2, 1).contiguous()
    feature = x.view(batch_size * num_points, -1)[idx, :].view(batch_size, num_points, k, num_dims)
    x = x.view(batch_size, num_points, 1, num_dims).repeat(1, 1, k, 1)
    return torch.cat((feature - x, x), dim=3).permute(0, 3, 1, 2).contiguous()


class RefDGCNN(nn.Module):
    """DGCNN classification as in the common ports: conv2d over (B, 2C, N, k) edge features."""

    def __init__(self, k_cls: int, k: int = 20) -> None:
        super().__init__()
        self.k = k
        self.conv1 = nn.Sequential(nn.Conv2d(6, 64, 1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2))
        self.conv2 = nn.Sequential(nn.Conv2d(128, 64, 1, bias=False), nn.BatchNorm2d(64), nn.LeakyReLU(0.2))
        self.conv3 = nn.Sequential(nn.Conv2d(128, 128, 1, bias=False), nn.BatchNorm2d(128), nn.LeakyReLU(0.2))
        self.conv4 = nn.Sequential(nn.Conv2d(256, 256, 1, bias=False), nn.BatchNorm2d(256), nn.LeakyReLU(0.2))
        self.conv5 = nn.Sequential(
            nn.Conv1d(512, 1024, 1, bias=False), nn.BatchNorm1d(1024), nn.LeakyReLU(0.2)
        )
        self.head = RefClassifier(2048, k_cls)

    def forward(self, batch):
        x = batch["points"].transpose(2, 1)  # (B, 3, N)
        x1 = self.conv1(ref_graph_feature(x, self.k)).max(dim=-1, keepdim=False)[0]
        x2 = self.conv2(ref_graph_feature(x1, self.k)).max(dim=-1, keepdim=False)[0]
        x3 = self.conv3(ref_graph_feature(x2, self.k)).max(dim=-1, keepdim=False)[0]
        x4 = self.conv4(ref_graph_feature(x3, self.k)).max(dim=-1, keepdim=False)[0]
        x = self.conv5(torch.cat((x1, x2, x3, x4), dim=1))
        x = torch.cat(
            (
                F.adaptive_max_pool1d(x, 1).view(x.size(0), -1),
                F.adaptive_avg_pool1d(x, 1).view(x.size(0), -1),
            ),
            1,
        )
        return self.head(x)


class RefVoxNet(nn.Module):
    """VoxNet as in the common ports (nn.Sequential body), with the BN geolearn adds."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv3d(1, 32, 5, stride=2), nn.BatchNorm3d(32), nn.LeakyReLU(0.1), nn.Dropout(0.2),
            nn.Conv3d(32, 32, 3), nn.BatchNorm3d(32), nn.LeakyReLU(0.1), nn.MaxPool3d(2), nn.Dropout(0.3),
        )  # fmt: skip
        self.fc = nn.Sequential(nn.Linear(32 * 6 * 6 * 6, 128), nn.ReLU(), nn.Dropout(0.4))
        self.head = RefClassifier(128, k)

    def forward(self, batch):
        x = self.body(batch["voxels"])
        return self.head(self.fc(x.view(x.size(0), -1)))


def _conv(dim, *a, **kw):
    return (nn.Conv2d if dim == 2 else nn.Conv3d)(*a, **kw)


def _bn(dim, c):
    return (nn.BatchNorm2d if dim == 2 else nn.BatchNorm3d)(c)


class RefBasicBlock(nn.Module):
    """torchvision's BasicBlock, in 2D or 3D."""

    def __init__(self, dim, inplanes, planes, stride=1) -> None:
        super().__init__()
        self.conv1, self.bn1 = _conv(dim, inplanes, planes, 3, stride, 1, bias=False), _bn(dim, planes)
        self.conv2, self.bn2 = _conv(dim, planes, planes, 3, 1, 1, bias=False), _bn(dim, planes)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(
                _conv(dim, inplanes, planes, 1, stride, bias=False), _bn(dim, planes)
            )

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class RefResNet(nn.Module):
    """The same residual backbone as geolearn's voxresnet (dim 3) / mvcnn (dim 2), torchvision style."""

    def __init__(self, dim: int, in_ch: int, widths=(32, 64, 128, 256)) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            _conv(dim, in_ch, widths[0], 5, 2, 2, bias=False), _bn(dim, widths[0]), nn.ReLU(inplace=True)
        )
        blocks, prev = [], widths[0]
        for i, w in enumerate(widths):
            blocks.append(RefBasicBlock(dim, prev, w, 1 if i == 0 else 2))
            prev = w
        self.layers = nn.Sequential(*blocks)

    def forward(self, x):
        return self.layers(self.stem(x))


class RefVoxResNet(nn.Module):
    def __init__(self, k: int) -> None:
        super().__init__()
        self.backbone, self.head = RefResNet(3, 1), RefClassifier(256, k)

    def forward(self, batch):
        x = self.backbone(batch["voxels"])
        return self.head(torch.max(x.view(x.size(0), x.size(1), -1), 2)[0])


class RefMVCNN(nn.Module):
    """MVCNN with views folded into the batch, per-view avgpool, max over views."""

    def __init__(self, k: int) -> None:
        super().__init__()
        self.backbone, self.head = RefResNet(2, 2), RefClassifier(256, k)

    def forward(self, batch):
        x = batch["views"]
        b, v = x.shape[:2]
        y = self.backbone(x.view(b * v, *x.shape[2:]))
        y = F.adaptive_avg_pool2d(y, 1).view(b, v, -1)
        return self.head(torch.max(y, 1)[0])


def _cbr3(i, o, s=1):
    return nn.Sequential(nn.Conv3d(i, o, 3, s, 1, bias=False), nn.BatchNorm3d(o), nn.ReLU(inplace=True))


class RefVoxUNetEncoder(nn.Module):
    """The encoder half of geolearn's voxunet (classification uses no decoder), plain, with the same
    CoordConv input channels."""

    def __init__(self, k: int, widths=(16, 32, 64, 128)) -> None:
        super().__init__()
        self.stem = _cbr3(4, widths[0])
        self.down = nn.Sequential(
            *[
                nn.Sequential(_cbr3(widths[i], widths[i + 1], 2), _cbr3(widths[i + 1], widths[i + 1]))
                for i in range(3)
            ]
        )
        self.fc = nn.Sequential(
            nn.Linear(widths[-1], 256, bias=False), nn.BatchNorm1d(256), nn.ReLU(inplace=True)
        )
        self.head = RefClassifier(256, k)

    def forward(self, batch):
        v = batch["voxels"]
        r = v.shape[-1]
        c = (torch.arange(r, dtype=v.dtype) + 0.5) * (2.0 / r) - 1.0
        grid = torch.stack(torch.meshgrid(c, c, c, indexing="ij")).expand(v.shape[0], -1, -1, -1, -1)
        x = self.down(self.stem(torch.cat([v, grid], 1)))
        return self.head(self.fc(torch.max(x.view(x.size(0), x.size(1), -1), 2)[0]))


class RefDescriptorMLP(nn.Module):
    """Standardised descriptor → classifier (mean/std as constants, as a script would)."""

    def __init__(self, k: int, d: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(d))
        self.register_buffer("std", torch.ones(d))
        self.head = RefClassifier(d, k)

    def forward(self, batch):
        return self.head((batch["descriptor"] - self.mean) / self.std)


class RefFaceFeatures(nn.Module):
    """Per-shape mean and max of standardised face features, a Python loop over shapes."""

    def __init__(self, k: int, c: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(c))
        self.register_buffer("std", torch.ones(c))
        self.head = RefClassifier(2 * c, k)

    def forward(self, batch):
        f = (batch["face_features"] - self.mean) / self.std
        ptr = batch["face_ptr"].tolist()
        g = [torch.cat([f[a:b].mean(0), f[a:b].max(0)[0]]) for a, b in itertools.pairwise(ptr)]
        return self.head(torch.stack(g))


def reference_model(name: str, batch: dict) -> nn.Module:
    if name == "pointnet":
        return RefPointNet(NUM_CLASSES)
    if name == "dgcnn":
        return RefDGCNN(NUM_CLASSES)
    if name == "voxnet":
        return RefVoxNet(NUM_CLASSES)
    if name == "voxresnet":
        return RefVoxResNet(NUM_CLASSES)
    if name == "voxunet":
        return RefVoxUNetEncoder(NUM_CLASSES)
    if name == "mvcnn":
        return RefMVCNN(NUM_CLASSES)
    if name == "descriptor":
        return RefDescriptorMLP(NUM_CLASSES, batch["descriptor"].shape[1])
    if name == "face_features":
        return RefFaceFeatures(NUM_CLASSES, batch["face_features"].shape[1])
    raise SystemExit(f"no reference implementation for {name!r}: add one to {__file__}")


# ----------------------------------------------------------------------------------------------
# Measurements (each in its own process)
# ----------------------------------------------------------------------------------------------


def _variant_kwargs(impl: str) -> dict[str, Any]:
    """``geolearn[channels_last=False]`` → ``{"channels_last": False}`` (encoder options of a variant)."""
    if "[" not in impl:
        return {}
    body = impl[impl.index("[") + 1 : impl.rindex("]")]
    return {k: ast.literal_eval(v) for k, v in (item.split("=", 1) for item in body.split(","))}


def worker(name: str, malloc: str, impls: list[str], steps: int, budget: float) -> list[dict[str, Any]]:
    """Time ``impls`` of ``name`` step by step in turn (so each sees the same machine load)."""
    from nn_batches import synthetic_batch

    from geolearn.nn import create_model, tune_cpu_allocator

    if malloc == "tuned":
        tune_cpu_allocator()
    batch = synthetic_batch(
        BATCH, num_classes=NUM_CLASSES, faces=(200, 400), keys=KEYS[name], seed=0, **SIZES
    )
    runs = {}
    for impl in impls:
        torch.manual_seed(0)
        if impl.startswith("geolearn"):
            kw = _variant_kwargs(impl)
            model: nn.Module = create_model(
                name, "classify", num_classes=NUM_CLASSES, example_batch=batch, **kw
            )
            model.fit_normalizer([batch])
        else:
            model = reference_model(name, batch)
        model.train()
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        fwd = torch.compile(model) if impl.endswith("+compile") else model
        runs[impl] = (model, fwd, opt, [], [])

    usage: dict[str, list[tuple[float, float, float]]] = {impl: [] for impl in impls}

    def step(impl: str) -> float:
        _, fwd, opt, _, _ = runs[impl]
        r0, t = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(fwd(batch), batch["label"]).backward()
        opt.step()
        dt, r1 = time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF)
        # page faults and CPU seconds of this step: unlike wall time, not inflated by other processes
        usage[impl].append(
            (r1.ru_minflt - r0.ru_minflt, r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime)
        )
        return dt

    for impl in impls:  # warm-up: oneDNN primitives, allocator, (compilation)
        runs[impl][4].append(step(impl))
        runs[impl][4].append(step(impl))
    start = time.perf_counter()
    while True:
        for impl in impls:
            runs[impl][3].append(step(impl))
        n = len(runs[impls[0]][3])
        if n >= steps or (n >= 3 and time.perf_counter() - start > budget * len(impls)):
            break
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = []
    for impl, (model, _, _, times, warm) in runs.items():
        med = statistics.median(times)
        timed = usage[impl][2:]  # after the warm-up steps
        out.append({
            "faults_per_step": statistics.median(u[0] for u in timed),
            "user_cpu_s_per_step": statistics.median(u[1] for u in timed),
            "sys_cpu_s_per_step": statistics.median(u[2] for u in timed),
            "name": name, "impl": impl, "malloc": malloc, "samples_per_s": BATCH / med, "step_s": med,
            "steps": len(times), "first_step_s": warm[0], "process_peak_rss_mb": rss,
            "params": sum(p.numel() for p in model.parameters()),
        })  # fmt: skip
    return out


def profile(name: str, impl: str, rows: int = 20) -> None:
    """One training step of ``name`` (``impl`` = reference | geolearn[...]) under torch.profiler, tuned
    malloc, after two warm-up steps: the operators that take the time."""
    from nn_batches import synthetic_batch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    from geolearn.nn import create_model, tune_cpu_allocator

    tune_cpu_allocator()
    batch = synthetic_batch(
        BATCH, num_classes=NUM_CLASSES, faces=(200, 400), keys=KEYS[name], seed=0, **SIZES
    )
    torch.manual_seed(0)
    if impl.startswith("geolearn"):
        model: nn.Module = create_model(
            name, num_classes=NUM_CLASSES, example_batch=batch, **_variant_kwargs(impl)
        )
        model.fit_normalizer([batch])
    else:
        model = reference_model(name, batch)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        F.cross_entropy(model(batch), batch["label"]).backward()
        opt.step()

    step()
    step()
    with torch_profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
        step()
    table = prof.key_averages(group_by_input_shape=True).table(
        sort_by="self_cpu_time_total", row_limit=rows, max_name_column_width=36, max_shapes_column_width=60
    )
    print(table)


def run_worker(name: str, malloc: str, impls: list[str], steps: int, budget: float) -> list[dict[str, Any]]:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        name,
        malloc,
        *impls,
        "--steps",
        str(steps),
        "--budget",
        str(budget),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def write_markdown(rows: list[dict[str, Any]], path: Path, load: tuple[float, float], elapsed: float) -> None:
    by = {(r["name"], r["impl"], r["malloc"]): r for r in rows}
    names = list(dict.fromkeys(r["name"] for r in rows))
    lines = [
        "# Encoder training throughput on CPU",
        "",
        f"`python benchmarks/bench_encoders.py` on {os.cpu_count()} cores ({platform.machine()}), "
        f"torch {torch.__version__} ({torch.get_num_threads()} threads), Python {platform.python_version()}. "
        f"Classification, batch {BATCH}, Adam; ModelNet-like sizes: 1024 points, 32³ voxels, 12 views of 64², "
        f"64-bin descriptor. Load average (1 min) before / after: {load[0]:.2f} / {load[1]:.2f}; the run took "
        f"{elapsed / 60:.0f} min.",
        "",
        "Samples/s = batch / median step (forward + backward + optimizer step); reference and geolearn are "
        "timed step by step in turn in one process, so both see the same machine load. `default` = glibc "
        "malloc as is, `tuned` = after `geolearn.nn.perf.tune_cpu_allocator()` (separate processes). "
        "Peak RSS: a separate process per implementation (tuned malloc, a few steps), including the "
        "interpreter, torch and the synthetic batch.",
        "",
        "| encoder | reference default | geolearn default | reference tuned | geolearn tuned | geolearn / reference (tuned) | peak RSS MB reference / geolearn |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]

    def sps(r: dict[str, Any] | None) -> str:
        return "–" if r is None else f"{r['samples_per_s']:.1f}"

    for n in names:
        rt, gt = by.get((n, "reference", "tuned")), by.get((n, "geolearn", "tuned"))
        rm, gm = by.get((n, "reference", "memory")), by.get((n, "geolearn", "memory"))
        ratio = f"{gt['samples_per_s'] / rt['samples_per_s']:.2f}×" if rt and gt else "–"
        mem = f"{rm['process_peak_rss_mb']:.0f} / {gm['process_peak_rss_mb']:.0f}" if rm and gm else "–"
        lines.append(
            f"| {n} | {sps(by.get((n, 'reference', 'default')))} | {sps(by.get((n, 'geolearn', 'default')))} "
            f"| {sps(rt)} | {sps(gt)} | {ratio} | {mem} |"
        )
    lines += [
        "",
        "Per step, medians (load-independent: CPU seconds and page faults of the step itself):",
        "",
        "| encoder | implementation | malloc | minor page faults | user CPU s | system CPU s |",
        "|---|---|---|---:|---:|---:|",
    ]
    lines += [
        f"| {r['name']} | {r['impl']} | {r['malloc']} | {r['faults_per_step']:.0f} | {r['user_cpu_s_per_step']:.2f} "
        f"| {r['sys_cpu_s_per_step']:.2f} |"
        for r in rows
        if r["malloc"] in ("default", "tuned")
    ]
    extra = [r for r in rows if r["impl"] not in ("reference", "geolearn")]
    if extra:
        lines += ["", "| encoder | variant | malloc | samples/s | first step s |", "|---|---|---|---:|---:|"]
        lines += [
            f"| {r['name']} | {r['impl']} | {r['malloc']} | {r['samples_per_s']:.1f} | {r['first_step_s']:.1f} |"
            for r in extra
        ]
    lines += ["", "Raw measurements (JSON):", "", "```json", json.dumps(rows, indent=1), "```", ""]
    path.write_text("\n".join(lines))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--only", nargs="*", default=None, help="encoder names (default: every registered encoder)"
    )
    p.add_argument("--steps", type=int, default=200, help="at most this many timed steps per implementation")
    p.add_argument(
        "--budget",
        type=float,
        default=10.0,
        help="seconds of timed steps per implementation (at least 3 steps)",
    )
    p.add_argument(
        "--compile", action="store_true", help="also time geolearn models under torch.compile (tuned malloc)"
    )
    p.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="KEY=VALUE[,KEY=VALUE]",
        help="also time geolearn with these encoder options (tuned malloc), e.g. channels_last=False",
    )
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "encoders.md")
    p.add_argument(
        "--profile", nargs="+", metavar=("NAME", "IMPL"), help="print a torch.profiler table of one step"
    )
    p.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        name, malloc, *impls = args.worker
        print(json.dumps(worker(name, malloc, impls, steps=args.steps, budget=args.budget)))
        return
    from geolearn.nn import list_encoders

    if args.profile:
        profile(args.profile[0], args.profile[1] if len(args.profile) > 1 else "geolearn")
        return
    names = args.only or list_encoders()
    load0, t0 = os.getloadavg()[0], time.time()
    rows = []
    for name in names:
        for malloc in ("default", "tuned"):
            impls = ["reference", "geolearn"]
            if malloc == "tuned":
                impls += [f"geolearn[{v}]" for v in args.variant] + (
                    ["geolearn+compile"] if args.compile else []
                )
            for r in run_worker(name, malloc, impls, args.steps, args.budget):
                print(
                    f"{name:14s} {r['impl']:17s} {malloc:8s} {r['samples_per_s']:8.1f} samples/s", flush=True
                )
                rows.append(r)
        for impl in ("reference", "geolearn"):
            (r,) = run_worker(name, "tuned", [impl], 1, 0.0)
            r["malloc"] = "memory"
            print(f"{name:14s} {impl:17s} peak RSS {r['process_peak_rss_mb']:7.0f} MB", flush=True)
            rows.append(r)
    write_markdown(rows, args.out, (load0, os.getloadavg()[0]), time.time() - t0)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
