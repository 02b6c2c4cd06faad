"""Monotonicity on fine grids under common random numbers (issue 8), with MCSEs.

For each site, a role's WTE on a grid of 0.1 steps (and a caseload-cap grid and a demand
grid): the paired difference of each wait KPI between neighbouring grid points, with its
Monte-Carlo SE over replications. More staff must never lengthen a wait beyond 2 MCSE,
more demand never shorten it, a lower caseload cap never shorten the therapy waiting lists.
Prints every step and the largest step against the expected direction in MCSE units.

Run: ``python experiments/monotonicity_grid.py [replications]`` (default 6; a few minutes).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

import hubsim
from hubsim.experiment import vary

ROOT = Path(__file__).resolve().parents[1]
KPIS = (
    "wait_to_first_assessment_mean_days",
    "wait_to_first_assessment_p90_days",
    "wait_to_first_treatment_mean_days",
    "wait_to_first_treatment_p90_days",
)


def run(cfg, reps):
    last = max(g.opens for g in cfg.service.target_population.groups)
    warm = (last - cfg.simulation.period.start).days
    res = hubsim.simulate(
        cfg, horizon_days=warm + 365, warmup_days=warm, seed=99, replications=reps, workers=2
    )
    return res.kpis


def grid(label, cfgs, values, reps, sign, kpis=KPIS):
    """sign +1: KPIs must not rise along the grid; -1: must not fall."""
    runs = [run(c, reps) for c in cfgs]
    worst = -math.inf
    for i in range(1, len(runs)):
        parts = []
        for k in kpis:
            d = (runs[i][k] - runs[i - 1][k]).to_numpy()
            d = d[~np.isnan(d)]
            m = d.mean()
            se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else math.nan
            z = sign * m / se if se > 0 else (0.0 if m == 0 else sign * math.copysign(math.inf, m))
            worst = max(worst, z)
            short = k.replace("wait_to_first_", "").replace("_days", "").replace("waiting_list_", "len_")
            parts.append(f"{short} {m:+.3f} ({se:.3f})")
        print(f"  {label} {values[i - 1]} -> {values[i]}: " + "; ".join(parts))
    return worst


def main(reps=6):
    out = []
    for site, role, lo, hi, demand in (
        ("a", "therapists", 7.2, 8.2, 1.5),
        ("b", "therapists", 12.0, 13.0, 1.5),
        ("c", "low_intensity", 5.1, 6.1, 1.5),
        ("d", "therapists", 5.0, 6.0, 1.5),
    ):
        base = vary(hubsim.load_config(ROOT / f"configs/sites/site_{site}.yaml"),
                    {"simulation.demand.multiplier": demand})
        values = [round(x, 1) for x in np.arange(lo, hi + 1e-9, 0.1)]
        cfgs = [vary(base, {f"service.workforce.roles[{role}].wte": v}) for v in values]
        print(f"Site {site.upper()}, {role} WTE grid at {demand}x demand (mean (MCSE) of paired differences)")
        out.append((f"{site} {role} WTE", grid("wte", cfgs, values, reps, +1)))
        dem = [1.0, 1.25, 1.5, 1.75, 2.0]
        cfgs = [vary(base, {"simulation.demand.multiplier": m}) for m in dem]
        print(f"Site {site.upper()}, demand grid")
        out.append((f"{site} demand", grid("demand", cfgs, dem, reps, -1)))
    base = vary(hubsim.load_config(ROOT / "configs/sites/site_d.yaml"), {"simulation.demand.multiplier": 2.0})
    caps = [24, 20, 16, 12, 8]
    cfgs = [vary(base, {"service.workforce.roles[therapists].caseload_per_wte": c}) for c in caps]
    print("Site D, therapists' caseload cap grid at 2x demand (lower caps)")
    # lower caps must lengthen the therapy waiting lists (they also free clinical time for
    # assessments, so the wait from referral may fall: the lists are what caps act on)
    lists = ("waiting_list_step3_mean", "waiting_list_step4_mean", "list_step3_mean_days")
    out.append(("d caseload cap (lists)", grid("cap", cfgs, caps, reps, -1, lists)))
    print("Largest step against the expected direction, in MCSE units (must be <= 2):")
    for label, z in out:
        print(f"  {label:<24} {z:+.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
