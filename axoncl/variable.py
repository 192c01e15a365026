"""``Variable``: an array-API array with ``requires_grad``, ``grad`` and ``grad_fn``."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .backends import backend_name, namespace_of, to_numpy

__all__ = ["Variable"]


# (array type, dtype) -> whether it is floating; isdtype is slow next to the rest of an op on
# small arrays. The type comes first so that dtypes of two libraries are never compared.
_FLOATING: dict[tuple[type, Any], bool] = {}


def _is_floating(data: Any) -> bool:
    """Whether ``data`` has a real or complex floating dtype (the dtypes that take gradients)."""
    key = (type(data), data.dtype)
    try:
        return _FLOATING[key]
    except KeyError:
        pass
    except TypeError:  # an unhashable dtype object: ask every time
        return namespace_of(data).isdtype(key[1], ("real floating", "complex floating"))
    floating = namespace_of(data).isdtype(key[1], ("real floating", "complex floating"))
    _FLOATING[key] = floating
    return floating


_HOST_VALUES = (list, tuple, int, float, bool, np.generic)


class Variable:
    """An array that records the ops applied to it, for reverse-mode differentiation.

    Parameters
    ----------
    data
        Any array that follows the array API standard (numpy, array-api-strict, torch, OpenCL
        arrays, …), or a nested list / scalar, which becomes a numpy array.
    requires_grad
        Whether gradients are computed for this value; only floating dtypes may require grad.

    Examples
    --------
    >>> import numpy as np
    >>> from axoncl import Variable
    >>> x = Variable(np.array([2.0, 3.0]), requires_grad=True)
    >>> (x ** 2).sum().backward()
    >>> x.grad.numpy()
    array([4., 6.])
    """

    # Set on every Variable; the rarely changed rest are class-level defaults that an instance
    # overrides in its ``__dict__`` (creating a Variable is on the hot path of every op).
    __slots__ = ("data", "_requires_grad", "grad", "grad_fn", "__dict__", "__weakref__")
    __array_priority__ = 1000  # numpy defers to our reflected operators
    _hooks: list[Callable[[Variable], Variable | None]] | None = None
    _retains_grad = False
    _inference = False
    name: str | None = None

    def __init__(self, data: Any, requires_grad: bool = False, *, name: str | None = None) -> None:
        if isinstance(data, Variable):
            data = data.data
        elif isinstance(data, _HOST_VALUES):
            data = np.asarray(data)
        self.data = data
        self.grad: Variable | None = None
        self.grad_fn = None
        if name is not None:
            self.name = name
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True

    # -- autograd state ------------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and not _is_floating(self.data):
            raise TypeError(
                f"requires_grad: only floating-point arrays can require gradients, "
                f"got dtype {self.data.dtype}; cast first, e.g. x.astype('float32')"
            )
        if not flag and self.grad_fn is not None:
            raise RuntimeError(
                "requires_grad: cannot turn off gradients of a non-leaf value; use .detach()"
            )
        self._requires_grad = bool(flag)

    @property
    def is_leaf(self) -> bool:
        """True for values made by the user (not by a recorded op)."""
        return self.grad_fn is None

    def is_inference(self) -> bool:
        """Whether this value was made inside ``inference_mode``."""
        return self._inference

    def backward(
        self, gradient: Any = None, retain_graph: bool = False, create_graph: bool = False
    ) -> None:
        """Accumulate d(self)/d(leaf) into every leaf's ``.grad``.

        Parameters
        ----------
        gradient
            d(loss)/d(self); may be omitted only when ``self`` holds one element.
        retain_graph
            Keep saved values so that a second backward through the graph works.
        create_graph
            Record the backward pass too, for higher-order gradients.
        """
        _engine._backward_one(self, gradient, retain_graph, create_graph)

    def register_hook(self, hook: Callable[[Variable], Variable | None]) -> Callable[[], None]:
        """Call ``hook(grad)`` when this value's gradient is computed; a returned value replaces
        the gradient. Returns a function that removes the hook."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: this value does not require grad")
        if self.grad_fn is not None:
            if not self.grad_fn.pre_hooks:
                self.grad_fn.pre_hooks = []
            hooks = self.grad_fn.pre_hooks
        else:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        hooks.append(hook)
        return lambda: hook in hooks and hooks.remove(hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf value too after backward."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this value does not require grad")
        if self.grad_fn is not None:
            self._retains_grad = True
            self.grad_fn.retained = self

    def zero_grad(self) -> None:
        """Forget the accumulated gradient."""
        self.grad = None

    def detach(self) -> Variable:
        """The same data, outside any graph."""
        return Variable(self.data)

    def requires_grad_(self, requires_grad: bool = True) -> Variable:
        """Set ``requires_grad`` in place; returns ``self``."""
        self.requires_grad = requires_grad
        return self

    def clone(self) -> Variable:
        """A copy of the data that stays in the graph (the gradient passes through)."""
        return F.astype(self, self.data.dtype)

    # -- data access ---------------------------------------------------------------------
    @property
    def xp(self) -> Any:
        """The array-API namespace of the data."""
        return namespace_of(self.data)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self) -> Any:
        return self.data.dtype

    @property
    def device(self) -> Any:
        return getattr(self.data, "device", "cpu")

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return math.prod(self.data.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def item(self) -> float | int | bool:
        """The single element as a Python number."""
        if self.size != 1:
            raise ValueError(f"item: expected a value with one element, got shape {self.shape}")
        return to_numpy(self.data).reshape(()).item()

    def numpy(self) -> np.ndarray:
        """A host NumPy copy of the data."""
        return np.asarray(to_numpy(self.data))

    def to(self, backend: str | Any, device: Any = None) -> Variable:
        """This value on another backend (``"numpy"``, ``"opencl"``, ``"torch"``, …).

        Differentiable: when this value requires grad, the result is its child in the graph and
        backward moves the gradient back to this backend and device.
        """
        return F.shape._MoveTo.apply(self, backend=backend, device=device)

    @property
    def backend(self) -> str:
        return backend_name(namespace_of(self.data))

    def __repr__(self) -> str:
        extra = (
            f", grad_fn={self.grad_fn.name}"
            if self.grad_fn is not None
            else (", requires_grad=True" if self.requires_grad else "")
        )
        return f"Variable({to_numpy(self.data)!r}{extra})"

    def __bool__(self) -> bool:
        return bool(self.data)

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.numpy()
        return out.astype(dtype) if dtype is not None else out

    def __hash__(self) -> int:
        return id(self)

    # -- operators (the common ones call their rule's apply directly: the hot path) -------
    def __add__(self, other: Any) -> Variable:
        return Add.apply(self, other)

    def __radd__(self, other: Any) -> Variable:
        return Add.apply(other, self)

    def __sub__(self, other: Any) -> Variable:
        return Subtract.apply(self, other)

    def __rsub__(self, other: Any) -> Variable:
        return Subtract.apply(other, self)

    def __mul__(self, other: Any) -> Variable:
        return Multiply.apply(self, other)

    def __rmul__(self, other: Any) -> Variable:
        return Multiply.apply(other, self)

    def __truediv__(self, other: Any) -> Variable:
        return Divide.apply(self, other)

    def __rtruediv__(self, other: Any) -> Variable:
        return Divide.apply(other, self)

    def __pow__(self, other: Any) -> Variable:
        return F.pow(self, other)

    def __rpow__(self, other: Any) -> Variable:
        return F.pow(other, self)

    def __matmul__(self, other: Any) -> Variable:
        return F.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Variable:
        return F.matmul(other, self)

    def __neg__(self) -> Variable:
        return F.negative(self)

    def __pos__(self) -> Variable:
        return self

    def __abs__(self) -> Variable:
        return F.abs(self)

    def __getitem__(self, key: Any) -> Variable:
        return F.getitem(self, key)

    # Comparisons give plain (non-differentiable) arrays wrapped as Variables.
    def __lt__(self, other: Any) -> Variable:
        return Variable(self.data < _raw(other))

    def __le__(self, other: Any) -> Variable:
        return Variable(self.data <= _raw(other))

    def __gt__(self, other: Any) -> Variable:
        return Variable(self.data > _raw(other))

    def __ge__(self, other: Any) -> Variable:
        return Variable(self.data >= _raw(other))

    def __eq__(self, other: Any) -> Variable:  # type: ignore[override]
        return Variable(self.data == _raw(other))

    def __ne__(self, other: Any) -> Variable:  # type: ignore[override]
        return Variable(self.data != _raw(other))

    # -- methods (array-API names, plus the original crate's) ----------------------------
    def add(self, other: Any) -> Variable:
        return F.add(self, other)

    add_var = add

    def sub(self, other: Any) -> Variable:
        return F.subtract(self, other)

    def mul(self, other: Any) -> Variable:
        return F.multiply(self, other)

    def div(self, other: Any) -> Variable:
        return F.divide(self, other)

    def pow(self, exponent: Any) -> Variable:
        return F.pow(self, exponent)

    def matmul(self, other: Any) -> Variable:
        return F.matmul(self, other)

    def exp(self) -> Variable:
        return F.exp(self)

    def log(self) -> Variable:
        return F.log(self)

    def sqrt(self) -> Variable:
        return F.sqrt(self)

    def square(self) -> Variable:
        return F.square(self)

    def abs(self) -> Variable:
        return F.abs(self)

    def clip(self, min: Any = None, max: Any = None) -> Variable:  # noqa: A002
        return F.clip(self, min, max)

    def relu(self) -> Variable:
        return Relu.apply(self)

    def sigmoid(self) -> Variable:
        return F.sigmoid(self)

    def tanh(self) -> Variable:
        return F.tanh(self)

    def softmax(self, axis: int = -1) -> Variable:
        return F.softmax(self, axis=axis)

    def log_softmax(self, axis: int = -1) -> Variable:
        return F.log_softmax(self, axis=axis)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Variable:
        return Sum.apply(self, axis=axis, keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Variable:
        return F.mean(self, axis=axis, keepdims=keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Variable:
        return F.max(self, axis=axis, keepdims=keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Variable:
        return F.min(self, axis=axis, keepdims=keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Variable:
        return F.prod(self, axis=axis, keepdims=keepdims)

    def var(self, axis: Any = None, keepdims: bool = False, correction: float = 0.0) -> Variable:
        return F.var(self, axis=axis, keepdims=keepdims, correction=correction)

    def std(self, axis: Any = None, keepdims: bool = False, correction: float = 0.0) -> Variable:
        return F.std(self, axis=axis, keepdims=keepdims, correction=correction)

    def reshape(self, *shape: Any) -> Variable:
        if len(shape) == 1 and isinstance(shape[0], Sequence):
            shape = tuple(shape[0])
        return F.reshape(self, shape)

    def permute(self, *axes: Any) -> Variable:
        if len(axes) == 1 and isinstance(axes[0], Sequence):
            axes = tuple(axes[0])
        return F.permute_dims(self, axes)

    def transpose(self, axis0: int = -2, axis1: int = -1) -> Variable:
        return F.transpose(self, axis0, axis1)

    @property
    def T(self) -> Variable:  # noqa: N802 - array-API name
        if self.ndim != 2:
            raise ValueError(f"T: expected a 2-D value, got shape {self.shape}; use .mT")
        return F.permute_dims(self, (1, 0))

    @property
    def mT(self) -> Variable:  # noqa: N802 - array-API name
        return F.matrix_transpose(self)

    def flatten(self, start_axis: int = 0, end_axis: int = -1) -> Variable:
        return F.flatten(self, start_axis, end_axis)

    def view(self, *shape: Any) -> Variable:
        """``reshape`` under PyTorch's name (the result may be a copy, never an alias)."""
        return self.reshape(*shape)

    def argmax(self, axis: int | None = None, keepdims: bool = False) -> Variable:
        return F.argmax(self, axis=axis, keepdims=keepdims)

    def argmin(self, axis: int | None = None, keepdims: bool = False) -> Variable:
        return F.argmin(self, axis=axis, keepdims=keepdims)

    def cumsum(self, axis: int | None = None) -> Variable:
        return F.cumsum(self, axis=axis)

    def norm(self, ord: Any = 2, axis: Any = None, keepdims: bool = False) -> Variable:  # noqa: A002
        return F.norm(self, ord=ord, axis=axis, keepdims=keepdims)

    def take_along_axis(self, indices: Any, axis: int = -1) -> Variable:
        return F.take_along_axis(self, indices, axis=axis)

    def gather(self, axis: int, index: Any) -> Variable:
        return F.gather(self, axis, index)

    def squeeze(self, axis: Any = None) -> Variable:
        return F.squeeze(self, axis)

    def unsqueeze(self, axis: int) -> Variable:
        return F.unsqueeze(self, axis)

    def broadcast_to(self, shape: Sequence[int]) -> Variable:
        return F.broadcast_to(self, tuple(shape))

    def mse_loss(self, target: Any, reduction: str = "mean") -> Variable:
        return F.mse_loss(self, target, reduction=reduction)

    def binary_cross_entropy(self, target: Any, reduction: str = "mean") -> Variable:
        return F.binary_cross_entropy(self, target, reduction=reduction)

    def astype(self, dtype: Any) -> Variable:
        return F.astype(self, dtype)


_new = object.__new__
_NUMPY_SCALAR = np.generic  # numpy returns these from ops on 0-d arrays; a Variable holds arrays
_as_array = np.asarray


def _new_variable(data: Any) -> Variable:
    """``Variable(data)`` for an op's result, with only the one check it needs (the hot path)."""
    if isinstance(data, _NUMPY_SCALAR):
        data = _as_array(data)
    out = _new(Variable)
    out.data = data
    out.grad = None
    out.grad_fn = None
    out._requires_grad = False
    return out


def _raw(value: Any) -> Any:
    return value.data if isinstance(value, Variable) else value


from . import engine as _engine  # noqa: E402 - the engine and the op rules need Variable
from . import functions as F  # noqa: E402
from .functions.activation import Relu  # noqa: E402
from .functions.arithmetic import Add, Divide, Multiply, Subtract  # noqa: E402
from .functions.reduction import Sum  # noqa: E402
