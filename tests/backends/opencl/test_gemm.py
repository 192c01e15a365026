"""GEMM kernels (``kernels/gemm.cl``) against a float64 numpy reference.

Tolerance, derived rather than guessed: each output is a dot product of length K accumulated in
the working precision (fma or mul+add), then scaled and summed with beta*C and the bias. The
classic bound for a length-K dot product is ``|err| <= gamma_K * sum_k |a_ik| |b_kj|`` with
``gamma_K = K*eps / (1 - K*eps)``; the epilogue adds at most three more roundings. So per element

    tol_ij = (K + 4) * eps * (|alpha| (|A| @ |B|)_ij + |beta| |C0_ij| + |bias|) * 1.01 + tiny

with ``eps`` the dtype's unit roundoff (2**-24 for float32, 2**-53 for float64). It is a
rigorous bound, not a statistical one, so no test can fail by bad luck.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oclgrind_runner import assert_clean_under_oclgrind

cl = pytest.importorskip("pyopencl")

from axoncl.backends.opencl import gemm_params, gemm_tuner  # noqa: E402
from axoncl.backends.opencl.device import NoOpenCLError, get_device  # noqa: E402
from axoncl.backends.opencl.gemm import (  # noqa: E402
    MatrixOperand,
    VectorOperand,
    choose_path,
    gemm,
)
from axoncl.backends.opencl.gemm_params import (  # noqa: E402
    GemmParams,
    load_params,
    save_params,
)

BENCHMARK_SHAPES = [  # (m, k, n), the shapes of benchmarks/gemm.py
    (256, 256, 256),
    (512, 512, 512),
    (1024, 1024, 1024),
    (2048, 2048, 2048),
    (4096, 256, 256),
    (12544, 288, 64),
]
PATHS = ["direct", "packed", "tiled"]  # "tiled" is the GPU kernel, forced on whatever device


@pytest.fixture(scope="module")
def device():
    try:
        return get_device()
    except NoOpenCLError:
        pytest.skip("no OpenCL device")


@pytest.fixture(autouse=True)
def _own_cache_dir(tmp_path, monkeypatch):
    # Keep tuned overrides of the user's machine out of the tests, and ours out of theirs.
    monkeypatch.setenv("AXONCL_CACHE_DIR", str(tmp_path / "axoncl-cache"))


def _eps(dtype) -> float:
    return float(np.finfo(dtype).eps) / 2


def _buffer(device, host: np.ndarray):
    flags = cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR
    return cl.Buffer(device.cl_context, flags, hostbuf=np.ascontiguousarray(host))


def _operand(rng, batch, rows, cols, *, transposed, broadcast, pad, dtype):
    """A (batch, rows, cols) operand stored row- or column-major after ``pad`` elements.

    Returns the logical float64 array, the flat storage, the offset and the strides.
    """
    stored_batch = 1 if broadcast else batch
    shape = (stored_batch, cols, rows) if transposed else (stored_batch, rows, cols)
    data = rng.uniform(-1, 1, size=shape).astype(dtype)
    logical = np.swapaxes(data, 1, 2) if transposed else data
    if broadcast:
        logical = np.broadcast_to(logical, (batch, rows, cols))
        batch_stride = 0
    else:
        batch_stride = rows * cols
    strides = (batch_stride, 1, rows) if transposed else (batch_stride, cols, 1)
    flat = np.concatenate(
        [rng.uniform(-1, 1, pad).astype(dtype), data.ravel(), np.full(pad, np.nan, dtype)]
    )
    return logical.astype(np.float64), flat, pad, strides


def _run(
    device,
    m,
    n,
    k,
    batch=1,
    *,
    trans_a=False,
    trans_b=False,
    bcast_a=False,
    bcast_b=False,
    alpha=1.0,
    beta=0.0,
    bias_axis=None,
    relu=False,
    dtype=np.float32,
    path=None,
    c_col=1,
    params=None,
    seed=0,
):
    """Run one GEMM and check it element by element; returns the path that ran."""
    rng = np.random.default_rng(seed)
    pad = 3
    a, a_flat, a_off, a_str = _operand(
        rng, batch, m, k, transposed=trans_a, broadcast=bcast_a, pad=pad, dtype=dtype
    )
    b, b_flat, b_off, b_str = _operand(
        rng, batch, k, n, transposed=trans_b, broadcast=bcast_b, pad=pad, dtype=dtype
    )
    # C: rows of n*c_col elements, of which every c_col-th is ours; the rest must stay intact.
    c_store = rng.uniform(-1, 1, size=pad + batch * m * n * c_col + pad).astype(dtype)
    if beta == 0:
        c_store[pad : pad + batch * m * n * c_col] = np.nan  # never read when beta == 0
    c_str = (m * n * c_col, n * c_col, c_col)
    c0 = np.lib.stride_tricks.as_strided(
        c_store[pad:], shape=(batch, m, n), strides=tuple(s * c_store.itemsize for s in c_str)
    ).astype(np.float64)
    bias = None
    bias_kw = {}
    if bias_axis is not None:
        bias_len = m if bias_axis == 0 else n
        bias_store = rng.uniform(-1, 1, size=1 + 2 * max(bias_len, 1)).astype(dtype)
        bias = bias_store[1::2][:bias_len].astype(np.float64)
        bias_kw = dict(bias=VectorOperand(_buffer(device, bias_store), 1, 2), bias_axis=bias_axis)

    a_buf, b_buf, c_buf = (_buffer(device, x) for x in (a_flat, b_flat, c_store))
    gemm(
        device,
        MatrixOperand(a_buf, a_off, a_str),
        MatrixOperand(b_buf, b_off, b_str),
        MatrixOperand(c_buf, pad, c_str),
        m=m,
        n=n,
        k=k,
        batch=batch,
        dtype=dtype,
        alpha=alpha,
        beta=beta,
        relu=relu,
        path=path,
        params=params,
        **bias_kw,
    )
    out = np.empty_like(c_store)
    cl.enqueue_copy(device.queue, out, c_buf)

    expect = alpha * np.matmul(a, b)
    scale = abs(alpha) * np.matmul(np.abs(a), np.abs(b))
    if beta != 0:
        expect = expect + beta * c0
        scale = scale + abs(beta) * np.abs(c0)
    if bias is not None:
        expect = expect + (bias[:, None] if bias_axis == 0 else bias[None, :])
        scale = scale + np.abs(bias[:, None] if bias_axis == 0 else bias[None, :])
    if relu:
        expect = np.maximum(expect, 0)
    eps = _eps(dtype)
    tol = (k + 4) * eps * scale * 1.01 + np.finfo(dtype).tiny

    got = np.lib.stride_tricks.as_strided(
        out[pad:], shape=(batch, m, n), strides=tuple(s * out.itemsize for s in c_str)
    )
    err = np.abs(got.astype(np.float64) - expect)
    bad = ~(err <= tol)  # also catches NaN
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        where = f"{m}x{k}x{n} batch {batch} ({path or 'auto'}, {np.dtype(dtype)})"
        raise AssertionError(
            f"gemm {where}: "
            f"{int(bad.sum())} wrong elements; first at {idx}: got {got[idx]!r}, "
            f"expected {expect[idx]!r}, tolerance {tol[idx]:.3g}"
        )
    # Everything outside C's view keeps its value.
    mask = np.ones(out.shape, bool)
    view = np.lib.stride_tricks.as_strided(
        mask[pad:],
        shape=(batch, m, n),
        strides=tuple(s * mask.itemsize for s in c_str),
        writeable=True,
    )
    view[...] = False
    np.testing.assert_array_equal(out[mask], c_store[mask], err_msg="gemm wrote outside C's view")
    return path or choose_path(device, m, n, k, batch=batch)


@pytest.mark.parametrize("mkn", BENCHMARK_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_benchmark_shapes(device, mkn):
    m, k, n = mkn
    _run(device, m, n, k)


@pytest.mark.parametrize("path", PATHS)
@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    m=st.sampled_from([0, 1, 2, 7, 8, 9, 17, 31, 33, 64, 67]),
    n=st.sampled_from([0, 1, 3, 15, 16, 17, 32, 33, 47, 64, 65, 100]),
    k=st.sampled_from([0, 1, 2, 5, 16, 29, 64, 97]),
    batch=st.integers(1, 3),
    trans_a=st.booleans(),
    trans_b=st.booleans(),
    bcast=st.sampled_from([(False, False), (True, False), (False, True)]),
    alpha=st.sampled_from([1.0, -0.5, 2.0]),
    beta=st.sampled_from([0.0, 1.0, 0.25]),
    bias_axis=st.sampled_from([None, 0, 1]),
    relu=st.booleans(),
    c_col=st.sampled_from([1, 1, 2]),
    dtype=st.sampled_from(["float32", "float32", "float64"]),
)
def test_random_shapes(
    device,
    path,
    m,
    n,
    k,
    batch,
    trans_a,
    trans_b,
    bcast,
    alpha,
    beta,
    bias_axis,
    relu,
    c_col,
    dtype,
):
    if dtype == "float64" and not device.caps.fp64:
        dtype = "float32"
    _run(
        device,
        m,
        n,
        k,
        batch,
        trans_a=trans_a,
        trans_b=trans_b,
        bcast_a=bcast[0],
        bcast_b=bcast[1],
        alpha=alpha,
        beta=beta,
        bias_axis=bias_axis,
        relu=relu,
        dtype=np.dtype(dtype).type,
        path=path,
        c_col=c_col,
    )


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "mkn",
    [
        (1, 1, 1),
        (1, 1000, 1),
        (1000, 1, 1000),
        (1, 257, 300),
        (300, 257, 1),
        (127, 131, 137),
        (97, 1031, 35),
    ],
    ids=lambda s: "x".join(map(str, s)),
)
def test_edges_primes_skinny(device, path, mkn):
    m, k, n = mkn
    _run(device, m, n, k, path=path, beta=0.5, bias_axis=1, relu=True)


@pytest.mark.parametrize("path", PATHS)
def test_k_zero_is_scaled_c_plus_bias(device, path):
    _run(device, 5, 19, 0, 2, beta=0.5, bias_axis=0, relu=True, path=path)
    _run(device, 5, 19, 0, beta=0.0, bias_axis=1, path=path)


def test_packed_k_chunks_accumulate(device):
    # kc smaller than K: several launches; only the last one adds the bias and applies ReLU.
    params = load_params(device).replace(kc=16)
    for relu in (False, True):
        _run(
            device,
            45,
            70,
            75,
            2,
            beta=0.5,
            alpha=-1.5,
            bias_axis=1,
            relu=relu,
            path="packed",
            params=params,
            trans_a=True,
        )


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float64_and_float32_transposed_batched(device, dtype):
    if dtype == np.float64 and not device.caps.fp64:
        pytest.skip("device lacks cl_khr_fp64")
    for path in PATHS:
        _run(
            device,
            70,
            90,
            130,
            3,
            trans_a=True,
            trans_b=True,
            bcast_b=True,
            beta=1.0,
            bias_axis=0,
            dtype=dtype,
            path=path,
        )


def test_auto_path_uses_direct_for_small_problems(device):
    p = load_params(device)
    assert choose_path(device, 4, 4, 4) == "direct"
    assert choose_path(device, 2048, 2048, 2048) == p.large
    assert choose_path(device, 2048, 2048, 0) == "direct"
    # The threshold counts the batch: many small products are one large problem (conv1's 64
    # images of 16 x 784 x 9 on a CPU; a GPU's threshold is higher, so it takes more of them).
    assert choose_path(device, 16, 784, 9) == "direct"
    batch = max(64, -(-p.direct_below // (16 * 784 * 9)))
    assert choose_path(device, 16, 784, 9, batch=batch) == p.large
    assert choose_path(device, 16, 784, 9, batch=batch - 1) == ("direct" if batch > 64 else p.large)


def test_zero_sized_outputs_do_nothing(device):
    buf = _buffer(device, np.zeros(4, np.float32))
    gemm(device, MatrixOperand(buf), MatrixOperand(buf), MatrixOperand(buf), m=0, n=3, k=2)
    gemm(device, MatrixOperand(buf), MatrixOperand(buf), MatrixOperand(buf), m=2, n=0, k=2)
    gemm(device, MatrixOperand(buf), MatrixOperand(buf), MatrixOperand(buf), m=2, n=2, k=1, batch=0)


def test_bad_arguments_raise(device):
    buf = _buffer(device, np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="float32, float64, float16 or bfloat16"):
        gemm(
            device,
            MatrixOperand(buf),
            MatrixOperand(buf),
            MatrixOperand(buf),
            m=1,
            n=1,
            k=1,
            dtype=np.int32,
        )
    with pytest.raises(ValueError, match="outside its buffer"):
        gemm(device, MatrixOperand(buf), MatrixOperand(buf), MatrixOperand(buf), m=3, n=3, k=3)
    with pytest.raises(ValueError, match="non-negative"):
        gemm(device, MatrixOperand(buf), MatrixOperand(buf), MatrixOperand(buf), m=-1, n=1, k=1)
    with pytest.raises(ValueError, match="bias_axis"):
        gemm(
            device,
            MatrixOperand(buf),
            MatrixOperand(buf),
            MatrixOperand(buf),
            m=1,
            n=1,
            k=1,
            bias_axis=2,
            bias=VectorOperand(buf, 0, 1),
        )


def test_params_round_trip(device):
    base = load_params(device)
    tuned = base.replace(rm=base.rm + 1, kc=base.kc // 2, direct_below=12345)
    path = save_params(device, tuned, extra={"note": "test"})
    assert path.is_file()
    assert json.loads(path.read_text())["params"]["direct_below"] == 12345
    assert load_params(device) == tuned
    gemm_params.clear_cache(device)
    assert load_params(device) == base


def test_tuned_table_changes_the_params_used(device):
    base = load_params(device)
    other_rm = 5 if base.rm != 5 else 4
    save_params(device, {"rm": other_rm, "direct_below": 0})
    assert choose_path(device, 4, 4, 4) == load_params(device).large
    # A packed GEMM now builds its program with the tuned register block.
    _run(device, 23, 40, 11, path="packed")
    assert any(f"-DRM={other_rm}" in opts for fam, opts in device.programs if fam == "gemm")


def test_unknown_field_in_tuned_file_raises(device):
    path = gemm_params.cache_path(device)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"params": {"bogus": 1}}))
    with pytest.raises(ValueError, match="unknown fields"):
        load_params(device)


def test_tune_writes_a_loadable_winner(device, monkeypatch):
    if device.caps.kind != "cpu":
        pytest.skip("the tuner's candidates are for the CPU kernel")
    few = [GemmParams(), GemmParams().replace(rm=6, kc=256)]
    monkeypatch.setattr(gemm_tuner, "_candidates", lambda base: few)
    result = gemm_tuner.tune(device, sizes=(96,), repeat=1)
    assert len(result["results"]) == 2
    assert load_params(device).as_dict() == result["params"]


def test_tiled_falls_back_to_direct_when_the_work_group_does_not_fit(device, monkeypatch):
    from axoncl.backends.opencl import gemm as gemm_module

    real_kernel = gemm_module._kernel

    class Tight:  # a tiled kernel whose compiled work-group limit is 1
        def __init__(self, kernel):
            self.kernel, self.max_local = kernel, 1

        def launch(self, *args, **kwargs):
            raise AssertionError("the tiled kernel must not be launched")

    def kernel(device, name, defines):
        found = real_kernel(device, name, defines)
        return Tight(found) if name == "gemm_tiled" else found

    monkeypatch.setattr(gemm_module, "_kernel", kernel)
    _run(device, 20, 30, 7, path="tiled", beta=0.5)
    _run(device, 20, 30, 7, path="tiled", bias_axis=0, relu=True)


OCLGRIND_SCRIPT = """
import numpy as np, pyopencl as cl
from axoncl.backends.opencl.device import default_device
from axoncl.backends.opencl.gemm import MatrixOperand, VectorOperand, gemm

dev = default_device()
assert dev.caps.name.startswith("Oclgrind"), dev.caps.name
rng = np.random.default_rng(0)
flags = cl.mem_flags.READ_WRITE | cl.mem_flags.COPY_HOST_PTR
for path in ("direct", "packed", "tiled"):
    cases = ((19, 40, 13, False, False), (9, 33, 5, True, False), (9, 33, 21, True, True),
             (16, 64, 7, False, True))
    for m, n, k, trans, c_trans in cases:
        # Exactly sized buffers: any read or write past an edge is an oclgrind error.
        # (trans: A and B stored transposed; B is then packed with strided loads. c_trans: C
        # stored transposed, with a bias per row as a swapped linear layer has, and whole
        # blocks in the last case)
        a = rng.uniform(-1, 1, (2, k, m) if trans else (2, m, k)).astype(np.float32)
        b = rng.uniform(-1, 1, (n, k) if trans else (k, n)).astype(np.float32)
        c = rng.uniform(-1, 1, (2, m, n)).astype(np.float32)
        bias = rng.uniform(-1, 1, m if c_trans else n).astype(np.float32)
        bufs = [cl.Buffer(dev.cl_context, flags, hostbuf=x) for x in (a, b, c, bias)]
        a_strides = (m * k, 1, m) if trans else (m * k, k, 1)
        a_op = MatrixOperand(bufs[0], 0, a_strides)
        c_op = MatrixOperand(bufs[2], 0, (m * n, 1, m) if c_trans else (m * n, n, 1))
        b_op = MatrixOperand(bufs[1], 0, (0, 1, k) if trans else (0, n, 1))
        gemm(dev, a_op, b_op, c_op, m=m, n=n, k=k, batch=2, beta=0.5,
             relu=True, path=path, bias=VectorOperand(bufs[3]), bias_axis=0 if c_trans else 1)
        out = np.empty_like(c)
        cl.enqueue_copy(dev.queue, out, bufs[2])
        c_log, bias_log = c, bias
        if c_trans:  # the buffer holds C's transposed layout, before and after
            out = np.swapaxes(out.reshape(2, n, m), 1, 2)
            c_log, bias_log = np.swapaxes(c.reshape(2, n, m), 1, 2), bias[:, None]
        a_log = np.swapaxes(a, 1, 2) if trans else a
        ref = a_log.astype(np.float64) @ (b.T if trans else b) + 0.5 * c_log + bias_log
        ref = np.maximum(ref, 0)
        np.testing.assert_allclose(out, ref, rtol=1e-5, atol=1e-5)
print("ok")
"""


@pytest.mark.oclgrind
def test_gemm_kernels_run_clean_under_oclgrind(tmp_path):
    assert_clean_under_oclgrind(tmp_path, OCLGRIND_SCRIPT)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 7, 16, 17, 40])
def test_packing_a_transposed_b(device, dtype, k):
    """B stored transposed is packed row by row with strided loads: whole panels of N and a
    partial one, several K, a batch of two and one broadcast."""
    if dtype == np.float64 and not device.caps.fp64:
        pytest.skip("device lacks cl_khr_fp64")
    for n, batch, bcast in [(1, 1, False), (33, 2, False), (70, 2, True)]:
        _run(device, 9, n, k, batch, trans_b=True, bcast_b=bcast, dtype=dtype, path="packed")


def _plan_count(device) -> int:
    """GEMM plans cached on the device (its state also holds other modules' entries)."""
    return sum(1 for key in list(device.state) if isinstance(key, tuple) and key[0] == "gemm_plan")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_planned_call_reads_each_calls_operands_and_checks_their_extents(device, dtype):
    """A call repeated with the default path reuses its plan: other buffers, offsets, alpha,
    beta and bias give their own results, on the direct and the large path (on a CPU the packed
    one, B packed and in place), and an operand too short for the planned shape is still
    refused."""
    if dtype == np.float64 and not device.caps.fp64:
        pytest.skip("device lacks cl_khr_fp64")
    from axoncl.backends.opencl import gemm as gemm_module

    for key in list(device.state):  # a cache: start this test without plans
        if isinstance(key, tuple) and key[0] == "gemm_plan":
            device.state.pop(key, None)
    p = load_params(device)
    large = [(70, 64, 90, False), (70, 50, 90, True)]
    if 70 * 50 * 90 < p.direct_below:  # GPUs take the tiled kernel only from ~512^3 on
        s = round(p.direct_below ** (1 / 3)) + 8
        large = [(s, s, s + 2, False), (s, s - 6, s + 2, True)]
    rng = np.random.default_rng(3)
    for m, n, k, trans_b in [(5, 6, 7, False), *large]:
        assert choose_path(device, m, n, k) == ("direct" if m == 5 else p.large)
        b_strides = (0, 1, k) if trans_b else (0, n, 1)

        def call(a_buf, b_buf, c_buf, bias_buf, off, alpha, beta):
            gemm(
                device,
                MatrixOperand(a_buf, off, (0, k, 1)),
                MatrixOperand(b_buf, off, b_strides),
                MatrixOperand(c_buf, off, (0, n, 1)),
                m=m,
                n=n,
                k=k,
                dtype=dtype,
                alpha=alpha,
                beta=beta,
                bias=VectorOperand(bias_buf, off, 1),
            )

        key_count = _plan_count(device)
        for step in range(3):
            off = 2 * step
            a = rng.standard_normal((m, k)).astype(dtype)
            b = rng.standard_normal((n, k) if trans_b else (k, n)).astype(dtype)
            c0 = rng.standard_normal((m, n)).astype(dtype)
            bias = rng.standard_normal(n).astype(dtype)
            pad = np.zeros(off, dtype)
            bufs = [_buffer(device, np.concatenate([pad, x.ravel()])) for x in (a, b, c0, bias)]
            alpha, beta = 1.0 + step, 0.5 * step
            call(*bufs, off, alpha, beta)
            out = np.empty(off + m * n, dtype)
            cl.enqueue_copy(device.queue, out, bufs[2])
            b_log = b.T if trans_b else b
            want = alpha * (a.astype(np.float64) @ b_log) + beta * c0 + bias
            tol = 1e-4 if dtype == np.float32 else 1e-11
            np.testing.assert_allclose(out[off:].reshape(m, n), want, rtol=tol, atol=tol * k)
        # two plans per shape: the first call has beta == 0 (no C read), the others do not
        assert _plan_count(device) == key_count + 2
        short = _buffer(device, np.zeros(m * k - 1, dtype))
        with pytest.raises(ValueError, match="A with offset 0.*outside its buffer"):
            call(short, bufs[1], bufs[2], bufs[3], 0, 1.0, 0.5)
    assert any(
        isinstance(v, gemm_module._Plan)
        and v.path == p.large
        and (v.pack is not None or p.large != "packed")
        for v in device.state.values()
    )
