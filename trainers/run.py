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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trainers.config import TrainConfig

logger = logging.getLogger(__name__)

CHECKPOINT_PREFIX = "iter_"
PLOTTED = (
    ("reward/consumer_mean", "consumer reward / step"),
    ("reward/firm_mean", "firm reward / step"),
    ("reward/government_mean", "government reward / step"),
    ("econ/price_mean", "mean price"),
    ("econ/wage_mean", "mean wage"),
    ("econ/hours_mean", "mean hours"),
)


@dataclass(frozen=True)
class RunPaths:
    """Where a run keeps its files."""

    root: Path

    @property
    def config(self) -> Path:
        """The resolved config (YAML)."""
        return self.root / "config.yaml"

    @property
    def metrics(self) -> Path:
        """One CSV row per iteration."""
        return self.root / "metrics.csv"

    @property
    def checkpoints(self) -> Path:
        """Folder of checkpoints, one sub-folder per saved iteration."""
        return self.root / "checkpoints"

    @property
    def tensorboard(self) -> Path:
        """TensorBoard event files."""
        return self.root / "tensorboard"

    @property
    def plot(self) -> Path:
        """The training-curves figure."""
        return self.root / "plots" / "training.png"

    @property
    def summary(self) -> Path:
        """The final table (Markdown)."""
        return self.root / "summary.md"

    def latest_checkpoint(self) -> tuple[int, Path] | None:
        """(iteration, path) of the newest complete checkpoint, or None."""
        if not self.checkpoints.is_dir():
            return None
        found = []
        for p in self.checkpoints.iterdir():
            if p.is_dir() and p.name.startswith(CHECKPOINT_PREFIX):
                suffix = p.name[len(CHECKPOINT_PREFIX) :]
                if suffix.isdigit():
                    found.append((int(suffix), p))
        return max(found) if found else None


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

    def truncate_after(self, iteration: int) -> int:
        """Drop rows with ``iteration`` greater than the given one; return rows kept."""
        if not self.path.exists():
            return 0
        rows = read_metrics(self.path)
        kept = [r for r in rows if float(r["iteration"]) <= iteration]
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


def read_metrics(path: Path) -> list[dict[str, str]]:
    """All rows of a metrics.csv."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def save_checkpoint(algo: Any, paths: RunPaths, iteration: int, keep: int) -> Path:
    """Save atomically: into a temp folder, then rename; keep the newest ``keep`` checkpoints."""
    paths.checkpoints.mkdir(parents=True, exist_ok=True)
    final = paths.checkpoints / f"{CHECKPOINT_PREFIX}{iteration:07d}"
    tmp = paths.checkpoints / f".tmp_{CHECKPOINT_PREFIX}{iteration:07d}"
    shutil.rmtree(tmp, ignore_errors=True)
    algo.save_to_path(str(tmp.resolve()))
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
    lines = [
        f"| type | quantity | iteration {first_it} | last {len(tail)} (to {last_it}) |",
        "|---|---|---:|---:|",
    ]
    for agent_type, label, key in SUMMARY_ROWS:
        lines.append(
            f"| {agent_type} | {label} | {value(rows[:1], key):,.4g} | {value(tail, key):,.4g} |"
        )
    return "\n".join(lines)


def iterate_training(
    train_config: TrainConfig,
    paths: RunPaths,
    *,
    resume: bool,
    checkpoint_every: int,
    keep_checkpoints: int = 3,
    on_iteration: Callable[[dict[str, float]], None] | None = None,
) -> Iterator[dict[str, float]]:
    """Train, writing the run folder; yields each iteration's metrics row.

    Raises:
        ValueError: when resuming with a config that differs from the saved one.
    """
    from trainers.rllib import build_config

    paths.root.mkdir(parents=True, exist_ok=True)
    metrics = MetricsFile(paths.metrics)
    latest = paths.latest_checkpoint() if resume else None
    if resume and paths.config.exists():
        saved = TrainConfig.load(paths.config)
        # A resumed run may be extended (more iterations); everything else must match.
        if saved.replace(iterations=train_config.iterations) != train_config:
            diff = _diff(saved.to_dict(), train_config.to_dict())
            raise ValueError(
                f"cannot resume {paths.root}: the config differs from the saved one at {diff}"
            )
    if not resume and (paths.metrics.exists() or paths.latest_checkpoint()):
        raise ValueError(
            f"{paths.root} already holds a run; pass --resume to continue it or pick a new --name"
        )
    train_config.dump(paths.config)

    if latest is not None:
        from ray.rllib.algorithms.algorithm import Algorithm

        start, checkpoint = latest
        algo = Algorithm.from_checkpoint(str(checkpoint.resolve()))
        kept = metrics.truncate_after(start)
        logger.info("resumed from %s (iteration %d; %d metric rows kept)", checkpoint, start, kept)
    else:
        start = 0
        algo = build_config(train_config).build_algo()
    writer = _tensorboard(paths.tensorboard)
    try:
        for iteration in range(start + 1, train_config.iterations + 1):
            result = algo.train()
            row = metrics_row(result)
            row["iteration"] = iteration
            metrics.append(row)
            if writer is not None:
                for key, value in row.items():
                    if key != "iteration" and math.isfinite(value):
                        writer.add_scalar(key, value, iteration)
            if iteration % checkpoint_every == 0 or iteration == train_config.iterations:
                save_checkpoint(algo, paths, iteration, keep_checkpoints)
            if on_iteration is not None:
                on_iteration(row)
            yield row
    finally:
        if writer is not None:
            writer.close()
        algo.stop()


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
