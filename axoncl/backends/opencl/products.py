"""matmul, tensordot, vecdot and matrix_transpose over the strided-batched ``gemm.gemm``;
integer matmul runs ``kernels/products.cl`` instead, exact in its dtype.

These four are in the main namespace and in the ``linalg`` extension (``linalg.py``).
"""

from __future__ import annotations

import math

import numpy as np

from . import complexes as _cx
from . import dtypes as _dt
from .array import CLArray, empty
from .copy import astype
from .elementwise import binary
from .fused import relu_backward_column_sum
from .gemm import MatrixOperand, VectorOperand, choose_path, gemm
from .launch import get_kernel
from .layout import broadcast_shapes, check_device, type_name
from .manipulation import broadcast_to, normalize_axis, permute_dims, reshape
from .reduction import sum as _sum

__all__ = ["matmul", "matrix_transpose", "tensordot", "vecdot"]


def _check(op: str, x1, x2) -> None:
    if not isinstance(x1, CLArray) or not isinstance(x2, CLArray):
        raise TypeError(
            f"{op}: expected two OpenCL arrays, got {type_name(x1)} and {type_name(x2)}"
        )
    check_device(op, x1, x2)


def _compute_dtype(op: str, x1: CLArray, x2: CLArray):
    dtype = _dt.result_type(x1.dtype, x2.dtype)
    if dtype.kind == "c":
        return dtype, dtype
    if dtype == _dt.bool:
        raise TypeError(f"{op}: expected numeric arrays, got bool")
    if _dt.is_floating(dtype):
        return dtype, dtype
    # Integer products: the exact integer kernel for matmul; tensordot and vecdot (reductions
    # of products) in floating point, exact below 2**53 in float64 and 2**24 in float32.
    return dtype, (_dt.float64 if x1.device.caps.fp64 else _dt.float32)


def matmul(x1, x2, /) -> CLArray:
    """Matrix product with the array API's rules for 1-D operands and batch broadcasting.

    Parameters
    ----------
    x1, x2 : CLArray
        At least 1-D; ``x1.shape[-1] == x2.shape[-2]`` (1-D operands as in the standard).

    Returns
    -------
    CLArray
        The product, batch axes broadcast; GEMM kernels (``kernels/gemm.cl``).

    Raises
    ------
    ValueError
        When an operand is 0-d or the inner sizes differ.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> a = xp.asarray([[1.0, 2.0], [3.0, 4.0]])
    >>> xp.matmul(a, a).to_numpy()
    array([[ 7., 10.],
           [15., 22.]], dtype=float32)
    """
    _check("matmul", x1, x2)
    if x1.ndim == 0 or x2.ndim == 0:
        raise ValueError(
            f"matmul: expected arrays of at least one dimension, got shapes "
            f"{x1.shape} and {x2.shape}"
        )
    out_dtype, dtype = _compute_dtype("matmul", x1, x2)
    if dtype.kind == "c":
        return _matmul_complex(x1, x2, dtype)
    a = reshape(x1, (1, x1.shape[0])) if x1.ndim == 1 else x1
    b = reshape(x2, (x2.shape[0], 1)) if x2.ndim == 1 else x2
    m, k = a.shape[-2:]
    k2, n = b.shape[-2:]
    if k != k2:
        raise ValueError(
            f"matmul: expected x1.shape[-1] == x2.shape[-2], got {x1.shape} and {x2.shape}"
        )
    batch_shape = broadcast_shapes("matmul", a.shape[:-2], b.shape[:-2])
    batch = math.prod(batch_shape)
    if out_dtype.kind in "iu":
        dtype = out_dtype  # exact integer products, not through floating point
    a = astype(a, dtype, copy=False)
    b = astype(b, dtype, copy=False)
    a3 = reshape(broadcast_to(a, (*batch_shape, m, k)), (batch, m, k))
    b3 = reshape(broadcast_to(b, (*batch_shape, k, n)), (batch, k, n))
    out = empty((*batch_shape, m, n), dtype, a.device)
    if out_dtype.kind in "iu":
        _matmul_int(out, a3, b3, m, n, k)
    elif out.size:
        gemm(
            a.device,
            MatrixOperand(a3.buffer, a3.offset, a3.strides),
            MatrixOperand(b3.buffer, b3.offset, b3.strides),
            MatrixOperand(out.buffer, 0, (m * n, n, 1)),
            m=m,
            n=n,
            k=k,
            batch=batch,
            dtype=dtype,
            op="matmul",
        )
    shape = out.shape
    if x1.ndim == 1:
        shape = shape[:-2] + shape[-1:]
    if x2.ndim == 1:
        shape = shape[:-1]
    out = reshape(out, shape)
    return astype(out, out_dtype, copy=False)


def _matmul_complex(x1: CLArray, x2: CLArray, dtype: np.dtype) -> CLArray:
    """Complex matmul by the 4M method: four real GEMMs on the parts' float views,
    (ar br - ai bi) + i (ar bi + ai br). (3M saves a GEMM but loses accuracy in the imaginary
    part when the parts differ in scale.)"""
    a, b = _cx.cast(x1, dtype), _cx.cast(x2, dtype)
    (ar, ai), (br, bi) = _cx.parts(a), _cx.parts(b)
    re = binary("subtract", matmul(ar, br), matmul(ai, bi))
    im = binary("add", matmul(ar, bi), matmul(ai, br))
    return _cx.pack(re, im)


def _matmul_int(out: CLArray, a3: CLArray, b3: CLArray, m: int, n: int, k: int) -> None:
    """``out = a3 @ b3`` (batch, m, n) in the integer dtype of all three, exactly."""
    if not out.size:
        return
    kernel = get_kernel(out.device, "products", "products_matmul_int", T=_dt.C_TYPE[out.dtype])
    operands = (a3.buffer, a3.offset, *a3.strides, b3.buffer, b3.offset, *b3.strides)
    n_out = out.size
    kernel.launch_items(
        n_out, n_out, out.buffer, *operands, m, n, k, op="matmul", shapes=(a3.shape, b3.shape)
    )


def matrix_transpose(x, /) -> CLArray:
    """A view with the last two axes swapped.

    Parameters
    ----------
    x : CLArray
        The input array. At least 2-D.

    Returns
    -------
    CLArray
        A view with the last two axes swapped.

    Raises
    ------
    TypeError
        When ``x`` is not an OpenCL array.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.matrix_transpose(xp.ones((2, 3, 4))).shape
    (2, 4, 3)
    """
    if not isinstance(x, CLArray):
        raise TypeError(f"matrix_transpose: expected an OpenCL array, got {type_name(x)}")
    return x.mT


def tensordot(x1, x2, /, *, axes=2) -> CLArray:
    """Sum of products over ``axes`` (an int: the last/first ``axes`` axes; or two sequences).

    Parameters
    ----------
    x1, x2 : CLArray
        The operands.
    axes : int or pair of sequences
        The last ``axes`` axes of ``x1`` with the first of ``x2``, or explicit axis lists.

    Returns
    -------
    CLArray
        The remaining axes of ``x1`` then of ``x2``.

    Raises
    ------
    ValueError
        When the axis lists differ in length, paired axes differ in size, or ``axes`` is negative.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.tensordot(xp.ones((2, 3)), xp.ones((3, 4)), axes=1).shape
    (2, 4)
    """
    _check("tensordot", x1, x2)
    if isinstance(axes, int):
        if axes < 0:
            raise ValueError(f"tensordot: axes must be >= 0, got {axes}")
        a_axes = list(range(x1.ndim - axes, x1.ndim))
        b_axes = list(range(axes))
    else:
        a_axes = [normalize_axis(a, x1.ndim, "tensordot") for a in axes[0]]
        b_axes = [normalize_axis(a, x2.ndim, "tensordot") for a in axes[1]]
    if len(a_axes) != len(b_axes):
        raise ValueError("tensordot: the two axis lists need the same length")
    for i, j in zip(a_axes, b_axes, strict=True):
        if x1.shape[i] != x2.shape[j]:
            raise ValueError(
                f"tensordot: axis {i} of x1 ({x1.shape[i]}) and axis {j} of x2 "
                f"({x2.shape[j]}) differ"
            )
    a_free = [d for d in range(x1.ndim) if d not in a_axes]
    b_free = [d for d in range(x2.ndim) if d not in b_axes]
    k = math.prod(x1.shape[d] for d in a_axes)
    a = reshape(permute_dims(x1, a_free + a_axes), (math.prod(x1.shape[d] for d in a_free), k))
    b = reshape(permute_dims(x2, b_axes + b_free), (k, math.prod(x2.shape[d] for d in b_free)))
    out = matmul(a, b)
    return reshape(out, [x1.shape[d] for d in a_free] + [x2.shape[d] for d in b_free])


def vecdot(x1, x2, /, *, axis=-1) -> CLArray:
    """Dot product along ``axis`` with broadcasting of the other axes.

    Parameters
    ----------
    x1, x2 : CLArray
        Arrays whose shapes broadcast, of one size along ``axis``.
    axis : int
        The axis summed.

    Returns
    -------
    CLArray
        The broadcast shape without ``axis``.

    Raises
    ------
    ValueError
        When the sizes along ``axis`` differ.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> xp.vecdot(xp.asarray([1.0, 2.0]), xp.asarray([3.0, 4.0])).to_numpy()
    array(11., dtype=float32)
    """
    _check("vecdot", x1, x2)
    ndim = max(x1.ndim, x2.ndim)
    axis = normalize_axis(axis, ndim, "vecdot")
    if axis - ndim < -min(x1.ndim, x2.ndim) or x1.shape[axis - ndim] != x2.shape[axis - ndim]:
        raise ValueError(f"vecdot: shapes {x1.shape} and {x2.shape} differ along axis {axis}")
    if x1.dtype.kind == "c":
        x1 = _cx.conj(x1)  # the standard's vecdot conjugates its first argument
    product = binary("multiply", x1, x2)
    return _sum(product, axis=axis - ndim, dtype=product.dtype)


def _linear(x, weight, bias, *, relu, xp):
    """The autograd ``linear`` primitive as one GEMM: the weight is read transposed through its
    strides, and bias and ReLU are applied in the GEMM's epilogue."""
    from ..primitives import linear as _portable_linear

    arrays = (x, weight) if bias is None else (x, weight, bias)
    dtype = x.dtype
    if not _dt.is_floating(dtype) or any(a.dtype != dtype for a in arrays) or x.ndim < 1:
        return _portable_linear.portable(x, weight, bias, relu=relu, xp=xp)
    for other in arrays[1:]:
        check_device("linear", x, other)
    k = x.shape[-1]
    n = weight.shape[0]
    lead = x.shape[:-1]
    m = math.prod(lead)
    rows = reshape(x, (m, k))
    out = empty((m, n), dtype, x.device)
    if out.size:
        device = x.device
        (xr, xc), (wr, wc) = rows.strides, weight.strides
        # C (m x n) = A @ B with A = x and B = W.T, C stored by rows, the bias per column.
        a_op = MatrixOperand(rows.buffer, rows.offset, (0, xr, xc))
        b_op = MatrixOperand(weight.buffer, weight.offset, (0, wc, wr))
        c_op, sizes, axis = MatrixOperand(out.buffer, 0, (0, n, 1)), (m, n), 1
        if m < n and choose_path(device, m, n, k) == "packed":
            # The packed kernel copies its B into panels: out.T = W @ x.T packs x (m*k
            # elements) instead of W.T (n*k), and stores C transposed (784x512 weight, batch
            # 128: 0.60 -> 0.56 ms). GPUs' kernels read B in place and write C by rows.
            a_op = MatrixOperand(weight.buffer, weight.offset, (0, wr, wc))
            b_op = MatrixOperand(rows.buffer, rows.offset, (0, xc, xr))
            c_op, sizes, axis = MatrixOperand(out.buffer, 0, (0, 1, n)), (n, m), 0
        gemm(
            device,
            a_op,
            b_op,
            c_op,
            m=sizes[0],
            n=sizes[1],
            k=k,
            dtype=dtype,
            bias_axis=axis,
            relu=relu,
            bias=None if bias is None else VectorOperand(bias.buffer, bias.offset, bias.strides[0]),
        )
    return reshape(out, (*lead, n))


def _linear_backward(grad, x, weight, out, *, relu, needs, xp):
    """The ``linear_backward`` primitive as at most two GEMMs and a column sum, each reading
    its operands in place through strides (no reshapes, transposes or copies): with g the
    output gradient as an (m, n) matrix, ``dx = g W``, ``dW = gᵀ x``, ``db`` = the sums of g's
    columns. After a fused ReLU, g is first masked, in the same pass as its column sums when
    the bias needs them (``fused_relu_backward_column_sum``)."""
    from .. import primitives

    dtype = x.dtype
    arrays = (grad, x, weight, out)
    if (
        dtype not in (_dt.float32, _dt.float64)  # 16-bit: the portable form (as documented)
        or any(a.dtype != dtype for a in arrays)
        or not all(a.is_contiguous() for a in arrays)
        or x.ndim < 1
    ):
        return primitives.linear_backward.portable(
            grad, x, weight, out, relu=relu, needs=needs, xp=xp
        )
    check_device("linear", grad, x, weight, out)
    db = None
    if relu:
        fused = relu_backward_column_sum(grad, out) if needs[2] else None
        if fused is None:
            grad = primitives.relu_backward(grad, out, xp=xp)
        else:
            grad, db = fused  # the mask and the bias gradient in one pass
    device = x.device
    n, k = weight.shape
    m = x.size // k if k else math.prod(x.shape[:-1])

    def product(shape, a_strides, b, rows, inner):
        """A new contiguous ``shape`` array (``rows`` x ``k``) = A @ ``b``, A being g read
        with ``a_strides`` (row, column) and ``b`` a contiguous (``inner`` x ``k``) matrix."""
        result = empty(shape, dtype, device)
        if result.size:
            gemm(
                device,
                MatrixOperand(grad.buffer, grad.offset, (0, *a_strides)),
                MatrixOperand(b.buffer, b.offset, (0, k, 1)),
                MatrixOperand(result.buffer, 0, (0, k, 1)),
                m=rows,
                n=k,
                k=inner,
                dtype=dtype,
                op="linear",
            )
        return result

    dx = product(x.shape, (n, 1), weight, m, n) if needs[0] else None  # g W
    dw = product((n, k), (1, n), x, n, m) if needs[1] else None  # gᵀ x, gᵀ read in place
    if needs[2] and db is None:
        db = primitives.sum(reshape(grad, (m, n)), axis=(0,), keepdims=False, xp=xp)
    return dx, dw, db


def _register_primitives() -> None:
    from .. import primitives

    namespace = __name__.rsplit(".", 1)[0]
    primitives.linear.register(namespace)(_linear)
    primitives.linear_backward.register(namespace)(_linear_backward)


_register_primitives()
