"""TWFE, event study and difference in means: oracle equality and unbiasedness."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from hubsim.estimators import diff_in_means, event_study, twfe
from hubsim.estimators.inference import FEProjector
from hubsim.regional import DynamicEffect, RegionalDesign


def _panel(seed: int, G: int = 12, T: int = 8, unbalanced: bool = False) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    d = pd.DataFrame(
        [(r, t) for r in range(G) for t in range(1, T + 1)], columns=["region", "period"]
    )
    adopt = {r: (3 + r % 4 if r < G // 2 else np.inf) for r in range(G)}
    d["treat"] = (d["period"] >= d["region"].map(adopt)).astype(int)
    d["n"] = rng.integers(20, 300, len(d)).astype(float)
    d["x1"] = rng.normal(size=len(d))
    d["x2"] = rng.normal(size=len(d)) + 0.3 * d["treat"]
    d["y"] = (
        rng.normal(size=G)[d["region"]]
        + 0.2 * d["period"]
        + 0.4 * d["treat"]
        + 0.3 * d["x1"]
        - 0.2 * d["x2"]
        + rng.normal(size=len(d)) * 3 / np.sqrt(d["n"])
    )
    if unbalanced:
        d = d.drop(index=rng.choice(len(d), size=len(d) // 7, replace=False)).reset_index(drop=True)
    return d


def _feols(fml, data, weights=None):
    pf = pytest.importorskip("pyfixest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(fml, data, vcov={"CRV1": "region"}, weights=weights, fixef_tol=1e-14)


@pytest.mark.oracle
@pytest.mark.parametrize("weights", [None, "n"])
@pytest.mark.parametrize("covariates", [(), ("x1", "x2")])
@pytest.mark.parametrize("unbalanced", [False, True])
def test_twfe_and_cr1_equal_pyfixest(weights, covariates, unbalanced):
    d = _panel(1, unbalanced=unbalanced)
    est = twfe(
        d, "y", "region", "period", "treat", weights=weights, covariates=covariates, inference="cr1"
    )
    fml = "y ~ treat" + "".join(f" + {c}" for c in covariates) + " | region + period"
    m = _feols(fml, d, weights)
    assert est.estimate == pytest.approx(m.coef()["treat"], abs=1e-8)
    assert est.se == pytest.approx(m.se()["treat"], abs=1e-8)
    assert est.p_value == pytest.approx(m.pvalue()["treat"], abs=1e-8)
    lo, hi = m.confint().loc["treat"]
    assert (est.ci_low, est.ci_high) == pytest.approx((lo, hi), abs=1e-8)
    assert est.df == 11 and est.n_clusters == 12 and est.n_obs == len(d)


@pytest.mark.oracle
def test_twfe_on_individual_rows_equals_pyfixest():
    d = RegionalDesign(
        n_regions=10,
        n_periods=5,
        n_treated=5,
        schedule=(3, 4),
        n_per_cell=30,
        icc=0.05,
        effect=0.3,
        level="individual",
    ).simulate(4)
    est = twfe(d, "y", "region", "period", "treated", inference="cr1")
    m = _feols("y ~ treated | region + period", d)
    assert est.estimate == pytest.approx(m.coef()["treated"], abs=1e-8)
    assert est.se == pytest.approx(m.se()["treated"], abs=1e-8)


@pytest.mark.oracle
def test_event_study_coefficients_equal_pyfixest():
    d = _panel(2, G=14, T=9)
    g = d.groupby("region").apply(
        lambda x: x.loc[x.treat == 1, "period"].min() if x.treat.any() else np.nan,
        include_groups=False,
    )
    d["g"] = d["region"].map(g)
    res = event_study(d, "y", "region", "period", cohort="g", leads=3, lags=2, inference="cr1")
    e = np.clip(d["period"] - d["g"], -3, 2)
    names = {}
    for k in (-3, -2, 0, 1, 2):
        col = f"ev_{'m' if k < 0 else 'p'}{abs(k)}"
        d[col] = ((e == k) & d["g"].notna()).astype(float)
        names[k] = col
    m = _feols("y ~ " + " + ".join(names.values()) + " | region + period", d)
    tidy = res.tidy().set_index("event_time")
    for k, col in names.items():
        assert tidy.loc[k, "estimate"] == pytest.approx(m.coef()[col], abs=1e-8)
        assert tidy.loc[k, "std_error"] == pytest.approx(m.se()[col], abs=1e-8)
    assert tidy.loc[-1, "estimate"] == 0 and math.isnan(tidy.loc[-1, "std_error"])
    post = [names[k] for k in (0, 1, 2)]
    assert res.estimate.estimate == pytest.approx(
        float(np.mean([m.coef()[c] for c in post])), abs=1e-8
    )
    assert res.estimate.extra["coefficients"].shape[0] == 6
    # joint pre-trend test: pyfixest's chi2 Wald statistic of the 2 leads is 2 x our F
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = m.wald_test(R=np.eye(5)[:2], distribution="chi2")
    assert res.pretrend_wald == pytest.approx(float(w["statistic"]), rel=1e-8)
    # the CR1 pre-trend test is the Hotelling-type F(q, G - q) of that Wald statistic
    G, q = 14, 2
    assert res.pretrend_f == pytest.approx(res.pretrend_wald * (G - q) / (q * (G - 1)), rel=1e-12)


@pytest.mark.oracle
def test_diff_in_means_equals_statsmodels_cluster_ols():
    sm = pytest.importorskip("statsmodels.api")
    d = _panel(3)
    d = d[d.period == 8]
    est = diff_in_means(d, "y", "treat", cluster="region", covariates=("x1",), inference="cr1")
    X = sm.add_constant(d[["treat", "x1"]])
    fit = sm.OLS(d["y"], X).fit(cov_type="cluster", cov_kwds={"groups": d["region"]})
    assert est.estimate == pytest.approx(fit.params["treat"], abs=1e-10)
    assert est.se == pytest.approx(fit.bse["treat"], abs=1e-10)


def test_cell_means_weighted_by_n_equal_individual_rows():
    design = RegionalDesign(
        n_regions=8,
        n_periods=4,
        n_treated=4,
        schedule=(2, 3),
        n_per_cell=25,
        level="individual",
        effect=0.2,
    )
    rows = design.simulate(8)
    cells = rows.groupby(["region", "period"], as_index=False).agg(
        y=("y", "mean"), n=("y", "size"), treated=("treated", "first")
    )
    a = twfe(rows, "y", "region", "period", "treated", inference="cr1")
    b = twfe(cells, "y", "region", "period", "treated", weights="n", inference="cr1")
    assert a.estimate == pytest.approx(b.estimate, abs=1e-12)


def test_fe_projection_is_exact_on_an_unbalanced_panel():
    d = _panel(5, unbalanced=True)
    u = pd.factorize(d["region"], sort=True)[0]
    t = pd.factorize(d["period"], sort=True)[0]
    w = d["n"].to_numpy()
    proj = FEProjector([u, t], w)
    E = d[["y", "x1"]].to_numpy()
    D = np.column_stack([np.eye(u.max() + 1)[u], np.eye(t.max() + 1)[t][:, 1:]])
    sw = np.sqrt(w)[:, None]
    coef, *_ = np.linalg.lstsq(D * sw, E * sw, rcond=None)
    assert np.allclose(proj.resid(E), E - D @ coef, atol=1e-11)


@pytest.mark.statistical
def test_twfe_and_diff_in_means_unbiased_under_constant_effect():
    design = RegionalDesign(
        n_regions=20,
        n_periods=6,
        n_treated=10,
        schedule=(4,),
        n_per_cell=50,
        icc=0.05,
        effect=0.3,
        ar_rho=0.4,
        ar_sd=0.1,
        period_sd=0.2,
    )
    tau = design.estimand().att
    rng = np.random.default_rng(12)
    tw, dm = [], []
    for _ in range(300):
        df = design.simulate(rng)
        tw.append(twfe(df, "y", "region", "period", "treated", inference="cr1").estimate)
        post = df[df.period >= 4]
        dm.append(
            diff_in_means(
                post, "y", "treated", cluster="region", weights="n", inference="cr1"
            ).estimate
        )
    for vals in (np.array(tw), np.array(dm)):
        mcse = vals.std(ddof=1) / math.sqrt(len(vals))
        assert abs(vals.mean() - tau) <= 4 * mcse


@pytest.mark.statistical
def test_event_study_recovers_dynamic_effects():
    design = RegionalDesign(
        n_regions=24,
        n_periods=8,
        n_treated=12,
        schedule=(5,),
        n_per_cell=80,
        icc=0.05,
        effect=DynamicEffect(profile=(0.1, 0.25, 0.4, 0.5)),
    )
    target = design.estimand().dynamic.set_index("event_time")["value"]
    rng = np.random.default_rng(13)
    coefs = []
    for _ in range(200):
        df = design.simulate(rng)
        res = event_study(
            df, "y", "region", "period", cohort="cohort", leads=3, lags=3, inference="cr1"
        )
        coefs.append(res.tidy().set_index("event_time")["estimate"])
    C = pd.DataFrame(coefs)
    for k in (-3, -2, 0, 1, 2, 3):
        want = 0.0 if k < 0 else target[k]
        mcse = C[k].std(ddof=1) / math.sqrt(len(C))
        assert abs(C[k].mean() - want) <= 4 * mcse, (k, C[k].mean(), want)
