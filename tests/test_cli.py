"""The ``axoncl`` command line: info, demo wiring, bench and inspect delegation."""

from __future__ import annotations

import subprocess
import sys

import pytest

from axoncl import cli


def test_info_lists_backends_and_devices(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "backends available: numpy" in out
    try:
        from axoncl.backends.opencl.device import NoOpenCLError, list_devices

        list_devices()
    except (ImportError, NoOpenCLError):
        assert "OpenCL: " in out and ("pocl" in out.lower())
        return
    for column in ("fp64", "CUs", "local mem", "max WG", "WG multiple", "vec f32/f64"):
        assert column in out
    assert "default device: opencl:" in out
    assert " *" in out


def test_info_without_opencl_says_how_to_install(monkeypatch, capsys):
    pytest.importorskip("pyopencl")
    from axoncl.backends.opencl import device

    def none():
        raise device.NoOpenCLError(f"no OpenCL platform found; {device._INSTALL_HINT}")

    monkeypatch.setattr(device, "list_devices", none)
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "OpenCL: no device" in out and "pocl-opencl-icd" in out


def test_device_table_aligns_columns():
    text = cli.device_table([{"a": "1", "bb": "22"}, {"a": "333", "bb": "4"}])
    assert text.splitlines() == ["a    bb", "---  --", "1    22", "333  4"]


def test_demo_flags_reach_the_demo(monkeypatch):
    from axoncl import demo

    seen = {}
    monkeypatch.setattr(demo, "run", lambda **kwargs: seen.update(kwargs))
    cli.main(
        [
            "demo",
            "--device",
            "numpy",
            "--epochs",
            "2",
            "--batch-size",
            "16",
            "--seed",
            "3",
            "--lr",
            "0.001",
            "--out",
            "x",
            "--no-progress",
        ]
    )
    assert seen == {
        "device": "numpy",
        "epochs": 2,
        "batch_size": 16,
        "lr": 0.001,
        "seed": 3,
        "out": "x",
        "model": "cnn",
        "progress": False,
        "precision": "fp32",
    }


def test_inspect_delegates_to_the_inspector(monkeypatch):
    import axoncl.inspect

    seen = []
    monkeypatch.setattr(axoncl.inspect, "cli_main", lambda argv: seen.append(argv) or 7)
    assert cli.main(["inspect", "--format", "dot"]) == 7
    assert seen == [["--format", "dot"]]


def test_bench_unknown_name_lists_the_available_ones(capsys):
    if cli._benchmarks_dir() is None:
        pytest.skip("not a source checkout")
    assert cli.main(["bench", "nonexistent"]) == 2
    assert "train_step" in capsys.readouterr().err


def test_python_dash_m_runs_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "axoncl", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0
    assert "{info,demo,bench,inspect}" in done.stdout


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 0
    assert "usage: axoncl" in capsys.readouterr().out


def test_demo_precision_flag_and_its_one_line_error(monkeypatch, capsys):
    from axoncl import demo

    seen = {}
    monkeypatch.setattr(demo, "run", lambda **kwargs: seen.update(kwargs))
    cli.main(["demo", "--device", "numpy", "--precision", "fp16"])
    assert seen["precision"] == "fp16"
    monkeypatch.undo()
    assert cli.main(["demo", "--device", "numpy", "--precision", "bf16", "--out", "x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "axoncl demo: error: --precision bf16 needs bfloat16, which the numpy backend "
        "(numpy (host)) lacks; use --precision fp32"
    ]
