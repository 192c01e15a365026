"""Device choice, capabilities, program building and the errors around them."""

from __future__ import annotations

import numpy as np
import pyopencl as cl
import pytest

import axoncl as ax
from axoncl.backends.opencl import device as device_module
from axoncl.backends.opencl import launch, programs
from axoncl.backends.opencl.device import Device, NoOpenCLError, get_device, list_devices


def test_list_devices_names_every_device(xp):
    found = list_devices()
    assert found
    for ident, dev in found:
        p, d = ident.split(":")[1:]
        assert cl.get_platforms()[int(p)].get_devices()[int(d)].int_ptr == dev.int_ptr


def test_device_specs_resolve_to_the_same_shared_device(xp):
    ident, dev = list_devices()[0]
    by_id = get_device(ident)
    assert by_id is get_device(ident)
    assert by_id.cl_device.int_ptr == dev.int_ptr
    kind = "cpu" if dev.type & cl.device_type.CPU else "gpu"
    assert get_device(f"opencl:{kind}").caps.kind == kind


def test_axoncl_device_environment_variable_picks_the_default(xp, monkeypatch):
    ident = list_devices()[-1][0]
    monkeypatch.setenv("AXONCL_DEVICE", ident)
    assert device_module.default_device().id == ident


@pytest.mark.parametrize("spec", ["cuda:0", "opencl:x", "opencl:0:0:0", "opencl:tpu"])
def test_bad_device_spec_says_what_is_accepted(xp, spec):
    with pytest.raises(ValueError, match="opencl:P:D") as info:
        get_device(spec)
    assert repr(spec) in str(info.value)


def test_missing_device_lists_the_available_ones(xp):
    with pytest.raises(NoOpenCLError, match="available: opencl:0:0"):
        get_device("opencl:99:0")


def test_capabilities_are_read_from_the_device(xp):
    dev = get_device()
    caps = dev.caps
    assert caps.fp64 == ("cl_khr_fp64" in dev.cl_device.extensions)
    assert caps.compute_units == dev.cl_device.max_compute_units >= 1
    assert caps.local_mem_size == dev.cl_device.local_mem_size
    assert caps.work_group_multiple >= 1
    assert caps.preferred_vector_width_float == dev.cl_device.preferred_vector_width_float
    assert caps.kind in ("cpu", "gpu", "accelerator")


def test_no_platform_tells_how_to_install_pocl(monkeypatch):
    monkeypatch.setattr(cl, "get_platforms", lambda: [])
    with pytest.raises(NoOpenCLError, match="apt-get install pocl-opencl-icd"):
        list_devices()


def test_build_failure_reports_file_options_device_and_log(xp, monkeypatch):
    dev = get_device()
    monkeypatch.setattr(
        programs,
        "read_source",
        lambda family: "__kernel void broken(__global float *x) { x[0] = ; }",
    )
    with pytest.raises(programs.KernelBuildError) as info:
        programs.get_program(dev, "broken_family", REAL="float")
    message = str(info.value)
    assert "kernels/broken_family.cl" in message
    assert "-DREAL=float" in message
    assert dev.caps.name in message
    assert "error" in message.lower()  # the compiler's build log


def test_programs_are_built_once_per_options(xp, monkeypatch):
    dev = get_device()
    source = "__kernel void probe_fill(__global REAL *x) { x[get_global_id(0)] = VALUE; }"
    monkeypatch.setattr(programs, "read_source", lambda family: source)
    builds = []
    real_build = programs._build
    monkeypatch.setattr(programs, "_build", lambda *a: builds.append(a[2]) or real_build(*a))
    first = launch.get_kernel(dev, "probe_family", "probe_fill", REAL="float", VALUE=2)
    assert launch.get_kernel(dev, "probe_family", "probe_fill", VALUE=2, REAL="float") is first
    launch.get_kernel(dev, "probe_family", "probe_fill", REAL="float", VALUE=3)
    assert builds == [("-DREAL=float", "-DVALUE=2"), ("-DREAL=float", "-DVALUE=3")]
    out = cl.Buffer(dev.cl_context, cl.mem_flags.READ_WRITE, 16)
    first.launch((4,), (4,), out, op="probe")
    host = np.empty(4, dtype=np.float32)
    cl.enqueue_copy(dev.queue, host, out)
    assert host.tolist() == [2.0] * 4


def test_mixing_arrays_of_two_devices_names_both(xp):
    here = get_device()
    other = Device(here.platform_index, here.device_index, here.cl_device, here.caps)
    a = xp.asarray(np.ones(3, dtype=np.float32))
    b = xp.asarray(np.ones(3, dtype=np.float32), device=other)
    with pytest.raises(ValueError, match="different devices") as info:
        ax.Variable(a, requires_grad=True) + ax.Variable(b)
    assert str(info.value).count(here.id) == 2


def test_fp64_switch_only_restores_what_the_hardware_has(xp):
    dev = get_device()
    has = "cl_khr_fp64" in dev.cl_device.extensions
    device_module.set_fp64_disabled(dev, True)
    try:
        assert dev.caps.fp64 is False
    finally:
        device_module.set_fp64_disabled(dev, False)
    assert dev.caps.fp64 is has


@pytest.mark.parametrize(
    "env, cpus, expected",
    [
        ({}, "all", "1"),  # the whole machine: PoCL's workers are pinned
        ({}, "some", None),  # a restricted mask: pinning could abort PoCL, so no
        ({"POCL_AFFINITY": "0"}, "all", "0"),  # the user's choice stays
        ({"POCL_MAX_PTHREAD_COUNT": "1"}, "all", None),  # the user places the threads
    ],
)
def test_pocl_workers_are_pinned_only_when_every_cpu_is_ours(monkeypatch, env, cpus, expected):
    import os

    monkeypatch.delenv("POCL_AFFINITY", raising=False)
    monkeypatch.delenv("POCL_MAX_PTHREAD_COUNT", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    mask = {0, 1, 2, 3} if cpus == "all" else {2, 3}
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: mask, raising=False)
    device_module._pin_pocl_workers()
    assert os.environ.get("POCL_AFFINITY") == expected
