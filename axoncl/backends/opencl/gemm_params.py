"""GEMM parameters: one table per device class, plus a JSON override written by the tuner.

:func:`load_params` gives the parameters :mod:`.gemm` uses for a device: the entry of
:data:`PARAMS` for its ``vendor_class``, updated with the JSON file that
:func:`.gemm_tuner.tune` (or :func:`save_params`) wrote for this very device, when there is
one. The file lives in ``$AXONCL_CACHE_DIR`` (default ``~/.cache/axoncl``) as
``gemm-<hash of the device>.json``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .device import Device

__all__ = [
    "base_params",
    "PARAMS",
    "GemmParams",
    "cache_path",
    "clear_cache",
    "load_params",
    "save_params",
]


@dataclass(frozen=True)
class GemmParams:
    """Every tunable of the GEMM kernels (``kernels/gemm.cl``) and of the path choice.

    ``large`` names the kernel for problems with ``m*n*k >= direct_below``: ``"packed"`` (CPU:
    RM x NV*16 register block, no local memory) or ``"tiled"`` (GPU: local-memory tiles).
    """

    large: str = "packed"
    direct_below: int = 64**3  # m*n*k below this runs gemm_direct (no packing)
    # gemm_packed (CPU): RM rows x NV vectors per work-item; M_BLOCK M-panels share a B panel;
    # K is cut into chunks of KC (one launch each; later ones accumulate into C) so a B panel
    # (KC x 32 floats) stays in L2. Measured here, one launch per GEMM up to K = 2048 beat
    # chunks of 512 (1024^3: median 209 against 120 GFLOP/s), hence 4096. LWS items per group.
    rm: int = 8
    nv: int = 2
    m_block: int = 16
    kc: int = 4096
    lws: int = 8
    # k*n from which B is copied into panels even when usable in place (row-major, N a multiple
    # of 32). Up to 1 MiB of float32 B stays in L2 and is read in place: one launch fewer
    # (4096x256x256 here: 1.00-1.04x numpy in place against 0.95-1.00x packed).
    pack_b_above: int = 1 << 18
    # gemm_direct: DM x DN outputs per work-item, work-group DLX x DLY.
    dm: int = 4
    dn: int = 4
    dlx: int = 8
    dly: int = 8
    # gemm_tiled (GPU): TM x TN x TK tiles, WM x WN outputs per work-item.
    tm: int = 64
    tn: int = 64
    tk: int = 16
    wm: int = 4
    wn: int = 4

    def replace(self, **changes: object) -> GemmParams:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


_GPU = GemmParams(large="tiled", direct_below=768**3, dm=2, dn=2, dlx=16, dly=16)

#: Parameters per ``DeviceCaps.vendor_class``. GPU entries follow CLBlast's tuned clusters
#: (64x64 tiles, 4x4 per work-item); only ``cpu`` is measured here (PoCL, 2-core EPYC).
PARAMS: dict[str, GemmParams] = {
    "cpu": GemmParams(),
    "nvidia": _GPU.replace(direct_below=1024**3, tm=64, tn=64, tk=16, wm=4, wn=4),
    "amd": _GPU.replace(direct_below=512**3, tm=64, tn=64, tk=16, wm=4, wn=4),
    "intel_gpu": _GPU.replace(direct_below=768**3, tm=64, tn=64, tk=16, wm=8, wn=4),
    # Apple: 32 KiB local memory and 256 work-items; 32x64 tiles with 8x8 work-items.
    "apple": _GPU.replace(direct_below=768**3, tm=32, tn=64, tk=16, wm=4, wn=8),
    "default": _GPU.replace(tm=32, tn=32, tk=16, wm=4, wn=4),
}

_FIELDS = {f.name for f in dataclasses.fields(GemmParams)}


def _cache_dir() -> Path:
    env = os.environ.get("AXONCL_CACHE_DIR", "").strip()
    return Path(env) if env else Path.home() / ".cache" / "axoncl"


def cache_path(device: Device) -> Path:
    """Where the tuned parameters of ``device`` are stored."""
    key = ("gemm_params_path", os.environ.get("AXONCL_CACHE_DIR", ""))
    path = device.state.get(key)
    if path is None:
        caps = device.caps
        ident = f"{caps.platform}|{caps.vendor}|{caps.name}|{caps.version}"
        digest = hashlib.sha1(ident.encode()).hexdigest()[:16]
        path = device.state[key] = _cache_dir() / f"gemm-{digest}.json"
    return path


def base_params(device: Device) -> GemmParams:
    base = PARAMS.get(device.caps.vendor_class, PARAMS["default"])
    if device.caps.kind != "cpu" and base.large == "tiled":
        base = _fit_tiles(device, base)
    return base


def _fit_tiles(device: Device, p: GemmParams) -> GemmParams:
    # Shrink to 32x32 tiles with 8x8 work-items when the device cannot hold the default.
    itemsize = 8  # size for double, the worst case
    local = (p.tk * (p.tm + 1) + p.tk * (p.tn + 1)) * itemsize
    items = (p.tm // p.wm) * (p.tn // p.wn)
    if local > device.caps.local_mem_size or items > device.caps.max_work_group_size:
        p = p.replace(tm=32, tn=32, tk=16, wm=4, wn=4)
    return p


def _from_dict(base: GemmParams, data: dict) -> GemmParams:
    unknown = set(data) - _FIELDS
    if unknown:
        raise ValueError(f"gemm params: unknown fields {sorted(unknown)}; known: {sorted(_FIELDS)}")
    return base.replace(**data)


_RECHECK_S = 1.0  # how often load_params looks at the override file for another process's write


def load_params(device: Device) -> GemmParams:
    """The GEMM parameters for ``device``: the table entry, then the tuner's JSON override.

    A GEMM call asks for them: the file is looked at again at most once a second (a write by
    :func:`save_params` or :func:`clear_cache` in this process takes effect at once)."""
    # (Every GEMM call asks: within the second, the answer costs one environment lookup.)
    env = os.environ.get("AXONCL_CACHE_DIR", "")
    hit = device.state.get("gemm_params")  # (env, file mtime or -1, params, look again at)
    now = time.monotonic()
    if hit is not None and hit[0] == env and now < hit[3]:
        return hit[2]
    path = cache_path(device)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        mtime = -1
    if hit is not None and hit[0] == env and hit[1] == mtime:
        params = hit[2]
    else:
        params = base_params(device)
        if mtime >= 0:
            data = json.loads(path.read_text())
            params = _from_dict(params, data.get("params", {}))
    device.state["gemm_params"] = (env, mtime, params, now + _RECHECK_S)
    return params


def save_params(device: Device, params: GemmParams | dict, *, extra: dict | None = None) -> Path:
    """Write ``params`` as the override for ``device``; :func:`load_params` then returns them.

    Only the fields that differ from the table entry are stored, so table updates still apply.
    """
    if isinstance(params, dict):
        params = _from_dict(base_params(device), params)
    base = base_params(device).as_dict()
    changed = {k: v for k, v in params.as_dict().items() if base[k] != v}
    path = cache_path(device)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"device": device.caps.name, "params": changed, **(extra or {})}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True))
    tmp.replace(path)
    device.state.pop("gemm_params", None)
    return path


def clear_cache(device: Device) -> None:
    """Remove the tuned override of ``device`` (back to the table)."""
    path = cache_path(device)
    path.unlink(missing_ok=True)
    device.state.pop("gemm_params", None)
