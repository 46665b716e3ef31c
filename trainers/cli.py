"""Command line: ``python -m trainers train --config cpu_small --set key=value ...``.

``--config`` takes a preset name (``cpu_small``, ``paper_open``, ``paper_closed``) or a YAML file
written by ``TrainConfig.dump``; ``--set a.b=value`` overrides any field by its dotted path (the
value is parsed as YAML: ``--set economy.n_firms=3 --set sampler=env_runner``). Bad keys, values
or presets fail before any work, naming the key and the allowed values.
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

from trainers.config import TrainConfig

PRESETS = {
    "cpu_small": lambda: TrainConfig.cpu_small("open"),
    "paper_open": lambda: TrainConfig.paper("open"),
    "paper_closed": lambda: TrainConfig.paper("closed"),
}


def resolve_config(config: str, sets: list[str]) -> TrainConfig:
    """The TrainConfig named by ``--config`` with the ``--set`` overrides applied.

    Raises:
        ValueError: for an unknown preset, a missing file, a malformed ``--set`` or a bad field.
    """
    if config in PRESETS:
        base = PRESETS[config]()
    elif config.endswith((".yaml", ".yml")):
        path = Path(config)
        if not path.exists():
            raise ValueError(f"--config file {config!r} does not exist")
        base = TrainConfig.load(path)
    else:
        raise ValueError(
            f"--config must be a preset {sorted(PRESETS)} or a .yaml file; got {config!r}"
        )
    updates: dict[str, Any] = {}
    for item in sets:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects key=value; got {item!r}")
        updates[key.strip()] = yaml.safe_load(raw)
    return base.override(updates) if updates else base


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m trainers", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser("train", help="train the economy's agents with RLlib PPO")
    train.add_argument("--config", default="cpu_small", help=f"preset {sorted(PRESETS)} or YAML")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    train.add_argument("--name", default=None, help="run name (default: the preset or file stem)")
    train.add_argument("--runs-dir", default="runs", help="parent folder of runs (default: runs)")
    train.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    train.add_argument(
        "--overwrite", action="store_true", help="delete an existing run of this name first"
    )
    train.add_argument("--checkpoint-every", type=int, default=10, metavar="N")
    train.add_argument("--address", default=None, help="address of a running Ray cluster")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad arguments)."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        train_config = resolve_config(args.config, args.set)
        if args.checkpoint_every < 1:
            raise ValueError(f"--checkpoint-every must be >= 1; got {args.checkpoint_every}")
        if args.resume and args.overwrite:
            raise ValueError("--resume and --overwrite exclude each other")
    except ValueError as err:
        parser.error(str(err))
    name = args.name or Path(args.config).stem
    return train(train_config, name=name, args=args)


def train(train_config: TrainConfig, *, name: str, args: argparse.Namespace) -> int:
    """Run ``train`` and print the summary table last."""
    import ray
    import torch
    from tqdm import tqdm

    from rbc_env.perf import keep_freed_memory
    from trainers.run import RunPaths, iterate_training, plot_training, read_metrics, summary_table

    keep_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if args.address:
        ray.init(address=args.address)
    elif not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    paths = RunPaths(Path(args.runs_dir) / name)
    if args.overwrite and paths.root.exists():
        shutil.rmtree(paths.root)
    bar = tqdm(
        total=train_config.iterations,
        desc=f"train {name}",
        unit="it",
        disable=args.no_progress,
        file=sys.stderr,
    )

    def progress(row: dict[str, float]) -> None:
        bar.n = int(row["iteration"])
        bar.set_postfix(
            consumer=f"{row.get('reward/consumer_mean', float('nan')):.3g}",
            firm=f"{row.get('reward/firm_mean', float('nan')):.3g}",
            price=f"{row.get('econ/price_mean', float('nan')):.0f}",
            refresh=False,
        )
        bar.refresh()

    try:
        for _ in iterate_training(
            train_config,
            paths,
            resume=args.resume,
            checkpoint_every=args.checkpoint_every,
            on_iteration=progress,
        ):
            pass
    except ValueError as err:
        bar.close()
        print(f"error: {err}", file=sys.stderr)
        return 2
    bar.close()
    rows = read_metrics(paths.metrics)
    plot_training(rows, paths.plot, f"{name}: {train_config.economy.variant} economy")
    table = summary_table(rows)
    paths.summary.write_text(table + "\n", encoding="utf-8")
    print(f"run folder: {paths.root}  (metrics.csv, checkpoints/, plots/training.png)")
    print(table)
    return 0
