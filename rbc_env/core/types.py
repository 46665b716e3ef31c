"""Agent types, array specs and the per-type shapes of observations and actions.

Agent types are data: one table, generic code over it. The government has no agent axis in the
core's tensors (``[B]`` rewards, ``[B, 2]`` actions); consumers and firms do
(``[B, C]``, ``[B, F]``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rbc_env.config import RBCConfig

AgentType = Literal["consumer", "firm", "government"]
AGENT_TYPES: tuple[AgentType, ...] = ("consumer", "firm", "government")


@dataclass(frozen=True, slots=True)
class ArraySpec:
    """Shape and bounds of one agent's observation (framework-free; adapters map it to spaces)."""

    shape: tuple[int, ...]
    low: float = float("-inf")
    high: float = float("inf")


def agent_counts(config: RBCConfig) -> dict[AgentType, int]:
    """Number of agents of each type."""
    return {"consumer": config.n_consumers, "firm": config.n_firms, "government": 1}


def has_agent_axis(agent_type: AgentType) -> bool:
    """Whether the core's tensors for this type carry an agent axis after the batch axis."""
    return agent_type != "government"


def action_nvec(config: RBCConfig) -> dict[AgentType, tuple[int, ...]]:
    """Number of choices of each action head, per agent type (spec section 4).

    consumer: units of each of the F goods, hours, employer; firm: next price, next wage;
    government: next income tax, next corporate tax.
    """
    f = config.n_firms
    return {
        "consumer": (config.consumer.n_units,) * f + (config.consumer.n_hours, f),
        "firm": (config.firm.n_prices, config.firm.n_wages),
        "government": (config.government.n_tax_levels,) * 2,
    }


def action_head_names(config: RBCConfig) -> dict[AgentType, tuple[str, ...]]:
    """Human-readable name of each action head, for error messages and docs."""
    goods = tuple(f"units[good {j}]" for j in range(config.n_firms))
    return {
        "consumer": goods + ("hours", "employer"),
        "firm": ("price", "wage"),
        "government": ("income_tax", "corporate_tax"),
    }


def action_box(config: RBCConfig) -> dict[AgentType, tuple[tuple[float, ...], tuple[float, ...]]]:
    """Per-head bounds ``(low, high)`` of the continuous actions (``action_space="continuous"``).

    Every head spans its grid's range, in economic units: units of each good in
    [0, (K_c - 1) Δc] goods, hours in [0, (K_n - 1) Δn], prices in [0, (K_p - 1) Δp] money / good,
    wages in [0, (K_w - 1) Δw] money / hour, both taxes in [0, (K_τ - 1) Δτ]. The employer is a
    real e in [0, F] that names firm min(⌊e⌋, F - 1), so each firm owns an interval of width 1.
    """
    f = config.n_firms
    top = {
        "consumer": config.units_grid[-1:] * f + (config.hours_grid[-1], float(f)),
        "firm": (config.price_grid[-1], config.wage_grid[-1]),
        "government": (config.tax_grid[-1],) * 2,
    }
    return {t: ((0.0,) * len(high), tuple(float(h) for h in high)) for t, high in top.items()}
