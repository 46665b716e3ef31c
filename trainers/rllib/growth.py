"""The growth family's rollouts for ``BatchedPPO`` (continuous actions, Gaussian policies).

``BatchedPPO`` trains both economy families: for a growth ``TrainConfig`` (the ground-truth
economies G1-G7) its iterations are those of ``GrowthSampler``, on a
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

from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from ray.rllib.core.columns import Columns
from ray.rllib.evaluation.postprocessing import Postprocessing
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch

from rbc_env.config import GrowthConfig
from rbc_env.growth import GrowthEconomy, GrowthState, global_state_dim, observation_specs
from rbc_env.growth.economy import action_dims
from trainers.config import TrainConfig
from trainers.rllib.heads import GaussianHeads
from trainers.rllib.rollout import allocate, gae_truncated

__all__ = [
    "GROWTH_SAMPLER_STATE_KEY",
    "GrowthSampler",
    "growth_module_spaces",
    "module_policy",
]

GROWTH_SAMPLER_STATE_KEY = "growth_sampler"  # the sampler's part of a checkpoint
_ADV_EPS = 1e-8


def growth_module_spaces(tc: TrainConfig) -> dict[str, tuple[gym.Space, gym.Space]]:
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
    heads = GaussianHeads(config.action_bound)

    @torch.no_grad()
    def policy(obs: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {}
        for t, x in obs.items():
            module = modules[t]
            param = next(module.parameters())
            rows = x.reshape(-1, x.shape[-1]).to(param.device, param.dtype)
            mean = heads.to_economy(module.mean(rows))
            out[t] = mean.reshape(x.shape[0], x.shape[1], -1).to(x.device, x.dtype)
        return out

    del centralized
    return policy


class GrowthSampler:
    """Rollouts of a growth economy for ``BatchedPPO`` (the module docstring's steps 1-4).

    Args:
        train_config: the run.
        device: the learner's device, where the economy and the rollout tensors live.
        modules: the driver-side modules (``BatchedPPO.rollout_module``), kept in sync with the
            learner by ``BatchedPPO``.
    """

    def __init__(self, train_config: TrainConfig, device: torch.device, modules: Any) -> None:
        self.train_config = train_config
        self.device = device
        self.modules = modules
        tc = train_config
        self.economy = GrowthEconomy(
            tc.economy, tc.batch_size, device=device, seed=tc.seed, validate=False
        )
        self._obs = self.economy.reset()
        self.types = self.economy.agent_types
        self.heads = GaussianHeads(tc.economy.action_bound)  # every type's policy
        self.env_steps_lifetime = 0

    @property
    def env_steps(self) -> int:
        """Economy steps per iteration: B × rollout length."""
        return self.train_config.batch_size * self.train_config.rollout_length

    @property
    def agent_steps(self) -> int:
        """Agent steps per iteration."""
        return self.env_steps * sum(self.economy.counts.values())

    def entropy_coeffs(self) -> dict[str, float]:
        """Each module's entropy coefficient (fixed over the run)."""
        return {t: self.train_config.ppo(t).entropy_coeff for t in self.types}

    def sample(self, metrics: Any) -> MultiAgentBatch:
        """Roll out one iteration, log its metrics, and return the training batch."""
        buffers, flows = self._rollout()
        self.env_steps_lifetime += self.env_steps
        self._log_metrics(metrics, buffers, flows)
        return self._train_batch(buffers)

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
            t: self.modules[t].compute_values({Columns.OBS: self._rows(obs, t)}) for t in self.types
        }

    @torch.no_grad()
    def _rollout(self) -> tuple[dict[str, dict[str, torch.Tensor]], dict[str, float]]:
        tc = self.train_config
        econ = self.economy
        horizon = tc.rollout_length
        buffers: dict[str, dict[str, Any]] = {t: {} for t in self.types}
        sums: dict[str, torch.Tensor] = {}
        cuts = torch.zeros(horizon, dtype=torch.bool, device=self.device)
        obs = self._obs
        for step in range(horizon):
            actions = {}
            for t in self.types:
                x = self._rows(obs, t)
                module = self.modules[t]
                dist_in = module.forward_train({Columns.OBS: x})[Columns.ACTION_DIST_INPUTS]
                a, logp = self.heads.sample(dist_in, econ.generator)
                values = module.compute_values({Columns.OBS: x})
                buf = buffers[t]
                if not buf:
                    buf.update(allocate(horizon, x, a, dist_in, continuing=True))
                buf["obs"][step], buf["actions"][step], buf["logp"][step] = x, a, logp
                buf["dist"][step], buf["values"][step] = dist_in, values
                n = obs[t].shape[1]
                actions[t] = self.heads.to_economy(a).reshape(tc.batch_size, n, -1)
            out = econ.step({t: a.to(econ.state.capital.dtype) for t, a in actions.items()})
            for t in self.types:
                buffers[t]["rewards"][step] = out.rewards[t].reshape(-1).float()
            _accumulate(sums, out.flows)
            done = out.done
            if bool(done.any()):
                if not bool(done.all()):
                    raise RuntimeError("GrowthSampler expects all economies to restart together")
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

    def _train_batch(self, buffers: dict[str, dict[str, torch.Tensor]]) -> MultiAgentBatch:
        tc = self.train_config
        policy_batches = {}
        for t in self.types:
            buf = buffers[t]
            ppo = tc.ppo(t)
            advantages, targets = gae_truncated(
                buf["rewards"] / ppo.reward_scale,
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
        return MultiAgentBatch(policy_batches, env_steps=self.env_steps)

    def _log_metrics(
        self, metrics: Any, buffers: dict[str, dict[str, torch.Tensor]], flows: dict[str, float]
    ) -> None:
        for t, buf in buffers.items():
            metrics.log_value(f"reward/{t}_mean", float(buf["rewards"].mean()), window=1)
            log_std = float(self.modules[t].effective_log_std().detach().mean())
            metrics.log_value(f"policy/log_std/{t}", log_std, window=1)
        for name, value in flows.items():
            metrics.log_value(f"econ/{name}_mean", value, window=1)

    # ---- checkpoints --------------------------------------------------------------------------
    def get_state(self) -> dict[str, Any]:
        """Generator, economy state, and env steps so far (numpy and plain values)."""
        econ_state = self.economy.state
        return {
            "generator_state": self.economy.generator.get_state().cpu(),
            "economy_state": {
                k: getattr(econ_state, k).cpu().numpy() for k in econ_state.__slots__
            },
            "env_steps_lifetime": self.env_steps_lifetime,
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore ``get_state``'s values (the observations follow from the economy state)."""
        self.economy.generator.set_state(state["generator_state"])
        tensors = {
            k: torch.as_tensor(v, device=self.device) for k, v in state["economy_state"].items()
        }
        self._obs = self.economy.set_state(GrowthState(**tensors))
        self.env_steps_lifetime = int(state["env_steps_lifetime"])


_LOGGED_FLOWS = ("saving_share", "hours", "markup", "price_min", "consumption")


def _accumulate(sums: dict[str, torch.Tensor], flows: dict[str, torch.Tensor]) -> None:
    """Add this step's mean of each logged flow (on the device: no host sync per step)."""
    for name in _LOGGED_FLOWS:
        if name in flows:
            mean = flows[name].float().mean()
            sums[name] = sums[name] + mean if name in sums else mean
