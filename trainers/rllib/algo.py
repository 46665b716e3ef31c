"""The RLlib AlgorithmConfig of a training run: three modules, per-type settings, samplers.

``build_config`` turns a ``trainers.config.TrainConfig`` into a ray 2.60 (new API stack)
``AlgorithmConfig``. For a growth economy: Gaussian modules of ``trainers.rllib.gaussian``, one
per type of the economy, the batched sampler. For the RBC economy:

- one module per agent type (``consumer``, ``firm``, ``government``), agents mapped by their id's
  prefix (``"firm_3" -> "firm"``, ``"government_0" -> "government"``);
- ``trainers.rllib.modules.MaskedPPOTorchRLModule`` for every type; the types whose actions
  the curriculum restricts (firm, government) observe ``Dict(observation, action_mask)``;
- per-type learning rate, PPO clip, gradient clip, value-loss weight and clip as per-module
  config overrides (``multi_agent(algorithm_config_overrides_per_module=...)``); per-type reward
  scale, γ and λ are applied by the sampler;
- ``trainers.rllib.learner.ProportionalPPOTorchLearner``, no KL term;
- ``sampler="batched"``: ``trainers.rllib.batched.BatchedPPO`` with no remote EnvRunners
  (the local EnvRunner only carries the spaces, through ``SpacesOnlyEnv``); with
  ``num_learners = 0`` one learner in the driver process (on the GPU where present), with
  N >= 1 N learner actors (``cpus_per_learner`` CPUs each, one GPU each on cuda) that each
  update on 1/N of every module's rows (RLlib shards the batch; DDP averages the gradients, so
  the learners' weights stay equal);
- ``sampler="env_runner"``: RLlib's own EnvRunner sampling of
  ``trainers.rllib.env_runner.RBCModuleEnv`` (``rbc_env.adapters.rllib``'s env in the
  modules' observation layout) with ``TrainConfig.env_runner`` EnvRunners, restarted on failure;
  per-type reward scale, γ and λ in the learner connector, the curriculum and the metrics by
  callbacks (``trainers.rllib.env_runner``). Each iteration samples whole episodes,
  ``batch_size`` economies rounded up to a multiple of the economies stepped at once.

A deviation run (``TrainConfig.deviation``, spec 10) trains only the deviating module
(``policies_to_train``); a single agent's deviation adds a fourth module, a copy of its type's
spec and settings, that the batched sampler uses for that agent alone.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import gymnasium as gym
from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
from ray.rllib.core.rl_module.rl_module import RLModuleSpec

from rbc_env.core import AGENT_TYPES, observation_specs
from rbc_env.growth import observation_specs as growth_observation_specs
from rbc_env.perf import freed_memory_kept
from trainers.config import FLOOR_OFF, GROWTH, TrainConfig
from trainers.curriculum import masked_types
from trainers.rllib import env_runner as er
from trainers.rllib.batched import BatchedPPOConfig
from trainers.rllib.gaussian import GaussianPPOTorchRLModule
from trainers.rllib.growth import growth_module_spaces
from trainers.rllib.learner import (
    AUTOCAST_KEY,
    KEEP_FREED_MEMORY_KEY,
    NUM_MINIBATCHES_KEY,
    ProportionalPPOTorchLearner,
)
from trainers.rllib.modules import CentralCriticPPOTorchRLModule, MaskedPPOTorchRLModule
from trainers.rllib.spaces import SpacesOnlyEnv, module_spaces, policy_mapping_fn

__all__ = ["build_config"]


def build_config(train_config: TrainConfig) -> BatchedPPOConfig:
    """The AlgorithmConfig of a run (see the module docstring).

    Args:
        train_config: the run.

    Returns:
        A growth run, or ``sampler="batched"``: a ``BatchedPPOConfig`` (``.build_algo()`` gives
        a ``BatchedPPO``);
        ``sampler="env_runner"``: an ``EnvRunnerPPOConfig`` (a subclass; ``.build_algo()``
        gives an ``trainers.rllib.env_runner.EnvRunnerPPO``).

    Raises:
        NotImplementedError: for ``sampler="env_runner"`` with a reference-parity option it does
            not implement (``parity.returns="reference"``, ``sampling="fixed_quantile"``,
            ``value_loss="reference"``); for ``rollouts="learners"`` with the env-runner
            sampler or in a deviation run.
        ValueError: where Ray could not place the learner actors, or
            ``rollouts="learners"`` without learner actors or with B not a multiple of them.
    """
    if train_config.family == GROWTH:
        return _growth_config(train_config)
    tc = train_config
    _check_learner_rollouts(tc)
    spaces = module_spaces(tc.economy)
    if tc.sampler == "batched":
        config = (
            BatchedPPOConfig()
            .environment(SpacesOnlyEnv, env_config={"spaces": spaces}, disable_env_checking=True)
            .env_runners(num_env_runners=0)
        )
        learner_class: type = ProportionalPPOTorchLearner
        learner_extra: dict[str, Any] = {}
    else:
        config, learner_class, learner_extra = _env_runner_sampler(tc)
    return _shared_settings(config, tc, spaces, learner_class, learner_extra)


def _shared_settings(
    config: BatchedPPOConfig,
    tc: TrainConfig,
    spaces: dict[str, tuple[gym.Space, gym.Space]],
    learner_class: type,
    learner_extra: dict[str, Any],
) -> BatchedPPOConfig:
    """What both samplers share: modules, mapping, per-type overrides, learner, PPO settings."""
    specs = {}
    overrides = {}
    global_dim = observation_specs(tc.economy)["government"].shape[0]
    for t in AGENT_TYPES:
        ppo = tc.ppo(t)
        model_config: dict[str, Any] = {
            "fcnet_hiddens": list(ppo.hidden_sizes),
            "fcnet_activation": "relu",
            "vf_share_layers": ppo.shared_trunk,
        }
        module_class: type = MaskedPPOTorchRLModule
        if tc.critic == "centralized":
            module_class = CentralCriticPPOTorchRLModule
            model_config["global_dim"] = global_dim
        specs[t] = RLModuleSpec(
            module_class=module_class,
            observation_space=spaces[t][0],
            action_space=spaces[t][1],
            model_config=model_config,
        )
        overrides[t] = BatchedPPOConfig.overrides(
            lr=ppo.lr,
            clip_param=ppo.clip,
            grad_clip=None if ppo.grad_clip == float("inf") else ppo.grad_clip,
            vf_loss_coeff=ppo.vf_loss_coeff,
            vf_clip_param=ppo.vf_clip,
            gamma=ppo.gamma,
            lambda_=ppo.gae_lambda,
        )
    for mid in tc.module_ids[len(AGENT_TYPES) :]:  # a deviating agent's own module
        specs[mid] = specs[tc.deviation.agent_type]
        overrides[mid] = overrides[tc.deviation.agent_type]
    gpu = tc.resolved_device == "cuda"
    _check_learner_resources(tc.num_learners, tc.cpus_per_learner, gpu)
    if tc.compile and tc.num_learners > 1:
        # RLlib 2.60 refuses torch.compile with its distributed (DDP) learners.
        raise ValueError(
            f"TrainConfig.compile needs num_learners <= 1 (RLlib does not compile distributed "
            f"learners); got compile=True with num_learners={tc.num_learners}"
        )
    trained = tc.trained_modules
    if tc.best_response.every > 0 and not tc.deviation.active:
        if tc.sampler != "batched":
            raise NotImplementedError(
                "TrainConfig.best_response.every > 0 (the periodic ε check) is implemented by "
                "the batched sampler only; use sampler='batched'"
            )
    config = config.run(tc).framework(
        "torch",
        torch_compile_learner=tc.compile,
        torch_compile_learner_what_to_compile="forward_train",
    )
    return _modules_learner_ppo(
        config,
        specs,
        overrides,
        policies_to_train=None if trained is None else list(trained),
        seed=tc.seed,
        learners={
            # num_learners = 0: one learner in the driver process, on the GPU where there is
            # one; N >= 1: N learner actors that split each update's rows (data parallel).
            "num_learners": tc.num_learners,
            "num_gpus_per_learner": 1 if gpu else 0,
            # Ray sets each actor's OMP_NUM_THREADS, hence its torch threads, from its CPUs;
            # with N = 0 RLlib would reserve them for the driver instead (in a Tune trial).
            "num_cpus_per_learner": tc.cpus_per_learner if tc.num_learners else "auto",
            "learner_class": learner_class,
            "learner_config_dict": {
                NUM_MINIBATCHES_KEY: tc.num_minibatches,
                AUTOCAST_KEY: tc.precision == "bf16",
                KEEP_FREED_MEMORY_KEY: freed_memory_kept(),
                **learner_extra,
            },
        },
        training={
            "num_epochs": tc.num_epochs,
            "shuffle_batch_per_epoch": tc.shuffle,
            "train_batch_size_per_learner": tc.batch_size * tc.economy.horizon,
        },
    )


def _modules_learner_ppo(
    config: BatchedPPOConfig,
    specs: dict[str, RLModuleSpec],
    overrides: dict[str, Any],
    *,
    policies_to_train: list[str] | None,
    seed: int,
    learners: dict[str, Any],
    training: dict[str, Any],
) -> BatchedPPOConfig:
    """The settings every run shares, RBC or growth, either sampler.

    One module per id (agents mapped by their id's type prefix), the per-module overrides, the
    learner, PPO without a KL term and with full-batch updates (the proportional learner splits
    them), per-iteration reporting, the seed, and no system-usage monitor.

    Args:
        config: the run's config so far (environment, EnvRunners, framework, run config).
        specs: ``{module id: RLModuleSpec}``.
        overrides: ``{module id: per-module AlgorithmConfig overrides}``.
        policies_to_train: the modules the learner updates (``None``: all).
        seed: the run's seed.
        learners: keyword arguments of ``.learners``.
        training: the run's own keyword arguments of ``.training`` (epochs, shuffling, batch).
    """
    return (
        config.multi_agent(
            policies=list(specs),
            policy_mapping_fn=policy_mapping_fn,
            policies_to_train=policies_to_train,
        )
        .rl_module(
            rl_module_spec=MultiRLModuleSpec(rl_module_specs=specs),
            algorithm_config_overrides_per_module=overrides,
        )
        .learners(**learners)
        .training(
            minibatch_size=None,
            use_kl_loss=False,
            kl_coeff=0.0,
            grad_clip_by="global_norm",
            entropy_coeff=0.0,
            **training,
        )
        .reporting(
            min_time_s_per_iteration=None,
            min_sample_timesteps_per_iteration=0,
            min_train_timesteps_per_iteration=0,
        )
        # No resource-monitor thread: its samples are never read, and every algorithm's stop()
        # waited up to 0.7 s for it to wake (0.25 s a build measured in the best-response checks).
        .debugging(seed=seed, log_sys_usage=False)
    )


def _growth_config(tc: TrainConfig) -> BatchedPPOConfig:
    """The AlgorithmConfig of a growth run (``.build_algo()`` gives a ``BatchedPPO``)."""
    spaces = growth_module_spaces(tc)
    specs, overrides = {}, {}
    own = growth_observation_specs(tc.economy)
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
        overrides[t] = BatchedPPOConfig.overrides(
            lr=lr,
            clip_param=ppo.clip,
            grad_clip=None if ppo.grad_clip == float("inf") else ppo.grad_clip,
            vf_loss_coeff=ppo.vf_loss_coeff,
            gamma=tc.gamma,
            lambda_=ppo.gae_lambda,
        )
    gpu = tc.resolved_device == "cuda"
    config = (
        BatchedPPOConfig()
        .run(tc)
        .environment(SpacesOnlyEnv, env_config={"spaces": spaces}, disable_env_checking=True)
        .env_runners(num_env_runners=0)
        .framework("torch")
    )
    return _modules_learner_ppo(
        config,
        specs,
        overrides,
        policies_to_train=None,
        seed=tc.seed,
        learners={
            "num_learners": 0,
            "num_gpus_per_learner": 1 if gpu else 0,
            "learner_class": ProportionalPPOTorchLearner,
            "learner_config_dict": {NUM_MINIBATCHES_KEY: tc.num_minibatches},
        },
        training={
            "num_epochs": tc.num_epochs,
            "shuffle_batch_per_epoch": True,
            "train_batch_size_per_learner": tc.batch_size * tc.rollout_length,
            "vf_clip_param": float("inf"),
        },
    )


def _check_learner_rollouts(tc: TrainConfig) -> None:
    """Refuse ``rollouts="learners"`` where the learners could not roll out.

    Raises:
        ValueError: without learner actors, or when they cannot split B evenly.
        NotImplementedError: with the env-runner sampler or in a deviation run.
    """
    if tc.rollouts != "learners":
        return
    if tc.sampler != "batched":
        raise NotImplementedError(
            "TrainConfig.rollouts='learners' is implemented by the batched sampler only; use "
            "sampler='batched' or rollouts='driver'"
        )
    if tc.num_learners < 1:
        raise ValueError(
            "TrainConfig.num_learners must be in [1, inf) with rollouts='learners' (the "
            f"learner actors roll out); got {tc.num_learners}"
        )
    if tc.batch_size % tc.num_learners:
        raise ValueError(
            f"TrainConfig.batch_size must be a multiple of num_learners ({tc.num_learners}) "
            "with rollouts='learners' (each learner rolls out batch_size / num_learners "
            f"economies); got {tc.batch_size}"
        )
    if tc.deviation.active:
        # Best-response checks of a run with rollouts='learners' deviate with driver rollouts
        # (trainers.best_response.deviation_config).
        raise NotImplementedError(
            "TrainConfig.deviation (a deviation run) needs rollouts='driver'; got "
            "rollouts='learners'"
        )


def _check_learner_resources(num_learners: int, cpus: int, gpu: bool) -> None:
    """Fail early where Ray could never place ``num_learners`` learner actors.

    Each learner actor takes ``cpus`` CPUs of one node (``TrainConfig.cpus_per_learner``) and,
    on cuda, one GPU; a cluster without them would leave ``build_algo`` waiting forever.
    Checked only when Ray is already running.

    Raises:
        ValueError: naming the ``TrainConfig`` field and what the cluster has.
    """
    import ray

    if num_learners > 0 and cpus > 1 and ray.is_initialized():
        largest = max(
            (node["Resources"].get("CPU", 0.0) for node in ray.nodes() if node["Alive"]),
            default=0.0,
        )
        if cpus > largest:
            raise ValueError(
                f"TrainConfig.cpus_per_learner must be at most the CPUs of the Ray cluster's "
                f"largest node ({largest:g}: an actor runs on one node); got {cpus}"
            )
    if gpu:
        _check_cluster("num_learners", num_learners, "GPU", "learner actor")
    _check_cluster("num_learners", num_learners, "CPU", "learner actor", per_actor=cpus)


def _check_cluster(
    field_name: str, actors: int, unit: str, actor: str, *, per_actor: int = 1
) -> None:
    """Raise where a running Ray cluster has fewer ``unit``s than ``actors`` × ``per_actor``."""
    import ray

    if actors == 0 or not ray.is_initialized():
        return
    have = ray.cluster_resources().get(unit, 0.0)
    if have < actors * per_actor:
        each = "one" if per_actor == 1 else f"cpus_per_learner = {per_actor}"
        raise ValueError(
            f"TrainConfig.{field_name} must be at most the Ray cluster's {unit}s ({have:g}: "
            f"{each} per {actor}); got {actors}. Use 0 for one in the driver."
        )


def _env_runner_sampler(
    tc: TrainConfig,
) -> tuple[BatchedPPOConfig, type, dict[str, Any]]:
    """The env-runner sampler's own settings: env, EnvRunners, callbacks, learner pieces."""
    if tc.economy.action_space != "discrete":
        raise NotImplementedError(
            "economy.action_space='continuous' is implemented by the batched sampler only; use "
            "sampler='batched'"
        )
    if tc.num_learners > 0:
        # RLlib 2.60 shards the episodes of a full-batch update (minibatch_size None) with
        # `num_shards * minibatch_size` and fails (TypeError, measured); not worked around.
        raise NotImplementedError(
            "TrainConfig.num_learners > 0 (learner actors) is implemented by the batched sampler "
            f"only; use sampler='batched' or num_learners=0; got {tc.num_learners}"
        )
    if tc.deviation.active:
        raise NotImplementedError(
            "TrainConfig.deviation (best-response runs) is implemented by the batched sampler "
            "only; use sampler='batched'"
        )
    if tc.critic != "independent":
        raise NotImplementedError(
            "TrainConfig.critic='centralized' is implemented by the batched sampler only; "
            "use sampler='batched'"
        )
    parity = tc.economy.parity
    for name, supported in (
        ("sampling", "independent"),
        ("value_loss", "standard"),
        ("returns", "discounted"),
    ):
        if getattr(parity, name) != supported:
            raise NotImplementedError(
                f"ReferenceParity.{name}={getattr(parity, name)!r} is not implemented by the "
                f"env_runner sampler; use {supported!r} (or sampler='batched')"
            )
    runners = tc.env_runner.num_env_runners
    _check_cluster("env_runner.num_env_runners", runners, "CPU", "remote EnvRunner")
    envs = tc.env_runner.envs_per_runner
    # Whole episodes only: each sub-env runs the same number of full episodes per iteration,
    # so every episode of iteration e starts after the curriculum stage of e was applied.
    episodes_per_env = math.ceil(tc.batch_size / (max(runners, 1) * envs))
    env_config = {
        "config": tc.economy.to_dict(),
        "action_masks": bool(masked_types(tc.economy)),
        "seed": tc.seed,
        "iteration": 0,
    }
    config = (
        er.EnvRunnerPPOConfig()
        .environment(
            er.RBCModuleEnv,
            env_config=env_config,
            disable_env_checking=True,
            normalize_actions=False,
            clip_actions=False,
        )
        .env_runners(
            env_runner_cls=er.LeanMultiAgentEnvRunner,
            num_env_runners=runners,
            num_envs_per_env_runner=envs,
            rollout_fragment_length=episodes_per_env * tc.economy.horizon,
        )
        .callbacks(er.CurriculumCallbacks)
        .fault_tolerance(restart_failed_env_runners=True)
    )
    learner_extra = {
        er.REWARD_SCALES_KEY: {t: tc.ppo(t).reward_scale for t in AGENT_TYPES},
        er.BOOTSTRAP_TRUNCATED_KEY: tc.bootstrap_truncated,
        er.HORIZON_KEY: tc.economy.horizon,
    }
    return config, er.EnvRunnerPPOTorchLearner, learner_extra
