"""memory_stats / reset_peak_memory_stats: the pool's current and peak bytes."""

from __future__ import annotations

import threading


def test_allocation_raises_current_and_peak_and_freeing_lowers_current(xp, dev):
    before = xp.memory_stats(dev)
    x = xp.zeros(1 << 18, dtype=xp.float32)  # 1 MiB
    during = xp.memory_stats(dev)
    assert during["allocated_bytes.all.current"] - before["allocated_bytes.all.current"] >= 1 << 20
    assert during["allocated_bytes.all.peak"] >= during["allocated_bytes.all.current"]
    assert during["allocation.all.allocated"] == before["allocation.all.allocated"] + 1
    assert during["reserved_bytes.all.current"] >= during["allocated_bytes.all.current"]
    del x
    after = xp.memory_stats(dev)
    assert after["allocated_bytes.all.current"] == before["allocated_bytes.all.current"]
    assert after["allocated_bytes.all.peak"] == during["allocated_bytes.all.peak"]
    assert after["active_bytes.all.current"] == after["allocated_bytes.all.current"]


def test_reset_peak_starts_from_the_current_bytes(xp, dev):
    x = xp.ones(1 << 19, dtype=xp.float32)  # 2 MiB, freed before the reset
    del x
    xp.reset_peak_memory_stats(dev)
    stats = xp.memory_stats(dev)
    assert stats["allocated_bytes.all.peak"] == stats["allocated_bytes.all.current"]
    assert stats["reserved_bytes.all.peak"] == stats["reserved_bytes.all.current"]
    base = stats["allocated_bytes.all.current"]
    y = xp.ones(1 << 16, dtype=xp.float32)  # 256 KiB
    z = y + 1.0
    del y, z
    peak = xp.memory_stats(dev)["allocated_bytes.all.peak"]
    assert base + 2 * (1 << 18) <= peak < base + (1 << 21)


def test_default_device_and_an_explicit_one_agree(xp, dev):
    assert (
        xp.memory_stats()["allocation.all.allocated"]
        == xp.memory_stats(dev)["allocation.all.allocated"]
    )


def test_counts_allocations_from_several_threads(xp, dev):
    before = xp.memory_stats(dev)["allocation.all.allocated"]

    def work():
        for _ in range(50):
            xp.zeros(100, dtype=xp.float32)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert xp.memory_stats(dev)["allocation.all.allocated"] >= before + 200
