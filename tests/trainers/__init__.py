"""Trainer tests; ``tiny_config`` is their common small run."""

from __future__ import annotations

import dataclasses
from typing import Any

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
