"""Property-based: random sequences of ops give the same values and gradients on OpenCL as on
numpy. A bounded budget (derandomized, ``FUZZ_EXAMPLES`` sequences) keeps CI time fixed; set
``AXONCL_FUZZ_EXAMPLES`` for a longer local run."""

from __future__ import annotations

import os

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import axoncl
from axoncl import Variable

FUZZ_EXAMPLES = int(os.environ.get("AXONCL_FUZZ_EXAMPLES", "25"))

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
