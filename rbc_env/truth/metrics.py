"""Accuracy metrics of the growth family (docs/ground_truth.md, "Accuracy metrics").

Every trainer, on every economy G1-G7, is scored against the exact solution by the same four
numbers, computed here on the batched torch core (:mod:`rbc_env.growth.economy`):

1. **Policy error** (:func:`policy_error`): mean and max over ergodic states of
   ``|s_pi - s*|`` (and ``|l_pi - l*|`` in G2), from the realized ``saving_share`` / ``hours``
   flows of one step under each policy's deterministic action.
2. **Welfare loss** (:func:`welfare_loss`): the consumption equivalent ``lambda`` that makes the
   truth's value equal the policy's, ``lambda = exp((1 - beta)/(1 - beta^T) (V* - V_pi)) - 1``
   for log utility, with a 95% confidence interval from common random numbers.
3. **Euler-equation errors** (:func:`euler_errors`):
   ``log10 |1 - beta E[u'(c') R'] / (u'(c) q)|`` with Gauss-Hermite quadrature.
4. (Cost is measured by the trainers, not here.)

:func:`evaluate` runs all of them in float64 and returns one :class:`AccuracyRow`. The policy
error and the Euler errors are taken twice: at the truth's ergodic states
(:func:`ergodic_states`, where the policy is scored) and on a fixed wide grid
(:func:`wide_grid_states`: capital from 0.3 to 1.6 ``k_ss`` times the shock states), so that a
policy right on the ergodic set and wrong elsewhere shows.

A *policy* is a callable ``policy(obs) -> actions`` mapping the per-type observations
``[B, n, width]`` of :func:`rbc_env.growth.economy.observe` to deterministic raw actions
``[B, n, A]`` (the economy maps raw actions to controls with ``controls_from_raw``).
:func:`truth_policy` gives the exact one as a :class:`TruthPolicy`, which also acts from the
full state (``TruthPolicy.act``); the metrics always use that full-information form for the
reference, so the truth is defined even where observations do not reveal it (G6 and restricted
G7 households under ``action="quantity"``).

Import it as ``rbc_env.truth.metrics``: :mod:`rbc_env.truth` does not import it, so the solvers
load without the simulation machinery.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from rbc_env.config import GrowthConfig
from rbc_env.growth.economy import (
    HOUSEHOLD_OBS,
    PRODUCER_OBS,
    GrowthState,
    action_dims,
    action_ranges,
    agent_counts,
    initial_state,
    observe,
    raw_from_controls,
    restricted_mask,
    steady_state,
    step,
    utility,
    validate_actions,
)
from rbc_env.truth.g6 import G6Solution, g6_bertrand, g6_monopoly, solve_g6
from rbc_env.truth.growth import g1_saving_share, g2_hours, g5_saving_share, g6_competitive
from rbc_env.truth.solver import GrowthSolution, _interp, rouwenhorst, solve_growth

__all__ = [
    "AccuracyRow",
    "ConsumptionEquivalent",
    "Coverage",
    "EulerErrors",
    "PathValues",
    "Policy",
    "PolicyError",
    "TruthPolicy",
    "WelfareLoss",
    "cast_policy",
    "consumption_equivalent",
    "default_horizon",
    "discounted_utility",
    "ergodic_states",
    "euler_errors",
    "evaluate",
    "policy_error",
    "shock_quadrature",
    "training_coverage",
    "truth_policy",
    "welfare_loss",
    "wide_grid_states",
]

Policy = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]

WELFARE_TAIL = 1e-3
"""Default welfare horizon: the smallest T with ``beta^T < WELFARE_TAIL`` (1 = no discounting)."""
CI_Z = 1.96
"""Normal quantile of the two-sided 95% confidence intervals."""
BURN_IN = 200
"""Default periods simulated under the truth before states count as ergodic (the spec's H)."""
N_STATES = 1024
"""Default number of ergodic states (and welfare paths) of :func:`evaluate`."""
GH_NODES = 10
"""Default Gauss-Hermite nodes per shock dimension of :func:`euler_errors`."""
MAX_PRODUCT_POINTS = 1000
"""Largest tensor-product quadrature; beyond it :func:`shock_quadrature` uses a monomial rule."""
WIDE_GRID = (0.3, 1.6)
"""Capital range of :func:`wide_grid_states`, in multiples of the steady state ``k_ss``."""
WIDE_GRID_POINTS = 27
"""Capital points of :func:`wide_grid_states` (log-spaced over ``WIDE_GRID``)."""
WIDE_GRID_SHOCKS = 7
"""Shock states of :func:`wide_grid_states`: the Rouwenhorst nodes (``+-sqrt(6)`` sd at 7)."""
_F64 = torch.float64
# household observation columns the truth decodes (HOUSEHOLD_OBS names them)
_OBS_K = HOUSEHOLD_OBS.index("log k_h/k_ss")
_OBS_Z = HOUSEHOLD_OBS.index("log z / sd")
_OBS_R = HOUSEHOLD_OBS.index("log r/r_ss")
_OBS_W = HOUSEHOLD_OBS.index("log w/w_ss")
_OBS_AGG = HOUSEHOLD_OBS.index("log K/(H k_ss)")
_OBS_Q = HOUSEHOLD_OBS.index("log q_prev")
_OBS_RESTRICTED = HOUSEHOLD_OBS.index("restricted")


# ============================================================================ the truth policy
class TruthPolicy:
    """The exact policy of a growth economy as raw actions (see :func:`truth_policy`).

    Two ways to act:

    - ``policy(obs)``: from observations, as any learned policy, wherever the observation
      reveals what the exact rule needs (raises ``ValueError`` otherwise, naming the reason);
    - ``policy.act(state)``: from the full state (full information), always defined. The
      metrics of this module use this form whenever they are given a ``TruthPolicy``.

    Attributes:
        config: the economy.
        solution: the solver's solution used for the saving rule (a G3
            :class:`~rbc_env.truth.solver.GrowthSolution`, or in G6 the competitive equilibrium
            :class:`~rbc_env.truth.g6.G6Solution`), or ``None`` where the closed form
            ``s* = alpha beta`` holds.
        share: the closed-form saving share ``alpha beta`` (unused with a solution).
        hours: G2's optimal hours ``l*`` (``None`` elsewhere).
        producer_policy: G6 producers' policy replacing marginal-cost pricing, or ``None``
            (the competitive truth).
    """

    def __init__(
        self,
        config: GrowthConfig,
        solution: GrowthSolution | G6Solution | None = None,
        *,
        producer_policy: Policy | None = None,
    ) -> None:
        if not isinstance(config, GrowthConfig):
            raise ValueError(f"config must be a GrowthConfig; got {type(config).__name__}")
        p = config.params
        self.config = config
        self.chooser = "planner" if config.is_planner else "household"
        if config.economy == "g6":
            solution = self._g6_solution(config, solution)
        elif solution is not None:
            if config.economy in ("g2", "g5") or isinstance(solution, G6Solution):
                raise ValueError(
                    "solution (a G3 GrowthSolution) applies to one capital stock with inelastic "
                    f"labor (g1, g3, g4, g7); got economy {config.economy!r}"
                )
            if solution.params != p:
                raise ValueError(
                    f"solution.params must equal config.params; got {solution.params} vs {p}"
                )
        elif config.economy == "g3" or not p.is_closed_form:
            solution = solve_growth(p)
        self.solution = solution
        self.share = g5_saving_share(p) if config.economy == "g5" else g1_saving_share(p)
        self.hours = g2_hours(p) if config.elastic_labor else None
        self.steady = steady_state(config)
        self.producer_policy = producer_policy
        if solution is not None:
            n_z = solution.z.shape[0]
            grid = solution.k_grid.expand(n_z, -1)
            self._log_cash_grid = torch.log(solution.cash(grid))  # (n_z, n_k)
            self._log_c_grid = torch.log(solution.consumption)  # (n_z, n_k)

    @staticmethod
    def _g6_solution(config: GrowthConfig, solution: Any) -> G6Solution:
        """The G6 competitive-equilibrium solution: checked against the config, or solved."""
        if solution is None:
            return solve_g6(
                config.params, config.adjustment_cost, config.n_households, config.n_producers
            )
        if not isinstance(solution, G6Solution):
            raise ValueError(
                "solution for economy 'g6' must be a G6Solution (rbc_env.truth.g6.solve_g6); "
                f"got {type(solution).__name__}"
            )
        mine = (config.params, config.adjustment_cost, config.n_households, config.n_producers)
        theirs = (solution.params, solution.phi, solution.n_households, solution.n_producers)
        if mine != theirs:
            raise ValueError(
                f"solution (params, phi, H, N) must equal the config's; got {theirs} vs {mine}"
            )
        return solution

    # ---- the rules ----
    def consumption(self, cash: torch.Tensor, log_z: torch.Tensor) -> torch.Tensor:
        """Solver consumption ``c(m, z)`` (goods) at cash on hand ``m`` and productivity ``z``.

        At each Rouwenhorst node ``z_i`` the solver's own interpolant (``ln c`` linear in
        ``ln m``, :meth:`GrowthSolution.consumption_at`) gives ``ln c_i(m)``; between the nodes,
        ``ln c`` is a cubic Lagrange polynomial in ``ln z`` through the four nearest nodes
        (linear with fewer than four; extrapolated beyond the outer nodes). Cubic in ``ln z``
        keeps the Euler errors of the continuous-shock economy at the solver's own level
        (linear interpolation between the seven nodes costs about one digit).

        Args:
            cash: cash on hand m (goods), any shape.
            log_z: ln z, broadcastable to ``cash``.

        Returns:
            Consumption, the shape and dtype of ``cash``.

        Raises:
            ValueError: if the policy has no solution (closed-form economies).
        """
        sol = self.solution
        if sol is None:
            raise ValueError("consumption(m, z) needs a solver solution (G3 or general params)")
        shape, dtype, device = cash.shape, cash.dtype, cash.device
        dev = sol.k_grid.device
        log_m = torch.log(cash.to(dev, _F64)).reshape(1, -1)
        lz = log_z.to(dev, _F64).expand(shape).reshape(-1)
        n_z = sol.log_z.shape[0]
        log_c = _interp(self._log_cash_grid, self._log_c_grid, log_m.expand(n_z, -1))
        nodes = sol.log_z
        pos = (lz - nodes[0]) / (nodes[1] - nodes[0])  # position in node units
        order = min(3, n_z - 1)
        first = (pos.floor() - (order - 1) // 2).clamp(0, n_z - 1 - order).long()
        out = torch.zeros_like(lz)
        for i in range(order + 1):  # Lagrange basis over the stencil (order + 1 nodes)
            weight = torch.ones_like(lz)
            for j in range(order + 1):
                if j != i:
                    weight = weight * (pos - first - j) / (i - j)
            out = out + weight * log_c.gather(0, (first + i).unsqueeze(0))[0]
        return torch.exp(out).reshape(shape).to(device, dtype)

    def saving(self, cash: torch.Tensor, log_z: torch.Tensor, price: torch.Tensor) -> torch.Tensor:
        """The exact saving control per capital stock (share or quantity by ``config.action``).

        Closed form: ``k' = alpha beta m / q`` (share ``alpha beta`` of cash on hand spent on
        capital at price ``q``); solver (G3, and the G6 competitive equilibrium): spending
        ``q k' = m - c(m, z)``. The control is the share ``q k' / m = 1 - c / m`` or the
        quantity ``k' / k_ss``.

        Args:
            cash: m, cash on hand (goods), ``[B, n_k]``.
            log_z: ln z broadcastable to ``cash``.
            price: q, goods per unit of capital, broadcastable to ``cash``.

        Returns:
            ``[B, n_k]`` controls (before the feasibility range is applied).
        """
        quantity = self.config.action == "quantity"
        if self.solution is None:
            if not quantity:
                return torch.full_like(cash, self.share)
            return self.share * cash / (price * self.steady.capital)
        c = self.consumption(cash, log_z)
        return (cash - c) / (price * self.steady.capital) if quantity else 1.0 - c / cash

    def competitive_price(self, cash: torch.Tensor, log_z: torch.Tensor) -> torch.Tensor:
        """G6 marginal-cost price ``q`` [B] given households' cash on hand ``m`` [B, H].

        Households spend ``S = sum_h (m_h - c(m_h, z))`` whatever the price (goods); N
        price-taking producers sharing ``Q = S / q`` units evenly price at marginal cost
        ``q = 1 + phi Q / N``, i.e. ``q = (1 + sqrt(1 + 4 phi S / N)) / 2``
        (:func:`~rbc_env.truth.growth.g6_competitive`).
        """
        cfg = self.config
        spend = (cash - self.consumption(cash, log_z)).sum(-1)
        return g6_competitive(spend, cfg.adjustment_cost, cfg.n_producers).price

    def _producers_at_price(self, price: torch.Tensor) -> torch.Tensor:
        """Raw actions ``[B, N, 1]`` of N producers all posting ``price`` [B] (markup q - 1)."""
        markup = (price - 1.0).view(-1, 1, 1).expand(-1, self.config.n_producers, 1)
        return self._raw("producer", markup.contiguous())

    def _raw(self, agent_type: str, controls: torch.Tensor) -> torch.Tensor:
        """Raw actions of controls: clamped into the control range, then the raw bound."""
        ranges = action_ranges(self.config)[agent_type]
        lo = controls.new_tensor([r[0] for r in ranges])
        hi = controls.new_tensor([r[1] for r in ranges])
        u = torch.minimum(torch.maximum(controls, lo), hi)
        bound = self.config.action_bound
        return raw_from_controls(self.config, agent_type, u).clamp(-bound, bound)

    def _chooser_raw(self, saving: torch.Tensor) -> torch.Tensor:
        """Planner ``[B, 1, n_k (+1)]`` or household ``[B, H, 1]`` raw actions of the saving."""
        if self.chooser == "household":
            return self._raw("household", saving.unsqueeze(-1))
        cols = [saving]
        if self.hours is not None:
            cols.append(torch.full_like(saving[:, :1], self.hours))
        return self._raw("planner", torch.cat(cols, -1).unsqueeze(1))

    def _g6_obs_cash(self, agg: torch.Tensor, price_prev: torch.Tensor) -> torch.Tensor:
        """G6 dividends per household ``d / H`` [B, 1] decoded from ``log K`` and last price.

        Last period every producer posted ``q_prev`` (the truth's producers tie) and sold
        ``K / N`` units (all capital is bought new), so
        ``d = max((q_prev - 1) K - phi K^2 / (2 N), 0)`` (limited liability). Exact on the
        truth's path and in the first period (``q_prev = 1``, no dividend).

        Args:
            agg: ``[B, 1]`` log K/(H k_ss).
            price_prev: ``[B, 1]`` last period's lowest price q_prev.
        """
        cfg = self.config
        big_k = cfg.n_households * self.steady.capital * torch.exp(agg)
        div = (price_prev - 1.0) * big_k - cfg.adjustment_cost * big_k**2 / (2 * cfg.n_producers)
        return div.clamp(min=0.0) / cfg.n_households

    def competitive_producers(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """G6 marginal-cost pricing from the producers' own observations, raw ``[B, N, 1]``.

        ``PRODUCER_OBS`` reveals K and z, and the last prices (own and lowest rival's); from them
        (symmetric households, :meth:`_g6_obs_cash`) a producer computes the households' cash
        ``m = z k^alpha + (1 - delta) k + d / H`` (``k = K / H``), their spending
        ``S = H (m - c(m, z))`` and posts the competitive price (:meth:`competitive_price`).

        Args:
            obs: per-type observations with key ``"producer"`` ``[B, N, 5]``.

        Returns:
            Raw producer actions ``[B, N, 1]`` in the observations' dtype.
        """
        if "producer" not in obs:
            raise ValueError("obs must have key 'producer' in G6")
        x = obs["producer"].to(_F64)
        cfg, ss, p = self.config, self.steady, self.config.params
        agg = x[:, :1, PRODUCER_OBS.index("log K/(H k_ss)")]
        log_z = ss.sd_log_z * x[:, :1, PRODUCER_OBS.index("log z / sd")]
        own = x[:, :1, PRODUCER_OBS.index("log q_own")]
        rival = x[:, :1, PRODUCER_OBS.index("log q_rival_min")]
        price_prev = torch.exp(torch.minimum(own, rival))
        k = ss.capital * torch.exp(agg)
        cash = torch.exp(log_z) * k.pow(p.alpha) + (1.0 - p.delta) * k
        cash = (cash + self._g6_obs_cash(agg, price_prev)).expand(-1, cfg.n_households)
        price = self.competitive_price(cash, log_z)
        return self._producers_at_price(price).to(obs["producer"].dtype)

    def _producer_raw(self, obs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """G6 producers' raw actions ``[B, N, 1]``: their policy, or marginal-cost pricing."""
        if self.producer_policy is not None:
            out = self.producer_policy(dict(obs))
            return out["producer"] if isinstance(out, Mapping) else out
        return self.competitive_producers(obs)

    # ---- acting ----
    def act(self, state: GrowthState) -> dict[str, torch.Tensor]:
        """Raw actions from the full state (the full-information truth).

        Cash on hand is read off the economy's own ``cash`` flow of a trial step (it does not
        depend on the actions), so dividends (G6) are included exactly as the economy pays
        them. In G6 the producers post the competitive price at the households' exact spending
        (:meth:`competitive_price`) unless ``producer_policy`` is given; elsewhere the price
        of capital is the ``capital_price`` flow.

        Args:
            state: B states of ``config``'s economy.

        Returns:
            Raw actions per type ``[B, n, A]`` in the state's dtype.
        """
        cfg = self.config
        b = state.batch_size
        counts, dims = agent_counts(cfg), action_dims(cfg)
        like = state.capital
        actions: dict[str, torch.Tensor] = {}
        trial = like.new_zeros(b, counts[self.chooser], dims[self.chooser])
        if self.hours is not None:  # cash depends on hours: try them at l*
            trial = self._chooser_raw(torch.zeros_like(like))
        actions[self.chooser] = trial
        if cfg.economy == "g6":
            actions["producer"] = like.new_zeros(b, counts["producer"], 1)
        _, _, flows = step(cfg, state, actions, torch.zeros_like(state.log_z))
        price = flows["capital_price"]
        if cfg.economy == "g6":
            if self.producer_policy is not None:
                actions["producer"] = self._producer_raw(observe(cfg, state)).to(like.dtype)
                _, _, flows = step(cfg, state, actions, torch.zeros_like(state.log_z))
                price = flows["capital_price"]
            else:
                q = self.competitive_price(flows["cash"], state.log_z[:, :1])
                actions["producer"] = self._producers_at_price(q).to(like.dtype)
                price = q.unsqueeze(-1)
        saving = self.saving(flows["cash"], state.log_z, price)
        actions[self.chooser] = self._chooser_raw(saving)
        return actions

    def __call__(self, obs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Raw actions from observations (log deviations from the steady state).

        Planner: ``k = k_ss exp(obs[..., :n])``, ``ln z = sd obs[..., n:2n]``,
        ``m = z k^alpha l^(1-alpha) + (1 - delta) k``. Households:
        ``m = (r + 1 - delta) k_h + w`` from the own capital and price columns, in G6 plus the
        dividend ``d / H`` decoded from K and the last price (:meth:`_g6_obs_cash`). G6
        producers: :meth:`competitive_producers`.

        Args:
            obs: per-type observations ``[B, n, width]``.

        Returns:
            Raw actions per type ``[B, n, A]`` in the observations' dtype.

        Raises:
            ValueError: if an observation is missing, or where observations do not reveal the
                exact rule: G6 households under ``action="quantity"`` (the current price is
                not observed) and restricted G7 households whenever the rule needs cash on
                hand or z (quantity, or a solver rule). Use :meth:`act`.
        """
        cfg = self.config
        if not isinstance(obs, Mapping) or self.chooser not in obs:
            raise ValueError(f"obs must be a mapping with key {self.chooser!r}; got {obs!r}")
        x = obs[self.chooser]
        p, ss = cfg.params, self.steady
        needs_cash = cfg.action == "quantity" or self.solution is not None
        if self.chooser == "planner":
            n = cfg.n_sectors
            k = ss.capital * torch.exp(x[:, 0, :n])
            log_z = ss.sd_log_z * x[:, 0, n : 2 * n]
            hours = 1.0 if self.hours is None else self.hours
            cash = torch.exp(log_z) * k.pow(p.alpha) * hours ** (1.0 - p.alpha)
            cash = cash + (1.0 - p.delta) * k
        elif not needs_cash:
            cash, log_z = torch.ones_like(x[..., _OBS_K]), torch.zeros_like(x[..., _OBS_K])
        else:
            if cfg.economy == "g6" and cfg.action == "quantity":
                raise ValueError(
                    "the G6 household observation does not reveal the current price, which "
                    "action='quantity' needs; use TruthPolicy.act(state)"
                )
            if bool((x[..., _OBS_RESTRICTED] > 0.5).any()):
                raise ValueError(
                    "restricted households observe neither z nor prices, which the exact rule "
                    f"needs here (action={cfg.action!r}); use TruthPolicy.act(state) (the "
                    "full-information truth)"
                )
            k = ss.capital * torch.exp(x[..., _OBS_K])
            r = ss.rental * torch.exp(x[..., _OBS_R])
            w = ss.wage * torch.exp(x[..., _OBS_W])
            cash = (r + 1.0 - p.delta) * k + w
            log_z = ss.sd_log_z * x[..., _OBS_Z]
            if cfg.economy == "g6":
                cash = cash + self._g6_obs_cash(x[..., _OBS_AGG], torch.exp(x[..., _OBS_Q]))
        saving = self.saving(cash, log_z, torch.ones_like(cash))
        actions = {self.chooser: self._chooser_raw(saving)}
        if cfg.economy == "g6":
            if "producer" not in obs:
                raise ValueError("obs must have key 'producer' in G6")
            actions["producer"] = self._producer_raw(obs).to(x.dtype)
        return actions


def truth_policy(
    config: GrowthConfig,
    solution: GrowthSolution | G6Solution | None = None,
    *,
    producer_policy: Policy | None = None,
) -> TruthPolicy:
    """The exact policy of an economy as deterministic raw actions.

    - G1, G4, G7 (closed-form parameters) and G5 (each sector, :func:`g5_saving_share`):
      saving share ``s* = alpha beta`` of cash on hand; under ``action="quantity"`` next
      capital ``k' = alpha beta m / q`` in units of ``k_ss``, which needs the state (decoded
      from observations where they reveal it, see :meth:`TruthPolicy.__call__`).
    - G2: the same share and hours ``l* = g2_hours(p)``.
    - G3 (and G4/G7 with general ``delta``, ``gamma``): the solver's consumption ``c(m, z)``
      (:meth:`TruthPolicy.consumption`), share ``k'/m = 1 - c/m``; ``solution`` is solved
      with :func:`solve_growth`'s defaults when not given. In G4/G7 each household applies
      the planner's rule to its own cash on hand, which is the equilibrium rule on the
      symmetric path (the initial distribution is symmetric and the rule keeps it so).
    - G7 restricted households under ``action="quantity"`` cannot decode z from their
      observation, so the exact rule is not available to them; the truth returned is the
      full-information one (:meth:`TruthPolicy.act`), and the metrics report their welfare
      loss against it.
    - G6: the competitive equilibrium with adjustment costs and dividends
      (:mod:`rbc_env.truth.g6`, solved by :func:`~rbc_env.truth.g6.solve_g6` when
      ``solution`` is not given). Households spend ``m - c(m, z)`` of their cash on hand
      (dividends included), share ``s* = 1 - c/m``; producers post the marginal-cost price
      ``q = 1 + phi Q / N`` at the households' spending (:meth:`TruthPolicy.competitive_price`).
      The allocation is feasible: it is what the economy itself produces when its agents play
      these rules. ``producer_policy`` replaces the producers' pricing (then the households'
      rule is no longer an equilibrium truth).

    Args:
        config: the economy.
        solution: a G3 solution for ``config.params`` (G1, G3, G4, G7), or in G6 a
            :class:`~rbc_env.truth.g6.G6Solution` of the config's params, phi, H and N.
        producer_policy: G6 producers' policy (``obs -> {"producer": [B, N, 1]}``).

    Returns:
        A :class:`TruthPolicy` (callable on observations; ``act(state)`` on states).

    Raises:
        ValueError: for a solution of other parameters or of an economy it does not apply to.
    """
    return TruthPolicy(config, solution, producer_policy=producer_policy)


# ============================================================================ helpers
def cast_policy(
    policy: Policy, dtype: torch.dtype | None = None, device: torch.device | str | None = None
) -> Policy:
    """Wrap a policy so it receives observations in its own dtype and device.

    The metrics run in float64 while learned policies hold float32 weights: the wrapper casts
    the observations to ``dtype``/``device`` and calls the policy without gradients (the
    metrics cast the actions back to the state's dtype and device).

    Args:
        policy: the policy.
        dtype: the policy's dtype (``None`` keeps the observations' dtype).
        device: the policy's device (``None`` keeps the observations' device).

    Returns:
        The wrapped policy.
    """

    @torch.no_grad()
    def wrapped(obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return policy({t: x.to(device=device, dtype=dtype) for t, x in obs.items()})

    return wrapped


def _auto_cast(policy: Any) -> Any:
    """A ``torch.nn.Module`` policy gets its parameters' dtype and device (see cast_policy)."""
    if isinstance(policy, torch.nn.Module):
        param = next(iter(policy.parameters()), None)
        if param is not None:
            return cast_policy(policy, param.dtype, param.device)
    return policy


def _actions(config: GrowthConfig, policy: Any, state: GrowthState) -> dict[str, torch.Tensor]:
    """The policy's raw actions at ``state``, validated, in the state's dtype and device."""
    if isinstance(policy, TruthPolicy):
        actions = policy.act(state)
    else:
        with torch.no_grad():
            actions = _auto_cast(policy)(observe(config, state))
    if not isinstance(actions, Mapping):
        raise ValueError(
            f"policy must return a dict of raw actions per type; got {type(actions).__name__}"
        )
    like = state.capital
    out = {
        t: a.detach().to(device=like.device, dtype=like.dtype)
        if isinstance(a, torch.Tensor) and a.is_floating_point()
        else a
        for t, a in actions.items()
    }
    try:
        validate_actions(config, out, state.batch_size)
    except ValueError as err:
        raise ValueError(f"policy returned invalid actions: {err}") from None
    return out


def _float64(config: GrowthConfig) -> GrowthConfig:
    """The config in float64 (metrics always evaluate in float64)."""
    if not isinstance(config, GrowthConfig):
        raise ValueError(f"config must be a GrowthConfig; got {type(config).__name__}")
    return config if config.dtype == "float64" else config.replace(dtype="float64")


def _state64(state: GrowthState) -> GrowthState:
    """The state with float fields in float64."""
    if not isinstance(state, GrowthState):
        raise ValueError(f"states must be a GrowthState; got {type(state).__name__}")
    cast = {
        f.name: getattr(state, f.name).to(_F64)
        for f in dataclasses.fields(state)
        if getattr(state, f.name).is_floating_point()
    }
    return dataclasses.replace(state, **cast)


def _tile(state: GrowthState, reps: int) -> GrowthState:
    """The B states repeated ``reps`` times along the batch axis (row ``r B + b`` = state b)."""
    tiled = {
        f.name: getattr(state, f.name).repeat(reps, *([1] * (getattr(state, f.name).dim() - 1)))
        for f in dataclasses.fields(state)
    }
    return GrowthState(**tiled)


def _truth(config: GrowthConfig, truth: Any, solution: GrowthSolution | G6Solution | None) -> Any:
    return truth if truth is not None else truth_policy(config, solution)


def default_horizon(beta: float, tail: float = WELFARE_TAIL) -> int:
    """The smallest horizon T with ``beta^T < tail`` (135 at beta = 0.95, 688 at 0.99).

    Args:
        beta: the discount factor in (0, 1).
        tail: the discount weight left beyond the horizon, in (0, 1).

    Returns:
        T, periods.
    """
    if not 0.0 < beta < 1.0 or not 0.0 < tail < 1.0:
        raise ValueError(f"default_horizon: beta and tail must be in (0, 1); got {beta}, {tail}")
    return int(math.floor(math.log(tail) / math.log(beta))) + 1


# ============================================================================ ergodic states
def ergodic_states(
    config: GrowthConfig,
    n: int,
    *,
    burn_in: int = BURN_IN,
    seed: int = 0,
    truth: Any = None,
    solution: GrowthSolution | None = None,
) -> GrowthState:
    """States drawn from the truth's ergodic distribution, in float64.

    ``n`` economies start from the economy's initial distribution (``initial_state``) and are
    simulated for ``burn_in`` periods under the truth policy with shocks from a generator
    seeded by ``seed``; the period counter is reset to 0.

    Args:
        config: the economy.
        n: number of states B.
        burn_in: periods simulated (0 returns initial states).
        seed: seed of the initial draws and the shocks.
        truth: the reference policy (default :func:`truth_policy` of ``config``).
        solution: G3 solution for the default truth.

    Returns:
        A float64 :class:`GrowthState` with batch ``n``.
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"ergodic_states: n must be a positive integer; got {n!r}")
    if isinstance(burn_in, bool) or not isinstance(burn_in, int) or burn_in < 0:
        raise ValueError(f"ergodic_states: burn_in must be an integer >= 0; got {burn_in!r}")
    cfg = _float64(config)
    truth = _truth(cfg, truth, solution)
    gen = torch.Generator().manual_seed(seed)
    state = initial_state(cfg, n, gen)
    for _ in range(burn_in):
        shocks = torch.randn(state.log_z.shape, generator=gen, dtype=_F64)
        state, _, _ = step(cfg, state, _actions(cfg, truth, state), shocks)
    return dataclasses.replace(state, t=torch.zeros_like(state.t))


def wide_grid_states(
    config: GrowthConfig,
    *,
    k_range: tuple[float, float] = WIDE_GRID,
    n_k: int = WIDE_GRID_POINTS,
    n_z: int = WIDE_GRID_SHOCKS,
) -> GrowthState:
    """A fixed wide grid of states, in float64: capital ``x k_ss`` times every shock state.

    ``x`` takes ``n_k`` log-spaced values over ``k_range`` (default 0.3 to 1.6), and ``ln z``
    the ``n_z`` Rouwenhorst nodes of the economy's shock (:func:`rouwenhorst`, ``+-sqrt(n_z - 1)``
    stationary standard deviations), so the grid has ``n_k n_z`` states. Every household
    (markets, a symmetric state) or sector (G5, where all sectors share the capital ratio and
    the shock node) holds the same ``x k_ss``. The other fields (G6 dividends, last prices and
    spending) are those of ``initial_state``: no dividend, prices 1, steady spending.

    Args:
        config: the economy.
        k_range: ``(lo, hi)``, capital in multiples of ``k_ss``, ``0 < lo < hi``.
        n_k: capital points (>= 2).
        n_z: shock states (>= 2).

    Returns:
        A float64 :class:`GrowthState` with batch ``n_k n_z`` (capital varies fastest).
    """
    lo, hi = k_range
    if not 0.0 < lo < hi:
        raise ValueError(f"wide_grid_states: k_range must satisfy 0 < lo < hi; got {k_range}")
    for name, value in (("n_k", n_k), ("n_z", n_z)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ValueError(f"wide_grid_states: {name} must be an integer >= 2; got {value!r}")
    cfg = _float64(config)
    p = cfg.params
    base = initial_state(cfg, n_k * n_z, torch.Generator().manual_seed(0))
    ratio = torch.logspace(math.log10(lo), math.log10(hi), n_k, dtype=_F64)
    nodes, _ = rouwenhorst(n_z, p.rho, p.sigma)
    capital = (steady_state(cfg).capital * ratio).repeat(n_z)  # [n_k n_z], k fastest
    log_z = nodes.repeat_interleave(n_k)
    return dataclasses.replace(
        base,
        capital=capital.unsqueeze(-1).expand_as(base.capital).contiguous(),
        log_z=log_z.unsqueeze(-1).expand_as(base.log_z).contiguous(),
    )


# ============================================================================ coverage
@dataclass(frozen=True, slots=True)
class Coverage:
    """Where training-like rollouts put capital (see :func:`training_coverage`).

    Attributes:
        ergodic_share: share of visited states with ``k/k_ss`` inside the truth's ergodic range.
        wide_share: share of visited states with ``k/k_ss`` inside ``WIDE_GRID``.
        quantiles: the 5%, 50% and 95% quantiles of visited ``k/k_ss``.
        ergodic_range: ``(min, max)`` of ``k/k_ss`` over the truth's ergodic states.
    """

    ergodic_share: float
    wide_share: float
    quantiles: tuple[float, float, float]
    ergodic_range: tuple[float, float]


def training_coverage(
    config: GrowthConfig,
    mean: str = "truth",
    *,
    noise: float = 1.0,
    rollout_length: int = 32,
    iterations: int = 60,
    batch_size: int = 64,
    seed: int = 0,
) -> Coverage:
    """The capital levels a training run visits, as the batched sampler schedules them.

    ``batch_size`` economies of ``config`` (its ``horizon`` and ``init_spread``) are stepped for
    ``iterations`` rollouts of ``rollout_length`` periods and all restart when they reach the
    horizon, as in training. Every agent's raw action is its mean plus ``noise`` times standard
    normal noise (the Gaussian policy's exploration; ``log sigma_0 = 0`` gives 1): the mean is
    the truth's raw action (``mean="truth"``, a policy that has learned the mean) or 0
    (``mean="zero"``, the untrained policy). Capital is measured per economy (mean over
    households or sectors) in units of ``k_ss``.

    Args:
        config: the economy as trained.
        mean: ``"truth"`` or ``"zero"``.
        noise: standard deviation of the raw-action noise.
        rollout_length: periods per iteration.
        iterations: rollouts.
        batch_size: economies.
        seed: seed of the economies and the noise.

    Returns:
        :class:`Coverage`.
    """
    if mean not in ("truth", "zero"):
        raise ValueError(f"training_coverage: mean must be 'truth' or 'zero'; got {mean!r}")
    cfg = _float64(config)
    truth = truth_policy(cfg)
    k_ss = steady_state(cfg).capital
    erg = ergodic_states(cfg, 256, seed=seed, truth=truth).capital.mean(-1) / k_ss
    gen = torch.Generator().manual_seed(seed)
    state = initial_state(cfg, batch_size, gen)
    counts, dims = agent_counts(cfg), action_dims(cfg)
    visited = []
    for _ in range(iterations * rollout_length):
        visited.append(state.capital.mean(-1) / k_ss)
        if mean == "truth":
            centre = truth.act(state)
        else:
            centre = {t: state.capital.new_zeros(batch_size, counts[t], dims[t]) for t in counts}
        bound = cfg.action_bound
        actions = {
            t: (a + noise * torch.randn(a.shape, generator=gen, dtype=_F64)).clamp(-bound, bound)
            for t, a in centre.items()
        }
        shocks = torch.randn(state.log_z.shape, generator=gen, dtype=_F64)
        state, _, _ = step(cfg, state, actions, shocks)
        if bool((state.t >= cfg.horizon).all()):
            state = initial_state(cfg, batch_size, gen)
    k = torch.cat(visited)
    lo, hi = float(erg.min()), float(erg.max())
    q = k.quantile(torch.tensor([0.05, 0.5, 0.95], dtype=_F64))
    return Coverage(
        ergodic_share=float(((k >= lo) & (k <= hi)).double().mean()),
        wide_share=float(((k >= WIDE_GRID[0]) & (k <= WIDE_GRID[1])).double().mean()),
        quantiles=(float(q[0]), float(q[1]), float(q[2])),
        ergodic_range=(lo, hi),
    )


# ============================================================================ policy error
@dataclass(frozen=True, slots=True)
class PolicyError:
    """Distance of a policy's controls to the truth's over states (dimensionless).

    Attributes:
        saving_mean: mean over states of ``|s_pi - s*|`` (saving share of cash on hand,
            averaged over households or sectors within a state).
        saving_max: max over states of the same.
        hours_mean: mean ``|l_pi - l*|`` (G2; ``None`` elsewhere).
        hours_max: max ``|l_pi - l*|`` (G2; ``None`` elsewhere).
    """

    saving_mean: float
    saving_max: float
    hours_mean: float | None = None
    hours_max: float | None = None


def policy_error(
    config: GrowthConfig,
    policy: Policy,
    states: GrowthState,
    *,
    truth: Any = None,
    solution: GrowthSolution | None = None,
) -> PolicyError:
    """Policy error ``|s_pi - s*|`` (and ``|l_pi - l*|`` in G2) at ``states``.

    ``s`` is the realized ``saving_share`` flow (spending on capital over cash on hand) of one
    step from each state with the policy's deterministic action, and ``s*`` the same under the
    truth; the per-state error averages over households (markets) or sectors (G5).

    Args:
        config: the economy (evaluated in float64).
        policy: the policy to score.
        states: B states (e.g. :func:`ergodic_states`).
        truth: the reference policy (default :func:`truth_policy`).
        solution: G3 solution for the default truth.

    Returns:
        :class:`PolicyError`.
    """
    cfg = _float64(config)
    state = _state64(states)
    truth = _truth(cfg, truth, solution)
    zeros = torch.zeros_like(state.log_z)
    _, _, mine = step(cfg, state, _actions(cfg, policy, state), zeros)
    _, _, best = step(cfg, state, _actions(cfg, truth, state), zeros)
    gap = (mine["saving_share"] - best["saving_share"]).abs().mean(-1)
    hours_mean = hours_max = None
    if cfg.elastic_labor:
        gap_l = (mine["hours"] - best["hours"]).abs().mean(-1)
        hours_mean, hours_max = float(gap_l.mean()), float(gap_l.max())
    return PolicyError(
        saving_mean=float(gap.mean()),
        saving_max=float(gap.max()),
        hours_mean=hours_mean,
        hours_max=hours_max,
    )


# ============================================================================ welfare
@dataclass(frozen=True)
class PathValues:
    """Discounted utility per path and agent over a finite horizon.

    ``total = sum_{t<T} beta^t u_t`` with ``u_t`` computed from the consumption and hours
    flows (never from rewards, so constraint penalties do not count as welfare). For CRRA
    ``gamma != 1`` it splits as ``total = consumption + D (+ labor)`` with the consumption part
    ``consumption = sum beta^t c^(1-gamma)/(1-gamma)`` and the constant
    ``D = -sum beta^t / (1-gamma)``; for log utility ``consumption = sum beta^t ln c``.

    Attributes:
        total: ``[B, n]`` values (utils); n = 1 for planners, H for households.
        consumption: ``[B, n]`` the consumption part (utils).
        horizon: T (periods).
        beta: discount factor.
        gamma: CRRA curvature.
    """

    total: torch.Tensor
    consumption: torch.Tensor
    horizon: int
    beta: float
    gamma: float


def discounted_utility(
    config: GrowthConfig,
    policy: Policy,
    states: GrowthState,
    *,
    horizon: int,
    seed: int = 0,
) -> PathValues:
    """Simulate ``policy`` from ``states`` for ``horizon`` periods and sum discounted utility.

    Shocks come from a generator seeded by ``seed`` (shape ``[B, n_z]`` per period), so two
    calls with the same states, horizon and seed use common random numbers. The period
    utility is ``u(c)`` per household (markets), ``u(c)`` of the planner (G1-G3, plus
    ``b ln(1 - l)`` in G2) or ``u(C)``, ``ln C = mean_j ln C_j`` (G5).

    Args:
        config: the economy (evaluated in float64).
        policy: the policy.
        states: B initial states.
        horizon: T, periods (>= 1).
        seed: seed of the shocks.

    Returns:
        :class:`PathValues`.
    """
    if isinstance(horizon, bool) or not isinstance(horizon, int) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer; got {horizon!r}")
    cfg = _float64(config)
    state = _state64(states)
    p = cfg.params
    gen = torch.Generator(device=state.capital.device).manual_seed(seed)
    n_agents = 1 if cfg.is_planner else cfg.n_households
    total = state.capital.new_zeros(state.batch_size, n_agents)
    consumption = torch.zeros_like(total)
    weight = 1.0
    for _ in range(horizon):
        actions = _actions(cfg, policy, state)
        shocks = torch.randn(
            state.log_z.shape, generator=gen, dtype=_F64, device=state.capital.device
        )
        state, _, flows = step(cfg, state, actions, shocks)
        c = flows["consumption"]
        if cfg.economy == "g5":
            c = torch.log(c).mean(-1, keepdim=True).exp()
        part = torch.log(c) if p.gamma == 1.0 else c.pow(1.0 - p.gamma) / (1.0 - p.gamma)
        u = utility(c, p.gamma)
        if cfg.elastic_labor:
            u = u + p.b * torch.log1p(-flows["hours"])
        total = total + weight * u
        consumption = consumption + weight * part
        weight *= p.beta
    return PathValues(total, consumption, horizon, p.beta, p.gamma)


@dataclass(frozen=True, slots=True)
class ConsumptionEquivalent:
    """Consumption-equivalent welfare loss with its confidence interval.

    Attributes:
        value: lambda, the permanent proportional consumption increase under the policy that
            equates its value with the truth's (dimensionless; > 0 means the policy is worse).
        low: lower end of the confidence interval.
        high: upper end.
        mean_difference: mean over paths of ``V* - V_pi`` (utils).
        standard_error: standard error of that mean (utils).
        n_paths: number of paths.
    """

    value: float
    low: float
    high: float
    mean_difference: float
    standard_error: float
    n_paths: int


def consumption_equivalent(
    truth: PathValues,
    policy: PathValues,
    *,
    columns: torch.Tensor | None = None,
    z: float = CI_Z,
) -> ConsumptionEquivalent:
    """Consumption equivalent lambda of two path-value sets simulated with common random numbers.

    Per path ``b``, ``d_b = mean_h V*_bh - mean_h V_bh`` (agents ``h`` in ``columns``; the two
    sets may have different agent counts, e.g. the G1 planner against G4 households). With
    ``d = mean_b d_b``:

    - log utility: scaling consumption by ``1 + lambda`` in every period adds
      ``ln(1 + lambda) (1 - beta^T)/(1 - beta)`` to the value (G2's labor term is unaffected),
      so ``lambda = exp((1 - beta)/(1 - beta^T) d) - 1``, the finite-horizon version of the
      spec's ``exp((1 - beta)(V* - V_pi)) - 1``;
    - CRRA ``gamma != 1``: solve ``(1 + lambda)^(1-gamma) A + D = V*`` with ``V_pi = A + D``
      (see :class:`PathValues`), i.e. ``lambda = (1 + d / A)^(1/(1-gamma)) - 1`` with ``A``
      the policy's mean consumption part.

    The interval maps ``d +- z sd(d_b)/sqrt(B)`` through the same transform, which increases
    in ``d`` (``A`` held at its mean).

    Args:
        truth: values of the reference policy.
        policy: values of the scored policy (same states, horizon and shocks).
        columns: agent indices to average over (``None``: all; both sets use them).
        z: normal quantile of the interval (1.96: 95%).

    Returns:
        :class:`ConsumptionEquivalent`.
    """
    if (truth.horizon, truth.beta, truth.gamma) != (policy.horizon, policy.beta, policy.gamma):
        raise ValueError("truth and policy values must share horizon, beta and gamma")
    if truth.total.shape[0] != policy.total.shape[0]:
        raise ValueError(
            f"truth and policy must have the same number of paths; got "
            f"{truth.total.shape[0]} and {policy.total.shape[0]}"
        )

    def pick(x: torch.Tensor) -> torch.Tensor:
        return (x if columns is None else x[:, columns]).mean(-1)

    diff = pick(truth.total) - pick(policy.total)
    n = diff.shape[0]
    mean = float(diff.mean())
    se = float(diff.std()) / math.sqrt(n) if n > 1 else 0.0
    beta, horizon, gamma = policy.beta, policy.horizon, policy.gamma
    if gamma == 1.0:
        scale = (1.0 - beta) / (1.0 - beta**horizon)

        def transform(d: float) -> float:
            return math.expm1(scale * d)

    else:
        part = float(pick(policy.consumption).mean())

        def transform(d: float) -> float:
            base = 1.0 + d / part
            return base ** (1.0 / (1.0 - gamma)) - 1.0 if base > 0.0 else math.nan

    return ConsumptionEquivalent(
        value=transform(mean),
        low=transform(mean - z * se),
        high=transform(mean + z * se),
        mean_difference=mean,
        standard_error=se,
        n_paths=n,
    )


@dataclass(frozen=True)
class WelfareLoss:
    """Welfare loss of a policy against the truth (see :func:`welfare_loss`).

    Attributes:
        overall: lambda over all agents (households: mean over households per path).
        restricted: G7 only, lambda of the restricted households (``None`` if none).
        full_information: G7 only, lambda of the full-information households.
        horizon: T, periods simulated.
        truth: the truth's :class:`PathValues`.
        policy: the policy's :class:`PathValues`.
    """

    overall: ConsumptionEquivalent
    restricted: ConsumptionEquivalent | None
    full_information: ConsumptionEquivalent | None
    horizon: int
    truth: PathValues = field(repr=False)
    policy: PathValues = field(repr=False)


def welfare_loss(
    config: GrowthConfig,
    policy: Policy,
    *,
    states: GrowthState,
    horizon: int | None = None,
    seed: int = 0,
    truth: Any = None,
    solution: GrowthSolution | None = None,
    z: float = CI_Z,
) -> WelfareLoss:
    """Consumption-equivalent welfare loss lambda of ``policy`` with a confidence interval.

    The policy and the truth are simulated from the same ``states`` with the same shock draws
    (common random numbers, :func:`discounted_utility`), and lambda is computed from the
    paired per-path value differences (:func:`consumption_equivalent`). Households are scored
    by their own utility (mean over households; in G7 also per information group).

    Args:
        config: the economy (evaluated in float64).
        policy: the policy to score.
        states: B initial states (e.g. :func:`ergodic_states`).
        horizon: T, periods; default :func:`default_horizon` (``beta^T < 1e-3``: 135 at
            beta = 0.95, 688 at 0.99).
        seed: seed of the common shocks.
        truth: the reference policy (default :func:`truth_policy`).
        solution: G3 solution for the default truth.
        z: normal quantile of the interval (1.96: 95%).

    Returns:
        :class:`WelfareLoss`.
    """
    cfg = _float64(config)
    truth = _truth(cfg, truth, solution)
    horizon = default_horizon(cfg.params.beta) if horizon is None else horizon
    mine = discounted_utility(cfg, policy, states, horizon=horizon, seed=seed)
    best = discounted_utility(cfg, truth, states, horizon=horizon, seed=seed)
    restricted = full = None
    if cfg.economy == "g7":
        mask = restricted_mask(cfg, mine.total.device)
        groups = [
            consumption_equivalent(best, mine, columns=idx, z=z) if idx.numel() else None
            for idx in (mask.nonzero()[:, 0], (~mask).nonzero()[:, 0])
        ]
        restricted, full = groups
    return WelfareLoss(
        overall=consumption_equivalent(best, mine, z=z),
        restricted=restricted,
        full_information=full,
        horizon=horizon,
        truth=best,
        policy=mine,
    )


# ============================================================================ Euler errors
def shock_quadrature(
    dim: int, nodes: int = GH_NODES, max_points: int = MAX_PRODUCT_POINTS
) -> tuple[torch.Tensor, torch.Tensor]:
    """Quadrature for ``E f(eps)``, ``eps ~ N(0, I_dim)``: points ``[Q, dim]``, weights ``[Q]``.

    One dimension: Gauss-Hermite for the weight ``exp(-x^2/2)``
    (``numpy.polynomial.hermite_e.hermegauss``), weights divided by ``sqrt(2 pi)`` so they sum
    to 1; exact for polynomials of degree ``2 nodes - 1``. Several dimensions: the tensor
    product while ``nodes^dim <= max_points``; beyond, the degree-5 monomial rule M2 of Judd,
    Maliar and Maliar (2011, Quantitative Economics 2, p. 173): the origin (weight
    ``2/(d+2)``), ``+-sqrt(d+2) e_i`` (weight ``(4-d)/(2(d+2)^2)``) and
    ``+-sqrt((d+2)/2) (e_i +- e_j)``, ``i < j`` (weight ``1/(d+2)^2``), ``2 d^2 + 1`` points.

    Args:
        dim: number of independent shocks d (>= 1).
        nodes: Gauss-Hermite nodes per dimension (>= 1).
        max_points: the largest tensor product used.

    Returns:
        ``(points, weights)`` in float64.
    """
    if dim < 1 or nodes < 1:
        raise ValueError(f"shock_quadrature: dim and nodes must be >= 1; got {dim}, {nodes}")
    if nodes**dim <= max_points:
        x, w = np.polynomial.hermite_e.hermegauss(nodes)
        w = w / math.sqrt(2.0 * math.pi)
        grids = np.meshgrid(*([x] * dim), indexing="ij")
        weights = np.meshgrid(*([w] * dim), indexing="ij")
        points = np.stack([g.ravel() for g in grids], -1)
        weight = np.prod(np.stack([g.ravel() for g in weights], -1), -1)
        return torch.from_numpy(points), torch.from_numpy(weight)
    d = dim
    pts = [np.zeros(d)]
    wts = [2.0 / (d + 2)]
    eye = np.eye(d)
    for i in range(d):
        for sign in (1.0, -1.0):
            pts.append(sign * math.sqrt(d + 2) * eye[i])
            wts.append((4.0 - d) / (2.0 * (d + 2) ** 2))
    r = math.sqrt((d + 2) / 2.0)
    for i in range(d):
        for j in range(i + 1, d):
            for si in (1.0, -1.0):
                for sj in (1.0, -1.0):
                    pts.append(r * (si * eye[i] + sj * eye[j]))
                    wts.append(1.0 / (d + 2) ** 2)
    return torch.from_numpy(np.stack(pts)), torch.tensor(wts, dtype=_F64)


@dataclass(frozen=True)
class EulerErrors:
    """Euler-equation errors in log10 units over states (and households or sectors).

    Attributes:
        mean: mean of ``log10 |1 - beta E[mu' R'] / (mu q)|``.
        max: max of the same.
        errors: ``[B, n_k]`` the errors per state and household/sector.
    """

    mean: float
    max: float
    errors: torch.Tensor = field(repr=False)


def euler_errors(
    config: GrowthConfig,
    policy: Policy,
    states: GrowthState,
    *,
    nodes: int = GH_NODES,
    max_points: int = MAX_PRODUCT_POINTS,
) -> EulerErrors:
    """Euler-equation errors ``log10 |1 - beta E[mu' R'] / (mu q)|`` of a policy at ``states``.

    ``mu`` is the ``marginal_utility`` flow (``u'(c)``; G5 ``dU/dC_j``), ``q`` the
    ``capital_price`` flow (1 except in G6) of the step from each state under the policy, and
    ``R'`` the ``gross_return`` flow (``alpha y'/k' + 1 - delta``; markets ``r' + 1 - delta``)
    of the NEXT step, with the policy applied again at the next states. The expectation over
    ``eps'`` uses :func:`shock_quadrature`: each state is replicated over the quadrature
    points and stepped with the points as shocks. In G6 the producers act with the policy's
    producer action in both steps. Errors are floored at float64's machine epsilon
    (``log10 >= -15.65``) so exact rules give finite numbers; constrained choices (a binding
    bound on the share, a cut quantity) have no Euler equality and show as large errors.

    Args:
        config: the economy (evaluated in float64).
        policy: the policy.
        states: B states.
        nodes: Gauss-Hermite nodes per shock dimension.
        max_points: largest tensor-product rule (G5 with many sectors uses the monomial rule).

    Returns:
        :class:`EulerErrors`.
    """
    cfg = _float64(config)
    state = _state64(states)
    b = state.batch_size
    points, weights = shock_quadrature(state.log_z.shape[1], nodes, max_points)
    points = points.to(state.capital.device)
    weights = weights.to(state.capital.device)
    n_q = weights.shape[0]
    now = _actions(cfg, policy, state)
    _, _, flows = step(cfg, state, now, torch.zeros_like(state.log_z))
    tiled = {t: a.repeat(n_q, 1, 1) for t, a in now.items()}
    nxt, _, _ = step(cfg, _tile(state, n_q), tiled, points.repeat_interleave(b, 0))
    _, _, later = step(cfg, nxt, _actions(cfg, policy, nxt), torch.zeros_like(nxt.log_z))
    integrand = later["marginal_utility"] * later["gross_return"]
    expect = torch.einsum("q,qbk->bk", weights, integrand.reshape(n_q, b, -1))
    ratio = cfg.params.beta * expect / (flows["marginal_utility"] * flows["capital_price"])
    gap = (1.0 - ratio).abs().clamp(min=torch.finfo(_F64).eps)
    errors = torch.log10(gap)
    return EulerErrors(mean=float(errors.mean()), max=float(errors.max()), errors=errors)


# ============================================================================ one table row
@dataclass(frozen=True, slots=True)
class AccuracyRow:
    """One row of the accuracy table (spec "Accuracy metrics"); ``None`` where not relevant.

    Attributes:
        economy: G1-G7 name.
        action: ``share`` or ``quantity``.
        constraint: ``squash``, ``clip`` or ``penalty``.
        information: G7 mask (``full`` elsewhere).
        n_households: H.
        n_sectors: N (G5).
        n_producers: N (G6).
        n_states: ergodic states (and welfare paths).
        horizon: welfare horizon T.
        saving_error_mean: mean ``|s_pi - s*|``.
        saving_error_max: max ``|s_pi - s*|``.
        hours_error_mean: mean ``|l_pi - l*|`` (G2).
        hours_error_max: max ``|l_pi - l*|`` (G2).
        welfare_loss: lambda.
        welfare_loss_low: lower end of its 95% interval.
        welfare_loss_high: upper end.
        welfare_loss_restricted: lambda of G7 restricted households.
        welfare_loss_full: lambda of G7 full-information households.
        euler_mean: mean log10 Euler error.
        euler_max: max log10 Euler error.
        markup_mean: G6 mean markup of the cheapest sellers over their own marginal cost at
            the quantity each sold, ``q / (1 + phi I_n) - 1`` (flow ``markup``), under the
            policy.
        markup_competitive: the competitive benchmark markup (0 by construction).
        markup_bertrand_low: mean markup (same definition) at the lowest pure-strategy
            Bertrand equilibrium price at the realized spending S (:func:`g6_bertrand`;
            N = 1: the cap's price, :func:`g6_monopoly`).
        markup_bertrand_high: the same at the highest Bertrand equilibrium price.
        price_mean: G6 mean lowest posted price (goods per unit of capital).
        price_competitive: mean competitive price at the realized spending S.
        price_bertrand_low: mean lowest Bertrand equilibrium price at S.
        price_bertrand_high: mean highest Bertrand equilibrium price at S (capped at
            ``1 + markup_max``).
        wide_saving_error_mean: mean ``|s_pi - s*|`` on the wide grid
            (:func:`wide_grid_states`, 0.3-1.6 ``k_ss`` times the shock states).
        wide_saving_error_max: max of the same.
        wide_hours_error_mean: mean ``|l_pi - l*|`` on the wide grid (G2).
        wide_hours_error_max: max of the same (G2).
        wide_euler_mean: mean log10 Euler error of the policy on the wide grid.
        wide_euler_max: max of the same.
    """

    economy: str
    action: str
    constraint: str
    information: str
    n_households: int
    n_sectors: int
    n_producers: int
    n_states: int
    horizon: int
    saving_error_mean: float
    saving_error_max: float
    hours_error_mean: float | None
    hours_error_max: float | None
    welfare_loss: float
    welfare_loss_low: float
    welfare_loss_high: float
    welfare_loss_restricted: float | None
    welfare_loss_full: float | None
    euler_mean: float
    euler_max: float
    markup_mean: float | None = None
    markup_competitive: float | None = None
    markup_bertrand_low: float | None = None
    markup_bertrand_high: float | None = None
    price_mean: float | None = None
    price_competitive: float | None = None
    price_bertrand_low: float | None = None
    price_bertrand_high: float | None = None
    wide_saving_error_mean: float | None = None
    wide_saving_error_max: float | None = None
    wide_hours_error_mean: float | None = None
    wide_hours_error_max: float | None = None
    wide_euler_mean: float | None = None
    wide_euler_max: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as a flat dict (column name -> value) for tables and CSV files."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def evaluate(
    config: GrowthConfig,
    policy: Policy,
    *,
    n_states: int = N_STATES,
    seed: int = 0,
    solution: GrowthSolution | None = None,
    truth: Any = None,
    burn_in: int = BURN_IN,
    horizon: int | None = None,
    nodes: int = GH_NODES,
    policy_dtype: torch.dtype | None = None,
    policy_device: torch.device | str | None = None,
    wide_grid: bool = True,
) -> AccuracyRow:
    """All accuracy metrics of ``policy`` in one row, evaluated in float64.

    The config is rebuilt with ``dtype="float64"``; ``n_states`` ergodic states are drawn
    under the truth (:func:`ergodic_states`, seed ``seed``); the policy error and the Euler
    errors are taken at those states, and again on the fixed wide grid
    (:func:`wide_grid_states`, unless ``wide_grid`` is False), and the welfare loss from the
    ergodic states over ``horizon`` periods (shocks seeded by ``seed + 1``). Observations reach
    the policy cast to ``policy_dtype`` / ``policy_device`` (a ``torch.nn.Module`` policy gets
    its parameters' by default) and its actions are cast back to float64. In G6 the row also
    has the mean markup over own marginal cost under the policy and the benchmarks at the
    spending S realized in that step: competitive (:func:`g6_competitive`) and the range of
    Bertrand equilibria of the posted-price game (:func:`g6_bertrand`; N = 1:
    :func:`g6_monopoly`, the cap).

    Args:
        config: the economy.
        policy: the policy to score.
        n_states: states and welfare paths.
        seed: seed of the states (the welfare shocks use ``seed + 1``).
        solution: G3 (or G6) solution for the default truth (solved when needed and not given).
        truth: the reference policy (default :func:`truth_policy`).
        burn_in: periods simulated under the truth to reach the ergodic set.
        horizon: welfare horizon (default :func:`default_horizon`).
        nodes: Gauss-Hermite nodes per shock dimension (Euler errors).
        policy_dtype: dtype the policy expects (``None``: inferred or unchanged).
        policy_device: device the policy expects (``None``: inferred or unchanged).
        wide_grid: also score the policy on :func:`wide_grid_states` (the ``wide_*`` fields;
            ``None`` when False).

    Returns:
        :class:`AccuracyRow`.
    """
    cfg = _float64(config)
    truth = _truth(cfg, truth, solution)
    if policy_dtype is not None or policy_device is not None:
        policy = cast_policy(policy, policy_dtype, policy_device)
    states = ergodic_states(cfg, n_states, burn_in=burn_in, seed=seed, truth=truth)
    err = policy_error(cfg, policy, states, truth=truth)
    loss = welfare_loss(cfg, policy, states=states, horizon=horizon, seed=seed + 1, truth=truth)
    euler = euler_errors(cfg, policy, states, nodes=nodes)
    wide: dict[str, float | None] = {}
    if wide_grid:
        grid = wide_grid_states(cfg)
        w_err = policy_error(cfg, policy, grid, truth=truth)
        w_euler = euler_errors(cfg, policy, grid, nodes=nodes)
        wide = {
            "wide_saving_error_mean": w_err.saving_mean,
            "wide_saving_error_max": w_err.saving_max,
            "wide_hours_error_mean": w_err.hours_mean,
            "wide_hours_error_max": w_err.hours_max,
            "wide_euler_mean": w_euler.mean,
            "wide_euler_max": w_euler.max,
        }
    market: dict[str, float] = {}
    if cfg.economy == "g6":
        _, _, flows = step(cfg, states, _actions(cfg, policy, states), states.log_z * 0.0)
        spend = flows["spending"]
        phi, n_p = cfg.adjustment_cost, cfg.n_producers
        comp = g6_competitive(spend, phi, n_p)
        if n_p == 1:
            bertrand = g6_monopoly(spend, phi, cfg.markup_max)
        else:
            bertrand = g6_bertrand(spend, phi, n_p, cfg.markup_max)
        market = {
            "markup_mean": float(flows["markup"].mean()),
            "markup_competitive": float(comp.markup.mean()),
            "markup_bertrand_low": float(bertrand.markup_low.mean()),
            "markup_bertrand_high": float(bertrand.markup_high.mean()),
            "price_mean": float(flows["price_min"].mean()),
            "price_competitive": float(comp.price.mean()),
            "price_bertrand_low": float(bertrand.price_low.mean()),
            "price_bertrand_high": float(bertrand.price_high.mean()),
        }
    return AccuracyRow(
        economy=cfg.economy,
        action=cfg.action,
        constraint=cfg.constraint,
        information=cfg.information,
        n_households=cfg.n_households,
        n_sectors=cfg.n_sectors,
        n_producers=cfg.n_producers,
        n_states=n_states,
        horizon=loss.horizon,
        saving_error_mean=err.saving_mean,
        saving_error_max=err.saving_max,
        hours_error_mean=err.hours_mean,
        hours_error_max=err.hours_max,
        welfare_loss=loss.overall.value,
        welfare_loss_low=loss.overall.low,
        welfare_loss_high=loss.overall.high,
        welfare_loss_restricted=None if loss.restricted is None else loss.restricted.value,
        welfare_loss_full=None if loss.full_information is None else loss.full_information.value,
        euler_mean=euler.mean,
        euler_max=euler.max,
        **market,
        **wide,
    )
