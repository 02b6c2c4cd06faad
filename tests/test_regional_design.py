"""RegionalDesign: validation, layout, estimands and the variance components it simulates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from hubsim.regional import (
    CELL_COLUMNS,
    INDIVIDUAL_COLUMNS,
    TABLE2_POPULATIONS,
    DynamicEffect,
    ExternalEffect,
    HeterogeneousEffect,
    RegionalDesign,
)


def _within(mean: float, target: float, mcse: float, k: float = 4.0) -> None:
    assert abs(mean - target) <= k * mcse, f"{mean} vs {target} (MCSE {mcse})"


# ---- validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"n_regions": 4, "n_treated": 5}, "n_treated"),
        ({"icc": 1.0}, "icc"),
        ({"icc": -0.1}, "icc"),
        ({"n_per_cell": -3}, "n_per_cell"),
        ({"n_per_cell": 0}, "n_per_cell"),
        ({"n_regions": 2, "n_per_cell": (10, -1)}, "n_per_cell"),
        ({"n_periods": 6, "schedule": (7,)}, "schedule"),
        ({"n_periods": 6, "schedule": (1,)}, "pre-period"),
        ({"n_regions": 3, "n_periods": 6, "adoption": (3, None, 9)}, "adoption"),
        ({"n_regions": 3, "n_periods": 6, "adoption": (3, None)}, "adoption"),
        (
            {
                "n_regions": 3,
                "n_periods": 6,
                "adoption": (3, None, None),
                "closures": (2, None, None),
            },
            "closure",
        ),
        (
            {
                "n_regions": 3,
                "n_periods": 6,
                "adoption": (3, None, None),
                "closures": (None, 4, None),
            },
            "never adopts",
        ),
        ({"n_regions": 3, "populations": (1.0, 2.0)}, "populations"),
        ({"ar_rho": 1.0}, "ar_rho"),
        ({"period_sd": -1.0}, "period_sd"),
        ({"prevalence": 0.0}, "prevalence"),
        ({"n_regions": 1}, "n_regions"),
        ({"effect": float("nan")}, "effect"),
        (
            {"n_regions": 3, "n_periods": 4, "effect": ExternalEffect(values=np.zeros((2, 4)))},
            "shape",
        ),
        ({"adoption": (3,) * 40, "n_treated": 3}, "either adoption"),
        ({"no_such_field": 1}, "no_such_field"),
    ],
)
def test_invalid_designs_are_refused_with_a_sentence_naming_the_field(kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        RegionalDesign(**kwargs)


def test_design_is_frozen_and_replace_validates():
    d = RegionalDesign(n_regions=10, n_treated=4)
    with pytest.raises(ValueError):
        d.icc = 0.5  # frozen
    d2 = d.replace(icc=0.05, n_regions=12)
    assert (d2.icc, d2.n_regions, d.icc, d.n_regions) == (0.05, 12, 0.02, 10)
    assert isinstance(d2, RegionalDesign)
    with pytest.raises(ValueError, match="n_treated"):
        d.replace(n_treated=11)
    with pytest.raises(ValueError, match="no field 'bogus'"):
        d.replace(bogus=1)


def test_defaults_follow_table_2_and_calibration():
    d = RegionalDesign(n_regions=6, n_periods=12, population_kind="help_seeker_cohort")
    cells = d.cells()
    pops = cells.groupby("region")["population"].first().to_numpy()
    assert list(pops) == [TABLE2_POPULATIONS[i % 4] for i in range(6)]
    assert d.populations_source == "Allsopp 2024 Table 2"
    assert d.icc == 0.02
    # help-seekers: 1% of staff a year, per month
    n = cells.groupby("region")["n"].first().to_numpy()
    assert list(n) == [round(p * 0.01 / 12) for p in pops]
    assert RegionalDesign().cells()["n"].unique().tolist() == [200]
    waves = RegionalDesign(
        n_regions=4, n_periods=4, period_unit="wave", population_kind="service_waits"
    )
    assert waves.cells()["n"].iloc[0] == round(126000 * 0.01)


# ---- layout and estimands ---------------------------------------------------------------


def test_simulated_layout_exposure_cohort_and_event_time():
    d = RegionalDesign(
        n_regions=4,
        n_periods=6,
        adoption=(3, 5, None, None),
        closures=(6, None, None, None),
        effect=0.4,
    )
    df = d.simulate(np.random.default_rng(0))
    assert list(df.columns) == CELL_COLUMNS
    assert len(df) == 24
    r0 = df[df.region == 0].set_index("period")
    assert r0["treated"].tolist() == [0, 0, 1, 1, 1, 0]  # closed from period 6
    assert r0["event_time"].tolist() == [-2, -1, 0, 1, 2, 3]
    assert set(df.loc[df.region == 2, "cohort"]) == {0}
    assert df.loc[df.region == 2, "event_time"].isna().all()
    assert (df["true_effect"] == 0.4 * df["treated"]).all()


def test_estimand_for_dynamic_effects_with_staggering_and_closure():
    d = RegionalDesign(
        n_regions=4,
        n_periods=6,
        adoption=(3, 5, None, None),
        closures=(6, None, None, None),
        effect=DynamicEffect(profile=(0.1, 0.3, 0.5)),
        n_per_cell=(100, 300, 50, 50),
    )
    est = d.estimand()
    # exposed cells: region 0 at event times 0,1,2 and region 1 at event times 0,1
    assert est.att == pytest.approx((0.1 + 0.3 + 0.5 + 0.1 + 0.3) / 5)
    assert est.att_n_weighted == pytest.approx((100 * 0.9 + 300 * 0.4) / (3 * 100 + 2 * 300))
    dyn = est.dynamic.set_index("event_time")
    assert dyn["value"].to_dict() == pytest.approx({0: 0.1, 1: 0.3, 2: 0.5})
    assert dyn["n_cells"].to_dict() == {0: 2, 1: 2, 2: 1}
    tidy = est.tidy()
    assert tidy["estimand"].tolist() == ["att", "att_n_weighted", "e+0", "e+1", "e+2"]


def test_ramp_heterogeneous_and_external_effects():
    assert DynamicEffect.ramp(full=0.6, periods=3).profile == pytest.approx((0.2, 0.4, 0.6))
    het = RegionalDesign(
        n_regions=6,
        n_periods=5,
        n_treated=3,
        schedule=(3,),
        effect=HeterogeneousEffect(mean=0.2, sd=0.1, seed=4),
    )
    vals = HeterogeneousEffect(mean=0.2, sd=0.1, seed=4).region_values(6)
    assert het.estimand().att == pytest.approx(vals[:3].mean())
    grid = np.arange(30, dtype=float).reshape(6, 5) / 100
    ext = het.replace(effect=ExternalEffect(values=grid, source="DES run 1"))
    cells = ext.cells()
    expect = np.where(cells["treated"] == 1, grid.ravel(), 0.0)
    assert np.array_equal(cells["true_effect"].to_numpy(), expect)

    def fn(region, period, event):
        return 0.05 * np.maximum(event, 0) + 0.01 * region

    ext_fn = het.replace(effect=ExternalEffect(fn=fn))
    c = ext_fn.cells()
    on = c["treated"] == 1
    assert np.allclose(
        c.loc[on, "true_effect"], 0.05 * c.loc[on, "event_time"] + 0.01 * c.loc[on, "region"]
    )
    with pytest.raises(ValueError, match="exactly one"):
        ExternalEffect()


def test_simulate_is_reproducible_and_simulate_many_matches():
    d = RegionalDesign(
        n_regions=5, n_periods=4, n_treated=2, icc=0.1, ar_rho=0.5, ar_sd=0.2, period_sd=0.1
    )
    a = d.simulate(7)
    b = d.simulate(np.random.default_rng(7))
    pd.testing.assert_frame_equal(a, b)
    _cells, Y = d.simulate_many(np.random.default_rng(7), 1)
    assert np.array_equal(Y[:, 0], a["y"].to_numpy())
    assert not np.array_equal(d.simulate(8)["y"], a["y"])
    with pytest.raises(ValueError, match="rng"):
        d.simulate(-1)


def test_individual_rows_have_declared_columns():
    d = RegionalDesign(n_regions=3, n_periods=3, n_treated=1, n_per_cell=7, level="individual")
    df = d.simulate(1)
    assert list(df.columns) == INDIVIDUAL_COLUMNS
    assert len(df) == 3 * 3 * 7 and df["id"].is_unique


# ---- statistical checks of the variance components --------------------------------------


@pytest.mark.statistical
def test_icc_recovered_from_individual_rows():
    icc, sd, n, R = 0.1, 2.0, 40, 30
    d = RegionalDesign(
        n_regions=R, n_periods=2, n_treated=1, n_per_cell=n, icc=icc, sd=sd, level="individual"
    )
    rng = np.random.default_rng(11)
    est = []
    for _ in range(150):
        df = d.simulate(rng)
        # one-way ANOVA by region (no period or AR shocks in this design)
        g = df.groupby("region")["y"]
        m = 2 * n
        msb = m * g.mean().var(ddof=1)
        msw = g.var(ddof=1).mean()
        est.append((msb - msw) / m)
    est = np.array(est)
    _within(est.mean(), icc * sd**2, est.std(ddof=1) / math.sqrt(len(est)))


@pytest.mark.statistical
def test_region_variance_from_icc_at_cell_level():
    icc, n, R, T = 0.05, 100, 40, 3
    d = RegionalDesign(n_regions=R, n_periods=T, n_treated=1, n_per_cell=n, icc=icc)
    _, Y = d.simulate_many(np.random.default_rng(5), 3000)
    region_means = Y.reshape(R, T, -1).mean(axis=1)
    # between-region variance of region means = icc + (1 - icc)/(n T)
    v = region_means.var(axis=0, ddof=1)
    est = v - (1 - icc) / (n * T)
    _within(est.mean(), icc, est.std(ddof=1) / math.sqrt(len(est)))


@pytest.mark.statistical
def test_ar1_autocovariances_recover_rho():
    rho, s_a, n = 0.6, 0.5, 400
    d = RegionalDesign(
        n_regions=30, n_periods=12, n_treated=1, n_per_cell=n, icc=0.0, ar_rho=rho, ar_sd=s_a
    )
    _, Y = d.simulate_many(np.random.default_rng(9), 2000)
    A = Y.reshape(30, 12, -1)  # mean 0, no region or period effect: y = a + noise
    noise = 1.0 / n
    for lag, target in ((0, s_a**2 + noise), (1, rho * s_a**2), (2, rho**2 * s_a**2)):
        per_sim = (A[:, lag:, :] * A[:, : 12 - lag, :]).mean(axis=(0, 1))
        _within(per_sim.mean(), target, per_sim.std(ddof=1) / math.sqrt(per_sim.size))
    # stationary from the first period on
    first = (A[:, 0, :] ** 2).mean(axis=0)
    _within(first.mean(), s_a**2 + noise, first.std(ddof=1) / math.sqrt(first.size))


@pytest.mark.statistical
@pytest.mark.parametrize("outcome", ["continuous", "binary"])
def test_cell_and_individual_levels_agree_in_distribution(outcome):
    base = RegionalDesign(
        n_regions=4,
        n_periods=3,
        n_treated=2,
        schedule=(2,),
        n_per_cell=25,
        icc=0.1,
        outcome=outcome,
        effect=0.5,
        ar_rho=0.3,
        ar_sd=0.2,
    )
    ind = base.replace(level="individual")
    rng = np.random.default_rng(21)
    reps = 1000
    cell_y = np.empty((reps, 12))
    ind_y = np.empty((reps, 12))
    for s in range(reps):
        cell_y[s] = base.simulate(rng)["y"].to_numpy()
        rows = ind.simulate(rng)
        ind_y[s] = np.bincount(rows["region"] * 3 + rows["period"] - 1, rows["y"]) / 25
    # the within-region change removes the region effect, so its variance is mostly sampling noise
    for stat in (lambda a: a[:, 0], lambda a: a[:, 7], lambda a: a[:, 1] - a[:, 0]):
        a, b = stat(cell_y), stat(ind_y)
        _within(a.mean() - b.mean(), 0.0, math.sqrt(a.var() / reps + b.var() / reps))

        # variances: compare with the delta-method MCSE of each sample variance
        def var_se(x):
            c = x - x.mean()
            return math.sqrt(((c**4).mean() - (c**2).mean() ** 2) / len(x))

        _within(a.var() - b.var(), 0.0, math.hypot(var_se(a), var_se(b)))


@pytest.mark.statistical
def test_binary_estimand_and_prevalence_match_simulation():
    d = RegionalDesign(
        n_regions=10,
        n_periods=4,
        n_treated=5,
        schedule=(3,),
        n_per_cell=50,
        outcome="binary",
        prevalence=0.273,
        icc=0.05,
        effect=-0.4,
        period_sd=0.1,
    )
    null = d.replace(effect=0.0)
    S = 4000
    cells, Y1 = d.simulate_many(np.random.default_rng(3), S)
    _, Y0 = null.simulate_many(np.random.default_rng(3), S)
    pre = (cells["treated"] == 0).to_numpy()
    prev = Y0[pre].mean(axis=0)
    _within(prev.mean(), 0.273, prev.std(ddof=1) / math.sqrt(S))
    on = (cells["treated"] == 1).to_numpy()
    diff = (Y1[on] - Y0[on]).mean(axis=0)
    est = d.estimand()
    assert est.scale == "probability" and est.att < 0
    _within(diff.mean(), est.att, diff.std(ddof=1) / math.sqrt(S))
