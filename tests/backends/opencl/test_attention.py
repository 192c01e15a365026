"""The fused attention kernels (``kernels/attention.cl``) against the composed ops on OpenCL:
outputs and gradients in float32 and float64 with causal, boolean and float masks, Lq != Lk,
broadcast leading axes, size-1 axes, head sizes 1 to 128 and sequence lengths that are not
multiples of the key block; a float64 gradcheck of the fused op; a spy showing that the fused
kernels run (and only where they should); bad inputs; and the kernels under oclgrind."""

from __future__ import annotations

import textwrap
import zlib

import numpy as np
import pytest

pytest.importorskip("pyopencl")

from oclgrind_runner import assert_clean_under_oclgrind  # noqa: E402

import axoncl as ax  # noqa: E402
from axoncl import nn  # noqa: E402
from axoncl.backends.opencl import attention as cl_attention  # noqa: E402
from axoncl.backends.opencl import launch  # noqa: E402
from axoncl.nn import functional as F  # noqa: E402

# Relative to the largest magnitude of the expected array: float32 sums of up to ~100 products.
TOL = {"float32": 1e-5, "float64": 1e-10}


def _keep(rng, shape, fraction=0.7):
    """A boolean mask with at least one True per row (no row is fully masked)."""
    keep = rng.random(shape) < fraction
    keep[..., 0] |= ~keep.any(axis=-1)
    return keep


# (query shape, key shape, value shape, mask: None | "causal" | "bool" | "float" | "bool-heads")
CASES = [
    ((2, 3, 17, 16), (2, 3, 17, 16), (2, 3, 17, 16), "causal"),
    ((1, 1, 1, 1), (1, 1, 1, 1), (1, 1, 1, 1), None),
    ((2, 33, 64), (2, 50, 64), (2, 50, 64), "bool"),
    ((2, 2, 9, 128), (2, 2, 20, 128), (2, 2, 20, 128), "float"),
    ((3, 20, 16), (3, 5, 16), (3, 5, 8), "causal"),
    ((3, 5, 1), (3, 40, 1), (3, 40, 3), "bool-heads"),
    ((2, 1, 7, 16), (1, 3, 31, 16), (1, 3, 31, 16), None),
    ((4, 1, 16), (4, 19, 16), (4, 19, 16), "float"),
]


def _mask_of(kind, rng, q_shape, k_shape, dtype):
    lq, lk = q_shape[-2], k_shape[-2]
    if kind == "bool":
        return _keep(rng, (lq, lk))
    lead = np.broadcast_shapes(q_shape[:-2], k_shape[:-2])
    if kind == "bool-heads":
        return _keep(rng, (*lead, lq, lk))
    if kind == "float":
        bias = rng.standard_normal((*lead, lq, lk))
        bias[..., 1::3] = -np.inf  # masked keys, as an additive mask writes them
        bias[..., 0] = 0.0
        return bias.astype(dtype)
    return None


def _run(xp, arrays, mask, causal, grad, fused):
    """Output and (dq, dk, dv) of scaled_dot_product_attention on OpenCL, as numpy arrays."""
    q, k, v = (ax.Variable(xp.asarray(a), requires_grad=True) for a in arrays)
    m = None if mask is None else xp.asarray(mask)
    y = F.scaled_dot_product_attention(q, k, v, m, is_causal=causal, fused=fused)
    y.backward(xp.asarray(grad))
    return y.numpy(), [t.grad.numpy() for t in (q, k, v)]


def _assert_close(got, want, dtype, what):
    scale = max(1.0, float(np.nanmax(np.abs(want)))) if want.size else 1.0
    tol = TOL[dtype] * scale
    np.testing.assert_allclose(got, want, rtol=TOL[dtype], atol=tol, err_msg=what)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}-{c[3]}")
def test_fused_attention_matches_the_composed_ops(xp, dev, dtype, case):
    if dtype == "float64" and not dev.caps.fp64:
        pytest.skip("device lacks cl_khr_fp64")
    q_shape, k_shape, v_shape, kind = case
    rng = np.random.default_rng(zlib.crc32(str(case).encode()))
    arrays = [rng.standard_normal(s).astype(dtype) for s in (q_shape, k_shape, v_shape)]
    mask = _mask_of(kind, rng, q_shape, k_shape, dtype)
    causal = kind == "causal"
    out_shape = (*np.broadcast_shapes(q_shape[:-2], k_shape[:-2]), q_shape[-2], v_shape[-1])
    grad = rng.standard_normal(out_shape).astype(dtype)
    y, grads = _run(xp, arrays, mask, causal, grad, fused=None)
    want_y, want_grads = _run(xp, arrays, mask, causal, grad, fused=False)
    assert y.dtype == want_y.dtype == np.dtype(dtype)
    _assert_close(y, want_y, dtype, "output")
    for name, got, want in zip("qkv", grads, want_grads, strict=True):
        _assert_close(got, want, dtype, f"d{name}")


def test_non_contiguous_operands(xp):
    rng = np.random.default_rng(3)
    base = [rng.standard_normal((2, 16, 21)).astype(np.float32) for _ in range(3)]
    q, k, v = (ax.Variable(xp.asarray(b)).mT for b in base)  # (2, 21, 16) views
    got = F.scaled_dot_product_attention(q, k, v, is_causal=True).numpy()
    want = F.scaled_dot_product_attention(q, k, v, is_causal=True, fused=False).numpy()
    _assert_close(got, want, "float32", "output")


def test_fully_masked_rows_are_nan_as_in_the_composed_ops(xp, dev):
    if not dev.caps.fp64:
        pytest.skip("device lacks cl_khr_fp64")
    rng = np.random.default_rng(4)
    arrays = [rng.standard_normal(s) for s in ((2, 6, 8), (2, 19, 8), (2, 19, 8))]
    keep = _keep(rng, (2, 6, 19))
    keep[0, 2] = False  # query 2 of head 0 may attend to nothing
    bias = np.where(keep, 0.0, -np.inf)
    grad = rng.standard_normal((2, 6, 8))
    for mask in (keep, bias):
        y, grads = _run(xp, arrays, mask, False, grad, fused=None)
        want_y, want_grads = _run(xp, arrays, mask, False, grad, fused=False)
        assert np.isnan(y[0, 2]).all() and not np.isnan(y[1]).any()
        np.testing.assert_allclose(y, want_y, rtol=1e-10, atol=1e-10)  # NaNs in the same places
        for got, want in zip(grads, want_grads, strict=True):
            assert (np.isnan(got) == np.isnan(want)).all()
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-10)


def test_gradcheck_of_the_fused_op_in_float64(xp, dev):
    if not dev.caps.fp64:
        pytest.skip("device lacks cl_khr_fp64")
    rng = np.random.default_rng(5)
    shapes = ((1, 2, 5, 3), (1, 2, 19, 3), (1, 2, 19, 2))  # two key blocks of BLOCK_N = 16
    q, k, v = (ax.Variable(xp.asarray(rng.standard_normal(s)), requires_grad=True) for s in shapes)
    keep = xp.asarray(_keep(rng, (5, 19)))
    bias = xp.asarray(rng.standard_normal((2, 5, 19)))
    assert ax.gradcheck(lambda q, k, v: ax.dot_product_attention(q, k, v, keep), (q, k, v))
    assert ax.gradcheck(lambda q, k, v: ax.dot_product_attention(q, k, v, bias), (q, k, v))
    assert ax.gradcheck(
        lambda q, k, v: ax.dot_product_attention(q, k, v, is_causal=True, scale=0.3), (q, k, v)
    )


def test_backward_is_deterministic(xp):
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal((3, 40, 16)).astype(np.float32) for _ in range(3)]
    grad = rng.standard_normal((3, 40, 16)).astype(np.float32)
    first = _run(xp, arrays, None, True, grad, fused=None)[1]
    second = _run(xp, arrays, None, True, grad, fused=None)[1]
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.fixture
def launched(monkeypatch):
    """The names of the kernels launched through ``Kernel.launch`` while the test runs."""
    names: list[str] = []
    original = launch.Kernel.launch

    def spy(self, *args, **kwargs):
        names.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(launch.Kernel, "launch", spy)
    return names


def _attention_kernels(names):
    return [n for n in names if n.startswith("attention_")]


def test_the_fused_kernels_run_forward_and_backward(xp, launched):
    q = ax.Variable(xp.ones((2, 3, 5, 4), dtype=xp.float32), requires_grad=True)
    y = F.scaled_dot_product_attention(q, q, q, is_causal=True)
    assert _attention_kernels(launched) == ["attention_forward"]
    y.sum().backward()
    assert _attention_kernels(launched) == [
        "attention_forward",
        "attention_backward_dq",
        "attention_backward_dkdv",
    ]


def test_the_composed_ops_run_when_asked_or_with_dropout(xp, launched):
    q = ax.Variable(xp.ones((2, 5, 4), dtype=xp.float32), requires_grad=True)
    F.scaled_dot_product_attention(q, q, q, fused=False).sum().backward()
    F.scaled_dot_product_attention(q, q, q, dropout_p=0.5, seed=1).sum().backward()
    assert _attention_kernels(launched) == []
    with pytest.raises(ValueError, match="dropout"):
        F.scaled_dot_product_attention(q, q, q, dropout_p=0.5, fused=True)


@pytest.mark.parametrize("masks", ["none", "causal", "padding"])
def test_multihead_attention_without_weights_takes_the_fused_path(xp, launched, masks):
    mha = nn.MultiheadAttention(16, 4, batch_first=True, seed=0).to("opencl")
    rng = np.random.default_rng(7)
    x = ax.Variable(xp.asarray(rng.standard_normal((3, 11, 16)).astype(np.float32)))
    kwargs = {}
    if masks == "causal":
        kwargs["is_causal"] = True
    if masks == "padding":
        padding = np.zeros((3, 11), bool)
        padding[1, 7:] = True
        kwargs["key_padding_mask"] = xp.asarray(padding)
    out, weights = mha(x, x, x, need_weights=False, **kwargs)
    assert weights is None
    assert _attention_kernels(launched) == ["attention_forward"]
    want, _ = mha(x, x, x, need_weights=True, **kwargs)
    assert _attention_kernels(launched) == ["attention_forward"]
    _assert_close(out.numpy(), want.numpy(), "float32", "multi-head output")


def test_bad_inputs_name_the_shapes(xp):
    q = xp.zeros((2, 3, 4), dtype=xp.float32)
    with pytest.raises(ValueError, match=r"\(2, 3, 4\).*\(2, 5, 3\)"):
        F.scaled_dot_product_attention(q, xp.zeros((2, 5, 3), dtype=xp.float32), q)
    with pytest.raises(ValueError, match=r"\(2, 5, 4\) and \(2, 6, 4\)"):
        ax.dot_product_attention(
            q, xp.zeros((2, 5, 4), dtype=xp.float32), xp.zeros((2, 6, 4), dtype=xp.float32)
        )
    with pytest.raises(ValueError, match=r"\(3, 3, 4\).*\(2, 3, 4\)"):
        ax.dot_product_attention(xp.zeros((3, 3, 4), dtype=xp.float32), q, q)
    with pytest.raises(ValueError, match=r"attn_mask of shape \(4, 3\).*\(2, 3, 3\)"):
        ax.dot_product_attention(q, q, q, xp.zeros((4, 3), dtype=xp.bool))
    with pytest.raises(ValueError, match="not both"):
        ax.dot_product_attention(q, q, q, xp.ones((3, 3), dtype=xp.bool), is_causal=True)


def test_head_sizes_beyond_the_kernels_take_the_portable_path(xp, launched):
    big = cl_attention.MAX_HEAD_DIM + 1
    q = xp.ones((1, 3, big), dtype=xp.float32)
    y = ax.dot_product_attention(q, q, q)
    np.testing.assert_allclose(y.numpy(), np.ones((1, 3, big)), rtol=1e-6)
    assert _attention_kernels(launched) == []


OCLGRIND_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import axoncl as ax
    import axoncl.backends.opencl as xp

    dev = xp.default_device()
    assert dev.caps.name.startswith("Oclgrind"), dev.caps.name
    dev.vector_width = int(sys.argv[1])  # rows per work-item: 1 (GPU style) or 16 (CPU style)
    rng = np.random.default_rng(0)
    dtypes = ["float32", "float64"] if dev.caps.fp64 else ["float32"]
    for dtype in dtypes:
        for shapes, mask, causal in [
            (((2, 5, 3), (2, 19, 3), (2, 19, 2)), rng.random((5, 19)) < 0.6, False),
            (((1, 2, 18, 8), (1, 2, 17, 8), (1, 2, 17, 8)), None, True),
            (((2, 9, 16), (2, 4, 16), (2, 4, 5)), rng.standard_normal((2, 9, 4)), False),
        ]:
            q, k, v = (ax.Variable(xp.asarray(rng.standard_normal(s).astype(dtype)),
                                   requires_grad=True) for s in shapes)
            m = None if mask is None else xp.asarray(
                mask if mask.dtype == bool else mask.astype(dtype))
            y = ax.dot_product_attention(q, k, v, m, is_causal=causal)
            y.sum().backward()
            for t in (y, q.grad, k.grad, v.grad):
                t.numpy()
    print("ok")
""")


@pytest.mark.oclgrind
@pytest.mark.parametrize("rows", ["1", "16"])
def test_attention_kernels_run_clean_under_oclgrind_with_race_checks(tmp_path, rows):
    assert_clean_under_oclgrind(tmp_path, OCLGRIND_SCRIPT, rows, checks=("--data-races",))
