"""Run folders this package owns: names, markers, locks and checkpoint manifests.

A run folder (``runs/<name>/``) is created by ``create_run_folder``, which writes a marker file
(``MARKER``). Only a folder with that marker, directly inside the runs folder, and not locked by
a live process, may be deleted (``remove_run_folder``): ``--overwrite`` never touches anything
the package did not create. A process that writes a run holds an exclusive lock on its
``LOCK`` file (``fcntl.flock``, released by the kernel when the process dies, however it dies).

A checkpoint is verified before anything in it is unpickled. ``write_manifest`` records the
SHA-256 of every file the save wrote, plus the run's config as plain JSON, in ``MANIFEST``;
``verify_checkpoint`` recomputes them and refuses a checkpoint with a missing, changed or extra
file. This detects corruption (a crash mid-write, a truncated copy, a flipped bit); it does not
protect against a forger, who can rewrite the manifest too: load only checkpoints you trust,
since RLlib checkpoints hold pickles, which run code when loaded.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

logger = logging.getLogger(__name__)

MARKER = ".rbc-marl-run"
LOCK = ".lock"
MANIFEST = "rbc_marl_manifest.json"
NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")
RunKind = Literal["train", "truth", "sweep"]
CHECKPOINT_PREFIX = "iter_"  # checkpoints/iter_NNNNNNN/ of a training run


class RunFolderError(ValueError):
    """A run folder that may not be created, written, resumed or deleted (exit status 2)."""


def check_name(name: str, option: str = "--name") -> str:
    """Return ``name`` if it is a plain folder name, else raise ``RunFolderError``.

    Allowed: 1-128 characters from letters, digits, ``_``, ``.`` and ``-``, starting with a
    letter or digit (so no ``/``, no ``.`` or ``..``, no hidden names).
    """
    if not NAME_PATTERN.match(name):
        raise RunFolderError(
            f"{option} must be a plain name (letters, digits, '_', '.', '-'; starting with a "
            f"letter or digit; no '/'); got {name!r}"
        )
    return name


def check_runs_dir(runs_dir: str | Path, option: str = "--runs-dir") -> Path:
    """The runs folder as a path; it may be missing but must not be a file."""
    path = Path(runs_dir)
    if path.exists() and not path.is_dir():
        raise RunFolderError(f"{option} must be a folder; {str(path)!r} is a file")
    return path


def is_run_folder(root: Path) -> bool:
    """Whether ``root`` is a real folder (not a link) carrying this package's marker."""
    return root.is_dir() and not root.is_symlink() and (root / MARKER).is_file()


def run_kind(root: Path) -> str | None:
    """The kind written in the marker (``train``, ``truth``, ``sweep``), or None."""
    if not is_run_folder(root):
        return None
    try:
        return str(json.loads((root / MARKER).read_text(encoding="utf-8")).get("kind"))
    except (OSError, ValueError, AttributeError):
        return None


def create_run_folder(runs_dir: Path, name: str, kind: RunKind) -> Path:
    """Create ``runs_dir/name`` with its marker; the folder must not exist yet."""
    check_name(name)
    check_runs_dir(runs_dir)
    root = runs_dir / name
    try:
        runs_dir.mkdir(parents=True, exist_ok=True)
        root.mkdir()
    except FileExistsError as err:
        raise RunFolderError(f"{root} already exists") from err
    except OSError as err:
        raise RunFolderError(f"cannot create {root}: {err.strerror}") from err
    marker = {"kind": kind, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "pid": os.getpid()}
    (root / MARKER).write_text(json.dumps(marker) + "\n", encoding="utf-8")
    return root


def remove_run_folder(runs_dir: Path, name: str) -> None:
    """Delete ``runs_dir/name`` if, and only if, this package created it and nobody writes it.

    Raises:
        RunFolderError: for a name that is not plain, a folder outside ``runs_dir``, a link, a
            folder without the marker, or a run locked by a live process. Nothing is deleted.
    """
    check_name(name)
    root = runs_dir / name
    if not root.exists() and not root.is_symlink():
        return
    if root.is_symlink() or not root.is_dir():
        raise RunFolderError(f"refusing to delete {root}: not a folder (a link or a file)")
    if root.resolve().parent != runs_dir.resolve():
        raise RunFolderError(f"refusing to delete {root}: not directly inside {runs_dir}")
    if not is_run_folder(root):
        raise RunFolderError(
            f"refusing to delete {root}: it has no {MARKER} marker, so this package did not "
            "create it; delete it yourself or pick another --name"
        )
    with RunLock(root, purpose="delete"):
        shutil.rmtree(root)


class RunLock:
    """An exclusive, non-blocking ``flock`` on ``root/LOCK`` (a context manager).

    The kernel releases the lock when the process exits, even on SIGKILL, so a stale lock file
    never blocks a later run.
    """

    def __init__(self, root: Path, purpose: str = "write") -> None:
        self.path = root / LOCK
        self.purpose = purpose
        self._fh: Any = None

    def acquire(self) -> RunLock:
        """Take the lock or raise ``RunFolderError`` naming the process that holds it."""
        fh = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as err:
            fh.seek(0)
            holder = fh.read().strip() or "another process"
            fh.close()
            raise RunFolderError(
                f"cannot {self.purpose} {self.path.parent}: it is in use by {holder}"
            ) from err
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        """Release the lock (idempotent)."""
        if self._fh is not None:
            try:
                fcntl.flock(self._fh, fcntl.LOCK_UN)
            finally:
                self._fh.close()
                self._fh = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def open_run_folder(
    runs_dir: str | Path, name: str, kind: RunKind, *, overwrite: bool, resume: bool
) -> tuple[Path, RunLock]:
    """The run folder to write, created or reopened, and the lock that guards it.

    - new name: the folder is created with its marker;
    - ``overwrite``: an existing run folder of this package is deleted first (see
      ``remove_run_folder``), then created anew;
    - ``resume``: the folder must exist and be a run folder of this kind;
    - otherwise an existing folder is an error.

    Raises:
        RunFolderError: naming the folder and what to do instead.
    """
    check_name(name)
    runs = check_runs_dir(runs_dir)
    root = runs / name
    if resume:
        if not root.exists():
            raise RunFolderError(f"cannot resume: there is no run {name!r} in {runs}")
        if not is_run_folder(root):
            raise RunFolderError(
                f"cannot resume {root}: it has no {MARKER} marker (not a run folder of this "
                "package)"
            )
        if run_kind(root) != kind:
            raise RunFolderError(f"cannot resume {root}: it is a {run_kind(root)} run, not {kind}")
        return root, RunLock(root).acquire()
    if root.exists() or root.is_symlink():
        if not overwrite:
            raise RunFolderError(
                f"{root} already exists; pass --resume to continue it, --overwrite to replace "
                "it, or pick another --name"
            )
        remove_run_folder(runs, name)
    root = create_run_folder(runs, name, kind)
    return root, RunLock(root).acquire()


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _files(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.rglob("*")):
        if path.is_file() or path.is_symlink():
            yield path


def write_manifest(folder: Path, config: dict[str, Any], *, iteration: int) -> Path:
    """Write ``folder/MANIFEST`` and return its path.

    It holds the SHA-256 of every file below ``folder``, the run's config and the training
    iteration the checkpoint holds.
    """
    files = {str(p.relative_to(folder)): _sha256(p) for p in _files(folder) if p.name != MANIFEST}
    manifest = {"format": 1, "iteration": iteration, "config": config, "files": files}
    tmp = folder / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, folder / MANIFEST)
    return folder / MANIFEST


def verify_checkpoint(folder: Path) -> dict[str, Any]:
    """The manifest of an intact checkpoint; reads no pickle.

    Raises:
        RunFolderError: if the manifest is missing or unreadable, a listed file is missing or
            differs from its SHA-256, or the folder holds a file (or link) the manifest does
            not list.
    """
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise RunFolderError(f"checkpoint {folder} has no readable {MANIFEST}: {err}") from err
    present = {str(p.relative_to(folder)): p for p in _files(folder) if p.name != MANIFEST}
    extra = sorted(set(present) - set(files))
    missing = sorted(set(files) - set(present))
    if extra or missing:
        raise RunFolderError(
            f"checkpoint {folder} does not match its manifest: "
            f"missing {missing[:3]}, unlisted {extra[:3]}"
        )
    for rel, digest in files.items():
        p = present[rel]
        if p.is_symlink() or _sha256(p) != digest:
            raise RunFolderError(f"checkpoint {folder} is damaged: {rel} differs from its SHA-256")
    return manifest


def warn(message: str) -> None:
    """One ``warning:`` line on stderr (the CLI's channel for things the user must see)."""
    print(f"warning: {message}", file=sys.stderr)


@dataclass(frozen=True)
class RunPaths:
    """Where a run keeps its files."""

    root: Path

    @property
    def config(self) -> Path:
        """The resolved config (YAML)."""
        return self.root / "config.yaml"

    @property
    def metrics(self) -> Path:
        """One CSV row per iteration."""
        return self.root / "metrics.csv"

    @property
    def checkpoints(self) -> Path:
        """Folder of checkpoints, one sub-folder per saved iteration."""
        return self.root / "checkpoints"

    @property
    def tensorboard(self) -> Path:
        """TensorBoard event files."""
        return self.root / "tensorboard"

    @property
    def plot(self) -> Path:
        """The training-curves figure."""
        return self.root / "plots" / "training.png"

    @property
    def summary(self) -> Path:
        """The final table (Markdown)."""
        return self.root / "summary.md"

    def checkpoints_newest_first(self) -> list[tuple[int, Path]]:
        """(iteration, path) of every saved checkpoint folder, newest first (unverified)."""
        if not self.checkpoints.is_dir():
            return []
        found = []
        for p in self.checkpoints.iterdir():
            if p.is_dir() and p.name.startswith(CHECKPOINT_PREFIX):
                suffix = p.name[len(CHECKPOINT_PREFIX) :]
                if suffix.isdigit():
                    found.append((int(suffix), p))
        return sorted(found, reverse=True)

    def latest_checkpoint(self) -> tuple[int, Path] | None:
        """(iteration, path) of the newest checkpoint folder, or None (unverified)."""
        found = self.checkpoints_newest_first()
        return found[0] if found else None

    def latest_intact_checkpoint(self) -> tuple[int, Path] | None:
        """(iteration, path) of the newest checkpoint that passes ``verify_checkpoint``.

        Each newer checkpoint that fails verification is skipped with a warning naming it and
        the reason; nothing is unpickled here.
        """
        for iteration, path in self.checkpoints_newest_first():
            try:
                verify_checkpoint(path)
            except RunFolderError as err:
                warn(f"skipping damaged checkpoint {path.name}: {err}")
                continue
            return iteration, path
        return None


def read_metrics(path: Path) -> list[dict[str, str]]:
    """All rows of a metrics.csv."""
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))
