"""Interrupted time series by segmented regression with Newey-West errors.

The model for a series observed at times ``t`` with an intervention at ``T0`` is

    y_t = b0 + b1 (t - T0) + b2 post_t + b3 (t - T0) post_t [+ seasons] [+ covariates] + e_t,

with ``post_t = 1{t >= T0}``: ``b2`` is the change in level at the intervention and
``b3`` the change in slope. Errors may be autocorrelated, so the covariance is
Newey-West (Bartlett kernel, no small-sample factor, as statsmodels' ``cov_type="HAC"``)
and tests use a t distribution with ``n - k`` degrees of freedom.

With ``unit=`` several series (e.g. regions) are pooled with unit intercepts and common
trend, level and slope terms; the covariance is then Driscoll-Kraay (Newey-West applied
to the per-period sums of the scores, robust to correlation across units and over
time; statsmodels' ``cov_type="hac-groupsum"`` with its default cluster correction) and
tests use t with ``T - 1`` degrees of freedom, ``T`` the number of periods.

The covariances' meat is statsmodels' ``S_hac_simple`` (the Bartlett-kernel sum behind
``cov_type="HAC"``, applied to the per-period score sums for Driscoll-Kraay as
``"hac-groupsum"`` does); the coefficients come from the normal equations here. ``benchmarks/bench_estimators.py``
measured fitting with ``sm.OLS(...).fit(cov_type="hac-groupsum")`` instead at about 5x
the kernel's cost, but only ~7% of an ``its()`` call and ~1% of diagnosing the flagship
design with its five estimators: not worth a kernel of its own. The normal equations are
kept because statsmodels' OLS solves by pseudo-inverse, which moves every estimate in
its last bits (the flagship study's diagnosands would not reproduce to the bit); the
estimates agree with statsmodels' to 1e-8 (tests/test_its.py).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.sandwich_covariance import S_hac_simple

from hubsim.checks import check_alpha
from hubsim.estimators._data import handle_missing, require_columns, require_numeric
from hubsim.estimators._estimate import TIDY_COLUMNS, Estimate
from hubsim.stats import cr1_factor, on_one_blas_thread, t_interval

__all__ = ["its", "newey_west_lags"]


def newey_west_lags(n_periods: int) -> int:
    """Newey & West's (1994) rule of thumb, ``floor(4 (T / 100)^(2/9))``."""
    return math.floor(4 * (n_periods / 100.0) ** (2.0 / 9.0))


@on_one_blas_thread
def its(
    df: pd.DataFrame,
    y: str,
    time: str,
    intervention: float | str,
    *,
    unit: str | None = None,
    season: str | None = None,
    covariates: Sequence[str] | None = None,
    hac_lags: int | None = None,
    alpha: float = 0.05,
    missing: str = "raise",
) -> Estimate:
    """Segmented-regression interrupted time series with HAC standard errors.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per time point (per unit with ``unit=``).
    y, time : str
        Outcome and numeric, equally spaced time columns.
    intervention : float or str
        The first period under the intervention, or the name of a column holding each
        unit's intervention period (constant within unit).
    unit : str, optional
        Unit column for several series pooled with unit intercepts (Driscoll-Kraay SE).
    season : str, optional
        A categorical column (e.g. calendar month) entered as dummies.
    covariates : sequence of str, optional
        Further numeric regressors.
    hac_lags : int, optional
        Bartlett-kernel lags; default :func:`newey_west_lags` of the number of periods.
    alpha : float
        1 - confidence level.
    missing : {"raise", "drop"}
        Handling of rows with missing values.

    Returns
    -------
    Estimate
        The level change (``term="level_change"``). ``extra`` holds ``"slope_change"``
        (an Estimate), ``"coefficients"`` (all terms, :data:`TIDY_COLUMNS`),
        ``"tidy"`` (level and slope change rows) and ``"hac_lags"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(48)
    >>> d = pd.DataFrame({"month": t, "y": 10 + 0.1 * t + 2.0 * (t >= 24) + rng.normal(0, 0.5, 48)})
    >>> est = its(d, "y", "month", intervention=24)
    >>> round(est.estimate, 1), est.term
    (1.8, 'level_change')
    """
    where = "its"
    check_alpha(alpha, where)
    covariates = list(covariates or [])
    int_col = intervention if isinstance(intervention, str) else None
    cols = [y, time, unit, season, int_col, *covariates]
    require_columns(df, cols, where=where)
    used = [c for c in dict.fromkeys(cols) if c is not None]
    data = handle_missing(df[used], used, missing=missing, where=where)
    for c in [y, time, *covariates] + ([int_col] if int_col else []):
        require_numeric(data, c, where=where)
    if len(data) == 0:
        raise ValueError(f"{where}: no rows to fit.")

    sort_cols = [unit, time] if unit is not None else [time]
    data = data.sort_values(sort_cols, kind="mergesort").reset_index(drop=True)
    if data.duplicated([c for c in sort_cols]).any():
        raise ValueError(
            f"{where}: column {time!r} repeats within a series; the data must have one row "
            + (f"per {unit} and {time}." if unit else f"per {time} (or pass unit=).")
        )
    tvals = np.unique(data[time].to_numpy(dtype=float))
    if len(tvals) > 2 and not np.allclose(np.diff(tvals), tvals[1] - tvals[0]):
        raise ValueError(
            f"{where}: column {time!r} must be equally spaced for Newey-West errors; fill the "
            "gaps or aggregate to a regular period."
        )

    t = data[time].to_numpy(dtype=float)
    if int_col is not None:
        if unit is not None and (data.groupby(unit)[int_col].nunique() > 1).any():
            raise ValueError(f"{where}: column {int_col!r} must be constant within each {unit}.")
        t0 = data[int_col].to_numpy(dtype=float)
    else:
        if not np.isfinite(float(intervention)):
            raise ValueError(
                f"{where}: intervention must be a finite period, got {intervention!r}."
            )
        t0 = np.full(len(data), float(intervention))
    post = (t >= t0).astype(float)
    keys = data[unit] if unit is not None else pd.Series(0, index=data.index)
    counts = pd.DataFrame({"k": keys, "post": post}).groupby("k")["post"].agg(["sum", "size"])
    short = counts[(counts["sum"] < 2) | (counts["size"] - counts["sum"] < 2)]
    if len(short):
        who = f" for {unit} {short.index[0]!r}" if unit is not None else ""
        raise ValueError(
            f"{where}: the series{who} needs at least two periods before and two after the "
            f"intervention (column {int_col or time!r}) to estimate level and slope changes."
        )

    rel = t - t0
    blocks = [("trend", rel), ("level_change", post), ("slope_change", rel * post)]
    names = [b[0] for b in blocks]
    cols_x = [b[1] for b in blocks]
    if unit is None:
        names.insert(0, "intercept")
        cols_x.insert(0, np.ones(len(data)))
    else:
        dummies = pd.get_dummies(data[unit], dtype=float)
        if dummies.shape[1] < 2:
            raise ValueError(
                f"{where}: column {unit!r} has a single unit; omit unit= for one series."
            )
        names = [f"{unit}[{c}]" for c in dummies.columns] + names
        cols_x = [dummies[c].to_numpy() for c in dummies.columns] + cols_x
    if season is not None:
        sd = pd.get_dummies(data[season].astype("category"), drop_first=True, dtype=float)
        names += [f"{season}[{c}]" for c in sd.columns]
        cols_x += [sd[c].to_numpy() for c in sd.columns]
    for c in covariates:
        names.append(c)
        cols_x.append(data[c].to_numpy(dtype=float))
    x = np.column_stack(cols_x)
    yv = data[y].to_numpy(dtype=float)
    n, k = x.shape
    if n <= k or np.linalg.matrix_rank(x) < k:
        raise ValueError(
            f"{where}: the regression has {k} terms for {n} rows or collinear terms; use fewer "
            "seasons or covariates, or more periods."
        )

    xtx_inv = np.linalg.inv(x.T @ x)
    beta = xtx_inv @ (x.T @ yv)
    resid = yv - x @ beta
    scores = x * resid[:, None]
    n_periods = len(tvals)
    lags = newey_west_lags(n_periods) if hac_lags is None else int(hac_lags)
    if lags < 0 or lags >= n_periods:
        raise ValueError(
            f"{where}: hac_lags must be between 0 and {n_periods - 1}, got {hac_lags!r}."
        )
    if unit is None:
        meat = S_hac_simple(scores, nlags=lags)
        cov = xtx_inv @ meat @ xtx_inv
        dof = float(n - k)
        inference = "newey_west"
        note = f"Newey-West HAC (Bartlett, {lags} lags), t with {n - k} df."
        n_clusters = 1
    else:
        sums = np.zeros((n_periods, k))
        np.add.at(sums, np.searchsorted(tvals, t), scores)  # per-period score sums
        meat = S_hac_simple(sums, nlags=lags)
        cov = xtx_inv @ meat @ xtx_inv
        cov *= cr1_factor(n_periods, n, k)
        dof = float(n_periods - 1)
        inference = "driscoll_kraay"
        note = (
            f"Driscoll-Kraay (Newey-West over per-period sums, {lags} lags), t with "
            f"{n_periods - 1} df."
        )
        n_clusters = int(data[unit].nunique())
    se = np.sqrt(np.diag(cov))
    tstat = beta / se
    p, lo, hi = t_interval(beta, se, dof, alpha)
    coef = pd.DataFrame(
        {
            "term": names,
            "estimate": beta,
            "std_error": se,
            "statistic": tstat,
            "p_value": p,
            "conf_low": lo,
            "conf_high": hi,
            "df": dof,
            "n_obs": n,
            "n_clusters": n_clusters,
            "method": "its",
            "inference": inference,
        },
        columns=TIDY_COLUMNS,
    )

    def est(term: str, extra: dict) -> Estimate:
        i = names.index(term)
        return Estimate(
            estimate=float(beta[i]),
            se=float(se[i]),
            ci_low=float(lo[i]),
            ci_high=float(hi[i]),
            p_value=float(p[i]),
            n_obs=n,
            n_clusters=n_clusters,
            method="its",
            inference=inference,
            inference_note=note,
            term=term,
            df=dof,
            alpha=alpha,
            extra=extra,
        )

    slope = est("slope_change", {})
    tidy = coef[coef["term"].isin(["level_change", "slope_change"])].reset_index(drop=True)
    return est(
        "level_change",
        {"slope_change": slope, "coefficients": coef, "tidy": tidy, "hac_lags": lags, "vcov": cov},
    )
