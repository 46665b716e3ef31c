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
from rbc_env.core import has_agent_axis
from rbc_env.growth import GrowthEconomy, GrowthState
from trainers.config import GROWTH, RBC, Deviator, TrainConfig
from trainers.curriculum import CurriculumStage, deviation_rewards, deviation_stage, stage
from trainers.rllib.heads import GaussianHeads, action_heads, sample_multi_discrete
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

SAMPLER_STATE_KEY = "batched_sampler"  # the sampler's part of a checkpoint
OLD_GROWTH_STATE_KEY = "growth_sampler"  # a growth run's, in checkpoints before one sampler
ROLLOUT_TIMER = "batched_rollout"
# Added to the standard deviation of the advantages before they are divided by it.
_ADV_EPS = {RBC: 1e-6, GROWTH: 1e-8}


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
        self.train_config = tc = self.config.train_config
        self.device = learner_device(tc.resolved_device)
        spaces = self.env_runner_group.get_spaces()
        spec = self.config.get_multi_rl_module_spec(spaces=spaces, inference_only=False)
        self.rollout_module = spec.build()
        for mid in self.rollout_module.keys():
            self.rollout_module[mid].to(self.device).eval()
        self.curriculum_iteration = 0
        self.curriculum_stage: CurriculumStage | None = None  # the last iteration's stage
        # A deviating agent and its own module (single-agent deviation runs), else None.
        self.deviator: Deviator | None = None
        # How each type's actions are drawn and handed to the economy (grid, box or raw).
        self.heads: dict[str, Any]
        self.economy: Any
        # Continuing economies (growth) keep their state across iterations; episodic ones (RBC)
        # reset at the start of each. T: rollout steps per iteration.
        self.continuing = tc.family == GROWTH
        if self.continuing:
            self.economy = GrowthEconomy(
                tc.economy, tc.batch_size, device=self.device, seed=tc.seed, validate=False
            )
            dtype = self.economy.state.capital.dtype
            bound = tc.economy.action_bound
            self.heads = {t: GaussianHeads(bound, dtype) for t in self.economy.agent_types}
            self.steps = tc.rollout_length
            self._obs = self.economy.reset()
        else:
            parity = tc.economy.parity
            for name, supported in (("sampling", "independent"), ("value_loss", "standard")):
                if getattr(parity, name) != supported:
                    raise NotImplementedError(
                        f"ReferenceParity.{name}={getattr(parity, name)!r} is not implemented "
                        f"by BatchedPPO; use {supported!r}"
                    )
            self.economy = BatchedEconomy(
                tc.economy, tc.batch_size, device=self.device, seed=tc.seed, validate=False
            )
            self.heads = action_heads(tc.economy, self.device)
            self.steps = tc.economy.horizon
            self.deviator = tc.deviator
        specs = self.economy.agent_specs
        self.types = tuple(spec.agent_type for spec in specs)
        self.agents = sum(spec.count for spec in specs)  # per economy
        # One module per type, then a deviating agent's own.
        self.module_ids = self.types + ((self.deviator.module_id,) if self.deviator else ())
        # V after the last step of an episode: the game goes on (bootstrap) or ends (0).
        self.bootstrap = (tc.bootstrap_truncated or not self.economy.terminal_at_horizon) and (
            self.continuing or tc.economy.parity.returns != "reference"
        )

    def stage_of(self, iteration: int) -> CurriculumStage:
        """The curriculum stage of an iteration, or the deviation stage in a deviation run.

        A growth run has no curriculum: every iteration's stage has no masks or bounds, and
        every type trains with its own fixed entropy coefficient.
        """
        tc = self.train_config
        if self.continuing:
            coeffs = {t: tc.ppo(t).entropy_coeff for t in self.types}
            return CurriculumStage(iteration, 1.0, {}, {}, coeffs, self.types)
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
        tc = self.train_config
        e = self.curriculum_iteration
        started = time.perf_counter()
        current = self.stage_of(e)
        self.curriculum_stage = current
        self.sync_rollout_module()

        with self.metrics.log_time((TIMERS, ROLLOUT_TIMER)):
            buffers, econ_sums = self._rollout(current)
        rollout_s = time.perf_counter() - started
        env_steps = tc.batch_size * self.steps
        self.metrics.log_value((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED), env_steps, reduce="sum")
        self.metrics.log_value(
            (ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), env_steps, reduce="lifetime_sum"
        )
        for t, buf in buffers.items():
            self.metrics.log_value(
                (ENV_RUNNER_RESULTS, NUM_MODULE_STEPS_SAMPLED, t),
                buf["rewards"].numel(),
                reduce="sum",
            )
        self._log_metrics(current, buffers, econ_sums)

        candidates = current.training + self.module_ids[len(self.types) :]
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

    def _update(self, batch: MultiAgentBatch, coeffs: dict[str, float]) -> None:
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

    def _inputs(self, obs: dict[str, torch.Tensor], module_id: str) -> tuple[torch.Tensor, Any]:
        """A module's observation rows [M, obs] and its critic's global rows (or None).

        A deviating agent's module reads its agent's row of each economy. A centralized
        critic's global input: the RBC government's observation, one row per agent, as its own
        column; a growth economy's ``global_state()``, appended to each row.
        """
        t = self.base_type(module_id)
        if module_id != t:
            x = obs[t][:, self.deviator.agent_index].float()  # type: ignore[union-attr]
            n = 1
        else:
            x = _rows(obs[t]).float()
            n = obs[t].shape[1] if obs[t].dim() == 3 else 1
        if self.train_config.critic != "centralized":
            return x, None
        if self.continuing:
            g = self.economy.global_state().float()  # [B, G]
            return torch.cat([x, g.repeat_interleave(n, 0)], -1), None
        g = obs["government"].float()  # [B, G]: the economy's aggregate state
        return x, (g.repeat_interleave(n, 0) if n > 1 else g)

    def _module_input(self, module_id: str, obs: torch.Tensor, mask: Any) -> Any:
        if getattr(self.rollout_module[module_id], "masked", False):
            return {OBS_KEY: obs, MASK_KEY: mask.expand(obs.shape[0], -1)}
        return obs

    def _forward(
        self,
        module_id: str,
        x: torch.Tensor,
        mask: torch.Tensor | None,
        g: torch.Tensor | None,
        *,
        values_only: bool = False,
    ) -> tuple[torch.Tensor | None, torch.Tensor]:
        """(masked logits or Gaussian inputs, or None; values) of ``[M, obs]`` rows."""
        module = self.rollout_module[module_id]
        inp = {Columns.OBS: self._module_input(module_id, x, mask)}
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
        for t in self.types:
            heads = self.heads[t]
            for mid in self._acting(t):
                x, g = self._inputs(obs, mid)
                logits, _ = self._forward(mid, x, masks.get(t), g)
                draw = heads.to_economy(heads.sample(logits, generator)[0])
                actions[t] = self._place(actions.get(t), mid, draw, obs[t])
        return actions

    def _acting(self, agent_type: str) -> tuple[str, ...]:
        """The modules that act for a type: its shared module, then a deviating agent's."""
        dev = self.deviator
        if dev is not None and dev.agent_type == agent_type:
            return agent_type, dev.module_id
        return (agent_type,)

    def _place(self, actions: Any, module_id: str, draw: torch.Tensor, like: torch.Tensor) -> Any:
        """A type's actions in the economy's layout.

        The shared module's draw ([M, H] rows) reshaped; a deviating agent's draw written over
        its column of ``actions`` (a copy).
        """
        if module_id == self.base_type(module_id):
            return _unrows(draw, like)
        actions = actions.clone()
        actions[:, self.deviator.agent_index] = draw  # type: ignore[union-attr]
        return actions

    @torch.no_grad()
    def _rollout(
        self, current: CurriculumStage
    ) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
        """T steps of all B economies (the module docstring's step 3).

        Returns:
            Each module's buffers (``trainers.rllib.rollout.allocate``'s, and ``cuts`` [T]
            bool: where an episode ended or restarted after step t) and the economy's summed
            aggregates.
        """
        tc = self.train_config
        econ = self.economy
        steps = self.steps
        if self.continuing:
            obs = self._obs
        else:
            obs = econ.reset(iteration=None if tc.deviation.active else current.iteration)
        buffers: dict[str, dict[str, torch.Tensor]] = {}
        econ_sums: dict[str, torch.Tensor] = {}
        cuts = [False] * steps

        def record(mid: str, step: int, x: Any, g: Any, a: Any, logp: Any, logits: Any, v: Any):
            buf = buffers.get(mid)
            if buf is None:
                buf = buffers[mid] = allocate(steps, x, a, logits)
            buf["obs"][step] = x
            if g is not None:
                if "global" not in buf:
                    buf["global"] = g.new_empty((steps, *g.shape))
                buf["global"][step] = g
            buf["actions"][step] = a
            buf["logp"][step] = logp
            buf["dist"][step] = logits
            buf["values"][step] = v

        dev = tc.deviation
        team = dev.agent_type if dev.active and dev.agent_index < 0 else None
        for step in range(steps):
            state = econ.state
            actions: dict[str, torch.Tensor] = {}
            for t in self.types:
                heads, bounds = self.heads[t], current.bounds.get(t)
                for mid in self._acting(t):
                    x, g = self._inputs(obs, mid)
                    logits, values = self._forward(mid, x, current.masks.get(t), g)
                    a, logp = heads.sample(logits, econ.generator)
                    record(mid, step, x, g, a, logp, logits, values)
                    draw = heads.to_economy(a, bounds)
                    actions[t] = self._place(actions.get(t), mid, draw, obs[t])
            out = econ.step(actions)
            for t in self.types:
                r = out.rewards[t]
                if team is not None and t == team and has_agent_axis(t):
                    r = deviation_rewards(r, tc.deviation.objective)
                buffers[t]["rewards"][step] = r.reshape(-1).float()
            if self.deviator is not None:
                d = self.deviator
                own = out.rewards[d.agent_type][:, d.agent_index]
                buffers[d.module_id]["rewards"][step] = own.float()
            self._accumulate(econ_sums, state, out)
            # Episodic rollouts end with the episode; a continuing one restarts where all its
            # economies reached the horizon (they start together, so they end together).
            cuts[step] = step == steps - 1 if not self.continuing else bool(out.done.any())
            if cuts[step] and self.continuing and not bool(out.done.all()):
                raise RuntimeError("BatchedPPO expects all economies to restart together")
            if step > 0 and not cuts[step - 1]:
                for buf in buffers.values():
                    buf["next_values"][step - 1] = buf["values"][step]
            if cuts[step] or step == steps - 1:
                for mid, buf in buffers.items():
                    buf["next_values"][step] = self._value_after(mid, out.obs, current)
            obs = econ.reset() if cuts[step] and self.continuing else out.obs
        if self.continuing:
            self._obs = obs
        cut = torch.tensor(cuts, dtype=torch.bool, device=self.device)
        for buf in buffers.values():
            buf["cuts"] = cut
        return buffers, econ_sums

    def _value_after(
        self, module_id: str, obs: dict[str, torch.Tensor], current: CurriculumStage
    ) -> torch.Tensor | float:
        """V of the state after a cut (its bootstrap), or 0 where the game ends there."""
        if not self.bootstrap:
            return 0.0
        x, g = self._inputs(obs, module_id)
        mask = current.masks.get(self.base_type(module_id))
        return self._forward(module_id, x, mask, g, values_only=True)[1]

    def _train_batch(
        self,
        types: tuple[str, ...],
        current: CurriculumStage,
        buffers: dict[str, dict[str, torch.Tensor]],
        env_steps: int,
    ) -> MultiAgentBatch:
        """The learner's batch of the training modules (the module docstring's steps 4-5)."""
        tc = self.train_config
        policy_batches = {}
        for t in types:
            buf = buffers[t]
            ppo = tc.ppo(self.base_type(t))
            gamma = tc.gamma if self.continuing else ppo.gamma
            scaled = buf["rewards"] / ppo.reward_scale
            if not self.continuing and tc.economy.parity.returns == "reference":
                targets = reference_returns(scaled, gamma)
                advantages = targets - buf["values"]
            else:
                advantages, targets = gae_truncated(
                    scaled,
                    buf["values"],
                    buf["next_values"],
                    buf["cuts"],
                    gamma=gamma,
                    lambda_=ppo.gae_lambda,
                )
            eps = _ADV_EPS[tc.family]
            advantages = (advantages - advantages.mean()) / (advantages.std() + eps)
            obs = buf["obs"].flatten(0, 1)
            columns = {}
            if "global" in buf:
                columns[GLOBAL_KEY] = buf["global"].flatten(0, 1)
            policy_batches[t] = SampleBatch(
                {
                    **columns,
                    Columns.OBS: self._module_input(t, obs, current.masks.get(self.base_type(t))),
                    Columns.ACTIONS: buf["actions"].flatten(0, 1),
                    Columns.ACTION_LOGP: buf["logp"].flatten(0, 1),
                    Columns.ACTION_DIST_INPUTS: buf["dist"].flatten(0, 1),
                    Postprocessing.ADVANTAGES: advantages.flatten(),
                    Postprocessing.VALUE_TARGETS: targets.flatten(),
                }
            )
        return MultiAgentBatch(policy_batches, env_steps=env_steps)

    def _accumulate(self, sums: dict[str, torch.Tensor], state: Any, out: Any) -> None:
        """Add this step's economic aggregates to ``sums`` (on the device: no host sync)."""
        if self.continuing:
            accumulate_flows(sums, out.flows)
        else:
            accumulate_econ(sums, state, out)

    def _log_metrics(
        self,
        current: CurriculumStage,
        buffers: dict[str, dict[str, torch.Tensor]],
        econ_sums: dict[str, torch.Tensor],
    ) -> None:
        tc = self.train_config
        values: dict[str, Any] = {}
        for t, buf in buffers.items():
            rewards = buf["rewards"]
            values[f"reward/{t}_mean"] = rewards.mean()
            if self.continuing:
                values[f"policy/log_std/{t}"] = (
                    self.rollout_module[t].effective_log_std().detach().mean()
                )
            else:
                # RLlib's convention: per episode, summed over the module's agents.
                n_agents = rewards.shape[1] // tc.batch_size
                values[f"return/{t}_mean"] = rewards.sum(0).mean() * n_agents
        if self.continuing:
            for name, total in econ_sums.items():
                values[f"econ/{name}_mean"] = float(total) / self.steps
        else:
            denominators = econ_denominators(tc, self.steps)
            for name, total in econ_sums.items():
                values[f"econ/{name}"] = total / denominators[name]
        host = {k: float(v) for k, v in values.items()}
        for name, value in host.items():
            self.metrics.log_value(name, value, window=1)
        if self.continuing:
            return
        for t in self.types:
            self.metrics.log_value(
                (ENV_RUNNER_RESULTS, "module_episode_returns_mean", t),
                host[f"return/{t}_mean"],
                window=1,
            )
        for name, value in current.metrics(tc.economy).items():
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

        The curriculum iteration and the generator state; a continuing economy's state too.
        """
        state = super().get_state(components, not_components=not_components, **kwargs)
        if not self._check_component(SAMPLER_STATE_KEY, components, not_components):
            return state
        sampler: dict[str, Any] = {
            "curriculum_iteration": self.curriculum_iteration,
            "generator_state": self.economy.generator.get_state().cpu(),
        }
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
        if self.continuing:
            tensors = {
                k: torch.as_tensor(v, device=self.device)
                for k, v in sampler["economy_state"].items()
            }
            self._obs = self.economy.set_state(GrowthState(**tensors))


# ---- rollout helpers ------------------------------------------------------------------------
def _rows(x: torch.Tensor) -> torch.Tensor:
    """[B, N, ...] -> [B·N, ...]; the government's [B, ...] stays."""
    return x.flatten(0, 1) if x.dim() == 3 else x


def _unrows(a: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Actions [M, H] back to the layout of observations ``like``: [B, N, H] or [B, H]."""
    if like.dim() == 3:
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


_LOGGED_FLOWS = ("saving_share", "hours", "markup", "price_min", "consumption")


def accumulate_flows(sums: dict[str, torch.Tensor], flows: dict[str, torch.Tensor]) -> None:
    """Add this step's mean of each logged growth flow to ``sums`` (no host sync per step)."""
    for name in _LOGGED_FLOWS:
        if name in flows:
            mean = flows[name].float().mean()
            sums[name] = sums[name] + mean if name in sums else mean
