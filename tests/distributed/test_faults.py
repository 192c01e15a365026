"""A failing rank ends all ranks within seconds, with its error printed; nothing hangs."""

from __future__ import annotations

from ._mpi import launch, worker

LIMIT = 60.0  # the launch fails the test (as a hang) past this


def test_exception_on_one_rank_ends_all_ranks_with_its_error(tmp_path):
    run = launch([worker("faults"), "raise"], tmp_path, limit=LIMIT)
    assert run.returncode != 0, run.output
    assert "ValueError: rank 1 fails on purpose" in run.output
    assert "axoncl.distributed: rank 1 of 2: uncaught ValueError" in run.output
    assert "finished" not in run.output
    assert run.seconds < 20, run.seconds


def test_killed_rank_does_not_leave_the_others_hanging(tmp_path):
    run = launch([worker("faults"), "kill"], tmp_path, limit=LIMIT)
    assert run.returncode != 0, run.output
    assert "finished" not in run.output
    assert run.seconds < 20, run.seconds


def test_killed_rank_times_out_even_when_mpiexec_does_not_clean_up(tmp_path):
    # -disable-auto-cleanup: Hydra leaves rank 0 running; the collective's timeout ends it
    # (or Hydra notices the dead rank first). Either way, within seconds.
    run = launch(
        [worker("faults"), "kill"],
        tmp_path,
        limit=LIMIT,
        env={"AXONCL_DIST_TIMEOUT": "3"},
        mpiexec_flags=("-disable-auto-cleanup",),
    )
    assert run.returncode != 0, run.output
    assert "finished" not in run.output
    assert run.seconds < 20, run.seconds


def test_stuck_rank_times_out_with_a_clear_message(tmp_path):
    run = launch(
        [worker("faults"), "stuck"], tmp_path, limit=LIMIT, env={"AXONCL_DIST_TIMEOUT": "2"}
    )
    assert run.returncode != 0, run.output
    assert (
        "axoncl.distributed: rank 0 of 2: DistributedDataParallel (gradient all-reduce) waited "
        "2 s for the other ranks (AXONCL_DIST_TIMEOUT); one of them probably died or is stuck. "
        "Aborting all ranks"
    ) in run.output
    assert run.seconds < 20, run.seconds
