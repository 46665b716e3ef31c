"""Where one iteration of RLlib's stock env-runner sampler spends its time (cProfile).

How to run:
    .venv/bin/python benchmarks/env_runner_profile.py           # about 1 minute on 2 cores
    .venv/bin/python benchmarks/env_runner_profile.py --quick   # B = 16, results/quick/

What it measures: one ``algo.train()`` of ``TrainConfig.paper("open")`` with
``sampler="env_runner"`` (EnvRunners ``0x4``: sampling in the driver, so one process holds
the whole iteration), after a warm-up iteration, under ``cProfile``. Every function's own
time (``tottime``) is assigned to where its code lives: RLlib's env runner and episodes,
its connectors, its metrics, its learner, the rest of Ray; torch; numpy; this package's
economy and adapters (``rbc_env``) and trainer (``trainers``). Built-in functions
(``isinstance``, dict and list methods, tensor constructors) count for the code that called
them, from cProfile's per-caller times. The table shows the share of each part; the rows
``rbc_env`` and ``trainers`` are what this project controls. Profiling slows Python-heavy
code more than native code, so the shares matter, not the seconds.

Results: benchmarks/results/env_runner_profile.md (printed last; ``--quick`` writes to the
git-ignored benchmarks/results/quick/ instead).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import machine, markdown_table, results_dir, write_results  # noqa: E402

from rbc_env.perf import keep_freed_memory  # noqa: E402
from trainers.config import EnvRunnerParams, TrainConfig  # noqa: E402
from trainers.lifecycle import start_ray, stop_ray  # noqa: E402

# (substring of the file path, part); the first match wins.
PARTS: tuple[tuple[str, str], ...] = (
    ("/ray/rllib/connectors/", "RLlib connectors"),
    ("/ray/rllib/env/", "RLlib env runner and episodes"),
    ("/ray/rllib/utils/metrics/", "RLlib metrics"),
    ("/ray/rllib/core/learner/", "RLlib learner"),
    ("/ray/rllib/algorithms/", "RLlib learner"),
    ("/ray/rllib/", "RLlib, other"),
    ("/ray/", "Ray, other"),
    ("/rbc_env/", "rbc_env (economy and adapters)"),
    ("/trainers/", "trainers (this project)"),
    ("/torch/", "torch"),
    ("/numpy/", "numpy"),
    ("/tree/", "dm-tree"),
    ("/gymnasium/", "gymnasium and PettingZoo"),
    ("/pettingzoo/", "gymnasium and PettingZoo"),
)
OTHER = "Python, other"


def part_of(path: str) -> str | None:
    """The part a source file belongs to; ``None`` for built-ins (``~``)."""
    if path == "~" or path.startswith("<built-in"):
        return None
    for needle, part in PARTS:
        if needle in path:
            return part
    return OTHER


def self_time_by_part(stats: pstats.Stats) -> Counter[str]:
    """Seconds of own time per part; built-ins charged to their callers' parts."""
    out: Counter[str] = Counter()
    for (path, _, _), (_, _, tottime, _, callers) in stats.stats.items():  # type: ignore[attr-defined]
        part = part_of(path)
        if part is not None:
            out[part] += tottime
            continue
        charged = 0.0
        for (caller_path, _, _), entry in callers.items():
            share = entry[2] if isinstance(entry, tuple) else 0.0  # time from this caller
            out[part_of(caller_path) or OTHER] += share
            charged += share
        out[OTHER] += max(tottime - charged, 0.0)
    return out


def main(argv: list[str] | None = None) -> None:
    """Profile one env-runner iteration and write benchmarks/results/env_runner_profile.md."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="B = 16; writes results/quick/")
    args = parser.parse_args(argv)
    keep_freed_memory()
    tc = TrainConfig.paper("open").replace(
        device="cpu",
        sampler="env_runner",
        env_runner=EnvRunnerParams(num_env_runners=0, envs_per_runner=4),
    )
    if args.quick:
        tc = tc.replace(batch_size=16)
    from trainers.rllib import build_config

    start_ray(num_cpus=os.cpu_count())  # private: loopback only
    try:
        algo = build_config(tc).build_algo()
        try:
            algo.train()  # warm-up
            profiler = cProfile.Profile()
            started = time.perf_counter()
            profiler.enable()
            algo.train()
            profiler.disable()
            seconds = time.perf_counter() - started
        finally:
            algo.stop()
    finally:
        stop_ray()
    parts = self_time_by_part(pstats.Stats(profiler))
    total = sum(parts.values())
    ours = parts["rbc_env (economy and adapters)"] + parts["trainers (this project)"]
    rows = [
        {"part": part, "self s": s, "share %": 100 * s / total} for part, s in parts.most_common()
    ]
    agent_steps = tc.batch_size * tc.economy.horizon * tc.economy.n_agents
    header = (
        "# Env-runner sampler: where one iteration's time goes (cProfile)\n\n"
        f"Measured on: {machine('cpu')}.\n\n"
        f'`TrainConfig.paper("open")`, sampler `env_runner`, EnvRunners 0x4, B = '
        f"{tc.batch_size} economies x T = {tc.economy.horizon} ({agent_steps:,} agent-steps); "
        f"one iteration after a warm-up, {seconds:.1f} s under the profiler. This project's "
        f"code (rbc_env and trainers) is {100 * ours / total:.0f}% of the time; the rest is "
        "RLlib's per-agent episode, connector and metrics bookkeeping, the Python built-ins it "
        "calls, and the networks (torch)."
    )
    write_results("env_runner_profile", rows, header, quick=args.quick)
    print(f"Table written to {results_dir(quick=args.quick)}/env_runner_profile.{{csv,md}}\n")
    print(header)
    print()
    print(markdown_table(rows))


if __name__ == "__main__":
    main()
