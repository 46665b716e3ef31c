"""Env-only throughput of the RBC economy: batched core vs per-agent loop vs PettingZoo.

How to run:
    .venv/bin/python benchmarks/env_throughput.py            # full, about 2-4 minutes on 2 cores
    .venv/bin/python benchmarks/env_throughput.py --quick    # smoke run, seconds (results/quick/)
    .venv/bin/python benchmarks/env_throughput.py --device cuda
    .venv/bin/python benchmarks/env_throughput.py --device cuda --batches 256,4096,16384,65536

What it measures (one run, one machine, so the ratios are like for like):
    1. agent-steps/s of ``BatchedEconomy.step`` (observations, rewards and flows included,
       action validation off as in the trainers' hot loop) on the paper's open economy
       (100 consumers, 10 firms, 1 government) for B in {1, 16, 256, 4096} economies; the
       observations are the core's factorized ones (global part [B, G] and private parts
       [B, N, P]); the row "flat observations read" also reads every type's flat
       [B, N, G + P] tensor each step, as the core built it before (and as PettingZoo and
       TorchRL faces do);
    2. the same economy stepped by a plain per-agent Python loop (``tests/reference.py``, the
       reference implementation the tests check the core against) and by the PettingZoo
       ``ParallelEnv`` (numpy dicts, one economy); the ratios of (1) to each;
    3. cost per agent-step as consumers grow from 100 to 10,000 (10 firms), and as firms grow from
       10 to 100 (100 consumers), at a fixed total number of agents per step (B adjusted);
    4. with torchrl installed (``pip install -e ".[torchrl]"``): the batched TorchRL face
       (``rbc_env.torchrl_env``, validation off) at B = 256 and 4096, timed as a TorchRL loop
       steps it: ``env.step(td)`` then ``env.step_mdp(td)`` with the actions written into the
       TensorDict each step, TensorDict packing included; "x batched core" is its ratio to (1)
       at the same B (target: >= 0.5 at B = 4096); for comparison, TorchRL's own
       ``PettingZooWrapper`` around the PettingZoo env (one economy, masks off), stepped the
       same way.
    5. the batched core at the largest B with action validation on, as ``BatchedEconomy``
       runs by default (``validate=True``: range checks with one device sync per step), and
       with the action indices passed as uint8 instead of ``sample_actions``' int64 (the core
       takes any integer dtype; the results are bit for bit the same, the actions' bytes 8x
       fewer).
    6. the memory roofline of each batched-core row: the bytes one step must move at least
       (``step_traffic``: its inputs read once and its outputs written once) per agent-step,
       and the rate the machine's measured bandwidth (``_common.measure_peaks``) allows for
       them; "of roofline" is the achieved fraction. The core does no matrix products worth
       counting (its few reductions are batched vector products), so memory is its ceiling.
Every row's "x batched core" compares it with the batched core at the same B. The whole run
calls ``rbc_env.perf.keep_freed_memory()`` first (process-wide, opt-in for users).
Actions are drawn once per configuration and reused, so sampling is not timed. Episodes reset at
the horizon (T = 10); the reset's cost is included.

Results to expect on 2 CPU cores: see benchmarks/results/env_throughput.md (the table this script
writes and prints last; ``--quick`` writes to the git-ignored benchmarks/results/quick/
instead). The issue's targets: >= 3e7 agent-steps/s at B = 4096, >= 300x the per-agent loop,
cost per agent-step flat within 2x as consumers grow.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import (  # noqa: E402
    Peaks,
    best_time,
    machine,
    markdown_table,
    measure_peaks,
    results_dir,
    write_results,
)

from rbc_env import BatchedEconomy, RBCConfig, parallel_env  # noqa: E402
from rbc_env.core import dynamics  # noqa: E402
from rbc_env.perf import keep_freed_memory  # noqa: E402


def _episode_runner(econ: BatchedEconomy, actions: dict[str, torch.Tensor], *, flat: bool):
    horizon = econ.config.horizon

    def run() -> None:
        econ.reset()
        for _ in range(horizon):
            out = econ.step(actions)
            if flat:
                for agent_type in out.obs:
                    out.obs[agent_type]

    return run


def batched_rate(
    config: RBCConfig,
    batch: int,
    device: str,
    repeats: int,
    *,
    validate: bool = False,
    flat: bool = False,
    action_dtype: torch.dtype = torch.int64,
) -> float:
    """Agent-steps/s of the batched core on ``batch`` economies.

    ``flat`` also reads each type's flat observation tensor after every step; ``action_dtype``
    is the integer dtype the action indices are passed in (``sample_actions`` gives int64).
    """
    econ = BatchedEconomy(config, batch_size=batch, device=device, seed=0, validate=validate)
    econ.reset()
    actions = {t: a.to(action_dtype) for t, a in econ.sample_actions().items()}
    runner = _episode_runner(econ, actions, flat=flat)
    seconds = best_time(runner, repeats=repeats, sync=device)
    return batch * config.n_agents * config.horizon / seconds


def step_traffic(
    config: RBCConfig,
    batch: int,
    device: str,
    *,
    flat: bool = False,
    action_dtype: torch.dtype = torch.int64,
) -> int:
    """Bytes one step of ``batch`` economies moves at least: inputs read once, outputs written once.

    Inputs: the actions and the state; outputs: the next state's new tensors, rewards, flows and
    the observations' global and private parts (and, with ``flat``, the flat tensors). Tensors
    that share storage (a flow that is also a state field, a field carried over) count once.
    """
    econ = BatchedEconomy(config, batch_size=batch, device=device, seed=0, validate=False)
    econ.reset()
    actions = {t: a.to(action_dtype) for t, a in econ.sample_actions().items()}
    state = econ.state
    next_state, out = dynamics.step(config, state, actions)
    tensors = [*actions.values(), *state.tensors().values(), *next_state.tensors().values()]
    tensors += [*out.rewards.values(), out.done, *out.flows.values()]
    tensors += [out.obs.global_part, *out.obs.private.values()]
    if flat:
        tensors += [out.obs[agent_type] for agent_type in out.obs]
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return sum(storages.values())


def reference_rate(config: RBCConfig, episodes: int) -> float:
    """Agent-steps/s of the plain per-agent Python loop of tests/reference.py."""
    from tests import reference

    econ = BatchedEconomy(config, batch_size=1, seed=0, validate=False)
    actions = econ.sample_actions()
    consumer, firm, government = (
        actions[k][0].tolist() for k in ("consumer", "firm", "government")
    )

    def run() -> None:
        for _ in range(episodes):
            state = reference.initial_state(config)
            for _ in range(config.horizon):
                state = reference.step(config, state, consumer, firm, government).state

    seconds = best_time(run, repeats=2)
    return episodes * config.n_agents * config.horizon / seconds


def pettingzoo_rate(config: RBCConfig, episodes: int) -> float:
    """Agent-steps/s of the PettingZoo ParallelEnv (one economy, numpy dicts)."""
    env = parallel_env(config)
    env.reset(seed=0)
    for agent in env.possible_agents:
        env.action_space(agent).seed(0)
    actions = {a: env.action_space(a).sample() for a in env.possible_agents}

    def run() -> None:
        for _ in range(episodes):
            env.reset()
            for _ in range(config.horizon):
                env.step(actions)

    seconds = best_time(run, repeats=2)
    return episodes * config.n_agents * config.horizon / seconds


def torchrl_rate(config: RBCConfig, batch: int, device: str, repeats: int) -> float | None:
    """Agent-steps/s of the batched TorchRL face (``None`` without torchrl)."""
    try:
        from rbc_env.adapters.torchrl import torchrl_env
    except ImportError:
        return None
    env = torchrl_env(config, batch_size=batch, device=device, seed=0, validate=False)
    actions = env.rand_action(env.reset())
    keys = [(t, "action") for t in env.group_map]

    def run() -> None:
        td = env.reset()
        for _ in range(config.horizon):
            for key in keys:
                td.set(key, actions.get(key))
            td = env.step_mdp(env.step(td))

    seconds = best_time(run, repeats=repeats, sync=device)
    return batch * config.n_agents * config.horizon / seconds


def torchrl_pettingzoo_rate(config: RBCConfig, episodes: int) -> float | None:
    """Agent-steps/s of TorchRL's ``PettingZooWrapper`` over the PettingZoo env.

    ``None`` without torchrl.
    """
    try:
        from torchrl.envs import PettingZooWrapper
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PettingZoo in TorchRL is tested")
        env = PettingZooWrapper(env=parallel_env(config), categorical_actions=True, seed=0)
    actions = env.rand_action(env.reset())
    keys = [(t, "action") for t in env.group_map]

    def run() -> None:
        for _ in range(episodes):
            td = env.reset()
            for _ in range(config.horizon):
                for key in keys:
                    td.set(key, actions.get(key))
                td = env.step_mdp(env.step(td))

    seconds = best_time(run, repeats=2)
    return episodes * config.n_agents * config.horizon / seconds


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark, write benchmarks/results/env_throughput.{csv,md}, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes, fewer repeats; writes results/quick/"
    )
    parser.add_argument("--name", default=None, help="results file name (default by device)")
    parser.add_argument(
        "--batches",
        default=None,
        help="comma-separated B of the batched-core rows (default 1,16,256,4096; quick "
        "1,16,256); the TorchRL rows run at the B above 16",
    )
    args = parser.parse_args(argv)
    keep_freed_memory()
    device = args.device
    repeats = 2 if args.quick else 3
    paper = RBCConfig.paper("open")
    batches = [1, 16, 256] if args.quick else [1, 16, 256, 4096]
    if args.batches:
        try:
            batches = sorted({1, *(int(b) for b in args.batches.split(","))})
        except ValueError:
            parser.error(f"--batches must be comma-separated integers; got {args.batches!r}")
        if batches[0] < 1:
            parser.error(f"--batches must be >= 1; got {args.batches!r}")
    total_agents = (256 if args.quick else 4096) * paper.n_agents

    peaks = measure_peaks(device)
    rows: list[dict[str, object]] = []
    ref = reference_rate(paper, episodes=2 if args.quick else 5)
    pz = pettingzoo_rate(paper, episodes=5 if args.quick else 20)
    core: dict[int, float] = {b: batched_rate(paper, b, device, repeats) for b in batches}
    rows.append(_row("per-agent Python loop", paper, 1, ref, ref, pz, core[1]))
    rows.append(_row("PettingZoo ParallelEnv", paper, 1, pz, ref, pz, core[1]))
    wrapped = torchrl_pettingzoo_rate(paper, episodes=2 if args.quick else 5)
    if wrapped is not None:
        rows.append(_row("TorchRL PettingZooWrapper", paper, 1, wrapped, ref, pz, core[1]))
    largest = batches[-1]
    traffic = {b: step_traffic(paper, b, device) for b in batches}
    for b in batches:
        rows.append(_row("batched core", paper, b, core[b], ref, pz, core[b], traffic[b], peaks))
    flat = batched_rate(paper, largest, device, repeats, flat=True)
    flat_traffic = step_traffic(paper, largest, device, flat=True)
    rows.append(
        _row(
            "batched core, flat observations read",
            paper,
            largest,
            flat,
            ref,
            pz,
            core[largest],
            flat_traffic,
            peaks,
        )
    )
    small = batched_rate(paper, largest, device, repeats, action_dtype=torch.uint8)
    small_traffic = step_traffic(paper, largest, device, action_dtype=torch.uint8)
    rows.append(
        _row(
            "batched core, uint8 action indices",
            paper,
            largest,
            small,
            ref,
            pz,
            core[largest],
            small_traffic,
            peaks,
        )
    )
    checked = batched_rate(paper, largest, device, repeats, validate=True)
    rows.append(
        _row(
            "batched core, validate=True",
            paper,
            largest,
            checked,
            ref,
            pz,
            core[largest],
            traffic[largest],  # validation reads nothing the step does not
            peaks,
        )
    )
    torchrl_batches = [b for b in batches if b >= 256] if args.batches else None
    for b in torchrl_batches or ([256] if args.quick else [256, 4096]):
        rate = torchrl_rate(paper, b, device, repeats)
        if rate is not None:
            rows.append(_row("TorchRL batched face", paper, b, rate, ref, pz, core[b]))

    scaling: list[dict[str, object]] = []
    consumers = [100, 1000] if args.quick else [100, 1000, 10000]
    firms = [10, 30] if args.quick else [10, 30, 100]
    shapes = [(c, 10) for c in consumers] + [(100, f) for f in firms[1:]]
    base_cost = None
    for c, f in shapes:
        config = paper.override({"n_consumers": c, "n_firms": f})
        batch = max(1, total_agents // config.n_agents)
        rate = batched_rate(config, batch, device, repeats)
        cost_ns = 1e9 / rate
        base_cost = base_cost or cost_ns
        scaling.append(
            {
                "consumers": c,
                "firms": f,
                "B": batch,
                "agents/step": batch * config.n_agents,
                "agent-steps/s": rate,
                "ns / agent-step": cost_ns,
                "vs 100x10": cost_ns / base_cost,
            }
        )

    header = f"# Env throughput\n\nMeasured on: {machine(device)}. {peaks.describe()}"
    name = args.name or ("env_throughput" if device == "cpu" else f"env_throughput_{device}")
    write_results(name, rows, header, quick=args.quick)
    write_results(
        f"{name}_scaling", scaling, header + "\n\nFixed total agents per step.", quick=args.quick
    )
    print(f"Tables written to {results_dir(quick=args.quick)}/{name}{{,_scaling}}.{{csv,md}}\n")
    print(header)
    print("\nCost per agent-step as the economy grows (fixed total agents per step):\n")
    print(markdown_table(scaling))
    print("\nThroughput, paper open economy (111 agents), env only:\n")
    print(markdown_table(rows))


def _row(
    path: str,
    config: RBCConfig,
    batch: int,
    rate: float,
    ref: float,
    pz: float,
    core: float,
    traffic: int | None = None,
    peaks: Peaks | None = None,
) -> dict[str, object]:
    """One table row; ``traffic`` (bytes per step, ``step_traffic``) adds the memory roofline."""
    row: dict[str, object] = {
        "path": path,
        "B": batch,
        "agent-steps/s": rate,
        "x per-agent loop": rate / ref,
        "x PettingZoo": rate / pz,
        "x batched core": rate / core,
        "bytes / agent-step": "-",
        "memory roofline": "-",
        "of roofline": "-",
    }
    if traffic is not None and peaks is not None:
        per_agent_step = traffic / (batch * config.n_agents)
        roofline = peaks.bandwidth / per_agent_step
        row["bytes / agent-step"] = per_agent_step
        row["memory roofline"] = roofline
        row["of roofline"] = f"{rate / roofline:.0%}"
    return row


if __name__ == "__main__":
    main()
