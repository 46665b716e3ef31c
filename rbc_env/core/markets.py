"""Goods and labour markets: budget-feasible demand, pro-rata rationing, exports.

Markets do not clear: demand is scaled to the budget, then rationed pro rata when it exceeds the
stock (spec section 5.2, phases B-F). Equations (M1)-(M3) and (M6) of docs/model.md.
"""

from __future__ import annotations

import torch

from rbc_env.config import RBCConfig


def _safe_ratio(num: torch.Tensor, den: torch.Tensor, use: torch.Tensor) -> torch.Tensor:
    """Return num / den where ``use`` holds, else 1.

    Callers guarantee den > 0 where ``use`` holds; elsewhere the quotient (possibly inf or
    nan) is computed and discarded, which costs less than masking the divisor first.
    """
    return torch.where(use, num / den, 1.0)


def budget_scale(cost: torch.Tensor, budget: torch.Tensor) -> torch.Tensor:
    """Factor that scales attempted purchases down to the budget. Implements (M1).

    ω_i = m_i / S_i if S_i > m_i else 1, where S_i = Σ_j p_j ĉ_ij; demand is d_ij = ω_i ĉ_ij, so
    Σ_j p_j d_ij <= m_i.

    Args:
        cost: [B, C] money, S_i, cost of the attempted purchases at current prices.
        budget: [B, C] money, cash m_i at the start of the period.

    Returns:
        [B, C] ω_i in [0, 1].
    """
    # Budgets are >= 0 in exact arithmetic; the clamp only keeps a round-off -1e-12 from flipping
    # the sign of demand.
    affordable = budget.clamp(min=0)
    return _safe_ratio(affordable, cost, cost > affordable)


def labor_per_firm(hours: torch.Tensor, employer: torch.Tensor, n_firms: int) -> torch.Tensor:
    """Hours delivered to each firm. Implements (M2): L_j = Σ_{i: e_i = j} n_i.

    Args:
        hours: [B, C] hours offered n_i.
        employer: [B, C] int64 firm index e_i.
        n_firms: F.

    Returns:
        [B, F] hours. Labour is never rationed: firms pay for all of it.
    """
    labor = hours.new_zeros(hours.shape[0], n_firms)
    return labor.scatter_add(1, employer, hours)


def ration(
    total_demand: torch.Tensor, inventory: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pro-rata rationing of each good. Implements (M3).

    o_j = [D_j > 0 and D_j > s_j];  r_j = s_j / D_j if o_j else 1;  c_ij = r_j d_ij.

    Args:
        total_demand: [B, F] goods, D_j = Σ_i d_ij.
        inventory: [B, F] goods, stock s_j.

    Returns:
        factor [B, F] r_j in [0, 1]; rationed [B, F] bool o_j; leftover [B, F] goods s_j - C_j,
        exactly 0 for rationed goods (they sell out).
    """
    rationed = (total_demand > 0) & (total_demand > inventory)
    factor = _safe_ratio(inventory, total_demand, rationed)
    leftover = torch.where(rationed, torch.zeros_like(inventory), inventory - total_demand)
    return factor, rationed, leftover


def foreign_demand(config: RBCConfig, price: torch.Tensor, leftover: torch.Tensor) -> torch.Tensor:
    """Units the export market buys. Implements (M6); the only place the variant acts.

    X_j = min(q_x, s_j - C_j) if the economy is open and p_j >= p_x, else 0. Paid at p_j.

    Args:
        config: the economy (variant, p_x, q_x).
        price: [B, F] money / good.
        leftover: [B, F] goods left after domestic sales.

    Returns:
        [B, F] goods exported.
    """
    if not config.open_economy:
        return torch.zeros_like(leftover)
    buys = price >= config.market.export_min_price
    quota = leftover.clamp(max=config.market.export_quota)
    return torch.where(buys, quota, torch.zeros_like(quota))
