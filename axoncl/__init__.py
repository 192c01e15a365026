"""axoncl: reverse-mode automatic differentiation over the Python array API, with OpenCL.

Examples
--------
>>> import numpy as np, axoncl
>>> x = axoncl.Variable(np.array([2.0, 3.0]), requires_grad=True)
>>> x.pow(2.0).sum().backward()
>>> x.grad.numpy()
array([4., 6.])
"""

from . import nn, optim
from .backends import asarray, available_backends, backend_name, get_backend, namespace_of
from .backward import backward, grad
from .functions import (
    abs,
    adaptive_avg_pool2d,
    add,
    astype,
    avg_pool2d,
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    broadcast_to,
    clip,
    concat,
    conv1d,
    conv2d,
    cross_entropy,
    divide,
    dropout,
    elu,
    erf,
    exp,
    expm1,
    flatten,
    gelu,
    getitem,
    l1_loss,
    leaky_relu,
    linear,
    log,
    log1p,
    log_softmax,
    logsumexp,
    matmul,
    matrix_transpose,
    max,
    max_pool2d,
    maximum,
    mean,
    min,
    minimum,
    mse_loss,
    multiply,
    negative,
    nll_loss,
    pad,
    permute_dims,
    pow,
    prod,
    relu,
    reshape,
    sigmoid,
    sign,
    silu,
    softmax,
    softplus,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    subtract,
    sum,
    tanh,
    transpose,
    unsqueeze,
    var,
    where,
)
from .grad_mode import (
    InferenceModeGuard,
    NoGradGuard,
    enable_grad,
    inference_mode,
    is_grad_enabled,
    is_inference_mode_enabled,
    no_grad,
    set_grad_enabled,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_gradient
from .graph import Function
from .nn.init import Generator, manual_seed
from .variable import Variable

__version__ = "0.1.0"

__all__ = [
    "Function", "Generator", "GradcheckError", "InferenceModeGuard", "NoGradGuard", "Variable",
    "abs", "adaptive_avg_pool2d", "add", "asarray", "avg_pool2d", "conv1d", "conv2d",
    "dropout", "max_pool2d", "astype", "available_backends", "backend_name", "backward",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "broadcast_to", "clip", "concat",
    "cross_entropy", "divide", "elu", "enable_grad", "erf", "exp", "expm1", "flatten", "gelu",
    "get_backend", "getitem", "grad", "gradcheck", "gradgradcheck", "inference_mode",
    "is_grad_enabled", "is_inference_mode_enabled", "l1_loss", "leaky_relu", "linear", "log", "log1p",
    "log_softmax", "logsumexp", "manual_seed", "matmul", "matrix_transpose", "max", "maximum",
    "mean", "min", "minimum", "mse_loss", "multiply", "namespace_of", "negative", "nll_loss", "nn",
    "no_grad", "numerical_gradient", "optim", "pad", "permute_dims", "pow", "prod", "relu",
    "reshape", "set_grad_enabled", "sigmoid", "sign", "silu", "softmax", "softplus", "split",
    "sqrt", "square", "squeeze", "stack", "std", "subtract", "sum", "tanh", "transpose",
    "unsqueeze", "var", "where",
]
