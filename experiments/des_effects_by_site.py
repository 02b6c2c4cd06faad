"""DES-derived hub effects for Sites A-D against usual care, for every measured population.

Run: ``python experiments/des_effects_by_site.py [--replications R] [--seed S]``

Each line gives the effect by month since opening (with its Monte-Carlo SE over paired
DES replications), its mean over months, and for the whole-staff survey the dilution:
uptake among in-scope staff times the individual effect among hub users. These are the
effects a regional evaluation would be trying to detect (see
experiments/power_naturalistic_evaluation.yaml for their power).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import hubsim
from hubsim.evaluation import effect_from_des

ROOT = Path(__file__).resolve().parents[1]
OUTCOMES = (
    ("staff_survey", "phq9"),
    ("staff_survey", "caseness"),
    ("help_seeker_cohort", "phq9"),
    ("service_waits", "wait_days"),
    ("service_waits", "treated_within_6w"),
)


def main(replications: int, seed: int, horizon_days: float) -> None:
    usual = hubsim.load_config(ROOT / "configs/usual_care.yaml")
    for site in "abcd":
        hub = hubsim.load_config(ROOT / f"configs/sites/site_{site}.yaml")
        for population, outcome in OUTCOMES:
            t0 = time.perf_counter()
            res = effect_from_des(
                hub,
                usual,
                population=population,
                outcome=outcome,
                horizon_days=horizon_days,
                replications=replications,
                seed=seed,
                workers=2,
            )
            prof = res.profile.set_index("event_time_months")
            months = [m for m in (5, 11, 17, 23) if m in prof.index]
            by_month = "; ".join(
                f"m{m} {prof.loc[m, 'effect']:+.4g} ({prof.loc[m, 'mcse']:.2g})" for m in months
            )
            per_rep = res.replicates.groupby("replication")["effect"].mean()
            mean_se = per_rep.std(ddof=1) / np.sqrt(len(per_rep))
            line = (
                f"site_{site} {population}/{outcome}: {by_month} | mean {per_rep.mean():+.4g} "
                f"({mean_se:.2g}) | baseline {res.baseline_mean:.4g}, sd {res.baseline_sd:.4g}"
            )
            if population == "staff_survey" and months:
                c = res.components.set_index("event_time_months").loc[months[-1]]
                line += (
                    f" | m{months[-1]}: uptake {c['uptake']:.3%} x individual "
                    f"{c['individual_effect']:+.4g}"
                )
            print(f"{line} [{time.perf_counter() - t0:.0f} s]", flush=True)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replications", type=int, default=10)
    ap.add_argument("--seed", type=int, default=2024)
    ap.add_argument("--horizon-days", type=float, default=730.5)
    args = ap.parse_args()
    main(args.replications, args.seed, args.horizon_days)
