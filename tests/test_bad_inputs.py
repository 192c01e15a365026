"""No silent wrong answers: bad inputs across the public API raise a clear error (type and key
words of the message asserted), and the few that used to give a wrong value now give the right
one. Each case runs on numpy and on OpenCL where it applies; docs/errors.md lists the table.

The table ``CASES`` holds the error cases: ``(id, backends, make, error, words)``. ``make(xp)``
runs the bad call on backend ``xp``; the error must be ``error`` and its message must contain
each of ``words``. The value cases follow as plain tests.
"""

from __future__ import annotations

import asyncio
import math
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from xp_backends import host, load_backend, to_xp

import axoncl
from axoncl import Function, Variable, nn, optim
from axoncl import inspect as axinspect
from axoncl.backends import DeviceSpecError, backend_name

BOTH = ("numpy", "opencl")
NUMPY = ("numpy",)
OPENCL = ("opencl",)


@pytest.fixture(params=BOTH)
def xp(request):
    return load_backend(request.param)


def _v(xp, value, dtype="float32", grad=False):
    return Variable(to_xp(xp, value, dtype), requires_grad=grad)


def _ones(xp, shape, grad=False):
    return _v(xp, np.ones(shape, np.float32), grad=grad)


def _labels(xp, values):
    return to_xp(xp, values, "int64")


def _read(v):
    """Read a value back: on a device this is where a kernel's error surfaces."""
    return host(v)


def _linear(xp, n_in=3, n_out=2):
    model = nn.Linear(n_in, n_out)
    return model.to(backend_name(xp)) if backend_name(xp) != "numpy" else model


def _backward_twice(xp):
    x = _ones(xp, (2,), grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()


def _load_mismatch(xp):
    _linear(xp).load_state_dict({"weight": np.ones((5, 3), np.float32), "bias": np.ones(2)})


def _nonleaf_param(xp):
    w = _ones(xp, (2,), grad=True)
    optim.SGD([w * 2.0], lr=0.1)


def _builtin_name_clash(xp):
    class Sigmoid(Function):  # a user rule named like the built-in sigmoid
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return (grad,)


def _inference_value_into_graph(xp):
    with axoncl.inference_mode():
        frozen = _ones(xp, (2,)) * 2.0
    (frozen * _ones(xp, (2,), grad=True)).sum()


def _two_devices(xp, op):
    from axoncl.backends.opencl.device import Device, default_device

    dev = default_device()
    other = Device(dev.platform_index, dev.device_index, dev.cl_device, dev.caps)
    x = Variable(xp.ones((1, 2, 5, 5), dtype=xp.float32))
    w = Variable(xp.ones((3, 2, 3, 3), dtype=xp.float32, device=other))
    if op == "conv2d":
        return axoncl.conv2d(x, w)
    return x + Variable(xp.ones((1, 2, 5, 5), dtype=xp.float32, device=other))


def _bad_file(tmp_kind):
    def make(xp, tmp_path):
        from axoncl.nn import load, save

        path = tmp_path / "w.npz"
        if tmp_kind == "truncated":
            data = open(save(nn.Linear(4, 3), path), "rb").read()
            path.write_bytes(data[: len(data) // 2])
        elif tmp_kind == "text":
            path.write_text("weights, but as text")
        elif tmp_kind == "npy":
            path = tmp_path / "w.npy"
            np.save(path, np.ones(3))
        elif tmp_kind == "pickle":
            np.savez(path, w=np.array([{"a": 1}], dtype=object))
        return load(path)

    return make


@dataclass(frozen=True)
class Case:
    id: str
    backends: tuple[str, ...]
    make: Callable[..., Any]
    error: type[BaseException]
    words: tuple[str, ...]


CASES = [
    # ---- ops: shapes, axes, dtypes ------------------------------------------------------
    Case(
        "add_shapes",
        BOTH,
        lambda xp: _ones(xp, (2, 3)) + _ones(xp, (4,)),
        ValueError,
        ("(2, 3)", "(4,)"),
    ),
    Case(
        "matmul_inner",
        BOTH,
        lambda xp: _ones(xp, (2, 3)) @ _ones(xp, (2, 3)),
        ValueError,
        ("matmul", "(2, 3)"),
    ),
    Case("reshape_size", BOTH, lambda xp: _ones(xp, (2, 3)).reshape((4,)), ValueError, ("6",)),
    Case("sum_axis", BOTH, lambda xp: _ones(xp, (2, 3)).sum(axis=3), ValueError, ("axis",)),
    Case(
        "softmax_axis",
        BOTH,
        lambda xp: axoncl.softmax(_ones(xp, (2, 3)), axis=2),
        ValueError,
        ("axis",),
    ),
    Case(
        "concat_shapes",
        BOTH,
        lambda xp: axoncl.concat([_ones(xp, (2, 3)), _ones(xp, (2, 4))], axis=0),
        ValueError,
        ("concat",),
    ),
    Case(
        "unsqueeze_axis",
        BOTH,
        lambda xp: axoncl.unsqueeze(_ones(xp, (2, 3)), 5),
        IndexError,
        ("unsqueeze", "axis 5", "-3 to 2"),
    ),
    Case(
        "transpose_axis",
        BOTH,
        lambda xp: axoncl.transpose(_ones(xp, (2, 3)), 0, 4),
        IndexError,
        ("transpose", "axis 4", "2 axes"),
    ),
    Case(
        "flatten_axes",
        BOTH,
        lambda xp: axoncl.flatten(_ones(xp, (2, 3)), 1, 0),
        ValueError,
        ("flatten", "start_axis 1", "end_axis 0"),
    ),
    Case(
        "astype_unknown_name",
        BOTH,
        lambda xp: axoncl.astype(_ones(xp, (2, 3)), "float99"),
        TypeError,
        ("astype", "'float99'", "float32"),
    ),
    Case(
        "broadcast_to_shape",
        BOTH,
        lambda xp: axoncl.broadcast_to(_ones(xp, (2, 3)), (4, 4)),
        ValueError,
        ("broadcast_to", "(2, 3)", "(4, 4)"),
    ),
    Case("item_of_many", BOTH, lambda xp: _ones(xp, (2,)).item(), ValueError, ("one element",)),
    Case(
        "mix_backends",
        OPENCL,
        lambda xp: _ones(xp, (2,)) + Variable(np.ones(2, np.float32)),
        TypeError,
        ("opencl", "numpy", ".to("),
    ),
    # ---- indexing: checked on the host (numpy) or on the device (OpenCL) ---------------------
    Case("index_int", BOTH, lambda xp: _ones(xp, (4,))[5], IndexError, ("5", "size 4")),
    Case(
        "index_array",
        BOTH,
        lambda xp: _read(_ones(xp, (4,))[_labels(xp, [1, 7])]),
        IndexError,
        ("getitem", "index 7", "size 4", "position 1"),
    ),
    Case(
        "index_negative",
        BOTH,
        lambda xp: _read(_ones(xp, (4,))[_labels(xp, [-5])]),
        IndexError,
        ("index -5", "size 4"),
    ),
    Case(
        "index_two_arrays",
        BOTH,
        lambda xp: _read(_ones(xp, (3, 4))[_labels(xp, [1]), _labels(xp, [4])]),
        IndexError,
        ("index 4", "size 4"),
    ),
    Case(
        "take_raw",
        OPENCL,
        lambda xp: xp.take(xp.ones(4), xp.asarray([0, 9])).to_numpy(),
        IndexError,
        ("take", "index 9", "position 1"),
    ),
    Case(
        "take_along_axis_raw",
        OPENCL,
        lambda xp: xp.take_along_axis(xp.ones((2, 2)), xp.asarray([[0], [2]]), axis=1).to_numpy(),
        IndexError,
        ("take_along_axis", "index 2", "size 2"),
    ),
    Case(
        "setitem_raw",
        OPENCL,
        lambda xp: xp.ones(3).__setitem__(xp.asarray([3]), 1.0) or xp.ones(1).to_numpy(),
        IndexError,
        ("__setitem__", "index 3"),
    ),
    Case(
        "one_hot_class_too_large",
        BOTH,
        lambda xp: axoncl.one_hot(_labels(xp, [0, 3, 1]), 3).numpy(),
        IndexError,
        ("one_hot", "target 3", "3 classes", "position 1"),
    ),
    Case(
        "one_hot_negative_class",
        BOTH,
        lambda xp: axoncl.one_hot(_labels(xp, [0, -1]), 3).numpy(),
        IndexError,
        ("one_hot", "target -1", "position 1"),
    ),
    # ---- losses --------------------------------------------------------------------------
    Case(
        "cross_entropy_label",
        BOTH,
        lambda xp: axoncl.cross_entropy(_ones(xp, (2, 3)), _labels(xp, [0, 5])).item(),
        IndexError,
        ("cross_entropy", "target 5", "3 classes", "position 1"),
    ),
    Case(
        "cross_entropy_negative_label",
        BOTH,
        lambda xp: axoncl.cross_entropy(_ones(xp, (2, 3)), _labels(xp, [-1, 0])).item(),
        IndexError,
        ("target -1", "position 0"),
    ),
    Case(
        "nll_loss_label",
        BOTH,
        lambda xp: axoncl.nll_loss(_ones(xp, (3, 4)), _labels(xp, [0, 1, 4])).item(),
        IndexError,
        ("nll_loss", "target 4", "4 classes", "position 2"),
    ),
    Case(
        "cross_entropy_float_target",
        BOTH,
        lambda xp: axoncl.cross_entropy(_ones(xp, (2, 3)), to_xp(xp, [0.0, 1.0], "float32")),
        TypeError,
        ("integer class indices",),
    ),
    Case(
        "cross_entropy_target_shape",
        BOTH,
        lambda xp: axoncl.cross_entropy(_ones(xp, (2, 3)), _labels(xp, [0, 1, 2])),
        ValueError,
        ("target of shape (2,)",),
    ),
    Case(
        "label_smoothing",
        BOTH,
        lambda xp: axoncl.cross_entropy(_ones(xp, (2, 3)), _labels(xp, [0, 1]), label_smoothing=2),
        ValueError,
        ("label_smoothing",),
    ),
    Case(
        "loss_reduction",
        BOTH,
        lambda xp: axoncl.mse_loss(_ones(xp, (2,)), _ones(xp, (2,)), reduction="avg"),
        ValueError,
        ("reduction", "'avg'"),
    ),
    Case(
        "mse_shapes",
        BOTH,
        lambda xp: axoncl.mse_loss(_ones(xp, (2, 3)), _ones(xp, (3,))),
        ValueError,
        ("mse_loss", "same shape"),
    ),
    Case(
        "bce_not_probabilities",
        BOTH,
        lambda xp: axoncl.binary_cross_entropy(_v(xp, [0.5, 1.5]), _v(xp, [0.0, 1.0])),
        ValueError,
        ("[0, 1]", "with_logits"),
    ),
    # ---- backward ------------------------------------------------------------------------
    Case(
        "backward_non_scalar",
        BOTH,
        lambda xp: (_ones(xp, (2,), grad=True) * 2.0).backward(),
        RuntimeError,
        ("one element", "gradient="),
    ),
    Case("backward_twice", BOTH, _backward_twice, RuntimeError, ("freed", "retain_graph=True")),
    Case(
        "backward_no_grad",
        BOTH,
        lambda xp: _ones(xp, (1,)).sum().backward(),
        RuntimeError,
        ("does not require grad",),
    ),
    Case(
        "backward_gradient_shape",
        BOTH,
        lambda xp: (_ones(xp, (2,), grad=True) * 2.0).backward(_ones(xp, (3,))),
        ValueError,
        ("(2,)", "(3,)"),
    ),
    Case(
        "inference_value_in_graph",
        BOTH,
        _inference_value_into_graph,
        RuntimeError,
        ("inference-mode",),
    ),
    Case(
        "function_name_clash",
        NUMPY,
        _builtin_name_clash,
        TypeError,
        ("'sigmoid'", "built-in", "name ="),
    ),
    # ---- convolution and pooling ---------------------------------------------------------
    Case(
        "conv2d_rank",
        BOTH,
        lambda xp: axoncl.conv2d(_ones(xp, (2, 5, 5)), _ones(xp, (3, 2, 3, 3))),
        ValueError,
        ("conv2d", "4-D input"),
    ),
    Case(
        "conv2d_channels",
        BOTH,
        lambda xp: axoncl.conv2d(_ones(xp, (1, 2, 5, 5)), _ones(xp, (3, 4, 3, 3))),
        ValueError,
        ("conv2d", "channels"),
    ),
    Case(
        "conv2d_groups",
        BOTH,
        lambda xp: axoncl.conv2d(_ones(xp, (1, 2, 5, 5)), _ones(xp, (3, 2, 3, 3)), groups=0),
        ValueError,
        ("groups",),
    ),
    Case(
        "conv2d_stride",
        BOTH,
        lambda xp: axoncl.conv2d(_ones(xp, (1, 2, 5, 5)), _ones(xp, (3, 2, 3, 3)), stride=0),
        ValueError,
        ("stride",),
    ),
    Case(
        "conv2d_two_devices",
        OPENCL,
        lambda xp: _two_devices(xp, "conv2d"),
        ValueError,
        ("conv2d", "different devices", ".to_device("),
    ),
    Case(
        "add_two_devices",
        OPENCL,
        lambda xp: _two_devices(xp, "add"),
        ValueError,
        ("different devices", ".to_device("),
    ),
    Case(
        "max_pool_window",
        BOTH,
        lambda xp: axoncl.max_pool2d(_ones(xp, (1, 1, 2, 2)), 3),
        ValueError,
        ("max_pool2d",),
    ),
    Case(
        "dropout_p",
        BOTH,
        lambda xp: axoncl.dropout(_ones(xp, (4,)), 1.5),
        ValueError,
        ("dropout", "1.5"),
    ),
    # ---- layers --------------------------------------------------------------------------
    Case(
        "linear_float_size",
        NUMPY,
        lambda xp: nn.Linear(2.5, 3),
        TypeError,
        ("Linear", "in_features", "2.5"),
    ),
    Case(
        "linear_zero_size",
        NUMPY,
        lambda xp: nn.Linear(0, 3),
        ValueError,
        ("Linear", "in_features >= 1"),
    ),
    Case("linear_bool_size", NUMPY, lambda xp: nn.Linear(3, True), TypeError, ("out_features",)),
    Case(
        "linear_input_width",
        BOTH,
        lambda xp: _linear(xp, 3, 2)(_ones(xp, (4, 5))),
        ValueError,
        ("(4, 5)",),
    ),
    Case(
        "conv2d_layer_groups",
        NUMPY,
        lambda xp: nn.Conv2d(3, 4, 3, groups=2),
        ValueError,
        ("Conv2d", "divisible by groups"),
    ),
    Case(
        "conv2d_layer_zero",
        NUMPY,
        lambda xp: nn.Conv2d(3, 0, 3),
        ValueError,
        ("Conv2d", "out_channels"),
    ),
    Case(
        "batchnorm_size",
        NUMPY,
        lambda xp: nn.BatchNorm2d(-1),
        ValueError,
        ("BatchNorm2d", "num_features"),
    ),
    Case("dropout_layer_p", NUMPY, lambda xp: nn.Dropout(-0.1), ValueError, ("Dropout", "[0, 1]")),
    Case(
        "load_state_dict_keys",
        BOTH,
        lambda xp: _linear(xp).load_state_dict({"weight": np.ones((2, 3), np.float32)}),
        KeyError,
        ("missing keys", "bias"),
    ),
    Case(
        "load_state_dict_shape",
        BOTH,
        _load_mismatch,
        ValueError,
        ("weight", "(2, 3)", "(5, 3)"),
    ),
    # ---- optimizers ----------------------------------------------------------------------
    Case(
        "optimizer_module",
        BOTH,
        lambda xp: optim.Adam(_linear(xp)),
        TypeError,
        ("iterable of Parameters", "Module", "model.parameters()"),
    ),
    Case(
        "optimizer_single_variable",
        BOTH,
        lambda xp: optim.SGD(_ones(xp, (2,), grad=True), lr=0.1),
        TypeError,
        ("single Variable", "[w]"),
    ),
    *[
        Case(
            f"optimizer_{key}_{value}",
            BOTH,
            lambda xp, cls=cls, key=key, value=value: cls(
                _linear(xp).parameters(), **{key: float(value)}
            ),
            ValueError,
            (cls.__name__, key, value),
        )
        for cls, key, value in (
            (optim.Adam, "lr", "nan"),
            (optim.SGD, "lr", "inf"),
            (optim.AdamW, "eps", "nan"),
            (optim.SGD, "momentum", "nan"),
            (optim.Adam, "weight_decay", "inf"),
        )
    ],
    Case(
        "optimizer_group_lr_nan",
        BOTH,
        lambda xp: optim.SGD([{"params": _linear(xp).parameters(), "lr": math.nan}], lr=0.1),
        ValueError,
        ("SGD", "lr"),
    ),
    Case(
        "optimizer_betas",
        BOTH,
        lambda xp: optim.Adam(_linear(xp).parameters(), betas=(1.0, 0.9)),
        ValueError,
        ("betas",),
    ),
    Case("optimizer_empty", NUMPY, lambda xp: optim.SGD([], lr=0.1), ValueError, ("empty",)),
    Case("optimizer_non_leaf", BOTH, _nonleaf_param, ValueError, ("leaf",)),
    Case(
        "sgd_nesterov",
        NUMPY,
        lambda xp: optim.SGD(_linear(xp).parameters(), lr=0.1, nesterov=True),
        ValueError,
        ("Nesterov",),
    ),
    # ---- devices and memory --------------------------------------------------------------
    *[
        Case(
            f"device_{name}",
            OPENCL,
            lambda xp, spec=spec: xp.ones(2, device=spec),
            DeviceSpecError,
            (repr(spec), *words),
        )
        for name, spec, words in (
            ("typo", "opencl:gpo", ("devices here", "opencl:P:D")),
            ("missing", "opencl:9:9", ("available", "accepted forms")),
            ("kind", "opencl:fpga", ("devices here",)),
        )
    ],
    Case(
        "backend_unknown",
        NUMPY,
        lambda xp: axoncl.get_backend("tensorflow"),
        ValueError,
        ("'tensorflow'", "numpy", "opencl"),
    ),
    Case(
        "allocation_too_big",
        OPENCL,
        lambda xp: xp.zeros((50_000_000_000,), dtype=xp.float32),
        MemoryError,
        ("200000000000 bytes", "per buffer", "global memory"),
    ),
    # ---- save / load ---------------------------------------------------------------------
    Case("load_truncated", NUMPY, _bad_file("truncated"), ValueError, ("w.npz", "axoncl.nn.save")),
    Case("load_text", NUMPY, _bad_file("text"), ValueError, ("w.npz", "not a state dict")),
    Case("load_npy", NUMPY, _bad_file("npy"), ValueError, ("w.npy", "one array")),
    Case("load_pickle", NUMPY, _bad_file("pickle"), ValueError, ("w.npz", "Object arrays")),
    Case(
        "save_non_state",
        NUMPY,
        lambda xp: nn.save(42, "/nonexistent/never-written.npz"),
        TypeError,
        ("save", "Module or a state dict"),
    ),
    # ---- gradcheck and the inspector -----------------------------------------------------
    Case(
        "gradcheck_wrong_rule",
        NUMPY,
        lambda xp: axoncl.gradcheck(
            _ForgetsTheChainRule.apply, (_v(xp, [1.0, 2.0], "float64", True),)
        ),
        axoncl.GradcheckError,
        ("analytical", "numerical"),
    ),
    Case(
        "trace_without_graph",
        BOTH,
        lambda xp: axinspect.trace_backward(_ones(xp, (2,))),
        ValueError,
        ("require",),
    ),
]


class _ForgetsTheChainRule(Function):
    """sin(x) whose backward forgets the cos(x) factor, for the gradcheck case."""

    @staticmethod
    def forward(ctx, x):
        return ctx.xp.sin(x)

    @staticmethod
    def backward(ctx, grad):
        return (grad,)


def _params():
    for case in CASES:
        for name in case.backends:
            yield pytest.param(case, name, id=f"{case.id}-{name}")


@pytest.mark.parametrize(("case", "backend"), list(_params()))
def test_bad_input_raises_a_clear_error(case, backend, tmp_path):
    xp = load_backend(backend)
    make = case.make
    with pytest.raises(case.error) as info:
        make(xp, tmp_path) if "tmp_path" in make.__code__.co_varnames else make(xp)
    message = str(info.value)
    for word in case.words:
        assert word in message, f"{word!r} not in {message!r}"
    if backend == "opencl":  # the error flag is cleared: the device works on
        assert host(xp.ones(2) + 1.0).tolist() == [2.0, 2.0]


def test_enough_cases():
    assert len(CASES) >= 60, len(CASES)


# ---- the value cases: these used to give a wrong answer silently ----------------------------
def test_numpy_scalars_act_as_python_scalars(xp):
    x = _v(xp, [1.0, 2.0], grad=True)
    for y in (x * np.float32(2), np.float32(2) * x, x + np.float64(1) - 1.0):
        assert y.data.dtype == x.data.dtype  # weak, like a Python scalar
    (x * np.int64(3)).sum().backward()
    assert host(x.grad).tolist() == [3.0, 3.0]
    assert host(x * np.float32(2)).tolist() == [2.0, 4.0]


def test_numpy_scalars_with_torch():
    torch = pytest.importorskip("torch")
    x = Variable(torch.tensor([1.0, 2.0]), requires_grad=True)
    y = x * np.float32(2) + np.float64(1)
    assert y.data.dtype == torch.float32 and y.data.tolist() == [3.0, 5.0]


@pytest.mark.parametrize("target", BOTH)
def test_to_is_differentiable(xp, target):
    x = _v(xp, [1.0, 2.0], grad=True)
    moved = x.to(target)
    (moved * moved).sum().backward()
    assert backend_name(axoncl.namespace_of(x.grad.data)) == backend_name(xp)
    assert host(x.grad).tolist() == [2.0, 4.0]


def test_ignore_index_is_not_an_error(xp):
    logits = _v(xp, np.zeros((3, 4)), grad=True)
    loss = axoncl.cross_entropy(logits, _labels(xp, [2, -100, 1]))
    assert loss.item() == pytest.approx(math.log(4.0), rel=1e-6)
    loss.backward()
    assert host(logits.grad)[1].tolist() == [0.0] * 4
    loss = axoncl.cross_entropy(logits, _labels(xp, [7, 0, 7]), ignore_index=7)
    assert loss.item() == pytest.approx(math.log(4.0), rel=1e-6)


def test_bce_of_saturated_sigmoid_has_a_finite_gradient(xp):
    x = _v(xp, [-100.0], grad=True)
    loss = axoncl.binary_cross_entropy(axoncl.sigmoid(x), _v(xp, [1.0]))
    loss.backward()
    assert loss.item() == pytest.approx(100.0, rel=1e-3)  # the log clamped at -100
    g = host(x.grad)
    assert np.isfinite(g).all() and g[0] < 0, g


def test_float64_batch_keeps_a_float32_model_float32(xp):
    model = _linear(xp, 3, 2)
    opt = optim.Adam(model.parameters(), lr=0.1)
    batch = _v(xp, np.ones((4, 3)), "float64")
    if backend_name(xp) == "opencl" and not xp.default_device().caps.fp64:
        pytest.skip("the device has no float64")
    model(batch).sum().backward()
    assert model.weight.grad.data.dtype == model.weight.data.dtype
    opt.step()
    for p in model.parameters():
        assert str(p.data.dtype).endswith("float32"), p.data.dtype


def test_integer_matmul_is_exact_without_fp64():
    xp = load_backend("opencl")
    from axoncl.backends.opencl.device import set_fp64_disabled

    dev = xp.default_device()
    set_fp64_disabled(dev, True)
    try:
        a = Variable(xp.asarray(np.array([[2**24 + 1]], np.int64)))
        b = Variable(xp.asarray(np.array([[1]], np.int64)))
        assert (a @ b).numpy().tolist() == [[2**24 + 1]]
    finally:
        set_fp64_disabled(dev, False)


def test_no_grad_on_a_coroutine():
    @axoncl.no_grad()
    async def step():
        await asyncio.sleep(0)
        return axoncl.is_grad_enabled()

    @axoncl.enable_grad()
    async def inner():
        return axoncl.is_grad_enabled()

    assert asyncio.run(step()) is False
    with axoncl.no_grad():
        assert asyncio.run(inner()) is True
    assert axoncl.is_grad_enabled()


def test_builtin_rules_stay_in_the_registry():
    from axoncl.functions import registry

    before = registry["sigmoid"]
    with pytest.raises(TypeError):
        _builtin_name_clash(None)
    assert registry["sigmoid"] is before
    assert axoncl.sigmoid(Variable(np.zeros(1))).item() == 0.5


def test_device_string_errors_from_the_environment(monkeypatch):
    load_backend("opencl")
    from axoncl.backends.opencl import device

    monkeypatch.setenv("AXONCL_DEVICE", "cuda")
    with pytest.raises(DeviceSpecError, match=r"AXONCL_DEVICE='cuda'.*devices here.*opencl:P:D"):
        device.default_device()


def test_opencl_gpu_when_there_is_none():
    load_backend("opencl")
    from axoncl.backends.opencl import device

    if any(d.type & 4 for _, d in device.list_devices()):  # CL_DEVICE_TYPE_GPU
        pytest.skip("this machine has an OpenCL GPU")
    with pytest.raises(DeviceSpecError, match=r"no OpenCL gpu device.*available"):
        device.get_device("opencl:gpu")


def test_torch_device_that_does_not_exist():
    torch = pytest.importorskip("torch")
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    x = Variable(np.ones(2), requires_grad=True)
    with pytest.raises(DeviceSpecError, match=r"'cuda'.*devices here: cpu.*accepted forms"):
        x.to("torch", device="cuda")
    with pytest.raises(DeviceSpecError, match="'gpu0'"):
        x.to("torch", device="gpu0")
    assert x.to("torch", device="cpu").data.device.type == "cpu"


# ---- the command line: one line, no traceback ---------------------------------------------
def _cli(*args, env=None):
    import os

    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "axoncl", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=full_env,
    )


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("demo", "--lr", "nan"), ("--lr", "finite")),
        (("demo", "--epochs", "0"), ("--epochs", "> 0")),
        (("demo", "--device", "opencl:gpo"), ("'opencl:gpo'", "accepted forms")),
        (("demo", "--device", "cuda"), ("'cuda'", "numpy")),
        (("bench", "--tune", "--device", "opencl:9:9"), ("'opencl:9:9'", "available")),
    ],
)
def test_cli_user_mistakes_print_one_line(args, words):
    load_backend("opencl")
    out = _cli(*args)
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert "error:" in last
    for word in words:
        assert word in last, last


def test_cli_without_an_opencl_platform(tmp_path):
    # An empty vendor folder: the ICD loader finds no platform.
    out = _cli("demo", "--epochs", "1", env={"OCL_ICD_VENDORS": str(tmp_path)})
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in out.stderr, out.stderr
    assert "no OpenCL platform" in lines[0] and "--device numpy" in lines[0]
