"""Complex functions at special values, complex sets, nonzero and FFTs over length-1 axes.

numpy's complex functions follow C99 Annex G, as the standard's special-case lists do. On a
grid of special real and imaginary parts (signed zeros, ±1, ±2.5, ±inf, NaN), each part of
each result must be of numpy's class (NaN, infinite, finite) and, when finite, equal it to 1e-9
relative; the signs the standard leaves unspecified are not compared. expm1 has no numpy
counterpart of that kind: it is checked against the standard's own list.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

SPECIAL = [0.0, -0.0, 1.0, -1.0, 2.5, -2.5, math.inf, -math.inf, math.nan]
NUMPY_NAME = {"asin": "arcsin", "acos": "arccos", "atan": "arctan", "asinh": "arcsinh",
              "acosh": "arccosh", "atanh": "arctanh"}  # fmt: skip
FUNCTIONS = ["exp", "log", "log1p", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh",
             "asin", "acos", "atan", "asinh", "acosh", "atanh"]  # fmt: skip


def _grid(dtype):
    return np.array([complex(a, b) for a, b in itertools.product(SPECIAL, SPECIAL)], dtype)


def _kind(v):
    return np.where(np.isnan(v), 0, np.where(np.isinf(v), 1, 2))


@pytest.mark.parametrize("dtype", [np.complex64, np.complex128])
@pytest.mark.parametrize("name", FUNCTIONS)
def test_special_values_match_numpy(xp, dtype, name):
    z = _grid(dtype)
    with np.errstate(all="ignore"):
        want = getattr(np, NUMPY_NAME.get(name, name))(z)
    got = getattr(xp, name)(xp.asarray(z)).to_numpy()
    assert got.dtype == dtype
    rtol = 1e-9 if dtype == np.complex128 else 1e-5
    for part in ("real", "imag"):
        g, w = getattr(got, part), getattr(want, part)
        np.testing.assert_array_equal(_kind(g), _kind(w), err_msg=f"{name} {part}: {z}")
        finite = _kind(w) == 2
        np.testing.assert_allclose(np.abs(g[finite]), np.abs(w[finite]), rtol=rtol, atol=1e-12)


def test_expm1_special_values_from_the_standard(xp):
    inf, nan = math.inf, math.nan
    cases = [  # (input, result) from the standard's list; None: sign unspecified
        (complex(0.0, 0.0), (0.0, 0.0)),
        (complex(inf, 0.0), (inf, 0.0)),
        (complex(-inf, 1.0), (-1.0, None)),
        (complex(-inf, inf), (-1.0, 0.0)),
        (complex(inf, inf), (inf, nan)),
        (complex(nan, 0.0), (nan, 0.0)),
        (complex(1.0, inf), (nan, nan)),
    ]
    got = xp.expm1(xp.asarray(np.array([c for c, _ in cases]))).to_numpy()
    for value, (z, (re, im)) in zip(got, cases, strict=True):
        for g, w in ((value.real, re), (value.imag, im)):
            if w is None:
                continue
            assert (math.isnan(g) and math.isnan(w)) or (abs(g) == abs(w)), (z, value)


def test_exp_on_the_real_axis_does_not_overflow_into_nan(xp):
    z = np.array([800 + 0j, complex(800, -0.0), -800 + 0j], np.complex128)
    got = xp.exp(xp.asarray(z)).to_numpy()
    np.testing.assert_array_equal(got.real, [np.inf, np.inf, 0.0])
    np.testing.assert_array_equal(np.signbit(got.imag), [False, True, False])


def test_asinh_far_from_the_origin(xp):
    z = np.array([1.8e19 + 1.5e19j, -3e30 - 1e30j], np.complex64)
    got = xp.asinh(xp.asarray(z)).to_numpy()
    np.testing.assert_allclose(got, np.arcsinh(z.astype(np.complex128)), rtol=1e-6)


def test_unique_nonzero_and_can_cast_on_complex(xp):
    z = np.array([2 + 1j, 1 + 5j, 2 + 1j, 1 - 5j, 0j, 2 + 1j, 3j], np.complex64)
    values, indices, inverse, counts = xp.unique_all(xp.asarray(z))
    want = np.unique(z, return_index=True, return_inverse=True, return_counts=True)
    np.testing.assert_array_equal(values.to_numpy(), want[0])  # by real, then imaginary part
    np.testing.assert_array_equal(indices.to_numpy(), want[1])
    np.testing.assert_array_equal(inverse.to_numpy(), want[2])
    np.testing.assert_array_equal(counts.to_numpy(), want[3])
    (nz,) = xp.nonzero(xp.asarray(np.array([0j, 1j, 0.0, 2.0], np.complex64)))
    np.testing.assert_array_equal(nz.to_numpy(), [1, 3])
    # integer -> floating: numpy's safe casts
    assert xp.can_cast(xp.uint8, xp.float64) and xp.can_cast(xp.int16, xp.float32)
    assert not xp.can_cast(xp.int32, xp.float32) and xp.can_cast(xp.int32, xp.complex128)
    assert not xp.can_cast(xp.int64, xp.complex64) and xp.can_cast(xp.uint8, xp.bfloat16)


@pytest.mark.parametrize(
    "shape,axes", [((1, 2, 1), None), ((2, 3, 1), (0, 1)), ((1, 1), None), ((2, 1, 3, 1), (0, 2))]
)
def test_fft_over_length_one_axes(xp, shape, axes):
    a = (np.arange(math.prod(shape)) + 0.5j).reshape(shape)
    for norm in ("backward", "ortho", "forward"):
        got = xp.fft.fftn(xp.asarray(a), axes=axes, norm=norm).to_numpy()
        np.testing.assert_allclose(got, np.fft.fftn(a, axes=axes, norm=norm), atol=1e-12)


OCLGRIND_SCRIPT = """
import itertools, math
import numpy as np
import axoncl.backends.opencl as xp

dev = xp.default_device()
assert dev.caps.name.startswith("Oclgrind"), dev.caps.name
vals = [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan]
z = xp.asarray(np.array([complex(a, b) for a, b in itertools.product(vals, vals)], np.complex64))
for name in ("exp", "expm1", "log1p", "sqrt", "sinh", "cosh", "tanh", "asinh", "acos", "acosh",
             "atanh"):
    getattr(xp, name)(z[1::2]).to_numpy()  # a strided view: the kernel reads a contiguous copy
print("ok")
"""


@pytest.mark.oclgrind
def test_special_value_kernel_runs_clean_under_oclgrind(tmp_path):
    from oclgrind_runner import assert_clean_under_oclgrind

    assert_clean_under_oclgrind(tmp_path, OCLGRIND_SCRIPT)
