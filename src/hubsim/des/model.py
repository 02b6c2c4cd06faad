"""The hub as a discrete-event simulation on SimPy: one replication.

The kernel is event-driven: SimPy's environment orders the events and every event is a
callback (no generator process per client), which keeps a site-year well under a second.
What happens is recorded once, in preallocated per-client lists, a flat event list and a
flat list of staff busy intervals (:data:`EVENT_FIELDS`, :data:`BUSY_FIELDS`);
:mod:`hubsim.des.frames` derives every table from these.

Staff. Each role of ``wte`` W becomes ceil(W) staff members (the last one part-time).
Each member has three *channels* of time from the job plan: direct clinical work
(duty, assessments, sessions), admin (referral processing) and team support. A channel is
a server that works only in the calendar's open hours, at a rate equal to its weekly hours
(WTE x 37.5 x job-plan share) over the calendar's open hours a week; a task of ``w`` hours
started at ``s`` ends at ``at_open_hours(open_hours(s) + w / rate)``. So a server never
works more hours in a week than its job plan gives it (the identity tests check this).
Under the ``continuous`` calendar a server works around the clock at rate WTE x share.

A course keeps one clinician (continuity) and takes one of their caseload places
(``caseload_per_wte`` x WTE); new courses start only when a place is free. A free
clinician takes, in order: a risk call (duty), a session of their own caseload that is
due, then the longest-waiting assessment they may do.

Randomness. Everything a client brings (group, latent problems, screening answers,
decision uniforms, activity lengths) is drawn up front from named streams indexed by
arrival order; what happens in sessions is drawn from a per-client stream. No draw
depends on staffing, so configurations that differ only in staffing or care model share
common random numbers.
"""

from __future__ import annotations

import gc
import math
from collections import deque

import numpy as np
import simpy

from hubsim.config.schema import STEP_IDS, STEP_LADDER, ServiceConfig
from hubsim.des.calendar import WorkCalendar
from hubsim.des.demand import arrivals as draw_arrivals
from hubsim.economics.costs import role_hourly_cost
from hubsim.rng import seed_sequence

STAGES: tuple[str, ...] = (
    "referral",
    "screening",
    "processing",
    "duty",
    "assessment",
    "in_depth_assessment",
    "treatment_wait",
    "treatment",
    "team_support",
    "onward",
    "discharge",
)
QUEUE_STAGES: tuple[str, ...] = (
    "processing",
    "duty",
    "assessment",
    "in_depth_assessment",
    "treatment_wait",
)
EVENTS: tuple[str, ...] = (
    "arrival",
    "screened",
    "screening_not_completed",
    "not_referred",
    "not_accepted",
    "risk_flagged",
    "wait_begins",
    "wait_ends",
    "begins",
    "completes",
    "dna",
    "reneged",
    "dropout",
    "step_up",
    "onward_referred",
    "discharged",
)
REASONS: tuple[str, ...] = (
    "not_referred",
    "screening_not_completed",
    "not_accepted",
    "dropped_out_waiting",
    "onward_referred",
    "completed",
    "dropped_out_treatment",
    "dna_discharge",
)
CHANNELS: tuple[str, ...] = ("clinical", "admin", "team")
# the fields of one record in HubModel.events and HubModel.busy (flat lists)
EVENT_FIELDS: tuple[str, ...] = ("client", "time", "stage", "event", "role", "staff")
BUSY_FIELDS: tuple[str, ...] = (
    "server",
    "start",
    "end",
    "work_hours",
    "stage",
    "client",
    "step",
    "clients_sharing",
)

S = {s: i for i, s in enumerate(STAGES)}
E = {e: i for i, e in enumerate(EVENTS)}
R = {r: i for i, r in enumerate(REASONS)}
STEP_CODE = {s: i for i, s in enumerate(STEP_IDS)}
LADDER_IDX = {s: i for i, s in enumerate(STEP_LADDER)}

# Latent caseness thresholds for the stepped-care "non-response" check, on the latent
# scale where 0 is the general staff population: the share of NHS staff above PHQ-9 >= 10
# is 27.3% and above GAD-7 >= 10 is 23.2% (calibration.md §2, Lamb et al. 2021), so a
# client still above the standard-normal quantiles of those shares is still a case.
DEPRESSION_CASE_Z = 0.6038  # Phi^-1(1 - 0.273)
ANXIETY_CASE_Z = 0.7323  # Phi^-1(1 - 0.232)
DAYS_PER_MONTH = 365.25 / 12.0
_DOMAINS = ("depression", "anxiety", "trauma", "alcohol", "functioning")

# columns of the per-client decision uniforms
(
    _U_COMPLETE,
    _U_REFER,
    _U_ACCEPT,
    _U_IN_DEPTH,
    _U_GROUP,
    _U_PHARM,
    _U_PASTORAL,
    _U_RENEGE,
    _U_ONWARD,
    _U_DEST,
    _U_REMIT,
    _NU,
) = range(12)

# task kinds
_DUTY, _PROC, _SHORT, _DEEP, _SESSION, _GROUP, _TEAM = range(7)
_KIND_STAGE = {
    _DUTY: S["duty"],
    _PROC: S["processing"],
    _SHORT: S["assessment"],
    _DEEP: S["in_depth_assessment"],
    _SESSION: S["treatment"],
    _GROUP: S["treatment"],
    _TEAM: S["team_support"],
}


class _Server:
    __slots__ = (
        "cap",
        "caseload",
        "channel",
        "cost",
        "idle_since",
        "own",
        "qualified",
        "rate",
        "role",
        "sid",
        "staff",
        "task",
    )

    def __init__(self, sid, staff, role, channel, rate, cap, qualified, cost):
        self.sid = sid
        self.staff = staff
        self.role = role
        self.channel = channel
        self.rate = rate
        self.cap = cap
        self.caseload = 0
        self.qualified = qualified
        self.cost = cost
        self.own: deque = deque()
        self.task = None
        self.idle_since = 0.0


class _Course:
    __slots__ = ("attended", "consec_dna", "done", "members", "planned", "server", "step")

    def __init__(self, step, server, planned, members):
        self.step = step
        self.server = server
        self.planned = planned
        self.members = members
        self.attended = dict.fromkeys(members, 0)
        self.consec_dna = dict.fromkeys(members, 0)
        self.done = 0


class HubModel:
    """One replication of a hub configuration.

    Parameters
    ----------
    config : ServiceConfig
    horizon_days : float
    seed : int
    scenario : str
        Key of the random streams (configurations run under the same scenario key and
        seed share common random numbers).
    replication : int
    scores : callable
        ``simulate_scores(latent, instruments, rng) -> DataFrame`` from hubsim.measures.
    initial_waiting_list : pandas.DataFrame or None
        Normalised by :func:`hubsim.des.simulate._initial_frame`: columns
        ``waited_days``, ``stage`` and ``group`` (index into the occupational groups).

    Examples
    --------
    >>> import hubsim
    >>> from hubsim.measures import simulate_scores
    >>> cfg = hubsim.load_config("site_d")
    >>> m = HubModel(cfg, 60, seed=1, scenario="d", replication=0, scores=simulate_scores)
    >>> m.run()
    >>> m.n > 0
    True
    """

    def __init__(
        self,
        config: ServiceConfig,
        horizon_days: float,
        *,
        seed: int,
        scenario: str,
        replication: int,
        scores,
        initial_waiting_list=None,
    ):
        self.cfg = config
        self.H = float(horizon_days)
        self.seed = seed
        self.scenario = scenario
        self.rep = replication
        self._scores = scores
        iv = config.interventions
        sim = config.simulation
        cal = sim.calendar
        self.cal = WorkCalendar(
            cal.kind, sim.period.start, cal.hours_per_day, cal.evening_hours_per_week
        )
        self.env = simpy.Environment()
        self.iv = iv
        self.att = sim.attendance
        self.reversed = iv.care_model.kind == "reversed_stepped"
        self.instruments = tuple(iv.screening.measures)
        self._build_staff()
        self._draw_clients(initial_waiting_list)
        self._build_routing()

    # ---------------------------------------------------------------- construction
    def _stream(self, name):
        ss = seed_sequence(self.seed, self.scenario, self.rep, name)
        return np.random.Generator(np.random.PCG64(ss))

    def _build_staff(self):
        cfg = self.cfg
        roles = cfg.service.workforce.roles
        self.role_ids = [r.id for r in roles]
        self.role_qualified = [r.qualified for r in roles]
        econ = cfg.simulation.economics
        self.role_cost = [role_hourly_cost(r, econ) for r in roles]
        open_week = self.cal.hours_per_week
        self.servers: list[_Server] = []
        self.staff_role: list[int] = []
        self.staff_wte: list[float] = []
        # servers by (channel, role index)
        self.by_role = {ch: [[] for _ in roles] for ch in range(3)}
        for ri, r in enumerate(roles):
            n_full = math.floor(r.wte + 1e-9)
            wtes = [1.0] * n_full
            if r.wte - n_full > 1e-9:
                wtes.append(r.wte - n_full)
            jp = r.job_plan
            shares = (jp.direct_clinical, jp.admin, jp.team_support)
            for w in wtes:
                staff = len(self.staff_role)
                self.staff_role.append(ri)
                self.staff_wte.append(w)
                for ch, share in enumerate(shares):
                    if share <= 0:
                        continue
                    if self.cal.continuous:
                        rate = w * share
                    else:
                        rate = min(1.0, w * 37.5 * share / open_week)
                    cap = 0
                    if ch == 0:
                        cap = (
                            max(1, round(r.caseload_per_wte * w))
                            if r.caseload_per_wte is not None
                            else 10**9
                        )
                    srv = _Server(
                        len(self.servers),
                        staff,
                        ri,
                        ch,
                        rate,
                        cap,
                        r.qualified,
                        self.role_cost[ri],
                    )
                    self.servers.append(srv)
                    self.by_role[ch][ri].append(srv)

    def _pool(self, role_list, channel=0, senior_only=False, junior_first=False):
        """Servers of the listed roles, in preference order (role order, then staff)."""
        ridx = [self.role_ids.index(r) for r in role_list if r in self.role_ids]
        if senior_only:
            q = [i for i in ridx if self.role_qualified[i]]
            ridx = q or ridx
        if junior_first:
            ridx = sorted(ridx, key=lambda i: self.cfg.service.workforce.roles[i].band_low)
        return [s for i in ridx for s in self.by_role[channel][i]]

    def _build_routing(self):
        iv = self.iv
        rev = self.reversed
        self.pool_duty = self._pool(iv.triage.risk.duty_roles)
        self.pool_proc = self._pool(iv.screening.processing_roles, channel=1)
        a = iv.assessment
        self.two_stage = a.model == "two_stage"
        if self.two_stage:
            self.pool_short = self._pool(a.short.roles, senior_only=rev, junior_first=not rev)
        else:
            self.pool_short = []
        self.pool_deep = self._pool(a.in_depth.roles, senior_only=rev)
        self.step_pool = {}
        for sid, step in iv.steps.items():
            if step.offered:
                self.step_pool[STEP_CODE[sid]] = self._pool(
                    step.roles, senior_only=rev and sid in STEP_LADDER
                )
        # which queues each clinical server may take assessments from
        short_ids = {s.sid for s in self.pool_short}
        deep_ids = {s.sid for s in self.pool_deep}
        duty_ids = {s.sid for s in self.pool_duty}
        self.can_short = [s.sid in short_ids for s in self.servers]
        self.can_deep = [s.sid in deep_ids for s in self.servers]
        self.can_duty = [s.sid in duty_ids for s in self.servers]
        # steps each clinical server can start courses for
        self.server_steps = [[] for _ in self.servers]
        for code, pool in self.step_pool.items():
            for s in pool:
                self.server_steps[s.sid].append(code)
        self.q_duty: deque = deque()
        self.q_proc: deque = deque()
        self.q_short: deque = deque()
        self.q_deep: deque = deque()
        self.q_team: deque = deque()
        self.q_course = {code: deque() for code in self.step_pool}
        self.group_pool = deque()
        self.ext = {e.id: e for e in self.cfg.simulation.external_services}
        dests = iv.onward_referral.destinations
        self.dest_ids = [d.service for d in dests]
        self.dest_cum = np.cumsum([d.share for d in dests]) if dests else np.array([])

    def _draw_clients(self, initial):
        cfg = self.cfg
        iv = self.iv
        t, g = draw_arrivals(cfg, self.H, self._stream("arrivals"))
        parts = []
        if initial is not None and len(initial):
            n0 = len(initial)
            parts.append(("initial:", n0))
        parts.append(("", len(t)))
        n0 = len(initial) if initial is not None else 0
        self.n0 = n0
        self.n = n = n0 + len(t)
        groups = np.empty(n, dtype=np.int64)
        ref_at = np.empty(n)
        if n0:
            groups[:n0] = initial["group"].to_numpy()
            ref_at[:n0] = -initial["waited_days"].to_numpy(dtype=float)
        groups[n0:] = g
        ref_at[n0:] = t
        self.arr_t = t
        self.groups = groups
        self.initial_stage = list(initial["stage"]) if n0 else []  # "assessment" or "treatment"
        corr = np.asarray(cfg.simulation.clients.correlation, dtype=float)
        mean = np.array([cfg.simulation.clients.means[d] for d in _DOMAINS])
        chol = np.linalg.cholesky(corr)
        lat, z0, u = [], [], []
        dur = {k: [] for k in ("proc", "duty", "short", "deep", *STEP_IDS)}
        score_frames = []
        for prefix, m in parts:
            rng = self._stream(prefix + "clients")
            lat.append(mean + rng.standard_normal((m, 5)) @ chol.T)
            z0.append(rng.standard_normal((m, 5)) @ chol.T)
            u.append(self._stream(prefix + "decisions").uniform(size=(m, _NU)))
            rd = self._stream(prefix + "durations")
            dur["proc"].append(iv.screening.processing_minutes.sample(rd, m))
            dur["duty"].append(iv.triage.risk.duty_minutes.sample(rd, m))
            a = iv.assessment
            short = a.short if a.short is not None else a.in_depth
            dur["short"].append(short.duration_minutes.sample(rd, m))
            dur["deep"].append(a.in_depth.duration_minutes.sample(rd, m))
            for sid, step in iv.steps.items():
                dur[sid].append(np.maximum(1, np.rint(step.sessions.sample(rd, m))))
            score_frames.append(
                self._scores(lat[-1], self.instruments, self._stream(prefix + "scores"))
            )
        self.latent0 = np.concatenate(lat) if n else np.empty((0, 5))
        self.z0 = np.concatenate(z0) if n else np.empty((0, 5))
        self.u = np.concatenate(u) if n else np.empty((0, _NU))
        self.dur = {k: (np.concatenate(v) if n else np.empty(0)) for k, v in dur.items()}
        import pandas as pd

        self.pre = pd.concat(score_frames, ignore_index=True) if n else pd.DataFrame()
        self.ref_at = ref_at
        self._triage_all()
        # renege time on the cumulative waiting clock: F(x) = x / (x + scale)
        scale = self.att.renege_scale_days
        ur = self.u[:, _U_RENEGE]
        self.renege_at = (
            np.full(n, np.inf) if scale is None else scale * ur / np.maximum(1.0 - ur, 1e-300)
        )

    def _triage_all(self):
        """Needed ladder step, start step and adjunct steps of every client (vectorised)."""
        iv = self.iv
        n = self.n
        offered = {s for s, st in iv.steps.items() if st.offered}
        ladder_off = [s for s in STEP_LADDER if s in offered]
        need = np.full(n, -1, dtype=np.int64)  # ladder index
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
        # map to an offered ladder step: the next offered above, else the highest below
        off_idx = [LADDER_IDX[s] for s in ladder_off]

        def to_offered(k):
            if k < 0 or not off_idx:
                return -1
            above = [i for i in off_idx if i >= k]
            return min(above) if above else max(off_idx)

        table = {k: to_offered(k) for k in range(-1, len(STEP_LADDER))}
        need = np.array([table[k] for k in need], dtype=np.int64)
        # stepped care starts at the least intensive suitable step
        li = LADDER_IDX["low_intensity"]

        def start_of(k):
            if k < 0:
                return -1
            lo = min(k, li)
            cand = [i for i in off_idx if lo <= i <= k]
            return min(cand) if cand else k

        stable = {k: start_of(k) for k in range(-1, len(STEP_LADDER))}
        start = need.copy() if self.reversed else np.array([stable[k] for k in need])
        u = self.u
        for j, s in enumerate(("group", "pharmacological", "pastoral")):
            st = iv.steps.get(s)
            if st.offered:
                adj[s] |= u[:, _U_GROUP + j] < st.p_routed
            else:
                adj[s][:] = False
        self.need = need
        self.start = start
        self.adj = adj
        risk = iv.triage.risk
        if "phq9_item9" in self.pre:
            self.risk = self.pre["phq9_item9"].to_numpy() >= risk.item9_at_least
        else:
            self.risk = np.zeros(n, dtype=bool)

    # ------------------------------------------------------------------- recording
    def _ev(self, c, stage, event, srv=None, t=None):
        if t is None:
            t = self.env.now
        if srv is None:
            self.events.extend((c, t, stage, event, -1, -1))
        else:
            self.events.extend((c, t, stage, event, srv.role, srv.staff))

    def _at(self, delay, fn, *args):
        ev = self.env.timeout(delay, (fn, args))
        ev.callbacks.append(self._fire)

    @staticmethod
    def _fire(ev):
        fn, args = ev._value
        fn(*args)

    def _q_change(self, stage, delta):
        now = self.env.now
        self.q_area[stage] += self.q_len[stage] * (now - self.q_last[stage])
        self.q_last[stage] = now
        self.q_len[stage] += delta

    def _terminal(self, c, reason, stage=S["discharge"]):
        if math.isnan(self.treat_start_at[c]) and math.isnan(self.pre_treat_wait[c]):
            # never treated: the whole time since referral was spent waiting
            self.pre_treat_wait[c] = self.env.now - self.ref_at[c]
            self._wait_effects(c, self.pre_treat_wait[c])
        self.reason[c] = R[reason]
        self.discharged_at[c] = self.env.now
        self._ev(c, stage, E["discharged"])

    # ------------------------------------------------------------------------- run
    def run(self):
        """Run to the horizon; results stay on the model for :mod:`hubsim.des.frames`."""
        n = self.n
        # flat records (EVENT_FIELDS / BUSY_FIELDS numbers each, one after another): extending
        # a flat list is cheaper than keeping a tuple alive per record, and a flat list of
        # numbers converts to an array faster
        self.events: list[float] = []
        self.busy: list[float] = []
        self.q_len = [0] * len(STAGES)
        self.q_area = [0.0] * len(STAGES)
        self.q_last = [0.0] * len(STAGES)
        nan = math.nan
        self.screened_at = [nan] * n
        self.first_assess_at = [nan] * n
        self.deep_at = [nan] * n
        self.treat_start_at = [nan] * n
        self.discharged_at = [nan] * n
        self.first_senior_at = [nan] * n
        self.duty_flag_at = [nan] * n
        self.duty_seen_at = [nan] * n
        self.reason = [-1] * n
        self.sessions = [0] * n
        self.dna = [0] * n
        self.dest = [-1] * n
        self.steps_rx: list[list[int]] = [[] for _ in range(n)]
        self.completed_course = [False] * n
        self.cost = [0.0] * n
        self.waited = [0.0] * n  # cumulative days in renege-able queues
        self.q_token = [0] * n
        self.q_stage = [-1] * n
        self.q_enter = [nan] * n
        self.pre_treat_wait = [nan] * n  # days waited before the first course (or discharge)
        self.ext_wait = [nan] * n
        self.ext_treated = [False] * n
        self.latent = self.latent0.copy()
        self.pending: list[deque] = [deque() for _ in range(n)]  # remaining pathway steps
        self.duty_cont: dict = {}  # what a client does after their risk call
        self._gens: dict[int, np.random.Generator] = {}
        self._sess_ss = seed_sequence(self.seed, self.scenario, self.rep, "sessions")
        env = self.env
        for srv in self.servers:
            srv.idle_since = 0.0
        for c in range(self.n0):
            self._initial(c)
        for k, tk in enumerate(self.arr_t):
            self._at(tk, self._arrive, self.n0 + k)
        self._schedule_team(0)
        self.caseload_log: list[tuple] = []  # (week, role, open courses) at each week's end
        self._at(7.0, self._weekly_tick, 0)
        for code in self.q_course:
            if self.iv.steps.get(STEP_IDS[code]).delivery == "group":
                self._at(0.0, self._group_tick, code)
        # the kernel allocates many small tuples; generational GC passes over the growing
        # event list would dominate the run time, and nothing here forms reference cycles
        gc_on = gc.isenabled()
        gc.disable()
        try:
            env.run(until=self.H)
        finally:
            if gc_on:
                gc.enable()
        for st in range(len(STAGES)):
            self._q_change(st, 0)
        # time-integral of queue lengths up to the horizon (kept for the identity tests)
        self.queue_area = {STAGES[s]: self.q_area[s] for s in range(len(STAGES))}

    def _gen(self, c):
        g = self._gens.get(c)
        if g is None:
            ss = np.random.SeedSequence(self._sess_ss.entropy, spawn_key=(c,))
            g = np.random.Generator(np.random.PCG64(ss))
            self._gens[c] = g
        return g

    # -------------------------------------------------------------------- pathway
    def _initial(self, c):
        self._ev(c, S["referral"], E["arrival"])
        self.screened_at[c] = self.ref_at[c]
        if self.initial_stage[c] == "treatment":
            self._plan_in_house(c, assessed=False)
        else:
            self._to_assessment(c)

    def _arrive(self, c):
        self._ev(c, S["referral"], E["arrival"])
        sc = self.iv.screening
        u = self.u[c]
        if sc.timing == "after_acceptance":
            self._to_processing(c)
            return
        if u[_U_COMPLETE] >= sc.p_complete:
            self._terminal(c, "screening_not_completed", S["screening"])
            return
        if (
            sc.timing == "self_assessment_before_referral"
            and u[_U_REFER] >= sc.p_refer_after_self_assessment
        ):
            self.screened_at[c] = self.env.now
            self._ev(c, S["screening"], E["screened"])
            self._terminal(c, "not_referred", S["screening"])
            return
        self._screened(c, self._to_processing)

    def _screened(self, c, cont):
        """Screening done: a risk flag goes to the duty clinician first, then ``cont(c)``."""
        self.screened_at[c] = self.env.now
        self._ev(c, S["screening"], E["screened"])
        if self.risk[c] and self.pool_duty:
            self.duty_flag_at[c] = self.env.now
            self._ev(c, S["duty"], E["risk_flagged"])
            self.duty_cont[c] = cont
            self._push(self.q_duty, (_DUTY, c, self.dur["duty"][c] / 60.0, None, self.env.now))
        else:
            cont(c)

    def _to_processing(self, c):
        if not self.pool_proc:
            self._processed(c)
            return
        self._push(self.q_proc, (_PROC, c, self.dur["proc"][c] / 60.0, None, self.env.now))

    def _processed(self, c):
        sc = self.iv.screening
        u = self.u[c]
        if u[_U_ACCEPT] >= sc.p_accepted:
            self._terminal(c, "not_accepted", S["processing"])
            return
        if sc.timing == "after_acceptance":
            if u[_U_COMPLETE] >= sc.p_complete:
                self._terminal(c, "screening_not_completed", S["screening"])
                return
            self._screened(c, self._to_assessment)
            return
        self._to_assessment(c)

    def _to_assessment(self, c):
        if self.two_stage:
            self._enqueue_client(c, S["assessment"])
            self._push(self.q_short, (_SHORT, c, self.dur["short"][c] / 60.0, None, self.env.now))
        else:
            self._enqueue_client(c, S["assessment"])
            self._push(self.q_deep, (_DEEP, c, self.dur["deep"][c] / 60.0, None, self.env.now))

    def _assessed(self, c, deep):
        u = self.u[c]
        if (
            self.two_stage
            and not deep
            and (
                self.need[c] >= LADDER_IDX["step3"]
                or u[_U_IN_DEPTH] < self.iv.assessment.p_in_depth_if_low_need
            )
        ):
            self._enqueue_client(c, S["in_depth_assessment"])
            self._push(self.q_deep, (_DEEP, c, self.dur["deep"][c] / 60.0, None, self.env.now))
            return
        ob = self.iv.onward_referral
        has_path = self.need[c] >= 0 or any(self.adj[s][c] for s in self.adj)
        if u[_U_ONWARD] < ob.p_onward or not has_path:
            self._onward(c)
            return
        self._plan_in_house(c, assessed=True)

    def _onward(self, c):
        if not len(self.dest_cum):
            # nowhere to refer to: discharged after assessment with advice
            self._terminal(c, "completed")
            return
        k = int(
            np.searchsorted(self.dest_cum, self.u[c][_U_DEST] * self.dest_cum[-1], side="right")
        )
        k = min(k, len(self.dest_ids) - 1)
        self.dest[c] = k
        svc = self.ext[self.dest_ids[k]]
        g = self._gen(c)
        self.ext_wait[c] = float(svc.wait_days.sample(g))
        self.ext_treated[c] = bool(g.random() < svc.p_treated)
        eff = g.normal(svc.effect.mean, svc.effect.sd)
        self.pre_treat_wait[c] = self.env.now - self.ref_at[c]
        if self.ext_treated[c]:
            self._wait_effects(c, self.pre_treat_wait[c] + self.ext_wait[c])
            self.latent[c] -= eff
        self._ev(c, S["onward"], E["onward_referred"])
        self.reason[c] = R["onward_referred"]
        self.discharged_at[c] = self.env.now

    def _plan_in_house(self, c, assessed):
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
            self._terminal(c, "completed")
            return
        self.pending[c].extend(steps)
        self._next_course(c)

    def _next_course(self, c):
        code = self.pending[c].popleft()
        self._enqueue_client(c, S["treatment_wait"])
        if STEP_IDS[code] == "group" or self.iv.steps.get(STEP_IDS[code]).delivery == "group":
            self.group_pool.append(c)
            return
        srv = self._free_caseload(code)
        if srv is None:
            self.q_course[code].append(c)
        else:
            self._start_course(srv, code, [c])

    def _free_caseload(self, code):
        best, room = None, 0
        for s in self.step_pool[code]:
            r = s.cap - s.caseload
            if r > room:
                best, room = s, r
        return best

    # --------------------------------------------------------------- waiting queues
    def _enqueue_client(self, c, stage):
        now = self.env.now
        self.q_stage[c] = stage
        self.q_enter[c] = now
        self.q_token[c] += 1
        self._q_change(stage, +1)
        self._ev(c, stage, E["wait_begins"])
        left = self.renege_at[c] - self.waited[c]
        if left < self.H - now:
            self._at(max(left, 0.0), self._renege, c, self.q_token[c])

    def _leave_queue(self, c):
        now = self.env.now
        stage = self.q_stage[c]
        self.waited[c] += now - self.q_enter[c]
        self._q_change(stage, -1)
        self._ev(c, stage, E["wait_ends"])
        self.q_stage[c] = -1
        self.q_token[c] += 1

    def _renege(self, c, token):
        if self.q_token[c] != token or self.q_stage[c] < 0:
            return
        stage = self.q_stage[c]
        self._leave_queue(c)
        self._ev(c, stage, E["reneged"])
        self.pending[c].clear()
        self._terminal(c, "dropped_out_waiting")

    # ------------------------------------------------------------------- dispatching
    def _push(self, queue, task):
        queue.append(task)
        kind = task[0]
        if kind == _DUTY or kind == _PROC:
            stage = _KIND_STAGE[kind]
            self._q_change(stage, +1)
            self._ev(task[1], stage, E["wait_begins"])
        if kind == _DUTY:
            pool = self.pool_duty
        elif kind == _PROC:
            pool = self.pool_proc
        elif kind == _SHORT:
            pool = self.pool_short
        elif kind == _DEEP:
            pool = self.pool_deep
        else:
            pool = self.pool_team
        best = None
        for s in pool:
            if s.task is None and (best is None or s.idle_since < best.idle_since):
                best = s
        if best is not None:
            self._serve_next(best)

    def _kick(self, srv):
        if srv.task is None:
            self._serve_next(srv)

    def _next_task(self, srv):
        if srv.channel == 1:
            return self.q_proc.popleft() if self.q_proc else None
        if srv.channel == 2:
            return self.q_team.popleft() if self.q_team else None
        sid = srv.sid
        if self.can_duty[sid] and self.q_duty:
            return self.q_duty.popleft()
        if srv.own:
            return srv.own.popleft()
        qs = self.q_short if self.can_short[sid] else None
        qd = self.q_deep if self.can_deep[sid] else None
        # drop clients who reneged from the heads
        while qs and self.q_stage[qs[0][1]] != S["assessment"]:
            qs.popleft()
        while qd and self.q_stage[qd[0][1]] not in (S["assessment"], S["in_depth_assessment"]):
            qd.popleft()
        if qs and qd:
            return qs.popleft() if qs[0][4] <= qd[0][4] else qd.popleft()
        if qs:
            return qs.popleft()
        if qd:
            return qd.popleft()
        return None

    def _serve_next(self, srv):
        task = self._next_task(srv)
        if task is None:
            srv.task = None
            srv.idle_since = self.env.now
            return
        kind, c, work, extra, _ = task
        cal = self.cal
        now = self.env.now
        start = cal.next_open(now)
        if kind == _SESSION or kind == _GROUP:
            course = extra
            g = self._gen(course.members[0]) if kind == _SESSION else None
            if g is not None:
                draws = (g.random(), g.random())
                work = self.iv.steps.get(STEP_IDS[course.step]).session_minutes.sample(g) / 60.0
                task = (kind, c, work, (course, draws), start)
        end = cal.at_open_hours(cal.open_hours(start) + work / srv.rate) if work > 0 else start
        srv.task = task
        stage = _KIND_STAGE[kind]
        if kind == _GROUP:
            members = [m for m in extra.members if self.reason[m] < 0]
            share = len(members) or 1
            for m in members:
                self.cost[m] += work * srv.cost / share
            self.busy.extend((srv.sid, start, end, work, stage, -1, extra.step, share))
        else:
            if c >= 0:
                self.cost[c] += work * srv.cost
                if kind == _SHORT or kind == _DEEP:
                    self._leave_queue(c)
                elif kind == _DUTY or kind == _PROC:
                    self._q_change(stage, -1)
                    self._ev(c, stage, E["wait_ends"])
            step = extra.step if kind == _SESSION else -1
            self.busy.extend((srv.sid, start, end, work, stage, c, step, 1))
        self._begin(srv, task, start)
        self._at(end - now, self._finish, srv, task)

    def _begin(self, srv, task, start):
        kind, c, _work, extra, _ = task
        stage = _KIND_STAGE[kind]
        if kind == _GROUP:
            for m in extra.members:
                if self.reason[m] < 0:
                    self._ev(m, stage, E["begins"], srv, start)
                    self._senior(m, srv, start)
            return
        if c >= 0:
            self._ev(c, stage, E["begins"], srv, start)
            self._senior(c, srv, start)
            if kind == _DUTY:
                self.duty_seen_at[c] = start
            elif kind == _SHORT or (kind == _DEEP and math.isnan(self.first_assess_at[c])):
                self.first_assess_at[c] = start
            if kind == _DEEP:
                self.deep_at[c] = start

    def _senior(self, c, srv, t):
        if srv.qualified and math.isnan(self.first_senior_at[c]):
            self.first_senior_at[c] = t

    def _finish(self, srv, task):
        kind, c, _work, extra, _ = task
        srv.task = None
        stage = _KIND_STAGE[kind]
        if kind == _PROC:
            self._ev(c, stage, E["completes"], srv)
            self._processed(c)
        elif kind == _DUTY:
            self._ev(c, stage, E["completes"], srv)
            self.duty_cont.pop(c)(c)
        elif kind == _SHORT:
            self._ev(c, stage, E["completes"], srv)
            self._assessed(c, deep=False)
        elif kind == _DEEP:
            self._ev(c, stage, E["completes"], srv)
            self._assessed(c, deep=True)
        elif kind == _SESSION:
            self._session_done(srv, extra[0], c, extra[1])
        elif kind == _GROUP:
            self._group_session_done(srv, extra)
        if srv.task is None:  # the follow-up above may already have handed it new work
            self._serve_next(srv)

    # ---------------------------------------------------------------------- courses
    def _start_course(self, srv, code, members):
        srv.caseload += 1
        planned = int(self.dur[STEP_IDS[code]][members[0]])
        course = _Course(code, srv, planned, members)
        now = self.env.now
        for m in members:
            self._leave_queue(m)
            self.steps_rx[m].append(code)
            if math.isnan(self.treat_start_at[m]):
                self.treat_start_at[m] = now
                self.pre_treat_wait[m] = now - self.ref_at[m]
                self._wait_effects(m, self.pre_treat_wait[m])
        self._due(course)

    def _due(self, course):
        srv = course.server
        kind = _GROUP if len(course.members) > 1 or course.step == STEP_CODE["group"] else _SESSION
        if kind == _SESSION:
            srv.own.append((kind, course.members[0], 0.0, course, self.env.now))
        else:
            minutes = self.iv.steps.get(STEP_IDS[course.step]).session_minutes
            work = float(minutes.sample(self._gen(course.members[0]))) / 60.0
            srv.own.append((kind, -1, work, course, self.env.now))
        self._kick(srv)

    def _attend(self, srv, course, c, u_dna):
        """One appointment of ``c``: "attended", "dna", or "discharged" after repeated DNAs."""
        att = self.att
        if u_dna < att.p_dna:
            self.dna[c] += 1
            self._ev(c, S["treatment"], E["dna"], srv)
            course.consec_dna[c] += 1
            if course.consec_dna[c] >= att.discharge_after_dna:
                self._end_course(course, c, "dna_discharge")
                return "discharged"
            return "dna"
        self._ev(c, S["treatment"], E["completes"], srv)
        self.sessions[c] += 1
        course.consec_dna[c] = 0
        course.attended[c] += 1
        return "attended"

    def _session_done(self, srv, course, c, draws):
        u_dna, u_drop = draws
        if self.reason[c] >= 0:
            return
        outcome = self._attend(srv, course, c, u_dna)
        if outcome == "discharged":
            return
        if outcome == "attended":
            if course.attended[c] >= course.planned:
                self._end_course(course, c, None)
                return
            if u_drop < self.att.p_dropout_per_session:
                self._ev(c, S["treatment"], E["dropout"], srv)
                self._end_course(course, c, "dropped_out_treatment")
                return
        step = self.iv.steps.get(STEP_IDS[course.step])
        self._at(step.interval_days, self._due, course)

    def _end_course(self, course, c, reason):
        step = self.iv.steps.get(STEP_IDS[course.step])
        g = self._gen(c)
        eff = g.normal(step.effect.mean, step.effect.sd)
        frac = course.attended[c] / course.planned
        self.latent[c] -= eff * frac
        if course.members == [c] or len(course.members) == 1:
            self._release(course.server)
        if reason is not None:
            self._terminal(c, reason)
            return
        self.completed_course[c] = True
        sid = STEP_IDS[course.step]
        if (
            not self.reversed
            and sid in LADDER_IDX
            and (self.latent[c][0] > DEPRESSION_CASE_Z or self.latent[c][1] > ANXIETY_CASE_Z)
            and g.random() < self.iv.care_model.p_step_up
        ):
            nxt = [
                STEP_CODE[s]
                for s in STEP_LADDER[LADDER_IDX[sid] + 1 :]
                if STEP_CODE[s] in self.step_pool
            ]
            if nxt:
                self._ev(c, S["treatment"], E["step_up"])
                self.pending[c].appendleft(nxt[0])
        if self.pending[c]:
            self._next_course(c)
        else:
            self._terminal(c, "completed")

    def _release(self, srv):
        srv.caseload -= 1
        # the freed place goes to the longest-waiting client this clinician may treat
        best_code, best_t = None, math.inf
        for code in self.server_steps[srv.sid]:
            q = self.q_course.get(code)
            if not q:
                continue
            while q and self.q_stage[q[0]] != S["treatment_wait"]:
                q.popleft()
            if q and self.q_enter[q[0]] < best_t:
                best_code, best_t = code, self.q_enter[q[0]]
        if best_code is not None:
            c = self.q_course[best_code].popleft()
            self._start_course(srv, best_code, [c])

    # ------------------------------------------------------------------------ groups
    def _group_tick(self, code):
        step = self.iv.steps.get(STEP_IDS[code])
        pool = self.group_pool
        live = deque(c for c in pool if self.q_stage[c] == S["treatment_wait"])
        self.group_pool = live
        while len(live) >= step.group_size_min:
            srv = self._free_caseload(code)
            if srv is None:
                break
            k = step.group_size_max or len(live)
            members = [live.popleft() for _ in range(min(k, len(live)))]
            self._start_course(srv, code, members)
        if self.env.now + step.group_cadence_days < self.H:
            self._at(step.group_cadence_days, self._group_tick, code)

    def _group_session_done(self, srv, course):
        att = self.att
        course.done += 1
        live = [m for m in course.members if self.reason[m] < 0]
        for m in live:
            g = self._gen(m)
            u_dna, u_drop = g.random(), g.random()
            if self._attend(srv, course, m, u_dna) != "attended":
                continue
            if course.done < course.planned and u_drop < att.p_dropout_per_session:
                self._ev(m, S["treatment"], E["dropout"], srv)
                self._end_course(course, m, "dropped_out_treatment")
        live = [m for m in course.members if self.reason[m] < 0]
        if course.done >= course.planned or not live:
            self._release(srv)
            for m in live:  # a group member completes the course by staying to the end
                self._end_group_member(course, m)
            return
        step = self.iv.steps.get(STEP_IDS[course.step])
        self._at(step.interval_days, self._due, course)

    def _end_group_member(self, course, c):
        step = self.iv.steps.get(STEP_IDS[course.step])
        g = self._gen(c)
        eff = g.normal(step.effect.mean, step.effect.sd)
        self.latent[c] -= eff * course.attended[c] / course.planned
        self.completed_course[c] = True
        if self.pending[c]:
            self._next_course(c)
        else:
            self._terminal(c, "completed")

    # ------------------------------------------------------------------ team support
    def _schedule_team(self, week):
        ts = self.iv.team_support
        acts = []
        for name in ("consultation", "workshops", "peer_support"):
            a = getattr(ts, name)
            if a.offered and a.hours_per_month > 0 and a.roles:
                acts.append((a.hours_per_month * 12.0 / 52.0, a.roles))
        if not hasattr(self, "pool_team"):
            roles = sorted({r for _, rs in acts for r in rs})
            self.pool_team = self._pool(roles, channel=2)
            self._team_pools = [self._pool(rs, channel=2) for _, rs in acts]
            self._team_acts = acts
        for (hours, _), pool in zip(self._team_acts, self._team_pools, strict=True):
            if not pool:
                continue
            self.q_team.append((_TEAM, -1, hours, None, self.env.now))
            best = None
            for s in pool:
                if s.task is None and (best is None or s.idle_since < best.idle_since):
                    best = s
            if best is not None:
                self._serve_next(best)
        if self._team_acts and self.env.now + 7.0 < self.H:
            self._at(7.0, self._schedule_team, week + 1)

    def _weekly_tick(self, week):
        per_role = [0] * len(self.role_ids)
        for srv in self.servers:
            if srv.channel == 0:
                per_role[srv.role] += srv.caseload
        for r, k in enumerate(per_role):
            self.caseload_log.append((week, r, k))
        if self.env.now + 7.0 <= self.H:
            self._at(7.0, self._weekly_tick, week + 1)

    # ---------------------------------------------------------------------- outcomes
    def _wait_effects(self, c, wait_days):
        """Natural remission and worsening over ``wait_days`` of waiting (in place)."""
        if not wait_days > 0:
            return
        oc = self.cfg.simulation.outcomes
        months = wait_days / DAYS_PER_MONTH
        if self.u[c][_U_REMIT] < 1.0 - math.exp(-oc.natural_remission_per_month * months):
            # remission: no worse than the general staff population the client came from
            self.latent[c] = np.minimum(self.latent[c], self.z0[c])
        self.latent[c] += oc.wait_penalty_per_month * months
