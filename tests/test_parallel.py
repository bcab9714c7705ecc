"""The executor: local processes and a Dask cluster give the same VCG payments."""

from __future__ import annotations

from pathlib import Path

import pytest

from mechopt.io import load_auction
from mechopt.mechanisms import run_vcg
from mechopt.parallel import Executor, ExecutorError

CATS = Path(__file__).resolve().parent.parent / "data" / "cats"


def square(x: int) -> int:
    return x * x


def fail(x: int) -> int:
    raise ValueError(f"task {x} failed")


def test_map_keeps_order_locally():
    with Executor(2) as ex:
        assert ex.map(square, [(k,) for k in range(20)]) == [k * k for k in range(20)]
    assert Executor(1).map(square, []) == []


def test_task_errors_propagate():
    # either task may fail first: the executor collects results unordered
    with pytest.raises(ValueError, match="task [34] failed"):
        Executor(2).map(fail, [(3,), (4,)])


@pytest.mark.parametrize("jobs", [0, -2, 1.5, "2"])
def test_bad_job_counts(jobs):
    with pytest.raises(ExecutorError, match="n_jobs must be a positive integer"):
        Executor(jobs)


def test_vcg_in_parallel_equals_serial():
    auction = load_auction(CATS / "L6_s0000.txt")
    serial = run_vcg(auction, executor=Executor(1))
    parallel = run_vcg(auction, executor=Executor(2))
    assert len(serial.winners) >= 4
    assert serial.payments == parallel.payments


def test_vcg_on_a_dask_cluster_equals_serial():
    distributed = pytest.importorskip("distributed")
    auction = load_auction(CATS / "L4_s0000.txt")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        with Executor(scheduler=cluster.scheduler_address) as ex:
            on_dask = run_vcg(auction, executor=ex)
    assert on_dask.payments == run_vcg(auction).payments


def test_unreachable_scheduler_is_a_clear_error():
    pytest.importorskip("distributed")
    with pytest.raises(ExecutorError, match="cannot reach Dask scheduler"):
        Executor(scheduler="tcp://127.0.0.1:1", connect_timeout=1.0).map(square, [(1,), (2,)])


def test_worker_processes_default_to_their_share_of_the_cores():
    """A solve in a worker whose caller left threads unset takes the cores per worker, not
    the solver's all-core default; in this process the solver's default stays (None)."""
    import os

    from mechopt.solve import solver_threads

    two = Executor(2)
    assert two.threads_per_task == max(1, (os.cpu_count() or 1) // 2)
    assert two.map(solver_threads, [(None,), (None,), (3,)]) == [two.threads_per_task] * 2 + [3]
    assert Executor(1).map(solver_threads, [(None,)]) == [None]
    assert solver_threads(None) is None
