"""The modules' spaces and the agent-to-module mapping of the RBC economy's RLlib runs.

Shared by ``trainers.rllib.algo`` (the AlgorithmConfig) and ``trainers.rllib.env_runner`` (the
env-runner sampler's env), so neither imports the other for them.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from rbc_env.adapters.spaces import action_space, observation_space
from rbc_env.config import RBCConfig
from rbc_env.core import AGENT_TYPES, action_nvec, observation_specs
from trainers.curriculum import masked_types
from trainers.rllib.modules import MASK_KEY, OBS_KEY

__all__ = ["SpacesOnlyEnv", "module_spaces", "policy_mapping_fn"]


def policy_mapping_fn(agent_id: str, episode: Any = None, **kwargs: Any) -> str:
    """Module of an agent: its id's type prefix (``"consumer_17" -> "consumer"``)."""
    return agent_id.rsplit("_", 1)[0]


def module_spaces(economy: RBCConfig) -> dict[str, tuple[gym.Space, gym.Space]]:
    """Observation and action space of each type's module.

    Observations are float32 boxes (the modules' dtype); the types the curriculum masks
    (``trainers.curriculum.masked_types``) get ``Dict(observation, action_mask)`` with a flat
    int8 mask over the concatenated heads. Actions are MultiDiscrete over the type's heads, or,
    with ``action_space="continuous"``, a float32 ``Box(-1, 1, (H,))``: the policy's raw action
    (its tanh is the position in the economy's box; ``trainers.rllib.heads``).
    """
    specs = observation_specs(economy)
    nvecs = action_nvec(economy)
    masked = masked_types(economy)
    out: dict[str, tuple[gym.Space, gym.Space]] = {}
    for t in AGENT_TYPES:
        obs: gym.Space = observation_space(specs[t], np.float32)
        if t in masked:
            mask = gym.spaces.Box(0, 1, shape=(sum(nvecs[t]),), dtype=np.int8)
            obs = gym.spaces.Dict({OBS_KEY: obs, MASK_KEY: mask})
        if economy.action_space == "continuous":
            act: gym.Space = gym.spaces.Box(-1.0, 1.0, (len(nvecs[t]),), np.float32)
        else:
            act = action_space(nvecs[t])
        out[t] = (obs, act)
    return out


class SpacesOnlyEnv(MultiAgentEnv):
    """A MultiAgentEnv that only carries spaces (one agent per type), for BatchedPPO.

    RLlib 2.60 always builds a local EnvRunner, which needs an env; BatchedPPO samples from
    ``BatchedEconomy`` directly, so this env is never stepped.

    Args:
        config: ``{"spaces": {module_id: (observation_space, action_space)}}``.
    """

    def __init__(self, config: dict[str, Any] | None = None) -> None:
        super().__init__()
        spaces = dict((config or {})["spaces"])
        self.possible_agents = [f"{mid}_0" for mid in spaces]
        self.agents = list(self.possible_agents)
        self.observation_spaces = {f"{mid}_0": s[0] for mid, s in spaces.items()}
        self.action_spaces = {f"{mid}_0": s[1] for mid, s in spaces.items()}

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> Any:
        """Not supported: BatchedPPO never samples through EnvRunners."""
        raise RuntimeError("SpacesOnlyEnv only carries spaces; BatchedPPO samples BatchedEconomy")

    def step(self, action_dict: dict[str, Any]) -> Any:
        """Not supported: BatchedPPO never samples through EnvRunners."""
        raise RuntimeError("SpacesOnlyEnv only carries spaces; BatchedPPO samples BatchedEconomy")
