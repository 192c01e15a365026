"""The OpenCL namespace used directly, as an array library (no autograd).

``axoncl.backends.opencl`` follows the array API standard, so code written against the standard
runs on the device unchanged. ``standardize_and_project`` below is such code: it takes its
namespace from its arguments, and the script runs it on OpenCL and on numpy and compares.

    python3 examples/opencl_arrays.py
"""

import numpy as np
from array_api_compat import array_namespace

import axoncl.backends.opencl as xp


def standardize_and_project(x, w):
    """Array-API code: column-standardize ``x``, project on ``w``, rank the rows."""
    ns = array_namespace(x, w)  # the standard's helper (array-api-compat)
    z = (x - ns.mean(x, axis=0)) / ns.std(x, axis=0)
    projected = z @ w
    best = ns.argsort(projected[:, 0], descending=True)[:3]
    scores = ns.tanh(projected)
    return scores, best, ns.linalg.vector_norm(scores, axis=0)


def main() -> None:
    print(f"array API {xp.__array_api_version__} on {xp.default_device()}")
    rng = np.random.default_rng(0)
    x_host = rng.standard_normal((1000, 16)).astype(np.float32)
    w_host = rng.standard_normal((16, 4)).astype(np.float32)

    x, w = xp.asarray(x_host), xp.asarray(w_host)  # copied to the device once
    scores, best, norms = standardize_and_project(x, w)  # kernels are queued, nothing waits
    print("top rows:", best.to_numpy(), "column norms:", norms.to_numpy())  # reads wait

    ref_scores, ref_best, ref_norms = standardize_and_project(x_host, w_host)
    assert np.allclose(scores.to_numpy(), ref_scores, rtol=1e-4, atol=1e-5)
    assert np.array_equal(best.to_numpy(), ref_best)
    assert np.allclose(norms.to_numpy(), ref_norms, rtol=1e-4)

    # Views, in-place updates and boolean masks behave as in the standard.
    v = xp.reshape(xp.arange(12, dtype=xp.float32), (3, 4))
    v[:, 1] = -1.0
    assert v.T.shape == (4, 3) and float(xp.sum(v[v > 5])) == 6 + 7 + 8 + 10 + 11
    print("OpenCL and numpy agree")


if __name__ == "__main__":
    main()
