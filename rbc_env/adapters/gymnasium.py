"""The Gymnasium ``Env`` of a growth-family planner economy (G1, G2, G3, G5): the core with B = 1.

``GrowthPlannerEnv`` converts and does nothing else: a numpy action in, the core's ``[1, 1, A]``
tensor through ``rbc_env.growth.GrowthEconomy``, a numpy observation, a float reward and the
step's flows out. There is no second implementation of the economy here; a test steps this env
and a ``GrowthEconomy(batch_size=1)`` with the same seed and actions and compares them.

The market economies (G4, G6, G7) have many agents; their env is the PettingZoo
``rbc_env.growth_parallel_env`` (``rbc_env.adapters.pettingzoo.EconomyParallelEnv``). The
helpers ``growth_config`` (config plus overrides) and ``action_array`` (checking one raw action)
serve both adapters.

Use ``growth_env`` (also exported as ``rbc_env.growth_env``) to build one.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import gymnasium
import numpy as np
import torch
from gymnasium import spaces

from rbc_env.config import PLANNER_ECONOMIES, GrowthConfig, dotted_overrides
from rbc_env.growth import GrowthEconomy, agent_types

__all__ = [
    "ENV_ARGUMENTS",
    "GrowthPlannerEnv",
    "action_array",
    "as_seed",
    "growth_config",
    "growth_env",
    "numpy_dtype",
]

logger = logging.getLogger(__name__)

ENV_ARGUMENTS = ("render_mode", "device", "seed")
_NUMPY_DTYPES = {"float32": np.float32, "float64": np.float64}
# Flows with one value per economy: floats in ``info``; the others are arrays per capital stock.
_SCALAR_FLOWS = ("output", "hours", "penalty_planner")


def numpy_dtype(config: GrowthConfig) -> type[np.floating[Any]]:
    """The numpy float dtype named by ``config.dtype``."""
    return _NUMPY_DTYPES[config.dtype]


def as_seed(seed: Any) -> Any:
    """Accept numpy integers as seeds (Ray and NumPy pass them); the core checks the range."""
    return int(seed) if isinstance(seed, np.integer) else seed


def growth_config(
    config: GrowthConfig | str | Mapping[str, Any] | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    caller: str = "growth_env",
) -> GrowthConfig:
    """Resolve a growth economy from a config, a preset name or a dict, plus field overrides.

    Args:
        config: a ``GrowthConfig``, a preset name for ``GrowthConfig.preset`` (``"g1"``,
            ``"g4_h4"``, ...), a dict for ``GrowthConfig.from_dict``, or ``None`` for G1.
        overrides: config fields: top-level names (``horizon=20``), dotted paths
            (``"params.beta"``) or nested dicts (``params={"beta": 0.9}``, which changes only the
            fields it names); applied with ``GrowthConfig.override``.
        caller: the factory named in error messages.

    Returns:
        The validated ``GrowthConfig``.

    Raises:
        ValueError: naming the key for an unknown field, and naming the field and range for an
            invalid value (or the allowed names for an unknown preset).
    """
    if config is None:
        base = GrowthConfig()
    elif isinstance(config, GrowthConfig):
        base = config
    elif isinstance(config, str):
        base = GrowthConfig.preset(config)
    elif isinstance(config, Mapping):
        base = GrowthConfig.from_dict(dict(config))
    else:
        raise ValueError(
            "config must be a GrowthConfig, a preset name (e.g. 'g1'), a dict or None; got "
            f"{type(config).__name__}"
        )
    fields = [f.name for f in dataclasses.fields(GrowthConfig)]
    updates: dict[str, Any] = {}
    for key, value in (overrides or {}).items():
        if not isinstance(key, str) or key.split(".", 1)[0] not in fields:
            raise ValueError(
                f"{caller} got an unknown argument {key!r}; allowed: env arguments "
                f"{list(ENV_ARGUMENTS)} or GrowthConfig fields {fields} (dotted paths such as "
                "'params.beta' for nested ones)"
            )
        updates.update(dotted_overrides(key, value))
    return base.override(updates) if updates else base


def action_array(
    action: Any,
    *,
    shape: tuple[int, ...],
    bound: float,
    dtype: type[np.floating[Any]],
    name: str,
) -> np.ndarray:
    """Check one raw action and return a copy as a ``dtype`` array.

    Args:
        action: a numpy array, torch tensor or sequence of real numbers (any int or float dtype).
        shape: the required shape, e.g. ``(A,)``.
        bound: ``GrowthConfig.action_bound``; every value must lie in ``[-bound, bound]``
            (compared after rounding the bound to ``dtype``, the action space's own high).
        dtype: the numpy dtype of the result (the config's float dtype).
        name: how the action is named in error messages (``"action"``, ``"action of
            'household_3'"``).

    Returns:
        A new ``dtype`` array of ``shape``.

    Raises:
        ValueError: naming the allowed shape and range for a non-numeric, wrongly shaped,
            non-finite or out-of-range action.
    """
    allowed = f"[-{bound:g}, {bound:g}] (GrowthConfig.action_bound)"
    if isinstance(action, torch.Tensor):
        action = action.detach().cpu().numpy()
    try:
        arr = np.asarray(action)
    except (ValueError, TypeError):  # ragged sequences
        arr = np.asarray(action, dtype=object)
    if arr.dtype.kind not in "iuf":
        raise ValueError(
            f"{name} must be real numbers of shape {shape} in {allowed}; got {action!r} "
            f"(dtype {arr.dtype})"
        )
    if arr.shape != shape:
        raise ValueError(
            f"{name} must have shape {shape} with values in {allowed}; got shape {arr.shape}"
        )
    values = arr.astype(np.float64)
    if not np.isfinite(values).all():
        raise ValueError(f"{name} must be finite, in {allowed}; got {values.tolist()}")
    worst = float(np.abs(values).max(initial=0.0))
    if worst > float(dtype(bound)):
        raise ValueError(f"{name} must be in {allowed}; got {values.tolist()}")
    return arr.astype(dtype, copy=True)


class GrowthPlannerEnv(gymnasium.Env[np.ndarray, np.ndarray]):
    """A planner economy of the growth family (G1, G2, G3, G5) as a Gymnasium ``Env``.

    ## Description

    One social planner chooses how much of each capital stock's cash on hand to save (docs/ground_truth.md,
    "The economies"): G1 is Brock-Mirman (log utility, full depreciation, one unit of
    labor), G2 adds elastic hours, G3 has general depreciation δ and CRRA curvature γ, G5 has
    ``n_sectors`` capital goods. The dynamics are those of ``rbc_env.growth.GrowthEconomy`` with
    one economy (B = 1); this class only converts between numpy and the core's tensors.

    ## Action Space

    ``Box(-action_bound, action_bound, (A,))`` in the config's dtype (float32 by default):
    raw real numbers that ``config.constraint`` maps into each column's control range
    ``[lo, hi]`` (``squash``: u = lo + (hi - lo) σ(a); ``clip``: u = min(max(a, lo), hi);
    ``penalty``: like ``clip`` with a reward penalty κ (a - u)²):

    | economy | columns (A) | control | range |
    |---|---|---|---|
    | G1, G3 | 1 | saving share s of cash on hand (``action="share"``) or next capital x in units of k_ss (``action="quantity"``) | [ε, 1 - ε] or [ε, x_max] |
    | G2 | 2 | saving, then hours l (fraction of the time endowment) | saving as above; [ε, 1 - ε] |
    | G5 | N | one saving choice per sector | as above |

    ## Observation Space

    ``Box(-inf, inf, (2N,))`` in the config's dtype (N = 1 except in G5):

    | values | meaning |
    |---|---|
    | N | log(k_j / k_ss), capital relative to the deterministic steady state |
    | N | log z_j / sd(log z), productivity in stationary standard deviations |

    ## Rewards

    A Python float per step, in utils: u(c) (u = ln c for γ = 1, else (c^(1-γ) - 1)/(1 - γ)),
    plus b ln(1 - l) in G2; in G5 u(C) with C = Π_j C_j^(1/N); minus the ``penalty``
    constraint's charge. The adapter computes none of it: it is the core's reward.

    ## Info

    The step's flows (``GrowthEconomy.step``): ``output``, ``hours`` and ``penalty_planner``
    as floats (goods per period; fraction of time; utils); ``cash``, ``consumption``,
    ``capital_next`` (goods), ``saving_share``, ``marginal_utility`` (utils per good),
    ``gross_return``, ``capital_price`` and ``constrained`` (bool) as arrays with one value per
    capital stock. ``reset`` returns an empty info.

    ## Starting State

    log(k / k_ss) ~ U(-init_spread, init_spread) (one draw per sector in G5) and log z from its
    stationary distribution, drawn from the economy's torch generator. ``reset(seed=s)`` reseeds
    that generator, which also draws the productivity shocks, so a seed fixes the whole
    trajectory given the actions; ``reset()`` continues its stream. ``options`` are ignored.

    ## Episode End

    Truncation after ``config.horizon`` steps (``truncated`` True, ``terminated`` always
    False: the economy never ends by itself, so returns bootstrap at the cut). Step again only
    after ``reset``.

    ## Arguments

    ``GrowthPlannerEnv(config=None, *, render_mode=None, device="cpu", seed=None)``, or
    ``rbc_env.growth_env(config=None, **overrides)`` whose config may be a preset name and whose
    overrides are these arguments or config fields (``horizon=20``, ``**{"params.beta": 0.9}``).

    - ``config``: a planner ``GrowthConfig`` (``None`` is G1); a market economy raises.
    - ``render_mode``: only ``None`` (there is nothing to draw).
    - ``device``: torch device of the core (observations come back as numpy either way).
    - ``seed``: initial seed of the economy's generator (``None``: fresh entropy).

    ## Version History

    - v0 (rbc-marl 0.1.0): initial version.

    Example:
        >>> import numpy as np
        >>> import rbc_env
        >>> env = rbc_env.growth_env("g2", horizon=3)
        >>> env.observation_space, env.action_space
        (Box(-inf, inf, (2,), float32), Box(-10.0, 10.0, (2,), float32))
        >>> obs, info = env.reset(seed=0)
        >>> obs, reward, terminated, truncated, info = env.step(np.zeros(2, np.float32))
        >>> info["saving_share"].tolist(), info["hours"]  # raw 0 is the middle of each range
        ([0.5], 0.5)
        >>> for _ in range(2):
        ...     obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        >>> terminated, truncated, type(reward)
        (False, True, <class 'float'>)
    """  # noqa: E501

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        config: GrowthConfig | None = None,
        *,
        render_mode: str | None = None,
        device: torch.device | str = "cpu",
        seed: int | None = None,
    ) -> None:
        config = config if config is not None else GrowthConfig()
        if not isinstance(config, GrowthConfig):
            raise ValueError(f"config must be a GrowthConfig or None; got {type(config).__name__}")
        if not config.is_planner:
            raise ValueError(
                f"GrowthPlannerEnv serves the planner economies {list(PLANNER_ECONOMIES)}; "
                f"economy {config.economy!r} is a market economy with agent types "
                f"{list(agent_types(config))}: use the PettingZoo env "
                "rbc_env.growth_parallel_env(...) instead"
            )
        if render_mode is not None:
            raise ValueError(
                f"render_mode must be None (GrowthPlannerEnv has no render modes); got "
                f"{render_mode!r}"
            )
        self.render_mode = render_mode
        # Actions are checked here (shape, finiteness, range, in float64 before the cast), so the
        # core's own per-step validation would only repeat the work.
        self.economy = GrowthEconomy(
            config, batch_size=1, device=device, seed=as_seed(seed), validate=False
        )
        self.config: GrowthConfig = self.economy.config
        dtype = numpy_dtype(self.config)
        self._dtype = dtype
        spec = self.economy.observation_specs["planner"]
        self.observation_space: spaces.Box = spaces.Box(
            low=spec.low, high=spec.high, shape=spec.shape, dtype=dtype
        )
        bound = self.config.action_bound
        self.action_space: spaces.Box = spaces.Box(
            low=-bound, high=bound, shape=(self.economy.action_dims["planner"],), dtype=dtype
        )
        self._live = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a new episode.

        Args:
            seed: reseed the economy's generator (initial state and shocks) and ``np_random``;
                ``None`` continues their streams.
            options: ignored (a dict or ``None``).

        Returns:
            The initial observation and an empty info dict.

        Raises:
            ValueError: on a negative or non-integer seed, or options that are not a dict.
        """
        seed = as_seed(seed)
        if options is not None and not isinstance(options, Mapping):
            raise ValueError(f"options must be a dict or None; got {options!r}")
        if options:
            logger.debug("reset ignores option(s) %s", sorted(str(k) for k in options))
        obs = self.economy.reset(seed=seed)  # checks the seed first (ValueError)
        super().reset(seed=seed)
        self._live = True
        return self._observation(obs), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """Advance the economy by one period.

        Args:
            action: raw action, shape ``(A,)``, real values in ``[-action_bound,
                action_bound]`` (numpy of any float or int dtype, a sequence, or a tensor).

        Returns:
            ``(observation, reward, terminated, truncated, info)``: ``terminated`` is always
            False, ``truncated`` True at the horizon, ``info`` the step's flows (see the class
            docstring).

        Raises:
            ValueError: before ``reset`` or after the horizon, and naming the allowed shape and
                range for a wrongly shaped, non-finite or out-of-range action; the state is
                then unchanged.
        """
        if not self._live:
            raise ValueError("the episode is over or has not started: call reset() before step()")
        arr = action_array(
            action,
            shape=self.action_space.shape,
            bound=self.config.action_bound,
            dtype=self._dtype,
            name="action",
        )
        tensor = torch.from_numpy(arr).to(self.economy.device).view(1, 1, -1)
        out = self.economy.step({"planner": tensor})
        truncated = bool(out.done[0])
        if truncated:
            self._live = False
        reward = float(out.rewards["planner"][0, 0])
        return self._observation(out.obs), reward, False, truncated, _info(out.flows)

    def _observation(self, obs: dict[str, torch.Tensor]) -> np.ndarray:
        return obs["planner"][0, 0].cpu().numpy()

    def render(self) -> None:
        """Nothing to draw: warns (Gymnasium's convention without a render mode), returns None."""
        gymnasium.logger.warn(
            "You are calling render method without specifying any render mode; "
            "GrowthPlannerEnv has no render modes."
        )

    def close(self) -> None:
        """Nothing to release (no windows, processes or files)."""


def _info(flows: dict[str, torch.Tensor]) -> dict[str, Any]:
    """The core's flows of economy 0: one-value flows as floats, the others as numpy arrays."""
    out: dict[str, Any] = {}
    for key, value in flows.items():
        row = value[0].cpu().numpy()
        out[key] = float(row.reshape(-1)[0]) if key in _SCALAR_FLOWS else row
    return out


def growth_env(
    config: GrowthConfig | str | Mapping[str, Any] | None = None, **overrides: Any
) -> GrowthPlannerEnv:
    """Build the Gymnasium env of one planner economy of the growth family.

    Example: ``growth_env("g3_log", horizon=20, seed=0, **{"params.beta": 0.98})``.

    Args:
        config: a planner ``GrowthConfig``, a preset name (``"g1"``, ``"g2"``, ``"g3"``,
            ``"g3_log"``, ``"g5_n2"``, ...), a dict for ``GrowthConfig.from_dict``, or ``None``
            for G1.
        **overrides: env arguments (``render_mode``, ``device``, ``seed``; see
            ``GrowthPlannerEnv``) and config fields: top-level names (``horizon``,
            ``constraint``, ...), dotted paths (``"params.beta"``) or a nested dict
            (``params={"beta": 0.9}``).

    Returns:
        A new ``GrowthPlannerEnv``.

    Raises:
        ValueError: naming the key for an unknown argument, the field and range for an invalid
            value, and the economy for a market economy (use ``growth_parallel_env``).
    """
    env_kwargs = {k: overrides.pop(k) for k in ENV_ARGUMENTS if k in overrides}
    return GrowthPlannerEnv(growth_config(config, overrides, caller="growth_env"), **env_kwargs)
