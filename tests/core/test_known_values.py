"""The first two periods of the paper's open economy, computed by hand (spec 3.1-3.2, 5.2, 6).

One economy (B = 1) from the paper's initial state: prices 1000, wages 0, no stock, consumer cash
2000, firm cash 2.2e6, capital 5000 (firms 0-4) / 10000 (firms 5-9), α = 0.2, 0.3, 0.4, 0.6, 0.8
twice, taxes 0, θ_j = 0.01 (1 - j/100)^(1/4) (full disutility: no curriculum).

Period t = 0 (action profile chosen by hand):
- consumer j asks for 2 units of each good 0..8 and none of good 9; j < 50 work 1040 hours
  at firm j mod 10 (5 workers per firm), j >= 50 do not work;
- firms set next prices 500 (firms 0-7), 0 (firm 8), 2500 (firm 9) and next wages 22, except 44
  at firm 3; the government sets next taxes τ = 0.2, σ = 0.4.

Period t = 1:
- everyone asks for 1 unit of good 0; j < 50 also 1 unit of good 5; j in 50..59 also 3 units of
  the free good 8; j >= 90 also 10 units of good 9 (which they cannot afford: scaled down);
- everyone works 260 hours at firm j mod 10 (10 workers per firm);
- next prices/wages 1500/11 everywhere, next taxes 1.0/1.0 (they only show up in the state).
"""

from __future__ import annotations

import pytest
import torch

from rbc_env import BatchedEconomy, RBCConfig

C, F = 100, 10
CAPITAL = [5000.0] * 5 + [10000.0] * 5
ALPHA = [0.2, 0.3, 0.4, 0.6, 0.8] * 2
THETA = [0.01 * (1 - j / 100) ** 0.25 for j in range(C)]


def u(c: float) -> float:
    """Per-good CRRA utility with η = 0.1."""
    return ((c + 1) ** 0.9 - 1) / 0.9


def output(k: float, labor: float, alpha: float) -> float:
    """Y = 0.01 K^(1-α) L^α."""
    return 0.01 * k ** (1 - alpha) * labor**alpha


def _actions_t0() -> dict[str, torch.Tensor]:
    consumer = torch.zeros(1, C, F + 2, dtype=torch.long)
    consumer[0, :, :9] = 2  # 2 units of goods 0..8
    for j in range(50):
        consumer[0, j, F] = 4  # 4 × 260 = 1040 hours
        consumer[0, j, F + 1] = j % 10
    firm = torch.zeros(1, F, 2, dtype=torch.long)
    firm[0, :, 0] = torch.tensor([1, 1, 1, 1, 1, 1, 1, 1, 0, 5])  # 500 ×8, 0, 2500
    firm[0, :, 1] = torch.tensor([2, 2, 2, 4, 2, 2, 2, 2, 2, 2])  # 22, except 44 at firm 3
    government = torch.tensor([[1, 2]])  # τ = 0.2, σ = 0.4
    return {"consumer": consumer, "firm": firm, "government": government}


def _actions_t1() -> dict[str, torch.Tensor]:
    consumer = torch.zeros(1, C, F + 2, dtype=torch.long)
    consumer[0, :, 0] = 1
    consumer[0, :50, 5] = 1
    consumer[0, 50:60, 8] = 3
    consumer[0, 90:, 9] = 10
    consumer[0, :, F] = 1  # 260 hours
    consumer[0, :, F + 1] = torch.arange(C) % 10
    firm = torch.zeros(1, F, 2, dtype=torch.long)
    firm[0, :, 0] = 3  # next price 1500
    firm[0, :, 1] = 1  # next wage 11
    government = torch.tensor([[5, 5]])  # next taxes 1.0, 1.0
    return {"consumer": consumer, "firm": firm, "government": government}


TOL = {"float64": {"rtol": 1e-12, "atol": 1e-9}, "float32": {"rtol": 2e-6, "atol": 1e-3}}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_first_two_periods_by_hand(dtype: str) -> None:
    config = RBCConfig.paper("open").override({"dtype": dtype})
    tol = TOL[dtype]

    def check(actual: torch.Tensor, expected: object, what: str) -> None:
        exp = torch.as_tensor(expected, dtype=actual.dtype).reshape(actual.shape)
        torch.testing.assert_close(actual, exp, **tol, msg=lambda m: f"{what}: {m}")

    econ = BatchedEconomy(config, batch_size=1, seed=0)
    econ.reset()
    s0 = econ.state
    check(s0.theta[0], THETA, "initial θ")
    check(s0.capital[0], CAPITAL, "initial capital")
    check(s0.alpha[0], ALPHA, "initial α")

    # ---- period t = 0 -------------------------------------------------------------------------
    out = econ.step(_actions_t0())
    fl = out.flows
    # Demand: cost 9 goods × 2 units × 1000 = 18000 > 2000, so scaled by 2000/18000 = 1/9.
    check(fl["demand_scale"][0], [1 / 9] * C, "t0 demand scale")
    # Stock is 0, so every demanded good (0..8) is rationed to zero; good 9 had no demand.
    check(fl["ration_factor"][0], [0.0] * 9 + [1.0], "t0 ration factor")
    assert fl["rationed"][0].tolist() == [True] * 9 + [False]
    assert (fl["consumption"] == 0).all()
    assert (fl["consumer_spending"] == 0).all()
    # Initial wage is 0: no labour income, so no income tax; no sales, so no profit or tax.
    assert (fl["labor_income"] == 0).all() and (fl["tax_revenue"] == 0).all()
    assert (out.rewards["firm"] == 0).all()
    # Consumer reward = utility of nothing (0) - (θ_j / 2) × hours.
    reward0 = [-(THETA[j] / 2) * 1040 if j < 50 else 0.0 for j in range(C)]
    check(out.rewards["consumer"][0], reward0, "t0 consumer reward")
    check(out.rewards["government"], sum(reward0), "t0 welfare")  # + 0.0025 × 0
    # Each firm gets 5 workers × 1040 h = 5200 h; Y_j = 0.01 K^(1-α) 5200^α (≈ 50.4 .. 87.7).
    y0 = [output(CAPITAL[i], 5200.0, ALPHA[i]) for i in range(F)]
    check(fl["labor"][0], [5200.0] * F, "t0 labour")
    check(fl["production"][0], y0, "t0 production")
    s1 = econ.state
    check(s1.inventory[0], y0, "t1 stock")
    check(s1.price[0], [500.0] * 8 + [0.0, 2500.0], "t1 prices")
    check(s1.wage[0], [22.0, 22.0, 22.0, 44.0] + [22.0] * 6, "t1 wages")
    assert s1.overdemanded[0].tolist() == [True] * 9 + [False]
    check(s1.income_tax, 0.2, "t1 τ")
    check(s1.corporate_tax, 0.4, "t1 σ")
    check(s1.consumer_budget[0], [2000.01] * C, "t1 consumer cash")  # + ε_B = 0.01
    check(s1.firm_budget[0], [2_200_000.0] * F, "t1 firm cash")
    check(s1.capital[0], CAPITAL, "t1 capital")  # no income => no investment
    assert int(s1.t) == 1 and not bool(out.done)

    # ---- period t = 1 -------------------------------------------------------------------------
    price = [500.0] * 8 + [0.0, 2500.0]
    wage = [22.0, 22.0, 22.0, 44.0] + [22.0] * 6
    cash = 2000.01
    # Budget scaling: only j >= 90 overspend: 1 × 500 + 10 × 2500 = 25500 > 2000.01.
    s = cash / 25500.0
    # Demand per good: good 0 from all (90 × 1 + 10 × s); good 5: 50; good 8: 10 × 3; good 9: 100 s.
    d0, d5, d8, d9 = 90 + 10 * s, 50.0, 30.0, 100 * s
    # Rationing: only good 0 (demand ≈ 90.8 > stock ≈ 50.4); r_0 = stock / demand.
    r0 = y0[0] / d0
    assert d5 < y0[5] and d8 < y0[8] and d9 < y0[9]
    sales = [y0[0], 0, 0, 0, 0, d5, 0, 0, d8, d9]
    # Exports: leftover of every firm with price >= 500, at most 100 (never binding here); firm 8
    # charges 0 < 500, so it exports nothing; firm 0 sold out.
    exports = [0.0] + [y0[i] - sales[i] for i in range(1, 8)] + [0.0, y0[9] - d9]
    assert max(exports) < 100

    cons = []  # consumption (good 0, good 5, good 8, good 9) of each consumer
    spending, income, reward1 = [], [], []
    for j in range(C):
        scale = s if j >= 90 else 1.0
        c0 = r0 * scale
        c5 = 1.0 if j < 50 else 0.0
        c8 = 3.0 if 50 <= j < 60 else 0.0
        c9 = 10 * s if j >= 90 else 0.0
        cons.append((c0, c5, c8, c9))
        spending.append(500 * c0 + 500 * c5 + 0 * c8 + 2500 * c9)
        income.append(wage[j % 10] * 260)  # 5720, or 11440 at firm 3
        reward1.append(u(c0) + u(c5) + u(c8) + u(c9) - THETA[j] / 2 * 260)

    labor = [10 * 260.0] * F  # 10 workers per firm
    revenue = [price[i] * (sales[i] + exports[i]) for i in range(F)]
    wage_bill = [wage[i] * labor[i] for i in range(F)]
    operating = [revenue[i] - wage_bill[i] for i in range(F)]
    # Only firm 9 (2500 × ≈59.3 ≈ 148k revenue vs 57.2k wages) makes money.
    assert [o > 0 for o in operating] == [False] * 9 + [True]
    invest = [max(0.1 * o, 0.0) for o in operating]
    profit = [operating[i] - invest[i] for i in range(F)]
    corp_tax = [0.4 * max(p, 0.0) for p in profit]
    firm_reward = [profit[i] - corp_tax[i] for i in range(F)]
    income_tax = [0.2 * z for z in income]
    revenue_total = sum(income_tax) + sum(corp_tax)
    transfer = revenue_total / C
    budget = [cash + 0.01 - spending[j] + 0.8 * income[j] + transfer for j in range(C)]
    welfare = sum(reward1) + 0.0025 * sum(firm_reward)
    y1 = [output(CAPITAL[i], 2600.0, ALPHA[i]) for i in range(F)]
    stock = [y0[i] - sales[i] - exports[i] + y1[i] for i in range(F)]

    out = econ.step(_actions_t1())
    fl = out.flows
    check(fl["demand_scale"][0], [1.0] * 90 + [s] * 10, "t1 demand scale")
    check(fl["ration_factor"][0], [r0] + [1.0] * 9, "t1 ration factor")
    assert fl["rationed"][0].tolist() == [True] + [False] * 9
    expected_consumption = torch.zeros(C, F, dtype=torch.float64)
    for j, (c0, c5, c8, c9) in enumerate(cons):
        expected_consumption[j, [0, 5, 8, 9]] = torch.tensor([c0, c5, c8, c9], dtype=torch.float64)
    check(fl["consumption"][0], expected_consumption, "t1 consumption")
    check(fl["sales"][0], sales, "t1 sales")
    check(fl["exports"][0], exports, "t1 exports")
    check(fl["consumer_spending"][0], spending, "t1 spending")
    check(fl["labor_income"][0], income, "t1 labour income")
    check(fl["income_tax"][0], income_tax, "t1 income tax")
    check(fl["revenue"][0], revenue, "t1 revenue")
    check(fl["wage_bill"][0], wage_bill, "t1 wage bill")
    check(fl["investment"][0], invest, "t1 investment")
    check(fl["profit"][0], profit, "t1 profit")
    check(fl["corporate_tax"][0], corp_tax, "t1 corporate tax")
    check(fl["tax_revenue"], revenue_total, "t1 tax revenue")
    check(fl["transfer"], transfer, "t1 transfer")
    check(fl["production"][0], y1, "t1 production")
    check(out.rewards["consumer"][0], reward1, "t1 consumer reward")
    check(out.rewards["firm"][0], firm_reward, "t1 firm reward")
    check(out.rewards["government"], welfare, "t1 welfare")

    s2 = econ.state
    check(s2.consumer_budget[0], budget, "t2 consumer cash")
    check(s2.firm_budget[0], [2_200_000.0 + r for r in firm_reward], "t2 firm cash")
    check(s2.inventory[0], stock, "t2 stock")
    check(s2.capital[0], [CAPITAL[i] + invest[i] for i in range(F)], "t2 capital")
    check(s2.price[0], [1500.0] * F, "t2 prices")
    check(s2.wage[0], [11.0] * F, "t2 wages")
    check(s2.income_tax, 1.0, "t2 τ")
    check(s2.corporate_tax, 1.0, "t2 σ")
    assert s2.overdemanded[0].tolist() == [True] + [False] * 9
    assert int(s2.t) == 2


def test_hand_numbers_sanity() -> None:
    """The hand numbers used above (spec 6.1 table; production magnitudes)."""
    assert [round(u(c), 3) for c in range(4)] == [0.0, 0.962, 1.875, 2.758]
    assert round(u(10), 3) == 8.505
    assert output(5000.0, 5200.0, 0.2) == pytest.approx(50.394, abs=1e-3)
    assert output(10000.0, 5200.0, 0.8) == pytest.approx(59.266, abs=1e-3)
    assert output(5000.0, 0.0, 0.4) == 0.0
