"""Per-step rewards of each agent type: equations (M4), (M7), (M11) of docs/model.md."""

from __future__ import annotations

import torch

from rbc_env.config import RBCConfig


def goods_utility(config: RBCConfig, consumption: torch.Tensor) -> torch.Tensor:
    """CRRA utility of goods. Implements (M4): Σ_j ((c_ij + 1)^(1-η) - 1) / (1-η).

    Args:
        config: the economy (η).
        consumption: [B, C, F] goods.

    Returns:
        [B, C] utility.
    """
    one_minus_eta = 1.0 - config.consumer.crra_eta
    # exp((1-η) log(1+c)) in place: one temporary instead of three (the step's costliest term).
    powered = torch.log1p(consumption).mul_(one_minus_eta).exp_().sum(-1)
    return (powered - consumption.shape[-1]) / one_minus_eta


def labor_disutility(config: RBCConfig, hours: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Disutility of work. Implements (M4): (θ_i / 2) n_i^κ (κ = 1 in the paper: linear).

    Args:
        config: the economy (κ).
        hours: [B, C] hours.
        theta: [B, C] utility / hour^κ, θ_i after the curriculum factor.

    Returns:
        [B, C] utility.
    """
    return 0.5 * theta * hours.pow(config.consumer.labor_exponent)


def government_reward(
    config: RBCConfig, consumer_reward: torch.Tensor, firm_reward: torch.Tensor
) -> torch.Tensor:
    """Social welfare. Implements (M11): r^g = Σ_i r^c_i + λ_f Σ_j r^f_j.

    Args:
        config: the economy (λ_f).
        consumer_reward: [B, C].
        firm_reward: [B, F] money.

    Returns:
        [B] welfare.
    """
    weight = config.government.firm_welfare_weight
    return consumer_reward.sum(-1) + weight * firm_reward.sum(-1)
