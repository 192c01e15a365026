"""float32 GEMM: axoncl against numpy (OpenBLAS), reikna, CLBlast (pyclblast) and PyTorch; and
axoncl's 16-bit storage GEMM (``axoncl-fp16``, ``axoncl-bf16``: A, B and C in float16 or
bfloat16, loaded into float32 arithmetic, C rounded once) beside them.

Run from a checkout: ``python benchmarks/gemm.py [--quick] [--device opencl:cpu]``.

Convention: a shape ``M x K x N`` is ``C (M x N) = A (M x K) @ B (K x N)``, all row-major and
contiguous, 2*M*N*K flops. The square sizes are n = 256..2048; the two conv-shaped products are
im2col forward GEMMs with one row per output pixel: 4096 x 256 x 256 (a 64x64 map, 256 input
values per patch, 256 output channels) and 12544 x 288 x 64 (a 112x112 map, 3x3x32 patches,
64 output channels).

Method (``_isolation.py``): every library computes the same product on the same data, each in
its own worker process (reikna and CLBlast on their own context of the same OpenCL device as
axoncl). Each call ends with the device finished (``queue.finish()``, or
``torch.cuda.synchronize()``; numpy is synchronous), so every time is a whole call. Paired
rounds (``--rounds``, default 7) ask every library for one sample in a rotating order, each
after a pause until all workers' threads are idle. A sample runs untimed for 80 ms (at least one
call), then times calls for its share of ``--budget`` (at least one) and reports their median;
calls slower than 0.5 s skip the untimed part. Tables give the median over rounds; ratios are
medians of the per-round ratios. ``other load`` is the share of the machine's CPU time used by
processes outside the benchmark during the rounds: above a few percent the results are not
trustworthy on 2 cores. PyTorch runs with ``torch.set_num_threads(2)`` on the CPU, or on
``--torch-device cuda``.

OpenBLAS reads ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` when numpy is imported, and a
forced core type can slow it down; the script re-executes itself without both before importing
numpy (its workers inherit that environment), and reports the OpenBLAS kernel in use.

Writes ``benchmarks/results/gemm.json`` and ``benchmarks/results/gemm.png`` (or into ``--out``).
"""

from __future__ import annotations

import os
import sys

_FORCED = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
if any(name in os.environ for name in _FORCED) and "numpy" not in sys.modules:
    removed = {name: os.environ.pop(name) for name in _FORCED if name in os.environ}
    os.environ["AXONCL_BENCH_UNSET"] = ",".join(f"{k}={v}" for k, v in removed.items())
    os.execv(sys.executable, [sys.executable, *sys.argv])

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import _isolation as iso  # noqa: E402

SHAPES = [
    (256, 256, 256),
    (512, 512, 512),
    (1024, 1024, 1024),
    (2048, 2048, 2048),
    (4096, 256, 256),
    (12544, 288, 64),
]  # (M, K, N)
LIBS = ["axoncl", "numpy", "reikna", "clblast", "torch", "axoncl-fp16", "axoncl-bf16"]
SETTLE_S = 0.08  # untimed running before each sample
SLOW_S = 0.5  # calls slower than this skip the untimed part and time one call per sample


# ---------------------------------------------------------------- one library per worker


def _blas_info() -> list[dict]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return [{"note": "threadpoolctl not installed"}]
    keep = ("internal_api", "version", "architecture", "num_threads", "threading_layer")
    return [
        {k: info.get(k) for k in keep}
        for info in threadpool_info()
        if info.get("user_api") == "blas"
    ]


def _opencl(options: dict, dtype=np.float32):
    """(device, a, b on the device, an empty c, host reader of c) for the OpenCL libraries."""
    import pyopencl.array as cla

    from axoncl.backends.opencl.device import get_device

    device = get_device(options["device"])

    def arrays(a: np.ndarray, b: np.ndarray):
        a_dev = cla.to_device(device.queue, a.astype(dtype))
        b_dev = cla.to_device(device.queue, b.astype(dtype))
        c_dev = cla.empty(device.queue, (a.shape[0], b.shape[1]), dtype)
        return a_dev, b_dev, c_dev, lambda: c_dev.get().astype(np.float32)

    return device, arrays


def _make_axoncl(a, b, options, dtype=np.float32):
    import pyopencl as cl

    from axoncl.backends.opencl.gemm import MatrixOperand, choose_path, gemm
    from axoncl.backends.opencl.gemm_params import load_params

    device, arrays = _opencl(options, dtype)
    a_dev, b_dev, c_dev, read = arrays(a, b)
    (m, k), n = a.shape, b.shape[1]
    a_op, b_op, c_op = (MatrixOperand(x.data) for x in (a_dev, b_dev, c_dev))
    call = lambda: gemm(device, a_op, b_op, c_op, m=m, n=n, k=k, dtype=np.dtype(dtype))
    info = {
        "device": device.caps.name,
        "platform": device.caps.platform,
        "pyopencl": cl.VERSION_TEXT,
        "axoncl_params": load_params(device).as_dict(),
        "path": choose_path(device, m, n, k),
    }
    return call, device.queue.finish, read, info


def _make_numpy(a, b, options):
    out = np.empty((a.shape[0], b.shape[1]), np.float32)
    call = lambda: np.matmul(a, b, out=out)
    return call, lambda: None, lambda: out, {"blas": _blas_info()}


def _make_reikna(a, b, options):
    from reikna.cluda import ocl_api
    from reikna.linalg import MatrixMul

    device, arrays = _opencl(options)
    a_dev, b_dev, c_dev, read = arrays(a, b)
    comp = MatrixMul(a_dev, b_dev, out_arr=c_dev).compile(ocl_api().Thread(device.queue))
    return lambda: comp(c_dev, a_dev, b_dev), device.queue.finish, read, {}


def _make_clblast(a, b, options):
    try:
        import pyclblast
    except ImportError as exc:
        raise ImportError(f"{exc}; install libclblast-dev and `pip install pyclblast`") from exc
    device, arrays = _opencl(options)
    a_dev, b_dev, c_dev, read = arrays(a, b)
    (m, k), n = a.shape, b.shape[1]
    call = lambda: pyclblast.gemm(
        device.queue, m, n, k, a_dev, b_dev, c_dev, a_ld=k, b_ld=n, c_ld=n
    )
    return call, device.queue.finish, read, {}


def _make_torch(a, b, options):
    import torch

    torch.set_num_threads(options["torch_threads"])
    where = options["torch_device"]
    a_t, b_t = torch.from_numpy(a).to(where), torch.from_numpy(b).to(where)
    c_t = torch.empty((a.shape[0], b.shape[1]), dtype=torch.float32, device=where)
    sync = torch.cuda.synchronize if where.startswith("cuda") else lambda: None
    call = lambda: torch.matmul(a_t, b_t, out=c_t)
    info = {"torch": torch.__version__, "torch_device": where}
    return call, sync, lambda: c_t.cpu().numpy(), info


def _make_axoncl_low(name: str):
    def make(a, b, options):
        import ml_dtypes

        dtype = np.float16 if name == "float16" else ml_dtypes.bfloat16
        return _make_axoncl(a, b, options, dtype)

    return make


_MAKERS = {
    "axoncl": _make_axoncl,
    "axoncl-fp16": _make_axoncl_low("float16"),
    "axoncl-bf16": _make_axoncl_low("bfloat16"),
    "numpy": _make_numpy,
    "reikna": _make_reikna,
    "clblast": _make_clblast,
    "torch": _make_torch,
}


def _time(fn, sync) -> float:
    t0 = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t0


def worker_main(lib: str) -> int:
    """The worker process of one library: a product per ``setup``, then samples."""
    state = {}

    def setup(m: int, k: int, n: int, options: dict) -> dict:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        call, sync, read, info = _MAKERS[lib](a, b, options)
        first = _time(call, sync)  # compiles, allocates
        second = _time(call, sync)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        err = float(np.abs(read() - ref).max() / np.abs(ref).max())
        state.update(call=call, sync=sync, slow=second > SLOW_S)
        return {"first_s": first, "warm_s": second, "rel_err": err, **info}

    def sample(budget_s: float) -> dict:
        call, sync = state["call"], state["sync"]
        if not state["slow"]:
            iso.settle(lambda: _time(call, sync), SETTLE_S)
        times = [_time(call, sync)]
        end = time.perf_counter() + budget_s
        while time.perf_counter() < end:
            times.append(_time(call, sync))
        return {"median_s": statistics.median(times), "min_s": min(times), "calls": len(times)}

    return iso.serve({"setup": setup, "sample": sample})


# ---------------------------------------------------------------- the parent: rounds and reports


def measure(workers: dict[str, iso.Worker], shape, rounds: int, budget_s: float, options) -> dict:
    m, k, n = shape
    active, setups = {}, {}
    for name, worker in workers.items():
        try:
            setups[name] = worker.call("setup", m=m, k=k, n=n, options=options)
            active[name] = worker
        except iso.WorkerError as exc:
            print(f"  [skip] {str(exc).splitlines()[-1]}", flush=True)
            continue
        s = setups[name]
        print(
            f"  {m}x{k}x{n} {name}: warm-up {s['first_s']:.3f}s, {s['warm_s'] * 1e3:.2f} ms, "
            f"rel. err {s['rel_err']:.1e}",
            flush=True,
        )
    share = budget_s / rounds
    samples, loads = iso.paired_rounds(
        active, rounds, lambda name, worker: worker.call("sample", budget_s=share)
    )
    flops = 2.0 * m * n * k
    row = {
        "shape": [m, k, n],
        "flops": flops,
        "rounds": rounds,
        "other_load": statistics.median(loads),
        "other_load_per_round": loads,
        "axoncl_path": setups.get("axoncl", {}).get("path"),
        "libs": {},
    }
    medians = {name: [s["median_s"] for s in got] for name, got in samples.items()}
    for name, got in samples.items():
        med = statistics.median(medians[name])
        row["libs"][name] = {
            "median_s": med,
            "gflops": flops / med / 1e9,
            "min_s": min(s["min_s"] for s in got),
            "samples_s": medians[name],
            "calls": sum(s["calls"] for s in got),
            "rel_err": setups[name]["rel_err"],
        }
        if "numpy" in medians:
            row["libs"][name]["speed_vs_numpy"] = iso.paired_ratio(medians["numpy"], medians[name])
    if "axoncl" in medians:
        row["axoncl_vs"] = {
            name: iso.paired_ratio(t, medians["axoncl"])
            for name, t in medians.items()
            if name != "axoncl"
        }
    return row, setups


def run(workers, shapes, *, rounds: int, budget_s: float, options, wait_quiet_s=0.0, retries=2):
    rows, setups = [], {}
    for shape in shapes:
        # On a shared machine, repeat a shape whose timed rounds overlapped other work.
        attempts = []
        for _ in range(1 + (retries if wait_quiet_s > 0 else 0)):
            if wait_quiet_s > 0:
                other = iso.wait_quiet(wait_quiet_s)
                print(f"  other processes use {other:.0%} of the CPUs at the start", flush=True)
            row, setups = measure(workers, shape, rounds, budget_s, options)
            attempts.append(row)
            print(_format_row(attempts[-1]), flush=True)
            if attempts[-1]["other_load"] < 0.05:
                break
        rows.append(min(attempts, key=lambda row: row["other_load"]))
    return {"rows": rows, "libraries": setups}


def _format_row(row) -> str:
    m, k, n = row["shape"]
    parts = [f"{m}x{k}x{n}".ljust(15)]
    for name in LIBS:
        e = row["libs"].get(name)
        if e:
            parts.append(f"{name} {e['gflops']:7.1f} ({e['median_s'] * 1e3:.2f} ms)")
        else:
            parts.append(f"{name}     n/a")
    if "speed_vs_numpy" in row["libs"].get("axoncl", {}):
        parts.append(f"axoncl/numpy {row['libs']['axoncl']['speed_vs_numpy']:.2f}")
    parts.append(f"(other load {row['other_load']:.0%})")
    for name in ("clblast", "reikna"):
        if name in row.get("axoncl_vs", {}):
            parts.append(f"vs {name} {row['axoncl_vs'][name]:.1f}x")
    return "  ".join(parts)


def _markdown(result) -> str:
    head = "| M x K x N | " + " | ".join(f"{name} GFLOP/s (ms)" for name in LIBS)
    head += " | axoncl / numpy | axoncl / CLBlast | axoncl / reikna | axoncl / torch | other load |"
    lines = [head, "|" + " --- |" * (len(LIBS) + 6)]
    for row in result["rows"]:
        libs = row["libs"]
        vs = row.get("axoncl_vs", {})
        cells = [
            f"{libs[name]['gflops']:.1f} ({libs[name]['median_s'] * 1e3:.2f})"
            if name in libs
            else "n/a"
            for name in LIBS
        ]
        speed = libs.get("axoncl", {}).get("speed_vs_numpy")
        cells.append(f"{speed:.2f}" if speed else "n/a")
        cells += [f"{vs[name]:.1f}x" if name in vs else "n/a" for name in ("clblast", "reikna")]
        cells.append(f"{vs['torch']:.2f}x" if "torch" in vs else "n/a")
        cells.append(f"{row['other_load']:.0%}")
        lines.append(f"| {'x'.join(map(str, row['shape']))} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _plot(result, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    labels = ["x".join(map(str, r["shape"])) for r in rows]
    fig, ax = plt.subplots(figsize=(10, 4.8))
    width = 0.8 / len(LIBS)
    for i, name in enumerate(LIBS):
        vals = [r["libs"][name]["gflops"] if name in r["libs"] else 0.0 for r in rows]
        offset = (i - (len(LIBS) - 1) / 2) * width
        ax.bar([x + offset for x in range(len(rows))], vals, width, label=name)
    ax.set_xticks(range(len(rows)), labels)
    ax.set_yscale("log")
    ax.set_ylabel("GFLOP/s (float32, median)")
    ax.set_xlabel("M x K x N")
    ax.set_title(f"GEMM on {result['machine']['device']} ({result['machine']['cpu_count']} cores)")
    ax.set_ylim(top=ax.get_ylim()[1] * 4)  # headroom for the legend
    ax.legend(ncol=len(LIBS), loc="upper center")
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _parse_shapes(text: str | None) -> list[tuple[int, int, int]]:
    if not text:
        return SHAPES
    shapes = []
    for item in text.split(","):
        dims = [int(x) for x in item.lower().split("x")]
        shapes.append(tuple(dims * 3 if len(dims) == 1 else dims))
    return shapes


def _machine(result: dict) -> dict:
    libs = result["libraries"]
    machine = {
        "device": libs.get("axoncl", {}).get("device", "n/a"),
        "platform": libs.get("axoncl", {}).get("platform"),
        "pyopencl": libs.get("axoncl", {}).get("pyopencl"),
        "axoncl_params": libs.get("axoncl", {}).get("axoncl_params"),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": libs.get("numpy", {}).get("blas"),
        "unset_for_numpy": os.environ.get("AXONCL_BENCH_UNSET", "") or "(none were set)",
        "torch": libs.get("torch", {}).get("torch"),
    }
    try:
        machine["cpu_model"] = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    return machine


def _merge(old: dict, result: dict) -> list[dict]:
    """Rows of ``old`` with ``result``'s shapes replaced where the new one was measured quieter."""
    new_rows = {tuple(r["shape"]): r for r in result["rows"]}
    rows = []
    for r in old.get("rows", []):
        fresh = new_rows.pop(tuple(r["shape"]), None)
        rows.append(r if fresh is None or r["other_load"] < fresh["other_load"] else fresh)
    return rows + list(new_rows.values())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--worker"]:
        return worker_main(argv[1])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="e.g. opencl:cpu (default: AXONCL_DEVICE)")
    parser.add_argument("--quick", action="store_true", help="3 rounds, 0.3 s (smoke run)")
    parser.add_argument("--rounds", type=int, default=7, help="paired rounds (default 7)")
    parser.add_argument(
        "--budget",
        type=float,
        default=2.0,
        help="seconds of timed calls per library and shape, over all rounds (default 2)",
    )
    parser.add_argument(
        "--wait-quiet",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="before each shape, wait up to SECONDS for other processes to "
        "leave the CPUs idle (shared machines)",
    )
    parser.add_argument(
        "--shapes",
        default=None,
        help="comma-separated subset, e.g. 1024,4096x256x256 (MxKxN); with an existing "
        "gemm.json a new row replaces the old one of its shape if it was measured quieter",
    )
    parser.add_argument("--libs", default=",".join(LIBS), help="libraries to run")
    parser.add_argument("--torch-device", default="cpu", help="cpu or cuda[:N]")
    parser.add_argument("--torch-threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args(argv)

    rounds, budget = (3, 0.3) if args.quick else (args.rounds, args.budget)
    options = {
        "device": args.device,
        "torch_device": args.torch_device,
        "torch_threads": args.torch_threads,
    }
    names = iso.pick(parser, "--libs", args.libs, LIBS)
    workers = {name: iso.Worker(name, __file__) for name in names}
    try:
        result = run(
            workers,
            _parse_shapes(args.shapes),
            rounds=rounds,
            budget_s=budget,
            options=options,
            wait_quiet_s=args.wait_quiet,
        )
    finally:
        for worker in workers.values():
            worker.close()
    result["machine"] = _machine(result)
    result["options"] = options
    result["method"] = (
        "one worker process per library, paired rounds in rotating order, each sample after "
        "an idle pause (see benchmarks/_isolation.py); medians over rounds"
    )
    result["convention"] = "M x K x N: C (M x N) = A (M x K) @ B (K x N), row-major, float32"
    result["date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.shapes and (out / "gemm.json").is_file():
        result["rows"] = _merge(json.loads((out / "gemm.json").read_text()), result)
    (out / "gemm.json").write_text(json.dumps(result, indent=2))
    _plot(result, out / "gemm.png")
    print()
    print(_markdown(result))
    print(f"\nwrote {out / 'gemm.json'} and {out / 'gemm.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
