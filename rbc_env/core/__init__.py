"""The batched torch core of the RBC economy: pure torch, no RL-framework imports."""

from rbc_env.core.accounting import goods_residual, money_residual, total_money
from rbc_env.core.actions import (
    Actions,
    DecodedActions,
    action_shape,
    decode_actions,
    grid_values,
    sample_uniform_actions,
    validate_actions,
)
from rbc_env.core.dynamics import StepOutput, consumer_thetas, initial_state, step, torch_dtype
from rbc_env.core.economy import BatchedEconomy, agent_specs
from rbc_env.core.masks import action_bounds, action_masks, theta_factor
from rbc_env.core.observe import Observations, observation_specs, observe
from rbc_env.core.state import EconomyState
from rbc_env.core.types import (
    AGENT_TYPES,
    AgentType,
    ArraySpec,
    action_box,
    action_head_names,
    action_nvec,
    agent_counts,
    has_agent_axis,
)

__all__ = [
    "AGENT_TYPES",
    "Actions",
    "AgentType",
    "ArraySpec",
    "BatchedEconomy",
    "DecodedActions",
    "EconomyState",
    "Observations",
    "StepOutput",
    "action_bounds",
    "action_box",
    "action_head_names",
    "action_masks",
    "action_nvec",
    "action_shape",
    "agent_counts",
    "agent_specs",
    "consumer_thetas",
    "decode_actions",
    "goods_residual",
    "grid_values",
    "has_agent_axis",
    "initial_state",
    "money_residual",
    "observation_specs",
    "observe",
    "sample_uniform_actions",
    "step",
    "theta_factor",
    "torch_dtype",
    "total_money",
    "validate_actions",
]
