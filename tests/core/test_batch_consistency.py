"""Economies in a batch are independent: replica b of a B = 7 run == a B = 1 run, same actions."""

from __future__ import annotations

import pytest
import torch

from rbc_env import BatchedEconomy, RBCConfig

from . import ACTION_MODES, assert_states_equal, random_actions

BATCH = 7

# Batched matrix products may sum in a different order for different B; allow only rounding.
TOLERANCE = {"float64": (1e-12, 1e-9), "float32": (1e-5, 1e-3)}


def _slice(actions: dict[str, torch.Tensor], b: int) -> dict[str, torch.Tensor]:
    return {k: v[b : b + 1].clone() for k, v in actions.items()}


@pytest.mark.parametrize("variant", ["open", "closed"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_replica_equals_single_run(variant: str, dtype: str, device: str) -> None:
    config = RBCConfig.paper(variant).override({"dtype": dtype})
    rtol, atol = TOLERANCE[dtype]
    gen = torch.Generator().manual_seed(11)
    batched = BatchedEconomy(config, batch_size=BATCH, device=device, seed=0)
    singles = [BatchedEconomy(config, batch_size=1, device=device, seed=0) for _ in range(BATCH)]
    obs = batched.reset(iteration=12345)
    single_obs = [s.reset(iteration=12345) for s in singles]
    for b in range(BATCH):
        for k in obs:
            torch.testing.assert_close(obs[k][b : b + 1], single_obs[b][k], rtol=0, atol=0)

    for t in range(config.horizon):
        actions = random_actions(config, BATCH, gen, ACTION_MODES[t % len(ACTION_MODES)])
        actions = {k: v.to(device) for k, v in actions.items()}
        out = batched.step(actions)
        for b, single in enumerate(singles):
            one = single.step(_slice(actions, b))
            assert_states_equal(batched.state.select(b), single.state, rtol=rtol, atol=atol)
            for k in out.rewards:
                torch.testing.assert_close(
                    out.rewards[k][b : b + 1], one.rewards[k], rtol=rtol, atol=atol
                )
            for k in out.obs:
                torch.testing.assert_close(out.obs[k][b : b + 1], one.obs[k], rtol=rtol, atol=atol)
            for k in out.flows:
                torch.testing.assert_close(
                    out.flows[k][b : b + 1], one.flows[k], rtol=rtol, atol=atol
                )
            assert torch.equal(out.done[b : b + 1], one.done)
    assert bool(out.done.all())


def test_replicas_diverge_under_different_actions(tiny_config: RBCConfig) -> None:
    """Guard against a vacuous comparison: different actions give different replicas."""
    econ = BatchedEconomy(tiny_config, batch_size=BATCH, seed=0)
    gen = torch.Generator().manual_seed(1)
    for _ in range(3):
        econ.step(random_actions(tiny_config, BATCH, gen, "uniform"))
    budgets = econ.state.consumer_budget
    assert not torch.equal(budgets[0], budgets[1])


def test_select_keeps_the_batch_axis(tiny_config: RBCConfig) -> None:
    econ = BatchedEconomy(tiny_config, batch_size=BATCH, seed=0)
    econ.step(econ.sample_actions())
    state = econ.state
    for b in (0, 3, BATCH - 1):
        one = state.select(b)
        assert one.batch_size == 1
        for name, v in one.tensors().items():
            full = getattr(state, name)
            assert v.shape == (1, *full.shape[1:]), name
            assert torch.equal(v[0], full[b]), name
    picked = state.select(torch.tensor([4, 1]))
    assert picked.batch_size == 2
    assert torch.equal(picked.consumer_budget, state.consumer_budget[[4, 1]])
    assert torch.equal(state.select(slice(2, 5)).firm_budget, state.firm_budget[2:5])


def test_a_selected_state_steps_like_its_replica(tiny_config: RBCConfig) -> None:
    """state.select(b) is a valid B = 1 state: set_state + step == replica b of the batch."""
    gen = torch.Generator().manual_seed(5)
    econ = BatchedEconomy(tiny_config, batch_size=BATCH, seed=0)
    for _ in range(2):
        econ.step(random_actions(tiny_config, BATCH, gen, "uniform"))
    b = 4
    single = BatchedEconomy(tiny_config, batch_size=1, seed=0)
    single.set_state(econ.state.select(b))
    actions = random_actions(tiny_config, BATCH, gen, "sparse")
    out = econ.step(actions)
    one = single.step(_slice(actions, b))
    assert_states_equal(single.state, econ.state.select(b), rtol=1e-12, atol=1e-9)
    torch.testing.assert_close(one.rewards["consumer"], out.rewards["consumer"][b : b + 1])
