"""Fixtures of the OpenCL tests: the namespace and its default device (a skip with a stated
reason where no OpenCL device exists)."""

from __future__ import annotations

import pytest
from xp_backends import load_backend


@pytest.fixture(scope="session")
def xp():
    """The OpenCL namespace, ``axoncl.backends.opencl``."""
    return load_backend("opencl")


@pytest.fixture(scope="session")
def dev(xp):
    """The default OpenCL device."""
    from axoncl.backends.opencl.device import default_device

    return default_device()
