"""A short BenchMARL MAPPO (or IPPO) run on a small RBC economy, on the CPU.

BenchMARL's own experiment loop (collector, GAE, ClipPPOLoss, Adam) trains one policy per
agent type on ``rbc_env.adapters.benchmarl.RBCTask``: B economies of 10 consumers, 2 firms and
1 government stepped as one batch by the TorchRL face. The actors are
``MultiHeadMappoConfig`` / ``MultiHeadIppoConfig``: BenchMARL's MAPPO / IPPO with one
categorical per action head (consumers: units of each good, hours, employer; firms: price,
wage; government: two taxes). MAPPO's critics read the global ``"state"``; IPPO's read each
agent's observation. Rewards are divided by the per-type scales of ``configs/cpu_small.yaml``
(consumer 5, firm 30 000, government 1 000), so the returns below are in those units.

This is a demonstration of the BenchMARL route, not the project's trainer: there is no
curriculum schedule (``--curriculum-iteration`` fixes one curriculum iteration, with its action
masks and θ factor, for the whole run) and no best-response check; ``python -m trainers`` is
the supported path (``docs/howto/train.md``).

How to run (in a venv with BenchMARL; docs/howto/benchmarl.md gives the versions):
    python examples/benchmarl_mappo.py                       # MAPPO, 5 iterations, B = 32
    python examples/benchmarl_mappo.py --algorithm ippo
    python examples/benchmarl_mappo.py --iters 40 --curriculum-iteration 20000

Each run writes BenchMARL's folder (``config.pkl``, CSV scalars) under ``--out`` (default
``runs/benchmarl/``), then prints a table last: per iteration, the mean episode return of each
type (over the episodes that ended in the iteration's batch, in the scaled units above) and
each type's mean critic loss.

Results to expect (2 CPU cores, torch 2.13.0 CPU, BenchMARL 1.5.2, torchrl 0.11.1, seed 0;
measured 2026-11-29): the default run trains in about 1.5 s (5 iterations of 32 episodes;
about 7 s with imports), IPPO in about 2.5 s; 40 iterations with ``--curriculum-iteration
20000`` take about 15 s. In these runs the firms' return rises (MAPPO default: 6.4 to 27 in 5
iterations; 15 to 44 in the 40-iteration run, flat after about 20) and the government's
with it (1.4 to 4.4), while the consumers' falls (40-iteration run: 7.5 to 1.4-1.6). This
checks the route and shows learning; it is not a trained equilibrium.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from benchmarl.experiment import Experiment, ExperimentConfig
from benchmarl.experiment.callback import Callback
from benchmarl.models import MlpConfig
from tensordict import TensorDictBase

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rbc_env.adapters.benchmarl import (  # noqa: E402
    MultiHeadIppoConfig,
    MultiHeadMappoConfig,
    RBCTask,
)

TYPES = ("consumer", "firm", "government")
REWARD_SCALE = {"consumer": 5.0, "firm": 30_000.0, "government": 1_000.0}  # cpu_small.yaml
ALGORITHMS = {"mappo": MultiHeadMappoConfig, "ippo": MultiHeadIppoConfig}


class Summary(Callback):
    """One row per iteration: mean episode return and critic loss of each agent type."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[dict[str, float]] = []

    def on_batch_collected(self, batch: TensorDictBase) -> None:
        """Start the row: returns of the episodes that ended in this batch."""
        done = batch["next", "done"].squeeze(-1)  # [B, T]
        row = {"iteration": float(len(self.rows)), "episodes": float(done.sum())}
        for t in TYPES:
            episode = batch["next", t, "episode_reward"][done]  # [episodes, N_t, 1]
            row[f"{t} return"] = float(episode.mean()) if episode.numel() else float("nan")
        self.rows.append(row)

    def on_train_end(self, training_td: TensorDictBase, group: str) -> None:
        """Add the group's mean critic loss over the iteration's minibatches."""
        self.rows[-1][f"{group} critic loss"] = float(training_td["loss_critic"].mean())


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (see the module docstring)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    p.add_argument("--algorithm", choices=sorted(ALGORITHMS), default="mappo")
    p.add_argument("--iters", type=int, default=5, help="training iterations")
    p.add_argument("--n-envs", type=int, default=32, help="economies B stepped as one batch")
    p.add_argument("--n-consumers", type=int, default=10)
    p.add_argument("--n-firms", type=int, default=2)
    p.add_argument("--variant", choices=["open", "closed"], default="open")
    p.add_argument(
        "--curriculum-iteration",
        type=int,
        default=None,
        help="fix this curriculum iteration (θ factor and action masks) for the whole run",
    )
    p.add_argument("--lr", type=float, default=3e-4, help="Adam learning rate")
    p.add_argument("--epochs", type=int, default=4, help="passes over each batch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="sampling and training device")
    p.add_argument("--out", type=Path, default=ROOT / "runs" / "benchmarl")
    return p.parse_args(argv)


def experiment_config(args: argparse.Namespace, horizon: int) -> ExperimentConfig:
    """BenchMARL's defaults, sized for a short CPU run: one episode per economy per iteration."""
    cfg = ExperimentConfig.get_from_yaml()
    frames = args.n_envs * horizon
    cfg.max_n_frames = frames * args.iters
    cfg.max_n_iters = None
    cfg.on_policy_n_envs_per_worker = args.n_envs
    cfg.on_policy_collected_frames_per_batch = frames
    cfg.on_policy_minibatch_size = frames // 2
    cfg.on_policy_n_minibatch_iters = args.epochs
    cfg.lr = args.lr
    cfg.prefer_continuous_actions = False
    cfg.sampling_device = cfg.train_device = cfg.buffer_device = args.device
    cfg.loggers = ["csv"]
    cfg.create_json = False
    cfg.evaluation = False
    cfg.render = False
    cfg.save_folder = str(args.out)
    return cfg


def markdown(rows: list[dict[str, float]]) -> str:
    """The summary rows as a Markdown table."""
    keys = list(rows[0])
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    for row in rows:
        cells = [
            f"{int(row[k])}" if k in ("iteration", "episodes") else f"{row[k]:.4g}" for k in keys
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    """Build the task and the experiment, run it, print the summary table last.

    Args:
        argv: the command line without the program name; ``None`` reads ``sys.argv``.

    Returns:
        The summary rows, one per iteration.
    """
    args = parse_args(argv)
    task_config = {
        "n_consumers": args.n_consumers,
        "n_firms": args.n_firms,
        "reward_scale": REWARD_SCALE,
    }
    if args.curriculum_iteration is not None:
        task_config.update(action_masks=True, iteration=args.curriculum_iteration)
    task = getattr(RBCTask, args.variant.upper()).get_task(task_config)
    model = MlpConfig.get_from_yaml()
    model.num_cells = [128, 128]
    args.out.mkdir(parents=True, exist_ok=True)
    summary = Summary()
    experiment = Experiment(
        task=task,
        algorithm_config=ALGORITHMS[args.algorithm].get_from_yaml(),
        model_config=model,
        critic_model_config=model,
        seed=args.seed,
        config=experiment_config(args, task.rbc_config.horizon),
        callbacks=[summary],
    )
    start = time.perf_counter()
    experiment.run()
    seconds = time.perf_counter() - start
    print(
        f"\n{args.algorithm} on RBCTask.{args.variant.upper()} "
        f"({args.n_consumers} consumers, {args.n_firms} firms, B = {args.n_envs}), "
        f"torch {torch.__version__}: {args.iters} iterations in {seconds:.1f} s; "
        f"folder {experiment.folder_name}\n"
    )
    print(markdown(summary.rows))
    return summary.rows


if __name__ == "__main__":
    main()
