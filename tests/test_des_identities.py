"""Exact identities that every run must satisfy (not statistical: they hold to rounding).

Checked on a year of Site B (groups, pastoral pathway, in-depth assessment, after-acceptance
screening), a year of Site C (two-stage assessment, stepped care) with double demand so
that queues form, and Site A with an initial waiting list and reneging.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import hubsim
from hubsim.des import QUEUE_STAGES
from hubsim.des.frames import queue_intervals
from hubsim.experiment import vary


@pytest.fixture(scope="module", params=["b", "c_busy", "a_initial"])
def both(request, site_paths):
    key = request.param
    if key == "b":
        cfg = hubsim.load_config(site_paths["b"])
        res = hubsim.simulate(cfg, horizon_days=365, seed=11)
    elif key == "c_busy":
        cfg = vary(hubsim.load_config(site_paths["c"]), {"simulation.demand.multiplier": 3.0})
        res = hubsim.simulate(cfg, horizon_days=365, seed=12)
    else:
        cfg = vary(
            hubsim.load_config(site_paths["a"]),
            {"service.workforce.roles[therapists].wte": 3.0},
        )
        initial = pd.DataFrame(
            {
                "waited_days": np.linspace(0, 120, 150),
                "stage": ["assessment"] * 100 + ["treatment"] * 50,
            }
        )
        res = hubsim.simulate(cfg, horizon_days=300, seed=13, initial_waiting_list=initial)
    return cfg, res


@pytest.fixture(scope="module")
def run(both):
    return both[1]


def test_queue_area_equals_waiting_time(run):
    """Kernel's running integral of each queue length == total time clients spent in it."""
    horizon = run.meta["horizon_days"]
    qi = queue_intervals(run.events, horizon)
    area = run.queue_area.set_index("stage")["area"]
    for stage in QUEUE_STAGES:
        q = qi[qi["stage"] == stage]
        waited = float((q["end"] - q["begin"]).sum())
        assert area[stage] == pytest.approx(waited, rel=1e-9, abs=1e-7), stage
    assert area[["assessment", "treatment_wait"]].sum() > 0


def test_every_referral_ends_once_or_is_censored(run):
    c = run.clients
    has_reason = c["discharge_reason"].notna().to_numpy()
    assert np.array_equal(has_reason, ~c["censored"].to_numpy())
    ev = run.events
    term = ev[ev["event"].isin(["discharged", "onward_referred"])]
    n_term = term.groupby("client_id").size().reindex(c["client_id"], fill_value=0).to_numpy()
    assert np.array_equal(n_term, (~c["censored"]).astype(int).to_numpy())
    # a discharged client has no event after discharge
    last = ev.groupby("client_id")["time"].max()
    d = c.set_index("client_id")["discharged_at"].dropna()
    assert (last.reindex(d.index) <= d + 1e-9).all()


def test_no_negative_waits_and_times_inside_horizon(run):
    c = run.clients
    for col in ("wait_to_assessment_days", "wait_to_treatment_days", "wait_to_first_senior_days"):
        assert (c[col].dropna() >= 0).all(), col
    assert (c["discharged_at"].dropna() >= c["referred_at"].loc[c["discharged_at"].notna()]).all()
    assert run.events["time"].max() <= run.meta["horizon_days"] + 1e-9 or (
        run.events.loc[run.events["time"] > run.meta["horizon_days"], "event"].eq("begins").all()
    )


def test_utilisation_and_hours_within_availability_every_week(run):
    w = run.weekly
    roles = [c[len("utilisation_") :] for c in w.columns if c.startswith("utilisation_")]
    for r in roles:
        used = w[f"hours_used_{r}"].to_numpy()
        avail = w[f"hours_available_{r}"].to_numpy()
        assert np.all(used <= avail + 1e-7), r
        u = w[f"utilisation_{r}"].dropna()
        assert (u <= 1 + 1e-9).all() and (u >= 0).all(), r


def test_a_staff_member_does_one_thing_at_a_time(run):
    sa = run.staff_activity
    for (_, _), df in sa.groupby(["staff_id", "channel"], observed=True):
        s = df.sort_values("start")
        assert np.all(s["start"].to_numpy()[1:] >= s["end"].to_numpy()[:-1] - 1e-9)


def test_vidigi_view_is_consistent_with_the_event_log(run):
    v = run.vidigi_event_log
    assert list(v.columns) == ["entity_id", "event_type", "event", "time", "resource_id", "run"]
    arrivals = v[v["event"] == "arrival"].groupby("entity_id").size()
    assert (arrivals == 1).all() and len(arrivals) == len(run.clients)
    departs = v[v["event"] == "depart"].groupby("entity_id").size()
    assert (departs == 1).all()
    assert len(departs) == int((~run.clients["censored"]).sum())
    use = v[v["event_type"] == "resource_use"]
    assert use["resource_id"].notna().all() and (use["resource_id"] >= 1).all()


def test_every_activity_is_done_by_an_allowed_role(both):
    cfg, run = both
    iv = cfg.interventions
    allowed = {
        "duty": set(iv.triage.risk.duty_roles),
        "processing": set(iv.screening.processing_roles),
        "in_depth_assessment": set(iv.assessment.in_depth.roles),
        "assessment": set(iv.assessment.short.roles) if iv.assessment.short else set(),
        "team_support": {
            r
            for a in ("consultation", "workshops", "peer_support")
            for r in getattr(iv.team_support, a).roles
        },
    }
    sa = run.staff_activity
    for stage, roles in allowed.items():
        got = set(sa.loc[sa["stage"] == stage, "role"].astype(str))
        assert got <= roles, (stage, got - roles)
    tr = sa[sa["stage"] == "treatment"]
    for step, df in tr.groupby("step", observed=True):
        assert set(df["role"].astype(str)) <= set(iv.steps.get(str(step)).roles), step


def test_a_course_keeps_one_clinician_and_caseloads_are_capped(both):
    cfg, run = both
    sa = run.staff_activity
    ind = sa[(sa["stage"] == "treatment") & (sa["clients_sharing"] == 1) & (sa["client_id"] >= 0)]
    per_course = ind.groupby(["client_id", "step"], observed=True)["staff_id"].nunique()
    assert len(per_course) > 50 and (per_course == 1).all()
    for r in cfg.service.workforce.roles:
        if r.caseload_per_wte is None or r.wte == 0:
            continue
        full, part = divmod(r.wte, 1.0)
        cap = int(full) * max(1, round(r.caseload_per_wte)) + (
            max(1, round(r.caseload_per_wte * part)) if part > 1e-9 else 0
        )
        assert run.weekly[f"caseload_{r.id}"].max() <= cap, r.id


def test_groups_start_within_their_size_limits(both):
    cfg, run = both
    step = cfg.interventions.steps.group
    c = run.clients
    g = c[c["steps_received"].str.startswith("group")]
    if not step.offered:
        assert g.empty  # a site without groups never puts anyone in one
        return
    assert not g.empty
    # a course is one clinician starting members together: two groups may start on the
    # same tick when the pool holds more than group_size_max members
    ev = run.events
    first = (
        ev[(ev["stage"].astype(str) == "treatment") & (ev["event"].astype(str) == "begins")]
        .groupby(["replication", "client_id"], observed=True)["staff_id"]
        .first()
    )
    g = g.join(first, on=["replication", "client_id"])
    sizes = g.groupby(["replication", "treatment_start_at", "staff_id"], observed=True).size()
    assert (sizes >= step.group_size_min).all()
    if step.group_size_max is not None:
        assert (sizes <= step.group_size_max).all()
