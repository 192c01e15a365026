"""The training demo: a short numpy run in the unit tests; the full OpenCL run is ``slow``."""

from __future__ import annotations

import io
import json
import math

import numpy as np
import pytest
from xp_backends import load_backend

from axoncl import demo, nn


def test_short_numpy_run_writes_its_files(tmp_path):
    stream = io.StringIO()
    result = demo.run(
        device="numpy", epochs=1, batch_size=64, out=str(tmp_path), progress=False, stream=stream
    )
    text = stream.getvalue()
    assert 0.0 <= result.test_accuracy <= 1.0 and math.isfinite(result.test_accuracy)
    assert result.test_accuracy > 0.5  # one epoch of the CNN already learns a lot
    for kind in ("loss_curve", "weights", "summary", "graph_dot", "graph_svg"):
        assert kind in result.files, (kind, result.notes)
    assert (tmp_path / "loss_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "graph.svg").read_text().lstrip().startswith(("<svg", "<?xml"))
    assert "digraph" in (tmp_path / "graph.dot").read_text()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["test_accuracy"] == result.test_accuracy
    for line in ("test accuracy:", "time per epoch:", "device: numpy", "wrote:"):
        assert line in text


def test_saved_weights_reproduce_the_test_accuracy(tmp_path):
    result = demo.run(
        device="numpy", epochs=1, out=str(tmp_path), progress=False, stream=io.StringIO()
    )
    model = demo.build_model()
    model.load_state_dict(nn.load(result.files["weights"]))
    model.eval()
    _, _, x_te, y_te = demo.load_digits_split()
    accuracy = float((model(x_te).numpy().argmax(axis=1) == y_te).mean())
    assert accuracy == pytest.approx(result.test_accuracy)


def test_same_seed_same_numbers_different_seed_different_numbers():
    def go(seed):
        return demo.run(
            device="numpy",
            epochs=1,
            batch_size=128,
            seed=seed,
            out=None,
            progress=False,
            stream=io.StringIO(),
        )

    a, b, c = go(4), go(4), go(5)
    assert a.train_losses == b.train_losses and a.test_accuracy == b.test_accuracy
    assert a.train_losses != c.train_losses


def test_split_is_stratified_and_fixed():
    x_tr, y_tr, x_te, y_te = demo.load_digits_split()
    assert x_tr.shape == (1437, 1, 8, 8) and x_te.shape == (360, 1, 8, 8)
    assert np.bincount(y_te).min() >= 35
    assert (demo.load_digits_split()[3] == y_te).all()


def test_mlp_model_option():
    result = demo.run(
        device="numpy", model="mlp", epochs=1, out=None, progress=False, stream=io.StringIO()
    )
    assert result.test_accuracy > 0.5


def test_bad_device_raises():
    with pytest.raises(ValueError, match="expected --device"):
        demo.run(device="cuda", out=None, progress=False)


@pytest.mark.slow
def test_full_default_demo_on_opencl_reaches_97_percent(tmp_path):
    load_backend("opencl")
    result = demo.run(device="opencl", out=str(tmp_path), progress=False, stream=io.StringIO())
    assert result.test_accuracy >= 0.97, result.test_accuracies


def test_same_seed_same_numbers_on_opencl():
    load_backend("opencl")

    def go():
        return demo.run(
            device="opencl",
            epochs=1,
            batch_size=128,
            seed=2,
            out=None,
            progress=False,
            stream=io.StringIO(),
        )

    a, b = go(), go()
    assert a.train_losses == b.train_losses and a.test_accuracy == b.test_accuracy


def test_fp16_numpy_run_learns_with_autocast_and_loss_scaling(tmp_path):
    stream = io.StringIO()
    result = demo.run(
        device="numpy",
        epochs=1,
        batch_size=64,
        out=str(tmp_path),
        progress=False,
        stream=stream,
        precision="fp16",
    )
    assert result.test_accuracy > 0.5
    assert "precision fp16" in stream.getvalue()
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["precision"] == "fp16" and summary["peak_memory_bytes"] is None
    weights = nn.load(result.files["weights"])
    assert all(np.asarray(w).dtype == np.float32 for w in weights.values())


def test_a_precision_the_backend_lacks_is_refused_before_training():
    with pytest.raises(demo.PrecisionError, match="bfloat16, which the numpy backend"):
        demo.run(device="numpy", out=None, progress=False, precision="bf16")
    with pytest.raises(ValueError, match="--precision"):
        demo.run(device="numpy", out=None, progress=False, precision="fp8")


def _short_opencl_run(**kwargs):
    return demo.run(
        device="opencl", epochs=1, batch_size=256, model="mlp", out=None, progress=False, **kwargs
    )


def test_opencl_run_records_the_peak_pool_bytes_and_checks_its_dtypes():
    xp = load_backend("opencl")
    stream = io.StringIO()
    result = _short_opencl_run(stream=stream)
    # At least the weights, their gradients and Adam's two moments: 4 x 4 bytes per weight.
    n_weights = 64 * 128 + 128 + 128 * 10 + 10
    assert result.peak_memory_bytes >= 16 * n_weights
    assert "peak device memory:" in stream.getvalue()
    for precision, dtype in (("fp16", "float16"), ("bf16", "bfloat16")):
        if getattr(xp, dtype, None) is None:
            with pytest.raises(demo.PrecisionError, match=f"{dtype}, which the opencl backend"):
                demo.run(device="opencl", out=None, progress=False, precision=precision)
        else:
            run = _short_opencl_run(stream=io.StringIO(), precision=precision)
            assert run.test_accuracy > 0.5


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_opencl_cnn_reaches_97_percent_in_low_precision(precision):
    """The issue's bar: the default demo (CNN, 15 epochs) on OpenCL under autocast, fp16 with
    the loss scaler, keeps float32's accuracy within a point (float32 reaches 98.1 %)."""
    result = demo.run(device="opencl", out=None, progress=False, precision=precision)
    assert result.test_accuracy >= 0.97
    assert result.peak_memory_bytes > 0
