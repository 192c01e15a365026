"""Checkpoints of model, optimizer and scheduler state: rank 0 writes, every rank loads.

One ``.npz`` file holds the model's state dict (``model/<name>``), the optimizer's per-parameter
arrays (``optimizer/<index>/<name>``) and, as one JSON string (``meta``), everything else: the
optimizer's hyper-parameters and step counts, the scheduler's state and the caller's extra
values. It loads with ``allow_pickle=False``, on any backend.
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np

from ..backends import to_numpy
from ..nn.module import Module
from ..optim.optimizer import Optimizer
from .collectives import broadcast_object
from .world import barrier, get_world_size, is_initialized, is_main_process

__all__ = ["load_checkpoint", "save_checkpoint"]

_FORMAT = "axoncl-checkpoint-1"


def _unwrap(model: Module) -> Module:
    """The module inside a DistributedDataParallel (whose names carry no ``module.``)."""
    from .ddp import DistributedDataParallel

    return model.module if isinstance(model, DistributedDataParallel) else model


def _is_array(value: Any) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and not np.isscalar(value)


def _pack(model: Module, optimizer: Optimizer | None, scheduler: Any, extra: dict) -> dict:
    arrays = {f"model/{k}": np.asarray(to_numpy(v)) for k, v in _unwrap(model).state_dict().items()}
    meta: dict[str, Any] = {"format": _FORMAT, "extra": extra}
    if optimizer is not None:
        state = optimizer.state_dict()
        scalars: dict[str, dict[str, Any]] = {}
        for index, entry in state["state"].items():
            for name, value in entry.items():
                if _is_array(value):
                    arrays[f"optimizer/{index}/{name}"] = np.asarray(to_numpy(value))
                else:
                    scalars.setdefault(str(index), {})[name] = value
        meta["optimizer"] = {"param_groups": state["param_groups"], "scalars": scalars}
    if scheduler is not None:
        meta["scheduler"] = scheduler.state_dict()
    try:
        arrays["meta"] = np.array(json.dumps(meta))
    except TypeError as exc:
        raise TypeError(
            f"save_checkpoint: expected JSON-serialisable extra values and optimizer settings "
            f"({exc})"
        ) from exc
    return arrays


def save_checkpoint(
    path: str | os.PathLike[str],
    model: Module,
    optimizer: Optimizer | None = None,
    scheduler: Any = None,
    **extra: Any,
) -> str:
    """Write ``model`` (unwrapped from DistributedDataParallel), ``optimizer`` and ``scheduler``
    state and ``extra`` JSON values to ``path`` (``.npz``). Only rank 0 writes; every rank
    returns once the file exists (a barrier), so a load right after sees it.

    Returns the path (with ``.npz`` appended when missing).

    Examples
    --------
    >>> import os, tempfile
    >>> from axoncl import nn, optim, distributed as dist
    >>> model = nn.Linear(2, 1)
    >>> opt = optim.Adam(model.parameters())
    >>> path = dist.save_checkpoint(os.path.join(tempfile.mkdtemp(), "ckpt"), model, opt, epoch=3)
    >>> dist.load_checkpoint(path, model, opt)
    {'epoch': 3}
    """
    path = os.fspath(path)
    if not path.endswith(".npz"):
        path += ".npz"
    if is_main_process():
        arrays = _pack(model, optimizer, scheduler, extra)
        tmp = path + ".tmp"
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)  # a crash mid-write leaves the previous checkpoint whole
    if is_initialized():
        barrier()
    return path


def _read(path: str) -> dict[str, Any]:
    with np.load(path, allow_pickle=False) as data:
        if "meta" not in data.files:
            raise ValueError(f"load_checkpoint: {path} is not an axoncl checkpoint (no 'meta')")
        arrays = {key: data[key] for key in data.files if key != "meta"}
        meta = json.loads(str(data["meta"]))
    if meta.get("format") != _FORMAT:
        raise ValueError(
            f"load_checkpoint: expected format {_FORMAT!r} in {path}, got {meta.get('format')!r}"
        )
    return {"arrays": arrays, "meta": meta}


def load_checkpoint(
    path: str | os.PathLike[str],
    model: Module,
    optimizer: Optimizer | None = None,
    scheduler: Any = None,
) -> dict[str, Any]:
    """Restore what :func:`save_checkpoint` wrote into ``model``, ``optimizer`` and
    ``scheduler`` on every rank; returns the extra values.

    Rank 0 reads the file and sends its contents to the other ranks, so they need no access to
    it (no shared file system). Arrays move to each parameter's backend and device.
    """
    path = os.fspath(path)
    content = _read(path) if is_main_process() else None
    if is_initialized() and get_world_size() > 1:
        content = broadcast_object(content)
    arrays, meta = content["arrays"], content["meta"]
    model_state = {k[len("model/") :]: v for k, v in arrays.items() if k.startswith("model/")}
    _unwrap(model).load_state_dict(model_state)
    if optimizer is not None:
        if "optimizer" not in meta:
            raise ValueError(f"load_checkpoint: {path} holds no optimizer state")
        state: dict[int, dict[str, Any]] = {}
        for index, values in meta["optimizer"]["scalars"].items():
            state.setdefault(int(index), {}).update(values)
        for key, value in arrays.items():
            if key.startswith("optimizer/"):
                _, index, name = key.split("/", 2)
                state.setdefault(int(index), {})[name] = value
        optimizer.load_state_dict(
            {"state": state, "param_groups": meta["optimizer"]["param_groups"]}
        )
    if scheduler is not None:
        if "scheduler" not in meta:
            raise ValueError(f"load_checkpoint: {path} holds no scheduler state")
        scheduler.load_state_dict(meta["scheduler"])
    return meta["extra"]
