"""The training loop on tiny models and data: learning, run directory, best-on-validation,
exact resume, early stopping, smoke knobs, callbacks, loss options, prediction."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import yaml
from train_toys import ToyClassification, ToyClassifier, ToySegmentation, ToySegmenter

from geolearn.errors import GeolearnError, OptionError
from geolearn.train import Callback, TrainConfig, Trainer, load_checkpoint
from geolearn.train.trainer import RESUMABLE_CHANGES

FAST = {"batch_size": 8, "lr": 0.01, "schedule": "none"}


def make_trainer(tmp_path: Path, name: str = "run", *, model=None, task="classify", callbacks=(), **options):
    torch.manual_seed(0)
    model = model if model is not None else ToyClassifier()
    config = TrainConfig(**{**FAST, **options})
    return Trainer(
        model, config, task=task, run_dir=tmp_path / name, device="cpu", callbacks=callbacks, progress=False
    )


def test_fit_learns_and_writes_run_dir(tmp_path, device):
    torch.manual_seed(0)
    trainer = Trainer(
        ToyClassifier(),
        TrainConfig(**FAST, epochs=6),
        task="classify",
        run_dir=tmp_path / "run",
        device=device,
    )
    result = trainer.fit(ToyClassification(64, seed=1), ToyClassification(30, seed=2))
    assert result.epochs == 6
    assert not result.stopped_early
    assert result.history[-1]["val/accuracy"] > 0.9
    assert result.history[-1]["train/loss"] < result.history[0]["train/loss"]

    run = tmp_path / "run"
    for name in ("config.yaml", "run.json", "metrics.csv", "metrics.json", "last.pt", "best.pt"):
        assert (run / name).is_file(), name
    assert list((run / "tensorboard").glob("events.out.tfevents.*"))
    info = json.loads((run / "run.json").read_text())
    assert info["seed"] == 0
    assert set(info["versions"]) >= {"geolearn", "torch", "numpy", "python", "platform"}
    assert yaml.safe_load((run / "config.yaml").read_text())["epochs"] == 6
    rows = (run / "metrics.csv").read_text().splitlines()
    assert len(rows) == 7
    assert "val/accuracy" in rows[0]
    assert "train/loss" in rows[0]
    assert json.loads((run / "metrics.json").read_text()) == json.loads(json.dumps(result.history))


def test_best_checkpoint_is_chosen_on_validation(tmp_path):
    trainer = make_trainer(tmp_path, epochs=5, lr=0.05)
    result = trainer.fit(ToyClassification(48, seed=1), ToyClassification(12, seed=2))
    accs = [row["val/accuracy"] for row in result.history]
    best = max(range(len(accs)), key=lambda e: (accs[e], -e))  # first epoch reaching the maximum
    assert result.best_epoch == best
    assert result.best_metric == accs[best]
    state = load_checkpoint(tmp_path / "run" / "best.pt")
    assert state["epoch"] == best + 1
    # the model holds the best weights after fit
    for key, value in trainer.module.state_dict().items():
        torch.testing.assert_close(value, state["model"][key], rtol=0, atol=0)


def test_checkpoint_loads_weights_only(tmp_path):
    make_trainer(tmp_path, epochs=1).fit(ToyClassification(16), ToyClassification(8, seed=3))
    state = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert state["epoch"] == 1
    assert isinstance(state["config"], dict)
    assert isinstance(state["rng"][0]["torch"], torch.Tensor)


class Crash(Callback):
    """Raises at the start of epoch ``at`` (after the checkpoint of epoch ``at - 1``)."""

    def __init__(self, at: int) -> None:
        self.at = at

    def on_train_epoch_start(self, trainer):
        if trainer.epoch == self.at:
            raise KeyboardInterrupt("simulated crash")


@pytest.mark.parametrize("schedule", ["cosine", "plateau"])
def test_resume_is_bitwise_identical(tmp_path, schedule):
    options = {"epochs": 4, "schedule": schedule, "optimizer": "sgd", "weight_decay": 0.01}
    train, val = ToyClassification(40, seed=1), ToyClassification(12, seed=2)

    make_trainer(tmp_path, "whole", **options).fit(train, val)
    with pytest.raises(KeyboardInterrupt):
        make_trainer(tmp_path, "crashed", callbacks=[Crash(at=2)], **options).fit(train, val)
    assert load_checkpoint(tmp_path / "crashed" / "last.pt")["epoch"] == 2

    # a fresh process would build the model from scratch: different initial weights do not matter
    torch.manual_seed(123)
    resumed = make_trainer(tmp_path, "crashed", model=ToyClassifier(), **options)
    result = resumed.fit(train, val, resume=tmp_path / "crashed" / "last.pt")
    assert result.epochs == 4

    a, b = load_checkpoint(tmp_path / "whole" / "last.pt"), load_checkpoint(tmp_path / "crashed" / "last.pt")
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    for k, state in a["optimizer"]["state"].items():
        for name, value in state.items():
            assert torch.equal(value, b["optimizer"]["state"][k][name]), name
    assert a["scheduler"] == b["scheduler"]
    for key, value in a["rng"][0].items():
        same = (
            torch.equal(value, b["rng"][0][key])
            if isinstance(value, torch.Tensor)
            else value == b["rng"][0][key]
        )
        assert same, key
    strip = [{k: v for k, v in row.items() if k != "time"} for row in a["history"]]
    assert strip == [{k: v for k, v in row.items() if k != "time"} for row in b["history"]]
    assert len(json.loads((tmp_path / "crashed" / "metrics.json").read_text())) == 4


def test_resume_refuses_changed_options(tmp_path):
    train = ToyClassification(16)
    make_trainer(tmp_path, epochs=1).fit(train)
    with pytest.raises(OptionError, match=r"lr \(checkpoint 0.01, now 0.5\)"):
        make_trainer(tmp_path, epochs=2, lr=0.5).fit(train, resume=tmp_path / "run" / "last.pt")
    assert "epochs" in RESUMABLE_CHANGES
    result = make_trainer(tmp_path, epochs=2).fit(train, resume=tmp_path / "run" / "last.pt")
    assert result.epochs == 2
    assert [r["epoch"] for r in result.history] == [0, 1]


def test_early_stopping(tmp_path):
    # lr so small that validation accuracy never moves: best is epoch 0, patience 2 → stop after epoch 2
    trainer = make_trainer(tmp_path, epochs=10, lr=1e-12, early_stopping_patience=2)
    result = trainer.fit(ToyClassification(16), ToyClassification(8, seed=3))
    assert result.stopped_early
    assert result.epochs == 3
    assert result.best_epoch == 0


def test_monitor_loss_is_minimised(tmp_path):
    result = make_trainer(tmp_path, epochs=4, monitor="loss").fit(
        ToyClassification(32), ToyClassification(8, seed=3)
    )
    losses = [row["val/loss"] for row in result.history]
    assert result.best_metric == min(losses)


def test_unknown_monitor_names_metrics(tmp_path):
    trainer = make_trainer(tmp_path, epochs=1, monitor="miou")
    with pytest.raises(OptionError, match=r"monitor: 'miou' is not a validation metric.*mean_class_accuracy"):
        trainer.fit(ToyClassification(16), ToyClassification(8))


class Recorder(Callback):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def on_fit_start(self, trainer):
        self.calls.append("fit_start")

    def on_train_epoch_start(self, trainer):
        self.calls.append(f"epoch_start:{trainer.epoch}")

    def on_train_batch_end(self, trainer, batch, batch_idx, loss):
        assert loss.dim() == 0
        assert not loss.requires_grad
        self.calls.append(f"batch:{batch_idx}")

    def on_train_epoch_end(self, trainer, metrics):
        self.calls.append(f"train_end:{sorted(metrics)}")

    def on_validation_epoch_end(self, trainer, metrics):
        self.calls.append(f"val_end:{'accuracy' in metrics}")

    def on_fit_end(self, trainer):
        self.calls.append("fit_end")


def test_callback_hooks_in_order_and_limits(tmp_path):
    rec = Recorder()
    trainer = make_trainer(tmp_path, epochs=2, batch_size=4, limit_train_batches=2, callbacks=[rec])
    trainer.fit(ToyClassification(32), ToyClassification(8))
    epoch = ["batch:0", "batch:1", "train_end:['accuracy', 'loss']", "val_end:True"]
    assert rec.calls == ["fit_start", "epoch_start:0", *epoch, "epoch_start:1", *epoch, "fit_end"]


@pytest.mark.parametrize(
    ("options", "epochs", "train_batches", "val_items"),
    [
        ({"fast_dev_run": 2}, 1, 2, 8),  # 2 val batches of 4
        ({"limit_train_batches": 0.5, "limit_val_batches": 1}, 2, 4, 4),
        ({"overfit_batches": 1}, 2, 1, 4),
    ],
)
def test_smoke_knobs(tmp_path, options, epochs, train_batches, val_items):
    rec = Recorder()
    val = ToyClassification(20, seed=3)
    trainer = make_trainer(tmp_path, epochs=2, batch_size=4, callbacks=[rec], **options)
    result = trainer.fit(ToyClassification(32), val)
    assert result.epochs == epochs
    assert rec.calls.count("batch:0") == epochs
    assert sum(c.startswith("batch:") for c in rec.calls) == epochs * train_batches
    assert len(val.accessed) == epochs * val_items


def test_overfit_batches_trains_on_the_same_unshuffled_batch(tmp_path):
    train = ToyClassification(32)
    make_trainer(tmp_path, epochs=3, batch_size=4, overfit_batches=1).fit(train)
    assert train.accessed == [0, 1, 2, 3] * 3


def test_data_order_is_shuffled_per_epoch_and_seeded(tmp_path):
    orders = []
    for name in ("a", "b"):
        train = ToyClassification(16)
        make_trainer(tmp_path, name, epochs=2, batch_size=4).fit(train)
        orders.append(train.accessed)
        assert train.epochs_set == [0, 1]  # the dataset's augmentation follows the epoch
    assert orders[0] == orders[1]
    assert orders[0][:16] != orders[0][16:]
    assert sorted(orders[0][:16]) == list(range(16))


def test_loss_uses_label_smoothing_and_class_weights(tmp_path):
    weights = [1.0, 2.0, 0.5]
    trainer = make_trainer(tmp_path, epochs=1, label_smoothing=0.1, class_weights=weights)
    data = ToyClassification(10)
    got = trainer.evaluate(data)
    trainer.module.eval()
    with torch.no_grad():
        logits = trainer.module({"points": data.points})
    want = F.cross_entropy(logits, data.labels, weight=torch.tensor(weights), label_smoothing=0.1)
    assert got["loss"] == pytest.approx(float(want), rel=1e-5)  # over batches of 8 and 2
    assert got["accuracy"] == pytest.approx(float((logits.argmax(1) == data.labels).float().mean()))


@pytest.mark.parametrize("batch_size", [3, 10])
def test_epoch_loss_does_not_depend_on_batching(tmp_path, batch_size):
    weights = torch.tensor([1.0, 3.0, 0.2])
    trainer = make_trainer(tmp_path, epochs=1, batch_size=batch_size, class_weights=weights.tolist())
    data = ToyClassification(10)
    trainer.module.eval()
    with torch.no_grad():
        logits = trainer.module({"points": data.points})
    want = F.cross_entropy(logits, data.labels, weight=weights)
    assert trainer.evaluate(data)["loss"] == pytest.approx(float(want), rel=1e-5)


def test_grad_clip_bounds_the_update(tmp_path):
    trainer = make_trainer(
        tmp_path,
        epochs=1,
        optimizer="sgd",
        momentum=0.0,
        weight_decay=0.0,
        lr=1.0,
        grad_clip=1e-3,
        limit_train_batches=1,
    )
    before = torch.cat([p.detach().flatten().clone() for p in trainer.module.parameters()])
    trainer.fit(ToyClassification(16))
    after = torch.cat([p.detach().flatten() for p in trainer.module.parameters()])
    assert 0 < float((after - before).norm()) <= 1e-3 * (1 + 1e-5)


def test_diverging_loss_raises(tmp_path):
    class Nan(ToyClassifier):
        def forward(self, batch):
            return super().forward(batch) * float("nan")

    with pytest.raises(GeolearnError, match="training diverged"):
        make_trainer(tmp_path, model=Nan(), epochs=1).fit(ToyClassification(16))


def test_plateau_and_early_stopping_need_validation(tmp_path):
    with pytest.raises(OptionError, match="need validation data"):
        make_trainer(tmp_path, schedule="plateau").fit(ToyClassification(16))


def test_deterministic_mode_is_restored(tmp_path):
    assert not torch.are_deterministic_algorithms_enabled()
    make_trainer(tmp_path, epochs=1, deterministic=True).fit(ToyClassification(16))
    assert not torch.are_deterministic_algorithms_enabled()


def test_predict_classification(tmp_path):
    trainer = make_trainer(tmp_path, epochs=1, batch_size=4)
    data = ToyClassification(10)
    pred = trainer.predict(data)
    assert pred.logits.shape == (10, 3)
    assert pred.source == [f"toy:{i}" for i in range(10)]
    assert torch.equal(pred.index, torch.arange(10))
    assert torch.equal(pred.ptr, torch.arange(11))
    assert torch.equal(pred.labels, pred.logits.argmax(1))


def test_segmentation_fit_evaluate_predict(tmp_path):
    train, val = ToySegmentation(16, seed=1), ToySegmentation(8, seed=2)
    trainer = make_trainer(tmp_path, model=ToySegmenter(), task="segment", epochs=8, batch_size=4, lr=0.05)
    result = trainer.fit(train, val)
    row = result.history[-1]
    assert {"train/loss", "train/point_accuracy", "val/accuracy", "val/miou", "val/point_accuracy"} <= set(
        row
    )
    assert row["val/accuracy"] > 0.8
    assert row["val/miou"] > 0.6
    assert len(row["val/per_part_iou"]) == 2

    pred = trainer.predict(val)
    faces = [len(s["face_labels"]) for s in val.samples]
    assert pred.logits.shape == (sum(faces), 2)
    assert pred.ptr.tolist() == [0, *torch.tensor(faces).cumsum(0).tolist()]
    # the evaluated accuracy is the mean over shapes of the correctly labelled area fraction
    truth = torch.cat([s["face_labels"] for s in val.samples])
    areas = torch.cat([s["face_areas"] for s in val.samples])
    fractions = []
    for s in range(len(faces)):
        sl = slice(int(pred.ptr[s]), int(pred.ptr[s + 1]))
        fractions.append(float((areas[sl] * (pred.labels[sl] == truth[sl])).sum() / areas[sl].sum()))
    assert trainer.evaluate(val)["accuracy"] == pytest.approx(sum(fractions) / len(fractions))


def test_history_nan_becomes_null_in_json(tmp_path):
    trainer = make_trainer(tmp_path, epochs=1)
    trainer.fit(ToyClassification(16), ToyClassification(2, seed=4))  # 2 val shapes: some classes absent
    rows = json.loads((tmp_path / "run" / "metrics.json").read_text())
    per_class = rows[0]["val/per_class_accuracy"]
    assert None in per_class
    assert all(v is None or 0 <= v <= 1 for v in per_class)
    assert not math.isnan(rows[0]["val/accuracy"])


def test_class_weights_must_match_the_classes(tmp_path):
    with pytest.raises(OptionError, match="class_weights: 2 weights, but the model predicts 3 classes"):
        make_trainer(tmp_path, epochs=1, class_weights=[1.0, 2.0]).fit(ToyClassification(16))


class Standardized(ToyClassifier):
    """A model with input statistics fitted on the training data (like the descriptor encoders)."""

    needs_fit = True

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(3))
        self.fits = 0

    def fit_normalizer(self, batches):
        points = torch.cat([b["points"].reshape(-1, 3) for b in batches])
        self.mean.copy_(points.mean(0))
        self.fits += 1

    def forward(self, batch):
        return super().forward({"points": batch["points"] - self.mean})


def test_normalizer_is_fitted_on_all_training_data_once(tmp_path):
    train = ToyClassification(20)
    trainer = make_trainer(tmp_path, model=Standardized(), epochs=1, limit_train_batches=1)
    trainer.fit(train, ToyClassification(8, seed=5))
    assert trainer.module.fits == 1
    torch.testing.assert_close(trainer.module.mean, train.points.reshape(-1, 3).mean(0))
    resumed = make_trainer(tmp_path, model=Standardized(), epochs=2, limit_train_batches=1)
    resumed.fit(train, ToyClassification(8, seed=5), resume=tmp_path / "run" / "last.pt")
    assert resumed.module.fits == 0  # the statistics came back with the checkpoint
    torch.testing.assert_close(resumed.module.mean, trainer.module.mean)


def test_cpu_allocator_is_tuned_on_cpu(tmp_path, monkeypatch):
    import geolearn.nn.perf

    calls = []
    monkeypatch.setattr(geolearn.nn.perf, "tune_cpu_allocator", lambda: calls.append(1))
    make_trainer(tmp_path, epochs=1, limit_train_batches=1).fit(ToyClassification(16))
    assert calls == [1]


def test_auxiliary_loss_is_optimised(tmp_path):
    """A model's ``auxiliary_loss()`` joins the training loss: here a term that pulls a parameter the
    task loss never touches towards 3 — it moves only because of the auxiliary term."""

    class WithAux(ToyClassifier):
        def __init__(self) -> None:
            super().__init__()
            self.free = torch.nn.Parameter(torch.zeros(()))
            self._aux = None

        def forward(self, batch):
            self._aux = (self.free - 3.0) ** 2 if self.training else None
            return super().forward(batch)

        def auxiliary_loss(self):
            return self._aux

    model = WithAux()
    make_trainer(
        tmp_path, model=model, epochs=3, optimizer="sgd", momentum=0.0, lr=0.1, weight_decay=0.0
    ).fit(ToyClassification(32))
    assert 2.5 < float(model.free.detach()) < 3.5


def test_restrict_to_category_scores_only_the_shapes_own_parts(tmp_path):
    """With ``restrict_to_category`` the model chooses among the parts ``part_mask`` allows, in the
    loss, evaluation and prediction; label 2 (never allowed, never true) is then never predicted."""

    class Masked(ToySegmentation):
        def __getitem__(self, i):
            return dict(super().__getitem__(i), part_mask=torch.tensor([True, True, False]))

    class Biased(ToySegmenter):
        def forward(self, batch):  # a model that prefers the disallowed label 2 by far
            out = super().forward(batch)
            return out + torch.tensor([0.0, 0.0, 50.0]).view(1, 3, 1)

    data = Masked(8)
    free = make_trainer(tmp_path, "free", model=Biased(3), task="segment", epochs=1)
    free.fit(data)
    assert (free.predict(data).labels == 2).all()
    restricted = make_trainer(
        tmp_path, "restricted", model=Biased(3), task="segment", epochs=1, restrict_to_category=True
    )
    restricted.fit(data)
    assert not (restricted.predict(data).labels == 2).any()
    metrics = restricted.evaluate(data)
    assert math.isfinite(metrics["loss"]) and metrics["loss"] < 5.0


def test_segmentation_restrict_checks_the_mask():
    from geolearn.train.tasks import MASKED_LOGIT, get_task

    task = get_task("segment")
    logits = torch.zeros(2, 3, 4)
    mask = torch.tensor([[True, False, True], [False, True, True]])
    out = task.restrict(logits, {"part_mask": mask})
    assert (out[0, 1] == MASKED_LOGIT).all() and (out[1, 0] == MASKED_LOGIT).all()
    assert (out[0, 0] == 0).all() and (out[1, 2] == 0).all()
    assert task.restrict(logits, {}) is logits
    with pytest.raises(OptionError, match="part_mask"):
        task.restrict(logits, {"part_mask": mask[:, :2]})
    assert get_task("classify").restrict(logits, {"part_mask": mask}) is logits
