"""The PettingZoo faces of one RBC economy: the batched core with B = 1.

``RBCParallelEnv`` converts and does nothing else: per-agent numpy dicts in, the core's
per-type torch tensors through ``rbc_env.BatchedEconomy``, per-agent numpy dicts out. There is
no second implementation of the economy here; a test steps this env and a ``BatchedEconomy`` with
the same actions and compares every observation and reward.

Use ``parallel_env`` (also exported as ``rbc_env.parallel_env``) to build one, or ``env``
(``rbc_env.env``) for the same economy as an AEC env, PettingZoo's ``parallel_to_aec`` of it.
Both take ``max_cycles``, PettingZoo's name for the episode length, which here is
``config.horizon``; so this module, like ``rbc_env`` itself, has PettingZoo's ``env`` /
``parallel_env`` pair and passes ``pettingzoo.test.max_cycles_test``.
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
    actions_to_agent_dict,
    agent_index,
    agent_type_of,
    obs_to_agent_dict,
    resolve_config,
    rewards_to_agent_dict,
)
from rbc_env.adapters.spaces import MASK_LAYOUTS, TypeSpaces, build_spaces, mask_shape
from rbc_env.config import RBCConfig
from rbc_env.core import (
    AGENT_TYPES,
    BatchedEconomy,
    EconomyState,
    action_masks,
    action_nvec,
    agent_counts,
)

__all__ = [
    "HorizonMaxCycles",
    "RBCParallelEnv",
    "env",
    "max_cycles_as_horizon",
    "parallel_env",
    "state_layout",
]

logger = logging.getLogger(__name__)

RENDER_MODES = ("human", "ansi")
ENV_ARGUMENTS = ("render_mode", "device", "action_masks", "mask_layout", "seed")


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


class RBCParallelEnv(CurriculumIteration, HorizonMaxCycles, ParallelEnv[str, Any, np.ndarray]):
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
        if render_mode is not None and render_mode not in RENDER_MODES:
            raise ValueError(
                f"render_mode must be None or one of {list(RENDER_MODES)}; got {render_mode!r}"
            )
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
        self.render_mode = render_mode
        # Actions are checked here (ids, shapes, integer dtype, ranges, naming the agent), so the
        # core's own per-step validation would only repeat the work.
        self.economy = BatchedEconomy(
            config, batch_size=1, device=device, seed=_as_seed(seed), validate=False
        )
        self.config: RBCConfig = self.economy.config
        index = agent_index(self.config)
        self._ids = index.ids
        self.possible_agents: list[str] = list(index.possible_agents)
        self.agents: list[str] = []
        self._state_layout = state_layout(self.economy.state)
        state_dim = max((s.stop for s in self._state_layout.values()), default=0)
        self._spaces: TypeSpaces = build_spaces(
            self.config, state_dim, action_masks=action_masks, mask_layout=mask_layout
        )
        types = {a: t for t in AGENT_TYPES for a in index.ids[t]}
        self.observation_spaces = {a: self._spaces.observation[t] for a, t in types.items()}
        self.action_spaces = {a: self._spaces.action[t] for a, t in types.items()}
        self.state_space: spaces.Box = self._spaces.state
        self._iteration: int | None = None
        self._masks: dict[str, np.ndarray] | None = None
        self._last_rewards: dict[str, np.ndarray] | None = None
        self._last_flows: dict[str, np.ndarray] | None = None

    # ---- spaces ---------------------------------------------------------------------------
    def observation_space(self, agent: str) -> spaces.Space[Any]:
        """The observation space of ``agent`` (one object per agent type).

        Raises:
            ValueError: for an unknown agent id.
        """
        try:
            return self.observation_spaces[agent]
        except KeyError:
            agent_type_of(self.config, agent)  # raises ValueError naming the id
            raise

    def action_space(self, agent: str) -> spaces.MultiDiscrete:
        """The action space of ``agent`` (one object per agent type).

        Raises:
            ValueError: for an unknown agent id.
        """
        try:
            return self.action_spaces[agent]
        except KeyError:
            agent_type_of(self.config, agent)
            raise

    @property
    def action_masks(self) -> bool:
        """Whether observations carry an ``action_mask``."""
        return self._spaces.action_masks

    # ---- episode --------------------------------------------------------------------------

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """Start a new episode.

        Args:
            seed: reseed the economy's generator (``None`` continues its stream).
            options: ``{"iteration": e}`` sets :attr:`iteration`; other keys are ignored.

        Returns:
            Observations and (empty) infos of every agent.

        Raises:
            ValueError: on a bad seed or iteration.
        """
        if options is not None:
            if not isinstance(options, Mapping):
                raise ValueError(f"options must be a dict or None; got {options!r}")
            if "iteration" in options:
                self.iteration = options["iteration"]
            ignored = sorted(str(k) for k in options if k != "iteration")
            if ignored:
                logger.debug("reset ignores option(s) %s", ignored)
        obs = self.economy.reset(seed=_as_seed(seed), iteration=self._iteration)
        if self.action_masks:
            masks = action_masks(self.config, self._iteration)
            nvecs = action_nvec(self.config)
            layout = self._spaces.mask_layout
            self._masks = {
                t: m.to(torch.int8).cpu().numpy().reshape(mask_shape(nvecs[t], layout))
                for t, m in masks.items()
            }
        self.agents = list(self.possible_agents)
        self._last_rewards = None
        self._last_flows = None
        return self._agent_obs(obs), {a: {} for a in self.agents}

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[
        dict[str, Any],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Advance the economy by one period.

        Args:
            actions: one action per live agent: integer indices, one per head of its
                ``action_space`` (numpy arrays or sequences of ints).

        Returns:
            ``(observations, rewards, terminations, truncations, infos)``, each keyed by agent.

        Raises:
            ValueError: before ``reset`` or after the horizon, on missing or unknown agent
                ids, and on non-integer, wrongly shaped or out-of-range actions (naming the agent
                and head); the state is then unchanged.
        """
        if not self.agents:
            raise ValueError("no live agents: call reset() before step() (the episode is over)")
        tensors = actions_from_agent_dict(self.config, actions, device=self.economy.device)
        out = self.economy.step(tensors)
        obs = self._agent_obs(out.obs)
        rewards = rewards_to_agent_dict(self.config, out.rewards)
        self._last_rewards = {t: r[0].cpu().numpy() for t, r in out.rewards.items()}
        self._last_flows = {k: v[0].cpu().numpy() for k, v in out.flows.items()}
        done = bool(out.done[0])
        agents = self.agents
        terminations = dict.fromkeys(agents, False)
        truncations = dict.fromkeys(agents, done)
        infos: dict[str, dict[str, Any]] = {a: {} for a in agents}
        if done:
            self.agents = []
        if self.render_mode == "human":
            self.render()
        return obs, rewards, terminations, truncations, infos

    def sample_actions(self) -> dict[str, np.ndarray]:
        """Uniform random actions of the live agents, from the economy's seeded generator.

        Draws only allowed actions when an :attr:`iteration` is set (the curriculum's masks).
        Reproducible after ``reset(seed=s)``; much faster than one ``space.sample()`` per agent.
        """
        if not self.agents:
            return {}
        return actions_to_agent_dict(
            self.config, self.economy.sample_actions(iteration=self._iteration)
        )

    def _agent_obs(self, obs: dict[str, torch.Tensor]) -> dict[str, Any]:
        per_agent = obs_to_agent_dict(self.config, obs)
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

    @property
    def last_flows(self) -> dict[str, np.ndarray] | None:
        """The core's flows of the last step (batch axis dropped), or ``None`` before one."""
        return self._last_flows

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

    def close(self) -> None:
        """Nothing to release (no windows, processes or files)."""


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
