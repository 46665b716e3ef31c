"""Accounting invariants of spec section 5.3 under random configs and random actions.

Hypothesis draws a config (sizes, variant, horizon, grids, tax grid, endowments, interest, export
market, budget epsilon incl. 0, discrete or continuous actions; strategies built from the config's
field-metadata ranges) and a
sequence of action modes; every step of a full float64 episode must conserve money and goods,
never sell beyond stock or spend beyond budget, and pay out exactly the taxes it collects.
"""

from __future__ import annotations

import torch
from hypothesis import example, given, settings
from hypothesis import strategies as st

from rbc_env import (
    BatchedEconomy,
    ConsumerParams,
    FirmParams,
    GovernmentParams,
    MarketParams,
    RBCConfig,
    ReferenceParity,
)
from rbc_env.core import EconomyState, StepOutput, goods_residual, money_residual, total_money

from . import ACTION_MODES, floats_in, ints_in, random_actions

BATCH = 3
REL = 1e-9  # relative tolerance of the identities in float64


@st.composite
def configs(draw: st.DrawFn) -> RBCConfig:
    """A random valid float64 economy, every number inside its field's metadata range."""
    n_prices = draw(ints_in(FirmParams, "n_prices", hi=7))
    n_wages = draw(ints_in(FirmParams, "n_wages", hi=6))
    price_step = draw(floats_in(FirmParams, "price_step", lo=1.0, hi=1000.0))
    wage_step = draw(floats_in(FirmParams, "wage_step", lo=0.5, hi=50.0))
    n_tax = draw(ints_in(GovernmentParams, "n_tax_levels", hi=6))
    # The top tax rate (n - 1) Δτ must stay <= 1 (a cross-field rule of GovernmentParams).
    tax_step = draw(floats_in(GovernmentParams, "tax_step", lo=0.01, hi=1.0 / (n_tax - 1)))
    n_firms = draw(st.integers(1, 6))
    alpha = draw(
        st.lists(floats_in(FirmParams, "alpha_pattern", lo=0.05, hi=0.95), min_size=1, max_size=4)
    )
    data = {
        "variant": draw(st.sampled_from(["open", "closed"])),
        "n_consumers": draw(st.integers(1, 12)),
        "n_firms": n_firms,
        "horizon": draw(st.integers(1, 12)),
        "dtype": "float64",
        "action_space": draw(st.sampled_from(["discrete", "continuous"])),
        "consumer": {
            "initial_budget": draw(floats_in(ConsumerParams, "initial_budget", 1.0, 1e5)),
            "theta_base": draw(floats_in(ConsumerParams, "theta_base", 1e-4, 0.1)),
            "crra_eta": draw(floats_in(ConsumerParams, "crra_eta", hi=0.9)),
            "labor_exponent": draw(floats_in(ConsumerParams, "labor_exponent", 0.5, 2.0)),
            "units_step": draw(floats_in(ConsumerParams, "units_step", 0.1, 5.0)),
            "n_units": draw(ints_in(ConsumerParams, "n_units", hi=12)),
            "hours_step": draw(floats_in(ConsumerParams, "hours_step", 1.0, 500.0)),
            "n_hours": draw(ints_in(ConsumerParams, "n_hours", hi=6)),
        },
        "firm": {
            "initial_budget_per_consumer": draw(
                floats_in(FirmParams, "initial_budget_per_consumer", 1.0, 1e5)
            ),
            "initial_capital_low": draw(floats_in(FirmParams, "initial_capital_low", hi=2e4)),
            "initial_capital_high": draw(floats_in(FirmParams, "initial_capital_high", 1.0, 2e4)),
            "alpha_pattern": alpha,
            "tfp": draw(floats_in(FirmParams, "tfp", 1e-3, 1.0)),
            "investment_fraction": draw(floats_in(FirmParams, "investment_fraction")),
            "labor_floor": draw(
                st.one_of(st.just(0.0), floats_in(FirmParams, "labor_floor", hi=2000.0))
            ),
            "price_step": price_step,
            "n_prices": n_prices,
            "wage_step": wage_step,
            "n_wages": n_wages,
            "initial_price": draw(floats_in(FirmParams, "initial_price", hi=3000.0)),
            "initial_wage": draw(
                st.one_of(st.just(0.0), floats_in(FirmParams, "initial_wage", hi=50.0))
            ),
        },
        "government": {
            "tax_step": tax_step,
            "n_tax_levels": n_tax,
            "firm_welfare_weight": draw(floats_in(GovernmentParams, "firm_welfare_weight", hi=1.0)),
            "initial_income_tax": draw(floats_in(GovernmentParams, "initial_income_tax")),
            "initial_corporate_tax": draw(floats_in(GovernmentParams, "initial_corporate_tax")),
        },
        "market": {
            "export_min_price": draw(floats_in(MarketParams, "export_min_price", hi=3000.0)),
            "export_quota": draw(floats_in(MarketParams, "export_quota", hi=200.0)),
            "interest_rate": draw(
                st.one_of(st.just(0.0), floats_in(MarketParams, "interest_rate", hi=0.2))
            ),
        },
        "curriculum": {
            # RBCConfig requires the mask centres to be grid points.
            "firm_mask_price_center": price_step * draw(st.integers(0, n_prices - 1)),
            "firm_mask_wage_center": wage_step * draw(st.integers(0, n_wages - 1)),
        },
        "parity": {
            "budget_epsilon": draw(
                st.one_of(st.just(0.0), floats_in(ReferenceParity, "budget_epsilon", hi=1.0))
            ),
        },
    }
    return RBCConfig.from_dict(data)


def _check_step(
    config: RBCConfig, before: EconomyState, after: EconomyState, out: StepOutput, where: str
) -> None:
    fl = out.flows
    c, f = config.n_consumers, config.n_firms

    # All flows, rewards and state fields finite.
    for name, v in {**fl, **{f"reward.{k}": v for k, v in out.rewards.items()}}.items():
        if v.is_floating_point():
            assert torch.isfinite(v).all(), f"{where}: {name} not finite"
    for name, v in after.tensors().items():
        if v.is_floating_point():
            assert torch.isfinite(v).all(), f"{where}: state.{name} not finite"

    money_scale = (
        before.consumer_budget.abs().sum(-1)
        + before.firm_budget.abs().sum(-1)
        + after.consumer_budget.abs().sum(-1)
        + after.firm_budget.abs().sum(-1)
        + fl["revenue"].abs().sum(-1)
        + fl["wage_bill"].abs().sum(-1)
        + 1.0
    )
    goods_scale = (
        before.inventory.abs() + after.inventory.abs() + fl["production"] + fl["sales"] + 1.0
    )

    # Money identity (spec 5.3, 3), independently of rbc_env's own residual ...
    sources = (
        config.parity.budget_epsilon * c
        + (before.price * fl["exports"]).sum(-1)
        - fl["investment"].sum(-1)
        + fl["consumer_interest"].sum(-1)
        + fl["firm_interest"].sum(-1)
    )
    change = total_money(after) - total_money(before)
    assert ((change - sources).abs() <= REL * money_scale).all(), f"{where}: money not conserved"
    # ... and via it.
    assert (money_residual(config, before, after, fl).abs() <= REL * money_scale).all(), where

    # Goods identity (spec 5.3, 4).
    expected_stock = before.inventory - fl["sales"] - fl["exports"] + fl["production"]
    assert ((after.inventory - expected_stock).abs() <= REL * goods_scale).all(), where
    assert (goods_residual(before, after, fl).abs() <= REL * goods_scale).all(), where

    # No sale beyond stock (spec 5.3, 1); stocks never negative.
    tol_goods = REL * goods_scale
    assert (fl["sales"] >= 0).all() and (fl["exports"] >= 0).all(), where
    assert (fl["sales"] <= before.inventory + tol_goods).all(), f"{where}: sold beyond stock"
    assert (fl["exports"] <= before.inventory - fl["sales"] + tol_goods).all(), where
    assert (fl["exports"] <= config.market.export_quota + tol_goods).all(), where
    assert (after.inventory >= -tol_goods).all(), f"{where}: negative stock"
    assert (fl["consumption"] >= 0).all(), f"{where}: negative consumption"
    torch.testing.assert_close(fl["consumption"].sum(1), fl["sales"], rtol=REL, atol=REL)

    # Exports only where the economy is open and the price reaches the export floor.
    if not config.open_economy:
        assert (fl["exports"] == 0).all(), f"{where}: closed economy exported"
    else:
        assert (fl["exports"][before.price < config.market.export_min_price] == 0).all(), where

    # Consumers never spend more than their budget (spec 5.2 B), so budgets stay >= 0.
    budget_tol = REL * (before.consumer_budget.abs() + 1.0)
    assert (fl["consumer_spending"] <= before.consumer_budget.clamp(min=0) + budget_tol).all(), (
        f"{where}: spent beyond budget"
    )
    assert (fl["consumer_spending"] >= -budget_tol).all(), where
    assert (after.consumer_budget >= -REL * (after.consumer_budget.abs() + 1.0)).all(), (
        f"{where}: consumer budget below 0"
    )

    # Consumer spending is firms' consumer revenue; wages earned are wages paid.
    torch.testing.assert_close(
        fl["consumer_spending"].sum(-1),
        (before.price * fl["sales"]).sum(-1),
        rtol=REL,
        atol=REL * float(money_scale.max()),
    )
    torch.testing.assert_close(
        fl["labor_income"].sum(-1), fl["wage_bill"].sum(-1), rtol=REL, atol=REL
    )

    # Taxes collected == transfers paid: R = Σ τ z_i + Σ T_j = C × transfer.
    revenue = fl["income_tax"].sum(-1) + fl["corporate_tax"].sum(-1)
    torch.testing.assert_close(fl["tax_revenue"], revenue, rtol=REL, atol=REL)
    torch.testing.assert_close(fl["transfer"] * c, fl["tax_revenue"], rtol=REL, atol=REL)
    assert (fl["income_tax"] >= 0).all() and (fl["corporate_tax"] >= 0).all(), where
    torch.testing.assert_close(
        fl["income_tax"], fl["labor_income"] * before.income_tax.unsqueeze(-1), rtol=REL, atol=REL
    )

    # Per-consumer budget law, with interest on positive balances only.
    pre = (
        before.consumer_budget
        + config.parity.budget_epsilon
        - fl["consumer_spending"]
        + fl["labor_income"]
        - fl["income_tax"]
        + fl["transfer"].unsqueeze(-1)
    )
    rate = config.market.interest_rate
    expected_budget = torch.where(pre > 0, pre * (1 + rate), pre)
    torch.testing.assert_close(
        after.consumer_budget, expected_budget, rtol=REL, atol=REL * float(money_scale.max())
    )
    if rate == 0:
        assert (fl["consumer_interest"] == 0).all() and (fl["firm_interest"] == 0).all(), where
    assert (fl["consumer_interest"] >= 0).all() and (fl["firm_interest"] >= 0).all(), where

    # Investment is non-negative and becomes capital; time advances by one.
    assert (fl["investment"] >= 0).all(), where
    torch.testing.assert_close(after.capital, before.capital + fl["investment"], rtol=0, atol=0)
    assert torch.equal(after.t, before.t + 1), where
    assert fl["consumption"].shape == (BATCH, c, f)


@settings(max_examples=50)
@given(
    config=configs(),
    seed=st.integers(0, 2**31 - 1),
    modes=st.lists(st.sampled_from(ACTION_MODES), min_size=12, max_size=12),
)
@example(
    config=RBCConfig.paper("open").override({"dtype": "float64"}),
    seed=0,
    modes=list(ACTION_MODES) * 2 + ["uniform", "sparse"],
)
@example(
    config=RBCConfig.paper("closed").override(
        {"dtype": "float64", "parity.budget_epsilon": 0.0, "market.interest_rate": 0.1}
    ),
    seed=1,
    modes=["high"] * 3 + ["sparse"] * 9,
)
@example(
    config=RBCConfig.paper("open").override({"dtype": "float64", "action_space": "continuous"}),
    seed=2,
    modes=list(ACTION_MODES) * 2 + ["uniform", "extremes"],
)
def test_invariants_hold_every_step(config: RBCConfig, seed: int, modes: list[str]) -> None:
    econ = BatchedEconomy(config, batch_size=BATCH, seed=seed)
    econ.reset()
    gen = torch.Generator().manual_seed(seed)
    for t in range(config.horizon):
        before = econ.state
        out = econ.step(random_actions(config, BATCH, gen, modes[t % len(modes)]))
        _check_step(config, before, econ.state, out, f"step {t} ({modes[t % len(modes)]})")
    assert bool(out.done.all())


def test_money_identity_detects_a_leak(tiny_config: RBCConfig) -> None:
    """The residual is not vacuously 0: moving one unit of money shows up in it."""
    econ = BatchedEconomy(tiny_config, batch_size=2, seed=0)
    before = econ.state
    out = econ.step(econ.sample_actions())
    after = econ.state
    leaked = after.replace(consumer_budget=after.consumer_budget + 1.0)
    residual = money_residual(tiny_config, before, leaked, out.flows)
    torch.testing.assert_close(
        residual, torch.full_like(residual, float(tiny_config.n_consumers)), rtol=0, atol=1e-6
    )
    stock = after.replace(inventory=after.inventory + 0.5)
    torch.testing.assert_close(
        goods_residual(before, stock, out.flows), torch.full_like(after.inventory, 0.5)
    )


def test_budget_epsilon_is_the_only_money_source_in_a_closed_economy() -> None:
    """Spec 13 #17: closed, no interest => total money grows by exactly ε_B C - Σ ΔK per step."""
    config = RBCConfig.paper("closed").override({"dtype": "float64"})
    econ = BatchedEconomy(config, batch_size=4, seed=3)
    gen = torch.Generator().manual_seed(3)
    for _ in range(config.horizon):
        before = econ.state
        out = econ.step(random_actions(config, 4, gen, "uniform"))
        change = total_money(econ.state) - total_money(before)
        expected = 0.01 * config.n_consumers - out.flows["investment"].sum(-1)
        torch.testing.assert_close(change, expected, rtol=0, atol=1e-6)
