"""Extreme settings whose outcome is known exactly."""

from __future__ import annotations

import numpy as np
import pytest

import hubsim
from hubsim.config.schema import STEP_IDS
from hubsim.des.frames import queue_intervals
from hubsim.experiment import vary


@pytest.fixture(scope="module")
def site_c(site_paths):
    return hubsim.load_config(site_paths["c"])


def test_zero_demand_gives_no_events(site_c):
    cfg = vary(site_c, {"simulation.demand.multiplier": 0.0})
    res = hubsim.simulate(cfg, horizon_days=120, seed=1)
    assert len(res.clients) == 0 and (res.events["client_id"] < 0).all()
    assert (res.weekly["referrals"] == 0).all()
    # no client work at all: only team support (which does not depend on referrals)
    assert set(res.staff_activity["stage"].astype(str)) <= {"team_support"}
    for role in ("therapists", "low_intensity"):
        assert res.kpis[f"utilisation_{role}"].iloc[0] == 0.0


def test_unlimited_staff_gives_zero_waits(site_c):
    roles = site_c.service.workforce.roles
    # 100x every WTE and unlimited caseloads: nobody ever queues for anyone
    changes = {f"service.workforce.roles[{r.id}].wte": r.wte * 100 for r in roles}
    changes.update(
        {
            f"service.workforce.roles[{r.id}].caseload_per_wte": 10**6
            for r in roles
            if r.caseload_per_wte is not None
        }
    )
    changes["simulation.demand.multiplier"] = 3.0
    # a group waits for its members and its start date whatever the staffing: route nobody there
    changes["interventions.steps.group.p_routed"] = 0.0
    # book at once with no notice, no limit on how far ahead, and no absences
    changes["simulation.booking.min_notice_days"] = 0.0
    changes["simulation.staff_time.sickness"] = None
    cfg = vary(site_c, changes)
    res = hubsim.simulate(cfg, horizon_days=180, seed=2)
    qi = queue_intervals(res.events, 180.0)
    assert len(qi) > 1000
    assert set(qi["stage"]) >= {"assessment", "step3"}
    # nobody waits for staff longer than to the next rostered clinical time (a bank-holiday
    # weekend at most); clients who did not attend a first session wait for the next one
    c = res.clients.set_index("client_id")
    dna = c.loc[qi["client_id"], "dna_count"].to_numpy() > 0
    wait = (qi["end"] - qi["begin"]).to_numpy()[~dna]
    assert np.quantile(wait, 0.5) < 1e-9 and wait.max() <= 5.0, wait.max()  # Easter: 4.7 days
    assert res.kpis["wait_to_first_treatment_median_days"].iloc[0] < 1.0
    # only clients whose renege time is shorter than the wait for the next working day leave
    # (F(x) = x / (x + 120): about 1% within a day)
    left = res.clients["discharge_reason"] == "dropped_out_waiting"
    assert left.mean() < 0.01


def test_everyone_onward_referred_gives_no_in_house_therapy(site_c):
    cfg = vary(site_c, {"interventions.onward_referral.p_onward": 1.0})
    res = hubsim.simulate(cfg, horizon_days=180, seed=3)
    c = res.clients
    assessed = (
        c["first_assessment_at"].notna()
        & ~c["censored"]
        & (c["discharge_reason"] != "dropped_out_waiting")
    )
    assert assessed.sum() > 100
    assert (c.loc[assessed, "pathway"] == "onward").all()
    assert (c["steps_received"] == "").all()
    assert c["first_treatment_at"].isna().all()
    steps = list(STEP_IDS)
    assert not res.events["stage"].isin(steps).any()
    assert not res.staff_activity["stage"].isin(steps).any()


def test_zero_wte_role_delivers_nothing(site_paths):
    # Site D: low-intensity staff share self-help and short assessments with therapists
    site_d = hubsim.load_config(site_paths["d"])
    cfg = vary(site_d, {"service.workforce.roles[low_intensity].wte": 0.0})
    res = hubsim.simulate(cfg, horizon_days=180, seed=4)
    assert not (res.staff_activity["role"] == "low_intensity").any()
    assert not (res.events["role"] == "low_intensity").any()
    assert res.weekly["hours_available_low_intensity"].eq(0).all()
    # the same run with the role staffed does use it (so the check above can fail)
    staffed = hubsim.simulate(site_d, horizon_days=180, seed=4)
    assert (staffed.staff_activity["role"] == "low_intensity").any()


@pytest.mark.statistical
def test_with_no_service_waiting_dropout_follows_the_renege_curve(root):
    """Clients who can never be seen leave at P(by day x) = x / (x + scale).

    The M/M/c validation hub with assessments that never end (the three clinicians are
    taken by the first three clients), so every later client waits until they renege or
    the horizon. Among clients referred at least x days before the horizon, the share
    who reneged within x days is binomial with p = x / (x + scale); tolerance 4 SE.
    """
    scale = 40.0
    base = hubsim.load_config(root / "configs/validation/mmc.yaml")
    cfg = vary(
        base,
        {
            "simulation.attendance.renege_scale_days": scale,
            "interventions.assessment.in_depth.duration_minutes": {"dist": "fixed", "value": 1e9},
            "simulation.demand.multiplier": 5.0,
        },
    )
    res = hubsim.simulate(cfg, horizon_days=400, seed=8)
    c = res.clients.iloc[3:]
    left = c["discharge_reason"].eq("dropped_out_waiting").to_numpy()
    wait = (c["discharged_at"] - c["referred_at"]).to_numpy()
    for x in (10.0, 40.0, 120.0):
        eligible = c["referred_at"].to_numpy() <= 400 - x
        n = int(eligible.sum())
        share = float((left & (wait <= x))[eligible].mean())
        p = x / (x + scale)
        assert abs(share - p) <= 4 * np.sqrt(p * (1 - p) / n), (x, share, p, n)
