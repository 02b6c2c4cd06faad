"""Design diagnosis: simulate a design many times, apply estimators, summarise diagnosands.

``diagnose(design, estimators, n_sims=..., seed=...)`` draws ``n_sims`` data sets from a
design (anything with ``simulate(rng) -> DataFrame`` and ``estimand()``, such as
:class:`hubsim.regional.RegionalDesign`), applies every estimator to each, and returns a
:class:`DiagnosisResult` whose ``diagnosands`` frame has one row per estimator with the
DeclareDesign diagnosands and their Monte-Carlo standard errors (MCSE).

Diagnosands (over the simulations whose fit succeeded, ``n_ok`` of them)
-----------------------------------------------------------------------
Each estimator is scored against the estimand it declares (:attr:`EstimatorSpec.estimand`;
the registry's are ``att_n_weighted`` for the regression estimators, the event-time
window mean for the event study, ``att`` over the cells used for Callaway-Sant'Anna,
interrupted time series and synthetic control).

=====================  ====================================================  ===================
diagnosand             definition                                            MCSE
=====================  ====================================================  ===================
mean_estimand          mean of the estimand                                  sd / sqrt(n)
mean_estimate          mean of the estimates                                 sd / sqrt(n)
bias                   mean of (estimate - estimand)                         sd / sqrt(n)
sd_estimate            SD of the estimates                                   delta method [1]
mean_se                mean of the reported standard errors                  sd / sqrt(n)
rmse                   sqrt(mean of (estimate - estimand)^2)                 delta method [2]
power                  share with p_value < alpha                            binomial
coverage               share of CIs containing the estimand                  binomial
type_s_rate            among significant fits, share of the wrong sign       binomial on n_sig
exaggeration_ratio     among significant fits, mean |estimate| / |estimand|  bootstrap [3]
mean_ci_width          mean of ci_high - ci_low (finite intervals)           sd / sqrt(n)
failure_rate           share of fits that raised or gave no finite estimate  binomial on n_sims
null_rejection         share of intervals excluding the estimand: the        binomial
                       rejection rate of a true null (the test's size)
no_test_rate           share of fits with no test at level alpha (the        binomial
                       estimator reported no rejection and said why)
=====================  ====================================================  ===================

Beside the diagnosands, ``inference`` names the inference the fits used (the most
frequent, e.g. the one ``"auto"`` chose) and ``oversized`` flags a test whose null
rejection rate exceeds ``alpha + 3 * sqrt(alpha (1 - alpha) / n)``: its p-values and
intervals cannot be trusted at this design, whatever its power.

[1] ``sqrt((m4 - s^4) / (4 n s^2))`` with ``m4`` the fourth central moment (exact for the
normal: ``s / sqrt(2(n-1))``). [2] ``sd((e - theta)^2) / (2 rmse sqrt(n))``. [3] 500
resamples of the simulations, drawn from a stream keyed by the diagnosis seed, so the
MCSE is reproducible. Power, type S and exaggeration use ``alpha``; coverage and CI width
use the intervals the estimators returned (at the ``alpha`` they were fitted with, which
``diagnose`` passes to every estimator that takes one). Type S and exaggeration are NaN
where the estimand is 0.

Randomness
----------
Simulation ``s`` draws its data from ``hubsim.rng.stream(seed, key, s, "design")`` where
``key`` is the design's label (``label`` or ``name`` attribute) or a stable hash of its
fields; estimator ``name`` on simulation ``s`` gets the integer seed addressed by
``(seed, key, s, "estimator", name)``. Nothing depends on the worker a simulation ran on:
simulations are cut into fixed chunks of :data:`CHUNK` whatever ``workers`` is, so serial
and parallel runs give bit-identical results.

Fast path
---------
TWFE with CR1 on a balanced cell-level panel whose layout (regions, periods, treatment,
weights) is the same in every simulation of a chunk is fitted for the whole chunk at
once: the two-way projection is applied to the (cells x sims) outcome matrix in one go,
and the CR1 scores are a (clusters x sims) matrix. Its estimates and SEs equal the general
path's to rounding (the tests hold them to 1e-10). ``fast=False`` switches it off.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from hubsim.checks import check_alpha, check_int
from hubsim.estimators.inference import (
    FEProjector,
    LinearCore,
    cr2_many,
    wild_bootstrap_many,
)
from hubsim.estimators.its import its
from hubsim.estimators.linear import diff_in_means, event_study, triple_differences, twfe
from hubsim.estimators.staggered import callaway_santanna
from hubsim.estimators.synth import synthetic_control
from hubsim.regional.design import PANEL_COLUMNS, PanelColumns
from hubsim.rng import seed_sequence, stream
from hubsim.stats import (
    cr1_factor,
    cr1_se,
    mean_mcse,
    one_blas_thread,
    proportion_mcse,
    t_interval,
)

__all__ = [
    "DIAGNOSANDS",
    "DIAGNOSAND_COLUMNS",
    "ESTIMATORS",
    "SIMULATION_COLUMNS",
    "DiagnosisResult",
    "EstimatorSpec",
    "design_key",
    "diagnosands_from",
    "diagnose",
    "resolve_estimators",
]

#: Simulations per chunk of work (fixed, so results do not depend on ``workers``).
CHUNK = 50

DIAGNOSANDS = [
    "mean_estimand",
    "mean_estimate",
    "bias",
    "sd_estimate",
    "mean_se",
    "rmse",
    "power",
    "coverage",
    "type_s_rate",
    "exaggeration_ratio",
    "mean_ci_width",
    "failure_rate",
    "null_rejection",
    "no_test_rate",
]
DIAGNOSAND_COLUMNS = [
    "estimator",
    "n_sims",
    "n_ok",
    "alpha",
    "inference",
    *DIAGNOSANDS,
    *(f"{d}_mcse" for d in DIAGNOSANDS),
    "oversized",
]
SIMULATION_COLUMNS = [
    "sim",
    "estimator",
    "estimand",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "p_value",
    "error",
    "inference",
]
TIDY_DIAGNOSAND_COLUMNS = [
    "estimator",
    "diagnosand",
    "estimate",
    "mcse",
    "n_sims",
    "alpha",
    "inference",  # the estimator's inference and its size flag, on each of its rows
    "oversized",
]

_MCSE_BOOT = 500


# ---------------------------------------------------------------------------------------
# Estimator specifications and the registry
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EstimatorSpec:
    """One estimator to diagnose: a name, a function and its keyword arguments.

    Parameters
    ----------
    name : str
        Label used in the diagnosands and for the estimator's random stream.
    fn : callable
        A hubsim estimator (``twfe``, ``diff_in_means``, ``event_study``,
        ``callaway_santanna``, ``its``, ``synthetic_control``), whose column arguments are
        filled from the columns the design declares (``design.columns``, a
        :class:`~hubsim.regional.PanelColumns`; RegionalDesign's by default), or any function ``fn(df, **kwargs)`` returning an
        :class:`~hubsim.estimators.Estimate` (or an object with ``estimate``, ``se``,
        ``ci_low``, ``ci_high``, ``p_value``). ``seed`` and ``alpha`` are passed when
        ``fn`` takes them and ``kwargs`` does not set them.
    kwargs : mapping
        Further keyword arguments (e.g. ``inference="wild", B=999``).
    estimand : str or callable
        What the estimator targets, and so what its estimates are scored against: a field
        of ``design.estimand()`` (``"att"``: the mean effect over exposed region-periods,
        ``"att_n_weighted"``: over exposed individuals, ``"e+2"`` for a dynamic effect),
        ``"event_window"`` (the mean of the n-weighted effects at event times 0..lags, the
        last pooling later ones: an event study's post-period average), or
        ``callable(design_estimand, df) -> float`` evaluated on each simulated data set.
        Where the estimator uses only part of the panel (periods before a closure, the
        earliest cohort), the estimand is computed over the cells it used.

    Examples
    --------
    >>> from hubsim.estimators.linear import twfe
    >>> spec = EstimatorSpec("twfe_wild", twfe, dict(inference="wild", B=999))
    >>> spec.name, spec.kwargs["B"]
    ('twfe_wild', 999)
    """

    name: str
    fn: Callable[..., Any]
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    estimand: str | Callable[..., float] = "att"

    def __post_init__(self) -> None:
        if not (isinstance(self.name, str) and self.name.strip()):
            raise ValueError(f"EstimatorSpec name must be a non-empty string, got {self.name!r}.")
        if not callable(self.fn):
            raise ValueError(f"EstimatorSpec {self.name!r}: fn must be callable, got {self.fn!r}.")
        if not isinstance(self.kwargs, Mapping):
            raise ValueError(f"EstimatorSpec {self.name!r}: kwargs must be a mapping.")
        object.__setattr__(self, "kwargs", dict(self.kwargs))
        if not (isinstance(self.estimand, str) or callable(self.estimand)):
            raise ValueError(f"EstimatorSpec {self.name!r}: estimand must be a name or a callable.")

    def with_kwargs(self, **changes: Any) -> EstimatorSpec:
        """A copy with some keyword arguments changed."""
        return EstimatorSpec(self.name, self.fn, {**self.kwargs, **changes}, self.estimand)


#: Estimators that a study file may name, each with the estimand it targets. "auto"
#: picks each fit's inference from the measured size and power table.
ESTIMATORS: dict[str, EstimatorSpec] = {
    "diff_in_means": EstimatorSpec(
        "diff_in_means", diff_in_means, {"inference": "auto"}, "att_n_weighted"
    ),
    "twfe": EstimatorSpec("twfe", twfe, {"inference": "auto"}, "att_n_weighted"),
    "twfe_cr1": EstimatorSpec("twfe_cr1", twfe, {"inference": "cr1"}, "att_n_weighted"),
    "twfe_cr2": EstimatorSpec("twfe_cr2", twfe, {"inference": "cr2"}, "att_n_weighted"),
    "twfe_wild": EstimatorSpec("twfe_wild", twfe, {"inference": "wild", "B": 999}, "att_n_weighted"),
    "twfe_ri": EstimatorSpec("twfe_ri", twfe, {"inference": "ri", "B": 999}, "att_n_weighted"),
    "event_study": EstimatorSpec(
        "event_study", event_study, {"inference": "auto"}, "event_window"
    ),
    "callaway_santanna": EstimatorSpec(
        "callaway_santanna",
        callaway_santanna,
        {"inference": "auto", "control": "not_yet_treated"},
        "att",
    ),
    "triple_differences": EstimatorSpec(
        "triple_differences", triple_differences, {"inference": "auto"}, "att_n_weighted"
    ),
    "its": EstimatorSpec("its", its, {}, "att"),
    "synthetic_control": EstimatorSpec("synthetic_control", synthetic_control, {}, "att"),
}


def resolve_estimators(
    estimators: str | EstimatorSpec | Iterable[str | EstimatorSpec],
) -> list[EstimatorSpec]:
    """Turn names and specs into a list of :class:`EstimatorSpec`, refusing unknown names.

    Examples
    --------
    >>> [s.name for s in resolve_estimators(["twfe_cr1", "its"])]
    ['twfe_cr1', 'its']
    """
    if isinstance(estimators, str | EstimatorSpec):
        estimators = [estimators]
    out: list[EstimatorSpec] = []
    for e in estimators:
        if isinstance(e, str):
            if e not in ESTIMATORS:
                raise ValueError(
                    f"unknown estimator name {e!r}; expected one of {', '.join(sorted(ESTIMATORS))}."
                )
            out.append(ESTIMATORS[e])
        elif isinstance(e, EstimatorSpec):
            out.append(e)
        else:
            raise ValueError(
                f"estimators must be names or EstimatorSpec objects, got {type(e).__name__}."
            )
    if not out:
        raise ValueError("estimators must list at least one estimator.")
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(f"estimator name {dup[0]!r} appears more than once; names must be unique.")
    return out


# ---------------------------------------------------------------------------------------
# Design keys and estimands
# ---------------------------------------------------------------------------------------


def _jsonable(x: Any) -> Any:
    if isinstance(x, Mapping):
        return {str(k): _jsonable(v) for k, v in sorted(x.items(), key=lambda kv: str(kv[0]))}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist())
    if isinstance(x, float | int | str | bool) or x is None:
        return x
    if isinstance(x, np.generic):
        return x.item()
    if callable(x):
        return f"{getattr(x, '__module__', '')}.{getattr(x, '__qualname__', repr(x))}"
    if hasattr(x, "model_dump"):
        return {"__type__": type(x).__name__, **_jsonable(x.model_dump())}
    return repr(x)


def design_key(design: Any) -> str:
    """The stream key of a design: its ``label``/``name``, or a stable hash of its fields.

    Examples
    --------
    >>> from hubsim.regional import RegionalDesign
    >>> design_key(RegionalDesign(n_regions=8)) == design_key(RegionalDesign(n_regions=8))
    True
    """
    for attr in ("label", "name"):
        v = getattr(design, attr, None)
        if isinstance(v, str) and v:
            return v
    fields = design.model_dump() if hasattr(design, "model_dump") else vars(design)
    blob = json.dumps({"__type__": type(design).__name__, **_jsonable(fields)}, sort_keys=True)
    return "design-" + hashlib.blake2b(blob.encode(), digest_size=8).hexdigest()


def _estimand_value(est: Any, key: str) -> float:
    """Field ``key`` of whatever ``design.estimand()`` returned."""
    if isinstance(est, int | float | np.floating | np.integer):
        if key in ("att", "value", "estimand"):
            return float(est)
        raise ValueError(
            f"the design's estimand is a single number, so estimand {key!r} is undefined."
        )
    if isinstance(est, Mapping):
        if key in est:
            return float(est[key])
    elif hasattr(est, key) and isinstance(getattr(est, key), int | float | np.floating):
        return float(getattr(est, key))
    tidy = est.tidy() if hasattr(est, "tidy") else est if isinstance(est, pd.DataFrame) else None
    if isinstance(tidy, pd.DataFrame) and {"estimand", "value"} <= set(tidy.columns):
        hit = tidy.loc[tidy["estimand"] == key, "value"]
        if len(hit):
            return float(hit.iloc[0])
    raise ValueError(f"the design's estimand has no value named {key!r}.")


# ---------------------------------------------------------------------------------------
# Calling estimators on a design's frame
# ---------------------------------------------------------------------------------------


def _accepts(fn: Callable[..., Any], name: str) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _is_cells(df: pd.DataFrame, c: PanelColumns = PANEL_COLUMNS) -> bool:
    """Whether ``df`` has one row per region-period (cell means with their sizes)."""
    if c.size not in df.columns:
        return False
    r, p = df[c.unit].to_numpy(), df[c.time].to_numpy()
    if r.dtype.kind in "iu" and p.dtype.kind in "iu" and len(r) and r.min() >= 0 and p.min() >= 0:
        key = r.astype(np.int64) * (int(p.max()) + 1) + p.astype(np.int64)
        return len(np.unique(key)) == len(key)
    return not df.duplicated([c.unit, c.time]).any()


def _closure_end(df: pd.DataFrame, c: PanelColumns, regions: np.ndarray | None = None) -> float:
    """Last period before any (selected) region's hub closes (inf when none closes)."""
    cohort = df[c.cohort].to_numpy(dtype=float)
    period = df[c.time].to_numpy(dtype=float)
    treated = df[c.treated].to_numpy()
    closed = (cohort > 0) & (period >= cohort) & (treated == 0)
    if regions is not None:
        closed &= np.isin(df[c.unit].to_numpy(), regions)
    return float(period[closed].min() - 1) if closed.any() else math.inf


def _window_estimand(
    df: pd.DataFrame,
    mask: np.ndarray,
    use_true: bool,
    c: PanelColumns,
    estimand: str = "att",
    lags: int = 4,
) -> float | None:
    """The declared estimand over the cells an estimator used (None: the design's own).

    ``"att"`` is the mean effect over the used exposed cells, ``"att_n_weighted"`` the
    mean over their individuals, ``"event_window"`` the mean over event times 0..lags of
    the n-weighted effect at each (the last pooling later event times). None where the
    cell effects are not on the estimand's scale (binary outcomes: the design gives the
    probability-scale value) or nothing is exposed.
    """
    if not use_true or c.true_effect not in df.columns:
        return None
    exposed = mask & (df[c.treated].to_numpy() == 1)
    if not exposed.any():
        return None
    tau = df[c.true_effect].to_numpy(dtype=float)[exposed]
    if estimand == "att":
        return float(tau.mean())
    n = df[c.size].to_numpy(dtype=float)[exposed] if c.size in df.columns else np.ones(len(tau))
    if estimand == "att_n_weighted":
        return float((tau * n).sum() / n.sum())
    if estimand == "event_window":
        e = df[c.event_time].to_numpy(dtype=float)[exposed]
        vals = []
        for k in range(int(lags) + 1):
            sel = (e >= k) if k == lags else (e == k)
            if not sel.any():
                return None
            vals.append(float((tau[sel] * n[sel]).sum() / n[sel].sum()))
        return float(np.mean(vals))
    return None


def _window_att(df: pd.DataFrame, mask: np.ndarray, use_true: bool, c: PanelColumns) -> float | None:
    return _window_estimand(df, mask, use_true, c, "att")


def _run_twfe(fn, df, kw, use_true, c, estimand="att_n_weighted"):
    weights = c.size if _is_cells(df, c) else None
    args = dict(
        y=c.outcome, unit=c.unit, time=c.time, treat=c.treated, weights=weights, cluster=c.cluster
    )
    args.update(kw)
    return fn(df, **args), None


def _run_dim(fn, df, kw, use_true, c, estimand="att_n_weighted"):
    # hub vs no-hub after opening: exposed cells against never-treated regions' cells
    # in the same periods (a naive post-only comparison).
    cohort = df[c.cohort].to_numpy(dtype=float)
    exposed = df[c.treated].to_numpy() == 1
    periods = np.unique(df[c.time].to_numpy()[exposed])
    keep = exposed | ((cohort == 0) & np.isin(df[c.time].to_numpy(), periods))
    d = df.loc[keep]
    args = dict(
        y=c.outcome,
        treat=c.treated,
        cluster=c.cluster or c.unit,
        weights=c.size if c.size in d else None,
    )
    args.update(kw)
    return fn(d, **args), None


def _run_event_study(fn, df, kw, use_true, c, estimand="event_window"):
    # The event study needs absorbing adoption: keep the periods before the first closure
    # (after it, closed hubs would count as post-adoption event times with no effect).
    end = _closure_end(df, c)
    mask = df[c.time].to_numpy(dtype=float) <= end
    d = df.loc[mask]
    args = dict(
        y=c.outcome,
        unit=c.unit,
        time=c.time,
        cohort=c.cohort,
        weights=c.size if _is_cells(d, c) else None,
        cluster=c.cluster,
    )
    args.update(kw)
    res = fn(d.assign(**{c.cohort: d[c.cohort].where(d[c.cohort] > 0)}), **args)
    lags = int(kw.get("lags", 4))
    value = _window_estimand(df, mask, use_true, c, estimand, lags) if math.isfinite(end) else None
    return res.estimate, value


def _run_cs(fn, df, kw, use_true, c, estimand="att"):
    # Callaway-Sant'Anna needs absorbing adoption: keep the periods before the first closure.
    end = _closure_end(df, c)
    mask = df[c.time].to_numpy(dtype=float) <= end
    d = df.loc[mask]
    args = dict(y=c.outcome, unit=c.unit, time=c.time, cohort=c.cohort, cluster=c.cluster)
    args.update(kw)
    value = _window_estimand(df, mask, use_true, c, estimand) if math.isfinite(end) else None
    return fn(d, **args), value


def _run_ddd(fn, df, kw, use_true, c, estimand="att_n_weighted"):
    # triple differences needs the staff-group column of a staff-group design
    group = getattr(c, "group", None)
    if group is None or group not in df.columns:
        raise ValueError(
            "triple_differences needs a design with staff groups (RegionalDesign with "
            "staff_groups=...), whose panel has a staff-group column."
        )
    args = dict(
        y=c.outcome,
        region=c.cluster or c.unit,
        group=group,
        time=c.time,
        treat=c.treated,
        weights=c.size if c.size in df.columns else None,
    )
    args.update(kw)
    return fn(df, **args), None


def _run_its(fn, df, kw, use_true, c, estimand="att"):
    # Interrupted time series of each opening wave: the regions of a cohort averaged
    # (weighted by n) into one series, the series pooled with their own intercepts and
    # Driscoll-Kraay errors, up to the first closure. No never-treated comparison enters.
    end = _closure_end(df, c)
    mask = (df[c.cohort].to_numpy(dtype=float) > 0) & (df[c.time].to_numpy(dtype=float) <= end)
    d = df.loc[mask]
    w = d[c.size].to_numpy(dtype=float) if c.size in d.columns else np.ones(len(d))
    agg = (
        pd.DataFrame(
            {
                c.cohort: d[c.cohort].to_numpy(),
                c.time: d[c.time].to_numpy(),
                "wy": w * d[c.outcome].to_numpy(dtype=float),
                "w": w,
            }
        )
        .groupby([c.cohort, c.time], sort=True, as_index=False)[["wy", "w"]]
        .sum()
    )
    series = pd.DataFrame(
        {c.cohort: agg[c.cohort], c.time: agg[c.time], c.outcome: agg["wy"] / agg["w"]}
    )
    one = series[c.cohort].nunique() == 1
    args = dict(
        y=c.outcome, time=c.time, intervention=c.cohort, unit=None if one else c.cohort
    )
    args.update(kw)
    att = _window_att(df, mask, use_true, c)
    return fn(series, **args), att


def _run_synth(fn, df, kw, use_true, c, estimand="att"):
    # The earliest cohort, averaged (weighted by n) into one treated unit, against the
    # never-treated regions, up to the first closure in that cohort.
    cohort = df[c.cohort].to_numpy(dtype=float)
    g1 = float(cohort[cohort > 0].min())
    first = np.unique(df[c.unit].to_numpy()[cohort == g1])
    end = _closure_end(df, c, first)
    period = df[c.time].to_numpy(dtype=float)
    keep = (period <= end) & ((cohort == 0) | (cohort == g1))
    d = df.loc[keep]
    w = d[c.size].to_numpy(dtype=float) if c.size in d.columns else np.ones(len(d))
    in_first = d[c.cohort].to_numpy(dtype=float) == g1
    donors = d.loc[~in_first, [c.unit, c.time, c.outcome]]
    tr = d.loc[in_first].assign(_w=w[in_first])
    tr = tr.assign(_wy=tr["_w"] * tr[c.outcome], _wt=tr["_w"] * tr.get(c.true_effect, 0.0))
    agg = tr.groupby(c.time, sort=True)[["_w", "_wy", "_wt"]].sum()
    label = "treated_cohort"
    pseudo = pd.DataFrame(
        {c.unit: label, c.time: agg.index, c.outcome: agg["_wy"] / agg["_w"]}
    )
    panel = pd.concat(
        [donors.assign(**{c.unit: donors[c.unit].astype(object)}), pseudo], ignore_index=True
    )
    args = dict(
        y=c.outcome, unit=c.unit, time=c.time, treated_unit=label, treatment_time=g1
    )
    args.update(kw)
    att = None
    if use_true and c.true_effect in tr.columns:
        post = agg.index.to_numpy(dtype=float) >= g1
        att = float((agg["_wt"] / agg["_w"]).to_numpy()[post].mean())
    return fn(panel, **args), att


#: How each registered estimator function is called on a design's panel. An adapter takes
#: ``(fn, df, kwargs, use_true, columns, estimand)`` and returns the fit and, where the
#: estimator uses only part of the panel, its declared estimand over the cells it used
#: (else None: the design's value).
_ADAPTERS: dict[Callable[..., Any], Callable[..., tuple[Any, float | None]]] = {
    twfe: _run_twfe,
    diff_in_means: _run_dim,
    event_study: _run_event_study,
    callaway_santanna: _run_cs,
    triple_differences: _run_ddd,
    its: _run_its,
    synthetic_control: _run_synth,
}


def _as_row(res: Any) -> tuple[float, float, float, float, float]:
    """(estimate, se, ci_low, ci_high, p_value) from an Estimate or an Estimate-like object."""
    if hasattr(res, "to_estimate"):
        res = res.to_estimate()
    vals = []
    for k in ("estimate", "se", "ci_low", "ci_high", "p_value"):
        v = getattr(res, k, math.nan)
        vals.append(math.nan if v is None else float(v))
    return tuple(vals)  # type: ignore[return-value]


def _inference_of(res: Any) -> str:
    """The inference a fit used ("none" when it found no level-alpha test), else ""."""
    if hasattr(res, "to_estimate"):
        res = res.to_estimate()
    extra = getattr(res, "extra", None) or {}
    if extra.get("no_level_alpha_test"):
        return "none"
    inf = getattr(res, "inference", "")
    return inf if isinstance(inf, str) else ""


def _estimator_seed(seed: int, key: str, sim: int, name: str) -> int:
    return int(seed_sequence(seed, key, sim, "estimator", name).generate_state(1, np.uint32)[0])


def _fit_one(
    spec: EstimatorSpec,
    df: pd.DataFrame,
    *,
    seed: int,
    alpha: float,
    use_true: bool,
    columns: PanelColumns = PANEL_COLUMNS,
) -> tuple[tuple[float, ...], float | None, str, str]:
    kw = dict(spec.kwargs)
    if "seed" not in kw and _accepts(spec.fn, "seed"):
        kw["seed"] = seed
    if "alpha" not in kw and _accepts(spec.fn, "alpha"):
        kw["alpha"] = alpha
    name = spec.estimand if isinstance(spec.estimand, str) else "att"
    try:
        adapter = _ADAPTERS.get(spec.fn)
        if adapter is not None:
            res, att = adapter(spec.fn, df, kw, use_true, columns, name)
        else:
            res, att = spec.fn(df, **kw), None
        row = _as_row(res)
        inference = _inference_of(res)
    except Exception as exc:  # a failed fit is a diagnosand (failure_rate), not a crash
        msg = f"{type(exc).__name__}: {exc}".splitlines()[0][:300]
        return (math.nan,) * 5, None, msg, ""
    if not math.isfinite(row[0]):
        return row, att, "non-finite estimate", inference
    return row, att, "", inference


# ---------------------------------------------------------------------------------------
# Fast path: TWFE + CR1 over a batch of simulations
# ---------------------------------------------------------------------------------------


_FAST_KEYS = {"inference", "alpha", "seed", "weights", "cluster", "B", "wild_weights", "missing"}


#: Inferences the batched TWFE path computes for a whole chunk at once (randomization
#: inference and Conley-Taber run fit by fit).
_BATCHED = ("cr1", "cr2", "wild", "none")


def _fast_ok(spec: EstimatorSpec, c: PanelColumns = PANEL_COLUMNS) -> bool:
    kw = spec.kwargs
    return (
        spec.fn is twfe
        and kw.get("inference", "auto") in ("auto", *_BATCHED)
        and set(kw) <= _FAST_KEYS
        and kw.get("cluster") in (None, c.unit)
        and c.cluster in (None, c.unit)
        and not callable(spec.estimand)
    )


def _layout_signature(df: pd.DataFrame, c: PanelColumns = PANEL_COLUMNS) -> bytes | None:
    layout = (c.unit, c.time, c.treated, c.size)
    if not {*layout, c.outcome} <= set(df.columns) or not _is_cells(df, c):
        return None
    h = hashlib.blake2b(digest_size=16)
    for col in layout:
        h.update(np.ascontiguousarray(df[col].to_numpy()).tobytes())
    return h.digest()


def twfe_cr1_batch(
    cells: pd.DataFrame,
    Y: np.ndarray,
    *,
    alpha: float = 0.05,
    weights: str | None = "n",
    columns: PanelColumns = PANEL_COLUMNS,
) -> pd.DataFrame:
    """TWFE estimates with CR1 inference for many outcome vectors on one cell layout.

    Equivalent to ``twfe(cells.assign(y=Y[:, s]), "y", "region", "period", "treated",
    weights=weights, inference="cr1")`` for every column ``s``, with the two-way projection
    and the clustered scores computed for all columns at once.

    Parameters
    ----------
    cells : pandas.DataFrame
        One row per region-period with ``region``, ``period``, ``treated`` and ``weights``.
    Y : numpy.ndarray
        Outcomes, shape (rows of ``cells``, n_sims).
    alpha : float
    weights : str or None
        Weight column (cell sizes) or None.
    columns : PanelColumns
        The names of the region, period and treatment columns (and the outcome the one
        checking fit uses); default :data:`hubsim.regional.PANEL_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        Columns ``estimate, se, ci_low, ci_high, p_value`` (one row per column of Y).

    Examples
    --------
    >>> from hubsim.regional import RegionalDesign
    >>> cells, Y = RegionalDesign(n_regions=10, n_periods=6, effect=0.3).simulate_many(1, 4)
    >>> twfe_cr1_batch(cells, Y).shape
    (4, 5)
    """
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2 or Y.shape[0] != len(cells):
        raise ValueError(
            f"twfe_cr1_batch: Y must have shape ({len(cells)}, n_sims), got {Y.shape}."
        )
    # One general fit validates the layout and fixes x, the projection and the K of CR1.
    c = columns
    first = twfe(
        cells.assign(**{c.outcome: Y[:, 0]}),
        c.outcome,
        c.unit,
        c.time,
        c.treated,
        weights=weights,
        inference="cr1",
        alpha=alpha,
    )
    ucode = pd.factorize(cells[c.unit], sort=True)[0].astype(np.int64)
    tcode = pd.factorize(cells[c.time], sort=True)[0].astype(np.int64)
    w = np.ones(len(cells)) if weights is None else cells[weights].to_numpy(dtype=float)
    tr = cells[c.treated].to_numpy(dtype=float)
    proj = FEProjector([ucode, tcode], w)
    sw = np.sqrt(w)
    x = proj.resid(np.column_stack([tr, tr]))[:, 0] * sw
    xx = float(x @ x)
    Ys = proj.resid(Y) * sw[:, None]
    beta = (x @ Ys) / xx
    U = Ys - x[:, None] * beta[None, :]
    G = int(ucode.max()) + 1
    S = np.zeros((G, Y.shape[1]))
    np.add.at(S, ucode, x[:, None] * U)
    n = len(cells)
    # K as twfe counts it: 1 regressor + (T - 1) period levels (region effects nest in clusters)
    T = int(tcode.max()) + 1
    k = 1 + (G + T - 1) - G + 1
    se = cr1_se(S, xx, cr1_factor(G, n, k))
    p, lo, hi = t_interval(beta, se, G - 1, alpha)
    out = pd.DataFrame({"estimate": beta, "se": se, "ci_low": lo, "ci_high": hi, "p_value": p})
    # guard: the batched first column must reproduce the general fit
    if not math.isclose(out["se"].iloc[0], first.se, rel_tol=1e-8, abs_tol=1e-14):
        raise RuntimeError("twfe_cr1_batch: batched CR1 disagrees with twfe; report this bug.")
    return out


def twfe_batch(
    cells: pd.DataFrame,
    Y: np.ndarray,
    seeds: Sequence[int],
    *,
    inference: str,
    alpha: float = 0.05,
    weights: str | None = "n",
    B: int = 999,
    wild_weights: str = "rademacher",
    columns: PanelColumns = PANEL_COLUMNS,
) -> pd.DataFrame:
    """TWFE fits of many outcome vectors on one cell layout, with CR1, CR2 or the wild bootstrap.

    Column ``s`` of ``Y`` gets what ``twfe(cells.assign(y=Y[:, s]), ..., weights=weights,
    inference=inference, seed=seeds[s], B=B, wild_weights=wild_weights)`` returns: the
    two-way projection, the CR2 adjustment matrices and the wild bootstrap's restricted
    score maps are computed once for the layout, and the bootstrap runs as one batched
    product per outcome (:func:`hubsim.estimators.inference.wild_bootstrap_many`), so
    p-values are identical to the one-fit path's.

    Returns
    -------
    pandas.DataFrame
        ``estimate, se, ci_low, ci_high, p_value`` per column (``se`` is the CR1 SE for the
        wild bootstrap, which studentises with it; NaN with ``inference="none"``).

    Examples
    --------
    >>> from hubsim.regional import RegionalDesign
    >>> cells, Y = RegionalDesign(n_regions=10, n_periods=6, effect=0.3).simulate_many(1, 3)
    >>> twfe_batch(cells, Y, [1, 2, 3], inference="wild", B=99).shape
    (3, 5)
    """
    if inference not in _BATCHED:
        raise ValueError(f"twfe_batch: inference must be one of {_BATCHED}, got {inference!r}.")
    Y = np.asarray(Y, dtype=float)
    if Y.ndim != 2 or Y.shape[0] != len(cells) or Y.shape[1] != len(seeds):
        raise ValueError(
            f"twfe_batch: Y must have shape ({len(cells)}, {len(seeds)}), got {Y.shape}."
        )
    if inference == "cr1":
        return twfe_cr1_batch(cells, Y, alpha=alpha, weights=weights, columns=columns)
    c = columns
    ucode = pd.factorize(cells[c.unit], sort=True)[0].astype(np.int64)
    tcode = pd.factorize(cells[c.time], sort=True)[0].astype(np.int64)
    w = np.ones(len(cells)) if weights is None else cells[weights].to_numpy(dtype=float)
    tr = cells[c.treated].to_numpy(dtype=float)
    proj = FEProjector([ucode, tcode], w)
    sw = np.sqrt(w)
    x = proj.resid(tr) * sw
    G = int(ucode.max()) + 1
    T = int(tcode.max()) + 1
    # K as twfe counts it: 1 regressor + (T - 1) period levels (region effects nest in clusters)
    k = 1 + (G + T - 1) - G + 1
    core = LinearCore(
        x=x, y=proj.resid(Y[:, 0]) * sw, others=np.zeros((len(cells), 0)), sw=sw, proj=proj,
        cluster=ucode, k_ssc=k,
    )
    Ys = proj.resid(Y) * sw[:, None]
    beta = (x @ Ys) / core.xx
    U = Ys - x[:, None] * beta[None, :]
    se1 = cr1_se(core.cluster_sum(x[:, None] * U), core.xx, core.ssc)
    S = Y.shape[1]
    if inference == "none":
        return pd.DataFrame(
            {
                "estimate": beta,
                "se": np.full(S, np.nan),
                "ci_low": np.full(S, -np.inf),
                "ci_high": np.full(S, np.inf),
                "p_value": np.ones(S),
            }
        )
    if inference == "cr2":
        _, se, df = cr2_many(core, Ys)
        p, lo, hi = t_interval(beta, se, df, alpha)
        return pd.DataFrame({"estimate": beta, "se": se, "ci_low": lo, "ci_high": hi, "p_value": p})
    res = wild_bootstrap_many(core, Ys, seeds, B=B, weights=wild_weights, alpha=alpha, ci=True)
    return pd.DataFrame(
        {
            "estimate": beta,
            "se": se1,
            "ci_low": res.ci_low,
            "ci_high": res.ci_high,
            "p_value": res.p_value,
        }
    )


# ---------------------------------------------------------------------------------------
# Running chunks of simulations
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    design: Any
    specs: tuple[EstimatorSpec, ...]
    seed: int
    key: str
    alpha: float
    estimands: tuple[float, ...]
    use_true: bool
    fast: bool
    keep_data: bool
    columns: PanelColumns = PANEL_COLUMNS


def _batch_group(job: _Job, spec: EstimatorSpec, members: list[int], data, theta: float):
    """Records of one layout's simulations from the batched TWFE path (None: not batchable)."""
    c = job.columns
    s0 = members[0]
    seeds = [_estimator_seed(job.seed, job.key, s, spec.name) for s in members]
    kw = dict(spec.kwargs)
    alpha = float(kw.get("alpha", job.alpha))
    weights = kw.get("weights", c.size)
    B = int(kw.get("B", 999))
    # the general fit of the first simulation validates the layout and, for "auto",
    # says which inference the layout gets (it depends on the layout only)
    first = twfe(
        data[s0],
        c.outcome,
        c.unit,
        c.time,
        c.treated,
        weights=weights,
        inference=kw.get("inference", "auto"),
        alpha=alpha,
        B=B,
        wild_weights=kw.get("wild_weights"),
        seed=seeds[0],
    )
    chosen = _inference_of(first)
    if chosen not in _BATCHED:
        return None
    wweights = first.extra.get("wild_weights", kw.get("wild_weights") or "rademacher")
    cells = data[s0]
    Y = np.column_stack([data[s][c.outcome].to_numpy(dtype=float) for s in members])
    fr = twfe_batch(
        cells, Y, seeds, inference=chosen, alpha=alpha, weights=weights, B=B,
        wild_weights=wweights, columns=c,
    )
    row0 = fr.iloc[0]
    if not (
        math.isclose(row0["estimate"], first.estimate, rel_tol=1e-9, abs_tol=1e-12)
        and (chosen == "none" or math.isclose(row0["p_value"], first.p_value, rel_tol=1e-9, abs_tol=1e-12))
    ):
        raise RuntimeError(
            f"diagnose: the batched {chosen} TWFE path disagrees with twfe on the first "
            "simulation of a chunk; report this bug."
        )
    cols = [fr[k].to_numpy() for k in ("estimate", "se", "ci_low", "ci_high", "p_value")]
    return {
        s: (s, spec.name, theta, *(float(v[i]) for v in cols), "", chosen)
        for i, s in enumerate(members)
    }


def _run_chunk(job: _Job, sims: Sequence[int]) -> tuple[list[tuple], dict[int, pd.DataFrame]]:
    with one_blas_thread():
        return _run_chunk_inner(job, sims)


def _run_chunk_inner(job: _Job, sims: Sequence[int]) -> tuple[list[tuple], dict[int, pd.DataFrame]]:
    data = {s: job.design.simulate(stream(job.seed, job.key, s, "design")) for s in sims}
    recs: list[tuple] = []
    design_est = None
    c = job.columns
    for j, spec in enumerate(job.specs):
        theta = job.estimands[j]
        done: dict[int, tuple] = {}
        if job.fast and _fast_ok(spec, c):
            groups: dict[bytes, list[int]] = {}
            for s in sims:
                sig = _layout_signature(data[s], c)
                if sig is not None:
                    groups.setdefault(sig, []).append(s)
            for members in groups.values():
                if len(members) < 2:
                    continue
                try:
                    got = _batch_group(job, spec, members, data, theta)
                except ValueError:
                    continue  # the general path reports the failure per simulation
                if got is not None:
                    done.update(got)
        for s in sims:
            if s in done:
                recs.append(done[s])
                continue
            row, att, err, inference = _fit_one(
                spec,
                data[s],
                seed=_estimator_seed(job.seed, job.key, s, spec.name),
                alpha=job.alpha,
                use_true=job.use_true,
                columns=c,
            )
            if callable(spec.estimand):
                if design_est is None:
                    design_est = job.design.estimand()
                value = float(spec.estimand(design_est, data[s]))
            elif att is not None:
                value = att  # the declared estimand over the cells the estimator used
            else:
                value = theta
            recs.append((s, spec.name, value, *row, err, inference))
    return recs, (data if job.keep_data else {})


class _Progress:
    """A one-line progress counter on stderr (only when asked or stderr is a terminal)."""

    def __init__(self, total: int, label: str, enabled: bool | None):
        self.total, self.label, self.done = total, label, 0
        self.enabled = sys.stderr.isatty() if enabled is None else bool(enabled)
        self.t0 = time.monotonic()

    def update(self, k: int) -> None:
        self.done += k
        if self.enabled:
            el = time.monotonic() - self.t0
            sys.stderr.write(f"\r{self.label}: {self.done}/{self.total} simulations ({el:.0f} s)")
            sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


# ---------------------------------------------------------------------------------------
# Diagnosands and their MCSEs
# ---------------------------------------------------------------------------------------


def _exaggeration(est: np.ndarray, theta: np.ndarray, sig: np.ndarray) -> float:
    ok = sig & (theta != 0)
    if not ok.any():
        return math.nan
    return float(np.mean(np.abs(est[ok]) / np.abs(theta[ok])))


def diagnosands_from(
    simulations: pd.DataFrame,
    *,
    alpha: float = 0.05,
    seed: int = 0,
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Diagnosands (one row per estimator, :data:`DIAGNOSAND_COLUMNS`) from per-simulation fits.

    Parameters
    ----------
    simulations : pandas.DataFrame
        :data:`SIMULATION_COLUMNS`, as in :attr:`DiagnosisResult.simulations`.
    alpha : float
        Significance level for power, type S and exaggeration.
    seed : int
        Seed of the bootstrap behind the exaggeration ratio's MCSE.
    order : sequence of str, optional
        Estimator order of the rows (default: order of first appearance).

    Examples
    --------
    >>> sims = pd.DataFrame({"sim": range(4), "estimator": "e", "estimand": 1.0,
    ...     "estimate": [0.9, 1.1, 1.0, 1.2], "se": 0.1, "ci_low": [0.7, 0.9, 0.8, 1.0],
    ...     "ci_high": [1.1, 1.3, 1.2, 1.4], "p_value": 0.001, "error": ""})
    >>> float(diagnosands_from(sims)["power"].iloc[0])
    1.0
    """
    check_alpha(alpha)
    names = list(order) if order is not None else list(dict.fromkeys(simulations["estimator"]))
    rows = []
    for name in names:
        d = simulations[simulations["estimator"] == name]
        n_all = len(d)
        failed = (d["error"].fillna("") != "").to_numpy() | ~np.isfinite(
            d["estimate"].to_numpy(dtype=float)
        )
        ok = d.loc[~failed]
        est = ok["estimate"].to_numpy(dtype=float)
        theta = ok["estimand"].to_numpy(dtype=float)
        se = ok["se"].to_numpy(dtype=float)
        lo, hi = ok["ci_low"].to_numpy(dtype=float), ok["ci_high"].to_numpy(dtype=float)
        p = ok["p_value"].to_numpy(dtype=float)
        n = len(est)
        r: dict[str, Any] = {"estimator": name, "n_sims": n_all, "n_ok": n, "alpha": alpha}
        r["mean_estimand"], r["mean_estimand_mcse"] = mean_mcse(theta)[:2]
        r["mean_estimate"], r["mean_estimate_mcse"] = mean_mcse(est)[:2]
        err = est - theta
        r["bias"], r["bias_mcse"] = mean_mcse(err)[:2]
        if n >= 2:
            s = float(est.std(ddof=1))
            m4 = float(np.mean((est - est.mean()) ** 4))
            r["sd_estimate"] = s
            r["sd_estimate_mcse"] = (
                math.sqrt(max(m4 - s**4, 0.0) / (4 * n * s**2)) if s > 0 else 0.0
            )
            mse = float(np.mean(err**2))
            r["rmse"] = math.sqrt(mse)
            r["rmse_mcse"] = (
                float(np.std(err**2, ddof=1) / math.sqrt(n) / (2 * math.sqrt(mse)))
                if mse > 0
                else 0.0
            )
        else:
            r["sd_estimate"] = r["sd_estimate_mcse"] = r["rmse"] = r["rmse_mcse"] = math.nan
        r["mean_se"], r["mean_se_mcse"] = mean_mcse(se)[:2]
        has_p = np.isfinite(p)
        sig = has_p & (p < alpha)
        r["power"], r["power_mcse"] = proportion_mcse(sig[has_p])
        # an unbounded interval (no test at level alpha) covers: it rejects nothing
        has_ci = ~np.isnan(lo) & ~np.isnan(hi)
        covered = ((lo <= theta) & (theta <= hi))[has_ci]
        r["coverage"], r["coverage_mcse"] = proportion_mcse(covered)
        r["null_rejection"], r["null_rejection_mcse"] = proportion_mcse(~covered)
        inf_col = (
            ok["inference"].fillna("").astype(str).to_numpy()
            if "inference" in ok.columns
            else np.full(n, "")
        )
        r["no_test_rate"], r["no_test_rate_mcse"] = proportion_mcse(inf_col == "none")
        used = pd.Series(inf_col[inf_col != ""])
        r["inference"] = str(used.mode().iloc[0]) if len(used) else ""
        n_ci = int(has_ci.sum())
        band = 3 * math.sqrt(alpha * (1 - alpha) / n_ci) if n_ci else math.nan
        r["oversized"] = bool(n_ci and r["null_rejection"] > alpha + band)
        signed = sig & (theta != 0)
        r["type_s_rate"], r["type_s_rate_mcse"] = proportion_mcse(
            np.sign(est[signed]) != np.sign(theta[signed])
        )
        r["exaggeration_ratio"] = _exaggeration(est, theta, sig)
        if signed.sum() >= 2:
            g = stream(seed, "mcse-bootstrap", name)
            idx = g.integers(0, n, size=(_MCSE_BOOT, n))
            boots = np.array([_exaggeration(est[i], theta[i], sig[i]) for i in idx])
            boots = boots[np.isfinite(boots)]
            r["exaggeration_ratio_mcse"] = float(boots.std(ddof=1)) if len(boots) > 1 else math.nan
        else:
            r["exaggeration_ratio_mcse"] = math.nan
        widths = hi - lo
        r["mean_ci_width"], r["mean_ci_width_mcse"] = mean_mcse(widths[np.isfinite(widths)])[:2]
        r["failure_rate"], r["failure_rate_mcse"] = proportion_mcse(failed)
        rows.append(r)
    return pd.DataFrame(rows, columns=DIAGNOSAND_COLUMNS)


# ---------------------------------------------------------------------------------------
# The result object
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiagnosisResult:
    """Diagnosands of a design under several estimators, with the per-simulation fits.

    Attributes
    ----------
    diagnosands : pandas.DataFrame
        One row per estimator, :data:`DIAGNOSAND_COLUMNS`.
    simulations : pandas.DataFrame
        One row per simulation and estimator, :data:`SIMULATION_COLUMNS`.
    design : object
        The design diagnosed.
    estimators : tuple of str
        Estimator names in row order.
    n_sims, seed : int
    alpha : float
    key : str
        The design's stream key.
    data : dict
        Simulated data sets by simulation index (only with ``keep_simulations=True``).
    """

    diagnosands: pd.DataFrame
    simulations: pd.DataFrame
    design: Any
    estimators: tuple[str, ...]
    n_sims: int
    seed: int
    alpha: float
    key: str
    data: dict[int, pd.DataFrame] = field(default_factory=dict, repr=False)

    def recompute(self, alpha: float | None = None) -> DiagnosisResult:
        """Diagnosands at another ``alpha`` from the stored fits, without re-simulating.

        Power, type S and exaggeration change with ``alpha``; coverage and CI width refer
        to the intervals stored (fitted at the original ``alpha``).
        """
        a = self.alpha if alpha is None else check_alpha(alpha)
        diag = diagnosands_from(self.simulations, alpha=a, seed=self.seed, order=self.estimators)
        return DiagnosisResult(
            diag,
            self.simulations,
            self.design,
            self.estimators,
            self.n_sims,
            self.seed,
            a,
            self.key,
            self.data,
        )

    def tidy(self) -> pd.DataFrame:
        """Long form: one row per estimator and diagnosand, with its MCSE, and on each row
        the estimator's inference and whether its test is oversized (so a power read from
        the long frame carries the flag that qualifies it)."""
        rows = []
        for _, r in self.diagnosands.iterrows():
            for d in DIAGNOSANDS:
                rows.append(
                    {
                        "estimator": r["estimator"],
                        "diagnosand": d,
                        "estimate": r[d],
                        "mcse": r[f"{d}_mcse"],
                        "n_sims": r["n_sims"],
                        "alpha": r["alpha"],
                        "inference": r["inference"],
                        "oversized": bool(r["oversized"]),
                    }
                )
        return pd.DataFrame(rows, columns=TIDY_DIAGNOSAND_COLUMNS)

    def summary(self) -> str:
        """A short text table of the main diagnosands (value and MCSE), each estimator's
        row ending in a warning where its power and coverage are not those of a usable
        test: oversized (a true null rejected beyond alpha + 3 MCSE), or no test at level
        alpha in most fits (coverage of unbounded intervals is shown as n/a)."""
        show = ["mean_estimand", "bias", "rmse", "power", "coverage", "mean_se", "failure_rate"]
        head = f"Diagnosis of {self.key}: {self.n_sims} simulations, seed {self.seed}, alpha {self.alpha}"
        lines = [head]
        w = max(len(e) for e in self.estimators)
        lines.append(" " * w + "".join(f"  {s:>18}" for s in show))
        for _, r in self.diagnosands.iterrows():
            no_test = has_no_test(r["no_test_rate"])
            cells = "".join(
                f"  {'n/a (no test)' if no_test and s == 'coverage' else _fmt(r[s], r[s + '_mcse']):>18}"
                for s in show
            )
            lines.append(f"{r['estimator']:<{w}}{cells}{usability_warning(r, self.alpha)}")
        return "\n".join(lines)


#: an estimator with no test at level alpha in at least this share of its fits has no
#: usable test at the design (its power and coverage are not a test's)
NO_TEST_SHARE = 0.5


def has_no_test(no_test_rate: float) -> bool:
    """Whether a ``no_test_rate`` means the estimator has no usable test at the design.

    Examples
    --------
    >>> has_no_test(1.0), has_no_test(0.1), has_no_test(float("nan"))
    (True, False, False)
    """
    return bool(np.isfinite(no_test_rate) and no_test_rate >= NO_TEST_SHARE)


def usability_warning(r: Any, alpha: float) -> str:
    """The end of a summary row: why its power and coverage cannot be read as a test's."""
    if has_no_test(r["no_test_rate"]):
        return f"  ! no test at level {alpha:g} in {r['no_test_rate']:.0%} of fits"
    if bool(r["oversized"]):
        return (
            f"  ! oversized: rejects a true null {r['null_rejection']:.3f} of the time "
            f"(alpha {alpha:g})"
        )
    return ""


def _fmt(v: float, m: float) -> str:
    if not np.isfinite(v):
        return "NA"
    return f"{v:.3f} ({m:.3f})" if np.isfinite(m) else f"{v:.3f}"


# ---------------------------------------------------------------------------------------
# Input checks and the entry point
# ---------------------------------------------------------------------------------------


def _check_design(design: Any) -> None:
    for m in ("simulate", "estimand"):
        if not callable(getattr(design, m, None)):
            raise ValueError(
                f"design must have a {m}() method (e.g. a hubsim.regional.RegionalDesign), "
                f"got {type(design).__name__}."
            )


def _columns(design: Any) -> PanelColumns:
    """The design's declared panel columns (``design.columns``), else RegionalDesign's."""
    declared = getattr(design, "columns", None)
    return declared if isinstance(declared, PanelColumns) else PANEL_COLUMNS


def _design_estimands(design: Any, specs: Sequence[EstimatorSpec]) -> tuple[float, ...]:
    est = design.estimand()
    out = []
    for s in specs:
        if callable(s.estimand):
            out.append(math.nan)
        elif s.estimand == "event_window":
            lags = int(s.kwargs.get("lags", 4))
            if hasattr(est, "event_window_mean"):
                out.append(float(est.event_window_mean(0, lags)))
            else:
                out.append(_estimand_value(est, "att"))
        else:
            out.append(_estimand_value(est, s.estimand))
    return tuple(out)


def diagnose(
    design: Any,
    estimators: str | EstimatorSpec | Iterable[str | EstimatorSpec],
    *,
    n_sims: int,
    seed: int,
    alpha: float = 0.05,
    workers: int = 1,
    keep_simulations: bool = False,
    progress: bool | None = None,
    fast: bool = True,
    key: str | None = None,
) -> DiagnosisResult:
    """Simulate ``design`` ``n_sims`` times, apply each estimator, and compute diagnosands.

    Parameters
    ----------
    design : RegionalDesign or design-like
        Has ``simulate(rng) -> DataFrame`` and ``estimand()``.
    estimators : str, EstimatorSpec, or a list of them
        Registry names (:data:`ESTIMATORS`) or specs.
    n_sims : int
        Simulations (at least 2).
    seed : int
        Non-negative seed; with the design key it fixes every random draw.
    alpha : float
        Significance level in (0, 1), passed to estimators that take ``alpha``.
    workers : int
        Processes; results are identical to ``workers=1``.
    keep_simulations : bool
        Also keep every simulated data set (``result.data``). The per-simulation fits
        (``result.simulations``) are always kept.
    progress : bool, optional
        Progress on stderr; default only when stderr is a terminal.
    fast : bool
        Use the vectorised TWFE + CR1 path where it applies.
    key : str, optional
        Stream key overriding :func:`design_key` (power curves pass the base design's key
        so that design points share random numbers).

    Returns
    -------
    DiagnosisResult

    Examples
    --------
    >>> from hubsim.regional import RegionalDesign
    >>> d = RegionalDesign(n_regions=12, n_periods=6, n_treated=6, schedule=(3, 4), effect=0.5)
    >>> res = diagnose(d, ["twfe_cr1"], n_sims=20, seed=1)
    >>> list(res.diagnosands["estimator"]), int(res.diagnosands["n_sims"].iloc[0])
    (['twfe_cr1'], 20)
    """
    a = check_alpha(alpha)
    n = check_int("n_sims", n_sims, 2)
    seed = check_int("seed", seed, 0)
    workers = check_int("workers", workers, 1)
    specs = tuple(resolve_estimators(estimators))
    _check_design(design)
    k = key if key is not None else design_key(design)
    job = _Job(
        design=design,
        specs=specs,
        seed=seed,
        key=k,
        alpha=a,
        estimands=_design_estimands(design, specs),
        use_true=getattr(design, "outcome", "continuous") != "binary",
        fast=bool(fast),
        keep_data=bool(keep_simulations),
        columns=_columns(design),
    )
    chunks = [list(range(i, min(i + CHUNK, n))) for i in range(0, n, CHUNK)]
    bar = _Progress(n, "diagnose", progress)
    recs: list[tuple] = []
    data: dict[int, pd.DataFrame] = {}
    try:
        if workers == 1 or len(chunks) == 1:
            for c in chunks:
                r, dd = _run_chunk(job, c)
                recs.extend(r)
                data.update(dd)
                bar.update(len(c))
        else:
            with ProcessPoolExecutor(
                max_workers=min(workers, len(chunks), os.cpu_count() or workers)
            ) as ex:
                futs = {ex.submit(_run_chunk, job, c): c for c in chunks}
                for f in as_completed(futs):
                    r, dd = f.result()
                    recs.extend(r)
                    data.update(dd)
                    bar.update(len(futs[f]))
    finally:
        bar.close()
    sims = pd.DataFrame(recs, columns=SIMULATION_COLUMNS)
    order = {s.name: i for i, s in enumerate(specs)}
    sims = (
        sims.assign(_o=sims["estimator"].map(order))
        .sort_values(["_o", "sim"], kind="mergesort")
        .drop(columns="_o")
        .reset_index(drop=True)
    )
    names = tuple(s.name for s in specs)
    diag = diagnosands_from(sims, alpha=a, seed=seed, order=names)
    return DiagnosisResult(diag, sims, design, names, n, seed, a, k, dict(sorted(data.items())))
