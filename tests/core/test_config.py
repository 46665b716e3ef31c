"""RBCConfig validation (each bad field names itself and its range), YAML and dict round trips."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from rbc_env import FirmParams, RBCConfig


def _bad(data: dict[str, Any], *fragments: str) -> None:
    """RBCConfig.from_dict(data) raises ValueError whose message holds every fragment, in order."""
    pattern = ".*".join(re.escape(f) for f in fragments)
    with pytest.raises(ValueError, match=pattern):
        RBCConfig.from_dict(data)


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ({"n_consumers": 0}, ["RBCConfig.n_consumers", "[1, inf)", "0"]),
        ({"n_consumers": -3}, ["RBCConfig.n_consumers", "[1, inf)", "-3"]),
        ({"n_firms": -1}, ["RBCConfig.n_firms", "[1, inf)", "-1"]),
        ({"horizon": 0}, ["RBCConfig.horizon", "[1, inf)"]),
        ({"consumer": {"n_units": 1}}, ["ConsumerParams.n_units", "[2, inf)", "1"]),
        ({"consumer": {"initial_budget": 0.0}}, ["ConsumerParams.initial_budget", "(0, inf)"]),
        ({"consumer": {"crra_eta": 1.0}}, ["ConsumerParams.crra_eta", "[0, 1)", "1.0"]),
        ({"consumer": {"crra_eta": -0.1}}, ["ConsumerParams.crra_eta", "[0, 1)"]),
        ({"firm": {"alpha_pattern": [0.2, 1.0]}}, ["FirmParams.alpha_pattern[1]", "(0, 1)", "1.0"]),
        ({"firm": {"alpha_pattern": [0.0]}}, ["FirmParams.alpha_pattern[0]", "(0, 1)", "0.0"]),
        ({"firm": {"alpha_pattern": []}}, ["FirmParams.alpha_pattern", "non-empty"]),
        ({"firm": {"tfp": -0.01}}, ["FirmParams.tfp", "(0, inf)", "-0.01"]),
        ({"firm": {"tfp": float("nan")}}, ["FirmParams.tfp", "(0, inf)", "nan"]),
        ({"firm": {"investment_fraction": 1.5}}, ["FirmParams.investment_fraction", "[0, 1]"]),
        ({"firm": {"initial_wage": -1.0}}, ["FirmParams.initial_wage", "[0, inf)"]),
        ({"government": {"tax_step": 1.0}}, ["GovernmentParams.tax_step", "(0, 1)"]),
        (
            {"government": {"tax_step": 0.3, "n_tax_levels": 5}},
            ["GovernmentParams.tax_step * (n_tax_levels - 1)", "[0, 1]", "1.2"],
        ),
        (
            {"government": {"initial_income_tax": 1.2}},
            ["GovernmentParams.initial_income_tax", "[0, 1]"],
        ),
        ({"market": {"interest_rate": -0.1}}, ["MarketParams.interest_rate", "[0, inf)"]),
        ({"market": {"export_quota": -5.0}}, ["MarketParams.export_quota", "[0, inf)"]),
        ({"curriculum": {"mask_anneal_iters": 0}}, ["CurriculumParams.mask_anneal_iters"]),
        ({"parity": {"budget_epsilon": -0.01}}, ["ReferenceParity.budget_epsilon", "[0, inf)"]),
        ({"parity": {"n_digits": 0}}, ["ReferenceParity.n_digits", "[1, inf)"]),
    ],
)
def test_out_of_range_field_names_field_and_range(
    data: dict[str, Any], fragments: list[str]
) -> None:
    _bad(data, *fragments)


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ({"n_consumers": True}, ["RBCConfig.n_consumers", "integer", "[1, inf)", "True"]),
        ({"n_firms": 2.0}, ["RBCConfig.n_firms", "integer", "2.0"]),
        ({"n_firms": "10"}, ["RBCConfig.n_firms", "integer", "'10'"]),
        ({"firm": {"tfp": "0.01"}}, ["FirmParams.tfp", "number", "(0, inf)", "'0.01'"]),
        ({"firm": {"tfp": False}}, ["FirmParams.tfp", "number", "False"]),
        ({"market": {"export_quota": None}}, ["MarketParams.export_quota", "number", "None"]),
        ({"firm": {"alpha_pattern": ["a"]}}, ["FirmParams.alpha_pattern[0]", "number"]),
        ({"firm": {"alpha_pattern": 0.3}}, ["FirmParams.alpha_pattern", "tuple"]),
        ({"firm": 3}, ["RBCConfig.firm", "FirmParams", "3"]),
    ],
)
def test_wrong_type_names_field(data: dict[str, Any], fragments: list[str]) -> None:
    _bad(data, *fragments)


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ({"variant": "half-open"}, ["RBCConfig.variant", "['open', 'closed']", "'half-open'"]),
        ({"dtype": "float16"}, ["RBCConfig.dtype", "['float32', 'float64']", "'float16'"]),
        ({"parity": {"obs_encoding": "onehot"}}, ["ReferenceParity.obs_encoding", "'scaled'"]),
        ({"parity": {"sampling": "greedy"}}, ["ReferenceParity.sampling", "'independent'"]),
    ],
)
def test_bad_literal_names_field_and_choices(data: dict[str, Any], fragments: list[str]) -> None:
    _bad(data, *fragments)


def test_paper_rejects_a_bad_variant() -> None:
    with pytest.raises(ValueError, match=r"variant.*\['open', 'closed'\].*'half'"):
        RBCConfig.paper("half")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ({"n_agents": 5}, ["RBCConfig has no field 'n_agents'", "allowed", "n_consumers"]),
        ({"firm": {"alpha": 0.3}}, ["FirmParams has no field 'alpha'", "alpha_pattern"]),
        ({"market": {"quota": 1.0}}, ["MarketParams has no field 'quota'"]),
        ({"parity": {"digits": 3}}, ["ReferenceParity has no field 'digits'"]),
    ],
)
def test_unknown_keys_are_rejected(data: dict[str, Any], fragments: list[str]) -> None:
    _bad(data, *fragments)


def test_non_mapping_is_rejected() -> None:
    with pytest.raises(ValueError, match="RBCConfig must be built from a mapping"):
        RBCConfig.from_dict([1, 2])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("curriculum", "fragments"),
    [
        ({"firm_mask_price_center": 750.0}, ["firm_mask_price_center", "grid", "750"]),
        ({"firm_mask_price_center": 3000.0}, ["firm_mask_price_center", "grid", "3000"]),
        ({"firm_mask_wage_center": 20.0}, ["firm_mask_wage_center", "grid", "20"]),
    ],
)
def test_mask_centre_off_grid_is_rejected(
    curriculum: dict[str, float], fragments: list[str]
) -> None:
    _bad({"curriculum": curriculum}, *fragments)


def test_mask_centre_on_a_changed_grid_is_accepted() -> None:
    config = RBCConfig.from_dict(
        {
            "firm": {"price_step": 250.0, "n_prices": 4},
            "curriculum": {"firm_mask_price_center": 750.0},
        }
    )
    assert config.price_grid == (0.0, 250.0, 500.0, 750.0)


def test_direct_construction_validates_too() -> None:
    with pytest.raises(ValueError, match=r"FirmParams\.n_prices.*\[2, inf\)"):
        FirmParams(n_prices=1)
    with pytest.raises(ValueError, match=r"RBCConfig\.horizon"):
        RBCConfig(horizon=-1)


def test_configs_are_frozen() -> None:
    config = RBCConfig.paper()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.n_firms = 3  # type: ignore[misc]


def test_paper_calibration() -> None:
    """Spec section 7 values."""
    open_, closed = RBCConfig.paper("open"), RBCConfig.paper("closed")
    assert open_.open_economy and not closed.open_economy
    assert dataclasses.replace(closed, variant="open") == open_
    assert (open_.n_consumers, open_.n_firms, open_.horizon) == (100, 10, 10)
    assert open_.price_grid == (0.0, 500.0, 1000.0, 1500.0, 2000.0, 2500.0)
    assert open_.wage_grid == (0.0, 11.0, 22.0, 33.0, 44.0)
    assert open_.hours_grid == (0.0, 260.0, 520.0, 780.0, 1040.0)
    assert open_.units_grid == tuple(float(k) for k in range(11))
    assert open_.tax_grid == pytest.approx((0.0, 0.2, 0.4, 0.6, 0.8, 1.0))
    assert open_.initial_firm_budget == 2_200_000
    assert open_.firm.initial_wage == 0.0 and open_.market.interest_rate == 0.0
    assert open_.firm.alpha_pattern == (0.2, 0.3, 0.4, 0.6, 0.8)
    assert open_.government.firm_welfare_weight == 0.0025
    assert open_.market.export_min_price == 500 and open_.market.export_quota == 100
    assert open_.parity.budget_epsilon == 0.01
    assert open_.n_agents == 111


def _modified() -> RBCConfig:
    return RBCConfig.paper("closed").override(
        {
            "n_consumers": 7,
            "n_firms": 3,
            "dtype": "float64",
            "firm.alpha_pattern": [0.25, 0.75],
            "firm.tfp": 0.02,
            "government.tax_step": 0.25,
            "government.n_tax_levels": 5,
            "market.interest_rate": 0.05,
            "parity.obs_encoding": "digits",
            "parity.budget_epsilon": 0.0,
        }
    )


@pytest.mark.parametrize("make", [RBCConfig.paper, _modified], ids=["paper", "modified"])
def test_yaml_round_trip(tmp_path: Path, make: Any) -> None:
    config = make()
    path = tmp_path / "config.yaml"
    config.dump(path)
    loaded = RBCConfig.load(path)
    assert loaded == config
    assert isinstance(loaded.firm.alpha_pattern, tuple)
    # It is plain YAML, with the nested sections spelled out.
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert raw["variant"] == config.variant and raw["firm"]["tfp"] == config.firm.tfp


def test_yaml_with_unknown_key_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("n_firms: 3\nfirm:\n  bogus: 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="FirmParams has no field 'bogus'"):
        RBCConfig.load(path)


def test_partial_yaml_fills_defaults(tmp_path: Path) -> None:
    path = tmp_path / "partial.yaml"
    path.write_text("variant: closed\nmarket:\n  export_quota: 10\n", encoding="utf-8")
    config = RBCConfig.load(path)
    assert config == RBCConfig.paper("closed").override({"market.export_quota": 10.0})
    assert isinstance(config.market.export_quota, float)


@pytest.mark.parametrize("make", [RBCConfig.paper, _modified], ids=["paper", "modified"])
def test_dict_round_trip(make: Any) -> None:
    config = make()
    data = config.to_dict()
    assert isinstance(data["firm"], dict) and isinstance(data["firm"]["alpha_pattern"], list)
    assert RBCConfig.from_dict(data) == config
    assert RBCConfig.from_dict(data).to_dict() == data


def test_override_with_dotted_paths() -> None:
    base = RBCConfig.paper()
    new = base.override({"firm.tfp": 0.02, "n_firms": 3, "market.export_quota": 50})
    assert new.firm.tfp == 0.02 and new.n_firms == 3 and new.market.export_quota == 50.0
    assert isinstance(new.market.export_quota, float)
    assert base.firm.tfp == 0.01 and base.n_firms == 10  # the original is untouched
    assert new.consumer == base.consumer and new.firm.alpha_pattern == base.firm.alpha_pattern


def test_override_validates_values() -> None:
    with pytest.raises(ValueError, match=r"FirmParams\.tfp.*\(0, inf\).*-1"):
        RBCConfig.paper().override({"firm.tfp": -1.0})


@pytest.mark.parametrize(
    ("path", "fragments"),
    [
        ("firm.nope", ["firm has no field 'nope'", "allowed", "tfp"]),
        ("nope", ["RBCConfig has no field 'nope'"]),
        ("nope.tfp", ["RBCConfig has no field 'nope'"]),
        ("n_firms.value", ["n_firms has no field 'value'"]),
    ],
)
def test_override_bad_path(path: str, fragments: list[str]) -> None:
    pattern = ".*".join(re.escape(f) for f in fragments)
    with pytest.raises(ValueError, match=pattern):
        RBCConfig.paper().override({path: 1})
