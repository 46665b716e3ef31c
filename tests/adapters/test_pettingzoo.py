"""The PettingZoo ParallelEnv: API compliance, spaces, seeding, parity with the core, errors."""

from __future__ import annotations

import doctest
import functools
import subprocess
import sys
import types
import warnings

import numpy as np
import pytest
import torch
from pettingzoo import AECEnv
from pettingzoo.test import (
    api_test,
    max_cycles_test,
    parallel_api_test,
    parallel_seed_test,
    seed_test,
)
from pettingzoo.utils.conversions import parallel_to_aec_wrapper

import rbc_env
from rbc_env import BatchedEconomy, RBCConfig
from rbc_env.adapters import pettingzoo as pz_module
from rbc_env.adapters.agents import actions_to_agent_dict
from rbc_env.adapters.pettingzoo import RBCParallelEnv, parallel_env
from rbc_env.core import action_masks, action_nvec, sample_uniform_actions

SIZES = {"paper": {}, "small": {"n_consumers": 3, "n_firms": 2}}
VARIANTS = ["open", "closed"]


def make(size: str = "small", variant: str = "open", **kwargs) -> RBCParallelEnv:
    return parallel_env(variant=variant, **SIZES[size], **kwargs)


def run_episode(env, policy, seed):
    """Reset with ``seed`` and step to the horizon; return the per-step (obs, rewards) pairs."""
    obs, _ = env.reset(seed=seed)
    steps = [(obs, None)]
    while env.agents:
        obs, rewards, _, _, _ = env.step(policy(env, obs))
        steps.append((obs, rewards))
    return steps


def space_policy(env, obs):
    """One ``action_space(a).sample()`` per agent, honouring an ``action_mask`` if present."""
    out = {}
    for a in env.agents:
        mask = obs[a]["action_mask"] if isinstance(obs[a], dict) else None
        out[a] = env.action_space(a).sample(mask=mask)
    return out


def seed_spaces(env, seed):
    """Seed each (per-type, shared) action space once."""
    for k, space in enumerate({id(s): s for s in env.action_spaces.values()}.values()):
        space.seed(seed + k)


def flat_obs(o):
    return o["observation"] if isinstance(o, dict) else o


def assert_same_steps(a, b):
    assert len(a) == len(b)
    for (obs_a, rew_a), (obs_b, rew_b) in zip(a, b, strict=True):
        assert obs_a.keys() == obs_b.keys()
        for k in obs_a:
            np.testing.assert_array_equal(flat_obs(obs_a[k]), flat_obs(obs_b[k]))
        assert rew_a == rew_b


# ---- standard checkers ---------------------------------------------------------------------------
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("masks", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("size", list(SIZES))
def test_parallel_api_test(size, variant, masks):
    """pettingzoo.test.parallel_api_test passes with every warning turned into an error."""
    env = make(size, variant, action_masks=masks)
    parallel_api_test(env, num_cycles=1000)
    assert env.max_cycles == env.config.horizon  # the checker's max_cycles = 1000 changed nothing


# The AEC checker assumes homogeneous agents and warns about heterogeneous shapes, MultiDiscrete
# actions, unbounded boxes and dict observations outside its allow-list of env names. Those
# advisories are ignored by name; any other warning is an error.
AEC_ADVISORIES = [
    "ignore:.*probably should be gymnasium.spaces.box or gymnasium.spaces.discrete:UserWarning",
    "ignore:Agent's m.* observation space value is .*infinity:UserWarning",
    "ignore:Agents have different observation space sizes:UserWarning",
    "ignore:Observations are different shapes:UserWarning",
    "ignore:Observation is not a NumPy array:UserWarning",
]


def small_factories(variant: str) -> types.SimpleNamespace:
    """A PettingZoo-style env module (``env`` / ``parallel_env``) of the small economy."""
    kwargs = {"variant": variant, **SIZES["small"]}
    return types.SimpleNamespace(
        env=functools.partial(rbc_env.env, **kwargs),
        parallel_env=functools.partial(rbc_env.parallel_env, **kwargs),
    )


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("masks", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_aec_api_test(variant, masks):
    """PettingZoo's AEC api_test passes on rbc_env.env (parallel_to_aec of the parallel env)."""
    aec = small_factories(variant).env(action_masks=masks)
    assert isinstance(aec, AECEnv) and isinstance(aec.env, parallel_to_aec_wrapper)
    assert isinstance(aec.unwrapped, RBCParallelEnv) and aec.unwrapped.config.variant == variant
    with warnings.catch_warnings():
        for spec in AEC_ADVISORIES:
            action, message, category = spec.split(":")
            warnings.filterwarnings(action, message=message, category=UserWarning)
        api_test(aec, num_cycles=100)


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("masks", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_parallel_seed_test(variant, masks):
    """pettingzoo.test.parallel_seed_test passes (two envs, seed 42, seeded space sampling).

    In PettingZoo 1.27.0 its loop stops after one step (``any(terminations1)`` reads the dict's
    keys); test_aec_seed_test and the determinism tests below cover whole episodes.
    """
    parallel_seed_test(functools.partial(small_factories(variant).parallel_env, action_masks=masks))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("masks", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_aec_seed_test(variant, masks):
    """pettingzoo.test.seed_test passes on the AEC env: two envs agree over a whole episode."""
    seed_test(functools.partial(small_factories(variant).env, action_masks=masks))


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("variant", VARIANTS)
def test_max_cycles_test(variant):
    """pettingzoo.test.max_cycles_test passes: max_cycles=4 gives 4-step episodes, both forms."""
    module = small_factories(variant)
    max_cycles_test(module)
    assert module.parallel_env(max_cycles=4).config.horizon == 4
    assert module.env(max_cycles=4).unwrapped.max_cycles == 4


@pytest.mark.filterwarnings("error")
def test_max_cycles_test_on_the_modules():
    """rbc_env and rbc_env.adapters.pettingzoo are PettingZoo env modules (paper economy)."""
    for module in (rbc_env, pz_module):
        max_cycles_test(module)


@pytest.mark.parametrize("variant", VARIANTS)
def test_aec_env_steps_the_economy_once_per_cycle_like_the_parallel_env(variant):
    """Same actions: AEC obs and rewards equal the parallel env's; each agent gets T + 1 turns."""
    horizon = 4
    aec = rbc_env.env(variant=variant, **SIZES["small"], horizon=horizon)
    par = make("small", variant, horizon=horizon)
    aec.reset(seed=0)
    obs, _ = par.reset(seed=0)
    actions, rewards = par.sample_actions(), None
    turns = dict.fromkeys(par.possible_agents, 0)
    for agent in aec.agent_iter():
        turns[agent] += 1
        o, r, term, trunc, info = aec.last()
        np.testing.assert_array_equal(o, obs[agent])  # the observation of the period's start
        assert r == (0 if rewards is None else rewards[agent])  # the last period's reward
        assert not term and info == {}
        assert trunc == (turns[agent] == horizon + 1)
        if trunc:
            aec.step(None)
            continue
        t_before = aec.unwrapped.economy.state.t.tolist()
        aec.step(actions[agent])
        if agent != par.possible_agents[-1]:  # the economy waits for the whole cycle
            assert aec.unwrapped.economy.state.t.tolist() == t_before
            continue
        obs, rewards, *_ = par.step(actions)
        np.testing.assert_array_equal(aec.unwrapped.state(), par.state())
        actions = par.sample_actions()
    assert set(turns.values()) == {horizon + 1}
    assert aec.agents == [] and par.agents == []


def test_class_docstring_example_runs():
    """The doctest in RBCParallelEnv's docstring runs and its outputs match."""
    result = doctest.testmod(pz_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted >= 5
    assert result.failed == 0


# ---- spaces and observations ---------------------------------------------------------------------
@pytest.mark.parametrize("masks", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("size", list(SIZES))
def test_observations_lie_in_their_spaces_every_step(size, variant, masks):
    """Every observation of every agent is contained in its observation_space at every step."""
    env = make(size, variant, action_masks=masks)
    seed_spaces(env, 0)
    obs, infos = env.reset(seed=0)
    n_steps = 0
    while True:
        assert set(obs) == set(env.possible_agents)
        for a, o in obs.items():
            assert env.observation_space(a).contains(o), (a, n_steps)
        if not env.agents:
            break
        obs, rewards, terms, truncs, infos = env.step(space_policy(env, obs))
        n_steps += 1
        assert all(type(r) is float and np.isfinite(r) for r in rewards.values())
        assert set(infos) == set(env.possible_agents)
        assert all(isinstance(i, dict) for i in infos.values())
    assert n_steps == env.config.horizon


def test_spaces_are_one_object_per_type():
    """All agents of a type share one space object; types differ; unknown ids raise."""
    env = make("small")
    assert env.observation_space("consumer_0") is env.observation_space("consumer_2")
    assert env.action_space("firm_0") is env.action_space("firm_1")
    assert env.observation_space("firm_0") is not env.observation_space("consumer_0")
    assert env.action_space("government_0").nvec.tolist() == [6, 6]
    assert env.action_space("consumer_1").nvec.tolist() == [11, 11, 5, 2]
    other = make("small")
    assert other.action_space("firm_0") is not env.action_space("firm_0")
    with pytest.raises(ValueError, match="unknown agent id 'firm_2'"):
        env.action_space("firm_2")
    with pytest.raises(ValueError, match="unknown agent id 'x'"):
        env.observation_space("x")


def test_float64_config_gives_float64_observations_and_state():
    """config.dtype sets the dtype of observation boxes, observations and the state."""
    env = make("small", dtype="float64")
    obs, _ = env.reset(seed=0)
    assert env.observation_space("firm_0").dtype == np.float64
    assert obs["firm_0"].dtype == np.float64
    assert env.state().dtype == np.float64 and env.state_space.dtype == np.float64
    assert env.observation_space("firm_0").contains(obs["firm_0"])


# ---- episode structure ---------------------------------------------------------------------------
def test_agents_shrink_to_empty_at_horizon_by_truncation():
    """All agents live for `horizon` steps, then leave together with truncation, no termination."""
    env = make("small", horizon=4)
    assert env.agents == []
    env.reset(seed=0)
    assert env.agents == env.possible_agents
    assert env.possible_agents[-1] == "government_0"
    for t in range(4):
        _, _, terms, truncs, _ = env.step(env.sample_actions())
        assert not any(terms.values())
        assert all(truncs.values()) == (t == 3)
        assert set(truncs) == set(env.possible_agents)
        assert env.agents == ([] if t == 3 else env.possible_agents)
    assert env.max_cycles == 4
    assert env.sample_actions() == {}
    with pytest.raises(ValueError, match="call reset"):
        env.step({})
    env.reset()
    assert env.agents == env.possible_agents


def test_step_before_reset_raises():
    """Stepping a fresh env raises ValueError telling to reset."""
    env = make("small")
    with pytest.raises(ValueError, match="call reset"):
        env.step({})


def test_max_cycles_is_the_horizon():
    """max_cycles reads the horizon; a larger cap is accepted (no effect), a smaller one refused."""
    env = make("small", horizon=6)
    env.max_cycles = 1000
    assert env.max_cycles == 6
    with pytest.raises(ValueError, match=r"max_cycles must be an integer in \[6, inf\)"):
        env.max_cycles = 5


@pytest.mark.parametrize("factory", [rbc_env.parallel_env, rbc_env.env], ids=["parallel", "aec"])
def test_max_cycles_keyword_sets_the_horizon(factory):
    """max_cycles=k builds an economy of horizon k (episodes of k steps, time obs t / k)."""
    base = RBCConfig(n_consumers=3, n_firms=2, horizon=10)
    for kwargs in ({"max_cycles": 3}, {"max_cycles": 3, "horizon": 3}, {"max_cycles": np.int64(3)}):
        built = factory(base, **kwargs)
        par = built.unwrapped
        assert par.config.horizon == 3 and par.max_cycles == 3
        assert par.config == base.override({"horizon": 3})
    par = parallel_env(base, max_cycles=3)
    par.reset(seed=0)
    for _ in range(3):
        obs, _, _, truncs, _ = par.step(par.sample_actions())
    assert all(truncs.values()) and par.agents == []
    # the government's last column is the time feature t / T: a 3-period economy reaches 1
    assert obs["government_0"][-1] == 1.0


@pytest.mark.parametrize("factory", [rbc_env.parallel_env, rbc_env.env], ids=["parallel", "aec"])
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"max_cycles": 4, "horizon": 6},
            r"got max_cycles=4 and horizon=6, which disagree: both name the episode length "
            r"\(config.horizon\)",
        ),
        ({"max_cycles": 0}, r"max_cycles must be an integer in \[1, inf\) .*; got 0"),
        ({"max_cycles": 2.5}, r"max_cycles must be an integer in \[1, inf\) .*; got 2.5"),
        ({"max_cycles": True}, r"max_cycles must be an integer in \[1, inf\) .*; got True"),
        ({"max_cycles": None}, r"max_cycles must be an integer in \[1, inf\) .*; got None"),
    ],
    ids=["disagrees-with-horizon", "zero", "float", "bool", "none"],
)
def test_bad_max_cycles_raises(factory, kwargs, match):
    """max_cycles disagreeing with horizon, or not an integer >= 1, raises naming the field."""
    with pytest.raises(ValueError, match=match):
        factory(n_consumers=3, n_firms=2, **kwargs)


# ---- determinism ---------------------------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
def test_same_seed_same_trajectory_over_episodes(variant):
    """Two envs, same seed, seeded space sampling: identical obs and rewards, 3 full episodes."""
    envs = [make("paper", variant) for _ in range(2)]
    runs = []
    for env in envs:
        seed_spaces(env, 7)
        runs.append([run_episode(env, space_policy, seed=7 + e) for e in range(3)])
    for ep_a, ep_b in zip(*runs, strict=True):
        assert_same_steps(ep_a, ep_b)
    # the policy is random, so the economy moves: rewards vary across steps
    assert len({r["firm_0"] for _, r in runs[0][0][1:]}) > 1


@pytest.mark.parametrize("masks", [False, True], ids=["plain", "masked"])
def test_seeded_sample_actions_reproduce_and_differ_by_seed(masks):
    """env.sample_actions after reset(seed=s) reproduces; a different seed gives a different run."""

    def policy(env, obs):
        return env.sample_actions()

    a, b = make("paper", action_masks=masks), make("paper", action_masks=masks)
    run_a = [run_episode(a, policy, seed=3) for _ in range(2)]  # continues the stream
    run_b = [run_episode(b, policy, seed=3) for _ in range(2)]
    for ep_a, ep_b in zip(run_a, run_b, strict=True):
        assert_same_steps(ep_a, ep_b)
    assert_same_steps(run_episode(a, policy, seed=3), run_a[0])  # reseeding restarts the stream
    other = run_episode(b, policy, seed=4)
    assert any(r != s for (_, r), (_, s) in zip(other[1:], run_a[0][1:], strict=True))


def test_different_space_seed_differs():
    """Seeded space sampling with different seeds gives different trajectories."""
    a, b = make("small"), make("small")
    seed_spaces(a, 0)
    seed_spaces(b, 1)
    run_a, run_b = run_episode(a, space_policy, 0), run_episode(b, space_policy, 0)
    assert any(r != s for (_, r), (_, s) in zip(run_a[1:], run_b[1:], strict=True))


# ---- the adapter adds no economics ---------------------------------------------------------------
@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("size", list(SIZES))
def test_trajectory_equals_batched_economy_b1(size, variant, device):
    """Same actions: the env's obs, rewards, done and state equal BatchedEconomy(B=1) exactly."""
    env = make(size, variant, device=device)
    config = env.config
    econ = BatchedEconomy(config, batch_size=1, device=device, seed=0)
    gen = torch.Generator(device=device).manual_seed(11)
    for iteration in (None, 2500):
        options = None if iteration is None else {"iteration": iteration}
        obs, _ = env.reset(seed=0, options=options)
        core_obs = econ.reset(iteration=iteration)
        assert env.economy.theta_factor == econ.theta_factor
        for _ in range(config.horizon):
            for a in env.possible_agents:
                assert_equal_agent(obs, core_obs, a, env)
            np.testing.assert_array_equal(env.state(), flat_state(econ))
            actions = sample_uniform_actions(config, 1, generator=gen, device=device)
            obs, rewards, _, truncs, _ = env.step(actions_to_agent_dict(config, actions))
            out = econ.step(actions)
            core_obs = out.obs
            for i in range(config.n_consumers):
                assert rewards[f"consumer_{i}"] == float(out.rewards["consumer"][0, i])
            for j in range(config.n_firms):
                assert rewards[f"firm_{j}"] == float(out.rewards["firm"][0, j])
            assert rewards["government_0"] == float(out.rewards["government"][0])
            assert all(truncs.values()) == bool(out.done[0])
            for k, v in out.flows.items():
                np.testing.assert_array_equal(env.last_flows[k], v[0].cpu().numpy())
        assert env.agents == []


def assert_equal_agent(obs, core_obs, agent, env):
    kind, i = agent.rsplit("_", 1)
    expected = core_obs[kind][0] if kind == "government" else core_obs[kind][0, int(i)]
    np.testing.assert_array_equal(flat_obs(obs[agent]), expected.cpu().numpy())


def flat_state(econ):
    return torch.cat([v[0].reshape(-1).double() for v in econ.state.tensors().values()]).numpy()


# ---- state ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", list(SIZES))
def test_state_vector_shape_layout_and_space(size):
    """state() is [7F + 2C + 3], follows state_layout, lies in state_space, tracks the economy."""
    env = make(size)
    c, f = env.config.n_consumers, env.config.n_firms
    env.reset(seed=0)
    s0 = env.state()
    assert s0.shape == (7 * f + 2 * c + 3,) == env.state_space.shape
    assert env.state_space.contains(s0)
    layout = env.state_layout
    assert list(layout) == list(env.economy.state.tensors())
    np.testing.assert_array_equal(s0[layout["price"]], np.full(f, env.config.firm.initial_price))
    np.testing.assert_array_equal(
        s0[layout["consumer_budget"]], np.full(c, env.config.consumer.initial_budget)
    )
    assert s0[layout["t"]].tolist() == [0.0]
    env.step(env.sample_actions())
    s1 = env.state()
    assert s1[layout["t"]].tolist() == [1.0]
    for name, tensor in env.economy.state.tensors().items():
        np.testing.assert_array_equal(s1[layout[name]], tensor[0].reshape(-1).float().numpy())


# ---- curriculum options and masks ----------------------------------------------------------------
def test_iteration_option_sets_masks_and_theta_and_persists():
    """options={"iteration": e} gives the core's masks and θ factor; it persists until changed."""
    env = make("small", action_masks=True)
    obs, _ = env.reset(seed=0)
    assert env.iteration is None and env.economy.theta_factor == 1.0
    assert obs["firm_0"]["action_mask"].dtype == np.int8
    assert obs["firm_0"]["action_mask"].all()

    obs, _ = env.reset(seed=0, options={"iteration": 0})
    expected = action_masks(env.config, 0)
    for a in env.possible_agents:
        kind = a.rsplit("_", 1)[0]
        np.testing.assert_array_equal(obs[a]["action_mask"], expected[kind].numpy().astype(np.int8))
    # at iteration 0 a firm may only pick the centre price and wage; the government zero taxes
    assert obs["firm_1"]["action_mask"].tolist() == [0, 0, 1, 0, 0, 0] + [0, 0, 1, 0, 0]
    assert obs["government_0"]["action_mask"].tolist() == [1, 0, 0, 0, 0, 0] * 2
    assert env.economy.theta_factor == 0.0

    obs, _ = env.reset()  # persists
    assert env.iteration == 0 and obs["government_0"]["action_mask"].sum() == 2
    for _ in range(3):  # masks hold within the episode; masked sampling stays allowed
        actions = env.sample_actions()
        assert actions["firm_0"].tolist() == [2, 2] and actions["government_0"].tolist() == [0, 0]
        spaced = space_policy(env, obs)
        assert spaced["firm_1"].tolist() == [2, 2]
        obs, *_ = env.step(spaced)
        assert obs["firm_0"]["action_mask"].sum() == 2
    obs["firm_0"]["action_mask"][:] = 0  # agents do not share mask buffers
    assert obs["firm_1"]["action_mask"].sum() == 2

    env.reset(options={"iteration": None})
    assert env.iteration is None and env.economy.theta_factor == 1.0


def test_bad_iteration_raises():
    """A negative or non-integer iteration raises ValueError (reset options or the setter)."""
    env = make("small")
    with pytest.raises(ValueError, match="iteration"):
        env.reset(options={"iteration": -1})
    with pytest.raises(ValueError, match="iteration"):
        env.iteration = 2.5  # type: ignore[assignment]
    with pytest.raises(ValueError, match="options must be a dict"):
        env.reset(options=[("iteration", 1)])  # type: ignore[arg-type]


def test_masks_are_advisory():
    """A masked but in-range action is executed (the core does not enforce masks)."""
    env = make("small", action_masks=True)
    env.reset(options={"iteration": 0})
    actions = env.sample_actions()
    actions["firm_0"] = np.array([5, 4])
    env.step(actions)
    assert env.state()[env.state_layout["price"]][0] == 5 * env.config.firm.price_step


@pytest.mark.filterwarnings("error")
def test_one_hot_mask_layout_gives_equal_heads_one_row_each_and_passes_the_checkers():
    """mask_layout="one_hot": the government's mask is [2, n] (its rows are the flat halves);
    the other types keep the flat mask; parallel_api_test and the AEC api_test still pass."""
    env = make("small", action_masks=True, mask_layout="one_hot")
    flat = make("small", action_masks=True)
    n_tax = env.config.government.n_tax_levels
    assert env.observation_space("government_0")["action_mask"].shape == (2, n_tax)
    obs, _ = env.reset(seed=0, options={"iteration": 0})
    ref, _ = flat.reset(seed=0, options={"iteration": 0})
    gov = obs["government_0"]["action_mask"]
    assert gov.shape == (2, n_tax) and gov.dtype == np.int8
    np.testing.assert_array_equal(gov.reshape(-1), ref["government_0"]["action_mask"])
    for a in ("consumer_0", "firm_1"):
        np.testing.assert_array_equal(obs[a]["action_mask"], ref[a]["action_mask"])
    assert env.observation_space("government_0").contains(obs["government_0"])
    space = env.action_space("government_0")
    assert all(space.sample(mask=gov).tolist() == [0, 0] for _ in range(20))
    parallel_api_test(make("small", action_masks=True, mask_layout="one_hot"), num_cycles=50)
    with warnings.catch_warnings():
        for spec in AEC_ADVISORIES:
            action, message, category = spec.split(":")
            warnings.filterwarnings(action, message=message, category=UserWarning)
        api_test(small_factories("open").env(action_masks=True, mask_layout="one_hot"))


# ---- rendering -----------------------------------------------------------------------------------
def test_render_ansi_returns_summary_with_prices():
    """ansi render returns a non-empty summary with prices, wages, taxes, cash and rewards."""
    env = make("small", render_mode="ansi")
    env.reset(seed=0)
    text = env.render()
    assert isinstance(text, str) and text
    for word in ("price", "wage", "stock", "income tax", "corporate tax", "mean cash", "firm_1"):
        assert word in text
    assert "1000.00" in text  # the initial price
    actions = env.sample_actions()
    actions["firm_0"] = np.array([4, 3])
    env.step(actions)
    text = env.render()
    assert "2000.00" in text and "33.00" in text  # firm_0's new price and wage
    assert "t = 1 / 10" in text


def test_render_human_prints(capsys):
    """human render prints the summary (also after every step) and returns None."""
    env = make("small", render_mode="human")
    env.reset(seed=0)
    assert env.render() is None
    assert "price" in capsys.readouterr().out
    env.step(env.sample_actions())
    assert "t = 1 / 10" in capsys.readouterr().out


def test_render_without_mode_warns_and_returns_none():
    """render() with no render_mode warns (Gymnasium's convention) and returns None."""
    env = make("small")
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="render mode"):
        assert env.render() is None


def test_metadata():
    """Metadata names the env and its render modes; parallelizable."""
    env = make("small")
    assert env.metadata == {
        "name": "rbc_v0",
        "render_modes": ["human", "ansi"],
        "is_parallelizable": True,
    }
    assert str(env) == "rbc_v0"


# ---- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda a: a.pop("consumer_1"), r"missing agent id\(s\) \['consumer_1'\]"),
        (
            lambda a: a.update(consumer_3=np.zeros(4, np.int64)),
            r"unknown agent id\(s\) \['consumer_3'\]",
        ),
        (
            lambda a: a.update(firm_0=np.array([6, 0])),
            r"'firm_0': head 'price' must be in \[0, 5\]",
        ),
        (
            lambda a: a.update(consumer_0=np.array([0, 0, 5, 0])),
            r"'consumer_0': head 'hours' must be in \[0, 4\]; got 5",
        ),
        (lambda a: a.update(government_0=np.array([0.0, 1.0])), "integer indices"),
    ],
    ids=["missing", "unknown", "price-range", "hours-range", "float"],
)
def test_bad_actions_raise_and_leave_state_unchanged(change, match):
    """Missing, unknown, out-of-range and non-integer actions raise ValueError; state unchanged."""
    env = make("small")
    env.reset(seed=0)
    env.step(env.sample_actions())
    before = env.state()
    actions = env.sample_actions()
    change(actions)
    with pytest.raises(ValueError, match=match):
        env.step(actions)
    np.testing.assert_array_equal(env.state(), before)
    assert env.agents == env.possible_agents


# ---- construction --------------------------------------------------------------------------------
def test_parallel_env_overrides():
    """Top-level, dotted and nested-dict config overrides and env arguments all apply."""
    env = rbc_env.parallel_env(
        n_consumers=4,
        variant="closed",
        render_mode="ansi",
        action_masks=True,
        seed=3,
        **{"firm.tfp": 0.02},
        market={"export_quota": 50.0},
    )
    assert isinstance(env, RBCParallelEnv)
    cfg = env.config
    assert (cfg.n_consumers, cfg.variant, cfg.firm.tfp, cfg.market.export_quota) == (
        4,
        "closed",
        0.02,
        50.0,
    )
    assert cfg.market.export_min_price == RBCConfig().market.export_min_price  # untouched
    assert env.render_mode == "ansi" and env.action_masks
    base = RBCConfig(n_consumers=2, n_firms=3)
    env = parallel_env(base, horizon=3)
    assert (env.config.n_consumers, env.config.n_firms, env.config.horizon) == (2, 3, 3)
    env = parallel_env({"n_consumers": 2, "firm": {"tfp": 0.03}})
    assert env.config.firm.tfp == 0.03
    assert parallel_env().config == RBCConfig.paper("open")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_agents": 3}, "unknown argument 'n_agents'"),
        ({"rendermode": "ansi"}, "unknown argument 'rendermode'"),
        ({"firm.tfpp": 0.1}, "firm has no field 'tfpp'"),
        ({"firm": {"bogus": 1}}, "firm has no field 'bogus'"),
        ({"n_consumers": 0}, r"RBCConfig.n_consumers must be in \[1, inf\)"),
        ({"render_mode": "rgb_array"}, "render_mode must be None or one of"),
        ({"action_masks": "yes"}, "action_masks must be a bool"),
        ({"action_masks": True, "mask_layout": "rows"}, r"mask_layout must be one of \['flat'"),
        ({"mask_layout": "one_hot"}, "pass action_masks=True too"),
        ({"seed": -1}, "seed must be a non-negative integer"),
    ],
)
def test_parallel_env_rejects_bad_arguments(kwargs, match):
    """Unknown keys and invalid values raise ValueError naming the key or field."""
    with pytest.raises(ValueError, match=match):
        parallel_env(**kwargs)


def test_numpy_integer_seed_is_accepted():
    """reset(seed=np.int64(5)) equals reset(seed=5)."""
    a, b = make("small"), make("small")
    a.reset(seed=np.int64(5))
    b.reset(seed=5)
    sample_a, sample_b = a.sample_actions(), b.sample_actions()
    assert all(np.array_equal(sample_a[k], v) for k, v in sample_b.items())


def test_import_pulls_in_no_ray():
    """Building and stepping the PettingZoo env imports neither ray nor supersuit."""
    code = (
        "import sys, rbc_env; env = rbc_env.parallel_env(n_consumers=2, n_firms=2); "
        "env.reset(seed=0); env.step(env.sample_actions()); "
        "print(sorted(m for m in ('ray', 'supersuit') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_action_nvec_matches_core():
    """The env's action spaces carry the core's nvec for every type."""
    env = make("paper")
    for kind, nvec in action_nvec(env.config).items():
        assert tuple(env.action_space(f"{kind}_0").nvec.tolist()) == nvec


# ---- continuous actions (RBCConfig.action_space="continuous") ------------------------------
def test_continuous_actions_give_boxes_and_step() -> None:
    """Box spaces on the grids' ranges; space samples step; out-of-box values name the agent."""
    from gymnasium.spaces import Box

    from rbc_env.core import action_box

    make = parallel_env
    env = make(n_consumers=3, n_firms=2, action_space="continuous")
    box = action_box(env.config)
    for agent in env.possible_agents:
        space = env.action_space(agent)
        kind = agent.rsplit("_", 1)[0]
        assert isinstance(space, Box)
        np.testing.assert_array_equal(space.low, box[kind][0])
        np.testing.assert_array_equal(space.high, box[kind][1])
    parallel_api_test(make(n_consumers=3, n_firms=2, action_space="continuous"), num_cycles=12)
    env.reset(seed=0)
    actions = env.sample_actions()
    assert all(env.action_space(a).contains(v) for a, v in actions.items())
    env.step(actions)
    bad = dict(actions, firm_1=np.array([-3.0, 1.0], dtype=np.float32))
    with pytest.raises(
        ValueError, match=r"action of 'firm_1': head 'price' must be in \[0, 2500\]"
    ):
        env.step(bad)


def test_continuous_actions_refuse_masks() -> None:
    with pytest.raises(ValueError, match="action_masks=True needs RBCConfig.action_space"):
        parallel_env(n_consumers=3, n_firms=2, action_space="continuous", action_masks=True)


# ---- one class for every economy of the protocol ----------------------------------------------
def test_one_parallel_env_class_serves_every_economy() -> None:
    """EconomyParallelEnv steps the RBC core directly (discrete heads) and the growth family."""
    from rbc_env.adapters.pettingzoo import EconomyParallelEnv, growth_parallel_env

    config = RBCConfig(n_consumers=3, n_firms=2, horizon=4)
    generic = EconomyParallelEnv(BatchedEconomy(config, 1, seed=0, validate=False))
    parallel_api_test(generic, num_cycles=8)
    rbc = parallel_env(config, seed=0)
    assert isinstance(rbc, EconomyParallelEnv)
    assert isinstance(growth_parallel_env("g4_h4"), EconomyParallelEnv)
    assert generic.possible_agents == rbc.possible_agents
    # Same seed, same actions: the generic env and the RBC env see the same economy.
    obs_g, _ = generic.reset(seed=3)
    obs_r, _ = rbc.reset(seed=3)
    while generic.agents:
        actions = rbc.sample_actions()
        obs_g, rew_g, *_ = generic.step(actions)
        obs_r, rew_r, *_ = rbc.step(actions)
        assert rew_g == rew_r
        for a in obs_r:
            np.testing.assert_array_equal(obs_g[a], obs_r[a])
    generic.reset(seed=0)
    bad = generic.sample_actions()
    bad["firm_1"] = np.array([0, 9])
    with pytest.raises(ValueError, match=r"action of 'firm_1': head 1 must be in \[0, 4\]; got 9"):
        generic.step(bad)
    with pytest.raises(ValueError, match="batch_size must be 1"):
        EconomyParallelEnv(BatchedEconomy(config, 2, seed=0))
