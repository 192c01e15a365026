"""mpiexec worker: DDP training in which rank 1 fails at step 3, as argv[1] says: "raise" (an
exception), "kill" (SIGKILL) or "stuck" (stops taking part without dying)."""

from __future__ import annotations

import os
import signal
import sys
import time

import numpy as np

from axoncl import distributed as dist
from axoncl import nn, optim
from axoncl.functions import mse_loss

mode = sys.argv[1]
dist.init()
rank = dist.get_rank()
nn.manual_seed(0)
model = dist.DistributedDataParallel(nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1)))
opt = optim.SGD(model.parameters(), lr=0.01)
x = np.ones((4, 8), dtype=np.float32)
for step in range(1000):
    if step == 3 and rank == 1:
        if mode == "raise":
            raise ValueError("rank 1 fails on purpose")
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if mode == "stuck":
            time.sleep(120)
    loss = mse_loss(model(x), np.zeros((4, 1), dtype=np.float32))
    opt.zero_grad()
    loss.backward()
    opt.step()
print("finished", rank)
