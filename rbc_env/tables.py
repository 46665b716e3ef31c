"""The one Markdown table writer of the package (CLI summaries, run folders, benchmarks).

Callers format their own cells (units and precision belong to the quantity); this module lays
them out: a header, the alignment rule (``---`` left, ``---:`` right) and one line per row,
optionally padded to aligned columns for reading in a terminal.

Example:
    >>> print(markdown_table(["x", "y"], [["a", "1"], ["bb", "22"]], align="lr", pad=True))
    | x   |    y |
    | --- | ---: |
    | a   |    1 |
    | bb  |   22 |
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["markdown_table"]


def markdown_table(
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    *,
    align: str | Sequence[str] | None = None,
    pad: bool = False,
) -> str:
    """A GitHub-flavoured Markdown table.

    Args:
        header: column titles.
        rows: cells, already formatted, one sequence per row (as long as ``header``).
        align: one ``"l"`` or ``"r"`` per column (a string such as ``"llr"`` works); ``None``
            aligns every column left.
        pad: pad every cell to its column's width (right-aligned columns on the left).

    Returns:
        The table, lines joined by newlines, no trailing newline.

    Raises:
        ValueError: naming the row whose length differs from the header's, or a bad ``align``.
    """
    n = len(header)
    aligns = list(align) if align is not None else ["l"] * n
    if len(aligns) != n or any(a not in ("l", "r") for a in aligns):
        raise ValueError(f"align must give 'l' or 'r' for each of the {n} columns; got {align!r}")
    body = [[str(c) for c in row] for row in rows]
    for i, row in enumerate(body):
        if len(row) != n:
            raise ValueError(f"row {i} has {len(row)} cells; the header has {n}")
    head = [str(h) for h in header]
    if not pad:
        rule = "|" + "|".join("---:" if a == "r" else "---" for a in aligns) + "|"
        return "\n".join(
            ["| " + " | ".join(head) + " |", rule] + ["| " + " | ".join(row) + " |" for row in body]
        )
    rule = ["---:" if a == "r" else "---" for a in aligns]
    widths = [max(len(r[k]) for r in [head, rule, *body]) for k in range(n)]
    rule = [r[:-1].ljust(w - 1, "-") + r[-1] for r, w in zip(rule, widths, strict=True)]
    padded = [
        [
            c.rjust(w) if a == "r" else c.ljust(w)
            for c, w, a in zip(row, widths, aligns, strict=True)
        ]
        for row in [head, *body]
    ]
    return "\n".join("| " + " | ".join(row) + " |" for row in [padded[0], rule, *padded[1:]])
