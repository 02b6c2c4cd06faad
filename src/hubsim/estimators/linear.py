"""Linear estimators: difference in means, two-way fixed effects DiD and event study.

Each takes a plain DataFrame and column names and returns an :class:`Estimate` (the event
study returns an :class:`EventStudyResult`). Fixed effects are never built as dummy
columns: they are projected out exactly (:class:`~hubsim.estimators.inference.FEProjector`),
so a fit on 80,000 individual rows costs a few milliseconds, and region-period cell means
with their sample sizes as ``weights`` give the same coefficient as the individual rows
they summarise (for a balanced design without covariates).

Data handling
-------------
- Missing values in any used column raise, unless ``missing="drop"``.
- Unbalanced panels and repeated cross-sections (several rows per unit-period) are fine:
  the two-way projection is exact for any pattern of cells.
- A treated unit with no untreated period, a treatment column that is not 0/1 or never
  varies, a single cluster, a missing column, or non-positive weights raise one
  ValueError sentence naming the column.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from hubsim.checks import check_alpha
from hubsim.estimators._data import (
    adoption_periods,
    handle_missing,
    require_binary,
    require_clusters,
    require_columns,
    require_numeric,
)
from hubsim.estimators._estimate import TIDY_COLUMNS, Estimate
from hubsim.estimators.inference import (
    INFERENCES,
    FEProjector,
    LinearCore,
    choose_inference,
    conley_taber,
    cr1,
    cr2,
    randomization_inference,
    wild_bootstrap,
)
from hubsim.stats import cr1_factor, t_interval

EVENT_STUDY_COLUMNS = [TIDY_COLUMNS[0], "event_time", *TIDY_COLUMNS[1:]]


# ---------------------------------------------------------------------------------------
# Shared preparation
# ---------------------------------------------------------------------------------------


def _check_options(
    where: str, inference: str, alpha: float, B: int, wild_weights: str | None
) -> None:
    if inference not in INFERENCES:
        raise ValueError(
            f"{where}: inference must be one of {', '.join(INFERENCES)}, got {inference!r}."
        )
    check_alpha(alpha, where)
    if not (isinstance(B, int | np.integer) and B >= 19):
        raise ValueError(f"{where}: B must be an integer of at least 19, got {B!r}.")
    if wild_weights not in (None, "rademacher", "webb"):
        raise ValueError(
            f"{where}: wild_weights must be 'rademacher' or 'webb', got {wild_weights!r}."
        )


def _codes(s: pd.Series) -> np.ndarray:
    return pd.factorize(s, sort=True)[0].astype(np.int64)


def _weights(d: pd.DataFrame, weights: str | None, where: str) -> np.ndarray:
    if weights is None:
        return np.ones(len(d))
    require_numeric(d, weights, where=where)
    w = d[weights].to_numpy(dtype=float)
    if not np.all(np.isfinite(w) & (w > 0)):
        raise ValueError(f"{where}: weights column {weights!r} must be positive and finite.")
    return w


def _nested(fe: np.ndarray, cl: np.ndarray) -> bool:
    """Whether every level of ``fe`` lies in a single cluster."""
    lo = np.full(int(fe.max()) + 1, np.iinfo(np.int64).max)
    hi = np.full(int(fe.max()) + 1, -1)
    np.minimum.at(lo, fe, cl)
    np.maximum.at(hi, fe, cl)
    return bool(np.all(lo == hi))


def _check_pre_period(
    d: pd.DataFrame,
    unit: str,
    time: str,
    ucode: np.ndarray,
    tcode: np.ndarray,
    tr: np.ndarray,
    where: str,
) -> None:
    """Refuse a treated unit whose first observed period is already treated."""
    U = int(ucode.max()) + 1
    first = np.full(U, np.iinfo(np.int64).max)
    np.minimum.at(first, ucode, tcode)
    on = tr > 0
    first_on = np.full(U, np.iinfo(np.int64).max)
    np.minimum.at(first_on, ucode[on], tcode[on])
    bad = np.flatnonzero(first_on <= first)
    if len(bad):
        label = d[unit].iloc[int(np.argmax(ucode == bad[0]))]
        label = label.item() if hasattr(label, "item") else label
        raise ValueError(
            f"{where}: region {label!r} (column {unit!r}) is treated from its first period, so "
            "it has no pre-period to compare with; drop it or add earlier periods."
        )


def _k_ssc(n_regressors: int, factors: Sequence[np.ndarray], cl: np.ndarray) -> int:
    """K of the CR1 factor as pyfixest counts it (fixed effects nested in clusters drop out)."""
    levels = [int(f.max()) + 1 for f in factors]
    k_fe_adj = sum(levels) - (len(levels) - 1)
    nested = [L for f, L in zip(factors, levels, strict=True) if L > 1 and _nested(f, cl)]
    return n_regressors + k_fe_adj - sum(nested) + len(nested)


@dataclass
class _Frame:
    """Cleaned, coded data shared by the estimators (``d`` is never modified)."""

    d: pd.DataFrame
    y: np.ndarray
    w: np.ndarray
    cl: np.ndarray
    G: int
    cluster_name: str
    tr: np.ndarray | None
    _codes: dict = field(default_factory=dict)

    def codes(self, column: str) -> np.ndarray:
        """Integer codes 0..L-1 of a column (sorted levels), computed once."""
        if column not in self._codes:
            self._codes[column] = _codes(self.d[column])
        return self._codes[column]


def _prepare(
    df: pd.DataFrame,
    *,
    where: str,
    y: str,
    treat: str | None,
    cluster: str | None,
    weights: str | None,
    covariates: Sequence[str],
    extra: Sequence[str | None] = (),
    missing: str,
    nan_ok: Sequence[str | None] = (),
) -> _Frame:
    if isinstance(covariates, str):
        covariates = (covariates,)
    cols = [y, treat, cluster, weights, *covariates, *extra]
    require_columns(df, cols, where=where)
    used = list(dict.fromkeys(c for c in cols if c is not None))
    checked = [c for c in used if c not in nan_ok]
    if missing not in ("raise", "drop") or any(df[c].isna().any() for c in checked):
        d = handle_missing(df[used], checked, missing=missing, where=where)
    else:
        d = df  # read only below, so no copy is needed
    if len(d) == 0:
        raise ValueError(f"{where}: no rows left to estimate from.")
    require_numeric(d, y, where=where)
    for c in covariates:
        require_numeric(d, c, where=where)
    tr = None
    if treat is not None:
        tr = require_binary(d, treat, where=where).astype(float)
        if tr.min() == tr.max():
            raise ValueError(
                f"{where}: treatment column {treat!r} is {int(tr[0])} in every row, so there is "
                "no comparison to make."
            )
    w = _weights(d, weights, where)
    fr = _Frame(
        d=d,
        y=d[y].to_numpy(dtype=float),
        w=w,
        cl=np.zeros(0, np.int64),
        G=0,
        cluster_name=cluster or "row",
        tr=tr,
    )
    fr.cl = np.arange(len(d), dtype=np.int64) if cluster is None else fr.codes(cluster)
    fr.G = int(fr.cl.max()) + 1
    require_clusters(fr.G, where=where + f" (cluster column {fr.cluster_name!r})")
    return fr


def _core_from(
    proj: FEProjector,
    sw: np.ndarray,
    y: np.ndarray,
    focal: np.ndarray,
    others: np.ndarray,
    cl: np.ndarray,
    k_ssc: int,
) -> LinearCore:
    """Partial the fixed effects (weighted) and the other regressors out of y and focal."""
    M = proj.resid(np.column_stack([y, focal, others])) * sw[:, None]
    ys, xs, os_ = M[:, 0], M[:, 1], M[:, 2:]
    if os_.shape[1]:
        coef, *_ = np.linalg.lstsq(os_, np.column_stack([ys, xs]), rcond=None)
        ys = ys - os_ @ coef[:, 0]
        xs = xs - os_ @ coef[:, 1]
    return LinearCore(x=xs, y=ys, others=os_, sw=sw, proj=proj, cluster=cl, k_ssc=k_ssc)


@dataclass
class _Assign:
    """How treatment is assigned, for randomization inference and Conley-Taber."""

    unit: np.ndarray
    time: np.ndarray
    paths: np.ndarray | None
    path_codes: np.ndarray | None
    treated_units: np.ndarray
    control_units: np.ndarray
    problem: str = ""


def _assignment(unit: np.ndarray, time: np.ndarray, treat: np.ndarray) -> _Assign:
    """Unit x time treatment paths; missing cells filled when adoption is absorbing."""
    U, T = int(unit.max()) + 1, int(time.max()) + 1
    tot = np.bincount(unit * T + time, minlength=U * T).reshape(U, T)
    on = np.bincount(unit * T + time, treat, minlength=U * T).reshape(U, T)
    problem = ""
    if np.any((on > 0) & (on < tot)):
        problem = "treatment varies within a unit-period cell"
    paths = np.where(tot > 0, on > 0, -1).astype(np.int8)
    ever = (paths == 1).any(axis=1)
    if (paths < 0).any() and not problem:
        first = np.where(ever, np.argmax(paths == 1, axis=1), T)
        absorbing = all(
            np.all(paths[u, first[u] :][paths[u, first[u] :] >= 0] == 1) for u in range(U)
        )
        if absorbing:
            paths = (np.arange(T)[None, :] >= first[:, None]).astype(np.int8)
        else:
            problem = "the panel is unbalanced and treatment is not absorbing"
    if problem:
        return _Assign(unit, time, None, None, np.flatnonzero(ever), np.flatnonzero(~ever), problem)
    _, path_codes = np.unique(paths, axis=0, return_inverse=True)
    uniq = np.unique(paths, axis=0)
    return _Assign(
        unit, time, uniq, path_codes.ravel(), np.flatnonzero(ever), np.flatnonzero(~ever)
    )


def _infer(
    core: LinearCore,
    *,
    where: str,
    method: str,
    inference: str,
    alpha: float,
    B: int,
    seed: int | None,
    wild_weights: str | None,
    assign: _Assign | Callable[[], _Assign] | None,
    partial,
    n_obs: int,
    term: str,
    G_treated: int,
    G_untreated: int,
    allowed: Sequence[str] = INFERENCES,
    collapsed: Callable[[], tuple[LinearCore, _Assign, Callable] | None] | None = None,
) -> Estimate:
    """Run the requested (or auto-chosen) inference on one coefficient.

    ``collapsed`` optionally gives the same regression on unit-period cell means (weights
    = summed weights). Its wild-bootstrap and permutation t-statistics are those of the
    row-level fit times one constant (the N of the CR1 factor), so p-values and
    intervals are identical and the resampling runs on cells, not rows.
    """
    if inference not in allowed:
        raise ValueError(
            f"{where}: inference must be one of {', '.join(allowed)}, got {inference!r}."
        )
    note = ""
    chosen, weights = inference, wild_weights or "rademacher"
    if inference == "auto":
        if core.G > 2000:
            chosen, weights, note = (
                "cr1",
                weights,
                f"auto chose CR1: {core.G} clusters are plenty for a cluster-robust t-test.",
            )
        else:
            chosen, auto_w, note = choose_inference(core.G, G_treated, G_untreated, B=B)
            weights = wild_weights or auto_w
            if chosen not in allowed:
                chosen = "wild"
                note += (
                    " This estimator cannot permute assignments, so the wild bootstrap is used"
                    " instead; treat its p-value with caution."
                )
    else:
        note = f"{inference} as requested."
    note = note.rstrip(".")
    se1, df1 = cr1(core)
    extra: dict = {"se_cr1": se1}
    beta = core.beta
    rcore, partial_r = core, partial
    if chosen in ("wild", "ri", "conley_taber") and collapsed is not None:
        packed = collapsed()
        if packed is not None:
            rcore, assign, partial_r = packed
    if chosen == "cr1":
        se, df = se1, df1
        p, lo, hi = t_interval(beta, se, df, alpha)
    elif chosen == "cr2":
        se, df = cr2(core)
        p, lo, hi = t_interval(beta, se, df, alpha)
    elif chosen == "wild":
        res = wild_bootstrap(rcore, B=B, weights=weights, seed=seed, alpha=alpha)
        # se is the CR1 standard error that studentises the bootstrap statistics
        se, df, p, lo, hi = se1, math.nan, res.p_value, res.ci_low, res.ci_high
        extra.update(wild_B=res.B, wild_weights=weights, full_enumeration=res.full_enumeration)
        how = "full enumeration" if res.full_enumeration else "random draws"
        note += f" ({res.B} bootstrap draws, {how}, {weights} weights)"
    elif chosen == "ri":
        assign = assign() if callable(assign) else assign
        if assign is None or assign.paths is None:
            why = assign.problem if assign is not None else "no assignment information"
            raise ValueError(
                f"{where}: inference='ri' needs one treatment path per unit, but {why}."
            )
        res = randomization_inference(
            rcore,
            assign.path_codes,
            assign.paths,
            assign.unit,
            assign.time,
            B=B,
            seed=seed,
            alpha=alpha,
            partial=partial_r,
        )
        se, df, p, lo, hi = math.nan, math.nan, res.p_value, res.ci_low, res.ci_high
        extra.update(ri_n_perm=res.n_perm, ri_exact=res.exact)
        note += f" ({res.n_perm} {'distinct assignments, exact' if res.exact else 'random permutations'})"
    elif chosen == "conley_taber":
        assign = assign() if callable(assign) else assign
        if assign is None or len(assign.control_units) < 2:
            raise ValueError(
                f"{where}: inference='conley_taber' needs at least 2 never-treated units."
            )
        res = conley_taber(
            rcore,
            assign.unit,
            assign.time,
            assign.treated_units,
            assign.control_units,
            B=B,
            seed=seed,
            alpha=alpha,
        )
        se, df, p, lo, hi = math.nan, math.nan, res.p_value, res.ci_low, res.ci_high
        extra.update(ct_draws=res.n_draws)
        note += f" ({res.n_draws} control draws)"
    else:  # pragma: no cover - guarded by _check_options
        raise ValueError(f"{where}: unknown inference {chosen!r}.")
    return Estimate(
        estimate=beta,
        se=se,
        ci_low=lo,
        ci_high=hi,
        p_value=p,
        n_obs=n_obs,
        n_clusters=core.G,
        method=method,
        inference=chosen,
        inference_note=note.strip() + ".",
        term=term,
        df=df,
        alpha=alpha,
        extra=extra,
    )


def _collapse(
    ucode: np.ndarray,
    tcode: np.ndarray,
    cl: np.ndarray,
    w: np.ndarray,
    y: np.ndarray,
    tr: np.ndarray,
):
    """The TWFE regression on unit-period cell means, when rows repeat within cells.

    Returns (core, assignment, partial) on cells, or None when there is nothing to collapse
    or when treatment or cluster vary within a cell.
    """
    T = int(tcode.max()) + 1
    key = ucode * T + tcode
    cell, first, inv = np.unique(key, return_index=True, return_inverse=True)
    if len(cell) == len(key):
        return None
    if np.any(tr != tr[first][inv]) or np.any(cl != cl[first][inv]):
        return None
    W = np.bincount(inv, w)
    y_c = np.bincount(inv, w * y) / W
    u_c = np.unique(cell // T, return_inverse=True)[1].astype(np.int64)
    t_c = np.unique(cell % T, return_inverse=True)[1].astype(np.int64)
    cl_c = cl[first]
    tr_c = tr[first]
    proj = FEProjector([u_c, t_c], W)
    sw = np.sqrt(W)
    none = np.zeros((len(cell), 0))
    core = _core_from(proj, sw, y_c, tr_c, none, cl_c, _k_ssc(1, [u_c, t_c], cl_c))
    return core, _assignment(u_c, t_c, tr_c), _partial_fn(proj, sw, none)


def _partial_fn(proj: FEProjector, sw: np.ndarray, others: np.ndarray):
    """The map that partials a new focal regressor (N x m) like the original one."""

    def partial(D: np.ndarray) -> np.ndarray:
        X = proj.resid(D) * sw[:, None]
        if others.shape[1]:
            coef, *_ = np.linalg.lstsq(others, X, rcond=None)
            X = X - others @ coef
        return X

    return partial


def _counts(cl: np.ndarray, treat: np.ndarray, G: int) -> tuple[int, int]:
    ever = np.bincount(cl, treat, minlength=G) > 0
    return int(ever.sum()), int((~ever).sum())


# ---------------------------------------------------------------------------------------
# Public estimators
# ---------------------------------------------------------------------------------------


def diff_in_means(
    df: pd.DataFrame,
    y: str,
    treat: str,
    cluster: str | None = None,
    covariates: Sequence[str] = (),
    *,
    weights: str | None = None,
    inference: str = "auto",
    alpha: float = 0.05,
    B: int = 999,
    wild_weights: str | None = None,
    seed: int = 0,
    missing: str = "raise",
) -> Estimate:
    """Difference in (weighted) means, optionally covariate-adjusted, with clustered inference.

    The regression ``y ~ 1 + treat + covariates``; the coefficient on ``treat`` is the
    estimate. With ``cluster=None`` each row is its own cluster (heteroskedasticity-robust).

    Parameters
    ----------
    df : pandas.DataFrame
    y, treat : str
        Outcome and 0/1 treatment columns.
    cluster : str, optional
        Cluster column (e.g. region); treatment should be constant within clusters for
        ``"ri"`` and ``"conley_taber"``.
    covariates : sequence of str
        Numeric adjustment covariates.
    weights : str, optional
        Positive analytic weights (e.g. cell sizes for cell means).
    inference : {"auto", "cr1", "cr2", "wild", "ri", "conley_taber"}
    alpha : float
    B : int
        Bootstrap draws or permutations.
    wild_weights : {"rademacher", "webb"}, optional
    seed : int
        Seed of the bootstrap weights or permutations (fixed by default, so repeated
        calls give the same p-value and interval).
    missing : {"raise", "drop"}

    Returns
    -------
    Estimate

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> d = pd.DataFrame({"region": np.repeat(np.arange(20), 30)})
    >>> d["treat"] = (d["region"] < 10).astype(int)
    >>> d["y"] = 0.5 * d["treat"] + rng.normal(size=len(d))
    >>> est = diff_in_means(d, "y", "treat", cluster="region", inference="cr1")
    >>> est.method, est.n_clusters
    ('diff_in_means', 20)
    """
    where = "diff_in_means"
    _check_options(where, inference, alpha, B, wild_weights)
    fr = _prepare(
        df,
        where=where,
        y=y,
        treat=treat,
        cluster=cluster,
        weights=weights,
        covariates=covariates,
        missing=missing,
    )
    d = fr.d
    tr = fr.tr
    covs = d[list(covariates)].to_numpy(dtype=float) if len(covariates) else np.zeros((len(d), 0))
    one = np.zeros(len(d), dtype=np.int64)
    proj = FEProjector([one], fr.w)
    sw = np.sqrt(fr.w)
    k = _k_ssc(1 + covs.shape[1], [one], fr.cl)
    core = _core_from(proj, sw, fr.y, tr, covs, fr.cl, k)
    # assignment at the cluster level: one "period", the cluster's treatment
    cl_treat = np.bincount(fr.cl, tr, minlength=fr.G) / np.bincount(fr.cl, minlength=fr.G)
    if np.all((cl_treat == 0) | (cl_treat == 1)):
        assign = _Assign(
            unit=fr.cl,
            time=one,
            paths=np.array([[0], [1]], dtype=np.int8),
            path_codes=cl_treat.astype(np.int64),
            treated_units=np.flatnonzero(cl_treat == 1),
            control_units=np.flatnonzero(cl_treat == 0),
        )
    else:
        assign = _Assign(
            fr.cl,
            one,
            None,
            None,
            np.array([]),
            np.array([]),
            problem=f"treatment {treat!r} varies within clusters",
        )
    g1, g0 = _counts(fr.cl, tr, fr.G)
    est = _infer(
        core,
        where=where,
        method="diff_in_means",
        inference=inference,
        alpha=alpha,
        B=B,
        seed=seed,
        wild_weights=wild_weights,
        assign=assign,
        partial=_partial_fn(proj, sw, core.others),
        n_obs=len(d),
        term=treat,
        G_treated=g1,
        G_untreated=g0,
    )
    return est


def twfe(
    df: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    treat: str,
    *,
    cluster: str | None = None,
    weights: str | None = None,
    covariates: Sequence[str] = (),
    inference: str = "auto",
    alpha: float = 0.05,
    B: int = 999,
    wild_weights: str | None = None,
    seed: int = 0,
    missing: str = "raise",
) -> Estimate:
    """Two-way fixed-effects difference-in-differences: ``y ~ treat + covariates | unit + time``.

    The unit and time effects are projected out exactly (no dummy matrix). Works on
    individual rows (repeated cross-sections) or on unit-period cell means with their
    sizes as ``weights``. Treatment may switch off again (closures) but every treated
    unit needs an untreated period.

    Parameters
    ----------
    df : pandas.DataFrame
    y, unit, time, treat : str
        Outcome, unit (region), period and 0/1 current-exposure columns.
    cluster : str, optional
        Cluster column; defaults to ``unit``.
    weights : str, optional
        Positive analytic weights.
    covariates : sequence of str
    inference : {"auto", "cr1", "cr2", "wild", "ri", "conley_taber"}
        ``"auto"`` picks by the number of clusters and of treated/untreated clusters
        (see :func:`hubsim.estimators.inference.choose_inference`) and says why in
        ``Estimate.inference_note``.
    alpha : float
    B : int
        Bootstrap draws / permutations.
    wild_weights : {"rademacher", "webb"}, optional
    seed : int
        Seed of the bootstrap weights or permutations (fixed by default, so repeated
        calls give the same p-value and interval).
    missing : {"raise", "drop"}

    Returns
    -------
    Estimate

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame([(r, t) for r in range(12) for t in range(6)], columns=["region", "period"])
    >>> d["treat"] = ((d["region"] < 6) & (d["period"] >= 3)).astype(int)
    >>> d["y"] = d["region"] * 0.1 + d["period"] * 0.2 + 1.0 * d["treat"] + rng.normal(0, 0.1, len(d))
    >>> est = twfe(d, "y", "region", "period", "treat", inference="cr1")
    >>> bool(abs(est.estimate - 1.0) < 3 * est.se)
    True
    """
    where = "twfe"
    _check_options(where, inference, alpha, B, wild_weights)
    fr = _prepare(
        df,
        where=where,
        y=y,
        treat=treat,
        cluster=cluster if cluster is not None else unit,
        weights=weights,
        covariates=covariates,
        extra=(unit, time),
        missing=missing,
    )
    d = fr.d
    ucode, tcode = fr.codes(unit), fr.codes(time)
    tr = fr.tr
    _check_pre_period(d, unit, time, ucode, tcode, tr, where)
    covs = d[list(covariates)].to_numpy(dtype=float) if len(covariates) else np.zeros((len(d), 0))
    proj = FEProjector([ucode, tcode], fr.w)
    sw = np.sqrt(fr.w)
    k = _k_ssc(1 + covs.shape[1], [ucode, tcode], fr.cl)
    core = _core_from(proj, sw, fr.y, tr, covs, fr.cl, k)
    g1, g0 = _counts(fr.cl, tr, fr.G)
    return _infer(
        core,
        where=where,
        method="twfe",
        inference=inference,
        alpha=alpha,
        B=B,
        seed=seed,
        wild_weights=wild_weights,
        assign=lambda: _assignment(ucode, tcode, tr),
        partial=_partial_fn(proj, sw, core.others),
        n_obs=len(d),
        term=treat,
        G_treated=g1,
        G_untreated=g0,
        collapsed=None
        if covs.shape[1]
        else (lambda: _collapse(ucode, tcode, fr.cl, fr.w, fr.y, tr)),
    )


# ---------------------------------------------------------------------------------------
# Event study
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventStudyResult:
    """Event-study coefficients relative to adoption.

    Attributes
    ----------
    estimate : Estimate
        The average of the post-adoption coefficients (event times 0..lags), with the
        coefficient frame in ``estimate.extra["coefficients"]``.
    coefficients : pandas.DataFrame
        One row per event time (``EVENT_STUDY_COLUMNS``), the reference row included
        with estimate 0 and NaN uncertainty.
    pretrend_f, pretrend_p : float
        Joint CR1 Wald test that all lead coefficients are zero (F with G-1 denominator df).
    ref : int
        The reference event time.
    """

    estimate: Estimate
    coefficients: pd.DataFrame
    pretrend_f: float
    pretrend_p: float
    ref: int
    estimates: dict = field(default_factory=dict, repr=False)

    def tidy(self) -> pd.DataFrame:
        """All event-time coefficients in DeclareDesign column names."""
        return self.coefficients.copy()

    def summary(self) -> str:
        """A short human-readable summary."""
        lines = [self.estimate.summary()]
        for _, r in self.coefficients.iterrows():
            lines.append(
                f"  e={int(r['event_time']):+d}: {r['estimate']:.4g} "
                f"[{r['conf_low']:.4g}, {r['conf_high']:.4g}] p={r['p_value']:.3g}"
            )
        lines.append(f"  pre-trend joint F = {self.pretrend_f:.3g}, p = {self.pretrend_p:.3g}")
        return "\n".join(lines)


def _adoption_from(
    d: pd.DataFrame, unit: str, time: str, treat: str | None, cohort: str | None, where: str
) -> pd.Series:
    if (treat is None) == (cohort is None):
        raise ValueError(
            f"{where}: give exactly one of treat= (0/1 exposure) or cohort= (adoption period)."
        )
    if cohort is not None:
        require_numeric(d, cohort, where=where)
        per_unit = d.groupby(unit)[cohort].agg(["min", "max"])
        bad = per_unit.index[~((per_unit["min"] == per_unit["max"]) | per_unit.isna().all(axis=1))]
        if len(bad):
            raise ValueError(
                f"{where}: cohort column {cohort!r} must be constant within unit, but unit {bad[0]!r} has several values."
            )
        g = per_unit["min"].astype(float)
        g = g.where(np.isfinite(g) & (g != 0))
        first = d.groupby(unit)[time].min().reindex(g.index)
        nopre = g.index[(g <= first).to_numpy()]
        if len(nopre):
            raise ValueError(
                f"{where}: unit {nopre[0]!r} adopts at its first period (cohort column {cohort!r}), so it has no pre-period."
            )
        return g
    sub = d[[unit, time]].assign(**{treat: require_binary(d, treat, where=where)})
    return adoption_periods(sub, unit, time, treat, where=where, absorbing=True).astype(float)


def _contrast_regressors(X: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reparametrise X beta so that the first new coefficient is c'beta."""
    K = len(c)
    j0 = int(np.flatnonzero(c)[0])
    A = np.eye(K)
    A = np.vstack([c[None, :], np.delete(A, j0, axis=0)])
    Z = X @ np.linalg.inv(A)
    return Z[:, 0], Z[:, 1:]


def event_study(
    df: pd.DataFrame,
    y: str,
    unit: str,
    time: str,
    *,
    treat: str | None = None,
    cohort: str | None = None,
    leads: int = 4,
    lags: int = 4,
    ref: int = -1,
    cluster: str | None = None,
    weights: str | None = None,
    covariates: Sequence[str] = (),
    inference: str = "auto",
    alpha: float = 0.05,
    B: int = 999,
    wild_weights: str | None = None,
    seed: int = 0,
    missing: str = "raise",
) -> EventStudyResult:
    """Dynamic TWFE event study with binned endpoints and never-treated controls.

    Regresses ``y`` on unit and time effects and indicators of event time
    ``e = time - adoption`` for ever-treated units, ``e`` in ``-leads..lags`` with the
    endpoints binned (``e <= -leads`` pooled into ``-leads``, ``e >= lags`` into ``lags``)
    and ``ref`` omitted. Never-treated units have all indicators zero. ``time`` must be
    numeric (e.g. month index) so that event time is a difference of periods.

    Parameters
    ----------
    df : pandas.DataFrame
    y, unit, time : str
    treat : str, optional
        0/1 exposure column; adoption is its first 1 per unit (must be absorbing).
    cohort : str, optional
        Adoption period per row (constant within unit; NaN, 0 or inf = never treated).
    leads, lags : int
        Event-time window.
    ref : int
        Omitted reference event time (default -1).
    cluster, weights, covariates, alpha, B, wild_weights, seed, missing
        As in :func:`twfe`.
    inference : {"auto", "cr1", "cr2", "wild"}
        Per coefficient (and for the post average).

    Returns
    -------
    EventStudyResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> d = pd.DataFrame([(r, t) for r in range(16) for t in range(8)], columns=["region", "month"])
    >>> d["g"] = np.where(d["region"] < 8, 3 + d["region"] % 3, np.nan)
    >>> d["y"] = np.where(d["month"] >= d["g"], 1.0, 0.0) + rng.normal(0, 0.1, len(d))
    >>> res = event_study(d, "y", "region", "month", cohort="g", leads=2, lags=2, inference="cr1")
    >>> list(res.tidy()["event_time"])
    [-2, -1, 0, 1, 2]
    """
    where = "event_study"
    allowed = ("auto", "cr1", "cr2", "wild")
    _check_options(where, inference if inference in INFERENCES else "auto", alpha, B, wild_weights)
    if inference not in allowed:
        raise ValueError(
            f"{where}: inference must be one of {', '.join(allowed)}, got {inference!r}."
        )
    for name, v in (("leads", leads), ("lags", lags)):
        if not (isinstance(v, int | np.integer) and v >= 0):
            raise ValueError(f"{where}: {name} must be a non-negative integer, got {v!r}.")
    if not (isinstance(ref, int | np.integer) and -leads <= ref <= lags and ref < 0):
        raise ValueError(
            f"{where}: ref must be a negative event time within -leads..lags (here {-leads}..-1), got {ref!r}."
        )
    fr = _prepare(
        df,
        where=where,
        y=y,
        treat=None,
        cluster=cluster if cluster is not None else unit,
        weights=weights,
        covariates=covariates,
        extra=(unit, time, treat, cohort),
        missing=missing,
        nan_ok=(cohort,),  # NaN cohort = never treated
    )
    d = fr.d
    require_numeric(d, time, where=where)
    g = _adoption_from(d, unit, time, treat, cohort, where)
    gi = d[unit].map(g).to_numpy(dtype=float)
    ever = ~np.isnan(gi)
    if not ever.any():
        raise ValueError(f"{where}: no unit is ever treated, so there are no event times.")
    e = np.where(ever, d[time].to_numpy(dtype=float) - np.nan_to_num(gi), np.nan)
    e = np.clip(e, -leads, lags)
    terms = [k for k in range(-leads, lags + 1) if k != ref]
    D = (
        np.column_stack([(ever & (e == k)).astype(float) for k in terms])
        if terms
        else np.zeros((len(d), 0))
    )
    for j, k in enumerate(terms):
        if D[:, j].sum() == 0:
            raise ValueError(
                f"{where}: no observations at event time {k}; reduce leads/lags to the data's range."
            )
    ucode, tcode = fr.codes(unit), fr.codes(time)
    covs = d[list(covariates)].to_numpy(dtype=float) if len(covariates) else np.zeros((len(d), 0))
    proj = FEProjector([ucode, tcode], fr.w)
    sw = np.sqrt(fr.w)
    Xall = np.column_stack([D, covs])
    k_ssc = _k_ssc(Xall.shape[1], [ucode, tcode], fr.cl)
    len(terms)
    tr_cl = ever.astype(float)
    g1, g0 = _counts(fr.cl, tr_cl, fr.G)

    # joint fit for the vcov and the pre-trend test
    Ms = proj.resid(np.column_stack([fr.y, Xall])) * sw[:, None]
    ys, Xs = Ms[:, 0], Ms[:, 1:]
    XtX_inv = np.linalg.pinv(Xs.T @ Xs)
    beta = XtX_inv @ (Xs.T @ ys)
    u = ys - Xs @ beta
    S = np.zeros((fr.G, Xs.shape[1]))
    np.add.at(S, fr.cl, Xs * u[:, None])
    ssc = cr1_factor(fr.G, len(d), k_ssc)
    V = ssc * XtX_inv @ (S.T @ S) @ XtX_inv

    common = dict(
        where=where,
        method="event_study",
        inference=inference,
        alpha=alpha,
        B=B,
        seed=seed,
        wild_weights=wild_weights,
        assign=None,
        partial=None,
        n_obs=len(d),
        G_treated=g1,
        G_untreated=g0,
        allowed=allowed,
    )
    rows, ests = [], {}
    for j, k in enumerate(terms):
        others = np.delete(Xall, j, axis=1)
        core = _core_from(proj, sw, fr.y, Xall[:, j], others, fr.cl, k_ssc)
        est = _infer(core, term=f"e{k:+d}", **common)
        ests[k] = est
        rows.append({"event_time": k, **est.tidy().iloc[0].to_dict()})
    rows.append(
        {
            "term": f"e{ref:+d}",
            "event_time": ref,
            "estimate": 0.0,
            "std_error": math.nan,
            "statistic": math.nan,
            "p_value": math.nan,
            "conf_low": math.nan,
            "conf_high": math.nan,
            "df": math.nan,
            "n_obs": len(d),
            "n_clusters": fr.G,
            "method": "event_study",
            "inference": "reference",
        }
    )
    coefs = pd.DataFrame(rows).sort_values("event_time").reset_index(drop=True)[EVENT_STUDY_COLUMNS]

    post = [j for j, k in enumerate(terms) if k >= 0]
    c = np.zeros(Xall.shape[1])
    c[post] = 1.0 / len(post)
    focal, others = _contrast_regressors(Xall, c)
    core = _core_from(proj, sw, fr.y, focal, others, fr.cl, k_ssc)
    avg = _infer(core, term="post_average", **common)
    avg = Estimate(**{**avg.to_dict(), "extra": {**avg.extra, "coefficients": coefs}})

    pre = [j for j, k in enumerate(terms) if k < 0]
    if pre:
        b = beta[pre]
        Vp = V[np.ix_(pre, pre)]
        F = float(b @ np.linalg.pinv(Vp) @ b) / len(pre)
        pF = float(stats.f.sf(F, len(pre), fr.G - 1))
    else:
        F, pF = math.nan, math.nan
    return EventStudyResult(
        estimate=avg, coefficients=coefs, pretrend_f=F, pretrend_p=pF, ref=int(ref), estimates=ests
    )
