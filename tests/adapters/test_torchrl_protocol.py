"""The TorchRL face written once against the economy protocol: growth family and RBC."""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("torchrl")

from tensordict import TensorDict  # noqa: E402
from torchrl.envs.utils import check_env_specs  # noqa: E402

from rbc_env import BatchedEconomy, RBCConfig  # noqa: E402
from rbc_env.adapters.torchrl import EconomyTorchRLEnv, growth_torchrl_env  # noqa: E402
from rbc_env.config import GrowthConfig  # noqa: E402
from rbc_env.growth import GrowthEconomy  # noqa: E402

PRESETS = ("g1", "g2", "g4_h4", "g5_n2", "g6_n2", "g7_half")


@pytest.mark.parametrize("name", PRESETS)
def test_growth_envs_pass_torchrls_spec_check(name: str) -> None:
    env = growth_torchrl_env(name, batch_size=3, seed=0)
    check_env_specs(env)
    spec = {s.agent_type: s for s in env.economy.agent_specs}
    assert env.group_map == {t: [f"{t}_{i}" for i in range(s.count)] for t, s in spec.items()}


def test_a_rollout_is_the_economy_stepped_with_the_same_actions() -> None:
    """Same seed, same actions: every observation, reward and the global state agree."""
    env = growth_torchrl_env("g6_n2", batch_size=4, seed=1)
    ref = GrowthEconomy(GrowthConfig.preset("g6_n2"), batch_size=4, seed=99)
    env.set_seed(5)
    td = env.reset()
    ref_obs = ref.reset(seed=5)
    for _ in range(4):
        td = env.rand_action(td)
        actions = ref.sample_actions()  # the same draws from the same stream
        for t, a in actions.items():
            torch.testing.assert_close(td[t, "action"], a, rtol=0, atol=0)
        for t, o in ref_obs.items():
            torch.testing.assert_close(td[t, "observation"], o, rtol=0, atol=0)
        td = env.step(td)
        out = ref.step(actions)
        for t, r in out.rewards.items():
            torch.testing.assert_close(td["next", t, "reward"], r.unsqueeze(-1), rtol=0, atol=0)
        torch.testing.assert_close(td["next", "state"], ref.global_state(), rtol=0, atol=0)
        ref_obs = out.obs
        td = td["next"]


def test_the_horizon_terminates_a_finite_game_and_truncates_a_growth_economy() -> None:
    growth = growth_torchrl_env(GrowthConfig.preset("g1").replace(horizon=3), batch_size=2)
    td = growth.rollout(3)
    assert bool(td["next", "truncated"][:, -1].all()) and not bool(td["next", "terminated"].any())
    small = RBCConfig.paper("closed").override({"n_consumers": 3, "n_firms": 2, "horizon": 3})
    rbc = EconomyTorchRLEnv(BatchedEconomy(small, batch_size=2, seed=0))
    check_env_specs(rbc)
    td = rbc.rollout(3)
    assert bool(td["next", "terminated"][:, -1].all()) and not bool(td["next", "truncated"].any())
    assert td["government", "action"].shape == (2, 3, 1, 2)  # the agent axis is added


def test_partial_resets_and_foreign_objects_are_refused() -> None:
    env = growth_torchrl_env("g1", batch_size=2, seed=0)
    env.reset(TensorDict({"_reset": torch.ones(2, 1, dtype=torch.bool)}, batch_size=[2]))
    with pytest.raises(ValueError, match="_reset must flag every economy or none"):
        env.reset(TensorDict({"_reset": torch.tensor([[True], [False]])}, batch_size=[2]))
    with pytest.raises(ValueError, match="economy must implement rbc_env.Economy"):
        EconomyTorchRLEnv(object())
