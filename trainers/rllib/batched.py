"""BatchedPPO: RLlib's PPO with tensor rollouts on the economy instead of EnvRunners.

One PPO class, one rollout loop, for both economy families of ``trainers.config.TrainConfig``
(any ``rbc_env.core.protocol.Economy``). What differs between them is data, set up once in
``BatchedPPO.setup``: the action heads (``trainers.rllib.heads``: factorized categorical or
Gaussian), the rollout mode and the metrics.

- **Episodic** (the RBC economy, ``BatchedEconomy``): every iteration resets all B economies
  (θ factor of the curriculum's iteration) and rolls out one whole T-step episode.
- **Continuing** (the growth economies G1-G7, ``rbc_env.growth.GrowthEconomy``): economies
  continue across iterations for ``rollout_length`` steps each and restart after ``horizon``
  periods, a cut that advantages do not flow across.

One training iteration (spec 9.5):

1. the curriculum stage of iteration e (``trainers.curriculum.stage``): θ factor, masks,
   entropy coefficients, which types train (a growth run has one fixed stage: no masks, every
   type trains with its own entropy coefficient);
2. pull the learner's weights into the driver-side MultiRLModule (on the economy's device);
3. roll out: per step and type, one ``forward_train`` pass (masked logits or Gaussian
   [μ, log σ], plus trunk embeddings) and the value head on the flattened ``[B·N, obs]`` rows,
   actions drawn by the type's heads with the economy's generator;
4. per type: rewards divided by the type's reward scale, GAE(γ, λ) on ``[T, B·N]`` tensors
   (``gae_truncated``); where an episode ends or restarts after step t, the advantage stops
   and the step bootstraps from V of the state after it when the game goes on past the
   horizon (growth: always, ``Economy.terminal_at_horizon`` is False; RBC: only with
   ``bootstrap_truncated``; the paper's finite game takes 0); advantages standardized over
   the type's rows;
5. a ``MultiAgentBatch`` of the training types only, and ``learner_group.update`` (with the
   proportional learner: ``num_epochs`` passes of ``num_minibatches`` minibatches per module);
6. metrics through ``self.metrics`` (flat keys of the result dict): per-type mean per-step reward
   (``reward/<type>_mean``), ``throughput/agent_steps_per_s``; RBC: per-episode return summed
   over the type's agents (``return/<type>_mean``, also
   ``env_runners/module_episode_returns_mean``), economic aggregates (``econ/price_mean``,
   ``econ/wage_mean``, ``econ/hours_mean``, ``econ/consumption_mean``, ``econ/exports_mean``,
   ``econ/production_mean``, ``econ/income_tax_mean``, ``econ/corporate_tax_mean``,
   ``econ/welfare_mean``, budgets) and the curriculum (``curriculum/...``); growth:
   ``econ/saving_share_mean``, ``econ/hours_mean`` (G2), ``econ/markup_mean`` and
   ``econ/price_min_mean`` (G6), ``econ/consumption_mean``, ``policy/log_std/<type>``.

Sampling draws from the economy's own ``torch.Generator``, the learner reshuffles with a generator
seeded by (seed, env steps), and the checkpoint carries the generator state and the curriculum
iteration (and a continuing economy's state), so a run resumed from a checkpoint repeats the
uninterrupted run's next iterations (bit-identical on the CPU; tested).

Rollouts in the learners (``TrainConfig.rollouts="learners"``, RBC, ``num_learners = N >= 1``):
steps 3-5 run inside every learner actor on its own B / N economies and its own modules
(``trainers.rllib.sampler.learner_iteration``); the driver computes the stage, logs the counts,
the learners' update results and the mean of their metrics.

Centralized critic (``TrainConfig.critic="centralized"``): RBC rows also carry the government's
observation (the economy's aggregate state) in the ``global_state`` column, which only the value
network reads (``trainers.rllib.modules.CentralCriticPPOTorchRLModule``); growth rows append
``GrowthEconomy.global_state()`` to the observation, of which the policy reads only its own part
(``trainers.rllib.gaussian``).

Deviation runs (``TrainConfig.deviation``, spec 10): every iteration uses the deviation stage
(θ factor 1, no masks, only the deviating module trains, its entropy coefficient fixed). A
single agent's deviation gives agent i of the type its own module: its rows are acted on and
trained by that module, the peers keep the shared policy (which stays frozen).

Reference parity (``RBCConfig.parity``, spec 13): ``returns="reference"`` uses the reference code's
G_t = r_t + γ Σ_{k>t} r_k with no bootstrap (A = G - V); ``sampling="fixed_quantile"`` and
``value_loss="reference"`` are not implemented and raise at construction.

Performance on the CPU: full-batch updates of the paper economy allocate tensors of 50-100 MB,
which glibc maps and unmaps on every use; call ``rbc_env.perf.keep_freed_memory()`` once at the
entry point (measured: B = 128 went from 7-12 s to 1.8 s per iteration), or use minibatches.
"""

from __future__ import annotations

import time
from typing import Any

import torch
from ray.rllib.algorithms.ppo import PPO, PPOConfig
from ray.rllib.core import ALL_MODULES
from ray.rllib.policy.sample_batch import MultiAgentBatch
from ray.rllib.utils.metrics import (
    ENV_RUNNER_RESULTS,
    LEARNER_RESULTS,
    LEARNER_UPDATE_TIMER,
    NUM_ENV_STEPS_SAMPLED,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_MODULE_STEPS_SAMPLED,
    NUM_MODULE_STEPS_TRAINED_LIFETIME,
    SYNCH_WORKER_WEIGHTS_TIMER,
    TIMERS,
)

from rbc_env.growth import GrowthState
from trainers.config import TrainConfig
from trainers.curriculum import CurriculumStage
from trainers.rllib.heads import sample_multi_discrete
from trainers.rllib.rollout import gae, gae_truncated, learner_device, reference_returns
from trainers.rllib.sampler import (
    EconomySampler,
    accumulate_econ,
    econ_denominators,
    learner_generator_state,
    learner_iteration,
    set_learner_generator_state,
)

__all__ = [
    "BatchedPPO",
    "BatchedPPOConfig",
    "accumulate_econ",
    "econ_denominators",
    "gae",
    "gae_truncated",
    "learner_device",
    "reference_returns",
    "sample_multi_discrete",
]

SAMPLER_STATE_KEY = "batched_sampler"  # the sampler's part of a checkpoint
OLD_GROWTH_STATE_KEY = "growth_sampler"  # a growth run's, in checkpoints before one sampler
ROLLOUT_TIMER = "batched_rollout"


class BatchedPPOConfig(PPOConfig):
    """``PPOConfig`` that also carries the run's ``TrainConfig`` (as a plain dict, ``.run``).

    The dict survives RLlib's config copies, checkpoints (``get_state``/``from_state``) and
    Tune's dict round trip (``update_from_dict`` keeps unknown keys). Checkpoints written
    before the two families shared ``TrainConfig`` hold it as ``rbc_train_config`` or
    ``growth_train_config``, whose layouts ``TrainConfig.from_dict`` reads unchanged.
    """

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or BatchedPPO)
        self.run_config: dict[str, Any] | None = None

    def run(self, train_config: TrainConfig) -> BatchedPPOConfig:
        """Attach the run's ``TrainConfig``."""
        self._value_error_if_frozen("run_config")
        self.run_config = train_config.to_dict()
        return self

    @property
    def train_config(self) -> TrainConfig:
        """The run's ``TrainConfig``."""
        for name in ("run_config", "rbc_train_config", "growth_train_config"):
            data = getattr(self, name, None)
            if data is not None:
                return TrainConfig.from_dict(data)
        raise ValueError("BatchedPPOConfig has no run config; call .run(train_config)")

    def _value_error_if_frozen(self, name: str) -> None:
        if self._is_frozen:
            raise AttributeError(f"Cannot set attribute ({name}) of a frozen AlgorithmConfig")


# ---- the algorithm ----------------------------------------------------------------------------
class BatchedPPO(EconomySampler, PPO):
    """PPO whose ``training_step`` rolls out the run's economy on the learner's device.

    Everything else is RLlib's: RLModules, Learner/LearnerGroup, PPO loss, callbacks, metrics,
    checkpoints (``save_to_path`` / ``Algorithm.from_checkpoint``) and Tune. Build it with
    ``trainers.rllib.algo.build_config``.
    """

    @classmethod
    def get_default_config(cls) -> BatchedPPOConfig:
        """A fresh ``BatchedPPOConfig``."""
        return BatchedPPOConfig(cls)

    def setup(self, config: Any) -> None:
        """Build RLlib's components, then the economy, its heads and the driver-side modules."""
        super().setup(config)
        tc = self.config.train_config
        device = learner_device(tc.resolved_device)
        spaces = self.env_runner_group.get_spaces()
        spec = self.config.get_multi_rl_module_spec(spaces=spaces, inference_only=False)
        rollout_module = spec.build()
        for mid in rollout_module.keys():
            rollout_module[mid].to(device).eval()
        self.init_sampler(tc, device, rollout_module)
        self.curriculum_iteration = 0
        self.curriculum_stage: CurriculumStage | None = None  # the last iteration's stage
        # The learner actors roll out their own economies (TrainConfig.rollouts).
        self.in_learners = tc.rollouts == "learners"

    # ---- one iteration --------------------------------------------------------------------
    def training_step(self) -> None:
        """One iteration: (curriculum stage,) rollout, GAE, learner update, metrics."""
        tc = self.train_config
        e = self.curriculum_iteration
        started = time.perf_counter()
        current = self.stage_of(e)
        self.curriculum_stage = current
        self.sync_rollout_module()
        env_steps = tc.batch_size * self.steps
        candidates = current.training + self.module_ids[len(self.types) :]
        if self.in_learners:
            rollout_s = self._learners_iteration(current, self._trainable(candidates), env_steps)
        else:
            with self.metrics.log_time((TIMERS, ROLLOUT_TIMER)):
                buffers, econ_sums = self._rollout(current)
            rollout_s = time.perf_counter() - started
            self._log_env_steps(env_steps)
            self._log_module_steps({m: b["rewards"].numel() for m, b in buffers.items()})
            self._log_metrics(current, self.metric_values(buffers, econ_sums))
            batch = self._train_batch(self._trainable(candidates), current, buffers, env_steps)
            if batch.policy_batches:
                coeffs = {m: current.entropy_coeff[self.base_type(m)] for m in self.module_ids}
                self._update(batch, coeffs)
                # Keep the (local) EnvRunner's modules current, for `get_module` and evaluation.
                with self.metrics.log_time((TIMERS, SYNCH_WORKER_WEIGHTS_TIMER)):
                    self.env_runner_group.sync_weights(
                        from_worker_or_learner_group=self.learner_group,
                        policies=list(batch.policy_batches),
                        inference_only=True,
                    )
        agent_steps = env_steps * self.agents
        total_s = time.perf_counter() - started
        self.metrics.log_value("throughput/agent_steps_per_s", agent_steps / total_s, window=1)
        self.metrics.log_value(
            "throughput/rollout_agent_steps_per_s", agent_steps / rollout_s, window=1
        )
        self.curriculum_iteration = e + 1

    def _log_env_steps(self, env_steps: int) -> None:
        """Count this iteration's sampled env steps (the update's shuffling reads them)."""
        self.metrics.log_value((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED), env_steps, reduce="sum")
        self.metrics.log_value(
            (ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), env_steps, reduce="lifetime_sum"
        )

    def _log_module_steps(self, module_steps: dict[str, int]) -> None:
        """Count each module's sampled rows."""
        for mid, rows in module_steps.items():
            self.metrics.log_value(
                (ENV_RUNNER_RESULTS, NUM_MODULE_STEPS_SAMPLED, mid), rows, reduce="sum"
            )

    def _timesteps(self) -> dict[str, Any]:
        """The lifetime counters a learner update receives (they seed its shuffling)."""
        return {
            NUM_ENV_STEPS_SAMPLED_LIFETIME: self.metrics.peek(
                (ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME)
            ),
            NUM_MODULE_STEPS_TRAINED_LIFETIME: self.metrics.peek(
                (LEARNER_RESULTS, ALL_MODULES, NUM_MODULE_STEPS_TRAINED_LIFETIME), default=0
            ),
        }

    def _learners_iteration(
        self, current: CurriculumStage, types: tuple[str, ...], env_steps: int
    ) -> float:
        """Rollouts and update inside the learner actors (``rollouts="learners"``).

        Every learner rolls out its B / N economies and updates (``sampler.learner_iteration``);
        the driver logs the sampled counts first (the update's shuffling reads them, as in a
        driver rollout), then the learners' results and the mean of their metrics (equal
        shares of the economies, so the mean of their means is the mean over all B). The
        learner-update timer covers the learners' rollouts too; there is no rollout timer.

        Returns:
            The slowest learner's rollout time, s.
        """
        self._log_env_steps(env_steps)  # before the update, whose shuffling reads them
        coeffs = {m: current.entropy_coeff[self.base_type(m)] for m in self.module_ids}
        tc = self.train_config
        with self.metrics.log_time((TIMERS, LEARNER_UPDATE_TIMER)):
            replies = self.learner_group.foreach_learner(
                learner_iteration,
                run=tc.to_dict(),
                iteration=current.iteration,
                train_types=types,
                coeffs=coeffs,
                update_kwargs={
                    "timesteps": self._timesteps(),
                    "num_epochs": tc.num_epochs,
                    "minibatch_size": None,
                    "shuffle_batch_per_epoch": tc.shuffle,
                },
            )
            outs = sorted(_results(replies), key=lambda o: o["rank"])
        module_steps: dict[str, int] = {}
        for out in outs:
            for mid, rows in out["module_steps"].items():
                module_steps[mid] = module_steps.get(mid, 0) + rows
        self._log_module_steps(module_steps)
        metrics = {k: sum(o["metrics"][k] for o in outs) / len(outs) for k in outs[0]["metrics"]}
        self._log_metrics(current, metrics)
        results = [o["results"] for o in outs if o["results"] is not None]
        if results:
            self.metrics.aggregate(results, key=LEARNER_RESULTS)
            with self.metrics.log_time((TIMERS, SYNCH_WORKER_WEIGHTS_TIMER)):
                self.env_runner_group.sync_weights(
                    from_worker_or_learner_group=self.learner_group,
                    policies=list(types),
                    inference_only=True,
                )
        return max(o["rollout_s"] for o in outs)

    def _update(self, batch: MultiAgentBatch, coeffs: dict[str, float]) -> None:
        """Set the modules' entropy coefficients, then one learner update on ``batch``."""
        self.learner_group.foreach_learner(lambda learner, c=coeffs: learner.set_entropy_coeffs(c))
        with self.metrics.log_time((TIMERS, LEARNER_UPDATE_TIMER)):
            results = self.learner_group.update(
                batch=batch,
                timesteps=self._timesteps(),
                num_epochs=self.train_config.num_epochs,
                minibatch_size=None,
                shuffle_batch_per_epoch=self.train_config.shuffle,
            )
        self.metrics.aggregate(results, key=LEARNER_RESULTS)

    def _trainable(self, types: tuple[str, ...]) -> tuple[str, ...]:
        """The curriculum's training types that the learner may update (``policies_to_train``).

        Asked of the learner, so that a runtime switch (``learner.config.multi_agent(
        policies_to_train=...)``, e.g. for a best-response run) is honoured too.
        """
        results = self.learner_group.foreach_learner(
            lambda learner, ts=types: [t for t in ts if learner.should_module_be_updated(t)]
        )
        allowed = next(iter(results)).get()
        return tuple(t for t in types if t in allowed)

    def sync_rollout_module(self) -> None:
        """Copy the learner's current weights into the driver-side rollout modules."""
        state = self.learner_group.get_state(components="learner/rl_module")
        self.rollout_module.set_state(state["learner"]["rl_module"])

    def _log_metrics(self, current: CurriculumStage, values: dict[str, float]) -> None:
        """Log ``EconomySampler.metric_values`` and, for RBC, the curriculum's metrics."""
        for name, value in values.items():
            self.metrics.log_value(name, value, window=1)
        if self.continuing:
            return
        for t in self.types:
            self.metrics.log_value(
                (ENV_RUNNER_RESULTS, "module_episode_returns_mean", t),
                values[f"return/{t}_mean"],
                window=1,
            )
        for name, value in current.metrics(self.train_config.economy).items():
            self.metrics.log_value(name, value, window=1)

    # ---- checkpoints ------------------------------------------------------------------------
    def get_state(
        self,
        components: Any = None,
        *,
        not_components: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """RLlib's state plus the sampler's.

        The curriculum iteration and the generator state; a continuing economy's state too;
        with ``rollouts="learners"`` each learner's generator state, by rank.
        """
        state = super().get_state(components, not_components=not_components, **kwargs)
        if not self._check_component(SAMPLER_STATE_KEY, components, not_components):
            return state
        sampler: dict[str, Any] = {
            "curriculum_iteration": self.curriculum_iteration,
            "generator_state": self.economy.generator.get_state().cpu(),
        }
        if self.in_learners:
            states = _results(self.learner_group.foreach_learner(learner_generator_state))
            sampler["learner_generator_states"] = [g for _, g in sorted(states, key=lambda r: r[0])]
        if self.continuing:
            econ_state = self.economy.state
            sampler["economy_state"] = {
                k: getattr(econ_state, k).cpu().numpy() for k in econ_state.__slots__
            }
        state[SAMPLER_STATE_KEY] = sampler
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore RLlib's state and the sampler's.

        Also from checkpoints that kept a growth run's sampler under its old key.
        """
        own = (SAMPLER_STATE_KEY, OLD_GROWTH_STATE_KEY)
        sampler = state.get(SAMPLER_STATE_KEY, state.get(OLD_GROWTH_STATE_KEY))
        super().set_state({k: v for k, v in state.items() if k not in own})
        if sampler is None:
            return
        self.curriculum_iteration = int(sampler.get("curriculum_iteration", 0))
        self.economy.generator.set_state(sampler["generator_state"])
        if self.in_learners and "learner_generator_states" in sampler:
            _results(
                self.learner_group.foreach_learner(
                    set_learner_generator_state,
                    run=self.train_config.to_dict(),
                    states=sampler["learner_generator_states"],
                )
            )
        if self.continuing:
            tensors = {
                k: torch.as_tensor(v, device=self.device)
                for k, v in sampler["economy_state"].items()
            }
            self._obs = self.economy.set_state(GrowthState(**tensors))


def _results(replies: Any) -> list[Any]:
    """The values of ``LearnerGroup.foreach_learner``'s replies; a learner's error is raised."""
    values = []
    for reply in replies:
        value = reply.get()
        if not reply.ok:
            raise value
        values.append(value)
    return values
