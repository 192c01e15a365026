"""Initialisation: bounds, statistics, seeding, and filling on every backend."""

from __future__ import annotations

import math

import numpy as np
import pytest
from xp_backends import host, load_backend

import axoncl
from axoncl import nn
from axoncl.nn import init


@pytest.fixture(params=["numpy", "opencl"])
def backend(request):
    load_backend(request.param)
    return request.param


def _param(shape, backend="numpy", dtype="float64"):
    p = nn.Parameter(np.zeros(shape, dtype=dtype))
    return p if backend == "numpy" else nn.Parameter(p.to(backend).data)


def test_same_seed_gives_same_values():
    a = init.kaiming_uniform_(_param((64, 32)), generator=init.Generator(3)).numpy()
    b = init.kaiming_uniform_(_param((64, 32)), generator=init.Generator(3)).numpy()
    c = init.kaiming_uniform_(_param((64, 32)), generator=init.Generator(4)).numpy()
    assert (a == b).all() and not (a == c).all()


def test_manual_seed_makes_layers_reproducible():
    axoncl.manual_seed(5)
    a = nn.Conv2d(3, 4, 3).weight.numpy()
    axoncl.manual_seed(5)
    assert (nn.Conv2d(3, 4, 3).weight.numpy() == a).all()


def test_fill_keeps_backend_and_dtype(backend):
    p = _param((8, 5), backend, "float32")
    init.xavier_normal_(p, generator=init.Generator(0))
    assert p.backend == backend
    assert host(p).dtype == np.float32


@pytest.mark.parametrize(
    ("fill", "bound"),
    [
        (lambda p, g: init.kaiming_uniform_(p, generator=g), math.sqrt(6 / 50)),
        (lambda p, g: init.kaiming_uniform_(p, a=math.sqrt(5), generator=g), 1 / math.sqrt(50)),
        (lambda p, g: init.xavier_uniform_(p, generator=g), math.sqrt(6 / (50 + 400))),
    ],
)
def test_uniform_inits_fill_their_interval(fill, bound):
    values = fill(_param((40, 5, 10)), init.Generator(0)).numpy()  # fan_in 50, fan_out 400
    assert values.max() <= bound and values.min() >= -bound
    assert values.max() > 0.95 * bound and values.min() < -0.95 * bound


@pytest.mark.parametrize(
    ("fill", "std"),
    [
        (
            lambda p, g: init.kaiming_normal_(p, nonlinearity="relu", generator=g),
            math.sqrt(2 / 200),
        ),
        (
            lambda p, g: init.kaiming_normal_(p, mode="fan_out", nonlinearity="relu", generator=g),
            math.sqrt(2 / 300),
        ),
        (lambda p, g: init.xavier_normal_(p, gain=2.0, generator=g), 2 * math.sqrt(2 / 500)),
    ],
)
def test_normal_inits_have_their_standard_deviation(fill, std):
    values = fill(_param((300, 200)), init.Generator(0)).numpy()
    assert abs(values.std() / std - 1) < 0.02  # 60,000 samples: relative error ~ 0.3 %
    assert abs(values.mean()) < 0.02 * std * 10


def test_zeros_and_ones(backend):
    p = _param((3, 2), backend)
    assert (init.ones_(p).numpy() == 1).all()
    assert (init.zeros_(p).numpy() == 0).all()


def test_linear_and_conv_defaults_match_pytorch_bounds():
    lin = nn.Linear(50, 7)
    assert np.abs(lin.weight.numpy()).max() <= 1 / math.sqrt(50)
    assert np.abs(lin.bias.numpy()).max() <= 1 / math.sqrt(50)
    conv = nn.Conv2d(4, 6, kernel_size=3)
    assert np.abs(conv.weight.numpy()).max() <= 1 / math.sqrt(36)
    assert np.abs(conv.bias.numpy()).max() <= 1 / math.sqrt(36)


def test_fan_needs_two_dimensions():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.kaiming_uniform_(_param((5,)))
