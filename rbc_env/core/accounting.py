"""Money and goods accounting: the identities of spec section 5.3 as residuals.

Used by the tests (every step, under random actions) and available to users as diagnostics. A
residual is 0 up to floating-point rounding for any actions.
"""

from __future__ import annotations

import torch

from rbc_env.config import RBCConfig
from rbc_env.core.state import EconomyState


def total_money(state: EconomyState) -> torch.Tensor:
    """[B] money held by all consumers and firms (the government holds none)."""
    return state.consumer_budget.sum(-1) + state.firm_budget.sum(-1)


def money_residual(
    config: RBCConfig, before: EconomyState, after: EconomyState, flows: dict[str, torch.Tensor]
) -> torch.Tensor:
    """[B] change in total money minus its sources. Implements the identity of (M12).

    Σ Δm_i + Σ ΔM_j = ε_B C + Σ_j p_j X_j - Σ_j ΔK_j + interest: consumer spending is firm
    revenue, wages paid are wages earned, taxes collected are taxes redistributed.
    """
    sources = (
        config.parity.budget_epsilon * config.n_consumers
        + (before.price * flows["exports"]).sum(-1)
        - flows["investment"].sum(-1)
        + flows["consumer_interest"].sum(-1)
        + flows["firm_interest"].sum(-1)
    )
    return total_money(after) - total_money(before) - sources


def goods_residual(
    before: EconomyState, after: EconomyState, flows: dict[str, torch.Tensor]
) -> torch.Tensor:
    """[B, F] next stock minus its law of motion s_j - C_j - X_j + Y_j. Implements (M12)."""
    expected = before.inventory - flows["sales"] - flows["exports"] + flows["production"]
    return after.inventory - expected
