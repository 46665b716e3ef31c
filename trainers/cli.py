"""Command line: ``python -m trainers train|sweep|truth|best-response ...``.

``train --config cpu_small --set key=value`` trains the RBC economy; ``train --config g1``
trains a ground-truth economy of the growth family and prints its accuracy row
(``trainers.truth``), and ``truth --economy g1`` is its alias (run name ``truth_g1``).
``best-response RUN_DIR`` checks a trained RBC run's ε-meta-equilibrium
(``trainers.best_response``).

``--config`` takes a preset name (``trainers.presets``: ``cpu_small``, ``paper_open``, ``g1``,
``g4_h100``, ...) or a YAML file
written by ``TrainConfig.dump``; ``--set a.b=value`` overrides any field by its dotted path (the
value is parsed as YAML: ``--set economy.n_firms=3 --set sampler=env_runner``). Bad keys, values
or presets fail before any work, naming the key and the allowed values.
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import sys
from pathlib import Path
from typing import Any, NoReturn

from rbc_env.tables import markdown_table
from trainers.config import AGENT_TYPES, GROWTH, RBC, BestResponseParams, TrainConfig
from trainers.lifecycle import GracefulStop, RayStartError, check_address, start_ray, stop_ray
from trainers.presets import GROWTH_NAMES, RBC_PRESETS
from trainers.runfolder import (
    RunFolderError,
    RunLock,
    check_name,
    check_runs_dir,
    is_run_folder,
    open_run_folder,
    read_metrics,
    verify_checkpoint,
)
from trainers.settings import resolve_config

PRESET_NAMES = f"{', '.join(sorted(RBC_PRESETS))}; growth economies: {GROWTH_NAMES}"


class _Parser(argparse.ArgumentParser):
    """``argparse`` whose usage errors are one line on stderr (exit status 2)."""

    def error(self, message: str) -> NoReturn:
        """Print ``<prog>: error: <message>`` and a pointer to ``--help``; exit 2."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    set_help = (
        "override one setting; KEY is its dotted path (firm.lr, economy.n_firms), VALUE is "
        "parsed as YAML (5e-4, 1e3, 3, true, inf, [64, 64]); repeatable. "
        "`python -m trainers config --list` lists every key with its type, range and default"
    )
    growth_set_help = set_help.replace("firm.lr, economy.n_firms", "planner.lr, economy.action")
    growth_set_help = growth_set_help.replace("--list", "--list --growth g1")
    files_epilog = (
        "A YAML settings file either extends a preset, with a top-level line 'base: <preset>' "
        "and the keys to change nested below it (firm: {lr: 5e-4}), or gives every key, as "
        "`python -m trainers config` prints them. Empty, partial (without base) or malformed "
        "files, and unknown keys, are errors."
    )
    parser = _Parser(
        prog="python -m trainers",
        description=__doc__.split("\n")[0],
        epilog="Settings: --set KEY=VALUE overrides one setting by its dotted path; the value is "
        "parsed as YAML, so numbers like 5e-4 work. `python -m trainers config --list` lists the "
        "keys. " + files_epilog,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    train = sub.add_parser(
        "train", help="train the economy's agents with RLlib PPO", epilog=files_epilog
    )
    train.add_argument(
        "--config",
        default=None,
        help=f"preset ({PRESET_NAMES}) or YAML (default: cpu_small; not with --resume)",
    )
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=set_help)
    train.add_argument("--name", default=None, help="run name (default: the preset or file stem)")
    train.add_argument("--runs-dir", default="runs", help="parent folder of runs (default: runs)")
    train.add_argument(
        "--resume",
        action="store_true",
        help="continue run --name from its newest intact checkpoint, with its own config.yaml "
        "(--set may only raise iterations)",
    )
    train.add_argument(
        "--overwrite",
        action="store_true",
        help="delete the run of this name first (only a run folder this package created)",
    )
    train.add_argument("--checkpoint-every", type=int, default=10, metavar="N")
    train.add_argument(
        "--address", default=None, help="HOST:PORT of a running Ray cluster (default: local)"
    )
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    train.add_argument(
        "--eval-every",
        type=int,
        default=0,
        metavar="N",
        help="growth economies: measure λ against the truth every N iterations",
    )

    sweep = sub.add_parser(
        "sweep", help="a Tune grid over seeds and settings, trials in parallel", epilog=files_epilog
    )
    sweep.add_argument(
        "--config", default=None, help=f"preset ({PRESET_NAMES}) or YAML (default: cpu_small)"
    )
    sweep.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=set_help)
    sweep.add_argument("--seeds", type=int, nargs="+", default=[0, 1], metavar="SEED")
    sweep.add_argument(
        "--grid", action="append", default=[], metavar="KEY=V1,V2", help="values to sweep"
    )
    sweep.add_argument("--name", default=None, help="sweep name (default: <config>_sweep)")
    sweep.add_argument("--runs-dir", default="runs", help="parent folder of runs (default: runs)")
    sweep.add_argument("--checkpoint-every", type=int, default=10, metavar="N")
    sweep.add_argument("--cpus-per-trial", type=int, default=1, metavar="N")
    sweep.add_argument(
        "--address", default=None, help="HOST:PORT of a running Ray cluster (default: local)"
    )
    sweep.add_argument(
        "--storage",
        default=None,
        metavar="PATH_OR_URI",
        help="where Tune keeps results, checkpoints and trial run folders: a path every node "
        "shares or a URI Ray Tune supports (s3://, gs://, ...); default: the sweep folder",
    )
    sweep.add_argument(
        "--resume", default=None, metavar="NAME", help="continue the interrupted sweep NAME"
    )
    sweep.add_argument(
        "--overwrite",
        action="store_true",
        help="delete the sweep of this name first (only a folder this package created)",
    )

    truth = sub.add_parser(
        "truth",
        help="train on a ground-truth economy and score the policy against the truth "
        "(an alias of train --config <growth preset>)",
        epilog=files_epilog.replace("config` prints", "config --growth g1` prints"),
    )
    truth.add_argument(
        "--economy",
        default="g1",
        help=f"preset ({GROWTH_NAMES}) or a YAML file of a growth economy's TrainConfig",
    )
    truth.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help=growth_set_help
    )
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
    truth.add_argument("--checkpoint-every", type=int, default=10, metavar="N")
    truth.add_argument("--no-progress", action="store_true", help="no progress bar")
    truth.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    truth.set_defaults(resume=False, address=None)

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
    br.add_argument("--no-progress", action="store_true", help="no progress bar")

    fx = sub.add_parser(
        "fixed-taxes", help="a run's learned government vs fixed tax rates (same consumers, firms)"
    )
    fx.add_argument("run_dir", help="a run folder of `train` (runs/<name>)")
    fx.add_argument(
        "--rates", default="0,0.2,0.4,0.6,0.8,1", help="comma-separated tax rates (fractions)"
    )
    fx.add_argument("--episodes", type=int, default=256, help="evaluation episodes per policy")
    fx.add_argument("--seed", type=int, default=0, help="seed of the evaluation economies")
    fx.add_argument("--no-progress", action="store_true", help="no progress bar")

    cfg = sub.add_parser(
        "config",
        help="print the resolved settings as a complete YAML file, or list every key (--list)",
        epilog=files_epilog,
    )
    cfg.add_argument(
        "--list",
        action="store_true",
        help="print every key (dotted path) with its type, allowed range, unit and value as a "
        "Markdown table",
    )
    cfg.add_argument(
        "--config",
        default=None,
        help=f"preset ({PRESET_NAMES}) or YAML, as train's --config (default: cpu_small)",
    )
    cfg.add_argument(
        "--growth",
        default=None,
        metavar="ECONOMY",
        help="truth's --economy instead: a growth preset (g1, g4_h100, ...) or YAML",
    )
    cfg.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help=set_help)
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
    """Entry point; returns the exit status.

    0 success; 1 a sweep with failed or missing trials; 2 bad arguments, a run folder that may
    not be used, or a Ray that cannot be reached (one ``error:`` line, no traceback); 130 / 143
    a run stopped by SIGINT / SIGTERM after saving a checkpoint.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "config":
        return config_command(args, parser)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        _check_common(args)
    except ValueError as err:
        parser.error(str(err))
    started = _ray_started_before()
    try:
        return _dispatch(args, parser)
    except (RunFolderError, RayStartError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    finally:
        if not started:
            stop_ray()


def _ray_started_before() -> bool:
    if "ray" not in sys.modules:
        return False
    import ray

    return ray.is_initialized()


def _check_common(args: argparse.Namespace) -> None:
    """Options shared by several commands, checked before any work (``ValueError`` names them)."""
    if getattr(args, "threads", None) is not None and args.threads < 1:
        raise ValueError(f"--threads must be >= 1; got {args.threads}")
    if getattr(args, "cpus_per_trial", 1) < 1:
        raise ValueError(f"--cpus-per-trial must be >= 1; got {args.cpus_per_trial}")
    if getattr(args, "checkpoint_every", 1) < 1:
        raise ValueError(f"--checkpoint-every must be >= 1; got {args.checkpoint_every}")
    if getattr(args, "address", None) is not None:
        check_address(args.address)
    if getattr(args, "runs_dir", None) is not None:
        check_runs_dir(args.runs_dir)
    if getattr(args, "name", None) is not None:
        check_name(args.name)
    if getattr(args, "resume", False) and getattr(args, "overwrite", False):
        raise ValueError("--resume and --overwrite exclude each other")


def _check_family(config: TrainConfig, family: str, command: str, other: str) -> None:
    """``ValueError`` unless the run's economy is of ``family``, pointing to the other command."""
    if config.family != family:
        kind = "an RBC" if family == RBC else "a growth"
        raise ValueError(
            f"{command} takes {kind} economy; this one is a {type(config.economy).__name__} "
            f"(use {other})"
        )


def _dispatch(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.command == "fixed-taxes":
        return fixed_taxes_command(args, parser)
    if args.command == "best-response":
        return best_response_command(args, parser)
    if args.command == "truth":
        try:
            growth_config = resolve_config(
                args.economy,
                args.set,
                seconds=args.seconds,
                iterations=args.iterations,
                option="--economy",
            )
            _check_family(growth_config, GROWTH, "truth --economy", "train --config")
            name = check_name(args.name or f"truth_{Path(args.economy).stem}")
        except ValueError as err:
            parser.error(str(err))
        return train(growth_config, name=name, args=args)
    if args.command == "sweep":
        return sweep_command(args, parser)
    return train_command(args, parser)


def train_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Resolve ``train``'s config (a new run's, or the resumed run's own) and run it."""
    from trainers.run import RunPaths, resume_config
    from trainers.settings import parse_sets

    try:
        if args.resume:
            if args.config is not None:
                raise ValueError(
                    "--resume continues the run's own config.yaml; drop --config (use --set "
                    "iterations=N to lengthen the run)"
                )
            if args.name is None:
                raise ValueError("--resume needs the --name of the run to continue")
            name = args.name
            root = Path(args.runs_dir) / name
            if not root.is_dir():
                raise RunFolderError(f"cannot resume: there is no run {name!r} in {args.runs_dir}")
            train_config = resume_config(RunPaths(root), parse_sets(args.set))
        else:
            config = args.config or "cpu_small"
            train_config = resolve_config(config, args.set)
            name = check_name(args.name or Path(config).stem)
        from rbc_env.core.economy import available_device

        available_device(train_config.resolved_device)
        if args.eval_every < 0:
            raise ValueError(f"--eval-every must be >= 0; got {args.eval_every}")
        if args.eval_every and train_config.family != GROWTH:
            raise ValueError("--eval-every measures λ against a growth economy's truth")
    except RunFolderError:
        raise
    except ValueError as err:
        parser.error(str(err))
    return train(train_config, name=name, args=args)


def _progress_bar(total: int, desc: str, *, disable: bool) -> Any:
    """The tqdm bar of a training command (iterations, on stderr)."""
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="it", disable=disable, file=sys.stderr)


def train(train_config: TrainConfig, *, name: str, args: argparse.Namespace) -> int:
    """Run ``train`` (or ``truth``) and print the summary table last (one line after a stop).

    RBC economy: ``summary.md`` and ``plots/training.png``. Growth economy: the truth
    evaluation (``trainers.truth.TruthEvaluation``) writes the accuracy row, which is the
    summary.
    """
    import torch

    from rbc_env.perf import keep_freed_memory
    from trainers.hooks import RunHook
    from trainers.rllib import build_config
    from trainers.run import (
        RunPaths,
        iterate_training,
        plan_resume,
        plot_training,
        summary_table,
    )
    from trainers.truth import TruthEvaluation, format_rows

    growth = train_config.family == GROWTH
    hooks: list[RunHook] = []
    truth = (
        TruthEvaluation(train_config, eval_every=args.eval_every, label=name) if growth else None
    )
    if truth is not None:
        hooks.append(truth)
    if args.resume:  # every check that needs no Ray comes first
        with RunLock(Path(args.runs_dir) / name, purpose="resume"):
            plan_resume(train_config, RunPaths(Path(args.runs_dir) / name))
    start_ray(args.address)  # before the run folder: a cluster that fails leaves no folder
    try:  # the settings the cluster must fit (learner actors, EnvRunners), before the folder too
        build_config(train_config)
    except (ValueError, NotImplementedError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    root, lock = open_run_folder(
        args.runs_dir, name, "train", overwrite=args.overwrite, resume=args.resume
    )
    paths = RunPaths(root)
    try:
        keep_freed_memory()
        if args.threads:
            torch.set_num_threads(args.threads)
        bar = _progress_bar(
            train_config.iterations, f"{args.command} {name}", disable=args.no_progress
        )

        def progress(row: dict[str, float]) -> None:
            bar.n = int(row["iteration"])
            nan = float("nan")
            if growth:
                shown = {
                    "s": f"{row.get('econ/saving_share_mean', nan):.4f}",
                    "t": f"{row.get('train_s', nan):.0f}s",
                }
            else:
                shown = {
                    "consumer": f"{row.get('reward/consumer_mean', nan):.3g}",
                    "firm": f"{row.get('reward/firm_mean', nan):.3g}",
                    "price": f"{row.get('econ/price_mean', nan):.0f}",
                }
            bar.set_postfix(shown, refresh=False)
            bar.refresh()

        with GracefulStop() as stop:
            for _ in iterate_training(
                train_config,
                paths,
                resume=args.resume,
                checkpoint_every=args.checkpoint_every,
                hooks=hooks,
                on_iteration=progress,
                should_stop=lambda: stop.requested,
            ):
                pass
        bar.close()
        if stop.exit_code is not None:
            latest = paths.latest_checkpoint()
            at = latest[0] if latest else 0
            if not growth:
                paths.summary.write_text(summary_table(_rows(paths)) + "\n", encoding="utf-8")
            print(
                f"stopped by {stop.signal.name if stop.signal else 'signal'} at iteration {at}: "
                f"checkpoint{'' if growth else ' and summary'} saved in {paths.root}; continue "
                f"with `python -m trainers train --name {name} --runs-dir {args.runs_dir} "
                "--resume`"
            )
            return stop.exit_code
        if truth is not None and truth.result is not None:
            table = format_rows([truth.result])
            files = "accuracy.md, metrics.csv, checkpoints/, plots/truth.png"
        else:
            rows = _rows(paths)
            if rows:
                plot_training(rows, paths.plot, f"{name}: {train_config.economy.variant} economy")
            table = summary_table(rows)
            files = "metrics.csv, checkpoints/, plots/training.png"
        paths.summary.write_text(table + "\n", encoding="utf-8")
        print(f"run folder: {paths.root}  ({files})")
        print(table)
        return 0
    finally:
        lock.release()


def _rows(paths: Any) -> list[dict[str, str]]:
    """The run's metrics rows (none before the first iteration)."""
    return read_metrics(paths.metrics) if paths.metrics.exists() else []


def best_response_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``best-response``: write RUN_DIR/best_response.{json,md}; print the table last."""
    import json

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
    start_ray(None)
    results = run_best_response(args.run_dir, params, types=types, progress=not args.no_progress)
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
    start_ray(None)
    results = run_fixed_taxes(
        args.run_dir,
        rates,
        episodes=args.episodes,
        seed=args.seed,
        progress=not args.no_progress,
    )
    table = format_tax_policies(results)
    root = Path(args.run_dir)
    rows = [asdict(r) for r in results]
    (root / "fixed_taxes.json").write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    (root / "fixed_taxes.md").write_text(table + "\n", encoding="utf-8")
    print(f"written: {root / 'fixed_taxes.md'}, {root / 'fixed_taxes.json'}")
    print(table)
    return 0


def _sweep_trial(params: dict[str, Any]) -> None:
    """One Tune trial: a full training run in its own run folder, reporting every iteration.

    The run folder is ``<sweep folder>/<trial>`` on the node that runs the trial. Every row goes
    to Tune (its progress.csv in the sweep's storage) and every saved checkpoint too, so Tune
    keeps it in the storage; a restored trial (``sweep --resume``) continues from its run
    folder's newest intact checkpoint, or from Tune's copy when the run folder is not on this
    node (then its metrics.csv starts after that checkpoint; Tune's progress.csv has them all).
    """
    import torch
    from ray import tune

    from trainers.hooks import RunHook
    from trainers.run import RunPaths, iterate_training
    from trainers.truth import TruthEvaluation

    torch.set_num_threads(params["cpus"])
    config = resolve_config(params["config"], params["sets"])
    hooks: list[RunHook] = []
    if config.family == GROWTH:
        hooks.append(TruthEvaluation(config, label=params["trial"]))
    root = Path(params["root"]) / params["trial"]  # on the node that runs the trial
    root, lock = open_run_folder(
        root.parent, root.name, "train", overwrite=False, resume=is_run_folder(root)
    )
    paths = RunPaths(root)
    try:
        restored = tune.get_checkpoint()
        if restored is not None:
            with restored.as_directory() as folder:
                manifest = verify_checkpoint(Path(folder))
                target = paths.checkpoints / f"iter_{int(manifest['iteration']):07d}"
                if not target.exists():
                    shutil.copytree(folder, target)
        if paths.latest_intact_checkpoint() is None and paths.metrics.exists():
            paths.metrics.unlink()  # the trial died before its first checkpoint: start over
        resume = paths.latest_checkpoint() is not None
        if not paths.config.exists():
            config.dump(paths.config)
        row: dict[str, float] = {}
        for row in iterate_training(
            config, paths, resume=resume, checkpoint_every=params["checkpoint_every"], hooks=hooks
        ):
            latest = paths.latest_checkpoint()
            if latest is not None and latest[0] == int(row["iteration"]):
                tune.report(row, checkpoint=tune.Checkpoint.from_directory(str(latest[1])))
            else:
                tune.report(row)
        accuracy = hooks[0].result if hooks else None  # type: ignore[attr-defined]
        if accuracy is not None:  # the truth evaluation, after the last iteration
            scores = {f"truth/{k}": v for k, v in accuracy.items() if _is_number(v)}
            tune.report({"iteration": float(accuracy["iterations"]), **row, **scores})
    finally:
        lock.release()


SWEEP_SPEC = "sweep.json"


def sweep_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Check ``sweep``'s settings (or read an interrupted sweep's), then run it."""
    import json

    runs = check_runs_dir(args.runs_dir)
    if args.resume is None:
        try:
            config = args.config or "cpu_small"
            resolve_config(config, args.set)
            combos = grid_settings(args.seeds, args.grid)
            needs = [  # every trial's config is checked before any work
                trial_needs(resolve_config(config, args.set + combo), args.cpus_per_trial)
                for combo in combos
            ]
            name = check_name(args.name or f"{Path(config).stem}_sweep")
        except ValueError as err:
            parser.error(str(err))
    elif args.name is not None or args.grid or args.set or args.storage is not None:
        parser.error(
            "sweep --resume NAME continues the sweep's own settings; drop --name, --set, "
            "--grid and --storage"
        )
    _start_ray_for_trials(args.address, needs if args.resume is None else [])
    if args.resume is not None:
        name = check_name(args.resume, "--resume")
        root, lock = open_run_folder(runs, name, "sweep", overwrite=False, resume=True)
        try:
            spec = json.loads((root / SWEEP_SPEC).read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            lock.release()
            raise RunFolderError(f"cannot resume sweep {root}: {SWEEP_SPEC} unreadable") from err
    else:
        root, lock = open_run_folder(runs, name, "sweep", overwrite=args.overwrite, resume=False)
        spec = {
            "name": name,
            "config": str(Path(config).resolve()) if config.endswith((".yaml", ".yml")) else config,
            "sets": list(args.set),
            "combos": combos,
            "checkpoint_every": args.checkpoint_every,
            "cpus": args.cpus_per_trial,
            "storage": args.storage,
        }
        (root / SWEEP_SPEC).write_text(json.dumps(spec, indent=1) + "\n", encoding="utf-8")
    try:
        return sweep(
            spec, root=root.resolve(), address=args.address, resume=args.resume is not None
        )
    finally:
        lock.release()


def error_line(error: BaseException) -> str:
    """One line for a failed trial: the trial's own exception (Ray wraps it), 200 characters.

    A ``RayTaskError`` prints the remote process's title first (with terminal colour codes);
    its ``cause`` is what the trial raised.
    """
    cause = getattr(error, "cause", None)
    error = cause if isinstance(cause, BaseException) else error
    first = next((line for line in str(error).splitlines() if line.strip()), "")
    return re.sub(r"\x1b\[[0-9;]*m", "", f"{type(error).__name__}: {first}")[:200]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def sweep_table(
    targets: dict[str, int],
    last: dict[str, dict[str, Any]],
    errors: dict[str, str],
    columns: tuple[str, ...] = (),
) -> tuple[str, list[str]]:
    """The sweep.md table, one row per trial, and the trials that are missing or failed.

    ``targets`` maps each trial to the iterations it should reach; ``last`` to its last
    reported metrics row; ``errors`` to its error's first line; ``columns`` are the metrics
    shown (default ``SWEEP_COLUMNS``, the RBC economy's). A trial with an error, without a
    row, or short of its target (an interrupted sweep) is listed as ``missing (<why>)``.
    """
    columns = columns or SWEEP_COLUMNS
    rows, missing = [], []
    for trial, target in sorted(targets.items()):
        done = int(last[trial]["iteration"]) if trial in last else 0
        if trial not in errors and trial in last and done < target:
            errors = {**errors, trial: f"stopped at {done} of {target} iterations"}
        if trial in last and trial not in errors:
            row = last[trial]
            values = [f"{float(row.get(k, 'nan')):,.4g}" for k in columns]
            rows.append([trial, "ok", str(int(row["iteration"])), *values])
        else:
            missing.append(trial)
            why = errors.get(trial, "no result")
            rows.append([trial, f"missing ({why})", "", *([""] * len(columns))])
    header = ["trial", "status", "iterations", *columns]
    return markdown_table(header, rows), missing


def _trial_bundles(config: TrainConfig, cpus_per_trial: int) -> list[dict[str, float]]:
    """The resources of one sweep trial: its own, then one bundle per learner actor.

    Actors a trial starts are placed in its placement group (Tune), so the learner actors of
    ``num_learners >= 1`` need bundles of their own, of ``cpus_per_learner`` CPUs. On cuda the
    trial (its rollouts) and each learner actor take a GPU; ``device="auto"`` is resolved on
    the machine that runs the sweep command.
    """
    gpu = {"GPU": 1.0} if config.resolved_device == "cuda" else {}
    learner = {"CPU": float(config.cpus_per_learner), **gpu}
    return [{"CPU": float(cpus_per_trial), **gpu}] + [learner] * config.num_learners


def trial_needs(config: TrainConfig, cpus_per_trial: int) -> dict[str, float]:
    """CPUs (and GPUs) one sweep trial takes in all (``_trial_bundles`` summed)."""
    total: dict[str, float] = {}
    for bundle in _trial_bundles(config, cpus_per_trial):
        for unit, amount in bundle.items():
            total[unit] = total.get(unit, 0.0) + amount
    return total


def _start_ray_for_trials(address: str | None, needs: list[dict[str, float]]) -> None:
    """Start or reach Ray and check that every trial's resources (``trial_needs``) fit."""
    import ray

    start_ray(address)
    have = ray.cluster_resources()
    for unit in ("CPU", "GPU"):
        need = max((n.get(unit, 0.0) for n in needs), default=0.0)
        if need > have.get(unit, 0.0):
            raise RunFolderError(
                f"a trial takes {need:g} {unit}s (--cpus-per-trial, plus num_learners x "
                f"cpus_per_learner for its learner actors; a GPU each on cuda), more than the "
                f"Ray cluster has ({have.get(unit, 0.0):g}); no trial could ever start"
            )


def sweep(spec: dict[str, Any], *, root: Path, address: str | None, resume: bool) -> int:
    """Run (or continue) every combination as a Tune trial; print one row per trial last.

    Returns 1 if any trial failed or reported nothing (listed as ``missing`` in sweep.md).
    """
    from ray import tune

    name = spec["name"]
    trials = {"_".join(c).replace("=", "-").replace(".", "_"): c for c in spec["combos"]}
    configs = {t: resolve_config(spec["config"], spec["sets"] + c) for t, c in trials.items()}
    _start_ray_for_trials(address, [trial_needs(c, spec["cpus"]) for c in configs.values()])
    base = {
        "config": spec["config"],
        "sets": spec["sets"],
        "root": str(root),
        "checkpoint_every": spec["checkpoint_every"],
        "cpus": spec["cpus"],
        "storage": spec["storage"],
    }

    def resources(params: dict[str, Any]) -> tune.PlacementGroupFactory:
        return tune.PlacementGroupFactory(_trial_bundles(configs[params["trial"]], spec["cpus"]))

    trainable = tune.with_parameters(
        tune.with_resources(_trial_entry, resources), base=base, trials=trials
    )
    storage = spec["storage"] or str(root / "tune")
    experiment = f"{storage.rstrip('/')}/{name}"
    if resume and tune.Tuner.can_restore(experiment):
        tuner = tune.Tuner.restore(experiment, trainable, resume_errored=True)
    else:
        tuner = tune.Tuner(
            trainable,
            param_space={"trial": tune.grid_search(sorted(trials))},
            run_config=tune.RunConfig(
                storage_path=storage,
                name=name,
                verbose=1,
                checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            ),
        )
    results = tuner.fit()
    last: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for result in results:
        trial = (result.config or {}).get("trial")
        if trial is None:
            continue
        if result.error is not None:
            errors[trial] = error_line(result.error)
        if result.metrics and "iteration" in result.metrics:
            last[trial] = result.metrics
    targets = {t: c.iterations for t, c in configs.items()}
    growth = any(c.family == GROWTH for c in configs.values())
    table, missing = sweep_table(
        targets, last, errors, GROWTH_SWEEP_COLUMNS if growth else SWEEP_COLUMNS
    )
    (root / "sweep.md").write_text(table + "\n", encoding="utf-8")
    print(
        f"sweep folder: {root}  (sweep.md, one run folder per trial on the node that ran it; "
        f"Tune's results and checkpoints in {experiment})"
    )
    if missing:
        print(
            f"{len(missing)} of {len(trials)} trial(s) missing or failed; continue with "
            f"`python -m trainers sweep --resume {name} --runs-dir {root.parent}`"
        )
    print(table)
    return 1 if missing else 0


SWEEP_COLUMNS = (
    "reward/consumer_mean",
    "reward/firm_mean",
    "reward/government_mean",
    "econ/price_mean",
    "econ/wage_mean",
)
GROWTH_SWEEP_COLUMNS = (  # a growth trial's accuracy row (trainers.truth.TruthEvaluation)
    "truth/saving_error_mean",
    "truth/welfare_loss",
    "truth/euler_mean",
    "truth/train_s",
)


def _trial_entry(
    params: dict[str, Any], base: dict[str, Any], trials: dict[str, list[str]]
) -> None:
    """Tune's entry point: the trial's name selects its settings."""
    sets = list(base.get("sets", [])) + trials[params["trial"]]
    _sweep_trial({**base, "sets": sets, "trial": params["trial"]})


def config_command(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Run ``config``: print the resolved settings as YAML, or every key as a table (``--list``).

    The YAML is complete (every key), so it loads back as ``--config FILE``; the table has one
    row per dotted key with its type, allowed range, unit, symbol, value and meaning.
    """
    import yaml

    from trainers.settings import settings_table

    try:
        if args.growth is not None and args.config is not None:
            raise ValueError("--config and --growth exclude each other")
        if args.growth is not None:
            source = f"truth --economy {args.growth}"
            config = resolve_config(args.growth, args.set, option="--growth")
        else:
            source = f"train --config {args.config or 'cpu_small'}"
            config = resolve_config(args.config or "cpu_small", args.set)
    except ValueError as err:
        parser.error(str(err))
    sets = "".join(f" --set {item}" for item in args.set)
    if args.list:
        print(f"Settings of `{source}{sets}` ({type(config).__name__}); change one with")
        print("--set KEY=VALUE (VALUE is parsed as YAML: 5e-4, true, [64, 64]).\n")
        print(settings_table(config))
    else:
        print(f"# {type(config).__name__} of `{source}{sets}`: a complete settings file.")
        print(yaml.safe_dump(config.to_dict(), sort_keys=False), end="")
    return 0
