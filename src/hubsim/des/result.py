"""The result object of :func:`hubsim.simulate`."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hubsim.des.frames import vidigi_log
from hubsim.des.kpis import KPI_DEFINITIONS, kpi_range
from hubsim.stats import bounded_t_interval

SUMMARY_COLUMNS = [
    "kpi",
    "mean",
    "sd",
    "n_replications",
    "ci_low",
    "ci_high",
    "mcse",
    "ci_clipped",
]
CLIPPED_NOTE = (
    "(clipped): the t interval reached beyond the values the KPI can take (a share in "
    "[0, 1], a count or a wait at or above 0) and is cut at that bound"
)
TIDY_COLUMNS = ["replication", "kpi", "value"]
FRAMES = (
    "events",
    "clients",
    "weekly",
    "kpis",
    "staff_activity",
    "waiting_lists",
    "caseloads",
    "staff",
    "queue_area",
)


@dataclass
class SimulationResult:
    """Tables of a simulation run (every replication stacked, ``replication`` column).

    Attributes
    ----------
    events : DataFrame
        A row an event: replication, client_id, time (days), stage, event, role, staff_id,
        appointment_id (see :mod:`hubsim.des.record`).
    clients : DataFrame
        A row a client: identity, times (``referred_on``: the referral's date), waits
        as services report them with their
        censoring flags (``<wait>_days``, ``<wait>_observed``), time on each list,
        pathway, sessions, outcome, cost; score columns ``<instrument>_pre`` / ``_post``.
    weekly : DataFrame
        A row a week and replication: ``week_start_day`` and its date ``week_start``,
        referrals, ``queue_<list>`` (mean length over the
        week, counting a client until their work starts), ``caseload_<role>`` (open courses
        at the week's end), ``hours_used_<role>``, ``hours_available_<role>`` (rostered
        clinical and duty hours), ``utilisation_<role>``.
    kpis : DataFrame
        A row a replication, a column a KPI (warm-up excluded; definitions in
        :attr:`kpi_definitions`).
    staff_activity : DataFrame
        A row a task a member of staff worked (channel, start, end, hours, appointment).
    waiting_lists : DataFrame
        replication, week, week_start_day, week_start (date), list, mean_length,
        length_at_week_end.
    caseloads : DataFrame
        replication, week, staff_id, role, open_courses, caseload_cap.
    staff : DataFrame
        The members of staff of each replication (contract WTE, caseload cap, cost).
    queue_area : DataFrame
        replication, stage, area: the kernel's running integral of each list's length.
    meta : dict
        config name and hash, seed, scenario, horizon and warm-up (days), the KPI
        window's dates (``period_start``, ``window_start``, ``window_end``: ISO dates, the
        end inclusive), replications.

    Examples
    --------
    >>> import hubsim
    >>> cfg = hubsim.load_config("site_d")
    >>> res = hubsim.simulate(cfg, horizon_days=90, seed=1, replications=2)
    >>> {"wait_to_first_treatment_median_days", "recovery_rate"} <= set(res.tidy()["kpi"])
    True
    >>> res.summary().splitlines()[:2]
    ['site_d: 90 days, 2 replication(s), seed 1; KPI mean [95% t interval]', 'KPI window 2020-05-01 to 2020-07-29 (90 days), simulated from 2020-05-01']
    >>> len(res.replication(1).kpis)
    1
    """

    events: pd.DataFrame
    clients: pd.DataFrame
    weekly: pd.DataFrame
    kpis: pd.DataFrame
    staff_activity: pd.DataFrame
    waiting_lists: pd.DataFrame
    caseloads: pd.DataFrame
    staff: pd.DataFrame
    queue_area: pd.DataFrame
    meta: dict = field(default_factory=dict)

    @property
    def kpi_definitions(self) -> dict[str, str]:
        """What each wait KPI measures (its population, event and censoring)."""
        return dict(KPI_DEFINITIONS)

    def replication(self, k: int) -> SimulationResult:
        """The same result restricted to replication ``k`` (e.g. for one animation)."""
        reps = list(self.meta.get("replications", []))
        if k not in set(self.kpis["replication"].tolist()):
            raise ValueError(f"replication {k} is not in this result; expected one of {reps}.")
        parts = {}
        for name in FRAMES:
            df = getattr(self, name)
            parts[name] = df[df["replication"] == k].reset_index(drop=True)
        meta = dict(self.meta, replications=[k])
        return SimulationResult(meta=meta, **parts)

    def vidigi(self, run: int | None = None) -> pd.DataFrame:
        """The event log in the vidigi / HSMA schema, all runs or one (``run``)."""
        return vidigi_log(self.events, run=run)

    @property
    def vidigi_event_log(self) -> pd.DataFrame:
        """The event log in the vidigi / HSMA animation schema (column ``run``)."""
        return vidigi_log(self.events)

    def window_text(self) -> str:
        """Which dates the KPIs cover, e.g. ``'KPI window 2020-11-01 to 2021-10-31 (365
        days), simulated from 2020-05-01'`` (empty when the meta has no dates)."""
        m = self.meta
        if "window_start" not in m:
            return ""
        days = m["horizon_days"] - m.get("warmup_days", 0.0)
        return (
            f"KPI window {m['window_start']} to {m['window_end']} ({days:g} days), "
            f"simulated from {m['period_start']}"
        )

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

        The interval is kept inside the values the KPI can take (:func:`hubsim.des.kpis.
        kpi_range`: shares in [0, 1], counts and waits at or above 0); ``ci_clipped`` says
        where the t interval was cut at such a bound. With one replication the SD,
        interval and MCSE are NaN. This is the one place the pooled KPIs are computed:
        ``hubsim run``, :meth:`summary` and the reports all read it.
        """
        rows = []
        for kpi in [c for c in self.kpis.columns if c != "replication"]:
            x = self.kpis[kpi].to_numpy(dtype=float)
            x = x[~np.isnan(x)]
            n = len(x)
            mean = float(x.mean()) if n else math.nan
            sd = float(x.std(ddof=1)) if n > 1 else math.nan
            clipped = False
            if n > 1:
                se = sd / math.sqrt(n)
                low, high = kpi_range(kpi)
                _, lo, hi, clipped = bounded_t_interval(
                    mean, se, n - 1, 1 - level, low=low, high=high
                )
            else:
                se = lo = hi = math.nan
            rows.append((kpi, mean, sd, n, lo, hi, se, clipped))
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
        if self.window_text():
            lines.append(self.window_text())
        wide = max([10, *(len(k) for k in t["kpi"])])
        for r in t.itertuples(index=False):
            text = "n/a" if np.isnan(r.mean) else f"{r.mean:.4g}"
            if reps > 1 and not np.isnan(r.ci_low):
                text += f"  [{r.ci_low:.4g}, {r.ci_high:.4g}]"
                text += " (clipped)" if r.ci_clipped else ""
            lines.append(f"  {r.kpi:<{wide}} {text}")
        if t["ci_clipped"].any():
            lines.append(CLIPPED_NOTE)
        return "\n".join(lines)
