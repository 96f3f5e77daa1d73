"""Contract tests over the whole encoder registry × task: a newly registered encoder is tested here
automatically (add small options for it to ``nn_batches.TINY_KWARGS`` if its defaults are slow)."""

from __future__ import annotations

import math

import pytest
import torch
from nn_batches import TINY_KWARGS, synthetic_batch
from torch import nn
from torch.nn import functional as F

from geolearn.datasets.collate import move_batch
from geolearn.errors import OptionError
from geolearn.nn import Features, create_encoder, create_model, get_encoder_info, list_encoders
from geolearn.nn.pooling import packed_face_index

CASES = [(name, task) for name in list_encoders() for task in sorted(get_encoder_info(name).tasks)]
IDS = [f"{n}-{t}" for n, t in CASES]


def _model(name: str, task: str, batch: dict, num_classes: int, **kw: object) -> nn.Module:
    return create_model(
        name, task, num_classes=num_classes, example_batch=batch, **TINY_KWARGS.get(name, {}), **kw
    )


def _target(batch: dict, task: str) -> torch.Tensor:
    return batch["label"] if task == "classify" else batch["point_labels"]


def test_registry_covers_every_representation():
    reps = {get_encoder_info(n).representation for n in list_encoders()}
    assert reps == {"voxels", "points", "views", "descriptor", "face_features", "spectral"}
    assert set(list_encoders("segment")) == {
        "dgcnn",
        "diffusionnet",
        "face_features",
        "mvcnn",
        "pointnet",
        "voxunet",
    }


@pytest.mark.parametrize(("name", "task"), CASES, ids=IDS)
def test_encoder_contract(name: str, task: str, device: torch.device):
    """Output shapes and dtypes, finite values, and a gradient on every parameter."""
    torch.manual_seed(0)
    batch = move_batch(synthetic_batch(2, num_classes=3), device)
    model = _model(name, task, batch, num_classes=3).to(device)
    model.fit_normalizer([batch])
    info = get_encoder_info(name)
    # the encoder reads only the keys it declares
    declared = {k: batch[k] for k in info.keys_for(task)}
    feats = model.encoder(declared)
    assert isinstance(feats, Features)
    b, n = 2, batch["points"].shape[1]
    assert feats.global_features.shape == (b, model.encoder.out_channels)
    if task == "segment":
        assert feats.local_features is not None
        assert feats.local_features.shape == (b, model.encoder.local_channels, n)
    else:
        assert feats.local_features is None
    logits = model(batch)
    assert logits.shape == ((b, 3) if task == "classify" else (b, 3, n))
    assert logits.dtype == torch.float32
    assert logits.device.type == device.type
    assert torch.isfinite(logits).all()
    F.cross_entropy(logits, _target(batch, task)).backward()
    for pname, p in model.named_parameters():
        assert p.grad is not None, f"{pname} got no gradient"
        assert torch.isfinite(p.grad).all(), f"{pname} has a non-finite gradient"
        assert p.grad.abs().sum() > 0, f"{pname} has an all-zero gradient"


def _face_seen(batch: dict) -> torch.Tensor:
    """(B, N) bool: the point's face is shown by at least one pixel of some view."""
    rows = packed_face_index(batch["view_face"], batch["face_ptr"]).flatten()
    seen = torch.zeros(int(batch["face_ptr"][-1]), dtype=torch.bool)
    seen[rows[rows >= 0]] = True
    return seen[packed_face_index(batch["point_face"], batch["face_ptr"])]


@pytest.mark.parametrize(("name", "task"), CASES, ids=IDS)
def test_overfits_a_tiny_batch(name: str, task: str):
    """A few dozen Adam steps memorise 4 shapes (classes) or their points' part labels (segment).

    Batch norm uses batch statistics (train mode) and dropout is off, as in the usual
    "overfit one batch" check. Multi-view segmentation is scored on points whose face some view
    shows: the others get zero local features by design (their share is asserted below).
    """
    num_classes = 4 if task == "classify" else 2
    batch = synthetic_batch(4, num_classes=num_classes, seed=1)
    torch.manual_seed(0)
    model = _model(name, task, batch, num_classes, head_dropout=0.0)
    model.fit_normalizer([batch])
    model.train()
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.eval()
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    y = _target(batch, task)
    mask = (
        _face_seen(batch) if name == "mvcnn" and task == "segment" else torch.ones_like(y, dtype=torch.bool)
    )
    assert mask.float().mean() > 0.9
    first = None
    for _ in range(80):
        opt.zero_grad()
        loss = F.cross_entropy(model(batch), y)
        loss.backward()
        opt.step()
        first = loss.item() if first is None else first
        with torch.no_grad():
            logits = model(batch)
            acc = (logits.argmax(1) == y)[mask].float().mean().item()
            final = F.cross_entropy(logits, y, reduction="none")[mask].mean().item()
        if acc == 1.0 and final < 0.1:
            break
    assert acc == 1.0, f"{name}/{task}: training accuracy {acc:.3f} after overfitting"
    assert final < 0.1 < first, f"{name}/{task}: loss {first:.3f} → {final:.3f}"


def test_multiview_unseen_faces_get_zero_features():
    """Faces no pixel shows get zero local features; the synthetic splats leave ~3% of faces unseen."""
    batch = synthetic_batch(4, num_classes=2, seed=1)
    enc = create_encoder("mvcnn", local=True).eval()
    with torch.no_grad():
        local = enc(batch).local_features  # (B, C, N)
    seen = _face_seen(batch)
    assert not bool(seen.all()), "the test needs some unseen faces"
    assert torch.all(local.transpose(1, 2)[~seen] == 0)
    assert torch.all(local.transpose(1, 2)[seen].abs().sum(-1) > 0)
    total = int(batch["face_ptr"][-1])
    rows = packed_face_index(batch["view_face"], batch["face_ptr"])
    coverage = rows[rows >= 0].unique().numel() / total
    assert enc.last_coverage == pytest.approx(coverage)
    assert 0.9 < coverage < 1.0


def test_fill_from_nearest_matches_brute_force():
    from geolearn.nn.encoders.multiview import fill_from_nearest

    g = torch.Generator().manual_seed(0)
    feats, pts = torch.randn(2, 3, 10, generator=g), torch.randn(2, 10, 3, generator=g)
    valid = torch.rand(2, 10, generator=g) > 0.5
    valid[1] = False  # a shape with no seen point keeps its features
    out = fill_from_nearest(feats, valid, pts)
    assert torch.equal(out[1], feats[1])
    for n in range(10):
        if valid[0, n]:
            assert torch.equal(out[0, :, n], feats[0, :, n])
        else:
            cand = valid[0].nonzero().flatten()
            j = cand[((pts[0, cand] - pts[0, n]) ** 2).sum(1).argmin()]
            assert torch.equal(out[0, :, n], feats[0, :, j])


def test_voxunet_local_features_follow_the_points():
    """Moving a point moves its looked-up features (trilinear lookup is wired to batch['points'])."""
    batch = synthetic_batch(2)
    enc = create_encoder("voxunet", local=True).eval()
    with torch.no_grad():
        a = enc(batch).local_features
        moved = dict(batch, points=batch["points"].flip(1))
        b = enc(moved).local_features
    assert torch.allclose(a.flip(2), b, atol=1e-6)


def test_voxunet_point_options_add_the_normals_and_the_stem_features():
    """use_normals appends the batch's normals as they are; lookup_stem appends the full-resolution stem
    activations, read exactly at a cell centre; the decoder channels stay those of the plain U-Net."""
    batch = synthetic_batch(2)
    r = batch["voxels"].shape[-1]
    torch.manual_seed(0)
    plain = create_encoder("voxunet", local=True).eval()
    torch.manual_seed(0)
    both = create_encoder("voxunet", local=True, use_normals=True, lookup_stem=True).eval()
    assert (plain.local_channels, both.local_channels) == (32 + 64, 32 + 64 + 16 + 3)
    # a few points moved onto cell centres, where trilinear lookup returns the cell itself
    cells = torch.tensor([[3, 5, 7], [r - 1, 0, r // 2], [10, 11, 2]])
    pts = batch["points"].clone()
    pts[:, :3] = (cells.float() + 0.5) * (2.0 / r) - 1.0
    batch = dict(batch, points=pts)
    stem = {}
    both.stem[2].register_forward_hook(lambda m, i, o: stem.setdefault("out", o.clone()))  # act(norm(conv))
    with torch.no_grad():
        a, b = plain(batch).local_features, both(batch).local_features
    assert b.shape == (2, 32 + 64 + 16 + 3, pts.shape[1])
    torch.testing.assert_close(b[:, :96], a)
    assert torch.equal(b[:, -3:], batch["normals"].transpose(1, 2))
    for n, (i, j, k) in enumerate(cells.tolist()):
        torch.testing.assert_close(b[:, 96:112, n], stem["out"][:, :, i, j, k])
    with torch.no_grad():  # other normals change only the normal channels
        flipped = both(dict(batch, normals=-batch["normals"])).local_features
    torch.testing.assert_close(flipped[:, :-3], b[:, :-3])
    assert torch.equal(flipped[:, -3:], -b[:, -3:])


def test_voxunet_point_option_errors():
    batch = synthetic_batch(1)
    with pytest.raises(OptionError, match="segmentation"):
        create_encoder("voxunet", use_normals=True)  # global features only: nothing to append to
    with pytest.raises(OptionError, match="segmentation"):
        create_encoder("voxunet", lookup_stem=True)
    enc = create_encoder("voxunet", local=True, use_normals=True).eval()
    with pytest.raises(OptionError, match="normals"):
        enc({k: v for k, v in batch.items() if k != "normals"})
    with pytest.raises(OptionError, match="normals"):
        enc(dict(batch, normals=batch["normals"][:, :5]))


@pytest.mark.parametrize("name", ["descriptor", "face_features"])
def test_descriptor_encoders_standardise(name: str):
    batch = synthetic_batch(4)
    key = "descriptor" if name == "descriptor" else "face_features"
    enc = create_encoder(name, in_features=batch[key].shape[1])
    assert not list(enc.parameters()), "descriptor encoders are parameter-free"
    with pytest.raises(OptionError, match="fit_normalizer"):
        enc(batch)
    enc.fit_normalizer([batch])
    out = enc(batch).global_features
    if name == "descriptor":
        expected = (batch[key] - batch[key].mean(0)) / batch[key].std(0, unbiased=False)
        constant = batch[key].std(0) == 0
        expected[:, constant] = 0.0
        torch.testing.assert_close(out, expected, atol=1e-4, rtol=1e-4)
    else:
        z = enc.norm(batch[key])
        torch.testing.assert_close(z.mean(0), torch.zeros(z.shape[1]), atol=1e-5, rtol=0)
        torch.testing.assert_close(z.std(0, unbiased=False), torch.ones(z.shape[1]), atol=1e-4, rtol=0)
        ptr = batch["face_ptr"]
        for b in range(4):
            rows = z[ptr[b] : ptr[b + 1]]
            torch.testing.assert_close(out[b], torch.cat([rows.mean(0), rows.amax(0)]))


def test_face_features_local_is_the_points_face_row():
    batch = synthetic_batch(2)
    enc = create_encoder("face_features", local=True, in_features=7, standardize=False)
    local = enc(batch).local_features
    ptr = batch["face_ptr"]
    for b in range(2):
        for n in range(0, batch["points"].shape[1], 7):
            row = ptr[b] + batch["point_face"][b, n]
            assert torch.equal(local[b, :, n], batch["face_features"][row])


def test_create_model_errors():
    batch = synthetic_batch(2)
    with pytest.raises(OptionError, match="unknown"):
        create_model("nope", num_classes=2)
    with pytest.raises(OptionError, match="segment"):
        create_model("voxnet", "segment", num_classes=2)
    with pytest.raises(OptionError, match="task"):
        create_model("pointnet", "regress", num_classes=2)
    with pytest.raises(OptionError, match="no option widht"):
        create_model("voxnet", num_classes=2, widht=3)
    with pytest.raises(OptionError, match="in_features"):
        create_model("descriptor", num_classes=2)
    with pytest.raises(OptionError, match="example_batch lacks 'voxels'"):
        create_model("voxnet", num_classes=2, example_batch={"points": batch["points"]})
    with pytest.raises(OptionError, match="pointnet: batch lacks points"):
        _model("pointnet", "classify", batch, 2)({"label": batch["label"]})
    model = _model("voxnet", "classify", batch, 2)
    with pytest.raises(OptionError, match="resolution 16"):
        model(synthetic_batch(2, resolution=24))


def test_category_input_feeds_the_part_mask_to_the_segmentation_head():
    """With category_input the head's global input is [encoder feature, part_mask row]: the same
    shape under two categories gets different logits, and the logits equal the head applied by hand."""
    batch = synthetic_batch(2)
    k = 6
    mask = torch.zeros(2, k, dtype=torch.bool)
    mask[0, :3] = mask[1, 3:] = True
    torch.manual_seed(0)
    model = create_model("pointnet", "segment", num_classes=k, category_input=True, example_batch=batch)
    model.eval()
    assert model.head.global_channels == model.encoder.out_channels + k
    with torch.no_grad():
        out = model(dict(batch, part_mask=mask))
        feats = model.encoder(batch)
        by_hand = model.head(feats.local_features, torch.cat([feats.global_features, mask.float()], 1))
        swapped = model(dict(batch, part_mask=mask.flip(0)))
    torch.testing.assert_close(out, by_hand)
    assert not torch.allclose(out, swapped)
    with pytest.raises(OptionError, match="--category"):
        model(batch)  # no part_mask: the category is unknown
    with pytest.raises(OptionError, match="part_mask"):
        model(dict(batch, part_mask=mask[:, :4]))
    with pytest.raises(OptionError, match="segmentation"):
        create_model("pointnet", "classify", num_classes=k, category_input=True)


def test_category_input_needs_the_category_given():
    from geolearn.train.config import ExperimentConfig

    with pytest.raises(OptionError, match="restrict_to_category"):
        ExperimentConfig.from_flat_dict({"task": "segment", "model_kwargs": {"category_input": True}})


def test_dgcnn_edgeconv_matches_the_reference_formulation():
    """The decomposed EdgeConv equals conv over explicit [x_j − x_i, x_i] edge features."""
    from geolearn.nn.encoders.point import EdgeConv, knn

    torch.manual_seed(0)
    x = torch.randn(2, 30, 5)
    conv = EdgeConv(5, 8, norm="none", act="none")
    idx = knn(x, 4)
    out = conv(x, idx)
    # slow reference
    ref = torch.empty(2, 30, 8)
    for b in range(2):
        for i in range(30):
            e = torch.cat([x[b, idx[b, i]] - x[b, i], x[b, i].expand(4, 5)], dim=1)  # (k, 2C)
            ref[b, i] = conv.linear(e).amax(0)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    # knn: brute force
    d = torch.cdist(x, x)
    assert torch.equal(idx.sort(-1).values, d.topk(4, largest=False).indices.sort(-1).values)


def test_pointnet_is_permutation_invariant():
    batch = synthetic_batch(2)
    enc = create_encoder("pointnet", local=True).eval()
    perm = torch.randperm(batch["points"].shape[1], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        a = enc(batch)
        b = enc(dict(batch, points=batch["points"][:, perm]))
    torch.testing.assert_close(a.global_features, b.global_features)
    torch.testing.assert_close(a.local_features[:, :, perm], b.local_features)
    assert math.isfinite(float(a.global_features.sum()))


def test_voxunet_coordinate_stem_equals_conv_over_concatenated_channels():
    """conv_v(v) + conv_xyz(xyz) broadcast == one convolution over concat(v, xyz) (as CoordConv writes it)."""
    from geolearn.nn.encoders.voxel import voxel_coordinates

    torch.manual_seed(0)
    enc = create_encoder("voxunet", norm="none")
    v = synthetic_batch(2)["voxels"]  # (2, 1, 16, 16, 16)
    conv, _, _ = enc.stem
    joint = nn.Conv3d(4, conv.out_channels, 3, padding=1, bias=True)
    with torch.no_grad():
        joint.weight.copy_(torch.cat([conv.weight, enc.coord_conv.weight], dim=1))
        joint.bias.copy_(conv.bias)
    xyz = voxel_coordinates(16, v).expand(2, -1, -1, -1, -1)
    expected = joint(torch.cat([v, xyz], dim=1))
    got = conv(v) + enc.coord_conv(voxel_coordinates(16, v).unsqueeze(0))
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_pointnet_feature_transform_and_its_regulariser():
    batch = synthetic_batch(3)
    torch.manual_seed(0)
    enc = create_encoder("pointnet", local=True, feature_transform=True, feature_transform_weight=0.5)
    captured = {}
    enc.feature_tnet.register_forward_hook(lambda m, i, o: captured.update(a=o))
    enc.train()
    out = enc(batch)
    assert out.global_features.shape == (3, 1024) and out.local_features.shape[:2] == (3, 64)
    a = captured["a"]  # (B, 64, 64)
    expected = 0.5 * torch.stack([((torch.eye(64) - m @ m.T) ** 2).sum() for m in a]).mean()
    torch.testing.assert_close(enc.auxiliary_loss(), expected)
    enc.auxiliary_loss().backward()
    assert enc.feature_tnet.head.parameters().__next__().grad is not None  # the term reaches the T-Net
    enc.eval()
    with torch.no_grad():
        enc(batch)
    assert enc.auxiliary_loss() is None  # only while training
    assert create_encoder("pointnet").auxiliary_loss() is None  # off by default
    with pytest.raises(OptionError, match="feature_transform_weight"):
        create_encoder("pointnet", feature_transform=True, feature_transform_weight=-1.0)
