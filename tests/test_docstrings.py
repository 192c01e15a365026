"""Every public function and class of the documented modules has a numpy-style docstring.

The documented modules are those of the API reference (docs/api/): ``axoncl``, ``axoncl.nn``
(with ``functional``, ``init``, ``utils``), ``axoncl.optim`` (with ``lr_scheduler``),
``axoncl.inspect`` and ``axoncl.backends.opencl``; docs/architecture.md states the convention.
A docstring is complete when it has a summary, ``Parameters`` (when the signature has any;
a dataclass may call its fields ``Attributes``),
``Returns`` or ``Yields`` (functions), ``Raises`` (when the code raises itself: a ``raise``
statement in the function, or in a class's ``__init__``) and ``Examples`` with at least one
``>>>`` line. The examples run as doctests (tests/test_doctests.py).

``python3 tests/test_docstrings.py`` prints the count and what each incomplete name lacks.
"""

from __future__ import annotations

import ast
import dataclasses
import importlib
import inspect
import re
import textwrap
from pathlib import Path

MODULES = (
    "axoncl",
    "axoncl.nn",
    "axoncl.nn.functional",
    "axoncl.nn.init",
    "axoncl.nn.utils",
    "axoncl.optim",
    "axoncl.optim.lr_scheduler",
    "axoncl.inspect",
    "axoncl.backends.opencl",
)
_SECTION = re.compile(r"^\s*([A-Z][A-Za-z ]+)\n\s*-{3,}\s*$", re.MULTILINE)


def public_objects() -> dict[str, object]:
    """``{qualified name: object}`` for each public function and class, first name wins."""
    seen: set[int] = set()
    found: dict[str, object] = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in module.__all__:
            obj = getattr(module, name)
            if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
                continue
            if inspect.isclass(obj) and not obj.__module__.startswith("axoncl"):
                continue  # dtypes and other names the namespace re-exports
            seen.add(id(obj))
            found[f"{module_name}.{name}"] = obj
    return found


def _raises(obj: object) -> bool:
    target = obj.__dict__.get("__init__") if inspect.isclass(obj) else obj
    if not inspect.isfunction(target):
        return False
    try:
        source = textwrap.dedent(inspect.getsource(target))
    except (OSError, TypeError):
        return False
    tree = ast.parse(source)
    return any(isinstance(node, ast.Raise) and node.exc is not None for node in ast.walk(tree))


def _has_parameters(obj: object) -> bool:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):
        return False
    return any(name not in ("self", "cls") for name in signature.parameters)


def missing_parts(obj: object) -> list[str]:
    """The parts a complete docstring needs that ``obj``'s own docstring lacks."""
    doc = obj.__doc__ if inspect.isfunction(obj) else obj.__dict__.get("__doc__")
    if not doc or not doc.strip():
        return ["docstring"]
    doc = inspect.cleandoc(doc)
    sections = set(_SECTION.findall(doc))
    missing = []
    # A dataclass's fields are its constructor's parameters; numpy style calls them Attributes.
    fields = {"Parameters", "Attributes"} if dataclasses.is_dataclass(obj) else {"Parameters"}
    if _has_parameters(obj) and not sections & fields:
        missing.append("Parameters")
    if inspect.isfunction(obj) and not sections & {"Returns", "Yields"}:
        missing.append("Returns")
    if _raises(obj) and "Raises" not in sections:
        missing.append("Raises")
    if "Examples" not in sections or ">>>" not in doc.split("Examples", 1)[1]:
        missing.append("Examples")
    return missing


def incomplete() -> dict[str, list[str]]:
    return {name: parts for name, obj in public_objects().items() if (parts := missing_parts(obj))}


def test_every_public_name_has_a_complete_docstring():
    missing = incomplete()
    total = len(public_objects())
    print(f"docstrings: {total - len(missing)} complete / {total} public functions and classes")
    assert total > 300  # the walk found the namespaces' names
    assert not missing, f"incomplete docstrings (name: missing parts): {missing}"


def test_the_checker_sees_each_missing_section():
    def bare(x):
        raise ValueError(x)

    def full(x):
        """Summary.

        Parameters
        ----------
        x : int
            A value.

        Returns
        -------
        int

        Raises
        ------
        ValueError
            Always.

        Examples
        --------
        >>> 1
        1
        """
        raise ValueError(x)

    bare.__doc__ = "Summary only."
    assert missing_parts(bare) == ["Parameters", "Returns", "Raises", "Examples"]
    assert missing_parts(full) == []


if __name__ == "__main__":
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's axoncl
    missing = incomplete()
    total = len(public_objects())
    for name, parts in sorted(missing.items()):
        print(f"{name}: {', '.join(parts)}")
    print(f"{total - len(missing)} complete / {total}")
