"""profile(): per-op counts and times, totals matching the wall time of the region."""

import time

import numpy as np

from axoncl import Variable, graph
from axoncl import functions as F
from axoncl.inspect import profile


def mlp_step(params, x, target):
    w1, b1, w2, b2 = params
    loss = F.cross_entropy((x @ w1 + b1).relu() @ w2 + b2, target)
    loss.backward()
    for p in params:
        p.grad = None
    return loss


def make_mlp(rng, batch=256, width=512):
    params = [
        Variable(rng.normal(size=(256, width)) * 0.05, requires_grad=True),
        Variable(np.zeros(width), requires_grad=True),
        Variable(rng.normal(size=(width, 10)) * 0.05, requires_grad=True),
        Variable(np.zeros(10), requires_grad=True),
    ]
    x = Variable(rng.normal(size=(batch, 256)))
    target = rng.integers(0, 10, size=batch)
    return params, x, target


def test_counts_forward_and_backward_per_op():
    params, x, target = make_mlp(np.random.default_rng(0), batch=8, width=16)
    with profile() as prof:
        for _ in range(3):
            mlp_step(params, x, target)
    matmul = prof.ops["matmul"]
    assert matmul.count == 6 and matmul.backward_count == 6
    assert prof.ops["relu"].count == 3 and prof.ops["relu"].backward_count == 3
    assert matmul.bytes >= 3 * (8 * 16 + 8 * 10) * 8  # forward outputs alone
    assert matmul.forward_s > 0 and matmul.backward_s > 0
    assert not graph._INSPECT_HOOKS  # removed on exit


def test_ops_inside_a_backward_count_as_that_backward():
    x = Variable(np.ones((4, 4)), requires_grad=True)
    with profile() as prof:
        (x.sigmoid() * 2.0).sum().backward()
    # sigmoid's backward multiplies and subtracts; those are not separate forward calls
    assert prof.ops["sigmoid"].count == 1 and prof.ops["sigmoid"].backward_count == 1
    assert prof.ops["multiply"].count == 1
    assert "subtract" not in prof.ops


def test_totals_agree_with_wall_time_on_an_mlp_loop():
    # Big enough that the ops dominate Python overhead even on a loaded CI machine.
    params, x, target = make_mlp(np.random.default_rng(1), batch=512, width=1024)
    mlp_step(params, x, target)  # warm up
    start = time.perf_counter()
    with profile() as prof:
        for _ in range(3):
            mlp_step(params, x, target)
    wall = time.perf_counter() - start
    assert abs(prof.wall_s - wall) <= 0.2 * wall
    assert abs(prof.total_s() - prof.wall_s) <= 1e-9  # ops + (other) is the wall time
    assert prof.ops_s() >= 0.8 * prof.wall_s, prof.table()  # the ops dominate this loop
    table = prof.table(limit=3)
    assert "matmul" in table.splitlines()[2] and "(other)" in table
    assert "more ops" in table
    data = prof.to_dict()
    assert data["ops"][-1]["op"] == "(other)"


def test_sync_calls_the_device_queue_and_reads_events():
    class Event:
        class profile:  # noqa: N801 - mimics pyopencl's event.profile
            start = 1_000
            end = 3_001_000

    class Queue:
        finished = 0

        def finish(self):
            Queue.finished += 1

    class Device:
        queue = Queue()
        profiling = True
        event_log = []

    class Result:
        device = Device()
        nbytes = 64

    class Node:
        name = "fake"

    prof = profile()
    with prof:
        Device.event_log.append(Event())
        prof._hook("forward", Node(), lambda: Result())
    assert Queue.finished == 1
    assert abs(prof.ops["fake"].device_s - 0.003) < 1e-12
    assert prof.ops["fake"].bytes == 64 and Device.event_log == []
    assert "device ms" in prof.table()
