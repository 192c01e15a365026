"""``save`` / ``load`` of state dicts as ``.npz`` files, readable on any backend."""

from __future__ import annotations

import os
import zipfile
from collections import OrderedDict
from typing import Any

import numpy as np

from ..backends import to_numpy
from ..variable import Variable
from .module import Module

__all__ = ["load", "save"]


def save(obj: Module | dict[str, Any], path: str | os.PathLike[str]) -> str:
    """Write a module's ``state_dict()`` (or a state dict) to ``path`` as ``.npz``.

    The arrays are copied to the host; :func:`load` gives numpy arrays that
    ``load_state_dict`` moves to each parameter's backend. Returns the path written (numpy
    appends ``.npz`` when it is missing).

    Examples
    --------
    >>> import tempfile, os
    >>> from axoncl import nn
    >>> model = nn.Linear(3, 2)
    >>> path = save(model, os.path.join(tempfile.mkdtemp(), "w.npz"))
    >>> sorted(load(path))
    ['bias', 'weight']
    """
    state = obj.state_dict() if isinstance(obj, Module) else obj
    if not hasattr(state, "items"):
        raise TypeError(f"save: expected a Module or a state dict, got {type(obj).__name__}")
    arrays = {}
    for key, value in state.items():
        data = value.data if isinstance(value, Variable) else value
        arrays[key] = np.asarray(to_numpy(data))
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def load(path: str | os.PathLike[str]) -> OrderedDict[str, np.ndarray]:
    """Read a state dict written by :func:`save` (numpy arrays, in the saved order).

    Raises
    ------
    ValueError
        When the file is not an ``.npz`` archive of plain arrays (truncated, another format,
        pickled objects); the message names the file.
    """
    path = os.fspath(path)
    try:
        with open(path, "rb") as f:
            data = np.load(f, allow_pickle=False)
            if not isinstance(data, np.lib.npyio.NpzFile):  # one .npy array, not a state dict
                raise ValueError("it holds one array, not named arrays")
            with data:
                return OrderedDict((key, data[key]) for key in data.files)
    except FileNotFoundError:
        raise
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise ValueError(
            f"load: {path!r} is not a state dict written by axoncl.nn.save (an .npz archive of "
            f"arrays): {exc}"
        ) from None
