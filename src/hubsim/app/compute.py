"""What the planner page runs: the unchanged hub and the scenario on common random numbers.

Every number here comes from the public API: :func:`hubsim.experiment.simulate_in_steps`
(the runs, with progress), :func:`hubsim.report.planner.compare_results` (paired
differences), :func:`~hubsim.report.planner.caption` (the sentences) and the figure
functions of :mod:`hubsim.report.planner`. Simulation results are cached on the board by
``(content hash, horizon, warm-up, replications, seed)``, so the unchanged hub is run once
for every scenario compared with it.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass, field

import pandas as pd

from hubsim.app.jobs import Job, JobBoard
from hubsim.config import ServiceConfig, config_yaml
from hubsim.des import SimulationResult
from hubsim.experiment import (
    Precision,
    ReplicationTarget,
    describe_target,
    simulate_in_steps,
    simulate_to_precision,
)
from hubsim.report import planner as rp

BASELINE, SCENARIO = "unchanged", "scenario"
#: the KPI whose precision the replications algorithm targets (the headline wait)
PRECISION_KPI = "wait_to_first_treatment_median_days"
PRECISION_LABELS = {PRECISION_KPI: "median wait to first treatment"}


def replication_target(relative_half_width: float = 0.10) -> ReplicationTarget:
    """The app's replications target: the 95% CI of the mean median wait to first
    treatment within ``relative_half_width`` of it (10% by default), from 5 replications
    with HRD's look-ahead of 5, at most 40 (an interactive bound; ``hubsim experiment``
    allows 100)."""
    return ReplicationTarget(
        kpis=[PRECISION_KPI], relative_half_width=relative_half_width, max=40
    )


DEFAULT_TARGET = replication_target()


@dataclass(frozen=True)
class RunSettings:
    """The run's window (dates), replications, seed and worker processes."""

    start: dt.date
    end: dt.date
    replications: int | ReplicationTarget
    seed: int
    workers: int = 1

    def days(self, config: ServiceConfig) -> tuple[float, float]:
        """(warm-up days, horizon days) from the configuration's period start: the KPIs
        cover referrals from ``start`` (the days before are simulated as a warm-up) to
        ``end`` inclusive."""
        p = config.simulation.period
        if not (p.start <= self.start < self.end <= p.end):
            raise ValueError(
                f"window: expected dates inside the hub's period {p.start} to {p.end} with the "
                f"start before the end, got {self.start} to {self.end}."
            )
        return float((self.start - p.start).days), float((self.end - p.start).days + 1)

    def key(
        self, config: ServiceConfig, replications: int | ReplicationTarget | None = None
    ) -> tuple:
        warm, horizon = self.days(config)
        reps = self.replications if replications is None else replications
        if isinstance(reps, ReplicationTarget):  # a pydantic model with a list: by value
            reps = reps.model_dump_json()
        return (config.content_hash, horizon, warm, reps, int(self.seed))

    def describe(self) -> str:
        r = self.replications
        if isinstance(r, ReplicationTarget):
            return describe_target(r, PRECISION_LABELS)
        return f"{r} replications (fixed)"


@dataclass(frozen=True)
class PlannerRun:
    """A finished comparison: both results, the paired differences, captions and figures."""

    baseline: SimulationResult
    scenario: SimulationResult
    long: pd.DataFrame
    differences: pd.DataFrame
    change: str
    captions: dict[str, str]
    figures: dict[str, bytes] = field(repr=False)
    settings: RunSettings
    seconds: float
    replications: int
    precision: Precision | None
    downloads: dict[str, str | bytes] = field(repr=False, default_factory=dict)


def run_key(base: ServiceConfig, scenario: ServiceConfig, settings: RunSettings) -> tuple:
    return ("planner", settings.key(base), settings.key(scenario))


def _simulate(
    board: JobBoard,
    job: Job,
    config: ServiceConfig,
    settings: RunSettings,
    n: int,
    stage: str,
    offset: int,
    total: int,
) -> SimulationResult:
    key = ("simulation", *settings.key(config, n))
    hit = board.cached(key)
    if hit is not None:
        job.report(offset + n, total, stage)
        return hit
    warm, horizon = settings.days(config)
    res = simulate_in_steps(
        config,
        horizon_days=horizon,
        warmup_days=warm,
        seed=settings.seed,
        replications=n,
        workers=settings.workers,
        progress=lambda done, _n: job.report(offset + done, total, stage),
        cancel=job.cancel,
    )
    return board.put(key, res)


def _baseline_run(
    board: JobBoard, job: Job, config: ServiceConfig, settings: RunSettings
) -> tuple[SimulationResult, int, Precision | None]:
    target = settings.replications
    if not isinstance(target, ReplicationTarget):
        n = int(target)
        res = _simulate(board, job, config, settings, n, f"unchanged {config.name}", 0, n)
        return res, n, None
    warm, horizon = settings.days(config)
    res, precision = simulate_to_precision(
        config,
        target,
        horizon_days=horizon,
        warmup_days=warm,
        seed=settings.seed,
        workers=settings.workers,
        progress=lambda done, mx: job.report(
            done, mx, f"unchanged {config.name} (replications algorithm)"
        ),
        cancel=job.cancel,
    )
    n = precision.n_used
    board.put(("simulation", *settings.key(config, n)), res)
    return res, n, precision


def baseline_job(board: JobBoard, config: ServiceConfig, settings: RunSettings) -> Job | None:
    """The background run of the unchanged hub (None when its result is cached): the page
    starts it as soon as the hub and settings are known, so pressing Run waits only for
    the scenario."""
    key = ("baseline", *settings.key(config))
    if board.cached(key) is not None:
        return None
    return board.submit(key, lambda j: _baseline_run(board, j, config, settings))


def _baseline(
    board: JobBoard, job: Job, config: ServiceConfig, settings: RunSettings
) -> tuple[SimulationResult, int, Precision | None]:
    """The unchanged hub: a fixed number of replications, or as many as the replications
    algorithm asks for; shared with (and waiting for) a run the page started already."""
    key = ("baseline", *settings.key(config))
    bj = baseline_job(board, config, settings)
    while bj is not None and not bj.wait(0.2):
        frac, stage = bj.progress()
        job.report(round(100 * frac), 200, stage)
    if bj is not None and bj.status == "failed":
        raise ValueError(bj.error or "the run of the unchanged hub failed.")
    return board.cached(key)


def run_planner(
    board: JobBoard,
    job: Job,
    base: ServiceConfig,
    scenario: ServiceConfig,
    settings: RunSettings,
    shipped_name: str | None = None,
) -> PlannerRun:
    """Run (or take from the cache) both configurations and build everything shown."""
    a, n, precision = _baseline(board, job, base, settings)
    total = 2 * n + 1
    job.report(n, total, "scenario")
    b = (
        a
        if scenario.content_hash == base.content_hash
        else _simulate(board, job, scenario, settings, n, "scenario", n, total)
    )
    job.report(total - 1, total, "figures")
    long, diff = rp.compare_results(a, b, rp.planner_kpis(base), labels=(BASELINE, SCENARIO))
    change = rp.describe_change(base, scenario)
    captions = {r["kpi"]: rp.caption(r, change or "the scenario") for _, r in diff.iterrows()}
    runs = {f"{BASELINE} {base.name}": a, SCENARIO: b}
    roles = [
        r.id
        for r in base.service.workforce.roles
        if (r.wte > 0 or scenario.service.workforce.role(r.id).wte > 0)
        and r.job_plan.direct_clinical > 0
    ]
    warm, _ = settings.days(base)
    figures = rp.planner_figures(
        runs,
        long.replace({BASELINE: f"{BASELINE} {base.name}"}),
        base.simulation.period.start,
        warm,
        roles,
    )
    parquet = io.BytesIO()
    long.to_parquet(parquet, index=False)
    downloads = {
        # the scenario as a delta on the shipped site (or whole, for an upload)
        "yaml": config_yaml(scenario, shipped_name),
        "csv": diff.to_csv(index=False),
        "kpis_csv": long.to_csv(index=False),
        "parquet": parquet.getvalue(),
        **{f"{k}.png": v for k, v in figures.items()},
    }
    job.report(total, total, "done")
    return PlannerRun(
        a, b, long, diff, change, captions, figures, settings, job.seconds, n, precision, downloads
    )


def start_planner(
    board: JobBoard,
    base: ServiceConfig,
    scenario: ServiceConfig,
    settings: RunSettings,
    shipped_name: str | None = None,
) -> Job:
    """The background job of a comparison (an existing one for the same key)."""
    return board.submit(
        run_key(base, scenario, settings),
        lambda job: run_planner(board, job, base, scenario, settings, shipped_name),
    )
