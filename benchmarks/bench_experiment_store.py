"""Cost of the results store: ``hubsim experiment`` against the same replications in memory.

The experiment is the shipped ``site_d_staffing`` (5 Site D scenarios, its window) with the
replications fixed at 20 (100 replications in all). Timed in the same run, alternating:

- baseline: the same 100 replications on the same executor, frames kept in memory
  (``run_replication`` through :class:`~hubsim.experiment.executor.LocalExecutor`, the path
  the experiment uses, without the store);
- store: :func:`hubsim.experiment.run_experiment` into a new folder (every replication
  committed to DuckDB, events and staff activity written as Parquet), without the report;
- store + report: the same with the report (figures, Markdown, HTML), as ``hubsim
  experiment`` does by default.

Prints the medians and the ratios store / baseline (target <= 1.1), serially (one process:
the store's cost adds in full) and with 2 worker processes (the default on this machine).

Run: ``python benchmarks/bench_experiment_store.py`` (``--repeats N``: medians of N runs of
each, default 1; ``--quick``: 4 replications).
"""

from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hubsim.experiment import read_experiment, run_experiment
from hubsim.experiment.executor import LocalExecutor
from hubsim.experiment.runner import _replication_task
from hubsim.resources import experiment_path


def tasks_of(plan, reps):
    return [
        {
            "config": s.config,
            "horizon_days": s.horizon_days,
            "warmup_days": s.warmup_days,
            "seed": plan.spec.seed,
            "replication": r,
        }
        for r in range(reps)
        for s in plan.scenarios.values()
    ]


def in_memory(plan, reps, workers):
    t0 = time.perf_counter()
    ex = LocalExecutor(workers)
    kept = [frames for _, (frames, _) in ex.map(_replication_task, tasks_of(plan, reps))]
    ex.close()
    assert len(kept) == reps * len(plan.scenarios)
    return time.perf_counter() - t0


def stored(plan, reps, workers, report):
    out = Path(tempfile.mkdtemp()) / "exp"
    t0 = time.perf_counter()
    res = run_experiment(plan, out, quiet=True, report=report, workers=workers)
    secs = time.perf_counter() - t0
    assert res.n_replications == reps
    shutil.rmtree(out.parent)
    return secs


def main() -> None:
    quick = "--quick" in sys.argv
    reps = 4 if quick else 20
    repeats = int(sys.argv[sys.argv.index("--repeats") + 1]) if "--repeats" in sys.argv else 1
    plan = read_experiment(experiment_path("site_d_staffing"))
    plan = type(plan)(
        plan.path,
        plan.spec.model_copy(update={"replications": reps}),
        plan.scenarios,
        plan.baseline,
        plan.window_start,
        plan.window_end,
        plan.where,
    )
    print(f"site_d_staffing: {len(plan.scenarios)} scenarios x {reps} replications")
    print(f"load average before: {os.getloadavg()[0]:.2f} (2 cores)")
    for workers in (1, 2):
        base, store, full = [], [], []
        for _ in range(repeats):
            base.append(in_memory(plan, reps, workers))
            store.append(stored(plan, reps, workers, report=False))
            full.append(stored(plan, reps, workers, report=True))
        b, s, f = (statistics.median(x) for x in (base, store, full))
        print(
            f"workers={workers}: in memory {b:.1f} s, store {s:.1f} s, store + report "
            f"{f:.1f} s (medians of {repeats})"
        )
        print(f"  ratio store / in memory:          {s / b:.3f}  (target <= 1.1)")
        print(f"  ratio store + report / in memory: {f / b:.3f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
