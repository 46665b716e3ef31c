"""The PettingZoo faces of the package's economies: the batched core with B = 1.

``EconomyParallelEnv`` serves every economy that implements the batched protocol
(``rbc_env.core.protocol.Economy``): agent ids, spaces, action checks and the per-agent
conversions are read from the economy's agent table, so the growth family (G1-G7,
``growth_parallel_env``) uses it as it is. ``RBCParallelEnv`` is the same class with what only the
RBC economy has: the curriculum's action masks and iteration, the flat raw state with its layout,
and a text rendering. Neither implements the economy a second time: they convert per-agent numpy
dicts to the core's per-type torch tensors and back (a test steps the env and the core with the
same actions and compares every observation and reward).

Use ``parallel_env`` (also exported as ``rbc_env.parallel_env``) or ``growth_parallel_env`` to
build one, or ``env`` / ``growth_aec_env`` for the same economy as an AEC env, PettingZoo's
``parallel_to_aec`` of it. They take ``max_cycles``, PettingZoo's name for the episode length,
which here is ``config.horizon``; so this module, like ``rbc_env`` itself, has PettingZoo's ``env``
/ ``parallel_env`` pair and passes ``pettingzoo.test.max_cycles_test``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium import spaces
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.conversions import parallel_to_aec

from rbc_env.adapters.agents import (
    CurriculumIteration,
    actions_from_agent_dict,
    resolve_config,
)
from rbc_env.adapters.gymnasium import ENV_ARGUMENTS as GROWTH_ENV_ARGUMENTS
from rbc_env.adapters.gymnasium import action_array, growth_config
from rbc_env.adapters.spaces import (
    MASK_LAYOUTS,
    TypeSpaces,
    build_spaces,
    mask_shape,
    numpy_dtype,
    observation_space,
    protocol_action_space,
)
from rbc_env.config import GrowthConfig, RBCConfig
from rbc_env.core import (
    AGENT_TYPES,
    BatchedEconomy,
    EconomyState,
    action_masks,
    action_nvec,
    agent_counts,
)
from rbc_env.core.protocol import (
    AgentSpec,
    BoxActions,
    Economy,
    with_agent_axis,
    without_agent_axis,
)
from rbc_env.growth import GrowthEconomy

__all__ = [
    "EconomyParallelEnv",
    "HorizonMaxCycles",
    "RBCParallelEnv",
    "env",
    "growth_aec_env",
    "growth_parallel_env",
    "max_cycles_as_horizon",
    "parallel_env",
    "state_layout",
]

logger = logging.getLogger(__name__)

RENDER_MODES = ("human", "ansi")
ENV_ARGUMENTS = ("render_mode", "device", "action_masks", "mask_layout", "seed")
# At most this many ids are listed in an error message (100 missing consumers read badly).
_MAX_LISTED = 8


def state_layout(state: EconomyState) -> dict[str, slice]:
    """Where each ``rbc_env.EconomyState`` field lies in the flat state vector.

    The vector is the concatenation, in field order, of each field of economy 0 flattened:
    ``price [F]``, ``wage [F]``, ``inventory [F]``, ``overdemanded [F]`` (0/1), ``income_tax [1]``,
    ``corporate_tax [1]``, ``t [1]``, ``consumer_budget [C]``, ``theta [C]``, ``firm_budget [F]``,
    ``capital [F]``, ``alpha [F]``: 7F + 2C + 3 values in raw model units (money, goods,
    fractions, periods), unscaled.

    Args:
        state: any state of the economy (only its shapes are read).

    Returns:
        ``{field name: slice into the vector}``.
    """
    layout: dict[str, slice] = {}
    start = 0
    for name, tensor in state.tensors().items():
        size = int(np.prod(tensor.shape[1:], dtype=np.int64))
        layout[name] = slice(start, start + size)
        start += size
    return layout


def max_cycles_as_horizon(overrides: dict[str, Any], *, caller: str) -> None:
    """Replace a ``max_cycles`` keyword of a factory by the ``horizon`` override it means.

    PettingZoo's factories take ``max_cycles``, the number of steps before every agent is
    truncated. Here that length is the economy's own ``config.horizon`` (T, periods), which
    the observations also see (time t / T), so ``max_cycles=k`` builds an economy of horizon
    k: it is ``horizon=k`` under PettingZoo's name. Giving both with different values is an
    error rather than a silent choice. Works in place on ``overrides``.

    Args:
        overrides: a factory's keyword arguments; ``max_cycles`` is popped from it and
            ``horizon`` set.
        caller: the factory named in error messages.

    Raises:
        ValueError: for a ``max_cycles`` that is not an integer in [1, inf), and for a
            ``horizon`` given alongside it with another value.
    """
    if "max_cycles" not in overrides:
        return
    value = overrides.pop("max_cycles")
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{caller}: max_cycles must be an integer in [1, inf) (it sets config.horizon, the "
            f"episode length in periods); got {value!r}"
        )
    if "horizon" in overrides and overrides["horizon"] != value:
        raise ValueError(
            f"{caller} got max_cycles={value} and horizon={overrides['horizon']!r}, which "
            "disagree: both name the episode length (config.horizon); pass one of them, or "
            "equal values"
        )
    overrides["horizon"] = value


class HorizonMaxCycles:
    """``max_cycles`` of a PettingZoo env whose episode length is ``config.horizon``.

    Reading it gives the horizon. Assigning it (``parallel_api_test`` sets
    ``max_cycles = num_cycles``) treats the value as a cap on an env already built: a cap at
    or above the horizon holds already and changes nothing, a lower one raises. To build an
    economy with another episode length, pass ``max_cycles=k`` (or ``horizon=k``) to the
    factory, which sets ``config.horizon`` (``max_cycles_as_horizon``).
    """

    config: Any

    @property
    def max_cycles(self) -> int:
        """Steps per episode: ``config.horizon``."""
        return self.config.horizon

    @max_cycles.setter
    def max_cycles(self, value: int) -> None:
        # pettingzoo.test.parallel_api_test sets max_cycles = num_cycles; the horizon is
        # part of the economy, so a cap at or above it changes nothing and a lower one is refused.
        if isinstance(value, bool) or not isinstance(value, int) or value < self.config.horizon:
            raise ValueError(
                f"max_cycles must be an integer in [{self.config.horizon}, inf) (the episode "
                f"length is config.horizon = {self.config.horizon}; change the horizon instead); "
                f"got {value!r}"
            )


class EconomyParallelEnv(HorizonMaxCycles, ParallelEnv[str, Any, np.ndarray]):
    """Any economy of the batched protocol (B = 1) as a PettingZoo ``ParallelEnv``.

    Everything is read from the economy's agent table (``economy.agent_specs``,
    ``rbc_env.core.protocol``): agent ids ``<type>_<i>`` in table order, one cached observation
    ``Box(-inf, inf, (D,))`` and one action space per type (``MultiDiscrete`` for discrete heads,
    ``Box(low, high)`` for box actions, in the config's dtype), the checks of every action
    (naming the agent, the allowed shape and range) and the split of the core's per-type tensors
    into per-agent arrays. All agents act every step and leave ``agents`` together at the
    horizon, truncated (``terminations`` are always False). ``state()`` is the economy's
    ``global_state()`` (``state_space``); ``last_flows`` the core's flows of the last step.

    The growth family's env is this class (``growth_parallel_env``); the RBC economy's adds its
    curriculum, masks and rendering (``RBCParallelEnv``).

    Args:
        economy: an economy with ``batch_size == 1`` (``rbc_env.growth.GrowthEconomy``,
            ``rbc_env.BatchedEconomy``); the env checks actions itself, so build it with
            ``validate=False``.
        render_mode: only ``None`` (subclasses add modes).
        name: the env's ``metadata["name"]``.

    Raises:
        ValueError: for an economy of another batch size or an unknown render mode.

    Example:
        >>> import rbc_env
        >>> env = rbc_env.growth_parallel_env("g6_n2", n_households=3, horizon=4)
        >>> obs, infos = env.reset(seed=0)
        >>> env.possible_agents
        ['household_0', 'household_1', 'household_2', 'producer_0', 'producer_1']
        >>> env.observation_space("household_0").shape, env.action_space("producer_1")
        ((7,), Box(-10.0, 10.0, (1,), float32))
        >>> while env.agents:
        ...     obs, rewards, terminations, truncations, infos = env.step(env.sample_actions())
        >>> all(truncations.values()), any(terminations.values()), env.agents
        (True, False, [])
        >>> type(rewards["producer_0"]), env.state().shape
        (<class 'float'>, (4,))
    """

    metadata: dict[str, Any] = {
        "name": "rbc_economy_v0",
        "render_modes": [],
        "is_parallelizable": True,
    }

    def __init__(
        self, economy: Economy, *, render_mode: str | None = None, name: str | None = None
    ) -> None:
        modes = self.metadata["render_modes"]
        if render_mode is not None and render_mode not in modes:
            allowed = f"None or one of {list(modes)}" if modes else "None"
            raise ValueError(
                f"render_mode must be {allowed} ({type(self).__name__}); got {render_mode!r}"
            )
        if economy.batch_size != 1:
            raise ValueError(
                f"{type(self).__name__} steps one economy: batch_size must be 1; got "
                f"{economy.batch_size}"
            )
        if name is not None:
            self.metadata = {**self.metadata, "name": name}
        self.render_mode = render_mode
        self.economy = economy
        self.config: Any = economy.config
        self._dtype = numpy_dtype(self.config)
        self._specs: dict[str, AgentSpec] = {s.agent_type: s for s in economy.agent_specs}
        self._ids: dict[str, tuple[str, ...]] = {
            t: tuple(f"{t}_{i}" for i in range(s.count)) for t, s in self._specs.items()
        }
        self._type_of = {a: t for t, ids in self._ids.items() for a in ids}
        self.possible_agents: list[str] = list(self._type_of)
        self.agents: list[str] = []
        obs = {t: observation_space(s.observation, self._dtype) for t, s in self._specs.items()}
        act = {t: protocol_action_space(s, self._dtype) for t, s in self._specs.items()}
        self._set_spaces(obs, act)
        self.state_space: spaces.Box = spaces.Box(
            low=-np.inf, high=np.inf, shape=(self._state_dim(),), dtype=self._dtype
        )
        self._last_rewards: dict[str, np.ndarray] | None = None
        self._last_flows: dict[str, np.ndarray] | None = None

    def _set_spaces(
        self, obs: dict[str, spaces.Space[Any]], act: dict[str, spaces.Space[Any]]
    ) -> None:
        """Per-agent views of one observation and one action space per type."""
        self.observation_spaces = {a: obs[t] for a, t in self._type_of.items()}
        self.action_spaces = {a: act[t] for a, t in self._type_of.items()}

    def _state_dim(self) -> int:
        """Width of ``state()``."""
        return int(self.economy.global_state().shape[-1])

    # ---- spaces ---------------------------------------------------------------------------
    def observation_space(self, agent: str) -> spaces.Space[Any]:
        """The observation space of ``agent`` (one object per agent type).

        Raises:
            ValueError: for an unknown agent id.
        """
        return self.observation_spaces[self._check_id(agent)]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        """The action space of ``agent`` (one object per agent type).

        Raises:
            ValueError: for an unknown agent id.
        """
        return self.action_spaces[self._check_id(agent)]

    def _check_id(self, agent: str) -> str:
        if agent not in self._type_of:
            raise ValueError(f"unknown agent id {agent!r}; ids are {self._id_ranges()}")
        return agent

    def _id_ranges(self) -> str:
        return ", ".join(
            ids[0] if len(ids) == 1 else f"{ids[0]}..{ids[-1]}" for ids in self._ids.values()
        )

    # ---- episode --------------------------------------------------------------------------
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """Start a new episode.

        Args:
            seed: reseed the economy's generator (``None`` continues its stream).
            options: a dict or ``None``; keys this env does not use are ignored.

        Returns:
            Observations and (empty) infos of every agent.

        Raises:
            ValueError: on a negative or non-integer seed, or options that are not a dict.
        """
        if options is not None and not isinstance(options, Mapping):
            raise ValueError(f"options must be a dict or None; got {options!r}")
        used = self._use_options(options or {})
        ignored = sorted(str(k) for k in (options or {}) if k not in used)
        if ignored:
            logger.debug("reset ignores option(s) %s", ignored)
        obs = self._reset_economy(_as_seed(seed))
        self.agents = list(self.possible_agents)
        self._last_rewards = None
        self._last_flows = None
        return self._agent_obs(obs), {a: {} for a in self.agents}

    def _use_options(self, options: Mapping[str, Any]) -> tuple[str, ...]:
        """Apply the reset options this env knows; return their keys (none here)."""
        return ()

    def _reset_economy(self, seed: int | None) -> dict[str, torch.Tensor]:
        return self.economy.reset(seed=seed)

    def step(
        self, actions: Mapping[str, Any]
    ) -> tuple[
        dict[str, Any],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Advance the economy by one period.

        Args:
            actions: one action per live agent, in its ``action_space`` (numpy arrays or
                sequences of numbers).

        Returns:
            ``(observations, rewards, terminations, truncations, infos)``, each keyed by agent
            (infos are empty dicts; the step's flows are in :attr:`last_flows`).

        Raises:
            ValueError: before ``reset`` or after the horizon, on missing or unknown agent ids,
                and naming the agent, allowed shape and range for a wrongly shaped, non-finite
                or out-of-range action; the state is then unchanged.
        """
        if not self.agents:
            raise ValueError("no live agents: call reset() before step() (the episode is over)")
        out = self.economy.step(self._action_tensors(actions))
        obs = self._agent_obs(out.obs)
        rewards: dict[str, float] = {}
        for t, ids in self._ids.items():
            row = with_agent_axis(self._specs[t], out.rewards[t])[0]
            rewards.update(zip(ids, row.tolist(), strict=True))
        self._last_rewards = {t: r[0].cpu().numpy() for t, r in out.rewards.items()}
        self._last_flows = {k: v[0].cpu().numpy() for k, v in out.flows.items()}
        done = bool(out.done[0])
        agents = self.agents
        terminations = dict.fromkeys(agents, False)
        truncations = dict.fromkeys(agents, done)
        infos: dict[str, dict[str, Any]] = {a: {} for a in agents}
        if done:
            self.agents = []
        self._after_step()
        return obs, rewards, terminations, truncations, infos

    def _after_step(self) -> None:
        """Hook after every step (``RBCParallelEnv`` renders in human mode)."""

    def _action_tensors(self, actions: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Check the per-agent dict and stack it into the core's per-type tensors."""
        if not isinstance(actions, Mapping):
            raise ValueError(
                f"actions must be a dict keyed by agent id; got {type(actions).__name__}"
            )
        unknown = [a for a in actions if a not in self._type_of]
        if unknown:
            raise ValueError(
                f"actions has unknown agent id(s) {_listed(unknown)}; ids are {self._id_ranges()}"
            )
        missing = [a for a in self.possible_agents if a not in actions]
        if missing:
            raise ValueError(f"actions is missing agent id(s) {_listed(missing)}")
        out: dict[str, torch.Tensor] = {}
        for t, ids in self._ids.items():
            spec = self._specs[t]
            rows = [_one_action(actions[a], spec, self._dtype, f"action of {a!r}") for a in ids]
            tensor = torch.from_numpy(np.stack(rows)[None]).to(self.economy.device)
            out[t] = without_agent_axis(spec, tensor)
        return out

    def _agent_obs(self, obs: dict[str, torch.Tensor]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for t, ids in self._ids.items():
            # one array per type; agents get views of its rows
            rows = with_agent_axis(self._specs[t], obs[t])[0].cpu().numpy()
            out.update(zip(ids, rows, strict=True))
        return out

    def sample_actions(self) -> dict[str, np.ndarray]:
        """Uniform valid actions of the live agents, from the economy's seeded generator.

        Reproducible after ``reset(seed=s)``; one draw per type, much faster than one
        ``space.sample()`` per agent.
        """
        if not self.agents:
            return {}
        return self._split_actions(self.economy.sample_actions())

    def _split_actions(self, tensors: Mapping[str, torch.Tensor]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for t, tensor in tensors.items():
            rows = with_agent_axis(self._specs[t], tensor)[0].cpu().numpy()
            out.update(zip(self._ids[t], rows, strict=True))
        return out

    # ---- global state and diagnostics -----------------------------------------------------
    def state(self) -> np.ndarray:
        """The economy's aggregate state ``[G]`` (``economy.global_state()``), config dtype."""
        return self.economy.global_state()[0].cpu().numpy()

    @property
    def last_flows(self) -> dict[str, np.ndarray] | None:
        """The core's flows of the last step (batch axis dropped), or ``None`` before one."""
        return self._last_flows

    def render(self) -> str | None:
        """Nothing to draw: warns (Gymnasium's convention without a render mode), returns None."""
        gymnasium.logger.warn(
            "You are calling render method without specifying any render mode; "
            f"{type(self).__name__} has no render modes."
        )
        return None

    def close(self) -> None:
        """Nothing to release (no windows, processes or files)."""


def _listed(ids: list[str]) -> str:
    shown = ids[:_MAX_LISTED]
    more = f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else ""
    return f"{shown}{more}"


def _one_action(value: Any, spec: AgentSpec, dtype: Any, name: str) -> np.ndarray:
    """One agent's action, checked against its spec, as a new array of the core's dtype.

    Box actions: real numbers of shape (A,) in [low, high] (``action_array``); discrete heads:
    integers of shape (H,), head h in [0, nvec[h]).
    """
    action = spec.action
    if isinstance(action, BoxActions):
        lows, highs = set(action.low), set(action.high)
        if len(lows) == 1 and len(highs) == 1 and -min(lows) == max(highs):
            return action_array(
                value, shape=(action.dim,), bound=max(highs), dtype=dtype, name=name
            )
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (ValueError, TypeError):
            raise ValueError(f"{name} must be {action.dim} real numbers; got {value!r}") from None
        low, high = np.asarray(action.low), np.asarray(action.high)
        if arr.shape != low.shape:
            raise ValueError(f"{name} must have shape {low.shape}; got shape {arr.shape}")
        bad = ~((arr >= low) & (arr <= high))  # NaN fails too
        if bad.any():
            c = int(np.argmax(bad))
            raise ValueError(
                f"{name}: column {c} must be in [{low[c]:g}, {high[c]:g}]; got {arr[c]}"
            )
        return arr.astype(dtype)
    arr = np.asarray(value)
    nvec = np.asarray(action.nvec)
    if arr.shape != nvec.shape or arr.dtype.kind not in "iu":
        raise ValueError(
            f"{name} must be {len(nvec)} integer indices; got {value!r} (dtype {arr.dtype})"
        )
    bad = (arr < 0) | (arr >= nvec)
    if bad.any():
        h = int(np.argmax(bad))
        raise ValueError(f"{name}: head {h} must be in [0, {nvec[h] - 1}]; got {int(arr[h])}")
    return arr.astype(np.int64)


class RBCParallelEnv(CurriculumIteration, EconomyParallelEnv):
    """The many-agent real-business-cycle economy as a PettingZoo ``ParallelEnv``.

    ## Description

    The economy of Curry et al. (2022), arXiv 2201.01163: consumer-workers buy goods and sell
    labour, firms set prices and wages, produce with capital and labour and invest, and a
    government sets an income tax and a corporate tax whose revenue it returns to consumers as
    equal transfers. In the ``"open"`` variant an export market buys goods priced at or above
    ``market.export_min_price``. All agents act at once each period. The dynamics are those of
    ``rbc_env.BatchedEconomy`` with one economy (B = 1); this class only converts between
    per-agent numpy dicts and the core's per-type tensors. Equations: ``docs/model.md``.

    ## Agents

    ``possible_agents`` lists ``consumer_0 .. consumer_{C-1}``, ``firm_0 .. firm_{F-1}`` and
    ``government_0``, in that order (C = ``config.n_consumers``, F = ``config.n_firms``; the paper
    has 100 consumers and 10 firms). Every agent acts every step and all leave ``agents`` together
    at the horizon. ``observation_space(agent)`` and ``action_space(agent)`` return one cached
    object per agent type.

    ## Action Space

    ``MultiDiscrete`` index vectors; index k means k times the grid step from the config:

    | type | heads (``nvec``, paper values) | meaning |
    |---|---|---|
    | consumer | F heads of ``consumer.n_units`` (11), then ``consumer.n_hours`` (5), then F | attempted purchase of each good (k Δc goods), hours offered (k Δn = 260 k hours), employer (firm index) |
    | firm | ``firm.n_prices`` (6), ``firm.n_wages`` (5) | next period's price (k Δp = 500 k money/good) and wage (k Δw = 11 k money/hour) |
    | government | ``government.n_tax_levels`` (6) twice | next period's income tax and corporate tax (k Δτ = 0.2 k) |

    With ``action_masks=True`` the action space is a
    ``rbc_env.adapters.spaces.FlatMaskMultiDiscrete`` (equal to the plain space; its
    ``sample`` also takes the flat mask).

    ## Observation Space

    A ``Box(-inf, inf, (D,))`` in the config's float dtype. With the default ``"scaled"`` encoding
    every agent sees the global part (5F + 3 values) followed by its private part:

    | part | values | encoding |
    |---|---|---|
    | prices | F | p_j / max price |
    | wages | F | w_j / max wage |
    | stocks | 2F | s_j / (C × max units), then sign(x) log(1 + abs(x)) of it |
    | rationed last period | F | 0/1 |
    | income tax, corporate tax | 2 | fractions |
    | time | 1 | t / T |
    | consumer private (D_c = 5F + 6) | 3 | cash / m_0, its signed log, θ_i / θ̄ |
    | firm private (D_f = 6F + 7) | F + 4 | cash / M_0, its signed log, capital / K_high, α_j, one-hot id |
    | government private (D_g = 5F + 3) | 0 | |

    ``parity.obs_encoding = "digits"`` gives the reference's sawtooth encoding instead (spec 3.3).
    With ``action_masks=True`` the observation is ``Dict(observation=Box, action_mask=Box(0, 1,
    (Σ nvec,), int8))``: the heads' masks concatenated, 1 = allowed, from
    ``rbc_env.action_masks`` at the curriculum iteration (all ones outside training). Masks
    are advisory, as in the core: a masked but in-range action is still executed. With
    ``mask_layout="one_hot"`` the government's mask (two heads of equal size) is ``[2, n]``
    instead, the shape TorchRL's ``PettingZooWrapper`` expects (``spaces.mask_shape``).

    ## Rewards

    Per step and per agent, as Python floats: a consumer's utility of consumption minus its labour
    disutility, a firm's after-tax profit (money), the government's social welfare (the sum of
    consumer rewards plus ``government.firm_welfare_weight`` × the sum of firm rewards; (M11) in
    docs/model.md). The adapter computes none of them; they come from the core's
    ``StepOutput.rewards``.

    ## Starting State

    Deterministic (spec 3.1-3.2): prices ``firm.initial_price``, wages ``firm.initial_wage``, empty
    stocks, zero taxes, consumer cash ``consumer.initial_budget``, firm cash and capital from the
    config. ``reset(options={"iteration": e})`` sets the curriculum's θ factor and the action
    masks from training iteration e (it persists over later resets; ``{"iteration": None}``
    returns to no curriculum). Other option keys are ignored. The only randomness is the agents':
    ``reset(seed=s)`` seeds the economy's generator, which ``sample_actions`` uses.

    ## Episode End

    Truncation after ``config.horizon`` steps (T = 10 in the paper): ``truncations`` are all True
    on the last step, ``terminations`` are always False (the economy never ends by itself), and
    ``agents`` becomes ``[]``. ``max_cycles`` reads the horizon; the factories'
    ``max_cycles=k`` keyword builds an economy of horizon k (see ``HorizonMaxCycles``).

    ## Arguments

    ``RBCParallelEnv(config=None, *, render_mode=None, device="cpu", action_masks=False,
    mask_layout="flat", seed=None)``, or ``rbc_env.parallel_env(config=None, **overrides)`` whose overrides are these
    arguments, ``max_cycles`` (the horizon) or config fields (``n_consumers=3``,
    ``variant="closed"``, ``**{"firm.tfp": 0.02}``). ``rbc_env.env`` takes the same and returns
    the AEC form.

    - ``config``: an ``rbc_env.RBCConfig``; ``None`` is the paper's open economy.
    - ``render_mode``: ``None``, ``"ansi"`` (``render()`` returns a text summary) or ``"human"``
      (prints it, also after each step).
    - ``device``: torch device of the core (observations come back as numpy either way).
    - ``action_masks``: add the PettingZoo ``action_mask`` to observations.
    - ``mask_layout``: ``"flat"`` (heads concatenated; RLlib's masked modules read this) or
      ``"one_hot"`` (TorchRL's layout: ``[H, n]`` for H equal heads); needs ``action_masks``.
    - ``seed``: initial seed of the economy's generator (``reset(seed=...)`` reseeds).

    ## Version History

    - v0 (rbc-marl 0.1.0): initial version.

    Example:
        >>> import rbc_env
        >>> env = rbc_env.parallel_env(n_consumers=3, n_firms=2, variant="closed")
        >>> obs, infos = env.reset(seed=0)
        >>> env.possible_agents
        ['consumer_0', 'consumer_1', 'consumer_2', 'firm_0', 'firm_1', 'government_0']
        >>> env.observation_space("consumer_0").shape, env.action_space("firm_1")
        ((16,), MultiDiscrete([6 5]))
        >>> while env.agents:
        ...     obs, rewards, terminations, truncations, infos = env.step(env.sample_actions())
        >>> all(truncations.values()), any(terminations.values()), env.agents
        (True, False, [])
        >>> type(rewards["government_0"]), env.state().shape
        (<class 'float'>, (23,))
    """  # noqa: E501

    metadata = {"name": "rbc_v0", "render_modes": list(RENDER_MODES), "is_parallelizable": True}

    def __init__(
        self,
        config: RBCConfig | None = None,
        *,
        render_mode: str | None = None,
        device: torch.device | str = "cpu",
        action_masks: bool = False,
        mask_layout: str = "flat",
        seed: int | None = None,
    ) -> None:
        if not isinstance(action_masks, bool):
            raise ValueError(f"action_masks must be a bool; got {action_masks!r}")
        if mask_layout not in MASK_LAYOUTS:
            raise ValueError(
                f"mask_layout must be one of {list(MASK_LAYOUTS)}; got {mask_layout!r}"
            )
        if mask_layout != "flat" and not action_masks:
            raise ValueError(
                f"mask_layout={mask_layout!r} lays out action masks: pass action_masks=True too"
            )
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(
                f"render_mode must be None or one of {list(RENDER_MODES)}; got {render_mode!r}"
            )
        # Actions are checked here (ids, shapes, dtype, ranges, naming the agent), so the
        # core's own per-step validation would only repeat the work.
        economy = BatchedEconomy(
            config, batch_size=1, device=device, seed=_as_seed(seed), validate=False
        )
        self._state_layout = state_layout(economy.state)
        super().__init__(economy, render_mode=render_mode)
        self.config: RBCConfig = economy.config
        self._spaces: TypeSpaces = build_spaces(
            self.config, self._state_dim(), action_masks=action_masks, mask_layout=mask_layout
        )
        self._set_spaces(self._spaces.observation, dict(self._spaces.action))
        self.state_space = self._spaces.state
        self._iteration: int | None = None
        self._masks: dict[str, np.ndarray] | None = None

    def _state_dim(self) -> int:
        return max((s.stop for s in self._state_layout.values()), default=0)

    @property
    def action_masks(self) -> bool:
        """Whether observations carry an ``action_mask``."""
        return self._spaces.action_masks

    # ---- episode: the curriculum's iteration and masks ------------------------------------
    def _use_options(self, options: Mapping[str, Any]) -> tuple[str, ...]:
        """``{"iteration": e}`` sets :attr:`iteration` (it persists over later resets)."""
        if "iteration" in options:
            self.iteration = options["iteration"]
        return ("iteration",)

    def _reset_economy(self, seed: int | None) -> dict[str, torch.Tensor]:
        obs = self.economy.reset(seed=seed, iteration=self._iteration)
        if self.action_masks:
            masks = action_masks(self.config, self._iteration)
            nvecs = action_nvec(self.config)
            layout = self._spaces.mask_layout
            self._masks = {
                t: m.to(torch.int8).cpu().numpy().reshape(mask_shape(nvecs[t], layout))
                for t, m in masks.items()
            }
        return obs

    def _action_tensors(self, actions: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Integer indices per head, or values on the boxes (naming the agent and head)."""
        return actions_from_agent_dict(self.config, actions, device=self.economy.device)

    def _after_step(self) -> None:
        if self.render_mode == "human":
            self.render()

    def sample_actions(self) -> dict[str, np.ndarray]:
        """Uniform random actions of the live agents, from the economy's seeded generator.

        Draws only allowed actions when an :attr:`iteration` is set (the curriculum's masks, or
        bounds with continuous actions). Reproducible after ``reset(seed=s)``; much faster than
        one ``space.sample()`` per agent.
        """
        if not self.agents:
            return {}
        return self._split_actions(self.economy.sample_actions(iteration=self._iteration))

    def _agent_obs(self, obs: dict[str, torch.Tensor]) -> dict[str, Any]:
        per_agent = super()._agent_obs(obs)
        if self._masks is None or not self.action_masks:
            return per_agent
        out: dict[str, Any] = {}
        counts = agent_counts(self.config)
        for t in AGENT_TYPES:
            # one [N, *mask shape] array per type and step, so agents never share a mask buffer
            mask = self._masks[t]
            rows = np.broadcast_to(mask, (counts[t], *mask.shape)).copy()
            for a, mask in zip(self._ids[t], rows, strict=True):
                out[a] = {"observation": per_agent[a], "action_mask": mask}
        return out

    # ---- global state and diagnostics -----------------------------------------------------
    def state(self) -> np.ndarray:
        """The global state as a flat vector in the config's float dtype (see ``state_layout``).

        Returns:
            ``[7F + 2C + 3]``: prices, wages, stocks, rationing flags, income tax, corporate tax,
            t, consumer cash, consumer θ, firm cash, capital, α, in raw model units.
        """
        dtype = self.economy.state.dtype
        parts = [v[0].reshape(-1).to(dtype) for v in self.economy.state.tensors().values()]
        return torch.cat(parts).cpu().numpy()

    @property
    def state_layout(self) -> dict[str, slice]:
        """``{EconomyState field: slice}`` of the vector returned by ``state``."""
        return dict(self._state_layout)

    # ---- rendering ------------------------------------------------------------------------
    def render(self) -> str | None:
        """A text summary of the economy: ``"ansi"`` returns it, ``"human"`` prints it.

        Returns:
            The summary for ``"ansi"``, else ``None`` (with a warning when no mode was set).
        """
        if self.render_mode is None:
            gymnasium.logger.warn(
                "You are calling render method without specifying any render mode; "
                "construct the env with render_mode='ansi' or 'human'."
            )
            return None
        text = self._summary()
        if self.render_mode == "human":
            print(text)
            return None
        return text

    def _summary(self) -> str:
        s = {k: v[0].cpu().numpy() for k, v in self.economy.state.tensors().items()}
        r = self._last_rewards
        cfg = self.config
        lines = [
            f"{self.metadata['name']} ({cfg.variant} economy): t = {int(s['t'])} / {cfg.horizon}, "
            f"{cfg.n_consumers} consumers, {cfg.n_firms} firms",
            f"{'firm':<10}{'price':>10}{'wage':>9}{'stock':>12}{'capital':>12}{'cash':>14}"
            f"{'last reward':>14}",
        ]
        for j, a in enumerate(self._ids["firm"]):
            reward = "-" if r is None else f"{r['firm'][j]:.4g}"
            lines.append(
                f"{a:<10}{s['price'][j]:>10.2f}{s['wage'][j]:>9.2f}{s['inventory'][j]:>12.6g}"
                f"{s['capital'][j]:>12.6g}{s['firm_budget'][j]:>14.6g}{reward:>14}"
            )
        gov_reward = "-" if r is None else f"{float(r['government']):.4g}"
        lines.append(
            f"government: income tax {float(s['income_tax']):.2f}, corporate tax "
            f"{float(s['corporate_tax']):.2f}, last reward {gov_reward}"
        )
        cash = s["consumer_budget"]
        cons_reward = "-" if r is None else f"{float(r['consumer'].mean()):.4g}"
        lines.append(
            f"consumers: mean cash {cash.mean():.6g} (min {cash.min():.6g}, max "
            f"{cash.max():.6g}), mean last reward {cons_reward}"
        )
        return "\n".join(lines)


def _as_seed(seed: Any) -> int | None:
    """Accept numpy integers as seeds (Ray and NumPy pass them); the core checks the range."""
    return int(seed) if isinstance(seed, np.integer) else seed


def parallel_env(
    config: RBCConfig | Mapping[str, Any] | None = None, **overrides: Any
) -> RBCParallelEnv:
    """Build the PettingZoo ``ParallelEnv`` of one economy.

    Example: ``parallel_env(n_consumers=3, n_firms=2, variant="closed", render_mode="ansi",
    max_cycles=20, **{"firm.tfp": 0.02})``.

    Args:
        config: an ``rbc_env.RBCConfig``, a dict for ``RBCConfig.from_dict``, or
            ``None`` for the paper's open economy.
        **overrides: env arguments (``render_mode``, ``device``, ``action_masks``,
            ``mask_layout``, ``seed``; see ``RBCParallelEnv``), ``max_cycles`` (PettingZoo's
            name for ``horizon``: steps per episode, an integer >= 1) and config fields:
            top-level names (``n_consumers``, ``variant``, ``horizon``, ...), dotted paths
            (``"firm.tfp"``) or a nested dict (``firm={"tfp": 0.02}``, which changes only the
            fields it names).

    Returns:
        A new ``RBCParallelEnv``.

    Raises:
        ValueError: naming the key for an argument that is neither an env argument nor a config
            field, naming the field and range for an invalid config value or ``max_cycles``,
            and for ``max_cycles`` and ``horizon`` given with different values.
    """
    env_kwargs = {k: overrides.pop(k) for k in ENV_ARGUMENTS if k in overrides}
    max_cycles_as_horizon(overrides, caller="parallel_env")
    base = resolve_config(
        config, overrides, caller="parallel_env", env_arguments=[*ENV_ARGUMENTS, "max_cycles"]
    )
    return RBCParallelEnv(base, **env_kwargs)


def env(config: RBCConfig | Mapping[str, Any] | None = None, **overrides: Any) -> AECEnv:
    """Build the PettingZoo AEC env of one economy: ``parallel_to_aec(parallel_env(...))``.

    The economy is the ``RBCParallelEnv`` that ``parallel_env`` builds from the same arguments,
    converted by PettingZoo's own ``parallel_to_aec`` (wrapped in its ``OrderEnforcingWrapper``),
    so AEC-based tools (``agent_iter`` / ``last`` / ``step`` loops, ``pettingzoo.test.api_test``)
    can drive it. The economy stays simultaneous: agents act one after another in
    ``possible_agents`` order, the wrapper stores each action, and the period is computed once,
    when the last agent (``government_0``) acts; every agent then sees that period's reward, and
    an observation observed mid-cycle is the one from the start of the period. After the
    horizon each agent is visited once more, truncated, and must step ``None``.
    ``env.unwrapped`` is the ``RBCParallelEnv`` (``config``, ``economy``, ``sample_actions``,
    ``max_cycles``).

    Example: ``env(n_consumers=3, n_firms=2, variant="closed", max_cycles=20)``.

    Args:
        config: as for ``parallel_env``.
        **overrides: as for ``parallel_env`` (env arguments, ``max_cycles``, config fields).

    Returns:
        A new AEC env (``pettingzoo.AECEnv``).

    Raises:
        ValueError: as ``parallel_env``.
    """
    return parallel_to_aec(parallel_env(config, **overrides))


def growth_parallel_env(
    config: GrowthConfig | str | Mapping[str, Any] | None = None, **overrides: Any
) -> EconomyParallelEnv:
    """Build the PettingZoo env of one economy of the growth family (an ``EconomyParallelEnv``).

    The ground-truth economies of docs/ground_truth.md: planners (G1 Brock-Mirman, G2
    elastic labor, G3 general δ and γ, G5 ``n_sectors`` capital goods) and markets (G4
    price-taking households renting capital and labor to a competitive firm, G6 adding
    capital-good producers that post prices, G7 G4 with information masks), with the dynamics of
    ``rbc_env.growth.GrowthEconomy`` (B = 1). For a planner alone the Gymnasium
    ``rbc_env.adapters.gymnasium.GrowthPlannerEnv`` is simpler.

    ## Agents

    ``possible_agents``: ``household_0 .. household_{H-1}`` then ``producer_0 ..
    producer_{N-1}`` (G6) in the market economies, ``planner_0`` in the planner economies.
    Every agent acts every step and all leave ``agents`` together at the horizon.
    ``observation_space(agent)`` and ``action_space(agent)`` return one cached object per type.

    ## Action Space

    ``Box(-action_bound, action_bound, (A,))`` in the config's dtype (float32 by default): raw
    real numbers that ``config.constraint`` maps into each column's control range ``[lo, hi]``
    (``squash``: u = lo + (hi - lo) σ(a); ``clip``: clamp; ``penalty``: clamp and a reward
    penalty κ (a - u)²):

    | type | A | control | range |
    |---|---|---|---|
    | household | 1 | saving share s of cash on hand (``action="share"``; G6: share spent on new capital) or next capital x in k_ss units (``"quantity"``) | [ε, 1 - ε] or [ε, x_max] |
    | producer (G6) | 1 | markup m of the posted price q = 1 + m (goods per unit of capital) | [0, m_max] |
    | planner | 1, 2 (G2: then hours) or N (G5) | saving choice per capital stock | as household; hours [ε, 1 - ε] |

    ## Observation Space

    ``Box(-inf, inf, (D,))`` in the config's dtype; logs are deviations from the deterministic
    steady state (ss), z is in stationary standard deviations (sd):

    | type | D | values |
    |---|---|---|
    | household | 7 | log k_h/k_ss, log K/(H k_ss), log z / sd, log r/r_ss, log w/w_ss, log of the lowest last posted price (G6, else 0), restricted flag (G7: restricted households see 0 in the z, r, w and price columns) |
    | producer | 5 | log K/(H k_ss), log z / sd, log of its own last price, log of its rivals' lowest, log S/S_ss (last household spending on capital) |
    | planner | 2N | log k_j/k_ss per capital stock, log z_j / sd per shock |

    ## Rewards

    Python floats per agent and step: households and the planner get utility (utils; u = ln c
    for γ = 1, else (c^(1-γ) - 1)/(1 - γ); G2 adds b ln(1 - l); G5 uses C = Π_j C_j^(1/N)),
    producers their profit π = q I - I - φ/2 I² (goods); each minus the ``penalty``
    constraint's charge. They are the core's rewards, unchanged.

    ## Starting State

    log(k/k_ss) ~ U(-init_spread, init_spread), one draw shared by all households of an economy
    (one per sector in G5; ``init_dispersion`` > 0 then spreads the households around it), and
    log z from its stationary distribution, drawn from the economy's torch generator. ``reset(seed=s)`` reseeds that generator, which also draws the
    shocks and ``sample_actions``; ``reset()`` continues its stream. ``options`` are ignored.

    ## Episode End

    Truncation after ``config.horizon`` steps: ``truncations`` are all True on the last step,
    ``terminations`` always False, and ``agents`` becomes ``[]``. ``max_cycles`` reads the
    horizon; the factories' ``max_cycles=k`` keyword builds an economy of horizon k (see
    ``HorizonMaxCycles``).

    ## Global State

    ``state()`` is ``GrowthEconomy.global_state()`` of the economy (``state_space``): for
    markets log K/(H k_ss), log z / sd, the cross-section standard deviation of log k_h and the
    log lowest last posted price (G6); for planners their observation.



    Example: ``growth_parallel_env("g4_h4", max_cycles=50, seed=0, **{"params.beta": 0.9})``.

    Args:
        config: a ``GrowthConfig``, a preset name (``"g4_h4"``, ``"g6_n2"``, ``"g7_half"``,
            ``"g1"``, ...), a dict for ``GrowthConfig.from_dict``, or ``None`` for G1.
        **overrides: env arguments (``render_mode``: only None; ``device``: the core's torch
            device; ``seed``: the initial seed of the economy's generator), ``max_cycles``
            (PettingZoo's name for ``horizon``: steps per episode, an integer >= 1) and config
            fields: top-level names
            (``n_households``, ``horizon``, ...), dotted paths (``"params.beta"``) or a nested
            dict (``params={"beta": 0.9}``).

    Returns:
        A new ``EconomyParallelEnv`` of a ``rbc_env.growth.GrowthEconomy`` (B = 1).

    Raises:
        ValueError: naming the key for an unknown argument, the field and range for an
            invalid value or ``max_cycles``, and for ``max_cycles`` and ``horizon`` given with
            different values.
    """  # noqa: E501
    env_kwargs = {k: overrides.pop(k) for k in GROWTH_ENV_ARGUMENTS if k in overrides}
    max_cycles_as_horizon(overrides, caller="growth_parallel_env")
    config = growth_config(config, overrides, caller="growth_parallel_env")
    render_mode = env_kwargs.pop("render_mode", None)
    if render_mode is not None:  # before the economy is built
        raise ValueError(
            f"render_mode must be None (growth economies have no render modes); got {render_mode!r}"
        )
    economy = GrowthEconomy(
        config,
        batch_size=1,
        device=env_kwargs.get("device", "cpu"),
        seed=_as_seed(env_kwargs.get("seed")),
        validate=False,
    )
    return EconomyParallelEnv(economy, name="rbc_growth_v0")


def growth_aec_env(
    config: GrowthConfig | str | Mapping[str, Any] | None = None, **overrides: Any
) -> AECEnv:
    """Build the PettingZoo AEC env of one growth economy: ``parallel_to_aec`` of the parallel one.

    The economy is the ``EconomyParallelEnv`` that ``growth_parallel_env`` builds from the same
    arguments, converted by PettingZoo's own ``parallel_to_aec``. Agents act one after another
    in ``possible_agents`` order and the period is computed once, when the last one acts;
    ``env.unwrapped`` is the ``EconomyParallelEnv``. (``rbc_env.growth_env`` is the Gymnasium
    env of a planner economy, hence this name.)

    Example: ``growth_aec_env("g4_h4", max_cycles=50, seed=0)``.

    Args:
        config: as for ``growth_parallel_env``.
        **overrides: as for ``growth_parallel_env`` (env arguments, ``max_cycles``, config
            fields).

    Returns:
        A new AEC env (``pettingzoo.AECEnv``).

    Raises:
        ValueError: as ``growth_parallel_env``.
    """
    return parallel_to_aec(growth_parallel_env(config, **overrides))
