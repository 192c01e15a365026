"""Values of the indexing, scan, contraction and norm ops against NumPy, on every backend
(gradients are checked through the samples in ``op_samples.py``)."""

from __future__ import annotations

import array_api_compat
import numpy as np
import pytest
from xp_backends import assert_close, host, var

import axoncl as ax


@pytest.mark.parametrize(
    "subscripts, shapes",
    [
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("bij,bjk->bik", [(2, 2, 3), (2, 3, 5)]),
        ("bhqd,bhkd->bhqk", [(2, 3, 4, 5), (2, 3, 6, 5)]),
        ("i,i->", [(4,), (4,)]),
        ("ij,kj->ikj", [(2, 3), (4, 3)]),
        ("ii->i", [(3, 3)]),
        ("ijk->kji", [(2, 3, 4)]),
        ("ij,jk,kl->li", [(2, 3), (3, 4), (4, 2)]),
        ("...ij,...jk", [(2, 3, 4), (2, 4, 5)]),
        ("ij,ij->i", [(3, 4), (3, 4)]),
    ],
)
def test_einsum_matches_numpy(subscripts, shapes, xp):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) for s in shapes]
    got = ax.einsum(subscripts, *[var(xp, a) for a in arrays])
    assert_close(got, np.einsum(subscripts, *arrays), atol=1e-12, what=subscripts)


def test_einsum_errors_name_the_subscripts():
    with pytest.raises(ValueError, match="name 2 operands, got 1"):
        ax.einsum("ij,jk->ik", np.ones((2, 2)))
    with pytest.raises(ValueError, match="does not fit an operand of shape"):
        ax.einsum("ijk->i", np.ones((2, 2)))
    with pytest.raises(ValueError, match="size 3 in one operand and 4"):
        ax.einsum("ij,jk->ik", np.ones((2, 3)), np.ones((4, 2)))


def test_cumsum_and_its_gradient_match_the_closed_form(xp):
    x = var(xp, [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    y = ax.cumsum(x, axis=1)
    assert_close(y, [[1.0, 3.0, 6.0], [4.0, 9.0, 15.0]])
    (y * var(xp, [1.0, 10.0, 100.0], requires_grad=False)).sum().backward()
    assert_close(x.grad, [[111.0, 110.0, 100.0]] * 2)  # reversed running sum of the weights


@pytest.mark.parametrize("ord_", [2, 1, 3.0, float("inf"), float("-inf")])
def test_norm_matches_numpy(ord_, xp):
    a = np.random.default_rng(1).standard_normal((3, 4))
    assert_close(ax.norm(var(xp, a), ord_, axis=1), np.linalg.norm(a, ord_, axis=1))
    flat = np.linalg.norm(a.reshape(-1), ord_)
    assert_close(ax.norm(var(xp, a), ord_), flat)


def test_norm_rejects_non_positive_ord():
    with pytest.raises(ValueError, match="expected ord > 0"):
        ax.norm(np.ones(3), 0)


def test_take_along_axis_adds_repeated_indices(xp):
    x = var(xp, [[1.0, 2.0, 3.0]])
    idx = ax.Variable(ax.asarray(np.array([[2, 2, 0, 2]]), backend=xp))
    y = ax.take_along_axis(x, idx, axis=1)
    assert_close(y, [[3.0, 3.0, 1.0, 3.0]])
    y.sum().backward()
    assert_close(x.grad, [[1.0, 0.0, 3.0]])


def test_take_along_axis_rejects_float_indices():
    with pytest.raises(TypeError, match="expected integer indices, got dtype float64"):
        ax.take_along_axis(np.ones((2, 3)), np.zeros((2, 1)), axis=1)


def test_gather_matches_torch_semantics():
    torch = pytest.importorskip("torch")
    a = np.arange(12.0).reshape(3, 4)
    index = np.array([[3, 0, 1], [2, 2, 0]])
    want = torch.gather(torch.tensor(a), 1, torch.tensor(index)).numpy()
    np.testing.assert_array_equal(ax.gather(a, 1, index).numpy(), want)


def test_one_hot_infers_classes_and_takes_a_dtype(xp):
    idx = ax.asarray(np.array([1, 0, 3]), backend=xp)
    out = ax.one_hot(idx)
    np.testing.assert_array_equal(host(out), np.eye(4, dtype=np.int64)[[1, 0, 3]])
    assert ax.one_hot(idx, 5, dtype="float32").shape == (3, 5)


def test_argmax_and_argmin_take_the_first_tie_and_record_no_graph(xp):
    x = var(xp, [[1.0, 5.0, 5.0], [0.0, -1.0, -1.0]])
    np.testing.assert_array_equal(host(x.argmax(axis=1)), [1, 0])
    np.testing.assert_array_equal(host(ax.argmin(x, axis=1)), [0, 1])
    assert int(x.argmax()) == 1
    assert x.argmax(axis=1).grad_fn is None


def test_clone_copies_and_passes_the_gradient(xp):
    x = var(xp, [1.0, 2.0])
    y = x.clone()
    # An immutable array (JAX's) needs no copy: it may come back as the same object.
    assert y.data is not x.data or not array_api_compat.is_writeable_array(x.data)
    assert y.grad_fn is not None
    (y * 3.0).sum().backward()
    assert_close(x.grad, [3.0, 3.0])


def test_requires_grad_and_view_follow_pytorch():
    x = ax.Variable(np.zeros((2, 3)))
    assert x.requires_grad_() is x and x.requires_grad
    assert x.view(3, 2).shape == (3, 2) and x.view(-1).shape == (6,)
    assert x.flatten().shape == (6,)
