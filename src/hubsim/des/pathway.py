"""The client's process: screening, triage and risk, assessment, care model, onward referral.

Referral -> screening (at the site's timing: before referral as a self-assessment, after
acceptance, or with the referral; some never complete, some self-assessors never refer)
-> risk flag (PHQ-9 item 9) to the duty clinician the same working day -> referral
processing by admin -> assessment (two-stage: a short assessment by any grade and an
in-depth one if indicated; or in-depth as standard) -> onward referral (with the external
service's wait, treatment probability and effect) or in-house care: stepped (the least
intensive suitable step first, a step up for non-responders) or reversed-stepped (straight
to the needed step, senior clinicians) -> courses -> discharge.

Every transition is logged as an event (:mod:`hubsim.des.record`); bookings go through
:class:`hubsim.des.booking.BookingMixin`; symptom change through
:mod:`hubsim.des.outcomes`.
"""

from __future__ import annotations

import numpy as np

from hubsim.config.schema import STEP_IDS, STEP_LADDER
from hubsim.des.booking import (
    CH_ADMIN,
    CH_TEAM,
    EPS,
    INF,
    K_DEEP,
    K_DUTY,
    K_GROUP,
    K_PROC,
    K_SESSION,
    K_TEAM,
    Course,
)
from hubsim.des.outcomes import still_a_case, wait_effects
from hubsim.des.record import STEP_STAGE, E, R, S
from hubsim.des.streams import N_APPOINTMENTS, N_COURSES, U, overflow

STEP_CODE = {s: i for i, s in enumerate(STEP_IDS)}
LADDER_IDX = {s: i for i, s in enumerate(STEP_LADDER)}
_U_COMPLETE, _U_REFER, _U_ACCEPT = U["complete"], U["refer"], U["accept"]
_U_IN_DEPTH, _U_ONWARD, _U_DEST, _U_REMIT = U["in_depth"], U["onward"], U["destination"], U["remit"]
# event codes, and the "none" staff/appointment -1, are logged as floats: the record's
# float array is built from the log fastest when fewer of its numbers are ints
_EF = {k: float(v) for k, v in E.items()}
_E_ARRIVAL, _E_SCREENED, _E_BEGINS, _E_COMPLETES = (
    float(E["arrival"]),
    float(E["screened"]),
    float(E["begins"]),
    float(E["completes"]),
)
_E_DNA, _E_DROPOUT, _E_STEP_UP, _E_COURSE_ENDS = (
    float(E["dna"]),
    float(E["dropout"]),
    float(E["step_up"]),
    float(E["course_ends"]),
)
_E_DISCHARGED, _E_ONWARD, _E_RISK, _E_WAIT_ENDS = (
    float(E["discharged"]),
    float(E["onward_referred"]),
    float(E["risk_flagged"]),
    float(E["wait_ends"]),
)
_S_SCREENING, _S_PROC, _S_DUTY = S["screening"], S["processing"], S["duty"]
_S_ASSESS, _S_DEEP, _S_TEAM, _S_DISCHARGE = (
    S["assessment"],
    S["in_depth_assessment"],
    S["team_support"],
    S["discharge"],
)
_S_REFERRAL, _S_ONWARD = S["referral"], S["onward"]
_R_ONWARD = R["onward_referred"]
_LADDER_STEP3 = LADDER_IDX["step3"]


class PathwayMixin:
    """What happens to a client (used by HubModel)."""

    # ------------------------------------------------------------------ entry
    def _arrive(self, c):
        now = self.now
        ev = self.ev
        ev.extend((c, now, _S_REFERRAL, _E_ARRIVAL, -1.0, -1.0))
        if self._after_acceptance:
            self._to_processing(c)
            return
        sc = self.iv.screening
        u = self.u_rows[c]
        if u[_U_COMPLETE] >= sc.p_complete:
            ev.extend((c, now, _S_SCREENING, _EF["screening_not_completed"], -1.0, -1.0))
            self._terminal(c, R["screening_not_completed"], _S_SCREENING)
            return
        if self._self_assessment and u[_U_REFER] >= sc.p_refer_after_self_assessment:
            ev.extend((c, now, _S_SCREENING, _E_SCREENED, -1.0, -1.0))
            ev.extend((c, now, _S_SCREENING, _EF["not_referred"], -1.0, -1.0))
            self._terminal(c, R["not_referred"], _S_SCREENING)
            return
        # screened (see _screened), then on to referral processing
        ev.extend((c, now, _S_SCREENING, _E_SCREENED, -1.0, -1.0))
        if self.risk[c] and self.pool_duty:
            ev.extend((c, now, _S_DUTY, _E_RISK, -1.0, -1.0))
            self.duty_cont[c] = self._to_processing
            self._enqueue(c, _S_DUTY, renege=False)
            if self.risk_first:
                self._book_duty(c)
        elif self.pool_proc:
            self._enqueue(c, _S_PROC, renege=False)
            self._book_processing(c)
        else:
            self._processed(c)

    def _initial(self, c, stage):
        """A client of the initial waiting list joins ``stage``'s list at time 0."""
        self.ev.extend((c, 0.0, _S_REFERRAL, _E_ARRIVAL, -1.0, -1.0))
        if stage in ("assessment", "in_depth_assessment"):
            st = _S_ASSESS if stage == "assessment" else _S_DEEP
            self._enqueue(c, st)
            self._book_assessments()
            return
        if stage == "treatment":
            self._plan_in_house(c)
            return
        self.pending[c].append(STEP_CODE[stage])
        self._next_course(c)

    def _screened(self, c, cont):
        now = self.now
        self.ev.extend((c, now, _S_SCREENING, _E_SCREENED, -1.0, -1.0))
        if self.risk[c] and self.pool_duty:
            self.ev.extend((c, now, _S_DUTY, _E_RISK, -1.0, -1.0))
            self.duty_cont[c] = cont
            self._enqueue(c, _S_DUTY, renege=False)
            if self.risk_first:
                self._book_duty(c)
        else:
            cont(c)

    def _to_processing(self, c):
        if not self.pool_proc:
            self._processed(c)
            return
        self._enqueue(c, _S_PROC, renege=False)
        self._book_processing(c)

    def _book_processing(self, c):
        d = self.dur_proc[c]
        x, sid = self._earliest(self.pool_proc, CH_ADMIN, self.now, d, INF)
        if x is None:
            return
        self.booked[c] = self._book(K_PROC, sid, CH_ADMIN, x, d, c, None, _S_PROC, -1)

    def _processed(self, c):
        sc = self.iv.screening
        u = self.u_rows[c]
        if u[_U_ACCEPT] >= sc.p_accepted:
            self.ev.extend((c, self.now, _S_PROC, _EF["not_accepted"], -1.0, -1.0))
            self._terminal(c, R["not_accepted"], _S_PROC)
            return
        if self._after_acceptance:
            if u[_U_COMPLETE] >= sc.p_complete:
                self.ev.extend((c, self.now, _S_SCREENING, _EF["screening_not_completed"], -1.0, -1.0))
                self._terminal(c, R["screening_not_completed"], _S_SCREENING)
                return
            self._screened(c, self._to_assessment)
            return
        self._to_assessment(c)

    def _to_assessment(self, c):
        self._enqueue(c, _S_ASSESS)
        if self._head(_S_ASSESS) == c:
            self._book_assessment(c, _S_ASSESS)

    def _assessed(self, c, deep):
        u = self.u_rows[c]
        if (
            self.two_stage
            and not deep
            and (
                self.need[c] >= _LADDER_STEP3
                or u[_U_IN_DEPTH] < self.iv.assessment.p_in_depth_if_low_need
            )
        ):
            self._enqueue(c, _S_DEEP)
            if self._head(_S_DEEP) == c:
                self._book_assessment(c, _S_DEEP)
            return
        # onward if drawn so, or if no in-house step would take them (has_path: a needed
        # ladder step or an adjunct pathway)
        if u[_U_ONWARD] < self._p_onward or not self.has_path[c]:
            self._onward(c)
            return
        self._plan_in_house(c)

    def _onward(self, c):
        if not len(self.dest_cum):
            self._terminal(c, R["completed"])
            return
        k, wait, treated, effect = self.ext_plan[c]
        self.dest[c] = k
        self.ext_wait[c] = wait
        self.ext_treated[c] = treated
        now = self.now
        pre_wait = now - self.ref_l[c]
        self.pre_treat_done[c] = True
        if self.q_stage[c] >= 0:
            self._wait_ends_renege(c)
        lat = self.latent[c]
        if treated:
            wait_effects(lat, self.z0_l[c], self.u_remit[c], pre_wait + wait, self.outcomes)
            lat[:] = [v - effect for v in lat]
        else:
            wait_effects(lat, self.z0_l[c], self.u_remit[c], pre_wait, self.outcomes)
        self.ev.extend((c, now, _S_ONWARD, _E_ONWARD, -1.0, -1.0))
        self.reason[c] = _R_ONWARD

    def _plan_in_house(self, c):
        steps = []
        ladder = self.start[c]
        if self.adj["group"][c] and STEP_CODE["group"] in self.step_pool:
            steps.append(STEP_CODE["group"])
        elif ladder >= 0:
            steps.append(STEP_CODE[STEP_LADDER[ladder]])
        for s in ("pharmacological", "pastoral"):
            if self.adj[s][c] and STEP_CODE[s] in self.step_pool:
                steps.append(STEP_CODE[s])
        if not steps:
            self._terminal(c, R["completed"])
            return
        self.pending[c].extend(steps)
        self._next_course(c)

    def _next_course(self, c):
        code = self.pending[c].popleft()
        stage = STEP_STAGE[code]
        self._enqueue(c, stage)
        if self.is_group[code]:
            self.group_pool[code].append(c)
            return
        if self._head(stage) == c:
            self._allocate(c, code)

    # ------------------------------------------------------------ appointments
    def _session_len(self, c, code, ix):
        dist = self.session_dist[code]
        fixed = self.session_fixed[code]
        if fixed is not None:
            return fixed
        u = self._appt_draw(c, ix)[2]
        return float(dist.ppf(np.array([u]))[0]) / 1440.0

    def _appt_draw(self, c, ix):
        if ix < N_APPOINTMENTS:
            flat = self._appt_rows.get(c)
            if flat is None:
                flat = self._appt_rows[c] = self.appt_u.flat(c)
            k = 3 * ix
            return flat[k : k + 3]
        g = self._overflow(c)
        return g.random(3)

    def _course_draw(self, c, k):
        if k < N_COURSES:
            return self.course_u[c, k].tolist()  # Python floats (see HubModel.ref_l)
        g = self._overflow(c)
        return np.array([g.standard_normal(), g.random()])

    def _overflow(self, c):
        g = self._over.get(c)
        if g is None:
            gk, lk = self._key_names[int(self._id_code[c])]
            idx = int(self._id_index[c])
            g = overflow(self.seed, self.scenario, self.rep, gk, lk, idx)
            self._over[c] = g
        return g

    def _appt_end(self, a):
        """An appointment reaches its end: act on it (see booking: one event a booking)."""
        row = self.ap[a]
        if row[9] != 0:
            return
        row[9] = 1
        kind, sid, _ch, start, end, c, course, stage = row[:8]
        self.staff_appts[sid].discard(a)
        if kind == K_SESSION:
            self._session_done(a, course, c, start, end)
            return
        ev = self.ev
        if kind == K_TEAM:
            ev.extend((-1, start, _S_TEAM, _E_BEGINS, sid, a))
            ev.extend((-1, end, _S_TEAM, _E_COMPLETES, sid, a))
            return
        if kind == K_GROUP:
            self._group_done(a, course, start, end)
            return
        if self.reason[c] >= 0:
            return
        # self._wait_ends(c, start), inlined (once a client's assessment or call)
        st = self.q_stage[c]
        if st >= 0:
            w = start - self.q_enter[c]
            self.waited[c] += w if st in self.renege_lists else 0.0
            self.q_area[st] += w
            ev.extend((c, start, st, _E_WAIT_ENDS, -1.0, -1.0))
            self.q_stage[c] = -1
            self.q_token[c] += 1
            self.booked[c] = -1
        ev.extend((c, start, stage, _E_BEGINS, sid, a))
        ev.extend((c, end, stage, _E_COMPLETES, sid, a))
        if kind == K_PROC:
            self._processed(c)
        elif kind == K_DUTY:
            self.duty_cont.pop(c)(c)
        else:
            self.assessor[c] = sid
            self._assessed(c, kind == K_DEEP)
            self._book_assessments()

    def _session_done(self, a, course, c, start, end):
        course.appts.discard(a)
        course.booked -= 1
        if self.reason[c] >= 0 or not course.open:
            return
        att = self.att
        sid = course.sid
        stage = STEP_STAGE[course.step]
        u_dna, u_drop, _u_len = self._appt_draw(c, self.ap[a][8])
        if u_dna < att.p_dna:
            self.ev.extend((c, start, stage, _E_DNA, sid, a))
            course.consec[c] += 1
            if course.consec[c] >= att.discharge_after_dna:
                self._end_course(course, c, R["dna_discharge"])
                return
            if self.booked[c] == a:
                self.booked[c] = -1  # still waiting for a first attended session
            self._next_due(course)
            return
        first = c not in course.started
        if first:
            course.started.add(c)
            self._course_started(course)
            self.waiting_course[c] = None
            self._wait_ends(c, start)
            self._first_treatment(c, start)
        self.ev.extend((c, start, stage, _E_BEGINS, sid, a))
        self.ev.extend((c, end, stage, _E_COMPLETES, sid, a))
        course.consec[c] = 0
        course.attended[c] += 1
        if course.attended[c] >= course.planned:
            self._end_course(course, c, -1)
            return
        if u_drop < att.p_dropout_per_session:
            self.ev.extend((c, end, stage, _E_DROPOUT, sid, -1.0))
            self._end_course(course, c, R["dropped_out_treatment"])
            return
        self._next_due(course)

    def _first_treatment(self, c, t):
        if not self.pre_treat_done[c]:
            self.pre_treat_done[c] = True
            self._wait_effects(c, t - self.ref_l[c])

    def _leave_course(self, course, c):
        """A client leaves an open course early (renege before starting, dropout, DNAs)."""
        if len(course.members) == 1:
            for x in list(course.appts):
                self._cancel(x)
            course.appts.clear()
            course.booked = 0
            course.open = False
            self.ev.extend((c, self.now, STEP_STAGE[course.step], _E_COURSE_ENDS, course.sid, -1.0))
            self._release(course.sid)
        else:
            course.members = [m for m in course.members if m != c]

    def _end_course(self, course, c, reason):
        step = self.steps[course.step]
        z, u_up = self._course_draw(c, course.index[c])
        eff = (step.effect.mean + step.effect.sd * z) * (course.attended[c] / course.planned)
        lat = self.latent[c]
        for i in range(5):
            lat[i] -= eff
        if reason >= 0:
            self._leave_course(course, c)
            self._terminal(c, reason)
            return
        if len(course.members) == 1:
            course.open = False
            for x in list(course.appts):
                self._cancel(x)
            self.ev.extend((c, self.now, STEP_STAGE[course.step], _E_COURSE_ENDS, course.sid, -1.0))
            self._release(course.sid)
        self.completed_course[c] = True
        sid = STEP_IDS[course.step]
        if (
            not self.reversed
            and sid in LADDER_IDX
            and still_a_case(self.latent[c])
            and u_up < self.iv.care_model.p_step_up
        ):
            nxt = [
                STEP_CODE[s]
                for s in STEP_LADDER[LADDER_IDX[sid] + 1 :]
                if STEP_CODE[s] in self.step_pool
            ]
            if nxt:
                self.ev.extend((c, self.now, STEP_STAGE[course.step], _E_STEP_UP, -1.0, -1.0))
                self.assessor[c] = course.sid
                self.pending[c].appendleft(nxt[0])
        if self.pending[c]:
            self._next_course(c)
        else:
            self._terminal(c, R["completed"])

    # ------------------------------------------------------------------ groups
    def _group_tick(self, code):
        step = self.steps[code]
        stage = STEP_STAGE[code]
        live = [c for c in self.group_pool[code] if self.q_stage[c] == stage and self.reason[c] < 0]
        self.group_pool[code] = live
        while len(live) >= step.group_size_min:
            t0, until = self._window()
            d = self.session_fixed[code] or step.session_minutes.mean / 1440.0
            x, sid = self._choose(self.step_pool[code], 0, t0, d, until, caseload=True)
            if x is None:
                break
            k = step.group_size_max or len(live)
            members = live[: min(k, len(live))]
            del live[: len(members)]
            self.caseload[sid] += 1
            course = Course(
                code,
                sid,
                int(step.sessions.mean),
                list(members),
                {m: self.n_course[m] for m in members},
            )
            for m in members:
                self.n_course[m] += 1
                self.waiting_course[m] = course
                self.ev.extend((m, self.now, stage, _EF["allocated"], sid, -1.0))
            self._book_session(course, x, d)
        nxt = self.now + step.group_cadence_days
        if nxt < self.H:
            self._at(nxt, self._group_tick, code)

    def _group_done(self, a, course, start, end):
        course.appts.discard(a)
        course.booked -= 1
        if not course.open:
            return
        att = self.att
        sid = course.sid
        stage = STEP_STAGE[course.step]
        course.done += 1
        for m in list(course.members):
            if self.reason[m] >= 0:
                continue
            u_dna, u_drop, _ = self._appt_draw(m, self.n_appt[m])
            self.n_appt[m] += 1
            if u_dna < att.p_dna:
                self.ev.extend((m, start, stage, _E_DNA, sid, a))
                course.consec[m] += 1
                if course.consec[m] >= att.discharge_after_dna:
                    self._end_course(course, m, R["dna_discharge"])
                continue
            if m not in course.started:
                if not course.started:
                    course.started.add(m)
                    self._course_started(course)
                else:
                    course.started.add(m)
                self.waiting_course[m] = None
                self._wait_ends(m, start)
                self._first_treatment(m, start)
            self.ev.extend((m, start, stage, _E_BEGINS, sid, a))
            self.ev.extend((m, end, stage, _E_COMPLETES, sid, a))
            course.consec[m] = 0
            course.attended[m] += 1
            if course.done < course.planned and u_drop < att.p_dropout_per_session:
                self.ev.extend((m, end, stage, _E_DROPOUT, sid, -1.0))
                self._end_course(course, m, R["dropped_out_treatment"])
        live = [m for m in course.members if self.reason[m] < 0]
        if course.done >= course.planned or not live:
            course.open = False
            for x in list(course.appts):
                self._cancel(x)
            for m in live:
                self.ev.extend((m, self.now, stage, _E_COURSE_ENDS, sid, -1.0))
            self._release(sid)
            for m in live:
                self._end_group_member(course, m)
            return
        self._next_due(course)

    def _end_group_member(self, course, c):
        step = self.steps[course.step]
        z, _u = self._course_draw(c, course.index[c])
        eff = (step.effect.mean + step.effect.sd * z) * (course.attended[c] / course.planned)
        lat = self.latent[c]
        for i in range(5):
            lat[i] -= eff
        self.completed_course[c] = True
        if self.pending[c]:
            self._next_course(c)
        else:
            self._terminal(c, R["completed"])

    # ------------------------------------------------------------------ team support
    def _team_week(self, week):
        now = self.now
        dia = self.dia
        # each member's earliest free team time for a task of length d, kept while their
        # diary is unchanged (booking one task changes one member's diary only)
        known: dict[int, tuple] = {}
        for hours, pool in self.team_acts:
            left = hours
            while left > 1e-9:
                h = min(1.0, left)  # assumption: team work in tasks of at most an hour
                d = h / 24.0
                # the earliest slot in the pool, ties within EPS to the first member
                # (as _earliest)
                best, who = INF, -1
                for sid in pool:
                    diary = dia[sid][CH_TEAM]
                    k = known.get(sid)
                    if k is not None and k[0] == diary.v and k[1] == d:
                        x = k[2]
                    else:
                        x = diary.find(now, d, INF)
                        known[sid] = (diary.v, d, x)
                    if x is not None and x < best - EPS:
                        best, who = x, sid
                if who < 0:
                    break
                self._book(K_TEAM, who, CH_TEAM, best, d, -1, None, _S_TEAM, -1)
                left -= h
        nxt = self.now + 7.0
        if nxt < self.H:
            self._at(nxt, self._team_week, week + 1)

    # ------------------------------------------------------------------ endings
    def _terminal(self, c, reason, stage=_S_DISCHARGE):
        if self.q_stage[c] >= 0:
            self._wait_ends_renege(c)  # leaves a list without the work starting
        if not self.pre_treat_done[c]:
            self.pre_treat_done[c] = True
            self._wait_effects(c, self.now - self.ref_l[c])
        self.reason[c] = reason
        self.ev.extend((c, self.now, stage, _E_DISCHARGED, -1.0, -1.0))

    def _wait_effects(self, c, wait_days):
        wait_effects(self.latent[c], self.z0_l[c], self.u_remit[c], wait_days, self.outcomes)
