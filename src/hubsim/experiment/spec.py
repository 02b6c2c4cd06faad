"""Experiment files: scenarios of a hub, replications, window and executor, checked strictly.

``hubsim experiment FILE`` runs one (:func:`hubsim.experiment.run_experiment`). Every
field is checked before anything runs; unknown fields are refused; each problem is one
sentence naming the file, the line, the field path and what was expected::

    name: site_d_staffing            # also the default output folder, results/<name>
    title: Site D staffing options    # optional; description: optional
    base: site_d                      # a shipped configuration or a YAML path (relative
                                      # to this file)
    seed: 2024
    window:                           # the calendar dates the KPIs cover: the run starts
      start: 2021-04-01               # at the configuration's period start, KPIs count
      end: 2022-03-31                 # clients referred from `start`, and it ends at `end`
    replications: 20                  # fixed, or chosen by the replications algorithm:
    # replications: {kpis: [wait_to_treatment_mean_days], relative_half_width: 0.05,
    #                initial: 5, max: 60, look_ahead: 5, level: 0.95}
    baseline: as_mapped               # default: the first scenario
    kpis: [wait_to_treatment_mean_days, ...]   # reported (default: the main KPIs)
    scenarios:                        # name -> delta on the base configuration
      as_mapped: {}
      band_shift: {extends: site_d_band_shift}               # another configuration
      more_staff: {vary: {"service.workforce.roles[therapists].wte": 6.4}}
    grids:                            # scenarios generated from lists of values
      - name: therapists
        vary: {"service.workforce.roles[therapists].wte": [4.4, 6.4, 8.4]}
        paired: false                 # true: zip equal-length lists instead of crossing
    executor: {kind: local, workers: 2}   # or {kind: dask, scheduler: tcp://host:8786}

A scenario's ``extends:`` names a shipped configuration or a file relative to the
experiment file (the full configuration; the base is then not used); ``vary:`` paths are
those of :func:`hubsim.config.vary` (``name[id]`` picks a role, group or service by id);
both may be given (``vary`` applies on top of ``extends``). Every scenario runs on common
random numbers: replication ``r`` of each sees the same clients.

The replications algorithm is Hoad, Robinson & Davies (2010), *Automated selection of
the number of replications for a discrete-event simulation*, J. Oper. Res. Soc. 61:
1632-1644: run ``initial`` replications, add one at a time until the confidence interval
of every named KPI in every scenario has a half-width within the target (relative: a share
of the mean; absolute: in the KPI's units), then run ``look_ahead`` more and stop only if
the target still holds at each of them (otherwise carry on); never more than ``max``.

Examples
--------
>>> from hubsim.resources import experiment_path
>>> plan = read_experiment(experiment_path("site_d_staffing"))
>>> list(plan.scenarios)[:2]
['as_mapped', 'band_shift']
>>> plan.baseline, plan.window_start.isoformat()
('as_mapped', '2021-04-01')
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hubsim.config import ServiceConfig, load_config, vary
from hubsim.config.loader import (
    data_location,
    dotted_path,
    end_sentence,
    error_sentence,
    line_for,
    read_yaml,
)
from hubsim.des.window import resolve_window
from hubsim.errors import ConfigError
from hubsim.experiment.compare import DEFAULT_KPIS
from hubsim.resources import is_bare_word, resolve_config, resolve_experiment

__all__ = [
    "ExecutorSpec",
    "ExperimentPlan",
    "ExperimentSpec",
    "GridSpec",
    "ReplicationTarget",
    "ScenarioPlan",
    "ScenarioSpec",
    "WindowSpec",
    "detect_kind",
    "read_experiment",
    "wrong_kind",
]

_NAME = r"^[A-Za-z0-9_\-]+$"


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WindowSpec(_Strict):
    """The calendar dates the KPIs cover (inside every scenario's simulated period)."""

    start: dt.date
    end: dt.date

    @model_validator(mode="after")
    def _order(self) -> WindowSpec:
        if self.end <= self.start:
            raise ValueError(f"window end {self.end} must be after its start {self.start}.")
        return self


class ReplicationTarget(_Strict):
    """Replications chosen by the Hoad-Robinson-Davies (2010) replications algorithm."""

    kpis: list[str] = Field(min_length=1)
    relative_half_width: float | None = Field(default=None, gt=0)
    absolute_half_width: float | None = Field(default=None, gt=0)
    level: float = Field(default=0.95, gt=0, lt=1)
    initial: int = Field(default=5, ge=3)
    max: int = Field(default=100, ge=3)
    look_ahead: int = Field(default=5, ge=0)

    @model_validator(mode="after")
    def _one_target(self) -> ReplicationTarget:
        if (self.relative_half_width is None) == (self.absolute_half_width is None):
            raise ValueError(
                "give exactly one of relative_half_width (a share of the mean) and "
                "absolute_half_width (in the KPI's units)."
            )
        if self.max < self.initial:
            raise ValueError(f"max ({self.max}) must be at least initial ({self.initial}).")
        return self


class ScenarioSpec(_Strict):
    """A scenario: another configuration (``extends``) and/or changes (``vary``)."""

    extends: str | None = Field(default=None, min_length=1)
    vary: dict[str, Any] = Field(default_factory=dict)
    label: str = ""


class GridSpec(_Strict):
    """Scenarios generated from lists of values (crossed, or zipped when ``paired``)."""

    name: str = Field(pattern=_NAME)
    vary: dict[str, list[Any]] = Field(min_length=1)
    paired: bool = False
    extends: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _lists(self) -> GridSpec:
        for k, v in self.vary.items():
            if not v:
                raise ValueError(f"vary.{k} must list at least one value.")
        if self.paired and len({len(v) for v in self.vary.values()}) > 1:
            lengths = ", ".join(f"{k}: {len(v)}" for k, v in self.vary.items())
            raise ValueError(
                f"grid {self.name!r} is paired, so every vary list must have the same "
                f"length (got {lengths})."
            )
        return self


class ExecutorSpec(_Strict):
    """Where replications run (the command line's --executor/--workers/--scheduler win)."""

    kind: Literal["local", "dask"] = "local"
    workers: int | None = Field(default=None, ge=1)
    scheduler: str | None = Field(default=None, pattern=r"^(tcp|tls|inproc|ws|wss)://.+")


class ExperimentSpec(_Strict):
    """A scenario experiment (see the module docstring for the file format)."""

    name: str = Field(pattern=_NAME)
    title: str = ""
    description: str = ""
    base: str = Field(min_length=1)
    seed: int = Field(ge=0)
    window: WindowSpec | None = None
    horizon_days: float | None = Field(default=None, gt=0)
    warmup_days: float = Field(default=0.0, ge=0)
    replications: int | ReplicationTarget = 10
    baseline: str | None = None
    kpis: list[str] = Field(default_factory=lambda: list(DEFAULT_KPIS), min_length=1)
    level: float = Field(default=0.95, gt=0, lt=1)
    scenarios: dict[str, ScenarioSpec] = Field(default_factory=dict)
    grids: list[GridSpec] = Field(default_factory=list)
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec)

    @field_validator("replications")
    @classmethod
    def _at_least_two(cls, v: int | ReplicationTarget) -> int | ReplicationTarget:
        # a field check, so the error names the replications line, not the document
        if isinstance(v, int) and v < 2:
            raise ValueError(f"expected at least 2 (paired intervals need two), got {v}.")
        return v

    @model_validator(mode="after")
    def _checks(self) -> ExperimentSpec:
        if self.window is not None and self.horizon_days is not None:
            raise ValueError("give either window (dates) or horizon_days, not both.")
        return self


def detect_kind(data: Any) -> str:
    """``"experiment"``, ``"power"`` or ``"config"`` from a YAML document's top-level keys.

    Examples
    --------
    >>> detect_kind({"base": "site_d", "scenarios": {}}), detect_kind({"estimators": []})
    ('experiment', 'power')
    """
    if not isinstance(data, dict):
        return "config"
    if "base" in data and "service" not in data:
        return "experiment"
    if {"estimators", "sizes"} & set(data) or ("design" in data and "service" not in data):
        return "power"
    return "config"


#: a file kind -> what it is, the command that runs it, the fields that give it away
_KINDS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "experiment": ("a scenario experiment", "hubsim experiment", ("base",)),
    "power": ("a power study", "hubsim power", ("estimators", "sizes", "design")),
}


def wrong_kind(data: Any, where: dict, path: str, expected: str) -> str | None:
    """The sentence refusing a file of another kind than ``expected``, else None.

    A power study given where an experiment is expected (or the reverse) would otherwise
    be reported field by field as unknown fields; this names the kind instead.

    Parameters
    ----------
    data : Any
        The file's YAML document.
    where : dict
        Its line map (from :func:`hubsim.config.loader.read_yaml`).
    path : str
        The file, for the sentence.
    expected : str
        ``"experiment"`` or ``"power"``.

    Returns
    -------
    str or None

    Examples
    --------
    >>> wrong_kind({"name": "x", "estimators": ["its"]}, {}, "s.yaml", "experiment")
    's.yaml, line 1: estimators: the file looks like a power study, not a scenario experiment; expected a scenario experiment file (run a power study with `hubsim power`).'
    >>> wrong_kind({"base": "site_d"}, {}, "e.yaml", "experiment") is None
    True
    """
    kind = detect_kind(data)
    if kind == expected or kind not in _KINDS:
        return None
    what, command, keys = _KINDS[kind]
    key = next(k for k in keys if k in data)
    f, ln = line_for((key,), where, path)
    wanted = _KINDS[expected][0]
    return (
        f"{f}, line {ln}: {key}: the file looks like {what}, not {wanted}; expected "
        f"{wanted} file (run {what} with `{command}`)."
    )


# ---------------------------------------------------------------------------------------
# The checked plan
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScenarioPlan:
    """One scenario ready to run: its configuration and the run's days."""

    name: str
    label: str
    source: str
    changes: dict[str, Any]
    config: ServiceConfig
    horizon_days: float
    warmup_days: float
    #: a CSV of clients waiting at the start (default: the configuration's own, if any)
    initial_waiting_list: str | None = None


def _file_hash(path: str | os.PathLike[str] | None) -> str | None:
    import hashlib

    if path is None or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@dataclass(frozen=True)
class ExperimentPlan:
    """A checked experiment file (:func:`read_experiment`)."""

    path: Path
    spec: ExperimentSpec
    scenarios: dict[str, ScenarioPlan]
    baseline: str
    window_start: dt.date | None
    window_end: dt.date | None
    where: dict = field(default_factory=dict, repr=False)

    def line(self, *loc: str | int) -> str:
        """``FILE, line N: a.b`` of a location in the experiment file (for messages)."""
        f, ln = line_for(tuple(loc), self.where, str(self.path))
        return f"{f}, line {ln}: {dotted_path(tuple(loc))}"

    def fingerprint(self) -> dict[str, Any]:
        """What fixes the results: every scenario's resolved configuration, seed and days."""
        from hubsim._version import __version__

        return {
            "hubsim": __version__,
            "seed": self.spec.seed,
            "scenarios": {
                s.name: {
                    "config_hash": s.config.content_hash,
                    "horizon_days": s.horizon_days,
                    "warmup_days": s.warmup_days,
                    # the content of a waiting-list CSV, not just its name
                    "initial_waiting_list": _file_hash(
                        s.initial_waiting_list
                        or getattr(s.config.simulation.initial_waiting_list, "csv", None)
                    ),
                }
                for s in self.scenarios.values()
            },
        }


def _fields_at(loc: tuple) -> list[str]:
    parent = tuple(p for p in loc[:-1] if not isinstance(p, int))
    models: dict[tuple, type[BaseModel]] = {
        (): ExperimentSpec,
        ("window",): WindowSpec,
        ("replications",): ReplicationTarget,
        ("executor",): ExecutorSpec,
        ("grids",): GridSpec,
    }
    if len(parent) == 2 and parent[0] == "scenarios":
        return list(ScenarioSpec.model_fields)
    m = models.get(parent)
    return list(m.model_fields) if m else []


def _sentences(exc: ValidationError, data: Any, where: dict, path: str) -> list[str]:
    out = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        # replications: int | ReplicationTarget -> pydantic tags the union member
        tag = loc[1] if len(loc) > 1 and loc[0] == "replications" else None
        if isinstance(tag, str) and (tag == "int" or "ReplicationTarget" in tag):
            # report the union member the file meant (a mapping: the target; else the count)
            if isinstance(data.get("replications"), dict) != ("ReplicationTarget" in tag):
                continue
            loc = (loc[0], *loc[2:])
        full = data_location(loc, data)
        f, line = line_for(full, where, path)
        text = error_sentence(err, full, _fields_at)
        if err["type"] == "value_error":
            text = str((err.get("ctx") or {}).get("error", text))
        out.append(end_sentence(f"{f}, line {line}: {dotted_path(full)}: {text}"))
    return list(dict.fromkeys(out))


def _config_ref(ref: str, base_dir: Path) -> str | Path:
    """A configuration reference relative to the experiment file, or a shipped name."""
    p = base_dir / ref
    if p.exists() or not is_bare_word(ref):
        return p
    return ref


def _load(ref: str, base_dir: Path, at: str, problems: list[str]) -> ServiceConfig | None:
    try:
        return load_config(resolve_config(_config_ref(ref, base_dir)))
    except ConfigError as exc:
        problems += [f"{at}: {end_sentence(p)}" for p in exc.problems]
        return None


_KPI_NAMES: dict[str, frozenset[str]] = {}


def _kpi_names(config: ServiceConfig) -> frozenset[str]:
    """KPI names a configuration's runs report (from a two-week probe run, cached)."""
    from hubsim.des.simulate import run_replication

    key = config.content_hash
    if key not in _KPI_NAMES:
        out = run_replication(config, horizon_days=14.0, seed=0, replication=0, scenario="probe")
        _KPI_NAMES[key] = frozenset(c for c in out["kpis"].columns if c != "replication")
    return _KPI_NAMES[key]


def _days(config: ServiceConfig, spec: ExperimentSpec) -> tuple[float, float]:
    if spec.window is None:
        return float(spec.horizon_days or 365.0), float(spec.warmup_days)
    # the dates as hubsim run --start/--end reads them (window.end inclusive)
    w = resolve_window(config, start=spec.window.start, end=spec.window.end)
    return w.horizon_days, w.warmup_days


def _grid_label(point: dict[str, Any]) -> str:
    return ", ".join(f"{k.rsplit('.', 1)[-1]}={v}" for k, v in point.items())


def read_experiment(path: str | os.PathLike[str]) -> ExperimentPlan:
    """Read and check an experiment file into an :class:`ExperimentPlan` (nothing runs).

    Parameters
    ----------
    path : str or os.PathLike
        The experiment file, or the name of a shipped experiment (``"site_d_staffing"``,
        see ``hubsim list experiments``), read as ``hubsim experiment`` reads its argument
        (:func:`hubsim.resources.resolve_experiment`: an existing file wins over a name).

    Returns
    -------
    ExperimentPlan

    Raises
    ------
    hubsim.ConfigError
        One sentence per problem with the file, line and field path: unknown fields, a bad
        ``vary`` path or value, unequal lists of a paired grid, window dates outside a
        configuration's period, a target half-width that is not positive, unknown KPIs or
        scenario names; a name that is no shipped experiment (the message lists them).

    Examples
    --------
    >>> read_experiment("site_d_staffing").spec.name
    'site_d_staffing'
    """
    p = resolve_experiment(path)
    data, where = read_yaml(p)
    if not isinstance(data, dict):
        raise ConfigError(f"{p}, line 1: (document): expected a mapping of experiment fields.")
    mismatch = wrong_kind(data, where, str(p), "experiment")
    if mismatch is not None:
        raise ConfigError(mismatch)
    try:
        spec = ExperimentSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_sentences(exc, data, where, str(p))) from None

    def at(*loc: str | int) -> str:
        f, ln = line_for(tuple(loc), where, str(p))
        return f"{f}, line {ln}: {dotted_path(tuple(loc))}"

    problems: list[str] = []
    base_dir = p.parent
    base = _load(spec.base, base_dir, at("base"), problems)
    if base is None:
        raise ConfigError(problems)
    entries: list[tuple[str, str, str, dict[str, Any], tuple, str | None]] = []
    for name, sc in spec.scenarios.items():
        if not _valid_name(name):
            problems.append(
                f"{at('scenarios', name)}: scenario name {name!r} has characters other than "
                "letters, digits, '_' and '-'; expected a plain name."
            )
        src = f"extends {sc.extends}" if sc.extends else ("vary" if sc.vary else "base")
        entries.append((name, sc.label, src, dict(sc.vary), ("scenarios", name), sc.extends))
    for i, g in enumerate(spec.grids):
        keys = list(g.vary)
        combos = (
            list(zip(*g.vary.values(), strict=True))
            if g.paired
            else list(itertools.product(*g.vary.values()))
        )
        for j, combo in enumerate(combos):
            point = dict(zip(keys, combo, strict=True))
            entries.append(
                (f"{g.name}_{j + 1}", _grid_label(point), f"grid {g.name}", point, ("grids", i), g.extends)
            )
    if not entries:
        entries.append(("base", base.name, "base", {}, ("base",), None))
    names = [e[0] for e in entries]
    for n in {n for n in names if names.count(n) > 1}:
        problems.append(f"{at('grids')}: scenario name {n!r} is used twice; expected unique names.")
    scenarios: dict[str, ScenarioPlan] = {}
    for name, label, src, changes, loc, extends in entries:
        cfg = base
        if extends is not None:
            cfg = _load(extends, base_dir, at(*loc, "extends"), problems)
            if cfg is None:
                continue
        try:
            cfg = vary(cfg, changes, name=name) if changes else cfg.model_copy()
        except ValueError as exc:
            key = next(iter(changes), None)
            for k in changes:
                if repr(k) in str(exc) or k in str(exc):
                    key = k
                    break
            cause = exc
            if isinstance(exc, ValidationError):
                sub = exc.errors(include_url=False)[0]
                cause_text = f"{dotted_path(tuple(sub['loc']))}: {error_sentence(sub, tuple(sub['loc']))}"
            else:
                cause_text = str(cause)
            problems.append(
                f"{at(*loc, 'vary', key) if key is not None else at(*loc)}: "
                f"{end_sentence(cause_text)}"
            )
            continue
        outside = False
        if spec.window is not None:
            per = cfg.simulation.period
            for which in ("start", "end"):
                d = getattr(spec.window, which)
                if not per.start <= d <= per.end:
                    outside = True
                    problems.append(
                        f"{at('window', which)}: {d} is outside the simulated period of "
                        f"scenario {name} ({cfg.name}: {per.start} to {per.end}); expected a "
                        "date inside it."
                    )
        # (no plan is returned once a problem is found)
        horizon, warmup = (math.nan, math.nan) if outside else _days(cfg, spec)
        scenarios[name] = ScenarioPlan(name, label or name, src, changes, cfg, horizon, warmup)
    baseline = spec.baseline if spec.baseline is not None else names[0]
    if baseline not in names:
        problems.append(
            f"{at('baseline')}: unknown scenario {baseline!r}; expected one of {', '.join(names)}."
        )
    if len(names) < 2 and not problems:
        pass  # one scenario: levels only, no differences
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    known = set().union(*(_kpi_names(s.config) for s in scenarios.values()))
    kpi_lists: list[tuple[tuple, Sequence[str]]] = [(("kpis",), spec.kpis)]
    if isinstance(spec.replications, ReplicationTarget):
        kpi_lists.append((("replications", "kpis"), spec.replications.kpis))
    for loc, kpis in kpi_lists:
        for j, k in enumerate(kpis):
            if k not in known and not (loc == ("kpis",) and "kpis" not in data):
                problems.append(
                    f"{at(*loc, j)}: unknown KPI {k!r}; expected one of the KPIs a run "
                    f"reports, e.g. {', '.join(sorted(known)[:6])}, ..."
                )
    if problems:
        raise ConfigError(problems)
    if "kpis" not in data:
        spec = spec.model_copy(update={"kpis": [k for k in spec.kpis if k in known]})
    w = spec.window
    return ExperimentPlan(
        p, spec, scenarios, baseline, w.start if w else None, w.end if w else None, where
    )


def _valid_name(name: str) -> bool:
    import re

    return re.match(_NAME, name) is not None
