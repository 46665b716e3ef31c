"""The RLlib AlgorithmConfig of a training run: three modules, per-type settings, samplers.

:func:`build_config` turns a :class:`~trainers.config.TrainConfig` into a ray 2.60 (new API
stack) ``AlgorithmConfig``:

- one module per agent type (``consumer``, ``firm``, ``government``), agents mapped by their id's
  prefix (``"firm_3" -> "firm"``, ``"government_0" -> "government"``);
- :class:`~trainers.rllib.modules.MaskedPPOTorchRLModule` for every type; the types whose actions
  the curriculum restricts (firm, government) observe ``Dict(observation, action_mask)``;
- per-type learning rate, PPO clip, gradient clip, value-loss weight and clip as per-module
  config overrides (``multi_agent(algorithm_config_overrides_per_module=...)``); per-type reward
  scale, γ and λ are applied by the sampler;
- :class:`~trainers.rllib.learner.ProportionalPPOTorchLearner`, no KL term;
- ``sampler="batched"``: :class:`~trainers.rllib.batched.BatchedPPO` with no remote EnvRunners
  (the local EnvRunner only carries the spaces, through :class:`SpacesOnlyEnv`); one learner
  in the driver process (on the GPU where present).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.env.multi_agent_env import MultiAgentEnv

from rbc_env.adapters.spaces import action_space, observation_space
from rbc_env.config import RBCConfig
from rbc_env.core import AGENT_TYPES, action_nvec, observation_specs
from trainers.config import TrainConfig
from trainers.curriculum import masked_types
from trainers.rllib.batched import BatchedPPOConfig
from trainers.rllib.learner import NUM_MINIBATCHES_KEY, ProportionalPPOTorchLearner
from trainers.rllib.modules import MASK_KEY, OBS_KEY, MaskedPPOTorchRLModule

__all__ = [
    "SpacesOnlyEnv",
    "build_config",
    "module_spaces",
    "policy_mapping_fn",
]


def policy_mapping_fn(agent_id: str, episode: Any = None, **kwargs: Any) -> str:
    """Module of an agent: its id's type prefix (``"consumer_17" -> "consumer"``)."""
    return agent_id.rsplit("_", 1)[0]


def module_spaces(economy: RBCConfig) -> dict[str, tuple[gym.Space, gym.Space]]:
    """Observation and action space of each type's module.

    Observations are float32 boxes (the modules' dtype); the types the curriculum masks
    (:func:`trainers.curriculum.masked_types`) get ``Dict(observation, action_mask)`` with a flat
    int8 mask over the concatenated heads. Actions are MultiDiscrete over the type's heads.
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
        out[t] = (obs, action_space(nvecs[t]))
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


def build_config(train_config: TrainConfig) -> BatchedPPOConfig:
    """The AlgorithmConfig of a run (see the module docstring).

    Args:
        train_config: the run.

    Returns:
        A ``BatchedPPOConfig``; ``.build_algo()`` gives a ``BatchedPPO``.

    Raises:
        NotImplementedError: for ``sampler="env_runner"`` (needs the RLlib MultiAgentEnv adapter
            of ``rbc_env.adapters``, not written yet).
    """
    tc = train_config
    if tc.sampler != "batched":
        raise NotImplementedError(
            "TrainConfig.sampler='env_runner' needs the RLlib adapter rbc_env.adapters.rllib, "
            "which does not exist yet; use sampler='batched'"
        )
    spaces = module_spaces(tc.economy)
    specs = {}
    overrides = {}
    for t in AGENT_TYPES:
        ppo = tc.ppo(t)
        specs[t] = RLModuleSpec(
            module_class=MaskedPPOTorchRLModule,
            observation_space=spaces[t][0],
            action_space=spaces[t][1],
            model_config={
                "fcnet_hiddens": list(ppo.hidden_sizes),
                "fcnet_activation": "relu",
                "vf_share_layers": ppo.shared_trunk,
            },
        )
        overrides[t] = BatchedPPOConfig.overrides(
            lr=ppo.lr,
            clip_param=ppo.clip,
            grad_clip=None if ppo.grad_clip == float("inf") else ppo.grad_clip,
            vf_loss_coeff=ppo.vf_loss_coeff,
            vf_clip_param=ppo.vf_clip,
            gamma=ppo.gamma,
            lambda_=ppo.gae_lambda,
        )
    gpu = tc.resolved_device == "cuda"
    config = (
        BatchedPPOConfig()
        .rbc(tc)
        .environment(SpacesOnlyEnv, env_config={"spaces": spaces}, disable_env_checking=True)
        .framework("torch")
        .multi_agent(policies=list(AGENT_TYPES), policy_mapping_fn=policy_mapping_fn)
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs),
            algorithm_config_overrides_per_module=overrides,
        )
        .env_runners(num_env_runners=0)
        .learners(
            # One learner in the driver process, on the GPU where there is one.
            num_learners=0,
            num_gpus_per_learner=1 if gpu else 0,
            learner_class=ProportionalPPOTorchLearner,
            learner_config_dict={NUM_MINIBATCHES_KEY: tc.num_minibatches},
        )
        .training(
            num_epochs=tc.num_epochs,
            minibatch_size=None,
            shuffle_batch_per_epoch=tc.shuffle,
            train_batch_size_per_learner=tc.batch_size * tc.economy.horizon,
            use_kl_loss=False,
            kl_coeff=0.0,
            grad_clip_by="global_norm",
            entropy_coeff=0.0,
        )
        .reporting(
            min_time_s_per_iteration=None,
            min_sample_timesteps_per_iteration=0,
            min_train_timesteps_per_iteration=0,
        )
        .debugging(seed=tc.seed)
    )
    return config
