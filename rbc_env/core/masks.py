"""Curriculum quantities the economy needs: action masks and the θ factor (spec 9.4, (M14)).

Continuous actions (``RBCConfig.action_space="continuous"``) get the masks' windows as bounds
(``action_bounds``): the same intervals, every value inside them allowed.

Pure functions of the config and a training-iteration number e; ``None`` means "outside training":
no mask and the full labour disutility.
"""

from __future__ import annotations

import math

import torch

from rbc_env.config import RBCConfig
from rbc_env.core.types import AgentType, action_box, action_nvec

# Grid values within this fraction of a grid step of a bound count as on it (0.6000000000000001).
_GRID_TOLERANCE = 1e-9


def theta_factor(config: RBCConfig, iteration: int | None) -> float:
    """Labour-disutility factor f(e) = 1 - exp(-e / τ_θ); 1 when ``iteration`` is None."""
    if iteration is None:
        return 1.0
    _check_iteration(iteration)
    return 1.0 - math.exp(-iteration / config.curriculum.theta_decay_iters)


def _check_iteration(iteration: int) -> None:
    if isinstance(iteration, bool) or not isinstance(iteration, int) or iteration < 0:
        raise ValueError(f"iteration must be an integer in [0, inf); got {iteration!r}")


def _window(grid: tuple[float, ...], center: float, opened: float, step: float) -> list[bool]:
    """Grid points inside [c - (c - min) f, c + (max - c) f], f = opened fraction in [0, 1]."""
    lo = center - (center - grid[0]) * opened
    hi = center + (grid[-1] - center) * opened
    tol = _GRID_TOLERANCE * step
    return [lo - tol <= v <= hi + tol for v in grid]


def action_masks(
    config: RBCConfig, iteration: int | None, device: torch.device | str = "cpu"
) -> dict[AgentType, torch.Tensor]:
    """Allowed actions at training iteration e, per type, as flat boolean masks. Implements (M14).

    The mask of a type concatenates its heads' masks, length Σ nvec (the flat layout of
    PettingZoo's "action_mask" observations and TorchRL's one-hot actions, except that TorchRL
    gives H equal heads an [H, n] mask; Gymnasium's ``MultiDiscrete.sample``
    wants the per-head split instead: ``torch.split(mask, nvec)``). Consumers are never masked.
    Firms: price p allowed iff p_c - (p_c - p_min) e/T_a <= p <= p_c + (p_max - p_c) e/T_a, and
    the same for wages around w_c (e/T_a capped at 1). Government: τ and σ allowed iff
    <= max(e - e_τ, 0) / T_a.

    Args:
        config: the economy (grids and curriculum parameters).
        iteration: training iteration e >= 0, or None for no masking.
        device: where the masks are created.

    Returns:
        ``{type: bool tensor [Σ nvec]}``.
    """
    nvec = action_nvec(config)
    if iteration is None:
        return {k: torch.ones(sum(v), dtype=torch.bool, device=device) for k, v in nvec.items()}
    _check_iteration(iteration)
    cur = config.curriculum
    opened = min(iteration, cur.mask_anneal_iters) / cur.mask_anneal_iters
    price = _window(config.price_grid, cur.firm_mask_price_center, opened, config.firm.price_step)
    wage = _window(config.wage_grid, cur.firm_mask_wage_center, opened, config.firm.wage_step)
    top_tax = max(iteration - cur.tax_mask_start, 0) / cur.mask_anneal_iters
    tol = _GRID_TOLERANCE * config.government.tax_step
    tax = [v <= top_tax + tol for v in config.tax_grid]
    flat = {
        "consumer": [True] * sum(nvec["consumer"]),
        "firm": price + wage,
        "government": tax + tax,
    }
    return {k: torch.tensor(v, dtype=torch.bool, device=device) for k, v in flat.items()}


def action_bounds(
    config: RBCConfig, iteration: int | None, device: torch.device | str = "cpu"
) -> dict[AgentType, tuple[torch.Tensor, torch.Tensor]]:
    """Allowed continuous actions at training iteration e: ``(low [H], high [H])`` per type.

    The continuous form of (M14), the intervals of ``action_masks`` with every value inside
    allowed: firm prices in [p_c - (p_c - p_min) f, p_c + (p_max - p_c) f] with f = min(e / T_a, 1),
    wages likewise around w_c, both taxes in [0, min(max(e - e_τ, 0) / T_a, τ_max)]; consumers
    and ``iteration=None`` get the whole box (``rbc_env.core.types.action_box``). Tensors in
    float64 (callers cast).
    """
    box = action_box(config)
    out = {}
    for t, (low, high) in box.items():
        lo = torch.tensor(low, dtype=torch.float64, device=device)
        hi = torch.tensor(high, dtype=torch.float64, device=device)
        out[t] = (lo, hi)
    if iteration is None:
        return out
    _check_iteration(iteration)
    cur = config.curriculum
    opened = min(iteration, cur.mask_anneal_iters) / cur.mask_anneal_iters
    firm_lo, firm_hi = out["firm"]
    for head, center in enumerate((cur.firm_mask_price_center, cur.firm_mask_wage_center)):
        firm_lo[head] = center - (center - firm_lo[head]) * opened
        firm_hi[head] = center + (firm_hi[head] - center) * opened
    top_tax = max(iteration - cur.tax_mask_start, 0) / cur.mask_anneal_iters
    gov_hi = out["government"][1]
    gov_hi.clamp_(max=top_tax)
    return out
