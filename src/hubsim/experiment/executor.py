"""Where replications run: in this process, in local worker processes, or on Dask.

Every executor maps a module-level function over a list of tasks and yields
``(task index, result)`` as results arrive (in any order). A task carries everything its
random streams are keyed by (seed, scenario, replication), so results never depend on the
executor, on the number of workers or on which worker ran what; the caller (the single
writer of the results store) commits results as they arrive.

- ``local`` (the default): ``workers`` processes (``multiprocessing``, *forkserver*
  start, so workers never inherit the parent's open database); one worker runs in-process.
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
from typing import Any

from hubsim.errors import HubsimError

__all__ = ["DaskExecutor", "ExecutorError", "LocalExecutor", "default_workers", "make_executor"]


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


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops them (no tracebacks from workers)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _indexed(args: tuple[Callable[[Any], Any], int, Any]) -> tuple[int, Any]:
    fn, i, task = args
    return i, fn(task)


class LocalExecutor:
    """Local worker processes (or this process when ``workers == 1``)."""

    kind = "local"

    def __init__(self, workers: int = 1):
        self.workers = max(1, int(workers))
        self._pool = None

    def describe(self) -> str:
        return "this process" if self.workers == 1 else f"{self.workers} local processes"

    def map(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        tasks = list(tasks)
        if self.workers == 1 or len(tasks) <= 1:
            for i, t in enumerate(tasks):
                yield i, fn(t)
            return
        if self._pool is None:
            # started once and kept for later batches (the replications algorithm asks for a
            # few replications at a time)
            ctx = multiprocessing.get_context("forkserver")
            self._pool = ctx.Pool(self.workers, initializer=_ignore_sigint)
        finished = False
        try:
            yield from self._pool.imap_unordered(
                _indexed, [(fn, i, t) for i, t in enumerate(tasks)]
            )
            finished = True
        finally:
            if not finished:  # interrupted or failed: stop what is still running
                self.close()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


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
