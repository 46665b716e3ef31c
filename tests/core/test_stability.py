"""A million agent-steps of random play in float32 on the paper economy stay finite."""

from __future__ import annotations

import torch

from rbc_env import BatchedEconomy, RBCConfig

BATCH = 512
STEPS = 18  # 512 economies × 111 agents × 18 steps ≈ 1.02 million agent-steps


def _assert_finite(tensors: dict[str, torch.Tensor], where: str) -> None:
    for name, v in tensors.items():
        if v.is_floating_point():
            assert torch.isfinite(v).all(), f"{where}: {name} has NaN or inf"


def test_million_agent_steps_stay_finite() -> None:
    config = RBCConfig.paper("open")
    assert config.dtype == "float32"
    econ = BatchedEconomy(config, batch_size=BATCH, seed=2024, validate=False)
    econ.reset()
    agent_steps = 0
    resets = 0
    max_cash = 0.0
    for t in range(STEPS):
        out = econ.step(econ.sample_actions())
        agent_steps += BATCH * config.n_agents
        where = f"step {t}"
        _assert_finite(econ.state.tensors(), f"{where} state")
        _assert_finite(out.rewards, f"{where} reward")
        _assert_finite(out.flows, f"{where} flows")
        _assert_finite(out.obs, f"{where} obs")
        assert (econ.state.inventory >= -1e-3).all(), where  # the reference's own check ([E])
        assert (econ.state.consumer_budget >= 0).all(), where
        max_cash = max(max_cash, float(econ.state.firm_budget.abs().max()))
        if bool(out.done.all()):
            econ.reset()
            resets += 1
    assert agent_steps >= 1_000_000
    assert resets == STEPS // config.horizon
    assert max_cash > 0


def test_extreme_actions_stay_finite() -> None:
    """Top prices, wages, hours, demand and 100 % taxes every step, in both variants."""
    for variant in ("open", "closed"):
        config = RBCConfig.paper(variant)
        econ = BatchedEconomy(config, batch_size=4, seed=0)
        top = {
            k: torch.tensor(v).sub(1).expand(*a.shape).clone()
            for (k, v), a in zip(
                econ.action_nvec.items(), econ.sample_actions().values(), strict=True
            )
        }
        for _ in range(config.horizon):
            out = econ.step(top)
            _assert_finite(econ.state.tensors(), variant)
            _assert_finite(out.rewards, variant)
            _assert_finite(out.flows, variant)
