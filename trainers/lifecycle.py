"""Process life of a command: a private local Ray, cluster connections, graceful stops.

- ``start_ray(None)`` starts a local Ray whose every listener binds to 127.0.0.1, with Ray's
  token authentication left on (its default). Ray 2.60 binds its gRPC servers (GCS, raylet,
  workers, the driver) to all interfaces unless its node address is the loopback one; it
  resolves ``127.0.0.1`` to the machine's external address unless cluster mode is off
  (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``, Ray's switch for single-machine Ray on macOS and
  Windows), so that switch is set before Ray starts. ``tests/trainers/test_safety.py`` checks
  the listeners of a real ``train`` with ``ss``.
- ``start_ray("HOST:PORT")`` connects to a running cluster: the address is checked for form,
  then for a TCP answer within ``CONNECT_TIMEOUT_S``, then ``ray.init`` must finish within
  ``INIT_TIMEOUT_S``; each failure is a ``RayStartError`` (exit status 2), never a hang.
- ``GracefulStop`` turns SIGINT and SIGTERM into a flag that the training loop polls after
  each iteration: the loop saves a checkpoint and returns, the command writes its summary,
  shuts Ray down and exits 130 (SIGINT) or 143 (SIGTERM). A second signal stops at once.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sys
import threading
from types import FrameType, TracebackType
from typing import Any

LOOPBACK = "127.0.0.1"
CONNECT_TIMEOUT_S = 5.0
INIT_TIMEOUT_S = 30.0
_ADDRESS = re.compile(
    r"^(?P<host>[A-Za-z0-9](?:[A-Za-z0-9.-]{0,252}[A-Za-z0-9])?):(?P<port>\d{1,5})$"
)


class RayStartError(RuntimeError):
    """Ray could not be started or reached (the CLI prints it and exits 2)."""


def check_address(address: str) -> tuple[str, int]:
    """(host, port) of ``--address HOST:PORT``, or ``ValueError`` naming the expected form."""
    match = _ADDRESS.match(address)
    port = int(match["port"]) if match else 0
    if match is None or not 1 <= port <= 65535:
        raise ValueError(
            f"--address must be HOST:PORT of a running Ray head (port 1-65535, e.g. "
            f"10.0.0.5:6379); got {address!r}"
        )
    return match["host"], port


def _private_mode() -> None:
    """Make Ray treat this machine as a single-node, loopback-only Ray (before it starts)."""
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    if "ray._private.ray_constants" in sys.modules:  # imported already: the flag is read late
        sys.modules["ray._private.ray_constants"].ENABLE_RAY_CLUSTER = False


def start_ray(address: str | None = None, *, num_cpus: int | None = None) -> None:
    """Start a private local Ray (``address`` None) or connect to the cluster at ``address``.

    The private Ray is this process's own, on 127.0.0.1, whatever ``RAY_ADDRESS`` or an
    earlier ``ray start`` on this machine names. Does nothing if Ray is already initialized
    in this process.

    Raises:
        ValueError: for a malformed address.
        RayStartError: when the cluster does not answer or ``ray.init`` does not finish in time.
    """
    if address is None:
        _private_mode()
        import ray

        if not ray.is_initialized():
            ray.init(
                # "local": a new Ray of its own. Without an address, ray.init joins the cluster
                # named by RAY_ADDRESS or by the last `ray start` on this machine (its address
                # file outlives the cluster: a stale one made ray.init wait for minutes).
                address="local",
                include_dashboard=False,
                log_to_driver=False,
                num_cpus=num_cpus,
                _node_ip_address=LOOPBACK,
            )
        return
    host, port = check_address(address)
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as err:
        raise RayStartError(
            f"--address {address}: no Ray head answers there within {CONNECT_TIMEOUT_S:.0f} s "
            f"({err.strerror or err}); start one with `ray start --head --port={port}`"
        ) from err
    import ray

    if ray.is_initialized():
        return
    failure: list[BaseException] = []

    def connect() -> None:
        try:
            ray.init(address=address, log_to_driver=False)
        except BaseException as err:  # noqa: BLE001 - handed to the main thread
            failure.append(err)

    thread = threading.Thread(target=connect, daemon=True, name="ray-connect")
    thread.start()
    thread.join(INIT_TIMEOUT_S)
    if thread.is_alive():
        raise RayStartError(
            f"--address {address}: something answers there, but Ray did not connect within "
            f"{INIT_TIMEOUT_S:.0f} s (is it a Ray head's GCS port, with the same auth token?)"
        )
    if failure:
        raise RayStartError(f"--address {address}: {type(failure[0]).__name__}: {failure[0]}")


def stop_ray() -> None:
    """Shut Ray down if it runs in this process (idempotent)."""
    if "ray" in sys.modules:
        import ray

        if ray.is_initialized():
            ray.shutdown()


EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}


class GracefulStop:
    """Context manager: SIGINT/SIGTERM set ``requested``; a second one raises at once.

    ``exit_code`` is 130 after SIGINT, 143 after SIGTERM, else None.
    """

    def __init__(self) -> None:
        self.signal: signal.Signals | None = None
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        """Whether a stop was requested."""
        return self.signal is not None

    @property
    def exit_code(self) -> int | None:
        """The conventional exit status for the signal received (128 + its number)."""
        return EXIT_CODES[self.signal] if self.signal is not None else None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signal is not None:  # the second signal: stop now
            raise KeyboardInterrupt
        self.signal = signal.Signals(signum)
        print(
            f"\n{self.signal.name} received: finishing this iteration, then saving a checkpoint "
            "(send it again to stop at once)",
            file=sys.stderr,
        )

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            for sig in EXIT_CODES:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
