"""Event-study inference: one inference for the coefficients, the band and the pre-trend
test; the wild band against a dense implementation; exact randomization inference; the
estimand the diagnosis scores it against."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hubsim.estimators import event_study
from hubsim.estimators.inference import wild_weights
from hubsim.power import ESTIMATORS, diagnose
from hubsim.regional import DynamicEffect, RegionalDesign
from hubsim.rng import stream


def _panel(seed: int, G: int = 12, T: int = 9, treated: int = 6, pre_trend: float = 0.0):
    d = RegionalDesign(
        n_regions=G,
        n_periods=T,
        n_treated=treated,
        schedule=(4, 6),
        n_per_cell=200,
        icc=0.02,
        ar_rho=0.5,
        ar_sd=0.05,
        effect=0.1,
    ).simulate(seed)
    d["g"] = d["cohort"].where(d["cohort"] > 0)
    if pre_trend:
        # treated regions drift before adoption: a pre-trend the test should find
        d["y"] = d["y"] + pre_trend * np.where(d["g"].notna(), d["period"], 0.0)
    return d


@pytest.mark.parametrize("inference", ["cr1", "cr2", "wild", "ri"])
def test_every_inference_serves_coefficients_band_and_pretrend(inference):
    d = _panel(1)
    r = event_study(
        d,
        "y",
        "region",
        "period",
        cohort="g",
        weights="n",
        leads=2,
        lags=2,
        inference=inference,
        B=199,
        seed=4,
    )
    assert r.inference == inference and r.estimate.inference in (inference,)
    c = r.tidy()
    # the last row is the headline, the post-period average, as the summary opens with it
    assert c["term"].iloc[-1] == r.estimate.term and c["estimate"].iloc[-1] == r.estimate.estimate
    c = c.iloc[:-1]
    est = c[c["inference"] != "reference"]
    assert (est["inference"] == inference).all()
    if inference in ("cr1", "cr2"):
        # t intervals: the simultaneous band contains every pointwise interval
        assert np.all(est["band_low"] <= est["conf_low"] + 1e-12)
        assert np.all(est["band_high"] >= est["conf_high"] - 1e-12)
    assert r.band_crit >= 1.96 - 1e-9
    assert 0 <= r.pretrend_p <= 1
    assert inference in r.inference_note
    strong = event_study(
        _panel(1, pre_trend=0.05),
        "y",
        "region",
        "period",
        cohort="g",
        weights="n",
        leads=2,
        lags=2,
        inference=inference,
        B=199,
        seed=4,
    )
    assert strong.pretrend_p < 0.05


def test_wild_band_equals_a_dense_unrestricted_bootstrap():
    d = _panel(2)
    B, seed = 299, 7
    r = event_study(
        d,
        "y",
        "region",
        "period",
        cohort="g",
        weights="n",
        leads=2,
        lags=2,
        inference="wild",
        B=B,
        seed=seed,
    )
    # dense: every dummy written out, weighted OLS, the same Rademacher draws by region
    e = np.clip(d["period"] - d["g"], -2, 2)
    terms = [-2, 0, 1, 2]
    D = np.column_stack([((e == k) & d["g"].notna()).to_numpy(float) for k in terms])
    F = pd.get_dummies(d[["region", "period"]].astype(str), drop_first=True).to_numpy(float)
    X = np.column_stack([D, np.ones(len(d)), F])
    w = np.sqrt(d["n"].to_numpy(float))
    Xw, yw = X * w[:, None], d["y"].to_numpy() * w
    XtXi = np.linalg.pinv(Xw.T @ Xw)
    beta = XtXi @ Xw.T @ yw
    u = yw - Xw @ beta
    cl = d["region"].to_numpy()
    G = len(np.unique(cl))
    V, _ = wild_weights(G, B, "rademacher", stream(seed, "event_study", "wild_band"))
    N, K = len(d), len(terms)
    k_ssc = K + (G + 9 - 1) - G + 1
    ssc = G / (G - 1) * (N - 1) / (N - k_ssc)
    tmax = np.empty(V.shape[1])
    for b in range(V.shape[1]):
        ystar = Xw @ beta + u * V[cl, b]
        bs = XtXi @ Xw.T @ ystar
        es = ystar - Xw @ bs
        sc = np.zeros((G, X.shape[1]))
        np.add.at(sc, cl, Xw * es[:, None])
        Vb = ssc * XtXi @ (sc.T @ sc) @ XtXi
        tmax[b] = np.max(np.abs((bs[:K] - beta[:K]) / np.sqrt(np.diag(Vb)[:K])))
    assert r.band_crit == pytest.approx(float(np.quantile(tmax, 0.95)), rel=1e-9)


def test_randomization_inference_is_exact_when_assignments_are_few():
    # 7 regions, adoption dates (4, 6, never x 5): 7!/(1! 1! 5!) = 42 reassignments
    d = _panel(3, G=7, treated=2)
    r = event_study(
        d, "y", "region", "period", cohort="g", weights="n", leads=2, lags=2, inference="ri", B=999
    )
    assert r.estimate.extra["ri_exact"] and r.estimate.extra["ri_n_perm"] == 42
    for p in [r.estimate.p_value, r.pretrend_p, *r.tidy()["p_value"].dropna()]:
        assert abs(p * 42 - round(p * 42)) < 1e-9


@pytest.mark.statistical
def test_diagnosis_scores_the_event_study_against_its_event_time_window():
    """With effects growing by event time, the event study's post-period average targets the
    mean of the event-time effects 0..lags, not the overall ATT: scored against its own
    estimand it is unbiased within MCSE, against the ATT it would look biased."""
    design = RegionalDesign(
        n_regions=30,
        n_periods=12,
        n_treated=15,
        schedule=(6,),
        n_per_cell=400,
        icc=0.02,
        effect=DynamicEffect(profile=(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6)),
    )
    # the registry's spec, with CR1 (the inference does not move the point estimate)
    spec = ESTIMATORS["event_study"].with_kwargs(inference="cr1")
    assert spec.estimand == "event_window"
    res = diagnose(design, [spec], n_sims=120, seed=3)
    r = res.diagnosands.iloc[0]
    est = design.estimand()
    assert r["mean_estimand"] == pytest.approx(est.event_window_mean(0, 4), abs=1e-12)
    assert abs(r["bias"]) < 4 * r["bias_mcse"]
    assert abs(r["mean_estimate"] - est.att) > 4 * r["mean_estimate_mcse"]
    assert math.isclose(est.event_window_mean(0, 4), (0 + 0.1 + 0.2 + 0.3 + 0.5) / 5, rel_tol=1e-12)
