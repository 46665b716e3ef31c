"""Train on a ground-truth economy and score the learned policy against the exact solution.

``python -m trainers train --config g1`` (or its alias ``truth --economy g1``) trains
``BatchedPPO`` on a growth economy through the one training loop,
``trainers.run.iterate_training`` (until ``iterations`` or ``max_seconds`` of training wall
time), with ``TruthEvaluation`` as its hook. The hook evaluates the deterministic policy with
``rbc_env.truth.metrics.evaluate`` (policy error and Euler-equation errors over the truth's
ergodic set and over a fixed wide grid of 0.3-1.6 k_ss times the shock states,
consumption-equivalent welfare loss λ with a 95% confidence interval from common random
numbers, and for G6 the markup over own marginal cost against the competitive benchmark and
the range of Bertrand equilibria of the posted-price game) and adds the cost (training seconds
and environment steps, and the first training time at which λ < ``LAMBDA_TARGET`` when
``eval_every`` is set). ``run_truth`` is the same without a command line (and, with
``paths=None``, without files).

Files, under ``runs/<name>/``: those of every run (``config.yaml``, ``metrics.csv``,
``checkpoints/``, ``tensorboard/``; ``trainers.run``), plus ``accuracy.json`` and
``accuracy.md`` (the row, also ``summary.md``), ``policy_average.pt`` (the evaluated policy's
weights when ``average_last > 0``) and ``plots/truth.png`` (the saving share over training
against the truth).

The evaluated policy is the Polyak-Ruppert average of the networks' weights over the last
``average_last`` fraction of the iterations (default half): measured on G1 (seeds 0-5), the
PPO iterates keep wandering by up to a point of saving share around the truth after λ is
below 10⁻³, and their average is closer to the truth in most seeds (docs/ground_truth.md).
The λ checks during training (``eval_every``) score the current iterate.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch.optim.swa_utils import AveragedModel

from rbc_env.growth import agent_counts
from rbc_env.tables import markdown_table
from rbc_env.truth import metrics as truth_metrics
from trainers.config import GROWTH, TrainConfig
from trainers.hooks import RunHook
from trainers.rllib.growth import module_policy
from trainers.run import iterate_training
from trainers.runfolder import RunFolderError, RunPaths

__all__ = ["LAMBDA_TARGET", "TruthEvaluation", "TruthPaths", "format_rows", "run_truth"]

LAMBDA_TARGET = 1e-3  # the spec's welfare-loss target: cost is measured to reach it


@dataclass(frozen=True)
class TruthPaths(RunPaths):
    """Where a ground-truth run keeps its files.

    A run folder (``RunPaths``: config, metrics, checkpoints, TensorBoard), plus the accuracy
    row and the averaged policy.
    """

    @property
    def accuracy_json(self) -> Path:
        """The accuracy row (machine-readable)."""
        return self.root / "accuracy.json"

    @property
    def accuracy_md(self) -> Path:
        """The accuracy row (a Markdown table)."""
        return self.root / "accuracy.md"

    @property
    def averaged_policy(self) -> Path:
        """The evaluated policy's averaged weights, ``{type: state_dict}``.

        Written with ``torch.save``; read with ``torch.load(path, weights_only=True)``.
        """
        return self.root / "policy_average.pt"

    @property
    def truth_plot(self) -> Path:
        """Saving share over training against the truth."""
        return self.root / "plots" / "truth.png"


class TruthEvaluation(RunHook):
    """The truth metrics of a growth run, as a hook of ``trainers.run.iterate_training``.

    Each iteration it adds ``train_s`` (time in ``algo.train()``) to the row, folds the
    weights into the iterate average over the last ``average_last`` of the iterations and,
    every ``eval_every`` iterations until λ < ``LAMBDA_TARGET``, scores the current iterate
    (``truth/lambda``, NaN in between). At the end it scores the averaged policy on
    ``eval_states`` ergodic states and sets ``result``, the accuracy row; with a run folder
    it writes ``accuracy.json``, ``accuracy.md``, ``policy_average.pt`` and
    ``plots/truth.png``.
    """

    stateful = True

    def __init__(
        self, train_config: TrainConfig, *, eval_every: int = 0, label: str | None = None
    ) -> None:
        tc = train_config
        if tc.family != GROWTH:
            raise ValueError(
                "the truth evaluation scores a growth economy against its truth; this run's "
                f"economy is a {type(tc.economy).__name__}"
            )
        if eval_every < 0:
            raise ValueError(f"eval_every must be >= 0; got {eval_every}")
        self.train_config = tc
        self.eval_every = eval_every
        self.label = label or tc.economy.economy
        self.solution = _solution(tc.economy)
        self.average_from = tc.iterations - round(tc.average_last * tc.iterations)
        self.averaged: dict[str, Any] = {}
        self.history: list[tuple[float, float]] = []  # (iteration, mean saving share)
        self.train_s = 0.0
        self.env_steps = 0
        self.iterations = 0
        self.s_to_target = self.steps_to_target = math.nan
        self.result: dict[str, Any] | None = None

    def on_start(self, algo: Any) -> None:
        """Wrap the driver-side modules as the policy the λ checks score."""
        self.modules = algo.rollout_module
        self.policy = module_policy(self.modules, self.train_config.economy)

    def get_state(self) -> dict[str, Any]:
        """The averages' weights and counts, the cost so far, the λ target and the history."""
        return {
            "eval_every": self.eval_every,
            "average_from": self.average_from,
            "averaged": {t: m.state_dict() for t, m in self.averaged.items()},
            "train_s": self.train_s,
            "env_steps": self.env_steps,
            "iterations": self.iterations,
            "s_to_target": self.s_to_target,
            "steps_to_target": self.steps_to_target,
            "history": [list(h) for h in self.history],
        }

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue from ``get_state``'s values (the modules are those of ``on_start``).

        Raises:
            RunFolderError: when the iterate average has begun and the run's ``iterations``
                changed, which would change the iterates it averages.
        """
        if state["averaged"] and state["average_from"] != self.average_from:
            raise RunFolderError(
                f"cannot resume with iterations={self.train_config.iterations}: the iterate "
                f"average already covers iterations after {state['average_from']}, and this "
                f"length would average those after {self.average_from}; start a new run"
            )
        for t, weights in state["averaged"].items():
            self.averaged[t] = AveragedModel(self.modules[t], use_buffers=True)
            self.averaged[t].load_state_dict(weights)
        self.eval_every = int(state["eval_every"])  # the run's own, as its config
        self.train_s = float(state["train_s"])
        self.env_steps = int(state["env_steps"])
        self.iterations = int(state["iterations"])
        self.s_to_target = state["s_to_target"]
        self.steps_to_target = state["steps_to_target"]
        self.history = [(float(i), float(v)) for i, v in state["history"]]

    def on_iteration(self, algo: Any, row: dict[str, float], train_s: float) -> None:
        """Count the cost, average the weights, and check λ every ``eval_every`` iterations."""
        tc = self.train_config
        self.iterations = iteration = int(row["iteration"])
        self.train_s = train_s
        self.env_steps += tc.batch_size * tc.rollout_length
        row["train_s"] = train_s
        # The driver-side modules still hold the weights this iteration's rollout used: the
        # iterate to average and score is the learner's, after this iteration's update.
        algo.sync_rollout_module()
        if iteration > self.average_from:
            _average(self.averaged, algo.rollout_module)
        if self.eval_every:
            row["truth/lambda"] = math.nan
            if iteration % self.eval_every == 0 and math.isnan(self.s_to_target):
                quick = truth_metrics.evaluate(
                    tc.economy,
                    self.policy,
                    n_states=min(tc.eval_states, 512),
                    seed=tc.seed + 1,
                    solution=self.solution,
                )
                row["truth/lambda"] = quick.welfare_loss
                if quick.welfare_loss < LAMBDA_TARGET:
                    self.s_to_target, self.steps_to_target = train_s, self.env_steps
        self.history.append((row["iteration"], row.get("econ/saving_share_mean", math.nan)))

    def on_end(self, algo: Any, paths: RunPaths | None) -> None:
        """Score the evaluated policy; write the accuracy files into a run folder."""
        tc, econ = self.train_config, self.train_config.economy
        policy = self.policy
        if self.averaged:
            policy = module_policy({t: m.module for t, m in self.averaged.items()}, econ)
        result = truth_metrics.evaluate(
            econ, policy, n_states=tc.eval_states, seed=tc.seed + 1, solution=self.solution
        )
        out: dict[str, Any] = {"label": self.label, **result.to_dict()}
        if math.isnan(self.s_to_target) and result.welfare_loss < LAMBDA_TARGET:
            self.s_to_target, self.steps_to_target = self.train_s, self.env_steps
        out.update(
            critic=tc.critic,
            seed=tc.seed,
            averaged_iterations=_averaged_count(self.averaged),
            train_s=self.train_s,
            iterations=self.iterations,
            env_steps=self.env_steps,
            agent_steps=self.env_steps * sum(agent_counts(econ).values()),
            s_to_target=self.s_to_target,
            steps_to_target=self.steps_to_target,
            device=tc.resolved_device,
        )
        self.result = out
        if paths is None:
            return
        files = TruthPaths(paths.root)
        if self.averaged:
            weights = {t: m.module.state_dict() for t, m in self.averaged.items()}
            torch.save(weights, files.averaged_policy)
        files.accuracy_json.write_text(json.dumps(out, indent=2, default=float) + "\n")
        files.accuracy_md.write_text(format_rows([out]) + "\n", encoding="utf-8")
        _plot(self.history, econ, files.truth_plot, self.label)


def run_truth(
    train_config: TrainConfig,
    *,
    paths: RunPaths | None = None,
    eval_every: int = 0,
    on_iteration: Callable[[int, dict[str, float]], None] | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    """Train, evaluate against the truth, and return the accuracy row.

    Args:
        train_config: the run (a growth economy).
        paths: the run folder to write (it must exist and hold no run; ``None``: write
            nothing).
        eval_every: evaluate λ every this many iterations (0: only at the end) to measure the
            training time until λ < ``LAMBDA_TARGET``; evaluation time is not counted.
        on_iteration: called with (iteration, metrics row) after each iteration.
        label: the row's name (default: the economy).

    Returns:
        The row: ``rbc_env.truth.metrics.AccuracyRow.to_dict()`` plus ``label``, ``critic``,
        ``train_s``, ``iterations``, ``env_steps``, ``agent_steps``, ``s_to_target``,
        ``steps_to_target`` and ``device``.
    """
    hook = TruthEvaluation(train_config, eval_every=eval_every, label=label)
    if paths is not None:
        paths.root.mkdir(parents=True, exist_ok=True)
    for row in iterate_training(train_config, paths, hooks=[hook]):
        if on_iteration is not None:
            on_iteration(int(row["iteration"]), row)
    assert hook.result is not None  # iterate_training ends with on_end
    return hook.result


def _average(averaged: dict[str, Any], modules: Any) -> None:
    """Add the modules' current weights to their running averages (created on first call).

    ``torch.optim.swa_utils.AveragedModel`` keeps the equal-weight mean of the iterates
    (Polyak-Ruppert averaging): near the optimum the PPO iterates wander with the gradient
    noise, and their mean is a lower-variance estimate of the policy than the last one.
    """
    for t in modules.keys():
        if t not in averaged:
            averaged[t] = AveragedModel(modules[t], use_buffers=True)
        averaged[t].update_parameters(modules[t])


def _averaged_count(averaged: dict[str, Any]) -> int:
    """How many iterates the averages hold (0: the evaluated policy is the last iterate)."""
    return int(next(iter(averaged.values())).n_averaged) if averaged else 0


def _solution(econ: Any) -> Any:
    """The solver's solution where the truth needs one, else ``None``.

    G6: the competitive equilibrium with adjustment costs and dividends
    (``rbc_env.truth.solve_g6``); economies without a closed form: the G3 solver.
    """
    if econ.economy == "g6":
        from rbc_env.truth import solve_g6

        return solve_g6(econ.params, econ.adjustment_cost, econ.n_households, econ.n_producers)
    if econ.params.is_closed_form:
        return None
    from rbc_env.truth import solve_growth

    return solve_growth(econ.params)


COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("label", "economy", "{}"),
    ("action", "action", "{}"),
    ("constraint", "constraint", "{}"),
    ("critic", "critic", "{}"),
    ("seeds", "seeds", "{}"),
    ("saving_error_mean", "saving err mean (pp)", "pp"),
    ("saving_error_mean_worst", "worst seed: saving err mean (pp)", "pp"),
    ("saving_error_max", "saving err max (pp)", "pp"),
    ("wide_saving_error_mean", "wide saving err mean (pp)", "pp"),
    ("wide_saving_error_max", "wide saving err max (pp)", "pp"),
    ("hours_error_mean", "hours err mean (pp)", "pp"),
    ("hours_error_max", "hours err max (pp)", "pp"),
    ("wide_hours_error_mean", "wide hours err mean (pp)", "pp"),
    ("wide_hours_error_max", "wide hours err max (pp)", "pp"),
    ("welfare_loss", "λ", "{:.2e}"),
    ("welfare_loss_worst", "worst seed: λ", "{:.2e}"),
    ("welfare_loss_low", "λ 95% low", "{:.2e}"),
    ("welfare_loss_high", "λ 95% high", "{:.2e}"),
    ("welfare_loss_restricted", "λ restricted", "{:.2e}"),
    ("welfare_loss_full", "λ full info", "{:.2e}"),
    ("euler_mean", "Euler log10 mean", "{:.2f}"),
    ("euler_max", "Euler log10 max", "{:.2f}"),
    ("wide_euler_mean", "wide Euler log10 mean", "{:.2f}"),
    ("wide_euler_max", "wide Euler log10 max", "{:.2f}"),
    ("markup_mean", "markup", "{:.3f}"),
    ("markup_competitive", "markup comp.", "{:.3f}"),
    ("markup_bertrand_low", "markup Bertrand low", "{:.3f}"),
    ("markup_bertrand_high", "markup Bertrand high", "{:.3f}"),
    ("train_s", "train s", "{:.0f}"),
    ("env_steps", "env steps", "{:.2e}"),
    ("s_to_target", "s to λ<1e-3", "{:.0f}"),
    ("off_target", "off target: why", "{}"),
)


def format_rows(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of accuracy rows (columns a row lacks, or that are NaN, print as -)."""
    present = [c for c in COLUMNS if any(_has(r.get(c[0])) for r in rows)]
    return markdown_table(
        [c[1] for c in present],
        [[_cell(r.get(key), fmt) for key, _, fmt in present] for r in rows],
        align=["l" if c[2] == "{}" else "r" for c in present],
    )


def _has(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, float) and math.isnan(value):
        return False
    return True


def _cell(value: Any, fmt: str) -> str:
    if not _has(value):
        return "-"
    if fmt == "pp":
        return f"{100.0 * float(value):.2f}"
    return fmt.format(value)


def _plot(history: list[tuple[float, float]], econ: Any, out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 3.5))
    its = [h[0] for h in history]
    shares = [h[1] for h in history]
    ax.plot(its, shares, label="saving share (sampled actions)")
    if econ.params.is_closed_form and econ.economy != "g6":  # G6's truth s*(m, z) varies
        truth = econ.params.alpha * econ.params.beta
        ax.axhline(truth, color="k", ls="--", label="truth (αβ)")
    ax.set_xlabel("iteration")
    ax.set_ylabel("saving share of cash on hand")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
