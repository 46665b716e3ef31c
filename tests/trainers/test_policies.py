"""trainers.policies: a kept checkpoint acting as the others of a per-type view."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import rbc_env
from rbc_env import BatchedEconomy
from trainers.policies import checkpoint_policy

ROOT = Path(__file__).resolve().parents[2]
KEPT = ROOT / "benchmarks" / "results" / "reproduce_paper_cpu" / "checkpoints" / "open_seed0"

pytestmark = pytest.mark.skipif(not KEPT.exists(), reason="the kept paper_cpu checkpoint is absent")


@pytest.fixture(scope="module")
def greedy():
    return checkpoint_policy(KEPT, greedy=True)


def test_policy_acts_in_the_core_layout_as_trained(greedy):
    """Actions have the core's shapes and ranges; the greedy firms post the trained outcome's
    high price (grid index >= 4, i.e. >= 2000 money/good, as docs/results.md reports 2337)."""
    assert (greedy.config.n_consumers, greedy.config.n_firms) == (100, 10)
    econ = BatchedEconomy(greedy.config, 3, seed=0)
    obs = econ.reset()
    actions = greedy(obs)
    nvec = rbc_env.core.action_nvec(greedy.config)
    assert actions["consumer"].shape == (3, 100, len(nvec["consumer"]))
    assert actions["firm"].shape == (3, 10, 2) and actions["government"].shape == (3, 2)
    for t, a in actions.items():
        assert a.dtype == torch.int64
        assert ((a >= 0) & (a < torch.tensor(nvec[t]))).all()
    assert actions["firm"][..., 0].float().mean() >= 4
    assert torch.equal(greedy(obs)["firm"], actions["firm"])  # greedy is deterministic


def test_sampled_actions_reproduce_per_seed():
    """Draws come from the policy's own generator: same seed, same actions; another seed
    differs."""
    econ = BatchedEconomy(checkpoint_policy(KEPT).config, 2, seed=0)
    obs = econ.reset()
    a = checkpoint_policy(KEPT, seed=1)(obs)["consumer"]
    b = checkpoint_policy(KEPT, seed=1)(obs)["consumer"]
    c = checkpoint_policy(KEPT, seed=2)(obs)["consumer"]
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_single_type_view_against_trained_others(greedy):
    """A per-type view plays firms against the trained consumers and government: an episode
    of the Gymnasium vector env runs, and the others' actions are the policy's."""
    seen = []

    def recording(obs):
        actions = greedy(obs)
        seen.append((set(obs), actions))
        return actions

    env = rbc_env.single_type_env(greedy.config, agent_type="firm", others=recording, batch_size=2)
    obs, _ = env.reset(seed=0)
    assert obs.shape == (20, env.single_observation_space.shape[0])
    for _ in range(greedy.config.horizon):
        obs, rewards, terminated, truncated, _ = env.step(env.action_space.sample())
    assert terminated.all() and np.isfinite(rewards).all()
    assert seen and all(types == {"consumer", "government"} for types, _ in seen)
    assert all((a["government"] == 0).all() for _, a in seen)  # the trained ~0% taxes


def test_wrong_economy_and_unknown_type_raise(greedy):
    """Observations of another economy size, or a type without a module, raise naming it."""
    small = BatchedEconomy(greedy.config.override({"n_firms": 2}), 1, seed=0).reset()
    with pytest.raises(ValueError, match="firm observations have .* features.*policy.config"):
        greedy({"firm": small["firm"]})
    with pytest.raises(ValueError, match="no trained module for agent type 'bank'"):
        greedy({"bank": small["firm"]})


def test_a_changed_checkpoint_is_refused_before_any_pickle_is_read(tmp_path, monkeypatch):
    """One changed byte in a module's pickle fails the SHA-256 manifest; nothing is loaded."""
    from ray.rllib.core.rl_module.rl_module import RLModule

    copy = tmp_path / "ckpt"
    shutil.copytree(KEPT, copy)
    target = copy / "learner_group" / "learner" / "rl_module" / "firm" / "module_state.pkl"
    data = bytearray(target.read_bytes())
    data[-1] ^= 0xFF
    target.write_bytes(bytes(data))

    def refuse(*args, **kwargs):
        raise AssertionError("a pickle was read before the manifest check")

    monkeypatch.setattr(RLModule, "from_checkpoint", refuse)
    with pytest.raises(ValueError, match="differs from its SHA-256"):
        checkpoint_policy(copy)
    with pytest.raises(ValueError, match="is not a folder"):
        checkpoint_policy(tmp_path / "absent")
