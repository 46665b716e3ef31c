"""The RLlib MultiAgentEnv adapter: RLlib checks, agent bookkeeping, curriculum, equivalence."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ray.rllib")

from ray.rllib.utils.pre_checks.env import check_multiagent_environments  # noqa: E402

from rbc_env import BatchedEconomy, RBCConfig  # noqa: E402
from rbc_env.adapters.rllib import RBCMultiAgentEnv, register  # noqa: E402

SMALL = {"n_consumers": 3, "n_firms": 2}


@pytest.mark.parametrize("variant", ["open", "closed"])
@pytest.mark.parametrize("masks", [False, True])
def test_rllib_checker_and_full_episode(variant: str, masks: bool) -> None:
    env = RBCMultiAgentEnv(
        {"config": RBCConfig.paper(variant), "overrides": SMALL, "action_masks": masks, "seed": 1}
    )
    check_multiagent_environments(env)
    obs, _ = env.reset(seed=3)
    assert env.agents == env.possible_agents == list(obs)
    assert env.possible_agents[0] == "consumer_0" and env.possible_agents[-1] == "government_0"
    steps = 0
    while True:
        actions = {a: env.action_spaces[a].sample() for a in env.agents}
        obs, rewards, terms, truncs, _ = env.step(actions)
        steps += 1
        assert set(rewards) == set(actions)
        assert all(np.isfinite(list(rewards.values())))
        if truncs["__all__"]:
            break
        assert not terms["__all__"]
    assert steps == env.par_env.config.horizon
    assert env.agents == []


def test_unknown_env_config_key_is_named() -> None:
    with pytest.raises(ValueError, match="unknown key.*'sed'"):
        RBCMultiAgentEnv({"sed": 1})


def test_iteration_sets_theta_factor_and_masks() -> None:
    env = RBCMultiAgentEnv({"overrides": SMALL, "action_masks": True, "iteration": 0})
    env.reset(seed=0)
    assert float(env.economy.state.theta.abs().max()) == 0.0  # f(0) = 0: no disutility yet
    obs, _ = env.reset()
    firm_mask = obs["firm_0"]["action_mask"]
    assert firm_mask.sum() == 2  # one price (1000) and one wage (22) at iteration 0
    env.set_iteration(None)
    obs, _ = env.reset()
    assert obs["firm_0"]["action_mask"].all()
    assert float(env.economy.state.theta.min()) > 0


def test_adapter_adds_no_economics() -> None:
    """The env's rewards equal the core's for the same actions."""
    config = RBCConfig.paper("open").override(SMALL)
    env = RBCMultiAgentEnv({"config": config, "seed": 0})
    econ = BatchedEconomy(config, batch_size=1, seed=0)
    env.reset()
    econ.reset()
    for _ in range(config.horizon):
        actions = econ.sample_actions()
        out = econ.step(actions)
        per_agent = {f"consumer_{i}": actions["consumer"][0, i].numpy() for i in range(3)}
        per_agent |= {f"firm_{j}": actions["firm"][0, j].numpy() for j in range(2)}
        per_agent["government_0"] = actions["government"][0].numpy()
        _, rewards, _, _, _ = env.step(per_agent)
        assert rewards["government_0"] == pytest.approx(float(out.rewards["government"][0]))
        assert rewards["firm_1"] == pytest.approx(float(out.rewards["firm"][0, 1]))
        assert rewards["consumer_2"] == pytest.approx(float(out.rewards["consumer"][0, 2]))


def test_register_returns_name() -> None:
    assert register("rbc_test") == "rbc_test"
