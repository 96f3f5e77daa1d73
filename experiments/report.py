"""Hand-crafted vs learned: one report, at a glance, from the runs of ``experiments/run_all.py``.

::

    python experiments/report.py                          # reads and writes experiments/results
    python experiments/report.py --results DIR --device cpu

Reads ``results.json`` and the run directories (best checkpoints) under ``--results`` and writes
``report.md`` there, with figures in ``figures/report-*.png``:

- classification on ModelNet10: every run's test accuracy beside Osada et al.'s 1-nearest-neighbour
  D2 baseline (L1, computed here) and the published numbers; training curves of all runs together;
  the D2 distribution of every class; t-SNE embeddings of the test shapes' hand-crafted descriptors
  beside the learned encoders' global features; links to every confusion matrix;
- segmentation on LabeledDB: per-category area-weighted face accuracy and mean IoU of every run, as
  trained (argmax over all 19 categories' parts) and with the category given (argmax over that
  category's parts: the protocol of per-category models); rendered test meshes of several
  categories, ground truth above every method's prediction.

Nothing here trains; scores of the test split are computed from the best-on-validation weights, and
the as-trained ones must equal what training reported (checked).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's geolearn, also when run from elsewhere

PUBLISHED_MODELNET10 = [
    ("3D ShapeNets (Wu et al. 2015), voxels", 83.5),
    ("VoxNet (Maturana & Scherer 2015), voxels", 92.0),
]
# categories rendered in the segmentation figure (several kinds of parts; the first test mesh of each)
SHOW_CATEGORIES = ("Airplane", "Chair", "Human", "Octopus", "Cup", "Table")


def _pct(x: Any) -> str:
    return "—" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{100 * float(x):.1f}"


def _kind(encoder: str) -> str:
    """``hand-crafted`` for the descriptor encoders (no learned features), ``learned`` otherwise."""
    from geolearn.nn import get_encoder_info

    hand_crafted = get_encoder_info(encoder).representation in ("descriptor", "face_features")
    return "hand-crafted" if hand_crafted else "learned"


def _rel(path: Path, start: Path) -> str:
    return os.path.relpath(path, start)


def classification(entries: dict[str, Any], results: Path, figures: Path, device: str) -> list[str]:
    from geolearn.descriptors.distributions import MEAN_SCALED_RANGE
    from geolearn.jobs.analysis import split_features
    from geolearn.jobs.compare import Budget, nearest_neighbour_baseline
    from geolearn.jobs.runs import read_run
    from geolearn.viz.plots import (
        plot_class_histograms,
        plot_confusion,
        plot_embedding_panels,
        plot_training_curves,
        read_history,
    )

    runs = {n: e for n, e in entries.items() if e.get("report", {}).get("task") == "classify"}
    if not runs:
        return []
    tests = sorted({e["report"]["shapes"]["test"] for e in runs.values()})
    lines = [f"## Classification: ModelNet10, official test split ({'/'.join(map(str, tests))} meshes)", ""]
    rows = []
    for name, e in sorted(runs.items(), key=lambda kv: -kv[1]["report"]["test"]["accuracy"]):
        r = e["report"]
        rows.append(
            f"| {name} | {_kind(r['encoder'])} | {_pct(r['test']['accuracy'])} | "
            f"{_pct(r['test'].get('mean_class_accuracy'))} | {_pct(r['val'].get('accuracy'))} | "
            f"{r['parameters']:,} | {r['epochs']} (best {r['best_epoch']}) | {r['seconds']['fit'] / 60:.1f} |"
        )
    # Osada's retrieval baseline on the D2 run's descriptors (train split as the gallery)
    base_run = next(
        (
            n
            for n, e in runs.items()
            if e["report"]["encoder"] == "descriptor"
            and "d2" in str(read_run(results / n).config.representation_kwargs.get("kind", ""))
        ),
        None,
    )
    baseline = None
    if base_run is not None:
        cfg = read_run(results / base_run).config
        kw = cfg.representation_kwargs
        budget = Budget(
            descriptor_samples=int(kw.get("samples", 1024**2)), descriptor_bins=int(kw.get("bins", 64))
        )
        baseline = nearest_neighbour_baseline(cfg, budget, workers=0, timing_shapes=4)
        m = baseline.result.metrics
        rows.append(
            f"| osada-d2 (1-NN, L1; gallery = train split) | hand-crafted | {_pct(m['accuracy'])} | "
            f"{_pct(m['mean_class_accuracy'])} | — | 0 | — | 0 |"
        )
    for paper, acc in PUBLISHED_MODELNET10:
        rows.append(f"| *published:* {paper} | learned | {acc:.1f} | — | — | — | — | — |")
    lines += [
        "| experiment | kind | test accuracy % | mean class acc. % | val accuracy % | parameters | epochs | fit min |",
        "|:---|:---|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        "Published numbers are on the full 908-mesh test split at the original resolution, with the authors' "
        "own preprocessing (and, for VoxNet, 12 rotations of every training shape and voting over rotations "
        "at test time; we use neither). Ours are on the 899 test meshes of `ModelNet10.zip` (72 of the "
        "largest official meshes are missing from it; meshes above 2000 faces were quadric-decimated, "
        "surface error under 1 % of the diagonal for 99 % of them, see `../shared/data/README.md`). "
        "On ModelNet40 (not shipped) the papers report MVCNN 90.1 %, PointNet 89.2 %, DGCNN 92.9 %. "
        "Validation is 20 % of the training split (seeded, stratified); the test split is scored once, with the "
        "best-on-validation weights.",
        "",
    ]
    # figures
    figs = []
    hist = {n: read_history(results / n) for n in runs}
    figs.append(
        (
            "training curves (validation accuracy right)",
            plot_training_curves(hist, figures / "report-classify-curves.png", title="ModelNet10: all runs"),
        )
    )
    test_labels = None
    panels = []
    if baseline is not None:
        names = read_run(results / base_run).names
        edges = np.linspace(0.0, MEAN_SCALED_RANGE["d2"], baseline.train_descriptors.shape[1] + 1)
        figs.append(
            (
                "D2 per class",
                plot_class_histograms(
                    baseline.train_descriptors,
                    baseline.train_labels,
                    names,
                    figures / "report-d2-per-class.png",
                    bin_edges=edges,
                    xlabel="D2: distance between two random surface points / mean distance",
                    title="ModelNet10 D2 shape distribution per class, training split (band: ± 1 std)",
                ),
            )
        )
        figs.append(
            (
                "confusion of osada-d2 1-NN",
                plot_confusion(
                    baseline.result.metrics["confusion"],
                    names,
                    figures / "report-osada-d2-confusion.png",
                    title="osada-d2 (1-NN, L1), test split",
                ),
            )
        )
        test_labels = baseline.test_labels
    class_names = None
    order = sorted(runs, key=lambda n: (_kind(runs[n]["report"]["encoder"]) == "learned", n))
    sources = None
    for name in order:
        f = split_features(results / name, device)
        if sources is not None and f.sources != sources:
            raise SystemExit(f"report.py: {name}: its test split lists other shapes than the other runs'")
        sources, class_names = f.sources, f.class_names
        if test_labels is not None and not np.array_equal(f.labels, test_labels):
            raise SystemExit(f"report.py: {name}: test labels differ from the baseline's")
        test_labels = f.labels
        if _kind(runs[name]["report"]["encoder"]) == "learned":
            panels.append((f"{name}: learned global features", f.features))
        else:  # a descriptor encoder's features are the standardised descriptor itself
            panels.append((f"{name}: the hand-crafted descriptor", f.features))
    figs.append(
        (
            "embeddings",
            plot_embedding_panels(
                panels,
                test_labels,
                class_names,
                figures / "report-classify-embeddings.png",
                title="ModelNet10 test shapes: hand-crafted descriptors beside learned features",
            ),
        )
    )
    lines += ["### Figures", ""]
    for what, path in figs:
        lines += [f"**{what}**", "", f"![{what}]({_rel(path, results)})", ""]
    conf = [f"[{n}]({_rel(results / 'figures' / f'{n}-confusion.png', results)})" for n in sorted(runs)]
    lines += ["Confusion matrices (test split): " + ", ".join(conf) + ".", ""]
    return lines


def segmentation(entries: dict[str, Any], results: Path, figures: Path, device: str) -> list[str]:
    from geolearn.geometry.render import render_views
    from geolearn.jobs.analysis import category_scores, face_predictions
    from geolearn.mesh import normalize
    from geolearn.viz.plots import plot_segmentation_rows, plot_training_curves, read_history

    runs = {n: e for n, e in entries.items() if e.get("report", {}).get("task") == "segment"}
    if not runs:
        return []
    order = sorted(runs, key=lambda n: -runs[n]["report"]["test"]["miou"])
    preds, scores, restricted = {}, {}, {}
    for name in order:
        p = face_predictions(results / name, device)
        cats = tuple(p.data.class_names)
        k = len(p.run.names)
        scores[name] = category_scores(p.predicted, p.truth, p.areas, p.categories, cats, k)
        restricted[name] = category_scores(p.predicted_in_category, p.truth, p.areas, p.categories, cats, k)
        reported = runs[name]["report"]["test"]
        for key in ("accuracy", "miou"):
            if abs(scores[name]["all"][key] - reported[key]) > 1e-5:
                raise SystemExit(
                    f"report.py: {name}: test {key} {scores[name]['all'][key]:.6f} here but "
                    f"{reported[key]:.6f} when trained — the run directory and results.json disagree"
                )
        preds[name] = p
    first = preds[order[0]]
    cats = tuple(first.data.class_names)
    lines = [
        f"## Segmentation: LabeledDB, official split ({len(first.truth)} test meshes, {len(cats)} categories)",
        "",
        "One model per method for all categories (label space: the union of the categories' parts, "
        "namespaced `<Category>/<part>`). Scores: area-weighted per-face accuracy (mean over shapes) and mean "
        "IoU (area-weighted, pooled over the split; mean over the parts present). The configs train and score "
        "with the category given (`restrict_to_category`: each shape's loss and prediction range over its own "
        "category's parts — the protocol of per-category models such as Kalogerakis et al. 2010's); rows "
        "ending in `-first-run` were trained over all parts of all categories. **as trained** is what "
        "training reported; **category given** restricts every run's argmax to the shape's category after the "
        "fact (the same numbers for runs trained that way). **with test-time augmentation**: runs trained with the "
        "`symmetry` augmentation scored again by `geolearn eval --tta`, each prediction averaged over the poses "
        "that augmentation drew; **smoothed**: every segmentation run scored again by `geolearn eval --smooth`, "
        "each mesh's per-face probabilities smoothed over its faces (label propagation stopping at concave "
        "creases), and **TTA + smoothed** both (run_all.py records them). **95 % interval**: where the "
        "category-given accuracy could land with other test meshes of the same categories (percentile bootstrap "
        "over the test meshes, resampled within each category, 2000 resamples, seed 0): with 4 test meshes "
        "per category, differences well inside it are not evidence.",
        "",
        "| experiment | kind | accuracy % (as trained) | mIoU % (as trained) | accuracy % (category given) "
        "| mIoU % (category given) | 95 % interval of the accuracy | mean over categories: acc. % / mIoU % "
        "(category given) | epochs | fit min | with test-time augmentation: acc. % / mIoU % | smoothed "
        "| TTA + smoothed |",
        "|:---|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name in order:
        r = runs[name]["report"]
        s, c = scores[name]["all"], restricted[name]["all"]
        cm = restricted[name]["category_mean"]
        lines.append(
            f"| {name} | {_kind(r['encoder'])} | {_pct(s['accuracy'])} | {_pct(s['miou'])} | "
            f"{_pct(c['accuracy'])} | {_pct(c['miou'])} | {_interval(preds[name])} | "
            f"{_pct(cm['accuracy'])} / {_pct(cm['miou'])} | "
            f"{r['epochs']} (best {r['best_epoch']}) | {r['seconds']['fit'] / 60:.1f} | "
            + " | ".join(_extra(runs[name], k) for k in ("tta", "smooth", "tta_smooth"))
            + " |"
        )
    lines += ["", "### Per category (category given): accuracy % / mIoU %", ""]
    lines.append("| category | test meshes | " + " | ".join(order) + " |")
    lines.append("|:---|---:|" + "---:|" * len(order))
    for cat in cats:
        row = [cat, str(restricted[order[0]][cat]["shapes"])]
        row += [f"{_pct(restricted[n][cat]['accuracy'])} / {_pct(restricted[n][cat]['miou'])}" for n in order]
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines += _ensembles(entries, results, device, restricted, cats)
    # figures: curves and rendered test meshes
    figs = [
        (
            "training curves (validation mIoU right)",
            plot_training_curves(
                {n: read_history(results / n) for n in order},
                figures / "report-segment-curves.png",
                title="LabeledDB: all runs",
            ),
        )
    ]
    names = tuple(first.run.names)
    show = [c for c in SHOW_CATEGORIES if c in cats] or list(cats[:2])  # other data: its first categories
    for cat in show:
        row = int(np.flatnonzero(first.categories == cats.index(cat))[0])  # its first test mesh
        source = first.data.sources[int(first.indices[row])]
        mesh = first.data.load_mesh(int(first.indices[row]))
        views = render_views(normalize(mesh, "unit_sphere"), "ring", num_views=4, size=160)
        rows = [("ground truth", first.truth[row])]
        for name in order:
            p = preds[name]
            if p.data.sources[int(p.indices[row])] != source:
                raise SystemExit(f"report.py: {name}: its test split lists the shapes in another order")
            acc = restricted_shape_accuracy(p, row)
            rows.append((f"{name} ({100 * acc:.0f} %)", p.predicted_in_category[row]))
        figs.append(
            (
                f"{cat}: {source.split('.zip/')[-1]}",
                plot_segmentation_rows(
                    views,
                    rows,
                    names,
                    figures / f"report-segment-{cat}.png",
                    title=f"{cat}, test mesh {Path(source).name}: ground truth, then each method "
                    "(category given; area-weighted accuracy in brackets)",
                ),
            )
        )
    lines += ["### Figures", ""]
    for what, path in figs:
        lines += [f"**{what}**", "", f"![{what}]({_rel(path, results)})", ""]
    conf = [f"[{n}]({_rel(results / 'figures' / f'{n}-confusion.png', results)})" for n in order]
    lines += ["Area-weighted confusion matrices over all parts (as trained): " + ", ".join(conf) + ".", ""]
    return lines


def _interval(p: Any) -> str:
    """The 95 % bootstrap interval of the category-given accuracy of ``p`` (face predictions), in %."""
    from geolearn.jobs.analysis import bootstrap_interval

    acc = [restricted_shape_accuracy(p, row) for row in range(len(p.truth))]
    lo, hi = bootstrap_interval(np.asarray(acc), p.categories)
    return f"{_pct(lo)}–{_pct(hi)}"


def _ensembles(
    entries: dict[str, Any], results: Path, device: str, restricted: dict[str, Any], cats: tuple[str, ...]
) -> list[str]:
    """The ensembles run_all.py scored (``experiments/ensembles``): their test scores and, per
    category, theirs beside their members' (the members' per-face probabilities averaged here again,
    checked against the recorded score)."""
    from geolearn.jobs.analysis import category_scores, face_predictions

    found = {
        n: e
        for n, e in entries.items()
        if "ensemble" in e and e.get("task") == "segment" and "test" in e.get("plain", {})
    }
    if not found:
        return []
    lines = [
        "### Ensembles",
        "",
        "Runs whose per-face probabilities are averaged (`geolearn eval RUN_DIR RUN_DIR ...`; files in "
        "`experiments/ensembles/`). *learned*: learned encoders only; *hybrid*: learned and hand-crafted "
        "features together, which does not count as a learned encoder. Category given.",
        "",
        "| ensemble | kind | members | accuracy % / mIoU % | 95 % interval of the accuracy | with TTA "
        "| smoothed | TTA + smoothed |",
        "|:---|:---|:---|---:|---:|---:|---:|---:|",
    ]
    per: dict[str, Any] = {}
    for name, e in found.items():
        members = e["ensemble"]["members"]
        p = face_predictions([results / m for m in members], device)
        k = len(p.run.names)
        per[name] = category_scores(p.predicted_in_category, p.truth, p.areas, p.categories, cats, k)
        recorded = e["plain"]["test"]
        for key in ("accuracy", "miou"):
            if abs(per[name]["all"][key] - recorded[key]) > 1e-5:
                raise SystemExit(
                    f"report.py: ensemble {name}: test {key} {per[name]['all'][key]:.6f} here but "
                    f"{recorded[key]:.6f} in results.json — the runs and results.json disagree"
                )
        lines.append(
            f"| {name} | {e['ensemble']['kind']} | {', '.join(members)} | "
            f"{_pct(recorded['accuracy'])} / {_pct(recorded['miou'])} | {_interval(p)} | "
            + " | ".join(_extra(e, k) for k in ("tta", "smooth", "tta_smooth"))
            + " |"
        )
    columns = list(found) + [m for e in found.values() for m in e["ensemble"]["members"] if m in restricted]
    columns = list(dict.fromkeys(columns))  # each member once
    table = {**per, **{m: restricted[m] for m in columns if m not in per}}
    lines += ["", "Per category (category given), each ensemble beside its members: accuracy % / mIoU %", ""]
    lines.append("| category | " + " | ".join(columns) + " |")
    lines.append("|:---|" + "---:|" * len(columns))
    for cat in cats:
        row = [cat] + [f"{_pct(table[n][cat]['accuracy'])} / {_pct(table[n][cat]['miou'])}" for n in columns]
        lines.append("| " + " | ".join(row) + " |")
    mean = ["mean over categories"] + [
        f"{_pct(table[n]['category_mean']['accuracy'])} / {_pct(table[n]['category_mean']['miou'])}"
        for n in columns
    ]
    lines += ["| " + " | ".join(mean) + " |", ""]
    return lines


def _extra(entry: dict[str, Any], key: str) -> str:
    """An extra test score run_all.py recorded (``tta``, ``smooth``, ``tta_smooth``), or a dash."""
    t = entry.get(key, {}).get("test")
    if not t:
        return "—"
    poses = entry[key]["poses"]
    return f"{_pct(t['accuracy'])} / {_pct(t['miou'])}" + (f" ({poses} poses)" if poses > 1 else "")


def restricted_shape_accuracy(p: Any, row: int) -> float:
    """Area-weighted accuracy of one shape's category-given prediction."""
    w = p.areas[row]
    return float((w * (p.predicted_in_category[row] == p.truth[row])).sum() / max(w.sum(), 1e-300))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("::")[0].strip())
    parser.add_argument("--results", type=Path, default=ROOT / "experiments" / "results")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    parser.add_argument("--only", choices=("classify", "segment"), default=None)
    args = parser.parse_args(argv)

    from geolearn.jobs.report import git_commit

    results = args.results.resolve()
    summary = results / "results.json"
    if not summary.is_file():
        raise SystemExit(f"report.py: {summary}: no results yet (run experiments/run_all.py first)")
    entries = json.loads(summary.read_text())
    figures = results / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    lines = ["# Hand-crafted vs learned: the experiments at a glance", ""]
    if args.only in (None, "classify"):
        lines += classification(entries, results, figures, args.device)
    if args.only in (None, "segment"):
        lines += segmentation(entries, results, figures, args.device)
    commits = sorted({e.get("commit", "?") for e in entries.values()})
    lines += [
        "---",
        f"Written by `python experiments/report.py` at commit `{git_commit(ROOT)}` in "
        f"{time.perf_counter() - t0:.0f} s from runs at commit(s) {', '.join(f'`{c}`' for c in commits)}; "
        "every run's exact command, seed, date and wall time are in [results.md](results.md).",
        "",
    ]
    (results / "report.md").write_text("\n".join(lines))
    print(f"report: {results / 'report.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
