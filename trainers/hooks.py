"""Evaluation hooks of the training loop (``trainers.run.iterate_training``).

``RunHook`` is the interface; ``trainers.truth.TruthEvaluation`` (a growth economy scored
against its exact solution) and ``trainers.best_response.PeriodicBestResponse`` (the RBC
economy's ε curve) implement it.
"""

from __future__ import annotations

from typing import Any

from trainers.runfolder import RunPaths

__all__ = ["RunHook"]


class RunHook:
    """An evaluation attached to a training run, called by ``iterate_training``.

    It is called at the start, after each iteration and at the end, and its state goes into
    every checkpoint and comes back on resume. Subclasses override what they need
    (``trainers.truth.TruthEvaluation`` scores a growth run against its exact solution); the
    base class does nothing.
    """

    stateful = False  # True: a resumed run needs get_state's values (refused without them)

    def on_start(self, algo: Any) -> None:
        """After the algorithm is built (or restored), before the first iteration."""

    def get_state(self) -> dict[str, Any]:
        """What a resumed run needs to continue the hook exactly (tensors, numbers, lists).

        Saved in every checkpoint and read back with ``torch.load(weights_only=True)``.
        """
        return {}

    def set_state(self, state: dict[str, Any]) -> None:
        """Restore ``get_state``'s values (after ``on_start``, when a run resumes)."""

    def on_iteration(self, algo: Any, row: dict[str, float], train_s: float) -> None:
        """After each iteration, before its row is written; may add columns to ``row``.

        ``train_s`` is the run's time in ``algo.train()`` so far (s).
        """

    def on_end(self, algo: Any, paths: RunPaths | None) -> None:
        """After the last iteration, or the time budget's (not after a requested stop)."""
