"""Shared benchmark helpers: timing, machine description, results tables (CSV + Markdown)."""

from __future__ import annotations

import csv
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

RESULTS = Path(__file__).resolve().parent / "results"


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


def machine(device: str) -> str:
    """One line naming the machine, device and versions the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    dev = device
    if device.startswith("cuda") and torch.cuda.is_available():
        dev = f"{device} ({torch.cuda.get_device_name(0)})"
    return (
        f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), device {dev}, python {platform.python_version()}"
    )


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
    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(fmt(r[k]) for k in keys) + " |" for r in rows]
    return "\n".join(lines)


def write_results(name: str, rows: Sequence[dict[str, Any]], header: str) -> str:
    """Write results/<name>.csv and results/<name>.md; return the Markdown text."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    with open(RESULTS / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    text = f"{header}\n\n{markdown_table(rows)}\n"
    (RESULTS / f"{name}.md").write_text(text, encoding="utf-8")
    return text
