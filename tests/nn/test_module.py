"""Module bookkeeping: names, state dicts, modes, devices, hooks."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import assert_close, host, load_backend

import axoncl
from axoncl import nn


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.BatchNorm1d(8))
        self.head = nn.Linear(8, 3)

    def forward(self, x):
        return self.head(self.features(x))


def test_named_parameters_are_dotted_and_set_parameter_names():
    net = _Net()
    names = [name for name, _ in net.named_parameters()]
    assert names == [
        "features.0.weight",
        "features.0.bias",
        "features.2.weight",
        "features.2.bias",
        "head.weight",
        "head.bias",
    ]
    assert [p.name for p in net.parameters()] == names


def test_parameter_names_are_set_when_assigned_without_calling_named_parameters():
    net = _Net()
    assert net.features[0].weight.name == "features.0.weight"
    assert net.head.bias.name == "head.bias"


def test_shared_parameter_is_listed_once():
    net = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    net[1].weight = net[0].weight
    assert len(list(net.parameters())) == 3


def test_children_and_modules():
    net = _Net()
    assert [name for name, _ in net.named_children()] == ["features", "head"]
    kinds = [type(m).__name__ for m in net.modules()]
    assert kinds == ["_Net", "Sequential", "Linear", "ReLU", "BatchNorm1d", "Linear"]


def test_train_and_eval_set_training_on_every_module():
    net = _Net()
    net.eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_state_dict_has_parameters_and_buffers():
    keys = list(_Net().state_dict())
    assert "features.2.running_mean" in keys and "features.2.running_var" in keys
    assert "head.weight" in keys


def test_state_dict_round_trip_gives_same_outputs():
    axoncl.manual_seed(1)
    a = _Net()
    a(np.random.default_rng(0).standard_normal((6, 4)).astype(np.float32))  # move BN stats
    axoncl.manual_seed(2)
    b = _Net()
    b.load_state_dict(a.state_dict())
    a.eval()
    b.eval()
    x = np.random.default_rng(1).standard_normal((5, 4)).astype(np.float32)
    assert_close(b(x), a(x).numpy(), atol=0, rtol=0)
    # The loaded arrays are copies: updating one model leaves the other alone.
    b.head.weight.data[...] = 0
    assert np.abs(a.head.weight.numpy()).sum() > 0


def test_load_state_dict_names_missing_and_unexpected_keys():
    net = _Net()
    state = dict(net.state_dict())
    del state["head.bias"]
    state["head.extra"] = np.zeros(3)
    with pytest.raises(
        KeyError,
        match=r"missing keys \['head.bias'\].*unexpected keys "
        r"\['head.extra'\]",
    ):
        net.load_state_dict(state)


def test_load_state_dict_non_strict_ignores_extra_keys():
    net = _Net()
    state = dict(net.state_dict())
    state["head.extra"] = np.zeros(3)
    net.load_state_dict(state, strict=False)


def test_load_state_dict_names_shape_mismatch():
    net = _Net()
    state = dict(net.state_dict())
    state["head.weight"] = np.zeros((3, 9), dtype=np.float32)
    with pytest.raises(ValueError, match=r"head.weight: expected shape \(3, 8\), got \(3, 9\)"):
        net.load_state_dict(state)


def test_load_state_dict_casts_to_parameter_dtype():
    net = nn.Linear(2, 2)
    net.load_state_dict({"weight": np.ones((2, 2)), "bias": np.zeros(2)})
    assert net.weight.dtype == np.float32


def test_zero_grad():
    net = nn.Linear(3, 2)
    net(np.ones((1, 3), dtype=np.float32)).sum().backward()
    assert net.weight.grad is not None
    net.zero_grad(set_to_none=False)
    assert host(net.weight.grad).sum() == 0
    net.zero_grad()
    assert net.weight.grad is None


def test_forward_hook_sees_inputs_and_output_and_can_be_removed():
    net = nn.Linear(3, 2)
    seen = []
    handle = net.register_forward_hook(lambda m, inputs, out: seen.append((m, out.shape)))
    net(np.ones((4, 3), dtype=np.float32))
    handle.remove()
    net(np.ones((4, 3), dtype=np.float32))
    assert seen == [(net, (4, 2))]


def test_forward_hook_may_replace_output():
    net = nn.Linear(3, 2)
    net.register_forward_hook(lambda m, inputs, out: out * 0.0)
    assert host(net(np.ones((1, 3), dtype=np.float32))).sum() == 0


def test_assigning_a_plain_array_to_a_parameter_slot_raises():
    net = nn.Linear(3, 2)
    with pytest.raises(TypeError, match="cannot assign ndarray to 'weight'"):
        net.weight = np.zeros((2, 3))


def test_repr_lists_children():
    text = repr(nn.Sequential(nn.Conv2d(3, 16, 3, padding=1), nn.ReLU()))
    assert "(0): Conv2d(3, 16, kernel_size=3, padding=1)" in text


def test_to_moves_parameters_and_buffers_and_keeps_parameter_objects():
    xp = load_backend("opencl")
    net = _Net()
    weight = net.head.weight
    net.to("opencl")
    assert net.head.weight is weight
    assert weight.backend == "opencl"
    assert axoncl.backend_name(axoncl.namespace_of(net.features[2].running_mean)) == "opencl"
    x = xp.asarray(np.ones((5, 4), dtype=np.float32))
    assert net(x).shape == (5, 3)
    net.to("numpy")
    assert weight.backend == "numpy"


def test_state_dict_orders_keys_module_by_module():
    keys = list(_Net().state_dict())
    assert keys[:6] == [
        "features.0.weight",
        "features.0.bias",
        "features.2.weight",
        "features.2.bias",
        "features.2.running_mean",
        "features.2.running_var",
    ]


def test_to_accepts_a_device_spec():
    load_backend("opencl")
    from axoncl.backends.opencl.device import get_device

    net = nn.Linear(2, 2).to("opencl:cpu")
    assert net.weight.data.device is get_device("opencl:cpu")
