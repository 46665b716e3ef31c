"""Opt-in process settings that make large batched runs faster on the CPU.

Nothing here runs on import. Entry points that run big batches (benchmarks, the trainer CLI) call
``keep_freed_memory`` once at start-up; the trainer's learner actors follow the driver
(``freed_memory_kept``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

logger = logging.getLogger(__name__)

# mallopt(3) parameter numbers from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4

_kept = False  # keep_freed_memory() applied in this process


def keep_freed_memory() -> bool:
    """Make glibc keep freed memory for reuse instead of returning it to the OS.

    Each step of a large batch allocates tensors of tens of MB. glibc serves blocks above 32 MB
    (its largest mmap threshold) with fresh ``mmap`` calls and unmaps them on free, so every step
    pays a page fault per 4 KiB touched: measured here, a fresh 92 MB observation buffer cost 31 ms
    to fill against 3-5 ms for reused memory, and a B = 4096 step ran about 2x faster with this
    setting. It sets ``M_MMAP_MAX = 0`` (serve all blocks from the heap) and a high trim threshold.
    Process-wide; a no-op where glibc is absent.

    Returns:
        True if both settings were applied.
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, 2**31 - 1))
    logger.debug("keep_freed_memory applied: %s", ok)
    global _kept
    _kept = _kept or ok
    return ok


def freed_memory_kept() -> bool:
    """Whether ``keep_freed_memory`` has been applied in this process.

    The trainer passes it on to the processes it starts (learner actors), which apply it too.
    """
    return _kept
