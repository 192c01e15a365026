"""``axoncl demo --model transformer``: the corpus, the model against PyTorch, resuming, and the
quick run's validation loss on the default device."""

from __future__ import annotations

import dataclasses
import io
import json
import math
import os

import numpy as np
import pytest
from xp_backends import load_backend

import axoncl
from axoncl import cli, nn, optim
from axoncl.demo_transformer import QUICK, TextConfig, build_transformer, load_corpus, run

# What ``--quick`` (300 steps) reaches on the default device, in bits per character: 3.02 on
# PoCL with CPython 3.11.7's standard library (from 3.68 at step 50). The corpus, and so the
# value, moves with the Python version, hence the loose bound.
QUICK_BPC_BOUND = 3.3

TINY = TextConfig(
    steps=6,
    batch_size=4,
    context=16,
    width=16,
    layers=1,
    heads=2,
    warmup=2,
    eval_every=2,
    eval_batches=1,
    sample_chars=8,
    corpus_bytes=200_000,
)


def test_corpus_is_fixed_and_split_90_10():
    corpus = load_corpus(200_000)
    again = load_corpus(200_000)
    assert len(corpus.train) == 180_000 and len(corpus.val) == 20_000
    np.testing.assert_array_equal(corpus.train, again.train)
    assert corpus.vocab == again.vocab and corpus.train.min() >= 1
    assert int(corpus.train.max()) == corpus.vocab_size - 1 == len(corpus.vocab)
    text = "def f(x):\n    return x"
    assert corpus.decode(corpus.encode(text)) == text
    assert corpus.encode("\x00").tolist() == [0]  # absent from the source: the unknown id


def test_model_matches_torch():
    torch = pytest.importorskip("torch")
    nn.manual_seed(3)
    model = build_transformer(vocab_size=11, context=8, width=16, layers=2, heads=4)
    twin = build_transformer(vocab_size=11, context=8, width=16, layers=2, heads=4, nn=torch.nn)
    state = {k: torch.from_numpy(np.array(v)) for k, v in model.state_dict().items()}
    twin.load_state_dict(state)  # strict: the parameter names agree
    ids = np.random.default_rng(0).integers(0, 11, (3, 7))
    got = model(ids)
    want = twin(torch.from_numpy(ids))
    np.testing.assert_allclose(got.numpy(), want.detach().numpy(), atol=1e-5, rtol=1e-4)
    # Causal: the first position's logits do not depend on later tokens.
    changed = ids.copy()
    changed[:, 1:] = (changed[:, 1:] + 1) % 11
    np.testing.assert_allclose(model(changed).numpy()[:, 0], got.numpy()[:, 0], atol=1e-6)


@pytest.mark.parametrize("device", ["numpy", "opencl"])
def test_resume_continues_with_the_same_losses(tmp_path, device):
    if device == "opencl":
        load_backend("opencl")
    quiet = {"device": device, "config": TINY, "progress": False, "stream": io.StringIO()}
    whole = run(out=str(tmp_path / "whole"), **quiet)
    first = run(out=str(tmp_path / "first"), stop_after=3, **quiet)
    assert first.steps == [1, 2, 3] and first.sample == ""
    rest = run(out=str(tmp_path / "rest"), resume=first.files["checkpoint"], **quiet)
    assert rest.start_step == 3 and rest.steps == [4, 5, 6]
    assert first.train_losses + rest.train_losses == whole.train_losses
    assert rest.val_losses == whole.val_losses[1:]
    assert rest.sample == whole.sample


def test_resume_refuses_other_settings(tmp_path):
    quiet = {"device": "numpy", "progress": False, "stream": io.StringIO()}
    first = run(out=str(tmp_path), config=TINY, stop_after=1, **quiet)
    other = dataclasses.replace(TINY, width=8)
    with pytest.raises(ValueError, match="resume with the flags of the run that wrote it"):
        run(out=None, config=other, resume=first.files["checkpoint"], **quiet)


def test_numpy_run_writes_its_files_and_reports(tmp_path):
    stream = io.StringIO()
    result = run(device="numpy", config=TINY, out=str(tmp_path), progress=False, stream=stream)
    text = stream.getvalue()
    assert result.eval_steps == [2, 4, 6] and len(result.train_losses) == 6
    assert "bits per character" in text and "ms/step" in text and "sample" in text
    assert result.sample.startswith("def ") and len(result.sample) >= len("def ") + 1
    curve = json.loads((tmp_path / "loss_curve.json").read_text())
    assert curve["val_loss"] == result.val_losses and curve["eval_steps"] == [2, 4, 6]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["val_bpc"] == pytest.approx(result.val_losses[-1] / math.log(2))
    state = nn.load(result.files["checkpoint"])
    assert state["step"] == 6 and set(state) >= {"model", "optimizer", "scheduler", "vocab"}
    if "loss_curve" in result.files:
        assert os.path.getsize(result.files["loss_curve"]) > 0


def test_cli_flags_reach_the_transformer_demo(monkeypatch):
    from axoncl import demo_transformer

    seen = {}
    monkeypatch.setattr(demo_transformer, "run", lambda **kwargs: seen.update(kwargs))
    argv = ["demo", "--model", "transformer", "--quick", "--device", "numpy", "--steps", "9"]
    cli.main([*argv, "--resume", "c.npz", "--stop-after", "4", "--no-progress"])
    assert seen == {
        "device": "numpy",
        "quick": True,
        "steps": 9,
        "batch_size": None,
        "lr": None,
        "seed": 0,
        "out": "axoncl-demo-transformer",
        "resume": "c.npz",
        "stop_after": 4,
        "progress": False,
    }


def test_transformer_flags_are_refused_for_the_cnn(capsys):
    assert cli.main(["demo", "--quick", "--device", "numpy"]) == 2
    assert "--quick apply to --model transformer only" in capsys.readouterr().err


def test_quick_demo_on_the_default_device_learns(tmp_path):
    load_backend("opencl")
    stream = io.StringIO()
    result = run(quick=True, out=str(tmp_path), progress=False, stream=stream)
    assert result.config["steps"] == QUICK.steps == 300
    assert result.val_losses[-1] < result.val_losses[0] - 0.3, result.val_losses
    assert result.val_bpc < QUICK_BPC_BOUND, stream.getvalue()
    print(stream.getvalue())


def test_opencl_training_step_reads_nothing_back(monkeypatch):
    xp = load_backend("opencl")
    from axoncl.backends.opencl import array, launch

    nn.manual_seed(0)
    model = build_transformer(vocab_size=11, context=8, width=16, layers=1, heads=2)
    model.to("opencl")
    opt = optim.AdamW(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(0)
    x = xp.asarray(rng.integers(0, 11, (3, 8)))
    y = xp.asarray(rng.integers(0, 11, 24))

    def refuse(*args, **kwargs):
        raise AssertionError("the transformer's training step read a device array back")

    losses = []
    with monkeypatch.context() as patch:
        patch.setattr(launch, "read_buffer", refuse)
        patch.setattr(array, "read_buffer", refuse)
        for _ in range(3):
            loss = axoncl.cross_entropy(model(x).reshape((-1, 11)), y)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 0.5)
            opt.step()
            losses.append(loss)
    values = [loss.item() for loss in losses]
    assert values[-1] < values[0], values
