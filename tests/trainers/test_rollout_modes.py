"""BatchedPPO's one rollout loop in its two modes: where episodes end and what they bootstrap.

Episodic (RBC): one T-step episode per iteration, cut after its last step, where the paper's
finite game takes V = 0 and ``bootstrap_truncated`` takes V(s_T). Continuing (growth): a restart
inside the rollout cuts it, bootstrapping from V of the state before the restart.
"""

from __future__ import annotations

import dataclasses
import os

import pytest
import torch

pytest.importorskip("ray.rllib")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from rbc_env import RBCConfig  # noqa: E402
from trainers.config import TrainConfig  # noqa: E402
from trainers.presets import growth_preset  # noqa: E402
from trainers.rllib import build_config  # noqa: E402

pytestmark = pytest.mark.usefixtures("ray_session")


def _links_steps(buf: dict[str, torch.Tensor], cuts: list[bool]) -> None:
    """Without a cut after step t, the value after it is V(s_{t+1}) of the next row."""
    for t, cut in enumerate(cuts[:-1]):
        if not cut:
            torch.testing.assert_close(buf["next_values"][t], buf["values"][t + 1], rtol=0, atol=0)


@pytest.mark.parametrize("bootstrap", [False, True])
def test_episodic_rollout_ends_with_the_episode(bootstrap: bool) -> None:
    econ = RBCConfig(n_consumers=3, n_firms=2, horizon=4)
    tc = TrainConfig(economy=econ, batch_size=2, seed=1, device="cpu", critic="centralized")
    algo = build_config(dataclasses.replace(tc, bootstrap_truncated=bootstrap)).build_algo()
    try:
        current = algo.stage_of(0)
        buffers, _ = algo._rollout(current)
        last_obs = algo.economy.observe()
        for mid, buf in buffers.items():
            cuts = buf["cuts"].tolist()
            assert cuts == [False, False, False, True], mid
            _links_steps(buf, cuts)
            want = algo._value_after(mid, last_obs, current) if bootstrap else 0.0
            if bootstrap:
                assert bool((buf["next_values"][-1] != 0).any()), mid
            torch.testing.assert_close(
                buf["next_values"][-1],
                torch.as_tensor(want).expand_as(buf["next_values"][-1]),
                rtol=0,
                atol=0,
            )
    finally:
        algo.stop()


def test_continuing_rollout_restarts_inside_the_iteration_and_goes_on() -> None:
    tc = growth_preset("g1").override(
        {"batch_size": 3, "rollout_length": 7, "economy.horizon": 3, "seed": 2}
    )
    algo = build_config(tc).build_algo()
    try:
        current = algo.stage_of(0)
        first, _ = algo._rollout(current)
        buf = first["planner"]
        cuts = buf["cuts"].tolist()
        # Restarts after periods 3 and 6 of the economy: steps 2 and 5 of the rollout.
        assert cuts == [False, False, True, False, False, True, False]
        _links_steps(buf, cuts)
        for t in (2, 5):  # V of the state before the restart (a truncation), not the restart's
            assert bool((buf["next_values"][t] != 0).all())
            assert not torch.equal(buf["next_values"][t], buf["values"][t + 1])
        # The next iteration goes on from the state the rollout ended in: period 1 of an
        # episode, so its next restart is after its second step.
        second, _ = algo._rollout(current)
        assert second["planner"]["cuts"].tolist() == [False, True, False, False, True, False, False]
    finally:
        algo.stop()


def test_a_growth_checkpoint_of_the_old_layout_still_restores() -> None:
    """Checkpoints written before the one rollout loop kept a growth run's sampler state under
    ``growth_sampler`` (generator, economy state, env steps); they restore the same state."""
    tc = growth_preset("g1").override({"batch_size": 3, "rollout_length": 5, "seed": 4})
    algo = build_config(tc).build_algo()
    fresh = build_config(tc).build_algo()
    try:
        algo.train()
        state = algo.get_state()
        sampler = state.pop("batched_sampler")
        state["growth_sampler"] = {
            "generator_state": sampler["generator_state"],
            "economy_state": sampler["economy_state"],
            "env_steps_lifetime": 15,
        }
        fresh.set_state(state)
        for name in algo.economy.state.__slots__:
            want = getattr(algo.economy.state, name)
            torch.testing.assert_close(getattr(fresh.economy.state, name), want, rtol=0, atol=0)
        assert torch.equal(fresh.economy.generator.get_state(), algo.economy.generator.get_state())
        current = algo.stage_of(1)
        algo.sync_rollout_module()  # as the next iteration does
        fresh.sync_rollout_module()
        mine, _ = algo._rollout(current)
        theirs, _ = fresh._rollout(current)
        torch.testing.assert_close(theirs["planner"]["obs"], mine["planner"]["obs"], rtol=0, atol=0)
    finally:
        algo.stop()
        fresh.stop()
