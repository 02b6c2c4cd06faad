"""The written report of a power study (Markdown) and its figures.

:func:`render_report` turns a :class:`~hubsim.evaluation.result.StudyResult` into text;
:func:`plot_curves` and :func:`plot_des` draw the figures the report shows. Nothing here
computes a diagnosand: the report reads the result's frames (tests check those frames,
not the wording).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hubsim import __version__
from hubsim.evaluation.des_effects import DESEffect, months_per_period
from hubsim.evaluation.result import StudyResult
from hubsim.evaluation.spec import StudySpec
from hubsim.regional import DynamicEffect
from hubsim.stats import mean_mcse

__all__ = ["plot_curves", "plot_des", "render_report"]


def _md_table(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    out = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        out.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    return "\n".join(out)



def _pm(v: float, m: float, digits: int = 3) -> str:
    if not np.isfinite(v):
        return "NA"
    return f"{v:.{digits}f} ± {m:.{digits}f}" if np.isfinite(m) else f"{v:.{digits}f}"



def _mcse(x: np.ndarray) -> float:
    return mean_mcse(x)[1]



def _replicate_atts(des: DESEffect, design: Any, scale: str) -> pd.Series:
    """The design's ATT computed from each DES replication's own profile.

    The ATT is linear in the profile, so these average to the design's ATT and their SD
    over sqrt(replications) is its Monte-Carlo SE from the DES. Empty for binary outcomes
    on the outcome scale (the link-scale calibration is not linear); replications missing
    a month are left out. Indexed by replication.
    """
    if des.binary and scale == "outcome":
        return pd.Series(dtype=float)
    k = months_per_period(design)
    factor = 1.0 if scale == "outcome" else design.sd / des.baseline_sd
    reps = des.replicates.pivot(index="replication", columns="event_time_months", values="effect")
    out = {}
    for r, v in zip(reps.index, reps.to_numpy(dtype=float), strict=True):
        if not np.all(np.isfinite(v)):
            continue
        per = [float(v[e * k : (e + 1) * k].mean()) * factor for e in range(math.ceil(v.size / k))]
        out[int(r)] = design.replace(effect=DynamicEffect(profile=tuple(per))).estimand().att
    return pd.Series(out, dtype=float)



def _curve_pair(curves: pd.DataFrame, first: str, other: str) -> str:
    """Power of two scenarios along the curves that include both (single-series curves)."""
    out = []
    if not len(curves):
        return ""
    for (c, est), g in curves.groupby(["curve", "estimator"], sort=False):
        if g["series"].fillna("").ne("").any():
            continue
        a = g[g["scenario"] == first].set_index("x_value")["power"]
        b = g[g["scenario"] == other].set_index("x_value")["power"]
        xs = [x for x in a.index if x in b.index]
        if not xs:
            continue
        pts = "; ".join(f"{x:g}: {a[x]:.2f} -> {b[x]:.2f}" for x in sorted(xs))
        out.append(f" Along curve {c} ({est}, {g['x'].iloc[0]}) {pts}.")
    return "".join(out)



def _des_report(result: StudyResult) -> list[str]:
    spec, designs, diag, curves = result.spec, result.designs, result.diagnosands, result.curves
    effects, settings, plans = result.des, result.des_settings, result.des_plans
    L = ["", "## DES-derived effects", ""]
    L += [
        "These scenarios take the hub effect from paired runs of the hub simulation (common "
        "random numbers) of a site configuration against a comparator, rather than from an "
        "assumed number. The effect is in the outcome's units, by months since opening (the "
        "last month's value holds thereafter); the estimand is its mean over the design's "
        "exposed region-periods, and its DES MCSE comes from the spread of the paired "
        "replications' own estimands. Negative PHQ-9 or wait effects are improvements.",
        "",
    ]
    rows = []
    atts: dict[str, pd.Series] = {}
    for s, des in effects.items():
        st, d = settings[s], designs[s]
        att = d.estimand().att
        atts[s] = _replicate_atts(des, d, plans[s].spec.scale)
        att_mcse = _mcse(atts[s].to_numpy())
        row = {
            "scenario": s,
            "hub": des.hub,
            "comparator": des.comparator,
            "outcome": f"{des.outcome} ({plans[s].spec.scale})",
            "DES reps x days": f"{st['replications']} x {st['horizon_days']:g}",
            "mean DES effect": f"{des.profile['effect'].mean():+.4g}",
            "design ATT (DES MCSE)": f"{att:+.4g}"
            + (f" ({att_mcse:.2g})" if np.isfinite(att_mcse) else ""),
        }
        for est in spec.estimators:
            r = diag[(diag["scenario"] == s) & (diag["estimator"] == est)]
            row[f"power {est}"] = (
                _pm(float(r["power"].iloc[0]), float(r["power_mcse"].iloc[0]), 2) if len(r) else "-"
            )
        rows.append(row)
    L += [_md_table(pd.DataFrame(rows)), ""]
    # hubs compared against the same comparator, population and outcome (e.g. a planner's
    # staffing change): the CRN-paired change in the DES effect and in the evaluation's power
    groups: dict[tuple, list[str]] = {}
    for s, des in effects.items():
        k = (plans[s].comparator.content_hash, des.population, des.outcome, plans[s].spec.scale)
        groups.setdefault(k, []).append(s)
    comp_lines = []
    for names in groups.values():
        first = names[0]
        for other in names[1:]:
            if plans[other].hub.content_hash == plans[first].hub.content_hash:
                continue
            a, b = effects[first], effects[other]
            paired = (a.seed, a.replications, a.horizon_days, a.follow_up_days) == (
                b.seed,
                b.replications,
                b.horizon_days,
                b.follow_up_days,
            )
            d_att = (atts[other] - atts[first]).dropna().to_numpy() if paired else np.array([])
            diff = (
                f"by {d_att.mean():+.4g} {a.units} (MCSE {_mcse(d_att):.2g}, paired over "
                f"{d_att.size} CRN replications)"
                if d_att.size
                else "(not paired: different DES settings)"
            )
            est = spec.estimators[0]
            pa = diag[(diag["scenario"] == first) & (diag["estimator"] == est)].iloc[0]
            pb = diag[(diag["scenario"] == other) & (diag["estimator"] == est)].iloc[0]
            comp_lines.append(
                f"- **{other}** ({b.hub}) vs **{first}** ({a.hub}), {a.population} / {a.outcome}: "
                f"design ATT {designs[first].estimand().att:+.4g} -> "
                f"{designs[other].estimand().att:+.4g}, a change {diff}; "
                f"power ({est}) {_pm(pa['power'], pa['power_mcse'], 2)} -> "
                f"{_pm(pb['power'], pb['power_mcse'], 2)}." + _curve_pair(curves, first, other)
            )
    if comp_lines:
        L += ["### Hub configurations compared", "", *comp_lines, ""]
    L += ["### DES runs and their assumptions", ""]
    seen: dict[int, str] = {}
    for s, des in effects.items():
        run = settings[s]["run"]
        plan = plans[s]
        if run in seen:
            L += [f"- **{s}**: the same DES run as *{seen[run]}* (computed once).", ""]
            continue
        seen[run] = s
        comp = str(plan.comparator_path) if plan.comparator_path else "default usual care"
        L += [
            f"- **{s}**: hub {plan.hub_path} (hash {plan.hub.content_hash[:12]}), comparator "
            f"{comp} (hash {plan.comparator.content_hash[:12]}); scale {plan.spec.scale}.",
            "",
            "```",
            des.summary(),
            "```",
            "",
        ]
    return L



def render_report(
    result: StudyResult,
    *,
    figures: Sequence[str] = (),
    des_figures: Sequence[str] = (),
    seconds: float | None = None,
) -> str:
    """The study's report in Markdown: setting, diagnosands with MCSEs, warnings, DES
    effects, MDEs and power curves (``figures`` and ``des_figures`` are the image files
    beside it, from :func:`plot_curves` and :func:`plot_des`).

    Examples
    --------
    >>> text = render_report(result)  # doctest: +SKIP
    """
    spec, designs = result.spec, result.designs
    diag, curves, mde = result.diagnosands, result.curves, result.mde
    figs = list(figures)
    n, seed, size = result.n_sims, result.seed, result.size
    secs = result.seconds if seconds is None else seconds
    L = [f"# {spec.title or spec.name}", ""]
    if spec.description:
        L += [spec.description.strip(), ""]
    L += [
        f"{n} simulations per design point ({size} size), seed {seed}, alpha {spec.alpha}; "
        f"hubsim {__version__}; {secs:.0f} s. Values are shown as estimate ± Monte-Carlo SE.",
        "",
    ]
    L += ["## Scenarios", ""]
    for s, d in designs.items():
        desc = d.describe() if hasattr(d, "describe") else repr(d)
        L.append(f"- **{s}**: {desc}")
    L += ["", "## Diagnosands", ""]
    show = diag.assign(
        bias=[_pm(v, m, 4) for v, m in zip(diag["bias"], diag["bias_mcse"], strict=True)],
        rmse=[_pm(v, m, 4) for v, m in zip(diag["rmse"], diag["rmse_mcse"], strict=True)],
        power=[_pm(v, m, 2) for v, m in zip(diag["power"], diag["power_mcse"], strict=True)],
        coverage=[
            _pm(v, m, 2) for v, m in zip(diag["coverage"], diag["coverage_mcse"], strict=True)
        ],
        estimand=[f"{v:.4g}" for v in diag["mean_estimand"]],
        failures=[f"{v:.2f}" for v in diag["failure_rate"]],
    )[["scenario", "estimator", "estimand", "bias", "rmse", "power", "coverage", "failures"]]
    L += [_md_table(show), ""]
    flags = []
    for _, r in diag.iterrows():
        if np.isfinite(r["bias"]) and abs(r["bias"]) > 3 * max(r["bias_mcse"], 1e-15):
            rel = r["bias"] / r["mean_estimand"] if r["mean_estimand"] else math.nan
            flags.append(
                f"- {r['estimator']} is biased in *{r['scenario']}*: {r['bias']:+.4g} "
                f"(MCSE {r['bias_mcse']:.2g}"
                + (f"; {rel:+.0%} of the estimand)" if np.isfinite(rel) else ")")
            )
        lo = (1 - spec.alpha) - 3 * r["coverage_mcse"]
        if np.isfinite(r["coverage"]) and r["coverage"] < lo:
            flags.append(
                f"- {r['estimator']} under-covers in *{r['scenario']}*: {r['coverage']:.2f} "
                f"(MCSE {r['coverage_mcse']:.2f}) against a nominal {1 - spec.alpha:.2f}."
            )
    L += ["## Warnings (bias beyond 3 MCSE, coverage below nominal by more than 3 MCSE)", ""]
    L += flags or ["- none at this number of simulations."]
    if result.des:
        L += _des_report(result)
        L += [f"![{f}]({f})" for f in des_figures]
    if len(mde):
        L += ["", "## Minimum detectable effects", ""]
        m = mde.assign(
            mde=[_pm(v, s, 4) for v, s in zip(mde["mde"], mde["mde_mcse"], strict=True)],
            normal_approximation=[f"{v:.4g}" for v in mde["normal_approximation"]],
        )
        L += [
            _md_table(
                m[["scenario", "estimator", "target_power", "mde", "normal_approximation", "note"]]
            ),
            "",
        ]
    if len(curves):
        L += ["", "## Power curves", ""]
        rows = []
        for (c, s, e, ser), g in curves.groupby(
            ["curve", "scenario", "estimator", "series"], sort=False
        ):
            g = g.sort_values("x_value")
            hit = g[g["power"] >= 0.8]
            first = (
                f"{hit['x_value'].iloc[0]:.4g}"
                if len(hit)
                else f"not reached (max {g['x_value'].max():.4g})"
            )
            rows.append(
                {
                    "curve": c,
                    "scenario": s,
                    "estimator": e,
                    "series": ser or "-",
                    "x": g["x"].iloc[0],
                    "first x with power >= 0.8": first,
                }
            )
        L += [_md_table(pd.DataFrame(rows)), ""]
        L += [f"![{f}]({f})" for f in figs]
    return "\n".join(L) + "\n"



def plot_curves(curves: pd.DataFrame, spec: StudySpec, folder: Path) -> list[str]:
    """One figure per power curve (``power_<curve>.png`` in ``folder``, +-2 MCSE bands)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    for name, cd in curves.groupby("curve", sort=False):
        scen = list(dict.fromkeys(cd["scenario"]))
        fig, axes = plt.subplots(
            1, len(scen), figsize=(4.2 * len(scen), 3.6), squeeze=False, sharey=True
        )
        for ax, s in zip(axes[0], scen, strict=True):
            sd = cd[cd["scenario"] == s]
            for (est, ser), g in sd.groupby(["estimator", "series"], sort=False):
                g = g.sort_values("x_value")
                lab = est + (f" ({ser})" if ser else "")
                x, p, m = g["x_value"], g["power"], g["power_mcse"]
                (line,) = ax.plot(x, p, marker="o", ms=3, label=lab)
                ax.fill_between(
                    x,
                    (p - 2 * m).clip(0, 1),
                    (p + 2 * m).clip(0, 1),
                    color=line.get_color(),
                    alpha=0.2,
                    lw=0,
                )
            ax.axhline(0.8, color="grey", ls="--", lw=0.8)
            ax.axhline(spec.alpha, color="grey", ls=":", lw=0.8)
            ax.set_title(s, fontsize=9)
            ax.set_xlabel(str(sd["x"].iloc[0]))
            ax.set_ylim(-0.02, 1.02)
        axes[0][0].set_ylabel("power (band: +-2 MCSE)")
        axes[0][-1].legend(fontsize=7, loc="lower right")
        fig.suptitle(f"{spec.title or spec.name}: {name}", fontsize=10)
        fig.tight_layout()
        fn = f"power_{name}.png"
        fig.savefig(folder / fn, dpi=110)
        plt.close(fig)
        files.append(fn)
    return files



def plot_des(frame: pd.DataFrame, effects: dict[str, DESEffect], folder: Path) -> list[str]:
    """The DES-derived effect profiles (``des_effects.png`` in ``folder``, +-2 MCSE bands)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = list(effects)
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    for ax, s in zip(axes[0], names, strict=True):
        g = frame[frame["scenario"] == s].sort_values("event_time_months")
        x, y = g["event_time_months"].to_numpy(float), g["effect"].to_numpy(float)
        m = np.nan_to_num(g["mcse"].to_numpy(float))
        (line,) = ax.plot(x, y, marker="o", ms=3)
        ax.fill_between(x, y - 2 * m, y + 2 * m, color=line.get_color(), alpha=0.2, lw=0)
        ax.axhline(0.0, color="grey", lw=0.8)
        des = effects[s]
        ax.set_title(f"{s}\n{des.hub} vs {des.comparator}", fontsize=8)
        ax.set_xlabel("months since opening")
        ax.set_ylabel(f"effect on {des.outcome}", fontsize=8)
    fig.suptitle("DES-derived hub effects (band: +-2 MCSE)", fontsize=10)
    fig.tight_layout()
    fn = "des_effects.png"
    fig.savefig(folder / fn, dpi=110)
    plt.close(fig)
    return [fn]

