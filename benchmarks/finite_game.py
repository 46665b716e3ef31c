"""The paper's finite game against a bootstrapped (continuing) end, per period (cpu_small).

How to run:
    .venv/bin/python benchmarks/finite_game.py          # 2 ends x 2 seeds x 60 iterations
    .venv/bin/python benchmarks/finite_game.py --quick    # 3 iterations, smoke run (results/quick/)

Each run is ``python -m trainers train --config cpu_small --set seed=<seed> --set
bootstrap_truncated=<end>``: ``false`` is the paper's finite game (the end at T is terminal,
the value target at t = T-1 is r_(T-1)), ``true`` bootstraps V(s_T) at the horizon. Per run, the
training means over the last 6 iterations (consumer and firm reward per step, hours, wage), and
the trained policy (sampled actions, every action allowed) played on 256 fresh economies for one
episode: mean hours worked per consumer at t = 0, T/2 and T-1, and the consumers' mean budget
after the last step. The table is written to ``results/finite_game.{csv,md}`` (``--quick``: the
git-ignored ``results/quick/``) and printed last; docs/model.md cites it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import machine, seed_comparison, trained_cpu_small  # noqa: E402

TAIL = 6  # iterations averaged at the end of each run
EPISODES = 256  # economies of the per-period evaluation
TRAINING = (
    ("consumer reward", "reward/consumer_mean"),
    ("firm reward", "reward/firm_mean"),
    ("hours", "econ/hours_mean"),
    ("wage", "econ/wage_mean"),
)


def run(bootstrap: bool, seed: int, iterations: int | None) -> dict[str, Any]:
    """Train one configuration, play its policy for one episode; return its row."""
    import torch

    from rbc_env.core.economy import BatchedEconomy

    overrides = {"bootstrap_truncated": bootstrap, "seed": seed}
    with trained_cpu_small(overrides, iterations) as (tc, policy, rows):
        policy.generator.manual_seed(seed)
        econ = BatchedEconomy(tc.economy, EPISODES, seed=10_000 + seed)
        obs = econ.reset()
        hours = []
        with torch.no_grad():
            for _ in range(tc.economy.horizon):
                out = econ.step(policy(obs))
                hours.append(float(out.flows["hours"].float().mean()))
                obs = out.obs
        budget = float(econ.state.consumer_budget.float().mean())
    tail = rows[-min(TAIL, len(rows)) :]
    row: dict[str, Any] = {
        "end at T": "bootstrap V(s_T)" if bootstrap else "terminal (paper)",
        "seed": seed,
        "iterations": tc.iterations,
    }
    for label, key in TRAINING:
        row[label] = sum(r[key] for r in tail) / len(tail)
    horizon = tc.economy.horizon
    for t in (0, horizon // 2, horizon - 1):
        row[f"hours t={t}"] = hours[t]
    row["budget after T"] = budget
    return row


def main(argv: list[str] | None = None) -> int:
    """Run both ends of the game on the same seeds; write and print the table."""
    header = (
        "# The finite game against a bootstrapped end (cpu_small)\n\n"
        f"Measured on: {machine('cpu')}. Training columns: means over the last {TAIL} "
        f"iterations. Hours at t and the budget: the trained policy on {EPISODES} fresh "
        "economies, one episode (hours per consumer and period; budget per consumer)."
    )
    return seed_comparison(argv, __doc__.split("\n")[0], "finite_game", run, (False, True), header)


if __name__ == "__main__":
    raise SystemExit(main())
