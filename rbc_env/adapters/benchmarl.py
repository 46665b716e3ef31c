"""BenchMARL on the batched TorchRL face: the economy as a task, PPO with multi-head actions.

BenchMARL (facebookresearch/BenchMARL) trains TorchRL environments with its own experiment
loop. This module gives it two things, and nothing else (no economics, no second env):

- ``RBCTask``: the economy as a BenchMARL task, ``RBCTask.OPEN`` and ``RBCTask.CLOSED`` (the
  ``variant``). ``get_env_fun`` builds ``rbc_env.adapters.torchrl.RBCTorchRLEnv`` with
  ``batch_size`` = BenchMARL's ``num_envs``, so the B economies are stepped as one batch, as
  BenchMARL does with VMAS. Groups, specs and keys are the TorchRL face's: one group per agent
  type, ``(t, "observation")``, ``(t, "action")`` [B, N_t, H_t] int64 with a
  ``MultiCategorical`` spec, the global ``"state"`` for centralized critics, and
  ``(t, "action_mask")`` when the task config asks for masks.
- ``MultiHeadMappoConfig`` and ``MultiHeadIppoConfig``: BenchMARL's MAPPO and IPPO with the
  one change the multi-head action needs. Stock BenchMARL builds a discrete actor as one
  ``Categorical`` per agent with ``action_spec.space.n`` logits; a ``MultiCategorical`` spec has
  no ``space.n``, and one categorical would drop the heads. The subclasses build the actor
  with ``Σ nvec`` logits per agent and ``MultiHeadCategorical`` (the TorchRL face's
  distribution) as distribution class, so a sample is one index per head, ``[B, N_t, H_t]``,
  and the log-probability ClipPPOLoss uses is the sum over the heads. Loss, critic, value
  estimation and everything else are BenchMARL's own. Any other action spec goes to the stock
  code unchanged.

Tested with BenchMARL 1.5.2, torchrl 0.11.1, tensordict 0.11.0 and torch 2.13.0 (the
versions BenchMARL 1.5.2 declares: ``torchrl>=0.10,<0.12``); see ``docs/howto/benchmarl.md``
for the install and for torchrl 0.14.

Example:
    >>> from rbc_env.adapters.benchmarl import RBCTask
    >>> task = RBCTask.OPEN.get_task({"n_consumers": 10, "n_firms": 2})
    >>> task.group_map(task.get_env_fun(2, False, 0, "cpu")())["firm"]
    ['firm_0', 'firm_1']

    ``Experiment(task=task, algorithm_config=MultiHeadMappoConfig.get_from_yaml(),
    model_config=MlpConfig.get_from_yaml(), critic_model_config=MlpConfig.get_from_yaml(),
    seed=0, config=ExperimentConfig.get_from_yaml()).run()`` trains (the example script
    ``examples/benchmarl_mappo.py`` sets a small run).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import torch
from benchmarl.algorithms import Ippo, IppoConfig, Mappo, MappoConfig
from benchmarl.algorithms.common import AlgorithmConfig
from benchmarl.environments import Task, TaskClass
from benchmarl.models.common import ModelConfig
from benchmarl.utils import _read_yaml_config
from tensordict.nn import TensorDictModule
from torchrl.data import Composite, MultiCategorical, Unbounded
from torchrl.envs import EnvBase, RewardScaling, Transform, TransformedEnv
from torchrl.modules import ProbabilisticActor

from rbc_env.adapters.agents import resolve_config
from rbc_env.adapters.torchrl import MultiHeadCategorical, RBCTorchRLEnv, torchrl_env
from rbc_env.config import RBCConfig
from rbc_env.core import AGENT_TYPES, theta_factor

__all__ = [
    "TASK_ARGUMENTS",
    "MultiHeadIppo",
    "MultiHeadIppoConfig",
    "MultiHeadMappo",
    "MultiHeadMappoConfig",
    "RBCTask",
    "RBCTaskClass",
    "multi_head_nvec",
]

# Task-config keys that are env arguments, not config fields, with their defaults. BenchMARL sets
# batch_size, device and seed itself (num_envs, sampling_device, the experiment seed).
TASK_ARGUMENTS: Mapping[str, Any] = MappingProxyType(
    {"action_masks": False, "validate": True, "iteration": None, "reward_scale": None}
)


# ---- the task ------------------------------------------------------------------------------
class RBCTaskClass(TaskClass):
    """The RBC economy as a BenchMARL task, built on the batched TorchRL face.

    The task name is the variant (``OPEN`` or ``CLOSED``). The task config is a dict of

    - config fields, as ``torchrl_env`` takes them: top-level names (``n_consumers``,
      ``n_firms``, ``horizon``, ...), dotted paths (``"firm.tfp"``) or nested dicts
      (``firm={"tfp": 0.02}``); the rest is the paper's calibration (``RBCConfig.paper``);
    - ``action_masks`` (bool, default False): add ``(t, "action_mask")``, which the multi-head
      PPO actors then apply;
    - ``validate`` (bool, default True): check every action (see ``RBCTorchRLEnv``);
    - ``iteration`` (int or None, default None): a fixed curriculum iteration for every episode
      (θ factor and masks, ``RBCTorchRLEnv.iteration``); None is the economy without curriculum;
    - ``reward_scale`` (dict or None, default None): ``{agent type: s > 0}``; BenchMARL trains
      and logs ``(t, "reward")`` / s (TorchRL's ``RewardScaling``), as the project's trainer
      divides each type's rewards by its ``reward_scale`` (``configs/*.yaml``). A type not
      named keeps its raw reward (utility, money, welfare).

    Args:
        name: the task name, ``"OPEN"`` or ``"CLOSED"``.
        config: the task config above; ``None`` is ``{}``.

    Raises:
        ValueError: for an unknown key, an invalid value (naming the field and range), a
            ``variant`` that contradicts the task name, or a bad env argument.
    """

    def __init__(self, name: str, config: Mapping[str, Any] | None) -> None:
        super().__init__(name=name, config=dict(config or {}))
        variant = name.lower()
        given = self.config.get("variant", variant)
        if given != variant:
            raise ValueError(f"task {name} has variant {variant!r}; the config says {given!r}")
        fields = {k: v for k, v in self.config.items() if k not in TASK_ARGUMENTS}
        self.rbc_config: RBCConfig = resolve_config(
            RBCConfig.paper(variant),
            fields,
            caller=f"RBCTask.{name}",
            env_arguments=tuple(TASK_ARGUMENTS),
        )
        self.env_arguments: dict[str, Any] = {
            k: self.config.get(k, default) for k, default in TASK_ARGUMENTS.items()
        }
        for key in ("action_masks", "validate"):
            if not isinstance(self.env_arguments[key], bool):
                raise ValueError(
                    f"RBCTask config {key} must be a bool; got {self.env_arguments[key]!r}"
                )
        theta_factor(self.rbc_config, self.env_arguments["iteration"])  # raises ValueError
        self.env_arguments["reward_scale"] = _reward_scale(self.env_arguments["reward_scale"])

    def get_env_fun(
        self,
        num_envs: int,
        continuous_actions: bool,
        seed: int | None,
        device: torch.device | str,
    ) -> Callable[[], EnvBase]:
        """A function that builds ``RBCTorchRLEnv`` with ``batch_size=num_envs``.

        Args:
            num_envs: number of economies B stepped as one batch.
            continuous_actions: must be False (the actions are grid indices).
            seed: seed of the economy's generator.
            device: device of the economy and its tensors.

        Returns:
            A function of no arguments returning a new env.

        Raises:
            ValueError: if ``continuous_actions`` is True.
        """
        if continuous_actions:
            raise ValueError(
                "continuous_actions must be False: the RBC economy has discrete (multi-head) "
                "actions only"
            )
        config = self.rbc_config
        args = dict(self.env_arguments)

        def make() -> RBCTorchRLEnv:
            env = torchrl_env(
                config,
                batch_size=num_envs,
                device=device,
                action_masks=args["action_masks"],
                seed=seed,
                validate=args["validate"],
            )
            env.iteration = args["iteration"]
            return env

        return make

    def get_env_transforms(self, env: EnvBase) -> list[Transform]:
        """``RewardScaling`` of ``(t, "reward")`` by 1 / s per type named in ``reward_scale``."""
        return [
            RewardScaling(loc=0.0, scale=s, in_keys=[(t, "reward")], standard_normal=True)
            for t, s in self.env_arguments["reward_scale"].items()
        ]

    def supports_continuous_actions(self) -> bool:
        """False: every action head is a grid index."""
        return False

    def supports_discrete_actions(self) -> bool:
        """True (multi-head: train with ``MultiHeadMappoConfig`` or ``MultiHeadIppoConfig``)."""
        return True

    def max_steps(self, env: EnvBase) -> int:
        """The horizon T: an evaluation rollout is one episode."""
        return _base(env).config.horizon

    def has_render(self, env: EnvBase) -> bool:
        """False: the economy has no frames to render."""
        return False

    def group_map(self, env: EnvBase) -> dict[str, list[str]]:
        """``{agent type: agent ids}`` (``RBCTorchRLEnv.group_map``)."""
        return _base(env).group_map

    def observation_spec(self, env: EnvBase) -> Composite:
        """The ``(t, "observation")`` entries, unbatched: [N_t, D_t] per group."""
        return self._group_entries(env, "observation")

    def action_mask_spec(self, env: EnvBase) -> Composite | None:
        """The ``(t, "action_mask")`` entries [N_t, Σ nvec_t], or None without masks."""
        if not _base(env).action_masks:
            return None
        return self._group_entries(env, "action_mask")

    def state_spec(self, env: EnvBase) -> Composite:
        """The global ``"state"`` [7F + 2C + 3], for centralized critics (MAPPO)."""
        return Composite({"state": env.full_observation_spec_unbatched["state"].clone()})

    def info_spec(self, env: EnvBase) -> None:
        """None: the env writes no info entries."""
        return None

    def action_spec(self, env: EnvBase) -> Composite:
        """The ``(t, "action")`` entries, unbatched: ``MultiCategorical`` [N_t, H_t]."""
        return env.full_action_spec_unbatched.clone()

    @staticmethod
    def env_name() -> str:
        """``"rbc"``."""
        return "rbc"

    def _group_entries(self, env: EnvBase, key: str) -> Composite:
        spec = env.full_observation_spec_unbatched
        return Composite(
            {
                t: Composite({key: spec[t, key].clone()}, shape=spec[t].shape)
                for t in self.group_map(env)
            }
        )


class RBCTask(Task):
    """The RBC economy's BenchMARL tasks, one per variant.

    ``RBCTask.OPEN.get_task({"n_consumers": 10, "n_firms": 2})`` gives the task (an
    ``RBCTaskClass``); ``get_task()`` is the paper's economy. BenchMARL's ``conf/task`` folder
    has no entry for these tasks, so ``get_from_yaml()`` without a path is ``get_task({})`` and
    with a path reads that YAML file.
    """

    OPEN = None
    CLOSED = None

    @staticmethod
    def associated_class() -> type[RBCTaskClass]:
        """``RBCTaskClass``."""
        return RBCTaskClass

    def get_from_yaml(self, path: str | None = None) -> RBCTaskClass:
        """The task with the config in the YAML file ``path``; ``None`` is ``{}``."""
        return self.get_task(config={} if path is None else _read_yaml_config(path))


def _reward_scale(value: Any) -> dict[str, float]:
    """Check a task's ``reward_scale``: None, or a mapping of agent types to positive numbers."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"RBCTask config reward_scale must be a dict; got {value!r}")
    out = {}
    for t, s in value.items():
        if t not in AGENT_TYPES:
            raise ValueError(f"RBCTask config reward_scale: unknown agent type {t!r}")
        if isinstance(s, bool) or not isinstance(s, int | float) or not 0 < s < math.inf:
            raise ValueError(f"RBCTask config reward_scale.{t} must be in (0, inf); got {s!r}")
        out[t] = float(s)
    return out


def _base(env: EnvBase) -> RBCTorchRLEnv:
    """The ``RBCTorchRLEnv`` inside BenchMARL's ``TransformedEnv`` wrappers."""
    while isinstance(env, TransformedEnv):
        env = env.base_env
    if not isinstance(env, RBCTorchRLEnv):
        raise ValueError(f"expected an RBCTorchRLEnv (maybe transformed); got {type(env).__name__}")
    return env


# ---- PPO with multi-head actions -----------------------------------------------------------
def multi_head_nvec(spec: MultiCategorical) -> tuple[int, ...]:
    """Choices per head of a group's ``MultiCategorical`` action spec [N, H].

    Args:
        spec: the group's ``(t, "action")`` spec, unbatched.

    Returns:
        ``nvec``, one entry per head (H entries).

    Raises:
        ValueError: if the agents of the group have different heads (one actor per group
            needs one layout).
    """
    nvec = spec.nvec.reshape(-1, spec.shape[-1])
    if not bool((nvec == nvec[0]).all()):
        raise ValueError(f"every agent of a group must have the same nvec; got {nvec.tolist()}")
    return tuple(int(n) for n in nvec[0])


class _MultiHeadActor:
    """Mixin over BenchMARL's PPO algorithms: the multi-head actor for ``MultiCategorical``."""

    def _get_policy_for_loss(
        self, group: str, model_config: ModelConfig, continuous: bool
    ) -> TensorDictModule:
        spec = self.action_spec[group, "action"]
        if continuous or not isinstance(spec, MultiCategorical):
            return super()._get_policy_for_loss(group, model_config, continuous)
        nvec = multi_head_nvec(spec)
        n_agents = len(self.group_map[group])
        # as BenchMARL's discrete actor, with Σ nvec logits per agent instead of space.n
        actor_input_spec = Composite({group: self.observation_spec[group].clone().to(self.device)})
        actor_output_spec = Composite(
            {
                group: Composite(
                    {"logits": Unbounded(shape=(n_agents, sum(nvec)))}, shape=(n_agents,)
                )
            }
        )
        actor_module = model_config.get_model(
            input_spec=actor_input_spec,
            output_spec=actor_output_spec,
            agent_group=group,
            input_has_agent_dim=True,
            n_agents=n_agents,
            centralised=False,
            share_params=self.experiment_config.share_policy_params,
            device=self.device,
            action_spec=self.action_spec,
        )
        in_keys = {"logits": (group, "logits")}
        if self.action_mask_spec is not None and group in self.action_mask_spec.keys():
            in_keys["mask"] = (group, "action_mask")
        return ProbabilisticActor(
            module=actor_module,
            spec=spec,
            in_keys=in_keys,
            out_keys=[(group, "action")],
            distribution_class=MultiHeadCategorical,
            distribution_kwargs={"nvec": nvec},
            return_log_prob=True,
            log_prob_key=(group, "log_prob"),
        )


class MultiHeadMappo(_MultiHeadActor, Mappo):
    """BenchMARL's ``Mappo`` with a ``MultiHeadCategorical`` actor for multi-head actions."""


class MultiHeadIppo(_MultiHeadActor, Ippo):
    """BenchMARL's ``Ippo`` with a ``MultiHeadCategorical`` actor for multi-head actions."""


@dataclass
class MultiHeadMappoConfig(MappoConfig):
    """``MappoConfig`` (same fields, same defaults) for ``MultiHeadMappo``."""

    @staticmethod
    def associated_class() -> type[MultiHeadMappo]:
        """``MultiHeadMappo``."""
        return MultiHeadMappo

    @classmethod
    def get_from_yaml(cls, path: str | None = None) -> MultiHeadMappoConfig:
        """BenchMARL's ``mappo.yaml`` defaults, or the YAML file ``path``."""
        if path is None:
            return cls(**AlgorithmConfig._load_from_yaml("mappo"))
        return super().get_from_yaml(path)


@dataclass
class MultiHeadIppoConfig(IppoConfig):
    """``IppoConfig`` (same fields, same defaults) for ``MultiHeadIppo``."""

    @staticmethod
    def associated_class() -> type[MultiHeadIppo]:
        """``MultiHeadIppo``."""
        return MultiHeadIppo

    @classmethod
    def get_from_yaml(cls, path: str | None = None) -> MultiHeadIppoConfig:
        """BenchMARL's ``ippo.yaml`` defaults, or the YAML file ``path``."""
        if path is None:
            return cls(**AlgorithmConfig._load_from_yaml("ippo"))
        return super().get_from_yaml(path)
