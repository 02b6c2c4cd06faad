"""The *Evaluation* page: power, bias and coverage of a hub vs no-hub regional evaluation.

Widgets over :class:`hubsim.regional.RegionalDesign`, :func:`hubsim.power.diagnose`,
:func:`hubsim.power.recommend_estimator` and, for an effect taken from the hub just
simulated on the planner page, :func:`hubsim.evaluation.effect_from_des`. The diagnosis
runs in the background (:mod:`hubsim.app.jobs`) and is cached by its settings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st
from pydantic import ValidationError

from hubsim.app.planner import board, follow, workers
from hubsim.errors import HubsimError
from hubsim.evaluation import effect_from_des
from hubsim.power import ESTIMATORS, diagnose, recommend_estimator
from hubsim.regional import RegionalDesign
from hubsim.report.planner import figure_png, plot_diagnosands

POPULATIONS = {
    "staff_survey": "a repeated survey of all in-scope staff",
    "help_seeker_cohort": "a cohort of staff who seek help",
    "service_waits": "service waits of help-seekers",
}
DEFAULT_ESTIMATORS = ["twfe_cr1", "twfe_wild", "callaway_santanna", "its"]
SHOWN = ("power", "bias", "coverage", "rmse", "mean_estimate", "mean_estimand", "failure_rate")


def parse_schedule(text: str, n_periods: int) -> tuple[int, ...]:
    """Adoption periods from text such as ``"5, 11, 14, 20"`` (ValueError with a sentence)."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        out = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(
            f"adoption schedule: expected whole periods separated by commas, got {text!r}."
        ) from None
    if not out:
        raise ValueError("adoption schedule: expected at least one adoption period.")
    bad = [p for p in out if not 2 <= p <= n_periods]
    if bad:
        raise ValueError(
            f"adoption schedule: period {bad[0]} is outside 2..{n_periods} (period 1 leaves no "
            "before-period)."
        )
    return out


def _design(n_regions, n_treated, n_periods, schedule, population, icc, effect) -> RegionalDesign:
    return RegionalDesign(
        n_regions=n_regions,
        n_treated=n_treated,
        n_periods=n_periods,
        schedule=schedule,
        population_kind=population,
        icc=icc,
        effect=effect,
    )


def _run(job, design: RegionalDesign, des_request, estimators, n_sims, seed):
    des = None
    if des_request is not None:
        hub, population, horizon, reps = des_request
        job.report(0, 2, "the hub's effect from paired DES runs (hub vs usual care)")
        des = effect_from_des(
            hub,
            population=population,
            horizon_days=horizon,
            replications=reps,
            seed=seed,
            workers=workers(),
        )
        design = des.apply_to(design)
    job.report(1, 2, f"diagnosis: {n_sims} simulated evaluations x {len(estimators)} estimators")
    res = diagnose(design, list(estimators), n_sims=n_sims, seed=seed, workers=workers())
    job.report(2, 2, "done")
    return {
        "diagnosis": res,
        "des": des,
        "design": design,
        "figure": figure_png(plot_diagnosands(res.diagnosands, res.alpha)),
        "recommendation": recommend_estimator(res),
        "seconds": job.seconds,
    }


def render() -> None:
    st.title("Evaluation: hub vs no-hub regions")
    st.markdown(
        "How well would a naturalistic evaluation comparing regions with a hub to regions "
        "without one detect the hub's effect? Each estimator is applied to many simulated "
        "evaluations of the design; power, bias and CI coverage come with their Monte-Carlo "
        "standard errors (MCSE)."
    )
    c1, c2, c3 = st.columns(3)
    n_regions = int(c1.number_input("Regions", 3, 200, 42, key="eval.regions"))
    n_treated = int(
        c2.number_input(
            "Regions with a hub",
            1,
            200,
            min(40, n_regions),
            key="eval.treated",
            help="Few or no untreated regions is the realistic case (hubs opened in most of England).",
        )
    )
    n_periods = int(c3.number_input("Months observed", 4, 120, 36, key="eval.periods"))
    schedule_text = c1.text_input(
        "Adoption schedule (months hubs open, recycled over hub regions)",
        "5, 11, 14, 20",
        key="eval.schedule",
    )
    population = c2.selectbox(
        "Measured population", list(POPULATIONS), format_func=POPULATIONS.get, key="eval.population"
    )
    icc = c3.number_input(
        "Intra-region correlation (ICC)", 0.0, 0.5, 0.02, 0.005, format="%.3f", key="eval.icc"
    )
    source = st.radio(
        "Effect",
        ["assumed", "from the hub just simulated"],
        horizontal=True,
        key="eval.effect_source",
    )
    hub = st.session_state.get("planner.scenario")
    des_request = None
    effect = 0.0
    if source == "assumed":
        effect = float(
            st.number_input(
                "Effect on exposed region-months (standardised mean difference for continuous outcomes)",
                -2.0,
                2.0,
                0.1,
                0.01,
                key="eval.effect",
            )
        )
    elif hub is None:
        st.warning("Run a hub on the *Plan a hub* page first (or use an assumed effect).")
        return
    else:
        d1, d2 = st.columns(2)
        horizon = int(
            d1.number_input("DES days from opening", 240, 1461, 365, 1, key="eval.des_days")
        )
        reps = int(d2.number_input("DES paired replications", 2, 50, 4, key="eval.des_reps"))
        des_request = (hub, population, float(horizon), reps)
        st.caption(
            f"Effect of {hub.name} against usual care, derived from paired DES runs "
            "(hubsim.evaluation.effect_from_des)."
        )
    names = list(ESTIMATORS)
    estimators = st.multiselect(
        "Estimators",
        names,
        default=[e for e in DEFAULT_ESTIMATORS if e in names],
        key="eval.estimators",
    )
    e1, e2 = st.columns(2)
    n_sims = int(e1.number_input("Simulated evaluations", 20, 2000, 100, 10, key="eval.n_sims"))
    seed = int(e2.number_input("Seed", 0, 2**31 - 1, 1, key="eval.seed"))
    if n_treated > n_regions:
        st.error(
            f"Regions with a hub: expected at most the number of regions ({n_regions}), got {n_treated}."
        )
        return
    if not estimators:
        st.error("Estimators: expected at least one.")
        return
    try:
        schedule = parse_schedule(schedule_text, n_periods)
        design = _design(n_regions, n_treated, n_periods, schedule, population, icc, effect)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            st.error(f"design: {err['msg'].removeprefix('Value error, ')}")
        return
    except (ValueError, HubsimError) as exc:
        st.error(str(exc))
        return
    untreated = n_regions - n_treated
    st.caption(
        f"{n_treated} regions with a hub, {untreated} without "
        f"({'none untreated: only not-yet-treated regions compare' if untreated == 0 else 'untreated comparison regions'})."
    )
    b = board()
    hub_key = None if des_request is None else (des_request[0].content_hash, *des_request[1:])
    key = ("evaluation", design.model_dump_json(), hub_key, tuple(estimators), n_sims, seed)
    pressed = st.button("Run the diagnosis", type="primary", key="eval.run")
    done = b.cached(key)
    job = b.job(key)
    if pressed and done is None:
        job = b.submit(key, lambda j: _run(j, design, des_request, estimators, n_sims, seed))
    if done is None and job is not None and job.status == "running":
        follow(job)
        return
    if done is None and job is not None and job.status == "failed":
        st.error(job.error or "the diagnosis failed.")
        return
    if done is None:
        st.info("Press **Run the diagnosis**.")
        return
    res, rec = done["diagnosis"], done["recommendation"]
    if rec.estimator:
        st.success(f"Recommended estimator: **{rec.estimator}**. {rec.reason}")
    else:
        st.warning(rec.reason)
    st.caption(f"Rule: {rec.rule}")
    d = res.diagnosands
    table = pd.DataFrame({"estimator": d["estimator"]})
    for col in SHOWN:
        table[col] = [
            f"{v:.3f} ± {m:.3f}" if np.isfinite(m) else f"{v:.3f}"
            for v, m in zip(d[col], d[f"{col}_mcse"], strict=True)
        ]
    st.markdown(
        f"**Diagnosands** ({res.n_sims} simulated evaluations, seed {res.seed}, alpha "
        f"{res.alpha}; value ± MCSE; computed in {done['seconds']:.1f} s)"
    )
    st.table(table.set_index("estimator"))
    st.image(
        done["figure"],
        caption="Power, coverage and bias by estimator, with bars of "
        "2 Monte-Carlo standard errors.",
        width="stretch",
    )
    if done["des"] is not None:
        with st.expander("The DES-derived effect"):
            st.text(done["des"].summary())
    st.download_button(
        "Diagnosands (CSV)",
        res.tidy().to_csv(index=False),
        file_name="diagnosands.csv",
        mime="text/csv",
        key="eval.download",
    )
