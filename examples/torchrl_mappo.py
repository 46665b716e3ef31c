"""IPPO and MAPPO on the batched TorchRL face of the RBC economy, with TorchRL's own parts.

One policy per agent type (consumer, firm, government), shared by all agents of that type,
trained with PPO on B economies stepped at once by ``rbc_env.torchrl_env``:

- actor: ``ProbabilisticActor`` over a ``MultiAgentMLP`` (``share_params=True``,
  ``centralized=False``: one network applied to each agent's observation) that emits flat
  logits [B, N_t, Σ nvec_t]; the distribution is ``rbc_env.adapters.torchrl.MultiHeadCategorical``
  fed with the env's ``(t, "action_mask")``, so masked actions are never sampled;
- critic (``ValueOperator``): ``--algo ippo`` sees the agent's own observation; ``--algo mappo``
  is a centralized critic on the env's global ``"state"`` [B, 7F + 2C + 3], joined with the
  agent's own observation so that agents of a type get their own values (MAPPO's
  "agent-specific global state"); both are ``MultiAgentMLP`` with shared parameters;
- advantages: TorchRL's ``GAE`` (``ClipPPOLoss.make_value_estimator``) on the per-group
  ``done`` / ``terminated`` flags that ``expand_done_keys`` writes: the episode of T periods
  ends in termination (the RBC economy is a finite game), so there is no bootstrap at T;
- loss: one ``ClipPPOLoss`` and one Adam optimizer per type; data: ``env.rollout`` of whole
  episodes (T steps of B economies per iteration, sampled with ``ExplorationType.RANDOM``).

Normalisation (rewards differ by orders of magnitude between types: consumers' utility is
a few units per period, firms' after-tax profit 1e4-1e5 money, the government's welfare 1e2):

- rewards: each type's rewards are divided by a fixed per-type scale, the standard deviation
  of that type's per-period rewards in a calibration rollout of the untrained policy, before
  GAE and the critic see them (the logged rewards stay in model units);
- advantages: ``ClipPPOLoss(normalize_advantage=True)`` standardizes them per minibatch and
  agent;
- inputs: observations and the state (raw model units: cash ~1e5, prices ~1e3) are
  standardized with the mean and standard deviation of the same calibration rollout.

Action masks are on: the env runs at the fixed curriculum iteration ``--curriculum-iteration``
(default 45,000 of the paper's curriculum: firms' price and wage masks fully open, taxes
limited to at most 0.4, θ factor 0.99). It is fixed, not annealed, so that a change of the
rewards across iterations comes from learning only.

How to run this script:
    .venv/bin/python examples/torchrl_mappo.py                   # MAPPO, 100 iterations
    .venv/bin/python examples/torchrl_mappo.py --algo ippo --seed 1 --out runs/ippo
    .venv/bin/python examples/torchrl_mappo.py --train consumer     # only consumers learn
    .venv/bin/python examples/torchrl_mappo.py --iterations 5 --batch-size 8   # smoke run

It writes ``<algo>_seed<seed>.csv`` (one row per iteration: mean reward per agent and period
of each type, losses, entropy, seconds) and ``<algo>_seed<seed>.png`` (the learning curves)
into ``--out`` (default ``runs/torchrl_mappo/``, created if missing; existing files of the same
name are kept unless ``--overwrite``), prints a progress line every ``--log-every`` iterations
and a table last.

Results to expect (defaults: MAPPO, 10 consumers, 2 firms, B = 64, 100 iterations, seed 0;
about 1-2 minutes on 2 CPU cores). Mean reward per agent and period, iteration 0 -> mean of
the last 10 iterations: firms 4.3e4 -> 1.4e5 (they learn the highest price and low wages
within 10-20 iterations), government 257 -> 704, consumers 3.98 -> 0.28 (they pay for the
firms' learning). IPPO gives the same picture. With ``--train consumer`` (the firms and the
government keep their initial random policies) the consumers' reward rises, 3.98 -> 7.30.
``tests/adapters/test_torchrl_example.py`` checks both directions on a small budget.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from tensordict import TensorDictBase
from tensordict.nn import TensorDictModule, TensorDictSequential
from torch import nn
from torchrl.envs.utils import ExplorationType, set_exploration_type
from torchrl.modules import MultiAgentMLP, ProbabilisticActor, ValueOperator
from torchrl.objectives import ClipPPOLoss, ValueEstimators

from rbc_env import torchrl_env
from rbc_env.adapters.torchrl import MultiHeadCategorical, RBCTorchRLEnv, expand_done_keys

TYPES = ("consumer", "firm", "government")
LOSS_KEYS = ("loss_objective", "loss_critic", "loss_entropy")


# ---- command line ---------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line (``--help`` lists every option with its default)."""
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    p.add_argument("--algo", choices=("ippo", "mappo"), default="mappo", help="critic kind")
    p.add_argument("--iterations", type=int, default=100, help="training iterations")
    p.add_argument("--batch-size", type=int, default=64, help="economies B per iteration")
    p.add_argument("--seed", type=int, default=0, help="seed of torch and of the economy")
    p.add_argument("--out", type=Path, default=Path("runs/torchrl_mappo"), help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace this run's CSV and PNG")
    p.add_argument("--n-consumers", type=int, default=10, help="consumers C")
    p.add_argument("--n-firms", type=int, default=2, help="firms F")
    p.add_argument("--variant", choices=("open", "closed"), default="open", help="economy")
    p.add_argument(
        "--curriculum-iteration",
        type=int,
        default=45_000,
        help="fixed curriculum iteration of the env (action masks and θ factor)",
    )
    p.add_argument(
        "--train",
        default=",".join(TYPES),
        help="comma-separated types that learn; the others keep their initial policy",
    )
    p.add_argument("--epochs", type=int, default=4, help="PPO epochs per iteration")
    p.add_argument("--minibatches", type=int, default=4, help="minibatches per epoch")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate")
    p.add_argument("--gamma", type=float, default=0.99, help="discount factor of GAE")
    p.add_argument("--lmbda", type=float, default=0.95, help="λ of GAE")
    p.add_argument("--clip", type=float, default=0.2, help="PPO clip ε")
    p.add_argument("--entropy", type=float, default=0.01, help="entropy coefficient")
    p.add_argument("--max-grad-norm", type=float, default=1.0, help="gradient clip per type")
    p.add_argument("--hidden", type=int, default=64, help="width of the two hidden layers")
    p.add_argument("--device", default="cpu", help="torch device of the env and networks")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    p.add_argument("--log-every", type=int, default=10, help="progress line every N iterations")
    args = p.parse_args(argv)
    for name in ("iterations", "batch_size", "epochs", "minibatches", "hidden", "log_every"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be >= 1; got {getattr(args, name)}")
    args.train = tuple(x.strip() for x in args.train.split(",") if x.strip())
    unknown = sorted(set(args.train) - set(TYPES))
    if unknown or not args.train:
        p.error(f"--train must name types among {', '.join(TYPES)}; got {args.train}")
    return args


# ---- networks -------------------------------------------------------------------------------
class Standardize(nn.Module):
    """``(x - mean) / std`` on the last axis with fixed statistics (``fit`` sets them once)."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.register_buffer("loc", torch.zeros(width))
        self.register_buffer("scale", torch.ones(width))

    def fit(self, x: torch.Tensor) -> None:
        """Take the mean and standard deviation of ``x`` [..., width]; constant features: 1."""
        flat = x.reshape(-1, x.shape[-1]).to(self.loc.dtype)
        std = flat.std(0) if flat.shape[0] > 1 else torch.zeros_like(self.scale)
        self.loc.copy_(flat.mean(0))
        self.scale.copy_(torch.where(std > 1e-8 * flat.abs().mean(0).clamp_min(1.0), std, 1.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Standardize ``x`` [..., width]."""
        return (x - self.loc) / self.scale


class StateCritic(nn.Module):
    """MAPPO critic of one group: the standardized global state joined with each agent's input.

    ``state`` [..., S] is repeated for the N agents and concatenated with ``obs`` [..., N, D];
    a shared ``MultiAgentMLP`` maps each row to a value: [..., N, 1].
    """

    def __init__(self, state_norm: Standardize, mlp: MultiAgentMLP) -> None:
        super().__init__()
        self.state_norm = state_norm
        self.mlp = mlp

    def forward(self, state: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        """Values [..., N, 1] of ``state`` [..., S] and the agents' ``obs`` [..., N, D]."""
        s = self.state_norm(state).unsqueeze(-2).expand(*obs.shape[:-1], state.shape[-1])
        return self.mlp(torch.cat([s, obs], dim=-1))


class _ObsFirst(nn.Module):
    """Standardize the observation argument, then call ``net(state, obs)``."""

    def __init__(self, obs_norm: Standardize, net: StateCritic) -> None:
        super().__init__()
        self.obs_norm = obs_norm
        self.net = net

    def forward(self, state: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
        return self.net(state, self.obs_norm(obs))


@dataclass
class Group:
    """The policy, critic, loss and optimizer of one agent type."""

    actor: ProbabilisticActor
    critic: ValueOperator
    obs_norm: Standardize
    loss: ClipPPOLoss
    optimizer: torch.optim.Optimizer
    reward_scale: float = 1.0


def _mlp(n_in: int, n_out: int, n_agents: int, hidden: int, device: torch.device) -> nn.Module:
    return MultiAgentMLP(
        n_agent_inputs=n_in,
        n_agent_outputs=n_out,
        n_agents=n_agents,
        centralized=False,
        share_params=True,  # one network for every agent of the type
        depth=2,
        num_cells=hidden,
        activation_class=nn.Tanh,
        device=device,
    )


def build_group(
    env: RBCTorchRLEnv, t: str, args: argparse.Namespace, state_norm: Standardize
) -> Group:
    """Actor, critic, ``ClipPPOLoss`` (with GAE) and optimizer of agent type ``t``."""
    n = len(env.group_map[t])
    obs_dim = env.observation_spec[t, "observation"].shape[-1]
    state_dim = env.observation_spec["state"].shape[-1]
    nvec = env.nvec[t]
    device = env.device
    obs_norm = Standardize(obs_dim).to(device)
    logits = TensorDictModule(
        nn.Sequential(obs_norm, _mlp(obs_dim, sum(nvec), n, args.hidden, device)),
        in_keys=[(t, "observation")],
        out_keys=[(t, "logits")],
    )
    actor = ProbabilisticActor(
        logits,
        in_keys={"logits": (t, "logits"), "mask": (t, "action_mask")},
        out_keys=[(t, "action")],
        distribution_class=MultiHeadCategorical,
        distribution_kwargs={"nvec": nvec},
        return_log_prob=True,
    )
    if args.algo == "mappo":
        net = StateCritic(state_norm, _mlp(state_dim + obs_dim, 1, n, args.hidden, device))
        critic = ValueOperator(
            _ObsFirst(obs_norm, net),
            in_keys=["state", (t, "observation")],
            out_keys=[(t, "state_value")],
        )
    else:
        critic = ValueOperator(
            nn.Sequential(obs_norm, _mlp(obs_dim, 1, n, args.hidden, device)),
            in_keys=[(t, "observation")],
            out_keys=[(t, "state_value")],
        )
    loss = ClipPPOLoss(
        actor,
        critic,
        clip_epsilon=args.clip,
        entropy_coeff=args.entropy,
        critic_coeff=1.0,
        loss_critic_type="l2",
        normalize_advantage=True,
        normalize_advantage_exclude_dims=(-2,),  # per agent: [minibatch, N, 1]
    )
    loss.set_keys(
        action=(t, "action"),
        sample_log_prob=(t, "action_log_prob"),
        value=(t, "state_value"),
        advantage=(t, "advantage"),
        value_target=(t, "value_target"),
        reward=(t, "scaled_reward"),
        done=(t, "done"),
        terminated=(t, "terminated"),
    )
    loss.make_value_estimator(ValueEstimators.GAE, gamma=args.gamma, lmbda=args.lmbda)
    optimizer = torch.optim.Adam(loss.parameters(), lr=args.lr)
    return Group(actor, critic, obs_norm, loss, optimizer)


# ---- training -------------------------------------------------------------------------------
@dataclass
class RunResult:
    """What ``main`` returns: the CSV's rows, the files, the trained policy and its env.

    ``policy`` holds the actors of all types in one ``TensorDictSequential``.
    """

    history: list[dict[str, float]]
    csv_path: Path
    png_path: Path
    table: str
    policy: TensorDictSequential
    env: RBCTorchRLEnv


def collect(env: RBCTorchRLEnv, policy: TensorDictSequential) -> TensorDictBase:
    """One whole episode of every economy, actions sampled from the policy: [B, T]."""
    with torch.no_grad(), set_exploration_type(ExplorationType.RANDOM):
        data = env.rollout(env.config.horizon, policy=policy, auto_reset=True)
    return expand_done_keys(data, env.group_map)


def calibrate(
    env: RBCTorchRLEnv,
    policy: TensorDictSequential,
    groups: dict[str, Group],
    state_norm: Standardize,
) -> None:
    """Fit the input standardizers and the per-type reward scales on one rollout."""
    data = collect(env, policy)
    state_norm.fit(data["state"])
    for t, g in groups.items():
        g.obs_norm.fit(data[t, "observation"])
        std = float(data["next", t, "reward"].std())
        g.reward_scale = std if math.isfinite(std) and std > 0 else 1.0


def train_iteration(
    data: TensorDictBase, groups: dict[str, Group], args: argparse.Namespace, gen: torch.Generator
) -> dict[str, float]:
    """GAE, then ``--epochs`` passes of ``--minibatches`` PPO steps per type; mean losses."""
    for t, g in groups.items():
        data.set(("next", t, "scaled_reward"), data.get(("next", t, "reward")) / g.reward_scale)
        with torch.no_grad():
            g.loss.value_estimator(
                data,
                params=g.loss.critic_network_params,
                target_params=g.loss.target_critic_network_params,
            )
    flat = data.reshape(-1)  # [B * T] economy-periods, agents inside the groups
    sums = {f"{t}_{k}": math.nan for t in groups for k in (*LOSS_KEYS, "entropy")}
    sums.update({f"{t}_{k}": 0.0 for t in args.train for k in (*LOSS_KEYS, "entropy")})
    steps = 0
    for _ in range(args.epochs):
        perm = torch.randperm(flat.shape[0], generator=gen).to(flat.device)
        for idx in perm.chunk(args.minibatches):
            batch = flat[idx]
            for t in args.train:
                g = groups[t]
                out = g.loss(batch)
                total = sum(out[k] for k in LOSS_KEYS)
                g.optimizer.zero_grad()
                total.backward()
                nn.utils.clip_grad_norm_(g.loss.parameters(), args.max_grad_norm)
                g.optimizer.step()
                for k in LOSS_KEYS:
                    sums[f"{t}_{k}"] += float(out[k].detach())
                sums[f"{t}_entropy"] += float(out["entropy"].detach())
            steps += 1
    return {k: v / steps for k, v in sums.items()}


def summary_table(history: list[dict[str, float]], window: int) -> str:
    """Markdown table of the mean reward per agent and period of each type.

    Columns: iteration 0 (the untrained policy), the means of the first and of the last
    ``window`` iterations, and the relative change between these two means.
    """
    lines = [
        f"| type | iteration 0 | first {window} iterations | last {window} iterations | change |",
        "|---|---|---|---|---|",
    ]
    for t in TYPES:
        values = [row[f"{t}_reward"] for row in history]
        first = sum(values[:window]) / window
        last = sum(values[-window:]) / window
        change = (last - first) / abs(first) if first else math.nan
        lines.append(f"| {t} | {values[0]:.4g} | {first:.4g} | {last:.4g} | {change:+.0%} |")
    return "\n".join(lines)


def plot(history: list[dict[str, float]], path: Path, title: str) -> None:
    """One panel per type: mean reward per agent and period against the iteration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    it = [row["iteration"] for row in history]
    fig, axes = plt.subplots(1, len(TYPES), figsize=(12, 3.5), constrained_layout=True)
    for ax, t in zip(axes, TYPES, strict=True):
        ax.plot(it, [row[f"{t}_reward"] for row in history], lw=1.2)
        ax.set_title(t)
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("mean reward per agent and period")
    fig.suptitle(title)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> RunResult:
    """Train, write the CSV and the PNG into ``--out``, print progress and the final table.

    Args:
        argv: command-line arguments (``None``: ``sys.argv[1:]``).

    Returns:
        The per-iteration history, the paths written and the final table.

    Raises:
        FileExistsError: if this run's CSV or PNG exists and ``--overwrite`` is not given.
    """
    args = parse_args(argv)
    stem = f"{args.algo}_seed{args.seed}"
    out = Path(args.out)
    csv_path, png_path = out / f"{stem}.csv", out / f"{stem}.png"
    for path in (csv_path, png_path):
        if path.exists() and not args.overwrite:
            raise FileExistsError(f"{path} exists; pass --overwrite to replace it")
    out.mkdir(parents=True, exist_ok=True)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)  # the policies' sampling and the networks' initialization
    gen = torch.Generator().manual_seed(args.seed)  # minibatch order

    env = torchrl_env(
        batch_size=args.batch_size,
        device=args.device,
        action_masks=True,
        seed=args.seed,
        n_consumers=args.n_consumers,
        n_firms=args.n_firms,
        variant=args.variant,
        validate=False,  # the policy samples only valid, allowed actions
    )
    env.iteration = args.curriculum_iteration  # masks and θ factor, in force from each reset
    state_norm = Standardize(env.observation_spec["state"].shape[-1]).to(env.device)
    groups = {t: build_group(env, t, args, state_norm) for t in TYPES}
    policy = TensorDictSequential(*(g.actor for g in groups.values()))
    calibrate(env, policy, groups, state_norm)
    print(
        f"{args.algo.upper()} on {env!r}, T = {env.config.horizon}, "
        f"{args.iterations} iterations; reward scales: "
        + ", ".join(f"{t} {g.reward_scale:.4g}" for t, g in groups.items())
    )

    history: list[dict[str, float]] = []
    start = time.perf_counter()
    for it in range(args.iterations):
        data = collect(env, policy)
        row: dict[str, float] = {"iteration": it}
        for t in TYPES:
            row[f"{t}_reward"] = float(data["next", t, "reward"].mean())
        row.update(train_iteration(data, groups, args, gen))
        row["seconds"] = time.perf_counter() - start
        history.append(row)
        if it % args.log_every == 0 or it == args.iterations - 1:
            print(
                f"iter {it:4d} | reward "
                + "  ".join(f"{t} {row[f'{t}_reward']:10.4g}" for t in TYPES)
                + f" | {row['seconds']:6.1f} s",
                flush=True,
            )

    with csv_path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(history[0]))
        writer.writeheader()
        writer.writerows(history)
    plot(
        history,
        png_path,
        f"{args.algo.upper()}, {env.config.n_consumers} consumers, "
        f"{env.config.n_firms} firms, B = {args.batch_size}, seed {args.seed}",
    )
    window = max(1, min(10, args.iterations // 5))
    table = summary_table(history, window)
    print(f"\nwrote {csv_path} and {png_path} ({history[-1]['seconds']:.0f} s)\n")
    print(table)
    return RunResult(history, csv_path, png_path, table, policy, env)


if __name__ == "__main__":
    main(sys.argv[1:])
