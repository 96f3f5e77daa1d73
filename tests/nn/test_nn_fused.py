"""The fused batch norm → (leaky) ReLU → max equals the plain module chain: values, gradients and
running statistics."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from geolearn.nn.fused import BatchNormActMax, bn_act_max
from geolearn.nn.mlp import MLP, MaxPooledMLP


def _pair(c: int, weight: torch.Tensor) -> tuple[nn.BatchNorm1d, nn.BatchNorm1d]:
    a = nn.BatchNorm1d(c).double()
    with torch.no_grad():
        a.weight.copy_(weight)
        a.bias.uniform_(-0.5, 0.5, generator=torch.Generator().manual_seed(3))
    b = nn.BatchNorm1d(c).double()
    b.load_state_dict(a.state_dict())
    return a, b


@pytest.mark.parametrize("slope", [0.0, 0.2])
def test_bn_act_max_matches_plain_chain(slope: float, device: torch.device):
    g = torch.Generator().manual_seed(0)
    h = (torch.randn(4, 9, 6, generator=g, dtype=torch.float64) * 3 + 1).to(device).requires_grad_(True)
    # mixed signs (γ = 0 exactly is a kink: both sides are valid subgradients there)
    weight = torch.tensor([1.0, -0.5, 2.0, 0.3, -1.2, 0.7], dtype=torch.float64)
    fused_bn, plain_bn = (m.to(device) for m in _pair(6, weight))
    out = bn_act_max(h, fused_bn, slope)
    ref = F.leaky_relu(plain_bn(h.reshape(36, 6)), slope).view(4, 9, 6).amax(1)
    torch.testing.assert_close(out, ref)
    go = torch.randn(out.shape, generator=g, dtype=torch.float64).to(device)
    got = torch.autograd.grad(out, [h, fused_bn.weight, fused_bn.bias], go)
    want = torch.autograd.grad(ref, [h, plain_bn.weight, plain_bn.bias], go)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b)
    torch.testing.assert_close(fused_bn.running_mean, plain_bn.running_mean)
    torch.testing.assert_close(fused_bn.running_var, plain_bn.running_var)
    assert int(fused_bn.num_batches_tracked) == 1
    fused_bn.eval()
    plain_bn.eval()
    with torch.no_grad():
        ref_eval = F.leaky_relu(plain_bn(h.reshape(36, 6)), slope).view(4, 9, 6).amax(1)
        torch.testing.assert_close(bn_act_max(h, fused_bn, slope), ref_eval)


def test_bn_act_max_gradcheck():
    g = torch.Generator().manual_seed(1)
    h = torch.randn(3, 5, 4, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.tensor([1.0, -2.0, 0.5, 1.5], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(4, dtype=torch.float64, requires_grad=True)
    from geolearn.nn.fused import _BNActMax

    assert torch.autograd.gradcheck(lambda h, w, b: _BNActMax.apply(h, w, b, 1e-5, 0.2)[0], (h, w, b))


def test_max_pooled_mlp_matches_mlp_then_max():
    torch.manual_seed(0)
    fused = MaxPooledMLP(3, (8, 16))
    plain = MLP(3, (8, 16))
    with torch.no_grad():
        plain.layers[0].weight.copy_(fused.hidden.layers[0].weight)
        plain.layers[3].weight.copy_(fused.last.weight)
    x = torch.randn(2, 20, 3)
    torch.testing.assert_close(fused(x), plain(x).amax(1), atol=1e-5, rtol=1e-5)
    assert isinstance(MaxPooledMLP(3, (8,), norm="layer").hidden, MLP)  # unfused path
    assert MaxPooledMLP(3, (8,), norm="layer")(x).shape == (2, 8)
    assert BatchNormActMax(5)(torch.randn(2, 7, 5)).shape == (2, 5)
