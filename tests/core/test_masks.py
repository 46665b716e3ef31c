"""Curriculum masks and the θ factor against the schedule table of spec section 9.4."""

from __future__ import annotations

import math

import pytest
import torch

from rbc_env import BatchedEconomy, RBCConfig, action_masks
from rbc_env.core import consumer_thetas, theta_factor

PAPER = RBCConfig.paper("open")
PRICES = PAPER.price_grid  # 0, 500, ..., 2500
WAGES = PAPER.wage_grid  # 0, 11, 22, 33, 44
TAXES = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def _allowed(iteration: int | None) -> dict[str, set[float]]:
    """Decode the flat masks into the allowed values of each head."""
    m = action_masks(PAPER, iteration)
    firm, gov = m["firm"].tolist(), m["government"].tolist()
    n_p, n_t = len(PRICES), len(TAXES)
    return {
        "price": {p for p, ok in zip(PRICES, firm[:n_p], strict=True) if ok},
        "wage": {w for w, ok in zip(WAGES, firm[n_p:], strict=True) if ok},
        "income_tax": {round(x, 6) for x, ok in zip(TAXES, gov[:n_t], strict=True) if ok},
        "corporate_tax": {round(x, 6) for x, ok in zip(TAXES, gov[n_t:], strict=True) if ok},
    }


# (iteration, allowed prices, allowed wages): spec 9.4 "Firm action mask" timeline.
FIRM_SCHEDULE = [
    (0, {1000}, {22}),
    (5_000, {1000}, {22}),
    (9_999, {1000}, {22}),
    (10_000, {1000, 1500}, {22}),
    (14_999, {1000, 1500}, {22}),
    (15_000, {500, 1000, 1500}, {11, 22, 33}),
    (19_999, {500, 1000, 1500}, {11, 22, 33}),
    (20_000, {500, 1000, 1500, 2000}, {11, 22, 33}),
    (29_999, {500, 1000, 1500, 2000}, {11, 22, 33}),
    (30_000, set(PRICES), set(WAGES)),
    (100_000, set(PRICES), set(WAGES)),
]


@pytest.mark.parametrize(("iteration", "prices", "wages"), FIRM_SCHEDULE)
def test_firm_mask_schedule(iteration: int, prices: set[float], wages: set[float]) -> None:
    allowed = _allowed(iteration)
    assert allowed["price"] == prices
    assert allowed["wage"] == wages


# (iteration, allowed tax rates): "taxes fixed at 0 until 30k; 0.2 opens at 36k, ... 1.0 at 60k".
TAX_SCHEDULE = [
    (0, {0.0}),
    (30_000, {0.0}),
    (35_999, {0.0}),
    (36_000, {0.0, 0.2}),
    (41_999, {0.0, 0.2}),
    (42_000, {0.0, 0.2, 0.4}),
    (48_000, {0.0, 0.2, 0.4, 0.6}),
    (54_000, {0.0, 0.2, 0.4, 0.6, 0.8}),
    (59_999, {0.0, 0.2, 0.4, 0.6, 0.8}),
    (60_000, set(TAXES)),
    (200_000, set(TAXES)),
]


@pytest.mark.parametrize(("iteration", "taxes"), TAX_SCHEDULE)
def test_government_mask_schedule(iteration: int, taxes: set[float]) -> None:
    allowed = _allowed(iteration)
    assert allowed["income_tax"] == taxes
    assert allowed["corporate_tax"] == taxes


@pytest.mark.parametrize("iteration", [0, 15_000, 45_000])
def test_consumers_are_never_masked(iteration: int) -> None:
    m = action_masks(PAPER, iteration)
    assert m["consumer"].all()
    assert m["consumer"].shape == (10 * 11 + 5 + 10,)
    assert m["firm"].shape == (6 + 5,) and m["government"].shape == (6 + 6,)
    assert m["firm"].dtype == torch.bool


def test_no_iteration_means_no_mask() -> None:
    masks = action_masks(PAPER, None)
    assert all(bool(m.all()) for m in masks.values())
    assert _allowed(None)["price"] == set(PRICES)


@pytest.mark.parametrize("bad", [-1, 1.5, True, "10"])
def test_bad_iteration_raises(bad: object) -> None:
    with pytest.raises(ValueError, match="iteration must be an integer in"):
        action_masks(PAPER, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="iteration must be an integer in"):
        theta_factor(PAPER, bad)  # type: ignore[arg-type]


def test_theta_factor_schedule() -> None:
    """Spec 9.4: f(e) = 1 - exp(-e / 10^4): 0 at 0, 63% at 10k, 95% at 30k; 1 outside training."""
    assert theta_factor(PAPER, 0) == 0.0
    assert theta_factor(PAPER, 10_000) == pytest.approx(1 - math.exp(-1))
    assert theta_factor(PAPER, 10_000) == pytest.approx(0.632, abs=1e-3)
    assert theta_factor(PAPER, 30_000) == pytest.approx(0.950, abs=1e-3)
    assert theta_factor(PAPER, None) == 1.0
    values = [theta_factor(PAPER, e) for e in range(0, 100_000, 5_000)]
    assert values == sorted(values) and values[-1] < 1.0


@pytest.mark.parametrize(
    ("iteration", "prices", "wages", "taxes"),
    [
        (0, {1000}, {22}, {0.0}),
        (15_000, {500, 1000, 1500}, {11, 22, 33}, {0.0}),
        (42_000, set(PRICES), set(WAGES), {0.0, 0.2, 0.4}),
    ],
)
def test_sample_actions_respects_masks(
    iteration: int, prices: set[float], wages: set[float], taxes: set[float]
) -> None:
    econ = BatchedEconomy(PAPER, batch_size=64, seed=0)
    seen: dict[str, set[float]] = {"price": set(), "wage": set(), "tax": set()}
    for _ in range(30):
        a = econ.sample_actions(iteration=iteration)
        seen["price"] |= {PRICES[i] for i in a["firm"][..., 0].unique().tolist()}
        seen["wage"] |= {WAGES[i] for i in a["firm"][..., 1].unique().tolist()}
        seen["tax"] |= {round(TAXES[i], 6) for i in a["government"].unique().tolist()}
        assert a["consumer"].shape == (64, 100, 12)
    # Never a masked value, and (over 30 × 64 draws) every allowed value shows up.
    assert seen["price"] == prices
    assert seen["wage"] == wages
    assert seen["tax"] == taxes


def test_unmasked_sampling_covers_the_grids() -> None:
    econ = BatchedEconomy(PAPER, batch_size=64, seed=1)
    a = econ.sample_actions()
    assert set(a["firm"][..., 0].unique().tolist()) == set(range(6))
    assert set(a["government"][:, 1].unique().tolist()) == set(range(6))
    assert set(a["consumer"][..., 11].unique().tolist()) == set(range(10))  # employer


@pytest.mark.parametrize("iteration", [0, 2_500, 10_000, None])
def test_reset_scales_theta(iteration: int | None) -> None:
    econ = BatchedEconomy(PAPER, batch_size=3, seed=0)
    econ.reset(iteration=iteration)
    factor = theta_factor(PAPER, iteration)
    assert econ.theta_factor == factor
    expected = torch.tensor(consumer_thetas(PAPER)) * factor
    for b in range(3):
        torch.testing.assert_close(econ.state.theta[b], expected, rtol=1e-6, atol=0)
    # Base θ̄_j = 0.01 (1 - j/100)^(1/4): θ̄_0 = 0.01, θ̄_99 = 0.003162 (spec 3.2).
    assert consumer_thetas(PAPER)[0] == pytest.approx(0.01)
    assert consumer_thetas(PAPER)[99] == pytest.approx(0.003162, abs=1e-6)


def test_theta_factor_zero_removes_labour_disutility() -> None:
    """At e = 0 working costs nothing: the t = 0 consumer reward is 0 whatever the hours."""
    econ = BatchedEconomy(PAPER, batch_size=2, seed=0)
    econ.reset(iteration=0)
    out = econ.step(econ.sample_actions())
    assert (out.rewards["consumer"] == 0).all()  # nothing to buy at t = 0, and θ = 0
    econ.reset(iteration=None)
    out = econ.step(econ.sample_actions())
    assert (out.rewards["consumer"] < 0).any()
