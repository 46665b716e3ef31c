"""EconomyState: the economy's state as a frozen dataclass of batched tensors."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch


@dataclass(frozen=True, slots=True)
class EconomyState:
    """State at the start of a period, for B economies (B = batch, C = consumers, F = firms).

    Attributes:
        price: [B, F] money / good, p_j set by firm j in the previous period.
        wage: [B, F] money / hour, w_j set in the previous period.
        inventory: [B, F] goods, s_j sellable this period.
        overdemanded: [B, F] bool, good j was rationed in the previous period.
        income_tax: [B] fraction τ of gross labour income.
        corporate_tax: [B] fraction σ of positive profit.
        t: [B] int64 period index, 0..T.
        consumer_budget: [B, C] money, m_i.
        theta: [B, C] utility / hour, θ_i after the curriculum factor.
        firm_budget: [B, F] money, M_j (may be negative).
        capital: [B, F] goods, K_j.
        alpha: [B, F] 1, labour exponent α_j of firm j's technology.
    """

    price: torch.Tensor
    wage: torch.Tensor
    inventory: torch.Tensor
    overdemanded: torch.Tensor
    income_tax: torch.Tensor
    corporate_tax: torch.Tensor
    t: torch.Tensor
    consumer_budget: torch.Tensor
    theta: torch.Tensor
    firm_budget: torch.Tensor
    capital: torch.Tensor
    alpha: torch.Tensor

    @property
    def batch_size(self) -> int:
        """Number of economies B."""
        return self.t.shape[0]

    @property
    def device(self) -> torch.device:
        """Device of the state's tensors."""
        return self.price.device

    @property
    def dtype(self) -> torch.dtype:
        """Float dtype of the state's tensors."""
        return self.price.dtype

    def tensors(self) -> dict[str, torch.Tensor]:
        """The fields as a name -> tensor dict (a shallow view, no copies)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def select(self, index: int | slice | torch.Tensor) -> EconomyState:
        """Economies ``index`` of the batch, keeping the batch axis (``select(3)`` has B = 1)."""
        if isinstance(index, int):
            index = slice(index, index + 1)
        return EconomyState(**{k: v[index] for k, v in self.tensors().items()})

    def to(self, device: torch.device | str) -> EconomyState:
        """A copy of the state on ``device``."""
        return EconomyState(**{k: v.to(device) for k, v in self.tensors().items()})

    def replace(self, **changes: torch.Tensor) -> EconomyState:
        """A copy with some fields replaced."""
        return dataclasses.replace(self, **changes)
