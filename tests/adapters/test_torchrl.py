"""The batched TorchRL face: specs, parity with the core, resets, seeding, the distribution."""

from __future__ import annotations

import doctest
import subprocess
import sys

import pytest
import torch

pytest.importorskip("torchrl")

from tensordict import TensorDict  # noqa: E402
from tensordict.nn import TensorDictModule, TensorDictSequential  # noqa: E402
from torchrl.data import MultiCategorical  # noqa: E402
from torchrl.envs.utils import check_env_specs  # noqa: E402
from torchrl.modules import ProbabilisticActor  # noqa: E402
from torchrl.objectives import ClipPPOLoss, ValueEstimators  # noqa: E402

from rbc_env import BatchedEconomy, RBCConfig  # noqa: E402
from rbc_env.adapters import torchrl as trl_module  # noqa: E402
from rbc_env.adapters.torchrl import (  # noqa: E402
    MultiHeadCategorical,
    RBCTorchRLEnv,
    expand_done_keys,
    torchrl_env,
)
from rbc_env.core import action_masks, initial_state, theta_factor  # noqa: E402

SMALL = {"n_consumers": 4, "n_firms": 2}
TYPES = ("consumer", "firm", "government")
# at this curriculum iteration the firms' heads allow several, but not all, choices
PARTLY_MASKED = 20_000


def make(batch_size: int = 3, **kwargs) -> RBCTorchRLEnv:
    return torchrl_env(batch_size=batch_size, **{**SMALL, **kwargs})


def core_actions(td: TensorDict) -> dict[str, torch.Tensor]:
    """The core's action dict from a TensorDict's ``(t, "action")`` entries."""
    return {
        "consumer": td["consumer", "action"],
        "firm": td["firm", "action"],
        "government": td["government", "action"].squeeze(-2),
    }


def action_td(env: RBCTorchRLEnv, actions: dict[str, torch.Tensor]) -> TensorDict:
    """A TensorDict of the env's shape holding the core's action dict."""
    b = env.batch_size
    return TensorDict(
        {
            t: TensorDict({"action": a.reshape(*b, n, a.shape[-1])}, batch_size=(*b, n))
            for t, a, n in ((t, actions[t], len(env.group_map[t])) for t in TYPES)
        },
        batch_size=b,
    )


def allowed(mask: torch.Tensor, action: torch.Tensor, nvec: tuple[int, ...]) -> torch.Tensor:
    """Whether each head's index is allowed: mask [..., Σ nvec], action [..., H] -> [..., H]."""
    offsets = torch.tensor([sum(nvec[:k]) for k in range(len(nvec))])
    return torch.gather(mask.expand(*action.shape[:-1], -1), -1, action + offsets)


# ---- specs ---------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("masks", [False, True], ids=["plain", "masked"])
@pytest.mark.parametrize("variant", ["open", "closed"])
def test_check_env_specs(variant: str, masks: bool) -> None:
    """torchrl's check_env_specs passes, with every warning turned into an error."""
    env = make(variant=variant, action_masks=masks, seed=0)
    check_env_specs(env, seed=1)
    env.iteration = PARTLY_MASKED
    check_env_specs(env, seed=2)


def test_keys_shapes_and_dtypes() -> None:
    env = make(batch_size=5, action_masks=True, seed=0)
    c, f = SMALL["n_consumers"], SMALL["n_firms"]
    counts = {"consumer": c, "firm": f, "government": 1}
    assert env.batch_size == torch.Size([5])
    assert env.group_map["consumer"] == [f"consumer_{i}" for i in range(c)]
    assert env.group_map["government"] == ["government_0"]
    td = env.rollout(2)
    for t in TYPES:
        n, nvec = counts[t], env.nvec[t]
        spec = env.full_action_spec[t, "action"]
        assert isinstance(spec, MultiCategorical)
        assert spec.shape == (5, n, len(nvec))
        assert td[t, "action"].shape == (5, 2, n, len(nvec))
        assert td[t, "action"].dtype == torch.int64
        assert td[t, "observation"].shape[:-1] == (5, 2, n)
        assert td[t, "observation"].dtype == torch.float32
        assert td[t, "action_mask"].shape == (5, 2, n, sum(nvec))
        assert td[t, "action_mask"].dtype == torch.bool
        assert td["next", t, "reward"].shape == (5, 2, n, 1)
    assert env.nvec["consumer"] == (11,) * f + (5, f)
    assert env.nvec["government"] == (6, 6)
    for k in ("done", "terminated", "truncated"):
        assert td["next", k].shape == (5, 2, 1) and td["next", k].dtype == torch.bool
    assert td["state"].shape == (5, 2, 7 * f + 2 * c + 3)
    assert td["state"][..., env.state_layout["t"]].squeeze(-1).tolist() == [[0.0, 1.0]] * 5


def test_plain_env_has_no_masks() -> None:
    td = make(seed=0).reset()
    assert all("action_mask" not in td[t].keys() for t in TYPES)


# ---- parity with the core ------------------------------------------------------------------------
@pytest.mark.parametrize("variant", ["open", "closed"])
def test_batched_results_equal_the_core(variant: str) -> None:
    """Same seed and actions: every observation, reward, state and done equals the core's."""
    env = make(batch_size=4, variant=variant, seed=7, dtype="float64")
    econ = BatchedEconomy(env.config, batch_size=4, seed=7)
    td = env.reset()
    obs = econ.reset()
    for step in range(env.config.horizon):
        for t in TYPES:
            torch.testing.assert_close(td[t, "observation"], obs[t].reshape(td[t].shape + (-1,)))
        torch.testing.assert_close(
            td["state"],
            torch.cat([v.reshape(4, -1).double() for v in econ.state.tensors().values()], -1),
        )
        td = env.rand_action(td)
        actions = econ.sample_actions()  # same generator seed: same draws as rand_action
        for t in TYPES:
            assert torch.equal(core_actions(td)[t], actions[t])
        td = env.step(td)
        out = econ.step(actions)
        for t in TYPES:
            expected = out.rewards[t].reshape(4, -1, 1)
            torch.testing.assert_close(td["next", t, "reward"], expected, rtol=0, atol=0)
        assert torch.equal(td["next", "done"].squeeze(-1), out.done)
        assert bool(out.done.all()) == (step == env.config.horizon - 1)
        obs = out.obs
        td = env.step_mdp(td)


def test_given_actions_equal_the_core_with_curriculum() -> None:
    """Actions from a separate generator, curriculum on (θ factor < 1): still the core's numbers."""
    env = make(batch_size=2, seed=0)
    env.iteration = 5_000
    econ = BatchedEconomy(env.config, batch_size=2)
    td = env.reset()
    econ.reset(iteration=5_000)
    assert env.economy.theta_factor == econ.theta_factor == theta_factor(env.config, 5_000) < 1
    gen = torch.Generator().manual_seed(3)
    for _ in range(3):
        actions = econ.sample_actions(generator=gen)
        td.update(action_td(env, actions))
        td = env.step(td)
        out = econ.step(actions)
        for t in TYPES:
            assert torch.equal(
                td["next", t, "observation"], out.obs[t].reshape(2, -1, out.obs[t].shape[-1])
            )
            assert torch.equal(
                td["next", t, "reward"].reshape(out.rewards[t].shape), out.rewards[t]
            )
        td = env.step_mdp(td)


# ---- resets --------------------------------------------------------------------------------------
@pytest.mark.filterwarnings("error")
def test_partial_reset_resets_only_the_flagged_economies() -> None:
    env = make(batch_size=3, seed=0)
    td = env.reset()
    for _ in range(3):
        td = env.step_mdp(env.step(env.rand_action(td)))
    before = env.economy.state
    env.iteration = 5_000  # applies to the economies reset now, not to the others
    td["_reset"] = torch.tensor([[True], [False], [True]])
    out = env.reset(td)
    after = env.economy.state
    fresh = initial_state(env.config, 1, theta_factor=theta_factor(env.config, 5_000))
    assert after.t.tolist() == [0, 3, 0]
    for name, value in after.tensors().items():
        assert torch.equal(value[1], getattr(before, name)[1]), name
        for b in (0, 2):
            assert torch.equal(value[b], getattr(fresh, name)[0]), name
    assert not torch.equal(before.consumer_budget[0], after.consumer_budget[0])
    assert not torch.equal(after.theta[0], after.theta[1])  # θ factor only on the reset rows
    # the returned observations are those of the merged state
    obs = env.economy.observe()
    for t in TYPES:
        assert torch.equal(out[t, "observation"], obs[t].reshape(out[t, "observation"].shape))
    # the kept economy goes on where it was: stepping continues its episode
    td = env.step(env.rand_action(out))
    assert env.economy.state.t.tolist() == [1, 4, 1]


def test_reset_with_no_flag_changes_nothing() -> None:
    env = make(batch_size=2, seed=0)
    td = env.step_mdp(env.step(env.rand_action(env.reset())))
    before = env.economy.state
    td["_reset"] = torch.zeros(2, 1, dtype=torch.bool)
    env.reset(td)
    for name, value in env.economy.state.tensors().items():
        assert torch.equal(value, getattr(before, name)), name


# ---- seeding and random actions ------------------------------------------------------------------
def test_same_seed_same_rollout() -> None:
    def run(seed: int | None = None, set_seed: int | None = None) -> TensorDict:
        env = make(seed=seed)
        if set_seed is not None:
            env.set_seed(set_seed)
        return env.rollout(env.config.horizon)

    a, b, c = run(seed=11), run(seed=11), run(seed=12)
    assert (a == b).all()
    assert not torch.equal(a["consumer", "action"], c["consumer", "action"])
    assert (run(seed=12, set_seed=11) == a).all()


@pytest.mark.parametrize("masks", [False, True], ids=["plain", "masked"])
def test_rand_action_respects_the_masks(masks: bool) -> None:
    env = make(batch_size=64, action_masks=masks, seed=0)
    env.iteration = PARTLY_MASKED
    env.reset()
    flat = action_masks(env.config, PARTLY_MASKED)
    assert not bool(flat["firm"].all()) and int(flat["firm"][:6].sum()) > 1  # a real restriction
    td = env.rand_action()
    for t in TYPES:
        ok = allowed(flat[t], td[t, "action"], env.nvec[t])
        assert bool(ok.all()), t
    # several allowed prices are drawn, so the masks restrict rather than fix the action
    assert td["firm", "action"][..., 0].unique().numel() > 1
    # outside training every action is allowed, so masked ones do occur
    env.iteration = None
    env.reset()
    td = env.rand_action()
    assert not bool(allowed(flat["firm"], td["firm", "action"], env.nvec["firm"]).all())


def test_action_masks_follow_the_iteration_at_reset() -> None:
    env = make(batch_size=2, action_masks=True, seed=0)
    td = env.reset()
    assert bool(td["firm", "action_mask"].all())
    env.iteration = PARTLY_MASKED
    assert bool(env.step(env.rand_action(td))["next", "firm", "action_mask"].all())  # not yet
    td = env.reset()
    expected = action_masks(env.config, PARTLY_MASKED)["firm"].expand(2, 2, -1)
    assert torch.equal(td["firm", "action_mask"], expected)
    with pytest.raises(ValueError, match="iteration"):
        env.iteration = -1


# ---- episode end ---------------------------------------------------------------------------------
def test_episode_terminates_at_the_horizon() -> None:
    env = make(seed=0, horizon=4)
    td = env.rollout(max_steps=env.config.horizon)
    assert td.shape == (3, 4)
    done = td["next", "done"].squeeze(-1)
    assert done.tolist() == [[False, False, False, True]] * 3
    assert torch.equal(td["next", "terminated"], td["next", "done"])
    assert not bool(td["next", "truncated"].any())
    # rollout stops at the first done even when asked for more steps
    assert env.rollout(max_steps=10).shape == (3, 4)
    # past the horizon, TorchRL's auto-reset starts a new episode
    td = env.rollout(max_steps=6, break_when_any_done=False)
    t = td["state"][..., env.state_layout["t"]].squeeze(-1)
    assert t[0].tolist() == [0, 1, 2, 3, 0, 1]


def test_stepping_past_the_horizon_raises() -> None:
    env = make(seed=0, horizon=2)
    td = env.reset()
    for _ in range(2):
        td = env.step_mdp(env.step(env.rand_action(td)))
    with pytest.raises(ValueError, match="episode is over"):
        env.step(env.rand_action(td))


def test_invalid_actions_raise() -> None:
    env = make(seed=0)
    td = env.rand_action(env.reset())
    td["firm", "action"][0, 0, 0] = 99
    with pytest.raises(ValueError, match="firm action 'price'"):
        env.step(td)


# ---- factory -------------------------------------------------------------------------------------
def test_factory_overrides_and_errors() -> None:
    env = torchrl_env(RBCConfig.paper("closed"), n_consumers=3, firm={"tfp": 0.02}, validate=False)
    assert env.config.n_consumers == 3 and env.config.firm.tfp == 0.02
    assert env.config.variant == "closed" and env.economy.validate is False
    with pytest.raises(ValueError, match="unknown argument 'colour'"):
        torchrl_env(colour="red")
    with pytest.raises(ValueError, match="batch_size"):
        torchrl_env(batch_size=0)
    with pytest.raises(ValueError, match="action_masks"):
        torchrl_env(action_masks=1)


def test_device(device: str) -> None:
    env = make(batch_size=2, device=device, seed=0)
    td = env.rollout(3)
    assert td.device.type == device
    assert td["next", "consumer", "reward"].device.type == device


def test_torchrl_is_not_imported_by_rbc_env() -> None:
    code = "import sys, rbc_env; print('torchrl' in sys.modules, 'tensordict' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_doctests() -> None:
    result = doctest.testmod(trl_module, raise_on_error=False)
    assert result.attempted > 0 and result.failed == 0


# ---- the distribution ----------------------------------------------------------------------------
def test_log_prob_and_entropy_sum_over_heads() -> None:
    nvec = (3, 2, 4)
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 7, sum(nvec), generator=gen)
    mask = torch.rand(5, 7, sum(nvec), generator=gen) > 0.3
    for part in torch.split(mask, nvec, dim=-1):  # keep one choice per head allowed
        part[..., 0] = True
    dist = MultiHeadCategorical(logits, nvec, mask=mask)
    assert dist.batch_shape == (5, 7) and dist.event_shape == (3,)
    action = dist.sample()
    heads = [
        torch.distributions.Categorical(logits=lg.masked_fill(~m, -torch.inf))
        for lg, m in zip(torch.split(logits, nvec, -1), torch.split(mask, nvec, -1), strict=True)
    ]
    expected = sum(h.log_prob(action[..., k]) for k, h in enumerate(heads))
    torch.testing.assert_close(dist.log_prob(action), expected)
    entropy = sum(
        -(h.probs * h.logits.clamp(min=torch.finfo(logits.dtype).min)).sum(-1) for h in heads
    )
    torch.testing.assert_close(dist.entropy(), entropy)
    assert dist.log_prob(action).shape == (5, 7)
    # the mode is the most likely allowed choice of each head
    for k, h in enumerate(heads):
        assert torch.equal(dist.mode[..., k], h.probs.argmax(-1))
    assert torch.equal(dist.deterministic_sample, dist.mode)


def test_masked_choices_are_never_sampled() -> None:
    nvec = (4, 3)
    logits = torch.zeros(2, sum(nvec))
    logits[:, 1] = 50.0  # the likeliest choice of head 0 ... is masked
    mask = torch.tensor([True, False, True, False, False, True, True])
    dist = MultiHeadCategorical(logits, nvec, mask=mask)
    draws = dist.sample((2000,))
    assert draws.shape == (2000, 2, 2)
    assert set(draws[..., 0].unique().tolist()) == {0, 2}
    assert set(draws[..., 1].unique().tolist()) == {1, 2}
    assert dist.mode[0].tolist() == [0, 1]
    assert torch.equal(dist.log_prob(torch.tensor([1, 1])).exp(), torch.zeros(2))
    # masked logits take no gradient (random logits: the uniform one is an entropy maximum)
    logits = torch.randn(2, sum(nvec), generator=torch.Generator().manual_seed(0))
    logits.requires_grad_(True)
    MultiHeadCategorical(logits, nvec, mask=mask).entropy().sum().backward()
    assert torch.equal(logits.grad[:, ~mask], torch.zeros(2, 3))
    assert bool((logits.grad[:, mask] != 0).any())


def test_distribution_errors() -> None:
    with pytest.raises(ValueError, match="last axis"):
        MultiHeadCategorical(torch.zeros(3, 6), (3, 2))
    with pytest.raises(ValueError, match="allows none"):
        MultiHeadCategorical(
            torch.zeros(5), (3, 2), mask=torch.tensor([1, 1, 1, 0, 0]).bool(), validate_args=True
        )
    with pytest.raises(ValueError):
        MultiHeadCategorical(torch.zeros(5), (3, 2), validate_args=True).log_prob(
            torch.tensor([3, 0])
        )
    # without validation (TorchRL's default) a fully masked head is not checked
    MultiHeadCategorical(torch.zeros(5), (3, 2), mask=torch.tensor([1, 1, 1, 0, 0]).bool())


class CentralCritic(torch.nn.Module):
    """A value of the global state, repeated for the group's N agents: [..., S] -> [..., N, 1]."""

    def __init__(self, state_dim: int, n_agents: int) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(state_dim, 1)
        self.n_agents = n_agents

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return self.linear(state).unsqueeze(-2).expand(*state.shape[:-1], self.n_agents, 1)


def test_probabilistic_actor_and_clip_ppo_loss() -> None:
    """A masked multi-head actor per group rolls out the env; ClipPPOLoss trains each group."""
    torch.manual_seed(0)
    env = make(batch_size=3, action_masks=True, seed=0)
    env.iteration = PARTLY_MASKED
    env.reset()
    actors, critics = {}, {}
    for t in TYPES:
        width = env.observation_spec[t, "observation"].shape[-1]
        net = TensorDictModule(
            torch.nn.Linear(width, sum(env.nvec[t])),
            in_keys=[(t, "observation")],
            out_keys=[(t, "logits")],
        )
        actors[t] = ProbabilisticActor(
            net,
            in_keys={"logits": (t, "logits"), "mask": (t, "action_mask")},
            out_keys=[(t, "action")],
            distribution_class=MultiHeadCategorical,
            distribution_kwargs={"nvec": env.nvec[t]},
            return_log_prob=True,
        )
        critics[t] = TensorDictModule(
            CentralCritic(env.observation_spec["state"].shape[-1], len(env.group_map[t])),
            in_keys=["state"],
            out_keys=[(t, "state_value")],
        )
    with torch.no_grad():
        data = env.rollout(env.config.horizon, policy=TensorDictSequential(*actors.values()))
    assert data.shape == (3, env.config.horizon)
    flat = action_masks(env.config, PARTLY_MASKED)
    for t in TYPES:
        assert bool(allowed(flat[t], data[t, "action"], env.nvec[t]).all()), t
        assert data[t, "action_log_prob"].shape == data[t].shape
    expand_done_keys(data, env.group_map)
    assert data["next", "firm", "done"].shape == data["next", "firm", "reward"].shape
    for t in TYPES:
        loss = ClipPPOLoss(actors[t], critics[t], entropy_coeff=0.01)
        loss.set_keys(
            action=(t, "action"),
            sample_log_prob=(t, "action_log_prob"),
            value=(t, "state_value"),
            advantage=(t, "advantage"),
            value_target=(t, "value_target"),
            reward=(t, "reward"),
            done=(t, "done"),
            terminated=(t, "terminated"),
        )
        loss.make_value_estimator(ValueEstimators.GAE, gamma=0.99, lmbda=0.95)
        with torch.no_grad():
            loss.value_estimator(
                data,
                params=loss.critic_network_params,
                target_params=loss.target_critic_network_params,
            )
        out = loss(data)
        total = out["loss_objective"] + out["loss_critic"] + out["loss_entropy"]
        assert torch.isfinite(total)
        total.backward()
        grads = {n: p.grad for n, p in loss.named_parameters()}
        assert all(g is not None and torch.isfinite(g).all() for g in grads.values()), t
        actor_grad = sum(g.abs().sum() for n, g in grads.items() if n.startswith("actor"))
        # the government's masks leave one tax each at this iteration: nothing to learn
        assert (actor_grad > 0) == (t != "government"), t


def test_repr_names_the_economy() -> None:
    text = repr(make(batch_size=2, variant="closed"))
    assert text.startswith("RBCTorchRLEnv(variant='closed', batch_size=[2]")
    assert "'consumer': 4, 'firm': 2, 'government': 1" in text


# ---- continuous actions (RBCConfig.action_space="continuous") ------------------------------
def test_continuous_actions_give_bounded_specs_and_step_the_core() -> None:
    """Box specs on the grids' ranges; the env's steps are the core's with the same actions."""
    from torchrl.data import Bounded

    from rbc_env.core import action_box

    config = RBCConfig(n_consumers=3, n_firms=2, horizon=4, action_space="continuous")
    env = trl_module.torchrl_env(config, batch_size=4, seed=0)
    check_env_specs(env)
    box = action_box(config)
    for t, (low, high) in box.items():
        spec = env.full_action_spec[t, "action"]
        assert isinstance(spec, Bounded) and spec.dtype == torch.float32
        torch.testing.assert_close(spec.space.low[0, 0], torch.tensor(low))
        torch.testing.assert_close(spec.space.high[0, 0], torch.tensor(high))
    core = BatchedEconomy(config, 4, seed=0)
    td = env.reset()
    core.reset()
    for _ in range(config.horizon):
        actions = core.sample_actions()
        for t, a in actions.items():
            td[t, "action"] = a if t != "government" else a.unsqueeze(1)
        td = env.step(td)
        out = core.step(actions)
        for t in box:
            reward = out.rewards[t] if t != "government" else out.rewards[t].unsqueeze(1)
            torch.testing.assert_close(td["next", t, "reward"].squeeze(-1), reward)
        td = td["next"]
    with pytest.raises(ValueError, match="action_masks=True needs RBCConfig.action_space"):
        trl_module.torchrl_env(config, action_masks=True)
