"""Command-line settings: every bad preset, file, key or value fails with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from rbc_env.config import load_yaml
from trainers.cli import main
from trainers.config import TrainConfig
from trainers.presets import growth_preset
from trainers.settings import resolve_config, settings_table


def _write(tmp_path: Path, text: str, name: str = "settings.yaml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _cli_error(argv: list[str], capsys: pytest.CaptureFixture) -> str:
    """Run the CLI expecting exit 2; return its one ``error:`` line (no traceback)."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


# ---- numbers in scientific notation ------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "value"),
    [("5e-4", 5e-4), ("1.5e3", 1500.0), ("-2E-1", -0.2), ("1e3", 1000), ("inf", float("inf"))],
)
def test_scientific_notation_is_a_number(text: str, value: float) -> None:
    parsed = load_yaml(text)
    assert parsed == value and not isinstance(parsed, str)
    assert isinstance(load_yaml("1e3"), int) and isinstance(load_yaml("5e-4"), float)
    assert load_yaml("'5e-4'") == "5e-4"  # quoted stays a string


def test_set_accepts_5e_minus_4() -> None:
    config = resolve_config("cpu_small", ["firm.lr=5e-4", "iterations=1e3"])
    assert config.firm.lr == 5e-4 and isinstance(config.firm.lr, float)
    assert config.iterations == 1000
    assert config.firm.reward_scale == TrainConfig.cpu_small().firm.reward_scale


def test_yaml_file_accepts_5e_minus_4(tmp_path: Path) -> None:
    path = _write(tmp_path, "base: cpu_small\nfirm:\n  lr: 5e-4\ngovernment: {lr: 1e-5}\n")
    config = resolve_config(path, [])
    assert config == TrainConfig.cpu_small().override({"firm.lr": 5e-4, "government.lr": 1e-5})


def test_a_string_is_still_not_a_number() -> None:
    with pytest.raises(ValueError, match=r"--set firm.lr=abc: PPOParams.lr must be a number"):
        resolve_config("cpu_small", ["firm.lr=abc"])
    with pytest.raises(
        ValueError, match=r"--set iterations=1.5e3: .*iterations must be an integer"
    ):
        resolve_config("cpu_small", ["iterations=1.5e3"])


# ---- YAML files: base + partial override, or complete --------------------------------------------
def test_file_extending_a_preset(tmp_path: Path) -> None:
    path = _write(tmp_path, "base: paper_closed\niterations: 7\neconomy:\n  n_firms: 3\n")
    config = resolve_config(path, ["seed=4"])
    expected = TrainConfig.paper("closed").override({"iterations": 7, "economy.n_firms": 3})
    assert config == expected.override({"seed": 4})


def test_growth_file_extending_a_preset(tmp_path: Path) -> None:
    path = _write(tmp_path, "base: g1\nplanner:\n  lr: 5e-4\n")
    config = resolve_config(path, [], iterations=3)
    assert config == growth_preset("g1").override({"planner.lr": 5e-4, "iterations": 3})


@pytest.mark.parametrize("resolve", ["train", "growth"])
def test_dump_loads_back(tmp_path: Path, resolve: str) -> None:
    if resolve == "train":
        config = TrainConfig.cpu_small().override({"firm.lr": 5e-4, "seed": 7})
        config.dump(tmp_path / "x.yaml")
        assert resolve_config(str(tmp_path / "x.yaml"), []) == config
        assert TrainConfig.load(tmp_path / "x.yaml", complete=True) == config
    else:
        growth = growth_preset("g4_h4").override({"planner.lr": 5e-4})
        growth.dump(tmp_path / "x.yaml")
        assert resolve_config(str(tmp_path / "x.yaml"), []) == growth


def test_config_command_prints_a_complete_file(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert main(["config", "--config", "paper_closed", "--set", "firm.lr=5e-4"]) == 0
    path = _write(tmp_path, capsys.readouterr().out)
    assert resolve_config(path, []) == TrainConfig.paper("closed").override({"firm.lr": 5e-4})


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("iterations: 5\nfirm:\n  lr: 5e-4\n", ["missing", "economy.variant", "base: <preset>"]),
        ("", ["the file is empty", "base: <preset>"]),
        ("# nothing here\n", ["the file is empty"]),
        ("base: cpu_small\nfirm: [1, 2\n", ["not valid YAML", "line 3, column 1"]),
        ("base: cpu_small\nfirm:\n  lr: 1\n lr: 2\n", ["not valid YAML", "line 4"]),
        ("- 1\n- 2\n", ["top level must be a mapping", "list"]),
        (
            "base: cpu_small\nfirm:\n  lrr: 1\n",
            ["unknown key firm.lrr", "allowed under 'firm'", "lr"],
        ),
        ("base: cpu_small\nbogus: 1\n", ["unknown key bogus", "allowed", "economy"]),
        ("base: cpu_tiny\n", ["unknown preset", "cpu_small", "cpu_tiny"]),
        ("seed: 1\nbogus: 2\n", ["unknown key bogus", "allowed", "economy"]),
        ("base:\nseed: 1\n", ["base must name a preset", "None"]),
        ("base: cpu_small\nfirm:\n  lr: -1\n", ["key firm.lr", "PPOParams.lr must be in"]),
        ("base: cpu_small\niterations: 3\niterations: 4\n", ["duplicate key 'iterations'"]),
    ],
    ids=[
        "partial",
        "empty",
        "comment-only",
        "malformed",
        "bad-indent",
        "list",
        "unknown-nested",
        "unknown-top",
        "unknown-base",
        "unknown-without-base",
        "null-base",
        "bad-value",
        "duplicate",
    ],
)
def test_bad_file_fails_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, text: str, fragments: list[str]
) -> None:
    path = _write(tmp_path, text)
    line = _cli_error(["train", "--config", path, "--runs-dir", str(tmp_path / "runs")], capsys)
    assert f"--config {path}" in line
    for fragment in fragments:
        assert fragment in line
    assert not (tmp_path / "runs").exists()


def test_missing_file_and_directory_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    missing = str(tmp_path / "nope.yaml")
    assert "no such file" in _cli_error(["config", "--config", missing], capsys)
    folder = tmp_path / "dir.yaml"
    folder.mkdir()
    assert "is a directory" in _cli_error(["config", "--config", str(folder)], capsys)


def test_truth_economy_file_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _write(tmp_path, "batch_size: 8\n")
    line = _cli_error(["truth", "--economy", path, "--runs-dir", str(tmp_path / "r")], capsys)
    assert f"--economy {path}" in line and "missing" in line and "economy." in line


# ---- --set -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("item", "fragments"),
    [
        ("firm.lr", ["key=value", "'firm.lr'"]),
        ("=3", ["key=value"]),
        ("firm.lr=[1,", ["--set firm.lr=[1,", "not valid YAML"]),
        ("firm.lrr=1", ["--set firm.lrr=1", "no field 'lrr'", "lr"]),
        ("economy.n_firms=0", ["--set economy.n_firms=0", "n_firms must be in [1, inf)"]),
    ],
)
def test_bad_set_fails_with_one_line(
    capsys: pytest.CaptureFixture, item: str, fragments: list[str]
) -> None:
    line = _cli_error(["config", "--set", item], capsys)
    for fragment in fragments:
        assert fragment in line


def test_set_names_the_item_among_several() -> None:
    with pytest.raises(ValueError, match=r"^--set consumer.clip=-1: PPOParams.clip"):
        resolve_config("cpu_small", ["firm.lr=5e-4", "consumer.clip=-1", "seed=1"])


def test_set_of_a_section_keeps_its_other_fields() -> None:
    config = resolve_config("cpu_small", ["firm={lr: 5e-4}"])
    assert config == TrainConfig.cpu_small().override({"firm.lr": 5e-4})


# ---- config --list -----------------------------------------------------------------------------
def test_config_list_shows_key_type_range_unit_and_value(capsys: pytest.CaptureFixture) -> None:
    assert main(["config", "--list"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| firm.lr |"))
    assert row == "| firm.lr | float | (0, inf) | 1 | η | 0.001 | Adam learning rate |"
    assert "| economy.variant | str | open, closed |" in out
    assert "| economy.n_firms | int | [1, inf) | count | F | 5 |" in out
    assert "| shuffle | bool | true, false |" in out
    assert "| firm.hidden_sizes | list[int] | each in [1, inf) | units |  | [128, 128] |" in out
    keys = [line.split(" | ")[0][2:] for line in out.splitlines() if line.startswith("| ")]
    assert len(keys[1:]) == len(set(keys[1:])) == len(TrainConfig.leaves())


def test_config_list_shows_the_values_of_config_and_growth(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = _write(tmp_path, "base: paper_open\nfirm:\n  lr: 5e-4\n")
    assert main(["config", "--list", "--config", path]) == 0
    out = capsys.readouterr().out
    assert "| firm.lr | float | (0, inf) | 1 | η | 0.0005 |" in out
    assert "| iterations | int | [1, inf) | iterations |  | 200000 |" in out
    assert main(["config", "--list", "--growth", "g4_h4"]) == 0
    out = capsys.readouterr().out
    assert "| economy.n_households | int | [1, inf) | count | H | 4 |" in out
    assert "| planner.lr | float | (0, inf) | 1 | η | 0.003 |" in out


def test_settings_table_has_seven_cells_per_row() -> None:
    table = settings_table(growth_preset("g1")).splitlines()
    assert all(line.count(" | ") == 6 for line in table[2:])
    assert "| max_seconds | float | (0, inf) | s |  | inf |" in "\n".join(table)


def test_help_explains_set(capsys: pytest.CaptureFixture) -> None:
    for command in ("train", "sweep", "truth"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = " ".join(capsys.readouterr().out.split())
        assert "dotted path" in out and "parsed as YAML" in out and "5e-4" in out
        assert "python -m trainers config --list" in out


def test_one_train_config_serves_both_families() -> None:
    """The economy's keys pick its class; the other family's fields are left out and refused."""
    from rbc_env.config import GrowthConfig, RBCConfig
    from trainers.config import GROWTH, RBC
    from trainers.rllib.batched import BatchedPPOConfig

    growth = TrainConfig.from_dict({"economy": {"economy": "g4", "n_households": 4}})
    assert isinstance(growth.economy, GrowthConfig) and growth.family == GROWTH
    assert growth.agent_types == ("planner", "household", "producer")
    assert TrainConfig.from_dict({"economy": {"n_firms": 3}}).family == RBC
    assert isinstance(TrainConfig.from_dict({"economy": {"horizon": 8}}).economy, RBCConfig)
    g1 = growth_preset("g1")
    data = g1.to_dict()
    assert "consumer" not in data and "curriculum" not in data and "planner" in data
    TrainConfig.check_keys(data, complete=True)  # a complete growth file needs no RBC keys
    assert TrainConfig.from_dict(data) == g1
    assert g1.gamma == g1.economy.params.beta
    with pytest.raises(ValueError, match="TrainConfig.deviation applies to RBC economies only"):
        g1.replace(deviation=TrainConfig().deviation.replace(agent_type="firm"))
    with pytest.raises(ValueError, match="TrainConfig.rollout_length applies to growth"):
        TrainConfig(rollout_length=8)
    with pytest.raises(ValueError, match="consumer applies to RBC economies only"):
        g1.override({"consumer.lr": 1e-3})
    with pytest.raises(ValueError, match="agent type must be one of"):
        g1.ppo("firm")
    with pytest.raises(ValueError, match="growth family"):
        _ = TrainConfig().gamma
    keys = {k.partition(".")[0] for k, *_ in TrainConfig.leaves(g1)}
    assert keys == set(data)
    # Checkpoints written before the merge carry the dict under the old attribute names.
    old = BatchedPPOConfig()
    old.growth_train_config = data
    assert old.train_config == g1
    old = BatchedPPOConfig()
    old.rbc_train_config = TrainConfig.cpu_small().to_dict()
    assert old.train_config == TrainConfig.cpu_small()
