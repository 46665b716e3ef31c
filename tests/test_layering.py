"""Importing the core pulls in no RL framework (STYLE: the core is pure torch)."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("gymnasium", "pettingzoo", "ray")


def test_core_import_pulls_in_no_rl_framework() -> None:
    code = (
        "import json, sys\n"
        "import rbc_env, rbc_env.core\n"
        "econ = rbc_env.BatchedEconomy(batch_size=2, seed=0)\n"
        "econ.step(econ.sample_actions())\n"
        "print(json.dumps(sorted(m.split('.')[0] for m in sys.modules)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    loaded = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert "torch" in loaded and "rbc_env" in loaded  # the probe itself worked
    leaked = [name for name in FORBIDDEN if name in loaded]
    assert not leaked, f"importing rbc_env pulled in {leaked}"
