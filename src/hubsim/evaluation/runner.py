"""Running a power study in memory: DES-derived effects, diagnoses, curves, MDEs.

:func:`evaluate` takes a checked :class:`~hubsim.evaluation.spec.StudyPlan` and returns a
:class:`~hubsim.evaluation.result.StudyResult` without touching the file system;
:func:`run_study` is what ``hubsim power STUDY.yaml`` does: read the file, check the
run's overrides and the destination, evaluate, and write the results atomically
(:mod:`hubsim.evaluation.writer`).

The DES runs first (each distinct run once, cached by the configurations' content hashes
and the run's settings), so a failing DES stops the study before any simulation of the
designs; scenario designs then take their DES effect (:func:`apply_des_effect`).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from hubsim.checks import check_int
from hubsim.config.loader import end_sentence
from hubsim.errors import ConfigError
from hubsim.evaluation.cells import StudyCells, cell_key
from hubsim.evaluation.cells import cached as _cached
from hubsim.evaluation.des_effects import (
    DAYS_PER_MONTH,
    DESEffect,
    effect_from_des,
    months_per_period,
)
from hubsim.evaluation.findings import recommend, recommended
from hubsim.evaluation.result import (
    CURVE_COLUMNS,
    DES_EFFECT_COLUMNS,
    MDE_COLUMNS,
    STUDY_DIAGNOSAND_COLUMNS,
    StudyResult,
)
from hubsim.evaluation.spec import (
    RECOMMENDED,
    DESPlan,
    SizeSpec,
    StudyPlan,
    StudySpec,
    read_study,
)
from hubsim.evaluation.writer import default_out, write_study
from hubsim.power.diagnose import (
    DIAGNOSAND_COLUMNS,
    ESTIMATORS,
    SIMULATION_COLUMNS,
    EstimatorSpec,
    diagnose,
)
from hubsim.power.grid import minimum_detectable_effect, power_curve
from hubsim.regional import DynamicEffect
from hubsim.rng import seed_sequence

__all__ = ["RunSettings", "apply_des_effect", "evaluate", "run_study"]


@dataclass(frozen=True)
class RunSettings:
    """A study's run at one size: simulations per point, seed, processes, progress."""

    size: str
    n_sims: int
    seed: int
    workers: int
    progress: bool | None = None

    @classmethod
    def resolve(
        cls,
        spec: StudySpec,
        size: str = "default",
        n_sims: int | None = None,
        seed: int | None = None,
        workers: int | None = None,
        progress: bool | None = None,
        *,
        source: Any = "",
    ) -> RunSettings:
        """The file's settings at ``size`` with the overrides given (checked: ConfigError)."""
        if size not in spec.sizes:
            raise ConfigError(
                f"{source}: size {size!r} is not defined; expected one of "
                f"{', '.join(spec.sizes)}."
            )
        for flag, value, low in (("--n-sims", n_sims, 2), ("--seed", seed, 0), ("workers", workers, 1)):
            if value is not None:
                try:
                    check_int(flag, value, low)
                except ValueError as exc:
                    raise ConfigError(str(exc)) from None
        return cls(
            size=size,
            n_sims=n_sims if n_sims is not None else spec.sizes[size].n_sims,
            seed=seed if seed is not None else spec.seed,
            workers=workers if workers is not None else spec.workers,
            progress=progress,
        )


# ---------------------------------------------------------------------------------------
# DES-fed scenarios
# ---------------------------------------------------------------------------------------


def _des_seed(study_seed: int) -> int:
    """The DES seed used when a block gives none: one per study seed, for every scenario."""
    return int(seed_sequence(int(study_seed), "effect_from_des").generate_state(1)[0])


def _des_settings(plan: DESPlan, size: SizeSpec, study_seed: int) -> dict[str, Any]:
    """Replications, horizon, follow-up and seed of a plan's DES at a run size."""
    ds = plan.spec
    lag = 0.0 if plan.population == "staff_survey" else float(ds.follow_up_days)
    reps = ds.replications
    if size.des_replications is not None:
        reps = min(reps, size.des_replications)
    horizon = float(ds.horizon_days)
    if size.des_horizon_days is not None:
        # never below one month of profile after the follow-up (the block is valid at full size)
        floor_days = math.ceil(lag + DAYS_PER_MONTH)
        horizon = min(horizon, max(float(size.des_horizon_days), float(floor_days)))
    return {
        "population": plan.population,
        "outcome": plan.outcome,
        "horizon_days": horizon,
        "replications": int(reps),
        "seed": int(ds.seed if ds.seed is not None else _des_seed(study_seed)),
        "follow_up_days": float(ds.follow_up_days),
    }


def _des_key(plan: DESPlan, kw: dict[str, Any]) -> tuple:
    """What makes two scenarios' DES runs the same run."""
    return (
        plan.hub.content_hash,
        plan.comparator.content_hash,
        kw["population"],
        kw["outcome"],
        kw["horizon_days"],
        kw["replications"],
        kw["seed"],
        # the survey is measured at the end of each month: follow-up plays no part
        None if plan.population == "staff_survey" else kw["follow_up_days"],
    )


def _run_des(
    plans: dict[str, DESPlan],
    size: SizeSpec,
    study_seed: int,
    workers: int,
    cells: StudyCells | None = None,
) -> tuple[dict[str, DESEffect], dict[str, dict[str, Any]], int]:
    """Each plan's DESEffect, each distinct DES run once (cached by content).

    Returns the effects by scenario, the settings used by scenario (with the run's index)
    and the number of distinct runs.
    """
    cache: dict[tuple, tuple[int, DESEffect]] = {}
    effects: dict[str, DESEffect] = {}
    settings: dict[str, dict[str, Any]] = {}
    for name, plan in plans.items():
        kw = _des_settings(plan, size, study_seed)
        key = _des_key(plan, kw)
        if key not in cache:
            try:
                res = _cached(
                    cells,
                    f"des/{cell_key(key)}",
                    lambda kw=kw, plan=plan: effect_from_des(
                        plan.hub, plan.comparator, workers=workers, **kw
                    ),
                )
            except ValueError as exc:
                f, line = plan.where
                raise ConfigError(
                    f"{f}, line {line}: scenarios.{name}.effect_from_des: {end_sentence(str(exc))}"
                ) from None
            cache[key] = (len(cache), res)
        run, effects[name] = cache[key]
        settings[name] = {**kw, "run": run}
    return effects, settings, len(cache)


def apply_des_effect(des: DESEffect, design: Any, scale: str) -> Any:
    """The scenario design with the DES effect, on the ``outcome`` or ``standardised`` scale.

    See :mod:`hubsim.evaluation.spec` (DES-fed scenarios) for what each scale means.
    """
    if scale == "standardised":
        k = months_per_period(design)
        prof = des.to_effect(scale="standardised", months_per_period=k).profile
        return design.replace(
            population_kind=des.population,
            outcome="continuous",
            effect=DynamicEffect(profile=tuple(float(v) * design.sd for v in prof)),
        )
    out = des.apply_to(design)
    if des.binary:
        return out
    # keep the design's noise terms in proportion to the individual SD
    ratio = des.baseline_sd / design.sd
    return out.replace(period_sd=design.period_sd * ratio, ar_sd=design.ar_sd * ratio)


# ---------------------------------------------------------------------------------------
# Frames
# ---------------------------------------------------------------------------------------


def _des_frame(effects: dict[str, DESEffect]) -> pd.DataFrame:
    frames = []
    for name, des in effects.items():
        fr = des.profile.rename(columns={"hub": "hub_mean", "comparator": "comparator_mean"})
        fr = fr.assign(
            scenario=name,
            hub=des.hub,
            comparator=des.comparator,
            population=des.population,
            outcome=des.outcome,
        )
        frames.append(fr[DES_EFFECT_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=DES_EFFECT_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def _cell(v: Any) -> Any:
    if v is None or isinstance(v, int | float | str | bool | np.integer | np.floating):
        return v
    return str(v)


def _takes(fn: Any, name: str) -> bool:
    try:
        return name in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _specs(names: list[str], spec: StudySpec) -> list[EstimatorSpec]:
    """Registry specs for names, with the study's B for every estimator that takes one."""
    out = []
    for n in names:
        e = ESTIMATORS[n]
        if spec.B is not None and _takes(e.fn, "B"):
            e = e.with_kwargs(B=int(spec.B))
        out.append(e)
    return out


def _resolve(names: list[str], scenario: str, recs: pd.DataFrame) -> tuple[list[str], str]:
    """Names with "recommended" replaced by the scenario's recommended estimator."""
    out, note = [], ""
    for n in names:
        if n == RECOMMENDED:
            r = recommended(recs, scenario)
            if not r:
                note = f"no estimator passed the recommendation rule in scenario {scenario}"
                continue
            n = r
        if n not in out:
            out.append(n)
    return out, note


def _curve_rows(
    spec: StudySpec,
    designs: dict[str, Any],
    n: int,
    seed: int,
    workers: int,
    progress: bool | None,
    recs: pd.DataFrame,
    cells: StudyCells | None = None,
) -> pd.DataFrame:
    frames = []
    for c in spec.curves:
        x = next(iter(c.vary))
        # paired fields move with x, so they do not define separate series
        others = [] if c.paired else [k for k in c.vary if k != x]
        for s in c.scenarios or list(spec.scenarios):
            names, _ = _resolve(c.estimators or spec.estimators, s, recs)
            if not names:
                continue
            pc = _cached(
                cells,
                f"curve/{c.name}/{s}/{','.join(names)}",
                lambda c=c, s=s, names=names: power_curve(
                    designs[s],
                    c.vary,
                    _specs(names, spec),
                    n_sims=n,
                    seed=seed,
                    alpha=spec.alpha,
                    workers=workers,
                    fixed=c.fixed,
                    paired=c.paired,
                    progress=progress,
                ),
            )
            series = (
                [
                    ", ".join(f"{k}={_cell(v)}" for k, v in zip(others, vals, strict=True))
                    for vals in zip(*(pc[k] for k in others), strict=True)
                ]
                if others
                else [""] * len(pc)
            )
            xv = pd.to_numeric(pc[x].map(_cell), errors="coerce")
            fr = pc[["point", *DIAGNOSAND_COLUMNS]].copy()
            fr.insert(0, "series", series)
            fr.insert(0, "x_value", xv.to_numpy(dtype=float))
            fr.insert(0, "x", x)
            fr.insert(0, "scenario", s)
            fr.insert(0, "curve", c.name)
            frames.append(fr)
    if not frames:
        return pd.DataFrame(columns=CURVE_COLUMNS)
    return pd.concat(frames, ignore_index=True)[CURVE_COLUMNS]


_NO_MDE = {
    "mde": math.nan,
    "mde_mcse": math.nan,
    "method": "simulation",
    "normal_approximation": math.nan,
    "scale": "",
    "size_adjusted": False,
    "null_rejection": math.nan,
    "estimand_at_mde": math.nan,
}


def _mde_rows(
    plan: StudyPlan,
    designs: dict[str, Any],
    run: RunSettings,
    des: dict[str, DESEffect],
    recs: pd.DataFrame,
    cells: StudyCells | None = None,
) -> pd.DataFrame:
    """The MDE table: one row per MDE request and scenario (a failed search is a row too)."""
    spec, sz = plan.spec, plan.spec.sizes[run.size]
    rows = []
    for i, m in enumerate(spec.mde):
        for s in m.scenarios or list(spec.scenarios):
            names, why = _resolve([m.estimator], s, recs)
            base = {
                "scenario": s,
                "estimator": names[0] if names else m.estimator,
                "target_power": m.power,
                "n_sims": run.n_sims,
            }
            if not names:
                rows.append({**base, **_NO_MDE, "note": f"not searched: {why}."})
                continue
            row = _cached(
                cells,
                f"mde/{i}/{s}/{names[0]}",
                lambda s=s, m=m, e=_specs(names, spec)[0]: _mde_row(
                    e, m.power, designs[s], run, spec, sz
                ),
            )
            if s in des:
                row["scale"] = f"{des[s].units} (a constant effect)"
            rows.append({**base, **row})
    return pd.DataFrame(rows, columns=MDE_COLUMNS)


def _mde_row(
    estimator: EstimatorSpec,
    power: float,
    design: Any,
    run: RunSettings,
    spec: StudySpec,
    sz: SizeSpec,
) -> dict:
    """One MDE search as a row (a failed search is a row too)."""
    try:
        r = minimum_detectable_effect(
            design,
            estimator,
            power=power,
            n_sims=run.n_sims,
            seed=run.seed,
            alpha=spec.alpha,
            max_evals=sz.mde_max_evals,
            workers=run.workers,
            progress=run.progress,
        )
        return {
            "mde": r.effect,
            "mde_mcse": r.mcse,
            "method": r.method,
            "normal_approximation": r.normal_approximation,
            "scale": r.scale,
            "size_adjusted": r.size_adjusted,
            "null_rejection": r.null_rejection,
            "estimand_at_mde": r.estimand_at_mde,
            "note": r.note,
        }
    except ValueError as exc:
        # one failed search must not discard a long study: it is reported in the MDE table
        # and the report instead
        return {**_NO_MDE, "note": f"the MDE search failed: {end_sentence(str(exc))}"}


def evaluate(plan: StudyPlan, run: RunSettings, cells: StudyCells | None = None) -> StudyResult:
    """Run a checked study in memory: DES effects, diagnoses, power curves and MDEs.

    Parameters
    ----------
    plan : StudyPlan
        From :func:`~hubsim.evaluation.spec.read_study`.
    run : RunSettings
        The size, simulations per point, seed and processes (:meth:`RunSettings.resolve`).
    cells : StudyCells, optional
        Where each finished unit (a DES run, a scenario's diagnosis, a curve of a scenario,
        an MDE search) is committed and found again on resume
        (:class:`~hubsim.evaluation.cells.StudyCells`); default: in memory only.

    Returns
    -------
    StudyResult
        Not written (``out`` is None); :func:`~hubsim.evaluation.writer.write_study` writes it.

    Raises
    ------
    hubsim.errors.ConfigError
        A DES-fed scenario whose DES fails or whose effect cannot be applied to its design.

    Examples
    --------
    >>> from hubsim.resources import experiment_path
    >>> plan = read_study(experiment_path("naturalistic_evaluation"))  # doctest: +SKIP
    >>> res = evaluate(plan, RunSettings.resolve(plan.spec, "smoke"))  # doctest: +SKIP
    """
    t0 = time.monotonic()
    spec = plan.spec
    designs = dict(plan.designs)
    if cells is not None:
        sz = spec.sizes[run.size]
        keys = {_des_key(p, _des_settings(p, sz, run.seed)) for p in plan.des_plans.values()}
        cells.plan(plan, len(keys))
    des_effects, des_settings, n_runs = _run_des(
        plan.des_plans, spec.sizes[run.size], run.seed, run.workers, cells
    )
    for s_name, des in des_effects.items():
        try:
            designs[s_name] = apply_des_effect(des, designs[s_name], plan.des_plans[s_name].spec.scale)
        except (ValidationError, ValueError) as exc:
            f, line = plan.des_plans[s_name].where
            raise ConfigError(
                f"{f}, line {line}: scenarios.{s_name}.effect_from_des: the DES effect cannot "
                f"be applied to the design: {end_sentence(str(exc))}"
            ) from None
    diag_frames, sim_frames = [], []
    for s, d in designs.items():
        res = _cached(
            cells,
            f"diagnose/{s}",
            lambda d=d: diagnose(
                d,
                _specs(spec.estimators, spec),
                n_sims=run.n_sims,
                seed=run.seed,
                alpha=spec.alpha,
                workers=run.workers,
                progress=run.progress,
            ),
        )
        diag_frames.append(res.diagnosands.assign(scenario=s)[STUDY_DIAGNOSAND_COLUMNS])
        sim_frames.append(res.simulations.assign(scenario=s)[["scenario", *SIMULATION_COLUMNS]])
    diagnosands = pd.concat(diag_frames, ignore_index=True)
    recs = recommend(diagnosands, spec.alpha)
    return StudyResult(
        None,
        spec,
        diagnosands,
        _curve_rows(spec, designs, run.n_sims, run.seed, run.workers, run.progress, recs, cells),
        _mde_rows(plan, designs, run, des_effects, recs, cells),
        pd.concat(sim_frames, ignore_index=True),
        (),
        run.n_sims,
        run.seed,
        time.monotonic() - t0,
        run.size,
        des_effects=_des_frame(des_effects),
        des=des_effects,
        designs=designs,
        des_settings=des_settings,
        des_plans=dict(plan.des_plans),
        extra={"des_runs": n_runs, "workers": run.workers},
        recommendations=recs,
    )


def run_study(
    path: str | os.PathLike[str] | StudyPlan,
    n_sims: int | None = None,
    seed: int | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    size: str = "default",
    workers: int | None = None,
    progress: bool | None = None,
    overwrite: bool = False,
    quiet: bool = False,
    command: str | None = None,
) -> StudyResult:
    """Run (or resume) a power study file into its results folder.

    Parameters
    ----------
    path : path-like or StudyPlan
        The study YAML, or the plan :func:`read_study` made of it.
    n_sims : int, optional
        Simulations per design point (overrides the size's ``n_sims``).
    seed : int, optional
        Overrides the file's seed.
    out : path-like, optional
        Results folder (default ``results/power/<name>``, or ``<name>-<size>`` for a size
        other than default). The same study (file content, size, simulations, seed) in a
        folder hubsim wrote is resumed: finished cells are read back, not recomputed; a
        folder of another study or one hubsim did not write is refused
        (:func:`hubsim.experiment.open_results_folder`; ``overwrite``).
    size : str
        A size defined in the file's ``sizes`` (e.g. ``"smoke"`` for CI).
    workers : int, optional
        Processes (default: the file's ``workers``).
    progress : bool, optional
        Progress on stderr: a bar on a terminal, plain lines every tenth of the cells
        otherwise (default on; False is ``quiet``).
    overwrite : bool
        See :func:`hubsim.experiment.open_results_folder`.
    quiet : bool
        No progress.
    command : str, optional
        The command line, recorded in the results database.

    Returns
    -------
    StudyResult

    Raises
    ------
    hubsim.errors.ConfigError
        A bad study file, size or override; nothing is simulated or written.
    hubsim.experiment.OutputError
        The folder is refused or cannot be written (before any simulation).
    hubsim.experiment.Interrupted
        Ctrl-C or SIGTERM: finished cells are kept and the same call resumes.

    Examples
    --------
    >>> from hubsim.resources import experiment_path
    >>> res = run_study(experiment_path("naturalistic_evaluation"), size="smoke",
    ...                 out="/tmp/pne")  # doctest: +SKIP
    """
    import sys

    from hubsim.evaluation.writer import STUDY_WRITES, des_hashes, study_fingerprint
    from hubsim.experiment.outdir import fingerprint_hash, open_results_folder
    from hubsim.experiment.runner import Interrupted
    from hubsim.experiment.store import ResultsStore

    t0 = time.monotonic()
    if isinstance(path, StudyPlan):
        plan, path = path, path.path
    elif isinstance(path, (str, os.PathLike)):
        plan = read_study(path)
    else:
        raise TypeError(
            f"run_study: path must be a study file's path or a StudyPlan from read_study, "
            f"got {type(path).__name__}."
        )
    run = RunSettings.resolve(plan.spec, size, n_sims, seed, workers, False, source=path)
    dest = default_out(plan.spec, size) if out is None else out
    fp = study_fingerprint(plan.spec, run.size, run.n_sims, run.seed, des_hashes(plan.des_plans))
    folder = open_results_folder(
        dest,
        kind="power",
        fingerprint=fp,
        overwrite=overwrite,
        describe={"study": "study file", "n_sims": "simulations", "seed": "seed",
                  "size": "size", "des": "DES configurations", "hubsim": "hubsim version"},
        writes=STUDY_WRITES,
    )
    store = cells = None
    try:
        store = ResultsStore(folder)
        store.begin_run(
            kind="power",
            name=plan.spec.name,
            seed=run.seed,
            fingerprint=fingerprint_hash(fp),
            command=command if command is not None else " ".join(sys.argv),
        )
        cells = StudyCells(store, quiet=quiet or progress is False)
        result = evaluate(plan, run, cells)
        cells.close()
        extra = dict(result.extra, cells_computed=cells.computed, cells_resumed=cells.reused)
        result = dataclasses.replace(result, extra=extra)
        written = write_study(result, folder, source=path, started=t0)
        for name, frame in (
            ("diagnosands", written.diagnosands),
            ("curves", written.curves),
            ("mde", written.mde),
            ("des_effects", written.des_effects),
        ):
            store.put_table(name, frame)
        store.end_run("finished")
        return written
    except KeyboardInterrupt:
        if cells is not None:
            cells.close("interrupted")
        n = int(store.query("SELECT count(*) AS n FROM cells")["n"].iloc[0]) if store else 0
        if store is not None:
            store.end_run("interrupted")
        raise Interrupted(
            f"{folder.path}: interrupted; {n} finished cell(s) of the study are stored there "
            "and the same command resumes it."
        ) from None
    finally:
        if store is not None:
            store.close()
        folder.close()
