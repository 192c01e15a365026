"""CLArray: the contract other modules rely on, host transfers, dunder methods, namespace."""

import numpy as np
import pytest


def test_contract_attributes(xp):
    from axoncl.backends.opencl.array import CLArray, ascontiguous, empty, from_numpy

    dev = xp.default_device()
    host = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    x = from_numpy(host, dev)
    assert isinstance(x, CLArray)
    assert x.device is dev and x.shape == (2, 3, 4) and x.dtype == np.dtype("float32")
    assert x.strides == (12, 4, 1) and x.offset == 0 and x.ndim == 3 and x.size == 24
    assert x.is_contiguous()
    t = x.mT
    assert t.strides == (12, 1, 4) and not t.is_contiguous()
    c = ascontiguous(t)
    assert c.is_contiguous() and c is not t
    np.testing.assert_array_equal(c.to_numpy(), np.swapaxes(host, -1, -2))
    assert ascontiguous(x) is x
    e = empty((3, 0), np.dtype("int32"), dev)
    assert e.shape == (3, 0) and e.size == 0 and e.to_numpy().shape == (3, 0)
    assert xp.float32 == np.dtype("float32")


def test_views_have_element_strides_and_offsets(xp):
    host = np.arange(20, dtype=np.int32).reshape(4, 5)
    x = xp.asarray(host)
    v = x[1:, ::-2]
    assert v.strides == (5, -2) and v.offset == 5 + 4
    np.testing.assert_array_equal(v.to_numpy(), host[1:, ::-2])
    np.testing.assert_array_equal(np.asarray(v), host[1:, ::-2])
    assert v.buffer is x.buffer


def test_scalar_conversions(xp):
    x = xp.asarray([[2.5]])
    assert float(x) == 2.5 and int(x) == 2 and bool(x) is True and complex(x) == 2.5
    assert xp.asarray(3).__index__() == 3
    with pytest.raises(TypeError, match="size-1"):
        bool(xp.asarray([1.0, 2.0]))
    assert len(xp.asarray([1, 2, 3])) == 3
    assert [int(v) for v in xp.asarray([4, 5])] == [4, 5]
    assert "CLArray" in repr(x) and "2.5" in str(x)


def test_array_namespace_via_compat(xp):
    import array_api_compat

    x = xp.asarray([1.0])
    assert array_api_compat.array_namespace(x) is xp
    assert x.__array_namespace__() is xp
    with pytest.raises(ValueError, match="api_version"):
        x.__array_namespace__(api_version="1999.01")


def test_namespace_info(xp):
    info = xp.__array_namespace_info__()
    assert info.capabilities()["boolean indexing"] is True
    assert info.default_device() is xp.default_device()
    assert xp.default_device() in info.devices()
    assert info.default_dtypes()["real floating"] == xp.float32
    assert set(info.dtypes(kind="integral")) == {
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
    }


def test_extensions_present_and_unknown_names_raise(xp):
    assert callable(xp.fft.fft) and callable(xp.linalg.inv)
    with pytest.raises(AttributeError):
        xp.no_such_function


def test_dtype_helpers(xp):
    assert xp.result_type(xp.int8, xp.uint8) == xp.int16
    assert xp.result_type(xp.float32, 1.0) == xp.float32
    assert xp.result_type(xp.asarray([1], dtype=xp.int32), xp.int64) == xp.int64
    assert xp.can_cast(xp.int8, xp.int16) and not xp.can_cast(xp.float64, xp.float32)
    assert not xp.can_cast(xp.int32, xp.float32)
    assert xp.finfo(xp.float32).eps == np.finfo(np.float32).eps
    assert xp.iinfo(xp.int16).max == 32767
    assert xp.isdtype(xp.float32, "real floating")
    assert xp.isdtype(xp.uint8, ("bool", "unsigned integer"))
    assert xp.isdtype(xp.int8, "numeric")


def test_astype_and_to_device(xp):
    x = xp.asarray([1.7, -2.2, 0.0])
    np.testing.assert_array_equal(xp.astype(x, xp.int32).to_numpy(), [1, -2, 0])
    np.testing.assert_array_equal(xp.astype(x, xp.bool).to_numpy(), [True, True, False])
    assert xp.astype(x, xp.float32, copy=False) is x
    assert xp.astype(x, xp.float32) is not x
    assert x.to_device(x.device) is x
    np.testing.assert_array_equal(
        xp.astype(x[::-1], xp.float64).to_numpy(),
        np.array([0.0, -2.2, 1.7], np.float32).astype(np.float64),
    )


def test_dlpack(xp):
    x = xp.asarray([1.0, 2.0])
    assert x.__dlpack_device__()[0] == 4
    with pytest.raises(BufferError):
        x.__dlpack__()
    y = xp.from_dlpack(np.arange(3.0, dtype=np.float32))
    np.testing.assert_array_equal(y.to_numpy(), [0, 1, 2])


def test_two_devices_error_names_both(xp):
    from axoncl.backends.opencl.array import CLArray

    x = xp.asarray([1.0, 2.0])
    fake = type(x.device)(7, 7, x.device.cl_device, x.device.caps)
    y = CLArray(fake, x.buffer, 0, (2,), None, x.dtype)
    with pytest.raises(ValueError, match="opencl:7:7.*|.*opencl:0"):
        x + y


def test_opencl_errors_name_the_op_shapes_and_status(xp):
    from axoncl.backends.opencl.launch import LaunchError, get_kernel

    x = xp.asarray(np.ones(4, np.float32))
    kernel = get_kernel(
        x.device,
        "elementwise",
        "elementwise_exp_contig",
        ARITY=1,
        T="float",
        KIND=3,
        BITS=32,
        VEC=x.device.vector_width,
    )
    with pytest.raises(LaunchError) as info:
        kernel.launch((8,), (3,), 4, x.buffer, 0, x.buffer, 0, op="exp", shapes=((4,),))
    message = str(info.value)
    assert message.startswith("exp: launching elementwise_exp_contig (global (8,), local (3,))")
    assert "shapes (4,)" in message and x.device.id in message
    assert "CL_INVALID_WORK_GROUP_SIZE" in message or "CL_INVALID_" in message
