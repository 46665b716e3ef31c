"""Proportional minibatches: every module makes num_epochs passes over its own rows."""

from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("ray.rllib")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner  # noqa: E402
from ray.rllib.core.columns import Columns  # noqa: E402
from ray.rllib.evaluation.postprocessing import Postprocessing  # noqa: E402
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch  # noqa: E402
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME  # noqa: E402

from rbc_env import RBCConfig  # noqa: E402
from trainers.config import TrainConfig  # noqa: E402
from trainers.rllib import build_config, module_spaces  # noqa: E402
from trainers.rllib.learner import (  # noqa: E402
    NUM_MINIBATCHES_KEY,
    ProportionalMinibatchIterator,
    ProportionalPPOTorchLearner,
)
from trainers.rllib.modules import MASK_KEY, OBS_KEY  # noqa: E402

# Agent ratio 100 : 10 : 1 as in the paper economy, at a test-sized scale.
ROWS = {"consumer": 1000, "firm": 100, "government": 10}
EPOCHS = 2
MINIBATCH = 250

TRAIN = TrainConfig(economy=RBCConfig(n_consumers=4, n_firms=2, horizon=5), device="cpu", seed=0)
SPACES = module_spaces(TRAIN.economy)


def _batch(rows: dict[str, int], seed: int = 0) -> MultiAgentBatch:
    """A synthetic PPO train batch with the modules' spaces (all actions allowed)."""
    rng = np.random.default_rng(seed)
    out = {}
    for mid, n in rows.items():
        obs_space, act_space = SPACES[mid]
        masked = hasattr(obs_space, "spaces")
        box = obs_space[OBS_KEY] if masked else obs_space
        obs = rng.standard_normal((n, *box.shape)).astype(np.float32)
        if masked:
            obs = {OBS_KEY: obs, MASK_KEY: np.ones((n, *obs_space[MASK_KEY].shape), np.int8)}
        nvec = act_space.nvec
        out[mid] = SampleBatch(
            {
                Columns.OBS: obs,
                Columns.ACTIONS: np.stack([rng.integers(0, k, n) for k in nvec], axis=-1),
                Columns.ACTION_LOGP: np.full(n, -float(np.log(nvec).sum()), np.float32),
                Columns.ACTION_DIST_INPUTS: np.zeros((n, int(nvec.sum())), np.float32),
                Postprocessing.ADVANTAGES: rng.standard_normal(n).astype(np.float32),
                Postprocessing.VALUE_TARGETS: rng.standard_normal(n).astype(np.float32),
            }
        )
    return MultiAgentBatch(out, env_steps=rows["government"])


def _learner(learner_class: type | None = None, num_minibatches: int = 0):
    config = build_config(TRAIN).copy(copy_frozen=False)
    config.learners(learner_config_dict={NUM_MINIBATCHES_KEY: num_minibatches})
    if learner_class is not None:
        config.learners(learner_class=learner_class)
    return config.build_learner(spaces=SPACES)


def _rows_trained(learner, batch: MultiAgentBatch, **kwargs) -> dict[str, int]:
    results = learner.update(
        batch=batch,
        num_epochs=EPOCHS,
        shuffle_batch_per_epoch=True,
        timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: 10},
        **kwargs,
    )
    return {mid: int(results[mid]["num_module_steps_trained"].peek()) for mid in ROWS}


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_proportional_learner_gives_every_module_num_epochs_passes():
    learner = _learner()
    assert isinstance(learner, ProportionalPPOTorchLearner)
    trained = _rows_trained(learner, _batch(ROWS), minibatch_size=MINIBATCH)
    passes = {mid: trained[mid] / ROWS[mid] for mid in ROWS}
    assert passes == {"consumer": EPOCHS, "firm": EPOCHS, "government": EPOCHS}


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_stock_learner_overtrains_the_small_modules():
    """RLlib's cyclic iterator gives every module minibatch_size rows per minibatch."""
    learner = _learner(PPOTorchLearner)
    trained = _rows_trained(learner, _batch(ROWS), minibatch_size=MINIBATCH)
    passes = {mid: trained[mid] / ROWS[mid] for mid in ROWS}
    assert passes["consumer"] == pytest.approx(EPOCHS, abs=0.5)
    assert passes["firm"] >= 10 * EPOCHS - 1  # ~10x too many passes
    assert passes["government"] >= 100 * EPOCHS - 10  # ~100x too many passes


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_configured_minibatch_count_sets_the_number_of_updates():
    learner = _learner(num_minibatches=3)
    calls = []
    original = learner._update

    def counting_update(batch, **kwargs):
        calls.append({mid: len(b) for mid, b in batch.items()})
        return original(batch, **kwargs)

    learner._update = counting_update
    trained = _rows_trained(learner, _batch(ROWS))
    assert trained == {mid: EPOCHS * n for mid, n in ROWS.items()}
    assert len(calls) == EPOCHS * 3
    # Every minibatch holds about a third of each module's rows.
    for sizes in calls:
        for mid, n in ROWS.items():
            assert abs(sizes[mid] - n / 3) <= 1


def test_iterator_covers_every_row_once_per_epoch_and_is_seeded():
    batch = _batch({"consumer": 7, "firm": 5, "government": 2})

    def epochs(seed):
        it = ProportionalMinibatchIterator(
            batch, num_epochs=2, num_minibatches=3, shuffle=True, seed=seed
        )
        out = []
        for mb in it:
            out.append(
                {mid: b[Postprocessing.ADVANTAGES].tolist() for mid, b in mb.policy_batches.items()}
            )
        return out

    first, again, other = epochs((0, 1)), epochs((0, 1)), epochs((0, 2))
    assert first == again and first != other
    assert len(first) == 6
    for epoch in (first[:3], first[3:]):
        for mid, rows in batch.policy_batches.items():
            seen = sorted(v for mb in epoch for v in mb.get(mid, []))
            assert seen == sorted(rows[Postprocessing.ADVANTAGES].tolist())
    # The government's 2 rows cannot fill 3 minibatches: it sits out of one.
    assert sum("government" in mb for mb in first[:3]) == 2


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_entropy_coefficients_are_set_per_module():
    learner = _learner(num_minibatches=1)
    in_force = learner.set_entropy_coeffs({"consumer": 0.3, "firm": 0.2, "government": 0.1})
    assert in_force == pytest.approx({"consumer": 0.3, "firm": 0.2, "government": 0.1})
    results = learner.update(
        batch=_batch(ROWS),
        num_epochs=1,
        timesteps={NUM_ENV_STEPS_SAMPLED_LIFETIME: 10},
    )
    logged = {mid: float(results[mid]["curr_entropy_coeff"].peek()) for mid in ROWS}
    assert logged == pytest.approx({"consumer": 0.3, "firm": 0.2, "government": 0.1})
