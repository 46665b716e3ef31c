"""The RLlib trainer (ray 2.60, new API stack): config builder, batched sampler, learner, modules.

Importing this package imports ray. Entry points: :func:`trainers.rllib.algo.build_config`,
:class:`trainers.rllib.batched.BatchedPPO`.
"""

from trainers.rllib.algo import SpacesOnlyEnv, build_config, module_spaces, policy_mapping_fn
from trainers.rllib.batched import BatchedPPO, BatchedPPOConfig
from trainers.rllib.learner import ProportionalPPOTorchLearner
from trainers.rllib.modules import MaskedPPOTorchRLModule

__all__ = [
    "BatchedPPO",
    "BatchedPPOConfig",
    "MaskedPPOTorchRLModule",
    "ProportionalPPOTorchLearner",
    "SpacesOnlyEnv",
    "build_config",
    "module_spaces",
    "policy_mapping_fn",
]
