"""The training curriculum of spec section 9.4 as declarative, pure schedules.

A curriculum turns the training-iteration counter e (0, 1, 2, ...) into a
``CurriculumStage``: which agent types train, each type's entropy coefficient, the θ factor
applied at reset and the action masks. It imports neither ray nor gymnasium.

Each fact lives in one place:

- the economy's own curriculum quantities (mask opening ``T_a``, tax-mask start, θ decay) are
  fields of ``rbc_env.config.CurriculumParams`` inside the economy's ``RBCConfig``; masks and
  the θ factor are computed by ``rbc_env.core.action_masks`` and
  ``rbc_env.core.theta_factor``, never here;
- what only the trainer needs (when each type starts training, its entropy schedule) is a
  ``TypeSchedule`` per type in ``CurriculumSchedule``.

A preset (``preset``) returns both halves together, so that a compressed curriculum shortens
the economy's mask and θ timing and the trainer's starts by the same factor.

Paper schedule (spec 9.4; e = iteration):

| type | trains from | entropy coefficient β(e) |
|---|---|---|
| consumer | 0 | 0.5 max(exp(-e / 10^4), 0.1) |
| firm | 30,000 (= T_a, masks fully open) | 0.5 max(exp(-(e - 30k) / 10^4), 0.1) |
| government | 60,000 (= tax-mask start + T_a) | 0.5 max(exp(-(e - 60k) / 10^4), 0.1) |
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Literal

import torch

from rbc_env.config import (
    NONNEGATIVE,
    POSITIVE,
    UNIT_CLOSED,
    CurriculumParams,
    Interval,
    Params,
    RBCConfig,
    param,
)
from rbc_env.core import AGENT_TYPES, action_bounds, action_box, action_masks, theta_factor

__all__ = [
    "CurriculumPreset",
    "DeviationParams",
    "CurriculumSchedule",
    "CurriculumStage",
    "TypeSchedule",
    "compressed",
    "deviation_stage",
    "entropy_coeff",
    "masked_types",
    "preset",
    "stage",
]

PresetName = Literal["paper", "cpu_small", "paper_cpu"]

# cpu_small divides every iteration count of the paper curriculum by this factor: masks open
# by iteration 20, firms train from 20 and the government from 40.
CPU_SMALL_FACTOR = 1500.0
# paper_cpu divides them by this factor: masks open by iteration 300, firms train from 300 and
# the government from 600; the paper's 200k iterations become 2,000 (``TrainConfig.paper_cpu``).
PAPER_CPU_FACTOR = 100.0


@dataclass(frozen=True, kw_only=True, slots=True)
class DeviationParams(Params):
    """A deviation (best-response) run: only one type, or one agent, learns (spec 10).

    With ``agent_type`` set, every iteration runs the economy as the reference best response
    does: θ factor 1, no action masks, every type acting with its stochastic policy, and only
    the deviating module updated, with entropy coefficient ``entropy_coeff``. ``agent_index
    = -1`` deviates the type's shared policy (the meta-game best response); ``i >= 0`` gives
    agent i of the type its own module (``deviation_module_id``), initialized from the type's
    policy, while its peers keep the shared one (a unilateral, single-agent deviation).
    A type-level deviation trains on the type's mean reward J_type (``objective="type"``):
    with the labour and rationing externality, each agent's own reward would be a simultaneous
    individual-gradient step, which can lower J_type. Batched sampler only.
    """

    agent_type: Literal["none", "consumer", "firm", "government"] = param(
        "none", "", "", None, "the deviating type; none: an ordinary training run"
    )
    agent_index: int = param(
        -1,
        "i",
        "index",
        Interval(-1.0, math.inf),
        "-1: the type's shared policy deviates; i >= 0: agent i alone gets its own module",
    )
    entropy_coeff: float = param(
        0.05,
        "β",
        "1",
        NONNEGATIVE,
        "entropy coefficient of the deviating module (spec 10: 0.1 x the paper's 0.5)",
    )
    objective: Literal["type", "own"] = param(
        "type",
        "",
        "",
        None,
        "reward a type-level deviation trains on: type = the type's mean reward J_type (the "
        "meta-game objective); own = each agent's own reward (a simultaneous individual step)",
    )

    @property
    def active(self) -> bool:
        """Whether this is a deviation run."""
        return self.agent_type != "none"


@dataclass(frozen=True, kw_only=True, slots=True)
class TypeSchedule(Params):
    """When one agent type trains and how its entropy coefficient decays (spec 9.3-9.4).

    β(e) = β0 · max(exp(-(e - e_start) / τ_β), floor) for e >= e_start (β0 before).
    """

    train_start: int = param(0, "e_start", "iterations", NONNEGATIVE, "first training iteration")
    entropy_start: float = param(0.5, "β0", "1", NONNEGATIVE, "entropy coefficient at e_start")
    entropy_decay_iters: float = param(
        10000.0, "τ_β", "iterations", POSITIVE, "decay length of the entropy coefficient"
    )
    entropy_floor: float = param(
        0.1, "β_floor", "1", UNIT_CLOSED, "floor of the multiplier (effective floor β0·floor)"
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class CurriculumSchedule(Params):
    """Per-type training starts and entropy schedules; defaults are the paper's (spec 9.4)."""

    consumer: TypeSchedule = field(default_factory=lambda: TypeSchedule(train_start=0))
    firm: TypeSchedule = field(default_factory=lambda: TypeSchedule(train_start=30000))
    government: TypeSchedule = field(default_factory=lambda: TypeSchedule(train_start=60000))

    def of(self, agent_type: str) -> TypeSchedule:
        """The schedule of one agent type."""
        if agent_type not in AGENT_TYPES:
            raise ValueError(f"agent type must be one of {list(AGENT_TYPES)}; got {agent_type!r}")
        return getattr(self, agent_type)


@dataclass(frozen=True, slots=True)
class CurriculumPreset:
    """A named curriculum: the trainer's schedule and the economy's curriculum parameters.

    Attributes:
        schedule: training starts and entropy schedules.
        economy: mask and θ timing, to be put into ``RBCConfig.curriculum``.
    """

    schedule: CurriculumSchedule
    economy: CurriculumParams

    def apply(self, config: RBCConfig) -> RBCConfig:
        """``config`` with this preset's economy curriculum parameters."""
        return dataclasses.replace(config, curriculum=self.economy)


@dataclass(frozen=True, slots=True)
class CurriculumStage:
    """Everything the curriculum decides for one training iteration.

    Attributes:
        iteration: the iteration counter e.
        theta_factor: factor f(e) on the labour disutility, applied at reset.
        masks: ``{type: bool tensor [Σ nvec]}`` allowed actions (heads concatenated).
        bounds: ``{type: (low [H], high [H])}`` allowed continuous actions, float64 (the masks'
            windows, ``rbc_env.core.action_bounds``; used with ``action_space="continuous"``).
        entropy_coeff: ``{type: β(e)}``.
        training: the types that update their policy this iteration, in the spec's update
            order (consumer, firm, government).
    """

    iteration: int
    theta_factor: float
    masks: dict[str, torch.Tensor]
    bounds: dict[str, tuple[torch.Tensor, torch.Tensor]]
    entropy_coeff: dict[str, float]
    training: tuple[str, ...]

    def trains(self, agent_type: str) -> bool:
        """Whether ``agent_type`` updates its policy this iteration."""
        return agent_type in self.training

    def allowed_share(self, agent_type: str, economy: RBCConfig) -> float:
        """How much of a type's action space the stage allows, in [0, 1].

        Discrete actions: the share of the heads' choices the masks allow. Continuous actions:
        the mean over heads of the bounds' width over the box's width (a head of zero width
        counts as fully allowed).
        """
        if economy.action_space == "discrete":
            return float(self.masks[agent_type].float().mean())
        lo, hi = self.bounds[agent_type]
        box_lo, box_hi = (torch.tensor(b, dtype=lo.dtype) for b in action_box(economy)[agent_type])
        width = (box_hi - box_lo).to(lo.device)
        share = torch.where(width > 0, (hi - lo) / width.clamp(min=1e-300), torch.ones_like(lo))
        return float(share.mean())

    def metrics(self, economy: RBCConfig) -> dict[str, float]:
        """The stage as ``curriculum/...`` metrics (both samplers log these names)."""
        out = {
            "curriculum/iteration": self.iteration,
            "curriculum/theta_factor": self.theta_factor,
        }
        for t in AGENT_TYPES:
            out[f"curriculum/entropy_coeff/{t}"] = self.entropy_coeff[t]
            out[f"curriculum/training/{t}"] = float(self.trains(t))
            out[f"curriculum/allowed_share/{t}"] = self.allowed_share(t, economy)
        return out


def _check_iteration(iteration: int) -> None:
    if isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
        raise ValueError(f"iteration must be an integer in [0, inf); got {iteration!r}")


def entropy_coeff(schedule: TypeSchedule, iteration: int) -> float:
    """β(e) = β0 · max(exp(-max(e - e_start, 0) / τ_β), floor) (spec 9.3, [M] anneal_entropy_coef).

    Args:
        schedule: the type's schedule.
        iteration: training iteration e >= 0.

    Returns:
        The entropy coefficient; β0 up to ``train_start``, then decaying to β0 · floor.
    """
    _check_iteration(iteration)
    elapsed = max(iteration - schedule.train_start, 0)
    multiplier = max(math.exp(-elapsed / schedule.entropy_decay_iters), schedule.entropy_floor)
    return schedule.entropy_start * multiplier


def stage(
    schedule: CurriculumSchedule,
    iteration: int,
    economy: RBCConfig,
    device: torch.device | str = "cpu",
) -> CurriculumStage:
    """The curriculum's decisions at training iteration e (spec 9.4, 9.5 step 1).

    Args:
        schedule: training starts and entropy schedules.
        iteration: training iteration e >= 0.
        economy: the economy; its ``curriculum`` field sets the masks and the θ factor.
        device: where the mask tensors are created.

    Returns:
        A ``CurriculumStage``.

    Raises:
        ValueError: if ``iteration`` is not a non-negative integer.
    """
    _check_iteration(iteration)
    return CurriculumStage(
        iteration=iteration,
        theta_factor=theta_factor(economy, iteration),
        masks=dict(action_masks(economy, iteration, device)),
        bounds=dict(action_bounds(economy, iteration, device)),
        entropy_coeff={t: entropy_coeff(schedule.of(t), iteration) for t in AGENT_TYPES},
        training=tuple(t for t in AGENT_TYPES if iteration >= schedule.of(t).train_start),
    )


def deviation_stage(
    deviation: DeviationParams,
    iteration: int,
    economy: RBCConfig,
    device: torch.device | str = "cpu",
) -> CurriculumStage:
    """The stage of every iteration of a best-response run (spec 10, step 2-4).

    θ factor 1 (full labour disutility), no action masks, every module's entropy coefficient
    the deviation's, and only the deviating type in ``training`` (a single agent's own module
    is added by the sampler).
    """
    _check_iteration(iteration)
    if not deviation.active:
        raise ValueError("deviation_stage needs an active DeviationParams (agent_type != 'none')")
    return CurriculumStage(
        iteration=iteration,
        theta_factor=theta_factor(economy, None),
        masks=dict(action_masks(economy, None, device)),
        bounds=dict(action_bounds(economy, None, device)),
        entropy_coeff={t: deviation.entropy_coeff for t in AGENT_TYPES},
        training=(deviation.agent_type,) if deviation.agent_index < 0 else (),
    )


def deviation_rewards(
    rewards: torch.Tensor, objective: Literal["type", "own"] = "type"
) -> torch.Tensor:
    """The rewards a type-level deviation trains on, from the type's rewards ``[B, N]``.

    ``objective="type"``: every agent gets the type's mean reward at that step,
    r̄_t = (1/N) Σ_j r_jt, so the shared policy's policy gradient is that of
    J_type = E[(1/N) Σ_j Σ_t r_jt] (each agent's log-probability is weighted by the team's
    return). ``"own"``: the rewards unchanged (each agent's own reward).
    """
    if objective == "own":
        return rewards
    if objective != "type":
        raise ValueError(f"objective must be 'type' or 'own'; got {objective!r}")
    return rewards.mean(-1, keepdim=True).expand_as(rewards)


def masked_types(economy: RBCConfig) -> tuple[str, ...]:
    """Types whose actions the curriculum ever restricts (their mask at e = 0 is not all true).

    Their policies take the mask as an input; the others never see one (consumers, spec 4.4).
    None with continuous actions, which the curriculum bounds instead.
    """
    if economy.action_space != "discrete":
        return ()  # continuous actions are bounded (CurriculumStage.bounds), never masked
    masks = action_masks(economy, 0)
    return tuple(t for t in AGENT_TYPES if not bool(masks[t].all()))


def compressed(factor: float) -> CurriculumPreset:
    """The paper curriculum with every iteration count divided by ``factor``.

    Integer counts are rounded and kept >= 1 (the mask-opening length) or >= 0 (starts), so the
    phases keep their order: firms start when the masks are fully open, the government when the
    tax mask is.

    Args:
        factor: compression factor > 0 (1 gives the paper curriculum).

    Raises:
        ValueError: if ``factor`` is not positive.
    """
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not factor > 0:
        raise ValueError(f"factor must be a number in (0, inf); got {factor!r}")
    paper_econ = CurriculumParams()
    paper = CurriculumSchedule()
    anneal = max(round(paper_econ.mask_anneal_iters / factor), 1)
    tax_start = round(paper_econ.tax_mask_start / factor)
    economy = dataclasses.replace(
        paper_econ,
        mask_anneal_iters=anneal,
        tax_mask_start=tax_start,
        theta_decay_iters=paper_econ.theta_decay_iters / factor,
    )

    def scaled(s: TypeSchedule, start: int) -> TypeSchedule:
        return dataclasses.replace(
            s, train_start=start, entropy_decay_iters=s.entropy_decay_iters / factor
        )

    schedule = CurriculumSchedule(
        consumer=scaled(paper.consumer, 0),
        firm=scaled(paper.firm, anneal),
        government=scaled(paper.government, tax_start + anneal),
    )
    return CurriculumPreset(schedule=schedule, economy=economy)


def preset(name: PresetName) -> CurriculumPreset:
    """A named curriculum.

    - ``"paper"``: spec 9.4 (masks open by 30k, firms train from 30k, government from 60k).
    - ``"cpu_small"``: the same phases 1500x shorter (masks open by 20, firms train from 20,
      government from 40, θ and entropy decay lengths 6.7 iterations).
    - ``"paper_cpu"``: 100x shorter (masks open by 300, firms from 300, government from 600).

    Raises:
        ValueError: on an unknown name.
    """
    if name == "paper":
        return compressed(1.0)
    if name == "cpu_small":
        return compressed(CPU_SMALL_FACTOR)
    if name == "paper_cpu":
        return compressed(PAPER_CPU_FACTOR)
    raise ValueError(
        f"curriculum preset must be one of ['paper', 'cpu_small', 'paper_cpu']; got {name!r}"
    )
