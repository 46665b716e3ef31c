"""Trainer tests; ``tiny_config`` is their common small run, ``tracked`` and
``learner_weights`` what they compare between runs."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from rbc_env import RBCConfig
from trainers.config import TrainConfig
from trainers.curriculum import CurriculumSchedule, TypeSchedule


def tiny_config(**changes: Any) -> TrainConfig:
    """4 consumers, 2 firms, T = 5, B = 8; firms train from iteration 1, government from 2.

    ``changes``: ``TrainConfig`` fields to replace.
    """
    econ = RBCConfig(n_consumers=4, n_firms=2, horizon=5)
    econ = dataclasses.replace(
        econ,
        curriculum=dataclasses.replace(
            econ.curriculum, mask_anneal_iters=2, tax_mask_start=1, theta_decay_iters=2.0
        ),
    )
    schedule = CurriculumSchedule(
        consumer=TypeSchedule(train_start=0, entropy_decay_iters=2.0),
        firm=TypeSchedule(train_start=1, entropy_decay_iters=2.0),
        government=TypeSchedule(train_start=2, entropy_decay_iters=2.0),
    )
    base = TrainConfig(
        economy=econ,
        curriculum=schedule,
        batch_size=8,
        iterations=3,
        seed=7,
        device="cpu",
        num_minibatches=2,
    )
    return base.replace(**changes)


TYPES = ("consumer", "firm", "government")


def tracked(result: dict) -> dict[str, float]:
    """The sampler's own metrics plus each module's PPO losses and trained rows."""
    out = {
        k: float(v)
        for k, v in result.items()
        if k.startswith(("econ/", "reward/", "return/", "curriculum/"))
    }
    for t in TYPES:
        for key in ("policy_loss", "vf_loss", "entropy", "num_module_steps_trained"):
            if key in result["learners"].get(t, {}):
                out[f"learners/{t}/{key}"] = float(result["learners"][t][key])
    return out


def learner_weights(algo: Any) -> list[dict[str, dict[str, np.ndarray]]]:
    """Every learner's module weights (one entry per learner actor, or the local learner)."""

    def weights(learner: Any) -> dict[str, dict[str, np.ndarray]]:
        state = learner.get_state(components="rl_module")["rl_module"]
        return {m: {k: np.asarray(v) for k, v in sd.items()} for m, sd in state.items()}

    return [result.get() for result in algo.learner_group.foreach_learner(weights)]
