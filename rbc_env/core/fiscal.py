"""Taxes and lump-sum redistribution: equations (M5), (M7), (M9) of docs/model.md."""

from __future__ import annotations

import torch


def income_tax(labor_income: torch.Tensor, rate: torch.Tensor) -> torch.Tensor:
    """Income tax paid by each consumer. Implements (M5): τ z_i.

    Args:
        labor_income: [B, C] money, gross labour income z_i.
        rate: [B] income-tax rate τ.

    Returns:
        [B, C] money.
    """
    return labor_income * rate.unsqueeze(-1)


def corporate_tax(profit: torch.Tensor, rate: torch.Tensor) -> torch.Tensor:
    """Corporate tax paid by each firm. Implements (M7): T_j = σ max(P_j, 0).

    Args:
        profit: [B, F] money, profit after investment P_j.
        rate: [B] corporate-tax rate σ.

    Returns:
        [B, F] money.
    """
    return profit.clamp(min=0) * rate.unsqueeze(-1)


def transfer(
    income_taxes: torch.Tensor, corporate_taxes: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Revenue and the transfer paid to each consumer. Implements (M9): R = Σ τ z_i + Σ T_j.

    The government holds no cash: all of R goes back lump-sum, R / C to each consumer.

    Args:
        income_taxes: [B, C] money.
        corporate_taxes: [B, F] money.

    Returns:
        revenue [B] money; transfer [B] money per consumer.
    """
    revenue = income_taxes.sum(-1) + corporate_taxes.sum(-1)
    return revenue, revenue / income_taxes.shape[-1]
