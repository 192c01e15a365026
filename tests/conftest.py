"""The ``xp`` fixture: every test that takes it runs once per backend (see ``xp_backends``)."""

from __future__ import annotations

from types import ModuleType

import pytest
from xp_backends import BACKENDS, load_backend


@pytest.fixture(params=BACKENDS, scope="session")
def xp(request: pytest.FixtureRequest) -> ModuleType:
    """Each array-API backend in turn; session-scoped, so hypothesis tests may use it too."""
    return load_backend(request.param)
