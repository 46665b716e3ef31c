"""The paper-reproduction script runs end to end in its reduced (--quick) form."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_reproduce_paper_quick(tmp_path: Path) -> None:
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    env.setdefault("RAY_AUTH_MODE", "disabled")
    cmd = [sys.executable, str(ROOT / "benchmarks" / "reproduce_paper.py"), "--quick"]
    cmd += ["--seeds", "0", "--out", str(tmp_path)]
    proc = subprocess.run(
        cmd, capture_output=True, text=True, env=env, timeout=600, check=False, cwd=ROOT
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip().splitlines()[-1].startswith("| none_seed0 | government |")
    for name in ("training.png", "epsilon.md", "taxes.md", "outcomes.md"):
        assert (tmp_path / name).exists(), name
    raw = json.loads((tmp_path / "raw.json").read_text())
    runs = {r["run"] for r in raw["outcomes"]}
    assert runs == {"curriculum_seed0", "none_seed0"}
    assert {r["agent_type"] for r in raw["epsilon"]} == {"consumer", "firm", "government"}
    policies = [r["policy"] for r in raw["taxes"] if r["run"] == "none_seed0"]
    assert policies == ["learned", "fixed 20%", "fixed 40%", "fixed 60%", "fixed 80%"]
    assert not (tmp_path / "runs").exists()  # checkpoints are not kept
    assert sorted(p.name for p in (tmp_path / "metrics").iterdir()) == [
        "curriculum_seed0.csv",
        "none_seed0.csv",
    ]
