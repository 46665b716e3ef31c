"""Fixtures of the trainer tests: one local Ray instance per test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def ray_session():
    """A private local Ray (2 CPUs, loopback only, token auth on), shut down at the end."""
    import ray

    from trainers.lifecycle import start_ray

    if ray.is_initialized():
        yield
        return
    start_ray(None, num_cpus=2)
    yield
    ray.shutdown()
