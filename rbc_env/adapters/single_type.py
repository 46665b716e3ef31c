"""Per-type views: one agent type of the economy for single-space libraries.

Single-agent libraries (Stable-Baselines3, Tianshou, CleanRL scripts, SuperSuit's vector
stack) want one observation space and one action space. The economy has three agent types
with different spaces, but every agent of one type shares its type's spaces. A per-type view
trains one type and lets the two other types follow a fixed policy (``others``):

| face | what it is | sub-environments |
|---|---|---|
| ``single_type_env`` -> ``SingleTypeVectorEnv`` | Gymnasium ``VectorEnv`` over B economies | every (economy b, agent i of the type) pair: B × N |
| ``single_agent_env`` -> ``SingleAgentEnv`` | Gymnasium ``Env`` | agent ``index`` of the type in one economy; every other agent follows ``others`` |
| ``single_type_parallel_env`` -> ``SingleTypeParallelEnv`` | PettingZoo ``ParallelEnv`` | the N agents of the type in one economy (SuperSuit's ``pettingzoo_env_to_vec_env_v1`` takes it) |
| ``sb3_vec_env`` | Stable-Baselines3 ``VecEnv`` of a ``SingleTypeVectorEnv`` | as the vector env |
| ``tianshou_vector_env`` | Tianshou ``BaseVectorEnv`` of a ``SingleTypeVectorEnv`` | as the vector env |

All of them step ``rbc_env.BatchedEconomy``; this module converts and adds no economics: the
rewards are the core's, and the other types' actions come from the core's uniform sampler,
from ``rbc_env.simulate.HeuristicPolicy`` or from a callable the user passes. Stable-Baselines3
and Tianshou are imported only by ``sb3_vec_env`` and ``tianshou_vector_env``.

``others``:

- ``"random"``: uniform valid actions from ``BatchedEconomy.sample_actions`` (the economy's
  seeded generator; the curriculum's masks when an iteration is set).
- ``"heuristic"`` (or a ``rbc_env.simulate.HeuristicPolicy`` instance): the fixed policy of
  ``python -m rbc_env.simulate`` (consumers buy one unit of each of the 3 cheapest affordable
  goods, or of every good with fewer firms, and work half time at the best wage; firms set the
  mask centres; the government taxes 20%), computed from the state each period with the
  economy's generator breaking ties.
- a callable ``others(obs) -> actions``: ``obs`` is ``{type: tensor}`` for the types it plays
  (``consumer [B, C, D_c]``, ``firm [B, F, D_f]``, ``government [B, D_g]``, on the economy's
  device), and it returns ``{type: int64 tensor}`` of grid indices with the core's action
  shapes (``consumer [B, C, F + 2]``, ``firm [B, F, 2]``, ``government [B, 2]``; numpy arrays
  are accepted too). A run or checkpoint of ``python -m trainers train`` becomes such a
  callable with ``trainers.policies.checkpoint_policy(path)`` (it verifies the checkpoint's
  SHA-256 manifest before reading any pickle; ``policy.config`` is the economy it was trained
  on).
"""  # noqa: E501

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Literal

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from pettingzoo import ParallelEnv

from rbc_env.adapters.agents import CurriculumIteration, agent_index, resolve_config
from rbc_env.adapters.spaces import numpy_dtype, protocol_action_space
from rbc_env.config import RBCConfig
from rbc_env.core import (
    AGENT_TYPES,
    AgentType,
    BatchedEconomy,
    StepOutput,
    action_head_names,
    action_nvec,
    agent_counts,
    agent_specs,
    grid_values,
    has_agent_axis,
    observation_specs,
    torch_dtype,
)

if TYPE_CHECKING:
    from rbc_env.simulate import HeuristicPolicy

__all__ = [
    "ENV_ARGUMENTS",
    "OthersPolicy",
    "SingleAgentEnv",
    "SingleTypeParallelEnv",
    "SingleTypeVectorEnv",
    "observation_bounds",
    "sb3_vec_env",
    "single_agent_env",
    "single_type_env",
    "single_type_parallel_env",
    "tianshou_vector_env",
]

logger = logging.getLogger(__name__)

OthersPolicy = Callable[[dict[str, torch.Tensor]], Mapping[str, Any]]
"""``{type: observations}`` -> ``{type: action indices}`` for the types the policy plays."""

if TYPE_CHECKING:
    Others = Literal["random", "heuristic"] | OthersPolicy | HeuristicPolicy

ENV_ARGUMENTS = (
    "agent_type",
    "others",
    "batch_size",
    "device",
    "seed",
    "validate",
    "autoreset_mode",
)
"""Arguments of ``single_type_env`` that are not config fields."""


# ---- observation bounds ----------------------------------------------------------------------
def observation_bounds(config: RBCConfig, agent_type: AgentType) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature bounds of one agent's observation, from the encoding of (M15).

    Bounded features: prices and wages over the largest grid value (upper bound: 1, or the
    initial price or wage over the largest grid value if that is higher), the rationing flags
    (0/1), the two tax rates (0 to the larger of the top grid rate and the initial rate), time
    t / T, θ_i / θ̄ (0 to 1), α_j, the firm's one-hot id, and with the ``"digits"`` encoding
    every sawtooth feature of stocks and cash ((x mod 10^k) / 10^k, in [0, 1]). Unbounded
    (±inf): with the ``"scaled"`` encoding stocks and cash and their signed logs (firm cash
    can be negative, and nothing caps stocks or cash), and capital over K_high. So with
    ``parity.obs_encoding = "digits"`` the consumer's and the government's boxes are finite.

    The grid values are computed as the core computes them (index × step in the config's
    dtype, divided by the largest grid value), so a bound is never below an observed value by
    a rounding error.

    Args:
        config: the economy (sizes, grids, encoding, dtype).
        agent_type: whose observation.

    Returns:
        ``(low, high)``, two float64 arrays of the observation's width.
    """
    dtype = torch_dtype(config)
    f = config.n_firms
    digits = config.parity.obs_encoding == "digits"
    heavy = config.parity.n_digits if digits else 2
    unit = (0.0, 1.0)
    heavy_bounds = unit if digits else (-np.inf, np.inf)

    def grid_high(n: int, step: float, initial: float, scale: float) -> float:
        # The core's values: index.to(dtype) * step, and full(initial) in dtype, then / scale.
        values = torch.cat([torch.arange(n).to(dtype) * step, torch.tensor([initial], dtype=dtype)])
        return float((values / scale).max())

    price_high = grid_high(
        config.firm.n_prices,
        config.firm.price_step,
        config.firm.initial_price,
        config.price_grid[-1],
    )
    wage_high = grid_high(
        config.firm.n_wages, config.firm.wage_step, config.firm.initial_wage, config.wage_grid[-1]
    )
    gov = config.government
    tax_high = (
        grid_high(gov.n_tax_levels, gov.tax_step, gov.initial_income_tax, 1.0),
        grid_high(gov.n_tax_levels, gov.tax_step, gov.initial_corporate_tax, 1.0),
    )
    parts: list[tuple[int, tuple[float, float]]] = [
        (f, (0.0, price_high)),  # p_j / max price
        (f, (0.0, wage_high)),  # w_j / max wage
        (heavy * f, heavy_bounds),  # stocks
        (f, unit),  # rationed last period
        (1, (0.0, tax_high[0])),  # income tax
        (1, (0.0, tax_high[1])),  # corporate tax
        (1, unit),  # t / T
    ]
    if agent_type == "consumer":
        parts += [(heavy, heavy_bounds), (1, unit)]  # cash, θ_i / θ̄
    elif agent_type == "firm":
        parts += [
            (heavy, heavy_bounds),  # cash
            (1, (-np.inf, np.inf)),  # capital / K_high
            (1, unit),  # α_j
            (f, unit),  # one-hot id
        ]
    low = np.concatenate([np.full(n, lo) for n, (lo, _) in parts])
    high = np.concatenate([np.full(n, hi) for n, (_, hi) in parts])
    width = observation_specs(config)[agent_type].shape[0]
    if low.shape != (width,):  # pragma: no cover - guards against a change of (M15)
        raise RuntimeError(
            f"observation_bounds covers {low.shape[0]} {agent_type} features; the core has {width}"
        )
    return low, high


def _observation_space(config: RBCConfig, agent_type: AgentType) -> spaces.Box:
    low, high = observation_bounds(config, agent_type)
    dtype = numpy_dtype(config)
    return spaces.Box(low=low.astype(dtype), high=high.astype(dtype), dtype=dtype)


# ---- the other types' policy -----------------------------------------------------------------
def _check_agent_type(agent_type: Any) -> AgentType:
    if agent_type not in AGENT_TYPES:
        raise ValueError(f"agent_type must be one of {list(AGENT_TYPES)}; got {agent_type!r}")
    return agent_type


class _Others:
    """Plays the types that the learner does not, following ``others``."""

    def __init__(self, others: Any, config: RBCConfig) -> None:
        from rbc_env.simulate import HeuristicPolicy

        self.heuristic: HeuristicPolicy | None = None
        self.policy: OthersPolicy | None = None
        if isinstance(others, str):
            if others == "heuristic":
                # The simulation's policy, buying from at most as many goods as there are firms.
                n_goods = min(HeuristicPolicy().n_goods, config.n_firms)
                self.heuristic = HeuristicPolicy(n_goods=n_goods)
            elif others != "random":
                raise ValueError(
                    "others must be 'random', 'heuristic', a HeuristicPolicy or a callable "
                    f"{{type: obs}} -> {{type: actions}}; got {others!r}"
                )
        elif isinstance(others, HeuristicPolicy):
            self.heuristic = others
        elif callable(others):
            self.policy = others
        else:
            raise ValueError(
                "others must be 'random', 'heuristic', a HeuristicPolicy or a callable "
                f"{{type: obs}} -> {{type: actions}}; got {type(others).__name__}"
            )
        if self.policy is not None:
            self.name = "callable"
        else:
            self.name = "random" if self.heuristic is None else "heuristic"

    def act(
        self,
        economy: BatchedEconomy,
        obs: Mapping[str, torch.Tensor],
        types: tuple[AgentType, ...],
        iteration: int | None,
    ) -> dict[str, torch.Tensor]:
        """Action index tensors of ``types``, with the core's shapes."""
        if self.policy is None:
            if self.heuristic is not None:
                every = self.heuristic.act(economy.config, economy.state, economy.generator)
                if economy.config.action_space == "continuous":
                    every = grid_values(economy.config, every)  # its grid points, as values
            else:
                every = economy.sample_actions(iteration=iteration)
            return {t: every[t] for t in types}
        chosen = self.policy({t: obs[t] for t in types})
        if not isinstance(chosen, Mapping) or sorted(chosen) != sorted(types):
            got = sorted(chosen) if isinstance(chosen, Mapping) else type(chosen).__name__
            raise ValueError(
                f"the others policy must return a dict with the actions of {list(types)}; got {got}"
            )
        return {t: torch.as_tensor(chosen[t], device=economy.device) for t in types}


# ---- the vector env --------------------------------------------------------------------------
class SingleTypeVectorEnv(CurriculumIteration, VectorEnv[np.ndarray, np.ndarray, np.ndarray]):
    """One agent type of B economies as a Gymnasium ``VectorEnv``, one sub-environment per agent.

    ## Description

    The economy of ``rbc_env.adapters.pettingzoo.RBCParallelEnv`` seen by one agent type:
    sub-environment k = b N + i is agent i of the type in economy b (N agents of the type: C
    consumers, F firms or 1 government), so ``num_envs`` = B N and all of them share one
    observation space and one action space. The two other types follow ``others`` (see the
    module docstring). All B economies run in lockstep on the torch device of
    ``rbc_env.BatchedEconomy``; this class converts between numpy rows and the core's
    per-type tensors.

    ## Action Space

    ``single_action_space`` is the type's ``MultiDiscrete`` of the PettingZoo face (consumer: F
    heads of ``consumer.n_units``, then ``consumer.n_hours``, then F; firm: ``firm.n_prices``,
    ``firm.n_wages``; government: ``government.n_tax_levels`` twice); ``action_space`` is its
    batch, int64 ``[num_envs, heads]``. With ``RBCConfig.action_space="continuous"`` it is the
    type's ``Box`` of values on the grids' ranges (``rbc_env.core.action_box``), in the config's
    float dtype; a heuristic ``others`` then plays its grid points as values
    (``rbc_env.core.grid_values``).

    ## Observation Space

    ``single_observation_space`` is a ``Box`` of the type's observation (the PettingZoo face's
    columns) in the config's float dtype, with per-feature bounds where the encoding has them
    and ±inf elsewhere (``observation_bounds``); ``observation_space`` is its batch.

    ## Rewards

    The core's per-agent rewards (``StepOutput.rewards`` of the type, rows in sub-environment
    order): a consumer's utility, a firm's after-tax profit (money), the government's social
    welfare.

    ## Starting State

    The economy's deterministic initial state. ``reset(seed=s)`` seeds the economy's torch
    generator, which draws the random others' actions and the heuristic's tie-breaks, so a
    seed and the learner's actions fix the trajectory (``reset()`` continues the stream);
    ``options={"iteration": e}`` sets the curriculum's θ factor and the random others' masks
    from training iteration e (``{"iteration": None}``: none; it persists over resets).

    ## Episode End

    Every sub-environment terminates together after ``config.horizon`` steps: ``terminated``
    True (the economy is a finite game, so no value bootstrap), ``truncated`` always False.
    Autoreset follows ``metadata["autoreset_mode"]``: ``NEXT_STEP`` (default, Gymnasium's own)
    resets on the step after, ignoring its actions and returning reward 0; ``SAME_STEP``
    returns the first observation of the next episode at once, with the last one in
    ``infos["final_obs"]``; ``DISABLED`` raises on a step before ``reset``.

    ## Arguments

    ``single_type_env(config=None, agent_type="consumer", others="random", batch_size=1,
    device="cpu", seed=None, **overrides)``; overrides are ``validate``, ``autoreset_mode``
    or config fields.

    ## Version History

    - v0 (rbc-marl 0.1.0): initial version.

    Example:
        >>> import rbc_env
        >>> from rbc_env.adapters.single_type import single_type_env
        >>> env = single_type_env(agent_type="firm", others="heuristic", batch_size=3,
        ...                       n_consumers=4, n_firms=2, variant="closed")
        >>> env.num_envs, env.single_action_space, env.action_space.shape
        (6, MultiDiscrete([6 5]), (6, 2))
        >>> obs, infos = env.reset(seed=0)
        >>> obs.shape, bool(env.observation_space.contains(obs))
        ((6, 19), True)
        >>> for _ in range(env.config.horizon):
        ...     obs, rewards, terminated, truncated, infos = env.step(env.action_space.sample())
        >>> rewards.shape, bool(terminated.all()), bool(truncated.any())
        ((6,), True, False)

    Args:
        config: the economy; ``None`` is the paper's open economy.
        agent_type: the type the learner plays.
        others: how the other types act: ``"random"``, ``"heuristic"``, a
            ``rbc_env.simulate.HeuristicPolicy`` or a callable (module docstring).
        batch_size: economies B.
        device: torch device of the economy (observations come back as numpy either way).
        seed: initial seed of the economy's generator (``None``: fresh entropy).
        validate: check every joint action in the core too (a device sync per step); the
            learner's actions are always checked.
        autoreset_mode: a ``gymnasium.vector.AutoresetMode`` or its value.

    Raises:
        ValueError: for an unknown agent type, ``others`` or autoreset mode.
    """

    def __init__(
        self,
        config: RBCConfig | None = None,
        *,
        agent_type: AgentType = "consumer",
        others: Others = "random",
        batch_size: int = 1,
        device: torch.device | str = "cpu",
        seed: int | None = None,
        validate: bool = True,
        autoreset_mode: AutoresetMode | str = AutoresetMode.NEXT_STEP,
    ) -> None:
        self.agent_type: AgentType = _check_agent_type(agent_type)
        try:
            mode = AutoresetMode(autoreset_mode)
        except ValueError:
            raise ValueError(
                f"autoreset_mode must be one of {[m.value for m in AutoresetMode]}; got "
                f"{autoreset_mode!r}"
            ) from None
        if not isinstance(validate, bool):
            raise ValueError(f"validate must be a bool; got {validate!r}")
        self.economy = BatchedEconomy(
            config, batch_size=batch_size, device=device, seed=_as_seed(seed), validate=validate
        )
        self.config: RBCConfig = self.economy.config
        self._others = _Others(others, self.config)
        self.batch_size = self.economy.batch_size
        self.n_agents = agent_counts(self.config)[self.agent_type]
        self.num_envs = self.batch_size * self.n_agents
        self.other_types: tuple[AgentType, ...] = tuple(
            t for t in AGENT_TYPES if t != self.agent_type
        )
        self.metadata = {"autoreset_mode": mode, "render_modes": []}
        self.render_mode = None
        self.single_observation_space: spaces.Box = _observation_space(self.config, agent_type)
        spec = next(x for x in agent_specs(self.config) if x.agent_type == agent_type)
        # MultiDiscrete grid indices, or a Box of values (action_space="continuous")
        self.single_action_space: spaces.Space[Any] = protocol_action_space(
            spec, numpy_dtype(self.config)
        )
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._heads = len(action_nvec(self.config)[agent_type])
        self._ids = agent_index(self.config).ids[agent_type]
        self._iteration: int | None = None
        self._obs: dict[str, torch.Tensor] | None = None
        self._done = False  # the last step ended the episode

    @property
    def autoreset_mode(self) -> AutoresetMode:
        """How sub-environments restart after the horizon (``metadata["autoreset_mode"]``)."""
        return self.metadata["autoreset_mode"]

    @property
    def others(self) -> str:
        """``"random"``, ``"heuristic"`` or ``"callable"``: how the other types act."""
        return self._others.name

    # ---- episode ---------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every economy and return the first observations.

        Args:
            seed: reseed the economy's generator (``None`` continues its stream).
            options: ``{"iteration": e}`` sets :attr:`iteration`; other keys are ignored.

        Returns:
            Observations ``[num_envs, D]`` and an empty info dict.

        Raises:
            ValueError: on a bad seed, options or iteration.
        """
        seed = _as_seed(seed)
        if options is not None:
            if not isinstance(options, Mapping):
                raise ValueError(f"options must be a dict or None; got {options!r}")
            if "iteration" in options:
                self.iteration = options["iteration"]
            ignored = sorted(str(k) for k in options if k != "iteration")
            if ignored:
                logger.debug("reset ignores option(s) %s", ignored)
        self._obs = self.economy.reset(seed=seed, iteration=self._iteration)
        super().reset(seed=seed)
        self._done = False
        return self._rows(self._obs[self.agent_type]), {}

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """Advance every economy by one period.

        Args:
            actions: ``[num_envs, heads]`` integer grid indices (numpy, a nested sequence or a
                tensor), row k for sub-environment k.

        Returns:
            ``(observations [num_envs, D], rewards [num_envs], terminated [num_envs],
            truncated [num_envs], infos)``.

        Raises:
            ValueError: before ``reset``, after the horizon with autoreset ``DISABLED``, and
                naming the sub-environment, head and range for a badly shaped, non-integer or
                out-of-range action; the state is then unchanged.
        """
        if self._obs is None:
            raise ValueError("call reset() before step()")
        own = self._own_actions(actions)
        if self._done:
            if self.autoreset_mode == AutoresetMode.DISABLED:
                raise ValueError(
                    f"the episode is over (t = {self.config.horizon} = horizon) and autoreset is "
                    "disabled; call reset()"
                )
            # NEXT_STEP: this step only resets; its actions are ignored.
            obs, infos = self.reset()
            zeros = np.zeros(self.num_envs, dtype=bool)
            rewards = np.zeros(self.num_envs, dtype=numpy_dtype(self.config))
            return obs, rewards, zeros, zeros.copy(), infos
        played = self._others.act(self.economy, self._obs, self.other_types, self._iteration)
        out = self._advance(own, played)
        obs = self._rows(out.obs[self.agent_type])
        rewards = self._rows(out.rewards[self.agent_type])
        terminated = np.repeat(out.done.cpu().numpy(), self.n_agents)
        truncated = np.zeros(self.num_envs, dtype=bool)
        infos: dict[str, Any] = {}
        self._done = bool(terminated.any())
        if self._done and self.autoreset_mode == AutoresetMode.SAME_STEP:
            final_obs = np.empty(self.num_envs, dtype=object)
            for k in range(self.num_envs):  # Gymnasium's layout: one array per sub-environment
                final_obs[k] = obs[k]
            every = np.ones(self.num_envs, dtype=bool)
            infos = {
                "final_obs": final_obs,
                "_final_obs": every,
                "final_info": {},
                "_final_info": every.copy(),
            }
            obs, _ = self.reset()
        return obs, rewards, terminated, truncated, infos

    def close_extras(self, **kwargs: Any) -> None:
        """Nothing to release."""

    # ---- conversion ------------------------------------------------------------------------
    def _advance(self, own: torch.Tensor, played: Mapping[str, torch.Tensor]) -> StepOutput:
        """Step the economy with the learner's type's ``own`` and the others' ``played``."""
        out = self.economy.step({**played, self.agent_type: own})
        self._obs = out.obs
        return out

    def _rows(self, x: torch.Tensor) -> np.ndarray:
        """[B, N, ...] or [B, ...] (government) -> [B N, ...] numpy."""
        rows = x.flatten(0, 1) if has_agent_axis(self.agent_type) else x
        return rows.cpu().numpy()

    def _sub_env_name(self, k: int) -> str:
        b, i = divmod(k, self.n_agents)
        return f"sub-environment {k} (economy {b}, {self._ids[i]})"

    def _check_indices(self, actions: Any, shape: tuple[int, ...], what: str) -> np.ndarray:
        """``actions`` as an array of ``shape`` [..., heads] with every head in range.

        Integer grid indices, or real values inside the box with continuous actions.

        Raises:
            ValueError: naming ``what`` for a bad shape or dtype, and the sub-environment, head
                and range for an out-of-range value.
        """
        if isinstance(actions, torch.Tensor):
            actions = actions.detach().cpu().numpy()
        try:
            arr = np.asarray(actions)
        except ValueError:  # ragged rows
            arr = np.asarray(actions, dtype=object)
        names = action_head_names(self.config)[self.agent_type]
        space = self.single_action_space
        if isinstance(space, spaces.Box):
            kinds, what_kind = "iuf", "real values"
            low, high = space.low, space.high
        else:
            kinds, what_kind = "iu", "integer grid indices"
            low, high = np.zeros_like(space.nvec), space.nvec - 1
        if arr.shape != shape or arr.dtype.kind not in kinds:
            raise ValueError(
                f"{what} must be {what_kind} of shape {shape} (heads {list(names)}); "
                f"got shape {arr.shape}, dtype {arr.dtype}"
            )
        bad = ~((arr >= low) & (arr <= high))  # NaN is out of range too
        if bad.any():
            *row, head = (int(i) for i in np.argwhere(bad)[0])
            where = self._sub_env_name(row[0]) if row else what
            raise ValueError(
                f"action of {where}: head {names[head]!r} must be in "
                f"[{low[head]:g}, {high[head]:g}]; got {arr[(*row, head)]}"
            )
        return arr

    def _as_core(self, arr: np.ndarray) -> torch.Tensor:
        """A checked action array as a core tensor (int64 indices or the config's floats)."""
        dtype = np.int64 if self.config.action_space == "discrete" else numpy_dtype(self.config)
        return torch.from_numpy(arr.astype(dtype, copy=False)).to(self.economy.device)

    def _own_actions(self, actions: Any) -> torch.Tensor:
        """Check the learner's ``[num_envs, heads]`` indices; return them with the core's shape."""
        heads = self._heads
        tensor = self._as_core(self._check_indices(actions, (self.num_envs, heads), "actions"))
        if has_agent_axis(self.agent_type):
            return tensor.view(self.batch_size, self.n_agents, heads)
        return tensor

    def __repr__(self) -> str:
        return (
            f"SingleTypeVectorEnv({self.agent_type}, others={self.others}, "
            f"batch_size={self.batch_size}, num_envs={self.num_envs})"
        )


# ---- one agent -------------------------------------------------------------------------------
class SingleAgentEnv(gymnasium.Env[np.ndarray, np.ndarray]):
    """One agent of one economy as a Gymnasium ``Env``; every other agent follows ``others``.

    Agent ``index`` of ``agent_type`` is the learner; its peers of the same type and the two
    other types act as ``others`` says (a callable is asked for all three types here, and the
    learner's row of its answer is replaced). Spaces, rewards, seeding, ``options`` and the
    episode end are those of ``SingleTypeVectorEnv`` with B = 1: ``terminated`` is True after
    ``config.horizon`` steps (``truncated`` always False); step again only after ``reset``.
    ``rewards`` is a Python float. Built by ``single_agent_env``.

    Example:
        >>> from rbc_env.adapters.single_type import single_agent_env
        >>> env = single_agent_env(agent_type="government", n_consumers=4, n_firms=2, horizon=3)
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        >>> env.action_space, type(reward), terminated
        (MultiDiscrete([6 6]), <class 'float'>, False)

    Args:
        config: the economy; ``None`` is the paper's open economy.
        agent_type: the learner's type.
        index: the learner's position among the agents of its type.
        others: as for ``SingleTypeVectorEnv``.
        device: torch device of the economy.
        seed: initial seed of the economy's generator.
        validate: check every joint action in the core too.

    Raises:
        ValueError: for an unknown type or ``others``, or an index out of range.
    """

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        config: RBCConfig | None = None,
        *,
        agent_type: AgentType = "consumer",
        index: int = 0,
        others: Others = "random",
        device: torch.device | str = "cpu",
        seed: int | None = None,
        validate: bool = True,
    ) -> None:
        self._vec = SingleTypeVectorEnv(
            config,
            agent_type=agent_type,
            others=others,
            batch_size=1,
            device=device,
            seed=seed,
            validate=validate,
            autoreset_mode=AutoresetMode.DISABLED,
        )
        self.config = self._vec.config
        n = self._vec.n_agents
        if isinstance(index, np.integer):
            index = int(index)
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n:
            raise ValueError(
                f"index must be an integer in [0, {n - 1}] ({agent_type}s); got {index!r}"
            )
        self.agent_type: AgentType = self._vec.agent_type
        self.index = index
        self.agent_id = self._vec._ids[index]
        self.observation_space: spaces.Box = self._vec.single_observation_space
        self.action_space: spaces.MultiDiscrete = self._vec.single_action_space
        self.render_mode = None
        self._live = False

    @property
    def economy(self) -> BatchedEconomy:
        """The economy (B = 1) this env steps."""
        return self._vec.economy

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode (see ``SingleTypeVectorEnv.reset``).

        Returns:
            The learner's observation ``[D]`` and an empty info dict.
        """
        obs, _ = self._vec.reset(seed=seed, options=options)
        super().reset(seed=_as_seed(seed))
        self._live = True
        return obs[self.index], {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Advance the economy by one period.

        Args:
            action: the learner's ``[heads]`` grid indices.

        Returns:
            ``(observation, reward, terminated, truncated, info)``.

        Raises:
            ValueError: before ``reset`` or after the horizon, and naming the head and range
                for a bad action; the state is then unchanged.
        """
        if not self._live:
            raise ValueError("the episode is over or has not started: call reset() before step()")
        vec = self._vec
        row = vec._check_indices(action, (vec._heads,), f"the action of {self.agent_id}")
        played = vec._others.act(vec.economy, vec._obs, AGENT_TYPES, vec.iteration)
        own = played.pop(self.agent_type).clone()
        mine = vec._as_core(row).to(own.dtype)
        if has_agent_axis(self.agent_type):
            own[0, self.index] = mine
        else:
            own[0] = mine
        out = vec._advance(own, played)
        obs = vec._rows(out.obs[self.agent_type])[self.index]
        reward = float(vec._rows(out.rewards[self.agent_type])[self.index])
        terminated = bool(out.done[0])
        self._live = not terminated
        return obs, reward, terminated, False, {}


# ---- the type's agents as a PettingZoo env ---------------------------------------------------
class SingleTypeParallelEnv(ParallelEnv[str, np.ndarray, np.ndarray]):
    """The agents of one type in one economy as a PettingZoo ``ParallelEnv``.

    ``possible_agents`` are the type's ids (``consumer_0 .. consumer_{C-1}``, ``firm_0 ..`` or
    ``government_0``), all with one observation space and one action space (the same objects),
    so SuperSuit's ``pettingzoo_env_to_vec_env_v1`` converts it to a vector env and
    ``concat_vec_envs_v1`` stacks copies of it (for Stable-Baselines3 with
    ``base_class="stable_baselines3"``). The other types follow ``others``. Spaces, rewards
    (floats), seeding and ``options`` are those of ``SingleTypeVectorEnv`` with B = 1; after
    ``config.horizon`` steps every agent is terminated (``truncations`` False) and ``agents``
    becomes ``[]``. Built by ``single_type_parallel_env``.

    Args:
        config: the economy; ``None`` is the paper's open economy.
        agent_type: the type whose agents this env holds.
        others: as for ``SingleTypeVectorEnv``.
        device: torch device of the economy.
        seed: initial seed of the economy's generator.
        validate: check every joint action in the core too.
    """

    metadata: dict[str, Any] = {
        "name": "rbc_single_type_v0",
        "render_modes": [],
        "is_parallelizable": True,
    }

    def __init__(
        self,
        config: RBCConfig | None = None,
        *,
        agent_type: AgentType = "consumer",
        others: Others = "random",
        device: torch.device | str = "cpu",
        seed: int | None = None,
        validate: bool = True,
    ) -> None:
        self._vec = SingleTypeVectorEnv(
            config,
            agent_type=agent_type,
            others=others,
            batch_size=1,
            device=device,
            seed=seed,
            validate=validate,
            autoreset_mode=AutoresetMode.DISABLED,
        )
        self.config = self._vec.config
        self.agent_type: AgentType = self._vec.agent_type
        self.possible_agents: list[str] = list(self._vec._ids)
        self.agents: list[str] = []
        self.render_mode = None
        space_obs = self._vec.single_observation_space
        space_act = self._vec.single_action_space
        self.observation_spaces = dict.fromkeys(self.possible_agents, space_obs)
        self.action_spaces = dict.fromkeys(self.possible_agents, space_act)

    @property
    def economy(self) -> BatchedEconomy:
        """The economy (B = 1) this env steps."""
        return self._vec.economy

    def observation_space(self, agent: str) -> spaces.Box:
        """The type's observation space (one object for every agent).

        Raises:
            ValueError: for an id that is not an agent of this env.
        """
        return self.observation_spaces[self._known(agent)]

    def action_space(self, agent: str) -> spaces.MultiDiscrete:
        """The type's action space (one object for every agent).

        Raises:
            ValueError: for an id that is not an agent of this env.
        """
        return self.action_spaces[self._known(agent)]

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        """Start a new episode (see ``SingleTypeVectorEnv.reset``).

        Returns:
            Observations and (empty) infos of every agent of the type.
        """
        obs, _ = self._vec.reset(seed=seed, options=options)
        self.agents = list(self.possible_agents)
        return dict(zip(self.agents, obs, strict=True)), {a: {} for a in self.agents}

    def step(
        self, actions: Mapping[str, Any]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Advance the economy by one period.

        Args:
            actions: one ``[heads]`` index array per agent of the type.

        Returns:
            ``(observations, rewards, terminations, truncations, infos)``, keyed by agent.

        Raises:
            ValueError: before ``reset`` or after the horizon, for missing or unknown ids, and
                for bad actions (naming the agent's sub-environment, head and range).
        """
        if not self.agents:
            raise ValueError("no live agents: call reset() before step() (the episode is over)")
        if not isinstance(actions, Mapping):
            raise ValueError(f"actions must be a dict keyed by agent id; got {actions!r}")
        unknown = sorted(str(a) for a in actions if a not in self.action_spaces)
        missing = [a for a in self.agents if a not in actions]
        if unknown or missing:
            raise ValueError(
                f"actions must have one entry per agent {self.possible_agents[0]}.."
                f"{self.possible_agents[-1]}; unknown {unknown}, missing {missing}"
            )
        try:
            rows = np.stack([np.asarray(actions[a]) for a in self.agents])
        except ValueError as err:
            raise ValueError(f"every action must be {self._vec._heads} values: {err}") from None
        obs, rewards, terminated, truncated, _ = self._vec.step(rows)
        agents = self.agents
        if terminated.any():
            self.agents = []
        return (
            dict(zip(agents, obs, strict=True)),
            {a: float(r) for a, r in zip(agents, rewards, strict=True)},
            {a: bool(x) for a, x in zip(agents, terminated, strict=True)},
            {a: bool(x) for a, x in zip(agents, truncated, strict=True)},
            {a: {} for a in agents},
        )

    def _known(self, agent: str) -> str:
        if agent not in self.action_spaces:
            raise ValueError(
                f"unknown agent id {agent!r}; this env holds {self.possible_agents[0]}.."
                f"{self.possible_agents[-1]}"
            )
        return agent

    def close(self) -> None:
        """Nothing to release."""


# ---- factories -------------------------------------------------------------------------------
def _as_seed(seed: Any) -> Any:
    """Accept numpy integers as seeds; the core checks the range."""
    return int(seed) if isinstance(seed, np.integer) else seed


def _split(overrides: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: overrides.pop(k) for k in names if k in overrides}


def single_type_env(
    config: RBCConfig | Mapping[str, Any] | None = None,
    agent_type: AgentType = "consumer",
    others: Others = "random",
    batch_size: int = 1,
    device: torch.device | str = "cpu",
    seed: int | None = None,
    **overrides: Any,
) -> SingleTypeVectorEnv:
    """Build the per-type Gymnasium ``VectorEnv`` of B economies (``SingleTypeVectorEnv``).

    Example: ``single_type_env(agent_type="firm", others="heuristic", batch_size=64,
    n_consumers=100, n_firms=10)`` has ``num_envs`` = 640.

    Args:
        config: an ``rbc_env.RBCConfig``, a dict for ``RBCConfig.from_dict``, or ``None`` for
            the paper's open economy.
        agent_type: the type the learner plays.
        others: ``"random"``, ``"heuristic"``, a ``HeuristicPolicy`` or a callable (module
            docstring).
        batch_size: economies B; ``num_envs`` is B times the type's agent count.
        device: torch device of the economy.
        seed: initial seed of the economy's generator.
        **overrides: ``validate``, ``autoreset_mode`` and config fields: top-level names
            (``n_consumers``, ``variant``, ``horizon``), dotted paths (``"firm.tfp"``) or nested
            dicts.

    Returns:
        A new ``SingleTypeVectorEnv``.

    Raises:
        ValueError: naming the key for an unknown argument, the field and range for an
            invalid config value, and for a bad agent type, ``others`` or autoreset mode.
    """
    env_kwargs = _split(overrides, ("validate", "autoreset_mode"))
    resolved = resolve_config(
        config, overrides, caller="single_type_env", env_arguments=ENV_ARGUMENTS
    )
    return SingleTypeVectorEnv(
        resolved,
        agent_type=agent_type,
        others=others,
        batch_size=batch_size,
        device=device,
        seed=seed,
        **env_kwargs,
    )


def single_agent_env(
    config: RBCConfig | Mapping[str, Any] | None = None,
    agent_type: AgentType = "consumer",
    index: int = 0,
    others: Others = "random",
    device: torch.device | str = "cpu",
    seed: int | None = None,
    **overrides: Any,
) -> SingleAgentEnv:
    """Build the Gymnasium ``Env`` of agent ``index`` of ``agent_type`` (``SingleAgentEnv``).

    Args:
        config: as for ``single_type_env``.
        agent_type: the learner's type.
        index: the learner's position among its type's agents.
        others: as for ``single_type_env``; here it also plays the learner's peers.
        device: torch device of the economy.
        seed: initial seed of the economy's generator.
        **overrides: ``validate`` and config fields.

    Returns:
        A new ``SingleAgentEnv``.

    Raises:
        ValueError: as ``single_type_env``, and for an index out of range.
    """
    env_kwargs = _split(overrides, ("validate",))
    resolved = resolve_config(
        config,
        overrides,
        caller="single_agent_env",
        env_arguments=("agent_type", "index", "others", "device", "seed", "validate"),
    )
    return SingleAgentEnv(
        resolved,
        agent_type=agent_type,
        index=index,
        others=others,
        device=device,
        seed=seed,
        **env_kwargs,
    )


def single_type_parallel_env(
    config: RBCConfig | Mapping[str, Any] | None = None,
    agent_type: AgentType = "consumer",
    others: Others = "random",
    device: torch.device | str = "cpu",
    seed: int | None = None,
    **overrides: Any,
) -> SingleTypeParallelEnv:
    """Build the PettingZoo ``ParallelEnv`` of one type's agents (``SingleTypeParallelEnv``).

    Args:
        config: as for ``single_type_env``.
        agent_type: the type whose agents the env holds.
        others: as for ``single_type_env``.
        device: torch device of the economy.
        seed: initial seed of the economy's generator.
        **overrides: ``validate`` and config fields.

    Returns:
        A new ``SingleTypeParallelEnv``.

    Raises:
        ValueError: as ``single_type_env``.
    """
    env_kwargs = _split(overrides, ("validate",))
    resolved = resolve_config(
        config,
        overrides,
        caller="single_type_parallel_env",
        env_arguments=("agent_type", "others", "device", "seed", "validate"),
    )
    return SingleTypeParallelEnv(
        resolved, agent_type=agent_type, others=others, device=device, seed=seed, **env_kwargs
    )


# ---- Stable-Baselines3 -----------------------------------------------------------------------
@functools.cache
def _sb3_class() -> type:
    from stable_baselines3.common.vec_env import VecEnv

    class SB3SingleTypeVecEnv(VecEnv):
        """A ``SingleTypeVectorEnv`` behind Stable-Baselines3's ``VecEnv`` API.

        SB3 restarts a finished sub-environment within the step: the observation returned
        with ``done`` is the next episode's first, the last one is in
        ``infos[k]["terminal_observation"]``, and ``infos[k]["TimeLimit.truncated"]`` is False
        (the horizon ends the game). ``seed(s)`` seeds the economy with s at the next
        ``reset``. Attributes and methods reach the one underlying env (``get_attr`` repeats
        its value per sub-environment).
        """

        def __init__(self, venv: SingleTypeVectorEnv) -> None:
            self.venv = venv
            self._actions: np.ndarray | None = None
            super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)

        def reset(self) -> np.ndarray:
            options = self._options[0] or None
            obs, _ = self.venv.reset(seed=self._seeds[0], options=options)
            self.reset_infos = [{} for _ in range(self.num_envs)]
            self._reset_seeds()
            self._reset_options()
            return obs

        def step_async(self, actions: np.ndarray) -> None:
            self._actions = actions

        def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
            if self._actions is None:
                raise ValueError("step_async must be called before step_wait")
            actions, self._actions = self._actions, None
            obs, rewards, terminated, truncated, _ = self.venv.step(actions)
            dones = terminated | truncated
            infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
            if dones.any():
                for k in range(self.num_envs):
                    infos[k]["terminal_observation"] = obs[k]
                    infos[k]["TimeLimit.truncated"] = bool(truncated[k] and not terminated[k])
                obs, _ = self.venv.reset()
            return obs, rewards.astype(np.float32), dones, infos

        def close(self) -> None:
            self.venv.close()

        def _count(self, indices: Any) -> int:
            return len(list(self._get_indices(indices)))

        def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
            return [getattr(self.venv, attr_name)] * self._count(indices)

        def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
            setattr(self.venv, attr_name, value)

        def env_method(
            self, method_name: str, *method_args: Any, indices: Any = None, **method_kwargs: Any
        ) -> list[Any]:
            result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
            return [result] * self._count(indices)

        def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
            return [False] * self._count(indices)

    return SB3SingleTypeVecEnv


def sb3_vec_env(env: SingleTypeVectorEnv) -> Any:
    """``env`` as a Stable-Baselines3 ``VecEnv`` (needs ``stable-baselines3``).

    Example: ``PPO("MlpPolicy", VecMonitor(sb3_vec_env(single_type_env(batch_size=8))))``.

    Args:
        env: the per-type vector env (any autoreset mode; the adapter resets it itself).

    Returns:
        A ``stable_baselines3.common.vec_env.VecEnv`` with ``env.num_envs`` sub-environments.

    Raises:
        ValueError: if ``env`` is not a ``SingleTypeVectorEnv``.
    """
    if not isinstance(env, SingleTypeVectorEnv):
        raise ValueError(f"sb3_vec_env takes a SingleTypeVectorEnv; got {type(env).__name__}")
    return _sb3_class()(env)


# ---- Tianshou --------------------------------------------------------------------------------
@functools.cache
def _tianshou_class() -> type:
    from tianshou.env import BaseVectorEnv

    class TianshouSingleTypeVectorEnv(BaseVectorEnv):
        """A ``SingleTypeVectorEnv`` behind Tianshou's ``BaseVectorEnv`` API (no workers).

        Every sub-environment steps together, so ``step`` and ``reset`` take all of them
        (``id=None`` or every id): collect with ``Collector.collect(n_step=k)`` or
        ``n_episode=k``, k a multiple of ``num_envs``; other counts make the collector step a
        subset, which raises ``ValueError``. ``seed(s)`` seeds the economy at the next reset.
        Spaces are per sub-environment, as Tianshou reads them.
        """

        def __init__(self, venv: SingleTypeVectorEnv) -> None:
            # BaseVectorEnv.__init__ builds one worker per env; the economy is one object.
            self.venv = venv
            self.env_num = venv.num_envs
            self.wait_num = venv.num_envs
            self.timeout = None
            self.is_async = False
            self.waiting_conn: list[Any] = []
            self.waiting_id: list[int] = []
            self.ready_id = list(range(venv.num_envs))
            self.is_closed = False
            self.workers: list[Any] = []
            self._seed: int | None = None  # applied at the next reset, as SB3 does

        def get_env_attr(self, key: str, id: Any = None) -> list[Any]:
            if key in ("observation_space", "action_space"):
                value = getattr(self.venv, f"single_{key}")
            else:
                value = getattr(self.venv, key)
            return [value] * len(self._wrap_id(id))

        def set_env_attr(self, key: str, value: Any, id: Any = None) -> None:
            setattr(self.venv, key, value)

        def _all(self, id: Any, what: str) -> None:
            ids = np.sort(np.asarray(self._wrap_id(id)).reshape(-1))
            if not np.array_equal(ids, np.arange(self.env_num)):
                raise ValueError(
                    f"{what} takes every sub-environment at once (the economy steps all its "
                    f"agents together); got ids {ids.tolist()[:8]} of {self.env_num}: collect "
                    "with n_step, not n_episode"
                )

        def reset(self, env_id: Any = None, **kwargs: Any) -> tuple[np.ndarray, np.ndarray]:
            self._assert_is_not_closed()
            self._all(env_id, "reset")
            seed = kwargs.get("seed", self._seed)
            self._seed = None
            obs, _ = self.venv.reset(seed=seed, options=kwargs.get("options"))
            infos = np.array([{"env_id": k} for k in range(self.env_num)])
            return obs, infos

        def step(self, action: Any, id: Any = None) -> tuple[np.ndarray, ...]:
            self._assert_is_not_closed()
            self._all(id, "step")
            order = np.asarray(self._wrap_id(id)).reshape(-1)
            rows = np.empty_like(np.asarray(action))
            rows[order] = np.asarray(action)
            obs, rew, term, trunc, _ = self.venv.step(rows)
            infos = np.array([{"env_id": int(k)} for k in order])
            return obs[order], rew[order], term[order], trunc[order], infos

        def seed(self, seed: Any = None) -> list[Any]:
            first = seed[0] if isinstance(seed, list | tuple) else seed
            self._seed = _as_seed(first)
            return [first] * self.env_num

        def render(self, **kwargs: Any) -> list[Any]:
            return []

        def close(self) -> None:
            self.venv.close()
            self.is_closed = True

    return TianshouSingleTypeVectorEnv


def tianshou_vector_env(env: SingleTypeVectorEnv) -> Any:
    """``env`` as a Tianshou ``BaseVectorEnv`` (needs ``tianshou``), for ``Collector``.

    Args:
        env: the per-type vector env; its autoreset mode is set to ``DISABLED`` (Tianshou
            resets finished sub-environments itself).

    Returns:
        A ``tianshou.env.BaseVectorEnv`` with ``env.num_envs`` sub-environments.

    Raises:
        ValueError: if ``env`` is not a ``SingleTypeVectorEnv``.
    """
    if not isinstance(env, SingleTypeVectorEnv):
        raise ValueError(
            f"tianshou_vector_env takes a SingleTypeVectorEnv; got {type(env).__name__}"
        )
    env.metadata["autoreset_mode"] = AutoresetMode.DISABLED
    return _tianshou_class()(env)
