"""Tests of compare_waits (Kaplan-Meier, log-rank, Cox)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from hubsim.estimators import compare_waits
from hubsim.estimators._estimate import TIDY_COLUMNS
from hubsim.estimators.waits import ARM_COLUMNS, kaplan_meier


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
    est = np.array(
        [
            compare_waits(waits(rng, n=400, hr=hr, discrete=False), "weeks", "seen", "hub").estimate
            for _ in range(n_sims)
        ]
    )
    mcse = est.std(ddof=1) / np.sqrt(n_sims)
    assert abs(est.mean() - np.log(hr)) < 4 * mcse


def test_bad_input():
    df = waits(np.random.default_rng(5))
    with pytest.raises(ValueError, match="'wait' is not in the data frame"):
        compare_waits(df, "wait", "seen", "hub")
    with pytest.raises(ValueError, match="column 'hub' must hold exactly two arms, found 3"):
        compare_waits(df.assign(hub=df.index % 3), "weeks", "seen", "hub")
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
