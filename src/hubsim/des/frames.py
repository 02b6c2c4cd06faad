"""Tidy tables derived from one replication's :class:`~hubsim.des.record.RunRecord` only.

The event log (a row an event), staff activity (a row a task a member worked on, paired
from ``begins`` / ``completes``), the client table (a row a client: waits as services
report them, with censoring), weekly series (referrals, waiting-list lengths, caseloads,
rostered and used hours), waiting lists by list and week, caseloads by clinician and week,
and the vidigi / HSMA animation log. All vectorised over the record's arrays.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hubsim.config.schema import STEP_IDS
from hubsim.des.record import (
    ACTIVITIES,
    EVENTS,
    REASONS,
    STAGES,
    WAITING_LISTS,
    RunRecord,
)

EVENT_COLUMNS = [
    "replication",
    "client_id",
    "time",
    "stage",
    "event",
    "role",
    "staff_id",
    "appointment_id",
]
ACTIVITY_COLUMNS = [
    "replication",
    "staff_id",
    "role",
    "channel",
    "start",
    "end",
    "hours",
    "stage",
    "client_id",
    "step",
    "clients_sharing",
    "appointment_id",
]
VIDIGI_COLUMNS = ["entity_id", "event_type", "event", "time", "resource_id", "run"]
# NHS Talking Therapies: a referral "finished a course of treatment" when it ended having
# had at least two attended treatment appointments (calibration.md §3)
FINISHED_COURSE_MIN_SESSIONS = 2
WEEK_DAYS = 7.0
_STEP_STAGES = np.array([STAGES.index(s) for s in STEP_IDS])
_EV = {e: i for i, e in enumerate(EVENTS)}
_ST = {s: i for i, s in enumerate(STAGES)}


def _codes(codes: np.ndarray, categories) -> pd.Categorical:
    return pd.Categorical.from_codes(codes, categories=list(categories), validate=False)


def category_codes(values: pd.Series, categories) -> np.ndarray:
    """Codes of ``values`` in ``categories`` (-1 where absent), cheap for our categoricals.

    Examples
    --------
    >>> import pandas as pd
    >>> category_codes(pd.Series(["b", "a", "x"]), ["a", "b"]).tolist()
    [1, 0, -1]
    """
    dtype = values.dtype
    if isinstance(dtype, pd.CategoricalDtype) and list(dtype.categories) == list(categories):
        return values.cat.codes.to_numpy()
    # an index lookup, not pd.Categorical(values, categories): that deprecates values
    # outside the categories (pandas 3), which must stay -1 here
    return pd.Index(categories).get_indexer(values)


def _sorted_events(rec: RunRecord) -> np.ndarray:
    ev = rec.events
    return ev[np.argsort(ev[:, 1], kind="stable")]


def events_frame(rec: RunRecord) -> pd.DataFrame:
    """The event log, a row an event, in time order (ties in the order recorded)."""
    ev = _sorted_events(rec)
    staff = ev[:, 4].astype(np.int64)
    role_of = rec.staff["role"].map({r: i for i, r in enumerate(rec.meta["roles"])}).to_numpy()
    role = np.where(staff >= 0, role_of[np.maximum(staff, 0)] if len(role_of) else -1, -1)
    return pd.DataFrame(
        {
            "replication": np.full(len(ev), rec.replication, dtype=np.int64),
            "client_id": ev[:, 0].astype(np.int64),
            "time": ev[:, 1],
            "stage": _codes(ev[:, 2].astype(np.int64), STAGES),
            "event": _codes(ev[:, 3].astype(np.int64), EVENTS),
            "role": _codes(role.astype(np.int64), rec.meta["roles"]),
            "staff_id": _codes(staff, rec.staff["staff_id"]),
            "appointment_id": ev[:, 5].astype(np.int64),
        }
    )


def activity_frame(rec: RunRecord) -> pd.DataFrame:
    """Staff activity: a row an appointment or task worked (``begins`` paired with its end).

    A task still running at the horizon ends at the horizon; ``hours`` is the time worked
    before the horizon. Group sessions are one row with ``client_id`` -1 and
    ``clients_sharing`` the members who attended.
    """
    ev = rec.events
    H = rec.horizon_days
    kind = ev[:, 3]
    beg = ev[kind == _EV["begins"]]
    com = ev[kind == _EV["completes"]]
    appt = beg[:, 5].astype(np.int64)
    # one row an appointment: the first begins; its sharing count and end
    order = np.argsort(appt, kind="stable")
    appt_s = appt[order]
    first = np.ones(len(appt_s), dtype=bool)
    first[1:] = appt_s[1:] != appt_s[:-1]
    idx = order[first]
    uniq = appt_s[first]
    share = np.diff(np.append(np.flatnonzero(first), len(appt_s)))
    end_of = dict(zip(com[:, 5].astype(np.int64).tolist(), com[:, 1].tolist(), strict=False))
    rows = beg[idx]
    end = np.array([end_of.get(a, H) for a in uniq.tolist()], dtype=float)
    end = np.minimum(end, H)
    stage = rows[:, 2].astype(np.int64)
    client = np.where(share > 1, -1, rows[:, 0].astype(np.int64))
    is_step = np.isin(stage, _STEP_STAGES)
    step = np.where(is_step, stage - _STEP_STAGES[0], len(STEP_IDS))
    staff = rows[:, 4].astype(np.int64)
    role_of = rec.staff["role"].map({r: i for i, r in enumerate(rec.meta["roles"])}).to_numpy()
    channel = np.where(
        stage == _ST["team_support"],
        ACTIVITIES.index("team"),
        np.where(
            stage == _ST["processing"], ACTIVITIES.index("admin"), ACTIVITIES.index("clinical")
        ),
    )
    out = pd.DataFrame(
        {
            "replication": np.full(len(rows), rec.replication, dtype=np.int64),
            "staff_id": _codes(staff, rec.staff["staff_id"]),
            "role": _codes(role_of[staff] if len(staff) else staff, rec.meta["roles"]),
            "channel": _codes(channel.astype(np.int64), ACTIVITIES),
            "start": rows[:, 1],
            "end": end,
            "hours": 24.0 * (end - rows[:, 1]),
            "stage": _codes(stage, STAGES),
            "client_id": client,
            "step": _codes(step.astype(np.int64), [*STEP_IDS, ""]),
            "clients_sharing": share.astype(np.int64),
            "appointment_id": uniq,
        }
    )
    return out.sort_values(["start", "appointment_id"], kind="stable").reset_index(drop=True)


def _first_time(n, client, time, mask, k=1):
    """Per client, the time of the k-th event in ``mask`` (NaN where fewer)."""
    out = np.full(n, np.nan)
    c, t = client[mask], time[mask]
    if not len(c):
        return out
    order = np.lexsort((t, c))
    c, t = c[order], t[order]
    start = np.ones(len(c), dtype=bool)
    start[1:] = c[1:] != c[:-1]
    first_pos = np.flatnonzero(start)
    run_id = np.cumsum(start) - 1
    rank = np.arange(len(c)) - first_pos[run_id]
    sel = rank == k - 1
    out[c[sel]] = t[sel]
    return out


def _count(n, client, mask):
    c = client[mask]
    return np.bincount(c[c >= 0], minlength=n)[:n] if n else np.zeros(0, dtype=np.int64)


def _masked_float(values, missing):
    return pd.arrays.FloatingArray(np.asarray(values, dtype=np.float64), missing.copy())


def _masked_bool(values, missing):
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool) & ~missing, missing.copy())


_DROPPED = tuple(
    REASONS.index(r) for r in ("dropped_out_waiting", "dropped_out_treatment", "dna_discharge")
)
_WITH_OUTCOME = tuple(
    REASONS.index(r)
    for r in (
        "dropped_out_waiting",
        "onward_referred",
        "completed",
        "dropped_out_treatment",
        "dna_discharge",
    )
)
_NEEDED = np.array(["self_help", "low_intensity", "step3", "step4", None], dtype=object)
WAITS: dict[str, str] = {
    "wait_to_first_assessment": (
        "referral to the first assessment appointment attended (short or in-depth), among "
        "clients placed on the assessment list; still waiting at the horizon or leaving the "
        "list unseen (reneging): censored"
    ),
    "wait_to_first_treatment": (
        "referral to the first treatment appointment attended (any in-house step), among "
        "clients placed on a treatment waiting list; still waiting at the horizon or leaving "
        "the list untreated: censored"
    ),
    "wait_to_second_treatment": (
        "referral to the second treatment appointment attended (NHS Talking Therapies' "
        "'entering treatment'), among clients placed on a treatment waiting list; not yet "
        "at a second appointment at the horizon, or leaving before it: censored"
    ),
}


def client_waits(rec: RunRecord, ev: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The one definition of each wait (:data:`WAITS`), per client.

    Returns, for each wait ``w``, ``w + "_days"`` (time to the event, or to censoring; NaN
    outside the population) and ``w + "_observed"`` (the event happened), plus the event
    times (``first_assessment_at``, ``first_treatment_at``, ``second_treatment_at``) and,
    per waiting list, ``list_<name>_days`` / ``_observed`` for each client's first stay.
    """
    n = rec.n_clients
    H = rec.horizon_days
    ev = rec.events if ev is None else ev
    client = ev[:, 0].astype(np.int64)
    t = ev[:, 1]
    stage = ev[:, 2].astype(np.int64)
    kind = ev[:, 3].astype(np.int64)
    ref = rec.clients["referred_at"]
    reason = rec.clients["reason"]
    ok = client >= 0
    begins = ok & (kind == _EV["begins"])
    assess = begins & ((stage == _ST["assessment"]) | (stage == _ST["in_depth_assessment"]))
    treat = begins & np.isin(stage, _STEP_STAGES)
    joined = ok & (kind == _EV["wait_begins"])
    out: dict[str, np.ndarray] = {}
    first_a = _first_time(n, client, t, assess)
    first_t = _first_time(n, client, t, treat)
    second_t = _first_time(n, client, t, treat, k=2)
    joined_a = _first_time(n, client, t, joined & (stage == _ST["assessment"]))
    joined_a = np.where(
        np.isnan(joined_a),
        _first_time(n, client, t, joined & (stage == _ST["in_depth_assessment"])),
        joined_a,
    )
    joined_t = _first_time(n, client, t, joined & np.isin(stage, _STEP_STAGES))
    ended = _first_time(
        n, client, t, ok & np.isin(kind, [_EV["discharged"], _EV["onward_referred"]])
    )
    out["first_assessment_at"] = first_a
    out["first_treatment_at"] = first_t
    out["second_treatment_at"] = second_t
    for name, joined_at, event_at in (
        ("wait_to_first_assessment", joined_a, first_a),
        ("wait_to_first_treatment", joined_t, first_t),
        ("wait_to_second_treatment", joined_t, second_t),
    ):
        pop = ~np.isnan(joined_at)
        observed = pop & ~np.isnan(event_at)
        stop = np.where(np.isnan(ended), H, ended)
        days = np.where(observed, event_at - ref, np.where(pop, stop - ref, np.nan))
        out[f"{name}_days"] = days
        out[f"{name}_observed"] = observed
    for name in WAITING_LISTS:
        code = _ST[name]
        b = _first_time(n, client, t, joined & (stage == code))
        e = _first_time(n, client, t, ok & (kind == _EV["wait_ends"]) & (stage == code))
        pop = ~np.isnan(b)
        work = _first_time(n, client, t, ok & (kind == _EV["begins"]) & (stage == code))
        if name in ("assessment", "in_depth_assessment"):
            # the assessment list's work is the first assessment, short or in-depth
            work = np.fmin(work, _first_time(n, client, t, assess))
        observed = pop & ~np.isnan(e) & (np.abs(work - e) < 1e-9)
        days = np.where(pop, np.where(np.isnan(e), H, e) - b, np.nan)
        out[f"list_{name}_days"] = days
        out[f"list_{name}_observed"] = observed
    del reason
    return out


def clients_frame(rec: RunRecord, ev: np.ndarray | None = None) -> pd.DataFrame:
    """A row a client: group, scores, pathway, waits (with censoring), sessions, outcome, cost."""
    from hubsim.measures import iapt_caseness, recovery, reliable_improvement

    n = rec.n_clients
    H = rec.horizon_days
    cl = rec.clients
    ev = rec.events if ev is None else ev
    client = ev[:, 0].astype(np.int64)
    t = ev[:, 1]
    stage = ev[:, 2].astype(np.int64)
    kind = ev[:, 3].astype(np.int64)
    ok = client >= 0
    reason = cl["reason"]
    censored = reason < 0
    ref = cl["referred_at"]
    w = client_waits(rec, ev)
    screened = _first_time(n, client, t, ok & (kind == _EV["screened"]))
    deep = _first_time(
        n, client, t, ok & (kind == _EV["begins"]) & (stage == _ST["in_depth_assessment"])
    )
    allocated = _first_time(n, client, t, ok & (kind == _EV["allocated"]))
    disc = _first_time(
        n, client, t, ok & np.isin(kind, [_EV["discharged"], _EV["onward_referred"]])
    )
    flagged = _first_time(n, client, t, ok & (kind == _EV["risk_flagged"]))
    duty_seen = _first_time(n, client, t, ok & (kind == _EV["begins"]) & (stage == _ST["duty"]))
    treat_mask = ok & (kind == _EV["begins"]) & np.isin(stage, _STEP_STAGES)
    sessions = _count(n, client, treat_mask)
    dna = _count(n, client, ok & (kind == _EV["dna"]))
    # senior contact: the first attended appointment with a qualified member of staff
    qual = rec.staff["qualified"].to_numpy(dtype=bool)
    staff = ev[:, 4].astype(np.int64)
    senior_mask = ok & (kind == _EV["begins"]) & (staff >= 0)
    senior_mask[senior_mask] &= qual[staff[senior_mask]]
    senior = _first_time(n, client, t, senior_mask)
    # steps received: steps with an attended session, in order of their first session
    steps_rx = [""] * n
    if treat_mask.any():
        cc, tt, ss = client[treat_mask], t[treat_mask], stage[treat_mask]
        order = np.lexsort((tt, cc))
        seen: dict[int, list[str]] = {}
        for c, s in zip(cc[order].tolist(), ss[order].tolist(), strict=True):
            lst = seen.setdefault(c, [])
            name = STAGES[s]
            if not lst or lst[-1] != name:
                if name not in lst:
                    lst.append(name)
        for c, lst in seen.items():
            steps_rx[c] = ">".join(lst)
    dest = cl["destination"]
    in_house = sessions > 0
    pathway = np.where(
        dest >= 0,
        "onward",
        np.where(
            in_house,
            "in_house",
            np.where(~np.isnan(w["first_assessment_at"]), "assessment_only", "none"),
        ),
    )
    # risk seen the same working day (the duty hold is on the day of the flag)
    same_day = np.full(n, np.nan)
    hit = ~np.isnan(flagged)
    if hit.any():
        close = _close_of_day(rec, flagged[hit])
        seen_t = duty_seen[hit]
        val = np.where(
            np.isnan(seen_t),
            np.where(H >= close, 0.0, np.nan),
            (seen_t <= close + 1e-12).astype(float),
        )
        same_day[hit] = val
    # direct cost: hours of each attended appointment x the member's hourly cost, shared
    act = activity_frame(rec)
    cost = np.zeros(n)
    if len(act):
        rate = rec.staff["cost_per_hour"].to_numpy()[
            category_codes(act["staff_id"], rec.staff["staff_id"])
        ]
        per = act["hours"].to_numpy() * rate / act["clients_sharing"].to_numpy()
        single = act["client_id"].to_numpy() >= 0
        np.add.at(cost, act["client_id"].to_numpy()[single], per[single])
        grp = ~single
        if grp.any():
            ga = dict(
                zip(act["appointment_id"].to_numpy()[grp].tolist(), per[grp].tolist(), strict=True)
            )
            gm = ok & (kind == _EV["begins"]) & np.isin(ev[:, 5].astype(np.int64), list(ga))
            for c, a in zip(client[gm].tolist(), ev[gm, 5].astype(np.int64).tolist(), strict=True):
                cost[c] += ga[a]
    groups = rec.meta["groups"]
    reasons = np.array([*REASONS, None], dtype=object)[np.where(censored, len(REASONS), reason)]
    dest_names = np.array([*rec.meta["destinations"], None], dtype=object)[
        np.where(dest >= 0, dest, len(rec.meta["destinations"]))
    ]
    need = cl["needed_step"]
    cols: dict[str, object] = {
        "replication": np.full(n, rec.replication, dtype=np.int64),
        "client_id": np.arange(n, dtype=np.int64),
        "occupational_group": pd.Categorical.from_codes(
            cl["group"], categories=groups, validate=False
        ),
        "arrival_layer": cl["layer"],
        "arrival_index": cl["index"],
        "from_initial_waiting_list": cl["initial"],
        "referred_at": ref,
        "screened_at": screened,
        "first_assessment_at": w["first_assessment_at"],
        "in_depth_assessment_at": deep,
        "allocated_at": allocated,
        "first_treatment_at": w["first_treatment_at"],
        "second_treatment_at": w["second_treatment_at"],
        "discharged_at": disc,
    }
    for name in WAITS:
        cols[f"{name}_days"] = w[f"{name}_days"]
        cols[f"{name}_observed"] = w[f"{name}_observed"]
    cols.update(
        {
            "first_senior_contact_at": senior,
            "wait_to_first_senior_days": senior - ref,
            "risk_flag": hit,
            "duty_seen_at": duty_seen,
            "duty_same_working_day": _masked_bool(same_day == 1.0, np.isnan(same_day)),
            "needed_step": _NEEDED[np.where(need >= 0, need, 4)],
            "pathway": pathway,
            "steps_received": np.array(steps_rx, dtype=object),
            "sessions_attended": sessions.astype(np.int64),
            "dna_count": dna.astype(np.int64),
            "completed_course": cl["completed_course"],
            "finished_course": (~censored) & (sessions >= FINISHED_COURSE_MIN_SESSIONS),
            "dropped_out": np.isin(reason, _DROPPED),
            "discharge_reason": reasons,
            "onward_destination": dest_names,
            "external_wait_days": cl["external_wait"],
            "external_treated": cl["external_treated"],
            "censored": censored,
            "cost_gbp": cost,
        }
    )
    for name in WAITING_LISTS:
        cols[f"list_{name}_days"] = w[f"list_{name}_days"]
        cols[f"list_{name}_observed"] = w[f"list_{name}_observed"]
    pre, post = cl["pre"], cl["post"]
    seen = ~np.isnan(screened)
    has_outcome = (~censored) & seen & np.isin(reason, _WITH_OUTCOME)
    both = seen & has_outcome
    if n and "phq9" in pre and "gad7" in pre:
        p0, g0 = pre["phq9"].to_numpy(), pre["gad7"].to_numpy()
        p1, g1 = post["phq9"].to_numpy(), post["gad7"].to_numpy()
        case = np.asarray(iapt_caseness(p0, g0), dtype=bool)
        rec_ = np.asarray(
            recovery(phq9_pre=p0, phq9_post=p1, gad7_pre=g0, gad7_post=g1), dtype=bool
        )
        ri = np.asarray(
            reliable_improvement(phq9_pre=p0, phq9_post=p1, gad7_pre=g0, gad7_post=g1), dtype=bool
        )
        cols["case_at_screening"] = _masked_bool(case, ~seen)
        cols["recovered"] = _masked_bool(rec_, ~(both & case))
        cols["reliably_improved"] = _masked_bool(ri, ~both)
    else:
        for col in ("case_at_screening", "recovered", "reliably_improved"):
            cols[col] = _masked_bool(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    for col in pre.columns:
        cols[f"{col}_pre"] = _masked_float(pre[col].to_numpy(), ~seen)
    for col in post.columns:
        cols[f"{col}_post"] = _masked_float(post[col].to_numpy(), ~has_outcome)
    return pd.DataFrame(cols)


def _close_of_day(rec: RunRecord, t: np.ndarray) -> np.ndarray:
    """End of the working day on which something flagged at ``t`` is first handled: the end
    of the duty-role members' rostered time that day (the day itself if none)."""
    day = np.floor(t)
    ros = rec.rostered
    clin = ros[np.isin(ros[:, 3], [0, 1])]
    if not len(clin):
        return day + 1.0
    ends_by_day: dict[int, float] = {}
    for s, e in zip(clin[:, 1].tolist(), clin[:, 2].tolist(), strict=True):
        d = math.floor(s)
        if e > ends_by_day.get(d, -1.0):
            ends_by_day[d] = e
    days = np.array(sorted(ends_by_day))
    out = np.empty(len(t))
    for i, (tt, d) in enumerate(zip(t.tolist(), day.tolist(), strict=True)):
        k = int(np.searchsorted(days, d))
        # the first working day whose rostered time has not ended by t
        while k < len(days) and ends_by_day[int(days[k])] <= tt:
            k += 1
        out[i] = ends_by_day[int(days[k])] if k < len(days) else d + 1.0
    return out


# cells of one (weeks x intervals) block in the overlap sums (bounds temporary memory)
_BLOCK_CELLS = 1 << 21


def _overlap_by_week(a, b, edges, weight=None):
    """Total overlap of the intervals [a, b) with each bin [edges[k], edges[k+1])."""
    n_bins = len(edges) - 1
    out = np.zeros(n_bins)
    if n_bins == 0 or not len(a):
        return out
    step = max(1, _BLOCK_CELLS // max(len(a), 1))
    lo_all, hi_all = edges[:-1, None], edges[1:, None]
    for k in range(0, n_bins, step):
        lo, hi = lo_all[k : k + step], hi_all[k : k + step]
        ov = np.clip(np.minimum(b[None, :], hi) - np.maximum(a[None, :], lo), 0.0, None)
        if weight is not None:
            ov = weight[None, :] * ov
        out[k : k + step] = ov.sum(axis=1)
    return out


def list_spans(ev: np.ndarray, horizon: float) -> dict[int, tuple[np.ndarray, ...]]:
    """Stage code -> (begin, end, client) of every stay on that waiting list (end capped at the
    horizon): each ``wait_begins`` paired with the client's next ``wait_ends`` there."""
    kind = ev[:, 3]
    keep = (kind == _EV["wait_begins"]) | (kind == _EV["wait_ends"])
    sub = ev[keep]
    out = {}
    for code in np.unique(sub[:, 2]).astype(np.int64).tolist():
        m = sub[:, 2] == code
        c, t, beg = sub[m, 0], sub[m, 1], sub[m, 3] == _EV["wait_begins"]
        order = np.lexsort((~beg, t, c))
        c, t, beg = c[order], t[order], beg[order]
        idx = np.flatnonzero(beg)
        nxt = idx + 1
        has_end = nxt < len(c)
        has_end[has_end] &= ~beg[nxt[has_end]] & (c[nxt[has_end]] == c[idx[has_end]])
        end = np.full(len(idx), horizon)
        end[has_end] = t[nxt[has_end]]
        out[code] = (t[idx], np.minimum(end, horizon), c[idx].astype(np.int64))
    return out


def queue_intervals(events: pd.DataFrame, horizon: float) -> pd.DataFrame:
    """Time each client spent on each waiting list: replication, stage, client_id, begin, end."""
    rows = []
    for rep, df in events.groupby("replication", sort=True):
        ev = np.column_stack(
            [
                df["client_id"].to_numpy(dtype=float),
                df["time"].to_numpy(),
                category_codes(df["stage"], STAGES).astype(float),
                category_codes(df["event"], EVENTS).astype(float),
            ]
        )
        for code, (b, e, c) in list_spans(ev, horizon).items():
            rows.append(
                pd.DataFrame(
                    {"replication": rep, "stage": STAGES[code], "client_id": c, "begin": b, "end": e}
                )
            )
    if not rows:
        return pd.DataFrame(columns=["replication", "stage", "client_id", "begin", "end"])
    return pd.concat(rows, ignore_index=True)


#: calendar dates beside day numbers where users read them: (frame, day column, date column)
DATE_COLUMNS = (
    ("weekly", "week_start_day", "week_start"),
    ("waiting_lists", "week_start_day", "week_start"),
    ("clients", "referred_at", "referred_on"),
)


def add_calendar_dates(frames: dict[str, pd.DataFrame], period_start) -> dict[str, pd.DataFrame]:
    """``frames`` with the :data:`DATE_COLUMNS` added: the date (midnight) of each day
    number, day 0 being ``period_start`` (``simulation.period.start``)."""
    start = pd.Timestamp(period_start)
    out = dict(frames)
    for name, day, date in DATE_COLUMNS:
        df = out.get(name)
        if df is not None and day in df.columns and date not in df.columns:
            days = pd.to_timedelta(df[day].to_numpy(dtype=float), unit="D")
            out[name] = df.assign(**{date: (start + days).normalize()})
    return out


def weekly_frames(rec: RunRecord, activity: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Weekly series (wide), waiting lists by list and week, caseloads by clinician and week."""
    H = rec.horizon_days
    ev = rec.events
    n_weeks = max(1, math.ceil(H / WEEK_DAYS - 1e-9))
    edges = np.minimum(np.arange(n_weeks + 1) * WEEK_DAYS, H)
    length = np.diff(edges)
    safe = np.where(length > 0, length, 1.0)
    weeks = np.arange(n_weeks, dtype=np.int64)
    cols: dict[str, object] = {
        "replication": np.full(n_weeks, rec.replication, dtype=np.int64),
        "week": weeks,
        "week_start_day": edges[:-1],
        "week_days": length,
    }
    new = rec.clients["referred_at"][~rec.clients["initial"]]
    cols["referrals"] = (
        np.histogram(new, bins=edges)[0] if len(new) else np.zeros(n_weeks, dtype=np.int64)
    )
    spans = list_spans(ev, H)
    empty = (np.empty(0), np.empty(0), np.empty(0))
    lists = []
    for name in WAITING_LISTS:
        b, e, _c = spans.get(_ST[name], empty)
        mean_len = _overlap_by_week(b, e, edges) / safe
        at_end = (
            np.array([int(((b <= x) & (e > x)).sum()) for x in edges[1:]])
            if len(b)
            else np.zeros(n_weeks, dtype=np.int64)
        )
        cols[f"queue_{name}"] = mean_len
        lists.append(
            pd.DataFrame(
                {
                    "replication": rec.replication,
                    "week": weeks,
                    "week_start_day": edges[:-1],
                    "list": name,
                    "mean_length": mean_len,
                    "length_at_week_end": at_end,
                }
            )
        )
    # caseload: courses open (allocated .. course_ends) per clinician at each week's end
    kind = ev[:, 3]
    alloc = ev[kind == _EV["allocated"]]
    ends = ev[kind == _EV["course_ends"]]
    staff_ids = rec.staff["staff_id"].tolist()
    roles = rec.staff["role"].tolist()
    cap = rec.staff["caseload_cap"].to_numpy()
    case_rows = []
    case_role = {r: np.zeros(n_weeks) for r in rec.meta["roles"]}
    a_staff = alloc[:, 4].astype(np.int64)
    e_staff = ends[:, 4].astype(np.int64)
    # a group course is one allocation per member but one caseload place: count a course
    # once per (staff, allocation time)
    for sid, label in enumerate(staff_ids):
        if cap[sid] == 0:
            continue
        at = np.unique(alloc[a_staff == sid, 1])
        et = np.sort(ends[e_staff == sid, 1])
        et_u = _course_end_times(ends[e_staff == sid])
        opened = np.searchsorted(at, edges[1:], side="right")
        closed = np.searchsorted(et_u, edges[1:], side="right")
        open_n = (opened - closed).astype(np.int64)
        del et
        case_role[roles[sid]] += open_n
        case_rows.append(
            pd.DataFrame(
                {
                    "replication": rec.replication,
                    "week": weeks,
                    "staff_id": label,
                    "role": roles[sid],
                    "open_courses": open_n,
                    "caseload_cap": cap[sid],
                }
            )
        )
    # rostered (available) and used clinical hours by role
    ros = rec.rostered
    clin = np.isin(ros[:, 3], [ACTIVITIES.index("clinical"), ACTIVITIES.index("duty")])
    role_index = {r: i for i, r in enumerate(rec.meta["roles"])}
    member_role = np.array([role_index[r] for r in roles], dtype=np.int64)
    act_clin = activity["channel"].astype(str).to_numpy() == "clinical"
    a_start = activity["start"].to_numpy()[act_clin]
    a_end = activity["end"].to_numpy()[act_clin]
    a_role = category_codes(activity["role"], rec.meta["roles"])[act_clin]
    for ri, rid in enumerate(rec.meta["roles"]):
        m = (
            clin & (member_role[ros[:, 0].astype(np.int64)] == ri)
            if len(ros)
            else np.zeros(0, bool)
        )
        avail = (
            24.0 * _overlap_by_week(ros[m, 1], ros[m, 2], edges) if len(ros) else np.zeros(n_weeks)
        )
        k = a_role == ri
        used = 24.0 * _overlap_by_week(a_start[k], a_end[k], edges)
        cols[f"caseload_{rid}"] = case_role[rid]
        cols[f"hours_used_{rid}"] = used
        cols[f"hours_available_{rid}"] = avail
        with np.errstate(invalid="ignore", divide="ignore"):
            cols[f"utilisation_{rid}"] = np.where(avail > 0, used / avail, np.nan)
    return {
        "weekly": pd.DataFrame(cols),
        "waiting_lists": pd.concat(lists, ignore_index=True),
        "caseloads": (
            pd.concat(case_rows, ignore_index=True)
            if case_rows
            else pd.DataFrame(
                columns=["replication", "week", "staff_id", "role", "open_courses", "caseload_cap"]
            )
        ),
    }


def _course_end_times(ends: np.ndarray) -> np.ndarray:
    """End times of courses: a group course ends for all its members at one moment."""
    if not len(ends):
        return np.empty(0)
    return np.sort(np.unique(ends[:, 1]))


def vidigi_log(events: pd.DataFrame, run: int | None = None) -> pd.DataFrame:
    """The event log in the vidigi / HSMA schema (entity_id, event_type, event, time, resource_id, run).

    ``arrival`` and the client's terminal event are ``arrival_departure`` rows (``arrival``,
    ``depart``); joining a waiting list is a ``queue`` row (``<list>_wait_begins``), as is a
    did-not-attend (``<stage>_dna``: no resource is used); each attended appointment is a ``resource_use`` row (``<stage>_begins``)
    and a ``resource_use_end`` row (``<stage>_complete``) carrying ``resource_id``: the
    member of staff, numbered from 1 across all roles (so ids never collide between roles);
    in a group session each member sits in their own seat, numbered after the staff.
    ``run`` selects one replication.
    """
    ev = events if run is None else events[events["replication"] == run]
    kind = category_codes(ev["event"], EVENTS)
    stage = category_codes(ev["stage"], STAGES)
    client = ev["client_id"].to_numpy()
    keep_client = client >= 0
    stage_names = np.array(STAGES, dtype=object)[stage]
    is_arr = kind == _EV["arrival"]
    is_term = np.isin(kind, [_EV["discharged"], _EV["onward_referred"]])
    is_q = kind == _EV["wait_begins"]
    is_dna = kind == _EV["dna"]
    is_b = kind == _EV["begins"]
    is_c = kind == _EV["completes"]
    event_type = np.select(
        [is_arr, is_term, is_q, is_dna, is_b, is_c],
        [
            "arrival_departure",
            "arrival_departure",
            "queue",
            "queue",
            "resource_use",
            "resource_use_end",
        ],
        default="",
    ).astype(object)
    name = np.select(
        [is_arr, is_term, is_q, is_dna, is_b, is_c],
        [
            np.full(len(ev), "arrival", dtype=object),
            np.full(len(ev), "depart", dtype=object),
            stage_names + "_wait_begins",
            stage_names + "_dna",
            stage_names + "_begins",
            stage_names + "_complete",
        ],
        default="",
    ).astype(object)
    staff = category_codes(ev["staff_id"], list(ev["staff_id"].cat.categories))
    n_staff = len(ev["staff_id"].cat.categories)
    res = np.where(staff >= 0, staff + 1, 0).astype(np.int64)
    # group sessions: appointments with several clients -> seats after the staff ids
    appt = ev["appointment_id"].to_numpy()
    use = is_b & keep_client
    if use.any():
        a_use = appt[use]
        uniq, counts = np.unique(a_use, return_counts=True)
        shared = set(uniq[counts > 1].tolist())
        if shared:
            seat_of: dict[tuple[int, int], int] = {}
            next_seat: dict[int, int] = {}
            rep = ev["replication"].to_numpy()
            for i in np.flatnonzero((is_b | is_c) & np.isin(appt, list(shared))).tolist():
                key = (int(appt[i]), int(client[i]))
                if key not in seat_of:
                    s = next_seat.get(int(appt[i]), 0)
                    next_seat[int(appt[i])] = s + 1
                    seat_of[key] = s
                res[i] = n_staff + 1 + int(staff[i]) * 64 + seat_of[key]
            del rep
    keep = (event_type != "") & keep_client
    out = pd.DataFrame(
        {
            "entity_id": client[keep],
            "event_type": event_type[keep],
            "event": name[keep],
            "time": ev["time"].to_numpy()[keep],
            "resource_id": pd.array(np.where(res[keep] > 0, res[keep], 0), dtype="Int64"),
            "run": ev["replication"].to_numpy()[keep],
        }
    )
    resource = np.isin(out["event_type"].to_numpy(), ["resource_use", "resource_use_end"])
    out.loc[~resource, "resource_id"] = pd.NA
    return out[VIDIGI_COLUMNS]
