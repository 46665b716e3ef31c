"""Growth-family adapters: Gymnasium planner env and PettingZoo env (API, parity, errors)."""

from __future__ import annotations

import doctest
import functools
import re
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from pettingzoo import AECEnv
from pettingzoo.test import (
    api_test,
    max_cycles_test,
    parallel_api_test,
    parallel_seed_test,
    seed_test,
)

import rbc_env
from rbc_env.adapters import gymnasium as gym_module
from rbc_env.adapters import pettingzoo as gpz_module
from rbc_env.adapters.gymnasium import GrowthPlannerEnv, growth_env
from rbc_env.adapters.pettingzoo import (
    EconomyParallelEnv,
    growth_aec_env,
    growth_parallel_env,
)
from rbc_env.config import GrowthConfig
from rbc_env.growth import GrowthEconomy

PLANNERS = ["g1", "g2", "g3_log", "g5_n2"]
MARKETS = ["g4_h4", "g6_n2", "g7_half"]
SHORT = 20  # horizon of most tests

# check_env's advisories that follow from the prescribed spaces (unbounded observation box, raw
# actions in [-action_bound, action_bound]); any other warning is an error.
CHECK_ENV_ADVISORIES = (
    "A Box observation space minimum value is -infinity",
    "A Box observation space maximum value is infinity",
    "For Box action spaces, we recommend using a symmetric and normalized space",
)


def run_gym(env, actions, seed):
    """Reset with ``seed``, apply ``actions`` in turn; return [(obs, reward, truncated, info)]."""
    obs, _ = env.reset(seed=seed)
    steps = [(obs, None, False, None)]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        assert terminated is False
        steps.append((obs, reward, truncated, info))
    return steps


def run_parallel(env, seed):
    """Reset with ``seed``, step with ``env.sample_actions`` to the end; return per-step dicts."""
    obs, _ = env.reset(seed=seed)
    steps = [(obs, None)]
    while env.agents:
        obs, rewards, *_ = env.step(env.sample_actions())
        steps.append((obs, rewards))
    return steps


def assert_same_dict_steps(a, b):
    assert len(a) == len(b)
    for (obs_a, rew_a), (obs_b, rew_b) in zip(a, b, strict=True):
        assert obs_a.keys() == obs_b.keys()
        for k in obs_a:
            np.testing.assert_array_equal(obs_a[k], obs_b[k])
        assert rew_a == rew_b


# ---- standard checkers ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", PLANNERS)
def test_gymnasium_check_env(name):
    """check_env passes; the only warnings are the three advisories about the prescribed spaces."""
    env = growth_env(name, horizon=SHORT)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)
    messages = [str(w.message) for w in caught]
    unexpected = [m for m in messages if not any(a in m for a in CHECK_ENV_ADVISORIES)]
    assert not unexpected
    assert len(messages) == 3


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", [*MARKETS, "g1"])
def test_parallel_api_test(name):
    """pettingzoo.test.parallel_api_test passes with every warning turned into an error."""
    env = growth_parallel_env(name, horizon=SHORT)
    parallel_api_test(env, num_cycles=100)
    assert env.max_cycles == SHORT  # the checker's max_cycles = 100 changed nothing


# The AEC checker's advisories: unbounded observation boxes, and G6's two agent types with
# observations of different widths. Any other warning is an error.
AEC_ADVISORIES = (
    "Agent's m.* observation space value is .*infinity",
    "Agents have different observation space sizes",
    "Observations are different shapes",
)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", [*MARKETS, "g1"])
def test_aec_api_test(name):
    """PettingZoo's AEC api_test passes on growth_aec_env (parallel_to_aec of the parallel env)."""
    aec = growth_aec_env(name, horizon=SHORT)
    assert isinstance(aec, AECEnv) and isinstance(aec.unwrapped, EconomyParallelEnv)
    with warnings.catch_warnings():
        for message in AEC_ADVISORIES:
            warnings.filterwarnings("ignore", message=message, category=UserWarning)
        api_test(aec, num_cycles=100)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", [*MARKETS, "g1"])
def test_seed_tests(name):
    """parallel_seed_test and the AEC seed_test pass (seed_test covers a whole episode)."""
    parallel_seed_test(functools.partial(growth_parallel_env, name, horizon=SHORT))
    seed_test(functools.partial(growth_aec_env, name, horizon=SHORT))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("name", [*MARKETS, "g1"])
def test_max_cycles_test(name):
    """pettingzoo.test.max_cycles_test passes: max_cycles=4 gives 4-step episodes, both forms."""
    module = types.SimpleNamespace(
        env=functools.partial(rbc_env.growth_aec_env, name),
        parallel_env=functools.partial(rbc_env.growth_parallel_env, name),
    )
    max_cycles_test(module)
    assert module.parallel_env(max_cycles=4).config.horizon == 4
    assert module.env(max_cycles=4).unwrapped.max_cycles == 4


@pytest.mark.parametrize("factory", [growth_parallel_env, growth_aec_env])
def test_max_cycles_keyword_sets_the_horizon_and_must_agree_with_it(factory):
    """max_cycles=k is horizon=k; with a different horizon or not an integer >= 1 it raises."""
    assert factory("g4_h4", max_cycles=7).unwrapped.config.horizon == 7
    assert factory("g4_h4", max_cycles=7, horizon=7).unwrapped.config.horizon == 7
    with pytest.raises(ValueError, match="got max_cycles=7 and horizon=5, which disagree"):
        factory("g4_h4", max_cycles=7, horizon=5)
    with pytest.raises(ValueError, match=r"max_cycles must be an integer in \[1, inf\)"):
        factory("g4_h4", max_cycles=0)


@pytest.mark.parametrize("name", [*MARKETS, *PLANNERS])
def test_parallel_obs_and_state_lie_in_their_spaces_every_step(name):
    """Every observation and state() lie in their spaces at every step; rewards are floats."""
    env = growth_parallel_env(name, horizon=SHORT)
    for k, space in enumerate({id(s): s for s in env.action_spaces.values()}.values()):
        space.seed(k)
    obs, infos = env.reset(seed=0)
    n_steps = 0
    while True:
        assert set(obs) == set(infos) == set(env.possible_agents)
        for a, o in obs.items():
            assert env.observation_space(a).contains(o), (a, n_steps)
        assert env.state_space.contains(env.state())
        if not env.agents:
            break
        obs, rewards, terms, truncs, infos = env.step(
            {a: env.action_space(a).sample() for a in env.agents}
        )
        n_steps += 1
        assert all(type(r) is float and np.isfinite(r) for r in rewards.values())
        assert not any(terms.values()) and all(truncs.values()) == (n_steps == SHORT)
    assert n_steps == SHORT


def test_class_docstring_examples_run():
    """The doctests in both env classes' docstrings run and their outputs match."""
    for module in (gym_module, gpz_module):
        result = doctest.testmod(module)
        assert result.attempted >= 5 and result.failed == 0, module.__name__


# ---- agents and spaces ---------------------------------------------------------------------------
def test_parallel_agents_and_spaces_per_type():
    """Agent ids per type; one space object per type; unknown ids raise naming the id."""
    env = growth_parallel_env("g6_n2", n_households=3)
    assert env.possible_agents == [
        "household_0",
        "household_1",
        "household_2",
        "producer_0",
        "producer_1",
    ]
    assert env.observation_space("household_0") is env.observation_space("household_2")
    assert env.action_space("producer_0") is env.action_space("producer_1")
    assert env.observation_space("producer_0") is not env.observation_space("household_0")
    assert env.observation_space("household_1").shape == (7,)
    assert env.observation_space("producer_1").shape == (5,)
    assert env.action_space("household_0").shape == (1,)
    assert env.action_space("household_0").high.tolist() == [10.0]
    assert env.state_space.shape == (4,)
    with pytest.raises(
        ValueError, match=r"unknown agent id 'producer_2'.*producer_0\.\.producer_1"
    ):
        env.action_space("producer_2")
    assert growth_parallel_env("g1").possible_agents == ["planner_0"]
    assert growth_parallel_env("g5_n2").action_space("planner_0").shape == (2,)


@pytest.mark.parametrize(("name", "obs_width", "action_width"), [("g1", 2, 1), ("g2", 2, 2)])
def test_gymnasium_spaces(name, obs_width, action_width):
    """float32 Box observation (unbounded) and Box action in [-action_bound, action_bound]."""
    env = growth_env(name, action_bound=3.0)
    assert env.observation_space.shape == (obs_width,)
    assert env.observation_space.dtype == np.float32
    assert np.isinf(env.observation_space.low).all()
    assert env.action_space.shape == (action_width,) and env.action_space.dtype == np.float32
    assert env.action_space.low.tolist() == [-3.0] * action_width
    assert env.action_space.high.tolist() == [3.0] * action_width


def test_float64_config_gives_float64_spaces_and_arrays():
    """config.dtype sets the dtype of the boxes, observations and state."""
    env = growth_env("g1", dtype="float64")
    obs, _ = env.reset(seed=0)
    assert env.observation_space.dtype == env.action_space.dtype == obs.dtype == np.float64
    penv = growth_parallel_env("g4_h4", dtype="float64")
    obs, _ = penv.reset(seed=0)
    assert obs["household_0"].dtype == penv.state().dtype == np.float64
    assert penv.state_space.dtype == np.float64


# ---- the adapters add no economics ---------------------------------------------------------------
@pytest.mark.parametrize("name", ["g1", "g2", "g3", "g5_n2"])
def test_gymnasium_step_equals_growth_economy_b1(name):
    """Same seed and actions: obs, rewards and flows equal GrowthEconomy(batch_size=1) exactly."""
    env = growth_env(name, horizon=8)
    econ = GrowthEconomy(env.config, batch_size=1, seed=0)
    env.action_space.seed(4)
    obs, _ = env.reset(seed=0)
    core_obs = econ.reset(seed=0)
    for t in range(8):
        np.testing.assert_array_equal(obs, core_obs["planner"][0, 0].numpy())
        action = env.action_space.sample()
        obs, reward, terminated, truncated, info = env.step(action)
        out = econ.step({"planner": torch.from_numpy(action).view(1, 1, -1)})
        core_obs = out.obs
        assert reward == float(out.rewards["planner"][0, 0])
        assert truncated == bool(out.done[0]) == (t == 7) and terminated is False
        for key, value in out.flows.items():
            np.testing.assert_array_equal(np.asarray(info[key]).reshape(-1), value[0].reshape(-1))
    assert isinstance(info["output"], float) and isinstance(info["hours"], float)
    assert isinstance(info["saving_share"], np.ndarray)
    assert info["saving_share"].shape == (env.config.n_sectors,)


@pytest.mark.parametrize("name", ["g6_n2", "g7_half"])
def test_parallel_step_equals_growth_economy_b1(name):
    """Same seed and actions: per-agent obs, rewards, flows and state equal the core's."""
    env = growth_parallel_env(name, horizon=6)
    econ = GrowthEconomy(env.config, batch_size=1, seed=0)
    gen = torch.Generator().manual_seed(3)
    obs, _ = env.reset(seed=0)
    core_obs = econ.reset(seed=0)
    while env.agents:
        for a in env.possible_agents:
            kind, i = a.rsplit("_", 1)
            np.testing.assert_array_equal(obs[a], core_obs[kind][0, int(i)].numpy())
        np.testing.assert_array_equal(env.state(), econ.global_state()[0].numpy())
        actions = econ.sample_actions(generator=gen)
        per_agent = {
            f"{t}_{i}": actions[t][0, i].numpy().astype(np.float64)  # float64 numpy input
            for t in actions
            for i in range(actions[t].shape[1])
        }
        obs, rewards, _, truncs, _ = env.step(per_agent)
        out = econ.step(actions)
        core_obs = out.obs
        for t, r in out.rewards.items():
            for i in range(r.shape[1]):
                assert rewards[f"{t}_{i}"] == float(r[0, i])
        assert all(truncs.values()) == bool(out.done[0])
        for k, v in out.flows.items():
            np.testing.assert_array_equal(env.last_flows[k], v[0].numpy())


# ---- seeding -------------------------------------------------------------------------------------
def test_gymnasium_same_seed_same_trajectory():
    """Same seed and actions: same obs, rewards, infos; reseeding restarts; other seed differs."""
    a, b = growth_env("g2", horizon=SHORT), growth_env("g2", horizon=SHORT)
    a.action_space.seed(1)
    actions = [a.action_space.sample() for _ in range(SHORT)]
    run_a, run_b = run_gym(a, actions, seed=7), run_gym(b, actions, seed=7)
    for (obs_a, r_a, tr_a, info_a), (obs_b, r_b, tr_b, info_b) in zip(run_a, run_b, strict=True):
        np.testing.assert_array_equal(obs_a, obs_b)
        assert r_a == r_b and tr_a == tr_b
        if info_a is not None:
            np.testing.assert_array_equal(info_a["capital_next"], info_b["capital_next"])
    assert run_a[-1][2] is True  # truncated at the horizon
    again = run_gym(a, actions, seed=7)
    assert [s[1] for s in again] == [s[1] for s in run_a]
    other = run_gym(b, actions, seed=8)
    assert any(x[1] != y[1] for x, y in zip(other[1:], run_a[1:], strict=True))
    # the shocks come from the seeded generator too: same start, same actions, new shocks
    assert len({s[1] for s in run_a[1:]}) > 1


@pytest.mark.parametrize("name", ["g6_n2", "g1"])
def test_parallel_same_seed_same_trajectory(name):
    """sample_actions after reset(seed=s) reproduces over two episodes; another seed differs."""
    a, b = growth_parallel_env(name, horizon=10), growth_parallel_env(name, horizon=10)
    run_a = [run_parallel(a, seed=3) for _ in range(2)]  # the second continues the stream
    run_b = [run_parallel(b, seed=3) for _ in range(2)]
    for ep_a, ep_b in zip(run_a, run_b, strict=True):
        assert_same_dict_steps(ep_a, ep_b)
    assert_same_dict_steps(run_parallel(a, seed=3), run_a[0])
    other = run_parallel(b, seed=4)
    assert any(r != s for (_, r), (_, s) in zip(other[1:], run_a[0][1:], strict=True))


def test_numpy_integer_seed_is_accepted():
    """reset(seed=np.int64(5)) equals reset(seed=5) in both envs."""
    obs_a, _ = growth_env("g1").reset(seed=np.int64(5))
    obs_b, _ = growth_env("g1").reset(seed=5)
    np.testing.assert_array_equal(obs_a, obs_b)
    obs_a, _ = growth_parallel_env("g4_h4").reset(seed=np.int64(5))
    obs_b, _ = growth_parallel_env("g4_h4").reset(seed=5)
    assert_same_dict_steps([(obs_a, None)], [(obs_b, None)])


# ---- episode structure ---------------------------------------------------------------------------
def test_gymnasium_step_before_reset_and_after_end_raises():
    """Stepping before reset or past the horizon raises ValueError telling to reset."""
    env = growth_env("g1", horizon=2)
    with pytest.raises(ValueError, match=r"call reset\(\)"):
        env.step(np.zeros(1, np.float32))
    env.reset(seed=0)
    assert env.step(np.zeros(1, np.float32))[3] is False
    assert env.step(np.zeros(1, np.float32))[3] is True
    with pytest.raises(ValueError, match=r"call reset\(\)"):
        env.step(np.zeros(1, np.float32))
    env.reset()
    env.step(np.zeros(1, np.float32))


def test_parallel_agents_leave_at_horizon():
    """All agents leave together by truncation; stepping after raises; max_cycles is the horizon."""
    env = growth_parallel_env("g4_h4", horizon=3)
    assert env.agents == []
    with pytest.raises(ValueError, match="call reset"):
        env.step({})
    env.reset(seed=0)
    for t in range(3):
        _, _, terms, truncs, infos = env.step(env.sample_actions())
        assert not any(terms.values()) and all(truncs.values()) == (t == 2)
        assert set(truncs) == set(infos) == set(env.possible_agents)
        assert env.agents == ([] if t == 2 else env.possible_agents)
    assert env.sample_actions() == {}
    with pytest.raises(ValueError, match="call reset"):
        env.step({})
    env.max_cycles = 1000
    with pytest.raises(ValueError, match=r"max_cycles must be an integer in \[3, inf\)"):
        env.max_cycles = 2


# ---- bad actions ---------------------------------------------------------------------------------
RANGE = r"\[-10, 10\] \(GrowthConfig.action_bound\)"


@pytest.mark.parametrize(
    ("action", "match"),
    [
        (np.array([np.nan, 0.0]), "must be finite, in " + RANGE),
        (np.array([0.0, np.inf], np.float32), "must be finite, in " + RANGE),
        (np.array([10.5, 0.0]), "must be in " + RANGE + r"; got \[10.5, 0.0\]"),
        (np.array([0.0, -11.0], np.float32), "must be in " + RANGE),
        (np.zeros(3), r"must have shape \(2,\) with values in " + RANGE + r"; got shape \(3,\)"),
        (np.zeros((1, 2)), r"must have shape \(2,\) with values in " + RANGE),
        (0.5, r"must have shape \(2,\)"),
        (["a", "b"], "must be real numbers of shape"),
    ],
    ids=["nan", "inf32", "above", "below32", "long", "2d", "scalar", "strings"],
)
def test_gymnasium_bad_actions_raise_and_leave_state_unchanged(action, match):
    """NaN, out-of-range and wrongly shaped actions raise ValueError naming the range."""
    env = growth_env("g2")
    env.reset(seed=0)
    before = env.economy.state.capital.clone()
    with pytest.raises(ValueError, match=match):
        env.step(action)
    assert torch.equal(env.economy.state.capital, before)
    assert int(env.economy.state.t[0]) == 0


def test_gymnasium_accepts_float32_float64_int_and_lists_alike():
    """float32, float64, int and list actions with the same values give the same step."""
    results = []
    for action in (
        np.array([1.0, -2.0], np.float32),
        np.array([1.0, -2.0], np.float64),
        np.array([1, -2]),
        [1.0, -2.0],
        torch.tensor([1.0, -2.0]),
        np.array([10.0, -10.0]),  # the bounds themselves are allowed
    ):
        env = growth_env("g2")
        env.reset(seed=0)
        obs, reward, *_ = env.step(action)
        assert obs.dtype == np.float32
        results.append((obs.tolist(), reward))
    assert all(r == results[0] for r in results[:5])


def test_gymnasium_bound_not_representable_in_float32_accepts_space_high():
    """With action_bound = 0.1, the action space's own float32 high is accepted."""
    env = growth_env("g1", action_bound=0.1)
    env.reset(seed=0)
    env.step(env.action_space.high)
    with pytest.raises(ValueError, match=r"must be in \[-0.1, 0.1\]"):
        env.step(np.array([0.11]))


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda a: a.pop("household_1"), r"missing agent id\(s\) \['household_1'\]"),
        (lambda a: a.update(producer_2=np.zeros(1)), r"unknown agent id\(s\) \['producer_2'\]"),
        (
            lambda a: a.update(producer_1=np.array([12.0])),
            r"action of 'producer_1' must be in " + RANGE,
        ),
        (
            lambda a: a.update(household_0=np.array([np.nan])),
            r"action of 'household_0' must be finite, in " + RANGE,
        ),
        (
            lambda a: a.update(household_2=np.zeros(2)),
            r"action of 'household_2' must have shape \(1,\) with values in " + RANGE,
        ),
    ],
    ids=["missing", "unknown", "range", "nan", "shape"],
)
def test_parallel_bad_actions_raise_and_leave_state_unchanged(change, match):
    """Missing, unknown, out-of-range, NaN and wrongly shaped actions raise naming the agent."""
    env = growth_parallel_env("g6_n2", n_households=3)
    env.reset(seed=0)
    env.step(env.sample_actions())
    before = env.state()
    actions = env.sample_actions()
    change(actions)
    with pytest.raises(ValueError, match=match):
        env.step(actions)
    np.testing.assert_array_equal(env.state(), before)
    assert int(env.economy.state.t[0]) == 1 and env.agents == env.possible_agents


# ---- construction --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", MARKETS)
def test_gymnasium_env_rejects_market_economies(name):
    """A market economy raises ValueError naming it and pointing to the PettingZoo env."""
    pattern = rf"economy '{name[:2]}' is a market economy.*growth_parallel_env"
    with pytest.raises(ValueError, match=pattern):
        growth_env(name)
    with pytest.raises(ValueError, match=pattern):
        GrowthPlannerEnv(GrowthConfig.preset(name))


def test_factories_accept_presets_configs_dicts_and_overrides():
    """Preset names, configs, dicts, dotted and nested overrides and env arguments all apply."""
    env = growth_env("g3_log", horizon=20, seed=1, **{"params.beta": 0.98}, constraint="clip")
    assert isinstance(env, GrowthPlannerEnv)
    cfg = env.config
    assert (cfg.economy, cfg.horizon, cfg.params.beta, cfg.constraint) == ("g3", 20, 0.98, "clip")
    assert cfg.params.delta == GrowthConfig.preset("g3_log").params.delta  # untouched
    assert growth_env().config == GrowthConfig()
    assert growth_env(GrowthConfig(economy="g2")).config.economy == "g2"
    assert growth_env({"economy": "g5", "n_sectors": 3}).action_space.shape == (3,)
    penv = growth_parallel_env("g4_h4", n_households=6, params={"rho": 0.5})
    assert isinstance(penv, EconomyParallelEnv)
    assert (penv.config.n_households, penv.config.params.rho) == (6, 0.5)
    assert penv.config.params.sigma == GrowthConfig().params.sigma
    assert len(penv.possible_agents) == 6
    assert isinstance(rbc_env.growth_env("g1"), GrowthPlannerEnv)
    assert isinstance(rbc_env.growth_parallel_env("g7_half"), EconomyParallelEnv)
    assert rbc_env.growth_aec_env("g6_n2", n_households=3).unwrapped.config.n_households == 3


@pytest.mark.parametrize("factory", [growth_env, growth_parallel_env])
@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((), {"n_agents": 3}, "unknown argument 'n_agents'; allowed: env arguments"),
        ((), {"params.betaa": 0.9}, "params has no field 'betaa'"),
        ((), {"params": {"bogus": 1}}, "params has no field 'bogus'"),
        ((), {"horizon": 0}, r"GrowthConfig.horizon must be in \[1, inf\); got 0"),
        ((), {"params.beta": 1.5}, r"GrowthParams.beta must be in \(0, 1\); got 1.5"),
        ((), {"constraint": "tanh"}, "GrowthConfig.constraint must be one of"),
        ((), {"n_households": 3}, "GrowthConfig.n_households must be 1 for economy 'g1'"),
        (("g9",), {}, "GrowthConfig.preset name must be one of"),
        ((3,), {}, "config must be a GrowthConfig, a preset name"),
        ((), {"render_mode": "human"}, "render_mode must be None"),
        ((), {"seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_factories_reject_bad_arguments(factory, args, kwargs, match):
    """Unknown keys and invalid values raise ValueError naming the key or field."""
    with pytest.raises(ValueError, match=match):
        factory(*args, **kwargs)


def test_reset_seed_and_options_are_checked():
    """A bad seed or non-dict options raise ValueError; unknown option keys are ignored."""
    for env in (growth_env("g1"), growth_parallel_env("g1")):
        with pytest.raises(ValueError, match="seed must be a non-negative integer"):
            env.reset(seed=-3)
        with pytest.raises(ValueError, match="options must be a dict"):
            env.reset(options=[1])
        env.reset(seed=0, options={"anything": 1})


# ---- docs/howto/interop.md -----------------------------------------------------------------------
DOC = Path(__file__).resolve().parents[2] / "docs" / "howto" / "interop.md"
MARKER = "<!-- test: growth -->"


@pytest.mark.skipif(not DOC.exists(), reason="docs are not shipped with this checkout")
def test_howto_growth_snippet_runs(capsys):
    """The growth snippet of docs/howto/interop.md runs as written."""
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(re.escape(MARKER) + r"\n```python\n(.*?)\n```", text, flags=re.S)
    assert len(blocks) == 1
    exec(compile(blocks[0], f"{DOC.name}[growth]", "exec"), {"__name__": "howto"})
    assert "producer_1" in capsys.readouterr().out
