"""A pytest plugin for the array API suite's run (``-p array_api_profile``): the suite's
hypothesis profile without the shrink phase.

Shrinking only makes a failing example smaller for its report; whether a test passes is
decided before it. Without it a failing test reports the first example that failed, and the run
cannot spend minutes shrinking one failure (its time stays bounded for CI).
"""

import pytest
from hypothesis import Phase, settings


@pytest.hookimpl(trylast=True)  # after the suite's conftest has registered its profile
def pytest_configure(config):
    settings.register_profile(
        "axoncl-array-api",
        parent=settings.get_profile("array-api-tests"),
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    )
    settings.load_profile("axoncl-array-api")
