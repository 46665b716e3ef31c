"""RLModules: RLlib's default PPO module with action masks on factorized MultiDiscrete heads.

Masking design (spec 4.4). A masked agent type's observation space is
``Dict(observation=Box, action_mask=Box(0, 1, (Σ nvec,)))`` (PettingZoo's convention, the one
``rbc_env.adapters.spaces.build_spaces(action_masks=True)`` produces): the flat mask concatenates
the heads' masks in head order, which is exactly the layout of the module's action-distribution
inputs (the logits of the MultiDiscrete heads, concatenated). ``MaskedPPOTorchRLModule``
builds the usual encoder, policy and value networks on the inner ``observation`` box and replaces
the logits of disallowed actions by the smallest float before any distribution is built, in
``_forward`` (inference and exploration) and in ``_forward_train`` (the PPO update). Because the
mask travels with the observation, the update sees the same mask as the rollout, whatever the
iteration at which the update runs, on both samplers: the batched sampler writes the curriculum's
mask into every row it records, and an env-runner adapter puts it into the observation.

With a plain Box observation space the module's networks are RLlib's ``DefaultPPOTorchRLModule``
unchanged (consumers are never masked).

Action distribution. For MultiDiscrete actions the module uses ``FactorizedCategorical``
instead of RLlib's ``TorchMultiCategorical``: the same distribution (independent heads, log-prob
and entropy summed over heads, spec 4.1), computed on one ``[N, h, n]`` view of the logits per
run of equal-width heads instead of one torch ``Categorical`` per head. On the consumers' 12 heads
this made the PPO update several times faster on CPU.

Continuous actions (a Box action space): ``BoundedDiagGaussian``, RLlib's diagonal Gaussian with
log σ capped smoothly at ``LOG_STD_MAX`` (the default networks output ``[μ, raw log σ]``).

Replacing (not adding to) the logits keeps the gradient of a masked logit exactly zero, and the
smallest float gives probability exactly 0 after the softmax, while entropies and KL terms stay
finite (``0 · log 0`` terms are computed on clamped logits by torch's Categorical).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import torch
from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import DefaultPPOTorchRLModule
from ray.rllib.core.columns import Columns
from ray.rllib.core.distribution.distribution import Distribution
from ray.rllib.core.distribution.torch.torch_distribution import (
    TorchDeterministic,
    TorchDiagGaussian,
)

__all__ = [
    "LOG_STD_MAX",
    "GLOBAL_KEY",
    "BoundedDiagGaussian",
    "MASK_KEY",
    "CentralCriticPPOTorchRLModule",
    "OBS_KEY",
    "FactorizedCategorical",
    "MaskedPPOTorchRLModule",
    "apply_mask",
    "bounded_log_std",
    "grouped_log_probs",
    "head_groups",
    "mode_actions",
    "split_obs",
]

OBS_KEY = "observation"
MASK_KEY = "action_mask"
GLOBAL_KEY = "global_state"  # batch column of the centralized critic's extra input


def apply_mask(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Logits with disallowed entries replaced by the smallest float of their dtype.

    Args:
        logits: [N, Σ nvec] concatenated head logits.
        mask: [N, Σ nvec] (or broadcastable) allowed actions, bool or 0/1 of any dtype.

    Returns:
        The masked logits, same shape and dtype as ``logits``.
    """
    allowed = mask if mask.dtype == torch.bool else mask > 0
    return torch.where(allowed, logits, torch.finfo(logits.dtype).min)


# σ <= 1 on the normalized box [-1, 1]: wider only piles draws onto the bounds. The cap keeps an
# entropy bonus from growing σ without limit (a Gaussian's entropy is unbounded).
LOG_STD_MAX = 0.0


def bounded_log_std(raw: torch.Tensor) -> torch.Tensor:
    """The capped log σ = m - softplus(m - raw), m = ``LOG_STD_MAX``: below m, never flat."""
    return LOG_STD_MAX - torch.nn.functional.softplus(LOG_STD_MAX - raw)


class BoundedDiagGaussian(TorchDiagGaussian):
    """RLlib's ``TorchDiagGaussian`` with log σ from ``bounded_log_std`` of the raw input.

    Inputs ``[μ, raw log σ]`` (``TorchDiagGaussian``'s layout); log-probability, entropy and KL
    are summed over the action's columns.
    """

    @classmethod
    def from_logits(cls, logits: torch.Tensor, **kwargs: Any) -> BoundedDiagGaussian:
        """Build from ``[μ, raw log σ]``."""
        loc, raw = logits.chunk(2, dim=-1)
        return cls(loc=loc, scale=bounded_log_std(raw).exp())


def split_obs(batch: dict[str, Any]) -> tuple[dict[str, Any], torch.Tensor | None]:
    """Split a batch whose observation is ``{observation, action_mask}`` (no copy of tensors).

    Returns:
        A shallow copy of ``batch`` whose ``obs`` is the inner observation, and the mask
        (``None`` when the observation is a plain tensor).
    """
    obs = batch[Columns.OBS]
    if not isinstance(obs, dict):
        return batch, None
    inner = dict(batch)
    inner[Columns.OBS] = obs[OBS_KEY]
    return inner, obs[MASK_KEY]


class MaskedPPOTorchRLModule(DefaultPPOTorchRLModule):
    """``DefaultPPOTorchRLModule`` that honours an ``action_mask`` in a Dict observation.

    Args:
        observation_space: a Box (no masking), or ``Dict(observation=Box, action_mask=Box)``.
        action_space: Discrete or MultiDiscrete; for MultiDiscrete the mask has Σ nvec entries.
        **kwargs: passed to ``DefaultPPOTorchRLModule`` (``model_config``, ``inference_only``,
            ...).

    Raises:
        ValueError: if a Dict observation space lacks ``observation`` or ``action_mask``, or the
            mask length differs from the number of logits.
    """

    def __init__(
        self,
        *,
        observation_space: gym.Space | None = None,
        action_space: gym.Space | None = None,
        **kwargs: Any,
    ) -> None:
        self._full_observation_space = observation_space
        inner = observation_space
        if isinstance(observation_space, gym.spaces.Dict):
            keys = set(observation_space.spaces)
            if keys != {OBS_KEY, MASK_KEY}:
                raise ValueError(
                    f"a masked observation space must be Dict({OBS_KEY}=Box, {MASK_KEY}=Box); "
                    f"got keys {sorted(keys)}"
                )
            inner = observation_space[OBS_KEY]
            n_logits = _n_logits(action_space)
            mask_shape = observation_space[MASK_KEY].shape
            if n_logits is not None and mask_shape != (n_logits,):
                raise ValueError(
                    f"{MASK_KEY} must have shape ({n_logits},) (the action's logits); "
                    f"got {mask_shape}"
                )
        super().__init__(observation_space=inner, action_space=action_space, **kwargs)

    def setup(self) -> None:
        """Build the networks on the inner observation, then expose the full (Dict) space."""
        super().setup()
        # Checkpoints rebuild the module from `observation_space`: keep the Dict there.
        self.observation_space = self._full_observation_space
        if isinstance(self.action_space, gym.spaces.MultiDiscrete):
            nvec = tuple(int(n) for n in self.action_space.nvec)
            self.action_dist_cls = FactorizedCategorical.get_partial_dist_cls(nvec=nvec)
        elif isinstance(self.action_space, gym.spaces.Box):
            self.action_dist_cls = BoundedDiagGaussian

    @property
    def masked(self) -> bool:
        """Whether observations carry an action mask."""
        return isinstance(self._full_observation_space, gym.spaces.Dict)

    def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        inner, mask = split_obs(batch)
        out = super()._forward(inner, **kwargs)
        return _masked(out, mask)

    def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        inner, mask = split_obs(batch)
        out = super()._forward_train(inner, **kwargs)
        return _masked(out, mask)

    def compute_values(self, batch: dict[str, Any], embeddings: Any | None = None) -> Any:
        """Value estimates V(s) (the mask does not enter the value)."""
        inner, _ = split_obs(batch)
        return super().compute_values(inner, embeddings=embeddings)


class CentralCriticPPOTorchRLModule(MaskedPPOTorchRLModule):
    """``MaskedPPOTorchRLModule`` whose value network also reads the economy's global state.

    The policy is unchanged (own observation, masks). The value is an MLP (the module's
    ``fcnet_hiddens``, ReLU) on ``[own observation, batch["global_state"]]``; the default
    critic's own value head is unused, and frozen (``requires_grad`` off): data-parallel
    learners (DDP) otherwise wait for its gradient forever and fail at the next update
    (measured with ``num_learners=2``). ``model_config["global_dim"]`` is the global width.
    """

    def setup(self) -> None:
        """Build the default networks, then the centralized value MLP."""
        super().setup()
        if self.inference_only:
            return
        inner = self._full_observation_space
        if isinstance(inner, gym.spaces.Dict):
            inner = inner[OBS_KEY]
        width = int(inner.shape[0]) + int(self.model_config["global_dim"])
        hidden = list(self.model_config.get("fcnet_hiddens", [128, 128]))
        layers: list[torch.nn.Module] = []
        for a, b in zip([width, *hidden[:-1]], hidden, strict=True):
            layers += [torch.nn.Linear(a, b), torch.nn.ReLU()]
        layers.append(torch.nn.Linear(hidden[-1] if hidden else width, 1))
        self.central_vf = torch.nn.Sequential(*layers)
        self.vf.requires_grad_(False)  # kept for the state's layout, never trained

    def compute_values(self, batch: dict[str, Any], embeddings: Any | None = None) -> Any:
        """V(o, g) from the own observation o and the global state g."""
        inner, _ = split_obs(batch)
        if GLOBAL_KEY not in batch:
            raise ValueError(f"a centralized critic needs the batch column {GLOBAL_KEY!r}")
        x = torch.cat([inner[Columns.OBS], batch[GLOBAL_KEY]], -1)
        return self.central_vf(x).squeeze(-1)


def _masked(out: dict[str, Any], mask: torch.Tensor | None) -> dict[str, Any]:
    if mask is not None:
        out[Columns.ACTION_DIST_INPUTS] = apply_mask(out[Columns.ACTION_DIST_INPUTS], mask)
    return out


def _n_logits(action_space: gym.Space | None) -> int | None:
    if isinstance(action_space, gym.spaces.MultiDiscrete):
        return int(action_space.nvec.sum())
    if isinstance(action_space, gym.spaces.Discrete):
        return int(action_space.n)
    return None


# ---- factorized categorical over concatenated heads ------------------------------------------
def head_groups(nvec: tuple[int, ...]) -> tuple[tuple[int, int, int], ...]:
    """Runs of consecutive heads of equal width: ``(first head, heads h, width n)`` each.

    The logits of a run are one contiguous [h · n] block, viewed as [h, n] without a copy (the
    paper's consumer: ten goods heads of 11, then hours 5 and employer 10: three runs).
    """
    runs: list[list[int]] = []
    for i, n in enumerate(nvec):
        if runs and runs[-1][2] == n:
            runs[-1][1] += 1
        else:
            runs.append([i, 1, int(n)])
    return tuple((first, h, n) for first, h, n in runs)


class _LogSoftmax(torch.autograd.Function):
    """log π = x - logsumexp(x) over the last axis, floored at the dtype's smallest finite value.

    Backward: ∂L/∂x = g - π Σ_k g_k, one fused ``addcmul``. Autograd's own backward of
    ``x - logsumexp(x)`` takes separate passes (measured on 2 cores, [128000, 10, 11], forward
    and backward: 127 ms against 164; torch's ``log_softmax``: 214). Equal to ``log_softmax``
    within 3e-6.

    The floor (in place, outside autograd) turns a -inf logit into a finite log π whose π is
    exactly 0, so the entropy's π log π is 0 there without a clamp of its own in the graph.
    Finite logits, masked ones included (``apply_mask``), never reach the floor, so their
    values and gradients are unchanged; the clamp it replaces cost its forward and a compare
    and a ``where`` in backward (paper economy, 2 cores: about 5 % of a training iteration).
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        out = x - torch.logsumexp(x, dim=-1, keepdim=True)
        out.clamp_(min=torch.finfo(out.dtype).min)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (out,) = ctx.saved_tensors
        return torch.addcmul(grad, out.exp(), grad.sum(-1, keepdim=True), value=-1.0)


def grouped_log_probs(logits: torch.Tensor, nvec: tuple[int, ...]) -> list[torch.Tensor]:
    """Per-head log-probabilities, one [..., h, n] tensor per run of ``head_groups(nvec)``.

    log π_h(k) = x_hk - log Σ_k' exp(x_hk'), on views of the logits: no padding, no stacking,
    through ``_LogSoftmax`` (``x - logsumexp(x)``: torch's CPU ``log_softmax`` over a trailing
    axis of ~11 does not vectorize; 2 cores, [128000, 12, 11] forward: 71 ms against 153).

    Args:
        logits: concatenated head logits [..., Σ nvec] (masked entries may hold the smallest
            float, which stays finite).
        nvec: choices per head.
    """
    groups = head_groups(nvec)
    # One split (its backward is one concatenation) rather than a slice per run (each slice's
    # backward zero-fills a gradient of the whole [..., Σ nvec] width).
    blocks = torch.split(logits, [h * n for _, h, n in groups], dim=-1)
    out = []
    for block, (_, h, n) in zip(blocks, groups, strict=True):
        out.append(_LogSoftmax.apply(block.unflatten(-1, (h, n))))
    return out


def mode_actions(logits: torch.Tensor, nvec: tuple[int, ...]) -> torch.Tensor:
    """The most likely choice of every head, [..., H] int64."""
    return _modes(grouped_log_probs(logits, nvec))


def _modes(groups: list[torch.Tensor]) -> torch.Tensor:
    """[..., H] argmax of every head from the per-run [..., h, n] log-probabilities."""
    return torch.cat([g.argmax(-1) for g in groups], dim=-1)


class FactorizedCategorical(Distribution):
    """Independent categorical heads over concatenated logits (a MultiDiscrete action).

    Equivalent to RLlib's ``TorchMultiCategorical`` (log-probability, entropy and KL summed over
    heads) but computed on one [N, h, n] view per run of equal-width heads
    (``grouped_log_probs``) instead of one torch ``Categorical`` per head. The log-probabilities
    are computed when first needed: RLlib's PPO loss builds the previous policy's distribution
    and, without a KL term, never reads it. Build it with
    ``FactorizedCategorical.from_logits(logits, nvec=nvec)`` or through
    ``get_partial_dist_cls(nvec=nvec)``.

    Args:
        logits: [..., Σ nvec].
        nvec: choices per head.
    """

    def __init__(self, logits: torch.Tensor, nvec: tuple[int, ...]) -> None:
        super().__init__()
        self.nvec = tuple(int(n) for n in nvec)
        self.logits = logits
        self._groups: list[torch.Tensor] | None = None

    @classmethod
    def from_logits(
        cls, logits: torch.Tensor, nvec: tuple[int, ...] = (), **kwargs: Any
    ) -> FactorizedCategorical:
        """Build from concatenated logits."""
        if sum(nvec) != logits.shape[-1]:
            raise ValueError(
                f"logits must have Σ nvec = {sum(nvec)} entries on the last axis; "
                f"got {logits.shape[-1]}"
            )
        return cls(logits, nvec)

    @staticmethod
    def required_input_dim(space: gym.Space, **kwargs: Any) -> int:
        """Σ nvec of a MultiDiscrete space."""
        return int(space.nvec.sum())

    @property
    def group_log_probs(self) -> list[torch.Tensor]:
        """``grouped_log_probs(logits, nvec)``, computed once."""
        if self._groups is None:
            self._groups = grouped_log_probs(self.logits, self.nvec)
        return self._groups

    def _runs(self) -> list[tuple[int, int, torch.Tensor]]:
        return [
            (first, h, g)
            for (first, h, _), g in zip(head_groups(self.nvec), self.group_log_probs, strict=True)
        ]

    def logp(self, value: torch.Tensor) -> torch.Tensor:
        """Log-probability log π(a) = Σ_h log π_h(a_h); ``value`` is [..., H] integer."""
        index = value.long()
        total = None
        for first, h, g in self._runs():
            picked = g.gather(-1, index[..., first : first + h].unsqueeze(-1)).sum((-2, -1))
            total = picked if total is None else total + picked
        return total

    def entropy(self) -> torch.Tensor:
        """Σ_h H(π_h) (0 · log 0 counts as 0: log π is finite, see ``_LogSoftmax``)."""
        total = None
        for g in self.group_log_probs:
            term = -(g.exp() * g).sum((-2, -1))
            total = term if total is None else total + term
        return total

    def kl(self, other: Distribution) -> torch.Tensor:
        """Σ_h KL(π_h || other_h)."""
        if not isinstance(other, FactorizedCategorical):
            raise ValueError(f"kl needs another FactorizedCategorical; got {type(other)}")
        total = None
        for mine, theirs in zip(self.group_log_probs, other.group_log_probs, strict=True):
            probs = mine.exp()
            diff = mine - theirs  # both finite (``_LogSoftmax``)
            term = torch.where(probs > 0, probs * diff, torch.zeros_like(diff)).sum((-2, -1))
            total = term if total is None else total + term
        return total

    def sample(self, *, sample_shape: tuple[int, ...] | None = None, **kwargs: Any) -> Any:
        """Draw actions [..., H] (torch's global generator, as RLlib's own distributions)."""
        shape = torch.Size(sample_shape or ())
        return torch.cat(
            [
                torch.distributions.Categorical(logits=g, validate_args=False).sample(shape)
                for g in self.group_log_probs
            ],
            dim=-1,
        )

    def rsample(self, *, sample_shape: tuple[int, ...] | None = None, **kwargs: Any) -> Any:
        """Not available for discrete actions."""
        raise NotImplementedError("FactorizedCategorical has no reparameterized sample")

    def to_deterministic(self) -> TorchDeterministic:
        """The most likely choice of every head."""
        return TorchDeterministic(loc=_modes(self.group_log_probs))
