"""Power-study files: the spec, its loading and checking (``hubsim power STUDY.yaml``).

A study file declares a base :class:`~hubsim.regional.RegionalDesign`, named scenarios
(changes to it, e.g. the population measured), the estimators to compare, power curves
(design fields to vary) and minimum detectable effects to solve for. :func:`read_study`
reads and checks a file into a :class:`StudyPlan` (nothing is simulated yet: every
problem is reported first, one sentence each with its file and line);
:func:`hubsim.evaluation.run_study` runs it (:mod:`~hubsim.evaluation.runner`) and writes,
atomically (:mod:`~hubsim.evaluation.writer`; into a temporary folder renamed at the end):

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
    B: 399                         # optional: bootstrap draws / permutations of every
                                   # estimator that takes B (default each one's own, 999)
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
        estimators: [twfe_cr1]     # optional (default all); "recommended": the scenario's
                                   # recommended estimator (see below)
        fixed: {}                  # optional changes at every point
        paired: false              # true: zip the vary lists instead of crossing them
    mde:
      - {estimator: recommended, power: 0.8, scenarios: [staff_survey]}

The recommended estimator of a scenario is chosen from its diagnosands by a stated rule
(:func:`hubsim.evaluation.findings.recommend`: unbiased within 3 MCSE, coverage within 3
MCSE of nominal and not oversized, a usable test, then the highest power), and the report
opens with key findings per measured population built from it.

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

:func:`~hubsim.evaluation.run_study` calls :func:`~hubsim.evaluation.des_effects.effect_from_des` once per distinct
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
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hubsim.config import load_config
from hubsim.config.loader import (
    data_location,
    dotted_path,
    end_sentence,
    error_sentence,
    line_for,
    read_yaml,
)
from hubsim.errors import ConfigError
from hubsim.evaluation.des_effects import (
    DAYS_PER_MONTH,
    OUTCOMES,
    default_comparator,
    des_request_problems,
)
from hubsim.experiment.spec import wrong_kind
from hubsim.power.diagnose import ESTIMATORS
from hubsim.regional import RegionalDesign

__all__ = [
    "CurveSpec",
    "DESEffectSpec",
    "DESPlan",
    "MDESpec",
    "SizeSpec",
    "StudyPlan",
    "StudySpec",
    "load_study",
    "read_study",
]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


#: In curves and MDE requests: the scenario's recommended estimator (chosen from its
#: diagnosands by the rule in :mod:`hubsim.evaluation.findings`).
RECOMMENDED = "recommended"


def _known(names: Sequence[str], where: str, *, recommended: bool = False) -> None:
    for n in names:
        if n not in ESTIMATORS and not (recommended and n == RECOMMENDED):
            extra = f" or {RECOMMENDED!r}" if recommended else ""
            raise ValueError(
                f"unknown estimator name {n!r} in {where}; expected one of "
                f"{', '.join(sorted(ESTIMATORS))}{extra}."
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
            _known(v, "curve estimators", recommended=True)
        return v


class MDESpec(_Strict):
    """A minimum detectable effect to solve for."""

    estimator: str
    power: float = Field(default=0.8, gt=0, lt=1)
    scenarios: list[str] | None = None

    @field_validator("estimator")
    @classmethod
    def _est(cls, v: str) -> str:
        _known([v], "mde", recommended=True)
        return v


class StudySpec(_Strict):
    """A power study (see the module docstring for the file format)."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")
    title: str = ""
    description: str = ""
    seed: int = Field(ge=0)
    alpha: float = Field(default=0.05, gt=0, lt=1)
    workers: int = Field(default=1, ge=1)
    B: int | None = Field(default=None, ge=19)
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
        return [*RegionalDesign.model_fields, "effect_from_des"]
    if parent[0] == "design" or (
        len(parent) >= 3 and parent[0] == "curves" and parent[2] == "fixed"
    ):
        return list(RegionalDesign.model_fields)
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
        full = (*prefix, *data_location(tuple(err["loc"]), data))
        f, line = line_for(full, where, path)
        text = _msg(err, full)
        text = text if text.endswith((".", "?")) else text + "."
        out.append(f"{f}, line {line}: {dotted_path(full)}: {text}")
    return out


# ---------------------------------------------------------------------------------------
# DES-fed scenarios
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DESPlan:
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
) -> tuple[DESPlan | None, list[str]]:
    """Check one ``effect_from_des`` block and load its configurations."""
    loc = ("scenarios", name, "effect_from_des")
    try:
        ds = DESEffectSpec.model_validate(block)
    except ValidationError as exc:
        return None, _sentences(exc, loc, block, where, path)

    def at(field_name: str | None) -> str:
        full = loc if field_name is None else (*loc, field_name)
        f, line = line_for(full, where, path)
        return f"{f}, line {line}: {dotted_path(full)}"

    problems: list[str] = []
    population = ds.population or design.population_kind
    outcome = ds.outcome or OUTCOMES[population][0]
    for field_name, sentence in des_request_problems(
        population, outcome, ds.horizon_days, ds.follow_up_days
    ):
        problems.append(f"{at(field_name)}: {sentence}")
    base_dir = Path(path).parent
    configs: dict[str, Any] = {}
    paths: dict[str, Path | None] = {}
    for key in ("hub", "comparator"):
        rel = getattr(ds, key)
        if rel is None:
            paths[key] = None
            try:
                configs[key] = default_comparator()
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
                f"{at(key)}: {rel} is not a valid service configuration: {end_sentence(prob)}"
                for prob in exc.problems
            ]
    if problems:
        return None, problems
    return (
        DESPlan(
            scenario=name,
            spec=ds,
            hub_path=paths["hub"],
            comparator_path=paths["comparator"],
            hub=configs["hub"],
            comparator=configs["comparator"],
            population=population,
            outcome=outcome,
            where=line_for(loc, where, path),
        ),
        [],
    )


def _build_designs(
    spec: StudySpec, where: dict, path: str
) -> tuple[dict[str, Any], dict[str, DESPlan]]:
    """The scenario designs (validated now, so no simulation starts from a bad design)."""
    RD = RegionalDesign
    problems: list[str] = []
    for part, items in (("curves", spec.curves), ("mde", spec.mde)):
        for i, c in enumerate(items):
            for j, sname in enumerate(c.scenarios or []):
                if sname not in spec.scenarios:
                    f, line = line_for((part, i, "scenarios", j), where, path)
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
        f, line = line_for(("design",), where, path)
        raise ConfigError(f"{f}, line {line}: design: {exc}") from None
    plans: dict[str, DESPlan] = {}
    for name, raw in spec.scenarios.items():
        changes = {k: v for k, v in raw.items() if k != "effect_from_des"}
        if "effect_from_des" in raw and "effect" in raw:
            f, line = line_for(("scenarios", name, "effect_from_des"), where, path)
            e_line = line_for(("scenarios", name, "effect"), where, path)[1]
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
            f, line = line_for(("scenarios", name), where, path)
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
                    f, line = line_for(("curves", i, "vary", k, j), where, path)
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
    applied: :func:`~hubsim.evaluation.run_study` runs the DES and applies it.

    Raises
    ------
    hubsim.errors.ConfigError
        One sentence per problem naming the file, line, field path and what was expected.

    Examples
    --------
    >>> from hubsim.resources import experiment_path
    >>> spec, designs = load_study(experiment_path("naturalistic_evaluation"))
    >>> spec.name, len(designs) > 0
    ('power_naturalistic_evaluation', True)
    """
    plan = read_study(path)
    return plan.spec, plan.designs


@dataclass(frozen=True)
class StudyPlan:
    """A checked study file: the spec, the scenario designs and the DES-fed scenarios' plans.

    ``designs`` are as the file states them; a DES-fed scenario's effect is applied when
    the study runs (:func:`hubsim.evaluation.evaluate`).
    """

    path: Path
    spec: StudySpec
    designs: dict[str, Any]
    des_plans: dict[str, DESPlan]


def read_study(path: str | os.PathLike[str]) -> StudyPlan:
    """Read and check a study file into a :class:`StudyPlan` (raises ConfigError).

    Examples
    --------
    >>> from hubsim.resources import experiment_path
    >>> plan = read_study(experiment_path("naturalistic_evaluation"))
    >>> sorted(plan.des_plans)[:2]
    ['help_seekers_site_d', 'waits_site_d']
    """
    p = Path(path)
    data, where = read_yaml(p)
    if not isinstance(data, dict):
        raise ConfigError(f"{p}, line 1: (document): expected a mapping of study fields.")
    mismatch = wrong_kind(data, where, str(p), "power")
    if mismatch is not None:
        raise ConfigError(mismatch)
    try:
        spec = StudySpec(**data)
    except ValidationError as exc:
        raise ConfigError(_sentences(exc, (), data, where, str(p))) from None
    designs, plans = _build_designs(spec, where, str(p))
    return StudyPlan(p, spec, designs, plans)
