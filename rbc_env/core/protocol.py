"""The batched economy protocol: what every economy offers adapters and trainers.

Every economy of the package (the RBC economy, ``rbc_env.BatchedEconomy``; the growth family,
``rbc_env.growth.GrowthEconomy``) steps B economies at once on torch tensors and describes its
agents with one table of ``AgentSpec`` rows: type, count, observation spec, and either discrete
heads (``DiscreteActions``, an ``nvec``) or a bounded box of raw actions (``BoxActions``).
Adapters and trainers can be written once against ``Economy`` and the table.

At the protocol boundary every type has an agent axis: observations ``[B, n, *obs_shape]``,
rewards ``[B, n]``, actions ``[B, n, A]``. The RBC core keeps its fixed contract inside (the
government's tensors have no agent axis: ``[B, D]`` observations, ``[B]`` rewards, ``[B, 2]``
actions), which ``AgentSpec.agent_axis`` says and ``with_agent_axis`` / ``without_agent_axis``
convert.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch

from rbc_env.core.types import ArraySpec

__all__ = [
    "AgentSpec",
    "BoxActions",
    "DiscreteActions",
    "Economy",
    "StepResult",
    "with_agent_axis",
    "without_agent_axis",
]


@dataclass(frozen=True, slots=True)
class DiscreteActions:
    """Independent categorical heads: head h takes an integer in ``[0, nvec[h])``."""

    nvec: tuple[int, ...]

    @property
    def dim(self) -> int:
        """Action columns per agent (one per head)."""
        return len(self.nvec)


@dataclass(frozen=True, slots=True)
class BoxActions:
    """Real actions, column c in ``[low[c], high[c]]`` (raw units of the economy)."""

    low: tuple[float, ...]
    high: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.low) != len(self.high):
            raise ValueError(
                f"BoxActions.low and high must have the same length; got {len(self.low)} "
                f"and {len(self.high)}"
            )
        bad = [c for c, (lo, hi) in enumerate(zip(self.low, self.high, strict=True)) if lo > hi]
        if bad:
            raise ValueError(f"BoxActions.low must be <= high in every column; not in {bad}")

    @property
    def dim(self) -> int:
        """Action columns per agent."""
        return len(self.low)


@dataclass(frozen=True, slots=True)
class AgentSpec:
    """One agent type of an economy.

    Attributes:
        agent_type: the type's name (``"consumer"``, ``"household"``, ...).
        count: agents of this type in each economy.
        observation: one agent's observation spec.
        action: one agent's action spec.
        agent_axis: whether the economy's own tensors of this type carry the agent axis
            (False only for the RBC government, whose core tensors are ``[B, ...]``).
    """

    agent_type: str
    count: int
    observation: ArraySpec
    action: DiscreteActions | BoxActions
    agent_axis: bool = True


@runtime_checkable
class StepResult(Protocol):
    """What ``Economy.step`` returns: per-type observations and rewards, ``done [B]``, flows."""

    obs: dict[str, torch.Tensor]
    rewards: dict[str, torch.Tensor]
    done: torch.Tensor
    flows: dict[str, torch.Tensor]


@runtime_checkable
class Economy(Protocol):
    """B economies stepped together on torch tensors (the package's one economy protocol).

    Attributes:
        batch_size: B.
        device: where every tensor lives.
        generator: the economy's own random stream (initial states, shocks, sampled actions).
    """

    batch_size: int
    device: torch.device
    generator: torch.Generator

    @property
    def agent_specs(self) -> tuple[AgentSpec, ...]:
        """The agent table, one row per type, in the economy's type order."""
        ...

    @property
    def state(self) -> Any:
        """The current (immutable) state."""
        ...

    @property
    def terminal_at_horizon(self) -> bool:
        """Whether the game ends at the horizon.

        True: a finite game, no value after the last period; False: the horizon only truncates
        an infinite-horizon economy, and returns bootstrap from the value at the cut.
        """
        ...

    def reset(
        self, seed: int | None = None, *, iteration: int | None = None
    ) -> dict[str, torch.Tensor]:
        """New initial states (reseeding the generator first if ``seed`` is given); obs.

        ``iteration`` is the training iteration where a curriculum shapes the economy (the RBC
        economy's θ factor); economies without one ignore it.
        """
        ...

    def step(self, actions: dict[str, torch.Tensor]) -> StepResult:
        """Advance all B economies one period."""
        ...

    def global_state(self) -> torch.Tensor:
        """``[B, G]``: the economy's aggregate state (a centralized critic's input)."""
        ...

    def sample_actions(self, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Uniform valid actions of every type, in the economy's own layout."""
        ...


def with_agent_axis(spec: AgentSpec, tensor: torch.Tensor) -> torch.Tensor:
    """A tensor of type ``spec`` in the protocol layout (``[B, ...] -> [B, 1, ...]``).

    Only where the economy has no agent axis for the type; unchanged otherwise (a view, no copy).
    """
    return tensor if spec.agent_axis else tensor.unsqueeze(1)


def without_agent_axis(spec: AgentSpec, tensor: torch.Tensor) -> torch.Tensor:
    """The inverse of ``with_agent_axis``: protocol layout to the economy's own layout."""
    if spec.agent_axis:
        return tensor
    if tensor.shape[1] != 1:
        raise ValueError(
            f"{spec.agent_type} tensors must have 1 agent on axis 1; got shape "
            f"{tuple(tensor.shape)}"
        )
    return tensor.squeeze(1)
