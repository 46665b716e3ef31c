"""Parameters and closed-form solutions of the growth family (spec G1, G2, G3).

Technology ``y = z k^alpha l^(1 - alpha)``, ``log z' = rho log z + sigma eps``, ``eps ~ N(0, 1)``;
preferences ``E sum_t beta^t u(c_t, l_t)``. Units: capital, output and consumption are in goods
per period (output at ``k = z = l = 1`` is one good); hours ``l`` are a fraction of the time
endowment; values are in utils.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

from rbc_env.config import GrowthParams

__all__ = [
    "GrowthParams",
    "g1_policy",
    "g1_saving_share",
    "g1_steady_state",
    "g1_value",
    "g2_hours",
    "g3_steady_state",
]


def g1_saving_share(p: GrowthParams) -> float:
    """G1 optimal saving share of output, ``s* = alpha beta`` (dimensionless).

    Args:
        p: parameters (only ``alpha``, ``beta`` are read).

    Returns:
        ``alpha * beta`` (0.342 at the defaults).
    """
    return p.alpha * p.beta


def g1_policy(p: GrowthParams, k: ArrayLike, z: ArrayLike) -> np.ndarray:
    """G1 optimal next capital, ``k' = alpha beta z k^alpha`` (goods).

    Args:
        p: parameters (``delta = 1``, log utility assumed).
        k: capital today (goods), positive.
        z: productivity level (not its log), positive.

    Returns:
        Next-period capital, broadcast over ``k`` and ``z``.
    """
    k = np.asarray(k, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    return p.alpha * p.beta * z * k**p.alpha


def g1_value(p: GrowthParams, k: ArrayLike, z: ArrayLike) -> np.ndarray:
    """G1 exact value (utils) of the Brock-Mirman planner.

    ``V(k, z) = a + alpha/(1 - alpha beta) ln k + ln z / ((1 - alpha beta)(1 - rho beta))`` with
    ``a = [ln(1 - alpha beta) + alpha beta/(1 - alpha beta) ln(alpha beta)] / (1 - beta)``.

    Args:
        p: parameters (``delta = 1``, log utility assumed).
        k: capital (goods), positive.
        z: productivity level (not its log), positive.

    Returns:
        Lifetime utility in utils, broadcast over ``k`` and ``z``.
    """
    ab = p.alpha * p.beta
    a = (math.log(1.0 - ab) + ab / (1.0 - ab) * math.log(ab)) / (1.0 - p.beta)
    k = np.asarray(k, dtype=np.float64)
    z = np.asarray(z, dtype=np.float64)
    return a + p.alpha / (1.0 - ab) * np.log(k) + np.log(z) / ((1.0 - ab) * (1.0 - p.rho * p.beta))


def g1_steady_state(p: GrowthParams) -> float:
    """G1 deterministic steady state ``k* = (alpha beta)^(1/(1 - alpha))`` (goods).

    Args:
        p: parameters.

    Returns:
        Steady-state capital (0.1870 at the defaults).
    """
    return (p.alpha * p.beta) ** (1.0 / (1.0 - p.alpha))


def g2_hours(p: GrowthParams) -> float:
    """G2 optimal hours ``l* = (1 - alpha) / (b (1 - alpha beta) + (1 - alpha))`` (time share).

    From the labor first-order condition ``b / (1 - l) = (1 - alpha) y / (c l)`` with the
    consumption share ``c / y = 1 - alpha beta``; hours are constant over states.

    Args:
        p: parameters (``u = ln c + b ln(1 - l)``, ``delta = 1``).

    Returns:
        Hours as a fraction of the time endowment (0.16285 at the defaults).
    """
    one_m_a = 1.0 - p.alpha
    return one_m_a / (p.b * (1.0 - p.alpha * p.beta) + one_m_a)


def g3_steady_state(p: GrowthParams) -> float:
    """G3 deterministic steady state ``k_ss = (alpha / (1/beta - 1 + delta))^(1/(1 - alpha))``.

    Labor is normalized to ``l = 1``; the value solves ``1 = beta (alpha k^(alpha-1) + 1 - delta)``.

    Args:
        p: parameters.

    Returns:
        Steady-state capital (goods).
    """
    return (p.alpha / (1.0 / p.beta - 1.0 + p.delta)) ** (1.0 / (1.0 - p.alpha))
