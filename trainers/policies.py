"""Trained policies as plain callables: a checkpoint's modules acting on the core's observations.

``checkpoint_policy(path)`` turns a run folder of ``python -m trainers train`` (its newest intact
checkpoint) or one checkpoint folder into a ``CheckpointPolicy``: a callable ``policy(obs) ->
actions`` in the layout of ``rbc_env.BatchedEconomy`` (``obs`` is ``{type: tensor}``, consumers
``[B, C, D_c]``, firms ``[B, F, D_f]``, the government ``[B, D_g]``; actions are int64 grid
indices, or values in economic units for a run with ``economy.action_space="continuous"``,
consumers ``[B, C, F + 2]``, firms ``[B, F, 2]``, the government ``[B, 2]``). That is the
``others`` argument of ``rbc_env.single_type_env`` and ``single_agent_env``, so a library that
knows one agent type (Stable-Baselines3, Tianshou, SuperSuit) can train a best response of one
type against the trained others, the setting of the paper's ε checks.

Safety: the checkpoint's SHA-256 manifest (``trainers.runfolder.verify_checkpoint``, JSON only)
is checked before any of its pickles is read, so a folder that this package did not write, or
that changed since, is refused.

Each type's action is drawn from its module's distribution (the training policy: factorized
categorical, or the Gaussian of ``trainers.rllib.heads``) with the policy's own seeded generator,
or, with ``greedy=True``, the most likely index of each head (the Gaussian's mean).
Masks are not applied: outside training every action is allowed (``rbc_env.action_masks`` at
iteration ``None``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from rbc_env.config import RBCConfig
from trainers.config import AGENT_TYPES, TrainConfig

__all__ = ["CheckpointPolicy", "checkpoint_policy"]

_RL_MODULE = ("learner_group", "learner", "rl_module")


@dataclass
class CheckpointPolicy:
    """Trained modules of one checkpoint, acting on the core's observations.

    Attributes:
        modules: ``{type: RLModule}`` from the checkpoint (``consumer``, ``firm``,
            ``government``).
        train_config: the run's ``TrainConfig``, from the checkpoint's verified manifest.
        checkpoint: the checkpoint folder the modules came from.
        greedy: take each head's most likely index instead of a draw.
        generator: the only source of randomness of the draws (seeded by ``checkpoint_policy``).
    """

    modules: Mapping[str, Any]
    train_config: TrainConfig
    checkpoint: Path
    greedy: bool = False
    generator: torch.Generator = field(default_factory=torch.Generator)

    @property
    def config(self) -> RBCConfig:
        """The economy the policy was trained on (build the environment from it)."""
        return self.train_config.economy

    @torch.no_grad()
    def __call__(self, obs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Actions of every type in ``obs`` (the types the caller asks the policy to play).

        Args:
            obs: ``{type: float tensor}`` in the core's layout, ``[B, N, D]`` per agent type
                with an agent axis, ``[B, D]`` for the government.

        Returns:
            ``{type: tensor}`` (int64 indices, or values with continuous actions), ``[B, N, H]``
            or ``[B, H]``, on the observations' device.

        Raises:
            ValueError: for an unknown type or an observation width other than the module's.
        """
        from ray.rllib.core.columns import Columns

        from trainers.rllib.heads import action_heads
        from trainers.rllib.modules import MASK_KEY, OBS_KEY

        heads = action_heads(self.config)
        actions: dict[str, torch.Tensor] = {}
        for agent_type, x in obs.items():
            if agent_type not in self.modules:
                raise ValueError(
                    f"no trained module for agent type {agent_type!r}; "
                    f"the checkpoint has {sorted(self.modules)}"
                )
            module = self.modules[agent_type]
            width = _observation_width(module)
            if x.shape[-1] != width:
                raise ValueError(
                    f"{agent_type} observations have {x.shape[-1]} features; the module in "
                    f"{self.checkpoint} was trained on {width} (build the environment from "
                    "policy.config)"
                )
            rows = x.reshape(-1, width).float().cpu()
            inp: Any = rows
            if getattr(module, "masked", False):
                n_logits = int(module.action_space.nvec.sum())
                inp = {
                    OBS_KEY: rows,
                    MASK_KEY: torch.ones(rows.shape[0], n_logits, dtype=torch.bool),
                }
            logits = module.forward_inference({Columns.OBS: inp})[Columns.ACTION_DIST_INPUTS]
            head = heads[agent_type]
            if self.greedy:
                chosen = head.mode(logits)
            else:
                chosen = head.sample(logits, self.generator)[0]
            chosen = head.to_economy(chosen)
            actions[agent_type] = chosen.reshape(*x.shape[:-1], -1).to(x.device)
        return actions


def _observation_width(module: Any) -> int:
    space = module.observation_space
    inner = space["observation"] if hasattr(space, "spaces") else space
    return int(inner.shape[-1])


def checkpoint_policy(path: str | Path, *, greedy: bool = False, seed: int = 0) -> CheckpointPolicy:
    """Load the trained modules of a run folder or checkpoint as a ``CheckpointPolicy``.

    Example (firms learn a best response with Stable-Baselines3 against the trained consumers
    and government)::

        policy = checkpoint_policy("runs/demo")
        env = rbc_env.single_type_env(policy.config, agent_type="firm", others=policy)

    Args:
        path: a run folder of ``python -m trainers train`` (its newest intact checkpoint is
            used) or one checkpoint folder (``<run>/checkpoints/iter_*``, or a kept checkpoint
            such as ``benchmarks/results/reproduce_paper_cpu/checkpoints/open_seed0``).
        greedy: act by each head's most likely index instead of sampling.
        seed: seed of the policy's generator (draws are reproducible per seed).

    Returns:
        A ``CheckpointPolicy``.

    Raises:
        ValueError: if ``path`` is neither, its checkpoint fails its SHA-256 manifest check
            (nothing is unpickled then), or it lacks a module of some agent type.
    """
    from trainers.best_response import checkpoint_train_config, load_run

    folder = Path(path)
    if not folder.is_dir():
        raise ValueError(f"checkpoint_policy: {folder} is not a folder")
    if (folder / "config.yaml").exists():
        _, checkpoint = load_run(folder)
    else:
        checkpoint = folder
    train_config = checkpoint_train_config(checkpoint)  # verifies every file's SHA-256 first
    root = checkpoint.joinpath(*_RL_MODULE)
    missing = [t for t in AGENT_TYPES if not (root / t).is_dir()]
    if missing:
        raise ValueError(f"checkpoint {checkpoint} has no module for {missing}")

    from ray.rllib.core.rl_module.rl_module import RLModule

    import trainers.rllib  # noqa: F401  (registers the module classes the pickles name)

    modules = {t: RLModule.from_checkpoint(str((root / t).resolve())) for t in AGENT_TYPES}
    for module in modules.values():
        module.eval()
    return CheckpointPolicy(
        modules=modules,
        train_config=train_config,
        checkpoint=checkpoint,
        greedy=greedy,
        generator=torch.Generator().manual_seed(seed),
    )
