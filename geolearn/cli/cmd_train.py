"""``geolearn train``: train a registered encoder on a dataset, then score it on the test split.

::

    geolearn train --task classify --encoder pointnet --epochs 50 --out runs/pointnet
    geolearn train --task segment --encoder pointnet --data LabeledDB.zip --out runs/psb-pointnet
    torchrun --nproc-per-node 2 -m geolearn train ...      # DistributedDataParallel

The options are one :class:`~geolearn.train.config.ExperimentConfig`, built in this order (later wins):
its defaults (or, with ``--resume``, the run's own ``config.yaml``), ``--config FILE.yaml``, the
dedicated flags (``--epochs``, ``--lr``, ...), then each ``--set key=value``. The encoder's registry
entry says which representations to build; each split is preprocessed into the cache first;
validation is carved from the training split; the model with the best validation metric is scored
on the official test split and the result written to ``RUN_DIR/test_metrics.json`` and printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from geolearn.cli import emit_json
from geolearn.errors import OptionError

if TYPE_CHECKING:  # the train package imports torch: only when a run starts
    from geolearn.train.config import ExperimentConfig

__all__ = ["register", "run"]

# dedicated flag → config key (flags default to None: "not given", so they never override a file)
_FLAGS = {
    "task": "task",
    "encoder": "encoder",
    "data": "data",
    "epochs": "epochs",
    "max_shapes": "max_shapes",
    "batch_size": "batch_size",
    "lr": "lr",
    "seed": "seed",
    "workers": "num_workers",
}


class _HelpWithEncoders(argparse.Action):
    """``-h``: the usual help plus the registered encoders (imported only when asked: it loads torch)."""

    def __init__(self, option_strings: list[str], dest: str, **kwargs: Any) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="show this help and exit"
        )

    def __call__(self, parser: argparse.ArgumentParser, *args: Any, **kwargs: Any) -> None:
        from geolearn.nn.registry import encoder_table

        rows = encoder_table()
        width = max(len(r["name"]) for r in rows)
        lines = [f"  {r['name']:{width}s}  {','.join(r['tasks']):16s}  {r['description']}" for r in rows]
        parser.epilog = "registered encoders (name, tasks):\n" + "\n".join(lines)
        parser.print_help()
        parser.exit()


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train an encoder on a dataset and score it on the test split",
        description=__doc__.split("::")[0].strip()
        + "\n\nOptions are built from: defaults (or the run's config.yaml with --resume) < --config < flags < --set.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_help=False,
    )
    p.add_argument("-h", "--help", action=_HelpWithEncoders)
    p.add_argument(
        "--task", choices=("classify", "segment"), default=None, help="classify shapes or segment faces"
    )
    p.add_argument("--encoder", default=None, help="a registered encoder (listed below)")
    p.add_argument("--data", default=None, help="dataset archive or folder (default: the embedded dataset)")
    p.add_argument("--out", required=True, type=Path, help="run directory (created)")
    p.add_argument("--epochs", type=int, default=None, help="training epochs (default 100)")
    p.add_argument("--max-shapes", type=int, default=None, help="keep the first N shapes of each split")
    p.add_argument("--batch-size", type=int, default=None, help="shapes per batch and process (default 32)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default 1e-3)")
    p.add_argument("--seed", type=int, default=None, help="training seed (default 0)")
    p.add_argument("--workers", type=int, default=None, help="DataLoader worker processes (default 0)")
    p.add_argument(
        "--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda, cuda:N or mps"
    )
    p.add_argument(
        "--config", type=Path, default=None, help="YAML file of options (flat keys, as config.yaml)"
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set any option, e.g. --set schedule=step --set model_kwargs='{k: 10}' (repeatable)",
    )
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last.pt")
    p.add_argument("--quiet", action="store_true", help="no progress bars or per-epoch lines on stderr")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from geolearn.train.config import load_experiment_config, parse_overrides

    out: Path = args.out
    base = None
    if args.resume:
        if not (out / "last.pt").is_file() or not (out / "config.yaml").is_file():
            raise OptionError(f"--resume: {out} holds no run to resume (no last.pt and config.yaml)")
        base = load_experiment_config(out / "config.yaml")
    overrides: dict[str, Any] = {
        key: getattr(args, flag) for flag, key in _FLAGS.items() if getattr(args, flag) is not None
    }
    overrides.update(parse_overrides(args.set))
    config = load_experiment_config(args.config, overrides, base=base)
    if base is not None:  # the data and the model must be the run's own (training options: see Trainer)
        saved, now = base.to_flat_dict(), config.to_flat_dict()
        changed = [k for k in saved if k not in dataclasses.asdict(config.train) and saved[k] != now[k]]
        if changed:
            detail = ", ".join(f"{k} (run {saved[k]!r}, now {now[k]!r})" for k in changed)
            raise OptionError(f"--resume: cannot change {detail}")
    return _train(config, args)


def _train(config: ExperimentConfig, args: argparse.Namespace) -> int:
    import torch

    from geolearn.jobs.training import train_experiment
    from geolearn.train import choose_device
    from geolearn.train.distributed import init_distributed, rank_device
    from geolearn.train.rundir import to_json

    device = rank_device(choose_device(args.device))
    dist = init_distributed(device)
    quiet = args.quiet or not dist.is_main  # progress bars also need a terminal (see Trainer)
    logging.basicConfig(
        level=logging.WARNING if quiet else logging.INFO, format="%(message)s", stream=sys.stderr
    )
    report = train_experiment(config, args.out, device=device, quiet=quiet, resume=args.resume).report
    if dist.is_main:
        if args.json:
            emit_json(to_json(report))
        else:
            _write_text(report, sys.stdout)
    if torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
    return 0


def _write_text(report: dict[str, Any], out: Any) -> None:
    def fmt(metrics: dict[str, Any]) -> str:
        keys = ("loss", "accuracy", "mean_class_accuracy", "miou", "point_accuracy")
        return "  ".join(f"{k} {metrics[k]:.4f}" for k in keys if isinstance(metrics.get(k), float))

    shapes = ", ".join(f"{k} {v}" for k, v in report["shapes"].items())
    out.write(
        f"{report['encoder']} {report['task']} on {report['data'] or 'the embedded dataset'} ({shapes})\n"
    )
    stop = " (stopped early)" if report["stopped_early"] else ""
    out.write(f"epochs: {report['epochs']}{stop}; best validation epoch: {report['best_epoch']}\n")
    out.write(f"validation (best epoch): {fmt(report['val'])}\n")
    out.write(f"test (best weights):     {fmt(report['test'])}\n")
    out.write(f"run directory: {report['run_dir']}\n")
