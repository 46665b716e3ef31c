"""Agent ids and the conversion between per-agent dicts and the core's per-type tensors.

Agents are named ``f"{type}_{i}"``: ``consumer_0 .. consumer_{C-1}``, ``firm_0 .. firm_{F-1}``,
``government_0``, in that order (the core's type order, then the agent axis). The core keeps one
tensor per type with a leading batch axis; this module converts a single economy (B = 1):

| direction | per-type side | per-agent side |
|---|---|---|
| ``obs_to_agent_dict`` | ``consumer [1, C, D_c]``, ``firm [1, F, D_f]``, ``government [1, D_g]`` | ``{id: ndarray [D]}`` |
| ``rewards_to_agent_dict`` | ``consumer [1, C]``, ``firm [1, F]``, ``government [1]`` | ``{id: float}`` |
| ``actions_to_agent_dict`` | ``consumer [1, C, F + 2]``, ``firm [1, F, 2]``, ``government [1, 2]`` | ``{id: int64 ndarray [heads]}`` |
| ``obs_from_agent_dict``, ``rewards_from_agent_dict`` | torch tensors | numpy / floats |
| ``actions_from_agent_dict`` | int64 torch tensors, validated | numpy / sequences of ints |

Per-type inputs may be torch tensors (any device) or numpy arrays; per-agent outputs are numpy
arrays that view one per-type array (one copy per type, not per agent).
"""  # noqa: E501

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from rbc_env.adapters.spaces import numpy_dtype
from rbc_env.config import RBCConfig, dotted_overrides
from rbc_env.core import (
    AGENT_TYPES,
    AgentType,
    action_box,
    action_head_names,
    action_nvec,
    agent_counts,
    theta_factor,
)
from rbc_env.core import has_agent_axis as _has_agent_axis

__all__ = [
    "AgentIndex",
    "CurriculumIteration",
    "resolve_config",
    "actions_from_agent_dict",
    "actions_to_agent_dict",
    "agent_id",
    "agent_index",
    "agent_type_of",
    "obs_from_agent_dict",
    "obs_to_agent_dict",
    "possible_agents",
    "rewards_from_agent_dict",
    "rewards_to_agent_dict",
]

# At most this many ids are listed in an error message (100 missing consumers read badly).
_MAX_LISTED = 8


def agent_id(agent_type: AgentType, index: int) -> str:
    """The id of agent ``index`` of ``agent_type``, e.g. ``agent_id("firm", 3) == "firm_3"``."""
    return f"{agent_type}_{index}"


@dataclass(frozen=True)
class AgentIndex:
    """Agent ids of one economy size, per type and in order.

    Attributes:
        ids: ``{type: (id, ...)}`` in agent-axis order.
        possible_agents: all ids, types in core order (consumers, firms, government).
        position: ``{id: (type, index along the type's agent axis)}``.
    """

    ids: dict[AgentType, tuple[str, ...]]
    possible_agents: tuple[str, ...]
    position: dict[str, tuple[AgentType, int]]

    @classmethod
    def from_counts(cls, counts: Mapping[AgentType, int]) -> AgentIndex:
        """Build the index from the number of agents of each type."""
        ids = {t: tuple(agent_id(t, i) for i in range(counts[t])) for t in AGENT_TYPES}
        position = {a: (t, i) for t in AGENT_TYPES for i, a in enumerate(ids[t])}
        return cls(ids=ids, possible_agents=tuple(position), position=position)


@functools.lru_cache(maxsize=64)
def agent_index(config: RBCConfig) -> AgentIndex:
    """The (cached, immutable) ``AgentIndex`` of ``config``'s agent counts."""
    return AgentIndex.from_counts(agent_counts(config))


def possible_agents(config: RBCConfig) -> list[str]:
    """All agent ids of ``config``: consumers, firms, then the government."""
    return list(agent_index(config).possible_agents)


def agent_type_of(config: RBCConfig, agent: str) -> AgentType:
    """The type of agent ``agent``.

    Raises:
        ValueError: if ``agent`` is not an agent of ``config``.
    """
    try:
        return agent_index(config).position[agent][0]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown agent id {agent!r}; ids are consumer_0..consumer_{config.n_consumers - 1}, "
            f"firm_0..firm_{config.n_firms - 1}, government_0"
        ) from None


# ---- per type -> per agent ------------------------------------------------------------------
def _to_numpy(x: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def _rows(config: RBCConfig, agent_type: AgentType, x: torch.Tensor | np.ndarray) -> np.ndarray:
    """[1, N, ...] (or [1, ...] for the government) -> [N, ...] numpy, one row per agent."""
    arr = _to_numpy(x)
    n = agent_counts(config)[agent_type]
    if arr.ndim == 0 or arr.shape[0] != 1:
        raise ValueError(
            f"{agent_type} values must have a leading batch axis of size 1; got shape {arr.shape}"
        )
    rows = arr[0] if _has_agent_axis(agent_type) else arr
    if rows.ndim == 0 or rows.shape[0] != n:
        raise ValueError(
            f"{agent_type} values must have {n} agent(s) after the batch axis; got shape "
            f"{arr.shape}"
        )
    return rows


def _split(
    config: RBCConfig, per_type: Mapping[str, torch.Tensor | np.ndarray]
) -> dict[str, np.ndarray]:
    index = agent_index(config)
    out: dict[str, np.ndarray] = {}
    for agent_type in AGENT_TYPES:
        if agent_type not in per_type:
            raise ValueError(f"per-type values are missing agent type {agent_type!r}")
        rows = _rows(config, agent_type, per_type[agent_type])
        out.update(zip(index.ids[agent_type], rows, strict=True))
    return out


def obs_to_agent_dict(
    config: RBCConfig, obs: Mapping[str, torch.Tensor | np.ndarray]
) -> dict[str, np.ndarray]:
    """Per-type observations of one economy -> ``{agent id: ndarray [D_type]}``.

    Args:
        config: the economy (agent counts).
        obs: ``consumer [1, C, D_c]``, ``firm [1, F, D_f]``, ``government [1, D_g]``.

    Returns:
        One array per agent, in ``possible_agents`` order (views of one array per type).

    Raises:
        ValueError: if a type is missing or a shape does not match the agent counts.
    """
    return _split(config, obs)


def rewards_to_agent_dict(
    config: RBCConfig, rewards: Mapping[str, torch.Tensor | np.ndarray]
) -> dict[str, float]:
    """Per-type rewards of one economy -> ``{agent id: float}``.

    Args:
        config: the economy (agent counts).
        rewards: ``consumer [1, C]``, ``firm [1, F]``, ``government [1]``.

    Raises:
        ValueError: if a type is missing or a shape does not match the agent counts.
    """
    index = agent_index(config)
    out: dict[str, float] = {}
    for agent_type in AGENT_TYPES:
        if agent_type not in rewards:
            raise ValueError(f"per-type values are missing agent type {agent_type!r}")
        rows = _rows(config, agent_type, rewards[agent_type])
        if rows.ndim != 1:
            raise ValueError(
                f"{agent_type} rewards must have one value per agent; got shape {rows.shape} "
                "after the batch axis"
            )
        out.update(zip(index.ids[agent_type], rows.tolist(), strict=True))
    return out


def actions_to_agent_dict(
    config: RBCConfig, actions: Mapping[str, torch.Tensor | np.ndarray]
) -> dict[str, np.ndarray]:
    """Per-type actions of one economy -> ``{agent id: ndarray [heads]}``.

    int64 indices, or real values in the config's dtype with ``action_space="continuous"``.

    Args:
        config: the economy (agent counts, action space).
        actions: ``consumer [1, C, F + 2]``, ``firm [1, F, 2]``, ``government [1, 2]``.

    Raises:
        ValueError: if a type is missing or a shape does not match the agent counts.
    """
    dtype = np.int64 if config.action_space == "discrete" else numpy_dtype(config)
    per_type = {t: _to_numpy(actions[t]).astype(dtype) for t in actions}
    return _split(config, per_type)


# ---- per agent -> per type ------------------------------------------------------------------
def _listed(ids: list[str]) -> str:
    shown = ids[:_MAX_LISTED]
    more = f" and {len(ids) - _MAX_LISTED} more" if len(ids) > _MAX_LISTED else ""
    return f"{shown}{more}"


def _check_keys(config: RBCConfig, per_agent: Mapping[str, Any], what: str) -> None:
    """Raise ValueError naming unknown and missing agent ids of a per-agent dict."""
    if not isinstance(per_agent, Mapping):
        raise ValueError(f"{what} must be a dict keyed by agent id; got {type(per_agent).__name__}")
    index = agent_index(config)
    unknown = [a for a in per_agent if a not in index.position]
    if unknown:
        raise ValueError(
            f"{what} has unknown agent id(s) {_listed(unknown)}; ids are "
            f"consumer_0..consumer_{config.n_consumers - 1}, firm_0..firm_{config.n_firms - 1}, "
            "government_0"
        )
    if len(per_agent) != len(index.possible_agents):
        missing = [a for a in index.possible_agents if a not in per_agent]
        raise ValueError(f"{what} is missing agent id(s) {_listed(missing)}")


def _stack(
    config: RBCConfig,
    per_agent: Mapping[str, Any],
    agent_type: AgentType,
    dtype: np.dtype[Any] | type,
) -> np.ndarray:
    """{id: value} -> [1, N, ...] (or [1, ...] for the government) numpy array."""
    values = [per_agent[a] for a in agent_index(config).ids[agent_type]]
    stacked = np.asarray(values, dtype=dtype)
    return stacked[None] if _has_agent_axis(agent_type) else stacked


def obs_from_agent_dict(
    config: RBCConfig,
    obs: Mapping[str, np.ndarray],
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> dict[str, torch.Tensor]:
    """``{agent id: ndarray [D_type]}`` -> per-type tensors with a batch axis of 1.

    The inverse of ``obs_to_agent_dict``.

    Raises:
        ValueError: on unknown or missing agent ids, or rows of unequal length.
    """
    _check_keys(config, obs, "observations")
    np_dtype = torch.empty((), dtype=dtype).numpy().dtype
    return {t: torch.from_numpy(_stack(config, obs, t, np_dtype)).to(device) for t in AGENT_TYPES}


def rewards_from_agent_dict(
    config: RBCConfig,
    rewards: Mapping[str, float],
    *,
    device: torch.device | str = "cpu",
    dtype: torch.dtype = torch.float32,
) -> dict[str, torch.Tensor]:
    """``{agent id: float}`` -> ``consumer [1, C]``, ``firm [1, F]``, ``government [1]``.

    The inverse of ``rewards_to_agent_dict``.

    Raises:
        ValueError: on unknown or missing agent ids.
    """
    _check_keys(config, rewards, "rewards")
    np_dtype = torch.empty((), dtype=dtype).numpy().dtype
    return {
        t: torch.from_numpy(_stack(config, rewards, t, np_dtype)).to(device) for t in AGENT_TYPES
    }


def actions_from_agent_dict(
    config: RBCConfig,
    actions: Mapping[str, Any],
    *,
    device: torch.device | str = "cpu",
) -> dict[str, torch.Tensor]:
    """``{agent id: index array [heads]}`` -> int64 per-type tensors for the core (B = 1).

    Every agent of ``config`` needs an action (the economy steps all agents at once). Each
    action is a sequence of integer indices, one per head of the type's MultiDiscrete space.

    Args:
        config: the economy (agent counts, action grids).
        actions: one action per agent id.
        device: where the tensors are created.

    Returns:
        ``consumer [1, C, F + 2]``, ``firm [1, F, 2]``, ``government [1, 2]``, int64.

    Raises:
        ValueError: naming the agent id(s) for unknown or missing ids, and naming the agent id,
            head, allowed range and value for a non-integer, wrongly shaped or out-of-range action.
    """
    _check_keys(config, actions, "actions")
    if config.action_space == "continuous":
        return _continuous_from_agent_dict(config, actions, device)
    nvecs = action_nvec(config)
    out: dict[str, torch.Tensor] = {}
    for agent_type in AGENT_TYPES:
        ids = agent_index(config).ids[agent_type]
        nvec = np.asarray(nvecs[agent_type], dtype=np.int64)
        try:
            arr = np.asarray([actions[a] for a in ids])
        except ValueError:  # ragged rows: find the offending agent below
            arr = np.empty(0)
        if arr.shape != (len(ids), len(nvec)) or arr.dtype.kind not in "iu":
            _raise_bad_action(config, actions, agent_type)
        bad = (arr < 0) | (arr >= nvec)
        if bad.any():
            row, head = (int(i) for i in np.argwhere(bad)[0])
            raise ValueError(
                f"action of {ids[row]!r}: head {action_head_names(config)[agent_type][head]!r} "
                f"must be in [0, {nvec[head] - 1}]; got {int(arr[row, head])}"
            )
        arr = arr.astype(np.int64, copy=False)
        out[agent_type] = torch.from_numpy(arr[None] if _has_agent_axis(agent_type) else arr).to(
            device
        )
    return out


def _continuous_from_agent_dict(
    config: RBCConfig, actions: Mapping[str, Any], device: torch.device | str
) -> dict[str, torch.Tensor]:
    """``actions_from_agent_dict`` for ``action_space="continuous"``: values inside the box."""
    boxes = action_box(config)
    dtype = numpy_dtype(config)
    out: dict[str, torch.Tensor] = {}
    for agent_type in AGENT_TYPES:
        ids = agent_index(config).ids[agent_type]
        low, high = (np.asarray(b, dtype=dtype) for b in boxes[agent_type])
        rows = []
        for a in ids:
            try:
                row = np.asarray(actions[a], dtype=dtype)
            except (ValueError, TypeError) as err:
                raise ValueError(
                    f"action of {a!r} must be {len(low)} real numbers; got {actions[a]!r}"
                ) from err
            if row.shape != low.shape:
                raise ValueError(
                    f"action of {a!r} must be {len(low)} real numbers (heads "
                    f"{list(action_head_names(config)[agent_type])}); got shape {row.shape}"
                )
            bad = ~((row >= low) & (row <= high))
            if bad.any():
                head = int(np.argmax(bad))
                raise ValueError(
                    f"action of {a!r}: head {action_head_names(config)[agent_type][head]!r} "
                    f"must be in [{low[head]:g}, {high[head]:g}]; got {row[head]}"
                )
            rows.append(row)
        arr = np.stack(rows)
        out[agent_type] = torch.from_numpy(arr[None] if _has_agent_axis(agent_type) else arr).to(
            device
        )
    return out


def _raise_bad_action(config: RBCConfig, actions: Mapping[str, Any], agent_type: AgentType) -> None:
    """Find the first agent of ``agent_type`` whose action is not an integer array [heads]."""
    n_heads = len(action_nvec(config)[agent_type])
    for a in agent_index(config).ids[agent_type]:
        try:
            value = np.asarray(actions[a])
        except (ValueError, TypeError):
            value = np.asarray(actions[a], dtype=object)
        if value.shape != (n_heads,):
            raise ValueError(
                f"action of {a!r} must be a sequence of {n_heads} integer indices "
                f"(heads {list(action_head_names(config)[agent_type])}); got shape {value.shape}"
            )
        if value.dtype.kind not in "iu":
            raise ValueError(
                f"action of {a!r} must hold integer indices; got dtype {value.dtype} "
                f"({actions[a]!r})"
            )
    raise ValueError(f"{agent_type} actions could not be stacked")  # pragma: no cover


def resolve_config(
    config: RBCConfig | Mapping[str, Any] | None,
    overrides: Mapping[str, Any],
    *,
    caller: str,
    env_arguments: Sequence[str],
) -> RBCConfig:
    """The config an adapter factory builds: ``config`` with config-field ``overrides`` applied.

    Every face's factory (``parallel_env``, ``torchrl_env``) takes the same config arguments, so
    they are resolved here, once.

    Args:
        config: an ``rbc_env.RBCConfig``, a dict for ``RBCConfig.from_dict``, or ``None`` for
            the paper's open economy.
        overrides: config fields only (the caller has removed its env arguments): top-level
            names (``n_consumers``), dotted paths (``"firm.tfp"``) or nested dicts
            (``firm={"tfp": 0.02}``, which changes only the fields it names).
        caller: the factory named in error messages.
        env_arguments: the caller's env arguments, listed in the error for an unknown key.

    Returns:
        The resolved, validated config.

    Raises:
        ValueError: for a ``config`` of another type, naming the key for an argument that is
            neither an env argument nor a config field, and naming the field and range for an
            invalid value.
    """
    if config is None:
        base = RBCConfig.paper("open")
    elif isinstance(config, RBCConfig):
        base = config
    elif isinstance(config, Mapping):
        base = RBCConfig.from_dict(dict(config))
    else:
        raise ValueError(
            f"config must be an RBCConfig, a dict or None; got {type(config).__name__}"
        )
    fields = [f.name for f in dataclasses.fields(RBCConfig)]
    updates: dict[str, Any] = {}
    for key, value in overrides.items():
        if key.split(".", 1)[0] not in fields:
            raise ValueError(
                f"{caller} got an unknown argument {key!r}; allowed: env arguments "
                f"{list(env_arguments)} or RBCConfig fields {fields} (dotted paths such as "
                "'firm.tfp' for nested ones)"
            )
        updates.update(dotted_overrides(key, value))
    return base.override(updates) if updates else base


class CurriculumIteration:
    """The ``iteration`` property every face shares: the curriculum's training iteration.

    ``None`` outside training. It sets the θ factor f(e) and the action masks of iteration e;
    a face applies it at its next reset. Setting a bad iteration raises ``ValueError``
    (``rbc_env.core.theta_factor`` checks it).
    """

    config: RBCConfig
    _iteration: int | None = None

    @property
    def iteration(self) -> int | None:
        """Training iteration of the curriculum (θ factor, masks); ``None`` outside training."""
        return self._iteration

    @iteration.setter
    def iteration(self, value: int | None) -> None:
        theta_factor(self.config, value)  # raises ValueError on a bad iteration
        self._iteration = value
