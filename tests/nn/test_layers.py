"""Layers: gradients (float64 gradcheck), agreement with PyTorch, and input errors."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import assert_close, host, load_backend, require_float64, to_xp

import axoncl
from axoncl import gradcheck, nn
from axoncl.inspect import trace_backward


@pytest.fixture(params=["numpy", "opencl"])
def xp(request):
    return load_backend(request.param)


def _functional(module, names):
    """``f(x, *params)``: the module's forward with its parameters replaced by the arguments, so
    gradcheck can perturb them."""

    def slot(name):
        owner = module
        *path, attr = name.split(".")
        for part in path:
            owner = owner._modules[part]
        return owner, attr

    def f(x, *params):
        saved = []
        for name, p in zip(names, params, strict=True):
            owner, attr = slot(name)
            saved.append((owner, attr, owner._parameters[attr]))
            owner._parameters[attr] = p
        try:
            return module(x)
        finally:
            for owner, attr, p in saved:
                owner._parameters[attr] = p

    return f


def _check_module(module, x_host, xp):
    require_float64(xp)
    module.to(xp)
    names, params = zip(*module.named_parameters(), strict=True)
    x = axoncl.Variable(to_xp(xp, x_host, "float64"), requires_grad=True)
    assert gradcheck(_functional(module, names), [x, *params])


RNG = np.random.default_rng(0)


def test_linear_gradcheck(xp):
    _check_module(nn.Linear(5, 3, dtype="float64"), RNG.standard_normal((4, 5)), xp)


def test_linear_without_bias_on_3d_input_gradcheck(xp):
    _check_module(nn.Linear(4, 2, bias=False, dtype="float64"), RNG.standard_normal((2, 3, 4)), xp)


def test_sequential_linear_relu_gradcheck(xp):
    """Linear+ReLU as Sequential runs it (one op; on OpenCL the backward masks the gradient and
    sums the bias gradient in one kernel) against finite differences, every parameter."""
    model = nn.Sequential(
        nn.Linear(5, 7, dtype="float64"), nn.ReLU(), nn.Linear(7, 3, dtype="float64"), nn.ReLU()
    )
    _check_module(model, RNG.standard_normal((4, 5)), xp)


def test_conv2d_gradcheck(xp):
    conv = nn.Conv2d(2, 3, kernel_size=3, padding=1, stride=2, dtype="float64")
    _check_module(conv, RNG.standard_normal((2, 2, 5, 5)), xp)


def test_small_cnn_gradcheck(xp):
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1, dtype="float64"),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(8, 3, dtype="float64"),
    )
    _check_module(model, RNG.standard_normal((2, 1, 4, 4)), xp)


@pytest.mark.parametrize(
    "cls, shape",
    [(nn.BatchNorm1d, (6, 3)), (nn.BatchNorm1d, (4, 3, 5)), (nn.BatchNorm2d, (3, 3, 2, 2))],
)
def test_batchnorm_train_mode_gradcheck(xp, cls, shape):
    bn = cls(3, dtype="float64")
    bn.weight.data = RNG.uniform(0.5, 1.5, 3)
    bn.bias.data = RNG.standard_normal(3)
    _check_module(bn, RNG.standard_normal(shape), xp)


def test_batchnorm_eval_mode_gradcheck(xp):
    bn = nn.BatchNorm2d(3, dtype="float64")
    bn.running_mean = RNG.standard_normal(3)
    bn.running_var = RNG.uniform(0.5, 2.0, 3)
    bn.eval()
    _check_module(bn, RNG.standard_normal((2, 3, 2, 2)), xp)


def test_dropout_with_fixed_seed_gradcheck(xp):
    require_float64(xp)
    drop = nn.Dropout(0.4, seed=3)

    def f(x):
        drop.generator.manual_seed(3)  # the same mask for every evaluation
        return drop(x)

    x = axoncl.Variable(to_xp(xp, RNG.standard_normal((5, 6)), "float64"), requires_grad=True)
    assert gradcheck(f, [x])


def test_dropout_masks_are_reproducible_and_change_between_calls():
    x = np.ones((50, 40))
    a, b = nn.Dropout(0.5, seed=7), nn.Dropout(0.5, seed=7)
    first, second = host(a(x)), host(a(x))
    assert (first == host(b(x))).all()
    assert not (first == second).all()
    assert set(np.unique(first)) <= {0.0, 2.0}
    assert abs((first == 0).mean() - 0.5) < 0.05


def test_dropout_is_identity_in_eval_mode():
    drop = nn.Dropout(0.9).eval()
    x = np.arange(6.0)
    assert (host(drop(x)) == x).all()


@pytest.mark.parametrize(
    "layer", [nn.ReLU(), nn.GELU(), nn.GELU("tanh"), nn.Sigmoid(), nn.Tanh()], ids=repr
)
def test_activation_gradcheck(xp, layer):
    require_float64(xp)
    x = axoncl.Variable(to_xp(xp, RNG.standard_normal((3, 4)) + 0.1, "float64"), requires_grad=True)
    assert gradcheck(layer, [x])


@pytest.mark.parametrize(
    "layer, shape",
    [
        (nn.MaxPool2d(2), (2, 3, 4, 4)),
        (nn.MaxPool2d(3, stride=1, padding=1), (1, 2, 5, 5)),
        (nn.AvgPool2d(2), (2, 3, 4, 6)),
        (nn.AdaptiveAvgPool2d(1), (2, 3, 3, 3)),
        (nn.AdaptiveAvgPool2d((2, 3)), (1, 2, 5, 7)),
        (nn.Flatten(), (2, 3, 2, 2)),
    ],
    ids=repr,
)
def test_pooling_and_flatten_gradcheck(xp, layer, shape):
    require_float64(xp)
    x = axoncl.Variable(
        to_xp(xp, RNG.permutation(np.prod(shape)).reshape(shape) * 0.1, "float64"),
        requires_grad=True,
    )  # distinct values: no max ties
    assert gradcheck(layer, [x])


# -- agreement with PyTorch --------------------------------------------------------------


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


def test_linear_and_conv_match_pytorch(xp, torch):
    model = nn.Sequential(
        nn.Conv2d(2, 4, 3, padding=1, stride=2, dtype="float64"),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(4 * 3 * 3, 5, dtype="float64"),
    )
    ref = torch.nn.Sequential(
        torch.nn.Conv2d(2, 4, 3, padding=1, stride=2),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(36, 5),
    ).double()
    ref.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in model.state_dict().items()})
    require_float64(xp)
    model.to(xp)
    x = RNG.standard_normal((3, 2, 5, 5))
    assert_close(model(to_xp(xp, x)), ref(torch.from_numpy(x)).detach().numpy(), atol=1e-12)


def test_batchnorm_matches_pytorch_in_train_and_eval(xp, torch):
    require_float64(xp)
    bn = nn.BatchNorm2d(3, momentum=0.2, dtype="float64").to(xp)
    ref = torch.nn.BatchNorm2d(3, momentum=0.2).double()
    for _ in range(3):
        x = RNG.standard_normal((4, 3, 2, 5)) * 3 + 1
        assert_close(bn(to_xp(xp, x)), ref(torch.from_numpy(x)).detach().numpy(), atol=1e-12)
    assert_close(bn.running_mean, ref.running_mean.numpy(), atol=1e-12)
    assert_close(bn.running_var, ref.running_var.numpy(), atol=1e-12)
    bn.eval()
    ref.eval()
    x = RNG.standard_normal((2, 3, 2, 2))
    assert_close(bn(to_xp(xp, x)), ref(torch.from_numpy(x)).detach().numpy(), atol=1e-12)


# -- error messages ----------------------------------------------------------------------


def test_linear_names_itself_and_both_shapes():
    with pytest.raises(
        ValueError,
        match=r"Linear\(in_features=4, out_features=2\): expected "
        r"input of shape \(\*, 4\), got shape \(3, 5\)",
    ):
        nn.Linear(4, 2)(np.zeros((3, 5), dtype=np.float32))


def test_conv2d_wrong_channel_count():
    with pytest.raises(
        ValueError,
        match=r"Conv2d\(3, 16, kernel_size=3\): expected input of "
        r"shape \(N, 3, H, W\) .*got shape \(2, 1, 8, 8\)",
    ):
        nn.Conv2d(3, 16, kernel_size=3)(np.zeros((2, 1, 8, 8), dtype=np.float32))


def test_conv2d_wrong_rank():
    with pytest.raises(
        ValueError,
        match=r"Conv2d\(3, 16, kernel_size=3\): expected a 4-D "
        r"input \(N, 3, H, W\), got shape \(3, 8, 8\)",
    ):
        nn.Conv2d(3, 16, kernel_size=3)(np.zeros((3, 8, 8), dtype=np.float32))


def test_conv2d_kernel_larger_than_padded_input():
    with pytest.raises(
        ValueError,
        match=r"Conv2d\(1, 2, kernel_size=5, padding=1\): kernel "
        r"height 5 is larger than the padded input height 4",
    ):
        nn.Conv2d(1, 2, kernel_size=5, padding=1)(np.zeros((1, 1, 2, 9), dtype=np.float32))


def test_pool_kernel_larger_than_input():
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=2\): kernel width 2 is larger"):
        nn.MaxPool2d(2)(np.zeros((1, 1, 4, 1), dtype=np.float32))


def test_batchnorm_wrong_channels():
    with pytest.raises(
        ValueError,
        match=r"BatchNorm2d\(4.*expected 4 channels on axis 1, got "
        r"shape \(2, 3, 5, 5\)",
    ):
        nn.BatchNorm2d(4)(np.zeros((2, 3, 5, 5), dtype=np.float32))


def test_batchnorm_wrong_rank():
    with pytest.raises(
        ValueError,
        match=r"expected input of shape \(N, C\) or \(N, C, L\), got "
        r"shape \(2, 3, 5, 5\)",
    ):
        nn.BatchNorm1d(3)(np.zeros((2, 3, 5, 5), dtype=np.float32))


def _unfused(model, x):
    """``model(x)`` module by module, as written (no Linear+ReLU fusion)."""
    for module in model:
        x = module(x)
    return x


def test_sequential_runs_linear_then_relu_as_one_op_with_the_same_values_and_gradients(xp):
    """Sequential fuses Linear+ReLU into one op: outputs and every gradient equal those of the
    modules called one by one (bit for bit: the same products, the same mask), with one op
    fewer per pair in the graph, and on OpenCL one kernel launch fewer per pair."""
    nn.manual_seed(3)
    model = nn.Sequential(nn.Linear(6, 9), nn.ReLU(), nn.Linear(9, 5), nn.ReLU(), nn.Linear(5, 2))
    model.to(xp)
    x = to_xp(xp, np.random.default_rng(4).standard_normal((7, 6)).astype(np.float32))
    runs = {}
    for name, run in (("fused", model), ("unfused", lambda v: _unfused(model, v))):
        model.zero_grad()
        out = run(axoncl.Variable(x))
        (out * out).sum().backward()
        runs[name] = (host(out.data), [host(p.grad.data) for p in model.parameters()])
    np.testing.assert_array_equal(runs["fused"][0], runs["unfused"][0])
    for got, want in zip(runs["fused"][1], runs["unfused"][1], strict=True):
        np.testing.assert_array_equal(got, want)
    fused_ops = trace_backward(model(axoncl.Variable(x)).sum(), values=False).op_counts()
    unfused_ops = trace_backward(
        _unfused(model, axoncl.Variable(x)).sum(), values=False
    ).op_counts()
    assert sum(fused_ops.values()) == sum(unfused_ops.values()) - 2
    assert "relu" not in {k.lower() for k in fused_ops}
    if xp.__name__.endswith("opencl"):
        from axoncl.backends.opencl.device import get_device

        device = get_device()
        launches = []
        for run in (model, lambda v: _unfused(model, v)):
            before = device.launches
            run(axoncl.Variable(x))
            launches.append(device.launches - before)
        assert launches[0] == launches[1] - 2


def test_sequential_does_not_fuse_a_hooked_relu():
    nn.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    seen = []
    model[1].register_forward_hook(lambda module, args, out: seen.append(out))
    out = model(np.ones((2, 3)))
    assert len(seen) == 1 and seen[0] is out
