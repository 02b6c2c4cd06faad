"""Interrupted time series by segmented regression with autocorrelated errors.

The model for a series observed at times ``t`` with an intervention at ``T0`` is

    y_t = b0 + b1 (t - T0) + b2 post_t + b3 (t - T0) post_t [+ seasons] [+ covariates] + e_t,

with ``post_t = 1{t >= T0}``: ``b2`` is the change in level at the intervention and
``b3`` the change in slope. Errors may be autocorrelated. For one series the default
(``inference="ar1_reml"``) is generalised least squares with AR(1) errors, the
autocorrelation estimated by restricted maximum likelihood (REML), and t tests with
Satterthwaite degrees of freedom for each term (from the expected REML information of
the variance and the autocorrelation). Turner et al. (2021, BMC Med Res Methodol 21:181)
found this the closest to nominal of the usual ITS methods; short or strongly
autocorrelated series still over-reject somewhat (0.07-0.08 below). True-null rejection
of the level change at a nominal 5%, stationary AR(1) errors, intervention mid-series,
2,000 series a row (MCSE about 0.005), measured by ``python
experiments/measure_its_size.py`` (``tests/test_its.py::test_reml_size`` re-checks two
rows):

======  =====  ================  ================  =========
T       rho    ``ar1_reml``      ``newey_west``    plain OLS
======  =====  ================  ================  =========
10      0      0.044             0.300             0.058
10      0.6    0.056             0.400             0.104
24      0.3    0.075             0.252             0.136
48      0      0.051             0.146             0.056
48      0.3    0.056             0.185             0.140
48      0.6    0.073             0.237             0.283
120     0.3    0.048             0.131             0.152
120     0.6    0.057             0.182             0.321
======  =====  ================  ================  =========

``inference="newey_west"`` keeps ordinary least squares with the Newey-West covariance
(Bartlett kernel, no small-sample factor, as statsmodels' ``cov_type="HAC"``) and t with
``n - k`` degrees of freedom: in short series it rejects a true null far too often (the
table), so it is there for comparison with published analyses, not as a default.

With ``unit=`` several series (e.g. regions) are pooled with unit intercepts and common
trend, level and slope terms; the covariance is then Driscoll-Kraay (Newey-West applied
to the per-period sums of the scores, robust to correlation across units and over
time; statsmodels' ``cov_type="hac-groupsum"`` with its default cluster correction) and
tests use t with ``T - 1`` degrees of freedom, ``T`` the number of periods (the only
inference for pooled series: an AR(1) per unit would ignore the shocks regions share).

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
from scipy import optimize
from statsmodels.stats.sandwich_covariance import S_hac_simple

from hubsim.checks import check_alpha
from hubsim.estimators._data import handle_missing, require_columns, require_numeric
from hubsim.estimators._estimate import TIDY_COLUMNS, Estimate
from hubsim.stats import cr1_factor, on_one_blas_thread, t_interval

__all__ = ["ar1_reml", "its", "newey_west_lags"]

#: Inference of :func:`its`: for one series, and for pooled series (``unit=``).
SINGLE_INFERENCE = ("ar1_reml", "newey_west")
POOLED_INFERENCE = ("driscoll_kraay",)
#: The REML search for the AR(1) coefficient stays inside (-RHO_BOUND, RHO_BOUND), where
#: the stationary correlation matrix is well conditioned.
RHO_BOUND = 0.99


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
    inference: str | None = None,
    hac_lags: int | None = None,
    alpha: float = 0.05,
    missing: str = "raise",
) -> Estimate:
    """Segmented-regression interrupted time series with autocorrelation-robust inference.

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
    inference : {"ar1_reml", "newey_west", "driscoll_kraay"}, optional
        Default ``"ar1_reml"`` for one series (GLS with REML AR(1) errors, Satterthwaite
        t; see the module notes for its measured size) and ``"driscoll_kraay"``, the only
        choice, with ``unit=``.
    hac_lags : int, optional
        Bartlett-kernel lags of ``newey_west`` and ``driscoll_kraay``; default
        :func:`newey_west_lags` of the number of periods.
    alpha : float
        1 - confidence level.
    missing : {"raise", "drop"}
        Handling of rows with missing values.

    Returns
    -------
    Estimate
        The level change (``term="level_change"``). ``extra`` holds ``"slope_change"``
        (an Estimate), ``"coefficients"`` (all terms, :data:`TIDY_COLUMNS`),
        ``"tidy"`` (level and slope change rows), ``"vcov"``, and ``"hac_lags"`` (None
        for ``ar1_reml``) or ``"rho"`` (the REML autocorrelation, ``ar1_reml`` only).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(48)
    >>> d = pd.DataFrame({"month": t, "y": 10 + 0.1 * t + 2.0 * (t >= 24) + rng.normal(0, 0.5, 48)})
    >>> est = its(d, "y", "month", intervention=24)
    >>> round(est.estimate, 1), est.term, est.inference
    (1.9, 'level_change', 'ar1_reml')
    >>> its(d, "y", "month", intervention=24, inference="newey_west").extra["hac_lags"]
    3
    """
    where = "its"
    check_alpha(alpha, where)
    allowed = POOLED_INFERENCE if unit is not None else SINGLE_INFERENCE
    if inference is None:
        inference = allowed[0]
    if inference not in allowed:
        kind = "pooled series (unit=)" if unit is not None else "one series"
        raise ValueError(
            f"{where}: inference must be one of {', '.join(map(repr, allowed))} for {kind}, "
            f"got {inference!r}."
        )
    if inference == "ar1_reml" and hac_lags is not None:
        raise ValueError(
            f"{where}: hac_lags applies to Newey-West and Driscoll-Kraay errors, not to "
            "inference='ar1_reml'; pass inference='newey_west' or drop hac_lags."
        )
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
            f"{where}: column {time!r} must be equally spaced for autocorrelated errors; fill the "
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

    n_periods = len(tvals)
    if inference == "ar1_reml":
        beta, cov, dofs, rho = ar1_reml(yv, x)
        se = np.sqrt(np.diag(cov))
        note = (
            f"GLS with AR(1) errors (REML rho = {rho:.3f}), t with Satterthwaite df "
            f"({dofs[names.index('level_change')]:.1f} for the level change)."
        )
        n_clusters = 1
        extra_fit = {"hac_lags": None, "rho": rho}
    else:
        xtx_inv = np.linalg.inv(x.T @ x)
        beta = xtx_inv @ (x.T @ yv)
        resid = yv - x @ beta
        scores = x * resid[:, None]
        lags = newey_west_lags(n_periods) if hac_lags is None else int(hac_lags)
        if lags < 0 or lags >= n_periods:
            raise ValueError(
                f"{where}: hac_lags must be between 0 and {n_periods - 1}, got {hac_lags!r}."
            )
        if unit is None:
            meat = S_hac_simple(scores, nlags=lags)
            cov = xtx_inv @ meat @ xtx_inv
            dof = float(n - k)
            note = f"Newey-West HAC (Bartlett, {lags} lags), t with {n - k} df."
            n_clusters = 1
        else:
            sums = np.zeros((n_periods, k))
            np.add.at(sums, np.searchsorted(tvals, t), scores)  # per-period score sums
            meat = S_hac_simple(sums, nlags=lags)
            cov = xtx_inv @ meat @ xtx_inv
            cov *= cr1_factor(n_periods, n, k)
            dof = float(n_periods - 1)
            note = (
                f"Driscoll-Kraay (Newey-West over per-period sums, {lags} lags), t with "
                f"{n_periods - 1} df."
            )
            n_clusters = int(data[unit].nunique())
        se = np.sqrt(np.diag(cov))
        dofs = np.full(k, dof)
        extra_fit = {"hac_lags": lags}
    tstat = beta / se
    p, lo, hi = (np.empty(k) for _ in range(3))
    for i in range(k):
        p[i], lo[i], hi[i] = t_interval(float(beta[i]), float(se[i]), float(dofs[i]), alpha)
    coef = pd.DataFrame(
        {
            "term": names,
            "estimate": beta,
            "std_error": se,
            "statistic": tstat,
            "p_value": p,
            "conf_low": lo,
            "conf_high": hi,
            "df": dofs,
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
            df=float(dofs[i]),
            alpha=alpha,
            extra=extra,
        )

    slope = est("slope_change", {})
    tidy = coef[coef["term"].isin(["level_change", "slope_change"])].reset_index(drop=True)
    return est(
        "level_change",
        {"slope_change": slope, "coefficients": coef, "tidy": tidy, "vcov": cov, **extra_fit},
    )


def _prais_winsten(a: np.ndarray, rho: float) -> np.ndarray:
    """``L a`` for the AR(1) whitening ``L`` (``L V L' = I``, ``V_ij = rho^|i-j| / (1 - rho^2)``)."""
    out = np.empty_like(a)
    out[0] = math.sqrt(1.0 - rho * rho) * a[0]
    out[1:] = a[1:] - rho * a[:-1]
    return out


def _gls(y: np.ndarray, x: np.ndarray, rho: float):
    ys, xs = _prais_winsten(y, rho), _prais_winsten(x, rho)
    a = xs.T @ xs  # X' V^-1 X
    a_inv = np.linalg.inv(a)
    beta = a_inv @ (xs.T @ ys)
    r = ys - xs @ beta
    return beta, float(r @ r), a_inv, a


def ar1_reml(y: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """GLS of ``y`` on ``x`` with stationary AR(1) errors fitted by REML, Satterthwaite df.

    The errors of consecutive rows are ``e_t = rho e_{t-1} + u_t``, ``u_t ~ N(0, s2)``.
    ``rho`` maximises the restricted (REML) likelihood, profiled over ``s2``:
    ``-(1/2) [(n - k) log(RSS / (n - k)) + log|V| + log|X' V^-1 X|]`` with ``RSS`` the
    whitened residual sum of squares and ``log|V| = -log(1 - rho^2)``. The covariance of
    the coefficients is ``s2 (X' V^-1 X)^-1`` with ``s2 = RSS / (n - k)``. Term ``j``'s
    degrees of freedom are Satterthwaite's, ``2 v_j^2 / (g_j' I^-1 g_j)``: ``v_j`` its
    variance, ``g_j`` the gradient of ``v_j`` in ``(s2, rho)`` and ``I`` the expected
    REML information of ``(s2, rho)``, ``I_ab = tr(P dS_a P dS_b) / 2`` with
    ``P = S^-1 - S^-1 X (X' S^-1 X)^-1 X' S^-1``, ``S = s2 V`` (capped at ``n - k``).

    Parameters
    ----------
    y : numpy.ndarray
        The outcome, rows in time order, one per equally spaced period.
    x : numpy.ndarray
        The design matrix (full column rank).

    Returns
    -------
    beta, cov, df, rho

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> x = np.column_stack([np.ones(40), np.arange(40.0)])
    >>> e = np.zeros(40)
    >>> for t in range(1, 40):
    ...     e[t] = 0.5 * e[t - 1] + rng.normal()
    >>> beta, cov, df, rho = ar1_reml(1.0 + 0.1 * np.arange(40) + e, x)
    >>> beta.round(2).tolist(), bool(0 < rho < 1), bool((df <= 38).all())
    ([0.92, 0.11], True, True)
    """
    n, k = x.shape

    def neg_profile(rho: float) -> float:
        _, rss, _, a = _gls(y, x, rho)
        return 0.5 * (
            (n - k) * math.log(rss / (n - k)) - math.log(1.0 - rho * rho) + np.linalg.slogdet(a)[1]
        )

    found = optimize.minimize_scalar(
        neg_profile, bounds=(-RHO_BOUND, RHO_BOUND), method="bounded", options={"xatol": 1e-10}
    )
    rho = float(found.x)
    beta, rss, a_inv, _ = _gls(y, x, rho)
    s2 = rss / (n - k)
    cov = s2 * a_inv
    # V and dV/drho of the stationary AR(1) correlation, V_ij = rho^m / (1 - rho^2), m = |i - j|
    m = np.abs(np.subtract.outer(np.arange(n), np.arange(n))).astype(float)
    q = 1.0 - rho * rho
    v = rho**m / q
    with np.errstate(divide="ignore", invalid="ignore"):
        dv = np.where(m > 0, m * rho ** (m - 1.0), 0.0) / q + 2.0 * rho * v / q
    whiten = _prais_winsten(np.eye(n), rho)
    v_inv = whiten.T @ whiten  # V^-1 = L'L: exact and tridiagonal, no n x n inverse
    vx = v_inv @ x
    p = v_inv - vx @ a_inv @ vx.T  # P for S = V (s2 = 1); P for S = s2 V is this / s2
    pdv = p @ dv
    info = 0.5 * np.array(
        [
            [(n - k) / s2**2, np.trace(pdv) / s2],
            [np.trace(pdv) / s2, float(np.sum(pdv * pdv.T))],
        ]
    )
    # d(s2 A^-1)/drho = s2 A^-1 X' V^-1 dV V^-1 X A^-1
    d_rho = s2 * (a_inv @ (vx.T @ dv @ vx) @ a_inv)
    grads = np.column_stack([np.diag(a_inv), np.diag(d_rho)])
    df = np.full(k, float(n - k))
    try:
        w = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return beta, cov, df, rho  # no information about rho: the residual df
    den = np.einsum("ja,ab,jb->j", grads, w, grads)
    ok = den > 0
    df[ok] = np.minimum(2.0 * np.diag(cov)[ok] ** 2 / den[ok], float(n - k))
    return beta, cov, df, rho
