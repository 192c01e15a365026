"""mpiexec worker: DistributedDataParallel on the backend named by argv[1] (numpy: float64,
opencl: float32) against 1-process training, no_sync, find_unused_parameters, checkpoints
and a model that differs between ranks."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from _report import error_text, report

from axoncl import distributed as dist
from axoncl import nn, optim
from axoncl.backends import get_backend, to_backend, to_numpy
from axoncl.distributed import ddp as ddp_module
from axoncl.functions import cross_entropy

backend = sys.argv[1]
dist.init()
rank, size = dist.get_rank(), dist.get_world_size()
xp = get_backend(backend)
dtype = "float64" if backend == "numpy" else "float32"
rng = np.random.default_rng(0)
X = rng.standard_normal((45, 6)).astype(dtype)
Y = rng.integers(0, 4, 45)
GLOBAL_BATCH = 16  # 45 samples: batches of 16, 16 and 13 (split 7/6 over two ranks)


def on(host):
    return to_backend(np.asarray(host), xp)


def build(seed, out_features=4):
    nn.manual_seed(seed)
    net = nn.Sequential(
        nn.Linear(6, 16, dtype=dtype),
        nn.ReLU(),
        nn.Linear(16, 16, dtype=dtype),
        nn.ReLU(),
        nn.Linear(16, out_features, dtype=dtype),
    )
    return net if backend == "numpy" else net.to(backend)


def params_of(model):
    return [to_numpy(p.data).copy() for p in model.parameters()]


def grads_of(model):
    return [to_numpy(p.grad.data).copy() for p in model.parameters()]


def batch_loss(model, idx, global_count, share):
    """Mean loss of the global batch (share=False) or this rank's weighted part of it."""
    logits = model(on(X[idx]))
    if not share:
        return cross_entropy(logits, on(Y[idx]))
    return cross_entropy(logits, on(Y[idx]), reduction="sum") * (size / global_count)


def train(model, opt, share, steps):
    """Per-step global losses of ``steps`` SGD steps over the sampler's global batches."""
    sampler = (
        dist.DistributedSampler(len(X), seed=1)
        if share
        else dist.DistributedSampler(len(X), seed=1, num_replicas=1, rank=0)
    )
    losses = []
    epoch = 0
    while len(losses) < steps:
        sampler.set_epoch(epoch)
        order = sampler.permutation()
        for b, idx in enumerate(sampler.batches(GLOBAL_BATCH)):
            count = len(order[b * GLOBAL_BATCH : (b + 1) * GLOBAL_BATCH])
            loss = batch_loss(model, idx, count, share)
            opt.zero_grad()
            loss.backward()
            opt.step()
            value = dist.all_reduce(loss.data, op="mean") if share else loss.data
            losses.append(float(to_numpy(value)))
            if len(losses) == steps:
                break
        epoch += 1
    return losses


# 1. Bucketed DDP equals 1-process training. Rank 1 starts from other weights: DDP copies
# rank 0's. Buckets of 1 KiB give several; record how many had started when each arrived.
launched_at = []
original_start = ddp_module._Reducer._start_ready_buckets


def start_and_record(self):
    before = self.next_bucket
    original_start(self)
    launched_at.extend([self.arrived] * (self.next_bucket - before))


ddp_module._Reducer._start_ready_buckets = start_and_record
reference = build(seed=0)
model = dist.DistributedDataParallel(build(seed=rank), bucket_cap_mb=1 / 1024)
initial_equal = all(
    np.array_equal(a, b) for a, b in zip(params_of(reference), params_of(model.module))
)
steps = 6
ref_losses = train(reference, optim.SGD(reference.parameters(), lr=0.1, momentum=0.9), False, steps)
ddp_losses = train(model, optim.SGD(model.parameters(), lr=0.1, momentum=0.9), True, steps)
param_diff = max(
    float(np.abs(a - b).max()) for a, b in zip(params_of(reference), params_of(model.module))
)
ddp_module._Reducer._start_ready_buckets = original_start
payload = {
    "initial_equal": initial_equal,
    "buckets": model.buckets,
    "launched_at": launched_at[: len(model.buckets)],
    "n_params": len(list(model.parameters())),
    "ref_losses": ref_losses,
    "ddp_losses": ddp_losses,
    "param_diff": param_diff,
}

# 2. no_sync: the first half of the batch accumulates locally, the second averages the sum.
idx = np.arange(32)
mine = dist.shard(idx)
reference.zero_grad()
model.zero_grad()
model.module.load_state_dict(reference.state_dict())
(batch_loss(reference, idx, 32, False)).backward()
with model.no_sync():
    batch_loss(model, mine[: len(mine) // 2], 32, True).backward()
local = grads_of(model.module)
batch_loss(model, mine[len(mine) // 2 :], 32, True).backward()
payload["no_sync_local_differs"] = any(
    not np.array_equal(a, b) for a, b in zip(*dist.all_gather_object(local))
)
payload["no_sync_diff"] = max(
    float(np.abs(a - b).max()) for a, b in zip(grads_of(reference), grads_of(model.module))
)


# 3. find_unused_parameters: "extra" is used on rank 1 only, "never" on no rank.
class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        nn.manual_seed(3)
        self.body = nn.Linear(6, 4, dtype=dtype)
        self.extra = nn.Linear(4, 4, dtype=dtype)
        self.never = nn.Linear(4, 4, dtype=dtype)

    def forward(self, x, use_extra):
        h = self.body(x)
        return self.extra(h) if use_extra else h


heads = TwoHeads() if backend == "numpy" else TwoHeads().to(backend)
plain = TwoHeads() if backend == "numpy" else TwoHeads().to(backend)
unused = dist.DistributedDataParallel(heads, find_unused_parameters=True)
x = on(X[:8])
(unused(x, rank == 1) ** 2).sum().backward()
(plain(x, rank == 1) ** 2).sum().backward()
payload["extra_grad"] = to_numpy(heads.extra.weight.grad.data).tolist()
local_grad = plain.extra.weight.grad  # None on rank 0, which did not use "extra"
payload["extra_local"] = None if local_grad is None else to_numpy(local_grad.data).tolist()
payload["never_grad_is_none"] = heads.never.weight.grad is None
payload["body_grads_agree"] = (
    len({str(g) for g in dist.all_gather_object(to_numpy(heads.body.weight.grad.data).tolist())})
    == 1
)
strict = dist.DistributedDataParallel(TwoHeads() if backend == "numpy" else TwoHeads().to(backend))
(strict(x, True) ** 2).sum().backward()
payload["unused_error"] = error_text(lambda: strict(x, True))

# 4. Checkpoint: rank 0 writes; after loading, the same two steps give the same losses.
path = Path(sys.argv[-1]) / "ckpt"
opt = optim.Adam(model.parameters(), lr=1e-2)
train(model, opt, True, 2)
saved = dist.save_checkpoint(path, model, opt, step=2)
payload["after_save"] = train(model, opt, True, 2)
payload["extra"] = dist.load_checkpoint(saved, model, opt)
payload["after_load"] = train(model, opt, True, 2)
payload["ckpt_keys_plain"] = sorted(np.load(saved).files)[:3]

# 5. Ranks that built different models: every rank raises the same error.
payload["mismatch"] = error_text(
    lambda: dist.DistributedDataParallel(build(seed=0, out_features=4 + rank))
)
report(payload)
