"""autocast: which ops run in the low dtype, which in float32, master-weight gradients, nesting,
and the mode being per thread and per asyncio task."""

from __future__ import annotations

import asyncio
import threading

import numpy as np
import pytest

import axoncl
from axoncl import Variable, nn
from axoncl.backends import backend_name

LOW = ("float16", "bfloat16")


def _arr(xp, values, dtype="float32"):
    return xp.asarray(np.asarray(values), dtype=getattr(xp, dtype))


def _name(dtype) -> str:
    return str(dtype).rsplit(".", 1)[-1]


def _products(xp):
    """Each low-precision op on float32 operands, as a zero-argument call."""
    rng = np.random.default_rng(0)
    x = _arr(xp, rng.standard_normal((2, 3, 6, 6)))
    w = _arr(xp, rng.standard_normal((4, 3, 3, 3)))
    a = _arr(xp, rng.standard_normal((5, 3)))
    b = _arr(xp, rng.standard_normal((3, 4)))
    bias = _arr(xp, rng.standard_normal(4))
    seq = _arr(xp, rng.standard_normal((2, 3, 7)))
    kernel = _arr(xp, rng.standard_normal((4, 3, 2)))
    return {
        "matmul": lambda: axoncl.matmul(Variable(a), Variable(b)),
        "operator @": lambda: Variable(a) @ b,
        "linear": lambda: axoncl.linear(a, Variable(b).mT, bias),
        "conv2d": lambda: axoncl.conv2d(x, w, bias, padding=1),
        "conv1d": lambda: axoncl.conv1d(seq, kernel, bias),
        "einsum": lambda: axoncl.einsum("ij,jk->ik", a, b),
    }


@pytest.mark.parametrize("low", LOW)
def test_products_run_in_the_low_dtype_or_name_the_missing_one(xp, low):
    expected = getattr(xp, low, None)
    for name, call in _products(xp).items():
        with axoncl.autocast(dtype=low):
            if expected is None:
                with pytest.raises(TypeError) as info:
                    call()
                message = str(info.value)
                assert backend_name(xp) in message and low in message, (name, message)
                continue
            out = call()
        assert out.dtype == expected, (name, out.dtype)
        assert call().dtype == xp.float32, name  # outside the region: float32 again


def _low_input(xp, low, shape=(4, 5)):
    data = np.random.default_rng(1).standard_normal(shape)
    return xp.astype(_arr(xp, data), getattr(xp, low))


def _float32_ops():
    labels = np.array([0, 2, 1, 4])
    return {
        "sum": lambda x: x.sum(),
        "mean": lambda x: x.mean(axis=1),
        "prod": lambda x: x.prod(axis=0),
        "logsumexp": lambda x: axoncl.logsumexp(x, axis=1),
        "cumsum": lambda x: axoncl.cumsum(x, axis=1),
        "var": lambda x: axoncl.var(x),
        "norm": lambda x: axoncl.norm(x),
        "softmax": lambda x: axoncl.softmax(x),
        "log_softmax": lambda x: axoncl.log_softmax(x),
        "mse_loss": lambda x: axoncl.mse_loss(x, x * 0.5),
        "l1_loss": lambda x: axoncl.l1_loss(x, x * 0.5),
        "cross_entropy": lambda x: axoncl.cross_entropy(x, x.xp.asarray(labels, **_device_of(x))),
        "bce_with_logits": lambda x: axoncl.binary_cross_entropy_with_logits(x, x * 0.0),
        "batch_norm": lambda x: axoncl.batch_norm(x, _ones_like_row(x), _ones_like_row(x) * 0.0),
        "layer_norm": lambda x: nn.functional.layer_norm(x, 5),
    }


def _ones_like_row(x):
    return Variable(x.xp.ones(x.shape[1], dtype=x.dtype, **_device_of(x)))


def _device_of(x):
    device = getattr(x.data, "device", None)
    return {} if device is None or callable(device) else {"device": device}


def test_reductions_softmax_losses_and_norms_run_in_float32_on_numpy():
    xp = axoncl.get_backend("numpy")
    for name, op in _float32_ops().items():
        x = Variable(_low_input(xp, "float16"))
        with axoncl.autocast():
            assert op(x).dtype == xp.float32, name
        assert op(x).dtype == xp.float16, name  # outside: the input's dtype


def test_float32_ops_cast_low_inputs_up_on_backends_that_have_them(xp):
    for low in LOW:
        if getattr(xp, low, None) is None:
            continue
        for name, op in _float32_ops().items():
            with axoncl.autocast(dtype=low):
                out = op(Variable(_low_input(xp, low)))
            assert out.dtype == xp.float32, (low, name)


def test_float32_and_float64_inputs_are_left_alone(xp):
    a = _arr(xp, np.ones((2, 3)))
    with axoncl.autocast(enabled=True):
        assert axoncl.softmax(a).dtype == xp.float32
        assert Variable(a).sum().dtype == xp.float32
        if backend_name(xp) == "numpy":
            wide = np.ones((2, 3))
            assert (Variable(wide) @ wide.T).dtype == np.float64


def test_parameters_stay_float32_and_get_float32_gradients_close_to_full_precision():
    axoncl.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.LayerNorm(16), nn.Linear(16, 3))
    x = np.random.default_rng(2).standard_normal((8, 6)).astype(np.float32)
    labels = np.array([0, 1, 2, 0, 1, 2, 0, 1])

    def grads(enabled):
        model.zero_grad()
        with axoncl.autocast(enabled=enabled):
            logits = model(x)
            loss = axoncl.cross_entropy(logits, labels)
        assert logits.dtype == (np.float16 if enabled else np.float32)
        assert loss.dtype == np.float32
        loss.backward()
        return [p.grad.numpy() for p in model.parameters()]

    full, mixed = grads(False), grads(True)
    for p, g32, g16 in zip(model.parameters(), full, mixed, strict=True):
        assert p.dtype == np.float32 and g16.dtype == np.float32
        scale = np.abs(g32).max()
        # float16 keeps 11 significant bits: products and casts err by about 2^-11 each.
        np.testing.assert_allclose(g16, g32, atol=2e-2 * scale + 1e-4, rtol=2e-2)


def test_backward_inside_the_region_matches_backward_outside():
    w = Variable(np.linspace(-1, 1, 12, dtype=np.float32).reshape(4, 3), requires_grad=True)
    x = np.linspace(0, 1, 8, dtype=np.float32).reshape(2, 4)
    with axoncl.autocast():
        (x @ w).sum().backward()
        inside = w.grad.numpy()
    w.grad = None
    with axoncl.autocast():
        loss = (x @ w).sum()
    loss.backward()
    np.testing.assert_array_equal(inside, w.grad.numpy())


def test_nested_regions_and_enabled_false_inside():
    a = np.ones((2, 2), np.float32)
    assert axoncl.get_autocast_dtype() is None
    with axoncl.autocast():
        assert (Variable(a) @ a).dtype == np.float16
        with axoncl.autocast(enabled=False):
            assert not axoncl.is_autocast_enabled()
            assert (Variable(a) @ a).dtype == np.float32
            with axoncl.autocast(dtype="float16"):
                assert (Variable(a) @ a).dtype == np.float16
            assert (Variable(a) @ a).dtype == np.float32
        assert axoncl.get_autocast_dtype() == "float16"
        with axoncl.autocast(dtype="bfloat16"):
            assert axoncl.get_autocast_dtype() == "bfloat16"
        assert (Variable(a) @ a).dtype == np.float16
    assert not axoncl.is_autocast_enabled()


def test_one_instance_reenters_and_decorates():
    region = axoncl.autocast()
    with region:
        with region:
            assert axoncl.is_autocast_enabled()
        assert axoncl.is_autocast_enabled()
    assert not axoncl.is_autocast_enabled()

    @axoncl.autocast()
    def product(a):
        return Variable(a) @ a

    assert product(np.ones((2, 2), np.float32)).dtype == np.float16
    assert not axoncl.is_autocast_enabled()


def test_bad_dtype_is_refused():
    with pytest.raises(ValueError, match="float16' or 'bfloat16'"):
        axoncl.autocast(dtype="float32")


def test_each_thread_has_its_own_mode():
    seen = {}
    entered = threading.Event()
    release = threading.Event()

    def inside():
        with axoncl.autocast():
            entered.set()
            release.wait(10)
            seen["inside"] = axoncl.get_autocast_dtype()

    def outside():
        entered.wait(10)
        seen["new thread"] = axoncl.get_autocast_dtype()
        a = np.ones((2, 2), np.float32)
        seen["product"] = (Variable(a) @ a).dtype
        release.set()

    threads = [threading.Thread(target=inside), threading.Thread(target=outside)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == {"inside": "float16", "new thread": None, "product": np.float32}


def test_each_asyncio_task_has_its_own_mode():
    async def low():
        with axoncl.autocast():
            await asyncio.sleep(0.01)
            return axoncl.get_autocast_dtype()

    async def plain():
        await asyncio.sleep(0.005)  # runs while the other task is inside its region
        a = np.ones((2, 2), np.float32)
        return axoncl.get_autocast_dtype(), (Variable(a) @ a).dtype

    @axoncl.autocast(dtype="bfloat16")
    async def decorated():
        await asyncio.sleep(0.005)
        return axoncl.get_autocast_dtype()

    async def main():
        return await asyncio.gather(low(), plain(), decorated())

    assert asyncio.run(main()) == ["float16", (None, np.float32), "bfloat16"]
    assert not axoncl.is_autocast_enabled()
