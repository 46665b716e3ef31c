"""A diagonal-Gaussian PPO RLModule for continuous actions, with an optional centralized critic.

Policy: mean μ(o) from an MLP (tanh) on the agent's own observation o, a state-independent
learned log standard deviation; the action-distribution inputs are ``[μ, log σ]`` (RLlib's
``TorchDiagGaussian`` layout). Value: an MLP on o (``critic="independent"``) or on
``[o, g]`` with g the economy's global state (``critic="centralized"``: centralized training,
decentralized execution; the policy never reads g). The module's observation is ``[o, g]``
in both cases when a global state is attached; ``model_config["policy_dim"]`` says how many
leading columns are o.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.torch.torch_distribution import TorchDiagGaussian
from ray.rllib.core.rl_module.apis.value_function_api import ValueFunctionAPI
from ray.rllib.core.rl_module.torch.torch_rl_module import TorchRLModule

__all__ = ["GaussianPPOTorchRLModule", "mlp"]

_OUTPUT_GAIN = 0.01  # small initial policy-head weights: the initial mean is ~0 everywhere


def mlp(sizes: list[int], out_gain: float = 1.0) -> torch.nn.Sequential:
    """A tanh MLP ``sizes[0] -> ... -> sizes[-1]`` (orthogonal init, zero biases)."""
    layers: list[torch.nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        lin = torch.nn.Linear(a, b)
        last = i == len(sizes) - 2
        torch.nn.init.orthogonal_(lin.weight, gain=out_gain if last else 2**0.5)
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if not last:
            layers.append(torch.nn.Tanh())
    return torch.nn.Sequential(*layers)


class GaussianPPOTorchRLModule(TorchRLModule, ValueFunctionAPI):
    """Gaussian policy + value MLPs; see the module docstring.

    ``model_config`` keys: ``hidden_sizes`` (list of ints), ``policy_dim`` (columns of the
    agent's own observation; default: all), ``critic`` (``"independent"`` or
    ``"centralized"``), ``init_log_std`` (float), ``min_log_std`` (float: the policy's log
    standard deviation is ``max(log_std, min_log_std)``; default no floor).
    """

    def setup(self) -> None:
        """Build the policy MLP, the log standard deviation and the value MLP."""
        cfg = self.model_config
        width = int(self.observation_space.shape[0])
        self.policy_dim = int(cfg.get("policy_dim", width))
        if not 0 < self.policy_dim <= width:
            raise ValueError(
                f"model_config['policy_dim'] must be in [1, {width}]; got {self.policy_dim}"
            )
        critic = cfg.get("critic", "independent")
        if critic not in ("independent", "centralized"):
            raise ValueError(
                f"model_config['critic'] must be 'independent' or 'centralized'; got {critic!r}"
            )
        self.critic_dim = width if critic == "centralized" else self.policy_dim
        hidden = [int(h) for h in cfg.get("hidden_sizes", (64, 64))]
        n_actions = int(self.action_space.shape[0])
        self.pi = mlp([self.policy_dim, *hidden, n_actions], out_gain=_OUTPUT_GAIN)
        self.log_std = torch.nn.Parameter(
            torch.full((n_actions,), float(cfg.get("init_log_std", -1.0)))
        )
        self.min_log_std = float(cfg.get("min_log_std", -math.inf))
        if not self.inference_only:
            self.vf = mlp([self.critic_dim, *hidden, 1])
        self.action_dist_cls = TorchDiagGaussian

    def mean(self, obs: torch.Tensor) -> torch.Tensor:
        """The deterministic action μ(o) (raw units), [N, A]."""
        return self.pi(obs[..., : self.policy_dim])

    def effective_log_std(self) -> torch.Tensor:
        """Log σ of the sampling distribution: ``max(log_std, min_log_std)``, [A]."""
        return self.log_std.clamp(min=self.min_log_std)

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        mean = self.mean(batch[Columns.OBS])
        log_std = self.effective_log_std().expand_as(mean)
        return {Columns.ACTION_DIST_INPUTS: torch.cat([mean, log_std], -1)}

    def compute_values(self, batch: dict[str, Any], embeddings: Any | None = None) -> Any:
        """V(o) or V(o, g), [N]."""
        return self.vf(batch[Columns.OBS][..., : self.critic_dim]).squeeze(-1)

    def get_inference_action_dist_cls(self) -> type:
        """``TorchDiagGaussian`` (its deterministic form is the mean)."""
        return TorchDiagGaussian

    def get_exploration_action_dist_cls(self) -> type:
        """``TorchDiagGaussian``."""
        return TorchDiagGaussian

    def get_train_action_dist_cls(self) -> type:
        """``TorchDiagGaussian``."""
        return TorchDiagGaussian
