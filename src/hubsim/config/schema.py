"""The service-mapping schema: a hub (or a region without one) as validated data.

The sections follow the service-mapping template of Allsopp et al. 2024 (Table 1):
context, service inventory, interventions; plus what a simulation needs beyond the paper
(care model, triage rules, job plans, demand, distributions, external services).

Every block that carries numbers has a ``source`` naming where they come from: a table of
the paper (``"Allsopp 2024 Table 4"``), a row of ``calibration.md``
(``"calibration.md §7 Drop-out"``), or ``"assumption: ..."`` where nothing is known.

Models are frozen and strict (unknown fields are refused). Cross-field rules (roles that
exist and are staffed, shares that sum to one, dates inside the simulated period, ...)
are checked by :meth:`ServiceConfig._cross_checks` and reported with their field paths.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from functools import cached_property
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hubsim.config.distributions import Distribution

Band = Literal["2", "3", "4", "5", "6", "7", "8a", "8b", "8c", "8d", "9"]
BAND_ORDER: tuple[str, ...] = ("2", "3", "4", "5", "6", "7", "8a", "8b", "8c", "8d", "9")
Instrument = Literal["phq9", "gad7", "wsas", "audit", "itq", "pcl5"]
INSTRUMENTS: tuple[str, ...] = ("phq9", "gad7", "wsas", "audit", "itq", "pcl5")
StepId = Literal[
    "self_help", "low_intensity", "step3", "step4", "group", "pharmacological", "pastoral"
]
STEP_IDS: tuple[str, ...] = (
    "self_help",
    "low_intensity",
    "step3",
    "step4",
    "group",
    "pharmacological",
    "pastoral",
)
# Intensity order used by stepped care; the adjunct pathways sit outside the ladder.
STEP_LADDER: tuple[str, ...] = ("self_help", "low_intensity", "step3", "step4")
EligibilityRowId = Literal[
    "over_18",
    "age_16_17",
    "family_members",
    "ambulance",
    "police_fire",
    "education",
    "third_sector",
    "vcse",
]
ELIGIBILITY_ROWS: tuple[str, ...] = (
    "over_18",
    "age_16_17",
    "family_members",
    "ambulance",
    "police_fire",
    "education",
    "third_sector",
    "vcse",
)
LATENT_DOMAINS: tuple[str, ...] = ("depression", "anxiety", "trauma", "alcohol", "functioning")
Probability = float  # documented alias; bounds are set per field with Field(ge=0, le=1)
Source = str


class Strict(BaseModel):
    """Base of every configuration model: frozen, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class CrossFieldError(ValueError):
    """Several cross-field problems, each with the field path it concerns."""

    def __init__(self, problems: list[tuple[tuple[str | int, ...], str]]):
        self.problems = problems
        super().__init__("; ".join(f"{'.'.join(map(str, p))}: {m}" for p, m in problems))


def _share(description: str = "", **kw) -> object:
    return Field(ge=0.0, le=1.0, description=description, **kw)


# --------------------------------------------------------------------------- context
class Region(Strict):
    """Contextual information: the region and its in-scope staff (paper Table 2)."""

    name: str
    in_scope_staff: int = Field(gt=0, description="health and social care staff in scope")
    source: Source


# ------------------------------------------------------------------ service inventory
class EligibilityRow(Strict):
    """One row of Table 3: a group and whether (and on what condition) it is in scope."""

    group: EligibilityRowId
    in_scope: bool
    condition: str | None = None


class OccupationalGroup(Strict):
    """An occupational group that refers, with its share of staff and its opening date."""

    id: str
    label: str
    share_of_staff: float = _share("share of the in-scope staff in this group")
    referrals_per_1000_per_year: float = Field(ge=0)
    opens: dt.date
    source: Source


class TargetPopulation(Strict):
    """Who may use the hub (Table 3) and when each group could first refer (Results)."""

    eligibility: tuple[EligibilityRow, ...]
    family_member_definition: str | None = None
    notes: tuple[str, ...] = ()
    groups: tuple[OccupationalGroup, ...] = Field(min_length=1)
    source: Source


class JobPlan(Strict):
    """Shares of a role's contracted hours; they must sum to one."""

    direct_clinical: float = _share()
    team_support: float = _share()
    supervision: float = _share()
    admin: float = _share()
    leave: float = _share()
    other: float = _share(default=0.0)
    source: Source


class Role(Strict):
    """A staff role from Table 4: Agenda-for-Change band range and WTE."""

    id: str
    label: str
    band_low: Band
    band_high: Band
    wte: float = Field(ge=0)
    job_plan: JobPlan
    caseload_per_wte: int | None = Field(
        default=None, ge=1, description="maximum open therapy courses per WTE"
    )
    contracts: tuple[float, ...] | None = Field(
        default=None,
        description="WTE of each member of staff in the role (summing to wte); default: as "
        "many 1.0 contracts as fit and one part-time contract for the rest",
    )
    source: Source

    @property
    def member_contracts(self) -> tuple[float, ...]:
        """The WTE of each member: ``contracts``, or 1.0 each and a part-time remainder."""
        if self.contracts is not None:
            return tuple(float(c) for c in self.contracts)
        n_full = math.floor(self.wte + 1e-9)
        rest = round(self.wte - n_full, 10)
        return (1.0,) * n_full + ((rest,) if rest > 1e-9 else ())

    @property
    def band_range(self) -> str:
        return (
            self.band_low
            if self.band_low == self.band_high
            else f"{self.band_low}-{self.band_high}"
        )

    @property
    def qualified(self) -> bool:
        """Entirely at band 6 or above (Table 5's 'qualified')."""
        return BAND_ORDER.index(self.band_low) >= BAND_ORDER.index("6")

    @property
    def possibly_qualified(self) -> bool:
        """Some of the band range reaches band 6."""
        return BAND_ORDER.index(self.band_high) >= BAND_ORDER.index("6")

    @property
    def direct_hours_per_week(self) -> float:
        return self.wte * 37.5 * self.job_plan.direct_clinical


class Workforce(Strict):
    """Table 4 (roles and WTE) and Table 5 (share at band 6 or above), kept side by side."""

    roles: tuple[Role, ...] = Field(min_length=1)
    reported_total_wte: float = Field(ge=0, description="Table 4 'Total WTEs'")
    qualified_share_reported: float | None = _share(
        "Table 5 percentage of band 6 staff or higher", default=None
    )
    note: str | None = None
    source: Source

    @property
    def total_wte(self) -> float:
        return float(sum(r.wte for r in self.roles))

    def role(self, role_id: str) -> Role:
        for r in self.roles:
            if r.id == role_id:
                return r
        raise KeyError(role_id)

    @property
    def qualified_share_bounds(self) -> tuple[float, float]:
        """Band-6-or-above share derivable from Table 4's grouped bands.

        Lower bound counts roles entirely at band 6+; upper bound also counts roles whose
        band range straddles band 6 (e.g. research staff at 5-6). Table 5 need not lie
        inside: the paper's two tables do not always agree.
        """
        tot = self.total_wte
        if tot == 0:
            return (math.nan, math.nan)
        lo = sum(r.wte for r in self.roles if r.qualified) / tot
        hi = sum(r.wte for r in self.roles if r.possibly_qualified) / tot
        return (lo, hi)


class Funding(Strict):
    funder: str
    arrangement: str
    host: str
    budget_gbp_per_year: float | None = Field(default=None, ge=0)
    source: Source


class ServiceInventory(Strict):
    # the paper's "model summary" field; pydantic before 2.10 warns about names starting
    # with "model_" unless the protected namespace is narrowed to its own methods
    model_config = ConfigDict(
        frozen=True, extra="forbid", populate_by_name=True, protected_namespaces=("model_dump",)
    )

    goals: tuple[str, ...]
    model_summary: str
    target_population: TargetPopulation
    workforce: Workforce
    funding: Funding


# ---------------------------------------------------------------------- interventions
class Campaign(Strict):
    """An outreach campaign: referrals from ``groups`` (all when empty) x ``multiplier``."""

    name: str
    start: dt.date
    end: dt.date
    multiplier: float = Field(gt=0)
    groups: tuple[str, ...] = ()
    source: Source


class Outreach(Strict):
    methods: tuple[str, ...]
    targeted_groups: tuple[str, ...] = ()
    campaigns: tuple[Campaign, ...] = ()
    source: Source


class UniversalSupport(Strict):
    resources: tuple[str, ...]
    source: Source


class OtherQuestion(Strict):
    name: str
    since: dt.date | None = None


class Screening(Strict):
    """Self-referral and screening (Table 6 measures; timing from Results)."""

    measures: tuple[Instrument, ...] = Field(min_length=1)
    other_questions: tuple[OtherQuestion, ...] = ()
    timing: Literal["self_assessment_before_referral", "after_acceptance", "with_referral"]
    feedback: Literal["none", "immediate", "email"]
    p_complete: float = _share("screeners who complete the questionnaires")
    p_refer_after_self_assessment: float = _share(
        "self-assessors who go on to refer (only for self_assessment_before_referral)", default=1.0
    )
    p_accepted: float = _share("referrals accepted as eligible", default=1.0)
    processing_minutes: Distribution = Field(description="admin time to process a referral")
    processing_roles: tuple[str, ...] = ()
    source: Source


class TriageRule(Strict):
    """Clients scoring at least ``at_least`` on ``measure`` need at least ``step``."""

    measure: Instrument
    at_least: float
    step: StepId


class Risk(Strict):
    """Risk (PHQ-9 item 9 at or above ``item9_at_least``) goes to a duty clinician."""

    item9_at_least: int = Field(default=1, ge=1, le=3)
    duty_roles: tuple[str, ...] = Field(min_length=1)
    duty_minutes: Distribution
    same_working_day: bool = True
    source: Source


class Triage(Strict):
    rules: tuple[TriageRule, ...]
    default_step: StepId
    risk: Risk
    source: Source


class AssessmentStage(Strict):
    duration_minutes: Distribution
    roles: tuple[str, ...] = Field(min_length=1)


class Assessment(Strict):
    """Two-stage (short, then in-depth if indicated; Sites C, D) or in-depth as standard."""

    model: Literal["two_stage", "in_depth"]
    short: AssessmentStage | None = None
    in_depth: AssessmentStage
    p_in_depth_if_low_need: float = _share(
        "two-stage only: clients below step 3 need who still get an in-depth assessment",
        default=0.0,
    )
    source: Source


class CareModel(Strict):
    """Stepped or reversed-stepped care (paper Discussion; BPS 2023)."""

    kind: Literal["stepped", "reversed_stepped"]
    p_step_up: float = _share("non-responders stepped up one step (stepped care)")
    source: Source


class StepEffect(Strict):
    """Improvement of the latent problems (in SD units) after a complete course."""

    mean: float
    sd: float = Field(ge=0)
    source: Source


class Step(Strict):
    """One kind of support for individuals."""

    offered: bool
    label: str
    delivery: Literal["individual", "group", "advice", "signposting"] = "individual"
    sessions: Distribution = Field(description="sessions in a full course (rounded, at least 1)")
    session_minutes: Distribution
    interval_days: float = Field(gt=0, description="days between sessions")
    roles: tuple[str, ...] = ()
    group_size_min: int | None = Field(default=None, ge=2)
    group_size_max: int | None = Field(default=None, ge=2)
    group_cadence_days: float | None = Field(default=None, gt=0)
    p_routed: float = _share(
        "adjunct pathways (group, pharmacological, pastoral): share of clients treated "
        "in-house who are routed here; the group replaces their ladder step, advice and "
        "pastoral care come in addition",
        default=0.0,
    )
    effect: StepEffect
    source: Source


class Steps(Strict):
    self_help: Step
    low_intensity: Step
    step3: Step
    step4: Step
    group: Step
    pharmacological: Step
    pastoral: Step

    def items(self) -> list[tuple[str, Step]]:
        return [(s, getattr(self, s)) for s in STEP_IDS]

    def get(self, step_id: str) -> Step:
        return getattr(self, step_id)


class Destination(Strict):
    service: str
    share: float = _share()


class OnwardReferral(Strict):
    """Share referred out after assessment, and where to (paper: A mostly in-house)."""

    p_onward: float = _share("assessed clients referred to external services")
    destinations: tuple[Destination, ...] = ()
    source: Source


class TeamActivity(Strict):
    offered: bool
    hours_per_month: float = Field(ge=0)
    roles: tuple[str, ...] = ()
    source: Source


class TeamSupport(Strict):
    consultation: TeamActivity
    workshops: TeamActivity
    peer_support: TeamActivity


class OtherSupport(Strict):
    critical_care_support: bool | None = Field(
        description="None where the paper does not say (three of the four hubs, unnamed, did)"
    )
    description: str | None = None
    source: Source


class Interventions(Strict):
    outreach: Outreach
    universal_support: UniversalSupport
    screening: Screening
    triage: Triage
    assessment: Assessment
    care_model: CareModel
    steps: Steps
    onward_referral: OnwardReferral
    team_support: TeamSupport
    other_support: OtherSupport


# ------------------------------------------------------------------------- simulation
class Period(Strict):
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days


class Calendar(Strict):
    """Working week (Mon-Fri) or continuous time (for queueing validation)."""

    kind: Literal["working_week", "continuous"] = "working_week"
    hours_per_day: float = Field(default=7.5, gt=0, le=24)
    evening_hours_per_week: float = Field(default=0.0, ge=0)
    source: Source


class Surge(Strict):
    """A period in which all referrals are multiplied (pandemic wave, major incident)."""

    name: str
    start: dt.date
    end: dt.date
    multiplier: float = Field(gt=0)
    source: Source


class Demand(Strict):
    arrivals: Literal["poisson"] = "poisson"
    multiplier: float = Field(default=1.0, ge=0, description="scenario knob on all rates")
    surges: tuple[Surge, ...] = ()
    source: Source


class Clients(Strict):
    """Latent problems of people who refer (standard-normal scale, correlated)."""

    means: dict[str, float]
    correlation: tuple[tuple[float, ...], ...]
    source: Source

    @model_validator(mode="after")
    def _check(self):
        if set(self.means) != set(LATENT_DOMAINS):
            raise ValueError(f"expected means for exactly {', '.join(LATENT_DOMAINS)}")
        r = np.asarray(self.correlation, dtype=float)
        k = len(LATENT_DOMAINS)
        if r.shape != (k, k):
            raise ValueError(f"expected a {k}x{k} correlation matrix, got shape {r.shape}")
        if not np.allclose(r, r.T) or not np.allclose(np.diag(r), 1.0) or np.abs(r).max() > 1:
            raise ValueError("expected a symmetric correlation matrix with ones on the diagonal")
        if np.linalg.eigvalsh(r).min() <= 0:
            raise ValueError("expected a positive-definite correlation matrix")
        return self


class Attendance(Strict):
    """Dropout while waiting, did-not-attend and dropout in treatment."""

    renege_scale_days: float | None = Field(
        default=None,
        gt=0,
        description="cumulative P(drop out by day x of waiting) = x/(x+scale); None: never",
    )
    p_dna: float = _share("did-not-attend probability per appointment")
    discharge_after_dna: int = Field(ge=1)
    p_dropout_per_session: float = _share()
    source: Source


class Outcomes(Strict):
    natural_remission_per_month: float = _share("monthly remission hazard while waiting")
    wait_penalty_per_month: float = Field(ge=0, description="latent worsening per month waited")
    source: Source


class ExternalService(Strict):
    id: str
    name: str
    wait_days: Distribution
    p_treated: float = _share()
    effect: StepEffect
    source: Source


class Economics(Strict):
    hourly_cost_by_band: dict[Band, float]
    overhead_multiplier: float = Field(default=1.0, ge=1.0)
    source: Source


class Closure(Strict):
    """Days the whole service is closed (inclusive), e.g. between Christmas and New Year."""

    name: str
    start: dt.date
    end: dt.date
    source: Source


class Sickness(Strict):
    """Unplanned absence: spells that cancel what was booked in them."""

    share: float = Field(ge=0.0, lt=1.0, description="share of working days lost to sickness")
    mean_spell_days: float = Field(gt=0, description="mean length of a spell, working days")
    source: Source


class StaffTime(Strict):
    """How contracted hours become rostered clinical time (docs/calibration.md §9).

    Each member's weekly timetable is made of ``session_hours`` sessions on their working
    days; the job plan's non-leave shares are placed in it (clinical sessions first, spread
    over the week); the leave share is taken as absence: annual leave in blocks, bank
    holidays and closures. Sickness spells cancel what was booked in them.
    """

    bank_holidays: Literal["england_and_wales", "none"] = "england_and_wales"
    closures: tuple[Closure, ...] = ()
    annual_leave_days: float = Field(
        default=27.0, ge=0, le=100, description="full-time working days of annual leave a year"
    )
    leave_block_days: int = Field(
        default=5, ge=1, le=25, description="annual leave is taken in blocks of this many days"
    )
    session_hours: float = Field(
        default=3.75, gt=0, le=12, description="length of a timetable session (half a day)"
    )
    sickness: Sickness | None = None
    source: Source


class Booking(Strict):
    """How appointments are booked into diaries and waiting lists are served."""

    horizon_days: float | None = Field(
        default=28.0, gt=0, description="diaries open this far ahead; None: without limit"
    )
    min_notice_days: float = Field(
        default=1.0, ge=0, description="earliest appointment after the booking is made"
    )
    allocation: Literal["soonest", "same_as_assessor", "least_loaded"] = "soonest"
    priorities: tuple[Literal["risk", "sessions", "assessments", "new_courses"], ...] = (
        "risk",
        "sessions",
        "assessments",
        "new_courses",
    )
    on_staff_absence: Literal["move", "cancel"] = Field(
        default="move",
        description="sessions booked in a clinician's sickness: moved to their next free "
        "slot, or cancelled (the course goes on at the next interval)",
    )
    duty_hours_per_day: float = Field(
        default=1.0, ge=0, le=12, description="clinical time held each working day for risk calls"
    )
    source: Source

    @field_validator("priorities")
    @classmethod
    def _all_priorities(cls, v):
        kinds = {"risk", "sessions", "assessments", "new_courses"}
        if sorted(v) != sorted(kinds):
            raise ValueError(
                "expected priorities to list risk, sessions, assessments and new_courses "
                f"once each, got {list(v)}"
            )
        return v


InitialStage = str


class InitialWaitingList(Strict):
    """Clients already waiting when the simulation starts.

    Either ``counts`` by waiting list (``assessment``, ``in_depth_assessment`` or a step id)
    with the distribution of days already waited, or ``csv``: a file with columns
    ``waited_days`` and optional ``stage`` and ``occupational_group`` (a relative path is
    read from the folder of the YAML file that names it).
    """

    counts: dict[str, int] | None = None
    waited_days: Distribution | None = None
    csv: str | None = None
    source: Source

    @model_validator(mode="after")
    def _one_form(self):
        if (self.counts is None) == (self.csv is None):
            raise ValueError("expected exactly one of counts (with waited_days) or csv")
        if self.counts is not None:
            if self.waited_days is None:
                raise ValueError("expected waited_days with counts")
            bad = [k for k, v in self.counts.items() if v < 0]
            if bad:
                raise ValueError(f"expected non-negative counts, got {bad[0]}: {self.counts[bad[0]]}")
        return self


class Simulation(Strict):
    """What a simulation needs beyond the paper's service description.

    ``horizon`` and ``warmup`` (optional) set a run's length and KPI window when the
    caller gives neither: ``horizon`` is the last simulated day as a date (inclusive) or
    a number of days from ``period.start``; ``warmup`` is the KPI window's first day as a
    date or days from ``period.start`` (the days before it are the warm-up). See
    :mod:`hubsim.des.window`.
    """

    period: Period
    horizon: dt.date | float | None = None
    warmup: dt.date | float | None = None
    calendar: Calendar
    staff_time: StaffTime
    booking: Booking
    initial_waiting_list: InitialWaitingList | None = None
    demand: Demand
    clients: Clients
    attendance: Attendance
    outcomes: Outcomes
    external_services: tuple[ExternalService, ...] = ()

    @field_validator("horizon", "warmup", mode="before")
    @classmethod
    def _date_or_days(cls, v: Any) -> Any:
        # one sentence for a bad value (the union would report each type it tried)
        if v is None or isinstance(v, dt.date) or (
            isinstance(v, int | float) and not isinstance(v, bool)
        ):
            return v
        if isinstance(v, str):
            try:
                return dt.date.fromisoformat(v)
            except ValueError:
                pass
        raise ValueError(f"expected a date (YYYY-MM-DD) or a number of days, got {v!r}")
    economics: Economics


# ------------------------------------------------------------------------------- root
class ServiceConfig(Strict):
    """A whole hub (``kind: hub``) or a region without one (``kind: usual_care``).

    Build with :func:`hubsim.load_config` from YAML; the object is frozen and hashable by
    content (:attr:`content_hash`).
    """

    schema_version: Literal[1] = 1
    name: str
    kind: Literal["hub", "usual_care"]
    description: str = ""
    region: Region
    service: ServiceInventory
    interventions: Interventions
    simulation: Simulation

    @model_validator(mode="after")
    def _validate_cross_fields(self):
        problems = self._cross_checks()
        if problems:
            raise CrossFieldError(problems)
        return self

    # ---- derived
    @cached_property
    def content_hash(self) -> str:
        """SHA-256 of the canonical JSON of the content (key order and comments ignored)."""
        payload = json.dumps(
            self.model_dump(mode="json", by_alias=True), sort_keys=True, separators=(",", ":")
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict:
        """The resolved configuration as plain JSON-able data."""
        return self.model_dump(mode="json", by_alias=True)

    def offered_steps(self) -> list[str]:
        return [s for s, step in self.interventions.steps.items() if step.offered]

    # ---- checks
    def _window_checks(self) -> list[tuple[tuple[str | int, ...], str]]:
        """``simulation.horizon`` / ``warmup``: dates inside the period, warm-up first."""
        sim = self.simulation
        period = sim.period
        out: list[tuple[tuple[str | int, ...], str]] = []
        days = {}
        for name, value, low in (("horizon", sim.horizon, 0), ("warmup", sim.warmup, -1)):
            if value is None:
                continue
            path = ("simulation", name)
            if isinstance(value, dt.date):
                if not period.start <= value <= period.end:
                    out.append(
                        (
                            path,
                            f"expected a date inside simulation.period {period.start} to "
                            f"{period.end}, got {value}",
                        )
                    )
                    continue
                # the horizon date is the last simulated day, the warm-up date the first KPI day
                days[name] = (value - period.start).days + (name == "horizon")
            elif not math.isfinite(value) or value <= low:
                want = "positive" if name == "horizon" else "non-negative"
                out.append((path, f"expected a date or a {want} number of days, got {value}"))
            else:
                days[name] = value
        if "horizon" in days and "warmup" in days and days["warmup"] >= days["horizon"]:
            out.append(
                (
                    ("simulation", "warmup"),
                    f"expected the warm-up to end before the horizon ({sim.horizon}), "
                    f"got {sim.warmup}",
                )
            )
        return out

    def _cross_checks(self) -> list[tuple[tuple[str | int, ...], str]]:
        out: list[tuple[tuple[str | int, ...], str]] = []
        wf = self.service.workforce
        role_ids = [r.id for r in wf.roles]
        roles = {r.id: r for r in wf.roles}
        staffed = {r.id for r in wf.roles if r.wte > 0 and r.job_plan.direct_clinical > 0}
        base = ("service", "workforce")

        seen: set[str] = set()
        for i, rid in enumerate(role_ids):
            if rid in seen:
                out.append(
                    ((*base, "roles", i, "id"), f"expected unique role ids, {rid!r} repeats")
                )
            seen.add(rid)
        for i, r in enumerate(wf.roles):
            if BAND_ORDER.index(r.band_low) > BAND_ORDER.index(r.band_high):
                out.append(
                    (
                        (*base, "roles", i, "band_high"),
                        f"expected band_high at or above band_low {r.band_low}, got {r.band_high}",
                    )
                )
            jp = r.job_plan
            total = (
                jp.direct_clinical
                + jp.team_support
                + jp.supervision
                + jp.admin
                + jp.leave
                + jp.other
            )
            if abs(total - 1) > 1e-6:
                out.append(
                    (
                        (*base, "roles", i, "job_plan"),
                        f"expected job-plan shares summing to 1, got {total:.4g}",
                    )
                )
        for i, r in enumerate(wf.roles):
            if r.contracts is None:
                continue
            path = (*base, "roles", i, "contracts")
            if any(not (0 < c <= 1.0) for c in r.contracts):
                out.append((path, f"expected each contract in (0, 1] WTE, got {list(r.contracts)}"))
            elif abs(sum(r.contracts) - r.wte) > 0.005:
                out.append(
                    (
                        path,
                        f"expected contracts summing to the role's wte {r.wte:.4g}, got "
                        f"{sum(r.contracts):.4g}",
                    )
                )
        if abs(wf.total_wte - wf.reported_total_wte) > 0.005:
            out.append(
                (
                    (*base, "reported_total_wte"),
                    f"expected the roles' WTE ({wf.total_wte:.4g}) to equal reported_total_wte "
                    f"({wf.reported_total_wte:.4g})",
                )
            )

        team_staffed = {r.id for r in wf.roles if r.wte > 0 and r.job_plan.team_support > 0}

        def check_roles(path, listed, what, need_staffed, pool=staffed):
            for j, rid in enumerate(listed):
                if rid not in roles:
                    out.append(
                        (
                            (*path, j),
                            f"unknown role {rid!r} for {what}; expected one of "
                            f"{', '.join(role_ids)}",
                        )
                    )
            if need_staffed and listed and not any(r in pool for r in listed):
                out.append(
                    (
                        path,
                        f"{what} is offered but none of its roles "
                        f"({', '.join(listed)}) has WTE with direct clinical time",
                    )
                )

        iv = self.interventions
        tp = self.service.target_population
        # eligibility rows: each Table 3 row exactly once
        rows = [e.group for e in tp.eligibility]
        for g in ELIGIBILITY_ROWS:
            if rows.count(g) != 1:
                out.append(
                    (
                        ("service", "target_population", "eligibility"),
                        f"expected Table 3 row {g!r} exactly once, found {rows.count(g)}",
                    )
                )
        group_ids = [g.id for g in tp.groups]
        tot_share = sum(g.share_of_staff for g in tp.groups)
        if abs(tot_share - 1) > 1e-6:
            out.append(
                (
                    ("service", "target_population", "groups"),
                    f"expected share_of_staff summing to 1, got {tot_share:.4g}",
                )
            )
        period = self.simulation.period
        if period.end <= period.start:
            out.append(
                (
                    ("simulation", "period", "end"),
                    f"expected end after start {period.start}, got {period.end}",
                )
            )
        out.extend(self._window_checks())
        for i, g in enumerate(tp.groups):
            if not (period.start <= g.opens <= period.end):
                out.append(
                    (
                        ("service", "target_population", "groups", i, "opens"),
                        f"expected an opening date inside the simulated period "
                        f"{period.start} to {period.end}, got {g.opens}",
                    )
                )
        for i, c in enumerate(iv.outreach.campaigns):
            if c.end < c.start:
                out.append(
                    (
                        ("interventions", "outreach", "campaigns", i, "end"),
                        f"expected end on or after start {c.start}, got {c.end}",
                    )
                )
            for j, gid in enumerate(c.groups):
                if gid not in group_ids:
                    out.append(
                        (
                            ("interventions", "outreach", "campaigns", i, "groups", j),
                            f"unknown occupational group {gid!r}; expected one of "
                            f"{', '.join(group_ids)}",
                        )
                    )
        for i, s in enumerate(self.simulation.demand.surges):
            if s.end < s.start:
                out.append(
                    (
                        ("simulation", "demand", "surges", i, "end"),
                        f"expected end on or after start {s.start}, got {s.end}",
                    )
                )

        st = self.simulation.staff_time
        for i, c in enumerate(st.closures):
            if c.end < c.start:
                out.append(
                    (
                        ("simulation", "staff_time", "closures", i, "end"),
                        f"expected end on or after start {c.start}, got {c.end}",
                    )
                )
        iwl = self.simulation.initial_waiting_list
        if iwl is not None and iwl.counts is not None:
            lists = ["assessment", "in_depth_assessment", "treatment", *self.offered_steps()]
            for k in iwl.counts:
                if k not in lists:
                    out.append(
                        (
                            ("simulation", "initial_waiting_list", "counts", k),
                            f"unknown waiting list {k!r}; expected one of {', '.join(lists)}",
                        )
                    )

        sc = iv.screening
        check_roles(
            ("interventions", "screening", "processing_roles"),
            sc.processing_roles,
            "referral processing",
            False,
        )
        check_roles(
            ("interventions", "triage", "risk", "duty_roles"),
            iv.triage.risk.duty_roles,
            "duty (risk) assessment",
            True,
        )
        for i, rule in enumerate(iv.triage.rules):
            if rule.measure not in sc.measures:
                out.append(
                    (
                        ("interventions", "triage", "rules", i, "measure"),
                        f"triage rule uses {rule.measure!r}, which the site does not screen "
                        f"with; expected one of {', '.join(sc.measures)}",
                    )
                )
            if not iv.steps.get(rule.step).offered:
                out.append(
                    (
                        ("interventions", "triage", "rules", i, "step"),
                        f"triage rule sends clients to {rule.step!r}, which is not offered",
                    )
                )
        if not iv.steps.get(iv.triage.default_step).offered:
            out.append(
                (
                    ("interventions", "triage", "default_step"),
                    f"expected an offered step, {iv.triage.default_step!r} is not offered",
                )
            )

        a = iv.assessment
        if a.model == "two_stage" and a.short is None:
            out.append(
                (
                    ("interventions", "assessment", "short"),
                    "expected a short assessment stage for the two-stage model",
                )
            )
        if a.short is not None:
            check_roles(
                ("interventions", "assessment", "short", "roles"),
                a.short.roles,
                "short assessment",
                a.model == "two_stage",
            )
        check_roles(
            ("interventions", "assessment", "in_depth", "roles"),
            a.in_depth.roles,
            "in-depth assessment",
            True,
        )

        for sid, step in iv.steps.items():
            path = ("interventions", "steps", sid)
            if step.offered and not step.roles:
                out.append(((*path, "roles"), f"step {sid!r} is offered but lists no roles"))
            check_roles((*path, "roles"), step.roles, f"step {sid!r}", step.offered)
            if step.delivery == "group" and step.offered:
                if step.group_size_min is None or step.group_cadence_days is None:
                    out.append(
                        (path, f"group step {sid!r} needs group_size_min and group_cadence_days")
                    )
                elif step.group_size_max is not None and step.group_size_max < step.group_size_min:
                    out.append(
                        (
                            (*path, "group_size_max"),
                            f"expected group_size_max >= group_size_min ({step.group_size_min})",
                        )
                    )
        if (
            not any(iv.steps.get(s).offered for s in STEP_LADDER)
            and iv.onward_referral.p_onward < 1
        ):
            out.append(
                (
                    ("interventions", "steps"),
                    "no step of the ladder (self_help to step4) is offered, so p_onward must be 1",
                )
            )

        ext_ids = [e.id for e in self.simulation.external_services]
        onward = iv.onward_referral
        if onward.p_onward > 0:
            tot = sum(d.share for d in onward.destinations)
            if abs(tot - 1) > 1e-6:
                out.append(
                    (
                        ("interventions", "onward_referral", "destinations"),
                        f"expected destination shares summing to 1, got {tot:.4g}",
                    )
                )
        for i, d in enumerate(onward.destinations):
            if d.service not in ext_ids:
                out.append(
                    (
                        ("interventions", "onward_referral", "destinations", i, "service"),
                        f"unknown external service {d.service!r}; expected one of "
                        f"{', '.join(ext_ids) or '(none defined)'}",
                    )
                )

        for name in ("consultation", "workshops", "peer_support"):
            act: TeamActivity = getattr(iv.team_support, name)
            check_roles(
                ("interventions", "team_support", name, "roles"),
                act.roles,
                f"team {name}",
                act.offered and act.hours_per_month > 0,
                team_staffed,
            )

        missing_bands = {r.band_low for r in wf.roles} | {r.band_high for r in wf.roles}
        missing_bands -= set(self.simulation.economics.hourly_cost_by_band)
        if missing_bands:
            out.append(
                (
                    ("simulation", "economics", "hourly_cost_by_band"),
                    f"expected an hourly cost for every band used, missing {sorted(missing_bands)}",
                )
            )
        return out
