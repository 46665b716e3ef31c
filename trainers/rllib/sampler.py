"""The economy sampler of the batched trainer: rollouts, returns and the learner's batch.

``EconomySampler`` rolls out one economy (``BatchedEconomy`` or ``GrowthEconomy``) of B
replicas with a set of RLModules, computes GAE and builds the ``MultiAgentBatch`` a learner
trains on (``trainers.rllib.batched`` describes the iteration). Two places use it:

- the driver (``BatchedPPO``, ``TrainConfig.rollouts = "driver"``): one sampler of all B
  economies on the driver's device, with modules synchronized from the learner every iteration;
- each learner actor (``rollouts = "learners"``, RBC family, ``num_learners >= 1``):
  ``learner_iteration`` rolls out the learner's own B / N economies with the learner's own
  modules on the learner's device, then updates. DDP all-reduces the gradients, and the
  advantages are standardized over all learners' rows (``LearnerSampler._standardize``), so
  the update sees the statistics the driver's sampler would. No batch is shipped from the
  driver: only the learners' metrics, and the weights the driver copies for its own modules
  (evaluation, ``act``) once an iteration.

Learner k rolls out with the seed of ``learner_seed(seed, k)``; learner 0 uses the run's seed,
so one learner actor repeats the driver's rollout bit for bit (tested).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch

from rbc_env import BatchedEconomy
from rbc_env.core import has_agent_axis
from rbc_env.growth import GrowthEconomy
from trainers.config import GROWTH, RBC, Deviator, TrainConfig
from trainers.curriculum import CurriculumStage, deviation_rewards, deviation_stage, stage
from trainers.rllib.heads import GaussianHeads, action_heads
from trainers.rllib.modules import GLOBAL_KEY, MASK_KEY, OBS_KEY
from trainers.rllib.rollout import allocate, gae_truncated, reference_returns

__all__ = [
    "EconomySampler",
    "LearnerSampler",
    "accumulate_econ",
    "econ_denominators",
    "learner_iteration",
    "learner_generator_state",
    "learner_seed",
    "set_learner_generator_state",
]

# Added to the standard deviation of the advantages before they are divided by it.
_ADV_EPS = {RBC: 1e-6, GROWTH: 1e-8}


class EconomySampler:
    """Rollouts of one economy with a set of modules (mixin of ``BatchedPPO``, ``LearnerSampler``).

    ``init_sampler`` sets every attribute the methods read.
    """

    train_config: TrainConfig
    device: torch.device
    rollout_module: Any  # module ID -> RLModule (a MultiRLModule or a dict)

    def init_sampler(self, tc: TrainConfig, device: torch.device, rollout_module: Any) -> None:
        """Build the economy of ``tc.batch_size`` replicas (seed ``tc.seed``) and its heads.

        Args:
            tc: the run's config (for a learner: its share of the economies and its seed).
            device: where the economy and the modules live.
            rollout_module: module ID -> RLModule, in eval mode on ``device``.

        Raises:
            NotImplementedError: on a reference-parity option the sampler does not implement.
        """
        self.train_config = tc
        self.device = device
        self.rollout_module = rollout_module
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
                tc.economy, tc.batch_size, device=device, seed=tc.seed, validate=False
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
                tc.economy, tc.batch_size, device=device, seed=tc.seed, validate=False
            )
            self.heads = action_heads(tc.economy, device)
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
            advantages = self._standardize(advantages, _ADV_EPS[tc.family])
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

    def _standardize(self, advantages: torch.Tensor, eps: float) -> torch.Tensor:
        """(A - mean A) / (std A + eps) over this sampler's rows of one module."""
        return (advantages - advantages.mean()) / (advantages.std() + eps)

    def metric_values(
        self, buffers: dict[str, dict[str, torch.Tensor]], econ_sums: dict[str, torch.Tensor]
    ) -> dict[str, float]:
        """This rollout's metrics (``trainers.rllib.batched``'s step 6), as host floats.

        Per module: ``reward/<m>_mean``; RBC: ``return/<m>_mean`` (RLlib's convention: per
        episode, summed over the module's agents), ``econ/<name>`` (per step and agent);
        growth: ``policy/log_std/<m>``, ``econ/<name>_mean`` (per step).
        """
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
                n_agents = rewards.shape[1] // tc.batch_size
                values[f"return/{t}_mean"] = rewards.sum(0).mean() * n_agents
        if self.continuing:
            for name, total in econ_sums.items():
                values[f"econ/{name}_mean"] = float(total) / self.steps
        else:
            denominators = econ_denominators(tc, self.steps)
            for name, total in econ_sums.items():
                values[f"econ/{name}"] = total / denominators[name]
        return {k: float(v) for k, v in values.items()}


# ---- rollouts in the learner actors ---------------------------------------------------------
def learner_seed(seed: int, rank: int) -> int:
    """The economy seed of learner ``rank``.

    The run's own for rank 0, an independent stream (numpy ``SeedSequence((seed, rank))``) for
    the others.
    """
    if rank == 0:
        return seed
    return int(np.random.SeedSequence((seed, rank)).generate_state(1, np.uint64)[0] >> 1)


def _rank_and_size() -> tuple[int, int]:
    """This process's rank and the learners' count (0 and 1 outside a process group)."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class LearnerSampler(EconomySampler):
    """The sampler a learner actor keeps: its B / N economies and its own modules.

    Args:
        learner: the learner actor's ``Learner`` (its device and MultiRLModule).
        tc: the run's config (``batch_size`` is the whole run's B, a multiple of the learners'
            count: ``trainers.rllib.algo.build_config`` refuses any other).
    """

    def __init__(self, learner: Any, tc: TrainConfig) -> None:
        self.rank, self.size = _rank_and_size()
        own = tc.replace(
            batch_size=tc.batch_size // self.size, seed=learner_seed(tc.seed, self.rank)
        )
        modules = {}
        for mid in learner.module.keys():
            module = learner.module[mid]
            modules[mid] = module.unwrapped() if hasattr(module, "unwrapped") else module
        self.init_sampler(own, learner._device, modules)

    def _standardize(self, advantages: torch.Tensor, eps: float) -> torch.Tensor:
        """(A - mean A) / (std A + eps) over every learner's rows of the module (all-reduced).

        One learner: ``EconomySampler``'s own formula, bit for bit. Several: the mean and the
        unbiased standard deviation of all rows, from all-reduced float64 sums (two passes).
        """
        if self.size == 1:
            return super()._standardize(advantages, eps)
        dist = torch.distributed
        sums = torch.stack(
            [
                advantages.sum(dtype=torch.float64),
                torch.tensor(advantages.numel(), dtype=torch.float64, device=advantages.device),
            ]
        )
        dist.all_reduce(sums)
        mean = sums[0] / sums[1]
        squares = (advantages.double() - mean).square().sum()
        dist.all_reduce(squares)
        std = (squares / (sums[1] - 1)).sqrt()
        return (advantages - mean.float()) / (std.float() + eps)


def _sampler_of(learner: Any, run: dict[str, Any]) -> LearnerSampler:
    """The learner's sampler, built on first use from the run's ``TrainConfig.to_dict()``."""
    sampler = getattr(learner, "_economy_sampler", None)
    if sampler is None:
        sampler = learner._economy_sampler = LearnerSampler(learner, TrainConfig.from_dict(run))
    return sampler


def learner_iteration(
    learner: Any,
    *,
    run: dict[str, Any],
    iteration: int,
    train_types: tuple[str, ...],
    coeffs: dict[str, float],
    update_kwargs: dict[str, Any],
) -> dict[str, Any]:
    """One iteration inside a learner actor: roll out its economies, then update.

    Called by ``BatchedPPO`` on every learner at once (``LearnerGroup.foreach_learner``); the
    learners' gradient all-reduce (DDP) and ``LearnerSampler._standardize`` synchronize them.

    Args:
        learner: the learner actor's ``Learner``.
        run: ``TrainConfig.to_dict()`` of the run (the sampler is built on the first call).
        iteration: the curriculum iteration e.
        train_types: the modules to update (already allowed by the learner).
        coeffs: entropy coefficient per module.
        update_kwargs: ``Learner.update``'s keyword arguments (timesteps, epochs, shuffling).

    Returns:
        ``rank``; ``metrics`` (``EconomySampler.metric_values`` of this learner's economies);
        ``module_steps`` sampled per module; ``rollout_s``; ``results`` of the update (None
        when no module trains).
    """
    from ray.rllib.core.learner.training_data import TrainingData

    sampler = _sampler_of(learner, run)
    started = time.perf_counter()
    current = sampler.stage_of(iteration)
    buffers, econ_sums = sampler._rollout(current)
    rollout_s = time.perf_counter() - started
    out = {
        "rank": sampler.rank,
        "metrics": sampler.metric_values(buffers, econ_sums),
        "module_steps": {mid: buf["rewards"].numel() for mid, buf in buffers.items()},
        "rollout_s": rollout_s,
        "results": None,
    }
    if train_types:
        env_steps = sampler.train_config.batch_size * sampler.steps
        batch = sampler._train_batch(train_types, current, buffers, env_steps)
        learner.set_entropy_coeffs(coeffs)
        out["results"] = learner.update(training_data=TrainingData(batch=batch), **update_kwargs)
    return out


def learner_generator_state(learner: Any) -> tuple[int, torch.Tensor | None]:
    """(rank, the generator state of the learner's economies or None before its first call)."""
    sampler = getattr(learner, "_economy_sampler", None)
    if sampler is None:
        return _rank_and_size()[0], None
    return sampler.rank, sampler.economy.generator.get_state().cpu()


def set_learner_generator_state(
    learner: Any, *, run: dict[str, Any], states: list[torch.Tensor | None]
) -> None:
    """Restore the learner's economy generator from ``states[rank]`` (a checkpoint's)."""
    sampler = _sampler_of(learner, run)
    state = states[sampler.rank] if sampler.rank < len(states) else None
    if state is not None:
        sampler.economy.generator.set_state(state)


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
