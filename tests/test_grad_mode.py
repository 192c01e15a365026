"""Grad modes: no_grad, enable_grad, set_grad_enabled, inference_mode, their guards, decorators
and closures; per thread, per asyncio task, and per generator step."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

import axoncl
from axoncl import (
    InferenceModeGuard,
    NoGradGuard,
    Variable,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)


@pytest.fixture
def w():
    return Variable(np.array([1.0, 2.0]), requires_grad=True)


def test_grad_is_enabled_by_default():
    assert is_grad_enabled() and not is_inference_mode_enabled()


def test_no_grad_context_records_nothing_and_restores(w):
    with no_grad():
        y = w * 2.0
        assert not is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None
    assert is_grad_enabled() and (w * 2.0).requires_grad


def test_no_grad_restores_the_mode_after_an_exception():
    with pytest.raises(KeyError), no_grad():
        raise KeyError("boom")
    assert is_grad_enabled()


def test_no_grad_decorator_without_parentheses(w):
    @no_grad
    def double(v):
        return v * 2.0, is_grad_enabled()

    y, inside = double(w)
    assert not y.requires_grad and inside is False and is_grad_enabled()
    assert double.__name__ == "double"


def test_no_grad_decorator_with_parentheses(w):
    @no_grad()
    def double(v):
        return v * 2.0

    assert not double(w).requires_grad and is_grad_enabled()


def test_no_grad_closure_form_runs_the_function(w):
    y = no_grad(lambda: w * 2.0)
    assert isinstance(y, Variable) and not y.requires_grad
    assert is_grad_enabled()


def test_decorated_function_may_be_called_recursively_and_nested(w):
    @no_grad
    def depth(n):
        return is_grad_enabled() if n == 0 else depth(n - 1)

    assert depth(3) is False and is_grad_enabled()
    with enable_grad():
        assert depth(2) is False
        assert is_grad_enabled()


def test_one_instance_may_be_entered_twice():
    mode = no_grad()
    with mode:
        with mode:
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()


def test_no_grad_guard_is_no_grad(w):
    with NoGradGuard():
        assert not (w * 2.0).requires_grad
    assert is_grad_enabled()


def test_enable_grad_inside_no_grad(w):
    with no_grad():
        with enable_grad():
            assert is_grad_enabled()
            assert (w * 2.0).requires_grad
        assert not is_grad_enabled()


def test_enable_grad_decorator_inside_no_grad(w):
    @enable_grad()
    def double(v):
        return v * 2.0

    with no_grad():
        assert double(w).requires_grad


@pytest.mark.parametrize("flag", [False, True])
def test_set_grad_enabled_as_context(flag, w):
    with no_grad():  # start from the opposite of True as well
        with set_grad_enabled(flag):
            assert is_grad_enabled() is flag
            assert (w * 2.0).requires_grad is flag
    assert is_grad_enabled()


def test_set_grad_enabled_as_decorator(w):
    @set_grad_enabled(False)
    def double(v):
        return v * 2.0

    assert not double(w).requires_grad and is_grad_enabled()


def test_inference_mode_marks_its_values(w):
    with inference_mode():
        assert is_inference_mode_enabled() and not is_grad_enabled()
        y = w * 2.0
    assert y.is_inference() and not y.requires_grad
    assert not (w * 2.0).is_inference()
    assert is_grad_enabled() and not is_inference_mode_enabled()


def test_inference_mode_guard_and_decorator(w):
    with InferenceModeGuard():
        assert is_inference_mode_enabled()

    @inference_mode()
    def double(v):
        return v * 2.0

    assert double(w).is_inference()
    assert not is_inference_mode_enabled()


def test_inference_value_used_in_a_recorded_graph_raises(w):
    with inference_mode():
        frozen = Variable(np.array([3.0, 4.0])) * 1.0
    with pytest.raises(RuntimeError, match="inference-mode value cannot be used.*records"):
        w * frozen


def test_inference_value_may_be_used_where_nothing_is_recorded():
    with inference_mode():
        frozen = Variable(np.array([3.0, 4.0])) * 1.0
    plain = Variable(np.array([1.0, 1.0]))
    assert_values = (frozen * plain).numpy()
    assert assert_values.tolist() == [3.0, 4.0]
    with no_grad():
        assert (frozen * Variable(np.ones(2), requires_grad=True)).numpy().tolist() == [3.0, 4.0]


def test_new_thread_starts_with_grad_enabled():
    seen = []
    with no_grad():
        thread = threading.Thread(target=lambda: seen.append(is_grad_enabled()))
        thread.start()
        thread.join()
        assert not is_grad_enabled()
    assert seen == [True]


def test_two_threads_toggle_grad_mode_independently():
    barrier = threading.Barrier(2, timeout=10)
    results = {}

    def worker(name, mode):
        with set_grad_enabled(mode):
            barrier.wait()  # both threads are inside their own mode now
            w = Variable(np.ones(2), requires_grad=True)
            results[name] = (is_grad_enabled(), (w * 2.0).requires_grad)
            barrier.wait()

    threads = [
        threading.Thread(target=worker, args=("off", False)),
        threading.Thread(target=worker, args=("on", True)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {"off": (False, False), "on": (True, True)}
    assert is_grad_enabled()


def test_asyncio_tasks_have_their_own_grad_mode():
    async def task(mode, entered, release):
        with set_grad_enabled(mode):
            entered.set()
            await release.wait()
            return is_grad_enabled()

    async def main():
        off_in, on_in, release = asyncio.Event(), asyncio.Event(), asyncio.Event()
        off = asyncio.create_task(task(False, off_in, release))
        on = asyncio.create_task(task(True, on_in, release))
        await off_in.wait()
        await on_in.wait()
        outside = is_grad_enabled()
        release.set()
        return await off, await on, outside

    assert asyncio.run(main()) == (False, True, True)


def test_no_grad_generator_holds_the_mode_only_while_running():
    @no_grad
    def gen():
        inside = []
        for _ in range(2):
            inside.append(is_grad_enabled())
            received = yield inside[-1]
            inside.append(received)
        return inside

    g = gen()
    assert next(g) is False
    assert is_grad_enabled()  # suspended at a yield: the caller's mode again
    assert g.send("a") is False
    assert is_grad_enabled()
    with pytest.raises(StopIteration) as stop:
        g.send("b")
    assert stop.value.value == [False, "a", False, "b"]


def test_no_grad_generator_records_nothing_inside(w):
    @no_grad()
    def doubles(v):
        for _ in range(2):
            yield v * 2.0

    assert [y.requires_grad for y in doubles(w)] == [False, False]


def test_no_grad_rejects_a_non_callable():
    with pytest.raises(TypeError, match="expected a function or nothing, got int"):
        no_grad(3)


def test_grad_mode_functions_are_exported():
    for name in (
        "no_grad",
        "enable_grad",
        "set_grad_enabled",
        "inference_mode",
        "NoGradGuard",
        "InferenceModeGuard",
        "is_grad_enabled",
        "is_inference_mode_enabled",
    ):
        assert name in axoncl.__all__
