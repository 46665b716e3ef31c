"""Tests of rbc_env.simulate, the shipped configs and the docs' parameter table."""

from __future__ import annotations

import csv
import dataclasses
import math
import typing
from pathlib import Path

import pytest
import torch

from rbc_env import BatchedEconomy, RBCConfig
from rbc_env.core.actions import validate_actions
from rbc_env.simulate import METRICS, HeuristicPolicy, format_table, main, simulate
from trainers.config import TrainConfig

ROOT = Path(__file__).resolve().parents[1]


def _run_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    out = tmp_path / "sim"
    threads = torch.get_num_threads()
    rc = main(
        ["--episodes", "2", "--batch", "3", "--seed", "7", "--out", str(out), "--no-progress"]
    )
    assert rc == 0
    assert torch.get_num_threads() == threads  # --threads does not leak out of main()
    return out, capsys.readouterr().out


def test_main_writes_files_with_finite_numbers(tmp_path, capsys):
    """main() writes every output; the CSV has both variants and finite metrics."""
    out, _ = _run_main(tmp_path, capsys)
    for name in (
        "summary.csv",
        "summary.md",
        "trajectories.csv",
        "simulate.png",
        "config_open.yaml",
        "config_closed.yaml",
    ):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    assert (out / "simulate.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(out / "summary.csv", newline="") as fh:
        rows = {row["variant"]: row for row in csv.DictReader(fh)}
    assert set(rows) == {"open", "closed"}
    for row in rows.values():
        assert (row["episodes"], row["batch"], row["seed"]) == ("2", "3", "7")
        for m in METRICS:
            assert math.isfinite(float(row[m.name])), (row["variant"], m.name)
    assert float(rows["closed"]["exports"]) == 0.0
    assert float(rows["open"]["exports"]) > 0.0
    assert RBCConfig.load(out / "config_closed.yaml") == RBCConfig.paper("closed")
    with open(out / "trajectories.csv", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 2 * RBCConfig.paper().horizon


def test_main_prints_the_table_last(tmp_path, capsys):
    """The summary table is the last thing main() prints, and summary.md holds the same table."""
    out, printed = _run_main(tmp_path, capsys)
    table = [line for line in (out / "summary.md").read_text().splitlines() if line.startswith("|")]
    assert len(table) == 2 + sum(m.in_table for m in METRICS)
    assert printed.rstrip("\n").splitlines()[-len(table) :] == table
    assert [c.strip() for c in table[0].strip("|").split("|")][-2:] == ["open", "closed"]


def test_simulation_is_deterministic_given_the_seed():
    """Same seed: identical trajectories; another seed: different tie-breaks, other outcomes."""
    a = simulate(["open"], episodes=2, batch_size=2, seed=3)[0].trajectories
    b = simulate(["open"], episodes=2, batch_size=2, seed=3)[0].trajectories
    c = simulate(["open"], episodes=2, batch_size=2, seed=4)[0].trajectories
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    assert not torch.equal(a["production"], c["production"])


def test_heuristic_actions_follow_the_documented_rule():
    """Consumers buy the n cheapest affordable goods and work at the best-paying firm."""
    config = RBCConfig.paper("open")
    econ = BatchedEconomy(config, batch_size=2, seed=0)
    econ.reset()
    price = econ.state.price.clone()
    price[:, 4] = 500.0  # cheapest
    price[:, 7] = 2500.0  # too dear for a consumer with 2000 in cash
    wage = econ.state.wage.clone()
    wage[:, 6] = 33.0
    state = econ.state.replace(price=price, wage=wage)
    policy = HeuristicPolicy(units=2.0, n_goods=10, hours=780.0)
    actions = policy.act(config, state, econ.generator)
    validate_actions(config, actions, 2)
    units = actions["consumer"][..., : config.n_firms]
    assert (units[..., 7] == 0).all()  # unaffordable
    assert (units.sum(-1) == 2 * 9).all()
    assert (actions["consumer"][..., -2] == 3).all()  # 780 hours = index 3
    assert (actions["consumer"][..., -1] == 6).all()  # highest wage
    chosen = HeuristicPolicy(n_goods=1).act(config, state, econ.generator)["consumer"]
    assert (chosen[..., 4] == 1).all() and (chosen[..., : config.n_firms].sum(-1) == 1).all()
    assert (actions["firm"][..., 0] == 2).all() and (actions["firm"][..., 1] == 2).all()
    assert (actions["government"] == 1).all()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"hours": 300.0}, "hours"), ({"price": 999.0}, "price"), ({"n_goods": 11}, "n_goods")],
)
def test_bad_policy_settings_raise(kwargs, field):
    """A policy setting off its grid or out of range raises ValueError naming it."""
    config = RBCConfig.paper("open")
    econ = BatchedEconomy(config, batch_size=1, seed=0)
    with pytest.raises(ValueError, match=f"HeuristicPolicy.{field}"):
        HeuristicPolicy(**kwargs).act(config, econ.state, econ.generator)


def test_format_table_has_one_column_per_variant():
    """The table has the variants as columns, in the order given."""
    results = simulate(["closed", "open"], episodes=1, batch_size=1, seed=0)
    header = format_table(results).splitlines()[0]
    assert header.index("closed") < header.index("open")


@pytest.mark.parametrize("variant", ["open", "closed"])
def test_paper_configs_hold_the_paper_economy(variant):
    """configs/paper_*.yaml train the paper economy RBCConfig.paper(variant)."""
    config = TrainConfig.load(ROOT / "configs" / f"paper_{variant}.yaml")
    assert config.economy == RBCConfig.paper(variant)


def test_cpu_small_config_steps_under_the_heuristic():
    """configs/cpu_small.yaml holds a valid, smaller economy that steps."""
    config = TrainConfig.load(ROOT / "configs" / "cpu_small.yaml").economy
    assert config.n_consumers < 100
    econ = BatchedEconomy(config, batch_size=2, seed=0)
    econ.reset()
    out = econ.step(HeuristicPolicy().act(config, econ.state, econ.generator))
    assert torch.isfinite(out.rewards["consumer"]).all()


def _value(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(f"{v:g}" for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def parameter_table() -> str:
    """The parameter table of docs/model.md, built from the config's field metadata."""
    lines = [
        "| field | symbol | unit | paper value | allowed | meaning |",
        "|---|---|---|---|---|---|",
    ]

    def rows(cls: type, obj: object, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                continue
            meta = f.metadata
            allowed = meta.get("range")
            if typing.get_origin(hints[f.name]) is typing.Literal:
                allowed = ", ".join(typing.get_args(hints[f.name]))
            cells = [
                f"`{prefix}{f.name}`",
                meta.get("symbol") or "",
                meta.get("unit") or "",
                _value(value),
                str(allowed) if allowed is not None else "",
                meta.get("doc", ""),
            ]
            lines.append("| " + " | ".join(cells) + " |")
        for f in dataclasses.fields(cls):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                rows(type(value), value, f"{prefix}{f.name}.")

    rows(RBCConfig, RBCConfig.paper("open"), "")
    return "\n".join(lines)


def test_model_doc_parameter_table_matches_the_config():
    """docs/model.md's parameter table equals the one built from the config metadata."""
    expected = parameter_table()
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    assert expected in text, f"paste this table into docs/model.md:\n{expected}"


def test_main_rejects_bad_arguments(tmp_path, capsys):
    """A bad episode count exits with status 2 and names the argument; nothing is written."""
    with pytest.raises(SystemExit) as exc:
        main(["--episodes", "0", "--out", str(tmp_path / "sim"), "--no-progress"])
    assert exc.value.code == 2
    assert "episodes must be an integer in [1, inf)" in capsys.readouterr().err
    assert not (tmp_path / "sim").exists()
