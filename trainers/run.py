"""A training run on disk: ``runs/<name>/`` with config, metrics, checkpoints, TensorBoard, plots.

Layout::

    runs/<name>/config.yaml          the resolved TrainConfig, written before any work
    runs/<name>/metrics.csv          one row per iteration, stable column names
    runs/<name>/checkpoints/iter_NNNNNNN/   RLlib checkpoints (written to a temp dir, then renamed)
    runs/<name>/tensorboard/         scalars for TensorBoard
    runs/<name>/plots/training.png   the paper's Figure 3 quantities over training
    runs/<name>/summary.md           the table printed at the end

A run killed mid-way resumes from its last checkpoint with ``resume=True``: metrics rows after
that checkpoint are dropped (they are recomputed), none before it are lost.
"""

from __future__ import annotations

import csv
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from rbc_env.tables import markdown_table
from trainers.best_response import PeriodicBestResponse
from trainers.config import TrainConfig
from trainers.hooks import RunHook
from trainers.rllib import build_config
from trainers.runfolder import (
    CHECKPOINT_PREFIX,
    RunFolderError,
    RunPaths,
    read_metrics,
    verify_checkpoint,
    write_manifest,
)

logger = logging.getLogger(__name__)

RUN_STATE = "run_state.pt"  # in each checkpoint: training time so far and the hooks' state

PLOTTED = (
    ("reward/consumer_mean", "consumer reward / step"),
    ("reward/firm_mean", "firm reward / step"),
    ("reward/government_mean", "government reward / step"),
    ("econ/price_mean", "mean price"),
    ("econ/wage_mean", "mean wage"),
    ("econ/hours_mean", "mean hours"),
)


def flatten(result: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested RLlib result dict -> flat ``a/b/c`` keys (scalars only)."""
    out: dict[str, Any] = {}
    for key, value in result.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{name}/"))
        elif isinstance(value, bool | int | float) and not isinstance(value, bool):
            out[name] = value
    return out


def metrics_row(result: dict[str, Any]) -> dict[str, float]:
    """The metrics.csv row of one iteration: stable names for the trainer's own metrics."""
    flat = flatten(result)
    row: dict[str, float] = {
        "iteration": flat.get("training_iteration", math.nan),
        "time_s": flat.get("time_this_iter_s", math.nan),
    }
    for key, value in flat.items():
        if key.startswith(
            (
                "reward/",
                "return/",
                "econ/",
                "curriculum/",
                "throughput/",
                "policy/",
                "truth/",
                "best_response/",
            )
        ):
            row[key] = float(value)
    for module in ("consumer", "firm", "government", "planner", "household", "producer"):
        for stat in ("policy_loss", "vf_loss", "entropy", "mean_kl_loss"):
            key = f"learners/{module}/{stat}"
            if key in flat:
                row[f"loss/{module}/{stat}"] = float(flat[key])
    return row


class MetricsFile:
    """Append-only metrics.csv with a fixed header (set by the first row)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.columns: list[str] | None = None
        if path.exists():
            with open(path, newline="", encoding="utf-8") as fh:
                reader = csv.reader(fh)
                self.columns = next(reader, None)
            if self.columns is not None and "iteration" not in self.columns:
                raise RunFolderError(
                    f"{path} has no 'iteration' column in its header (was it edited?); "
                    f"header starts {self.columns[:3]}"
                )

    def rows(self) -> int:
        """How many data rows the file holds (0 if it does not exist)."""
        return len(read_metrics(self.path)) if self.path.exists() else 0

    def truncate_after(self, iteration: int) -> int:
        """Drop rows with ``iteration`` greater than the given one; return rows kept."""
        if not self.path.exists():
            return 0
        rows = read_metrics(self.path)
        kept = [r for r in rows if _iteration(r, self.path) <= iteration]
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns or list(rows[0]))
            writer.writeheader()
            writer.writerows(kept)
        os.replace(tmp, self.path)
        return len(kept)

    def append(self, row: dict[str, float]) -> None:
        """Write one row (new columns after the first row are ignored, missing ones empty)."""
        new = not self.path.exists() or self.columns is None
        if new:
            self.columns = list(row)
        with open(self.path, "a", newline="", encoding="utf-8") as fh:
            writer = csv.DictWriter(fh, fieldnames=self.columns, extrasaction="ignore")
            if new:
                writer.writeheader()
            writer.writerow(row)
            fh.flush()
            os.fsync(fh.fileno())


def _iteration(row: dict[str, str], path: Path) -> float:
    try:
        return float(row["iteration"])
    except (KeyError, TypeError, ValueError) as err:
        raise RunFolderError(
            f"{path}: a row has no numeric 'iteration' ({row.get('iteration')!r})"
        ) from err


def save_checkpoint(
    algo: Any,
    paths: RunPaths,
    iteration: int,
    keep: int,
    config: dict[str, Any],
    run_state: dict[str, Any] | None = None,
) -> Path:
    """Save one checkpoint atomically and keep the newest ``keep``.

    The save goes into a temp folder, with ``run_state`` (the loop's and its hooks' state,
    ``RUN_STATE``, written by ``torch.save``), gets its SHA-256 manifest (with ``config``), and
    is then renamed into place, so a crash leaves either the whole checkpoint or none.
    """
    paths.checkpoints.mkdir(parents=True, exist_ok=True)
    final = paths.checkpoints / f"{CHECKPOINT_PREFIX}{iteration:07d}"
    tmp = paths.checkpoints / f".tmp_{CHECKPOINT_PREFIX}{iteration:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    algo.save_to_path(str(tmp.resolve()))
    if run_state is not None:
        torch.save(run_state, tmp / RUN_STATE)
    write_manifest(tmp, config, iteration=iteration)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    existing = sorted(
        p for p in paths.checkpoints.iterdir() if p.name.startswith(CHECKPOINT_PREFIX)
    )
    for old in existing[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def plot_training(rows: list[dict[str, str]], out: Path, title: str) -> None:
    """Per-type reward, price, wage and hours over iterations (the paper's Figure 3 quantities)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(2, 3, figsize=(12, 6), constrained_layout=True)
    x = [float(r["iteration"]) for r in rows]
    for ax, (key, label) in zip(axes.flat, PLOTTED, strict=True):
        y = [float(r[key]) if r.get(key) not in (None, "") else math.nan for r in rows]
        ax.plot(x, y)
        ax.set_title(label)
        ax.set_xlabel("training iteration")
    fig.suptitle(title)
    fig.savefig(out, dpi=100)
    plt.close(fig)


SUMMARY_ROWS = (
    ("consumer", "reward / step", "reward/consumer_mean"),
    ("firm", "reward / step", "reward/firm_mean"),
    ("government", "reward / step", "reward/government_mean"),
    ("firm", "price", "econ/price_mean"),
    ("firm", "wage", "econ/wage_mean"),
    ("consumer", "hours", "econ/hours_mean"),
    ("consumer", "consumption", "econ/consumption_mean"),
    ("government", "income tax", "econ/income_tax_mean"),
    ("government", "corporate tax", "econ/corporate_tax_mean"),
)


def summary_table(rows: list[dict[str, str]]) -> str:
    """Markdown table: each quantity at the first iteration, and averaged over the last 10%."""
    if not rows:
        return "(no iterations)"
    tail = rows[-max(1, len(rows) // 10) :]

    def value(rs: list[dict[str, str]], key: str) -> float:
        vals = [float(r[key]) for r in rs if r.get(key) not in (None, "")]
        return sum(vals) / len(vals) if vals else math.nan

    first_it, last_it = int(float(rows[0]["iteration"])), int(float(rows[-1]["iteration"]))
    header = ["type", "quantity", f"iteration {first_it}", f"last {len(tail)} (to {last_it})"]
    cells = [
        [agent_type, label, f"{value(rows[:1], key):,.4g}", f"{value(tail, key):,.4g}"]
        for agent_type, label, key in SUMMARY_ROWS
    ]
    return markdown_table(header, cells, align="llrr")


RESUME_SAFE_FIELDS = ("iterations",)


def resume_config(paths: RunPaths, updates: dict[str, Any]) -> TrainConfig:
    """The config a resumed run continues with: its own ``config.yaml`` plus safe ``updates``.

    Only the fields in ``RESUME_SAFE_FIELDS`` may change (``iterations``, to lengthen a run);
    anything else would make the resumed run another experiment.

    Raises:
        RunFolderError: when the run has no readable config.yaml or an update is not safe.
    """
    if not paths.config.is_file():
        raise RunFolderError(f"cannot resume {paths.root}: it has no config.yaml")
    try:
        saved = TrainConfig.load(paths.config)
    except (OSError, ValueError, TypeError) as err:
        raise RunFolderError(
            f"cannot resume {paths.root}: config.yaml is unreadable: {err}"
        ) from err
    unsafe = sorted(k for k in updates if k not in RESUME_SAFE_FIELDS)
    if unsafe:
        raise RunFolderError(
            f"--set {', '.join(unsafe)} cannot change while resuming (allowed: "
            f"{', '.join(RESUME_SAFE_FIELDS)}); start a new run with --name to change them"
        )
    return saved.override(updates) if updates else saved


def plan_resume(train_config: TrainConfig, paths: RunPaths) -> tuple[int, Path] | None:
    """Check that ``paths`` can be resumed with ``train_config``; return the checkpoint to load.

    Returns the (iteration, path) of the newest intact checkpoint, or None for a run that has
    no metrics rows yet (it starts from scratch). Reads only YAML, CSV and the manifests.

    Raises:
        RunFolderError: when the config differs from the saved one beyond ``iterations``, the
            run has metrics rows but no intact checkpoint, ``iterations`` is below the last
            checkpoint, or the checkpoint holds another economy than config.yaml.
    """
    metrics = MetricsFile(paths.metrics)
    saved = resume_config(paths, {})
    if saved.replace(iterations=train_config.iterations) != train_config:
        diff = _diff(saved.to_dict(), train_config.to_dict())
        raise RunFolderError(
            f"cannot resume {paths.root}: the config differs from the saved one at {diff}"
        )
    latest = paths.latest_intact_checkpoint()
    if latest is None and metrics.rows() > 0:
        raise RunFolderError(
            f"cannot resume {paths.root}: metrics.csv has {metrics.rows()} rows but there is "
            "no intact checkpoint to continue from; pass --overwrite to start it over"
        )
    if latest is not None and latest[0] > train_config.iterations:
        raise RunFolderError(
            f"cannot resume {paths.root} with iterations={train_config.iterations}: it has a "
            f"checkpoint at iteration {latest[0]}; iterations must be >= {latest[0]}"
        )
    if latest is not None:
        stored = verify_checkpoint(latest[1]).get("config")
        if stored is not None and TrainConfig.from_dict(stored).economy != saved.economy:
            raise RunFolderError(
                f"checkpoint {latest[1]} holds another economy than {paths.config}"
            )
    return latest


def iterate_training(
    train_config: TrainConfig,
    paths: RunPaths | None,
    *,
    resume: bool = False,
    checkpoint_every: int = 10,
    keep_checkpoints: int = 3,
    hooks: Sequence[RunHook] = (),
    on_iteration: Callable[[dict[str, float]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[dict[str, float]]:
    """Train either economy family, writing the run folder; yields each iteration's metrics row.

    ``paths.root`` must exist (see ``trainers.runfolder.open_run_folder``); with ``paths=None``
    nothing is written (no resume, no checkpoints). With ``resume``, training continues from
    the newest intact checkpoint (damaged newer ones are skipped with a warning), metrics rows
    after it are dropped, and ``train_config`` may differ from the saved config only in
    ``iterations``. Training ends after ``iterations``, or once the time spent in
    ``algo.train()`` reaches ``max_seconds`` (growth runs), with a checkpoint and the
    ``hooks``' ``on_end``. ``should_stop`` is polled after every iteration: when it returns
    True, a checkpoint of that iteration is saved and the generator ends (no ``on_end``).
    Every checkpoint holds the training time so far and the hooks' state (``RunHook.get_state``),
    so a resumed run continues the time budget and the hooks where they were.

    Raises:
        RunFolderError: when resuming a run whose config differs from ``train_config`` beyond
            ``iterations``, that has metrics rows but no intact checkpoint, or whose
            ``iterations`` is below its last checkpoint; or when not resuming a folder that
            already holds a run.
    """
    if paths is None and resume:
        raise ValueError("iterate_training: resume needs the run's paths")
    metrics = MetricsFile(paths.metrics) if paths is not None else None
    latest = plan_resume(train_config, paths) if resume and paths is not None else None
    if not resume and paths is not None:
        if paths.metrics.exists() or paths.latest_checkpoint():
            raise RunFolderError(
                f"{paths.root} already holds a run; pass --resume to continue it or pick a "
                "new --name"
            )
    if paths is not None:
        train_config.dump(paths.config)
    config_dict = train_config.to_dict()

    if latest is not None and metrics is not None:
        from ray.rllib.algorithms.algorithm import Algorithm

        start, checkpoint = latest
        algo = Algorithm.from_checkpoint(str(checkpoint.resolve()))
        kept = metrics.truncate_after(start)
        logger.info("resumed from %s (iteration %d; %d metric rows kept)", checkpoint, start, kept)
    else:
        start = 0
        algo = build_config(train_config).build_algo()
    if train_config.best_response.every > 0 and not train_config.deviation.active:
        # The ε curve is an evaluation hook the config asks for. Deviation runs (built by the
        # check itself, trainers.best_response) never run it.
        hooks = [PeriodicBestResponse(train_config), *hooks]
    writer = _tensorboard(paths.tensorboard) if paths is not None else None
    train_s = 0.0
    try:
        for hook in hooks:
            hook.on_start(algo)
        if latest is not None:
            train_s = _restore_run_state(latest[1], hooks)
        first = start + 1 if train_s < train_config.max_seconds else train_config.iterations + 1
        for iteration in range(first, train_config.iterations + 1):
            started = time.perf_counter()
            result = algo.train()
            train_s += time.perf_counter() - started
            row = metrics_row(result)
            row["iteration"] = iteration
            for hook in hooks:
                hook.on_iteration(algo, row, train_s)
            last = iteration == train_config.iterations or train_s >= train_config.max_seconds
            stop = should_stop is not None and should_stop()
            if paths is not None and metrics is not None:
                metrics.append(row)
                if writer is not None:
                    for key, value in row.items():
                        if key != "iteration" and math.isfinite(value):
                            writer.add_scalar(key, value, iteration)
                if iteration % checkpoint_every == 0 or last or stop:
                    run_state = {"train_s": train_s, "hooks": [h.get_state() for h in hooks]}
                    save_checkpoint(
                        algo, paths, iteration, keep_checkpoints, config_dict, run_state
                    )
            if on_iteration is not None:
                on_iteration(row)
            yield row
            if stop:
                return
            if last:
                break
        for hook in hooks:
            hook.on_end(algo, paths)
    finally:
        if writer is not None:
            writer.close()
        algo.stop()


def _restore_run_state(checkpoint: Path, hooks: Sequence[RunHook]) -> float:
    """The training time (s) saved with a verified checkpoint, after restoring its hooks.

    A checkpoint without ``RUN_STATE`` (saved before the loop kept one) restarts the clock
    at 0, and is refused if a hook needs its state (``RunHook.stateful``); one whose hooks
    differ from ``hooks`` is refused.
    """
    path = checkpoint / RUN_STATE
    if not path.exists():
        if any(hook.stateful for hook in hooks):
            raise RunFolderError(f"cannot resume from {checkpoint}: it has no {RUN_STATE}")
        return 0.0
    state = torch.load(path, weights_only=True)  # the manifest's SHA-256 was checked
    saved = state.get("hooks", [])
    if len(saved) == len(hooks):
        for hook, hook_state in zip(hooks, saved, strict=True):
            hook.set_state(hook_state)
    elif any(hook.stateful for hook in hooks):
        raise RunFolderError(
            f"cannot resume from {checkpoint}: it holds the state of {len(saved)} evaluation "
            f"hook(s), this run has {len(hooks)}"
        )
    return float(state["train_s"])


def _tensorboard(path: Path) -> Any:
    try:
        from tensorboardX import SummaryWriter
    except ImportError:  # pragma: no cover - tensorboardX ships with ray[rllib]
        logger.warning("tensorboardX is not installed; no TensorBoard logs")
        return None
    return SummaryWriter(str(path))


def _diff(a: dict[str, Any], b: dict[str, Any], prefix: str = "") -> list[str]:
    keys = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            keys += _diff(va, vb, f"{prefix}{k}.")
        elif va != vb:
            keys.append(f"{prefix}{k}: {va!r} -> {vb!r}")
    return keys
