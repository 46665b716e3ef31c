"""Run safety through the real CLI: owned run folders, resume, verified checkpoints, Ray's
listeners, graceful stops, and one-line errors instead of tracebacks.

Every case works in a temporary folder with a canary file next to the runs folder (and one in
a foreign folder inside it): nothing outside a run folder of this package may change.
"""

from __future__ import annotations

import csv
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trainers.cli import main
from trainers.runfolder import MANIFEST, MARKER, RunLock

TINY = ["--set", "economy.n_consumers=4", "--set", "economy.n_firms=2", "--set", "batch_size=4"]
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def sandbox(tmp_path: Path) -> Path:
    """tmp/canary.txt, tmp/runs/foreign/keep.txt; the test's runs folder is tmp/runs."""
    (tmp_path / "canary.txt").write_text("canary")
    foreign = tmp_path / "runs" / "foreign"
    foreign.mkdir(parents=True)
    (foreign / "keep.txt").write_text("keep")
    return tmp_path


def _intact(sandbox: Path) -> None:
    assert (sandbox / "canary.txt").read_text() == "canary"
    assert (sandbox / "runs" / "foreign" / "keep.txt").read_text() == "keep"


def _exit_code(argv: list[str]) -> int:
    """main()'s exit status, whether it returns or exits through argparse."""
    try:
        return main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def _one_line_error(err: str) -> None:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def _cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    return subprocess.run(
        [sys.executable, "-m", "trainers", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


@pytest.mark.parametrize("name", [".", "..", "../runs", "/tmp", "a/b", ".hidden", ""])
def test_overwrite_refuses_names_that_are_not_plain(
    sandbox: Path, name: str, capsys: pytest.CaptureFixture
) -> None:
    runs = sandbox / "runs"
    argv = ["train", "--runs-dir", str(runs), "--name", name, "--overwrite"]
    assert _exit_code(argv) == 2
    _one_line_error(capsys.readouterr().err)
    _intact(sandbox)


def test_overwrite_refuses_folders_this_package_did_not_create(
    sandbox: Path, capsys: pytest.CaptureFixture
) -> None:
    runs = sandbox / "runs"
    for command in (["train"], ["truth", "--economy", "g1"], ["sweep"]):
        argv = [*command, "--runs-dir", str(runs), "--name", "foreign", "--overwrite"]
        assert _exit_code(argv) == 2, command
        err = capsys.readouterr().err
        _one_line_error(err)
        assert MARKER in err
    # A link to a run folder elsewhere is not deleted either (nor what it points to).
    elsewhere = sandbox / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / MARKER).write_text('{"kind": "train"}')
    (runs / "link").symlink_to(elsewhere)
    assert _exit_code(["train", "--runs-dir", str(runs), "--name", "link", "--overwrite"]) == 2
    assert (elsewhere / MARKER).exists()
    _intact(sandbox)


def test_runs_dir_that_is_a_file_and_bad_options_are_one_line_errors(
    sandbox: Path, capsys: pytest.CaptureFixture
) -> None:
    bad = [
        ["train", "--runs-dir", str(sandbox / "canary.txt")],
        ["train", "--threads", "-1"],
        ["truth", "--threads", "0"],
        ["sweep", "--cpus-per-trial", "0"],
        ["train", "--checkpoint-every", "0"],
        ["train", "--address", "notahost"],
        ["train", "--address", "host:99999"],
        ["train", "--set", "device=cuda:7"],
        ["train", "--resume", "--overwrite", "--name", "x"],
        ["train", "--resume"],
    ]
    for argv in bad:
        if "--runs-dir" not in argv:
            argv = [*argv, "--runs-dir", str(sandbox / "runs")]
        assert _exit_code(argv) == 2, argv
        _one_line_error(capsys.readouterr().err)
    _intact(sandbox)
    assert sorted(p.name for p in (sandbox / "runs").iterdir()) == ["foreign"]


def test_address_without_a_ray_head_fails_fast(sandbox: Path) -> None:
    started = time.monotonic()
    out = _cli("train", "--address", "127.0.0.1:9", "--runs-dir", str(sandbox / "runs"))
    assert out.returncode == 2
    assert time.monotonic() - started < 30
    _one_line_error(out.stderr)
    assert sorted(p.name for p in (sandbox / "runs").iterdir()) == ["foreign"]


def test_the_private_ray_joins_no_cluster_named_elsewhere() -> None:
    """Without --address the trainer starts its own Ray on 127.0.0.1, even when RAY_ADDRESS (or
    an earlier `ray start` on this machine) names a cluster: here one that does not exist."""
    code = (
        "import ray; from trainers.lifecycle import start_ray, stop_ray; start_ray(); "
        "print(ray.get_runtime_context().gcs_address); stop_ray()"
    )
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0", RAY_ADDRESS="127.0.0.1:9")
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert out.returncode == 0, out.stderr[-2000:]
    host, _, port = out.stdout.strip().splitlines()[-1].rpartition(":")
    assert host == "127.0.0.1" and port != "9"


def test_simulate_on_a_missing_gpu_is_an_error(capsys: pytest.CaptureFixture) -> None:
    import torch

    from rbc_env.simulate import main as simulate

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(SystemExit) as exc:
        simulate(["--device", "cuda", "--episodes", "1", "--batch", "1"])
    assert exc.value.code == 2
    assert "not available" in capsys.readouterr().err


def test_resume_errors_change_nothing(sandbox: Path, capsys: pytest.CaptureFixture) -> None:
    runs = sandbox / "runs"
    # A mistyped name: an error, and nothing is created.
    assert _exit_code(["train", "--runs-dir", str(runs), "--name", "nope", "--resume"]) == 2
    _one_line_error(capsys.readouterr().err)
    assert not (runs / "nope").exists()
    # A run with metrics rows but no checkpoint: an error, not a second 1..N sequence.
    run = runs / "nockpt"
    run.mkdir()
    (run / MARKER).write_text('{"kind": "train"}')
    from trainers.config import TrainConfig

    TrainConfig.cpu_small().dump(run / "config.yaml")
    (run / "metrics.csv").write_text("iteration,time_s\n1,0.1\n2,0.1\n")
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    assert _exit_code(["train", "--runs-dir", str(runs), "--name", "nockpt", "--resume"]) == 2
    err = capsys.readouterr().err
    _one_line_error(err)
    assert "no intact checkpoint" in err
    after = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name != ".lock"}
    assert after == {k: v for k, v in before.items() if k != ".lock"}
    # A renamed metrics header is named, not a traceback.
    (run / "metrics.csv").write_text("iter,time_s\n1,0.1\n")
    (run / "checkpoints").mkdir()
    assert _exit_code(["train", "--runs-dir", str(runs), "--name", "nockpt", "--resume"]) == 2
    err = capsys.readouterr().err
    _one_line_error(err)
    assert "'iteration' column" in err
    # A folder without the marker cannot be resumed.
    assert _exit_code(["train", "--runs-dir", str(runs), "--name", "foreign", "--resume"]) == 2
    _one_line_error(capsys.readouterr().err)
    _intact(sandbox)


def test_a_locked_run_is_neither_deleted_nor_written(
    sandbox: Path, capsys: pytest.CaptureFixture
) -> None:
    runs = sandbox / "runs"
    run = runs / "live"
    run.mkdir()
    (run / MARKER).write_text('{"kind": "train"}')
    (run / "data.txt").write_text("live data")
    from trainers.config import TrainConfig

    TrainConfig.cpu_small().dump(run / "config.yaml")
    with RunLock(run):  # another writer (flock conflicts across open files, even in-process)
        assert _exit_code(["train", "--runs-dir", str(runs), "--name", "live", "--overwrite"]) == 2
        assert "in use" in capsys.readouterr().err
        assert _exit_code(["train", "--runs-dir", str(runs), "--name", "live", "--resume"]) == 2
        assert "in use" in capsys.readouterr().err
    assert (run / "data.txt").read_text() == "live data"
    _intact(sandbox)


@pytest.mark.usefixtures("ray_session")
def test_resume_reads_the_run_and_falls_back_past_damaged_checkpoints(
    sandbox: Path, capsys: pytest.CaptureFixture
) -> None:
    runs = sandbox / "runs"
    base = ["train", "--runs-dir", str(runs), "--name", "r", "--no-progress"]
    assert main([*base, *TINY, "--set", "iterations=3", "--checkpoint-every", "1"]) == 0
    run = runs / "r"
    assert (run / MARKER).exists()
    # Lengthen once; a later plain --resume keeps the lengthened config (never the preset's).
    assert main([*base, "--resume", "--set", "iterations=4", "--checkpoint-every", "1"]) == 0
    assert main([*base, "--resume"]) == 0
    from trainers.config import TrainConfig

    assert TrainConfig.load(run / "config.yaml").iterations == 4
    assert [r["iteration"] for r in _rows(run / "metrics.csv")] == ["1", "2", "3", "4"]
    # --resume ignores nothing silently: --config is refused, and unsafe --set too.
    config_before = (run / "config.yaml").read_bytes()
    assert _exit_code([*base, "--resume", "--config", "cpu_small"]) == 2
    assert _exit_code([*base, "--resume", "--set", "economy.n_firms=3"]) == 2
    assert (run / "config.yaml").read_bytes() == config_before
    capsys.readouterr()

    # Damage the newest checkpoint: resume warns, names it, and continues from the previous.
    newest = run / "checkpoints" / "iter_0000004" / "algorithm_state.pkl"
    newest.write_bytes(newest.read_bytes()[:-7])
    assert main([*base, "--resume", "--set", "iterations=5"]) == 0
    err = capsys.readouterr().err
    assert "iter_0000004" in err and "damaged" in err
    assert [r["iteration"] for r in _rows(run / "metrics.csv")] == ["1", "2", "3", "4", "5"]

    # A crafted pickle is never loaded: its SHA-256 differs from the manifest, so
    # best-response, fixed-taxes and resume refuse the checkpoint before unpickling it.
    for ckpt in (run / "checkpoints").iterdir():
        (ckpt / MANIFEST).exists() or pytest.fail(f"{ckpt} has no manifest")
    payload = sandbox / "pwned"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {payload}",))

    for ckpt in (run / "checkpoints").iterdir():
        (ckpt / "class_and_ctor_args.pkl").write_bytes(pickle.dumps(Payload()))
    for argv in (
        ["best-response", str(run), "--iterations", "1", "--episodes", "2"],
        ["fixed-taxes", str(run), "--episodes", "2"],
        [*base, "--resume", "--set", "iterations=9"],
    ):
        code = _exit_code(argv)
        err = capsys.readouterr().err
        assert code == 2, (argv, err)
        assert "Traceback" not in err
    assert not payload.exists()
    _intact(sandbox)


def _tree(pid: int) -> list[int]:
    import psutil

    try:
        root = psutil.Process(pid)
        return [root.pid, *(c.pid for c in root.children(recursive=True))]
    except psutil.NoSuchProcess:
        return []


def _listeners(pids: list[int]) -> list[str]:
    """'ip:port' of every listening TCP socket of these processes."""
    import psutil

    found = []
    for pid in pids:
        try:
            conns = psutil.Process(pid).net_connections(kind="inet")
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        found += [f"{c.laddr.ip}:{c.laddr.port}" for c in conns if c.status == psutil.CONN_LISTEN]
    return found


def _loopback(address: str) -> bool:
    ip = address.rsplit(":", 1)[0]
    return (
        ip.startswith("127.") or ip in ("::1", "::ffff:127.0.0.1") or ip.startswith("::ffff:127.")
    )


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_train_listens_on_loopback_only_and_stops_gracefully(
    sandbox: Path, sig: signal.Signals, code: int
) -> None:
    """A real train: every listener of its process tree is on 127.0.0.1 while it runs; SIGTERM
    (SIGINT) at iteration k leaves a checkpoint at the last finished iteration (>= k), exit 143
    (130), the summary, and no child process."""
    runs = sandbox / "runs"
    cmd = [sys.executable, "-m", "trainers", "train", *TINY, "--set", "iterations=100000"]
    cmd += ["--runs-dir", str(runs), "--name", "sig", "--no-progress", "--checkpoint-every", "1000"]
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    metrics = runs / "sig" / "metrics.csv"
    listeners: list[str] = []
    children: list[int] = []
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            if metrics.exists() and len(_rows(metrics)) >= 3:
                break
            time.sleep(0.5)
        assert proc.poll() is None, proc.communicate()
        children = _tree(proc.pid)[1:]
        listeners = _listeners(_tree(proc.pid))
        k = len(_rows(metrics))
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert listeners, "the Ray processes should listen somewhere (the test must see them)"
    assert all(_loopback(a) for a in listeners), listeners
    assert proc.returncode == code, err[-2000:]
    assert "Traceback" not in err
    assert out.strip().splitlines()[-1].startswith(f"stopped by {sig.name} at iteration")
    done = len(_rows(metrics))
    assert done >= k
    assert sorted(p.name for p in (runs / "sig" / "checkpoints").iterdir()) == [f"iter_{done:07d}"]
    assert (runs / "sig" / "summary.md").exists()
    import psutil

    time.sleep(1.0)
    alive = [p for p in children if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert not alive, alive
    _intact(sandbox)


def test_sweep_table_lists_missing_and_short_trials() -> None:
    from trainers.cli import sweep_table

    row = {"iteration": 4, "reward/consumer_mean": 1.0}
    table, missing = sweep_table(
        {"a": 4, "b": 4, "c": 4, "d": 4},
        {"a": row, "b": {**row, "iteration": 2}, "c": row},
        {"c": "RuntimeError: boom"},
    )
    assert missing == ["b", "c", "d"]
    lines = table.splitlines()
    assert lines[2].startswith("| a | ok | 4 |")
    assert "missing (stopped at 2 of 4 iterations)" in lines[3]
    assert "missing (RuntimeError: boom)" in lines[4]
    assert "missing (no result)" in lines[5]


@pytest.mark.slow
def test_sweep_checks_cpus_and_resumes_after_an_interrupt(sandbox: Path) -> None:
    runs = sandbox / "runs"
    out = _cli("sweep", "--cpus-per-trial", "512", "--runs-dir", str(runs), "--name", "big")
    assert out.returncode == 2, out.stderr[-2000:]
    _one_line_error(out.stderr)
    assert not (runs / "big").exists()

    store = sandbox / "store"  # a storage path, as a cluster without a shared disk would use
    cmd = [sys.executable, "-m", "trainers", "sweep", *TINY, "--set", "iterations=60"]
    cmd += ["--seeds", "0", "1", "--checkpoint-every", "5", "--runs-dir", str(runs)]
    cmd += ["--name", "s", "--storage", str(store)]
    env = dict(os.environ, RAY_USAGE_STATS_ENABLED="0")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    metrics = [runs / "s" / f"seed-{s}" / "metrics.csv" for s in (0, 1)]
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            if all(m.exists() and len(_rows(m)) >= 12 for m in metrics):
                break
            time.sleep(0.5)
        proc.send_signal(signal.SIGINT)  # Tune saves the experiment and stops the trials
        first, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    if proc.returncode == 0:
        pytest.skip("the sweep finished before the interrupt (a very fast machine)")
    assert proc.returncode == 1
    assert "missing (stopped at" in first
    assert (store / "s").is_dir()
    again = _cli("sweep", "--resume", "s", "--runs-dir", str(runs), timeout=900)  # Ray niced
    assert again.returncode == 0, again.stdout[-2000:] + again.stderr[-2000:]
    assert again.stdout.strip().splitlines()[-1].startswith("| seed-1 | ok | 60 |")
    for m in metrics:  # no row lost, none repeated
        assert [int(r["iteration"]) for r in _rows(m)] == list(range(1, 61))
    _intact(sandbox)
