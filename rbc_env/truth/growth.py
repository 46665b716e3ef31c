"""Parameters and closed-form solutions of the growth family (spec G1, G2, G3, G5, G6).

The G6 competitive-equilibrium truth and its Bertrand benchmarks are in :mod:`rbc_env.truth.g6`.

Technology ``y = z k^alpha l^(1 - alpha)``, ``log z' = rho log z + sigma eps``, ``eps ~ N(0, 1)``;
preferences ``E sum_t beta^t u(c_t, l_t)``. Units: capital, output and consumption are in goods
per period (output at ``k = z = l = 1`` is one good); hours ``l`` are a fraction of the time
endowment; values are in utils.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike

from rbc_env.config import GrowthParams
from rbc_env.growth.economy import g2_hours, g3_steady_state  # the model's steady state

__all__ = [
    "CapitalMarket",
    "GrowthParams",
    "g1_policy",
    "g1_saving_share",
    "g1_steady_state",
    "g1_value",
    "g2_hours",
    "g3_steady_state",
    "g5_saving_share",
    "g6_competitive",
    "g6_cournot",
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


def g5_saving_share(p: GrowthParams) -> float:
    """G5 optimal saving share of each sector's output, ``s_j* = alpha beta`` (dimensionless).

    G5 is separable: with ``C = prod_j C_j^(1/N)`` and log utility, ``ln C = (1/N) sum_j ln C_j``,
    and sector ``j``'s resources ``C_j + K'_j = z_j K_j^alpha`` involve only its own capital and
    shock. The planner's problem splits into ``N`` Brock-Mirman problems with utility
    ``(1/N) ln C_j``; scaling utility by ``1/N`` does not move the policy, so every sector
    saves the G1 share (:func:`g1_saving_share`).

    Args:
        p: parameters (``delta = 1``, log utility assumed).

    Returns:
        ``alpha * beta`` for every sector (0.342 at the defaults).
    """
    return g1_saving_share(p)


@dataclass(frozen=True, slots=True)
class CapitalMarket:
    """One-period benchmark of the G6 capital-goods market (arrays broadcast over ``S``).

    Attributes:
        price: q, goods per unit of new capital (``inf`` where no equilibrium is finite).
        quantity: Q, total units of new capital sold (capital per period).
        markup: q / MC - 1 over the marginal cost ``MC = 1 + phi Q / N`` of each producer
            (dimensionless; ``inf`` where no equilibrium is finite).
    """

    price: Any
    quantity: Any
    markup: Any


def _market_inputs(spending: Any, phi: float, n: int, name: str) -> tuple[Any, Any]:
    """Validate (S, phi, N) and pick the array module (torch or numpy) of ``spending``."""
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"{name}: n (producers) must be an integer >= 1; got {n!r}")
    if isinstance(phi, bool) or not isinstance(phi, numbers.Real) or not phi >= 0.0:
        raise ValueError(f"{name}: phi (adjustment cost) must be a number >= 0; got {phi!r}")
    xp = torch if isinstance(spending, torch.Tensor) else np
    s = spending if xp is torch else np.asarray(spending, dtype=np.float64)
    if not bool((s > 0).all()) or not bool(xp.isfinite(s).all()):
        raise ValueError(f"{name}: S (household spending) must be positive and finite")
    return s, xp


def _market_quantity(s_eff: Any, phi: float, n: int, xp: Any) -> Any:
    """The positive root Q of ``phi Q^2 / N + Q - S_eff = 0`` (stable also at ``phi = 0``)."""
    return 2.0 * s_eff / (1.0 + xp.sqrt(1.0 + 4.0 * phi * s_eff / n))


def g6_competitive(spending: Any, phi: float, n: int) -> CapitalMarket:
    """G6 competitive benchmark: N price-taking producers, price at marginal cost.

    Derivation. Households spend ``S`` goods on new capital whatever its price within the
    period (their share action is chosen before the price is seen), so demand is unit-elastic,
    ``Q = S / q``. Each producer has cost ``c(I) = I + phi/2 I^2`` (goods) and, taking ``q`` as
    given, sells up to ``q = c'(I) = 1 + phi I``. With ``N`` producers sharing equally,
    ``I = Q / N``; clearing ``S / Q = 1 + phi Q / N`` gives ``phi Q^2 / N + Q - S = 0``, so
    ``Q = 2 S / (1 + sqrt(1 + 4 phi S / N))`` and ``q_c = S / Q = (1 + sqrt(1 + 4 phi S / N)) / 2``
    (``q_c = 1`` at ``phi = 0``). The markup over marginal cost is 0 by construction.

    Args:
        spending: S, household spending on new capital (goods per period), positive; a float,
            numpy array or torch tensor (the result has the same kind).
        phi: the adjustment-cost curvature ``phi >= 0`` (1 / goods).
        n: number of producers ``N >= 1``.

    Returns:
        :class:`CapitalMarket` with the price ``q_c``, the total quantity ``Q`` and markup 0.

    Raises:
        ValueError: for a non-positive ``S``, a negative ``phi`` or ``n < 1``.
    """
    s, xp = _market_inputs(spending, phi, n, "g6_competitive")
    q_total = _market_quantity(s, phi, n, xp)
    return CapitalMarket(price=s / q_total, quantity=q_total, markup=s * 0.0)


def g6_cournot(spending: Any, phi: float, n: int) -> CapitalMarket:
    """G6 Cournot-Nash benchmark: N producers choose quantities against unit-elastic demand.

    Not the game the economy plays: G6 producers post prices and the cheapest sell (Bertrand),
    whose benchmarks are :func:`rbc_env.truth.g6.g6_bertrand` and
    :func:`rbc_env.truth.g6.g6_monopoly`. Kept as a reference point for quantity competition.

    Derivation. Inverse demand is ``q = S / Q`` with ``Q = I_n + Q_-n``. Producer ``n``'s profit
    ``pi_n = S I_n / Q - I_n - phi/2 I_n^2`` (goods) has the first-order condition
    ``S / Q - S I_n / Q^2 = 1 + phi I_n`` and is strictly concave in ``I_n``
    (``d2 pi_n / d I_n^2 = -2 S Q_-n / Q^3 - phi < 0``). At the symmetric equilibrium
    ``I_n = Q / N``: ``S (1 - 1/N) / Q = 1 + phi Q / N``, i.e.
    ``phi Q^2 / N + Q - S (1 - 1/N) = 0``, so ``Q = 2 S' / (1 + sqrt(1 + 4 phi S' / N))`` with
    ``S' = S (1 - 1/N)``, and ``q_N = S / Q``. Since the marginal cost is
    ``MC = 1 + phi Q / N = S (1 - 1/N) / Q = q_N (1 - 1/N)``, the markup over marginal cost is
    ``q_N / MC - 1 = 1 / (N - 1)`` whatever ``S`` and ``phi``.

    With ``N = 1`` there is no finite Cournot equilibrium with unit-elastic demand: the revenue
    ``S`` does not depend on the quantity, so the monopolist's profit rises as ``Q -> 0`` and
    ``q -> inf``. The function then returns ``price = markup = inf`` and ``quantity = 0``.

    Args:
        spending: S, household spending on new capital (goods per period), positive; a float,
            numpy array or torch tensor (the result has the same kind).
        phi: the adjustment-cost curvature ``phi >= 0`` (1 / goods).
        n: number of producers ``N >= 1``.

    Returns:
        :class:`CapitalMarket` with the price ``q_N``, the total quantity ``Q`` and the markup
        ``1 / (N - 1)``.

    Raises:
        ValueError: for a non-positive ``S``, a negative ``phi`` or ``n < 1``.
    """
    s, xp = _market_inputs(spending, phi, n, "g6_cournot")
    if n == 1:
        return CapitalMarket(price=s * math.inf, quantity=s * 0.0, markup=s * math.inf)
    q_total = _market_quantity(s * (1.0 - 1.0 / n), phi, n, xp)
    return CapitalMarket(price=s / q_total, quantity=q_total, markup=s * 0.0 + 1.0 / (n - 1))
