"""Numerical ground truth for the growth family (G1-G3, G6, docs/ground_truth.md).

- :mod:`rbc_env.truth.growth`: parameters and closed forms (G1 policy and value; G2 hours and
  the G3 steady state are the model's, :mod:`rbc_env.growth`, re-exported).
- :mod:`rbc_env.truth.solver`: an endogenous-grid solver for G3 (any ``delta``, CRRA ``gamma``,
  inelastic labor) that reports its own Euler-equation errors.
- :mod:`rbc_env.truth.g6`: the G6 competitive equilibrium with adjustment costs and dividends
  (endogenous grid, its own Euler errors) and the Bertrand benchmarks of the posted-price game.
"""

from rbc_env.truth.g6 import (
    BertrandRange,
    G6Solution,
    g6_bertrand,
    g6_euler_errors,
    g6_monopoly,
    g6_steady_state,
    solve_g6,
)
from rbc_env.truth.growth import (
    GrowthParams,
    g1_policy,
    g1_saving_share,
    g1_steady_state,
    g1_value,
    g2_hours,
    g3_steady_state,
)
from rbc_env.truth.solver import GrowthSolution, euler_errors, rouwenhorst, solve_growth

__all__ = [
    "BertrandRange",
    "G6Solution",
    "GrowthParams",
    "GrowthSolution",
    "euler_errors",
    "g1_policy",
    "g1_saving_share",
    "g1_steady_state",
    "g1_value",
    "g2_hours",
    "g3_steady_state",
    "g6_bertrand",
    "g6_euler_errors",
    "g6_monopoly",
    "g6_steady_state",
    "rouwenhorst",
    "solve_g6",
    "solve_growth",
]
