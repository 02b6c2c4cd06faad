"""Every column the experiment report reads, in one place (so a model change adapts here).

The report (:mod:`hubsim.report.experiment`) reads only the results store, through the
names and functions below:

- KPIs (table ``kpis``, long form): the wait KPIs in :data:`WAIT_KPIS` (the first one
  present is the report's headline), :data:`COST_KPI`, :data:`DIRECT_COST_KPI`, and
  every ``utilisation_<role>`` (:data:`UTILISATION_PREFIX`);
- clients (table ``clients``): ``referred_at`` (:data:`REFERRED_AT`), ``recovered``
  (:data:`RECOVERED`) and, for the Kaplan-Meier curves, ``<wait>_days`` and
  ``<wait>_observed`` of the first wait in :data:`KM_WAITS` present (the time to the event
  or to censoring, and whether the event happened; :func:`km_frame`);
- weekly (table ``weekly``): ``week_start_day`` (:data:`WEEK_START`) and the waiting-list
  lengths ``queue_<list>`` (:data:`QUEUE_PREFIX`);
- scenarios (table ``scenarios``): ``scenario``, ``label``, ``position``,
  ``period_start``, ``horizon_days``, ``warmup_days``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "COST_KPI",
    "DIRECT_COST_KPI",
    "KPI_LABELS",
    "QUEUE_PREFIX",
    "RECOVERED",
    "REFERRED_AT",
    "UTILISATION_PREFIX",
    "WAIT_KPIS",
    "WEEK_START",
    "headline_kpi",
    "km_frame",
    "kpi_label",
    "kpi_phrase",
    "queue_columns",
    "waiting_list_total",
]

#: wait KPIs in order of preference for the report's headline
WAIT_KPIS = (
    "wait_to_first_treatment_mean_days",
    "wait_to_second_treatment_mean_days",
    "wait_to_first_treatment_median_days",
    "wait_to_first_treatment_p90_days",
    "wait_to_first_assessment_mean_days",
)
COST_KPI = "cost_per_client_gbp"
DIRECT_COST_KPI = "direct_cost_gbp"
UTILISATION_PREFIX = "utilisation_"
REFERRED_AT = "referred_at"
RECOVERED = "recovered"
WEEK_START = "week_start_day"
QUEUE_PREFIX = "queue_"
#: the wait shown as Kaplan-Meier curves, by model: (name, label)
KM_WAITS = (
    ("wait_to_first_treatment", "referral to first treatment appointment"),
    ("wait_to_second_treatment", "referral to second treatment appointment"),
    ("wait_to_first_assessment", "referral to first assessment appointment"),
)

KPI_LABELS: dict[str, tuple[str, str]] = {
    "wait_to_first_treatment_mean_days": ("Mean wait, referral to 1st treatment", "days"),
    "wait_to_first_treatment_median_days": ("Median wait, referral to 1st treatment", "days"),
    "wait_to_second_treatment_within_18w_share": ("2nd treatment within 18 weeks", "share"),
    "wait_to_second_treatment_mean_days": ("Mean wait, referral to 2nd treatment", "days"),
    "wait_to_first_treatment_p90_days": ("90th centile wait to 1st treatment", "days"),
    "wait_to_first_assessment_mean_days": ("Mean wait, referral to 1st assessment", "days"),
    "wait_to_first_treatment_within_6w_share": ("1st treatment within 6 weeks", "share"),
    "wait_to_first_treatment_within_18w_share": ("1st treatment within 18 weeks", "share"),
    "treatment_dropout_rate": ("Drop-out among treatment starters", "share"),
    "recovery_rate": ("Recovery (finished courses)", "share"),
    "senior_hours_share": ("Senior share of clinical hours", "share"),
    "wait_to_first_senior_mean_days": ("Mean wait to first senior contact", "days"),
    "cost_per_client_gbp": ("Staff cost per client", "GBP"),
    "referrals_per_year": ("Referrals per year", "referrals"),
}


#: how the report's first sentence names a headline KPI
KPI_PHRASES = {
    "wait_to_first_treatment_mean_days": "mean wait from referral to a first treatment appointment",
    "wait_to_second_treatment_mean_days": "mean wait from referral to a second treatment appointment",
    "wait_to_first_treatment_median_days": "median wait from referral to a first treatment appointment",
    "wait_to_first_treatment_p90_days": "90th centile wait to a first treatment appointment",
    "wait_to_first_assessment_mean_days": "mean wait from referral to a first assessment",
}


def kpi_phrase(kpi: str) -> str:
    """A KPI named for a sentence (``"mean wait from referral to ..."``)."""
    return KPI_PHRASES.get(kpi) or kpi_label(kpi)[0][0].lower() + kpi_label(kpi)[0][1:]


def kpi_label(kpi: str) -> tuple[str, str]:
    """(readable label, unit) of a KPI (the name itself when it has no label).

    Examples
    --------
    >>> kpi_label("cost_per_client_gbp")
    ('Staff cost per client', 'GBP')
    >>> kpi_label("utilisation_therapists")
    ('Utilisation, therapists', 'share')
    """
    if kpi in KPI_LABELS:
        return KPI_LABELS[kpi]
    if kpi.startswith(UTILISATION_PREFIX):
        return f"Utilisation, {kpi[len(UTILISATION_PREFIX):]}", "share"
    unit = "days" if kpi.endswith("_days") else ("share" if kpi.endswith(("_share", "_rate")) else "")
    return kpi.replace("_", " "), unit


def headline_kpi(kpis: list[str] | tuple[str, ...]) -> str | None:
    """The wait KPI the report opens with: the first of :data:`WAIT_KPIS` present."""
    for k in WAIT_KPIS:
        if k in kpis:
            return k
    return next((k for k in kpis if "wait" in k), kpis[0] if kpis else None)


def km_frame(
    clients: pd.DataFrame, horizon_days: float, warmup_days: float
) -> tuple[pd.DataFrame, str]:
    """Per client of the KPI window: ``days`` (to the event or censoring) and ``observed``.

    Returns the frame (with ``replication``) and the wait's label. Clients referred before
    the warm-up ends are left out (as in the KPIs).
    """
    c = clients
    if REFERRED_AT in c:
        c = c[c[REFERRED_AT].to_numpy(dtype=float) >= warmup_days]
    for name, label in KM_WAITS:
        if f"{name}_observed" in c and f"{name}_days" in c:
            days = c[f"{name}_days"].to_numpy(dtype=float, na_value=np.nan)
            obs = c[f"{name}_observed"].to_numpy(dtype=bool, na_value=False)
            keep = np.isfinite(days)
            return (
                pd.DataFrame(
                    {"replication": c["replication"].to_numpy()[keep], "days": days[keep],
                     "observed": obs[keep]}
                ),
                label,
            )
    return pd.DataFrame(columns=["replication", "days", "observed"]), ""


def queue_columns(weekly: pd.DataFrame) -> list[str]:
    """The weekly waiting-list length columns (``queue_<list>``)."""
    return [c for c in weekly.columns if c.startswith(QUEUE_PREFIX)]


def waiting_list_total(weekly: pd.DataFrame) -> pd.Series:
    """Clients on any waiting list, mean over each week (the sum of ``queue_<list>``)."""
    cols = queue_columns(weekly)
    return weekly[cols].sum(axis=1, min_count=1) if cols else pd.Series(np.nan, index=weekly.index)
