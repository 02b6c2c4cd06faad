"""Tests of callaway_santanna and bacon_decomposition."""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from hubsim.estimators import bacon_decomposition, callaway_santanna
from hubsim.estimators._estimate import TIDY_COLUMNS
from hubsim.estimators.staggered import ATT_GT_COLUMNS


def make_panel(
    rng: np.random.Generator,
    cohorts: dict[float, int],
    n_periods: int = 8,
    effect=lambda e: 0.5 * (e + 1),
    noise: float = 1.0,
) -> pd.DataFrame:
    """Balanced unit x period panel; cohort 0 is never treated; effect(e) for e >= 0."""
    g = np.concatenate([np.full(n, c, dtype=float) for c, n in cohorts.items()])
    n_units = len(g)
    t = np.arange(1, n_periods + 1, dtype=float)
    unit_fx = rng.normal(0, 1, n_units)[:, None]
    time_fx = rng.normal(0, 0.5, n_periods)[None, :]
    e = t[None, :] - g[:, None]
    treated = (g[:, None] > 0) & (e >= 0)
    eff = np.where(treated, effect(np.where(treated, e, 0)), 0.0)
    y = unit_fx + time_fx + 0.1 * t[None, :] + eff + rng.normal(0, noise, (n_units, n_periods))
    return pd.DataFrame(
        {
            "region": np.repeat(np.arange(1, n_units + 1), n_periods),
            "month": np.tile(t, n_units),
            "g": np.repeat(g, n_periods),
            "hub": treated.ravel().astype(int),
            "y": y.ravel(),
            "icb": np.repeat(np.arange(n_units) % 7, n_periods),
        }
    )


def csdid_fit(df, cohort, control, base_period, anticipation=0, clustervar=None):
    from csdid.att_gt import ATTgt

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        m = ATTgt(
            yname="y",
            tname="month",
            idname="region",
            gname=cohort,
            data=df,
            control_group=control,
            anticipation=anticipation,
            clustervar=clustervar,
        ).fit(est_method="reg", base_period=base_period, bstrap=False)
    return m


def csdid_aggte(m, kind):
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        m.aggte(kind)
    return m.atte


@pytest.mark.oracle
@pytest.mark.parametrize(
    ("control", "base_period", "anticipation"),
    [
        ("never_treated", "varying", 0),
        ("not_yet_treated", "varying", 0),
        ("never_treated", "universal", 0),
        ("not_yet_treated", "universal", 1),
    ],
)
def test_matches_csdid(control, base_period, anticipation):
    df = make_panel(np.random.default_rng(11), {0: 15, 3: 12, 5: 10, 6: 13})
    cs_control = control.replace("_", "")
    m = csdid_fit(df, "g", cs_control, base_period, anticipation)
    res = callaway_santanna(
        df,
        "y",
        "region",
        "month",
        cohort="g",
        control=control,
        base_period=base_period,
        anticipation=anticipation,
        inference="analytic",
    )
    r = m.results
    mine = res.att_gt
    np.testing.assert_array_equal(mine["group"], np.asarray(r["group"]))
    np.testing.assert_array_equal(mine["time"], np.asarray(r["year"]))
    np.testing.assert_allclose(mine["att"], np.asarray(r["att"], float), rtol=0, atol=1e-10)
    se_cs = np.asarray(r["se"], float)
    assert np.array_equal(np.isnan(se_cs), mine["se"].isna().to_numpy())
    np.testing.assert_allclose(mine["se"], se_cs, rtol=0, atol=1e-10)
    for kind in ("simple", "dynamic", "group", "calendar"):
        a = csdid_aggte(m, kind)
        ov = res.overall(kind)
        assert ov.estimate == pytest.approx(a["overall_att"], abs=1e-10)
        assert ov.se == pytest.approx(float(np.ravel(a["overall_se"])[0]), abs=1e-10)
        if kind != "simple":
            agg = res.aggregate(kind)
            np.testing.assert_allclose(agg.iloc[:, 0], np.asarray(a["egt"], float))
            np.testing.assert_allclose(agg["att"], np.asarray(a["att_egt"], float), atol=1e-10)
            np.testing.assert_allclose(agg["se"], np.ravel(a["se_egt"]), atol=1e-10)


@pytest.mark.oracle
def test_matches_csdid_with_cluster_and_without_never_treated():
    df = make_panel(np.random.default_rng(12), {0: 20, 3: 15, 6: 15})
    m = csdid_fit(df, "g", "nevertreated", "varying", clustervar="icb")
    res = callaway_santanna(
        df, "y", "region", "month", cohort="g", cluster="icb", inference="analytic"
    )
    np.testing.assert_allclose(res.att_gt["se"], np.asarray(m.results["se"], float), atol=1e-10)
    assert res.n_clusters == 7
    a = csdid_aggte(m, "simple")
    assert res.se == pytest.approx(float(np.ravel(a["overall_se"])[0]), abs=1e-10)

    # no never-treated units: the last cohort only serves as a not-yet-treated control
    df2 = make_panel(np.random.default_rng(13), {3: 15, 5: 15, 7: 15})
    m2 = csdid_fit(df2, "g", "notyettreated", "varying")
    res2 = callaway_santanna(
        df2, "y", "region", "month", cohort="g", control="not_yet_treated", inference="analytic"
    )
    np.testing.assert_allclose(res2.att_gt["att"], np.asarray(m2.results["att"], float), atol=1e-10)
    np.testing.assert_allclose(res2.att_gt["se"], np.asarray(m2.results["se"], float), atol=1e-10)
    assert set(res2.att_gt["group"]) == {3, 5}
    assert res2.notes


def test_treat_column_equals_cohort_column_and_result_interface():
    df = make_panel(np.random.default_rng(14), {0: 10, 4: 10, 6: 10})
    a = callaway_santanna(df, "y", "region", "month", cohort="g")
    b = callaway_santanna(df, "y", "region", "month", treat="hub")
    pd.testing.assert_frame_equal(a.att_gt, b.att_gt)
    assert list(a.att_gt.columns) == ATT_GT_COLUMNS
    est = a.to_estimate()
    assert est.method == "callaway_santanna"
    assert (a.estimate, a.se, a.p_value) == (est.estimate, est.se, est.p_value)
    assert a.covers(est.estimate) and est.ci_low < est.estimate < est.ci_high
    for kind in ("simple", "dynamic", "att_gt"):
        assert list(a.tidy(kind).columns) == TIDY_COLUMNS
    assert "event-time" in a.summary()
    # under a universal base the reference cell is 0 with no SE
    u = callaway_santanna(df, "y", "region", "month", cohort="g", base_period="universal")
    ref = u.att_gt[u.att_gt["event_time"] == -1]
    assert (ref["att"] == 0).all() and ref["se"].isna().all()


def test_multiplier_bootstrap_agrees_with_analytic_se():
    df = make_panel(np.random.default_rng(15), {0: 30, 3: 30, 5: 30})
    b = 4000
    boot = callaway_santanna(df, "y", "region", "month", cohort="g", bootstrap=b, seed=1)
    again = callaway_santanna(df, "y", "region", "month", cohort="g", bootstrap=b, seed=1)
    other = callaway_santanna(df, "y", "region", "month", cohort="g", bootstrap=b, seed=2)
    analytic = callaway_santanna(df, "y", "region", "month", cohort="g", inference="analytic")
    assert boot.se == again.se and boot.se != other.se
    assert boot.estimate == analytic.estimate
    # relative MC sd of an IQR-based scale estimate from B draws is 1.167 / sqrt(B)
    assert abs(boot.se / analytic.se - 1) < 4 * 1.167 / np.sqrt(b)


def two_way_demean(df, col):
    wide = df.pivot(index="region", columns="month", values=col).to_numpy(float)
    dd = wide - wide.mean(axis=1, keepdims=True) - wide.mean(axis=0, keepdims=True) + wide.mean()
    return dd.ravel()


def twfe_design(df):
    dummies = pd.get_dummies(df[["region", "month"]].astype(str), drop_first=True, dtype=float)
    return np.column_stack([np.ones(len(df)), df["hub"].to_numpy(float), dummies.to_numpy()])


@pytest.mark.oracle
def test_bacon_weights_sum_to_one_and_reproduce_twfe():
    df = make_panel(np.random.default_rng(16), {0: 6, 3: 5, 5: 4, 7: 5}, n_periods=9)
    # three regions treated throughout: they are "already treated" controls
    always = df["region"] <= 3
    df.loc[always, "hub"] = 1
    bd = bacon_decomposition(df, "y", "region", "month", "hub")
    ols = sm.OLS(df["y"].to_numpy(), twfe_design(df)).fit()
    fwl = sm.OLS(two_way_demean(df, "y"), two_way_demean(df, "hub")).fit()
    assert fwl.params[0] == pytest.approx(ols.params[1], abs=1e-10)
    tab = bd.table
    assert tab["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert (tab["estimate"] * tab["weight"]).sum() == pytest.approx(ols.params[1], abs=1e-10)
    assert bd.twfe == pytest.approx(ols.params[1], abs=1e-10)
    assert set(tab["type"]) == {
        "treated vs never treated",
        "treated vs already treated",
        "earlier vs later treated",
        "later vs earlier treated",
    }
    assert (tab["weight"] > 0).all()
    assert "already-treated" in bd.summary()


def test_bacon_single_timing_group_is_the_plain_did():
    df = make_panel(np.random.default_rng(17), {0: 8, 4: 8})
    bd = bacon_decomposition(df, "y", "region", "month", "hub")
    assert len(bd.table) == 1
    assert bd.table["weight"].iloc[0] == pytest.approx(1.0)
    wide = df.pivot(index="region", columns="month", values="y").to_numpy()
    tr = df.groupby("region")["g"].first().to_numpy() == 4
    post = np.arange(1, 9) >= 4
    did = (wide[tr][:, post].mean() - wide[tr][:, ~post].mean()) - (
        wide[~tr][:, post].mean() - wide[~tr][:, ~post].mean()
    )
    assert bd.table["estimate"].iloc[0] == pytest.approx(did, abs=1e-12)


@pytest.mark.statistical
def test_twfe_biased_callaway_santanna_not_under_dynamic_effects():
    rng = np.random.default_rng(2024)
    cohorts = {0: 20, 3: 20, 6: 20}
    n_periods = 10
    effect = lambda e: 1.0 * (e + 1)  # noqa: E731 - grows with months since opening
    # the simple aggregate's target: the mean effect over treated region-periods
    e3, e6 = np.arange(0, n_periods - 2), np.arange(0, n_periods - 5)
    truth = (effect(e3).sum() + effect(e6).sum()) / (len(e3) + len(e6))
    n_sims = 200
    twfe, cs = np.empty(n_sims), np.empty(n_sims)
    for s in range(n_sims):
        df = make_panel(rng, cohorts, n_periods=n_periods, effect=effect)
        # TWFE by Frisch-Waugh-Lovell: in a balanced panel, OLS on the two-way demeaned
        # outcome and treatment gives the dummy-variable coefficient (checked above)
        twfe[s] = sm.OLS(two_way_demean(df, "y"), two_way_demean(df, "hub")).fit().params[0]
        cs[s] = callaway_santanna(df, "y", "region", "month", cohort="g").estimate
    mcse_twfe = twfe.std(ddof=1) / np.sqrt(n_sims)
    mcse_cs = cs.std(ddof=1) / np.sqrt(n_sims)
    assert abs(twfe.mean() - truth) > 4 * mcse_twfe
    assert abs(cs.mean() - truth) < 4 * mcse_cs


# ------------------------------------------------------------------------- bad input


@pytest.fixture
def panel():
    return make_panel(np.random.default_rng(3), {0: 6, 3: 6, 5: 6})


def test_missing_column(panel):
    with pytest.raises(ValueError, match="'outcome' is not in the data frame"):
        callaway_santanna(panel, "outcome", "region", "month", cohort="g")
    with pytest.raises(ValueError, match="'treated' is not in the data frame"):
        bacon_decomposition(panel, "y", "region", "month", "treated")


def test_non_binary_treatment(panel):
    bad = panel.assign(hub=panel["hub"] * 2)
    with pytest.raises(ValueError, match="'hub' must be binary"):
        callaway_santanna(bad, "y", "region", "month", treat="hub")
    with pytest.raises(ValueError, match="'hub' must be binary"):
        bacon_decomposition(bad, "y", "region", "month", "hub")


def test_treated_unit_without_pre_period(panel):
    bad = panel.copy()
    bad.loc[bad["region"] == 1, "hub"] = 1
    with pytest.raises(ValueError, match=r"region .*1.* is treated from its first period"):
        callaway_santanna(bad, "y", "region", "month", treat="hub")
    bad_g = panel.copy()
    bad_g.loc[bad_g["region"] == 1, "g"] = 1
    with pytest.raises(ValueError, match="region 1 is treated from its first period"):
        callaway_santanna(bad_g, "y", "region", "month", cohort="g")


def test_single_cluster(panel):
    with pytest.raises(ValueError, match="'one' has a single cluster"):
        callaway_santanna(panel.assign(one=1), "y", "region", "month", cohort="g", cluster="one")


def test_missing_values_and_unbalanced_panel(panel):
    holes = panel.copy()
    holes.loc[5, "y"] = np.nan
    with pytest.raises(ValueError, match="first in column 'y'"):
        callaway_santanna(holes, "y", "region", "month", cohort="g")
    with pytest.raises(ValueError, match="panel is unbalanced"):
        callaway_santanna(holes, "y", "region", "month", cohort="g", missing="drop")
    with pytest.raises(ValueError, match="panel is unbalanced"):
        bacon_decomposition(panel.drop(index=7), "y", "region", "month", "hub")


def test_non_absorbing_and_no_never_treated(panel):
    bad = panel.copy()
    bad.loc[(bad["region"] == 8) & (bad["month"] == 8), "hub"] = 0
    with pytest.raises(ValueError, match="must stay on once adopted"):
        callaway_santanna(bad, "y", "region", "month", treat="hub")
    with pytest.raises(ValueError, match="switches off"):
        bacon_decomposition(bad, "y", "region", "month", "hub")
    no_never = panel[panel["g"] > 0]
    with pytest.raises(ValueError, match="no never-treated units in column 'g'"):
        callaway_santanna(no_never, "y", "region", "month", cohort="g")
    with pytest.raises(ValueError, match="give exactly one of cohort"):
        callaway_santanna(panel, "y", "region", "month")
