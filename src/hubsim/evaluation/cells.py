"""A power study's units of work, each committed to the results store when it finishes.

A study's work is cut into *cells*: each distinct DES run, the diagnosis of each scenario,
each power curve of each scenario and each MDE search of each scenario.
:func:`~hubsim.evaluation.runner.evaluate` runs every cell through :func:`cached`; with a
:class:`StudyCells` the finished cell's result is committed (one transaction of the
folder's ``results.duckdb``, table ``cells``) and, on a resumed run, read back instead of
recomputed. Cells draw their random numbers from the study seed and their own keys (never
from the order cells run in), so a resumed study equals an uninterrupted one.

The payload is the cell's Python result serialised with :mod:`pickle`; it is read back
only from the results folder hubsim wrote for the same study fingerprint.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
from collections.abc import Callable
from typing import Any

from hubsim.progress import Progress

__all__ = ["StudyCells", "cached", "cell_key"]


def cell_key(parts: Any) -> str:
    """A short stable key for a tuple of settings (e.g. a DES run's)."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def cached(cells: StudyCells | None, key: str, fn: Callable[[], Any]) -> Any:
    """``fn()``, or the committed result of the cell ``key`` (computing and committing it)."""
    return fn() if cells is None else cells.run(key, fn)


_STAGES = {"des": "DES runs", "diagnose": "diagnosands", "curve": "power curves", "mde": "MDEs"}


class StudyCells:
    """The cells of one study run, stored in a :class:`~hubsim.experiment.store.ResultsStore`.

    Parameters
    ----------
    store : ResultsStore
    quiet, terminal
        Progress options (see :class:`hubsim.progress.Progress`).
    """

    def __init__(self, store: Any, *, quiet: bool = False, terminal: bool | None = None):
        self.store = store
        self.quiet, self.terminal = quiet, terminal
        self.progress: Progress | None = None
        self.computed = 0
        self.reused = 0

    def plan(self, plan: Any, n_des: int) -> None:
        """Count the study's cells (for the progress line) before the work starts."""
        spec = plan.spec
        total = n_des + len(plan.designs)
        total += sum(len(c.scenarios or spec.scenarios) for c in spec.curves)
        total += sum(len(m.scenarios or spec.scenarios) for m in spec.mde)
        done = int(self.store.query("SELECT count(*) AS n FROM cells")["n"].iloc[0])
        self.progress = Progress(
            "power study",
            total,
            done=min(done, total),
            quiet=self.quiet,
            terminal=self.terminal,
            unit="cells",
        )

    def run(self, key: str, fn: Callable[[], Any]) -> Any:
        """The cell's committed result, or compute, commit and return it."""
        blob = self.store.cell(key)
        if blob is not None:
            self.reused += 1
            return pickle.loads(blob)  # hubsim's own folder, same fingerprint
        stage = _STAGES.get(key.split("/", 1)[0], key.split("/", 1)[0])
        if self.progress is not None:
            self.progress.set_stage(f"power study: {stage}")
        t0 = time.perf_counter()
        value = fn()
        self.store.commit_cell(
            key, key.split("/", 1)[0], pickle.dumps(value, protocol=5), time.perf_counter() - t0
        )
        self.computed += 1
        if self.progress is not None:
            self.progress.advance()
        return value

    def close(self, status: str = "done") -> None:
        if self.progress is not None:
            self.progress.close(status)
            self.progress = None
