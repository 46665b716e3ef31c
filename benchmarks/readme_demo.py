"""Keep README.md's demo table equal to the table that `make demo` prints.

How to run:
    make demo          # trains the demo, then says whether README.md's table matches this run
    make readme-demo   # trains the demo, then writes its table into README.md
    .venv/bin/python benchmarks/readme_demo.py --check runs/demo/summary.md
    .venv/bin/python benchmarks/readme_demo.py --write runs/demo/summary.md

`make demo` runs ``python -m trainers train --config cpu_small --name demo --overwrite``, which
prints its summary table last and writes the same table to ``runs/demo/summary.md``. README.md
shows that table in a code fence between the lines ``<!-- demo-table:start -->`` and
``<!-- demo-table:end -->``. ``--check SUMMARY_MD`` compares the two: it exits 0 when they are
equal and 1, with a unified diff, when they differ. ``--write SUMMARY_MD`` replaces the fenced
block with the summary's table. The demo's numbers are bit-identical only on the same machine
and build (CPU model and instruction set, torch version), so a README table written elsewhere
may differ in the last digits; `make readme-demo` updates it.

Results to expect: one line, ``README table matches this run``, or the diff and
``README table differs from this run (...)``; ``--write`` prints the README's path.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
START = "<!-- demo-table:start -->"
END = "<!-- demo-table:end -->"
FENCE = "```"
MATCH = "README table matches this run"
DIFFER = (
    "README table differs from this run (numbers are bit-identical only on the same machine and "
    "build); `make readme-demo` updates it"
)


def fenced(table: str) -> str:
    """The README block of a summary table: the table in a plain code fence."""
    return f"{FENCE}\n{table.strip()}\n{FENCE}"


def _span(text: str) -> tuple[int, int]:
    """Character offsets of the block between the markers (the lines after START, before END).

    Raises:
        ValueError: if either marker is missing, repeated, or END comes before START.
    """
    for marker in (START, END):
        if text.count(marker) != 1:
            raise ValueError(
                f"README must hold the line {marker!r} exactly once; found it {text.count(marker)} "
                "times"
            )
    begin = text.index(START) + len(START)
    end = text.index(END)
    if end < begin:
        raise ValueError(f"{END!r} must come after {START!r} in the README")
    return begin, end


def readme_table(text: str) -> str:
    """The table inside the README's fenced demo block (without the fence lines).

    Raises:
        ValueError: if the markers are missing or the block is not one ``` fence.
    """
    begin, end = _span(text)
    block = text[begin:end].strip()
    lines = block.splitlines()
    if len(lines) < 2 or lines[0] != FENCE or lines[-1] != FENCE:
        raise ValueError(f"the README block between the markers must be one {FENCE} fence")
    return "\n".join(lines[1:-1])


def replace_table(text: str, table: str) -> str:
    """``text`` with the fenced block between the markers replaced by ``table``."""
    begin, end = _span(text)
    return f"{text[:begin]}\n{fenced(table)}\n{text[end:]}"


def diff(readme_text: str, table: str) -> str:
    """A unified diff from the README's table to ``table`` (empty when they are equal)."""
    lines = difflib.unified_diff(
        readme_table(readme_text).splitlines(),
        table.strip().splitlines(),
        fromfile="README.md (demo table)",
        tofile="this run (summary.md)",
        lineterm="",
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Check or write README.md's demo table; see the module docstring for exit codes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", metavar="SUMMARY_MD", help="compare README's table with it")
    mode.add_argument("--write", metavar="SUMMARY_MD", help="write its table into README")
    parser.add_argument("--readme", default=str(README), help="the README (default README.md)")
    parser.add_argument("--no-diff", action="store_true", help="--check: no diff, one line only")
    args = parser.parse_args(argv)
    summary = Path(args.check or args.write)
    readme = Path(args.readme)
    try:
        table = summary.read_text(encoding="utf-8").strip()
        text = readme.read_text(encoding="utf-8")
        if not table:
            raise ValueError(f"{summary} is empty")
        if args.write:
            readme_table(text)  # the block to replace is one fence between the markers
            new = replace_table(text, table)
            if new != text:
                readme.write_text(new, encoding="utf-8")
            print(f"{readme}: demo table {'updated' if new != text else 'unchanged'}")
            return 0
        delta = diff(text, table)
    except (OSError, ValueError) as err:
        print(f"readme_demo: {err}", file=sys.stderr)
        return 2
    if not delta:
        print(MATCH)
        return 0
    if not args.no_diff:
        print(delta)
    print(DIFFER)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
