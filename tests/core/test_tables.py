"""The package's one Markdown table writer."""

from __future__ import annotations

import pytest

from rbc_env.tables import markdown_table


def test_rule_follows_the_alignment_and_cells_stay_as_given() -> None:
    text = markdown_table(["a", "b", "c"], [["x", "1.5", "|"], ["yy", "22", ""]], align="lrl")
    assert text.splitlines() == [
        "| a | b | c |",
        "|---|---:|---|",
        "| x | 1.5 | | |",
        "| yy | 22 |  |",
    ]
    assert markdown_table(["a"], []) == "| a |\n|---|"


def test_padded_columns_line_up() -> None:
    lines = markdown_table(["name", "n"], [["a", "1000"], ["bcdef", "2"]], align="lr", pad=True)
    assert len({len(line) for line in lines.splitlines()}) == 1
    assert lines.splitlines()[1] == "| ----- | ---: |"


def test_bad_rows_and_alignments_are_named() -> None:
    with pytest.raises(ValueError, match="row 1 has 1 cells; the header has 2"):
        markdown_table(["a", "b"], [["1", "2"], ["3"]])
    with pytest.raises(ValueError, match=r"align must give 'l' or 'r' for each of the 2 columns"):
        markdown_table(["a", "b"], [], align="lc")
