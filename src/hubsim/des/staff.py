"""Staff as people: members with contracts, weekly timetables, absences and diaries.

A role of ``wte`` W becomes named members (``contracts``, default as many 1.0 contracts as
fit and one part-time contract for the rest: 5.4 WTE is five 1.0 and one 0.4). Each member
works ``37.5 x wte`` hours a week (Allsopp 2024 Table 4 footnote) in a weekly timetable of
sessions (``staff_time.session_hours``, half a ``calendar.hours_per_day`` day by default):

* a full-time member works every weekday; a part-time member works whole days from a
  weekday that rotates with the member's number (so part-timers do not all work Mondays),
  the remainder as a shorter last session;
* the job plan's shares other than leave are placed in those sessions: direct clinical
  sessions first, in the order Monday morning, Tuesday morning, ..., Friday morning, Monday
  afternoon, ... (so clinical time is spread over the week), then team support, supervision,
  admin and other time, a session split where a share ends inside it;
* the job plan's leave share is not a slowing: it is the days the member is absent. Annual
  leave (``annual_leave_days`` pro rata, in blocks of ``leave_block_days``) is placed in
  weeks drawn from the member's own stream, bank holidays (England and Wales) and
  configured closures remove the day for everyone, and sickness spells (if configured)
  remove days and cancel what was booked in them (:mod:`hubsim.des.booking`).
* evening hours (``calendar.evening_hours_per_week``) are given by clinical members who
  start later on one of their days and work on into the evening.

On the ``continuous`` calendar (textbook validation) there are no weekdays, holidays or
absences: a member works ``wte x 24`` hours of every day, placed by the same shares.

The result is, for every member, the concrete rostered intervals over the horizon of each
activity: ``clinical`` time holds the diary appointments are booked into; a daily ``duty``
hold is taken from a duty-role member's clinical time on a rota.

Examples
--------
>>> import hubsim
>>> cfg = hubsim.load_config("site_d")
>>> [m.wte for m in members(cfg) if m.role_id == "therapists"]
[1.0, 1.0, 1.0, 1.0, 1.0, 0.4]
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

import numpy as np

from hubsim.config.schema import ServiceConfig
from hubsim.des.calendar import OPENING_HOUR, bank_holiday_set
from hubsim.economics.costs import role_hourly_cost
from hubsim.rng import stream

FULL_TIME_HOURS = 37.5  # Allsopp 2024 Table 4 footnote: 1.0 WTE is 37.5 hours a week
ACTIVITIES: tuple[str, ...] = ("clinical", "duty", "team", "supervision", "admin", "other")
_CLINICAL, _DUTY, _TEAM, _SUPERVISION, _ADMIN, _OTHER = range(6)
# job-plan share fields in the order they are placed in the timetable
_PLAN = (
    ("direct_clinical", _CLINICAL),
    ("team_support", _TEAM),
    ("supervision", _SUPERVISION),
    ("admin", _ADMIN),
    ("other", _OTHER),
)
EVENING_SESSION_HOURS = 3.0  # assumption: an evening clinic runs 3 hours (to 19:30)
ABSENCE_KINDS: tuple[str, ...] = ("bank_holiday", "closure", "annual_leave", "sickness")


@dataclass
class Member:
    """One member of staff (fields filled by :func:`members`)."""

    sid: int
    role: int
    role_id: str
    k: int
    wte: float
    cap: int
    qualified: bool
    cost: float
    band_low: str
    label: str = ""
    weekly: list[tuple[int, float, float, int]] = field(default_factory=list)

    def __post_init__(self):
        self.label = f"{self.role_id}_{self.k}"


def members(config: ServiceConfig) -> list[Member]:
    """Every member of staff of the configuration, roles in order, then contracts."""
    out: list[Member] = []
    econ = config.simulation.economics
    for ri, r in enumerate(config.service.workforce.roles):
        cost = role_hourly_cost(r, econ)
        for k, w in enumerate(r.member_contracts, start=1):
            cap = 0
            if r.job_plan.direct_clinical > 0:
                cap = (
                    max(1, round(r.caseload_per_wte * w))
                    if r.caseload_per_wte is not None
                    else 10**9
                )
            out.append(
                Member(
                    sid=len(out),
                    role=ri,
                    role_id=r.id,
                    k=k,
                    wte=float(w),
                    cap=cap,
                    qualified=r.qualified,
                    cost=cost,
                    band_low=r.band_low,
                )
            )
    return out


def _present_shares(job_plan) -> list[tuple[int, float]]:
    """Activity shares of the time a member is present (leave is absence, not a share)."""
    present = 1.0 - job_plan.leave
    if present <= 1e-12:
        return []
    return [(code, getattr(job_plan, name) / present) for name, code in _PLAN]


def weekly_timetable(
    config: ServiceConfig, member: Member, evening_hours: float = 0.0
) -> list[tuple[int, float, float, int]]:
    """The member's week: (weekday 0-4, start hour, end hour, activity code) blocks.

    ``evening_hours`` moves that many of one day's hours into the evening (the day starts
    later and runs on), on the member's working day whose last session is clinical.
    """
    cal = config.simulation.calendar
    role = config.service.workforce.roles[member.role]
    hours_week = FULL_TIME_HOURS * member.wte
    day = float(cal.hours_per_day)
    per_day = max(1, round(day / config.simulation.staff_time.session_hours))
    sess = day / per_day
    n_days = min(5, math.ceil(hours_week / day - 1e-9))
    # part-timers' first weekday rotates with their role and number (not their place in the
    # whole staff list, so adding someone to one role never moves another role's days)
    first = (2 * (member.role + member.k)) % 5 if hours_week < 5 * day - 1e-9 else 0
    days = [(first + j) % 5 for j in range(n_days)]
    # the member's sessions, filled day by day, then ordered for placing shares
    sessions: list[tuple[int, int, float]] = []  # (weekday, index in day, hours)
    left = hours_week
    for d in days:
        for j in range(per_day):
            h = min(sess, left)
            if h <= 1e-9:
                break
            sessions.append((d, j, h))
            left -= h
    order = sorted(sessions, key=lambda s: (s[1], s[0]))
    shares = _present_shares(role.job_plan)
    need = [[code, share * hours_week] for code, share in shares if share > 0]
    blocks: list[tuple[int, float, float, int]] = []
    qi = 0
    for d, j, h in order:
        t = OPENING_HOUR + j * sess
        end = t + h
        while t < end - 1e-9 and qi < len(need):
            code, rest = need[qi]
            take = min(rest, end - t)
            blocks.append((d, t, t + take, code))
            t += take
            need[qi][1] -= take
            if need[qi][1] <= 1e-9:
                qi += 1
    blocks.sort()
    if evening_hours > 0:
        clinical_last = {}
        for d, _s, e, code in blocks:
            if code == _CLINICAL:
                clinical_last[d] = max(clinical_last.get(d, 0.0), e)
        last_of_day = {d: max(e for dd, _s, e, _c in blocks if dd == d) for d in days}
        cands = [d for d in days if clinical_last.get(d, -1.0) >= last_of_day[d] - 1e-9]
        if cands:
            d0 = cands[0]
            blocks = [
                (d, s + evening_hours, e + evening_hours, c) if d == d0 else (d, s, e, c)
                for d, s, e, c in blocks
            ]
    return _merge(blocks)


def _merge(blocks):
    out: list[list] = []
    for d, s, e, c in sorted(blocks):
        if out and out[-1][0] == d and out[-1][3] == c and abs(out[-1][2] - s) < 1e-9:
            out[-1][2] = e
        else:
            out.append([d, s, e, c])
    return [tuple(b) for b in out]


def _evening_allocation(config: ServiceConfig, staff: list[Member]) -> dict[int, float]:
    """Evening hours a week given by each member (clinical full-timers in turn)."""
    left = float(config.simulation.calendar.evening_hours_per_week)
    out: dict[int, float] = {}
    roles = config.service.workforce.roles
    cands = [m for m in staff if roles[m.role].job_plan.direct_clinical > 0 and m.wte >= 1.0 - 1e-9]
    for m in cands:
        if left <= 1e-9:
            break
        week = weekly_timetable(config, m)
        last = {}
        for d, _s, e, code in week:
            if e >= last.get(d, (0.0, -1))[0]:
                last[d] = (e, code)
        if not any(code == _CLINICAL for _e, code in last.values()):
            continue  # no day of this member ends in clinical time
        h = min(EVENING_SESSION_HOURS, left)
        out[m.sid] = h
        left -= h
    return out


@dataclass
class Roster:
    """Rostered time over the horizon: per member and activity, sorted disjoint intervals.

    ``blocks[sid][activity]`` is a list of (start, end) in days; ``absences`` lists
    (sid or -1 for everyone, start, end, kind code of :data:`ABSENCE_KINDS`).
    ``sickness`` holds each member's spells (start, end): they are rostered (bookable) until
    the spell begins, when the kernel removes them.
    """

    blocks: list[list[list[tuple[float, float]]]]
    absences: list[tuple[int, float, float, int]]
    sickness: list[list[tuple[float, float]]]
    working_days: np.ndarray  # day indices on which the service is open


def _working_days(config: ServiceConfig, n_days: int) -> tuple[np.ndarray, list]:
    start = config.simulation.period.start
    st = config.simulation.staff_time
    end = start + dt.timedelta(days=max(n_days - 1, 0))
    hols = bank_holiday_set(start, end) if st.bank_holidays == "england_and_wales" else set()
    closed = set()
    for c in st.closures:
        d = c.start
        while d <= c.end:
            closed.add(d)
            d += dt.timedelta(days=1)
    days, absences = [], []
    for k in range(n_days):
        date = start + dt.timedelta(days=k)
        if date.weekday() >= 5:
            continue
        if date in hols:
            absences.append((-1, float(k), float(k + 1), 0))
            continue
        if date in closed:
            absences.append((-1, float(k), float(k + 1), 1))
            continue
        days.append(k)
    return np.asarray(days, dtype=np.int64), absences


def _leave_days(config, member, working, n_days, seed, scenario, rep) -> set[int]:
    """Day indices of the member's annual leave, year by year from the period start."""
    st = config.simulation.staff_time
    if st.annual_leave_days <= 0:
        return set()
    start = config.simulation.period.start
    wd0 = start.weekday()
    rng = stream(seed, scenario, rep, "annual_leave", member.role_id, member.k)
    out: set[int] = set()
    block_weeks = st.leave_block_days / 5.0
    n_years = math.ceil(n_days / 365.25) + 1
    for y in range(n_years):
        lo = round(y * 365.25)
        # Mondays (day index of the week's first weekday) in this leave year
        first_monday = lo + (-(wd0 + lo) % 7)
        mondays = np.arange(first_monday, lo + 365, 7)
        weeks = st.annual_leave_days / 5.0  # weeks off a year, pro rata by construction
        n_blocks = weeks / block_weeks
        whole = math.floor(n_blocks + 1e-9)
        frac_days = round((n_blocks - whole) * st.leave_block_days)
        picks = rng.permutation(len(mondays))  # drawn every year, whatever the horizon
        chosen = []
        for p in picks:
            m = int(mondays[p])
            if any(abs(m - c) < 7 * math.ceil(block_weeks) for c in chosen):
                continue
            chosen.append(m)
            if len(chosen) == whole + (frac_days > 0):
                break
        for i, m in enumerate(chosen):
            length = st.leave_block_days if i < whole else frac_days
            k = 0
            d = m
            while k < length:
                if (wd0 + d) % 7 < 5:
                    out.add(d)
                    k += 1
                d += 1
    return {d for d in out if 0 <= d < n_days}


def _sickness_spells(config, member, n_days, seed, scenario, rep) -> list[tuple[int, int]]:
    """(first day, last day + 1) of the member's sickness spells, on weekday indices."""
    sk = config.simulation.staff_time.sickness
    if sk is None or sk.share <= 0:
        return []
    start = config.simulation.period.start
    wd0 = start.weekday()
    weekdays = np.flatnonzero((wd0 + np.arange(n_days)) % 7 < 5).tolist()
    if not weekdays:
        return []
    rng = stream(seed, scenario, rep, "sickness", member.role_id, member.k)
    mean_well = sk.mean_spell_days * (1.0 - sk.share) / sk.share
    out = []
    # alternating renewal process on weekdays: exponential well spells, geometric sick spells
    draws = rng.standard_exponential(4096)
    geo = rng.geometric(1.0 / sk.mean_spell_days, 4096)
    pos = draws[0] * mean_well
    i = 1
    while pos < len(weekdays) and i < 4096:
        length = int(geo[i])
        a = int(pos)
        b = min(a + length, len(weekdays))
        out.append((weekdays[a], weekdays[b - 1] + 1))
        pos = b + draws[i] * mean_well
        i += 1
    return out


def roster(
    config: ServiceConfig,
    staff: list[Member],
    horizon_days: float,
    *,
    seed: int,
    scenario: str,
    replication: int,
) -> Roster:
    """Rostered intervals of every member over ``[0, horizon_days)`` (see the module)."""
    n_days = max(1, math.ceil(horizon_days))
    blocks: list[list[list[tuple[float, float]]]] = [[[] for _ in ACTIVITIES] for _ in staff]
    sickness: list[list[tuple[float, float]]] = [[] for _ in staff]
    roles = config.service.workforce.roles
    cal = config.simulation.calendar
    if cal.kind == "continuous":
        for m in staff:
            shares = _present_shares(roles[m.role].job_plan)
            hours = 24.0 * min(m.wte, 1.0)
            if hours <= 0:
                continue
            if m.wte >= 1.0 - 1e-9 and len([s for _c, s in shares if s > 0]) == 1:
                code = next(c for c, s in shares if s > 0)
                blocks[m.sid][code].append((0.0, float(n_days) + 1.0))
                continue
            for k in range(n_days + 1):
                t = float(k)
                for code, share in shares:
                    if share <= 0:
                        continue
                    blocks[m.sid][code].append((t, t + share * hours / 24.0))
                    t += share * hours / 24.0
        return Roster(blocks, [], sickness, np.arange(n_days + 1, dtype=np.int64))
    working, absences = _working_days(config, n_days)
    wd0 = config.simulation.period.start.weekday()
    evenings = _evening_allocation(config, staff)
    weekday = (wd0 + working) % 7
    for m in staff:
        week = weekly_timetable(config, m, evenings.get(m.sid, 0.0))
        m.weekly = week
        if not week:
            continue
        # the member's days: working days on a weekday of their timetable; leave days
        # are absences, the others carry the timetable's blocks (vectorised over days)
        on = np.isin(weekday, [d for d, _s, _e, _c in week])
        leave = _leave_days(config, m, working, n_days, seed, scenario, replication)
        away = on & np.isin(working, np.fromiter(leave, dtype=np.int64, count=len(leave)))
        absences.extend((m.sid, float(k), float(k + 1), 2) for k in working[away].tolist())
        days, wdays = working[on & ~away], weekday[on & ~away]
        parts: dict[int, list] = {}
        for j, (d, s, e, code) in enumerate(week):
            k = days[wdays == d]
            parts.setdefault(code, []).append((k, np.full(len(k), j), k + s / 24.0, k + e / 24.0))
        for code, ps in parts.items():
            k = np.concatenate([p[0] for p in ps])
            j = np.concatenate([p[1] for p in ps])
            order = np.lexsort((j, k))  # day by day, blocks in timetable order
            a = np.concatenate([p[2] for p in ps])[order]
            b = np.concatenate([p[3] for p in ps])[order]
            blocks[m.sid][code].extend(zip(a.tolist(), b.tolist(), strict=True))
        for a, b in _sickness_spells(config, m, n_days, seed, scenario, replication):
            sickness[m.sid].append((float(a), float(b)))
    _duty_rota(config, staff, blocks, working)
    return Roster(blocks, absences, sickness, working)


def _duty_rota(config, staff, blocks, working) -> None:
    """Hold ``booking.duty_hours_per_day`` of one duty-role member's clinical time a day."""
    hours = config.simulation.booking.duty_hours_per_day
    duty_roles = set(config.interventions.triage.risk.duty_roles)
    pool = [m for m in staff if m.role_id in duty_roles]
    if hours <= 0 or not pool:
        return
    length = hours / 24.0
    ptr = dict.fromkeys((m.sid for m in pool), 0)
    for n, k in enumerate(working.tolist()):
        for j in range(len(pool)):
            m = pool[(n + j) % len(pool)]
            clin = blocks[m.sid][_CLINICAL]
            i = ptr[m.sid]
            while i < len(clin) and clin[i][1] <= k:
                i += 1
            ptr[m.sid] = i
            hit = None
            while i < len(clin) and clin[i][0] < k + 1:
                s, e = clin[i]
                if s >= k and e - s >= length - 1e-12:
                    hit = i
                    break
                i += 1
            if hit is None:
                continue
            s, e = clin[hit]
            blocks[m.sid][_DUTY].append((s, s + length))
            if e - (s + length) > 1e-12:
                clin[hit] = (s + length, e)
            else:
                del clin[hit]
            break
