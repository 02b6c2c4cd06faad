"""Tidy tables derived from one replication's records (event log, busy intervals, clients).

All work here is vectorised over arrays; the kernel only appends flat records. Columns are
built as numpy arrays (masked arrays for the nullable ones) and each frame is constructed
once, which keeps the tables a small part of a run's cost.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from hubsim.config.schema import STEP_IDS
from hubsim.des.model import (
    BUSY_FIELDS,
    CHANNELS,
    EVENT_FIELDS,
    EVENTS,
    QUEUE_STAGES,
    REASONS,
    STAGES,
    HubModel,
)

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
    "finished_course",
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
# NHS Talking Therapies: a referral "finished a course of treatment" when it ended having
# had at least two attended treatment appointments (calibration.md §3)
FINISHED_COURSE_MIN_SESSIONS = 2
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


def _records(flat: list, width: int) -> np.ndarray:
    """A flat record list of the kernel as an (n, width) float array."""
    return np.fromiter(flat, dtype=float, count=len(flat)).reshape(-1, width)


def _codes(codes: np.ndarray, categories) -> pd.Categorical:
    # codes come from the kernel's own indices (-1 for none), so validation is redundant
    return pd.Categorical.from_codes(codes, categories=categories, validate=False)


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
    arr = _records(model.events, len(EVENT_FIELDS))
    order = np.argsort(arr[:, 1], kind="stable")
    arr = arr[order]
    return pd.DataFrame(
        {
            "replication": np.full(len(arr), rep, dtype=np.int64),
            "client_id": arr[:, 0].astype(np.int64),
            "time": arr[:, 1],
            "stage": _codes(arr[:, 2].astype(np.int64), STAGES),
            "event": _codes(arr[:, 3].astype(np.int64), EVENTS),
            "role": _codes(arr[:, 4].astype(np.int64), model.role_ids),
            "staff_id": _codes(arr[:, 5].astype(np.int64), staff_labels(model)),
        }
    )


def busy_frame(model: HubModel) -> pd.DataFrame:
    """Staff activity: a row a task a staff member worked on (clipped to the horizon)."""
    arr = _records(model.busy, len(BUSY_FIELDS))
    n = len(arr)
    sid = arr[:, 0].astype(np.int64)
    servers = model.servers
    staff = np.array([s.staff for s in servers], dtype=np.int64)[sid]
    channel = np.array([s.channel for s in servers], dtype=np.int64)[sid]
    role = np.array([s.role for s in servers], dtype=np.int64)[sid]
    rate = np.array([s.rate for s in servers], dtype=float)[sid]
    cal = model.cal
    start, end = arr[:, 1], arr[:, 2]
    w_h = cal.open_hours(model.H)
    ws = np.minimum(cal.open_hours_array(start), w_h)
    we = np.minimum(cal.open_hours_array(end), w_h)
    hours = rate * (we - ws)  # work done before the horizon
    step = arr[:, 6].astype(np.int64)
    step_cats = [*STEP_IDS, ""]
    return pd.DataFrame(
        {
            "replication": np.full(n, model.rep, dtype=np.int64),
            "staff_id": _codes(staff, staff_labels(model)),
            "role": _codes(role, model.role_ids),
            "channel": _codes(channel, CHANNELS),
            "start": start,
            "end": end,
            "hours": hours,
            "stage": _codes(arr[:, 4].astype(np.int64), STAGES),
            "client_id": arr[:, 5].astype(np.int64),
            # -1 (no step) is the "" category, the last one
            "step": _codes(np.where(step < 0, len(STEP_IDS), step), step_cats),
            "clients_sharing": arr[:, 7].astype(np.int64),
        }
    )


def _nan_array(x) -> np.ndarray:
    return np.asarray(x, dtype=float)


def _masked_float(values: np.ndarray, missing: np.ndarray) -> pd.arrays.FloatingArray:
    return pd.arrays.FloatingArray(np.asarray(values, dtype=np.float64), missing.copy())


def _masked_bool(values: np.ndarray, missing: np.ndarray) -> pd.arrays.BooleanArray:
    return pd.arrays.BooleanArray(np.asarray(values, dtype=bool) & ~missing, missing.copy())


_DROPPED = tuple(
    REASONS.index(r) for r in ("dropped_out_waiting", "dropped_out_treatment", "dna_discharge")
)
# endings after which the client's state at discharge is an outcome (scored at discharge)
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
_NEEDED = np.array([*("self_help", "low_intensity", "step3", "step4"), None], dtype=object)


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
    sessions = np.asarray(model.sessions, dtype=np.int64)
    dest = np.asarray(model.dest, dtype=np.int64)
    step_names = STEP_IDS
    steps_rx = [">".join([step_names[k] for k in s]) if s else "" for s in model.steps_rx]
    in_house = np.array([len(s) > 0 for s in model.steps_rx], dtype=bool)
    pathway = np.where(
        dest >= 0,
        "onward",
        np.where(in_house, "in_house", np.where(~np.isnan(first_a), "assessment_only", "none")),
    )
    # same working day: seen before the close of the day the flag was first handled on
    same_day = np.full(n, np.nan)
    eod = model.cal.end_of_working_day
    for c in np.flatnonzero(~np.isnan(flagged)).tolist():
        close = eod(flagged[c])
        if not np.isnan(duty_seen[c]):
            same_day[c] = float(duty_seen[c] <= close + 1e-12)
        elif H >= close:
            same_day[c] = 0.0
    reasons = np.array([*REASONS, None], dtype=object)[np.where(censored, len(REASONS), reason)]
    dest_names = np.array([*model.dest_ids, None], dtype=object)[
        np.where(dest >= 0, dest, len(model.dest_ids))
    ]
    cols = {
        "replication": np.full(n, model.rep, dtype=np.int64),
        "client_id": np.arange(n, dtype=np.int64),
        "occupational_group": pd.Categorical.from_codes(
            np.asarray(model.groups, dtype=np.int64), categories=list(group_ids), validate=False
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
        "duty_same_working_day": _masked_bool(same_day == 1.0, np.isnan(same_day)),
        "needed_step": _NEEDED[np.where(model.need >= 0, model.need, 4)],
        "pathway": pathway,
        "steps_received": np.array(steps_rx, dtype=object),
        "sessions_attended": sessions,
        "dna_count": np.asarray(model.dna, dtype=np.int64),
        "completed_course": np.asarray(model.completed_course, dtype=bool),
        # NHS Talking Therapies "finished a course of treatment": the referral ended
        # (any reason) after at least two attended treatment sessions
        "finished_course": (~censored)
        & ~np.isnan(treat)
        & (sessions >= FINISHED_COURSE_MIN_SESSIONS),
        "dropped_out": np.isin(reason, _DROPPED),
        "discharge_reason": reasons,
        "onward_destination": dest_names,
        "external_wait_days": _nan_array(model.ext_wait),
        "external_treated": np.asarray(model.ext_treated, dtype=bool),
        "censored": censored,
        "cost_gbp": np.asarray(model.cost, dtype=float),
    }
    # scores at screening (observed only for those screened) and at discharge
    instruments = list(model.instruments)
    pre = model.pre
    seen = ~np.isnan(screened)
    has_outcome = (~censored) & seen & np.isin(reason, _WITH_OUTCOME)
    post = simulate_scores(model.latent, instruments, model._stream("outcome_scores")) if n else pre
    both = seen & has_outcome
    if n and "phq9" in pre and "gad7" in pre:
        p0, g0 = pre["phq9"].to_numpy(), pre["gad7"].to_numpy()
        p1, g1 = post["phq9"].to_numpy(), post["gad7"].to_numpy()
        case = np.asarray(iapt_caseness(p0, g0), dtype=bool)
        rec = np.asarray(recovery(phq9_pre=p0, phq9_post=p1, gad7_pre=g0, gad7_post=g1), dtype=bool)
        ri = np.asarray(
            reliable_improvement(phq9_pre=p0, phq9_post=p1, gad7_pre=g0, gad7_post=g1), dtype=bool
        )
        cols["case_at_screening"] = _masked_bool(case, ~seen)
        cols["recovered"] = _masked_bool(rec, ~(both & case))
        cols["reliably_improved"] = _masked_bool(ri, ~both)
    else:
        for col in ("case_at_screening", "recovered", "reliably_improved"):
            cols[col] = _masked_bool(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    not_seen, no_outcome = ~seen, ~has_outcome
    scores = {}
    for col in pre.columns:
        scores[f"{col}_pre"] = _masked_float(pre[col].to_numpy(), not_seen)
    for col in post.columns:
        scores[f"{col}_post"] = _masked_float(post[col].to_numpy(), no_outcome)
    ordered = {c: cols[c] for c in CLIENT_COLUMNS if c in cols}
    ordered.update(scores)
    return pd.DataFrame(ordered)


# cells of one (weeks x intervals) block in the overlap sums (bounds the temporary memory)
_BLOCK_CELLS = 1 << 21


def _overlap_by_week(
    a: np.ndarray, b: np.ndarray, edges: np.ndarray, weight: np.ndarray | None = None
) -> np.ndarray:
    """Total overlap of the intervals [a, b) with each bin [edges[k], edges[k+1]).

    With ``weight``, each interval's overlap is multiplied by its weight first. Blocks of
    bins are computed as (bins x intervals) arrays and summed along the intervals axis,
    which gives each bin exactly the sum a loop over bins would give.
    """
    n_bins = len(edges) - 1
    out = np.empty(n_bins)
    if n_bins == 0:
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


def _queue_spans(events: pd.DataFrame, horizon: float) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Stage code -> (begin, end) of every stay in that queue, for one replication.

    The same pairing and order as :func:`queue_intervals` (by client, then time), from
    the categorical codes rather than a pandas group-by.
    """
    ev_code = category_codes(events["event"], EVENTS)
    keep = (ev_code == EVENTS.index("wait_begins")) | (ev_code == EVENTS.index("wait_ends"))
    stage = category_codes(events["stage"], STAGES)[keep]
    client = events["client_id"].to_numpy()[keep]
    time = events["time"].to_numpy()[keep]
    begin_all = ev_code[keep] == EVENTS.index("wait_begins")
    out = {}
    for code in np.unique(stage).tolist():
        m = stage == code
        c, t, beg = client[m], time[m], begin_all[m]
        order = np.lexsort((t, c))  # stable: ties keep event-log order
        c, t, beg = c[order], t[order], beg[order]
        idx = np.flatnonzero(beg)
        nxt = idx + 1
        has_end = nxt < len(c)
        has_end[has_end] &= ~beg[nxt[has_end]] & (c[nxt[has_end]] == c[idx[has_end]])
        end = np.full(len(idx), horizon)
        end[has_end] = t[nxt[has_end]]
        out[code] = (t[idx], np.minimum(end, horizon))
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
    cols: dict[str, object] = {
        "replication": np.full(n_weeks, model.rep, dtype=np.int64),
        "week": np.arange(n_weeks, dtype=np.int64),
        "week_start_day": edges[:-1],
        "week_days": length,
    }
    arr_t = model.ref_at[model.n0 :]
    cols["referrals"] = np.histogram(arr_t, bins=edges)[0] if len(arr_t) else 0
    spans = _queue_spans(events, H)
    empty = (np.empty(0), np.empty(0))
    for stage in QUEUE_STAGES:
        begin, end = spans.get(STAGES.index(stage), empty)
        area = _overlap_by_week(begin, end, edges)
        cols[f"queue_{stage}"] = area / np.where(length > 0, length, 1.0)
    case = np.zeros((n_weeks, len(model.role_ids)))
    for week, r, k in model.caseload_log:
        if week < n_weeks:
            case[week, r] = k
    cal = model.cal
    wb = cal.open_hours_array(edges)
    clinical = category_codes(busy["channel"], CHANNELS) == CHANNELS.index("clinical")
    ws = cal.open_hours_array(busy["start"].to_numpy()[clinical])
    we = cal.open_hours_array(busy["end"].to_numpy()[clinical])
    # each staff member's clinical rate (a staff member has at most one clinical server)
    staff_rate = np.full(len(model.staff_role), np.nan)
    avail_rate = [0.0] * len(model.role_ids)
    for srv in model.servers:
        if srv.channel == 0:
            staff_rate[srv.staff] = srv.rate
    for ri in range(len(model.role_ids)):
        # summed in server order, as the hours available always were
        avail_rate[ri] = sum(s.rate for s in model.servers if s.channel == 0 and s.role == ri)
    staff_code = category_codes(busy["staff_id"], staff_labels(model))[clinical]
    row_rate = staff_rate[staff_code] if len(staff_code) else np.empty(0)
    roles = category_codes(busy["role"], model.role_ids)[clinical]
    for ri, rid in enumerate(model.role_ids):
        avail = avail_rate[ri] * np.diff(wb)
        m = roles == ri
        used = _overlap_by_week(ws[m], we[m], wb, weight=row_rate[m])
        cols[f"caseload_{rid}"] = case[:, ri]
        cols[f"hours_used_{rid}"] = used
        cols[f"hours_available_{rid}"] = avail
        with np.errstate(invalid="ignore", divide="ignore"):
            cols[f"utilisation_{rid}"] = np.where(avail > 0, used / avail, np.nan)
    return pd.DataFrame(cols)


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
    # missing staff are None/NaN (pandas 2) or stay NaN through astype(str) (pandas 3)
    staff = ev["staff_id"].to_numpy(dtype=object)
    res = np.array(
        [int(s.rsplit("_", 1)[1]) if isinstance(s, str) and s else -1 for s in staff],
        dtype=np.int64,
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
