"""Stepped vs reversed-stepped care on the same clients (Site C, one year, CRN).

The paper's Discussion (after BPS 2023): reversed-stepped care gives direct access to
experienced (band 6+) therapists and psychologists from the first appointment, where
stepped care starts with more junior staff and steps up. So under reversed-stepped care
the share of clinical hours given by qualified staff should rise and the wait to a first
contact with a qualified clinician should fall.

Statistics, per replication (paired: both care models see the same referrals and draws):
the senior share of direct clinical hours, and the median wait from referral to the first
senior contact with clients never seen by a senior counted as infinitely long (so a model
that sees fewer clients cannot look faster). Each paired difference must have the
expected sign in every replication and its mean must exceed 4 Monte-Carlo standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import hubsim
from hubsim.experiment import vary

REPS = 8


def _median_wait_to_senior(clients):
    out = []
    for _, c in clients.groupby("replication"):
        c = c[~c["censored"] & c["first_assessment_at"].notna()]
        w = c["wait_to_first_senior_days"].fillna(np.inf).to_numpy()
        out.append(float(np.median(w)))
    return np.array(out)


@pytest.mark.statistical
def test_reversed_stepped_raises_senior_share_and_speeds_senior_contact(site_paths):
    base = hubsim.load_config(site_paths["c"])
    assert base.interventions.care_model.kind == "stepped"
    runs = {}
    for kind in ("stepped", "reversed_stepped"):
        cfg = vary(base, {"interventions.care_model.kind": kind})
        runs[kind] = hubsim.simulate(cfg, horizon_days=365, seed=77, replications=REPS, workers=2)
    s, r = runs["stepped"], runs["reversed_stepped"]
    # identical arrivals: the comparison is paired
    assert np.array_equal(s.clients["referred_at"], r.clients["referred_at"])

    d_share = (
        r.kpis.sort_values("replication")["senior_hours_share"].to_numpy()
        - s.kpis.sort_values("replication")["senior_hours_share"].to_numpy()
    )
    d_wait = _median_wait_to_senior(r.clients) - _median_wait_to_senior(s.clients)

    def mcse(x):
        return x.std(ddof=1) / math.sqrt(len(x))

    assert np.all(d_share > 0), d_share
    assert d_share.mean() > 4 * mcse(d_share)
    assert np.all(np.isfinite(d_wait)) and np.all(d_wait < 0), d_wait
    assert -d_wait.mean() > 4 * mcse(d_wait)
