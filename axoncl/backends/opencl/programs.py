"""Loads ``kernels/<family>.cl`` and builds each (family, options) once per device.

The only module that reads ``.cl`` files. Sources come from ``axoncl/kernels`` in an installed
wheel, or from the top-level ``kernels/`` folder of a checkout. Variants are chosen with ``-D``
options; the OpenCL runtime (PoCL: ``POCL_CACHE_DIR``) caches the compiled binaries on disk.
``#include "name.h"`` lines are resolved here, from the same folder, so the source and build
options do not depend on where the package is installed: a second install hits the runtime's
disk cache. Kernel objects are made and typed by ``launch.py``.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pyopencl as cl

from .device import Device

__all__ = [
    "KernelBuildError",
    "error_status",
    "get_program",
    "kernel_dir",
    "options_of",
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


_INCLUDE = re.compile(r'^[ \t]*#[ \t]*include[ \t]*"([A-Za-z0-9_]+\.h)"[ \t]*$', re.MULTILINE)


def _inline_includes(text: str, folder: Path, seen: tuple[str, ...]) -> str:
    def header(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in seen:  # include guards make a second copy empty anyway
            return ""
        path = folder / name
        if not path.is_file():
            raise FileNotFoundError(f"axoncl: kernel header {name!r} not found (expected {path})")
        return _inline_includes(path.read_text(), folder, (*seen, name))

    return _INCLUDE.sub(header, text)


@functools.cache
def read_source(family: str) -> str:
    """The source of ``kernels/<family>.cl`` with its ``#include "x.h"`` headers inlined."""
    folder = kernel_dir()
    path = folder / f"{family}.cl"
    if not path.is_file():
        raise FileNotFoundError(f"axoncl: no kernel family {family!r} (expected {path})")
    return _inline_includes(path.read_text(), folder, ())


def status_name(code: int) -> str:
    """``CL_*`` name of an OpenCL status code."""
    for name in dir(cl.status_code):
        if not name.startswith("_") and getattr(cl.status_code, name) == code:
            return f"CL_{name}"
    return f"OpenCL status {code}"


def error_status(exc: BaseException) -> str:
    """The ``CL_*`` name of the status carried by a pyopencl error (its class name otherwise)."""
    code = getattr(exc, "code", None)
    if callable(code):
        code = code()
    if code is None and exc.args and hasattr(exc.args[0], "code"):
        code = exc.args[0].code()
    return status_name(code) if isinstance(code, int) else type(exc).__name__


def _format_define(name: str, value: int | str | float | bool) -> str:
    if isinstance(value, bool):
        value = int(value)
    return f"-D{name}={value}"


def options_of(defines: dict[str, int | str | float | bool]) -> tuple[str, ...]:
    """The ``-DNAME=value`` build options of ``defines``, in a canonical order."""
    return tuple(_format_define(k, v) for k, v in sorted(defines.items()))


def _build(device: Device, family: str, options: tuple[str, ...]) -> cl.Program:
    source = read_source(family)
    # Argument info lets launch.py type every scalar argument (clGetKernelArgInfo).
    full = " ".join((*options, "-cl-kernel-arg-info"))
    # The program is built with exactly these options: pyopencl's Program.build would add
    # ``-I <pyopencl's install folder>``, which puts the install location into the runtime's
    # disk-cache key, so every new environment would compile everything again.
    program = cl._cl._Program(device.cl_context, source)
    try:
        program.build(full.encode(), [device.cl_device])
    except cl.Error as exc:
        try:
            log = program.get_build_info(device.cl_device, cl.program_build_info.LOG)
        except cl.Error:
            log = ""
        raise KernelBuildError(
            f"building kernels/{family}.cl with options {' '.join(options) or '(none)'} failed "
            f"on {device.caps.name} ({device.id}) with {error_status(exc)}:\n"
            f"{log.strip() or exc}"
        ) from None
    return cl.Program(program)


def get_program(device: Device, family: str, **defines: int | str | float | bool) -> cl.Program:
    """The built program for ``kernels/<family>.cl`` with ``-DNAME=value`` for each define."""
    key = (family, options_of(defines))
    program = device.programs.get(key)
    if program is None:
        with device.build_lock:
            program = device.programs.get(key)
            if program is None:
                program = device.programs[key] = _build(device, family, key[1])
    return program
