"""The wait KPIs never carry the Kaplan-Meier curve past the longest follow-up.

A flat tail beyond the data would report a restricted mean to the whole KPI window, and
shares within 6 and 18 weeks, that nothing observed supports: with every client still
waiting referred late in the window, a 5-day wait came out as a 44-day mean.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import hubsim
from hubsim.des.frames import WAITS
from hubsim.des.kpis import EIGHTEEN_WEEKS, SIX_WEEKS, kaplan_meier, restricted_mean, wait_stats


def _sample(rng, n, reach_zero):
    d = rng.exponential(10.0, n)
    censor = rng.uniform(0.0, 60.0, n)
    days = np.minimum(d, censor)
    observed = d <= censor
    if reach_zero:
        k = int(np.argmax(days))
        observed[k] = True  # the longest wait ends in the event
    else:
        k = int(np.argmax(days))
        observed[k] = False
    return days, observed


@pytest.mark.oracle
@pytest.mark.parametrize("reach_zero", [True, False])
def test_mean_and_shares_match_lifelines_within_the_follow_up(reach_zero):
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    rng = np.random.default_rng(20261201)
    for _ in range(5):
        days, observed = _sample(rng, 300, reach_zero)
        tau = 365.0
        st = wait_stats("w", days, observed, tau)
        kmf = KaplanMeierFitter().fit(days, observed)
        follow_up = days.max()
        t_rm = tau if reach_zero else follow_up
        expect = restricted_mean_survival_time(kmf, t=t_rm)
        assert st["w_mean_days"] == pytest.approx(expect, rel=1e-9)
        for x, key in ((SIX_WEEKS, "w_within_6w_share"), (EIGHTEEN_WEEKS, "w_within_18w_share")):
            if reach_zero or x <= follow_up:
                assert st[key] == pytest.approx(1.0 - float(kmf.predict(x)), abs=1e-12)
            else:
                assert math.isnan(st[key])


def test_a_curve_that_reaches_zero_keeps_the_window_mean():
    # the longest wait ends in the event: S is zero from there on, so the mean to the
    # window is exact and equals the mean of the waits when nobody is censored
    days = np.array([1.0, 3.0, 8.0, 20.0])
    st = wait_stats("w", days, np.ones(4, dtype=bool), 365.0)
    assert st["w_mean_days"] == pytest.approx(days.mean())
    assert st["w_within_6w_share"] == 1.0 and st["w_within_18w_share"] == 1.0


def test_late_censoring_does_not_stretch_the_tail_to_the_window():
    # every wait seen ends by day 5; those still waiting were referred in the last 10 days
    days = np.array([1.0, 2.0, 3.0, 5.0, 6.0, 8.0, 10.2])
    observed = np.array([True, True, True, True, False, False, False])
    times, surv = kaplan_meier(days, observed)
    st = wait_stats("w", days, observed, 200.0)
    assert st["w_mean_days"] == pytest.approx(restricted_mean(times, surv, 10.2))
    assert st["w_mean_days"] <= days.max()
    # the flat tail to day 200 would have given this much more
    assert restricted_mean(times, surv, 200.0) > 10 * st["w_mean_days"]
    assert math.isnan(st["w_within_6w_share"]) and math.isnan(st["w_within_18w_share"])
    assert math.isnan(st["w_p90_days"])


def test_a_window_that_ends_soon_after_opening_gives_supported_waits(site_paths):
    # Site D's groups open late in a 200-day window from its period start: every client
    # is followed for a few weeks at most
    # (190 days, seed 0: the flat tail gave a 28.8-day mean first-assessment wait where
    # the longest follow-up was 12.9 days)
    cfg = hubsim.load_config(site_paths["d"])
    res = hubsim.simulate(cfg, horizon_days=190, warmup_days=0, seed=0)
    k = res.kpis.iloc[0]
    cl = res.clients
    for w in WAITS:
        d = cl[f"{w}_days"].to_numpy(float)
        d = d[~np.isnan(d)]
        if not len(d):
            continue
        assert k[f"{w}_mean_days"] <= d.max() + 1e-9
        for key in (f"{w}_within_6w_share", f"{w}_within_18w_share"):
            assert math.isnan(k[key]) or 0.0 <= k[key] <= 1.0
    assert math.isnan(k["wait_to_first_assessment_within_6w_share"])


def test_an_empty_waiting_list_has_mean_length_zero_and_a_missing_step_none():
    """A list the service has but nobody waited on in the window is a mean length of 0 (so
    the mean over replications is not taken over the busy ones only); a step the service
    does not offer has no waiting-list KPI."""
    cfg = hubsim.load_config("site_d")
    res = hubsim.simulate(cfg, seed=9, replications=5, horizon_days=400)
    step4 = res.kpis["waiting_list_step4_mean"].to_numpy()
    assert np.isfinite(step4).all() and (step4 == 0).any() and (step4 > 0).any()
    # the KPI is the mean of the window's weekly mean lengths, zeros included
    wl = res.waiting_lists
    for r in range(5):
        sub = wl[(wl["replication"] == r) & (wl["list"] == "step4")]
        assert step4[r] == pytest.approx(sub["mean_length"].mean(), rel=1e-12, abs=0)
    site_c = hubsim.simulate(hubsim.load_config("site_c"), seed=1, horizon_days=120)
    assert not hubsim.load_config("site_c").interventions.steps.step4.offered
    assert "waiting_list_step4_mean" not in site_c.kpis.columns
    assert "waiting_list_step3_mean" in site_c.kpis.columns  # offered, maybe empty yet



def test_discharges_per_week_counts_every_discharge_in_the_window():
    """The service's discharge rate: every discharge event inside the KPI window, whether
    the client was referred before the window or in it."""
    cfg = hubsim.load_config("site_d")
    res = hubsim.simulate(cfg, seed=5, replications=2, start="2021-04-01", end="2021-09-30")
    warm, horizon = res.meta["warmup_days"], res.meta["horizon_days"]
    cl = res.clients
    for r in range(2):
        t = cl.loc[cl["replication"] == r, "discharged_at"].to_numpy(dtype=float)
        n = np.sum((t >= warm) & (t < horizon))
        got = res.kpis.loc[res.kpis["replication"] == r, "discharges_per_week"].iloc[0]
        assert got == pytest.approx(n / ((horizon - warm) / 7.0), rel=1e-12)
        referred_before = cl.loc[cl["replication"] == r, "referred_at"].to_numpy() < warm
        assert np.sum((t >= warm) & (t < horizon) & referred_before) > 0  # the case that was missed
