"""Booking: diaries, waiting lists per step, allocation rules, caseloads, priorities.

Every piece of staff work is an appointment booked into a member's diary: the free part of
their rostered time of one activity (:mod:`hubsim.des.staff`). An appointment of ``d``
hours is booked at the earliest free moment ``x >= t`` with ``[x, x + d)`` free inside one
rostered interval, so nobody is ever double-booked and nothing is booked outside rostered
time (the identity tests check both).

Modelling choices (with their reason):

* An appointment occupies the diary for its drawn length (the configured duration
  distribution), known when it is booked. On the continuous calendar with no notice and no
  booking horizon, booking each client at the earliest free time of the first free
  clinician is first-come-first-served M/M/c, so Erlang C holds exactly.
* Waiting lists are first come, first served within a list (a head that cannot be booked
  blocks the list: its pool is the same for everyone behind it). A client counts as
  waiting until the work starts (their first attended appointment of that list's work),
  whether or not an appointment is booked.
* Diaries open ``booking.horizon_days`` ahead with ``booking.min_notice_days`` notice. Each
  day at midnight a booking pass offers the newly opened day and any freed time to the
  demand in ``booking.priorities`` order: ``risk`` (calls to the duty clinician; when first,
  booked at once with no notice into the daily duty hold or any free clinical time of a
  duty-role member), ``sessions`` (the next sessions of open courses: a course books weekly,
  or at its step's interval, one session after another, each at its clinician's earliest
  free time on or after the last session plus the interval: a standing weekly slot),
  ``assessments`` (first and in-depth assessments from their lists) and ``new_courses``
  (clients at the head of each step's list are given a clinician with a free caseload place
  and a free first-session slot in the window). Between passes, a client who joins a list
  is booked at once if free time remains in the window.
* Priorities between booked work: a booking of a higher class that finds no free slot in
  the window takes the earliest booked appointment of a lower class with the same
  clinicians (not yet started), which is moved (its client goes back to the head of their
  list, or the course books that session again at the next chance).
* Caseload: a course takes one place of its clinician's cap (``caseload_per_wte`` x the
  member's contract, at least 1) from allocation to its end.
* Allocation (``booking.allocation``): ``soonest`` (earliest slot; ties to the least
  loaded), ``least_loaded`` (lowest caseload / cap among those with a slot in the window;
  ties to the earliest), ``same_as_assessor`` (the client's assessor when eligible with a
  place and a slot, else soonest).
* A did-not-attend frees the rest of the slot (nobody can be booked into it at no notice)
  and the course books one more session at its end; ``attendance.discharge_after_dna``
  consecutive DNAs discharge. Dropout and discharge cancel the booked sessions ahead,
  freeing them for the next pass. A sickness spell cancels what was booked in it and the
  appointments are moved to the clinician's first free time after the spell (or, with
  ``on_staff_absence: cancel``, the course's session is dropped and the course goes on at
  the next interval); assessments and risk calls go back to their list.
* The kernel acts on an appointment at its end (one event an appointment): a did-not-
  attend is logged at the slot's start and acted on at its end.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_left, bisect_right
from heapq import heappush

EPS = 1e-9
INF = math.inf

# appointment kinds and the diary channel each is booked in
K_PROC, K_DUTY, K_SHORT, K_DEEP, K_SESSION, K_GROUP, K_TEAM = range(7)
CH_CLIN, CH_DUTY, CH_TEAM, CH_ADMIN = range(4)
# roster activity code (hubsim.des.staff.ACTIVITIES) of each channel
CHANNEL_ACTIVITY = (0, 1, 2, 4)


class _Call:
    """A scheduled call ``fn(*args)``: the event object of the kernel's heap entries
    (``HubModel._at``; processed by ``HubModel._loop``, not by SimPy's ``step``)."""

    __slots__ = ("args", "fn")

    def __init__(self, fn, args):
        self.fn = fn
        self.args = args


class Diary:
    """Free intervals of one member's rostered time of one activity (sorted, disjoint).

    ``v`` counts the changes (a search's answer stays valid while it is unchanged).

    Examples
    --------
    >>> d = Diary([(0.0, 1.0), (2.0, 3.0)])
    >>> d.find(0.5, 0.75, 10.0)  # [0.5, 1.25) does not fit in the first interval
    2.0
    >>> d.take(2.0, 0.25); d.find(2.0, 0.5, 10.0)
    2.25
    >>> d.give(2.0, 0.25); d.s, d.e
    ([0.0, 2.0], [1.0, 3.0])
    """

    __slots__ = ("e", "s", "v")

    def __init__(self, intervals=()):
        starts, ends = zip(*intervals, strict=True) if len(intervals) else ((), ())
        self.s = list(map(float, starts))
        self.e = list(map(float, ends))
        self.v = 0

    def find(self, t: float, d: float, until: float):
        """Earliest ``x >= t``, ``x <= until``, with ``[x, x + d)`` free; None if there is none."""
        s, e = self.s, self.e
        i = bisect_left(e, t + d - EPS)
        n = len(s)
        while i < n:
            a = s[i]
            if a > until:
                return None
            x = a if a > t else t
            if x + d <= e[i] + EPS:
                return x if x <= until else None
            i += 1
        return None

    def take(self, x: float, d: float) -> None:
        """Mark ``[x, x + d)`` booked (it must be free)."""
        self.take_until(x, x + d)

    def take_until(self, x: float, y: float) -> None:
        """Mark ``[x, y)`` booked (it must be free)."""
        self.v += 1
        s, e = self.s, self.e
        i = bisect_right(s, x + EPS) - 1
        a, b = s[i], e[i]
        left, right = x - a > EPS, b - y > EPS
        if left and right:
            e[i] = x
            s.insert(i + 1, y)
            e.insert(i + 1, b)
        elif left:
            e[i] = x
        elif right:
            s[i] = y
        else:
            del s[i]
            del e[i]

    def give(self, x: float, d: float) -> None:
        """Return ``[x, x + d)`` to the free time (a cancellation), merging neighbours."""
        self.v += 1
        y = x + d
        s, e = self.s, self.e
        i = bisect_left(s, x)
        prev = i > 0 and abs(e[i - 1] - x) <= EPS
        nxt = i < len(s) and abs(s[i] - y) <= EPS
        if prev and nxt:
            e[i - 1] = e[i]
            del s[i]
            del e[i]
        elif prev:
            e[i - 1] = y
        elif nxt:
            s[i] = x
        else:
            s.insert(i, x)
            e.insert(i, y)

    def remove(self, a: float, b: float) -> None:
        """Remove all free time inside ``[a, b)`` (an absence)."""
        self.v += 1
        s, e = self.s, self.e
        i = bisect_right(e, a)  # first interval ending after a
        j = bisect_left(s, b)  # first interval starting at or after b
        if i >= j:
            return
        ns, ne = [], []
        if s[i] < a:
            ns.append(s[i])
            ne.append(a)
        if e[j - 1] > b:
            ns.append(b)
            ne.append(e[j - 1])
        s[i:j] = ns
        e[i:j] = ne


class Course:
    """An open course: one clinician, one caseload place, sessions booked one by one."""

    __slots__ = (
        "appts",
        "attended",
        "booked",
        "consec",
        "done",
        "index",
        "last",
        "members",
        "open",
        "planned",
        "sid",
        "started",
        "step",
    )

    def __init__(self, step, sid, planned, members, index):
        self.step = step
        self.sid = sid
        self.planned = planned
        self.members = members
        self.index = index  # the course number of each member (for its draws)
        self.attended = dict.fromkeys(members, 0)
        self.consec = dict.fromkeys(members, 0)
        self.started: set = set()
        self.booked = 0
        self.done = 0
        self.last = -INF
        self.open = True
        self.appts: set = set()


class BookingMixin:
    """Diary bookings, waiting lists and the daily booking pass (used by HubModel).

    Speed notes (the kernel's hot paths live here; results do not depend on them):
    searches over a pool read the members' free-interval lists directly (``_fs``/``_fe``,
    per channel and member: the Diary's own lists) instead of calling ``Diary.find``; a
    pre-emption index (``bx``: per member and priority class, the booked clinical
    appointments sorted by start) answers "the earliest lower-priority booking in the
    window" with one bisection per class; a session that cannot be booked is searched for
    once (to infinity: a slot inside the window is the booking, one beyond it is when to
    retry), and a retry that fails keeps that answer while the clinician's diary is
    unchanged (``Diary.v``).
    """

    # ------------------------------------------------------------ appointments
    def _book(self, kind, sid, ch, x, d, c, course, stage, ix):
        ap = self.ap
        a = len(ap)
        y = x + d
        # kind, staff, channel, start, end, client, course, stage, draw index, status, and
        # the priority class under which it sits in the member's pre-emption index (-1:
        # none; only clinical-channel work is there)
        if ch == CH_CLIN:
            if course is not None:
                r = self._r_new if not course.started else self._r_sessions
            else:
                r = self._r_risk if kind == K_DUTY else self._r_assess
            starts, ids = self.bx[sid][r]
            j = bisect_left(starts, x)
            starts.insert(j, x)
            ids.insert(j, a)
        else:
            r = -1
        ap.append([kind, sid, ch, x, y, c, course, stage, ix, 0, r])
        self.dia[sid][ch].take_until(x, y)
        self.staff_appts[sid].add(a)
        now = self.now
        if kind == K_GROUP:
            reason = self.reason
            ev = self.ev
            for m in course.members:
                if reason[m] < 0:
                    ev.extend((m, now, stage, _E_BOOKED, sid, a))
        elif kind != K_TEAM and kind != K_PROC:
            self.ev.extend((c, now, stage, _E_BOOKED, sid, a))
        if x < self.H:
            # self._at(y, self._appt_end, a) written out: it runs once an appointment, and
            # the call costs the M/M/c benchmark about 5% (kernel / Ciw 0.95x -> 1.01x)
            heappush(
                self._queue,
                (
                    now + (y - now if y > now else 0.0),
                    1,
                    next(self._eid),
                    _Call(self._appt_end, (a,)),
                ),
            )
        return a

    def _unindex(self, row, a):
        """Take appointment ``a`` out of its member's pre-emption index (it was cancelled or
        changes class; an appointment that ends stays, behind every later search's start,
        and :meth:`_bump` passes over it)."""
        r = row[10]
        if r < 0:
            return
        row[10] = -1
        starts, ids = self.bx[row[1]][r]
        j = bisect_left(starts, row[3])
        while ids[j] != a:
            j += 1
        del starts[j]
        del ids[j]

    def _course_started(self, course):
        """A course's first session was attended: its booked sessions are no longer a new
        course's first booking but ordinary sessions (their priority class changes)."""
        r_new, r_ses = self._r_new, self._r_sessions
        ap = self.ap
        bx = self.bx[course.sid]
        for a in sorted(course.appts):
            row = ap[a]
            if row[10] != r_new:
                continue
            self._unindex(row, a)
            starts, ids = bx[r_ses]
            j = bisect_left(starts, row[3])
            starts.insert(j, row[3])
            ids.insert(j, a)
            row[10] = r_ses

    def _cancel(self, a, log=True):
        """Cancel booked appointment ``a`` (it has not started): free its slot."""
        row = self.ap[a]
        if row[9] != 0:
            return
        row[9] = 2
        self._unindex(row, a)
        sid = row[1]
        x = row[3]
        self.dia[sid][row[2]].give(x, row[4] - x)
        self.staff_appts[sid].discard(a)
        if not log:
            return
        kind = row[0]
        stage = row[7]
        if kind == K_GROUP:
            for m in row[6].members:
                if self.reason[m] < 0:
                    self.ev.extend((m, self.now, stage, _E_CANCELLED, sid, a))
        elif kind != K_TEAM and kind != K_PROC:
            self.ev.extend((row[5], self.now, stage, _E_CANCELLED, sid, a))

    def _earliest(self, pool, ch, t, d, until):
        """(x, sid) of the earliest free slot among ``pool``; (None, -1) if none (ties within
        EPS to the first member in ``pool``)."""
        best, who = INF, -1
        S, E = self._fs[ch], self._fe[ch]
        eps = EPS
        lo = t + d - eps
        for sid in pool:
            # Diary.find, inlined (see _choose)
            e = E[sid]
            i = bisect_left(e, lo)
            s = S[sid]
            try:
                while True:
                    a = s[i]
                    if a > until:
                        break
                    x = a if a > t else t
                    if x >= best - eps:
                        break  # this and every later interval cannot beat the best
                    if x + d <= e[i] + eps:
                        if x <= until:
                            best, who = x, sid
                        break
                    i += 1
            except IndexError:
                pass
        return (None, -1) if who < 0 else (best, who)

    def _window(self):
        now = self.now
        return now + self._notice, now + self._h_book

    def _load(self, sid):
        cap = self.cap[sid]
        return self.caseload[sid] / cap if cap else 0.0

    def _choose(self, pool, ch, t0, d, until, prefer=-1, caseload=False):
        """Apply the allocation rule to ``pool``: (x, sid) or (None, -1)."""
        rule = self.booking.allocation
        if rule == "soonest" or (rule == "same_as_assessor" and prefer < 0):
            # the earliest x >= t0, x <= until with [x, x + d) free, member by member
            # (Diary.find inlined: this loop is the kernel's hottest); ties within EPS go
            # to the least loaded, then to the first in the pool. Every x found is >= t0,
            # so with t0 > until there is none, and otherwise x <= until whenever the
            # interval it lies in starts by until.
            if t0 > until:
                return None, -1
            best, who, load = INF, -1, 0.0
            case, cap = self.caseload, self.cap
            S, E = self._fs[ch], self._fe[ch]
            eps = EPS
            lo = t0 + d - eps
            for sid in pool:
                if caseload and case[sid] >= cap[sid]:
                    continue
                e = E[sid]
                i = bisect_left(e, lo)
                s = S[sid]
                try:
                    while True:
                        a = s[i]
                        if a > until:
                            break
                        x = a if a > t0 else t0
                        if x > best + eps:
                            break  # this and every later interval start too late to count
                        if x + d <= e[i] + eps:
                            if x < best - eps:
                                best, who = x, sid
                                load = case[sid] / cap[sid] if cap[sid] else 0.0
                            elif x <= best + eps:
                                ld = case[sid] / cap[sid] if cap[sid] else 0.0
                                if ld < load:
                                    best, who, load = x, sid, ld
                            break
                        i += 1
                except IndexError:
                    pass
            return (None, -1) if who < 0 else (best, who)
        dia = self.dia
        cands = []
        for sid in pool:
            if caseload and self.caseload[sid] >= self.cap[sid]:
                continue
            x = dia[sid][ch].find(t0, d, until)
            if x is not None:
                cands.append((x, sid))
        if not cands:
            return None, -1
        if rule == "same_as_assessor" and prefer >= 0:
            for x, sid in cands:
                if sid == prefer:
                    return x, sid
        if rule == "least_loaded":
            x, sid = min(cands, key=lambda p: (self._load(p[1]), p[0]))
            return x, sid
        best = min(p[0] for p in cands)
        near = [p for p in cands if p[0] <= best + EPS]
        x, sid = min(near, key=lambda p: (self._load(p[1]), p[0]))
        return x, sid

    def _bump(self, pool, t0, d, until, rank, caseload=False):
        """Make room for a booking of priority ``rank`` that found no free slot: cancel the
        earliest booked lower-priority clinical appointment in the window that leaves a
        long enough gap, and put its owner back (moved: rebooked at the next chance).

        The candidates come from each member's pre-emption index: the first booking of
        each lower class starting at or after ``t0``. Ties between members go to the first
        in ``pool``.

        Returns (x, sid) of the room made; (None, -1) if there was no candidate (nothing
        changed) or (None, -2) if one was cancelled but left no room.
        """
        best_start, best = None, -1
        bx = self.bx
        ap = self.ap
        n_cls = len(self.rank)
        for sid in pool:
            if caseload and self.caseload[sid] >= self.cap[sid]:
                continue
            mine = bx[sid]
            for r in range(rank + 1, n_cls):
                starts, ids = mine[r]
                j = bisect_left(starts, t0)
                n = len(starts)
                while j < n and ap[ids[j]][9] != 0:
                    j += 1  # ended (zero-length work starting at t0)
                if j < n:
                    x = starts[j]
                    if x <= until and (best_start is None or x < best_start):
                        best_start, best = x, ids[j]
        if best < 0:
            return None, -1
        row = ap[best]
        sid, start, kind = row[1], row[3], row[0]
        self._cancel(best)
        if kind == K_SESSION or kind == K_GROUP:
            course = row[6]
            course.appts.discard(best)
            course.booked -= 1
            for m in course.members:
                if self.booked[m] == best:
                    self.booked[m] = -1
            self._resched(course, start)
        else:
            c = row[5]
            self.booked[c] = -1
            self.lists[row[7]].appendleft(c)
        x = self.dia[sid][CH_CLIN].find(max(t0, start), d, until)
        if x is None:
            return None, -2
        return x, sid

    # ------------------------------------------------------------ waiting lists
    def _enqueue(self, c, stage, renege=True):
        now = self.now
        self.q_stage[c] = stage
        self.q_enter[c] = now
        tok = self.q_token[c] + 1
        self.q_token[c] = tok
        self.booked[c] = -1
        self.ev.extend((c, now, stage, _E_WAIT_BEGINS, -1.0, -1.0))
        self.lists[stage].append(c)
        if renege:
            r = self.renege_at[c]
            if r < INF:
                left = r - self.waited[c]
                if left < self.H - now:
                    self._at(now + max(left, 0.0), self._renege, c, tok)

    def _wait_ends(self, c, t):
        """The work the client waited for starts at ``t`` (logged, clocks updated)."""
        stage = self.q_stage[c]
        if stage < 0:
            return
        w = t - self.q_enter[c]
        self.waited[c] += w if stage in self.renege_lists else 0.0
        self.q_area[stage] += w
        self.ev.extend((c, t, stage, _E_WAIT_ENDS, -1.0, -1.0))
        self.q_stage[c] = -1
        self.q_token[c] += 1
        self.booked[c] = -1

    def _renege(self, c, token):
        if self.q_token[c] != token or self.q_stage[c] < 0 or self.reason[c] >= 0:
            return
        a = self.booked[c]
        if a >= 0 and self.ap[a][3] <= self.now:
            return  # the appointment has started: no longer waiting
        stage = self.q_stage[c]
        if a >= 0 and self.ap[a][0] != K_GROUP:
            self._cancel(a)
        course = self.waiting_course[c]
        if course is not None:
            self._leave_course(course, c)
        self._wait_ends_renege(c)
        self.ev.extend((c, self.now, stage, _E_RENEGED, -1.0, -1.0))
        self.pending[c].clear()
        self._terminal(c, _R_DROPPED_WAITING)

    def _wait_ends_renege(self, c):
        stage = self.q_stage[c]
        w = self.now - self.q_enter[c]
        self.waited[c] += w
        self.q_area[stage] += w
        self.ev.extend((c, self.now, stage, _E_WAIT_ENDS, -1.0, -1.0))
        self.q_stage[c] = -1
        self.q_token[c] += 1
        self.booked[c] = -1

    def _head(self, stage):
        """The first client of a list still waiting there unbooked (lazy deletion)."""
        q = self.lists[stage]
        if not q:
            return -1
        qs, bk, reason, wc = self.q_stage, self.booked, self.reason, self.waiting_course
        while q:
            c = q[0]
            if qs[c] == stage and bk[c] < 0 and reason[c] < 0 and wc[c] is None:
                return c
            q.popleft()
        return -1

    # ------------------------------------------------------------ booking passes
    def _daily(self, day):
        for booking_pass in self._passes:
            booking_pass()
        nxt = day + 1
        if nxt < self.H:
            self._at(float(nxt), self._daily, nxt)

    def _book_risk_list(self):
        while True:
            c = self._head(_S_DUTY)
            if c < 0:
                return
            if not self._book_duty(c):
                return

    def _book_duty(self, c):
        now = self.now
        d = self.dur_duty[c]
        x1, s1 = self._earliest(self.pool_duty, CH_DUTY, now, d, INF)
        x2, s2 = self._earliest(self.pool_duty, CH_CLIN, now, d, INF)
        if x1 is None and x2 is None:
            return False
        if x2 is None or (x1 is not None and x1 <= x2 + EPS):
            x, sid, ch = x1, s1, CH_DUTY
        else:
            x, sid, ch = x2, s2, CH_CLIN
        a = self._book(K_DUTY, sid, ch, x, d, c, None, _S_DUTY, -1)
        self.booked[c] = a
        return True

    def _book_assessments(self):
        lists = self.assess_lists
        if len(lists) == 1:
            stage = lists[0]
            while True:
                c = self._head(stage)
                if c < 0 or not self._book_assessment(c, stage):
                    return
        q_enter = self.q_enter
        while True:
            best, head = None, -1
            for stage in lists:
                c = self._head(stage)
                if c >= 0 and (best is None or q_enter[c] < q_enter[head]):
                    best, head = stage, c
            if best is None:
                return
            if not self._book_assessment(head, best):
                # this list's head cannot be booked: try the other list alone
                others = [s for s in lists if s != best]
                for stage in others:
                    while True:
                        c = self._head(stage)
                        if c < 0 or not self._book_assessment(c, stage):
                            break
                return

    def _book_assessment(self, c, stage):
        now = self.now
        t0, until = now + self._notice, now + self._h_book
        if stage == _S_DEEP:
            d, pool, kind = self.dur_deep[c], self.pool_deep, K_DEEP
        elif self.two_stage:
            d, pool, kind = self.dur_short[c], self.pool_short, K_SHORT
        else:
            d, pool, kind = self.dur_deep[c], self.pool_deep, K_DEEP
        x, sid = self._choose(pool, CH_CLIN, t0, d, until, self.assessor[c])
        if x is None:
            x, sid = self._bump(pool, t0, d, until, self._r_assess)
            if x is None:
                return False
        self.booked[c] = self._book(kind, sid, CH_CLIN, x, d, c, None, stage, -1)
        return True

    def _start_courses(self):
        """Give clients at the heads of the step lists a clinician (oldest head first)."""
        blocked = set()
        q_enter = self.q_enter
        while True:
            best, head = None, -1
            for code in self.step_codes:
                stage = _STEP_STAGE[code]
                if stage in blocked:
                    continue
                c = self._head(stage)
                if c >= 0 and (best is None or q_enter[c] < q_enter[head]):
                    best, head = code, c
            if best is None:
                return
            if not self._allocate(head, best):
                blocked.add(_STEP_STAGE[best])

    def _allocate(self, c, code):
        """Start a course of step ``code`` for ``c`` if a clinician can take them."""
        now = self.now
        t0, until = now + self._notice, now + self._h_book
        d = self._session_len(c, code, self.n_appt[c])
        pool = self.step_pool[code]
        x, sid = self._choose(pool, CH_CLIN, t0, d, until, self.assessor[c], True)
        if x is None:
            x, sid = self._bump(pool, t0, d, until, self._r_new, True)
            if x is None:
                return False
        self.caseload[sid] += 1
        course = Course(code, sid, int(self.planned[c][code]), [c], {c: self.n_course[c]})
        self.n_course[c] += 1
        self.waiting_course[c] = course
        self.ev.extend((c, now, _STEP_STAGE[code], _E_ALLOCATED, sid, -1.0))
        self._book_session(course, x, d)
        return True

    def _book_session(self, course, x, d):
        c = course.members[0]
        group = self.is_group[course.step]
        ix = self.n_appt[c]
        if not group:
            self.n_appt[c] = ix + 1
            a = self._book(
                K_SESSION, course.sid, CH_CLIN, x, d, c, course, _STEP_STAGE[course.step], ix
            )
        else:
            a = self._book(
                K_GROUP, course.sid, CH_CLIN, x, d, c, course, _STEP_STAGE[course.step], ix
            )
        course.appts.add(a)
        course.booked += 1
        course.last = x
        if not group:
            if course.attended[c] == 0 and c not in course.started:
                self.booked[c] = a
        else:
            for m in course.members:
                if m not in course.started:
                    self.booked[m] = a
        self._next_due(course)

    def _needs_more(self, course):
        if not course.open:
            return False
        if self.is_group[course.step]:
            return course.done + course.booked < course.planned
        return course.attended[course.members[0]] + course.booked < course.planned

    def _next_due(self, course, due=None):
        """Queue the course's next session (due a step interval after the last booked)."""
        if not self._needs_more(course):
            return
        if due is None:
            due = course.last + self.interval[course.step]
        if due <= self.now + self._h_book:
            x = self._try_session(course, due)
            if x is True:
                return
            self._defer(course, due, x)
            return
        self._defer(course, due)

    def _defer(self, course, due, x=False):
        """Queue a session not bookable now, keyed ``max(due, x - h)`` on the due heap.

        The daily pass takes an entry once its key is within ``h`` (the booking window) of
        today, as it does for a session keyed by its due time. A session waiting for a first
        free slot ``x`` is therefore retried every day from ``2h`` before ``x``, not only once
        ``x`` enters the window: those retries are what find a slot that a cancellation or a
        moved booking frees before ``x``. Keying it ``x`` would cut the retries but miss
        those slots; the kernel's results are back-tested on this rule.

        ``x`` is that first free slot if the caller has just found it (None: there is
        none), or False to look it up here.
        """
        ready = due
        h = self.booking.horizon_days
        if h is not None:
            if x is False:
                c = course.members[0]
                d = self._session_len(c, course.step, self.n_appt[c])
                x = self.dia[course.sid][CH_CLIN].find(max(due, self.now + self._notice), d, INF)
            if x is not None:
                ready = max(due, x - h)
        heapq.heappush(self.due_heap, (ready, next(self._seq), course, due))

    def _try_session(self, course, due):
        """Book the course's next session at the earliest free time on or after ``due`` in
        the window (moving a lower-priority booking if there is none).

        Returns True when booked; otherwise the clinician's first free time on or after
        ``due`` beyond the window (None if there is none), or False if a booking was moved
        without making room (the diary changed: look the time up again).
        """
        now = self.now
        t0 = now + self._notice
        until = now + self._h_book
        c = course.members[0]
        step = course.step
        fixed = self.session_fixed[step]
        d = fixed if fixed is not None else self._session_len(c, step, self.n_appt[c])
        t = due if due > t0 else t0
        # one search to infinity: a slot found in the window is the windowed search's answer,
        # and one beyond it is when the session becomes bookable (Diary.find inlined: most
        # retries fail, so this path runs several times a booked session)
        sid = course.sid
        diary = self.dia[sid][CH_CLIN]
        s, e = diary.s, diary.e
        x = None
        for i in range(bisect_left(e, t + d - EPS), len(s)):
            a = s[i]
            y = a if a > t else t
            if y + d <= e[i] + EPS:
                x = y
                break
        if x is not None and x <= until:
            self._book_session(course, x, d)
            return True
        rank = self._r_new if not course.started else self._r_sessions
        # _bump's candidate search for this one member first: usually there is none, and
        # then _bump would change nothing
        ap = self.ap
        mine = self.bx[sid]
        for r in range(rank + 1, len(mine)):
            starts, ids = mine[r]
            j = bisect_left(starts, t)
            n = len(starts)
            while j < n and ap[ids[j]][9] != 0:
                j += 1
            if j < n and starts[j] <= until:
                break
        else:
            return x
        y, sid = self._bump((sid,), t, d, until, rank)
        if y is None:
            return x if sid == -1 else False
        self._book_session(course, y, d)
        return True

    def _book_due_sessions(self):
        until = self.now + self._h_book
        heap = self.due_heap
        if not heap or heap[0][0] > until:
            return
        deferred = []
        dia = self.dia
        n_appt = self.n_appt
        is_group = self.is_group
        try_session = self._try_session
        pop = heapq.heappop
        while heap and heap[0][0] <= until:
            _ready, _seq, course, due = pop(heap)
            # self._needs_more(course), inlined
            if not course.open:
                continue
            if is_group[course.step]:
                if course.done + course.booked >= course.planned:
                    continue
            elif course.attended[course.members[0]] + course.booked >= course.planned:
                continue
            x = try_session(course, due)
            if x is not True:
                c = course.members[0]
                deferred.append((course, due, x, dia[course.sid][CH_CLIN].v, c, n_appt[c]))
        h = self.booking.horizon_days
        seq = self._seq
        for course, due, x, v, c, k in deferred:
            # the failed search's answer stands while the clinician's diary (and the
            # session looked for) is unchanged
            if (
                x is not False
                and v == dia[course.sid][CH_CLIN].v
                and c == course.members[0]
                and k == n_appt[c]
            ):
                # self._defer(course, due, x), inlined
                ready = due if h is None or x is None else max(due, x - h)
                heapq.heappush(heap, (ready, next(seq), course, due))
            else:
                self._defer(course, due)

    # ------------------------------------------------------------ absences
    def _sick(self, sid, a, b):
        """A sickness spell of member ``sid`` over [a, b): remove the time, move the work."""
        for ch in range(4):
            self.dia[sid][ch].remove(a, b)
        hit = sorted(
            (x for x in self.staff_appts[sid] if self.ap[x][3] < b and self.ap[x][4] > a),
            key=lambda x: self.ap[x][3],
        )
        for x in hit:
            if self.ap[x][3] < self.now:
                continue  # already running (a spell starts at midnight, so none are)
            kind = self.ap[x][0]
            start = self.ap[x][3]
            self._cancel(x)
            # the cancelled time is inside the spell: take it out of the diary again
            self.dia[sid][self.ap[x][2]].remove(a, b)
            c = self.ap[x][5]
            if kind == K_SESSION or kind == K_GROUP:
                course = self.ap[x][6]
                course.appts.discard(x)
                course.booked -= 1
                for m in course.members:
                    if self.booked[m] == x:
                        self.booked[m] = -1
                if self.booking.on_staff_absence == "move":
                    due = b
                else:
                    due = start + self.interval[course.step]
                self._resched(course, due)
            elif kind == K_TEAM:
                continue
            else:
                self.booked[c] = -1
                stage = self.ap[x][7]
                self.lists[stage].appendleft(c)
                if kind == K_DUTY:
                    self._book_duty(c)
                elif kind == K_PROC:
                    self._book_processing(c)

    def _resched(self, course, due):
        heapq.heappush(self.due_heap, (due, next(self._seq), course, due))

    # ------------------------------------------------------------ caseloads
    def _release(self, sid):
        self.caseload[sid] -= 1
        self._start_courses()


# event and stage codes used above (bound here to avoid dict look-ups in the kernel)
from hubsim.des.record import STEP_STAGE as _STEP_STAGE  # noqa: E402
from hubsim.des.record import E as _E  # noqa: E402
from hubsim.des.record import R as _R  # noqa: E402
from hubsim.des.record import S as _S  # noqa: E402

# logged as floats (see hubsim.des.pathway._EF)
_E_BOOKED = float(_E["booked"])
_E_CANCELLED = float(_E["cancelled"])
_E_WAIT_BEGINS = float(_E["wait_begins"])
_E_WAIT_ENDS = float(_E["wait_ends"])
_E_RENEGED = float(_E["reneged"])
_E_ALLOCATED = float(_E["allocated"])
_S_DUTY = _S["duty"]
_S_DEEP = _S["in_depth_assessment"]
_R_DROPPED_WAITING = _R["dropped_out_waiting"]
