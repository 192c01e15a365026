"""``save`` / ``load`` of state dicts as ``.npz`` files, readable on any backend.

A flat state dict (a module's) is stored as one array per key. A nested one (an optimizer's,
a scheduler's, or a dict of several) stores its arrays under their paths (``state/0/exp_avg``)
and everything else as one JSON string (``__json__``), so loading never unpickles.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

from ..backends import to_numpy
from ..variable import Variable
from .module import Module

__all__ = ["load", "save"]


_JSON_KEY = "__json__"


def _is_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and not isinstance(value, np.generic)


def _pack(value: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    """``value`` as JSON-ready data, its arrays moved to ``arrays`` under their paths."""
    if isinstance(value, Variable):
        value = value.data
    elif hasattr(value, "state_dict") and not isinstance(value, dict):
        value = value.state_dict()  # a module, optimizer or scheduler inside the dict
    if _is_array(value):
        arrays[path] = np.asarray(to_numpy(value))
        return {"__array__": path}
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _pack(v, f"{path}/{k}", arrays) for k, v in value.items()}
        return {"__items__": [[k, _pack(v, f"{path}/{k}", arrays)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"__tuple__": [_pack(v, f"{path}/{i}", arrays) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_pack(v, f"{path}/{i}", arrays) for i, v in enumerate(value)]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"save: expected arrays, numbers, strings, lists, tuples and dicts, got "
        f"{type(value).__name__} at {path!r}"
    )


def _unpack(value: Any, arrays: Any) -> Any:
    if isinstance(value, list):
        return [_unpack(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        return arrays[value["__array__"]]
    if "__tuple__" in value:
        return tuple(_unpack(v, arrays) for v in value["__tuple__"])
    if "__items__" in value:
        return {
            (tuple(k) if isinstance(k, list) else k): _unpack(v, arrays)
            for k, v in value["__items__"]
        }
    return {k: _unpack(v, arrays) for k, v in value.items()}


def save(obj: Any, path: str | os.PathLike[str]) -> str:
    """Write a module's ``state_dict()``, or any state dict (an optimizer's, a scheduler's, a
    dict of several: arrays, numbers, strings, lists, tuples and dicts), to ``path`` as ``.npz``.

    The arrays are copied to the host; :func:`load` gives numpy arrays that
    ``load_state_dict`` moves to each parameter's backend. An object with a ``state_dict()``
    method (a module, optimizer or scheduler) is saved through it. Returns the path written
    (``.npz`` is appended when it is missing).

    Parameters
    ----------
    obj
        A :class:`Module` or a state dict (possibly nested).
    path
        The file written (``.npz``).

    Returns
    -------
    str
        The path written.

    Raises
    ------
    TypeError
        When ``obj`` is neither a Module nor a state dict.

    Examples
    --------
    >>> import tempfile, os
    >>> from axoncl import nn
    >>> model = nn.Linear(3, 2)
    >>> path = save(model, os.path.join(tempfile.mkdtemp(), "w.npz"))
    >>> sorted(load(path))
    ['bias', 'weight']
    """
    state = obj.state_dict() if isinstance(obj, Module) or hasattr(obj, "state_dict") else obj
    if not hasattr(state, "items"):
        raise TypeError(f"save: expected a Module or a state dict, got {type(obj).__name__}")
    arrays: dict[str, np.ndarray] = {}
    flat = all(isinstance(k, str) and k != _JSON_KEY for k in state) and all(
        _is_array(v.data if isinstance(v, Variable) else v) for v in state.values()
    )
    if flat:
        for key, value in state.items():
            data = value.data if isinstance(value, Variable) else value
            arrays[key] = np.asarray(to_numpy(data))
    else:
        arrays[_JSON_KEY] = np.array(json.dumps(_pack(dict(state), "", arrays)))
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def load(path: str | os.PathLike[str]) -> OrderedDict[str, Any]:
    """Read a state dict written by :func:`save` (numpy arrays, in the saved order; a nested
    state dict comes back nested, ready for ``load_state_dict``).

    Raises
    ------
    ValueError
        When the file is not an ``.npz`` archive of plain arrays (truncated, another format,
        pickled objects); the message names the file.

    Parameters
    ----------
    path
        A file written by :func:`save`.

    Returns
    -------
    OrderedDict
        The state dict, numpy arrays in the saved order (nested as saved).

    Examples
    --------
    >>> import os, tempfile
    >>> from axoncl import nn
    >>> path = nn.save(nn.Linear(2, 1), os.path.join(tempfile.mkdtemp(), "model.npz"))
    >>> list(nn.load(path))
    ['weight', 'bias']
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = np.load(f, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):  # one .npy array, not a state dict
                raise ValueError("it holds one array, not named arrays")
            with data:
                if _JSON_KEY in data.files:
                    arrays = {key: data[key] for key in data.files if key != _JSON_KEY}
                    return OrderedDict(_unpack(json.loads(str(data[_JSON_KEY])), arrays))
                return OrderedDict((key, data[key]) for key in data.files)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(
            f"load: {path!r} is not a state dict written by axoncl.nn.save (an .npz archive of "
            f"arrays): {exc}"
        ) from None
