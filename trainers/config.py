"""Training configuration: frozen, validated dataclasses (framework-free).

``TrainConfig`` is one run on either economy family: its ``economy`` is an ``RBCConfig`` (the
paper's economy) or a ``GrowthConfig`` (a ground-truth economy). Settings shared by both (batch,
iterations, seed, device, PPO passes, critic) are its own fields; those that exist for one
family only carry ``family`` metadata (``RBC`` or ``GROWTH``). Those of the other family keep
their defaults (a changed one is refused, naming it), and ``to_dict``, the YAML and
``python -m trainers config --list`` leave them out. Each agent type has its PPO section:
``PPOParams`` (the RBC types' factorized-categorical or box policies) or ``GaussianPPOParams``
(the growth types' Gaussian policies).

Validation, dict round trips and error messages reuse ``rbc_env.config``'s mechanism (field
metadata with symbol, unit and range; ``ValueError`` naming the field and its range; unknown
keys rejected). Defaults are the paper run (spec 9.3, with spec 13 #8: government learning rate
5e-5); the growth presets are in ``trainers.presets``.
"""

from __future__ import annotations

import math
import typing
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal, NamedTuple

from rbc_env.config import (
    AT_LEAST_ONE,
    NONNEGATIVE,
    POSITIVE,
    UNIT_CLOSED,
    GrowthConfig,
    Interval,
    Params,
    RBCConfig,
    param,
    section_class,
)
from trainers.curriculum import CurriculumSchedule, DeviationParams, preset

__all__ = [
    "FLOOR_OFF",
    "GROWTH",
    "GROWTH_AGENT_TYPES",
    "MIN_LOG_STD",
    "RBC",
    "BestResponseParams",
    "DeviationParams",
    "Deviator",
    "EnvRunnerParams",
    "GaussianPPOParams",
    "PPOParams",
    "TrainConfig",
    "deviation_module_id",
]

AGENT_TYPES = ("consumer", "firm", "government")
GROWTH_AGENT_TYPES = ("planner", "household", "producer")
RBC, GROWTH = "rbc", "growth"  # the economy families (``TrainConfig.family``)
POSITIVE_OR_INF = Interval(0.0, math.inf, lo_closed=False, hi_closed=True)
_RBC: dict[str, str] = {"family": RBC}  # metadata of a section of one family
_GROWTH: dict[str, str] = {"family": GROWTH}
HALF_OPEN_UNIT = Interval(0.0, 1.0, lo_closed=False, hi_closed=True)
_LOG_STD = Interval(-10.0, 2.0, hi_closed=True)


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


# Exploration floor of the saving policies (planner, household; issue 11). Without one, PPO
# shrinks the Gaussian's σ to about 0.03 (log σ -3.4 in G1 after 300 iterations), and the
# policy-gradient signal on the mean, proportional to σ, drowns in the return noise: G1's seeds
# ended with share offsets of +1.12, -0.96, -0.38 points, of either sign, uniform over states
# (measured: signed mean offset against spread over the ergodic set). More samples (B = 512),
# a lower final learning rate (1e-5) and GAE λ = 1 did not remove it (worst seeds 0.96, 1.71,
# 1.32 points). Floors of log σ, G1 seeds 0-2, ergodic / wide-grid mean error in points:
# -2.5: 0.59 0.41 0.17 / 1.53 0.49 1.48; -2.0: 0.21 0.17 0.30 / 0.94 0.44 1.60;
# -1.5 (σ ≈ 0.22 in logit units): 0.26 0.25 0.04 / 0.42 0.30 0.29. Producers (G6 prices) keep
# no floor: not measured there.
MIN_LOG_STD = -1.5

FLOOR_OFF = -10.0  # the lowest min_log_std allowed (σ = 4.5e-5): no floor in practice


@dataclass(frozen=True, kw_only=True, slots=True)
class GaussianPPOParams(Params):
    """PPO settings of one agent type's Gaussian policy (continuous raw actions).

    The policy is a diagonal Gaussian over raw actions: mean from an MLP on the agent's own
    observation, a state-independent learned log standard deviation.
    """

    lr: float = param(3e-3, "η", "1", POSITIVE, "Adam learning rate at the start")
    lr_final: float = param(
        1e-4,
        "η_T",
        "1",
        POSITIVE,
        "learning rate reached (linearly in env steps) at the run's last iteration",
    )
    reward_scale: float = param(
        1.0, "s_r", "reward units", POSITIVE, "rewards are divided by this before returns"
    )
    hidden_sizes: tuple[int, ...] = param(
        (64, 64), "", "units", AT_LEAST_ONE, "hidden layers of the policy and value MLPs (tanh)"
    )
    clip: float = param(0.2, "ε", "1", POSITIVE, "PPO ratio clip")
    grad_clip: float = param(1.0, "g_max", "1", POSITIVE_OR_INF, "gradient l2-norm clip")
    gae_lambda: float = param(0.95, "λ", "1", UNIT_CLOSED, "GAE λ")
    vf_loss_coeff: float = param(0.5, "c_V", "1", NONNEGATIVE, "weight of the value loss")
    entropy_coeff: float = param(0.0, "c_H", "1", NONNEGATIVE, "weight of the entropy bonus")
    init_log_std: float = param(
        0.0, "log σ_0", "log raw units", _LOG_STD, "initial log standard deviation"
    )
    min_log_std: float = param(
        MIN_LOG_STD,
        "log σ_min",
        "log raw units",
        _LOG_STD,
        "floor of the log standard deviation in raw action units (exploration never narrower "
        "than this); presets: MIN_LOG_STD (-1.5) for the saving policies, HOUSEHOLD_FLOOR for "
        "G4's households (-2), measured under constraint 'squash', where raw units are logits "
        "(issue 11); under 'clip' or 'penalty' raw units are the controls themselves: set -10 "
        "(no floor)",
    )


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
class BestResponseParams(Params):
    """How a best-response check runs (spec 10), standalone or periodically during training.

    ``method="ppo"`` trains the deviating module with the run's own PPO settings; ``"pg"`` is the
    reference's vanilla policy gradient: one full-batch step per iteration with learning rate
    ``pg_lr`` (the same for every type). With one epoch of one minibatch the PPO ratio is 1 at
    the only gradient step, so the clipped surrogate's gradient is exactly the PG gradient
    Â ∇log π (spec 9.2 step 5).

    ``optimizer="restore"`` continues the deviating type's Adam moments from the checkpoint (a
    single agent's module gets a copy of its type's). A fresh Adam's first steps move every
    weight by about the learning rate whatever the gradient's size (m̂/√v̂ ≈ ±1), which is a
    large, nearly random policy change for a trained network: measured on ``cpu_small``, one
    such iteration cut the consumers' reward from 0.57 to -2.55.
    """

    every: int = param(
        0,
        "",
        "iterations",
        NONNEGATIVE,
        "periodic check during training every N iterations (0: off)",
    )
    method: Literal["ppo", "pg"] = param("ppo", "", "", None, "update rule of the deviating type")
    iterations: int = param(20, "", "iterations", NONNEGATIVE, "best-response training iterations")
    episodes: int = param(
        256, "", "economies", Interval(2.0, math.inf), "evaluation episodes before and after"
    )
    seed: int = param(0, "", "", NONNEGATIVE, "seed of the deviation runs and the evaluations")
    pg_lr: float = param(1e-3, "η", "1", POSITIVE, "learning rate of method='pg' (spec 10 step 4)")
    agents: int = param(
        3,
        "",
        "agents",
        NONNEGATIVE,
        "single-agent deviations per consumer and firm type (evenly spaced indices; 0: none)",
    )
    select_every: int = param(
        5,
        "",
        "iterations",
        AT_LEAST_ONE,
        "score the deviation policy on the selection episodes every N iterations; the best "
        "one (or the learned policy) is measured on fresh test episodes",
    )
    optimizer: Literal["restore", "fresh"] = param(
        "restore",
        "",
        "",
        None,
        "continue the type's Adam state from the checkpoint, or start a fresh Adam",
    )


class Deviator(NamedTuple):
    """The one agent of a single-agent deviation run, and the module that acts for it.

    Attributes:
        agent_type: its type (``consumer`` or ``firm``).
        agent_index: its index among the type's agents.
        module_id: its own module (``deviation_module_id``); its peers keep the type's module.
    """

    agent_type: str
    agent_index: int
    module_id: str


def deviation_module_id(agent_type: str, agent_index: int) -> str:
    """Module id of a single agent's own policy in a deviation run (e.g. ``consumer_agent3``)."""
    return f"{agent_type}_agent{agent_index}"


@dataclass(frozen=True, kw_only=True, slots=True)
class TrainConfig(Params):
    """A training run: economy, batch, PPO settings per type, and the family's own settings.

    The RBC family (``economy: RBCConfig``) adds the curriculum, the sampler, the finite game's
    end, deviation and best-response runs; the growth family (``economy: GrowthConfig``) adds
    continuing rollouts, a time budget, iterate averaging and the truth evaluation. The class
    defaults are the paper run's; ``trainers.presets`` has the growth presets.

    ``num_epochs`` and ``num_minibatches`` are shared by the modules because RLlib runs all
    modules' minibatches in one learner update; with the proportional learner each module splits
    its own rows into ``num_minibatches`` parts and makes ``num_epochs`` passes over them.
    """

    economy: RBCConfig | GrowthConfig = field(default_factory=RBCConfig)
    curriculum: CurriculumSchedule = field(
        default_factory=CurriculumSchedule, metadata={"family": RBC}
    )
    sampler: Literal["batched", "env_runner"] = param(
        "batched",
        "",
        "",
        None,
        "tensor rollouts on BatchedEconomy, or RLlib's EnvRunners",
        family=RBC,
    )
    batch_size: int = param(128, "B", "economies", AT_LEAST_ONE, "economies per iteration")
    rollout_length: int = param(
        32,
        "T_r",
        "periods",
        AT_LEAST_ONE,
        "periods per iteration; economies continue across iterations and restart at the "
        "economy's horizon (truncation, bootstrapped from V)",
        family=GROWTH,
    )
    iterations: int = param(
        200000,
        "",
        "iterations",
        AT_LEAST_ONE,
        "training iterations (at most); growth presets: 300, with the averaged policy "
        "(average_last), where 150 left seeds 0.5-0.9 points off in G1, G2, G3, G4 H=1, G5 N=1 "
        "that 300 brought to 0.2-0.4 (issue 11, docs/ground_truth.md)",
    )
    max_seconds: float = param(
        math.inf,
        "",
        "s",
        POSITIVE_OR_INF,
        "stop training after this much wall time",
        family=GROWTH,
    )
    seed: int = param(2345, "", "", NONNEGATIVE, "seed of the economy, sampling and networks")
    device: Literal["auto", "cpu", "cuda"] = param(
        "auto", "", "", None, "where rollouts and the learner run; auto = cuda if available"
    )
    num_epochs: int = param(2, "K", "passes", AT_LEAST_ONE, "PPO passes over each module's data")
    num_minibatches: int = param(
        1, "", "count", AT_LEAST_ONE, "minibatches per pass and module (1 = full batch)"
    )
    shuffle: bool = param(True, "", "", None, "reshuffle each module's rows every pass", family=RBC)
    num_learners: int = param(
        0,
        "N_L",
        "processes",
        NONNEGATIVE,
        "0: one learner in the driver process; N >= 1: N Ray learner actors (one GPU each "
        "on cuda), each updating on 1/N of every module's rows with gradients averaged "
        "across them (data parallel; where the rows come from: rollouts)",
        family=RBC,
    )
    cpus_per_learner: int = param(
        1,
        "",
        "CPUs",
        AT_LEAST_ONE,
        "CPUs Ray reserves for each learner actor (num_learners >= 1); the actor's torch runs "
        "that many threads (Ray sets OMP_NUM_THREADS from it); one learner on 2 cores: 2.04 s "
        "an iteration with 1 CPU, 1.27 s with 2 (paper economy, B = 128; docs/howto/cluster.md)"
        "; unused with num_learners = 0",
        family=RBC,
    )
    rollouts: Literal["driver", "learners"] = param(
        "driver",
        "",
        "",
        None,
        "driver: the driver rolls out all batch_size economies and ships each learner its "
        "rows; learners (batched sampler, num_learners >= 1, batch_size a multiple of it): "
        "each learner actor rolls out its own batch_size / num_learners economies on its own "
        "device, and no batch crosses the network (for several GPUs or nodes)",
        family=RBC,
    )
    precision: Literal["fp32", "bf16"] = param(
        "fp32",
        "",
        "",
        None,
        "bf16: torch.autocast to bfloat16 around the learner update and the rollout's "
        "forward passes (linear layers in bf16, losses and distributions in fp32); measured "
        "slower on 2 CPU cores (benchmarks/results/training_throughput.md), for GPUs",
        family=RBC,
    )
    compile: bool = param(
        False,
        "",
        "",
        None,
        "torch.compile each module's training forward pass (RLlib's torch_compile_learner); "
        "measured 0-4% faster on 2 CPU cores, within the run-to-run noise "
        "(benchmarks/results/training_throughput.md); off by default: it adds a compile "
        "warm-up, and RLlib refuses it with more than one learner",
        family=RBC,
    )
    bootstrap_truncated: bool = param(
        False,
        "",
        "",
        None,
        "False (the paper's finite game): the end at T is terminal, the value target at "
        "t = T-1 is r_(T-1); True: bootstrap from V(s_T), a continuing game",
        family=RBC,
    )
    critic: Literal["independent", "centralized"] = param(
        "independent",
        "",
        "",
        None,
        "value network on the agent's own observation, or also on the economy's global state "
        "(the RBC government's observation; the growth economy's global_state())",
    )
    average_last: float = param(
        0.5,
        "",
        "fraction",
        UNIT_CLOSED,
        "the evaluated policy is the average of each network's weights over this final "
        "fraction of the iterations (Polyak-Ruppert iterate averaging; 0: the last iterate)",
        family=GROWTH,
    )
    eval_states: int = param(
        2048,
        "",
        "states",
        AT_LEAST_ONE,
        "ergodic states (and paths) of the final evaluation against the truth",
        family=GROWTH,
    )
    env_runner: EnvRunnerParams = field(default_factory=EnvRunnerParams, metadata=_RBC)
    deviation: DeviationParams = field(default_factory=DeviationParams, metadata=_RBC)
    best_response: BestResponseParams = field(default_factory=BestResponseParams, metadata=_RBC)
    consumer: PPOParams = field(
        default_factory=lambda: PPOParams(lr=1e-3, reward_scale=5.0), metadata=_RBC
    )
    firm: PPOParams = field(
        default_factory=lambda: PPOParams(lr=1e-3, reward_scale=30000.0), metadata=_RBC
    )
    government: PPOParams = field(
        default_factory=lambda: PPOParams(lr=5e-5, reward_scale=1000.0), metadata=_RBC
    )
    planner: GaussianPPOParams = field(default_factory=GaussianPPOParams, metadata=_GROWTH)
    household: GaussianPPOParams = field(default_factory=GaussianPPOParams, metadata=_GROWTH)
    producer: GaussianPPOParams = field(
        default_factory=lambda: GaussianPPOParams(reward_scale=0.01, min_log_std=FLOOR_OFF),
        metadata=_GROWTH,
    )

    # ---- the economy's family ----------------------------------------------------------------
    @property
    def family(self) -> str:
        """``RBC`` or ``GROWTH``: the family of the economy."""
        return GROWTH if isinstance(self.economy, GrowthConfig) else RBC

    @property
    def agent_types(self) -> tuple[str, ...]:
        """The agent types whose PPO sections apply (those of the economy's family)."""
        return GROWTH_AGENT_TYPES if self.family == GROWTH else AGENT_TYPES

    @property
    def gamma(self) -> float:
        """The growth family's RL discount γ = β (spec: "the RL discount factor must equal beta").

        RBC types have their own ``PPOParams.gamma``.
        """
        if not isinstance(self.economy, GrowthConfig):
            raise ValueError("TrainConfig.gamma is the growth family's β; RBC types: ppo(t).gamma")
        return self.economy.params.beta

    @classmethod
    def optional_fields(cls, data: Any) -> frozenset[str]:
        """The fields of the other family than ``data["economy"]``'s (RBC when it is absent)."""
        economy = data.get("economy") if isinstance(data, dict) else None
        hint = typing.get_type_hints(cls)["economy"]
        kind = section_class(hint, economy) if isinstance(economy, dict) else RBCConfig
        return _FAMILY_FIELDS[RBC if kind is GrowthConfig else GROWTH]

    def to_dict(self) -> dict[str, Any]:
        """The config as nested plain dicts, without the other family's fields."""
        skip = _FAMILY_FIELDS[GROWTH if self.family == RBC else RBC]
        return {k: v for k, v in Params.to_dict(self).items() if k not in skip}

    def override(self, updates: dict[str, Any]) -> Any:
        """``Params.override``; a key of the other family's fields is refused by name."""
        for path in updates:
            self._refuse(path.partition(".")[0])
        return Params.override(self, updates)

    def _refuse(self, name: str) -> None:
        """``ValueError`` if field ``name`` belongs to the other family than the economy's."""
        family = _FAMILY_OF.get(name, self.family)
        if family != self.family:
            raise ValueError(
                f"TrainConfig.{name} applies to {_FAMILY_TEXT[family]} economies only; this "
                f"run's economy is a {type(self.economy).__name__}"
            )

    def _check(self) -> None:
        for f in fields(self):
            if f.metadata.get("family", self.family) == self.family:
                continue  # only the other family's fields must keep their defaults
            default = f.default if f.default_factory is MISSING else f.default_factory()
            if getattr(self, f.name) != default:
                self._refuse(f.name)
        if self.family == GROWTH:
            return
        dev = self.deviation
        if not dev.active or dev.agent_index < 0:
            return
        counts = {"consumer": self.economy.n_consumers, "firm": self.economy.n_firms}
        if dev.agent_type not in counts:
            raise ValueError(
                f"TrainConfig.deviation.agent_index must be -1 for the {dev.agent_type} (one "
                f"agent per economy); got {dev.agent_index}"
            )
        n = counts[dev.agent_type]
        if dev.agent_index >= n:
            raise ValueError(
                f"TrainConfig.deviation.agent_index must be in [-1, {n - 1}] for {n} "
                f"{dev.agent_type}s; got {dev.agent_index}"
            )

    @property
    def module_ids(self) -> tuple[str, ...]:
        """The run's RLModule ids: one per type, plus a deviating agent's own module."""
        dev = self.deviation
        if dev.active and dev.agent_index >= 0:
            return (*AGENT_TYPES, deviation_module_id(dev.agent_type, dev.agent_index))
        return AGENT_TYPES

    @property
    def deviator(self) -> Deviator | None:
        """The deviating agent of a single-agent deviation run; None otherwise."""
        dev = self.deviation
        if not dev.active or dev.agent_index < 0:
            return None
        return Deviator(dev.agent_type, dev.agent_index, self.module_ids[-1])

    @property
    def trained_modules(self) -> tuple[str, ...] | None:
        """``policies_to_train``: the deviating module in a deviation run, else None (all)."""
        dev = self.deviation
        if not dev.active:
            return None
        return (self.module_ids[-1],) if dev.agent_index >= 0 else (dev.agent_type,)

    def ppo(self, agent_type: str) -> Any:
        """The PPO settings of one agent type of the economy's family."""
        if agent_type not in self.agent_types:
            raise ValueError(
                f"agent type must be one of {list(self.agent_types)}; got {agent_type!r}"
            )
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

    @classmethod
    def paper_cpu(cls, variant: Literal["open", "closed"] = "open") -> TrainConfig:
        """The paper's economy (100 consumers, 10 firms) on a 2-core CPU budget.

        The paper's curriculum is compressed 100x (masks open by iteration 300, firms train
        from 300, the government from 600; 2,000 iterations instead of 200,000): the paper's
        length is set by its curriculum, and its Figure 3 curves settle within a few thousand
        iterations of each phase change. B = 128 economies as the paper, but each pass over a
        module's rows is split in 2 minibatches, so an iteration takes 4 gradient steps (the
        paper: 2) for the same learner work: 1.93 s per iteration on 2 cores, as `paper_open`.
        Everything else, the economy, the learning rates and the finite game, is the paper's.
        """
        cur = preset("paper_cpu")
        return cls(
            economy=cur.apply(RBCConfig.paper(variant)),
            curriculum=cur.schedule,
            batch_size=128,
            iterations=2000,
            num_epochs=2,
            num_minibatches=2,
            device="cpu",
        )

    @property
    def resolved_device(self) -> str:
        """``device`` with ``"auto"`` resolved to ``"cuda"`` when a GPU is visible."""
        if self.device != "auto":
            return self.device
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"


_FAMILY_OF: dict[str, str] = {
    f.name: f.metadata["family"] for f in fields(TrainConfig) if "family" in f.metadata
}
_FAMILY_TEXT = {RBC: "RBC", GROWTH: "growth"}
_FAMILY_FIELDS: dict[str, frozenset[str]] = {
    family: frozenset(n for n, fam in _FAMILY_OF.items() if fam == family)
    for family in (RBC, GROWTH)
}
