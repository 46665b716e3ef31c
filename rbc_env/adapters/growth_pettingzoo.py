"""The PettingZoo ``ParallelEnv`` of any growth-family economy (G1-G7): the core with B = 1.

``GrowthParallelEnv`` converts and does nothing else: per-agent numpy dicts in, the core's
per-type ``[1, n, A]`` tensors through ``rbc_env.growth.GrowthEconomy``, per-agent numpy dicts
out. It serves the market economies (households, and the capital-good producers of G6) and the
planner economies too (one agent, ``planner_0``); for a planner alone the Gymnasium
``rbc_env.adapters.gymnasium.GrowthPlannerEnv`` is simpler.

Use ``growth_parallel_env`` (also exported as ``rbc_env.growth_parallel_env``) to build one, or
``growth_aec_env`` (``rbc_env.growth_aec_env``) for the same economy as an AEC env, PettingZoo's
``parallel_to_aec`` of it. Both take ``max_cycles``, PettingZoo's name for the episode length
``config.horizon``.
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

from rbc_env.adapters.gymnasium import (
    ENV_ARGUMENTS,
    action_array,
    as_seed,
    growth_config,
    numpy_dtype,
)
from rbc_env.adapters.pettingzoo import HorizonMaxCycles, max_cycles_as_horizon
from rbc_env.adapters.spaces import observation_space, protocol_action_space
from rbc_env.config import GrowthConfig
from rbc_env.growth import GrowthEconomy, global_state_dim

__all__ = ["GrowthParallelEnv", "growth_aec_env", "growth_parallel_env"]

logger = logging.getLogger(__name__)

# At most this many ids are listed in an error message.
_MAX_LISTED = 8


def _listed(ids: list[str]) -> str:
    shown = ids[:_MAX_LISTED]
    more = f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else ""
    return f"{shown}{more}"


class GrowthParallelEnv(HorizonMaxCycles, ParallelEnv[str, np.ndarray, np.ndarray]):
    """An economy of the growth family (G1-G7) as a PettingZoo ``ParallelEnv``.

    ## Description

    The ground-truth economies of docs/ground_truth.md: planners (G1 Brock-Mirman, G2
    elastic labor, G3 general δ and γ, G5 ``n_sectors`` capital goods) and markets (G4
    price-taking households renting capital and labor to a competitive firm, G6 adding
    capital-good producers that post prices, G7 G4 with information masks). All agents act at
    once each period. The dynamics are those of ``rbc_env.growth.GrowthEconomy`` with one
    economy (B = 1); this class only converts between per-agent numpy dicts and the core's
    per-type tensors.

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
    ``rbc_env.adapters.pettingzoo.HorizonMaxCycles``).

    ## Global State

    ``state()`` is ``GrowthEconomy.global_state()`` of the economy (``state_space``): for
    markets log K/(H k_ss), log z / sd, the cross-section standard deviation of log k_h and the
    log lowest last posted price (G6); for planners their observation.

    ## Arguments

    ``GrowthParallelEnv(config=None, *, render_mode=None, device="cpu", seed=None)``, or
    ``rbc_env.growth_parallel_env(config=None, **overrides)`` whose config may be a preset name
    and whose overrides are these arguments, ``max_cycles`` (the horizon) or config fields
    (``n_households=4``, ``**{"params.beta": 0.9}``). ``rbc_env.growth_aec_env`` takes the same
    and returns the AEC form.

    - ``config``: a ``GrowthConfig`` (``None`` is G1).
    - ``render_mode``: only ``None`` (there is nothing to draw).
    - ``device``: torch device of the core (observations come back as numpy either way).
    - ``seed``: initial seed of the economy's generator (``None``: fresh entropy).

    ## Version History

    - v0 (rbc-marl 0.1.0): initial version.

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
    """  # noqa: E501

    metadata: dict[str, Any] = {
        "name": "rbc_growth_v0",
        "render_modes": [],
        "is_parallelizable": True,
    }

    def __init__(
        self,
        config: GrowthConfig | None = None,
        *,
        render_mode: str | None = None,
        device: torch.device | str = "cpu",
        seed: int | None = None,
    ) -> None:
        if render_mode is not None:
            raise ValueError(
                f"render_mode must be None (GrowthParallelEnv has no render modes); got "
                f"{render_mode!r}"
            )
        self.render_mode = render_mode
        # Actions are checked here (ids, shapes, finiteness, ranges, naming the agent), so the
        # core's own per-step validation would only repeat the work.
        self.economy = GrowthEconomy(
            config, batch_size=1, device=device, seed=as_seed(seed), validate=False
        )
        self.config: GrowthConfig = self.economy.config
        self._dtype = numpy_dtype(self.config)
        counts = self.economy.counts
        self._ids: dict[str, tuple[str, ...]] = {
            t: tuple(f"{t}_{i}" for i in range(counts[t])) for t in self.economy.agent_types
        }
        self._type_of = {a: t for t, ids in self._ids.items() for a in ids}
        self.possible_agents: list[str] = list(self._type_of)
        self.agents: list[str] = []
        specs = self.economy.agent_specs
        obs_by_type = {s.agent_type: observation_space(s.observation, self._dtype) for s in specs}
        act_by_type = {s.agent_type: protocol_action_space(s, self._dtype) for s in specs}
        self.observation_spaces = {a: obs_by_type[t] for a, t in self._type_of.items()}
        self.action_spaces = {a: act_by_type[t] for a, t in self._type_of.items()}
        self.state_space: spaces.Box = spaces.Box(
            low=-np.inf, high=np.inf, shape=(global_state_dim(self.config),), dtype=self._dtype
        )
        self._last_flows: dict[str, np.ndarray] | None = None

    # ---- spaces ---------------------------------------------------------------------------
    def observation_space(self, agent: str) -> spaces.Box:
        """The observation space of ``agent`` (one object per agent type).

        Raises:
            ValueError: for an unknown agent id.
        """
        return self.observation_spaces[self._check_id(agent)]

    def action_space(self, agent: str) -> spaces.Box:
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
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        """Start a new episode.

        Args:
            seed: reseed the economy's generator (``None`` continues its stream).
            options: ignored (a dict or ``None``).

        Returns:
            Observations and (empty) infos of every agent.

        Raises:
            ValueError: on a negative or non-integer seed, or options that are not a dict.
        """
        if options is not None and not isinstance(options, Mapping):
            raise ValueError(f"options must be a dict or None; got {options!r}")
        if options:
            logger.debug("reset ignores option(s) %s", sorted(str(k) for k in options))
        obs = self.economy.reset(seed=as_seed(seed))
        self.agents = list(self.possible_agents)
        self._last_flows = None
        return self._agent_obs(obs), {a: {} for a in self.agents}

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
            actions: one raw action per live agent, shape ``(A,)`` of its type, real values in
                ``[-action_bound, action_bound]`` (numpy of any float or int dtype).

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
        tensors = self._action_tensors(actions)
        out = self.economy.step(tensors)
        obs = self._agent_obs(out.obs)
        rewards: dict[str, float] = {}
        for t, ids in self._ids.items():
            rewards.update(zip(ids, out.rewards[t][0].tolist(), strict=True))
        self._last_flows = {k: v[0].cpu().numpy() for k, v in out.flows.items()}
        done = bool(out.done[0])
        agents = self.agents
        terminations = dict.fromkeys(agents, False)
        truncations = dict.fromkeys(agents, done)
        infos: dict[str, dict[str, Any]] = {a: {} for a in agents}
        if done:
            self.agents = []
        return obs, rewards, terminations, truncations, infos

    def _action_tensors(self, actions: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        """Check the per-agent dict and stack it into the core's ``[1, n, A]`` tensors."""
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
        bound = self.config.action_bound
        out: dict[str, torch.Tensor] = {}
        for t, ids in self._ids.items():
            shape = (self.economy.action_dims[t],)
            rows = [
                action_array(
                    actions[a], shape=shape, bound=bound, dtype=self._dtype, name=f"action of {a!r}"
                )
                for a in ids
            ]
            out[t] = torch.from_numpy(np.stack(rows)[None]).to(self.economy.device)
        return out

    def _agent_obs(self, obs: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for t, ids in self._ids.items():
            rows = obs[t][0].cpu().numpy()  # one array per type; agents get views of its rows
            out.update(zip(ids, rows, strict=True))
        return out

    def sample_actions(self) -> dict[str, np.ndarray]:
        """Uniform raw actions of the live agents, from the economy's seeded generator.

        Reproducible after ``reset(seed=s)``; one draw per type, not per agent.
        """
        if not self.agents:
            return {}
        out: dict[str, np.ndarray] = {}
        for t, tensor in self.economy.sample_actions().items():
            out.update(zip(self._ids[t], tensor[0].cpu().numpy(), strict=True))
        return out

    # ---- global state and diagnostics -----------------------------------------------------
    def state(self) -> np.ndarray:
        """The economy's aggregate state ``[G]`` (``GrowthEconomy.global_state``), config dtype."""
        return self.economy.global_state()[0].cpu().numpy()

    @property
    def last_flows(self) -> dict[str, np.ndarray] | None:
        """The core's flows of the last step (batch axis dropped), or ``None`` before one."""
        return self._last_flows

    def render(self) -> None:
        """Nothing to draw: warns (Gymnasium's convention without a render mode), returns None."""
        gymnasium.logger.warn(
            "You are calling render method without specifying any render mode; "
            "GrowthParallelEnv has no render modes."
        )

    def close(self) -> None:
        """Nothing to release (no windows, processes or files)."""


def growth_parallel_env(
    config: GrowthConfig | str | Mapping[str, Any] | None = None, **overrides: Any
) -> GrowthParallelEnv:
    """Build the PettingZoo env of one economy of the growth family.

    Example: ``growth_parallel_env("g4_h4", max_cycles=50, seed=0, **{"params.beta": 0.9})``.

    Args:
        config: a ``GrowthConfig``, a preset name (``"g4_h4"``, ``"g6_n2"``, ``"g7_half"``,
            ``"g1"``, ...), a dict for ``GrowthConfig.from_dict``, or ``None`` for G1.
        **overrides: env arguments (``render_mode``, ``device``, ``seed``; see
            ``GrowthParallelEnv``), ``max_cycles`` (PettingZoo's name for ``horizon``: steps
            per episode, an integer >= 1) and config fields: top-level names
            (``n_households``, ``horizon``, ...), dotted paths (``"params.beta"``) or a nested
            dict (``params={"beta": 0.9}``).

    Returns:
        A new ``GrowthParallelEnv``.

    Raises:
        ValueError: naming the key for an unknown argument, the field and range for an
            invalid value or ``max_cycles``, and for ``max_cycles`` and ``horizon`` given with
            different values.
    """
    env_kwargs = {k: overrides.pop(k) for k in ENV_ARGUMENTS if k in overrides}
    max_cycles_as_horizon(overrides, caller="growth_parallel_env")
    config = growth_config(config, overrides, caller="growth_parallel_env")
    return GrowthParallelEnv(config, **env_kwargs)


def growth_aec_env(
    config: GrowthConfig | str | Mapping[str, Any] | None = None, **overrides: Any
) -> AECEnv:
    """Build the PettingZoo AEC env of one growth economy: ``parallel_to_aec`` of the parallel one.

    The economy is the ``GrowthParallelEnv`` that ``growth_parallel_env`` builds from the same
    arguments, converted by PettingZoo's own ``parallel_to_aec``. Agents act one after another
    in ``possible_agents`` order and the period is computed once, when the last one acts;
    ``env.unwrapped`` is the ``GrowthParallelEnv``. (``rbc_env.growth_env`` is the Gymnasium
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
