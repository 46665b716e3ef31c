"""The one economy protocol: the RBC economy and the growth family both implement it."""

from __future__ import annotations

import pytest
import torch

from rbc_env import (
    AgentSpec,
    BatchedEconomy,
    BoxActions,
    DiscreteActions,
    Economy,
    RBCConfig,
    with_agent_axis,
    without_agent_axis,
)
from rbc_env.config import GrowthConfig
from rbc_env.core.protocol import StepResult
from rbc_env.core.types import ArraySpec
from rbc_env.core.types import agent_counts as rbc_counts
from rbc_env.growth import GrowthEconomy
from rbc_env.growth import agent_counts as growth_counts

B = 3


def _economies() -> list[Economy]:
    small = RBCConfig.paper("open").override({"n_consumers": 4, "n_firms": 2})
    return [
        BatchedEconomy(small, batch_size=B, seed=0),
        *(
            GrowthEconomy(GrowthConfig.preset(name), batch_size=B, seed=0)
            for name in ("g1", "g2", "g4_h4", "g5_n2", "g6_n2", "g7_half")
        ),
    ]


def _rollout(economy: Economy, steps: int) -> dict[str, torch.Tensor]:
    """Per-type [B, n] returns of uniform random actions: written once, for any economy."""
    specs = economy.agent_specs
    economy.reset(seed=1)
    returns = {s.agent_type: torch.zeros(economy.batch_size, s.count) for s in specs}
    for _ in range(steps):
        out = economy.step(economy.sample_actions())
        for s in specs:
            returns[s.agent_type] += with_agent_axis(s, out.rewards[s.agent_type]).float()
    return returns


@pytest.mark.parametrize("economy", _economies(), ids=lambda e: type(e).__name__)
def test_every_economy_implements_the_protocol_with_an_agent_axis(economy: Economy) -> None:
    assert isinstance(economy, Economy)
    specs = economy.agent_specs
    counts = (
        rbc_counts(economy.config)
        if isinstance(economy, BatchedEconomy)
        else growth_counts(economy.config)
    )
    assert {s.agent_type: s.count for s in specs} == dict(counts)
    assert [s.agent_type for s in specs] == list(counts)
    obs = economy.reset(seed=0)
    assert set(obs) == {s.agent_type for s in specs}
    actions = economy.sample_actions()
    out = economy.step(actions)
    assert isinstance(out, StepResult)
    assert out.done.shape == (B,)
    for s in specs:
        t = s.agent_type
        assert with_agent_axis(s, obs[t]).shape == (B, s.count, *s.observation.shape)
        assert with_agent_axis(s, out.obs[t]).shape == (B, s.count, *s.observation.shape)
        assert with_agent_axis(s, out.rewards[t]).shape == (B, s.count)
        a = with_agent_axis(s, actions[t])
        assert a.shape == (B, s.count, s.action.dim)
        if isinstance(s.action, DiscreteActions):
            assert not a.is_floating_point()
            assert bool((a >= 0).all()) and bool((a < torch.tensor(s.action.nvec)).all())
        else:
            assert bool((a >= torch.tensor(s.action.low, dtype=a.dtype)).all())
            assert bool((a <= torch.tensor(s.action.high, dtype=a.dtype)).all())
        assert torch.equal(without_agent_axis(s, with_agent_axis(s, actions[t])), actions[t])
    g = economy.global_state()
    assert g.shape[0] == B and g.dim() == 2
    # One generic function serves every economy, and the same seed gives the same returns.
    first, again = _rollout(economy, 3), _rollout(economy, 3)
    assert all(torch.equal(first[t], again[t]) for t in first)
    assert all(bool(torch.isfinite(r).all()) for r in first.values())


def test_the_rbc_government_is_the_one_type_without_an_agent_axis() -> None:
    econ = BatchedEconomy(RBCConfig.paper("closed"), batch_size=2, seed=0)
    axes = {s.agent_type: s.agent_axis for s in econ.agent_specs}
    assert axes == {"consumer": True, "firm": True, "government": False}
    obs = econ.reset()
    assert torch.equal(econ.global_state(), obs["government"])  # g of (M15)
    gov = econ.agent_specs[-1]
    assert gov.action == DiscreteActions(econ.action_nvec["government"])
    with pytest.raises(ValueError, match="government tensors must have 1 agent on axis 1"):
        without_agent_axis(gov, torch.zeros(2, 3, 2))


def test_growth_actions_are_raw_boxes_within_the_action_bound() -> None:
    cfg = GrowthConfig.preset("g6_n2")
    specs = {s.agent_type: s for s in GrowthEconomy(cfg, batch_size=1, seed=0).agent_specs}
    bound = cfg.action_bound
    assert specs["household"].action == BoxActions((-bound,), (bound,))
    assert specs["producer"].count == 2 and all(s.agent_axis for s in specs.values())


def test_box_actions_and_agent_specs_validate() -> None:
    with pytest.raises(ValueError, match="same length"):
        BoxActions((0.0,), (1.0, 2.0))
    with pytest.raises(ValueError, match=r"low must be <= high in every column; not in \[1\]"):
        BoxActions((0.0, 2.0), (1.0, 1.0))
    spec = AgentSpec("planner", 1, ArraySpec((2,)), BoxActions((-1.0,), (1.0,)))
    assert spec.agent_axis and spec.action.dim == 1
