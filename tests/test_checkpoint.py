"""checkpoint / checkpoint_sequential: gradients equal to a plain run bit for bit (dropout,
parameters, several inputs, nesting, outside values), and the memory they save on OpenCL."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from xp_backends import load_backend

import axoncl
from axoncl import Variable, nn
from axoncl.backends import to_numpy
from axoncl.random import default_generator


@pytest.fixture(params=["numpy", "opencl"])
def xp(request):
    return load_backend(request.param)


def _data(xp, shape, seed=0, requires_grad=False):
    host = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    return Variable(xp.asarray(host), requires_grad=requires_grad)


def _generators(model):
    gens = [default_generator] + [m.generator for m in model.modules() if hasattr(m, "generator")]
    return gens, [g.get_state() for g in gens]


def _twice(model, xp, run, inputs):
    """Gradients (and outputs) of ``run(plain: bool)`` for the plain and the checkpointed
    form, from the same generator states and zeroed gradients."""
    results = []
    gens, states = _generators(model)
    for plain in (True, False):
        for g, s in zip(gens, states, strict=True):
            g.set_state(s)
        for v in [*model.parameters(), *inputs]:
            v.grad = None
        out = run(plain)
        (out * out).sum().backward()
        grads = [to_numpy(v.grad.data) for v in [*model.parameters(), *inputs] if v.requires_grad]
        results.append((to_numpy(out.data), grads))
    return results


def _assert_bitwise(results):
    (out_a, grads_a), (out_b, grads_b) = results
    np.testing.assert_array_equal(out_a, out_b)
    assert len(grads_a) == len(grads_b)
    for i, (a, b) in enumerate(zip(grads_a, grads_b, strict=True)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b, err_msg=f"gradient {i}")


def _mlp(xp, layers=4, width=16, p=0.3):
    axoncl.manual_seed(3)
    mods = []
    for _ in range(layers):
        mods += [nn.Linear(width, width), nn.ReLU(), nn.Dropout(p)]
    model = nn.Sequential(*mods)
    model.to(xp)
    return model


def test_dropout_and_parameters_inside_give_the_same_gradients_bit_for_bit(xp):
    model = _mlp(xp)
    x = _data(xp, (5, 16), requires_grad=True)

    def run(plain):
        h = model[:6](x) if plain else axoncl.checkpoint(model[:6], x)
        # functional dropout draws its seed from the default generator
        h = axoncl.dropout(h, 0.2) if plain else axoncl.checkpoint(axoncl.dropout, h, 0.2)
        return model[6:](h)

    _assert_bitwise(_twice(model, xp, run, [x]))


def test_several_inputs_some_without_grad_and_plain_arguments(xp):
    model = _mlp(xp, layers=2, p=0.0)
    a = _data(xp, (4, 16), seed=1, requires_grad=True)
    b = _data(xp, (4, 16), seed=2)  # no grad
    c = _data(xp, (4, 16), seed=3, requires_grad=True)

    def block(a, b, scale, c, *, shift):
        return model(a * scale + b) * c + shift

    def run(plain):
        if plain:
            return block(a, b, 0.5, c, shift=1.0)
        return axoncl.checkpoint(block, a, b, 0.5, c, shift=1.0)

    _assert_bitwise(_twice(model, xp, run, [a, b, c]))
    assert b.grad is None


def test_tuple_outputs_and_an_unused_output(xp):
    model = _mlp(xp, layers=2, p=0.0)
    x = _data(xp, (3, 16), requires_grad=True)

    def block(x):
        h = model(x)
        return h.relu(), h * 2.0, "a note"

    def run(plain):
        first, second, note = block(x) if plain else axoncl.checkpoint(block, x)
        assert note == "a note"
        return first + second

    _assert_bitwise(_twice(model, xp, run, [x]))


def test_nested_checkpoints(xp):
    model = _mlp(xp, layers=4, p=0.25)

    def inner(h):
        return model[3:6](h)

    def outer(h):
        return model[6:](axoncl.checkpoint(inner, model[:3](h)))

    x = _data(xp, (4, 16), requires_grad=True)
    _assert_bitwise(
        _twice(model, xp, lambda plain: outer(x) if plain else axoncl.checkpoint(outer, x), [x])
    )


def test_values_from_outside_with_a_graph_get_their_gradient(xp):
    model = _mlp(xp, layers=2, p=0.0)
    x = _data(xp, (4, 16), requires_grad=True)

    def run(plain):
        bias = (x * 3.0).sum(axis=0)  # made outside the block, used inside by closure
        block = lambda h: model(h) + bias
        return block(x) if plain else axoncl.checkpoint(block, x)

    _assert_bitwise(_twice(model, xp, run, [x]))
    assert x.grad_fn is None  # put back after the recomputation


def test_checkpoint_sequential_matches_the_plain_model(xp):
    model = _mlp(xp, layers=5)
    x = _data(xp, (6, 16), requires_grad=True)
    for segments in (1, 2, 4, 40):

        def run(plain, segments=segments):
            return model(x) if plain else axoncl.checkpoint_sequential(model, segments, x)

        _assert_bitwise(_twice(model, xp, run, [x]))


def test_grad_through_a_checkpoint(xp):
    model = _mlp(xp, layers=2, p=0.0)
    x = _data(xp, (3, 16), requires_grad=True)
    w = model[0].weight
    plain = axoncl.grad((model(x) ** 2).sum(), [x, w])
    kept = axoncl.grad((axoncl.checkpoint(model, x) ** 2).sum(), [x, w])
    for a, b in zip(plain, kept, strict=True):
        np.testing.assert_array_equal(to_numpy(a.data), to_numpy(b.data))
    assert w.grad is None  # grad() returns, it does not accumulate


def test_under_no_grad_it_is_a_plain_call_and_a_second_backward_raises(xp):
    model = _mlp(xp, layers=1, p=0.0)
    x = _data(xp, (2, 16), requires_grad=True)
    with axoncl.no_grad():
        assert axoncl.checkpoint(model, x).grad_fn is None
    loss = axoncl.checkpoint(model, x).sum()
    assert loss.grad_fn is not None
    loss.backward(retain_graph=True)
    first = to_numpy(x.grad.data).copy()
    loss.backward()
    np.testing.assert_array_equal(to_numpy(x.grad.data), 2 * first)
    with pytest.raises(RuntimeError, match="freed"):
        loss.backward()


def test_autocast_of_the_forward_is_used_in_the_recomputation():
    xp = load_backend("numpy")
    model = _mlp(xp, layers=3, p=0.2)
    x = _data(xp, (4, 16), requires_grad=True)

    def run(plain):
        with axoncl.autocast():
            out = model(x) if plain else axoncl.checkpoint(model, x)
        assert out.dtype == np.float16
        return out.astype("float32")

    results = _twice(model, xp, run, [x])
    _assert_bitwise(results)
    assert all(g.dtype == np.float32 for g in results[1][1])


def test_threads_checkpoint_at_once():
    xp = load_backend("numpy")
    model = _mlp(xp, layers=3, p=0.0)
    x = _data(xp, (4, 16))
    expected = axoncl.grad((model(x) ** 2).sum(), list(model.parameters()))
    results, errors = [], []

    def work():
        try:
            for _ in range(5):
                out = axoncl.checkpoint_sequential(model, 3, x)
                results.append(axoncl.grad((out**2).sum(), list(model.parameters())))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) == 15
    for grads in results:
        for a, b in zip(grads, expected, strict=True):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


def _peak_bytes(xp, model, x, segments):
    from axoncl.backends.opencl import memory_stats, reset_peak_memory_stats

    model.zero_grad()
    reset_peak_memory_stats()
    base = memory_stats()["allocated_bytes.all.current"]
    out = model(x) if segments is None else axoncl.checkpoint_sequential(model, segments, x)
    out.sum().backward()
    return memory_stats()["allocated_bytes.all.peak"] - base


def test_checkpointing_a_20_layer_mlp_halves_its_peak_memory_on_opencl():
    xp = load_backend("opencl")
    axoncl.manual_seed(0)
    layers = []
    for _ in range(20):  # Tanh: Sequential runs Linear+ReLU as one op, which keeps one output
        layers += [nn.Linear(64, 64), nn.Tanh()]
    model = nn.Sequential(*layers)
    model.to(xp)
    x = _data(xp, (1024, 64))
    _peak_bytes(xp, model, x, None)  # warm-up: every kernel built, gradients allocated once
    plain = _peak_bytes(xp, model, x, None)
    kept = _peak_bytes(xp, model, x, 5)
    assert kept <= plain / 2, (plain, kept)
