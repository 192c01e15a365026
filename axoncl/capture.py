"""``axoncl.capture``: record one training step's OpenCL work and replay it without Python.

The idea of CUDA Graphs and tinygrad's TinyJit, for any OpenCL device. The step runs eagerly
for ``warmup`` calls (kernel builds, optimizer state), then twice more while its launches are
recorded. When the two recordings agree, every later call copies the new inputs into the
recorded input arrays and replays the recorded launches: no graph building, no rule code, no
argument packing, no allocation. The result is bit for bit what the eager step gives.

What a captured step must be, like a CUDA graph:

* **static**: the same input shapes, dtypes and device on every call (checked: a clear error
  otherwise), and the same launches on every step: a value the host computes per step and hands
  to a kernel (a dropout seed, Adam's step count) makes the two recordings differ, and capture
  refuses the step, saying which launch changed;
* **free of host reads**: ``item()``, ``float()``, printing or branching on device values
  inside the step is refused (read the returned loss after the call instead);
* **in place**: parameters and optimizer state must keep their buffers (SGD's multi-tensor
  update does); the returned arrays are the recorded ones, overwritten by each replay (copy
  them to keep a value).

Hyper-parameters changed after the capture (a learning-rate schedule) are not seen by replays:
make a new ``capture`` after changing them.

Examples
--------
>>> step = axoncl.capture(train_step)   # train_step(x, y) -> loss    # doctest: +SKIP
>>> for x, y in batches:                                             # doctest: +SKIP
...     loss = step(x, y)
>>> float(loss.item())                                               # doctest: +SKIP
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from .variable import Variable

__all__ = ["CaptureError", "CapturedStep", "capture"]


class CaptureError(RuntimeError):
    """A step cannot be captured, or a call does not match the captured step.

    Examples
    --------
    >>> import axoncl
    >>> issubclass(axoncl.CaptureError, RuntimeError)
    True
    """


def capture(fn: Callable[..., Any] | None = None, *, warmup: int = 1):
    """Make ``fn`` a :class:`CapturedStep`: eager for ``warmup`` calls, then recorded and
    replayed. Usable as ``capture(fn)``, ``@capture`` or ``@capture(warmup=2)``.

    Parameters
    ----------
    fn
        The step: takes OpenCL arrays (or Variables holding them) and returns what it computed
        (e.g. the loss); it may run forward, backward and ``optimizer.step()``.
    warmup
        Eager calls before recording (at least 1, so optimizer state exists).

    Raises
    ------
    CaptureError
        From the recording calls, when the step reads device values on the host, when its two
        recordings differ, or when it launches no OpenCL work.

    Returns
    -------
    CapturedStep
        The wrapped step (or, without ``fn``, a decorator that makes one).

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> import axoncl.backends.opencl as xp
    >>> step = axoncl.capture(lambda a, b: axoncl.Variable(a) * b)
    >>> x = xp.asarray(np.arange(3.0, dtype=np.float32))
    >>> [step(x, x).numpy().tolist() for _ in range(3)][-1]
    [0.0, 1.0, 4.0]
    >>> step.captured
    True
    """
    if fn is None:
        return functools.partial(capture, warmup=warmup)
    if warmup < 1:
        raise ValueError(f"capture: expected warmup >= 1, got {warmup}")
    return CapturedStep(fn, warmup)


def _spec(value: Any) -> tuple:
    data = value.data if isinstance(value, Variable) else value
    if hasattr(data, "shape") and hasattr(data, "dtype"):
        return ("array", type(data).__name__, tuple(data.shape), str(data.dtype), _device(data))
    return ("value", value)


def _device(data: Any) -> str:
    device = getattr(data, "device", None)
    return str(getattr(device, "id", device))


class CapturedStep:
    """A step that is recorded once and then replayed; see :func:`capture`.

    Parameters
    ----------
    fn
        The step function.
    warmup
        Eager calls before the recording.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl import nn, optim
    >>> import axoncl.backends.opencl as xp
    >>> model = nn.Linear(4, 2).to("opencl")
    >>> opt = optim.SGD(model.parameters(), lr=0.1)
    >>> @axoncl.capture
    ... def step(x):
    ...     opt.zero_grad()
    ...     loss = model(axoncl.Variable(x)).square().mean()
    ...     loss.backward()
    ...     opt.step()
    ...     return loss
    >>> x = xp.asarray(np.ones((3, 4), np.float32))
    >>> losses = [step(x).item() for _ in range(4)]
    >>> step.captured, step.launches > 0, losses[-1] < losses[0]
    (True, True, True)
    """

    def __init__(self, fn: Callable[..., Any], warmup: int) -> None:
        self.fn = fn
        self.warmup = warmup
        self.calls = 0
        self._first_recording: list | None = None
        self._graph: Any = None
        self._inputs: tuple = ()
        self._specs: tuple = ()
        self._result: Any = None
        functools.update_wrapper(self, fn)

    @property
    def captured(self) -> bool:
        """Whether calls are now replays."""
        return self._graph is not None

    @property
    def launches(self) -> int:
        """Kernel launches per replay (0 before the capture)."""
        return self._graph.launches if self._graph is not None else 0

    def __call__(self, *args: Any) -> Any:
        if self._graph is not None:
            return self._replay(args)
        self.calls += 1
        if self.calls <= self.warmup:
            return self.fn(*args)
        return self._record(args)

    # -- recording -------------------------------------------------------------------------
    def _opencl(self):
        from .backends import opencl

        return opencl

    def _device_of(self, args: tuple):
        xp = self._opencl()
        for a in args:
            data = a.data if isinstance(a, Variable) else a
            if isinstance(data, xp.CLArray):
                return data.device
        return xp.default_device()

    def _record(self, args: tuple) -> Any:
        from .backends.opencl import capture as device_capture

        device = self._device_of(args)
        try:
            with device_capture.Recorder(device) as recorder:
                result = self.fn(*args)
        except device_capture.CaptureError as exc:
            raise CaptureError(str(exc)) from None
        signature = recorder.signature()
        if not signature:
            raise CaptureError(
                f"capture: the step launched no OpenCL work on {device.id}; capture replays "
                "OpenCL kernels only (run host backends eagerly)"
            )
        if self._first_recording is None:  # record once more, then compare
            self._first_recording = signature
            return result
        difference = device_capture.first_difference(self._first_recording, signature)
        if difference is not None:
            raise CaptureError(f"capture: the step is not static: {difference}")
        self._graph = device_capture.Graph(recorder)
        self._inputs = args
        self._specs = tuple(_spec(a) for a in args)
        self._result = result
        return result

    # -- replaying -------------------------------------------------------------------------
    def _replay(self, args: tuple) -> Any:
        if len(args) != len(self._inputs):
            raise CaptureError(
                f"capture: the step was captured with {len(self._inputs)} arguments, got "
                f"{len(args)}"
            )
        copy_into = self._opencl().copy.copy_into
        for i, (arg, recorded, spec) in enumerate(
            zip(args, self._inputs, self._specs, strict=True)
        ):
            if arg is recorded:
                continue
            got = _spec(arg)
            if got != spec:
                raise CaptureError(
                    f"capture: argument {i} was captured as {_show(spec)}, got {_show(got)}; "
                    "a captured step takes inputs of the same kind, shape, dtype and device "
                    "(capture the step again for new shapes)"
                )
            if spec[0] == "array":
                dst = recorded.data if isinstance(recorded, Variable) else recorded
                src = arg.data if isinstance(arg, Variable) else arg
                copy_into(dst, src)  # into the buffer the recorded launches read
        self._graph.replay()
        return self._result


def _show(spec: tuple) -> str:
    if spec[0] == "array":
        _, kind, shape, dtype, device = spec
        return f"a {kind} of shape {shape} and dtype {dtype} on {device}"
    return repr(spec[1])
