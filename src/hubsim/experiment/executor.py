"""Where replications run: in this process, in local worker processes, or on Dask.

Every executor maps a module-level function over a list of tasks and yields
``(task index, result)`` as results arrive (in any order). A task carries everything its
random streams are keyed by (seed, scenario, replication), so results never depend on the
executor, on the number of workers or on which worker ran what; the caller (the single
writer of the results store) commits results as they arrive.

- ``local`` (the default): ``workers`` processes (``concurrent.futures``, *forkserver*
  start, so workers never inherit the parent's open database); one worker runs in-process.
  Each worker imports the main script, so a script that starts workers must guard its code
  with ``if __name__ == "__main__":``; a worker that dies while starting (or later) fails
  the run with :class:`ExecutorError` at once, rather than being replaced.
- ``dask``: a ``distributed.LocalCluster`` of ``workers`` single-threaded worker processes
  started for the run, or an existing cluster given by its scheduler address
  (``tcp://host:8786``; its workers need the same hubsim installed).

Interrupting (Ctrl-C, SIGTERM) stops the workers and cancels what has not finished.

Examples
--------
>>> ex = make_executor("local", workers=1)
>>> sorted(ex.map(abs, [-1, 2, -3]))
[(0, 1), (1, 2), (2, 3)]
>>> ex.close()
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from hubsim.errors import HubsimError

__all__ = [
    "DaskExecutor",
    "ExecutorError",
    "LocalExecutor",
    "default_workers",
    "make_executor",
    "refuse_in_a_starting_worker",
]


class ExecutorError(HubsimError):
    """An executor cannot be started (missing extra, unreachable scheduler)."""

    def __init__(self, message: str):
        self.problems = [message]
        super().__init__(message)


def default_workers() -> int:
    """The CPUs this process may use (at least 1)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


#: why a worker that died before it was ready most likely died: the standard
#: multiprocessing requirement on a main script (each worker imports it)
GUARD_SENTENCE = (
    "a worker process exited while starting, before running any task (see its error "
    "above); a Python script that runs hubsim with worker processes must put its code "
    'under `if __name__ == "__main__":`, because each worker imports the script (or run '
    "it with workers=1)."
)


def _worker_ready(ready: Any) -> None:
    """Worker start-up: count this worker as started; leave Ctrl-C to the parent.

    The parent stops the workers on Ctrl-C, so workers ignore SIGINT (no tracebacks from
    them). ``ready`` counts the workers that got this far, past importing the main script.
    """
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with ready.get_lock():
        ready.value += 1


def refuse_in_a_starting_worker() -> None:
    """Refuse to start a run inside a worker process that is importing the main script.

    A worker of :class:`LocalExecutor` imports the main script before it runs tasks; a
    script without the ``if __name__ == "__main__":`` guard would start the run again there.

    Raises
    ------
    ExecutorError
        When called while this process is such a starting worker.
    """
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise ExecutorError(
            "this worker process is importing the main script, which starts a hubsim run "
            "again; a Python script that runs hubsim with worker processes must put its "
            'code under `if __name__ == "__main__":` (or run it with workers=1).'
        )


class LocalExecutor:
    """Local worker processes (or this process when ``workers == 1``).

    Parameters
    ----------
    workers : int
        Worker processes; 1 runs every task in this process.
    """

    kind = "local"

    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))
        self._pool: ProcessPoolExecutor | None = None
        self._ready: Any = None

    def describe(self) -> str:
        """Where the tasks run, for the manifest."""
        return "this process" if self.workers == 1 else f"{self.workers} local processes"

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """Run ``fn`` on every task; yield ``(task index, result)`` as results arrive.

        Raises
        ------
        ExecutorError
            A worker process died (while starting: most likely a script without the
            ``if __name__ == "__main__":`` guard); the other workers are stopped.
        """
        tasks = list(tasks)
        if self.workers == 1 or len(tasks) <= 1:
            for i, t in enumerate(tasks):
                yield i, fn(t)
            return
        if self._pool is None:
            # started once and kept for later batches (the replications algorithm asks for a
            # few replications at a time); unlike multiprocessing.Pool, which replaces a
            # dead worker forever, a dead worker breaks this pool and the run fails at once
            ctx = multiprocessing.get_context("forkserver")
            self._ready = ctx.Value("i", 0)
            self._pool = ProcessPoolExecutor(
                self.workers, mp_context=ctx, initializer=_worker_ready, initargs=(self._ready,)
            )
        finished = False
        try:
            pending = {self._pool.submit(fn, t): i for i, t in enumerate(tasks)}
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield pending.pop(f), f.result()
            finished = True
        except BrokenProcessPool:
            started = self._ready.value if self._ready is not None else 0
            raise ExecutorError(
                GUARD_SENTENCE
                if started == 0
                else "a worker process exited abruptly while running a task (killed, or out "
                "of memory?); expected every worker to finish its tasks."
            ) from None
        finally:
            if not finished:  # interrupted or failed: stop what is still running
                self.close()

    def close(self) -> None:
        """Stop the worker processes (those still running a task are terminated)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        stop = getattr(pool, "terminate_workers", None)  # Python 3.14+
        if stop is not None:
            stop()
        else:
            # the same as terminate_workers: the pool's processes are not public before 3.14
            procs = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in procs:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    if proc.is_alive():
                        proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor:
    """Dask distributed: a LocalCluster started here, or an existing scheduler."""

    kind = "dask"

    def __init__(self, workers: int | None = None, scheduler: str | None = None):
        try:
            import distributed
        except ImportError:
            raise ExecutorError(
                "--executor dask: Dask distributed is not installed; expected the dask "
                "extra (pip install 'hubsim[dask]')."
            ) from None
        self.scheduler = scheduler
        self.workers = max(1, int(workers or default_workers()))
        self._cluster = None
        try:
            if scheduler:
                self.client = distributed.Client(scheduler, timeout="20s")
            else:
                import logging

                self._cluster = distributed.LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                self.client = distributed.Client(self._cluster)
        except (OSError, TimeoutError) as exc:
            self.close()
            where = scheduler or "a LocalCluster"
            raise ExecutorError(
                f"--scheduler {where}: cannot connect ({exc}); expected a running Dask "
                "scheduler address such as tcp://host:8786."
            ) from None
        self._futures: list[Any] = []

    def describe(self) -> str:
        if self.scheduler:
            return f"the Dask scheduler at {self.scheduler}"
        return f"a Dask LocalCluster of {self.workers} worker processes"

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        from distributed import as_completed

        token = uuid.uuid4().hex[:8]
        keys = {}
        futs = []
        for i, t in enumerate(tasks):
            f = self.client.submit(fn, t, key=f"hubsim-{token}-{i}", pure=False)
            keys[f.key] = i
            futs.append(f)
        self._futures = futs
        try:
            for f in as_completed(futs):
                yield keys[f.key], f.result()
                f.release()
        finally:
            with contextlib.suppress(Exception):
                self.client.cancel(futs)
            self._futures = []

    def close(self) -> None:
        for obj in (getattr(self, "client", None), self._cluster):
            if obj is not None:
                with contextlib.suppress(Exception):
                    obj.close()
        self._cluster = None
        self.client = None


def make_executor(
    kind: str = "local", workers: int | None = None, scheduler: str | None = None
) -> LocalExecutor | DaskExecutor:
    """An executor by name: ``"local"`` (processes) or ``"dask"``; a scheduler implies dask."""
    if scheduler:
        kind = "dask"
    if kind == "local":
        return LocalExecutor(workers or default_workers())
    if kind == "dask":
        return DaskExecutor(workers, scheduler)
    raise ExecutorError(f"executor {kind!r}: unknown; expected local or dask.")
