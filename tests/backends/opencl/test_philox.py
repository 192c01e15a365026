"""Philox4x32-10 (``kernels/philox.cl`` and the portable ``primitives.philox4x32``): known-answer
vectors, a plain-Python reference, reikna's Random123 port, and equality across backends."""

from __future__ import annotations

import numpy as np
import pytest
from xp_backends import load_backend

from axoncl.backends import get_backend, primitives

# Random123's kat_vectors for philox4x32-10: counter, key, expected output.
KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


def philox_python(counter, key):
    """Textbook Philox4x32-10 on Python ints (independent of the vectorised versions)."""
    m0, m1, w0, w1, mask = 0xD2511F53, 0xCD9E8D57, 0x9E3779B9, 0xBB67AE85, 0xFFFFFFFF
    c0, c1, c2, c3 = counter
    k0, k1 = key
    for r in range(10):
        if r:
            k0, k1 = (k0 + w0) & mask, (k1 + w1) & mask
        p0, p1 = m0 * c0, m1 * c2
        c0, c1, c2, c3 = (p1 >> 32) ^ c1 ^ k0, p1 & mask, (p0 >> 32) ^ c3 ^ k1, p0 & mask
    return c0, c1, c2, c3


@pytest.fixture(params=["numpy", "array_api_strict", "opencl"])
def xp(request):
    return load_backend(request.param)


def _counters(xp, rows):
    return xp.asarray(np.asarray(rows, dtype=np.uint32))


def _host(a):
    return np.asarray(a.to_numpy() if hasattr(a, "to_numpy") else a)


@pytest.mark.parametrize("kat", KAT, ids=["zeros", "ones", "pi"])
def test_known_answer_vectors(xp, kat):
    counter, key, expected = kat
    out = primitives.philox4x32(_counters(xp, [counter]), key, xp=xp)
    assert tuple(int(v) for v in _host(out)[0]) == expected
    assert philox_python(counter, key) == expected


def test_random_counters_match_python_reference(xp):
    rng = np.random.default_rng(0)
    rows = rng.integers(0, 2**32, (37, 4), dtype=np.uint64).astype(np.uint32)
    key = (int(rng.integers(0, 2**32)), int(rng.integers(0, 2**32)))
    out = _host(primitives.philox4x32(_counters(xp, rows), key, xp=xp))
    expected = [philox_python(tuple(int(v) for v in r), key) for r in rows]
    np.testing.assert_array_equal(out, np.asarray(expected, dtype=np.uint32))


def test_matches_reikna_random123_port():
    cl_xp = load_backend("opencl")
    reikna_ocl = pytest.importorskip("reikna.cluda").ocl_api
    from reikna.cbrng.bijections import philox

    from axoncl.backends.opencl.device import default_device

    thr = reikna_ocl().Thread(default_device().queue)
    bij = philox(32, 4)
    program = thr.compile(
        """
    KERNEL void philox_ref(GLOBAL_MEM unsigned int *out, GLOBAL_MEM const unsigned int *ctr,
                           GLOBAL_MEM const unsigned int *key, int n)
    {
        const int i = get_global_id(0);
        if (i >= n) return;
        ${bij.module}Key k;
        ${bij.module}Counter c;
        k.v[0] = key[2 * i];
        k.v[1] = key[2 * i + 1];
        for (int j = 0; j < 4; j++) c.v[j] = ctr[4 * i + j];
        ${bij.module}Counter r = ${bij.module}bijection(k, c);
        for (int j = 0; j < 4; j++) out[4 * i + j] = r.v[j];
    }
    """,
        render_kwds={"bij": bij},
    )
    rng = np.random.default_rng(1)
    rows = rng.integers(0, 2**32, (16, 4), dtype=np.uint64).astype(np.uint32)
    key = rng.integers(0, 2**32, 2, dtype=np.uint64).astype(np.uint32)
    out = thr.empty_like(rows)
    program.philox_ref(
        out, thr.to_device(rows), thr.to_device(np.tile(key, (16, 1))), np.int32(16), global_size=16
    )
    reference = out.get()
    ours = primitives.philox4x32(cl_xp.asarray(rows), (int(key[0]), int(key[1])), xp=cl_xp)
    np.testing.assert_array_equal(ours.to_numpy(), reference)
    numpy_ours = primitives.philox4x32(rows, (int(key[0]), int(key[1])), xp=get_backend("numpy"))
    np.testing.assert_array_equal(numpy_ours, reference)


def test_dropout_mask_bits_follow_the_documented_counter_layout():
    seed = 0x0123456789ABCDEF
    key = primitives.seed_key(seed)
    n = 10
    words = [philox_python((i // 4, 0, 0, 0), key)[i % 4] for i in range(n)]
    keep = np.asarray(words) >= primitives.dropout_threshold(0.5)
    out = primitives.dropout(np.ones(n), p=0.5, seed=seed, xp=get_backend("numpy"))
    np.testing.assert_array_equal(out != 0, keep)
