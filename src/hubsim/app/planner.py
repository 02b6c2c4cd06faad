"""The *Plan a hub* page: pick a hub, pull its levers, run against the unchanged hub.

Widgets only: the levers become a configuration through
:func:`hubsim.config.levers.apply_levers`, costs come from :mod:`hubsim.economics`, the run
is :func:`hubsim.app.compute.run_planner` in the background, and downloads use
:func:`hubsim.config.config_yaml`. Bad input is a message on the page, never a traceback.
"""

from __future__ import annotations

import datetime as dt
import os
import re

import pandas as pd
import streamlit as st

import hubsim
from hubsim.app.compute import (
    DEFAULT_TARGET,
    PRECISION_LABELS,
    RunSettings,
    baseline_job,
    replication_target,
    run_key,
    start_planner,
)
from hubsim.app.jobs import Job, JobBoard
from hubsim.config import load_config_text
from hubsim.config.levers import MAX_ROLE_WTE, Levers, Surge, apply_levers, lever_changes
from hubsim.config.loader import MAX_YAML_BYTES
from hubsim.economics import role_annual_cost
from hubsim.errors import HubsimError
from hubsim.experiment import describe_target
from hubsim.experiment.run import run_window
from hubsim.report.planner import kpi_text

SITES = {"Site A": "site_a", "Site B": "site_b", "Site C": "site_c", "Site D": "site_d"}
UPLOAD = "Upload a YAML file"
POLL_SECONDS = 0.25
#: the figures, in the order of the tabs: (key, tab title, caption)
FIGURES = (
    (
        "waits",
        "Waits",
        "Kaplan-Meier curves of the waits from referral to the first and second "
        "treatment appointment (clients referred in the window, replications pooled; clients "
        "still waiting at the end are censored, not dropped). Dotted lines: 6 and 18 weeks.",
    ),
    (
        "waiting_lists",
        "Waiting lists",
        "Clients waiting on each step's list by week: median "
        "and 10-90% band across replications. The dashed line is the start of the KPI window.",
    ),
    (
        "utilisation",
        "Utilisation",
        "Booked clinical hours over rostered clinical hours by role: "
        "means over replications with 95% t intervals.",
    ),
    (
        "costs",
        "Costs",
        "Direct staff cost (attended appointments at Agenda-for-Change hourly "
        "costs) per client seen and per recovery: means with 95% t intervals.",
    ),
)


@st.cache_resource
def board() -> JobBoard:
    """The server's job board (one for every session)."""
    return JobBoard()


@st.cache_resource
def shipped(name: str) -> hubsim.ServiceConfig:
    return hubsim.load_config(name)


def scenario_name(base: hubsim.ServiceConfig) -> str:
    """The changed hub's name (its random streams are the unchanged hub's all the same:
    :func:`hubsim.simulate` keys them by seed and replication, not by name)."""
    return f"{base.name}_planner"


def workers() -> int:
    env = os.environ.get("HUBSIM_APP_WORKERS")
    if env and env.isdigit() and int(env) >= 1:
        return int(env)
    return max(1, min(2, os.cpu_count() or 1))


def show_problems(problems: list[str], text: str | None = None) -> None:
    """Each sentence as an error; with the uploaded text, the offending line under it."""
    lines = text.splitlines() if text is not None else []
    for p in problems:
        st.error(p)
        m = re.search(r", line (\d+):", p)
        if m and lines:
            n = int(m.group(1))
            if 1 <= n <= len(lines):
                st.code(f"{n:>4} | {lines[n - 1]}", language="yaml")


@st.fragment(run_every=POLL_SECONDS)
def follow(job: Job, steps: bool = False) -> None:
    """The running job's progress bar, redrawn on its own every :data:`POLL_SECONDS` (a
    fragment: the rest of the page is neither rerun nor redrawn while the job runs, so the
    server and the browser leave the cores to the simulation); when the job ends, the
    whole page reruns to show what it found."""
    if job.status != "running":
        st.rerun()
    frac, stage = job.progress()
    count = f"{job.done} of {job.total} steps, " if steps else ""
    st.progress(frac, text=f"Running: {stage} ({count}{job.seconds:.0f} s)")


# ---------------------------------------------------------------------------- the hub
def pick_hub() -> tuple[hubsim.ServiceConfig | None, str | None]:
    """(configuration, shipped name or None for an upload) from the sidebar."""
    choice = st.sidebar.selectbox("Hub", [*SITES, UPLOAD], index=3, key="hub")
    if choice != UPLOAD:
        return shipped(SITES[choice]), SITES[choice]
    up = st.sidebar.file_uploader(
        "Configuration (YAML; may start with extends: site_d)", type=["yaml", "yml"], key="upload"
    )
    if up is None:
        st.info("Upload a hub configuration (YAML) in the sidebar, or pick one of Sites A-D.")
        return None, None
    raw = up.getvalue()
    if len(raw) > MAX_YAML_BYTES:
        st.error(
            f"{up.name}: {len(raw):,} bytes; expected a YAML file of at most {MAX_YAML_BYTES:,} bytes."
        )
        return None, None
    try:
        return load_config_text(raw, up.name), None
    except HubsimError as exc:
        st.error(f"{up.name} is not a valid hub configuration:")
        show_problems(list(getattr(exc, "problems", [str(exc)])), raw.decode("utf-8", "replace"))
        return None, None


def run_settings(cfg: hubsim.ServiceConfig, prefix: str) -> RunSettings | None:
    """The window, replications and seed from the sidebar (None with a message when bad)."""
    p = cfg.simulation.period
    # hubsim run's default window (the configuration's, else the first year with every
    # staff group referring), so the page and the command line start from the same numbers
    full = run_window(cfg, "the hub's configuration")
    default_start, default_end = full.start, full.end
    st.sidebar.markdown("**Run**")
    window = st.sidebar.date_input(
        "KPI window (referrals from, to)",
        value=(default_start, default_end),
        min_value=p.start,
        max_value=p.end,
        key=f"{prefix}.window",
        help="Days before the window are simulated as a warm-up; the simulation stops at its end.",
    )
    how = st.sidebar.radio(
        "Replications",
        ["replications algorithm", "fixed number"],
        key="replications.how",
        help="Paired replications of both hubs (common random numbers). The replications "
        "algorithm (Hoad, Robinson & Davies 2010) runs the unchanged hub until the stated "
        "precision holds.",
    )
    if how == "fixed number":
        reps = int(st.sidebar.slider("replications", 2, 50, 10, 1, key="replications"))
    else:
        pct = st.sidebar.slider(
            "precision: 95% CI half-width, % of the mean median wait to first treatment",
            2,
            25,
            round(100 * DEFAULT_TARGET.relative_half_width),
            1,
            key="replications.precision",
        )
        reps = replication_target(pct / 100)
        st.sidebar.caption(describe_target(reps, PRECISION_LABELS))
    seed = st.sidebar.number_input(
        "Seed", min_value=0, max_value=2**31 - 1, value=1, step=1, key="seed"
    )
    if not (isinstance(window, tuple | list) and len(window) == 2):
        st.sidebar.warning("Pick the window's end date too.")
        return None
    start, end = window
    try:
        s = RunSettings(start, end, reps, int(seed), workers())
        s.days(cfg)
    except ValueError as exc:
        st.sidebar.error(str(exc))
        return None
    return s


# ---------------------------------------------------------------------------- levers
def lever_widgets(cfg: hubsim.ServiceConfig, prefix: str) -> Levers:
    econ = cfg.simulation.economics
    wte: dict[str, float] = {}
    clin: dict[str, float] = {}
    caps: dict[str, int] = {}
    with st.expander("Staffing: WTE by role and band, job plans, caseload caps", expanded=True):
        total_old = total_new = 0.0
        for r in cfg.service.workforce.roles:
            c1, c2, c3, c4 = st.columns([3, 2, 2, 2])
            c1.markdown(f"**{r.label}**  \nband {r.band_range}")
            top = min(MAX_ROLE_WTE, max(10.0, 3 * float(r.wte)))
            wte[r.id] = c2.slider(
                "WTE",
                min_value=0.0,
                max_value=top,
                value=float(r.wte),
                step=0.05,
                format="%.2f",
                key=f"{prefix}.wte.{r.id}",
            )
            old, new = role_annual_cost(r, econ), role_annual_cost(r, econ, wte[r.id])
            total_old += old
            total_new += new
            c2.caption(
                f"£{new:,.0f} a year" + (f" (was £{old:,.0f})" if abs(new - old) > 0.5 else "")
            )
            if r.job_plan.direct_clinical > 0 or r.caseload_per_wte is not None:
                room = round(1.0 - r.job_plan.leave, 4)
                clin[r.id] = c3.slider(
                    "clinical share",
                    min_value=0.0,
                    max_value=room,
                    value=float(r.job_plan.direct_clinical),
                    step=0.01,
                    key=f"{prefix}.clinical.{r.id}",
                    help="Direct clinical share of contracted hours; the other non-leave shares "
                    "are rescaled so the job plan still sums to one.",
                )
            if r.caseload_per_wte is not None:
                caps[r.id] = int(
                    c4.number_input(
                        "caseload cap per WTE",
                        min_value=1,
                        max_value=500,
                        value=int(r.caseload_per_wte),
                        step=1,
                        key=f"{prefix}.caseload.{r.id}",
                    )
                )
        st.markdown(
            f"Staff cost a year (Agenda-for-Change 2021/22 midpoints with on-costs, 1,600 "
            f"working hours a WTE): **£{total_new:,.0f}**"
            + (
                f" (unchanged hub £{total_old:,.0f}; {total_new - total_old:+,.0f})"
                if abs(total_new - total_old) > 0.5
                else ""
            )
        )
    iv = cfg.interventions
    with st.expander("Care pathway", expanded=True):
        c1, c2, c3 = st.columns(3)
        care = c1.radio(
            "Care model",
            ["stepped", "reversed_stepped"],
            index=["stepped", "reversed_stepped"].index(iv.care_model.kind),
            format_func=lambda x: x.replace("_", "-"),
            key=f"{prefix}.care_model",
        )
        models = ["two_stage", "in_depth"]
        assess = c2.radio(
            "Assessment model",
            models,
            index=models.index(iv.assessment.model),
            format_func=lambda x: {"two_stage": "two-stage", "in_depth": "in-depth"}[x],
            key=f"{prefix}.assessment",
        )
        onward = c3.slider(
            "Onward-referral share",
            0.0,
            1.0,
            float(iv.onward_referral.p_onward),
            0.05,
            key=f"{prefix}.onward",
            help="Share of assessed clients referred on to external services.",
        )
    sim = cfg.simulation
    with st.expander("Demand", expanded=True):
        c1, c2, c3 = st.columns(3)
        mult = c1.slider(
            "Demand multiplier",
            0.0,
            3.0,
            float(sim.demand.multiplier),
            0.05,
            key=f"{prefix}.demand",
        )
        surge_on = c2.checkbox("Incident surge", value=False, key=f"{prefix}.surge.on")
        surge = None
        if surge_on:
            start = c2.date_input(
                "surge from",
                value=min(sim.period.end, sim.period.start + dt.timedelta(days=120)),
                min_value=sim.period.start,
                max_value=sim.period.end,
                key=f"{prefix}.surge.start",
            )
            weeks = c2.number_input("for weeks", 1, 104, 6, key=f"{prefix}.surge.weeks")
            size = c2.slider("referrals x", 1.1, 5.0, 2.0, 0.1, key=f"{prefix}.surge.size")
            surge = Surge(start, float(weeks), float(size))
        current = sim.initial_waiting_list
        n0 = sum((current.counts or {}).values()) if current is not None and current.counts else 0
        waiting = c3.number_input(
            "Initial waiting list (clients)", 0, 5000, int(n0), 10, key=f"{prefix}.initial"
        )
        waited = c3.number_input(
            "... who have waited (mean days)", 1.0, 365.0, 30.0, 1.0, key=f"{prefix}.initial.days"
        )
    return Levers(
        wte=wte,
        clinical_share=clin,
        caseload_per_wte=caps,
        care_model=care,
        assessment_model=assess,
        p_onward=onward,
        demand_multiplier=mult,
        surge=surge,
        initial_waiting=int(waiting) if (waiting or n0) else None,
        initial_waited_days=float(waited),
    )


# ---------------------------------------------------------------------------- results
def _fmt_cell(value: float, unit: str, signed: bool = False) -> str:
    if pd.isna(value):
        return "n/a"
    if unit == "share":
        return f"{100 * value:+.1f} pp" if signed else f"{100 * value:.1f}%"
    if unit == "GBP":
        return f"{'+' if signed and value >= 0 else ''}{'-' if value < 0 else ''}£{abs(value):,.0f}"
    return f"{value:+.1f}" if signed else f"{value:.1f}"


def difference_table(diff: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for _, r in diff.iterrows():
        label, unit = kpi_text(r["kpi"])
        rows.append(
            {
                "measure": label[0].upper() + label[1:] + (" (days)" if unit == "days" else ""),
                "unchanged hub": _fmt_cell(r["baseline_mean"], unit),
                "scenario": _fmt_cell(r["scenario_mean"], unit),
                "difference": _fmt_cell(r["mean_difference"], unit, True),
                "95% CI": f"{_fmt_cell(r['ci_low'], unit, True)} to {_fmt_cell(r['ci_high'], unit, True)}",
                "replications": int(r["n_replications"]),
            }
        )
    return pd.DataFrame(rows)


def show_results(
    run,
    base: hubsim.ServiceConfig,
    scenario: hubsim.ServiceConfig,
    shipped_name: str | None,
    stale: bool,
) -> None:
    s = run.settings
    st.subheader("Results")
    if stale:
        st.warning("The settings have changed since this run: press **Run** to see them.")
    st.caption(
        f"{base.name}: referrals {s.start} to {s.end}, {run.replications} paired replications"
        f"{'' if run.precision is not None else ' (fixed)'} on common random numbers, seed "
        f"{s.seed}; computed in {run.seconds:.1f} s."
    )
    if run.precision is not None:
        st.caption(
            f"Replications: {s.describe()}; {run.precision.describe()}, for the unchanged hub "
            "(the scenario runs as many, paired)."
        )
    heads = [
        k
        for k in (
            "wait_to_first_treatment_median_days",
            "wait_to_second_treatment_median_days",
            "wait_to_first_treatment_within_18w_share",
        )
        if k in run.captions
    ]
    if not run.change:
        st.info("The scenario is the unchanged hub: change a lever to compare.")
    for k in heads:
        st.markdown(f"- {run.captions[k]}")
    st.markdown(
        "**Paired differences from the unchanged hub** (scenario minus unchanged, "
        "95% paired t intervals over replications)"
    )
    st.table(difference_table(run.differences).set_index("measure"))
    with st.expander("Every sentence"):
        for text in run.captions.values():
            st.markdown(f"- {text}")
    tabs = st.tabs([t for _, t, _ in FIGURES])
    for tab, (key, title, cap) in zip(tabs, FIGURES, strict=True):
        with tab:
            st.image(run.figures[key], caption=cap, width="stretch")
            st.download_button(
                f"Download the {title.lower()} figure (PNG)",
                run.figures[key],
                file_name=f"{key}.png",
                mime="image/png",
                key=f"download.{key}",
            )
    st.markdown("**Downloads**")
    c1, c2, c3, c4 = st.columns(4)
    # what the buttons hand over (made once, with the run), kept for the session
    d = st.session_state["planner.downloads"] = run.downloads
    yaml_text = d["yaml"]
    c1.download_button(
        "Scenario (YAML)",
        yaml_text,
        file_name=f"{run.scenario.meta['config_name']}.yaml",
        mime="application/x-yaml",
        key="download.yaml",
        help="A delta on the shipped site (extends:) that hubsim run accepts."
        if shipped_name
        else "The whole configuration (hubsim run accepts it).",
    )
    for col, (label, data, file_name, mime, key) in zip(
        (c2, c3, c4),
        (
            ("Differences (CSV)", d["csv"], "paired_differences.csv", "text/csv", "csv"),
            (
                "KPIs per replication (CSV)",
                d["kpis_csv"],
                "kpis_per_replication.csv",
                "text/csv",
                "kpis",
            ),
            (
                "KPIs per replication (Parquet)",
                d["parquet"],
                "kpis_per_replication.parquet",
                "application/vnd.apache.parquet",
                "parquet",
            ),
        ),
        strict=True,
    ):
        col.download_button(label, data, file_name=file_name, mime=mime, key=f"download.{key}")


def render() -> None:
    st.title("Plan a hub")
    st.markdown(
        "Change a hub's staffing, care pathway or demand and compare it with the unchanged hub: "
        "both are simulated with the same clients (common random numbers), so the differences "
        "and their 95% intervals are the change's own."
    )
    base, shipped_name = pick_hub()
    if base is None:
        return
    prefix = shipped_name or f"upload.{base.content_hash[:8]}"
    settings = run_settings(base, prefix)
    levers = lever_widgets(base, prefix)
    try:
        changed = bool(lever_changes(base, levers))
        scenario = apply_levers(base, levers, name=scenario_name(base)) if changed else base
    except HubsimError as exc:
        st.error("These settings do not make a valid hub:")
        show_problems(list(getattr(exc, "problems", [str(exc)])))
        scenario = None
    st.session_state["planner.base"] = base
    st.session_state["planner.scenario"] = scenario
    if settings is None or scenario is None:
        return
    b = board()
    # the unchanged hub starts running in the background now; a run this session started
    # for settings it has left is cancelled, so it does not hold the cores
    pre = baseline_job(b, base, settings)
    prev = st.session_state.get("planner.prefetch")
    if prev is not None and prev is not pre and prev.status == "running":
        prev.cancel.set()
    st.session_state["planner.prefetch"] = pre
    key = run_key(base, scenario, settings)
    pressed = st.button("Run", type="primary", key="run")
    done = b.cached(key)
    job = b.job(key)
    if pressed and done is None:
        job = start_planner(b, base, scenario, settings, shipped_name)
    if done is None and job is not None and job.status == "running":
        follow(job, steps=True)
        return
    if job is not None and job.status == "failed" and done is None:
        st.error(job.error or "the run failed.")
        return
    if done is not None:
        st.session_state["planner.last"] = key
        show_results(done, base, scenario, shipped_name, stale=False)
        return
    last = st.session_state.get("planner.last")
    prev = b.cached(last) if last is not None else None
    if prev is not None and last[1][0] == base.content_hash:
        show_results(prev, base, scenario, shipped_name, stale=True)
    else:
        st.info("Press **Run** to simulate the hub as set and the unchanged hub.")
