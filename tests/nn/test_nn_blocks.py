"""Blocks: norm/act factories, conv blocks in 1d/2d/3d, residual blocks, MLP, pooling layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from geolearn.errors import OptionError
from geolearn.nn.conv import ConvNormAct, UpConvNormAct
from geolearn.nn.mlp import MLP
from geolearn.nn.norm_act import ACTIVATIONS, NORMS, create_act, create_norm
from geolearn.nn.pooling import GlobalPool, create_adaptive_pool, create_pool
from geolearn.nn.residual import BasicBlock, Bottleneck, create_residual_block

DIMS = [1, 2, 3]


def _x(dim: int, c: int = 4, size: int = 8, device: torch.device | str = "cpu") -> torch.Tensor:
    g = torch.Generator().manual_seed(dim)
    return torch.randn((2, c) + (size,) * dim, generator=g).to(device)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations(name: str):
    x = torch.linspace(-3, 3, 13)
    y = create_act(name)(x.clone())
    ref = {
        "relu": torch.relu(x), "leaky_relu": torch.where(x > 0, x, 0.2 * x), "elu": nn.functional.elu(x),
        "gelu": nn.functional.gelu(x), "silu": x * torch.sigmoid(x), "mish": nn.functional.mish(x),
        "tanh": torch.tanh(x), "sigmoid": torch.sigmoid(x), "none": x,
    }[name]  # fmt: skip
    torch.testing.assert_close(y, ref)


def test_unknown_names_raise():
    with pytest.raises(OptionError, match="activation 'swish2'"):
        create_act("swish2")
    with pytest.raises(OptionError, match="normalisation 'batchy'"):
        create_norm("batchy", 4, 2)
    with pytest.raises(OptionError, match="instance norm"):
        create_norm("instance", 4, 0)
    with pytest.raises(OptionError, match="dim"):
        ConvNormAct(4, 1, 1)
    with pytest.raises(OptionError, match="kind"):
        create_residual_block("wide", 2, 4, 4)
    with pytest.raises(OptionError):
        create_pool("median", 2)
    with pytest.raises(OptionError):
        GlobalPool("sum")


@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("norm", NORMS)
def test_norms_normalise_what_they_say(dim: int, norm: str):
    x = _x(dim, c=8) * 3 + 1
    layer = create_norm(norm, 8, dim).train()
    y = layer(x)
    assert y.shape == x.shape
    if norm == "none":
        assert torch.equal(y, x)
        return
    # the axes each norm averages over, for its default affine (weight 1, bias 0)
    axes = {
        "batch": [0, *range(2, dim + 2)],
        "instance": list(range(2, dim + 2)),
        "group": [2, *range(3, dim + 3)],
        "layer": [1],
    }[norm]
    z = y.reshape(2, 8, 1, *y.shape[2:]) if norm == "group" else y  # 8 channels → 8 groups of 1
    torch.testing.assert_close(z.mean(axes), torch.zeros_like(z.mean(axes)), atol=1e-5, rtol=0)
    torch.testing.assert_close(z.var(axes, unbiased=False), torch.ones_like(z.mean(axes)), atol=1e-3, rtol=0)


def test_layer_norm_on_vectors():
    x = torch.randn(5, 6) * 4 + 2
    y = create_norm("layer", 6, 0)(x)
    torch.testing.assert_close(y.mean(1), torch.zeros(5), atol=1e-5, rtol=0)


@pytest.mark.parametrize("dim", DIMS)
def test_conv_norm_act(dim: int, device: torch.device):
    block = ConvNormAct(dim, 4, 6, 3, norm="batch", act="relu").to(device)
    assert block[0].bias is None  # redundant before a norm
    y = block(_x(dim, device=device))
    assert y.shape == (2, 6) + (8,) * dim
    assert (y >= 0).all()
    strided = ConvNormAct(dim, 4, 6, 3, stride=2, norm="none", act="none").to(device)
    assert strided[0].bias is not None
    assert strided(_x(dim, device=device)).shape == (2, 6) + (4,) * dim


@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("mode", ["transpose", "nearest", "linear"])
def test_upconv(dim: int, mode: str):
    y = UpConvNormAct(dim, 4, 3, 2, mode=mode)(_x(dim, size=4))
    assert y.shape == (2, 3) + (8,) * dim


@pytest.mark.parametrize("dim", DIMS)
@pytest.mark.parametrize("block", [BasicBlock, Bottleneck])
def test_residual_blocks(dim: int, block: type, device: torch.device):
    same = block(dim, 8, 8).to(device)
    assert isinstance(same.shortcut, nn.Identity)
    assert same(_x(dim, c=8, device=device)).shape == (2, 8) + (8,) * dim
    down = block(dim, 8, 16, stride=2).to(device)
    assert isinstance(down.shortcut, ConvNormAct)  # projection when the shape changes
    assert down(_x(dim, c=8, device=device)).shape == (2, 16) + (4,) * dim


def test_residual_block_is_identity_plus_body():
    blk = BasicBlock(2, 4, 4, norm="none", act="none")
    x = _x(2)
    torch.testing.assert_close(blk(x), blk.body(x) + x)


def test_mlp_equals_a_conv1d_shared_mlp():
    """MLP over (B, N, C) rows == the reference Conv1d(k=1) + BatchNorm1d stack over (B, C, N)."""
    torch.manual_seed(0)
    mlp = MLP(3, (16, 32), norm="batch")
    ref = nn.Sequential(
        nn.Conv1d(3, 16, 1, bias=False), nn.BatchNorm1d(16), nn.ReLU(),
        nn.Conv1d(16, 32, 1, bias=False), nn.BatchNorm1d(32), nn.ReLU(),
    )  # fmt: skip
    with torch.no_grad():
        ref[0].weight.copy_(mlp.layers[0].weight[..., None])
        ref[3].weight.copy_(mlp.layers[3].weight[..., None])
    x = torch.randn(4, 50, 3)
    torch.testing.assert_close(mlp(x), ref(x.transpose(1, 2)).transpose(1, 2), atol=1e-5, rtol=1e-5)


def test_mlp_options():
    m = MLP(8, (16,), 3, norm="none", dropout=0.5)
    assert [type(layer) for layer in m.layers] == [nn.Linear, nn.Identity, nn.ReLU, nn.Dropout, nn.Linear]
    assert m(torch.randn(2, 5, 8)).shape == (2, 5, 3)
    with pytest.raises(OptionError):
        MLP(8, ())
    with pytest.raises(OptionError):
        MLP(8, (4,), dropout=1.0)


@pytest.mark.parametrize("dim", DIMS)
def test_pools(dim: int):
    x = _x(dim)
    assert create_pool("max", dim, 2)(x).shape == (2, 4) + (4,) * dim
    assert create_pool("avg", dim, 2)(x).shape == (2, 4) + (4,) * dim
    assert create_adaptive_pool("avg", dim, 3)(x).shape == (2, 4) + (3,) * dim
    flat = x.flatten(2)
    torch.testing.assert_close(GlobalPool("max")(x), flat.max(2).values)
    torch.testing.assert_close(GlobalPool("avg")(x), flat.mean(2))
    both = GlobalPool("maxavg")
    assert both(x).shape == (2, both.channels(4)) == (2, 8)
