"""KPIs of a replication and the result object of :func:`hubsim.simulate`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hubsim.des.frames import category_codes, vidigi_log
from hubsim.des.model import CHANNELS
from hubsim.stats import t_interval

SIX_WEEKS = 42.0
EIGHTEEN_WEEKS = 126.0
SUMMARY_COLUMNS = ["kpi", "mean", "sd", "n_replications", "ci_low", "ci_high", "mcse"]
TIDY_COLUMNS = ["replication", "kpi", "value"]


def _wait_stats(prefix: str, wait: np.ndarray, censored_elapsed: np.ndarray) -> dict:
    """Mean, median, p90 of observed waits; shares within 6/18 weeks counting censored
    clients who have already waited longer than the threshold as not within it."""
    w = wait[~np.isnan(wait)]
    out = {
        f"{prefix}_n": float(len(w)),
        f"{prefix}_mean_days": float(w.mean()) if len(w) else math.nan,
        f"{prefix}_median_days": float(np.median(w)) if len(w) else math.nan,
        f"{prefix}_p90_days": float(np.quantile(w, 0.9)) if len(w) else math.nan,
    }
    for label, thr in (("6w", SIX_WEEKS), ("18w", EIGHTEEN_WEEKS)):
        late = int((censored_elapsed > thr).sum())
        denom = len(w) + late
        out[f"{prefix}_within_{label}_share"] = (
            float((w <= thr).sum()) / denom if denom else math.nan
        )
    return out


def _rate(num, den) -> float:
    return float(num) / float(den) if den else math.nan


def replication_kpis(
    clients: pd.DataFrame,
    weekly: pd.DataFrame,
    busy: pd.DataFrame,
    *,
    replication: int,
    horizon_days: float,
    warmup_days: float,
    in_scope_staff: int,
    role_ids: list[str],
    qualified_roles: set[str],
) -> dict:
    """KPIs of one replication (one dict; keys are KPI names).

    Population: clients referred at or after ``warmup_days`` (and, with no warm-up, the
    initial waiting list). Staff measures use the time from ``warmup_days`` to the horizon.

    Outcome KPIs follow the NHS Talking Therapies definitions (calibration.md §3):

    - ``finished_courses``: referrals that ended (any reason: completed, dropped out or
      discharged after non-attendance) having attended at least two in-house treatment
      sessions (the client column ``finished_course``); onward referrals are excluded
      because their treatment happens elsewhere.
      ``finished_course_share_of_starters`` divides them by discharged treatment starters
      and ``sessions_per_finished_course`` is their mean attended sessions (the national
      "mean sessions per finished course", 6.8-7.9).
    - ``recovery_rate``: among finished courses at caseness at screening (PHQ-9 >= 10 or
      GAD-7 >= 8), the share below caseness on both at discharge.
    - ``reliable_improvement_rate``: among all finished courses (cases or not), the share
      whose PHQ-9 fell by >= 6 or GAD-7 by >= 4 with neither reliably deteriorating
      (:func:`hubsim.measures.reliable_improvement` with its default
      ``require_no_deterioration=True``, the rule the national statistics use; that clause
      is calibration.md conf. R, and it moves these rates by well under one point because
      treated clients rarely deteriorate reliably on one measure while improving on the
      other).

    ``completers``, ``sessions_per_completed_course`` and ``treatment_dropout_rate`` keep
    the course-level view: a course completed as planned, and an ending by dropout or
    non-attendance among treatment starters.
    """
    # plain arrays of the columns used, filtered once (pandas row filtering of the whole
    # client table costs more than every KPI below together)
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
        """A nullable boolean column as (values, observed)."""
        s = clients[name]
        return s.to_numpy(dtype=bool, na_value=False)[keep], ~s.isna().to_numpy()[keep]

    n_kept = int(keep.sum())
    censored = col("censored", bool)
    initial = initial_all[keep]
    reason_all = col("discharge_reason")
    elapsed = horizon_days - ref_all[keep]
    new_reason = reason_all[~initial]
    n_referred = int((new_reason != "not_referred").sum())
    out: dict[str, float] = {"replication": replication}
    out["arrivals"] = float(len(new_reason))
    out["referrals"] = float(n_referred)
    out["referrals_per_year"] = _rate(n_referred, years)
    out["uptake_pct_per_year"] = 100.0 * _rate(n_referred, years) / in_scope_staff
    wa = col("wait_to_assessment_days", float)
    cens_a = np.where(censored & np.isnan(wa), elapsed, -np.inf)
    out.update(_wait_stats("wait_to_assessment", wa, cens_a))
    wt = col("wait_to_treatment_days", float)
    waiting_t = censored & np.isnan(wt) & (col("pathway") == "in_house")
    out.update(_wait_stats("wait_to_treatment", wt, np.where(waiting_t, elapsed, -np.inf)))
    disc = col("discharged_at", float)
    out["discharges_per_week"] = _rate(np.sum(disc >= warmup_days), window / 7.0)
    done = ~censored
    reason = reason_all[done]
    assessed = ~np.isnan(col("first_assessment_at", float)[done])
    entered = assessed | np.isin(reason, ["dropped_out_waiting"])
    drop = np.isin(reason, ["dropped_out_waiting", "dropped_out_treatment", "dna_discharge"])
    out["dropout_rate"] = _rate(drop.sum(), entered.sum())
    starters = ~np.isnan(col("treatment_start_at", float)[done])
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
    # recovery: denominator the finished courses at caseness (recovered is NA otherwise)
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
    eligible = (~np.isnan(ws)) | (elapsed > SIX_WEEKS)
    out["senior_contact_within_6w_share"] = _rate(
        np.sum((ws <= SIX_WEEKS) & eligible), eligible.sum()
    )
    cost = col("cost_gbp", float)
    contact = cost > 0
    out["direct_cost_gbp"] = float(cost.sum())
    out["cost_per_client_gbp"] = _rate(cost.sum(), contact.sum())
    out["censored_share"] = _rate(censored.sum(), n_kept)
    # staff time after the warm-up
    wk = weekly["week_start_day"].to_numpy() >= warmup_days
    used_all = 0.0
    used_senior = 0.0
    for rid in role_ids:
        used = float(weekly[f"hours_used_{rid}"].to_numpy()[wk].sum())
        avail = float(weekly[f"hours_available_{rid}"].to_numpy()[wk].sum())
        if avail > 0:
            out[f"utilisation_{rid}"] = used / avail
        used_all += used
        if rid in qualified_roles:
            used_senior += used
    out["senior_hours_share"] = _rate(used_senior, used_all)
    team = (category_codes(busy["channel"], CHANNELS) == CHANNELS.index("team")) & (
        busy["start"].to_numpy() >= warmup_days
    )
    out["team_support_hours"] = float(busy["hours"].to_numpy()[team].sum())
    return out


@dataclass
class SimulationResult:
    """Tables of a simulation run (every replication stacked, ``replication`` column).

    Attributes
    ----------
    events : DataFrame
        A row an event: replication, client_id, time (days), stage, event, role, staff_id.
    clients : DataFrame
        A row a client (see :data:`hubsim.des.frames.CLIENT_COLUMNS`; score columns
        ``<instrument>_pre`` / ``_post``).
    weekly : DataFrame
        A row a week and replication: referrals, ``queue_<stage>`` (mean length over the
        week), ``caseload_<role>`` (open courses at the week's end), ``hours_used_<role>``,
        ``hours_available_<role>``, ``utilisation_<role>`` (direct clinical time).
    kpis : DataFrame
        A row a replication, a column a KPI (warm-up excluded).
    staff_activity : DataFrame
        A row a task a staff member worked on (channel, start, end, hours).
    queue_area : DataFrame
        replication, stage, area: the kernel's running time-integral of each queue's length.
    meta : dict
        config name and hash, seed, scenario, horizon, warm-up, replications.

    Examples
    --------
    >>> import hubsim
    >>> cfg = hubsim.load_config("site_d")
    >>> res = hubsim.simulate(cfg, horizon_days=90, seed=1)
    >>> {"wait_to_assessment_mean_days", "recovery_rate"} <= set(res.tidy()["kpi"])
    True
    >>> res.summary().splitlines()[0]
    'site_d: 90 days, 1 replication(s), seed 1; KPI mean'
    """

    events: pd.DataFrame
    clients: pd.DataFrame
    weekly: pd.DataFrame
    kpis: pd.DataFrame
    staff_activity: pd.DataFrame
    queue_area: pd.DataFrame
    meta: dict = field(default_factory=dict)

    @property
    def vidigi_event_log(self) -> pd.DataFrame:
        """The event log in the vidigi / HSMA animation schema."""
        return vidigi_log(self.events)

    def kpis_long(self) -> pd.DataFrame:
        """KPIs per replication in long form: replication, kpi, value."""
        k = self.kpis.melt(id_vars="replication", var_name="kpi", value_name="value")
        return (
            k[TIDY_COLUMNS]
            .sort_values(["kpi", "replication"], kind="stable")
            .reset_index(drop=True)
        )

    def tidy(self, level: float = 0.95) -> pd.DataFrame:
        """KPIs pooled over replications, one row each (:data:`SUMMARY_COLUMNS`): mean, SD,
        replications, t confidence interval at ``level`` and the MCSE of the mean.

        With one replication the SD, interval and MCSE are NaN.
        """
        rows = []
        for kpi in [c for c in self.kpis.columns if c != "replication"]:
            x = self.kpis[kpi].to_numpy(dtype=float)
            x = x[~np.isnan(x)]
            n = len(x)
            mean = float(x.mean()) if n else math.nan
            sd = float(x.std(ddof=1)) if n > 1 else math.nan
            if n > 1:
                se = sd / math.sqrt(n)
                lo, hi = (mean, mean) if se == 0 else t_interval(mean, se, n - 1, 1 - level)[1:]
            else:
                se = lo = hi = math.nan
            rows.append((kpi, mean, sd, n, lo, hi, se))
        return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)

    def summary(self, level: float = 0.95) -> str:
        """The pooled KPIs as a text table: mean and ``level`` t interval over replications."""
        t = self.tidy(level)
        m = self.meta
        reps = len(m.get("replications", [])) or len(self.kpis)
        lines = [
            f"{m.get('config_name', '?')}: {m.get('horizon_days', 0):g} days, {reps} "
            f"replication(s), seed {m.get('seed', '?')}; KPI mean"
            + (f" [{round(100 * level)}% t interval]" if reps > 1 else "")
        ]
        wide = max([10, *(len(k) for k in t["kpi"])])
        for r in t.itertuples(index=False):
            text = "n/a" if np.isnan(r.mean) else f"{r.mean:.4g}"
            if reps > 1 and not np.isnan(r.ci_low):
                text += f"  [{r.ci_low:.4g}, {r.ci_high:.4g}]"
            lines.append(f"  {r.kpi:<{wide}} {text}")
        return "\n".join(lines)
