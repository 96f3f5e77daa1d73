"""The DiffusionNet encoder: heat diffusion against its analytic solution and a slow reference, the
invariances it promises (rotating the shape, turning each gradient's frame), and the encoder through
train / eval / predict on the embedded default."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import trimesh

from geolearn.cli import main
from geolearn.datasets.collate import collate_shapes
from geolearn.datasets.representations import SpectralPoints
from geolearn.errors import OptionError
from geolearn.jobs.evaluate import posable
from geolearn.mesh import Mesh, normalize
from geolearn.nn import create_model
from geolearn.nn.encoders.diffusion import DiffusionBlock, DiffusionNetEncoder


def _orthogonal_basis(n: int, k: int, seed: int = 0) -> torch.Tensor:
    """``(1, n, k)`` with ``basis.T @ basis = n I`` (an eigenbasis read at area-uniform points)."""
    q, _ = torch.linalg.qr(
        torch.randn(n, k, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    )
    return (q * math.sqrt(n)).unsqueeze(0)


def test_diffusing_an_eigenfunction_scales_it_by_exp_minus_lambda_t():
    n, k, c = 200, 6, 3
    basis = _orthogonal_basis(n, k)
    evals = torch.tensor([[0.0, 1.0, 2.5, 4.0, 7.0, 11.0]], dtype=torch.float64)
    block = DiffusionBlock(c, dropout=0.0).double()
    with torch.no_grad():
        block.time.copy_(torch.tensor([0.0, 0.1, 0.5]))
    x = basis[:, :, [0, 2, 4]]  # channel j holds eigenfunction 0, 2, 4
    coef = block.diffuse(x, basis, evals)  # (1, k, C)
    diffused = torch.einsum("bnk,bkc->bnc", basis, coef)
    expect = x * torch.exp(-evals[0, [0, 2, 4]] * block.time.detach().double())
    torch.testing.assert_close(diffused, expect)


def test_block_matches_a_slow_reference():
    torch.manual_seed(0)
    n, k, c = 40, 5, 4
    basis = _orthogonal_basis(n, k, 1).float()
    grad = torch.randn(1, n, k, 2)
    evals = torch.rand(1, k) * 10
    x = torch.randn(1, n, c)
    block = DiffusionBlock(c, dropout=0.0).eval()
    with torch.no_grad():
        block.time.copy_(torch.rand(c))
        out = block(x, basis, grad, evals)
    # by hand: project, decay, reconstruct; gradients; <g, A g>; MLP; residual
    b, g_, lam, t = basis[0].double(), grad[0].double(), evals[0].double(), block.time.detach().double()
    xd = torch.zeros(n, c, dtype=torch.float64)
    gr = torch.zeros(n, c, dtype=torch.float64)
    gi = torch.zeros(n, c, dtype=torch.float64)
    for ch in range(c):
        for q in range(k):
            coef = sum(b[p, q] * x[0, p, ch].double() for p in range(n)) / n * math.exp(-lam[q] * t[ch])
            xd[:, ch] += b[:, q] * coef
            gr[:, ch] += g_[:, q, 0] * coef
            gi[:, ch] += g_[:, q, 1] * coef
    wr, wi = block.rotate_re.weight.double(), block.rotate_im.weight.double()
    ar, ai = gr @ wr.T - gi @ wi.T, gi @ wr.T + gr @ wi.T
    feats = torch.tanh(gr * ar + gi * ai)
    mlp = block.mlp.double()
    expect = x[0].double() + mlp(torch.cat([x[0].double(), xd, feats], dim=1))
    torch.testing.assert_close(out[0].double(), expect, rtol=1e-4, atol=1e-5)


def test_negative_diffusion_time_is_no_diffusion():
    block = DiffusionBlock(2, dropout=0.0)
    with torch.no_grad():
        block.time.fill_(-3.0)
    basis = _orthogonal_basis(30, 4).float()
    x = basis[:, :, :2].clone()
    coef = block.diffuse(x, basis, torch.full((1, 4), 5.0))
    torch.testing.assert_close(torch.einsum("bnk,bkc->bnc", basis, coef), x, rtol=1e-5, atol=1e-5)


def _bumpy(labels: bool = False) -> Mesh:
    s = trimesh.creation.icosphere(subdivisions=3)
    v = np.asarray(s.vertices) * [1.0, 0.7, 0.5]
    v = v + 0.3 * np.exp(-8 * ((v - [1.0, 0.0, 0.0]) ** 2).sum(1))[:, None] * [1.0, 0.0, 0.0]
    f = np.asarray(s.faces)
    lab = (v[f].mean(1)[:, 0] > 0.3).astype(np.int64) if labels else None
    return Mesh(v, f, face_labels=lab, source="bumpy")


def _batch(meshes: list[Mesh]) -> dict:
    rep = SpectralPoints(num_points=256, seed=0, k=32, hks=8)
    samples = []
    for i, m in enumerate(meshes):
        sample = {k: torch.from_numpy(v) for k, v in rep(m).items()}
        samples.append({**sample, "index": torch.tensor(i), "source": m.source})
    return collate_shapes(samples)


def _encoder(batch: dict, **kw: object) -> DiffusionNetEncoder:
    torch.manual_seed(0)
    enc = DiffusionNetEncoder(local=True, in_features=8, width=16, blocks=2, **kw)
    enc.fit_normalizer([batch])
    with torch.no_grad():
        for block in enc.blocks:
            block.time.uniform_(0.001, 0.05)  # diffuse (at the start every time is 0)
    return enc.eval()


def test_encoder_ignores_rotation_translation_and_scale_of_the_shape():
    mesh = _bumpy()
    q, _ = np.linalg.qr(np.random.default_rng(4).normal(size=(3, 3)))
    moved = Mesh(1.7 * mesh.vertices @ q.T + [0.2, -0.4, 1.0], mesh.faces, source="moved")
    batch = _batch([mesh, moved])
    enc = _encoder(batch)
    with torch.no_grad():
        feats = enc(batch)
    torch.testing.assert_close(feats.local_features[0], feats.local_features[1], rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(feats.global_features[0], feats.global_features[1], rtol=1e-3, atol=1e-3)
    # the features do depend on the geometry: another shape gives others
    other = normalize(
        Mesh(np.asarray(trimesh.creation.box().vertices), np.asarray(trimesh.creation.box().faces))
    )
    with torch.no_grad():
        far = enc(_batch([mesh, other])).global_features
    assert (far[0] - far[1]).abs().max() > 1e-2


def test_gradient_features_do_not_depend_on_each_face_frame():
    batch = _batch([_bumpy()])
    enc = _encoder(batch)
    angle = torch.rand(batch["spectral_grad"].shape[:2], generator=torch.Generator().manual_seed(1)) * 6.3
    c, s = torch.cos(angle)[..., None], torch.sin(angle)[..., None]  # (B, N, 1): one turn per point
    g = batch["spectral_grad"]
    turned = torch.stack([c * g[..., 0] - s * g[..., 1], s * g[..., 0] + c * g[..., 1]], dim=-1)
    with torch.no_grad():
        a = enc(batch).local_features
        b = enc({**batch, "spectral_grad": turned}).local_features
        # a gradient *flipped* (a reflection, not a turn) does change them: the test can fail
        flipped = enc({**batch, "spectral_grad": g * torch.tensor([1.0, -1.0])}).local_features
    torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    assert (a - flipped).abs().max() > 1e-4


def test_without_gradient_features():
    batch = _batch([_bumpy()])
    enc = _encoder(batch, gradients=False)
    assert not any("rotate" in name for name, _ in enc.named_parameters())
    with torch.no_grad():
        a = enc(batch).local_features
        b = enc({**batch, "spectral_grad": torch.zeros_like(batch["spectral_grad"])}).local_features
    torch.testing.assert_close(a, b)


def test_bad_batches_and_options():
    batch = _batch([_bumpy()])
    with pytest.raises(OptionError, match="in_features"):
        DiffusionNetEncoder(local=True)
    with pytest.raises(OptionError, match="width and blocks"):
        DiffusionNetEncoder(in_features=8, blocks=0)
    enc = _encoder(batch)
    with pytest.raises(OptionError, match="spectral_grad"):
        enc({k: v for k, v in batch.items() if k != "spectral_grad"})
    with pytest.raises(OptionError, match="spectral_basis"):
        enc({**batch, "spectral_basis": batch["spectral_basis"][:, :10]})
    with pytest.raises(OptionError, match="spectral_hks"):
        enc({**batch, "spectral_hks": batch["spectral_hks"][..., :4]})


def test_a_model_learns_parts_no_coordinate_could_tell_it():
    """Two parts of the bumpy ellipsoid (the bump's side vs the rest) from the intrinsic inputs only."""
    batch = _batch([_bumpy(labels=True)])
    from geolearn.datasets.representations import FaceLabels

    labels = torch.from_numpy(FaceLabels()(_bumpy(labels=True))["face_labels"])[batch["point_face"]]
    torch.manual_seed(0)
    model = create_model("diffusionnet", "segment", num_classes=2, example_batch=batch, width=32, blocks=2)
    model.fit_normalizer([batch])
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    for _ in range(60):
        loss = torch.nn.functional.cross_entropy(model(batch), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(batch).argmax(1) == labels).float().mean().item()
    assert acc > 0.95


def test_tta_has_nothing_to_pose():
    assert not posable({"spectral_hks": torch.zeros(1), "points": torch.zeros(1)})
    assert posable({"points": torch.zeros(1)})


@pytest.fixture
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GEOLEARN_CACHE", str(tmp_path / "cache"))


@pytest.mark.usefixtures("_cache")
def test_train_eval_predict_on_the_embedded_default(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["train", "--task", "segment", "--encoder", "diffusionnet", "--epochs", "2", "--max-shapes", "6"]
    args += ["--batch-size", "3", "--set", "representation_kwargs={num_points: 128, k: 16, hks: 8}"]
    args += ["--set", "model_kwargs={width: 16, blocks: 2}", "--out", str(out), "--quiet", "--json"]
    assert main(args) == 0, capsys.readouterr().err
    report = json.loads(capsys.readouterr().out)
    assert 0.0 <= report["test"]["accuracy"] <= 1.0 and report["epochs"] == 2
    assert main(["eval", str(out), "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["metrics"]["accuracy"] == pytest.approx(report["test"]["accuracy"])
    assert main(["eval", str(out), "--tta", "--json"]) == 2
    assert "orientation-free" in capsys.readouterr().err

    # predict on a mesh file: the labels the trainer gives the dataset's own sample of that shape
    from geolearn.datasets import collate_shapes
    from geolearn.jobs.runs import load_model, read_run
    from geolearn.jobs.training import experiment_representations, open_splits
    from geolearn.train import Trainer

    run = read_run(out)
    test = open_splits(run.config, experiment_representations(run.config), names=("test",), workers=0)
    test = test.datasets["test"]
    mesh = test.load_mesh(0)
    path = tmp_path / "shape.obj"
    trimesh.Trimesh(mesh.vertices, mesh.faces, process=False).export(path)
    code = main(["predict", str(out), str(path), "-o", str(tmp_path / "pred"), "--json", "--views", "2"])
    assert code == 0, capsys.readouterr().err
    labels = np.asarray(json.loads(capsys.readouterr().out)["predictions"][0]["face_labels"])
    model = load_model(run, collate_shapes([test[0]]), "cpu")
    trainer = Trainer(model, run.config.train, task="segment", run_dir=run.path, device="cpu", progress=False)
    expected = trainer.predict(torch.utils.data.Subset(test, [0])).labels.numpy()
    np.testing.assert_array_equal(labels, expected)
