"""Tests of the interrupted time series estimator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from hubsim.estimators import its
from hubsim.estimators._estimate import TIDY_COLUMNS
from hubsim.estimators.its import ar1_reml, newey_west_lags


def ar1(rng: np.random.Generator, n: int, rho: float = 0.5, sd: float = 1.0) -> np.ndarray:
    e = np.empty(n)
    e[0] = rng.normal(0, sd / np.sqrt(1 - rho**2))
    for i in range(1, n):
        e[i] = rho * e[i - 1] + rng.normal(0, sd)
    return e


def series(rng, n=60, t0=30, level=2.0, slope=0.05):
    t = np.arange(n, dtype=float)
    y = 5 + 0.1 * t + level * (t >= t0) + slope * (t - t0) * (t >= t0) + ar1(rng, n)
    y += 0.8 * np.sin(2 * np.pi * t / 12)
    return pd.DataFrame({"month": t, "y": y, "calmonth": (t % 12).astype(int)})


@pytest.mark.oracle
@pytest.mark.parametrize("lags", [None, 0, 4])
def test_matches_statsmodels_hac(lags):
    df = series(np.random.default_rng(1))
    est = its(df, "y", "month", 30, season="calmonth", inference="newey_west", hac_lags=lags)
    assert est.inference == "newey_west"
    t = df["month"].to_numpy()
    post = (t >= 30).astype(float)
    x = np.column_stack(
        [np.ones(len(t)), t - 30, post, (t - 30) * post]
        + [(df["calmonth"] == k).to_numpy(float) for k in range(1, 12)]
    )
    maxlags = newey_west_lags(len(t)) if lags is None else lags
    ref = sm.OLS(df["y"].to_numpy(), x).fit(
        cov_type="HAC", cov_kwds={"maxlags": maxlags}, use_t=True
    )
    ci = ref.conf_int()
    assert est.estimate == pytest.approx(ref.params[2], abs=1e-8)
    assert est.se == pytest.approx(ref.bse[2], abs=1e-8)
    assert est.p_value == pytest.approx(ref.pvalues[2], abs=1e-8)
    assert (est.ci_low, est.ci_high) == pytest.approx(tuple(ci[2]), abs=1e-8)
    slope = est.extra["slope_change"]
    assert slope.estimate == pytest.approx(ref.params[3], abs=1e-8)
    assert slope.se == pytest.approx(ref.bse[3], abs=1e-8)
    assert est.df == ref.df_resid and est.extra["hac_lags"] == maxlags
    tidy = est.extra["tidy"]
    assert list(tidy.columns) == TIDY_COLUMNS
    assert list(tidy["term"]) == ["level_change", "slope_change"]


@pytest.mark.oracle
def test_pooled_units_match_statsmodels_driscoll_kraay():
    rng = np.random.default_rng(2)
    rows = []
    shocks = ar1(rng, 40)  # common shocks: correlation across units and over time
    for u in range(8):
        a = rng.normal()
        for t in range(40):
            rows.append((u, t, a + 0.1 * t + 1.5 * (t >= 20) + shocks[t] + rng.normal()))
    df = pd.DataFrame(rows, columns=["region", "month", "y"]).sample(frac=1, random_state=0)
    est = its(df, "y", "month", 20, unit="region", hac_lags=3)
    s = df.sort_values(["region", "month"])
    t = s["month"].to_numpy(float)
    post = (t >= 20).astype(float)
    x = np.column_stack(
        [pd.get_dummies(s["region"], dtype=float).to_numpy(), t - 20, post, (t - 20) * post]
    )
    ref = sm.OLS(s["y"].to_numpy(), x).fit(
        cov_type="hac-groupsum", cov_kwds={"time": s["month"].to_numpy(), "maxlags": 3}
    )
    assert est.estimate == pytest.approx(ref.params[9], abs=1e-8)
    assert est.se == pytest.approx(ref.bse[9], abs=1e-8)
    assert est.extra["slope_change"].se == pytest.approx(ref.bse[10], abs=1e-8)
    assert est.inference == "driscoll_kraay" and est.n_clusters == 8


def test_intervention_column_per_unit():
    rng = np.random.default_rng(3)
    rows = []
    for u, t0 in enumerate([10, 14, 18, 22]):
        for t in range(32):
            rows.append((u, t, t0, 0.05 * t + 1.0 * (t >= t0) + rng.normal(0, 0.1)))
    df = pd.DataFrame(rows, columns=["region", "month", "opened", "y"])
    est = its(df, "y", "month", "opened", unit="region")
    assert est.estimate == pytest.approx(1.0, abs=6 * est.se)
    assert abs(est.extra["slope_change"].estimate) < 6 * est.extra["slope_change"].se


@pytest.mark.statistical
def test_unbiased_for_a_constant_level_change():
    rng = np.random.default_rng(4)
    n_sims, level = 300, 2.0
    est = np.array(
        [
            its(series(rng, level=level), "y", "month", 30, season="calmonth").estimate
            for _ in range(n_sims)
        ]
    )
    mcse = est.std(ddof=1) / np.sqrt(n_sims)
    assert abs(est.mean() - level) < 4 * mcse


def test_bad_input():
    df = series(np.random.default_rng(5))
    with pytest.raises(ValueError, match="'outcome' is not in the data frame"):
        its(df, "outcome", "month", 30)
    holes = df.copy()
    holes.loc[3, "y"] = np.nan
    with pytest.raises(ValueError, match="first in column 'y'"):
        its(holes, "y", "month", 30)
    with pytest.raises(ValueError, match="at least two periods before and two after"):
        its(df, "y", "month", 59)
    with pytest.raises(ValueError, match="at least two periods before and two after"):
        its(df, "y", "month", 1)
    with pytest.raises(ValueError, match="'month' repeats within a series"):
        its(pd.concat([df, df]), "y", "month", 30)
    with pytest.raises(ValueError, match="'month' must be equally spaced"):
        its(df.drop(index=[10, 11]), "y", "month", 30)
    with pytest.raises(ValueError, match="'month' must be numeric"):
        its(df.assign(month=df["month"].astype(str)), "y", "month", 30)


def _ar1_corr(n: int, rho: float) -> np.ndarray:
    m = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    return rho**m / (1 - rho**2)


def _design(df, t0=30):
    t = df["month"].to_numpy(float)
    post = (t >= t0).astype(float)
    return np.column_stack([np.ones(len(t)), t - t0, post, (t - t0) * post])


@pytest.mark.oracle
def test_reml_matches_statsmodels_gls_at_its_autocorrelation():
    """The default fit is GLS at the REML rho: the same coefficients and covariance as
    statsmodels' GLS given that AR(1) correlation matrix."""
    df = series(np.random.default_rng(6)).drop(columns="calmonth")
    est = its(df, "y", "month", 30)
    rho = est.extra["rho"]
    x = _design(df)
    ref = sm.GLS(df["y"].to_numpy(), x, sigma=_ar1_corr(len(df), rho)).fit()
    assert est.inference == "ar1_reml" and est.extra["hac_lags"] is None
    assert est.estimate == pytest.approx(ref.params[2], abs=1e-8)
    assert est.se == pytest.approx(ref.bse[2], abs=1e-8)
    assert est.extra["slope_change"].se == pytest.approx(ref.bse[3], abs=1e-8)
    assert 0 < est.df <= len(df) - 4


@pytest.mark.oracle
def test_reml_autocorrelation_maximises_the_likelihood_of_error_contrasts():
    """REML is the likelihood of the residual contrasts K'y (K spanning the orthogonal
    complement of X): maximised independently with scipy, it gives the same rho."""
    from scipy import linalg, optimize, stats

    df = series(np.random.default_rng(7), n=40, t0=20).drop(columns="calmonth")
    est = its(df, "y", "month", 20)
    x, y = _design(df, 20), df["y"].to_numpy()
    k_mat = linalg.null_space(x.T)
    z = k_mat.T @ y

    def neg(rho):
        c = k_mat.T @ _ar1_corr(len(y), rho) @ k_mat
        s2 = float(z @ np.linalg.solve(c, z)) / len(z)
        return -stats.multivariate_normal(np.zeros(len(z)), s2 * c).logpdf(z)

    ref = optimize.minimize_scalar(neg, bounds=(-0.99, 0.99), method="bounded",
                                   options={"xatol": 1e-10})
    assert est.extra["rho"] == pytest.approx(ref.x, abs=1e-5)


@pytest.mark.oracle
def test_satterthwaite_gradient_is_the_derivative_of_the_variance():
    """The rho-gradient behind the Satterthwaite df is the derivative of s2 (X'V^-1X)^-1:
    with the gradient replaced by central differences the df agree."""
    df = series(np.random.default_rng(8), n=36, t0=18).drop(columns="calmonth")
    x, y = _design(df, 18), df["y"].to_numpy()
    _beta, cov, dfs, rho = ar1_reml(y, x)
    n, k = x.shape
    s2 = cov[2, 2] / np.linalg.inv(x.T @ np.linalg.inv(_ar1_corr(n, rho)) @ x)[2, 2]

    def var_at(r):
        return s2 * np.linalg.inv(x.T @ np.linalg.inv(_ar1_corr(n, r)) @ x)

    h = 1e-5
    d_rho = (var_at(rho + h) - var_at(rho - h)) / (2 * h)
    # the expected REML information, written from its definition with S = s2 V
    v = _ar1_corr(n, rho)
    dv = (_ar1_corr(n, rho + h) - _ar1_corr(n, rho - h)) / (2 * h)
    s_inv = np.linalg.inv(s2 * v)
    p = s_inv - s_inv @ x @ np.linalg.inv(x.T @ s_inv @ x) @ x.T @ s_inv
    ds = [v, s2 * dv]
    info = np.array([[0.5 * np.trace(p @ a @ p @ b) for b in ds] for a in ds])
    for j in range(k):
        g = np.array([cov[j, j] / s2, d_rho[j, j]])
        ref = min(2 * cov[j, j] ** 2 / (g @ np.linalg.inv(info) @ g), n - k)
        assert dfs[j] == pytest.approx(ref, rel=1e-4)


def _null_rejection(n_periods, rho, n_sims, seed, inference):
    rng = np.random.default_rng(seed)
    t0 = n_periods // 2
    t = np.arange(n_periods, dtype=float)
    rej = 0
    for _ in range(n_sims):
        df = pd.DataFrame({"month": t, "y": ar1(rng, n_periods, rho)})
        rej += its(df, "y", "month", t0, inference=inference).p_value < 0.05
    return rej / n_sims


@pytest.mark.statistical
@pytest.mark.parametrize(("n_periods", "rho"), [(48, 0.3), (120, 0.6)])
def test_reml_size(n_periods, rho):
    """A true null (no level change, AR(1) errors) is rejected at the nominal 5% within
    4 MCSE with the default inference; Newey-West on the same series rejects it far more
    often (the module's table)."""
    n_sims = 1500
    mcse = np.sqrt(0.05 * 0.95 / n_sims)
    size = _null_rejection(n_periods, rho, n_sims, 11, None)
    assert abs(size - 0.05) < 4 * mcse, size
    nw = _null_rejection(n_periods, rho, 400, 11, "newey_west")
    assert nw > 0.05 + 4 * np.sqrt(0.05 * 0.95 / 400), nw


def test_inference_choices():
    df = series(np.random.default_rng(9))
    with pytest.raises(ValueError, match="hac_lags applies to Newey-West"):
        its(df, "y", "month", 30, hac_lags=3)
    with pytest.raises(ValueError, match="inference must be one of 'ar1_reml', 'newey_west'"):
        its(df, "y", "month", 30, inference="driscoll_kraay")
    pooled = pd.concat([df.assign(region=r) for r in ("a", "b")])
    with pytest.raises(ValueError, match="'driscoll_kraay' for pooled series"):
        its(pooled, "y", "month", 30, unit="region", inference="ar1_reml")
