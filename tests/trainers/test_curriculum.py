"""The framework-free curriculum (spec 9.4) and the training config; no ray import."""

from __future__ import annotations

import dataclasses
import math
import subprocess
import sys

import pytest
import torch

from rbc_env import RBCConfig
from rbc_env.core import action_masks
from trainers.config import PPOParams, TrainConfig
from trainers.curriculum import (
    CurriculumSchedule,
    TypeSchedule,
    compressed,
    entropy_coeff,
    masked_types,
    preset,
    stage,
)

PAPER = RBCConfig.paper("open")


def _allowed(config: RBCConfig, iteration: int, agent_type: str) -> list[list[float]]:
    """Allowed grid values per head of a firm or the government at ``iteration``."""
    mask = stage(CurriculumSchedule(), iteration, config).masks[agent_type].tolist()
    if agent_type == "firm":
        grids = [config.price_grid, config.wage_grid]
    else:
        grids = [config.tax_grid, config.tax_grid]
    out, offset = [], 0
    for grid in grids:
        out.append([v for v, ok in zip(grid, mask[offset : offset + len(grid)], strict=True) if ok])
        offset += len(grid)
    return out


def test_importing_trainers_pulls_in_no_ray_or_gymnasium():
    code = (
        "import sys, trainers, trainers.curriculum, trainers.config; "
        "bad = [m for m in ('ray', 'gymnasium', 'pettingzoo') if m in sys.modules]; "
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_paper_training_starts_follow_spec_9_4():
    sched = CurriculumSchedule()
    assert stage(sched, 0, PAPER).training == ("consumer",)
    assert stage(sched, 29999, PAPER).training == ("consumer",)
    assert stage(sched, 30000, PAPER).training == ("consumer", "firm")
    assert stage(sched, 59999, PAPER).training == ("consumer", "firm")
    assert stage(sched, 60000, PAPER).training == ("consumer", "firm", "government")


def test_paper_firm_mask_timeline():
    assert _allowed(PAPER, 0, "firm") == [[1000.0], [22.0]]
    assert _allowed(PAPER, 9999, "firm") == [[1000.0], [22.0]]
    assert _allowed(PAPER, 10000, "firm")[0] == [1000.0, 1500.0]
    price, wage = _allowed(PAPER, 15000, "firm")
    assert price == [500.0, 1000.0, 1500.0] and wage == [11.0, 22.0, 33.0]
    assert 2000.0 in _allowed(PAPER, 20000, "firm")[0]
    assert _allowed(PAPER, 30000, "firm") == [list(PAPER.price_grid), list(PAPER.wage_grid)]


def test_paper_tax_mask_timeline():
    assert _allowed(PAPER, 30000, "government") == [[0.0], [0.0]]
    assert _allowed(PAPER, 35999, "government")[0] == [0.0]
    assert _allowed(PAPER, 36000, "government")[0] == pytest.approx([0.0, 0.2])
    assert _allowed(PAPER, 60000, "government")[1] == pytest.approx(list(PAPER.tax_grid))


def test_consumers_are_never_masked_and_masked_types_are_firm_and_government():
    for e in (0, 10, 45000):
        assert bool(stage(CurriculumSchedule(), e, PAPER).masks["consumer"].all())
    assert masked_types(PAPER) == ("firm", "government")


def test_entropy_schedule_hits_its_endpoints_and_is_monotone():
    s = TypeSchedule(train_start=30000)
    assert entropy_coeff(s, 0) == 0.5
    assert entropy_coeff(s, 30000) == 0.5
    assert entropy_coeff(s, 40000) == pytest.approx(0.5 * math.exp(-1.0))
    # The multiplier's floor 0.1 is reached after τ ln 10 iterations: effective floor 0.05.
    assert entropy_coeff(s, 30000 + 23100) == pytest.approx(0.05)
    assert entropy_coeff(s, 10**7) == pytest.approx(0.05)
    values = [entropy_coeff(s, e) for e in range(0, 100000, 500)]
    assert all(a >= b for a, b in zip(values[:-1], values[1:], strict=True))


def test_stage_is_monotone_over_iterations():
    sched = CurriculumSchedule()
    previous = stage(sched, 0, PAPER)
    assert previous.theta_factor == 0.0
    for e in range(1000, 70001, 1000):
        current = stage(sched, e, PAPER)
        assert current.theta_factor >= previous.theta_factor
        assert set(previous.training) <= set(current.training)
        for t in ("consumer", "firm", "government"):
            assert current.entropy_coeff[t] <= previous.entropy_coeff[t]
            # A mask only ever opens: what was allowed stays allowed.
            assert bool((previous.masks[t] <= current.masks[t]).all())
        previous = current
    assert stage(sched, 10**6, PAPER).theta_factor == pytest.approx(1.0)


def test_stage_rejects_bad_iterations():
    for bad in (-1, 1.5, True, None):
        with pytest.raises(ValueError, match="iteration"):
            stage(CurriculumSchedule(), bad, PAPER)  # type: ignore[arg-type]


def test_paper_preset_equals_the_defaults():
    p = preset("paper")
    assert p.schedule == CurriculumSchedule()
    assert p.economy == RBCConfig().curriculum
    with pytest.raises(ValueError, match="preset"):
        preset("fast")  # type: ignore[arg-type]


@pytest.mark.parametrize("factor", [1.0, 1500.0, 30000.0])
def test_compressed_presets_keep_the_phase_order(factor):
    p = compressed(factor)
    econ = p.apply(PAPER)
    firm_start = p.schedule.firm.train_start
    gov_start = p.schedule.government.train_start
    assert p.schedule.consumer.train_start == 0 <= firm_start <= gov_start
    # Firms start training when their masks are fully open, the government when its mask is.
    assert bool(action_masks(econ, firm_start)["firm"].all())
    assert bool(action_masks(econ, gov_start)["government"].all())
    if gov_start > 0:
        assert not bool(action_masks(econ, gov_start - 1)["government"].all())


def test_cpu_small_trains_every_type_within_60_iterations():
    p = preset("cpu_small")
    assert p.schedule.government.train_start <= 60
    econ = p.apply(PAPER)
    assert stage(p.schedule, 60, econ).training == ("consumer", "firm", "government")
    assert stage(p.schedule, 60, econ).entropy_coeff["consumer"] == pytest.approx(0.05)
    with pytest.raises(ValueError, match="factor"):
        compressed(0)


# ---- TrainConfig ---------------------------------------------------------------------------
def test_train_config_defaults_are_the_paper_run():
    tc = TrainConfig.paper()
    assert (tc.consumer.lr, tc.firm.lr, tc.government.lr) == (1e-3, 1e-3, 5e-5)
    assert (tc.consumer.reward_scale, tc.firm.reward_scale, tc.government.reward_scale) == (
        5.0,
        30000.0,
        1000.0,
    )
    for t in ("consumer", "firm", "government"):
        p = tc.ppo(t)
        assert p.hidden_sizes == (128, 128) and p.clip == 0.1 and p.grad_clip == 2.0
        assert p.gamma == 0.9999
    assert tc.batch_size == 128 and tc.sampler == "batched"


@pytest.mark.parametrize(
    ("updates", "message"),
    [
        ({"batch_size": 0}, "TrainConfig.batch_size must be in"),
        ({"sampler": "fast"}, "TrainConfig.sampler must be one of"),
        ({"firm.lr": -1.0}, "PPOParams.lr must be in"),
        ({"government.gamma": 1.5}, "PPOParams.gamma must be in"),
        ({"consumer.hidden_sizes": [64, 0]}, r"PPOParams.hidden_sizes\[1\] must be in"),
        ({"consumer.hidden_sizes": [64, 1.5]}, "must be an integer"),
        ({"shuffle": "yes"}, "TrainConfig.shuffle must be a bool"),
        ({"curriculum.firm.entropy_floor": 2.0}, "TypeSchedule.entropy_floor must be in"),
        ({"economy.n_firms": 0}, "RBCConfig.n_firms must be in"),
        ({"firm.lrx": 1.0}, "firm has no field 'lrx'"),
    ],
)
def test_train_config_rejects_bad_values_naming_field_and_range(updates, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig().override(updates)


def test_train_config_round_trips_through_dicts_and_yaml(tmp_path):
    tc = TrainConfig.cpu_small().override({"firm.lr": 1e-4, "economy.n_firms": 3})
    assert tc.firm.lr == 1e-4 and tc.economy.n_firms == 3
    assert TrainConfig.from_dict(tc.to_dict()) == tc
    path = tmp_path / "train.yaml"
    tc.dump(path)
    assert TrainConfig.load(path) == tc
    with pytest.raises(ValueError, match="no field 'bogus'"):
        TrainConfig.from_dict({"bogus": 1})


def test_cpu_small_config_carries_one_consistent_curriculum():
    tc = TrainConfig.cpu_small()
    p = preset("cpu_small")
    assert tc.economy.curriculum == p.economy and tc.curriculum == p.schedule
    assert tc.resolved_device == "cpu"
    assert dataclasses.replace(tc, device="auto").resolved_device == (
        "cuda" if torch.cuda.is_available() else "cpu"
    )


def test_ppo_params_accept_infinite_clips():
    p = PPOParams(grad_clip=math.inf, vf_clip=math.inf)
    assert PPOParams.from_dict(p.to_dict()) == p
