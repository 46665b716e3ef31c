"""Agent ids and the per-agent dict <-> per-type tensor conversions (B = 1)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from rbc_env import BatchedEconomy, RBCConfig
from rbc_env.adapters.agents import (
    actions_from_agent_dict,
    actions_to_agent_dict,
    agent_index,
    agent_type_of,
    obs_from_agent_dict,
    obs_to_agent_dict,
    possible_agents,
    rewards_from_agent_dict,
    rewards_to_agent_dict,
)
from rbc_env.core import AGENT_TYPES

SMALL = RBCConfig(n_consumers=3, n_firms=2)


def test_ids_are_typed_and_ordered():
    """Ids are consumer_i, firm_j, government_0 in type order, numerically sorted."""
    config = RBCConfig(n_consumers=12, n_firms=2)
    ids = possible_agents(config)
    assert ids[:3] == ["consumer_0", "consumer_1", "consumer_2"]
    assert ids[11] == "consumer_11"
    assert ids[12:] == ["firm_0", "firm_1", "government_0"]
    assert agent_index(config).position["firm_1"] == ("firm", 1)
    assert agent_type_of(config, "consumer_11") == "consumer"


@pytest.mark.parametrize("bad", ["consumer_3", "firm_2", "government_1", "planner_0", "", 7])
def test_unknown_id_raises_naming_it(bad):
    """An id outside the economy raises ValueError with the id in the message."""
    with pytest.raises(ValueError, match=f"unknown agent id {bad!r}"):
        agent_type_of(SMALL, bad)


@given(
    c=st.integers(1, 7),
    f=st.integers(1, 5),
    seed=st.integers(0, 2**31),
    dtype=st.sampled_from(["float32", "float64"]),
)
def test_round_trip_obs_rewards_actions(c, f, seed, dtype):
    """per-type -> per-agent -> per-type is the identity for obs, rewards and actions."""
    config = RBCConfig(n_consumers=c, n_firms=f, dtype=dtype)
    econ = BatchedEconomy(config, batch_size=1, seed=seed)
    obs = econ.reset()
    actions = econ.sample_actions()
    out = econ.step(actions)
    torch_dtype = out.obs["consumer"].dtype

    per_agent_obs = obs_to_agent_dict(config, obs)
    assert list(per_agent_obs) == possible_agents(config)
    assert per_agent_obs["consumer_0"].shape == obs["consumer"].shape[-1:]
    back = obs_from_agent_dict(config, per_agent_obs, dtype=torch_dtype)
    for t in AGENT_TYPES:
        torch.testing.assert_close(back[t], obs[t], rtol=0, atol=0)

    rewards = rewards_to_agent_dict(config, out.rewards)
    assert all(type(v) is float for v in rewards.values())
    back = rewards_from_agent_dict(config, rewards, dtype=torch_dtype)
    for t in AGENT_TYPES:
        torch.testing.assert_close(back[t], out.rewards[t], rtol=0, atol=0)

    per_agent_actions = actions_to_agent_dict(config, actions)
    assert per_agent_actions["government_0"].dtype == np.int64
    back = actions_from_agent_dict(config, per_agent_actions)
    for t in AGENT_TYPES:
        assert back[t].dtype == torch.int64
        torch.testing.assert_close(back[t], actions[t], rtol=0, atol=0)


def test_per_agent_values_follow_the_agent_axis():
    """consumer_i gets row i of the consumer tensor; the government gets its single row."""
    obs = {
        "consumer": torch.arange(6.0).reshape(1, 3, 2),
        "firm": torch.arange(4.0).reshape(1, 2, 2) + 100,
        "government": torch.tensor([[7.0, 8.0]]),
    }
    out = obs_to_agent_dict(SMALL, obs)
    np.testing.assert_array_equal(out["consumer_2"], [4.0, 5.0])
    np.testing.assert_array_equal(out["firm_1"], [102.0, 103.0])
    np.testing.assert_array_equal(out["government_0"], [7.0, 8.0])
    rewards = rewards_to_agent_dict(
        SMALL,
        {
            "consumer": np.array([[1.0, 2.0, 3.0]]),
            "firm": np.array([[4.0, 5.0]]),
            "government": np.array([6.0]),
        },
    )
    assert rewards == {
        "consumer_0": 1.0,
        "consumer_1": 2.0,
        "consumer_2": 3.0,
        "firm_0": 4.0,
        "firm_1": 5.0,
        "government_0": 6.0,
    }


def test_per_type_values_with_wrong_batch_or_count_raise():
    """A batch axis other than 1, or the wrong number of agents, raises ValueError."""
    good = {"firm": torch.zeros(1, 2, 3), "government": torch.zeros(1, 3)}
    with pytest.raises(ValueError, match="batch axis of size 1"):
        obs_to_agent_dict(SMALL, {**good, "consumer": torch.zeros(2, 3, 3)})
    with pytest.raises(ValueError, match="3 agent"):
        obs_to_agent_dict(SMALL, {**good, "consumer": torch.zeros(1, 4, 3)})
    with pytest.raises(ValueError, match="missing agent type 'consumer'"):
        obs_to_agent_dict(SMALL, good)


def _zeros_actions(config: RBCConfig) -> dict[str, np.ndarray]:
    heads = {"consumer": config.n_firms + 2, "firm": 2, "government": 2}
    return {
        a: np.zeros(heads[agent_type_of(config, a)], dtype=np.int64)
        for a in possible_agents(config)
    }


def test_actions_accept_lists_and_any_integer_dtype():
    """Python int sequences and int32/uint8 arrays are accepted and become int64."""
    actions = _zeros_actions(SMALL)
    actions["consumer_0"] = [1, 2, 3, 1]
    actions["firm_1"] = np.array([5, 4], dtype=np.uint8)
    actions["government_0"] = np.array([1, 2], dtype=np.int32)
    out = actions_from_agent_dict(SMALL, actions)
    assert out["consumer"].shape == (1, 3, 4) and out["firm"].shape == (1, 2, 2)
    assert out["government"].tolist() == [[1, 2]]
    assert out["consumer"][0, 0].tolist() == [1, 2, 3, 1]


def test_missing_agent_raises_naming_it():
    """Each missing id is named (and long lists are shortened)."""
    actions = _zeros_actions(SMALL)
    del actions["consumer_1"]
    with pytest.raises(ValueError, match=r"missing agent id\(s\) \['consumer_1'\]"):
        actions_from_agent_dict(SMALL, actions)
    big = RBCConfig(n_consumers=20, n_firms=2)
    with pytest.raises(ValueError, match="and 14 more"):
        actions_from_agent_dict(big, {"government_0": np.zeros(2, dtype=np.int64)})


def test_unknown_agent_raises_naming_it():
    """Extra ids (wrong index or type) are named."""
    actions = _zeros_actions(SMALL)
    actions["consumer_3"] = np.zeros(4, dtype=np.int64)
    actions["bank_0"] = np.zeros(2, dtype=np.int64)
    with pytest.raises(ValueError, match=r"unknown agent id\(s\) \['consumer_3', 'bank_0'\]"):
        actions_from_agent_dict(SMALL, actions)


@pytest.mark.parametrize(
    ("agent", "value", "match"),
    [
        ("firm_0", [6, 0], r"'firm_0': head 'price' must be in \[0, 5\]; got 6"),
        (
            "government_0",
            [0, -1],
            r"'government_0': head 'corporate_tax' must be in \[0, 5\]; got -1",
        ),
        ("consumer_2", [0, 0, 0, 2], r"'consumer_2': head 'employer' must be in \[0, 1\]; got 2"),
        ("consumer_1", [0, 11, 0, 0], r"'consumer_1': head 'units\[good 1\]' must be in \[0, 10\]"),
        (
            "firm_1",
            [1, 2, 3],
            r"'firm_1' must be a sequence of 2 integer indices.*got shape \(3,\)",
        ),
        ("firm_1", 3, r"'firm_1' must be a sequence of 2 integer indices.*got shape \(\)"),
        ("firm_1", [1.0, 2.0], r"'firm_1' must hold integer indices; got dtype float64"),
        (
            "government_0",
            np.array([True, False]),
            r"'government_0' must hold integer indices; got dtype bool",
        ),
        ("consumer_0", [[0, 0, 0, 0]], r"'consumer_0' must be a sequence of 4 integer indices"),
    ],
)
def test_bad_action_values_raise_naming_agent(agent, value, match):
    """Out-of-range, wrongly shaped and non-integer actions name the agent (and head)."""
    actions = _zeros_actions(SMALL)
    actions[agent] = value
    with pytest.raises(ValueError, match=match):
        actions_from_agent_dict(SMALL, actions)


def test_actions_must_be_a_mapping():
    """A list of actions is not an action dict."""
    with pytest.raises(ValueError, match="dict keyed by agent id"):
        actions_from_agent_dict(SMALL, [np.zeros(2)])  # type: ignore[arg-type]
