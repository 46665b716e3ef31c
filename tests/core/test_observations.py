"""Observations: shapes match observation_specs in both encodings; values finite and informative."""

from __future__ import annotations

import pytest
import torch

from rbc_env import BatchedEconomy, RBCConfig
from rbc_env.core import initial_state, observation_specs, observe

SIZES = [(100, 10), (7, 3), (1, 1)]


def _config(n_consumers: int, n_firms: int, encoding: str) -> RBCConfig:
    return RBCConfig.paper("open").override(
        {"n_consumers": n_consumers, "n_firms": n_firms, "parity.obs_encoding": encoding}
    )


@pytest.mark.parametrize("encoding", ["scaled", "digits"])
@pytest.mark.parametrize(("n_consumers", "n_firms"), SIZES)
def test_shapes_match_specs(n_consumers: int, n_firms: int, encoding: str) -> None:
    config = _config(n_consumers, n_firms, encoding)
    specs = observation_specs(config)
    econ = BatchedEconomy(config, batch_size=3, seed=0)
    obs = econ.reset()
    assert specs == econ.observation_specs
    for o in (obs, econ.step(econ.sample_actions()).obs):
        assert o["consumer"].shape == (3, n_consumers, *specs["consumer"].shape)
        assert o["firm"].shape == (3, n_firms, *specs["firm"].shape)
        assert o["government"].shape == (3, *specs["government"].shape)
        for k, v in o.items():
            assert v.dtype == torch.float32, k
            assert torch.isfinite(v).all(), k
    # Spec 3.3 widths: global part 3F + hF + 3 (h = 10 digits or 2 scaled features per heavy value).
    h = 10 if encoding == "digits" else 2
    glob = 3 * n_firms + h * n_firms + 3
    assert specs["government"].shape == (glob,)
    assert specs["consumer"].shape == (glob + h + 1,)
    assert specs["firm"].shape == (glob + h + 2 + n_firms,)


def test_paper_digit_sizes() -> None:
    """Spec 3.3 table: network inputs 144 / 155 / 133."""
    specs = observation_specs(RBCConfig.paper().override({"parity.obs_encoding": "digits"}))
    assert specs["consumer"].shape == (144,)
    assert specs["firm"].shape == (155,)
    assert specs["government"].shape == (133,)


def _floored_digits(x: float, n: int = 10) -> list[float]:
    """Spec 3.3: d_k = (x mod 10^(k+1)) / 10^(k+1), k = 0..D-1, with the floored modulo."""
    out = []
    for k in range(n):
        m = 10.0 ** (k + 1)
        out.append((x - m * (x // m)) / m)  # Python's // floors, so negatives wrap around
    return out


def test_floored_digits_helper() -> None:
    assert _floored_digits(1234.5)[:5] == pytest.approx([0.45, 0.345, 0.2345, 0.12345, 0.012345])
    assert _floored_digits(-37.0)[:3] == pytest.approx([0.3, 0.63, 0.963])


def test_digit_encoding_on_a_hand_example() -> None:
    config = RBCConfig(n_consumers=2, n_firms=2, dtype="float64").override(
        {"parity.obs_encoding": "digits"}
    )
    state = initial_state(config, 1).replace(
        price=torch.tensor([[1000.0, 2500.0]], dtype=torch.float64),
        wage=torch.tensor([[11.0, 0.0]], dtype=torch.float64),
        inventory=torch.tensor([[1234.5, 7.0]], dtype=torch.float64),
        overdemanded=torch.tensor([[True, False]]),
        income_tax=torch.tensor([0.2], dtype=torch.float64),
        corporate_tax=torch.tensor([0.4], dtype=torch.float64),
        t=torch.tensor([3]),
        consumer_budget=torch.tensor([[2000.01, 0.5]], dtype=torch.float64),
        firm_budget=torch.tensor([[-37.0, 123456789.0]], dtype=torch.float64),
        capital=torch.tensor([[5000.0, 10000.0]], dtype=torch.float64),
    )
    obs = observe(config, state)
    # Global part, in raw-index order with each expanded value's 10 features in its place.
    glob = (
        [1000 / 2500, 2500 / 2500, 11 / 44, 0 / 44]
        + _floored_digits(1234.5)
        + _floored_digits(7.0)
        + [1.0, 0.0, 0.2, 0.4, 3 / 10]
    )
    theta = state.theta[0].tolist()
    expected = {
        "government": [glob],
        "consumer": [
            [glob + _floored_digits(2000.01) + [theta[0] / 0.01]],
            [glob + _floored_digits(0.5) + [theta[1] / 0.01]],
        ],
        "firm": [
            [glob + _floored_digits(-37.0) + [5000 / 10000, 0.2, 1.0, 0.0]],
            [glob + _floored_digits(123456789.0) + [10000 / 10000, 0.3, 0.0, 1.0]],
        ],
    }
    torch.testing.assert_close(
        obs["government"], torch.tensor(expected["government"], dtype=torch.float64)
    )
    for i in range(2):
        torch.testing.assert_close(
            obs["consumer"][:, i], torch.tensor(expected["consumer"][i], dtype=torch.float64)
        )
        torch.testing.assert_close(
            obs["firm"][:, i], torch.tensor(expected["firm"][i], dtype=torch.float64)
        )
    # Negative cash wraps around (floored modulo): -37 -> 0.3, 0.63, 0.963, ...
    d = obs["firm"][0, 0, len(glob) : len(glob) + 3].tolist()
    assert d == pytest.approx([0.3, 0.63, 0.963])


def test_scaled_encoding_keeps_sign_and_scale() -> None:
    config = RBCConfig(n_consumers=2, n_firms=2, dtype="float64")
    state = initial_state(config, 1).replace(
        firm_budget=torch.tensor([[-4.4e6, 2.2e6]], dtype=torch.float64)
    )
    firm = observe(config, state)["firm"][0]
    glob = observation_specs(config)["government"].shape[0]
    m0 = config.initial_firm_budget  # 44000 with 2 consumers
    assert firm[0, glob].item() == pytest.approx(-4.4e6 / m0)  # negative cash stays negative
    assert firm[1, glob].item() == pytest.approx(2.2e6 / m0)
    assert firm[0, glob + 1].item() < 0 < firm[1, glob + 1].item()  # signed log


@pytest.mark.parametrize("encoding", ["scaled", "digits"])
def test_observations_change_after_a_step(encoding: str) -> None:
    config = _config(100, 10, encoding)
    econ = BatchedEconomy(config, batch_size=2, seed=0)
    before = econ.reset()
    out = econ.step(econ.sample_actions())
    for k in before:
        assert not torch.equal(before[k], out.obs[k]), f"{k} obs unchanged by a step"
    for k, v in econ.observe().items():
        assert torch.equal(v, out.obs[k]), k  # observe() reads the same state


def test_government_observation_is_the_shared_global_part() -> None:
    econ = BatchedEconomy(RBCConfig.paper(), batch_size=2, seed=0)
    econ.reset()
    obs = econ.step(econ.sample_actions()).obs
    g = obs["government"].shape[-1]
    for key in ("consumer", "firm"):
        torch.testing.assert_close(
            obs[key][..., :g], obs["government"].unsqueeze(1).expand_as(obs[key][..., :g])
        )
    # Firms see a one-hot id at the end.
    eye = torch.eye(10).expand(2, 10, 10)
    assert torch.equal(obs["firm"][..., -10:], eye)


@pytest.mark.parametrize("encoding", ["scaled", "digits"])
def test_factorized_observations_equal_the_flat_ones(encoding: str) -> None:
    """obs[type] is [g, p] per agent: the global part repeated, then the private part."""
    config = _config(7, 3, encoding)
    econ = BatchedEconomy(config, batch_size=4, seed=1)
    econ.reset()
    obs = econ.step(econ.sample_actions()).obs
    g = obs.global_part
    assert torch.equal(obs["government"], g)
    for agent_type, private in obs.private.items():
        flat = obs[agent_type]
        n = private.shape[1]
        assert flat.shape == (4, n, g.shape[-1] + private.shape[-1])
        assert torch.equal(flat[..., : g.shape[-1]], g.unsqueeze(1).expand(4, n, -1))
        assert torch.equal(flat[..., g.shape[-1] :], private)
        assert obs[agent_type] is flat  # built once, then kept
    # It reads like the dict of flat tensors it replaces.
    as_dict = dict(obs)
    assert list(as_dict) == ["consumer", "firm", "government"] and len(obs) == 3
    assert all(torch.equal(as_dict[k], obs[k]) for k in obs)
    assert "household" not in obs
    with pytest.raises(KeyError):
        obs["household"]


def test_flat_observations_are_built_only_when_read() -> None:
    econ = BatchedEconomy(RBCConfig.paper("open"), batch_size=2, seed=0)
    econ.reset()
    obs = econ.step(econ.sample_actions()).obs
    assert set(obs._flat) == {"government"}  # no [B, N, G + P] copies yet
    obs["consumer"]
    assert set(obs._flat) == {"government", "consumer"}
