"""Observations of each agent type: equation (M15) of docs/model.md, spec section 3.

Every agent sees the global state g (prices, wages, stocks, rationing flags, taxes, time),
then its private state: consumers their cash m_i and θ_i; firms their cash M_j, capital K_j,
α_j and a one-hot id; the government nothing more.

Two encodings (``config.parity.obs_encoding``):

- ``"scaled"`` (default): each quantity divided by a scale from the config (max grid price and
  wage, horizon, θ̄, the largest initial capital, initial cash, the most units a good can be asked
  for in one period); stocks and cash also as a signed log, sign(x) log(1 + |x|), so that values
  from 0.01 to 10^7 stay distinguishable. Negative firm cash stays negative (the digit
  encoding wraps it around), and the input is 5F + 3 wide instead of 13F + 3.
- ``"digits"``: the reference's sawtooth expansion (spec 3.3): x -> (x mod 10^k) / 10^k for
  k = 1..D, for stocks and cash; input sizes 144 / 155 / 133 at the paper's sizes.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import torch

from rbc_env.config import RBCConfig
from rbc_env.core.state import EconomyState
from rbc_env.core.types import AgentType, ArraySpec


def _signed_log(x: torch.Tensor) -> torch.Tensor:
    return torch.sign(x) * torch.log1p(x.abs())


def _digits(x: torch.Tensor, n_digits: int) -> torch.Tensor:
    """[..., K] -> [..., K * D]: each value's D sawtooth features in its place (floored modulo)."""
    powers = torch.pow(
        torch.tensor(10.0, dtype=x.dtype, device=x.device),
        torch.arange(1, n_digits + 1, dtype=x.dtype, device=x.device),
    )
    expanded = torch.remainder(x.unsqueeze(-1), powers) / powers
    return expanded.flatten(-2)


def _heavy(config: RBCConfig, x: torch.Tensor, scale: float) -> torch.Tensor:
    """Encode a heavy-tailed quantity (stock or cash), [..., K] -> [..., 2K] or [..., K * D]."""
    if config.parity.obs_encoding == "digits":
        return _digits(x, config.parity.n_digits)
    scaled = x / scale
    return torch.cat([scaled, _signed_log(scaled)], dim=-1)


def inventory_scale(config: RBCConfig) -> float:
    """Scale of stocks, goods: the most units of one good all consumers can ask for in a period."""
    return config.n_consumers * config.units_grid[-1]


def observation_specs(config: RBCConfig) -> dict[AgentType, ArraySpec]:
    """Per-agent observation shape of each type (unbounded boxes)."""
    f = config.n_firms
    heavy = config.parity.n_digits if config.parity.obs_encoding == "digits" else 2
    global_dim = 3 * f + heavy * f + 3
    return {
        "consumer": ArraySpec((global_dim + heavy + 1,)),
        "firm": ArraySpec((global_dim + heavy + 2 + f,)),
        "government": ArraySpec((global_dim,)),
    }


def global_observation(config: RBCConfig, state: EconomyState) -> torch.Tensor:
    """[B, G] the global part g of (M15), which every agent sees and the government alone.

    Prices and wages over the grids' largest, stocks (encoded), rationing flags, the two tax
    rates and t / T, in the state's dtype.
    """
    return torch.cat(
        [
            state.price / config.price_grid[-1],
            state.wage / config.wage_grid[-1],
            _heavy(config, state.inventory, inventory_scale(config)),
            state.overdemanded.to(state.dtype),
            state.income_tax.unsqueeze(-1),
            state.corporate_tax.unsqueeze(-1),
            (state.t.to(state.dtype) / config.horizon).unsqueeze(-1),
        ],
        dim=-1,
    )


class Observations(Mapping[str, torch.Tensor]):
    """The observations of (M15), factorized, with each type's flat tensor built on demand.

    Every agent's observation is [g, p]: the global part g, the same for all agents of an
    economy, then the agent's private part p. The core computes the two parts only;
    ``obs[agent_type]`` concatenates them into the flat per-agent tensor the first time it is
    read (and keeps it), so a consumer of the factorized parts never pays for the B·N copies of
    g (at the paper's sizes 53 of a consumer's 56 numbers).

    Attributes:
        global_part: [B, G] g, which is the government's whole observation.
        private: ``consumer`` [B, C, P_c] and ``firm`` [B, F, P_f] private parts p.

    ``obs["consumer"]`` is [B, C, G + P_c], ``obs["firm"]`` [B, F, G + P_f] and
    ``obs["government"]`` [B, G]: the same tensors and values as a dict of flat observations.
    """

    __slots__ = ("_flat", "global_part", "private")

    def __init__(self, global_part: torch.Tensor, private: dict[str, torch.Tensor]) -> None:
        self.global_part = global_part
        self.private = private
        self._flat: dict[str, torch.Tensor] = {"government": global_part}

    def __getitem__(self, agent_type: str) -> torch.Tensor:
        flat = self._flat.get(agent_type)
        if flat is None:
            flat = _join(self.global_part, self.private[agent_type])  # KeyError if unknown
            self._flat[agent_type] = flat
        return flat

    def __iter__(self) -> Iterator[str]:
        return iter(("consumer", "firm", "government"))

    def __len__(self) -> int:
        return 3

    def __repr__(self) -> str:
        shapes = {t: tuple(p.shape) for t, p in self.private.items()}
        return f"Observations(global_part={tuple(self.global_part.shape)}, private={shapes})"


def observe(config: RBCConfig, state: EconomyState) -> Observations:
    """Observations of all agents, factorized. Implements (M15).

    Args:
        config: the economy (encoding and scales).
        state: the state to observe.

    Returns:
        An ``Observations`` mapping: ``consumer`` [B, C, D_c], ``firm`` [B, F, D_f],
        ``government`` [B, D_g] (flat, built when read), in the state's dtype; its
        ``global_part`` and ``private`` hold the two factors.
    """
    dtype = state.dtype
    b, f = state.price.shape
    consumer_private = torch.cat(
        [
            _heavy(config, state.consumer_budget.unsqueeze(-1), config.consumer.initial_budget),
            (state.theta / config.consumer.theta_base).unsqueeze(-1),
        ],
        dim=-1,
    )
    one_hot = torch.eye(f, dtype=dtype, device=state.device).expand(b, f, f)
    firm_private = torch.cat(
        [
            _heavy(config, state.firm_budget.unsqueeze(-1), config.initial_firm_budget),
            (state.capital / config.firm.initial_capital_high).unsqueeze(-1),
            state.alpha.unsqueeze(-1),
            one_hot,
        ],
        dim=-1,
    )
    return Observations(
        global_observation(config, state), {"consumer": consumer_private, "firm": firm_private}
    )


def _join(glob: torch.Tensor, private: torch.Tensor) -> torch.Tensor:
    """[B, G] and [B, N, P] -> [B, N, G + P]: the global part repeated for each of N agents."""
    b, n, _ = private.shape
    return torch.cat([glob.unsqueeze(1).expand(b, n, -1), private], dim=-1)
