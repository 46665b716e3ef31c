"""Bad actions raise ValueError naming the agent type, the head, the allowed range and the value.

A rejected step leaves the economy untouched; stepping past the horizon raises.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from rbc_env import BatchedEconomy, RBCConfig
from rbc_env.core import action_head_names, action_nvec, dynamics, validate_actions

B = 2


@pytest.fixture
def config() -> RBCConfig:
    return RBCConfig(n_consumers=5, n_firms=3, horizon=3)


@pytest.fixture
def econ(config: RBCConfig) -> BatchedEconomy:
    e = BatchedEconomy(config, batch_size=B, seed=0)
    e.step(e.sample_actions())  # a non-initial state, so "unchanged" is not trivially true
    return e


def _snapshot(econ: BatchedEconomy) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in econ.state.tensors().items()}


def _assert_unchanged(econ: BatchedEconomy, snap: dict[str, torch.Tensor]) -> None:
    for k, v in econ.state.tensors().items():
        assert torch.equal(v, snap[k]), f"state.{k} changed by a rejected step"


def _every_head() -> list[tuple[str, int]]:
    cfg = RBCConfig(n_consumers=5, n_firms=3, horizon=3)
    return [(t, h) for t, nvec in action_nvec(cfg).items() for h in range(len(nvec))]


HEADS = _every_head()  # consumer: units of goods 0-2, hours, employer; firm: 2; government: 2


@pytest.mark.parametrize("too_large", [False, True], ids=["negative", "too_large"])
@pytest.mark.parametrize(("agent_type", "head"), HEADS)
def test_out_of_range_index_raises_and_leaves_state(
    econ: BatchedEconomy, config: RBCConfig, agent_type: str, head: int, too_large: bool
) -> None:
    actions = econ.sample_actions()
    n = action_nvec(config)[agent_type][head]
    bad = n if too_large else -1
    actions[agent_type][..., head].view(-1)[-1] = bad  # the last economy / agent
    name = action_head_names(config)[agent_type][head]
    snap, t = _snapshot(econ), econ.state.t.clone()
    pattern = (
        rf"{agent_type} action {re.escape(repr(name))} must be in "
        rf"{re.escape(f'[0, {n - 1}]')}; got {bad}\b"
    )
    with pytest.raises(ValueError, match=pattern):
        econ.step(actions)
    _assert_unchanged(econ, snap)
    assert torch.equal(econ.state.t, t)


def test_employer_range_is_the_firm_count(econ: BatchedEconomy, config: RBCConfig) -> None:
    actions = econ.sample_actions()
    actions["consumer"][0, 2, -1] = config.n_firms
    with pytest.raises(ValueError, match=r"consumer action 'employer' must be in \[0, 2\]; got 3"):
        econ.step(actions)


@pytest.mark.parametrize("agent_type", ["consumer", "firm", "government"])
def test_nan_float_actions_raise(econ: BatchedEconomy, agent_type: str) -> None:
    actions = econ.sample_actions()
    a = actions[agent_type].to(torch.float32)
    a.view(-1)[0] = float("nan")
    actions[agent_type] = a
    snap = _snapshot(econ)
    with pytest.raises(ValueError, match=rf"{agent_type} actions must have an integer dtype.*NaN"):
        econ.step(actions)
    _assert_unchanged(econ, snap)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bool])
@pytest.mark.parametrize("agent_type", ["consumer", "firm", "government"])
def test_wrong_dtype_raises(econ: BatchedEconomy, agent_type: str, dtype: torch.dtype) -> None:
    actions = econ.sample_actions()
    actions[agent_type] = actions[agent_type].clamp(max=1).to(dtype)
    snap = _snapshot(econ)
    with pytest.raises(
        ValueError, match=rf"{agent_type} actions must have an integer dtype.*got {dtype}"
    ):
        econ.step(actions)
    _assert_unchanged(econ, snap)


@pytest.mark.parametrize("dtype", [torch.int32, torch.int16, torch.uint8])
def test_other_integer_dtypes_step_exactly_as_int64(econ: BatchedEconomy, dtype) -> None:
    """Smaller index dtypes (fewer bytes to read) give the same step, bit for bit."""
    actions = econ.sample_actions()
    state = econ.state
    wide = dynamics.step(econ.config, state, actions)
    narrow = dynamics.step(econ.config, state, {k: v.to(dtype) for k, v in actions.items()})
    for name, tensor in wide[0].tensors().items():
        assert torch.equal(tensor, narrow[0].tensors()[name]), name
    for part in ("rewards", "flows"):
        for name, tensor in getattr(wide[1], part).items():
            assert torch.equal(tensor, getattr(narrow[1], part)[name]), name
    econ.step({k: v.to(dtype) for k, v in actions.items()})  # validation accepts them


@pytest.mark.parametrize(
    ("agent_type", "shape"),
    [
        ("consumer", (B, 5, 4)),  # one head short
        ("consumer", (B, 4, 5)),  # one consumer short
        ("consumer", (5, 5)),  # no batch axis
        ("firm", (B, 3, 3)),
        ("firm", (B + 1, 3, 2)),  # wrong batch size
        ("government", (B, 1)),
        ("government", (B, 1, 2)),  # a spurious agent axis
    ],
)
def test_wrong_shape_raises(econ: BatchedEconomy, agent_type: str, shape: tuple[int, ...]) -> None:
    actions = econ.sample_actions()
    expected = tuple(actions[agent_type].shape)
    actions[agent_type] = torch.zeros(shape, dtype=torch.long)
    snap = _snapshot(econ)
    pattern = rf"{agent_type} actions must have shape {re.escape(str(expected))}; got "
    with pytest.raises(ValueError, match=pattern + re.escape(str(shape))):
        econ.step(actions)
    _assert_unchanged(econ, snap)


@pytest.mark.parametrize("agent_type", ["consumer", "firm", "government"])
def test_numpy_array_instead_of_tensor_raises(econ: BatchedEconomy, agent_type: str) -> None:
    actions = econ.sample_actions()
    actions[agent_type] = np.asarray(actions[agent_type])
    snap = _snapshot(econ)
    with pytest.raises(ValueError, match=rf"{agent_type} actions must be a torch.Tensor.*ndarray"):
        econ.step(actions)
    _assert_unchanged(econ, snap)


def test_unknown_agent_type_raises(econ: BatchedEconomy) -> None:
    actions = econ.sample_actions()
    actions["planner"] = torch.zeros(B, 2, dtype=torch.long)
    snap = _snapshot(econ)
    with pytest.raises(ValueError, match=r"unknown agent type.*'planner'.*allowed.*'consumer'"):
        econ.step(actions)
    _assert_unchanged(econ, snap)


@pytest.mark.parametrize("agent_type", ["consumer", "firm", "government"])
def test_missing_agent_type_raises(econ: BatchedEconomy, agent_type: str) -> None:
    actions = econ.sample_actions()
    del actions[agent_type]
    snap = _snapshot(econ)
    with pytest.raises(ValueError, match=rf"missing agent type '{agent_type}'"):
        econ.step(actions)
    _assert_unchanged(econ, snap)


def test_non_dict_actions_raise(econ: BatchedEconomy) -> None:
    with pytest.raises(ValueError, match="actions must be a dict"):
        econ.step([econ.sample_actions()["consumer"]])  # type: ignore[arg-type]


def test_valid_actions_pass_validation(config: RBCConfig) -> None:
    econ = BatchedEconomy(config, batch_size=B, seed=0)
    validate_actions(config, econ.sample_actions(), B)  # no exception
    top = {
        k: torch.tensor(v).sub(1).expand(*econ.sample_actions()[k].shape).clone()
        for k, v in action_nvec(config).items()
    }
    validate_actions(config, top, B)  # the top index of every head is allowed


def test_stepping_past_the_horizon_raises(config: RBCConfig) -> None:
    econ = BatchedEconomy(config, batch_size=B, seed=0)
    for _ in range(config.horizon):
        out = econ.step(econ.sample_actions())
    assert bool(out.done.all())
    finished = econ.state
    snap = _snapshot(econ)
    with pytest.raises(ValueError, match=r"episode is over.*reset"):
        econ.step(econ.sample_actions())
    _assert_unchanged(econ, snap)
    econ.reset()
    econ.step(econ.sample_actions())  # fine again after a reset
    assert int(econ.state.t[0]) == 1
    # The period count is kept on the host; it follows a state set by hand.
    other = BatchedEconomy(config, batch_size=B, seed=1)
    other.set_state(finished)
    with pytest.raises(ValueError, match=r"episode is over"):
        other.step(other.sample_actions())
    other.set_state(econ.state)  # t = 1
    other.step(other.sample_actions())
