"""The RLlib trainer (ray 2.60, new API stack): config builder, samplers, learner, modules.

Importing this package imports ray. Entry points: ``trainers.rllib.algo.build_config``,
``trainers.rllib.batched.BatchedPPO`` (``sampler="batched"``) and
``trainers.rllib.env_runner.EnvRunnerPPO`` (``sampler="env_runner"``).
"""

from trainers.rllib.algo import build_config
from trainers.rllib.batched import BatchedPPO, BatchedPPOConfig
from trainers.rllib.env_runner import (
    CurriculumCallbacks,
    EnvRunnerPPO,
    EnvRunnerPPOConfig,
    EnvRunnerPPOTorchLearner,
    LeanMultiAgentEnvRunner,
    RBCModuleEnv,
)
from trainers.rllib.learner import ProportionalPPOTorchLearner
from trainers.rllib.modules import MaskedPPOTorchRLModule
from trainers.rllib.spaces import SpacesOnlyEnv, module_spaces, policy_mapping_fn

__all__ = [
    "BatchedPPO",
    "BatchedPPOConfig",
    "CurriculumCallbacks",
    "EnvRunnerPPO",
    "EnvRunnerPPOConfig",
    "EnvRunnerPPOTorchLearner",
    "LeanMultiAgentEnvRunner",
    "MaskedPPOTorchRLModule",
    "ProportionalPPOTorchLearner",
    "RBCModuleEnv",
    "SpacesOnlyEnv",
    "build_config",
    "module_spaces",
    "policy_mapping_fn",
]
