"""GrowthPPO: the batched sampler on the growth family (continuous actions, Gaussian policies).

The same approach as ``trainers.rllib.batched.BatchedPPO`` (RLlib's PPO, Learner, RLModules,
checkpoints; sampling replaced by tensor rollouts on the economy's device), on a
``rbc_env.growth.GrowthEconomy``:

1. roll out ``rollout_length`` periods of B economies; each type's module gives the Gaussian
   mean and log σ on the flattened ``[B·n, obs]`` rows, raw actions a = μ + σ ξ with ξ from the
   economy's generator (the economy receives a clamped to ``[-action_bound, action_bound]``;
   the learner sees the unclamped draw, whose log-probability it recomputes);
2. economies continue across iterations and restart after ``horizon`` periods; a restart is a
   truncation: the return bootstraps from V of the last state, and advantages do not flow
   across it (GAE with γ = β of the economy);
3. advantages standardized per type, then ``learner_group.update`` with the proportional
   learner (every module: ``num_epochs`` passes over ``num_minibatches`` minibatches);
4. metrics: ``reward/<type>_mean``, ``econ/saving_share_mean``, ``econ/hours_mean`` (G2),
   ``econ/markup_mean`` and ``econ/price_min_mean`` (G6), ``policy/log_std/<type>``,
   ``throughput/agent_steps_per_s``.

``critic="centralized"`` appends the economy's global state to every row; the module's value
network reads it, its policy network does not (``trainers.rllib.gaussian``).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.algorithms.ppo import PPO, PPOConfig
from ray.rllib.core import ALL_MODULES
from ray.rllib.core.columns import Columns
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch
from ray.rllib.utils.metrics import (
    ENV_RUNNER_RESULTS,
    LEARNER_RESULTS,
    NUM_ENV_STEPS_SAMPLED,
    NUM_ENV_STEPS_SAMPLED_LIFETIME,
    NUM_MODULE_STEPS_TRAINED_LIFETIME,
)

from rbc_env.config import GrowthConfig
from rbc_env.growth import GrowthEconomy, GrowthState, global_state_dim, observation_specs
from rbc_env.growth.economy import action_dims
from trainers.growth_config import FLOOR_OFF, GrowthTrainConfig
from trainers.rllib.batched import gae_truncated, learner_device
from trainers.rllib.gaussian import GaussianPPOTorchRLModule
from trainers.rllib.learner import NUM_MINIBATCHES_KEY, ProportionalPPOTorchLearner
from trainers.rllib.spaces import SpacesOnlyEnv, policy_mapping_fn

__all__ = [
    "GrowthPPO",
    "GrowthPPOConfig",
    "build_growth_config",
    "module_policy",
]

SAMPLER_STATE_KEY = "growth_sampler"
_ADV_EPS = 1e-8


class GrowthPPOConfig(PPOConfig):
    """``PPOConfig`` that carries the run's ``GrowthTrainConfig`` (as a plain dict)."""

    def __init__(self, algo_class: type | None = None) -> None:
        super().__init__(algo_class=algo_class or GrowthPPO)
        self.growth_train_config: dict[str, Any] | None = None

    def growth(self, train_config: GrowthTrainConfig) -> GrowthPPOConfig:
        """Attach the run's ``GrowthTrainConfig``."""
        if self._is_frozen:
            raise AttributeError("Cannot set growth_train_config of a frozen AlgorithmConfig")
        self.growth_train_config = train_config.to_dict()
        return self

    @property
    def train_config(self) -> GrowthTrainConfig:
        """The run's ``GrowthTrainConfig``."""
        if self.growth_train_config is None:
            raise ValueError("GrowthPPOConfig has no GrowthTrainConfig; call .growth(config)")
        return GrowthTrainConfig.from_dict(self.growth_train_config)


def module_spaces(tc: GrowthTrainConfig) -> dict[str, tuple[gym.Space, gym.Space]]:
    """Observation (own obs, plus the global state for a centralized critic) and action boxes."""
    econ = tc.economy
    specs = observation_specs(econ)
    dims = action_dims(econ)
    extra = global_state_dim(econ) if tc.critic == "centralized" else 0
    bound = econ.action_bound
    out = {}
    for t, spec in specs.items():
        width = spec.shape[0] + extra
        obs = gym.spaces.Box(-np.inf, np.inf, (width,), np.float32)
        act = gym.spaces.Box(-bound, bound, (dims[t],), np.float32)
        out[t] = (obs, act)
    return out


def build_growth_config(tc: GrowthTrainConfig) -> GrowthPPOConfig:
    """The AlgorithmConfig of a growth run (``.build_algo()`` gives a ``GrowthPPO``)."""
    spaces = module_spaces(tc)
    specs, overrides = {}, {}
    own = observation_specs(tc.economy)
    for t in spaces:
        ppo = tc.ppo(t)
        if tc.economy.constraint != "squash" and ppo.min_log_std > FLOOR_OFF:
            warnings.warn(
                f"{t}.min_log_std={ppo.min_log_std} floors σ in raw action units, which under "
                f"economy.constraint={tc.economy.constraint!r} are the controls themselves, not "
                f"logits (the presets' floor was measured under 'squash'); pass --set "
                f"{t}.min_log_std={FLOOR_OFF} for no floor",
                stacklevel=2,
            )
        specs[t] = RLModuleSpec(
            module_class=GaussianPPOTorchRLModule,
            observation_space=spaces[t][0],
            action_space=spaces[t][1],
            model_config={
                "hidden_sizes": list(ppo.hidden_sizes),
                "policy_dim": own[t].shape[0],
                "critic": tc.critic,
                "init_log_std": ppo.init_log_std,
                "min_log_std": ppo.min_log_std,
            },
        )
        total_steps = tc.iterations * tc.batch_size * tc.rollout_length
        lr: Any = ppo.lr if ppo.lr_final == ppo.lr else [[0, ppo.lr], [total_steps, ppo.lr_final]]
        overrides[t] = GrowthPPOConfig.overrides(
            lr=lr,
            clip_param=ppo.clip,
            grad_clip=None if ppo.grad_clip == float("inf") else ppo.grad_clip,
            vf_loss_coeff=ppo.vf_loss_coeff,
            gamma=tc.gamma,
            lambda_=ppo.gae_lambda,
        )
    gpu = tc.resolved_device == "cuda"
    return (
        GrowthPPOConfig()
        .growth(tc)
        .environment(SpacesOnlyEnv, env_config={"spaces": spaces}, disable_env_checking=True)
        .env_runners(num_env_runners=0)
        .framework("torch")
        .multi_agent(policies=list(spaces), policy_mapping_fn=policy_mapping_fn)
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs),
            algorithm_config_overrides_per_module=overrides,
        )
        .learners(
            num_learners=0,
            num_gpus_per_learner=1 if gpu else 0,
            learner_class=ProportionalPPOTorchLearner,
            learner_config_dict={NUM_MINIBATCHES_KEY: tc.num_minibatches},
        )
        .training(
            num_epochs=tc.num_epochs,
            minibatch_size=None,
            shuffle_batch_per_epoch=True,
            train_batch_size_per_learner=tc.batch_size * tc.rollout_length,
            use_kl_loss=False,
            kl_coeff=0.0,
            grad_clip_by="global_norm",
            entropy_coeff=0.0,
            vf_clip_param=float("inf"),
        )
        .reporting(
            min_time_s_per_iteration=None,
            min_sample_timesteps_per_iteration=0,
            min_train_timesteps_per_iteration=0,
        )
        .debugging(seed=tc.seed)
    )


def module_policy(
    modules: Any, config: GrowthConfig, *, centralized: bool = False
) -> Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    """A deterministic policy (the Gaussian means) for ``rbc_env.truth.metrics``.

    Args:
        modules: a mapping ``type -> GaussianPPOTorchRLModule`` (a MultiRLModule works).
        config: the economy (for the action bound).
        centralized: unused by the policy (the mean reads only the own observation); kept so
            callers can pass the run's critic setting.

    Returns:
        ``policy(obs) -> raw actions`` per type, ``[B, n, A]`` clamped to the action bound,
        in the observations' dtype.
    """
    bound = config.action_bound

    @torch.no_grad()
    def policy(obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {}
        for t, x in obs.items():
            module = modules[t]
            param = next(module.parameters())
            rows = x.reshape(-1, x.shape[-1]).to(param.device, param.dtype)
            mean = module.mean(rows).clamp(-bound, bound)
            out[t] = mean.reshape(x.shape[0], x.shape[1], -1).to(x.device, x.dtype)
        return out

    del centralized
    return policy


class GrowthPPO(PPO):
    """PPO whose ``training_step`` rolls out ``GrowthEconomy`` (see the module docstring)."""

    @classmethod
    def get_default_config(cls) -> GrowthPPOConfig:
        """A fresh ``GrowthPPOConfig``."""
        return GrowthPPOConfig(cls)

    def setup(self, config: Any) -> None:
        """Build RLlib's components, then the economy and the driver-side modules."""
        super().setup(config)
        self.train_config: GrowthTrainConfig = self.config.train_config
        tc = self.train_config
        self.device = learner_device(tc.resolved_device)
        self.economy = GrowthEconomy(
            tc.economy, tc.batch_size, device=self.device, seed=tc.seed, validate=False
        )
        self._obs = self.economy.reset()
        spaces = self.env_runner_group.get_spaces()
        spec = self.config.get_multi_rl_module_spec(spaces=spaces, inference_only=False)
        self.rollout_module = spec.build()
        for mid in self.rollout_module.keys():
            self.rollout_module[mid].to(self.device).eval()
        self.types = self.economy.agent_types
        self.env_steps_lifetime = 0

    # ---- one iteration ----------------------------------------------------------------------
    def training_step(self) -> None:
        """One iteration: rollout, GAE, learner update, metrics."""
        tc = self.train_config
        started = time.perf_counter()
        self.sync_rollout_module()
        buffers, flows = self._rollout()
        env_steps = tc.batch_size * tc.rollout_length
        self.env_steps_lifetime += env_steps
        self.metrics.log_value((ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED), env_steps, reduce="sum")
        self.metrics.log_value(
            (ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME), env_steps, reduce="lifetime_sum"
        )
        self._log_metrics(buffers, flows)
        batch = self._train_batch(buffers, env_steps)
        coeffs = {t: tc.ppo(t).entropy_coeff for t in self.types}
        self.learner_group.foreach_learner(lambda learner: learner.set_entropy_coeffs(coeffs))
        results = self.learner_group.update(
            batch=batch,
            timesteps={
                NUM_ENV_STEPS_SAMPLED_LIFETIME: self.metrics.peek(
                    (ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME)
                ),
                NUM_MODULE_STEPS_TRAINED_LIFETIME: self.metrics.peek(
                    (LEARNER_RESULTS, ALL_MODULES, NUM_MODULE_STEPS_TRAINED_LIFETIME), default=0
                ),
            },
            num_epochs=tc.num_epochs,
            minibatch_size=None,
            shuffle_batch_per_epoch=True,
        )
        self.metrics.aggregate(results, key=LEARNER_RESULTS)
        agent_steps = env_steps * sum(self.economy.counts.values())
        self.metrics.log_value(
            "throughput/agent_steps_per_s", agent_steps / (time.perf_counter() - started), window=1
        )

    def sync_rollout_module(self) -> None:
        """Copy the learner's current weights into the driver-side rollout modules."""
        state = self.learner_group.get_state(components="learner/rl_module")
        self.rollout_module.set_state(state["learner"]["rl_module"])

    def _rows(self, obs: dict[str, torch.Tensor], t: str) -> torch.Tensor:
        x = obs[t].flatten(0, 1).float()
        if self.train_config.critic == "centralized":
            g = self.economy.global_state().float()  # [B, G]
            n = obs[t].shape[1]
            x = torch.cat([x, g.repeat_interleave(n, 0)], -1)
        return x

    @torch.no_grad()
    def _values(self, obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {
            t: self.rollout_module[t].compute_values({Columns.OBS: self._rows(obs, t)})
            for t in self.types
        }

    @torch.no_grad()
    def _rollout(self) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, float]]:
        tc = self.train_config
        econ = self.economy
        horizon = tc.rollout_length
        bound = tc.economy.action_bound
        buffers: dict[str, dict[str, Any]] = {t: {} for t in self.types}
        sums: dict[str, torch.Tensor] = {}
        cuts = torch.zeros(horizon, dtype=torch.bool, device=self.device)
        obs = self._obs
        for step in range(horizon):
            actions = {}
            for t in self.types:
                x = self._rows(obs, t)
                module = self.rollout_module[t]
                dist_in = module.forward_train({Columns.OBS: x})[Columns.ACTION_DIST_INPUTS]
                mean, log_std = dist_in.chunk(2, dim=-1)
                std = log_std.exp()
                noise = torch.randn(
                    mean.shape, generator=econ.generator, device=mean.device, dtype=mean.dtype
                )
                a = mean + std * noise
                logp = (-0.5 * noise.square() - log_std - 0.5 * np.log(2 * np.pi)).sum(-1)
                values = module.compute_values({Columns.OBS: x})
                buf = buffers[t]
                if not buf:
                    buf.update(_allocate(horizon, x, a, dist_in))
                buf["obs"][step], buf["actions"][step], buf["logp"][step] = x, a, logp
                buf["dist"][step], buf["values"][step] = dist_in, values
                n = obs[t].shape[1]
                actions[t] = a.clamp(-bound, bound).reshape(tc.batch_size, n, -1)
            out = econ.step({t: a.to(econ.state.capital.dtype) for t, a in actions.items()})
            for t in self.types:
                buffers[t]["rewards"][step] = out.rewards[t].reshape(-1).float()
            _accumulate(sums, out.flows)
            done = out.done
            if bool(done.any()):
                if not bool(done.all()):
                    raise RuntimeError("GrowthPPO expects all economies to restart together")
                final = self._values(out.obs)
                for t in self.types:
                    buffers[t]["next_values"][step] = final[t]
                cuts[step] = True
                obs = econ.reset()
            else:
                obs = out.obs
            if step > 0:
                for t in self.types:
                    if not cuts[step - 1]:
                        buffers[t]["next_values"][step - 1] = buffers[t]["values"][step]
        last = self._values(obs)
        for t in self.types:
            if not cuts[horizon - 1]:
                buffers[t]["next_values"][horizon - 1] = last[t]
            buffers[t]["cuts"] = cuts
        self._obs = obs
        means = {k: float(v) / horizon for k, v in sums.items()}  # one host sync per flow
        return buffers, means

    def _train_batch(
        self, buffers: dict[str, dict[str, torch.Tensor]], env_steps: int
    ) -> MultiAgentBatch:
        tc = self.train_config
        policy_batches = {}
        for t in self.types:
            buf = buffers[t]
            ppo = tc.ppo(t)
            scale = ppo.reward_scale
            advantages, targets = gae_truncated(
                buf["rewards"] / scale,
                buf["values"],
                buf["next_values"],
                buf["cuts"],
                gamma=tc.gamma,
                lambda_=ppo.gae_lambda,
            )
            advantages = (advantages - advantages.mean()) / (advantages.std() + _ADV_EPS)
            policy_batches[t] = SampleBatch(
                {
                    Columns.OBS: buf["obs"].flatten(0, 1),
                    Columns.ACTIONS: buf["actions"].flatten(0, 1),
                    Columns.ACTION_LOGP: buf["logp"].flatten(0, 1),
                    Columns.ACTION_DIST_INPUTS: buf["dist"].flatten(0, 1),
                    Postprocessing.ADVANTAGES: advantages.flatten(),
                    Postprocessing.VALUE_TARGETS: targets.flatten(),
                }
            )
        return MultiAgentBatch(policy_batches, env_steps=env_steps)

    def _log_metrics(
        self, buffers: dict[str, dict[str, torch.Tensor]], flows: dict[str, float]
    ) -> None:
        for t, buf in buffers.items():
            self.metrics.log_value(f"reward/{t}_mean", float(buf["rewards"].mean()), window=1)
            log_std = float(self.rollout_module[t].effective_log_std().detach().mean())
            self.metrics.log_value(f"policy/log_std/{t}", log_std, window=1)
        for name, value in flows.items():
            self.metrics.log_value(f"econ/{name}_mean", value, window=1)

    # ---- checkpoints --------------------------------------------------------------------------
    def get_state(
        self, components: Any = None, *, not_components: Any = None, **kwargs: Any
    ) -> dict[str, Any]:
        """RLlib's state plus the sampler's: generator, economy state, last observations."""
        state = super().get_state(components, not_components=not_components, **kwargs)
        if self._check_component(SAMPLER_STATE_KEY, components, not_components):
            econ_state = self.economy.state
            state[SAMPLER_STATE_KEY] = {
                "generator_state": self.economy.generator.get_state().cpu(),
                "economy_state": {
                    k: getattr(econ_state, k).cpu().numpy() for k in econ_state.__slots__
                },
                "env_steps_lifetime": self.env_steps_lifetime,
            }
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore RLlib's state and the sampler's."""
        sampler = state.get(SAMPLER_STATE_KEY)
        super().set_state({k: v for k, v in state.items() if k != SAMPLER_STATE_KEY})
        if sampler is not None:
            self.economy.generator.set_state(sampler["generator_state"])
            tensors = {
                k: torch.as_tensor(v, device=self.device)
                for k, v in sampler["economy_state"].items()
            }
            self._obs = self.economy.set_state(GrowthState(**tensors))
            self.env_steps_lifetime = int(sampler["env_steps_lifetime"])


_LOGGED_FLOWS = ("saving_share", "hours", "markup", "price_min", "consumption")


def _accumulate(sums: dict[str, torch.Tensor], flows: dict[str, torch.Tensor]) -> None:
    """Add this step's mean of each logged flow (on the device: no host sync per step)."""
    for name in _LOGGED_FLOWS:
        if name in flows:
            mean = flows[name].float().mean()
            sums[name] = sums[name] + mean if name in sums else mean


def _allocate(
    horizon: int, x: torch.Tensor, a: torch.Tensor, dist_in: torch.Tensor
) -> dict[str, torch.Tensor]:
    rows = x.shape[0]
    return {
        "obs": x.new_empty((horizon, rows, x.shape[-1])),
        "actions": a.new_empty((horizon, rows, a.shape[-1])),
        "logp": a.new_empty((horizon, rows)),
        "dist": dist_in.new_empty((horizon, rows, dist_in.shape[-1])),
        "values": a.new_empty((horizon, rows)),
        "next_values": a.new_empty((horizon, rows)),
        "rewards": a.new_empty((horizon, rows)),
    }
