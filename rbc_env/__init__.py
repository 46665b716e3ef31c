"""rbc-marl: many-agent real-business-cycle economies as batched torch tensors.

``import rbc_env`` pulls in torch only; the PettingZoo, Gymnasium and RLlib adapters load on first
use (``parallel_env``, ``growth_env``, ``growth_parallel_env``).
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

__all__ = [
    "BatchedEconomy",
    "ConsumerParams",
    "CurriculumParams",
    "EconomyState",
    "FirmParams",
    "GovernmentParams",
    "MarketParams",
    "RBCConfig",
    "ReferenceParity",
    "StepOutput",
    "action_masks",
    "growth_env",
    "growth_parallel_env",
    "parallel_env",
]

__version__ = "0.1.0"


def parallel_env(config: RBCConfig | None = None, **overrides: Any) -> Any:
    """The PettingZoo ``ParallelEnv`` of one economy (``rbc_env.adapters.pettingzoo``)."""
    from rbc_env.adapters.pettingzoo import parallel_env as _parallel_env

    return _parallel_env(config, **overrides)


def growth_env(config: Any = None, **overrides: Any) -> Any:
    """The Gymnasium env of a growth planner economy (``rbc_env.adapters.gymnasium``)."""
    from rbc_env.adapters.gymnasium import growth_env as _growth_env

    return _growth_env(config, **overrides)


def growth_parallel_env(config: Any = None, **overrides: Any) -> Any:
    """The PettingZoo env of any growth economy (``rbc_env.adapters.growth_pettingzoo``)."""
    from rbc_env.adapters.growth_pettingzoo import growth_parallel_env as _growth_parallel_env

    return _growth_parallel_env(config, **overrides)
