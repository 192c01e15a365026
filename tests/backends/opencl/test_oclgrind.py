"""Every kernel family under the oclgrind simulator (memory checks): elementwise, copy and
index kernels in two launch styles, then reductions, softmax, sorting, convolution, pooling and
dropout through a small autograd step (GEMM and attention have their own oclgrind tests, in
test_gemm.py and test_attention.py), the per-channel kernels of fused.cl and norm.cl (sums,
batch normalisation) with the data-race check, and the implicit-GEMM convolution kernels of
gemm.cl (which CPU devices take; forced on the simulator)."""

import textwrap

import pytest
from oclgrind_runner import assert_clean_under_oclgrind

SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import axoncl.backends.opencl as xp

    dev = xp.default_device()
    assert dev.caps.name.startswith("Oclgrind"), dev.caps.name
    if sys.argv[1] == "vec16":  # the CPU launch style (vload16 path) on the simulator
        dev.vector_width = 16
        dev.local_sizes = (64, 8, 2 * 64 * max(dev.caps.compute_units, 1))
    a = np.arange(37, dtype=np.float32) - 5
    x = xp.asarray(a)
    m = xp.asarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    idx = xp.asarray(np.zeros((3, 1), np.int64))
    out = [x + x, x * 2.0, 3.0 - x, xp.exp(x[::3]), m + m[0], m.T * m.T,
           xp.astype(m, xp.int32), xp.where(m > 3, m, 0.0), m[xp.asarray([2, 0])],
           xp.take_along_axis(m, idx, axis=1), xp.arange(10), xp.zeros((2, 3)),
           xp.floor_divide(xp.asarray([7, -7]), xp.asarray([2, 2])), xp.flip(x) - 1.0,
           xp.logical_not(x > 0), xp.concat([m, m], axis=1), xp.eye(3),
           xp.asarray(np.arange(6).reshape(2, 3)) @ xp.asarray(np.arange(3))]
    m[xp.asarray([1])] = 5.0
    m[:, ::2] = 1.0
    m[m > 4] = 0.0
    out.append(m)
    for o in out:
        o.to_numpy()
    np.testing.assert_allclose((x + x).to_numpy(), a + a)
    np.testing.assert_allclose((3.0 - x).to_numpy(), 3.0 - a)
    try:  # an out-of-range index is reported by the kernel, and never read out of bounds
        x[xp.asarray([99, -99])].to_numpy()
        raise AssertionError("no IndexError")
    except IndexError as exc:
        assert "index 99" in str(exc), exc
    print("ok")
""")

FAMILIES_SCRIPT = textwrap.dedent("""
    import numpy as np
    import axoncl as ax
    import axoncl.backends.opencl as xp

    dev = xp.default_device()
    assert dev.caps.name.startswith("Oclgrind"), dev.caps.name
    rng = np.random.default_rng(0)
    h = rng.standard_normal((5, 7)).astype(np.float32)
    m = xp.asarray(h)
    outs = [xp.sum(m), xp.sum(m, axis=0), xp.max(m, axis=1), xp.mean(m.T, axis=0),
            xp.var(m, axis=1), xp.prod(m[:, :3], axis=1), xp.argmax(m, axis=1),
            xp.cumulative_sum(m, axis=1), xp.any(m > 1.0), xp.nonzero(m > 0.5)[0],
            xp.softmax(m, axis=1), xp.log_softmax(m, axis=0), xp.logsumexp(m, axis=1),
            xp.sort(m, axis=1), xp.argsort(m, axis=0, descending=True),
            xp.searchsorted(xp.sort(m[0]), m[1])]
    for o in outs:
        o.to_numpy()
    np.testing.assert_allclose(xp.sum(m, axis=0).to_numpy(), h.sum(0), rtol=1e-5)
    x = ax.Variable(xp.asarray(rng.standard_normal((2, 3, 9, 9)).astype(np.float32)))
    w = ax.Variable(xp.asarray(rng.standard_normal((4, 3, 3, 3)).astype(np.float32)),
                    requires_grad=True)
    b = ax.Variable(xp.asarray(np.zeros(4, np.float32)), requires_grad=True)
    y = ax.conv2d(x, w, b, stride=2, padding=1)
    y = ax.max_pool2d(ax.relu(y), 2) + ax.avg_pool2d(y, 2)
    y = ax.dropout(y, 0.3, seed=1)
    loss = ax.cross_entropy(y.reshape((2, -1)), xp.asarray(np.array([0, 3])))
    loss.backward()
    w.grad.numpy()
    # The optimizer, loss and fused-backward kernels: a few steps of a small MLP.
    from axoncl import nn, optim
    # (17 columns: a whole run of 16 and a partial one in the bias-gradient kernels)
    model = nn.Sequential(nn.Linear(7, 17), nn.ReLU(), nn.Linear(17, 3)).to("opencl")
    labels = xp.asarray(np.array([0, 2, 1, 1, -100]))
    for opt in (optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True),
                optim.AdamW(model.parameters(), amsgrad=True)):
        for reduction in ("mean", "sum", "none"):
            opt.zero_grad()
            out = ax.cross_entropy(model(ax.Variable(m)), labels, reduction=reduction)
            (out if reduction != "none" else out.sum()).backward()
            opt.step()
    model[0].weight.numpy()
    print("ok")
""")


@pytest.mark.oclgrind
@pytest.mark.parametrize("style", ["vec1", "vec16"])
def test_kernels_run_clean_under_oclgrind(tmp_path, style):
    assert_clean_under_oclgrind(tmp_path, SCRIPT, style)


@pytest.mark.oclgrind
def test_reduction_softmax_sort_conv_pool_dropout_run_clean_under_oclgrind(tmp_path):
    assert_clean_under_oclgrind(tmp_path, FAMILIES_SCRIPT)


CHANNELS_SCRIPT = textwrap.dedent("""
    import sys
    import numpy as np
    import axoncl as ax
    import axoncl.backends.opencl as xp
    from axoncl import nn
    from axoncl.backends import primitives

    dev = xp.default_device()
    assert dev.caps.name.startswith("Oclgrind"), dev.caps.name
    if sys.argv[1] == "vec16":  # the CPU launch style (runs of 16) on the simulator
        dev.vector_width = 16
        dev.local_sizes = (64, 8, 2 * 64 * max(dev.caps.compute_units, 1))
    rng = np.random.default_rng(0)
    # Ragged runs, fewer values than a work-group, more than one pass of the group.
    for shape in [(2, 3, 5, 7), (1, 2, 1, 1), (3, 4, 40)]:
        h = rng.standard_normal(shape).astype(np.float32)
        axes = (0, *range(2, len(shape)))
        got = primitives.sum(xp.asarray(h), axis=axes, keepdims=False, xp=xp).to_numpy()
        np.testing.assert_allclose(got, h.sum(axis=axes), rtol=1e-5, atol=1e-5)
    for shape in [(5, 37), (70, 3)]:
        h = rng.standard_normal(shape).astype(np.float32)
        got = primitives.sum(xp.asarray(h), axis=(0,), keepdims=False, xp=xp).to_numpy()
        np.testing.assert_allclose(got, h.sum(axis=0), rtol=1e-5, atol=1e-5)
    # Batch norm (statistics, affine and combine passes), ReLU, linear backward, the kept
    # convolution columns: one small training step.
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(),
        nn.Linear(4 * 5 * 5, 3),
    ).to("opencl")
    x = ax.Variable(xp.asarray(rng.standard_normal((2, 3, 5, 5)).astype(np.float32)))
    loss = ax.cross_entropy(model(x), xp.asarray(np.array([0, 2])))
    loss.backward()
    for p in model.parameters():
        p.grad.numpy()
    print("ok")
""")


@pytest.mark.oclgrind
@pytest.mark.parametrize("style", ["vec1", "vec16"])
def test_channel_kernels_run_clean_and_race_free_under_oclgrind(tmp_path, style):
    assert_clean_under_oclgrind(tmp_path, CHANNELS_SCRIPT, style, checks=("--data-races",))


IMPLICIT_SCRIPT = textwrap.dedent("""
    import numpy as np
    import axoncl.backends.opencl as xp
    from axoncl.backends import primitives
    from axoncl.backends.opencl import conv, gemm_params

    dev = xp.default_device()
    assert dev.caps.name.startswith("Oclgrind"), dev.caps.name
    im2col_only = conv._implicit_ok
    conv.load_params = lambda device: gemm_params.PARAMS["cpu"]  # the CPU path, here too
    conv._IMPLICIT_MIN_MACS = 0
    rng = np.random.default_rng(0)
    # (N, C, H, W), O, kernel, stride, padding, dilation: rows of one and two segments, a
    # partial segment, two-row segments with an odd height, stride 2, in place (no padding)
    cases = [((2, 8, 5, 20), 9, 3, 1, 1, 1), ((1, 8, 7, 5), 3, 3, 2, 1, 1),
             ((2, 9, 5, 6), 10, 3, 1, 2, 2), ((1, 3, 8, 32), 4, 1, 2, 0, 1)]
    for shape, o, k, s, p, d in cases:
        opts = dict(stride=(s, s), padding=(p, p), dilation=(d, d), groups=1, xp=xp)
        x = xp.asarray(rng.standard_normal(shape).astype(np.float32))
        w = xp.asarray(rng.standard_normal((o, shape[1], k, k)).astype(np.float32))
        b = xp.asarray(rng.standard_normal(o).astype(np.float32))
        results = []
        for implicit in (True, False):
            conv._implicit_ok = im2col_only if implicit else (lambda *args: False)
            y = primitives.conv2d(x, w, b, **opts)
            g = xp.asarray(np.cos(np.arange(y.size)).reshape(y.shape).astype(np.float32))
            dx = primitives.conv2d_input_grad(g, w, shape[2:], **opts)
            dw = primitives.conv2d_weight_grad(g, x, (k, k), **opts)
            results.append([r.to_numpy() for r in (y, dx, dw)])
        for got, want in zip(*results):
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    built = {key[1] for key in dev.kernels}
    assert {"conv_pad", "conv_implicit", "conv_pack_dy", "conv_weight_grad"} <= built, built
    print("ok")
""")


@pytest.mark.oclgrind
def test_implicit_convolution_kernels_run_clean_under_oclgrind(tmp_path):
    assert_clean_under_oclgrind(tmp_path, IMPLICIT_SCRIPT)
