"""Power studies from a YAML file: ``hubsim power STUDY.yaml``.

A study file declares a base :class:`~hubsim.regional.RegionalDesign`, named scenarios
(changes to it, e.g. the population measured), the estimators to compare, power curves
(design fields to vary) and minimum detectable effects to solve for. :func:`run_study`
diagnoses every scenario, draws the curves, solves the MDEs and writes, atomically
(into a temporary folder renamed at the end):

- ``diagnosands.parquet`` / ``.csv``: one row per scenario and estimator;
- ``simulations.parquet``: every fit, so diagnosands can be recomputed;
- ``curves.parquet`` / ``.csv`` and ``power_<curve>.png``: power with +-2 MCSE bands;
- ``mde.parquet`` / ``.csv``;
- ``report.md``: a short written report; ``study.yaml`` (the input) and ``manifest.json``.

File format (every field is checked; unknown fields are refused)::

    name: my_study                 # used for the output folder
    title: ...                     # optional
    description: ...               # optional
    seed: 1                        # non-negative integer
    alpha: 0.05
    workers: 2                     # processes (results do not depend on it)
    sizes:                         # run sizes; "default" is required
      default: {n_sims: 200, mde_max_evals: 6}
      smoke: {n_sims: 5, mde_max_evals: 2, des_replications: 2, des_horizon_days: 250}
    design: {n_regions: 42, ...}   # RegionalDesign fields
    scenarios:                     # name -> changes to the design
      staff_survey: {population_kind: staff_survey, effect: 0.02}
    estimators: [twfe_cr1, twfe_wild, callaway_santanna, its, synthetic_control]
    curves:
      - name: effect
        vary: {effect: [0.0, 0.05, 0.1]}
        scenarios: [staff_survey]  # optional (default all)
        estimators: [twfe_cr1]     # optional (default all)
        fixed: {}                  # optional changes at every point
        paired: false              # true: zip the vary lists instead of crossing them
    mde:
      - {estimator: twfe_cr1, power: 0.8, scenarios: [staff_survey]}

DES-fed scenarios
-----------------
A scenario may take its hub effect from runs of the hub simulation instead of an assumed
``effect:`` (the two are mutually exclusive)::

    scenarios:
      waits_site_d:
        population_kind: service_waits
        effect_from_des:
          hub: ../configs/sites/site_d.yaml        # relative to the study file
          comparator: ../configs/usual_care.yaml   # optional (default: usual care)
          population: service_waits               # optional (default: population_kind)
          outcome: wait_days                      # optional (default: the population's first)
          horizon_days: 1096                      # days simulated from opening
          replications: 20                        # paired (CRN) DES replications
          seed: 7                                 # optional (default: from the study seed)
          follow_up_days: 182.6                   # cohorts: first contact to measurement
          scale: outcome                          # or standardised

:func:`run_study` calls :func:`~hubsim.power.des_effects.effect_from_des` once per distinct
run (cached by the configurations' content hashes, population, outcome, horizon,
follow-up, replications and seed; so scenarios differing only in estimators or sample
sizes share one run, and, with the default seed, every hub shares the comparator's random
numbers), applies the profile to the scenario's design and writes it to
``des_effects.parquet`` / ``.csv`` (with ``des_effects.png``) and to the report with the
DES assumptions. Scales:

- ``outcome`` (default): :meth:`DESEffect.apply_to`: the design measures the outcome in
  its own units (PHQ-9 points, days) with the DES baseline mean and SD. For continuous
  outcomes the design's ``period_sd`` and ``ar_sd`` keep their ratio to the individual SD
  (they are multiplied by ``baseline_sd / design.sd``), so the noise structure stated on
  the standardised scale carries over and the power is that of the ``standardised`` scale
  (up to Monte-Carlo error: the two designs draw their own random numbers). Binary outcomes are calibrated on the link scale so the design's risk difference
  equals the DES one (variance terms are then taken as given on the link scale).
- ``standardised``: the design keeps its mean and SD; the effect is the DES profile over
  the DES baseline SD, times the design's SD (a continuous outcome).

Run sizes can shrink the DES: ``sizes.<size>.des_replications`` and
``sizes.<size>.des_horizon_days`` are upper limits applied to every DES-fed scenario at
that size (the horizon is never cut below the follow-up plus one month), so a smoke run
stays fast. Unset, the scenario's own values are used.
"""

from __future__ import annotations

import itertools
import json
import math
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hubsim._version import __version__
from hubsim.checks import check_int
from hubsim.config.loader import _data_loc, _dotted, _line_for, _read_yaml, error_sentence
from hubsim.errors import ConfigError
from hubsim.power.des_effects import (
    DAYS_PER_MONTH,
    EIGHTEEN_WEEKS_DAYS,
    OUTCOMES,
    SIX_WEEKS_DAYS,
    DESEffect,
    effect_from_des,
)
from hubsim.power.diagnose import DIAGNOSAND_COLUMNS, ESTIMATORS, SIMULATION_COLUMNS, diagnose
from hubsim.power.grid import minimum_detectable_effect, power_curve
from hubsim.stats import mean_mcse

__all__ = [
    "CURVE_COLUMNS",
    "DES_EFFECT_COLUMNS",
    "MDE_COLUMNS",
    "STUDY_DIAGNOSAND_COLUMNS",
    "CurveSpec",
    "DESEffectSpec",
    "MDESpec",
    "SizeSpec",
    "StudyResult",
    "StudySpec",
    "load_study",
    "run_study",
]

STUDY_DIAGNOSAND_COLUMNS = ["scenario", *DIAGNOSAND_COLUMNS]
CURVE_COLUMNS = ["curve", "scenario", "x", "x_value", "series", "point", *DIAGNOSAND_COLUMNS]
MDE_COLUMNS = [
    "scenario",
    "estimator",
    "target_power",
    "mde",
    "mde_mcse",
    "method",
    "normal_approximation",
    "n_sims",
    "note",
]
DES_EFFECT_COLUMNS = [
    "scenario",
    "hub",
    "comparator",
    "population",
    "outcome",
    "event_time_months",
    "effect",
    "mcse",
    "hub_mean",
    "comparator_mean",
    "n_replications",
]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


def _known(names: Sequence[str], where: str) -> None:
    for n in names:
        if n not in ESTIMATORS:
            raise ValueError(
                f"unknown estimator name {n!r} in {where}; expected one of "
                f"{', '.join(sorted(ESTIMATORS))}."
            )


class SizeSpec(_Strict):
    """A run size: simulations per design point and MDE search length."""

    n_sims: int = Field(ge=2)
    mde_max_evals: int = Field(default=6, ge=2)
    # upper limits on every DES-fed scenario's replications and horizon at this size
    des_replications: int | None = Field(default=None, ge=1)
    des_horizon_days: float | None = Field(default=None, gt=0)


class DESEffectSpec(_Strict):
    """A scenario's hub effect derived from DES runs (``effect_from_des:``).

    Paths are relative to the study file. ``population`` defaults to the scenario's
    ``population_kind``, ``outcome`` to the population's first (PHQ-9 or wait days),
    ``seed`` to one derived from the study seed (the same for every scenario, so hubs
    compared against one comparator share its random numbers).
    """

    hub: str = Field(min_length=1)
    comparator: str | None = Field(default=None, min_length=1)
    population: Literal["staff_survey", "help_seeker_cohort", "service_waits"] | None = None
    outcome: str | None = None
    horizon_days: float = Field(default=730.5, gt=0)
    replications: int = Field(default=10, ge=1)
    seed: int | None = Field(default=None, ge=0)
    follow_up_days: float = Field(default=6 * DAYS_PER_MONTH, gt=0)
    scale: Literal["outcome", "standardised"] = "outcome"


class CurveSpec(_Strict):
    """A power curve: design fields to vary, for some scenarios and estimators."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    vary: dict[str, list[Any]] = Field(min_length=1)
    scenarios: list[str] | None = None
    estimators: list[str] | None = None
    fixed: dict[str, Any] = Field(default_factory=dict)
    paired: bool = False

    @field_validator("vary")
    @classmethod
    def _nonempty(cls, v: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for k, vals in v.items():
            if not vals:
                raise ValueError(f"vary.{k} must list at least one value.")
        return v

    @model_validator(mode="after")
    def _pairs(self) -> CurveSpec:
        if self.paired and len({len(v) for v in self.vary.values()}) > 1:
            raise ValueError(
                f"curve {self.name!r} is paired, so every vary list must have the same length."
            )
        return self

    @field_validator("estimators")
    @classmethod
    def _est(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            _known(v, "curve estimators")
        return v


class MDESpec(_Strict):
    """A minimum detectable effect to solve for."""

    estimator: str
    power: float = Field(default=0.8, gt=0, lt=1)
    scenarios: list[str] | None = None

    @field_validator("estimator")
    @classmethod
    def _est(cls, v: str) -> str:
        _known([v], "mde")
        return v


class StudySpec(_Strict):
    """A power study (see the module docstring for the file format)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    title: str = ""
    description: str = ""
    seed: int = Field(ge=0)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    workers: int = Field(default=1, ge=1)
    sizes: dict[str, SizeSpec]
    design: dict[str, Any] = Field(default_factory=dict)
    scenarios: dict[str, dict[str, Any]] = Field(default_factory=lambda: {"base": {}})
    estimators: list[str] = Field(min_length=1)
    curves: list[CurveSpec] = Field(default_factory=list)
    mde: list[MDESpec] = Field(default_factory=list)

    @field_validator("estimators")
    @classmethod
    def _est(cls, v: list[str]) -> list[str]:
        _known(v, "estimators")
        if len(set(v)) != len(v):
            raise ValueError("estimators must not repeat a name.")
        return v

    @field_validator("sizes")
    @classmethod
    def _sizes(cls, v: dict[str, SizeSpec]) -> dict[str, SizeSpec]:
        if "default" not in v:
            raise ValueError(
                "sizes must define a 'default' size (and may define others, e.g. 'smoke')."
            )
        return v

    @field_validator("scenarios")
    @classmethod
    def _scen(cls, v: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        if not v:
            raise ValueError("scenarios must name at least one scenario (use {base: {}}).")
        return v

    @model_validator(mode="after")
    def _names(self) -> StudySpec:
        names = [c.name for c in self.curves]
        if len(set(names)) != len(names):
            raise ValueError("curve names must be unique.")
        return self


# ---------------------------------------------------------------------------------------
# Loading with clear errors
# ---------------------------------------------------------------------------------------


def _fields_at(loc: tuple) -> list[str]:
    """Field names allowed at a YAML location (for 'did you mean' hints)."""
    parent = tuple(loc[:-1])
    if not parent:
        return list(StudySpec.model_fields)
    if len(parent) >= 3 and parent[0] == "scenarios" and parent[2] == "effect_from_des":
        return list(DESEffectSpec.model_fields)
    if parent[0] == "scenarios":
        return [*_design_cls().model_fields, "effect_from_des"]
    if parent[0] == "design" or (
        len(parent) >= 3 and parent[0] == "curves" and parent[2] == "fixed"
    ):
        return list(_design_cls().model_fields)
    if parent[0] == "sizes":
        return list(SizeSpec.model_fields)
    if parent[0] == "curves":
        return list(CurveSpec.model_fields)
    if parent[0] == "mde":
        return list(MDESpec.model_fields)
    return []


def _msg(err: dict[str, Any], full: tuple = ()) -> str:
    return error_sentence(err, full or tuple(err["loc"]), _fields_at)


def _sentences(exc: ValidationError, prefix: tuple, data: Any, where: dict, path: str) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        # keep only the parts of pydantic's location that address the YAML data
        full = (*prefix, *_data_loc(tuple(err["loc"]), data))
        f, line = _line_for(full, where, path)
        text = _msg(err, full)
        text = text if text.endswith((".", "?")) else text + "."
        out.append(f"{f}, line {line}: {_dotted(full)}: {text}")
    return out


def _design_cls():
    from hubsim.regional import RegionalDesign

    return RegionalDesign


# ---------------------------------------------------------------------------------------
# DES-fed scenarios
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DESPlan:
    """A checked ``effect_from_des`` block: resolved paths, loaded configurations."""

    scenario: str
    spec: DESEffectSpec
    hub_path: Path
    comparator_path: Path | None
    hub: Any  # ServiceConfig
    comparator: Any  # ServiceConfig
    population: str
    outcome: str
    where: tuple[str, int]


def _des_plan(
    name: str, block: Any, design: Any, where: dict, path: str
) -> tuple[_DESPlan | None, list[str]]:
    """Check one ``effect_from_des`` block and load its configurations."""
    from hubsim.config import load_config
    from hubsim.power.des_effects import _default_comparator

    loc = ("scenarios", name, "effect_from_des")
    try:
        ds = DESEffectSpec.model_validate(block)
    except ValidationError as exc:
        return None, _sentences(exc, loc, block, where, path)

    def at(field_name: str | None) -> str:
        full = loc if field_name is None else (*loc, field_name)
        f, line = _line_for(full, where, path)
        return f"{f}, line {line}: {_dotted(full)}"

    problems: list[str] = []
    population = ds.population or design.population_kind
    outcome = ds.outcome or OUTCOMES[population][0]
    if outcome not in OUTCOMES[population]:
        problems.append(
            f"{at('outcome')}: outcome {outcome!r} is not available for {population}; "
            f"expected one of {', '.join(OUTCOMES[population])}."
        )
    lag = 0.0 if population == "staff_survey" else ds.follow_up_days
    if math.floor((ds.horizon_days - lag) / DAYS_PER_MONTH + 1e-9) < 1:
        need = lag + DAYS_PER_MONTH
        problems.append(
            f"{at('horizon_days')}: horizon_days {ds.horizon_days:g} is too short; expected at "
            f"least {need:.1f} days (one month"
            + (f" plus the follow-up of {lag:g} days)." if lag else ").")
        )
    for oc, need in (
        ("treated_within_18w", EIGHTEEN_WEEKS_DAYS),
        ("treated_within_6w", SIX_WEEKS_DAYS),
    ):
        if outcome == oc and ds.follow_up_days < need:
            problems.append(
                f"{at('follow_up_days')}: follow_up_days must be at least {need:g} for {oc}, "
                f"got {ds.follow_up_days:g}."
            )
    base_dir = Path(path).parent
    configs: dict[str, Any] = {}
    paths: dict[str, Path | None] = {}
    for key in ("hub", "comparator"):
        rel = getattr(ds, key)
        if rel is None:
            paths[key] = None
            try:
                configs[key] = _default_comparator()
            except (ValueError, ConfigError) as exc:
                problems.append(
                    f"{at(None)}: no comparator was given and the default failed: {exc}"
                )
            continue
        target = base_dir / rel
        paths[key] = target
        if not target.is_file():
            problems.append(
                f"{at(key)}: configuration file {rel!r} not found (looked for {target}); "
                "expected a service configuration YAML, relative to the study file."
            )
            continue
        try:
            configs[key] = load_config(target)
        except ConfigError as exc:
            problems += [
                f"{at(key)}: {rel} is not a valid service configuration: {_end(prob)}"
                for prob in exc.problems
            ]
    if problems:
        return None, problems
    return (
        _DESPlan(
            scenario=name,
            spec=ds,
            hub_path=paths["hub"],
            comparator_path=paths["comparator"],
            hub=configs["hub"],
            comparator=configs["comparator"],
            population=population,
            outcome=outcome,
            where=_line_for(loc, where, path),
        ),
        [],
    )


def _end(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "?")) else text + "."


def _des_seed(study_seed: int) -> int:
    """The DES seed used when a block gives none: one per study seed, for every scenario."""
    from hubsim.rng import seed_sequence

    return int(seed_sequence(int(study_seed), "effect_from_des").generate_state(1)[0])


def _des_settings(plan: _DESPlan, size: SizeSpec, study_seed: int) -> dict[str, Any]:
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


def _run_des(
    plans: dict[str, _DESPlan], size: SizeSpec, study_seed: int, workers: int
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
        key = (
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
        if key not in cache:
            try:
                res = effect_from_des(plan.hub, plan.comparator, workers=workers, **kw)
            except ValueError as exc:
                f, line = plan.where
                raise ConfigError(
                    f"{f}, line {line}: scenarios.{name}.effect_from_des: {_end(str(exc))}"
                ) from None
            cache[key] = (len(cache), res)
        run, effects[name] = cache[key]
        settings[name] = {**kw, "run": run}
    return effects, settings, len(cache)


def _months_per_period(design: Any) -> int:
    if design.period_unit == "month":
        return 1
    per_year = design.periods_per_year or 1.0
    k = 12.0 / per_year
    if abs(k - round(k)) > 1e-9 or round(k) < 1:
        raise ValueError(f"periods_per_year must divide 12 to map months to waves, got {per_year}.")
    return round(k)


def _apply_des(des: DESEffect, design: Any, scale: str) -> Any:
    """The scenario design with the DES effect (see the module notes on scales)."""
    from hubsim.regional import DynamicEffect

    if scale == "standardised":
        k = _months_per_period(design)
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


def _replicate_atts(des: DESEffect, design: Any, scale: str) -> pd.Series:
    """The design's ATT computed from each DES replication's own profile.

    The ATT is linear in the profile, so these average to the design's ATT and their SD
    over sqrt(replications) is its Monte-Carlo SE from the DES. Empty for binary outcomes
    on the outcome scale (the link-scale calibration is not linear); replications missing
    a month are left out. Indexed by replication.
    """
    from hubsim.regional import DynamicEffect

    if des.binary and scale == "outcome":
        return pd.Series(dtype=float)
    k = _months_per_period(design)
    factor = 1.0 if scale == "outcome" else design.sd / des.baseline_sd
    reps = des.replicates.pivot(index="replication", columns="event_time_months", values="effect")
    out = {}
    for r, v in zip(reps.index, reps.to_numpy(dtype=float), strict=True):
        if not np.all(np.isfinite(v)):
            continue
        per = [float(v[e * k : (e + 1) * k].mean()) * factor for e in range(math.ceil(v.size / k))]
        out[int(r)] = design.replace(effect=DynamicEffect(profile=tuple(per))).estimand().att
    return pd.Series(out, dtype=float)


def _mcse(x: np.ndarray) -> float:
    return mean_mcse(x)[1]


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


def _plot_des(frame: pd.DataFrame, effects: dict[str, DESEffect], folder: Path) -> list[str]:
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


def _des_report(
    spec: StudySpec,
    designs: dict[str, Any],
    diag: pd.DataFrame,
    effects: dict[str, DESEffect],
    settings: dict[str, dict[str, Any]],
    plans: dict[str, _DESPlan],
    curves: pd.DataFrame,
) -> list[str]:
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


def _build_designs(
    spec: StudySpec, where: dict, path: str
) -> tuple[dict[str, Any], dict[str, _DESPlan]]:
    """The scenario designs (validated now, so no simulation starts from a bad design)."""
    RD = _design_cls()
    problems: list[str] = []
    for part, items in (("curves", spec.curves), ("mde", spec.mde)):
        for i, c in enumerate(items):
            for j, sname in enumerate(c.scenarios or []):
                if sname not in spec.scenarios:
                    f, line = _line_for((part, i, "scenarios", j), where, path)
                    problems.append(
                        f"{f}, line {line}: {part}[{i}].scenarios[{j}]: unknown scenario "
                        f"{sname!r}; expected one of {', '.join(spec.scenarios)}."
                    )
    if problems:
        raise ConfigError(problems)
    designs: dict[str, Any] = {}
    try:
        base = RD(**spec.design)
    except ValidationError as exc:
        raise ConfigError(_sentences(exc, ("design",), spec.design, where, path)) from None
    except (TypeError, ValueError) as exc:
        f, line = _line_for(("design",), where, path)
        raise ConfigError(f"{f}, line {line}: design: {exc}") from None
    plans: dict[str, _DESPlan] = {}
    for name, raw in spec.scenarios.items():
        changes = {k: v for k, v in raw.items() if k != "effect_from_des"}
        if "effect_from_des" in raw and "effect" in raw:
            f, line = _line_for(("scenarios", name, "effect_from_des"), where, path)
            e_line = _line_for(("scenarios", name, "effect"), where, path)[1]
            problems.append(
                f"{f}, line {line}: scenarios.{name}.effect_from_des: a scenario takes either "
                f"effect (line {e_line}) or effect_from_des, not both; expected one of them."
            )
            continue
        try:
            designs[name] = base.replace(**changes)
        except ValidationError as exc:
            problems += _sentences(exc, ("scenarios", name), changes, where, path)
            continue
        except (TypeError, ValueError) as exc:
            f, line = _line_for(("scenarios", name), where, path)
            problems.append(f"{f}, line {line}: scenarios.{name}: {exc}")
            continue
        if "effect_from_des" in raw:
            plan, found = _des_plan(name, raw["effect_from_des"], designs[name], where, path)
            problems += found
            if plan is not None:
                plans[name] = plan
    for i, c in enumerate(spec.curves):
        for s in c.scenarios or list(spec.scenarios):
            if s not in designs:
                continue
            keys = list(c.vary)
            ranges = [range(len(c.vary[k])) for k in keys]
            index_sets = zip(*ranges, strict=True) if c.paired else itertools.product(*ranges)
            for idx in index_sets:
                point = {k: c.vary[k][j] for k, j in zip(keys, idx, strict=True)}
                try:
                    designs[s].replace(**{**c.fixed, **point})
                except (ValidationError, TypeError, ValueError) as exc:
                    k, j = keys[-1], idx[-1]
                    f, line = _line_for(("curves", i, "vary", k, j), where, path)
                    first = (
                        exc.errors(include_url=False)[0]
                        if isinstance(exc, ValidationError)
                        else None
                    )
                    text = (_msg(first) if first else str(exc)).rstrip(".")
                    shown = ", ".join(f"{kk}={vv!r}" for kk, vv in point.items())
                    problems.append(
                        f"{f}, line {line}: curves[{i}].vary: the point {shown} of scenario "
                        f"{s} is not a valid design: {text}."
                    )
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    return designs, plans


def load_study(path: str | os.PathLike[str]) -> tuple[StudySpec, dict[str, Any]]:
    """Read and validate a study file and build its scenario designs.

    DES-fed scenarios (``effect_from_des:``) are checked here (their configurations are
    loaded and validated) but their designs are returned *before* the DES effect is
    applied: :func:`run_study` runs the DES and applies it.

    Raises
    ------
    hubsim.errors.ConfigError
        One sentence per problem naming the file, line, field path and what was expected.

    Examples
    --------
    >>> spec, designs = load_study("experiments/power_naturalistic_evaluation.yaml")  # doctest: +SKIP
    """
    spec, designs, _ = _load(path)
    return spec, designs


def _load(path: str | os.PathLike[str]) -> tuple[StudySpec, dict[str, Any], dict[str, _DESPlan]]:
    p = Path(path)
    data, where = _read_yaml(p)
    if not isinstance(data, dict):
        raise ConfigError(f"{p}, line 1: (document): expected a mapping of study fields.")
    try:
        spec = StudySpec(**data)
    except ValidationError as exc:
        raise ConfigError(_sentences(exc, (), data, where, str(p))) from None
    designs, plans = _build_designs(spec, where, str(p))
    return spec, designs, plans


# ---------------------------------------------------------------------------------------
# Running
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StudyResult:
    """What :func:`run_study` computed and where it wrote it.

    Attributes
    ----------
    out : pathlib.Path
        The output folder.
    diagnosands, curves, mde, simulations : pandas.DataFrame
        :data:`STUDY_DIAGNOSAND_COLUMNS`, :data:`CURVE_COLUMNS`, :data:`MDE_COLUMNS`, and
        the per-simulation fits (``scenario`` + ``SIMULATION_COLUMNS``).
    files : tuple of str
        Files written (relative to ``out``).
    n_sims, seed : int
    seconds : float
        Wall time.
    size : str
        The run size used.
    des_effects : pandas.DataFrame
        :data:`DES_EFFECT_COLUMNS`: the DES-derived effect profile of every DES-fed scenario
        (empty when there are none).
    des : dict of str to DESEffect
        The DES results by scenario (scenarios sharing a run share the object).
    """

    out: Path
    spec: StudySpec
    diagnosands: pd.DataFrame
    curves: pd.DataFrame
    mde: pd.DataFrame
    simulations: pd.DataFrame
    files: tuple[str, ...]
    n_sims: int
    seed: int
    seconds: float
    size: str = "default"
    des_effects: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=DES_EFFECT_COLUMNS), repr=False
    )
    des: dict[str, DESEffect] = field(default_factory=dict, repr=False)
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def tidy(self) -> pd.DataFrame:
        """The diagnosands, one row per scenario and estimator."""
        return self.diagnosands.copy()

    def summary(self) -> str:
        """A few lines: where the results are and the headline numbers."""
        lines = [
            f"{self.spec.name}: {self.n_sims} simulations per design point, seed "
            f"{self.seed}, {self.seconds:.0f} s; results in {self.out}"
        ]
        wide = max([20, *(len(str(x)) for x in self.diagnosands["scenario"])])
        for _, r in self.diagnosands.iterrows():
            lines.append(
                f"  {r['scenario']:<{wide}} {r['estimator']:<18} power {r['power']:.2f} "
                f"({r['power_mcse']:.2f})  bias {r['bias']:+.4f} ({r['bias_mcse']:.4f})  "
                f"coverage {r['coverage']:.2f}"
            )
        for _, r in self.mde.iterrows():
            lines.append(
                f"  MDE {r['scenario']} {r['estimator']}: {r['mde']:.4g} (MCSE {r['mde_mcse']:.2g})"
            )
        for s, des in self.des.items():
            prof = des.profile["effect"]
            lines.append(
                f"  DES {s}: {des.hub} vs {des.comparator}, {des.population}/{des.outcome}: "
                f"mean effect {prof.mean():+.4g} {des.units} over months 0-{len(prof) - 1} "
                f"({des.replications} replications)"
            )
        return "\n".join(lines)


def _cell(v: Any) -> Any:
    if v is None or isinstance(v, int | float | str | bool | np.integer | np.floating):
        return v
    return str(v)


def _curve_rows(
    spec: StudySpec, designs: dict[str, Any], n: int, seed: int, workers: int, progress: bool | None
) -> pd.DataFrame:
    frames = []
    for c in spec.curves:
        x = next(iter(c.vary))
        # paired fields move with x, so they do not define separate series
        others = [] if c.paired else [k for k in c.vary if k != x]
        for s in c.scenarios or list(spec.scenarios):
            pc = power_curve(
                designs[s],
                c.vary,
                c.estimators or spec.estimators,
                n_sims=n,
                seed=seed,
                alpha=spec.alpha,
                workers=workers,
                fixed=c.fixed,
                paired=c.paired,
                progress=progress,
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


def _plot_curves(curves: pd.DataFrame, spec: StudySpec, folder: Path) -> list[str]:
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


def _report(
    spec: StudySpec,
    designs: dict[str, Any],
    diag: pd.DataFrame,
    curves: pd.DataFrame,
    mde: pd.DataFrame,
    figs: list[str],
    n: int,
    seed: int,
    size: str,
    secs: float,
    des: tuple | None = None,
) -> str:
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
    if des is not None and des[0]:
        effects, settings, plans, des_figs = des
        L += _des_report(spec, designs, diag, effects, settings, plans, curves)
        L += [f"![{f}]({f})" for f in des_figs]
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


def run_study(
    path: str | os.PathLike[str],
    n_sims: int | None = None,
    seed: int | None = None,
    out: str | os.PathLike[str] | None = None,
    *,
    size: str = "default",
    workers: int | None = None,
    progress: bool | None = None,
) -> StudyResult:
    """Run a power study file and write its results atomically.

    Parameters
    ----------
    path : path-like
        The study YAML.
    n_sims : int, optional
        Simulations per design point (overrides the size's ``n_sims``).
    seed : int, optional
        Overrides the file's seed.
    out : path-like, optional
        Output folder (default ``results/power/<name>``, or ``<name>-<size>`` for a size
        other than default). An existing folder is replaced only once the new one is
        complete.
    size : str
        A size defined in the file's ``sizes`` (e.g. ``"smoke"`` for CI).
    workers : int, optional
        Processes (default: the file's ``workers``).
    progress : bool, optional
        Progress on stderr (default only when stderr is a terminal).

    Returns
    -------
    StudyResult

    Raises
    ------
    hubsim.errors.ConfigError
        A bad study file, size or override; nothing is simulated or written.

    Examples
    --------
    >>> res = run_study("experiments/power_naturalistic_evaluation.yaml", size="smoke",
    ...                 out="/tmp/pne")  # doctest: +SKIP
    """
    t0 = time.monotonic()
    spec, designs, plans = _load(path)
    if size not in spec.sizes:
        raise ConfigError(
            f"{path}: size {size!r} is not defined; expected one of {', '.join(spec.sizes)}."
        )
    sz = spec.sizes[size]
    for flag, value, low in (("--n-sims", n_sims, 2), ("--seed", seed, 0), ("workers", workers, 1)):
        if value is not None:
            try:
                check_int(flag, value, low)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
    n = n_sims if n_sims is not None else sz.n_sims
    sd = seed if seed is not None else spec.seed
    w = workers if workers is not None else spec.workers
    # the DES runs before anything is written, so a DES failure leaves no output
    des_effects, des_settings, n_runs = _run_des(plans, sz, sd, w)
    for s_name, des in des_effects.items():
        try:
            designs[s_name] = _apply_des(des, designs[s_name], plans[s_name].spec.scale)
        except (ValidationError, ValueError) as exc:
            f, line = plans[s_name].where
            raise ConfigError(
                f"{f}, line {line}: scenarios.{s_name}.effect_from_des: the DES effect cannot "
                f"be applied to the design: {_end(str(exc))}"
            ) from None
    des_frame = _des_frame(des_effects)
    default_name = spec.name if size == "default" else f"{spec.name}-{size}"
    dest = Path(out) if out is not None else Path("results") / "power" / default_name
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".{dest.name}.tmp-{os.getpid()}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        diag_frames, sim_frames = [], []
        for s, d in designs.items():
            res = diagnose(
                d,
                spec.estimators,
                n_sims=n,
                seed=sd,
                alpha=spec.alpha,
                workers=w,
                progress=progress,
            )
            diag_frames.append(res.diagnosands.assign(scenario=s)[STUDY_DIAGNOSAND_COLUMNS])
            sim_frames.append(res.simulations.assign(scenario=s)[["scenario", *SIMULATION_COLUMNS]])
        diag = pd.concat(diag_frames, ignore_index=True)
        sims = pd.concat(sim_frames, ignore_index=True)
        curves = _curve_rows(spec, designs, n, sd, w, progress)
        mde_rows = []
        for m in spec.mde:
            for s in m.scenarios or list(spec.scenarios):
                try:
                    r = minimum_detectable_effect(
                        designs[s],
                        m.estimator,
                        power=m.power,
                        n_sims=n,
                        seed=sd,
                        alpha=spec.alpha,
                        max_evals=sz.mde_max_evals,
                        workers=w,
                        progress=progress,
                    )
                    row = {
                        "mde": r.effect,
                        "mde_mcse": r.mcse,
                        "method": r.method,
                        "normal_approximation": r.normal_approximation,
                        "note": r.note,
                    }
                except ValueError as exc:
                    # one failed search must not discard a long study: it is reported in
                    # the MDE table and the report instead
                    row = {
                        "mde": math.nan,
                        "mde_mcse": math.nan,
                        "method": "simulation",
                        "normal_approximation": math.nan,
                        "note": f"the MDE search failed: {_end(str(exc))}",
                    }
                if s in des_effects:
                    unit = f"a constant effect in {des_effects[s].units}."
                    row["note"] = f"{unit} {row['note']}".strip()
                mde_rows.append(
                    {
                        "scenario": s,
                        "estimator": m.estimator,
                        "target_power": m.power,
                        "n_sims": n,
                        **row,
                    }
                )
        mde = pd.DataFrame(mde_rows, columns=MDE_COLUMNS)
        files = []
        for stem, frame, csv in (
            ("diagnosands", diag, True),
            ("simulations", sims, False),
            ("curves", curves, True),
            ("mde", mde, True),
        ):
            frame.to_parquet(tmp / f"{stem}.parquet", index=False)
            files.append(f"{stem}.parquet")
            if csv:
                frame.to_csv(tmp / f"{stem}.csv", index=False)
                files.append(f"{stem}.csv")
        figs = _plot_curves(curves, spec, tmp) if len(curves) else []
        files += figs
        des_figs: list[str] = []
        if des_effects:
            des_frame.to_parquet(tmp / "des_effects.parquet", index=False)
            des_frame.to_csv(tmp / "des_effects.csv", index=False)
            des_figs = _plot_des(des_frame, des_effects, tmp)
            files += ["des_effects.parquet", "des_effects.csv", *des_figs]
        secs = time.monotonic() - t0
        (tmp / "report.md").write_text(
            _report(
                spec,
                designs,
                diag,
                curves,
                mde,
                figs,
                n,
                sd,
                size,
                secs,
                (des_effects, des_settings, plans, des_figs),
            ),
            encoding="utf-8",
        )
        shutil.copyfile(path, tmp / "study.yaml")
        manifest = {
            "study": spec.name,
            "source": str(path),
            "size": size,
            "n_sims": n,
            "seed": sd,
            "alpha": spec.alpha,
            "workers": w,
            "hubsim": __version__,
            "seconds": round(secs, 2),
            "files": [*files, "report.md", "study.yaml"],
        }
        if des_effects:
            manifest["des_runs"] = n_runs
            manifest["des_effects"] = {
                s_name: {
                    "hub": str(plans[s_name].hub_path),
                    "hub_hash": plans[s_name].hub.content_hash,
                    "comparator": (
                        str(plans[s_name].comparator_path)
                        if plans[s_name].comparator_path
                        else None
                    ),
                    "comparator_hash": plans[s_name].comparator.content_hash,
                    "scale": plans[s_name].spec.scale,
                    **des_settings[s_name],
                }
                for s_name in des_effects
            }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        files += ["report.md", "study.yaml", "manifest.json"]
        old = None
        if dest.exists():
            old = dest.parent / f".{dest.name}.old-{os.getpid()}"
            dest.rename(old)
        tmp.rename(dest)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return StudyResult(
        dest,
        spec,
        diag,
        curves,
        mde,
        sims,
        tuple(files),
        n,
        sd,
        time.monotonic() - t0,
        size,
        des_effects=des_frame,
        des=des_effects,
    )
