"""Shared fixtures and helpers of the test suite.

- Hypothesis profiles: ``ci`` (derandomized, no deadline; loaded when the ``CI`` environment
  variable is set) and ``dev`` (random, no deadline; the default).
- ``device``: every available torch device (CPU always, CUDA when present).
- ``tiny_config``: a small float64 open economy for fast tests.
- Stable-Baselines3 logs under pytest's temporary folder (its default is a new
  ``$TMPDIR/SB3-<date>`` folder per model, which no test would remove).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import torch
from hypothesis import HealthCheck, settings

from rbc_env import RBCConfig

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "dev",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.fixture(autouse=True, scope="session")
def _sb3_logs_in_pytest_tmp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Point SB3's default log folder (``SB3_LOGDIR``) into pytest's temporary tree."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SB3_LOGDIR", str(tmp_path_factory.mktemp("sb3")))
        yield


@pytest.fixture(params=DEVICES)
def device(request: pytest.FixtureRequest) -> str:
    """Every torch device of this machine (the GPU runs the same assertions as the CPU)."""
    return request.param


@pytest.fixture
def tiny_config() -> RBCConfig:
    """A small open economy in float64: 6 consumers, 4 firms, horizon 5."""
    return RBCConfig(n_consumers=6, n_firms=4, horizon=5, dtype="float64")
