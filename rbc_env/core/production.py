"""Firm technology and investment: equations (M7)-(M8) of docs/model.md."""

from __future__ import annotations

import torch

from rbc_env.config import RBCConfig


def output(
    config: RBCConfig, capital: torch.Tensor, labor: torch.Tensor, alpha: torch.Tensor
) -> torch.Tensor:
    """Cobb-Douglas output. Implements (M8): Y_j = A K_j^(1-α_j) L̃_j^(α_j).

    L̃_j = 0 if L_j < L_min else L_j, so no labour means no output (0^α = 0 for α > 0).

    Args:
        config: the economy (A, L_min).
        capital: [B, F] goods, capital before this period's investment.
        labor: [B, F] hours.
        alpha: [B, F] labour exponents.

    Returns:
        [B, F] goods / period, sellable from the next period.
    """
    effective = torch.where(labor < config.firm.labor_floor, torch.zeros_like(labor), labor)
    return config.firm.tfp * capital.pow(1 - alpha) * effective.pow(alpha)


def investment(config: RBCConfig, operating_income: torch.Tensor) -> torch.Tensor:
    """Capital bought this period. Implements (M7): ΔK_j = max(φ I_j, 0).

    Args:
        config: the economy (φ).
        operating_income: [B, F] money, I_j = revenue - wage bill.

    Returns:
        [B, F]: money spent = goods of capital added (capital is priced at 1).
    """
    return (config.firm.investment_fraction * operating_income).clamp(min=0)
