"""The op rules, one module per family; ``registry`` maps op names to their Function classes."""

from ..graph import Function, registry
from .activation import (
    elu,
    erf,
    gelu,
    leaky_relu,
    log_softmax,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)
from .arithmetic import (
    abs,
    add,
    clip,
    divide,
    exp,
    expm1,
    log,
    log1p,
    maximum,
    minimum,
    multiply,
    negative,
    pow,
    sign,
    sqrt,
    square,
    subtract,
    where,
)
from .conv import adaptive_avg_pool2d, avg_pool2d, conv1d, conv2d, dropout, max_pool2d
from .linalg import linear, matmul
from .loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    l1_loss,
    mse_loss,
    nll_loss,
)
from .reduction import logsumexp, max, mean, min, prod, std, sum, var
from .shape import (
    astype,
    broadcast_to,
    concat,
    flatten,
    getitem,
    matrix_transpose,
    pad,
    permute_dims,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)

__all__ = [
    "Function", "abs", "adaptive_avg_pool2d", "add", "astype", "avg_pool2d", "conv1d", "conv2d",
    "dropout", "max_pool2d", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "broadcast_to", "clip", "concat", "cross_entropy",
    "divide", "elu", "erf", "exp", "expm1", "flatten", "gelu", "getitem", "l1_loss",
    "leaky_relu", "linear", "log", "log1p", "log_softmax", "logsumexp", "matmul", "matrix_transpose",
    "max", "maximum", "mean", "min", "minimum", "mse_loss", "multiply", "negative", "nll_loss",
    "pad", "permute_dims", "pow", "prod", "registry", "relu", "reshape", "sigmoid", "sign",
    "silu", "softmax", "softplus", "split", "sqrt", "square", "squeeze", "stack", "std",
    "subtract", "sum", "tanh", "transpose", "unsqueeze", "var", "where",
]
