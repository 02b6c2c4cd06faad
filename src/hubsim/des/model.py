"""The hub as a discrete-event simulation on SimPy: one replication, returning a record.

``HubModel(config, horizon_days, seed=..., scenario=..., replication=...).run()`` builds
the staff and their diaries (:mod:`hubsim.des.staff`), the arrivals
(:mod:`hubsim.des.demand`) and each client's attributes (:mod:`hubsim.des.streams`),
runs the client process (:mod:`hubsim.des.pathway`) with its bookings
(:mod:`hubsim.des.booking`) on SimPy's event queue, and returns a
:class:`hubsim.des.record.RunRecord`. The kernel is callback-driven: every event is a
scheduled call of a method (no generator process per client) on the heap of a
``simpy.Environment``, processed in SimPy's order (time, priority, insertion id) by the
kernel's own loop (:meth:`HubModel._loop`: no per-event ``step`` machinery, and the
arrivals merged in from a sorted list rather than pushed), and every record is appended
to one flat list.

Examples
--------
>>> import hubsim
>>> cfg = hubsim.load_config("site_d")
>>> rec = HubModel(cfg, 60, seed=1, scenario="d", replication=0).run()
>>> rec.n_clients > 0, rec.events.shape[1]
(True, 6)
"""

from __future__ import annotations

import gc
import itertools
import math
from collections import deque
from heapq import heappop, heappush

import numpy as np
import pandas as pd
import simpy

from hubsim.config.schema import STEP_IDS, STEP_LADDER, ServiceConfig
from hubsim.des import staff as staff_mod
from hubsim.des.booking import INF, BookingMixin, Diary, _Call
from hubsim.des.demand import arrivals as draw_arrivals
from hubsim.des.pathway import LADDER_IDX, PathwayMixin
from hubsim.des.record import EVENT_FIELDS, STEP_STAGE, RunRecord, S
from hubsim.des.streams import DURATIONS, U, outcome_scores
from hubsim.des.streams import draw as draw_clients

_ACT_CLIN, _ACT_DUTY, _ACT_TEAM, _ACT_ADMIN = 0, 1, 2, 4


class HubModel(BookingMixin, PathwayMixin):
    """One replication of a hub configuration.

    Parameters
    ----------
    config : ServiceConfig
    horizon_days : float
    seed : int
    scenario : str
        Key of the random streams (configurations run under the same key and seed share
        common random numbers).
    replication : int
    initial_waiting_list : pandas.DataFrame or None
        Columns ``waited_days``, ``stage`` and ``group`` (index into the occupational
        groups), as :func:`hubsim.des.simulate.initial_frame` makes it.
    """

    def __init__(
        self,
        config: ServiceConfig,
        horizon_days: float,
        *,
        seed: int,
        scenario: str,
        replication: int,
        initial_waiting_list=None,
    ):
        self.cfg = config
        self.H = float(horizon_days)
        self.seed = seed
        self.scenario = scenario
        self.rep = replication
        self.iv = config.interventions
        sim = config.simulation
        self.att = sim.attendance
        self.outcomes = sim.outcomes
        self.booking = sim.booking
        self.risk_first = self.booking.priorities[0] == "risk"
        timing = self.iv.screening.timing
        self._after_acceptance = timing == "after_acceptance"
        self._self_assessment = timing == "self_assessment_before_referral"
        self._p_onward = self.iv.onward_referral.p_onward
        self.rank = {k: i for i, k in enumerate(self.booking.priorities)}
        self._r_risk, self._r_sessions = self.rank["risk"], self.rank["sessions"]
        self._r_assess, self._r_new = self.rank["assessments"], self.rank["new_courses"]
        b = self.booking
        self._notice = b.min_notice_days
        self._h_book = INF if b.horizon_days is None else b.horizon_days
        self.reversed = self.iv.care_model.kind == "reversed_stepped"
        self.instruments = tuple(self.iv.screening.measures)
        self.steps = [self.iv.steps.get(s) for s in STEP_IDS]
        self._ran = False  # a model runs once (see run)
        gc_on = gc.isenabled()
        gc.disable()
        try:
            self._build_staff()
            self._build_routing()
            self._draw_clients(initial_waiting_list)
        finally:
            if gc_on:
                gc.enable()

    # ---------------------------------------------------------------- construction
    def _build_staff(self):
        cfg = self.cfg
        self.staff = staff_mod.members(cfg)
        self.roster = staff_mod.roster(
            cfg, self.staff, self.H, seed=self.seed, scenario=self.scenario, replication=self.rep
        )
        b = self.roster.blocks
        self.dia = [
            [
                Diary(b[m.sid][_ACT_CLIN]),
                Diary(b[m.sid][_ACT_DUTY]),
                Diary(b[m.sid][_ACT_TEAM]),
                Diary(b[m.sid][_ACT_ADMIN]),
            ]
            for m in self.staff
        ]
        # each channel's free-interval lists by member (the Diaries' own lists, which they
        # change in place): the pool searches of hubsim.des.booking read them directly
        self._fs = [[d[ch].s for d in self.dia] for ch in range(4)]
        self._fe = [[d[ch].e for d in self.dia] for ch in range(4)]
        self.cap = [m.cap for m in self.staff]
        self.caseload = [0] * len(self.staff)
        self.qualified = [m.qualified for m in self.staff]
        self.staff_appts: list[set] = [set() for _ in self.staff]
        self.role_ids = [r.id for r in cfg.service.workforce.roles]

    def _pool(self, role_list, senior_only=False, junior_first=False, activity=_ACT_CLIN):
        roles = self.cfg.service.workforce.roles
        ridx = [self.role_ids.index(r) for r in role_list if r in self.role_ids]
        if senior_only:
            q = [i for i in ridx if roles[i].qualified]
            ridx = q or ridx
        if junior_first:
            from hubsim.config.schema import BAND_ORDER

            ridx = sorted(ridx, key=lambda i: BAND_ORDER.index(roles[i].band_low))
        blocks = self.roster.blocks
        return [
            m.sid
            for i in ridx
            for m in self.staff
            if m.role == i
            and (blocks[m.sid][activity] or (activity == _ACT_CLIN and blocks[m.sid][_ACT_DUTY]))
        ]

    def _build_routing(self):
        iv = self.iv
        rev = self.reversed
        self.pool_duty = self._pool(iv.triage.risk.duty_roles)
        self.pool_proc = self._pool(iv.screening.processing_roles, activity=_ACT_ADMIN)
        a = iv.assessment
        self.two_stage = a.model == "two_stage"
        self.pool_short = (
            self._pool(a.short.roles, senior_only=rev, junior_first=not rev)
            if self.two_stage
            else []
        )
        self.pool_deep = self._pool(a.in_depth.roles, senior_only=rev)
        self.step_pool = {}
        for code, (sid, step) in enumerate(iv.steps.items()):
            if step.offered:
                pool = self._pool(step.roles, senior_only=rev and sid in STEP_LADDER)
                if pool:
                    self.step_pool[code] = pool
        self.step_codes = [c for c in self.step_pool if not self._is_group(c)]
        self.is_group = [self._is_group(c) for c in range(len(STEP_IDS))]
        self.interval = [float(s.interval_days) for s in self.steps]
        self.session_dist = [s.session_minutes for s in self.steps]
        self.session_fixed = [
            float(s.session_minutes.value) / 1440.0 if s.session_minutes.dist == "fixed" else None
            for s in self.steps
        ]
        self.renege_lists = {S["assessment"], S["in_depth_assessment"], *STEP_STAGE.values()}
        self.ext = {e.id: e for e in self.cfg.simulation.external_services}
        dests = iv.onward_referral.destinations
        self.dest_ids = [d.service for d in dests]
        self.dest_cum = np.cumsum([d.share for d in dests]) if dests else np.array([])
        ts = iv.team_support
        self.team_acts = []
        for name in ("consultation", "workshops", "peer_support"):
            act = getattr(ts, name)
            if act.offered and act.hours_per_month > 0 and act.roles:
                pool = self._pool(act.roles, activity=_ACT_TEAM)
                if pool:
                    self.team_acts.append((act.hours_per_month * 12.0 / 52.0, pool))

    def _is_group(self, code):
        return STEP_IDS[code] == "group" or self.steps[code].delivery == "group"

    def _draw_clients(self, initial):
        cfg = self.cfg
        groups = cfg.service.target_population.groups
        arr = draw_arrivals(
            cfg, self.H, seed=self.seed, scenario=self.scenario, replication=self.rep
        )
        self.arrivals = arr
        n0 = 0 if initial is None else len(initial)
        n = n0 + len(arr.time)
        self.n0, self.n = n0, n
        # identities: the initial list first, then arrivals in time order; key code k of a
        # client is its (group, layer) pair (0 for the initial list)
        gkeys = [g.id for g in groups]
        n_layers = len(arr.layer_names)
        key_names = [("initial", "initial")] + [
            (gk, lk) for gk in gkeys for lk in arr.layer_names
        ]
        code = np.zeros(n, dtype=np.int64)
        code[n0:] = 1 + arr.group * n_layers + arr.layer
        index = np.empty(n, dtype=np.int64)
        index[:n0] = np.arange(n0)
        index[n0:] = arr.index
        self._id_code, self._id_index, self._key_names = code, index, key_names
        # draw by (group, layer) key with ascending indices, then put back in client order
        order = np.argsort(code, kind="stable")
        codes = code[order]
        cuts = np.flatnonzero(np.diff(codes)) + 1
        keys = [
            (*key_names[int(code[part[0]])], index[part])
            for part in np.split(order, cuts)
            if len(part)
        ]
        self._keys, self._key_order = keys, order
        # client c is row inv[c] of the draws in key order
        inv = np.empty(n, dtype=np.int64)
        inv[order] = np.arange(n)
        self._inv = inv
        mean = np.array(
            [
                cfg.simulation.clients.means[d]
                for d in ("depression", "anxiety", "trauma", "alcohol", "functioning")
            ]
        )
        att = draw_clients(
            keys,
            seed=self.seed,
            scenario=self.scenario,
            replication=self.rep,
            correlation=np.asarray(cfg.simulation.clients.correlation, dtype=float),
            means=mean,
            instruments=self.instruments,
            order=inv,  # every attribute comes back in client order
        )
        self.latent0 = att["latent"] if n else np.empty((0, 5))
        self.z0 = att["z0"] if n else np.empty((0, 5))
        self.u = att["u"] if n else np.empty((0, len(U)))
        dur_u = att["durations"] if n else np.empty((0, len(DURATIONS)))
        ses_u = att["sessions"] if n else np.empty((0, 7))
        self.appt_u = att["appointments"] if n else None
        self.course_u = att["courses"] if n else np.empty((0, 1, 2))
        self._external(att["external"] if n else np.empty((0, 3)))
        self.pre = att["pre"] if n else pd.DataFrame()
        groups_arr = np.empty(n, dtype=np.int64)
        ref_at = np.empty(n)
        if n0:
            groups_arr[:n0] = initial["group"].to_numpy()
            ref_at[:n0] = -initial["waited_days"].to_numpy(dtype=float)
        groups_arr[n0:] = arr.group
        ref_at[n0:] = arr.time
        self.groups = groups_arr
        self.ref_at = ref_at
        # the kernel's copy as Python floats: numpy scalars would make every wait computed
        # from them (and the latent states they update) numpy scalars, several times slower
        # to compute with, for the same IEEE values
        self.ref_l = ref_at.tolist()
        self.initial_stage = list(initial["stage"]) if n0 else []
        # the in-depth list is used only by the two-stage model (or an initial list on it)
        both = self.two_stage or "in_depth_assessment" in self.initial_stage
        self.assess_lists = (S["assessment"], S["in_depth_assessment"])[: 2 if both else 1]
        iv = self.iv
        a = iv.assessment
        short = a.short if a.short is not None else a.in_depth

        def minutes(dist, col):
            return (dist.ppf(np.minimum(dur_u[:, col], 1 - 1e-12)) / 1440.0).tolist() if n else []

        self.dur_proc = minutes(iv.screening.processing_minutes, 0)
        self.dur_duty = minutes(iv.triage.risk.duty_minutes, 1)
        self.dur_short = minutes(short.duration_minutes, 2)
        self.dur_deep = minutes(a.in_depth.duration_minutes, 3)
        planned = np.ones((n, len(STEP_IDS)), dtype=np.int64)
        for code, step in enumerate(self.steps):
            if n:
                planned[:, code] = np.maximum(1, np.rint(step.sessions.ppf(ses_u[:, code])))
        self.planned = planned.tolist()
        self._triage_all()
        # renege time on the cumulative waiting clock, F(x) = x / (x + scale), drawn
        # conditional on the days already waited (initial list): the hazard continues
        scale = self.att.renege_scale_days
        waited0 = np.maximum(-ref_at, 0.0) if n else np.empty(0)
        if scale is None:
            self.renege_at = [INF] * n
        else:
            f0 = waited0 / (waited0 + scale)
            f = f0 + self.u[:, U["renege"]] * (1.0 - f0)
            self.renege_at = (scale * f / np.maximum(1.0 - f, 1e-300)).tolist()
        self.waited0 = waited0.tolist()
        self.u_rows = self.u.tolist()
        self.u_remit = self.u[:, U["remit"]].tolist() if n else []

    def _external(self, draws):
        """Each client's onward destination and external wait, treatment and effect (drawn
        now, vectorised, from their keyed uniforms; used only if they are referred on)."""
        n = len(draws)
        k = np.zeros(n, dtype=np.int64)
        if len(self.dest_cum) and n:
            u = self.u[:, U["destination"]] * self.dest_cum[-1]
            k = np.minimum(np.searchsorted(self.dest_cum, u, side="right"), len(self.dest_ids) - 1)
        wait = np.zeros(n)
        treated = np.zeros(n, dtype=bool)
        effect = np.zeros(n)
        for j, sid in enumerate(self.dest_ids):
            m = k == j
            if not m.any():
                continue
            svc = self.ext[sid]
            wait[m] = svc.wait_days.ppf(np.minimum(draws[m, 0], 1 - 1e-12))
            treated[m] = draws[m, 1] < svc.p_treated
            effect[m] = svc.effect.mean + svc.effect.sd * draws[m, 2]
        self.ext_plan = list(zip(k.tolist(), wait.tolist(), treated.tolist(), effect.tolist(), strict=True))

    def _triage_all(self):
        """Needed ladder step, start step and adjunct steps of every client (vectorised)."""
        iv = self.iv
        n = self.n
        offered = {s for s, st in iv.steps.items() if st.offered}
        ladder_off = [s for s in STEP_LADDER if s in offered]
        need = np.full(n, -1, dtype=np.int64)
        adj = {s: np.zeros(n, dtype=bool) for s in ("group", "pharmacological", "pastoral")}
        default = iv.triage.default_step
        for rule in iv.triage.rules:
            if rule.measure not in self.pre:
                continue
            hit = self.pre[rule.measure].to_numpy(dtype=float) >= rule.at_least
            if rule.step in LADDER_IDX:
                need = np.where(hit, np.maximum(need, LADDER_IDX[rule.step]), need)
            else:
                adj[rule.step] |= hit
        if default in LADDER_IDX:
            need = np.where(need < 0, LADDER_IDX[default], need)
        off_idx = [LADDER_IDX[s] for s in ladder_off]

        def to_offered(k):
            if k < 0 or not off_idx:
                return -1
            above = [i for i in off_idx if i >= k]
            return min(above) if above else max(off_idx)

        # look-up tables indexed by k + 1 (k = -1 is "none")
        table = np.array([to_offered(k) for k in range(-1, len(STEP_LADDER))], dtype=np.int64)
        need = table[need + 1]
        li = LADDER_IDX["low_intensity"]

        def start_of(k):
            if k < 0:
                return -1
            lo = min(k, li)
            cand = [i for i in off_idx if lo <= i <= k]
            return min(cand) if cand else k

        stable = np.array([start_of(k) for k in range(-1, len(STEP_LADDER))], dtype=np.int64)
        start = need.copy() if self.reversed else stable[need + 1]
        u = self.u
        for j, s in enumerate(("group", "pharmacological", "pastoral")):
            st = iv.steps.get(s)
            if st.offered:
                adj[s] |= u[:, U["group"] + j] < st.p_routed
            else:
                adj[s][:] = False
        self.need = need.tolist()
        self.start = start.tolist()
        self.adj = {k: v.tolist() for k, v in adj.items()}
        # an in-house step could take them: a needed ladder step or an adjunct pathway
        self.has_path = ((need >= 0) | adj["group"] | adj["pharmacological"] | adj["pastoral"]).tolist()
        risk = iv.triage.risk
        if "phq9_item9" in self.pre:
            self.risk = (self.pre["phq9_item9"].to_numpy() >= risk.item9_at_least).tolist()
        else:
            self.risk = [False] * n

    # ------------------------------------------------------------------- events
    def _at(self, t, fn, *args):
        """Call ``fn(*args)`` at time ``t`` (a :class:`~hubsim.des.booking._Call` on the heap).

        This is ``Environment.schedule(event, NORMAL, delay)`` written out (it runs once
        per event of the run): the same heap entry ``(now + delay, NORMAL=1, next(eid),
        call)``, so the order of events, and the event log, are those of ``schedule``.
        The heap and the first ids are SimPy's private ``Environment._queue`` and ``_eid``,
        unchanged throughout SimPy 4 (pyproject pins ``simpy>=4.1,<5``; ``_run`` checks
        they exist). :meth:`_loop` sets ``self.now`` before each call. ``_book`` writes
        the same push out for its appointment ends (once an appointment).
        """
        now = self.now
        heappush(
            self._queue,
            (now + (t - now if t > now else 0.0), 1, next(self._eid), _Call(fn, args)),
        )

    def _loop(self):
        """``env.run(until=self.H)`` for the kernel's own events, without SimPy's per-event
        ``step`` machinery.

        Every entry on the queue is a :class:`~hubsim.des.booking._Call` pushed as
        :meth:`_at` does, so processing one is popping it, setting the clock and making the
        call: the same events in the same order (time, priority, insertion id) as
        ``Environment.run``, which stops before the first event at ``until`` (its stop
        event is URGENT) and leaves the clock there.
        """
        env = self.env
        if not self.H > env._now:
            raise ValueError(f"until(={self.H}) must be > the current simulation time.")
        queue = self._queue
        H = self.H
        pop = heappop
        # while arrivals remain, each step takes the earlier of the heap's top and the next
        # arrival (see _run)
        arrive = self._arrive
        a_time, a_eid, a_client = self._arrivals
        i, m = 0, len(a_time)
        while i < m:
            ta = a_time[i]
            if queue:
                top = queue[0]
                th = top[0]
                if th < ta or (th == ta and top[2] < a_eid[i]):
                    if th >= H:
                        break
                    pop(queue)
                    self.now = th
                    ev = top[3]
                    ev.fn(*ev.args)
                    continue
            if ta >= H:
                break
            self.now = ta
            arrive(a_client[i])
            i += 1
        while queue and queue[0][0] < H:
            t, _prio, _eid, ev = pop(queue)
            self.now = t
            ev.fn(*ev.args)
        env._now = H

    # ------------------------------------------------------------------------- run
    def run(self) -> RunRecord:
        """Run to the horizon and return the record of what happened.

        A model runs once (the run books into the diaries it was built with); build a new
        one for another run.
        """
        if self._ran:
            raise RuntimeError(
                "this HubModel has already run (a run changes its diaries): build a new "
                "HubModel for another run"
            )
        self._ran = True
        # the kernel allocates many small objects and, once _drop_cycles has run, leaves no
        # reference cycles: generational GC passes over its growing lists would dominate
        # the run time
        gc_on = gc.isenabled()
        gc.disable()
        try:
            return self._run()
        finally:
            self._drop_cycles()
            if gc_on:
                gc.enable()

    def _drop_cycles(self):
        """Break the run's reference cycles (the model's bound methods held by the event
        heap, the booking passes and the risk calls' continuations).

        Without them the model and everything the run allocated are freed by reference
        counting as soon as the caller drops the model (about 7 ms for a full-opening Site
        D year). Left in a cycle, they were freed by the cyclic collector instead, whose
        first pass after a run (over every object the run allocated with collection off)
        took about 20 ms: an eighth of the kernel's time on that Site D year and a fifth on
        the M/M/c benchmark (benchmarks/bench_des.py prints the teardown and the
        collector's time).
        """
        queue = getattr(self, "_queue", None)
        if queue is not None:
            queue.clear()  # the events at or after the horizon, never processed
        self._passes = ()
        self.duty_cont = {}
        self.env = None
        self._queue = None

    def _run(self) -> RunRecord:
        n = self.n
        self.env = simpy.Environment()
        try:  # see _at: the kernel pushes onto SimPy's own event heap
            self._queue, self._eid = self.env._queue, self.env._eid
        except AttributeError as exc:  # pragma: no cover - only a SimPy outside 4.x
            raise RuntimeError(
                f"hubsim needs SimPy 4 (found {simpy.__version__}): its kernel schedules "
                "onto simpy.Environment._queue; install 'simpy>=4.1,<5'."
            ) from exc
        self.now = 0.0
        self.ev: list[float] = []
        nan = math.nan
        self.ap: list[list] = []  # the diary's appointments (see BookingMixin._book)
        self.q_stage = [-1] * n
        self.q_enter = [nan] * n
        self.q_token = [0] * n
        self.booked = [-1] * n
        self.waited = list(self.waited0)
        self.q_area = dict.fromkeys(range(len(S)), 0.0)
        self.lists = {st: deque() for st in range(len(S))}
        self.waiting_course = [None] * n
        self.reason = [-1] * n
        self.n_appt = [0] * n
        self.n_course = [0] * n
        self.assessor = [-1] * n
        self.dest = [-1] * n
        self.ext_wait = [nan] * n
        self.ext_treated = [False] * n
        self.pre_treat_done = [False] * n
        self.completed_course = [False] * n
        self.pending: list[deque] = [deque() for _ in range(n)]
        self.duty_cont: dict = {}
        self.group_pool = {code: [] for code in self.step_pool if self.is_group[code]}
        self.due_heap: list = []
        # pre-emption index: per member and priority class, the booked clinical
        # appointments (start times and ids, sorted by start) a higher class may move
        self.bx = [[([], []) for _ in self.rank] for _ in self.staff]
        passes = {
            "risk": self._book_risk_list,
            "sessions": self._book_due_sessions,
            "assessments": self._book_assessments,
            "new_courses": self._start_courses,
        }
        self._passes = [passes[k] for k in self.booking.priorities]
        self._seq = itertools.count()
        self._over: dict = {}
        self._appt_rows: dict = {}
        # latent states as plain lists (5 numbers a client): cheaper to update than rows of
        # an array one client at a time
        self.latent = self.latent0.tolist()
        self.z0_l = self.z0.tolist()
        self._at(0.0, self._daily, 0)
        if self.team_acts:
            self._at(0.0, self._team_week, 0)
        for code in self.group_pool:
            self._at(0.0, self._group_tick, code)
        for sid, spells in enumerate(self.roster.sickness):
            for a, b in spells:
                if a < self.H:
                    self._at(a, self._sick, sid, a, b)
        for c in range(self.n0):
            self._initial(c, self.initial_stage[c])
        # the arrivals are not pushed onto the heap (thousands of entries every pop would
        # sift through): _loop merges them in from this list, in the order the heap would
        # give them, by (time, insertion id), arrival k having id first + k and every later
        # event a higher one, as if they had been pushed here one by one
        times = np.asarray(self.ref_at[self.n0 :], dtype=float)
        now = self.now
        times = now + np.where(times > now, times - now, 0.0)  # _at's event time
        order = np.argsort(times, kind="stable")
        first = next(self._eid)
        self._eid = itertools.count(first + len(times))
        self._arrivals = (times[order].tolist(), (first + order).tolist(), (self.n0 + order).tolist())
        self._loop()
        self.now = self.H
        self._finalise()
        return self._record()

    def _finalise(self):
        """Appointments running at the horizon: log their start (they have no end)."""
        E_b = _E_BEGINS
        # the appointments still booked (status 0) are the members' live sets
        live = sorted(set().union(*self.staff_appts)) if self.staff_appts else []
        for a in live:
            row = self.ap[a]
            if row[3] >= self.H:
                continue
            c = self.ap[a][5]
            kind = self.ap[a][0]
            start, sid, stage = self.ap[a][3], self.ap[a][1], self.ap[a][7]
            if kind == 6:  # team support
                self.ev.extend((-1, start, stage, E_b, sid, a))
                continue
            members = self.ap[a][6].members if kind == 5 else [c]
            for m in members:
                if self.reason[m] >= 0:
                    continue
                if kind in (4, 5):
                    u_dna = self._appt_draw(m, self.ap[a][8] if kind == 4 else self.n_appt[m])[0]
                    if u_dna < self.att.p_dna:
                        self.ev.extend((m, start, stage, _E_DNA, sid, a))
                        continue
                if self.q_stage[m] >= 0 and (self.booked[m] == a or kind in (0, 1, 2, 3)):
                    self._wait_ends(m, start)
                self.ev.extend((m, start, stage, E_b, sid, a))
        # time still on the lists at the horizon counts towards the queue integral
        for c in range(self.n):
            st = self.q_stage[c]
            if st >= 0 and self.reason[c] < 0:
                self.q_area[st] += self.H - max(self.q_enter[c], 0.0)

    def _record(self) -> RunRecord:
        n = self.n
        ev = np.fromiter(self.ev, dtype=float, count=len(self.ev)).reshape(-1, len(EVENT_FIELDS))
        roles = self.cfg.service.workforce.roles
        staff = pd.DataFrame(
            {
                "staff_id": [m.label for m in self.staff],
                "role": [m.role_id for m in self.staff],
                "wte": [m.wte for m in self.staff],
                "caseload_cap": [m.cap if m.cap < 10**9 else -1 for m in self.staff],
                "qualified": [m.qualified for m in self.staff],
                "cost_per_hour": [m.cost for m in self.staff],
                "band_low": [roles[m.role].band_low for m in self.staff],
            }
        )
        sick = self.roster.sickness
        parts = []
        for m in self.staff:
            spells = sorted((a, b) for a, b in sick[m.sid] if a < self.H)
            for act, blocks in enumerate(self.roster.blocks[m.sid]):
                parts.append(_rostered(m.sid, act, blocks, spells, self.H))
        rostered = np.concatenate(parts) if parts else np.empty((0, 4))
        absences = list(self.roster.absences)
        for m in self.staff:
            absences.extend((m.sid, a, b, 3) for a, b in sick[m.sid] if a < self.H)
        absences = np.asarray(absences, dtype=float).reshape(-1, 4)
        # one pass over the numbers (np.asarray would first inspect every client's list)
        latent_end = np.fromiter(
            itertools.chain.from_iterable(self.latent), dtype=float, count=5 * n
        ).reshape(-1, 5)
        post = (
            outcome_scores(
                self._keys,
                latent_end,
                seed=self.seed,
                scenario=self.scenario,
                replication=self.rep,
                instruments=self.instruments,
                order=self._inv,  # in client order, as latent_end
            )
            if n
            else pd.DataFrame()
        )
        names = np.array(self._key_names, dtype=object).reshape(-1, 2)
        clients = {
            "referred_at": self.ref_at.copy(),
            "group": self.groups.copy(),
            "group_key": names[self._id_code, 0],
            "layer": names[self._id_code, 1],
            "index": self._id_index.copy(),
            "initial": np.arange(n) < self.n0,
            "needed_step": np.asarray(self.need, dtype=np.int64),
            "start_step": np.asarray(self.start, dtype=np.int64),
            "latent0": self.latent0.copy(),
            "latent_end": latent_end,
            "z0": self.z0.copy(),
            "pre": self.pre,
            "post": post,
            "destination": np.asarray(self.dest, dtype=np.int64),
            "external_wait": np.asarray(self.ext_wait, dtype=float),
            "external_treated": np.asarray(self.ext_treated, dtype=bool),
            "reason": np.asarray(self.reason, dtype=np.int64),
            "completed_course": np.asarray(self.completed_course, dtype=bool),
        }
        meta = {
            "config_name": self.cfg.name,
            "groups": [g.id for g in self.cfg.service.target_population.groups],
            "layers": list(self.arrivals.layer_names),
            "roles": list(self.role_ids),
            "destinations": list(self.dest_ids),
            "period_start": self.cfg.simulation.period.start,
            "calendar": self.cfg.simulation.calendar.kind,
            "instruments": list(self.instruments),
        }
        return RunRecord(
            replication=self.rep,
            horizon_days=self.H,
            events=ev,
            staff=staff,
            rostered=rostered,
            absences=absences,
            clients=clients,
            queue_area=dict(self.q_area),
            meta=meta,
        )


def _rostered(sid, act, blocks, spells, H):
    """Rows (sid, start, end, act) of one member's rostered ``blocks`` (sorted) of one
    activity before the horizon ``H``, less the sickness ``spells`` (sorted, disjoint)."""
    if not blocks:
        return np.empty((0, 4))
    b = np.asarray(blocks, dtype=float)
    b = b[: np.searchsorted(b[:, 0], H, side="left")]  # the blocks starting before H
    s, e = b[:, 0], np.minimum(b[:, 1], H)
    if spells:
        sp = np.asarray(spells, dtype=float)
        # a block meets a spell (a, b) if a < e and b > s: the first spell ending after s
        j = np.searchsorted(sp[:, 1], s, side="right")
        hit = j < len(sp)
        hit[hit] = sp[j[hit], 0] < e[hit]
    else:
        hit = np.zeros(len(s), dtype=bool)
    if not hit.any():
        keep = s < e
        s, e = s[keep], e[keep]
    else:
        # the few blocks that meet a spell are cut around it, in order
        lo, hi, at = [], [], 0
        for i in np.flatnonzero(hit).tolist():
            lo.append(s[at:i])
            hi.append(e[at:i])
            cut = _subtract(float(s[i]), float(e[i]), spells)
            lo.append(np.array([p[0] for p in cut], dtype=float))
            hi.append(np.array([p[1] for p in cut], dtype=float))
            at = i + 1
        lo.append(s[at:])
        hi.append(e[at:])
        s, e = np.concatenate(lo), np.concatenate(hi)
        keep = s < e
        s, e = s[keep], e[keep]
    out = np.empty((len(s), 4))
    out[:, 0], out[:, 1], out[:, 2], out[:, 3] = sid, s, e, act
    return out


def _subtract(s, e, spells):
    """The parts of [s, e) outside the (sorted) intervals ``spells``."""
    out = []
    for a, b in spells:
        if b <= s or a >= e:
            continue
        if a > s:
            out.append((s, a))
        s = max(s, b)
        if s >= e:
            return out
    if s < e:
        out.append((s, e))
    return out


from hubsim.des.record import E as _E  # noqa: E402

_E_BEGINS = float(_E["begins"])
_E_DNA = float(_E["dna"])
