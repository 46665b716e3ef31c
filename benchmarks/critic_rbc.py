"""Independent vs centralized critic on the RBC economy (cpu_small), same seeds, one run.

How to run:
    .venv/bin/python benchmarks/critic_rbc.py          # 2 critics x 2 seeds x 60 iterations
    .venv/bin/python benchmarks/critic_rbc.py --quick    # 3 iterations, smoke run (results/quick/)

Each run is ``python -m trainers train --config cpu_small --set critic=<critic> --set
seed=<seed>``: the ``cpu_small`` preset (20 consumers, 5 firms, B = 32, 60 iterations, the
compressed curriculum) trained by the batched sampler. The centralized critic's value network
also reads the government's observation (the economy's aggregate state); the policies are the
same networks in both. Reported per type, as means over the last 10 iterations: the mean
per-step reward, and the value function's explained variance (RLlib's ``vf_explained_var``,
1 = perfect, 0 = no better than the mean). The table is written to
``results/critic_rbc.{csv,md}`` (``--quick``: the git-ignored ``results/quick/``) and printed
last.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import machine, seed_comparison, trained_cpu_small  # noqa: E402

TYPES = ("consumer", "firm", "government")
TAIL = 10  # iterations averaged at the end of each run


def run(critic: str, seed: int, iterations: int | None) -> dict[str, Any]:
    """Train one configuration; return its row."""
    with trained_cpu_small({"critic": critic, "seed": seed}, iterations) as (tc, _, rows):
        pass
    tail = rows[-min(TAIL, len(rows)) :]
    row: dict[str, Any] = {"critic": critic, "seed": seed, "iterations": tc.iterations}
    for t in TYPES:
        rewards = [r[f"reward/{t}_mean"] for r in tail]
        row[f"{t} reward"] = sum(rewards) / len(rewards)
    for t in TYPES:
        key = f"learners/{t}/vf_explained_var"
        values = [r[key] for r in tail if key in r]
        row[f"{t} vf expl. var"] = sum(values) / len(values) if values else float("nan")
    return row


def main(argv: list[str] | None = None) -> int:
    """Run both critics on the same seeds; write and print the table."""
    header = (
        "# Independent vs centralized critic, RBC economy (cpu_small)\n\n"
        f"Measured on: {machine('cpu')}. Means over the last {TAIL} iterations."
    )
    return seed_comparison(
        argv, __doc__.split("\n")[0], "critic_rbc", run, ("independent", "centralized"), header
    )


if __name__ == "__main__":
    raise SystemExit(main())
