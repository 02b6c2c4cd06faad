"""Tidy tables derived from one replication's records (event log, busy intervals, clients).

All work here is vectorised over arrays; the kernel only appends tuples.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hubsim.config.schema import STEP_IDS
from hubsim.des.model import CHANNELS, EVENTS, QUEUE_STAGES, REASONS, STAGES, HubModel

EVENT_COLUMNS = ["replication", "client_id", "time", "stage", "event", "role", "staff_id"]
BUSY_COLUMNS = [
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
]
CLIENT_COLUMNS = [
    "replication",
    "client_id",
    "occupational_group",
    "from_initial_waiting_list",
    "referred_at",
    "screened_at",
    "first_assessment_at",
    "in_depth_assessment_at",
    "treatment_start_at",
    "discharged_at",
    "wait_to_assessment_days",
    "wait_to_treatment_days",
    "first_senior_contact_at",
    "wait_to_first_senior_days",
    "risk_flag",
    "duty_seen_at",
    "duty_same_working_day",
    "needed_step",
    "pathway",
    "steps_received",
    "sessions_attended",
    "dna_count",
    "completed_course",
    "dropped_out",
    "discharge_reason",
    "onward_destination",
    "external_wait_days",
    "external_treated",
    "censored",
    "cost_gbp",
    "case_at_screening",
    "recovered",
    "reliably_improved",
]
VIDIGI_COLUMNS = ["entity_id", "event_type", "event", "time", "resource_id", "run"]
WEEK_DAYS = 7.0


def _measures():
    from hubsim.measures import iapt_caseness, recovery, reliable_improvement, simulate_scores

    return simulate_scores, iapt_caseness, recovery, reliable_improvement


def staff_labels(model: HubModel) -> list[str]:
    """``<role>_<k>`` for every staff member (k counts from 1 within the role)."""
    seen: dict[int, int] = {}
    out = []
    for r in model.staff_role:
        seen[r] = seen.get(r, 0) + 1
        out.append(f"{model.role_ids[r]}_{seen[r]}")
    return out


def events_frame(model: HubModel) -> pd.DataFrame:
    """The event log, a row an event, in time order."""
    rep = model.rep
    if not model.events:
        return pd.DataFrame(
            {
                "replication": pd.Series([], dtype=np.int64),
                "client_id": pd.Series([], dtype=np.int64),
                "time": pd.Series([], dtype=float),
                "stage": pd.Categorical([], categories=STAGES),
                "event": pd.Categorical([], categories=EVENTS),
                "role": pd.Categorical([], categories=model.role_ids),
                "staff_id": pd.Categorical([], categories=staff_labels(model)),
            }
        )
    arr = np.array(model.events, dtype=float)
    order = np.argsort(arr[:, 1], kind="stable")
    arr = arr[order]
    role = arr[:, 4].astype(np.int64)
    staff = arr[:, 5].astype(np.int64)
    return pd.DataFrame(
        {
            "replication": np.full(len(arr), rep, dtype=np.int64),
            "client_id": arr[:, 0].astype(np.int64),
            "time": arr[:, 1],
            "stage": pd.Categorical.from_codes(arr[:, 2].astype(np.int64), categories=STAGES),
            "event": pd.Categorical.from_codes(arr[:, 3].astype(np.int64), categories=EVENTS),
            "role": pd.Categorical.from_codes(role, categories=model.role_ids),
            "staff_id": pd.Categorical.from_codes(staff, categories=staff_labels(model)),
        }
    )


def busy_frame(model: HubModel) -> pd.DataFrame:
    """Staff activity: a row a task a staff member worked on (clipped to the horizon)."""
    n = len(model.busy)
    arr = np.array(model.busy, dtype=float).reshape(n, 8)
    sid = arr[:, 0].astype(np.int64)
    servers = model.servers
    staff = np.array([servers[i].staff for i in sid], dtype=np.int64)
    channel = np.array([servers[i].channel for i in sid], dtype=np.int64)
    role = np.array([servers[i].role for i in sid], dtype=np.int64)
    rate = np.array([servers[i].rate for i in sid], dtype=float)
    cal = model.cal
    start, end = arr[:, 1], arr[:, 2]
    w_h = cal.open_hours(model.H)
    ws = np.minimum(cal.open_hours_array(start), w_h)
    we = np.minimum(cal.open_hours_array(end), w_h)
    hours = rate * (we - ws)  # work done before the horizon
    step = arr[:, 6].astype(np.int64)
    step_names = np.array([*STEP_IDS, ""], dtype=object)
    return pd.DataFrame(
        {
            "replication": np.full(n, model.rep, dtype=np.int64),
            "staff_id": pd.Categorical.from_codes(staff, categories=staff_labels(model)),
            "role": pd.Categorical.from_codes(role, categories=model.role_ids),
            "channel": pd.Categorical.from_codes(channel, categories=CHANNELS),
            "start": start,
            "end": end,
            "hours": hours,
            "stage": pd.Categorical.from_codes(arr[:, 4].astype(np.int64), categories=STAGES),
            "client_id": arr[:, 5].astype(np.int64),
            "step": pd.Categorical(step_names[step], categories=[*STEP_IDS, ""]),
            "clients_sharing": arr[:, 7].astype(np.int64),
        }
    )


def _nan_array(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def clients_frame(model: HubModel) -> pd.DataFrame:
    """A row a client: group, scores, pathway, waits, sessions, outcome, cost."""
    simulate_scores, iapt_caseness, recovery, reliable_improvement = _measures()
    cfg = model.cfg
    n = model.n
    H = model.H
    group_ids = np.array([g.id for g in cfg.service.target_population.groups], dtype=object)
    reason = np.asarray(model.reason, dtype=np.int64)
    censored = reason < 0
    ref = model.ref_at
    screened = _nan_array(model.screened_at)
    first_a = _nan_array(model.first_assess_at)
    treat = _nan_array(model.treat_start_at)
    disc = _nan_array(model.discharged_at)
    senior = _nan_array(model.first_senior_at)
    duty_seen = _nan_array(model.duty_seen_at)
    flagged = _nan_array(model.duty_flag_at)
    dest = np.asarray(model.dest, dtype=np.int64)
    steps_rx = [">".join(STEP_IDS[k] for k in s) for s in model.steps_rx]
    pathway = np.where(
        dest >= 0,
        "onward",
        np.where(
            np.array([len(s) > 0 for s in model.steps_rx], dtype=bool),
            "in_house",
            np.where(~np.isnan(first_a), "assessment_only", "none"),
        ),
    )
    # same working day: seen before the close of the day the flag was first handled on
    same_day = np.full(n, np.nan)
    for c in np.flatnonzero(~np.isnan(flagged)):
        if not np.isnan(duty_seen[c]):
            same_day[c] = float(duty_seen[c] <= model.cal.end_of_working_day(flagged[c]) + 1e-12)
        elif H >= model.cal.end_of_working_day(flagged[c]):
            same_day[c] = 0.0
    reasons = np.array([*REASONS, None], dtype=object)[np.where(censored, len(REASONS), reason)]
    dropped = np.isin(
        reason,
        [
            REASONS.index(r)
            for r in ("dropped_out_waiting", "dropped_out_treatment", "dna_discharge")
        ],
    )
    dest_names = np.array([*model.dest_ids, None], dtype=object)[
        np.where(dest >= 0, dest, len(model.dest_ids))
    ]
    need = np.array([*("self_help", "low_intensity", "step3", "step4"), None], dtype=object)[
        np.where(model.need >= 0, model.need, 4)
    ]
    out = pd.DataFrame(
        {
            "replication": np.full(n, model.rep, dtype=np.int64),
            "client_id": np.arange(n, dtype=np.int64),
            "occupational_group": pd.Categorical(
                group_ids[model.groups], categories=list(group_ids)
            ),
            "from_initial_waiting_list": np.arange(n) < model.n0,
            "referred_at": ref,
            "screened_at": screened,
            "first_assessment_at": first_a,
            "in_depth_assessment_at": _nan_array(model.deep_at),
            "treatment_start_at": treat,
            "discharged_at": disc,
            "wait_to_assessment_days": first_a - ref,
            "wait_to_treatment_days": treat - ref,
            "first_senior_contact_at": senior,
            "wait_to_first_senior_days": senior - ref,
            "risk_flag": ~np.isnan(flagged),
            "duty_seen_at": duty_seen,
            "duty_same_working_day": pd.array(
                [None if math.isnan(v) else bool(v) for v in same_day], dtype="boolean"
            ),
            "needed_step": need,
            "pathway": pathway,
            "steps_received": steps_rx,
            "sessions_attended": np.asarray(model.sessions, dtype=np.int64),
            "dna_count": np.asarray(model.dna, dtype=np.int64),
            "completed_course": np.asarray(model.completed_course, dtype=bool),
            "dropped_out": dropped,
            "discharge_reason": reasons,
            "onward_destination": dest_names,
            "external_wait_days": _nan_array(model.ext_wait),
            "external_treated": np.asarray(model.ext_treated, dtype=bool),
            "censored": censored,
            "cost_gbp": np.asarray(model.cost, dtype=float),
        }
    )
    # scores at screening (observed only for those screened) and at discharge
    instruments = list(model.instruments)
    pre = model.pre.reset_index(drop=True)
    seen = ~np.isnan(screened)
    has_outcome = (
        (~censored)
        & seen
        & np.isin(
            reason,
            [
                REASONS.index(r)
                for r in (
                    "dropped_out_waiting",
                    "onward_referred",
                    "completed",
                    "dropped_out_treatment",
                    "dna_discharge",
                )
            ],
        )
    )
    post = simulate_scores(model.latent, instruments, model._stream("outcome_scores")) if n else pre
    for col in pre.columns:
        out[f"{col}_pre"] = pd.Series(pre[col].to_numpy(), dtype="Float64").where(seen)
    for col in post.columns:
        out[f"{col}_post"] = pd.Series(post[col].to_numpy(), dtype="Float64").where(has_outcome)
    both = seen & has_outcome
    if n and "phq9" in pre and "gad7" in pre:
        p0, g0 = pre["phq9"].to_numpy(), pre["gad7"].to_numpy()
        p1, g1 = post["phq9"].to_numpy(), post["gad7"].to_numpy()
        case = np.asarray(iapt_caseness(p0, g0), dtype=bool)
        rec = np.asarray(recovery(phq9_pre=p0, phq9_post=p1, gad7_pre=g0, gad7_post=g1), dtype=bool)
        ri = np.asarray(
            reliable_improvement(phq9_pre=p0, phq9_post=p1, gad7_pre=g0, gad7_post=g1), dtype=bool
        )
        out["case_at_screening"] = pd.array(np.where(seen, case, False), dtype="boolean")
        out.loc[~seen, "case_at_screening"] = pd.NA
        out["recovered"] = pd.array(rec, dtype="boolean")
        out.loc[~(both & case), "recovered"] = pd.NA
        out["reliably_improved"] = pd.array(ri, dtype="boolean")
        out.loc[~both, "reliably_improved"] = pd.NA
    else:
        for col in ("case_at_screening", "recovered", "reliably_improved"):
            out[col] = pd.array([pd.NA] * n, dtype="boolean")
    first = [c for c in CLIENT_COLUMNS if c in out]
    return out[first + [c for c in out.columns if c not in first]]


def _overlap_by_week(a: np.ndarray, b: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Length of the overlap of each interval [a, b) with each week: shape (weeks,)."""
    out = np.empty(len(edges) - 1)
    for k in range(len(edges) - 1):
        out[k] = np.clip(np.minimum(b, edges[k + 1]) - np.maximum(a, edges[k]), 0.0, None).sum()
    return out


def queue_intervals(events: pd.DataFrame, horizon: float) -> pd.DataFrame:
    """Time each client spent in each queue: stage, client_id, begin, end (end capped at the horizon).

    Pairs every ``wait_begins`` with the next ``wait_ends`` or ``reneged``-driven
    ``wait_ends`` of the same client and stage; an unmatched begin runs to the horizon.
    """
    w = events[events["event"].isin(["wait_begins", "wait_ends"])]
    rows = []
    for (stage, rep), df in w.groupby(["stage", "replication"], observed=True, sort=False):
        df = df.sort_values(["client_id", "time"], kind="stable")
        c = df["client_id"].to_numpy()
        t = df["time"].to_numpy()
        begin = (df["event"] == "wait_begins").to_numpy()
        idx = np.flatnonzero(begin)
        nxt = idx + 1
        has_end = (nxt < len(df)) & np.isin(nxt, np.flatnonzero(~begin))
        has_end[has_end] &= c[nxt[has_end]] == c[idx[has_end]]
        end = np.full(len(idx), horizon)
        end[has_end] = t[nxt[has_end]]
        rows.append(
            pd.DataFrame(
                {
                    "replication": rep,
                    "stage": stage,
                    "client_id": c[idx],
                    "begin": t[idx],
                    "end": np.minimum(end, horizon),
                }
            )
        )
    if not rows:
        return pd.DataFrame(columns=["replication", "stage", "client_id", "begin", "end"])
    return pd.concat(rows, ignore_index=True)


def weekly_frame(model: HubModel, events: pd.DataFrame, busy: pd.DataFrame) -> pd.DataFrame:
    """A row a week: referrals, mean queue length by stage, caseload, hours and utilisation by role."""
    H = model.H
    n_weeks = max(1, math.ceil(H / WEEK_DAYS - 1e-9))
    edges = np.minimum(np.arange(n_weeks + 1) * WEEK_DAYS, H)
    length = np.diff(edges)
    out = pd.DataFrame(
        {
            "replication": np.full(n_weeks, model.rep, dtype=np.int64),
            "week": np.arange(n_weeks, dtype=np.int64),
            "week_start_day": edges[:-1],
            "week_days": length,
        }
    )
    arr_t = model.ref_at[model.n0 :]
    out["referrals"] = np.histogram(arr_t, bins=edges)[0] if len(arr_t) else 0
    qi = queue_intervals(events, H)
    for stage in QUEUE_STAGES:
        q = qi[qi["stage"] == stage]
        area = _overlap_by_week(q["begin"].to_numpy(), q["end"].to_numpy(), edges)
        out[f"queue_{stage}"] = area / np.where(length > 0, length, 1.0)
    case = np.zeros((n_weeks, len(model.role_ids)))
    for week, r, k in model.caseload_log:
        if week < n_weeks:
            case[week, r] = k
    cal = model.cal
    wb = cal.open_hours_array(edges)
    clin = busy[busy["channel"] == "clinical"]
    ws = cal.open_hours_array(clin["start"].to_numpy())
    we = cal.open_hours_array(clin["end"].to_numpy())
    labels = staff_labels(model)
    srv_rate: dict[int, list[float]] = {}
    rate_of = {}
    for s in model.servers:
        if s.channel == 0:
            srv_rate.setdefault(s.role, []).append(s.rate)
            rate_of[labels[s.staff]] = s.rate
    row_rate = (
        clin["staff_id"].astype(str).map(rate_of).to_numpy(dtype=float)
        if len(clin)
        else np.empty(0)
    )
    roles = clin["role"].cat.codes.to_numpy() if len(clin) else np.empty(0, dtype=np.int64)
    for ri, rid in enumerate(model.role_ids):
        avail = sum(srv_rate.get(ri, [])) * np.diff(wb)
        m = roles == ri
        used = np.empty(n_weeks)
        for k in range(n_weeks):
            used[k] = (
                row_rate[m]
                * np.clip(np.minimum(we[m], wb[k + 1]) - np.maximum(ws[m], wb[k]), 0.0, None)
            ).sum()
        out[f"caseload_{rid}"] = case[:, ri]
        out[f"hours_used_{rid}"] = used
        out[f"hours_available_{rid}"] = avail
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"utilisation_{rid}"] = np.where(avail > 0, used / avail, np.nan)
    return out


def vidigi_log(events: pd.DataFrame) -> pd.DataFrame:
    """The event log in the vidigi / HSMA schema (entity_id, event_type, event, time, resource_id, run).

    ``arrival`` and the client's terminal event are ``arrival_departure`` rows (``arrival``,
    ``depart``); queue joins are ``queue`` rows (``<stage>_wait_begins``); activity starts
    and ends are ``resource_use`` / ``resource_use_end`` rows (``<stage>_begins``,
    ``<stage>_complete``) carrying the staff member as ``resource_id`` (1-based within role).
    """
    ev = events
    kind = ev["event"].astype(str).to_numpy()
    stage = ev["stage"].astype(str).to_numpy()
    terminal = np.isin(kind, ["discharged", "onward_referred"])
    event_type = np.select(
        [kind == "arrival", terminal, kind == "wait_begins", kind == "begins", kind == "completes"],
        ["arrival_departure", "arrival_departure", "queue", "resource_use", "resource_use_end"],
        default="",
    )
    name = np.select(
        [kind == "arrival", terminal, kind == "wait_begins", kind == "begins", kind == "completes"],
        [
            np.full(len(ev), "arrival", dtype=object),
            np.full(len(ev), "depart", dtype=object),
            np.char.add(stage.astype(str), "_wait_begins").astype(object),
            np.char.add(stage.astype(str), "_begins").astype(object),
            np.char.add(stage.astype(str), "_complete").astype(object),
        ],
        default="",
    )
    staff = ev["staff_id"].astype(str).to_numpy()
    res = np.array(
        [int(s.rsplit("_", 1)[1]) if s not in ("nan", "") else -1 for s in staff], dtype=np.int64
    )
    keep = event_type != ""
    out = pd.DataFrame(
        {
            "entity_id": ev["client_id"].to_numpy()[keep],
            "event_type": event_type[keep],
            "event": name[keep],
            "time": ev["time"].to_numpy()[keep],
            "resource_id": pd.array(np.where(res[keep] > 0, res[keep], 0), dtype="Int64"),
            "run": ev["replication"].to_numpy()[keep],
        }
    )
    out.loc[res[keep] <= 0, "resource_id"] = pd.NA
    return out
