"""``get_backend`` takes any array-API namespace, by short name, dotted module name or the module
itself, and errors name the real library of each array (``backends/__init__.py``)."""

from __future__ import annotations

import array_api_strict
import numpy as np
import pytest
from xp_backends import load_backend

import axoncl
from axoncl import Variable, nn
from axoncl.backends import backend_name, get_backend, namespace_of


def test_a_library_module_gives_the_namespace_its_arrays_report():
    assert get_backend(np) is namespace_of(np.ones(2)) is get_backend("numpy")
    assert get_backend(array_api_strict) is get_backend("array_api_strict")


def test_a_dotted_namespace_module_name_is_accepted():
    assert get_backend("array_api_compat.numpy") is get_backend("numpy")


def test_a_module_that_is_no_array_namespace_is_refused():
    with pytest.raises(ValueError, match=r"get_backend: expected one of .*'json'"):
        get_backend("json")


def test_jax_by_name_and_by_module_is_the_namespace_of_jax_arrays():
    jnp = load_backend("jax")
    import jax.numpy

    x = jax.numpy.ones(2)
    assert get_backend("jax") is get_backend(jax.numpy) is get_backend("jax.numpy")
    assert namespace_of(x) is jnp
    assert backend_name(jnp) == "jax"


def test_mixing_numpy_and_jax_names_both_libraries():
    jnp = load_backend("jax")
    a = Variable(np.ones(2))
    b = Variable(jnp.ones(2))
    with pytest.raises(TypeError, match=r"cannot mix numpy and jax arrays .*\.to\('numpy'\)"):
        a * b
    with pytest.raises(TypeError, match="cannot mix jax and numpy arrays"):
        b + a


def test_a_model_moves_to_jax_by_name_and_by_module_and_back():
    jnp = load_backend("jax")
    import jax.numpy

    net = nn.Sequential(nn.Linear(3, 2, dtype="float64"))
    x = np.arange(6.0).reshape(2, 3)
    want = net(Variable(x)).numpy()
    for target in ("jax", jax.numpy):
        net.to(target)
        assert net[0].weight.backend == "jax"
        out = net(Variable(axoncl.asarray(x, backend=jnp)))
        assert out.backend == "jax"
        np.testing.assert_allclose(out.numpy(), want, atol=1e-12, rtol=0)
        net.to("numpy")
        assert net[0].weight.backend == "numpy"


def test_a_variable_moved_to_jax_sends_its_gradient_back():
    load_backend("jax")
    x = Variable(np.array([1.0, 2.0]), requires_grad=True)
    y = x.to("jax")
    assert y.backend == "jax"
    (y * y).sum().backward()
    assert x.grad.backend == "numpy"
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
