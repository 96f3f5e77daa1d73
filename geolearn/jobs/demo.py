"""``geolearn demo``: the comparison on the embedded dataset, with pictures, in a few CPU minutes.

No download and no argument: on the embedded shapes (8 classes of part-labelled objects generated
in code) it runs :func:`geolearn.jobs.compare.compare` twice —

- **classify**: PointNet, VoxNet, MVCNN and the D2 shape distribution through the same head,
  plus Osada's 1-nearest-neighbour D2 baseline;
- **segment** (4 of the classes, 13 part labels): PointNet and the hand-crafted per-face features
  through the same head —

then draws the pictures: a confusion matrix per method, the training curves, the D2 histograms
per class, a 2D embedding of the best classifier's features, and a rendered segmentation
prediction beside the ground truth. Everything goes to ``OUT`` (``demo.md`` links it all).

The budget (:data:`PLANS`) is chosen so that the whole job — preprocessing included — takes at
most 5 minutes of wall time on 2 CPU cores (see ``experiments/README.md`` for the measurements);
``quick`` is a much smaller budget for tests (well under a minute). Numbers from such a small
budget are indicative only, and the printed table says so.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from geolearn.errors import OptionError
from geolearn.jobs.compare import Budget, Comparison, compare
from geolearn.jobs.report import provenance

if TYPE_CHECKING:
    import torch


__all__ = ["PLANS", "SEGMENT_CLASSES", "DemoPlan", "DemoResult", "run_demo"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoPlan:
    """The budget of a demo.

    Attributes:
        classify_methods, segment_methods: the methods compared (see :mod:`geolearn.jobs.compare`).
        classify_shapes, segment_shapes: embedded shapes per class in each split.
        segment_classes: the embedded classes segmented (all 8 are classified).
        target_faces: faces per generated shape.
        epochs, batch_size, lr: the shared training options (classification).
        segment_epochs, segment_batch_size: the same for segmentation.
        budget: representation sizes.
    """

    classify_methods: tuple[str, ...]
    segment_methods: tuple[str, ...]
    classify_shapes: dict[str, int]
    segment_shapes: dict[str, int]
    segment_classes: tuple[str, ...]
    target_faces: int
    epochs: int
    segment_epochs: int
    batch_size: int
    segment_batch_size: int
    lr: float
    budget: Budget


#: The embedded classes the demo segments: 13 part labels, from 2 (mug) to 4 parts per class.
SEGMENT_CLASSES = ("airplane", "chair", "lamp", "mug")

PLANS: dict[str, DemoPlan] = {
    # Sized from measurements on 2 cores (experiments/README.md, "The demo budget"): preprocessing
    # takes seconds except the per-face features; training dominates, PointNet and MVCNN most.
    # 16 training shapes per class, 512 points, 24³ voxels or 6 views of 32² and 10 epochs are
    # enough for every encoder to separate the 8 embedded classes. Segmentation is of 4 classes
    # (13 part labels: airplane, chair, lamp, mug), one model for all of them; it needs more
    # optimiser steps, hence batch 8 and 15 epochs on 16 shapes per class. With one torch thread
    # (``geolearn demo --threads``) the whole demo takes about 2-3 minutes on a busy 2-core machine.
    "full": DemoPlan(
        classify_methods=("pointnet", "voxnet", "mvcnn", "d2"),
        segment_methods=("pointnet", "face_features"),
        classify_shapes={"train": 16, "val": 4, "test": 10},
        segment_shapes={"train": 16, "val": 1, "test": 4},
        segment_classes=SEGMENT_CLASSES,
        target_faces=800,
        epochs=10,
        segment_epochs=15,
        batch_size=16,
        segment_batch_size=8,
        lr=2e-3,
        budget=Budget(
            num_points=512,
            resolution=24,
            num_views=6,
            image_size=32,
            descriptor_samples=2**15,
            descriptor_bins=64,
        ),
    ),
    # For the tests: every step of the full demo, on a handful of small shapes.
    "quick": DemoPlan(
        classify_methods=("pointnet", "d2"),
        segment_methods=("pointnet", "face_features"),
        classify_shapes={"train": 3, "val": 1, "test": 2},
        segment_shapes={"train": 2, "val": 1, "test": 1},
        segment_classes=SEGMENT_CLASSES,
        target_faces=400,
        epochs=2,
        segment_epochs=2,
        batch_size=8,
        segment_batch_size=8,
        lr=2e-3,
        budget=Budget(
            num_points=128,
            resolution=16,
            num_views=4,
            image_size=24,
            descriptor_samples=4096,
            descriptor_bins=32,
        ),
    ),
}


@dataclass
class DemoResult:
    """What :func:`run_demo` did.

    Attributes:
        classify, segment: the two comparisons.
        figures: every PNG written (the comparisons' and the demo's own).
        plan: the budget used ("full" or "quick"); seconds: wall time of the whole demo.
        out_dir: where everything is.
    """

    classify: Comparison
    segment: Comparison
    plan: str
    out_dir: Path
    seconds: float
    figures: list[Path] = field(default_factory=list)
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "plan": self.plan,
            "budget": _plan_dict(PLANS[self.plan]),
            "out_dir": str(self.out_dir),
            "seconds": round(self.seconds, 1),
            "classify": self.classify.to_dict(),
            "segment": self.segment.to_dict(),
            "figures": [str(f) for f in self.figures],
            "provenance": self.provenance,
        }

    def to_text(self) -> str:
        parts = [self.classify.to_text(), self.segment.to_text()]
        parts.append(
            f"pictures: {len(self.figures)} PNG files under {self.out_dir} (all linked from {self.out_dir / 'demo.md'})"
        )
        p = self.provenance
        parts.append(
            f"demo took {self.seconds:.0f} s wall time ({self.plan} budget; {p.get('cpu_seconds')} s of CPU time, "
            f"{p.get('cpus')} CPUs, load average {p.get('load_average')})"
        )
        return "\n".join(parts) + "\n"


def _plan_dict(plan: DemoPlan) -> dict[str, Any]:
    d = dataclasses.asdict(plan)
    d["budget"] = dataclasses.asdict(plan.budget)
    return d


def _note(plan_name: str, shapes: dict[str, int], epochs: int) -> str:
    per_class = "/".join(str(shapes[k]) for k in ("train", "val", "test"))
    return (
        f"NOTE: small {'quick ' if plan_name == 'quick' else ''}demo budget ({per_class} train/val/test shapes per "
        f"class, {epochs} epochs): indicative only, not benchmark numbers (see experiments/)."
    )


def run_demo(
    out_dir: str | Path = "runs/demo",
    *,
    quick: bool = False,
    device: str | torch.device = "cpu",
    quiet: bool = False,
    workers: int | None = None,
) -> DemoResult:
    """Run the demo (module docstring) into ``out_dir``.

    Args:
        out_dir: where runs, tables and pictures go (created; earlier demo runs there are replaced).
        quick: the tiny test budget instead of the full one.
        device: where the models train (the budget is sized for 2 CPU cores).
        quiet: no progress output.
        workers: preprocessing processes (``None``: every CPU).
    """
    from geolearn.train.config import ExperimentConfig, TrainConfig

    started = time.perf_counter()
    plan_name = "quick" if quick else "full"
    plan = PLANS[plan_name]
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise OptionError(f"--out {out}: exists and is not a directory")
    results: dict[str, Comparison] = {}
    for task, methods, shapes, epochs, batch_size in (
        ("classify", plan.classify_methods, plan.classify_shapes, plan.epochs, plan.batch_size),
        ("segment", plan.segment_methods, plan.segment_shapes, plan.segment_epochs, plan.segment_batch_size),
    ):
        data: dict[str, Any] = {"num_per_class": dict(shapes), "target_faces": plan.target_faces}
        if task == "segment":
            data["classes"] = list(plan.segment_classes)
        base = ExperimentConfig(
            task=task,
            dataset_kwargs=data,
            # segmentation: every embedded shape's class is known, so each is scored over its own
            # class's parts, as in the LabeledDB experiments (restrict_to_category)
            train=TrainConfig(
                epochs=epochs,
                batch_size=batch_size,
                lr=plan.lr,
                seed=0,
                restrict_to_category=task == "segment",
            ),
        )
        if not quiet:
            logger.info("== %s: %s", task, ", ".join(methods))
        results[task] = compare(
            base,
            methods,
            out / task,
            budget=plan.budget,
            device=device,
            quiet=quiet,
            workers=workers,
            note=_note(plan_name, shapes, epochs),
            started=time.perf_counter(),
        )
    figures_dir = out / "figures"
    figures = [*results["classify"].figures, *results["segment"].figures]
    figures += _demo_figures(results["classify"], results["segment"], plan, figures_dir, device)
    result = DemoResult(results["classify"], results["segment"], plan_name, out, 0.0, figures)
    result.seconds = time.perf_counter() - started
    result.provenance = provenance(seed=0, started=started)
    from geolearn.train.rundir import to_json

    (out / "demo.json").write_text(json.dumps(to_json(result.to_dict()), indent=2, allow_nan=False) + "\n")
    (out / "demo.md").write_text(_markdown(result))
    return result


def _demo_figures(
    classify: Comparison, segment: Comparison, plan: DemoPlan, where: Path, device: str | torch.device
) -> list[Path]:
    """D2 histograms per class, an embedding of the best classifier's features, and a rendered
    segmentation next to the ground truth."""
    from geolearn.descriptors.distributions import MEAN_SCALED_RANGE
    from geolearn.jobs.compare import nearest_neighbour_baseline
    from geolearn.train.config import ExperimentConfig, TrainConfig
    from geolearn.viz.plots import plot_class_histograms, plot_embedding

    figures = []
    # D2 per class (training split; the baseline's descriptors are in the cache already)
    base = ExperimentConfig(
        task="classify",
        dataset_kwargs={"num_per_class": dict(plan.classify_shapes), "target_faces": plan.target_faces},
        train=TrainConfig(),
    )
    d2 = nearest_neighbour_baseline(base, plan.budget, workers=0, timing_shapes=1)
    edges = np.linspace(0.0, MEAN_SCALED_RANGE["d2"], plan.budget.descriptor_bins + 1)
    figures.append(
        plot_class_histograms(
            d2.train_descriptors,
            d2.train_labels,
            classify.names,
            where / "d2-per-class.png",
            bin_edges=edges,
            xlabel="D2: distance between two random surface points / mean distance",
            title="D2 shape distribution per class, training shapes (band: ± 1 std)",
        )
    )
    # the best learned classifier's global features on the test split
    learned = [r for r in classify.results if r.run_dir is not None and r.kind == "learned"]
    learned = learned or [r for r in classify.results if r.run_dir is not None]
    if learned:
        best = max(learned, key=lambda r: _score(r.metrics.get("accuracy")))
        feats, labels = _global_features(best.run_dir, device)
        figures.append(
            plot_embedding(
                feats,
                labels,
                classify.names,
                where / f"embedding-{best.method}.png",
                title=f"{best.method} global features, test split",
            )
        )
    # a segmentation prediction beside the ground truth
    seg = [r for r in segment.results if r.run_dir is not None]
    if seg:
        best = max(seg, key=lambda r: _score(r.metrics.get("miou")))
        figures.append(_segmentation_figure(best.run_dir, best.method, where, device))
    return figures


def _score(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and np.isfinite(value) else -1.0


def _global_features(run_dir: Path, device: str | torch.device) -> tuple[np.ndarray, np.ndarray]:
    """``(S, C)`` global features of the run's encoder and ``(S,)`` labels, test split."""
    from geolearn.jobs.analysis import split_features

    feats = split_features(run_dir, device)
    return feats.features, feats.labels


def _segmentation_figure(run_dir: Path, method: str, where: Path, device: str | torch.device) -> Path:
    """The test shape of the class with the most parts, rendered by predicted and by true part."""
    import torch

    from geolearn.datasets import collate_shapes, synthetic
    from geolearn.geometry.render import render_views
    from geolearn.jobs.analysis import open_split
    from geolearn.jobs.runs import load_model
    from geolearn.mesh import normalize
    from geolearn.train import Trainer
    from geolearn.viz.plots import plot_segmentation_side_by_side

    run, test = open_split(run_dir)
    parts = [
        len(synthetic.part_names(c)) if c in synthetic.SYNTHETIC_CLASSES else 0 for c in test.class_names
    ]
    wanted = int(np.argmax(parts))
    index = int(np.flatnonzero(test.labels == wanted)[0]) if (test.labels == wanted).any() else 0
    model = load_model(run, collate_shapes([test[index]]), device)
    trainer = Trainer(
        model, run.config.train, task="segment", run_dir=run.path, device=device, progress=False
    )
    preds = trainer.predict(torch.utils.data.Subset(test, [index]))
    mesh = test.load_mesh(index)
    assert mesh.face_labels is not None
    views = render_views(normalize(mesh, "unit_sphere"), "ring", num_views=4, size=160)
    return plot_segmentation_side_by_side(
        views,
        preds.labels.numpy(),
        mesh.face_labels,
        run.names,
        where / f"segmentation-{method}.png",
        title=f"{method} on test shape {mesh.source}",
    )


def _markdown(result: DemoResult) -> str:
    out = result.out_dir
    lines = [
        "# geolearn demo",
        "",
        f"Embedded dataset, {result.plan} budget; {result.seconds:.0f} s wall time, "
        f"{result.provenance.get('cpu_seconds')} s CPU time on {result.provenance.get('cpus')} CPUs "
        f"(load average {result.provenance.get('load_average')}), "
        f"commit `{result.provenance.get('commit')}`.",
        "",
        "Produced by:",
        "",
        f"    {result.provenance.get('command')}",
        "",
    ]
    for comp in (result.classify, result.segment):
        md = comp.to_markdown(relative_to=out).split("\n", 1)[1]  # drop the comparison's own title
        lines += [f"## {comp.task}", md]
    lines += ["## Pictures", ""]
    lines += [f"![{f.stem}]({os.path.relpath(f, out)})" for f in result.figures]
    return "\n".join(lines) + "\n"
