"""The ground-truth table: every growth economy learned by the batched sampler, scored vs the truth.

How to run:
    .venv/bin/python benchmarks/ground_truth.py                  # every row, ~35 min on 2 cores
    .venv/bin/python benchmarks/ground_truth.py --only g1,g4_h100
    .venv/bin/python benchmarks/ground_truth.py --quick          # 5 iterations a row (smoke)
    .venv/bin/python benchmarks/ground_truth.py --coverage g3    # where training visits k
    .venv/bin/python benchmarks/ground_truth.py --tables-only    # re-render from the jsonl
    .venv/bin/python benchmarks/ground_truth.py --resume    # continue a stopped full run

``--coverage PRESET`` trains nothing: it prints, for the preset's economy at several episode
horizons and initial spreads, where rollouts scheduled like training put capital
(``rbc_env.truth.metrics.training_coverage``): the share of visited states inside the truth's
ergodic range and inside the wide grid, and quantiles of k/k_ss. The presets' coverage
settings (``trainers.presets.TRAINING_COVERAGE``) cite these numbers.

Each row is one ``trainers.truth.run_truth`` call, i.e. exactly what
``python -m trainers truth --economy <preset> --set ...`` runs (the command of every row is in
the results table): ``BatchedPPO`` trains the preset for its fixed number of iterations (fixed
iterations, not a time budget, so a row is reproducible from its seed), then
``rbc_env.truth.metrics.evaluate`` scores the deterministic policy: saving-share (and hours)
error in percentage points over the truth's ergodic set and over a fixed wide grid (the "wide"
columns: 0.3-1.6 k_ss times the 7 Rouwenhorst shock states,
``rbc_env.truth.metrics.wide_grid_states``), the consumption-equivalent welfare loss λ
with its 95% confidence interval (common random numbers), Euler-equation errors on both sets
of states, and for G6 the learned markup against the competitive benchmark and the Bertrand
equilibrium range. Cost is training wall time and environment steps on the machine named in
the header.

Four tables (``benchmarks/results/ground_truth*.md``; ``--quick`` writes them to the
git-ignored ``benchmarks/results/quick/`` instead): the economies G1-G7; the design
switches on G1 (spending share vs quantity actions x squash / clip / penalty); the critic
(independent vs centralized) on G4; and every seed of the headline rows (G1, G2, G3, G4 H=100,
G5 N=10, G6 N=2 and N=10, G7 half: seeds 0, 1, 2; the economies table shows their mean and
worst seed). ``ground_truth.jsonl`` has one line per run (label and seed). λ is also
measured every 25 iterations (``--eval-every 25``), so "s to λ<1e-3" is the training time at the
first such check below the target (evaluation time not counted). Targets from the issue
(reported, never asserted): G1, G2 saving share and hours within 0.5 points, λ < 1e-3, in
under 60 s of training; G4 with H = 100 aggregate allocation within 1% of the planner's and
λ < 1e-3.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import machine, results_dir  # noqa: E402
from rbc_env import tables  # noqa: E402
from trainers.config import FLOOR_OFF  # noqa: E402

HEADLINE_SEEDS = (0, 1, 2)


@dataclass(frozen=True)
class Experiment:
    """One row: a preset plus ``--set`` overrides, trained once per seed."""

    label: str
    preset: str
    table: str
    sets: dict[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)

    def command(self, seed: int = 0) -> str:
        """The CLI command that reproduces the row's run with ``seed``."""
        pairs = {**self.sets, **({"seed": seed} if seed else {})}
        sets = " ".join(f"--set {k}={_yaml(v)}" for k, v in pairs.items())
        return f"python -m trainers truth --economy {self.preset} {sets}".strip()


def _yaml(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "[" + ",".join(str(v) for v in value) + "]"
    return str(value)


SEEDS = HEADLINE_SEEDS
NO_FLOOR = {"planner.min_log_std": FLOOR_OFF}
EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("g1", "g1", "economies", seeds=SEEDS),
    Experiment("g2", "g2", "economies", seeds=SEEDS),
    Experiment("g3 (Hansen, γ=2)", "g3", "economies", seeds=SEEDS),
    Experiment("g4 H=1", "g4_h1", "economies"),
    Experiment("g4 H=4", "g4_h4", "economies"),
    Experiment("g4 H=100", "g4_h100", "economies", seeds=SEEDS),
    Experiment("g5 N=1", "g5_n1", "economies"),
    Experiment("g5 N=2", "g5_n2", "economies"),
    Experiment("g5 N=10", "g5_n10", "economies", seeds=SEEDS),
    Experiment("g6 N=1", "g6_n1", "economies"),
    Experiment("g6 N=2", "g6_n2", "economies", seeds=SEEDS),
    Experiment("g6 N=10", "g6_n10", "economies", seeds=SEEDS),
    Experiment("g7 restricted", "g7_restricted", "economies"),
    Experiment("g7 half", "g7_half", "economies", seeds=SEEDS),
    # Controls of the G7 half row (same preset and settings): the groups told apart by their
    # label alone (nothing hidden), and no groups at all (every household sees everything).
    Experiment(
        "g7 half, label only",
        "g7_half",
        "economies",
        {"economy.information": "half_label"},
        seeds=SEEDS,
    ),
    Experiment(
        "g7 H=10, no groups", "g7_half", "economies", {"economy.information": "full"}, seeds=SEEDS
    ),
    # The g7_half preset's 8-period restarts and household floor of -2 were chosen for share
    # actions; with quantity actions they gave 4.64 points against 1.41 at 200 periods and
    # -1.5 (seed 0), so this row keeps the settings it had before them.
    Experiment(
        "g7 half, quantity",
        "g7_half",
        "economies",
        {"economy.action": "quantity", "economy.horizon": 200, "household.min_log_std": -1.5},
    ),
    # Under clip and penalty the raw actions are the controls themselves, not logits, so the
    # presets' exploration floor (log σ >= -1.5 in logit units) would be a σ of 0.22 in share
    # units: measured, it left G1 7.0 (clip) and 7.3 (penalty) points off. These rows turn the
    # floor off (NO_FLOOR), as before it existed.
    Experiment("g1 share, clip", "g1", "switches", {"economy.constraint": "clip", **NO_FLOOR}),
    Experiment(
        "g1 share, penalty", "g1", "switches", {"economy.constraint": "penalty", **NO_FLOOR}
    ),
    Experiment("g1 quantity, squash", "g1", "switches", {"economy.action": "quantity"}),
    Experiment(
        "g1 quantity, clip",
        "g1",
        "switches",
        {"economy.action": "quantity", "economy.constraint": "clip", **NO_FLOOR},
    ),
    Experiment(
        "g1 quantity, penalty",
        "g1",
        "switches",
        {"economy.action": "quantity", "economy.constraint": "penalty", **NO_FLOOR},
    ),
    Experiment("g4 H=4, centralized", "g4_h4", "critic", {"critic": "centralized"}),
    Experiment("g4 H=100, centralized", "g4_h100", "critic", {"critic": "centralized"}),
)
# Rows shared between tables (seed 0): the switch table's share/squash row is G1, the critic
# table's independent rows are the G4 rows. The seeds table lists every seed of the headline
# rows (those with several seeds); the economies table shows their mean and worst seed.
SHARED = {"switches": ("g1",), "critic": ("g4 H=4", "g4 H=100")}
TITLES = {
    "economies": "Ground truth: G1-G7 learned with the batched sampler",
    "switches": "Design switches on G1: action parameterization x constraint handling",
    "critic": "Independent vs centralized critic on G4",
    "seeds": "Seed spread: every seed of the headline rows",
}
NOTES = {
    "economies": (
        "Rows trained with seeds 0, 1, 2 (the `seeds` column) show the mean over the seeds in "
        "every column except the worst-seed columns (the largest saving error and λ over the "
        "seeds) and `s to λ<1e-3`, which is the slowest seed (- if a seed never reached it); "
        "every seed's own row is in the seeds table."
    ),
}
TARGET_LAMBDA = 1e-3  # issue 11: λ below this in the worst seed
TARGET_ERROR = 0.005  # issue 11: mean saving error below 0.5 points in the worst seed
# Why a row misses a target, from measurements (docs/ground_truth.md#results has the numbers);
# a row off target without an entry says "cause not measured".
CAUSES: dict[str, str] = {
    "g6 N=1": (
        "the monopolist prices toward its cap (markup 1.14 against the cap's 1.44-1.46), the "
        "monopoly outcome of the posted-price game, while λ is measured against the "
        "price-taking competitive equilibrium; not coverage"
    ),
    "g6 N=10": (
        "the producers post markups of 0.25-0.26, near the top of the Bertrand equilibrium "
        "range (-0.04 to 0.28-0.29): an equilibrium of the posted-price game above marginal "
        "cost, so welfare and saving differ from the competitive equilibrium's; not coverage"
    ),
    "g7 half": (
        "the two groups of households split apart at equal capital (seed 1: restricted +1.3 "
        "points, full -1.8), because the shared policy can tell them apart and relative "
        "wealth k_h/K is a unit root under the truth, so nothing pulls a split back. The "
        "control rows isolate it: with the groups told apart by their label alone (nothing "
        "hidden) every seed splits too, and without groups the same economy and settings are "
        "within 0.5 points in every seed; so neither the information restriction nor the "
        "economy is the cause. Not coverage: 24% of seed 1's training states lie within 2% of "
        "equal capital; not noise (4x the economies: 1.69), the learning rate (1e-3: 1.27), "
        "more iterations (600: 4.46, the split grows) or the critic's information "
        "(centralized: 1.77); not fixed"
    ),
    "g7 half, label only": (
        "a control of g7 half: the labelled and the unlabelled households split at equal "
        "capital although they see the same things (seed 0: -1.28 / +0.44 points), the cause "
        "named in the g7 half row"
    ),
    "g1 quantity, squash": (
        "the exploration floor, set for share actions, is wide for quantities: the planner "
        "under-saves by the same 0.51 points in every state (spread over states 0.16), the "
        "optimum against its own noise. Floor -2.5: 0.21 points (+0.10 offset), but 2.26 on "
        "the wide grid; no floor: 1.16 (σ collapses to log σ -3.4). Not coverage"
    ),
    "g1 quantity, penalty": (
        "no exploration floor (the switch rows' -10): σ collapses (log σ -3.5 to -3.7) and the "
        "share ends off by an offset of random sign, as G1 did without a floor: seeds 0-2 "
        "-1.31 / +1.10 / +0.80 points. With floor -2.5: 0.25 (seed 0). Not coverage"
    ),
    "g7 half, quantity": (
        "under quantity actions the restricted households cannot attain the full-information "
        "rule (spec G7), and the saving error counts them"
    ),
}
# Fields of a mean-over-seeds row that are not averaged: confidence bounds belong to one run.
_NOT_AVERAGED = ("welfare_loss_low", "welfare_loss_high")


def row_key(label: str, seed: int) -> str:
    """Key of one run in ``ground_truth.jsonl`` (label and seed)."""
    return f"{label} seed={seed}"


def mean_over_seeds(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One table row from the runs of one experiment (``NOTES["economies"]``).

    A single run is returned as it is (with ``seeds`` its seed). Several runs give the mean of
    each numeric field (confidence bounds dropped), ``saving_error_mean_worst`` and
    ``welfare_loss_worst`` (the maxima), ``s_to_target`` of the slowest seed (NaN if a seed
    never reached the target) and ``seeds`` ("0,1,2").
    """
    import math

    if len(runs) == 1:
        return {**runs[0], "seeds": str(runs[0].get("seed", 0))}
    out = dict(runs[0])
    for key, value in runs[0].items():
        if key in _NOT_AVERAGED:
            out[key] = None
        elif isinstance(value, int | float) and not isinstance(value, bool) and key != "seed":
            values = [r.get(key) for r in runs]
            if all(isinstance(v, int | float) for v in values):
                out[key] = sum(values) / len(values)
    reached = [r.get("s_to_target") for r in runs]
    finite = all(isinstance(v, int | float) and math.isfinite(v) for v in reached)
    out["s_to_target"] = max(reached) if finite else math.nan
    out["saving_error_mean_worst"] = max(r["saving_error_mean"] for r in runs)
    out["welfare_loss_worst"] = max(r["welfare_loss"] for r in runs)
    out["seeds"] = ",".join(str(r.get("seed", 0)) for r in runs)
    out.pop("seed", None)
    return out


EVAL_EVERY = 25  # measure λ every this many iterations, for the "s to λ<1e-3" column
COVERAGE_SETTINGS = ((None, 0.5), (32, 0.5), (32, 1.0), (16, 0.5))  # (horizon, init_spread)


def coverage_table(preset: str) -> str:
    """Where training-like rollouts visit capital, per horizon and initial spread (Markdown)."""
    from rbc_env.config import GrowthConfig
    from rbc_env.truth.metrics import training_coverage

    base = GrowthConfig.preset(preset)
    rows = []
    for horizon, spread in COVERAGE_SETTINGS:
        config = base.replace(horizon=horizon or base.horizon, init_spread=spread)
        for mean in ("truth", "zero"):
            cov = training_coverage(config, mean)
            lo, hi = cov.ergodic_range
            q = " / ".join(f"{x:.2f}" for x in cov.quantiles)
            rows.append(
                [
                    str(config.horizon),
                    str(spread),
                    mean,
                    f"{cov.ergodic_share:.3f} ([{lo:.2f}, {hi:.2f}])",
                    f"{cov.wide_share:.3f}",
                    q,
                ]
            )
    head = ["horizon", "init_spread", "policy mean", "in ergodic range", "in wide grid"]
    return tables.markdown_table([*head, "k/k_ss p5 / p50 / p95"], rows, align="rrlrrl")


def off_target(row: dict[str, Any]) -> str | None:
    """Why a row misses a target, or ``None`` when its worst seed meets both.

    Targets (issue 11): λ < ``TARGET_LAMBDA`` and mean saving error < ``TARGET_ERROR`` in the
    worst seed. The reason is ``CAUSES[label]`` (measured) or says that no cause was measured.
    """
    lam = row.get("welfare_loss_worst", row.get("welfare_loss"))
    err = row.get("saving_error_mean_worst", row.get("saving_error_mean"))
    missed = []
    if isinstance(lam, int | float) and lam >= TARGET_LAMBDA:
        missed.append("λ")
    if isinstance(err, int | float) and err >= TARGET_ERROR:
        missed.append("saving error")
    if not missed:
        return None
    return f"{' and '.join(missed)}: {CAUSES.get(row['label'], 'cause not measured')}"


def write_tables(runs: dict[str, dict[str, Any]], out: Path) -> list[str]:
    """Write the four Markdown tables from the runs (``row_key`` -> row); return their texts."""
    from trainers.truth import format_rows

    header = f"Measured on: {machine('cpu')}."
    texts = []
    for table, title in TITLES.items():
        if table == "seeds":
            selected = [
                {**runs[row_key(e.label, s)], "label": f"{e.label} seed={s}"}
                for e in EXPERIMENTS
                if len(e.seeds) > 1
                for s in e.seeds
                if row_key(e.label, s) in runs
            ]
        else:
            labels = list(SHARED.get(table, ())) + [
                e.label for e in EXPERIMENTS if e.table == table
            ]
            by_label = {e.label: e for e in EXPERIMENTS}
            selected = []
            for lab in labels:
                exp = by_label[lab]
                seeds = exp.seeds if table == "economies" else (0,)
                found = [runs[row_key(lab, s)] for s in seeds if row_key(lab, s) in runs]
                if found:
                    row = mean_over_seeds(found)
                    row["off_target"] = off_target(row)
                    selected.append(row)
        if not selected:
            continue
        body = format_rows(selected)
        note = f"{NOTES[table]}\n\n" if table in NOTES else ""
        commands = "\n".join(
            f"- {r['label']}: `{r['command']}`"
            + (" (seed 0; `--set seed=N`)" if "," in r.get("seeds", "") else "")
            for r in selected
        )
        text = f"## {title}\n\n{header}\n\n{body}\n\n{note}Reproduce a row:\n\n{commands}\n"
        (out / f"ground_truth_{table}.md").write_text(text, encoding="utf-8")
        texts.append(text)
    return texts


def main(argv: list[str] | None = None) -> int:
    """Run the experiments, write the three tables, print them (the last table last)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--only",
        default="",
        help="comma-separated labels or presets, or one whole label (which may hold commas)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="5 iterations a row (smoke run); writes results/quick/"
    )
    parser.add_argument("--threads", type=int, default=None, help="torch threads")
    parser.add_argument(
        "--eval-every",
        type=int,
        default=EVAL_EVERY,
        metavar="N",
        help=f"measure λ every N iterations (0: only at the end; default {EVAL_EVERY})",
    )
    parser.add_argument(
        "--out", default=None, help="results folder (default results/, --quick: results/quick/)"
    )
    parser.add_argument(
        "--coverage",
        default="",
        metavar="PRESET",
        help="print where training visits capital for PRESET's economy, then exit",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep every row of the folder's ground_truth.jsonl and train only the runs it "
        "lacks (continue a stopped run of the same code)",
    )
    parser.add_argument(
        "--tables-only",
        action="store_true",
        help="train nothing: rewrite the tables from the folder's ground_truth.jsonl (on the "
        "machine that ran it: the header names this machine)",
    )
    args = parser.parse_args(argv)
    if args.coverage:
        print(coverage_table(args.coverage))
        return 0
    try:
        out = results_dir(quick=args.quick, out=args.out)
    except ValueError as err:
        parser.error(str(err))
    if args.tables_only:
        raw = out / "ground_truth.jsonl"
        if not raw.exists():
            parser.error(f"--tables-only: {raw} does not exist")
        rows = [json.loads(line) for line in raw.read_text().splitlines()]
        texts = write_tables({row_key(r["label"], r.get("seed", 0)): r for r in rows}, out)
        print(f"Tables written to {out}\n")
        print("\n".join(texts))
        return 0

    import torch

    from rbc_env.perf import keep_freed_memory
    from trainers.lifecycle import start_ray, stop_ray
    from trainers.settings import resolve_config
    from trainers.truth import run_truth

    keep_freed_memory()
    if args.threads:
        torch.set_num_threads(args.threads)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    labels = {e.label for e in EXPERIMENTS}
    if args.only.strip() in labels:  # one label, commas and all ("g7 half, quantity")
        wanted = {args.only.strip()}
    else:
        wanted = {w.strip() for w in args.only.split(",") if w.strip()}
    chosen = [e for e in EXPERIMENTS if not wanted or e.label in wanted or e.preset in wanted]
    if not chosen:
        parser.error(f"--only matched no experiment; labels: {[e.label for e in EXPERIMENTS]}")
    start_ray()  # private: loopback only, token authentication on
    raw_path = out / "ground_truth.jsonl"
    runs: dict[str, dict[str, Any]] = {}
    if raw_path.exists() and (wanted or args.resume):  # keep the rows of an earlier run
        for line in raw_path.read_text().splitlines():
            row = json.loads(line)
            runs[row_key(row["label"], row.get("seed", 0))] = row
    for exp in chosen:
        for seed in exp.seeds:
            if args.resume and row_key(exp.label, seed) in runs:
                print(f"[{exp.label}, seed {seed}] kept from {raw_path}", flush=True)
                continue
            sets = [f"{k}={_yaml(v)}" for k, v in exp.sets.items()] + [f"seed={seed}"]
            if args.quick:
                sets += ["iterations=5", "eval_states=128"]
            tc = resolve_config(exp.preset, sets, option="--economy")
            command = exp.command(seed)
            print(f"[{exp.label}, seed {seed}] {command}", flush=True)
            every = 0 if args.quick else args.eval_every
            row = run_truth(tc, label=exp.label, eval_every=every)
            row["command"] = command + (f" --eval-every {every}" if every else "")
            runs[row_key(exp.label, seed)] = row
            raw_path.write_text("".join(json.dumps(r, default=float) + "\n" for r in runs.values()))
    stop_ray()
    texts = write_tables(runs, out)
    print(f"Tables written to {out}\n")
    print("\n".join(texts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
