"""Data-parallel learners on the RBC economy (cpu_small): does splitting the update change it?

The driver's learner, one and two learner actors (rolling out in the driver or in the actors),
and two actors on two Ray nodes.

How to run:
    .venv/bin/python benchmarks/learners_rbc.py            # 7 layouts x 3 seeds x 60 iterations
    .venv/bin/python benchmarks/learners_rbc.py --quick    # 3 iterations, 1 seed (results/quick/)

Each run trains the ``cpu_small`` preset (20 consumers, 5 firms, B = 32, 60 iterations, the
compressed curriculum) with the batched sampler, changing only where the PPO update runs:

- ``driver``: ``num_learners = 0``, the learner in the driver process (the default);
- ``1 actor``: ``num_learners = 1`` with ``cpus_per_learner`` = the driver's torch threads, which
  computes what the driver's learner computes bit for bit (``tests/trainers/test_batched.py``),
  so its rows must equal the driver's;
- ``2 actors``: ``num_learners = 2``, one CPU each: every gradient step averages two half-size
  minibatches (DDP), a different optimization path from the same data;
- ``1 actor rolls out``, ``2 actors roll out``: the same with ``rollouts = "learners"``: each
  actor rolls out its own B / N economies (learner 0 with the run's seed, so one actor must
  equal the driver again; two actors sample different economies, so they can only match
  within the seed spread);
- ``2 actors, 2 nodes``, ``2 actors roll out, 2 nodes``: the same on a local Ray cluster of
  two nodes (two ``ray start`` processes on 127.0.0.1, one CPU each, so one actor per node;
  ``_common.local_cluster``).

Reported per run, as means over the last 10 iterations: the mean per-step reward of each type,
the mean price and wage. The header says, per type, whether each layout's mean over the seeds
lies within the driver's range over the same seeds (its seed spread). The table is written to
``results/learners_rbc.{csv,md}`` (``--quick``: the git-ignored ``results/quick/``) and printed
last.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from benchmarks._common import (  # noqa: E402
    local_cluster,
    machine,
    results_dir,
    trained_cpu_small,
    write_results,
)

TYPES = ("consumer", "firm", "government")
TAIL = 10  # iterations averaged at the end of each run
_ONE = {"num_learners": 1, "cpus_per_learner": torch.get_num_threads()}
_IN_LEARNERS = {"rollouts": "learners"}
LAYOUTS = {  # name: (TrainConfig overrides, Ray nodes)
    "driver": ({"num_learners": 0}, 1),
    "1 actor": (_ONE, 1),
    "2 actors": ({"num_learners": 2}, 1),
    "1 actor rolls out": ({**_ONE, **_IN_LEARNERS}, 1),
    "2 actors roll out": ({"num_learners": 2, **_IN_LEARNERS}, 1),
    "2 actors, 2 nodes": ({"num_learners": 2}, 2),
    "2 actors roll out, 2 nodes": ({"num_learners": 2, **_IN_LEARNERS}, 2),
}


def run(layout: str, seed: int, iterations: int | None) -> dict[str, Any]:
    """Train one layout and seed; return its row."""
    overrides = {**LAYOUTS[layout][0], "seed": seed}
    started = time.monotonic()
    with trained_cpu_small(overrides, iterations) as (tc, _, rows):
        pass
    print(f"{layout}, seed {seed}: trained in {time.monotonic() - started:.0f} s", flush=True)
    tail = rows[-min(TAIL, len(rows)) :]
    row: dict[str, Any] = {"layout": layout, "seed": seed, "iterations": tc.iterations}
    for key in [f"reward/{t}_mean" for t in TYPES] + ["econ/price_mean", "econ/wage_mean"]:
        row[key.split("/")[1].removesuffix("_mean")] = sum(r[key] for r in tail) / len(tail)
    return row


def verdicts(rows: list[dict[str, Any]]) -> list[str]:
    """Per layout and type: its mean over seeds against the driver's range over the seeds."""

    def column(layout: str, t: str) -> list[float]:
        return [r[t] for r in rows if r["layout"] == layout]

    lines = []
    for layout in LAYOUTS:
        if layout == "driver" or not column(layout, TYPES[0]):
            continue
        parts = []
        for t in TYPES:
            base, other = column("driver", t), column(layout, t)
            mean = sum(other) / len(other)
            inside = min(base) <= mean <= max(base)
            parts.append(
                f"{t} {mean:.4g} ({'within' if inside else 'OUTSIDE'} [{min(base):.4g}, "
                f"{max(base):.4g}])"
            )
        lines.append(f"- {layout}: " + "; ".join(parts))
    return lines


def main(argv: list[str] | None = None) -> int:
    """Run every layout on the same seeds; write and print the table."""
    # Before ray is imported (local_cluster's nodes use token authentication). Set here, not
    # at import: a process that imported ray already (a test importing this module) would
    # start Ray's processes in token mode while its own client stayed without a token.
    os.environ.setdefault("RAY_AUTH_MODE", "token")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    from rbc_env.perf import keep_freed_memory
    from trainers.lifecycle import start_ray, stop_ray

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="3 iterations, seed 0; writes results/quick/"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=None, help="default 0 1 2")
    args = parser.parse_args(argv)
    seeds = args.seeds or ([0] if args.quick else [0, 1, 2])
    iterations = 3 if args.quick else None
    keep_freed_memory()
    rows: list[dict[str, Any]] = []
    single = [name for name, (_, nodes) in LAYOUTS.items() if nodes == 1]
    start_ray()  # private: loopback only
    try:
        rows += [run(name, seed, iterations) for seed in seeds for name in single]
    finally:
        stop_ray()
    with local_cluster(2, 1):
        rows += [run(name, seed, iterations) for seed in seeds for name in LAYOUTS
                 if name not in single]  # fmt: skip
    header = "\n".join(
        [
            "# Data-parallel learners, RBC economy (cpu_small)",
            "",
            f"Measured on: {machine('cpu')}. Means over the last {TAIL} iterations of each run; "
            f"seeds {seeds}. Each layout's mean over the seeds against the driver's range:",
            "",
            *verdicts(rows),
        ]
    )
    name = "learners_rbc"
    text = write_results(name, rows, header, quick=args.quick)
    print(f"Table written to {results_dir(quick=args.quick) / name}.{{csv,md}}\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
