"""Thread-local gradient modes: no_grad, enable_grad, set_grad_enabled, inference_mode.

Each thread and asyncio task has its own value (``ContextVar``); new threads start with
gradients on. Only this module touches the variables; ``Function.apply`` reads them once.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any, TypeVar

__all__ = [
    "InferenceModeGuard",
    "NoGradGuard",
    "enable_grad",
    "inference_mode",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "no_grad",
    "set_grad_enabled",
]

# One word per thread/task, so Function.apply reads the whole mode with a single get():
# bit _NO_GRAD set = gradients off; bit _INFERENCE set = inside inference_mode.
_NO_GRAD = 1
_INFERENCE = 2
_MODE: ContextVar[int] = ContextVar("axoncl_grad_mode", default=0)

F = TypeVar("F", bound=Callable[..., Any])


def is_grad_enabled() -> bool:
    """Whether ops record a graph in this thread right now.

    Returns
    -------
    bool
        False inside ``no_grad()`` or ``inference_mode()``, True by default.

    Examples
    --------
    >>> import axoncl
    >>> axoncl.is_grad_enabled()
    True
    >>> with axoncl.no_grad():
    ...     axoncl.is_grad_enabled()
    False
    """
    return not _MODE.get() & _NO_GRAD


def is_inference_mode_enabled() -> bool:
    """Whether this thread is inside :class:`inference_mode`.

    Returns
    -------
    bool
        True inside an enabled ``inference_mode()`` block in this thread.

    Examples
    --------
    >>> import axoncl
    >>> with axoncl.inference_mode():
    ...     axoncl.is_inference_mode_enabled()
    True
    >>> axoncl.is_inference_mode_enabled()
    False
    """
    return bool(_MODE.get() & _INFERENCE)


def _with_grad(mode: int, enabled: bool) -> int:
    return mode & ~_NO_GRAD if enabled else mode | _NO_GRAD


class _GradMode:
    """A mode that is a context manager, a decorator (``@mode`` or ``@mode()``), and a guard."""

    def _enter(self) -> list[Token]:
        raise NotImplementedError

    def __enter__(self) -> None:
        self._stack.append(self._enter())

    def __exit__(self, *exc_info: object) -> None:
        tokens = self._stack.pop()
        for var, token in reversed(tokens):
            var.reset(token)

    def _fresh(self) -> _GradMode:
        return self.__class__(*self._args)

    def __call__(self, fn: F) -> F:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def coroutine(*args: Any, **kwargs: Any) -> Any:
                # The mode lives in this task's context, so holding it across an await does
                # not leak into other tasks.
                with self._fresh():
                    return await fn(*args, **kwargs)

            return coroutine  # type: ignore[return-value]
        if inspect.isgeneratorfunction(fn):

            @functools.wraps(fn)
            def generator(*args: Any, **kwargs: Any) -> Any:
                # Hold the mode only while the generator runs, never across a yield.
                gen = fn(*args, **kwargs)
                to_send = None
                while True:
                    with self._fresh():
                        try:
                            value = gen.send(to_send)
                        except StopIteration as stop:
                            return stop.value
                    to_send = yield value

            return generator  # type: ignore[return-value]

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self._fresh():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class set_grad_enabled(_GradMode):  # noqa: N801 - a function-like name, as users expect
    """Turn gradient recording on or off, as a context manager, decorator or plain call.

    Parameters
    ----------
    mode
        True records a graph, False does not. As a plain call it takes effect at once, until
        the next change in this thread.

    Examples
    --------
    >>> import axoncl
    >>> with axoncl.set_grad_enabled(False):
    ...     axoncl.is_grad_enabled()
    False
    """

    def __init__(self, mode: bool) -> None:
        self._args = (bool(mode),)
        self.mode = bool(mode)
        self._stack: list[list[tuple[ContextVar, Token]]] = []

    def _enter(self) -> list[tuple[ContextVar, Token]]:
        return [(_MODE, _MODE.set(_with_grad(_MODE.get(), self.mode)))]


class no_grad(set_grad_enabled):  # noqa: N801
    """Record no graph inside the block or the decorated function.

    Also ``no_grad(fn)`` on a zero-argument closure, which calls it and returns its result (the
    original crate's form). Because of that form, a function that takes no arguments is
    decorated with ``@no_grad()``, with parentheses; ``@no_grad`` alone would call it at once.
    Functions with arguments work either way.

    Parameters
    ----------
    fn
        Optional: a zero-argument function to call with recording off, or a function to
        decorate.

    Examples
    --------
    >>> import axoncl, numpy as np
    >>> w = axoncl.Variable(np.ones(2), requires_grad=True)
    >>> with axoncl.no_grad():
    ...     (w * 2).requires_grad
    False
    """

    def __new__(cls, fn: Callable[..., Any] | None = None):
        if fn is None:
            return super().__new__(cls)
        if not callable(fn):
            raise TypeError(f"no_grad: expected a function or nothing, got {type(fn).__name__}")
        try:
            takes_args = bool(inspect.signature(fn).parameters)
        except (TypeError, ValueError):
            takes_args = True
        if takes_args or inspect.isgeneratorfunction(fn):
            return cls()(fn)  # @no_grad without parentheses
        with cls():  # the closure form: no_grad(lambda: ...) runs it and returns its value
            return fn()

    def __init__(self, fn: Callable[..., Any] | None = None) -> None:
        super().__init__(False)
        self._args = ()


class enable_grad(set_grad_enabled):  # noqa: N801
    """Record a graph inside the block, even within ``no_grad``.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> w = axoncl.Variable(np.ones(2), requires_grad=True)
    >>> with axoncl.no_grad():
    ...     with axoncl.enable_grad():
    ...         (w * 2).requires_grad
    True
    """

    def __init__(self) -> None:
        super().__init__(True)
        self._args = ()


class NoGradGuard(no_grad):
    """``no_grad`` under the name of the original crate's RAII guard; use with ``with``.

    Parameters
    ----------
    fn
        As for :class:`no_grad`.

    Examples
    --------
    >>> import axoncl
    >>> with axoncl.NoGradGuard():
    ...     axoncl.is_grad_enabled()
    False
    """


class inference_mode(_GradMode):  # noqa: N801
    """Like ``no_grad`` and stricter: values made inside are marked as inference values, and
    using one later in an op that records a graph raises an error.

    Parameters
    ----------
    mode
        ``False`` makes the block a no-op (inference mode stays as it was).

    Examples
    --------
    >>> import axoncl, numpy as np
    >>> with axoncl.inference_mode():
    ...     y = axoncl.Variable(np.ones(2)) * 2
    >>> y.is_inference()
    True
    """

    def __init__(self, mode: bool = True) -> None:
        self._args = (bool(mode),)
        self.mode = bool(mode)
        self._stack: list[list[tuple[ContextVar, Token]]] = []

    def _enter(self) -> list[tuple[ContextVar, Token]]:
        mode = _MODE.get()
        if not self.mode:
            return [(_MODE, _MODE.set(mode & ~_INFERENCE))]
        return [(_MODE, _MODE.set(mode | _INFERENCE | _NO_GRAD))]


class InferenceModeGuard(inference_mode):
    """``inference_mode`` under the original crate's guard name; use with ``with``.

    Parameters
    ----------
    mode
        As for :class:`inference_mode`.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> with axoncl.InferenceModeGuard():
    ...     axoncl.is_inference_mode_enabled()
    True
    """
