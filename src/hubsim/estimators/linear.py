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
    TABLE_METHODS,
    FEProjector,
    LinearCore,
    choose_inference,
    conley_taber,
    cr1,
    cr2,
    n_assignments,
    randomization_inference,
    wild_bootstrap,
)
from hubsim.stats import cr1_factor, on_one_blas_thread, t_interval

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


def _cluster_assignment(
    unit: np.ndarray, time: np.ndarray, cl: np.ndarray, treat: np.ndarray
) -> _Assign:
    """Treatment assignment at the cluster level, for units nested in clusters.

    Randomization inference then reassigns each cluster's whole pattern (the treatment
    paths of its units, in unit order) to another cluster, as when regions open a hub to
    their staff groups in phases. The "path" of a cluster is its units' paths laid end to
    end, so the permutation code is the same as for unit-level paths. Needs every
    cluster to hold the same number of units, each observed in every period.
    """
    U, T = int(unit.max()) + 1, int(time.max()) + 1
    cl_of_unit = np.full(U, -1)
    cl_of_unit[unit] = cl
    if not np.all(np.bincount(unit * T + time, minlength=U * T) >= 1) or np.any(cl_of_unit < 0):
        return _Assign(
            unit, time, None, None, np.array([]), np.array([]), "the panel is unbalanced"
        )
    # units must nest in clusters
    pairs = np.unique(np.column_stack([unit, cl]), axis=0)
    if len(pairs) != U:
        return _Assign(
            unit, time, None, None, np.array([]), np.array([]), "units are not nested in clusters"
        )
    G = int(cl.max()) + 1
    sizes = np.bincount(cl_of_unit, minlength=G)
    if sizes.min() != sizes.max():
        return _Assign(
            unit,
            time,
            None,
            None,
            np.array([]),
            np.array([]),
            "clusters hold different numbers of units",
        )
    m = int(sizes[0])
    order = np.lexsort((np.arange(U), cl_of_unit))
    pos = np.empty(U, dtype=np.int64)
    pos[order] = np.tile(np.arange(m), G)
    on = np.bincount(unit * T + time, treat, minlength=U * T).reshape(U, T)
    tot = np.bincount(unit * T + time, minlength=U * T).reshape(U, T)
    if np.any((on > 0) & (on < tot)):
        return _Assign(
            unit,
            time,
            None,
            None,
            np.array([]),
            np.array([]),
            "treatment varies within a unit-period cell",
        )
    unit_paths = (on > 0).astype(np.int8)
    pattern = np.zeros((G, m * T), dtype=np.int8)
    for u in range(U):
        pattern[cl_of_unit[u], pos[u] * T : (pos[u] + 1) * T] = unit_paths[u]
    uniq, codes = np.unique(pattern, axis=0, return_inverse=True)
    ever = pattern.any(axis=1)
    return _Assign(
        cl, pos[unit] * T + time, uniq, codes.ravel(), np.flatnonzero(ever), np.flatnonzero(~ever)
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
    table_estimator: str = "twfe",
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
            a = assign() if callable(assign) else assign
            assign = a
            n_assign = None
            can_ri = a is not None and a.paths is not None and "ri" in allowed
            if can_ri:
                n_assign = n_assignments(a.path_codes)
            staggered = True
            if a is not None and a.paths is not None:
                starts = {int(np.argmax(row)) for row in a.paths if row.any()}
                staggered = len(starts) > 1
            avail = [m for m, (run, _) in TABLE_METHODS["twfe"].items() if run in allowed]
            if not can_ri:
                avail = [m for m in avail if m != "ri"]
            if a is None or len(a.control_units) < 2:
                avail = [m for m in avail if m != "conley_taber"]
            ch = choose_inference(
                core.G,
                max(G_treated, 1),
                core.G - max(G_treated, 1),
                estimator=table_estimator,
                staggered=staggered,
                n_assignments=n_assign,
                alpha=alpha,
                B=B,
                available=avail,
            )
            chosen, note = ch.method, ch.note
            weights = wild_weights or ch.weights
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
    if chosen == "none":
        # no test at level alpha exists here: report the estimate, never reject
        se, df, p, lo, hi = math.nan, math.nan, 1.0, -math.inf, math.inf
        extra["no_level_alpha_test"] = True
    elif chosen == "cr1":
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
        extra.update(
            ri_n_perm=res.n_perm,
            ri_exact=res.exact,
            ri_min_p=res.min_p,
            ri_attainable=res.attainable,
        )
        if res.exact:
            note += f" ({res.n_perm} distinct assignments, exact)"
        else:
            note += f" ({res.n_perm} random permutations)"
        if not res.attainable:
            note += (
                f"; with {res.n_perm} distinct assignments the smallest attainable p-value is "
                f"{res.min_p:.3g}, so no test at level {alpha:g} exists: nothing is rejected "
                "and the interval is unbounded"
            )
            extra["no_level_alpha_test"] = True
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


@on_one_blas_thread
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


@on_one_blas_thread
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
    coarse = fr.G < int(ucode.max()) + 1
    return _infer(
        core,
        where=where,
        method="twfe",
        inference=inference,
        alpha=alpha,
        B=B,
        seed=seed,
        wild_weights=wild_weights,
        assign=(
            (lambda: _cluster_assignment(ucode, tcode, fr.cl, tr))
            if coarse
            else (lambda: _assignment(ucode, tcode, tr))
        ),
        partial=_partial_fn(proj, sw, core.others),
        n_obs=len(d),
        term=treat,
        G_treated=g1,
        G_untreated=g0,
        allowed=("auto", "cr1", "cr2", "wild", "ri") if coarse else INFERENCES,
        collapsed=None
        if (covs.shape[1] or coarse)
        else (lambda: _collapse(ucode, tcode, fr.cl, fr.w, fr.y, tr)),
    )


_PROJECTORS: dict[bytes, FEProjector] = {}


def _cached_projector(factors: list[np.ndarray], w: np.ndarray) -> FEProjector:
    """A three-factor projector, reused for the same layout and weights.

    Building one costs an eigen-decomposition of the two smaller factors' demeaned
    dummies; a power study fits the same region x group x period layout hundreds of
    times, so the projector is kept (a few, by a hash of the codes and weights).
    """
    import hashlib

    h = hashlib.blake2b(digest_size=16)
    for a in (*factors, w):
        h.update(np.ascontiguousarray(a).tobytes())
        h.update(b"|")
    key = h.digest()
    if key not in _PROJECTORS:
        if len(_PROJECTORS) >= 4:
            _PROJECTORS.pop(next(iter(_PROJECTORS)))
        _PROJECTORS[key] = FEProjector(factors, w)
    return _PROJECTORS[key]


@on_one_blas_thread
def triple_differences(
    df: pd.DataFrame,
    y: str,
    region: str,
    group: str,
    time: str,
    treat: str,
    *,
    cluster: str | None = None,
    weights: str | None = None,
    covariates: Sequence[str] = (),
    by_group: bool = False,
    inference: str = "auto",
    alpha: float = 0.05,
    B: int = 999,
    wild_weights: str | None = None,
    seed: int = 0,
    missing: str = "raise",
) -> Estimate:
    """Triple differences: ``y ~ treat | region^group + group^time + region^time``.

    For hubs that open to a region's staff groups in phases (the paper's Site B: critical
    care first, then other NHS staff, social care, emergency services), the exposed staff
    groups are compared with the groups of the same region not yet in scope, and with
    the same groups in other regions. Region x period effects absorb every shock common to
    a region's staff (local waves, other local services), staff-group x period effects
    every shock common to a staff group nationally, and region x group effects the
    persistent differences between groups. Identification therefore comes only from
    regions whose groups open at different times. Errors are clustered by region
    (default), and randomization inference reassigns regions' whole opening patterns.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per region, staff group and period (cell means with ``weights``), or
        individual rows.
    y, region, group, time, treat : str
        Outcome, region, staff group, period and 0/1 exposure columns.
    cluster : str, optional
        Cluster column (default ``region``); staff groups must nest in it.
    weights : str, optional
        Positive analytic weights (cell sizes).
    covariates : sequence of str
    by_group : bool
        Also estimate one effect per staff group (treatment interacted with group, the
        interactions estimated jointly), in ``extra["by_group"]``, with the headline's
        inference (the wild bootstrap where that is randomization inference, which
        reassigns every group at once).
    inference : {"auto", "cr1", "cr2", "wild", "ri"}
        ``"auto"`` picks by the measured table (TWFE rows) from the numbers of regions
        with and without any exposed group; the note says why.
    alpha, B, wild_weights, seed, missing
        As in :func:`twfe`.

    Returns
    -------
    Estimate

    Examples
    --------
    >>> from hubsim.regional import RegionalDesign
    >>> d = RegionalDesign(n_regions=12, n_periods=8, n_treated=12, schedule=(3, 4),
    ...                    staff_groups=("nhs", "social"), group_phasing=((0, 2), (0, 0)),
    ...                    effect=0.3, n_per_cell=400)
    >>> est = triple_differences(d.simulate(1), "y", "region", "staff_group", "period",
    ...                          "treated", weights="n", inference="cr1")
    >>> est.method, est.n_clusters
    ('triple_differences', 12)
    """
    where = "triple_differences"
    if inference not in ("auto", "cr1", "cr2", "wild", "ri"):
        raise ValueError(
            f"{where}: inference must be one of auto, cr1, cr2, wild, ri, got {inference!r}."
        )
    _check_options(where, inference, alpha, B, wild_weights)
    fr = _prepare(
        df,
        where=where,
        y=y,
        treat=treat,
        cluster=cluster if cluster is not None else region,
        weights=weights,
        covariates=covariates,
        extra=(region, group, time),
        missing=missing,
    )
    d = fr.d
    rc, gc, tc = fr.codes(region), fr.codes(group), fr.codes(time)
    Gg, T = int(gc.max()) + 1, int(tc.max()) + 1
    if Gg < 2:
        raise ValueError(
            f"{where}: column {group!r} has a single staff group; triple differences needs "
            "at least two groups per region."
        )
    rg, gt, rt = rc * Gg + gc, gc * T + tc, rc * T + tc
    factors = [_codes(pd.Series(rg)), _codes(pd.Series(gt)), _codes(pd.Series(rt))]
    tr = fr.tr
    covs = d[list(covariates)].to_numpy(dtype=float) if len(covariates) else np.zeros((len(d), 0))
    proj = _cached_projector(factors, fr.w)
    sw = np.sqrt(fr.w)
    k = _k_ssc(1 + covs.shape[1], factors, fr.cl)
    core = _core_from(proj, sw, fr.y, tr, covs, fr.cl, k)
    g1, g0 = _counts(fr.cl, tr, fr.G)
    unit = factors[0]
    common = dict(
        where=where,
        method="triple_differences",
        alpha=alpha,
        B=B,
        seed=seed,
        wild_weights=wild_weights,
        assign=lambda: _cluster_assignment(unit, tc, fr.cl, tr),
        partial=_partial_fn(proj, sw, core.others),
        n_obs=len(d),
        G_treated=g1,
        G_untreated=g0,
        allowed=("auto", "cr1", "cr2", "wild", "ri"),
        table_estimator="triple_differences",
    )
    est = _infer(core, inference=inference, term=treat, **common)
    if not by_group:
        return est
    # one effect per staff group, estimated jointly, with the inference chosen above
    names = d[group].to_numpy()
    levels = np.unique(names)
    Dg = np.column_stack([tr * (names == lv) for lv in levels])
    rows = []
    for j, lv in enumerate(levels):
        if not Dg[:, j].any():
            continue
        others = np.column_stack([np.delete(Dg, j, axis=1), covs])
        cj = _core_from(proj, sw, fr.y, Dg[:, j], others, fr.cl, k + len(levels) - 1)
        # randomization inference reassigns every group at once, so the per-group
        # coefficients take the wild bootstrap instead
        ej = _infer(
            cj,
            inference="wild" if est.inference in ("ri", "none") else est.inference,
            term=f"{treat}:{group}={lv}",
            **{**common, "partial": _partial_fn(proj, sw, cj.others)},
        )
        rows.append({"staff_group": lv, **ej.tidy().iloc[0].to_dict()})
    by = pd.DataFrame(rows)
    return Estimate(**est.to_dict(), extra={**est.extra, "by_group": by})


# ---------------------------------------------------------------------------------------
# Event study
# ---------------------------------------------------------------------------------------


EVENT_STUDY_BAND_COLUMNS = [*EVENT_STUDY_COLUMNS, "band_low", "band_high"]
ES_INFERENCES = ("auto", "cr1", "cr2", "wild", "ri")


@dataclass(frozen=True)
class EventStudyResult:
    """Event-study coefficients relative to adoption.

    Attributes
    ----------
    estimate : Estimate
        The average of the post-adoption coefficients (event times 0..lags), with the
        coefficient frame in ``estimate.extra["coefficients"]``.
    coefficients : pandas.DataFrame
        One row per event time (:data:`EVENT_STUDY_BAND_COLUMNS`), the reference row
        included with estimate 0 and NaN uncertainty; ``band_low``/``band_high`` is the
        simultaneous (sup-t) band over all event times.
    pretrend_f, pretrend_p : float
        The joint test that all lead coefficients are zero, with the fit's inference:
        the Hotelling-type ``F(q, G - q)`` of the CR1 or CR2 Wald statistic (``pretrend_f``
        is that F), or the Wald statistic's distribution under the restricted wild
        bootstrap or over reassigned adoption dates (``pretrend_f`` is then the Wald
        statistic / q).
    pretrend_wald : float
        The CR1 Wald statistic of the leads (chi-square scale).
    ref : int
        The reference event time.
    inference, inference_note : str
        The inference used for every coefficient, the band and the pre-trend test, and why.
    band_crit : float
        The sup-t critical value of the band.
    """

    estimate: Estimate
    coefficients: pd.DataFrame
    pretrend_f: float
    pretrend_p: float
    ref: int
    estimates: dict = field(default_factory=dict, repr=False)
    pretrend_wald: float = math.nan
    inference: str = "cr1"
    inference_note: str = ""
    band_crit: float = math.nan

    def tidy(self) -> pd.DataFrame:
        """All event-time coefficients in DeclareDesign column names (and the band), then
        the headline: the average of the post-adoption coefficients (its own ``term``,
        ``event_time`` and band NaN)."""
        head = self.estimate.tidy().assign(
            event_time=math.nan, band_low=math.nan, band_high=math.nan
        )
        parts = [self.coefficients, head[EVENT_STUDY_BAND_COLUMNS]]
        return pd.concat(parts, ignore_index=True)[EVENT_STUDY_BAND_COLUMNS]

    def summary(self) -> str:
        """A short human-readable summary."""
        lines = [self.estimate.summary()]
        for _, r in self.coefficients.iterrows():
            lines.append(
                f"  e={int(r['event_time']):+d}: {r['estimate']:.4g} "
                f"[{r['conf_low']:.4g}, {r['conf_high']:.4g}] p={r['p_value']:.3g}; band "
                f"[{r['band_low']:.4g}, {r['band_high']:.4g}]"
            )
        lines.append(
            f"  pre-trend joint test ({self.inference}): statistic {self.pretrend_f:.3g}, "
            f"p = {self.pretrend_p:.3g}"
        )
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


def _event_dummies(
    ever: np.ndarray, tvals: np.ndarray, g: np.ndarray, leads: int, lags: int, terms: list[int]
) -> np.ndarray:
    """Event-time indicators (rows x terms) for adoption periods ``g`` (NaN = never)."""
    e = np.where(ever, tvals - np.nan_to_num(g), np.nan)
    e = np.clip(e, -leads, lags)
    return np.column_stack([(ever & (e == k)).astype(float) for k in terms])


def _mvt_crit(R: np.ndarray, df: float, alpha: float, seed: int, n: int = 4000) -> float:
    """Sup-t critical value: the 1 - alpha quantile of max |T| for T multivariate t(df)."""
    from hubsim.rng import stream

    rng = stream(int(seed), "event_study", "sup_t")
    z = rng.multivariate_normal(np.zeros(len(R)), R, size=n, method="eigh")
    if np.isfinite(df):
        z = z / np.sqrt(rng.chisquare(df, size=(n, 1)) / df)
    return float(np.quantile(np.max(np.abs(z), axis=1), 1 - alpha))


def _es_permutation_stats(
    perms_g: np.ndarray,
    *,
    unit_of_row: np.ndarray,
    tvals: np.ndarray,
    leads: int,
    lags: int,
    terms: list[int],
    proj: FEProjector,
    sw: np.ndarray,
    covs_p: np.ndarray,
    R: np.ndarray,
    n_y: int,
    cl: np.ndarray,
    G: int,
    pre_idx: list[int],
    post_c: np.ndarray,
    per_coefficient: bool = True,
    chunk: int = 50,
) -> dict[str, np.ndarray]:
    """Event-study statistics for reassigned adoption dates (one row of ``perms_g`` each).

    ``R`` holds the partialled columns to regress on the reassigned event dummies: ``n_y``
    outcomes, then each observed event dummy, then the observed exposure indicator (the
    tests of shifted sharp nulls are linear in the shift). For every reassignment,
    outcome and coefficient ``k`` it returns the coefficient of the outcome and of the
    k-th observed dummy and the three cross products of their cluster scores (the CR1
    variance is quadratic in the shift), the same for the post-period average (against
    the exposure indicator), and the CR1 Wald statistic of the leads (without the CR1
    factor, which cancels in every comparison).
    """
    K = len(terms)
    q = covs_p.shape[1]
    P = perms_g.shape[0]
    out: dict[str, np.ndarray] = {}
    if per_coefficient:
        out.update(
            by=np.empty((P, n_y, K)),
            s11=np.empty((P, n_y, K)),
            s12=np.empty((P, n_y, K)),
            bx=np.empty((P, K)),
            s22=np.empty((P, K)),
        )
    out.update(
        avg_by=np.empty((P, n_y)),
        avg_s11=np.empty((P, n_y)),
        avg_s12=np.empty((P, n_y)),
        avg_bx=np.empty(P),
        avg_s22=np.empty(P),
        wald=np.full((P, n_y), np.nan),
    )
    Cl = np.zeros((G, len(cl)))
    Cl[cl, np.arange(len(cl))] = 1.0
    cvec = np.zeros(K + q)
    cvec[:K] = post_c

    def csum(Z: np.ndarray) -> np.ndarray:
        # cluster sums of a p x N x s array as p x s x G, through one matrix product
        p_, N_, s_ = Z.shape
        out_ = Cl @ Z.transpose(1, 0, 2).reshape(N_, p_ * s_)  # G x (p s)
        return out_.reshape(G, p_, s_).transpose(1, 2, 0)

    for s0 in range(0, P, chunk):
        gp = perms_g[s0 : s0 + chunk]  # p x units
        p = gp.shape[0]
        sl = slice(s0, s0 + p)
        g_rows = gp[:, unit_of_row]  # p x N
        ever = ~np.isnan(g_rows)
        e = np.where(ever, tvals[None, :] - np.nan_to_num(g_rows), np.nan)
        e = np.clip(e, -leads, lags)
        D = np.stack([(ever & (e == k)).astype(float) for k in terms], axis=2)  # p x N x K
        N = D.shape[1]
        Xd = proj.resid(D.transpose(1, 0, 2).reshape(N, p * K)) * sw[:, None]
        X = Xd.reshape(N, p, K).transpose(1, 0, 2)  # p x N x K
        if q:
            X = np.concatenate([X, np.broadcast_to(covs_p, (p, N, q))], axis=2)
        XtX = np.einsum("pnk,pnl->pkl", X, X)
        H = np.linalg.solve(XtX, X.transpose(0, 2, 1))  # p x K' x N
        Bc = H @ R  # p x K' x r
        E = R[None] - X @ Bc  # p x N x r
        Ey = E[:, :, :n_y]
        if per_coefficient:
            for k in range(K):
                hk = H[:, k, :]  # p x N
                sy = csum(hk[:, :, None] * Ey)  # p x s x G
                sx = (hk * E[:, :, n_y + k]) @ Cl.T  # p x G
                out["by"][sl, :, k] = Bc[:, k, :n_y]
                out["bx"][sl, k] = Bc[:, k, n_y + k]
                out["s11"][sl, :, k] = np.einsum("psg,psg->ps", sy, sy)
                out["s12"][sl, :, k] = np.einsum("psg,pg->ps", sy, sx)
                out["s22"][sl, k] = np.einsum("pg,pg->p", sx, sx)
        hc = np.einsum("k,pkn->pn", cvec, H)
        sy = csum(hc[:, :, None] * Ey)
        sx = (hc * E[:, :, -1]) @ Cl.T
        out["avg_by"][sl] = np.einsum("k,pks->ps", cvec, Bc[:, :, :n_y])
        out["avg_bx"][sl] = np.einsum("k,pk->p", cvec, Bc[:, :, -1])
        out["avg_s11"][sl] = np.einsum("psg,psg->ps", sy, sy)
        out["avg_s12"][sl] = np.einsum("psg,pg->ps", sy, sx)
        out["avg_s22"][sl] = np.einsum("pg,pg->p", sx, sx)
        if pre_idx:
            Sq = np.stack([csum(H[:, k, :, None] * Ey) for k in pre_idx], axis=2)  # p x s x q x G
            V = np.einsum("pskg,pslg->pskl", Sq, Sq)
            b = Bc[:, pre_idx, :n_y].transpose(0, 2, 1)  # p x s x q
            out["wald"][sl] = np.einsum("psk,pskl,psl->ps", b, np.linalg.pinv(V), b)
    return out


def _ri_shift_test(by, bx, s11, s12, s22, obs: int, alpha: float, attainable: bool, se0: float):
    """Permutation p-value of no effect and the interval inverting shifted sharp nulls."""

    def tperm(b0: float) -> np.ndarray:
        den = np.maximum(s11 - 2 * b0 * s12 + b0 * b0 * s22, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            return (by - b0 * bx) / np.sqrt(den)

    def pval(b0: float) -> float:
        t = np.abs(tperm(b0))
        return float(np.mean(t >= t[obs] * (1 - 1e-10)))

    p = pval(0.0)
    if not attainable:
        return p, -math.inf, math.inf
    from hubsim.estimators.inference import _invert

    lo, hi = _invert(pval, float(by[obs] / bx[obs]) if bx[obs] else float(by[obs]), se0, alpha)
    return p, lo, hi


@on_one_blas_thread
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

    One inference serves every coefficient, the post-period average (the headline
    estimate: the mean of the coefficients at event times 0..lags), the simultaneous band
    and the joint pre-trend test:

    - ``"cr1"`` / ``"cr2"``: cluster-robust t-tests (CR2: Bell-McCaffrey with
      Imbens-Kolesar df); the band's sup-t critical value from the multivariate t with
      the estimated correlation; the pre-trend test a Hotelling-type ``F(q, G - q)``;
    - ``"wild"``: the wild cluster restricted bootstrap per coefficient; the band from the
      unrestricted wild bootstrap of all coefficients (sup-t); the pre-trend test the
      restricted wild bootstrap of the Wald statistic with all leads set to zero;
    - ``"ri"``: adoption dates reassigned across units (or whole clusters): p-values of the
      sharp null of no effect from the CR1 t-statistics, intervals by inverting shifted
      nulls (an effect at one event time, or a constant post-period effect for the
      average), the band from the permutations' max |t|, the pre-trend test from the
      permutation distribution of the Wald statistic;
    - ``"auto"`` (default): chosen by the measured size and power table
      (:func:`hubsim.estimators.inference.choose_inference`, estimator ``event_study``)
      from the numbers of clusters with and without a treated unit; the note says why.

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
    inference : {"auto", "cr1", "cr2", "wild", "ri"}

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
    >>> list(res.coefficients["event_time"])
    [-2, -1, 0, 1, 2]
    >>> list(res.tidy()["term"])  # the event times, then the headline post-period average
    ['e-2', 'e-1', 'e+0', 'e+1', 'e+2', 'post_average']
    """
    where = "event_study"
    _check_options(where, inference if inference in INFERENCES else "auto", alpha, B, wild_weights)
    if inference not in ES_INFERENCES:
        raise ValueError(
            f"{where}: inference must be one of {', '.join(ES_INFERENCES)}, got {inference!r}."
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
    tvals = d[time].to_numpy(dtype=float)
    terms = [k for k in range(-leads, lags + 1) if k != ref]
    D = _event_dummies(ever, tvals, gi, leads, lags, terms) if terms else np.zeros((len(d), 0))
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
    K = len(terms)
    tr_cl = ever.astype(float)
    g1, g0 = _counts(fr.cl, tr_cl, fr.G)
    pre = [j for j, k in enumerate(terms) if k < 0]
    post = [j for j, k in enumerate(terms) if k >= 0]
    c = np.zeros(Xall.shape[1])
    c[post] = 1.0 / len(post)

    # joint fit: coefficients, the CR1 covariance and the leads' Wald statistic
    Ms = proj.resid(np.column_stack([fr.y, Xall])) * sw[:, None]
    ys, Xs = Ms[:, 0], Ms[:, 1:]
    XtX_inv = np.linalg.pinv(Xs.T @ Xs)
    beta = XtX_inv @ (Xs.T @ ys)
    u = ys - Xs @ beta
    S = np.zeros((fr.G, Xs.shape[1]))
    np.add.at(S, fr.cl, Xs * u[:, None])
    ssc = cr1_factor(fr.G, len(d), k_ssc)
    V = ssc * XtX_inv @ (S.T @ S) @ XtX_inv
    q = len(pre)
    G = fr.G
    W_cr1 = float(beta[pre] @ np.linalg.pinv(V[np.ix_(pre, pre)]) @ beta[pre]) if q else math.nan

    # the units whose adoption dates randomization inference reassigns: units, or whole
    # clusters (same number of units each) when clustering is coarser than units
    u_of_row = ucode
    g_unit = np.full(int(ucode.max()) + 1, np.nan)
    g_unit[ucode] = gi
    cl_unit = np.zeros(len(g_unit), dtype=np.int64)
    cl_unit[ucode] = fr.cl
    ri_plan = None
    if len(np.unique(cl_unit)) == len(cl_unit):
        lab_vals = np.unique(np.nan_to_num(g_unit, nan=-1.0))
        codes_g = np.searchsorted(lab_vals, np.nan_to_num(g_unit, nan=-1.0))
        ri_plan = ("units", codes_g, lab_vals)
    else:
        from hubsim.estimators.staggered import _cluster_patterns

        lab_vals = np.unique(np.nan_to_num(g_unit, nan=-1.0))
        codes_g = np.searchsorted(lab_vals, np.nan_to_num(g_unit, nan=-1.0))
        try:
            pats, pcode, pos = _cluster_patterns(cl_unit, codes_g, where)
            ri_plan = ("clusters", pcode, (pats, pos, lab_vals))
        except ValueError:
            ri_plan = None
    n_assign = n_assignments(ri_plan[1]) if ri_plan is not None else None
    staggered = len(np.unique(g_unit[~np.isnan(g_unit)])) > 1
    ctrl_note = f"{g0} of {G} clusters are never treated (the controls)"
    if g0 <= 4:
        ctrl_note += (
            f"; with {g0} never-treated cluster{'s' if g0 != 1 else ''}, cluster-robust "
            "tests of event-time effects can over-reject badly"
        )
    if inference == "auto":
        avail = ["cr1", "cr2", "wild_rademacher", "wild_webb"] + (["ri"] if ri_plan else [])
        ch = choose_inference(
            G,
            max(g1, 1),
            G - max(g1, 1),
            estimator="event_study",
            staggered=staggered,
            n_assignments=n_assign,
            alpha=alpha,
            B=B,
            available=avail,
        )
        chosen, wweights = ch.method, wild_weights or ch.weights
        note = ch.note.rstrip(".")
    else:
        chosen, wweights = inference, wild_weights or "rademacher"
        note = f"{inference} as requested"
    note = f"{note}; {ctrl_note}"

    common = dict(
        where=where,
        method="event_study",
        alpha=alpha,
        B=B,
        seed=seed,
        wild_weights=wweights,
        assign=None,
        partial=None,
        n_obs=len(d),
        G_treated=g1,
        G_untreated=g0,
        allowed=("cr1", "cr2", "wild", "none"),
    )
    per_method = "cr1" if chosen in ("ri", "none") else chosen
    cores = {}
    rows, ests = [], {}
    for j, k in enumerate(terms):
        others = np.delete(Xall, j, axis=1)
        core = _core_from(proj, sw, fr.y, Xall[:, j], others, fr.cl, k_ssc)
        cores[k] = core
        est = _infer(core, term=f"e{k:+d}", inference=per_method, **common)
        ests[k] = est
    focal, others = _contrast_regressors(Xall, c)
    core_avg = _core_from(proj, sw, fr.y, focal, others, fr.cl, k_ssc)
    avg = _infer(core_avg, term="post_average", inference=per_method, **common)

    se_vec = np.array([ests[k].se for k in terms])
    band_crit = math.nan
    pretrend_stat, pretrend_p = math.nan, math.nan
    if chosen in ("cr1", "none"):
        d_ = np.sqrt(np.diag(V)[:K])
        R = V[:K, :K] / np.outer(d_, d_)
        band_crit = _mvt_crit(R, G - 1.0, alpha, seed)
        if q and G > q:
            pretrend_stat = W_cr1 * (G - q) / (q * (G - 1))
            pretrend_p = float(stats.f.sf(pretrend_stat, q, G - q))
    elif chosen == "cr2":
        # the CR2 adjustment A_g depends only on the full model: one core gives A_g u_g
        from hubsim.estimators.inference import _cr2_adjusted

        Au, _ = _cr2_adjusted(core_avg)
        S2 = np.zeros((G, Xs.shape[1]))
        np.add.at(S2, fr.cl, Xs * Au[:, None])
        V2 = XtX_inv @ (S2.T @ S2) @ XtX_inv
        d_ = np.sqrt(np.diag(V2)[:K])
        R = V2[:K, :K] / np.outer(d_, d_)
        dfs = np.array([ests[k].df for k in terms], dtype=float)
        band_crit = _mvt_crit(R, float(np.nanmin(dfs)), alpha, seed)
        if q and G > q:
            W2 = float(beta[pre] @ np.linalg.pinv(V2[np.ix_(pre, pre)]) @ beta[pre])
            pretrend_stat = W2 * (G - q) / (q * (G - 1))
            pretrend_p = float(stats.f.sf(pretrend_stat, q, G - q))
    elif chosen == "wild":
        from hubsim.estimators.inference import wild_weights as _draw_weights
        from hubsim.rng import stream

        Vw, _ = _draw_weights(G, B, wweights, stream(int(seed), "event_study", "wild_band"))
        Hm = XtX_inv @ Xs.T  # K' x N
        vrow = Vw[fr.cl]  # N x B
        ustar = u[:, None] * vrow
        dbeta = Hm @ ustar  # K' x B
        # residuals of each bootstrap fit: the fixed effects projected out again
        estar = sw[:, None] * proj.resid(ustar / sw[:, None]) - Xs @ dbeta
        # CR1 SEs of every bootstrap fit, coefficient by coefficient
        se_star = np.empty((K, Vw.shape[1]))
        Cl = np.zeros((G, len(d)))
        Cl[fr.cl, np.arange(len(d))] = 1.0
        for j in range(K):
            sc = Cl @ (Hm[j][:, None] * estar)
            se_star[j] = np.sqrt(ssc * (sc**2).sum(axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            tmax = np.nanmax(np.abs(dbeta[:K] / se_star), axis=0)
        band_crit = float(np.quantile(tmax, 1 - alpha))
        if q:
            # restricted bootstrap of the leads' Wald statistic: leads set to zero
            keep = [j for j in range(Xs.shape[1]) if j not in pre]
            Xr = Xs[:, keep]
            br = np.linalg.lstsq(Xr, ys, rcond=None)[0]
            ur = ys - Xr @ br
            Vr, _ = _draw_weights(G, B, wweights, stream(int(seed), "event_study", "wild_pretrend"))
            ystar = (Xr @ br)[:, None] + ur[:, None] * Vr[fr.cl]
            bstar = XtX_inv @ (Xs.T @ ystar)
            res_star = sw[:, None] * proj.resid(ystar / sw[:, None]) - Xs @ bstar
            Hp = Hm[pre]  # q x N
            Sq = np.stack([Cl @ (Hp[j][:, None] * res_star) for j in range(q)], axis=1)
            Vq = ssc * np.einsum("gib,gjb->bij", Sq, Sq)
            bq = bstar[pre].T  # B x q
            Wb = np.einsum("bi,bij,bj->b", bq, np.linalg.pinv(Vq), bq)
            pretrend_stat = W_cr1 / q
            pretrend_p = float(np.mean(Wb >= W_cr1 * (1 - 1e-10)))
    elif chosen == "ri":
        from hubsim.estimators.inference import _multiset_permutations, ri_min_p
        from hubsim.rng import stream

        kind, pcode, info = ri_plan
        if n_assign <= B:
            perms = _multiset_permutations(pcode)
            exact = True
            obs = int(np.flatnonzero((perms == pcode[None, :]).all(axis=1))[0])
        else:
            rng = stream(int(seed), "event_study", "randomization")
            draws = np.argsort(rng.random((int(B), len(pcode))), axis=1)
            perms = np.vstack([pcode[None, :], pcode[draws]])
            exact = False
            obs = 0
        if kind == "units":
            lab_vals = info
            gperm = lab_vals[perms]
        else:
            pats, pos, lab_vals = info
            gperm = lab_vals[pats[perms[:, cl_unit], pos[None, :]]]
        gperm = np.where(gperm < 0, np.nan, gperm)
        expo = (ever & (tvals >= np.nan_to_num(gi))).astype(float)
        Robs = proj.resid(np.column_stack([fr.y, D, expo])) * sw[:, None]
        # reassigned dummies are regressed jointly with the (fixed) partialled covariates
        covs_p = (proj.resid(covs) * sw[:, None]) if covs.shape[1] else np.zeros((len(d), 0))
        st = _es_permutation_stats(
            gperm,
            unit_of_row=u_of_row,
            tvals=tvals,
            leads=leads,
            lags=lags,
            terms=terms,
            proj=proj,
            sw=sw,
            covs_p=covs_p,
            R=Robs,
            n_y=1,
            cl=fr.cl,
            G=G,
            pre_idx=pre,
            post_c=c[:K],
        )
        # one outcome: drop its axis from the statistics that carry one
        with_y = ("by", "s11", "s12", "avg_by", "avg_s11", "avg_s12", "wald")
        st = {k: (v[:, 0] if k in with_y else v) for k, v in st.items()}
        min_p = ri_min_p(int(n_assign), int(B))
        attainable = min_p < alpha
        for j, k in enumerate(terms):
            p_k, lo_k, hi_k = _ri_shift_test(
                st["by"][:, j],
                st["bx"][:, j],
                st["s11"][:, j],
                st["s12"][:, j],
                st["s22"][:, j],
                obs,
                alpha,
                attainable,
                ests[k].extra["se_cr1"],
            )
            ests[k] = Estimate(
                **{
                    **ests[k].to_dict(),
                    "se": math.nan,
                    "p_value": p_k,
                    "ci_low": lo_k,
                    "ci_high": hi_k,
                    "inference": "ri",
                    "df": math.nan,
                },
                extra={**ests[k].extra, "ri_n_perm": len(perms), "ri_exact": exact},
            )
        p_a, lo_a, hi_a = _ri_shift_test(
            st["avg_by"],
            st["avg_bx"],
            st["avg_s11"],
            st["avg_s12"],
            st["avg_s22"],
            obs,
            alpha,
            attainable,
            avg.extra["se_cr1"],
        )
        avg = Estimate(
            **{
                **avg.to_dict(),
                "se": math.nan,
                "p_value": p_a,
                "ci_low": lo_a,
                "ci_high": hi_a,
                "inference": "ri",
                "df": math.nan,
            },
            extra={**avg.extra, "ri_n_perm": len(perms), "ri_exact": exact, "ri_min_p": min_p},
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            tk = np.abs(st["by"]) / np.sqrt(ssc * st["s11"])
        band_crit = float(np.quantile(np.nanmax(tk, axis=1), 1 - alpha))
        if q:
            pretrend_stat = float(st["wald"][obs]) / q
            pretrend_p = float(np.mean(st["wald"] >= st["wald"][obs] * (1 - 1e-10)))
        how = (
            f"{len(perms)} distinct reassignments, exact" if exact else f"{B} random reassignments"
        )
        note += f" ({how} of the adoption dates)"
        if not attainable:
            note += (
                f"; the smallest attainable p-value is {min_p:.3g}, so no test at level "
                f"{alpha:g} exists: nothing is rejected and the intervals are unbounded"
            )
    if chosen == "wild":
        note += f" ({B} bootstrap draws, {wweights} weights)"
    if chosen == "none":
        for k in terms:
            ests[k] = Estimate(
                **{
                    **ests[k].to_dict(),
                    "p_value": 1.0,
                    "ci_low": -math.inf,
                    "ci_high": math.inf,
                    "inference": "none",
                    "se": math.nan,
                },
                extra={**ests[k].extra, "no_level_alpha_test": True},
            )
        avg = Estimate(
            **{
                **avg.to_dict(),
                "p_value": 1.0,
                "ci_low": -math.inf,
                "ci_high": math.inf,
                "inference": "none",
                "se": math.nan,
            },
            extra={**avg.extra, "no_level_alpha_test": True},
        )
        pretrend_p = 1.0
    se_band = np.array([ests[k].extra.get("se_cr1", ests[k].se) for k in terms])
    if chosen == "cr2":
        se_band = se_vec
    for j, k in enumerate(terms):
        e_k = ests[k]
        e_k = Estimate(**{**e_k.to_dict(), "inference_note": note + "."}, extra=e_k.extra)
        ests[k] = e_k
        rows.append(
            {
                "event_time": k,
                **e_k.tidy().iloc[0].to_dict(),
                "band_low": e_k.estimate - band_crit * se_band[j],
                "band_high": e_k.estimate + band_crit * se_band[j],
            }
        )
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
            "band_low": math.nan,
            "band_high": math.nan,
        }
    )
    coefs = (
        pd.DataFrame(rows)
        .sort_values("event_time")
        .reset_index(drop=True)[EVENT_STUDY_BAND_COLUMNS]
    )
    avg = Estimate(
        **{**avg.to_dict(), "inference_note": note + "."},
        extra={
            **avg.extra,
            "coefficients": coefs,
            "pretrend_p": pretrend_p,
            "band_crit": band_crit,
        },
    )
    return EventStudyResult(
        estimate=avg,
        coefficients=coefs,
        pretrend_f=pretrend_stat,
        pretrend_p=pretrend_p,
        ref=int(ref),
        estimates=ests,
        pretrend_wald=W_cr1,
        inference=chosen,
        inference_note=note + ".",
        band_crit=band_crit,
    )
