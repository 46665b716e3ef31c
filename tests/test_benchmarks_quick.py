"""--quick benchmark runs never touch the committed tables; the "Measured on" line names the CPU."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks._common import (  # noqa: E402
    QUICK_RESULTS,
    RESULTS,
    cpu_description,
    machine,
    results_dir,
)

SCRIPTS = (
    "env_throughput",
    "training_throughput",
    "env_runner_profile",
    "ground_truth",
    "critic_rbc",
    "finite_game",
    "reproduce_paper",
    "wage_response",
    "learners_rbc",
)


def _run_script(args: list[str], timeout: int) -> subprocess.CompletedProcess[str]:
    """``python benchmarks/<args>`` from the repository root; output captured, not checked."""
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / args[0]), *args[1:]],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=ROOT,
    )


def _committed_hashes() -> dict[str, str]:
    """SHA-256 of every file under benchmarks/results/ except the quick folder and the
    git-ignored ``*/work/`` folders (a long benchmark in progress writes there)."""
    return {
        str(p.relative_to(RESULTS)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(RESULTS.rglob("*"))
        if p.is_file()
        and not p.is_relative_to(QUICK_RESULTS)
        and p.relative_to(RESULTS).parts[1:2] != ("work",)
    }


def test_env_throughput_quick_leaves_committed_results_unchanged() -> None:
    """The cheapest --quick run writes results/quick/ only; every committed file is unchanged."""
    before = _committed_hashes()
    name = "pytest_env_throughput"
    written = [QUICK_RESULTS / f"{name}{s}.{e}" for s in ("", "_scaling") for e in ("csv", "md")]
    try:
        proc = _run_script(["env_throughput.py", "--quick", "--name", name], timeout=120)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert all(p.is_file() for p in written), [p for p in written if not p.is_file()]
        assert _committed_hashes() == before
        lines = proc.stdout.strip().splitlines()
        table = lines[lines.index("| path | B | agent-steps/s | x per-agent loop | x PettingZoo "
                                  "| x batched core | bytes / agent-step | memory roofline "
                                  "| of roofline |"):]  # fmt: skip
        assert all(line.startswith("|") for line in table)  # the table is printed last
        core = next(line for line in table if line.startswith("| batched core | 256 |"))
        assert re.search(r"\| \d+% \|$", core)  # its share of the memory roofline
        text = (QUICK_RESULTS / f"{name}.md").read_text()
        assert "Measured on:" in text and "Measured ceilings of this device: memory" in text
    finally:
        for p in written:
            p.unlink(missing_ok=True)


def test_results_dir_keeps_quick_runs_out_of_the_committed_folder(tmp_path: Path) -> None:
    """Full runs default to results/, quick runs to results/quick/; --quick --out results/ fails."""
    assert results_dir(quick=False) == RESULTS
    assert results_dir(quick=True) == QUICK_RESULTS
    assert results_dir(quick=True, out=tmp_path / "x") == (tmp_path / "x").resolve()
    assert (tmp_path / "x").is_dir()
    assert results_dir(quick=False, out=RESULTS / "reproduce_cpu_small").name == (
        "reproduce_cpu_small"
    )
    for committed in (RESULTS, RESULTS / "reproduce_cpu_small"):
        with pytest.raises(ValueError, match="--quick results never go"):
            results_dir(quick=True, out=committed)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_benchmark_chooses_its_folder_through_results_dir(script: str) -> None:
    """No script names the committed folder itself: the rule is in _common.results_dir."""
    text = (ROOT / "benchmarks" / f"{script}.py").read_text(encoding="utf-8")
    assert any(
        f"{helper}(" in text for helper in ("results_dir", "write_results", "seed_comparison")
    )
    assert not re.search(r"\bRESULTS\b", text)


def test_cpu_description_names_the_best_instruction_set() -> None:
    """Model name plus the best of AVX-512 / AVX2 / SSE4.2 from the flags line."""
    info = "model name\t: Some CPU 9000\nflags\t\t: fpu sse4_2 avx avx2 avx512f\n"
    assert cpu_description(info) == "Some CPU 9000 (AVX-512)"
    info = "model name\t: Other CPU\nflags\t\t: fpu sse4_2 avx avx2\n"
    assert cpu_description(info) == "Other CPU (AVX2)"
    info = "model name\t: Old CPU\nflags\t\t: fpu sse4_2\n"
    assert cpu_description(info) == "Old CPU (SSE4.2)"
    assert "(" not in cpu_description("model name\t: Bare CPU\nflags\t\t: fpu\n")


def test_machine_line_names_torch_and_its_cpu_kernels() -> None:
    """The line names the torch version and the instruction set torch dispatches to."""
    line = machine("cpu")
    assert f"torch {torch.__version__}" in line
    assert f"CPU kernels {torch.backends.cpu.get_cpu_capability()}" in line
    assert "device cpu" in line


def test_ground_truth_rows_of_several_seeds_show_mean_and_worst_seed() -> None:
    """A headline row of seeds 0, 1, 2: mean columns, worst-seed maxima, the slowest seed's
    time to target (NaN when one seed never reached it), no single-run confidence bounds."""
    from benchmarks.ground_truth import EXPERIMENTS, mean_over_seeds, row_key

    runs = [
        {
            "label": "g1",
            "seed": s,
            "saving_error_mean": e,
            "welfare_loss": lam,
            "s_to_target": t,
            "welfare_loss_low": lam / 2,
            "welfare_loss_high": lam * 2,
            "action": "share",
        }
        for s, e, lam, t in ((0, 0.004, 1e-4, 6.0), (1, 0.010, 4e-4, 9.0), (2, 0.001, 2e-5, 7.0))
    ]
    row = mean_over_seeds(runs)
    assert row["saving_error_mean"] == pytest.approx(0.005)
    assert row["saving_error_mean_worst"] == 0.010 and row["welfare_loss_worst"] == 4e-4
    assert row["welfare_loss"] == pytest.approx(5.2e-4 / 3) and row["welfare_loss_low"] is None
    assert row["s_to_target"] == 9.0 and row["seeds"] == "0,1,2" and "seed" not in row
    assert row["action"] == "share" and row["label"] == "g1"
    runs[2]["s_to_target"] = float("nan")
    assert math.isnan(mean_over_seeds(runs)["s_to_target"])
    assert mean_over_seeds(runs[:1]) == {**runs[0], "seeds": "0"}
    assert row_key("g1", 2) == "g1 seed=2"
    headline = {e.label for e in EXPERIMENTS if e.seeds == (0, 1, 2)}
    assert {"g1", "g2", "g3 (Hansen, γ=2)", "g4 H=100", "g5 N=10", "g6 N=2", "g6 N=10"} <= headline


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DEVICE": "cuda"}, "torch sees no CUDA device"),
        ({"DEVICE": "cpu"}, "set QUICK=1 too"),
        ({"DEVICE": "tpu"}, "DEVICE must be cuda or cpu"),
    ],
)
def test_gpu_check_refuses_what_it_cannot_measure(env: dict[str, str], message: str) -> None:
    """benchmarks/gpu_check.sh stops with exit code 2 and says why: no CUDA device, a full CPU
    run (which would overwrite the committed CPU tables), an unknown device."""
    if env["DEVICE"] == "cuda" and torch.cuda.is_available():
        pytest.skip("a CUDA device is present: the check would run")
    proc = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh")],
        env={**os.environ, "PY": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2 and message in proc.stderr


@pytest.mark.slow
def test_gpu_check_dry_run_on_the_cpu_runs_every_step_and_writes_only_quick_tables() -> None:
    """The GPU check's smoke mode (DEVICE=cpu QUICK=1 SKIP_TESTS=1) runs its benchmark steps,
    so the script cannot rot while no GPU is lent; committed tables stay as they are."""
    before = _committed_hashes()
    proc = subprocess.run(
        ["bash", str(ROOT / "benchmarks" / "gpu_check.sh")],
        env={**os.environ, "PY": sys.executable, "DEVICE": "cpu", "QUICK": "1", "SKIP_TESTS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "gpu_check: all steps passed" in proc.stdout
    assert "== env_throughput took" in proc.stdout and "== training_throughput took" in proc.stdout
    assert _committed_hashes() == before
    scaling = (QUICK_RESULTS / "training_throughput_scaling.md").read_text()
    assert "| 16 | fp32 |" in scaling and "| 32 | fp32 |" in scaling


def test_step_traffic_counts_each_storage_once_and_grows_with_the_batch() -> None:
    """The env roofline's bytes: linear in B, the flat observations on top, and at least the
    actions read and the consumption flow written."""
    from benchmarks.env_throughput import step_traffic
    from rbc_env import RBCConfig

    paper = RBCConfig.paper("open")
    one, two = step_traffic(paper, 4, "cpu"), step_traffic(paper, 8, "cpu")
    assert two == 2 * one
    assert step_traffic(paper, 4, "cpu", flat=True) > one
    c, f = paper.n_consumers, paper.n_firms
    actions = 4 * (c * (f + 2) + f * 2 + 2) * 8  # int64 indices
    consumption = 4 * c * f * 4  # float32 [B, C, F]
    assert one > actions + consumption


def test_ground_truth_off_target_names_the_missed_target_and_its_cause(monkeypatch) -> None:
    """A row meeting λ < 1e-3 and 0.5 points in its worst seed has no reason; a row missing one
    names it, with the measured cause or 'cause not measured'."""
    import benchmarks.ground_truth as gt

    ok = {"label": "g9", "welfare_loss_worst": 9e-4, "saving_error_mean_worst": 0.0049}
    assert gt.off_target(ok) is None
    assert gt.off_target({**ok, "welfare_loss_worst": 1e-3}) == "λ: cause not measured"
    single = {"label": "g9", "welfare_loss": 2e-3, "saving_error_mean": 0.01}
    assert gt.off_target(single) == "λ and saving error: cause not measured"
    monkeypatch.setitem(gt.CAUSES, "g9", "measured reason")
    assert gt.off_target(single) == "λ and saving error: measured reason"
    off = gt.off_target({**ok, "label": "g6 N=1", "welfare_loss_worst": 2e-3})
    assert off.startswith("λ: the monopolist")


def test_ground_truth_resume_keeps_recorded_runs_and_trains_none_again(tmp_path: Path) -> None:
    """--resume keeps every row of the folder's jsonl and skips the runs it already holds."""
    from benchmarks.ground_truth import EXPERIMENTS

    chosen = [e for e in EXPERIMENTS if "g1" in (e.label, e.preset)]  # what --only g1 selects
    labels = {e.label for e in chosen}
    rows = [
        json.loads(line)
        for line in (RESULTS / "ground_truth.jsonl").read_text().splitlines()
        if json.loads(line)["label"] in labels
    ]
    assert len(rows) == sum(len(e.seeds) for e in chosen) >= 3
    raw = tmp_path / "ground_truth.jsonl"
    text = "".join(json.dumps(r) + "\n" for r in rows)
    raw.write_text(text)
    proc = _run_script(
        ["ground_truth.py", "--only", "g1", "--resume", "--out", str(tmp_path)], timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    kept = [f"[{e.label}, seed {s}] kept from" in proc.stdout for e in chosen for s in e.seeds]
    assert kept == [True] * len(rows)
    assert raw.read_text() == text  # nothing retrained, nothing lost
    assert (tmp_path / "ground_truth_economies.md").is_file()


def test_env_runner_profile_charges_builtins_to_their_callers() -> None:
    """A built-in's own time goes to the parts of the code that called it, per caller."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from env_runner_profile import self_time_by_part

    rllib = ("/x/ray/rllib/env/multi_agent_episode.py", 1, "add")
    ours = ("/x/rbc_env/core/observe.py", 2, "observe")
    builtin = ("~", 0, "<built-in method builtins.isinstance>")
    stats = SimpleNamespace(
        stats={
            rllib: (1, 1, 2.0, 3.5, {}),
            ours: (1, 1, 0.25, 0.75, {}),
            builtin: (5, 5, 1.75, 1.75, {rllib: (3, 3, 1.0, 1.0), ours: (2, 2, 0.5, 0.5)}),
        }
    )
    parts = self_time_by_part(stats)
    assert parts["RLlib env runner and episodes"] == 3.0
    assert parts["rbc_env (economy and adapters)"] == 0.75
    assert parts["Python, other"] == 0.25  # the built-in's time no caller accounts for


def test_learner_rows_take_actor_counts_and_cpus_each() -> None:
    """``--learners`` items: N actors of one CPU, or NxC actors of C CPUs; the cell says which."""
    from benchmarks.training_throughput import _learner_text, _learners
    from trainers.config import TrainConfig

    assert _learners("2") == {"num_learners": 2, "cpus_per_learner": 1, "rollouts": "driver"}
    assert _learners("1x2r") == {"num_learners": 1, "cpus_per_learner": 2, "rollouts": "learners"}
    for bad in ("0", "1x0", "x", "2x", "r", "2rr"):
        with pytest.raises(ValueError):
            _learners(bad)
    base = TrainConfig.cpu_small()
    assert _learner_text(base) == "driver"
    assert _learner_text(base.replace(num_learners=2)) == "2"
    assert _learner_text(base.replace(num_learners=1, cpus_per_learner=2)) == "1 x 2 CPUs"
    rolling = base.replace(num_learners=2, rollouts="learners")
    assert _learner_text(rolling) == "2, roll out"


def test_learner_layouts_are_judged_against_the_drivers_seed_range() -> None:
    """A layout's mean over seeds inside the driver's [min, max] is "within", else "OUTSIDE"."""
    from benchmarks.learners_rbc import verdicts

    def row(layout: str, seed: int, consumer: float) -> dict[str, object]:
        return {"layout": layout, "seed": seed, "consumer": consumer, "firm": 1.0,
                "government": 1.0}  # fmt: skip

    rows = [row("driver", 0, 1.0), row("driver", 1, 3.0)]
    rows += [row("2 actors", 0, 2.5), row("2 actors", 1, 3.4)]  # mean 2.95: within [1, 3]
    rows += [row("1 actor", 0, 3.2), row("1 actor", 1, 3.4)]  # mean 3.3: outside
    lines = verdicts(rows)
    assert lines[0].startswith("- 1 actor: consumer 3.3 (OUTSIDE [1, 3])")
    assert lines[1].startswith("- 2 actors: consumer 2.95 (within [1, 3])")


@pytest.mark.slow
def test_learners_quick_runs_every_layout_on_a_local_two_node_cluster() -> None:
    """The learners benchmark's smoke run: seven layouts (two on 2 local Ray nodes), no Ray
    process or temporary folder left behind, the committed tables untouched."""
    import tempfile

    before = _committed_hashes()
    temp = Path(tempfile.gettempdir())
    folders = set(temp.glob("rbc-ray-*"))
    proc = _run_script(["learners_rbc.py", "--quick"], timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = proc.stdout.strip().splitlines()
    assert table[-1].startswith("| 2 actors roll out, 2 nodes | 0 | 3 |")  # printed last
    assert "- 2 actors, 2 nodes: consumer" in proc.stdout
    assert "- 2 actors roll out, 2 nodes: consumer" in proc.stdout
    assert _committed_hashes() == before
    assert set(temp.glob("rbc-ray-*")) == folders
