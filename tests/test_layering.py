"""Layering: the core pulls in no RL framework, and the import contracts hold (no cycles)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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


ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on ``config``, in a subprocess whose path starts at ``cwd``."""
    code = (
        "import sys\n"
        "from importlinter.cli import lint_imports\n"
        f"sys.exit(lint_imports(config_filename={str(config)!r}, no_cache=True))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(cwd)},
    )


def test_import_contracts_hold() -> None:
    """setup.cfg's layer, core, growth and acyclic contracts (also run by `make test`)."""
    proc = _lint_imports(ROOT / "setup.cfg", ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_import_contracts_see_imports_inside_functions(tmp_path: Path) -> None:
    """A cycle closed by an import inside a function breaks the acyclic contract."""
    pkg = tmp_path / "cyclic"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from cyclic.b import g\n\n\ndef f():\n    return g()\n")
    (pkg / "b.py").write_text("def g():\n    from cyclic.a import f\n\n    return f\n")
    config = tmp_path / "contracts.ini"
    config.write_text(
        "[importlinter]\nroot_packages =\n    cyclic\n\n"
        "[importlinter:contract:acyclic]\nname = acyclic\ntype = acyclic_siblings\n"
        "ancestors =\n    cyclic\n"
    )
    proc = _lint_imports(config, tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "BROKEN" in proc.stdout
