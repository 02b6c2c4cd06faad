"""Cost of the results store: ``hubsim experiment`` against the same replications in memory.

The experiment is the shipped ``site_d_staffing`` (5 Site D scenarios, its window) with the
replications fixed at 20 (100 replications in all). Timed in the same run, alternating:

- in memory (the named baseline): the same 100 replications with the in-memory API,
  ``hubsim.simulate`` of each scenario (same seed, window and processes), which returns
  each scenario's frames concatenated in a ``SimulationResult``;
- bare: the same replications through the experiment's own executor
  (:class:`~hubsim.experiment.executor.LocalExecutor`), frames only kept in a list (a
  lower bound: no store and no concatenation);
- store: :func:`hubsim.experiment.run_experiment` into a new folder (every replication
  committed to DuckDB, events and staff activity written as Parquet), without the report;
- store + report: the same with the report (figures, Markdown, HTML), as ``hubsim
  experiment`` does by default.

Prints the medians and the ratios store / in memory (target <= 1.1) and store / bare,
serially (one process: the store's writer thread shares it) and with 2 worker processes
(the default on this machine), and the CPU time the store's commits take per replication
against a replication's own (``time.process_time``, which other load does not inflate).

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


def api(plan, reps, workers):
    import hubsim

    t0 = time.perf_counter()
    for s in plan.scenarios.values():
        res = hubsim.simulate(
            s.config,
            horizon_days=s.horizon_days,
            warmup_days=s.warmup_days,
            seed=plan.spec.seed,
            replications=reps,
            workers=workers,
        )
        assert len(res.kpis) == reps
    return time.perf_counter() - t0


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


def cpu_ratio() -> None:
    """CPU time of a commit against a replication's (Site D, the experiment's window)."""
    from hubsim.des.simulate import run_replication
    from hubsim.experiment.outdir import open_results_folder
    from hubsim.experiment.store import ResultsStore

    plan = read_experiment(experiment_path("site_d_staffing"))
    s = plan.scenarios[plan.baseline]
    t = time.process_time()
    frames = [
        run_replication(
            s.config, horizon_days=s.horizon_days, warmup_days=s.warmup_days, seed=1,
            replication=r, scenario="common",
        )
        for r in range(5)
    ]
    sim = (time.process_time() - t) / 5
    tmp = Path(tempfile.mkdtemp())
    with open_results_folder(tmp / "cpu", kind="bench", fingerprint={}) as folder:
        store = ResultsStore(folder)
        store.commit_replication("warm", 0, frames[0])
        t = time.process_time()
        for r, fr in enumerate(frames):
            store.commit_replication("a", r, fr)
        commit = (time.process_time() - t) / 5
        store.close()
    shutil.rmtree(tmp)
    print(
        f"CPU per replication: simulation {1000 * sim:.0f} ms, store commit "
        f"{1000 * commit:.0f} ms (ratio {commit / sim:.3f})"
    )


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
    cpu_ratio()
    for workers in (1, 2):
        mem, bare, store, full = [], [], [], []
        for _ in range(repeats):
            mem.append(api(plan, reps, workers))
            bare.append(in_memory(plan, reps, workers))
            store.append(stored(plan, reps, workers, report=False))
            full.append(stored(plan, reps, workers, report=True))
        m, b, s, f = (statistics.median(x) for x in (mem, bare, store, full))
        print(
            f"workers={workers}: in memory (hubsim.simulate) {m:.1f} s, bare executor {b:.1f} s, "
            f"store {s:.1f} s, store + report {f:.1f} s (medians of {repeats})"
        )
        print(f"  ratio store / in memory:          {s / m:.3f}  (target <= 1.1)")
        print(f"  ratio store + report / in memory: {f / m:.3f}")
        print(f"  ratio store / bare executor:      {s / b:.3f}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
