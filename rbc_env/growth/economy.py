"""The growth family (G1-G7, docs/ground_truth.md) as batched torch tensors.

Every economy follows the batched protocol of the RBC core: agent types with counts, per-type
observation and action widths, ``reset``/``step`` on tensors of leading batch axis B, named
flows. Unlike the RBC core, actions are continuous: each agent sends one raw real number per
action column, in ``[-action_bound, action_bound]``, and the config's ``constraint`` switch turns
it into a control within the column's range ``[lo, hi]``:

- ``squash``: u = lo + (hi - lo) σ(a) (always feasible);
- ``clip``: u = min(max(a, lo), hi);
- ``penalty``: u as with ``clip`` and a reward penalty κ (a - u)² (utils).

Controls, per agent type (every type has an agent axis: tensors ``[B, n, ...]``):

- ``planner`` (G1, G2, G3, G5): the saving choice for each capital stock (``n_sectors`` columns
  in G5), and in G2 a last column with hours l in [ε, 1 - ε];
- ``household`` (G4, G6, G7): the saving choice for its own capital;
- ``producer`` (G6): the markup m in [0, m_max] of its posted price q = 1 + m (goods per unit
  of new capital, unit cost 1).

A saving choice is a share s in [ε, 1 - ε] of cash on hand (``action="share"``: k' = s m,
in G6 spending e = s m buys k' = e / q) or next capital x in units of the steady state
(``action="quantity"``: k' = x k_ss with x in [ε, x_max]); a quantity that leaves less than
ε m for consumption is cut to k' = (1 - ε) m (the ``constraint="penalty"`` switch also charges
κ ((x - x_feasible))² for the cut).

Dynamics (units: goods per period; hours are a fraction of the time endowment):

- shock: log z' = ρ log z + σ ε, ε ~ N(0, 1), one shock per economy (G5: one per sector);
- planner: y = z k^α l^(1-α), cash on hand m = y + (1 - δ) k, c = m - k',
  reward u(c) (+ b ln(1 - l) in G2); G5: per sector m_j = z_j k_j^α + (1 - δ) k_j,
  C = Π_j C_j^(1/N), reward u(C);
- households: K = Σ_h k_h, L = H, r = α z K^(α-1) L^(1-α), w = (1 - α) z K^α L^(-α),
  m_h = r k_h + w + (1 - δ) k_h (G6 also + d / H, last period's producer profits paid as
  dividends), c_h = m_h - k'_h (G6: m_h - e_h), reward u(c_h);
  households own the producers with limited liability: dividends are d = Σ_n max(π_n, 0), and
  losses (flow ``producer_loss``) are written off, not charged to households;
- G6 producers post q_n; households buy from the cheapest (split evenly at ties):
  I_n = (Σ_h e_h / q_min) / #{n: q_n = q_min} for the cheapest and 0 otherwise; profit
  π_n = q_n I_n - I_n - φ/2 I_n² (goods) is the producer's reward; the flow ``markup`` is the
  cheapest sellers' markup over their own marginal cost at the quantity each sold,
  q_min / (1 + φ I_n) - 1 (the definition of the benchmarks in ``rbc_env.truth.g6``).

u(c) = ln c for γ = 1, else (c^(1-γ) - 1)/(1 - γ). Episodes end (truncation, not termination)
after ``horizon`` steps; the core never resets by itself.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, fields, replace

import torch

from rbc_env.config import GrowthConfig, GrowthParams
from rbc_env.core.economy import seed_generator
from rbc_env.core.protocol import AgentSpec, BoxActions
from rbc_env.core.types import ArraySpec

__all__ = [
    "GrowthEconomy",
    "GrowthState",
    "GrowthStep",
    "SteadyState",
    "action_ranges",
    "agent_counts",
    "agent_types",
    "controls_from_raw",
    "g2_hours",
    "g3_steady_state",
    "global_state",
    "global_state_dim",
    "initial_state",
    "observation_specs",
    "observe",
    "raw_from_controls",
    "restricted_mask",
    "steady_state",
    "step",
    "utility",
]

HOUSEHOLD_OBS = (
    "log k_h/k_ss",
    "log K/(H k_ss)",
    "log z / sd",
    "log r/r_ss",
    "log w/w_ss",
    "log q_prev",
    "restricted",
)
PRODUCER_OBS = ("log K/(H k_ss)", "log z / sd", "log q_own", "log q_rival_min", "log S/S_ss")
_RESTRICTED_COLUMNS = (2, 3, 4, 5)  # z, r, w and q are hidden from restricted households


# ---- structure ----
def agent_types(config: GrowthConfig) -> tuple[str, ...]:
    """The agent types of an economy: ``("planner",)``, ``("household",)`` or both G6 types."""
    if config.is_planner:
        return ("planner",)
    if config.economy == "g6":
        return ("household", "producer")
    return ("household",)


def agent_counts(config: GrowthConfig) -> dict[str, int]:
    """Number of agents of each type."""
    counts = {"planner": 1, "household": config.n_households, "producer": config.n_producers}
    return {t: counts[t] for t in agent_types(config)}


def n_capital(config: GrowthConfig) -> int:
    """Number of capital stocks: households (markets), sectors (G5) or 1 (planner)."""
    return config.n_sectors if config.economy == "g5" else config.n_households


def action_ranges(config: GrowthConfig) -> dict[str, tuple[tuple[float, float], ...]]:
    """The control range ``(lo, hi)`` of each action column, per agent type."""
    eps = config.min_share
    saving = (eps, 1.0 - eps) if config.action == "share" else (eps, config.quantity_max)
    out: dict[str, tuple[tuple[float, float], ...]] = {}
    for t in agent_types(config):
        if t == "planner":
            cols = (saving,) * config.n_sectors
            out[t] = cols + ((eps, 1.0 - eps),) if config.elastic_labor else cols
        elif t == "household":
            out[t] = (saving,)
        else:
            out[t] = ((0.0, config.markup_max),)
    return out


def action_dims(config: GrowthConfig) -> dict[str, int]:
    """Action columns per agent of each type."""
    return {t: len(r) for t, r in action_ranges(config).items()}


def observation_specs(config: GrowthConfig) -> dict[str, ArraySpec]:
    """Per-agent observation shape of each type (unbounded float boxes)."""
    widths = {"planner": 2 * config.n_sectors, "household": len(HOUSEHOLD_OBS)}
    widths["producer"] = len(PRODUCER_OBS)
    return {t: ArraySpec((widths[t],)) for t in agent_types(config)}


def agent_specs(config: GrowthConfig) -> tuple[AgentSpec, ...]:
    """The protocol's agent table (``rbc_env.core.protocol``), one row per type.

    Actions are raw boxes ``[-action_bound, action_bound]`` per column (the economy maps them to
    controls, ``action_ranges``); every type has an agent axis.
    """
    counts, specs, dims = agent_counts(config), observation_specs(config), action_dims(config)
    bound = config.action_bound
    return tuple(
        AgentSpec(
            agent_type=t,
            count=counts[t],
            observation=specs[t],
            action=BoxActions((-bound,) * dims[t], (bound,) * dims[t]),
        )
        for t in agent_types(config)
    )


def global_state_dim(config: GrowthConfig) -> int:
    """Width of ``global_state`` (the centralized critic's extra input)."""
    return 2 * config.n_sectors if config.is_planner else 4


def restricted_mask(config: GrowthConfig, device: torch.device | str = "cpu") -> torch.Tensor:
    """[H] bool: which households carry the restricted label (G7).

    They see only their own k_h and aggregate K, except under ``information="half_label"``,
    where the label is all that sets them apart.
    """
    h = n_capital(config) if not config.is_planner else 1
    idx = torch.arange(h, device=device)
    if config.information == "restricted":
        return torch.ones(h, dtype=torch.bool, device=device)
    if config.information in ("half", "half_label"):
        return idx < h // 2
    return torch.zeros(h, dtype=torch.bool, device=device)


# ---- steady state and utility ----
@dataclass(frozen=True, slots=True)
class SteadyState:
    """Deterministic steady state per household (or sector), the observations' scales.

    Attributes:
        capital: k_ss (goods); G2 with hours l*, elsewhere labor 1.
        hours: l_ss (1 unless G2).
        output: y_ss = k_ss^α l_ss^(1-α) (goods / period).
        rental: r_ss = α y_ss / k_ss (goods per unit of capital).
        wage: w_ss = (1 - α) y_ss / l_ss (goods per unit of labor).
        sd_log_z: stationary standard deviation of log z, σ / sqrt(1 - ρ²).
    """

    capital: float
    hours: float
    output: float
    rental: float
    wage: float
    sd_log_z: float


def g2_hours(p: GrowthParams) -> float:
    """G2 optimal hours ``l* = (1 - alpha) / (b (1 - alpha beta) + (1 - alpha))`` (time share).

    From the labor first-order condition ``b / (1 - l) = (1 - alpha) y / (c l)`` with the
    consumption share ``c / y = 1 - alpha beta``; hours are constant over states.

    Args:
        p: parameters (``u = ln c + b ln(1 - l)``, ``delta = 1``).

    Returns:
        Hours as a fraction of the time endowment (0.16285 at the defaults).
    """
    one_m_a = 1.0 - p.alpha
    return one_m_a / (p.b * (1.0 - p.alpha * p.beta) + one_m_a)


def g3_steady_state(p: GrowthParams) -> float:
    """G3 deterministic steady state ``k_ss = (alpha / (1/beta - 1 + delta))^(1/(1 - alpha))``.

    Labor is normalized to ``l = 1``; the value solves ``1 = beta (alpha k^(alpha-1) + 1 - delta)``.

    Args:
        p: parameters.

    Returns:
        Steady-state capital (goods).
    """
    return (p.alpha / (1.0 / p.beta - 1.0 + p.delta)) ** (1.0 / (1.0 - p.alpha))


def steady_state(config: GrowthConfig) -> SteadyState:
    """The deterministic steady state that scales observations (``SteadyState``)."""
    p = config.params
    hours = g2_hours(p) if config.elastic_labor else 1.0
    k = g3_steady_state(p) * hours
    y = k**p.alpha * hours ** (1.0 - p.alpha)
    return SteadyState(
        capital=k,
        hours=hours,
        output=y,
        rental=p.alpha * y / k,
        wage=(1.0 - p.alpha) * y / hours,
        sd_log_z=p.sigma / math.sqrt(1.0 - p.rho**2),
    )


def utility(c: torch.Tensor, gamma: float) -> torch.Tensor:
    """u(c) = ln c (γ = 1) or (c^(1-γ) - 1)/(1 - γ), utils; c in goods."""
    if gamma == 1.0:
        return torch.log(c)
    return (c.pow(1.0 - gamma) - 1.0) / (1.0 - gamma)


def marginal_utility(c: torch.Tensor, gamma: float) -> torch.Tensor:
    """u'(c) = c^(-γ), utils per good."""
    return c.pow(-gamma)


# ---- state ----
@dataclass(frozen=True, slots=True)
class GrowthState:
    """State of B growth economies (tensors with leading batch axis B).

    Attributes:
        capital: [B, n_k] capital per household (markets), per sector (G5) or [B, 1] (goods).
        log_z: [B, n_z] log productivity (n_z = N in G5, else 1).
        t: [B] int64 period.
        dividend: [B] last period's producer profits (losses written off), paid to households
            now (G6; goods).
        price: [B, n_p] last posted producer prices (G6; goods per unit of capital).
        spending: [B] last period's household spending on new capital (G6; goods).
    """

    capital: torch.Tensor
    log_z: torch.Tensor
    t: torch.Tensor
    dividend: torch.Tensor
    price: torch.Tensor
    spending: torch.Tensor

    @property
    def batch_size(self) -> int:
        """B."""
        return self.capital.shape[0]

    def to(self, device: torch.device | str) -> GrowthState:
        """A copy on another device."""
        return GrowthState(**{f.name: getattr(self, f.name).to(device) for f in fields(self)})


@dataclass(frozen=True, slots=True)
class GrowthStep:
    """What one step returns: next observations, rewards per type, ``done [B]``, flows."""

    obs: dict[str, torch.Tensor]
    rewards: dict[str, torch.Tensor]
    done: torch.Tensor
    flows: dict[str, torch.Tensor]


def initial_state(
    config: GrowthConfig,
    batch_size: int,
    generator: torch.Generator,
    device: torch.device | str = "cpu",
) -> GrowthState:
    """B initial states drawn from ``generator``.

    log(k/k_ss) ~ U(-spread, spread) (one draw per economy, shared by its households so the
    market starts symmetric; one per sector in G5), log z ~ N(0, σ² / (1 - ρ²)) (stationary).
    With ``init_dispersion`` d > 0, household h then holds k_h = K e^{u_h} / mean_j e^{u_j},
    u_h ~ U(-d, d), so aggregate capital K keeps its draw (drawn last: the draws above are the
    same as with d = 0).
    """
    dtype = getattr(torch, config.dtype)
    ss = steady_state(config)
    n_k = n_capital(config)
    n_draws = n_k if config.economy == "g5" else 1
    n_z = config.n_sectors if config.economy == "g5" else 1
    u = torch.rand(batch_size, n_draws, generator=generator, device=device, dtype=dtype)
    log_k = (2.0 * u - 1.0) * config.init_spread
    capital = (ss.capital * log_k.exp()).expand(batch_size, n_k).contiguous()
    eps = torch.randn(batch_size, n_z, generator=generator, device=device, dtype=dtype)
    if config.init_dispersion > 0:
        u_h = torch.rand(batch_size, n_k, generator=generator, device=device, dtype=dtype)
        spread = ((2.0 * u_h - 1.0) * config.init_dispersion).exp()
        capital = capital * spread / spread.mean(-1, keepdim=True)
    n_p = config.n_producers if config.economy == "g6" else 0
    return GrowthState(
        capital=capital,
        log_z=eps * ss.sd_log_z,
        t=torch.zeros(batch_size, dtype=torch.int64, device=device),
        dividend=torch.zeros(batch_size, dtype=dtype, device=device),
        price=torch.ones(batch_size, n_p, dtype=dtype, device=device),
        spending=torch.full((batch_size,), _spending_ss(config, ss), dtype=dtype, device=device),
    )


def _spending_ss(config: GrowthConfig, ss: SteadyState) -> float:
    """Household spending on capital at the steady state, α β y_ss H (goods)."""
    p = config.params
    return p.alpha * p.beta * ss.output * config.n_households


# ---- actions ----
def controls_from_raw(
    config: GrowthConfig, agent_type: str, raw: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Raw actions [..., A] -> (controls [..., A], penalty [...] utils) by ``constraint``."""
    lo, hi = _range_tensors(config, agent_type, raw)
    if config.constraint == "squash":
        u = lo + (hi - lo) * torch.sigmoid(raw)
        return u, raw.new_zeros(raw.shape[:-1])
    u = torch.minimum(torch.maximum(raw, lo), hi)
    if config.constraint == "clip":
        return u, raw.new_zeros(raw.shape[:-1])
    return u, config.penalty * (raw - u).square().sum(-1)


def raw_from_controls(config: GrowthConfig, agent_type: str, u: torch.Tensor) -> torch.Tensor:
    """The raw action that maps to controls ``u`` (the inverse of ``controls_from_raw``).

    Controls must lie in their ranges (``action_ranges``); for ``squash`` strictly inside.
    """
    lo, hi = _range_tensors(config, agent_type, u)
    if config.constraint == "squash":
        x = (u - lo) / (hi - lo)
        return torch.log(x) - torch.log1p(-x)
    return u.clone()


def _range_tensors(
    config: GrowthConfig, agent_type: str, like: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    ranges = action_ranges(config)[agent_type]
    lo = like.new_tensor([r[0] for r in ranges])
    hi = like.new_tensor([r[1] for r in ranges])
    return lo, hi


def validate_actions(config: GrowthConfig, actions: dict[str, torch.Tensor], batch: int) -> None:
    """Raise ``ValueError`` naming the type and the allowed range for any bad action."""
    counts = agent_counts(config)
    dims = action_dims(config)
    missing = set(counts) - set(actions)
    extra = set(actions) - set(counts)
    if missing or extra:
        raise ValueError(
            f"actions must have exactly the keys {sorted(counts)}; missing {sorted(missing)}, "
            f"unexpected {sorted(extra)}"
        )
    bound = config.action_bound
    for t, a in actions.items():
        shape = (batch, counts[t], dims[t])
        if not isinstance(a, torch.Tensor) or not a.is_floating_point():
            raise ValueError(f"actions[{t!r}] must be a float tensor of shape {shape}; got {a!r}")
        if tuple(a.shape) != shape:
            raise ValueError(f"actions[{t!r}] must have shape {shape}; got {tuple(a.shape)}")
        if not bool(torch.isfinite(a).all()):
            raise ValueError(
                f"actions[{t!r}] must be finite numbers in [-{bound:g}, {bound:g}] "
                "(GrowthConfig.action_bound); got NaN or inf"
            )
        worst = a.abs().max()
        if bool(worst > torch.tensor(bound, dtype=a.dtype)):  # compared in the action's dtype
            worst = float(worst)
            raise ValueError(
                f"actions[{t!r}] must be in [-{bound:g}, {bound:g}] "
                f"(GrowthConfig.action_bound); got {worst:g}"
            )


# ---- observations ----
def _prices(config: GrowthConfig, state: GrowthState) -> tuple[torch.Tensor, torch.Tensor]:
    """Rental rate r [B] and wage w [B] of the market economies (goods)."""
    p = config.params
    h = float(config.n_households)
    agg = state.capital.sum(-1)
    z = state.log_z[:, 0].exp()
    r = p.alpha * z * agg.pow(p.alpha - 1.0) * h ** (1.0 - p.alpha)
    w = (1.0 - p.alpha) * z * agg.pow(p.alpha) * h ** (-p.alpha)
    return r, w


def observe(config: GrowthConfig, state: GrowthState) -> dict[str, torch.Tensor]:
    """Per-type observations ``[B, n, width]`` (log deviations from the steady state)."""
    ss = steady_state(config)
    out: dict[str, torch.Tensor] = {}
    if config.is_planner:
        log_k = torch.log(state.capital / ss.capital)
        out["planner"] = torch.cat([log_k, state.log_z / ss.sd_log_z], -1).unsqueeze(1)
        return out
    b, h = state.capital.shape
    log_k = torch.log(state.capital / ss.capital)
    log_agg = torch.log(state.capital.mean(-1, keepdim=True) / ss.capital)
    z = state.log_z[:, :1] / ss.sd_log_z
    r, w = _prices(config, state)
    log_r = torch.log(r / ss.rental).unsqueeze(-1)
    log_w = torch.log(w / ss.wage).unsqueeze(-1)
    if config.economy == "g6":
        log_q = torch.log(state.price.min(-1, keepdim=True).values)
    else:
        log_q = torch.zeros_like(z)
    common = torch.cat([log_agg, z, log_r, log_w, log_q], -1)  # [B, 5]
    restricted = restricted_mask(config, state.capital.device)
    hh = torch.cat(
        [
            log_k.unsqueeze(-1),
            common.unsqueeze(1).expand(b, h, 5),
            restricted.to(log_k.dtype).expand(b, h).unsqueeze(-1),
        ],
        -1,
    )
    if config.information != "half_label" and bool(restricted.any()):
        hidden = torch.zeros(len(HOUSEHOLD_OBS), dtype=torch.bool, device=hh.device)
        hidden[list(_RESTRICTED_COLUMNS)] = True
        hh = hh.masked_fill(restricted.view(1, h, 1) & hidden.view(1, 1, -1), 0.0)
    out["household"] = hh
    if config.economy == "g6":
        n = config.n_producers
        log_p = torch.log(state.price)  # [B, N]
        if n > 1:
            eye = torch.eye(n, dtype=torch.bool, device=log_p.device)
            rivals = log_p.unsqueeze(1).expand(b, n, n).masked_fill(eye, math.inf)
            rival_min = rivals.min(-1).values
        else:
            rival_min = log_p
        log_s = torch.log(state.spending / _spending_ss(config, ss))
        out["producer"] = torch.stack(
            [
                log_agg.expand(b, n),
                z.expand(b, n),
                log_p,
                rival_min,
                log_s.unsqueeze(-1).expand(b, n),
            ],
            -1,
        )
    return out


def global_state(config: GrowthConfig, state: GrowthState) -> torch.Tensor:
    """[B, G] the economy's aggregate state (input of a centralized critic).

    Planner economies: their observation. Markets: log K/(H k_ss), log z / sd, the
    cross-section standard deviation of log k_h, and log of the lowest last posted price (G6).
    """
    ss = steady_state(config)
    if config.is_planner:
        return observe(config, state)["planner"][:, 0]
    log_k = torch.log(state.capital / ss.capital)
    log_agg = torch.log(state.capital.mean(-1) / ss.capital)
    spread = log_k.std(-1, unbiased=False)
    if config.economy == "g6":
        log_q = torch.log(state.price.min(-1).values)
    else:
        log_q = torch.zeros_like(log_agg)
    return torch.stack([log_agg, state.log_z[:, 0] / ss.sd_log_z, spread, log_q], -1)


# ---- one step ----
def step(
    config: GrowthConfig,
    state: GrowthState,
    actions: dict[str, torch.Tensor],
    shocks: torch.Tensor,
) -> tuple[GrowthState, dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """One period of B economies (pure: no randomness besides ``shocks``).

    Args:
        config: the economy.
        state: today's state.
        actions: raw actions per type, ``[B, n, A]`` (see the module docstring).
        shocks: [B, n_z] standard-normal innovations ε of log z'.

    Returns:
        ``(next_state, rewards, flows)``; rewards per type ``[B, n]`` (utils; producers: goods),
        flows: ``cash``, ``consumption``, ``capital_next``, ``saving_share``,
        ``marginal_utility``, ``gross_return``, ``capital_price``, ``constrained`` (all
        ``[B, n_k]``), ``hours`` [B, 1], ``output`` [B], ``penalty_<type>`` [B, n]; markets also
        ``rental``, ``wage`` [B]; G6 also ``price``, ``investment``, ``profit`` [B, N],
        ``price_min``, ``spending``, ``markup`` (q_min / (1 + φ I_n) - 1 over a cheapest
        seller's own marginal cost at its units I_n; ties sell equal units), ``producer_loss``
        [B].
    """
    p = config.params
    ss = steady_state(config)
    eps = config.min_share
    flows: dict[str, torch.Tensor] = {}
    rewards: dict[str, torch.Tensor] = {}
    k = state.capital
    chooser = "planner" if config.is_planner else "household"
    u, pen = controls_from_raw(config, chooser, actions[chooser])
    if chooser == "household":
        u = u[..., 0]  # [B, H]
        pen_saving = pen
    else:
        u = u[:, 0]  # [B, A]
        pen_saving = pen  # [B, 1]
    n_k = k.shape[1]
    saving = u[:, :n_k]
    hours = u[:, n_k:] if config.elastic_labor else torch.ones_like(k[:, :1])
    z = state.log_z.exp()

    # Cash on hand m and the return on capital dm/dk (goods).
    if config.is_planner:
        y = z * k.pow(p.alpha) * hours.pow(1.0 - p.alpha)  # [B, n_k]
        cash = y + (1.0 - p.delta) * k
        gross = p.alpha * y / k + (1.0 - p.delta)
        output = y.sum(-1)
    else:
        r, w = _prices(config, state)
        cash = r.unsqueeze(-1) * k + w.unsqueeze(-1) + (1.0 - p.delta) * k
        if config.economy == "g6":
            cash = cash + (state.dividend / config.n_households).unsqueeze(-1)
        gross = (r + 1.0 - p.delta).unsqueeze(-1).expand_as(k)
        output = z[:, 0] * k.sum(-1).pow(p.alpha) * float(config.n_households) ** (1 - p.alpha)
        flows["rental"], flows["wage"] = r, w

    # Spending on new capital: price 1 except in G6 (the lowest posted price).
    if config.economy == "g6":
        markup, pen_prod = controls_from_raw(config, "producer", actions["producer"])
        price = 1.0 + markup[..., 0]  # [B, N]
        q = price.min(-1).values  # [B]
        q_k = q.unsqueeze(-1).expand_as(k)
    else:
        q_k = torch.ones_like(k)
    if config.action == "share":
        spend = saving * cash
        cut = torch.zeros_like(k)
    else:
        wanted = saving * ss.capital * q_k
        spend = torch.minimum(wanted, (1.0 - eps) * cash)
        cut = (wanted - spend) / (ss.capital * q_k)
        if config.constraint == "penalty":
            extra = config.penalty * cut.square()
            pen_saving = pen_saving + (extra.sum(-1, keepdim=True) if config.is_planner else extra)
    k_next = spend / q_k
    c = cash - spend

    if config.economy == "g5":
        log_c = torch.log(c).mean(-1, keepdim=True)  # ln C, C = Π C_j^(1/N)
        big_c = log_c.exp()
        reward = utility(big_c, p.gamma)
        mu = marginal_utility(big_c, p.gamma) * big_c / (n_k * c)  # ∂u/∂C_j
    else:
        reward = utility(c, p.gamma)
        mu = marginal_utility(c, p.gamma)
    if config.elastic_labor:
        reward = reward + p.b * torch.log1p(-hours)
    rewards[chooser] = reward - pen_saving
    flows[f"penalty_{chooser}"] = pen_saving

    new_price, dividend, spending = state.price, state.dividend, state.spending
    if config.economy == "g6":
        total = spend.sum(-1)  # [B] goods spent on new capital
        winners = price <= q.unsqueeze(-1)
        units = (total / q).unsqueeze(-1) * winners / winners.sum(-1, keepdim=True)
        cost = units + 0.5 * config.adjustment_cost * units.square()
        profit = price * units - cost
        rewards["producer"] = profit - pen_prod
        flows["penalty_producer"] = pen_prod
        flows["price"], flows["investment"], flows["profit"] = price, units, profit
        flows["price_min"], flows["spending"] = q, total
        sold = units.max(-1).values  # a cheapest producer's units (equal across ties)
        flows["markup"] = q / (1.0 + config.adjustment_cost * sold) - 1.0
        flows["producer_loss"] = (-profit).clamp(min=0.0).sum(-1)
        new_price, dividend, spending = price, profit.clamp(min=0.0).sum(-1), total

    flows.update(
        cash=cash,
        consumption=c,
        capital_next=k_next,
        saving_share=spend / cash,
        marginal_utility=mu,
        gross_return=gross,
        capital_price=q_k,
        constrained=(cut > 0)
        | ((spend <= eps * cash * (1 + 1e-6)) | (spend >= (1 - eps) * cash * (1 - 1e-6))),
        hours=hours,
        output=output,
    )
    log_z = p.rho * state.log_z + p.sigma * shocks
    next_state = GrowthState(
        capital=k_next,
        log_z=log_z,
        t=state.t + 1,
        dividend=dividend,
        price=new_price,
        spending=spending,
    )
    return next_state, rewards, flows


# ---- the stateful holder ----
class GrowthEconomy:
    """B copies of one growth economy stepped together on one torch device.

    Example:
        >>> from rbc_env.config import GrowthConfig, GrowthParams
        >>> from rbc_env.growth import GrowthEconomy
        >>> econ = GrowthEconomy(GrowthConfig.preset("g4_h4"), batch_size=8, seed=0)
        >>> econ.reset()["household"].shape
        torch.Size([8, 4, 7])
        >>> out = econ.step(econ.sample_actions())
        >>> out.rewards["household"].shape
        torch.Size([8, 4])

    Args:
        config: the economy (``GrowthConfig``); ``None`` gives G1.
        batch_size: number of economies B.
        device: torch device of every tensor.
        seed: seed of the economy's generator (initial states, shocks, ``sample_actions``);
            ``None`` draws fresh entropy.
        validate: check every action dict (a device sync per step; trainers may turn it off).
    """

    def __init__(
        self,
        config: GrowthConfig | None = None,
        batch_size: int = 1,
        device: torch.device | str = "cpu",
        seed: int | None = None,
        *,
        validate: bool = True,
    ) -> None:
        self.config = config if config is not None else GrowthConfig()
        if not isinstance(self.config, GrowthConfig):
            raise ValueError(f"config must be a GrowthConfig or None; got {type(config).__name__}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral):
            raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}")
        self.batch_size = int(batch_size)
        self.device = torch.device(device)
        self.validate = validate
        self.generator = torch.Generator(device=self.device)
        self._seed(seed)
        self.agent_types = agent_types(self.config)
        self.counts = agent_counts(self.config)
        self.action_dims = action_dims(self.config)
        self.observation_specs = observation_specs(self.config)
        self._state = initial_state(self.config, self.batch_size, self.generator, self.device)

    def _seed(self, seed: int | None) -> None:
        seed_generator(self.generator, seed)

    @property
    def state(self) -> GrowthState:
        """The current state (immutable; each step makes a new one)."""
        return self._state

    def set_state(self, state: GrowthState) -> dict[str, torch.Tensor]:
        """Replace the state (e.g. common initial states for evaluation); returns observations."""
        if state.capital.shape != self._state.capital.shape:
            raise ValueError(
                f"state.capital must have shape {tuple(self._state.capital.shape)}; "
                f"got {tuple(state.capital.shape)}"
            )
        if not bool((state.capital > 0).all()):
            raise ValueError("state.capital must be positive")
        self._state = state.to(self.device)
        return self.observe()

    def reset(self, seed: int | None = None, **_: object) -> dict[str, torch.Tensor]:
        """Draw B new initial states (reseeding first if ``seed`` is given); returns obs."""
        if seed is not None:
            self._seed(seed)
        self._state = initial_state(self.config, self.batch_size, self.generator, self.device)
        return self.observe()

    def observe(self) -> dict[str, torch.Tensor]:
        """Observations of the current state, per type ``[B, n, width]``."""
        return observe(self.config, self._state)

    def global_state(self) -> torch.Tensor:
        """[B, G] aggregate state (see ``global_state``)."""
        return global_state(self.config, self._state)

    @property
    def agent_specs(self) -> tuple[AgentSpec, ...]:
        """The protocol's agent table (``agent_specs(config)``)."""
        return agent_specs(self.config)

    @property
    def terminal_at_horizon(self) -> bool:
        """False: the growth economies are infinite-horizon; ``horizon`` only truncates."""
        return False

    def draw_shocks(self) -> torch.Tensor:
        """[B, n_z] standard-normal innovations from the economy's generator."""
        return torch.randn(
            self._state.log_z.shape,
            generator=self.generator,
            device=self.device,
            dtype=self._state.log_z.dtype,
        )

    def step(
        self, actions: dict[str, torch.Tensor], shocks: torch.Tensor | None = None
    ) -> GrowthStep:
        """Advance all B economies one period.

        Args:
            actions: raw actions per type, ``[B, n, A]`` in ``[-action_bound, action_bound]``
                (cast to the economy's dtype and device).
            shocks: [B, n_z] innovations of log z (common random numbers); ``None`` draws them
                from the economy's generator.

        Raises:
            ValueError: for wrong keys, shapes, non-finite or out-of-range actions (when
                ``validate``), or shocks of the wrong shape.
        """
        if self.validate:
            validate_actions(self.config, actions, self.batch_size)
        dtype = self._state.capital.dtype  # the state keeps the config's dtype and device
        actions = {t: a.to(self.device, dtype) for t, a in actions.items()}
        if shocks is None:
            shocks = self.draw_shocks()
        elif tuple(shocks.shape) != tuple(self._state.log_z.shape):
            raise ValueError(
                f"shocks must have shape {tuple(self._state.log_z.shape)}; "
                f"got {tuple(shocks.shape)}"
            )
        self._state, rewards, flows = step(self.config, self._state, actions, shocks)
        done = self._state.t >= self.config.horizon
        return GrowthStep(obs=self.observe(), rewards=rewards, done=done, flows=flows)

    def sample_actions(self, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Uniform raw actions in ``[-action_bound, action_bound]`` per type ``[B, n, A]``."""
        gen = generator if generator is not None else self.generator
        dtype = self._state.capital.dtype
        bound = self.config.action_bound
        return {
            t: (
                torch.rand(
                    self.batch_size,
                    self.counts[t],
                    self.action_dims[t],
                    generator=gen,
                    device=self.device,
                    dtype=dtype,
                )
                * 2.0
                - 1.0
            )
            * bound
            for t in self.agent_types
        }

    def to(self, device: torch.device | str) -> GrowthEconomy:
        """Move the state (and a fresh generator seeded from the old one) to ``device``."""
        seed = int(torch.randint(0, 2**62, (1,), generator=self.generator))
        self.device = torch.device(device)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)
        self._state = self._state.to(self.device)
        return self

    def with_state(self, **changes: torch.Tensor) -> GrowthState:
        """A copy of the current state with some fields replaced (for evaluation)."""
        return replace(self._state, **changes)
