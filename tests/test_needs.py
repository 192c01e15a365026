"""needs.missing: a prerequisite that CI installs fails the test there and skips it elsewhere."""

import pytest
from needs import missing


def test_missing_skips_outside_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no chromium here"):
        missing("no chromium here")


def test_missing_fails_in_ci(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="no chromium here .CI=true"):
        missing("no chromium here")
