"""The batched TorchRL face of the RBC economy: an ``EnvBase`` over ``rbc_env.BatchedEconomy``.

``RBCTorchRLEnv`` steps B economies at once on the economy's device and converts nothing but
layout: the core's per-type tensors become TensorDict entries, one group per agent type, as
TorchRL's ``VmasEnv`` lays out its groups (the convention BenchMARL reads). There is no second
implementation of the economy here; a test steps this env and a ``BatchedEconomy`` with the
same actions and compares every observation and reward. This is the only module of ``rbc_env``
that imports torchrl or tensordict; ``import rbc_env`` does not load it.

Keys and shapes (B = ``batch_size``, N_t agents of type t: C = ``config.n_consumers``
consumers, F = ``config.n_firms`` firms, 1 government; D_t observation width, H_t action heads):

| key | shape | dtype | meaning |
|---|---|---|---|
| ``(t, "observation")`` | [B, N_t, D_t] | config float | the core's observation (``rbc_env.core.observe``; scaled, unitless) |
| ``(t, "action_mask")`` | [B, N_t, Σ nvec_t] | bool | only with ``action_masks=True``: the heads' masks concatenated, True = allowed |
| ``"state"`` | [B, 7F + 2C + 3] | config float | global state in raw model units (``state_layout``), for centralized critics |
| ``(t, "action")`` | [B, N_t, H_t] | int64 | one grid index per head (``MultiCategorical`` spec, nvec = ``action_nvec``) |
| ``("next", t, "reward")`` | [B, N_t, 1] | config float | utility (consumer), after-tax profit in money (firm), social welfare (government) |
| ``"done"``, ``"terminated"`` | [B, 1] | bool | True at t = T = ``config.horizon``: the game ends there (no value bootstrap) |
| ``"truncated"`` | [B, 1] | bool | always False (the horizon is part of the game, not a time limit) |

Heads (``nvec``): consumer, F heads of ``consumer.n_units`` (units of each good), then
``consumer.n_hours`` (hours) and F (employer); firm, ``firm.n_prices`` (next price) and
``firm.n_wages`` (next wage); government, ``government.n_tax_levels`` twice (next income tax,
next corporate tax). Index k means k grid steps (spec section 4).

Like ``VmasEnv``, done flags live at the root only. TorchRL's value estimators want them with
the reward's shape; ``expand_done_keys`` writes ``("next", t, "done")`` and
``("next", t, "terminated")`` [.., N_t, 1] into a rollout (BenchMARL does this itself).

``MultiHeadCategorical`` is the matching policy distribution: independent categorical heads
over flat logits [..., Σ nvec], with the flat mask, usable as ``distribution_class`` of
TorchRL's ``ProbabilisticActor`` and with ``ClipPPOLoss``.

Use ``torchrl_env`` to build an env.
"""  # noqa: E501

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from tensordict import TensorDict, TensorDictBase
from torch import distributions as D
from torchrl.data import Bounded, Categorical, Composite, MultiCategorical, Unbounded
from torchrl.envs import EnvBase

from rbc_env.adapters.agents import CurriculumIteration, agent_index, resolve_config
from rbc_env.adapters.pettingzoo import state_layout
from rbc_env.config import RBCConfig
from rbc_env.core import (
    AGENT_TYPES,
    ArraySpec,
    BatchedEconomy,
    EconomyState,
    action_nvec,
    agent_counts,
)
from rbc_env.core import (
    action_masks as action_masks_of,
)
from rbc_env.core.economy import seed_generator
from rbc_env.core.protocol import (
    AgentSpec,
    DiscreteActions,
    Economy,
    with_agent_axis,
    without_agent_axis,
)

__all__ = [
    "ENV_ARGUMENTS",
    "EconomyTorchRLEnv",
    "MultiHeadCategorical",
    "RBCTorchRLEnv",
    "expand_done_keys",
    "growth_torchrl_env",
    "torchrl_env",
]

ENV_ARGUMENTS = ("batch_size", "device", "action_masks", "seed", "validate")
DONE_KEYS = ("done", "terminated", "truncated")


class EconomyTorchRLEnv(EnvBase):
    """Any protocol economy (``rbc_env.Economy``) as one batched TorchRL environment.

    Written once against the protocol (``rbc_env.core.protocol``): the groups, specs and
    layout come from ``economy.agent_specs``, so the growth family G1-G7
    (``rbc_env.growth.GrowthEconomy``) and the RBC economy both run through it. The RBC face,
    ``RBCTorchRLEnv``, is this class plus masks, the curriculum, partial resets and the full
    economy state; this one has no masks.

    Keys (B economies, N_t agents of type t, as ``RBCTorchRLEnv`` and ``VmasEnv``):
    ``(t, "observation")`` [B, N_t, D_t], ``(t, "action")`` [B, N_t, A_t] (``MultiCategorical``
    for discrete heads, ``Bounded`` for boxes), ``("next", t, "reward")`` [B, N_t, 1],
    ``"state"`` [B, G] (``economy.global_state()``), and ``"done"``, ``"terminated"``,
    ``"truncated"`` [B, 1]. At the horizon ``done`` is set, with ``terminated`` where the
    economy is a finite game (``terminal_at_horizon``) and ``truncated`` where it is an
    infinite-horizon economy cut short (the growth family: bootstrap from the value there).

    Resets are whole: every economy of the batch steps in lockstep, so a ``"_reset"`` mask must
    be all True or all False (``ValueError`` otherwise). ``set_seed`` seeds the economy's
    generator, which draws initial states, shocks and ``rand_action``.

    Example:
        >>> from rbc_env.adapters.torchrl import growth_torchrl_env
        >>> env = growth_torchrl_env("g4_h4", batch_size=8, seed=0)
        >>> td = env.rollout(5)
        >>> td["household", "action"].shape, td["next", "household", "reward"].shape
        (torch.Size([8, 5, 4, 1]), torch.Size([8, 5, 4, 1]))

    Args:
        economy: the economy to wrap (its batch size and device become the env's).
    """

    def __init__(self, economy: Economy) -> None:
        if not isinstance(economy, Economy):
            raise ValueError(
                f"economy must implement rbc_env.Economy; got {type(economy).__name__}"
            )
        super().__init__(device=economy.device, batch_size=torch.Size([economy.batch_size]))
        self.economy = economy
        self.agent_specs: tuple[AgentSpec, ...] = economy.agent_specs
        self._make_specs()

    # ---- what a richer face may add (RBCTorchRLEnv: masks, the full state) -----------------
    def _extra_group_specs(self, spec: AgentSpec, shape: tuple[int, ...]) -> dict[str, Any]:
        """Specs of extra per-agent observation entries of ``spec``'s group (none here)."""
        return {}

    def _extra_group_entries(self, spec: AgentSpec) -> dict[str, torch.Tensor]:
        """Values of those entries for the current step (none here)."""
        return {}

    def _state(self) -> torch.Tensor:
        """The ``"state"`` entry [B, G]: the economy's global state."""
        return self.economy.global_state()

    def _sample_actions(self) -> dict[str, torch.Tensor]:
        """Uniform valid actions of every type, as the protocol lays them out."""
        return self.economy.sample_actions()

    def _make_specs(self) -> None:
        b, device = self.batch_size, self.device
        obs = self.economy.reset()
        dtype = next(iter(obs.values())).dtype
        observation = Composite(shape=b, device=device)
        action = Composite(shape=b, device=device)
        reward = Composite(shape=b, device=device)
        for spec in self.agent_specs:
            t, shape = spec.agent_type, (*b, spec.count)
            observation[t] = Composite(
                observation=_box(spec.observation, shape, dtype, device),
                **self._extra_group_specs(spec, shape),
                shape=shape,
                device=device,
            )
            if isinstance(spec.action, DiscreteActions):
                act = MultiCategorical(
                    torch.tensor(spec.action.nvec), shape=(*shape, spec.action.dim), device=device
                )
            else:
                full = (*shape, spec.action.dim)
                act = Bounded(
                    low=torch.tensor(spec.action.low, dtype=dtype, device=device).expand(full),
                    high=torch.tensor(spec.action.high, dtype=dtype, device=device).expand(full),
                    shape=full,
                    dtype=dtype,
                    device=device,
                )
            action[t] = Composite(action=act, shape=shape, device=device)
            reward[t] = Composite(
                reward=Unbounded(shape=(*shape, 1), dtype=dtype, device=device),
                shape=shape,
                device=device,
            )
        width = self._state().shape[-1]
        observation["state"] = Unbounded(shape=(*b, width), dtype=dtype, device=device)
        self.full_observation_spec = observation
        self.full_action_spec = action
        self.full_reward_spec = reward
        self.full_done_spec = _done_spec(b, device)

    @property
    def group_map(self) -> dict[str, list[str]]:
        """``{agent type: agent ids}`` (``household_0``, ...), as ``VmasEnv.group_map``."""
        return {
            s.agent_type: [f"{s.agent_type}_{i}" for i in range(s.count)] for s in self.agent_specs
        }

    def _set_seed(self, seed: int | None) -> None:
        """Seed the economy's generator (``None``: fresh entropy)."""
        seed_generator(self.economy.generator, seed)

    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDictBase:
        """Reset every economy (a ``"_reset"`` mask must flag all of them or none)."""
        flags = None if tensordict is None else tensordict.get("_reset", None)
        if flags is not None and bool(flags.any()) and not bool(flags.all()):
            raise ValueError(
                "_reset must flag every economy or none: the economies of one "
                f"{type(self.economy).__name__} step in lockstep"
            )
        obs = self.economy.reset()
        done = torch.zeros((*self.batch_size, 1), dtype=torch.bool, device=self.device)
        return self._output(obs, None, done)

    def _step(self, tensordict: TensorDictBase) -> TensorDictBase:
        """Advance every economy by one period with the ``(t, "action")`` entries."""
        actions = {
            s.agent_type: without_agent_axis(s, tensordict.get((s.agent_type, "action")))
            for s in self.agent_specs
        }
        out = self.economy.step(actions)
        return self._output(out.obs, out.rewards, out.done.reshape(*self.batch_size, 1))

    def _output(
        self,
        obs: Mapping[str, torch.Tensor],
        rewards: Mapping[str, torch.Tensor] | None,
        done: torch.Tensor,
    ) -> TensorDict:
        b = self.batch_size
        terminal = self.economy.terminal_at_horizon
        source: dict[str, Any] = {
            "done": done,
            "terminated": done.clone() if terminal else torch.zeros_like(done),
            "truncated": torch.zeros_like(done) if terminal else done.clone(),
            "state": self._state(),
        }
        for spec in self.agent_specs:
            t, n = spec.agent_type, spec.count
            group = {"observation": with_agent_axis(spec, obs[t]).reshape(*b, n, -1)}
            if rewards is not None:
                group["reward"] = with_agent_axis(spec, rewards[t]).reshape(*b, n, 1)
            group.update(self._extra_group_entries(spec))
            source[t] = TensorDict(group, batch_size=(*b, n), device=self.device)
        return TensorDict(source, batch_size=b, device=self.device)

    def rand_action(self, tensordict: TensorDictBase | None = None) -> TensorDictBase:
        """Uniform valid actions from the economy's seeded generator (``sample_actions``).

        Draws with the economy's own sampler (one vectorized draw per head), which is much
        faster than TorchRL's generic sampler on the expanded specs.

        Args:
            tensordict: where to write ``(t, "action")``; ``None`` makes a new TensorDict.

        Returns:
            ``tensordict`` (or the new one) with ``(t, "action")`` [B, N_t, A_t].
        """
        sampled = self._sample_actions()
        b = self.batch_size
        out = TensorDict(
            {
                s.agent_type: TensorDict(
                    {"action": with_agent_axis(s, sampled[s.agent_type])},
                    batch_size=(*b, s.count),
                    device=self.device,
                )
                for s in self.agent_specs
            },
            batch_size=b,
            device=self.device,
        )
        return out if tensordict is None else tensordict.update(out)


class RBCTorchRLEnv(CurriculumIteration, EconomyTorchRLEnv):
    """B many-agent RBC economies as one batched TorchRL environment (``batch_size=[B]``).

    ## Description

    The economy of Curry et al. (2022), arXiv 2201.01163, with the dynamics of
    ``rbc_env.BatchedEconomy`` (equations in ``docs/model.md``): consumers buy goods and sell
    labour, firms set prices and wages, the government sets two taxes and returns the revenue
    as equal transfers. All agents of all B economies act at once each period.

    ## Groups

    One group per agent type, in core order: ``consumer`` (C agents), ``firm`` (F) and
    ``government`` (1); ``group_map`` lists the agent ids of each (``consumer_0``, ...), as
    ``VmasEnv.group_map`` does. Keys, shapes, dtypes and units are in the module docstring.

    ## Starting State

    Deterministic (spec 3.1-3.2). ``reset`` honours a partial ``"_reset"`` [B, 1] mask: only the
    flagged economies go back to the initial state, the others keep theirs. The curriculum
    iteration (``iteration``: the θ factor of new episodes and the action masks) takes effect at
    the next ``reset``, full or partial. The only randomness is the agents': ``set_seed`` seeds
    the economy's ``torch.Generator``, which ``rand_action`` draws from.

    ## Episode End

    Termination at the horizon T = ``config.horizon`` (10 in the paper): the RBC economy is a
    finite game (spec sections 7 and 9.2), so ``done`` = ``terminated`` = True after T steps and
    ``truncated`` stays False. All B economies end together unless partial resets staggered them.

    ## Arguments

    ``RBCTorchRLEnv(config=None, *, batch_size=1, device="cpu", action_masks=False, seed=None,
    validate=True)``, or ``rbc_env.adapters.torchrl.torchrl_env(config=None, **overrides)``.

    - ``config``: an ``rbc_env.RBCConfig``; ``None`` is the paper's open economy.
    - ``batch_size``: number of economies B.
    - ``device``: torch device of the economy and of every tensor of the env.
    - ``action_masks``: add ``(t, "action_mask")`` to the observations.
    - ``seed``: initial seed of the economy's generator (``set_seed`` reseeds).
    - ``validate``: check every action (dtype, shape, range) and refuse to step past the
      horizon, raising ``ValueError``; this reads from the device each step, so a trainer whose
      policy samples from the action spec may turn it off.

    Example:
        >>> from rbc_env.adapters.torchrl import torchrl_env
        >>> env = torchrl_env(batch_size=4, n_consumers=3, n_firms=2, seed=0)
        >>> td = env.rollout(env.config.horizon)
        >>> td["consumer", "action"].shape, td["next", "firm", "reward"].shape
        (torch.Size([4, 10, 3, 4]), torch.Size([4, 10, 2, 1]))
        >>> bool(td["next", "terminated"][:, -1].all()), bool(td["next", "truncated"].any())
        (True, False)
    """

    def __init__(
        self,
        config: RBCConfig | None = None,
        *,
        batch_size: int = 1,
        device: torch.device | str = "cpu",
        action_masks: bool = False,
        seed: int | None = None,
        validate: bool = True,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be an integer in [1, inf); got {batch_size!r}")
        if not isinstance(action_masks, bool):
            raise ValueError(f"action_masks must be a bool; got {action_masks!r}")
        if not isinstance(validate, bool):
            raise ValueError(f"validate must be a bool; got {validate!r}")
        economy = BatchedEconomy(config, batch_size, device=device, seed=seed, validate=validate)
        self.config: RBCConfig = economy.config
        if action_masks and self.config.action_space != "discrete":
            raise ValueError(
                "action_masks=True needs RBCConfig.action_space='discrete'; continuous actions "
                "have no mask (the curriculum bounds them: rbc_env.core.action_bounds)"
            )
        self._action_masks = action_masks
        self._iteration: int | None = None
        self._active_iteration: int | None = None
        self._masks = dict(action_masks_of(self.config, None, economy.device))
        self._counts = agent_counts(self.config)
        self._state_layout = state_layout(economy.state)
        super().__init__(economy)

    # ---- the generic face's hooks ---------------------------------------------------------
    def _extra_group_specs(self, spec: AgentSpec, shape: tuple[int, ...]) -> dict[str, Any]:
        """``action_mask`` [B, N_t, Σ nvec_t] bool, when the env has masks."""
        if not self._action_masks:
            return {}
        width = sum(action_nvec(self.config)[spec.agent_type])
        return {
            "action_mask": Categorical(
                n=2, shape=(*shape, width), dtype=torch.bool, device=self.device
            )
        }

    def _extra_group_entries(self, spec: AgentSpec) -> dict[str, torch.Tensor]:
        if not self._action_masks:
            return {}
        shape = (*self.batch_size, spec.count, -1)
        return {"action_mask": self._masks[spec.agent_type].expand(*shape).clone()}

    def _state(self) -> torch.Tensor:
        """The ``"state"`` entry: every ``EconomyState`` field, flat (``state_layout``)."""
        state = self.economy.state
        b = state.batch_size
        return torch.cat(
            [v.reshape(b, -1).to(state.dtype) for v in state.tensors().values()], dim=-1
        )

    def _sample_actions(self) -> dict[str, torch.Tensor]:
        """Uniform actions allowed by the masks of the curriculum iteration in force."""
        return self.economy.sample_actions(iteration=self._active_iteration)

    # ---- properties -----------------------------------------------------------------------
    @property
    def group_map(self) -> dict[str, list[str]]:
        """``{agent type: agent ids}``: the groups, as ``VmasEnv.group_map``."""
        ids = agent_index(self.config).ids
        return {t: list(ids[t]) for t in AGENT_TYPES}

    @property
    def action_masks(self) -> bool:
        """Whether observations carry ``(t, "action_mask")``."""
        return self._action_masks

    @property
    def nvec(self) -> dict[str, tuple[int, ...]]:
        """Choices per action head of each type (``rbc_env.core.action_nvec``)."""
        return dict(action_nvec(self.config))

    @property
    def state_layout(self) -> dict[str, slice]:
        """``{EconomyState field: slice}`` of the ``"state"`` entry's last axis."""
        return dict(self._state_layout)

    # ---- seeding, reset, step -------------------------------------------------------------
    def _reset(self, tensordict: TensorDictBase | None = None, **kwargs: Any) -> TensorDictBase:
        """Reset all economies, or those flagged by a ``"_reset"`` [B, 1] bool entry."""
        reset = None if tensordict is None else tensordict.get("_reset", None)
        self._active_iteration = self._iteration
        self._masks = dict(action_masks_of(self.config, self._active_iteration, self.device))
        if reset is None:
            self.economy.reset(iteration=self._active_iteration)
        else:
            keep = self.economy.state
            flags = reset.reshape(self.batch_size).to(self.device)
            self.economy.reset(iteration=self._active_iteration)
            self.economy.set_state(_where(flags, self.economy.state, keep))
        state = self.economy.state
        obs = self.economy.observe()
        done = (state.t >= self.config.horizon).unsqueeze(-1)
        return self._output(obs, None, done)

    def to(self, device: torch.device | str) -> RBCTorchRLEnv:
        """Move the economy (state and generator, see ``BatchedEconomy.to``) and the specs."""
        self.economy.to(device)
        self._masks = {t: m.to(device) for t, m in self._masks.items()}
        super().to(device)
        return self

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(variant={self.config.variant!r}, "
            f"batch_size={list(self.batch_size)}, agents={dict(self._counts)}, "
            f"action_masks={self._action_masks}, device={self.device})"
        )

    def expand_done_keys(self, tensordict: TensorDictBase) -> TensorDictBase:
        """Write per-group done flags into a rollout (see the module function)."""
        return expand_done_keys(tensordict, self.group_map)


def expand_done_keys(
    tensordict: TensorDictBase, groups: Mapping[str, Any] | Sequence[str] = AGENT_TYPES
) -> TensorDictBase:
    """Copy the root ``("next", "done")`` and ``("next", "terminated")`` into every group.

    TorchRL's value estimators (GAE) and ``ClipPPOLoss`` want done flags with the reward's
    shape; the env, like ``VmasEnv``, keeps them at the root. This writes
    ``("next", t, "done")`` and ``("next", t, "terminated")`` [..., N_t, 1] as expanded views
    (no copy), as TorchRL's multi-agent PPO tutorial and BenchMARL do.

    Args:
        tensordict: a rollout with ``("next", "done")``, ``("next", "terminated")`` [..., 1]
            and ``("next", t, "reward")`` [..., N_t, 1].
        groups: the group names (``env.group_map`` or its keys).

    Returns:
        ``tensordict``, updated in place.
    """
    for t in groups:
        shape = tensordict.get(("next", t, "reward")).shape
        for k in ("done", "terminated"):
            flag = tensordict.get(("next", k))
            tensordict.set(("next", t, k), flag.unsqueeze(-1).expand(shape))
    return tensordict


def _done_spec(batch: torch.Size, device: torch.device) -> Composite:
    """``done``, ``terminated`` and ``truncated`` [B, 1] bool, at the root (as ``VmasEnv``)."""
    return Composite(
        {
            k: Categorical(n=2, shape=(*batch, 1), dtype=torch.bool, device=device)
            for k in DONE_KEYS
        },
        shape=batch,
        device=device,
    )


def _box(
    spec: ArraySpec, shape: tuple[int, ...], dtype: torch.dtype, device: torch.device
) -> Unbounded | Bounded:
    """The TorchRL spec of an observation: ``Unbounded`` unless the core gives finite bounds."""
    full = (*shape, *spec.shape)
    if math.isinf(spec.low) and math.isinf(spec.high):
        return Unbounded(shape=full, dtype=dtype, device=device)
    return Bounded(low=spec.low, high=spec.high, shape=full, dtype=dtype, device=device)


def _where(flags: torch.Tensor, new: EconomyState, old: EconomyState) -> EconomyState:
    """Per economy: ``new``'s tensors where ``flags`` [B] is True, else ``old``'s."""
    merged = {}
    for name, a in new.tensors().items():
        f = flags.reshape(-1, *([1] * (a.ndim - 1)))
        merged[name] = torch.where(f, a, getattr(old, name))
    return EconomyState(**merged)


# ---- the distribution ---------------------------------------------------------------------
class MultiHeadCategorical(D.Distribution):
    """Independent categorical heads over flat logits, with an optional flat mask.

    The logits of all heads lie side by side on the last axis (``[..., Σ nvec]``, head k at
    ``sum(nvec[:k]) : sum(nvec[:k+1])``), the layout of the env's ``(t, "action_mask")`` and of
    one linear layer's output. A sample is one index per head, ``[..., H]`` int64, the env's
    ``(t, "action")``. ``log_prob`` and ``entropy`` are sums over the heads (the heads are
    independent), with shape ``batch_shape`` = ``logits.shape[:-1]``: [B, N] for a group, the
    shape ``ClipPPOLoss`` expects next to a [B, N, 1] advantage. Masked choices (mask False) get
    probability 0, are never sampled, and take no gradient.

    Use it as ``ProbabilisticActor(..., in_keys={"logits": ..., "mask": (t, "action_mask")},
    distribution_class=MultiHeadCategorical, distribution_kwargs={"nvec": env.nvec[t]})``.

    Args:
        logits: [..., Σ nvec] unnormalized log-probabilities.
        nvec: choices per head (H heads).
        mask: optional bool [..., Σ nvec] (broadcast against ``logits``), True = allowed.
        validate_args: check that every head allows at least one choice and that values given
            to ``log_prob`` are in range (reads from the device); ``None`` takes torch's
            default, which importing ``torchrl.modules`` turns off.

    Raises:
        ValueError: if ``logits``' last axis is not Σ nvec, or (when validating) a head's mask
            allows nothing.
    """

    arg_constraints: dict[str, Any] = {}
    has_rsample = False

    def __init__(
        self,
        logits: torch.Tensor,
        nvec: Sequence[int] | torch.Tensor,
        mask: torch.Tensor | None = None,
        validate_args: bool | None = None,
    ) -> None:
        sizes = [int(n) for n in (nvec.tolist() if isinstance(nvec, torch.Tensor) else nvec)]
        if not sizes or min(sizes) < 1:
            raise ValueError(f"nvec must be a non-empty sequence of integers >= 1; got {sizes}")
        if logits.shape[-1] != sum(sizes):
            raise ValueError(
                f"logits must have last axis Σ nvec = {sum(sizes)} for nvec {sizes}; "
                f"got shape {tuple(logits.shape)}"
            )
        self.nvec = tuple(sizes)
        self.logits = logits
        self.mask = mask
        width = max(sizes)
        starts = [sum(sizes[:k]) for k in range(len(sizes))]
        # index [H, width] into the flat axis; padding columns point at the head's first entry
        col = torch.arange(width, device=logits.device)
        n = torch.tensor(sizes, device=logits.device)
        pad = col.unsqueeze(0) >= n.unsqueeze(1)
        index = torch.tensor(starts, device=logits.device).unsqueeze(1) + col.unsqueeze(0)
        index = torch.where(pad, index - col.unsqueeze(0), index)
        allowed = ~pad
        if mask is not None:
            flat_mask = mask.to(device=logits.device, dtype=torch.bool)
            allowed = allowed & flat_mask[..., index]
        padded = logits[..., index]  # [..., H, width]
        self._allowed = allowed
        self._padded = torch.where(allowed, padded, torch.finfo(logits.dtype).min)
        batch_shape = torch.broadcast_shapes(logits.shape[:-1], self._allowed.shape[:-2])
        super().__init__(
            batch_shape=batch_shape,
            event_shape=torch.Size([len(sizes)]),
            validate_args=validate_args,
        )
        if self._validate_args and not bool(self._allowed.any(-1).all()):
            raise ValueError("every action head must allow at least one choice; a mask allows none")
        self._heads = D.Categorical(logits=self._padded, validate_args=False)

    @property
    def support(self) -> D.constraints.Constraint:
        """Integer indices, head k in [0, nvec[k] - 1]."""
        upper = torch.tensor(self.nvec, device=self.logits.device) - 1
        return D.constraints.independent(D.constraints.integer_interval(0, upper), 1)

    @property
    def probs(self) -> torch.Tensor:
        """[..., H, max nvec] per-head probabilities (0 beyond a head's size and where masked)."""
        return self._heads.probs

    def sample(self, sample_shape: Sequence[int] = ()) -> torch.Tensor:
        """Draw ``[*sample_shape, *batch_shape, H]`` int64 indices, one per head."""
        return self._heads.sample(torch.Size(sample_shape))

    def log_prob(self, value: torch.Tensor) -> torch.Tensor:
        """Sum over heads of each head's log-probability: ``[..., H]`` -> ``[...]``."""
        if self._validate_args:
            self._validate_sample(value)
        return self._heads.log_prob(value.long()).sum(-1)

    def entropy(self) -> torch.Tensor:
        """Sum over heads of each head's entropy (masked choices contribute 0): ``[...]``."""
        return self._heads.entropy().sum(-1)

    @property
    def mode(self) -> torch.Tensor:
        """The most likely allowed index of each head: ``[..., H]`` int64."""
        return self._padded.argmax(-1)

    @property
    def deterministic_sample(self) -> torch.Tensor:
        """The mode (used by TorchRL's ``InteractionType.DETERMINISTIC``)."""
        return self.mode


# ---- the factory --------------------------------------------------------------------------
def growth_torchrl_env(
    config: Any = None,
    *,
    batch_size: int = 1,
    device: torch.device | str = "cpu",
    seed: int | None = None,
    validate: bool = True,
) -> EconomyTorchRLEnv:
    """The batched TorchRL env of a growth economy (G1-G7).

    Args:
        config: a ``GrowthConfig``, a preset name (``"g4_h100"``), or ``None`` for G1.
        batch_size: economies B.
        device: torch device.
        seed: seed of the economy's generator.
        validate: check every action (see ``GrowthEconomy``).

    Returns:
        An ``EconomyTorchRLEnv`` over a ``rbc_env.growth.GrowthEconomy``.
    """
    from rbc_env.config import GrowthConfig
    from rbc_env.growth import GrowthEconomy

    if isinstance(config, str):
        config = GrowthConfig.preset(config)
    economy = GrowthEconomy(config, batch_size, device=device, seed=seed, validate=validate)
    return EconomyTorchRLEnv(economy)


def torchrl_env(
    config: RBCConfig | Mapping[str, Any] | None = None,
    batch_size: int = 1,
    device: torch.device | str = "cpu",
    action_masks: bool = False,
    seed: int | None = None,
    **overrides: Any,
) -> RBCTorchRLEnv:
    """Build the batched TorchRL env of B economies.

    Example: ``torchrl_env(batch_size=256, device="cuda", n_consumers=3, n_firms=2,
    variant="closed", **{"firm.tfp": 0.02})``.

    Args:
        config: an ``rbc_env.RBCConfig``, a dict for ``RBCConfig.from_dict``, or ``None`` for
            the paper's open economy.
        batch_size: number of economies B.
        device: torch device of the economy and the env.
        action_masks: add ``(t, "action_mask")`` [B, N_t, Σ nvec_t] to the observations.
        seed: initial seed of the economy's generator.
        **overrides: ``validate`` (see ``RBCTorchRLEnv``) and config fields: top-level names
            (``n_consumers``, ``variant``, ``horizon``, ...), dotted paths (``"firm.tfp"``) or a
            nested dict (``firm={"tfp": 0.02}``, which changes only the fields it names).

    Returns:
        A new ``RBCTorchRLEnv``.

    Raises:
        ValueError: naming the key for an argument that is neither an env argument nor a
            config field, and naming the field and range for an invalid value.
    """
    env_kwargs = {k: overrides.pop(k) for k in ("validate",) if k in overrides}
    resolved = resolve_config(config, overrides, caller="torchrl_env", env_arguments=ENV_ARGUMENTS)
    return RBCTorchRLEnv(
        resolved,
        batch_size=batch_size,
        device=device,
        action_masks=action_masks,
        seed=seed,
        **env_kwargs,
    )
