"""Running a trained model on mesh files: the class of each mesh, or the part label of each face.

``geolearn predict RUN_DIR MESH...`` loads each mesh (any format :func:`geolearn.load_mesh` reads,
inside a zip too), computes the representations the run's encoder reads exactly as training did
(normalised to the unit sphere, same parameters), and runs the model with the run's best weights.

- **classify**: the predicted class of each mesh, its softmax probability and the ``top`` classes.
- **ensemble**: with ``ensemble`` runs besides ``run_dir``, every run predicts with its own
  representation and weights and their class or per-face probabilities are averaged (as
  ``geolearn eval RUN_DIR RUN_DIR...`` scores them).
- **segment**: a label per face (point predictions pooled to faces as in training,
  :func:`geolearn.nn.pooling.points_to_faces`), the share of the surface area given to each part, a
  PLY of the mesh coloured by part (:func:`geolearn.io.export.write_segmentation_ply`, in the
  mesh's own coordinates) and a PNG of a few rendered views coloured by part
  (:func:`geolearn.viz.plots.plot_segmentation`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from geolearn.datasets.base import ShapeDataset, ShapeItem
from geolearn.errors import OptionError
from geolearn.jobs.runs import load_model, read_run
from geolearn.jobs.training import experiment_representations
from geolearn.mesh import Mesh

if TYPE_CHECKING:
    import torch

__all__ = [
    "ClassPrediction",
    "FaceGeometry",
    "MeshList",
    "PredictResult",
    "SegmentPrediction",
    "predict_meshes",
]


class FaceGeometry:
    """The per-face geometry segmentation pools predictions with, for meshes without labels.

    Returns:
        ``face_areas (F,) float32``, ``face_centroids (F, 3) float32`` (in the frame of the mesh it
        is called on: the datasets call it on the unit-sphere-normalised mesh).
    """

    keys: ClassVar[tuple[str, ...]] = ("face_areas", "face_centroids")

    def __repr__(self) -> str:
        return "FaceGeometry()"

    def __call__(self, mesh: Mesh) -> dict[str, np.ndarray]:
        return {
            "face_areas": mesh.face_areas.astype(np.float32),
            "face_centroids": mesh.face_centroids.astype(np.float32),
        }


class MeshList(ShapeDataset):
    """A dataset of meshes already in memory (no labels, no cache; representations computed once).

    Args:
        meshes: the meshes; each sample's ``source`` is its mesh's ``source``.
        representations: see :mod:`geolearn.datasets.representations`.
        part_mask: ``(K,)`` the parts every mesh may carry, or None.
        normalization: as the run's datasets normalised their meshes (``dataset_kwargs``).
    """

    kind = "meshes"

    def __init__(
        self,
        meshes: Sequence[Mesh],
        representations: Sequence[Any],
        part_mask: np.ndarray | None = None,
        normalization: str = "unit_sphere",
    ) -> None:
        super().__init__(
            split="all",
            task="classify",
            representations=representations,
            cache=False,
            normalization=normalization,
        )
        self._given_mask = None if part_mask is None else np.asarray(part_mask, dtype=bool).reshape(1, -1)
        self._meshes = list(meshes)
        self._memo: dict[int, dict[str, np.ndarray]] = {}
        self.class_names = ("unknown",)
        self._set_items([ShapeItem(m.source, 0, (i,)) for i, m in enumerate(self._meshes)])

    @property
    def part_mask(self) -> np.ndarray | None:
        """``(1, K)``: the parts every mesh may carry (its category's, given by the caller), or None."""
        return self._given_mask

    def _read_raw(self, item: ShapeItem) -> Mesh:
        return self._meshes[item.ref[0]]

    def _digest(self, item: ShapeItem, raw: Mesh) -> str:
        from geolearn.datasets.cache import content_digest

        return content_digest(raw.vertices.tobytes(), raw.faces.tobytes())

    def _to_mesh(self, item: ShapeItem, raw: Mesh) -> Mesh:
        return raw

    def _arrays(self, item: ShapeItem) -> dict[str, np.ndarray]:
        i = item.ref[0]
        if i not in self._memo:
            self._memo[i] = self._compute(item, self._read_raw(item))
        return self._memo[i]


@dataclass
class ClassPrediction:
    """The class predicted for one mesh.

    Attributes:
        source: the mesh file.
        label: predicted class index; name: its name; probability: its softmax probability.
        top: the most probable classes, ``{"name", "probability"}``, most probable first.
    """

    source: str
    label: int
    name: str
    probability: float
    top: list[dict[str, Any]]


@dataclass
class SegmentPrediction:
    """The part labels predicted for the faces of one mesh.

    Attributes:
        source: the mesh file.
        face_labels: ``(F,)`` int64 predicted label of every face (index into the run's names).
        part_area: part name → fraction of the surface area predicted as that part (parts with none omitted).
        ply: the PLY coloured by part; image: the PNG of rendered views coloured by part.
    """

    source: str
    face_labels: np.ndarray
    part_area: dict[str, float]
    ply: Path
    image: Path


@dataclass
class PredictResult:
    """Predictions of a run for some meshes: ``classes`` (classify) or ``segments`` (segment).

    Attributes:
        run_dir, checkpoint, task, encoder, names: the run and its label names.
        classes: one :class:`ClassPrediction` per mesh for a classification run, else empty.
        segments: one :class:`SegmentPrediction` per mesh for a segmentation run, else empty.
        out_dir: where files were written (None when nothing was).
        seconds: wall time.
        members: for an ensemble, every run whose probabilities were averaged (else empty).
    """

    run_dir: Path
    checkpoint: Path
    task: str
    encoder: str
    names: list[str]
    classes: list[ClassPrediction] = field(default_factory=list)
    segments: list[SegmentPrediction] = field(default_factory=list)
    out_dir: Path | None = None
    seconds: float = 0.0
    members: list[str] = field(default_factory=list)

    def to_dict(self, face_labels: bool = True) -> dict[str, Any]:
        """JSON-ready values; ``face_labels=False`` leaves the per-face lists out."""
        out: dict[str, Any] = {
            "run_dir": str(self.run_dir),
            "checkpoint": str(self.checkpoint),
            "task": self.task,
            "encoder": self.encoder,
            "names": list(self.names),
            "out_dir": None if self.out_dir is None else str(self.out_dir),
            "seconds": self.seconds,
            "members": list(self.members),
        }
        if self.task == "classify":
            out["predictions"] = [dataclasses.asdict(p) for p in self.classes]
        else:
            out["predictions"] = [
                {
                    "source": p.source,
                    "faces": len(p.face_labels),
                    "part_area": p.part_area,
                    "ply": str(p.ply),
                    "image": str(p.image),
                    **({"face_labels": p.face_labels.tolist()} if face_labels else {}),
                }
                for p in self.segments
            ]
        return out


def _stems(paths: Sequence[str]) -> list[str]:
    """File stems, made unique (``chair``, ``chair-2``, ...)."""
    seen: dict[str, int] = {}
    out = []
    for p in paths:
        stem = Path(p).stem or "mesh"
        seen[stem] = seen.get(stem, 0) + 1
        out.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return out


def predict_meshes(
    run_dir: str | Path,
    meshes: Sequence[str | Path],
    *,
    out_dir: str | Path | None = None,
    checkpoint: str = "best",
    device: str | torch.device = "auto",
    top: int = 3,
    num_views: int = 4,
    image_size: int = 160,
    progress: bool = False,
    category: str | None = None,
    tta: bool = False,
    smooth: bool = False,
    ensemble: Sequence[str | Path] = (),
) -> PredictResult:
    """Predict with the run in ``run_dir`` on the mesh files ``meshes``.

    Args:
        run_dir: a run directory (classification or segmentation).
        meshes: mesh files (``archive.zip/member`` paths too).
        out_dir: where to write files: for segmentation ``<stem>.ply`` and ``<stem>.png`` per mesh
            (default ``RUN_DIR/predictions``); for either task ``predictions.json`` when given.
        checkpoint: ``"best"`` or ``"last"``.
        device: where the model runs.
        top: classes listed per mesh (classify).
        num_views, image_size: the rendered views of each segmentation PNG (ring 30° above the horizon).
        progress: progress bar on stderr.
        category: segmentation over several categories (labels ``"<Category>/<part>"``): the
            meshes' category; only its parts are predicted. Required for a run trained with
            ``restrict_to_category`` (it never learned to rule out other categories' parts).
        tta: average the predictions over the symmetries of the cube the run was trained with (as
            ``geolearn eval --tta``, :func:`geolearn.jobs.evaluate.symmetry_average`).
        smooth: segmentation: smooth each mesh's per-face probabilities over its faces before taking
            the most probable part (as ``geolearn eval --smooth``,
            :func:`geolearn.geometry.propagation.smooth_face_probabilities`; concave and convex read
            from the file's own face winding).
        ensemble: more run directories (same task and label names): the probabilities of all the
            runs, each with its own representation, weights and (with ``tta``) poses — one for a run
            that no pose changes (descriptors, rendered views, the spectral basis) — are averaged
            before the class or the face labels are taken. ``encoder`` then joins their encoders and
            ``members`` lists the runs.

    Raises:
        OptionError: bad run directory or option (an ensemble member of another task or with other
            labels names the member); MeshError (naming the file): a mesh cannot be read.
    """
    import torch

    from geolearn.io import load_mesh

    t0 = time.perf_counter()
    if not meshes:
        raise OptionError("give at least one mesh file")
    for name, value, lo in (("--top", top, 1), ("--views", num_views, 1), ("--image-size", image_size, 16)):
        if isinstance(value, bool) or not isinstance(value, int) or value < lo:
            raise OptionError(f"{name} must be an integer >= {lo}, got {value!r}")
    runs = [read_run(d, checkpoint) for d in [run_dir, *ensemble]]
    run, config = runs[0], runs[0].config
    for other in runs[1:]:
        if other.config.task != config.task:
            raise OptionError(
                f"--ensemble {other.path}: a {other.config.task} run, but {run.path} is a {config.task} run"
            )
        if tuple(other.names) != tuple(run.names):
            raise OptionError(f"--ensemble {other.path}: its labels differ from those of {run.path}")
    if smooth and config.task != "segment":
        raise OptionError(f"--smooth: {run.path} is a {config.task} run; smoothing is for per-face labels")
    masks = [
        _category_mask(r.names, r.config.task, r.config.train.restrict_to_category, category) for r in runs
    ]
    loaded = [load_mesh(p) for p in meshes]  # a missing or broken file fails here, named
    probs, first = None, None
    for member, mask in zip(runs, masks, strict=True):
        preds = _member_predictions(
            member, loaded, mask, device=device, progress=progress, tta=tta, posable_only=len(runs) > 1
        )
        p = torch.softmax(preds.logits.double(), dim=1)  # (S, K) or (ΣF, K), other categories' parts at 0
        if first is None:
            first, probs = preds, p
        elif not torch.equal(preds.ptr, first.ptr):  # a bug, not bad input: same meshes, same rows
            raise AssertionError(f"{member.path}: other prediction rows than {run.path}")
        else:
            probs = probs + p
    probs = probs / len(runs)
    encoder = "+".join(r.config.encoder for r in runs)
    result = PredictResult(run.path, run.checkpoint, config.task, encoder, list(run.names))
    if len(runs) > 1:
        result.members = [str(r.path) for r in runs]
    names = list(run.names)
    if config.task == "classify":
        k = min(top, probs.shape[1])
        values, indices = probs.topk(k, dim=1)
        for s, source in enumerate(first.source):
            label = int(indices[s, 0])
            result.classes.append(
                ClassPrediction(
                    source=source,
                    label=label,
                    name=names[label],
                    probability=float(values[s, 0]),
                    top=[
                        {"name": names[int(i)], "probability": float(p)}
                        for p, i in zip(values[s], indices[s], strict=True)
                    ],
                )
            )
    else:
        out = Path(out_dir) if out_dir is not None else run.path / "predictions"
        result.out_dir = out
        from geolearn.geometry.propagation import face_graph, smooth_face_probabilities

        ptr = first.ptr.tolist()
        labels = []
        for s, mesh in enumerate(loaded):
            p = probs[ptr[s] : ptr[s + 1]].numpy()  # (F, K), other categories' parts at 0
            if smooth:
                try:
                    p = smooth_face_probabilities(p, face_graph(mesh))
                except OptionError as e:  # e.g. non-finite outputs: say which mesh
                    raise OptionError(f"{mesh.source}: {e}") from e
            labels.append(p.argmax(axis=1).astype(np.int64))
        _write_segments(result, labels, loaded, names, [str(m) for m in meshes], out, num_views, image_size)
    if out_dir is not None:
        result.out_dir = Path(out_dir)
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        from geolearn.train.rundir import to_json

        (Path(out_dir) / "predictions.json").write_text(
            json.dumps(to_json(result.to_dict()), indent=2) + "\n"
        )
    result.seconds = time.perf_counter() - t0
    return result


def _member_predictions(
    run: Any,
    loaded: Sequence[Mesh],
    mask: np.ndarray | None,
    *,
    device: Any,
    progress: bool,
    tta: bool,
    posable_only: bool = False,
) -> Any:
    """``run``'s :class:`~geolearn.train.Predictions` for the meshes ``loaded`` (one row per mesh, or
    per face in mesh order), its representations computed as its training computed them; ``tta``
    (with ``posable_only``: only for a run that reads something a symmetry moves) averages poses."""
    from geolearn.datasets import collate_shapes
    from geolearn.train import Trainer

    config = run.config
    representations = experiment_representations(config)
    if config.task == "segment":
        representations.append(FaceGeometry())
    normalization = config.dataset_kwargs.get("normalization", "unit_sphere")  # as the run's data
    data = MeshList(loaded, representations, part_mask=mask, normalization=normalization)
    model = load_model(run, collate_shapes([data[0]]), device)
    from geolearn.jobs.evaluate import posable, symmetry_average

    if tta and (posable(data[0]) or not posable_only):
        model = symmetry_average(model, config, data[0], restrict=mask is not None)
    train_config = dataclasses.replace(config.train, restrict_to_category=mask is not None)
    trainer = Trainer(
        model, train_config, task=config.task, run_dir=run.path, device=device, progress=progress
    )
    preds = trainer.predict(data)
    if preds.index.tolist() != list(range(len(loaded))):  # a bug, not bad input
        raise AssertionError(f"{run.path}: predictions out of mesh order")
    return preds


def _category_mask(
    names: Sequence[str], task: str, restricted: bool, category: str | None
) -> np.ndarray | None:
    """``(K,)`` bool: the labels of ``category`` among ``names`` (namespaced ``"<Category>/<part>"``)."""
    cats = sorted({n.split("/", 1)[0] for n in names if "/" in n})
    if category is None:
        if task == "segment" and restricted and cats:
            raise OptionError(
                "this model was trained with each shape's category given (restrict_to_category); "
                f"pass --category, one of: {', '.join(cats)}"
            )
        return None
    if task != "segment":
        raise OptionError("--category applies to segmentation runs only")
    mask = np.array([n.startswith(f"{category}/") for n in names], dtype=bool)
    if not mask.any():
        have = f"one of: {', '.join(cats)}" if cats else "this run's labels are not namespaced by category"
        raise OptionError(f"--category {category!r}: no part of that category; {have}")
    return mask


def _write_segments(
    result: PredictResult,
    face_labels: Sequence[np.ndarray],
    meshes: Sequence[Mesh],
    names: list[str],
    paths: Sequence[str],
    out: Path,
    num_views: int,
    image_size: int,
) -> None:
    from geolearn.geometry.render import render_views
    from geolearn.io.export import write_segmentation_ply
    from geolearn.mesh import normalize
    from geolearn.viz.plots import plot_segmentation

    for labels, mesh, stem in zip(face_labels, meshes, _stems(paths), strict=True):
        if len(labels) != len(mesh.faces):  # a bug, not bad input
            raise AssertionError(f"{mesh.source}: {len(labels)} predictions for {len(mesh.faces)} faces")
        area = mesh.face_areas
        share = np.bincount(labels, weights=area, minlength=len(names)) / max(float(area.sum()), 1e-300)
        part_area = {names[i]: float(share[i]) for i in np.flatnonzero(share > 0)}
        ply = write_segmentation_ply(mesh, labels, names, out / f"{stem}.ply")
        views = render_views(normalize(mesh, "unit_sphere"), "ring", num_views=num_views, size=image_size)
        image = plot_segmentation(
            views,
            labels,
            names,
            out / f"{stem}.png",
            title=f"{Path(mesh.source).name}: predicted parts ({result.encoder})",
        )
        result.segments.append(SegmentPrediction(mesh.source, labels, part_area, ply, image))
