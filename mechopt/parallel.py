"""One executor for independent solves (VCG marginal economies, audits, training data).

Built on joblib: ``Executor(n_jobs=2)`` runs local processes (joblib's ``loky`` backend,
whose worker pool is reused between calls); ``Executor(scheduler="tcp://host:8786")`` sends
the same tasks to a Dask cluster through joblib's ``dask`` backend (``pip install
mechopt[distributed]``).  ``n_jobs=1`` runs in this process with no pickling at all.

Tasks are module-level functions applied to picklable arguments; results come back in the
order of the inputs.  Exceptions raised by a task are re-raised here.  In worker processes a
solve whose caller left ``threads`` unset uses the cores per worker
(:attr:`Executor.threads_per_task`; 1 on a Dask worker), not the solver's all-core default
(:func:`mechopt.solve.set_process_threads`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from typing import Any, TypeVar

from mechopt.errors import MechoptError

__all__ = ["Executor", "ExecutorError"]

T = TypeVar("T")
R = TypeVar("R")


class ExecutorError(MechoptError, RuntimeError):
    """The executor could not be set up (bad job count, unreachable scheduler, ...)."""


def _indexed(fn: Callable[..., Any], index: int, args: tuple, threads: int, caller: int) -> tuple[int, Any]:
    if os.getpid() != caller:  # a worker process (not a thread of the caller's: a local Dask
        from mechopt.solve import set_process_threads  # cluster may run tasks in threads)

        set_process_threads(threads)  # its solves share the machine with the other workers'
    return index, fn(*args)


class Executor:
    """Map a function over independent tasks, locally or on a Dask cluster.

    Parameters
    ----------
    n_jobs: local worker processes (1: run in this process; -1: one per core). Ignored for
        the width of a Dask cluster, which is the cluster's own.
    scheduler: address of a Dask scheduler (``tcp://...``); None runs locally.
    connect_timeout: seconds to wait for the scheduler before giving up.

    Solves inside one process take turns (see :mod:`mechopt.solve`), so start Dask workers
    as processes (``dask worker ADDRESS --nworkers N --nthreads 1``).
    """

    def __init__(
        self, n_jobs: int = 1, scheduler: str | None = None, connect_timeout: float = 10.0
    ) -> None:
        if not isinstance(n_jobs, int) or n_jobs == 0 or n_jobs < -1:
            raise ExecutorError(f"n_jobs must be a positive integer or -1, got {n_jobs!r}")
        self.n_jobs = n_jobs
        self.scheduler = scheduler
        self.connect_timeout = connect_timeout
        self._client = None

    @property
    def workers(self) -> int:
        """Number of tasks that run at once (local only)."""
        if self.n_jobs == -1:
            return os.cpu_count() or 1
        return self.n_jobs

    @property
    def threads_per_task(self) -> int:
        """Solver threads for a task in a local worker process, whose caller left them
        unset: the cores divided among the workers (at least 1).  Solvers that default to
        every core would otherwise oversubscribe the machine when several run at once."""
        return max(1, (os.cpu_count() or 1) // max(1, self.workers))

    def _dask_client(self):
        if self._client is None:
            try:
                from dask.distributed import Client
            except ImportError:  # pragma: no cover - depends on the extra
                raise ExecutorError(
                    "a Dask scheduler was given but dask.distributed is not installed "
                    "(pip install 'mechopt[distributed]')"
                ) from None
            try:
                self._client = Client(self.scheduler, timeout=f"{self.connect_timeout}s")
            except OSError as exc:
                raise ExecutorError(f"cannot reach Dask scheduler {self.scheduler}: {exc}") from None
        return self._client

    def map(
        self,
        fn: Callable[..., R],
        tasks: Iterable[tuple] | Sequence[tuple],
        *,
        progress: str | None = None,
    ) -> list[R]:
        """``[fn(*args) for args in tasks]``, run in parallel; results in input order.

        ``progress`` is a label for a progress bar on stderr (None: no bar).
        """
        tasks = [tuple(t) for t in tasks]
        if not tasks:
            return []
        if self.scheduler is None and (self.n_jobs == 1 or len(tasks) == 1):
            return self._map_serial(fn, tasks, progress)
        from joblib import Parallel, delayed, parallel_config

        if self.scheduler is not None:
            self._dask_client()
            context = parallel_config(backend="dask")
            n_jobs = -1
            threads = 1  # one solve per Dask worker process (dask worker --nthreads 1)
        else:
            context = nullcontext()
            n_jobs = min(self.workers, len(tasks))
            threads = self.threads_per_task
        results: list[Any] = [None] * len(tasks)
        with context:
            runner = Parallel(
                n_jobs=n_jobs, return_as="generator_unordered", batch_size=1, pre_dispatch="all"
            )
            caller = os.getpid()
            stream = runner(delayed(_indexed)(fn, i, args, threads, caller) for i, args in enumerate(tasks))
            with _progress(progress, len(tasks)) as advance:
                for i, result in stream:
                    results[i] = result
                    advance()
        return results

    @staticmethod
    def _map_serial(fn, tasks, progress):
        out = []
        with _progress(progress, len(tasks)) as advance:
            for args in tasks:
                out.append(fn(*args))
                advance()
        return out

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"dask {self.scheduler}" if self.scheduler else f"{self.workers} local process(es)"
        return f"Executor({where})"


class _progress:
    """A rich progress bar on stderr, or nothing when ``label`` is None."""

    def __init__(self, label: str | None, total: int) -> None:
        self.label = label
        self.total = total
        self._bar: Any = None  # a rich Progress while the bar is shown

    def __enter__(self) -> Callable[[], None]:
        if self.label is None:
            return lambda: None
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        self._bar.start()
        task = self._bar.add_task(self.label, total=self.total)
        return lambda: self._bar.advance(task)

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.stop()
