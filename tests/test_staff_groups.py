"""Designs with openings by staff group within region, and the estimators that use them:
triple differences (against pyfixest with the full set of fixed effects), effects by
group, Callaway-Sant'Anna on region x group units clustered by region, and
randomization inference that reassigns regions' whole opening patterns."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hubsim.estimators import callaway_santanna, twfe
from hubsim.estimators.linear import triple_differences
from hubsim.power import diagnose
from hubsim.regional import GROUP_CELL_COLUMNS, GROUP_PANEL_COLUMNS, RegionalDesign

GROUPS = ("nhs_critical_care", "nhs_other", "social_care", "emergency_services")
# the paper's Site B (Feb, Mar, Jul, Aug 2021) and Site D (NHS first, all six months on)
PHASING = ((0, 1, 5, 6), (0, 0, 6, 6), (0, 0, 0, 0))


def _design(**kw) -> RegionalDesign:
    base = dict(
        n_regions=14,
        n_periods=16,
        n_treated=12,
        schedule=(3, 5),
        staff_groups=GROUPS,
        group_shares=(0.05, 0.55, 0.35, 0.05),
        group_phasing=PHASING,
        n_per_cell=400,
        icc=0.05,
        ar_rho=0.5,
        ar_sd=0.1,
        group_sd=0.05,
        effect=0.2,
    )
    base.update(kw)
    return RegionalDesign(**base)


def test_cells_are_region_group_period_with_phased_openings():
    d = _design()
    cells = d.cells()
    assert list(cells.columns) == [c for c in GROUP_CELL_COLUMNS if c != "y"]
    assert len(cells) == 14 * 4 * 16 and d.columns == GROUP_PANEL_COLUMNS
    # region 0 opens at 3 with Site B's phasing: groups open at 3, 4, 8, 9
    r0 = cells[cells["region"] == 0].groupby("staff_group", sort=False)["cohort"].first()
    assert r0.to_dict() == dict(zip(GROUPS, (3, 4, 8, 9), strict=True))
    # shares split the region's sample
    n0 = cells[(cells["region"] == 0) & (cells["period"] == 1)].set_index("staff_group")["n"]
    assert n0.to_dict() == {
        "nhs_critical_care": 20,
        "nhs_other": 220,
        "social_care": 140,
        "emergency_services": 20,
    }
    # never-treated regions' groups are never exposed
    assert (cells.loc[cells["region"] >= 12, "treated"] == 0).all()


def test_estimand_by_group_follows_group_effects():
    d = _design(group_effects=(2.0, 1.0, 1.0, 0.5))
    by = d.estimand().by_group.set_index("staff_group")["value"]
    assert by.to_dict() == pytest.approx(
        {"nhs_critical_care": 0.4, "nhs_other": 0.2, "social_care": 0.2, "emergency_services": 0.1}
    )
    tidy = d.estimand().tidy()
    assert "att_group=social_care" in set(tidy["estimand"])


@pytest.mark.oracle
def test_triple_differences_equals_pyfixest_with_every_fixed_effect():
    pf = pytest.importorskip("pyfixest")
    df = _design().simulate(2)
    e = triple_differences(
        df, "y", "region", "staff_group", "period", "treated", weights="n", inference="cr1"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = pf.feols(
            "y ~ treated | region^staff_group + staff_group^period + region^period",
            df,
            weights="n",
            vcov={"CRV1": "region"},
        )
    assert e.estimate == pytest.approx(m.coef()["treated"], abs=1e-10)
    assert e.se == pytest.approx(m.se()["treated"], rel=1e-9)
    assert e.n_clusters == 14


def test_triple_differences_removes_region_shocks_and_gives_effects_by_group():
    # large region-period shocks and effects that differ by staff group
    d = _design(ar_sd=0.5, effect=0.2, group_effects=(2.0, 1.0, 1.0, 0.5), n_per_cell=4000)
    df = d.simulate(5)
    e = triple_differences(
        df,
        "y",
        "region",
        "staff_group",
        "period",
        "treated",
        weights="n",
        inference="cr1",
        by_group=True,
    )
    by = e.extra["by_group"].set_index("staff_group")
    truth = d.estimand().by_group.set_index("staff_group")["value"]
    for g in GROUPS:
        assert abs(by.loc[g, "estimate"] - truth[g]) < 4 * by.loc[g, "std_error"], g
    # a region-level TWFE on the same data is swamped by the region shocks
    t = twfe(df, "y", "unit", "period", "treated", cluster="region", weights="n", inference="cr1")
    assert t.se > 3 * e.se


def test_randomization_inference_reassigns_whole_regions():
    d = _design(n_regions=8, n_treated=6, schedule=(3,), group_phasing=((0, 1, 5, 6), (0, 0, 0, 0)))
    df = d.simulate(3)
    e = triple_differences(
        df, "y", "region", "staff_group", "period", "treated", weights="n", inference="ri", B=999
    )
    # region patterns: 3 Site B, 3 all-at-once, 2 never: 8!/(3!3!2!) = 560 reassignments
    assert e.extra["ri_exact"] and e.extra["ri_n_perm"] == 560
    assert abs(e.p_value * 560 - round(e.p_value * 560)) < 1e-9


def test_callaway_santanna_with_region_group_units_clustered_by_region():
    d = _design()
    df = d.simulate(4)
    r = callaway_santanna(
        df,
        "y",
        "unit",
        "period",
        cohort="cohort",
        cluster="region",
        control="not_yet_treated",
        inference="ri",
        B=199,
    )
    assert r.n_units == 14 * 4 and r.n_clusters == 14
    assert np.isfinite(r.estimate) and 0 < r.p_value <= 1
    assert "2 of 14 clusters have no treated unit" in r.to_estimate().inference_note


@pytest.mark.statistical
def test_diagnosis_of_a_staff_group_design_uses_group_units_and_region_clusters():
    d = _design(effect=0.0)
    res = diagnose(d, ["triple_differences", "twfe", "callaway_santanna"], n_sims=40, seed=8)
    diag = res.diagnosands.set_index("estimator")
    assert (diag["failure_rate"] == 0).all()
    assert (diag["mean_estimand"] == 0).all()
    for est in diag.index:
        # under no effect every estimate centres on zero
        r = diag.loc[est]
        assert abs(r["mean_estimate"]) < 4 * r["mean_estimate_mcse"], est
