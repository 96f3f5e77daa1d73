"""Plots of results: confusion matrices, training curves, per-class histograms, 2D embeddings of
features, and segmentations rendered by part (prediction beside ground truth).

Every function writes one PNG and returns its path. Figures are drawn with matplotlib's Agg
renderer through :class:`matplotlib.figure.Figure` (no pyplot, so no global backend or figure state
is touched and nothing needs a display).

Shapes:
    confusion ``(K, K)`` (rows true, columns predicted); histograms ``(S, D)``; features ``(S, C)``;
    labels ``(S,)`` int; rendered views ``(V, H, W)``; per-face labels ``(F,)`` int.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from geolearn.errors import OptionError

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from geolearn.geometry.render import Views

__all__ = [
    "Embedding2D",
    "embed_2d",
    "part_palette",
    "plot_class_histograms",
    "plot_confusion",
    "plot_embedding",
    "plot_embedding_panels",
    "plot_segmentation",
    "plot_segmentation_rows",
    "plot_segmentation_side_by_side",
    "plot_training_curves",
    "read_history",
    "render_parts",
]

BACKGROUND = 1.0  # white behind rendered shapes
DPI = 100


# -- helpers -----------------------------------------------------------------------------------------
def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _save(fig: Figure, path: str | Path) -> Path:
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise OptionError(f"{path}: plots are written as PNG; use a .png file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=DPI)
    return path


def _names(names: Sequence[str] | None, k: int, what: str) -> list[str]:
    if names is None:
        return [str(i) for i in range(k)]
    names = [str(n) for n in names]
    if len(names) != k:
        raise OptionError(f"{what}: {len(names)} names for {k} classes")
    return names


def _labels(labels: Any, n: int, what: str) -> np.ndarray:
    lab = np.asarray(labels)
    if lab.shape != (n,) or (lab.size and not np.issubdtype(lab.dtype, np.integer)):
        raise OptionError(f"{what}: labels must be ({n},) integers, got {lab.shape} {lab.dtype}")
    return lab.astype(np.int64)


def part_palette(k: int) -> np.ndarray:
    """``(k, 3)`` float64 RGB in ``[0, 1]``: distinct colours for ``k`` labels.

    matplotlib's ``tab10`` for up to 10 labels, ``tab20`` up to 20, then evenly spaced hues in two
    lightnesses; label ``i`` always gets the same colour for a given ``k``.
    """
    from matplotlib import colormaps

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise OptionError(f"part_palette: k must be a positive int, got {k!r}")
    if k <= 10:
        return np.asarray(colormaps["tab10"].colors, dtype=np.float64)[:k]
    if k <= 20:
        return np.asarray(colormaps["tab20"].colors, dtype=np.float64)[:k]
    from matplotlib.colors import hsv_to_rgb

    hue = (np.arange(k) * 0.618033988749895) % 1.0  # golden-ratio steps: neighbours differ most
    value = np.where(np.arange(k) % 2 == 0, 0.9, 0.65)
    return hsv_to_rgb(np.stack([hue, np.full(k, 0.75), value], axis=1))


# -- confusion matrix ----------------------------------------------------------------------------------
def plot_confusion(
    confusion: Any,
    names: Sequence[str] | None,
    path: str | Path,
    *,
    title: str | None = None,
    annotate: bool | None = None,
) -> Path:
    """Confusion matrix as an image: colour = fraction of each TRUE class (row-normalised), text =
    the raw entry (counts, or percentages of the row for non-integer weights such as face areas).

    Args:
        confusion: ``(K, K)`` counts or weights; rows true class, columns predicted.
        names: K class names (``None``: 0..K-1).
        path: the PNG to write.
        title: drawn above; the share of all entries on the diagonal (overall accuracy, or for
            area-weighted matrices the pooled labelled-area fraction) is appended.
        annotate: write the entries in the cells (default: when K <= 20).
    """
    c = np.asarray(confusion, dtype=np.float64)
    if (
        c.ndim != 2
        or c.shape[0] != c.shape[1]
        or c.shape[0] == 0
        or not np.isfinite(c).all()
        or (c < 0).any()
    ):
        raise OptionError(f"plot_confusion: need a (K, K) non-negative finite matrix, got shape {c.shape}")
    k = c.shape[0]
    labels = _names(names, k, "plot_confusion")
    rows = c.sum(axis=1, keepdims=True)
    frac = np.divide(c, rows, out=np.zeros_like(c), where=rows > 0)  # (K, K) row-normalised
    integer = bool(np.all(c == np.round(c)))
    size = min(14.0, 2.5 + 0.45 * k)
    fig = _figure(size + 1.2, size)
    ax = fig.add_subplot()
    im = ax.imshow(frac, cmap="Blues", vmin=0.0, vmax=1.0)
    fig.colorbar(im, ax=ax, shrink=0.8, label="fraction of the true class")
    ax.set_xticks(range(k), labels, rotation=60, ha="right", fontsize=8 if k > 12 else 9)
    ax.set_yticks(range(k), labels, fontsize=8 if k > 12 else 9)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if annotate if annotate is not None else k <= 20:
        for i in range(k):
            for j in range(k):
                if c[i, j] > 0:
                    text = f"{int(c[i, j])}" if integer else f"{100 * frac[i, j]:.0f}%"
                    ax.text(
                        j,
                        i,
                        text,
                        ha="center",
                        va="center",
                        fontsize=7 if k > 12 else 8,
                        color="white" if frac[i, j] > 0.6 else "black",
                    )
    total = c.sum()
    acc = float(np.trace(c) / total) if total > 0 else math.nan
    ax.set_title(f"{title + ' — ' if title else ''}{acc:.1%} on the diagonal", fontsize=10)
    return _save(fig, path)


# -- training curves -----------------------------------------------------------------------------------
def read_history(run_dir: str | Path) -> list[dict[str, Any]]:
    """The per-epoch rows of ``RUN_DIR/metrics.json`` (see :mod:`geolearn.train.rundir`).

    Raises:
        OptionError: the file is missing or is not a list of rows.
    """
    path = Path(run_dir) / "metrics.json"
    try:
        rows = json.loads(path.read_text())
    except OSError as exc:
        raise OptionError(f"{path}: cannot read the training history ({exc.strerror or exc})") from exc
    except ValueError as exc:
        raise OptionError(f"{path}: not valid JSON ({exc})") from exc
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "epoch" in r for r in rows):
        raise OptionError(f"{path}: expected a list of per-epoch rows")
    return rows


def plot_training_curves(
    histories: Mapping[str, Sequence[Mapping[str, Any]]],
    path: str | Path,
    *,
    metric: str | None = None,
    title: str | None = None,
) -> Path:
    """Loss (train solid, validation dashed) and a validation metric per epoch, one colour per run.

    Args:
        histories: run name → its rows (:func:`read_history`): ``epoch``, ``train/loss``,
            ``val/loss``, ``val/<metric>``.
        path: the PNG to write.
        metric: the validation metric of the right panel (default ``miou`` when present, else
            ``accuracy``).
        title: drawn above.
    """
    if not histories or any(len(rows) == 0 for rows in histories.values()):
        raise OptionError("plot_training_curves: need at least one run with at least one epoch")
    if metric is None:
        has_miou = any("val/miou" in r for rows in histories.values() for r in rows)
        metric = "miou" if has_miou else "accuracy"
    fig = _figure(11.0, 4.2)
    ax_loss, ax_metric = fig.subplots(1, 2)
    palette = part_palette(max(len(histories), 1))
    for color, (name, rows) in zip(palette, histories.items(), strict=True):
        epochs = np.array([int(r["epoch"]) + 1 for r in rows])
        for key, style, label in (("train/loss", "-", f"{name} train"), ("val/loss", "--", f"{name} val")):
            y = np.array([_float(r.get(key)) for r in rows])
            if np.isfinite(y).any():
                ax_loss.plot(epochs, y, style, color=color, marker="o", markersize=3, label=label)
        y = np.array([_float(r.get(f"val/{metric}")) for r in rows])
        if np.isfinite(y).any():
            ax_metric.plot(epochs, y, "-", color=color, marker="o", markersize=3, label=name)
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("cross-entropy loss")
    ax_loss.set_title("loss (solid: train, dashed: validation)", fontsize=10)
    ax_loss.legend(fontsize=7, ncols=2)
    shown = {"miou": "mean IoU", "mean_class_accuracy": "mean class accuracy"}.get(
        metric, metric.replace("_", " ")
    )
    ax_metric.set_xlabel("epoch")
    ax_metric.set_ylabel(f"validation {shown}")
    ax_metric.set_ylim(0.0, 1.02)
    ax_metric.set_title(f"validation {shown}", fontsize=10)
    ax_metric.legend(fontsize=8)
    for ax in (ax_loss, ax_metric):
        ax.grid(alpha=0.3)
        ax.xaxis.get_major_locator().set_params(integer=True)
    if title:
        fig.suptitle(title, fontsize=11)
    return _save(fig, path)


def _float(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan


# -- per-class histograms --------------------------------------------------------------------------------
def plot_class_histograms(
    histograms: Any,
    labels: Any,
    names: Sequence[str] | None,
    path: str | Path,
    *,
    bin_edges: Any = None,
    xlabel: str = "bin",
    title: str | None = None,
) -> Path:
    """Mean histogram of each class, overlaid, with a band of ± one standard deviation.

    Args:
        histograms: ``(S, D)`` one histogram per shape (e.g. D2 shape distributions).
        labels: ``(S,)`` class index of each shape.
        names: class names (``None``: 0..K-1 for the classes present).
        path: the PNG to write.
        bin_edges: ``(D + 1,)`` edges for the x axis (default: bin index).
        xlabel, title: axis label and title.
    """
    h = np.asarray(histograms, dtype=np.float64)
    if h.ndim != 2 or h.shape[0] == 0 or h.shape[1] == 0 or not np.isfinite(h).all():
        raise OptionError(f"plot_class_histograms: need finite (S, D) histograms, got shape {h.shape}")
    lab = _labels(labels, h.shape[0], "plot_class_histograms")
    k = int(lab.max()) + 1 if names is None else len(names)
    label_names = _names(names, k, "plot_class_histograms")
    if lab.min() < 0 or lab.max() >= k:
        raise OptionError(f"plot_class_histograms: labels must be in [0, {k})")
    d = h.shape[1]
    if bin_edges is None:
        x = np.arange(d, dtype=np.float64)
    else:
        edges = np.asarray(bin_edges, dtype=np.float64)
        if edges.shape != (d + 1,):
            raise OptionError(f"plot_class_histograms: bin_edges must be ({d + 1},), got {edges.shape}")
        x = 0.5 * (edges[:-1] + edges[1:])
    fig = _figure(8.5, 4.8)
    ax = fig.add_subplot()
    palette = part_palette(k)
    for c in range(k):
        rows = h[lab == c]
        if len(rows) == 0:
            continue
        mean, std = rows.mean(axis=0), rows.std(axis=0)
        ax.plot(x, mean, color=palette[c], lw=1.6, label=f"{label_names[c]} ({len(rows)})")
        ax.fill_between(x, mean - std, mean + std, color=palette[c], alpha=0.15, lw=0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("probability per bin")
    ax.set_ylim(bottom=0.0)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, ncols=2, title="class (shapes)", title_fontsize=8)
    ax.set_title(title or "mean histogram per class (band: ± 1 std)", fontsize=10)
    return _save(fig, path)


# -- 2D embedding -------------------------------------------------------------------------------------------
class Embedding2D(NamedTuple):
    """Features projected to the plane.

    Attributes:
        points: ``(S, 2)`` float64.
        method: ``"t-SNE"`` or ``"PCA"``.
    """

    points: np.ndarray
    method: str


def embed_2d(features: Any, seed: int = 0, method: str = "auto") -> Embedding2D:
    """Project ``(S, C)`` features to ``(S, 2)``.

    ``method``: ``"tsne"`` (scikit-learn's t-SNE, perplexity ``min(30, (S-1)/3)``, PCA init,
    seeded), ``"pca"`` (centred SVD, numpy; deterministic: each component's sign makes its largest
    loading positive), or ``"auto"``: t-SNE when scikit-learn is installed and S >= 8, else PCA.
    Features are standardised per column first (constant columns are left at 0).
    """
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 2 or not np.isfinite(x).all():
        raise OptionError(f"embed_2d: need finite (S, C) features with S >= 2, got shape {x.shape}")
    if method not in ("auto", "tsne", "pca"):
        raise OptionError(f"embed_2d: method must be auto, tsne or pca, got {method!r}")
    std = x.std(axis=0)
    x = np.divide(x - x.mean(axis=0), std, out=np.zeros_like(x), where=std > 0)
    if method in ("auto", "tsne"):
        try:
            from sklearn.manifold import TSNE
        except ImportError:
            if method == "tsne":
                raise OptionError(
                    "embed_2d: method 'tsne' needs scikit-learn (pip install scikit-learn)"
                ) from None
        else:
            if method == "tsne" or x.shape[0] >= 8:
                perplexity = float(min(30.0, max(1.0, (x.shape[0] - 1) / 3.0)))
                tsne = TSNE(2, perplexity=perplexity, init="pca", random_state=int(seed))
                return Embedding2D(tsne.fit_transform(x), "t-SNE")
    return Embedding2D(_pca_2d(x), "PCA")


def _pca_2d(x: np.ndarray) -> np.ndarray:
    """``(S, 2)`` coordinates on the two leading principal axes of centred ``x`` ``(S, C)``."""
    _, _, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)  # vt (min(S,C), C)
    comps = np.zeros((2, x.shape[1]))
    comps[: min(2, len(vt))] = vt[:2]
    signs = np.sign(comps[np.arange(2), np.abs(comps).argmax(axis=1)])
    comps *= np.where(signs == 0, 1.0, signs)[:, None]
    return (x - x.mean(axis=0)) @ comps.T


def plot_embedding(
    features: Any,
    labels: Any,
    names: Sequence[str] | None,
    path: str | Path,
    *,
    seed: int = 0,
    method: str = "auto",
    title: str | None = None,
) -> Path:
    """Scatter plot of :func:`embed_2d` of ``features`` ``(S, C)``, coloured by ``labels`` ``(S,)``."""
    emb = embed_2d(features, seed=seed, method=method)
    lab = _labels(labels, emb.points.shape[0], "plot_embedding")
    k = int(lab.max()) + 1 if names is None else len(names)
    label_names = _names(names, k, "plot_embedding")
    if lab.min() < 0 or lab.max() >= k:
        raise OptionError(f"plot_embedding: labels must be in [0, {k})")
    fig = _figure(7.0, 5.6)
    ax = fig.add_subplot()
    palette = part_palette(k)
    for c in range(k):
        p = emb.points[lab == c]
        if len(p):
            ax.scatter(p[:, 0], p[:, 1], s=18, color=palette[c], label=label_names[c], alpha=0.85, lw=0)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.legend(fontsize=8, markerscale=1.5, loc="best")
    ax.set_title(
        f"{title + ' — ' if title else ''}{emb.method} of {np.asarray(features).shape[1]}-d features",
        fontsize=10,
    )
    return _save(fig, path)


def plot_embedding_panels(
    panels: Sequence[tuple[str, Any]],
    labels: Any,
    names: Sequence[str] | None,
    path: str | Path,
    *,
    seed: int = 0,
    method: str = "auto",
    title: str | None = None,
) -> Path:
    """Several feature sets of the same shapes embedded side by side (one :func:`embed_2d` each),
    coloured by the same ``labels`` ``(S,)`` — e.g. hand-crafted descriptors beside learned features.

    Args:
        panels: ``(panel title, (S, C_i) features)`` per panel; every panel has the same S shapes.
        labels: ``(S,)`` int class of every shape; names: the class names (legend).
        path: the PNG to write.
    """
    if not panels:
        raise OptionError("plot_embedding_panels: need at least one panel")
    embedded = []
    for name, feats in panels:
        x = np.asarray(feats)
        embedded.append((str(name), x.shape, embed_2d(x, seed=seed, method=method)))
    sizes = {e[2].points.shape[0] for e in embedded}
    if len(sizes) != 1:
        raise OptionError(f"plot_embedding_panels: panels hold different numbers of shapes {sorted(sizes)}")
    lab = _labels(labels, sizes.pop(), "plot_embedding_panels")
    k = int(lab.max()) + 1 if names is None else len(names)
    label_names = _names(names, k, "plot_embedding_panels")
    if lab.min() < 0 or lab.max() >= k:
        raise OptionError(f"plot_embedding_panels: labels must be in [0, {k})")
    palette = part_palette(k)
    fig = _figure(4.6 * len(embedded), 5.2)
    axes = np.atleast_1d(fig.subplots(1, len(embedded)))
    for ax, (name, shape, emb) in zip(axes, embedded, strict=True):
        for c in range(k):
            p = emb.points[lab == c]
            if len(p):
                ax.scatter(p[:, 0], p[:, 1], s=10, color=palette[c], label=label_names[c], alpha=0.8, lw=0)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{name}\n{emb.method} of {shape[1]}-d features", fontsize=10)
    from matplotlib.patches import Patch

    handles = [Patch(color=palette[c], label=label_names[c]) for c in range(k) if (lab == c).any()]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(10, len(handles)), fontsize=8)
    if title:
        fig.suptitle(title, fontsize=11)
    return _save(fig, path)


# -- segmentations ----------------------------------------------------------------------------------------
def render_parts(views: Views, face_labels: Any, palette: Any) -> np.ndarray:
    """Colour every pixel of rendered views by the label of the face it sees, shaded.

    Args:
        views: :class:`~geolearn.geometry.render.Views` of the mesh (``face_id`` and ``shading``
            ``(V, H, W)``).
        face_labels: ``(F,)`` int label of every face of that mesh.
        palette: ``(K, 3)`` RGB in ``[0, 1]``, K > every label.

    Returns:
        ``(V, H, W, 3)`` float64 RGB in ``[0, 1]``: ``palette[label] · (0.45 + 0.55·shading)`` on the
        shape, white on the background.
    """
    face = np.asarray(views.face_id)
    shading = np.asarray(views.shading, dtype=np.float64)
    labels = np.asarray(face_labels)
    pal = np.asarray(palette, dtype=np.float64)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise OptionError(
            f"render_parts: face_labels must be (F,) integers, got {labels.shape} {labels.dtype}"
        )
    if face.size and int(face.max()) >= len(labels):
        raise OptionError(
            f"render_parts: views show face {int(face.max())} but there are {len(labels)} labels"
        )
    if pal.ndim != 2 or pal.shape[1] != 3 or (labels.size and (labels.min() < 0 or labels.max() >= len(pal))):
        raise OptionError(f"render_parts: palette must be (K, 3) with K > every label, got {pal.shape}")
    hit = face >= 0
    colour = pal[labels[np.where(hit, face, 0)]]  # (V, H, W, 3)
    lit = colour * (0.45 + 0.55 * np.clip(shading, 0.0, 1.0))[..., None]
    return np.where(hit[..., None], lit, BACKGROUND)


def _legend(fig: Figure, used: np.ndarray, names: Sequence[str], palette: np.ndarray) -> None:
    from matplotlib.patches import Patch

    handles = [Patch(color=palette[i], label=names[i]) for i in used]
    fig.legend(handles=handles, loc="outside lower center", ncols=min(6, max(1, len(handles))), fontsize=8)


def _check_names(names: Sequence[str], *labels: np.ndarray) -> list[str]:
    names = [str(n) for n in names]
    for lab in labels:
        if lab.size and (lab.min() < 0 or lab.max() >= len(names)):
            raise OptionError(f"segmentation labels must be in [0, {len(names)}), found {int(lab.max())}")
    return names


def plot_segmentation(
    views: Views, face_labels: Any, names: Sequence[str], path: str | Path, *, title: str | None = None
) -> Path:
    """One row of rendered views coloured by part, with a legend of the parts shown.

    Args:
        views: rendered views ``(V, H, W)`` of the mesh.
        face_labels: ``(F,)`` label of every face.
        names: the label names (the palette has one colour per name).
        path: the PNG to write.
    """
    return plot_segmentation_rows(views, [("", face_labels)], names, path, title=title)


def plot_segmentation_rows(
    views: Views,
    rows: Sequence[tuple[str, Any]],
    names: Sequence[str],
    path: str | Path,
    *,
    title: str | None = None,
) -> Path:
    """Rendered views of one mesh, one row per labelling (e.g. ground truth, then each method).

    Args:
        views: rendered views ``(V, H, W)`` of the mesh.
        rows: ``(row label, (F,) labels of every face)`` per row; every labelling has the same F.
        names: the label names (one colour each, the same in every row).
        path: the PNG to write.
    """
    if not rows:
        raise OptionError("plot_segmentation_rows: need at least one row")
    labelled = [(str(label), np.asarray(faces)) for label, faces in rows]
    shapes = {faces.shape for _, faces in labelled}
    if len(shapes) != 1:
        raise OptionError(
            f"plot_segmentation_rows: the rows label different numbers of faces {sorted(shapes)}"
        )
    names = _check_names(names, *(faces for _, faces in labelled))
    palette = part_palette(len(names))
    images = [render_parts(views, faces, palette) for _, faces in labelled]
    v = images[0].shape[0]
    fig = _figure(2.3 * v + 0.9, 2.5 * len(images) + 0.9)
    axes = np.asarray(fig.subplots(len(images), v)).reshape(len(images), v)
    for r, (label, _) in enumerate(labelled):
        for i in range(v):
            ax = axes[r, i]
            ax.imshow(images[r][i], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if i == 0 and label:
                ax.set_ylabel(label, fontsize=9)
    face = np.asarray(views.face_id)
    shown = np.unique(face[face >= 0])
    used = np.unique(np.concatenate([faces[shown] for _, faces in labelled]))
    _legend(fig, used, names, palette)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)


def plot_segmentation_side_by_side(
    views: Views,
    predicted: Any,
    truth: Any,
    names: Sequence[str],
    path: str | Path,
    *,
    title: str | None = None,
) -> Path:
    """Rendered views coloured by the predicted parts (top row) and the true parts (bottom row).

    Args:
        views: rendered views ``(V, H, W)`` of the mesh.
        predicted, truth: ``(F,)`` labels of every face.
        names: the label names (one colour each, the same in both rows).
        path: the PNG to write.
        title: drawn above; the fraction of faces (unweighted) whose labels agree is appended.
    """
    pred, true = np.asarray(predicted), np.asarray(truth)
    if pred.shape != true.shape:
        raise OptionError(f"predicted {pred.shape} and true {true.shape} labels differ in shape")
    agree = float((pred == true).mean()) if pred.size else math.nan
    return plot_segmentation_rows(
        views,
        [("predicted", pred), ("ground truth", true)],
        names,
        path,
        title=f"{title + ' — ' if title else ''}{agree:.1%} of faces labelled correctly",
    )
