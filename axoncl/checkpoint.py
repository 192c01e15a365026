"""Activation checkpointing: keep a block's inputs, not its activations, and recompute them in
backward.

``checkpoint(fn, *args)`` runs ``fn`` under ``no_grad``, so the arrays made inside are freed as
soon as the forward no longer needs them, and records one graph node that holds the inputs. Its
backward runs ``fn`` again with gradients on and backpropagates through that recomputation.
While the forward runs, ops note the Variables that require grad and come from outside
(parameters, captured values), so their gradients flow as if ``fn`` had run plainly. Dropout
masks come from seeds that :class:`~axoncl.random.Generator` objects draw; their states are
noted before the first draw and restored for the recomputation, so the masks, and with them
the gradients, are the same bit for bit. The autocast dtype of the forward is restored too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from . import graph
from .autocast import _AUTOCAST
from .backends import namespace_of
from .engine import _engine
from .grad_mode import enable_grad, is_grad_enabled, no_grad
from .graph import Function
from .random import _DRAWS
from .variable import Variable

__all__ = ["checkpoint", "checkpoint_sequential"]

_NOTING_LOCK = threading.Lock()


def _flatten(out: Any) -> tuple[list[Variable], Callable[[list[Variable]], Any]]:
    """The Variables of ``fn``'s result (one, or a tuple or list of values), and a function that
    rebuilds the result around replacements for them."""
    if isinstance(out, Variable):
        return [out], lambda vs: vs[0]
    if isinstance(out, (tuple, list)):
        places = [i for i, v in enumerate(out) if isinstance(v, Variable)]

        def rebuild(vs: list[Variable]) -> Any:
            items = list(out)
            for i, v in zip(places, vs, strict=True):
                items[i] = v
            return type(out)(items)

        return [out[i] for i in places], rebuild
    raise TypeError(
        f"checkpoint: expected fn to return a Variable or a tuple or list of them, got "
        f"{type(out).__name__}"
    )


def _pack(outs: list[Variable]) -> Any:
    """One array holding every output (flattened and joined), so one node can carry them."""
    if len(outs) == 1:
        return outs[0].data
    dtypes = {str(v.dtype) for v in outs}
    if len(dtypes) > 1:
        raise TypeError(
            f"checkpoint: expected fn's outputs to share one dtype, got {sorted(dtypes)}; "
            "checkpoint the parts separately"
        )
    xp = namespace_of(*(v.data for v in outs))
    return xp.concat([xp.reshape(v.data, (-1,)) for v in outs])


def _unpack(packed: Variable, shapes: list[tuple[int, ...]]) -> list[Variable]:
    if len(shapes) == 1:
        return [packed]
    pieces, start = [], 0
    for shape in shapes:
        size = 1
        for n in shape:
            size *= n
        pieces.append(packed[start : start + size].reshape(shape))
        start += size
    return pieces


class _Checkpoint(Function):
    """The node of a checkpointed block: its inputs are the block's Variable arguments, then
    the Variables from outside that it used; backward recomputes the block and runs backward
    through it."""

    name = "checkpoint"

    @staticmethod
    def forward(ctx, *arrays):
        ctx.save_for_backward(*arrays[: ctx.n_args])
        packed = ctx.packed
        del ctx.packed  # the result is the caller's to keep, not the node's
        return packed

    @staticmethod
    def backward(ctx, grad):
        saved = ctx.saved_arrays  # the inputs, checked for in-place writes since the forward
        needs = ctx.needs_input_grad
        args = list(ctx.args)
        leaves = []
        for k, (slot, data) in enumerate(zip(ctx.slots, saved, strict=True)):
            v = Variable(data, requires_grad=needs[k])
            args[slot] = v
            leaves.append(v if needs[k] else None)
        outside = ctx.outside
        # Values from outside that have a graph of their own take part as leaves for the
        # length of the recomputation, so its backward stops at them.
        detached = [(v, v.grad_fn) for v in outside if v.grad_fn is not None]
        current = {key: (gen, gen.get_state()) for key, (gen, _) in ctx.draws.items()}
        try:
            for v, _ in detached:
                v.grad_fn = None
            for gen, state in ctx.draws.values():
                gen.set_state(state)
            cast_token = _AUTOCAST.set(ctx.autocast)
            try:
                with enable_grad():
                    out = ctx.fn(*args, **ctx.kwargs)
            finally:
                _AUTOCAST.reset(cast_token)
        finally:
            for v, fn in detached:
                v.grad_fn = fn
            for gen, state in current.values():
                gen.set_state(state)
        outs, _ = _flatten(out)
        grads = _unpack(grad, ctx.shapes) if len(outs) > 1 else [grad]
        pairs = [(o, g) for o, g in zip(outs, grads, strict=True) if o._requires_grad]
        targets = [v for v in leaves if v is not None]
        targets += [v for v, need in zip(outside, needs[len(leaves) :], strict=True) if need]
        captured = {}
        if pairs and targets:
            captured = _engine(
                [o for o, _ in pairs],
                [g if g.grad_fn is None or is_grad_enabled() else g.detach() for _, g in pairs],
                False,
                is_grad_enabled(),  # create_graph of the enclosing backward
                {id(v): v for v in targets},
                "checkpoint",
            )
        result = [None if v is None else captured.get(id(v)) for v in leaves]
        result += [
            captured.get(id(v)) if need else None
            for v, need in zip(outside, needs[len(leaves) :], strict=True)
        ]
        return tuple(result)


def checkpoint(
    fn: Callable[..., Any],
    *args: Any,
    use_reentrant: bool = False,
    preserve_rng_state: bool = True,
    **kwargs: Any,
) -> Any:
    """``fn(*args, **kwargs)`` without keeping its activations: they are recomputed in backward.

    Parameters
    ----------
    fn
        A function or module that returns a Variable, or a tuple or list of values (its
        Variables must share one dtype). It must compute the same thing when run again: the
        same ops on the same inputs.
    args, kwargs
        Its arguments. Variables among ``args`` are kept for the recomputation; anything else
        is passed again as it is.
    use_reentrant
        Accepted for compatibility; both values run the one implementation, whose gradients
        also reach parameters used inside and work with :func:`axoncl.grad`.
    preserve_rng_state
        Replay the random draws of the forward (dropout masks) in the recomputation, so the
        gradients equal those of a plain run bit for bit.

    Returns
    -------
    Any
        What ``fn`` returns; its Variables are outputs of one recorded node.

    Raises
    ------
    TypeError
        When ``use_reentrant`` is not a bool.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl import nn
    >>> block = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 4))
    >>> x = axoncl.Variable(np.ones((2, 4), np.float32), requires_grad=True)
    >>> axoncl.checkpoint(block, x).sum().backward()
    >>> x.grad.shape
    (2, 4)
    """
    if not isinstance(use_reentrant, bool):
        raise TypeError(f"checkpoint: expected use_reentrant as a bool, got {use_reentrant!r}")
    if not is_grad_enabled():  # no graph: nothing to save, nothing to recompute
        return fn(*args, **kwargs)
    noted: dict[int, Variable] = {}
    draws: dict[int, Any] = {}
    note_token = graph._NOTED.set(noted)
    draws_token = _DRAWS.set(draws if preserve_rng_state else None)
    with _NOTING_LOCK:
        graph._NOTING[0] += 1
    try:
        with no_grad():
            out = fn(*args, **kwargs)
    finally:
        with _NOTING_LOCK:
            graph._NOTING[0] -= 1
        _DRAWS.reset(draws_token)
        graph._NOTED.reset(note_token)
    outs, rebuild = _flatten(out)
    slots = [i for i, a in enumerate(args) if isinstance(a, Variable)]
    inputs = [args[i] for i in slots]
    mine = {id(v) for v in inputs}
    outside = [v for key, v in noted.items() if key not in mine]
    enclosing = graph._NOTED.get()  # a checkpoint inside a checkpointed forward
    if enclosing is not None:
        for v in outside:
            enclosing.setdefault(id(v), v)
    if not outs or not (outside or any(v.requires_grad for v in inputs)):
        return out
    packed = _Checkpoint.apply(
        *inputs,
        *outside,
        packed=_pack(outs),
        n_args=len(inputs),
        fn=fn,
        args=tuple(None if i in slots else a for i, a in enumerate(args)),
        kwargs=kwargs,
        slots=slots,
        outside=outside,
        draws=draws,
        autocast=_AUTOCAST.get(),
        shapes=[tuple(v.shape) for v in outs],
    )
    return rebuild(_unpack(packed, [tuple(v.shape) for v in outs]))


def checkpoint_sequential(
    model: Sequence[Any],
    segments: int,
    x: Any,
    *,
    use_reentrant: bool = False,
    preserve_rng_state: bool = True,
) -> Any:
    """Run a sequence of modules (e.g. :class:`axoncl.nn.Sequential`) in ``segments`` chunks,
    checkpointing all but the last: about ``segments`` inputs are kept instead of every
    activation, and each chunk is recomputed once in backward.

    Parameters
    ----------
    model
        A sequence of modules (or callables) applied in order.
    segments
        The number of chunks.
    x
        The input of the first module.
    use_reentrant, preserve_rng_state
        As for :func:`checkpoint`.

    Returns
    -------
    Any
        The output of the last module.

    Raises
    ------
    ValueError
        When ``segments`` is below 1.

    Examples
    --------
    >>> import numpy as np, axoncl
    >>> from axoncl import nn
    >>> model = nn.Sequential(*[nn.Linear(4, 4) for _ in range(6)])
    >>> x = axoncl.Variable(np.ones((2, 4), np.float32), requires_grad=True)
    >>> axoncl.checkpoint_sequential(model, 3, x).sum().backward()
    >>> x.grad.shape
    (2, 4)
    """
    from .nn.layers import run_modules  # axoncl.nn imports this module

    modules = list(model)
    if not isinstance(segments, int) or not 1 <= segments:
        raise ValueError(f"checkpoint_sequential: expected segments >= 1, got {segments!r}")
    segments = min(segments, len(modules)) if modules else 1
    size, extra = divmod(len(modules), segments)
    start = 0
    for index in range(segments):
        end = start + size + (1 if index < extra else 0)
        chunk = modules[start:end]

        def run(value: Any, chunk: list[Any] = chunk) -> Any:
            return run_modules(chunk, value)  # as Sequential runs them (Linear+ReLU fused)

        if index == segments - 1:
            x = run(x)
        else:
            x = checkpoint(
                run, x, use_reentrant=use_reentrant, preserve_rng_state=preserve_rng_state
            )
        start = end
    return x
