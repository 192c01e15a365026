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
from . import functional, init, utils
from .attention import MultiheadAttention
from .containers import ModuleDict, ModuleList
from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, MaxPool2d
from .dropout import Dropout1d, Dropout2d
from .layers import GELU, Dropout, Flatten, Identity, Linear, ReLU, Sequential, Sigmoid, Tanh
from .module import Module, Parameter, RemovableHandle
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .recurrent import GRU, LSTM
from .serialization import load, save
from .sparse import Embedding

__all__ = [
    "GELU",
    "GRU",
    "LSTM",
    "AdaptiveAvgPool2d",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv1d",
    "Conv2d",
    "Dropout",
    "Dropout1d",
    "Dropout2d",
    "Embedding",
    "Flatten",
    "Generator",
    "Identity",
    "LayerNorm",
    "Linear",
    "MaxPool2d",
    "Module",
    "ModuleDict",
    "ModuleList",
    "MultiheadAttention",
    "Parameter",
    "ReLU",
    "RemovableHandle",
    "Sequential",
    "Sigmoid",
    "Tanh",
    "functional",
    "init",
    "load",
    "manual_seed",
    "save",
    "utils",
]
