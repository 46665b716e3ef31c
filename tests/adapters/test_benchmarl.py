"""BenchMARL on the batched TorchRL face: the task, and MAPPO/IPPO with the action heads intact."""

from __future__ import annotations

import doctest
import importlib.util
import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytest.importorskip("benchmarl")

from benchmarl.algorithms import MappoConfig  # noqa: E402
from benchmarl.experiment import Experiment, ExperimentConfig  # noqa: E402
from benchmarl.experiment.callback import Callback  # noqa: E402
from benchmarl.models import MlpConfig  # noqa: E402
from tensordict import TensorDictBase  # noqa: E402
from torchrl.data import Categorical, Composite, MultiCategorical  # noqa: E402
from torchrl.envs import Compose, TransformedEnv  # noqa: E402

from rbc_env.adapters import benchmarl as bm_module  # noqa: E402
from rbc_env.adapters.benchmarl import (  # noqa: E402
    MultiHeadIppoConfig,
    MultiHeadMappoConfig,
    RBCTask,
    multi_head_nvec,
)
from rbc_env.adapters.torchrl import MultiHeadCategorical, RBCTorchRLEnv  # noqa: E402
from rbc_env.core import action_masks  # noqa: E402

SMALL = {"n_consumers": 10, "n_firms": 2}
TYPES = ("consumer", "firm", "government")
# at this curriculum iteration the firms' heads allow several, but not all, choices
PARTLY_MASKED = 20_000
B = 4  # economies per batch


class Recorder(Callback):
    """Keeps what BenchMARL collects, trains on and evaluates."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[TensorDictBase] = []
        self.training: dict[str, TensorDictBase] = {}
        self.rollouts: list[TensorDictBase] = []

    def on_batch_collected(self, batch: TensorDictBase) -> None:
        self.batches.append(batch.clone())

    def on_train_end(self, training_td: TensorDictBase, group: str) -> None:
        self.training[group] = training_td.clone()

    def on_evaluation_end(self, rollouts: list[TensorDictBase]) -> None:
        self.rollouts = [r.clone() for r in rollouts]


def experiment_config(folder: Path, horizon: int) -> ExperimentConfig:
    """One on-policy iteration: B economies x 2 episodes, two minibatches, one evaluation."""
    cfg = ExperimentConfig.get_from_yaml()
    frames = B * horizon * 2
    cfg.max_n_frames = frames
    cfg.max_n_iters = None
    cfg.on_policy_n_envs_per_worker = B
    cfg.on_policy_collected_frames_per_batch = frames
    cfg.on_policy_minibatch_size = frames // 2
    cfg.on_policy_n_minibatch_iters = 1
    cfg.prefer_continuous_actions = False
    cfg.loggers = []
    cfg.create_json = True  # BenchMARL evaluates only when something records the result
    cfg.evaluation = True
    cfg.evaluation_interval = frames
    cfg.evaluation_episodes = 2
    cfg.render = False
    cfg.save_folder = str(folder)
    return cfg


def small_model() -> MlpConfig:
    model = MlpConfig.get_from_yaml()
    model.num_cells = [32]
    return model


def heads_log_prob(logits: torch.Tensor, action: torch.Tensor, nvec: tuple[int, ...]):
    """Sum over heads of each head's categorical log-probability, computed head by head."""
    parts = torch.split(logits, nvec, dim=-1)
    return sum(
        torch.distributions.Categorical(logits=p).log_prob(action[..., k])
        for k, p in enumerate(parts)
    )


def allowed(mask: torch.Tensor, action: torch.Tensor, nvec: tuple[int, ...]) -> torch.Tensor:
    """Whether each head's index is allowed: mask [Σ nvec], action [..., H] -> [..., H]."""
    offsets = torch.tensor([sum(nvec[:k]) for k in range(len(nvec))])
    return mask[action + offsets]


# ---- the task ------------------------------------------------------------------------------
@pytest.mark.parametrize("masks", [False, True], ids=["plain", "masked"])
def test_task_specs_follow_the_torchrl_face(masks: bool) -> None:
    task = RBCTask.CLOSED.get_task({**SMALL, "horizon": 5, "action_masks": masks})
    env = task.get_env_fun(num_envs=3, continuous_actions=False, seed=0, device="cpu")()
    assert isinstance(env, RBCTorchRLEnv)
    assert env.batch_size == (3,) and env.config.variant == "closed"
    assert env.config.n_consumers == 10 and env.config.horizon == 5
    assert task.max_steps(env) == 5
    groups = task.group_map(env)
    assert list(groups) == list(TYPES)
    assert groups["firm"] == ["firm_0", "firm_1"]
    obs = task.observation_spec(env)
    act = task.action_spec(env)
    for t in TYPES:
        n, nvec = len(groups[t]), env.nvec[t]
        assert list(obs[t].keys()) == ["observation"]
        assert obs[t, "observation"].shape == (n, env.observation_spec[t, "observation"].shape[-1])
        assert isinstance(act[t, "action"], MultiCategorical)
        assert act[t, "action"].shape == (n, len(nvec))
        assert multi_head_nvec(act[t, "action"]) == nvec
    assert task.state_spec(env)["state"].shape == (7 * 2 + 2 * 10 + 3,)
    assert task.info_spec(env) is None
    mask_spec = task.action_mask_spec(env)
    if masks:
        for t in TYPES:
            assert list(mask_spec[t].keys()) == ["action_mask"]
            assert mask_spec[t, "action_mask"].shape == (len(groups[t]), sum(env.nvec[t]))
    else:
        assert mask_spec is None
    assert not task.supports_continuous_actions() and task.supports_discrete_actions()
    assert not task.has_render(env) and task.env_name() == "rbc"


def test_task_fixes_the_curriculum_iteration() -> None:
    task = RBCTask.OPEN.get_task({**SMALL, "action_masks": True, "iteration": PARTLY_MASKED})
    env = task.get_env_fun(num_envs=2, continuous_actions=False, seed=0, device="cpu")()
    td = env.reset()
    expected = action_masks(env.config, PARTLY_MASKED)["firm"].expand(2, 2, -1)
    assert torch.equal(td["firm", "action_mask"], expected)
    assert env.economy.theta_factor < 1


def test_reward_scale_divides_each_types_reward() -> None:
    scale = {"consumer": 5, "firm": 30_000.0}
    task = RBCTask.OPEN.get_task({**SMALL, "horizon": 3, "reward_scale": scale})
    make = task.get_env_fun(num_envs=2, continuous_actions=False, seed=1, device="cpu")
    raw = make()
    scaled = TransformedEnv(make(), Compose(*task.get_env_transforms(raw)))
    a = raw.rollout(3)
    b = scaled.rollout(3)  # same seed: same random actions, same economy
    assert torch.equal(a["firm", "action"], b["firm", "action"])
    for t in TYPES:
        expected = a["next", t, "reward"] / scale.get(t, 1.0)
        torch.testing.assert_close(b["next", t, "reward"], expected)
    assert RBCTask.OPEN.get_task(SMALL).get_env_transforms(raw) == []


def test_default_task_is_the_paper_economy(tmp_path: Path) -> None:
    task = RBCTask.OPEN.get_task()
    assert task.rbc_config.n_consumers == 100 and task.rbc_config.n_firms == 10
    path = tmp_path / "task.yaml"
    path.write_text("n_consumers: 3\nfirm:\n  tfp: 0.02\n")
    task = RBCTask.CLOSED.get_from_yaml(str(path))
    assert task.rbc_config.n_consumers == 3 and task.rbc_config.firm.tfp == 0.02
    assert task.rbc_config.variant == "closed"


def test_task_config_errors() -> None:
    with pytest.raises(ValueError, match="unknown argument 'colour'"):
        RBCTask.OPEN.get_task({"colour": "red"})
    with pytest.raises(ValueError, match="variant 'open'; the config says 'closed'"):
        RBCTask.OPEN.get_task({"variant": "closed"})
    with pytest.raises(ValueError, match="n_consumers"):
        RBCTask.OPEN.get_task({"n_consumers": 0})
    with pytest.raises(ValueError, match="action_masks must be a bool"):
        RBCTask.OPEN.get_task({"action_masks": 1})
    with pytest.raises(ValueError, match="iteration"):
        RBCTask.OPEN.get_task({"iteration": -1})
    with pytest.raises(ValueError, match="unknown agent type 'bank'"):
        RBCTask.OPEN.get_task({"reward_scale": {"bank": 1.0}})
    with pytest.raises(ValueError, match=r"reward_scale.firm must be in \(0, inf\); got 0"):
        RBCTask.OPEN.get_task({"reward_scale": {"firm": 0}})
    with pytest.raises(ValueError, match="must be a dict"):
        RBCTask.OPEN.get_task({"reward_scale": 5.0})
    task = RBCTask.OPEN.get_task(SMALL)
    with pytest.raises(ValueError, match="discrete"):
        task.get_env_fun(num_envs=1, continuous_actions=True, seed=0, device="cpu")
    with pytest.raises(ValueError, match="RBCTorchRLEnv"):
        task.group_map(object())


# ---- the algorithms ------------------------------------------------------------------------
def test_configs_are_benchmarls_defaults() -> None:
    stock = MappoConfig.get_from_yaml().__dict__
    assert MultiHeadMappoConfig.get_from_yaml().__dict__ == stock
    assert MultiHeadIppoConfig.get_from_yaml().__dict__.keys() == stock.keys()
    assert MultiHeadMappoConfig.has_centralized_critic()
    assert MultiHeadIppoConfig.has_independent_critic()


def test_multi_head_nvec_needs_one_layout_per_group() -> None:
    spec = MultiCategorical(torch.tensor([[3, 2], [3, 2]]), shape=(2, 2))
    assert multi_head_nvec(spec) == (3, 2)
    with pytest.raises(ValueError, match="same nvec"):
        multi_head_nvec(MultiCategorical(torch.tensor([[3, 2], [4, 2]]), shape=(2, 2)))


def test_other_action_specs_go_to_the_stock_actor() -> None:
    """A plain Categorical group (or continuous actions) is built by BenchMARL's own code."""

    class Stock:
        def _get_policy_for_loss(self, group, model_config, continuous):
            return ("stock", group, continuous)

    class Probe(bm_module._MultiHeadActor, Stock):
        action_spec = Composite(
            {"agents": Composite({"action": Categorical(5, shape=(2,))}, shape=(2,))}
        )

    assert Probe()._get_policy_for_loss("agents", None, False) == ("stock", "agents", False)
    assert Probe()._get_policy_for_loss("agents", None, True) == ("stock", "agents", True)


@pytest.mark.parametrize("masks", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("algorithm", [MultiHeadMappoConfig, MultiHeadIppoConfig])
def test_one_iteration_trains_with_the_heads_intact(
    algorithm: type, masks: bool, tmp_path: Path
) -> None:
    """Collect, train and evaluate once: [B, N, H] actions, summed head log-probs, finite losses."""
    task_config = {**SMALL, "horizon": 5}
    if masks:  # with masks and rewards scaled as in configs/cpu_small.yaml
        task_config.update(
            action_masks=True,
            iteration=PARTLY_MASKED,
            reward_scale={"consumer": 5.0, "firm": 30_000.0, "government": 1_000.0},
        )
    task = RBCTask.OPEN.get_task(task_config)
    recorder = Recorder()
    experiment = Experiment(
        task=task,
        algorithm_config=algorithm.get_from_yaml(),
        model_config=small_model(),
        critic_model_config=small_model(),
        seed=0,
        config=experiment_config(tmp_path, horizon=5),
        callbacks=[recorder],
    )
    policies = {t: experiment.algorithm.get_policy_for_loss(t) for t in TYPES}
    before = {t: [p.detach().clone() for p in policies[t].parameters()] for t in TYPES}
    experiment.run()

    env = experiment.test_env.base_env
    assert len(recorder.batches) == 1
    batch = recorder.batches[0]
    assert batch.batch_size == (B, 10)  # B economies x two episodes of 5 periods
    for t in TYPES:
        n, nvec = len(task.group_map(env)[t]), env.nvec[t]
        action = batch[t, "action"]
        assert action.shape == (B, 10, n, len(nvec)) and action.dtype == torch.int64
        assert bool((action >= 0).all()) and bool((action < torch.tensor(nvec)).all())
        # the stored log-probability is the sum of the heads' log-probabilities
        logits = batch[t, "logits"]
        assert logits.shape == (B, 10, n, sum(nvec))
        log_prob = batch[t, "log_prob"]
        assert log_prob.shape == (B, 10, n)
        if not masks:
            torch.testing.assert_close(log_prob, heads_log_prob(logits, action, nvec))
        else:
            mask = action_masks(env.config, PARTLY_MASKED)[t]
            assert bool(allowed(mask, action, nvec).all()), t
            dist = MultiHeadCategorical(logits, nvec, mask=batch[t, "action_mask"])
            torch.testing.assert_close(log_prob, dist.log_prob(action))
        # every head varies across the batch (none collapsed into a single categorical)
        if t == "consumer" or not masks:
            assert all(action[..., k].unique().numel() > 1 for k in range(len(nvec))), t

        losses = recorder.training[t]
        for key in ("loss_objective", "loss_critic", "loss_entropy", "entropy"):
            assert bool(torch.isfinite(losses[key]).all()), (t, key)
        # the actor's parameters moved (the government's masks leave it nothing to learn)
        moved = any(
            not torch.equal(a, b) for a, b in zip(before[t], policies[t].parameters(), strict=True)
        )
        assert moved == (not masks or t != "government"), t

    # evaluation: greedy rollouts of B_eval economies, one full episode each
    assert len(recorder.rollouts) == 2
    for rollout in recorder.rollouts:
        assert rollout.batch_size == (5,)
        assert bool(rollout["next", "done"][-1].all())
        assert rollout["consumer", "action"].shape == (5, 10, 4)
        for t in TYPES:
            assert all(math.isfinite(x) for x in rollout["next", t, "reward"].flatten().tolist())


def test_example_script_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """examples/benchmarl_mappo.py: two tiny iterations, one row each, table printed last."""
    path = Path(__file__).resolve().parents[2] / "examples" / "benchmarl_mappo.py"
    spec = importlib.util.spec_from_file_location("benchmarl_mappo_example", path)
    example = importlib.util.module_from_spec(spec)
    # BenchMARL pickles the experiment's callbacks: their module must be importable by name
    monkeypatch.setitem(sys.modules, spec.name, example)
    spec.loader.exec_module(example)
    argv = ["--iters", "2", "--n-envs", "2", "--epochs", "1", "--out", str(tmp_path)]
    rows = example.main([*argv, "--algorithm", "ippo", "--curriculum-iteration", "20000"])
    assert [r["iteration"] for r in rows] == [0, 1]
    assert all(r["episodes"] == 2 for r in rows)
    assert all(math.isfinite(v) for r in rows for v in r.values())
    assert capsys.readouterr().out.rstrip().endswith(" |")
    assert len(list(tmp_path.glob("multiheadippo_open_mlp_*/config.pkl"))) == 1


HOWTO = Path(__file__).resolve().parents[2] / "docs" / "howto" / "benchmarl.md"
MARKER = "<!-- test: run -->"


@pytest.mark.skipif(not HOWTO.exists(), reason="docs are not shipped with this checkout")
def test_howto_snippet_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The snippet of docs/howto/benchmarl.md marked as tested runs as written."""
    text = HOWTO.read_text(encoding="utf-8")
    blocks = re.findall(re.escape(MARKER) + r"\n```python\n(.*?)\n```", text, flags=re.S)
    assert len(blocks) == text.count(MARKER) == 1
    monkeypatch.chdir(tmp_path)  # it writes runs/benchmarl/ under the working directory
    scope: dict[str, object] = {"__name__": "howto"}
    exec(compile(blocks[0], HOWTO.name, "exec"), scope)
    scalars = scope["experiment"].folder_name.glob(
        "**/collection_firm_reward_episode_reward_mean.csv"
    )
    assert len(list(scalars)) == 1


def test_benchmarl_is_not_imported_by_rbc_env() -> None:
    code = "import sys, rbc_env; print('benchmarl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False"]


def test_doctests() -> None:
    result = doctest.testmod(bm_module, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0
