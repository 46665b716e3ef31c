"""rbc-marl: many-agent real-business-cycle economies as batched torch tensors.

``import rbc_env`` pulls in torch only; the PettingZoo, Gymnasium and RLlib adapters load on first
use (``parallel_env``, ``env``, ``torchrl_env``, ``single_type_env``, ``single_agent_env``,
``growth_env``, ``growth_parallel_env``, ``growth_aec_env``).
``parallel_env`` and ``env`` are PettingZoo's standard factory pair, so ``rbc_env`` can be
handed to tools that take an env module (``pettingzoo.test.max_cycles_test(rbc_env)``).
"""

from __future__ import annotations

from typing import Any

from rbc_env.config import (
    ConsumerParams,
    CurriculumParams,
    FirmParams,
    GovernmentParams,
    MarketParams,
    RBCConfig,
    ReferenceParity,
)
from rbc_env.core import BatchedEconomy, EconomyState, StepOutput, action_masks
from rbc_env.core.protocol import (
    AgentSpec,
    BoxActions,
    DiscreteActions,
    Economy,
    with_agent_axis,
    without_agent_axis,
)

__all__ = [
    "AgentSpec",
    "BatchedEconomy",
    "BoxActions",
    "ConsumerParams",
    "CurriculumParams",
    "DiscreteActions",
    "Economy",
    "EconomyState",
    "FirmParams",
    "GovernmentParams",
    "MarketParams",
    "RBCConfig",
    "ReferenceParity",
    "StepOutput",
    "action_masks",
    "env",
    "growth_aec_env",
    "growth_env",
    "growth_parallel_env",
    "parallel_env",
    "single_agent_env",
    "single_type_env",
    "torchrl_env",
    "with_agent_axis",
    "without_agent_axis",
]

__version__ = "0.1.0"


def parallel_env(config: RBCConfig | None = None, **overrides: Any) -> Any:
    """The PettingZoo ``ParallelEnv`` of one economy (``rbc_env.adapters.pettingzoo``)."""
    from rbc_env.adapters.pettingzoo import parallel_env as _parallel_env

    return _parallel_env(config, **overrides)


def env(config: RBCConfig | None = None, **overrides: Any) -> Any:
    """The PettingZoo AEC env of one economy (``rbc_env.adapters.pettingzoo.env``).

    ``parallel_to_aec`` of ``parallel_env(config, **overrides)``, for AEC-based tools; it
    takes the same arguments, ``max_cycles`` included.
    """
    from rbc_env.adapters.pettingzoo import env as _env

    return _env(config, **overrides)


def growth_env(config: Any = None, **overrides: Any) -> Any:
    """The Gymnasium env of a growth planner economy (``rbc_env.adapters.gymnasium``)."""
    from rbc_env.adapters.gymnasium import growth_env as _growth_env

    return _growth_env(config, **overrides)


def growth_parallel_env(config: Any = None, **overrides: Any) -> Any:
    """The PettingZoo env of any growth economy (``rbc_env.adapters.pettingzoo``)."""
    from rbc_env.adapters.pettingzoo import growth_parallel_env as _growth_parallel_env

    return _growth_parallel_env(config, **overrides)


def growth_aec_env(config: Any = None, **overrides: Any) -> Any:
    """The PettingZoo AEC env of any growth economy (``rbc_env.adapters.pettingzoo``)."""
    from rbc_env.adapters.pettingzoo import growth_aec_env as _growth_aec_env

    return _growth_aec_env(config, **overrides)


def torchrl_env(config: RBCConfig | None = None, **kwargs: Any) -> Any:
    """The batched TorchRL env of B economies (``rbc_env.adapters.torchrl``).

    Needs the optional extra: ``pip install -e ".[torchrl]"``.
    """
    from rbc_env.adapters.torchrl import torchrl_env as _torchrl_env

    return _torchrl_env(config, **kwargs)


def single_type_env(config: RBCConfig | None = None, **kwargs: Any) -> Any:
    """One agent type of B economies as a Gymnasium ``VectorEnv``, the others following a policy.

    ``rbc_env.adapters.single_type.single_type_env``: for single-space libraries
    (Stable-Baselines3, Tianshou, SuperSuit's vector stack).
    """
    from rbc_env.adapters.single_type import single_type_env as _single_type_env

    return _single_type_env(config, **kwargs)


def single_agent_env(config: RBCConfig | None = None, **kwargs: Any) -> Any:
    """One agent of one economy as a Gymnasium ``Env`` (``rbc_env.adapters.single_type``)."""
    from rbc_env.adapters.single_type import single_agent_env as _single_agent_env

    return _single_agent_env(config, **kwargs)
