"""The OpenCL layers agree: the kernel table of elementwise.cl, the Python table of
elementwise.py, the family modules' lists and the namespace's exports."""

import re

import pytest

pytest.importorskip("pyopencl")

import axoncl.backends.opencl as xp  # noqa: E402
from axoncl.backends.opencl import elementwise, programs  # noqa: E402


def _kernel_table() -> dict[str, set[str]]:
    source = programs.read_source("elementwise")
    table: dict[str, set[str]] = {"UNARY": set(), "BINARY": set()}
    for kind, name in re.findall(r"^(UNARY|BINARY)_KERNELS\((\w+),", source, re.MULTILINE):
        table[kind].add(name)
    return table


def test_every_table_entry_has_kernels_and_every_kernel_an_entry():
    kernels = _kernel_table()
    assert kernels["UNARY"] == set(elementwise.UNARY)
    assert kernels["BINARY"] == set(elementwise.BINARY)


def test_every_elementwise_entry_is_a_namespace_function_named_after_it():
    for name in (*elementwise.UNARY, *elementwise.BINARY):
        function = getattr(xp, name)
        assert function.__name__ == name
        assert function.__doc__, f"{name} has no docstring"


def test_the_namespace_exports_exactly_the_family_lists():
    family_names = [name for module in xp.FAMILIES for name in module.__all__]
    assert len(family_names) == len(set(family_names)), "a name is defined by two families"
    for module in xp.FAMILIES:
        for name in module.__all__:
            assert getattr(xp, name) is getattr(module, name), name
    assert len(xp.__all__) == len(set(xp.__all__))
    assert set(family_names) <= set(xp.__all__)
    for name in set(xp.__all__) - set(family_names):  # constants, device helpers, CLArray
        assert hasattr(xp, name), name


def test_kernel_sources_carry_no_include_paths():
    # Headers are inlined by programs.py, so neither the source nor the build options name a
    # folder: an install elsewhere hits the OpenCL runtime's disk cache.
    for family in ("elementwise", "copy", "reduction", "softmax", "sort"):
        source = programs.read_source(family)
        assert "#include" not in source, family
    assert "-I" not in " ".join(programs.options_of({"T": "float"}))
