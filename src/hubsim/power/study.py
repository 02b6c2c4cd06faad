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
      smoke: {n_sims: 5, mde_max_evals: 2}
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
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hubsim._version import __version__
from hubsim.config.loader import _data_loc, _dotted, _line_for, _read_yaml
from hubsim.errors import ConfigError
from hubsim.power.diagnose import DIAGNOSAND_COLUMNS, ESTIMATORS, SIMULATION_COLUMNS, diagnose
from hubsim.power.grid import minimum_detectable_effect, power_curve

__all__ = [
    "CURVE_COLUMNS",
    "MDE_COLUMNS",
    "STUDY_DIAGNOSAND_COLUMNS",
    "CurveSpec",
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
    if parent[0] in ("design", "scenarios") or (
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
    typ = err["type"]
    got = err.get("input")
    shown = repr(got) if len(repr(got)) <= 60 else repr(got)[:57] + "..."
    if typ == "missing":
        return "required field is missing; expected a value"
    if typ == "extra_forbidden":
        name = str(err["loc"][-1])
        allowed = _fields_at(full or tuple(err["loc"]))
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        if close:
            return f"unknown field {name!r}; did you mean {close[0]!r}?"
        return f"unknown field {name!r}; expected one of {', '.join(allowed)}"
    if typ in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        word = {
            "greater_than_equal": "at least",
            "greater_than": "greater than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }[typ]
        bound = next(iter((err.get("ctx") or {}).values()), "")
        return f"expected a number {word} {bound}, got {shown}"
    if typ == "literal_error":
        return f"expected {(err.get('ctx') or {}).get('expected', 'an allowed value')}, got {shown}"
    if typ == "too_short":
        return f"expected at least {(err.get('ctx') or {}).get('min_length')} item(s), got {shown}"
    if typ == "value_error":
        return str((err.get("ctx") or {}).get("error", err.get("msg", "")))
    if typ in ("int_type", "int_parsing", "int_from_float"):
        return f"expected a whole number, got {shown}"
    if typ in ("float_type", "float_parsing"):
        return f"expected a number, got {shown}"
    if typ in ("list_type", "tuple_type"):
        return f"expected a list, got {shown}"
    if typ in ("dict_type", "model_type"):
        return f"expected a mapping of fields, got {shown}"
    if typ in ("string_type",):
        return f"expected text, got {shown}"
    return f"{err.get('msg', 'invalid value')}, got {shown}"


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


def _build_designs(spec: StudySpec, where: dict, path: str) -> dict[str, Any]:
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
    for name, changes in spec.scenarios.items():
        try:
            designs[name] = base.replace(**changes)
        except ValidationError as exc:
            problems += _sentences(exc, ("scenarios", name), changes, where, path)
        except (TypeError, ValueError) as exc:
            f, line = _line_for(("scenarios", name), where, path)
            problems.append(f"{f}, line {line}: scenarios.{name}: {exc}")
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
    return designs


def load_study(path: str | os.PathLike[str]) -> tuple[StudySpec, dict[str, Any]]:
    """Read and validate a study file and build its scenario designs.

    Raises
    ------
    hubsim.errors.ConfigError
        One sentence per problem naming the file, line, field path and what was expected.

    Examples
    --------
    >>> spec, designs = load_study("experiments/power_naturalistic_evaluation.yaml")  # doctest: +SKIP
    """
    p = Path(path)
    data, where = _read_yaml(p)
    if not isinstance(data, dict):
        raise ConfigError(f"{p}, line 1: (document): expected a mapping of study fields.")
    try:
        spec = StudySpec(**data)
    except ValidationError as exc:
        raise ConfigError(_sentences(exc, (), data, where, str(p))) from None
    return spec, _build_designs(spec, where, str(p))


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
        for _, r in self.diagnosands.iterrows():
            lines.append(
                f"  {r['scenario']:<20} {r['estimator']:<18} power {r['power']:.2f} "
                f"({r['power_mcse']:.2f})  bias {r['bias']:+.4f} ({r['bias_mcse']:.4f})  "
                f"coverage {r['coverage']:.2f}"
            )
        for _, r in self.mde.iterrows():
            lines.append(
                f"  MDE {r['scenario']} {r['estimator']}: {r['mde']:.4g} (MCSE {r['mde_mcse']:.2g})"
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
    spec, designs = load_study(path)
    if size not in spec.sizes:
        raise ConfigError(
            f"{path}: size {size!r} is not defined; expected one of {', '.join(spec.sizes)}."
        )
    sz = spec.sizes[size]
    if n_sims is not None and (
        isinstance(n_sims, bool) or not isinstance(n_sims, int) or n_sims < 2
    ):
        raise ConfigError(f"--n-sims must be an integer of at least 2, got {n_sims!r}.")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ConfigError(f"--seed must be a non-negative integer, got {seed!r}.")
    if workers is not None and (
        isinstance(workers, bool) or not isinstance(workers, int) or workers < 1
    ):
        raise ConfigError(f"workers must be a positive integer, got {workers!r}.")
    n = n_sims if n_sims is not None else sz.n_sims
    sd = seed if seed is not None else spec.seed
    w = workers if workers is not None else spec.workers
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
                mde_rows.append(
                    {
                        "scenario": s,
                        "estimator": m.estimator,
                        "target_power": m.power,
                        "mde": r.effect,
                        "mde_mcse": r.mcse,
                        "method": r.method,
                        "normal_approximation": r.normal_approximation,
                        "n_sims": n,
                        "note": r.note,
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
        secs = time.monotonic() - t0
        (tmp / "report.md").write_text(
            _report(spec, designs, diag, curves, mde, figs, n, sd, size, secs), encoding="utf-8"
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
        dest, spec, diag, curves, mde, sims, tuple(files), n, sd, time.monotonic() - t0, size
    )
