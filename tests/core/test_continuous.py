"""Continuous RBC actions (``RBCConfig.action_space="continuous"``).

Values on the grids' ranges, in economic units: at grid points the economy steps exactly as with
the index actions; the curriculum's bounds are the masks' windows; bad values raise naming the
head, the range and the value.
"""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rbc_env import BatchedEconomy, RBCConfig
from rbc_env.core import (
    action_bounds,
    action_box,
    action_masks,
    action_nvec,
    agent_specs,
    grid_values,
    sample_uniform_actions,
    validate_actions,
)
from rbc_env.core.protocol import BoxActions

from . import assert_states_equal, random_actions

B = 3


def _config(**overrides: object) -> RBCConfig:
    return RBCConfig(n_consumers=6, n_firms=3, horizon=4, dtype="float64").override(
        {"action_space": "continuous", **overrides}
    )


def _values_of(config: RBCConfig, index: dict[str, torch.Tensor], employer_shift: float):
    """The continuous actions at the grid points of ``index`` (employer k -> k + shift)."""
    values = grid_values(config, index)
    values["consumer"][..., -1] += employer_shift - 0.5
    return values


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), shift=st.sampled_from([0.0, 0.5, 0.999]))
def test_grid_points_step_exactly_as_the_index_actions(seed: int, shift: float) -> None:
    """Continuous actions at grid points reproduce the discrete economy, every state field."""
    continuous = _config()
    discrete = continuous.override({"action_space": "discrete"})
    econ_d = BatchedEconomy(discrete, B, seed=seed)
    econ_c = BatchedEconomy(continuous, B, seed=seed)
    gen = torch.Generator().manual_seed(seed)
    for _ in range(continuous.horizon):
        index = random_actions(discrete, B, gen, "uniform")
        out_d = econ_d.step(index)
        out_c = econ_c.step(_values_of(continuous, index, shift))
        assert_states_equal(econ_c.state, econ_d.state, rtol=1e-12, atol=1e-9)
        for t in out_d.rewards:
            torch.testing.assert_close(out_c.rewards[t], out_d.rewards[t], rtol=1e-12, atol=1e-9)


def test_the_top_of_the_employer_interval_names_the_last_firm() -> None:
    config = _config()
    econ = BatchedEconomy(config, 1, seed=0)
    actions = random_actions(config, 1, torch.Generator().manual_seed(0), "uniform")
    actions["consumer"][..., -1] = float(config.n_firms)  # e = F: firm F - 1
    actions["consumer"][..., config.n_firms] = config.hours_grid[-1]
    out = econ.step(actions)
    assert bool((out.flows["hours"] > 0).all())
    labour = out.flows["labor"]  # [B, F]: every hour goes to the last firm
    assert bool((labour[..., :-1] == 0).all()) and bool((labour[..., -1] > 0).all())


def test_agent_specs_are_boxes_on_the_grids_ranges() -> None:
    config = _config()
    specs = {s.agent_type: s for s in agent_specs(config)}
    box = action_box(config)
    for t, spec in specs.items():
        assert isinstance(spec.action, BoxActions)
        assert (spec.action.low, spec.action.high) == box[t]
    assert box["firm"][1] == (config.price_grid[-1], config.wage_grid[-1])
    assert box["consumer"][1][-1] == config.n_firms
    assert len(box["consumer"][0]) == len(action_nvec(config)["consumer"])


@pytest.mark.parametrize("iteration", [0, 1, 7, 30, 10_000, None])
def test_bounds_are_the_masks_windows(iteration: int | None) -> None:
    """A grid point is inside the bounds iff the discrete mask allows it (firms, government)."""
    config = RBCConfig(n_consumers=4, n_firms=2).override(
        {
            "action_space": "continuous",
            "curriculum.mask_anneal_iters": 20,
            "curriculum.tax_mask_start": 10,
        }
    )
    bounds = action_bounds(config, iteration)
    masks = action_masks(config, iteration)
    for t, grids in (
        ("firm", (config.price_grid, config.wage_grid)),
        ("government", (config.tax_grid, config.tax_grid)),
    ):
        lo, hi = bounds[t]
        allowed = masks[t].tolist()
        offset = 0
        for head, grid in enumerate(grids):
            for k, v in enumerate(grid):
                inside = float(lo[head]) - 1e-9 <= v <= float(hi[head]) + 1e-9
                assert inside == allowed[offset + k], (t, head, v, iteration)
            offset += len(grid)


def test_sampled_actions_stay_inside_the_bounds() -> None:
    config = _config(**{"curriculum.mask_anneal_iters": 20, "curriculum.tax_mask_start": 10})
    econ = BatchedEconomy(config, 64, seed=1)
    for iteration in (0, 5, 25, None):
        actions = econ.sample_actions(iteration=iteration)
        validate_actions(config, actions, 64)
        if iteration is None:
            continue
        for t, (lo, hi) in action_bounds(config, iteration).items():
            a = actions[t].reshape(-1, lo.shape[0])
            assert bool((a >= lo - 1e-9).all() and (a <= hi + 1e-9).all()), (t, iteration)


def test_bad_values_name_the_head_range_and_value() -> None:
    config = _config()
    econ = BatchedEconomy(config, B, seed=0)
    good = econ.sample_actions()
    bad = dict(good, firm=good["firm"].clone())
    bad["firm"][1, 2, 1] = 1e6
    with pytest.raises(
        ValueError,
        match=r"firm action .wage. must be in \[0, 44\]; got 1000000.0 \(economy 1, agent 2\)",
    ):
        econ.step(bad)
    bad = dict(good, government=good["government"].clone())
    bad["government"][0, 0] = float("nan")
    with pytest.raises(ValueError, match=r"government action 'income_tax' must be in"):
        econ.step(bad)
    with pytest.raises(ValueError, match="floating dtype"):
        econ.step(dict(good, consumer=good["consumer"].long()))
    with pytest.raises(ValueError, match="masks apply to discrete actions only"):
        sample_uniform_actions(config, B, generator=econ.generator, masks=action_masks(config, 0))


def test_action_space_is_validated() -> None:
    with pytest.raises(ValueError, match="action_space"):
        RBCConfig(action_space="box")  # type: ignore[arg-type]
