"""Property-based: random sequences of ops give the same values and gradients on OpenCL as on
numpy, including inputs full of infinities, NaN and denormals. A bounded budget (derandomized,
``FUZZ_EXAMPLES`` = 100 sequences per test) keeps CI time fixed; set
``AXONCL_FUZZ_EXAMPLES`` for a longer local run."""

from __future__ import annotations

import os

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import axoncl
from axoncl import Variable

FUZZ_EXAMPLES = int(os.environ.get("AXONCL_FUZZ_EXAMPLES", "100"))

# Each op maps the running value ``a`` (shape (R, C)) and the inputs b (R, C), c (C, C) to a
# new (R, C) value. Values stay in a moderate range (tanh, sigmoid, softmax bound them), so
# float32 on the device stays close to float64 on the host along any sequence.
OPS = {
    "add": lambda a, b, c: a + b,
    "subtract": lambda a, b, c: a - b,
    "multiply": lambda a, b, c: a * b,
    "divide": lambda a, b, c: a / (b * b + 1.0),
    "matmul": lambda a, b, c: axoncl.tanh(a @ c),
    "tanh": lambda a, b, c: axoncl.tanh(a),
    "sigmoid": lambda a, b, c: axoncl.sigmoid(a),
    "relu": lambda a, b, c: axoncl.relu(a - 0.1),
    "gelu": lambda a, b, c: axoncl.gelu(a),
    "exp": lambda a, b, c: axoncl.exp(axoncl.tanh(a)),
    "softmax": lambda a, b, c: axoncl.softmax(a, axis=-1),
    "log_softmax": lambda a, b, c: axoncl.tanh(axoncl.log_softmax(a, axis=0)),
    "maximum": lambda a, b, c: axoncl.maximum(a, b),
    "flip_rows": lambda a, b, c: a[::-1],
    "transpose_twice": lambda a, b, c: (a.mT * 1.5).mT,
    "gather_rows": lambda a, b, c: (
        a[axoncl.asarray([1, 0, -1], backend=_ns(a), dtype="int64")] if a.shape[0] == 3 else a
    ),
    "mean_broadcast": lambda a, b, c: a - a.mean(axis=0, keepdims=True),
    "square": lambda a, b, c: a * a,
}


def _ns(v: Variable) -> str:
    return v.backend


def _run(names, values, backend: str, dtype: str):
    xs = [
        Variable(axoncl.asarray(v, backend=backend, dtype=dtype), requires_grad=True)
        for v in values[:3]
    ]
    a, b, c = xs
    out = a
    for name in names:
        out = OPS[name](out, b, c)
    weights = Variable(axoncl.asarray(values[3], backend=backend, dtype=dtype))
    (out * weights).sum().backward()
    # An input that the sequence never used has no gradient: zeros, on both sides alike.
    grads = [np.zeros(x.shape) if x.grad is None else x.grad.numpy() for x in xs]
    return [out.numpy(), *grads]


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True)
@given(
    names=st.lists(st.sampled_from(sorted(OPS)), min_size=1, max_size=8),
    rows=st.sampled_from([1, 3, 5]),
    cols=st.sampled_from([1, 2, 7]),
    seed=st.integers(0, 2**16),
)
def test_random_op_sequences_match_numpy(xp, names, rows, cols, seed):
    rng = np.random.default_rng(seed)
    values = [
        rng.uniform(-1.0, 1.0, (rows, cols)),
        rng.uniform(-1.0, 1.0, (rows, cols)),
        rng.uniform(-1.0, 1.0, (cols, cols)),
        rng.uniform(-1.0, 1.0, (rows, cols)),
    ]
    # Nudge values away from relu's and maximum's kinks, where one-sided derivatives differ.
    values[0] += np.where(np.abs(values[0] - 0.1) < 1e-3, 1e-2, 0.0)
    values[1] += np.where(np.abs(values[1] - values[0]) < 1e-3, 1e-2, 0.0)
    expected = _run(names, values, "numpy", "float64")
    got = _run(names, values, "opencl", "float32")
    for what, e, g in zip(["value", "grad a", "grad b", "grad c"], expected, got, strict=True):
        np.testing.assert_allclose(g, e, rtol=2e-3, atol=2e-4, err_msg=f"{what} of {names}")


# Extreme values: every element is drawn from this pool, which holds signed zeros, infinities,
# NaN, float32 denormals, values near exp's overflow and magnitudes that overflow when squared.
SPECIAL = np.array(
    [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e30, -1e30, np.inf, -np.inf, np.nan]
    + [1e-40, -1e-42, 1e-45, 88.0, -88.0, 100.0],
    dtype=np.float32,
)

UNARY = {
    "exp": axoncl.exp,
    "log": axoncl.log,
    "sqrt": axoncl.sqrt,
    "tanh": axoncl.tanh,
    "sigmoid": axoncl.sigmoid,
    "relu": axoncl.relu,
    "abs": axoncl.abs,
    "negative": axoncl.negative,
    "square": axoncl.square,
    "log1p": axoncl.log1p,
    "expm1": axoncl.expm1,
    "softplus": axoncl.softplus,
    "silu": axoncl.silu,
}
BINARY = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b,
    "maximum": axoncl.maximum,
    "minimum": axoncl.minimum,
}
REDUCE = {
    "none": lambda a: a,
    "sum": lambda a: a.sum(axis=-1) if a.ndim else a,
    "mean0": lambda a: a.mean(axis=0) if a.ndim and a.shape[0] else a,
    "softmax": lambda a: axoncl.softmax(a, axis=-1) if a.ndim else a,
}


def _operand(host: np.ndarray, strided: bool, backend: str) -> tuple[Variable, Variable]:
    """``host`` on ``backend``: a leaf that requires grad, and the operand made of it, either
    the leaf itself or a view taking every other element of a twice-as-long last axis (a
    non-contiguous view, whose gradient lands in the even elements of the leaf's)."""
    if not strided or host.ndim == 0:
        leaf = Variable(axoncl.asarray(host, backend=backend), requires_grad=True)
        return leaf, leaf
    wide = np.repeat(host, 2, axis=-1)
    wide[..., 1::2] = 7.0  # never read by the view
    leaf = Variable(axoncl.asarray(wide, backend=backend), requires_grad=True)
    return leaf, leaf[..., ::2]


def _assert_same(what: str, got: np.ndarray, expected: np.ndarray) -> None:
    """Equal NaN and infinity positions; finite values to float32 rounding, scaled by the
    largest finite magnitude (sequences on extreme values cancel large terms)."""
    assert got.shape == expected.shape, f"{what}: shape {got.shape} vs {expected.shape}"
    finite = expected[np.isfinite(expected)]
    scale = max(1.0, float(np.max(np.abs(finite)))) if finite.size else 1.0
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5 * scale, err_msg=what)


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, derandomize=True)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("unary"), st.sampled_from(sorted(UNARY))),
            st.tuples(st.just("binary"), st.sampled_from(sorted(BINARY))),
        ),
        min_size=1,
        max_size=4,
    ),
    reduce=st.sampled_from(sorted(REDUCE)),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4),
    strided=st.tuples(st.booleans(), st.booleans()),
    seed=st.integers(0, 2**16),
)
def test_extreme_values_match_numpy(xp, ops, reduce, shapes, strided, seed):
    """Values and gradients of op sequences over inputs full of ±0, ±inf, NaN, 1e30 and float32
    denormals, broadcast against each other (size-0 and size-1 axes included), contiguous or
    strided: OpenCL float32 against the same rules on numpy float32."""
    rng = np.random.default_rng(seed)
    in_shapes = shapes.input_shapes
    values = [SPECIAL[rng.integers(0, SPECIAL.size, s)].astype(np.float32) for s in in_shapes]
    results = {}
    with np.errstate(all="ignore"):
        for backend in ("numpy", "opencl"):
            leaves, (a, b) = zip(
                *(_operand(v, s, backend) for v, s in zip(values, strided, strict=True)),
                strict=True,
            )
            out = a
            for kind, name in ops:
                out = UNARY[name](out) if kind == "unary" else BINARY[name](out, b)
            out = REDUCE[reduce](out)
            weights = axoncl.asarray(
                np.linspace(0.5, 1.5, max(out.size, 1), dtype=np.float32)[: out.size].reshape(
                    out.shape
                ),
                backend=backend,
            )
            (out * Variable(weights)).sum().backward()
            grads = [
                np.zeros(x.shape, np.float32) if x.grad is None else x.grad.numpy() for x in leaves
            ]
            results[backend] = [out.numpy(), *grads]
    for what, e, g in zip(["value", "grad a", "grad b"], results["numpy"], results["opencl"]):
        _assert_same(f"{what} of {ops} then {reduce} on {in_shapes}, strided {strided}", g, e)
