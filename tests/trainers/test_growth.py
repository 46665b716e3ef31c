"""BatchedPPO on the growth family: GAE with truncations, Gaussian module, a learning run."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from ray.rllib.core.columns import Columns

from trainers.cli import main
from trainers.config import TrainConfig
from trainers.presets import growth_preset
from trainers.rllib.batched import gae_truncated
from trainers.rllib.gaussian import GaussianPPOTorchRLModule
from trainers.settings import resolve_config

ROOT = Path(__file__).resolve().parents[2]


# ---- GAE with truncations ----------------------------------------------------------------------
def _gae_reference(rewards, values, next_values, cut, gamma, lam):
    """Per-column loop: episodes end after a cut; every step bootstraps from its next value."""
    t_len, m = rewards.shape
    adv = np.zeros((t_len, m))
    for j in range(m):
        running = 0.0
        for t in reversed(range(t_len)):
            if cut[t]:
                running = 0.0
            delta = rewards[t, j] + gamma * next_values[t, j] - values[t, j]
            running = delta + gamma * lam * running
            adv[t, j] = running
    return adv


@pytest.mark.parametrize("lam", [0.0, 0.9, 1.0])
def test_gae_truncated_matches_reference(lam: float) -> None:
    gen = torch.Generator().manual_seed(3)
    rewards = torch.randn(9, 4, generator=gen, dtype=torch.float64)
    values = torch.randn(9, 4, generator=gen, dtype=torch.float64)
    next_values = torch.randn(9, 4, generator=gen, dtype=torch.float64)
    cut = torch.tensor([0, 0, 1, 0, 0, 0, 1, 0, 0], dtype=torch.bool)
    adv, targets = gae_truncated(rewards, values, next_values, cut, gamma=0.95, lambda_=lam)
    want = _gae_reference(rewards.numpy(), values.numpy(), next_values.numpy(), cut, 0.95, lam)
    np.testing.assert_allclose(adv.numpy(), want, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(targets.numpy(), want + values.numpy(), rtol=1e-12)


def test_gae_truncated_lambda_one_is_the_bootstrapped_return() -> None:
    """λ = 1, no cut: A_t + V_t = Σ_k γ^k r_{t+k} + γ^(T-t) V(s_T)."""
    gamma = 0.9
    rewards = torch.tensor([[1.0], [2.0], [3.0]], dtype=torch.float64)
    values = torch.tensor([[0.5], [0.1], [-0.2]], dtype=torch.float64)
    next_values = torch.tensor([[0.1], [-0.2], [4.0]], dtype=torch.float64)
    cut = torch.zeros(3, dtype=torch.bool)
    _, targets = gae_truncated(rewards, values, next_values, cut, gamma=gamma, lambda_=1.0)
    assert float(targets[0, 0]) == pytest.approx(1 + gamma * 2 + gamma**2 * 3 + gamma**3 * 4)


# ---- the Gaussian module -----------------------------------------------------------------------
def _module(critic: str, own: int = 3, extra: int = 2) -> GaussianPPOTorchRLModule:
    torch.manual_seed(0)
    return GaussianPPOTorchRLModule(
        observation_space=gym.spaces.Box(-np.inf, np.inf, (own + extra,), np.float32),
        action_space=gym.spaces.Box(-10, 10, (2,), np.float32),
        model_config={"hidden_sizes": [8], "policy_dim": own, "critic": critic},
    )


@pytest.mark.parametrize("critic", ["independent", "centralized"])
def test_policy_never_reads_the_global_state(critic: str) -> None:
    module = _module(critic)
    x = torch.randn(5, 5)
    y = x.clone()
    y[:, 3:] += 1.0  # change only the global-state columns
    out_x = module.forward_inference({Columns.OBS: x})[Columns.ACTION_DIST_INPUTS]
    out_y = module.forward_inference({Columns.OBS: y})[Columns.ACTION_DIST_INPUTS]
    torch.testing.assert_close(out_x, out_y)
    v_x = module.compute_values({Columns.OBS: x})
    v_y = module.compute_values({Columns.OBS: y})
    assert v_x.shape == (5,)
    # The centralized critic reads the global state; the independent one does not.
    assert bool(torch.equal(v_x, v_y)) == (critic == "independent")


def test_log_std_floor_bounds_the_sampling_distribution() -> None:
    """min_log_std floors the sampled log σ (and its gradient stops below the floor)."""
    module = GaussianPPOTorchRLModule(
        observation_space=gym.spaces.Box(-np.inf, np.inf, (3,), np.float32),
        action_space=gym.spaces.Box(-10, 10, (2,), np.float32),
        model_config={"hidden_sizes": [8], "init_log_std": -4.0, "min_log_std": -2.0},
    )
    out = module.forward_train({Columns.OBS: torch.randn(4, 3)})[Columns.ACTION_DIST_INPUTS]
    log_std = out[:, 2:]
    assert torch.equal(log_std, torch.full_like(log_std, -2.0))
    log_std.sum().backward()
    assert torch.equal(module.log_std.grad, torch.zeros(2))
    with torch.no_grad():
        module.log_std.fill_(-1.0)  # above the floor: unchanged
    assert torch.equal(module.effective_log_std(), torch.full((2,), -1.0))


def test_log_std_floor_in_control_units_warns() -> None:
    """The presets' floor is in logit units: under clip or penalty it would be a σ in control
    units, so building such a run warns and names the setting that turns it off."""
    import warnings

    from trainers.config import FLOOR_OFF, MIN_LOG_STD
    from trainers.presets import HOUSEHOLD_FLOOR
    from trainers.rllib import build_config

    assert growth_preset("g1").planner.min_log_std == MIN_LOG_STD > FLOOR_OFF
    assert growth_preset("g4_h100").household.min_log_std == HOUSEHOLD_FLOOR["g4"]
    assert growth_preset("g6_n2").household.min_log_std == MIN_LOG_STD
    assert growth_preset("g7_half").household.min_log_std == HOUSEHOLD_FLOOR["g7_half"]
    assert growth_preset("g7_restricted").household.min_log_std == MIN_LOG_STD
    assert growth_preset("g6_n2").producer.min_log_std == FLOOR_OFF
    for constraint in ("clip", "penalty"):
        tc = resolve_config("g1", [f"economy.constraint={constraint}"])
        with pytest.warns(UserWarning, match=f"planner.min_log_std={FLOOR_OFF}"):
            build_config(tc)
    quiet = [
        resolve_config("g1", []),
        resolve_config("g1", ["economy.constraint=clip", f"planner.min_log_std={-10}"]),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        for tc in quiet:
            build_config(tc)


def test_module_rejects_bad_model_config() -> None:
    space = gym.spaces.Box(-np.inf, np.inf, (3,), np.float32)
    act = gym.spaces.Box(-1, 1, (1,), np.float32)
    with pytest.raises(ValueError, match="policy_dim"):
        GaussianPPOTorchRLModule(
            observation_space=space, action_space=act, model_config={"policy_dim": 4}
        )
    with pytest.raises(ValueError, match="critic"):
        GaussianPPOTorchRLModule(
            observation_space=space, action_space=act, model_config={"critic": "shared"}
        )


# ---- configs and CLI errors --------------------------------------------------------------------
@pytest.mark.parametrize("name", ["g1", "g2", "g4_h100"])
def test_growth_config_files_equal_the_presets(name: str) -> None:
    path = ROOT / "configs" / f"growth_{name}.yaml"
    assert TrainConfig.load(path) == growth_preset(name)
    assert resolve_config(str(path), []) == resolve_config(name, [])


def test_short_episode_presets_restart_within_each_rollout_for_coverage() -> None:
    """G3 and G7 half train on short episodes (issue 11: coverage); other presets unchanged."""
    from rbc_env.config import GrowthConfig
    from trainers.presets import TRAINING_COVERAGE

    for name in ("g3", "g3_log"):
        tc = growth_preset(name)
        assert tc.economy == GrowthConfig.preset(name).replace(**TRAINING_COVERAGE["g3"])
        assert tc.economy.horizon <= tc.rollout_length < GrowthConfig.preset(name).horizon
        assert resolve_config(name, []) == tc
        assert resolve_config(name, ["economy.horizon=400"]).economy.horizon == 400
    for name in ("g1", "g2", "g4_h100", "g6_n2", "g7_restricted"):
        assert growth_preset(name).economy == GrowthConfig.preset(name)
    # G7 half restarts from equal capital every 8 periods, so the information groups' wealth
    # cannot drift apart (a preset-name entry; its base's other preset is unchanged).
    half = growth_preset("g7_half")
    assert half.economy == GrowthConfig.preset("g7_half").replace(**TRAINING_COVERAGE["g7_half"])
    assert half.economy.horizon == 8 and half.economy.init_dispersion == 0


def test_truth_table_has_the_wide_grid_columns() -> None:
    from trainers.truth import format_rows

    row = {"label": "g1", "saving_error_mean": 0.001, "wide_saving_error_mean": 0.05}
    head, _, cells = format_rows([{**row, "wide_euler_max": -0.5}]).splitlines()
    names = [c.strip() for c in head.strip("|").split("|")]
    values = [c.strip() for c in cells.strip("|").split("|")]
    assert names == [
        "economy",
        "saving err mean (pp)",
        "wide saving err mean (pp)",
        "wide Euler log10 max",
    ]
    assert values == ["g1", "0.10", "5.00", "-0.50"]


def test_growth_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="unknown preset .g9."):
        resolve_config("g9", [])
    with pytest.raises(ValueError, match="batch_size must be in"):
        resolve_config("g1", ["batch_size=0"])
    with pytest.raises(ValueError, match="critic must be one of"):
        resolve_config("g1", ["critic=shared"])
    with pytest.raises(ValueError, match="n_households must be 1"):
        resolve_config("g1", ["economy.n_households=4"])


def test_truth_cli_rejects_bad_arguments(capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit) as err:
        main(["truth", "--economy", "g9"])
    assert err.value.code == 2
    assert "g1, g2, g3" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["truth", "--economy", "g1", "--set", "economy.params.delta=0.5"])
    assert "delta = 1" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["truth", "--economy", "g1", "--set", "economy.delta=0.5"])
    assert "no field 'delta'" in capsys.readouterr().err


def test_one_train_command_refuses_what_a_family_lacks(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """train takes both families; what only one family has is refused before any work."""
    runs = str(tmp_path)
    with pytest.raises(SystemExit) as err:
        main(["train", "--config", "cpu_small", "--eval-every", "5", "--runs-dir", runs])
    assert err.value.code == 2 and "--eval-every measures λ" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["train", "--config", "g1", "--set", "curriculum.firm.entropy_floor=0.1"])
    assert "curriculum applies to RBC economies only" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["truth", "--economy", "cpu_small", "--runs-dir", runs])
    assert "truth --economy takes a growth economy" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sweep", "--config", "g1", "--set", "deviation.agent_type=firm", "--runs-dir", runs])
    assert "deviation applies to RBC economies only" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # nothing was created


@pytest.mark.usefixtures("ray_session")
def test_train_command_runs_a_growth_economy(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """``train --config g1`` is the truth run: its accuracy row is the summary, printed last."""
    argv = ["train", "--config", "g1", "--set", "iterations=4", "--set", "eval_states=128"]
    argv += ["--runs-dir", str(tmp_path), "--name", "g1run", "--no-progress"]
    assert main(argv + ["--checkpoint-every", "2"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    root = tmp_path / "g1run"
    assert out[-1].startswith("| g1run | share | squash |")
    summary = (root / "summary.md").read_text()
    assert summary == (root / "accuracy.md").read_text() and out[-1] in summary
    row = json.loads((root / "accuracy.json").read_text())
    assert row["iterations"] == 4 and row["averaged_iterations"] == 2
    assert sorted(p.name for p in (root / "checkpoints").iterdir()) == [
        "iter_0000002",
        "iter_0000004",
    ]
    assert TrainConfig.load(root / "config.yaml", complete=True) == resolve_config(
        "g1", ["iterations=4", "eval_states=128"]
    )
    resume = ["train", "--name", "g1run", "--runs-dir", str(tmp_path), "--resume"]
    assert main(resume + ["--set", "iterations=8"]) == 2  # the average began at iteration 3
    assert "the iterate average already covers iterations after 2" in capsys.readouterr().err


@pytest.mark.usefixtures("ray_session")
def test_sweep_of_a_growth_economy_reports_its_accuracy(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """One Tune trial per seed; each trial's truth evaluation is its sweep.md row."""
    args = ["sweep", "--config", "g1", "--seeds", "0", "1", "--runs-dir", str(tmp_path)]
    args += ["--set", "iterations=2", "--set", "eval_states=64", "--set", "batch_size=8"]
    assert main([*args, "--name", "s"]) == 0
    table = capsys.readouterr().out.strip().splitlines()
    assert "truth/welfare_loss" in table[-4] and table[-1].startswith("| seed-1 | ok | 2 |")
    losses = set()
    for trial in ("seed-0", "seed-1"):
        row = json.loads((tmp_path / "s" / trial / "accuracy.json").read_text())
        assert row["label"] == trial and row["iterations"] == 2
        losses.add(f"{row['welfare_loss']:,.4g}")
        assert f"| {trial} | ok | 2 | " in "\n".join(table)
    assert len(losses) == 2  # the seed reaches the trial
    assert all(f" {loss} |" in "\n".join(table[-2:]) for loss in losses)  # each trial's λ


@pytest.mark.usefixtures("ray_session")
def test_a_growth_run_resumes_exactly(tmp_path: Path) -> None:
    """Stopped after 3 of 6 iterations and resumed: the accuracy row of the straight run.

    The checkpoint carries the sampler's state (RLlib's checkpoint), the training time and the
    truth hook's state: the iterate average (iterations 4-6 here), the cost so far and the λ
    history.
    """
    from trainers.run import RunPaths, iterate_training
    from trainers.truth import TruthEvaluation

    tc = resolve_config("g1", ["iterations=6", "eval_states=128", "batch_size=16"])

    def run(name: str, stop_after: int | None, every: int, resume: bool = False) -> Any:
        paths = RunPaths(tmp_path / name)
        paths.root.mkdir(exist_ok=True)
        hook = TruthEvaluation(tc, eval_every=every)
        for _ in iterate_training(
            tc,
            paths,
            resume=resume,
            checkpoint_every=100,
            hooks=[hook],
            should_stop=lambda: stop_after is not None and hook.iterations >= stop_after,
        ):
            pass
        return hook

    straight = run("straight", None, 2).result
    stopped = run("split", 3, 2)
    assert stopped.result is None and stopped.iterations == 3  # stopped: no evaluation yet
    resumed = run("split", None, 0, resume=True).result  # eval_every is the run's own: 2
    assert straight is not None and resumed is not None
    assert resumed["averaged_iterations"] == straight["averaged_iterations"] == 3
    timing = {"train_s", "s_to_target"}
    assert {k: v for k, v in resumed.items() if k not in timing} == {
        k: v for k, v in straight.items() if k not in timing
    }
    assert resumed["train_s"] > 0
    with open(tmp_path / "split" / "metrics.csv", newline="") as fh:
        lam = {int(float(r["iteration"])): float(r["truth/lambda"]) for r in csv.DictReader(fh)}
    assert [i for i, v in lam.items() if math.isfinite(v)] == [2, 4, 6]  # every 2, resumed too


@pytest.mark.usefixtures("ray_session")
def test_the_truth_hook_averages_and_scores_the_updated_weights() -> None:
    """The iterate the hook averages is the learner's after the iteration's update, not the
    one the iteration's rollout used: with one iterate averaged, the scored weights are the
    learner's final weights."""
    from trainers.run import iterate_training
    from trainers.truth import TruthEvaluation

    tc = resolve_config("g1", ["iterations=2", "eval_states=64", "batch_size=16"])
    tc = tc.replace(average_last=0.5)  # the last iteration's iterate only
    final: dict[str, dict[str, torch.Tensor]] = {}

    class Capture(TruthEvaluation):
        def on_end(self, algo: Any, paths: Any) -> None:
            state = algo.learner_group.get_state(components="learner/rl_module")
            final.update(state["learner"]["rl_module"])
            super().on_end(algo, paths)

    hook = Capture(tc, eval_every=0)
    for _ in iterate_training(tc, None, hooks=[hook]):
        pass
    assert hook.result is not None and hook.result["averaged_iterations"] == 1
    for module_id, averaged in hook.averaged.items():
        learned = final[module_id]
        for name, value in averaged.module.state_dict().items():
            assert torch.equal(value, torch.as_tensor(learned[name])), (module_id, name)


# ---- a real, short training run ----------------------------------------------------------------
@pytest.mark.usefixtures("ray_session")
def test_g1_learns_toward_the_truth_and_writes_the_run(tmp_path: Path) -> None:
    """25 iterations of G1 (about 10 s): the saving share moves from 0.5 to within 5 points of αβ.

    The untrained policy saves σ(0) = 0.5 (its mean raw action is ~0), whose welfare loss is
    λ(0.5) ≈ 0.03 by the constant-share formula; training must cut λ well below it.
    """
    from trainers.truth import TruthPaths, run_truth

    tc = resolve_config("g1", ["iterations=25", "eval_states=256"])
    paths = TruthPaths(tmp_path / "g1")
    row = run_truth(tc, paths=paths, eval_every=25)
    p = tc.economy.params
    ab = p.alpha * p.beta
    untrained = (1 - ab) / 0.5 * (ab / 0.5) ** (ab / (1 - ab)) - 1  # λ of s = 0.5, ∞ horizon
    assert row["saving_error_mean"] < 0.05
    assert row["welfare_loss"] < untrained / 3
    assert row["welfare_loss_low"] <= row["welfare_loss"] <= row["welfare_loss_high"]
    assert row["iterations"] == 25 and row["env_steps"] == 25 * tc.batch_size * tc.rollout_length
    assert math.isfinite(row["euler_mean"])
    saved = json.loads(paths.accuracy_json.read_text())
    assert saved["welfare_loss"] == pytest.approx(row["welfare_loss"])
    assert "saving err mean (pp)" in paths.accuracy_md.read_text()
    latest = paths.latest_intact_checkpoint()  # the one loop's checkpoints, with manifests
    assert paths.truth_plot.exists() and latest is not None and latest[0] == 25
    assert (latest[1] / "algorithm_state.pkl").exists() and paths.tensorboard.is_dir()
    assert len(paths.metrics.read_text().splitlines()) == 26  # header + one row per iteration
    assert TrainConfig.load(paths.config) == tc
    # The evaluated policy averages the last half of the iterates (25 - round(12.5) = 13 < i).
    assert tc.average_last == 0.5 and row["averaged_iterations"] == 12 and row["seed"] == 0
    weights = torch.load(paths.averaged_policy, weights_only=True)
    assert set(weights) == {"planner"} and all(
        v.isfinite().all() for v in weights["planner"].values()
    )


@pytest.mark.usefixtures("ray_session")
def test_growth_ppo_is_deterministic_and_resumes(tmp_path: Path) -> None:
    """Same seed -> same weights; a restored checkpoint continues like the uninterrupted run."""
    from ray.rllib.algorithms.algorithm import Algorithm

    from trainers.rllib import build_config

    tc = resolve_config(
        "g6_n2", ["batch_size=4", "rollout_length=8", "iterations=3", "critic=centralized"]
    )

    def weights(algo) -> dict[str, torch.Tensor]:
        state = algo.learner_group.get_state(components="learner/rl_module")
        flat = {}
        for mid, sd in state["learner"]["rl_module"].items():
            for k, v in sd.items():
                flat[f"{mid}.{k}"] = torch.as_tensor(v).clone()
        return flat

    a = build_config(tc).build_algo()
    a.train()
    a.save_to_path(str(tmp_path / "ckpt"))
    a.train()
    after_a = weights(a)
    a.stop()
    b = Algorithm.from_checkpoint(str(tmp_path / "ckpt"))
    b.train()
    after_b = weights(b)
    b.stop()
    c = build_config(tc).build_algo()
    c.train()
    c.train()
    after_c = weights(c)
    c.stop()
    assert after_a.keys() == after_b.keys() == after_c.keys()
    for k in after_a:
        torch.testing.assert_close(after_a[k], after_c[k], rtol=0, atol=0)
        torch.testing.assert_close(after_a[k], after_b[k], rtol=0, atol=0)


# ---- the centralized critic on the RBC economy -------------------------------------------------
def test_rbc_central_critic_reads_the_global_state_and_only_it() -> None:
    from rbc_env.core import observation_specs
    from trainers.config import TrainConfig
    from trainers.rllib.modules import GLOBAL_KEY, CentralCriticPPOTorchRLModule
    from trainers.rllib.spaces import module_spaces

    tc = TrainConfig.cpu_small().override({"economy.n_consumers": 4, "economy.n_firms": 2})
    obs_space, act_space = module_spaces(tc.economy)["consumer"]
    g_dim = observation_specs(tc.economy)["government"].shape[0]
    torch.manual_seed(0)
    module = CentralCriticPPOTorchRLModule(
        observation_space=obs_space,
        action_space=act_space,
        model_config={"fcnet_hiddens": [16], "vf_share_layers": True, "global_dim": g_dim},
    )
    x = torch.randn(3, obs_space.shape[0])
    g = torch.randn(3, g_dim)
    logits = module.forward_train({Columns.OBS: x, GLOBAL_KEY: g})[Columns.ACTION_DIST_INPUTS]
    logits2 = module.forward_train({Columns.OBS: x, GLOBAL_KEY: g + 1})[Columns.ACTION_DIST_INPUTS]
    torch.testing.assert_close(logits, logits2)  # the policy never reads g
    v = module.compute_values({Columns.OBS: x, GLOBAL_KEY: g})
    assert v.shape == (3,)
    assert not torch.equal(v, module.compute_values({Columns.OBS: x, GLOBAL_KEY: g + 1}))
    with pytest.raises(ValueError, match="global_state"):
        module.compute_values({Columns.OBS: x})


@pytest.mark.usefixtures("ray_session")
def test_rbc_central_critic_trains_and_restores(tmp_path: Path) -> None:
    from ray.rllib.algorithms.algorithm import Algorithm

    from trainers.config import TrainConfig
    from trainers.rllib import build_config

    tc = TrainConfig.cpu_small().override(
        {"economy.n_consumers": 4, "economy.n_firms": 2, "batch_size": 4, "critic": "centralized"}
    )
    algo = build_config(tc).build_algo()
    try:
        result = algo.train()
        assert math.isfinite(result["learners"]["consumer"]["vf_loss"])
        algo.save_to_path(str(tmp_path / "ckpt"))
    finally:
        algo.stop()
    restored = Algorithm.from_checkpoint(str(tmp_path / "ckpt"))
    try:
        assert type(restored.rollout_module["firm"]).__name__ == "CentralCriticPPOTorchRLModule"
        restored.train()
    finally:
        restored.stop()
    with pytest.raises(NotImplementedError, match="batched sampler only"):
        build_config(tc.override({"sampler": "env_runner"}))
