"""Layers, parameters and initialisation.

Examples
--------
>>> import numpy as np
>>> from axoncl import nn
>>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
>>> model(np.ones((2, 4), dtype=np.float32)).shape
(2, 3)
"""

from ..random import Generator, manual_seed
from . import init
from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv2d, MaxPool2d
from .layers import GELU, Dropout, Flatten, Identity, Linear, ReLU, Sequential, Sigmoid, Tanh
from .module import Module, Parameter, RemovableHandle
from .normalization import BatchNorm1d, BatchNorm2d
from .serialization import load, save

__all__ = [
    "GELU",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Dropout",
    "Flatten",
    "Generator",
    "Identity",
    "Linear",
    "MaxPool2d",
    "Module",
    "Parameter",
    "ReLU",
    "RemovableHandle",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "init",
    "load",
    "manual_seed",
    "save",
]
