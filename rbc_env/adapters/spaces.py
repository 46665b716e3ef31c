"""Gymnasium spaces of the economy's agent types, built from the core's specs.

The core describes observations with framework-free ``rbc_env.core.ArraySpec`` objects and
actions with head sizes (``nvec``). This module maps them to Gymnasium spaces: an observation is a
``gymnasium.spaces.Box`` in the config's float dtype, an action a
``gymnasium.spaces.MultiDiscrete``. With action masks, an observation is a
``Dict(observation=Box, action_mask=Box(0, 1, shape, int8))``. The mask's layout is one of
``MASK_LAYOUTS`` (see ``mask_shape``): ``"flat"`` (the default, and what RLlib's masked modules in
``trainers/rllib/modules.py`` read) concatenates the heads' masks, ``(Σ nvec,)``;
``"one_hot"`` has the shape TorchRL gives the action's one-hot encoding, which differs from the
flat one only when every head has the same number of choices (the government's two tax heads):
then it is ``(H, n)``, one row per head.

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
from rbc_env.core import ArraySpec, agent_specs
from rbc_env.core.protocol import AgentSpec, DiscreteActions

__all__ = [
    "MASK_LAYOUTS",
    "FlatMaskMultiDiscrete",
    "TypeSpaces",
    "action_space",
    "build_spaces",
    "mask_shape",
    "numpy_dtype",
    "observation_space",
    "protocol_action_space",
    "split_flat_mask",
]

_NUMPY_DTYPES = {"float32": np.float32, "float64": np.float64}

MASK_LAYOUTS = ("flat", "one_hot")
"""Layouts of an ``action_mask`` observation (see ``mask_shape``)."""


def numpy_dtype(config: RBCConfig) -> type[np.floating[Any]]:
    """The numpy float dtype named by ``config.dtype``."""
    return _NUMPY_DTYPES[config.dtype]


def mask_shape(nvec: Sequence[int] | np.ndarray, layout: str = "flat") -> tuple[int, ...]:
    """The shape of one agent's ``action_mask`` for heads ``nvec`` in ``layout``.

    ``"flat"``: ``(Σ nvec,)``, the heads' masks concatenated in head order. ``"one_hot"``: the
    shape of TorchRL's one-hot encoding of a ``MultiDiscrete`` (``torchrl.envs.libs.gym``): heads
    of different sizes become one ``MultiCategorical`` whose one-hot form is ``(Σ nvec,)`` as
    well, but H heads of n choices each become a stacked ``Categorical`` of shape ``(H,)`` whose
    one-hot form is ``(H, n)``, one row per head. TorchRL's ``PettingZooWrapper`` writes each
    agent's mask into a buffer of that shape, so only this layout fits it.

    Raises:
        ValueError: for a layout outside ``MASK_LAYOUTS``.
    """
    sizes = [int(n) for n in nvec]
    if layout not in MASK_LAYOUTS:
        raise ValueError(f"mask_layout must be one of {list(MASK_LAYOUTS)}; got {layout!r}")
    if layout == "one_hot" and len(set(sizes)) == 1:
        return (len(sizes), sizes[0])
    return (sum(sizes),)


class FlatMaskMultiDiscrete(spaces.MultiDiscrete):
    """A ``gymnasium.spaces.MultiDiscrete`` whose ``sample`` also takes a flat or per-row mask.

    Gymnasium's ``MultiDiscrete.sample(mask=...)`` wants a tuple with one int8 mask per head.
    PettingZoo's ``action_mask`` observation for a MultiDiscrete action is one array: the heads'
    masks concatenated (length Σ nvec) or, in the ``"one_hot"`` layout of equal heads, one row
    per head (``mask_shape``); ``pettingzoo.test`` passes it straight to ``sample``. This
    subclass accepts all three forms and is otherwise identical (it compares equal to a plain
    ``MultiDiscrete`` with the same ``nvec``).
    """

    def sample(
        self,
        mask: Any = None,
        probability: Any = None,
    ) -> np.ndarray:
        """Draw one action; ``mask`` may be a tuple of per-head masks or one flat 0/1 array.

        Args:
            mask: ``None``, a tuple of int8 arrays (one per head), an int8 array of length
                Σ nvec (the heads' masks concatenated, in head order), or, when all H heads
                have n choices, an [H, n] array (one row per head).
            probability: passed through to ``gymnasium.spaces.MultiDiscrete.sample``.

        Returns:
            An int64 array of shape ``nvec.shape``.

        Raises:
            ValueError: if an array mask has neither shape.
        """
        if isinstance(mask, np.ndarray) and self.nvec.ndim == 1:
            if mask.ndim == 2 and mask.shape == mask_shape(self.nvec, "one_hot"):
                mask = tuple(row for row in mask.astype(np.int8, copy=False))
            else:
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


def protocol_action_space(
    spec: AgentSpec, dtype: type[np.floating[Any]], *, flat_mask: bool = False
) -> spaces.MultiDiscrete | spaces.Box:
    """One agent's action space from its protocol spec (``rbc_env.core.protocol``).

    ``DiscreteActions`` give a MultiDiscrete (``action_space``), ``BoxActions`` a Box of the
    spec's bounds in ``dtype``; ``flat_mask`` applies to discrete heads only.
    """
    if isinstance(spec.action, DiscreteActions):
        return action_space(spec.action.nvec, flat_mask=flat_mask)
    low = np.asarray(spec.action.low, dtype=dtype)
    high = np.asarray(spec.action.high, dtype=dtype)
    return spaces.Box(low=low, high=high, dtype=dtype)


@dataclass(frozen=True)
class TypeSpaces:
    """The spaces of one environment: one object per agent type, plus the global state's.

    Attributes:
        observation: ``{type: Box}``, or ``{type: Dict(observation, action_mask)}`` with masks.
        action: ``{type: MultiDiscrete}``, or ``{type: Box}`` with continuous actions.
        state: Box of the flat global state vector (see ``RBCParallelEnv.state``).
        action_masks: whether observations carry an ``action_mask``.
        mask_layout: the masks' layout, one of ``MASK_LAYOUTS`` (see ``mask_shape``).
    """

    observation: dict[str, spaces.Space[Any]]
    action: dict[str, spaces.MultiDiscrete | spaces.Box]
    state: spaces.Box
    action_masks: bool
    mask_layout: str = "flat"


def build_spaces(
    config: RBCConfig,
    state_dim: int,
    *,
    action_masks: bool = False,
    mask_layout: str = "flat",
) -> TypeSpaces:
    """Build the spaces of every agent type of ``config`` (new objects on each call).

    Args:
        config: the economy (sizes, grids, encoding, dtype).
        state_dim: length of the flat global state vector.
        action_masks: wrap each observation as ``Dict(observation=Box, action_mask=Box)``.
        mask_layout: the ``action_mask`` box's layout (``mask_shape``).

    Returns:
        A ``TypeSpaces``.

    Raises:
        ValueError: for a ``mask_layout`` outside ``MASK_LAYOUTS``, or action masks with
            continuous actions.
    """
    if mask_layout not in MASK_LAYOUTS:
        raise ValueError(f"mask_layout must be one of {list(MASK_LAYOUTS)}; got {mask_layout!r}")
    if action_masks and config.action_space != "discrete":
        raise ValueError(
            "action_masks=True needs RBCConfig.action_space='discrete'; continuous actions have "
            "no mask (the curriculum bounds them: rbc_env.core.action_bounds)"
        )
    dtype = numpy_dtype(config)
    obs: dict[str, spaces.Space[Any]] = {}
    act: dict[str, spaces.MultiDiscrete | spaces.Box] = {}
    for spec in agent_specs(config):
        agent_type = spec.agent_type
        box = observation_space(spec.observation, dtype)
        if action_masks:
            shape = mask_shape(spec.action.nvec, mask_layout)
            mask = spaces.Box(low=0, high=1, shape=shape, dtype=np.int8)
            obs[agent_type] = spaces.Dict({"observation": box, "action_mask": mask})
        else:
            obs[agent_type] = box
        act[agent_type] = protocol_action_space(spec, dtype, flat_mask=action_masks)
    state = spaces.Box(low=-np.inf, high=np.inf, shape=(state_dim,), dtype=dtype)
    return TypeSpaces(
        observation=obs,
        action=act,
        state=state,
        action_masks=action_masks,
        mask_layout=mask_layout,
    )
