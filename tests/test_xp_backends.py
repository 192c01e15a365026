"""The backend fixture skips only for its stated reasons, and says which."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import pytest
from xp_backends import load_backend, require_float64

from axoncl.backends import backend_name


def test_numpy_and_array_api_strict_always_load():
    assert backend_name(load_backend("numpy")) == "numpy"
    assert backend_name(load_backend("array_api_strict")) == "array_api_strict"


def test_torch_skips_only_when_it_cannot_be_imported(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    monkeypatch.setitem(sys.modules, "array_api_compat.torch", None)
    with pytest.raises(pytest.skip.Exception, match="^torch not installed$"):
        load_backend("torch")


def test_jax_skips_only_when_it_cannot_be_imported(monkeypatch):
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(pytest.skip.Exception, match="^jax not installed$"):
        load_backend("jax")


def test_jax_loads_with_float64_enabled():
    xp = load_backend("jax")
    assert backend_name(xp) == "jax"
    assert xp.asarray([1.0], dtype=xp.float64).dtype == xp.float64
    require_float64(xp)  # no skip


def test_opencl_skips_when_pyopencl_is_missing(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyopencl", None)
    monkeypatch.delitem(sys.modules, "axoncl.backends.opencl.device", raising=False)
    with pytest.raises(pytest.skip.Exception, match="^no OpenCL device$"):
        load_backend("opencl")


def test_opencl_skips_when_no_device_exists(monkeypatch):
    device = pytest.importorskip("axoncl.backends.opencl.device")

    def no_device():
        raise device.NoOpenCLError("no OpenCL platform found")

    monkeypatch.setattr(device, "default_device", no_device)
    with pytest.raises(pytest.skip.Exception, match="^no OpenCL device$"):
        load_backend("opencl")


def test_other_import_errors_are_not_turned_into_skips(monkeypatch):
    # A module of ours that fails to import is a bug to report, not a missing device.
    monkeypatch.setitem(sys.modules, "axoncl.backends.opencl.device", None)
    with pytest.raises(ImportError, match="axoncl.backends.opencl.device"):
        load_backend("opencl")


def test_require_float64_skips_a_namespace_without_float64():
    no_fp64 = SimpleNamespace(__name__="fake_device_namespace", float32=object())
    with pytest.raises(pytest.skip.Exception, match="^device lacks cl_khr_fp64$"):
        require_float64(no_fp64)
    require_float64(load_backend("numpy"))  # no skip
