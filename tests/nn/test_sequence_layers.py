"""LayerNorm, Embedding, MultiheadAttention, LSTM, GRU, Conv1d and scaled dot-product
attention against ``torch.nn`` in float64: outputs, input gradients and parameter gradients
(weights copied by ``state_dict`` name, so the names must be PyTorch's)."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import assert_close, host, load_backend, require_float64, to_xp

import axoncl
from axoncl import nn
from axoncl.nn import functional as F

torch = pytest.importorskip("torch")

TOL = {"atol": 1e-6, "rtol": 1e-6}


@pytest.fixture(params=["numpy", "opencl"])
def xp(request):
    backend = load_backend(request.param)
    require_float64(backend)
    return backend


def _copy_weights(ours: nn.Module, theirs: torch.nn.Module, xp) -> None:
    """Load torch's weights into ours by name (strict: every name must match), on ``xp``."""
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    ours.to(xp)


def _inputs(xp, *arrays):
    ours = [axoncl.Variable(to_xp(xp, a, "float64"), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    return ours, theirs


def _backward_both(ours_out, theirs_out, seed: int) -> None:
    """Backpropagate the same random cotangent through both outputs."""
    cot = np.random.default_rng(seed).standard_normal(tuple(theirs_out.shape))
    (ours_out * axoncl.Variable(axoncl.asarray(cot, backend=ours_out.xp))).sum().backward()
    (theirs_out * torch.tensor(cot)).sum().backward()


def _compare_grads(ours: nn.Module, theirs: torch.nn.Module) -> None:
    grads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert p.grad is not None, f"{name}: no gradient"
        assert_close(p.grad, grads[name].grad.numpy(), what=f"grad of {name}", **TOL)


def test_layer_norm_matches_torch(xp):
    torch.manual_seed(0)
    theirs = torch.nn.LayerNorm((3, 4), dtype=torch.float64)
    with torch.no_grad():  # non-trivial affine parameters
        theirs.weight.normal_()
        theirs.bias.normal_()
    ours = nn.LayerNorm((3, 4), dtype="float64")
    _copy_weights(ours, theirs, xp)
    a = np.random.default_rng(1).standard_normal((2, 3, 4)) * 3 + 1
    (x,), (tx,) = _inputs(xp, a)
    y, ty = ours(x), theirs(tx)
    assert_close(y, ty.detach().numpy(), what="LayerNorm output", **TOL)
    _backward_both(y, ty, 2)
    assert_close(x.grad, tx.grad.numpy(), what="LayerNorm input grad", **TOL)
    _compare_grads(ours, theirs)


def test_embedding_matches_torch_with_padding_idx(xp):
    torch.manual_seed(0)
    theirs = torch.nn.Embedding(7, 3, padding_idx=2, dtype=torch.float64)
    ours = nn.Embedding(7, 3, padding_idx=2, dtype="float64")
    _copy_weights(ours, theirs, xp)
    idx = np.array([[0, 2, 5], [5, 5, 6]])
    y = ours(axoncl.asarray(idx, backend=xp))
    ty = theirs(torch.tensor(idx))
    assert_close(y, ty.detach().numpy(), what="Embedding output", **TOL)
    _backward_both(y, ty, 3)
    _compare_grads(ours, theirs)
    assert np.all(host(ours.weight.grad)[2] == 0.0)  # the padding row learns nothing


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mask", ["none", "causal-bool", "float", "padding"])
def test_multihead_attention_matches_torch(batch_first, mask, xp):
    torch.manual_seed(0)
    embed, heads, length, source, batch = 8, 2, 4, 5, 3
    theirs = torch.nn.MultiheadAttention(embed, heads, batch_first=batch_first, dtype=torch.float64)
    with torch.no_grad():
        theirs.in_proj_bias.normal_()
        theirs.out_proj.bias.normal_()
    ours = nn.MultiheadAttention(embed, heads, batch_first=batch_first, dtype="float64")
    _copy_weights(ours, theirs, xp)
    rng = np.random.default_rng(4)
    lead = (batch, length) if batch_first else (length, batch)
    lead_kv = (batch, source) if batch_first else (source, batch)
    q, k, v = rng.standard_normal((*lead, embed)), *rng.standard_normal((2, *lead_kv, embed))
    (x_q, x_k, x_v), (t_q, t_k, t_v) = _inputs(xp, q, k, v)
    kwargs, tkwargs = {}, {}
    if mask == "causal-bool":
        m = np.triu(np.ones((length, source), dtype=bool), k=1)
        kwargs["attn_mask"] = axoncl.asarray(m, backend=xp)
        tkwargs["attn_mask"] = torch.tensor(m)
    elif mask == "float":
        m = rng.standard_normal((length, source))
        kwargs["attn_mask"] = axoncl.asarray(m, backend=xp)
        tkwargs["attn_mask"] = torch.tensor(m)
    elif mask == "padding":
        m = np.zeros((batch, source), dtype=bool)
        m[0, -2:] = True
        m[2, 0] = True
        kwargs["key_padding_mask"] = axoncl.asarray(m, backend=xp)
        tkwargs["key_padding_mask"] = torch.tensor(m)
    y, w = ours(x_q, x_k, x_v, **kwargs)
    ty, tw = theirs(t_q, t_k, t_v, **tkwargs)
    assert_close(y, ty.detach().numpy(), what="attention output", **TOL)
    assert_close(w, tw.detach().numpy(), what="attention weights", **TOL)
    _backward_both(y, ty, 5)
    for name, a, b in (("query", x_q, t_q), ("key", x_k, t_k), ("value", x_v, t_v)):
        assert_close(a.grad, b.grad.numpy(), what=f"grad of {name}", **TOL)
    _compare_grads(ours, theirs)


def test_multihead_attention_is_causal_equals_the_causal_mask():
    mha = nn.MultiheadAttention(4, 2, dtype="float64")
    x = np.random.default_rng(0).standard_normal((3, 2, 4))
    causal, _ = mha(x, x, x, is_causal=True)
    masked, _ = mha(x, x, x, attn_mask=np.triu(np.ones((3, 3), dtype=bool), k=1))
    np.testing.assert_allclose(causal.numpy(), masked.numpy(), atol=1e-14)


@pytest.mark.parametrize("is_causal", [False, True])
def test_scaled_dot_product_attention_matches_torch(is_causal, xp):
    rng = np.random.default_rng(6)
    q, k, v = rng.standard_normal((3, 2, 2, 4, 3))
    (x_q, x_k, x_v), (t_q, t_k, t_v) = _inputs(xp, q, k, v)
    y = F.scaled_dot_product_attention(x_q, x_k, x_v, is_causal=is_causal)
    ty = torch.nn.functional.scaled_dot_product_attention(t_q, t_k, t_v, is_causal=is_causal)
    assert_close(y, ty.detach().numpy(), what="attention", **TOL)
    _backward_both(y, ty, 7)
    for a, b in ((x_q, t_q), (x_k, t_k), (x_v, t_v)):
        assert_close(a.grad, b.grad.numpy(), **TOL)


def test_scaled_dot_product_attention_bool_mask_keeps_true_positions():
    rng = np.random.default_rng(8)
    q, k, v = rng.standard_normal((3, 2, 3, 4))
    mask = rng.random((3, 3)) < 0.6
    mask[:, 0] = True  # every query sees at least one key
    want = torch.nn.functional.scaled_dot_product_attention(
        *map(torch.tensor, (q, k, v)), attn_mask=torch.tensor(mask)
    )
    got = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-12)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
@pytest.mark.parametrize("num_layers, batch_first", [(1, False), (2, True)])
def test_recurrent_layers_match_torch(kind, num_layers, batch_first, xp):
    torch.manual_seed(0)
    size_in, hidden, steps, batch = 3, 4, 5, 2
    theirs = getattr(torch.nn, kind)(
        size_in, hidden, num_layers=num_layers, batch_first=batch_first, dtype=torch.float64
    )
    ours = getattr(nn, kind)(
        size_in, hidden, num_layers=num_layers, batch_first=batch_first, dtype="float64"
    )
    _copy_weights(ours, theirs, xp)
    rng = np.random.default_rng(9)
    shape = (batch, steps, size_in) if batch_first else (steps, batch, size_in)
    a = rng.standard_normal(shape)
    h0 = rng.standard_normal((num_layers, batch, hidden))
    c0 = rng.standard_normal((num_layers, batch, hidden))
    if kind == "LSTM":
        (x, h, c), (tx, th, tc) = _inputs(xp, a, h0, c0)
        y, (h_n, c_n) = ours(x, (h, c))
        ty, (th_n, tc_n) = theirs(tx, (th, tc))
        outs = [(y, ty), (h_n, th_n), (c_n, tc_n)]
        leaves = [(x, tx), (h, th), (c, tc)]
    else:
        (x, h), (tx, th) = _inputs(xp, a, h0)
        y, h_n = ours(x, h)
        ty, th_n = theirs(tx, th)
        outs = [(y, ty), (h_n, th_n)]
        leaves = [(x, tx), (h, th)]
    for i, (o, t) in enumerate(outs):
        assert_close(o, t.detach().numpy(), what=f"{kind} output {i}", **TOL)
    total = sum(((o * float(i + 1)).sum() for i, (o, _) in enumerate(outs)), start=0.0)
    ttotal = sum(((t * float(i + 1)).sum() for i, (_, t) in enumerate(outs)), start=0.0)
    total.backward()
    ttotal.backward()
    for i, (a_leaf, t_leaf) in enumerate(leaves):
        assert_close(a_leaf.grad, t_leaf.grad.numpy(), what=f"{kind} input grad {i}", **TOL)
    _compare_grads(ours, theirs)


def test_lstm_unbatched_input_and_default_state():
    lstm = nn.LSTM(2, 3, dtype="float64")
    theirs = torch.nn.LSTM(2, 3, dtype=torch.float64)
    lstm.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    a = np.random.default_rng(0).standard_normal((4, 2))
    y, (h, c) = lstm(a)
    ty, (th, tc) = theirs(torch.tensor(a))
    assert y.shape == (4, 3) and h.shape == (1, 3)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(c.numpy(), tc.detach().numpy(), atol=1e-12)


def test_recurrent_errors_name_the_expected_shape():
    with pytest.raises(ValueError, match=r"expected input of shape \(T, N, 3\)"):
        nn.GRU(3, 4)(np.ones((2, 5, 2)))
    with pytest.raises(NotImplementedError, match="bidirectional"):
        nn.LSTM(3, 4, bidirectional=True)


def test_conv1d_matches_torch(xp):
    torch.manual_seed(0)
    theirs = torch.nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2, dtype=torch.float64)
    ours = nn.Conv1d(4, 6, 3, stride=2, padding=1, groups=2, dtype="float64")
    _copy_weights(ours, theirs, xp)
    (x,), (tx,) = _inputs(xp, np.random.default_rng(1).standard_normal((2, 4, 9)))
    y, ty = ours(x), theirs(tx)
    assert_close(y, ty.detach().numpy(), **TOL)
    _backward_both(y, ty, 2)
    assert_close(x.grad, tx.grad.numpy(), **TOL)
    _compare_grads(ours, theirs)


def test_module_list_and_dict_register_their_parameters():
    class Plain(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = [nn.Linear(2, 2)]  # a Python list registers nothing

    class Listed(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2), nn.Linear(2, 3)])
            self.heads = nn.ModuleDict({"a": nn.Linear(3, 1)})

    assert list(Plain().parameters()) == []
    model = Listed()
    names = [n for n, _ in model.named_parameters()]
    assert names == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
        "heads.a.weight",
        "heads.a.bias",
    ]
    model.layers.append(nn.Linear(3, 3))
    assert len(model.layers) == 3 and "layers.2.weight" in model.state_dict()
    assert isinstance(model.layers[-1], nn.Linear) and len(model.layers[1:]) == 2
    del model.layers[0]
    assert [n for n, _ in model.layers.named_parameters()][0] == "0.weight"
    assert model.layers[0].out_features == 3
    assert "a" in model.heads and list(model.heads.keys()) == ["a"]
    with pytest.raises(KeyError, match="no module 'b'; have \\['a'\\]"):
        model.heads["b"]
    with pytest.raises(IndexError, match="index 5 is out of range for 2 modules"):
        model.layers[5]


@pytest.mark.parametrize("layer, shape", [(nn.Dropout1d, (4, 6, 5)), (nn.Dropout2d, (4, 6, 3, 2))])
def test_channel_dropout_zeroes_whole_channels(layer, shape):
    drop = layer(0.5, seed=3)
    x = axoncl.Variable(np.ones(shape), requires_grad=True)
    y = drop(x).numpy().reshape(shape[0], shape[1], -1)
    per_channel = y.max(axis=-1)
    assert np.all(y == per_channel[..., None])  # one value per channel
    assert set(np.unique(per_channel)) == {0.0, 2.0}
    drop.eval()
    assert drop(x) is x
