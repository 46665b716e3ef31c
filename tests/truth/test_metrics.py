"""Accuracy metrics of the growth family: exact on the truth, closed forms off it, G6 benchmarks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rbc_env.config import GrowthConfig, GrowthParams
from rbc_env.growth.economy import (
    initial_state,
    observe,
    raw_from_controls,
    restricted_mask,
    steady_state,
)
from rbc_env.truth import g1_saving_share, g1_value, solve_growth
from rbc_env.truth.growth import CapitalMarket, g5_saving_share, g6_competitive, g6_cournot
from rbc_env.truth.metrics import (
    WIDE_GRID,
    WIDE_GRID_POINTS,
    WIDE_GRID_SHOCKS,
    AccuracyRow,
    TruthPolicy,
    consumption_equivalent,
    default_horizon,
    discounted_utility,
    ergodic_states,
    euler_errors,
    evaluate,
    policy_error,
    shock_quadrature,
    training_coverage,
    truth_policy,
    welfare_loss,
    wide_grid_states,
)

P = GrowthParams()
AB = P.alpha * P.beta
N_STATES = 64


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    """The machine's cores are shared: one torch thread keeps the small tensor ops fast."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def g3_log():
    config = GrowthConfig.preset("g3_log")
    return config, solve_growth(config.params, n_k=200, n_z=7)


def obs_policy(truth: TruthPolicy):
    """The truth seen as a learned policy: it must act from observations alone."""
    return lambda obs: truth(obs)


def constant_share_policy(config: GrowthConfig, share: float):
    """A planner that saves the constant share ``share`` of cash on hand."""
    c64 = config.replace(dtype="float64")

    def policy(obs):
        u = torch.full((obs["planner"].shape[0], 1, 1), share, dtype=obs["planner"].dtype)
        return {"planner": raw_from_controls(c64, "planner", u)}

    return policy


# ----------------------------------------------------------------------------- closed forms


def test_g5_share_is_g1_share():
    assert g5_saving_share(P) == g1_saving_share(P) == pytest.approx(0.342)


@pytest.mark.parametrize("n", [1, 2, 10])
@pytest.mark.parametrize("phi", [0.0, 0.5, 3.0])
def test_g6_competitive_price_is_marginal_cost(n, phi):
    spend = np.array([0.3, 1.87, 7.0])
    m = g6_competitive(spend, phi, n)
    assert isinstance(m, CapitalMarket)
    np.testing.assert_allclose(phi * m.quantity**2 / n + m.quantity - spend, 0.0, atol=1e-13)
    np.testing.assert_allclose(m.price * m.quantity, spend, rtol=1e-13)  # on the demand curve
    np.testing.assert_allclose(m.price, 1.0 + phi * m.quantity / n, rtol=1e-13)  # q = MC
    np.testing.assert_array_equal(m.markup, 0.0)


@pytest.mark.parametrize("n", [2, 3, 10])
@pytest.mark.parametrize("phi", [0.0, 0.5, 3.0])
def test_g6_cournot_is_a_best_response_by_grid_search(n, phi):
    """Given rivals at Q(N-1)/N, a producer's profit peaks at Q/N on a fine grid."""
    spend = 1.87
    m = g6_cournot(spend, phi, n)
    own = m.quantity / n
    rivals = m.quantity - own
    grid = own * np.linspace(0.5, 1.5, 200_001)
    profit = spend * grid / (grid + rivals) - grid - 0.5 * phi * grid**2
    best = grid[np.argmax(profit)]
    assert best == pytest.approx(own, rel=1e-5)
    np.testing.assert_allclose(m.price, spend / m.quantity, rtol=1e-13)
    assert m.markup == pytest.approx(1.0 / (n - 1), rel=1e-13)
    marginal_cost = 1.0 + phi * own
    assert m.price / marginal_cost - 1.0 == pytest.approx(1.0 / (n - 1), rel=1e-12)
    # Cournot sells less at a higher price than competition, and converges to it as N grows
    comp = g6_competitive(spend, phi, n)
    assert m.price > comp.price and m.quantity < comp.quantity


def test_g6_cournot_monopoly_has_no_finite_equilibrium_and_inputs_are_checked():
    m = g6_cournot(torch.tensor([1.0, 2.0], dtype=torch.float64), 0.5, 1)
    assert torch.isinf(m.price).all() and torch.isinf(m.markup).all()
    assert (m.quantity == 0).all()
    comp = g6_competitive(torch.tensor([1.87]), 0.5, 2)
    assert isinstance(comp.price, torch.Tensor)
    for bad in [dict(spending=0.0), dict(spending=-1.0), dict(phi=-0.1), dict(n=0)]:
        kw = dict(spending=1.0, phi=0.5, n=2) | bad
        with pytest.raises(ValueError, match="g6_cournot"):
            g6_cournot(**kw)


def test_default_horizon_leaves_less_than_tail():
    for beta in (0.9, 0.95, 0.99):
        t = default_horizon(beta)
        assert beta**t < 1e-3 <= beta ** (t - 1)
    assert default_horizon(0.95) == 135 and default_horizon(0.99) == 688


def test_shock_quadrature_moments():
    """Product Gauss-Hermite and the monomial rule integrate Gaussian moments exactly."""
    for dim, nodes in [(1, 10), (2, 10), (10, 10)]:
        x, w = shock_quadrature(dim, nodes)
        assert w.sum().item() == pytest.approx(1.0, abs=1e-13)
        assert (w[:, None] * x).sum(0).abs().max().item() < 1e-13
        cov = torch.einsum("q,qi,qj->ij", w, x, x)
        assert torch.allclose(cov, torch.eye(dim, dtype=torch.float64), atol=1e-12)
        assert (w * x[:, 0] ** 4).sum().item() == pytest.approx(3.0, rel=1e-12)
        if dim > 1:
            assert (w * x[:, 0] ** 2 * x[:, 1] ** 2).sum().item() == pytest.approx(1.0, rel=1e-12)
    x, w = shock_quadrature(10)
    assert w.shape[0] == 2 * 10**2 + 1  # the monomial rule, not 10^10 points
    # E exp(a eps) = exp(a^2 / 2), one dimension, smooth integrand of the Euler equations
    x, w = shock_quadrature(1, 10)
    assert (w * torch.exp(0.3 * x[:, 0])).sum().item() == pytest.approx(math.exp(0.045), rel=1e-14)


# ----------------------------------------------------------------------------- the truth is exact

EXACT = ["g1", "g2", "g4_h4", "g5_n2"]


@pytest.mark.parametrize("name", EXACT)
@pytest.mark.parametrize("action", ["share", "quantity"])
def test_truth_policy_is_exact(name, action):
    """The truth acting from observations: lambda = 0, policy error 0, Euler at machine level."""
    config = GrowthConfig.preset(name).replace(action=action)
    truth = truth_policy(config)
    states = ergodic_states(config, N_STATES, burn_in=50, seed=1)
    err = policy_error(config, obs_policy(truth), states)
    assert err.saving_max < 1e-12
    if config.elastic_labor:
        assert err.hours_max < 1e-12
    else:
        assert err.hours_max is None
    loss = welfare_loss(config, obs_policy(truth), states=states, seed=2)
    assert loss.horizon == 135
    assert abs(loss.overall.value) < 1e-12
    assert loss.overall.low <= 1e-14 and loss.overall.high >= -1e-14
    euler = euler_errors(config, obs_policy(truth), states)
    assert euler.max < -12.0  # float64 machine precision (the spec asks < -6)
    assert euler.errors.shape == (N_STATES, states.capital.shape[1])


def test_g3_solver_policy_is_exact_to_solver_level(g3_log):
    config, sol = g3_log
    truth = truth_policy(config, sol)
    states = ergodic_states(config, N_STATES, burn_in=100, seed=3, truth=truth)
    err = policy_error(config, obs_policy(truth), states, truth=truth)
    assert err.saving_max < 1e-12
    loss = welfare_loss(config, obs_policy(truth), states=states, horizon=100, truth=truth)
    assert abs(loss.overall.value) < 1e-12
    euler = euler_errors(config, obs_policy(truth), states)
    assert euler.max < -5.0 and euler.mean < -6.5  # the solver's own level (< 1e-5)
    # on the G1 parameters the solver's rule is the closed form alpha beta
    g1 = GrowthConfig(economy="g1")
    sol1 = solve_growth(P, n_k=200, n_z=7, k_bounds=(0.3, 3.0))
    states1 = ergodic_states(g1, N_STATES, burn_in=30, seed=3)
    err1 = policy_error(g1, truth_policy(g1, sol1), states1)
    assert err1.saving_max < 1e-6


def test_truth_from_observations_matches_full_state():
    for name, action in [("g1", "quantity"), ("g2", "quantity"), ("g4_h4", "quantity")]:
        config = GrowthConfig.preset(name).replace(action=action, dtype="float64")
        truth = truth_policy(config)
        states = ergodic_states(config, 16, burn_in=20, seed=4)
        from_obs, from_state = truth(observe(config, states)), truth.act(states)
        for t in from_state:
            torch.testing.assert_close(from_obs[t], from_state[t], rtol=1e-12, atol=1e-12)


def test_truth_from_observations_refuses_what_they_do_not_reveal():
    for name in ["g7_restricted", "g6_n2"]:
        config = GrowthConfig.preset(name).replace(action="quantity", dtype="float64")
        truth = truth_policy(config)
        states = ergodic_states(config, 4, burn_in=2, seed=0)
        with pytest.raises(ValueError, match="TruthPolicy.act"):
            truth(observe(config, states))
        assert set(truth.act(states)) == set(observe(config, states))


# ----------------------------------------------------------------------------- off the truth


def predicted_lambda(share: float, beta: float, horizon: float) -> float:
    """lambda of the constant share ``share`` in G1 over ``horizon`` periods (see the test)."""
    alpha = P.alpha
    w_t = (1.0 - beta**horizon) / (1.0 - beta)  # sum_{t<T} beta^t
    w_ab = (1.0 - (alpha * beta) ** horizon) / (1.0 - alpha * beta)  # sum_{t<T} (alpha beta)^t
    log_ratio = math.log(share / AB)
    gap = w_t * math.log((1.0 - share) / (1.0 - AB)) + alpha / (1.0 - alpha) * log_ratio * (
        w_t - w_ab
    )  # V_s - V* per path
    return math.expm1(-gap / w_t)


def infinite_lambda(share: float) -> float:
    """The spec's infinite-horizon lambda of a constant share in G1."""
    return (1.0 - AB) / (1.0 - share) * (AB / share) ** (AB / (1.0 - AB)) - 1.0


def test_constant_share_value_closed_form():
    """V_s = a_s + alpha/(1-ab) ln k + ln z/((1-ab)(1-rho beta)) solves V_s's own recursion.

    Hence V* - V_s = a* - a_s in every state, and lambda = exp((1 - beta)(a* - a_s)) - 1 is
    the infinite-horizon formula; the finite-horizon formula tends to it.
    """
    x, w = np.polynomial.hermite_e.hermegauss(20)
    w = w / math.sqrt(2.0 * math.pi)
    big_b = P.alpha / (1.0 - AB)
    big_d = 1.0 / ((1.0 - AB) * (1.0 - P.rho * P.beta))
    for share in (0.2, 0.5):
        a_s = (math.log(1.0 - share) + AB / (1.0 - AB) * math.log(share)) / (1.0 - P.beta)

        def v_s(k, z, a_s=a_s):
            return a_s + big_b * np.log(k) + big_d * np.log(z)

        for k, z in [(0.1, 1.0), (0.3, 1.05)]:
            y = z * k**P.alpha
            z_next = np.exp(P.rho * math.log(z) + P.sigma * x)
            rhs = math.log((1.0 - share) * y) + P.beta * np.sum(w * v_s(share * y, z_next))
            assert v_s(k, z) == pytest.approx(rhs, abs=1e-11)
            gap = float(g1_value(P, k, z)) - v_s(k, z)
            assert math.expm1((1.0 - P.beta) * gap) == pytest.approx(infinite_lambda(share))
        assert predicted_lambda(share, P.beta, 1e5) == pytest.approx(infinite_lambda(share))


@pytest.mark.parametrize("share", [0.15, 0.3, 0.4, 0.6])
def test_constant_share_welfare_loss_matches_closed_form(share):
    """V_s - V* = W_T ln((1-s)/(1-ab)) + alpha/(1-alpha) ln(s/ab) (W_T - A_T) on every path.

    With ln y_t^s - ln y_t^* = alpha (1 - alpha^t)/(1 - alpha) ln(s/ab) (same k_0 and shocks),
    W_T = (1 - beta^T)/(1 - beta), A_T = (1 - (alpha beta)^T)/(1 - alpha beta); so lambda_T
    = exp(-(V_s - V*)/W_T) - 1 exactly, with a zero-width interval.
    """
    config = GrowthConfig(economy="g1")
    states = ergodic_states(config, N_STATES, burn_in=10, seed=5)
    loss = welfare_loss(config, constant_share_policy(config, share), states=states, seed=6)
    expected = predicted_lambda(share, P.beta, loss.horizon)
    assert loss.overall.value == pytest.approx(expected, rel=1e-9)
    assert loss.overall.high - loss.overall.low < 1e-9 * expected
    assert loss.overall.value == pytest.approx(infinite_lambda(share), rel=2e-3)
    err = policy_error(config, constant_share_policy(config, share), states)
    assert err.saving_mean == pytest.approx(abs(share - AB), abs=1e-12)
    # Euler error of a constant share: beta E[mu' R'] / mu = ab / s exactly
    euler = euler_errors(config, constant_share_policy(config, share), states)
    assert euler.max == pytest.approx(math.log10(abs(1.0 - AB / share)), abs=1e-10)
    assert euler.mean == pytest.approx(euler.max, abs=1e-10)


def test_welfare_loss_grows_away_from_the_optimum():
    config = GrowthConfig(economy="g1")
    states = ergodic_states(config, 16, burn_in=10, seed=7)
    shares = [0.1, 0.2, 0.3, AB, 0.4, 0.5, 0.7]
    lams = [
        welfare_loss(
            config, constant_share_policy(config, s), states=states, horizon=60
        ).overall.value
        for s in shares
    ]
    i = shares.index(AB)
    assert abs(lams[i]) < 1e-12
    assert all(a > b > 0 for a, b in zip(lams[:i], lams[1:i], strict=False))
    assert all(0 < a < b for a, b in zip(lams[i + 1 :], lams[i + 2 :], strict=False))


def test_penalties_are_not_welfare():
    """A raw action beyond the range costs a penalty reward but the same consumption."""
    lams = []
    for constraint in ("clip", "penalty"):
        config = GrowthConfig(economy="g1", constraint=constraint)
        states = ergodic_states(config, 16, burn_in=5, seed=8)

        def policy(obs):
            return {"planner": torch.full((obs["planner"].shape[0], 1, 1), 1.5).double()}

        lams.append(welfare_loss(config, policy, states=states, horizon=30).overall.value)
    assert lams[0] > 0.1
    assert lams[1] == pytest.approx(lams[0], rel=1e-14)


def test_crra_consumption_equivalent_scales_consumption():
    """gamma = 2: lambda solves (1 + lambda)^(1-gamma) A + D = V* (scaled consumption checks it)."""
    config = GrowthConfig.preset("g3")  # Hansen, gamma = 2
    states = ergodic_states(config, 8, burn_in=0, seed=9, truth=constant_share_policy(config, 0.1))
    base = discounted_utility(config, constant_share_policy(config, 0.1), states, horizon=40)
    gamma, lam = 2.0, 0.013
    scaled_part = base.consumption * (1.0 + lam) ** (1.0 - gamma)
    scaled = type(base)(
        base.total - base.consumption + scaled_part, scaled_part, 40, base.beta, gamma
    )
    ce = consumption_equivalent(scaled, base)
    assert ce.value == pytest.approx(lam, rel=1e-10)


# ----------------------------------------------------------------------------- markets


@pytest.mark.parametrize("h", [1, 4, 100])
def test_first_welfare_theorem_g4_equals_g1_planner(h):
    """Each G4 household's value path equals the G1 planner's per-capita value path."""
    g4 = GrowthConfig(economy="g4", n_households=h, dtype="float64")
    g1 = GrowthConfig(economy="g1", dtype="float64")
    states = initial_state(g4, 32, torch.Generator().manual_seed(10))
    planner_states = type(states)(
        capital=states.capital[:, :1].clone(),
        log_z=states.log_z,
        t=states.t,
        dividend=states.dividend,
        price=states.price,
        spending=states.spending,
    )
    v4 = discounted_utility(g4, truth_policy(g4), states, horizon=135, seed=11)
    v1 = discounted_utility(g1, truth_policy(g1), planner_states, horizon=135, seed=11)
    torch.testing.assert_close(v4.total, v1.total.expand(-1, h), rtol=1e-12, atol=1e-11)
    ce = consumption_equivalent(v1, v4)
    assert abs(ce.value) < 1e-12 and abs(ce.high - ce.low) < 1e-12


def test_g7_restricted_households_lose_welfare_under_quantity():
    """Restricted households that cannot see z save k' = ab m(z = 1): they lose the most."""
    config = GrowthConfig.preset("g7_half").replace(action="quantity", dtype="float64")
    ss = steady_state(config)
    p = config.params
    h = config.n_households
    mask = restricted_mask(config)

    def policy(obs):
        x = obs["household"]
        k = ss.capital * torch.exp(x[..., 0])
        big_k = ss.capital * torch.exp(x[..., 1])  # per-household aggregate K / H
        log_z = torch.where(mask, 0.0, ss.sd_log_z * x[..., 2])
        r = p.alpha * torch.exp(log_z) * big_k ** (p.alpha - 1.0)
        w = (1.0 - p.alpha) * torch.exp(log_z) * big_k**p.alpha
        u = (AB * (r * k + w) / ss.capital).unsqueeze(-1)
        return {"household": raw_from_controls(config, "household", u)}

    states = ergodic_states(config, N_STATES, burn_in=30, seed=12)
    loss = welfare_loss(config, policy, states=states, seed=13)
    assert loss.restricted is not None and loss.full_information is not None
    assert loss.restricted.low > 0.0 and loss.restricted.value > 1e-5
    # full-information households still act optimally; they only feel the restricted
    # households' choices through prices (r, w), a smaller effect of either sign
    assert abs(loss.full_information.value) < 0.5 * loss.restricted.value
    err = policy_error(config, policy, states)
    assert err.saving_max > 1e-3
    assert int(mask.sum()) == h // 2


def test_evaluate_g6_reports_markups_and_learned_float32_module():
    """A float32 torch module policy is cast; G6 rows carry the markup benchmarks."""
    config = GrowthConfig.preset("g6_n2").replace(n_households=4)

    class Fixed(torch.nn.Module):
        """Households save ab, producers post a 20% markup over unit cost (float32)."""

        def __init__(self):
            super().__init__()
            c64 = config.replace(dtype="float64")
            share = torch.tensor([[[AB]]], dtype=torch.float64)
            markup = torch.tensor([[[0.2]]], dtype=torch.float64)
            self.h = torch.nn.Parameter(raw_from_controls(c64, "household", share).float())
            self.p = torch.nn.Parameter(raw_from_controls(c64, "producer", markup).float())

        def forward(self, obs):
            assert obs["household"].dtype == torch.float32  # the metrics cast for the module
            b = obs["household"].shape[0]
            return {
                "household": self.h.expand(b, 4, 1),
                "producer": self.p.expand(b, 2, 1),
            }

    row = evaluate(config, Fixed(), n_states=32, burn_in=20, horizon=40, seed=0)
    assert isinstance(row, AccuracyRow)
    d = row.to_dict()
    assert d["economy"] == "g6" and d["n_producers"] == 2 and d["hours_error_mean"] is None
    # the truth is the competitive equilibrium: households save less than ab (dividends)
    assert 1e-3 < row.saving_error_max < 0.05
    assert row.markup_competitive == 0.0
    assert row.price_mean == pytest.approx(1.2, rel=1e-6)
    assert row.price_bertrand_low < row.price_competitive < row.price_bertrand_high
    assert row.markup_bertrand_low < 0.0 < row.markup_bertrand_high
    assert "markup_cournot" not in d
    assert row.welfare_loss_low <= row.welfare_loss <= row.welfare_loss_high


def test_evaluate_truth_row_g7_half():
    config = GrowthConfig.preset("g7_half")
    row = evaluate(config, truth_policy(config), n_states=16, burn_in=10, horizon=20)
    assert row.welfare_loss_restricted == 0.0 and row.welfare_loss_full == 0.0
    assert row.euler_max < -12.0 and row.markup_mean is None


# ----------------------------------------------------------------------------- bad inputs


def test_bad_policy_outputs_raise_clear_errors():
    config = GrowthConfig(economy="g4", n_households=3)
    states = ergodic_states(config, 4, burn_in=0, seed=0)
    cases = [
        (lambda obs: {"household": torch.zeros(4, 3, 2)}, "shape"),
        (lambda obs: {"household": torch.zeros(4, 3)}, "shape"),
        (lambda obs: {"planner": torch.zeros(4, 1, 1)}, "keys"),
        (lambda obs: torch.zeros(4, 3, 1), "dict"),
        (lambda obs: {"household": torch.full((4, 3, 1), math.nan)}, "finite"),
    ]
    for policy, match in cases:
        with pytest.raises(ValueError, match="policy") as info:
            policy_error(config, policy, states)
        assert match in str(info.value)


def test_bad_arguments_raise():
    config = GrowthConfig(economy="g1")
    with pytest.raises(ValueError, match="solution.params"):
        truth_policy(config, solve_growth(GrowthParams(beta=0.9), n_k=50, n_z=3))
    with pytest.raises(ValueError, match="G6Solution"):
        truth_policy(GrowthConfig.preset("g6_n2"), solve_growth(P, n_k=50, n_z=3))
    with pytest.raises(ValueError, match="n must be"):
        ergodic_states(config, 0)
    with pytest.raises(ValueError, match="horizon"):
        welfare_loss(config, truth_policy(config), states=ergodic_states(config, 2), horizon=0)


# ----------------------------------------------------------------------------- the wide grid


def test_wide_grid_states_span_capital_and_every_shock_state():
    config = GrowthConfig.preset("g4_h4")
    grid = wide_grid_states(config)
    k_ss = steady_state(config).capital
    assert grid.batch_size == WIDE_GRID_POINTS * WIDE_GRID_SHOCKS
    assert grid.capital.dtype == torch.float64 and grid.capital.shape == (grid.batch_size, 4)
    ratio = grid.capital / k_ss
    assert float(ratio.min()) == pytest.approx(WIDE_GRID[0], rel=1e-12)
    assert float(ratio.max()) == pytest.approx(WIDE_GRID[1], rel=1e-12)
    assert bool((grid.capital == grid.capital[:, :1]).all())  # symmetric market states
    nodes = torch.unique(grid.log_z)
    sd = steady_state(config).sd_log_z
    assert nodes.numel() == WIDE_GRID_SHOCKS
    assert float(nodes.max()) == pytest.approx(sd * math.sqrt(WIDE_GRID_SHOCKS - 1), rel=1e-12)
    with pytest.raises(ValueError, match="k_range"):
        wide_grid_states(config, k_range=(1.6, 0.3))
    with pytest.raises(ValueError, match="n_z"):
        wide_grid_states(config, n_z=1)


@pytest.mark.parametrize("name", ["g1", "g2", "g3_log", "g4_h4", "g5_n2", "g7_half"])
def test_truth_is_exact_on_the_wide_grid(name, g3_log):
    """The truth, acting from observations, has ~0 policy error and tiny Euler errors there."""
    config = GrowthConfig.preset(name)
    solution = g3_log[1] if name == "g3_log" else None
    truth = truth_policy(config, solution)
    grid = wide_grid_states(config)
    err = policy_error(config, obs_policy(truth), grid, truth=truth)
    assert err.saving_max < 1e-9
    if config.elastic_labor:
        assert err.hours_max < 1e-12
    euler = euler_errors(config, obs_policy(truth), grid)
    assert euler.max < (-5.5 if name == "g3_log" else -12.0)


def test_the_g3_truth_covers_the_wide_grid():
    """The default solver grid spans the wide grid: Hansen γ = 2 Euler errors stay < 1e-6."""
    config = GrowthConfig.preset("g3")
    truth = truth_policy(config)
    for states in (wide_grid_states(config), ergodic_states(config, 128, truth=truth)):
        euler = euler_errors(config, truth, states)
        assert euler.mean < -7.0 and euler.max < -6.0


def _right_only_near_the_steady_state(config: GrowthConfig, width: float = 0.3):
    """Saves αβ where |log k/k_ss| < width, and αβ + 0.1 elsewhere (a G1 planner)."""
    c64 = config.replace(dtype="float64")

    def policy(obs):
        x = obs["planner"]
        near = x[:, :, :1].abs() < width
        ab = torch.full_like(near, AB, dtype=x.dtype)
        share = torch.where(near, ab, ab + 0.1)
        return {"planner": raw_from_controls(c64, "planner", share)}

    return policy


def test_a_policy_wrong_off_the_ergodic_set_is_caught_on_the_wide_grid():
    config = GrowthConfig.preset("g1")
    policy = _right_only_near_the_steady_state(config)
    row = evaluate(config, policy, n_states=128, burn_in=50, horizon=40, seed=0)
    assert row.saving_error_max < 1e-12  # perfect where it is usually scored
    assert row.euler_max < -12.0
    assert row.wide_saving_error_max == pytest.approx(0.1, rel=1e-9)
    share_wrong = float(
        (wide_grid_states(config).capital / steady_state(config).capital)
        .log()
        .abs()
        .ge(0.3)
        .double()
        .mean()
    )
    assert row.wide_saving_error_mean == pytest.approx(0.1 * share_wrong, rel=1e-9)
    assert row.wide_euler_max > -2.0  # wrong saving breaks the Euler equation there
    assert row.wide_hours_error_mean is None
    truth_row = evaluate(config, truth_policy(config), n_states=16, burn_in=10, horizon=20)
    assert truth_row.wide_saving_error_max < 1e-12 and truth_row.wide_euler_max < -12.0
    off = evaluate(config, policy, n_states=16, burn_in=10, horizon=20, wide_grid=False)
    assert off.wide_saving_error_mean is None and off.wide_euler_mean is None


# ----------------------------------------------------------------------------- coverage


def test_training_coverage_without_noise_stays_on_the_ergodic_set():
    config = GrowthConfig.preset("g1").replace(init_spread=0.0, horizon=8)
    cov = training_coverage(config, "truth", noise=0.0, rollout_length=8, iterations=4)
    assert cov.wide_share == 1.0 and cov.ergodic_share > 0.9
    assert cov.quantiles[0] <= cov.quantiles[1] <= cov.quantiles[2]
    untrained = training_coverage(config, "zero", noise=0.0, rollout_length=8, iterations=4)
    assert untrained.quantiles[1] > 1.6  # saving 0.5 > αβ piles capital above the wide grid
    assert untrained.wide_share < 0.5
    with pytest.raises(ValueError, match="mean"):
        training_coverage(config, "random")


def test_short_g3_episodes_visit_the_scored_states_more_often():
    """Issue 11: exploring around the truth, long G3 episodes drift below the ergodic set."""
    base = GrowthConfig.preset("g3")
    kw = {"rollout_length": 32, "iterations": 13, "batch_size": 32}
    long = training_coverage(base.replace(horizon=400), "truth", **kw)
    short = training_coverage(base.replace(horizon=32), "truth", **kw)
    assert short.ergodic_share > 2.0 * long.ergodic_share
    assert short.wide_share > long.wide_share
    assert long.quantiles[1] < short.quantiles[1] < 1.0
