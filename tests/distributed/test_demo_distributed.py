"""``mpiexec -n 2 python -m axoncl demo`` trains like the 1-process demo, step by step."""

from __future__ import annotations

import io
import json

import numpy as np

from axoncl import demo

from ._mpi import launch


def test_two_rank_demo_matches_the_one_process_run(tmp_path):
    out = tmp_path / "out"
    run = launch(
        ["-m", "axoncl", "demo", "--device", "numpy", "--no-progress", "--out", str(out)],
        tmp_path,
        report=False,
        limit=150,
    )
    assert run.returncode == 0, run.output
    # Only rank 0 prints and writes.
    assert run.output.count("test accuracy:") == 1, run.output
    assert "data-parallel over 2 ranks: global batch 32" in run.output
    two = json.loads((out / "summary.json").read_text())
    one = demo.run(device="numpy", out=None, progress=False, stream=io.StringIO())
    assert two["world_size"] == 2 and one.world_size == 1
    steps_one, steps_two = np.array(one.step_losses), np.array(two["step_losses"])
    assert steps_one.shape == steps_two.shape == (15 * 45,)  # 1437 samples, batches of 32
    # float32 losses: the ranks' half-batch sums round differently from the full batch.
    np.testing.assert_allclose(steps_two, steps_one, rtol=0, atol=1e-5)
    np.testing.assert_allclose(two["train_losses"], one.train_losses, rtol=0, atol=1e-5)
    assert two["test_accuracy"] >= 0.97
    assert abs(two["test_accuracy"] - one.test_accuracy) <= 1 / 360  # one test image at most
