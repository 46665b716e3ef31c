"""The env-runner sampler: real training, curriculum, masks, reward scaling, agreement with batched.

Timing: about 20-25 s on 2 CPU cores (four algorithms built in the shared Ray session).
"""

from __future__ import annotations

import math
import os

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("ray.rllib")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from ray.rllib.algorithms.algorithm import Algorithm  # noqa: E402
from ray.rllib.core import COMPONENT_RL_MODULE  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402
from ray.rllib.evaluation.postprocessing import Postprocessing  # noqa: E402

from tests.trainers import tiny_config  # noqa: E402
from trainers.config import EnvRunnerParams, PPOParams, TrainConfig  # noqa: E402
from trainers.curriculum import stage  # noqa: E402
from trainers.rllib import EnvRunnerPPO, build_config  # noqa: E402
from trainers.rllib.env_runner import (  # noqa: E402
    PerModuleGAE,
    RBCModuleEnv,
    ScaleRewards,
    apply_curriculum,
)
from trainers.rllib.modules import MASK_KEY, OBS_KEY  # noqa: E402
from trainers.run import metrics_row  # noqa: E402

TYPES = ("consumer", "firm", "government")
COUNTS = {"consumer": 4, "firm": 2, "government": 1}
TRACKED = ("reward/", "return/", "econ/", "curriculum/", "throughput/")

# One local Ray instance for the trainer tests (tests/trainers/conftest.py).
pytestmark = [
    pytest.mark.usefixtures("ray_session"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def _tiny_config(**changes) -> TrainConfig:
    """``tiny_config`` on the env-runner sampler: B = 4, two envs in the local EnvRunner."""
    env_runner = EnvRunnerParams(num_env_runners=0, envs_per_runner=2)
    defaults = {"sampler": "env_runner", "batch_size": 4, "env_runner": env_runner}
    return tiny_config(**{**defaults, **changes})


def _episodes_by_type(episodes) -> dict[str, list[float]]:
    """Per episode and type: the mean reward per step and agent."""
    out: dict[str, list[float]] = {t: [] for t in TYPES}
    for episode in episodes:
        sums = dict.fromkeys(TYPES, 0.0)
        steps = 0
        for aid, sa in episode.agent_episodes.items():
            sums[aid.rsplit("_", 1)[0]] += float(np.sum(sa.get_rewards()))
            steps = max(steps, len(sa))
        for t in TYPES:
            out[t].append(sums[t] / (steps * COUNTS[t]))
    return out


def _sample(algo: EnvRunnerPPO, episodes: int, chunk: int = 40) -> list:
    """``episodes`` complete episodes from the algorithm's local EnvRunner (exploring)."""
    out = []
    while len(out) < episodes:
        out += algo.env_runner.sample(num_episodes=min(chunk, episodes - len(out)), explore=True)
    return out


# ---- pieces without Ray algorithms -------------------------------------------------------
def test_scale_rewards_divides_each_module_by_its_scale():
    piece = ScaleRewards(scales={"consumer": 5.0, "firm": 30000.0})
    batch = {
        "consumer": {Columns.REWARDS: torch.tensor([5.0, -10.0])},
        "firm": {Columns.REWARDS: torch.tensor([30000.0, 60000.0])},
        "government": {Columns.REWARDS: torch.tensor([7.0])},
    }
    out = piece(rl_module=None, batch=batch, episodes=[])
    assert torch.equal(out["consumer"][Columns.REWARDS], torch.tensor([1.0, -2.0]))
    assert torch.equal(out["firm"][Columns.REWARDS], torch.tensor([1.0, 2.0]))
    assert torch.equal(out["government"][Columns.REWARDS], torch.tensor([7.0]))
    with pytest.raises(ValueError, match="> 0"):
        ScaleRewards(scales={"firm": 0.0})


def test_env_observations_follow_the_module_layout():
    tc = _tiny_config()
    env = RBCModuleEnv({"config": tc.economy.to_dict(), "action_masks": True, "iteration": 0})
    obs, _ = env.reset(seed=0)
    for aid, x in obs.items():
        space = env.observation_spaces[aid]
        assert space.contains(x), aid
        if aid.startswith("consumer"):
            assert isinstance(x, np.ndarray) and x.dtype == np.float32
        else:
            assert isinstance(space, gym.spaces.Dict) and set(x) == {OBS_KEY, MASK_KEY}
    mask = obs["firm_0"][MASK_KEY]
    assert mask.sum() == 2  # iteration 0: one price and one wage
    while env.agents:
        actions = {a: env.action_spaces[a].sample() for a in env.agents}
        obs, rewards, _, _, _ = env.step(actions)
    sums = env.episode_sums()
    assert sums["steps"] == tc.economy.horizon
    assert sums["reward/government"] == pytest.approx(sums["welfare_mean"], rel=1e-5)
    with pytest.raises(ValueError, match="action_masks"):
        RBCModuleEnv({"config": tc.economy.to_dict()})


def test_unsupported_reference_parity_is_refused():
    tc = _tiny_config()
    econ = tc.economy.override({"parity.returns": "reference"})
    with pytest.raises(NotImplementedError, match="ReferenceParity.returns"):
        build_config(tc.replace(economy=econ))


# ---- real training -------------------------------------------------------------------------
def test_training_metrics_checkpoint_and_resume(tmp_path):
    tc = _tiny_config()
    algo = build_config(tc).build_algo()
    assert isinstance(algo, EnvRunnerPPO)
    results = [algo.train() for _ in range(3)]
    rows = [metrics_row(r) for r in results]
    for row in rows:
        assert all(math.isfinite(v) for v in row.values()), row
    r0, _, r2 = results

    # The same metric names as the batched sampler, as top-level result keys.
    batched = build_config(tc.replace(sampler="batched")).build_algo()
    try:
        batched_names = {k for k in metrics_row(batched.train()) if k.startswith(TRACKED)}
    finally:
        batched.stop()
    assert batched_names <= set(rows[0]), batched_names - set(rows[0])
    assert "reward/consumer_mean" in r0 and "econ/price_mean" in r0

    # The curriculum: which types train, entropy per module, masks, taxes.
    assert "policy_loss" in r0["learners"]["consumer"]
    assert "policy_loss" not in r0["learners"].get("firm", {})
    assert "policy_loss" not in results[1]["learners"].get("government", {})
    assert all("policy_loss" in r2["learners"][t] for t in TYPES)
    for t in TYPES:
        assert r2["learners"][t]["curr_entropy_coeff"] == pytest.approx(
            r2[f"curriculum/entropy_coeff/{t}"]
        )
    assert [r["curriculum/iteration"] for r in results] == [0.0, 1.0, 2.0]
    assert r0["econ/price_mean"] == 1000.0  # the firm mask allows only p = 1000 at e = 0
    assert r0["econ/income_tax_mean"] == results[1]["econ/income_tax_mean"] == 0.0
    # Whole episodes: B economies of T steps per iteration.
    assert r0["env_runners"]["num_env_steps_sampled"] == tc.batch_size * tc.economy.horizon
    assert r0["env_runners"]["rbc_sums"]["episodes"] == tc.batch_size
    for t in TYPES:
        assert rows[0][f"reward/{t}_mean"] != rows[2][f"reward/{t}_mean"]
        # return = reward per step and agent x T x agents of the type
        assert rows[2][f"return/{t}_mean"] == pytest.approx(
            rows[2][f"reward/{t}_mean"] * tc.economy.horizon * COUNTS[t], rel=1e-9
        )

    # Checkpoint, restore, continue.
    path = algo.save_to_path(str(tmp_path / "ckpt"))
    weights = algo.learner_group.get_state(components="learner/rl_module")
    algo.stop()
    for name in ("rllib_checkpoint.json", "algorithm_state.pkl"):
        assert os.path.isfile(os.path.join(path, name))
    for t in TYPES:
        assert os.path.isdir(os.path.join(path, "learner_group", "learner", "rl_module", t))
    restored = Algorithm.from_checkpoint(path)
    try:
        assert isinstance(restored, EnvRunnerPPO)
        assert restored.iteration == 3 and restored.curriculum_stage.iteration == 3
        envs = restored.env_runner.env.unwrapped.envs
        assert [e.unwrapped.par_env.iteration for e in envs] == [3] * len(envs)
        again = restored.learner_group.get_state(components="learner/rl_module")
        for t in TYPES:
            saved = weights["learner"]["rl_module"][t]
            loaded = again["learner"]["rl_module"][t]
            assert all(np.array_equal(saved[k], loaded[k]) for k in saved)
        resumed = restored.train()
        assert resumed["training_iteration"] == 4 and resumed["curriculum/iteration"] == 3.0
        assert all(math.isfinite(v) for v in metrics_row(resumed).values())
    finally:
        restored.stop()


def _peaked_weights(template: dict, seed: int) -> dict:
    """Module weights drawn from ``seed`` (shapes from ``template``): logits with std ~3."""
    rng = np.random.default_rng(seed)
    out = {}
    for t in TYPES:
        out[t] = {}
        for key, value in template[t].items():
            policy = key.startswith("pi.")
            if key.endswith(".weight"):
                std = (3.0 if policy else 1.0) / math.sqrt(value.shape[1])
                value = rng.normal(0.0, std, value.shape)
            elif key.endswith(".bias"):
                value = rng.normal(0.0, 2.0, value.shape) if policy else np.zeros(value.shape)
            out[t][key] = np.asarray(value, dtype=template[t][key].dtype)
    return out


# ---- one pair of algorithms with the same weights -------------------------------------------
@pytest.fixture(scope="module")
def pair():
    """A BatchedPPO and an EnvRunnerPPO of one config, with the same (peaked) module weights.

    Distinct γ per type make the per-module discounting visible. The weights are drawn here
    (independent of RLlib's initialization order) with large policy logits, so that the
    policies are far from uniform; the fixture also yields a second such draw, to check that
    the agreement test tells different policies apart.
    """
    small = (32, 32)
    tc = _tiny_config(
        batch_size=400,
        env_runner=EnvRunnerParams(num_env_runners=0, envs_per_runner=4),
        consumer=PPOParams(lr=1e-3, reward_scale=5.0, gamma=0.9, hidden_sizes=small),
        firm=PPOParams(lr=1e-3, reward_scale=30000.0, gamma=0.8, hidden_sizes=small),
        government=PPOParams(lr=5e-5, reward_scale=1000.0, gamma=0.95, hidden_sizes=small),
    )
    batched = build_config(tc.replace(sampler="batched")).build_algo()
    runner = build_config(tc.replace(batch_size=4, seed=8)).build_algo()
    template = batched.learner_group.get_state(components="learner/rl_module")
    template = template["learner"]["rl_module"]
    peaked = _peaked_weights(template, seed=0)
    for algo in (batched, runner):
        algo.learner_group.set_state({"learner": {"rl_module": peaked}})
    batched.sync_rollout_module()
    # Push all weights (value heads too) to the EnvRunner, without a weights sequence number
    # (a plain sync_weights is skipped when the sequence numbers match).
    runner.env_runner.set_state({COMPONENT_RL_MODULE: peaked})
    yield tc, batched, runner, _peaked_weights(template, seed=1)
    batched.stop()
    runner.stop()


def test_pair_has_identical_weights(pair):
    _, batched, runner, _ = pair
    for t in TYPES:
        mine = runner.env_runner.module[t].state_dict()
        theirs = batched.rollout_module[t].state_dict()
        assert set(mine) <= set(theirs)
        for k, v in mine.items():
            assert torch.equal(v, theirs[k]), (t, k)


def test_env_runner_never_samples_a_masked_action(pair):
    tc, _, runner, _ = pair
    nvec = {"firm": (6, 5), "government": (6, 6)}
    for e in (0, 1):
        apply_curriculum(runner, e)
        masks = stage(tc.curriculum, e, tc.economy).masks
        for episode in _sample(runner, 12):
            for aid, sa in episode.agent_episodes.items():
                t = aid.rsplit("_", 1)[0]
                if t not in nvec:
                    continue
                actions = np.asarray(sa.get_actions()).reshape(-1, len(nvec[t]))
                offset = 0
                for h, n in enumerate(nvec[t]):
                    allowed = masks[t][offset : offset + n].numpy()
                    assert allowed[actions[:, h]].all(), (e, aid, h)
                    offset += n
                # the mask the module saw is the stage's
                seen = np.asarray(sa.get_observations()[MASK_KEY])
                assert (seen == masks[t].numpy().astype(np.int8)).all()


def test_reward_scaling_and_per_module_discounting_in_the_learner_pipeline(pair):
    tc, _, runner, _ = pair
    apply_curriculum(runner, 1)
    learner = runner.learner_group._learner
    pipeline = learner._learner_connector
    assert [type(p).__name__ for p in pipeline.connectors[-2:]] == ["ScaleRewards", "PerModuleGAE"]

    def run_pipeline() -> tuple[dict, dict[str, float]]:
        episodes = _sample(runner, 6)
        raw = dict.fromkeys(TYPES, 0.0)
        for episode in episodes:
            for aid, sa in episode.agent_episodes.items():
                raw[aid.rsplit("_", 1)[0]] += float(np.sum(sa.get_rewards()))
        batch = pipeline(rl_module=learner.module, batch={}, episodes=episodes, shared_data={})
        return batch, raw

    batch, raw = run_pipeline()
    for t in TYPES:
        ppo = tc.ppo(t)
        rewards = batch[t][Columns.REWARDS].double().numpy()
        targets = batch[t][Postprocessing.VALUE_TARGETS].double().numpy()
        real = batch[t][Columns.LOSS_MASK].numpy().astype(bool)
        # Scaled: the module's rewards sum to the raw rewards / reward_scale.
        assert rewards[real].sum() * ppo.reward_scale == pytest.approx(raw[t], rel=1e-4)
        # λ = 1: target_t = r_t / scale + γ_type · target_{t+1} inside an episode.
        inner = real[:-1] & real[1:]
        lhs = targets[:-1][inner] - ppo.gamma * targets[1:][inner]
        np.testing.assert_allclose(lhs, rewards[:-1][inner], rtol=1e-4, atol=1e-4)
        # Advantages are standardized over the real rows.
        adv = batch[t][Postprocessing.ADVANTAGES].double().numpy()[real]
        assert abs(adv.mean()) < 1e-5 and adv.std(ddof=1) == pytest.approx(1.0, abs=1e-3)

    # The paper's finite game (the default, no bootstrap at T): the last step's target is its
    # own (scaled) reward. (The batched sampler's test also shows the bootstrapped case.)
    gae = pipeline.connectors[-1]
    assert isinstance(gae, PerModuleGAE) and not gae.bootstrap_truncated
    assert not tc.bootstrap_truncated
    batch, _ = run_pipeline()
    for t in TYPES:
        real = batch[t][Columns.LOSS_MASK].numpy().astype(bool)
        last = real & ~np.append(real[1:], False)  # last real row of each episode
        targets = batch[t][Postprocessing.VALUE_TARGETS].numpy()
        rewards = batch[t][Columns.REWARDS].numpy()
        # float32: the target is rebuilt as A + V, so allow round-off of a few ulps of |V| ~ 1;
        # a bootstrapped target would be off by γ V, of order 1.
        np.testing.assert_allclose(targets[last], rewards[last], rtol=1e-5, atol=1e-5)


def test_samplers_agree_on_mean_rewards(pair):
    """Same weights, same curriculum stage: the per-type mean per-step reward of the batched
    rollout (B = 400 episodes) and of RLlib's EnvRunner (300 episodes) agree within 4 standard
    errors of their difference (SE from the per-episode means' sample variances)."""
    tc, batched, runner, other_weights = pair
    e = 1  # masks partly open, θ factor 0.39, the tax mask starts opening
    current = stage(tc.curriculum, e, tc.economy)
    buffers, _ = batched._rollout(current)
    horizon = tc.economy.horizon
    batch_means = {
        t: buf["rewards"].reshape(horizon, tc.batch_size, COUNTS[t]).double().mean((0, 2)).numpy()
        for t, buf in buffers.items()
    }
    apply_curriculum(runner, e)
    runner_means = {t: np.asarray(v) for t, v in _episodes_by_type(_sample(runner, 300)).items()}

    def z(a: np.ndarray, b: np.ndarray) -> float:
        se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
        return abs(a.mean() - b.mean()) / se

    for t in TYPES:
        assert z(batch_means[t], runner_means[t]) < 4.0, (
            t,
            batch_means[t].mean(),
            runner_means[t].mean(),
        )

    # Power: other weights of the same kind give distinguishable rewards on the same test.
    batched.rollout_module.set_state(other_weights)
    try:
        buffers, _ = batched._rollout(current)
    finally:
        batched.sync_rollout_module()
    other = {
        t: buf["rewards"].reshape(horizon, tc.batch_size, COUNTS[t]).double().mean((0, 2)).numpy()
        for t, buf in buffers.items()
    }
    assert min(z(other[t], runner_means[t]) for t in TYPES) > 8.0
