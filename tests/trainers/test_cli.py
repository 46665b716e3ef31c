"""The training CLI: run folder, metrics, checkpoints, resume, and errors before any work."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from trainers.cli import error_line, main, resolve_config
from trainers.config import TrainConfig

TINY = [
    "--set",
    "economy.n_consumers=4",
    "--set",
    "economy.n_firms=2",
    "--set",
    "batch_size=4",
]


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_bad_set_key_fails_before_work(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["train", "--set", "economy.n_firmz=3", "--runs-dir", str(tmp_path)])
    assert exc.value.code == 2
    assert "n_firmz" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_bad_value_and_preset_are_named() -> None:
    with pytest.raises(ValueError, match="n_consumers must be in"):
        resolve_config("cpu_small", ["economy.n_consumers=-1"])
    with pytest.raises(ValueError, match="preset .*cpu_small"):
        resolve_config("paper_middle", [])
    with pytest.raises(ValueError, match="key=value"):
        resolve_config("cpu_small", ["economy.n_firms"])


@pytest.mark.parametrize(
    "name", ["cpu_small", "paper_open", "paper_closed", "paper_cpu", "paper_cpu_closed"]
)
def test_config_files_equal_the_presets(name: str) -> None:
    """configs/<preset>.yaml is the preset's dump; regenerate it (see its header) if this fails."""
    root = Path(__file__).resolve().parents[2]
    assert TrainConfig.load(root / "configs" / f"{name}.yaml") == resolve_config(name, [])


def test_yaml_config_round_trip(tmp_path: Path) -> None:
    config = TrainConfig.cpu_small().override({"seed": 7})
    config.dump(tmp_path / "x.yaml")
    assert resolve_config(str(tmp_path / "x.yaml"), []) == config


@pytest.mark.usefixtures("ray_session")
def test_train_writes_run_and_resumes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    common = ["train", "--config", "cpu_small", *TINY, "--runs-dir", str(tmp_path)]
    common += ["--name", "r", "--no-progress", "--checkpoint-every", "1"]
    assert main([*common, "--set", "iterations=2"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("| government | corporate tax")  # the table is printed last
    run = tmp_path / "r"
    for name in ("config.yaml", "metrics.csv", "summary.md", "plots/training.png"):
        assert (run / name).exists(), name
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "iter_0000001",
        "iter_0000002",
    ]
    rows = _rows(run / "metrics.csv")
    assert [r["iteration"] for r in rows] == ["1", "2"]
    assert all(math.isfinite(float(r["reward/consumer_mean"])) for r in rows)
    # A second run under the same name must not silently overwrite the first.
    assert main([*common, "--set", "iterations=3"]) == 2
    # Resume continues the run's own config (no --config) and may lengthen it: rows 1-2 kept,
    # 3-4 appended.
    resume = ["train", "--runs-dir", str(tmp_path), "--name", "r", "--no-progress", "--resume"]
    resume += ["--checkpoint-every", "1"]
    assert main([*resume, "--set", "iterations=4"]) == 0
    rows = _rows(run / "metrics.csv")
    assert [r["iteration"] for r in rows] == ["1", "2", "3", "4"]
    # A resume with a different setting (other than iterations) is refused, naming the field.
    assert main([*resume, "--set", "iterations=5", "--set", "seed=9"]) == 2
    assert "seed" in capsys.readouterr().err
    # --overwrite starts the run afresh.
    assert main([*common, "--set", "iterations=1", "--overwrite"]) == 0
    assert [r["iteration"] for r in _rows(run / "metrics.csv")] == ["1"]


@pytest.mark.slow
def test_same_seed_same_run_across_processes(tmp_path: Path) -> None:
    """Two processes with different string-hash seeds train identically (module build order)."""
    import os
    import subprocess
    import sys

    procs = {}
    for hash_seed in ("1", "2"):  # both at once: each starts its own Ray
        env = dict(os.environ, PYTHONHASHSEED=hash_seed, RAY_USAGE_STATS_ENABLED="0")
        cmd = [sys.executable, "-m", "trainers", "train", "--config", "cpu_small", *TINY]
        cmd += ["--set", "iterations=1", "--runs-dir", str(tmp_path), "--name", hash_seed]
        procs[hash_seed] = subprocess.Popen(
            [*cmd, "--no-progress"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    rows = []
    for hash_seed, proc in procs.items():
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err.decode()[-2000:]
        row = _rows(tmp_path / hash_seed / "metrics.csv")[0]
        rows.append({k: v for k, v in row.items() if k.startswith(("reward/", "econ/", "loss/"))})
    assert rows[0] == rows[1]


def test_grid_settings_expands_seeds_and_values() -> None:
    from trainers.cli import grid_settings

    combos = grid_settings([0, 1], ["economy.variant=open,closed"])
    assert combos == [
        ["seed=0", "economy.variant=open"],
        ["seed=0", "economy.variant=closed"],
        ["seed=1", "economy.variant=open"],
        ["seed=1", "economy.variant=closed"],
    ]
    with pytest.raises(ValueError, match="key=v1,v2"):
        grid_settings([0], ["economy.variant"])


def test_sweep_bad_grid_value_fails_before_work(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        main(["sweep", "--grid", "economy.n_firms=2,-1", "--runs-dir", str(tmp_path)])
    assert not any(tmp_path.iterdir())


@pytest.mark.usefixtures("ray_session")
def test_train_refuses_learners_the_cluster_cannot_place_before_any_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """An actor of 3 CPUs on the 2-CPU test cluster: one error line, exit 2, no run folder."""
    args = ["train", "--config", "cpu_small", *TINY, "--runs-dir", str(tmp_path), "--no-progress"]
    args += ["--set", "num_learners=1", "--set", "cpus_per_learner=3"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: TrainConfig.cpus_per_learner must be at most the CPUs")
    assert "Traceback" not in "\n".join(err)
    assert not any(tmp_path.iterdir())


@pytest.mark.usefixtures("ray_session")
def test_sweep_reserves_cpus_for_each_trials_learner_actors(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """A trial with a learner actor gets a bundle for it (2 of the cluster's 2 CPUs) and trains;
    two learner actors (3 CPUs) are refused before any folder, in one error line."""
    args = ["sweep", "--config", "cpu_small", *TINY, "--set", "iterations=1", "--seeds", "0"]
    args += ["--runs-dir", str(tmp_path)]
    assert main([*args, "--set", "num_learners=2", "--name", "two"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: a trial takes 3 CPUs")
    assert not any(tmp_path.iterdir())
    assert main([*args, "--set", "num_learners=1", "--name", "one"]) == 0
    table = capsys.readouterr().out.strip().splitlines()
    assert table[-1].startswith("| seed-0 | ok | 1 |")


def test_a_sweep_trial_reserves_a_bundle_per_learner_actor_and_gpus_on_cuda() -> None:
    """Tune's placement group of a trial: the trial's CPUs, then one bundle per learner actor;
    on cuda each takes a GPU (the trial's own rollouts run there too)."""
    from trainers.cli import _trial_bundles, trial_needs

    base = TrainConfig.cpu_small().replace(device="cpu")
    assert _trial_bundles(base, 2) == [{"CPU": 2.0}]
    two = base.replace(num_learners=2, cpus_per_learner=3)
    assert _trial_bundles(two, 1) == [{"CPU": 1.0}, {"CPU": 3.0}, {"CPU": 3.0}]
    assert trial_needs(two, 1) == {"CPU": 7.0}
    assert trial_needs(two.replace(device="cuda"), 1) == {"CPU": 7.0, "GPU": 3.0}


def test_a_failed_trials_line_is_what_the_trial_raised() -> None:
    """Ray wraps a trial's exception; sweep.md shows the trial's own, without colour codes."""
    from ray.exceptions import RayTaskError

    wrapped = RayTaskError(
        "ImplicitFunc.train",
        "Traceback (most recent call last):\nValueError: bad",
        ValueError("TrainConfig.x must be in [0, 1]; got 2\nmore"),
        proctitle="\x1b[36mray::ImplicitFunc.train()\x1b[39m",
    ).as_instanceof_cause()
    assert error_line(wrapped) == "ValueError: TrainConfig.x must be in [0, 1]; got 2"
    assert error_line(RuntimeError("\x1b[31mboom\x1b[0m")) == "RuntimeError: boom"


@pytest.mark.usefixtures("ray_session")
def test_sweep_runs_one_trial_per_seed(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    args = ["sweep", "--config", "cpu_small", *TINY, "--set", "iterations=1", "--seeds", "0", "1"]
    assert main([*args, "--runs-dir", str(tmp_path), "--name", "s"]) == 0
    for trial in ("seed-0", "seed-1"):
        rows = _rows(tmp_path / "s" / trial / "metrics.csv")
        assert [r["iteration"] for r in rows] == ["1"]
    table = capsys.readouterr().out.strip().splitlines()
    assert table[-1].startswith("| seed-1 | ok | 1 |")
    first = _rows(tmp_path / "s" / "seed-0" / "metrics.csv")[0]["reward/consumer_mean"]
    second = _rows(tmp_path / "s" / "seed-1" / "metrics.csv")[0]["reward/consumer_mean"]
    assert first != second  # the seed reaches the trial


@pytest.mark.usefixtures("ray_session")
def test_continuous_actions_train_and_resume_exactly(tmp_path: Path) -> None:
    """`--set economy.action_space=continuous` trains; a resumed run repeats the straight one."""
    common = ["train", "--config", "cpu_small", *TINY, "--runs-dir", str(tmp_path)]
    common += ["--set", "economy.action_space=continuous", "--no-progress"]
    common += ["--checkpoint-every", "1"]
    assert main([*common, "--name", "straight", "--set", "iterations=3"]) == 0
    assert main([*common, "--name", "split", "--set", "iterations=2"]) == 0
    resume = ["train", "--runs-dir", str(tmp_path), "--name", "split", "--no-progress"]
    assert main([*resume, "--resume", "--set", "iterations=3"]) == 0
    assert TrainConfig.load(tmp_path / "split" / "config.yaml").economy.action_space == "continuous"
    keys = ("reward/", "econ/")
    straight, split = (
        [
            {k: v for k, v in r.items() if k.startswith(keys)}
            for r in _rows(tmp_path / n / "metrics.csv")
        ]
        for n in ("straight", "split")
    )
    assert len(straight) == 3 and straight == split
