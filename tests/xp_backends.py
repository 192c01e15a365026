"""The backends under test, and helpers to move test data onto them.

Test modules import these helpers from here, never from ``conftest.py``: pytest imports every
``conftest.py`` as the one module ``conftest``, so ``from conftest import …`` may find another
directory's file.

A backend that cannot run here skips with a stated reason, and only for that reason: torch or
JAX when it is not installed, OpenCL when pyopencl is missing or no OpenCL device exists. Any
other error while loading a backend fails loudly. JAX is loaded with float64 enabled
(``jax_enable_x64``), which it leaves off by default.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import pytest

import axoncl
from axoncl.backends import backend_name, get_backend, to_numpy

BACKENDS = ["numpy", "array_api_strict", "torch", "jax", "opencl"]


def load_backend(name: str) -> ModuleType:
    """The namespace of backend ``name``, or a skip that says why it cannot run here."""
    if name == "torch":
        try:
            return get_backend("torch")
        except ImportError:
            pytest.skip("torch not installed")
    if name == "jax":
        try:
            import jax
        except ImportError:
            pytest.skip("jax not installed")
        jax.config.update("jax_enable_x64", True)  # float64 gradchecks; JAX's default is 32-bit
        return get_backend("jax")
    if name == "opencl":
        try:
            from axoncl.backends.opencl.device import NoOpenCLError, default_device
        except ImportError as exc:
            if not (exc.name or "").startswith("pyopencl"):
                raise
            pytest.skip("no OpenCL device")
        try:
            default_device()
            return get_backend("opencl")
        except NoOpenCLError:
            pytest.skip("no OpenCL device")
    return get_backend(name)


def has_float64(xp: ModuleType) -> bool:
    """Whether ``xp`` computes in float64 on its default device."""
    if backend_name(xp) == "opencl":
        from axoncl.backends.opencl.device import default_device

        return default_device().caps.fp64
    if getattr(xp, "float64", None) is None:
        return False
    info = getattr(xp, "__array_namespace_info__", None)
    if info is None:
        return True
    return "float64" in info().dtypes()


def require_float64(xp: ModuleType) -> None:
    """Skip the calling test where the device has no float64."""
    if not has_float64(xp):
        pytest.skip("device lacks cl_khr_fp64")


def to_xp(xp: ModuleType, value: Any, dtype: str | None = None) -> Any:
    """``value`` (a NumPy array, list or scalar) as an array of ``xp``; ``dtype`` is a name."""
    host = np.asarray(value)
    name = dtype or str(host.dtype)
    return axoncl.asarray(host.astype(name), backend=xp, dtype=name)


def var(
    xp: ModuleType, value: Any, requires_grad: bool = True, dtype: str = "float64"
) -> axoncl.Variable:
    """A Variable of ``xp`` holding ``value`` (float64 by default)."""
    return axoncl.Variable(to_xp(xp, value, dtype), requires_grad=requires_grad)


def host(value: Any) -> np.ndarray:
    """A NumPy copy of a Variable or an array of any backend."""
    if isinstance(value, axoncl.Variable):
        return value.numpy()
    return np.asarray(to_numpy(value))


def assert_close(
    actual: Any, expected: Any, atol: float = 1e-10, rtol: float = 1e-7, what: str = "value"
) -> None:
    """``actual`` (a Variable or array of any backend) against ``expected``; on failure the
    message shows the mismatched elements, both values and the tolerances."""
    got = host(actual)
    want = host(expected) if isinstance(expected, axoncl.Variable) else np.asarray(expected)
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    np.testing.assert_allclose(got, want, atol=atol, rtol=rtol, err_msg=what)
