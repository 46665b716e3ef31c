"""BatchedPPO end to end: a real short training, masks, checkpoints and an exact resume."""

from __future__ import annotations

import dataclasses
import math
import os
import threading

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("ray.rllib")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from ray.rllib.algorithms.algorithm import Algorithm  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402
from ray.rllib.core.distribution.torch.torch_distribution import (  # noqa: E402
    TorchMultiCategorical,
)
from ray.rllib.evaluation.postprocessing import Postprocessing  # noqa: E402

from rbc_env.perf import freed_memory_kept, keep_freed_memory  # noqa: E402
from tests.trainers import TYPES, learner_weights, tiny_config, tracked  # noqa: E402
from trainers.config import EnvRunnerParams, TrainConfig  # noqa: E402
from trainers.curriculum import stage  # noqa: E402
from trainers.rllib import BatchedPPO, build_config, module_spaces  # noqa: E402
from trainers.rllib.batched import gae, reference_returns, sample_multi_discrete  # noqa: E402
from trainers.rllib.modules import (  # noqa: E402
    MASK_KEY,
    OBS_KEY,
    FactorizedCategorical,
    MaskedPPOTorchRLModule,
    grouped_log_probs,
    head_groups,
    mode_actions,
)


def _tiny_config() -> TrainConfig:
    """4 consumers, 2 firms, B = 8, T = 5; firms train from iteration 1, government from 2."""
    return tiny_config()


# One local Ray instance for the trainer tests (tests/trainers/conftest.py).
pytestmark = pytest.mark.usefixtures("ray_session")


def _monitor_threads() -> list[threading.Thread]:
    """Live threads of Tune's system-usage monitor (one per Algorithm with log_sys_usage)."""
    return [t for t in threading.enumerate() if type(t).__name__ == "UtilMonitor"]


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_training_checkpoint_and_exact_resume(tmp_path):
    tc = _tiny_config()
    algo = build_config(tc).build_algo()
    assert isinstance(algo, BatchedPPO)
    assert not _monitor_threads()  # no resource monitor: stop() would wait up to 0.7 s for it
    r0, r1 = algo.train(), algo.train()
    path = algo.save_to_path(str(tmp_path / "ckpt"))
    r2 = algo.train()
    algo.stop()

    results = [tracked(r) for r in (r0, r1, r2)]
    for r in results:
        assert all(math.isfinite(v) for v in r.values()), r
    # The curriculum: who trains, entropy per module, masks at iteration 0.
    assert set(r0["learners"]) >= {"consumer"} and "policy_loss" not in r0["learners"].get(
        "firm", {}
    )
    assert all("policy_loss" in r2["learners"][t] for t in TYPES)
    for t in TYPES:
        assert r2["learners"][t]["curr_entropy_coeff"] == pytest.approx(
            r2[f"curriculum/entropy_coeff/{t}"]
        )
        rows = tc.batch_size * tc.economy.horizon * {"consumer": 4, "firm": 2, "government": 1}[t]
        assert r2["learners"][t]["num_module_steps_trained"] == tc.num_epochs * rows
    assert r0["econ/price_mean"] == 1000.0  # the firm mask allows only p = 1000 at e = 0
    assert r0["econ/income_tax_mean"] == r1["econ/income_tax_mean"] == 0.0
    # Per-type returns change over the run (policies, θ factor and masks all move).
    for t in TYPES:
        assert r0[f"reward/{t}_mean"] != r2[f"reward/{t}_mean"]

    # The checkpoint holds RLlib's layout and a folder per module.
    for name in ("rllib_checkpoint.json", "algorithm_state.pkl"):
        assert os.path.isfile(os.path.join(path, name))
    for t in TYPES:
        assert os.path.isdir(os.path.join(path, "learner_group", "learner", "rl_module", t))

    restored = Algorithm.from_checkpoint(path)
    assert isinstance(restored, BatchedPPO)
    assert not _monitor_threads()
    assert restored.iteration == 2 and restored.curriculum_iteration == 2
    resumed = restored.train()
    assert tracked(resumed) == results[2]  # bit-identical on CPU
    again = restored.train()
    assert again["training_iteration"] == 4 and again["curriculum/iteration"] == 3.0
    restored.stop()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_rollout_never_samples_a_masked_action():
    tc = _tiny_config().replace(batch_size=64)
    algo = build_config(tc).build_algo()
    try:
        algo.sync_rollout_module()
        for e in (0, 1):
            current = stage(tc.curriculum, e, tc.economy)
            buffers, _ = algo._rollout(current)
            for t in ("firm", "government"):
                nvec = algo.heads[t].nvec
                mask = current.masks[t]
                actions = buffers[t]["actions"].reshape(-1, len(nvec))
                offset = 0
                for h, n in enumerate(nvec):
                    allowed = mask[offset : offset + n]
                    assert bool(allowed[actions[:, h]].all()), (e, t, h)
                    offset += n
                assert bool(torch.isfinite(buffers[t]["logp"]).all())
    finally:
        algo.stop()


def _masked_module(seed: int = 0) -> tuple[MaskedPPOTorchRLModule, gym.spaces.Dict]:
    obs_space, act_space = module_spaces(_tiny_config().economy)["firm"]
    torch.manual_seed(seed)
    module = MaskedPPOTorchRLModule(
        observation_space=obs_space,
        action_space=act_space,
        model_config={"fcnet_hiddens": [16], "vf_share_layers": True},
    )
    return module, obs_space


def _random_rows(obs_space: gym.spaces.Dict, n: int, rng: np.random.Generator) -> dict:
    obs = torch.as_tensor(rng.standard_normal((n, *obs_space[OBS_KEY].shape)), dtype=torch.float32)
    mask = torch.as_tensor(rng.random((n, obs_space[MASK_KEY].shape[0])) < 0.4)
    mask[:, 0] = True  # every head keeps at least one allowed choice
    mask[:, 6] = True
    return {Columns.OBS: {OBS_KEY: obs, MASK_KEY: mask.to(torch.int8)}}


def test_module_masks_exploration_and_training_passes():
    module, obs_space = _masked_module()
    rng = np.random.default_rng(0)
    batch = _random_rows(obs_space, 4000, rng)
    mask = batch[Columns.OBS][MASK_KEY].bool()
    nvec = tuple(int(n) for n in module.action_space.nvec)

    with torch.no_grad():
        out = module.forward_exploration(batch)
    dist = module.get_exploration_action_dist_cls().from_logits(out[Columns.ACTION_DIST_INPUTS])
    actions = dist.sample()
    head_a = mask[:, : nvec[0]].gather(1, actions[:, :1])
    head_b = mask[:, nvec[0] :].gather(1, actions[:, 1:])
    assert bool(head_a.all()) and bool(head_b.all())

    # The same masks apply in the training pass, so the PPO loss never sees masked actions.
    train_out = module.forward_train(batch)
    logits = train_out[Columns.ACTION_DIST_INPUTS]
    assert bool((logits[~mask] == torch.finfo(logits.dtype).min).all())
    train_dist = module.get_train_action_dist_cls().from_logits(logits)
    logp = train_dist.logp(actions)
    entropy = train_dist.entropy()
    assert bool(torch.isfinite(logp).all()) and bool(torch.isfinite(entropy).all())
    (logp.mean() + entropy.mean()).backward()
    for p in module.parameters():
        assert p.grad is None or bool(torch.isfinite(p.grad).all())

    # The batched sampler's draw honours the same masks.
    gen = torch.Generator().manual_seed(1)
    drawn, drawn_logp = sample_multi_discrete(logits.detach(), nvec, gen)
    assert bool(mask[:, : nvec[0]].gather(1, drawn[:, :1]).all())
    assert bool(mask[:, nvec[0] :].gather(1, drawn[:, 1:]).all())
    torch.testing.assert_close(drawn_logp, train_dist.logp(drawn).detach())


def test_factorized_categorical_equals_rllibs_multicategorical():
    nvec = (11, 11, 5, 4)
    logits = torch.randn(64, sum(nvec), dtype=torch.float64)
    other = torch.randn(64, sum(nvec), dtype=torch.float64)
    ours = FactorizedCategorical.from_logits(logits, nvec=nvec)
    theirs = TorchMultiCategorical.from_logits(logits, input_lens=list(nvec))
    actions = theirs.sample()
    torch.testing.assert_close(ours.logp(actions), theirs.logp(actions))
    torch.testing.assert_close(ours.entropy(), theirs.entropy())
    torch.testing.assert_close(
        ours.kl(FactorizedCategorical.from_logits(other, nvec=nvec)),
        theirs.kl(TorchMultiCategorical.from_logits(other, input_lens=list(nvec))),
    )
    heads = torch.split(logits, list(nvec), dim=-1)
    modes = torch.stack([h.argmax(-1) for h in heads], dim=-1)
    assert torch.equal(ours.to_deterministic().loc, modes)
    assert torch.equal(mode_actions(logits, nvec), modes)
    with pytest.raises(ValueError, match="nvec"):
        FactorizedCategorical.from_logits(logits, nvec=(3, 3))


def test_minus_infinity_logits_act_as_masked_ones():
    """A -inf logit (torch's own masking convention) gives what the smallest float gives:
    finite log-probabilities, entropy, KL and gradients, 0 · log 0 counted as 0."""
    nvec = (4, 4, 3)
    logits = torch.randn(32, sum(nvec), dtype=torch.float64)
    masked = torch.zeros(sum(nvec), dtype=torch.bool)
    masked[[1, 6, 9]] = True
    results = []
    for fill in (-torch.inf, torch.finfo(torch.float64).min):
        x = logits.masked_fill(masked, fill).requires_grad_(True)
        dist = FactorizedCategorical.from_logits(x, nvec=nvec)
        other = FactorizedCategorical.from_logits(x.detach().flip(0), nvec=nvec)
        actions = torch.zeros(32, len(nvec), dtype=torch.long)
        entropy, logp, kl = dist.entropy(), dist.logp(actions), dist.kl(other)
        (entropy.sum() + logp.sum()).backward()
        assert all(bool(torch.isfinite(v).all()) for v in (entropy, logp, kl, x.grad))
        results.append((entropy, logp, kl, x.grad))
    for a, b in zip(*results, strict=True):
        assert torch.equal(a, b)
    reference = TorchMultiCategorical.from_logits(
        logits.masked_fill(masked, -torch.inf), input_lens=list(nvec)
    )
    torch.testing.assert_close(results[0][0], reference.entropy())


def test_sampler_draws_each_head_from_its_softmax_and_never_a_masked_choice():
    nvec = (3, 3, 4)
    head_logits = torch.tensor([0.5, -1.0, 2.0, 1.0, 1.0, 1.0, 0.0, 3.0, -2.0, 0.7])
    head_logits[[2, 9]] = torch.finfo(torch.float32).min  # the heads' last choices masked
    rows = 200_000
    logits = head_logits.expand(rows, -1)
    drawn, logp = sample_multi_discrete(logits, nvec, torch.Generator().manual_seed(0))
    offset = 0
    for h, n in enumerate(nvec):
        probs = torch.softmax(head_logits[offset : offset + n].double(), -1)
        freq = torch.bincount(drawn[:, h], minlength=n).double() / rows
        assert float((freq - probs).abs().max()) < 0.005, (h, freq, probs)
        offset += n
    assert not bool((drawn[:, 0] == 2).any()) and not bool((drawn[:, 2] == 3).any())
    torch.testing.assert_close(logp, FactorizedCategorical(logits, nvec).logp(drawn))


def test_equal_width_heads_are_grouped_into_views_of_the_logits():
    """Runs of equal-width heads share one [N, h, n] block; widths that recur apart do not."""
    assert head_groups((11, 11, 11, 5, 10)) == ((0, 3, 11), (3, 1, 5), (4, 1, 10))
    assert head_groups((3, 5, 3)) == ((0, 1, 3), (1, 1, 5), (2, 1, 3))
    nvec = (3, 5, 3, 3)
    logits = torch.randn(7, sum(nvec), dtype=torch.float64)
    groups = grouped_log_probs(logits, nvec)
    assert [tuple(g.shape) for g in groups] == [(7, 1, 3), (7, 1, 5), (7, 2, 3)]
    flat = torch.cat([g.flatten(-2) for g in groups], dim=-1)
    per_head = torch.cat(
        [torch.log_softmax(h, -1) for h in torch.split(logits, list(nvec), dim=-1)], dim=-1
    )
    torch.testing.assert_close(flat, per_head)


def test_gae_is_the_bootstrapped_discounted_return_at_lambda_one():
    gen = torch.Generator().manual_seed(0)
    rewards = torch.rand(6, 3, generator=gen, dtype=torch.float64)
    values = torch.rand(7, 3, generator=gen, dtype=torch.float64)
    gamma = 0.9
    adv, targets = gae(rewards, values, gamma=gamma, lambda_=1.0)
    for t in range(6):
        ret = sum(gamma**k * rewards[t + k] for k in range(6 - t)) + gamma ** (6 - t) * values[6]
        torch.testing.assert_close(targets[t], ret)
        torch.testing.assert_close(adv[t], ret - values[t])
    adv0, _ = gae(rewards, values, gamma=gamma, lambda_=0.0)
    torch.testing.assert_close(adv0, rewards + gamma * values[1:] - values[:-1])


def test_module_spaces_mask_only_firms_and_the_government():
    spaces = module_spaces(_tiny_config().economy)
    assert isinstance(spaces["consumer"][0], gym.spaces.Box)
    for t in ("firm", "government"):
        obs, act = spaces[t]
        assert isinstance(obs, gym.spaces.Dict) and set(obs.spaces) == {OBS_KEY, MASK_KEY}
        assert obs[MASK_KEY].shape == (int(act.nvec.sum()),)
    assert list(spaces["consumer"][1].nvec) == [11, 11, 5, 2]


def test_reference_returns_use_gamma_once_on_the_undiscounted_tail():
    rewards = torch.tensor([[1.0], [2.0], [4.0]], dtype=torch.float64)
    expected = torch.tensor([[1.0 + 0.5 * 6.0], [2.0 + 0.5 * 4.0], [4.0]], dtype=torch.float64)
    torch.testing.assert_close(reference_returns(rewards, 0.5), expected)


def test_unimplemented_parity_switches_raise():
    tc = _tiny_config()
    tc = tc.replace(economy=tc.economy.override({"parity.sampling": "fixed_quantile"}))
    with pytest.raises(NotImplementedError, match="ReferenceParity.sampling"):
        build_config(tc).build_algo()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_frozen_modules_are_not_trained():
    """policies_to_train switched on the learner (a best-response run) is honoured."""
    algo = build_config(_tiny_config()).build_algo()
    try:
        algo.learner_group.foreach_learner(
            lambda learner: learner.config.multi_agent(policies_to_train=["government"])
        )
        before = algo.learner_group.get_state(components="learner/rl_module")
        result = algo.train()  # iteration 0: the curriculum trains consumers only
        after = algo.learner_group.get_state(components="learner/rl_module")
        consumer_before = before["learner"]["rl_module"]["consumer"]
        consumer_after = after["learner"]["rl_module"]["consumer"]
        for key, value in consumer_before.items():
            np.testing.assert_array_equal(value, consumer_after[key])
        assert "policy_loss" not in result.get("learners", {}).get("consumer", {})
        assert math.isfinite(result["reward/consumer_mean"])
    finally:
        algo.stop()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_finite_game_value_target_at_the_last_period_is_the_last_reward():
    """The default is the paper's finite game: no bootstrap at T (docs/model.md, conflicts)."""
    tc = _tiny_config()
    assert not tc.bootstrap_truncated
    for bootstrap in (False, True):
        algo = build_config(tc.replace(bootstrap_truncated=bootstrap)).build_algo()
        try:
            algo.sync_rollout_module()
            current = stage(tc.curriculum, 2, tc.economy)
            buffers, _ = algo._rollout(current)
            rewards = {t: buffers[t]["rewards"].clone() for t in buffers}
            batch = algo._train_batch(tuple(buffers), current, buffers, 1)
            for t, sample in batch.policy_batches.items():
                horizon = tc.economy.horizon
                targets = torch.as_tensor(sample[Postprocessing.VALUE_TARGETS]).reshape(horizon, -1)
                last = rewards[t][-1] / tc.ppo(t).reward_scale
                gap = (targets[-1] - last).abs().max().item()
                if bootstrap:
                    assert gap > 1e-4, t  # γ V(s_T) was added
                else:
                    assert gap < 1e-5, t
        finally:
            algo.stop()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_type_level_deviation_trains_on_the_types_mean_reward():
    """Every consumer's reward in a type-level deviation is the type's mean at that step
    (J_type's gradient); with objective='own' the rewards are each agent's own."""
    tc = _tiny_config()
    n, b, h = tc.economy.n_consumers, tc.batch_size, tc.economy.horizon
    spread = {}
    for objective in ("type", "own"):
        dev = tc.override({"deviation.agent_type": "consumer", "deviation.objective": objective})
        algo = build_config(dev).build_algo()
        try:
            algo.sync_rollout_module()
            buffers, _ = algo._rollout(algo.stage_of(0))
            r = buffers["consumer"]["rewards"].reshape(h, b, n)
            spread[objective] = float((r - r.mean(-1, keepdim=True)).abs().max())
        finally:
            algo.stop()
    assert spread["type"] < 1e-5
    assert spread["own"] > 1e-3


def _train_twice(
    tc: TrainConfig,
) -> tuple[list[dict], list[dict[str, dict[str, np.ndarray]]], list[tuple[int, bool]]]:
    """Two iterations; then every learner's weights, and its torch threads and whether it
    keeps freed memory (``rbc_env.perf``)."""
    algo = build_config(tc).build_algo()
    try:
        results = [algo.train(), algo.train()]
        facts = algo.learner_group.foreach_learner(
            lambda _: (torch.get_num_threads(), freed_memory_kept())
        )
        return results, learner_weights(algo), [tuple(r.get()) for r in facts]
    finally:
        algo.stop()


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_data_parallel_learners_average_gradients_and_one_remote_learner_is_today():
    """Two CPU learner actors stay in sync; one remote learner is the in-driver learner.

    With num_learners = 2 the gradients are all-reduced, so both learners hold the same
    weights; one remote learner gives the in-driver learner's weights bit for bit, and two
    learners do not (each learner's minibatch is half as big). Bit for bit at equal torch
    thread counts: Ray starts a one-CPU actor with one thread, and on AVX2 CPUs the matrix
    products of one and two threads differ in the last bits (measured: 10 of 2,432 weights
    of one layer, relative 1e-7), so the test gives the remote learner the driver's threads
    through ``cpus_per_learner``.
    """
    keep_freed_memory()  # as the CLI does: the learner actors follow the driver
    tc = dataclasses.replace(_tiny_config(), num_learners=2)
    results, learners, actors = _train_twice(tc)
    assert len(learners) == 2
    assert actors == [(1, True), (1, True)]  # one CPU each: cpus_per_learner's default
    for m in ("consumer", "firm"):
        for key, value in learners[0][m].items():
            np.testing.assert_array_equal(value, learners[1][m][key], err_msg=f"{m} {key}")
    assert all(math.isfinite(v) for r in results for v in tracked(r).values())
    rows = tc.batch_size * tc.economy.horizon * 4
    # Each learner trains on its half of the consumers' rows, num_epochs passes.
    assert results[1]["learners"]["consumer"]["num_module_steps_trained"] == tc.num_epochs * rows

    _, local, _ = _train_twice(_tiny_config())
    threads = torch.get_num_threads()
    remote_tc = dataclasses.replace(_tiny_config(), num_learners=1, cpus_per_learner=threads)
    _, remote, actors = _train_twice(remote_tc)
    assert actors == [(threads, True)]
    assert len(local) == len(remote) == 1
    moved = False
    for m in TYPES:
        for key, value in local[0][m].items():
            np.testing.assert_array_equal(value, remote[0][m][key], err_msg=f"{m} {key}")
            moved |= not np.array_equal(value, learners[0][m][key])
    assert moved  # two learners on half batches each do not reproduce the single learner


def test_learner_actors_that_cannot_run_are_refused():
    """Learner actors Ray could not place, or the env-runner sampler could not use, raise.

    Ray would wait forever to place a third learner, or two of 2 CPUs each, or one of 3 CPUs,
    on the 2-CPU test cluster (one node); the env-runner
    sampler's sharded update fails inside RLlib 2.60.
    """
    with pytest.raises(ValueError, match=r"num_learners must be at most the Ray cluster's CPUs"):
        build_config(dataclasses.replace(_tiny_config(), num_learners=3))
    with pytest.raises(ValueError, match=r"\(2: cpus_per_learner = 2 per learner actor\); got 2"):
        build_config(dataclasses.replace(_tiny_config(), num_learners=2, cpus_per_learner=2))
    with pytest.raises(ValueError, match=r"cpus_per_learner must be at most the CPUs of the .* 3"):
        build_config(dataclasses.replace(_tiny_config(), num_learners=1, cpus_per_learner=3))
    with pytest.raises(NotImplementedError, match="num_learners > 0"):
        build_config(dataclasses.replace(_tiny_config(), sampler="env_runner", num_learners=1))
    # The same for remote EnvRunners (one CPU each).
    too_many = EnvRunnerParams(num_env_runners=3, envs_per_runner=1)
    with pytest.raises(ValueError, match=r"env_runner.num_env_runners must be at most"):
        build_config(dataclasses.replace(_tiny_config(), sampler="env_runner", env_runner=too_many))


def _consumer_weights_after_one_iteration(tc: TrainConfig) -> dict[str, np.ndarray]:
    algo = build_config(tc).build_algo()
    try:
        algo.train()
        return algo.learner_group.get_state(components="learner/rl_module")["learner"]["rl_module"][
            "consumer"
        ]
    finally:
        algo.stop()


def test_bf16_autocast_trains_in_lower_precision_and_fp32_is_the_default():
    """precision='bf16' changes the update (linear layers in bf16) and keeps it finite."""
    tc = _tiny_config()
    assert tc.precision == "fp32" and not tc.compile
    fp32 = _consumer_weights_after_one_iteration(tc)
    bf16 = _consumer_weights_after_one_iteration(tc.replace(precision="bf16"))
    assert set(fp32) == set(bf16)
    assert all(np.isfinite(v).all() and v.dtype == np.float32 for v in bf16.values())
    assert any(not np.array_equal(fp32[k], bf16[k]) for k in fp32)
    with pytest.raises(ValueError, match="precision"):
        tc.replace(precision="fp16")


def test_compile_switch_compiles_the_learners_modules():
    """compile=True compiles every module's training forward (RLlib alone would not)."""
    from torch._dynamo.utils import counters

    counters.clear()
    algo = build_config(_tiny_config().replace(compile=True)).build_algo()
    try:
        result = algo.train()
    finally:
        algo.stop()
    assert counters["frames"]["ok"] >= 1
    assert math.isfinite(result["reward/consumer_mean"])
    with pytest.raises(ValueError, match="compile needs num_learners <= 1"):
        build_config(_tiny_config().replace(compile=True, num_learners=2))
