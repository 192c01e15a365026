"""A small convolutional model with BatchNorm, GELU, a Sequential and a module called twice:
the inspector's test subject for grouping by module."""

from __future__ import annotations

import numpy as np

import axoncl
from axoncl import inspect as ai
from axoncl import nn


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.act = nn.GELU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x))) + x


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(1, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.relu = nn.ReLU()
        self.blocks = nn.Sequential(Block(), Block())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()
        self.fc = nn.Linear(4, 10)

    def forward(self, x):
        h = self.relu(self.bn(self.stem(x)))
        h = self.relu(self.blocks(h))  # the same ReLU module, called a second time
        return self.fc(self.flat(self.pool(h)))


def traced_net(record=True):
    """(snapshot after backward, model); the stem's bias feeds a BatchNorm, so its gradient
    vanishes and the gradient-flow check flags it."""
    nn.manual_seed(0)
    net = Net()
    x = np.random.default_rng(0).normal(size=(2, 1, 8, 8)).astype(np.float32)
    if record:
        with ai.record_activations():
            loss = axoncl.cross_entropy(net(x), np.array([1, 2]))
    else:
        loss = axoncl.cross_entropy(net(x), np.array([1, 2]))
    loss.backward()
    return ai.trace_backward(loss, names=net), net
