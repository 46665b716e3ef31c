"""How trained consumers and firms respond to the wage, grid against continuous actions (cpu_small).

How to run:
    .venv/bin/python benchmarks/wage_response.py          # 2 action spaces x 2 seeds x 60 its
    .venv/bin/python benchmarks/wage_response.py --quick    # 3 iterations (results/quick/)

Each run is ``python -m trainers train --config cpu_small --set seed=<seed> --set
economy.action_space=<discrete|continuous>``. The trained policies then play one episode on 256
fresh economies, first as they are and then with every firm's wage action replaced by a fixed
wage w (0, 11 and 22 money per hour, the grid's lowest values; all other actions are the
policies' own). Per wage: mean hours per consumer and firm reward per firm and step, over
periods 1 to T-1 (the wage chosen at t applies from t + 1). The table is written to
``results/wage_response.{csv,md}`` (``--quick``: the git-ignored ``results/quick/``) and printed
last; docs/results.md cites it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import machine, seed_comparison, trained_cpu_small  # noqa: E402

EPISODES = 256  # economies of each evaluation
WAGES = (0.0, 11.0, 22.0)  # fixed wages (money / hour): the grid's lowest


def _play(policy: Any, tc: Any, seed: int, wage: float | None) -> tuple[float, float, float]:
    """(hours, firm reward, wage) means over periods 1..T-1 of one episode of B economies."""
    import torch

    from rbc_env.core.economy import BatchedEconomy

    econ = BatchedEconomy(tc.economy, EPISODES, seed=10_000 + seed)
    obs = econ.reset()
    policy.generator.manual_seed(seed)
    sums = [0.0, 0.0, 0.0]
    with torch.no_grad():
        for t in range(tc.economy.horizon):
            actions = policy(obs)
            if wage is not None:
                firm = actions["firm"].clone()
                discrete = tc.economy.action_space == "discrete"
                firm[..., 1] = round(wage / tc.economy.firm.wage_step) if discrete else wage
                actions["firm"] = firm
            out = econ.step(actions)
            obs = out.obs
            if t >= 1:
                sums[0] += float(out.flows["hours"].float().mean())
                sums[1] += float(out.rewards["firm"].float().mean())
                sums[2] += float(econ.state.wage.float().mean())
    n = tc.economy.horizon - 1
    return sums[0] / n, sums[1] / n, sums[2] / n


def run(action_space: str, seed: int, iterations: int | None) -> dict[str, Any]:
    """Train one configuration, play it with its own and with fixed wages; return its row."""
    overrides = {"economy.action_space": action_space, "seed": seed}
    with trained_cpu_small(overrides, iterations) as (tc, policy, _):
        row: dict[str, Any] = {"actions": action_space, "seed": seed, "iterations": tc.iterations}
        hours, firm, wage = _play(policy, tc, seed, None)
        row |= {"policy's wage": wage, "hours": hours, "firm reward": firm}
        for w in WAGES:
            hours, firm, _ = _play(policy, tc, seed, w)
            row |= {f"hours w={w:g}": hours, f"firm reward w={w:g}": firm}
    return row


def main(argv: list[str] | None = None) -> int:
    """Run both action spaces on the same seeds; write and print the table."""
    header = (
        "#### Wage response of trained policies, grid against continuous actions (cpu_small)\n\n"
        f"Measured on: {machine('cpu')}. One episode of {EPISODES} fresh economies per column, "
        "means over periods 1 to T-1: the policies' own wages, then every firm's wage fixed "
        "at w (money per hour); hours per consumer, firm reward per firm and step."
    )
    return seed_comparison(
        argv, __doc__.split("\n")[0], "wage_response", run, ("discrete", "continuous"), header
    )


if __name__ == "__main__":
    raise SystemExit(main())
