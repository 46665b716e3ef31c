"""The transition: initial_state() and step(), phases A..J of spec section 5.2 in order.

Pure functions of (config, state, actions). The step has no randomness (the only randomness of the
model is in the policies), so it takes no generator. All agents and economies are handled by tensor
operations: no Python loop over agents or replicas.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rbc_env.config import RBCConfig
from rbc_env.core import fiscal, markets, production, rewards
from rbc_env.core.actions import Actions, DecodedActions, decode_actions
from rbc_env.core.observe import Observations, observe
from rbc_env.core.state import EconomyState

_DTYPES = {"float32": torch.float32, "float64": torch.float64}


def torch_dtype(config: RBCConfig) -> torch.dtype:
    """The torch float dtype named by ``config.dtype``."""
    return _DTYPES[config.dtype]


@dataclass(frozen=True, slots=True)
class StepOutput:
    """What one step returns (B = batch, C = consumers, F = firms).

    Attributes:
        obs: observations of the next state, ``consumer`` [B, C, D_c], ``firm`` [B, F, D_f],
            ``government`` [B, D_g]: an ``Observations`` mapping, which holds the global and
            private parts and builds each flat tensor when it is first read.
        rewards: ``consumer`` [B, C] utility, ``firm`` [B, F] money, ``government`` [B] welfare.
        done: [B] bool, the horizon is reached (truncation: the economy itself never ends).
        flows: named per-period flows, see ``step``.
    """

    obs: Observations
    rewards: dict[str, torch.Tensor]
    done: torch.Tensor
    flows: dict[str, torch.Tensor]


def consumer_thetas(config: RBCConfig) -> list[float]:
    """Base labour-disutility θ̄_i = θ̄ (1 - i/C)^(1/b), i = 0..C-1 (Pareto quantiles; (M13))."""
    c, p = config.n_consumers, config.consumer
    return [p.theta_base * (1 - i / c) ** (1 / p.theta_pareto_shape) for i in range(c)]


def initial_state(
    config: RBCConfig,
    batch_size: int,
    *,
    device: torch.device | str = "cpu",
    theta_factor: float = 1.0,
) -> EconomyState:
    """The deterministic initial state of spec sections 3.1-3.2, B copies. Implements (M13).

    Args:
        config: the economy.
        batch_size: B >= 1.
        device: where the tensors live.
        theta_factor: curriculum factor f(e) in [0, 1] on θ (1 outside training).

    Raises:
        ValueError: on a bad batch size or θ factor.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer in [1, inf); got {batch_size!r}")
    if not 0.0 <= theta_factor <= 1.0:
        raise ValueError(f"theta_factor must be in [0, 1]; got {theta_factor!r}")
    dtype = torch_dtype(config)
    b, c, f = batch_size, config.n_consumers, config.n_firms

    def full(shape: tuple[int, ...], value: float) -> torch.Tensor:
        return torch.full(shape, value, dtype=dtype, device=device)

    firm_ids = torch.arange(f, device=device)
    capital = torch.where(
        2 * firm_ids < f,  # firms j < F/2 start with the low capital (firms 0-4 of 10)
        torch.tensor(config.firm.initial_capital_low, dtype=dtype, device=device),
        torch.tensor(config.firm.initial_capital_high, dtype=dtype, device=device),
    )
    pattern = torch.tensor(config.firm.alpha_pattern, dtype=dtype, device=device)
    alpha = pattern[firm_ids % len(config.firm.alpha_pattern)]
    theta = torch.tensor(consumer_thetas(config), dtype=dtype, device=device) * theta_factor
    return EconomyState(
        price=full((b, f), config.firm.initial_price),
        wage=full((b, f), config.firm.initial_wage),
        inventory=full((b, f), 0.0),
        overdemanded=torch.zeros((b, f), dtype=torch.bool, device=device),
        income_tax=full((b,), config.government.initial_income_tax),
        corporate_tax=full((b,), config.government.initial_corporate_tax),
        t=torch.zeros(b, dtype=torch.long, device=device),
        consumer_budget=full((b, c), config.consumer.initial_budget),
        theta=theta.expand(b, c).clone(),
        firm_budget=full((b, f), config.initial_firm_budget),
        capital=capital.expand(b, f).clone(),
        alpha=alpha.expand(b, f).clone(),
    )


def _with_interest(config: RBCConfig, cash: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(M12) interest: positive cash grows by the factor 1 + r. Returns (new cash, interest)."""
    interest = cash.clamp(min=0) * config.market.interest_rate
    return cash + interest, interest


def step(
    config: RBCConfig, state: EconomyState, actions: Actions
) -> tuple[EconomyState, StepOutput]:
    """Advance every economy by one period (spec 5.2, phases B-J; docs/model.md (M1)-(M12)).

    Actions are not validated here (see ``rbc_env.core.actions.validate_actions``).

    Args:
        config: the economy.
        state: state at the start of the period.
        actions: index tensors keyed by type (see ``rbc_env.core.actions``).

    Returns:
        The next state and a ``StepOutput``. ``flows`` holds, per period:
        ``consumption`` [B, C, F] goods c_ij; ``demand_scale`` [B, C] ω_i (M1);
        ``ration_factor`` [B, F] r_j (M3); ``hours`` [B, C];
        ``labor_income`` [B, C] money z_i (gross); ``income_tax`` [B, C] money;
        ``consumer_spending`` [B, C] money; ``consumer_interest`` [B, C] money;
        ``sales`` [B, F] goods C_j; ``exports`` [B, F] goods X_j; ``revenue`` [B, F] money;
        ``wage_bill`` [B, F] money; ``labor`` [B, F] hours L_j; ``investment`` [B, F] ΔK_j;
        ``profit`` [B, F] money P_j; ``corporate_tax`` [B, F] money;
        ``production`` [B, F] goods Y_j;
        ``rationed`` [B, F] bool; ``firm_interest`` [B, F] money; ``tax_revenue`` [B] money R;
        ``transfer`` [B] money R / C paid to each consumer.
    """
    act = decode_actions(config, actions, state.dtype)
    consumer = _consumer_phase(config, state, act)  # phases B-E
    firm = _firm_phase(config, state, act, consumer)  # phases F-G
    revenue, transfer = fiscal.transfer(consumer["income_tax"], firm["corporate_tax"])  # phase H
    next_state, interest = _commit(config, state, act, consumer, firm, transfer)  # phases I-J

    consumer_reward = consumer["reward"]
    firm_reward = firm["reward"]
    out_rewards = {
        "consumer": consumer_reward,
        "firm": firm_reward,
        "government": rewards.government_reward(config, consumer_reward, firm_reward),
    }
    flows = {
        "consumption": consumer["consumption"],
        "demand_scale": consumer["demand_scale"],
        "ration_factor": consumer["ration_factor"],
        "hours": act.hours,
        "labor_income": consumer["labor_income"],
        "income_tax": consumer["income_tax"],
        "consumer_spending": consumer["spending"],
        "consumer_interest": interest["consumer"],
        "sales": firm["sales"],
        "exports": firm["exports"],
        "revenue": firm["revenue"],
        "wage_bill": firm["wage_bill"],
        "labor": firm["labor"],
        "investment": firm["investment"],
        "profit": firm["profit"],
        "corporate_tax": firm["corporate_tax"],
        "production": firm["production"],
        "rationed": consumer["rationed"],
        "firm_interest": interest["firm"],
        "tax_revenue": revenue,
        "transfer": transfer,
    }
    done = next_state.t >= config.horizon
    return next_state, StepOutput(observe(config, next_state), out_rewards, done, flows)


def _consumer_phase(
    config: RBCConfig, state: EconomyState, act: DecodedActions
) -> dict[str, torch.Tensor]:
    """Phases B-E: budget-feasible demand, rationing, utility, labour income and its tax.

    Demand d_ij = ω_i ĉ_ij and consumption c_ij = r_j ω_i ĉ_ij factorize, so the sums over goods
    and consumers are batched matrix products and only c_ij itself is materialized.
    """
    # Purchases are ĉ_ij = k_ij Δc with k the grid index: Δc is folded into the per-consumer
    # factor so that the [B, C, F] tensors see one multiplication each.
    index = act.units
    price = state.price
    step_units = config.consumer.units_step
    cost = step_units * torch.einsum("bcf,bf->bc", index, price)
    scale = markets.budget_scale(cost, state.consumer_budget)
    total_demand = step_units * torch.einsum("bc,bcf->bf", scale, index)
    factor, rationed, leftover = markets.ration(total_demand, state.inventory)
    consumption = index * (step_units * scale).unsqueeze(-1)
    consumption.mul_(factor.unsqueeze(1))
    spending = step_units * scale * torch.einsum("bcf,bf->bc", index, price * factor)
    labor_income = state.wage.gather(1, act.employer) * act.hours
    reward = rewards.goods_utility(config, consumption) - rewards.labor_disutility(
        config, act.hours, state.theta
    )
    return {
        "consumption": consumption,
        "sales": factor * total_demand,
        "demand_scale": scale,
        "ration_factor": factor,
        "rationed": rationed,
        "leftover": leftover,
        "spending": spending,
        "labor_income": labor_income,
        "income_tax": fiscal.income_tax(labor_income, state.income_tax),
        "reward": reward,
    }


def _firm_phase(
    config: RBCConfig,
    state: EconomyState,
    act: DecodedActions,
    consumer: dict[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """Phases F-G: exports, revenue, wages, investment, profit, corporate tax, production."""
    sales = consumer["sales"]
    exports = markets.foreign_demand(config, state.price, consumer["leftover"])
    labor = markets.labor_per_firm(act.hours, act.employer, config.n_firms)
    revenue = state.price * (sales + exports)
    wage_bill = state.wage * labor
    operating_income = revenue - wage_bill
    invest = production.investment(config, operating_income)
    profit = operating_income - invest
    corp_tax = fiscal.corporate_tax(profit, state.corporate_tax)
    return {
        "sales": sales,
        "exports": exports,
        "leftover_after_exports": consumer["leftover"] - exports,
        "labor": labor,
        "revenue": revenue,
        "wage_bill": wage_bill,
        "investment": invest,
        "profit": profit,
        "corporate_tax": corp_tax,
        "reward": profit - corp_tax,
        "production": production.output(config, state.capital, labor, state.alpha),
    }


def _commit(
    config: RBCConfig,
    state: EconomyState,
    act: DecodedActions,
    consumer: dict[str, torch.Tensor],
    firm: dict[str, torch.Tensor],
    transfer: torch.Tensor,
) -> tuple[EconomyState, dict[str, torch.Tensor]]:
    """Phases I-J: next prices, wages, stocks, taxes, cash with interest, capital. (M10), (M12)."""
    consumer_delta = (
        config.parity.budget_epsilon
        - consumer["spending"]
        + consumer["labor_income"]
        - consumer["income_tax"]
        + transfer.unsqueeze(-1)
    )
    firm_delta = firm["reward"]
    consumer_budget, consumer_interest = _with_interest(
        config, state.consumer_budget + consumer_delta
    )
    firm_budget, firm_interest = _with_interest(config, state.firm_budget + firm_delta)
    next_state = EconomyState(
        price=act.price_next,
        wage=act.wage_next,
        inventory=firm["leftover_after_exports"] + firm["production"],
        overdemanded=consumer["rationed"],
        income_tax=act.income_tax_next,
        corporate_tax=act.corporate_tax_next,
        t=state.t + 1,
        consumer_budget=consumer_budget,
        theta=state.theta,
        firm_budget=firm_budget,
        capital=state.capital + firm["investment"],
        alpha=state.alpha,
    )
    return next_state, {"consumer": consumer_interest, "firm": firm_interest}
