"""Reproduce the paper's results at a chosen scale: curricula vs none, best responses, taxes.

How to run:
    .venv/bin/python benchmarks/reproduce_paper.py                 # cpu_small, 2 seeds, ~6 min
    .venv/bin/python benchmarks/reproduce_paper.py --quick         # 3 iterations a run (smoke)

For each seed and each curriculum (``cpu_small``'s compressed curriculum, and ``none``: every
type trains from iteration 0, masks open after the first iteration, θ factor 1 from the first
iteration), this script:

1. trains the open economy with the batched sampler (``python -m trainers train --config
   cpu_small``);
2. runs the best response of every type (``trainers.best_response.run_best_response``);
3. evaluates the learned government against fixed tax rates
   (``trainers.best_response.run_fixed_taxes``).

Results go to ``benchmarks/results/reproduce_<scale>/``:

- ``training.png``: the paper's Figure 3 quantities over training, each curriculum's mean over
  seeds (also copied to ``docs/img/reproduce_cpu_small.png`` for the docs);
- ``epsilon.md``: ε per type with its CI and relative ε, a Table 3-style table;
- ``taxes.md``: learned vs fixed taxes (Figure 5), next to the paper's numbers;
- ``outcomes.md``: the end-of-training economy per run, and whether it collapsed to a trivial
  solution (no production or consumption);
- ``metrics/<run>.csv``: each run's metrics over training.

``docs/results.md`` shows them. The script prints the ε table last. The paper's numbers (spec
section 11, read off its figures) are constants below, with their source; every other number is
computed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import RESULTS, machine  # noqa: E402

# Paper numbers (spec 11.2, Table 3: worst case over 10 seeds, end of training, relative ε).
PAPER_RELATIVE_EPSILON = {"consumer": "< 3%", "firm": "< 10%", "government": "< 1%"}
PAPER_BEST_FIXED_WELFARE = 3160.0  # spec 11.3: best fixed-tax social welfare, paper scale
PAPER_LEARNED_WELFARE = "3000-4000"  # spec 11.3: RL tax policies, paper scale
TAX_RATES = (0.2, 0.4, 0.6, 0.8)
DOCS_FIGURE = ROOT / "docs" / "img" / "reproduce_cpu_small.png"
COLLAPSE = 1e-3  # production or consumption per agent and step below this counts as trivial
NO_CURRICULUM = {
    "curriculum.firm.train_start": 0,
    "curriculum.government.train_start": 0,
    "economy.curriculum.mask_anneal_iters": 1,
    "economy.curriculum.tax_mask_start": 0,
    "economy.curriculum.theta_decay_iters": 1e-6,
}
CURVES = (
    ("reward/consumer_mean", "consumer reward / step"),
    ("reward/firm_mean", "firm reward / step"),
    ("econ/price_mean", "mean price"),
    ("econ/wage_mean", "mean wage"),
)


def train_run(name: str, sets: dict[str, Any], runs: Path, iterations: int | None) -> Path:
    """Train one run into ``runs/<name>`` (checkpoint at the end); return its folder."""
    from trainers.config import TrainConfig
    from trainers.run import RunPaths, iterate_training

    tc = TrainConfig.cpu_small("open").override(sets)
    if iterations is not None:
        tc = tc.override({"iterations": iterations})
    paths = RunPaths(runs / name)
    if paths.root.exists():
        shutil.rmtree(paths.root)
    for _ in iterate_training(tc, paths, resume=False, checkpoint_every=tc.iterations):
        pass
    return paths.root


def _mean_rows(folders: list[Path], key: str) -> tuple[list[float], list[float]]:
    from trainers.run import read_metrics

    series = [[float(r[key]) for r in read_metrics(f / "metrics.csv")] for f in folders]
    n = min(len(s) for s in series)
    return list(range(1, n + 1)), [sum(s[i] for s in series) / len(series) for i in range(n)]


def plot_curves(groups: dict[str, list[Path]], out: Path) -> None:
    """Figure 3 quantities over training, one line per curriculum (mean over seeds)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(CURVES), figsize=(16, 3.6), constrained_layout=True)
    for ax, (key, label) in zip(axes, CURVES, strict=True):
        for curriculum, folders in groups.items():
            x, y = _mean_rows(folders, key)
            ax.plot(x, y, label=curriculum)
        ax.set_title(label)
        ax.set_xlabel("training iteration")
    axes[0].legend()
    fig.savefig(out, dpi=100)
    plt.close(fig)


def outcome(folder: Path) -> dict[str, float]:
    """End-of-training means (last 10% of iterations) of the economy."""
    from trainers.run import read_metrics

    rows = read_metrics(folder / "metrics.csv")
    tail = rows[-max(1, len(rows) // 10) :]
    keys = ("reward/consumer_mean", "reward/firm_mean", "reward/government_mean")
    keys += ("econ/price_mean", "econ/wage_mean", "econ/consumption_mean", "econ/production_mean")
    return {k: sum(float(r[k]) for r in tail) / len(tail) for k in keys}


def main(argv: list[str] | None = None) -> int:
    """Train, check, write the tables and the figure; print the ε table last."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--br-iterations", type=int, default=20)
    parser.add_argument("--episodes", type=int, default=256)
    parser.add_argument("--quick", action="store_true", help="3 iterations a run (smoke)")
    parser.add_argument("--out", default=None, help="results folder")
    args = parser.parse_args(argv)
    import ray

    from rbc_env.perf import keep_freed_memory
    from trainers.best_response import run_best_response, run_fixed_taxes

    keep_freed_memory()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    scale = "cpu_small_quick" if args.quick else "cpu_small"
    out = Path(args.out) if args.out else RESULTS / f"reproduce_{scale}"
    out.mkdir(parents=True, exist_ok=True)
    runs = out / "runs"
    iterations = 3 if args.quick else None
    br_iters = 1 if args.quick else args.br_iterations
    episodes = 8 if args.quick else args.episodes
    ray.init(include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    groups: dict[str, list[Path]] = {"curriculum": [], "none": []}
    eps_rows, tax_rows, outcome_rows = [], [], []
    for seed in args.seeds:
        for curriculum, sets in (("curriculum", {}), ("none", NO_CURRICULUM)):
            name = f"{curriculum}_seed{seed}"
            print(f"[{name}] training", flush=True)
            folder = train_run(name, {**sets, "seed": seed}, runs, iterations)
            groups[curriculum].append(folder)
            outcome_rows.append({"run": name, **outcome(folder)})
            for r in run_best_response(folder, iterations=br_iters, episodes=episodes, seed=seed):
                eps_rows.append({"run": name, **r.to_dict()})
            for r in run_fixed_taxes(folder, TAX_RATES, episodes=episodes, seed=seed):
                tax_rows.append(
                    {
                        "run": name,
                        "policy": r.policy,
                        "welfare": r.welfare.mean,
                        "low": r.welfare.low,
                        "high": r.welfare.high,
                        "consumer": r.consumer.mean,
                        "firm": r.firm.mean,
                    }
                )
    ray.shutdown()
    plot_curves(groups, out / "training.png")
    if not args.quick and args.out is None:  # the docs page shows the figure
        shutil.copy(out / "training.png", DOCS_FIGURE)
    (out / "metrics").mkdir(exist_ok=True)
    for folder in (f for fs in groups.values() for f in fs):
        shutil.copy(folder / "metrics.csv", out / "metrics" / f"{folder.name}.csv")
    shutil.rmtree(runs)  # checkpoints are large; metrics, tables and the figure are kept
    header = f"Measured on: {machine('cpu')}. Scale: {scale}, seeds {args.seeds}."
    eps_md = _epsilon_table(eps_rows, header)
    (out / "epsilon.md").write_text(eps_md, encoding="utf-8")
    (out / "taxes.md").write_text(_tax_table(tax_rows, header), encoding="utf-8")
    (out / "outcomes.md").write_text(_outcome_table(outcome_rows, header), encoding="utf-8")
    (out / "raw.json").write_text(
        json.dumps({"epsilon": eps_rows, "taxes": tax_rows, "outcomes": outcome_rows}, indent=1)
    )
    print((out / "taxes.md").read_text())
    print(eps_md)
    return 0


def _fmt(x: float) -> str:
    return "-" if not math.isfinite(x) else f"{x:.3g}"


def _epsilon_table(rows: list[dict[str, Any]], header: str) -> str:
    lines = [
        "### Best response (Table 3 / Figure 4 style)",
        "",
        header,
        "",
        "| run | type | J before | J after | ε | ε 95% CI | relative ε | paper (relative, worst) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['run']} | {r['agent_type']} | {_fmt(r['before_mean'])} | "
            f"{_fmt(r['after_mean'])} | {_fmt(r['epsilon'])} | "
            f"[{_fmt(r['epsilon_low'])}, {_fmt(r['epsilon_high'])}] | {_fmt(r['relative'])} | "
            f"{PAPER_RELATIVE_EPSILON[r['agent_type']]} |"
        )
    return "\n".join(lines) + "\n"


def _tax_table(rows: list[dict[str, Any]], header: str) -> str:
    lines = [
        "### Learned vs fixed taxes (Figure 5 style)",
        "",
        header,
        f" Paper, at paper scale: best fixed-tax welfare {PAPER_BEST_FIXED_WELFARE:g}, learned "
        f"{PAPER_LEARNED_WELFARE}.",
        "",
        "| run | government | consumer reward | firm reward | welfare | welfare 95% CI |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['run']} | {r['policy']} | {_fmt(r['consumer'])} | {_fmt(r['firm'])} | "
            f"{_fmt(r['welfare'])} | [{_fmt(r['low'])}, {_fmt(r['high'])}] |"
        )
    return "\n".join(lines) + "\n"


def _outcome_table(rows: list[dict[str, Any]], header: str) -> str:
    lines = [
        "### End of training (last 10% of iterations)",
        "",
        header,
        "",
        "| run | consumer reward | firm reward | welfare | price | wage | consumption | "
        "production | trivial? |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        trivial = min(r["econ/consumption_mean"], r["econ/production_mean"]) < COLLAPSE
        lines.append(
            f"| {r['run']} | {_fmt(r['reward/consumer_mean'])} | {_fmt(r['reward/firm_mean'])} | "
            f"{_fmt(r['reward/government_mean'])} | {_fmt(r['econ/price_mean'])} | "
            f"{_fmt(r['econ/wage_mean'])} | {_fmt(r['econ/consumption_mean'])} | "
            f"{_fmt(r['econ/production_mean'])} | {'yes' if trivial else 'no'} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
