"""Test prerequisites that CI installs: absent there, a test fails; absent elsewhere, it skips."""

from __future__ import annotations

import os

import pytest


def missing(reason: str) -> None:
    """Skip with ``reason`` on a developer's machine; fail under ``CI=true``, where
    ``scripts/setup.sh`` installs everything the tests need."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: scripts/setup.sh should have installed it)")
    pytest.skip(reason)
