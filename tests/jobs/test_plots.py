"""``geolearn.viz.plots``: every plot writes a non-empty PNG; the numerical parts (PCA projection,
per-part colouring of rendered views) against references; bad inputs raise OptionError."""

from __future__ import annotations

import numpy as np
import pytest
from jobs_helpers import assert_png

from geolearn.errors import OptionError
from geolearn.geometry.render import Views
from geolearn.viz import plots


def _views(face_id: np.ndarray) -> Views:
    v = face_id.shape[0]
    shading = np.where(face_id >= 0, 1.0, 0.0).astype(np.float32)
    return Views(np.zeros_like(shading), shading, face_id.astype(np.int64), np.ones((v, 3)))


def test_confusion_plot(tmp_path):
    c = np.array([[5, 1, 0], [0, 3, 2], [1, 0, 4]])
    assert_png(plots.plot_confusion(c, ["a", "b", "c"], tmp_path / "c.png", title="t"))
    weights = np.random.default_rng(0).random((25, 25))  # area-weighted, many classes
    assert_png(plots.plot_confusion(weights, [f"part{i}" for i in range(25)], tmp_path / "w.png"))
    with pytest.raises(OptionError, match="2 names for 3 classes"):
        plots.plot_confusion(c, ["a", "b"], tmp_path / "x.png")
    with pytest.raises(OptionError, match=r"\(K, K\)"):
        plots.plot_confusion(np.ones((2, 3)), None, tmp_path / "x.png")
    with pytest.raises(OptionError, match="PNG"):
        plots.plot_confusion(c, None, tmp_path / "x.jpg")


def test_training_curves(tmp_path):
    rows = [
        {
            "epoch": e,
            "train/loss": 2.0 / (e + 1),
            "val/loss": 2.2 / (e + 1),
            "val/accuracy": e / 5,
            "lr": 1e-3,
        }
        for e in range(5)
    ]
    seg = [{"epoch": 0, "train/loss": 1.0, "val/loss": None, "val/miou": 0.3}]
    assert_png(plots.plot_training_curves({"a": rows, "b": rows[:3]}, tmp_path / "c.png"))
    assert_png(plots.plot_training_curves({"s": seg}, tmp_path / "s.png"))
    with pytest.raises(OptionError, match="at least one epoch"):
        plots.plot_training_curves({"a": []}, tmp_path / "x.png")
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "metrics.json").write_text('[{"epoch": 0, "train/loss": 1.0}]')
    assert plots.read_history(tmp_path / "run") == [{"epoch": 0, "train/loss": 1.0}]
    with pytest.raises(OptionError, match=r"metrics\.json: cannot read"):
        plots.read_history(tmp_path)


def test_class_histograms(tmp_path):
    rng = np.random.default_rng(1)
    h = rng.random((12, 16))
    h /= h.sum(axis=1, keepdims=True)
    labels = np.repeat(np.arange(3), 4)
    edges = np.linspace(0, 3, 17)
    assert_png(plots.plot_class_histograms(h, labels, ["x", "y", "z"], tmp_path / "h.png", bin_edges=edges))
    with pytest.raises(OptionError, match="bin_edges"):
        plots.plot_class_histograms(h, labels, None, tmp_path / "h.png", bin_edges=edges[:-1])
    with pytest.raises(OptionError, match="labels must be"):
        plots.plot_class_histograms(h, labels[:-1], None, tmp_path / "h.png")


def test_pca_embedding_against_the_covariance_eigenvectors():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(50, 4)) * np.array([5.0, 2.0, 0.5, 0.1]) + 3.0
    emb = plots.embed_2d(x, method="pca")
    assert emb.method == "PCA" and emb.points.shape == (50, 2)
    # reference: eigenvectors of the covariance of the standardised features
    z = (x - x.mean(0)) / x.std(0)
    w, v = np.linalg.eigh(np.cov(z.T))
    top = v[:, np.argsort(w)[::-1][:2]]  # (4, 2)
    ref = z @ top
    for k in range(2):  # equal up to the sign of each axis
        corr = np.corrcoef(ref[:, k], emb.points[:, k])[0, 1]
        assert abs(corr) == pytest.approx(1.0, abs=1e-9)
    # deterministic sign: the largest loading of each axis is positive
    again = plots.embed_2d(x[::-1], method="pca").points[::-1]
    np.testing.assert_allclose(again, emb.points, atol=1e-9)


def test_embedding_plot(tmp_path):
    rng = np.random.default_rng(3)
    feats = np.concatenate([rng.normal(0, 1, (10, 8)), rng.normal(4, 1, (10, 8))])
    labels = np.repeat([0, 1], 10)
    assert_png(plots.plot_embedding(feats, labels, ["a", "b"], tmp_path / "e.png", method="pca"))
    assert_png(plots.plot_embedding(feats, labels, ["a", "b"], tmp_path / "auto.png"))
    with pytest.raises(OptionError, match="S >= 2"):
        plots.embed_2d(np.ones((1, 3)))


def test_embedding_panels(tmp_path):
    rng = np.random.default_rng(5)
    labels = np.repeat([0, 1, 2], 8)
    a = rng.normal(size=(24, 6)) + labels[:, None]
    b = rng.normal(size=(24, 3))
    path = plots.plot_embedding_panels(
        [("hand-crafted", a), ("learned", b)], labels, ["x", "y", "z"], tmp_path / "p.png", method="pca"
    )
    assert_png(path)
    with pytest.raises(OptionError, match="different numbers of shapes"):
        plots.plot_embedding_panels([("a", a), ("b", b[:10])], labels, None, tmp_path / "q.png", method="pca")
    with pytest.raises(OptionError, match="at least one panel"):
        plots.plot_embedding_panels([], labels, None, tmp_path / "q.png")
    with pytest.raises(OptionError, match=r"labels must be in \[0, 2\)"):
        plots.plot_embedding_panels([("a", a)], labels, ["x", "y"], tmp_path / "q.png", method="pca")


def test_tsne_when_scikit_learn_is_installed():
    pytest.importorskip("sklearn")
    feats = np.random.default_rng(4).normal(size=(20, 5))
    assert plots.embed_2d(feats, method="tsne").method == "t-SNE"


def test_render_parts_colours_each_pixel_by_its_face_label():
    face_id = np.array([[[-1, 0], [1, 2]]])  # (1, 2, 2)
    views = _views(face_id)
    palette = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    labels = np.array([2, 0, 0])  # faces 0..2 → parts
    img = plots.render_parts(views, labels, palette)
    assert img.shape == (1, 2, 2, 3)
    np.testing.assert_allclose(img[0, 0, 0], 1.0)  # background: white
    np.testing.assert_allclose(img[0, 0, 1], palette[2])  # face 0 → part 2, fully lit
    np.testing.assert_allclose(img[0, 1, 0], palette[0])
    half = _views(face_id)._replace(shading=np.full((1, 2, 2), 0.5, np.float32))
    np.testing.assert_allclose(
        plots.render_parts(half, labels, palette)[0, 1, 1], palette[0] * (0.45 + 0.275)
    )
    with pytest.raises(OptionError, match="views show face 2"):
        plots.render_parts(views, labels[:2], palette)


def test_segmentation_plots(tmp_path):
    import trimesh

    from geolearn.geometry.render import render_views
    from geolearn.mesh import Mesh, normalize

    box = trimesh.creation.box()
    mesh = normalize(Mesh(box.vertices, box.faces), "unit_sphere")
    views = render_views(mesh, "ring", num_views=3, size=48)
    truth = (mesh.face_normals[:, 2] > 0.5).astype(np.int64)  # top vs rest
    pred = np.zeros_like(truth)
    assert_png(plots.plot_segmentation(views, truth, ["side", "top"], tmp_path / "s.png", title="box"))
    assert_png(
        plots.plot_segmentation_side_by_side(views, pred, truth, ["side", "top"], tmp_path / "sbs.png")
    )
    with pytest.raises(OptionError, match=r"labels must be in \[0, 1\)"):
        plots.plot_segmentation(views, truth, ["side"], tmp_path / "s.png")
    rows = [("truth", truth), ("method a", pred), ("method b", 1 - truth)]
    assert_png(plots.plot_segmentation_rows(views, rows, ["side", "top"], tmp_path / "rows.png", title="box"))
    with pytest.raises(OptionError, match="different numbers of faces"):
        plots.plot_segmentation_rows(
            views, [("a", truth), ("b", truth[:3])], ["side", "top"], tmp_path / "r.png"
        )


@pytest.mark.parametrize("k", [1, 8, 10, 11, 20, 27])
def test_part_palette_is_distinct(k):
    p = plots.part_palette(k)
    assert p.shape == (k, 3) and p.min() >= 0 and p.max() <= 1
    assert len({tuple(np.round(c, 3)) for c in p}) == k
