"""Actions: validation, decoding to economic units, uniform sampling.

Actions are tensors keyed by agent type (spec section 4): integer grid indices with
``action_space="discrete"`` (the paper), real values in economic units with
``action_space="continuous"`` (same shapes, bounds from ``rbc_env.core.types.action_box``):

| type | shape | last axis |
|---|---|---|
| ``consumer`` | [B, C, F + 2] | units index per good (F), hours index, employer (firm index) |
| ``firm`` | [B, F, 2] | next-price index, next-wage index |
| ``government`` | [B, 2] | next income-tax index, next corporate-tax index |

Grids are uniform, so index k decodes to k × step (steps in the config). A continuous action
decodes to itself, except the employer: e in [0, F] names firm min(⌊e⌋, F - 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from rbc_env.config import RBCConfig
from rbc_env.core.types import (
    AGENT_TYPES,
    action_box,
    action_head_names,
    action_nvec,
    agent_counts,
)

Actions = dict[str, torch.Tensor]


def action_shape(config: RBCConfig, agent_type: str, batch_size: int) -> tuple[int, ...]:
    """Expected shape of the index tensor of one agent type."""
    n_heads = len(action_nvec(config)[agent_type])  # type: ignore[index]
    if agent_type == "government":
        return (batch_size, n_heads)
    return (batch_size, agent_counts(config)[agent_type], n_heads)  # type: ignore[index]


def validate_actions(config: RBCConfig, actions: Actions, batch_size: int) -> None:
    """Check keys, tensor type, shape, dtype and index ranges of an action dict.

    The range check reads one min and max per head and type (``torch.aminmax`` over the batch
    and agents) and synchronizes with the device once per call, whatever the number of types;
    only when some index is out of range does it search for the first offending entry to name
    it. The trainers' hot loop may still skip it all (``BatchedEconomy(validate=False)``).

    Raises:
        ValueError: naming the agent type, the head, the allowed range and the value received.
    """
    if not isinstance(actions, dict):
        raise ValueError(f"actions must be a dict keyed by {list(AGENT_TYPES)}; got {actions!r}")
    unknown = sorted(set(actions) - set(AGENT_TYPES))
    if unknown:
        raise ValueError(
            f"actions has unknown agent type(s) {unknown}; allowed: {list(AGENT_TYPES)}"
        )
    for agent_type in AGENT_TYPES:
        if agent_type not in actions:
            raise ValueError(f"actions is missing agent type {agent_type!r}")
        a = actions[agent_type]
        expected = action_shape(config, agent_type, batch_size)
        if not isinstance(a, torch.Tensor):
            raise ValueError(
                f"{agent_type} actions must be a torch.Tensor of shape {expected}; "
                f"got {type(a).__name__}"
            )
        if tuple(a.shape) != expected:
            raise ValueError(
                f"{agent_type} actions must have shape {expected}; got {tuple(a.shape)}"
            )
    if config.action_space == "continuous":
        _validate_continuous(config, actions)
        return
    nvecs = action_nvec(config)
    heads = action_head_names(config)
    out_of_range = []
    for agent_type in AGENT_TYPES:
        a = actions[agent_type]
        if a.is_floating_point() or a.is_complex() or a.dtype == torch.bool:
            nan = (
                " (it contains NaN)" if a.is_floating_point() and bool(torch.isnan(a).any()) else ""
            )
            raise ValueError(
                f"{agent_type} actions must have an integer dtype (indices into the action grids); "
                f"got {a.dtype}{nan}"
            )
        if a.numel() == 0:
            continue
        lo, hi = torch.aminmax(a.reshape(-1, a.shape[-1]), dim=0)
        upper = torch.tensor(nvecs[agent_type], device=a.device, dtype=hi.dtype)
        out_of_range.append((lo < 0).any() | (hi >= upper).any())
    if not out_of_range or not bool(torch.stack(out_of_range).any()):  # the one sync
        return
    for agent_type in AGENT_TYPES:
        a = actions[agent_type]
        upper = torch.tensor(nvecs[agent_type], device=a.device)
        ranges = [f"[0, {n - 1}]" for n in nvecs[agent_type]]
        _raise_first(agent_type, a, (a < 0) | (a >= upper), heads[agent_type], ranges)


def _raise_first(
    agent_type: str,
    a: torch.Tensor,
    bad: torch.Tensor,
    head_names: tuple[str, ...],
    ranges: list[str],
) -> None:
    """Raise ``ValueError`` naming the first entry where ``bad`` holds (nothing if none)."""
    if not bool(bad.any()):
        return
    where = bad.nonzero()[0].tolist()
    head = where[-1]
    agent = "" if agent_type == "government" else f", agent {where[1]}"
    value = a[tuple(where)].item()
    raise ValueError(
        f"{agent_type} action {head_names[head]!r} must be in {ranges[head]}; got {value} "
        f"(economy {where[0]}{agent})"
    )


def _validate_continuous(config: RBCConfig, actions: Actions) -> None:
    """``validate_actions`` for ``action_space="continuous"``: real values inside the box.

    One device sync for all types (as the discrete check); NaN fails the range test too.
    """
    heads = action_head_names(config)
    boxes = action_box(config)
    outside = []
    for agent_type in AGENT_TYPES:
        a = actions[agent_type]
        if not a.is_floating_point():
            raise ValueError(
                f"{agent_type} actions must have a floating dtype (values in economic units, "
                f"RBCConfig.action_space='continuous'); got {a.dtype}"
            )
        low, high = (torch.tensor(b, device=a.device, dtype=a.dtype) for b in boxes[agent_type])
        outside.append(~((a >= low) & (a <= high)).all())
    if not bool(torch.stack(outside).any()):  # the one sync
        return
    for agent_type in AGENT_TYPES:
        a = actions[agent_type]
        low, high = (torch.tensor(b, device=a.device, dtype=a.dtype) for b in boxes[agent_type])
        ranges = [f"[{lo:g}, {hi:g}]" for lo, hi in zip(*boxes[agent_type], strict=True)]
        _raise_first(agent_type, a, ~((a >= low) & (a <= high)), heads[agent_type], ranges)


@dataclass(frozen=True, slots=True)
class DecodedActions:
    """Actions in economic units.

    Attributes:
        units: [B, C, F] attempted purchase in grid steps, k_ij = ĉ_ij / Δc (an integer index
            with discrete actions, a real one with continuous actions); the step multiplies by
            Δc where it is cheapest.
        hours: [B, C] hours, labour offered n_i.
        employer: [B, C] int64, firm that employs consumer i.
        price_next: [B, F] money / good, p'_j.
        wage_next: [B, F] money / hour, w'_j.
        income_tax_next: [B] fraction, τ'.
        corporate_tax_next: [B] fraction, σ'.
    """

    units: torch.Tensor
    hours: torch.Tensor
    employer: torch.Tensor
    price_next: torch.Tensor
    wage_next: torch.Tensor
    income_tax_next: torch.Tensor
    corporate_tax_next: torch.Tensor


def decode_actions(config: RBCConfig, actions: Actions, dtype: torch.dtype) -> DecodedActions:
    """Map actions to economic units.

    Discrete: value = index × grid step. Continuous: the value itself, except the employer e,
    which names firm min(⌊e⌋, F - 1).
    """
    f = config.n_firms
    c, fi, g = actions["consumer"], actions["firm"], actions["government"]
    if config.action_space == "continuous":
        return DecodedActions(
            units=c[..., :f].to(dtype) / config.consumer.units_step,
            hours=c[..., f].to(dtype),
            employer=c[..., f + 1].floor().long().clamp_(max=f - 1),
            price_next=fi[..., 0].to(dtype),
            wage_next=fi[..., 1].to(dtype),
            income_tax_next=g[..., 0].to(dtype),
            corporate_tax_next=g[..., 1].to(dtype),
        )
    return DecodedActions(
        units=c[..., :f].to(dtype),
        hours=c[..., f].to(dtype) * config.consumer.hours_step,
        employer=c[..., f + 1].long().contiguous(),  # gathers and scatters read it densely
        price_next=fi[..., 0].to(dtype) * config.firm.price_step,
        wage_next=fi[..., 1].to(dtype) * config.firm.wage_step,
        income_tax_next=g[..., 0].to(dtype) * config.government.tax_step,
        corporate_tax_next=g[..., 1].to(dtype) * config.government.tax_step,
    )


def grid_values(config: RBCConfig, actions: Actions) -> Actions:
    """Continuous actions at the grid points of index actions (the same economy step).

    Value = index × grid step for units, hours, prices, wages and taxes; employer k becomes
    k + 0.5, the middle of firm k's interval. With these values a continuous economy steps
    exactly as the discrete one with the indices (``tests/core/test_continuous.py``).

    Args:
        config: the economy (its grids; its ``dtype`` is the values' dtype).
        actions: index tensors of every type, in the core's shapes.

    Returns:
        Value tensors of the same shapes.
    """
    dtype = getattr(torch, config.dtype)
    f = config.n_firms
    c = actions["consumer"].to(dtype)
    steps = torch.tensor(
        (config.consumer.units_step,) * f + (config.consumer.hours_step, 1.0),
        dtype=dtype,
        device=c.device,
    )
    consumer = c * steps
    consumer[..., f + 1] += 0.5
    firm_steps = torch.tensor([config.firm.price_step, config.firm.wage_step], dtype=dtype)
    return {
        "consumer": consumer,
        "firm": actions["firm"].to(dtype) * firm_steps.to(c.device),
        "government": actions["government"].to(dtype) * config.government.tax_step,
    }


def sample_uniform_actions(
    config: RBCConfig,
    batch_size: int,
    *,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
    masks: dict[str, torch.Tensor] | None = None,
    bounds: dict[str, tuple[torch.Tensor, torch.Tensor]] | None = None,
) -> Actions:
    """Draw every head's index uniformly over its allowed choices.

    With ``action_space="continuous"`` every head is drawn uniformly on its box
    (``action_box``), or on ``bounds`` (``rbc_env.core.masks.action_bounds``), in the economy's
    float dtype; ``masks`` must then be None.

    Args:
        config: the economy.
        batch_size: B.
        generator: the only source of randomness.
        device: where the tensors are created (must match the generator's device).
        masks: optional flat boolean masks per type (see ``rbc_env.core.masks.action_masks``);
            a masked head draws uniformly over its allowed choices.
        bounds: continuous actions only: ``{type: (low [H], high [H])}`` inside the box.

    Returns:
        Index tensors keyed by agent type, with the shapes of ``action_shape``.
    """
    out: Actions = {}
    if bounds is not None and config.action_space != "continuous":
        raise ValueError("bounds apply to RBCConfig.action_space='continuous' only; use masks")
    if config.action_space == "continuous":
        if masks is not None:
            raise ValueError(
                "masks apply to discrete actions only; with RBCConfig.action_space='continuous' "
                "the curriculum bounds the values instead (rbc_env.core.action_bounds)"
            )
        dtype = getattr(torch, config.dtype)
        for agent_type, (low, high) in action_box(config).items():
            shape = action_shape(config, agent_type, batch_size)
            if bounds is not None:
                low, high = bounds[agent_type]
            lo = torch.as_tensor(low, device=device, dtype=dtype)
            hi = torch.as_tensor(high, device=device, dtype=dtype)
            u = torch.rand(shape, generator=generator, device=device, dtype=dtype)
            out[agent_type] = lo + (hi - lo) * u
        return out
    for agent_type, nvec in action_nvec(config).items():
        shape = action_shape(config, agent_type, batch_size)
        n_rows = 1
        for s in shape[:-1]:
            n_rows *= s
        columns = []
        offset = 0
        for n in nvec:
            mask = None if masks is None else masks[agent_type][offset : offset + n]
            if mask is None or bool(mask.all()):
                col = torch.randint(n, (n_rows,), generator=generator, device=device)
            else:
                weights = mask.to(device=device, dtype=torch.float64).expand(n_rows, n)
                col = torch.multinomial(weights, 1, generator=generator).squeeze(-1)
            columns.append(col)
            offset += n
        out[agent_type] = torch.stack(columns, dim=-1).reshape(shape)
    return out
