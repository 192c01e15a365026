"""axoncl: reverse-mode automatic differentiation over the Python array API, with OpenCL.

Examples
--------
>>> import numpy as np, axoncl
>>> x = axoncl.Variable(np.array([2.0, 3.0]), requires_grad=True)
>>> x.pow(2.0).sum().backward()
>>> x.grad.numpy()
array([4., 6.])
"""

from . import data, fft, functions, linalg, nn, optim
from .anomaly import detect_anomaly, is_anomaly_enabled
from .autocast import autocast, get_autocast_dtype, is_autocast_enabled
from .backends import asarray, available_backends, backend_name, get_backend, namespace_of
from .capture import CapturedStep, CaptureError, capture
from .checkpoint import checkpoint, checkpoint_sequential
from .engine import backward, grad
from .functions.activation import *  # noqa: F403
from .functions.arithmetic import *  # noqa: F403
from .functions.attention import *  # noqa: F403
from .functions.contraction import *  # noqa: F403
from .functions.conv import *  # noqa: F403
from .functions.decompositions import *  # noqa: F403
from .functions.indexing import *  # noqa: F403
from .functions.linalg import *  # noqa: F403
from .functions.loss import *  # noqa: F403
from .functions.matrices import *  # noqa: F403
from .functions.normalization import *  # noqa: F403
from .functions.norms import *  # noqa: F403
from .functions.reduction import *  # noqa: F403
from .functions.scan import *  # noqa: F403
from .functions.shape import *  # noqa: F403
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
from .grad_scaler import GradScaler
from .gradcheck import GradcheckError, gradcheck, gradgradcheck, numerical_gradient
from .graph import Function
from .random import Generator, manual_seed
from .variable import Variable

__version__ = "0.1.0"

__all__ = [
    "CaptureError",
    "CapturedStep",
    "Function",
    "Generator",
    "GradScaler",
    "GradcheckError",
    "InferenceModeGuard",
    "NoGradGuard",
    "Variable",
    "asarray",
    "autocast",
    "available_backends",
    "backend_name",
    "backward",
    "capture",
    "checkpoint",
    "checkpoint_sequential",
    "data",
    "detect_anomaly",
    "enable_grad",
    "fft",
    "get_autocast_dtype",
    "get_backend",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "inference_mode",
    "is_anomaly_enabled",
    "is_autocast_enabled",
    "is_grad_enabled",
    "is_inference_mode_enabled",
    "linalg",
    "manual_seed",
    "namespace_of",
    "nn",
    "no_grad",
    "numerical_gradient",
    "optim",
    "set_grad_enabled",
]
# The ops: each family module's own list, as in axoncl.functions.
__all__ += functions.activation.__all__
__all__ += functions.attention.__all__
__all__ += functions.arithmetic.__all__
__all__ += functions.conv.__all__
__all__ += functions.contraction.__all__
__all__ += functions.decompositions.__all__
__all__ += functions.indexing.__all__
__all__ += functions.linalg.__all__
__all__ += functions.loss.__all__
__all__ += functions.matrices.__all__
__all__ += functions.normalization.__all__
__all__ += functions.norms.__all__
__all__ += functions.reduction.__all__
__all__ += functions.scan.__all__
__all__ += functions.shape.__all__
