"""Parallel replications: 2 worker processes against 1, on 20 Site D full-opening years.

Prints, for each repeat, the wall time of ``hubsim.simulate(..., replications=20)`` with
``workers=1`` and with ``workers=2`` (run alternately, so both see the same machine load)
and their ratio, then the median ratio [target >= 1.7x]. It also prints the CPU seconds
the two workers spent against the serial run's (from ``resource.getrusage`` of the
children): the parallel overhead, which does not depend on what else the machine runs.
On a machine whose cores are shared with other work the wall ratio can be at most
(cores free) / 1, so report ``uptime`` with the figure.

Run: ``python benchmarks/bench_parallel.py [--quick] [--replications N]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import pandas as pd

import hubsim

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_des import SITE_D, full_opening


def timed(site, replications, workers, chunksize=None):
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    res = hubsim.simulate(
        site, horizon_days=365, seed=11, replications=replications, workers=workers,
        chunksize=chunksize,
    )
    wall = time.perf_counter() - t0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    s1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu_children = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    cpu_self = (s1.ru_utime - s0.ru_utime) + (s1.ru_stime - s0.ru_stime)
    return res, wall, cpu_self + cpu_children


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 repeats instead of 5")
    ap.add_argument("--replications", type=int, default=20)
    args = ap.parse_args(argv)
    repeats = 2 if args.quick else 5
    site = full_opening(hubsim.load_config(SITE_D))
    hubsim.simulate(site, horizon_days=30, seed=0)  # imports and first-call costs
    print(f"{args.replications} Site D full-opening years (365 days each), {repeats} repeats, "
          f"{os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}")
    ratios, cpu_ratios = [], []
    for k in range(repeats):
        one, w1, c1 = timed(site, args.replications, 1)
        two, w2, c2 = timed(site, args.replications, 2)
        if k == 0:
            for name in ("events", "clients", "kpis"):
                pd.testing.assert_frame_equal(getattr(one, name), getattr(two, name))
        ratios.append(w1 / w2)
        cpu_ratios.append(c2 / c1)
        print(f"  repeat {k}: 1 worker {w1:.2f} s, 2 workers {w2:.2f} s, ratio {w1 / w2:.2f}x; "
              f"CPU 2 workers / 1 worker {c2 / c1:.2f}; load {os.getloadavg()[0]:.2f}")
    print(f"ratio 1 worker / 2 workers (median)  {statistics.median(ratios):.2f}x  [target >= 1.7x]")
    print(f"CPU overhead of 2 workers (median)   {statistics.median(cpu_ratios):.2f}x the serial "
          f"CPU (an idle 2-core machine would give {2 / statistics.median(cpu_ratios):.2f}x)")


if __name__ == "__main__":
    main()
