"""Set functions of the OpenCL namespace: ``unique_all``, ``unique_counts``, ``unique_inverse``,
``unique_values`` and ``isin``, built from sort, searchsorted, scans and gathers.

The ``unique_*`` functions sort the flattened input once (stably; complex input by its real,
then its imaginary part, as numpy), mark where each run of
equal values starts, and read the number of runs back to the host to size the outputs (one
wait, as for ``nonzero``: the output's shape depends on the data). NaNs compare unequal, so
each NaN is its own unique value, as the standard asks.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from . import dtypes as _dt
from .array import CLArray, empty, from_numpy
from .copy import cast, fill, part
from .elementwise import binary, unary
from .indexing import take
from .layout import check_device, is_scalar, type_name
from .manipulation import concat, reshape
from .scan import cumulative_sum, diff, nonzero
from .sorting import argsort, searchsorted, sort

__all__ = ["isin", "unique_all", "unique_counts", "unique_inverse", "unique_values"]


class UniqueAllResult(NamedTuple):
    values: CLArray
    indices: CLArray
    inverse_indices: CLArray
    counts: CLArray


class UniqueCountsResult(NamedTuple):
    values: CLArray
    counts: CLArray


class UniqueInverseResult(NamedTuple):
    values: CLArray
    inverse_indices: CLArray


def _runs(op: str, x, *, need_order: bool):
    """(order, sorted values, run starts in the sorted values, run-start mask) of flat ``x``."""
    if not isinstance(x, CLArray):
        raise TypeError(f"{op}: expected an OpenCL array, got {type_name(x)}")
    flat = reshape(x, (-1,))
    if flat.dtype.kind == "c":  # numpy's order: by real part, then imaginary part
        by_imag = argsort(part(flat, 1), stable=True)
        order = take(by_imag, argsort(take(part(flat, 0), by_imag), stable=True))
        values = take(flat, order)
    else:
        order = argsort(flat) if need_order else None
        values = take(flat, order) if need_order else sort(flat)
    first = empty((1,), _dt.bool, x.device)
    fill(first, True)
    if flat.size == 0:
        return order, values, empty((0,), _dt.int64, x.device), first[:0]
    is_start = concat([first, binary("not_equal", values[1:], values[:-1])])
    (starts,) = nonzero(is_start)  # the one host read: the number of unique values
    return order, values, starts, is_start


def _counts(starts: CLArray, n: int) -> CLArray:
    end = from_numpy(np.asarray([n], np.int64), starts.device)
    return diff(starts, append=end)


def _inverse(x: CLArray, order: CLArray, is_start: CLArray) -> CLArray:
    """For each element of x, the index of its unique value (the run it fell into)."""
    run_of_sorted = binary("subtract", cumulative_sum(is_start), 1)
    # argsort(order) is the inverse permutation: where each input element went in the sort.
    return reshape(take(run_of_sorted, argsort(order)), x.shape)


def unique_values(x, /) -> CLArray:
    """The unique elements of ``x`` (flattened), ascending.

    Parameters
    ----------
    x : CLArray
        Any shape.

    Returns
    -------
    CLArray
        1-D, ``x``'s dtype, ascending.

    Examples
    --------
    >>> unique_values(asarray([3, 1, 3, 2])).to_numpy()  # doctest: +SKIP
    array([1, 2, 3])
    """
    _, values, starts, _ = _runs("unique_values", x, need_order=False)
    return take(values, starts)


def unique_counts(x, /) -> UniqueCountsResult:
    """The unique elements of ``x`` (flattened, ascending) and how often each occurs.

    Parameters
    ----------
    x : CLArray
        The input array.

    Returns
    -------
    UniqueCountsResult
        ``values`` and ``counts``.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> r = xp.unique_counts(xp.asarray([3, 1, 3]))
    >>> r.values.to_numpy(), r.counts.to_numpy()
    (array([1, 3]), array([1, 2]))
    """
    _, values, starts, _ = _runs("unique_counts", x, need_order=False)
    return UniqueCountsResult(take(values, starts), _counts(starts, values.size))


def unique_inverse(x, /) -> UniqueInverseResult:
    """The unique elements of ``x`` and, for each element of ``x``, the index of its value
    among them (``values[inverse_indices]`` rebuilds ``x``).

    Parameters
    ----------
    x : CLArray
        The input array.

    Returns
    -------
    UniqueInverseResult
        ``values`` and ``inverse_indices`` (``x``'s shape).

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> r = xp.unique_inverse(xp.asarray([3, 1, 3]))
    >>> r.values.to_numpy(), r.inverse_indices.to_numpy()
    (array([1, 3]), array([1, 0, 1]))
    """
    order, values, starts, is_start = _runs("unique_inverse", x, need_order=True)
    if values.size == 0:
        return UniqueInverseResult(values, empty(x.shape, _dt.int64, x.device))
    return UniqueInverseResult(take(values, starts), _inverse(x, order, is_start))


def unique_all(x, /) -> UniqueAllResult:
    """Unique values, the index of each one's first occurrence, the inverse indices and the
    counts (see :func:`unique_inverse` and :func:`unique_counts`).

    Parameters
    ----------
    x : CLArray
        The input array.

    Returns
    -------
    UniqueAllResult
        ``values``, ``indices``, ``inverse_indices``, ``counts``.

    Examples
    --------
    >>> import numpy as np
    >>> import axoncl.backends.opencl as xp
    >>> r = xp.unique_all(xp.asarray([3, 1, 3]))
    >>> r.values.to_numpy(), r.indices.to_numpy(), r.counts.to_numpy()
    (array([1, 3]), array([1, 0]), array([1, 2]))
    """
    order, values, starts, is_start = _runs("unique_all", x, need_order=True)
    if values.size == 0:
        none = empty((0,), _dt.int64, x.device)
        return UniqueAllResult(values, none, empty(x.shape, _dt.int64, x.device), none)
    # The sort is stable, so the first element of each run is the value's first occurrence.
    return UniqueAllResult(
        take(values, starts),
        take(order, starts),
        _inverse(x, order, is_start),
        _counts(starts, values.size),
    )


def isin(x1, x2, /, *, invert: bool = False) -> CLArray:
    """Whether each element of ``x1`` equals some element of ``x2`` (or not, with ``invert``).

    Either argument may be a Python scalar; the result has ``x1``'s shape (0-d for a scalar).

    Parameters
    ----------
    x1 : CLArray or scalar
        The elements tested.
    x2 : CLArray or scalar
        The elements looked for.
    invert : bool
        Negate the result.

    Returns
    -------
    CLArray
        bool, ``x1``'s shape.

    Raises
    ------
    TypeError
        When neither is an OpenCL array, or one is neither an array nor a Python scalar.

    Examples
    --------
    >>> isin(asarray([1, 2, 3]), asarray([3, 1])).to_numpy()  # doctest: +SKIP
    array([ True, False,  True])
    """
    arrays = [v for v in (x1, x2) if isinstance(v, CLArray)]
    if not arrays:
        raise TypeError(
            f"isin: expected at least one OpenCL array, got {type_name(x1)} and {type_name(x2)}"
        )
    for v in (x1, x2):
        if not isinstance(v, CLArray) and not is_scalar(v):
            raise TypeError(f"isin: expected an OpenCL array or a Python scalar, got {v!r}")
    device = check_device("isin", *arrays)
    dtype = _dt.result_type(x1, x2)
    x1, x2 = (
        cast(v, dtype) if isinstance(v, CLArray) else from_numpy(np.asarray(v, dtype), device)
        for v in (x1, x2)
    )
    haystack = sort(reshape(x2, (-1,)))
    if haystack.size == 0:
        out = empty(x1.shape, _dt.bool, device)
        fill(out, invert)
        return out
    # The left insertion point of v is the first element >= v: v is present iff that equals v.
    position = binary("minimum", reshape(searchsorted(haystack, x1), (-1,)), haystack.size - 1)
    found = binary("equal", reshape(take(haystack, position), x1.shape), x1)
    return unary("logical_not", found) if invert else found
