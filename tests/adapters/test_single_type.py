"""Per-type views: Gymnasium vector env, single-agent env, PettingZoo per-type env, SB3, Tianshou.

The views hold no economics, so every test compares them with ``BatchedEconomy`` stepped by hand
with the same seed and actions, or checks a library's own contract on them.
"""

from __future__ import annotations

import doctest
import re
import warnings
from pathlib import Path

import gymnasium
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from pettingzoo.test import parallel_api_test

import rbc_env.adapters.single_type as st_module
from rbc_env import BatchedEconomy, RBCConfig
from rbc_env.adapters.single_type import (
    observation_bounds,
    sb3_vec_env,
    single_agent_env,
    single_type_env,
    single_type_parallel_env,
    tianshou_vector_env,
)
from rbc_env.simulate import HeuristicPolicy

TYPES = ("consumer", "firm", "government")
SMALL = {"n_consumers": 4, "n_firms": 2}
COUNTS = {"consumer": 4, "firm": 2, "government": 1}


def small_config(**fields) -> RBCConfig:
    """The small economy with config fields changed (dotted paths for nested ones)."""
    return RBCConfig(**SMALL).override(fields)


def learner_actions(env, rng: np.random.Generator) -> np.ndarray:
    """Uniform valid actions for every sub-environment, from a numpy generator."""
    nvec = env.single_action_space.nvec
    return rng.integers(0, nvec, size=(env.num_envs, len(nvec)), dtype=np.int64)


def core_rows(x: torch.Tensor, agent_type: str) -> np.ndarray:
    """[B, N, ...] (or [B, ...] for the government) -> [B N, ...] numpy."""
    return (x.flatten(0, 1) if agent_type != "government" else x).cpu().numpy()


def to_core(rows: np.ndarray, agent_type: str, batch: int) -> torch.Tensor:
    t = torch.from_numpy(rows)
    return t.view(batch, COUNTS[agent_type], -1) if agent_type != "government" else t


# ---- spaces and bounds -------------------------------------------------------------------------
@pytest.mark.parametrize("agent_type", TYPES)
def test_spaces_match_the_pettingzoo_face(agent_type):
    """One shared space per type: the PettingZoo face's MultiDiscrete and observation width."""
    from rbc_env.adapters.pettingzoo import parallel_env

    env = single_type_env(agent_type=agent_type, batch_size=3, **SMALL)
    pz = parallel_env(**SMALL)
    assert env.num_envs == 3 * COUNTS[agent_type]
    assert env.single_action_space == pz.action_space(f"{agent_type}_0")
    assert env.single_observation_space.shape == pz.observation_space(f"{agent_type}_0").shape
    assert env.observation_space.shape == (env.num_envs, *env.single_observation_space.shape)
    assert env.action_space.shape == (env.num_envs, len(env.single_action_space.nvec))
    assert env.single_observation_space.dtype == np.float32
    assert env.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP


@pytest.mark.parametrize("encoding", ["scaled", "digits"])
@pytest.mark.parametrize("others", ["random", "heuristic"])
@pytest.mark.parametrize("agent_type", TYPES)
def test_observations_stay_in_their_bounded_box(agent_type, others, encoding):
    """Over two episodes (autoreset included) every observation lies in the bounded box."""
    parity = {"obs_encoding": encoding, "n_digits": 4}
    env = single_type_env(
        agent_type=agent_type, others=others, batch_size=4, seed=3, parity=parity, **SMALL
    )
    low, high = env.single_observation_space.low, env.single_observation_space.high
    finite = np.isfinite(low) & np.isfinite(high)
    assert finite.sum() >= 3 * SMALL["n_firms"] + 3  # prices, wages, flags, taxes, time
    rng = np.random.default_rng(0)
    obs, _ = env.reset()
    seen = [obs]
    for _ in range(2 * env.config.horizon + 1):
        obs, rewards, terminated, truncated, _ = env.step(learner_actions(env, rng))
        assert env.observation_space.contains(obs)
        assert np.isfinite(rewards).all()
        seen.append(obs)
    seen = np.concatenate(seen)
    # the price and wage features reach the top of the grid (the bound is tight there)
    f = SMALL["n_firms"]
    if others == "random" or agent_type == "firm":
        assert seen[:, : 2 * f].max() == pytest.approx(1.0)


def test_digits_encoding_bounds_consumer_and_government_fully():
    """With the digits encoding only the firm's capital feature stays unbounded."""
    config = small_config(**{"parity.obs_encoding": "digits"})
    for agent_type, n_unbounded in (("consumer", 0), ("government", 0), ("firm", 1)):
        low, high = observation_bounds(config, agent_type)
        assert (~(np.isfinite(low) & np.isfinite(high))).sum() == n_unbounded


def test_price_bound_covers_an_initial_price_above_the_grid():
    """An initial price above the grid widens the bound to p_0 / max price; t = 0 lies inside."""
    config = small_config(**{"firm.initial_price": 5000.0})  # grid tops at 2500
    low, high = observation_bounds(config, "government")
    assert high[0] == pytest.approx(2.0) and low[0] == 0.0
    env = single_type_env(config, agent_type="government", batch_size=2)
    obs, _ = env.reset(seed=0)
    assert obs[:, 0] == pytest.approx(2.0)
    assert env.observation_space.contains(obs)


# ---- equality with the core ----------------------------------------------------------------------
@pytest.mark.parametrize("others", ["random", "heuristic"])
@pytest.mark.parametrize("agent_type", TYPES)
def test_rows_equal_the_batched_core(agent_type, others):
    """Same seed, same learner actions, same others: obs and rewards are the core's rows."""
    batch, seed = 3, 11
    config = small_config(variant="closed", horizon=4)
    env = single_type_env(config, agent_type=agent_type, others=others, batch_size=batch)
    core = BatchedEconomy(config, batch_size=batch, seed=seed)
    heuristic = HeuristicPolicy(n_goods=2)
    rng = np.random.default_rng(1)

    obs, _ = env.reset(seed=seed)
    expected = core.reset()
    np.testing.assert_array_equal(obs, core_rows(expected[agent_type], agent_type))
    for t in range(config.horizon):
        own = learner_actions(env, rng)
        if others == "random":
            joint = core.sample_actions()
        else:
            joint = heuristic.act(config, core.state, core.generator)
        joint[agent_type] = to_core(own, agent_type, batch)
        out = core.step(joint)
        obs, rewards, terminated, truncated, infos = env.step(own)
        np.testing.assert_array_equal(obs, core_rows(out.obs[agent_type], agent_type))
        np.testing.assert_array_equal(rewards, core_rows(out.rewards[agent_type], agent_type))
        assert terminated.tolist() == [t == config.horizon - 1] * env.num_envs
        assert not truncated.any() and infos == {}


def test_single_agent_env_equals_the_core_row():
    """SingleAgentEnv: the learner's row of a core run where its peers follow the same others."""
    config = small_config(horizon=3)
    env = single_agent_env(config, agent_type="firm", index=1, others="random")
    core = BatchedEconomy(config, batch_size=1, seed=5)
    obs, _ = env.reset(seed=5)
    np.testing.assert_array_equal(obs, core.reset()["firm"][0, 1].numpy())
    for t in range(config.horizon):
        action = np.array([t % 6, 4])
        joint = core.sample_actions()
        joint["firm"][0, 1] = torch.from_numpy(action)
        out = core.step(joint)
        obs, reward, terminated, truncated, _ = env.step(action)
        np.testing.assert_array_equal(obs, out.obs["firm"][0, 1].numpy())
        assert reward == pytest.approx(float(out.rewards["firm"][0, 1]), rel=0, abs=0)
        assert terminated == (t == config.horizon - 1) and truncated is False
    with pytest.raises(ValueError, match="call reset"):
        env.step(action)


# ---- determinism -------------------------------------------------------------------------------
def _trajectory(seed: int, others: str, episodes: int = 2) -> list[np.ndarray]:
    env = single_type_env(agent_type="consumer", others=others, batch_size=2, **SMALL)
    rng = np.random.default_rng(7)
    out = list(env.reset(seed=seed)[:1])
    for _ in range(episodes * (env.config.horizon + 1)):  # + 1: the NEXT_STEP reset step
        obs, rewards, terminated, _, _ = env.step(learner_actions(env, rng))
        out += [obs, rewards, terminated]
    return out


@pytest.mark.parametrize("others", ["random", "heuristic"])
def test_same_seed_same_trajectory(others):
    """Two envs with one seed and one action sequence agree exactly over two episodes."""
    a, b = _trajectory(4, others), _trajectory(4, others)
    assert len(a) == len(b) > 40
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_other_seed_other_random_others():
    """With random others a different seed changes the trajectory."""
    a, b = _trajectory(4, "random"), _trajectory(5, "random")
    assert any(not np.array_equal(x, y) for x, y in zip(a, b, strict=True))


# ---- the others policy -------------------------------------------------------------------------
def test_callable_others_are_used():
    """The callable gets the other types' current observations and its actions are executed."""
    calls = []
    top_price, top_tax = 5, 5

    def policy(obs):
        calls.append({t: o.clone() for t, o in obs.items()})
        b = obs["firm"].shape[0]
        firm = torch.tensor([top_price, 0]).expand(b, 2, 2).clone()
        government = torch.tensor([top_tax, top_tax]).expand(b, 2).clone()
        return {"firm": firm, "government": government.numpy()}  # numpy is accepted too

    env = single_type_env(agent_type="consumer", others=policy, batch_size=2, **SMALL)
    assert env.others == "callable"
    obs, _ = env.reset(seed=0)
    before = env.economy.observe()
    rng = np.random.default_rng(0)
    obs, *_ = env.step(learner_actions(env, rng))
    assert len(calls) == 1 and sorted(calls[0]) == ["firm", "government"]
    assert calls[0]["firm"].shape == (2, 2, env.economy.observation_specs["firm"].shape[0])
    torch.testing.assert_close(calls[0]["firm"], before["firm"], rtol=0, atol=0)
    torch.testing.assert_close(calls[0]["government"], before["government"], rtol=0, atol=0)
    state = env.economy.state
    assert (state.price == env.config.price_grid[top_price]).all()
    assert (state.wage == 0).all()
    torch.testing.assert_close(state.income_tax, torch.full((2,), env.config.tax_grid[top_tax]))
    f = SMALL["n_firms"]
    assert obs[:, :f] == pytest.approx(1.0)  # prices at the top of the grid, as observed
    for _ in range(3):
        env.step(learner_actions(env, rng))
    assert len(calls) == 4


def test_callable_others_must_return_every_type():
    """A callable that leaves out a type raises ValueError naming the types it must play."""
    env = single_type_env(
        agent_type="firm", others=lambda obs: {"consumer": None}, batch_size=1, **SMALL
    )
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"\['consumer', 'government'\]"):
        env.step(learner_actions(env, np.random.default_rng(0)))


def test_heuristic_instance_as_others():
    """A HeuristicPolicy instance is used as given (here: firms price at the grid's top)."""
    policy = HeuristicPolicy(n_goods=1, price=2500.0)
    env = single_type_env(agent_type="consumer", others=policy, batch_size=2, **SMALL)
    env.reset(seed=0)
    env.step(learner_actions(env, np.random.default_rng(0)))
    assert env.others == "heuristic"
    assert (env.economy.state.price == 2500.0).all()


def test_iteration_option_masks_random_others_and_sets_theta():
    """options={"iteration": 0}: the random firms draw only the mask centres; θ factor 0."""
    env = single_type_env(agent_type="consumer", others="random", batch_size=2, **SMALL)
    rng = np.random.default_rng(0)
    env.reset(seed=0, options={"iteration": 0})
    assert env.iteration == 0 and env.economy.theta_factor == 0.0
    for _ in range(3):
        env.step(learner_actions(env, rng))
        assert (env.economy.state.price == 1000.0).all() and (env.economy.state.wage == 22.0).all()
    env.reset(options={"iteration": None})
    assert env.economy.theta_factor == 1.0
    prices = []
    for _ in range(3):
        env.step(learner_actions(env, rng))
        prices.append(env.economy.state.price)
    assert not (torch.stack(prices) == 1000.0).all()
    with pytest.raises(ValueError):
        env.reset(options={"iteration": -1})


# ---- episode end and autoreset -----------------------------------------------------------------
def test_autoreset_modes():
    """NEXT_STEP resets on the step after; SAME_STEP at once with final_obs; DISABLED raises."""
    horizon = 3
    envs = {
        m: single_type_env(
            agent_type="firm", batch_size=2, horizon=horizon, autoreset_mode=m, **SMALL
        )
        for m in AutoresetMode
    }
    first = {m: e.reset(seed=9)[0] for m, e in envs.items()}
    actions = np.zeros((envs[AutoresetMode.NEXT_STEP].num_envs, 2), dtype=np.int64)
    for _ in range(horizon):
        results = {m: e.step(actions) for m, e in envs.items()}
    last_obs, _, terminated, truncated, _ = results[AutoresetMode.NEXT_STEP]
    assert terminated.all() and not truncated.any()

    nxt = envs[AutoresetMode.NEXT_STEP].step(actions)  # actions ignored, reward 0
    np.testing.assert_array_equal(nxt[0], first[AutoresetMode.NEXT_STEP])
    assert (nxt[1] == 0).all() and not nxt[2].any() and not nxt[3].any()

    obs, _, terminated, _, infos = results[AutoresetMode.SAME_STEP]
    assert terminated.all()
    np.testing.assert_array_equal(obs, first[AutoresetMode.SAME_STEP])
    np.testing.assert_array_equal(np.stack(infos["final_obs"]), last_obs)
    assert infos["_final_obs"].all() and infos["_final_info"].all()

    disabled = envs[AutoresetMode.DISABLED]
    with pytest.raises(ValueError, match="call reset"):
        disabled.step(actions)
    disabled.reset()
    disabled.step(actions)  # fine again after a reset


def test_gymnasium_vector_wrappers_run_on_it():
    """Gymnasium's vector wrappers accept it; RecordEpisodeStatistics sums the core's rewards."""
    from gymnasium.wrappers.vector import NormalizeObservation, RecordEpisodeStatistics

    base = single_type_env(agent_type="consumer", batch_size=2, horizon=4, **SMALL)
    env = RecordEpisodeStatistics(NormalizeObservation(base))
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    total = np.zeros(base.num_envs)
    for _ in range(base.config.horizon):
        obs, rewards, terminated, _, infos = env.step(learner_actions(base, rng))
        total += rewards
        assert np.isfinite(obs).all()
    assert terminated.all() and infos["_episode"].all()
    np.testing.assert_array_equal(infos["episode"]["l"], 4)
    np.testing.assert_allclose(infos["episode"]["r"], total, rtol=1e-6)


# ---- bad input ---------------------------------------------------------------------------------
def test_bad_actions_raise_and_leave_the_state_alone():
    """Wrong shape, float dtype and out-of-range indices raise ValueError; t does not move."""
    env = single_type_env(agent_type="consumer", batch_size=2, **SMALL)
    env.reset(seed=0)
    good = learner_actions(env, np.random.default_rng(0))
    with pytest.raises(ValueError, match=r"shape \(8, 4\)"):
        env.step(good[:-1])
    with pytest.raises(ValueError, match="integer"):
        env.step(good.astype(np.float32))
    bad = good.copy()
    bad[5, 2] = 5  # hours head has 5 choices
    with pytest.raises(ValueError, match=r"sub-environment 5 \(economy 1, consumer_1\).*'hours'"):
        env.step(bad)
    assert int(env.economy.state.t[0]) == 0
    with pytest.raises(ValueError, match="reset"):
        single_type_env(agent_type="firm", **SMALL).step(np.zeros((2, 2), dtype=np.int64))


@pytest.mark.parametrize(
    ("factory", "kwargs", "match"),
    [
        (single_type_env, {"agent_type": "bank"}, "agent_type must be one of"),
        (single_type_env, {"others": "greedy"}, "others must be"),
        (single_type_env, {"others": 3}, "others must be"),
        (single_type_env, {"autoreset_mode": "Later"}, "autoreset_mode must be one of"),
        (single_type_env, {"n_consumer": 3}, "unknown argument 'n_consumer'"),
        (single_type_env, {"validate": "yes"}, "validate must be a bool"),
        (single_agent_env, {"index": 4}, r"index must be an integer in \[0, 3\]"),
        (single_type_parallel_env, {"horizon": 0}, "horizon"),
    ],
)
def test_bad_arguments_raise(factory, kwargs, match):
    """Each bad argument raises ValueError naming it."""
    with pytest.raises(ValueError, match=match):
        factory(**{**SMALL, **kwargs})


# ---- the single-agent Env: Gymnasium's and SB3's checkers ----------------------------------------
UNBOUNDED_ADVISORIES = (
    "A Box observation space minimum value is -infinity",
    "A Box observation space maximum value is infinity",
)


@pytest.mark.parametrize("agent_type", TYPES)
def test_single_agent_env_passes_check_env(agent_type):
    """check_env passes; on the bounded digits boxes of consumers and the government, silently."""
    encoding = "scaled" if agent_type == "firm" else "digits"
    env = single_agent_env(agent_type=agent_type, parity={"obs_encoding": encoding}, **SMALL)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=True)
    messages = [str(w.message) for w in caught]
    unexpected = [m for m in messages if not any(a in m for a in UNBOUNDED_ADVISORIES)]
    assert unexpected == []
    assert (len(messages) == 2) == (agent_type == "firm")


def test_single_agent_env_passes_sb3_check_env():
    """Stable-Baselines3's env checker accepts the single-agent env without warnings."""
    sb3_checker = pytest.importorskip("stable_baselines3.common.env_checker")
    env = single_agent_env(agent_type="consumer", parity={"obs_encoding": "digits"}, **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sb3_checker.check_env(env, warn=True)


# ---- PettingZoo per-type env and SuperSuit -----------------------------------------------------
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("agent_type", TYPES)
def test_single_type_parallel_env_passes_parallel_api_test(agent_type):
    """The per-type PettingZoo env passes parallel_api_test; agents all end at the horizon."""
    env = single_type_parallel_env(agent_type=agent_type, horizon=4, **SMALL)
    parallel_api_test(env, num_cycles=20)
    assert env.possible_agents == [f"{agent_type}_{i}" for i in range(COUNTS[agent_type])]
    obs, _ = env.reset(seed=0)
    for _ in range(4):
        obs, rewards, terms, truncs, _ = env.step(
            {a: env.action_space(a).sample() for a in env.agents}
        )
        assert all(env.observation_space(a).contains(o) for a, o in obs.items())
    assert all(terms.values()) and not any(truncs.values()) and env.agents == []
    with pytest.raises(ValueError, match="unknown agent id"):
        env.action_space("bank_0")


def test_supersuit_vector_stack_to_sb3():
    """SuperSuit: pettingzoo_env_to_vec_env_v1 + concat_vec_envs_v1 give an SB3 VecEnv."""
    ss = pytest.importorskip("supersuit")
    pytest.importorskip("stable_baselines3")
    from supersuit.vector.sb3_vector_wrapper import SB3VecEnvWrapper

    horizon = 3
    par = single_type_parallel_env(agent_type="consumer", horizon=horizon, **SMALL)
    markov = ss.pettingzoo_env_to_vec_env_v1(par)
    # Limitation: SuperSuit's SB3 wrapper cannot seed (its ConcatVecEnv has no seed()) ...
    with pytest.raises(AttributeError, match="seed"):
        ss.concat_vec_envs_v1(markov, 2, base_class="stable_baselines3").seed(0)
    # ... so seed the Gymnasium-level stack (copy i gets seed + i), then wrap it for SB3.
    concat = ss.concat_vec_envs_v1(markov, 2, num_cpus=0)
    concat.reset(seed=0)
    vec = SB3VecEnvWrapper(concat)
    assert vec.num_envs == 2 * COUNTS["consumer"]
    assert vec.observation_space == par.observation_space("consumer_0")
    first = vec.reset()
    assert first.shape == (8, par.observation_space("consumer_0").shape[0])
    nvec = par.action_space("consumer_0").nvec
    one_copy = np.random.default_rng(0).integers(0, nvec, size=(4, len(nvec)))
    actions = np.tile(one_copy, (2, 1))
    for t in range(2 * horizon):
        obs, rewards, dones, infos = vec.step(actions)
        assert dones.tolist() == [t % horizon == horizon - 1] * vec.num_envs
        assert np.isfinite(rewards).all()
        if t == 0:  # same learner actions, differently seeded random others
            assert not np.array_equal(obs[:4], obs[4:])
    assert all("terminal_observation" in i for i in infos)
    np.testing.assert_array_equal(obs, first)  # restarted: t = 0 again


def test_supersuit_single_env_wrappers():
    """SuperSuit's Gymnasium wrappers work on the single-agent env; normalize_obs needs bounds."""
    ss = pytest.importorskip("supersuit")
    env = single_agent_env(agent_type="consumer", parity={"obs_encoding": "digits"}, **SMALL)
    width = env.observation_space.shape[0]
    wrapped = ss.frame_stack_v1(ss.normalize_obs_v0(env), 2)
    obs, _ = wrapped.reset(seed=0)
    assert obs.shape == (2 * width,)
    obs, reward, terminated, truncated, _ = wrapped.step(wrapped.action_space.sample())
    assert wrapped.observation_space.contains(obs) and isinstance(reward, float)
    with pytest.raises(AssertionError, match="infinite bounds"):
        ss.normalize_obs_v0(single_agent_env(agent_type="consumer", **SMALL))  # scaled: unbounded


# ---- Stable-Baselines3 ------------------------------------------------------------------------
def test_sb3_vec_env_restarts_within_the_step():
    """SB3 convention: done at the horizon, next episode's first obs, terminal_observation."""
    pytest.importorskip("stable_baselines3")
    base = single_type_env(agent_type="firm", batch_size=2, horizon=2, **SMALL)
    vec = sb3_vec_env(base)
    vec.seed(3)
    first = vec.reset()
    twin = sb3_vec_env(single_type_env(agent_type="firm", batch_size=2, horizon=2, **SMALL))
    twin.seed(3)  # the seed reaches the economy at the next reset: same random others
    np.testing.assert_array_equal(twin.reset(), first)
    actions = np.ones((vec.num_envs, 2), dtype=np.int64)
    obs, _, dones, infos = vec.step(actions)
    assert not dones.any() and infos == [{}] * vec.num_envs
    np.testing.assert_array_equal(twin.step(actions)[0], obs)
    obs, rewards, dones, infos = vec.step(actions)
    assert dones.all() and rewards.dtype == np.float32
    np.testing.assert_array_equal(obs, first)
    assert all(i["TimeLimit.truncated"] is False for i in infos)
    assert infos[0]["terminal_observation"].shape == first.shape[1:]
    assert not np.array_equal(infos[0]["terminal_observation"], first[0])
    assert vec.get_attr("agent_type") == ["firm"] * vec.num_envs
    with pytest.raises(ValueError, match="SingleTypeVectorEnv"):
        sb3_vec_env(single_agent_env(**SMALL))


def test_sb3_ppo_trains_on_it():
    """SB3's PPO runs a few hundred steps on the per-type view and changes its policy."""
    sb3 = pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.vec_env import VecMonitor

    base = single_type_env(agent_type="consumer", others="heuristic", batch_size=2, **SMALL)
    vec = VecMonitor(sb3_vec_env(base))
    model = sb3.PPO(
        "MlpPolicy", vec, n_steps=20, batch_size=40, n_epochs=2, seed=0, device="cpu", verbose=0
    )
    before = [p.detach().clone() for p in model.policy.parameters()]
    model.learn(total_timesteps=320)
    assert model.num_timesteps >= 320
    episodes = list(model.ep_info_buffer)
    assert len(episodes) >= 2 * vec.num_envs
    assert all(e["l"] == base.config.horizon and np.isfinite(e["r"]) for e in episodes)
    changed = [
        not torch.equal(a, b) for a, b in zip(before, model.policy.parameters(), strict=True)
    ]
    assert any(changed)
    action, _ = model.predict(vec.reset(), deterministic=True)
    assert base.action_space.contains(action.astype(np.int64))


# ---- Tianshou ---------------------------------------------------------------------------------
def test_tianshou_collector_collects_episodes():
    """Tianshou's Collector steps the view with a per-head categorical policy, whole episodes."""
    pytest.importorskip("tianshou")
    from tianshou.algorithm.algorithm_base import Policy
    from tianshou.data import Batch, Collector, VectorReplayBuffer

    class HeadsPolicy(Policy):
        def __init__(self, observation_space, action_space):
            super().__init__(action_space=action_space, observation_space=observation_space)
            self.nvec = [int(n) for n in action_space.nvec]
            self.net = torch.nn.Linear(observation_space.shape[0], sum(self.nvec))

        def forward(self, batch, state=None, **kwargs):
            logits = self.net(torch.as_tensor(batch.obs)).split(self.nvec, dim=-1)
            heads = [torch.distributions.Categorical(logits=h).sample() for h in logits]
            return Batch(act=torch.stack(heads, dim=-1).numpy(), state=state)

    torch.manual_seed(0)  # the policy's sampling; the env has its own generator
    base = single_type_env(agent_type="consumer", others="random", batch_size=2, **SMALL)
    venv = tianshou_vector_env(base)
    assert len(venv) == base.num_envs
    policy = HeadsPolicy(base.single_observation_space, base.single_action_space)
    buffer = VectorReplayBuffer(100 * base.num_envs, base.num_envs)
    collector = Collector(policy, venv, buffer)
    horizon = base.config.horizon
    stats = collector.collect(n_step=2 * horizon * base.num_envs, reset_before_collect=True)
    assert stats.n_collected_steps == 2 * horizon * base.num_envs
    assert stats.n_collected_episodes == 2 * base.num_envs
    assert (stats.lens == horizon).all() and np.isfinite(stats.returns).all()
    assert len(buffer) == 2 * horizon * base.num_envs
    assert int(buffer.terminated.sum()) == 2 * base.num_envs
    assert base.observation_space.contains(buffer.obs[: base.num_envs].astype(np.float32))
    venv.seed(2)  # reaches the economy at the next reset: the random others repeat
    torch.manual_seed(0)
    stats = collector.collect(n_episode=base.num_envs, reset_before_collect=True)
    venv.seed(2)
    torch.manual_seed(0)
    again = collector.collect(n_episode=base.num_envs, reset_before_collect=True)
    np.testing.assert_array_equal(stats.returns, again.returns)
    assert stats.n_collected_episodes == base.num_envs and (stats.lens == horizon).all()
    with pytest.raises(ValueError, match="every sub-environment"):
        collector.collect(n_episode=base.num_envs + 1, reset_before_collect=True)
    with pytest.raises(ValueError, match="every sub-environment"):
        venv.step(np.zeros((1, 4), dtype=np.int64), id=[0])


# ---- docs ---------------------------------------------------------------------------------------
def test_doctests():
    """The doctests in the module's docstrings run and their outputs match."""
    result = doctest.testmod(st_module)
    assert result.attempted >= 10 and result.failed == 0


DOC = Path(__file__).resolve().parents[2] / "docs" / "howto" / "interop.md"
MARKER = "<!-- test: single_type -->"


@pytest.mark.skipif(not DOC.exists(), reason="docs are not shipped with this checkout")
def test_howto_single_type_snippets_run():
    """The per-type snippets of docs/howto/interop.md run as written."""
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(re.escape(MARKER) + r"\n```python\n(.*?)\n```", text, flags=re.S)
    assert len(blocks) == text.count(MARKER) >= 1
    pytest.importorskip("stable_baselines3")
    for i, code in enumerate(blocks):
        exec(compile(code, f"{DOC.name}[single_type {i}]", "exec"), {"__name__": "howto"})


def test_gymnasium_vector_env_base_class():
    """It is a gymnasium.vector.VectorEnv (the type SB3-free vector code checks for)."""
    env = single_type_env(**SMALL)
    assert isinstance(env, gymnasium.vector.VectorEnv)
    assert "consumer" in repr(env) and "num_envs=4" in repr(env)


# ---- continuous actions (RBCConfig.action_space="continuous") ------------------------------
@pytest.mark.parametrize("others", ["random", "heuristic"])
def test_continuous_actions_give_boxes_and_step(others: str) -> None:
    """Box spaces on the type's ranges; the others act by values; bad values name the head."""
    from rbc_env.core import action_box

    config = RBCConfig(n_consumers=4, n_firms=2, horizon=3, action_space="continuous")
    env = single_type_env(config, agent_type="firm", others=others, batch_size=2, seed=0)
    low, high = action_box(config)["firm"]
    assert isinstance(env.single_action_space, gymnasium.spaces.Box)
    np.testing.assert_array_equal(env.single_action_space.low, low)
    np.testing.assert_array_equal(env.single_action_space.high, high)
    env.reset(seed=0)
    env.action_space.seed(0)
    for _ in range(config.horizon):
        obs, rewards, terminated, truncated, _ = env.step(env.action_space.sample())
        assert np.isfinite(rewards).all()
    assert terminated.all()
    env.reset(seed=1)
    bad = env.action_space.sample()
    bad[3, 1] = -1.0
    with pytest.raises(ValueError, match=r"sub-environment 3 .*head 'wage' must be in \[0, 44\]"):
        env.step(bad)


def test_continuous_single_agent_env_passes_check_env() -> None:
    config = RBCConfig(n_consumers=3, n_firms=2, horizon=4, action_space="continuous")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # advisories about the unbounded observation box
        check_env(single_agent_env(config, agent_type="consumer", seed=0), skip_render_check=True)
