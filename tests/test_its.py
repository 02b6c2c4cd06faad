"""Tests of the interrupted time series estimator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from hubsim.estimators import its
from hubsim.estimators._estimate import TIDY_COLUMNS
from hubsim.estimators.its import newey_west_lags


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
    est = its(df, "y", "month", 30, season="calmonth", hac_lags=lags)
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
