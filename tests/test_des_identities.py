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
from hubsim.config.schema import STEP_IDS
from hubsim.des import QUEUE_STAGES
from hubsim.des.calendar import bank_holiday_set
from hubsim.des.frames import queue_intervals
from hubsim.experiment import vary

_INITIAL = pd.DataFrame(
    {
        "waited_days": np.linspace(0, 120, 150),
        "stage": ["assessment"] * 100 + ["treatment"] * 50,
    }
)


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
        res = hubsim.simulate(cfg, horizon_days=300, seed=13, initial_waiting_list=_INITIAL)
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
    steps = [x for x in area.index if x in STEP_IDS]
    assert area[["assessment", *steps]].sum() > 0


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
    for col in (
        "wait_to_first_assessment_days",
        "wait_to_first_treatment_days",
        "wait_to_second_treatment_days",
        "wait_to_first_senior_days",
    ):
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
    """No member of staff is ever double-booked (whatever the activity)."""
    sa = run.staff_activity
    assert len(sa) > 100
    for _, df in sa.groupby("staff_id", observed=True):
        s = df.sort_values("start")
        assert np.all(s["start"].to_numpy()[1:] >= s["end"].to_numpy()[:-1] - 1e-9)


def test_work_only_in_rostered_time_never_on_leave_or_bank_holidays(both):
    """Every task lies inside its member's rostered time of that activity; booked hours
    never exceed rostered hours on any day; nothing falls on a bank holiday or on the
    member's leave or sickness."""
    cfg, run = both
    from hubsim.des.simulate import run_record

    rec = run_record(cfg, horizon_days=run.meta["horizon_days"], seed=run.meta["seed"],
                     replication=0, scenario=run.meta["scenario"],
                     initial_waiting_list=_initial_of(run, cfg))
    from hubsim.des.frames import activity_frame

    act = activity_frame(rec)
    pd.testing.assert_frame_equal(act, run.staff_activity.reset_index(drop=True), check_categorical=False)
    ros = rec.rostered
    labels = rec.staff["staff_id"].tolist()
    chan = {"clinical": (0, 1), "team": (2,), "admin": (4,)}
    sid = np.array([labels.index(x) for x in act["staff_id"].astype(str)])
    for i, (s, e, ch) in enumerate(zip(act["start"], act["end"], act["channel"].astype(str), strict=True)):
        m = (ros[:, 0] == sid[i]) & np.isin(ros[:, 3], chan[ch])
        inside = (ros[m, 1] <= s + 1e-9) & (ros[m, 2] >= e - 1e-9)
        assert inside.any(), (labels[sid[i]], s, e, ch)
    # booked <= rostered per member and day (clinical time)
    day = np.floor(act["start"].to_numpy()).astype(int)
    clin = act["channel"].astype(str).to_numpy() == "clinical"
    used = pd.Series(act["hours"].to_numpy()[clin]).groupby([sid[clin], day[clin]]).sum()
    cm = np.isin(ros[:, 3], (0, 1))
    avail = pd.Series(24 * (ros[cm, 2] - ros[cm, 1])).groupby(
        [ros[cm, 0].astype(int), np.floor(ros[cm, 1]).astype(int)]
    ).sum()
    both_idx = used.index.intersection(avail.index)
    assert len(both_idx) == len(used)
    assert (used[both_idx] <= avail[both_idx] + 1e-6).all()
    start = cfg.simulation.period.start
    import datetime as dt

    hols = bank_holiday_set(start, start + dt.timedelta(days=int(run.meta["horizon_days"]) + 1))
    dates = {start + dt.timedelta(days=int(d)) for d in np.unique(day)}
    assert not (dates & hols)
    assert all(d.weekday() < 5 for d in dates)
    ab = rec.absences
    for s_, a, b, _k in ab[ab[:, 0] >= 0].tolist():
        mine = sid == int(s_)
        st = act["start"].to_numpy()[mine]
        en = act["end"].to_numpy()[mine]
        assert not np.any((st < b - 1e-9) & (en > a + 1e-9)), (labels[int(s_)], a, b)


def _initial_of(run, cfg):
    c = run.clients[(run.clients["replication"] == 0) & run.clients["from_initial_waiting_list"]]
    if not len(c):
        return None
    from hubsim.des.simulate import initial_frame

    return initial_frame(cfg, _INITIAL, run.meta["seed"], run.meta["scenario"])


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
    tr = sa[sa["stage"].isin(STEP_IDS)]
    for step, df in tr.groupby("step", observed=True):
        assert set(df["role"].astype(str)) <= set(iv.steps.get(str(step)).roles), step


def test_a_course_keeps_one_clinician_and_caseloads_are_capped(both):
    cfg, run = both
    sa = run.staff_activity
    ind = sa[sa["stage"].isin(STEP_IDS) & (sa["clients_sharing"] == 1) & (sa["client_id"] >= 0)]
    per_course = ind.groupby(["client_id", "step"], observed=True)["staff_id"].nunique()
    assert len(per_course) > 50 and (per_course == 1).all()
    for r in cfg.service.workforce.roles:
        if r.caseload_per_wte is None or r.wte == 0:
            continue
        cap = sum(max(1, round(r.caseload_per_wte * w)) for w in r.member_contracts)
        assert run.weekly[f"caseload_{r.id}"].max() <= cap, r.id
    cl = run.caseloads
    assert len(cl) and (cl["open_courses"] <= cl["caseload_cap"]).all()


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
    alloc = ev[(ev["stage"].astype(str) == "group") & (ev["event"].astype(str) == "allocated")]
    sizes = alloc.groupby(["replication", "time", "staff_id"], observed=True).size()
    assert (sizes >= step.group_size_min).all()
    if step.group_size_max is not None:
        assert (sizes <= step.group_size_max).all()
