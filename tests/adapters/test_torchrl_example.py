"""examples/torchrl_mappo.py (IPPO and MAPPO with TorchRL's parts); the how-to's TorchRL parts."""

from __future__ import annotations

import csv
import importlib.util
import math
import re
import shlex
import sys
import warnings
from pathlib import Path
from types import ModuleType

import pytest
import torch

pytest.importorskip("torchrl")

from tensordict.nn import TensorDictSequential  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "torchrl_mappo.py"
DOC = ROOT / "docs" / "howto" / "interop.md"
TYPES = ("consumer", "firm", "government")
TINY = ["--iterations", "3", "--batch-size", "4", "--minibatches", "2", "--epochs", "2"]


@pytest.fixture(scope="module")
def example() -> ModuleType:
    """The example script as a module (registered in sys.modules for its dataclasses)."""
    if not EXAMPLE.exists():
        pytest.skip("examples are not shipped with this checkout")
    spec = importlib.util.spec_from_file_location("torchrl_mappo_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def read_csv(path: Path) -> list[dict[str, float]]:
    with path.open(newline="") as f:
        return [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]


def mean(rows: list[dict[str, float]], key: str) -> float:
    return sum(row[key] for row in rows) / len(rows)


# ---- the script runs and writes its outputs ------------------------------------------------------
@pytest.mark.parametrize("algo", ["ippo", "mappo"])
def test_example_writes_csv_png_and_table(example, algo, tmp_path, capsys):
    """A tiny run writes one CSV row per iteration (finite rewards and losses) and a PNG."""
    out = tmp_path / "new" / "folder"  # created by the script
    result = example.main(["--algo", algo, "--out", str(out), "--log-every", "1", *TINY])
    csv_path, png_path = out / f"{algo}_seed0.csv", out / f"{algo}_seed0.png"
    assert (result.csv_path, result.png_path) == (csv_path, png_path)
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = read_csv(csv_path)
    assert [r["iteration"] for r in rows] == [0, 1, 2]
    assert rows == [{k: float(v) for k, v in r.items()} for r in result.history]
    for t in TYPES:
        for key in ("reward", "loss_objective", "loss_critic", "loss_entropy", "entropy"):
            assert all(math.isfinite(r[f"{t}_{key}"]) for r in rows), (t, key)
        # the critics learn something: their loss is not zero
        assert all(r[f"{t}_loss_critic"] > 0 for r in rows), t
        assert all(r[f"{t}_entropy"] > 0 for r in rows), t
    # rewards are in model units: firms' profits dwarf consumers' utilities
    assert mean(rows, "firm_reward") > 100 * abs(mean(rows, "consumer_reward"))
    printed = capsys.readouterr().out
    assert printed.count("iter ") == 3
    assert f"wrote {csv_path}" in printed
    assert printed.rstrip().endswith(result.table)
    assert result.table.count("\n") == 1 + len(TYPES)
    assert isinstance(result.policy, TensorDictSequential)


def test_existing_results_are_kept_unless_overwrite(example, tmp_path):
    """A second run with the same algo and seed refuses to replace the files; --overwrite does."""
    args = ["--algo", "ippo", "--out", str(tmp_path), *TINY]
    example.main(args)
    csv_path = tmp_path / "ippo_seed0.csv"
    csv_path.write_text("kept")
    with pytest.raises(FileExistsError, match="overwrite"):
        example.main(args)
    assert csv_path.read_text() == "kept"
    example.main([*args, "--overwrite", "--seed", "0"])
    assert len(read_csv(csv_path)) == 3


def test_bad_arguments_exit(example, tmp_path, capsys):
    for bad in (["--iterations", "0"], ["--train", "bank"], ["--algo", "qmix"]):
        with pytest.raises(SystemExit):
            example.main(["--out", str(tmp_path), *bad])
    assert "--train must name types" in capsys.readouterr().err


# ---- what the parts do ---------------------------------------------------------------------------
def build(example, algo: str, batch_size: int = 8):
    """The example's env and groups, calibrated, as ``main`` builds them."""
    args = example.parse_args(["--algo", algo, "--batch-size", str(batch_size)])
    env = example.torchrl_env(
        batch_size=batch_size, action_masks=True, seed=0, n_consumers=10, n_firms=2
    )
    env.iteration = args.curriculum_iteration
    norm = example.Standardize(env.observation_spec["state"].shape[-1])
    groups = {t: example.build_group(env, t, args, norm) for t in TYPES}
    policy = TensorDictSequential(*(g.actor for g in groups.values()))
    torch.manual_seed(0)
    example.calibrate(env, policy, groups, norm)
    return args, env, groups, policy


@pytest.mark.parametrize("algo", ["ippo", "mappo"])
def test_mappo_critic_reads_the_state_and_ippo_does_not(example, algo):
    _, env, groups, policy = build(example, algo)
    data = example.collect(env, policy)
    for t, g in groups.items():
        assert ("state" in g.critic.in_keys) == (algo == "mappo"), t
        assert (t, "observation") in g.critic.in_keys
        td = data[:, 0].clone()
        before = g.critic(td.clone())[t, "state_value"]
        assert before.shape == (8, len(env.group_map[t]), 1)
        td["state"] = td["state"] * 1.5  # cash, prices, capital ... all change
        after = g.critic(td)[t, "state_value"]
        assert (not torch.allclose(before, after)) == (algo == "mappo"), t


def test_calibration_scales_rewards_per_type(example):
    _, _, groups, _ = build(example, "mappo")
    scales = {t: g.reward_scale for t, g in groups.items()}
    assert 0.1 < scales["consumer"] < 100
    assert scales["firm"] > 1e3 * scales["consumer"]  # very different scales, hence per type
    for g in groups.values():
        assert torch.all(g.obs_norm.scale > 0)


def test_sampled_actions_respect_the_masks(example):
    """At the default curriculum iteration taxes are capped: the policy never draws the rest."""
    _, env, _, policy = build(example, "ippo", batch_size=16)
    data = example.collect(env, policy)
    mask = data["government", "action_mask"][0, 0, 0]
    n = env.nvec["government"][0]
    assert 0 < int(mask[:n].sum()) < n  # a real restriction
    taxes = data["government", "action"]
    assert bool(mask[:n][taxes[..., 0]].all()) and bool(mask[n:][taxes[..., 1]].all())
    # unmasked, a uniform policy of this width would draw a forbidden tax in 160 draws
    assert int(taxes.max()) < n


@pytest.mark.parametrize("algo", ["ippo", "mappo"])
def test_gae_does_not_bootstrap_at_the_horizon(example, algo):
    """The episode terminates at T: the last value target is the last (scaled) reward alone."""
    args, env, groups, policy = build(example, algo)
    data = example.collect(env, policy)
    assert bool(data["next", "firm", "terminated"][:, -1].all())
    assert not bool(data["next", "firm", "terminated"][:, :-1].any())
    example.train_iteration(data, groups, args, torch.Generator().manual_seed(0))
    for t, g in groups.items():
        target = data[t, "value_target"]
        reward = data["next", t, "scaled_reward"]
        torch.testing.assert_close(reward, data["next", t, "reward"] / g.reward_scale)
        torch.testing.assert_close(target[:, -1], reward[:, -1])
        # before T the target bootstraps from the next value, so it differs from the reward
        assert not torch.allclose(target[:, :-1], reward[:, :-1]), t


# ---- learning ------------------------------------------------------------------------------------
# Budget measured on 2 CPU cores (seeds 0-3, 16 economies, 15 iterations, about 5 s a run):
# firms' mean reward, last 3 / first 3 iterations, 2.5-3.4 (IPPO and MAPPO); consumers training
# alone 1.55-1.57. When all types learn, firms raise prices and cut wages and the consumers'
# reward falls (to 0.2-0.5 of its start): the tests check each type where it is the one learning.
LEARN = ["--batch-size", "16", "--iterations", "15", "--seed", "0"]


@pytest.mark.slow
@pytest.mark.parametrize("algo", ["ippo", "mappo"])
def test_firms_learn(example, algo, tmp_path):
    result = example.main(["--algo", algo, "--out", str(tmp_path), *LEARN])
    first, last = result.history[:3], result.history[-3:]
    assert mean(last, "firm_reward") > 1.5 * mean(first, "firm_reward")


@pytest.mark.slow
def test_consumers_learn_when_they_alone_train(example, tmp_path):
    result = example.main(["--train", "consumer", "--out", str(tmp_path), *LEARN])
    first, last = result.history[:3], result.history[-3:]
    assert mean(last, "consumer_reward") > 1.2 * mean(first, "consumer_reward")
    # the other types do not train: no losses recorded for them
    assert all(math.isnan(row["firm_loss_objective"]) for row in result.history)


# ---- docs/howto/interop.md -----------------------------------------------------------------------
def doc_blocks(marker: str, lang: str) -> list[str]:
    if not DOC.exists():
        pytest.skip("docs are not shipped with this checkout")
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(re.escape(marker) + rf"\n```{lang}\n(.*?)\n```", text, flags=re.S)
    assert len(blocks) == text.count(marker)  # every marker is followed by such a block
    return blocks


def test_howto_torchrl_snippets_run(capsys):
    """The python snippets of the how-to's TorchRL section run as written."""
    blocks = doc_blocks("<!-- test: torchrl -->", "python")
    assert len(blocks) == 2
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PettingZoo in TorchRL is tested")
        for i, code in enumerate(blocks):
            exec(compile(code, f"{DOC.name}[torchrl {i}]", "exec"), {"__name__": "howto"})
    out = capsys.readouterr().out
    assert "torch.Size([32, 10, 10, 4]) torch.Size([32, 10, 2, 1])" in out
    assert "{'consumer': 10, 'firm': 2, 'government': 1}" in out
    assert "torch.Size([10, 1, 2, 6])" in out  # the government's one-hot-layout mask


def test_howto_torchrl_commands_run(example, tmp_path):
    """Each command line of the how-to runs the example (with a tiny budget appended)."""
    (block,) = doc_blocks("<!-- test: torchrl-cli -->", "bash")
    lines = [line.split("#")[0].strip() for line in block.splitlines()]
    commands = [line for line in lines if line]
    assert len(commands) >= 2
    for i, line in enumerate(commands):
        words = shlex.split(line)
        assert words[:2] == ["python", "examples/torchrl_mappo.py"], line
        result = example.main([*words[2:], *TINY, "--out", str(tmp_path / str(i))])
        assert len(result.history) == 3


def test_pettingzoo_wrapper_fails_on_the_flat_government_mask():
    """TorchRL 0.14's PettingZooWrapper cannot take the default flat mask of equal heads.

    The government's two heads have the same size, so TorchRL makes its action a ``Categorical``
    of shape [2] with a [2, 6] mask, which the flat mask of 12 entries does not fit; this is why
    the how-to's recipe passes ``mask_layout="one_hot"``.
    """
    from torchrl.envs import PettingZooWrapper

    import rbc_env

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PettingZoo in TorchRL is tested")
        env = PettingZooWrapper(
            env=rbc_env.parallel_env(n_consumers=3, n_firms=2, action_masks=True),
            categorical_actions=True,
            seed=0,
        )
        with pytest.raises(RuntimeError, match="expanded size"):
            env.rollout(2)


@pytest.mark.parametrize("categorical", [True, False], ids=["categorical", "one_hot"])
def test_pettingzoo_wrapper_honours_one_hot_layout_masks(categorical):
    """The how-to's recipe: PettingZooWrapper over mask_layout="one_hot" masks rolls out whole
    episodes, each group's action_mask is the core's, and random actions obey it."""
    from torchrl.envs import PettingZooWrapper

    import rbc_env
    from rbc_env.core import action_masks

    par = rbc_env.parallel_env(n_consumers=3, n_firms=2, action_masks=True, mask_layout="one_hot")
    par.iteration = 0  # the curriculum's first masks: centre price and wage, zero taxes
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="PettingZoo in TorchRL is tested")
        env = PettingZooWrapper(env=par, categorical_actions=categorical, seed=0)
        td = env.rollout(2 * par.config.horizon, break_when_any_done=False)
    assert td.batch_size == (2 * par.config.horizon,)
    expected = action_masks(par.config, 0)
    gov_mask = td["government", "action_mask"]
    assert gov_mask.shape[-2:] == (2, par.config.government.n_tax_levels)
    assert (gov_mask.reshape(len(td), -1) == expected["government"]).all()
    firm_mask = td["firm", "action_mask"]
    assert (firm_mask == expected["firm"]).all()
    gov = td["government", "action"]
    if not categorical:
        gov = gov.argmax(-1)
    assert (gov == 0).all()  # only zero taxes are allowed at iteration 0
    assert td["next", "done"].sum() == 2
