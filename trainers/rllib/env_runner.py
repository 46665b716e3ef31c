"""The stock RLlib sampler (``sampler="env_runner"``): EnvRunners over ``RBCMultiAgentEnv``.

``trainers.rllib.algo.build_config`` gives, for ``TrainConfig.sampler="env_runner"``, RLlib's
own PPO loop (EnvRunners sample episodes, the learner connector turns them into a train batch)
with the same three ``trainers.rllib.modules.MaskedPPOTorchRLModule`` modules, mapping,
per-type settings and proportional learner as the batched sampler, plus the pieces here:

- ``RBCModuleEnv``: ``rbc_env.adapters.rllib.RBCMultiAgentEnv`` (built with
  ``action_masks=True`` when the curriculum masks some type) whose observations follow the
  modules' layout (``trainers.rllib.spaces.module_spaces``): ``Dict(observation,
  action_mask)`` for the masked types (firm, government), the plain float32 Box for the others
  (the env itself gives every agent the Dict when masks are on). It also sums, per episode, the
  per-type rewards and the economic aggregates that BatchedPPO logs (same definitions, from
  ``batched.accumulate_econ``).
- ``ScaleRewards`` and ``PerModuleGAE``: learner connector pieces that replace RLlib's
  ``GeneralAdvantageEstimation``: each module's rewards are divided by its ``reward_scale``, then
  GAE runs with the module's own γ and λ, bootstraps episode ends from V(s_T) (or from zero with
  ``bootstrap_truncated=False``) and standardizes advantages over the module's real rows (the
  bootstrap rows RLlib appends are left out, as they are of the loss).
- ``EnvRunnerPPOTorchLearner``: ``trainers.rllib.learner.ProportionalPPOTorchLearner``
  with that pipeline and a curriculum-set training-type filter (on top of ``policies_to_train``).
- ``LeanMultiAgentEnvRunner``: RLlib's ``MultiAgentEnvRunner`` without the vector env's
  deepcopy of every observation and with per-module instead of per-agent step counters (the
  per-agent ``num_agent_steps_sampled`` results are not reported).
- ``CurriculumCallbacks``: applies ``trainers.curriculum.stage`` of iteration e before
  iteration e is sampled (``on_algorithm_init``, then ``on_train_result`` for the next one):
  ``set_iteration(e)`` on every sub-env of every EnvRunner (effective at the next reset; the
  sampler only returns whole episodes, so every episode of an iteration uses its stage), each
  module's entropy coefficient and the training types on the learners; re-applies it to
  recreated EnvRunners and environments. It logs, at episode end, sums that ``on_train_result``
  turns into the same top-level result keys as BatchedPPO (``reward/<type>_mean``,
  ``return/<type>_mean``, ``econ/...``, ``curriculum/...``, ``throughput/...``), so
  ``trainers.run.metrics_row`` reads both samplers alike.
- ``EnvRunnerPPO``: RLlib's PPO whose ``restore_from_path`` re-applies the curriculum of
  the restored iteration (``Algorithm.from_checkpoint`` does not call ``on_checkpoint_loaded``).

Cost: RLlib's per-agent episode, connector and metrics bookkeeping is 40-80 µs per agent-step,
20-50x the economy itself (benchmarks/results/training_throughput.md against
benchmarks/results/env_throughput.md); use the batched sampler for long runs.
"""

from __future__ import annotations

import math
import time
import types
from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.algorithms.ppo import PPO
from ray.rllib.callbacks.callbacks import RLlibCallback
from ray.rllib.connectors.connector_v2 import ConnectorV2
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.env.multi_agent_env_runner import MultiAgentEnvRunner
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.utils.metrics import (
    ENV_RUNNER_RESULTS,
    NUM_ENV_STEPS_SAMPLED,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_EPISODES,
    NUM_EPISODES_LIFETIME,
    NUM_MODULE_STEPS_SAMPLED,
    NUM_MODULE_STEPS_SAMPLED_LIFETIME,
)
from ray.rllib.utils.numpy import convert_to_numpy
from ray.rllib.utils.postprocessing.value_predictions import compute_value_targets

from rbc_env.adapters.agents import agent_index
from rbc_env.adapters.rllib import RBCMultiAgentEnv
from rbc_env.core import AGENT_TYPES
from trainers.config import TrainConfig
from trainers.curriculum import CurriculumStage, stage
from trainers.rllib.batched import BatchedPPOConfig, accumulate_econ, econ_denominators
from trainers.rllib.learner import ProportionalPPOTorchLearner
from trainers.rllib.modules import MASK_KEY, OBS_KEY
from trainers.rllib.spaces import module_spaces

__all__ = [
    "BOOTSTRAP_TRUNCATED_KEY",
    "HORIZON_KEY",
    "REWARD_SCALES_KEY",
    "CurriculumCallbacks",
    "EnvRunnerPPO",
    "EnvRunnerPPOConfig",
    "EnvRunnerPPOTorchLearner",
    "LeanMultiAgentEnvRunner",
    "PerModuleGAE",
    "RBCModuleEnv",
    "ScaleRewards",
    "apply_curriculum",
]

REWARD_SCALES_KEY = "reward_scales"
BOOTSTRAP_TRUNCATED_KEY = "bootstrap_truncated"
HORIZON_KEY = "horizon"
SUMS_KEY = "rbc_sums"  # env-runner results: per-iteration sums behind the rbc metrics
SAMPLE_SECONDS_KEY = "rbc_sample_s"  # env-runner results: seconds of the iteration's sampling
ITERATION_ATTR = "_rbc_curriculum_iteration"  # set on EnvRunners by apply_curriculum
_ADV_EPS = 1e-6


# ---- the env in the modules' observation layout -------------------------------------------
class RBCModuleEnv(RBCMultiAgentEnv):
    """``RBCMultiAgentEnv`` whose observations are laid out as the modules expect.

    Masked types (``trainers.curriculum.masked_types``) observe ``Dict(observation,
    action_mask)``, the others the bare observation Box; observations are float32. The env
    config is ``RBCMultiAgentEnv``'s (pass ``action_masks=True`` when a type is masked).

    Per episode it also sums each type's rewards and the economic aggregates of
    ``BatchedPPO``'s metrics (``episode_sums``).
    """

    def __init__(self, env_config: Mapping[str, Any] | None = None) -> None:
        super().__init__(env_config)
        config = self.par_env.config
        spaces = module_spaces(config)
        ids = agent_index(config).ids
        self._ids = {t: list(ids[t]) for t in AGENT_TYPES}
        self._masked = {t for t in AGENT_TYPES if isinstance(spaces[t][0], gym.spaces.Dict)}
        if self._masked and not self.par_env.action_masks:
            raise ValueError(
                f"the curriculum masks {sorted(self._masked)}: build the env with "
                "env_config['action_masks'] = True"
            )
        self._type_of = {a: t for t in AGENT_TYPES for a in self._ids[t]}
        self._cast = config.dtype != "float32"
        self.observation_spaces = {a: spaces[t][0] for a, t in self._type_of.items()}
        self._sums: dict[str, Any] = {}
        self._steps = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Start an episode (``RBCMultiAgentEnv.reset``); clears the episode sums."""
        obs, infos = super().reset(seed=seed, options=options)
        self._sums = {}
        self._steps = 0
        return self._module_obs(obs), infos

    def step(self, action_dict: dict[str, Any]) -> tuple[dict, dict, dict, dict, dict]:
        """Advance one period (``RBCMultiAgentEnv.step``) and add to the episode sums."""
        state = self.economy.state  # before the step, as BatchedPPO's metrics
        obs, rewards, terms, truncs, infos = super().step(action_dict)
        flows = {k: torch.as_tensor(v) for k, v in self.par_env.last_flows.items()}
        gov = torch.as_tensor(sum(rewards[a] for a in self._ids["government"]))
        accumulate_econ(
            self._sums, state, types.SimpleNamespace(flows=flows, rewards={"government": gov})
        )
        for t in AGENT_TYPES:
            key = f"reward/{t}"
            self._sums[key] = self._sums.get(key, 0.0) + sum(rewards[a] for a in self._ids[t])
        self._steps += 1
        return self._module_obs(obs), rewards, terms, truncs, infos

    def episode_sums(self) -> dict[str, float]:
        """Sums over this episode's steps so far.

        Returns:
            ``reward/<type>`` (summed over the type's agents), BatchedPPO's economic aggregates
            (``price_mean``, ``wage_mean``, ... as sums, see ``batched.accumulate_econ``) and
            ``steps``.
        """
        out = {k: float(v) for k, v in self._sums.items()}
        out["steps"] = float(self._steps)
        return out

    def _module_obs(self, obs: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for a, x in obs.items():
            masked = self._type_of[a] in self._masked
            if isinstance(x, dict):
                if masked:
                    x = {OBS_KEY: self._f32(x[OBS_KEY]), MASK_KEY: x[MASK_KEY]}
                else:
                    x = self._f32(x[OBS_KEY])
            else:
                x = self._f32(x)
            out[a] = x
        return out

    def _f32(self, x: np.ndarray) -> np.ndarray:
        return x.astype(np.float32) if self._cast else x


# ---- learner connector pieces ------------------------------------------------------------
class ScaleRewards(ConnectorV2):
    """Learner connector piece: divide each module's rewards by its reward scale.

    Runs on the module-keyed train batch (after RLlib's batching), before
    ``PerModuleGAE``, so that returns, value targets and the value loss are in scaled units
    (as in BatchedPPO). Modules without a scale keep their rewards.

    Args:
        input_observation_space: passed to ``ConnectorV2``.
        input_action_space: passed to ``ConnectorV2``.
        scales: ``{module_id: reward_scale}`` (> 0).
    """

    def __init__(
        self,
        input_observation_space: gym.Space | None = None,
        input_action_space: gym.Space | None = None,
        *,
        scales: Mapping[str, float],
        **kwargs: Any,
    ) -> None:
        super().__init__(input_observation_space, input_action_space, **kwargs)
        self.scales = {str(k): float(v) for k, v in scales.items()}
        bad = {k: v for k, v in self.scales.items() if not v > 0}
        if bad:
            raise ValueError(f"reward scales must be > 0; got {bad}")

    def __call__(
        self, *, rl_module: Any, batch: dict[str, Any], episodes: Any, **kwargs: Any
    ) -> dict[str, Any]:
        """Divide ``batch[module][rewards]`` by the module's scale, in place."""
        for mid, module_batch in batch.items():
            scale = self.scales.get(mid, 1.0)
            if scale != 1.0 and Columns.REWARDS in module_batch:
                module_batch[Columns.REWARDS] = module_batch[Columns.REWARDS] / scale
        return batch


class PerModuleGAE(ConnectorV2):
    """GAE with each module's own γ and λ; replaces RLlib's ``GeneralAdvantageEstimation``.

    Like RLlib's piece it expects the episodes elongated by one bootstrap timestep
    (``AddOneTsToEpisodesAndTruncate``, which PPO's learner prepends) and the module batches
    complete. Differences: γ and λ per module; with ``bootstrap_truncated=False`` the episodes
    that end at the economy's horizon are treated as terminal (bootstrap value 0; a chunk cut
    mid-episode still bootstraps); advantages are standardized over the rows the loss uses
    (``loss_mask``), as BatchedPPO does, not over the appended bootstrap rows too.

    Args:
        input_observation_space: passed to ``ConnectorV2``.
        input_action_space: passed to ``ConnectorV2``.
        gamma: ``{module_id: γ}``.
        lambda_: ``{module_id: λ}``.
        bootstrap_truncated: bootstrap episode ends from V(s_T) (else from zero).
        horizon: the economy's horizon T (needed when ``bootstrap_truncated`` is False).
    """

    def __init__(
        self,
        input_observation_space: gym.Space | None = None,
        input_action_space: gym.Space | None = None,
        *,
        gamma: Mapping[str, float],
        lambda_: Mapping[str, float],
        bootstrap_truncated: bool = True,
        horizon: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(input_observation_space, input_action_space, **kwargs)
        self.gamma = {str(k): float(v) for k, v in gamma.items()}
        self.lambda_ = {str(k): float(v) for k, v in lambda_.items()}
        self.bootstrap_truncated = bool(bootstrap_truncated)
        if not self.bootstrap_truncated and not horizon:
            raise ValueError("PerModuleGAE needs the horizon when bootstrap_truncated is False")
        self.horizon = horizon

    def __call__(
        self, *, rl_module: Any, batch: dict[str, Any], episodes: Any, **kwargs: Any
    ) -> dict[str, Any]:
        """Add advantages and value targets to every module batch (torch tensors)."""
        sa_episodes = list(
            self.single_agent_episode_iterator(episodes, agents_that_stepped_only=False)
        )
        for mid, module_batch in batch.items():
            module = rl_module[mid]
            if not isinstance(module, ValueFunctionAPI):
                continue
            if module.is_stateful():
                raise ValueError(f"PerModuleGAE supports stateless modules only; {mid!r} is not")
            with torch.no_grad():
                values_t = module.compute_values(module_batch)
            values = convert_to_numpy(values_t)
            mine = [e for e in sa_episodes if e.module_id in (None, mid)]
            lengths = [len(e) for e in mine]
            if sum(lengths) != values.shape[0]:
                raise ValueError(
                    f"module {mid!r}: {values.shape[0]} batch rows but its episodes hold "
                    f"{sum(lengths)} timesteps"
                )
            terminateds = convert_to_numpy(module_batch[Columns.TERMINATEDS]).astype(np.float32)
            truncateds = convert_to_numpy(module_batch[Columns.TRUNCATEDS]).astype(np.float32)
            if not self.bootstrap_truncated:
                terminateds = terminateds.copy()
                end = 0
                for episode, n in zip(mine, lengths, strict=True):
                    end += n
                    # `t` counts the appended bootstrap step: an episode that reached the
                    # horizon ends at t = T + 1; its last real row is end - 2.
                    if episode.t == self.horizon + 1:
                        terminateds[end - 2] = 1.0
            targets = compute_value_targets(
                values=values,
                rewards=convert_to_numpy(module_batch[Columns.REWARDS]),
                terminateds=terminateds,
                truncateds=truncateds,
                gamma=self.gamma[mid],
                lambda_=self.lambda_[mid],
            )
            advantages = targets - values
            if Columns.LOSS_MASK in module_batch:
                real = advantages[convert_to_numpy(module_batch[Columns.LOSS_MASK]).astype(bool)]
            else:
                real = advantages
            std = float(real.std(ddof=1)) if real.size > 1 else 0.0
            advantages = (advantages - float(real.mean())) / (std + _ADV_EPS)
            device = values_t.device
            module_batch[Postprocessing.ADVANTAGES] = torch.as_tensor(
                advantages, dtype=torch.float32, device=device
            )
            module_batch[Postprocessing.VALUE_TARGETS] = torch.as_tensor(
                targets, dtype=torch.float32, device=device
            )
        return batch


class EnvRunnerPPOTorchLearner(ProportionalPPOTorchLearner):
    """The proportional PPO learner with scaled, per-module GAE and curriculum training types.

    RLlib's ``GeneralAdvantageEstimation`` is replaced by ``ScaleRewards`` followed by
    ``PerModuleGAE``; the curriculum's training types filter ``policies_to_train``.
    Reads ``learner_config_dict``: ``reward_scales`` (``{module_id: scale}``),
    ``bootstrap_truncated`` and ``horizon``; γ and λ come from each module's config
    (``algorithm_config_overrides_per_module``).
    """

    def build(self) -> None:
        """Build, then swap RLlib's GAE piece for the scaled, per-module one."""
        self._curriculum_training: frozenset[str] | None = None
        super().build()
        if (
            self._learner_connector is None
            or not self.config.add_default_connectors_to_learner_pipeline
        ):
            return
        extra = self.config.learner_config_dict
        mids = list(self.module.keys())
        configs = {m: self.config.get_config_for_module(m) for m in mids}
        self._learner_connector.remove("GeneralAdvantageEstimation")
        self._learner_connector.append(
            ScaleRewards(scales={m: extra.get(REWARD_SCALES_KEY, {}).get(m, 1.0) for m in mids})
        )
        self._learner_connector.append(
            PerModuleGAE(
                gamma={m: c.gamma for m, c in configs.items()},
                lambda_={m: c.lambda_ for m, c in configs.items()},
                bootstrap_truncated=extra.get(BOOTSTRAP_TRUNCATED_KEY, True),
                horizon=extra.get(HORIZON_KEY),
            )
        )

    def set_curriculum(self, entropy_coeffs: dict[str, float], training: tuple[str, ...]) -> None:
        """The curriculum stage of the next update: entropy coefficients and training types."""
        self.set_entropy_coeffs(entropy_coeffs)
        self._curriculum_training = frozenset(training)

    def should_module_be_updated(self, module_id: str, multi_agent_batch: Any = None) -> bool:
        """``policies_to_train`` and, once set, the curriculum's training types."""
        training = getattr(self, "_curriculum_training", None)
        if training is not None and module_id not in training:
            return False
        return super().should_module_be_updated(module_id, multi_agent_batch)


# ---- a leaner EnvRunner --------------------------------------------------------------------
class LeanMultiAgentEnvRunner(MultiAgentEnvRunner):
    """``MultiAgentEnvRunner`` with less per-agent work.

    Measured 1.6x faster sampling together with ``normalize_actions=False`` (notes section 8):
    - the sync vector env does not deepcopy every observation dict (the economy returns new
      arrays every step, so nothing is shared between steps);
    - step counters per module instead of per agent (``num_agent_steps_sampled`` and its
      lifetime value are not reported; env, episode and module counts are);
    - each returned episode is numpy'ized once, not every finished episode after every step.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # RLlib numpy'izes *all* episodes finished so far after every vector step, which is
        # quadratic in the episodes per sample() call (with T = 10 it dominated sampling);
        # numpy'ize each returned episode once instead.
        self._numpy_at_end = bool(self.episodes_to_numpy)
        self.episodes_to_numpy = False

    def _sample(self, *args: Any, **kwargs: Any) -> list[Any]:
        started = time.perf_counter()
        episodes = super()._sample(*args, **kwargs)
        if self._numpy_at_end:
            for episode in episodes:
                episode.to_numpy()
        # Exact sampling time (RLlib's own timers are exponential averages); the maximum
        # over EnvRunners is the wall time of one synchronous sampling round.
        self.metrics.log_value(SAMPLE_SECONDS_KEY, time.perf_counter() - started, reduce="max")
        return episodes

    def make_env(self) -> None:
        """Build the vector env (RLlib's), then switch off its observation copies."""
        super().make_env()
        vector_env = getattr(self.env, "unwrapped", self.env)
        if hasattr(vector_env, "copy"):
            vector_env.copy = False

    def _increase_sampled_metrics(self, num_steps: int, next_obs: Any, episode: Any) -> int:
        self.metrics.log_value(NUM_ENV_STEPS_SAMPLED, num_steps, reduce="sum")
        self.metrics.log_value(
            NUM_ENV_STEPS_SAMPLED_LIFETIME, num_steps, reduce="lifetime_sum", with_throughput=True
        )
        if episode.is_done:
            self.metrics.log_value(NUM_EPISODES, 1, reduce="sum")
            self.metrics.log_value(NUM_EPISODES_LIFETIME, 1, reduce="lifetime_sum")
        counts: dict[str, int] = {}
        for aid in next_obs:
            mid = episode.module_for(aid)
            counts[mid] = counts.get(mid, 0) + 1
        for mid, n in counts.items():
            self.metrics.log_value((NUM_MODULE_STEPS_SAMPLED, mid), n, reduce="sum")
            self.metrics.log_value(
                (NUM_MODULE_STEPS_SAMPLED_LIFETIME, mid), n, reduce="lifetime_sum"
            )
        return num_steps


# ---- curriculum and metrics callbacks ----------------------------------------------------
def _set_runner_iteration(env_runner: Any, iteration: int) -> list[int | None] | None:
    """Remember ``iteration`` on the EnvRunner and set it on each of its sub-envs."""
    setattr(env_runner, ITERATION_ATTR, iteration)
    env = getattr(env_runner, "env", None)
    if env is None:  # the local EnvRunner has no env when there are remote ones
        return None
    return _set_env_iteration(env, iteration)


def _set_env_iteration(env: Any, iteration: int) -> list[int | None]:
    vector_env = getattr(env, "unwrapped", env)
    seen = []
    for sub in vector_env.envs:
        sub.unwrapped.set_iteration(iteration)
        seen.append(sub.unwrapped.par_env.iteration)
    return seen


def _set_learner_stage(learner: Any, coeffs: dict[str, float], training: tuple[str, ...]) -> None:
    learner.set_curriculum(coeffs, training)


def apply_curriculum(algorithm: Any, iteration: int) -> CurriculumStage:
    """Apply the curriculum stage of iteration e to the EnvRunners' envs and the learners.

    The envs take the θ factor and masks of e at their next reset; the learners the entropy
    coefficients and training types of e for their next update.

    Args:
        algorithm: an algorithm built from an ``EnvRunnerPPOConfig``.
        iteration: the curriculum iteration e (the number of completed training iterations).

    Returns:
        The applied stage (also kept as ``algorithm.curriculum_stage``).
    """
    tc: TrainConfig = algorithm.config.train_config
    current = stage(tc.curriculum, int(iteration), tc.economy)
    e = int(iteration)
    algorithm.env_runner_group.foreach_env_runner(
        lambda env_runner: _set_runner_iteration(env_runner, e), local_env_runner=True
    )
    coeffs = dict(current.entropy_coeff)
    training = tuple(current.training)
    algorithm.learner_group.foreach_learner(
        lambda learner: _set_learner_stage(learner, coeffs, training)
    )
    algorithm.curriculum_stage = current
    return current


def _episode_metrics(tc: TrainConfig, result: dict[str, Any]) -> dict[str, float]:
    """The sampler metrics of BatchedPPO from the iteration's summed episode statistics."""
    runners = result.get(ENV_RUNNER_RESULTS, {})
    sums = runners.get(SUMS_KEY, {})
    steps = float(sums.get("steps", 0.0))
    episodes = float(sums.get("episodes", 0.0))
    out: dict[str, float] = {}
    if steps <= 0 or episodes <= 0:
        return out
    econ = tc.economy
    counts = {"consumer": econ.n_consumers, "firm": econ.n_firms, "government": 1}
    for t in AGENT_TYPES:
        total = float(sums.get(f"reward/{t}", math.nan))
        out[f"reward/{t}_mean"] = total / (steps * counts[t])
        out[f"return/{t}_mean"] = total / episodes  # per episode, summed over the type's agents
    # BatchedPPO's denominators are for B · T steps; every one is linear in the step count.
    horizon = econ.horizon
    factor = steps / (tc.batch_size * horizon)
    for name, denominator in econ_denominators(tc, horizon).items():
        if name in sums:
            out[f"econ/{name}"] = float(sums[name]) / (denominator * factor)
    env_steps = runners.get(NUM_ENV_STEPS_SAMPLED)
    seconds = result.get("time_this_iter_s")
    if env_steps and seconds:
        out["throughput/agent_steps_per_s"] = env_steps * econ.n_agents / seconds
    sampling = runners.get(SAMPLE_SECONDS_KEY)
    if env_steps and sampling:
        out["throughput/rollout_agent_steps_per_s"] = env_steps * econ.n_agents / sampling
    return out


class CurriculumCallbacks(RLlibCallback):
    """The curriculum and the economic metrics of the env-runner sampler (module docstring)."""

    def on_algorithm_init(self, *, algorithm: Any, **kwargs: Any) -> None:
        """Apply the stage of the first iteration to sample."""
        apply_curriculum(algorithm, algorithm.iteration)

    def on_checkpoint_loaded(self, *, algorithm: Any, **kwargs: Any) -> None:
        """Apply the restored iteration's stage (Tune's restore path)."""
        apply_curriculum(algorithm, algorithm.iteration)

    def on_env_runners_recreated(
        self,
        *,
        algorithm: Any,
        env_runner_group: Any,
        env_runner_indices: list[int],
        is_evaluation: bool,
        **kwargs: Any,
    ) -> None:
        """Give restarted EnvRunners the current iteration (they start from the env config's)."""
        e = int(algorithm.iteration)
        env_runner_group.foreach_env_runner(
            lambda env_runner: _set_runner_iteration(env_runner, e),
            remote_worker_ids=env_runner_indices,
            local_env_runner=False,
        )

    def on_environment_created(self, *, env_runner: Any, env: Any, **kwargs: Any) -> None:
        """Re-apply the EnvRunner's iteration to an env it rebuilt."""
        e = getattr(env_runner, ITERATION_ATTR, None)
        if e is not None:
            _set_env_iteration(env, e)

    def on_episode_end(
        self, *, env: Any, env_index: int, metrics_logger: Any = None, **kwargs: Any
    ) -> None:
        """Log the finished episode's sums (rewards per type, economic aggregates)."""
        if metrics_logger is None:
            return
        vector_env = getattr(env, "unwrapped", env)
        sub = vector_env.envs[env_index].unwrapped
        for name, value in sub.episode_sums().items():
            metrics_logger.log_value((SUMS_KEY, name), value, reduce="sum")
        metrics_logger.log_value((SUMS_KEY, "episodes"), 1.0, reduce="sum")

    def on_train_result(self, *, algorithm: Any, result: dict[str, Any], **kwargs: Any) -> None:
        """Write the iteration's metrics as top-level keys; apply the next iteration's stage."""
        tc: TrainConfig = algorithm.config.train_config
        done = int(result["training_iteration"])
        result.update(stage(tc.curriculum, done - 1, tc.economy).metrics(tc.economy))
        result.update(_episode_metrics(tc, result))
        apply_curriculum(algorithm, done)


# ---- algorithm and config ----------------------------------------------------------------
class EnvRunnerPPOConfig(BatchedPPOConfig):
    """``PPOConfig`` carrying the run's ``TrainConfig``, for ``EnvRunnerPPO``."""

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or EnvRunnerPPO)


class EnvRunnerPPO(PPO):
    """RLlib's PPO (EnvRunner sampling) for ``sampler="env_runner"``.

    Identical to ``PPO`` but for the curriculum: ``curriculum_stage`` is the stage of the next
    iteration, and restoring a checkpoint re-applies the restored iteration's stage.
    """

    @classmethod
    def get_default_config(cls) -> EnvRunnerPPOConfig:
        """A fresh ``EnvRunnerPPOConfig``."""
        return EnvRunnerPPOConfig(cls)

    def setup(self, config: Any) -> None:
        """RLlib's setup (the callbacks apply the first stage)."""
        self.curriculum_stage: CurriculumStage | None = None
        super().setup(config)
        self.train_config: TrainConfig = self.config.train_config

    def restore_from_path(self, path: Any, *args: Any, **kwargs: Any) -> None:
        """Restore, then apply the curriculum of the restored iteration."""
        super().restore_from_path(path, *args, **kwargs)
        apply_curriculum(self, self.iteration)
