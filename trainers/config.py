"""Training configuration: frozen, validated dataclasses (framework-free).

``TrainConfig`` holds the economy (``RBCConfig``), the curriculum schedule, the sampler and
the PPO settings, with one ``PPOParams`` per agent type. Validation, dict round trips and
error messages reuse ``rbc_env.config``'s mechanism (field metadata with symbol, unit and
range; ``ValueError`` naming the field and its range; unknown keys rejected).

Defaults are the paper run (spec 9.3, with spec 13 #8: government learning rate 5e-5).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from rbc_env.config import (
    AT_LEAST_ONE,
    NONNEGATIVE,
    POSITIVE,
    UNIT_CLOSED,
    Interval,
    Params,
    RBCConfig,
    param,
)
from trainers.curriculum import CurriculumSchedule, preset

__all__ = ["EnvRunnerParams", "PPOParams", "TrainConfig"]

AGENT_TYPES = ("consumer", "firm", "government")
POSITIVE_OR_INF = Interval(0.0, math.inf, lo_closed=False, hi_closed=True)
HALF_OPEN_UNIT = Interval(0.0, 1.0, lo_closed=False, hi_closed=True)


@dataclass(frozen=True, kw_only=True, slots=True)
class PPOParams(Params):
    """PPO settings of one agent type's module (spec 9.1-9.3, 6.5).

    The loss is RLlib's PPO loss: clipped surrogate, squared-error value loss clipped at
    ``vf_clip`` (the spec's mean-Huber value clipping is not reproduced), no KL term.
    """

    lr: float = param(1e-3, "η", "1", POSITIVE, "Adam learning rate")
    reward_scale: float = param(
        1.0, "s_r", "reward units", POSITIVE, "rewards are divided by this before returns"
    )
    hidden_sizes: tuple[int, ...] = param(
        (128, 128), "", "units", AT_LEAST_ONE, "hidden layers of the shared trunk (ReLU)"
    )
    clip: float = param(0.1, "ε", "1", POSITIVE, "PPO ratio clip")
    grad_clip: float = param(2.0, "g_max", "1", POSITIVE_OR_INF, "gradient l2-norm clip")
    gamma: float = param(0.9999, "γ", "1", UNIT_CLOSED, "discount factor")
    gae_lambda: float = param(
        1.0, "λ", "1", UNIT_CLOSED, "GAE λ (1 gives the spec's plain discounted returns)"
    )
    vf_loss_coeff: float = param(1.0, "c_V", "1", NONNEGATIVE, "weight of the value loss")
    vf_clip: float = param(
        math.inf, "", "scaled reward^2", POSITIVE_OR_INF, "clip of the squared value error"
    )
    shared_trunk: bool = param(True, "", "", None, "policy and value share the trunk (spec 9.1)")


@dataclass(frozen=True, kw_only=True, slots=True)
class EnvRunnerParams(Params):
    """RLlib EnvRunner layout of ``sampler="env_runner"`` (ignored by the batched sampler).

    Each iteration samples whole episodes: every EnvRunner steps ``envs_per_runner`` economies
    for ceil(B / (max(num_env_runners, 1) · envs_per_runner)) episodes each, so the batch is B
    economies rounded up to a multiple of the economies stepped at once.
    """

    num_env_runners: int = param(
        0, "", "processes", NONNEGATIVE, "remote EnvRunner actors (0: sample in the driver)"
    )
    envs_per_runner: int = param(
        4, "", "economies", AT_LEAST_ONE, "economies each EnvRunner steps together (sync vector)"
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainConfig(Params):
    """A training run: economy, curriculum, sampler, batch and PPO settings per type.

    ``num_epochs`` and ``num_minibatches`` are shared by the modules because RLlib runs all
    modules' minibatches in one learner update; with the proportional learner each module splits
    its own rows into ``num_minibatches`` parts and makes ``num_epochs`` passes over them.
    """

    economy: RBCConfig = field(default_factory=RBCConfig)
    curriculum: CurriculumSchedule = field(default_factory=CurriculumSchedule)
    sampler: Literal["batched", "env_runner"] = param(
        "batched", "", "", None, "tensor rollouts on BatchedEconomy, or RLlib's EnvRunners"
    )
    batch_size: int = param(128, "B", "economies", AT_LEAST_ONE, "economies per iteration")
    iterations: int = param(200000, "", "iterations", AT_LEAST_ONE, "training iterations")
    seed: int = param(2345, "", "", NONNEGATIVE, "seed of the economy, sampling and networks")
    device: Literal["auto", "cpu", "cuda"] = param(
        "auto", "", "", None, "where rollouts and the learner run; auto = cuda if available"
    )
    num_epochs: int = param(2, "K", "passes", AT_LEAST_ONE, "PPO passes over each module's data")
    num_minibatches: int = param(
        1, "", "count", AT_LEAST_ONE, "minibatches per pass and module (1 = full batch)"
    )
    shuffle: bool = param(True, "", "", None, "reshuffle each module's rows every pass")
    bootstrap_truncated: bool = param(
        True, "", "", None, "bootstrap episode ends from V(s_T); False: from zero"
    )
    critic: Literal["independent", "centralized"] = param(
        "independent",
        "",
        "",
        None,
        "value network on the agent's observation, or also on the government's (global) one",
    )
    env_runner: EnvRunnerParams = field(default_factory=EnvRunnerParams)
    consumer: PPOParams = field(default_factory=lambda: PPOParams(lr=1e-3, reward_scale=5.0))
    firm: PPOParams = field(default_factory=lambda: PPOParams(lr=1e-3, reward_scale=30000.0))
    government: PPOParams = field(default_factory=lambda: PPOParams(lr=5e-5, reward_scale=1000.0))

    def ppo(self, agent_type: str) -> PPOParams:
        """The PPO settings of one agent type."""
        if agent_type not in AGENT_TYPES:
            raise ValueError(f"agent type must be one of {list(AGENT_TYPES)}; got {agent_type!r}")
        return getattr(self, agent_type)

    # ---- presets ---------------------------------------------------------------------------
    @classmethod
    def paper(cls, variant: Literal["open", "closed"] = "open") -> TrainConfig:
        """The paper run (spec 9.3-9.4): B = 128, 200k iterations, paper curriculum."""
        return cls(economy=RBCConfig.paper(variant))

    @classmethod
    def cpu_small(cls, variant: Literal["open", "closed"] = "open") -> TrainConfig:
        """A 20-consumer, 5-firm economy with the ``cpu_small`` curriculum: B = 32, 60 iterations.

        Masks open by iteration 20, firms train from 20 and the government from 40.
        """
        cur = preset("cpu_small")
        economy = RBCConfig.paper(variant).override({"n_consumers": 20, "n_firms": 5})
        return cls(
            economy=cur.apply(economy),
            curriculum=cur.schedule,
            batch_size=32,
            iterations=60,
            device="cpu",
        )

    @property
    def resolved_device(self) -> str:
        """``device`` with ``"auto"`` resolved to ``"cuda"`` when a GPU is visible."""
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
