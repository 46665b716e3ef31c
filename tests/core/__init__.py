"""Tests of the batched core, and helpers shared by them (``from . import random_actions``)."""

from __future__ import annotations

import dataclasses
import math

import torch
from hypothesis import strategies as st

from rbc_env import RBCConfig
from rbc_env.config import Interval
from rbc_env.core import EconomyState, action_box, action_nvec, action_shape

ACTION_MODES = ("uniform", "low", "high", "extremes", "sparse")


def random_actions(
    config: RBCConfig, batch_size: int, generator: torch.Generator, mode: str = "uniform"
) -> dict[str, torch.Tensor]:
    """Valid index actions of every type, drawn with ``generator`` in one of ``ACTION_MODES``.

    ``uniform``: every index uniform on its head; ``low``: all 0 (no demand, no work, price 0,
    wage 0, no tax); ``high``: every head at its top index (max demand, hours, price, wage, taxes);
    ``extremes``: each index 0 or top at random; ``sparse``: uniform, but each units index is
    zeroed with probability 0.8 (demand below stock, so goods go unrationed and get exported).
    With ``config.action_space="continuous"`` the same modes give real values on each head's
    box (``uniform``: uniform on [low, high], including the employer).
    """
    if config.action_space == "continuous":
        return _continuous_actions(config, batch_size, generator, mode)
    out = {}
    for agent_type, nvec in action_nvec(config).items():
        shape = action_shape(config, agent_type, batch_size)
        top = torch.tensor(nvec)
        if mode == "low":
            a = torch.zeros(shape, dtype=torch.long)
        elif mode == "high":
            a = (top - 1).expand(shape).clone()
        elif mode == "extremes":
            coin = torch.randint(2, shape, generator=generator)
            a = coin * (top - 1)
        else:
            u = torch.rand(shape, generator=generator, dtype=torch.float64)
            a = (u * top).long().clamp(max=top - 1)
            if mode == "sparse" and agent_type == "consumer":
                keep = torch.rand(shape, generator=generator) > 0.8
                keep[..., config.n_firms :] = True
                a = a * keep
        out[agent_type] = a.long()
    return out


def _continuous_actions(
    config: RBCConfig, batch_size: int, generator: torch.Generator, mode: str
) -> dict[str, torch.Tensor]:
    """``random_actions`` for continuous actions: values in economic units inside the box."""
    dtype = getattr(torch, config.dtype)
    out = {}
    for agent_type, (low, high) in action_box(config).items():
        shape = action_shape(config, agent_type, batch_size)
        lo, hi = torch.tensor(low, dtype=dtype), torch.tensor(high, dtype=dtype)
        if mode == "low":
            u = torch.zeros(shape, dtype=dtype)
        elif mode == "high":
            u = torch.ones(shape, dtype=dtype)
        elif mode == "extremes":
            u = torch.randint(2, shape, generator=generator).to(dtype)
        else:
            u = torch.rand(shape, generator=generator, dtype=dtype)
            if mode == "sparse" and agent_type == "consumer":
                keep = torch.rand(shape, generator=generator) > 0.8
                keep[..., config.n_firms :] = True
                u = u * keep
        out[agent_type] = lo + (hi - lo) * u
    return out


def assert_states_equal(
    actual: EconomyState, expected: EconomyState, *, rtol: float = 0.0, atol: float = 0.0
) -> None:
    """Every field of two states agrees (exactly by default), with the field named on failure."""
    for f in dataclasses.fields(EconomyState):
        a, e = getattr(actual, f.name), getattr(expected, f.name)
        assert a.dtype == e.dtype, f"{f.name}: dtype {a.dtype} != {e.dtype}"
        torch.testing.assert_close(a, e, rtol=rtol, atol=atol, msg=lambda m, n=f.name: f"{n}: {m}")


# ---- hypothesis strategies from the config's field metadata (STYLE section 8) ----------------
def field_range(cls: type, name: str) -> Interval:
    """The allowed range stored in the metadata of field ``name`` of a params dataclass."""
    for f in dataclasses.fields(cls):
        if f.name == name:
            range_ = f.metadata["range"]
            assert isinstance(range_, Interval), f"{cls.__name__}.{name} has no range"
            return range_
    raise KeyError(f"{cls.__name__} has no field {name!r}")


def floats_in(
    cls: type, name: str, lo: float | None = None, hi: float | None = None
) -> st.SearchStrategy[float]:
    """Floats inside the field's metadata range, intersected with a practical [lo, hi]."""
    r = field_range(cls, name)
    lo_v, hi_v = r.lo, r.hi
    exclude_min, exclude_max = not r.lo_closed, not r.hi_closed
    if lo is not None and lo > lo_v:
        lo_v, exclude_min = lo, False
    if hi is not None and hi < hi_v:
        hi_v, exclude_max = hi, False
    assert math.isfinite(lo_v) and math.isfinite(hi_v), f"give finite bounds for {name}"
    return st.floats(
        min_value=lo_v,
        max_value=hi_v,
        exclude_min=exclude_min,
        exclude_max=exclude_max,
        allow_nan=False,
        allow_infinity=False,
        allow_subnormal=False,
    )


def ints_in(
    cls: type, name: str, lo: int | None = None, hi: int | None = None
) -> st.SearchStrategy[int]:
    """Integers inside the field's metadata range, intersected with a practical [lo, hi]."""
    r = field_range(cls, name)
    lo_v = math.ceil(r.lo) if r.lo_closed else math.floor(r.lo) + 1
    if lo is not None:
        lo_v = max(lo_v, lo)
    if math.isfinite(r.hi):
        hi_v = math.floor(r.hi) if r.hi_closed else math.ceil(r.hi) - 1
        hi_v = hi_v if hi is None else min(hi_v, hi)
    else:
        assert hi is not None, f"give a finite upper bound for {name}"
        hi_v = hi
    return st.integers(min_value=lo_v, max_value=hi_v)
