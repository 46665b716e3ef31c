"""Best response and the ε-meta-equilibrium check (spec section 10).

For a learned profile (π_c, π_f, π_g) and an agent type k, the meta-game best response asks
how much type k's mean per-step reward J_k can still rise when k alone keeps training while
the other two types stay frozen:

    ε_k = J_k(π'_k, π_-k) - J_k(π),

a lower bound on the true ε, since training only approximates the maximum. Relative ε is
ε_k / (J_k at the end of training - J_k at its start), the paper's Table 3 normalization, and
ε_k / |J_k before|.

The procedure itself is framework-free (``best_response``): the learned policy and the
deviation run's policies every few iterations are scored on selection episodes, the best is
measured again on fresh test episodes next to the learned one (paired, Student-t 95% interval),
and ε⁺ = max(0, ε) is reported: staying put is a deviation, so ε ≥ 0 by definition.
``run_best_response`` applies it to a training run folder: it restores the run's last
checkpoint once per deviation, evaluates the profile on the batched core (θ factor 1, no action
masks, stochastic policies, as in the reference procedure), trains only type k
(``policies_to_train=[k]``), and evaluates again with the same seed.

``run_fixed_taxes`` evaluates the same consumers and firms under fixed tax rates instead of the
learned government (spec 11.3), so "learned taxes vs the best fixed taxes" is one table.

Deviations run as ``TrainConfig.deviation`` runs of ``BatchedPPO`` (``build_deviation``):
the type's shared policy (the meta-game best response), or one agent's own module (the
unilateral test, ``BestResponseParams.agents``), trained with the run's PPO settings or with the
reference's vanilla policy gradient (``method="pg"``). ``PeriodicBestResponse`` is the training
loop's hook that logs the ε curve during training (``TrainConfig.best_response.every``).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch

from rbc_env.tables import markdown_table
from trainers.config import AGENT_TYPES, RBC, BestResponseParams, TrainConfig
from trainers.hooks import RunHook
from trainers.rllib import build_config
from trainers.runfolder import RunPaths, read_metrics, verify_checkpoint

__all__ = [
    "BestResponse",
    "Estimate",
    "best_response",
    "evaluate_profile",
    "format_best_responses",
    "load_run",
    "agent_indices",
    "best_response_from_checkpoint",
    "build_deviation",
    "checkpoint_train_config",
    "deviation_config",
    "PeriodicBestResponse",
    "run_fixed_taxes",
    "tax_index",
    "TaxPolicyResult",
    "format_tax_policies",
    "run_best_response",
    "training_improvement",
]

IMPROVEMENT_WINDOW = 5  # iterations averaged at each end of training for J_start and J_end
SELECTION_SEED_OFFSET = 10_007  # evaluation episodes that choose the best deviation policy
TEST_SEED_OFFSET = 20_011  # fresh episodes that measure it (no selection bias)


def t_quantile(n: int, level: float = 0.95) -> float:
    """The two-sided ``level`` quantile of Student's t with n - 1 degrees of freedom."""
    from scipy.stats import t

    return float(t.ppf(0.5 + level / 2.0, n - 1))


@dataclass(frozen=True)
class Estimate:
    """A mean over independent samples with its 95% confidence interval (Student's t)."""

    mean: float
    low: float
    high: float
    n: int

    @property
    def standard_error(self) -> float:
        """(high - low) / (2 t_{0.975, n-1})."""
        return (self.high - self.low) / (2.0 * t_quantile(self.n))

    @classmethod
    def of(cls, samples: torch.Tensor | Sequence[float]) -> Estimate:
        """Mean ± t_{0.975, n-1} · sd / sqrt(n) of at least two finite samples."""
        x = torch.as_tensor(samples, dtype=torch.float64).flatten()
        if x.numel() < 2:
            raise ValueError(f"an estimate needs at least 2 samples; got {x.numel()}")
        if not bool(torch.isfinite(x).all()):
            raise ValueError("samples must be finite; got NaN or inf")
        mean = float(x.mean())
        half = t_quantile(x.numel()) * float(x.std(unbiased=True)) / math.sqrt(x.numel())
        return cls(mean, mean - half, mean + half, int(x.numel()))


@dataclass(frozen=True)
class BestResponse:
    """The best-response result of one deviation (a type's shared policy or one agent).

    ε is a supremum over deviations and staying put is one, so ε ≥ 0 by definition; the
    procedure makes that hold by construction: the learned policy (iteration 0) is a candidate,
    and "after" is the candidate with the highest J on the selection episodes, measured again
    on fresh test episodes.

    Attributes:
        agent_type: the deviating type.
        before: J of the learned profile on the test episodes.
        after: J of the chosen deviation policy on the same test episodes.
        epsilon: mean of the paired differences after - before (reward units of the type, per
            agent and step); exactly 0 when the learned policy was chosen.
        epsilon_low: lower end of its 95% interval (paired, Student's t).
        epsilon_high: upper end.
        eps_plus: max(0, epsilon), the reported ε⁺.
        eps_plus_low: max(0, epsilon_low).
        eps_plus_high: max(0, epsilon_high).
        training_improvement: J_k(end of training) - J_k(start) (NaN when unknown).
        relative: eps_plus / training_improvement, the paper's normalization (NaN when the
            training gain is unknown or not positive: the ratio has no meaning then).
        relative_before: eps_plus / |J before|.
        iterations: best-response iterations.
        selected_iteration: the deviation iteration whose policy was chosen (0: the learned).
        agent_index: -1 for the type's shared policy (meta-game deviation, trained on the
            type's mean reward), else the index of the single deviating agent (J is then that
            agent's own reward).
        method: ``"ppo"`` or ``"pg"`` (empty for the framework-free procedure).
    """

    agent_type: str
    before: Estimate
    after: Estimate
    epsilon: float
    epsilon_low: float
    epsilon_high: float
    eps_plus: float
    eps_plus_low: float
    eps_plus_high: float
    training_improvement: float
    relative: float
    relative_before: float
    iterations: int
    selected_iteration: int
    agent_index: int = -1
    method: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Flat dict for tables and JSON."""
        d = asdict(self)
        for key in ("before", "after"):
            est = d.pop(key)
            for name, value in est.items():
                d[f"{key}_{name}"] = value
        return d


def relative_epsilon(eps_plus: float, training_gain: float, before: float) -> tuple[float, float]:
    """ε⁺ relative to the type's training gain (the paper's Table 3) and to |J before|.

    The first is NaN when the training gain is unknown or not positive (e.g. the consumers',
    whose reward falls as the labour disutility anneals in): the ratio has no meaning then.
    """
    gain_ok = math.isfinite(training_gain) and training_gain > 0.0
    return (
        eps_plus / training_gain if gain_ok else math.nan,
        eps_plus / abs(before) if before != 0.0 else math.nan,
    )


def best_response(
    evaluate: Callable[[int], torch.Tensor],
    improve: Callable[[int], None],
    iterations: int,
    *,
    snapshot: Callable[[], Any],
    restore: Callable[[Any], None],
    select_every: int = 5,
    seed: int = 0,
    agent_type: str = "",
    training_improvement: float = math.nan,
) -> BestResponse:
    """The framework-free procedure: a search over deviation policies, measured without bias.

    1. J before: ``evaluate(test seed)`` of the learned policy; its selection score
       ``evaluate(selection seed)``; it is the first candidate.
    2. ``improve(i)`` for i < ``iterations``; every ``select_every`` iterations and at the
       end, the current policy is scored on the selection episodes; the best is kept
       (``snapshot``).
    3. J after: the best candidate, ``restore``d, on the test episodes (fresh ones: the
       selection does not bias the estimate). ε is the mean paired difference with a
       Student-t interval; ε⁺ = max(0, ε).

    Args:
        evaluate: ``evaluate(seed)`` returns one J sample per evaluation episode; the same seed
            gives the same episodes (common random numbers), so differences are paired.
        improve: ``improve(i)`` runs best-response iteration i (only the deviator changes).
        iterations: best-response iterations (>= 0).
        snapshot: returns the deviator's current parameters (a copy).
        restore: sets the deviator's parameters from a snapshot.
        select_every: iterations between selection scores (>= 1).
        seed: base seed; selection and test episodes use ``seed + SELECTION_SEED_OFFSET`` and
            ``seed + TEST_SEED_OFFSET``.
        agent_type: label of the deviating type.
        training_improvement: J_k(end) - J_k(start) of the original training, for relative ε.
    """
    if isinstance(iterations, bool) or not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"iterations must be an integer in [0, inf); got {iterations!r}")
    if isinstance(select_every, bool) or not isinstance(select_every, int) or select_every < 1:
        raise ValueError(f"select_every must be an integer in [1, inf); got {select_every!r}")
    selection_seed, test_seed = seed + SELECTION_SEED_OFFSET, seed + TEST_SEED_OFFSET
    before_samples = torch.as_tensor(evaluate(test_seed), dtype=torch.float64).flatten()
    before = Estimate.of(before_samples)
    best_score = float(torch.as_tensor(evaluate(selection_seed), dtype=torch.float64).mean())
    best_params, best_iteration = None, 0
    for i in range(iterations):
        improve(i)
        if (i + 1) % select_every == 0 or i + 1 == iterations:
            score = float(torch.as_tensor(evaluate(selection_seed), dtype=torch.float64).mean())
            if score > best_score:
                best_score, best_params, best_iteration = score, snapshot(), i + 1
    if best_params is None:
        after_samples = before_samples
    else:
        restore(best_params)
        after_samples = torch.as_tensor(evaluate(test_seed), dtype=torch.float64).flatten()
    after = Estimate.of(after_samples)
    diff = after_samples - before_samples
    eps = float(diff.mean())
    half = t_quantile(diff.numel()) * float(diff.std(unbiased=True)) / math.sqrt(diff.numel())
    relative, relative_before = relative_epsilon(max(0.0, eps), training_improvement, before.mean)
    return BestResponse(
        agent_type=agent_type,
        before=before,
        after=after,
        epsilon=eps,
        epsilon_low=eps - half,
        epsilon_high=eps + half,
        eps_plus=max(0.0, eps),
        eps_plus_low=max(0.0, eps - half),
        eps_plus_high=max(0.0, eps + half),
        training_improvement=training_improvement,
        relative=relative,
        relative_before=relative_before,
        iterations=iterations,
        selected_iteration=best_iteration,
    )


def load_run(run_dir: str | Path) -> tuple[TrainConfig, Path]:
    """The run's ``TrainConfig`` and its newest intact checkpoint; unpickles nothing.

    The run is identified by our own files first: the folder's marker, its YAML config and the
    checkpoint's SHA-256 manifest (``trainers.runfolder.verify_checkpoint``), whose JSON copy of
    the config must hold the same economy as config.yaml. A damaged newer checkpoint is skipped
    with a warning naming it. Only then may a caller load the checkpoint's pickles.

    Raises:
        ValueError: when the folder, its config or an intact checkpoint is missing, the folder
            is not an RBC training run (e.g. a ground-truth run), or its newest intact
            checkpoint holds another economy than its config.yaml.
    """
    paths = RunPaths(Path(run_dir))
    if not paths.root.is_dir():
        raise ValueError(f"run folder {paths.root} does not exist")
    if not paths.config.exists():
        raise ValueError(f"{paths.root} has no config.yaml: not a run folder of `trainers train`")
    try:
        config = TrainConfig.load(paths.config)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{paths.config} is not a TrainConfig: {err}") from err
    if config.family != RBC:
        raise ValueError(
            f"{paths.config} is not an RBC TrainConfig (a ground-truth run of "
            f"{config.economy.economy}): best responses and tax policies are the RBC economy's"
        )
    if paths.latest_checkpoint() is None:
        raise ValueError(
            f"{paths.root} has no checkpoints; train with --checkpoint-every N so that "
            "checkpoints/iter_* exist"
        )
    latest = paths.latest_intact_checkpoint()
    if latest is None:
        raise ValueError(
            f"{paths.root} has no intact checkpoint (each failed its SHA-256 manifest check)"
        )
    if checkpoint_train_config(latest[1]).economy != config.economy:
        raise ValueError(f"checkpoint {latest[1]} holds another economy than {paths.config}")
    return config, latest[1]


def checkpoint_train_config(checkpoint: str | Path) -> TrainConfig:
    """The ``TrainConfig`` a checkpoint's verified manifest records (JSON; no pickle is read).

    Raises:
        ValueError: if the checkpoint fails its manifest check or records no RBC TrainConfig.
    """
    manifest = verify_checkpoint(Path(checkpoint))
    try:
        return TrainConfig.from_dict(manifest["config"])
    except (KeyError, TypeError, ValueError) as err:
        raise ValueError(f"{checkpoint} is not a checkpoint of an RBC training run: {err}") from err


def training_improvement(run_dir: str | Path, agent_type: str) -> float:
    """J_k(end) - J_k(start) from the run's metrics.csv (means of the first and last rows)."""
    path = RunPaths(Path(run_dir)).metrics
    if not path.exists():
        return math.nan
    key = f"reward/{agent_type}_mean"
    values = [float(r[key]) for r in read_metrics(path) if r.get(key) not in (None, "")]
    if len(values) < 2:
        return math.nan
    k = max(1, min(IMPROVEMENT_WINDOW, len(values) // 2))
    return sum(values[-k:]) / k - sum(values[:k]) / k


@torch.no_grad()
def evaluate_profile(
    algo: Any, *, episodes: int, seed: int, government_action: torch.Tensor | None = None
) -> dict[str, torch.Tensor]:
    """Per-episode mean per-step reward of each type, on the batched core.

    The economy runs with θ factor 1 and no action masks (spec section 10); every type acts
    with its current stochastic policy, drawn from the economy's generator seeded by ``seed``.
    In a single-agent deviation run the deviating agent acts with its own module, and its own
    reward is returned under its module id.

    Args:
        algo: a ``BatchedPPO``.
        episodes: evaluation episodes (economies), >= 2.
        seed: seed of the evaluation economy.
        government_action: a fixed ``[2]`` (income-tax index, corporate-tax index) that
            replaces the government's policy (the fixed-tax baselines); ``None``: the policy.

    Returns:
        ``{module: [episodes] float64}``; the government's reward is social welfare (M11).
    """
    from rbc_env import BatchedEconomy
    from rbc_env.core import action_masks, has_agent_axis

    if episodes < 2:
        raise ValueError(f"episodes must be >= 2; got {episodes}")
    tc: TrainConfig = algo.train_config
    algo.sync_rollout_module()
    econ = BatchedEconomy(tc.economy, episodes, device=algo.device, seed=seed, validate=False)
    masks = action_masks(tc.economy, None, algo.device)
    deviator = algo.deviator
    obs = econ.reset()
    sums = {
        m: torch.zeros(episodes, dtype=torch.float64, device=algo.device) for m in tc.module_ids
    }
    for _ in range(tc.economy.horizon):
        actions = algo.act(obs, masks, econ.generator)
        if government_action is not None:
            actions["government"] = government_action.to(algo.device).expand(episodes, 2)
        out = econ.step(actions)
        for t in AGENT_TYPES:
            r = out.rewards[t].double()
            sums[t] += r.mean(-1) if has_agent_axis(t) else r
        if deviator is not None:
            own = out.rewards[deviator.agent_type][:, deviator.agent_index]
            sums[deviator.module_id] += own.double()
        obs = out.obs
    return {m: (s / tc.economy.horizon).cpu() for m, s in sums.items()}


def deviation_config(
    config: TrainConfig, agent_type: str, agent_index: int, params: BestResponseParams
) -> TrainConfig:
    """The ``TrainConfig`` of a deviation run from a trained run's config (spec 10).

    Same economy and PPO settings, seeded by ``params.seed``, with ``deviation`` set; for
    ``method="pg"`` one full-batch pass per iteration at ``params.pg_lr``. The deviation run
    rolls out in the driver (``rollouts="driver"``), whatever the trained run did.
    """
    updates: dict[str, Any] = {
        "seed": params.seed,
        "rollouts": "driver",
        "iterations": max(params.iterations, 1),
        "deviation.agent_type": agent_type,
        "deviation.agent_index": agent_index,
    }
    if params.method == "pg":
        updates |= {"num_epochs": 1, "num_minibatches": 1, f"{agent_type}.lr": params.pg_lr}
    return config.override(updates).replace(best_response=params.replace(every=0))


def build_deviation(checkpoint: str | Path, config: TrainConfig) -> Any:
    """A deviation ``BatchedPPO`` whose modules start from ``checkpoint``'s weights.

    The three type modules are restored from the checkpoint; a deviating agent's own module
    starts as a copy of its type's. With ``config.best_response.optimizer="restore"`` the
    optimizers' Adam moments are restored too (the deviating agent's from its type's), at the
    deviation config's learning rates; with ``"fresh"`` they start empty.
    """
    if not config.deviation.active:
        raise ValueError("build_deviation needs a config with deviation.agent_type set")
    algo = build_config(config).build_algo()
    try:
        root = Path(checkpoint).resolve() / "learner_group" / "learner" / "rl_module"
        for t in AGENT_TYPES:
            algo.restore_from_path(root / t, component=f"learner_group/learner/rl_module/{t}")
        if algo.deviator is not None:
            t, mid = algo.deviator.agent_type, algo.deviator.module_id
            state = algo.learner_group.get_state(components=f"learner/rl_module/{t}")
            module_state = state["learner"]["rl_module"][t]
            algo.learner_group.set_state({"learner": {"rl_module": {mid: module_state}}})
        if config.best_response.optimizer == "restore":
            _restore_optimizers(algo, Path(checkpoint).resolve())
        algo.sync_rollout_module()
    except BaseException:
        algo.stop()
        raise
    return algo


def _restore_optimizers(algo: Any, checkpoint: Path) -> None:
    """Load the checkpoint's Adam states into the deviation's learner, keeping its lrs."""
    import pickle

    with open(checkpoint / "learner_group" / "learner" / "state.pkl", "rb") as fh:
        saved = pickle.load(fh)["optimizer"]
    if algo.deviator is not None:
        t, mid = algo.deviator.agent_type, algo.deviator.module_id
        (name,) = [n for n, v in saved.items() if v["module_id"] == t]
        saved[name.replace(t, mid, 1)] = {"module_id": mid, "state": saved[name]["state"]}

    def load(learner: Any, state: dict[str, Any] = saved) -> None:
        learner.set_state({"optimizer": state})
        for mid in learner.module.keys():
            lr = learner.config.get_config_for_module(mid).lr
            for group in learner.get_optimizer(mid).param_groups:
                group["lr"] = lr

    algo.learner_group.foreach_learner(load)


def agent_indices(n: int, k: int) -> list[int]:
    """``k`` evenly spaced agent indices out of ``n`` (all of them when k >= n)."""
    if k >= n:
        return list(range(n))
    return sorted({(j * n) // k + n // (2 * k) for j in range(k)})


def best_response_from_checkpoint(
    checkpoint: str | Path,
    config: TrainConfig,
    params: BestResponseParams,
    *,
    types: Sequence[str] = AGENT_TYPES,
    improvements: dict[str, float] | None = None,
    progress: bool = False,
) -> list[BestResponse]:
    """Best responses from one checkpoint: each type's, then ``params.agents`` single agents'.

    Every deviation starts from the same checkpoint. A type's shared policy trains on the
    type's mean reward; a single agent's module on its own reward. The best policy of the run
    is chosen on ``params.episodes`` selection episodes and measured, with the learned policy,
    on as many fresh test episodes (``best_response``). With ``progress``, a tqdm
    bar on stderr counts the deviations, names the current one and shows its iteration.
    """
    from tqdm import tqdm

    bad = [t for t in types if t not in AGENT_TYPES]
    if bad or not types:
        raise ValueError(f"types must be a non-empty subset of {list(AGENT_TYPES)}; got {types}")
    improvements = improvements or {}
    counts = {"consumer": config.economy.n_consumers, "firm": config.economy.n_firms}
    cases = [(t, -1) for t in types]
    for t in types:
        if t in counts and params.agents > 0:
            cases += [(t, i) for i in agent_indices(counts[t], params.agents)]
    results = []
    with tqdm(
        total=len(cases),
        desc="best response",
        unit="deviation",
        disable=not progress,
        file=sys.stderr,
    ) as bar:
        for t, i in cases:
            agent = "all" if i < 0 else f"agent {i}"
            bar.set_description(f"best response {t} ({agent}, {params.method})")
            bar.set_postfix_str(f"iteration 0/{params.iterations}")
            dev_config = deviation_config(config, t, i, params)
            algo = build_deviation(checkpoint, dev_config)
            try:
                module = dev_config.trained_modules[0]
                component = f"learner/rl_module/{module}"

                def evaluate(seed: int, a: Any = algo, m: str = module) -> torch.Tensor:
                    return evaluate_profile(a, episodes=params.episodes, seed=seed)[m]

                def improve(k: int, a: Any = algo) -> None:
                    a.train()
                    bar.set_postfix_str(f"iteration {k + 1}/{params.iterations}")

                def snapshot(a: Any = algo, c: str = component) -> Any:
                    import copy

                    return copy.deepcopy(a.learner_group.get_state(components=c))

                def restore(state: Any, a: Any = algo) -> None:
                    a.learner_group.set_state(state)
                    a.sync_rollout_module()

                result = best_response(
                    evaluate,
                    improve,
                    params.iterations,
                    snapshot=snapshot,
                    restore=restore,
                    select_every=params.select_every,
                    seed=params.seed,
                    agent_type=t,
                    training_improvement=improvements.get(t, math.nan),
                )
                results.append(replace(result, agent_index=i, method=params.method))
            finally:
                algo.stop()
            bar.update()
    return results


def run_best_response(
    run_dir: str | Path,
    params: BestResponseParams | None = None,
    *,
    types: Sequence[str] = AGENT_TYPES,
    progress: bool = True,
) -> list[BestResponse]:
    """Best responses from the run's newest checkpoint (see the module docstring).

    Relative ε divides by the training improvement in the run's metrics.csv. With ``progress``,
    a tqdm bar on stderr counts the deviations and names the type, agent and method of each.
    """
    config, checkpoint = load_run(run_dir)
    params = params or config.best_response
    improvements = {t: training_improvement(run_dir, t) for t in types if t in AGENT_TYPES}
    return best_response_from_checkpoint(
        checkpoint, config, params, types=types, improvements=improvements, progress=progress
    )


EPSILON_KEY = "best_response/{module}/{stat}"


class PeriodicBestResponse(RunHook):
    """The ε curve during training, a hook of ``trainers.run.iterate_training``.

    Every ``best_response.every`` iterations it saves the algorithm to a temporary checkpoint
    and runs ``best_response_from_checkpoint`` with the run's ``best_response`` settings
    (``agents`` ignored), then writes ``best_response/<type>/{epsilon,epsilon_low,
    epsilon_high,before,after}`` into the row (NaN in the other iterations, so that
    metrics.csv has the columns from its first row). Training continues from the unchanged
    algorithm: the check runs on separate deviation algorithms. The loop adds this hook itself
    when ``best_response.every > 0`` (not in deviation runs).
    """

    def __init__(self, train_config: TrainConfig) -> None:
        self.train_config = train_config

    def on_iteration(self, algo: Any, row: dict[str, float], train_s: float) -> None:
        """Run the check on this iteration's algorithm when it is due; add its columns."""
        import tempfile

        tc = self.train_config
        params = tc.best_response
        stats = ("epsilon", "epsilon_low", "epsilon_high", "before", "after")
        values = {
            EPSILON_KEY.format(module=t, stat=s): math.nan for t in AGENT_TYPES for s in stats
        }
        iteration = algo.curriculum_iteration
        if params.every > 0 and iteration % params.every == 0:
            with tempfile.TemporaryDirectory(prefix="rbc_br_") as tmp:
                algo.save_to_path(tmp)
                rows = best_response_from_checkpoint(tmp, tc, params.replace(agents=0))
            for r in rows:
                for s, v in zip(
                    stats,
                    (r.epsilon, r.epsilon_low, r.epsilon_high, r.before.mean, r.after.mean),
                    strict=True,
                ):
                    values[EPSILON_KEY.format(module=r.agent_type, stat=s)] = v
        row.update(values)


@dataclass(frozen=True)
class TaxPolicyResult:
    """Mean per-step rewards under one government tax policy (learned or fixed).

    Attributes:
        policy: ``"learned"`` or ``"fixed 40%"``.
        income_tax: the fixed income-tax rate (NaN for the learned policy).
        corporate_tax: the fixed corporate-tax rate (NaN for the learned policy).
        consumer: mean consumer reward per agent and step.
        firm: mean firm reward per agent and step.
        welfare: social welfare per step (the government's reward, (M11)):
            Σ consumer rewards + λ_f Σ firm rewards.
        consumer_welfare: consumer-only welfare per step, Σ consumer rewards (= C × consumer);
            the paper's tax result is bounded by its welfare weights, so both are reported.
    """

    policy: str
    income_tax: float
    corporate_tax: float
    consumer: Estimate
    firm: Estimate
    welfare: Estimate
    consumer_welfare: Estimate


def tax_index(config: TrainConfig, rate: float) -> int:
    """The tax-grid index of ``rate`` (a fraction).

    Raises:
        ValueError: if ``rate`` is not a point of the tax grid (naming the grid).
    """
    grid = config.economy.tax_grid
    step = config.economy.government.tax_step
    idx = round(rate / step)
    if not 0 <= idx < len(grid) or abs(grid[idx] - rate) > 1e-9 * max(step, 1.0):
        raise ValueError(
            f"tax rate must be a point of the tax grid {[round(g, 6) for g in grid]}; got {rate}"
        )
    return idx


def fixed_tax_action(config: TrainConfig, rate: float) -> torch.Tensor:
    """The government's action [2] that sets both taxes to ``rate`` (a fraction).

    The grid index of ``rate`` (``tax_index``) with discrete actions; the rate itself with
    ``economy.action_space="continuous"``.

    Raises:
        ValueError: for a rate off the tax grid (discrete) or outside [0, top rate] (continuous).
    """
    if config.economy.action_space == "discrete":
        idx = tax_index(config, rate)
        return torch.tensor([idx, idx])
    top = config.economy.tax_grid[-1]
    if not 0.0 <= rate <= top:
        raise ValueError(f"tax rate must be in [0, {top:g}]; got {rate}")
    return torch.tensor([rate, rate], dtype=getattr(torch, config.economy.dtype))


def run_fixed_taxes(
    run_dir: str | Path,
    rates: Sequence[float],
    *,
    episodes: int = 256,
    seed: int = 0,
    progress: bool = True,
) -> list[TaxPolicyResult]:
    """The learned government vs fixed tax rates (the paper's Figure 5), same consumers and firms.

    Each fixed policy sets both the income and the corporate tax to the rate every period;
    consumers and firms act with their learned (frozen, stochastic) policies. All policies are
    evaluated on the same seed. With ``progress``, a tqdm bar on stderr counts the policies and
    names the one being evaluated.
    """
    from ray.rllib.algorithms.algorithm import Algorithm
    from tqdm import tqdm

    config, checkpoint = load_run(run_dir)
    actions = [fixed_tax_action(config, r) for r in rates]
    algo = Algorithm.from_checkpoint(str(checkpoint.resolve()))
    try:
        out = []
        profiles: list[tuple[str, float, torch.Tensor | None]] = [("learned", math.nan, None)]
        for rate, action in zip(rates, actions, strict=True):
            profiles.append((f"fixed {100 * rate:g}%", rate, action))
        with tqdm(
            profiles, desc="taxes", unit="policy", disable=not progress, file=sys.stderr
        ) as bar:
            for name, rate, action in bar:
                bar.set_description(f"taxes: {name}")
                samples = evaluate_profile(
                    algo, episodes=episodes, seed=seed, government_action=action
                )
                out.append(
                    TaxPolicyResult(
                        policy=name,
                        income_tax=rate,
                        corporate_tax=rate,
                        consumer=Estimate.of(samples["consumer"]),
                        firm=Estimate.of(samples["firm"]),
                        welfare=Estimate.of(samples["government"]),
                        consumer_welfare=Estimate.of(
                            samples["consumer"] * config.economy.n_consumers
                        ),
                    )
                )
    finally:
        algo.stop()
    return out


def format_tax_policies(results: Sequence[TaxPolicyResult]) -> str:
    """A Markdown table of learned vs fixed taxes.

    Welfare (with its 95% interval), consumer-only welfare and firm reward side by side.
    """
    header = [
        "government",
        "consumer reward",
        "firm reward",
        "welfare",
        "welfare 95% CI",
        "consumer-only welfare",
    ]
    rows = [
        [
            r.policy,
            f"{r.consumer.mean:.4g}",
            f"{r.firm.mean:.4g}",
            f"{r.welfare.mean:.4g}",
            f"[{r.welfare.low:.4g}, {r.welfare.high:.4g}]",
            f"{r.consumer_welfare.mean:.4g}",
        ]
        for r in results
    ]
    return markdown_table(header, rows, align="lrrrrr")


def format_best_responses(results: Sequence[BestResponse]) -> str:
    """A Markdown table of best-response results.

    Agent ``type`` is the type's shared policy trained on the type's mean reward (the
    meta-game deviation); a number is that single agent deviating alone on its own reward.
    ε⁺ = max(0, ε) with its 95% interval; the two relative columns name their denominators.
    """
    header = [
        "type",
        "agent",
        "method",
        "J before",
        "J after",
        "ε",
        "ε⁺",
        "ε⁺ 95% CI",
        "training gain",
        "ε / training gain (paper)",
        "ε / abs(J before)",
        "chosen at",
        "BR iters",
    ]
    rows = []
    for r in results:
        agent = "type" if r.agent_index < 0 else str(r.agent_index)
        paper = f"{r.relative:.3g}" if math.isfinite(r.relative) else "n/a (gain ≤ 0)"
        rows.append(
            [
                r.agent_type,
                agent,
                r.method or "-",
                f"{r.before.mean:.4g}",
                f"{r.after.mean:.4g}",
                f"{r.epsilon:.3g}",
                f"{r.eps_plus:.3g}",
                f"[{r.eps_plus_low:.3g}, {r.eps_plus_high:.3g}]",
                f"{r.training_improvement:.4g}",
                paper,
                f"{r.relative_before:.3g}",
                str(r.selected_iteration),
                str(r.iterations),
            ]
        )
    return markdown_table(header, rows, align="lll" + "r" * 10)
