"""The multi-tensor optimizer kernels (kernels/optim.cl) against the per-tensor elementwise path.

The kernels write the per-tensor formulas out in the same order with FP_CONTRACT OFF and take
every derived scalar from the host, so in float32 they must agree with the portable version run
on the same OpenCL arrays bit for bit.
"""

import numpy as np
import pytest

pytest.importorskip("pyopencl")

from axoncl.backends import primitives  # noqa: E402

SHAPES = [(5, 3), (7,), (64, 33), (1,), (300,), (2, 2, 2), (17, 4), (9,), (128, 10), (3,), (40,)]


def _arrays(xp, seed, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return [xp.asarray(rng.standard_normal(s).astype(dtype)) for s in SHAPES]


def _copies(xp, arrays):
    return [xp.asarray(a.to_numpy()) for a in arrays]


def _equal(got, want):
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g.to_numpy(), w.to_numpy())


@pytest.mark.parametrize(
    "options",
    [
        dict(momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False, maximize=False),
        dict(momentum=0.9, dampening=0.1, weight_decay=0.01, nesterov=False, maximize=True),
        dict(momentum=0.9, dampening=0.0, weight_decay=0.0, nesterov=True, maximize=False),
    ],
    ids=["plain", "momentum-decay-maximize", "nesterov"],
)
def test_sgd_kernel_matches_the_elementwise_path_bit_for_bit(xp, options):
    params, grads = _arrays(xp, 0), _arrays(xp, 1)
    ref_params, ref_bufs = _copies(xp, params), [None] * len(params)
    bufs = [None] * len(params)
    for _ in range(3):  # the first step creates the momentum buffers
        params, bufs = primitives.sgd_step(params, grads, bufs, lr=0.05, xp=xp, **options)
        ref_params, ref_bufs = primitives.sgd_step.portable(
            ref_params, grads, ref_bufs, lr=0.05, xp=xp, **options
        )
    _equal(params, ref_params)
    if options["momentum"]:
        _equal(bufs, ref_bufs)


@pytest.mark.parametrize(
    "options",
    [
        dict(weight_decay=0.0, decoupled=False, maximize=False, amsgrad=False),
        dict(weight_decay=0.1, decoupled=False, maximize=True, amsgrad=True),
        dict(weight_decay=0.01, decoupled=True, maximize=False, amsgrad=False),
    ],
    ids=["adam", "adam-l2-maximize-amsgrad", "adamw"],
)
def test_adam_kernel_matches_the_elementwise_path_bit_for_bit(xp, options):
    options = dict(options)
    amsgrad = options.pop("amsgrad")
    grads = _arrays(xp, 2)
    state = {}
    for tag in ("fast", "ref"):
        params = _arrays(xp, 3)
        m = [xp.zeros_like(p) for p in params]
        v = [xp.zeros_like(p) for p in params]
        vmax = [xp.zeros_like(p) for p in params] if amsgrad else None
        step = primitives.adam_step if tag == "fast" else primitives.adam_step.portable
        for t in (1, 2, 3):
            params, m, v, vmax = step(
                params,
                grads,
                m,
                v,
                vmax,
                [t] * len(params),
                lr=1e-2,
                beta1=0.9,
                beta2=0.999,
                eps=1e-8,
                xp=xp,
                **options,
            )
        state[tag] = (params, m, v)
    for got, want in zip(state["fast"], state["ref"], strict=True):
        _equal(got, want)


def test_eleven_parameters_take_two_launches_and_update_in_place(xp):
    params, grads = _arrays(xp, 4), _arrays(xp, 5)
    device = params[0].device
    xp.asarray(np.zeros(1)).to_numpy()
    before = device.launches
    new, _ = primitives.sgd_step(
        params,
        grads,
        [None] * len(params),
        lr=0.1,
        momentum=0.0,
        dampening=0.0,
        weight_decay=0.0,
        nesterov=False,
        maximize=False,
        xp=xp,
    )
    assert device.launches - before == 2  # eight parameters per launch
    assert all(n is p for n, p in zip(new, params, strict=True))


def test_a_strided_parameter_takes_the_per_tensor_path(xp):
    base = xp.asarray(np.arange(12, dtype=np.float32).reshape(3, 4))
    view = base.T  # not contiguous: the kernel cannot update it in place
    grad = xp.ones_like(view)
    (new,), _ = primitives.sgd_step(
        [view],
        [grad],
        [None],
        lr=0.5,
        momentum=0.0,
        dampening=0.0,
        weight_decay=0.0,
        nesterov=False,
        maximize=False,
        xp=xp,
    )
    np.testing.assert_array_equal(new.to_numpy(), np.arange(12).reshape(3, 4).T - 0.5)
    np.testing.assert_array_equal(base.to_numpy(), np.arange(12).reshape(3, 4))
