"""Rostered staff, booked diaries, waiting lists and stable streams (issues 8 and 9)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import hubsim
from hubsim.des.calendar import bank_holidays, easter_sunday
from hubsim.des.demand import arrivals
from hubsim.des.simulate import run_record
from hubsim.des.staff import members, roster
from hubsim.experiment import vary

from .conftest import CONFIGS, SITES


@pytest.fixture(scope="module")
def site_d():
    return hubsim.load_config(SITES["d"])


@pytest.fixture(scope="module")
def mmc():
    return hubsim.load_config(CONFIGS / "validation/mmc.yaml")


# ------------------------------------------------------------------ calendar
def test_easter_matches_dateutil():
    from dateutil.easter import easter

    for y in range(1978, 2200):
        assert easter_sunday(y) == easter(y), y


def test_bank_holidays_known_years():
    """gov.uk's published dates, including substitute days and the one-off changes."""
    d = dt.date
    assert sorted(bank_holidays(2020)) == [
        d(2020, 1, 1), d(2020, 4, 10), d(2020, 4, 13), d(2020, 5, 8), d(2020, 5, 25),
        d(2020, 8, 31), d(2020, 12, 25), d(2020, 12, 28),
    ]  # fmt: skip
    assert sorted(bank_holidays(2021)) == [
        d(2021, 1, 1), d(2021, 4, 2), d(2021, 4, 5), d(2021, 5, 3), d(2021, 5, 31),
        d(2021, 8, 30), d(2021, 12, 27), d(2021, 12, 28),
    ]  # fmt: skip
    assert sorted(bank_holidays(2022)) == [
        d(2022, 1, 3), d(2022, 4, 15), d(2022, 4, 18), d(2022, 5, 2), d(2022, 6, 2),
        d(2022, 6, 3), d(2022, 8, 29), d(2022, 9, 19), d(2022, 12, 26), d(2022, 12, 27),
    ]  # fmt: skip
    assert sorted(bank_holidays(2023)) == [
        d(2023, 1, 2), d(2023, 4, 7), d(2023, 4, 10), d(2023, 5, 1), d(2023, 5, 8),
        d(2023, 5, 29), d(2023, 8, 28), d(2023, 12, 25), d(2023, 12, 26),
    ]  # fmt: skip
    # any later year: eight days, all weekdays
    for y in range(2024, 2101):
        hol = bank_holidays(y)
        assert len(hol) == 8 and all(x.weekday() < 5 for x in hol), y


# ------------------------------------------------------------------ staff
def test_members_from_wte_and_contracts(site_d):
    th = [m.wte for m in members(site_d) if m.role_id == "therapists"]
    assert th == [1.0] * 5 + [0.4]
    cfg = vary(site_d, {"service.workforce.roles[therapists].contracts": [0.8, 0.8, 0.8, 1.0, 1.0, 1.0]})
    assert [m.wte for m in members(cfg) if m.role_id == "therapists"] == [0.8, 0.8, 0.8, 1.0, 1.0, 1.0]
    with pytest.raises(Exception, match="summing to the role's wte"):
        vary(site_d, {"service.workforce.roles[therapists].contracts": [1.0, 1.0]})


def test_rostered_clinical_hours_follow_the_job_plan(site_d):
    """A full-time therapist's weekly clinical time is 37.5 x 0.60 / (1 - 0.13) hours when
    present; over a year, leave and bank holidays take the job plan's leave share."""
    cfg = vary(site_d, {"simulation.staff_time.sickness": None})
    staff = members(cfg)
    ros = roster(cfg, staff, 364, seed=1, scenario="x", replication=0)
    m = next(s for s in staff if s.role_id == "therapists")
    week = sum(e - s for d, s, e, c in m.weekly if c == 0)
    assert week == pytest.approx(37.5 * 0.60 / 0.87, rel=1e-9)
    year = 24 * sum(e - s for s, e in ros.blocks[m.sid][0] + ros.blocks[m.sid][1])
    # present days: 52 weeks x 5, less bank holidays and 27 leave days
    start = cfg.simulation.period.start
    hol = sum(1 for k in range(364) if (start + dt.timedelta(days=k)) in
              {h for y in (start.year, start.year + 1) for h in bank_holidays(y)}
              and (start + dt.timedelta(days=k)).weekday() < 5)
    present = 260 - hol - 27
    # (leave weeks that hold a bank holiday or run past the year move a day or two)
    assert year == pytest.approx(present * week / 5, rel=0.01)


# ------------------------------------------------------------------ stable streams
def _arr(cfg, h, seed=3):
    return arrivals(cfg, h, seed=seed, scenario="common", replication=0)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(t=st.floats(30, 300), extra=st.floats(1, 200), m=st.floats(1.1, 3.0))
def test_arrivals_before_t_survive_longer_horizons_and_later_surges(site_d, t, extra, m):
    h = t + extra
    a = _arr(site_d, t)
    b = _arr(site_d, h)
    keep = b.time < t
    np.testing.assert_array_equal(a.time, b.time[keep])
    np.testing.assert_array_equal(a.index, b.index[keep])
    start = site_d.simulation.period.start + dt.timedelta(days=math.ceil(t))
    surged = vary(
        site_d,
        {"simulation.demand.surges": [
            *[s.model_dump(mode="json") for s in site_d.simulation.demand.surges],
            {"name": "late", "start": start.isoformat(),
             "end": (start + dt.timedelta(days=30)).isoformat(), "multiplier": m, "source": "test"},
        ]},
    )  # fmt: skip
    c = _arr(surged, h)
    np.testing.assert_array_equal(c.time[c.time < t], a.time)


def test_client_attributes_do_not_depend_on_later_clients(site_d):
    r1 = run_record(site_d, horizon_days=200, seed=4, replication=0, scenario="common")
    r2 = run_record(site_d, horizon_days=260, seed=4, replication=0, scenario="common")
    n = r1.n_clients
    for key in ("latent0", "z0", "referred_at"):
        np.testing.assert_array_equal(r1.clients[key], r2.clients[key][:n])
    pd.testing.assert_frame_equal(r1.clients["pre"], r2.clients["pre"].iloc[:n].reset_index(drop=True))


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(g=st.integers(0, 5), rate=st.floats(0.5, 40.0))
def test_one_groups_demand_leaves_the_others_identical(site_d, g, rate):
    gid = site_d.service.target_population.groups[g].id
    other = vary(site_d, {f"service.target_population.groups[{gid}].referrals_per_1000_per_year": rate})
    a, b = _arr(site_d, 365), _arr(other, 365)
    for k in range(len(site_d.service.target_population.groups)):
        if k == g:
            continue
        np.testing.assert_array_equal(a.time[a.group == k], b.time[b.group == k])
    ra = run_record(site_d, horizon_days=120, seed=2, replication=0, scenario="common")
    rb = run_record(other, horizon_days=120, seed=2, replication=0, scenario="common")
    for k in range(6):
        if k == g:
            continue
        ma, mb = ra.clients["group"] == k, rb.clients["group"] == k
        np.testing.assert_array_equal(ra.clients["latent0"][ma], rb.clients["latent0"][mb])


def test_more_demand_keeps_every_original_client(site_d):
    """A demand multiplier above one adds a layer: the base clients are all still there."""
    more = vary(site_d, {"simulation.demand.multiplier": 1.5})
    a, b = _arr(site_d, 365), _arr(more, 365)
    base = b.layer == 0
    np.testing.assert_array_equal(a.time[a.layer == 0], b.time[base])
    assert (~base).sum() > 0.3 * base.sum()


# ------------------------------------------------------------------ queueing oracles
def _erlang_c(lam, mu, c):
    a = lam / mu
    rho = a / c
    head = sum(a**k / math.factorial(k) for k in range(c))
    tail = a**c / math.factorial(c) / (1 - rho)
    p = tail / (head + tail)
    return p, p / (c * mu - lam)


@pytest.mark.statistical
@pytest.mark.parametrize(("c", "lam", "seed"), [(1, 0.7, 5), (5, 4.5, 6)])
def test_erlang_c_other_c_and_rho(mmc, c, lam, seed):
    cfg = vary(mmc, {"service.workforce.roles[clinician].wte": float(c), "simulation.demand.multiplier": lam})
    res = hubsim.simulate(cfg, horizon_days=900, warmup_days=150, seed=seed, replications=10, workers=2)
    cl = res.clients[(res.clients["referred_at"] >= 150) & (res.clients["referred_at"] <= 800)]
    w = cl.groupby("replication")["wait_to_first_assessment_days"].mean().to_numpy()
    _p, wq = _erlang_c(lam, 1.0, c)
    se = w.std(ddof=1) / math.sqrt(len(w))
    assert abs(w.mean() - wq) <= 4 * se, (w.mean(), wq, se)


def test_rostered_mmc_serves_exactly_its_slots(mmc):
    """Overloaded, on a working week with fixed 1-hour assessments and no absences: each
    week every clinician serves exactly its rostered hours (whole slots)."""
    cfg = vary(
        mmc,
        {
            "simulation.calendar": {"kind": "working_week", "hours_per_day": 7.5,
                                    "evening_hours_per_week": 0, "source": "test"},
            "interventions.assessment.in_depth.duration_minutes": {"dist": "fixed", "value": 60},
            "simulation.demand.multiplier": 100.0,
            "simulation.period.start": "2024-01-01",
            "service.target_population.groups[everyone].opens": "2024-01-01",
        },
    )  # fmt: skip
    res = hubsim.simulate(cfg, horizon_days=28, seed=1)
    a = res.staff_activity
    a = a[a["role"] == "clinician"]
    per_week = a.groupby(np.floor(a["start"] / 7)).size()
    # 3 clinicians x 5 days x floor(7.5 h) one-hour slots in each of the four weeks (the
    # validation hub has no bank holidays or leave)
    assert per_week.tolist() == [3 * 5 * 7] * 4


# ------------------------------------------------------------------ waiting lists
@pytest.fixture(scope="module")
def site_d_busy(site_d):
    out = {}
    for cap in (4, 20, 10**6):
        cfg = vary(site_d, {"simulation.demand.multiplier": 2.0,
                            "service.workforce.roles[therapists].caseload_per_wte": cap,
                            "service.workforce.roles[clinical_leadership].caseload_per_wte": cap})
        out[cap] = hubsim.simulate(cfg, horizon_days=365, warmup_days=120, seed=8, replications=3, workers=2)
    return out


def _list_len(res):
    wl = res.waiting_lists
    wl = wl[wl["list"].isin(["step3", "step4"]) & (wl["week"] >= 17)]
    return wl.groupby("replication")["mean_length"].mean().to_numpy() * 2


@pytest.mark.statistical
def test_therapy_waiting_list_forms_and_follows_caseload_caps(site_d_busy):
    low, mid, inf = (_list_len(site_d_busy[k]) for k in (4, 20, 10**6))
    assert mid.mean() > 5  # a waiting list for therapy forms at twice the demand
    d = low - mid
    assert d.mean() > 3 * d.std(ddof=1) / math.sqrt(len(d))  # lower caps, longer list
    # no cap: the backlog is what the diaries can hold (courses are limited by free slots,
    # not places), so the list is no longer than with the mapped cap, and staff time is used
    # at least as fully
    d2 = inf - mid
    assert d2.mean() <= 3 * d2.std(ddof=1) / math.sqrt(len(d2)) + 1e-9
    u_mid = site_d_busy[20].kpis["utilisation_therapists"].to_numpy()
    u_inf = site_d_busy[10**6].kpis["utilisation_therapists"].to_numpy()
    du = u_inf - u_mid
    assert du.mean() >= -3 * du.std(ddof=1) / math.sqrt(len(du))
    cl = site_d_busy[10**6].caseloads
    cl = cl[cl["role"].isin(["therapists", "clinical_leadership"])]
    assert (cl["open_courses"] < cl["caseload_cap"]).all()  # no place ever binds


# ------------------------------------------------------------------ censoring
@pytest.mark.oracle
def test_censored_wait_kpis_equal_lifelines(site_d):
    from lifelines import KaplanMeierFitter
    from lifelines.utils import restricted_mean_survival_time

    cfg = vary(site_d, {"simulation.demand.multiplier": 2.5})
    res = hubsim.simulate(cfg, horizon_days=240, seed=3)
    k = res.kpis.iloc[0]
    c = res.clients
    for w in ("wait_to_first_assessment", "wait_to_first_treatment", "wait_to_second_treatment"):
        sub = c[c[f"{w}_days"].notna()]
        assert (~sub[f"{w}_observed"]).sum() > 10  # censoring matters here
        km = KaplanMeierFitter().fit(sub[f"{w}_days"], sub[f"{w}_observed"])
        assert k[f"{w}_median_days"] == pytest.approx(km.percentile(0.5), abs=1e-9)
        # the curve is known up to the longest follow-up; past it (while above zero) the
        # share is not estimable and the mean is restricted to it (hubsim.des.kpis)
        follow_up = float(sub[f"{w}_days"].max())
        s_end = float(km.survival_function_.iloc[-1, 0])
        if 42.0 <= follow_up or s_end == 0.0:
            assert k[f"{w}_within_6w_share"] == pytest.approx(1 - km.predict(42.0), abs=1e-12)
        else:
            assert math.isnan(k[f"{w}_within_6w_share"])
        tau = 240.0 if s_end == 0.0 else min(240.0, follow_up)
        assert k[f"{w}_mean_days"] == pytest.approx(
            restricted_mean_survival_time(km, t=tau), rel=1e-9
        )


# ------------------------------------------------------------------ initial list, reneging
def _no_arrivals(cfg):
    return vary(cfg, {"simulation.demand.multiplier": 0.0, "simulation.staff_time.sickness": None,
                      "simulation.attendance.renege_scale_days": None})


def test_initial_list_drains_at_the_free_slot_rate(mmc):
    cfg = vary(
        _no_arrivals(mmc),
        {"interventions.assessment.in_depth.duration_minutes": {"dist": "fixed", "value": 480}},
    )
    init = pd.DataFrame({"waited_days": np.zeros(120), "stage": "assessment"})
    res = hubsim.simulate(cfg, horizon_days=10.5, seed=1, initial_waiting_list=init)
    # 3 clinicians, 8-hour assessments, around the clock: 9 a day, at times 0, 1/3, 2/3, ...
    seen = np.sort(res.clients["first_assessment_at"].dropna().to_numpy())
    assert len(seen) == 96  # starts at 0, 1/3, ..., 31/3 (three at each)
    np.testing.assert_allclose(seen, np.repeat(np.arange(32) / 3.0, 3), atol=1e-9)


def test_initial_list_in_yaml(site_d, tmp_path):
    cfg = vary(site_d, {"simulation.initial_waiting_list": {
        "counts": {"assessment": 30, "step3": 20},
        "waited_days": {"dist": "uniform", "low": 0, "high": 100}, "source": "test"}})  # fmt: skip
    res = hubsim.simulate(cfg, horizon_days=30, seed=1)
    c = res.clients[res.clients["from_initial_waiting_list"]]
    assert len(c) == 50 and (c["referred_at"] <= 0).all()
    csv = tmp_path / "list.csv"
    pd.DataFrame({"waited_days": [10, 200], "stage": ["assessment", "step4"]}).to_csv(csv, index=False)
    res2 = hubsim.simulate(site_d, horizon_days=30, seed=1, initial_waiting_list=str(csv))
    assert res2.clients["from_initial_waiting_list"].sum() == 2


@pytest.mark.statistical
@pytest.mark.parametrize("waited", [0.0, 200.0])
def test_renege_continues_from_the_days_already_waited(mmc, waited):
    """Nobody is ever seen; P(renege within x more days | waited w) =
    (F(w + x) - F(w)) / (1 - F(w)) with F(x) = x / (x + scale)."""
    scale = 120.0
    cfg = vary(
        mmc,
        {
            "simulation.demand.multiplier": 0.0,
            "service.workforce.roles[clinician].wte": 0.0,
            "service.workforce.roles[duty].wte": 1.0,
            "interventions.assessment.in_depth.roles": ["duty"],
            "interventions.steps.self_help.roles": ["duty"],
            "interventions.assessment.in_depth.duration_minutes": {"dist": "fixed", "value": 1e9},
            "simulation.attendance.renege_scale_days": scale,
        },
    )
    n, x = 4000, 60.0
    init = pd.DataFrame({"waited_days": np.full(n, waited), "stage": "assessment"})
    res = hubsim.simulate(cfg, horizon_days=x, seed=2, initial_waiting_list=init)
    c = res.clients.iloc[1:]  # the first client takes the only clinician
    left = (c["discharge_reason"] == "dropped_out_waiting").mean()
    f = lambda v: v / (v + scale)  # noqa: E731
    p = (f(waited + x) - f(waited)) / (1 - f(waited))
    assert abs(left - p) <= 4 * math.sqrt(p * (1 - p) / len(c)), (left, p)


# ------------------------------------------------------------------ event log contract
def test_event_log_pairs_and_unique_resources(site_d):
    res = hubsim.simulate(site_d, horizon_days=200, seed=5, replications=2)
    ev = res.events
    one = res.replication(1)
    assert set(one.events["replication"]) == {1}
    v = res.vidigi(run=0)
    assert set(v["run"]) == {0}
    use = v[v["event_type"] == "resource_use"]
    end = v[v["event_type"] == "resource_use_end"]
    # every resource use ends (or is still running at the horizon) and nobody shares one
    assert len(end) <= len(use) and len(use) - len(end) < 20
    spans = use.merge(end, on=["entity_id", "resource_id"], suffixes=("", "_end"))
    spans = spans[spans["time_end"] >= spans["time"]].sort_values("time_end")
    spans = spans.drop_duplicates(["entity_id", "resource_id", "time"])
    for _, df in spans.groupby("resource_id"):
        s = df.sort_values("time")
        assert np.all(s["time"].to_numpy()[1:] >= s["time_end"].to_numpy()[:-1] - 1e-9)
    # no name made of a stage that is itself a wait
    assert not v["event"].str.contains("wait_wait").any()
    # a did-not-attend uses no resource
    key = ["replication", "appointment_id", "client_id"]
    both = ev[ev["event"] == "dna"][key].merge(ev[ev["event"] == "begins"][key], on=key)
    assert len(both) == 0 and (ev["event"] == "dna").sum() > 20
    # every booking ends once at most: begins, dna or cancelled
    b = ev[ev["event"].isin(["begins", "dna", "cancelled"]) & (ev["client_id"] >= 0)]
    assert not b.duplicated(["replication", "appointment_id", "client_id"]).any()


# ------------------------------------------------------------------ monotonicity
def _paired(cfg_a, cfg_b, kpi, reps=4, horizon=365):
    a = hubsim.simulate(cfg_a, horizon_days=horizon, warmup_days=120, seed=11, replications=reps, workers=2)
    b = hubsim.simulate(cfg_b, horizon_days=horizon, warmup_days=120, seed=11, replications=reps, workers=2)
    # a Kaplan-Meier quantile the curve never reaches is longer than the KPI window: count it
    # at the window's length (so "no p90 yet" compares as the longest wait, not as missing)
    tau = horizon - 120
    d = np.nan_to_num(b.kpis[kpi].to_numpy(), nan=tau) - np.nan_to_num(a.kpis[kpi].to_numpy(), nan=tau)
    return d.mean(), d.std(ddof=1) / math.sqrt(len(d))


@pytest.mark.statistical
def test_fractional_wte_never_lengthens_waits(site_d):
    """5.0 -> 5.1 therapists at 1.5x demand (CRN): mean and p90 waits do not lengthen
    beyond 2 MCSE of the paired difference."""
    base = vary(site_d, {"service.workforce.roles[therapists].wte": 5.0, "simulation.demand.multiplier": 1.5})
    more = vary(base, {"service.workforce.roles[therapists].wte": 5.1})
    for kpi in ("wait_to_first_assessment_mean_days", "wait_to_first_treatment_mean_days",
                "wait_to_first_treatment_p90_days"):
        m, se = _paired(base, more, kpi)
        assert m <= 2 * se + 1e-9, (kpi, m, se)


# one-sided critical value for the property below: Bonferroni over the six comparisons of
# an example at 1%, on the t distribution of R - 1 = 5 degrees of freedom (2 MCSE, the
# issue's bound, would flag about 5% of steps whose true effect is zero: with dozens of
# comparisons a run would fail by chance; experiments/monotonicity_grid.py reports every
# step against 2 MCSE instead)
_T_CRIT = 5.25  # scipy.stats.t.ppf(1 - 0.01 / 6, 5)


@pytest.mark.slow
@pytest.mark.statistical
@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each example is minutes of runs
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    site=st.sampled_from("abcd"),
    role=st.sampled_from(["therapists", "clinical_leadership", "low_intensity"]),
    delta=st.sampled_from([0.1, 0.2, 0.5, 1.0]),
    demand=st.sampled_from([1.0, 1.5, 2.0]),
)
def test_monotone_in_staff_and_demand(site, role, delta, demand):
    """CRN property: more WTE of any role never lengthens, more demand never shortens the
    mean or p90 waits, beyond the multiplicity-corrected bound above (6 paired reps)."""
    cfg = vary(hubsim.load_config(SITES[site]), {"simulation.demand.multiplier": demand})
    w = cfg.service.workforce.role(role).wte
    if w == 0:
        return
    more = vary(cfg, {f"service.workforce.roles[{role}].wte": round(w + delta, 4)})
    busier = vary(cfg, {"simulation.demand.multiplier": demand * 1.25})
    for kpi in ("wait_to_first_assessment_mean_days", "wait_to_first_treatment_mean_days",
                "wait_to_first_treatment_p90_days"):
        m, se = _paired(cfg, more, kpi, reps=6)
        assert m <= _T_CRIT * se + 1e-9, (site, role, delta, demand, kpi, m, se)
        m, se = _paired(cfg, busier, kpi, reps=6)
        assert m >= -_T_CRIT * se - 1e-9, (site, demand, kpi, m, se)


# ------------------------------------------------------------------ absences and priorities
@pytest.mark.parametrize("policy", ["move", "cancel"])
def test_sickness_cancels_and_moves_booked_work(site_d, policy):
    cfg = vary(site_d, {"simulation.staff_time.sickness": {"share": 0.2, "mean_spell_days": 5,
                                                           "source": "test"},
                        "simulation.booking.on_staff_absence": policy})  # fmt: skip
    rec = run_record(cfg, horizon_days=240, seed=6, replication=0, scenario="common")
    from hubsim.des.frames import activity_frame
    from hubsim.des.record import EVENTS

    act = activity_frame(rec)
    sick = rec.absences[rec.absences[:, 3] == 3]
    assert len(sick) > 10
    labels = rec.staff["staff_id"].tolist()
    sid = np.array([labels.index(x) for x in act["staff_id"].astype(str)])
    for s_, a, b, _k in sick.tolist():
        m = sid == int(s_)
        st_, en = act["start"].to_numpy()[m], act["end"].to_numpy()[m]
        assert not np.any((st_ < b - 1e-9) & (en > a + 1e-9))
    cancelled = rec.events[rec.events[:, 3] == EVENTS.index("cancelled")]
    assert len(cancelled) > 0 and (cancelled[:, 4] >= 0).all()


def test_priorities_decide_who_gets_new_diary_time(site_d):
    """Assessments before booked sessions: the assessment wait shortens, and it is now
    sessions, not assessments, that are moved to make room (same clients, CRN)."""
    busy = vary(site_d, {"simulation.demand.multiplier": 2.0})
    alt = vary(busy, {"simulation.booking.priorities": ["risk", "assessments", "sessions", "new_courses"]})
    a = hubsim.simulate(busy, horizon_days=300, seed=4, replications=2)
    b = hubsim.simulate(alt, horizon_days=300, seed=4, replications=2)
    assert (b.kpis["wait_to_first_assessment_mean_days"] < a.kpis["wait_to_first_assessment_mean_days"]).all()

    def moved(res):
        ev = res.events[res.events["event"] == "cancelled"]
        steps = ev["stage"].astype(str).isin(["self_help", "step3", "step4"]).sum()
        assess = ev["stage"].astype(str).isin(["assessment", "in_depth_assessment"]).sum()
        return steps, assess

    (sa, aa), (sb, ab) = moved(a), moved(b)
    assert aa > ab and sb > sa, (sa, aa, sb, ab)
