"""Running an experiment into its results folder: resumable, on any executor.

:func:`run_experiment` is what ``hubsim experiment FILE`` does (``hubsim compare`` and
``hubsim run --out`` build a plan and call it too):

1. check the plan and the output folder before any simulation
   (:func:`~hubsim.experiment.outdir.open_results_folder`; a folder of the same run is
   resumed, another run's is refused);
2. run the replications not yet stored, on common random numbers, on the chosen executor,
   committing each as it arrives (:class:`~hubsim.experiment.store.ResultsStore`); with a
   replications target, the Hoad-Robinson-Davies algorithm decides how many
   (:func:`replications_needed`);
3. compute baseline levels and paired differences from the stored KPIs, write
   ``manifest.json`` and (unless ``report=False``) the report.

An interruption (Ctrl-C, SIGTERM) keeps every committed replication and raises
:class:`Interrupted`; running the same command again finishes the work, with results
identical to an uninterrupted run (a replication's random streams depend only on the
seed and its index, never on when or where it ran).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from hubsim.config import ServiceConfig
from hubsim.des.kpis import kpi_range
from hubsim.errors import HubsimError
from hubsim.experiment.compare import paired_differences
from hubsim.experiment.executor import make_executor, refuse_in_a_starting_worker
from hubsim.experiment.outdir import ResultsFolder, fingerprint_hash, open_results_folder
from hubsim.experiment.run import package_versions
from hubsim.experiment.spec import (
    ExperimentPlan,
    ExperimentSpec,
    ReplicationTarget,
    ScenarioPlan,
    read_experiment,
)
from hubsim.experiment.store import ResultsStore, changes_json
from hubsim.progress import Progress
from hubsim.stats import bounded_t_interval

__all__ = [
    "LEVEL_COLUMNS",
    "ExperimentResult",
    "Interrupted",
    "load_experiment_result",
    "plan_from_configs",
    "replications_needed",
    "run_experiment",
]

PACKAGES = (
    "hubsim", "numpy", "pandas", "scipy", "simpy", "pydantic", "pyarrow", "duckdb", "matplotlib",
    "distributed",
)
LEVEL_COLUMNS = ["scenario", "kpi", "n_replications", "mean", "sd", "ci_low", "ci_high"]
MANIFEST = "manifest.json"
_DESCRIBE = {
    "seed": "seed",
    "scenarios": "scenario configurations or windows",
    "hubsim": "hubsim version",
    "horizon_days": "horizon",
}


class Interrupted(HubsimError):
    """The run was interrupted; what finished is stored and the same command resumes it."""

    def __init__(self, message: str):
        self.problems = [message]
        super().__init__(message)


# ---------------------------------------------------------------------------------------
# The replications algorithm (Hoad, Robinson & Davies 2010)
# ---------------------------------------------------------------------------------------


def _look_ahead(k_limit: int, n: int) -> int:
    """HRD's f(kLimit, n): kLimit up to 100 replications, then kLimit * n / 100."""
    return k_limit if n <= 100 else math.ceil(k_limit * n / 100)


def _precise(x: np.ndarray, rule: ReplicationTarget) -> bool:
    x = x[np.isfinite(x)]
    n = len(x)
    if n < 2:
        return False
    mean, sd = float(x.mean()), float(x.std(ddof=1))
    half = float(stats.t.ppf(0.5 + rule.level / 2, n - 1)) * sd / math.sqrt(n)
    if rule.absolute_half_width is not None:
        return half <= rule.absolute_half_width
    if mean == 0:
        return half == 0
    return half / abs(mean) <= float(rule.relative_half_width)


def replications_needed(
    values: Mapping[tuple[str, str], Sequence[float]], rule: ReplicationTarget
) -> tuple[int | None, int]:
    """The replications algorithm's decision on the replications run so far.

    Parameters
    ----------
    values : mapping
        ``(scenario, kpi) -> values of replications 0, 1, ...`` (all the same length n).
    rule : ReplicationTarget

    Returns
    -------
    (n_sol, n_next)
        ``n_sol``: the smallest ``n >= initial`` whose interval is within the target for
        every scenario and KPI and stays within it for the look-ahead replications after
        it, or None if not yet confirmed; ``n_next``: the replications to have before
        deciding again (``n_sol`` plus its look-ahead once confirmed).

    Examples
    --------
    >>> rule = ReplicationTarget(kpis=["w"], relative_half_width=0.1, initial=3, look_ahead=2)
    >>> replications_needed({("a", "w"): [10, 10.1, 9.9, 10, 10.05]}, rule)
    (3, 5)
    >>> replications_needed({("a", "w"): [1, 5, 9]}, rule)
    (None, 4)
    """
    arrays = [np.asarray(v, dtype=float) for v in values.values()]
    n = min((len(a) for a in arrays), default=0)
    if n < rule.initial:
        return None, rule.initial
    ok = [all(_precise(a[:m], rule) for a in arrays) for m in range(rule.initial, n + 1)]
    for i, good in enumerate(ok):
        m = rule.initial + i
        end = m + _look_ahead(rule.look_ahead, m)
        if not (good and all(ok[i : min(end, n) - rule.initial + 1])):
            continue
        if end > n:
            # precise from m to every count run so far: run the rest of its look-ahead
            return None, min(end, rule.max)
        return m, end
    return None, min(n + 1, rule.max)


# ---------------------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExperimentResult:
    """What an experiment found: per-replication KPIs, levels and paired differences.

    Attributes
    ----------
    out : pathlib.Path
        The results folder.
    plan : ExperimentPlan
    kpis : DataFrame
        scenario, replication, kpi, value (every stored KPI of the replications used).
    levels : DataFrame
        :data:`LEVEL_COLUMNS`: mean, SD and t interval of each reported KPI per scenario.
    differences : DataFrame
        Paired (CRN) differences from the baseline
        (:data:`~hubsim.experiment.compare.DIFFERENCE_COLUMNS`).
    n_replications : int
        Replications per scenario used.
    replications_note : str
        How the number was chosen.
    resumed : int
        Replications that were already stored when this run started.
    seconds : float
        Wall time of this run.
    files : tuple of str
        The report's files (empty with ``report=False``).
    """

    out: Path
    plan: ExperimentPlan
    kpis: pd.DataFrame
    levels: pd.DataFrame
    differences: pd.DataFrame
    n_replications: int
    replications_note: str
    resumed: int = 0
    seconds: float = 0.0
    files: tuple[str, ...] = field(default_factory=tuple)

    @property
    def baseline(self) -> str:
        return self.plan.baseline

    def tidy(self) -> pd.DataFrame:
        """The paired differences (one row per scenario and KPI)."""
        return self.differences

    def summary(self) -> str:
        """Baseline levels and paired differences with their intervals, as text."""
        pct = round(100 * self.plan.spec.level)
        spec = self.plan.spec
        lines = [
            f"{spec.title or spec.name}: {len(self.plan.scenarios)} scenario(s) x "
            f"{self.n_replications} replications, seed {spec.seed} ({self.replications_note})"
        ]
        if self.plan.window_start is not None:
            lines.append(f"KPI window {self.plan.window_start} to {self.plan.window_end}")
        lines.append(f"Baseline {self.baseline!r}: mean [{pct}% t interval]")
        base = self.levels[
            (self.levels["scenario"] == self.baseline) & self.levels["kpi"].isin(spec.kpis)
        ]
        w = max([10, *(len(k) for k in spec.kpis)])
        for r in base.itertuples(index=False):
            text = "n/a" if not np.isfinite(r.mean) else f"{r.mean:.4g}"
            if np.isfinite(r.ci_low):
                text += f"  [{r.ci_low:.4g}, {r.ci_high:.4g}]"
            lines.append(f"  {r.kpi:<{w}} {text}")
        if len(self.differences):
            lines.append(
                f"Paired differences from {self.baseline!r} (common random numbers, "
                f"{pct}% t intervals)"
            )
            sw = max(len(s) for s in self.differences["scenario"])
            for r in self.differences.itertuples(index=False):
                if not np.isfinite(r.mean_difference):
                    txt = "n/a"
                else:
                    txt = f"{r.mean_difference:+.4g}"
                    if np.isfinite(r.ci_low):
                        txt += f" [{r.ci_low:+.4g}, {r.ci_high:+.4g}]"
                lines.append(f"  {r.scenario:<{sw}}  {r.kpi:<{w}} {txt}")
        return "\n".join(lines)


def _levels(long: pd.DataFrame, scenarios: Sequence[str], kpis: Sequence[str], level: float):
    rows = []
    for s in scenarios:
        sub = long[long["scenario"] == s]
        for k in kpis:
            x = sub.loc[sub["kpi"] == k, "value"].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            n = len(x)
            mean = float(x.mean()) if n else math.nan
            sd = float(x.std(ddof=1)) if n > 1 else math.nan
            if n > 1:
                # as SimulationResult.tidy: the t interval kept inside the KPI's range
                low, high = kpi_range(k)
                lo, hi = bounded_t_interval(
                    mean, sd / math.sqrt(n), n - 1, 1 - level, low=low, high=high
                )[1:3]
            else:
                lo = hi = math.nan
            rows.append((s, k, n, mean, sd, lo, hi))
    return pd.DataFrame(rows, columns=LEVEL_COLUMNS)


def _scenario_frame(plan: ExperimentPlan) -> pd.DataFrame:
    rows = []
    for i, s in enumerate(plan.scenarios.values()):
        rows.append(
            {
                "scenario": s.name,
                "position": i,
                "label": s.label,
                "source": s.source,
                "changes": changes_json(s.changes),
                "config_name": s.config.name,
                "config_hash": s.config.content_hash,
                "horizon_days": s.horizon_days,
                "warmup_days": s.warmup_days,
                "period_start": s.config.simulation.period.start,
                "window_start": plan.window_start,
                "window_end": plan.window_end,
            }
        )
    return pd.DataFrame(rows)


def _manifest(plan, store: ResultsStore, folder: ResultsFolder, extra: dict) -> dict:
    runs = store.query("SELECT * FROM runs ORDER BY run_id")
    spec = plan.spec
    return {
        "kind": folder.kind,
        "name": spec.name,
        "title": spec.title,
        "source": str(plan.path),
        "command": (runs["command"].iloc[-1] if len(runs) else None),
        "seed": spec.seed,
        "fingerprint": folder.fingerprint,
        "fingerprint_hash": fingerprint_hash(folder.fingerprint),
        "baseline": plan.baseline,
        "window": (
            {"start": str(plan.window_start), "end": str(plan.window_end)}
            if plan.window_start
            else None
        ),
        "scenarios": {
            s.name: {
                "label": s.label,
                "source": s.source,
                "changes": s.changes,
                "config_name": s.config.name,
                "config_hash": s.config.content_hash,
                "horizon_days": s.horizon_days,
                "warmup_days": s.warmup_days,
                "config": s.config.to_dict(),
            }
            for s in plan.scenarios.values()
        },
        "versions": package_versions(PACKAGES),
        "platform": platform.platform(),
        "runs": json.loads(runs.to_json(orient="records", date_format="iso")),
        **extra,
    }


def _replication_task(task: dict[str, Any]) -> tuple[dict[str, pd.DataFrame], float]:
    """One replication in a worker: its frames and its wall time (no file access)."""
    from hubsim.des.simulate import initial_frame, run_replication

    t0 = time.perf_counter()
    cfg = task["config"]
    # common random numbers across scenarios: every scenario's streams are keyed "common"
    initial = initial_frame(cfg, task.get("initial_waiting_list"), task["seed"], "common")
    frames = dict(
        run_replication(
            cfg,
            horizon_days=task["horizon_days"],
            seed=task["seed"],
            replication=task["replication"],
            scenario="common",
            warmup_days=task["warmup_days"],
            initial_waiting_list=initial,
        )
    )
    # run_replication's frames carry calendar dates beside day numbers
    # (hubsim.des.frames.DATE_COLUMNS)
    return frames, time.perf_counter() - t0


def _check_initial_lists(plan: ExperimentPlan) -> None:
    """Read every scenario's initial waiting list before any work (ConfigError if bad)."""
    from hubsim.des.simulate import initial_frame
    from hubsim.errors import ConfigError

    for s in plan.scenarios.values():
        try:
            initial_frame(s.config, s.initial_waiting_list, plan.spec.seed, "common")
        except (ValueError, OSError) as exc:
            raise ConfigError(f"scenario {s.name}: {str(exc).rstrip('.')}.") from None


def _values(store: ResultsStore, scenarios: Sequence[str], kpis: Sequence[str], n: int):
    long = store.kpis()
    long = long[long["replication"] < n]
    out = {}
    for s in scenarios:
        for k in kpis:
            sub = long[(long["scenario"] == s) & (long["kpi"] == k)].sort_values("replication")
            out[(s, k)] = sub["value"].to_numpy(dtype=float)
    return out


def plan_from_configs(
    configs: Sequence[ServiceConfig],
    *,
    names: Sequence[str] | None = None,
    seed: int = 0,
    replications: int = 10,
    horizon_days: float = 365.0,
    warmup_days: float = 0.0,
    name: str = "comparison",
    source: str | Path = "(command line)",
    kpis: Sequence[str] | None = None,
    initial_waiting_list: str | Path | None = None,
) -> ExperimentPlan:
    """An experiment plan from configurations already loaded (``hubsim compare``, ``run``)."""
    from hubsim.experiment.spec import _kpi_names

    names = list(names or [c.name for c in configs])
    iwl = None if initial_waiting_list is None else str(initial_waiting_list)
    scen = {
        n: ScenarioPlan(
            n, c.name, "configuration", {}, c, float(horizon_days), float(warmup_days), iwl
        )
        for n, c in zip(names, configs, strict=True)
    }
    known = set().union(*(_kpi_names(c) for c in configs))
    from hubsim.experiment.compare import DEFAULT_KPIS

    chosen = [k for k in (kpis or DEFAULT_KPIS) if k in known]
    spec = ExperimentSpec(
        name=name,
        base=str(source),
        seed=int(seed),
        horizon_days=float(horizon_days),
        warmup_days=float(warmup_days),
        replications=int(replications) if replications >= 2 else 2,
        kpis=chosen or sorted(known)[:1],
    )
    if replications < 2:
        spec = spec.model_copy(update={"replications": int(replications)})
    return ExperimentPlan(Path(str(source)), spec, scen, names[0], None, None, {})


def _writes(report: bool) -> list[str]:
    """The names a run writes at the top of its folder (checked free before any work)."""
    from hubsim.des.result import FRAMES
    from hubsim.experiment.store import DB_FILES
    from hubsim.report.experiment import FIGURES

    names = [MANIFEST, *DB_FILES, *(f for f in FRAMES if f != "kpis")]
    return [*names, FIGURES, "report.md", "report.html"] if report else names


def run_experiment(
    plan: ExperimentPlan | str | Path,
    out: str | Path | None = None,
    *,
    overwrite: bool = False,
    executor: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    quiet: bool = False,
    terminal: bool | None = None,
    command: str | None = None,
    report: bool = True,
    kind: str = "experiment",
) -> ExperimentResult:
    """Run (or resume) an experiment into its results folder.

    Parameters
    ----------
    plan : ExperimentPlan or path
        A checked plan, or an experiment file (:func:`read_experiment`).
    out : path, optional
        The results folder (default ``results/<name>``).
    overwrite : bool
        See :func:`~hubsim.experiment.outdir.open_results_folder`.
    executor, workers, scheduler : optional
        Override the file's ``executor`` block (``"local"`` or ``"dask"``; a scheduler
        address implies Dask).
    quiet : bool
        No progress on stderr.
    terminal : bool, optional
        Force the live progress bar (True) or plain lines (False); default: stderr's kind.
    command : str, optional
        The command line, for the manifest (default ``sys.argv``).
    report : bool
        Write ``report.md``/``report.html`` and the figures at the end.
    kind : str
        The folder's kind (``"experiment"``; ``"run"`` for ``hubsim run``).

    Returns
    -------
    ExperimentResult

    Raises
    ------
    hubsim.ConfigError
        A bad experiment file (nothing is run or written).
    hubsim.experiment.outdir.OutputError
        The output folder is refused or cannot be written (before any simulation).
    hubsim.experiment.ExecutorError
        A worker process died, e.g. in a script without the ``if __name__ == "__main__":``
        guard, whose workers each start the run again (also raised in such a worker).
    Interrupted
        Ctrl-C or SIGTERM; finished replications are kept.

    Examples
    --------
    >>> import tempfile, hubsim
    >>> cfg = hubsim.load_config("site_d")
    >>> plan = plan_from_configs([cfg], names=["d"], replications=2, horizon_days=30)
    >>> res = run_experiment(plan, tempfile.mkdtemp() + "/r", quiet=True, report=False,
    ...                      workers=1)
    >>> res.n_replications, sorted(res.kpis["scenario"].unique())
    (2, ['d'])
    """
    refuse_in_a_starting_worker()
    t0 = time.monotonic()
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if not isinstance(plan, ExperimentPlan):
        plan = read_experiment(plan)
    spec = plan.spec
    _check_initial_lists(plan)
    dest = Path("results") / spec.name if out is None else Path(out)
    ex_spec = spec.executor
    kind_ex = executor or ("dask" if scheduler else ex_spec.kind)
    n_workers = workers or ex_spec.workers
    sched = scheduler or ex_spec.scheduler
    folder = open_results_folder(
        dest,
        kind=kind,
        fingerprint=plan.fingerprint(),
        overwrite=overwrite,
        describe=_DESCRIBE,
        writes=_writes(report),
    )
    store = None
    ex = None
    bar = None
    names = list(plan.scenarios)
    try:
        store = ResultsStore(folder)
        store.tidy_up()
        store.begin_run(
            kind=kind,
            name=spec.name,
            seed=spec.seed,
            fingerprint=fingerprint_hash(folder.fingerprint),
            command=command if command is not None else " ".join(sys.argv),
        )
        store.put_scenarios(_scenario_frame(plan))
        folder.write(
            MANIFEST,
            json.dumps(
                _manifest(plan, store, folder, {"started_utc": started, "finished_utc": None}),
                indent=2,
                default=str,
            ),
        )
        done = store.finished()
        resumed = len(done)
        rule = spec.replications
        target = rule if isinstance(rule, int) else rule.initial
        ex = make_executor(kind_ex, n_workers, sched)
        # every progress line counts replications against the same total: with the
        # replications algorithm the most it may run (what it turns out not to need is
        # counted off at the end), and stored replications count as done
        most = rule if isinstance(rule, int) else rule.max
        stage = (
            "replications"
            if isinstance(rule, int)
            else f"replications (HRD algorithm, at most {most} a scenario)"
        )
        bar = Progress(
            stage,
            most * len(names),
            done=len({k for k in done if k[1] < most}),
            quiet=quiet,
            terminal=terminal,
            unit="replications",
            bound=not isinstance(rule, int),
        )
        n_sol: int | None = target if isinstance(rule, int) else None
        while True:
            todo = [(s, r) for r in range(target) for s in names if (s, r) not in done]
            if todo:
                tasks = [
                    {
                        "config": plan.scenarios[s].config,
                        "horizon_days": plan.scenarios[s].horizon_days,
                        "warmup_days": plan.scenarios[s].warmup_days,
                        "seed": spec.seed,
                        "replication": r,
                        "initial_waiting_list": plan.scenarios[s].initial_waiting_list,
                    }
                    for s, r in todo
                ]
                # with worker processes the parent commits on a writer thread while it waits;
                # in one process a thread would only contend for the interpreter lock
                commit = store.commit_later if ex.workers > 1 else store.commit_replication
                for i, (frames, secs) in ex.map(_replication_task, tasks):
                    s, r = todo[i]
                    commit(s, r, frames, seed=spec.seed, seconds=secs)
                    done.add((s, r))
                    bar.advance()
                store.flush()
            if isinstance(rule, int):
                break
            n_sol, nxt = replications_needed(_values(store, names, rule.kpis, target), rule)
            if n_sol is not None or target >= rule.max:
                break
            target = nxt
        if bar.done < bar.total:
            bar.finish(
                f"the algorithm stopped at {target} replications a scenario, "
                f"{target * len(names)} in all; the other {bar.total - bar.done:.0f} up to "
                "the maximum were not needed"
            )
        else:
            bar.close()
        bar = None
        if isinstance(rule, int):
            note = "fixed"
        elif n_sol is not None:
            half = (
                f"{rule.relative_half_width:.0%} of the mean"
                if rule.relative_half_width is not None
                else f"{rule.absolute_half_width:g}"
            )
            note = (
                f"replications algorithm (Hoad, Robinson & Davies 2010): {n_sol} reach a "
                f"{round(100 * rule.level)}% half-width within {half} for "
                f"{', '.join(rule.kpis)}, confirmed over {target - n_sol} more"
            )
        else:
            note = (
                f"replications algorithm: the target was not reached by the maximum of "
                f"{rule.max} replications; results use {target}"
            )
        store.tidy_up()
        long = store.kpis()
        long = long[long["replication"] < target].reset_index(drop=True)
        levels = _levels(
            long, names, [*spec.kpis, *[k for k in dict.fromkeys(long['kpi']) if k not in spec.kpis]], spec.level
        )
        sub = long[long["kpi"].isin(spec.kpis)]
        diffs = (
            paired_differences(sub, plan.baseline, spec.level)
            if len(names) > 1 and target >= 2
            else pd.DataFrame()
        )
        if len(diffs):
            order = {k: i for i, k in enumerate(spec.kpis)}
            diffs = (
                diffs.assign(_o=diffs["kpi"].map(order))
                .sort_values(["_o"], kind="stable")
                .drop(columns="_o")
            )
            pos = {s: i for i, s in enumerate(names)}
            diffs = (
                diffs.assign(_p=diffs["scenario"].map(pos))
                .sort_values(["_p"], kind="stable")
                .drop(columns="_p")
                .reset_index(drop=True)
            )
        store.put_table("levels", levels)
        if len(diffs):
            store.put_table("differences", diffs)
        result = ExperimentResult(
            folder.path, plan, long, levels, diffs, int(target), note, resumed,
            time.monotonic() - t0,
        )
        files: tuple[str, ...] = ()
        if report:
            from hubsim.report.experiment import write_report

            files = tuple(write_report(folder, store, result))
        store.end_run("finished")
        extra = {
            "started_utc": started,
            "finished_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "replications": int(target),
            "replications_note": note,
            "level": spec.level,
            "kpis": list(spec.kpis),
            "executor": ex.describe(),
            "resumed_replications": resumed,
            "report": list(files),
        }
        folder.write(
            MANIFEST, json.dumps(_manifest(plan, store, folder, extra), indent=2, default=str)
        )
        return ExperimentResult(
            folder.path, plan, long, levels, diffs, int(target), note, resumed,
            time.monotonic() - t0, files,
        )
    except KeyboardInterrupt:
        n_done = len(store.finished()) if store is not None else 0
        if bar is not None:
            bar.close("interrupted")
            bar = None
        if store is not None:
            store.end_run("interrupted")
        raise Interrupted(
            f"{folder.path}: interrupted; {n_done} finished replication(s) are stored there "
            "and the same command resumes the run."
        ) from None
    finally:
        if bar is not None:
            bar.close("stopped")
        if ex is not None:
            ex.close()
        if store is not None:
            store.close()
        folder.close()


def load_experiment_result(out: str | Path) -> tuple[ResultsStore, ResultsFolder]:
    """Open a finished results folder for reading (``hubsim report``): store and folder."""
    from hubsim.experiment.outdir import MARKER, OutputError

    path = Path(out)
    marker = path / MARKER
    if not marker.is_file():
        raise OutputError(
            f"{path}: not a hubsim results folder (no {MARKER}); expected a folder written "
            "by hubsim experiment, compare or run --out."
        )
    data = json.loads(marker.read_text(encoding="utf-8"))
    if data.get("kind") == "power":
        raise OutputError(
            f"{path}: holds a power study, whose report.md hubsim power writes; expected a "
            "folder written by hubsim experiment, compare or run --out."
        )
    folder = open_results_folder(
        path, kind=data.get("kind", "experiment"), fingerprint=data.get("fingerprint") or {}
    )
    return ResultsStore(folder), folder
