"""Rollouts inside the learner actors (``TrainConfig.rollouts = "learners"``).

Each learner actor rolls out its own B / N economies with its own modules, standardizes the
advantages over all learners' rows and updates; DDP averages the gradients. One learner repeats
the driver's rollout bit for bit; two keep identical weights, draw independent economies, and
resume exactly from a checkpoint.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import numpy as np
import pytest
import torch

pytest.importorskip("ray.rllib")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from rbc_env.perf import keep_freed_memory  # noqa: E402
from tests.trainers import TYPES, learner_weights, tiny_config, tracked  # noqa: E402
from trainers.best_response import deviation_config  # noqa: E402
from trainers.config import BestResponseParams, DeviationParams, TrainConfig  # noqa: E402
from trainers.rllib import BatchedPPO, build_config  # noqa: E402
from trainers.rllib.sampler import (  # noqa: E402
    LearnerSampler,
    learner_generator_state,
    learner_seed,
)

# One local Ray instance for the trainer tests (tests/trainers/conftest.py).
pytestmark = [
    pytest.mark.usefixtures("ray_session"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]


def _assert_same_weights(a: dict, b: dict) -> None:
    for m in TYPES:
        for key, value in a[m].items():
            np.testing.assert_array_equal(value, b[m][key], err_msg=f"{m} {key}")


def test_one_learner_rolling_out_repeats_the_driver_rollout():
    """rollouts="learners" with one learner actor = the driver's rollout, bit for bit.

    Learner 0 draws with the run's seed, standardizes over its (all) rows with the same
    formula, and shuffles with the same seed, so both runs train on the same batches. At equal
    torch thread counts (see test_batched's data-parallel test) the weights and metrics match.
    """
    keep_freed_memory()
    threads = torch.get_num_threads()
    base = dataclasses.replace(tiny_config(), num_learners=1, cpus_per_learner=threads)
    runs = {}
    for mode in ("driver", "learners"):
        algo = build_config(dataclasses.replace(base, rollouts=mode)).build_algo()
        try:
            results = [algo.train() for _ in range(3)]  # firms train from 1, government from 2
            runs[mode] = ([tracked(r) for r in results], learner_weights(algo))
            # Only a learner that rolled out has economies of its own.
            (reply,) = algo.learner_group.foreach_learner(learner_generator_state)
            assert (reply.get()[1] is not None) == (mode == "learners")
        finally:
            algo.stop()
    (m_driver, w_driver), (m_learners, w_learners) = runs["driver"], runs["learners"]
    assert m_driver == m_learners
    assert "learners/government/policy_loss" in m_learners[2]
    _assert_same_weights(w_driver[0], w_learners[0])


def test_two_learners_roll_out_their_own_economies_and_resume_exactly(tmp_path):
    """Two learner actors: half of the economies each, one set of weights, exact resume.

    With a centralized critic, whose global-state column each learner's rollout builds: its
    unused default value head is frozen, so DDP's two learners update (before: "Expected to
    have finished reduction in the prior iteration" on the second update).

    The counts of all B economies are logged, the learners' economy streams differ, the gradient
    all-reduce keeps their weights equal, and a run restored from a checkpoint repeats the
    uninterrupted run's next iteration (weights and metrics) bit for bit.
    """
    keep_freed_memory()
    tc = tiny_config(num_learners=2, rollouts="learners", critic="centralized")
    algo = build_config(tc).build_algo()
    try:
        first = algo.train()
        path = algo.save_to_path(str(tmp_path / "ckpt"))
        second = algo.train()
        weights = learner_weights(algo)
        streams = [r.get() for r in algo.learner_group.foreach_learner(learner_generator_state)]
    finally:
        algo.stop()
    assert len(weights) == 2
    _assert_same_weights(weights[0], weights[1])
    assert sorted(rank for rank, _ in streams) == [0, 1]
    assert not torch.equal(streams[0][1], streams[1][1])
    consumers = tc.economy.n_consumers
    rows = tc.batch_size * tc.economy.horizon * consumers
    assert first["env_runners"]["num_module_steps_sampled"]["consumer"] == rows
    # Summed over the learners: each trained num_epochs passes over its own half.
    assert first["learners"]["consumer"]["num_module_steps_trained"] == tc.num_epochs * rows
    assert all(math.isfinite(v) for v in tracked(second).values())
    assert "learners/consumer/vf_loss" in tracked(second)

    restored = BatchedPPO.from_checkpoint(path)
    try:
        again = restored.train()
        weights_again = learner_weights(restored)
    finally:
        restored.stop()
    assert tracked(again) == tracked(second)
    _assert_same_weights(weights[0], weights_again[0])


def _standardize_in_group(rank: int, path: str, rows: torch.Tensor, out: Any) -> None:
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{path}", rank=rank, world_size=2
    )
    try:
        sampler = object.__new__(LearnerSampler)
        sampler.rank, sampler.size = rank, 2
        half = rows.shape[0] // 2
        out[rank] = sampler._standardize(rows[rank * half : (rank + 1) * half], 1e-6)
    finally:
        torch.distributed.destroy_process_group()


def test_advantages_are_standardized_over_all_learners_rows(tmp_path):
    """Two learners (a 2-process gloo group) standardize with the mean and std of all rows."""
    rows = torch.randn(2 * 37, 3) * 5 + 2
    rows[:37] += 10  # the two halves differ: a per-learner standardization would not match
    out = torch.multiprocessing.Manager().dict()
    torch.multiprocessing.spawn(
        _standardize_in_group, args=(str(tmp_path / "group"), rows, out), nprocs=2
    )
    expected = (rows - rows.mean()) / (rows.std() + 1e-6)
    torch.testing.assert_close(torch.cat([out[0], out[1]]), expected, rtol=1e-5, atol=1e-5)


def test_learner_seeds_are_the_run_seed_then_independent_streams():
    assert learner_seed(7, 0) == 7
    seeds = {learner_seed(7, k) for k in range(1, 64)} | {learner_seed(8, 1)}
    assert len(seeds) == 64 and 7 not in seeds
    assert all(0 <= s < 2**63 for s in seeds)


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({}, ValueError, r"num_learners must be in \[1, inf\) with rollouts='learners'.*got 0"),
        ({"num_learners": 2, "batch_size": 7}, ValueError, r"batch_size must be a multiple of"),
        (
            {"num_learners": 1, "sampler": "env_runner"},
            NotImplementedError,
            r"rollouts='learners' is implemented by the batched sampler only",
        ),
        (
            {"num_learners": 1, "deviation": DeviationParams(agent_type="firm")},
            NotImplementedError,
            r"deviation \(a deviation run\) needs rollouts='driver'; got rollouts='learners'",
        ),
    ],
)
def test_learner_rollouts_that_cannot_run_are_refused(changes, error, match):
    tc: TrainConfig = dataclasses.replace(tiny_config(), rollouts="learners", **changes)
    with pytest.raises(error, match=match):
        build_config(tc)


def test_a_best_response_check_of_a_learner_rollout_run_deviates_in_the_driver():
    """The deviation runs of a run with rollouts='learners' roll out in the driver (the
    learner actors still update), so ``build_config`` accepts them."""
    trained = dataclasses.replace(tiny_config(), num_learners=1, rollouts="learners")
    for method in ("ppo", "pg"):
        dev = deviation_config(trained, "firm", -1, BestResponseParams(method=method))
        assert (dev.rollouts, dev.num_learners) == ("driver", 1)
        build_config(dev)
