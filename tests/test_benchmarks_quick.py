"""--quick benchmark runs never touch the committed tables; the "Measured on" line names the CPU."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

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

SCRIPTS = ("env_throughput", "training_throughput", "ground_truth", "critic_rbc", "reproduce_paper")


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
    cmd = [sys.executable, str(ROOT / "benchmarks" / "env_throughput.py"), "--quick"]
    try:
        proc = subprocess.run(
            [*cmd, "--name", name],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=ROOT,
            env=dict(os.environ),
        )
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert all(p.is_file() for p in written), [p for p in written if not p.is_file()]
        assert _committed_hashes() == before
        lines = proc.stdout.strip().splitlines()
        table = lines[lines.index("| path | B | agent-steps/s | x per-agent loop | x PettingZoo "
                                  "| x batched core |"):]  # fmt: skip
        assert all(line.startswith("|") for line in table)  # the table is printed last
        assert any(line.startswith("| batched core | 256 |") for line in table)
        assert "Measured on:" in (QUICK_RESULTS / f"{name}.md").read_text()
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
    assert "results_dir(" in text or "write_results(" in text
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
