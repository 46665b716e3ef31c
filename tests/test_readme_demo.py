"""benchmarks/readme_demo.py: --check compares README's demo table; --write sets it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import readme_demo  # noqa: E402

TABLE = """| type | quantity | iteration 1 | last 6 (to 60) |
|---|---|---:|---:|
| consumer | reward / step | 7.564 | 0.7221 |
| firm | price | 1,000 | 2,239 |"""

README = f"""# project

Intro text.

{readme_demo.START}
```
{TABLE}
```
{readme_demo.END}

More text.
"""


def _files(tmp_path: Path, table: str) -> tuple[Path, Path]:
    readme = tmp_path / "README.md"
    readme.write_text(README, encoding="utf-8")
    summary = tmp_path / "summary.md"
    summary.write_text(table + "\n", encoding="utf-8")
    return readme, summary


def test_check_passes_on_the_same_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """Equal tables: exit 0 and the 'matches' line."""
    readme, summary = _files(tmp_path, TABLE)
    assert readme_demo.main(["--check", str(summary), "--readme", str(readme)]) == 0
    assert capsys.readouterr().out.strip() == readme_demo.MATCH


def test_check_fails_with_a_diff(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """One changed number: exit 1, a unified diff naming both lines, the 'differs' line last."""
    readme, summary = _files(tmp_path, TABLE.replace("2,239", "2,240"))
    assert readme_demo.main(["--check", str(summary), "--readme", str(readme)]) == 1
    out = capsys.readouterr().out.strip().splitlines()
    assert "-| firm | price | 1,000 | 2,239 |" in out
    assert "+| firm | price | 1,000 | 2,240 |" in out
    assert out[-1] == readme_demo.DIFFER
    assert readme.read_text(encoding="utf-8") == README  # --check never writes
    args = ["--check", str(summary), "--readme", str(readme), "--no-diff"]
    assert readme_demo.main(args) == 1
    assert capsys.readouterr().out.strip() == readme_demo.DIFFER


def test_write_replaces_only_the_block(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """--write puts the new table in the fence, keeps the rest, and a second write is a no-op."""
    new_table = TABLE.replace("0.7221", "0.9")
    readme, summary = _files(tmp_path, new_table)
    assert readme_demo.main(["--write", str(summary), "--readme", str(readme)]) == 0
    written = readme.read_text(encoding="utf-8")
    assert written == README.replace("0.7221", "0.9")
    assert readme_demo.main(["--check", str(summary), "--readme", str(readme)]) == 0
    assert readme_demo.main(["--write", str(summary), "--readme", str(readme)]) == 0
    assert readme.read_text(encoding="utf-8") == written
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith("demo table unchanged")


@pytest.mark.parametrize(
    "text",
    [
        "no markers at all\n",
        README.replace(readme_demo.END, ""),
        README + readme_demo.START + "\n",
        README.replace("```\n" + readme_demo.END, readme_demo.END),
    ],
)
def test_bad_readme_exits_2(tmp_path: Path, text: str) -> None:
    """Missing or repeated markers, or a block that is not one fence: exit 2, nothing written."""
    readme, summary = _files(tmp_path, TABLE)
    readme.write_text(text, encoding="utf-8")
    for mode in ("--check", "--write"):
        assert readme_demo.main([mode, str(summary), "--readme", str(readme)]) == 2
    assert readme.read_text(encoding="utf-8") == text


def test_the_repository_readme_has_one_demo_block() -> None:
    """README.md carries the markers and a fenced table that starts with the summary's header."""
    table = readme_demo.readme_table(readme_demo.README.read_text(encoding="utf-8"))
    assert table.startswith("| type | quantity | iteration 1 |")
