"""A planner's comparison of a changed hub with the unchanged one: numbers, sentences, figures.

:func:`compare_results` pairs two :class:`~hubsim.des.SimulationResult` of the same seed and
replications (common random numbers: :func:`hubsim.simulate` keys every stream by seed,
replication and stream name, so replication ``r`` of both sees the same clients) and gives
the paired differences with t intervals (:func:`hubsim.experiment.paired_differences`) of
the planner's KPIs, cost per recovery included (:func:`cost_per_recovery`).
:func:`describe_change` says in words what a scenario changes, and :func:`caption` turns a
row of differences into a sentence such as "Therapists from 5.4 to 7.4 WTE shortens the
median wait to first treatment by 3.1 days (95% CI 1.9 to 4.4)." The figures
(:func:`plot_waits`, :func:`plot_waiting_lists`, :func:`plot_utilisation`,
:func:`plot_costs`) return matplotlib figures; :func:`figure_png` renders one, and
:func:`planner_figures` all four.

Examples
--------
>>> import hubsim
>>> from hubsim.config.levers import Levers, apply_levers
>>> d = hubsim.load_config("site_d")
>>> more = apply_levers(d, Levers(wte={"therapists": 7.4}))
>>> describe_change(d, more)
'therapists (band 6-8b) from 5.4 to 7.4 WTE'
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from hubsim.config.schema import ServiceConfig
from hubsim.des.result import SimulationResult
from hubsim.experiment.compare import KPI_LONG_COLUMNS, paired_differences

__all__ = [
    "PLANNER_KPIS",
    "caption",
    "compare_results",
    "cost_per_recovery",
    "describe_change",
    "figure_png",
    "kpi_text",
    "plot_costs",
    "plot_diagnosands",
    "plot_utilisation",
    "plot_waiting_lists",
    "plot_waits",
]

COST_PER_RECOVERY = "cost_per_recovery_gbp"
#: KPIs of the planner's table, in order: (KPI, label, unit); unit is days, share, GBP.
PLANNER_KPIS: tuple[tuple[str, str, str], ...] = (
    ("wait_to_first_treatment_median_days", "median wait to first treatment", "days"),
    ("wait_to_first_treatment_mean_days", "mean wait to first treatment", "days"),
    ("wait_to_first_treatment_p90_days", "90th centile wait to first treatment", "days"),
    ("wait_to_first_treatment_within_6w_share", "share treated within 6 weeks", "share"),
    ("wait_to_first_treatment_within_18w_share", "share treated within 18 weeks", "share"),
    ("wait_to_second_treatment_median_days", "median wait to second treatment", "days"),
    (
        "wait_to_second_treatment_within_18w_share",
        "share at a second appointment within 18 weeks",
        "share",
    ),
    ("wait_to_first_assessment_median_days", "median wait to first assessment", "days"),
    ("treatment_dropout_rate", "drop-out among treatment starters", "share"),
    ("recovery_rate", "recovery rate (finished courses)", "share"),
    ("cost_per_client_gbp", "direct staff cost per client", "GBP"),
    (COST_PER_RECOVERY, "direct staff cost per recovery", "GBP"),
)
_LABELS = {k: (label, unit) for k, label, unit in PLANNER_KPIS}
WAITS = (
    ("wait_to_first_treatment", "Referral to first treatment appointment"),
    ("wait_to_second_treatment", "Referral to second treatment appointment"),
)


def kpi_text(kpi: str) -> tuple[str, str]:
    """(plain label, unit) of a KPI; ``utilisation_<role>`` reads "utilisation of <role>".

    Examples
    --------
    >>> kpi_text("utilisation_therapists")
    ('utilisation of therapists', 'share')
    """
    if kpi in _LABELS:
        return _LABELS[kpi]
    if kpi.startswith("utilisation_"):
        return f"utilisation of {kpi.removeprefix('utilisation_').replace('_', ' ')}", "share"
    unit = "days" if kpi.endswith("_days") else "share" if kpi.endswith(("_share", "_rate")) else ""
    return kpi.replace("_", " "), unit


# ------------------------------------------------------------------------------- numbers
def cost_per_recovery(result: SimulationResult) -> pd.DataFrame:
    """Direct staff cost per recovery, per replication: ``replication, value`` (GBP).

    The replication's direct staff cost (``direct_cost_gbp``: the hours of attended
    appointments at each member's Agenda-for-Change hourly cost, clients of the KPI window)
    over its clients of the window who recovered (NaN when none did).
    """
    warm = float(result.meta.get("warmup_days", 0.0))
    c = result.clients
    c = c[c["referred_at"].to_numpy(dtype=float) >= warm]
    rec = c["recovered"].astype("boolean").fillna(False).astype(bool)
    n = rec.groupby(c["replication"]).sum()
    k = result.kpis.set_index("replication")["direct_cost_gbp"]
    n = n.reindex(k.index, fill_value=0)
    value = np.where(
        n.to_numpy() > 0, k.to_numpy(dtype=float) / np.maximum(n.to_numpy(), 1), np.nan
    )
    return pd.DataFrame({"replication": k.index.to_numpy(), "value": value})


def _long(result: SimulationResult, label: str, kpis: Sequence[str]) -> pd.DataFrame:
    have = [k for k in kpis if k in result.kpis.columns]
    long = result.kpis.melt(id_vars="replication", value_vars=have, var_name="kpi")
    if COST_PER_RECOVERY in kpis:
        cpr = cost_per_recovery(result).assign(kpi=COST_PER_RECOVERY)
        long = pd.concat([long, cpr[["replication", "kpi", "value"]]], ignore_index=True)
    long.insert(0, "scenario", label)
    return long[KPI_LONG_COLUMNS]


def planner_kpis(config: ServiceConfig) -> list[str]:
    """The KPIs of the planner's table for a configuration: :data:`PLANNER_KPIS` and the
    utilisation of every role with clinical time."""
    roles = [
        f"utilisation_{r.id}"
        for r in config.service.workforce.roles
        if r.wte > 0 and r.job_plan.direct_clinical > 0
    ]
    return [k for k, _, _ in PLANNER_KPIS] + roles


def compare_results(
    baseline: SimulationResult,
    scenario: SimulationResult,
    kpis: Sequence[str],
    *,
    labels: tuple[str, str] = ("unchanged", "scenario"),
    level: float = 0.95,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-replication KPIs of both runs (long) and their paired differences.

    Both results must come from the same seed, replications, horizon and warm-up (the
    pairing is by replication). Returns ``(long, differences)`` with the columns of
    :func:`hubsim.experiment.paired_differences`; ``scenario`` holds ``labels``.
    """
    keys = ("seed", "scenario", "horizon_days", "warmup_days", "replications")
    for k in keys:
        if baseline.meta.get(k) != scenario.meta.get(k):
            raise ValueError(f"compare_results: the runs differ in {k}; expected paired runs.")
    long = pd.concat(
        [_long(baseline, labels[0], kpis), _long(scenario, labels[1], kpis)], ignore_index=True
    )
    diff = paired_differences(long, labels[0], level)
    order = {k: i for i, k in enumerate(kpis)}
    diff = diff.sort_values("kpi", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    return long, diff


# ----------------------------------------------------------------------------- sentences
def _num(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 100 else f"{x:,.0f}"


def describe_change(base: ServiceConfig, scenario: ServiceConfig) -> str:
    """What ``scenario`` changes from ``base``, in a planner's words ('' when nothing).

    A WTE decrease in one role matched by an equal increase in another reads as a move
    ("moving 2 WTE from band 6-8b therapists to band 4-5 low intensity").
    """
    parts: list[str] = []
    old = {r.id: r for r in base.service.workforce.roles}
    new = {r.id: r for r in scenario.service.workforce.roles}
    delta = {rid: new[rid].wte - old[rid].wte for rid in new if rid in old}
    down = [r for r, d in delta.items() if d < -1e-9]
    up = [r for r, d in delta.items() if d > 1e-9]
    if (
        len(down) == 1
        and len(up) == 1
        and math.isclose(-delta[down[0]], delta[up[0]], abs_tol=1e-6)
    ):
        a, b = old[down[0]], new[up[0]]
        parts.append(
            f"moving {_num(delta[up[0]])} WTE from band {a.band_range} {a.id.replace('_', ' ')} "
            f"to band {b.band_range} {b.id.replace('_', ' ')}"
        )
    else:
        for rid in [*down, *up]:
            r = new[rid]
            parts.append(
                f"{rid.replace('_', ' ')} (band {r.band_range}) from {_num(old[rid].wte)} to "
                f"{_num(r.wte)} WTE"
            )
    for rid, r in new.items():
        if rid not in old:
            continue
        a, b = old[rid].job_plan.direct_clinical, r.job_plan.direct_clinical
        if not math.isclose(a, b, abs_tol=1e-9):
            parts.append(f"{rid.replace('_', ' ')} clinical time from {a:.0%} to {b:.0%} of hours")
        if old[rid].caseload_per_wte != r.caseload_per_wte:
            parts.append(
                f"{rid.replace('_', ' ')} caseload cap from {old[rid].caseload_per_wte} to "
                f"{r.caseload_per_wte} per WTE"
            )
    ia, ib = base.interventions, scenario.interventions
    if ia.care_model.kind != ib.care_model.kind:
        parts.append(
            f"{ib.care_model.kind.replace('_', '-')} care instead of {ia.care_model.kind.replace('_', '-')}"
        )
    if ia.assessment.model != ib.assessment.model:
        words = {"two_stage": "two-stage", "in_depth": "in-depth"}
        parts.append(
            f"{words[ib.assessment.model]} assessment instead of {words[ia.assessment.model]}"
        )
    if not math.isclose(ia.onward_referral.p_onward, ib.onward_referral.p_onward, abs_tol=1e-12):
        parts.append(
            f"onward referral from {ia.onward_referral.p_onward:.0%} to "
            f"{ib.onward_referral.p_onward:.0%} of assessed clients"
        )
    sa, sb = base.simulation, scenario.simulation
    if not math.isclose(sa.demand.multiplier, sb.demand.multiplier, abs_tol=1e-12):
        parts.append(f"demand x{sb.demand.multiplier:.3g} (was x{sa.demand.multiplier:.3g})")
    for s in sb.demand.surges[len(sa.demand.surges) :]:
        parts.append(f"a surge of x{s.multiplier:.3g} referrals from {s.start} to {s.end}")
    if sa.initial_waiting_list != sb.initial_waiting_list:
        n = sum((sb.initial_waiting_list.counts or {}).values()) if sb.initial_waiting_list else 0
        parts.append(f"{n} clients already waiting at the start")
    if not parts and base.content_hash != scenario.content_hash:
        parts.append("the uploaded changes")
    return "; ".join(parts)


def _fmt(value: float, unit: str, signed: bool = False) -> str:
    sign = "+" if signed else ""
    if unit == "share":
        return f"{100 * value:{sign}.1f}"
    if unit == "GBP":
        return (
            f"£{value:{sign},.0f}"
            if not signed
            else f"{'+' if value >= 0 else '-'}£{abs(value):,.0f}"
        )
    return f"{value:{sign}.1f}"


def caption(row: Mapping, change: str, level: float = 0.95) -> str:
    """A plain-language sentence for one row of paired differences.

    Examples
    --------
    >>> row = {"kpi": "wait_to_first_treatment_median_days", "mean_difference": -3.1,
    ...        "ci_low": -4.4, "ci_high": -1.9, "baseline_mean": 20.0, "n_replications": 10}
    >>> caption(row, "therapists from 5.4 to 7.4 WTE")
    'Therapists from 5.4 to 7.4 WTE shortens the median wait to first treatment by 3.1 days (95% CI 1.9 to 4.4; from 20.0 days, 10 paired replications).'
    >>> caption(dict(row, ci_high=0.4), "therapists from 5.4 to 7.4 WTE").split(":")[0]
    'Therapists from 5.4 to 7.4 WTE changes the median wait to first treatment by -3.1 days (95% CI -4.4 to 0.4; from 20.0 days, 10 paired replications)'
    """
    kpi = str(row["kpi"])
    label, unit = kpi_text(kpi)
    d, lo, hi = (float(row[k]) for k in ("mean_difference", "ci_low", "ci_high"))
    n = int(row["n_replications"])
    who = (change or "The scenario").strip()
    who = who[0].upper() + who[1:]
    pct = round(100 * level)
    base = float(row.get("baseline_mean", math.nan))
    units = {"days": " days", "share": " percentage points", "GBP": ""}.get(unit, "")
    base_txt = {"share": f"{100 * base:.1f}%", "GBP": f"£{base:,.0f}"}.get(
        unit, f"{base:.1f}{units}"
    )
    tail = f"; from {base_txt}, {n} paired replications"
    if not np.isfinite(d):
        return f"{who}: no paired difference in the {label} (too few replications have a value)."
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return f"{who} changes the {label} by {_fmt(d, unit, True)}{units} (no interval{tail})."
    if lo <= 0 <= hi:
        return (
            f"{who} changes the {label} by {_fmt(d, unit, True)}{units} ({pct}% CI "
            f"{_fmt(lo, unit)} to {_fmt(hi, unit)}{tail}): not distinguishable from no change "
            "with these replications."
        )
    if unit == "days":
        verb = "lengthens" if d > 0 else "shortens"
    else:
        verb = "raises" if d > 0 else "lowers"
    a, b = sorted((abs(lo), abs(hi)))
    return (
        f"{who} {verb} the {label} by {_fmt(abs(d), unit)}{units} ({pct}% CI {_fmt(a, unit)} "
        f"to {_fmt(b, unit)}{tail})."
    )


# ------------------------------------------------------------------------------- figures
def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def figure_png(fig, dpi: int = 110) -> bytes:
    """The figure as PNG bytes (the figure is closed)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def km_curve(days: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier share still waiting at each event time (product limit; censoring kept).

    Examples
    --------
    >>> t, s = km_curve(np.array([1.0, 2.0, 3.0, 4.0]), np.array([True, False, True, True]))
    >>> [round(float(x), 3) for x in s]
    [1.0, 0.75, 0.375, 0.0]
    """
    from statsmodels.duration.survfunc import SurvfuncRight

    ok = np.isfinite(days)
    days, observed = days[ok], observed[ok]
    if len(days) == 0:
        return np.array([0.0]), np.array([1.0])
    if not observed.any():
        return np.array([0.0, float(days.max())]), np.array([1.0, 1.0])
    sf = SurvfuncRight(days, observed.astype(float))
    return np.concatenate([[0.0], sf.surv_times]), np.concatenate([[1.0], sf.surv_prob])


def _window_clients(result: SimulationResult) -> pd.DataFrame:
    warm = float(result.meta.get("warmup_days", 0.0))
    c = result.clients
    return c[c["referred_at"].to_numpy(dtype=float) >= warm]


def _share_text(result: SimulationResult, wait: str) -> str:
    out = []
    for w in ("6w", "18w"):
        col = f"{wait}_within_{w}_share"
        if col in result.kpis:
            x = result.kpis[col].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            if len(x):
                out.append(f"{100 * x.mean():.1f}% within {w[:-1]} weeks")
    return ", ".join(out)


def plot_waits(results: Mapping[str, SimulationResult]):
    """Kaplan-Meier curves of the waits to first and second treatment appointment, one
    curve per run (replications pooled), with the 6- and 18-week marks; the legend gives
    each run's shares treated within them (means over replications)."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.0), sharey=True)
    for ax, (wait, title) in zip(axes, WAITS, strict=True):
        for i, (label, res) in enumerate(results.items()):
            c = _window_clients(res)
            days = c[f"{wait}_days"].to_numpy(dtype=float, na_value=np.nan)
            obs = c[f"{wait}_observed"].to_numpy(dtype=bool, na_value=False)
            t, s = km_curve(days, obs)
            shares = _share_text(res, wait)
            ax.step(
                t / 7.0,
                100 * s,
                where="post",
                color=f"C{i}",
                lw=1.6,
                label=f"{label}: {shares}" if shares else label,
            )
        for weeks in (6, 18):
            ax.axvline(weeks, color="0.5", lw=0.8, ls=":")
            ax.text(weeks, 2, f" {weeks} weeks", ha="left", va="bottom", fontsize=7, color="0.4")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("weeks since referral")
        ax.set_xlim(left=0)
        ax.set_ylim(0, 108)
        ax.legend(fontsize=7, loc="upper right")
    axes[0].set_ylabel("% of clients still waiting (Kaplan-Meier)")
    fig.tight_layout()
    return fig


def waiting_list_bands(result: SimulationResult, period_start) -> pd.DataFrame:
    """Per list and week: date, median and 10th/90th centiles of the mean list length across
    replications (``list, date, p10, median, p90``); lists that are always empty are left out."""
    df = result.waiting_lists  # carries each week's first day (hubsim.des.frames)
    q = (
        df.groupby(["list", "week_start_day"], observed=True)["mean_length"]
        .quantile([0.1, 0.5, 0.9])
        .unstack()
        .reset_index()
        .rename(columns={0.1: "p10", 0.5: "median", 0.9: "p90"})
    )
    keep = q.groupby("list")["p90"].transform("max") > 0
    q = q[keep]
    q.insert(1, "date", pd.Timestamp(period_start) + pd.to_timedelta(q["week_start_day"], unit="D"))
    return q[["list", "date", "p10", "median", "p90"]].reset_index(drop=True)


def plot_waiting_lists(
    results: Mapping[str, SimulationResult], period_start, warmup_days: float = 0.0
):
    """Clients waiting on each step's list over calendar dates: median and 10-90% band across
    replications, one panel per list that ever has anyone on it."""
    plt = _plt()
    bands = {label: waiting_list_bands(res, period_start) for label, res in results.items()}
    lists = list(dict.fromkeys(x for b in bands.values() for x in b["list"]))
    lists = [x for x in lists if x not in ("processing", "duty")] or lists
    ncol = min(3, max(1, len(lists)))
    nrow = math.ceil(len(lists) / ncol) if lists else 1
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(4.2 * ncol, 3.0 * nrow), squeeze=False, sharex=True
    )
    for ax in axes.flat[len(lists) :]:
        ax.set_visible(False)
    start = pd.Timestamp(period_start)
    for ax, name in zip(axes.flat, lists, strict=False):
        for i, (label, b) in enumerate(bands.items()):
            d = b[b["list"] == name]
            if d.empty:
                continue
            ax.fill_between(d["date"], d["p10"], d["p90"], color=f"C{i}", alpha=0.2, lw=0)
            ax.plot(d["date"], d["median"], color=f"C{i}", lw=1.3, label=label)
        if warmup_days > 0:
            ax.axvline(start + pd.Timedelta(days=warmup_days), color="0.4", lw=0.8, ls="--")
        ax.set_title(f"{name.replace('_', ' ')} list", fontsize=9)
        ax.set_ylim(bottom=0)
        ax.tick_params(labelsize=7)
    if lists:
        axes.flat[0].set_ylabel("clients waiting (weekly mean)", fontsize=8)
        axes.flat[0].legend(fontsize=7, title="median, 10-90% band", title_fontsize=7)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def _mean_ci(x: np.ndarray, level: float) -> tuple[float, float, float]:
    from hubsim.stats import t_interval

    x = x[np.isfinite(x)]
    if len(x) == 0:
        return math.nan, math.nan, math.nan
    m = float(x.mean())
    if len(x) < 2 or x.std(ddof=1) == 0:
        return m, m, m
    _, lo, hi = t_interval(m, float(x.std(ddof=1) / math.sqrt(len(x))), len(x) - 1, 1 - level)
    return m, lo, hi


def plot_utilisation(
    results: Mapping[str, SimulationResult], roles: Sequence[str], level: float = 0.95
):
    """Utilisation by role (booked clinical hours over rostered clinical hours): means over
    replications with t intervals, one bar per run."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6.0, 1.6 * len(roles) + 2), 3.6))
    width = 0.8 / max(1, len(results))
    x = np.arange(len(roles))
    for i, (label, res) in enumerate(results.items()):
        stats = [
            _mean_ci(
                res.kpis.get(f"utilisation_{r}", pd.Series(dtype=float)).to_numpy(dtype=float),
                level,
            )
            for r in roles
        ]
        m = np.array([s[0] for s in stats]) * 100
        lo = np.array([s[1] for s in stats]) * 100
        hi = np.array([s[2] for s in stats]) * 100
        pos = x + (i - (len(results) - 1) / 2) * width
        ax.bar(pos, m, width, color=f"C{i}", label=label, alpha=0.85)
        ax.errorbar(
            pos, m, yerr=np.nan_to_num([m - lo, hi - m]), fmt="none", color="k", capsize=3, lw=0.8
        )
    ax.set_xticks(x, [r.replace("_", " ") for r in roles], fontsize=8)
    ax.set_ylabel("% of rostered clinical hours used")
    ax.set_ylim(0, 105)
    ax.set_title(f"Utilisation by role (mean, {round(100 * level)}% CI)", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_costs(long: pd.DataFrame, level: float = 0.95):
    """Direct staff cost per client and per recovery: means over replications with t
    intervals, one bar per run (from the long frame of :func:`compare_results`)."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 2.6))
    runs = list(dict.fromkeys(long["scenario"]))
    for ax, kpi in zip(axes, ("cost_per_client_gbp", COST_PER_RECOVERY), strict=True):
        label, _ = kpi_text(kpi)
        y = np.arange(len(runs))[::-1]
        for yy, (i, run) in zip(y, enumerate(runs), strict=True):
            x = long.loc[(long["scenario"] == run) & (long["kpi"] == kpi), "value"].to_numpy(
                dtype=float
            )
            m, lo, hi = _mean_ci(x, level)
            if not np.isfinite(m):
                continue
            ax.barh(yy, m, color=f"C{i}", alpha=0.85)
            ax.errorbar(m, yy, xerr=[[m - lo], [hi - m]], color="k", capsize=3, lw=0.8)
            ax.text(hi, yy, f"  £{m:,.0f}", va="center", fontsize=8)
        ax.set_yticks(y, runs, fontsize=8)
        ax.set_xlabel("GBP (attended appointments at Agenda-for-Change hourly costs)", fontsize=8)
        ax.set_title(f"{label[0].upper() + label[1:]} (mean, {round(100 * level)}% CI)", fontsize=9)
        ax.margins(x=0.25)
    fig.tight_layout()
    return fig


def planner_figures(
    results: Mapping[str, SimulationResult],
    long: pd.DataFrame,
    period_start,
    warmup_days: float,
    roles: Sequence[str],
) -> dict[str, bytes]:
    """The planner's four figures as PNG bytes: ``waits`` (:func:`plot_waits`),
    ``waiting_lists`` (:func:`plot_waiting_lists`), ``utilisation`` (of ``roles``) and
    ``costs`` (:func:`plot_costs` of the long KPI frame of :func:`compare_results`)."""
    return {
        "waits": figure_png(plot_waits(results)),
        "waiting_lists": figure_png(plot_waiting_lists(results, period_start, warmup_days)),
        "utilisation": figure_png(plot_utilisation(results, roles)),
        "costs": figure_png(plot_costs(long)),
    }


def plot_diagnosands(diag: pd.DataFrame, alpha: float):
    """Power, coverage and bias by estimator (a diagnosands frame of
    :func:`hubsim.power.diagnose`), each with bars of 2 Monte-Carlo standard errors."""
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(12, 0.5 * len(diag) + 1.8), sharey=True)
    y = np.arange(len(diag))[::-1]
    for ax, (col, title, ref) in zip(
        axes,
        (("power", "Power", 0.8), ("coverage", "CI coverage", 1 - alpha), ("bias", "Bias", 0.0)),
        strict=True,
    ):
        m = diag[col].to_numpy(dtype=float)
        e = 2 * diag[f"{col}_mcse"].to_numpy(dtype=float)
        ax.errorbar(
            m, y, xerr=np.nan_to_num(e), fmt="o", color="C0", capsize=3, label="estimate +- 2 MCSE"
        )
        ax.axvline(
            ref,
            color="C3",
            lw=0.8,
            ls="--",
            label={"power": "80% power", "coverage": f"{1 - alpha:.0%} nominal", "bias": "no bias"}[
                col
            ],
        )
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7, loc="best")
        if col == "bias":
            from matplotlib.ticker import MaxNLocator

            ax.xaxis.set_major_locator(MaxNLocator(4))
            ax.set_xlabel("estimate - estimand (outcome units)", fontsize=8)
        else:
            ax.set_xlim(0, 1.03)
            ax.set_xlabel("share of simulated evaluations", fontsize=8)
    axes[0].set_yticks(y, diag["estimator"], fontsize=8)
    fig.tight_layout()
    return fig
