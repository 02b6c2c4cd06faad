"""Speed and memory of the hub DES (Site D), against a bare SimPy loop measured in the same run.

Prints:

1. wall time of a year of Site D (median of repeats): the kernel alone and the whole
   ``hubsim.simulate`` call (tables, scores, KPIs included); target < 1 s;
2. cost per client of the model's kernel and of a bare SimPy loop (one generator process a
   client, a ``simpy.Resource`` with as many servers as the site has clinical staff, the
   same number of arrivals and the same number of appointments per client) and their
   ratio; target <= 2x;
3. peak traced memory (tracemalloc) of ``simulate`` for 1 and 10 site-years, and bytes
   per client, to show linear growth.

Run: ``python benchmarks/bench_des.py`` (add ``--quick`` for fewer repeats).
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import simpy

import hubsim
from hubsim.des import HubModel
from hubsim.des.model import BUSY_FIELDS
from hubsim.measures import simulate_scores

ROOT = Path(__file__).resolve().parents[1]
SITE_D = ROOT / "configs/sites/site_d.yaml"


def kernel_year(cfg, seed):
    model = HubModel(cfg, 365, seed=seed, scenario=cfg.name, replication=0, scores=simulate_scores)
    t0 = time.perf_counter()
    model.run()
    kernel = time.perf_counter() - t0
    appointments = len(model.busy) // len(BUSY_FIELDS)  # a flat list, BUSY_FIELDS per task
    return model, kernel, appointments


def bare_simpy(n_clients, appts_per_client, servers, horizon, mean_service_days, seed):
    """A plain SimPy M/G/c-style loop: a process a client, k appointments each."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(horizon / max(n_clients, 1), n_clients)
    service = rng.exponential(mean_service_days, int(n_clients * (appts_per_client + 2)) + 10)
    env = simpy.Environment()
    staff = simpy.Resource(env, capacity=servers)
    k_of = rng.poisson(appts_per_client, n_clients)
    pos = [0]

    def client(k):
        for _ in range(k):
            with staff.request() as req:
                yield req
                d = service[pos[0]]
                pos[0] += 1
                yield env.timeout(d)
            yield env.timeout(7.0)

    def source():
        for i in range(n_clients):
            yield env.timeout(gaps[i])
            env.process(client(int(k_of[i])))

    env.process(source())
    t0 = time.perf_counter()
    env.run()
    return time.perf_counter() - t0


def peak_memory(cfg, years):
    tracemalloc.start()
    res = hubsim.simulate(cfg, horizon_days=365 * years, seed=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, len(res.clients), len(res.events)


def main(quick=False):
    cfg = hubsim.load_config(SITE_D)
    hubsim.simulate(cfg, horizon_days=30, seed=0)  # imports and first-call costs
    repeats = 3 if quick else 7
    kern, full, n_clients, n_appts = [], [], [], []
    for s in range(repeats):
        model, k, a = kernel_year(cfg, s)
        kern.append(k)
        n_clients.append(model.n)
        n_appts.append(a)
        t0 = time.perf_counter()
        hubsim.simulate(cfg, horizon_days=365, seed=s)
        full.append(time.perf_counter() - t0)
    n = int(statistics.median(n_clients))
    a = int(statistics.median(n_appts))
    print("Site D, one year (365 days), median of", repeats, "seeds")
    print(f"  clients {n}, staff tasks (appointments, assessments, calls) {a}")
    print(f"  kernel (HubModel.run)              {statistics.median(kern):.3f} s")
    print(f"  hubsim.simulate (all tables, KPIs) {statistics.median(full):.3f} s  [target < 1 s]")
    outside = statistics.median(f - k for f, k in zip(full, kern, strict=True))
    print(f"  outside the kernel (set-up, scores, tables, KPIs) {outside:.3f} s")

    servers = sum(1 for s in model.servers if s.channel == 0)
    bare = [bare_simpy(n, a / n, servers, 365.0, 0.05, seed) for seed in range(repeats)]
    per_model = statistics.median(kern) / n
    per_full = statistics.median(full) / n
    per_bare = statistics.median(bare) / n
    print(f"Bare SimPy loop: {n} clients, {a / n:.2f} appointments each, {servers} servers")
    print(f"  bare loop                          {statistics.median(bare):.3f} s")
    print(
        f"  cost per client: kernel {per_model * 1e6:.0f} us, whole simulate {per_full * 1e6:.0f} us, "
        f"bare SimPy {per_bare * 1e6:.0f} us"
    )
    print(f"  ratio kernel / bare SimPy          {per_model / per_bare:.2f}x  [target <= 2x]")
    print(f"  ratio whole simulate / bare SimPy  {per_full / per_bare:.2f}x")

    print("Peak traced memory of hubsim.simulate (tracemalloc)")
    rows = []
    for years in (1, 10):
        peak, nc, ne = peak_memory(cfg, years)
        rows.append((years, peak, nc))
        print(
            f"  {years:>2} site-year(s): {peak / 2**20:7.1f} MiB, {nc} clients, {ne} events, "
            f"{peak / max(nc, 1) / 1024:.1f} KiB per client"
        )
    (_y1, p1, c1), (_y10, p10, c10) = rows
    print(
        f"  10-year / 1-year: memory {p10 / p1:.1f}x for {c10 / c1:.1f}x the clients "
        f"(linear growth gives equal ratios)"
    )


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
