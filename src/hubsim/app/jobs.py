"""Background runs and their cache, so a long run never blocks the page.

A :class:`Job` runs a function in a daemon thread and records its progress; the page polls
it on each rerun. :class:`JobBoard` keeps the jobs and a bounded cache of finished results
keyed by what determines them (configuration content hashes and run settings), so moving a
slider back to a setting already run shows its result at once. One board serves every
browser session of the server (``st.cache_resource`` holds it); results are immutable.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from hubsim.errors import HubsimError


class Job:
    """One background computation: status, progress, result or error (thread-safe reads)."""

    def __init__(self, key: Hashable, fn: Callable[[Job], Any]):
        self.key = key
        self._fn = fn
        self._lock = threading.Lock()
        self.status = "running"  # running | done | failed
        self.done = 0
        self.total = 1
        self.stage = "starting"
        self.result: Any = None
        self.error: str | None = None
        self.started = time.perf_counter()
        self.finished: float | None = None
        self.cancel = threading.Event()  # the function may stop when it is set
        self._thread = threading.Thread(
            target=self._run, name=f"hubsim-job-{hash(key)}", daemon=True
        )

    def start(self) -> Job:
        self._thread.start()
        return self

    def report(self, done: int, total: int, stage: str | None = None) -> None:
        """Progress from the running function: ``done`` of ``total`` units of ``stage``."""
        with self._lock:
            self.done, self.total = int(done), max(1, int(total))
            if stage is not None:
                self.stage = stage

    def progress(self) -> tuple[float, str]:
        """(fraction done, stage) for a progress bar."""
        with self._lock:
            return min(1.0, self.done / self.total), self.stage

    @property
    def seconds(self) -> float:
        end = self.finished if self.finished is not None else time.perf_counter()
        return end - self.started

    def _run(self) -> None:
        try:
            out = self._fn(self)
        except (HubsimError, ValueError) as exc:  # bad input found late: a sentence
            with self._lock:
                self.status, self.error = "failed", str(exc)
        except Exception as exc:  # a bug: keep the page alive, say what happened
            with self._lock:
                self.status = "failed"
                self.error = (
                    f"the run failed unexpectedly ({type(exc).__name__}: {exc}); please report "
                    "it with the settings used.\n" + traceback.format_exc(limit=3)
                )
        else:
            with self._lock:
                self.result, self.status = out, "done"
        finally:
            self.finished = time.perf_counter()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the job ends (for tests and scripts); True when it has."""
        self._thread.join(timeout)
        return not self._thread.is_alive()


class JobBoard:
    """The server's jobs and a bounded cache of finished results (least recently used out)."""

    def __init__(self, max_results: int = 24):
        self._lock = threading.Lock()
        self._jobs: dict[Hashable, Job] = {}
        self._results: OrderedDict[Hashable, Any] = OrderedDict()
        self.max_results = int(max_results)

    def cached(self, key: Hashable) -> Any | None:
        """A finished result by key (None when not cached)."""
        with self._lock:
            if key in self._results:
                self._results.move_to_end(key)
                return self._results[key]
        return None

    def put(self, key: Hashable, value: Any) -> Any:
        with self._lock:
            self._results[key] = value
            self._results.move_to_end(key)
            while len(self._results) > self.max_results:
                self._results.popitem(last=False)
        return value

    def job(self, key: Hashable) -> Job | None:
        with self._lock:
            return self._jobs.get(key)

    def submit(self, key: Hashable, fn: Callable[[Job], Any]) -> Job:
        """The running job for ``key``, or a new one started (a failed one is retried)."""
        with self._lock:
            job = self._jobs.get(key)
            if job is not None and job.status != "failed":
                return job

            def run_and_cache(j: Job) -> Any:
                return self.put(key, fn(j))

            job = Job(key, run_and_cache)
            self._jobs[key] = job
            # forget old finished jobs (their results live in the cache)
            for k in [k for k, j in self._jobs.items() if j.status == "done" and k != key][:-8]:
                del self._jobs[k]
        return job.start()
