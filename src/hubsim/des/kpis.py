"""KPIs of a replication, from the derived tables only, with censoring handled.

Waits (:data:`hubsim.des.frames.WAITS`, one definition used by ``hubsim run``,
``compare_scenarios`` and the DES-derived effects of the regional evaluation) are
time-to-event data: a client still waiting at the horizon, or who leaves the list without
the event, is censored. So:

* quantiles (median, p90) and shares within 6 and 18 weeks come from the Kaplan-Meier
  estimate of the wait's distribution (``1 - S(42)``, ``1 - S(126)``; a quantile is the
  first time ``S`` falls to or below ``1 - q``, NaN when it never does);
* the mean is the restricted mean to ``tau`` (the area under ``S`` from 0 to ``tau``),
  ``tau`` being the KPI window (horizon minus warm-up): a mean over the observed waits
  only is biased low exactly when the service is overloaded.

The estimate of ``S`` ends at the longest follow-up (the largest wait or censoring time).
Where the curve has not reached zero there, nothing is known about ``S`` later, so it is
never carried flat beyond it: ``tau`` is cut to the longest follow-up, and a share within
a time beyond it is NaN (not estimable). These are the R survival package's defaults
(``summary.survfit`` reports no survival past the data unless ``extend=TRUE``; its
restricted mean stops at the largest time). It happens when every client still waiting
was referred late in the window (a window that ends soon after the hub opens: the flat
tail once made a 5-day wait a 44-day mean), or when the longest wait ends with the client
leaving the list. When the longest wait ends in the event (the curve reaches zero), or
follow-up spans the window, nothing changes.

Each KPI's definition is in :data:`KPI_DEFINITIONS`.
"""

from __future__ import annotations

import math
from collections.abc import Collection

import numpy as np
import pandas as pd

from hubsim.des.frames import WAITS
from hubsim.des.record import STEP_IDS

SIX_WEEKS = 42.0
EIGHTEEN_WEEKS = 126.0


def kaplan_meier(durations: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Event times and the Kaplan-Meier survival just after each (product-limit).

    Examples
    --------
    >>> t, s = kaplan_meier(np.array([1.0, 2.0, 2.0, 3.0]), np.array([True, True, False, True]))
    >>> t.tolist(), [round(float(x), 4) for x in s]
    ([1.0, 2.0, 3.0], [0.75, 0.5, 0.0])
    """
    d = np.asarray(durations, dtype=float)
    o = np.asarray(observed, dtype=bool)
    if not len(d):
        return np.empty(0), np.empty(0)
    times = np.unique(d[o])
    if not len(times):
        return times, np.empty(0)
    ds = np.sort(d)
    at_risk = len(d) - np.searchsorted(ds, times, side="left")
    de = np.sort(d[o])
    deaths = np.searchsorted(de, times, side="right") - np.searchsorted(de, times, side="left")
    return times, np.cumprod(1.0 - deaths / at_risk)


def survival_at(times, surv, x) -> float:
    """S(x) of a Kaplan-Meier curve (right-continuous step function)."""
    if not len(times):
        return 1.0
    k = int(np.searchsorted(times, x, side="right"))
    return 1.0 if k == 0 else float(surv[k - 1])


def km_quantile(times, surv, q) -> float:
    """The q-quantile: first time S falls to or below 1 - q (NaN if it never does)."""
    hit = np.flatnonzero(surv <= 1.0 - q + 1e-12)
    return float(times[hit[0]]) if len(hit) else math.nan


def restricted_mean(times, surv, tau) -> float:
    """Area under S from 0 to ``tau`` (the restricted mean survival time)."""
    if tau <= 0:
        return 0.0
    t = np.concatenate([[0.0], times[times < tau], [tau]])
    s = np.concatenate([[1.0], surv[times < tau]])
    return float(np.sum(np.diff(t) * s))


def share_within(times, surv, x: float, follow_up: float) -> float:
    """``1 - S(x)``, the share with the event by ``x``; NaN if ``x`` is beyond the longest
    follow-up while the curve is still above zero there (not estimable).

    Examples
    --------
    >>> t, s = kaplan_meier(np.array([1.0, 2.0, 5.0]), np.array([True, True, False]))
    >>> round(share_within(t, s, 3.0, 5.0), 4), share_within(t, s, 42.0, 5.0)
    (0.6667, nan)
    """
    s_end = float(surv[-1]) if len(surv) else 1.0
    if x > follow_up and s_end > 0.0:
        return math.nan
    return 1.0 - survival_at(times, surv, x)


def wait_stats(prefix: str, days: np.ndarray, observed: np.ndarray, tau: float) -> dict:
    """KM-based KPIs of one wait (population: rows with a non-NaN duration).

    The restricted mean is to ``tau`` or the longest follow-up, whichever is shorter, and
    the shares within 6 and 18 weeks are NaN past the longest follow-up, unless the curve
    has reached zero (see the module notes: the curve is never carried beyond the data).

    Examples
    --------
    >>> st = wait_stats("w", np.array([2.0, 4.0, 6.0]), np.array([True, True, True]), 365.0)
    >>> st["w_mean_days"], st["w_within_6w_share"]
    (4.0, 1.0)
    >>> st = wait_stats("w", np.array([2.0, 4.0, 6.0]), np.array([True, False, False]), 365.0)
    >>> round(st["w_mean_days"], 4), st["w_within_6w_share"]  # known only up to day 6
    (4.6667, nan)
    """
    pop = ~np.isnan(days)
    d, o = days[pop], observed[pop]
    times, surv = kaplan_meier(d, o)
    out = {
        f"{prefix}_n": float(pop.sum()),
        f"{prefix}_events": float(o.sum()),
    }
    if not pop.any():
        for k in ("mean_days", "median_days", "p90_days", "within_6w_share", "within_18w_share"):
            out[f"{prefix}_{k}"] = math.nan
        return out
    follow_up = float(d.max())
    reached_zero = len(surv) > 0 and float(surv[-1]) == 0.0
    out[f"{prefix}_mean_days"] = restricted_mean(
        times, surv, tau if reached_zero else min(tau, follow_up)
    )
    out[f"{prefix}_median_days"] = km_quantile(times, surv, 0.5)
    out[f"{prefix}_p90_days"] = km_quantile(times, surv, 0.9)
    out[f"{prefix}_within_6w_share"] = share_within(times, surv, SIX_WEEKS, follow_up)
    out[f"{prefix}_within_18w_share"] = share_within(times, surv, EIGHTEEN_WEEKS, follow_up)
    return out


def _wait_definitions() -> dict[str, str]:
    out = {}
    for w, text in WAITS.items():
        out[f"{w}_mean_days"] = (
            "restricted mean (to the KPI window, or to the longest follow-up if the curve "
            f"is still above zero there) of: {text}"
        )
        out[f"{w}_median_days"] = f"Kaplan-Meier median of: {text}"
        out[f"{w}_p90_days"] = f"Kaplan-Meier 90th percentile of: {text}"
        out[f"{w}_within_6w_share"] = (
            f"Kaplan-Meier share within 42 days (NaN past the longest follow-up) of: {text}"
        )
        out[f"{w}_within_18w_share"] = (
            f"Kaplan-Meier share within 126 days (NaN past the longest follow-up) of: {text}"
        )
    for s in ("assessment", *STEP_IDS):
        out[f"list_{s}_mean_days"] = (
            f"restricted mean time on the {s} waiting list (joining to the start of the work "
            "or reneging; reneging and the horizon censor)"
        )
        out[f"waiting_list_{s}_mean"] = f"mean number of clients on the {s} waiting list"
    return out


KPI_DEFINITIONS: dict[str, str] = _wait_definitions()


def kpi_range(kpi: str) -> tuple[float, float]:
    """The values KPI ``kpi`` can take, which its confidence interval must respect.

    Shares and rates (``*_share``, ``*_rate``) lie in [0, 1]; every other KPI of
    :func:`replication_kpis` is a count, a wait, a list length, hours, a cost or a ratio of
    such (utilisation, sessions per course) and lies in [0, inf).

    Examples
    --------
    >>> kpi_range("wait_to_first_treatment_within_6w_share"), kpi_range("waiting_list_step3_mean")
    ((0.0, 1.0), (0.0, inf))
    """
    if kpi.endswith(("_share", "_rate")):
        return 0.0, 1.0
    return 0.0, math.inf


def service_lists(config) -> set[str]:
    """The waiting lists a configured service has: assessment (the first assessment,
    whatever the model), the in-depth assessment of a two-stage model, and the list of
    each step it offers.

    Examples
    --------
    >>> import hubsim
    >>> sorted(service_lists(hubsim.load_config("site_c")))[:4]
    ['assessment', 'group', 'in_depth_assessment', 'low_intensity']
    >>> "step4" in service_lists(hubsim.load_config("site_c"))  # Site C offers no step 4
    False
    """
    iv = config.interventions
    out = {"assessment"}
    if iv.assessment.model == "two_stage":
        out.add("in_depth_assessment")
    out |= {s for s in STEP_IDS if getattr(iv.steps, s).offered}
    return out


def _rate(num, den) -> float:
    return float(num) / float(den) if den else math.nan


def replication_kpis(
    clients: pd.DataFrame,
    weekly: pd.DataFrame,
    activity: pd.DataFrame,
    waiting_lists: pd.DataFrame,
    *,
    replication: int,
    horizon_days: float,
    warmup_days: float,
    in_scope_staff: int,
    role_ids: list[str],
    qualified_roles: set[str],
    lists: Collection[str] | None = None,
) -> dict:
    """KPIs of one replication (one dict; keys are KPI names).

    Population: clients referred at or after ``warmup_days`` (and, with no warm-up, the
    initial waiting list). Staff measures use the time from ``warmup_days`` to the horizon.
    Outcome KPIs follow the NHS Talking Therapies definitions (calibration.md §3): finished
    courses are referrals that ended after at least two attended treatment appointments;
    recovery is among those at caseness at screening, reliable improvement among all.

    ``lists`` names the waiting lists the service has (default: every list in
    ``waiting_lists``): each gets its mean length over the window's weeks, 0 when nobody
    waited on it then; a list the service does not have gets no KPI.
    """
    ref_all = clients["referred_at"].to_numpy()
    initial_all = clients["from_initial_waiting_list"].to_numpy(dtype=bool)
    keep = ref_all >= warmup_days
    if warmup_days <= 0:
        keep |= initial_all
    window = horizon_days - warmup_days
    years = window / 365.25

    def col(name, dtype=None):
        return clients[name].to_numpy(dtype=dtype)[keep]

    def flag(name):
        s = clients[name]
        return s.to_numpy(dtype=bool, na_value=False)[keep], ~s.isna().to_numpy()[keep]

    n_kept = int(keep.sum())
    censored = col("censored", bool)
    initial = initial_all[keep]
    reason_all = col("discharge_reason")
    new_reason = reason_all[~initial]
    n_referred = int((new_reason != "not_referred").sum())
    out: dict[str, float] = {"replication": replication}
    out["arrivals"] = float(len(new_reason))
    out["referrals"] = float(n_referred)
    out["referrals_per_year"] = _rate(n_referred, years)
    out["uptake_pct_per_year"] = 100.0 * _rate(n_referred, years) / in_scope_staff
    tau = window
    for w in WAITS:
        out.update(wait_stats(w, col(f"{w}_days", float), col(f"{w}_observed", bool), tau))
    for s in ("assessment", *STEP_IDS):
        name = f"list_{s}"
        if np.any(~np.isnan(col(f"{name}_days", float))):
            st = wait_stats(name, col(f"{name}_days", float), col(f"{name}_observed", bool), tau)
            out[f"{name}_mean_days"] = st[f"{name}_mean_days"]
    wl = waiting_lists
    wk_start = weekly["week_start_day"].to_numpy()
    later = set(weekly["week"].to_numpy()[wk_start >= warmup_days].tolist())
    for s in ("assessment", "in_depth_assessment", *STEP_IDS):
        if lists is not None and s not in lists:
            continue
        sub = wl[(wl["list"] == s) & wl["week"].isin(later)]
        if len(sub):
            # an empty list has length 0, not a missing one: dropping it would leave the
            # mean over replications to the busy ones
            out[f"waiting_list_{s}_mean"] = float(sub["mean_length"].mean())
    # the service's discharge rate over the window: every client discharged in it, those
    # referred before the window (or on the initial list) included
    disc = clients["discharged_at"].to_numpy(dtype=float)
    in_window = (disc >= warmup_days) & (disc < horizon_days)
    out["discharges_per_week"] = _rate(np.sum(in_window), window / 7.0)
    done = ~censored
    reason = reason_all[done]
    assessed = ~np.isnan(col("first_assessment_at", float)[done])
    entered = assessed | np.isin(reason, ["dropped_out_waiting"])
    drop = np.isin(reason, ["dropped_out_waiting", "dropped_out_treatment", "dna_discharge"])
    out["dropout_rate"] = _rate(drop.sum(), entered.sum())
    starters = ~np.isnan(col("first_treatment_at", float)[done])
    out["treatment_dropout_rate"] = _rate(
        np.isin(reason[starters], ["dropped_out_treatment", "dna_discharge"]).sum(), starters.sum()
    )
    out["onward_share"] = _rate((reason[assessed] == "onward_referred").sum(), assessed.sum())
    sessions = col("sessions_attended")[done]
    completers = (reason == "completed") & starters
    out["completers"] = float(completers.sum())
    out["sessions_per_completed_course"] = (
        float(sessions[completers].mean()) if completers.any() else math.nan
    )
    finished = col("finished_course", bool)[done]
    out["finished_courses"] = float(finished.sum())
    out["finished_course_share_of_starters"] = _rate(finished.sum(), starters.sum())
    out["sessions_per_finished_course"] = (
        float(sessions[finished].mean()) if finished.any() else math.nan
    )
    dna = col("dna_count")[done]
    booked_sessions = sessions + dna
    out["dna_rate"] = _rate(dna[starters | (dna > 0)].sum(), booked_sessions.sum())
    for kpi, name in (
        ("recovery_rate", "recovered"),
        ("reliable_improvement_rate", "reliably_improved"),
    ):
        value, seen = flag(name)
        value, seen = value[done][finished], seen[done][finished]
        out[kpi] = float(value[seen].mean()) if seen.any() else math.nan
    value, seen = flag("duty_same_working_day")
    out["risk_seen_same_working_day_share"] = float(value[seen].mean()) if seen.any() else math.nan
    ws = col("wait_to_first_senior_days", float)
    out["wait_to_first_senior_mean_days"] = (
        float(np.nanmean(ws)) if np.any(~np.isnan(ws)) else math.nan
    )
    elapsed = horizon_days - ref_all[keep]
    eligible = (~np.isnan(ws)) | (elapsed > SIX_WEEKS)
    out["senior_contact_within_6w_share"] = _rate(
        np.sum((ws <= SIX_WEEKS) & eligible), eligible.sum()
    )
    cost = col("cost_gbp", float)
    contact = cost > 0
    out["direct_cost_gbp"] = float(cost.sum())
    out["cost_per_client_gbp"] = _rate(cost.sum(), contact.sum())
    out["censored_share"] = _rate(censored.sum(), n_kept)
    wk = wk_start >= warmup_days
    used_all = used_senior = 0.0
    for rid in role_ids:
        used = float(weekly[f"hours_used_{rid}"].to_numpy()[wk].sum())
        avail = float(weekly[f"hours_available_{rid}"].to_numpy()[wk].sum())
        if avail > 0:
            out[f"utilisation_{rid}"] = used / avail
        used_all += used
        if rid in qualified_roles:
            used_senior += used
    out["senior_hours_share"] = _rate(used_senior, used_all)
    team = (activity["channel"].astype(str).to_numpy() == "team") & (
        activity["start"].to_numpy() >= warmup_days
    )
    out["team_support_hours"] = float(activity["hours"].to_numpy()[team].sum())
    return out
