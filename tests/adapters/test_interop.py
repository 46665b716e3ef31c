"""Interop: SuperSuit wrappers and RLlib's stock PettingZoo wrapper run the env unchanged.

The SuperSuit limitations documented in docs/howto/interop.md are asserted too, so that a
SuperSuit release that lifts one makes a test fail and the page gets updated.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from pettingzoo.test import parallel_api_test

from rbc_env.adapters.pettingzoo import parallel_env

ss = pytest.importorskip("supersuit")


def small(**kwargs):
    return parallel_env(n_consumers=3, n_firms=2, **kwargs)


def rollout(env, seed=0):
    """Reset and step to the end with space samples; check obs in spaces; return rewards."""
    obs, _ = env.reset(seed=seed)
    for space in {id(env.action_space(a)): env.action_space(a) for a in env.agents}.values():
        space.seed(seed)
    rewards_seen = []
    while env.agents:
        actions = {a: env.action_space(a).sample() for a in env.agents}
        obs, rewards, _, _, _ = env.step(actions)
        for a, o in obs.items():
            assert env.observation_space(a).contains(o), a
        rewards_seen.append(rewards)
    return rewards_seen


# ---- SuperSuit -----------------------------------------------------------------------------------
@pytest.mark.filterwarnings("error")
def test_supersuit_parallel_wrappers_chain():
    """pad_observations, agent_indicator, dtype, clip_reward, frame_stack: API test, rollout."""
    padded = ss.agent_indicator_v0(ss.pad_observations_v0(small(variant="closed")), type_only=True)
    env = ss.frame_stack_v1(
        ss.clip_reward_v0(ss.dtype_v0(padded, np.float64), lower_bound=-1, upper_bound=1), 2
    )
    parallel_api_test(env, num_cycles=100)
    widest = small().observation_space("firm_0").shape[0]  # firms see the most features
    for a in env.possible_agents:
        space = env.observation_space(a)
        assert space.shape == (2 * (widest + 3),) and space.dtype == np.float64  # + type one-hot
    rewards = rollout(env)
    assert len(rewards) == 10
    assert all(-1 <= r <= 1 for step in rewards for r in step.values())


@pytest.mark.filterwarnings("error")
def test_supersuit_lambda_wrappers():
    """observation_lambda_v0 and reward_lambda_v0 apply per agent type."""
    env = ss.reward_lambda_v0(
        ss.observation_lambda_v0(small(), lambda obs, space: np.clip(obs, -5, 5)),
        lambda r: r / 1000,
    )
    reference = small()
    rewards = rollout(env, seed=1)
    expected = rollout(reference, seed=1)
    assert rewards[0]["firm_0"] == pytest.approx(expected[0]["firm_0"] / 1000)


def test_supersuit_vec_env_needs_homogeneous_action_spaces():
    """Limitation: the vector-env conversion needs one action space, and MultiDiscrete can't pad."""
    padded = ss.pad_observations_v0(small())
    with pytest.raises(AssertionError, match="action spaces not consistent"):
        ss.pettingzoo_env_to_vec_env_v1(padded)
    with pytest.raises(AssertionError, match="only supports Discrete and Box"):
        ss.pad_action_space_v0(small())


def test_supersuit_normalize_obs_needs_finite_bounds():
    """Limitation: normalize_obs_v0 refuses our unbounded observation boxes."""
    with pytest.raises(AssertionError, match="infinite bounds"):
        ss.normalize_obs_v0(small())


def test_supersuit_black_death_needs_termination():
    """Limitation: black_death_v3 ends an episode only when all agents terminate AND truncate."""
    env = ss.black_death_v3(small(horizon=2))
    env.reset(seed=0)
    for _ in range(2):
        env.step({a: env.action_space(a).sample() for a in env.possible_agents})
    assert env.agents  # it did not notice the truncation ...
    with pytest.raises(ValueError, match="call reset"):  # ... and steps past the horizon
        env.step({a: env.action_space(a).sample() for a in env.possible_agents})


# ---- RLlib ---------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("masks", [False, True], ids=["plain", "masked"])
def test_rllib_parallel_pettingzoo_env(masks):
    """RLlib's stock ParallelPettingZooEnv wraps the env; its checker and a full episode pass."""
    pytest.importorskip("ray.rllib")
    from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv
    from ray.rllib.utils.pre_checks.env import check_multiagent_environments

    par_env = small(action_masks=masks)
    env = ParallelPettingZooEnv(par_env)
    check_multiagent_environments(env)
    assert set(env.possible_agents) == set(par_env.possible_agents)
    assert env.get_observation_space("firm_1") is par_env.observation_space("firm_1")
    assert env.get_action_space("consumer_2") is par_env.action_space("consumer_2")

    obs, infos = env.reset(seed=5)
    assert set(obs) == set(infos) == set(par_env.possible_agents)
    steps = 0
    while True:
        actions = {a: env.get_action_space(a).sample() for a in obs}
        obs, rewards, terms, truncs, infos = env.step(actions)
        steps += 1
        assert all(isinstance(r, float) for r in rewards.values())
        for a, o in obs.items():
            assert env.get_observation_space(a).contains(o)
        if terms["__all__"] or truncs["__all__"]:
            break
    assert steps == par_env.config.horizon
    assert truncs["__all__"] and not terms["__all__"]
    assert par_env.agents == []


# ---- docs/howto/interop.md ---------------------------------------------------------------------
DOC = Path(__file__).resolve().parents[2] / "docs" / "howto" / "interop.md"
MARKER = "<!-- test: run -->"


def _doc_blocks() -> list[str]:
    """The python code blocks of the how-to that follow a ``<!-- test: run -->`` line."""
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(re.escape(MARKER) + r"\n```python\n(.*?)\n```", text, flags=re.S)
    assert len(blocks) == text.count(MARKER)  # every marker is followed by a python block
    return blocks


@pytest.mark.skipif(not DOC.exists(), reason="docs are not shipped with this checkout")
@pytest.mark.parametrize("index", range(3))
def test_howto_snippets_marked_tested_run(index, capsys):
    """Each snippet of docs/howto/interop.md marked as tested runs as written."""
    blocks = _doc_blocks()
    assert len(blocks) == 3
    code = blocks[index]
    if "ray" in code:
        pytest.importorskip("ray.rllib")
    exec(compile(code, f"{DOC.name}[{index}]", "exec"), {"__name__": "howto"})
