"""Ground-truth economies of the growth family (G1-G7, docs/ground_truth.md).

Pure torch and batched like the RBC core (no gymnasium, pettingzoo or ray import); the exact
solutions are in :mod:`rbc_env.truth` and the accuracy metrics in :mod:`rbc_env.truth.metrics`.
"""

from rbc_env.growth.economy import (
    GrowthEconomy,
    GrowthState,
    GrowthStep,
    SteadyState,
    action_dims,
    action_ranges,
    agent_counts,
    agent_specs,
    agent_types,
    controls_from_raw,
    global_state,
    global_state_dim,
    initial_state,
    marginal_utility,
    n_capital,
    observation_specs,
    observe,
    raw_from_controls,
    restricted_mask,
    steady_state,
    step,
    utility,
)

__all__ = [
    "GrowthEconomy",
    "GrowthState",
    "GrowthStep",
    "SteadyState",
    "action_dims",
    "action_ranges",
    "agent_counts",
    "agent_specs",
    "agent_types",
    "controls_from_raw",
    "global_state",
    "global_state_dim",
    "initial_state",
    "marginal_utility",
    "n_capital",
    "observation_specs",
    "observe",
    "raw_from_controls",
    "restricted_mask",
    "steady_state",
    "step",
    "utility",
]
