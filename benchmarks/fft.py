"""FFT speed: axoncl's OpenCL ``xp.fft`` (reikna) against numpy's pocketfft and ``scipy.fft``.

    python benchmarks/fft.py                      # the default sizes, complex64
    python benchmarks/fft.py --sizes 4096,1000,256x256 --dtype complex128 --repeats 20

Each size is a batch of 1-D transforms along the last axis (``N``, or ``B x N`` for a batch),
or a 2-D transform (``H x W`` with ``--fftn``). Per library: one untimed call (reikna compiles
its computation for the shape then; the compile time is reported apart), then ``--repeats``
timed calls, each ending with the result ready (the OpenCL queue finished); the median is
reported. The machine's load average is printed before and after: on a shared machine the
figures are only indicative.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np


def _parse(spec: str) -> tuple[int, ...]:
    return tuple(int(n) for n in spec.lower().split("x"))


def _time(call, repeats: int) -> tuple[float, float]:
    """(first call, median of the timed calls), in seconds."""
    t0 = time.perf_counter()
    call()
    first = time.perf_counter() - t0
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    return first, statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1024,65536,1000,64x4096,256x256")
    parser.add_argument("--dtype", default="complex64", choices=["complex64", "complex128"])
    parser.add_argument("--fftn", action="store_true", help="2-D transforms of H x W sizes")
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()

    import scipy.fft

    import axoncl.backends.opencl as xp

    device = xp.default_device()
    print(f"device: {device.caps.name}; dtype {args.dtype}; load average {os.getloadavg()}")
    print(f"{'shape':>12} {'numpy':>10} {'scipy':>10} {'axoncl':>10} {'compile':>9}  (ms)")
    rng = np.random.default_rng(0)
    for spec in args.sizes.split(","):
        shape = _parse(spec)
        host = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(args.dtype)
        x = xp.asarray(host)
        if args.fftn and len(shape) >= 2:
            np_call, sp_call = np.fft.fftn, scipy.fft.fftn

            def cl_call(x=x):
                return xp.fft.fftn(x)
        else:
            np_call, sp_call = np.fft.fft, scipy.fft.fft

            def cl_call(x=x):
                return xp.fft.fft(x)

        _, t_np = _time(lambda h=host, f=np_call: f(h), args.repeats)
        _, t_sp = _time(lambda h=host, f=sp_call: f(h), args.repeats)
        first, t_cl = _time(lambda: (cl_call(), device.queue.finish()), args.repeats)
        got = cl_call().to_numpy()
        want = np_call(host)
        err = float(np.abs(got - want).max() / max(np.abs(want).max(), 1e-30))
        print(
            f"{spec:>12} {t_np * 1e3:10.3f} {t_sp * 1e3:10.3f} {t_cl * 1e3:10.3f} "
            f"{(first - t_cl) * 1e3:9.0f}  rel. err {err:.1e}"
        )
    print(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
