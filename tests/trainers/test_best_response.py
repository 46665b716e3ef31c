"""Best response: the procedure on a game with a known answer, and on a trained RBC run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from rbc_env import BatchedEconomy
from trainers.best_response import Estimate, best_response, load_run
from trainers.cli import main

# A monopolist with linear demand q = A - B p and unit cost C: profit π(p) = (p - C)(A - B p),
# maximized at p* = (A + B C) / (2 B) with π* = (A - B C)² / (4 B). Its policy is a Gaussian
# price N(μ, S²), so E π = π(μ) - B S²: a best response gains π(p*) - π(μ0) exactly.
A, B, C, S = 10.0, 1.0, 2.0, 0.3
P_STAR = (A + B * C) / (2 * B)
N_EVAL = 4000


def _profit(p: torch.Tensor) -> torch.Tensor:
    return (p - C) * (A - B * p)


class _Monopolist:
    """REINFORCE on the mean price, with a baseline; evaluation episodes drawn from a seed."""

    def __init__(self, mu: float, seed: int) -> None:
        self.mu = mu
        self.gen = torch.Generator().manual_seed(seed)

    def evaluate(self, seed: int) -> torch.Tensor:
        noise = torch.randn(
            N_EVAL, generator=torch.Generator().manual_seed(seed), dtype=torch.float64
        )
        return _profit(self.mu + S * noise)

    def improve(self, _i: int) -> None:
        noise = torch.randn(4000, generator=self.gen, dtype=torch.float64)
        gain = _profit(self.mu + S * noise)
        grad = float(((gain - gain.mean()) * noise / S).mean())  # ∂E π / ∂μ estimate
        self.mu += 0.2 * grad

    def snapshot(self) -> float:
        return self.mu

    def restore(self, mu: float) -> None:
        self.mu = mu

    def search(self, iterations: int, **kwargs: object):
        return best_response(
            self.evaluate,
            self.improve,
            iterations,
            snapshot=self.snapshot,
            restore=self.restore,
            **kwargs,  # type: ignore[arg-type]
        )


def test_best_response_finds_the_known_gain() -> None:
    mu0 = 4.0
    agent = _Monopolist(mu0, seed=0)
    result = agent.search(60, agent_type="firm", training_improvement=2.0)
    known = float(_profit(torch.tensor(P_STAR)) - _profit(torch.tensor(mu0)))  # = 4.0
    assert known == pytest.approx(4.0)
    assert result.epsilon_low <= known <= result.epsilon_high
    assert result.epsilon_high - result.epsilon_low < 0.5  # the interval is informative
    assert result.eps_plus == result.epsilon > 0
    assert result.relative == pytest.approx(result.epsilon / 2.0)
    assert result.relative_before == pytest.approx(result.epsilon / abs(result.before.mean))
    assert result.selected_iteration > 0
    assert abs(agent.mu - P_STAR) < 0.05


def test_a_best_response_already_gets_zero_epsilon() -> None:
    """At the optimum no candidate beats the learned policy on the selection episodes by
    more than noise; whichever wins, ε⁺ ≥ 0 and the interval covers 0."""
    agent = _Monopolist(P_STAR, seed=1)
    result = agent.search(20, select_every=4)
    assert result.eps_plus >= 0.0 and result.eps_plus_low >= 0.0
    assert result.epsilon_low <= 0.0 + 1e-3
    assert math.isnan(result.relative)  # no training improvement given
    assert math.isnan(agent.search(0, training_improvement=-1.0).relative)  # gain ≤ 0: n/a


def test_a_worse_deviation_is_never_reported() -> None:
    """An 'improvement' that only hurts: the learned policy is chosen, ε = ε⁺ = 0 exactly."""
    agent = _Monopolist(P_STAR, seed=2)
    result = best_response(
        agent.evaluate,
        lambda _i: setattr(agent, "mu", agent.mu + 0.5),
        10,
        snapshot=agent.snapshot,
        restore=agent.restore,
        select_every=1,
    )
    assert result.selected_iteration == 0
    assert result.epsilon == result.eps_plus == result.eps_plus_high == 0.0
    assert result.after == result.before


# A game with an externality: N firms share one policy, a Gaussian quantity N(μ, S²) each, and
# sell at the common price P = A_Q - B_Q Σ_j q_j at unit cost C_Q. Firm i's own reward
# r_i = q_i (P - C_Q) rises with μ up to the Cournot quantity; the type's mean reward
# J_type(μ) = (1/N) Σ_i r_i is highest at the cartel (monopoly) quantity, which is lower. From
# μ0 between the two, training on each firm's own reward raises output and lowers J_type; the
# type-level best response (trained on J_type, as the RBC sampler does) finds the team gain.
N_F, A_Q, B_Q, C_Q, S_Q = 4, 10.0, 1.0, 2.0, 0.1
MU_CARTEL = (A_Q - C_Q) / (2 * B_Q * N_F)  # argmax of J_type: 1.0
MU_COURNOT = (A_Q - C_Q) / (B_Q * (N_F + 1))  # symmetric Nash: 1.6


def _firm_rewards(q: torch.Tensor) -> torch.Tensor:
    """``[episodes, N]`` quantities -> each firm's own profit (the same price for all)."""
    price = A_Q - B_Q * q.sum(-1, keepdim=True)
    return q * (price - C_Q)


def _j_type(mu: float) -> float:
    """J_type when every firm sells exactly mu (the noise shifts it by a constant)."""
    return float(_firm_rewards(torch.full((1, N_F), mu, dtype=torch.float64)).mean())


class _Oligopoly:
    """REINFORCE on the shared mean quantity with the sampler's reward shaping."""

    def __init__(self, mu: float, objective: str, seed: int) -> None:
        self.mu, self.objective = mu, objective
        self.gen = torch.Generator().manual_seed(seed)

    def evaluate(self, seed: int) -> torch.Tensor:
        gen = torch.Generator().manual_seed(seed)
        noise = torch.randn(N_EVAL, N_F, generator=gen, dtype=torch.float64)
        return _firm_rewards(self.mu + S_Q * noise).mean(-1)  # J_type per episode

    def improve(self, _i: int) -> None:
        from trainers.curriculum import deviation_rewards

        noise = torch.randn(4000, N_F, generator=self.gen, dtype=torch.float64)
        r = deviation_rewards(_firm_rewards(self.mu + S_Q * noise), self.objective)
        advantage = r - r.mean(0, keepdim=True)
        self.mu += 0.01 * float((advantage * noise / S_Q).mean())  # shared-policy gradient


def test_type_level_deviation_finds_the_team_gain_despite_the_externality() -> None:
    mu0 = 1.3
    known = _j_type(MU_CARTEL) - _j_type(mu0)
    assert MU_CARTEL < mu0 < MU_COURNOT and known > 0.3
    own = _Oligopoly(mu0, "own", seed=0)
    for i in range(200):
        own.improve(i)
    assert own.mu > mu0 + 0.1  # toward Cournot: the own-reward step raises output ...
    assert _j_type(own.mu) < _j_type(mu0)  # ... and lowers the type's mean reward
    team = _Oligopoly(mu0, "type", seed=0)
    result = best_response(
        team.evaluate,
        team.improve,
        200,
        snapshot=lambda: team.mu,
        restore=lambda mu: setattr(team, "mu", mu),
        select_every=10,
        agent_type="firm",
    )
    assert abs(team.mu - MU_CARTEL) < 0.05
    assert result.epsilon_low <= known + 0.01 and result.epsilon >= 0.9 * known
    assert result.eps_plus_low > 0.0


def test_estimate_and_procedure_reject_bad_input() -> None:
    est = Estimate.of([1.0, 2.0, 3.0])
    assert est.mean == 2.0 and est.low < 2.0 < est.high and est.n == 3
    with pytest.raises(ValueError, match="at least 2 samples"):
        Estimate.of([1.0])
    with pytest.raises(ValueError, match="finite"):
        Estimate.of([1.0, float("nan")])
    with pytest.raises(ValueError, match="iterations must be"):
        best_response(lambda _s: torch.zeros(3), lambda i: None, -1, snapshot=dict, restore=print)
    # Student's t, not the normal z: wider for few samples.
    assert Estimate.of([1.0, 2.0]).high - 1.5 == pytest.approx(
        12.706 * 0.5, rel=1e-3
    )  # t_{0.975,1} · sd / √n


def test_bad_run_folders_get_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        load_run(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no config.yaml"):
        load_run(tmp_path / "empty")
    from trainers.config import TrainConfig
    from trainers.presets import growth_preset

    (tmp_path / "nockpt").mkdir()
    TrainConfig.cpu_small().dump(tmp_path / "nockpt" / "config.yaml")
    with pytest.raises(ValueError, match="no checkpoints"):
        load_run(tmp_path / "nockpt")
    (tmp_path / "truth").mkdir()
    growth_preset("g1").dump(tmp_path / "truth" / "config.yaml")
    with pytest.raises(ValueError, match="not an RBC TrainConfig"):
        load_run(tmp_path / "truth")
    # The CLI turns them into a usage error (exit 2), not a traceback.
    with pytest.raises(SystemExit) as err:
        main(["best-response", str(tmp_path / "nockpt")])
    assert err.value.code == 2
    assert "no checkpoints" in capsys.readouterr().err


@pytest.mark.usefixtures("ray_session")
def test_best_response_of_a_trained_run(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    tiny = ["--set", "economy.n_consumers=4", "--set", "economy.n_firms=2"]
    tiny += ["--set", "batch_size=4", "--set", "iterations=2"]
    args = ["train", "--config", "cpu_small", *tiny, "--runs-dir", str(tmp_path)]
    assert main([*args, "--name", "r", "--no-progress", "--checkpoint-every", "1"]) == 0
    run = tmp_path / "r"
    argv = ["best-response", str(run), "--types", "consumer,firm", "--iterations", "1"]
    assert main([*argv, "--episodes", "8", "--agents", "0"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("| firm |")  # the table is printed last
    rows = json.loads((run / "best_response.json").read_text())
    assert [r["agent_type"] for r in rows] == ["consumer", "firm"]
    for r in rows:
        assert r["before_n"] == 8 and r["iterations"] == 1
        assert r["epsilon_low"] <= r["epsilon"] <= r["epsilon_high"]
        assert 0.0 <= r["eps_plus_low"] <= r["eps_plus"] <= r["eps_plus_high"]
        assert r["selected_iteration"] in (0, 1)
        assert math.isfinite(r["training_improvement"])

    # Only the deviating module's weights move during a best-response iteration, for the
    # type's shared policy and for a single agent's own module (which starts as its copy).
    from trainers.best_response import build_deviation, deviation_config
    from trainers.config import BestResponseParams

    config, checkpoint = load_run(run)
    trained = _weights_of_checkpoint(checkpoint)

    # The run folder is also a policy for per-type views (its newest intact checkpoint).
    from trainers.policies import checkpoint_policy

    policy = checkpoint_policy(run, greedy=True)
    assert policy.checkpoint == checkpoint and policy.config == config.economy
    obs = BatchedEconomy(config.economy, 2, seed=0).reset()
    assert policy(obs)["consumer"].shape == (2, 4, 4)  # 2 goods, hours and employer heads
    for agent_type, index, method in (("firm", -1, "ppo"), ("consumer", 1, "pg")):
        params = BestResponseParams(method=method)
        algo = build_deviation(checkpoint, deviation_config(config, agent_type, index, params))
        try:
            before = _weights(algo)
            for m in trained:
                assert torch.equal(before[m], trained[m])  # restored from the checkpoint
            module = algo.train_config.trained_modules[0]
            if index >= 0:
                assert module == f"consumer_agent{index}"
                assert torch.equal(before[module], trained["consumer"])
            result = algo.train()
            after = _weights(algo)
        finally:
            algo.stop()
        changed = {m for m in before if not torch.equal(before[m], after[m])}
        assert changed == {module}
        assert result["curriculum/theta_factor"] == 1.0  # full labour disutility
        assert result["curriculum/allowed_share/firm"] == 1.0  # no action masks
        assert math.isfinite(result[f"reward/{module}_mean"])

    # Fixed taxes vs the learned government, same consumers and firms.
    fixed = ["fixed-taxes", str(run), "--rates", "0.2,0.8", "--episodes", "8"]
    assert main(fixed) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("| fixed 80% |")
    rows = json.loads((run / "fixed_taxes.json").read_text())
    assert [r["policy"] for r in rows] == ["learned", "fixed 20%", "fixed 80%"]
    welfare = [r["welfare"]["mean"] for r in rows]
    assert all(math.isfinite(w) for w in welfare)
    assert welfare[1] != welfare[2]  # the fixed policy really replaces the government's
    with pytest.raises(SystemExit):
        main(["fixed-taxes", str(run), "--rates", "0.33"])
    assert "tax grid" in capsys.readouterr().err


def _weights_of_checkpoint(checkpoint: Path) -> dict[str, torch.Tensor]:
    from ray.rllib.algorithms.algorithm import Algorithm

    algo = Algorithm.from_checkpoint(str(checkpoint))
    try:
        return _weights(algo)
    finally:
        algo.stop()


def _weights(algo) -> dict[str, torch.Tensor]:
    state = algo.learner_group.get_state(components="learner/rl_module")["learner"]["rl_module"]
    return {
        mid: torch.cat([torch.as_tensor(v).flatten().double() for v in sd.values()])
        for mid, sd in state.items()
    }


def test_deviation_config_is_validated() -> None:
    from trainers.config import TrainConfig

    small = TrainConfig.cpu_small()
    n = small.economy.n_consumers
    with pytest.raises(ValueError, match=rf"agent_index must be in \[-1, {n - 1}\]"):
        small.override({"deviation.agent_type": "consumer", "deviation.agent_index": n})
    with pytest.raises(ValueError, match="must be -1 for the government"):
        small.override({"deviation.agent_type": "government", "deviation.agent_index": 0})
    with pytest.raises(ValueError, match="agent_type"):
        small.override({"deviation.agent_type": "household"})
    with pytest.raises(ValueError, match="method"):
        small.override({"best_response.method": "reinforce"})
    dev = small.override({"deviation.agent_type": "firm", "deviation.agent_index": 3})
    assert dev.module_ids[-1] == "firm_agent3" and dev.trained_modules == ("firm_agent3",)
    assert small.trained_modules is None and small.module_ids == ("consumer", "firm", "government")
    assert dev.deviator == ("firm", 3, "firm_agent3")  # a named tuple: the policy mapping
    assert dev.deviator.module_id == "firm_agent3" and dev.deviator.agent_index == 3
    assert small.deviator is None
    assert small.override({"deviation.agent_type": "firm"}).deviator is None  # type level

    from trainers.rllib import build_config

    with pytest.raises(NotImplementedError, match="batched sampler only"):
        build_config(dev.override({"sampler": "env_runner"}))
    with pytest.raises(NotImplementedError, match="batched sampler only"):
        build_config(small.override({"sampler": "env_runner", "best_response.every": 2}))


@pytest.mark.usefixtures("ray_session")
def test_pg_takes_one_step_and_single_agents_deviate(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    tiny = ["--set", "economy.n_consumers=4", "--set", "economy.n_firms=2"]
    tiny += ["--set", "batch_size=4", "--set", "iterations=1"]
    args = ["train", "--config", "cpu_small", *tiny, "--runs-dir", str(tmp_path)]
    assert main([*args, "--name", "r", "--no-progress", "--checkpoint-every", "1"]) == 0
    run = tmp_path / "r"

    # method="pg": one Adam step per iteration (PPO with the run's settings: num_epochs).
    from trainers.best_response import build_deviation, deviation_config
    from trainers.config import BestResponseParams

    config, checkpoint = load_run(run)
    assert config.num_epochs > 1
    for method, steps in (("pg", 1), ("ppo", config.num_epochs)):
        params = BestResponseParams(method=method, optimizer="fresh")
        algo = build_deviation(checkpoint, deviation_config(config, "firm", -1, params))
        try:
            algo.train()
            counts = algo.learner_group.foreach_learner(_adam_steps)
        finally:
            algo.stop()
        assert next(iter(counts)).get() == {"firm": steps}
    # PG is PPO with one epoch (same lr): the same weights after an iteration, bit for bit.
    after = {}
    for method in ("pg", "ppo"):
        params = BestResponseParams(method=method, pg_lr=config.firm.lr)
        dev = deviation_config(config, "firm", -1, params).override({"num_epochs": 1})
        algo = build_deviation(checkpoint, dev)
        try:
            algo.train()
            after[method] = _weights(algo)["firm"]
        finally:
            algo.stop()
    assert torch.equal(after["pg"], after["ppo"])
    pg = deviation_config(config, "government", -1, BestResponseParams(method="pg", pg_lr=2e-3))
    assert pg.government.lr == 2e-3 and pg.num_epochs == 1 and pg.num_minibatches == 1
    assert deviation_config(config, "firm", -1, BestResponseParams()).firm.lr == config.firm.lr

    # optimizer="restore" continues the trained consumers' Adam state (one training iteration:
    # num_epochs steps), for the type and for a single agent's copy, at the deviation's lr.
    for index in (-1, 0):
        params = BestResponseParams(method="pg", pg_lr=3e-3)
        dev = deviation_config(config, "consumer", index, params)
        algo = build_deviation(checkpoint, dev)
        try:
            counts = next(iter(algo.learner_group.foreach_learner(_adam_steps))).get()
            lrs = next(iter(algo.learner_group.foreach_learner(_learning_rates))).get()
        finally:
            algo.stop()
        module = dev.trained_modules[0]
        assert counts["consumer"] == config.num_epochs and counts[module] == config.num_epochs
        assert lrs[module] == 3e-3 and lrs["government"] == config.government.lr

    # Single-agent deviations from the command line: one consumer and one firm.
    argv = ["best-response", str(run), "--types", "consumer,firm", "--iterations", "1"]
    assert main([*argv, "--episodes", "4", "--agents", "1", "--method", "pg"]) == 0
    rows = json.loads((run / "best_response.json").read_text())
    cases = [(r["agent_type"], r["agent_index"], r["method"]) for r in rows]
    assert cases == [
        ("consumer", -1, "pg"),
        ("firm", -1, "pg"),
        ("consumer", 2, "pg"),
        ("firm", 1, "pg"),
    ]
    assert "| consumer | 2 | pg |" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([*argv, "--agents", "-1"])
    assert "agents" in capsys.readouterr().err

    # A folder whose checkpoint holds another economy than its config.yaml: a clear error.
    import shutil

    other = tmp_path / "other"
    shutil.copytree(run, other)
    config.override({"economy.n_firms": 3}).dump(other / "config.yaml")
    with pytest.raises(ValueError, match="holds another economy"):
        load_run(other)
    with pytest.raises(SystemExit) as err:
        main(["best-response", str(other)])
    assert err.value.code == 2
    assert "another economy" in capsys.readouterr().err


def _learning_rates(learner) -> dict[str, float]:
    return {mid: learner.get_optimizer(mid).param_groups[0]["lr"] for mid in learner.module.keys()}


def _adam_steps(learner) -> dict[str, int]:
    """Adam steps taken by each module that has optimizer state."""
    out = {}
    for mid in learner.module.keys():
        opt = learner.get_optimizer(mid)
        steps = [int(s["step"]) for s in opt.state.values() if "step" in s]
        if steps:
            out[mid] = max(steps)
    return out


@pytest.mark.usefixtures("ray_session")
def test_periodic_best_response_logs_the_epsilon_curve(tmp_path: Path) -> None:
    from trainers.run import read_metrics

    tiny = ["--set", "economy.n_consumers=4", "--set", "economy.n_firms=2"]
    tiny += ["--set", "batch_size=4", "--set", "iterations=2"]
    tiny += ["--set", "best_response.every=2", "--set", "best_response.iterations=1"]
    tiny += ["--set", "best_response.episodes=4"]
    args = ["train", "--config", "cpu_small", *tiny, "--runs-dir", str(tmp_path)]
    assert main([*args, "--name", "r", "--no-progress"]) == 0
    rows = read_metrics(tmp_path / "r" / "metrics.csv")
    assert len(rows) == 2
    for t in ("consumer", "firm", "government"):
        key = f"best_response/{t}/epsilon"
        assert math.isnan(float(rows[0][key]))  # not a check iteration
        eps = float(rows[1][key])
        low = float(rows[1][f"best_response/{t}/epsilon_low"])
        high = float(rows[1][f"best_response/{t}/epsilon_high"])
        assert math.isfinite(eps) and low <= eps <= high
        after = float(rows[1][f"best_response/{t}/after"])
        before = float(rows[1][f"best_response/{t}/before"])
        assert eps == pytest.approx(after - before)
