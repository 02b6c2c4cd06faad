"""Tests of compare_waits (Kaplan-Meier, log-rank, Cox)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hubsim.estimators import compare_waits
from hubsim.estimators._estimate import TIDY_COLUMNS
from hubsim.estimators.waits import (
    ARM_COLUMNS,
    COMPARISON_COLUMNS,
    _cluster_km_bootstrap,
    cox_ph,
    cox_score_residuals,
    kaplan_meier,
)


def waits(rng, n=300, hr=1.7, base_mean=10.0, follow_up=25.0, discrete=True):
    arm = rng.integers(0, 2, n)
    t = rng.exponential(np.where(arm == 1, base_mean / hr, base_mean))
    c = rng.uniform(0, follow_up, n)
    if discrete:  # whole weeks: many ties
        t, c = np.ceil(t), np.ceil(c)
    return pd.DataFrame({"weeks": np.minimum(t, c), "seen": (t <= c).astype(int), "hub": arm})


@pytest.mark.oracle
@pytest.mark.parametrize("discrete", [True, False])
def test_matches_lifelines(discrete):
    from lifelines import CoxPHFitter, KaplanMeierFitter
    from lifelines.statistics import logrank_test
    from lifelines.utils import median_survival_times

    df = waits(np.random.default_rng(1), discrete=discrete)
    res = compare_waits(df, "weeks", "seen", "hub")
    for arm in (0, 1):
        sub = df[df["hub"] == arm]
        kmf = KaplanMeierFitter().fit(sub["weeks"], sub["seen"])
        row = res.arms.set_index("arm").loc[arm]
        assert row["median"] == pytest.approx(kmf.median_survival_time_, abs=1e-6)
        lo, hi = median_survival_times(kmf.confidence_interval_).to_numpy().ravel()
        assert (row["median_ci_low"], row["median_ci_high"]) == pytest.approx((lo, hi), abs=1e-6)
        curve = res.curves[arm].set_index("time")
        ref = kmf.survival_function_.iloc[:, 0].reindex(curve.index)
        np.testing.assert_allclose(curve["survival"], ref, atol=1e-12)
        band = kmf.confidence_interval_.reindex(curve.index)
        np.testing.assert_allclose(curve["ci_low"], band.iloc[:, 0], atol=1e-10)
        np.testing.assert_allclose(curve["ci_high"], band.iloc[:, 1], atol=1e-10)
    cph = CoxPHFitter().fit(df, "weeks", "seen", fit_options={"precision": 1e-12})
    assert res.estimate == pytest.approx(cph.params_["hub"], abs=1e-6)
    assert res.hazard_ratio == pytest.approx(cph.hazard_ratios_["hub"], abs=1e-6)
    assert res.se == pytest.approx(cph.standard_errors_["hub"], abs=1e-6)
    a, b = df[df["hub"] == 0], df[df["hub"] == 1]
    lr = logrank_test(a["weeks"], b["weeks"], a["seen"], b["seen"])
    assert res.logrank_chi2 == pytest.approx(lr.test_statistic, abs=1e-8)
    assert res.logrank_p == pytest.approx(lr.p_value, abs=1e-10)


@pytest.mark.oracle
def test_breslow_ties_match_statsmodels_phreg():
    from statsmodels.duration.hazard_regression import PHReg

    df = waits(np.random.default_rng(2))
    res = compare_waits(df, "weeks", "seen", "hub", ties="breslow")
    ref = PHReg(df["weeks"], df[["hub"]], status=df["seen"], ties="breslow").fit()
    assert res.estimate == pytest.approx(ref.params[0], abs=1e-6)
    assert res.se == pytest.approx(ref.bse[0], abs=1e-6)


def test_result_interface_and_reference_arm():
    df = waits(np.random.default_rng(3)).assign(
        arm=lambda d: np.where(d["hub"] == 1, "hub", "usual")
    )
    res = compare_waits(df, "weeks", "seen", "arm", reference="usual")
    assert res.comparison == "hub" and list(res.arms["arm"]) == ["usual", "hub"]
    assert list(res.arms.columns) == ARM_COLUMNS and list(res.tidy().columns) == TIDY_COLUMNS
    flipped = compare_waits(df, "weeks", "seen", "arm", reference="hub")
    assert flipped.estimate == pytest.approx(-res.estimate, abs=1e-9)
    assert res.hr_ci_low < res.hazard_ratio < res.hr_ci_high
    assert "hazard ratio" in res.summary()


def test_censoring_is_respected():
    # everyone censored at 5 except early events: KM must not treat censoring as events
    d = np.array([1, 2, 3, 5, 5, 5, 5, 5])
    e = np.array([1, 1, 1, 0, 0, 0, 0, 0])
    km = kaplan_meier(d, e)
    np.testing.assert_allclose(km["survival"], [7 / 8, 6 / 8, 5 / 8])
    df = pd.DataFrame({"w": np.r_[d, d], "e": np.r_[e, e], "arm": np.repeat([0, 1], 8)})
    res = compare_waits(df, "w", "e", "arm")
    assert np.isinf(res.arms["median"]).all()  # survival never reaches 0.5


@pytest.mark.statistical
def test_cox_log_hazard_ratio_unbiased_with_censoring():
    rng = np.random.default_rng(4)
    n_sims, hr = 200, 1.7
    # the Cox fit compare_waits reports (the curves and tests around it do not move it)
    est = []
    for _ in range(n_sims):
        w = waits(rng, n=400, hr=hr, discrete=False)
        est.append(cox_ph(w["weeks"], w["seen"], w["hub"].to_numpy(float))[0][0])
    est = np.array(est)
    mcse = est.std(ddof=1) / np.sqrt(n_sims)
    assert abs(est.mean() - np.log(hr)) < 4 * mcse


def test_bad_input():
    df = waits(np.random.default_rng(5))
    with pytest.raises(ValueError, match="'wait' is not in the data frame"):
        compare_waits(df, "wait", "seen", "hub")
    with pytest.raises(ValueError, match="column 'hub' must hold at least two arms, found 1"):
        compare_waits(df.assign(hub=0), "weeks", "seen", "hub")
    with pytest.raises(ValueError, match="event column 'seen' must be 1"):
        compare_waits(df.assign(seen=df["seen"] * 2), "weeks", "seen", "hub")
    with pytest.raises(ValueError, match="'weeks' must hold finite non-negative"):
        compare_waits(df.assign(weeks=df["weeks"] - 100), "weeks", "seen", "hub")
    holes = df.copy()
    holes.loc[0, "weeks"] = np.nan
    with pytest.raises(ValueError, match="first in column 'weeks'"):
        compare_waits(holes, "weeks", "seen", "hub")
    none_seen = df.assign(seen=np.where(df["hub"] == 1, 0, df["seen"]))
    with pytest.raises(ValueError, match="arm 1 of column 'hub' has no events"):
        compare_waits(none_seen, "weeks", "seen", "hub")


def clustered_waits(rng, G=16, n=30, hr=(1.0, 1.5, 2.0), discrete=True, region_sd=0.5):
    """Waits of clients nested in regions; each region runs one of the arms."""
    cl = np.repeat(np.arange(G), n)
    arm = np.repeat(np.arange(G) % len(hr), n)
    u = rng.normal(0, region_sd, G)[cl]
    t = rng.exponential(8.0 / (np.asarray(hr)[arm] * np.exp(u)))
    c = rng.uniform(0, 30, len(t))
    if discrete:
        t, c = np.ceil(t), np.ceil(c)
    return pd.DataFrame(
        {"weeks": np.minimum(t, c), "seen": (t <= c).astype(int), "arm": arm, "region": cl}
    )


@pytest.mark.oracle
def test_clustered_cox_variance_equals_lifelines_cluster_col():
    """Untied waits (continuous times): the Lin-Wei sandwich equals lifelines' cluster_col
    (no small-sample factor in either; waits censored before the first event contribute
    nothing, where statsmodels' robust covariance turns NaN)."""
    from lifelines import CoxPHFitter

    df = clustered_waits(np.random.default_rng(6), discrete=False)
    X = np.column_stack([(df["arm"] == k).to_numpy(float) for k in (1, 2)])
    beta, cov, _ = cox_ph(df["weeks"], df["seen"], X, groups=df["region"].to_numpy())
    m = CoxPHFitter().fit(
        df.assign(a1=X[:, 0], a2=X[:, 1])[["weeks", "seen", "a1", "a2", "region"]],
        "weeks",
        "seen",
        cluster_col="region",
        fit_options={"precision": 1e-12},
    )
    np.testing.assert_allclose(beta, m.params_.to_numpy(), atol=1e-6)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), m.standard_errors_.to_numpy(), rtol=1e-5)
    # compare_waits adds the G/(G-1) factor and a t(G-1) reference
    res = compare_waits(df, "weeks", "seen", "arm", cluster="region")
    G = 16
    se = res.comparisons.set_index("arm")["std_error"].to_numpy()
    np.testing.assert_allclose(se, np.sqrt(np.diag(cov) * G / (G - 1)), rtol=1e-12)
    assert res.to_estimate().df == G - 1 and res.to_estimate().inference == "cluster"


@pytest.mark.oracle
def test_tied_waits_use_the_fits_own_ties_in_the_score_residuals():
    """With tied (whole-week) waits the score residuals follow the fit's ties: Breslow's
    equal statsmodels' robust covariance; Efron's sum to the Efron score at any beta
    (statsmodels scores Efron fits with Breslow residuals, which do not)."""
    from statsmodels.duration.hazard_regression import PHReg

    df = clustered_waits(np.random.default_rng(7))
    X = np.column_stack([(df["arm"] == k).to_numpy(float) for k in (1, 2)])
    g = df["region"].to_numpy()
    _, cov_b, _ = cox_ph(df["weeks"], df["seen"], X, ties="breslow", groups=g)
    f = PHReg(df["weeks"].to_numpy(), X, status=df["seen"].to_numpy(), ties="breslow").fit(groups=g)
    np.testing.assert_allclose(np.sqrt(np.diag(cov_b)), f.bse, rtol=1e-9)
    model = PHReg(df["weeks"].to_numpy(), X, status=df["seen"].to_numpy(), ties="efron")
    for b in (np.array([0.1, 0.2]), np.array([-0.3, 0.6])):
        res = cox_score_residuals(df["weeks"], df["seen"], X, b, ties="efron")
        np.testing.assert_allclose(res.sum(axis=0), model.score(b), rtol=1e-10, atol=1e-10)


def test_more_than_two_arms_and_a_joint_test():
    df = clustered_waits(np.random.default_rng(8), G=18).assign(
        arm=lambda d: d["arm"].map({0: "usual", 1: "hub_a", 2: "hub_b"})
    )
    res = compare_waits(
        df, "weeks", "seen", "arm", reference="usual", comparison="hub_b", cluster="region"
    )
    assert list(res.arms["arm"]) == ["usual", "hub_a", "hub_b"]
    assert list(res.comparisons.columns) == COMPARISON_COLUMNS
    assert list(res.comparisons["arm"]) == ["hub_a", "hub_b"]
    assert res.estimate == res.comparisons.set_index("arm").loc["hub_b", "estimate"]
    assert 0 <= res.joint_p <= 1 and np.isfinite(res.joint_stat)
    assert "joint test of equal hazards" in res.summary()
    with pytest.raises(ValueError, match="comparison arm 'usual' is not a non-reference arm"):
        compare_waits(df, "weeks", "seen", "arm", reference="usual", comparison="usual")


def test_cluster_bootstrap_with_unit_weights_is_the_kaplan_meier_curve():
    df = clustered_waits(np.random.default_rng(9))
    d, e = df["weeks"].to_numpy(float), df["seen"].to_numpy(float)
    code, cl = df["arm"].to_numpy(), df["region"].to_numpy()
    times = [kaplan_meier(d[code == a], e[code == a])["time"].to_numpy() for a in range(3)]
    import hubsim.estimators.waits as W

    class OneDraw:  # every cluster once: the sample itself
        def multinomial(self, n, p, size):
            return np.ones((size, len(p)), dtype=int)

    real = W.__dict__.get("_cluster_km_bootstrap")
    assert real is _cluster_km_bootstrap
    from hubsim import rng as hrng

    orig = hrng.stream
    try:
        hrng.stream = lambda *a, **k: OneDraw()
        lo, hi, _ = _cluster_km_bootstrap(d, e, code, cl, 3, times, B=5, alpha=0.05, seed=0)
    finally:
        hrng.stream = orig
    for a in range(3):
        km = kaplan_meier(d[code == a], e[code == a])["survival"].to_numpy()
        np.testing.assert_allclose(lo[a], km, atol=1e-12)
        np.testing.assert_allclose(hi[a], km, atol=1e-12)


@pytest.mark.statistical
@pytest.mark.slow
def test_clustered_inference_holds_its_size_where_the_model_based_does_not():
    """Region effects make waits within a region dependent: the model-based Cox test of
    equal arms over-rejects, the cluster-robust one holds alpha within 4 MCSE."""
    rng = np.random.default_rng(10)
    n_sims = 200
    rej_model = rej_cl = 0
    for _ in range(n_sims):
        df = clustered_waits(rng, G=30, n=20, hr=(1.0, 1.0), discrete=False, region_sd=0.6)
        X = (df["arm"] == 1).to_numpy(float)
        b, cov_m, _ = cox_ph(df["weeks"], df["seen"], X)
        _, cov_c, _ = cox_ph(df["weeks"], df["seen"], X, groups=df["region"].to_numpy())
        from scipy import stats

        rej_model += abs(b[0]) / np.sqrt(cov_m[0, 0]) > stats.norm.ppf(0.975)
        se_c = np.sqrt(cov_c[0, 0] * 30 / 29)
        rej_cl += abs(b[0]) / se_c > stats.t.ppf(0.975, 29)
    mcse = np.sqrt(0.05 * 0.95 / n_sims)
    assert rej_model / n_sims > 0.05 + 4 * mcse
    assert rej_cl / n_sims <= 0.05 + 4 * mcse
