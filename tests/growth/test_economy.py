"""The growth family core (``rbc_env.growth.economy``; spec ``growth_model.md``, G1-G7).

Every expected number here is derived from the equations of the spec and of the module docstring,
re-implemented by hand in this file (ranges, the raw -> control maps, cash on hand, prices, the G6
market), never copied from a run of the code:

1. accounting identities for any raw actions (hypothesis: economy, sizes, switches, seeds, float64);
2. known values by hand (G1, G2, G3, the first welfare theorem G4 = G1, G5, G6, the shock);
3. batch consistency (g4, g6): replica b of a batch == the same economy stepped alone;
4. determinism under seeds;
5. validation of actions, shocks and configs;
6. observations (G7 masks, zeros at the steady state, hand-derived log deviations).
"""

from __future__ import annotations

import math
from dataclasses import fields

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rbc_env.config import GrowthConfig, GrowthParams
from rbc_env.growth import (
    GrowthEconomy,
    GrowthState,
    GrowthStep,
    action_ranges,
    agent_counts,
    controls_from_raw,
    global_state,
    observation_specs,
    observe,
    raw_from_controls,
    steady_state,
)

F64 = torch.float64
REL = 1e-10  # relative tolerance of the identities in float64
ACTION_MODES = ("uniform", "extremes", "inside", "boundary", "mixed")


# ---- hand-made references ------------------------------------------------------------------
def cfg64(name: str, **changes: object) -> GrowthConfig:
    """A preset in float64 with some fields changed (validated again)."""
    return GrowthConfig.preset(name).override({"dtype": "float64", **changes})


def hand_k_ss(cfg: GrowthConfig) -> float:
    """k_ss = (α / (1/β - 1 + δ))^(1/(1-α)) l_ss, l_ss = (1-α)/(b (1-αβ) + 1-α) in G2, else 1."""
    p = cfg.params
    hours = (
        (1 - p.alpha) / (p.b * (1 - p.alpha * p.beta) + 1 - p.alpha) if cfg.economy == "g2" else 1
    )
    return (p.alpha / (1 / p.beta - 1 + p.delta)) ** (1 / (1 - p.alpha)) * hours


def hand_ranges(cfg: GrowthConfig) -> dict[str, list[tuple[float, float]]]:
    """The control ranges of the module docstring, per agent type."""
    eps = cfg.min_share
    saving = (eps, 1 - eps) if cfg.action == "share" else (eps, cfg.quantity_max)
    if cfg.economy in ("g1", "g2", "g3", "g5"):
        cols = [saving] * cfg.n_sectors + ([(eps, 1 - eps)] if cfg.economy == "g2" else [])
        return {"planner": cols}
    out = {"household": [saving]}
    if cfg.economy == "g6":
        out["producer"] = [(0.0, cfg.markup_max)]
    return out


def lo_hi(cfg: GrowthConfig, agent_type: str) -> tuple[torch.Tensor, torch.Tensor]:
    ranges = hand_ranges(cfg)[agent_type]
    return (
        torch.tensor([r[0] for r in ranges], dtype=F64),
        torch.tensor([r[1] for r in ranges], dtype=F64),
    )


def hand_controls(cfg: GrowthConfig, agent_type: str, raw: torch.Tensor) -> torch.Tensor:
    """squash: lo + (hi - lo) / (1 + e^-a); clip and penalty: min(max(a, lo), hi)."""
    lo, hi = lo_hi(cfg, agent_type)
    if cfg.constraint == "squash":
        return lo + (hi - lo) / (1 + torch.exp(-raw))
    return torch.where(raw < lo, lo, torch.where(raw > hi, hi, raw))


def utility(c: torch.Tensor, gamma: float) -> torch.Tensor:
    return torch.log(c) if gamma == 1 else (c ** (1 - gamma) - 1) / (1 - gamma)


def draw_actions(
    cfg: GrowthConfig, batch: int, gen: torch.Generator, mode: str
) -> dict[str, torch.Tensor]:
    """Raw actions in [-bound, bound] of every type, drawn with ``gen`` in one of ACTION_MODES.

    ``uniform``: U(-bound, bound); ``extremes``: ±bound; ``inside``: the raw action of a control
    strictly inside its range (by hand); ``boundary``: exactly lo or hi of the range (feasible
    under clip/penalty); ``mixed``: each entry from one of the above at random.
    """
    bound = cfg.action_bound
    out = {}
    for t, n in agent_counts(cfg).items():
        lo, hi = lo_hi(cfg, t)
        shape = (batch, n, lo.numel())
        u = torch.rand(shape, generator=gen, dtype=F64)
        x = 0.02 + 0.96 * torch.rand(shape, generator=gen, dtype=F64)
        inside = torch.log(x / (1 - x)) if cfg.constraint == "squash" else lo + (hi - lo) * x
        options = {
            "uniform": (2 * u - 1) * bound,
            "extremes": torch.where(u < 0.5, -bound, bound).to(F64),
            "inside": inside,
            "boundary": torch.where(u < 0.5, lo, hi),
        }
        if mode == "mixed":
            pick = torch.randint(4, shape, generator=gen)
            a = torch.stack(list(options.values()), 0).gather(0, pick.unsqueeze(0))[0]
        else:
            a = options[mode]
        out[t] = a.clamp(-bound, bound)
    return out


def close(actual: torch.Tensor, expected: torch.Tensor, what: str, rel: float = REL) -> None:
    torch.testing.assert_close(
        actual, expected.to(actual.dtype), rtol=rel, atol=rel, msg=lambda m: f"{what}: {m}"
    )


def set_state(econ: GrowthEconomy, **changes: object) -> GrowthState:
    """Replace some state fields (plain numbers/lists become float64 tensors)."""
    tensors = {k: torch.as_tensor(v, dtype=F64) for k, v in changes.items()}
    econ.set_state(econ.with_state(**tensors))
    return econ.state


def ss_state(econ: GrowthEconomy) -> GrowthState:
    """Every economy of the batch at the deterministic steady state (k = k_ss, log z = 0)."""
    s = econ.state
    return set_state(
        econ,
        capital=torch.full_like(s.capital, hand_k_ss(econ.config)),
        log_z=torch.zeros_like(s.log_z),
        price=torch.ones_like(s.price),
    )


# ---- 1. accounting identities for any raw actions --------------------------------------------
@st.composite
def growth_configs(draw: st.DrawFn) -> GrowthConfig:
    """A small float64 economy among the g1..g7 presets, with random switches."""
    base = draw(st.sampled_from(["g1", "g2", "g3", "g3_log", "g4", "g5", "g6", "g7r", "g7h"]))
    changes: dict[str, object] = {
        "action": draw(st.sampled_from(["share", "quantity"])),
        "constraint": draw(st.sampled_from(["squash", "clip", "penalty"])),
        "penalty": draw(st.floats(0.1, 50.0)),
        "action_bound": draw(st.sampled_from([10.0, 3.0])),
    }
    if base in ("g1", "g2", "g3", "g3_log"):
        name = base
    elif base == "g4":
        name = f"g4_h{draw(st.integers(1, 4))}"
    elif base == "g5":
        name = f"g5_n{draw(st.integers(1, 3))}"
    elif base == "g6":
        name = f"g6_n{draw(st.integers(1, 3))}"
        changes["n_households"] = draw(st.integers(1, 4))
        changes["adjustment_cost"] = draw(st.sampled_from([0.0, 0.5, 3.0]))
    else:
        name = "g7_restricted" if base == "g7r" else "g7_half"
        changes["n_households"] = draw(st.integers(1 if base == "g7r" else 2, 4))
    if base in ("g4", "g7r", "g7h") and draw(st.booleans()):
        # Markets allow δ < 1 and CRRA: exercise the undepreciated capital (1 - δ) K.
        changes["params"] = GrowthParams.hansen(draw(st.sampled_from([1.0, 2.0])))
    return cfg64(name, **changes)


def _check_step(
    cfg: GrowthConfig,
    before: GrowthState,
    after: GrowthState,
    out: GrowthStep,
    actions: dict[str, torch.Tensor],
    shocks: torch.Tensor,
) -> None:
    p = cfg.params
    fl = out.flows
    eps = cfg.min_share
    k = before.capital
    n_k = k.shape[1]
    k_ss = hand_k_ss(cfg)
    planner = cfg.economy in ("g1", "g2", "g3", "g5")
    chooser = "planner" if planner else "household"

    for name, v in {**fl, **{f"reward.{t}": r for t, r in out.rewards.items()}}.items():
        if v.is_floating_point():
            assert torch.isfinite(v).all(), f"{name} not finite"
    for t, o in out.obs.items():
        assert o.shape == (k.shape[0], agent_counts(cfg)[t], *observation_specs(cfg)[t].shape), t
        assert torch.isfinite(o).all(), f"obs.{t} not finite"

    # Controls by hand.
    raw = actions[chooser]
    u = hand_controls(cfg, chooser, raw)
    saving = u[:, 0, :n_k] if planner else u[..., 0]
    hours = u[:, 0, n_k:] if cfg.economy == "g2" else None

    # Cash on hand by hand.
    z = before.log_z.exp()
    if planner:
        lab = hours if hours is not None else torch.ones_like(k)
        y = z * k**p.alpha * lab ** (1 - p.alpha)
        cash = y + (1 - p.delta) * k
        close(fl["output"], y.sum(-1), "output (planner)")
        close(fl["gross_return"], p.alpha * y / k + 1 - p.delta, "gross return (planner)")
    else:
        big_k, h = k.sum(-1), cfg.n_households
        r = p.alpha * z[:, 0] * big_k ** (p.alpha - 1) * h ** (1 - p.alpha)
        w = (1 - p.alpha) * z[:, 0] * big_k**p.alpha * h ** (-p.alpha)
        cash = r[:, None] * k + w[:, None] + (1 - p.delta) * k
        if cfg.economy == "g6":
            cash = cash + before.dividend[:, None] / h
        close(fl["rental"], r, "rental")
        close(fl["wage"], w, "wage")
        # Cobb-Douglas: y = z K^α H^(1-α) = r K + w H (Euler's theorem).
        y = z[:, 0] * big_k**p.alpha * h ** (1 - p.alpha)
        close(fl["output"], y, "output (markets)")
        close(fl["rental"] * big_k + fl["wage"] * h, fl["output"], "r K + w H = Y")
        # Σ_h m_h = Y + (1 - δ) K (+ the dividend paid in G6).
        paid = before.dividend if cfg.economy == "g6" else torch.zeros_like(big_k)
        close(fl["cash"].sum(-1), fl["output"] + (1 - p.delta) * big_k + paid, "Σ cash")
        close(fl["gross_return"], (r + 1 - p.delta)[:, None].expand_as(k), "gross return")
    close(fl["cash"], cash, "cash on hand")

    # The price of new capital: 1, or in G6 the lowest posted price 1 + markup.
    if cfg.economy == "g6":
        price = 1 + hand_controls(cfg, "producer", actions["producer"])[..., 0]
        q = price.min(-1).values
    else:
        q = torch.ones(k.shape[0], dtype=F64)
    close(fl["capital_price"], q[:, None].expand_as(k), "capital price")

    # Spending, next capital, consumption, and the quantity cut, by hand.
    if cfg.action == "share":
        spend = saving * cash
        cut = torch.zeros_like(k)
    else:
        wanted = saving * k_ss * q[:, None]
        over = wanted > (1 - eps) * cash
        spend = torch.where(over, (1 - eps) * cash, wanted)
        cut = torch.where(over, saving - (1 - eps) * cash / (k_ss * q[:, None]), 0.0)
    close(fl["capital_next"], spend / q[:, None], "capital_next")
    close(fl["consumption"], cash - spend, "consumption")

    # The budget identity from the flows alone: c + q k' = m.
    close(fl["consumption"] + fl["capital_next"] * fl["capital_price"], fl["cash"], "c + q k' = m")

    # Non-negativity and ranges.
    assert (fl["consumption"] > 0).all(), "consumption must be positive"
    assert (fl["capital_next"] > 0).all(), "capital_next must be positive"
    assert (fl["consumption"] >= eps * fl["cash"] * (1 - 1e-12)).all(), "c >= ε m"
    share = fl["saving_share"]
    assert (share <= (1 - eps) * (1 + 1e-12)).all(), "saving share above 1 - ε"
    if cfg.action == "share":
        assert (share >= eps * (1 - 1e-12)).all(), "saving share below ε"
        close(share, saving, "saving share = control")
    else:
        assert (share > 0).all()
    if cfg.economy == "g2":
        assert (fl["hours"] >= eps).all() and (fl["hours"] <= 1 - eps).all(), "hours range"
        close(fl["hours"], hours, "hours")
    else:
        assert torch.equal(fl["hours"], torch.ones_like(fl["hours"])), "inelastic hours = 1"

    # Penalties: exactly 0 under squash/clip; κ (Σ (a - u)² + cut²) > 0 iff infeasible.
    for t in agent_counts(cfg):
        pen = fl[f"penalty_{t}"]
        if cfg.constraint != "penalty":
            assert torch.equal(pen, torch.zeros_like(pen)), f"penalty_{t} under {cfg.constraint}"
            continue
        raw_t = actions[t]
        lo, hi = lo_hi(cfg, t)
        ut = hand_controls(cfg, t, raw_t)
        expected = cfg.penalty * (raw_t - ut).square().sum(-1)
        infeasible = ((raw_t < lo) | (raw_t > hi)).any(-1)
        if t == chooser:
            if planner:
                expected = expected + cfg.penalty * cut.square().sum(-1, keepdim=True)
                infeasible = infeasible | (cut > 0).any(-1, keepdim=True)
            else:
                expected = expected + cfg.penalty * cut.square()
                infeasible = infeasible | (cut > 0)
        assert (pen >= 0).all(), f"negative penalty_{t}"
        assert torch.equal(pen > 0, infeasible), f"penalty_{t} > 0 iff infeasible"
        close(pen, expected, f"penalty_{t}")
    assert (~(cut > 1e-12) | fl["constrained"]).all(), "a cut choice is flagged constrained"

    # Rewards: reward + penalty = utility (G5: of C = Π C_j^(1/N); G2: + b ln(1 - l)).
    c = fl["consumption"]
    if cfg.economy == "g5":
        big_c = torch.exp(torch.log(c).mean(-1, keepdim=True))
        util = utility(big_c, p.gamma)
        close(fl["marginal_utility"], big_c ** (-p.gamma) * big_c / (n_k * c), "∂u/∂C_j")
    else:
        util = utility(c, p.gamma)
        close(fl["marginal_utility"], c ** (-p.gamma), "u'(c)")
    if cfg.economy == "g2":
        util = util + p.b * torch.log(1 - hours)
    close(out.rewards[chooser] + fl[f"penalty_{chooser}"], util, "reward + penalty = u")

    # G6: the capital-good market and the goods identity.
    if cfg.economy == "g6":
        phi = cfg.adjustment_cost
        inv, profit = fl["investment"], fl["profit"]
        close(fl["price"], price, "posted prices")
        close(fl["price_min"], q, "lowest price")
        total = spend.sum(-1)
        close(fl["spending"], total, "spending")
        winners = price <= q[:, None]
        units = (total / q)[:, None] * winners / winners.sum(-1, keepdim=True)
        close(inv, units, "investment (cheapest sell, ties split evenly)")
        assert torch.equal(inv[~winners], torch.zeros_like(inv[~winners])), "dearer sold"
        close(profit, price * units - units - phi / 2 * units**2, "profit")
        close(out.rewards["producer"] + fl["penalty_producer"], profit, "producer reward")
        # Households' spending = what the producers sell, at their prices.
        close(fl["spending"], (fl["price"] * inv).sum(-1), "Σ e_h = Σ q_n I_n")
        # Goods: Σ c + Σ cost(I) + Σ π = Y + (1 - δ) K + dividend paid.
        cost = inv + phi / 2 * inv**2
        lhs = c.sum(-1) + cost.sum(-1) + profit.sum(-1)
        rhs = fl["output"] + (1 - p.delta) * k.sum(-1) + before.dividend
        close(lhs, rhs, "G6 goods identity")
        close(after.dividend, profit.clamp(min=0).sum(-1), "dividend = Σ max(π, 0)")
        close(fl["producer_loss"], (-profit).clamp(min=0).sum(-1), "producer loss")
        close(after.price, price, "state.price")
        close(after.spending, total, "state.spending")
        sold = units.max(-1).values
        close(fl["markup"], q / (1 + phi * sold) - 1, "markup over marginal cost")
    else:
        assert torch.equal(after.dividend, before.dividend)

    # Transitions.
    close(after.capital, fl["capital_next"], "state.capital")
    close(after.log_z, p.rho * before.log_z + p.sigma * shocks, "log z' = ρ log z + σ ε")
    assert torch.equal(after.t, before.t + 1)
    assert torch.equal(out.done, after.t >= cfg.horizon)


@settings(max_examples=60, deadline=None)
@given(
    cfg=growth_configs(),
    seed=st.integers(0, 2**31 - 1),
    modes=st.lists(st.sampled_from(ACTION_MODES), min_size=3, max_size=3),
    spread=st.sampled_from([0.0, 0.3, 1.5]),
)
def test_accounting_identities_for_any_actions(
    cfg: GrowthConfig, seed: int, modes: list[str], spread: float
) -> None:
    batch = 3
    gen = torch.Generator().manual_seed(seed)
    econ = GrowthEconomy(cfg, batch_size=batch, seed=seed)
    # Asymmetric households / sectors and a random productivity.
    s = econ.state
    log_k = spread * (2 * torch.rand(s.capital.shape, generator=gen, dtype=F64) - 1)
    set_state(
        econ,
        capital=hand_k_ss(cfg) * log_k.exp(),
        log_z=0.2 * torch.randn(s.log_z.shape, generator=gen, dtype=F64),
    )
    for mode in modes:
        before = econ.state
        actions = draw_actions(cfg, batch, gen, mode)
        shocks = torch.randn(before.log_z.shape, generator=gen, dtype=F64)
        out = econ.step(actions, shocks)
        _check_step(cfg, before, econ.state, out, actions, shocks)


@settings(max_examples=40, deadline=None)
@given(cfg=growth_configs(), seed=st.integers(0, 2**31 - 1))
def test_controls_lie_in_their_ranges_and_round_trip(cfg: GrowthConfig, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    assert {t: list(r) for t, r in action_ranges(cfg).items()} == hand_ranges(cfg)
    for t in agent_counts(cfg):
        lo, hi = lo_hi(cfg, t)
        shape = (4, 3, lo.numel())
        raw = (2 * torch.rand(shape, generator=gen, dtype=F64) - 1) * cfg.action_bound
        u, pen = controls_from_raw(cfg, t, raw)
        assert pen.shape == shape[:-1]
        close(u, hand_controls(cfg, t, raw), f"controls of {t}")
        assert (u >= lo).all() and (u <= hi).all(), f"{t} controls outside their ranges"
        # Controls strictly inside their ranges go back and forth.
        x = 0.01 + 0.98 * torch.rand(shape, generator=gen, dtype=F64)
        inside = lo + (hi - lo) * x
        back = raw_from_controls(cfg, t, inside)
        close(controls_from_raw(cfg, t, back)[0], inside, f"u -> raw -> u ({t})", rel=1e-12)
        if cfg.constraint == "squash":
            close(back, torch.log(x / (1 - x)), f"logit of the range position ({t})", rel=1e-9)
            assert ((u > lo) & (u < hi)).all(), "squash keeps controls strictly inside"
            # ... and raw -> u -> raw is the identity on [-bound, bound].
            close(raw_from_controls(cfg, t, u), raw, f"raw -> u -> raw ({t})", rel=1e-8)
            # Zero raw action is the middle of the range.
            mid = controls_from_raw(cfg, t, torch.zeros(shape, dtype=F64))[0]
            close(mid, ((lo + hi) / 2).expand(shape), "squash(0) = middle")
        else:
            assert torch.equal(back, inside)
            if cfg.constraint == "clip":
                assert torch.equal(pen, torch.zeros_like(pen))
            else:
                assert torch.equal(pen > 0, ((raw < lo) | (raw > hi)).any(-1))
                close(pen, cfg.penalty * (raw - u).square().sum(-1), "penalty κ (a - u)²")


# ---- 2. known values by hand -----------------------------------------------------------------
def test_steady_state_matches_the_spec_numbers() -> None:
    g1 = steady_state(GrowthConfig.preset("g1"))
    assert g1.capital == pytest.approx((0.36 * 0.95) ** (1 / 0.64), rel=1e-12)
    assert g1.capital == pytest.approx(0.1870, abs=5e-5)  # spec G1
    assert g1.hours == 1.0
    g2 = steady_state(GrowthConfig.preset("g2"))
    assert g2.hours == pytest.approx(0.16285, abs=5e-6)  # spec G2
    # k = α β k^α l^(1-α) at the steady state of G2.
    assert g2.capital == pytest.approx(0.36 * 0.95 * g2.capital**0.36 * g2.hours**0.64, rel=1e-12)
    g3 = steady_state(GrowthConfig.preset("g3"))
    # 1 = β (α k^(α-1) + 1 - δ).
    assert 0.99 * (0.36 * g3.capital ** (-0.64) + 0.975) == pytest.approx(1.0, rel=1e-12)
    assert g3.sd_log_z == pytest.approx(0.00712 / math.sqrt(1 - 0.95**2), rel=1e-12)
    assert g3.rental == pytest.approx(0.36 * g3.capital ** (-0.64), rel=1e-12)
    assert g3.wage == pytest.approx(0.64 * g3.capital**0.36, rel=1e-12)


def test_g1_share_gives_the_brock_mirman_budget() -> None:
    """k' = s z k^α and reward ln((1 - s) z k^α) (δ = 1), with s set exactly by clipping."""
    cfg = cfg64("g1", constraint="clip")
    econ = GrowthEconomy(cfg, batch_size=3, seed=0)
    ks, log_zs, ss = [0.05, 0.2, 0.7], [-0.1, 0.0, 0.25], [0.342, 0.5, 0.9]
    set_state(econ, capital=[[k] for k in ks], log_z=[[lz] for lz in log_zs])
    actions = {"planner": torch.tensor(ss, dtype=F64).view(3, 1, 1)}
    out = econ.step(actions, torch.zeros(3, 1, dtype=F64))
    for b, (k, lz, s) in enumerate(zip(ks, log_zs, ss, strict=True)):
        y = math.exp(lz) * k**0.36
        assert float(econ.state.capital[b, 0]) == pytest.approx(s * y, rel=1e-13)
        assert float(out.rewards["planner"][b, 0]) == pytest.approx(
            math.log((1 - s) * y), rel=1e-13
        )
        assert float(out.flows["gross_return"][b, 0]) == pytest.approx(0.36 * y / k, rel=1e-13)
        assert float(econ.state.log_z[b, 0]) == pytest.approx(0.9 * lz, abs=1e-15)


def test_g1_squash_midpoint_and_penalty_value() -> None:
    """squash(0) saves (ε + 1 - ε)/2 = 1/2; a penalized 1.5 saves 1 - ε and costs κ (1.5-(1-ε))²."""
    k, eps = 0.3, 1e-3
    y = k**0.36
    econ = GrowthEconomy(cfg64("g1"), batch_size=1, seed=0)
    set_state(econ, capital=[[k]], log_z=[[0.0]])
    out = econ.step({"planner": torch.zeros(1, 1, 1, dtype=F64)}, torch.zeros(1, 1, dtype=F64))
    assert float(econ.state.capital[0, 0]) == pytest.approx(0.5 * y, rel=1e-13)
    assert float(out.rewards["planner"][0, 0]) == pytest.approx(math.log(0.5 * y), rel=1e-13)

    econ = GrowthEconomy(cfg64("g1", constraint="penalty", penalty=7.0), batch_size=1, seed=0)
    set_state(econ, capital=[[k]], log_z=[[0.0]])
    out = econ.step(
        {"planner": torch.full((1, 1, 1), 1.5, dtype=F64)}, torch.zeros(1, 1, dtype=F64)
    )
    pen = 7.0 * (1.5 - (1 - eps)) ** 2
    assert float(out.flows["penalty_planner"][0, 0]) == pytest.approx(pen, rel=1e-12)
    assert float(econ.state.capital[0, 0]) == pytest.approx((1 - eps) * y, rel=1e-13)
    assert float(out.rewards["planner"][0, 0]) == pytest.approx(math.log(eps * y) - pen, rel=1e-12)


def test_g1_quantity_and_its_cut() -> None:
    """x = 1 buys k' = k_ss; x = 4 from a small k is cut to (1 - ε) m, charged κ (x - x_feas)²."""
    eps, kappa = 1e-3, 10.0
    k_ss = (0.36 * 0.95) ** (1 / 0.64)
    cfg = cfg64("g1", action="quantity", constraint="penalty")
    econ = GrowthEconomy(cfg, batch_size=2, seed=0)
    ks = [2 * k_ss, 0.01]
    set_state(econ, capital=[[ks[0]], [ks[1]]], log_z=[[0.0], [0.0]])
    raw = torch.tensor([1.0, 4.0], dtype=F64).view(2, 1, 1)
    out = econ.step({"planner": raw}, torch.zeros(2, 1, dtype=F64))
    m0, m1 = ks[0] ** 0.36, ks[1] ** 0.36
    assert 4 * k_ss > (1 - eps) * m1  # the second choice is infeasible
    assert float(econ.state.capital[0, 0]) == pytest.approx(k_ss, rel=1e-13)
    assert float(out.flows["penalty_planner"][0, 0]) == 0.0
    assert float(out.rewards["planner"][0, 0]) == pytest.approx(math.log(m0 - k_ss), rel=1e-13)
    assert float(econ.state.capital[1, 0]) == pytest.approx((1 - eps) * m1, rel=1e-13)
    pen = kappa * (4 - (1 - eps) * m1 / k_ss) ** 2
    assert float(out.flows["penalty_planner"][1, 0]) == pytest.approx(pen, rel=1e-12)
    assert float(out.rewards["planner"][1, 0]) == pytest.approx(math.log(eps * m1) - pen, rel=1e-12)
    assert out.flows["constrained"].tolist() == [[False], [True]]


def test_g2_output_with_hours() -> None:
    """y = z k^α l^(1-α); reward ln((1 - s) y) + b ln(1 - l)."""
    cfg = cfg64("g2", constraint="clip")
    econ = GrowthEconomy(cfg, batch_size=1, seed=0)
    k, lz, s, lab = 0.08, 0.1, 0.3, 0.25
    set_state(econ, capital=[[k]], log_z=[[lz]])
    out = econ.step(
        {"planner": torch.tensor([[[s, lab]]], dtype=F64)}, torch.zeros(1, 1, dtype=F64)
    )
    y = math.exp(lz) * k**0.36 * lab**0.64
    assert float(out.flows["output"][0]) == pytest.approx(y, rel=1e-13)
    assert float(out.flows["hours"][0, 0]) == lab
    assert float(econ.state.capital[0, 0]) == pytest.approx(s * y, rel=1e-13)
    expected = math.log((1 - s) * y) + 5.0 * math.log(1 - lab)
    assert float(out.rewards["planner"][0, 0]) == pytest.approx(expected, rel=1e-13)


def test_g3_crra_with_depreciation() -> None:
    """Hansen, γ = 2: m = z k^α + (1 - δ) k, reward (c^(-1) - 1)/(-1), u'(c) = c^-2."""
    cfg = GrowthConfig.preset("g3").override({"dtype": "float64", "constraint": "clip"})
    econ = GrowthEconomy(cfg, batch_size=1, seed=0)
    k, lz, s = 30.0, -0.02, 0.8
    set_state(econ, capital=[[k]], log_z=[[lz]])
    out = econ.step({"planner": torch.tensor([[[s]]], dtype=F64)}, torch.zeros(1, 1, dtype=F64))
    m = math.exp(lz) * k**0.36 + 0.975 * k
    c = (1 - s) * m
    assert float(out.flows["cash"][0, 0]) == pytest.approx(m, rel=1e-13)
    assert float(econ.state.capital[0, 0]) == pytest.approx(s * m, rel=1e-13)
    assert float(out.rewards["planner"][0, 0]) == pytest.approx(1 - 1 / c, rel=1e-13)
    assert float(out.flows["marginal_utility"][0, 0]) == pytest.approx(c**-2, rel=1e-13)
    gross = 0.36 * math.exp(lz) * k ** (-0.64) + 0.975
    assert float(out.flows["gross_return"][0, 0]) == pytest.approx(gross, rel=1e-13)


@pytest.mark.parametrize(
    ("market", "planner", "params"),
    [
        ("g4_h4", "g1", None),
        ("g4_h1", "g1", None),
        ("g4_h4", "g3", GrowthParams.hansen(2.0)),
    ],
)
def test_g4_symmetric_market_equals_the_planner(
    market: str, planner: str, params: GrowthParams | None
) -> None:
    """First welfare theorem: H households at k each, saving s, give K'/H = the planner's k'.

    m_h = r k + w + (1 - δ) k = α z k^α + (1 - α) z k^α + (1 - δ) k = the planner's m at k.
    """
    extra = {"constraint": "clip"} | ({"params": params} if params else {})
    mk = cfg64(market, **extra)
    pl = GrowthConfig.preset(planner).override({"dtype": "float64", **extra})
    h = mk.n_households
    s = mk.params.alpha * mk.params.beta if params is None else 0.75
    ks, lzs = [0.1, 0.4], [0.05, -0.2]
    m_econ = GrowthEconomy(mk, batch_size=2, seed=0)
    p_econ = GrowthEconomy(pl, batch_size=2, seed=0)
    set_state(m_econ, capital=[[k] * h for k in ks], log_z=[[lz] for lz in lzs])
    set_state(p_econ, capital=[[k] for k in ks], log_z=[[lz] for lz in lzs])
    shocks = torch.tensor([[0.3], [-1.0]], dtype=F64)
    mo = m_econ.step({"household": torch.full((2, h, 1), s, dtype=F64)}, shocks)
    po = p_econ.step({"planner": torch.full((2, 1, 1), s, dtype=F64)}, shocks)
    agg = m_econ.state.capital.sum(-1) / h
    torch.testing.assert_close(agg, p_econ.state.capital[:, 0], rtol=1e-13, atol=0)
    torch.testing.assert_close(
        mo.flows["consumption"], po.flows["consumption"].expand(2, h), rtol=1e-13, atol=0
    )
    torch.testing.assert_close(
        mo.rewards["household"], po.rewards["planner"].expand(2, h), rtol=1e-12, atol=1e-14
    )
    torch.testing.assert_close(mo.flows["output"] / h, po.flows["output"], rtol=1e-13, atol=0)
    torch.testing.assert_close(m_econ.state.log_z, p_econ.state.log_z, rtol=0, atol=0)


def test_g5_reward_is_log_of_the_geometric_mean() -> None:
    """C_j = (1 - s_j) z_j k_j^α; reward ln C = (1/N) Σ_j ln C_j; ∂u/∂C_j = 1/(N C_j)."""
    cfg = cfg64("g5_n3", constraint="clip")
    econ = GrowthEconomy(cfg, batch_size=1, seed=0)
    ks, lzs, ss = [0.1, 0.2, 0.5], [0.0, 0.1, -0.3], [0.2, 0.4, 0.6]
    set_state(econ, capital=[ks], log_z=[lzs])
    shocks = torch.tensor([[1.0, -2.0, 0.5]], dtype=F64)
    out = econ.step({"planner": torch.tensor([[ss]], dtype=F64)}, shocks)
    cs = [(1 - s) * math.exp(lz) * k**0.36 for k, lz, s in zip(ks, lzs, ss, strict=True)]
    reward = sum(math.log(c) for c in cs) / 3
    assert float(out.rewards["planner"][0, 0]) == pytest.approx(reward, rel=1e-13)
    for j in range(3):
        y = math.exp(lzs[j]) * ks[j] ** 0.36
        assert float(econ.state.capital[0, j]) == pytest.approx(ss[j] * y, rel=1e-13)
        assert float(out.flows["marginal_utility"][0, j]) == pytest.approx(
            1 / (3 * cs[j]), rel=1e-12
        )
        # Independent AR(1) per sector: log z'_j = ρ log z_j + σ ε_j.
        expected = 0.9 * lzs[j] + 0.02 * float(shocks[0, j])
        assert float(econ.state.log_z[0, j]) == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("name", ["g1", "g3", "g4_h3", "g5_n2", "g6_n2", "g7_half"])
def test_shock_process(name: str) -> None:
    cfg = GrowthConfig.preset(name).override({"dtype": "float64"})
    p = cfg.params
    econ = GrowthEconomy(cfg, batch_size=4, seed=3)
    before = econ.state.log_z.clone()
    shocks = torch.tensor([-2.0, -0.5, 0.0, 1.5], dtype=F64)[:, None].expand_as(before)
    econ.step(econ.sample_actions(), shocks.contiguous())
    expected = p.rho * before + p.sigma * shocks
    torch.testing.assert_close(econ.state.log_z, expected, rtol=1e-14, atol=1e-16)
    assert torch.equal(econ.state.t, torch.ones(4, dtype=torch.int64))


def _g6(n_producers: int, n_households: int = 2, **changes: object) -> GrowthEconomy:
    cfg = cfg64(f"g6_n{n_producers}", n_households=n_households, constraint="clip", **changes)
    return GrowthEconomy(cfg, batch_size=1, seed=0)


def test_g6_cheapest_producer_sells_and_pays_dividends_next_period() -> None:
    """Two producers at markups 0.2 and 0.5; H = 2 households save shares 0.3 and 0.4."""
    phi, alpha = 0.5, 0.36
    econ = _g6(2)
    ks, lz = [0.1, 0.3], 0.05
    set_state(econ, capital=[ks], log_z=[[lz]])
    z, big_k = math.exp(lz), sum(ks)
    r = alpha * z * big_k ** (alpha - 1) * 2 ** (1 - alpha)
    w = (1 - alpha) * z * big_k**alpha * 2 ** (-alpha)
    cash = [r * k + w for k in ks]  # δ = 1, no dividend yet
    shares = [0.3, 0.4]
    actions = {
        "household": torch.tensor([[[shares[0]], [shares[1]]]], dtype=F64),
        "producer": torch.tensor([[[0.2], [0.5]]], dtype=F64),
    }
    out = econ.step(actions, torch.zeros(1, 1, dtype=F64))
    spend = [s * m for s, m in zip(shares, cash, strict=True)]
    total = sum(spend)
    units = total / 1.2
    profit = 1.2 * units - units - phi / 2 * units**2
    fl = out.flows
    assert float(fl["price_min"][0]) == pytest.approx(1.2, rel=1e-15)
    assert fl["investment"][0].tolist() == pytest.approx([units, 0.0], rel=1e-13)
    assert fl["profit"][0].tolist() == pytest.approx([profit, 0.0], rel=1e-12, abs=1e-15)
    assert out.rewards["producer"][0].tolist() == pytest.approx([profit, 0.0], rel=1e-12, abs=1e-15)
    for h in range(2):
        assert float(econ.state.capital[0, h]) == pytest.approx(spend[h] / 1.2, rel=1e-13)
        c = cash[h] - spend[h]
        assert float(out.rewards["household"][0, h]) == pytest.approx(math.log(c), rel=1e-13)
    assert float(fl["markup"][0]) == pytest.approx(1.2 / (1 + phi * units) - 1, rel=1e-12)
    assert profit > 0
    assert float(econ.state.dividend[0]) == pytest.approx(profit, rel=1e-12)
    assert float(fl["producer_loss"][0]) == 0.0

    # Next period the profit is paid to households, d / H each.
    ks2 = [spend[0] / 1.2, spend[1] / 1.2]
    out2 = econ.step(actions, torch.zeros(1, 1, dtype=F64))
    z2, big_k2 = math.exp(0.9 * lz), sum(ks2)
    r2 = alpha * z2 * big_k2 ** (alpha - 1) * 2 ** (1 - alpha)
    w2 = (1 - alpha) * z2 * big_k2**alpha * 2 ** (-alpha)
    for h in range(2):
        m2 = r2 * ks2[h] + w2 + profit / 2
        assert float(out2.flows["cash"][0, h]) == pytest.approx(m2, rel=1e-12)


def test_g6_ties_split_evenly() -> None:
    econ = _g6(3, n_households=1)
    set_state(econ, capital=[[0.2]], log_z=[[0.0]])
    actions = {
        "household": torch.tensor([[[0.5]]], dtype=F64),
        "producer": torch.tensor([[[0.3], [0.1], [0.1]]], dtype=F64),
    }
    out = econ.step(actions, torch.zeros(1, 1, dtype=F64))
    total = 0.5 * 0.2**0.36  # H = 1: m = r k + w = k^α
    each = total / 1.1 / 2
    assert out.flows["investment"][0].tolist() == pytest.approx([0.0, each, each], rel=1e-13)
    assert float(econ.state.capital[0, 0]) == pytest.approx(total / 1.1, rel=1e-13)
    # markup over a tied seller's own marginal cost at the units it sold (not at the total)
    phi = econ.config.adjustment_cost
    assert float(out.flows["markup"][0]) == pytest.approx(1.1 / (1 + phi * each) - 1, rel=1e-13)


def test_g6_losses_are_written_off() -> None:
    """At markup 0 the producer loses φ/2 I²: no dividend, the loss is a flow."""
    econ = _g6(1, n_households=1, adjustment_cost=2.0)
    set_state(econ, capital=[[0.2]], log_z=[[0.0]])
    actions = {
        "household": torch.tensor([[[0.5]]], dtype=F64),
        "producer": torch.tensor([[[0.0]]], dtype=F64),
    }
    out = econ.step(actions, torch.zeros(1, 1, dtype=F64))
    units = 0.5 * 0.2**0.36
    assert float(out.flows["profit"][0, 0]) == pytest.approx(-(units**2), rel=1e-13)
    assert float(out.flows["producer_loss"][0]) == pytest.approx(units**2, rel=1e-13)
    assert float(econ.state.dividend[0]) == 0.0
    out2 = econ.step(actions, torch.zeros(1, 1, dtype=F64))
    assert float(out2.flows["cash"][0, 0]) == pytest.approx(units**0.36, rel=1e-13)


# ---- 3. batch consistency --------------------------------------------------------------------
def _slice_state(state: GrowthState, b: int) -> GrowthState:
    return GrowthState(**{f.name: getattr(state, f.name)[b : b + 1] for f in fields(state)})


@pytest.mark.parametrize("name", ["g4_h3", "g6_n3", "g6_n1"])
@pytest.mark.parametrize("action", ["share", "quantity"])
def test_replica_equals_single_run(name: str, action: str, device: str) -> None:
    batch, n_steps = 5, 4
    extra = {"n_households": 3} if name.startswith("g6") else {}
    cfg = cfg64(name, action=action, constraint="penalty", **extra)
    gen = torch.Generator().manual_seed(17)
    econ = GrowthEconomy(cfg, batch_size=batch, device=device, seed=1)
    s = econ.state
    log_k = 2 * torch.rand(s.capital.shape, generator=gen, dtype=F64) - 1
    set_state(econ, capital=hand_k_ss(cfg) * log_k.exp())
    singles = []
    for b in range(batch):
        one = GrowthEconomy(cfg, batch_size=1, device=device, seed=100 + b)
        one.set_state(_slice_state(econ.state, b))
        singles.append(one)
    for t in range(n_steps):
        actions = draw_actions(cfg, batch, gen, ACTION_MODES[t % len(ACTION_MODES)])
        actions = {k: v.to(device) for k, v in actions.items()}
        shocks = torch.randn(s.log_z.shape, generator=gen, dtype=F64).to(device)
        out = econ.step(actions, shocks)
        for b, one in enumerate(singles):
            o1 = one.step({k: v[b : b + 1] for k, v in actions.items()}, shocks[b : b + 1])
            for f in fields(GrowthState):
                torch.testing.assert_close(
                    getattr(one.state, f.name),
                    getattr(econ.state, f.name)[b : b + 1],
                    rtol=1e-13,
                    atol=1e-15,
                    msg=lambda m, w=f"step {t}, replica {b}, state.{f.name}": f"{w}: {m}",
                )
            for group, batched, single in (
                ("rewards", out.rewards, o1.rewards),
                ("obs", out.obs, o1.obs),
                ("flows", out.flows, o1.flows),
            ):
                assert batched.keys() == single.keys(), group
                for k in batched:
                    torch.testing.assert_close(
                        single[k],
                        batched[k][b : b + 1],
                        rtol=1e-13,
                        atol=1e-15,
                        msg=lambda m, w=f"step {t}, replica {b}, {group}.{k}": f"{w}: {m}",
                    )
    # Not vacuous: the replicas differ from each other.
    assert not torch.allclose(econ.state.capital[0], econ.state.capital[1])


# ---- 4. determinism --------------------------------------------------------------------------
def _trajectory(
    cfg: GrowthConfig, seed: int, device: str, n_steps: int = 12
) -> list[dict[str, torch.Tensor]]:
    econ = GrowthEconomy(cfg, batch_size=3, device=device, seed=seed)
    rows = [{f"state.{f.name}": getattr(econ.state, f.name).clone() for f in fields(GrowthState)}]
    for _ in range(n_steps):
        actions = econ.sample_actions()
        out = econ.step(actions)
        row = {f"action.{k}": v.clone() for k, v in actions.items()}
        row |= {f"reward.{k}": v.clone() for k, v in out.rewards.items()}
        row |= {f"obs.{k}": v.clone() for k, v in out.obs.items()}
        row |= {f"state.{f.name}": getattr(econ.state, f.name).clone() for f in fields(GrowthState)}
        rows.append(row)
    return rows


@pytest.mark.parametrize("name", ["g1", "g2", "g5_n2", "g6_n2", "g7_half"])
def test_same_seed_same_trajectory_different_seed_differs(name: str, device: str) -> None:
    cfg = GrowthConfig.preset(name)
    a, b, c = (_trajectory(cfg, seed, device) for seed in (7, 7, 8))
    for t, (ra, rb) in enumerate(zip(a, b, strict=True)):
        assert ra.keys() == rb.keys()
        for k in ra:
            assert torch.equal(ra[k], rb[k]), f"step {t}: {k} differs under the same seed"
    assert not torch.equal(a[0]["state.log_z"], c[0]["state.log_z"]), "initial states"
    first = "action." + next(iter(agent_counts(cfg)))
    assert not torch.equal(a[1][first], c[1][first]), "sampled actions"
    assert not torch.equal(a[-1]["state.capital"], c[-1]["state.capital"])


def test_reset_with_seed_restarts_the_stream() -> None:
    econ = GrowthEconomy(GrowthConfig.preset("g4_h4"), batch_size=3, seed=5)
    first_state = econ.state.capital.clone()
    first = econ.sample_actions()
    econ.step(first)
    econ.reset(seed=5)
    assert torch.equal(econ.state.capital, first_state)
    assert torch.equal(econ.sample_actions()["household"], first["household"])
    econ.reset()
    assert not torch.equal(econ.state.capital, first_state)


def test_initial_states_follow_the_spec() -> None:
    """log(k/k_ss) ~ U(-spread, spread), shared by a market's households; log z stationary."""
    cfg = GrowthConfig.preset("g4_h4").override({"dtype": "float64", "init_spread": 0.3})
    econ = GrowthEconomy(cfg, batch_size=4000, seed=0)
    s = econ.state
    log_k = torch.log(s.capital / hand_k_ss(cfg))
    assert (log_k.abs() <= 0.3 + 1e-12).all()
    assert torch.equal(s.capital, s.capital[:, :1].expand_as(s.capital)), "symmetric start"
    assert abs(float(log_k[:, 0].mean())) < 0.02
    assert float(log_k.max()) > 0.28 and float(log_k.min()) < -0.28  # the whole interval
    sd = 0.02 / math.sqrt(1 - 0.81)
    assert float(s.log_z.std()) == pytest.approx(sd, rel=0.06)
    assert torch.equal(s.t, torch.zeros(4000, dtype=torch.int64))


def test_initial_dispersion_spreads_households_and_keeps_the_aggregate_draw() -> None:
    """log(k_h/K) ~ U(-d, d) renormalized: K, z and every other draw are those of d = 0."""
    base = GrowthConfig.preset("g7_half").override({"dtype": "float64", "init_spread": 0.3})
    even = GrowthEconomy(base, batch_size=2000, seed=3).state
    spread = GrowthEconomy(base.replace(init_dispersion=0.4), batch_size=2000, seed=3).state
    torch.testing.assert_close(spread.capital.mean(-1), even.capital.mean(-1), rtol=1e-12, atol=0)
    assert torch.equal(spread.log_z, even.log_z)
    rel = torch.log(spread.capital / spread.capital.mean(-1, keepdim=True))
    centred = rel - rel.mean(-1, keepdim=True)  # u_h - mean u, before the renormalization
    assert float(centred.abs().max()) < 0.8 and float(centred.abs().max()) > 0.5
    assert float(rel.std()) == pytest.approx(0.4 / math.sqrt(3) * math.sqrt(0.9), rel=0.05)
    with pytest.raises(ValueError, match=r"init_dispersion must be 0 for economy 'g1'"):
        GrowthConfig.preset("g1").replace(init_dispersion=0.1)


def test_episode_is_truncated_at_the_horizon() -> None:
    econ = GrowthEconomy(GrowthConfig.preset("g1").replace(horizon=3), batch_size=2, seed=0)
    dones = [econ.step(econ.sample_actions()).done.tolist() for _ in range(4)]
    assert dones == [[False, False], [False, False], [True, True], [True, True]]


# ---- 5. validation ---------------------------------------------------------------------------
def _valid(econ: GrowthEconomy) -> dict[str, torch.Tensor]:
    return {k: torch.zeros_like(v) for k, v in econ.sample_actions().items()}


def test_bad_actions_raise_naming_the_type_and_range() -> None:
    econ = GrowthEconomy(GrowthConfig.preset("g6_n2"), batch_size=2, seed=0)
    ok = _valid(econ)
    econ.step(ok)  # valid
    bound = {"household": ok["household"].clone(), "producer": ok["producer"].clone() + 10.0}
    econ.step(bound)  # exactly ±bound is allowed

    with pytest.raises(ValueError, match="producer"):
        econ.step({"household": ok["household"]})
    with pytest.raises(ValueError, match="firm"):
        econ.step({**ok, "firm": ok["producer"]})
    with pytest.raises(ValueError, match=r"household.*shape \(2, 10, 1\)"):
        econ.step({**ok, "household": ok["household"][:, :5]})
    with pytest.raises(ValueError, match="producer.*float"):
        econ.step({**ok, "producer": ok["producer"].long()})
    for bad in (math.nan, math.inf, -math.inf):
        a = ok["household"].clone()
        a[1, 3, 0] = bad
        with pytest.raises(ValueError, match="household.*finite"):
            econ.step({**ok, "household": a})
    for bad in (10.0 + 1e-4, -11.0):
        a = ok["producer"].clone()
        a[0, 1, 0] = bad
        with pytest.raises(ValueError, match=r"producer.*\[-10, 10\].*action_bound"):
            econ.step({**ok, "producer": a})
    # A failed step leaves the state untouched.
    assert torch.equal(econ.state.t, torch.full((2,), 2, dtype=torch.int64))


def test_bound_is_compared_in_the_action_dtype() -> None:
    """float32(0.1) > 0.1 in float64: an action at the bound in its own dtype is still valid."""
    econ = GrowthEconomy(GrowthConfig(action_bound=0.1), batch_size=2, seed=0)
    econ.step({"planner": torch.full((2, 1, 1), 0.1, dtype=torch.float32)})
    econ.step({"planner": torch.full((2, 1, 1), -0.1, dtype=torch.float32)})
    with pytest.raises(ValueError, match=r"planner.*\[-0.1, 0.1\]"):
        econ.step({"planner": torch.full((2, 1, 1), 0.1001, dtype=torch.float32)})


def test_validate_false_skips_the_checks() -> None:
    econ = GrowthEconomy(GrowthConfig.preset("g1"), batch_size=1, seed=0, validate=False)
    econ.step({"planner": torch.full((1, 1, 1), 50.0)})  # beyond the bound, not checked
    assert torch.isfinite(econ.state.capital).all()


def test_wrong_shocks_shape_raises() -> None:
    econ = GrowthEconomy(GrowthConfig.preset("g5_n3"), batch_size=2, seed=0)
    with pytest.raises(ValueError, match=r"shocks must have shape \(2, 3\)"):
        econ.step(econ.sample_actions(), torch.zeros(2, 1))
    with pytest.raises(ValueError, match="shocks"):
        econ.step(econ.sample_actions(), torch.zeros(3, 3))


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: GrowthConfig(economy="g1", params=GrowthParams(delta=0.5)), "params"),
        (lambda: GrowthConfig(economy="g5", params=GrowthParams(gamma=2.0)), "params"),
        (lambda: GrowthConfig(economy="g1", n_households=4), "n_households"),
        (lambda: GrowthConfig(economy="g4", n_sectors=2), "n_sectors"),
        (lambda: GrowthConfig(economy="g5", n_producers=2), "n_producers"),
        (lambda: GrowthConfig(economy="g4", n_households=4, information="half"), "information"),
        (lambda: GrowthConfig(economy="g7", n_households=1, information="half"), "n_households"),
        (lambda: GrowthConfig.preset("g7_half").replace(n_households=1), "n_households"),
        (lambda: GrowthConfig.preset("g8"), "preset"),
        (lambda: GrowthConfig.preset("g4_hx"), "preset"),
        (lambda: GrowthConfig(penalty=-1.0), "penalty"),
        (lambda: GrowthConfig(n_households=0, economy="g4"), "n_households"),
        (lambda: GrowthConfig(min_share=0.5), "min_share"),
        (lambda: GrowthConfig(action="quantity", quantity_max=1e-3), "quantity_max"),
        (lambda: GrowthConfig(action_bound=0.0), "action_bound"),
        (lambda: GrowthConfig(constraint="tanh"), "constraint"),
        (lambda: GrowthConfig(economy="g8"), "economy"),
        (lambda: GrowthConfig().override({"dtype": "float16"}), "dtype"),
    ],
)
def test_bad_configs_raise_naming_the_field(build: object, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        build()  # type: ignore[operator]


def test_bad_constructor_arguments_raise() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        GrowthEconomy(GrowthConfig.preset("g1"), batch_size=0)
    with pytest.raises(ValueError, match="seed"):
        GrowthEconomy(GrowthConfig.preset("g1"), seed=-1)
    with pytest.raises(ValueError, match="config"):
        GrowthEconomy("g1")  # type: ignore[arg-type]
    econ = GrowthEconomy(GrowthConfig.preset("g4_h4"), batch_size=2, seed=0)
    with pytest.raises(ValueError, match="capital"):
        econ.set_state(econ.with_state(capital=torch.ones(2, 3)))
    with pytest.raises(ValueError, match="positive"):
        econ.set_state(econ.with_state(capital=torch.zeros(2, 4)))


# ---- 6. observations -------------------------------------------------------------------------
def test_g7_half_masks_the_restricted_households() -> None:
    cfg = cfg64("g7_half", n_households=4)
    econ = GrowthEconomy(cfg, batch_size=3, seed=0)
    set_state(
        econ,
        capital=[[0.1, 0.2, 0.3, 0.4], [0.2, 0.2, 0.5, 0.1], [0.3, 0.1, 0.1, 0.1]],
        log_z=[[0.05], [-0.03], [0.1]],
    )
    obs = econ.observe()["household"]
    assert obs.shape == (3, 4, 7)
    restricted = [True, True, False, False]  # the first half
    for h, masked in enumerate(restricted):
        hidden = obs[:, h, 2:6]
        if masked:
            assert torch.equal(hidden, torch.zeros_like(hidden)), f"household {h} sees z/r/w/q"
            assert torch.equal(obs[:, h, 6], torch.ones(3, dtype=F64))
        else:
            assert (obs[:, h, 2:5] != 0).all(), f"household {h} must see z, r and w"
            assert torch.equal(obs[:, h, 6], torch.zeros(3, dtype=F64))
        # Everybody sees its own k_h and the aggregate K.
        assert (obs[:, h, :2] != 0).all()
    # Own capital and the aggregate are the same for masked and unmasked households.
    k_ss = hand_k_ss(cfg)
    cap = econ.state.capital
    close(obs[..., 0], torch.log(cap / k_ss), "log k_h / k_ss")
    close(obs[..., 1], torch.log(cap.mean(-1, keepdim=True) / k_ss).expand(3, 4), "log K/(H k_ss)")

    # half_label (an experiment): the same label, nothing hidden.
    econ_label = GrowthEconomy(cfg.replace(information="half_label"), batch_size=3, seed=0)
    econ_label.set_state(econ.state)
    labelled = econ_label.observe()["household"]
    torch.testing.assert_close(labelled[..., 6], obs[..., 6], rtol=0, atol=0)  # the label
    # A labelled household sees z, r, w and q like an unlabelled one of the masked economy.
    torch.testing.assert_close(labelled[:, 0, 2:6], obs[:, 3, 2:6], rtol=0, atol=0)
    torch.testing.assert_close(labelled[..., :2], obs[..., :2], rtol=0, atol=0)


def test_g7_restricted_masks_everybody_and_full_masks_nobody() -> None:
    for info, flag in (("restricted", 1.0), ("full", 0.0)):
        cfg = cfg64("g7_restricted", information=info, n_households=3)
        econ = GrowthEconomy(cfg, batch_size=2, seed=1)
        set_state(econ, log_z=[[0.1], [-0.1]])
        obs = econ.observe()["household"]
        assert torch.equal(obs[..., 6], torch.full((2, 3), flag, dtype=F64)), info
        hidden = obs[..., 2:6]
        if info == "restricted":
            assert torch.equal(hidden, torch.zeros_like(hidden))
        else:
            assert (obs[..., 2] != 0).all()


def test_household_observations_by_hand_off_the_steady_state() -> None:
    """log r/r_ss = log z + (α - 1) log(K/(H k_ss)); log w/w_ss = log z + α log(K/(H k_ss))."""
    cfg = cfg64("g4_h3")
    econ = GrowthEconomy(cfg, batch_size=1, seed=0)
    k_ss, alpha = hand_k_ss(cfg), 0.36
    caps, lz = [0.5 * k_ss, k_ss, 3 * k_ss], 0.04
    set_state(econ, capital=[caps], log_z=[[lz]])
    obs = econ.observe()["household"][0]
    agg = math.log(sum(caps) / 3 / k_ss)
    sd = 0.02 / math.sqrt(1 - 0.81)
    for h in range(3):
        expected = [
            math.log(caps[h] / k_ss),
            agg,
            lz / sd,
            lz + (alpha - 1) * agg,
            lz + alpha * agg,
            0.0,
            0.0,
        ]
        assert obs[h].tolist() == pytest.approx(expected, rel=1e-12, abs=1e-13)
    g = econ.global_state()[0].tolist()
    spread = float(torch.tensor([math.log(c / k_ss) for c in caps], dtype=F64).std(unbiased=False))
    assert g == pytest.approx([agg, lz / sd, spread, 0.0], rel=1e-12, abs=1e-13)


def test_producer_observations_by_hand() -> None:
    cfg = cfg64("g6_n3", n_households=2)
    econ = GrowthEconomy(cfg, batch_size=1, seed=0)
    ss = steady_state(cfg)
    spend_ss = 0.36 * 0.95 * ss.output * 2
    set_state(
        econ,
        capital=[[ss.capital, ss.capital]],
        log_z=[[0.0]],
        price=[[1.5, 1.2, 1.3]],
        spending=[2 * spend_ss],
    )
    prod = econ.observe()["producer"][0]
    lg = math.log
    expected = [
        [0.0, 0.0, lg(1.5), lg(1.2), lg(2)],
        [0.0, 0.0, lg(1.2), lg(1.3), lg(2)],
        [0.0, 0.0, lg(1.3), lg(1.2), lg(2)],
    ]
    for n in range(3):
        assert prod[n].tolist() == pytest.approx(expected[n], rel=1e-12, abs=1e-13)
    hh = econ.observe()["household"][0]
    assert hh[:, 5].tolist() == pytest.approx([lg(1.2)] * 2, rel=1e-12)  # the lowest last price


@pytest.mark.parametrize(
    "name", ["g1", "g2", "g3", "g3_log", "g4_h1", "g4_h3", "g5_n2", "g6_n2", "g7_half"]
)
def test_observations_are_zero_at_the_steady_state(name: str) -> None:
    cfg = GrowthConfig.preset(name).override({"dtype": "float64"})
    econ = GrowthEconomy(cfg, batch_size=2, seed=0)
    ss_state(econ)
    obs = econ.observe()
    for t, o in obs.items():
        assert o.shape == (2, agent_counts(cfg)[t], *observation_specs(cfg)[t].shape)
        cols = o[..., :6] if t == "household" else o
        torch.testing.assert_close(cols, torch.zeros_like(cols), rtol=0, atol=1e-12, msg=t)
    g = global_state(cfg, econ.state)
    torch.testing.assert_close(g, torch.zeros_like(g), rtol=0, atol=1e-12)
    # And the pure function agrees with the holder.
    for t, o in observe(cfg, econ.state).items():
        assert torch.equal(o, obs[t])


def test_steady_state_is_a_fixed_point_of_the_optimal_g1_policy() -> None:
    """At k_ss, z = 1, saving α β keeps k' = k_ss (G1) and K' = H k_ss (G4 markets)."""
    for name in ("g1", "g4_h3"):
        cfg = cfg64(name, constraint="clip")
        econ = GrowthEconomy(cfg, batch_size=1, seed=0)
        ss_state(econ)
        t = next(iter(agent_counts(cfg)))
        n = agent_counts(cfg)[t]
        out = econ.step(
            {t: torch.full((1, n, 1), 0.36 * 0.95, dtype=F64)}, torch.zeros(1, 1, dtype=F64)
        )
        torch.testing.assert_close(
            econ.state.capital,
            torch.full_like(econ.state.capital, hand_k_ss(cfg)),
            rtol=1e-13,
            atol=0,
        )
        for o in out.obs.values():
            torch.testing.assert_close(o[..., :6], torch.zeros_like(o[..., :6]), rtol=0, atol=1e-12)
