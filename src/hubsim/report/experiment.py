"""The written report of an experiment: ``report.md`` and ``report.html`` with figures.

:func:`write_report` reads only a results store (``hubsim report FOLDER`` runs it on any
finished folder; ``hubsim experiment`` runs it at the end) and writes, atomically:

- ``figures/forest.png``: paired differences from the baseline with their intervals;
- ``figures/waits_km.png``: Kaplan-Meier curves of the wait per scenario (censoring
  respected; replications pooled);
- ``figures/waiting_list.png``: clients waiting over calendar dates, median and 10-90%
  band across replications;
- ``figures/utilisation.png``: utilisation by role and scenario;
- ``figures/costs.png``: staff cost per client and per recovery.

The text opens with the answer: the scenario with the largest paired change in the
headline wait (:func:`~hubsim.report.columns.headline_kpi`), by how much, with its
interval, and the rule behind the intervals. The figure functions are public so the
notebooks draw the same figures. Which columns are read: :mod:`hubsim.report.columns`.
"""

from __future__ import annotations

import html
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubsim.report.columns import (
    COST_KPI,
    DIRECT_COST_KPI,
    RECOVERED,
    REFERRED_AT,
    UTILISATION_PREFIX,
    WEEK_START,
    headline_kpi,
    km_frame,
    kpi_label,
    kpi_phrase,
    waiting_list_total,
)

__all__ = [
    "answer_sentence",
    "cost_frame",
    "plot_costs",
    "plot_forest",
    "plot_km",
    "plot_utilisation",
    "plot_waiting_list",
    "report_blocks",
    "write_report",
]

FIGURES = "figures"


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)
    return buf.getvalue()


def _fmt(v: float, unit: str) -> str:
    if not np.isfinite(v):
        return "n/a"
    if unit == "share":
        return f"{100 * v:+.1f} points" if v else "0 points"
    if unit == "GBP":
        return f"GBP {v:+,.0f}"
    return f"{v:+.3g} {unit}".strip()


def _level(v: float, unit: str) -> str:
    if not np.isfinite(v):
        return "n/a"
    if unit == "share":
        return f"{100 * v:.1f}%"
    if unit == "GBP":
        return f"GBP {v:,.0f}"
    return f"{v:.3g} {unit}".strip()


# ---------------------------------------------------------------------------------------
# The answer
# ---------------------------------------------------------------------------------------


def answer_sentence(
    differences: pd.DataFrame, labels: dict[str, str], baseline: str, kpi: str | None, level: float
) -> str:
    """The report's first paragraph: the largest paired change in ``kpi`` with its interval.

    Examples
    --------
    >>> d = pd.DataFrame({"scenario": ["a", "b"], "kpi": "wait_to_first_treatment_mean_days",
    ...     "mean_difference": [1.0, -4.0], "ci_low": [0.5, -5.0], "ci_high": [1.5, -3.0],
    ...     "n_replications": 10, "baseline_mean": 20.0})
    >>> answer_sentence(d, {}, "base", "wait_to_first_treatment_mean_days", 0.95)[:56]
    'Of the scenarios compared with base, b changes the mean '
    """
    pct = round(100 * level)
    if kpi is None or differences.empty:
        return (
            "One scenario was run, so there is no paired difference to report; the levels "
            "below are means over replications with t intervals."
        )
    d = differences[(differences["kpi"] == kpi) & np.isfinite(differences["mean_difference"])]
    label, unit = kpi_label(kpi)
    if d.empty:
        return f"No scenario has a finite paired difference in {label.lower()}."
    r = d.iloc[int(np.argmax(np.abs(d["mean_difference"].to_numpy())))]
    name = labels.get(r["scenario"], r["scenario"])
    base = labels.get(baseline, baseline)
    n = int(r["n_replications"])
    excl = r["ci_low"] > 0 or r["ci_high"] < 0
    verdict = (
        "Its interval excludes zero."
        if excl
        else "Its interval includes zero: this experiment cannot tell the change from none."
    )
    return (
        f"Of the scenarios compared with {base}, {name} changes the {kpi_phrase(kpi)} the "
        f"most: by {_fmt(float(r['mean_difference']), unit)} ({pct}% CI "
        f"{_fmt(float(r['ci_low']), unit)} to {_fmt(float(r['ci_high']), unit)}; {base}: "
        f"{_level(float(r['baseline_mean']), unit)}). {verdict} The rule: every scenario ran "
        f"the same {n} replications on common random numbers (replication r of each sees the "
        f"same clients), and each interval is a paired t interval of the {n} "
        "per-replication differences from the baseline."
    )


# ---------------------------------------------------------------------------------------
# Figures (public: the notebooks draw the same ones)
# ---------------------------------------------------------------------------------------


def plot_forest(differences: pd.DataFrame, labels: dict[str, str], kpis: Sequence[str], level):
    """Paired differences from the baseline, one panel per KPI, scenarios as rows."""
    plt = _plt()
    kpis = [k for k in kpis if k in set(differences["kpi"])][:6]
    ncol = min(3, max(1, len(kpis)))
    nrow = math.ceil(len(kpis) / ncol) if kpis else 1
    scen = list(dict.fromkeys(differences["scenario"]))
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(4.2 * ncol, 0.45 * len(scen) * nrow + 1.4 * nrow), squeeze=False
    )
    for ax in axes.flat[len(kpis) :]:
        ax.set_visible(False)
    for ax, k in zip(axes.flat, kpis, strict=False):
        d = differences[differences["kpi"] == k].set_index("scenario").reindex(scen)
        label, unit = kpi_label(k)
        scale = 100.0 if unit == "share" else 1.0
        unit_txt = "percentage points" if unit == "share" else unit
        y = np.arange(len(scen))[::-1]
        m = d["mean_difference"].to_numpy(dtype=float) * scale
        lo = d["ci_low"].to_numpy(dtype=float) * scale
        hi = d["ci_high"].to_numpy(dtype=float) * scale
        ax.errorbar(m, y, xerr=[m - lo, hi - m], fmt="o", color="C0", capsize=3,
                    label=f"mean difference, {round(100 * level)}% CI")
        ax.axvline(0, color="0.4", lw=0.8, ls="--")
        ax.set_yticks(y, [labels.get(s, s) for s in scen], fontsize=8)
        ax.set_title(label, fontsize=9)
        ax.set_xlabel(f"scenario - baseline ({unit_txt})", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    if kpis:
        axes.flat[0].legend(fontsize=7, loc="best")
    base = next(iter(differences["baseline"]), "") if "baseline" in differences else ""
    fig.suptitle(f"Paired differences from {labels.get(base, base)}", fontsize=10)
    fig.tight_layout()
    return fig


def _km(days: np.ndarray, observed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Kaplan-Meier product-limit estimate of the share still waiting (step points)."""
    from statsmodels.duration.survfunc import SurvfuncRight

    if len(days) == 0:
        return np.array([0.0]), np.array([1.0])
    if not observed.any():
        return np.array([0.0, float(days.max())]), np.array([1.0, 1.0])
    sf = SurvfuncRight(days, observed.astype(float))
    t = np.concatenate([[0.0], sf.surv_times])
    s = np.concatenate([[1.0], sf.surv_prob])
    return t, s


def plot_km(clients: pd.DataFrame, scenarios: pd.DataFrame, labels: dict[str, str]):
    """Kaplan-Meier curves of the wait per scenario (replications pooled; censored ticks)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    what = ""
    for i, s in enumerate(scenarios.itertuples(index=False)):
        c = clients[clients["scenario"] == s.scenario]
        km, what = km_frame(c, float(s.horizon_days), float(s.warmup_days))
        if km.empty:
            continue
        t, surv = _km(km["days"].to_numpy(float), km["observed"].to_numpy(bool))
        ax.step(t / 7.0, surv, where="post", color=f"C{i % 10}",
                label=f"{labels.get(s.scenario, s.scenario)} (n={len(km)}, "
                f"{int((~km['observed']).sum())} censored)")
    for weeks in (6, 18):
        ax.axvline(weeks, color="0.6", lw=0.7, ls=":")
    ax.set_xlabel("weeks since referral")
    ax.set_ylabel("share still waiting")
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set_title(f"Waits, {what or 'referral to treatment'} (Kaplan-Meier)", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig, what


def plot_waiting_list(weekly: pd.DataFrame, scenarios: pd.DataFrame, labels: dict[str, str]):
    """Clients on any waiting list over calendar dates: median and 10-90% band of replications."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 4.0))
    for i, s in enumerate(scenarios.itertuples(index=False)):
        w = weekly[weekly["scenario"] == s.scenario]
        if w.empty or WEEK_START not in w:
            continue
        w = w.assign(total=waiting_list_total(w))
        q = w.groupby(WEEK_START)["total"].quantile([0.1, 0.5, 0.9]).unstack()
        dates = pd.Timestamp(s.period_start) + pd.to_timedelta(q.index.to_numpy(float), unit="D")
        color = f"C{i % 10}"
        ax.fill_between(dates, q[0.1], q[0.9], color=color, alpha=0.18, lw=0)
        ax.plot(dates, q[0.5], color=color, lw=1.4, label=labels.get(s.scenario, s.scenario))
    first = scenarios.iloc[0] if len(scenarios) else None
    if first is not None and float(first["warmup_days"]) > 0:
        start = pd.Timestamp(first["period_start"]) + pd.Timedelta(days=float(first["warmup_days"]))
        ax.axvline(start, color="0.4", lw=0.8, ls="--", label="KPI window starts")
    ax.set_ylabel("clients waiting (weekly mean)")
    ax.set_xlabel("week starting")
    ax.set_ylim(bottom=0)
    ax.set_title("Waiting list over time: median and 10-90% band across replications",
                 fontsize=10)
    ax.legend(fontsize=7)
    fig.autofmt_xdate()
    fig.tight_layout()
    return fig


def plot_utilisation(levels: pd.DataFrame, labels: dict[str, str], level: float):
    """Mean utilisation of each role (direct clinical time / rostered clinical time)."""
    plt = _plt()
    u = levels[levels["kpi"].str.startswith(UTILISATION_PREFIX)]
    roles = list(dict.fromkeys(u["kpi"]))
    scen = list(dict.fromkeys(u["scenario"]))
    fig, ax = plt.subplots(figsize=(max(6.0, 1.2 * len(roles) + 3), 4.0))
    width = 0.8 / max(1, len(scen))
    x = np.arange(len(roles))
    for i, s in enumerate(scen):
        d = u[u["scenario"] == s].set_index("kpi").reindex(roles)
        m = 100 * d["mean"].to_numpy(float)
        err = 100 * np.vstack([m / 100 - d["ci_low"], d["ci_high"] - m / 100])
        ax.bar(x + (i - (len(scen) - 1) / 2) * width, m, width, yerr=np.nan_to_num(err),
               capsize=2, color=f"C{i % 10}", label=labels.get(s, s))
    ax.set_xticks(x, [r[len(UTILISATION_PREFIX):].replace("_", " ") for r in roles], fontsize=8)
    ax.set_ylabel("utilisation (% of rostered clinical hours)")
    ax.set_title(f"Utilisation by role (means, {round(100 * level)}% t intervals)", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def cost_frame(kpis: pd.DataFrame, clients: pd.DataFrame, scenarios: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and replication: cost per client and cost per recovery (GBP).

    Cost per recovery is the replication's direct staff cost over the clients of the KPI
    window who recovered.
    """
    rows = []
    wide = kpis[kpis["kpi"].isin([COST_KPI, DIRECT_COST_KPI])].pivot_table(
        index=["scenario", "replication"], columns="kpi", values="value"
    )
    warm = dict(zip(scenarios["scenario"], scenarios["warmup_days"], strict=True))
    rec = {}
    if RECOVERED in clients and REFERRED_AT in clients:
        c = clients[clients[REFERRED_AT].to_numpy(float) >= clients["scenario"].map(warm)]
        flag = c[RECOVERED].astype("boolean").fillna(False).astype(bool)
        rec = flag.groupby([c["scenario"], c["replication"]]).sum().to_dict()
    for (s, r), row in wide.iterrows():
        n_rec = rec.get((s, r), 0)
        cost = row.get(DIRECT_COST_KPI, np.nan)
        rows.append(
            {
                "scenario": s,
                "replication": int(r),
                "cost_per_client_gbp": row.get(COST_KPI, np.nan),
                "cost_per_recovery_gbp": cost / n_rec if n_rec else np.nan,
            }
        )
    return pd.DataFrame(rows, columns=["scenario", "replication", "cost_per_client_gbp",
                                       "cost_per_recovery_gbp"])


def plot_costs(costs: pd.DataFrame, labels: dict[str, str], order: Sequence[str], level: float):
    """Staff cost per client and per recovery: means with t intervals across replications."""
    from hubsim.stats import t_interval

    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(9.5, 0.45 * len(order) + 1.8))
    for ax, col, title in zip(
        axes,
        ("cost_per_client_gbp", "cost_per_recovery_gbp"),
        ("Staff cost per client", "Staff cost per recovery"),
        strict=True,
    ):
        y = np.arange(len(order))[::-1]
        for yy, s in zip(y, order, strict=True):
            x = costs.loc[costs["scenario"] == s, col].to_numpy(float)
            x = x[np.isfinite(x)]
            if not len(x):
                continue
            m = x.mean()
            if len(x) > 1 and x.std(ddof=1) > 0:
                lo, hi = t_interval(m, x.std(ddof=1) / np.sqrt(len(x)), len(x) - 1, 1 - level)[1:]
            else:
                lo = hi = m
            ax.barh(yy, m, color="C0", alpha=0.6)
            ax.errorbar(m, yy, xerr=[[m - lo], [hi - m]], color="k", capsize=3)
        ax.set_yticks(y, [labels.get(s, s) for s in order], fontsize=8)
        ax.set_xlabel("GBP (direct staff time, Agenda-for-Change costs)", fontsize=8)
        ax.set_title(f"{title} (mean, {round(100 * level)}% CI)", fontsize=9)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------


def _table(df: pd.DataFrame) -> dict[str, Any]:
    return {"kind": "table", "columns": list(df.columns), "rows": df.astype(str).values.tolist()}


def report_blocks(store, manifest: dict[str, Any]) -> tuple[list[dict], dict[str, bytes]]:
    """The report as blocks (heading, paragraph, table, figure) and its figures (PNG bytes)."""
    scenarios = store.query("SELECT * FROM scenarios ORDER BY position")
    labels = dict(zip(scenarios["scenario"], scenarios["label"], strict=True))
    order = list(scenarios["scenario"])
    n_rep = int(manifest.get("replications") or 0)
    kpis = store.kpis()
    if n_rep:
        kpis = kpis[kpis["replication"] < n_rep]
    tables = set(store.tables())
    levels = store.query("SELECT * FROM levels") if "levels" in tables else pd.DataFrame()
    diffs = store.query("SELECT * FROM differences") if "differences" in tables else pd.DataFrame()
    level = float(manifest.get("level", 0.95))
    baseline = manifest.get("baseline") or order[0]
    reported = list(manifest.get("kpis") or list(dict.fromkeys(levels.get("kpi", []))))
    head = headline_kpi(reported)
    title = manifest.get("title") or manifest.get("name", "Experiment")
    window = manifest.get("window")
    when = (
        f"KPIs over {window['start']} to {window['end']}"
        if window
        else f"KPIs over days {scenarios['warmup_days'].iloc[0]:g} to "
        f"{scenarios['horizon_days'].iloc[0]:g} of each run"
    )
    what_run = (
        f"{len(order)} scenario(s) x {n_rep} replications, seed {manifest.get('seed')}, "
        f"{when}; replications: {manifest.get('replications_note', 'fixed')}."
    )
    blocks: list[dict] = [{"kind": "h1", "text": title}]
    blocks.append({"kind": "p", "text": answer_sentence(diffs, labels, baseline, head, level)})
    blocks.append({"kind": "p", "text": f"What was run: {what_run}"})
    figs: dict[str, bytes] = {}
    pct = round(100 * level)
    if len(diffs):
        blocks.append({"kind": "h2", "text": f"Paired differences from {labels.get(baseline, baseline)}"})
        show = diffs.copy()
        show["scenario"] = show["scenario"].map(lambda s: labels.get(s, s))
        show["kpi"] = show["kpi"].map(lambda k: "{} ({})".format(*kpi_label(k)))
        for c in ("baseline_mean", "scenario_mean", "mean_difference", "ci_low", "ci_high"):
            show[c] = show[c].map(lambda v: f"{v:.4g}")
        show["p_value"] = show["p_value"].map(lambda v: f"{v:.3g}")
        blocks.append(_table(show[["scenario", "kpi", "baseline_mean", "scenario_mean",
                                   "mean_difference", "ci_low", "ci_high", "p_value",
                                   "n_replications"]]))
        figs["forest.png"] = _png(plot_forest(diffs, labels, reported, level))
        blocks.append({"kind": "figure", "src": f"{FIGURES}/forest.png", "caption": (
            f"Paired differences (scenario - baseline) of the main KPIs, mean and {pct}% t "
            f"interval over {n_rep} common-random-number replications; {when}. A bar that "
            "crosses the dashed line cannot be told from no change."
        )})
    if len(levels):
        blocks.append({"kind": "h2", "text": "Levels by scenario"})
        lv = levels[levels["kpi"].isin(reported)].copy()
        lv["scenario"] = lv["scenario"].map(lambda s: labels.get(s, s))
        lv["kpi"] = lv["kpi"].map(lambda k: "{} ({})".format(*kpi_label(k)))
        for c in ("mean", "sd", "ci_low", "ci_high"):
            lv[c] = lv[c].map(lambda v: f"{v:.4g}")
        blocks.append(_table(lv[["scenario", "kpi", "mean", "ci_low", "ci_high", "sd",
                                 "n_replications"]]))
    clients = store.frame("clients")
    if len(clients):
        if n_rep:
            clients = clients[clients["replication"] < n_rep]
        fig, what = plot_km(clients, scenarios, labels)
        figs["waits_km.png"] = _png(fig)
        blocks.append({"kind": "figure", "src": f"{FIGURES}/waits_km.png", "caption": (
            f"Kaplan-Meier estimate of the share still waiting, {what}, by weeks since "
            f"referral; clients referred in the KPI window, {n_rep} replications pooled. "
            "A client still waiting when the run ends, or who leaves the list unseen, is "
            "censored at that time (not counted as seen). Dotted lines: 6 and 18 weeks."
        )})
    weekly = store.frame("weekly")
    if len(weekly):
        if n_rep:
            weekly = weekly[weekly["replication"] < n_rep]
        figs["waiting_list.png"] = _png(plot_waiting_list(weekly, scenarios, labels))
        blocks.append({"kind": "figure", "src": f"{FIGURES}/waiting_list.png", "caption": (
            "Clients on any waiting list (the sum of every list's weekly mean length) by "
            f"calendar week; line: median of {n_rep} replications, band: their 10th to 90th "
            "centiles. Each run starts at its configuration's period start."
        )})
    if len(levels) and levels["kpi"].str.startswith(UTILISATION_PREFIX).any():
        figs["utilisation.png"] = _png(plot_utilisation(levels, labels, level))
        blocks.append({"kind": "figure", "src": f"{FIGURES}/utilisation.png", "caption": (
            "Utilisation of each clinical role: direct clinical hours used over rostered "
            f"clinical hours in the KPI window, mean and {pct}% t interval over {n_rep} "
            "replications."
        )})
    costs = cost_frame(kpis, clients, scenarios) if len(clients) else pd.DataFrame()
    if len(costs) and np.isfinite(costs["cost_per_client_gbp"]).any():
        figs["costs.png"] = _png(plot_costs(costs, labels, order, level))
        blocks.append({"kind": "figure", "src": f"{FIGURES}/costs.png", "caption": (
            "Direct staff cost (time at Agenda-for-Change band costs, economics block of "
            "each configuration) per client seen and per client recovered in the KPI window; "
            f"mean and {pct}% t interval over {n_rep} replications."
        )})
    blocks.append({"kind": "h2", "text": "Scenarios"})
    sc = scenarios[["scenario", "label", "source", "changes", "config_name", "config_hash"]].copy()
    sc["config_hash"] = sc["config_hash"].str[:12]
    blocks.append(_table(sc))
    blocks.append({"kind": "p", "text": (
        "Results database: results.duckdb (tables runs, scenarios, replications, kpis, "
        "clients, weekly, levels, differences; events and staff_activity as Parquet under "
        "events/ and staff_activity/); manifest.json holds every resolved configuration "
        "with its hash, the seed, package versions, platform and command."
    )})
    return blocks, figs


def _markdown(blocks: list[dict]) -> str:
    out = []
    for b in blocks:
        if b["kind"] == "h1":
            out.append(f"# {b['text']}\n")
        elif b["kind"] == "h2":
            out.append(f"## {b['text']}\n")
        elif b["kind"] == "p":
            out.append(f"{b['text']}\n")
        elif b["kind"] == "table":
            cols = b["columns"]
            out.append("| " + " | ".join(cols) + " |")
            out.append("|" + "|".join("---" for _ in cols) + "|")
            for r in b["rows"]:
                out.append("| " + " | ".join(str(v).replace("|", "/") for v in r) + " |")
            out.append("")
        elif b["kind"] == "figure":
            out.append(f"![{b['caption']}]({b['src']})\n")
            out.append(f"*{b['caption']}*\n")
    return "\n".join(out)


def _html(blocks: list[dict], title: str) -> str:
    e = html.escape
    body = []
    for b in blocks:
        if b["kind"] in ("h1", "h2"):
            body.append(f"<{b['kind']}>{e(b['text'])}</{b['kind']}>")
        elif b["kind"] == "p":
            body.append(f"<p>{e(b['text'])}</p>")
        elif b["kind"] == "table":
            head = "".join(f"<th>{e(c)}</th>" for c in b["columns"])
            rows = "".join(
                "<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in r) + "</tr>" for r in b["rows"]
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif b["kind"] == "figure":
            body.append(
                f'<figure><img src="{e(b["src"])}" alt="{e(b["caption"])}">'
                f"<figcaption>{e(b['caption'])}</figcaption></figure>"
            )
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.45}"
        "table{border-collapse:collapse;font-size:0.85em;margin:1em 0}"
        "td,th{border:1px solid #ccc;padding:0.2em 0.5em;text-align:left}"
        "img{max-width:100%}figcaption{font-size:0.9em;color:#444}"
    )
    return (
        f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{e(title)}"
        f"</title><style>{style}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )


def write_report(folder, store, result=None) -> list[str]:
    """Write ``report.md``, ``report.html`` and ``figures/*.png`` into a results folder.

    Parameters
    ----------
    folder : hubsim.experiment.outdir.ResultsFolder
    store : hubsim.experiment.store.ResultsStore
    result : ExperimentResult, optional
        The run just finished (its settings are used); default: read ``manifest.json``.

    Returns
    -------
    list of str
        The files written, relative to the folder.
    """
    manifest_path = Path(folder.path) / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.is_file() else {}
    if result is not None:
        spec = result.plan.spec
        manifest.update(
            {
                "name": spec.name,
                "title": spec.title,
                "seed": spec.seed,
                "baseline": result.baseline,
                "replications": result.n_replications,
                "replications_note": result.replications_note,
                "level": spec.level,
                "kpis": list(spec.kpis),
            }
        )
    elif "kpis" not in manifest:
        manifest["kpis"] = manifest.get("reported_kpis")
    blocks, figs = report_blocks(store, manifest)
    files = []
    folder.check_free(FIGURES)
    folder.register(FIGURES)
    (Path(folder.path) / FIGURES).mkdir(exist_ok=True)
    for name, data in figs.items():
        folder.write(f"{FIGURES}/{name}", data)
        files.append(f"{FIGURES}/{name}")
    title = manifest.get("title") or manifest.get("name", "Experiment")
    folder.write("report.md", _markdown(blocks))
    folder.write("report.html", _html(blocks, title))
    return [*files, "report.md", "report.html"]
