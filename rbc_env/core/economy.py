"""BatchedEconomy: the one stateful holder of B economies (state, generator, device).

This is the batched tensor API for trainers: tensors in, tensors out, on the economy's device.
"""

from __future__ import annotations

import numbers

import torch

from rbc_env.config import RBCConfig
from rbc_env.core import dynamics
from rbc_env.core.actions import Actions, sample_uniform_actions, validate_actions
from rbc_env.core.dynamics import StepOutput
from rbc_env.core.masks import action_bounds, action_masks, theta_factor
from rbc_env.core.observe import Observations, global_observation, observation_specs, observe
from rbc_env.core.protocol import AgentSpec, BoxActions, DiscreteActions
from rbc_env.core.state import EconomyState
from rbc_env.core.types import (
    AGENT_TYPES,
    ArraySpec,
    action_box,
    action_nvec,
    agent_counts,
    has_agent_axis,
)


def seed_generator(generator: torch.Generator, seed: int | None) -> None:
    """Seed ``generator`` with ``seed`` (``None``: fresh entropy).

    Raises:
        ValueError: unless ``seed`` is a non-negative integer or None.
    """
    if seed is None:
        generator.seed()
    elif isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer or None; got {seed!r}")
    else:
        generator.manual_seed(int(seed))


def available_device(device: torch.device | str) -> torch.device:
    """``device`` as a ``torch.device``, if this machine has it.

    Raises:
        ValueError: for a string torch does not parse, or a CUDA device on a machine without a
            visible GPU (or with fewer GPUs than the index asks for).
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be 'cpu' or 'cuda[:N]'; got {device!r}") from err
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0 or (dev.index is not None and dev.index >= count):
            raise ValueError(
                f"device {str(dev)!r} is not available: this machine has {count} CUDA GPU(s); "
                "use device 'cpu'"
            )
    return dev


def agent_specs(config: RBCConfig) -> tuple[AgentSpec, ...]:
    """The protocol's agent table (``rbc_env.core.protocol``): consumers, firms, government.

    Discrete heads (``action_nvec``), or boxes (``action_box``) with
    ``action_space="continuous"``; the government has no agent axis in the core's tensors
    (``agent_axis=False``).
    """
    counts, specs, nvec = agent_counts(config), observation_specs(config), action_nvec(config)
    box = action_box(config)
    continuous = config.action_space == "continuous"
    return tuple(
        AgentSpec(
            agent_type=t,
            count=counts[t],
            observation=specs[t],
            action=BoxActions(*box[t]) if continuous else DiscreteActions(nvec[t]),
            agent_axis=has_agent_axis(t),
        )
        for t in AGENT_TYPES
    )


class BatchedEconomy:
    """B copies of the RBC economy stepped together on one torch device.

    Example:
        >>> from rbc_env import BatchedEconomy, RBCConfig
        >>> econ = BatchedEconomy(RBCConfig.paper("closed"), batch_size=4, seed=0)
        >>> obs = econ.reset()
        >>> obs["consumer"].shape
        torch.Size([4, 100, 56])
        >>> out = econ.step(econ.sample_actions())
        >>> out.rewards["firm"].shape, bool(out.done.any())
        (torch.Size([4, 10]), False)

    Args:
        config: the economy; ``None`` gives the paper's open economy.
        batch_size: number of economies B.
        device: torch device of every tensor.
        seed: seed of the economy's generator (used by ``sample_actions``); ``None`` draws
            fresh entropy.
        validate: check every action dict and that the episode is not over (one device sync
            per step; trainers may turn it off).
    """

    def __init__(
        self,
        config: RBCConfig | None = None,
        batch_size: int = 1,
        device: torch.device | str = "cpu",
        seed: int | None = None,
        *,
        validate: bool = True,
    ) -> None:
        self.config = config if config is not None else RBCConfig.paper("open")
        if not isinstance(self.config, RBCConfig):
            raise ValueError(f"config must be an RBCConfig or None; got {type(config).__name__}")
        self.device = available_device(device)
        self.validate = validate
        self.generator = torch.Generator(device=self.device)
        self._seed(seed)
        self._theta_factor = 1.0
        self._state = dynamics.initial_state(self.config, batch_size, device=self.device)
        self._t = 0  # the latest period t of any economy, kept on the host (no device sync)
        self.batch_size = batch_size

    def _seed(self, seed: int | None) -> None:
        seed_generator(self.generator, seed)

    # ---- the contract ---------------------------------------------------------------------
    @property
    def state(self) -> EconomyState:
        """The current state (immutable; each step makes a new one)."""
        return self._state

    def reset(self, seed: int | None = None, *, iteration: int | None = None) -> Observations:
        """Put every economy back at the initial state and return the observations.

        Args:
            seed: reseed the generator (``None`` keeps its stream going).
            iteration: training iteration for the curriculum's θ factor (spec 9.4); ``None``
                (outside training) means the full labour disutility.
        """
        if seed is not None:
            self._seed(seed)
        self._theta_factor = theta_factor(self.config, iteration)
        self._state = dynamics.initial_state(
            self.config, self.batch_size, device=self.device, theta_factor=self._theta_factor
        )
        self._t = 0
        return observe(self.config, self._state)

    def step(self, actions: Actions) -> StepOutput:
        """Advance all B economies by one period.

        Raises:
            ValueError: on bad actions (see ``rbc_env.core.actions.validate_actions``) or when
                the episode is over; the state is then left unchanged.
        """
        if self.validate:
            validate_actions(self.config, actions, self.batch_size)
            if self._t >= self.config.horizon:
                raise ValueError(
                    f"the episode is over (t = {self.config.horizon} = horizon); call reset()"
                )
        self._state, out = dynamics.step(self.config, self._state, actions)
        self._t += 1
        return out

    def sample_actions(
        self, generator: torch.Generator | None = None, *, iteration: int | None = None
    ) -> Actions:
        """Uniform random valid actions (allowed by the masks, or bounds, at ``iteration``)."""
        masks = bounds = None
        if iteration is not None:
            if self.config.action_space == "continuous":
                bounds = action_bounds(self.config, iteration, self.device)
            else:
                masks = action_masks(self.config, iteration, self.device)
        return sample_uniform_actions(
            self.config,
            self.batch_size,
            generator=generator if generator is not None else self.generator,
            device=self.device,
            masks=masks,
            bounds=bounds,
        )

    # ---- conveniences ------------------------------------------------------------------
    def observe(self) -> Observations:
        """Observations of the current state."""
        return observe(self.config, self._state)

    def set_state(self, state: EconomyState) -> None:
        """Replace the state (e.g. from a checkpoint); it must match the batch size and device."""
        if state.batch_size != self.batch_size or state.device != self.device:
            raise ValueError(
                f"state must have batch size {self.batch_size} on {self.device}; "
                f"got {state.batch_size} on {state.device}"
            )
        self._state = state
        self._t = int(state.t.max()) if state.t.numel() else 0

    def to(self, device: torch.device | str) -> BatchedEconomy:
        """Move the state and the generator to ``device`` (the generator is reseeded from it)."""
        device = torch.device(device)
        if device != self.device:
            seed = int(torch.randint(2**62, (1,), generator=self.generator, device=self.device))
            self.device = device
            self.generator = torch.Generator(device=device).manual_seed(seed)
            self._state = self._state.to(device)
        return self

    @property
    def agent_counts(self) -> dict[str, int]:
        """Agents per type."""
        return dict(agent_counts(self.config))

    @property
    def observation_specs(self) -> dict[str, ArraySpec]:
        """Per-agent observation spec of each type."""
        return dict(observation_specs(self.config))

    @property
    def action_nvec(self) -> dict[str, tuple[int, ...]]:
        """Choices per action head of each type."""
        return dict(action_nvec(self.config))

    @property
    def agent_specs(self) -> tuple[AgentSpec, ...]:
        """The protocol's agent table (``agent_specs(config)``)."""
        return agent_specs(self.config)

    @property
    def terminal_at_horizon(self) -> bool:
        """True: the RBC economy is a finite game of ``config.horizon`` periods (spec 7, 9.2)."""
        return True

    def global_state(self) -> torch.Tensor:
        """[B, G] the global part of every observation, (M15)'s g (the government's view)."""
        return global_observation(self.config, self._state)

    @property
    def theta_factor(self) -> float:
        """The curriculum's θ factor in force since the last reset."""
        return self._theta_factor
