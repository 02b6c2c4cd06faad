"""Hub effects for a regional evaluation, derived from runs of the hub simulation (DES).

:func:`effect_from_des` runs a hub configuration and a comparator (by default usual care,
``configs/usual_care.yaml``) on the same machinery, with common random numbers (the same
seed and stream key, so the k-th person seeking help brings the same latent problems and
decision draws in both worlds), and turns the two client tables into the change in the
outcome the evaluation measures, month by month since the hub opened.

Outcome model (followed from :mod:`hubsim.des.model`). Each person carries latent problems
on the standard-normal scale where 0 is the general staff population. The DES changes the
latent state while a person waits (natural remission with a monthly hazard, towards their
own general-population level ``z0``; a penalty per month waited) and at the end of each
course (the step's effect times the share of sessions attended); external services apply
their wait and effect at the onward referral. Here, between those events:

- *in the service* (waiting or in a course, also at the horizon): the person is counted at
  their natural-course value (treatment counts when the DES counts it, at the course end);
- *after the episode* (discharge, or for people treated externally the external wait plus
  :data:`EXTERNAL_COURSE_DAYS`): the DES's final latent state, with natural remission
  continuing at the same hazard towards ``z0``;
- *natural course* (no service at all): the latent state at first contact, remitting at the
  same hazard towards ``z0``, with no waiting penalty.

Remission is averaged out (expectations, not draws), and instrument scores are replaced by
their expectation under the item model of :mod:`hubsim.measures` (expected PHQ-9 total;
probability of NHS Talking Therapies caseness, PHQ-9 >= 10 or GAD-7 >= 8), so the effects
carry no measurement noise; the outcome's SD (for the design's noise) includes it.

Populations:

- ``staff_survey``: a repeated cross-section of all in-scope staff at the end of each month.
  The effect on the mean is (cumulative uptake among staff) x (mean gain of a hub user over
  what they would have had without the hub), where the counterfactual is usual care for the
  share of hub users who would have sought help there (min(1, ratio of the two worlds'
  uptakes); usual care stays open in hub regions for the rest of its users) and the natural
  course for the rest. At about 1% uptake a year the effect is tiny.
- ``help_seeker_cohort``: people who ask for help in a month (a self-assessment without a
  referral does not count), followed up ``follow_up_days`` after first contact: hub-region
  mean (hub clients plus the usual-care users the hub did not absorb) minus usual-care-region
  mean.
- ``service_waits``: the same cohorts: mean days from first contact to first treatment (in
  house, any step, or an external service) among those treated within the follow-up, or the
  share of all help-seekers treated within 6 or 18 weeks.

Examples
--------
>>> import hubsim
>>> hub = hubsim.load_config("site_d")
>>> res = effect_from_des(hub, population="service_waits", horizon_days=240, replications=2)
>>> list(res.profile.columns)[:3]
['event_time_months', 'effect', 'mcse']
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

from hubsim.checks import check_int
from hubsim.config import ServiceConfig, load_config
from hubsim.des.outcomes import (
    ExpectedOutcomes,
    expected_outcome,
    remission_probability,
    staff_baseline,
)
from hubsim.regional.design import RegionalDesign
from hubsim.regional.effects import DynamicEffect
from hubsim.stats import mean_mcse

__all__ = [
    "COMPONENT_COLUMNS",
    "DAYS_PER_MONTH",
    "EXTERNAL_COURSE_DAYS",
    "OUTCOMES",
    "POPULATIONS",
    "PROFILE_COLUMNS",
    "REPLICATE_COLUMNS",
    "DESEffect",
    "default_comparator",
    "des_request_problems",
    "effect_from_des",
    "months_per_period",
]

DAYS_PER_MONTH = 365.25 / 12.0
# An external course (e.g. NHS Talking Therapies) ends this long after it starts: IAPT flow
# parameters, median 2 months on caseload (calibration.md section 3, Strategy Unit model).
EXTERNAL_COURSE_DAYS = 2.0 * DAYS_PER_MONTH
SIX_WEEKS_DAYS = 42.0
EIGHTEEN_WEEKS_DAYS = 126.0

POPULATIONS = ("staff_survey", "help_seeker_cohort", "service_waits")
OUTCOMES = {
    "staff_survey": ("phq9", "caseness"),
    "help_seeker_cohort": ("phq9", "caseness"),
    "service_waits": ("wait_days", "treated_within_6w", "treated_within_18w"),
}
_BINARY = {"caseness", "treated_within_6w", "treated_within_18w"}
_UNITS = {
    "phq9": "PHQ-9 points",
    "caseness": "probability of caseness (PHQ-9 >= 10 or GAD-7 >= 8)",
    "wait_days": "days from first contact to first treatment",
    "treated_within_6w": "share treated within 6 weeks of first contact",
    "treated_within_18w": "share treated within 18 weeks of first contact",
}
PROFILE_COLUMNS = [
    "event_time_months",
    "effect",
    "mcse",
    "hub",
    "comparator",
    "n_replications",
]
REPLICATE_COLUMNS = ["replication", "event_time_months", "effect", "hub", "comparator"]
COMPONENT_COLUMNS = {
    "staff_survey": [
        "event_time_months",
        "uptake",
        "uptake_comparator",
        "counterfactual_help_seeking_share",
        "gain_per_user",
        "gain_per_comparator_user",
        "individual_effect",
        "effect",
    ],
    "help_seeker_cohort": ["event_time_months", "n_hub", "n_comparator"],
    "service_waits": ["event_time_months", "n_hub", "n_comparator"],
}

_COMMON_ASSUMPTIONS = (
    "Hub and comparator are simulated with common random numbers (same seed and stream key): "
    "the k-th person seeking help brings the same latent problems and decision draws.",
    "Month 0 is the hub's opening month (the configuration's period start); the hub opens "
    "with no waiting list. The comparator is a standing service with no queue build-up, "
    "simulated on the hub's calendar (same start; its groups open from the start).",
    "Usual care stays open in hub regions: each month the hub absorbs the people who would "
    "have used usual care up to its own uptake per staff member; the rest keep using usual "
    "care and are counted in the hub region.",
    "Outcomes follow the DES: natural remission at the configured monthly hazard towards the "
    "person's general-population level, a penalty per month waited, and each course's effect "
    "counted at its end (external services: after the external wait plus "
    f"{EXTERNAL_COURSE_DAYS:.0f} days, the median IAPT time on caseload, calibration.md §3).",
    "People still in the service are counted at their natural-course value; after the "
    "episode natural remission continues; without any service there is no waiting penalty.",
    "Scores are replaced by their expectation under the hubsim.measures item model "
    "(no measurement noise in the effect).",
)
_POPULATION_ASSUMPTIONS = {
    "staff_survey": (
        "Closed staff population (no turnover); each referral is a distinct person; "
        "survey at the end of each month; clients who are not staff (family members) are "
        "not surveyed.",
        "No effect on staff who never contact a service (team support, outreach and "
        "spill-overs are not counted).",
        "Effect = uptake x individual effect; the individual counterfactual is usual care "
        "for the share of hub users who would have used it without a hub (min(1, comparator "
        "uptake / hub uptake), cumulative per staff member) and the natural course for the "
        "rest.",
    ),
    "help_seeker_cohort": (
        "Cohort: everyone who asks for help in the month (people who only self-assess and "
        "do not refer are left out; people not accepted stay in), measured a fixed time "
        "after first contact; "
        "months whose follow-up runs past the horizon are left out.",
    ),
    "service_waits": (
        "First treatment: the first in-house course of any step (self-help included) or the "
        "start of external treatment (onward referral plus the external wait); people never "
        "treated count in the shares as not treated and are left out of the mean wait; "
        "months whose follow-up runs past the horizon are left out.",
    ),
}


# ------------------------------------------------------------------ checks shared with studies
def months_per_period(design: Any) -> int:
    """Months in one period of ``design``: 1 for monthly periods, ``12 / periods_per_year``.

    Raises ValueError when ``periods_per_year`` does not divide 12 (waves cannot be mapped
    to whole months).
    """
    if design.period_unit == "month":
        return 1
    per_year = design.periods_per_year or 1.0
    k = 12.0 / per_year
    if abs(k - round(k)) > 1e-9 or round(k) < 1:
        raise ValueError(f"periods_per_year must divide 12 to map months to waves, got {per_year}.")
    return round(k)


def des_request_problems(
    population: str, outcome: str, horizon_days: float, follow_up_days: float
) -> list[tuple[str, str]]:
    """What is wrong with a DES-effect request, as (field, sentence) pairs (empty if fine).

    The checks :func:`effect_from_des` makes and a study file's ``effect_from_des`` block
    gets (with the file and line): the outcome is measured in the population, the
    follow-up covers a share's threshold, and the horizon covers one month of profile
    after the follow-up.
    """
    out: list[tuple[str, str]] = []
    if outcome not in OUTCOMES[population]:
        out.append(
            (
                "outcome",
                f"outcome {outcome!r} is not available for {population}; expected one of "
                f"{', '.join(OUTCOMES[population])}.",
            )
        )
    for oc, need in (
        ("treated_within_18w", EIGHTEEN_WEEKS_DAYS),
        ("treated_within_6w", SIX_WEEKS_DAYS),
    ):
        if outcome == oc and follow_up_days < need:
            out.append(
                (
                    "follow_up_days",
                    f"follow_up_days must be at least {need:g} for {oc}, got {follow_up_days:g}.",
                )
            )
    lag = 0.0 if population == "staff_survey" else float(follow_up_days)
    if math.floor((horizon_days - lag) / DAYS_PER_MONTH + 1e-9) < 1:
        need = lag + DAYS_PER_MONTH
        out.append(
            (
                "horizon_days",
                f"horizon_days {horizon_days:g} must cover at least one month"
                + (f" plus the follow-up of {lag:g} days" if lag else "")
                + f"; expected at least {need:.1f} days.",
            )
        )
    return out


# expected scores and the outcome paths: one model, in hubsim.des.outcomes
_expected = expected_outcome
_staff_baseline = staff_baseline


# ------------------------------------------------------------------ running the DES
@dataclass(frozen=True)
class _Paths:
    """What one replication of one configuration contributes (arrays a client)."""

    referred: np.ndarray
    episode_end: np.ndarray
    first_treatment: np.ndarray
    surveyed: np.ndarray
    sought_help: np.ndarray
    latent0: np.ndarray
    latent_end: np.ndarray
    z0: np.ndarray


def _run_paths(config: ServiceConfig, horizon_days: float, seed: int, rep: int, scenario: str):
    """One replication: the record :func:`hubsim.simulate` derives its tables from, reduced
    to paths (first treatment is the client table's ``first_treatment_at``: the same
    definition of the wait as the KPIs)."""
    from hubsim.des.frames import clients_frame
    from hubsim.des.simulate import run_record

    rec = run_record(
        config, horizon_days=horizon_days, seed=seed, replication=rep, scenario=scenario
    )
    c = clients_frame(rec)
    disc = c["discharged_at"].to_numpy(dtype=float)
    censored = c["censored"].to_numpy(dtype=bool)
    onward = c["pathway"].to_numpy() == "onward"
    ext_wait = c["external_wait_days"].to_numpy(dtype=float)
    ext_treated = c["external_treated"].to_numpy(dtype=bool) & onward
    end = np.where(ext_treated, disc + ext_wait + EXTERNAL_COURSE_DAYS, disc)
    end = np.where(censored, np.inf, end)
    start = c["first_treatment_at"].to_numpy(dtype=float)
    first = np.where(np.isfinite(start), start, np.where(ext_treated, disc + ext_wait, np.inf))
    surveyed = c["occupational_group"].astype(str).to_numpy() != "family_members"
    cl = rec.clients
    return _Paths(
        referred=c["referred_at"].to_numpy(dtype=float),
        episode_end=end,
        first_treatment=first,
        surveyed=surveyed,
        sought_help=c["discharge_reason"].to_numpy() != "not_referred",
        latent0=np.asarray(cl["latent0"], dtype=float)[:, :2].copy(),
        latent_end=np.asarray(cl["latent_end"], dtype=float)[:, :2].copy(),
        z0=np.asarray(cl["z0"], dtype=float)[:, :2].copy(),
    )


def _run_one(args):
    return _run_paths(*args)


# ------------------------------------------------------------------ outcome paths
_remitted = remission_probability


class _Outcomes(ExpectedOutcomes):
    """:class:`hubsim.des.outcomes.ExpectedOutcomes` of one replication's paths."""

    def __init__(self, p: _Paths, outcome: str, rate: float):
        self.p = p
        super().__init__(p.referred, p.episode_end, p.latent0, p.latent_end, p.z0, outcome, rate)


# ------------------------------------------------------------------ the result
@dataclass(frozen=True)
class DESEffect:
    """A hub effect derived from DES runs, by month since opening.

    Attributes
    ----------
    population : str
        ``"staff_survey"``, ``"help_seeker_cohort"`` or ``"service_waits"``.
    outcome : str
        See :data:`OUTCOMES`; units in :attr:`units`.
    profile : pandas.DataFrame
        :data:`PROFILE_COLUMNS`: the effect (hub minus comparator) at each month since
        opening with its Monte-Carlo SE over replications, and the two arms' values.
    replicates : pandas.DataFrame
        :data:`REPLICATE_COLUMNS`: the same per replication (paired by CRN).
    components : pandas.DataFrame
        :data:`COMPONENT_COLUMNS` for the population: for the staff survey the dilution
        (uptake, gain per user, counterfactual share, individual effect); for cohorts the
        pooled cohort sizes.
    baseline_mean, baseline_sd : float
        The outcome's mean and SD in the measured population under the comparator (for a
        binary outcome, the prevalence and sqrt(p(1-p))).
    hub, comparator : str
        Configuration names.
    horizon_days, follow_up_days : float
    replications, seed : int
    assumptions : tuple of str
    """

    population: str
    outcome: str
    profile: pd.DataFrame
    replicates: pd.DataFrame
    components: pd.DataFrame
    baseline_mean: float
    baseline_sd: float
    hub: str
    comparator: str
    horizon_days: float
    follow_up_days: float
    replications: int
    seed: int
    assumptions: tuple[str, ...] = field(default_factory=tuple)

    @property
    def units(self) -> str:
        """The outcome's units."""
        return _UNITS[self.outcome]

    @property
    def binary(self) -> bool:
        """Whether the outcome is a share (binary at the individual level)."""
        return self.outcome in _BINARY

    def _periods(self, months_per_period: int) -> np.ndarray:
        check_int("months_per_period", months_per_period, 1)
        prof = self.profile.sort_values("event_time_months")
        ok = np.isfinite(prof["effect"].to_numpy())
        months = prof["event_time_months"].to_numpy()[ok]
        values = prof["effect"].to_numpy()[ok]
        if months.size == 0 or months[0] != 0 or np.any(np.diff(months) != 1):
            raise ValueError(
                "profile must have finite effects for consecutive months from event time 0; "
                "lengthen horizon_days or add replications."
            )
        k = int(months_per_period)
        n = max(1, math.ceil(values.size / k))
        return np.array([values[e * k : (e + 1) * k].mean() for e in range(n)])

    def to_effect(
        self,
        *,
        scale: str = "outcome",
        months_per_period: int = 1,
        baseline: float | None = None,
    ) -> DynamicEffect:
        """The effect profile as a :class:`~hubsim.regional.DynamicEffect`.

        Parameters
        ----------
        scale : {"outcome", "standardised", "logit", "probit"}
            ``outcome``: in :attr:`units`; ``standardised``: divided by
            :attr:`baseline_sd`; ``logit``/``probit`` (binary outcomes): the shift on the
            link scale that moves ``baseline`` by the risk difference (exact with no
            between-region variance; use :meth:`apply_to` for the exact calibration).
        months_per_period : int, default 1
            Months per design period (12 for annual survey waves): the effect of period
            ``e`` is the mean of months ``e*k .. e*k+k-1``; the last value holds thereafter.
        baseline : float, optional
            Baseline prevalence for the link scales (default :attr:`baseline_mean`).

        Returns
        -------
        DynamicEffect

        Examples
        --------
        >>> prof = pd.DataFrame({"event_time_months": [0, 1], "effect": [0.0, -0.2],
        ...                      "mcse": [0.0, 0.01], "hub": [0, 0], "comparator": [0, 0],
        ...                      "n_replications": [2, 2]})
        >>> res = DESEffect("staff_survey", "phq9", prof, prof, prof, 4.0, 5.0, "h", "u",
        ...                 60.0, 0.0, 2, 0)
        >>> res.to_effect(scale="standardised").profile
        (0.0, -0.04)
        """
        values = self._periods(months_per_period)
        if scale == "outcome":
            out = values
        elif scale == "standardised":
            out = values / self.baseline_sd
        elif scale in ("logit", "probit"):
            if not self.binary:
                raise ValueError(
                    f"scale={scale!r} needs a binary outcome, but the outcome is {self.outcome!r}."
                )
            p0 = self.baseline_mean if baseline is None else float(baseline)
            p1 = p0 + values
            if not (0 < p0 < 1 and np.all((p1 > 0) & (p1 < 1))):
                raise ValueError(
                    f"baseline {p0} plus the effects must stay inside (0, 1) for a link scale."
                )
            link = special.logit if scale == "logit" else stats.norm.ppf
            out = link(p1) - link(p0)
        else:
            raise ValueError(
                f"scale must be 'outcome', 'standardised', 'logit' or 'probit', got {scale!r}."
            )
        return DynamicEffect(profile=tuple(float(v) for v in out))

    def apply_to(self, design: RegionalDesign) -> RegionalDesign:
        """``design`` measuring this population, with this effect and the DES baseline.

        Continuous outcomes: the design's ``mean`` and ``sd`` become :attr:`baseline_mean`
        and :attr:`baseline_sd`, so the effect is in :attr:`units`. Binary outcomes: the
        design's ``prevalence`` becomes :attr:`baseline_mean` and each period's link-scale
        effect is solved so that the design's marginal risk difference (its estimand)
        equals the DES risk difference. Periods: months, or waves of
        ``12 / periods_per_year`` months.

        Examples
        --------
        >>> prof = pd.DataFrame({"event_time_months": [0, 1], "effect": [-0.1, -0.2],
        ...                      "mcse": [0.0, 0.01], "hub": [0, 0], "comparator": [0, 0],
        ...                      "n_replications": [2, 2]})
        >>> res = DESEffect("staff_survey", "phq9", prof, prof, prof, 4.0, 5.0, "h", "u",
        ...                 60.0, 0.0, 2, 0)
        >>> d = res.apply_to(RegionalDesign(n_regions=4, n_periods=6, n_treated=2, schedule=(3,)))
        >>> d.sd, d.effect.profile
        (5.0, (-0.1, -0.2))
        """
        if not isinstance(design, RegionalDesign):
            raise ValueError(f"design must be a RegionalDesign, got {type(design).__name__}.")
        k = months_per_period(design)
        if not self.binary:
            return design.replace(
                population_kind=self.population,
                outcome="continuous",
                mean=self.baseline_mean,
                sd=self.baseline_sd,
                effect=self.to_effect(months_per_period=k),
            )
        p0 = self.baseline_mean
        base = design.replace(population_kind=self.population, outcome="binary", prevalence=p0)
        tiny = base.replace(
            n_regions=2,
            n_periods=2,
            adoption=(2, None),
            n_treated=None,
            schedule=None,
            closures=None,
            populations=(1.0, 1.0),
            n_per_cell=1,
        )

        def marginal_rd(t: float) -> float:
            return tiny.replace(effect=t).estimand().att

        taus = []
        for rd in self._periods(k):
            if rd == 0.0:
                taus.append(0.0)
                continue
            if not -p0 < rd < 1.0 - p0:
                raise ValueError(f"risk difference {rd} is impossible at prevalence {p0}.")
            taus.append(optimize.brentq(lambda t, rd=rd: marginal_rd(t) - rd, -30.0, 30.0))
        return base.replace(effect=DynamicEffect(profile=tuple(float(t) for t in taus)))

    def tidy(self) -> pd.DataFrame:
        """Long form: population, outcome, event_time_months, quantity, value.

        Quantities are the profile's ``effect``, ``mcse``, ``hub`` and ``comparator`` and
        the population's components (e.g. ``uptake``, ``individual_effect``).
        """
        prof = self.profile.drop(columns=["n_replications"]).melt(
            id_vars="event_time_months", var_name="quantity", value_name="value"
        )
        comp = self.components.drop(columns=["effect"], errors="ignore").melt(
            id_vars="event_time_months", var_name="quantity", value_name="value"
        )
        out = pd.concat([prof, comp], ignore_index=True)
        out.insert(0, "outcome", self.outcome)
        out.insert(0, "population", self.population)
        cols = ["population", "outcome", "event_time_months", "quantity", "value"]
        return (
            out[cols]
            .sort_values(["quantity", "event_time_months"], kind="stable")
            .reset_index(drop=True)
        )

    def summary(self) -> str:
        """A short report: the effect at a few months, the baseline and the assumptions."""
        prof = self.profile[np.isfinite(self.profile["effect"])]
        lines = [
            f"DES-derived effect: {self.hub} vs {self.comparator}; population {self.population}; "
            f"outcome {self.outcome} ({self.units})",
            f"{self.replications} paired replications (CRN), seed {self.seed}, horizon "
            f"{self.horizon_days:g} days"
            + (
                f", follow-up {self.follow_up_days:g} days"
                if self.population != "staff_survey"
                else ""
            ),
            f"baseline under the comparator: mean {self.baseline_mean:.4g}, SD {self.baseline_sd:.4g}",
        ]
        if len(prof):
            show = sorted({0, 5, 11, 23, int(prof["event_time_months"].max())})
            for m in show:
                row = prof[prof["event_time_months"] == m]
                if len(row):
                    r = row.iloc[0]
                    lines.append(
                        f"  month {m:>2}: effect {r['effect']:+.4g} (MCSE {r['mcse']:.2g}); "
                        f"hub {r['hub']:.4g}, comparator {r['comparator']:.4g}"
                    )
            lines.append(
                f"  mean over months 0-{int(prof['event_time_months'].max())}: "
                f"{prof['effect'].mean():+.4g}"
            )
        if self.population == "staff_survey" and len(self.components):
            last = self.components.dropna(subset=["individual_effect"]).tail(1)
            if len(last):
                c = last.iloc[0]
                lines.append(
                    f"  dilution at month {int(c['event_time_months'])}: uptake {c['uptake']:.3%} "
                    f"x individual effect {c['individual_effect']:+.4g} = {c['effect']:+.4g}"
                )
        lines.append("Assumptions:")
        lines.extend(f"  - {a}" for a in self.assumptions)
        return "\n".join(lines)


# ------------------------------------------------------------------ the entry point
def default_comparator() -> ServiceConfig:
    """The usual-care configuration a hub is compared with when none is given."""
    from hubsim.resources import config_path

    path = config_path("usual_care")  # shipped with the package (hubsim.resources)
    if not path.exists():
        raise ValueError(
            f"comparator_config was not given and {path} does not exist; pass the usual-care "
            "ServiceConfig or its YAML path."
        )
    return load_config(path)


def _as_config(value: Any, what: str) -> ServiceConfig:
    if isinstance(value, ServiceConfig):
        return value
    if isinstance(value, str | os.PathLike):
        return load_config(value)
    raise ValueError(f"{what} must be a ServiceConfig or a YAML path, got {type(value).__name__}.")


def _mean_sd(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over replications (axis 0, NaN-aware), its MCSE and the count of finite values."""
    return mean_mcse(values, axis=0)


def _collapse(x: np.ndarray) -> np.ndarray:
    """Mean over the months with a value, per replication: a (replications, 1) array."""
    ok = np.isfinite(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(ok, x, 0.0).sum(axis=1) / ok.sum(axis=1)
    return out[:, None]


def _align_calendar(comparator: ServiceConfig, hub: ServiceConfig) -> ServiceConfig:
    """The comparator on the hub's calendar: month 0 is the hub's opening month.

    Its period starts with the hub's, so date-bound surges fall in the same months; groups
    open from the comparator's own start (or before the new one) are open from the new
    start (usual care has no phased opening).
    """
    from hubsim.config.variants import vary

    old, new = comparator.simulation.period.start, hub.simulation.period.start
    if old == new:
        return comparator
    changes: dict[str, Any] = {"simulation.period.start": new.isoformat()}
    for g in comparator.service.target_population.groups:
        if g.opens <= old or g.opens < new:
            changes[f"service.target_population.groups[{g.id}].opens"] = new.isoformat()
    return vary(comparator, changes, sync_total_wte=False)


def effect_from_des(
    hub_config: ServiceConfig | str | os.PathLike,
    comparator_config: ServiceConfig | str | os.PathLike | None = None,
    *,
    population: str = "staff_survey",
    outcome: str | None = None,
    horizon_days: float = 730.5,
    replications: int = 10,
    seed: int = 0,
    follow_up_days: float = 6 * DAYS_PER_MONTH,
    by_event_time: bool = True,
    usual_care_continues: bool = True,
    scenario: str = "common",
    workers: int = 1,
) -> DESEffect:
    """Derive the hub effect a regional evaluation would see from paired DES runs.

    Parameters
    ----------
    hub_config : ServiceConfig or path
        The hub (e.g. ``configs/sites/site_a.yaml``, or a planner's variant of it).
    comparator_config : ServiceConfig or path, optional
        The region without a hub; default ``configs/usual_care.yaml``.
    population : {"staff_survey", "help_seeker_cohort", "service_waits"}
    outcome : str, optional
        ``"phq9"`` (default) or ``"caseness"`` for the survey and the cohort;
        ``"wait_days"`` (default), ``"treated_within_6w"`` or ``"treated_within_18w"`` for
        service waits.
    horizon_days : float, default 730.5 (24 months)
        Days simulated from opening; the profile covers the whole months within it (for
        cohorts, those whose follow-up also ends within it).
    replications : int, default 10
        Paired replications (hub r and comparator r share random numbers); the MCSE is the
        SD of the paired differences over sqrt(replications).
    seed : int, default 0
    follow_up_days : float, default 182.6 (6 months)
        Cohorts: time from first contact to measurement (at least 126 days for
        ``treated_within_18w``).
    by_event_time : bool, default True
        False: one row (event time 0) holding the mean over the months, a constant effect.
    usual_care_continues : bool, default True
        In a hub region usual care stays open: each month the hub absorbs the people who
        would have used usual care up to its own uptake (all of them once the hub's uptake
        per staff member exceeds usual care's), and the rest keep using usual care and are
        counted in the hub region's survey and cohorts. False: the hub replaces usual care.
    scenario : str, default "common"
        Stream key shared by both configurations (common random numbers).
    workers : int, default 1
        Processes for the replications; results are identical for any number.

    Returns
    -------
    DESEffect

    Examples
    --------
    >>> import hubsim
    >>> hub = hubsim.load_config("site_d")
    >>> res = effect_from_des(hub, horizon_days=92, replications=2, seed=1)
    >>> bool(res.components["uptake"].iloc[-1] < 0.01)
    True
    """
    hub = _as_config(hub_config, "hub_config")
    comp = (
        default_comparator()
        if comparator_config is None
        else _as_config(comparator_config, "comparator_config")
    )
    if population not in POPULATIONS:
        raise ValueError(f"population must be one of {', '.join(POPULATIONS)}, got {population!r}.")
    outcome = OUTCOMES[population][0] if outcome is None else outcome
    check_int("seed", seed, 0)
    check_int("replications", replications, 1)
    check_int("workers", workers, 1)
    if not (isinstance(horizon_days, int | float) and math.isfinite(horizon_days)):
        raise ValueError(f"horizon_days must be a finite number, got {horizon_days!r}.")
    if not follow_up_days > 0:
        raise ValueError(f"follow_up_days must be positive, got {follow_up_days}.")
    problems = des_request_problems(population, outcome, horizon_days, follow_up_days)
    if problems:
        raise ValueError(problems[0][1])
    survey = population == "staff_survey"
    lag = 0.0 if survey else float(follow_up_days)
    n_months = math.floor((horizon_days - lag) / DAYS_PER_MONTH + 1e-9)

    comp = _align_calendar(comp, hub)
    tasks = [
        (cfg, float(horizon_days), int(seed), r, str(scenario))
        for cfg in (hub, comp)
        for r in range(int(replications))
    ]
    if workers > 1 and len(tasks) > 1:
        with ProcessPoolExecutor(max_workers=min(int(workers), len(tasks))) as ex:
            runs = list(ex.map(_run_one, tasks))
    else:
        runs = [_run_one(t) for t in tasks]
    R = int(replications)
    configs = (hub, comp)
    staff = np.array([float(c.region.in_scope_staff) for c in configs])
    months = np.arange(n_months)
    # per arm (0 hub, 1 comparator), replication and month: the sum of the outcome over the
    # people counted, how many were counted, and how many made first contact (for the share
    # of usual care the hub absorbs)
    total = np.zeros((2, R, n_months))
    count = np.zeros((2, R, n_months))
    contacts = np.zeros((2, R, n_months))
    sum_sq = np.zeros((2, R, n_months))
    for a, cfg in enumerate(configs):
        rate = cfg.simulation.outcomes.natural_remission_per_month
        for r in range(R):
            p = runs[a * R + r]
            if survey:
                tau = (months + 1.0) * DAYS_PER_MONTH  # end of each month
                world, natural = _Outcomes(p, outcome, rate).at(tau[:, None])
                user = (p.referred[None, :] <= tau[:, None]) & (p.surveyed & p.sought_help)[None, :]
                total[a, r] = np.where(user, world - natural, 0.0).sum(axis=1)
                count[a, r] = contacts[a, r] = user.sum(axis=1)
                continue
            if population == "help_seeker_cohort":
                oc = _Outcomes(p, outcome, rate)
                y = oc.at(p.referred + follow_up_days)[0]
                y2 = oc.at(p.referred + follow_up_days, moment=1)[0]
                use = np.ones(p.referred.size, dtype=bool)
            else:
                wait = p.first_treatment - p.referred
                if outcome == "wait_days":
                    use, y = wait <= follow_up_days, wait
                else:
                    thr = SIX_WEEKS_DAYS if outcome == "treated_within_6w" else EIGHTEEN_WEEKS_DAYS
                    use, y = np.ones(p.referred.size, dtype=bool), (wait <= thr).astype(float)
                y2 = y**2
            month_of = np.floor(p.referred / DAYS_PER_MONTH).astype(np.int64)
            inside = (month_of < n_months) & p.sought_help
            contacts[a, r] = np.bincount(month_of[inside], minlength=n_months)
            sel = use & inside
            y, y2, m_sel = np.where(sel, y, 0.0), np.where(sel, y2, 0.0), month_of[sel]
            total[a, r] = np.bincount(m_sel, weights=y[sel], minlength=n_months)
            sum_sq[a, r] = np.bincount(m_sel, weights=y2[sel], minlength=n_months)
            count[a, r] = np.bincount(m_sel, minlength=n_months)

    # Share of usual care the hub absorbs each month (pooled over replications, so it is a
    # constant of the design and the effect stays linear in the replications): people who
    # would have used usual care go to the hub up to the hub's own uptake; the rest keep
    # using usual care in the hub region.
    rate_h = contacts[0].mean(axis=0) / staff[0]
    rate_u = contacts[1].mean(axis=0) / staff[1]
    if usual_care_continues:
        with np.errstate(invalid="ignore", divide="ignore"):
            absorbed = np.where(rate_u > 0, np.minimum(1.0, rate_h / rate_u), 1.0)
    else:
        absorbed = np.ones(n_months)
    kept = 1.0 - absorbed
    if survey:
        hub_arm = total[0] / staff[0] + kept * total[1] / staff[1]
        comp_arm = total[1] / staff[1]
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            w_h, w_u = count[0] / staff[0], kept * count[1] / staff[1]
            mixed = (total[0] / staff[0] + kept * total[1] / staff[1]) / (w_h + w_u)
            hub_arm = np.where(kept > 0, mixed, total[0] / count[0])
            comp_arm = total[1] / count[1]
    diff = hub_arm - comp_arm
    if not by_event_time:
        diff, hub_arm, comp_arm = (_collapse(x) for x in (diff, hub_arm, comp_arm))
    eff, mcse, n_ok = _mean_sd(diff)
    shown = months if by_event_time else np.array([0])
    profile = pd.DataFrame(
        {
            "event_time_months": shown.astype(np.int64),
            "effect": eff,
            "mcse": mcse,
            "hub": _mean_sd(hub_arm)[0],
            "comparator": _mean_sd(comp_arm)[0],
            "n_replications": n_ok.astype(np.int64),
        }
    )[PROFILE_COLUMNS]
    reps = pd.DataFrame(
        {
            "replication": np.repeat(np.arange(R), shown.size),
            "event_time_months": np.tile(shown, R).astype(np.int64),
            "effect": diff.ravel(),
            "hub": hub_arm.ravel(),
            "comparator": comp_arm.ravel(),
        }
    )[REPLICATE_COLUMNS]

    if survey:
        users_h, users_u = count[0].sum(axis=0), count[1].sum(axis=0)
        uptake_h, uptake_u = users_h / (R * staff[0]), users_u / (R * staff[1])
        with np.errstate(invalid="ignore", divide="ignore"):
            g_h = np.where(users_h > 0, total[0].sum(axis=0) / users_h, np.nan)
            g_u = np.where(users_u > 0, total[1].sum(axis=0) / users_u, 0.0)
            share = absorbed * uptake_u / uptake_h
        components = pd.DataFrame(
            {
                "event_time_months": months.astype(np.int64),
                "uptake": uptake_h,
                "uptake_comparator": uptake_u,
                "counterfactual_help_seeking_share": share,
                "gain_per_user": g_h,
                "gain_per_comparator_user": g_u,
                "individual_effect": g_h - share * g_u,
                "effect": _mean_sd(total[0] / staff[0] - absorbed * total[1] / staff[1])[0],
            }
        )
        rho = float(comp.simulation.clients.correlation[0][1])
        base_mean, base_sd = _staff_baseline(outcome, rho)
    else:
        components = pd.DataFrame(
            {
                "event_time_months": months.astype(np.int64),
                "n_hub": count[0].sum(axis=0),
                "n_comparator": count[1].sum(axis=0),
            }
        )
        k = count[1].sum()
        base_mean = float(total[1].sum() / k) if k else math.nan
        base_sd = float(np.sqrt(max(sum_sq[1].sum() / k - base_mean**2, 0.0))) if k else math.nan
    if outcome in _BINARY:
        base_sd = math.sqrt(base_mean * (1.0 - base_mean))
    components = components[COMPONENT_COLUMNS[population]]
    return DESEffect(
        population=population,
        outcome=outcome,
        profile=profile,
        replicates=reps,
        components=components,
        baseline_mean=float(base_mean),
        baseline_sd=float(base_sd),
        hub=hub.name,
        comparator=comp.name,
        horizon_days=float(horizon_days),
        follow_up_days=float(lag),
        replications=R,
        seed=int(seed),
        assumptions=_COMMON_ASSUMPTIONS + _POPULATION_ASSUMPTIONS[population],
    )
