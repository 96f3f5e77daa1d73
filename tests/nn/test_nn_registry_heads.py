"""Registry, representations per encoder, shared heads, the CLI listing and the allocator tuning."""

from __future__ import annotations

import json
import platform
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from geolearn.cli import main
from geolearn.errors import OptionError
from geolearn.nn import ClassificationHead, SegmentationHead, perf, tune_cpu_allocator
from geolearn.nn import registry as reg
from geolearn.nn.contract import Encoder, Features


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Register test encoders in a copy of the registry, restored afterwards."""
    reg.list_encoders()  # built-ins registered first
    monkeypatch.setattr(reg, "_REGISTRY", dict(reg._REGISTRY))


def _register_toy(name: str) -> type[Encoder]:
    @reg.register_encoder(
        name, input_keys=("descriptor",), tasks=("classify",), representation="descriptor",
        representations=lambda task="classify": [], description="toy",
    )  # fmt: skip
    class Toy(Encoder):
        def __init__(self, local: bool = False, width: int = 3) -> None:
            super().__init__()
            self.out_channels, self.local_channels = width, 0

        def forward(self, batch):  # pragma: no cover - not called
            return Features(batch["descriptor"], None)

    return Toy


def test_register_and_create(scratch_registry: None):
    toy = _register_toy("toy")
    assert "toy" in reg.list_encoders()
    assert "toy" in reg.list_encoders("classify")
    assert "toy" not in reg.list_encoders("segment")
    enc = reg.create_encoder("toy", width=5)
    assert isinstance(enc, toy)
    assert enc.out_channels == 5
    with pytest.raises(OptionError, match="already registered"):
        _register_toy("toy")
    with pytest.raises(OptionError, match="no option depth; it takes: width"):
        reg.create_encoder("toy", depth=2)
    with pytest.raises(OptionError, match="cannot segment"):
        reg.create_encoder("toy", local=True)
    with pytest.raises(OptionError, match="does not support task 'segment'"):
        reg.get_encoder_info("toy").default_representations("segment")


def test_register_rejects_unknown_task():
    with pytest.raises(OptionError, match="task"):
        reg.register_encoder(
            "x", input_keys=(), tasks=("detect",), representation="", representations=list, description=""
        )


def test_unknown_encoder_lists_the_known_ones():
    with pytest.raises(OptionError, match="pointnet"):
        reg.create_encoder("pointnett")


def test_keys_for_task():
    info = reg.get_encoder_info("mvcnn")
    assert info.keys_for("classify") == ("views",)
    assert set(info.keys_for("segment")) == {"views", "view_face", "face_ptr", "points", "point_face"}
    assert set(reg.get_encoder_info("pointnet").keys_for("segment")) == {"points", "point_face"}


@pytest.mark.parametrize(
    ("name", "task", "kwargs", "expected"),
    [
        ("pointnet", "classify", {"num_points": 512}, ["Points(num_points=512, seed=0)"]),
        ("voxnet", "classify", {}, ["Voxels(resolution=32, mode='solid')"]),
        (
            "voxunet",
            "segment",
            {"resolution": 16},
            ["Voxels(resolution=16, mode='solid')", "Points(num_points=1024, seed=0)"],
        ),
        ("mvcnn", "classify", {"num_views": 6}, ["Views(num_views=6, size=64, cameras='ring')"]),
        (
            "mvcnn",
            "segment",
            {},
            ["Views(num_views=12, size=64, cameras='ring')", "Points(num_points=1024, seed=0)"],
        ),
    ],
)
def test_default_representations(name: str, task: str, kwargs: dict, expected: list[str]):
    reps = reg.get_encoder_info(name).default_representations(task, **kwargs)
    assert [repr(r) for r in reps] == expected
    info = reg.get_encoder_info(name)
    produced = {k for r in reps for k in r.keys}
    assert set(info.keys_for(task)) - {"face_ptr"} <= produced


@pytest.mark.parametrize(("name", "task"), [("descriptor", "classify"), ("face_features", "segment")])
def test_descriptor_representations(name: str, task: str):
    pytest.importorskip("geolearn.descriptors.representations")
    reps = reg.get_encoder_info(name).default_representations(task)
    produced = {k for r in reps for k in r.keys}
    assert set(reg.get_encoder_info(name).keys_for(task)) - {"face_ptr"} <= produced


def test_classification_head():
    head = ClassificationHead(10, 3)
    assert head(torch.randn(4, 10)).shape == (4, 3)
    with pytest.raises(OptionError):
        ClassificationHead(10, 1)


def test_segmentation_head_equals_concat_reference():
    """The split first layer is the shared MLP on concat(local, broadcast global)."""
    torch.manual_seed(0)
    head = SegmentationHead(5, 7, 3, hidden=(8, 6)).train()
    local, glob = torch.randn(2, 5, 11), torch.randn(2, 7)
    out = head(local, glob)
    assert out.shape == (2, 3, 11)
    first = nn.Conv1d(12, 8, 1, bias=False)
    with torch.no_grad():
        first.weight.copy_(torch.cat([head.local_proj.weight, head.global_proj.weight], 1)[..., None])
    cat = torch.cat([local, glob[:, :, None].expand(-1, -1, 11)], 1)  # (B, C_l + C, N)
    h = torch.relu(nn.functional.batch_norm(first(cat), None, None, training=True))
    ref = head.rest(h.transpose(1, 2)).transpose(1, 2)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    with pytest.raises(OptionError, match="expects local"):
        head(torch.randn(2, 4, 11), glob)


_FAULTS = """
import ctypes, importlib.util, resource, sys
if sys.argv[1] == "tuned":  # perf.py alone, without importing torch (keeps the subprocess fast)
    spec = importlib.util.spec_from_file_location("perf", sys.argv[2])
    perf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(perf)
    assert perf.tune_cpu_allocator().applied
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
faults = []
for _ in range(24):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    p = libc.malloc(64 << 20)  # 64 MiB, as one wide layer's activations
    ctypes.memset(p, 1, 64 << 20)
    libc.free(p)
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(sum(faults[-4:]))
"""


@pytest.mark.skipif(
    not (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"), reason="mallopt is glibc's"
)
def test_tune_cpu_allocator_stops_page_faults_on_reused_blocks():
    """By default every 64 MiB block is mmap'ed afresh (16k page faults each); tuned, heap blocks are
    reused once the heap has grown past the fragments small allocations leave, and the last steps
    fault no page."""
    perf_file = str(Path(perf.__file__))
    counts = {
        mode: int(
            subprocess.run(
                [sys.executable, "-c", _FAULTS, mode, perf_file], capture_output=True, text=True, check=True
            ).stdout
        )
        for mode in ("default", "tuned")
    }
    assert counts["default"] > 4 * 15000
    assert counts["tuned"] < 100


def test_tune_cpu_allocator_reports_what_it_set():
    res = tune_cpu_allocator()
    assert res == tune_cpu_allocator()  # idempotent
    on_glibc = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
    assert res.applied == on_glibc
    assert res.trim_threshold == -1
    assert res.mmap_threshold in (1 << 30, 32 << 20)


def test_cli_lists_encoders(capsys: pytest.CaptureFixture[str]):
    assert main(["encoders", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == reg.list_encoders()
    assert {r["name"]: r["representation"] for r in rows}["voxnet"] == "voxels"
    assert main(["encoders", "--task", "segment"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0].split()[:3] == ["name", "representation", "tasks"]
    assert {line.split()[0] for line in text[1:]} == set(reg.list_encoders("segment"))
