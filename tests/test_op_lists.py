"""The op lists agree layer by layer: each family module's ``__all__`` is the one list, and
``axoncl.functions`` and ``axoncl`` re-export exactly those ops."""

from __future__ import annotations

import inspect
import pkgutil
import types

import pytest

import axoncl
from axoncl import functions
from axoncl.functions import registry

FAMILIES = [
    module
    for name, module in vars(functions).items()
    if isinstance(module, types.ModuleType)
    and module.__name__ == f"{functions.__name__}.{name}"
    and not name.startswith("_")
]
OPS = [name for family in FAMILIES for name in family.__all__]


def test_the_families_are_the_modules_of_the_functions_package():
    names = sorted(family.__name__.rsplit(".", 1)[-1] for family in FAMILIES)
    files = sorted(m.name for m in pkgutil.iter_modules(functions.__path__) if m.name[0] != "_")
    assert names == files


def test_no_op_is_listed_twice():
    assert len(OPS) == len(set(OPS)), sorted(name for name in OPS if OPS.count(name) > 1)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda family: family.__name__)
def test_a_family_lists_exactly_the_public_functions_it_defines(family):
    defined = {
        name
        for name, value in vars(family).items()
        if inspect.isfunction(value)
        and value.__module__ == family.__name__
        and not name.startswith("_")
    }
    assert set(family.__all__) == defined


def test_functions_all_is_the_families_lists():
    assert sorted(functions.__all__) == sorted(["Function", "registry", *OPS])
    for name in OPS:
        assert getattr(functions, name) is getattr(_family_of(name), name), name


def test_axoncl_reexports_every_op_of_functions():
    exported = set(axoncl.__all__)
    assert set(OPS) <= exported, sorted(set(OPS) - exported)
    assert len(axoncl.__all__) == len(exported), "a name is listed twice in axoncl.__all__"
    for name in OPS:
        assert getattr(axoncl, name) is getattr(functions, name), name
    # functions' other names (Function, registry) are not ops; only Function is re-exported
    assert exported & set(functions.__all__) == {*OPS, "Function"}
    for name in axoncl.__all__:
        assert hasattr(axoncl, name), name


def test_every_registered_op_is_reachable_from_both_layers():
    ours = [name for name, cls in registry.items() if cls.__module__.startswith("axoncl.")]
    assert ours, "no op of axoncl is registered"
    for name in ours:  # (other tests register rules of their own)
        assert name in functions.__all__, name
        assert name in axoncl.__all__, name
        assert getattr(functions, name) is getattr(axoncl, name), name


def _family_of(name: str) -> types.ModuleType:
    return next(family for family in FAMILIES if name in family.__all__)
