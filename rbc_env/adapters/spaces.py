"""Gymnasium spaces of the economy's agent types, built from the core's specs.

The core describes observations with framework-free ``rbc_env.core.ArraySpec`` objects and
actions with head sizes (``nvec``). This module maps them to Gymnasium spaces: an observation is a
``gymnasium.spaces.Box`` in the config's float dtype, an action a
``gymnasium.spaces.MultiDiscrete``. With action masks, an observation is a
``Dict(observation=Box, action_mask=Box(0, 1, (Σ nvec,), int8))`` (PettingZoo's convention: the
heads' masks concatenated).

Spaces carry a random generator (``space.seed``), so they are built once per environment, not
cached across environments: ``build_spaces`` returns one object per agent type, and the
environment hands out those same objects for every agent of the type.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from rbc_env.config import RBCConfig
from rbc_env.core import AGENT_TYPES, ArraySpec, action_nvec, observation_specs

__all__ = [
    "FlatMaskMultiDiscrete",
    "TypeSpaces",
    "action_space",
    "build_spaces",
    "numpy_dtype",
    "observation_space",
    "split_flat_mask",
]

_NUMPY_DTYPES = {"float32": np.float32, "float64": np.float64}


def numpy_dtype(config: RBCConfig) -> type[np.floating[Any]]:
    """The numpy float dtype named by ``config.dtype``."""
    return _NUMPY_DTYPES[config.dtype]


class FlatMaskMultiDiscrete(spaces.MultiDiscrete):
    """A ``gymnasium.spaces.MultiDiscrete`` whose ``sample`` also takes a flat mask.

    Gymnasium's ``MultiDiscrete.sample(mask=...)`` wants a tuple with one int8 mask per head.
    PettingZoo's ``action_mask`` observation for a MultiDiscrete action is the heads' masks
    concatenated (length Σ nvec), and ``pettingzoo.test`` passes that flat mask straight to
    ``sample``. This subclass accepts both forms and is otherwise identical (it compares equal to
    a plain ``MultiDiscrete`` with the same ``nvec``).
    """

    def sample(
        self,
        mask: Any = None,
        probability: Any = None,
    ) -> np.ndarray:
        """Draw one action; ``mask`` may be a tuple of per-head masks or one flat 0/1 array.

        Args:
            mask: ``None``, a tuple of int8 arrays (one per head), or an int8 array of length
                Σ nvec (the heads' masks concatenated, in head order).
            probability: passed through to ``gymnasium.spaces.MultiDiscrete.sample``.

        Returns:
            An int64 array of shape ``nvec.shape``.

        Raises:
            ValueError: if a flat mask does not have length Σ nvec.
        """
        if isinstance(mask, np.ndarray) and self.nvec.ndim == 1:
            mask = split_flat_mask(mask, self.nvec)
        return super().sample(mask=mask, probability=probability)


def split_flat_mask(mask: np.ndarray, nvec: Sequence[int] | np.ndarray) -> tuple[np.ndarray, ...]:
    """Split a flat mask (heads concatenated) into one int8 array per head.

    Raises:
        ValueError: if ``mask`` is not one-dimensional with length Σ nvec.
    """
    sizes = [int(n) for n in nvec]
    if mask.ndim != 1 or mask.shape[0] != sum(sizes):
        raise ValueError(
            f"a flat action mask must have shape ({sum(sizes)},) (Σ nvec for nvec {sizes}); "
            f"got {mask.shape}"
        )
    flat = mask.astype(np.int8, copy=False)
    return tuple(np.split(flat, np.cumsum(sizes)[:-1]))


def observation_space(spec: ArraySpec, dtype: type[np.floating[Any]]) -> spaces.Box:
    """A Box with the spec's shape and bounds, in ``dtype``."""
    return spaces.Box(low=spec.low, high=spec.high, shape=spec.shape, dtype=dtype)


def action_space(nvec: Sequence[int], *, flat_mask: bool = False) -> spaces.MultiDiscrete:
    """A MultiDiscrete with one head per entry of ``nvec`` (int64).

    Args:
        nvec: choices per head.
        flat_mask: return a ``FlatMaskMultiDiscrete``, whose ``sample`` accepts the flat
            ``action_mask`` of the observation.
    """
    cls = FlatMaskMultiDiscrete if flat_mask else spaces.MultiDiscrete
    return cls(np.asarray(nvec, dtype=np.int64), dtype=np.int64)


@dataclass(frozen=True)
class TypeSpaces:
    """The spaces of one environment: one object per agent type, plus the global state's.

    Attributes:
        observation: ``{type: Box}``, or ``{type: Dict(observation, action_mask)}`` with masks.
        action: ``{type: MultiDiscrete}``.
        state: Box of the flat global state vector (see ``RBCParallelEnv.state``).
        action_masks: whether observations carry an ``action_mask``.
    """

    observation: dict[str, spaces.Space[Any]]
    action: dict[str, spaces.MultiDiscrete]
    state: spaces.Box
    action_masks: bool


def build_spaces(config: RBCConfig, state_dim: int, *, action_masks: bool = False) -> TypeSpaces:
    """Build the spaces of every agent type of ``config`` (new objects on each call).

    Args:
        config: the economy (sizes, grids, encoding, dtype).
        state_dim: length of the flat global state vector.
        action_masks: wrap each observation as ``Dict(observation=Box, action_mask=Box)``.

    Returns:
        A ``TypeSpaces``.
    """
    dtype = numpy_dtype(config)
    specs = observation_specs(config)
    nvecs = action_nvec(config)
    obs: dict[str, spaces.Space[Any]] = {}
    act: dict[str, spaces.MultiDiscrete] = {}
    for agent_type in AGENT_TYPES:
        box = observation_space(specs[agent_type], dtype)
        nvec = nvecs[agent_type]
        if action_masks:
            mask = spaces.Box(low=0, high=1, shape=(sum(nvec),), dtype=np.int8)
            obs[agent_type] = spaces.Dict({"observation": box, "action_mask": mask})
        else:
            obs[agent_type] = box
        act[agent_type] = action_space(nvec, flat_mask=action_masks)
    state = spaces.Box(low=-np.inf, high=np.inf, shape=(state_dim,), dtype=dtype)
    return TypeSpaces(observation=obs, action=act, state=state, action_masks=action_masks)
