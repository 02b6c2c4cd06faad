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
from hubsim.evaluation.findings import first_crossing, plateau, recommend, recommended
from hubsim.evaluation.result import StudyResult
from hubsim.evaluation.spec import StudySpec
from hubsim.power.diagnose import has_no_test
from hubsim.power.grid import effect_scale
from hubsim.regional import DynamicEffect, ExternalEffect, HeterogeneousEffect
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



_POPULATION_TITLES = {
    "staff_survey": "Staff survey",
    "help_seeker_cohort": "Help-seeker cohort",
    "service_waits": "Service waits",
}
_X_LABELS = {
    "n_regions": "regions (hub regions move with them)",
    "n_treated": "regions with a hub",
    "n_per_cell": "respondents per region-month",
    "effect": "assumed effect",
    "icc": "intra-region correlation (ICC)",
}


def _effect_text(d: Any) -> str:
    e = d.effect
    scale = effect_scale(d)
    if isinstance(e, DynamicEffect):
        prof = e.profile
        return (
            f"an effect building up to {prof[-1]:.4g} over {len(prof)} periods after opening "
            f"({scale})"
        )
    if isinstance(e, HeterogeneousEffect):
        return f"region effects averaging {e.mean:.4g} (SD {e.sd:.4g}; {scale})"
    if isinstance(e, ExternalEffect):
        return f"an effect supplied from outside ({e.source or 'external'})"
    return f"a constant effect of {float(e):.4g} from opening ({scale})"


def _design_text(d: Any) -> str:
    """One sentence on a regional design: regions, hubs, openings, closures, sample sizes."""
    if not hasattr(d, "facts"):
        return d.describe() if hasattr(d, "describe") else repr(d)
    f = d.facts()
    groups = ""
    if getattr(d, "staff_groups", None):
        pats = d.group_phasing or ((0,) * d.n_groups,)
        phased = sum(1 for p in pats if len({x for x in p if x is not None}) > 1)
        groups = (
            f", opening to {d.n_groups} staff groups ({', '.join(d.staff_groups)})"
            + (f" in phases in {phased} of {len(pats)} opening patterns" if phased else "")
        )
    opening = (
        f"in {d.period_unit} {f['first_opening']}"
        if f["first_opening"] == f["last_opening"]
        else f"in {d.period_unit}s {f['first_opening']}-{f['last_opening']}"
    )
    return (
        f"{f['n_regions']} regions, {f['n_with']} with a hub (opening {opening}"
        f"{groups}), {f['n_without']} without; "
        f"{f['n_closing']} hub{'s' if f['n_closing'] != 1 else ''} closing; {d.n_periods} "
        f"{d.period_unit}s; {f['n_region_median']:.0f} people measured per region-{d.period_unit} "
        f"(median)"
    )


def _curve_of(curves: pd.DataFrame, scenario: str, estimator: str, x: str) -> pd.DataFrame:
    if not len(curves):
        return curves
    g = curves[
        (curves["scenario"] == scenario) & (curves["estimator"] == estimator) & (curves["x"] == x)
    ]
    return g[g["series"].fillna("") == ""] if len(g) else g


def _no_test_reasons(result: StudyResult) -> list[str]:
    """Why some designs have no usable test, estimator by estimator."""
    diag = result.diagnosands
    out = []
    for est, g in diag.groupby("estimator", sort=False):
        bad = g[g["no_test_rate"].map(has_no_test)]
        if not len(bad):
            continue
        scen = ", ".join(bad["scenario"])
        if est == "synthetic_control":
            d = result.designs[bad["scenario"].iloc[0]]
            donors = d.facts()["n_units_never"] if hasattr(d, "facts") else 0
            units = (
                "units never treated: region x staff-group series, which share their "
                "region's shocks, so fewer independent donors than that"
                if getattr(d, "staff_groups", None)
                else "units never treated"
            )
            out.append(
                f"- **synthetic_control** ({scen}): its placebo-in-space p-value is a rank among "
                f"the treated unit and its {donors} donors ({units}), so it cannot "
                f"fall below 1/{donors + 1} = {1 / (donors + 1):.3f}; with fewer than "
                f"{math.ceil(1 / result.spec.alpha) - 1} donors no test at level "
                f"{result.spec.alpha:g} exists, and it never rejects."
            )
        else:
            out.append(
                f"- **{est}** ({scen}): no inference method held its size at the measured design "
                "nearest this one (see hubsim's inference table), or randomization inference had "
                f"too few distinct reassignments for a p-value below {result.spec.alpha:g}; the "
                "estimate is reported without a test."
            )
    return out


def key_findings(result: StudyResult) -> list[str]:
    """The report's opening block: per measured population, how many regions and
    respondents are needed, with which estimator, and why (Markdown lines)."""
    spec, designs, diag, curves = result.spec, result.designs, result.diagnosands, result.curves
    # recomputed from the diagnosands: the findings are a function of the frames alone
    recs = recommend(diag, spec.alpha)
    mde = result.mde
    a = spec.alpha
    L = ["## Key findings", ""]
    seen: dict[str, str] = {}
    for s, d in designs.items():
        pop = getattr(d, "population_kind", None)
        if pop and pop not in seen and s not in result.des:
            seen[pop] = s
    for pop, s in seen.items():
        d = designs[s]
        title = _POPULATION_TITLES.get(pop, pop)
        L += [f"### {title} (scenario `{s}`)", ""]
        L.append(f"- Design: {_design_text(d)}; {_effect_text(d)}.")
        best = recommended(recs, s)
        rs = recs[recs["scenario"] == s]
        if best:
            r = diag[(diag["scenario"] == s) & (diag["estimator"] == best)].iloc[0]
            others = [
                f"{x.estimator} ({x.reason})" if x.reason else f"{x.estimator} (less power)"
                for x in rs.itertuples()
                if x.estimator != best
            ]
            L.append(
                f"- Recommended estimator: **{best}**"
                + (f" with {r['inference']} inference" if r["inference"] else "")
                + f": bias {r['bias']:+.3g} (MCSE {r['bias_mcse']:.2g}), coverage "
                f"{r['coverage']:.3f} (MCSE {r['coverage_mcse']:.3f}), power "
                f"{r['power']:.2f} (MCSE {r['power_mcse']:.2f}) with the design as stated. "
                + ("Not chosen: " + "; ".join(others) + "." if others else "")
            )
        else:
            L.append(
                "- No estimator is both unbiased within 3 MCSE and covering at the nominal "
                "level here, so none is recommended: "
                + "; ".join(f"{x.estimator} {x.reason}" for x in rs.itertuples())
                + "."
            )
        if best:
            reg = _curve_of(curves, s, best, "n_regions")
            if len(reg):
                c = first_crossing(reg, 0.8)
                fixed = next((cv.fixed for cv in spec.curves if "n_regions" in cv.vary), {})
                clos = " (no closures on this curve)" if fixed.get("closures", "x") is None else ""
                if c.reached:
                    L.append(
                        f"- Regions: 80% power from **{c.x:.0f} regions**{clos} (power "
                        f"{c.power:.2f}, MCSE {c.power_mcse:.2f})."
                    )
                else:
                    L.append(
                        f"- Regions: 80% power is **not reached** with up to {c.max_x:.0f} "
                        f"regions{clos} (best {c.max_power:.2f}, MCSE {c.max_power_mcse:.2f})."
                    )
            resp = _curve_of(curves, s, best, "n_per_cell")
            if len(resp):
                c = first_crossing(resp, 0.8)
                n_now = float(d.facts()["n_region_median"]) if hasattr(d, "facts") else 200.0
                eff = float(d.effect) if isinstance(d.effect, int | float) else math.nan
                pl = plateau(resp, eff, a, n_at=n_now) if np.isfinite(eff) else None
                why = ""
                if pl is not None and np.isfinite(pl.share_at):
                    why = (
                        f" Power levels off near {pl.ceiling:.2f}: the estimate's variance is "
                        f"a + b/n with a = {pl.a:.3g} that no number of respondents removes "
                        f"(variation between regions over time: the AR(1) region shocks and "
                        f"their interaction with openings), {pl.share_at:.0%} of the variance "
                        f"at {pl.n_at:.0f} people per region-month."
                    )
                if c.reached:
                    L.append(
                        f"- Respondents: 80% power from **{c.x:.0f} people per region-month** "
                        f"(power {c.power:.2f}, MCSE {c.power_mcse:.2f}).{why}"
                    )
                else:
                    L.append(
                        f"- Respondents: 80% power is **not reached** even with {c.max_x:.0f} "
                        f"people per region-month (best {c.max_power:.2f}, MCSE "
                        f"{c.max_power_mcse:.2f}).{why}"
                    )
            untr = _curve_of(curves, s, best, "n_treated")
            if len(untr):
                pts = "; ".join(
                    f"{int(x.x_value)} hub regions ({d.n_regions - int(x.x_value)} without): "
                    f"{x.power:.2f} (MCSE {x.power_mcse:.2f})"
                    for x in untr.sort_values("x_value").itertuples()
                )
                L.append(f"- Untreated regions: power with {pts}.")
            m = mde[(mde["scenario"] == s) & (mde["estimator"] == best)] if len(mde) else mde
            if len(m) and np.isfinite(m["mde"].iloc[0]):
                mr = m.iloc[0]
                adj = (
                    f"; the test over-rejects a true null ({mr['null_rejection']:.3f}) so this "
                    "MDE is size-adjusted"
                    if bool(mr["size_adjusted"])
                    else ""
                )
                L.append(
                    f"- Minimum detectable effect at 80% power: **{mr['mde']:.3g}** (MCSE "
                    f"{mr['mde_mcse']:.2g}) {mr['scale']}{adj}."
                )
        L.append("")
    reasons = _no_test_reasons(result)
    if reasons:
        L += ["### Why some designs have no usable test", "", *reasons, ""]
    L += [
        "### The rule behind the recommendation",
        "",
        "Per scenario (hubsim.power.recommend_estimator), an estimator is usable when it "
        f"fails in at most 5% of simulations, reports a test at level {a:g} in most fits, "
        "its bias is within 3 MCSE of zero (against the estimand it declares) and its "
        f"intervals cover within 3 MCSE of {1 - a:.0%} without an oversized test of a true "
        "null; the usable estimator with the highest power is recommended (ties within one "
        "MCSE go to the smaller RMSE). Curves and MDEs marked 'recommended' use it. "
        "Inference within each estimator is chosen by hubsim's measured size-and-power "
        "table (`inference='auto'`).",
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
    L += [
        f"{n} simulations per design point ({size} size), seed {seed}, alpha {spec.alpha}; "
        f"hubsim {__version__}; {secs:.0f} s. Values are shown as estimate ± Monte-Carlo SE.",
        "",
    ]
    L += key_findings(result)
    if spec.description:
        L += ["## The study", "", spec.description.strip(), ""]
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
        null_rejection=[
            _pm(v, m, 3) for v, m in zip(diag["null_rejection"], diag["null_rejection_mcse"], strict=True)
        ],
    )[
        [
            "scenario",
            "estimator",
            "inference",
            "estimand",
            "bias",
            "rmse",
            "power",
            "coverage",
            "null_rejection",
            "failures",
        ]
    ]
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
        if bool(r["oversized"]):
            flags.append(
                f"- {r['estimator']} over-rejects a true null in *{r['scenario']}*: "
                f"{r['null_rejection']:.3f} (MCSE {r['null_rejection_mcse']:.3f}) against "
                f"{spec.alpha:g}; its p-values and intervals cannot be trusted there."
            )
    L += [
        "## Warnings (bias beyond 3 MCSE, coverage below nominal by more than 3 MCSE, "
        "oversized tests)",
        "",
    ]
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
                m[
                    [
                        "scenario",
                        "estimator",
                        "target_power",
                        "mde",
                        "scale",
                        "size_adjusted",
                        "normal_approximation",
                        "note",
                    ]
                ]
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



def plot_curves(
    curves: pd.DataFrame,
    spec: StudySpec,
    folder: Path,
    designs: dict[str, Any] | None = None,
) -> list[str]:
    """One figure per power curve (``power_<curve>.png`` in ``folder``, +-2 MCSE bands).

    Axes carry their units (effects on the design's scale), the 80% power and the alpha
    lines are in the legend, and titles wrap rather than being cut.
    """
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    for name, cd in curves.groupby("curve", sort=False):
        scen = list(dict.fromkeys(cd["scenario"]))
        ncol = min(len(scen), 3)
        nrow = math.ceil(len(scen) / ncol)
        fig, axes = plt.subplots(
            nrow,
            ncol,
            figsize=(4.6 * ncol, 3.9 * nrow + 0.6),
            squeeze=False,
            sharey=True,
            layout="constrained",
        )
        for ax in axes.ravel()[len(scen) :]:
            ax.set_visible(False)
        for ax, s in zip(axes.ravel(), scen, strict=False):
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
            ax.axhline(0.8, color="grey", ls="--", lw=0.8, label="80% power")
            ax.axhline(spec.alpha, color="grey", ls=":", lw=0.8, label=f"alpha = {spec.alpha:g}")
            ax.set_title("\n".join(textwrap.wrap(s, 40)), fontsize=9)
            xname = str(sd["x"].iloc[0])
            xlabel = _X_LABELS.get(xname, xname)
            cspec = next((c for c in spec.curves if c.name == name), None)
            if cspec is not None and cspec.paired and len(cspec.vary) > 1:
                moved = [k for k in cspec.vary if k != xname]
                xlabel = f"{xname.replace('_', ' ')} (with " + ", ".join(
                    f"{k.replace('_', ' ')} {'/'.join(str(v) for v in cspec.vary[k])}" for k in moved
                ) + ")"
            if xname == "effect" and designs is not None and s in designs:
                xlabel += f" ({effect_scale(designs[s])})"
            ax.set_xlabel("\n".join(textwrap.wrap(xlabel, 45)), fontsize=8)
            ax.set_ylim(-0.02, 1.02)
            ax.legend(fontsize=7, loc="best")
        for row in axes:
            row[0].set_ylabel("power (share rejecting no effect;\nband: +-2 MCSE)", fontsize=8)
        title = f"{spec.title or spec.name} - curve '{name}'"
        fig.suptitle("\n".join(textwrap.wrap(title, 30 * ncol + 20)), fontsize=10)
        fn = f"power_{name}.png"
        fig.savefig(folder / fn, dpi=110, bbox_inches="tight")
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

