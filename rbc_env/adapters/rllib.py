"""RLlib ``MultiAgentEnv`` over one economy: the stock env-runner path (interop, scale-out).

A direct subclass of RLlib's ``MultiAgentEnv`` wrapping ``RBCParallelEnv`` (RLlib's own
``ParallelPettingZooEnv`` orders agents through a set and never updates ``agents``; see
docs/howto/interop.md). It converts nothing itself: observations, rewards and
actions pass through as numpy, and the economics stay in the core. This is the only module of
``rbc_env`` that imports ray; ``import rbc_env`` does not load it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ray.rllib.env.multi_agent_env import MultiAgentEnv
from ray.tune.registry import register_env

from rbc_env.adapters.pettingzoo import RBCParallelEnv, parallel_env

ENV_NAME = "rbc"


class RBCMultiAgentEnv(MultiAgentEnv):
    """One RBC economy as an RLlib multi-agent env (``consumer_i``, ``firm_j``, ``government_0``).

    Args:
        env_config: RLlib's env config (an ``EnvContext`` or a dict): ``config`` (an
            ``RBCConfig`` or its dict), ``overrides`` (dotted config paths), ``action_masks``,
            ``seed`` and ``iteration`` (curriculum iteration applied at every reset until
            ``set_iteration`` changes it). The seed is offset by RLlib's ``worker_index`` and
            ``vector_index`` so that env copies draw different streams.

    Raises:
        ValueError: naming an unknown ``env_config`` key or a bad config value.
    """

    KEYS = ("config", "overrides", "action_masks", "seed", "iteration")

    def __init__(self, env_config: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        env_config = dict(env_config or {})
        unknown = sorted(set(env_config) - set(self.KEYS))
        if unknown:
            raise ValueError(f"env_config has unknown key(s) {unknown}; allowed: {list(self.KEYS)}")
        seed = env_config.get("seed")
        if seed is not None:
            worker = getattr(env_config, "worker_index", 0)
            vector = getattr(env_config, "vector_index", 0)
            seed = int(seed) + 1000 * worker + vector
        self.par_env: RBCParallelEnv = parallel_env(
            env_config.get("config"),
            action_masks=bool(env_config.get("action_masks", False)),
            seed=seed,
            **dict(env_config.get("overrides") or {}),
        )
        self.par_env.iteration = env_config.get("iteration")
        self.possible_agents = list(self.par_env.possible_agents)
        self.agents = list(self.possible_agents)
        self.observation_spaces = dict(self.par_env.observation_spaces)
        self.action_spaces = dict(self.par_env.action_spaces)

    @property
    def economy(self) -> Any:
        """The wrapped ``BatchedEconomy`` (B = 1)."""
        return self.par_env.economy

    def set_iteration(self, iteration: int | None) -> None:
        """Set the curriculum iteration (θ factor and masks) used from the next reset on."""
        self.par_env.iteration = iteration

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start an episode (see ``RBCParallelEnv.reset``)."""
        obs, infos = self.par_env.reset(seed=seed, options=options)
        self.agents = list(self.par_env.agents)
        return obs, infos

    def step(self, action_dict: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Advance one period; episodes end by truncation at the horizon (``__all__``)."""
        obs, rewards, terms, truncs, infos = self.par_env.step(action_dict)
        self.agents = list(self.par_env.agents)
        terms["__all__"] = False
        truncs["__all__"] = not self.agents
        return obs, rewards, terms, truncs, infos

    def render(self) -> str | None:
        """Render through the PettingZoo env (its ``render_mode``)."""
        return self.par_env.render()


def register(name: str = ENV_NAME) -> str:
    """Register the env with RLlib's registry under ``name``; returns the name."""
    register_env(name, lambda env_config: RBCMultiAgentEnv(env_config))
    return name
