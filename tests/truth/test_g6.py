"""G6 ground truth: the competitive equilibrium is solved exactly, is feasible in the economy
itself, reduces to G1 without adjustment costs; the Bertrand benchmarks are equilibria."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rbc_env.config import GrowthConfig, GrowthParams
from rbc_env.growth.economy import initial_state, observe, raw_from_controls, step
from rbc_env.truth import g1_saving_share, solve_growth
from rbc_env.truth.g6 import (
    BertrandRange,
    g6_bertrand,
    g6_monopoly,
    g6_steady_state,
    solve_g6,
)
from rbc_env.truth.growth import g6_competitive
from rbc_env.truth.metrics import (
    TruthPolicy,
    discounted_utility,
    ergodic_states,
    euler_errors,
    evaluate,
    truth_policy,
    welfare_loss,
)

F64 = torch.float64
PRESETS = [1, 2, 10]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """The machine's cores are shared: one torch thread keeps the small tensor ops fast."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def preset(n: int) -> GrowthConfig:
    return GrowthConfig.preset(f"g6_n{n}").replace(dtype="float64")


def solve(cfg: GrowthConfig, **kw):
    return solve_g6(cfg.params, cfg.adjustment_cost, cfg.n_households, cfg.n_producers, **kw)


def from_observations(truth: TruthPolicy):
    """Households and producers acting from their own observations only (a plain callable,
    so the metrics feed it observations, not states)."""

    def policy(obs):
        return {
            "household": truth(obs)["household"],
            "producer": truth.competitive_producers(obs),
        }

    return policy


# ----------------------------------------------------------------------------- the solver


@pytest.mark.parametrize("n", PRESETS)
def test_solver_converges_with_small_euler_errors(n):
    cfg = preset(n)
    sol = solve(cfg)
    assert sol.k_grid.numel() >= 200 and sol.z.numel() >= 7
    assert sol.converged and sol.change <= 1e-10
    errors = sol.euler_errors()
    assert float(errors.max()) < -5.0  # |error| < 1e-5 on the grid interior
    share = sol.share  # an interior saving share everywhere on the grid
    assert bool(((share > 0.0) & (share < 1.0)).all())


def test_zero_adjustment_cost_is_the_g1_planner():
    """phi = 0: q = 1, no dividends; the household's Euler equation is the G1 planner's, whose
    exact rule (delta = 1, log utility) is the share alpha beta of cash on hand."""
    p = GrowthParams()
    sol = solve_g6(p, 0.0, 10, 2)
    assert sol.kappa == 0.0
    np.testing.assert_allclose(sol.share.numpy(), g1_saving_share(p), atol=1e-9)
    k = sol.k_grid.expand(sol.z.shape[0], -1)
    np.testing.assert_allclose(
        sol.policy.numpy(), (g1_saving_share(p) * sol.z[:, None] * k**p.alpha).numpy(), rtol=1e-9
    )
    # and equals the G3 solver's solution of the planner at these parameters
    g3 = solve_growth(p, n_k=200, n_z=7, k_bounds=(0.2, 2.5))
    c3 = g3.consumption_at(sol.k_grid[300:700])
    torch.testing.assert_close(sol.consumption_at(sol.k_grid[300:700]), c3, rtol=1e-9, atol=0)


def test_many_producers_approach_the_planner():
    """kappa = phi H / N -> 0 as N grows: the share tends to alpha beta from below."""
    p = GrowthParams()
    gaps = [
        float((solve_g6(p, 0.5, 10, n).share - g1_saving_share(p)).abs().max())
        for n in (2, 10, 100)
    ]
    assert gaps[0] > gaps[1] > gaps[2] and gaps[2] < 2e-3


def test_deterministic_fixed_point_is_the_ce_steady_state():
    """With (almost) no shock the solver's k'(k_ss) = k_ss, where
    q(k) = beta (alpha k^(alpha-1) + 1 - delta) (found by bisection, independently)."""
    cfg = preset(2)
    p = cfg.params.replace(sigma=1e-9)
    ss = g6_steady_state(p, cfg.adjustment_cost, cfg.n_households, cfg.n_producers)
    k = ss["capital"]
    assert ss["price"] == pytest.approx(p.beta * (p.alpha * k ** (p.alpha - 1) + 1 - p.delta))
    sol = solve_g6(p, cfg.adjustment_cost, cfg.n_households, cfg.n_producers)
    mid = sol.z.shape[0] // 2
    c = sol.consumption_at(torch.tensor([k], dtype=F64))[mid]
    m = sol.cash(torch.tensor([[k]], dtype=F64))[0]
    k_next = sol.capital_next(m - c)
    assert float(k_next) == pytest.approx(k, rel=1e-6)
    assert float(1 - c / m) == pytest.approx(ss["share"], rel=1e-6)


def test_bad_solver_inputs_raise():
    p = GrowthParams()
    for kw, match in [
        (dict(phi=-0.1), "phi"),
        (dict(n_producers=0), "n_producers"),
        (dict(n_households=1.5), "n_households"),
    ]:
        args = dict(params=p, phi=0.5, n_households=10, n_producers=2) | kw
        with pytest.raises(ValueError, match=match):
            solve_g6(**args)


# ----------------------------------------------------------------------------- feasibility


@pytest.mark.parametrize("n", PRESETS)
def test_the_truth_is_what_the_economy_produces(n):
    """Households at s*(m, z) and producers at marginal cost, each from its own observation,
    run in the economy itself: lambda against the truth is < 1e-4 from the initial
    distribution (no dividend yet) and from ergodic states, and the path is the CE."""
    cfg = preset(n)
    truth = truth_policy(cfg)
    policy = from_observations(truth)
    init = initial_state(cfg, 64, torch.Generator().manual_seed(7))
    erg = ergodic_states(cfg, 64, burn_in=50, seed=3, truth=truth)
    for states in (init, erg):
        loss = welfare_loss(cfg, policy, states=states, horizon=135, seed=5, truth=truth)
        assert abs(loss.overall.value) < 1e-4
        assert loss.overall.high - loss.overall.low < 1e-4

    # Along the path: price = own marginal cost, profits >= 0 paid next period as
    # d = phi K^2 / (2N), and households' Euler equation holds (checked by euler_errors).
    state = init
    gen = torch.Generator().manual_seed(11)
    phi = cfg.adjustment_cost
    for _ in range(30):
        actions = policy(observe(cfg, state))
        state, _, fl = step(cfg, state, actions, torch.randn(64, 1, generator=gen, dtype=F64))
        assert float(fl["markup"].abs().max()) < 1e-12
        assert float(fl["producer_loss"].max()) == 0.0
        big_k = state.capital.sum(-1)
        torch.testing.assert_close(state.dividend, phi * big_k**2 / (2 * n), rtol=1e-12, atol=0)
        assert bool((fl["price"] == fl["price_min"].unsqueeze(-1)).all())  # all N tie
    ee = euler_errors(cfg, truth, erg)
    assert ee.max < -5.0


def test_observed_truth_equals_full_state_truth_on_and_off_the_path():
    """Dividends decoded from K and the last price are exact on the truth's path and in the
    first period, so observation-based actions equal the full-state truth."""
    for n in PRESETS:
        cfg = preset(n)
        truth = truth_policy(cfg)
        for states in (
            initial_state(cfg, 8, torch.Generator().manual_seed(0)),
            ergodic_states(cfg, 8, burn_in=20, seed=1, truth=truth),
        ):
            from_obs = from_observations(truth)(observe(cfg, states))
            from_state = truth.act(states)
            for t in from_state:
                torch.testing.assert_close(from_obs[t], from_state[t], rtol=1e-12, atol=1e-12)
            assert set(truth(observe(cfg, states))) == {"household", "producer"}


def test_evaluate_truth_row_and_benchmarks():
    cfg = preset(2)
    row = evaluate(cfg, truth_policy(cfg), n_states=16, burn_in=20, horizon=30)
    assert row.welfare_loss == 0.0 and row.saving_error_max == 0.0
    assert abs(row.markup_mean) < 1e-12 and row.markup_competitive == 0.0
    assert row.price_mean == pytest.approx(row.price_competitive, rel=1e-12)
    assert row.price_bertrand_low < row.price_competitive < row.price_bertrand_high
    assert row.markup_bertrand_low < 0.0 < row.markup_bertrand_high
    assert row.euler_max < -5.0


def test_unit_cost_pricing_is_not_the_truth():
    """The old reference (capital at unit cost, losses written off) is not what G6 reaches:
    against the CE truth, unit-cost pricing with alpha beta households is a different
    allocation (nonzero lambda of either sign), while the truth scores 0."""
    cfg = preset(2)
    truth = truth_policy(cfg)
    c = cfg

    def unit_cost(obs):
        b = obs["household"].shape[0]
        share = torch.full((b, c.n_households, 1), g1_saving_share(c.params), dtype=F64)
        return {  # the lowest attainable markup, m_max sigmoid(-bound) ~ 1e-4
            "household": raw_from_controls(c, "household", share),
            "producer": torch.full((b, c.n_producers, 1), -c.action_bound, dtype=F64),
        }

    states = ergodic_states(cfg, 32, burn_in=50, seed=0, truth=truth)
    loss = welfare_loss(cfg, unit_cost, states=states, horizon=135, seed=1, truth=truth)
    assert abs(loss.overall.value) > 1e-3


def test_g6_solution_is_checked_against_the_config():
    cfg = preset(2)
    with pytest.raises(ValueError, match="G6Solution"):
        truth_policy(cfg, solve_growth(cfg.params, n_k=50, n_z=3))
    other = solve_g6(cfg.params, cfg.adjustment_cost, cfg.n_households, 3, n_k=200)
    with pytest.raises(ValueError, match="must equal the config"):
        truth_policy(cfg, other)
    with pytest.raises(ValueError, match="G3 GrowthSolution"):
        truth_policy(GrowthConfig.preset("g1"), other)


def test_value_at_phi_zero_is_g1_value():
    """phi = 0 and H = 1: the G6 truth's value is the G1 planner's, path by path (common
    random numbers), up to the lowest attainable markup m_max sigmoid(-bound) ~ 1e-4 (the
    squashed producers cannot post exactly unit cost)."""
    cfg = preset(2).replace(adjustment_cost=0.0, n_households=1)
    g1 = GrowthConfig.preset("g1").replace(dtype="float64")
    states = initial_state(cfg, 64, torch.Generator().manual_seed(0))
    states_g1 = initial_state(g1, 64, torch.Generator().manual_seed(0))
    torch.testing.assert_close(states.capital, states_g1.capital, rtol=0, atol=0)
    v6 = discounted_utility(cfg, truth_policy(cfg), states, horizon=135, seed=2).total[:, 0]
    v1 = discounted_utility(g1, truth_policy(g1), states_g1, horizon=135, seed=2).total[:, 0]
    assert float((v6 - v1).abs().max()) < 2e-4  # measured 5.6e-5 utils (the markup floor)


# ----------------------------------------------------------------------------- Bertrand


def _share_profit(q, s, phi, n):
    return s / n - s / (q * n) - phi * s**2 / (2 * q**2 * n**2)


def _all_profit(q, s, phi):
    return s - s / q - phi * s**2 / (2 * q**2)


@pytest.mark.parametrize("n", [2, 3, 10])
@pytest.mark.parametrize("phi", [0.0, 0.5, 3.0])
def test_bertrand_range_is_the_set_of_equilibria_by_grid_search(n, phi):
    """On a fine price grid, q is a symmetric equilibrium (sharing pays >= 0 and >= any
    undercut taking the whole market, >= posting above and selling nothing) exactly on
    [price_low, price_high]."""
    s = 1.6
    rng = g6_bertrand(s, phi, n)
    assert isinstance(rng, BertrandRange)
    grid = np.linspace(1.0, 3.0, 400_001)
    share = _share_profit(grid, s, phi, n)
    # best deviation below q: sup over q' < q of pi_all(q'), attained as q' -> q (increasing)
    dev = _all_profit(grid, s, phi)
    assert bool(np.all(np.diff(dev) > 0))
    equilibrium = (share >= 0.0) & (share >= dev)
    lo, hi = grid[equilibrium].min(), grid[equilibrium].max()
    step_ = grid[1] - grid[0]
    assert lo == pytest.approx(float(rng.price_low), abs=2 * step_)
    assert hi == pytest.approx(float(rng.price_high), abs=2 * step_)
    comp = g6_competitive(s, phi, n)
    assert float(rng.price_low) <= float(comp.price) <= float(rng.price_high)
    # markups over own marginal cost at the quantity sold, S / (q N) each
    for q, mk in ((rng.price_low, rng.markup_low), (rng.price_high, rng.markup_high)):
        assert float(mk) == pytest.approx(q / (1 + phi * s / (q * n)) - 1, rel=1e-13, abs=1e-15)
    if phi == 0.0:
        assert float(rng.price_low) == float(rng.price_high) == 1.0


def test_bertrand_cap_monopoly_and_inputs():
    rng = g6_bertrand(torch.tensor([1.0, 50.0], dtype=F64), 3.0, 2, markup_max=2.0)
    assert isinstance(rng.price_high, torch.Tensor)
    assert float(rng.price_high[1]) == 3.0  # capped at 1 + m_max
    mono = g6_monopoly(np.array([0.5, 1.5]), 0.5, 2.0)
    np.testing.assert_array_equal(mono.price_low, 3.0)
    grid = np.linspace(1.0, 3.0, 1001)
    assert bool(np.all(np.diff(_all_profit(grid, 1.5, 0.5)) > 0))  # profit rises up to the cap
    np.testing.assert_allclose(mono.markup_high, 3.0 / (1 + 0.5 * np.array([0.5, 1.5]) / 3) - 1)
    for bad, match in [
        (dict(spending=0.0), "S"),
        (dict(phi=-1.0), "phi"),
        (dict(n=1), "n must be >= 2"),
    ]:
        with pytest.raises(ValueError, match=match):
            g6_bertrand(**(dict(spending=1.0, phi=0.5, n=2) | bad))
    with pytest.raises(ValueError, match="markup_max"):
        g6_monopoly(1.0, 0.5, 0.0)


@pytest.mark.parametrize("end", ["low", "high"])
def test_bertrand_markup_is_the_economy_markup_flow(end):
    """All producers post a Bertrand price: the economy's markup flow at the realized spending
    equals the benchmark's markup (one definition: over own marginal cost at units sold)."""
    cfg = preset(3)
    state = initial_state(cfg, 4, torch.Generator().manual_seed(0))
    h = cfg.n_households
    share = torch.full((4, h, 1), 0.3, dtype=F64)
    raw_h = raw_from_controls(cfg, "household", share)
    trial = {"household": raw_h, "producer": torch.zeros(4, 3, 1, dtype=F64)}
    _, _, fl = step(cfg, state, trial, torch.zeros(4, 1, dtype=F64))
    rng = g6_bertrand(fl["spending"], cfg.adjustment_cost, 3, cfg.markup_max)
    price = rng.price_low if end == "low" else rng.price_high
    markup = (price - 1).view(4, 1, 1).expand(4, 3, 1)
    actions = {"household": raw_h, "producer": raw_from_controls(cfg, "producer", markup)}
    _, _, fl2 = step(cfg, state, actions, torch.zeros(4, 1, dtype=F64))
    expected = rng.markup_low if end == "low" else rng.markup_high
    torch.testing.assert_close(fl2["markup"], expected, rtol=1e-10, atol=1e-12)
    torch.testing.assert_close(fl2["spending"], fl["spending"], rtol=1e-14, atol=0)
    assert not math.isnan(float(expected.sum()))


def test_quantity_actions_reach_the_same_equilibrium():
    """Under action="quantity" the truth buys k' = (m - c) / q at the competitive price: the
    same ergodic capital as with share actions, and its own Euler errors stay < 1e-5."""
    share = preset(2)
    quantity = share.replace(action="quantity", constraint="clip")
    tq, ts = truth_policy(quantity), truth_policy(share)
    sq = ergodic_states(quantity, 32, burn_in=50, seed=0, truth=tq)
    ss = ergodic_states(share, 32, burn_in=50, seed=0, truth=ts)
    torch.testing.assert_close(sq.capital, ss.capital, rtol=1e-12, atol=0)
    assert euler_errors(quantity, tq, sq).max < -5.0
