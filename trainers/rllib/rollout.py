"""Tensor helpers of the batched samplers: returns, advantages, the learner's device.

No RLlib state: pure functions on ``[T, M]`` tensors (T rollout steps, M agent rows).
"""

from __future__ import annotations

import torch

__all__ = ["allocate", "gae", "gae_truncated", "learner_device", "reference_returns"]


def reference_returns(rewards: torch.Tensor, gamma: float) -> torch.Tensor:
    """The reference code's returns G_t = r_t + γ Σ_{k>t} r_k, no bootstrap (spec 9.2, 13 #11).

    Args:
        rewards: [T, M] (already scaled).
        gamma: γ, applied once to the undiscounted tail.

    Returns:
        [T, M] returns.
    """
    tail = rewards.flip(0).cumsum(0).flip(0) - rewards  # Σ_{k>t} r_k
    return rewards + gamma * tail


def gae(
    rewards: torch.Tensor,
    values: torch.Tensor,
    *,
    gamma: float,
    lambda_: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalized advantage estimates of truncated episodes.

    δ_t = r_t + γ V(s_{t+1}) - V(s_t), A_t = Σ_k (γλ)^k δ_{t+k}; the value at t = T bootstraps
    the truncated tail (pass zeros there for none). With λ = 1, A_t + V(s_t) is the discounted
    return Σ_k γ^k r_{t+k} + γ^(T-t) V(s_T). (``gae_truncated`` with no restart.)

    Args:
        rewards: [T, M] (already scaled).
        values: [T + 1, M], V(s_0..s_T).
        gamma: discount γ.
        lambda_: GAE λ.

    Returns:
        ``(advantages [T, M], value_targets [T, M])`` with value targets A + V.
    """
    no_cut = torch.zeros(rewards.shape[0], dtype=torch.bool, device=rewards.device)
    return gae_truncated(rewards, values[:-1], values[1:], no_cut, gamma=gamma, lambda_=lambda_)


def gae_truncated(
    rewards: torch.Tensor,
    values: torch.Tensor,
    next_values: torch.Tensor,
    cut: torch.Tensor,
    *,
    gamma: float,
    lambda_: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """GAE over a rollout that may contain truncations (episode restarts).

    δ_t = r_t + γ V'_t - V(s_t) with V'_t the value of the state after step t (before any
    restart); A_t = δ_t + γ λ (1 - cut_t) A_{t+1}: advantages stop at a restart but every
    step, the last one included, bootstraps from V'_t (truncation is not termination).

    Args:
        rewards: [T, M] scaled rewards.
        values: [T, M] V(s_t).
        next_values: [T, M] V(s_{t+1}) before a restart.
        cut: [T] bool, True where the episode restarted after step t.
        gamma: γ.
        lambda_: λ.

    Returns:
        ``(advantages [T, M], value targets A + V [T, M])``.
    """
    advantages = torch.empty_like(rewards)
    running = torch.zeros_like(rewards[0])
    keep = (~cut).to(rewards.dtype)
    for t in range(rewards.shape[0] - 1, -1, -1):
        delta = rewards[t] + gamma * next_values[t] - values[t]
        running = delta + gamma * lambda_ * keep[t] * running
        advantages[t] = running
    return advantages, advantages + values


def learner_device(resolved: str) -> torch.device:
    """The device of a single local learner (``"cuda"`` becomes ``"cuda:<current>"``).

    Rollout tensors then live where the learner's are, so batches are not copied.
    """
    device = torch.device(resolved)
    if device.type == "cuda" and device.index is None:
        device = torch.device("cuda", torch.cuda.current_device())
    return device


def allocate(
    steps: int, x: torch.Tensor, a: torch.Tensor, dist: torch.Tensor
) -> dict[str, torch.Tensor]:
    """Empty rollout buffers of one module for ``steps`` steps of M rows.

    Args:
        steps: T, the rollout's steps.
        x: one step's observations [M, obs].
        a: one step's actions [M, heads] (indices or raw values).
        dist: one step's action-distribution inputs [M, D] (their dtype is the buffers').

    Returns:
        ``obs``, ``actions``, ``logp``, ``dist``, ``values`` V(s_t), ``next_values`` V of the
        state after each step (before any restart; 0 where the game ends) and ``rewards``,
        ``[T, M, ...]``, uninitialized (``gae_truncated``'s inputs).
    """
    rows = x.shape[0]
    return {
        "obs": x.new_empty((steps, rows, x.shape[-1])),
        "actions": a.new_empty((steps, rows, a.shape[-1])),
        "logp": dist.new_empty((steps, rows)),
        "dist": dist.new_empty((steps, rows, dist.shape[-1])),
        "values": dist.new_empty((steps, rows)),
        "next_values": dist.new_empty((steps, rows)),
        "rewards": dist.new_empty((steps, rows)),
    }
