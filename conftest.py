"""Shared test fixtures: one real local Ray for the whole test session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("RAY_DEDUP_LOGS", "0")
os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")


@pytest.fixture(scope="session")
def ray_session():
    """A local Ray with 4 logical CPUs and 2 fake GPUs, shared by every test that asks.

    Started on first use, shut down at the end of the session.
    """
    import ray

    from tunecore.execution.ray_executor import ensure_ray

    ensure_ray(num_cpus=4, num_gpus=2)
    yield ray
    ray.shutdown()


@pytest.fixture
def results_dir(tmp_path):
    """A fresh local_dir for an experiment."""
    d = tmp_path / "ray_results"
    d.mkdir()
    return str(d)
