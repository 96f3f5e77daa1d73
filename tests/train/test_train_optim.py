"""Optimisers (no decay on norms and biases) and per-epoch schedules against hand values."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from geolearn.errors import OptionError
from geolearn.train.optim import build_optimizer, build_scheduler, lr_factor, parameter_groups


def model() -> nn.Module:
    return nn.Sequential(nn.Conv1d(3, 4, 1), nn.BatchNorm1d(4), nn.Linear(4, 2), nn.LayerNorm(2))


def test_no_weight_decay_on_norms_and_biases():
    m = model()
    groups = parameter_groups(m, 0.1)
    decayed = {id(p) for p in groups[0]["params"]}
    assert groups[0]["weight_decay"] == 0.1
    assert groups[1]["weight_decay"] == 0.0
    assert decayed == {id(m[0].weight), id(m[2].weight)}
    assert len(groups[1]["params"]) == 6  # conv/linear biases, batch/layer norm weight + bias


@pytest.mark.parametrize(
    ("name", "cls"), [("sgd", torch.optim.SGD), ("adam", torch.optim.Adam), ("adamw", torch.optim.AdamW)]
)
def test_build_optimizer(name, cls):
    opt = build_optimizer(model(), name, lr=0.1, weight_decay=0.01, momentum=0.8)
    assert isinstance(opt, cls)
    assert [g["weight_decay"] for g in opt.param_groups] == [0.01, 0.0]
    if name == "sgd":
        assert opt.param_groups[0]["momentum"] == 0.8


def test_decay_leaves_biases_alone():
    m = nn.Linear(2, 2)
    with torch.no_grad():
        m.weight.fill_(1.0)
        m.bias.fill_(1.0)
    opt = build_optimizer(m, "sgd", lr=0.1, weight_decay=0.5, momentum=0.0)
    m(torch.zeros(1, 2)).sum().mul(0).backward()  # zero gradients: only decay moves parameters
    opt.step()
    assert torch.allclose(m.weight, torch.full((2, 2), 1 - 0.1 * 0.5))
    assert torch.equal(m.bias, torch.ones(2))


def test_frozen_model_is_refused():
    m = nn.Linear(2, 2).requires_grad_(False)
    with pytest.raises(OptionError, match="no trainable parameters"):
        build_optimizer(m, "adamw", lr=0.1, weight_decay=0.0, momentum=0.0)


@pytest.mark.parametrize(
    ("schedule", "warmup", "want"),
    [
        ("step", 0, [1, 1, 0.5, 0.5, 0.25]),
        ("none", 0, [1, 1, 1, 1, 1]),
        ("none", 2, [1 / 3, 2 / 3, 1, 1, 1]),
        ("cosine", 0, [(1 + math.cos(math.pi * e / 5)) / 2 for e in range(5)]),
        ("cosine", 1, [0.5, 1.0] + [(1 + math.cos(math.pi * t / 4)) / 2 for t in (1, 2, 3)]),
    ],
)
def test_lr_factor_by_hand(schedule, warmup, want):
    got = [
        lr_factor(e, schedule=schedule, epochs=5, step_size=2, gamma=0.5, warmup_epochs=warmup)
        for e in range(5)
    ]
    assert got == pytest.approx(want)


def test_scheduler_follows_lr_factor():
    opt = build_optimizer(model(), "sgd", lr=0.2, weight_decay=0.0, momentum=0.9)
    sched = build_scheduler(
        opt, "step", epochs=5, step_size=2, gamma=0.5, warmup_epochs=0, plateau_patience=1, mode="max"
    )
    lrs = []
    for _ in range(5):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs == pytest.approx([0.2, 0.2, 0.1, 0.1, 0.05])


def test_plateau_decays_after_patience():
    opt = build_optimizer(model(), "adam", lr=1.0, weight_decay=0.0, momentum=0.0)
    sched = build_scheduler(
        opt, "plateau", epochs=9, step_size=1, gamma=0.1, warmup_epochs=0, plateau_patience=1, mode="max"
    )
    for metric in (0.5, 0.6, 0.6, 0.6):  # best 0.6 at step 2; two steps without improvement > patience 1
        sched.step(metric)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1)
