"""Rerun every experiment of ``experiments/configs/`` and write its results.

::

    python experiments/run_all.py                       # every experiment (hours: the lead schedules it)
    python experiments/run_all.py --only modelnet10-pointnet,labeleddb-face_features
    python experiments/run_all.py --dry-run             # print the commands, run nothing
    python experiments/run_all.py --smoke               # every config on a tiny budget, with a timing estimate
    python experiments/run_all.py --smoke --smoke-shapes 64 --smoke-epochs 2 --only modelnet10-pointnet

Each experiment is one YAML config in the format ``geolearn train --config`` reads; it runs as

    python -m geolearn train --config experiments/configs/<name>.yaml --out <results>/<name> --quiet --json

(``--data <data-dir>/<archive>`` is added when ``--data-dir`` is given; ``--smoke`` adds
``--max-shapes`` and ``--epochs``). After each run the script writes, under ``--results``
(default ``experiments/results``, or ``experiments/results-smoke`` with ``--smoke``):

- ``<name>/`` — the run directory (config, checkpoints, metrics, ``test_metrics.json``);
- ``figures/<name>-confusion.png`` and ``figures/<name>-curves.png``;
- ``results.md`` — one markdown table per task (accuracy / mean class accuracy or face accuracy /
  mean IoU, parameters, epochs, fit time, wall time) with, for every row, the exact command, seed,
  commit, date, wall time and machine load that produced it; ``results.json`` — the same, and more.

Extra test scores, recorded beside the plain one (``python -m geolearn eval <results>/<name> ... --json
--quiet --out <results>/<name>``, on the test split):

- ``--tta`` for experiments whose config augments with ``symmetry`` (predictions averaged over the
  poses the run was trained on);
- ``--smooth`` for segmentation experiments (per-face probabilities smoothed over each mesh's
  faces), and ``--tta --smooth`` when both apply.

``--extra-scores-only`` (alias ``--tta-only``) computes just those for runs already trained (the
ones not recorded yet).

**Ensembles** (``experiments/ensembles/<name>.yaml``: ``members``, a list of experiment names, and
``kind``, ``learned`` or ``hybrid``) are scored after the experiments, from their members' finished
run directories, with ``python -m geolearn eval <results>/<member> ... --json --quiet --out
<results>/<name>`` (the members' probabilities averaged): plain, and with the extra options any member
calls for. They get a table of their own in ``results.md``; ``--only`` names them as it names
experiments.

``--smoke`` also estimates how long one epoch of the full data takes and how many epochs fit in
``--budget-minutes`` (default 30) of training: from the time of the last smoke epoch (use
``--smoke-epochs 2`` to leave the first epoch's warm-up out), per training shape with validation
shapes weighted by ``EVAL_COST``, scaled to the full split sizes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "experiments" / "configs"
ENSEMBLES = ROOT / "experiments" / "ensembles"
ENSEMBLE_KINDS = ("learned", "hybrid")
SMOKE_SHAPES = 32  # per split: enough for every class of ModelNet10 / category of LabeledDB to appear
# Evaluating a shape costs about 0.3 of training on it (forward only; measured for PointNet, VoxNet,
# MVCNN and PointNet segmentation: 0.18-0.29), which the epoch-time estimate uses to weigh the
# validation shapes of an epoch.
EVAL_COST = 0.3


def _configs(only: str | None) -> list[Path]:
    """The experiment configs, then the ensembles (which score finished experiments)."""
    paths = sorted(CONFIGS.glob("*.yaml")) + sorted(ENSEMBLES.glob("*.yaml"))
    if only:
        wanted = [n.strip() for n in only.split(",") if n.strip()]
        known = {p.stem for p in paths}
        unknown = [n for n in wanted if n not in known]
        if unknown:
            raise SystemExit(
                f"run_all.py: error: --only {', '.join(unknown)}: no such experiment; have {', '.join(sorted(known))}"
            )
        paths = [p for p in paths if p.stem in wanted]
    return paths


def _command(
    config: Path, out: Path, data_dir: Path | None, smoke: tuple[int, int] | None, device: str
) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "geolearn",
        "train",
        "--config",
        str(config.relative_to(ROOT)),
        "--out",
        _rel(out),
    ]
    values = yaml.safe_load(config.read_text())
    if data_dir is not None and values.get("data"):
        cmd += ["--data", _rel(data_dir / Path(values["data"]).name)]
    if smoke is not None:
        cmd += ["--max-shapes", str(smoke[0]), "--epochs", str(smoke[1])]
    if device != "auto":
        cmd += ["--device", device]
    return [*cmd, "--quiet", "--json"]


def _rel(path: Path) -> str:
    """``path`` relative to the project root when it is inside it (commands are run from there)."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def _display(cmd: list[str]) -> str:
    return shlex.join(["python", *cmd[1:]])


def _full_sizes(config: Path, data_dir: Path | None) -> dict[str, int]:
    """Shapes per split of the full data set of ``config`` (datasets listed, nothing preprocessed)."""
    from geolearn.jobs.training import split_dataset
    from geolearn.train.config import load_experiment_config

    cfg = load_experiment_config(config)
    if data_dir is not None and cfg.data:
        from dataclasses import replace

        cfg = replace(cfg, data=str(data_dir / Path(cfg.data).name))
    elif cfg.data and not Path(cfg.data).is_absolute():
        from dataclasses import replace

        cfg = replace(cfg, data=str(ROOT / cfg.data))
    return {s: len(split_dataset(cfg, s)) for s in ("train", "val", "test")}


def _estimate(
    config: Path, data_dir: Path | None, report: dict[str, Any], run: Path, budget_minutes: float
) -> dict[str, Any]:
    """Minutes per epoch of the full data, from the last smoke epoch's time: an epoch of ``t``
    seconds on ``Nt`` training and ``Nv`` validation shapes costs ``t / (Nt + EVAL_COST·Nv)`` per
    training shape; the full epoch scales that to the full split sizes."""
    from geolearn.viz.plots import read_history

    full = _full_sizes(config, data_dir)
    last = read_history(run)[-1]
    nt, nv = report["shapes"]["train"], report["shapes"]["val"]
    per_shape = float(last["time"]) / (nt + EVAL_COST * nv)
    full_epoch = per_shape * (full["train"] + EVAL_COST * full["val"])
    return {
        "full_shapes": full,
        "smoke_shapes": report["shapes"],
        "timed_epoch": int(last["epoch"]) + 1,
        "smoke_epoch_seconds": round(float(last["time"]), 2),
        "train_ms_per_shape": round(1000.0 * per_shape, 1),
        "full_epoch_minutes": full_epoch / 60.0,
        "epochs_in_budget": math.floor(budget_minutes * 60.0 / full_epoch),
        "preprocess_seconds_per_shape": round(
            report["seconds"]["preprocess"] / max(1, sum(report["shapes"].values())), 3
        ),
    }


def _figures(name: str, run: Path, report: dict[str, Any], figures: Path) -> list[Path]:
    from geolearn.viz.plots import plot_confusion, plot_training_curves, read_history

    out = [
        plot_confusion(
            report["test"]["confusion"],
            report["classes"],
            figures / f"{name}-confusion.png",
            title=f"{name}, test split",
        )
    ]
    out.append(plot_training_curves({name: read_history(run)}, figures / f"{name}-curves.png", title=name))
    return out


def _row(name: str, report: dict[str, Any], entry: dict[str, Any]) -> list[str]:
    from geolearn.jobs.report import fmt_number

    t = report["test"]
    second = t.get("mean_class_accuracy") if report["task"] == "classify" else t.get("miou")
    return [
        name,
        report["encoder"],
        fmt_number(t.get("accuracy"), percent=True),
        fmt_number(second, percent=True),
        fmt_number(int(report["parameters"])),
        f"{report['epochs']} (best {report['best_epoch']})",
        fmt_number(round(report["seconds"]["fit"] / 60.0, 1)),
        fmt_number(round(entry["wall_seconds"] / 60.0, 1)),
    ]


# the extra test scores: entry key -> geolearn eval options
EXTRA_SCORES = {"tta": ("--tta",), "smooth": ("--smooth",), "tta_smooth": ("--tta", "--smooth")}
EXTRA_HEADERS = {"tta": "with test-time augmentation", "smooth": "smoothed", "tta_smooth": "TTA + smoothed"}


def _extra_scores(config: Path, task: str) -> list[str]:
    """Which :data:`EXTRA_SCORES` an experiment gets: TTA with symmetry augmentation, smoothing for
    segmentation, both when both apply."""
    keys = ["tta"] if _augments_symmetry(config) else []
    if task == "segment":
        keys += ["smooth", "tta_smooth"] if keys else ["smooth"]
    return keys


def _extra_score(
    name: str, run: Path, device: str, key: str, members: list[Path] | None = None
) -> dict[str, Any]:
    """Score ``run`` on its test split with ``geolearn eval`` and the options of ``EXTRA_SCORES[key]``
    (``key`` ``"plain"``: none); with ``members``, score their ensemble and write into ``run``."""
    where = _rel(run)  # commands run from the project root
    scored = [_rel(m) for m in members] if members else [where]
    cmd = [
        sys.executable,
        "-m",
        "geolearn",
        "eval",
        *scored,
        *EXTRA_SCORES.get(key, ()),
        "--json",
        "--quiet",
        "--out",
        where,
    ]
    if device != "auto":
        cmd += ["--device", device]
    print(f"    {name}: {_display(cmd)}", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
    if proc.returncode != 0:
        return {"command": _display(cmd), "error": f"exit code {proc.returncode}"}
    result = json.loads(proc.stdout)
    m = result["metrics"]
    keep = ("accuracy", "mean_class_accuracy", "miou", "point_accuracy", "loss")
    return {
        "command": _display(cmd),
        "poses": result["poses"],
        "wall_seconds": round(time.perf_counter() - t0, 1),
        "test": {k: m[k] for k in keep if k in m},
    }


def _ensemble(path: Path) -> dict[str, Any]:
    """The checked contents of an ensemble file: ``members`` (≥ 2 experiment names) and ``kind``."""
    values = yaml.safe_load(path.read_text()) or {}
    members, kind = values.get("members"), values.get("kind")
    known = {p.stem for p in CONFIGS.glob("*.yaml")}
    if set(values) != {"members", "kind"}:
        raise SystemExit(
            f"run_all.py: {_rel(path)}: expected the keys members and kind, got {sorted(values)}"
        )
    if not isinstance(members, list) or len(members) < 2 or not all(m in known for m in members):
        raise SystemExit(
            f"run_all.py: {_rel(path)}: members must list two or more experiments of {_rel(CONFIGS)}"
        )
    if kind not in ENSEMBLE_KINDS:
        raise SystemExit(
            f"run_all.py: {_rel(path)}: kind must be one of {', '.join(ENSEMBLE_KINDS)}, got {kind!r}"
        )
    return {"members": members, "kind": kind}


def _score_ensemble(path: Path, results_dir: Path, device: str, commit: str) -> dict[str, Any]:
    """The ensemble's test scores (plain and the extras its members call for) as a results entry."""
    spec = _ensemble(path)
    runs = [results_dir / m for m in spec["members"]]
    entry: dict[str, Any] = {"ensemble": spec, "commit": commit, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    missing = [
        m for m, r in zip(spec["members"], runs, strict=True) if not (r / "test_metrics.json").is_file()
    ]
    if missing:
        return entry | {
            "command": "—",
            "error": f"no finished run of {', '.join(missing)} in {_rel(results_dir)}",
        }
    task = json.loads((runs[0] / "test_metrics.json").read_text())["task"]
    keys = {k for m in spec["members"] for k in _extra_scores(CONFIGS / f"{m}.yaml", task)}
    t0 = time.perf_counter()
    for key in ["plain", *[k for k in EXTRA_SCORES if k in keys]]:
        entry[key] = _extra_score(path.stem, results_dir / path.stem, device, key, members=runs)
        if "error" in entry[key]:
            entry["error"] = f"{key}: {entry[key]['error']}"
    entry["command"] = entry["plain"]["command"]
    entry["task"] = task
    entry["wall_seconds"] = round(time.perf_counter() - t0, 1)
    entry["load_average"] = [round(x, 2) for x in os.getloadavg()]
    return entry


def _augments_symmetry(config: Path) -> bool:
    values = yaml.safe_load(config.read_text()) or {}
    return "symmetry" in (values.get("augment") or {})


def _first_upper(text: str) -> str:
    """``text`` with its first letter upper-cased (``str.capitalize`` would lower "TTA")."""
    return text[:1].upper() + text[1:]


def _write_results(results_dir: Path, entries: dict[str, dict[str, Any]], smoke: bool) -> None:
    from geolearn.jobs.report import markdown_table

    lines = [
        "# Experiment results" + (" (smoke budget: a few shapes, 1-2 epochs — NOT results)" if smoke else ""),
        "",
    ]
    for task, (first, second) in (
        ("classify", ("accuracy %", "mean class acc. %")),
        ("segment", ("face accuracy %", "mean IoU %")),
    ):
        rows = [(n, e) for n, e in entries.items() if e.get("report", {}).get("task") == task]
        if not rows:
            continue
        lines += [f"## {task}", ""]
        headers = ["experiment", "encoder", first, second, "parameters", "epochs", "fit min", "wall min"]
        extras = [k for k in EXTRA_SCORES if any("test" in e.get(k, {}) for _, e in rows)]
        headers += [EXTRA_HEADERS[k] for k in extras]
        if smoke:
            headers += ["est. full epoch min", f"epochs in {entries[rows[0][0]]['budget_minutes']} min"]
        table = []
        for name, e in rows:
            row = _row(name, e["report"], e)
            second_key = "mean_class_accuracy" if task == "classify" else "miou"
            for k in extras:
                t = e.get(k, {}).get("test")
                poses = f" ({e[k]['poses']} poses)" if t and e[k]["poses"] > 1 else ""
                row.append(f"{100 * t['accuracy']:.1f} / {100 * t[second_key]:.1f}{poses}" if t else "—")
            if smoke:
                est = e["estimate"]
                row += [f"{est['full_epoch_minutes']:.1f}", str(est["epochs_in_budget"])]
            table.append(row)
        lines.append(markdown_table(headers, table, [False, False, *([True] * (len(headers) - 2))]))
        for name, e in rows:
            figs = " ".join(f"[{Path(f).name}]({os.path.relpath(f, results_dir)})" for f in e["figures"])
            lines += [
                f"- **{name}**: `{e['command']}` — seed {e['seed']}, commit `{e['commit']}`, "
                f"{e['date']}, wall time {e['wall_seconds']:.0f} s, "
                + (f"CPU time {e['cpu_seconds']:.0f} s " if "cpu_seconds" in e else "CPU time not recorded ")
                + f"(torch threads: {e.get('torch_threads', 'default')}), load average {e['load_average']}. "
                + (f"*{e['note']}.* " if e.get("note") else "")
                + "".join(
                    f"{_first_upper(EXTRA_HEADERS[k])}: `{e[k]['command']}` ({e[k].get('wall_seconds', 0):.0f} s). "
                    for k in EXTRA_SCORES
                    if e.get(k)
                )
                + figs,
            ]
        lines.append("")
    ensembles = [(n, e) for n, e in entries.items() if "ensemble" in e and "plain" in e]
    if ensembles:
        keys = ["plain", *[k for k in EXTRA_SCORES if any("test" in e.get(k, {}) for _, e in ensembles)]]
        lines += [
            "## ensembles",
            "",
            "The members' probabilities averaged (`geolearn eval RUN_DIR RUN_DIR ...`), test split; accuracy % "
            "/ mean class accuracy % (classify) or face accuracy % / mean IoU % (segment).",
            "",
        ]
        table = []
        for name, e in ensembles:
            second_key = "mean_class_accuracy" if e.get("task") == "classify" else "miou"
            row = [name, e["ensemble"]["kind"], ", ".join(e["ensemble"]["members"])]
            for k in keys:
                t = e.get(k, {}).get("test")
                row.append(f"{100 * t['accuracy']:.1f} / {100 * t[second_key]:.1f}" if t else "—")
            table.append(row)
        headers = ["ensemble", "kind", "members", *[EXTRA_HEADERS.get(k, k) for k in keys]]
        lines.append(markdown_table(headers, table, [False, False, False, *([True] * len(keys))]))
        for name, e in ensembles:
            lines.append(
                f"- **{name}**: commit `{e['commit']}`, {e['date']}, wall time {e.get('wall_seconds', 0):.0f} s. "
                + "".join(
                    f"{_first_upper(EXTRA_HEADERS.get(k, k))}: `{e[k]['command']}`. "
                    for k in keys
                    if e.get(k)
                )
            )
        lines.append("")
    failed = {n: e for n, e in entries.items() if e.get("error")}
    if failed:
        lines += ["## failed", ""]
        lines += [f"- **{n}**: `{e['command']}` — {e['error']}" for n, e in failed.items()]
    for path, text in (
        (results_dir / "results.md", "\n".join(lines) + "\n"),
        (results_dir / "results.json", json.dumps(entries, indent=2, default=str) + "\n"),
    ):
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)  # atomic: a parallel run_all.py never reads half a file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("::")[0].strip())
    parser.add_argument("--only", default=None, help="comma-separated experiment names (config file stems)")
    parser.add_argument("--dry-run", action="store_true", help="print the commands without running them")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a tiny budget (--smoke-shapes, --smoke-epochs), with a timing estimate",
    )
    parser.add_argument("--smoke-shapes", type=int, default=SMOKE_SHAPES, help="--max-shapes of a smoke run")
    parser.add_argument(
        "--smoke-epochs",
        type=int,
        default=1,
        help="epochs of a smoke run (>= 2: time the last, without warm-up)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder holding the archives (default: the configs' paths)",
    )
    parser.add_argument(
        "--results", type=Path, default=None, help="output folder (default experiments/results[-smoke])"
    )
    parser.add_argument(
        "--budget-minutes", type=float, default=30.0, help="training budget per model for --smoke estimates"
    )
    parser.add_argument("--device", default="auto", help="passed to geolearn train")
    parser.add_argument(
        "--extra-scores-only",
        "--tta-only",
        dest="extra_only",
        action="store_true",
        help="no training: the extra test scores (--tta, --smooth) of finished runs not recorded yet",
    )
    args = parser.parse_args(argv)

    from geolearn.jobs.report import git_commit

    results_dir = args.results or ROOT / "experiments" / ("results-smoke" if args.smoke else "results")
    smoke = (args.smoke_shapes, args.smoke_epochs) if args.smoke else None
    configs = _configs(args.only)
    data_dir = args.data_dir.resolve() if args.data_dir is not None else None
    if args.dry_run:
        for config in configs:
            if config.parent == ENSEMBLES:
                members = [_rel(results_dir / m) for m in _ensemble(config)["members"]]
                print(shlex.join(["python", "-m", "geolearn", "eval", *members, "--json", "--quiet"]))
            else:
                print(_display(_command(config, results_dir / config.stem, data_dir, smoke, args.device)))
        return 0
    results_dir.mkdir(parents=True, exist_ok=True)
    summary = results_dir / "results.json"
    entries: dict[str, dict[str, Any]] = json.loads(summary.read_text()) if summary.is_file() else {}
    commit = git_commit(ROOT)
    status = 0
    if args.extra_only:
        for config in configs:
            name = config.stem
            if config.parent == ENSEMBLES:
                continue  # scored whole, by a run without --extra-scores-only
            keys = _extra_scores(config, entries.get(name, {}).get("report", {}).get("task", ""))
            if not keys or "report" not in entries.get(name, {}):
                print(f"{name}: no finished run with extra scores; skipped", file=sys.stderr)
                continue
            for key in keys:
                if "test" in entries[name].get(key, {}):
                    continue  # scored already
                score = _extra_score(name, results_dir / name, args.device, key)
                status |= int("error" in score)
                entries = json.loads(summary.read_text())  # merge with what parallel runs wrote
                entries[name][key] = score
                _write_results(results_dir, entries, args.smoke)
        return status
    for i, config in enumerate(configs, 1):
        name = config.stem
        if config.parent == ENSEMBLES:
            if args.smoke:
                continue  # a smoke budget trains no members worth averaging
            print(
                f"[{i}/{len(configs)}] {name}: the ensemble of {', '.join(_ensemble(config)['members'])}",
                file=sys.stderr,
            )
            entry = _score_ensemble(config, results_dir, args.device, commit)
            status |= int("error" in entry)
            entries = json.loads(summary.read_text()) if summary.is_file() else entries
            entries[name] = entry
            _write_results(results_dir, entries, args.smoke)
            continue
        cmd = _command(config, results_dir / name, data_dir, smoke, args.device)
        print(f"[{i}/{len(configs)}] {name}: {_display(cmd)}", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True, check=False)
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        wall = time.perf_counter() - t0
        # CPU time of the run and its preprocessing workers: comparable across machine loads and
        # thread counts, unlike wall time on a shared 2-core machine
        cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
        values = yaml.safe_load(config.read_text())
        entry: dict[str, Any] = {
            "command": _display(cmd),
            "seed": values.get("seed", 0),
            "commit": commit,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "wall_seconds": round(wall, 1),
            "cpu_seconds": round(cpu, 1),
            "load_average": [round(x, 2) for x in os.getloadavg()],
            "torch_threads": os.environ.get("OMP_NUM_THREADS", "default"),
            "figures": [],
        }
        if proc.returncode != 0:
            entry["error"] = f"exit code {proc.returncode}"
            status = 1
        else:
            report = json.loads(proc.stdout)
            entry["report"] = report
            entry["figures"] = [
                str(f) for f in _figures(name, results_dir / name, report, results_dir / "figures")
            ]
            if args.smoke:
                entry["budget_minutes"] = args.budget_minutes
                entry["estimate"] = _estimate(
                    config, data_dir, report, results_dir / name, args.budget_minutes
                )
                entry["estimate"]["configured_epochs"] = values.get("epochs")
            for key in _extra_scores(config, report["task"]):
                entry[key] = _extra_score(name, results_dir / name, args.device, key)
                status |= int("error" in entry[key])
            t = report["test"]
            score = t.get("mean_class_accuracy") if report["task"] == "classify" else t.get("miou")
            print(
                f"[{i}/{len(configs)}] {name}: accuracy {t['accuracy']:.4f}, second score {score}, "
                f"wall {wall:.0f} s",
                file=sys.stderr,
                flush=True,
            )
        # Another run_all.py may be running other experiments into the same folder (one per core):
        # merge with what is on disk now instead of overwriting it with what was there at start.
        if summary.is_file():
            entries = json.loads(summary.read_text())
        entries[name] = entry
        _write_results(results_dir, entries, args.smoke)
    print(f"results: {results_dir / 'results.md'}", file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
