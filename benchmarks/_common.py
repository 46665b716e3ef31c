"""Shared benchmark helpers: where results go, timing, machine description, results tables.

The one rule for where a benchmark writes (``results_dir``): a full run writes the committed
tables in ``benchmarks/results/``; a ``--quick`` (smoke) run writes ``benchmarks/results/quick/``,
which git ignores, and never overwrites a committed table.
"""

from __future__ import annotations

import contextlib
import csv
import os
import platform
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from rbc_env import tables

RESULTS = Path(__file__).resolve().parent / "results"
"""The committed results folder: full runs only."""
QUICK_RESULTS = RESULTS / "quick"
"""Where ``--quick`` runs write (git-ignored)."""


def results_dir(*, quick: bool, out: str | Path | None = None) -> Path:
    """The folder a benchmark writes to, created if missing.

    Args:
        quick: whether this is a ``--quick`` (smoke) run.
        out: an explicit folder (``--out``); None for the default.

    Returns:
        ``out`` if given, else ``RESULTS`` for a full run and ``QUICK_RESULTS`` for a quick one.

    Raises:
        ValueError: if a quick run's ``out`` is the committed results folder or a folder in it
            other than ``QUICK_RESULTS``.
    """
    if out is None:
        folder = QUICK_RESULTS if quick else RESULTS
    else:
        folder = Path(out).resolve()
        if quick and folder.is_relative_to(RESULTS) and not folder.is_relative_to(QUICK_RESULTS):
            raise ValueError(
                f"--quick results never go to the committed {RESULTS}; got --out {out} "
                f"(omit --out to write to {QUICK_RESULTS})"
            )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def best_time(
    fn: Callable[[], Any], *, repeats: int = 3, number: int = 1, sync: str = "cpu"
) -> float:
    """Best wall time in seconds of ``number`` calls of ``fn`` over ``repeats`` runs (1 warm-up)."""
    fn()
    _sync(sync)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        _sync(sync)
        best = min(best, (time.perf_counter() - start) / number)
    return best


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


# Instruction-set flags of /proc/cpuinfo, best first, and how they are written.
_ISA_FLAGS = (("avx512f", "AVX-512"), ("avx2", "AVX2"), ("sse4_2", "SSE4.2"))


def cpu_description(cpuinfo: str | None = None) -> str:
    """The CPU model and its best vector instruction set, e.g. ``"AMD EPYC 7B13 (AVX2)"``.

    Args:
        cpuinfo: the text of ``/proc/cpuinfo``; None reads it (where it is missing, the model
            is ``platform.processor()`` and the instruction set is left out).

    Returns:
        The model name, with the best of AVX-512 (``avx512f``), AVX2 and SSE4.2 in brackets.
    """
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    model = platform.processor() or platform.machine()
    flags: set[str] = set()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name" and value.strip():
            model = value.strip()
        elif key.strip() == "flags" and not flags:
            flags = set(value.split())
    isa = next((name for flag, name in _ISA_FLAGS if flag in flags), None)
    return f"{model} ({isa})" if isa else model


def machine(device: str) -> str:
    """One line naming the machine, device and versions the numbers were measured on.

    It names the CPU model and instruction set, the instruction set torch's CPU kernels use
    (``torch.backends.cpu.get_cpu_capability()``), the torch and Python versions, and the device:
    the things bit-identical results depend on, besides the seed.
    """
    dev = device
    if device.startswith("cuda") and torch.cuda.is_available():
        dev = f"{device} ({torch.cuda.get_device_name(0)})"
    return (
        f"{cpu_description()}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"(CPU kernels {torch.backends.cpu.get_cpu_capability()}, "
        f"{torch.get_num_threads()} threads), device {dev}, python {platform.python_version()}"
    )


@dataclass(frozen=True)
class Peaks:
    """What this machine's device sustains, measured here (the roofline's two ceilings).

    Attributes:
        bandwidth: bytes/s of memory traffic: the best copy of a large float32 tensor, its read
            and its write both counted.
        flops: FLOP/s of the best large fp32 matrix product (2 n³ FLOP per n x n product).
    """

    bandwidth: float
    flops: float

    def describe(self) -> str:
        """One line for a table header."""
        return (
            f"Measured ceilings of this device: memory {self.bandwidth / 1e9:.3g} GB/s (best copy "
            f"of a large tensor, read + write), fp32 matmul {self.flops / 1e9:.3g} GFLOP/s."
        )


def measure_peaks(device: str) -> Peaks:
    """Measure ``Peaks`` on ``device``: a 256 MiB copy and a 2048² matmul.

    The copy is far larger than any CPU cache, so it times main memory; best of 5 after a
    warm-up. On a GPU the copy is 1 GiB and the product 8192² (a smaller one leaves it idle).
    Quick runs measure the same: both take well under a second.
    """
    gpu = device.startswith("cuda")
    src = torch.rand((256 if gpu else 64) * 2**20, device=device)
    dst = torch.empty_like(src)
    copy_s = best_time(lambda: dst.copy_(src), repeats=5, sync=device)
    n = 8192 if gpu else 2048
    a = torch.rand(n, n, device=device)
    b = torch.rand(n, n, device=device)
    out = torch.empty(n, n, device=device)
    mm_s = best_time(lambda: torch.mm(a, b, out=out), repeats=5, sync=device)
    return Peaks(bandwidth=2 * src.nbytes / copy_s, flops=2 * n**3 / mm_s)


def fmt(x: Any) -> str:
    """Format numbers compactly for tables."""
    if isinstance(x, float):
        if x == 0 or 1e-2 <= abs(x) < 1e5:
            return f"{x:.3g}" if abs(x) < 100 else f"{x:,.0f}"
        return f"{x:.3g}"
    if isinstance(x, int):
        return f"{x:,}"
    return str(x)


def markdown_table(rows: Sequence[dict[str, Any]]) -> str:
    """Rows (dicts with the same keys) as a Markdown table."""
    keys = list(rows[0])
    return tables.markdown_table(keys, [[fmt(r[k]) for k in keys] for r in rows])


def write_results(name: str, rows: Sequence[dict[str, Any]], header: str, *, quick: bool) -> str:
    """Write <name>.csv and <name>.md to ``results_dir(quick=quick)``; return the Markdown text."""
    folder = results_dir(quick=quick)
    with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    text = f"{header}\n\n{markdown_table(rows)}\n"
    (folder / f"{name}.md").write_text(text, encoding="utf-8")
    return text


def seed_comparison(
    argv: list[str] | None,
    description: str,
    name: str,
    run: Callable[[Any, int, int | None], dict[str, Any]],
    variants: Sequence[Any],
    header: str,
) -> int:
    """The ``main`` of a benchmark that trains each variant on the same seeds (``cpu_small``).

    Parses ``--quick`` (3 iterations a run, written to ``QUICK_RESULTS``) and ``--seeds``
    (default 0 1), starts a private Ray, calls ``run(variant, seed, iterations)`` for every seed
    and variant (``iterations`` None: the preset's), writes ``<name>.{csv,md}`` with ``header``
    and prints the table last.
    """
    import argparse

    from rbc_env.perf import keep_freed_memory
    from trainers.lifecycle import start_ray, stop_ray

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--quick", action="store_true", help="3 iterations per run; writes results/quick/"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args(argv)
    keep_freed_memory()
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    start_ray()  # private: loopback only, token authentication on
    try:
        rows = [run(v, seed, 3 if args.quick else None) for seed in args.seeds for v in variants]
    finally:
        stop_ray()
    text = write_results(name, rows, header, quick=args.quick)
    print(f"Table written to {results_dir(quick=args.quick) / name}.{{csv,md}}\n")
    print(text)
    return 0


@contextlib.contextmanager
def trained_cpu_small(
    overrides: dict[str, Any], iterations: int | None
) -> Iterator[tuple[Any, Any, list[dict[str, float]]]]:
    """Train the ``cpu_small`` preset with ``overrides`` (and ``iterations``, if given).

    Yields ``(config, policy, rows)``: the run's ``TrainConfig``, a ``CheckpointPolicy`` of the
    learner's final weights (in memory), and the flattened result of every iteration. The
    algorithm is stopped on leaving the ``with`` block.
    """
    from trainers.config import TrainConfig
    from trainers.policies import CheckpointPolicy
    from trainers.rllib import build_config
    from trainers.run import flatten

    tc = TrainConfig.cpu_small().override(overrides)
    if iterations is not None:
        tc = tc.override({"iterations": iterations})
    algo = build_config(tc).build_algo()
    try:
        rows = [flatten(algo.train()) for _ in range(tc.iterations)]
        algo.sync_rollout_module()  # the learner's final weights (rollouts lag one update)
        modules = {t: algo.rollout_module[t] for t in algo.rollout_module.keys()}
        yield tc, CheckpointPolicy(modules, tc, Path("(in memory)")), rows
    finally:
        algo.stop()


@contextlib.contextmanager
def local_cluster(nodes: int, cpus_per_node: int) -> Iterator[str]:
    """A Ray cluster of ``nodes`` nodes on this machine, on 127.0.0.1; yields its address.

    Each node is a ``ray start --block`` process in its own process group, with token
    authentication (``RAY_AUTH_MODE=token`` must be set before ray is imported) and a
    temporary folder this function creates (so the cluster's address
    file does not land in Ray's default ``/tmp/ray``); on leaving the block the driver
    disconnects, each node's process group is stopped and the folder is removed. Ray's GCS,
    raylets and workers are separate processes per node, so actors on two nodes talk through
    the network stack as on a real cluster, only over loopback.
    """
    import shutil
    import signal
    import socket
    import subprocess
    import sys
    import tempfile

    from trainers.lifecycle import start_ray, stop_ray

    if os.environ.get("RAY_AUTH_MODE") != "token":
        raise RuntimeError(
            "local_cluster: set RAY_AUTH_MODE=token before ray is imported (Ray reads it once; "
            "the nodes run with token authentication)"
        )
    ray_cli = str(Path(sys.executable).with_name("ray"))
    env = dict(os.environ, RAY_AUTH_MODE="token", RAY_USAGE_STATS_ENABLED="0")
    env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)  # a private Ray's "0" refuses nodes
    with socket.socket() as probe:  # a free port for the head's GCS
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    temp = tempfile.mkdtemp(prefix="rbc-ray-", dir="/tmp")  # short: Ray's socket paths
    subprocess.run([ray_cli, "get-auth-token", "--generate"], env=env, capture_output=True)
    common = [f"--num-cpus={cpus_per_node}", "--node-ip-address=127.0.0.1", "--block"]
    started: list[subprocess.Popen[bytes]] = []

    def node(args: list[str]) -> None:
        started.append(
            subprocess.Popen(
                [ray_cli, "start", *args, *common],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )

    try:
        node(["--head", f"--port={port}", f"--temp-dir={temp}", "--include-dashboard=false"])
        deadline = time.monotonic() + 60
        while True:  # the head's GCS answers after a few seconds
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or started[0].poll() is not None:
                    raise RuntimeError("local_cluster: the head did not start in 60 s") from None
                time.sleep(0.5)
        for _ in range(nodes - 1):
            node([f"--address={address}"])
        import ray
        import ray._private.ray_constants as ray_constants

        # ray.init turns a 127.0.0.1 address into the machine's network address unless Ray
        # runs as a single machine (as trainers.lifecycle's private Ray does); the nodes
        # listen on loopback only, so the driver must keep 127.0.0.1.
        ray_constants.ENABLE_RAY_CLUSTER = False
        start_ray(address)

        while sum(n["Alive"] for n in ray.nodes()) < nodes:
            if time.monotonic() > deadline:
                raise RuntimeError(f"local_cluster: {nodes} nodes did not join within 60 s")
            time.sleep(0.5)
        yield address
    finally:
        stop_ray()
        for proc in reversed(started):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(started):
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        shutil.rmtree(temp, ignore_errors=True)
