"""The ``axoncl`` command: ``info``, ``demo``, ``bench`` and ``inspect``.

Examples
--------
$ axoncl info                 # OpenCL platforms, devices, capabilities; backends; the default
$ axoncl demo --epochs 5      # train the digits CNN (see ``axoncl.demo``)
$ axoncl bench --tune         # tune GEMM for the default device, then run the benchmarks
$ axoncl inspect --help       # the graph inspector's own command line
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path
from typing import TextIO

__all__ = ["device_table", "info", "main"]

_BENCHMARKS = ("train_step", "gemm", "elementwise", "dispatch", "autograd_overhead")


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def device_table(rows: list[dict[str, str]]) -> str:
    """A plain-text table (column widths fitted to the cells) of ``rows``."""
    if not rows:
        return ""
    keys = list(rows[0])
    widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
    lines = [
        "  ".join(k.ljust(widths[k]) for k in keys).rstrip(),
        "  ".join("-" * widths[k] for k in keys),
    ]
    lines += ["  ".join(r[k].ljust(widths[k]) for k in keys).rstrip() for r in rows]
    return "\n".join(lines)


def info(stream: TextIO | None = None) -> int:
    """Print OpenCL platforms and devices, the backends that import, and the default device."""
    from .backends import available_backends

    out = sys.stdout if stream is None else stream
    print(f"backends available: {', '.join(available_backends())}", file=out)
    env = os.environ.get("AXONCL_DEVICE", "")
    print(f"AXONCL_DEVICE: {env or '(not set)'}", file=out)
    try:
        from .backends.opencl import device as cl_device
    except ImportError as exc:
        print(
            f"\nOpenCL: pyopencl is not importable ({exc}); pip install 'axoncl[opencl]', then "
            "install an OpenCL runtime (on Debian/Ubuntu: apt-get install pocl-opencl-icd)",
            file=out,
        )
        return 0
    try:
        devices = cl_device.list_devices()
    except cl_device.NoOpenCLError as exc:
        print(f"\nOpenCL: no device. {exc}", file=out)
        return 0
    try:
        default = cl_device.default_device().id
    except (cl_device.NoOpenCLError, ValueError) as exc:
        default = f"none ({exc})"

    rows = []
    platforms: dict[str, str] = {}
    for ident, dev in devices:
        platforms.setdefault(
            ident.split(":")[1], f"{dev.platform.name.strip()} ({dev.platform.version.strip()})"
        )
        caps = cl_device.get_device(ident).caps
        local = _size(caps.local_mem_size) + (" (emulated)" if caps.local_mem_is_global else "")
        rows.append(
            {
                "id": ident + (" *" if ident == default else ""),
                "name": caps.name,
                "type": caps.kind,
                "fp64": "yes" if caps.fp64 else "no",
                "CUs": str(caps.compute_units),
                "global mem": _size(caps.global_mem_size),
                "local mem": local,
                "max WG": str(caps.max_work_group_size),
                "WG multiple": str(caps.work_group_multiple),
                "vec f32/f64": f"{caps.preferred_vector_width_float}/"
                f"{caps.preferred_vector_width_double}",
                "OpenCL C": caps.opencl_c_version.replace("OpenCL C ", ""),
            }
        )
    print("\nOpenCL platforms:", file=out)
    for index, text in platforms.items():
        print(f"  {index}: {text}", file=out)
    print("\nOpenCL devices (* = default):", file=out)
    print(device_table(rows), file=out)
    print(
        f"\ndefault device: {default} (AXONCL_DEVICE, else a GPU, else the first CPU device)",
        file=out,
    )
    return 0


def _benchmarks_dir() -> Path | None:
    """``benchmarks/`` of a source checkout (the wheel does not ship the benchmark scripts)."""
    here = Path(__file__).resolve().parent.parent / "benchmarks"
    return here if here.is_dir() else None


def bench(names: list[str], tune: bool, quick: bool, device: str | None) -> int:
    """``--tune``: tune GEMM for the device; then run the named benchmark scripts."""
    if tune:
        from .backends.opencl import device as cl_device

        try:
            from .backends.opencl.gemm_tuner import tune as tune_gemm
        except ImportError:
            print(
                "bench --tune: this build has no GEMM tuner (axoncl.backends.opencl."
                "gemm_tuner.tune)",
                file=sys.stderr,
            )
            return 1
        dev = cl_device.get_device(device) if device else cl_device.default_device()
        print(f"tuning GEMM on {dev.id} ({dev.caps.name}) ...")
        result = tune_gemm(dev, verbose=True)
        print(f"best: {result.get('params')}  saved to {result.get('path')}")
        if not names:
            return 0
    folder = _benchmarks_dir()
    if folder is None:
        print(
            "bench: the benchmark scripts live in the source checkout's benchmarks/ folder, "
            "which this installation lacks; run from a checkout",
            file=sys.stderr,
        )
        return 1
    status = 0
    for name in names or ["train_step"]:
        script = folder / f"{name}.py"
        if not script.exists():
            known = sorted(p.stem for p in folder.glob("*.py") if not p.stem.startswith("_"))
            print(f"bench: no benchmark {name!r}; available: {', '.join(known)}", file=sys.stderr)
            return 2
        cmd = [sys.executable, str(script)] + (["--quick"] if quick else [])
        if device:
            cmd += ["--device", device]
        print(f"$ {' '.join(cmd)}", flush=True)
        status = status or subprocess.call(cmd)
    return status


def _parser() -> argparse.ArgumentParser:
    from . import __version__, demo

    parser = argparse.ArgumentParser(
        prog="axoncl", description="axoncl: autodiff over the array API, with OpenCL"
    )
    parser.add_argument("--version", action="version", version=f"axoncl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{info,demo,bench,inspect}")
    sub.add_parser("info", help="OpenCL platforms, devices and capabilities; backends")
    demo_parser = sub.add_parser(
        "demo",
        help="train a small CNN on scikit-learn's digits (or a character-level transformer)",
        description=demo.__doc__.split("\n")[0],
    )
    demo.add_arguments(demo_parser)
    bench_parser = sub.add_parser("bench", help="run benchmarks (from a checkout) / tune GEMM")
    bench_parser.add_argument(
        "names",
        nargs="*",
        help=f"benchmarks to run (default train_step; e.g. {', '.join(_BENCHMARKS)})",
    )
    bench_parser.add_argument(
        "--tune", action="store_true", help="tune GEMM parameters for the device first"
    )
    bench_parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats")
    bench_parser.add_argument("--device", default=None, help="an OpenCL device spec")
    sub.add_parser("inspect", help="the graph inspector (axoncl inspect --help)", add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``axoncl`` script and ``python -m axoncl``."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "inspect":
        from .inspect import cli_main

        return cli_main(argv[1:])
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "info":
            return info()
        if args.command == "demo":
            from . import demo

            return demo.run_from_args(args)
        if args.command == "bench":
            return bench(args.names, args.tune, args.quick, args.device)
    except _user_errors() as exc:
        # A user's mistake or a missing runtime: one line, no traceback.
        hint = ""
        if type(exc).__name__ == "NoOpenCLError" and args.command == "demo":
            hint = "; or run on the host with --device numpy"
        text = str(exc).removeprefix(f"{args.command}: ")
        print(f"axoncl {args.command}: error: {text}{hint}", file=sys.stderr)
        return 2
    parser.print_help()
    return 0


def _user_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean a wrong flag, device or environment, not a bug in axoncl."""
    from .backends import DeviceSpecError
    from .demo import MissingExtraError, PrecisionError

    errors: tuple[type[BaseException], ...] = (
        DeviceSpecError,
        MissingExtraError,
        PrecisionError,
    )
    try:
        from .backends.opencl.device import NoOpenCLError
    except ImportError:
        return errors
    return (*errors, NoOpenCLError)


if __name__ == "__main__":
    sys.exit(main())
