"""The growth family's module spaces and deterministic policy (Gaussian policies).

``trainers.rllib.batched.BatchedPPO`` trains the growth economies G1-G7 with the same rollout
loop as the RBC economy, in its continuing mode (``rollout_length`` periods per iteration;
economies restart after ``horizon`` periods, a truncation that bootstraps from V of the last
state), with ``trainers.rllib.heads.GaussianHeads``: raw actions a = μ + σ ξ, ξ from the
economy's generator; the economy receives a clamped to ``[-action_bound, action_bound]``, the
learner sees the unclamped draw, whose log-probability it recomputes. GAE uses γ = β of the
economy.

``critic="centralized"`` appends the economy's global state to every row; the module's value
network reads it, its policy network does not (``trainers.rllib.gaussian``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from rbc_env.config import GrowthConfig
from rbc_env.growth import global_state_dim, observation_specs
from rbc_env.growth.economy import action_dims
from trainers.config import TrainConfig
from trainers.rllib.heads import GaussianHeads

__all__ = ["growth_module_spaces", "module_policy"]


def growth_module_spaces(tc: TrainConfig) -> dict[str, tuple[gym.Space, gym.Space]]:
    """Observation (own obs, plus the global state for a centralized critic) and action boxes."""
    econ = tc.economy
    specs = observation_specs(econ)
    dims = action_dims(econ)
    extra = global_state_dim(econ) if tc.critic == "centralized" else 0
    bound = econ.action_bound
    out = {}
    for t, spec in specs.items():
        width = spec.shape[0] + extra
        obs = gym.spaces.Box(-np.inf, np.inf, (width,), np.float32)
        act = gym.spaces.Box(-bound, bound, (dims[t],), np.float32)
        out[t] = (obs, act)
    return out


def module_policy(
    modules: Any, config: GrowthConfig, *, centralized: bool = False
) -> Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    """A deterministic policy (the Gaussian means) for ``rbc_env.truth.metrics``.

    Args:
        modules: a mapping ``type -> GaussianPPOTorchRLModule`` (a MultiRLModule works).
        config: the economy (for the action bound).
        centralized: unused by the policy (the mean reads only the own observation); kept so
            callers can pass the run's critic setting.

    Returns:
        ``policy(obs) -> raw actions`` per type, ``[B, n, A]`` clamped to the action bound,
        in the observations' dtype.
    """
    heads = GaussianHeads(config.action_bound)

    @torch.no_grad()
    def policy(obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {}
        for t, x in obs.items():
            module = modules[t]
            param = next(module.parameters())
            rows = x.reshape(-1, x.shape[-1]).to(param.device, param.dtype)
            mean = heads.to_economy(module.mean(rows))
            out[t] = mean.reshape(x.shape[0], x.shape[1], -1).to(x.device, x.dtype)
        return out

    del centralized
    return policy
