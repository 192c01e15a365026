"""float32 GEMM: axoncl against numpy (OpenBLAS), reikna's MatrixMul and CLBlast (pyclblast).

Run from a checkout: ``python benchmarks/gemm.py [--quick] [--device opencl:cpu]``.

Convention: a shape ``M x K x N`` is ``C (M x N) = A (M x K) @ B (K x N)``, all row-major and
contiguous, 2*M*N*K flops. The square sizes are n = 256..2048; the two conv-shaped products are
im2col forward GEMMs with one row per output pixel: 4096 x 256 x 256 (a 64x64 map, 256 input
values per patch, 256 output channels) and 12544 x 288 x 64 (a 112x112 map, 3x3x32 patches,
64 output channels).

Method: every library computes the same product on the same data; the GPU-style libraries use
the same OpenCL device (PoCL here) and queue, and each call ends with ``queue.finish()`` (numpy
is synchronous), so every time is a whole call. Runs are interleaved (axoncl, numpy, reikna,
CLBlast, axoncl, ...) after a warm-up call each, and the median is reported; slow libraries get
fewer repeats within a time budget. Before each timed call a library runs untimed for 80 ms
(at least one call) unless it is slow (see ``run``). Ratios are against numpy in the same run.
``other load`` is the share of the machine's CPU time used by other processes during the timed
rounds: results taken while it is more than a few percent are not trustworthy on 2 cores.

OpenBLAS reads ``OPENBLAS_CORETYPE`` and ``OPENBLAS_L2_SIZE`` when numpy is imported, and a
forced core type can slow it down; the script re-executes itself without both before importing
numpy, and reports the OpenBLAS kernel in use (threadpoolctl).

Writes ``benchmarks/results/gemm.json`` and ``benchmarks/results/gemm.png``.
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

import pyopencl as cl  # noqa: E402
import pyopencl.array as cla  # noqa: E402

from axoncl.backends.opencl.device import get_device  # noqa: E402
from axoncl.backends.opencl.gemm import MatrixOperand, choose_path, gemm  # noqa: E402
from axoncl.backends.opencl.gemm_params import load_params  # noqa: E402

SHAPES = [
    (256, 256, 256),
    (512, 512, 512),
    (1024, 1024, 1024),
    (2048, 2048, 2048),
    (4096, 256, 256),
    (12544, 288, 64),
]  # (M, K, N)
LIBS = ["axoncl", "numpy", "reikna", "clblast"]
SETTLE_S = 0.08  # untimed running before each timed call (see run)


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


def _make_reikna(device):
    try:
        from reikna.cluda import ocl_api
        from reikna.linalg import MatrixMul
    except ImportError as exc:
        return None, f"reikna not importable: {exc}"
    thread = ocl_api().Thread(device.queue)

    def setup(a_dev, b_dev, c_dev):
        comp = MatrixMul(a_dev, b_dev, out_arr=c_dev).compile(thread)
        return lambda: comp(c_dev, a_dev, b_dev)

    return setup, None


def _make_clblast(device):
    try:
        import pyclblast
    except ImportError as exc:
        return None, (
            f"pyclblast not importable ({exc}); install libclblast-dev and `pip install pyclblast`"
        )

    def setup(a_dev, b_dev, c_dev):
        m, k = a_dev.shape
        n = b_dev.shape[1]
        return lambda: pyclblast.gemm(
            device.queue, m, n, k, a_dev, b_dev, c_dev, a_ld=k, b_ld=n, c_ld=n
        )

    return setup, None


def _busy_seconds() -> tuple[float, float]:
    """(CPU seconds used by the whole machine, by this process) so far."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        ticks = os.sysconf("SC_CLK_TCK")
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
        machine = (user + nice + system + irq + softirq + steal) / ticks
    except (OSError, ValueError):
        machine = float("nan")
    t = os.times()
    return machine, t.user + t.system


def _wait_quiet(max_wait_s: float, threshold: float = 0.1) -> float:
    """Wait (up to ``max_wait_s``) until other processes use < ``threshold`` of the CPUs."""
    deadline = time.perf_counter() + max_wait_s
    while True:
        m0, o0 = _busy_seconds()
        time.sleep(1.0)
        m1, o1 = _busy_seconds()
        other = max(0.0, (m1 - m0) - (o1 - o0)) / (os.cpu_count() or 1)
        if other < threshold or time.perf_counter() > deadline:
            return other


def _time(fn, sync) -> float:
    t0 = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - t0


def run(
    device,
    shapes,
    *,
    budget_s: float,
    max_reps: int,
    min_reps: int,
    wait_quiet_s: float = 0.0,
    retries: int = 2,
) -> dict:
    queue = device.queue
    makers = {"reikna": _make_reikna(device), "clblast": _make_clblast(device)}
    skipped = {name: why for name, (setup, why) in makers.items() if setup is None}
    for name, why in skipped.items():
        print(f"[skip] {name}: {why}", flush=True)

    def measure(m: int, k: int, n: int) -> dict:
        rng = np.random.default_rng(0)
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        ref = a.astype(np.float64) @ b.astype(np.float64)
        a_dev, b_dev = cla.to_device(queue, a), cla.to_device(queue, b)
        outs = {}
        calls = {}
        c_ax = cla.empty(queue, (m, n), np.float32)
        calls["axoncl"] = (
            lambda c=c_ax: gemm(
                device,
                MatrixOperand(a_dev.data),
                MatrixOperand(b_dev.data),
                MatrixOperand(c.data),
                m=m,
                n=n,
                k=k,
            ),
            queue.finish,
        )
        outs["axoncl"] = c_ax
        calls["numpy"] = (lambda: np.matmul(a, b), lambda: None)
        for name, (setup, _) in makers.items():
            if setup is not None:
                c_dev = cla.empty(queue, (m, n), np.float32)
                calls[name] = (setup(a_dev, b_dev, c_dev), queue.finish)
                outs[name] = c_dev
        # Warm up (compiles), check each result, and size each library's repeats.
        reps, errors, warm = {}, {}, {}
        for name, (fn, sync) in calls.items():
            first = _time(fn, sync)
            second = warm[name] = _time(fn, sync)
            got = outs[name].get() if name in outs else np.matmul(a, b)
            errors[name] = float(np.abs(got - ref).max() / np.abs(ref).max())
            reps[name] = int(min(max_reps, max(min_reps, budget_s / max(second, 1e-6))))
            print(
                f"  {m}x{k}x{n} {name}: warm-up {first:.3f}s, {second * 1e3:.2f} ms, "
                f"{reps[name]} repeats, rel. err {errors[name]:.1e}",
                flush=True,
            )
        # Interleaved rounds. Before each timed call a library runs untimed for SETTLE_S (at
        # least one call) unless it is slow (> 0.5 s): after numpy returns, OpenBLAS's worker
        # keeps spinning for ~50 ms and takes one of the two cores from whatever runs next, and
        # threads that slept wake late. That cost belongs to neither library's GEMM.
        times = {name: [] for name in calls}
        wall0, (machine0, own0) = time.perf_counter(), _busy_seconds()
        for r in range(max(reps.values())):
            for name, (fn, sync) in calls.items():
                if r < reps[name]:
                    if statistics.median(times[name] or [warm[name]]) < 0.5:
                        settle_end = time.perf_counter() + SETTLE_S
                        while True:
                            _time(fn, sync)
                            if time.perf_counter() >= settle_end:
                                break
                    times[name].append(_time(fn, sync))
        wall = time.perf_counter() - wall0
        machine1, own1 = _busy_seconds()
        other = max(0.0, (machine1 - machine0) - (own1 - own0)) / (wall * (os.cpu_count() or 1))
        flops = 2.0 * m * n * k
        row = {
            "shape": [m, k, n],
            "flops": flops,
            "other_load": other,
            "axoncl_path": choose_path(device, m, n, k),
            "libs": {},
        }
        for name, ts in times.items():
            med = statistics.median(ts)
            row["libs"][name] = {
                "median_s": med,
                "gflops": flops / med / 1e9,
                "repeats": len(ts),
                "min_s": min(ts),
                "rel_err": errors[name],
            }
        np_med = row["libs"]["numpy"]["median_s"]
        for name, entry in row["libs"].items():
            entry["speed_vs_numpy"] = np_med / entry["median_s"]
        ax = row["libs"]["axoncl"]["median_s"]
        row["axoncl_vs"] = {
            name: e["median_s"] / ax for name, e in row["libs"].items() if name != "axoncl"
        }
        return row

    rows = []
    for m, k, n in shapes:
        # On a shared machine, repeat a shape whose timed rounds overlapped other work.
        attempts = []
        for _ in range(1 + (retries if wait_quiet_s > 0 else 0)):
            if wait_quiet_s > 0:
                other = _wait_quiet(wait_quiet_s)
                print(f"  other processes use {other:.0%} of the CPUs at the start", flush=True)
            attempts.append(measure(m, k, n))
            print(_format_row(attempts[-1]), flush=True)
            if attempts[-1]["other_load"] < 0.05:
                break
        rows.append(min(attempts, key=lambda row: row["other_load"]))
    return {"rows": rows, "skipped": skipped}


def _format_row(row) -> str:
    m, k, n = row["shape"]
    parts = [f"{m}x{k}x{n}".ljust(15)]
    for name in LIBS:
        e = row["libs"].get(name)
        parts.append(f"{name} {e['gflops']:7.1f}" if e else f"{name}     n/a")
    parts.append(f"axoncl/numpy {row['libs']['axoncl']['speed_vs_numpy']:.2f}")
    parts.append(f"(other load {row['other_load']:.0%})")
    for name in ("clblast", "reikna"):
        if name in row["axoncl_vs"]:
            parts.append(f"vs {name} {row['axoncl_vs'][name]:.1f}x")
    return "  ".join(parts)


def _markdown(result) -> str:
    head = (
        "| M x K x N | axoncl GFLOP/s | numpy GFLOP/s | reikna GFLOP/s | CLBlast GFLOP/s "
        "| axoncl / numpy | axoncl / CLBlast | axoncl / reikna |\n|" + " --- |" * 8
    )
    lines = [head]
    for row in result["rows"]:
        libs = row["libs"]
        cell = lambda name: f"{libs[name]['gflops']:.1f}" if name in libs else "n/a"  # noqa: E731
        ratio = lambda name: (
            f"{row['axoncl_vs'][name]:.1f}x"
            if name in row["axoncl_vs"]  # noqa: E731
            else "n/a"
        )
        lines.append(
            f"| {'x'.join(map(str, row['shape']))} | {cell('axoncl')} | {cell('numpy')} "
            f"| {cell('reikna')} | {cell('clblast')} "
            f"| {libs['axoncl']['speed_vs_numpy']:.2f} | {ratio('clblast')} "
            f"| {ratio('reikna')} |"
        )
    return "\n".join(lines)


def _plot(result, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = result["rows"]
    labels = ["x".join(map(str, r["shape"])) for r in rows]
    fig, ax = plt.subplots(figsize=(10, 4.8))
    width = 0.2
    for i, name in enumerate(LIBS):
        vals = [r["libs"][name]["gflops"] if name in r["libs"] else 0.0 for r in rows]
        ax.bar([x + (i - 1.5) * width for x in range(len(rows))], vals, width, label=name)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default=None, help="e.g. opencl:cpu (default: AXONCL_DEVICE)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats (smoke run)")
    parser.add_argument(
        "--budget",
        type=float,
        default=2.0,
        help="seconds of timed calls per library and shape (default 2)",
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
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results"))
    args = parser.parse_args(argv)

    device = get_device(args.device)
    budget, max_reps, min_reps = (0.3, 5, 2) if args.quick else (args.budget, 40, 5)
    unset = os.environ.get("AXONCL_BENCH_UNSET", "")
    machine = {
        "device": device.caps.name,
        "platform": device.caps.platform,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pyopencl": cl.VERSION_TEXT,
        "blas": _blas_info(),
        "unset_for_numpy": unset or "(none were set)",
        "axoncl_params": load_params(device).as_dict(),
    }
    try:
        machine["cpu_model"] = next(
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        )
    except (OSError, StopIteration):
        pass
    print(
        f"device: {device.caps.name}; numpy BLAS: {machine['blas']}; "
        f"unset before numpy: {machine['unset_for_numpy']}",
        flush=True,
    )
    shapes = SHAPES
    if args.shapes:
        shapes = []
        for text in args.shapes.split(","):
            dims = [int(x) for x in text.lower().split("x")]
            shapes.append(tuple(dims * 3 if len(dims) == 1 else dims))
    result = run(
        device,
        shapes,
        budget_s=budget,
        max_reps=max_reps,
        min_reps=min_reps,
        wait_quiet_s=args.wait_quiet,
    )
    result["machine"] = machine
    result["convention"] = "M x K x N: C (M x N) = A (M x K) @ B (K x N), row-major, float32"
    result["date"] = time.strftime("%Y-%m-%d %H:%M:%S")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.shapes and (out / "gemm.json").is_file():
        old = json.loads((out / "gemm.json").read_text())
        new_rows = {tuple(r["shape"]): r for r in result["rows"]}
        rows = []
        for r in old.get("rows", []):  # keep the quieter measurement of a shape
            fresh = new_rows.pop(tuple(r["shape"]), None)
            rows.append(r if fresh is None or r["other_load"] < fresh["other_load"] else fresh)
        result["rows"] = rows + list(new_rows.values())
    (out / "gemm.json").write_text(json.dumps(result, indent=2))
    _plot(result, out / "gemm.png")
    print()
    print(_markdown(result))
    print(f"\nwrote {out / 'gemm.json'} and {out / 'gemm.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
