"""A deliberately plain per-agent reference of the RBC transition (spec sections 3.1-3.2, 5.1-5.2).

Written from the specification (/work/shared/spec/rbc_model.md, phases B..J of section 5.2), not
from the batched core: Python floats, one economy at a time, explicit for-loops over consumers and
firms, no torch. It is slow on purpose; the tests compare the vectorized core against it.

Generalizations of the paper's constants follow the config's documented fields: grids are
index × step, A = ``firm.tfp``, φ = ``firm.investment_fraction``, the labour floor, the interest
rate, the export quota and minimum price, the budget epsilon, the disutility exponent κ
(``(θ/2) hours^κ``) and the welfare weight λ_f. Firms j < F/2 start with the low capital
(the field doc of ``FirmParams.initial_capital_low``; spec 3.2: firms 0-4 of 10).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from rbc_env import RBCConfig


@dataclass
class RefState:
    """State of ONE economy at the start of a period (spec 3.1-3.2), as plain Python values."""

    price: list[float]
    wage: list[float]
    inventory: list[float]
    overdemanded: list[bool]
    income_tax: float
    corporate_tax: float
    t: int
    consumer_budget: list[float]
    theta: list[float]
    firm_budget: list[float]
    capital: list[float]
    alpha: list[float]


@dataclass
class RefStep:
    """What one reference step produces for one economy."""

    state: RefState
    consumer_reward: list[float]
    firm_reward: list[float]
    government_reward: float
    flows: dict[str, Any] = field(default_factory=dict)


def initial_state(config: RBCConfig, theta_factor: float = 1.0) -> RefState:
    """Spec 3.1-3.2 and 5.1: the deterministic initial state, θ scaled by the curriculum factor."""
    n_c, n_f = config.n_consumers, config.n_firms
    cons, firm, gov = config.consumer, config.firm, config.government
    theta = []
    for j in range(n_c):
        # θ̄_j = θ̄ / Q(j / N_c) with the Pareto(b) quantile Q(q) = (1 - q)^(-1/b).
        quantile = (1.0 - j / n_c) ** (-1.0 / cons.theta_pareto_shape)
        theta.append(cons.theta_base / quantile * theta_factor)
    capital = []
    alpha = []
    for i in range(n_f):
        capital.append(firm.initial_capital_low if i < n_f / 2 else firm.initial_capital_high)
        alpha.append(firm.alpha_pattern[i % len(firm.alpha_pattern)])
    return RefState(
        price=[firm.initial_price] * n_f,
        wage=[firm.initial_wage] * n_f,
        inventory=[0.0] * n_f,
        overdemanded=[False] * n_f,
        income_tax=gov.initial_income_tax,
        corporate_tax=gov.initial_corporate_tax,
        t=0,
        consumer_budget=[cons.initial_budget] * n_c,
        theta=theta,
        firm_budget=[firm.initial_budget_per_consumer * n_c] * n_f,
        capital=capital,
        alpha=alpha,
    )


def step(
    config: RBCConfig,
    s: RefState,
    consumer_actions: list[list[int]],
    firm_actions: list[list[int]],
    government_action: list[int],
) -> RefStep:
    """One period of one economy, phases B..J of spec section 5.2, agent by agent.

    Args:
        config: the economy.
        s: the state at the start of the period (not modified).
        consumer_actions: per consumer [units index of good 0..F-1, hours index, employer].
        firm_actions: per firm [next-price index, next-wage index].
        government_action: [next income-tax index, next corporate-tax index].
    """
    n_c, n_f = config.n_consumers, config.n_firms
    cons, firm, gov, market = config.consumer, config.firm, config.government, config.market

    # Decode the indices (spec 4): value = index × grid step.
    attempted = [[a[i] * cons.units_step for i in range(n_f)] for a in consumer_actions]
    hours = [a[n_f] * cons.hours_step for a in consumer_actions]
    employer = [a[n_f + 1] for a in consumer_actions]

    # Phase B: budget-feasible demand. S_j = Σ_i p_i ĉ_ij; s_j = B_j / S_j if S_j > B_j.
    demand = []
    for j in range(n_c):
        cost = 0.0
        for i in range(n_f):
            cost += s.price[i] * attempted[j][i]
        budget = max(s.consumer_budget[j], 0.0)  # >= 0 in exact arithmetic (spec 5.3, 2)
        scale = budget / cost if (cost > 0 and cost > budget) else 1.0
        demand.append([scale * attempted[j][i] for i in range(n_f)])

    # Phase C: aggregate demand per good and labour per firm.
    total_demand = [0.0] * n_f
    for j in range(n_c):
        for i in range(n_f):
            total_demand[i] += demand[j][i]
    labor = [0.0] * n_f
    for j in range(n_c):
        labor[employer[j]] += hours[j]

    # Phase D: rationing flags.
    rationed = [total_demand[i] > 0 and total_demand[i] > s.inventory[i] for i in range(n_f)]

    # Phase E: realized consumption, utility, labour income and income tax.
    ration_factor = [s.inventory[i] / total_demand[i] if rationed[i] else 1.0 for i in range(n_f)]
    one_minus_eta = 1.0 - cons.crra_eta
    consumption = []
    sales = [0.0] * n_f
    spending = []
    labor_income = []
    income_tax = []
    consumer_delta = []
    consumer_reward = []
    tax_revenue = 0.0
    for j in range(n_c):
        c_j = [ration_factor[i] * demand[j][i] for i in range(n_f)]
        consumption.append(c_j)
        spent = 0.0
        utility = 0.0
        for i in range(n_f):
            sales[i] += c_j[i]
            spent += s.price[i] * c_j[i]
            utility += ((c_j[i] + 1.0) ** one_minus_eta - 1.0) / one_minus_eta
        z = s.wage[employer[j]] * hours[j]
        tax = s.income_tax * z
        tax_revenue += tax
        spending.append(spent)
        labor_income.append(z)
        income_tax.append(tax)
        consumer_delta.append(config.parity.budget_epsilon - spent + (1.0 - s.income_tax) * z)
        disutility = s.theta[j] / 2.0 * hours[j] ** cons.labor_exponent
        consumer_reward.append(utility - disutility)

    # Phase F: exports (open economy only), bought at the firm's own price.
    exports = []
    for i in range(n_f):
        if config.variant == "open" and s.price[i] >= market.export_min_price:
            exports.append(max(0.0, min(market.export_quota, s.inventory[i] - sales[i])))
        else:
            exports.append(0.0)

    # Phase G: firm accounting, corporate tax, production, next stocks.
    revenue, wage_bill, investment, profit, corporate_tax = [], [], [], [], []
    production, firm_reward, next_inventory = [], [], []
    for i in range(n_f):
        rev = s.price[i] * (sales[i] + exports[i])
        wages_paid = s.wage[i] * labor[i]
        operating = rev - wages_paid
        invest = max(firm.investment_fraction * operating, 0.0)
        prof = operating - invest
        ctax = s.corporate_tax * max(prof, 0.0)
        tax_revenue += ctax
        effective_labor = 0.0 if labor[i] < firm.labor_floor else labor[i]
        output = firm.tfp * s.capital[i] ** (1.0 - s.alpha[i]) * effective_labor ** s.alpha[i]
        revenue.append(rev)
        wage_bill.append(wages_paid)
        investment.append(invest)
        profit.append(prof)
        corporate_tax.append(ctax)
        production.append(output)
        firm_reward.append(prof - ctax)
        next_inventory.append(s.inventory[i] - sales[i] - exports[i] + output)

    # Phase H: lump-sum redistribution of all revenue.
    transfer = tax_revenue / n_c
    for j in range(n_c):
        consumer_delta[j] += transfer

    # Phases I-J: next prices, wages, taxes; budgets with interest on positive balances; capital.
    rate = market.interest_rate
    consumer_budget, consumer_interest = [], []
    for j in range(n_c):
        b = s.consumer_budget[j] + consumer_delta[j]
        interest = b * rate if b > 0 else 0.0
        consumer_budget.append(b + interest)
        consumer_interest.append(interest)
    firm_budget, firm_interest = [], []
    for i in range(n_f):
        b = s.firm_budget[i] + firm_reward[i]
        interest = b * rate if b > 0 else 0.0
        firm_budget.append(b + interest)
        firm_interest.append(interest)

    next_state = RefState(
        price=[a[0] * firm.price_step for a in firm_actions],
        wage=[a[1] * firm.wage_step for a in firm_actions],
        inventory=next_inventory,
        overdemanded=rationed,
        income_tax=government_action[0] * gov.tax_step,
        corporate_tax=government_action[1] * gov.tax_step,
        t=s.t + 1,
        consumer_budget=consumer_budget,
        theta=list(s.theta),
        firm_budget=firm_budget,
        capital=[s.capital[i] + investment[i] for i in range(n_f)],
        alpha=list(s.alpha),
    )
    # Spec 6.3: welfare = Σ consumer rewards + λ_f Σ firm rewards.
    welfare = math.fsum(consumer_reward) + gov.firm_welfare_weight * math.fsum(firm_reward)
    flows: dict[str, Any] = {
        "consumption": consumption,
        "hours": hours,
        "labor_income": labor_income,
        "income_tax": income_tax,
        "consumer_spending": spending,
        "consumer_interest": consumer_interest,
        "sales": sales,
        "exports": exports,
        "revenue": revenue,
        "wage_bill": wage_bill,
        "labor": labor,
        "investment": investment,
        "profit": profit,
        "corporate_tax": corporate_tax,
        "production": production,
        "rationed": [float(r) for r in rationed],
        "firm_interest": firm_interest,
        "tax_revenue": tax_revenue,
        "transfer": transfer,
    }
    return RefStep(next_state, consumer_reward, firm_reward, welfare, flows)
