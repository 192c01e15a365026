"""``axoncl.linalg`` against ``torch.linalg`` in float64: values and gradients, batched.

The gradchecks on every backend are in ``test_rules.py`` (samples in ``op_samples.py``); here
each function's value and its gradient for a fixed random cotangent are compared with PyTorch's.
"""

from __future__ import annotations

import numpy as np
import pytest

import axoncl as ax
from axoncl import Variable, linalg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(7)


def _spd(shape):
    a = RNG.standard_normal(shape)
    return a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])


def _sym(shape):
    a = RNG.standard_normal(shape)
    return a + np.swapaxes(a, -1, -2)


# name, our function, torch's function, input
CASES = [
    ("det", linalg.det, torch.linalg.det, RNG.standard_normal((2, 3, 3))),
    (
        "slogdet",
        lambda a: linalg.slogdet(a).logabsdet,
        lambda a: torch.linalg.slogdet(a)[1],
        RNG.standard_normal((2, 4, 4)),
    ),
    ("inv", linalg.inv, torch.linalg.inv, RNG.standard_normal((3, 3)) + 3 * np.eye(3)),
    ("cholesky", linalg.cholesky, torch.linalg.cholesky, _spd((2, 4, 4))),
    (
        "cholesky-upper",
        lambda a: linalg.cholesky(a, upper=True),
        lambda a: torch.linalg.cholesky(a, upper=True),
        _spd((3, 3)),
    ),
    (
        "qr-tall",
        lambda a: linalg.qr(a).Q * 2 + linalg.qr(a).R.sum(),
        lambda a: torch.linalg.qr(a)[0] * 2 + torch.linalg.qr(a)[1].sum(),
        RNG.standard_normal((2, 5, 3)),
    ),
    (
        "qr-wide",
        lambda a: linalg.qr(a).Q.sum() + linalg.qr(a).R,
        lambda a: torch.linalg.qr(a)[0].sum() + torch.linalg.qr(a)[1],
        RNG.standard_normal((3, 5)),
    ),
    ("eigvalsh", linalg.eigvalsh, torch.linalg.eigvalsh, _sym((2, 4, 4))),
    (
        "eigh-vectors",
        lambda a: _eigh_gauge(linalg.eigh(a), ax.concat),
        lambda a: _eigh_gauge(torch.linalg.eigh(a), torch.cat),
        _sym((2, 4, 4)),
    ),
    ("svdvals", linalg.svdvals, torch.linalg.svdvals, RNG.standard_normal((2, 4, 3))),
    (
        "svd-tall",
        lambda a: _svd_gauge(linalg.svd(a, full_matrices=False), ax.concat),
        lambda a: _svd_gauge(torch.linalg.svd(a, full_matrices=False), torch.cat),
        RNG.standard_normal((2, 5, 3)),
    ),
    (
        "svd-wide",
        lambda a: _svd_gauge(linalg.svd(a, full_matrices=False), ax.concat),
        lambda a: _svd_gauge(torch.linalg.svd(a, full_matrices=False), torch.cat),
        RNG.standard_normal((3, 5)),
    ),
    (
        "svd-full",
        lambda a: linalg.svd(a)[1] + (linalg.svd(a)[0][..., :, :3] ** 2).sum(),
        lambda a: torch.linalg.svd(a)[1] + (torch.linalg.svd(a)[0][..., :, :3] ** 2).sum(),
        RNG.standard_normal((5, 3)),
    ),
    ("pinv", linalg.pinv, torch.linalg.pinv, RNG.standard_normal((2, 4, 3))),
    (
        "matrix_power-3",
        lambda a: linalg.matrix_power(a, 3),
        lambda a: torch.linalg.matrix_power(a, 3),
        RNG.standard_normal((2, 3, 3)),
    ),
    (
        "matrix_power-neg2",
        lambda a: linalg.matrix_power(a, -2),
        lambda a: torch.linalg.matrix_power(a, -2),
        RNG.standard_normal((3, 3)) + 3 * np.eye(3),
    ),
    (
        "matrix_power-0",
        lambda a: linalg.matrix_power(a, 0),
        lambda a: torch.linalg.matrix_power(a, 0),
        RNG.standard_normal((2, 3, 3)),
    ),
    *[
        (
            f"matrix_norm-{o}",
            lambda a, o=o: linalg.matrix_norm(a, ord=o),
            lambda a, o=o: torch.linalg.matrix_norm(a, ord=o),
            RNG.standard_normal((2, 4, 3)),
        )
        for o in ["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]
    ],
    (
        "vector_norm-3",
        lambda a: linalg.vector_norm(a, ord=3, axis=1),
        lambda a: torch.linalg.vector_norm(a, ord=3, dim=1),
        RNG.standard_normal((2, 4, 3)),
    ),
    ("norm-default", linalg.norm, torch.linalg.norm, RNG.standard_normal((2, 4, 3))),
    (
        "norm-matrix-axes",
        lambda a: linalg.norm(a, "fro", axis=(0, 2), keepdims=True),
        lambda a: torch.linalg.norm(a, "fro", dim=(0, 2), keepdim=True),
        RNG.standard_normal((2, 4, 3)),
    ),
    (
        "norm-2d-ord1",
        lambda a: linalg.norm(a, 1),
        lambda a: torch.linalg.norm(a, 1),
        RNG.standard_normal((4, 3)),
    ),
    (
        "diagonal",
        lambda a: linalg.diagonal(a, offset=-1),
        lambda a: torch.linalg.diagonal(a, offset=-1),
        RNG.standard_normal((2, 4, 3)),
    ),
    (
        "trace",
        lambda a: linalg.trace(a, offset=1),
        lambda a: torch.diagonal(a, offset=1, dim1=-2, dim2=-1).sum(-1),
        RNG.standard_normal((2, 3, 5)),
    ),
]


def _flat(x):
    return x.reshape(tuple(x.shape[:-2]) + (-1,))


def _svd_gauge(usv, concat):
    """U, S, Vh, with the squares of U and Vh: blind to the signs of the singular vectors."""
    u, s, vh = usv
    return concat([_flat(u * u), s, _flat(vh * vh)], -1)


def _eigh_gauge(wv, concat):
    w, v = wv
    return concat([w, _flat(v * v)], -1)


def _ours(fn, a):
    x = Variable(a.copy(), requires_grad=True)
    out = fn(x)
    cot = np.random.default_rng(1).standard_normal(out.shape)
    (out * Variable(cot)).sum().backward()
    return out.numpy(), x.grad.numpy()


def _torch(fn, a):
    x = torch.tensor(a, requires_grad=True)
    out = fn(x)
    cot = np.random.default_rng(1).standard_normal(tuple(out.shape))
    (out * torch.tensor(cot)).sum().backward()
    return out.detach().numpy(), x.grad.numpy()


@pytest.mark.parametrize("case", CASES, ids=lambda c: c[0])
def test_value_and_gradient_match_torch(case):
    _, ours, theirs, a = case
    value, grad = _ours(ours, a)
    value_t, grad_t = _torch(theirs, a)
    np.testing.assert_allclose(value, value_t, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(grad, grad_t, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("b_shape", [(3,), (3, 2), (2, 3, 2)])
def test_solve_matches_torch(b_shape):
    a = RNG.standard_normal((2, 3, 3)) + 3 * np.eye(3)
    b = RNG.standard_normal(b_shape)
    xa, xb = Variable(a, requires_grad=True), Variable(b, requires_grad=True)
    out = linalg.solve(xa, xb)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    tout = torch.linalg.solve(ta, tb)  # a 1-D b is one vector, broadcast over a's batch
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10)
    cot = RNG.standard_normal(out.shape)
    (out * Variable(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), ta.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(xb.grad.numpy(), tb.grad.numpy(), rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("upper", [False, True])
def test_solve_triangular_matches_torch(upper):
    a = RNG.standard_normal((2, 1, 4, 4)) + 4 * np.eye(4)
    b = RNG.standard_normal((3, 4, 2))
    xa, xb = Variable(a, requires_grad=True), Variable(b, requires_grad=True)
    out = linalg.solve_triangular(xa, xb, upper=upper)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    tout = torch.linalg.solve_triangular(ta, tb, upper=upper)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10)
    cot = RNG.standard_normal(out.shape)
    (out * Variable(cot)).sum().backward()
    (tout * torch.tensor(cot)).sum().backward()
    np.testing.assert_allclose(xa.grad.numpy(), ta.grad.numpy(), rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(xb.grad.numpy(), tb.grad.numpy(), rtol=1e-8, atol=1e-10)


def test_products_match_torch():
    x, y = RNG.standard_normal((2, 3)), RNG.standard_normal((4, 3))
    np.testing.assert_allclose(
        linalg.cross(x[:, None], y[None]).numpy(),
        torch.linalg.cross(torch.tensor(x[:, None]), torch.tensor(y[None])).numpy(),
    )
    np.testing.assert_allclose(
        linalg.vecdot(x[:, None], y).numpy(),
        torch.linalg.vecdot(torch.tensor(x[:, None]), torch.tensor(y)).numpy(),
    )
    np.testing.assert_allclose(
        linalg.outer(x[0], y[0]).numpy(), torch.outer(torch.tensor(x[0]), torch.tensor(y[0]))
    )
    a, b = RNG.standard_normal((2, 3, 4)), RNG.standard_normal((4, 3, 5))
    np.testing.assert_allclose(
        linalg.tensordot(a, b, axes=([1, 2], [1, 0])).numpy(),
        torch.tensordot(torch.tensor(a), torch.tensor(b), dims=([1, 2], [1, 0])).numpy(),
    )
    assert int(linalg.matrix_rank(np.outer(x[0], y[0])).item()) == 1


def test_qr_complete_tall_has_no_gradient_as_in_torch():
    a = Variable(RNG.standard_normal((4, 2)), requires_grad=True)
    q, _ = linalg.qr(a, mode="complete")
    with pytest.raises(NotImplementedError, match="mode='complete'"):
        q.sum().backward()


def test_repeated_eigenvalues_give_non_finite_eigenvector_gradients_as_in_torch():
    a = np.eye(3)
    v = linalg.eigh(Variable(a, requires_grad=True)).eigenvectors
    x = v.grad_fn  # the slice of the packed output
    assert x is not None
    w = Variable(a, requires_grad=True)
    (linalg.eigh(w).eigenvectors.sum()).backward()
    assert not np.all(np.isfinite(w.grad.numpy()))
    t = torch.tensor(a, requires_grad=True)
    torch.linalg.eigh(t)[1].sum().backward()
    assert not torch.all(torch.isfinite(t.grad))
    # the eigenvalues alone stay differentiable
    w2 = Variable(a, requires_grad=True)
    linalg.eigvalsh(w2).sum().backward()
    np.testing.assert_allclose(w2.grad.numpy(), np.eye(3))


@pytest.mark.parametrize(
    ("fn", "shape", "error", "match"),
    [
        (linalg.det, (2, 3), ValueError, "square matrices"),
        (linalg.inv, (3,), ValueError, r"shape \(3,\)"),
        (linalg.cholesky, (3, 4), ValueError, "square"),
        (linalg.svd, (3,), ValueError, "matrices"),
        (lambda a: linalg.solve(a, np.ones(4)), (3, 3), ValueError, "solve: expected b"),
        (lambda a: linalg.outer(a, a), (2, 2), ValueError, "two vectors"),
        (lambda a: linalg.matrix_norm(a, ord=3), (2, 2), ValueError, "ord"),
    ],
)
def test_bad_input_raises_a_clear_error(fn, shape, error, match):
    with pytest.raises(error, match=match):
        fn(Variable(np.ones(shape)))


def test_integer_input_is_a_type_error():
    with pytest.raises(TypeError, match="real floating"):
        linalg.det(Variable(np.ones((2, 2), dtype=np.int64)))


def test_cholesky_of_a_matrix_that_is_not_positive_definite_raises_as_numpy_does():
    with pytest.raises(np.linalg.LinAlgError):
        ax.cholesky(np.array([[1.0, 2.0], [2.0, 1.0]]))
