"""Peak memory of a run against its number of clients: 1 and 10 Site D site-years.

Each size runs in a fresh interpreter (a subprocess), which imports hubsim, runs a 30-day
warm-up call (imports and first-call allocations), records its resident set, then runs
``hubsim.simulate`` on Site D's full-opening year with ``replications`` = 1 or 10 (one
site-year each) and reports its peak resident set (``resource.getrusage``, ``ru_maxrss``)
and, under ``--tracemalloc``, the peak of Python-tracked allocations (numpy included).
The figure is the memory above the baseline per client; the ratio of the 10-year to the
1-year figure is 1 when peak memory is linear in clients and below 1 when it grows more
slowly (a replication's kernel state is freed once its tables are built, so only the
tables accumulate) [target: at most about 1].

Run: ``python benchmarks/bench_memory.py [--tracemalloc] [--repeats N]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r"""
import json, resource, sys, tracemalloc
sys.path.insert(0, {here!r})
import hubsim
from bench_des import SITE_D, full_opening
site = full_opening(hubsim.load_config(SITE_D))
hubsim.simulate(site, horizon_days=30, seed=0)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
trace = {trace}
if trace:
    tracemalloc.start()
res = hubsim.simulate(site, horizon_days=365, seed=5, replications={reps})
peak_py = tracemalloc.get_traced_memory()[1] if trace else 0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"base_kib": base, "peak_kib": peak, "peak_py": peak_py,
                   "clients": int(len(res.clients)), "events": int(len(res.events))}}))
"""


def measure(reps: int, trace: bool) -> dict:
    code = CHILD.format(here=str(HERE), reps=reps, trace=trace)
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    per = {1: [], 10: []}
    per_py = {1: [], 10: []}
    for _ in range(args.repeats):
        for reps in (1, 10):
            m = measure(reps, args.tracemalloc)
            rss = (m["peak_kib"] - m["base_kib"]) * 1024 / m["clients"]
            per[reps].append(rss)
            line = (f"  {reps:>2} site-year(s): {m['clients']} clients, {m['events']} events; "
                    f"peak RSS {m['peak_kib'] / 1024:.0f} MiB (baseline {m['base_kib'] / 1024:.0f}"
                    f" MiB), {rss / 1024:.1f} KiB a client above the baseline")
            if args.tracemalloc:
                py = m["peak_py"] / m["clients"]
                per_py[reps].append(py)
                line += f"; traced peak {py / 1024:.1f} KiB a client"
            print(line, flush=True)
    r = statistics.median(per[10]) / statistics.median(per[1])
    print(f"peak RSS per client, 10 site-years / 1 site-year  {r:.2f}  [target <= 1: linear or better]")
    if args.tracemalloc:
        rp = statistics.median(per_py[10]) / statistics.median(per_py[1])
        print(f"traced peak per client, 10 / 1                   {rp:.2f}  [target <= 1]")


if __name__ == "__main__":
    main()
