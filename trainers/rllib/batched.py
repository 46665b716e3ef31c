"""BatchedPPO: RLlib's PPO with tensor rollouts on the economy instead of EnvRunners.

One PPO class for both economy families of ``trainers.config.TrainConfig``. With an RBC
economy it rolls out ``BatchedEconomy`` (below); with a growth economy it rolls out through
``trainers.rllib.growth.GrowthSampler`` (continuing economies, truncation at the horizon,
Gaussian policies). Both share the learner update, the driver-side modules and their
synchronization, the metrics of steps and throughput, and checkpoints.

One training iteration (spec 9.5) on the RBC economy:

1. the curriculum stage of iteration e (``trainers.curriculum.stage``): θ factor, masks,
   entropy coefficients, which types train;
2. pull the learner's weights into the driver-side MultiRLModule (on the economy's device);
3. reset all B economies (θ factor of e) and roll out one T-step episode: per step and type, one
   ``forward_train`` pass (masked logits + trunk embeddings) and the value head on the flattened
   ``[B·N, obs]`` rows, actions drawn from the masked logits with the economy's generator;
4. per type: rewards divided by the type's reward scale, GAE(γ, λ) on ``[T, B·N]`` tensors with
   the truncated episode bootstrapped from V(s_T), advantages standardized over the type's rows;
5. a ``MultiAgentBatch`` of the training types only, and ``learner_group.update`` (with the
   proportional learner: ``num_epochs`` passes of ``num_minibatches`` minibatches per module);
6. metrics through ``self.metrics`` (flat keys of the result dict): per-type mean per-step reward
   (``reward/<type>_mean``) and per-episode return summed over the type's agents
   (``return/<type>_mean``, also ``env_runners/module_episode_returns_mean``), economic
   aggregates (``econ/price_mean``, ``econ/wage_mean``, ``econ/hours_mean``,
   ``econ/consumption_mean``, ``econ/exports_mean``, ``econ/production_mean``,
   ``econ/income_tax_mean``, ``econ/corporate_tax_mean``, ``econ/welfare_mean``, budgets), the
   curriculum (``curriculum/...``) and ``throughput/agent_steps_per_s``.

Sampling draws from the economy's own ``torch.Generator``, the learner reshuffles with a generator
seeded by (seed, env steps), and the checkpoint carries the generator state and the curriculum
iteration, so a run resumed from a checkpoint repeats the uninterrupted run's next iterations
(bit-identical on the CPU; tested).

Centralized critic (``TrainConfig.critic="centralized"``): every row also carries the
government's observation (the economy's aggregate state) in the ``global_state`` column, which
only the value network reads (``trainers.rllib.modules.CentralCriticPPOTorchRLModule``).

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
from ray.rllib.core.columns import Columns
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
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

from rbc_env import BatchedEconomy
from rbc_env.core import AGENT_TYPES, has_agent_axis
from trainers.config import GROWTH, Deviator, TrainConfig
from trainers.curriculum import CurriculumStage, deviation_rewards, deviation_stage, stage
from trainers.rllib.growth import GROWTH_SAMPLER_STATE_KEY, GrowthSampler
from trainers.rllib.heads import action_heads, sample_multi_discrete
from trainers.rllib.modules import GLOBAL_KEY, MASK_KEY, OBS_KEY
from trainers.rllib.rollout import (
    allocate,
    gae,
    gae_truncated,
    learner_device,
    reference_returns,
)

__all__ = [
    "BatchedPPO",
    "BatchedPPOConfig",
    "gae",
    "gae_truncated",
    "learner_device",
    "reference_returns",
    "sample_multi_discrete",
]

SAMPLER_STATE_KEY = "batched_sampler"
ROLLOUT_TIMER = "batched_rollout"
_ADV_EPS = 1e-6


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
class BatchedPPO(PPO):
    """PPO whose ``training_step`` rolls out ``BatchedEconomy`` on the learner's device.

    Everything else is RLlib's: RLModules, Learner/LearnerGroup, PPO loss, callbacks, metrics,
    checkpoints (``save_to_path`` / ``Algorithm.from_checkpoint``) and Tune. Build it with
    ``trainers.rllib.algo.build_config``.
    """

    @classmethod
    def get_default_config(cls) -> BatchedPPOConfig:
        """A fresh ``BatchedPPOConfig``."""
        return BatchedPPOConfig(cls)

    def setup(self, config: Any) -> None:
        """Build RLlib's components, then the economy and the driver-side modules."""
        super().setup(config)
        self.train_config = tc = self.config.train_config
        self.device = learner_device(tc.resolved_device)
        spaces = self.env_runner_group.get_spaces()
        spec = self.config.get_multi_rl_module_spec(spaces=spaces, inference_only=False)
        self.rollout_module = spec.build()
        for mid in self.rollout_module.keys():
            self.rollout_module[mid].to(self.device).eval()
        # The growth family's rollouts, or None for the RBC economy.
        self.growth: GrowthSampler | None = None
        if tc.family == GROWTH:
            self.growth = GrowthSampler(tc, self.device, self.rollout_module)
            self.economy: Any = self.growth.economy
            return
        parity = tc.economy.parity
        for name, supported in (("sampling", "independent"), ("value_loss", "standard")):
            if getattr(parity, name) != supported:
                raise NotImplementedError(
                    f"ReferenceParity.{name}={getattr(parity, name)!r} is not implemented by "
                    f"BatchedPPO; use {supported!r}"
                )
        self.economy = BatchedEconomy(
            tc.economy, tc.batch_size, device=self.device, seed=tc.seed, validate=False
        )
        self.curriculum_iteration = 0
        # How each type's actions are drawn and handed to the economy (grid or box).
        self.heads = action_heads(tc.economy, self.device)
        self.curriculum_stage: CurriculumStage | None = None  # the last iteration's stage
        # A deviating agent and its own module (single-agent deviation runs), else None.
        self.deviator: Deviator | None = tc.deviator

    def stage_of(self, iteration: int) -> CurriculumStage:
        """The curriculum stage of an iteration, or the deviation stage in a deviation run."""
        tc = self.train_config
        if tc.deviation.active:
            return deviation_stage(tc.deviation, iteration, tc.economy, self.device)
        return stage(tc.curriculum, iteration, tc.economy, self.device)

    def base_type(self, module_id: str) -> str:
        """The agent type a module acts for (a deviating agent's module: its type)."""
        if self.deviator is not None and module_id == self.deviator.module_id:
            return self.deviator.agent_type
        return module_id

    # ---- one iteration --------------------------------------------------------------------
    def training_step(self) -> None:
        """One iteration: (curriculum stage,) rollout, GAE, learner update, metrics."""
        if self.growth is not None:
            self._growth_step(self.growth)
            return
        tc = self.train_config
        e = self.curriculum_iteration
        started = time.perf_counter()
        current = self.stage_of(e)
        self.curriculum_stage = current
        self.sync_rollout_module()

        with self.metrics.log_time((TIMERS, ROLLOUT_TIMER)):
            buffers, econ_sums = self._rollout(current)
        rollout_s = time.perf_counter() - started
        env_steps = tc.batch_size * tc.economy.horizon
        self._log_env_steps(env_steps)
        for t, buf in buffers.items():
            self.metrics.log_value(
                (ENV_RUNNER_RESULTS, NUM_MODULE_STEPS_SAMPLED, t),
                buf["rewards"].numel(),
                reduce="sum",
            )
        self._log_metrics(current, buffers, econ_sums)

        candidates = current.training + tc.module_ids[len(AGENT_TYPES) :]
        batch = self._train_batch(self._trainable(candidates), current, buffers, env_steps)
        if batch.policy_batches:
            coeffs = {m: current.entropy_coeff[self.base_type(m)] for m in tc.module_ids}
            self._update(batch, coeffs, shuffle=tc.shuffle)
            # Keep the (local) EnvRunner's modules current, for `get_module` and evaluation.
            with self.metrics.log_time((TIMERS, SYNCH_WORKER_WEIGHTS_TIMER)):
                self.env_runner_group.sync_weights(
                    from_worker_or_learner_group=self.learner_group,
                    policies=list(batch.policy_batches),
                    inference_only=True,
                )
        agent_steps = env_steps * tc.economy.n_agents
        total_s = time.perf_counter() - started
        self.metrics.log_value("throughput/agent_steps_per_s", agent_steps / total_s, window=1)
        self.metrics.log_value(
            "throughput/rollout_agent_steps_per_s", agent_steps / rollout_s, window=1
        )
        self.curriculum_iteration = e + 1

    def _growth_step(self, sampler: GrowthSampler) -> None:
        """One iteration on a growth economy: rollout, GAE, learner update, metrics."""
        started = time.perf_counter()
        self.sync_rollout_module()
        batch = sampler.sample(self.metrics)
        self._log_env_steps(sampler.env_steps)
        self._update(batch, sampler.entropy_coeffs(), shuffle=True)
        elapsed = time.perf_counter() - started
        self.metrics.log_value(
            "throughput/agent_steps_per_s", sampler.agent_steps / elapsed, window=1
        )

    def _log_env_steps(self, env_steps: int) -> None:
        """RLlib's counters of sampled env steps (this iteration's and the lifetime's)."""
        self.metrics.log_value((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED), env_steps, reduce="sum")
        self.metrics.log_value(
            (ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), env_steps, reduce="lifetime_sum"
        )

    def _update(self, batch: MultiAgentBatch, coeffs: dict[str, float], *, shuffle: bool) -> None:
        """Set the modules' entropy coefficients, then one learner update on ``batch``."""
        self.learner_group.foreach_learner(lambda learner, c=coeffs: learner.set_entropy_coeffs(c))
        with self.metrics.log_time((TIMERS, LEARNER_UPDATE_TIMER)):
            results = self.learner_group.update(
                batch=batch,
                timesteps={
                    NUM_ENV_STEPS_SAMPLED_LIFETIME: self.metrics.peek(
                        (ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME)
                    ),
                    NUM_MODULE_STEPS_TRAINED_LIFETIME: self.metrics.peek(
                        (LEARNER_RESULTS, ALL_MODULES, NUM_MODULE_STEPS_TRAINED_LIFETIME),
                        default=0,
                    ),
                },
                num_epochs=self.train_config.num_epochs,
                minibatch_size=None,
                shuffle_batch_per_epoch=shuffle,
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

    def _global_rows(self, obs: dict[str, torch.Tensor], agent_type: str) -> torch.Tensor | None:
        """The centralized critic's input: the government's observation, one row per agent."""
        if self.train_config.critic != "centralized":
            return None
        g = obs["government"].float()  # [B, G]: the economy's aggregate state
        n = obs[agent_type].shape[1] if has_agent_axis(agent_type) else 1
        return g.repeat_interleave(n, 0) if n > 1 else g

    def _module_input(self, agent_type: str, obs: torch.Tensor, mask: torch.Tensor) -> Any:
        if self.rollout_module[agent_type].masked:
            return {OBS_KEY: obs, MASK_KEY: mask.expand(obs.shape[0], -1)}
        return obs

    def _forward(
        self,
        module_id: str,
        x: torch.Tensor,
        mask: torch.Tensor,
        g: torch.Tensor | None,
        *,
        values_only: bool = False,
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """(masked logits or None, values) of ``[M, obs]`` rows under one module."""
        module = self.rollout_module[module_id]
        inp = {Columns.OBS: self._module_input(self.base_type(module_id), x, mask)}
        if g is not None:
            inp[GLOBAL_KEY] = g
        with torch.autocast(
            self.device.type, dtype=torch.bfloat16, enabled=self.train_config.precision == "bf16"
        ):
            if values_only:
                return None, module.compute_values(inp).float()
            out = module.forward_train(inp)
            values = module.compute_values(inp, embeddings=out.get(Columns.EMBEDDINGS))
        return out[Columns.ACTION_DIST_INPUTS].float(), values.float()

    def _deviator_rows(self, obs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, Any]:
        """The deviating agent's observation rows [B, obs] and its critic's global rows."""
        assert self.deviator is not None
        dev = self.deviator
        g = obs["government"].float() if self.train_config.critic == "centralized" else None
        return obs[dev.agent_type][:, dev.agent_index].float(), g

    @torch.no_grad()
    def act(
        self,
        obs: dict[str, torch.Tensor],
        masks: dict[str, torch.Tensor],
        generator: torch.Generator,
    ) -> dict[str, torch.Tensor]:
        """Actions of every type (and of a deviating agent) from the driver-side modules.

        Args:
            obs: the economy's observations (``[B, N, obs]`` or ``[B, obs]`` per type).
            masks: flat allowed-action masks per type.
            generator: the only source of randomness.

        Returns:
            Actions in the economy's layout, one draw from each stochastic policy.
        """
        actions = {}
        for t in AGENT_TYPES:
            heads = self.heads[t]
            logits, _ = self._forward(t, _rows(obs[t]).float(), masks[t], self._global_rows(obs, t))
            a = heads.to_economy(heads.sample(logits, generator)[0])
            actions[t] = _unrows(a, obs[t], has_agent_axis(t))
            dev = self.deviator
            if dev is not None and dev.agent_type == t:
                x, g = self._deviator_rows(obs)
                logits, _ = self._forward(dev.module_id, x, masks[t], g)
                actions[t] = actions[t].clone()
                draw = heads.to_economy(heads.sample(logits, generator)[0])
                actions[t][:, dev.agent_index] = draw
        return actions

    @torch.no_grad()
    def _rollout(
        self, current: CurriculumStage
    ) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
        tc = self.train_config
        econ = self.economy
        horizon = tc.economy.horizon
        obs = econ.reset(iteration=None if tc.deviation.active else current.iteration)
        buffers: dict[str, dict[str, torch.Tensor]] = {}
        econ_sums: dict[str, torch.Tensor] = {}

        def record(mid: str, step: int, x: Any, g: Any, a: Any, logp: Any, logits: Any, v: Any):
            buf = buffers.get(mid)
            if buf is None:
                buf = buffers[mid] = allocate(horizon, x, a, logits, continuing=False)
            buf["obs"][step] = x
            if g is not None:
                if "global" not in buf:
                    buf["global"] = g.new_empty((horizon, *g.shape))
                buf["global"][step] = g
            buf["actions"][step] = a
            buf["logp"][step] = logp
            buf["dist"][step] = logits
            buf["values"][step] = v

        dev = tc.deviation
        team = dev.agent_type if dev.active and dev.agent_index < 0 else None
        for step in range(horizon):
            state = econ.state
            actions = {}
            for t in AGENT_TYPES:
                heads, bounds = self.heads[t], current.bounds[t]
                x = _rows(obs[t]).float()
                g = self._global_rows(obs, t)
                logits, values = self._forward(t, x, current.masks[t], g)
                a, logp = heads.sample(logits, econ.generator)
                record(t, step, x, g, a, logp, logits, values)
                actions[t] = _unrows(heads.to_economy(a, bounds), obs[t], has_agent_axis(t))
                deviator = self.deviator
                if deviator is not None and deviator.agent_type == t:
                    xi, gi = self._deviator_rows(obs)
                    mid = deviator.module_id
                    logits_i, values_i = self._forward(mid, xi, current.masks[t], gi)
                    ai, logp_i = heads.sample(logits_i, econ.generator)
                    record(mid, step, xi, gi, ai, logp_i, logits_i, values_i)
                    actions[t] = actions[t].clone()
                    actions[t][:, deviator.agent_index] = heads.to_economy(ai, bounds)
            out_step = econ.step(actions)
            for t in AGENT_TYPES:
                r = out_step.rewards[t]
                if team is not None and t == team and has_agent_axis(t):
                    r = deviation_rewards(r, tc.deviation.objective)
                buffers[t]["rewards"][step] = r.reshape(-1).float()
            if self.deviator is not None:
                d = self.deviator
                own = out_step.rewards[d.agent_type][:, d.agent_index]
                buffers[d.module_id]["rewards"][step] = own.float()
            accumulate_econ(econ_sums, state, out_step)
            obs = out_step.obs
        bootstrap = tc.bootstrap_truncated and tc.economy.parity.returns != "reference"
        for mid in buffers:
            if not bootstrap:
                buffers[mid]["values"][horizon] = 0.0
                continue
            t = self.base_type(mid)
            if mid == t:
                x, g = _rows(obs[t]).float(), self._global_rows(obs, t)
            else:
                x, g = self._deviator_rows(obs)
            _, buffers[mid]["values"][horizon] = self._forward(
                mid, x, current.masks[t], g, values_only=True
            )
        return buffers, econ_sums

    def _train_batch(
        self,
        types: tuple[str, ...],
        current: CurriculumStage,
        buffers: dict[str, dict[str, torch.Tensor]],
        env_steps: int,
    ) -> MultiAgentBatch:
        tc = self.train_config
        policy_batches = {}
        for t in types:
            buf = buffers[t]
            ppo = tc.ppo(self.base_type(t))
            scaled = buf["rewards"] / ppo.reward_scale
            if tc.economy.parity.returns == "reference":
                targets = reference_returns(scaled, ppo.gamma)
                advantages = targets - buf["values"][:-1]
            else:
                advantages, targets = gae(
                    scaled, buf["values"], gamma=ppo.gamma, lambda_=ppo.gae_lambda
                )
            advantages = (advantages - advantages.mean()) / (advantages.std() + _ADV_EPS)
            obs = buf["obs"].flatten(0, 1)
            n_rows = obs.shape[0]
            mask = current.masks[self.base_type(t)].expand(n_rows, -1)
            columns = {}
            if "global" in buf:
                columns[GLOBAL_KEY] = buf["global"].flatten(0, 1)
            policy_batches[t] = SampleBatch(
                {
                    **columns,
                    Columns.OBS: self._module_input(self.base_type(t), obs, mask),
                    Columns.ACTIONS: buf["actions"].flatten(0, 1),
                    Columns.ACTION_LOGP: buf["logp"].flatten(0, 1),
                    Columns.ACTION_DIST_INPUTS: buf["dist"].flatten(0, 1),
                    Postprocessing.ADVANTAGES: advantages.flatten(),
                    Postprocessing.VALUE_TARGETS: targets.flatten(),
                }
            )
        return MultiAgentBatch(policy_batches, env_steps=env_steps)

    def _log_metrics(
        self,
        current: CurriculumStage,
        buffers: dict[str, dict[str, torch.Tensor]],
        econ_sums: dict[str, torch.Tensor],
    ) -> None:
        tc = self.train_config
        horizon = tc.economy.horizon
        values: dict[str, float] = {}
        for t, buf in buffers.items():
            rewards = buf["rewards"]
            values[f"reward/{t}_mean"] = rewards.mean()
            # RLlib's convention: per episode, summed over the module's agents.
            n_agents = rewards.shape[1] // tc.batch_size
            values[f"return/{t}_mean"] = rewards.sum(0).mean() * n_agents
        denominators = econ_denominators(tc, horizon)
        for name, total in econ_sums.items():
            values[f"econ/{name}"] = total / denominators[name]
        host = {k: float(v) for k, v in values.items()}
        for name, value in host.items():
            self.metrics.log_value(name, value, window=1)
        for t in AGENT_TYPES:
            self.metrics.log_value(
                (ENV_RUNNER_RESULTS, "module_episode_returns_mean", t),
                host[f"return/{t}_mean"],
                window=1,
            )
        self.metrics.log_value("curriculum/iteration", current.iteration, window=1)
        self.metrics.log_value("curriculum/theta_factor", current.theta_factor, window=1)
        for t in AGENT_TYPES:
            self.metrics.log_value(
                f"curriculum/entropy_coeff/{t}", current.entropy_coeff[t], window=1
            )
            self.metrics.log_value(f"curriculum/training/{t}", float(current.trains(t)), window=1)
            allowed = current.allowed_share(t, tc.economy)
            self.metrics.log_value(f"curriculum/allowed_share/{t}", allowed, window=1)

    # ---- checkpoints ------------------------------------------------------------------------
    def get_state(
        self,
        components: Any = None,
        *,
        not_components: Any = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """RLlib's state plus the sampler's.

        RBC: the curriculum iteration and the generator state; growth: the generator, the
        economy state and the env steps so far.
        """
        state = super().get_state(components, not_components=not_components, **kwargs)
        if self.growth is not None:
            if self._check_component(GROWTH_SAMPLER_STATE_KEY, components, not_components):
                state[GROWTH_SAMPLER_STATE_KEY] = self.growth.get_state()
            return state
        if self._check_component(SAMPLER_STATE_KEY, components, not_components):
            state[SAMPLER_STATE_KEY] = {
                "curriculum_iteration": self.curriculum_iteration,
                "generator_state": self.economy.generator.get_state().cpu(),
            }
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore RLlib's state and the sampler's."""
        own = (SAMPLER_STATE_KEY, GROWTH_SAMPLER_STATE_KEY)
        sampler = state.get(SAMPLER_STATE_KEY)
        super().set_state({k: v for k, v in state.items() if k not in own})
        if self.growth is not None:
            if GROWTH_SAMPLER_STATE_KEY in state:
                self.growth.set_state(state[GROWTH_SAMPLER_STATE_KEY])
            return
        if sampler is not None:
            self.curriculum_iteration = int(sampler["curriculum_iteration"])
            self.economy.generator.set_state(sampler["generator_state"])


# ---- rollout helpers ------------------------------------------------------------------------
def _rows(x: torch.Tensor) -> torch.Tensor:
    """[B, N, ...] -> [B·N, ...]; the government's [B, ...] stays."""
    return x.flatten(0, 1) if x.dim() == 3 else x


def _unrows(a: torch.Tensor, like: torch.Tensor, agent_axis: bool) -> torch.Tensor:
    """Actions [M, H] back to the economy's layout ([B, N, H] or [B, H])."""
    if agent_axis:
        return a.reshape(like.shape[0], like.shape[1], a.shape[-1])
    return a


def accumulate_econ(sums: dict[str, torch.Tensor], state: Any, out: Any) -> None:
    """Add this step's economic aggregates (sums over economies and agents) to ``sums``."""
    flows = out.flows
    terms = {
        "price_mean": state.price.sum(),
        "wage_mean": state.wage.sum(),
        "income_tax_mean": state.income_tax.sum(),
        "corporate_tax_mean": state.corporate_tax.sum(),
        "hours_mean": flows["hours"].sum(),
        "consumption_mean": flows["consumption"].sum(),
        "exports_mean": flows["exports"].sum(),
        "production_mean": flows["production"].sum(),
        "welfare_mean": out.rewards["government"].sum(),
        "consumer_budget_mean": state.consumer_budget.sum(),
        "firm_budget_mean": state.firm_budget.sum(),
    }
    for name, value in terms.items():
        value = value.double()
        sums[name] = sums[name] + value if name in sums else value


def econ_denominators(tc: TrainConfig, horizon: int) -> dict[str, float]:
    """Counts that turn the sums of ``accumulate_econ`` into per-step, per-agent means."""
    b, c, f = tc.batch_size, tc.economy.n_consumers, tc.economy.n_firms
    steps = b * horizon
    return {
        "price_mean": steps * f,
        "wage_mean": steps * f,
        "income_tax_mean": steps,
        "corporate_tax_mean": steps,
        "hours_mean": steps * c,
        "consumption_mean": steps * c,  # goods per consumer per period, all goods
        "exports_mean": steps * f,
        "production_mean": steps * f,
        "welfare_mean": steps,
        "consumer_budget_mean": steps * c,
        "firm_budget_mean": steps * f,
    }
