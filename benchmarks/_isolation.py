"""Timing several frameworks on a few cores without one slowing down the next.

Why. OpenBLAS, OpenMP (PyTorch) and PoCL keep their worker threads spinning for tens of
milliseconds after a call returns. On 2 cores, whatever runs next shares the CPUs with those
spinning threads and is slowed 2-3x: run interleaved in one process, PyTorch's MLP step took
7.9 ms right after axoncl-numpy's, against 2.2-3.4 ms on its own.

Method (shared by ``train_step.py`` and ``gemm.py``):

* Each framework runs in its own worker process (the benchmark script started again with
  ``--worker NAME``), so no two frameworks share thread pools, allocators or imported BLAS
  libraries. The parent sends one JSON command per line on the worker's stdin and reads one
  JSON reply per line; the worker's own prints go to stderr.
* Paired rounds: each round asks every worker for one sample, in an order that rotates from
  round to round so no framework always follows the same one.
* Before each sample the parent waits at least ``PAUSE_S`` and then until all workers together
  used less than ``IDLE_SHARE`` of a core over a ``PROBE_S`` window (their thread pools have
  gone to sleep), at most ``MAX_PAUSE_S``.
* Inside a sample the worker first runs untimed for a moment (waking its own threads), then
  times; what one call or step costs in a loop is what the sample reports.
* Reports give medians over the rounds and the median of the paired per-round ratios, beside
  every framework's absolute times. ``other load`` is the share of the machine's CPU time that
  processes outside the benchmark used during the rounds; above a few percent the figures are
  not trustworthy on 2 cores.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import traceback
from argparse import ArgumentParser
from collections.abc import Callable, Iterable
from pathlib import Path

PAUSE_S = 0.3
PROBE_S = 0.05
IDLE_SHARE = 0.05
MAX_PAUSE_S = 2.0


class WorkerError(RuntimeError):
    """A worker answered a command with an exception (its message and traceback)."""


class Worker:
    """One framework in its own process: ``script --worker NAME *args``, driven over stdin."""

    def __init__(
        self, name: str, script: str | Path, args: Iterable[str] = (), env: dict | None = None
    ) -> None:
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, str(script), "--worker", name, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
            env={**os.environ, **(env or {})},
        )

    def call(self, command: str, **kwargs: object) -> dict:
        """Send ``command`` with keyword arguments; return the worker's reply."""
        if self.proc.poll() is not None:
            raise WorkerError(f"{self.name}: worker exited with status {self.proc.returncode}")
        self.proc.stdin.write(json.dumps({"command": command, **kwargs}) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise WorkerError(
                f"{self.name}: worker exited during {command!r} (status {self.proc.wait()})"
            )
        reply = json.loads(line)
        if "error" in reply:
            raise WorkerError(f"{self.name}: {command}: {reply['error']}")
        return reply

    def cpu_seconds(self) -> float:
        """User + system CPU time of the worker, all its threads (Linux; 0.0 elsewhere)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"command": "exit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def serve(handlers: dict[str, Callable[..., dict]]) -> int:
    """The worker's loop: run each command's handler and answer with its dict (or the error)."""
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # prints (and C libraries) go to stderr
    for line in sys.stdin:
        request = json.loads(line)
        command = request.pop("command")
        if command == "exit":
            break
        try:
            reply = handlers[command](**request)
        except Exception as exc:  # reported to the parent, which decides what to skip
            if not isinstance(exc, ImportError):  # a missing library is a skip, not a bug
                traceback.print_exc()
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        protocol.write(json.dumps(reply) + "\n")
    return 0


def machine_cpu_seconds() -> float:
    """CPU seconds the whole machine has used since boot (Linux ``/proc/stat``; nan elsewhere)."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, fields[:8])
    except (OSError, ValueError):
        return float("nan")
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds(workers: Iterable[Worker]) -> float:
    t = os.times()
    return t.user + t.system + sum(w.cpu_seconds() for w in workers)


class LoadMeter:
    """Share of all CPUs that processes other than this one and ``workers`` use from now on."""

    def __init__(self, workers: Iterable[Worker] = ()) -> None:
        self.workers = list(workers)
        self.wall0 = time.perf_counter()
        self.machine0 = machine_cpu_seconds()
        self.own0 = _own_cpu_seconds(self.workers)

    def other_load(self) -> float:
        wall = time.perf_counter() - self.wall0
        machine = machine_cpu_seconds() - self.machine0
        own = _own_cpu_seconds(self.workers) - self.own0
        return max(0.0, machine - own) / (wall * (os.cpu_count() or 1))


def wait_quiet(max_wait_s: float, threshold: float = 0.1) -> float:
    """Wait (up to ``max_wait_s``) until other processes use < ``threshold`` of the CPUs."""
    deadline = time.perf_counter() + max_wait_s
    while True:
        meter = LoadMeter()
        time.sleep(1.0)
        other = meter.other_load()
        if other < threshold or time.perf_counter() > deadline:
            return other


def wait_idle(workers: Iterable[Worker]) -> float:
    """Sleep ``PAUSE_S``, then until the workers' threads are idle; return the pause in s."""
    workers = list(workers)
    start = time.perf_counter()
    time.sleep(PAUSE_S)
    while time.perf_counter() - start < MAX_PAUSE_S:
        before = sum(w.cpu_seconds() for w in workers)
        time.sleep(PROBE_S)
        if sum(w.cpu_seconds() for w in workers) - before < IDLE_SHARE * PROBE_S:
            break
    return time.perf_counter() - start


def paired_rounds(
    workers: dict[str, Worker], rounds: int, sample: Callable[[str, Worker], dict]
) -> tuple[dict[str, list[dict]], list[float]]:
    """``rounds`` rounds of one ``sample(name, worker)`` per worker, each after ``wait_idle``.

    Returns the samples per name (in round order) and each round's other load.
    """
    names = list(workers)
    if not names:
        raise RuntimeError("paired_rounds: no framework could run; see the [skip] lines above")
    samples: dict[str, list[dict]] = {name: [] for name in names}
    loads = []
    for r in range(rounds):
        meter = LoadMeter(workers.values())
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:  # rotate: nobody always follows the same one
            wait_idle(workers.values())
            samples[name].append(sample(name, workers[name]))
        loads.append(meter.other_load())
    return samples, loads


def paired_ratio(numerators: list[float], denominators: list[float]) -> float:
    """Median over rounds of ``numerators[r] / denominators[r]``."""
    return statistics.median(a / b for a, b in zip(numerators, denominators, strict=True))


def settle(fn: Callable[[], object], seconds: float) -> None:
    """Call ``fn`` untimed until ``seconds`` have passed, at least once: it wakes the
    framework's threads, so the timed calls after it see a loop's steady state."""
    end = time.perf_counter() + seconds
    fn()
    while time.perf_counter() < end:
        fn()


def pick(parser: ArgumentParser, option: str, text: str, known: Iterable[str]) -> list[str]:
    """The comma-separated names in ``text``; a parser error names any not in ``known``."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    known = list(known)
    if unknown := [name for name in names if name not in known]:
        parser.error(f"{option}: expected names among {', '.join(known)}, got {', '.join(unknown)}")
    return names
