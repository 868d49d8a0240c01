"""Shared fixtures: hypothesis profiles and the native dispatch switch."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

from mpc import _binding

settings.register_profile("ci", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=200, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(params=["native", "portable"])
def dispatch(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run a test once with the CPU-specific C paths and once with the portable ones."""
    _binding.set_portable(request.param == "portable")
    try:
        yield request.param
    finally:
        _binding.set_portable(False)
