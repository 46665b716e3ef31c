"""Command line: ``python -m trainers train|sweep|truth|best-response ...``.

``train --config cpu_small --set key=value`` trains the RBC economy; ``best-response RUN_DIR``
checks a trained run's ε-meta-equilibrium (``trainers.best_response``).

``truth --economy g1`` trains on a ground-truth economy of the growth family and prints its
accuracy row (``trainers.truth``); its ``--set`` keys are ``GrowthTrainConfig`` fields
(``--set economy.action=quantity --set batch_size=512``).

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

from trainers.config import AGENT_TYPES, BestResponseParams, TrainConfig
from trainers.growth_config import GrowthTrainConfig
from trainers.settings import PRESETS, resolve_config, resolve_growth_config


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

    sweep = sub.add_parser("sweep", help="a Tune grid over seeds and settings, trials in parallel")
    sweep.add_argument("--config", default="cpu_small", help=f"preset {sorted(PRESETS)} or YAML")
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    sweep.add_argument("--seeds", type=int, nargs="+", default=[0, 1], metavar="SEED")
    sweep.add_argument(
        "--grid", action="append", default=[], metavar="KEY=V1,V2", help="values to sweep"
    )
    sweep.add_argument("--name", default=None, help="sweep name (default: <config>_sweep)")
    sweep.add_argument("--runs-dir", default="runs", help="parent folder of runs (default: runs)")
    sweep.add_argument("--checkpoint-every", type=int, default=10, metavar="N")
    sweep.add_argument("--cpus-per-trial", type=int, default=1, metavar="N")
    sweep.add_argument("--address", default=None, help="address of a running Ray cluster")

    truth = sub.add_parser(
        "truth", help="train on a ground-truth economy and score the policy against the truth"
    )
    truth.add_argument(
        "--economy",
        default="g1",
        help="preset (g1, g2, g3, g3_log, g4_h<H>, g5_n<N>, g6_n<N>, g7_restricted, g7_half) "
        "or a GrowthTrainConfig YAML file",
    )
    truth.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    truth.add_argument("--seconds", type=float, default=None, help="training time budget (s)")
    truth.add_argument("--iterations", type=int, default=None, help="training iterations")
    truth.add_argument(
        "--eval-every", type=int, default=0, metavar="N", help="measure λ every N iterations"
    )
    truth.add_argument("--name", default=None, help="run name (default: truth_<economy>)")
    truth.add_argument("--runs-dir", default="runs", help="parent folder of runs (default: runs)")
    truth.add_argument(
        "--overwrite", action="store_true", help="delete an existing run of this name first"
    )
    truth.add_argument("--no-progress", action="store_true", help="no progress bar")
    truth.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")

    br = sub.add_parser(
        "best-response",
        help="ε-meta-equilibrium check of a training run: each type deviates alone",
    )
    br.add_argument("run_dir", help="a run folder of `train` (runs/<name>)")
    br.add_argument(
        "--types", default=",".join(AGENT_TYPES), help="comma-separated agent types to test"
    )
    brp = BestResponseParams()
    br.add_argument(
        "--iterations", type=int, default=brp.iterations, help="best-response iterations"
    )
    br.add_argument(
        "--episodes", type=int, default=brp.episodes, help="evaluation episodes (before, after)"
    )
    br.add_argument("--seed", type=int, default=brp.seed, help="seed of the deviation runs")
    br.add_argument(
        "--method",
        choices=["ppo", "pg"],
        default=brp.method,
        help="the run's PPO settings, or the reference's vanilla policy gradient",
    )
    br.add_argument(
        "--optimizer",
        choices=["restore", "fresh"],
        default=brp.optimizer,
        help="continue each type's Adam state from the checkpoint, or start a fresh Adam",
    )
    br.add_argument(
        "--agents",
        type=int,
        default=brp.agents,
        help="also test N single consumers and N single firms deviating alone",
    )

    fx = sub.add_parser(
        "fixed-taxes", help="a run's learned government vs fixed tax rates (same consumers, firms)"
    )
    fx.add_argument("run_dir", help="a run folder of `train` (runs/<name>)")
    fx.add_argument(
        "--rates", default="0.2,0.4,0.6,0.8", help="comma-separated tax rates (fractions)"
    )
    fx.add_argument("--episodes", type=int, default=256, help="evaluation episodes per policy")
    fx.add_argument("--seed", type=int, default=0, help="seed of the evaluation economies")
    return parser


def grid_settings(seeds: list[int], grid: list[str]) -> list[list[str]]:
    """Every combination of the seeds and ``--grid key=v1,v2`` values, as ``--set`` lists.

    Raises:
        ValueError: for a malformed ``--grid`` item.
    """
    combos: list[list[str]] = [[f"seed={s}"] for s in seeds]
    for item in grid:
        key, sep, raw = item.partition("=")
        values = [v for v in raw.split(",") if v]
        if not sep or not key or not values:
            raise ValueError(f"--grid expects key=v1,v2,...; got {item!r}")
        combos = [c + [f"{key}={v}"] for c in combos for v in values]
    return combos


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status (2 for bad arguments)."""
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "fixed-taxes":
        return fixed_taxes_command(args, parser)
    if args.command == "best-response":
        return best_response_command(args, parser)
    if args.command == "truth":
        try:
            growth_config = resolve_growth_config(
                args.economy, args.set, seconds=args.seconds, iterations=args.iterations
            )
            if args.eval_every < 0:
                raise ValueError(f"--eval-every must be >= 0; got {args.eval_every}")
        except ValueError as err:
            parser.error(str(err))
        name = args.name or f"truth_{Path(args.economy).stem}"
        return truth(growth_config, name=name, args=args)
    try:
        train_config = resolve_config(args.config, args.set)
        if args.checkpoint_every < 1:
            raise ValueError(f"--checkpoint-every must be >= 1; got {args.checkpoint_every}")
        if getattr(args, "resume", False) and getattr(args, "overwrite", False):
            raise ValueError("--resume and --overwrite exclude each other")
    except ValueError as err:
        parser.error(str(err))
    if args.command == "sweep":
        try:
            combos = grid_settings(args.seeds, args.grid)
            for combo in combos:  # every trial's config is checked before any work
                resolve_config(args.config, args.set + combo)
        except ValueError as err:
            parser.error(str(err))
        return sweep(combos, name=args.name or f"{Path(args.config).stem}_sweep", args=args)
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


def best_response_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``best-response``: write RUN_DIR/best_response.{json,md}; print the table last."""
    import json

    import ray

    from trainers.best_response import format_best_responses, load_run, run_best_response

    types = [t.strip() for t in args.types.split(",") if t.strip()]
    try:
        bad = [t for t in types if t not in AGENT_TYPES]
        if bad or not types:
            raise ValueError(f"--types must be among {list(AGENT_TYPES)}; got {args.types!r}")
        params = BestResponseParams(
            iterations=args.iterations,
            episodes=args.episodes,
            seed=args.seed,
            method=args.method,
            agents=args.agents,
            optimizer=args.optimizer,
        )
        load_run(args.run_dir)  # clear errors before Ray starts
    except ValueError as err:
        parser.error(str(err))
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    results = run_best_response(args.run_dir, params, types=types)
    table = format_best_responses(results)
    root = Path(args.run_dir)
    rows = [r.to_dict() for r in results]
    (root / "best_response.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    (root / "best_response.md").write_text(table + "\n", encoding="utf-8")
    print(f"written: {root / 'best_response.md'}, {root / 'best_response.json'}")
    print(table)
    return 0


def fixed_taxes_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``fixed-taxes``: write RUN_DIR/fixed_taxes.{json,md}; print the table last."""
    import json
    from dataclasses import asdict

    import ray

    from trainers.best_response import format_tax_policies, load_run, run_fixed_taxes, tax_index

    try:
        try:
            rates = [float(r) for r in args.rates.split(",") if r.strip()]
        except ValueError as err:
            raise ValueError(
                f"--rates must be comma-separated numbers; got {args.rates!r}"
            ) from err
        if not rates:
            raise ValueError("--rates must name at least one rate")
        if args.episodes < 2:
            raise ValueError(f"--episodes must be >= 2; got {args.episodes}")
        config, _ = load_run(args.run_dir)
        for r in rates:
            tax_index(config, r)
    except ValueError as err:
        parser.error(str(err))
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    results = run_fixed_taxes(args.run_dir, rates, episodes=args.episodes, seed=args.seed)
    table = format_tax_policies(results)
    root = Path(args.run_dir)
    rows = [asdict(r) for r in results]
    (root / "fixed_taxes.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    (root / "fixed_taxes.md").write_text(table + "\n", encoding="utf-8")
    print(f"written: {root / 'fixed_taxes.md'}, {root / 'fixed_taxes.json'}")
    print(table)
    return 0


def truth(train_config: GrowthTrainConfig, *, name: str, args: argparse.Namespace) -> int:
    """Run ``truth``: train, evaluate against the exact solution, print the row last."""
    import ray
    import torch
    from tqdm import tqdm

    from rbc_env.perf import keep_freed_memory
    from trainers.truth import TruthPaths, format_rows, run_truth

    keep_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    paths = TruthPaths(Path(args.runs_dir) / name)
    if paths.root.exists() and any(paths.root.iterdir()):
        if not args.overwrite:
            print(
                f"error: {paths.root} already holds a run; pass --overwrite or pick a new --name",
                file=sys.stderr,
            )
            return 2
        shutil.rmtree(paths.root)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    bar = tqdm(
        total=train_config.iterations,
        desc=f"truth {name}",
        unit="it",
        disable=args.no_progress,
        file=sys.stderr,
    )

    def progress(iteration: int, row: dict[str, float]) -> None:
        bar.n = iteration
        bar.set_postfix(
            s=f"{row.get('econ/saving_share_mean', float('nan')):.4f}",
            t=f"{row.get('train_s', float('nan')):.0f}s",
            refresh=False,
        )
        bar.refresh()

    row = run_truth(
        train_config, paths=paths, eval_every=args.eval_every, on_iteration=progress, label=name
    )
    bar.close()
    print(f"run folder: {paths.root}  (accuracy.md, metrics.csv, checkpoint/, plots/truth.png)")
    print(format_rows([row]))
    return 0


def _sweep_trial(params: dict[str, Any]) -> None:
    """One Tune trial: a full training run in its own run folder, reporting every iteration."""
    import torch
    from ray import tune

    from trainers.run import RunPaths, iterate_training

    torch.set_num_threads(params["cpus"])
    config = resolve_config(params["config"], params["sets"])
    paths = RunPaths(Path(params["root"]) / params["trial"])
    for row in iterate_training(
        config, paths, resume=False, checkpoint_every=params["checkpoint_every"]
    ):
        tune.report(row)


def sweep(combos: list[list[str]], *, name: str, args: argparse.Namespace) -> int:
    """Run every combination as a Tune trial; print one row per trial last."""
    import ray
    from ray import tune

    from trainers.run import RunPaths, read_metrics

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if args.address:
        ray.init(address=args.address)
    elif not ray.is_initialized():
        ray.init(include_dashboard=False, log_to_driver=False)
    root = (Path(args.runs_dir) / name).resolve()
    if root.exists():
        print(f"error: {root} already exists; pick another --name", file=sys.stderr)
        return 2
    trials = {"_".join(c).replace("=", "-").replace(".", "_"): c for c in combos}
    base = {
        "config": args.config,
        "sets": list(args.set),
        "root": str(root),
        "checkpoint_every": args.checkpoint_every,
        "cpus": args.cpus_per_trial,
    }
    space = {"trial": tune.grid_search(sorted(trials))}
    trainable = tune.with_parameters(
        tune.with_resources(_trial_entry, {"cpu": args.cpus_per_trial}),
        base=base,
        trials=trials,
    )
    tuner = tune.Tuner(
        trainable,
        param_space=space,
        run_config=tune.RunConfig(storage_path=str(root / "tune"), name=name, verbose=1),
    )
    results = tuner.fit()
    failed = [r for r in results if r.error is not None]
    rows = []
    for trial in sorted(trials):
        metrics = RunPaths(root / trial).metrics
        if metrics.exists():
            last = read_metrics(metrics)[-1]
            rows.append(
                f"| {trial} | {last['iteration']} | "
                + " | ".join(f"{float(last.get(k) or 'nan'):,.4g}" for k in SWEEP_COLUMNS)
                + " |"
            )
    header = "| trial | iterations | " + " | ".join(SWEEP_COLUMNS) + " |"
    table = "\n".join([header, "|" + "---|" * (len(SWEEP_COLUMNS) + 2), *rows])
    (root / "sweep.md").write_text(table + "\n", encoding="utf-8")
    print(f"sweep folder: {root}  (one run folder per trial)")
    if failed:
        print(f"{len(failed)} trial(s) failed: {[str(r.error)[:200] for r in failed]}")
    print(table)
    return 1 if failed else 0


SWEEP_COLUMNS = (
    "reward/consumer_mean",
    "reward/firm_mean",
    "reward/government_mean",
    "econ/price_mean",
    "econ/wage_mean",
)


def _trial_entry(
    params: dict[str, Any], base: dict[str, Any], trials: dict[str, list[str]]
) -> None:
    """Tune's entry point: the trial's name selects its settings."""
    sets = list(base.get("sets", [])) + trials[params["trial"]]
    _sweep_trial({**base, "sets": sets, "trial": params["trial"]})
