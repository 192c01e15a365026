"""Loads ``kernels/<family>.cl``, builds each (family, options) once per device, caches kernels.

The only module that reads ``.cl`` files. Sources come from ``axoncl/kernels`` in an installed
wheel, or from the top-level ``kernels/`` folder of a checkout. Variants are chosen with ``-D``
options; the OpenCL runtime (PoCL: ``POCL_CACHE_DIR``) caches the compiled binaries on disk.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pyopencl as cl

from .device import Device

__all__ = [
    "KernelBuildError",
    "get_kernel",
    "get_program",
    "kernel_dir",
    "read_source",
    "status_name",
]

_HERE = Path(__file__).resolve()
_CANDIDATES = (
    _HERE.parents[2] / "kernels",  # installed wheel: axoncl/kernels
    _HERE.parents[3] / "kernels",  # checkout: <repo>/kernels
)


class KernelBuildError(RuntimeError):
    """An OpenCL program failed to build; the message carries the file, options, device and log."""


def kernel_dir() -> Path:
    """The folder the ``.cl`` sources are read from."""
    for path in _CANDIDATES:
        if (path / "elementwise.cl").is_file() or any(path.glob("*.cl")):
            return path
    raise FileNotFoundError(
        "axoncl: kernel sources not found; looked in " + ", ".join(map(str, _CANDIDATES))
    )


@functools.cache
def read_source(family: str) -> str:
    path = kernel_dir() / f"{family}.cl"
    if not path.is_file():
        raise FileNotFoundError(f"axoncl: no kernel family {family!r} (expected {path})")
    return path.read_text()


def status_name(code: int) -> str:
    """``CL_*`` name of an OpenCL status code."""
    for name in dir(cl.status_code):
        if not name.startswith("_") and getattr(cl.status_code, name) == code:
            return f"CL_{name}"
    return f"OpenCL status {code}"


def _format_define(name: str, value: int | str | float | bool) -> str:
    if isinstance(value, bool):
        value = int(value)
    return f"-D{name}={value}"


def _build(device: Device, family: str, options: tuple[str, ...]) -> cl.Program:
    source = read_source(family)
    full = (*options, "-I", str(kernel_dir()))
    try:
        return cl.Program(device.cl_context, source).build(
            options=list(full), devices=[device.cl_device]
        )
    except cl.Error as exc:
        log = str(exc)
        raise KernelBuildError(
            f"building kernels/{family}.cl with options {' '.join(options) or '(none)'} failed "
            f"on {device.caps.name} ({device.id}):\n{log}"
        ) from None


def get_program(device: Device, family: str, **defines: int | str | float | bool) -> cl.Program:
    """The built program for ``kernels/<family>.cl`` with ``-DNAME=value`` for each define."""
    options = tuple(_format_define(k, v) for k, v in sorted(defines.items()))
    key = (family, options)
    program = device.programs.get(key)
    if program is None:
        program = device.programs[key] = _build(device, family, options)
    return program


def get_kernel(
    device: Device, family: str, name: str, **defines: int | str | float | bool
) -> cl.Kernel:
    """A reusable ``cl.Kernel`` object; built and looked up once per (program, name)."""
    options = tuple(_format_define(k, v) for k, v in sorted(defines.items()))
    key = (family, options, name)
    kernel = device.kernels.get(key)
    if kernel is None:
        kernel = device.kernels[key] = cl.Kernel(get_program(device, family, **defines), name)
    return kernel
