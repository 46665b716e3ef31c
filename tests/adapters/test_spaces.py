"""Gymnasium spaces built from the core's specs: dtypes, shapes, one object per type, masks."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from rbc_env import RBCConfig
from rbc_env.adapters.spaces import (
    FlatMaskMultiDiscrete,
    action_space,
    build_spaces,
    mask_shape,
    split_flat_mask,
)
from rbc_env.core import AGENT_TYPES, action_nvec, observation_specs


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_observation_boxes_follow_config_dtype_and_specs(dtype):
    """Each type's Box has the spec's shape and bounds, in the config's float dtype."""
    config = RBCConfig(n_consumers=3, n_firms=2, dtype=dtype)
    built = build_spaces(config, state_dim=7)
    specs = observation_specs(config)
    for t in AGENT_TYPES:
        box = built.observation[t]
        assert isinstance(box, spaces.Box)
        assert box.dtype == np.dtype(dtype)
        assert box.shape == specs[t].shape
        assert np.all(box.low == specs[t].low) and np.all(box.high == specs[t].high)
    assert built.state.shape == (7,) and built.state.dtype == np.dtype(dtype)


def test_action_spaces_are_multidiscrete_with_core_nvec():
    """Action spaces are int64 MultiDiscrete with the core's head sizes."""
    config = RBCConfig(n_consumers=3, n_firms=4)
    built = build_spaces(config, state_dim=1)
    for t, nvec in action_nvec(config).items():
        space = built.action[t]
        assert type(space) is spaces.MultiDiscrete
        assert space.dtype == np.int64
        assert tuple(space.nvec.tolist()) == nvec
    assert built.action["consumer"].shape == (4 + 2,)


def test_build_spaces_gives_new_objects_per_call():
    """Spaces hold an RNG, so two environments never share a space object."""
    config = RBCConfig(n_consumers=3, n_firms=2)
    a, b = build_spaces(config, 1), build_spaces(config, 1)
    for t in AGENT_TYPES:
        assert a.action[t] is not b.action[t]
        assert a.action[t] == b.action[t]
        assert a.observation[t] is not b.observation[t]


def test_masked_observation_is_dict_with_flat_int8_mask():
    """With masks, observations are Dict(observation, action_mask[Σ nvec] int8)."""
    config = RBCConfig(n_consumers=3, n_firms=2)
    built = build_spaces(config, 1, action_masks=True)
    for t, nvec in action_nvec(config).items():
        space = built.observation[t]
        assert isinstance(space, spaces.Dict)
        assert set(space.spaces) == {"observation", "action_mask"}
        mask = space["action_mask"]
        assert mask.shape == (sum(nvec),) and mask.dtype == np.int8
        assert isinstance(built.action[t], FlatMaskMultiDiscrete)


def test_flat_mask_multidiscrete_samples_only_allowed_values():
    """A flat mask (heads concatenated) restricts every head; a tuple mask still works."""
    space = action_space((3, 4), flat_mask=True)
    assert space == spaces.MultiDiscrete([3, 4])
    space.seed(0)
    flat = np.array([0, 1, 0, 1, 0, 0, 1], dtype=np.int8)
    draws = np.array([space.sample(mask=flat) for _ in range(50)])
    assert set(draws[:, 0].tolist()) == {1}
    assert set(draws[:, 1].tolist()) <= {0, 3} and len(set(draws[:, 1].tolist())) == 2
    as_tuple = (flat[:3], flat[3:])
    assert space.sample(mask=as_tuple)[0] == 1
    assert space.contains(space.sample())


def test_flat_mask_of_wrong_length_raises():
    """A flat mask must have length Σ nvec."""
    space = action_space((3, 4), flat_mask=True)
    with pytest.raises(ValueError, match=r"shape \(7,\).*got \(6,\)"):
        space.sample(mask=np.ones(6, dtype=np.int8))
    with pytest.raises(ValueError, match="Σ nvec"):
        split_flat_mask(np.ones((7, 1), dtype=np.int8), (3, 4))


@pytest.mark.parametrize(
    ("nvec", "layout", "shape"),
    [
        ((3, 4), "flat", (7,)),
        ((3, 4), "one_hot", (7,)),  # unequal heads: TorchRL's MultiCategorical, flat one-hot
        ((6, 6), "flat", (12,)),
        ((6, 6), "one_hot", (2, 6)),  # equal heads: TorchRL's stacked Categorical [2] -> [2, 6]
        ((11, 11, 5, 2), "one_hot", (29,)),
    ],
)
def test_mask_shape_follows_torchrl_one_hot_shapes(nvec, layout, shape):
    """mask_shape gives the flat layout, or TorchRL's one-hot shape of the MultiDiscrete."""
    assert mask_shape(nvec, layout) == shape
    torchrl_gym = pytest.importorskip("torchrl.envs.libs.gym")
    if layout == "one_hot":
        spec = torchrl_gym._gym_to_torchrl_spec_transform(
            spaces.MultiDiscrete(list(nvec)), categorical_action_encoding=True
        )
        assert tuple(spec.to_one_hot_spec().shape) == shape


def test_one_hot_layout_changes_only_equal_heads_and_samples_by_row():
    """With mask_layout="one_hot" the government's mask is [2, n]; sample() takes its rows."""
    config = RBCConfig(n_consumers=3, n_firms=2)
    built = build_spaces(config, 1, action_masks=True, mask_layout="one_hot")
    assert built.mask_layout == "one_hot"
    nvec = action_nvec(config)
    assert built.observation["firm"]["action_mask"].shape == (sum(nvec["firm"]),)
    assert built.observation["government"]["action_mask"].shape == (2, nvec["government"][0])
    space = action_space((4, 4), flat_mask=True)
    space.seed(0)
    rows = np.array([[0, 0, 1, 0], [1, 0, 0, 1]], dtype=np.int8)
    draws = np.array([space.sample(mask=rows) for _ in range(50)])
    assert set(draws[:, 0].tolist()) == {2} and set(draws[:, 1].tolist()) == {0, 3}
    with pytest.raises(ValueError, match="flat action mask must have shape"):
        space.sample(mask=np.ones((4, 2), dtype=np.int8))
    with pytest.raises(ValueError, match=r"mask_layout must be one of \['flat', 'one_hot'\]"):
        build_spaces(config, 1, action_masks=True, mask_layout="rows")
