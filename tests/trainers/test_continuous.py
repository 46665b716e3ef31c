"""Continuous RBC actions trained by BatchedPPO (``economy.action_space="continuous"``).

The Gaussian heads' sampler and the learner's distribution agree on every log-probability; the
normalized actions map onto the economy's box and the curriculum's bounds; a short real training
run keeps firms at the mask centre while the window is closed and updates the policies.
"""

from __future__ import annotations

import dataclasses
import math
import os

import gymnasium as gym
import pytest
import torch

pytest.importorskip("ray.rllib")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from rbc_env import RBCConfig  # noqa: E402
from rbc_env.core import action_bounds, action_box  # noqa: E402
from trainers.config import TrainConfig  # noqa: E402
from trainers.curriculum import CurriculumSchedule, TypeSchedule  # noqa: E402
from trainers.rllib import build_config, module_spaces  # noqa: E402
from trainers.rllib.heads import BoxHeads, CategoricalHeads, action_heads  # noqa: E402
from trainers.rllib.modules import (  # noqa: E402
    LOG_STD_MAX,
    BoundedDiagGaussian,
    bounded_log_std,
)

pytestmark = pytest.mark.usefixtures("ray_session")


def _economy() -> RBCConfig:
    econ = RBCConfig(n_consumers=4, n_firms=2, horizon=5, action_space="continuous")
    return dataclasses.replace(
        econ,
        curriculum=dataclasses.replace(
            econ.curriculum, mask_anneal_iters=4, tax_mask_start=1, theta_decay_iters=2.0
        ),
    )


def _config(**changes: object) -> TrainConfig:
    schedule = CurriculumSchedule(
        consumer=TypeSchedule(train_start=0, entropy_decay_iters=2.0),
        firm=TypeSchedule(train_start=0, entropy_decay_iters=2.0),
        government=TypeSchedule(train_start=1, entropy_decay_iters=2.0),
    )
    tc = TrainConfig(
        economy=_economy(), curriculum=schedule, batch_size=8, iterations=3, seed=5, device="cpu"
    )
    return tc.override(dict(changes)) if changes else tc


def test_heads_follow_the_action_space() -> None:
    heads = action_heads(_economy())
    assert all(isinstance(h, BoxHeads) for h in heads.values())
    box = action_box(_economy())
    torch.testing.assert_close(heads["firm"].high, torch.tensor(box["firm"][1]))
    discrete = action_heads(_economy().override({"action_space": "discrete"}))
    assert all(isinstance(h, CategoricalHeads) for h in discrete.values())
    spaces = module_spaces(_economy())
    for t, (obs, act) in spaces.items():
        assert isinstance(obs, gym.spaces.Box)  # no mask: the bounds replace it
        assert act == gym.spaces.Box(-1.0, 1.0, (len(box[t][0]),), "float32")


def test_sampled_log_probs_are_the_learners() -> None:
    """The sampler's log π(a) equals BoundedDiagGaussian's, which the PPO loss uses."""
    gen = torch.Generator().manual_seed(0)
    head = action_heads(_economy())["consumer"]
    inputs = torch.randn(64, 2 * head.low.shape[0], generator=gen) * 3.0
    actions, logp = head.sample(inputs, gen)
    dist = BoundedDiagGaussian.from_logits(inputs)
    torch.testing.assert_close(logp, dist.logp(actions), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(head.mode(inputs), dist.to_deterministic().loc)


def test_log_std_is_capped_smoothly() -> None:
    raw = torch.tensor([-5.0, 0.0, 5.0, 50.0], requires_grad=True)
    log_std = bounded_log_std(raw)
    assert bool((log_std <= LOG_STD_MAX).all())
    assert float(log_std[0].detach()) == pytest.approx(
        -5.0, abs=0.01
    )  # far below the cap: unchanged
    log_std.sum().backward()
    assert bool((raw.grad > 0).all())  # never flat: an entropy bonus can always be undone


def test_normalized_actions_map_onto_the_box_and_the_bounds() -> None:
    econ = _economy()
    head = action_heads(econ)["firm"]
    half = math.atanh(0.5)  # tanh = 0.5: three quarters of the way up
    a = torch.tensor([[-20.0, 20.0], [0.0, 0.0], [half, -half]])
    values = head.to_economy(a)
    top_price, top_wage = action_box(econ)["firm"][1]
    expected = torch.tensor(
        [[0.0, top_wage], [top_price / 2, top_wage / 2], [0.75 * top_price, 0.25 * top_wage]]
    )
    torch.testing.assert_close(values, expected)
    lo, hi = action_bounds(econ, 0)["firm"]  # iteration 0: the mask centres only
    bounded = head.to_economy(a, (lo, hi))
    torch.testing.assert_close(bounded, lo.float().expand(3, 2))


def test_a_short_training_run_learns_and_keeps_the_bounds() -> None:
    algo = build_config(_config()).build_algo()
    try:
        assert algo.get_module("firm").action_dist_cls is BoundedDiagGaussian
        before = _weights(algo, "consumer")
        first = algo.train()
        # Iteration 0: the firm window is its centre, taxes are closed (continuous M14).
        econ = _economy()
        center = econ.curriculum.firm_mask_price_center
        t = econ.horizon
        initial = econ.firm.initial_price
        assert first["econ/price_mean"] == pytest.approx((initial + (t - 1) * center) / t)
        assert first["econ/income_tax_mean"] == 0.0
        results = [first, algo.train(), algo.train()]
        after = _weights(algo, "consumer")
        assert any(not torch.equal(after[k], before[k]) for k in before)
        for r in results:
            assert all(
                torch.isfinite(torch.tensor(float(r[k])))
                for k in r
                if k.startswith(("reward/", "econ/"))
            )
        assert results[-1]["econ/price_mean"] != results[0]["econ/price_mean"]  # window opened
    finally:
        algo.stop()


def _weights(algo: object, module_id: str) -> dict[str, torch.Tensor]:
    state = algo.learner_group.get_state(components=f"learner/rl_module/{module_id}")  # type: ignore[attr-defined]
    return {
        k: torch.as_tensor(v).clone() for k, v in state["learner"]["rl_module"][module_id].items()
    }


def test_the_env_runner_sampler_refuses_continuous_actions() -> None:
    with pytest.raises(NotImplementedError, match="action_space='continuous' is implemented by"):
        build_config(_config(sampler="env_runner"))


def test_allowed_share_is_the_bounds_share_of_the_box() -> None:
    """Continuous: mean over heads of the bounds' width over the box's; discrete: the masks'."""
    from trainers.curriculum import stage

    tc = _config()
    econ = tc.economy  # mask_anneal_iters 4, tax_mask_start 1
    first = stage(tc.curriculum, 0, econ)
    assert first.allowed_share("consumer", econ) == 1.0
    assert first.allowed_share("firm", econ) == 0.0  # the centres only
    half = stage(tc.curriculum, 2, econ)  # the firm windows half open
    assert half.allowed_share("firm", econ) == pytest.approx(0.5)
    discrete = econ.override({"action_space": "discrete"})
    grid = stage(tc.curriculum, 0, discrete)
    assert grid.allowed_share("firm", discrete) == float(grid.masks["firm"].float().mean())
