"""Monotonicity under common random numbers (Site D, one year).

Statistic: the mean wait of clients referred in the year, per replication. Variants keep
the configuration's name, so replication r of every variant uses the same random streams
(the same referrals, scores, decisions and session draws). For each of 3 replications:

* demand x1, x2, x3: the mean wait to assessment never goes down as demand rises;
* therapists' WTE 2.5, 3.5, 5.4, 8.0 at x3 demand: the mean wait to treatment never goes up.

The steps are large enough (waits change by days to weeks) that this holds replication by
replication, not only on average; it would fail if extra staff were not used or if
demand did not load the staff.
"""

from __future__ import annotations

import numpy as np
import pytest

import hubsim
from hubsim.experiment import vary

REPS = 3


@pytest.fixture(scope="module")
def site_d(site_paths):
    return hubsim.load_config(site_paths["d"])


def _waits(cfg, column):
    res = hubsim.simulate(cfg, horizon_days=365, seed=2024, replications=REPS, workers=2)
    return res.kpis.sort_values("replication")[column].to_numpy()


@pytest.mark.statistical
def test_more_demand_never_shortens_mean_wait(site_d):
    waits = np.array(
        [
            _waits(
                vary(site_d, {"simulation.demand.multiplier": m}), "wait_to_first_assessment_mean_days"
            )
            for m in (1.0, 2.0, 3.0)
        ]
    )
    assert np.all(np.diff(waits, axis=0) >= 0), waits
    assert waits[-1].mean() > 5 * waits[0].mean()  # demand really loads the hub


@pytest.mark.statistical
def test_more_wte_never_lengthens_mean_wait(site_d):
    waits = np.array(
        [
            _waits(
                vary(
                    site_d,
                    {
                        "simulation.demand.multiplier": 3.0,
                        "service.workforce.roles[therapists].wte": w,
                    },
                ),
                "wait_to_first_treatment_mean_days",
            )
            for w in (2.5, 3.5, 5.4, 8.0)
        ]
    )
    assert np.all(np.diff(waits, axis=0) <= 0), waits
    assert waits[-1].mean() < waits[0].mean() - 7  # a planner sees at least a week's change
