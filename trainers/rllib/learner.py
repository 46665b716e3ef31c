"""PPO learner with proportional minibatches and curriculum-set entropy coefficients.

RLlib 2.60's multi-agent minibatching (``MiniBatchCyclicIterator``) takes ``minibatch_size`` rows
from *every* module per minibatch and cycles until the largest module has made ``num_epochs``
passes, so with 100 consumers, 10 firms and one government the government makes ~100x and the
firms ~10x more passes over their data than the consumers (measured 202.5 / 20.2 / 2.0 passes;
notes section 7). ``ProportionalPPOTorchLearner`` instead splits each module's own rows into
the same number n of minibatches and makes exactly ``num_epochs`` passes over each module's data.

n is ``learner_config_dict["num_minibatches"]`` when set (the batched trainer sets it), otherwise
``ceil(largest module rows / minibatch_size)`` (so the stock ``minibatch_size`` keeps its meaning
for the largest module), or 1 without a ``minibatch_size``. Each pass reshuffles each module's
rows with a generator seeded from ``(config.seed, env steps sampled so far)``, so a run resumed
from a checkpoint shuffles exactly as the uninterrupted run. Single learner only: with
``num_learners > 1`` every learner must get the same n (set ``num_minibatches``).

The curriculum sets each module's entropy coefficient per iteration through
``ProportionalPPOTorchLearner.set_entropy_coeffs`` (RLlib's own entropy schedules are indexed
by env steps, not by training iterations).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import tree
from ray.rllib.algorithms.ppo.torch.ppo_torch_learner import PPOTorchLearner
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
from ray.rllib.utils.metrics import NUM_ENV_STEPS_SAMPLED_LIFETIME
from ray.rllib.utils.schedules.scheduler import Scheduler

from rbc_env.perf import keep_freed_memory

__all__ = [
    "AUTOCAST_KEY",
    "KEEP_FREED_MEMORY_KEY",
    "NUM_MINIBATCHES_KEY",
    "ProportionalMinibatchIterator",
    "ProportionalPPOTorchLearner",
]

NUM_MINIBATCHES_KEY = "num_minibatches"
AUTOCAST_KEY = "autocast_bf16"  # learner_config_dict flag: the update under bf16 autocast
# learner_config_dict flag: the driver kept freed memory (rbc_env.perf); a learner actor does too.
KEEP_FREED_MEMORY_KEY = "keep_freed_memory"


class ProportionalMinibatchIterator:
    """Yields minibatches that hold 1/n of every module's rows; ``num_epochs`` passes.

    Args:
        batch: the multi-agent train batch (tensors on the learner's device).
        num_epochs: passes over each module's rows.
        num_minibatches: n, minibatches per pass (a module with fewer than n rows is left out
            of the minibatches where its share is empty).
        shuffle: reshuffle each module's rows before every pass.
        seed: seed of the shuffling generator.
    """

    def __init__(
        self,
        batch: MultiAgentBatch,
        *,
        num_epochs: int,
        num_minibatches: int,
        shuffle: bool,
        seed: tuple[int, ...],
    ) -> None:
        self._batch = batch
        self._num_epochs = num_epochs
        self._n = num_minibatches
        self._shuffle = shuffle
        self._rng = np.random.default_rng(seed)

    def __iter__(self) -> Iterator[MultiAgentBatch]:
        env_steps = self._batch.env_steps()
        if self._n == 1:
            # Full-batch passes: the row order does not matter, so nothing is copied.
            for _ in range(self._num_epochs):
                yield MultiAgentBatch(dict(self._batch.policy_batches), env_steps)
            return
        data = {mid: dict(mb) for mid, mb in self._batch.policy_batches.items()}
        rows = {mid: len(mb) for mid, mb in self._batch.policy_batches.items()}
        for _ in range(self._num_epochs):
            parts: dict[str, list[np.ndarray]] = {}
            for mid, n_rows in rows.items():
                order = self._rng.permutation(n_rows) if self._shuffle else np.arange(n_rows)
                parts[mid] = np.array_split(order, self._n)
            for i in range(self._n):
                minibatch = {}
                for mid, columns in data.items():
                    idx = parts[mid][i]
                    if len(idx) == 0:
                        continue
                    minibatch[mid] = SampleBatch(_take(columns, idx))
                yield MultiAgentBatch(minibatch, env_steps)


def _take(columns: dict[str, Any], idx: np.ndarray) -> dict[str, Any]:
    """Rows ``idx`` of every (possibly nested) column."""
    cache: dict[torch.device, torch.Tensor] = {}

    def take(x: Any) -> Any:
        if isinstance(x, torch.Tensor):
            if x.device not in cache:
                cache[x.device] = torch.as_tensor(idx, device=x.device)
            return x.index_select(0, cache[x.device])
        if isinstance(x, np.ndarray):
            return x[idx]
        return x

    return tree.map_structure(take, columns)


class ProportionalPPOTorchLearner(PPOTorchLearner):
    """``PPOTorchLearner`` with per-module proportional minibatches and settable entropy."""

    def build(self) -> None:
        """Build the learner; the shuffle seed starts from ``config.seed``.

        With ``torch_compile_learner`` on ``forward_train`` (``TrainConfig.compile``), every
        module's forward passes are compiled here: RLlib 2.60 compiles only modules added
        after ``build`` (``add_module``), so the initial ones would stay eager (measured: no
        dynamo frame compiled).

        A learner actor keeps freed memory when the driver does (``KEEP_FREED_MEMORY_KEY``):
        without it, one remote learner took 3.0-3.2 s an iteration where the driver's took
        2.3 s, with it 2.1-2.2 s (paper economy, B = 128, 2 CPUs each, AMD EPYC).
        """
        if self.config.learner_config_dict.get(KEEP_FREED_MEMORY_KEY):
            keep_freed_memory()
        super().build()
        self._shuffle_seed: tuple[int, ...] = (int(self.config.seed or 0), 0)
        if self._torch_compile_forward_train:
            for module in self._module.values():
                module.compile(self._torch_compile_cfg)

    def before_gradient_based_update(self, *, timesteps: dict[str, Any]) -> None:
        """Record the sampled env steps, which seed this update's shuffling."""
        super().before_gradient_based_update(timesteps=timesteps)
        steps = int(timesteps.get(NUM_ENV_STEPS_SAMPLED_LIFETIME, 0) or 0)
        self._shuffle_seed = (int(self.config.seed or 0), steps)

    def set_entropy_coeffs(self, coeffs: dict[str, float]) -> dict[str, float]:
        """Fix each listed module's entropy coefficient (until the next call).

        Args:
            coeffs: ``{module_id: coefficient}``.

        Returns:
            The coefficients now in force, for every module of the learner.
        """
        for mid, value in coeffs.items():
            self.entropy_coeff_schedulers_per_module[mid] = Scheduler(
                fixed_value_or_schedule=float(value), framework="torch", device=self._device
            )
        return {
            mid: float(self.entropy_coeff_schedulers_per_module[mid].get_current_value())
            for mid in self.module.keys()
        }

    def _uncompiled_update(self, batch: dict[str, Any], **kwargs: Any) -> Any:
        """RLlib's update, under bf16 autocast when ``learner_config_dict`` asks for it."""
        if not self.config.learner_config_dict.get(AUTOCAST_KEY):
            return super()._uncompiled_update(batch, **kwargs)
        with torch.autocast(self._device.type, dtype=torch.bfloat16):
            return super()._uncompiled_update(batch, **kwargs)

    def num_minibatches(self, batch: MultiAgentBatch, minibatch_size: int | None) -> int:
        """n: minibatches per pass, shared by all modules (see the module docstring)."""
        configured = self.config.learner_config_dict.get(NUM_MINIBATCHES_KEY)
        if configured:
            return int(configured)
        if not minibatch_size:
            return 1
        largest = max(len(mb) for mb in batch.policy_batches.values())
        return max(1, math.ceil(largest / minibatch_size))

    def _create_iterator_if_necessary(
        self,
        *,
        training_data: Any,
        num_total_minibatches: int = 0,
        num_epochs: int = 1,
        minibatch_size: int | None = None,
        shuffle_batch_per_epoch: bool = False,
        **kwargs: Any,
    ) -> Any:
        if training_data.data_iterators:
            return super()._create_iterator_if_necessary(
                training_data=training_data,
                num_total_minibatches=num_total_minibatches,
                num_epochs=num_epochs,
                minibatch_size=minibatch_size,
                shuffle_batch_per_epoch=shuffle_batch_per_epoch,
                **kwargs,
            )
        batch = self._make_batch_if_necessary(training_data=training_data)
        if batch is None:
            raise ValueError("the learner got no training data")
        for module_id in list(batch.policy_batches):
            if not self.should_module_be_updated(module_id, batch):
                del batch.policy_batches[module_id]
        for module_id, module_batch in batch.policy_batches.items():
            if len(module_batch) == 0:
                raise ValueError(f"the train batch of module {module_id!r} is empty")
            if self.module[module_id].is_stateful():
                raise ValueError(
                    "ProportionalPPOTorchLearner supports stateless (non-recurrent) modules "
                    f"only; module {module_id!r} is stateful"
                )
        if not batch.policy_batches:
            return {}
        return ProportionalMinibatchIterator(
            batch,
            num_epochs=max(int(num_epochs), 1),
            num_minibatches=self.num_minibatches(batch, minibatch_size),
            shuffle=bool(shuffle_batch_per_epoch),
            seed=self._shuffle_seed,
        )
