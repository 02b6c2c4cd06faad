"""Variance reduction of common random numbers for a demand change (issue 9).

Site D over the year after its last group opens, demand x1.0 against x1.2, R
replications: the SE of the paired differences (same seed and stream key: the x1.2 world
keeps every client of the x1.0 world and adds a layer of new ones) against the SE the same
runs would give unpaired (sqrt((var_a + var_b) / R)) and against independent streams (a
different scenario key for the second arm). Prints the variance ratio per KPI.

Run: ``python experiments/crn_variance_reduction.py`` (about a minute on two cores).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import hubsim
from hubsim.experiment import vary

ROOT = Path(__file__).resolve().parents[1]
KPIS = (
    "wait_to_first_assessment_mean_days",
    "wait_to_first_treatment_mean_days",
    "wait_to_first_treatment_p90_days",
    "wait_to_second_treatment_mean_days",
    "utilisation_therapists",
    "recovery_rate",
)


def main(reps=20):
    base = hubsim.load_config(ROOT / "configs/sites/site_d.yaml")
    more = vary(base, {"simulation.demand.multiplier": 1.2})
    last = max(g.opens for g in base.service.target_population.groups)
    warm = (last - base.simulation.period.start).days
    kw = dict(horizon_days=warm + 365, warmup_days=warm, seed=7, replications=reps, workers=2)
    a = hubsim.simulate(base, **kw).kpis
    b = hubsim.simulate(more, **kw).kpis
    c = hubsim.simulate(more, scenario="independent", **kw).kpis
    print(f"Site D, demand x1.0 vs x1.2, {reps} replications (seed 7)")
    print(f"{'KPI':<40} {'diff':>9} {'SE paired':>10} {'SE unpaired':>12} {'SE indep.':>10} {'var ratio':>10}")
    for k in KPIS:
        d = (b[k] - a[k]).to_numpy()
        se_p = d.std(ddof=1) / math.sqrt(reps)
        se_u = math.sqrt((a[k].var(ddof=1) + b[k].var(ddof=1)) / reps)
        e = (c[k] - a[k]).to_numpy()
        se_i = e.std(ddof=1) / math.sqrt(reps)
        print(f"{k:<40} {d.mean():>9.3f} {se_p:>10.4f} {se_u:>12.4f} {se_i:>10.4f} {(se_u / se_p) ** 2:>9.1f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
