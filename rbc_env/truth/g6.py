"""Ground truth of G6: the competitive equilibrium with adjustment costs and dividends.

The economy (:mod:`rbc_env.growth.economy`): ``H`` households own capital ``k_h`` and the ``N``
producers of new capital; producers post prices ``q_n`` per unit of new capital and the
cheapest sell (split evenly at ties); a producer selling ``I_n`` units earns
``pi_n = q_n I_n - I_n - (phi/2) I_n^2`` goods, paid to households one period later as the
dividend ``d = sum_n max(pi_n, 0)``. Households buy all their next capital new
(``k'_h = e_h / q``), so the units sold are the aggregate next capital, ``I = K'``, whatever
``delta``.

**Competitive equilibrium (CE).** Price-taking producers price at marginal cost
``q = 1 + phi I / N`` (symmetric split ``I_n = K' / N``), so each earns
``pi_n = (q - 1) I_n - (phi/2) I_n^2 = (phi/2) (K'/N)^2 >= 0`` and next period's dividends
are ``d' = phi K'^2 / (2 N)``, a function of next period's state ``K'``: no extra state is
needed for any ``delta``, because all capital is bought new each period. Per household
(``k = K / H``, ``kappa = phi H / N``, 1 / goods):

- price of capital: ``q(k') = 1 + kappa k'`` (goods per unit);
- cash on hand on the equilibrium path: ``m(k, z) = z k^alpha + (1 - delta) k + kappa k^2 / 2``
  (goods; ``r k + w = z k^alpha`` at the symmetric state);
- budget: ``c + q(k') k' = m``;
- Euler equation of a price-taking household (dividends are lump-sum):
  ``q(k') u'(c) = beta E[u'(c') (alpha z' k'^(alpha - 1) + 1 - delta)]``.

The consumption rule depends on the state only through ``(m, z)``: given ``k'`` the right
side is known, so ``c`` and ``m = c + q(k') k'`` follow (the endogenous grid method, EGM).
The solution therefore also covers states off the equilibrium path (e.g. the first period,
when no dividend is paid yet): a household applies ``c(m, z)`` to its own cash on hand. The
households' truth is the saving share ``s*(m, z) = q k' / m = 1 - c(m, z) / m``.

Limits: ``phi = 0`` (or ``N -> inf``) gives ``kappa = 0``, ``q = 1``, ``d = 0``: the G1/G3
planner's problem (with ``delta = 1`` and log utility, ``s* = alpha beta`` exactly).

Bertrand benchmarks of the period's pricing game (:func:`g6_bertrand`): with share actions,
household spending ``S`` does not respond to the posted price within the period (demand
``Q = S / q``), so pricing is a one-shot Bertrand game with convex costs and an even split at
ties. Units: goods per period; prices in goods per unit of capital; values in utils.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any

import torch

from rbc_env.config import GrowthParams
from rbc_env.truth.growth import _market_inputs, g3_steady_state
from rbc_env.truth.solver import _interp, rouwenhorst

__all__ = [
    "BertrandRange",
    "G6Solution",
    "g6_bertrand",
    "g6_euler_errors",
    "g6_monopoly",
    "g6_steady_state",
    "solve_g6",
]

_DTYPE = torch.float64


@dataclass(frozen=True)
class G6Solution:
    """Solved G6 competitive equilibrium per household (float64 tensors).

    Attributes:
        params: the parameters solved (any ``delta`` in (0, 1], CRRA ``gamma``).
        phi: producers' adjustment cost ``phi`` (1 / goods).
        n_households: H.
        n_producers: N.
        k_grid: ``(n_k,)`` capital per household (goods), log-spaced around the steady state.
        log_z: ``(n_z,)`` Rouwenhorst nodes of ``log z``.
        z: ``(n_z,)`` productivity levels.
        transition: ``(n_z, n_z)`` Markov matrix of the nodes.
        consumption: ``(n_z, n_k)`` consumption ``c(m(k, z), z)`` at the grid's equilibrium cash
            on hand (goods per household).
        iterations: EGM iterations run.
        converged: whether the sup relative change of ``k'`` fell below ``tol``.
        change: the last sup relative change of ``k'`` (the achieved tolerance).
        tol: the tolerance asked for.
    """

    params: GrowthParams
    phi: float
    n_households: int
    n_producers: int
    k_grid: torch.Tensor
    log_z: torch.Tensor
    z: torch.Tensor
    transition: torch.Tensor
    consumption: torch.Tensor
    iterations: int
    converged: bool
    change: float
    tol: float

    @property
    def kappa(self) -> float:
        """``kappa = phi H / N`` (1 / goods): price slope per unit of capital per household."""
        return self.phi * self.n_households / self.n_producers

    def price(self, k_next: torch.Tensor) -> torch.Tensor:
        """Marginal-cost price ``q(k') = 1 + kappa k'`` (goods per unit of capital)."""
        return 1.0 + self.kappa * k_next

    def cash(self, k: torch.Tensor) -> torch.Tensor:
        """Equilibrium cash on hand ``m = z k^alpha + (1 - delta) k + kappa k^2 / 2`` (goods).

        Args:
            k: ``(n_z, m)`` or ``(m,)`` capital per household.

        Returns:
            ``(n_z, m)`` cash on hand per household, dividends ``phi K^2 / (2 N H)`` included.
        """
        p = self.params
        return self.z[:, None] * k**p.alpha + (1.0 - p.delta) * k + 0.5 * self.kappa * k**2

    def capital_next(self, spending: torch.Tensor) -> torch.Tensor:
        """Next capital ``k'`` bought with spending ``e = q(k') k' = k' + kappa k'^2`` (goods).

        The positive root ``k' = 2 e / (1 + sqrt(1 + 4 kappa e))`` (stable at ``kappa = 0``).
        """
        return 2.0 * spending / (1.0 + torch.sqrt(1.0 + 4.0 * self.kappa * spending))

    @property
    def policy(self) -> torch.Tensor:
        """``(n_z, n_k)`` next capital per household at the grid (goods)."""
        kk = self.k_grid.expand(self.z.shape[0], -1)
        return self.capital_next(self.cash(kk) - self.consumption)

    @property
    def share(self) -> torch.Tensor:
        """``(n_z, n_k)`` saving share ``s* = q k' / m = 1 - c / m`` at the grid."""
        kk = self.k_grid.expand(self.z.shape[0], -1)
        return 1.0 - self.consumption / self.cash(kk)

    def consumption_at_cash(self, cash: torch.Tensor) -> torch.Tensor:
        """Consumption at cash on hand ``m`` per shock node: ``ln c`` linear in ``ln m``.

        Args:
            cash: ``(n_z, m)`` or ``(m,)`` cash on hand (goods).

        Returns:
            ``(n_z, m)`` consumption (goods).
        """
        n_z = self.z.shape[0]
        kk = self.k_grid.expand(n_z, -1)
        cash = torch.as_tensor(cash, dtype=_DTYPE, device=self.k_grid.device).expand(n_z, -1)
        log_m = torch.log(self.cash(kk))
        return torch.exp(_interp(log_m, torch.log(self.consumption), torch.log(cash)))

    def consumption_at(self, k: torch.Tensor) -> torch.Tensor:
        """Consumption at capital ``k`` on the equilibrium path (cash ``m(k, z)``), ``(n_z, m)``."""
        k = torch.as_tensor(k, dtype=_DTYPE, device=self.k_grid.device)
        return self.consumption_at_cash(self.cash(k.expand(self.z.shape[0], -1)))

    def euler_errors(self, interior: float = 0.05) -> torch.Tensor:
        """Euler errors at the midpoints of the grid's interior cells (:func:`g6_euler_errors`)."""
        return g6_euler_errors(self, interior=interior)


def g6_steady_state(
    params: GrowthParams, phi: float, n_households: int, n_producers: int
) -> dict[str, float]:
    """Deterministic CE steady state per household (``z = 1``).

    ``q(k) = beta (alpha k^(alpha - 1) + 1 - delta)`` with ``q(k) = 1 + kappa k`` (solved by
    bisection: the left side rises and the right side falls in ``k``).

    Args:
        params: parameters.
        phi: adjustment cost (1 / goods).
        n_households: H.
        n_producers: N.

    Returns:
        ``capital`` k (goods per household), ``price`` q, ``cash`` m, ``consumption`` c,
        ``share`` s = q k / m, ``spending`` S = H q k (goods, all households),
        ``dividend`` d = phi (H k)^2 / (2 N) (goods).
    """
    p = params
    kappa = phi * n_households / n_producers
    lo, hi = 1e-12, g3_steady_state(p)  # at hi the right side is 1 <= q(hi)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if 1.0 + kappa * mid < p.beta * (p.alpha * mid ** (p.alpha - 1.0) + 1.0 - p.delta):
            lo = mid
        else:
            hi = mid
    k = 0.5 * (lo + hi)
    q = 1.0 + kappa * k
    m = k**p.alpha + (1.0 - p.delta) * k + 0.5 * kappa * k**2
    return {
        "capital": k,
        "price": q,
        "cash": m,
        "consumption": m - q * k,
        "share": q * k / m,
        "spending": n_households * q * k,
        "dividend": phi * (n_households * k) ** 2 / (2.0 * n_producers),
    }


def solve_g6(
    params: GrowthParams,
    phi: float,
    n_households: int,
    n_producers: int,
    *,
    n_k: int = 1000,
    n_z: int = 7,
    k_bounds: tuple[float, float] = (0.1, 3.0),
    tol: float = 1e-10,
    max_iter: int = 20_000,
    device: torch.device | str = "cpu",
) -> G6Solution:
    """Solve the G6 competitive equilibrium by the endogenous grid method.

    One EGM step takes the fixed grid as next capital ``k'``; next period's cash on hand is then
    the grid's own ``m(k', z')``, so ``c(m', z')`` is read off the stored values without
    interpolation; the Euler equation gives ``c = (beta E[u'(c') R'] / q(k'))^(-1/gamma)`` and
    the endogenous cash ``m = c + q(k') k'``; the new rule is ``ln c`` linear in ``ln m`` at
    the grid's cash. Iterates until ``max |k'_new - k'_old| / k'_old < tol``.

    Args:
        params: parameters (any ``delta`` in (0, 1], CRRA ``gamma``).
        phi: adjustment cost ``phi >= 0`` (1 / goods).
        n_households: H >= 1.
        n_producers: N >= 1.
        n_k: grid points (spec: >= 200; 1000 by default keeps the interior Euler errors
            below 1e-6 at the G6 presets, where 300 points give about 1e-5.3 at N = 1).
        n_z: Rouwenhorst states (spec: >= 7).
        k_bounds: grid ends as multiples of the G3 steady state (``phi = 0``) per household;
            the default spans the metrics' wide grid (0.3-1.6 of it) with room for the CE
            steady state (0.53 of it at N = 1) and next period's capital.
        tol: policy tolerance (sup relative change of ``k'``).
        max_iter: iteration cap (``converged`` False when it binds).
        device: torch device.

    Returns:
        The :class:`G6Solution`.

    Raises:
        ValueError: for ``phi < 0``, counts below 1, grids below 2 points or bad bounds.
    """
    if isinstance(phi, bool) or not isinstance(phi, numbers.Real) or not phi >= 0.0:
        raise ValueError(f"solve_g6: phi must be a number >= 0; got {phi!r}")
    for name, v in (("n_households", n_households), ("n_producers", n_producers)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"solve_g6: {name} must be an integer >= 1; got {v!r}")
    if n_k < 2 or n_z < 2:
        raise ValueError(f"solve_g6: n_k and n_z must be >= 2; got n_k={n_k}, n_z={n_z}")
    if not 0.0 < k_bounds[0] < 1.0 < k_bounds[1]:
        raise ValueError(f"solve_g6: k_bounds must satisfy 0 < lo < 1 < hi; got {k_bounds}")
    p = params
    kappa = float(phi) * n_households / n_producers
    k_ss = g3_steady_state(p)
    k_grid = torch.logspace(
        math.log10(k_bounds[0] * k_ss), math.log10(k_bounds[1] * k_ss), n_k,
        dtype=_DTYPE, device=device,
    )  # fmt: skip
    log_z, trans = rouwenhorst(n_z, p.rho, p.sigma, device=device)
    z = torch.exp(log_z)
    kk = k_grid.expand(n_z, -1)
    cash = z[:, None] * kk**p.alpha + (1.0 - p.delta) * kk + 0.5 * kappa * kk**2
    log_cash = torch.log(cash)
    ret = p.alpha * z[:, None] * kk ** (p.alpha - 1.0) + 1.0 - p.delta  # R(k' = grid, z')
    price = 1.0 + kappa * kk  # q(k' = grid)
    c = cash.clone()  # terminal period: consume everything

    def capital_next(c_now: torch.Tensor) -> torch.Tensor:
        e = cash - c_now
        return 2.0 * e / (1.0 + torch.sqrt(1.0 + 4.0 * kappa * e))

    policy = capital_next(c)
    converged = False
    change = math.inf
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007 - loop over iterations only
        expect = trans @ (c ** (-p.gamma) * ret)  # (z, k') = E[u'(c') R' | z]
        c_endo = (p.beta * expect / price) ** (-1.0 / p.gamma)
        m_endo = c_endo + price * kk  # cash on hand that makes k' = grid optimal
        c_new = torch.exp(_interp(torch.log(m_endo), torch.log(c_endo), log_cash))
        new_policy = capital_next(c_new)
        if it > 1:
            change = torch.max(torch.abs(new_policy - policy) / torch.abs(policy)).item()
            if change < tol:
                c, policy, converged = c_new, new_policy, True
                break
        c, policy = c_new, new_policy
    return G6Solution(
        params=p, phi=float(phi), n_households=int(n_households), n_producers=int(n_producers),
        k_grid=k_grid, log_z=log_z, z=z, transition=trans, consumption=c, iterations=it,
        converged=converged, change=change, tol=tol,
    )  # fmt: skip


def g6_euler_errors(sol: G6Solution, interior: float = 0.05) -> torch.Tensor:
    """CE Euler errors ``log10 |1 - beta E[u'(c') R'] / (q(k') u'(c))|``.

    ``R' = alpha z' k'^(alpha - 1) + 1 - delta`` (goods per unit of capital).

    Evaluated off the grid, at the geometric midpoints of the grid cells (the first and last
    ``interior`` share of cells dropped), at every shock node, on the equilibrium path
    (``m = m(k, z)``, ``q = q(k')``); the expectation is over the Rouwenhorst transition (the
    discretized model the solver solves).

    Args:
        sol: a solution.
        interior: share of cells dropped at each end (0 keeps every cell).

    Returns:
        ``(n_z, m)`` errors in log10 units.
    """
    p = sol.params
    kg = sol.k_grid
    mid = torch.sqrt(kg[1:] * kg[:-1])
    drop = int(interior * mid.shape[0])
    mid = mid[drop : mid.shape[0] - drop]
    n_z = sol.z.shape[0]
    m = sol.cash(mid.expand(n_z, -1))
    c = sol.consumption_at_cash(m)  # (n_z, m)
    k_next = sol.capital_next(m - c)  # (n_z, m)
    c_next = sol.consumption_at(k_next.reshape(1, -1))  # (z', z * m)
    c_next = c_next.reshape(n_z, n_z, -1).transpose(0, 1)  # (z, z', m)
    ret = p.alpha * sol.z[None, :, None] * k_next[:, None, :] ** (p.alpha - 1.0) + 1.0 - p.delta
    expect = torch.einsum("ij,ijm->im", sol.transition, c_next ** (-p.gamma) * ret)
    ratio = p.beta * expect / (sol.price(k_next) * c ** (-p.gamma))
    return torch.log10(torch.abs(1.0 - ratio))


# ============================================================================ Bertrand
@dataclass(frozen=True, slots=True)
class BertrandRange:
    """Pure-strategy Bertrand equilibria of one G6 period (arrays broadcast over ``S``).

    Every producer posts the same price ``q`` in ``[price_low, price_high]`` and sells
    ``S / (q N)`` units. Markups are over a seller's own marginal cost at the quantity it
    sold, ``q / (1 + phi S / (q N)) - 1`` (the economy's ``markup`` flow).

    Attributes:
        price_low: lowest equilibrium price (sharing breaks even), goods per unit.
        price_high: highest equilibrium price (undercutting to take the whole market does
            not pay), goods per unit, capped at ``1 + markup_max`` when a cap is given.
        markup_low: markup over own marginal cost at ``price_low`` (negative for
            ``phi > 0``: average-cost pricing is below marginal cost).
        markup_high: markup over own marginal cost at ``price_high``.
    """

    price_low: Any
    price_high: Any
    markup_low: Any
    markup_high: Any


def _own_markup(price: Any, spending: Any, phi: float, n: int) -> Any:
    """``q / (1 + phi S / (q n)) - 1``: markup over own marginal cost selling ``S / (q n)``."""
    return price / (1.0 + phi * spending / (price * n)) - 1.0


def g6_bertrand(
    spending: Any, phi: float, n: int, markup_max: float | None = None
) -> BertrandRange:
    """Range of symmetric pure-strategy Bertrand equilibrium prices of one G6 period, N >= 2.

    Derivation. Spending ``S`` is fixed within the period (share actions), so demand is
    ``Q = S / q``. At a common price ``q`` each of ``N`` producers sells ``S / (q N)`` and earns
    ``pi_share(q) = S/N - S/(q N) - phi S^2 / (2 q^2 N^2)``; undercutting by any amount takes
    the whole market, ``pi_all(q') = S - S/q' - phi S^2 / (2 q'^2)``, which increases in
    ``q'``, so the best deviation is the limit ``q' -> q``; posting higher sells nothing (profit
    0). ``q`` is an equilibrium iff ``pi_share(q) >= 0`` and ``pi_share(q) >= pi_all(q)``:

    - ``pi_share >= 0``: ``q >= q_low = (1 + sqrt(1 + 2 phi S / N)) / 2`` (average cost);
    - ``pi_share >= pi_all``: ``q <= q_high = (1 + sqrt(1 + 2 phi S (N + 1) / N)) / 2``.

    The competitive price ``(1 + sqrt(1 + 4 phi S / N)) / 2`` lies in between; at ``phi = 0``
    the range collapses to unit cost. With ``N = 1`` there is no undercutting: see
    :func:`g6_monopoly`.

    Args:
        spending: S, household spending on new capital (goods), positive; float, numpy array or
            torch tensor (the result has the same kind).
        phi: adjustment cost ``phi >= 0`` (1 / goods).
        n: producers ``N >= 2``.
        markup_max: the economy's cap on posted prices ``q <= 1 + markup_max`` (``None``:
            no cap).

    Returns:
        :class:`BertrandRange`.

    Raises:
        ValueError: for a non-positive ``S``, a negative ``phi``, or ``n < 2``.
    """
    s, xp = _market_inputs(spending, phi, n, "g6_bertrand")
    if n < 2:
        raise ValueError(f"g6_bertrand: n must be >= 2 (N = 1 is g6_monopoly); got {n!r}")
    low = (1.0 + xp.sqrt(1.0 + 2.0 * phi * s / n)) / 2.0
    high = (1.0 + xp.sqrt(1.0 + 2.0 * phi * s * (n + 1) / n)) / 2.0
    if markup_max is not None:
        cap = 1.0 + markup_max
        low = xp.minimum(low, s * 0.0 + cap)
        high = xp.minimum(high, s * 0.0 + cap)
    return BertrandRange(
        price_low=low,
        price_high=high,
        markup_low=_own_markup(low, s, phi, n),
        markup_high=_own_markup(high, s, phi, n),
    )


def g6_monopoly(spending: Any, phi: float, markup_max: float) -> BertrandRange:
    """The N = 1 producer's best price: the cap ``1 + markup_max`` (a property of the cap).

    With share actions spending ``S`` does not respond to the price within the period, so the
    monopolist's profit ``S - S/q - phi S^2 / (2 q^2)`` rises in ``q`` without bound; the best
    posted price is the economy's cap ``q = 1 + markup_max``. Both ends of the returned range
    are that price, with the markup over own marginal cost ``q / (1 + phi S / q) - 1``.

    Args:
        spending: S (goods), positive; float, numpy array or torch tensor.
        phi: adjustment cost ``phi >= 0`` (1 / goods).
        markup_max: the economy's cap ``m_max > 0`` (``GrowthConfig.markup_max``).

    Returns:
        :class:`BertrandRange` with ``price_low = price_high = 1 + markup_max``.
    """
    s, _ = _market_inputs(spending, phi, 1, "g6_monopoly")
    if isinstance(markup_max, bool) or not isinstance(markup_max, numbers.Real):
        raise ValueError(f"g6_monopoly: markup_max must be a number > 0; got {markup_max!r}")
    if not markup_max > 0.0:
        raise ValueError(f"g6_monopoly: markup_max must be a number > 0; got {markup_max!r}")
    q = s * 0.0 + (1.0 + markup_max)
    mk = _own_markup(q, s, phi, 1)
    return BertrandRange(price_low=q, price_high=q, markup_low=mk, markup_high=mk)
